/* worker.c: the worker loop — io_uring accept/recv/send, connection lifecycle, store
 * batches and commit-then-ack (see worker.h; ARCHITECTURE §1-§2).
 *
 * Receive path: a multishot accept on the worker's own SO_REUSEPORT socket; per
 * connection one recv at a time with IOSQE_BUFFER_SELECT from the worker's provided
 * buffer ring. Departure from STYLE H3 (multishot recv), on purpose: re-arming after each
 * buffer gives exact backpressure — when the store has no free batch the connection is
 * simply not re-armed, its unprocessed bytes stay parked in their buffer, and TCP flow
 * control slows the terminal, with no queue growing anywhere.
 *
 * Each iteration (H7): reap committed batches and queue their 0x8001 answers, flush every
 * connection with pending output in one send each, hand the open batch to the store,
 * then one submit_and_wait; drain every CQE.
 */

#include "engine/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/hist.h"
#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "engine/net/addr.h"

/* The batched wait (wk_wait): completions asked for, and the longest extra wait. */
#define WK_WAIT_CQES 64u
#define WK_WAIT_MIN_US 200u
#ifndef IORING_FEAT_MIN_TIMEOUT
#define WK_FEAT_MIN_TIMEOUT (1u << 15)
#else
#define WK_FEAT_MIN_TIMEOUT IORING_FEAT_MIN_TIMEOUT
#endif
/* struct io_uring_getevents_arg of Linux 6.12+ (liburing 2.3 names the field "pad"). */
struct wk_getevents_arg {
    uint64_t sigmask;
    uint32_t sigmask_sz;
    uint32_t min_wait_usec;
    uint64_t ts;
};
STATIC_ASSERT(sizeof(struct wk_getevents_arg) == sizeof(struct io_uring_getevents_arg),
              "the kernel's getevents argument");

#define WK_BGID 1
#define WK_REAP_MAX 64
#define WK_CQE_BUDGET 4096   /* CQEs handled per iteration (H6) */
#define WK_MESH_BUDGET 16384u /* mesh changes applied per iteration (H6) */

_Atomic uint32_t worker_conns_total;

static inline uint64_t wk_ud(enum wk_op op, uint32_t ci, uint16_t gen)
{
    return (uint64_t)op << 56 | (uint64_t)gen << 32 | ci;
}

static int64_t wk_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct io_uring_sqe *wk_sqe(struct worker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe) {
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe;
}


static int wk_listen(const char *addr, int type)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (net_addr_parse(addr, &ss, &len) != 0)
        return RW_E_SYNTAX;
    int fd = socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        (type == SOCK_STREAM && listen(fd, 4096) != 0)) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static int wk_init_buffers(struct worker *w)
{
    const struct cfg *c = w->cfg;
    w->n_bufs = 1;
    while (w->n_bufs < (uint32_t)c->recv_buffers)
        w->n_bufs <<= 1; /* the buffer ring size must be a power of two */
    w->buf_size = (uint32_t)c->recv_buffer_size;
    w->bufs = mem_alloc_aligned(4096, (size_t)w->n_bufs * w->buf_size);
    w->br = mem_alloc_aligned(4096, w->n_bufs * sizeof(struct io_uring_buf));
    if (!w->bufs || !w->br)
        return -ENOMEM;
    io_uring_buf_ring_init(w->br);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)w->br,
                                   .ring_entries = w->n_bufs,
                                   .bgid = WK_BGID};
    int rc = io_uring_register_buf_ring(&w->ring, &reg, 0);
    if (rc < 0)
        return rc;
    int mask = io_uring_buf_ring_mask(w->n_bufs);
    for (uint32_t i = 0; i < w->n_bufs; i++)
        io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * w->buf_size, w->buf_size,
                              (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(w->br, (int)w->n_bufs);
    return 0;
}

static void wk_buf_return(struct worker *w, uint16_t bid)
{
    io_uring_buf_ring_add(w->br, w->bufs + (size_t)bid * w->buf_size, w->buf_size, bid,
                          io_uring_buf_ring_mask(w->n_bufs), 0);
    io_uring_buf_ring_advance(w->br, 1);
}

