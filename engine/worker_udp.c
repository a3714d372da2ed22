/* worker_udp.c: JT/T 808 over UDP. Each datagram carries whole frames; a terminal is
 * known by its phone number, so each one gets a connection slot (state, framer buffer,
 * output) found through a per-worker phone table, and its latest source address is where
 * answers go. Sessions, authentication and commit-then-ack are the TCP ones
 * (session808.c). When the store has no free batch, the rest of the datagram is dropped
 * and counted: UDP is lossy by nature and nothing dropped was acknowledged, so the
 * terminal sends it again.
 *
 * Receive: one recvmsg at a time on the worker's SO_REUSEPORT socket, into a 64 KiB
 * buffer, re-armed after each datagram. Send: one sendto per frame (terminals expect a
 * message per datagram) from the end-of-iteration flush — never per received message. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/worker.h"

#define UDP_DELETED 0xFFFFFFFFu

static uint32_t udp_hash_phone(const uint8_t phone[10])
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 10; i++)
        h = (h ^ phone[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

int worker_udp_init(struct worker *w)
{
    uint32_t n = 1;
    while (n < 2 * w->max_conns)
        n <<= 1;
    w->udp_hash = mem_calloc(n, sizeof *w->udp_hash);
    if (!w->udp_hash)
        return -ENOMEM;
    w->udp_hash_mask = n - 1;
    return 0;
}

/* Finds the UDP terminal <phone>, or adds it; returns its index or -1. */
static int udp_find(struct worker *w, const uint8_t phone[10], int add)
{
    uint32_t i = udp_hash_phone(phone) & w->udp_hash_mask;
    int64_t tomb = -1;
    for (uint32_t probes = 0; probes <= w->udp_hash_mask; probes++, i = (i + 1) & w->udp_hash_mask) {
        uint32_t v = w->udp_hash[i];
        if (v == 0)
            break;
        if (v == UDP_DELETED) {
            if (tomb < 0)
                tomb = i;
            continue;
        }
        if (memcmp(w->conns[v - 1].phone, phone, 10) == 0)
            return (int)(v - 1);
    }
    if (!add)
        return -1;
    int k = worker_conn_take(w);
    if (k < 0)
        return -1;
    struct conn *c = &w->conns[k];
    c->udp = 1;
    c->fd = w->udp_fd;
    memcpy(c->phone, phone, 10);
    w->udp_hash[tomb >= 0 ? (uint32_t)tomb : i] = (uint32_t)k + 1;
    return k;
}

void worker_udp_forget(struct worker *w, const struct conn *c)
{
    uint32_t i = udp_hash_phone(c->phone) & w->udp_hash_mask;
    uint32_t want = worker_conn_index(w, c) + 1;
    for (uint32_t probes = 0; probes <= w->udp_hash_mask; probes++, i = (i + 1) & w->udp_hash_mask) {
        if (w->udp_hash[i] == 0)
            return;
        if (w->udp_hash[i] == want) {
            w->udp_hash[i] = UDP_DELETED;
            return;
        }
    }
}

void worker_udp_arm(struct worker *w)
{
    memset(&w->udp_msg, 0, sizeof w->udp_msg);
    w->udp_iov.iov_base = w->udp_buf;
    w->udp_iov.iov_len = 65536;
    w->udp_msg.msg_name = &w->udp_peer;
    w->udp_msg.msg_namelen = sizeof w->udp_peer;
    w->udp_msg.msg_iov = &w->udp_iov;
    w->udp_msg.msg_iovlen = 1;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe) {
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    io_uring_prep_recvmsg(sqe, w->udp_fd, &w->udp_msg, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)WK_OP_UDP << 56);
}

/* Handles the frame now in w->udp_fr: routes it to its terminal's slot. Returns 0, or 1
 * when the datagram's remaining frames must be dropped (no store batch). */
static int udp_frame(struct worker *w)
{
    struct jt808_hdr h;
    if (jt808_hdr_parse(w->udp_fr.buf, w->udp_fr.len, &h) < 0) {
        w->met->frames_bad++;
        return 0;
    }
    int k = udp_find(w, h.phone, 1);
    if (k < 0)
        return 0;
    struct conn *c = &w->conns[k];
    memcpy(&c->peer, &w->udp_peer, sizeof c->peer);
    if (c->state == CONN_AUTHED && (!worker_room(w) || !worker_mesh_room(w, c))) {
        w->udp_drops++;
        return 1;
    }
    memcpy(c->fr.buf, w->udp_fr.buf, w->udp_fr.len);
    c->fr.len = w->udp_fr.len;
    w->met->frames_in++;
    if (session808_frame(w, c, (uint32_t)k) < 0)
        c->closing_after_send = 1;
    return 0;
}

void worker_udp_cqe(struct worker *w, struct io_uring_cqe *cqe)
{
    if (cqe->res > 0) {
        w->met->bytes_in += (uint64_t)cqe->res;
        jt808_framer_init(&w->udp_fr);
        size_t pos = 0, n = (size_t)cqe->res;
        while (pos < n) {
            int st;
            pos += jt808_framer_feed(&w->udp_fr, w->udp_buf + pos, n - pos, &st);
            if (st < 0)
                w->met->frames_bad++;
            if (st == 1 && udp_frame(w) == 1)
                break;
        }
    }
    if (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
        worker_udp_arm(w);
}

void worker_udp_flush(struct worker *w, struct conn *c)
{
    /* One datagram per frame: split the queued output at the flags. */
    size_t pos = 0;
    while (pos < c->out_len) {
        const uint8_t *end = memchr(c->out + pos + 1, JT808_FLAG, c->out_len - pos - 1);
        size_t len = end ? (size_t)(end - (c->out + pos)) + 1 : c->out_len - pos;
        ssize_t r = sendto(w->udp_fd, c->out + pos, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                           (const struct sockaddr *)&c->peer,
                           c->peer.sin6_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in));
        if (r < 0 && errno == EAGAIN)
            break; /* socket buffer full: keep the rest for the next flush */
        if (r > 0)
            w->met->bytes_out += (uint64_t)r;
        pos += len;
    }
    memmove(c->out, c->out + pos, c->out_len - pos);
    c->out_len -= (uint32_t)pos;
    if (c->out_len)
        worker_mark_dirty(w, c, worker_conn_index(w, c));
}
