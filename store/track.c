/* track.c: track slots — a base segment plus small tail records (store/README.md §3).
 *
 * A commit appends the new points of each (vehicle, slot) it touches as one tail record
 * (vid . slot . seq, plain codec): its cost grows with the points it adds, not with the
 * size of the stored segment. Tails are merged into the base segment (deduplicated,
 * re-encoded with zstd) when the vehicle moves on to a later slot (the closed slot is
 * queued and merged a few at a time, in the commit's transaction or when the writer is
 * idle), when a slot reaches its tail limit, and at once for late points (a slot that is
 * not the vehicle's newest). Readers merge base and tails the same way (trk_gather), so
 * a slot reads the same before and after its merge. Writer thread only, except
 * trk_gather and the scratch helpers (any thread, own scratch). */
#include <errno.h>
#include <string.h>

#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "store/store_int.h"

#define MERGE_IDLE_MAX 64         /* queued merges per idle transaction */

int trk_scr_init(struct trk_scr *s, size_t tmp_cap)
{
    memset(s, 0, sizeof *s);
    s->acc = mem_alloc(STORE_SEG_MAX * sizeof *s->acc);
    s->one = mem_alloc(STORE_SEG_MAX * sizeof *s->one);
    s->mrg = mem_alloc(STORE_SEG_MAX * sizeof *s->mrg);
    s->held = mem_alloc(STORE_SEG_MAX * sizeof *s->held);
    s->zd = ZSTD_createDCtx();
    s->tmp = mem_alloc(tmp_cap);
    s->tmp_cap = tmp_cap;
    return s->acc && s->one && s->mrg && s->held && s->zd && s->tmp ? 0 : -ENOMEM;
}

void trk_scr_fini(struct trk_scr *s)
{
    ZSTD_freeDCtx(s->zd);
    MEM_FREE(s->acc);
    MEM_FREE(s->one);
    MEM_FREE(s->mrg);
    MEM_FREE(s->held);
    MEM_FREE(s->tmp);
}

long trk_gather(MDB_cursor *cur, MDB_val *key, MDB_val *val, struct trk_scr *s,
                uint16_t *seq_max, int *end)
{
    uint32_t vid, v2;
    uint8_t slot, s2;
    uint16_t seq, q2;
    int rc = trk_key_parse(key->mv_data, key->mv_size, &vid, &slot, &seq);
    if (rc)
        return rc;
    size_t n = 0;
    unsigned nrec = 0;
    *seq_max = 0;
    *end = 0;
    for (;;) {
        long m = seg_decode(val->mv_data, val->mv_size, vid, nrec ? s->one : s->acc,
                            STORE_SEG_MAX, s->zd, s->tmp, s->tmp_cap);
        if (m < 0)
            return m;
        if (nrec++) {
            n = seg_merge(s->acc, n, s->one, (size_t)m, s->mrg, STORE_SEG_MAX, &s->dup,
                          &s->full);
            struct store_pos *x = s->acc;
            s->acc = s->mrg;
            s->mrg = x;
        } else {
            n = (size_t)m;
        }
        *seq_max = seq > *seq_max ? seq : *seq_max;
        rc = mdb_cursor_get(cur, key, val, MDB_NEXT);
        if (rc == MDB_NOTFOUND) {
            *end = 1;
            break;
        }
        if (rc)
            return store_mdb_err(rc);
        if (trk_key_parse(key->mv_data, key->mv_size, &v2, &s2, &q2) || v2 != vid ||
            s2 != slot)
            break;
        seq = q2;
    }
    return (long)n;
}

long trk_slot_load(MDB_cursor *cur, uint32_t vid, uint8_t slot, struct trk_scr *s,
                   uint16_t *seq_max)
{
    uint8_t k[TRK_KEY_LEN];
    trk_key(k, vid, slot);
    MDB_val key = {TRK_KEY_LEN, k}, val;
    uint32_t v2;
    uint8_t s2;
    uint16_t q2;
    int end;
    *seq_max = 0;
    int rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_mdb_err(rc);
    if (trk_key_parse(key.mv_data, key.mv_size, &v2, &s2, &q2) || v2 != vid || s2 != slot)
        return 0;
    return trk_gather(cur, &key, &val, s, seq_max, &end);
}

