/* compact.c: rewrites a closed day partition in key order (store/README.md §9a).
 *
 * Ingest fills a day's B-trees in vehicle-major key order while time runs, so every leaf
 * page is split at its middle and stays about half full; slots whose merge was lost in a
 * crash keep their tail records. Once a day is closed (compact_after_days), the
 * maintenance thread copies it into a new file generation: every track slot merged into
 * one columnar base segment, every record put with MDB_APPEND (pages 100 % full), read in
 * chunks of short read transactions of the live day (ingest is never held up; the
 * partition's rwlock is taken only per chunk) and written in one write transaction of
 * the new file. Keys the writer writes to the day meanwhile are noted (cpt_log) and
 * replayed into the copy before the swap, which happens holding the day: the old file is
 * closed and replaced by the new generation. If the log overflowed, the copy is thrown
 * away (-EAGAIN) and tried again at the next check. A crash at any point leaves
 * either the old generation or both (part_tidy keeps the newest complete one). Maintenance
 * thread (or a test's thread) only; never two compactions at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/assert.h"
#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "store/store_int.h"

#define CHUNK_RECS 4096           /* records (trk: slots) per read/write transaction pair */
#define INFO_COMPACTED "compacted"

static const char *const cdb_names[DDB_N] = DDB_NAMES;

int cpt_log_init(struct store *st)
{
    struct cpt_log *l = mem_calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    atomic_init(&l->day, INT32_MIN);
    pthread_mutex_init(&l->run, NULL);
    pthread_mutex_init(&l->mu, NULL);
    st->clog = l;
    return 0;
}

void cpt_log_fini(struct store *st)
{
    if (!st->clog)
        return;
    pthread_mutex_destroy(&st->clog->run);
    pthread_mutex_destroy(&st->clog->mu);
    MEM_FREE(st->clog);
}

void cpt_note(struct cpt_log *l, int32_t day, int db, const uint8_t *key, size_t len)
{
    if (!l || atomic_load_explicit(&l->day, memory_order_acquire) != day)
        return;
    ASSERT(len <= sizeof l->k[0].k);
    pthread_mutex_lock(&l->mu);
    if (l->n == CPT_LOG_MAX) {
        l->broken = true;
    } else {
        struct cpt_key *e = &l->k[l->n++];
        e->db = (uint8_t)db;
        e->len = (uint8_t)len;
        memcpy(e->k, key, len);
    }
    pthread_mutex_unlock(&l->mu);
}

int cpt_txn_begin(struct cpt_log *l, int32_t day)
{
    return l && atomic_load_explicit(&l->day, memory_order_acquire) == day;
}

void cpt_txn_done(struct cpt_log *l, int32_t day, int logging)
{
    if (!l || logging || atomic_load_explicit(&l->day, memory_order_acquire) != day)
        return;
    pthread_mutex_lock(&l->mu); /* notes began during this commit: some keys are missing */
    l->broken = true;
    pthread_mutex_unlock(&l->mu);
}

struct cpt {
    struct store *st;
    struct store_part *src;
    MDB_env *dst;
    MDB_txn *wt;                  /* the copy's one write transaction */
    MDB_dbi ddbi[DDB_N];
    struct trk_scr scr;
    ZSTD_CCtx *zc;
    uint8_t *enc, *tmp;
    size_t cap;
    uint64_t map;
    uint8_t last[512];            /* the last source key copied, to resume after a chunk */
    size_t last_len;
    int have_last;
    uint64_t recs_in, recs_out;
};

/* Positions <cur> on the first source record after the last one copied. trk resumes at
 * the next slot (a slot's records are copied together), the others at the next key. */
static int cpt_seek(struct cpt *c, int db, MDB_cursor *cur, MDB_val *k, MDB_val *v)
{
    if (!c->have_last)
        return mdb_cursor_get(cur, k, v, MDB_FIRST);
    uint8_t nk[TRK_KEY_LEN];
    if (db == DDB_TRK) {
        uint32_t vid;
        uint8_t slot;
        uint16_t seq;
        if (trk_key_parse(c->last, c->last_len, &vid, &slot, &seq))
            return MDB_CORRUPTED;
        if (slot + 1 < STORE_SLOTS) {
            trk_key(nk, vid, (uint8_t)(slot + 1));
        } else {
            if (vid == UINT32_MAX)
                return MDB_NOTFOUND;
            trk_key(nk, vid + 1, 0);
        }
        k->mv_size = TRK_KEY_LEN;
        k->mv_data = nk;
        return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    }
    k->mv_size = c->last_len;
    k->mv_data = c->last;
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == 0 && k->mv_size == c->last_len && memcmp(k->mv_data, c->last, c->last_len) == 0)
        rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
    return rc;
}

