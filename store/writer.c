/* writer.c: the batch pools, the SPSC rings and the writer thread (group commit).
 *
 * Shard s owns sub[s] (producer) and done[s] (consumer); the writer the other ends. A
 * batch changes hands only through a ring, so its contents need no lock: ck's enqueue is a
 * release and its dequeue an acquire. TSan does not see ck's inline-asm fences, so the
 * hand-offs are also annotated for it (STORE_TSAN_*), and tests/tsan.supp silences the
 * ring slots themselves. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <zstd.h>

#include "engine/base/hist.h"
#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "store/store_int.h"

#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define STORE_TSAN_RELEASE(p) __tsan_release(p)
#define STORE_TSAN_ACQUIRE(p) __tsan_acquire(p)
#else
#define STORE_TSAN_RELEASE(p) ((void)(p))
#define STORE_TSAN_ACQUIRE(p) ((void)(p))
#endif

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static unsigned pow2_above(unsigned n)
{
    unsigned p = 2;
    while (p <= n)
        p <<= 1;
    return p;
}

/* ─── batches and rings (shard side) ─── */

static int batches_alloc(struct store *st)
{
    const struct store_config *c = &st->cfg;
    size_t per = (size_t)c->batch_pos * sizeof(struct store_pos) +
                 (size_t)c->batch_raw * sizeof(struct store_raw) + c->batch_arena;
    size_t nb = (size_t)c->shards * c->pool_batches;
    st->batches = mem_calloc(nb, sizeof *st->batches);
    st->batch_mem = mem_calloc(nb, per);
    if (!st->batches || !st->batch_mem)
        return -ENOMEM;
    for (size_t i = 0; i < nb; i++) {
        struct store_batch *b = &st->batches[i];
        uint8_t *m = (uint8_t *)st->batch_mem + i * per;
        b->st = st;
        b->shard = (unsigned)(i / c->pool_batches);
        b->slot = (unsigned)(i % c->pool_batches);
        b->pos_cap = c->batch_pos;
        b->raw_cap = c->batch_raw;
        b->arena_cap = c->batch_arena;
        b->pos = (struct store_pos *)m;
        b->raw = (struct store_raw *)(m + (size_t)c->batch_pos * sizeof(struct store_pos));
        b->arena = m + (size_t)c->batch_pos * sizeof(struct store_pos) +
                   (size_t)c->batch_raw * sizeof(struct store_raw);
    }
    return 0;
}

static int shards_alloc(struct store *st)
{
    const struct store_config *c = &st->cfg;
    unsigned rs = pow2_above(c->pool_batches);
    st->shards = mem_alloc_aligned(STORE_CACHE_LINE, c->shards * sizeof *st->shards);
    if (!st->shards)
        return -ENOMEM;
    memset(st->shards, 0, c->shards * sizeof *st->shards);
    for (unsigned s = 0; s < c->shards; s++) {
        struct store_shard *sh = &st->shards[s];
        sh->sub_buf = mem_calloc(rs, sizeof(ck_ring_buffer_t));
        sh->done_buf = mem_calloc(rs, sizeof(ck_ring_buffer_t));
        sh->free_stack = mem_calloc(c->pool_batches, sizeof *sh->free_stack);
        if (!sh->sub_buf || !sh->done_buf || !sh->free_stack)
            return -ENOMEM;
        ck_ring_init(&sh->sub, rs);
        ck_ring_init(&sh->done, rs);
        for (unsigned i = 0; i < c->pool_batches; i++)
            sh->free_stack[i] = &st->batches[(size_t)s * c->pool_batches +
                                             (c->pool_batches - 1 - i)];
        sh->n_free = c->pool_batches;
        atomic_init(&sh->committed_seq, 0);
    }
    return 0;
}

int store_batch_get(struct store *st, unsigned shard, struct store_batch **out)
{
    ASSERT_HOT(shard < st->cfg.shards);
    struct store_shard *sh = &st->shards[shard];
    if (sh->n_free == 0)
        return -EAGAIN;
    struct store_batch *b = sh->free_stack[--sh->n_free];
    ASSERT_HOT(b->npos == 0 && b->nraw == 0);
    *out = b;
    return 0;
}

int store_batch_add_pos(struct store_batch *b, const struct store_pos *p)
{
    if (b->npos == b->pos_cap)
        return -ENOSPC;
    if (b->npos + b->nraw == 0)
        b->open_ns = now_ns();
    b->pos[b->npos++] = *p;
    return 0;
}

