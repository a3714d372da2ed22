/* read.c: track playback, raw log reads, presence queries, daily aggregates. Any thread;
 * each day is read in one short read transaction, values are decoded (copied) out before
 * it ends. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/mem.h"
#include "store/store_int.h"

#define TMP_CAP (16 + 80 * STORE_SEG_MAX)

struct rbuf {                     /* per-call decode scratch */
    ZSTD_DCtx *zd;
    uint8_t *tmp;
};

static int rbuf_init(struct rbuf *b)
{
    b->zd = ZSTD_createDCtx();
    b->tmp = mem_alloc(TMP_CAP + (1u << 20) + STORE_RAW_FRAME_MAX);
    if (!b->zd || !b->tmp)
        return -ENOMEM;
    return 0;
}

static void rbuf_fini(struct rbuf *b)
{
    ZSTD_freeDCtx(b->zd);
    MEM_FREE(b->tmp);
}

/* Copies the points of pts[0..m) within [from, to) to out[*n..]. */
static void track_emit(const struct store_pos *pts, long m, int64_t from, int64_t to,
                       struct store_pos *out, size_t max, size_t *n)
{
    for (long i = 0; i < m; i++) {
        if (pts[i].gnss_time < from || pts[i].gnss_time >= to)
            continue;
        if (*n < max)
            out[*n] = pts[i];
        (*n)++;
    }
}

/* Held points (sc->held[*hi..hn)) of slots before <slot> out; then those of <slot> merged
 * into sc->acc (m points): returns the new count of sc->acc. */
static long held_merge(struct trk_scr *sc, size_t *hi, size_t hn, uint8_t slot, long m,
                       int64_t from, int64_t to, struct store_pos *out, size_t max, size_t *n)
{
    size_t a = *hi;
    while (a < hn && trk_slot_of(sc->held[a].gnss_time) < slot)
        a++;
    track_emit(sc->held + *hi, (long)(a - *hi), from, to, out, max, n);
    size_t b = a;
    while (b < hn && trk_slot_of(sc->held[b].gnss_time) == slot)
        b++;
    *hi = b;
    if (b == a)
        return m;
    size_t o = seg_merge(sc->acc, (size_t)m, sc->held + a, b - a, sc->mrg, STORE_SEG_MAX,
                         &sc->dup, &sc->full);
    struct store_pos *x = sc->acc;
    sc->acc = sc->mrg;
    sc->mrg = x;
    return (long)o;
}

/* Points of <vid> on one day within [from, to), appended to out[*n..]. Each slot is its
 * base segment merged with its tail records (track.c), and with the points still held
 * (hold.c): copied from the holds before the read transaction begins, so that a point
 * written out meanwhile is seen in one or the other; read from the journal in a process
 * without holds. */
static int track_day(struct store *st, struct trk_scr *sc, int32_t day, uint32_t vid,
                     int64_t from, int64_t to, struct store_pos *out, size_t max, size_t *n)
{
    struct store_part *p;
    long hn = hold_copy(st, vid, day, sc->held, STORE_SEG_MAX);
    size_t hi = 0;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = part_read(st, day, &p, &txn);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    uint8_t k[TRK_KEY_LEN];
    int64_t ds = store_day_start(day);
    uint8_t s0 = from > ds ? (uint8_t)((from - ds) / STORE_SLOT_S) : 0;
    if (hn < 0) {
        int64_t last = to - 1 < ds + 86399 ? to - 1 : ds + 86399;
        hn = jrn_scan(p, txn, vid, s0, trk_slot_of(last), sc->held, STORE_SEG_MAX, sc);
        if (hn < 0)
            rc = (int)hn;
    }
    trk_key(k, vid, s0);
    MDB_val key = {TRK_KEY_LEN, k}, val;
    if (hn > 1) { /* copies (a retried commit, a replayed journal) go */
        hn = (long)seg_merge(NULL, 0, sc->held, (size_t)hn, sc->mrg, STORE_SEG_MAX, &sc->dup,
                             &sc->full);
        memcpy(sc->held, sc->mrg, (size_t)hn * sizeof *sc->held);
    }
    hn = hn < 0 ? 0 : hn;
    int done = 0;
    if (!rc)
        rc = store_mdb_err(mdb_cursor_open(txn, p->dbi[DDB_TRK], &cur));
    if (!rc) {
        int g = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        done = g == MDB_NOTFOUND;
        rc = done ? 0 : store_mdb_err(g);
    }
    while (!rc && !done) {
        uint32_t kv;
        uint8_t slot;
        uint16_t seq;
        int end;
        if (trk_key_parse(key.mv_data, key.mv_size, &kv, &slot, &seq) || kv != vid ||
            ds + slot * STORE_SLOT_S >= to)
            break;
        long m = trk_gather(cur, &key, &val, sc, &seq, &end);
        if (m < 0) {
            rc = (int)m;
            break;
        }
        m = held_merge(sc, &hi, (size_t)hn, slot, m, from, to, out, max, n);
        track_emit(sc->acc, m, from, to, out, max, n);
        done = end;
    }
    if (!rc)
        track_emit(sc->held + hi, hn - (long)hi, from, to, out, max, n);
    if (cur)
        mdb_cursor_close(cur);
    part_read_end(st, p, txn);
    return rc;
}

