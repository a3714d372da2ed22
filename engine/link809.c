/* link809.c: the JT/T 809 main-link server loop — accept, framing, login, link tests, the
 * subordinate link, output, store batches (design and policies: link809.h). Business
 * bodies are in link809_biz.c.
 *
 * One epoll loop on its own thread. Each iteration: reap committed batches, timers (once
 * per L809_TICK_MS), flush queued output, hand the open batch to the store, then
 * epoll_wait and handle every event (budgeted reads per link, STYLE H6).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "engine/link809_int.h"
#include "engine/net/addr.h"

#define L809_TICK_MS 200
#define L809_EVENTS 64
#define L809_ACCEPT_BUDGET 64
#define L809_READ_BUDGET 4          /* reads per link side per event (H6) */
#define L809_REAP_MAX 64
#define L809_FRAME_POS_MAX 5u       /* positions one frame can carry (0x1203) */
#define L809_FRAME_RAW_MAX 4u       /* raw frames one frame can cause (in + answers) */
#define L809_LOGIN_COPY_MAX 128u    /* a 0x1001 content is 70 (2011) or 82 (2019) bytes */

static int64_t l809_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t l809_random32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint32_t)(ts.tv_nsec * 2654435761u) ^ (uint32_t)ts.tv_sec;
    }
    return v ? v : 1;
}

static inline uint64_t l809_ud(enum l809_ev kind, uint32_t idx, uint16_t gen)
{
    return (uint64_t)kind << 56 | (uint64_t)gen << 32 | idx;
}

static inline uint32_t l809_idx(const struct link809 *l, const struct l809_link *k)
{
    return (uint32_t)(k - l->links);
}

/* ---------------------------------------------------------------------------------------
 * Setup
 */


static int l809_listen(struct link809 *l)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (net_addr_parse(l->cfg->jt809_tcp, &ss, &len) != 0)
        return RW_E_FIELD;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(fd, (struct sockaddr *)&got, &gl);
    l->port = got.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&got)->sin_port)
                                       : ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
    l->listen_fd = fd;
    return 0;
}

static int l809_ep_add(struct link809 *l, int fd, uint32_t events, uint64_t ud)
{
    struct epoll_event ev = {.events = events, .data.u64 = ud};
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static void l809_env(struct link809 *l)
{
    l->linktest_ms = LINK809_LINKTEST_S * 1000u;
    const char *s = getenv("RW_JT809_LINKTEST_S");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end == 0 && v >= 1 && v <= 3600)
            l->linktest_ms = (uint32_t)v * 1000u;
    }
    s = getenv("RW_JT809_ENCRYPT_OUT");
    l->encrypt_out = s && strcmp(s, "1") == 0;
}

static int l809_alloc(struct link809 *l)
{
    l->links = mem_calloc(LINK809_MAX_LINKS, sizeof *l->links);
    l->free_list = mem_calloc(LINK809_MAX_LINKS, sizeof *l->free_list);
    l->dirty = mem_calloc(LINK809_MAX_LINKS, sizeof *l->dirty);
    l->paused = mem_calloc(LINK809_MAX_LINKS, sizeof *l->paused);
    l->vc = mem_calloc(LINK809_VCACHE, sizeof *l->vc);
    l->amap = mem_calloc(LINK809_AMAP, sizeof *l->amap);
    if (!l->links || !l->free_list || !l->dirty || !l->paused || !l->vc || !l->amap)
        return -ENOMEM;
    for (uint32_t i = 0; i < LINK809_MAX_LINKS; i++) {
        l->links[i].m.fd = l->links[i].s.fd = -1;
        l->free_list[l->n_free++] = LINK809_MAX_LINKS - 1 - i;
    }
    return 0;
}

int link809_create(const struct cfg *cfg, struct store *st, struct live *lv, unsigned shard,
                   struct link809 **out)
{
    STATIC_ASSERT((LINK809_VCACHE & (LINK809_VCACHE - 1)) == 0, "cache size power of 2");
    *out = NULL;
    if (!cfg->jt809_tcp[0])
        return RW_E_FIELD;
    struct link809 *l = mem_alloc_aligned(64, sizeof *l);
    if (!l)
        return -ENOMEM;
    memset(l, 0, sizeof *l);
    l->cfg = cfg;
    l->st = st;
    l->lv = lv;
    l->shard = shard;
    l->listen_fd = l->ep = l->wake_fd = -1;
    l->batch_records = cfg->batch_records > 0 ? (uint32_t)cfg->batch_records : 64;
    l->cfg_edition = cfg->jt809_edition == 2011   ? JT809_ED_2011
                     : cfg->jt809_edition == 2019 ? JT809_ED_2019
                                                  : JT809_ED_AUTO;
    l809_env(l);
    int rc = l809_alloc(l);
    if (rc == 0)
        rc = l809_listen(l);
    if (rc == 0) {
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        rc = l->ep < 0 || l->wake_fd < 0 ? -errno : 0;
    }
    if (rc == 0)
        rc = l809_ep_add(l, l->listen_fd, EPOLLIN, l809_ud(L809_EV_LISTEN, 0, 0));
    if (rc == 0)
        rc = l809_ep_add(l, l->wake_fd, EPOLLIN, l809_ud(L809_EV_WAKE, 0, 0));
    if (rc) {
        link809_destroy(l);
        return rc;
    }
    *out = l;
    return 0;
}