int store_batch_add_raw(struct store_batch *b, const struct store_raw *r)
{
    if (r->peer_len > 16 || r->frame.len > STORE_RAW_FRAME_MAX)
        return RW_E_FIELD;
    if (b->nraw == b->raw_cap || b->arena_cap - b->arena_len < r->frame.len)
        return r->frame.len > b->arena_cap ? RW_E_TOOLONG : -ENOSPC;
    if (b->npos + b->nraw == 0)
        b->open_ns = now_ns();
    struct store_raw *d = &b->raw[b->nraw++];
    *d = *r;
    if (r->frame.len)
        memcpy(b->arena + b->arena_len, r->frame.p, r->frame.len);
    d->frame.p = b->arena + b->arena_len;
    b->arena_len += r->frame.len;
    return 0;
}

unsigned store_batch_count(const struct store_batch *b)
{
    return b->npos + b->nraw;
}

int store_batch_submit(struct store *st, struct store_batch *b)
{
    struct store_shard *sh = &st->shards[b->shard];
    b->seq = ++sh->next_seq;
    b->status = 0;
    STORE_TSAN_RELEASE(b);
    if (!ck_ring_enqueue_spsc(&sh->sub, sh->sub_buf, b)) {
        sh->next_seq--;
        return -EAGAIN;
    }
    return 0;
}

unsigned store_shard_queued(const struct store *st, unsigned shard)
{
    return ck_ring_size(&st->shards[shard].sub);
}

unsigned store_batch_reap(struct store *st, unsigned shard, struct store_batch **done,
                          unsigned max)
{
    struct store_shard *sh = &st->shards[shard];
    unsigned n = 0;
    while (n < max && ck_ring_dequeue_spsc(&sh->done, sh->done_buf, &done[n])) {
        STORE_TSAN_ACQUIRE(done[n]);
        n++;
    }
    return n;
}

int store_batch_status(const struct store_batch *b)
{
    return b->status;
}

uint64_t store_batch_seq(const struct store_batch *b)
{
    return b->seq;
}

uint64_t store_batch_done_ns(const struct store_batch *b)
{
    return b->done_ns;
}

unsigned store_batch_slot(const struct store_batch *b)
{
    return b->slot;
}

void store_batch_release(struct store *st, struct store_batch *b)
{
    struct store_shard *sh = &st->shards[b->shard];
    ASSERT(sh->n_free < st->cfg.pool_batches);
    b->npos = b->nraw = 0;
    b->arena_len = 0;
    sh->free_stack[sh->n_free++] = b;
}

uint64_t store_committed_seq(const struct store *st, unsigned shard)
{
    return atomic_load_explicit(&st->shards[shard].committed_seq, memory_order_acquire);
}

/* ─── writer scratch ─── */

int writer_init(struct store *st)
{
    int rc;
    if ((rc = batches_alloc(st)) || (rc = shards_alloc(st)))
        return rc;
    struct wctx *w = mem_calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    st->wctx = w;
    const struct store_config *c = &st->cfg;
    w->pend_cap = c->shards * c->pool_batches;
    w->ref_cap = (size_t)w->pend_cap * c->batch_pos;
    w->pend = mem_calloc(w->pend_cap, sizeof *w->pend);
    w->refs = mem_calloc(w->ref_cap, sizeof *w->refs);
    w->days = mem_calloc(c->retention_days + 8, sizeof *w->days);
    w->merged = mem_calloc(STORE_SEG_MAX, sizeof *w->merged);
    w->inc = mem_calloc(c->batch_pos > STORE_SEG_MAX ? c->batch_pos : STORE_SEG_MAX,
                        sizeof *w->inc);
    w->rawp = mem_calloc(c->batch_raw, sizeof *w->rawp);
    size_t rawb = ZSTD_compressBound(16 + (size_t)c->batch_raw * 48 + c->batch_arena) + 64;
    size_t segb = seg_bound(STORE_SEG_MAX);
    w->enc_cap = w->tmp_cap = rawb > segb ? rawb : segb;
    w->enc = mem_alloc(w->enc_cap);
    w->tmp = mem_alloc(w->tmp_cap);
    w->zc = ZSTD_createCCtx();
    w->zd = ZSTD_createDCtx();
    w->mq = mem_calloc(MQ_CAP, sizeof *w->mq);
    w->clog = st->clog;
    w->trim = mem_calloc(HOLD_JG_MAX, sizeof *w->trim);
    int sc = trk_scr_init(&w->scr, segb);
    if (!sc)
        sc = rix_init(w);
    if (!w->pend || !w->refs || !w->days || !w->merged || !w->inc || !w->rawp || !w->enc ||
        !w->tmp || !w->zc || !w->zd || !w->mq || !w->trim || sc)
        return -ENOMEM;
    return 0;
}

