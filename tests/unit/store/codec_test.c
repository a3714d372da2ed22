/* codec_test.c: key and value codecs of the store — exact round trips, extremes, key
 * order, and rejection of every truncation of an encoded value. */
#include <criterion/criterion.h>
#include <zstd.h>
#include <string.h>

#include "store/store_int.h"
#include "tests/unit/store/test_util.h"

static uint8_t tmp[1 << 20], enc[1 << 20];
static struct store_pos out[STORE_SEG_MAX];

Test(store_codec, varint_round_trip)
{
    uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint8_t b[16];
        struct wr w;
        wr_init(&w, b, sizeof b);
        vput(&w, vals[i]);
        struct rd r;
        rd_init(&r, b, wr_len(&w));
        cr_expect_eq(vget(&r), vals[i]);
        cr_expect_eq(r.err, 0);
        cr_expect_eq(rd_left(&r), 0);
    }
    int64_t s[] = {0, -1, 1, INT64_MIN, INT64_MAX, -123456789};
    for (size_t i = 0; i < 6; i++)
        cr_expect_eq(unzz(zz(s[i])), s[i]);
}

Test(store_codec, segment_extremes_round_trip)
{
    struct store_pos p[4];
    memset(p, 0, sizeof p);
    for (int i = 0; i < 4; i++)
        p[i].vehicle_id = 77;
    p[0].gnss_time = -5;
    p[0].recv_time_ms = INT64_MIN / 4;
    p[1].gnss_time = 1700000000;
    p[1].lat_e6 = -90000000;
    p[1].lon_e6 = 180000000;
    p[1].alarm = p[1].status = p[1].mileage_hm = p[1].present = UINT32_MAX;
    p[1].speed_dkmh = p[1].tacho_speed_dkmh = p[1].direction = p[1].fuel_dl = UINT16_MAX;
    p[1].altitude_m = INT16_MIN;
    p[1].src = p[1].rssi = p[1].sats = p[1].flags = 255;
    p[1].recv_time_ms = INT64_MAX / 4;
    p[2] = p[1];
    p[2].lat_e6 = 90000000;
    p[2].lon_e6 = -180000000;
    p[2].altitude_m = INT16_MAX;
    p[3] = p[2];
    p[3].gnss_time = INT32_MAX * 4ll;
    long n = seg_encode(p, 4, enc, sizeof enc, NULL, tmp, sizeof tmp);
    cr_assert_gt(n, 0);
    long m = seg_decode(enc, (size_t)n, 77, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp);
    cr_assert_eq(m, 4);
    for (int i = 0; i < 4; i++)
        cr_expect(tu_pos_eq(&p[i], &out[i]), "point %d", i);
}

Test(store_codec, segment_compressed_and_truncations_rejected)
{
    static struct store_pos p[200];
    for (int i = 0; i < 200; i++)
        tu_pos(&p[i], 9, 1700000000 + i * 30, 1);
    long n = seg_encode(p, 200, enc, sizeof enc, NULL, tmp, sizeof tmp);
    cr_assert_gt(n, 0);
    cr_expect_eq(enc[0], 4, "a 200-point segment is columnar and zstd-compressed");
    cr_expect_lt(n, 200 * 12, "bytes/point %ld", n / 200);
    cr_assert_eq(seg_decode(enc, (size_t)n, 9, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp), 200);
    for (int i = 0; i < 200; i++)
        cr_expect(tu_pos_eq(&p[i], &out[i]));
    for (long cut = 0; cut < n; cut++)
        cr_expect_lt(seg_decode(enc, (size_t)cut, 9, out, STORE_SEG_MAX, NULL, tmp,
                                sizeof tmp), 0, "cut %ld", cut);
    cr_expect_lt(seg_decode(enc, (size_t)n, 9, out, 10, NULL, tmp, sizeof tmp), 0,
                 "more points than the caller's room is refused");
}

/* Format 2 wrote base segments as row bodies (codec 1 plain, 2 zstd); format 3 reads them. */
Test(store_codec, format_2_row_segments_still_decode)
{
    static struct store_pos p[120];
    for (int i = 0; i < 120; i++)
        tu_pos(&p[i], 9, 1700000000 + i * 30, 4);
    long n = seg_encode_plain(p, 120, enc, sizeof enc);
    cr_assert_gt(n, 0);
    cr_assert_eq(enc[0], 1);
    cr_assert_eq(seg_decode(enc, (size_t)n, 9, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp), 120);
    for (int i = 0; i < 120; i++)
        cr_expect(tu_pos_eq(&p[i], &out[i]), "plain row point %d", i);
    /* The codec 2 layout: u8 2 · varint count · varint plain_len · zstd frame. */
    static uint8_t z[1 << 16];
    size_t body = (size_t)n - 1 - 1; /* count 120 is one varint byte */
    size_t zl = ZSTD_compress(z + 4, sizeof z - 4, enc + 2, body, 3);
    cr_assert(!ZSTD_isError(zl));
    z[0] = 2;
    z[1] = 120;
    z[2] = (uint8_t)(0x80 | (body & 0x7f));
    z[3] = (uint8_t)(body >> 7);
    cr_assert_lt(body, 1u << 14);
    cr_assert_eq(seg_decode(z, zl + 4, 9, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp), 120);
    for (int i = 0; i < 120; i++)
        cr_expect(tu_pos_eq(&p[i], &out[i]), "zstd row point %d", i);
    z[0] = 9;
    cr_expect_eq(seg_decode(z, zl + 4, 9, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp),
                 RW_E_UNSUPPORTED, "an unknown codec byte is refused");
}

