/* rawidx.c: the raw log's by-vehicle index, time-first (store/README.md §4a).
 *
 * Format 2 kept `rawv` = vid · raw key: every commit put one entry per vehicle into a
 * vehicle-major tree, i.e. one dirty 4 KiB leaf page per vehicle per commit, which was
 * the largest part of a commit's cost. Format 3 keeps `rawt` = bucket (1 s of receive
 * time, the block's min_ms) · vid · raw key. The writer holds each bucket's entries in
 * memory and writes a bucket once it is closed (a bucket two newer has begun), sorted,
 * with MDB_APPEND, at most RIX_BUDGET entries per commit: a commit then dirties a few
 * pages at the end of the tree. Entries for a bucket already written go in directly.
 *
 * Index entries are not needed to acknowledge anything: the raw blocks are. The day's
 * `info` keeps `rawt_flushed` (every block with min_ms below this bucket's start is
 * indexed) and `rawt_since` (blocks below it belong to the legacy `rawv` index of a
 * format 2 day). Readers walk rawv below `since`, rawt up to `flushed` and the raw blocks
 * themselves from `flushed` on; at open, the blocks from `flushed` on are indexed again
 * (rix_recover), so a crash loses nothing. Writer thread only (rix_recover: before the
 * writer starts). */
#include <errno.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "store/store_int.h"

#define RIX_PENDING_MAX (4u << 20) /* entries held in memory before puts go direct */
#define RIX_BUDGET 65536           /* entries written per commit */

static const MDB_val k_flushed = {12, (void *)"rawt_flushed"};
static const MDB_val k_since = {10, (void *)"rawt_since"};

void rawt_key(uint8_t k[RAWT_KEY_LEN], uint32_t bucket, uint32_t vid, const uint8_t *rk)
{
    struct wr w;
    wr_init(&w, k, RAWT_KEY_LEN);
    wr_u32(&w, bucket);
    wr_u32(&w, vid);
    wr_mem(&w, rk, RAW_KEY_LEN);
}

int rawt_key_parse(const uint8_t *k, size_t len, uint32_t *bucket, uint32_t *vid)
{
    if (len != RAWT_KEY_LEN)
        return RW_E_LENGTH;
    struct rd r;
    rd_init(&r, k, 8);
    *bucket = rd_u32(&r);
    *vid = rd_u32(&r);
    return 0;
}

uint32_t rawt_bucket(int64_t min_ms)
{
    return min_ms <= 0 ? 0 : min_ms / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(min_ms / 1000);
}

static int info_i64(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key, int64_t *out)
{
    MDB_val v;
    int rc = mdb_get(txn, dbi, (MDB_val *)key, &v);
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    struct rd r;
    rd_init(&r, v.mv_data, 8);
    *out = (int64_t)(rd_u64(&r) ^ (1ull << 63));
    return 0;
}

static int info_put_i64(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key, int64_t val)
{
    uint8_t b[8];
    struct wr w;
    wr_init(&w, b, 8);
    wr_u64(&w, (uint64_t)val ^ (1ull << 63));
    MDB_val v = {8, b};
    return mdb_put(txn, dbi, (MDB_val *)key, &v, 0);
}

int rawt_bounds(MDB_txn *txn, const struct store_part *p, int64_t *since_ms, int64_t *flushed_ms)
{
    int64_t s = INT64_MAX, f = INT64_MIN;
    int rc = info_i64(txn, p->dbi[DDB_INFO], &k_since, &s);
    if (rc == MDB_NOTFOUND) /* a format 2 day never written by format 3: all in rawv */
        s = INT64_MAX, rc = 0;
    int64_t fb;
    int r2 = info_i64(txn, p->dbi[DDB_INFO], &k_flushed, &fb);
    if (r2 == 0)
        f = fb * 1000;
    else if (r2 != MDB_NOTFOUND)
        rc = r2;
    *since_ms = s;
    *flushed_ms = f > s ? f : s;
    return rc;
}