void writer_fini(struct store *st)
{
    struct wctx *w = st->wctx;
    if (w) {
        ZSTD_freeCCtx(w->zc);
        ZSTD_freeDCtx(w->zd);
        mem_free(w->pend);
        mem_free(w->refs);
        mem_free(w->days);
        mem_free(w->mq);
        mem_free(w->wo);
        mem_free(w->trim);
        mem_free(w->jbuf);
        trk_scr_fini(&w->scr);
        rix_fini(w);
        mem_free(w->merged);
        mem_free(w->inc);
        mem_free(w->rawp);
        mem_free(w->enc);
        mem_free(w->tmp);
        MEM_FREE(st->wctx);
    }
    if (st->shards) {
        for (unsigned s = 0; s < st->cfg.shards; s++) {
            mem_free(st->shards[s].sub_buf);
            mem_free(st->shards[s].done_buf);
            mem_free(st->shards[s].free_stack);
        }
        MEM_FREE(st->shards);
    }
    MEM_FREE(st->batches);
    MEM_FREE(st->batch_mem);
}

/* ─── the writer thread ─── */

static unsigned writer_collect(struct store *st, struct wctx *w)
{
    unsigned got = 0;
    for (unsigned s = 0; s < st->cfg.shards; s++) {
        struct store_shard *sh = &st->shards[s];
        struct store_batch *b;
        while (w->npend < w->pend_cap && ck_ring_dequeue_spsc(&sh->sub, sh->sub_buf, &b)) {
            STORE_TSAN_ACQUIRE(b);
            if (w->npend == 0 || b->open_ns < w->pend_oldest_ns)
                w->pend_oldest_ns = b->open_ns;
            w->pend[w->npend++] = b;
            got++;
        }
    }
    return got;
}

/* Hands every pending batch back as committed, in submit order per shard. */
static void writer_done(struct store *st, struct wctx *w)
{
    uint64_t ns = now_ns();
    for (unsigned i = 0; i < w->npend; i++) {
        struct store_batch *b = w->pend[i];
        struct store_shard *sh = &st->shards[b->shard];
        b->status = 0;
        b->done_ns = ns;
        atomic_store_explicit(&sh->committed_seq, b->seq, memory_order_release);
        STORE_TSAN_RELEASE(b);
        bool ok = ck_ring_enqueue_spsc(&sh->done, sh->done_buf, b);
        ASSERT(ok); /* the done ring holds the whole pool */
    }
    w->npend = 0;
}

static void writer_publish(struct store *st, struct wctx *w, uint64_t ns)
{
    struct store_stats *a = &w->acc;
    a->commits = 1;
    a->batches = w->npend;
    pthread_mutex_lock(&st->stats_mu);
    uint64_t *dst = (uint64_t *)&st->stats;
    const uint64_t *src = (const uint64_t *)a;
    for (size_t i = 0; i < offsetof(struct store_stats, commit_ns_max) / 8; i++)
        dst[i] += src[i];
    if (ns > st->stats.commit_ns_max)
        st->stats.commit_ns_max = ns;
    st->stats.commit_ns_sum += ns;
    st->stats.commit_hist[hist_log2_bucket(ns, 64000, 20)]++;
    pthread_mutex_unlock(&st->stats_mu);
}

/* LMDB reports a short write on a full file system as EIO: name the real cause. */
static int writer_cause(const struct store *st, int rc)
{
    struct statvfs sv;
    if (rc == -EIO && statvfs(st->dir, &sv) == 0 &&
        (uint64_t)sv.f_bavail * sv.f_frsize < (1u << 20))
        return -ENOSPC;
    return rc;
}

/* Adds the time since *mark to the writer's account of <act>, about every 10 ms (one
 * lock per flush, not per pass of the loop). */
static void writer_account(struct store *st, struct wctx *w, enum store_wact act,
                           uint64_t *mark)
{
    uint64_t t = now_ns();
    w->wact_ns[act] += t - *mark;
    *mark = t;
    if (t - w->wact_flushed < 10000000ull && !atomic_load_explicit(&st->stop, memory_order_relaxed))
        return;
    w->wact_flushed = t;
    pthread_mutex_lock(&st->stats_mu);
    for (int a = 0; a < STORE_WACT_N; a++)
        st->stats.writer_ns[a] += w->wact_ns[a];
    pthread_mutex_unlock(&st->stats_mu);
    memset(w->wact_ns, 0, sizeof w->wact_ns);
}

