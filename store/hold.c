/* hold.c: each vehicle's open track slot held in memory, made durable by a per-day journal
 * (store/README.md §3b).
 *
 * A commit no longer writes a tail record for every vehicle it touches (one 4 KiB leaf
 * page per vehicle per commit). The new points of a vehicle's newest slot go into one
 * time-first journal record per (day, slot) of the commit, and into the vehicle's hold
 * once the commit is durable. A hold is written out (as one tail record, track.c) when
 * the vehicle moves on to a later slot, when a sweep finds its slot closed (the store's
 * clock is two slots past it), when it outgrows HOLD_PTS_MAX, when the held points
 * outgrow their budget (every hold: a checkpoint) and at stop. The journal of a closed
 * slot is deleted in the transaction that writes out its last holds.
 *
 * Recovery: at open the journals of the newest days are read back into the holds. Only
 * the newest slot of each vehicle is held: its points of an earlier slot were written out
 * in the transaction that journaled its first point of a later slot (or, across midnight,
 * in the earlier day's transaction, which commits first). Points journaled twice (a retried
 * commit, a hold written out and then refilled in the same slot) are copies, dropped when
 * read and merged (track.c).
 *
 * Threads: the writer makes every change under the table's write lock and reads it
 * without the lock (no other thread writes it); readers copy under the read lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "engine/base/wire.h"
#include "store/store_int.h"

struct hold {
    uint32_t vid;                 /* 0: empty bucket */
    int32_t day;
    uint8_t slot;
    bool wo;                      /* written out by the commit of <epoch> */
    uint32_t n, cap;
    struct store_pos *pts;        /* arrival order (each commit's group in time order) */
    uint64_t epoch;               /* the commit that planned pend_g and wo */
    int64_t pend_g;               /* the vehicle's newest (day, slot) in that commit */
};

struct hold_tab {
    pthread_rwlock_t rw;
    struct hold *h;
    size_t cap, used;             /* buckets (power of two) and buckets in use */
    uint64_t bytes, budget;       /* memory of the held points, and its limit */
    uint64_t epoch, jseq;
    int64_t swept_g;              /* the clock slot of the last sweep */
    bool force_ckpt;              /* the journal slot list overflowed: write everything */
    int64_t jg[HOLD_JG_MAX];      /* (day, slot)s whose journal has records */
    unsigned njg;
};

#define HOLD_CAP0 1024

static size_t hpos(const struct hold_tab *t, uint32_t vid)
{
    return (size_t)((vid * 0x9E3779B97F4A7C15ull) >> 32) & (t->cap - 1);
}

static struct hold *hfind(const struct hold_tab *t, uint32_t vid)
{
    for (size_t i = hpos(t, vid);; i = (i + 1) & (t->cap - 1)) {
        if (t->h[i].vid == vid)
            return &t->h[i];
        if (t->h[i].vid == 0)
            return NULL;
    }
}

static int hgrow(struct hold_tab *t)
{
    struct hold *old = t->h;
    size_t oc = t->cap;
    struct hold *nh = mem_calloc(oc * 2, sizeof *nh);
    if (!nh)
        return -ENOMEM;
    t->h = nh;
    t->cap = oc * 2;
    for (size_t i = 0; i < oc; i++) {
        if (!old[i].vid)
            continue;
        size_t j = hpos(t, old[i].vid);
        while (t->h[j].vid)
            j = (j + 1) & (t->cap - 1);
        t->h[j] = old[i];
    }
    mem_free(old);
    return 0;
}

/* Under the write lock. */
static struct hold *hupsert(struct hold_tab *t, uint32_t vid)
{
    struct hold *e = hfind(t, vid);
    if (e)
        return e;
    if ((t->used + 1) * 10 > t->cap * 7 && hgrow(t))
        return NULL;
    size_t i = hpos(t, vid);
    while (t->h[i].vid)
        i = (i + 1) & (t->cap - 1);
    t->h[i] = (struct hold){.vid = vid, .pend_g = INT64_MIN};
    t->used++;
    return &t->h[i];
}

/* Under the write lock: frees the entry, closing the gap (backward shift). */
static void hremove(struct hold_tab *t, struct hold *e)
{
    t->bytes -= (uint64_t)e->cap * sizeof *e->pts;
    mem_free(e->pts);
    size_t i = (size_t)(e - t->h), mask = t->cap - 1;
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (!t->h[j].vid)
            break;
        size_t k = hpos(t, t->h[j].vid);
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue; /* already between its home and j: stays */
        t->h[i] = t->h[j];
        i = j;
    }
    memset(&t->h[i], 0, sizeof t->h[i]);
    t->used--;
}

