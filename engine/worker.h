/* worker.h: one engine worker — a thread with its own io_uring, its own JT/T 808 listening
 * socket (SO_REUSEPORT: the kernel spreads connections over the workers), its
 * connections, its store batches and its slice of the metrics.
 *
 * Threading: everything in struct worker is touched only by its thread, except
 * w->stop (set by the main thread, read with an atomic load) and the live table and
 * metrics (shared memory, single writer per slot / per block).
 *
 * io_uring user_data layout (64 bits):
 *   bits 56..63  operation (WK_OP_*)
 *   bits 32..47  connection generation (stale completions of a reused slot are ignored)
 *   bits  0..31  connection index
 */
#ifndef RW_WORKER_H
#define RW_WORKER_H

#include <liburing.h>
#include <netinet/in.h>
#include <stdint.h>

#include "engine/cfg/cfg.h"
#include "engine/live/live.h"
#include "engine/live/mesh.h"
#include "engine/proto/jt808.h"
#include "engine/registry.h"
#include "engine/regsvc.h"
#include "store/store.h"

enum wk_op {
    WK_OP_ACCEPT = 1,
    WK_OP_RECV = 2,
    WK_OP_SEND = 3,
    WK_OP_CLOSE = 4,
    WK_OP_UDP = 5,
    WK_OP_NOP = 6,
    WK_OP_MESH = 7,               /* the mesh's wake-up eventfd was written */
};

enum conn_state {
    CONN_FREE = 0,
    CONN_NEW,        /* connected, not authenticated: only 0x0100 / 0x0102 / 0x0002 */
    CONN_AUTHED,     /* authenticated terminal */
    CONN_CLOSING,    /* close submitted, waiting for in-flight operations */
};

#define CONN_OUT_CAP 1024u
#define WK_ACK_OVERFLOW 65536u

/* One TCP connection (about 2.3 KiB with its framer: under the 4 KiB per idle connection
 * budget of ARCHITECTURE §8). */
struct conn {
    int fd;
    uint16_t gen;
    uint8_t state;
    uint8_t recv_armed;
    uint8_t send_inflight;
    uint8_t paused;          /* not re-armed: waiting for a store batch */
    uint8_t closing_after_send;
    uint8_t dirty;           /* on the worker's flush list */
    uint8_t udp;             /* a UDP terminal: fd is the worker's UDP socket */
    uint16_t edition;
    uint16_t out_serial;     /* serial of the next platform message */
    uint16_t bad_frames;
    uint32_t vehicle_id;
    uint64_t since_ns;            /* CLOCK_MONOTONIC of the authentication (mesh CONNECT) */
    int64_t t_open_ms;
    int64_t t_last_ms;
    int64_t t_partial_ms;    /* when the frame still incomplete began arriving (0: none) */
    uint64_t partial_mark;   /* framer frame count when t_partial_ms was set */
    uint32_t out_len;        /* bytes queued in out[] */
    uint32_t out_sending;    /* bytes of out[] owned by the in-flight send */
    int16_t parked_bid;      /* a received buffer not yet processed (-1: none) */
    uint16_t parked_off;
    uint16_t parked_len;
    uint8_t phone[10];
    uint8_t proto_ver;
    uint8_t quirk;
    struct sockaddr_in6 peer;
    uint8_t out[CONN_OUT_CAP];
    struct jt808_framer fr;
};

/* A pending acknowledgement: sent when the batch holding its records is committed. */
struct wk_ack {
    uint32_t conn;
    uint16_t gen;
    uint16_t serial;
    uint16_t msg_id;
    uint16_t pad;
};