int rawt_mark_since(MDB_txn *txn, struct store_part *p)
{
    int64_t s;
    int rc = info_i64(txn, p->dbi[DDB_INFO], &k_since, &s);
    if (rc != MDB_NOTFOUND)
        return rc;
    /* First open by format 3: blocks already here are indexed by rawv (format 2). */
    MDB_cursor *c;
    MDB_val k, v;
    int64_t since = INT64_MIN;
    if ((rc = mdb_cursor_open(txn, p->dbi[DDB_RAW], &c)))
        return rc;
    if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == RAW_KEY_LEN) {
        struct raw_key rk;
        raw_key_dec(k.mv_data, &rk);
        since = rk.min_ms + 1;
    }
    mdb_cursor_close(c);
    return info_put_i64(txn, p->dbi[DDB_INFO], &k_since, since);
}

/* ─── writer side ─── */

struct rix_ent { uint32_t vid; uint8_t rk[RAW_KEY_LEN]; };
struct rix_bkt { struct rix_ent *v; size_t n, cap; bool sorted; };
struct rix_day {
    int32_t day;                  /* INT32_MIN: unused */
    uint32_t base;                /* oldest bucket held (the one being written) */
    uint32_t max_seen;
    size_t done;                  /* entries of <base> written */
    uint32_t pend_base;           /* base and done once the open txn commits */
    size_t pend_done;
    struct rix_bkt b[RIX_RING];
    uint8_t last[RAWT_KEY_LEN];   /* last key appended (a hint: a put falls back) */
    bool have_last;
};
struct rix {
    struct rix_day d[RIX_DAYS];
    size_t total;                 /* entries held */
    struct rix_ent *tmp;
    size_t tmp_cap;
    uint64_t appended, direct;
    uint32_t cnt[65537];          /* radix sort counts */
};

int rix_init(struct wctx *w)
{
    struct rix *x = mem_calloc(1, sizeof *x);
    if (!x)
        return -ENOMEM;
    for (int i = 0; i < RIX_DAYS; i++)
        x->d[i].day = INT32_MIN;
    w->rix = x;
    return 0;
}

void rix_fini(struct wctx *w)
{
    struct rix *x = w->rix;
    if (!x)
        return;
    for (int i = 0; i < RIX_DAYS; i++)
        for (int j = 0; j < RIX_RING; j++)
            mem_free(x->d[i].b[j].v);
    mem_free(x->tmp);
    MEM_FREE(w->rix);
}

static int direct_put(struct wctx *w, struct store_part *p, MDB_txn *txn, uint32_t bucket,
                      uint32_t vid, const uint8_t *rk)
{
    uint8_t k[RAWT_KEY_LEN];
    rawt_key(k, bucket, vid, rk);
    MDB_val key = {RAWT_KEY_LEN, k}, val = {0, NULL};
    int rc = mdb_put(txn, p->dbi[DDB_RAWT], &key, &val, 0);
    if (!rc)
        cpt_note(w->clog, p->day, DDB_RAWT, k, RAWT_KEY_LEN);
    w->rix->direct++;
    return rc;
}

/* The day's state; a day not held yet takes a free entry, or evicts the entry with the
 * fewest entries held by writing them out directly (in this txn: only when >4 days are
 * written at once, i.e. late raw frames of several days). */
static struct rix_day *rix_day_get(struct wctx *w, struct store_part *p, MDB_txn *txn,
                                   uint32_t bucket, int *rc)
{
    struct rix *x = w->rix;
    struct rix_day *free_d = NULL;
    for (int i = 0; i < RIX_DAYS; i++) {
        if (x->d[i].day == p->day)
            return &x->d[i];
        if (x->d[i].day == INT32_MIN && !free_d)
            free_d = &x->d[i];
    }
    if (!free_d)
        return NULL; /* caller puts directly */
    int64_t since, flushed;
    *rc = rawt_bounds(txn, p, &since, &flushed);
    if (*rc)
        return NULL;
    uint32_t fb = flushed == INT64_MIN || flushed == INT64_MAX ? 0 : rawt_bucket(flushed);
    free_d->day = p->day;
    free_d->base = bucket > fb ? bucket : fb;
    free_d->max_seen = free_d->base;
    free_d->done = free_d->pend_done = 0;
    free_d->pend_base = free_d->base;
    free_d->have_last = false;
    return free_d;
}