/* Under the write lock: room for <n> points in all. */
static int hreserve(struct hold_tab *t, struct hold *e, uint32_t n)
{
    if (n <= e->cap)
        return 0;
    uint32_t c = e->cap ? e->cap : 16;
    while (c < n)
        c *= 2;
    struct store_pos *np = mem_alloc((size_t)c * sizeof *np);
    if (!np)
        return -ENOMEM;
    if (e->n)
        memcpy(np, e->pts, (size_t)e->n * sizeof *np);
    mem_free(e->pts);
    t->bytes += (uint64_t)(c - e->cap) * sizeof *np;
    e->pts = np;
    e->cap = c;
    return 0;
}

int hold_init(struct store *st, uint64_t budget_bytes)
{
    struct hold_tab *t = mem_calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->h = mem_calloc(HOLD_CAP0, sizeof *t->h);
    if (!t->h) {
        mem_free(t);
        return -ENOMEM;
    }
    t->cap = HOLD_CAP0;
    t->budget = budget_bytes;
    t->swept_g = INT64_MIN;
    pthread_rwlock_init(&t->rw, NULL);
    st->holds = t;
    return 0;
}

void hold_fini(struct store *st)
{
    struct hold_tab *t = st->holds;
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        mem_free(t->h[i].pts);
    mem_free(t->h);
    pthread_rwlock_destroy(&t->rw);
    MEM_FREE(st->holds);
}

static int pos_qcmp(const void *a, const void *b)
{
    return pos_cmp_time(a, b);
}

static void pts_sort(struct store_pos *p, size_t n)
{
    size_t i = 1;
    while (i < n && pos_cmp_time(&p[i - 1], &p[i]) <= 0)
        i++;
    if (i < n) /* most holds arrive in order */
        qsort(p, n, sizeof *p, pos_qcmp);
}

long hold_copy(struct store *st, uint32_t vid, int32_t day, struct store_pos *out, size_t cap)
{
    struct hold_tab *t = st->holds;
    if (!t)
        return -1;
    pthread_rwlock_rdlock(&t->rw);
    const struct hold *e = hfind(t, vid);
    size_t n = 0;
    if (e && e->n && e->day == day) {
        n = e->n < cap ? e->n : cap;
        memcpy(out, e->pts, n * sizeof *out);
    }
    pthread_rwlock_unlock(&t->rw);
    pts_sort(out, n);
    return (long)n;
}

/* ─── the writer's side ─── */

static size_t group_end(const struct wctx *w, size_t i)
{
    const struct wref *r = &w->refs[i];
    size_t j = i + 1;
    while (j < w->nref && w->refs[j].day == r->day && w->refs[j].vid == r->vid &&
           w->refs[j].slot == r->slot)
        j++;
    return j;
}

static int wo_add(struct wctx *w, struct hold_tab *t, struct hold *e)
{
    if (e->epoch != t->epoch) {
        e->epoch = t->epoch;
        e->pend_g = INT64_MIN;
        e->wo = false;
    }
    if (e->wo)
        return 0;
    void *a = w->wo;
    if (mem_reserve(&a, &w->wo_cap, w->nwo + 1, sizeof *w->wo, w->nwo, 1024))
        return -ENOMEM;
    w->wo = a;
    w->wo[w->nwo++] = (struct hwo){e->day, e->vid};
    e->wo = true;
    return 0;
}

static int hwo_cmp(const void *a, const void *b)
{
    const struct hwo *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->vid < y->vid ? -1 : x->vid > y->vid;
}

