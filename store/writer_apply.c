/* writer_apply.c: what one group commit writes — track tail records (track.c: appended,
 * merged into their base segment later), presence keys, raw blocks and their by-vehicle index — one write
 * transaction per touched day partition. Runs on the writer thread only.
 *
 * Every operation is idempotent (a repeated tail is deduplicated when read and when merged;
 * raw block keys are derived
 * from boot, shard, batch seq and block index), so a commit that failed halfway through
 * its days can be retried in full without storing anything twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/log.h"
#include "store/store_int.h"

static int wref_cmp(const void *a, const void *b)
{
    const struct wref *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->vid != y->vid)
        return x->vid < y->vid ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->recv != y->recv)
        return x->recv < y->recv ? -1 : 1;
    return 0;
}

static int day_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int32_t raw_day(int64_t ms)
{
    return store_day_of(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
}

void days_add(struct wctx *w, unsigned *n, int32_t d)
{
    for (unsigned i = 0; i < *n; i++)
        if (w->days[i] == d)
            return;
    w->days[(*n)++] = d;
}

/* Sorts every position of the pending batches by (day, vehicle, time) and lists the days
 * touched by positions and raw frames. Out-of-window records are counted and skipped. */
static unsigned writer_plan(struct wctx *w, int32_t oldest, int32_t newest)
{
    unsigned nd = 0;
    w->nref = 0;
    for (unsigned bi = 0; bi < w->npend; bi++) {
        const struct store_batch *b = w->pend[bi];
        for (unsigned pi = 0; pi < b->npos; pi++) {
            const struct store_pos *p = &b->pos[pi];
            w->acc.points++;
            int32_t day = store_day_of(p->gnss_time);
            if (p->vehicle_id == 0 || day > newest) {
                w->acc.points_future++;
                continue;
            }
            if (day < oldest) {
                w->acc.points_old++;
                continue;
            }
            struct wref *r = &w->refs[w->nref++];
            *r = (struct wref){day, p->vehicle_id, p->gnss_time, p->recv_time_ms,
                               trk_slot_of(p->gnss_time), bi, pi, 0};
            days_add(w, &nd, day);
        }
        for (unsigned ri = 0; ri < b->nraw; ri++) {
            int32_t day = raw_day(b->raw[ri].recv_time_ms);
            if (day < oldest || day > newest)
                w->acc.raw_dropped++;
            else
                days_add(w, &nd, day);
        }
    }
    qsort(w->refs, w->nref, sizeof *w->refs, wref_cmp);
    return nd;
}

static int pres_put(struct wctx *w, struct store_part *p, MDB_txn *txn, const struct store_pos *x)
{
    uint32_t cell;
    if ((x->flags & STORE_POS_F_DRIFT) || (x->lat_e6 == 0 && x->lon_e6 == 0) ||
        pres_cell(x->lat_e6, x->lon_e6, &cell))
        return 0;
    int64_t s = (x->gnss_time + 8 * 3600) % 86400;
    uint8_t k[PRES_KEY_LEN];
    pres_key(k, (uint8_t)((s < 0 ? s + 86400 : s) / STORE_PRES_BUCKET_S), cell, x->vehicle_id);
    MDB_val key = {PRES_KEY_LEN, k}, val = {0, NULL};
    int rc = mdb_put(txn, p->dbi[DDB_PRES], &key, &val, MDB_NOOVERWRITE);
    if (rc == 0)
        cpt_note(w->clog, p->day, DDB_PRES, k, PRES_KEY_LEN);
    return rc == MDB_KEYEXIST ? 0 : store_mdb_err(rc);
}

#define MERGE_PER_TXN 64          /* queued slot merges done in each day transaction */

static int day_tracks(struct wctx *w, struct store_part *p, MDB_txn *txn, unsigned *merged)
{
    MDB_cursor *cur;
    int rc = store_mdb_err(mdb_cursor_open(txn, p->dbi[DDB_TRK], &cur));
    size_t i = 0;
    while (i < w->nref && w->refs[i].day != p->day)
        i++;
    while (!rc && i < w->nref && w->refs[i].day == p->day) {
        uint32_t vid = w->refs[i].vid;
        uint8_t slot = w->refs[i].slot;
        size_t m = 0;
        for (; i < w->nref && w->refs[i].day == p->day && w->refs[i].vid == vid &&
               w->refs[i].slot == slot; i++) {
            const struct wref *r = &w->refs[i];
            if (m < STORE_SEG_MAX)
                w->inc[m++] = w->pend[r->bi]->pos[r->pi];
            else
                w->acc.points_full++;
        }
        /* A held group goes to the journal (hold_day) and its vehicle's hold. */
        if (!w->refs[i - 1].held)
            rc = track_slot_write(w, p, txn, cur, vid, slot, &m);
        for (size_t j = 0; j < m && !rc; j++) /* presence of the new points (idempotent) */
            rc = pres_put(w, p, txn, &w->inc[j]);
    }
    if (!rc)
        *merged = track_merge_queued(w, p, cur, MERGE_PER_TXN, &rc);
    mdb_cursor_close(cur);
    return rc;
}