int rix_add(struct wctx *w, struct store_part *p, MDB_txn *txn, uint32_t bucket, uint32_t vid,
            const uint8_t rk[RAW_KEY_LEN])
{
    struct rix *x = w->rix;
    int rc = 0;
    struct rix_day *d = rix_day_get(w, p, txn, bucket, &rc);
    if (rc)
        return rc;
    /* Direct: a bucket already written (or being written: its sorted order is in use), a
     * bucket beyond the ring (a clock jump), or too much held. */
    if (d && bucket > d->max_seen)
        d->max_seen = bucket;
    if (!d || bucket < d->base || (bucket == d->base && d->done) ||
        bucket >= d->base + RIX_RING || x->total >= RIX_PENDING_MAX)
        return direct_put(w, p, txn, bucket, vid, rk);
    struct rix_bkt *b = &d->b[bucket % RIX_RING];
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        struct rix_ent *nv = mem_alloc(nc * sizeof *nv);
        if (!nv)
            return direct_put(w, p, txn, bucket, vid, rk);
        if (b->n)
            memcpy(nv, b->v, b->n * sizeof *nv);
        mem_free(b->v);
        b->v = nv;
        b->cap = nc;
    }
    b->v[b->n].vid = vid;
    memcpy(b->v[b->n].rk, rk, RAW_KEY_LEN);
    b->n++;
    b->sorted = false;
    x->total++;
    return 0;
}

static int ent_cmp(const struct rix_ent *a, const struct rix_ent *b)
{
    if (a->vid != b->vid)
        return a->vid < b->vid ? -1 : 1;
    return memcmp(a->rk, b->rk, RAW_KEY_LEN);
}

/* Sorts a bucket by (vid, raw key) and drops repeats: a stable LSD radix sort on vid (two
 * 16-bit passes), then insertion sort of each vid's run by raw key (runs arrive almost in
 * order: one vehicle's blocks come from one shard in sequence). */
static int bkt_sort(struct rix *x, struct rix_bkt *b)
{
    if (b->sorted || b->n < 2) {
        b->sorted = true;
        return 0;
    }
    if (x->tmp_cap < b->n) {
        struct rix_ent *t = mem_alloc(b->cap * sizeof *t);
        if (!t)
            return -ENOMEM;
        mem_free(x->tmp);
        x->tmp = t;
        x->tmp_cap = b->cap;
    }
    uint32_t *cnt = x->cnt;
    struct rix_ent *src = b->v, *dst = x->tmp;
    for (int pass = 0; pass < 2; pass++) {
        unsigned sh = pass * 16;
        memset(cnt, 0, sizeof x->cnt);
        for (size_t i = 0; i < b->n; i++)
            cnt[((src[i].vid >> sh) & 0xffff) + 1]++;
        for (int i = 0; i < 65536; i++)
            cnt[i + 1] += cnt[i];
        for (size_t i = 0; i < b->n; i++)
            dst[cnt[(src[i].vid >> sh) & 0xffff]++] = src[i];
        struct rix_ent *t = src;
        src = dst;
        dst = t;
    }
    /* two passes: the result is back in b->v */
    for (size_t i = 1; i < b->n; i++) {
        struct rix_ent e = b->v[i];
        size_t j = i;
        while (j > 0 && b->v[j - 1].vid == e.vid && ent_cmp(&b->v[j - 1], &e) > 0) {
            b->v[j] = b->v[j - 1];
            j--;
        }
        b->v[j] = e;
    }
    size_t o = 1;
    for (size_t i = 1; i < b->n; i++)
        if (ent_cmp(&b->v[o - 1], &b->v[i]) != 0)
            b->v[o++] = b->v[i];
    x->total -= b->n - o;
    b->n = o;
    b->sorted = true;
    return 0;
}

