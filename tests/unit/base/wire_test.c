/* wire_test.c: bounded readers/writers, civil-date helpers. */
#include <criterion/criterion.h>
#include <time.h>

#include "engine/base/err.h"
#include "engine/base/wire.h"

Test(wire, reads_are_bounded_and_sticky)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    struct rd r;
    rd_init(&r, b, sizeof b);
    cr_assert_eq(rd_u16(&r), 0x0102);
    cr_assert_eq(rd_u32(&r), 0x03040506);
    cr_assert_eq(rd_left(&r), 1);
    cr_assert_eq(rd_u16(&r), 0, "short read returns 0");
    cr_assert_eq(r.err, RW_E_TRUNCATED);
    cr_assert_eq(rd_left(&r), 0, "and consumes the rest");
    cr_assert_eq(rd_u8(&r), 0);
    struct rw_bytes v = rd_bytes(&r, 1);
    cr_assert_null(v.p);
    cr_assert_eq(r.err, RW_E_TRUNCATED);
    rd_init(&r, NULL, 0);
    cr_assert_eq(rd_left(&r), 0);
    cr_assert_eq(rd_rest(&r).len, 0);
    cr_assert_eq(r.err, 0);
}

Test(wire, u64_and_copy)
{
    static const uint8_t b[] = {0, 0, 0, 0, 0x68, 0xD8, 0xC7, 0x8F, 9};
    struct rd r;
    rd_init(&r, b, sizeof b);
    cr_assert_eq(rd_u64(&r), 0x68D8C78Full);
    uint8_t out[4] = {1, 1, 1, 1};
    rd_copy(&r, out, 4);
    cr_assert_eq(r.err, RW_E_TRUNCATED);
    cr_assert_eq(out[0], 0, "failed copy zeroes the output");
}

Test(wire, writes_are_bounded)
{
    uint8_t buf[6];
    struct wr w;
    wr_init(&w, buf, sizeof buf);
    wr_u32(&w, 0xA1B2C3D4);
    wr_u16(&w, 0xE5F6);
    cr_assert_eq(w.err, 0);
    cr_assert_eq(wr_len(&w), 6);
    cr_assert_eq(buf[0], 0xA1);
    cr_assert_eq(buf[5], 0xF6);
    wr_u8(&w, 1);
    cr_assert_eq(w.err, RW_E_NOSPACE);
    wr_init(&w, buf, sizeof buf);
    wr_fixed(&w, rw_str("abc"), 5);
    cr_assert_eq(w.err, 0);
    cr_assert_eq(buf[3], 0);
    cr_assert_eq(buf[4], 0);
    wr_init(&w, buf, sizeof buf);
    wr_fixed(&w, rw_str("abcdef"), 5);
    cr_assert_eq(w.err, RW_E_TOOLONG, "too long is refused, never cut");
}

Test(wire, trim)
{
    static const uint8_t b[] = {0, 0, ' ', 'A', 'B', 0, 'C', ' ', 0};
    struct rw_bytes t = rw_trim(rw_bytes_of(b, sizeof b));
    cr_assert_eq(t.len, 4);
    cr_assert_eq(t.p[0], 'A');
    cr_assert_eq(rw_trim(rw_bytes_of(b, 2)).len, 0);
}

Test(wire, civil_dates_match_libc)
{
    for (int64_t t = -86400LL * 365 * 70; t < 86400LL * 365 * 130; t += 86400 * 13 + 3601) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        int64_t days = rw_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                                          (unsigned)tm.tm_mday);
        cr_assert_eq(days, t >= 0 ? t / 86400 : (t - 86399) / 86400);
        int y;
        unsigned m, d;
        rw_civil_from_days(days, &y, &m, &d);
        cr_assert_eq(y, tm.tm_year + 1900);
        cr_assert_eq(m, (unsigned)tm.tm_mon + 1);
        cr_assert_eq(d, (unsigned)tm.tm_mday);
    }
    cr_assert(rw_civil_valid(2024, 2, 29, 23, 59, 59));
    cr_assert_not(rw_civil_valid(2023, 2, 29, 0, 0, 0));
    cr_assert_not(rw_civil_valid(2100, 2, 29, 0, 0, 0));
    cr_assert_not(rw_civil_valid(2024, 13, 1, 0, 0, 0));
    cr_assert_not(rw_civil_valid(2024, 1, 1, 24, 0, 0));
}