int hold_plan(struct store *st, struct wctx *w, unsigned *nd)
{
    struct hold_tab *t = st->holds;
    w->nwo = 0;
    w->ntrim = 0;
    w->sweep_g = INT64_MIN;
    w->ckpt = false;
    for (size_t i = 0; i < w->nref; i++)
        w->refs[i].held = 0;
    if (!t)
        return 0;
    int64_t now = store_now(st);
    int64_t now_g = hold_g(store_day_of(now), trk_slot_of(now));
    bool ckpt = atomic_load(&st->stop) || t->bytes > t->budget || t->force_ckpt;
    t->epoch++;
    int rc = 0;
    pthread_rwlock_wrlock(&t->rw);
    /* The newest group of each vehicle in this commit. */
    for (size_t i = 0; i < w->nref && !rc;) {
        size_t j = group_end(w, i);
        const struct wref *r = &w->refs[i];
        struct hold *e = hupsert(t, r->vid);
        int64_t g = hold_g(r->day, r->slot);
        if (!e) {
            rc = -ENOMEM;
        } else if (e->epoch != t->epoch) {
            e->epoch = t->epoch;
            e->pend_g = g;
            e->wo = false;
        } else if (g > e->pend_g) {
            e->pend_g = g;
        }
        i = j;
    }
    /* Which groups are held; which holds give way to them. */
    for (size_t i = 0; i < w->nref && !rc;) {
        size_t j = group_end(w, i);
        const struct wref *r = &w->refs[i];
        struct hold *e = hfind(t, r->vid);
        int64_t g = hold_g(r->day, r->slot);
        int64_t eg = e->n ? hold_g(e->day, e->slot) : INT64_MIN;
        uint32_t gn = (uint32_t)(j - i);
        bool held = !ckpt && g == e->pend_g && g >= now_g - 1 && g >= eg && gn <= HOLD_PTS_MAX;
        if (held && e->n && (eg != g || e->n + gn > HOLD_PTS_MAX))
            rc = wo_add(w, t, e);
        /* Room now, so that moving the points in after the commit cannot fail. */
        if (held && !rc && hreserve(t, e, (e->wo ? 0 : e->n) + gn))
            held = false;
        for (size_t k = i; k < j; k++)
            w->refs[k].held = held;
        i = j;
    }
    /* A sweep, once per clock slot: holds of closed slots out, their journals trimmed. */
    if (!rc && (ckpt || now_g > t->swept_g)) {
        w->sweep_g = now_g;
        w->ckpt = ckpt;
        for (size_t i = 0; i < t->cap && !rc; i++) {
            struct hold *e = &t->h[i];
            if (e->vid && e->n && (ckpt || hold_g(e->day, e->slot) < now_g - 1))
                rc = wo_add(w, t, e);
        }
        for (unsigned k = 0; k < t->njg && !rc; k++) {
            int64_t g = t->jg[k];
            if (ckpt || g < now_g - 1) {
                int32_t day = (int32_t)(g >= 0 ? g / STORE_SLOTS : (g - STORE_SLOTS + 1) / STORE_SLOTS);
                w->trim[w->ntrim++] = (struct jtrim){day, (uint8_t)(g - (int64_t)day * STORE_SLOTS)};
            }
        }
    }
    pthread_rwlock_unlock(&t->rw);
    if (rc)
        return rc;
    if (w->nwo > 1)
        qsort(w->wo, w->nwo, sizeof *w->wo, hwo_cmp);
    for (size_t i = 0; i < w->nwo; i++)
        days_add(w, nd, w->wo[i].day);
    for (unsigned k = 0; k < w->ntrim; k++)
        days_add(w, nd, w->trim[k].day);
    return 0;
}

static void jkey(uint8_t k[JRN_KEY_LEN], uint8_t slot, uint32_t boot, uint64_t seq)
{
    struct wr r;
    wr_init(&r, k, JRN_KEY_LEN);
    wr_u8(&r, slot);
    wr_u32(&r, boot);
    wr_u64(&r, seq);
}

static int jbuf_room(struct wctx *w, size_t need)
{
    void *a = w->jbuf;
    int rc = mem_reserve(&a, &w->jbuf_cap, need, 1, 0, 1u << 16);
    w->jbuf = a;
    return rc;
}

/* The day's held groups of journal slot <slot> as one record. */
static int jrn_put(struct store *st, struct wctx *w, struct store_part *p, MDB_txn *txn,
                   uint8_t slot)
{
    size_t need = 0;
    for (size_t i = 0; i < w->nref;) {
        size_t j = group_end(w, i);
        const struct wref *r = &w->refs[i];
        if (r->day == p->day && r->slot == slot && r->held)
            need += JRN_ENTRY_HDR + seg_bound(j - i);
        i = j;
    }
    int rc = jbuf_room(w, need);
    if (rc || !need)
        return rc;
    struct wr o;
    wr_init(&o, w->jbuf, w->jbuf_cap);
    for (size_t i = 0; i < w->nref;) {
        size_t j = group_end(w, i);
        const struct wref *r = &w->refs[i];
        if (r->day == p->day && r->slot == slot && r->held) {
            size_t n = j - i;
            for (size_t k = 0; k < n; k++)
                w->merged[k] = w->pend[w->refs[i + k].bi]->pos[w->refs[i + k].pi];
            long sl = seg_encode_plain(w->merged, n, w->enc, w->enc_cap);
            if (sl < 0)
                return (int)sl;
            jrn_entry_put(&o, r->vid, w->enc, (size_t)sl);
        }
        i = j;
    }
    if (o.err)
        return o.err;
    uint8_t k[JRN_KEY_LEN];
    jkey(k, slot, st->boot, ++st->holds->jseq);
    MDB_val key = {JRN_KEY_LEN, k}, val = {wr_len(&o), w->jbuf};
    rc = mdb_put(txn, p->dbi[DDB_JRN], &key, &val, 0);
    if (!rc)
        cpt_note(w->clog, p->day, DDB_JRN, k, JRN_KEY_LEN);
    return store_mdb_err(rc);
}