/* Writes the closed buckets from <base> on (all of them when <all>), at most RIX_BUDGET
 * entries, in the day's open txn. What the txn finishes is applied by rix_committed. */
int rix_flush(struct wctx *w, struct store_part *p, MDB_txn *txn, int all)
{
    struct rix *x = w->rix;
    struct rix_day *d = NULL;
    for (int i = 0; i < RIX_DAYS && !d; i++)
        if (x->d[i].day == p->day)
            d = &x->d[i];
    if (!d)
        return 0;
    d->pend_base = d->base; /* a txn that failed left nothing behind */
    d->pend_done = d->done;
    size_t budget = RIX_BUDGET;
    uint8_t k[RAWT_KEY_LEN];
    MDB_cursor *cur = NULL;
    int rc = 0;
    while (budget && !rc) {
        uint32_t bk = d->pend_base;
        if (bk >= d->base + RIX_RING) {
            /* The whole ring is written. Buckets beyond it hold nothing in memory (their
             * entries went in directly, in the txn of their blocks): skip the closed ones. */
            uint32_t to = all ? d->max_seen + 1 : d->max_seen - 1;
            if (to > bk) {
                rc = info_put_i64(txn, p->dbi[DDB_INFO], &k_flushed, (int64_t)to);
                cpt_note(w->clog, p->day, DDB_INFO, k_flushed.mv_data, k_flushed.mv_size);
                d->pend_base = to;
                d->pend_done = 0;
            }
            break;
        }
        /* A bucket is closed once a bucket two newer began (one of slack for shards). */
        if (all ? bk > d->max_seen : d->max_seen < bk + 2)
            break;
        struct rix_bkt *b = &d->b[bk % RIX_RING];
        if ((rc = bkt_sort(x, b)))
            break;
        size_t end = b->n - d->pend_done > budget ? d->pend_done + budget : b->n;
        if (!cur && (rc = mdb_cursor_open(txn, p->dbi[DDB_RAWT], &cur)))
            break;
        for (size_t i = d->pend_done; i < end && !rc; i++) {
            rawt_key(k, bk, b->v[i].vid, b->v[i].rk);
            MDB_val key = {RAWT_KEY_LEN, k}, val = {0, NULL};
            int app = !d->have_last || memcmp(k, d->last, RAWT_KEY_LEN) > 0;
            rc = mdb_cursor_put(cur, &key, &val, app ? MDB_APPEND : 0);
            if (rc == MDB_KEYEXIST && app) /* the tree holds a larger key: put in place */
                rc = mdb_cursor_put(cur, &key, &val, 0);
            if (!rc) {
                memcpy(d->last, k, RAWT_KEY_LEN);
                d->have_last = true;
                cpt_note(w->clog, p->day, DDB_RAWT, k, RAWT_KEY_LEN);
            }
        }
        if (rc)
            break;
        x->appended += end - d->pend_done;
        budget -= end - d->pend_done;
        if (end < b->n) {
            d->pend_done = end;
            break;
        }
        /* Every block of buckets <= bk is indexed once this commits. */
        rc = info_put_i64(txn, p->dbi[DDB_INFO], &k_flushed, (int64_t)bk + 1);
        cpt_note(w->clog, p->day, DDB_INFO, k_flushed.mv_data, k_flushed.mv_size);
        d->pend_base = bk + 1;
        d->pend_done = 0;
    }
    if (cur)
        mdb_cursor_close(cur);
    return rc;
}

