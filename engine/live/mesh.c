/* mesh.c: the vehicle-ownership mesh (see mesh.h). */
#include "engine/live/mesh.h"

#include <ck_ring.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/assert.h"
#include "engine/base/mem.h"

CK_RING_PROTOTYPE(mesh, mesh_msg)

struct mesh_ring {
    struct ck_ring ring;
    struct mesh_msg *buf;
    /* producer side: changes that found the ring full, sent first at the next flush */
    struct mesh_msg *over;
    uint32_t over_head, over_n;
} __attribute__((aligned(64)));

struct mesh_prod {
    struct mesh_counts n;
    uint64_t woke;               /* bit o: sent to owner o since the last flush */
} __attribute__((aligned(64)));

struct mesh_owner {
    int wake_fd;
    uint32_t asleep;             /* set by the owner around its wait (seq_cst) */
    uint32_t next;               /* producer its drain starts with (fair rotation) */
} __attribute__((aligned(64)));

struct mesh {
    unsigned owners, producers, depth;
    struct mesh_ring *rings;     /* [p * owners + o] */
    struct mesh_prod *prod;
    struct mesh_owner *own;
};

static struct mesh_ring *ring_of(const struct mesh *m, unsigned p, unsigned o)
{
    return &m->rings[(size_t)p * m->owners + o];
}

/* Zeroed, cache-line aligned arrays (the per-ring and per-thread structs are aligned so
 * that producers and owners do not share lines). */