/* Rewrites (vid, slot) as one base segment: stored records, then the <m> incoming points
 * of w->inc (deduplicated against them); deletes the tails. */
static int slot_merge(struct wctx *w, struct store_part *p, MDB_txn *txn, MDB_cursor *cur,
                      uint32_t vid, uint8_t slot, size_t m)
{
    uint16_t seq_max;
    uint8_t ck[TRK_KEY_LEN];
    trk_key(ck, vid, slot);
    cpt_note(w->clog, p->day, DDB_TRK, ck, TRK_KEY_LEN);
    w->scr.dup = w->scr.full = 0;
    long n = trk_slot_load(cur, vid, slot, &w->scr, &seq_max);
    if (n < 0) {
        LOG(LOG_ERR, "store", "day %d vehicle %u slot %u: bad track record (%s)", p->day,
            vid, slot, err_str((int)n));
        return -EIO;
    }
    if (m == 0 && seq_max == 0)
        return 0; /* nothing to merge (already merged, or a repeated queue entry) */
    size_t o = seg_merge(w->scr.acc, (size_t)n, w->inc, m, w->merged, STORE_SEG_MAX,
                         &w->scr.dup, &w->scr.full);
    w->acc.points_dup += w->scr.dup;
    w->acc.points_full += w->scr.full;
    long len = seg_encode(w->merged, o, w->enc, w->enc_cap, w->zc, w->tmp, w->tmp_cap);
    if (len < 0)
        return (int)len;
    uint8_t k[TRK_TAIL_KEY_LEN];
    trk_key(k, vid, slot);
    MDB_val key = {TRK_KEY_LEN, k}, val = {(size_t)len, w->enc};
    int rc = mdb_put(txn, p->dbi[DDB_TRK], &key, &val, 0);
    for (uint16_t q = 1; q <= seq_max && !rc; q++) {
        trk_tail_key(k, vid, slot, q);
        key.mv_size = TRK_TAIL_KEY_LEN;
        rc = mdb_del(txn, p->dbi[DDB_TRK], &key, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    return store_mdb_err(rc);
}

static void mq_push(struct wctx *w, int32_t day, uint32_t vid, uint8_t slot)
{
    if (w->mq_tail - w->mq_head == MQ_CAP)
        return; /* full: the slot keeps its tails (still read correctly) */
    w->mq[w->mq_tail++ & (MQ_CAP - 1)] = (struct mq_ent){day, vid, slot};
}

/* Where (vid, slot) stands: its last tail seq (0: none), whether a later slot of the
 * vehicle exists (late points), and a closed earlier slot that still has tails. */
static int slot_probe(MDB_cursor *cur, uint32_t vid, uint8_t slot, uint16_t *last,
                      int *late, int *closed)
{
    uint8_t k[TRK_TAIL_KEY_LEN];
    trk_tail_key(k, vid, slot, 0xffff);
    MDB_val key = {TRK_TAIL_KEY_LEN, k}, val;
    uint32_t v;
    uint8_t s;
    uint16_t q;
    *last = 0;
    *late = 0;
    *closed = -1;
    int rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    if (rc == 0)
        *late = !trk_key_parse(key.mv_data, key.mv_size, &v, &s, &q) && v == vid;
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &key, &val, rc ? MDB_LAST : MDB_PREV);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_mdb_err(rc);
    if (trk_key_parse(key.mv_data, key.mv_size, &v, &s, &q) || v != vid)
        return 0;
    if (s == slot)
        *last = q;
    else if (q)
        *closed = s;
    return 0;
}

int track_slot_write(struct wctx *w, struct store_part *p, MDB_txn *txn, MDB_cursor *cur,
                     uint32_t vid, uint8_t slot, size_t *mp)
{
    /* Duplicates inside this commit are dropped here; against stored records at merge. */
    size_t m = seg_merge(NULL, 0, w->inc, *mp, w->merged, STORE_SEG_MAX, &w->acc.points_dup,
                         &w->acc.points_full);
    *mp = m;
    memcpy(w->inc, w->merged, m * sizeof *w->inc);
    uint16_t last;
    int late, closed;
    int rc = slot_probe(cur, vid, slot, &last, &late, &closed);
    if (rc)
        return rc;
    if (closed >= 0)
        mq_push(w, p->day, vid, (uint8_t)closed);
    /* Staggered limit, so that vehicles reporting in step do not all merge at once. */
    if (late || last >= STORE_TAIL_MAX - (vid % 16)) {
        rc = slot_merge(w, p, txn, cur, vid, slot, m);
    } else {
        long len = seg_encode_plain(w->inc, m, w->enc, w->enc_cap);
        if (len < 0)
            return (int)len;
        uint8_t k[TRK_TAIL_KEY_LEN];
        trk_key(k, vid, slot);
        cpt_note(w->clog, p->day, DDB_TRK, k, TRK_KEY_LEN);
        trk_tail_key(k, vid, slot, (uint16_t)(last + 1));
        MDB_val key = {TRK_TAIL_KEY_LEN, k}, val = {(size_t)len, w->enc};
        rc = store_mdb_err(mdb_put(txn, p->dbi[DDB_TRK], &key, &val, 0));
    }
    return rc;
}

/* Merges up to <budget> queued slots of day p->day from the head of the queue; returns
 * how many it consumed (the caller advances the head only after the commit). */
unsigned track_merge_queued(struct wctx *w, struct store_part *p, MDB_cursor *cur,
                            unsigned budget, int *rc)
{
    unsigned k = 0;
    MDB_txn *txn = mdb_cursor_txn(cur);
    *rc = 0;
    while (k < budget && w->mq_head + k != w->mq_tail) {
        const struct mq_ent *e = &w->mq[(w->mq_head + k) & (MQ_CAP - 1)];
        if (e->day != p->day)
            break;
        if ((*rc = slot_merge(w, p, txn, cur, e->vid, e->slot, 0)))
            break;
        k++;
    }
    return k;
}

/* The writer has nothing pending: merge queued slots in a transaction of their own. */
int track_merge_idle(struct store *st, struct wctx *w)
{
    if (w->mq_head == w->mq_tail)
        return 0;
    int32_t day = w->mq[w->mq_head & (MQ_CAP - 1)].day;
    struct store_part *p;
    int rc = part_get(st, day, 0, &p);
    if (rc) { /* the day is gone (retention) or cannot open: drop its entries */
        while (w->mq_head != w->mq_tail && w->mq[w->mq_head & (MQ_CAP - 1)].day == day)
            w->mq_head++;
        return rc == -ENOENT ? 0 : rc;
    }
    MDB_txn *txn;
    MDB_cursor *cur;
    memset(&w->acc, 0, sizeof w->acc);
    int logging = cpt_txn_begin(w->clog, day);
    rc = store_mdb_err(mdb_txn_begin(p->env, NULL, 0, &txn));
    if (!rc) {
        unsigned k = 0;
        rc = store_mdb_err(mdb_cursor_open(txn, p->dbi[DDB_TRK], &cur));
        if (!rc) {
            k = track_merge_queued(w, p, cur, MERGE_IDLE_MAX, &rc);
            mdb_cursor_close(cur);
        }
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = store_mdb_err(mdb_txn_commit(txn)); /* frees txn either way */
        w->mq_head += rc ? 0 : k;
        if (!rc)
            cpt_txn_done(w->clog, day, logging);
    }
    if (rc) /* drop the entry that failed: its slot keeps its tails */
        w->mq_head++;
    part_put(st, p);
    STATS_ADD(st, points_dup, w->acc.points_dup);
    STATS_ADD(st, points_full, w->acc.points_full);
    return rc;
}