static int wk_init_tables(struct worker *w)
{
    const struct cfg *c = w->cfg;
    unsigned nw = c->workers ? (unsigned)c->workers : 1;
    w->max_conns = (uint32_t)(c->max_connections / nw + 1);
    w->conns = mem_calloc(w->max_conns, sizeof *w->conns);
    w->free_list = mem_calloc(w->max_conns, sizeof *w->free_list);
    w->paused = mem_calloc(w->max_conns, sizeof *w->paused);
    w->resume = mem_calloc(w->max_conns, sizeof *w->resume);
    w->dirty = mem_calloc(w->max_conns, sizeof *w->dirty);
    w->udp_buf = mem_alloc(65536);
    uint32_t nb = (uint32_t)c->batches_per_worker;
    w->batch_records = (uint32_t)c->batch_records;
    w->acks = mem_calloc(nb, sizeof *w->acks);
    w->n_acks = mem_calloc(nb, sizeof *w->n_acks);
    w->batch_t0 = mem_calloc(nb, sizeof *w->batch_t0);
    w->ack_over = mem_calloc(WK_ACK_OVERFLOW, sizeof *w->ack_over);
    if (!w->conns || !w->free_list || !w->paused || !w->dirty || !w->udp_buf || !w->acks ||
        !w->n_acks || !w->batch_t0 || !w->ack_over || !w->resume)
        return -ENOMEM;
    for (uint32_t i = 0; i < nb; i++) {
        w->acks[i] = mem_calloc(w->batch_records, sizeof **w->acks);
        if (!w->acks[i])
            return -ENOMEM;
    }
    for (uint32_t i = 0; i < w->max_conns; i++) {
        w->conns[i].fd = -1;
        w->free_list[w->n_free++] = w->max_conns - 1 - i;
    }
    int rc = worker_udp_init(w);
    if (rc)
        return rc;
    return jt808_reasm_create((unsigned)c->reasm_slots, (unsigned)c->reasm_max_packages,
                              (uint64_t)c->reasm_timeout_s * 1000000000ull, &w->reasm);
}

int worker_init(struct worker *w, unsigned id, const struct cfg *cfg, struct store *st,
                struct registry *reg, struct live *lv)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->store = st;
    w->reg = reg;
    w->live = lv;
    w->met = live_metrics_rw(lv, id);
    w->listen_fd = w->udp_fd = -1;
    /* SINGLE_ISSUER binds the ring to the thread that enables it: created disabled here
     * (buffers registered from the main thread), enabled by the worker thread itself. */
    struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER |
                                         IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
                                .cq_entries = 16384};
    p.flags |= IORING_SETUP_CQSIZE;
    int rc = io_uring_queue_init_params(4096, &w->ring, &p);
    if (rc < 0)
        return rc;
    w->min_wait = (p.features & WK_FEAT_MIN_TIMEOUT) != 0;
    rc = wk_init_buffers(w);
    if (rc == 0)
        rc = wk_init_tables(w);
    if (rc == 0 && cfg->jt808_tcp[0]) {
        w->listen_fd = wk_listen(cfg->jt808_tcp, SOCK_STREAM);
        rc = w->listen_fd < 0 ? w->listen_fd : 0;
    }
    if (rc == 0 && cfg->jt808_udp[0]) {
        w->udp_fd = wk_listen(cfg->jt808_udp, SOCK_DGRAM);
        rc = w->udp_fd < 0 ? w->udp_fd : 0;
    }
    return rc;
}

void worker_destroy(struct worker *w)
{
    if (w->listen_fd >= 0)
        close(w->listen_fd);
    if (w->udp_fd >= 0)
        close(w->udp_fd);
    for (uint32_t i = 0; w->acks && i < (uint32_t)w->cfg->batches_per_worker; i++)
        mem_free(w->acks[i]);
    MEM_FREE(w->acks);
    MEM_FREE(w->n_acks);
    MEM_FREE(w->batch_t0);
    MEM_FREE(w->ack_over);
    MEM_FREE(w->conns);
    MEM_FREE(w->free_list);
    MEM_FREE(w->paused);
    MEM_FREE(w->resume);
    MEM_FREE(w->dirty);
    MEM_FREE(w->udp_buf);
    MEM_FREE(w->udp_hash);
    jt808_reasm_destroy(w->reasm);
    w->reasm = NULL;
    if (w->ring.ring_fd > 0)
        io_uring_queue_exit(&w->ring);
    MEM_FREE(w->bufs);
    MEM_FREE(w->br);
}

/* ---------------------------------------------------------------------------------------
 * Connections
 */

static void wk_arm_accept(struct worker *w)
{
    struct io_uring_sqe *sqe = wk_sqe(w);
    io_uring_prep_multishot_accept(sqe, w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, wk_ud(WK_OP_ACCEPT, 0, 0));
}