static void cpt_remember(struct cpt *c, const MDB_val *k)
{
    ASSERT(k->mv_size <= sizeof c->last);
    memcpy(c->last, k->mv_data, k->mv_size);
    c->last_len = k->mv_size;
    c->have_last = 1;
}

/* Copies up to CHUNK_RECS records of database <db>; *done = 1 when it reached the end. */
static int cpt_chunk(struct cpt *c, int db, int *done)
{
    MDB_txn *rt, *wt = c->wt;
    MDB_cursor *rc_ = NULL, *wc = NULL;
    int rc = part_rtxn(c->src, &rt);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(rt, c->src->dbi[db], &rc_)) ||
        (rc = mdb_cursor_open(wt, c->ddbi[db], &wc)))
        goto out;
    MDB_val k, v;
    uint8_t kb[512];
    rc = cpt_seek(c, db, rc_, &k, &v);
    *done = 0;
    for (unsigned n = 0; n < CHUNK_RECS; n++) {
        if (rc == MDB_NOTFOUND) {
            *done = 1;
            rc = 0;
            break;
        }
        if (rc)
            goto out;
        if (k.mv_size > sizeof kb) {
            rc = MDB_CORRUPTED;
            goto out;
        }
        memcpy(kb, k.mv_data, k.mv_size);
        MDB_val ok = {k.mv_size, kb}, ov = v;
        int end = 0;
        if (db == DDB_TRK) {
            /* One slot: base and tails merged, written back as one base segment. */
            uint32_t vid;
            uint8_t slot;
            uint16_t seq;
            if (trk_key_parse(kb, k.mv_size, &vid, &slot, &seq)) {
                rc = MDB_CORRUPTED;
                goto out;
            }
            uint16_t seq_max;
            long pts = trk_gather(rc_, &k, &v, &c->scr, &seq_max, &end);
            if (pts < 0) {
                LOG(LOG_ERR, "store", "compact day %d: vehicle %u slot %u: %s",
                    c->src->day, vid, slot, err_str((int)pts));
                rc = (int)pts;
                goto out;
            }
            long len = seg_encode(c->scr.acc, (size_t)pts, c->enc, c->cap, c->zc, c->tmp,
                                  c->cap);
            if (len < 0) {
                rc = (int)len;
                goto out;
            }
            trk_key(kb, vid, slot);
            ok.mv_size = TRK_KEY_LEN;
            ov.mv_size = (size_t)len;
            ov.mv_data = c->enc;
            if (pts == 0) /* an empty slot (every point a duplicate): nothing to keep */
                ok.mv_size = 0;
        } else if (db == DDB_INFO && k.mv_size == 6 && memcmp(kb, "format", 6) == 0) {
            static const uint8_t fv[4] = {0, 0, 0, STORE_FORMAT_VERSION};
            ov.mv_size = 4;
            ov.mv_data = (void *)fv;
        }
        if (ok.mv_size && (rc = mdb_cursor_put(wc, &ok, &ov, db == DDB_INFO ? 0 : MDB_APPEND)))
            goto out;
        cpt_remember(c, db == DDB_TRK ? &(MDB_val){TRK_KEY_LEN, kb} : &ok);
        if (db == DDB_TRK) {
            /* trk_gather left the cursor on the next slot's first record (or the end). */
            rc = end ? MDB_NOTFOUND : 0;
        } else {
            rc = mdb_cursor_get(rc_, &k, &v, MDB_NEXT);
        }
    }
    if (rc == MDB_NOTFOUND) {
        *done = 1;
        rc = 0;
    }
out:
    if (rc_) /* a read txn's cursor is not freed with its txn */
        mdb_cursor_close(rc_);
    if (wc)
        mdb_cursor_close(wc);
    part_rtxn_end(c->src, rt);
    return rc; /* LMDB codes as they are, for the caller's MAP_FULL test */
}