void link809_destroy(struct link809 *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; l->links && i < LINK809_MAX_LINKS; i++) {
        if (l->links[i].m.fd >= 0)
            close(l->links[i].m.fd);
        if (l->links[i].s.fd >= 0)
            close(l->links[i].s.fd);
    }
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    if (l->ep >= 0)
        close(l->ep);
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    MEM_FREE(l->links);
    MEM_FREE(l->free_list);
    MEM_FREE(l->dirty);
    MEM_FREE(l->paused);
    MEM_FREE(l->vc);
    MEM_FREE(l->amap);
    mem_free(l);
}

void link809_stop(struct link809 *l)
{
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t n = write(l->wake_fd, &one, sizeof one);
    (void)n;
}

int link809_port(const struct link809 *l)
{
    return l->port;
}

void link809_metrics_get(const struct link809 *l, struct link809_metrics *out)
{
    const uint64_t *src = (const uint64_t *)&l->met;
    uint64_t *dst = (uint64_t *)out;
    STATIC_ASSERT(sizeof l->met % sizeof(uint64_t) == 0, "metrics are uint64 only");
    for (size_t i = 0; i < sizeof l->met / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------------
 * Store batches
 */

/* Makes sure the open batch has room for one more frame's records. Returns 0 when no batch
 * can be had (backpressure). */
static int l809_room(struct link809 *l)
{
    if (l->cur && l->cur_pos + L809_FRAME_POS_MAX <= l->batch_records &&
        l->cur_raw + L809_FRAME_RAW_MAX <= l->batch_records)
        return 1;
    struct store_batch *b;
    if (store_batch_get(l->st, l->shard, &b) != 0)
        return 0;
    if (l->cur) {
        if (store_batch_submit(l->st, l->cur) != 0) {
            store_batch_release(l->st, b);
            return 0;
        }
        l->inflight++;
    }
    l->cur = b;
    l->cur_pos = l->cur_raw = 0;
    return 1;
}

/* Swaps a full open batch for a fresh one (a fresh one is taken first, so the open batch
 * is never lost). Returns 0 when none is free. */
static int l809_swap(struct link809 *l)
{
    struct store_batch *b;
    if (!l->cur || store_batch_get(l->st, l->shard, &b) != 0)
        return 0;
    if (store_batch_submit(l->st, l->cur) != 0) {
        store_batch_release(l->st, b);
        return 0;
    }
    l->inflight++;
    l->cur = b;
    l->cur_pos = l->cur_raw = 0;
    return 1;
}

void l809_raw(struct link809 *l, struct l809_link *k, int sub, const uint8_t *p, size_t n,
              int dir)
{
    if (n == 0 || k->state == L809_NEW || k->state == L809_FREE)
        return;
    struct store_raw r;
    memset(&r, 0, sizeof r);
    r.recv_time_ms = l->now_ms;
    r.conn_id = l809_conn_id(l, k, sub);
    r.dir = (uint8_t)dir;
    r.proto = STORE_PROTO_809;
    const struct sockaddr_storage *a = sub ? &k->down : &k->addr;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
        r.peer_len = 4;
        memcpy(r.peer, &a4->sin_addr, 4);
        r.peer_port = ntohs(a4->sin_port);
    } else {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
        r.peer_len = 16;
        memcpy(r.peer, &a6->sin6_addr, 16);
        r.peer_port = ntohs(a6->sin6_port);
    }
    r.frame = rw_bytes_of(p, n);
    if (!l->cur && !l809_room(l)) {
        L809_MET_INC(l, raw_dropped);
        return;
    }
    int rc = store_batch_add_raw(l->cur, &r);
    if (rc == -ENOSPC && l809_swap(l))
        rc = store_batch_add_raw(l->cur, &r);
    if (rc == 0)
        l->cur_raw++;
    else
        L809_MET_INC(l, raw_dropped);
}

int l809_add_pos(struct link809 *l, const struct store_pos *p)
{
    if (!l->cur && !l809_room(l))
        return -EAGAIN;
    int rc = store_batch_add_pos(l->cur, p);
    if (rc == -ENOSPC && l809_swap(l))
        rc = store_batch_add_pos(l->cur, p);
    if (rc == 0)
        l->cur_pos++;
    return rc;
}

static void l809_reap(struct link809 *l)
{
    struct store_batch *done[L809_REAP_MAX];
    unsigned n = store_batch_reap(l->st, l->shard, done, L809_REAP_MAX);
    for (unsigned i = 0; i < n; i++) {
        if (store_batch_status(done[i]) != 0)
            L809_MET_INC(l, store_errors);
        store_batch_release(l->st, done[i]);
        ASSERT(l->inflight > 0);
        l->inflight--;
    }
}

/* ---------------------------------------------------------------------------------------
 * Link table, epoll registration, output
 */

static void l809_list_remove(uint32_t *arr, uint32_t *n, uint32_t idx)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (arr[i] == idx) {
            arr[i] = arr[--*n];
            return;
        }
    }
}

/* Re-registers the events of side <sub> of <k>: EPOLLIN unless paused (or connecting),
 * EPOLLOUT while output is pending or a connect is in progress. */