static int jrn_trim(struct wctx *w, struct store_part *p, MDB_txn *txn, uint8_t slot)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, p->dbi[DDB_JRN], &cur);
    if (rc)
        return store_mdb_err(rc);
    for (;;) {
        uint8_t k0 = slot;
        MDB_val key = {1, &k0}, val;
        if ((rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE)))
            break;
        if (key.mv_size < 1 || ((uint8_t *)key.mv_data)[0] != slot)
            break;
        if (key.mv_size <= sizeof ((struct cpt_key *)0)->k)
            cpt_note(w->clog, p->day, DDB_JRN, key.mv_data, key.mv_size);
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

int hold_day(struct store *st, struct wctx *w, struct store_part *p, MDB_txn *txn)
{
    struct hold_tab *t = st->holds;
    if (!t)
        return 0;
    int rc = 0;
    /* Write-outs, in vehicle order (w->wo is sorted by day, vid). */
    if (w->nwo) {
        MDB_cursor *cur;
        if ((rc = store_mdb_err(mdb_cursor_open(txn, p->dbi[DDB_TRK], &cur))))
            return rc;
        for (size_t i = 0; i < w->nwo && !rc; i++) {
            if (w->wo[i].day != p->day)
                continue;
            const struct hold *e = hfind(t, w->wo[i].vid);
            if (!e || !e->n)
                continue;
            size_t m = e->n < STORE_SEG_MAX ? e->n : STORE_SEG_MAX;
            memcpy(w->inc, e->pts, m * sizeof *w->inc);
            pts_sort(w->inc, m);
            rc = track_slot_write(w, p, txn, cur, e->vid, e->slot, &m);
        }
        mdb_cursor_close(cur);
    }
    /* Trims before this commit's records, which may reopen a trimmed slot. */
    for (unsigned k = 0; k < w->ntrim && !rc; k++)
        if (w->trim[k].day == p->day)
            rc = jrn_trim(w, p, txn, w->trim[k].slot);
    uint8_t seen[STORE_SLOTS] = {0};
    for (size_t i = 0; i < w->nref && !rc; i++) {
        const struct wref *r = &w->refs[i];
        if (r->day == p->day && r->held && !seen[r->slot]) {
            seen[r->slot] = 1;
            rc = jrn_put(st, w, p, txn, r->slot);
        }
    }
    return rc;
}

static void jg_add(struct hold_tab *t, int64_t g)
{
    for (unsigned k = 0; k < t->njg; k++)
        if (t->jg[k] == g)
            return;
    if (t->njg == HOLD_JG_MAX)
        t->force_ckpt = true; /* the next commit writes every hold and trims every journal */
    else
        t->jg[t->njg++] = g;
}

static void jg_del(struct hold_tab *t, int64_t g)
{
    for (unsigned k = 0; k < t->njg; k++)
        if (t->jg[k] == g) {
            t->jg[k] = t->jg[--t->njg];
            return;
        }
}

