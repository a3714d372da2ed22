/* jt808_reasm_test.c: subpackage splitting and reassembly, limits and timeouts. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/proto/jt808.h"

static struct jt808_reasm *ra;

static void setup(void)
{
    cr_assert_eq(jt808_reasm_create(4, 8, 1000, &ra), 0);
}

static void teardown(void)
{
    jt808_reasm_destroy(ra);
}

/* Splits <len> bytes of patterned body into packages of <chunk> and returns the frames
 * parsed back into <pk> (at most 16). */
static int split(size_t len, size_t chunk, uint16_t serial, struct jt808_msg *pk,
                 uint8_t raws[][JT808_RAW_MAX], uint8_t *body)
{
    struct jt808_hdr h;
    memset(&h, 0, sizeof h);
    h.msg_id = 0x0801;
    h.edition = JT808_ED_2019;
    h.proto_ver = 1;
    h.serial = serial;
    jt808_phone_set(&h, "13800000001");
    for (size_t i = 0; i < len; i++)
        body[i] = (uint8_t)(i * 31 + 7);
    static uint8_t wire[16 * JT808_WIRE_MAX];
    int n = jt808_split_encode(&h, body, len, chunk, wire, sizeof wire);
    cr_assert_gt(n, 0, "%s", err_str(n));
    struct jt808_framer fr;
    jt808_framer_init(&fr);
    int count = 0;
    size_t pos = 0;
    while (pos < (size_t)n) {
        int st;
        pos += jt808_framer_feed(&fr, wire + pos, (size_t)n - pos, &st);
        if (st == 1) {
            memcpy(raws[count], fr.buf, fr.len);
            cr_assert_eq(jt808_frame_parse(raws[count], fr.len, &pk[count]), 0);
            count++;
        }
        cr_assert_geq(st, 0);
    }
    return count;
}

static struct jt808_msg pk[16];
static uint8_t raws[16][JT808_RAW_MAX];
static uint8_t body[16 * 1023];

Test(jt808_reasm, in_order_and_reverse, .init = setup, .fini = teardown)
{
    int n = split(2500, 1000, 65534, pk, raws, body);
    cr_assert_eq(n, 3);
    cr_assert_eq(pk[0].h.pkg_total, 3);
    cr_assert_eq(pk[2].h.pkg_index, 3);
    cr_assert_eq(pk[2].h.serial, 0, "serials wrap");
    struct rw_bytes out;
    uint16_t first;
    /* reverse order */
    cr_assert_eq(jt808_reasm_add(ra, &pk[2], 1, &out, &first), 0);
    uint16_t miss[8];
    cr_assert_eq(jt808_reasm_missing(ra, pk[0].h.phone, 0x0801, 65534, miss, 8), 2);
    cr_assert_eq(miss[0], 1);
    cr_assert_eq(miss[1], 2);
    cr_assert_eq(jt808_reasm_add(ra, &pk[1], 2, &out, &first), 0);
    cr_assert_eq(jt808_reasm_add(ra, &pk[1], 2, &out, &first), RW_E_DUPLICATE);
    cr_assert_eq(jt808_reasm_add(ra, &pk[0], 3, &out, &first), 1);
    cr_assert_eq(first, 65534);
    cr_assert_eq(out.len, 2500);
    cr_assert_arr_eq(out.p, body, 2500);
    cr_assert_eq(jt808_reasm_stats(ra)->completed, 1);
    cr_assert_eq(jt808_reasm_stats(ra)->duplicates, 1);
    cr_assert_eq(jt808_reasm_missing(ra, pk[0].h.phone, 0x0801, 65534, miss, 8), RW_E_STATE);
}

Test(jt808_reasm, limits_and_bad_indexes, .init = setup, .fini = teardown)
{
    int n = split(9 * 1000, 1000, 10, pk, raws, body);
    cr_assert_eq(n, 9);
    struct rw_bytes out;
    uint16_t first;
    cr_assert_eq(jt808_reasm_add(ra, &pk[0], 1, &out, &first), RW_E_LIMIT, "9 > max 8");
    struct jt808_msg bad = pk[1];
    bad.h.pkg_index = 0;
    cr_assert_eq(jt808_reasm_add(ra, &bad, 1, &out, &first), RW_E_FIELD);
    bad.h.pkg_index = 10;
    cr_assert_eq(jt808_reasm_add(ra, &bad, 1, &out, &first), RW_E_FIELD);
    bad = pk[1];
    bad.h.subpkg = 0;
    cr_assert_eq(jt808_reasm_add(ra, &bad, 1, &out, &first), RW_E_FIELD);
    cr_assert_eq(jt808_reasm_stats(ra)->rejected, 4);
}

Test(jt808_reasm, timeout_and_eviction, .init = setup, .fini = teardown)
{
    struct rw_bytes out;
    uint16_t first;
    /* five partial messages in four slots: the oldest is evicted */
    for (int k = 0; k < 5; k++) {
        int n = split(1500, 1000, (uint16_t)(100 * k), pk, raws, body);
        cr_assert_eq(n, 2);
        cr_assert_eq(jt808_reasm_add(ra, &pk[0], (uint64_t)k, &out, &first), 0);
    }
    cr_assert_eq(jt808_reasm_stats(ra)->evicted, 1);
    uint16_t miss[4];
    cr_assert_eq(jt808_reasm_missing(ra, pk[0].h.phone, 0x0801, 0, miss, 4), RW_E_STATE,
                 "message 0 was evicted");
    cr_assert_eq(jt808_reasm_missing(ra, pk[0].h.phone, 0x0801, 100, miss, 4), 1);
    /* at t=1001 the messages first seen at t<=1 are older than the 1000 ns timeout */
    cr_assert_eq(jt808_reasm_expire(ra, 1001), 1);
    cr_assert_eq(jt808_reasm_expire(ra, 5000), 3);
    cr_assert_eq(jt808_reasm_stats(ra)->expired, 4);
}

Test(jt808_reasm, create_fails_cleanly)
{
    struct jt808_reasm *r = (struct jt808_reasm *)1;
    cr_assert_eq(jt808_reasm_create(0, 8, 1, &r), RW_E_FIELD);
    cr_assert_null(r);
    /* fail each of the six allocations in turn: no leak, no crash, -ENOMEM */
    for (long k = 0; k < 6; k++) {
        mem_fail_after(k);
        cr_assert_lt(jt808_reasm_create(2, 2, 1, &r), 0, "allocation %ld", k);
        cr_assert_null(r);
    }
    mem_fail_after(-1);
    cr_assert_eq(jt808_reasm_create(2, 2, 1, &r), 0);
    jt808_reasm_destroy(r);
}