static void l809_side_ctl(struct link809 *l, struct l809_link *k, int sub)
{
    struct l809_side *sd = sub ? &k->s : &k->m;
    if (sd->fd < 0)
        return;
    int connecting = sub && k->sub_state == L809_SUB_CONNECTING;
    uint32_t ev = 0;
    if (!k->paused && !connecting)
        ev |= EPOLLIN;
    if (sd->want_out || connecting)
        ev |= EPOLLOUT;
    struct epoll_event e = {.events = ev,
                            .data.u64 = l809_ud(sub ? L809_EV_SUB : L809_EV_MAIN,
                                                l809_idx(l, k), k->gen)};
    epoll_ctl(l->ep, EPOLL_CTL_MOD, sd->fd, &e);
}

static void l809_mark_dirty(struct link809 *l, struct l809_link *k)
{
    if (k->dirty)
        return;
    k->dirty = 1;
    l->dirty[l->n_dirty++] = l809_idx(l, k);
}

static void l809_side_close(struct l809_side *sd)
{
    if (sd->fd >= 0)
        close(sd->fd); /* also leaves the epoll set */
    sd->fd = -1;
    sd->out_len = sd->rx_off = sd->rx_len = 0;
    sd->want_out = 0;
}

static void l809_sub_close(struct link809 *l, struct l809_link *k)
{
    (void)l;
    l809_side_close(&k->s);
    if (k->sub_state != L809_SUB_NONE)
        k->sub_state = L809_SUB_IDLE;
}

static void l809_close(struct link809 *l, struct l809_link *k)
{
    if (k->state == L809_FREE)
        return;
    uint32_t idx = l809_idx(l, k);
    if (k->up_counted)
        L809_MET_ADD(l, links_up, (uint64_t)-1);
    k->up_counted = 0;
    l809_side_close(&k->m);
    l809_side_close(&k->s);
    if (k->paused)
        l809_list_remove(l->paused, &l->n_paused, idx);
    if (k->dirty)
        l809_list_remove(l->dirty, &l->n_dirty, idx);
    k->paused = k->dirty = 0;
    k->state = L809_FREE;
    k->sub_state = L809_SUB_NONE;
    k->gen++;
    l->free_list[l->n_free++] = idx;
    l->n_links--;
    L809_MET_INC(l, links_closed);
}

/* Queues a message on side <sub> of <k>: header from the link (edition, access code, our
 * MSG_SN, encryption), encoded into the side's output, logged to the raw log. Returns 0 or
 * a negative code (output full: the message is dropped and counted). */
static int l809_send(struct link809 *l, struct l809_link *k, int sub, struct jt809_msg *m)
{
    struct l809_side *sd = sub ? &k->s : &k->m;
    if (sd->fd < 0)
        return -ENOTCONN;
    uint8_t wire[512];
    m->sub_known = 1;
    m->h.msg_sn = sd->sn_out++;
    m->h.gnss_center_id = k->access_code;
    m->h.edition = k->peer.edition == JT809_ED_2019 ? JT809_ED_2019 : JT809_ED_2011;
    m->h.version[0] = 1;
    m->h.version[1] = m->h.edition == JT809_ED_2019 ? 2 : 0;
    m->h.version[2] = m->h.edition == JT809_ED_2019 ? 15 : 0;
    m->h.encrypt_flag = k->encrypt_out && k->peer.has_keys;
    m->h.encrypt_key = m->h.encrypt_flag ? l809_random32() : 0;
    m->h.time = (uint64_t)(l->now_ms / 1000);
    int n = jt809_encode(m, &k->peer, wire, sizeof wire);
    if (n < 0 || (size_t)n > L809_OUT_CAP - sd->out_len) {
        L809_MET_INC(l, raw_dropped);
        return n < 0 ? n : -ENOBUFS;
    }
    memcpy(sd->out + sd->out_len, wire, (size_t)n);
    sd->out_len += (uint32_t)n;
    int u = jt809_unescape(wire + 1, (size_t)n - 2, l->scratch, sizeof l->scratch, 1);
    if (u > 0)
        l809_raw(l, k, sub, l->scratch, (size_t)u, STORE_DIR_OUT);
    L809_MET_INC(l, frames_out);
    l809_mark_dirty(l, k);
    return 0;
}

static void l809_send_code(struct link809 *l, struct l809_link *k, int sub, uint16_t id,
                           uint8_t code)
{
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = id;
    m.u.code = code;
    l809_send(l, k, sub, &m);
}