long store_track_read(struct store *st, uint32_t vid, int64_t from, int64_t to,
                      struct store_pos *out, size_t max)
{
    if (!st->open)
        return RW_E_STATE;
    if (to <= from)
        return 0;
    struct trk_scr sc;
    int rc = trk_scr_init(&sc, TMP_CAP);
    size_t n = 0;
    for (int32_t d = store_day_of(from); !rc && d <= store_day_of(to - 1); d++)
        rc = track_day(st, &sc, d, vid, from, to, out, max, &n);
    trk_scr_fini(&sc);
    return rc ? rc : (long)n;
}

/* ─── raw log ─── */

struct rawq {
    int64_t from_ms, to_ms;
    uint32_t vid;
    uint64_t conn;
    store_raw_fn cb;
    void *ctx;
    int stopped;
};

static int rawq_filter(const struct store_raw *r, void *arg)
{
    struct rawq *q = arg;
    if (r->recv_time_ms < q->from_ms || r->recv_time_ms >= q->to_ms ||
        (q->vid && r->vehicle_id != q->vid) || (q->conn && r->conn_id != q->conn))
        return 0;
    q->stopped = q->cb(r, q->ctx);
    return q->stopped;
}

static int raw_block(struct rbuf *rb, struct rawq *q, const MDB_val *key, const MDB_val *val)
{
    struct raw_key rk;
    if (key->mv_size != RAW_KEY_LEN)
        return RW_E_LENGTH;
    raw_key_dec(key->mv_data, &rk);
    long n = rawblk_decode(val->mv_data, val->mv_size, rk.min_ms, rawq_filter, q, rb->zd,
                           rb->tmp, TMP_CAP + (1u << 20) + STORE_RAW_FRAME_MAX);
    return n < 0 ? (int)n : 0;
}

/* Time-major walk of the day's blocks with from_ms <= min_ms (from the SET_RANGE position
 * <from_ms>) up to q->to_ms; q's filter picks the frames. */