static void wk_arm_recv(struct worker *w, struct conn *c, uint32_t ci)
{
    struct io_uring_sqe *sqe = wk_sqe(w);
    io_uring_prep_recv(sqe, c->fd, NULL, w->buf_size, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = WK_BGID;
    io_uring_sqe_set_data64(sqe, wk_ud(WK_OP_RECV, ci, c->gen));
    c->recv_armed = 1;
}

static void wk_close(struct worker *w, struct conn *c, uint32_t ci)
{
    if (c->state == CONN_FREE || c->state == CONN_CLOSING)
        return;
    if (c->parked_bid >= 0) {
        wk_buf_return(w, (uint16_t)c->parked_bid);
        c->parked_bid = -1;
    }
    if (c->vehicle_id) {
        struct mesh_msg m = {.kind = MESH_DISCONNECT,
                             .recv_time = w->now_ms / 1000,
                             .conn_id = (uint64_t)w->id << 48 | (uint64_t)ci << 16 | c->gen,
                             .pos.vehicle_id = c->vehicle_id};
        worker_live(w, &m);
    }
    c->state = CONN_CLOSING;
    w->met->conns_closed++;
    if (c->udp) {
        worker_udp_forget(w, c);
        return; /* the socket is the worker's: nothing to shut down */
    }
    /* Synchronous on purpose: an asynchronous shutdown still queued when the slot is
     * freed would hit whatever connection reuses the descriptor number. The shutdown makes
     * a pending recv complete, after which wk_maybe_free() closes the descriptor. */
    shutdown(c->fd, SHUT_RDWR);
}

/* Frees the slot once nothing is in flight for it any more. */
static void wk_maybe_free(struct worker *w, struct conn *c, uint32_t ci)
{
    if (c->state != CONN_CLOSING || c->recv_armed || c->send_inflight)
        return;
    if (!c->udp)
        close(c->fd);
    c->fd = -1;
    c->state = CONN_FREE;
    c->gen++;
    w->free_list[w->n_free++] = ci;
    w->met->conns_open--;
    atomic_fetch_sub(&worker_conns_total, 1);
}

int worker_conn_take(struct worker *w)
{
    uint32_t total = atomic_fetch_add(&worker_conns_total, 1) + 1;
    if (total > (uint32_t)w->cfg->max_connections || w->n_free == 0) {
        atomic_fetch_sub(&worker_conns_total, 1);
        w->met->conns_refused++;
        return -1;
    }
    uint32_t ci = w->free_list[--w->n_free];
    struct conn *c = &w->conns[ci];
    uint16_t gen = c->gen;
    memset(c, 0, offsetof(struct conn, out));
    c->gen = gen;
    c->fd = -1;
    c->state = CONN_NEW;
    c->parked_bid = -1;
    c->t_open_ms = c->t_last_ms = w->now_ms;
    jt808_framer_init(&c->fr);
    w->met->conns_accepted++;
    w->met->conns_open++;
    return (int)ci;
}

static void wk_on_accept(struct worker *w, int fd)
{
    int k = worker_conn_take(w);
    if (k < 0) {
        close(fd); /* accept-and-close: the peer learns at once, nothing is held */
        return;
    }
    uint32_t ci = (uint32_t)k;
    struct conn *c = &w->conns[ci];
    c->fd = fd;
    socklen_t len = sizeof c->peer;
    getpeername(fd, (struct sockaddr *)&c->peer, &len);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    wk_arm_recv(w, c, ci);
}

/* Makes sure the open store batch has room for the records of one more frame (a 0x0704
 * holds at most 34 positions in 1023 bytes, plus its raw frame). Returns 0 when there is
 * none to be had: every batch of this worker is in flight (backpressure). */
#define WK_FRAME_POS_MAX 35u
#define WK_FRAME_RAW_MAX 4u

int worker_room(struct worker *w)
{
    if (w->cur && w->cur_pos + WK_FRAME_POS_MAX <= w->batch_records &&
        w->cur_raw + WK_FRAME_RAW_MAX <= w->batch_records)
        return 1;
    if (w->cur) {
        if (store_batch_submit(w->store, w->cur) != 0)
            return 0;
        w->batches_inflight++;
        w->cur = NULL;
    }
    if (store_batch_get(w->store, w->id, &w->cur) != 0) {
        w->cur = NULL;
        w->met->backpressure_events++;
        return 0;
    }
    w->cur_pos = w->cur_raw = 0;
    w->n_acks[store_batch_slot(w->cur)] = 0;
    w->batch_t0[store_batch_slot(w->cur)] = w->now_ms;
    return 1;
}

/* The most live-state changes one frame makes (a 0x0704 batch's positions, a connect). */
#define WK_FRAME_MESH_MAX (WK_FRAME_POS_MAX + 2u)

int worker_mesh_room(struct worker *w, const struct conn *c)
{
    unsigned o = mesh_owner(w->mesh, c->vehicle_id);
    if (o == w->id || mesh_room(w->mesh, w->id, o) >= WK_FRAME_MESH_MAX)
        return 1;
    w->met->backpressure_events++;
    return 0;
}

void worker_live(struct worker *w, const struct mesh_msg *msg)
{
    unsigned o = mesh_owner(w->mesh, msg->pos.vehicle_id);
    if (o == w->id)
        mesh_apply(w->live, msg);
    else
        (void)mesh_send(w->mesh, w->id, o, msg); /* a loss is counted (mesh_dropped) */
}

/* Arms a read of the mesh's wake-up eventfd: a producer writes it when this worker sleeps
 * with changes queued for it. */
static void wk_arm_mesh(struct worker *w)
{
    struct io_uring_sqe *sqe = wk_sqe(w);
    io_uring_prep_read(sqe, mesh_wake_fd(w->mesh, w->id), &w->mesh_buf, sizeof w->mesh_buf, 0);
    io_uring_sqe_set_data64(sqe, wk_ud(WK_OP_MESH, 0, 0));
}

/* Feeds received bytes to the framer and handles every frame. Returns the number of
 * bytes consumed: less than <n> when an authenticated connection must wait for a store
 * batch (the check is made before each feed, so the framer never holds a frame that
 * could not be stored). <*fatal> is set when the connection must be closed. */
static size_t wk_feed(struct worker *w, struct conn *c, uint32_t ci, const uint8_t *p,
                      size_t n, int *fatal)
{
    size_t pos = 0;
    *fatal = 0;
    while (pos < n && c->state != CONN_CLOSING) {
        if (c->state == CONN_AUTHED && (!worker_room(w) || !worker_mesh_room(w, c)))
            return pos;
        int st;
        pos += jt808_framer_feed(&c->fr, p + pos, n - pos, &st);
        if (st < 0) {
            w->met->frames_bad++;
            if (++c->bad_frames > w->cfg->bad_frames_max) {
                *fatal = st;
                return pos;
            }
            continue;
        }
        if (st == 0)
            continue;
        w->met->frames_in++;
        int rc = session808_frame(w, c, ci);
        if (rc < 0) {
            *fatal = rc;
            return pos;
        }
    }
    return pos;
}

static void wk_pause(struct worker *w, struct conn *c, uint32_t ci, uint16_t bid,
                     size_t off, size_t len)
{
    c->parked_bid = (int16_t)bid;
    c->parked_off = (uint16_t)off;
    c->parked_len = (uint16_t)len;
    c->paused = 1;
    w->paused[w->n_paused++] = ci;
}

/* Processes <len> bytes of buffer <bid> from offset <off>; parks the rest when the store
 * is full, else returns the buffer and re-arms the receive. */
static void wk_process(struct worker *w, struct conn *c, uint32_t ci, uint16_t bid,
                       size_t off, size_t len)
{
    const uint8_t *p = w->bufs + (size_t)bid * w->buf_size;
    int fatal;
    size_t used = wk_feed(w, c, ci, p + off, len - off, &fatal);
    if (fatal) {
        wk_buf_return(w, bid);
        wk_close(w, c, ci);
        return;
    }
    if (off + used < len && c->state != CONN_CLOSING) {
        wk_pause(w, c, ci, bid, off + used, len);
        return;
    }
    wk_buf_return(w, bid);
    if (c->fr.in_frame && c->fr.len > 0) {
        /* a new partial frame (some frame completed since the mark) restarts the clock */
        if (!c->t_partial_ms || c->fr.st.frames != c->partial_mark) {
            c->t_partial_ms = w->now_ms;
            c->partial_mark = c->fr.st.frames;
        }
    } else {
        c->t_partial_ms = 0;
    }
    if (c->state != CONN_CLOSING)
        wk_arm_recv(w, c, ci);
}

static void wk_on_recv(struct worker *w, struct conn *c, uint32_t ci, int res,
                       unsigned flags)
{
    c->recv_armed = 0;
    if (c->state == CONN_CLOSING) {
        if (flags & IORING_CQE_F_BUFFER)
            wk_buf_return(w, (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT));
        wk_maybe_free(w, c, ci);
        return;
    }
    if (res == -ENOBUFS) {
        /* Every receive buffer is parked or in use: retry on the next iteration. */
        wk_pause(w, c, ci, 0, 0, 0);
        c->parked_bid = -1;
        return;
    }
    if (res <= 0) {
        wk_close(w, c, ci);
        wk_maybe_free(w, c, ci);
        return;
    }
    uint16_t bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);
    c->t_last_ms = w->now_ms;
    w->met->bytes_in += (uint64_t)res;
    wk_process(w, c, ci, bid, 0, (size_t)res);
    wk_maybe_free(w, c, ci);
}