/* Writes what side <sub> has queued. Returns 0, or -1 when the side failed. */
static int l809_side_flush(struct link809 *l, struct l809_link *k, int sub)
{
    struct l809_side *sd = sub ? &k->s : &k->m;
    if (sd->fd < 0 || sd->out_len == 0 || (sub && k->sub_state == L809_SUB_CONNECTING))
        return 0;
    ssize_t n = send(sd->fd, sd->out, sd->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
    if (n > 0) {
        L809_MET_ADD(l, bytes_out, (uint64_t)n);
        memmove(sd->out, sd->out + n, sd->out_len - (size_t)n);
        sd->out_len -= (uint32_t)n;
    }
    uint8_t want = sd->out_len != 0;
    if (want != sd->want_out) {
        sd->want_out = want;
        l809_side_ctl(l, k, sub);
    }
    return 0;
}

static void l809_sub_fail(struct link809 *l, struct l809_link *k, uint8_t reason);

static void l809_flush(struct link809 *l, struct l809_link *k)
{
    if (k->state == L809_FREE)
        return;
    if (l809_side_flush(l, k, 1) < 0)
        l809_sub_fail(l, k, 0x01);
    if (l809_side_flush(l, k, 0) < 0 || (k->state == L809_CLOSING && k->m.out_len == 0))
        l809_close(l, k);
}

/* ---------------------------------------------------------------------------------------
 * Subordinate link (§1 steps 3-4)
 */

static void l809_sub_fail(struct link809 *l, struct l809_link *k, uint8_t reason)
{
    if (k->sub_state == L809_SUB_NONE)
        return;
    l809_sub_close(l, k);
    k->sub_state = L809_SUB_IDLE;
    k->sub_next_ms = l->now_ms + LINK809_SUB_RETRY_S * 1000;
    L809_MET_INC(l, sub_failed);
    if (k->state == L809_UP)
        l809_send_code(l, k, 0, JT809_MSG_9007_DOWN_DISCONNECT_INFORM, reason);
}

static void l809_sub_connect(struct link809 *l, struct l809_link *k)
{
    struct l809_side *sd = &k->s;
    int fd = socket(k->down.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        l809_sub_fail(l, k, 0x00);
        return;
    }
    int rc = connect(fd, (struct sockaddr *)&k->down, k->down_len);
    if (rc != 0 && errno != EINPROGRESS) {
        close(fd);
        l809_sub_fail(l, k, 0x00);
        return;
    }
    sd->fd = fd;
    sd->rx_off = sd->rx_len = sd->out_len = 0;
    sd->want_out = 0;
    sd->t_last_ms = l->now_ms;
    jt809_framer_init(&sd->fr);
    k->sub_state = L809_SUB_CONNECTING;
    k->sub_deadline_ms = l->now_ms + LINK809_SUB_TIMEOUT_S * 1000;
    if (l809_ep_add(l, fd, EPOLLOUT, l809_ud(L809_EV_SUB, l809_idx(l, k), k->gen)) != 0)
        l809_sub_fail(l, k, 0x00);
}

/* The non-blocking connect finished: on success send 0x9001 with the verify code. */
static void l809_sub_connected(struct link809 *l, struct l809_link *k)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(k->s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        l809_sub_fail(l, k, 0x00);
        return;
    }
    int one = 1;
    setsockopt(k->s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    k->sub_state = L809_SUB_WAIT_RSP;
    l809_side_ctl(l, k, 1);
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_9001_DOWN_CONNECT_REQ;
    m.u.verify_code = k->verify_code;
    l809_send(l, k, 1, &m);
}

/* Accepts DOWN_LINK_IP:PORT only when it is loopback or the main link's own source. */
static int l809_down_allowed(struct l809_link *k, const struct jt809_connect_req *req)
{
    char ip[33];
    struct rw_bytes t = rw_trim(req->down_link_ip);
    if (t.len == 0 || t.len >= sizeof ip || req->down_link_port == 0)
        return 0;
    memcpy(ip, t.p, t.len);
    ip[t.len] = 0;
    struct sockaddr_storage d;
    memset(&d, 0, sizeof d);
    struct sockaddr_in *d4 = (struct sockaddr_in *)&d;
    struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&d;
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&k->addr;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&k->addr;
    int ok = 0;
    if (inet_pton(AF_INET, ip, &d4->sin_addr) == 1) {
        d4->sin_family = AF_INET;
        d4->sin_port = htons(req->down_link_port);
        k->down_len = sizeof *d4;
        ok = (ntohl(d4->sin_addr.s_addr) >> 24) == 127 ||
             (k->addr.ss_family == AF_INET && s4->sin_addr.s_addr == d4->sin_addr.s_addr);
    } else if (inet_pton(AF_INET6, ip, &d6->sin6_addr) == 1) {
        d6->sin6_family = AF_INET6;
        d6->sin6_port = htons(req->down_link_port);
        k->down_len = sizeof *d6;
        ok = IN6_IS_ADDR_LOOPBACK(&d6->sin6_addr) ||
             (k->addr.ss_family == AF_INET6 &&
              memcmp(&s6->sin6_addr, &d6->sin6_addr, sizeof d6->sin6_addr) == 0);
    }
    if (ok)
        k->down = d;
    return ok;
}

/* ---------------------------------------------------------------------------------------
 * Login (§1 step 2, §6 0x1001/0x1002)
 */

struct l809_try {
    const uint8_t *raw;
    size_t n;
    uint32_t access_code;
    uint8_t *buf;
    struct jt809_msg *m;
    struct store_platform *hit;
};

/* store_platform_foreach callback: decrypts a copy of the encrypted 0x1001 with the keys
 * of each account of the header's access code until its USERID names that account. */
static int l809_try_keys(const struct store_platform *p, void *ctx)
{
    struct l809_try *t = ctx;
    if (p->access_code != t->access_code || (p->m1 | p->ia1 | p->ic1) == 0)
        return 0;
    struct jt809_peer peer = {.edition = JT809_ED_AUTO, .has_keys = 1,
                              .m1 = p->m1, .ia1 = p->ia1, .ic1 = p->ic1};
    memcpy(t->buf, t->raw, t->n);
    if (jt809_frame_parse(t->buf, t->n, &peer, t->m) != 0)
        return 0;
    if (t->m->h.msg_id != JT809_MSG_1001_UP_CONNECT_REQ ||
        t->m->u.connect_req.user_id != p->user_id)
        return 0;
    *t->hit = *p;
    return 1;
}

static void l809_peer_ip(const struct sockaddr_storage *a, struct store_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (a->ss_family == AF_INET) {
        ip->len = 4;
        memcpy(ip->addr, &((const struct sockaddr_in *)a)->sin_addr, 4);
        return;
    }
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
        ip->len = 4;
        memcpy(ip->addr, &a6->s6_addr[12], 4);
    } else {
        ip->len = 16;
        memcpy(ip->addr, a6, 16);
    }
}