void rix_committed(struct wctx *w, int32_t day)
{
    struct rix *x = w->rix;
    for (int i = 0; i < RIX_DAYS; i++) {
        struct rix_day *d = &x->d[i];
        if (d->day != day)
            continue;
        for (unsigned s = 0; d->base < d->pend_base; d->base++, s++) {
            if (s >= RIX_RING) { /* a skip past the ring: its slots are already free */
                d->base = d->pend_base;
                break;
            }
            struct rix_bkt *b = &d->b[d->base % RIX_RING];
            x->total -= b->n;
            b->n = 0;
            b->sorted = false;
            if (b->cap > (64u << 10)) { /* give back a burst's memory */
                MEM_FREE(b->v);
                b->cap = 0;
            }
        }
        d->done = d->pend_done;
        size_t held = 0;
        for (int j = 0; j < RIX_RING; j++)
            held += d->b[j].n;
        if (held == 0 && d->max_seen < d->base)
            d->day = INT32_MIN; /* nothing held: forget the day */
    }
}

int rix_pending(const struct wctx *w, int32_t *day, int *all)
{
    const struct rix *x = w->rix;
    uint32_t newest = 0;
    for (int i = 0; i < RIX_DAYS; i++)
        if (x->d[i].day != INT32_MIN && x->d[i].max_seen > newest)
            newest = x->d[i].max_seen;
    for (int i = 0; i < RIX_DAYS; i++) {
        const struct rix_day *d = &x->d[i];
        if (d->day == INT32_MIN)
            continue;
        size_t held = 0;
        for (int j = 0; j < RIX_RING; j++)
            held += d->b[j].n;
        if (!held)
            continue;
        *day = d->day;
        /* A day no longer receiving frames (newest bucket elsewhere 2 ahead) is written out
         * whole; otherwise its closed buckets only. */
        *all = newest >= d->max_seen + 2;
        if (*all || d->max_seen >= d->base + 2)
            return 1;
    }
    return 0;
}

int rix_day_txn(struct store *st, struct wctx *w, int32_t day, int all)
{
    struct store_part *p;
    int rc = part_get(st, day, 0, &p);
    if (rc) { /* the day is gone (retention): forget what it held */
        if (rc == -ENOENT)
            rix_forget(w, day);
        return rc == -ENOENT ? 0 : rc;
    }
    for (int attempt = 0; attempt < 16; attempt++) {
        MDB_txn *txn;
        int logging = cpt_txn_begin(w->clog, day);
        rc = mdb_txn_begin(p->env, NULL, 0, &txn);
        if (rc)
            break;
        rc = rix_flush(w, p, txn, all);
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = mdb_txn_commit(txn);
        if (!rc) {
            rix_committed(w, day);
            cpt_txn_done(w->clog, day, logging);
        }
        if (rc != MDB_MAP_FULL || part_grow(st, p))
            break;
    }
    part_put(st, p);
    return store_err(rc);
}

int rix_held_day(const struct wctx *w, int32_t *day)
{
    const struct rix *x = w->rix;
    for (int i = 0; i < RIX_DAYS; i++)
        if (x->d[i].day != INT32_MIN && x->d[i].base <= x->d[i].max_seen) {
            *day = x->d[i].day; /* entries held, or the flushed mark behind the last bucket */
            return 1;
        }
    return 0;
}

void rix_forget(struct wctx *w, int32_t day)
{
    struct rix *x = w->rix;
    for (int i = 0; i < RIX_DAYS; i++)
        if (x->d[i].day == day) {
            for (int j = 0; j < RIX_RING; j++) {
                x->total -= x->d[i].b[j].n;
                x->d[i].b[j].n = 0;
            }
            x->d[i].day = INT32_MIN;
        }
}

/* ─── recovery at open ─── */

struct rec_ctx { MDB_txn *txn; struct store_part *p; uint32_t bucket; const uint8_t *rk;
                 uint32_t last_vid; long n; int rc; };