void hold_apply(struct store *st, struct wctx *w)
{
    struct hold_tab *t = st->holds;
    if (!t)
        return;
    pthread_rwlock_wrlock(&t->rw);
    for (size_t i = 0; i < w->nwo; i++) {
        struct hold *e = hfind(t, w->wo[i].vid);
        if (e)
            e->n = 0;
    }
    for (size_t i = 0; i < w->nref;) {
        size_t j = group_end(w, i);
        const struct wref *r = &w->refs[i];
        if (r->held) {
            struct hold *e = hfind(t, r->vid);
            ASSERT(e && e->n + (j - i) <= e->cap);
            if (!e->n) {
                e->day = r->day;
                e->slot = r->slot;
            }
            for (size_t k = i; k < j; k++)
                e->pts[e->n++] = w->pend[w->refs[k].bi]->pos[w->refs[k].pi];
            jg_add(t, hold_g(r->day, r->slot));
        }
        i = j;
    }
    for (unsigned k = 0; k < w->ntrim; k++)
        jg_del(t, hold_g(w->trim[k].day, w->trim[k].slot));
    if (w->ckpt)
        t->force_ckpt = false;
    /* Entries left empty: the vehicles written out and not held again, and those this
     * commit planned but did not hold. */
    for (size_t i = 0; i < w->nwo; i++) {
        struct hold *e = hfind(t, w->wo[i].vid);
        if (e && !e->n)
            hremove(t, e);
    }
    for (size_t i = 0; i < w->nref; i = group_end(w, i)) {
        struct hold *e = hfind(t, w->refs[i].vid);
        if (e && !e->n)
            hremove(t, e);
    }
    if (w->sweep_g != INT64_MIN)
        t->swept_g = w->sweep_g;
    pthread_rwlock_unlock(&t->rw);
}

int hold_due(struct store *st, int stop)
{
    struct hold_tab *t = st->holds;
    if (!t || (t->used == 0 && t->njg == 0))
        return 0;
    if (stop || t->force_ckpt || t->bytes > t->budget)
        return 1;
    int64_t now = store_now(st);
    return hold_g(store_day_of(now), trk_slot_of(now)) > t->swept_g;
}

/* ─── the journal: parsing, recovery, reads without holds ─── */

struct jrec {
    struct store *st;
    struct trk_scr *sc;
    int32_t day;
    uint8_t slot;
    uint32_t vid;                 /* jrn_scan: only this vehicle */
    struct store_pos *out;        /* jrn_scan */
    size_t cap, n;
    uint64_t points;
};

static int jrn_recover_entry(uint32_t vid, const uint8_t *seg, size_t len, void *ctx)
{
    struct jrec *j = ctx;
    struct hold_tab *t = j->st->holds;
    long m = seg_decode(seg, len, vid, j->sc->one, STORE_SEG_MAX, j->sc->zd, j->sc->tmp,
                        j->sc->tmp_cap);
    if (m < 0)
        return (int)m;
    struct hold *e = hupsert(t, vid);
    if (!e)
        return -ENOMEM;
    int64_t g = hold_g(j->day, j->slot);
    int64_t eg = e->n ? hold_g(e->day, e->slot) : INT64_MIN;
    if (eg > g)
        return 0; /* written out when the vehicle's later slot was journaled */
    if (eg < g) {
        e->n = 0;
        e->day = j->day;
        e->slot = j->slot;
    }
    /* A hold refilled within its slot may exceed HOLD_PTS_MAX here; a slot keeps
     * STORE_SEG_MAX points at most (more are dropped when it is merged). */
    uint32_t room = STORE_SEG_MAX - e->n;
    uint32_t take = (uint32_t)m < room ? (uint32_t)m : room;
    if (hreserve(t, e, e->n + take))
        return -ENOMEM;
    memcpy(e->pts + e->n, j->sc->one, (size_t)take * sizeof *e->pts);
    e->n += take;
    j->points += take;
    jg_add(t, g);
    return 0;
}