/* Copies every database into c->dst in one write transaction (nobody else uses the new
 * file: there is no reason to commit in between, and each commit would leave the pages
 * it copied on the free list), with the "compacted" mark; the reads are chunked. On
 * MDB_MAP_FULL the copy starts again on a map twice the size. Returns 0, an LMDB code
 * or a negative code. */
static int cpt_copy(struct cpt *c, uint64_t txn0)
{
    int rc = 0;
    for (int attempt = 0; attempt < 6; attempt++) {
        if ((rc = mdb_txn_begin(c->dst, NULL, 0, &c->wt)))
            return rc;
        for (int i = 0; i < DDB_N && !rc; i++)
            rc = mdb_dbi_open(c->wt, cdb_names[i], MDB_CREATE, &c->ddbi[i]);
        for (int db = 0; db < DDB_N && !rc; db++) {
            c->have_last = 0;
            for (int done = 0; !done && !rc;) {
                if (atomic_load(&c->st->stop))
                    rc = -ECANCELED;
                else
                    rc = cpt_chunk(c, db, &done);
            }
        }
        if (!rc) {
            uint8_t val[16];
            struct wr w;
            wr_init(&w, val, sizeof val);
            wr_u64(&w, txn0);                       /* source transaction copied */
            wr_u64(&w, (uint64_t)store_now(c->st)); /* when */
            MDB_val k = {sizeof INFO_COMPACTED - 1, (void *)INFO_COMPACTED}, v = {16, val};
            rc = mdb_put(c->wt, c->ddbi[DDB_INFO], &k, &v, 0);
        }
        if (rc)
            mdb_txn_abort(c->wt);
        else
            rc = mdb_txn_commit(c->wt);
        c->wt = NULL;
        if (rc != MDB_MAP_FULL)
            break;
        c->map *= 2; /* no transaction is active on dst here */
        if ((rc = mdb_env_set_mapsize(c->dst, c->map)))
            break;
        rc = MDB_MAP_FULL;
    }
    return rc;
}

static int cpt_marked(struct store_part *p, int *marked, uint64_t *txn0)
{
    MDB_txn *t;
    int rc = part_rtxn(p, &t);
    if (rc)
        return rc;
    MDB_val k = {sizeof INFO_COMPACTED - 1, (void *)INFO_COMPACTED}, v;
    rc = mdb_get(t, p->dbi[DDB_INFO], &k, &v);
    *marked = rc == 0;
    *txn0 = mdb_txn_id(t);
    part_rtxn_end(p, t);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

/* Records of every database of <env> (<dbi>) as of a new read transaction. */
static uint64_t env_records(MDB_env *env, const MDB_dbi *dbi)
{
    MDB_txn *t;
    MDB_stat ms;
    uint64_t n = 0;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &t))
        return 0;
    for (int i = 0; i < DDB_N; i++)
        if (mdb_stat(t, dbi[i], &ms) == 0)
            n += ms.ms_entries;
    mdb_txn_abort(t);
    return n;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

/* Copies the current records of every key the writer noted into c->dst (the swap holds
 * the day: nothing writes it meanwhile). trk keys are slots: gathered and re-encoded. */