/* Checks the login; returns the 0x1002 result and fills <acct> on success. */
static uint8_t l809_login_check(struct link809 *l, struct l809_link *k,
                                const struct jt809_msg *m, struct store_platform *acct)
{
    const struct jt809_connect_req *q = &m->u.connect_req;
    char pw[9];
    struct rw_bytes p = q->password;
    size_t n = 0;
    while (n < p.len && n < 8 && p.p[n])
        n++;
    memcpy(pw, p.p, n);
    pw[n] = 0;
    struct store_ip ip;
    l809_peer_ip(&k->addr, &ip);
    uint8_t res = 0;
    int rc = store_platform_check(l->st, q->user_id, pw, m->h.gnss_center_id, &ip, &res);
    memset(pw, 0, sizeof pw);
    if (rc < 0) {
        L809_MET_INC(l, store_errors);
        return 5; /* resources busy: retry later */
    }
    if (res == 0 && m->h.edition == JT809_ED_2019 && q->gnss_center_id != m->h.gnss_center_id)
        res = 2;
    if (res == 0 && store_platform_get(l->st, q->user_id, acct) != 0)
        res = 5;
    return res;
}

/* A second login of the same account replaces the older link (newest wins). */
static void l809_replace_older(struct link809 *l, struct l809_link *k, uint32_t user_id)
{
    for (uint32_t i = 0; i < LINK809_MAX_LINKS; i++) {
        struct l809_link *o = &l->links[i];
        if (o != k && o->state == L809_UP && o->user_id == user_id) {
            LOG(LOG_NOTICE, "link809", "user %u logged in again: older link closed",
                user_id);
            l809_close(l, o);
        }
    }
}

/* Makes <k> a logged-in link of account <a>. Returns 1 when the announced subordinate link
 * address is refused (the caller sends 0x9007 after the 0x1002). */
static int l809_login_ok(struct link809 *l, struct l809_link *k, const struct jt809_msg *m,
                         const struct store_platform *a)
{
    l809_replace_older(l, k, a->user_id);
    k->user_id = a->user_id;
    k->access_code = m->h.gnss_center_id;
    k->verify_code = l809_random32();
    k->peer.edition = a->edition == 1   ? JT809_ED_2011
                      : a->edition == 2 ? JT809_ED_2019
                      : l->cfg_edition ? l->cfg_edition
                                       : m->h.edition;
    k->peer.has_keys = (a->m1 | a->ia1 | a->ic1) != 0;
    k->peer.m1 = a->m1;
    k->peer.ia1 = a->ia1;
    k->peer.ic1 = a->ic1;
    k->encrypt_out = l->encrypt_out;
    k->state = L809_UP;
    k->junk = 0;
    L809_MET_INC(l, logins_ok);
    L809_MET_INC(l, links_up);
    k->up_counted = 1;
    const struct jt809_connect_req *q = &m->u.connect_req;
    if (l809_down_allowed(k, q)) {
        k->sub_state = L809_SUB_IDLE;
        k->sub_next_ms = l->now_ms; /* connect on the next tick, after the 0x1002 */
        return 0;
    }
    if (q->down_link_port == 0 || rw_trim(q->down_link_ip).len == 0) {
        LOG(LOG_INFO, "link809", "user %u announced no subordinate link", k->user_id);
        return 0;
    }
    L809_MET_INC(l, sub_refused);
    LOG(LOG_WARN, "link809", "user %u: subordinate link address not allowed", k->user_id);
    return 1;
}