static int raw_block_put(struct store *st, struct wctx *w, struct store_part *p, MDB_txn *txn,
                         const struct store_batch *b, size_t n, int64_t min_ms, uint16_t sub)
{
    struct raw_key rk = {min_ms, st->boot, (uint16_t)b->shard, (uint32_t)b->seq, sub};
    uint8_t k[RAW_KEY_LEN];
    raw_key_enc(k, &rk);
    long len = rawblk_encode(w->rawp, n, min_ms, w->enc, w->enc_cap, w->zc, w->tmp,
                             w->tmp_cap);
    if (len < 0)
        return (int)len;
    MDB_val key = {RAW_KEY_LEN, k}, val = {(size_t)len, w->enc};
    int rc = mdb_put(txn, p->dbi[DDB_RAW], &key, &val, 0);
    cpt_note(w->clog, p->day, DDB_RAW, k, RAW_KEY_LEN);
    /* The by-vehicle index, time-first (rawidx.c): one entry per vehicle of the block. */
    uint32_t last = 0, bucket = rawt_bucket(min_ms);
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t vid = w->rawp[i]->vehicle_id;
        if (vid == 0 || vid == last)
            continue;
        last = vid;
        rc = rix_add(w, p, txn, bucket, vid, k);
    }
    w->acc.raw_frames += n;
    return store_mdb_err(rc);
}

/* The frames of one batch that fall on this day, cut into blocks of bounded time span (so
 * that a time-range read starts at most STORE_RAW_SPAN_MS before its range). */
static int day_raw_batch(struct store *st, struct wctx *w, struct store_part *p, MDB_txn *txn,
                         const struct store_batch *b)
{
    size_t n = 0;
    int64_t lo = 0, hi = 0;
    uint16_t sub = 0;
    for (unsigned ri = 0; ri < b->nraw; ri++) {
        const struct store_raw *f = &b->raw[ri];
        if (raw_day(f->recv_time_ms) != p->day)
            continue;
        int64_t t = f->recv_time_ms;
        if (n && (t > hi ? t : hi) - (t < lo ? t : lo) > STORE_RAW_SPAN_MS) {
            int rc = raw_block_put(st, w, p, txn, b, n, lo, sub++);
            if (rc)
                return rc;
            n = 0;
        }
        if (n == 0)
            lo = hi = t;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
        w->rawp[n++] = f;
    }
    return n ? raw_block_put(st, w, p, txn, b, n, lo, sub) : 0;
}

static int day_apply(struct store *st, struct wctx *w, struct store_part *p, MDB_txn *txn,
                     unsigned *merged)
{
    int rc = day_tracks(w, p, txn, merged);
    if (!rc)
        rc = hold_day(st, w, p, txn);
    for (unsigned bi = 0; bi < w->npend && !rc; bi++)
        if (w->pend[bi]->nraw)
            rc = day_raw_batch(st, w, p, txn, w->pend[bi]);
    return rc;
}

/* One write transaction on one day, grown and retried on MDB_MAP_FULL. */
static int writer_day(struct store *st, struct wctx *w, int32_t day)
{
    struct store_part *p;
    int rc = part_get(st, day, PART_CREATE, &p);
    if (rc)
        return rc;
    struct store_stats save = w->acc;
    uint32_t mq_tail = w->mq_tail;
    for (int attempt = 0; attempt < 16; attempt++) {
        MDB_txn *txn;
        unsigned merged = 0;
        w->acc = save;
        w->mq_tail = mq_tail; /* entries queued by a failed attempt are queued again */
        int logging = cpt_txn_begin(w->clog, day);
        rc = store_mdb_err(mdb_txn_begin(p->env, NULL, 0, &txn));
        if (rc)
            break;
        rc = day_apply(st, w, p, txn, &merged);
        if (!rc)
            rc = store_err(rix_flush(w, p, txn, 0));
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = store_mdb_err(mdb_txn_commit(txn));
        if (rc == 0) {
            w->mq_head += merged;
            rix_committed(w, day);
            cpt_txn_done(w->clog, day, logging);
        }
        if (rc != RW_E_LIMIT)
            break;
        int g = part_grow(st, p);
        if (g) {
            LOG(LOG_ERR, "store", "day %d: map full at its maximum (%llu bytes)", day,
                (unsigned long long)p->map_size);
            break;
        }
    }
    if (rc == -EIO)
        part_poison(st, p);
    part_put(st, p);
    return rc;
}

int writer_commit(struct store *st, struct wctx *w)
{
    int32_t oldest = store_oldest_day(st);
    int32_t newest = store_day_of(store_now(st)) + 1;
    unsigned nd = writer_plan(w, oldest, newest);
    int rc = hold_plan(st, w, &nd);
    if (rc)
        return rc;
    /* Oldest day first: a hold written out on an earlier day commits before the journal
     * record of the vehicle's later slot (hold.c, recovery). */
    qsort(w->days, nd, sizeof *w->days, day_cmp);
    for (unsigned i = 0; i < nd; i++) {
        rc = writer_day(st, w, w->days[i]);
        if (rc)
            return rc;
    }
    hold_apply(st, w);
    /* A day that no longer receives frames still holds raw index entries: write them. */
    int32_t d;
    int all;
    if (rix_pending(w, &d, &all) && all) {
        int planned = 0;
        for (unsigned i = 0; i < nd; i++)
            planned |= w->days[i] == d;
        if (!planned)
            return rix_day_txn(st, w, d, 1);
    }
    return 0;
}