struct worker {
    unsigned id;
    const struct cfg *cfg;
    struct store *store;
    struct registry *reg;
    struct regsvc *regsvc;   /* registrations run off this thread (NULL: inline) */
    struct live *live;
    struct mesh *mesh;            /* vehicle ownership (live/mesh.h); this worker is
                                   * producer and owner <id> */
    uint64_t mesh_buf;            /* the wake-up eventfd's read target */
    struct live_metrics *met;
    struct io_uring ring;
    bool min_wait;                /* kernel takes a minimum wait (IORING_FEAT_MIN_TIMEOUT) */
    int listen_fd;
    int udp_fd;
    int stop;
    /* connections */
    struct conn *conns;
    uint32_t max_conns;
    uint32_t *free_list;
    uint32_t n_free;
    /* provided receive buffers */
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    uint32_t buf_size;
    uint32_t n_bufs;
    /* store batches and their ack lists, indexed by batch slot */
    struct store_batch *cur;
    uint32_t cur_pos;        /* positions and raw frames in the open batch */
    uint32_t cur_raw;
    struct wk_ack **acks;
    uint32_t *n_acks;
    int64_t *batch_t0;       /* receive time of each batch's first record (ms) */
    uint32_t batch_records;
    uint32_t batches_inflight;
    /* acks of committed records that did not fit a connection's output buffer yet: sent
     * as soon as the connection's previous output is on the wire (bounded ring) */
    struct wk_ack *ack_over;
    uint32_t ack_over_head, ack_over_n;
    uint64_t acks_dropped;
    /* connections with output to flush at the end of the iteration */
    uint32_t *dirty;
    uint32_t n_dirty;
    /* UDP: one datagram buffer, re-armed after each datagram */
    uint8_t *udp_buf;
    struct jt808_framer udp_fr;
    uint32_t *udp_hash;      /* phone -> connection index + 1; 0 empty, ~0 deleted */
    uint32_t udp_hash_mask;
    struct msghdr udp_msg;
    struct iovec udp_iov;
    struct sockaddr_in6 udp_peer;
    /* connections waiting for a store batch */
    uint32_t *paused;
    uint32_t *resume;             /* wk_resume's copy of the paused list */
    uint32_t n_paused;
    struct jt808_reasm *reasm;
    int64_t now_ms;
    int64_t next_housekeeping_ms;
    uint64_t udp_drops;
    int64_t *data_now;       /* clock=data: newest GNSS time seen, shared (atomic max) */
};

/* Creates worker <id>: sockets (SO_REUSEPORT), io_uring, buffers, connection table, all
 * sized from <cfg>. Returns 0 or -errno / RW_E_*. */
int worker_init(struct worker *w, unsigned id, const struct cfg *cfg, struct store *st,
                struct registry *reg, struct live *lv);
/* Runs the loop until w->stop is set; then closes every connection and hands the last
 * batch to the store. Thread entry point. */
void *worker_main(void *arg);
void worker_destroy(struct worker *w);

/* UDP (worker_udp.c): arms the datagram receive; handles its completion. */
int worker_udp_init(struct worker *w);
void worker_udp_arm(struct worker *w);
void worker_udp_cqe(struct worker *w, struct io_uring_cqe *cqe);
/* Sends the queued output of UDP terminal <c> (sendto, one datagram per frame batch). */
void worker_udp_flush(struct worker *w, struct conn *c);
/* Removes UDP terminal <c> from the phone table (on close). */
void worker_udp_forget(struct worker *w, const struct conn *c);
/* From worker.c for worker_udp.c: take a free connection slot (-1: none / over the limit),
 * and make room in the open batch (0: none, backpressure). */
int worker_conn_take(struct worker *w);
int worker_room(struct worker *w);
/* Whether the vehicle of authenticated connection <c> can take a frame's live-state
 * changes now (its owner is this worker, or the mesh ring to its owner has room). */
int worker_mesh_room(struct worker *w, const struct conn *c);
/* Hands a live-state change to the vehicle's owner: applied here when this worker owns
 * the vehicle, else sent through the mesh. */
void worker_live(struct worker *w, const struct mesh_msg *msg);

/* Marks connection <ci> for the end-of-iteration flush. */
void worker_mark_dirty(struct worker *w, struct conn *c, uint32_t ci);
/* Connection index of <c>. */
static inline uint32_t worker_conn_index(const struct worker *w, const struct conn *c)
{
    return (uint32_t)(c - w->conns);
}

/* Total connections open across all workers (for max_connections). */
extern _Atomic uint32_t worker_conns_total;

/* Session layer (session808.c): handles one complete unescaped frame of <c>. Returns 0, or
 * 1 when the frame must wait (no store batch: the caller parks the rest of the buffer),
 * or a negative code when the connection must be closed. */
int session808_frame(struct worker *w, struct conn *c, uint32_t ci);
/* Sends the 0x8100 for a registration decided by the registry (<res> JT808_REG_* or a
 * negative store error: nothing is sent). */
void session808_register_rsp(struct worker *w, struct conn *c, const struct jt808_hdr *h,
                             int res, const char *code);
/* Queues a JT/T 808 message to <c> (escaped frame into c->out). Returns 0 or -ENOBUFS. */
int session808_send(struct worker *w, struct conn *c, struct jt808_msg *m);

#endif