static int raw_time_walk(struct rbuf *rb, struct rawq *q, struct store_part *p, MDB_txn *txn,
                         int64_t from_ms)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, p->dbi[DDB_RAW], &cur);
    if (rc)
        return store_mdb_err(rc);
    uint8_t k[RAW_KEY_LEN];
    struct raw_key rk = {from_ms, 0, 0, 0, 0};
    raw_key_enc(k, &rk);
    MDB_val key = {RAW_KEY_LEN, k}, val;
    int op = MDB_SET_RANGE;
    while (!q->stopped && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        if (key.mv_size != RAW_KEY_LEN)
            break;
        raw_key_dec(key.mv_data, &rk);
        if (rk.min_ms >= q->to_ms)
            break;
        if ((rc = raw_block(rb, q, &key, &val)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

/* Format 2's index (vid · raw key), for the blocks below <since_ms>. */
static int raw_rawv_walk(struct rbuf *rb, struct rawq *q, struct store_part *p, MDB_txn *txn,
                         int64_t since_ms)
{
    if (p->absent & (1u << DDB_RAWV))
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, p->dbi[DDB_RAWV], &cur);
    if (rc)
        return store_mdb_err(rc);
    uint8_t k[RAWV_KEY_LEN] = {(uint8_t)(q->vid >> 24), (uint8_t)(q->vid >> 16),
                               (uint8_t)(q->vid >> 8), (uint8_t)q->vid};
    struct raw_key rk = {q->from_ms - STORE_RAW_SPAN_MS, 0, 0, 0, 0};
    raw_key_enc(k + 4, &rk);
    MDB_val key = {RAWV_KEY_LEN, k}, val;
    int op = MDB_SET_RANGE;
    while (!q->stopped && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        if (key.mv_size != RAWV_KEY_LEN || memcmp(key.mv_data, k, 4) != 0)
            break;
        raw_key_dec((uint8_t *)key.mv_data + 4, &rk);
        if (rk.min_ms >= q->to_ms || rk.min_ms >= since_ms)
            break;
        MDB_val bk = {RAW_KEY_LEN, (uint8_t *)key.mv_data + 4}, bv;
        if ((rc = mdb_get(txn, p->dbi[DDB_RAW], &bk, &bv)) || (rc = raw_block(rb, q, &bk, &bv)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

/* Format 3's index (bucket · vid · raw key) over the buckets [b0, b1): one SET_RANGE per
 * bucket holding anything, empty buckets skipped by where the cursor lands. */
static int raw_rawt_walk(struct rbuf *rb, struct rawq *q, struct store_part *p, MDB_txn *txn,
                         uint32_t b0, uint32_t b1)
{
    if (p->absent & (1u << DDB_RAWT) || b0 >= b1)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, p->dbi[DDB_RAWT], &cur);
    if (rc)
        return store_mdb_err(rc);
    static const uint8_t zero[RAW_KEY_LEN];
    uint8_t k[RAWT_KEY_LEN];
    for (uint32_t b = b0; b < b1 && !q->stopped;) {
        rawt_key(k, b, q->vid, zero);
        MDB_val key = {RAWT_KEY_LEN, k}, val;
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        uint32_t kb = 0, kv = 0;
        while (rc == 0 && !q->stopped) {
            if (rawt_key_parse(key.mv_data, key.mv_size, &kb, &kv)) {
                rc = MDB_CORRUPTED;
                break;
            }
            if (kb != b || kv != q->vid)
                break;
            MDB_val bk = {RAW_KEY_LEN, (uint8_t *)key.mv_data + 8}, bv;
            if ((rc = mdb_get(txn, p->dbi[DDB_RAW], &bk, &bv)) || (rc = raw_block(rb, q, &bk, &bv)))
                break;
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break; /* nothing further in the index */
        }
        if (rc)
            break;
        /* the cursor is on a key past (b, vid): the next bucket that holds anything */
        if (kb == UINT32_MAX)
            break;
        b = kb > b ? (kv <= q->vid ? kb : kb + 1) : b + 1;
    }
    mdb_cursor_close(cur);
    return rc == 0 ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

/* Time-major walk of one day, or for q->vid: the legacy index below `since`, the
 * time-first index up to `flushed`, the blocks themselves from `flushed` on. */
static int raw_day_walk(struct rbuf *rb, struct rawq *q, struct store_part *p, MDB_txn *txn)
{
    int64_t from = q->from_ms - STORE_RAW_SPAN_MS;
    if (!q->vid)
        return raw_time_walk(rb, q, p, txn, from);
    int64_t since, flushed;
    int rc = rawt_bounds(txn, p, &since, &flushed);
    if (rc)
        return store_mdb_err(rc);
    if (from < since && (rc = raw_rawv_walk(rb, q, p, txn, since)))
        return rc;
    if (since == INT64_MAX || q->stopped)
        return 0;
    int64_t lo = from > since ? from : since, hi = q->to_ms < flushed ? q->to_ms : flushed;
    if (lo < hi && (rc = raw_rawt_walk(rb, q, p, txn, rawt_bucket(lo), rawt_bucket(hi - 1) + 1)))
        return rc;
    /* from `flushed` on nothing is indexed yet (entries held by the writer) */
    int64_t t0 = from > flushed ? from : flushed;
    return q->stopped || t0 >= q->to_ms ? 0 : raw_time_walk(rb, q, p, txn, t0);
}

int store_raw_read(struct store *st, int64_t from_ms, int64_t to_ms, uint32_t vid,
                   uint64_t conn_id, store_raw_fn cb, void *ctx)
{
    if (!st->open)
        return RW_E_STATE;
    struct rawq q = {from_ms, to_ms, vid, conn_id, cb, ctx, 0};
    struct rbuf rb;
    int rc = rbuf_init(&rb);
    int32_t d0 = store_day_of((from_ms - 999) / 1000), d1 = store_day_of(to_ms / 1000);
    for (int32_t d = d0; !rc && !q.stopped && d <= d1 && to_ms > from_ms; d++) {
        struct store_part *p;
        rc = part_get(st, d, 0, &p);
        if (rc == -ENOENT) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        MDB_txn *txn;
        if (!(rc = part_rtxn(p, &txn))) {
            rc = raw_day_walk(&rb, &q, p, txn);
            part_rtxn_end(p, txn);
        }
        part_put(st, p);
    }
    rbuf_fini(&rb);
    return rc ? rc : q.stopped;
}

/* ─── presence ─── */

struct hit { uint32_t vid; uint16_t pair; };

struct hits {
    struct hit *v;
    size_t n, cap;
};

static int hits_add(struct hits *h, uint32_t vid, uint16_t pair)
{
    if (h->n && h->v[h->n - 1].vid == vid && h->v[h->n - 1].pair == pair)
        return 0;
    if (h->n == (16u << 20))
        return RW_E_LIMIT;
    void *a = h->v;
    if (mem_reserve(&a, &h->cap, h->n + 1, sizeof *h->v, h->n, 1024))
        return -ENOMEM;
    h->v = a;
    h->v[h->n++] = (struct hit){vid, pair};
    return 0;
}

static int cell_range(MDB_cursor *cur, uint8_t bucket, uint32_t c0, uint32_t c1,
                      struct hits *h, uint16_t pair)
{
    uint8_t k[PRES_KEY_LEN];
    pres_key(k, bucket, c0, 0);
    MDB_val key = {PRES_KEY_LEN, k}, val;
    int rc, op = MDB_SET_RANGE;
    while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        const uint8_t *x = key.mv_data;
        uint32_t cell = (uint32_t)x[1] << 24 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 8 | x[4];
        if (key.mv_size != PRES_KEY_LEN || x[0] != bucket || cell > c1)
            break;
        uint32_t vid = (uint32_t)x[5] << 24 | (uint32_t)x[6] << 16 | (uint32_t)x[7] << 8 | x[8];
        if ((rc = hits_add(h, vid, pair)))
            return rc;
    }
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

/* Index hits of one area during one span on one day. */
static int pres_day(struct store *st, int32_t day, const struct store_area *a,
                    const struct store_span *s, struct hits *h, uint16_t pair)
{
    struct store_part *p;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = part_read(st, day, &p, &txn);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    int64_t ds = store_day_start(day);
    int64_t f = s->from > ds ? s->from - ds : 0, t = s->to - ds < 86400 ? s->to - ds : 86400;
    uint32_t lo, hi;
    rc = store_mdb_err(mdb_cursor_open(txn, p->dbi[DDB_PRES], &cur));
    if (!rc && !pres_cell(a->lat_min_e6, a->lon_min_e6, &lo) &&
        !pres_cell(a->lat_max_e6, a->lon_max_e6, &hi)) {
        uint32_t r0 = lo / 36001, r1 = hi / 36001, c0 = lo % 36001, c1 = hi % 36001;
        for (int64_t b = f / STORE_PRES_BUCKET_S; !rc && b * STORE_PRES_BUCKET_S < t; b++)
            for (uint32_t r = r0; !rc && r <= r1; r++)
                rc = cell_range(cur, (uint8_t)b, r * 36001 + c0, r * 36001 + c1, h, pair);
    }
    if (cur)
        mdb_cursor_close(cur);
    part_read_end(st, p, txn);
    return rc;
}

static int hit_cmp(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->vid != y->vid)
        return x->vid < y->vid ? -1 : 1;
    return (x->pair > y->pair) - (x->pair < y->pair);
}

/* 1 when a point of <vid> lies in <a> during <s>. */
static int exact_check(struct store *st, uint32_t vid, const struct store_area *a,
                       const struct store_span *s, struct store_pos *buf, size_t cap)
{
    long n = store_track_read(st, vid, s->from, s->to, buf, cap);
    if (n < 0)
        return (int)n;
    for (long i = 0; i < n && (size_t)i < cap; i++)
        if (buf[i].lat_e6 >= a->lat_min_e6 && buf[i].lat_e6 <= a->lat_max_e6 &&
            buf[i].lon_e6 >= a->lon_min_e6 && buf[i].lon_e6 <= a->lon_max_e6 &&
            !(buf[i].flags & STORE_POS_F_DRIFT))
            return 1;
    return 0;
}

#define EXACT_CAP 65536

/* Decides one vehicle from its sorted hits [h0, h1): returns 1 to report it. */
static int pres_decide(struct store *st, const struct hit *h0, const struct hit *h1,
                       const struct store_area *areas, const struct store_span *spans,
                       unsigned ns, int mode, int exact, struct store_pos *buf)
{
    unsigned npairs = mode ? ns : 0, seen = 0;
    for (const struct hit *x = h0; x < h1; x++) {
        unsigned ai = mode ? x->pair : x->pair / ns, si = mode ? x->pair : x->pair % ns;
        int ok = exact ? exact_check(st, x->vid, &areas[ai], &spans[si], buf, EXACT_CAP) : 1;
        if (ok < 0)
            return ok;
        if (ok && !mode)
            return 1;
        seen += ok ? 1 : 0;
    }
    return mode && seen == npairs;
}

long store_presence_query(struct store *st, const struct store_area *areas, unsigned n_areas,
                          const struct store_span *spans, unsigned n_spans, int mode,
                          int exact, uint32_t *out, size_t max)
{
    if (!st->open)
        return RW_E_STATE;
    if (!n_areas || !n_spans || (mode && n_areas != n_spans) || n_areas * n_spans > 65535)
        return RW_E_FIELD;
    struct hits h = {NULL, 0, 0};
    unsigned npairs = mode ? n_areas : n_areas * n_spans;
    int rc = 0;
    for (unsigned pi = 0; pi < npairs && !rc; pi++) {
        const struct store_area *a = &areas[mode ? pi : pi / n_spans];
        const struct store_span *s = &spans[mode ? pi : pi % n_spans];
        for (int32_t d = store_day_of(s->from); !rc && s->to > s->from &&
                                                d <= store_day_of(s->to - 1); d++)
            rc = pres_day(st, d, a, s, &h, (uint16_t)pi);
    }
    struct store_pos *buf = exact ? mem_alloc(EXACT_CAP * sizeof *buf) : NULL;
    if (exact && !buf)
        rc = -ENOMEM;
    if (h.n)
        qsort(h.v, h.n, sizeof *h.v, hit_cmp);
    long count = 0;
    for (size_t i = 0, j; !rc && i < h.n; i = j) {
        size_t u = i + 1;
        for (j = i + 1; j < h.n && h.v[j].vid == h.v[i].vid; j++)
            if (h.v[j].pair != h.v[u - 1].pair)
                h.v[u++] = h.v[j]; /* unique pairs, in place */
        int ok = pres_decide(st, &h.v[i], &h.v[u], areas, spans, n_spans, mode, exact, buf);
        if (ok < 0)
            rc = ok;
        else if (ok && (size_t)count++ < max)
            out[count - 1] = h.v[i].vid;
    }
    mem_free(buf);
    mem_free(h.v);
    return rc ? rc : count;
}

/* ─── daily aggregates ─── */

static double hav_m(const struct store_pos *a, const struct store_pos *b)
{
    const double r = 6371008.8, k = M_PI / 180e6;
    double la1 = a->lat_e6 * k, la2 = b->lat_e6 * k;
    double dla = la2 - la1, dlo = (b->lon_e6 - a->lon_e6) * k;
    double x = sin(dla / 2) * sin(dla / 2) + cos(la1) * cos(la2) * sin(dlo / 2) * sin(dlo / 2);
    return 2 * r * asin(sqrt(x < 1 ? x : 1));
}

/* domain/alarms.md §3.4: qualified record. */
static int pos_qualified(const struct store_pos *p)
{
    return (p->status & 0x2u) && !(p->status & 0xCu) && p->lat_e6 >= 3850000 &&
           p->lat_e6 <= 53550000 && p->lon_e6 >= 73550000 && p->lon_e6 <= 135083300 &&
           p->speed_dkmh <= 1600 && p->altitude_m >= -200 && p->altitude_m <= 6500 &&
           p->direction <= 359 && p->gnss_time * 1000 <= p->recv_time_ms + 300000;
}

static int pos_valid_fix(const struct store_pos *p)
{
    return (p->status & 0x2u) && !(p->flags & STORE_POS_F_DRIFT) &&
           !(p->lat_e6 == 0 && p->lon_e6 == 0);
}

void store_agg_compute(const struct store_pos *pts, size_t n, struct store_agg *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return;
    out->vehicle_id = pts[0].vehicle_id;
    out->day = store_day_of(pts[0].gnss_time);
    out->first_report = pts[0].gnss_time;
    out->last_report = pts[n - 1].gnss_time;
    out->points = (uint32_t)n;
    double mil = 0, gap = 0;
    const struct store_pos *prev = NULL, *odo0 = NULL, *odo1 = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct store_pos *p = &pts[i];
        out->qualified += (uint32_t)pos_qualified(p);
        out->drift += (p->flags & STORE_POS_F_DRIFT) ? 1u : 0u;
        if (i && p->gnss_time - pts[i - 1].gnss_time <= 600)
            out->online_s += (uint32_t)(p->gnss_time - pts[i - 1].gnss_time);
        if (p->present & 1u) {
            odo0 = odo0 ? odo0 : p;
            odo1 = p;
        }
        if (!pos_valid_fix(p))
            continue;
        if (prev) {
            double d = hav_m(prev, p);
            int64_t dt = p->gnss_time - prev->gnss_time;
            mil += d;
            if (d > 2000 || (dt > 300 && d > 500)) {
                out->gaps++;
                gap += d;
            }
        }
        prev = p;
    }
    out->mileage_m = (uint32_t)(mil + 0.5);
    out->gap_mileage_m = (uint32_t)(gap + 0.5);
    if (odo0 && odo1->mileage_hm >= odo0->mileage_hm)
        out->odo_hm = odo1->mileage_hm - odo0->mileage_hm;
}

static void agg_alarms(struct store *st, uint32_t vid, int32_t day, struct store_agg *out)
{
    struct store_alarm al[64];
    int64_t ds = store_day_start(day), de = ds + 86400;
    /* Fatigue alarms may start the day before; 2 days back covers any plausible one. */
    long n = store_alarm_by_vehicle(st, vid, ds - 2 * 86400, de, al, 64);
    for (long i = 0; i < n && i < 64; i++) {
        const struct store_alarm *a = &al[i];
        if (a->type == 0x0001 && a->start_time >= ds)
            out->overspeed_count++;
        if (a->type == 0x0002 || a->type == 0x000D) {
            int64_t s = a->start_time > ds ? a->start_time : ds;
            int64_t e = a->end_time ? a->end_time : out->last_report;
            e = e < de ? e : de;
            out->fatigue_s += e > s ? (uint32_t)(e - s) : 0;
        }
    }
}

int store_agg_get(struct store *st, uint32_t vid, int32_t day, struct store_agg *out)
{
    size_t cap = 8192;
    struct store_pos *pts = NULL;
    long n;
    for (;;) {
        pts = mem_alloc(cap * sizeof *pts);
        if (!pts)
            return -ENOMEM;
        n = store_track_read(st, vid, store_day_start(day), store_day_start(day + 1), pts, cap);
        if (n < 0 || (size_t)n <= cap)
            break;
        mem_free(pts);
        cap = (size_t)n;
    }
    if (n > 0) {
        store_agg_compute(pts, (size_t)n, out);
        out->vehicle_id = vid;
        out->day = day;
        agg_alarms(st, vid, day, out);
    }
    mem_free(pts);
    return n < 0 ? (int)n : n == 0 ? -ENOENT : 0;
}