/* Handles the frame of a link that is not logged in: only 0x1001 counts. */
static void l809_login(struct link809 *l, struct l809_link *k)
{
    size_t n;
    uint8_t *raw = jt809_framer_frame(&k->m.fr, &n);
    uint8_t copy[L809_LOGIN_COPY_MAX], dec[L809_LOGIN_COPY_MAX];
    int small = n <= sizeof copy;
    if (small)
        memcpy(copy, raw, n);
    struct jt809_msg m;
    struct jt809_peer nokeys = {.edition = JT809_ED_AUTO};
    int rc = jt809_framer_parse(&k->m.fr, &nokeys, &m);
    struct store_platform acct;
    memset(&acct, 0, sizeof acct);
    if (rc == RW_E_ENCRYPTED && small && m.h.msg_id == JT809_MSG_1001_UP_CONNECT_REQ) {
        struct l809_try t = {copy, n, m.h.gnss_center_id, dec, &m, &acct};
        rc = store_platform_foreach(l->st, l809_try_keys, &t) == 1 ? 0 : RW_E_ENCRYPTED;
    }
    if (rc != 0 || m.h.msg_id != JT809_MSG_1001_UP_CONNECT_REQ || !small) {
        L809_MET_INC(l, frames_unauth);
        if (++k->junk > LINK809_PRELOGIN_JUNK_MAX)
            l809_close(l, k);
        return;
    }
    uint8_t res = l809_login_check(l, k, &m, &acct);
    k->access_code = m.h.gnss_center_id;
    k->peer.edition = m.h.edition;
    int refused = 0;
    if (res == 0) {
        refused = l809_login_ok(l, k, &m, &acct);
        memset(copy + m.h.hdr_len + 4, 0, 8); /* PASSWORD redacted in the raw log */
        l809_raw(l, k, 0, copy, n, STORE_DIR_IN);
    } else {
        L809_MET_INC(l, logins_failed[res < 8 ? res : 6]);
        LOG(LOG_NOTICE, "link809", "login of user %u refused: result %u",
            m.u.connect_req.user_id, res);
    }
    struct jt809_msg r;
    memset(&r, 0, sizeof r);
    r.h.msg_id = JT809_MSG_1002_UP_CONNECT_RSP;
    r.u.connect_rsp.result = res;
    r.u.connect_rsp.verify_code = res == 0 ? k->verify_code : 0;
    uint16_t pinned = k->peer.edition;
    k->peer.edition = m.h.edition; /* the answer in the request's edition */
    l809_send(l, k, 0, &r);
    k->peer.edition = pinned;
    if (res != 0)
        k->state = L809_CLOSING;
    else if (refused)
        l809_send_code(l, k, 0, JT809_MSG_9007_DOWN_DISCONNECT_INFORM, 0x00);
}

/* ---------------------------------------------------------------------------------------
 * Frames of a logged-in link
 */

static void l809_link_msg(struct link809 *l, struct l809_link *k, int sub,
                          const struct jt809_msg *m)
{
    struct jt809_msg r;
    memset(&r, 0, sizeof r);
    switch (m->h.msg_id) {
    case JT809_MSG_1005_UP_LINKTEST_REQ:
        r.h.msg_id = JT809_MSG_1006_UP_LINKTEST_RSP;
        l809_send(l, k, 0, &r);
        break;
    case JT809_MSG_1003_UP_DISCONNECT_REQ:
        r.h.msg_id = JT809_MSG_1004_UP_DISCONNECT_RSP;
        l809_send(l, k, 0, &r);
        l809_sub_close(l, k);
        k->sub_state = L809_SUB_NONE;
        k->state = L809_CLOSING;
        break;
    case JT809_MSG_1007_UP_DISCONNECT_INFORM:
        LOG(LOG_NOTICE, "link809", "user %u: lower reports its main link broken (%u)",
            k->user_id, m->u.code);
        break;
    case JT809_MSG_1008_UP_CLOSELINK_INFORM:
        LOG(LOG_NOTICE, "link809", "user %u closes both links (reason %u)", k->user_id,
            m->u.code);
        l809_close(l, k);
        break;
    case JT809_MSG_9002_DOWN_CONNECT_RSP:
        if (!sub || k->sub_state != L809_SUB_WAIT_RSP)
            break;
        if (m->u.code != 0) {
            l809_sub_fail(l, k, 0x02);
            break;
        }
        k->sub_state = L809_SUB_UP;
        k->sub_next_ms = l->now_ms + l->linktest_ms;
        L809_MET_INC(l, sub_up);
        break;
    case JT809_MSG_9004_DOWN_DISCONNECT_RSP:
        if (sub)
            l809_sub_fail(l, k, 0x01);
        break;
    default:
        break; /* 0x9006 and the rest: the receive time was noted */
    }
}

/* Handles the frame side <sub> of logged-in link <k> has just completed. */
static void l809_frame(struct link809 *l, struct l809_link *k, int sub)
{
    struct l809_side *sd = sub ? &k->s : &k->m;
    size_t n;
    uint8_t *raw = jt809_framer_frame(&sd->fr, &n);
    l809_raw(l, k, sub, raw, n, STORE_DIR_IN); /* as received, before in-place decryption */
    struct jt809_msg m;
    int rc = jt809_framer_parse(&sd->fr, &k->peer, &m);
    if (rc != 0 && rc != RW_E_UNSUPPORTED) {
        L809_MET_INC(l, frames_bad);
        if (++k->bad_frames > l->cfg->bad_frames_max)
            l809_close(l, k);
        return;
    }
    sd->t_last_ms = l->now_ms;
    if (jt809_is_business(m.h.msg_id)) {
        if (rc == 0)
            l809_business(l, k, &m);
        return;
    }
    if (rc == 0)
        l809_link_msg(l, k, sub, &m);
}

/* ---------------------------------------------------------------------------------------
 * Receiving
 */

static void l809_pause(struct link809 *l, struct l809_link *k)
{
    if (k->paused)
        return;
    k->paused = 1;
    l->paused[l->n_paused++] = l809_idx(l, k);
    L809_MET_INC(l, backpressure_events);
    l809_side_ctl(l, k, 0);
    l809_side_ctl(l, k, 1);
}

/* Feeds the parked bytes of side <sub> to its framer, handling every frame. Returns 0 when
 * all were used, 1 when the link paused (no store batch), -1 when it closed. */