static int rec_frame(const struct store_raw *r, void *arg)
{
    struct rec_ctx *c = arg;
    if (r->vehicle_id == 0 || r->vehicle_id == c->last_vid)
        return 0;
    c->last_vid = r->vehicle_id;
    uint8_t k[RAWT_KEY_LEN];
    rawt_key(k, c->bucket, r->vehicle_id, c->rk);
    MDB_val key = {RAWT_KEY_LEN, k}, val = {0, NULL};
    c->rc = mdb_put(c->txn, c->p->dbi[DDB_RAWT], &key, &val, 0);
    c->n++;
    return c->rc ? 1 : 0;
}

/* Indexes the blocks of one day from its `flushed` mark on and marks the day flushed, in
 * the open txn <txn>. Returns the entries put, or an LMDB / negative code. */
static long recover_txn(struct wctx *w, struct store_part *p, MDB_txn *txn)
{
    int64_t since, flushed;
    MDB_cursor *cur = NULL;
    long n = 0;
    int rc = rawt_bounds(txn, p, &since, &flushed);
    if (rc || flushed == INT64_MAX)
        return rc;
    if ((rc = mdb_cursor_open(txn, p->dbi[DDB_RAW], &cur)))
        return rc;
    uint32_t top = 0;
    uint8_t kb[RAW_KEY_LEN];
    struct raw_key rk0 = {flushed, 0, 0, 0, 0};
    raw_key_enc(kb, &rk0);
    MDB_val k = {RAW_KEY_LEN, kb}, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (r == 0 && !rc) {
        struct raw_key rk;
        if (k.mv_size != RAW_KEY_LEN) {
            rc = MDB_CORRUPTED;
            break;
        }
        raw_key_dec(k.mv_data, &rk);
        struct rec_ctx c = {txn, p, rawt_bucket(rk.min_ms), k.mv_data, 0, 0, 0};
        long m = rawblk_decode(v.mv_data, v.mv_size, rk.min_ms, rec_frame, &c, w->zd, w->tmp,
                               w->tmp_cap);
        if (c.rc || m < 0) {
            rc = c.rc ? c.rc : (int)m;
            break;
        }
        n += c.n;
        top = c.bucket > top ? c.bucket : top;
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (!rc && r != MDB_NOTFOUND && r != 0)
        rc = r;
    mdb_cursor_close(cur);
    if (!rc && top)
        rc = info_put_i64(txn, p->dbi[DDB_INFO], &k_flushed, (int64_t)top + 1);
    return rc ? rc : n;
}

static long rix_recover_day(struct store *st, struct wctx *w, int32_t day)
{
    struct store_part *p;
    int rc = part_get(st, day, 0, &p);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    long n = 0;
    for (int attempt = 0; attempt < 16; attempt++) {
        MDB_txn *txn;
        if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn)))
            break;
        n = recover_txn(w, p, txn);
        rc = n < 0 ? (int)n : 0;
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = mdb_txn_commit(txn);
        if (rc != MDB_MAP_FULL || part_grow(st, p))
            break;
    }
    part_put(st, p);
    rc = store_err(rc);
    return rc ? rc : n;
}

int rix_recover(struct store *st)
{
    int32_t days[1024];
    long n = part_list_days(st->dir, days, 1024);
    if (n < 0)
        return (int)n;
    long total = 0;
    /* Frames are written to the day of their receive time: only the newest days can
     * hold blocks whose entries were still in memory. */
    for (long i = n < 1024 ? n : 1024, k = 0; i-- > 0 && k < 2; k++) {
        long r = rix_recover_day(st, st->wctx, days[i]);
        if (r < 0) {
            LOG(LOG_ERR, "store", "day %d: raw index recovery: %s", days[i], err_str((int)r));
            return (int)r;
        }
        total += r;
    }
    if (total)
        LOG(LOG_NOTICE, "store", "%s: raw log index: %ld entries recovered from the log",
            st->dir, total);
    return 0;
}