/* Resumes paused connections in the order they paused (first paused, first served). When
 * the store fills up again part way, the connections not reached stay at the front of the
 * list, ahead of the ones that paused again: under sustained overload every connection
 * gets its turn, so a new terminal's registration is not starved by busy ones. */
static void wk_resume(struct worker *w)
{
    uint32_t n = w->n_paused;
    memcpy(w->resume, w->paused, n * sizeof *w->paused);
    w->n_paused = 0;
    uint32_t k = 0;
    while (k < n) {
        uint32_t ci = w->resume[k++];
        struct conn *c = &w->conns[ci];
        c->paused = 0;
        if (c->state == CONN_CLOSING || c->state == CONN_FREE) {
            wk_maybe_free(w, c, ci);
            continue;
        }
        if (c->parked_bid < 0) {
            wk_arm_recv(w, c, ci);
            continue;
        }
        uint16_t bid = (uint16_t)c->parked_bid;
        c->parked_bid = -1;
        wk_process(w, c, ci, bid, c->parked_off, c->parked_len);
        wk_maybe_free(w, c, ci);
        if (c->paused && c->parked_bid >= 0)
            break; /* the store is full again */
    }
    if (k < n) {
        uint32_t m = w->n_paused; /* paused again this round, after the ones not reached */
        memmove(w->paused + (n - k), w->paused, m * sizeof *w->paused);
        memcpy(w->paused, w->resume + k, (n - k) * sizeof *w->paused);
        w->n_paused = m + (n - k);
    }
}