static int l809_process(struct link809 *l, struct l809_link *k, int sub)
{
    struct l809_side *sd = sub ? &k->s : &k->m;
    uint16_t gen = k->gen;
    while (sd->rx_off < sd->rx_len && k->state != L809_CLOSING) {
        if (k->state == L809_UP && !l809_room(l)) {
            l809_pause(l, k);
            return 1;
        }
        int st;
        sd->rx_off += (uint32_t)jt809_framer_feed(&sd->fr, sd->rx + sd->rx_off,
                                                  sd->rx_len - sd->rx_off, &st);
        if (st < 0) {
            L809_MET_INC(l, frames_bad);
            if (k->state == L809_NEW ? ++k->junk > LINK809_PRELOGIN_JUNK_MAX
                                     : ++k->bad_frames > l->cfg->bad_frames_max) {
                l809_close(l, k);
                return -1;
            }
        } else if (st == 1) {
            L809_MET_INC(l, frames_in);
            if (k->state == L809_NEW && !sub)
                l809_login(l, k);
            else if (k->state == L809_UP)
                l809_frame(l, k, sub);
            if (k->gen != gen || k->state == L809_FREE)
                return -1;
            if (sub && sd->fd < 0)
                return -1;
        }
        if (k->state == L809_NEW && sd->fr.st.garbage_bytes > LINK809_PRELOGIN_GARBAGE_MAX) {
            l809_close(l, k);
            return -1;
        }
    }
    sd->rx_off = sd->rx_len = 0;
    return 0;
}

static void l809_on_readable(struct link809 *l, struct l809_link *k, int sub)
{
    struct l809_side *sd = sub ? &k->s : &k->m;
    uint16_t gen = k->gen;
    for (int i = 0; i < L809_READ_BUDGET && !k->paused; i++) {
        if (k->gen != gen || sd->fd < 0 || k->state == L809_CLOSING)
            return;
        ssize_t n = recv(sd->fd, sd->rx, sizeof sd->rx, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            if (sub)
                l809_sub_fail(l, k, 0x01);
            else
                l809_close(l, k);
            return;
        }
        L809_MET_ADD(l, bytes_in, (uint64_t)n);
        sd->rx_off = 0;
        sd->rx_len = (uint32_t)n;
        if (l809_process(l, k, sub) != 0)
            return;
    }
}

/* Resumes paused links once a batch is free again, in pause order. */
static void l809_resume(struct link809 *l)
{
    while (l->n_paused && l809_room(l)) {
        uint32_t idx = l->paused[0];
        l->paused[0] = l->paused[--l->n_paused];
        struct l809_link *k = &l->links[idx];
        k->paused = 0;
        uint16_t gen = k->gen;
        if (l809_process(l, k, 0) != 0 || k->gen != gen)
            continue;
        if (k->s.fd >= 0 && l809_process(l, k, 1) > 0)
            continue;
        if (k->gen == gen && k->state != L809_FREE) {
            l809_side_ctl(l, k, 0);
            l809_side_ctl(l, k, 1);
        }
    }
}