/* Columnar: a column that never changes costs nothing; hostile column masks are refused. */
Test(store_codec, columnar_constant_columns_are_free)
{
    static struct store_pos p[40];
    for (int i = 0; i < 40; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].vehicle_id = 3;
        p[i].gnss_time = 1700000000 + i * 30;
        p[i].recv_time_ms = p[i].gnss_time * 1000 + 500;
        p[i].lat_e6 = 30000000 + i * 4000;
        p[i].lon_e6 = 114000000 + i * 3000;
        p[i].speed_dkmh = 600;
        p[i].direction = 90;
        p[i].status = 3;
    }
    long n = seg_encode(p, 40, enc, sizeof enc, NULL, tmp, sizeof tmp);
    cr_assert_gt(n, 0);
    cr_expect_lt(n, 80, "a steady vehicle costs under two bytes a point (%ld bytes)", n);
    cr_assert_eq(seg_decode(enc, (size_t)n, 3, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp), 40);
    for (int i = 0; i < 40; i++)
        cr_expect(tu_pos_eq(&p[i], &out[i]), "point %d", i);
    /* codec 3 (columnar, plain) with a mask bit beyond the 17 columns */
    uint8_t bad[] = {3, 1, 0x80, 0x80, 0x08, 0};
    cr_expect_lt(seg_decode(bad, sizeof bad, 3, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp), 0);
}

Test(store_codec, key_order_is_numeric_order)
{
    uint8_t a[TRK_KEY_LEN], b[TRK_KEY_LEN];
    trk_key(a, 1, 23);
    trk_key(b, 2, 0);
    cr_expect_lt(memcmp(a, b, TRK_KEY_LEN), 0, "vehicle-major");
    uint8_t r1[RAW_KEY_LEN], r2[RAW_KEY_LEN];
    struct raw_key k1 = {-1000, 9, 9, 9, 9}, k2 = {5, 0, 0, 0, 0}, back;
    raw_key_enc(r1, &k1);
    raw_key_enc(r2, &k2);
    cr_expect_lt(memcmp(r1, r2, RAW_KEY_LEN), 0, "time-major, signed");
    raw_key_dec(r1, &back);
    cr_expect(back.min_ms == -1000 && back.boot == 9 && back.shard == 9 && back.seq == 9 &&
              back.sub == 9);
}

struct rawcol { int n; struct store_raw r[8]; uint8_t bytes[8][64]; };

static int col_cb(const struct store_raw *r, void *ctx)
{
    struct rawcol *c = ctx;
    c->r[c->n] = *r;
    memcpy(c->bytes[c->n], r->frame.p, r->frame.len);
    c->r[c->n].frame.p = c->bytes[c->n];
    c->n++;
    return 0;
}

Test(store_codec, raw_block_round_trip)
{
    struct store_raw r[3];
    const struct store_raw *pr[3] = {&r[0], &r[1], &r[2]};
    memset(r, 0, sizeof r);
    uint8_t f0[] = {0x7e, 0x02, 0x00, 0x7e}, f1[40];
    memset(f1, 0xab, sizeof f1);
    r[0] = (struct store_raw){1000, 42, 7, STORE_DIR_IN, STORE_PROTO_808, 4, {10, 0, 0, 1},
                              6808, {f0, sizeof f0}};
    r[1] = (struct store_raw){1005, UINT64_MAX, 0, STORE_DIR_OUT, STORE_PROTO_809, 16, {0xfe},
                              65535, {f1, sizeof f1}};
    r[2] = (struct store_raw){1000, 1, UINT32_MAX, 0, 0, 0, {0}, 0, {NULL, 0}};
    long n = rawblk_encode(pr, 3, 1000, enc, sizeof enc, NULL, tmp, sizeof tmp);
    cr_assert_gt(n, 0);
    struct rawcol c = {0};
    cr_assert_eq(rawblk_decode(enc, (size_t)n, 1000, col_cb, &c, NULL, tmp, sizeof tmp), 3);
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(c.r[i].recv_time_ms, r[i].recv_time_ms);
        cr_expect_eq(c.r[i].conn_id, r[i].conn_id);
        cr_expect_eq(c.r[i].vehicle_id, r[i].vehicle_id);
        cr_expect_eq(c.r[i].dir, r[i].dir);
        cr_expect_eq(c.r[i].proto, r[i].proto);
        cr_expect_eq(c.r[i].peer_len, r[i].peer_len);
        cr_expect_eq(memcmp(c.r[i].peer, r[i].peer, 16), 0);
        cr_expect_eq(c.r[i].peer_port, r[i].peer_port);
        cr_expect_eq(c.r[i].frame.len, r[i].frame.len);
        cr_expect(r[i].frame.len == 0 || !memcmp(c.r[i].frame.p, r[i].frame.p, r[i].frame.len));
    }
    for (long cut = 0; cut < n; cut++)
        cr_expect_lt(rawblk_decode(enc, (size_t)cut, 1000, NULL, NULL, NULL, tmp, sizeof tmp), 0);
}

Test(store_codec, presence_cell_and_day)
{
    uint32_t a, b;
    cr_assert_eq(pres_cell(39900000, 116400000, &a), 0);
    cr_assert_eq(pres_cell(39909999, 116409999, &b), 0);
    cr_expect_eq(a, b);
    cr_expect_lt(pres_cell(91000000, 0, &a), 0);
    /* 2025-03-01 00:00 +08:00 is 2025-02-28 16:00Z */
    int64_t t = 1740758400;
    cr_expect_eq(store_day_of(t), store_day_of(t + 86399));
    cr_expect_eq(store_day_of(t - 1) + 1, store_day_of(t));
    cr_expect_eq(store_day_start(store_day_of(t)), t);
}