/* ---------------------------------------------------------------------------------------
 * Output
 */

void worker_mark_dirty(struct worker *w, struct conn *c, uint32_t ci)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    w->dirty[w->n_dirty++] = ci;
}

static void wk_flush_one(struct worker *w, struct conn *c, uint32_t ci)
{
    if (c->send_inflight || c->out_len == 0 || c->state == CONN_FREE)
        return;
    if (c->udp) {
        worker_udp_flush(w, c);
        if (c->closing_after_send && c->out_len == 0) {
            wk_close(w, c, ci);
            wk_maybe_free(w, c, ci);
        }
        return;
    }
    if (c->state == CONN_CLOSING && !c->closing_after_send)
        return;
    struct io_uring_sqe *sqe = wk_sqe(w);
    io_uring_prep_send(sqe, c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, wk_ud(WK_OP_SEND, ci, c->gen));
    c->send_inflight = 1;
    c->out_sending = c->out_len;
}

static void wk_on_send(struct worker *w, struct conn *c, uint32_t ci, int res)
{
    c->send_inflight = 0;
    if (res < 0) {
        c->out_len = 0;
        wk_close(w, c, ci);
    } else {
        w->met->bytes_out += (uint64_t)res;
        size_t left = c->out_len - (uint32_t)res;
        memmove(c->out, c->out + res, left);
        c->out_len = (uint32_t)left;
        if (left)
            worker_mark_dirty(w, c, ci);
    }
    c->out_sending = 0;
    if (c->closing_after_send && c->out_len == 0 && c->state != CONN_CLOSING)
        wk_close(w, c, ci);
    wk_maybe_free(w, c, ci);
}

/* Queues the 0x8001 for one committed record; returns 0, or -ENOBUFS when the
 * connection's output buffer is full (the caller keeps the ack for later). */
static int wk_ack_one(struct worker *w, const struct wk_ack *a)
{
    struct conn *c = &w->conns[a->conn];
    if (c->gen != a->gen || c->state != CONN_AUTHED)
        return 0; /* the terminal left: it will resend, the store dedups */
    struct jt808_msg m;
    struct jt808_hdr req = {.msg_id = a->msg_id, .serial = a->serial, .edition = c->edition,
                            .proto_ver = c->proto_ver, .quirk_2013_hdr = c->quirk};
    memcpy(req.phone, c->phone, 10);
    jt808_make_gen_rsp(&m, &req, c->out_serial, JT808_RES_OK);
    if (session808_send(w, c, &m) != 0)
        return -ENOBUFS;
    c->out_serial++;
    w->met->acks_sent++;
    return 0;
}