static void *writer_main(void *arg)
{
    struct store *st = arg;
    pthread_setname_np(pthread_self(), "rw-store-write");
    struct wctx *w = st->wctx;
    uint64_t window = (uint64_t)st->cfg.commit_interval_ms * 1000000ull;
    unsigned backoff_us = 0, fails_at_stop = 0;
    bool holds_left = false;      /* at stop, writing them failed: the journal keeps them */
    uint64_t mark = now_ns();
    enum store_wact act = STORE_WACT_IDLE; /* what the previous pass of the loop did */
    for (;;) {
        writer_account(st, w, act, &mark);
        act = STORE_WACT_IDLE;
        int stop = atomic_load(&st->stop);
        writer_collect(st, w);
        if (w->npend == 0) {
            if (!holds_left && hold_due(st, stop)) { /* idle: sweep the holds (all at stop) */
                act = STORE_WACT_HOLDS;
                memset(&w->acc, 0, sizeof w->acc);
                int rc = writer_commit(st, w);
                if (rc && stop && ++fails_at_stop >= 3) {
                    LOG(LOG_WARN, "store", "held track points left to the journal: %s",
                        err_str(rc));
                    holds_left = true; /* the next open reads them back */
                } else if (rc) { /* nothing lost (the journal has them): back off as below */
                    backoff_us = backoff_us ? backoff_us * 2 : 10000;
                    backoff_us = backoff_us > 1000000 ? 1000000 : backoff_us;
                    LOG(LOG_ERR, "store", "writing held track points: %s; retry in %u ms",
                        err_str(writer_cause(st, rc)), backoff_us / 1000);
                    sleep_us(backoff_us);
                } else {
                    backoff_us = 0;
                }
                continue;
            }
            if (w->mq_head != w->mq_tail) { /* idle: merge closed slots (also at stop) */
                act = STORE_WACT_MERGE;
                track_merge_idle(st, w);
                continue;
            }
            int32_t d;
            int all;
            /* idle: write the raw index entries held (all of them at stop) */
            if (rix_pending(w, &d, &all) || (stop && rix_held_day(w, &d))) {
                act = STORE_WACT_RAWINDEX;
                int rc = rix_day_txn(st, w, d, all || stop);
                if (rc && stop) { /* the next open indexes those blocks again */
                    LOG(LOG_WARN, "store", "day %d: raw index entries left to the next open: %s",
                        d, err_str(rc));
                    rix_forget(w, d);
                } else if (rc) {
                    sleep_us(10000);
                }
                continue;
            }
            if (stop)
                break;
            sleep_us(200);
            continue;
        }
        uint64_t t = now_ns();
        /* The window runs from the oldest record's arrival, not from when the writer saw
         * its batch: a batch filled while the previous commit ran is due at once. */
        if (!stop && w->npend < st->cfg.max_batches_txn && t > w->pend_oldest_ns &&
            t - w->pend_oldest_ns < window) {
            act = STORE_WACT_GATHER;
            sleep_us(100);
            continue;
        }
        act = STORE_WACT_COMMIT;
        memset(&w->acc, 0, sizeof w->acc);
        int rc = writer_commit(st, w);
        if (rc == 0) {
            writer_publish(st, w, now_ns() - t);
            writer_done(st, w);
            atomic_store_explicit(&st->health, 0, memory_order_release);
            backoff_us = 0;
            continue;
        }
        /* Nothing is acknowledged: keep the batches, report, retry with backoff. */
        rc = writer_cause(st, rc);
        atomic_store_explicit(&st->health, rc, memory_order_release);
        STATS_ADD(st, commit_errors, 1);
        backoff_us = backoff_us ? backoff_us * 2 : 10000;
        backoff_us = backoff_us > 1000000 ? 1000000 : backoff_us;
        LOG(LOG_ERR, "store", "commit failed: %s; %u batches held, retry in %u ms",
            err_str(rc), w->npend, backoff_us / 1000);
        if (stop && ++fails_at_stop >= 3) {
            LOG(LOG_ERR, "store", "closing with %u batches not committed (never acked)",
                w->npend);
            break;
        }
        sleep_us(backoff_us);
    }
    writer_account(st, w, act, &mark); /* stop is set: adds what is left */
    return NULL;
}

int writer_start(struct store *st)
{
    atomic_store(&st->stop, 0);
    int rc = pthread_create(&st->writer, NULL, writer_main, st);
    if (rc)
        return -rc;
    st->writer_started = true;
    return 0;
}

void writer_stop(struct store *st)
{
    if (!st->writer_started)
        return;
    atomic_store(&st->stop, 1);
    pthread_join(st->writer, NULL);
    st->writer_started = false;
}
