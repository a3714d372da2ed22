/* regsvc.c: the registration service thread (see regsvc.h). */
#include "engine/regsvc.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/mem.h"

/* A single-producer single-consumer ring of fixed-size elements. head is written only by
 * the consumer, tail only by the producer; each is published with release and read with
 * acquire, and the element is copied before the index moves. */
struct spsc {
    uint32_t head __attribute__((aligned(64)));
    uint32_t tail __attribute__((aligned(64)));
    uint32_t mask;
    size_t esize;
    uint8_t *data;
};

static int spsc_init(struct spsc *r, uint32_t depth, size_t esize)
{
    uint32_t n = 1;
    while (n < depth)
        n <<= 1;
    r->head = r->tail = 0;
    r->mask = n - 1;
    r->esize = esize;
    r->data = mem_calloc(n, esize);
    return r->data ? 0 : -ENOMEM;
}

static int spsc_push(struct spsc *r, const void *e)
{
    uint32_t t = r->tail;
    if (t - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) > r->mask)
        return -EAGAIN;
    memcpy(r->data + (size_t)(t & r->mask) * r->esize, e, r->esize);
    __atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
    return 0;
}

static int spsc_pop(struct spsc *r, void *e)
{
    uint32_t h = r->head;
    if (h == __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE))
        return 0;
    memcpy(e, r->data + (size_t)(h & r->mask) * r->esize, r->esize);
    __atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
    return 1;
}

struct regsvc {
    struct registry *reg;
    unsigned workers;
    int stop;
    struct spsc *req;           /* per worker: worker -> service */
    struct spsc *rsp;           /* per worker: service -> worker */
    uint32_t *pending;          /* per worker: submitted - answered (worker's view) */
    uint64_t dropped;
    /* Waking the service: a worker bumps <bell> after a push and wakes the futex only while
     * <asleep> is set; the service reads <bell>, sets <asleep>, looks at the rings once
     * more and sleeps only if <bell> has not moved (all sequentially consistent, so a push
     * is never missed). */
    uint32_t bell, asleep;
};