static void wk_ack_defer(struct worker *w, const struct wk_ack *a)
{
    if (w->ack_over_n == WK_ACK_OVERFLOW) {
        w->acks_dropped++; /* not acknowledged: the terminal resends, the store dedups */
        return;
    }
    w->ack_over[(w->ack_over_head + w->ack_over_n++) % WK_ACK_OVERFLOW] = *a;
}

/* Retries the deferred acks, oldest first, while their connections take output. */
static void wk_ack_retry(struct worker *w)
{
    uint32_t n = w->ack_over_n;
    for (uint32_t k = 0; k < n; k++) {
        struct wk_ack a = w->ack_over[w->ack_over_head];
        w->ack_over_head = (w->ack_over_head + 1) % WK_ACK_OVERFLOW;
        w->ack_over_n--;
        if (wk_ack_one(w, &a) != 0)
            wk_ack_defer(w, &a);
    }
}

/* Sends the 0x8001 answers of every committed batch (commit-then-ack). */
static void wk_reap(struct worker *w)
{
    struct store_batch *done[WK_REAP_MAX];
    if (w->ack_over_n)
        wk_ack_retry(w);
    unsigned n = store_batch_reap(w->store, w->id, done, WK_REAP_MAX);
    for (unsigned i = 0; i < n; i++) {
        unsigned slot = store_batch_slot(done[i]);
        int ok = store_batch_status(done[i]) == 0;
        int64_t us = (w->now_ms - w->batch_t0[slot]) * 1000;
        w->met->lat_commit_hist[hist_log2_bucket(us > 0 ? (uint64_t)us : 0, 64, 20)]++;
        w->met->lat_commit_sum_us += us > 0 ? (uint64_t)us : 0;
        for (uint32_t k = 0; ok && k < w->n_acks[slot]; k++)
            if (wk_ack_one(w, &w->acks[slot][k]) != 0)
                wk_ack_defer(w, &w->acks[slot][k]);
        if (ok && w->n_acks[slot]) { /* commit -> this batch's acks queued for sending */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
            uint64_t dns = store_batch_done_ns(done[i]);
            uint64_t ack_us = now > dns ? (now - dns) / 1000 : 0;
            w->met->lat_ack_hist[hist_log2_bucket(ack_us, 4, 20)]++;
            w->met->lat_ack_sum_us += ack_us;
        }
        w->n_acks[slot] = 0;
        store_batch_release(w->store, done[i]);
        w->batches_inflight--;
    }
    if (n && w->n_paused)
        wk_resume(w);
}

/* ---------------------------------------------------------------------------------------
 * Housekeeping (once a second): timeouts, superseded connections, subpackage expiry.
 */

static void wk_housekeeping(struct worker *w)
{
    const struct cfg *cf = w->cfg;
    for (uint32_t ci = 0; ci < w->max_conns; ci++) {
        struct conn *c = &w->conns[ci];
        if (c->state != CONN_NEW && c->state != CONN_AUTHED)
            continue;
        int64_t idle = w->now_ms - c->t_last_ms;
        int64_t age = w->now_ms - c->t_open_ms;
        int close_it = idle > cf->idle_timeout_s * 1000;
        if (c->state == CONN_NEW && c->fr.st.frames == 0 && age > cf->first_frame_timeout_s * 1000)
            close_it = 1;
        if (c->state == CONN_NEW && age > cf->auth_timeout_s * 1000)
            close_it = 1;
        if (c->t_partial_ms && w->now_ms - c->t_partial_ms > cf->frame_timeout_s * 1000)
            close_it = 1; /* slow sender: a frame dribbled in for too long */
        if (c->state == CONN_AUTHED && c->vehicle_id) {
            /* Second-connection policy: the newest authenticated connection of a terminal
             * wins; an older one (on any worker) sees the live slot name another
             * connection and closes itself here. */
            struct live_slot s;
            uint64_t me = (uint64_t)w->id << 48 | (uint64_t)ci << 16 | c->gen;
            /* A newer connection took the slot (not merely: our own connect has not
             * reached the owner yet, or a JT/T 809 feed reports the vehicle too). */
            if (live_slot_read(w->live, c->vehicle_id, &s) == 0 && s.connected &&
                s.conn_kind == LIVE_CONN_808 && s.conn_id != me &&
                s.conn_since_ns > c->since_ns) {
                w->met->dup_conn_closed++;
                close_it = 1;
            }
        }
        if (close_it) {
            wk_close(w, c, ci);
            wk_maybe_free(w, c, ci);
        }
    }
    jt808_reasm_expire(w->reasm, (uint64_t)w->now_ms * 1000000ull);
}

