/* oracle_test.c: the violations scenario yields one alarm per scripted violation, and the
 * oracle compares clean against itself. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/load/oracle.h"

Test(oracle, violations_scenario_one_alarm_each)
{
    static struct scenario s;
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/violations.json", getenv("RW_BENCH_SCENARIOS"));
    cr_assert_eq(scn_load(path, &s, err, sizeof err), 0, "%s", err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int n = oracle_write(&s, (int64_t)(s.duration_s * s.time_scale), f);
    fclose(f);
    cr_assert_eq(n, 8, "%s", buf);
    for (unsigned t = 1; t < ROAD_VIO_COUNT; t++) {
        char needle[64];
        snprintf(needle, sizeof needle, "\"type\": \"%s\"", scn_vio_name(t));
        cr_assert(strstr(buf, needle), "no %s alarm", scn_vio_name(t));
    }
    FILE *a = fmemopen(buf, len, "r"), *b = fmemopen(buf, len, "r");
    struct cmp_result r;
    cr_assert_eq(cmp_run(a, b, 0, NULL, &r), 0);
    fclose(a);
    fclose(b);
    free(buf);
}

Test(oracle, every_example_scenario_parses)
{
    const char *names[] = {"ci-small",   "ceiling",    "half-capacity", "half-engine",
                           "full-load",  "violations", "throughput",    "idle",
                           "platforms",  "ci-platforms", "demo"};
    static struct scenario s;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512], err[256];
        snprintf(path, sizeof path, "%s/%s.json", getenv("RW_BENCH_SCENARIOS"), names[i]);
        cr_assert_eq(scn_load(path, &s, err, sizeof err), 0, "%s", err);
    }
    /* the last one loaded before demo: idle.json is a quiet fleet */
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/idle.json", getenv("RW_BENCH_SCENARIOS"));
    cr_assert_eq(scn_load(path, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.vehicles, 15000u);
    cr_assert_geq(s.term.report_s, 3600u);
    cr_assert_gt(s.warmup_s, 20.0, "the connections are all up before the measured window");
    char e2[128];
    cr_assert_neq(scn_parse("{\"fleet\": {\"vehicles\": -1}}", &s, e2, sizeof e2), 0);
}