static void *mesh_zalloc(size_t n, size_t size)
{
    void *p = mem_alloc_aligned(64, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

int mesh_create(unsigned owners, unsigned producers, unsigned depth, struct mesh **out)
{
    *out = NULL;
    if (owners == 0 || owners > 64 || producers < owners || producers > 128 || depth < 64)
        return -EINVAL;
    unsigned d = 64;
    while (d < depth)
        d <<= 1;
    struct mesh *m = mem_calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->owners = owners;
    m->producers = producers;
    m->depth = d;
    m->rings = mesh_zalloc((size_t)owners * producers, sizeof *m->rings);
    m->prod = mesh_zalloc(producers, sizeof *m->prod);
    m->own = mesh_zalloc(owners, sizeof *m->own);
    int rc = m->rings && m->prod && m->own ? 0 : -ENOMEM;
    for (unsigned o = 0; m->own && o < owners; o++)
        m->own[o].wake_fd = -1;
    for (size_t i = 0; rc == 0 && i < (size_t)owners * producers; i++) {
        struct mesh_ring *r = &m->rings[i];
        r->buf = mem_calloc(d, sizeof *r->buf);
        r->over = mem_calloc(d, sizeof *r->over);
        if (!r->buf || !r->over)
            rc = -ENOMEM;
        else
            ck_ring_init(&r->ring, d);
    }
    for (unsigned o = 0; rc == 0 && o < owners; o++) {
        m->own[o].wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (m->own[o].wake_fd < 0)
            rc = -errno;
    }
    if (rc) {
        mesh_destroy(m);
        return rc;
    }
    *out = m;
    return 0;
}

void mesh_destroy(struct mesh *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->rings && i < (size_t)m->owners * m->producers; i++) {
        mem_free(m->rings[i].buf);
        mem_free(m->rings[i].over);
    }
    for (unsigned o = 0; m->own && o < m->owners; o++)
        if (m->own[o].wake_fd >= 0)
            close(m->own[o].wake_fd);
    mem_free(m->rings);
    mem_free(m->prod);
    mem_free(m->own);
    mem_free(m);
}

unsigned mesh_owner(const struct mesh *m, uint32_t vehicle_id)
{
    return mesh_owner_of(m->owners, vehicle_id);
}

/* ─── producer side ─── */

unsigned mesh_room(const struct mesh *m, unsigned p, unsigned o)
{
    const struct mesh_ring *r = ring_of(m, p, o);
    if (r->over_n)
        return 0;
    /* ck keeps one place empty to tell full from empty */
    return m->depth - 1 - ck_ring_size(&r->ring);
}

static bool ring_put(struct mesh_ring *r, const struct mesh_msg *msg)
{
    return ck_ring_enqueue_spsc_mesh(&r->ring, r->buf, (struct mesh_msg *)msg);
}

int mesh_send(struct mesh *m, unsigned p, unsigned o, const struct mesh_msg *msg)
{
    ASSERT_HOT(p < m->producers && o < m->owners);
    struct mesh_ring *r = ring_of(m, p, o);
    struct mesh_prod *pr = &m->prod[p];
    pr->woke |= 1ull << o;
    if (r->over_n == 0 && ring_put(r, msg)) {
        pr->n.sent++;
        return 0;
    }
    if (r->over_n == m->depth) {
        pr->n.dropped++;
        return -ENOBUFS;
    }
    r->over[(r->over_head + r->over_n++) & (m->depth - 1)] = *msg;
    pr->n.sent++;
    return 0;
}

void mesh_flush(struct mesh *m, unsigned p)
{
    struct mesh_prod *pr = &m->prod[p];
    uint64_t woke = pr->woke;
    pr->woke = 0;
    for (unsigned o = 0; o < m->owners; o++) {
        struct mesh_ring *r = ring_of(m, p, o);
        while (r->over_n && ring_put(r, &r->over[r->over_head])) {
            r->over_head = (r->over_head + 1) & (m->depth - 1);
            r->over_n--;
        }
        if (r->over_n)
            pr->woke |= 1ull << o; /* the rest goes at the next flush */
    }
    if (!woke)
        return;
    for (unsigned o = 0; o < m->owners; o++) {
        if (!(woke >> o & 1) || o == p)
            continue;
        /* The owner's mark is read with a read-modify-write, as the owner sets it with one
         * (mesh_sleep): the two are ordered on the mark itself. If ours comes later we see
         * the owner asleep and wake it; if earlier, the owner's exchange synchronises with
         * it and its look at the rings sees the enqueues above. */
        if (__atomic_fetch_or(&m->own[o].asleep, 0, __ATOMIC_ACQ_REL)) {
            uint64_t one = 1;
            ssize_t n = write(m->own[o].wake_fd, &one, sizeof one);
            (void)n; /* EAGAIN: the counter is already non-zero, the owner will wake */
        }
    }
}

struct mesh_counts *mesh_counts(struct mesh *m, unsigned p)
{
    return &m->prod[p].n;
}

/* ─── owner side ─── */

int mesh_wake_fd(const struct mesh *m, unsigned o)
{
    return m->own[o].wake_fd;
}

static bool mesh_queued(const struct mesh *m, unsigned o)
{
    for (unsigned p = 0; p < m->producers; p++)
        if (ck_ring_size(&ring_of(m, p, o)->ring))
            return true;
    return false;
}

int mesh_sleep(struct mesh *m, unsigned o)
{
    (void)__atomic_exchange_n(&m->own[o].asleep, 1, __ATOMIC_ACQ_REL);
    return mesh_queued(m, o);
}

void mesh_awake(struct mesh *m, unsigned o)
{
    __atomic_store_n(&m->own[o].asleep, 0, __ATOMIC_RELAXED);
}

unsigned mesh_drain(struct mesh *m, unsigned o, struct live *lv, unsigned budget)
{
    struct mesh_owner *ow = &m->own[o];
    unsigned done = 0;
    /* Round robin from a rotating start, a share of the budget per producer per pass, so
     * one busy producer does not starve the others. */
    unsigned share = budget / m->producers + 1;
    bool more = true;
    while (more && done < budget) {
        more = false;
        for (unsigned k = 0; k < m->producers && done < budget; k++) {
            unsigned p = (ow->next + k) % m->producers;
            struct mesh_ring *r = ring_of(m, p, o);
            struct mesh_msg msg;
            unsigned n = 0;
            while (n < share && done < budget && ck_ring_dequeue_spsc_mesh(&r->ring, r->buf, &msg)) {
                mesh_apply(lv, &msg);
                n++;
                done++;
            }
            more |= n == share;
        }
    }
    ow->next = (ow->next + 1) % m->producers;
    m->prod[o].n.applied += done;
    return done;
}

/* ─── applying ─── */

static void slot_claim(struct live_slot *s, const struct mesh_msg *msg, uint8_t kind)
{
    s->vehicle_id = msg->pos.vehicle_id;
    s->conn_id = msg->conn_id;
    s->conn_kind = kind;
    s->conn_since_ns = msg->since_ns;
    s->connected = 1;
    memcpy(s->plate, msg->plate, sizeof s->plate);
    s->plate_color = msg->plate_color;
}

void mesh_apply(struct live *lv, const struct mesh_msg *msg)
{
    struct live_slot *s = live_slot_write_begin(lv, msg->pos.vehicle_id);
    if (!s)
        return;
    switch (msg->kind) {
    case MESH_CONNECT:
        /* The newest authentication holds the vehicle, whatever order the workers'
         * changes arrive in; a JT/T 809 feed yields to a terminal's own connection. */
        if (!s->connected || s->conn_kind != LIVE_CONN_808 || msg->since_ns >= s->conn_since_ns)
            slot_claim(s, msg, LIVE_CONN_808);
        s->recv_time = msg->recv_time;
        break;
    case MESH_DISCONNECT:
        if (s->conn_kind == LIVE_CONN_808 && s->conn_id == msg->conn_id)
            s->connected = 0;
        break;
    case MESH_POS:
        s->recv_time = msg->recv_time;
        live_slot_apply_pos(s, &msg->pos);
        break;
    case MESH_POS_809:
        if (!s->connected || s->conn_kind != LIVE_CONN_808)
            slot_claim(s, msg, LIVE_CONN_809);
        s->recv_time = msg->recv_time;
        live_slot_apply_pos(s, &msg->pos);
        break;
    default:
        break;
    }
    live_slot_write_end(s);
}