/* ---------------------------------------------------------------------------------------
 * The loop
 */

static void wk_dispatch(struct worker *w, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    enum wk_op op = (enum wk_op)(ud >> 56);
    uint32_t ci = (uint32_t)ud;
    uint16_t gen = (uint16_t)(ud >> 32);
    if (op == WK_OP_ACCEPT) {
        if (cqe->res >= 0)
            wk_on_accept(w, cqe->res);
        if (!(cqe->flags & IORING_CQE_F_MORE) && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
            wk_arm_accept(w);
        return;
    }
    if (op == WK_OP_UDP) {
        worker_udp_cqe(w, cqe);
        return;
    }
    if (op == WK_OP_MESH) { /* woken for mesh changes: the next iteration drains them */
        if (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
            wk_arm_mesh(w);
        return;
    }
    if (ci >= w->max_conns)
        return;
    struct conn *c = &w->conns[ci];
    if (c->gen != gen || c->state == CONN_FREE) {
        if (op == WK_OP_RECV && (cqe->flags & IORING_CQE_F_BUFFER))
            wk_buf_return(w, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
        return;
    }
    if (op == WK_OP_RECV)
        wk_on_recv(w, c, ci, cqe->res, cqe->flags);
    else if (op == WK_OP_SEND)
        wk_on_send(w, c, ci, cqe->res);
}

/* Flushes output, hands the open batch to the store (H7) and resumes paused readers. */
static void wk_end_iteration(struct worker *w)
{
    uint32_t n = w->n_dirty;
    w->n_dirty = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t ci = w->dirty[k];
        w->conns[ci].dirty = 0;
        wk_flush_one(w, &w->conns[ci], ci);
    }
    /* The open batch goes when the writer has taken what was queued before it: batches
     * queued behind each other reach the same commit anyway, and one open batch instead
     * of many small ones keeps the pool from running dry (backpressure) while the writer
     * commits. A full batch goes at once (worker_room). */
    if (w->cur && (w->cur_pos || w->cur_raw) && store_shard_queued(w->store, w->id) == 0) {
        if (store_batch_submit(w->store, w->cur) == 0) {
            w->batches_inflight++;
            w->cur = NULL;
        }
    }
    if (w->n_paused && w->batches_inflight < (uint32_t)w->cfg->batches_per_worker)
        wk_resume(w);
}

/* Sends the answers of the registrations the service has finished. */
static void wk_registrations(struct worker *w)
{
    struct reg_rsp r[32];
    unsigned n = regsvc_poll(w->regsvc, w->id, r, 32);
    for (unsigned i = 0; i < n; i++) {
        if (r[i].conn >= w->max_conns)
            continue;
        struct conn *c = &w->conns[r[i].conn];
        if (c->gen != r[i].gen || (c->state != CONN_NEW && c->state != CONN_AUTHED))
            continue; /* the terminal left meanwhile */
        session808_register_rsp(w, c, &r[i].h, r[i].result, r[i].code);
    }
}

/* Submits what is queued and sleeps until completions are due or <ts> passes.
 *
 * With a kernel that takes a minimum wait (6.12+), the worker asks for WK_WAIT_CQES
 * completions but settles for any after WK_WAIT_MIN_US: with DEFER_TASKRUN the kernel then
 * does not wake the thread for every segment that arrives, so a loaded worker runs one
 * loop iteration per burst of frames instead of one per frame, and its peers' sends stop
 * paying for a wake-up each. A frame waits at most WK_WAIT_MIN_US longer for it. Older
 * kernels wake at the first completion (liburing's plain wait). */
static void wk_wait(struct worker *w, struct __kernel_timespec *ts)
{
    if (!w->min_wait) {
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, ts, NULL);
        return;
    }
    /* liburing 2.3 has no call for it: publish the SQ tail (its __io_uring_flush_sq,
     * without SQPOLL) and enter the kernel once with the extended argument. */
    struct io_uring_sq *sq = &w->ring.sq;
    unsigned tail = sq->sqe_tail;
    if (sq->sqe_head != tail) {
        sq->sqe_head = tail;
        IO_URING_WRITE_ONCE(*sq->ktail, tail);
    }
    unsigned submit = tail - IO_URING_READ_ONCE(*sq->khead);
    struct wk_getevents_arg arg = {.min_wait_usec = WK_WAIT_MIN_US, .ts = (uint64_t)(uintptr_t)ts};
    long rc = syscall(__NR_io_uring_enter, w->ring.ring_fd, submit, WK_WAIT_CQES,
                      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    if (rc < 0 && errno != ETIME && errno != EINTR && errno != EBUSY && errno != EAGAIN) {
        LOG(LOG_WARN, "worker", "io_uring_enter with a minimum wait: %s; plain waits from now",
            strerror(errno));
        w->min_wait = false;
    }
}

/* Applies the live-state changes other producers sent for this worker's vehicles. Returns
 * 1 when the budget ran out with changes left. */
static int wk_mesh_in(struct worker *w)
{
    return mesh_drain(w->mesh, w->id, w->live, WK_MESH_BUDGET) == WK_MESH_BUDGET;
}

static void wk_mesh_metrics(struct worker *w)
{
    const struct mesh_counts *n = mesh_counts(w->mesh, w->id);
    w->met->mesh_sent = n->sent;
    w->met->mesh_applied = n->applied;
    w->met->mesh_dropped = n->dropped;
}

static void wk_iteration(struct worker *w)
{
    w->now_ms = wk_clock_ms();
    int mesh_more = wk_mesh_in(w);
    wk_reap(w);
    if (w->regsvc)
        wk_registrations(w);
    if (w->now_ms >= w->next_housekeeping_ms) {
        wk_housekeeping(w);
        w->next_housekeeping_ms = w->now_ms + 1000;
    }
    wk_end_iteration(w);
    mesh_flush(w->mesh, w->id);
    wk_mesh_metrics(w);
    /* Sleep until a completion, or 1 ms while batches await their commit (acks are due as
     * soon as the writer commits) or connections wait for room, else 100 ms for
     * housekeeping and the stop flag; not at all while mesh changes are queued. */
    struct __kernel_timespec ts = {.tv_sec = 0,
                                   .tv_nsec = (w->batches_inflight || w->ack_over_n ||
                                                w->n_paused ||
                                                (w->cur && (w->cur_pos || w->cur_raw)) ||
                                                (w->regsvc && regsvc_pending(w->regsvc, w->id)))
                                                   ? 1000000
                                                   : 100000000};
    if (mesh_sleep(w->mesh, w->id) || mesh_more)
        ts.tv_nsec = 0;
    wk_wait(w, &ts);
    mesh_awake(w->mesh, w->id);
    w->now_ms = wk_clock_ms();
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
        wk_dispatch(w, cqe);
        if (++n >= WK_CQE_BUDGET)
            break;
    }
    io_uring_cq_advance(&w->ring, n);
}

/* Stop: close every connection, hand the last batch over and wait (bounded) for the
 * commits so that what was stored is also acknowledged where possible. */
static void wk_shutdown(struct worker *w)
{
    if (w->cur && (w->cur_pos || w->cur_raw) && store_batch_submit(w->store, w->cur) == 0) {
        w->batches_inflight++;
        w->cur = NULL;
    }
    for (int i = 0; i < 200 && w->batches_inflight; i++) {
        w->now_ms = wk_clock_ms();
        wk_reap(w);
        wk_end_iteration(w);
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 5000000};
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
        unsigned head, n = 0;
        io_uring_for_each_cqe(&w->ring, head, cqe) {
            wk_dispatch(w, cqe);
            n++;
        }
        io_uring_cq_advance(&w->ring, n);
    }
    for (uint32_t ci = 0; ci < w->max_conns; ci++) {
        struct conn *c = &w->conns[ci];
        if (c->state != CONN_FREE) {
            if (!c->udp && c->fd >= 0)
                close(c->fd);
            c->fd = -1;
            c->state = CONN_FREE;
            atomic_fetch_sub(&worker_conns_total, 1);
        }
    }
    if (w->cur) {
        store_batch_release(w->store, w->cur);
        w->cur = NULL;
    }
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    rw_shard_id = (int)w->id;
    char name[16];
    snprintf(name, sizeof name, "rw-worker-%u", w->id % 1000u);
    pthread_setname_np(pthread_self(), name);
    /* Debian 12's liburing 2.3 declares io_uring_enable_rings() but does not export it. */
    if (syscall(__NR_io_uring_register, w->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
                0) < 0) {
        LOG(LOG_ERR, "worker", "io_uring enable: %s", strerror(errno));
        return NULL;
    }
    w->now_ms = wk_clock_ms();
    if (w->listen_fd >= 0)
        wk_arm_accept(w);
    if (w->udp_fd >= 0)
        worker_udp_arm(w);
    wk_arm_mesh(w);
    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
        wk_iteration(w);
    wk_shutdown(w);
    return NULL;
}