static void l809_accept(struct link809 *l)
{
    for (int i = 0; i < L809_ACCEPT_BUDGET; i++) {
        struct sockaddr_storage a;
        socklen_t al = sizeof a;
        int fd = accept4(l->listen_fd, (struct sockaddr *)&a, &al,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (l->n_free == 0) {
            close(fd); /* accept-and-close: the peer learns at once, nothing is held */
            L809_MET_INC(l, links_refused);
            continue;
        }
        uint32_t idx = l->free_list[--l->n_free];
        struct l809_link *k = &l->links[idx];
        uint16_t gen = k->gen;
        memset(k, 0, offsetof(struct l809_link, m));
        k->gen = gen;
        k->state = L809_NEW;
        k->t_open_ms = l->now_ms;
        k->addr = a;
        k->m.fd = fd;
        k->m.rx_off = k->m.rx_len = k->m.out_len = k->m.sn_out = 0;
        k->m.want_out = 0;
        k->m.t_last_ms = l->now_ms;
        k->s.fd = -1;
        k->s.sn_out = 0;
        jt809_framer_init(&k->m.fr);
        l->n_links++;
        L809_MET_INC(l, links_accepted);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (l809_ep_add(l, fd, EPOLLIN, l809_ud(L809_EV_MAIN, idx, k->gen)) != 0)
            l809_close(l, k);
    }
}

/* ---------------------------------------------------------------------------------------
 * Timers and the loop
 */

static void l809_tick_sub(struct link809 *l, struct l809_link *k)
{
    int64_t now = l->now_ms;
    if (k->sub_state == L809_SUB_IDLE && now >= k->sub_next_ms) {
        l809_sub_connect(l, k);
    } else if ((k->sub_state == L809_SUB_CONNECTING || k->sub_state == L809_SUB_WAIT_RSP) &&
               now > k->sub_deadline_ms) {
        l809_sub_fail(l, k, 0x00);
    } else if (k->sub_state == L809_SUB_UP) {
        if (now - k->s.t_last_ms > l->cfg->jt809_link_timeout_s * 1000) {
            L809_MET_INC(l, link_timeouts);
            l809_sub_fail(l, k, 0x01);
        } else if (now >= k->sub_next_ms) {
            struct jt809_msg m;
            memset(&m, 0, sizeof m);
            m.h.msg_id = JT809_MSG_9005_DOWN_LINKTEST_REQ;
            l809_send(l, k, 1, &m);
            k->sub_next_ms = now + l->linktest_ms;
        }
    }
}

static void l809_tick(struct link809 *l)
{
    int64_t now = l->now_ms;
    for (uint32_t i = 0; i < LINK809_MAX_LINKS; i++) {
        struct l809_link *k = &l->links[i];
        if (k->state == L809_NEW && now - k->t_open_ms > LINK809_LOGIN_TIMEOUT_S * 1000) {
            l809_close(l, k);
        } else if (k->state == L809_CLOSING && now - k->m.t_last_ms > 5000) {
            l809_close(l, k); /* its last answer could not be sent: the peer is not reading */
        } else if (k->state == L809_UP) {
            if (now - k->m.t_last_ms > l->cfg->jt809_link_timeout_s * 1000) {
                L809_MET_INC(l, link_timeouts);
                LOG(LOG_NOTICE, "link809", "user %u: main link silent, closed", k->user_id);
                l809_close(l, k);
                continue;
            }
            l809_tick_sub(l, k);
        }
    }
}

static void l809_event(struct link809 *l, const struct epoll_event *ev)
{
    uint64_t ud = ev->data.u64;
    enum l809_ev kind = (enum l809_ev)(ud >> 56);
    if (kind == L809_EV_LISTEN) {
        l809_accept(l);
        return;
    }
    if (kind == L809_EV_WAKE) {
        uint64_t v;
        ssize_t n = read(l->wake_fd, &v, sizeof v);
        (void)n;
        return;
    }
    uint32_t idx = (uint32_t)ud;
    if (idx >= LINK809_MAX_LINKS)
        return;
    struct l809_link *k = &l->links[idx];
    int sub = kind == L809_EV_SUB;
    if (k->gen != (uint16_t)(ud >> 32) || k->state == L809_FREE || (sub && k->s.fd < 0))
        return;
    if (sub && k->sub_state == L809_SUB_CONNECTING) {
        if (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            l809_sub_connected(l, k);
        return;
    }
    if (ev->events & EPOLLOUT)
        l809_mark_dirty(l, k);
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        l809_on_readable(l, k, sub);
}

/* Flushes output (H7), hands the open batch to the store, resumes paused links. */
static void l809_end_iteration(struct link809 *l)
{
    /* A flush may queue more output (a failed subordinate link sends 0x9007 on the main
     * one), so the list is drained, with a budget. */
    for (uint32_t b = 0; l->n_dirty && b < 2 * LINK809_MAX_LINKS; b++) {
        uint32_t idx = l->dirty[--l->n_dirty];
        l->links[idx].dirty = 0;
        l809_flush(l, &l->links[idx]);
    }
    if (l->cur && (l->cur_pos || l->cur_raw) && store_batch_submit(l->st, l->cur) == 0) {
        l->inflight++;
        l->cur = NULL;
    }
    if (l->n_paused)
        l809_resume(l);
}

static void l809_iteration(struct link809 *l)
{
    l->now_ms = l809_clock_ms();
    l809_reap(l);
    if (l->now_ms >= l->next_tick_ms) {
        l809_tick(l);
        l->next_tick_ms = l->now_ms + L809_TICK_MS;
    }
    l809_end_iteration(l);
    if (l->mesh)
        mesh_flush(l->mesh, l->mesh_p);
    struct epoll_event evs[L809_EVENTS];
    int timeout = l->inflight || l->n_paused || l->n_dirty ? 5 : L809_TICK_MS;
    int n = epoll_wait(l->ep, evs, L809_EVENTS, timeout);
    l->now_ms = l809_clock_ms();
    for (int i = 0; i < n; i++)
        l809_event(l, &evs[i]);
}

static void l809_shutdown(struct link809 *l)
{
    /* 0x9008 DOWN_CLOSELINK_INFORM (reason 0x00, gateway restart), sent best effort. */
    l->now_ms = l809_clock_ms();
    for (uint32_t i = 0; i < LINK809_MAX_LINKS; i++) {
        struct l809_link *k = &l->links[i];
        if (k->state == L809_UP) {
            l809_send_code(l, k, 0, JT809_MSG_9008_DOWN_CLOSELINK_INFORM, 0x00);
            l809_side_flush(l, k, 0);
        }
    }
    for (uint32_t i = 0; i < LINK809_MAX_LINKS; i++)
        if (l->links[i].state != L809_FREE)
            l809_close(l, &l->links[i]);
    if (l->cur && (l->cur_pos || l->cur_raw) && store_batch_submit(l->st, l->cur) == 0) {
        l->inflight++;
        l->cur = NULL;
    }
    for (int i = 0; i < 200 && l->inflight; i++) {
        l809_reap(l);
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    if (l->cur) {
        store_batch_release(l->st, l->cur);
        l->cur = NULL;
    }
}

void link809_set_mesh(struct link809 *l, struct mesh *mesh, unsigned p)
{
    l->mesh = mesh;
    l->mesh_p = p;
}

void *link809_main(void *arg)
{
    struct link809 *l = arg;
    rw_shard_id = (int)l->shard;
    pthread_setname_np(pthread_self(), "rw-jt809");
    l->now_ms = l809_clock_ms();
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE))
        l809_iteration(l);
    l809_shutdown(l);
    return NULL;
}
