/* codec.c: key and value codecs of the store (layouts in store/README.md §3-4).
 * Pure functions, no allocation except zstd's own when no context is passed. */
#include <errno.h>
#include <string.h>
#include <zstd.h>

#include "engine/base/assert.h"
#include "store/store_int.h"

#define SEG_PLAIN 1               /* row body, plain: tail records and raw blocks */
#define SEG_ZSTD 2                /* row body, zstd: raw blocks (and format 2 bases) */
#define SEG_COL 3                 /* columnar body, plain: base segments (format 3) */
#define SEG_COLZ 4                /* columnar body, zstd */
#define SEG_ZSTD_MIN 64          /* plain bodies below this are not worth compressing */
#define SEG_PT_MAX 80            /* worst-case bytes of one encoded point */
#define ZLEVEL 3                 /* raw blocks: written on the commit path */
#define ZLEVEL_SEG 9             /* base segments: written once per vehicle-slot */

void vput(struct wr *w, uint64_t v)
{
    while (v >= 0x80) {
        wr_u8(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    wr_u8(w, (uint8_t)v);
}

uint64_t vget(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = rd_u8(r);
        if (r->err)
            return 0;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->err = RW_E_FIELD; /* more than 10 bytes */
    return 0;
}

void trk_key(uint8_t k[TRK_KEY_LEN], uint32_t vid, uint8_t slot)
{
    struct wr w;
    wr_init(&w, k, TRK_KEY_LEN);
    wr_u32(&w, vid);
    wr_u8(&w, slot);
}

void trk_tail_key(uint8_t k[TRK_TAIL_KEY_LEN], uint32_t vid, uint8_t slot, uint16_t seq)
{
    struct wr w;
    wr_init(&w, k, TRK_TAIL_KEY_LEN);
    wr_u32(&w, vid);
    wr_u8(&w, slot);
    wr_u16(&w, seq);
}

int trk_key_parse(const uint8_t *k, size_t len, uint32_t *vid, uint8_t *slot, uint16_t *seq)
{
    if (len != TRK_KEY_LEN && len != TRK_TAIL_KEY_LEN)
        return RW_E_LENGTH;
    struct rd r;
    rd_init(&r, k, len);
    *vid = rd_u32(&r);
    *slot = rd_u8(&r);
    *seq = len == TRK_TAIL_KEY_LEN ? rd_u16(&r) : 0;
    if (*slot >= STORE_SLOTS || (len == TRK_TAIL_KEY_LEN && *seq == 0))
        return RW_E_FIELD;
    return 0;
}

void raw_key_enc(uint8_t k[RAW_KEY_LEN], const struct raw_key *rk)
{
    struct wr w;
    wr_init(&w, k, RAW_KEY_LEN);
    /* Flip the sign bit so that memcmp order is signed order. */
    wr_u64(&w, (uint64_t)rk->min_ms ^ (1ull << 63));
    wr_u32(&w, rk->boot);
    wr_u16(&w, rk->shard);
    wr_u32(&w, rk->seq);
    wr_u16(&w, rk->sub);
    ASSERT(w.err == 0);
}

void raw_key_dec(const uint8_t *k, struct raw_key *rk)
{
    struct rd r;
    rd_init(&r, k, RAW_KEY_LEN);
    rk->min_ms = (int64_t)(rd_u64(&r) ^ (1ull << 63));
    rk->boot = rd_u32(&r);
    rk->shard = rd_u16(&r);
    rk->seq = rd_u32(&r);
    rk->sub = rd_u16(&r);
}

void pres_key(uint8_t k[PRES_KEY_LEN], uint8_t bucket, uint32_t cell, uint32_t vid)
{
    struct wr w;
    wr_init(&w, k, PRES_KEY_LEN);
    wr_u8(&w, bucket);
    wr_u32(&w, cell);
    wr_u32(&w, vid);
}

/* Grid cell of a coordinate: row-major 0.01-degree cells over the whole globe. */
int pres_cell(int32_t lat_e6, int32_t lon_e6, uint32_t *cell)
{
    if (lat_e6 < -90000000 || lat_e6 > 90000000 || lon_e6 < -180000000 || lon_e6 > 180000000)
        return RW_E_FIELD;
    uint32_t row = (uint32_t)((lat_e6 + 90000000) / STORE_PRES_CELL_E6);
    uint32_t col = (uint32_t)((lon_e6 + 180000000) / STORE_PRES_CELL_E6);
    *cell = row * 36001u + col;
    return 0;
}

/* "Same content" for deduplication: every field except the receive time, the source and
 * the LATE flag, which differ between a live point and its blind-area re-upload. */
int pos_content_eq(const struct store_pos *a, const struct store_pos *b)
{
    return a->vehicle_id == b->vehicle_id && a->gnss_time == b->gnss_time &&
           a->lat_e6 == b->lat_e6 && a->lon_e6 == b->lon_e6 && a->alarm == b->alarm &&
           a->status == b->status && a->mileage_hm == b->mileage_hm &&
           a->speed_dkmh == b->speed_dkmh && a->tacho_speed_dkmh == b->tacho_speed_dkmh &&
           a->direction == b->direction && a->altitude_m == b->altitude_m &&
           a->fuel_dl == b->fuel_dl && a->rssi == b->rssi && a->sats == b->sats &&
           (a->flags & ~STORE_POS_F_LATE) == (b->flags & ~STORE_POS_F_LATE) &&
           a->present == b->present;
}

int pos_cmp_time(const struct store_pos *a, const struct store_pos *b)
{
    if (a->gnss_time != b->gnss_time)
        return a->gnss_time < b->gnss_time ? -1 : 1;
    if (a->recv_time_ms != b->recv_time_ms)
        return a->recv_time_ms < b->recv_time_ms ? -1 : 1;
    return 0;
}

/* ─── Track segments ─── */

/* Format 2: the fields that change on most points sit in the low 7 bits, so the mask is
 * one varint byte; tacho is coded against this point's GNSS speed (usually equal). */
enum { M_SPEED = 1 << 0, M_DIR = 1 << 1, M_MILE = 1 << 2, M_ALT = 1 << 3, M_TACHO = 1 << 4,
       M_STATUS = 1 << 5, M_ALARM = 1 << 6, M_RSSI = 1 << 7, M_FUEL = 1 << 8, M_SATS = 1 << 9,
       M_SRC = 1 << 10, M_FLAGS = 1 << 11, M_PRESENT = 1 << 12 };

static unsigned seg_mask(const struct store_pos *p, const struct store_pos *q)
{
    unsigned m = 0;
    m |= p->speed_dkmh != q->speed_dkmh ? M_SPEED : 0;
    m |= p->direction != q->direction ? M_DIR : 0;
    m |= p->mileage_hm != q->mileage_hm ? M_MILE : 0;
    m |= p->altitude_m != q->altitude_m ? M_ALT : 0;
    m |= p->status != q->status ? M_STATUS : 0;
    m |= p->alarm != q->alarm ? M_ALARM : 0;
    m |= p->rssi != q->rssi ? M_RSSI : 0;
    m |= p->tacho_speed_dkmh != q->tacho_speed_dkmh ? M_TACHO : 0;
    m |= p->fuel_dl != q->fuel_dl ? M_FUEL : 0;
    m |= p->sats != q->sats ? M_SATS : 0;
    m |= p->src != q->src ? M_SRC : 0;
    m |= p->flags != q->flags ? M_FLAGS : 0;
    m |= p->present != q->present ? M_PRESENT : 0;
    return m;
}

/* Wrapping arithmetic: decoding hostile or corrupted bytes must not be undefined. */
static int64_t wadd(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t pos_lag(const struct store_pos *p)
{
    return (int64_t)((uint64_t)p->recv_time_ms - (uint64_t)p->gnss_time * 1000u);
}

/* One point as deltas against <q> (the previous point, or zeros for the first). */
static void seg_put_point(struct wr *w, const struct store_pos *p, const struct store_pos *q)
{
    unsigned m = seg_mask(p, q);
    vput(w, zz(wadd(p->gnss_time, -q->gnss_time)));
    vput(w, zz((int64_t)p->lat_e6 - q->lat_e6));
    vput(w, zz((int64_t)p->lon_e6 - q->lon_e6));
    vput(w, zz(wadd(pos_lag(p), -pos_lag(q))));
    vput(w, m);
    if (m & M_SPEED) vput(w, zz((int64_t)p->speed_dkmh - q->speed_dkmh));
    if (m & M_DIR) vput(w, zz((int64_t)p->direction - q->direction));
    if (m & M_MILE) vput(w, zz((int64_t)p->mileage_hm - q->mileage_hm));
    if (m & M_ALT) vput(w, zz((int64_t)p->altitude_m - q->altitude_m));
    if (m & M_TACHO) vput(w, zz((int64_t)p->tacho_speed_dkmh - p->speed_dkmh));
    if (m & M_STATUS) vput(w, p->status ^ q->status);
    if (m & M_ALARM) vput(w, p->alarm ^ q->alarm);
    if (m & M_RSSI) wr_u8(w, p->rssi);
    if (m & M_FUEL) vput(w, zz((int64_t)p->fuel_dl - q->fuel_dl));
    if (m & M_SATS) wr_u8(w, p->sats);
    if (m & M_SRC) wr_u8(w, p->src);
    if (m & M_FLAGS) wr_u8(w, p->flags);
    if (m & M_PRESENT) vput(w, p->present ^ q->present);
}

static void seg_get_point(struct rd *r, struct store_pos *p, const struct store_pos *q)
{
    *p = *q;
    p->gnss_time = wadd(q->gnss_time, unzz(vget(r)));
    p->lat_e6 = (int32_t)(q->lat_e6 + unzz(vget(r)));
    p->lon_e6 = (int32_t)(q->lon_e6 + unzz(vget(r)));
    int64_t lag = wadd(pos_lag(q), unzz(vget(r)));
    p->recv_time_ms = (int64_t)((uint64_t)lag + (uint64_t)p->gnss_time * 1000u);
    uint64_t m = vget(r);
    if (m & M_SPEED) p->speed_dkmh = (uint16_t)(q->speed_dkmh + unzz(vget(r)));
    if (m & M_DIR) p->direction = (uint16_t)(q->direction + unzz(vget(r)));
    if (m & M_MILE) p->mileage_hm = (uint32_t)(q->mileage_hm + unzz(vget(r)));
    if (m & M_ALT) p->altitude_m = (int16_t)(q->altitude_m + unzz(vget(r)));
    if (m & M_TACHO) p->tacho_speed_dkmh = (uint16_t)(p->speed_dkmh + unzz(vget(r)));
    if (m & M_STATUS) p->status = q->status ^ (uint32_t)vget(r);
    if (m & M_ALARM) p->alarm = q->alarm ^ (uint32_t)vget(r);
    if (m & M_RSSI) p->rssi = rd_u8(r);
    if (m & M_FUEL) p->fuel_dl = (uint16_t)(q->fuel_dl + unzz(vget(r)));
    if (m & M_SATS) p->sats = rd_u8(r);
    if (m & M_SRC) p->src = rd_u8(r);
    if (m & M_FLAGS) p->flags = rd_u8(r);
    if (m & M_PRESENT) p->present = q->present ^ (uint32_t)vget(r);
    if (m >> 13)
        r->err = RW_E_FIELD;
}

/* Format 3 columnar body (base segments): a varint column mask, then for every column whose
 * bit is set, <count> varints; a column whose bit is clear is all zeros. Columns, in order
 * (q = the previous point, zeros for the first; dd = delta of the delta):
 *   0 zz Δgnss_time  1 zz dd lat_e6  2 zz dd lon_e6  3 zz lag (recv_ms − gnss·1000)
 *   4 zz Δspeed  5 zz Δdirection  6 zz Δmileage  7 zz Δaltitude  8 zz (tacho − speed)
 *   9 status XOR q  10 alarm XOR q  11 zz Δrssi  12 zz Δfuel  13 zz Δsats  14 src
 *   15 flags  16 present XOR q
 * A column holds one field of every point, so runs (a constant interval, a constant
 * heading, an unchanged status word) become runs of equal bytes that zstd removes. */
enum { C_TIME, C_LAT, C_LON, C_LAG, C_SPEED, C_DIR, C_MILE, C_ALT, C_TACHO, C_STATUS,
       C_ALARM, C_RSSI, C_FUEL, C_SATS, C_SRC, C_FLAGS, C_PRESENT, C_N };

static uint64_t col_val(int c, const struct store_pos *p, const struct store_pos *q,
                        const struct store_pos *qq)
{
    switch (c) {
    case C_TIME: return zz(wadd(p->gnss_time, -q->gnss_time));
    case C_LAT: return zz(((int64_t)p->lat_e6 - q->lat_e6) - ((int64_t)q->lat_e6 - qq->lat_e6));
    case C_LON: return zz(((int64_t)p->lon_e6 - q->lon_e6) - ((int64_t)q->lon_e6 - qq->lon_e6));
    case C_LAG: return zz(pos_lag(p));
    case C_SPEED: return zz((int64_t)p->speed_dkmh - q->speed_dkmh);
    case C_DIR: return zz((int64_t)p->direction - q->direction);
    case C_MILE: return zz((int64_t)p->mileage_hm - q->mileage_hm);
    case C_ALT: return zz((int64_t)p->altitude_m - q->altitude_m);
    case C_TACHO: return zz((int64_t)p->tacho_speed_dkmh - p->speed_dkmh);
    case C_STATUS: return p->status ^ q->status;
    case C_ALARM: return p->alarm ^ q->alarm;
    case C_RSSI: return zz((int64_t)p->rssi - q->rssi);
    case C_FUEL: return zz((int64_t)p->fuel_dl - q->fuel_dl);
    case C_SATS: return zz((int64_t)p->sats - q->sats);
    case C_SRC: return p->src;
    case C_FLAGS: return p->flags;
    default: return p->present ^ q->present;
    }
}

static long seg_put_columns(struct wr *w, const struct store_pos *pts, size_t n)
{
    struct store_pos zero;
    memset(&zero, 0, sizeof zero);
    unsigned mask = 0;
    for (int c = 0; c < C_N; c++)
        for (size_t i = 0; i < n && !(mask >> c & 1); i++)
            if (col_val(c, &pts[i], i ? &pts[i - 1] : &zero, i > 1 ? &pts[i - 2] : &zero))
                mask |= 1u << c;
    vput(w, mask);
    for (int c = 0; c < C_N; c++)
        for (size_t i = 0; (mask >> c & 1) && i < n; i++) {
            ASSERT_HOT(i == 0 || pts[i - 1].gnss_time <= pts[i].gnss_time);
            vput(w, col_val(c, &pts[i], i ? &pts[i - 1] : &zero, i > 1 ? &pts[i - 2] : &zero));
        }
    return w->err;
}

/* Wrapping add of a signed delta to an unsigned field (hostile deltas stay defined). */
static uint64_t ua(uint64_t a, int64_t s)
{
    return a + (uint64_t)s;
}

/* Decodes the columns into out[0..n) (vehicle_id already set in every point). */
static int seg_get_columns(struct rd *r, struct store_pos *out, size_t n)
{
    uint64_t mask = vget(r);
    if (r->err || mask >> C_N)
        return r->err ? r->err : RW_E_FIELD;
    for (int c = 0; c < C_N; c++) {
        int on = (int)(mask >> c & 1);
        int64_t d1 = 0; /* the previous point's delta, for the dd columns */
        for (size_t i = 0; i < n; i++) {
            struct store_pos *p = &out[i];
            const struct store_pos *q = i ? &out[i - 1] : NULL;
            uint64_t v = on ? vget(r) : 0;
            if (r->err)
                return r->err;
            int64_t s = unzz(v);
            switch (c) {
            case C_TIME: p->gnss_time = wadd(q ? q->gnss_time : 0, s); break;
            case C_LAT:
            case C_LON: {
                d1 = wadd(d1, s);
                int32_t *f = c == C_LAT ? &p->lat_e6 : &p->lon_e6;
                int32_t prev = q ? (c == C_LAT ? q->lat_e6 : q->lon_e6) : 0;
                *f = (int32_t)(uint32_t)wadd(prev, d1);
                break;
            }
            case C_LAG:
                p->recv_time_ms = (int64_t)((uint64_t)s + (uint64_t)p->gnss_time * 1000u);
                break;
            case C_SPEED: p->speed_dkmh = (uint16_t)ua(q ? q->speed_dkmh : 0, s); break;
            case C_DIR: p->direction = (uint16_t)ua(q ? q->direction : 0, s); break;
            case C_MILE: p->mileage_hm = (uint32_t)ua(q ? q->mileage_hm : 0, s); break;
            case C_ALT: p->altitude_m = (int16_t)(uint16_t)ua(q ? (uint16_t)q->altitude_m : 0, s); break;
            case C_TACHO: p->tacho_speed_dkmh = (uint16_t)ua(p->speed_dkmh, s); break;
            case C_STATUS: p->status = (q ? q->status : 0) ^ (uint32_t)v; break;
            case C_ALARM: p->alarm = (q ? q->alarm : 0) ^ (uint32_t)v; break;
            case C_RSSI: p->rssi = (uint8_t)ua(q ? q->rssi : 0, s); break;
            case C_FUEL: p->fuel_dl = (uint16_t)ua(q ? q->fuel_dl : 0, s); break;
            case C_SATS: p->sats = (uint8_t)ua(q ? q->sats : 0, s); break;
            case C_SRC: p->src = (uint8_t)v; break;
            case C_FLAGS: p->flags = (uint8_t)v; break;
            default: p->present = (q ? q->present : 0) ^ (uint32_t)v; break;
            }
        }
    }
    return 0;
}

size_t seg_bound(size_t n)
{
    return ZSTD_compressBound(16 + SEG_PT_MAX * n) + 24;
}

/* Writes header + body: compressed when that is smaller. */
static long blob_finish(uint8_t *out, size_t cap, uint64_t count, const uint8_t *plain,
                        size_t plen, void *zc, uint8_t c_plain, uint8_t c_zstd, int level)
{
    struct wr w;
    wr_init(&w, out, cap);
    if (plen >= SEG_ZSTD_MIN) {
        wr_u8(&w, c_zstd);
        vput(&w, count);
        vput(&w, plen);
        if (w.err)
            return w.err;
        size_t room = (size_t)(w.end - w.p);
        size_t z = zc ? ZSTD_compressCCtx(zc, w.p, room, plain, plen, level)
                      : ZSTD_compress(w.p, room, plain, plen, level);
        if (!ZSTD_isError(z) && z < plen)
            return (long)(wr_len(&w) + z);
        wr_init(&w, out, cap);
    }
    wr_u8(&w, c_plain);
    vput(&w, count);
    wr_mem(&w, plain, plen);
    return w.err ? w.err : (long)wr_len(&w);
}

/* Reads the header and returns a reader over the plain body (decompressed into <tmp>). */
static int blob_open(const uint8_t *in, size_t len, uint64_t *count, struct rd *body,
                     void *zd, uint8_t *tmp, size_t tmpcap, int *columnar)
{
    struct rd r;
    rd_init(&r, in, len);
    uint8_t codec = rd_u8(&r);
    *count = vget(&r);
    if (r.err)
        return r.err;
    *columnar = codec == SEG_COL || codec == SEG_COLZ;
    if (codec == SEG_PLAIN || codec == SEG_COL) {
        rd_init(body, r.p, rd_left(&r));
        return 0;
    }
    if (codec != SEG_ZSTD && codec != SEG_COLZ)
        return RW_E_UNSUPPORTED;
    uint64_t plen = vget(&r);
    if (r.err)
        return r.err;
    if (plen > tmpcap)
        return RW_E_TOOLONG;
    size_t z = zd ? ZSTD_decompressDCtx(zd, tmp, plen, r.p, rd_left(&r))
                  : ZSTD_decompress(tmp, plen, r.p, rd_left(&r));
    if (ZSTD_isError(z) || z != plen)
        return RW_E_CHECK;
    rd_init(body, tmp, plen);
    return 0;
}

long seg_encode(const struct store_pos *pts, size_t n, uint8_t *out, size_t cap, void *zc,
                uint8_t *tmp, size_t tmpcap)
{
    ASSERT(n <= STORE_SEG_MAX);
    struct wr w;
    wr_init(&w, tmp, tmpcap);
    long rc = seg_put_columns(&w, pts, n);
    if (rc)
        return rc;
    return blob_finish(out, cap, n, tmp, wr_len(&w), zc, SEG_COL, SEG_COLZ, ZLEVEL_SEG);
}

long seg_encode_plain(const struct store_pos *pts, size_t n, uint8_t *out, size_t cap)
{
    ASSERT(n <= STORE_SEG_MAX);
    struct wr w;
    wr_init(&w, out, cap);
    wr_u8(&w, SEG_PLAIN);
    vput(&w, n);
    struct store_pos zero;
    memset(&zero, 0, sizeof zero);
    for (size_t i = 0; i < n; i++) {
        ASSERT_HOT(i == 0 || pts[i - 1].gnss_time <= pts[i].gnss_time);
        seg_put_point(&w, &pts[i], i ? &pts[i - 1] : &zero);
    }
    return w.err ? w.err : (long)wr_len(&w);
}

size_t seg_merge(const struct store_pos *a, size_t n, const struct store_pos *b, size_t m,
                 struct store_pos *out, size_t cap, uint64_t *dup, uint64_t *full)
{
    size_t i = 0, j = 0, o = 0;
    while (i < n || j < m) {
        const struct store_pos *c;
        int from_b = !(i < n && (j == m || a[i].gnss_time <= b[j].gnss_time));
        c = from_b ? &b[j++] : &a[i++];
        int same = 0;
        for (size_t k = o; from_b && k-- > 0 && out[k].gnss_time == c->gnss_time;)
            if (pos_content_eq(&out[k], c))
                same = 1;
        if (same)
            (*dup)++;
        else if (o == cap)
            (*full)++;
        else
            out[o++] = *c;
    }
    return o;
}

long seg_decode(const uint8_t *in, size_t len, uint32_t vid, struct store_pos *out,
                size_t max, void *zd, uint8_t *tmp, size_t tmpcap)
{
    uint64_t count;
    struct rd r;
    int col;
    int rc = blob_open(in, len, &count, &r, zd, tmp, tmpcap, &col);
    if (rc)
        return rc;
    if (count > max || count > STORE_SEG_MAX)
        return RW_E_LIMIT;
    struct store_pos zero;
    memset(&zero, 0, sizeof zero);
    zero.vehicle_id = vid;
    if (col) {
        for (uint64_t i = 0; i < count; i++)
            out[i] = zero;
        if ((rc = seg_get_columns(&r, out, (size_t)count)))
            return rc;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (!col)
            seg_get_point(&r, &out[i], i ? &out[i - 1] : &zero);
        if (i && out[i].gnss_time < out[i - 1].gnss_time)
            r.err = RW_E_FIELD;
        if (r.err)
            return r.err;
    }
    return rd_left(&r) ? RW_E_TRAILING : (long)count;
}

/* ─── Raw blocks ─── */

size_t rawblk_bound(const struct store_raw *r, size_t n)
{
    size_t plain = 16;
    for (size_t i = 0; i < n; i++)
        plain += 48 + r[i].frame.len;
    return ZSTD_compressBound(plain) + 24;
}

long rawblk_encode(const struct store_raw *const *r, size_t n, int64_t min_ms, uint8_t *out,
                   size_t cap, void *zc, uint8_t *tmp, size_t tmpcap)
{
    struct wr w;
    wr_init(&w, tmp, tmpcap);
    for (size_t i = 0; i < n; i++) {
        const struct store_raw *f = r[i];
        ASSERT(f->peer_len <= 16);
        ASSERT(f->recv_time_ms >= min_ms);
        vput(&w, (uint64_t)f->recv_time_ms - (uint64_t)min_ms);
        vput(&w, f->conn_id);
        vput(&w, f->vehicle_id);
        wr_u8(&w, (uint8_t)((f->dir & 1) | (f->proto & 1) << 1));
        wr_u8(&w, f->peer_len);
        wr_mem(&w, f->peer, f->peer_len);
        wr_u16(&w, f->peer_port);
        vput(&w, f->frame.len);
        wr_mem(&w, f->frame.p, f->frame.len);
    }
    if (w.err)
        return w.err;
    return blob_finish(out, cap, n, tmp, wr_len(&w), zc, SEG_PLAIN, SEG_ZSTD, ZLEVEL);
}

static int rawblk_get(struct rd *r, int64_t min_ms, struct store_raw *f)
{
    memset(f, 0, sizeof *f);
    f->recv_time_ms = wadd(min_ms, (int64_t)vget(r));
    f->conn_id = vget(r);
    uint64_t vid = vget(r);
    uint8_t dp = rd_u8(r);
    f->peer_len = rd_u8(r);
    if (vid > UINT32_MAX || dp > 3 || f->peer_len > 16)
        return RW_E_FIELD;
    f->vehicle_id = (uint32_t)vid;
    f->dir = dp & 1;
    f->proto = (uint8_t)(dp >> 1);
    rd_copy(r, f->peer, f->peer_len);
    f->peer_port = rd_u16(r);
    uint64_t flen = vget(r);
    if (flen > STORE_RAW_FRAME_MAX)
        return RW_E_TOOLONG;
    f->frame = rd_bytes(r, (size_t)flen);
    return r->err;
}

long rawblk_decode(const uint8_t *in, size_t len, int64_t min_ms, store_raw_fn cb, void *ctx,
                   void *zd, uint8_t *tmp, size_t tmpcap)
{
    uint64_t count;
    struct rd r;
    int col;
    int rc = blob_open(in, len, &count, &r, zd, tmp, tmpcap, &col);
    if (rc)
        return rc;
    if (col)
        return RW_E_UNSUPPORTED; /* raw blocks are row bodies only */
    for (uint64_t i = 0; i < count; i++) {
        struct store_raw f;
        rc = rawblk_get(&r, min_ms, &f);
        if (rc)
            return rc;
        if (cb) {
            if (cb(&f, ctx))
                return (long)i; /* the caller asked to stop; it knows why */
        }
    }
    return rd_left(&r) ? RW_E_TRAILING : (long)count;
}

/* ─── track journal values (hold.c): entries vid u32 . len varint . plain segment ─── */

void jrn_entry_put(struct wr *o, uint32_t vid, const uint8_t *seg, size_t len)
{
    wr_u32(o, vid);
    vput(o, (uint64_t)len);
    wr_mem(o, seg, len);
}

int jrn_walk(const uint8_t *val, size_t len, jrn_entry_fn fn, void *ctx)
{
    struct rd r;
    rd_init(&r, val, len);
    while (r.p < r.end) {
        uint32_t vid = rd_u32(&r);
        uint64_t sl = vget(&r);
        if (r.err)
            return RW_E_LENGTH;
        if (vid == 0)
            return RW_E_FIELD;
        if (sl == 0 || sl > (uint64_t)(r.end - r.p))
            return RW_E_LENGTH;
        int rc = fn(vid, r.p, (size_t)sl, ctx);
        if (rc)
            return rc;
        r.p += sl;
    }
    return 0;
}

