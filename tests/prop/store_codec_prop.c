/* store_codec_prop.c: properties of the store codecs over random inputs —
 * decode(encode(x)) == x for segments (sorted random points, any field values) and raw
 * blocks; key byte order == numeric order; merge-free decode never reads out of bounds. */
#include <criterion/criterion.h>
#include <string.h>

#include "store/store_int.h"
#include "tests/unit/store/test_util.h"

static uint8_t tmp[4 << 20], enc[4 << 20];
static struct store_pos pts[STORE_SEG_MAX], out[STORE_SEG_MAX];

static void rand_pos(uint64_t *s, struct store_pos *p, int64_t t)
{
    memset(p, 0, sizeof *p);
    p->vehicle_id = 5;
    p->gnss_time = t;
    p->recv_time_ms = t * 1000 + (int64_t)(tu_rand(s) % 100000) - 50000;
    p->lat_e6 = (int32_t)(tu_rand(s) % 180000001) - 90000000;
    p->lon_e6 = (int32_t)(tu_rand(s) % 360000001) - 180000000;
    p->alarm = (uint32_t)tu_rand(s);
    p->status = (uint32_t)tu_rand(s);
    p->mileage_hm = (uint32_t)tu_rand(s);
    p->speed_dkmh = (uint16_t)tu_rand(s);
    p->tacho_speed_dkmh = (uint16_t)tu_rand(s);
    p->direction = (uint16_t)tu_rand(s);
    p->altitude_m = (int16_t)tu_rand(s);
    p->fuel_dl = (uint16_t)tu_rand(s);
    p->src = (uint8_t)tu_rand(s);
    p->rssi = (uint8_t)tu_rand(s);
    p->sats = (uint8_t)tu_rand(s);
    p->flags = (uint8_t)tu_rand(s);
    p->present = (uint32_t)tu_rand(s);
}

Test(store_prop, segment_round_trip_random)
{
    uint64_t s = 12345;
    for (int iter = 0; iter < 300; iter++) {
        size_t n = 1 + tu_rand(&s) % (iter % 10 == 0 ? STORE_SEG_MAX : 200);
        int64_t t = (int64_t)(tu_rand(&s) % 4000000000ull);
        int smooth = iter & 1;
        for (size_t i = 0; i < n; i++) {
            t += (int64_t)(tu_rand(&s) % 60);
            if (smooth && i) { /* realistic: small deltas, most fields unchanged */
                pts[i] = pts[i - 1];
                pts[i].gnss_time = t;
                pts[i].lat_e6 += (int32_t)(tu_rand(&s) % 2001) - 1000;
                pts[i].recv_time_ms = t * 1000 + (int64_t)(tu_rand(&s) % 2000);
            } else {
                rand_pos(&s, &pts[i], t);
            }
        }
        long len = seg_encode(pts, n, enc, sizeof enc, NULL, tmp, sizeof tmp);
        cr_assert_gt(len, 0);
        cr_assert_leq((size_t)len, seg_bound(n));
        long m = seg_decode(enc, (size_t)len, 5, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp);
        cr_assert_eq(m, (long)n, "iter %d", iter);
        for (size_t i = 0; i < n; i++)
            cr_assert(tu_pos_eq(&pts[i], &out[i]), "iter %d point %zu", iter, i);
    }
}

Test(store_prop, raw_key_order_matches_numeric)
{
    uint64_t s = 99;
    for (int i = 0; i < 20000; i++) {
        struct raw_key a = {(int64_t)tu_rand(&s) >> (tu_rand(&s) % 63), (uint32_t)tu_rand(&s),
                            (uint16_t)tu_rand(&s), (uint32_t)tu_rand(&s), (uint16_t)tu_rand(&s)};
        struct raw_key b = a;
        b.min_ms = (int64_t)tu_rand(&s) >> (tu_rand(&s) % 63);
        uint8_t ka[RAW_KEY_LEN], kb[RAW_KEY_LEN];
        raw_key_enc(ka, &a);
        raw_key_enc(kb, &b);
        int c = memcmp(ka, kb, RAW_KEY_LEN);
        if (a.min_ms < b.min_ms)
            cr_assert_lt(c, 0);
        else if (a.min_ms > b.min_ms)
            cr_assert_gt(c, 0);
        struct raw_key d;
        raw_key_dec(ka, &d);
        cr_assert(d.min_ms == a.min_ms && d.boot == a.boot && d.seq == a.seq && d.sub == a.sub);
    }
}

static int count_cb(const struct store_raw *r, void *ctx)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

Test(store_prop, raw_block_random_and_corruption_safe)
{
    uint64_t s = 7;
    static struct store_raw r[256];
    static const struct store_raw *pr[256];
    static uint8_t frames[256][300];
    for (int iter = 0; iter < 200; iter++) {
        size_t n = 1 + tu_rand(&s) % 256;
        for (size_t i = 0; i < n; i++) {
            memset(&r[i], 0, sizeof r[i]);
            r[i].recv_time_ms = 5000 + (int64_t)(tu_rand(&s) % 60000);
            r[i].conn_id = tu_rand(&s);
            r[i].vehicle_id = (uint32_t)tu_rand(&s);
            r[i].dir = tu_rand(&s) & 1;
            r[i].proto = tu_rand(&s) & 1;
            r[i].peer_len = (tu_rand(&s) & 1) ? 16 : 4;
            r[i].frame.len = (uint32_t)(tu_rand(&s) % 300);
            for (uint32_t j = 0; j < r[i].frame.len; j++)
                frames[i][j] = (uint8_t)tu_rand(&s);
            r[i].frame.p = frames[i];
            pr[i] = &r[i];
        }
        long len = rawblk_encode(pr, n, 5000, enc, sizeof enc, NULL, tmp, sizeof tmp);
        cr_assert_gt(len, 0);
        int cnt = 0;
        cr_assert_eq(rawblk_decode(enc, (size_t)len, 5000, count_cb, &cnt, NULL, tmp, sizeof tmp),
                     (long)n);
        cr_assert_eq(cnt, (int)n);
        /* Flip random bytes: decoding must fail cleanly or succeed, never crash (ASan). */
        for (int k = 0; k < 20; k++) {
            enc[tu_rand(&s) % (uint64_t)len] ^= (uint8_t)(1 + tu_rand(&s) % 255);
            (void)rawblk_decode(enc, (size_t)len, 5000, NULL, NULL, NULL, tmp, sizeof tmp);
            (void)seg_decode(enc, (size_t)len, 1, out, STORE_SEG_MAX, NULL, tmp, sizeof tmp);
        }
    }
}
