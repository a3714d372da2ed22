/* compare_test.c: the oracle/alarm-list comparison on hand-written lists. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bench/load/oracle.h"

#define A(plate, type, s, e)                                                               \
    "{\"plate\": \"" plate "\", \"color\": 2, \"type\": \"" type "\", \"start\": \"" s      \
    "\", \"end\": " e "}\n"

static int run(const char *exp, const char *got, struct cmp_result *r)
{
    FILE *e = fmemopen((void *)exp, strlen(exp), "r");
    FILE *g = fmemopen((void *)got, strlen(got), "r");
    int rc = cmp_run(e, g, 2, NULL, r);
    fclose(e);
    fclose(g);
    return rc;
}

static const char *oracle =
    A("鄂A00001", "overspeed", "2026-11-23T01:30:17+08:00", "\"2026-11-23T01:33:17+08:00\"")
    A("鄂A00002", "fatigue_driving", "2026-11-23T04:40:09+08:00", "null")
    A("鄂A00003", "area_in_out", "2026-11-23T02:33:49+08:00", "\"2026-11-23T02:47:19+08:00\"");

Test(compare, identical_lists_agree)
{
    struct cmp_result r;
    cr_assert_eq(run(oracle, oracle, &r), 0);
    cr_assert_eq(r.matched, 3);
}

Test(compare, tolerance_absorbs_small_offsets_and_timezones)
{
    const char *got =
        A("鄂A00001", "overspeed", "2026-11-22T17:30:18Z", "\"2026-11-23T01:33:16+08:00\"")
        A("鄂A00002", "fatigue_driving", "2026-11-23T04:40:10+08:00", "null")
        A("鄂A00003", "area_in_out", "2026-11-23T02:33:49+08:00", "\"2026-11-23T02:47:19+08:00\"");
    struct cmp_result r;
    cr_assert_eq(run(oracle, got, &r), 0);
    cr_assert_eq(r.matched, 3);
}

Test(compare, missed_extra_and_wrong_bounds_are_reported)
{
    const char *got =
        A("鄂A00001", "overspeed", "2026-11-23T01:30:47+08:00", "\"2026-11-23T01:33:17+08:00\"")
        A("鄂A00002", "fatigue_driving", "2026-11-23T04:40:09+08:00", "\"2026-11-23T05:00:00+08:00\"")
        A("鄂A00009", "overspeed", "2026-11-23T01:00:00+08:00", "null");
    struct cmp_result r;
    cr_assert_eq(run(oracle, got, &r), 1);
    cr_assert_eq(r.wrong_start, 1);
    cr_assert_eq(r.wrong_end, 1);
    cr_assert_eq(r.missed, 1, "the area alarm");
    cr_assert_eq(r.extra, 1, "A00009");
    cr_assert_eq(r.matched, 0);
}

Test(compare, same_vehicle_other_type_or_colour_does_not_pair)
{
    const char *got =
        A("鄂A00001", "fatigue_driving", "2026-11-23T01:30:17+08:00", "\"2026-11-23T01:33:17+08:00\"");
    const char *exp = A("鄂A00001", "overspeed", "2026-11-23T01:30:17+08:00",
                        "\"2026-11-23T01:33:17+08:00\"");
    struct cmp_result r;
    cr_assert_eq(run(exp, got, &r), 1);
    cr_assert_eq(r.missed, 1);
    cr_assert_eq(r.extra, 1);
}

Test(compare, a_bad_line_is_a_syntax_error)
{
    struct cmp_result r;
    cr_assert_lt(run(oracle, "{\"plate\": 1}\n", &r), 0);
}