static void regsvc_ring_bell(struct regsvc *s)
{
    __atomic_fetch_add(&s->bell, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->asleep, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, &s->bell, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int regsvc_create(struct registry *reg, unsigned workers, unsigned depth,
                  struct regsvc **out)
{
    *out = NULL;
    struct regsvc *s = mem_calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->reg = reg;
    s->workers = workers;
    s->req = mem_calloc(workers, sizeof *s->req);
    s->rsp = mem_calloc(workers, sizeof *s->rsp);
    s->pending = mem_calloc(workers, sizeof *s->pending);
    int rc = s->req && s->rsp && s->pending ? 0 : -ENOMEM;
    for (unsigned w = 0; rc == 0 && w < workers; w++) {
        rc = spsc_init(&s->req[w], depth, sizeof(struct reg_req));
        if (rc == 0)
            rc = spsc_init(&s->rsp[w], depth, sizeof(struct reg_rsp));
    }
    if (rc) {
        regsvc_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void regsvc_destroy(struct regsvc *s)
{
    if (!s)
        return;
    for (unsigned w = 0; w < s->workers; w++) {
        if (s->req)
            mem_free(s->req[w].data);
        if (s->rsp)
            mem_free(s->rsp[w].data);
    }
    mem_free(s->req);
    mem_free(s->rsp);
    mem_free(s->pending);
    mem_free(s);
}

void regsvc_stop(struct regsvc *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    regsvc_ring_bell(s);
}

static void copy_field(uint8_t *dst, uint8_t *len, size_t cap, struct rw_bytes b)
{
    size_t n = b.len < cap ? b.len : cap;
    if (n)
        memcpy(dst, b.p, n);
    *len = (uint8_t)n;
}

void regsvc_req_fill(struct reg_req *q, const struct jt808_msg *m, uint32_t conn,
                     uint16_t gen)
{
    memset(q, 0, sizeof *q);
    q->conn = conn;
    q->gen = gen;
    q->h = m->h;
    const struct jt808_register *g = &m->u.reg;
    q->reg_edition = g->edition;
    q->province = g->province;
    q->city = g->city;
    q->plate_color = g->plate_color;
    copy_field(q->plate, &q->plate_len, sizeof q->plate, g->plate);
    copy_field(q->maker, &q->maker_len, sizeof q->maker, g->maker);
    copy_field(q->model, &q->model_len, sizeof q->model, g->model);
    copy_field(q->term_id, &q->term_len, sizeof q->term_id, g->term_id);
}

int regsvc_submit(struct regsvc *s, unsigned w, const struct reg_req *q)
{
    ASSERT_HOT(w < s->workers);
    if (spsc_push(&s->req[w], q) != 0) {
        __atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
        return -EAGAIN;
    }
    s->pending[w]++;
    regsvc_ring_bell(s);
    return 0;
}

unsigned regsvc_poll(struct regsvc *s, unsigned w, struct reg_rsp *out, unsigned max)
{
    unsigned n = 0;
    while (n < max && spsc_pop(&s->rsp[w], &out[n]))
        n++;
    s->pending[w] -= n < s->pending[w] ? n : s->pending[w];
    return n;
}

unsigned regsvc_pending(const struct regsvc *s, unsigned w)
{
    return s->pending[w];
}

/* Hands an answer back to its worker's ring (dropped if it stays full: the terminal
 * registers again). */
static void regsvc_answer(struct regsvc *s, unsigned w, const struct reg_rsp *r)
{
    for (int tries = 0; spsc_push(&s->rsp[w], r) != 0; tries++) {
        if (tries > 1000) {
            __atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
            return;
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

/* Runs what the workers submitted, up to REGISTRY_BATCH_MAX requests in one durable
 * transaction: a storm of first registrations costs one fsync per batch. */
static unsigned regsvc_batch(struct regsvc *s)
{
    static __thread struct reg_req q[REGISTRY_BATCH_MAX];
    static __thread struct jt808_register g[REGISTRY_BATCH_MAX];
    static __thread struct registry_req rq[REGISTRY_BATCH_MAX];
    static __thread unsigned from[REGISTRY_BATCH_MAX];
    unsigned n = 0;
    for (int more = 1; more && n < REGISTRY_BATCH_MAX;) { /* round robin over workers */
        more = 0;
        for (unsigned w = 0; w < s->workers && n < REGISTRY_BATCH_MAX; w++)
            if (spsc_pop(&s->req[w], &q[n])) {
                from[n++] = w;
                more = 1;
            }
    }
    for (unsigned i = 0; i < n; i++) {
        g[i] = (struct jt808_register){
            .edition = q[i].reg_edition,
            .province = q[i].province,
            .city = q[i].city,
            .maker = rw_bytes_of(q[i].maker, q[i].maker_len),
            .model = rw_bytes_of(q[i].model, q[i].model_len),
            .term_id = rw_bytes_of(q[i].term_id, q[i].term_len),
            .plate_color = q[i].plate_color,
            .plate = rw_bytes_of(q[i].plate, q[i].plate_len),
        };
        rq[i] = (struct registry_req){&q[i].h, &g[i], 0, ""};
    }
    if (n)
        registry_register_many(s->reg, rq, n);
    for (unsigned i = 0; i < n; i++) {
        struct reg_rsp r;
        memset(&r, 0, sizeof r);
        r.conn = q[i].conn;
        r.gen = q[i].gen;
        r.h = q[i].h;
        r.result = rq[i].result;
        memcpy(r.code, rq[i].code, sizeof r.code);
        regsvc_answer(s, from[i], &r);
    }
    return n;
}

/* Whether any worker's request ring holds something (service side). */
static bool regsvc_queued(struct regsvc *s)
{
    for (unsigned w = 0; w < s->workers; w++)
        if (__atomic_load_n(&s->req[w].tail, __ATOMIC_SEQ_CST) != s->req[w].head)
            return true;
    return false;
}

void *regsvc_main(void *arg)
{
    struct regsvc *s = arg;
    pthread_setname_np(pthread_self(), "rw-register");
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        if (regsvc_batch(s))
            continue;
        /* Idle: sleep until a worker rings (or 1 s, a safety net). */
        uint32_t bell = __atomic_load_n(&s->bell, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s->asleep, 1, __ATOMIC_SEQ_CST);
        if (!regsvc_queued(s) && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
            struct timespec ts = {1, 0};
            syscall(SYS_futex, &s->bell, FUTEX_WAIT_PRIVATE, bell, &ts, NULL, 0);
        }
        __atomic_store_n(&s->asleep, 0, __ATOMIC_SEQ_CST);
    }
    return NULL;
}