static int cpt_replay(struct cpt *c)
{
    struct cpt_log *l = c->st->clog;
    MDB_txn *rt, *wt;
    int rc = part_rtxn(c->src, &rt);
    if (rc)
        return rc;
    if ((rc = mdb_txn_begin(c->dst, NULL, 0, &wt))) {
        part_rtxn_end(c->src, rt);
        return rc;
    }
    MDB_cursor *cur = NULL;
    rc = mdb_cursor_open(rt, c->src->dbi[DDB_TRK], &cur);
    for (unsigned i = 0; i < l->n && !rc; i++) {
        const struct cpt_key *e = &l->k[i];
        MDB_val k = {e->len, (void *)e->k}, v;
        if (e->db == DDB_TRK) {
            uint32_t vid;
            uint8_t slot;
            uint16_t seq;
            if (trk_key_parse(e->k, e->len, &vid, &slot, &seq)) {
                rc = MDB_CORRUPTED;
                break;
            }
            uint16_t seq_max;
            long pts = trk_slot_load(cur, vid, slot, &c->scr, &seq_max);
            if (pts < 0) {
                rc = (int)pts;
                break;
            }
            MDB_val ok = {TRK_KEY_LEN, (void *)e->k};
            if (pts == 0) {
                rc = mdb_del(wt, c->ddbi[DDB_TRK], &ok, NULL);
                rc = rc == MDB_NOTFOUND ? 0 : rc;
                continue;
            }
            long len = seg_encode(c->scr.acc, (size_t)pts, c->enc, c->cap, c->zc, c->tmp,
                                  c->cap);
            if (len < 0) {
                rc = (int)len;
                break;
            }
            MDB_val ov = {(size_t)len, c->enc};
            rc = mdb_put(wt, c->ddbi[DDB_TRK], &ok, &ov, 0);
            continue;
        }
        rc = mdb_get(rt, c->src->dbi[e->db], &k, &v);
        if (rc == MDB_NOTFOUND) {
            rc = mdb_del(wt, c->ddbi[e->db], &k, NULL);
            rc = rc == MDB_NOTFOUND ? 0 : rc;
        } else if (rc == 0) {
            rc = mdb_put(wt, c->ddbi[e->db], &k, &v, 0);
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    part_rtxn_end(c->src, rt);
    if (rc) {
        mdb_txn_abort(wt);
        return rc;
    }
    return mdb_txn_commit(wt);
}

/* Replaces the day's file by c->dst's <tmp> (renamed to generation <gen>), after replaying
 * what the writer changed since <txn0>. Called holding one reference to c->src, which it
 * gives up; closes c->dst. */
static int cpt_swap(struct cpt *c, uint64_t txn0, const char *tmp, unsigned gen)
{
    struct store *st = c->st;
    struct store_part *p = c->src;
    char fin[4096];
    int rc = part_path_gen(st->dir, p->day, gen, fin, sizeof fin);
    int32_t day = p->day;
    pthread_mutex_lock(&st->mu);
    p->doomed = true;                 /* no new holders; wait for the others to leave */
    while (p->refs > 1)
        pthread_cond_wait(&st->cv, &st->mu);
    pthread_mutex_unlock(&st->mu);    /* doomed with our reference only: the day is ours */
    MDB_envinfo info;
    mdb_env_info(p->env, &info);
    if (!rc && info.me_last_txnid != txn0) {
        pthread_mutex_lock(&st->clog->mu);
        bool broken = st->clog->broken;
        pthread_mutex_unlock(&st->clog->mu);
        rc = broken ? -EAGAIN : cpt_replay(c);
        rc = store_err(rc);
    }
    atomic_store(&st->clog->day, INT32_MIN);
    if (!rc)
        rc = store_mdb_err(mdb_env_sync(c->dst, 1));
    mdb_env_close(c->dst);
    c->dst = NULL;
    pthread_mutex_lock(&st->mu);
    if (rc) {
        p->doomed = false;
        p->refs--;
    } else {
        part_close_slot(p);
        rc = rename(tmp, fin) ? -errno : 0;
        if (!rc)
            rc = fsync_dir(st->dir);
        if (!rc)
            part_unlink_day(st->dir, day, (long)gen);
    }
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static int compact_locked(struct store *st, int32_t day, int force,
                          struct store_compact_info *out)
{
    struct store_part *p;
    int rc = part_get(st, day, 0, &p);
    if (rc)
        return rc;
    int marked;
    uint64_t txn0;
    char src[4096], tmp[4200], lock[4300];
    struct stat sb;
    if ((rc = cpt_marked(p, &marked, &txn0)) || (marked && !force)) {
        part_put(st, p);
        return rc ? rc : 1;
    }
    long gen = part_gen(st->dir, day);
    if (gen >= 0 && gen < 999999) {
        part_path_gen(st->dir, day, (unsigned)gen + 1, src, sizeof src);
        snprintf(tmp, sizeof tmp, "%s.tmp", src);
        snprintf(lock, sizeof lock, "%s-lock", tmp);
        part_path(st, day, src, sizeof src);
    }
    if (gen < 0 || gen >= 999999 || stat(src, &sb) != 0) {
        part_put(st, p);
        return gen < 0 ? (int)gen : gen >= 999999 ? RW_E_LIMIT : -errno;
    }
    unlink(tmp);
    unlink(lock);

    /* Notes first, then the snapshot, so every commit after the snapshot is noted. Notes
     * start while no transaction on the day is in flight (the writer holds the day for
     * each transaction): no commit straddles the start (cpt_txn_done would see one). */
    pthread_mutex_lock(&st->clog->mu);
    st->clog->n = 0;
    st->clog->broken = false;
    pthread_mutex_unlock(&st->clog->mu);
    pthread_mutex_lock(&st->mu);
    p->doomed = true;
    while (p->refs > 1)
        pthread_cond_wait(&st->cv, &st->mu);
    atomic_store(&st->clog->day, day);
    p->doomed = false;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if ((rc = cpt_marked(p, &marked, &txn0))) {
        atomic_store(&st->clog->day, INT32_MIN);
        part_put(st, p);
        return rc;
    }

    struct cpt c = {.st = st, .src = p};
    c.cap = seg_bound(STORE_SEG_MAX);
    c.enc = mem_alloc(c.cap);
    c.tmp = mem_alloc(c.cap);
    c.zc = ZSTD_createCCtx();
    c.map = (uint64_t)sb.st_size + (uint64_t)sb.st_size / 4 + (8u << 20);
    rc = trk_scr_init(&c.scr, c.cap);
    if (!rc && (!c.enc || !c.tmp || !c.zc))
        rc = -ENOMEM;
    if (!rc)
        rc = store_env_open(&c.dst, tmp, DDB_N + 1, c.map, 0);
    if (!rc)
        rc = cpt_copy(&c, txn0);
    rc = store_err(rc);
    if (!rc) {
        MDB_txn *rt;
        if (part_rtxn(p, &rt) == 0) {
            MDB_stat ms;
            for (int i = 0; i < DDB_N; i++)
                if (mdb_stat(rt, p->dbi[i], &ms) == 0)
                    c.recs_in += ms.ms_entries;
            part_rtxn_end(p, rt);
        }
        c.recs_out = env_records(c.dst, c.ddbi);
    }
    if (!rc) {
        rc = cpt_swap(&c, txn0, tmp, (unsigned)gen + 1); /* gives up our reference */
    } else {
        atomic_store(&st->clog->day, INT32_MIN);
        if (c.dst)
            mdb_env_close(c.dst);
        part_put(st, p);
    }
    unlink(lock);
    trk_scr_fini(&c.scr);
    ZSTD_freeCCtx(c.zc);
    MEM_FREE(c.enc);
    MEM_FREE(c.tmp);
    if (rc) {
        unlink(tmp);
        if (rc != -EAGAIN && rc != -ECANCELED)
            LOG(LOG_ERR, "store", "compact day %d: %s", day, err_str(rc));
        return rc;
    }
    struct stat nb;
    part_path(st, day, src, sizeof src);
    out->bytes_before = (uint64_t)sb.st_size;
    out->bytes_after = stat(src, &nb) == 0 ? (uint64_t)nb.st_size : 0;
    out->records_before = c.recs_in;
    out->records_after = c.recs_out;
    return 0;
}

int store_compact_day(struct store *st, int32_t day, int force, struct store_compact_info *out)
{
    if (!st->open || st->rdonly || !st->clog)
        return RW_E_STATE;
    struct store_compact_info ci;
    pthread_mutex_lock(&st->clog->run);
    int rc = compact_locked(st, day, force, &ci);
    pthread_mutex_unlock(&st->clog->run);
    if (rc == 0) {
        STATS_ADD(st, days_compacted, 1);
        LOG(LOG_INFO, "store", "compacted day %d: %llu -> %llu bytes, %llu -> %llu records",
            day, (unsigned long long)ci.bytes_before, (unsigned long long)ci.bytes_after,
            (unsigned long long)ci.records_before, (unsigned long long)ci.records_after);
        if (out)
            *out = ci;
    }
    return rc;
}

long store_compact_next(struct store *st)
{
    if (!st->cfg.compact_after_days)
        return 0;
    int32_t days[1024];
    long n = part_list_days(st->dir, days, 1024);
    if (n < 0)
        return n;
    int32_t last = store_day_of(store_now(st)) - 1 - (int32_t)st->cfg.compact_after_days;
    for (long i = 0; i < n && i < 1024 && days[i] <= last; i++) {
        if (days[i] < store_oldest_day(st))
            continue; /* retention's */
        int rc = store_compact_day(st, days[i], 0, NULL);
        if (rc == 0)
            return 1;
        if (rc != 1 && rc != -ENOENT)
            return rc; /* -EAGAIN (late data meanwhile), stop, error: at the next check */
    }
    return 0;
}