static long hold_recover_day(struct store *st, struct trk_scr *sc, int32_t day)
{
    struct store_part *p;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    struct jrec j = {.st = st, .sc = sc, .day = day};
    int rc = part_read(st, day, &p, &txn);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    rc = mdb_cursor_open(txn, p->dbi[DDB_JRN], &cur);
    MDB_val key, val;
    int op = MDB_FIRST;
    while (!rc && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        const uint8_t *kb = key.mv_data;
        if (key.mv_size != JRN_KEY_LEN || kb[0] >= STORE_SLOTS) {
            LOG(LOG_ERR, "store", "day %d: journal key of %zu bytes skipped", day, key.mv_size);
            continue;
        }
        j.slot = kb[0];
        rc = jrn_walk(val.mv_data, val.mv_size, jrn_recover_entry, &j);
        if (rc && rc != -ENOMEM) {
            LOG(LOG_ERR, "store", "day %d: bad journal record skipped: %s", day, err_str(rc));
            rc = 0;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    part_read_end(st, p, txn);
    rc = rc == MDB_NOTFOUND ? 0 : store_err(rc);
    return rc ? rc : (long)j.points;
}

int hold_recover(struct store *st)
{
    struct hold_tab *t = st->holds;
    if (!t)
        return 0;
    int32_t days[1024];
    long n = part_list_days(st->dir, days, 1024);
    if (n < 0)
        return (int)n;
    n = n < 1024 ? n : 1024;
    struct trk_scr sc;
    int rc = trk_scr_init(&sc, seg_bound(STORE_SEG_MAX));
    long total = 0;
    /* Holds live for the two newest clock slots: only the newest days have journals.
     * Oldest first, so that a vehicle's newest slot wins. */
    long first = n > 3 ? n - 3 : 0;
    pthread_rwlock_wrlock(&t->rw);
    for (long i = first; i < n && !rc; i++) {
        long r = hold_recover_day(st, &sc, days[i]);
        if (r < 0) {
            LOG(LOG_ERR, "store", "day %d: journal recovery: %s", days[i], err_str((int)r));
            rc = (int)r;
        } else {
            total += r;
        }
    }
    t->swept_g = INT64_MIN;
    pthread_rwlock_unlock(&t->rw);
    trk_scr_fini(&sc);
    uint64_t nv, np;
    store_held(st, &nv, &np);
    if (total)
        LOG(LOG_NOTICE, "store", "%s: journal read back: %ld points, %llu held again (%llu vehicles)",
            st->dir, total, (unsigned long long)np, (unsigned long long)nv);
    return rc;
}

static int jrn_scan_entry(uint32_t vid, const uint8_t *seg, size_t len, void *ctx)
{
    struct jrec *j = ctx;
    if (vid != j->vid || j->n >= j->cap)
        return 0;
    long m = seg_decode(seg, len, vid, j->out + j->n, j->cap - j->n, j->sc->zd, j->sc->tmp,
                        j->sc->tmp_cap);
    if (m < 0)
        return (int)m;
    j->n += (size_t)m;
    return 0;
}

long jrn_scan(struct store_part *p, MDB_txn *txn, uint32_t vid, uint8_t s0, uint8_t s1,
              struct store_pos *out, size_t cap, struct trk_scr *sc)
{
    if (p->absent & (1u << DDB_JRN))
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, p->dbi[DDB_JRN], &cur);
    if (rc)
        return store_mdb_err(rc);
    struct jrec j = {.sc = sc, .vid = vid, .out = out, .cap = cap};
    uint8_t k0 = s0;
    MDB_val key = {1, &k0}, val;
    int op = MDB_SET_RANGE;
    while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        if (key.mv_size != JRN_KEY_LEN || ((uint8_t *)key.mv_data)[0] > s1)
            break;
        if ((rc = jrn_walk(val.mv_data, val.mv_size, jrn_scan_entry, &j)))
            break;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc < 0 ? rc : store_mdb_err(rc);
    pts_sort(out, j.n);
    return (long)j.n;
}

/* ─── introspection ─── */

int store_slot_of(int64_t t)
{
    return trk_slot_of(t);
}

void store_held(const struct store *st, uint64_t *vehicles, uint64_t *points)
{
    struct hold_tab *t = st->holds;
    *vehicles = *points = 0;
    if (!t)
        return;
    pthread_rwlock_rdlock(&t->rw);
    for (size_t i = 0; i < t->cap; i++)
        if (t->h[i].vid && t->h[i].n) {
            (*vehicles)++;
            *points += t->h[i].n;
        }
    pthread_rwlock_unlock(&t->rw);
}

long store_journal_records(struct store *st, int32_t day, int slot)
{
    if (!st->open)
        return RW_E_STATE;
    if (slot < -1 || slot >= STORE_SLOTS)
        return RW_E_FIELD;
    struct store_part *p;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = part_read(st, day, &p, &txn);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    long n = 0;
    if (!(p->absent & (1u << DDB_JRN)) &&
        (rc = mdb_cursor_open(txn, p->dbi[DDB_JRN], &cur)) == 0) {
        uint8_t k0 = slot < 0 ? 0 : (uint8_t)slot;
        MDB_val key = {1, &k0}, val;
        int op = MDB_SET_RANGE;
        while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
            op = MDB_NEXT;
            if (slot >= 0 && (key.mv_size < 1 || ((uint8_t *)key.mv_data)[0] != slot))
                break;
            n++;
        }
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        mdb_cursor_close(cur);
    }
    part_read_end(st, p, txn);
    return rc ? store_err(rc) : n;
}
