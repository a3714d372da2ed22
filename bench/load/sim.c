/* sim.c: load run over epoll (sim.h). One worker per thread, shared nothing. */
#include "bench/load/sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/assert.h"
#include "engine/base/mem.h"

#define SIM_OUT_CAP (64u * 1024u)
#define SIM_RX_CHUNK (16u * 1024u)
#define SIM_EVENTS 256
#define SIM_TICK_NS 2000000ull
#define SIM_CONNECTS_PER_TICK 64u
/* JT/T 809 platforms: epoll user data = SIM_EV_PLAT | kind << 32 | platform slot. */
#define SIM_PLAT_OUT_CAP (256u * 1024u)
#define SIM_PLAT_SUB_CAP (16u * 1024u)
#define SIM_EV_PLAT (1ull << 63)
#define SIM_EV_MAIN 0u
#define SIM_EV_LISTEN 1u
#define SIM_EV_SUB 2u
#define SIM_PLAT_FLUSH_MS 2000   /* blocking flush before a graceful close */
#define SIM_PLAT_CLOSE_NS 3000000000ull /* wait for the engine's EOF at most this long */
#define SIM_PLAT_REUP_PER_TICK 16u

struct sim_plink {
    uint8_t connecting;
    uint8_t closing;       /* shutdown(SHUT_WR) sent, waiting for EOF */
    uint64_t close_deadline_ns;
    uint32_t len[2];
    uint8_t *out[2];       /* main SIM_PLAT_OUT_CAP, sub SIM_PLAT_SUB_CAP */
};

struct sim_link {
    int fd;
    uint32_t len;
    uint8_t connecting;
    uint8_t dirty;
    uint8_t *out;          /* SIM_OUT_CAP, TCP only */
};

struct sim_worker {
    pthread_t th;
    unsigned id;
    int ep;
    const struct scenario *s;
    const struct sim_opts *o;
    struct term_cfg cfg;
    struct term **terms;
    struct sim_link *links;
    uint32_t n_terms;
    uint32_t *dirty;
    uint32_t n_dirty;
    struct term_stats st;
    struct hist ack, ack_sec, ack_rx;
    struct term_env env;
    uint64_t t0_ns, warm_ns, end_ns, drain_ns;
    struct sockaddr_in dst;
    double scale;
    int64_t gnss_cap;
    /* Published once a second under mu. */
    pthread_mutex_t mu;
    struct term_stats snap, snap_warm;
    struct hist snap_sec;
    uint64_t snap_outstanding;
    uint32_t snap_up, snap_failed;
    uint32_t up, failed;
    int done;
    /* JT/T 809 lower platforms of this worker (i = id, id + T, ...). */
    struct plat **plats;
    struct sim_plink *plinks;
    uint32_t n_plats;
    struct plat_cfg pcfg;
    struct plat_env penv;
    struct sockaddr_in dst809;
    struct plat_stats psnap; /* published with snap */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long sim_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -errno;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -errno;
    return (long)rl.rlim_cur;
}

int sim_proc_sample(int pid, double *cpu_s, uint64_t *rss_kb)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, stt = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                     &stt) != 2)
        return -EINVAL;
    *cpu_s = (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (!f)
        return -errno;
    *rss_kb = 0;
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "VmRSS: %lu", &ut) == 1)
            *rss_kb = ut;
    fclose(f);
    return 0;
}

/* The value of the first line of <path> that starts with <key> (KiB), or -errno. */
static int proc_kb_field(const char *path, const char *key, uint64_t *kb)
{
    char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    size_t klen = strlen(key);
    int rc = -ENOENT;
    while (rc && fgets(buf, sizeof buf, f)) {
        unsigned long long v;
        if (strncmp(buf, key, klen) == 0 && sscanf(buf + klen, " %llu", &v) == 1) {
            *kb = (uint64_t)v;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

int sim_proc_anon(int pid, uint64_t *anon_kb)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    return proc_kb_field(path, "RssAnon:", anon_kb);
}

int sim_slab_kb(uint64_t *slab_kb)
{
    return proc_kb_field("/proc/meminfo", "Slab:", slab_kb);
}

void sim_stats_add(struct term_stats *dst, const struct term_stats *src)
{
    const uint64_t *s = (const uint64_t *)(const void *)src;
    uint64_t *d = (uint64_t *)(void *)dst;
    STATIC_ASSERT(sizeof *src % sizeof(uint64_t) == 0, "term_stats holds only uint64_t");
    for (size_t i = 0; i < sizeof *src / sizeof(uint64_t); i++)
        d[i] += s[i];
}

static int sim_send(void *ctx, struct term *t, const uint8_t *frame, size_t len)
{
    struct sim_worker *w = ctx;
    struct sim_link *l = &w->links[t->conn_slot];
    if (l->fd < 0 || l->connecting)
        return -ENOTCONN;
    if (t->udp) {
        ssize_t k = send(l->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        return k == (ssize_t)len ? 0 : -EAGAIN;
    }
    if (l->len + len > SIM_OUT_CAP)
        return -EAGAIN;
    memcpy(l->out + l->len, frame, len);
    l->len += (uint32_t)len;
    if (!l->dirty) {
        l->dirty = 1;
        w->dirty[w->n_dirty++] = t->conn_slot;
    }
    return 0;
}

static void link_close(struct sim_worker *w, uint32_t i, uint64_t now)
{
    struct sim_link *l = &w->links[i];
    if (l->fd >= 0) {
        close(l->fd);
        if (!l->connecting)
            w->up--;
    }
    l->fd = -1;
    l->len = 0;
    l->connecting = 0;
    term_on_disconnected(w->terms[i], &w->env, now);
}

static void link_connect(struct sim_worker *w, uint32_t i, uint64_t now)
{
    struct term *t = w->terms[i];
    struct sim_link *l = &w->links[i];
    int fd = socket(AF_INET, (t->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        w->failed++;
        term_on_disconnected(t, &w->env, now);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (!t->udp)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Kernel receive timestamps: the ack latency also ends where the answer arrived, not
     * only where this thread read it (term_env.rx_ns). */
    (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    /* Spread connections over loopback source addresses 127.0.0.2, .3, ... */
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7F000002u + t->index % w->s->source_addrs);
    (void)bind(fd, (struct sockaddr *)&src, sizeof src);
    int rc = connect(fd, (struct sockaddr *)&w->dst, sizeof w->dst);
    if (rc != 0 && errno != EINPROGRESS) {
        close(fd);
        w->failed++;
        term_on_disconnected(t, &w->env, now);
        return;
    }
    l->fd = fd;
    l->connecting = rc != 0;
    if (l->connecting)
        t->state = TERM_S_CONNECTING; /* not DOWN: the next tick must not connect again */
    struct epoll_event ev = {.events = EPOLLIN | (l->connecting ? EPOLLOUT : 0u),
                             .data.u64 = i};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        w->failed++;
        term_on_disconnected(t, &w->env, now);
        return;
    }
    if (!l->connecting) {
        w->up++;
        term_on_connected(t, &w->env, now);
    }
}

static void link_flush(struct sim_worker *w, uint32_t i, uint64_t now)
{
    struct sim_link *l = &w->links[i];
    l->dirty = 0;
    if (l->fd < 0 || l->len == 0)
        return;
    ssize_t k = send(l->fd, l->out, l->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0) {
        if (errno != EAGAIN)
            link_close(w, i, now);
        return;
    }
    memmove(l->out, l->out + k, l->len - (size_t)k);
    l->len -= (uint32_t)k;
}

static void on_connect_done(struct sim_worker *w, uint32_t i, uint64_t now)
{
    struct sim_link *l = &w->links[i];
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        w->failed++;
        link_close(w, i, now);
        return;
    }
    l->connecting = 0;
    w->up++;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, l->fd, &ev);
    term_on_connected(w->terms[i], &w->env, now);
}

/* CLOCK_MONOTONIC time at which the kernel received the bytes just read, from the
 * SCM_TIMESTAMPNS of <m> (CLOCK_REALTIME); 0 when absent. For TCP it is the timestamp of
 * the last segment read, so a read that drains several answers dates them all at the
 * last one's arrival: never earlier than the truth. */
static uint64_t rx_mono_ns(struct msghdr *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec k, rt, mono;
        memcpy(&k, CMSG_DATA(c), sizeof k);
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        int64_t waited = (rt.tv_sec - k.tv_sec) * 1000000000ll + (rt.tv_nsec - k.tv_nsec);
        uint64_t m_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
        if (k.tv_sec == 0 || waited < 0)
            return m_ns;
        return (uint64_t)waited < m_ns ? m_ns - (uint64_t)waited : 0;
    }
    return 0;
}

static void on_readable(struct sim_worker *w, uint32_t i, uint64_t now)
{
    uint8_t buf[SIM_RX_CHUNK];
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(struct timespec)) * 2];
    } ctl;
    for (int round = 0; round < 4 && w->links[i].fd >= 0; round++) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
                            .msg_controllen = sizeof ctl.b};
        ssize_t k = recvmsg(w->links[i].fd, &mh, MSG_DONTWAIT);
        w->env.rx_ns = k > 0 ? rx_mono_ns(&mh) : 0;
        if (k < 0 && (errno == EAGAIN || errno == ECONNREFUSED) && w->terms[i]->udp)
            return; /* UDP: an ICMP refusal is not a link loss */
        if (k <= 0) {
            if (k < 0 && errno == EAGAIN)
                return;
            link_close(w, i, now);
            return;
        }
        if (term_on_bytes(w->terms[i], &w->env, buf, (size_t)k, now) == TERM_ACT_CLOSE) {
            link_close(w, i, now);
            return;
        }
    }
}


/* ---------------------------------------------------------------------------------------
 * JT/T 809 lower platforms (plat.h): main link to the engine, our listening socket, the
 * engine's subordinate link to it.
 */

static int plat_send_cb(void *ctx, struct plat *p, int side, const uint8_t *frame,
                        size_t len)
{
    struct sim_worker *w = ctx;
    struct sim_plink *l = &w->plinks[p->slot];
    size_t cap = side == PLAT_MAIN ? SIM_PLAT_OUT_CAP : SIM_PLAT_SUB_CAP;
    if (p->fd[side] < 0 || (side == PLAT_MAIN && (l->connecting || l->closing)))
        return -ENOTCONN;
    if (l->len[side] + len > cap)
        return -EAGAIN;
    memcpy(l->out[side] + l->len[side], frame, len);
    l->len[side] += (uint32_t)len;
    return 0;
}

static void plat_close_side(struct sim_worker *w, uint32_t k, int side, uint64_t now)
{
    struct plat *p = w->plats[k];
    struct sim_plink *l = &w->plinks[k];
    if (p->fd[side] >= 0) {
        close(p->fd[side]);
        if (side == PLAT_MAIN && !l->connecting)
            w->up--;
    }
    p->fd[side] = -1;
    l->len[side] = 0;
    if (side == PLAT_MAIN) {
        l->connecting = 0;
        l->closing = 0;
        plat_on_disconnected(p, &w->penv, now);
    }
}

/* Sends what <side> has queued; a hard error closes that link. */
static void plat_flush(struct sim_worker *w, uint32_t k, int side, uint64_t now)
{
    struct plat *p = w->plats[k];
    struct sim_plink *l = &w->plinks[k];
    if (p->fd[side] < 0 || l->len[side] == 0 || (side == PLAT_MAIN && l->connecting))
        return;
    ssize_t n = send(p->fd[side], l->out[side], l->len[side], MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        if (errno != EAGAIN)
            plat_close_side(w, k, side, now);
        return;
    }
    memmove(l->out[side], l->out[side] + n, l->len[side] - (size_t)n);
    l->len[side] -= (uint32_t)n;
}

/* Graceful close of the main link (outage or end of run): everything queued is sent
 * (bounded wait), then shutdown(SHUT_WR); the engine reads up to our FIN, so every position
 * counted as sent has been read by it, and then closes both links (EOF here). Closing with
 * unread bytes in our receive buffer would send a RST instead and could lose data. */
static void plat_shut(struct sim_worker *w, uint32_t k, uint64_t now)
{
    struct plat *p = w->plats[k];
    struct sim_plink *l = &w->plinks[k];
    for (int waited = 0; l->len[PLAT_MAIN] > 0 && p->fd[PLAT_MAIN] >= 0 &&
                         waited < SIM_PLAT_FLUSH_MS; waited += 10) {
        plat_flush(w, k, PLAT_MAIN, now);
        struct pollfd pf = {.fd = p->fd[PLAT_MAIN], .events = POLLOUT};
        if (l->len[PLAT_MAIN] > 0 && p->fd[PLAT_MAIN] >= 0)
            (void)poll(&pf, 1, 10);
    }
    if (p->fd[PLAT_MAIN] < 0)
        return;
    if (l->len[PLAT_MAIN] > 0)
        fprintf(stderr, "platform %u: %u bytes not flushed before the close\n", p->user_id,
                l->len[PLAT_MAIN]);
    (void)shutdown(p->fd[PLAT_MAIN], SHUT_WR);
    l->len[PLAT_MAIN] = 0;
    l->closing = 1;
    l->close_deadline_ns = now + SIM_PLAT_CLOSE_NS;
    plat_on_closing(p);
}

static void plat_connect(struct sim_worker *w, uint32_t k, uint64_t now)
{
    struct plat *p = w->plats[k];
    struct sim_plink *l = &w->plinks[k];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        w->failed++;
        plat_on_disconnected(p, &w->penv, now);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(fd, (struct sockaddr *)&w->dst809, sizeof w->dst809);
    struct epoll_event ev = {.events = EPOLLIN | (rc != 0 ? EPOLLOUT : 0u),
                             .data.u64 = SIM_EV_PLAT | (uint64_t)SIM_EV_MAIN << 32 | k};
    if ((rc != 0 && errno != EINPROGRESS) || epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        w->failed++;
        plat_on_disconnected(p, &w->penv, now);
        return;
    }
    p->fd[PLAT_MAIN] = fd;
    p->state = PLAT_S_CONNECTING;
    l->connecting = rc != 0;
    l->closing = 0;
    l->len[PLAT_MAIN] = 0;
    if (!l->connecting) {
        w->up++;
        plat_on_connected(p, &w->penv, now);
    }
}

static int plat_listen(struct sim_worker *w, uint32_t k)
{
    struct plat *p = w->plats[k];
    uint16_t base = w->s->plat.listen_port_base;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(base ? (uint16_t)(base + p->index) : 0),
                            .sin_addr.s_addr = htonl(0x7F000001u)};
    socklen_t al = sizeof a;
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u64 = SIM_EV_PLAT | (uint64_t)SIM_EV_LISTEN << 32 | k};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
        epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int e = -errno;
        close(fd);
        fprintf(stderr, "platform %u: cannot listen on 127.0.0.1:%u: %s\n", p->user_id,
                base ? base + p->index : 0u, strerror(-e));
        return e;
    }
    p->lfd = fd;
    p->listen_port = ntohs(a.sin_port);
    return 0;
}

/* The engine connects our listening socket: that is the subordinate link (newest wins). */
static void plat_accept(struct sim_worker *w, uint32_t k, uint64_t now)
{
    struct plat *p = w->plats[k];
    int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    plat_close_side(w, k, PLAT_SUB, now);
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u64 = SIM_EV_PLAT | (uint64_t)SIM_EV_SUB << 32 | k};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return;
    }
    p->fd[PLAT_SUB] = fd;
    jt809_framer_init(p->fr[PLAT_SUB]);
}

static void plat_act(struct sim_worker *w, uint32_t k, int act, uint64_t now)
{
    if (act == PLAT_ACT_CLOSE_MAIN)
        plat_close_side(w, k, PLAT_MAIN, now);
    else if (act == PLAT_ACT_CLOSE_SUB) {
        plat_flush(w, k, PLAT_SUB, now);
        plat_close_side(w, k, PLAT_SUB, now);
    }
}

static void plat_readable(struct sim_worker *w, uint32_t k, int side, uint64_t now)
{
    struct plat *p = w->plats[k];
    uint8_t buf[SIM_RX_CHUNK];
    for (int round = 0; round < 4 && p->fd[side] >= 0; round++) {
        ssize_t n = recv(p->fd[side], buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EOF: the engine closed (after our FIN, or on its own) */
            plat_close_side(w, k, side, now);
            return;
        }
        plat_act(w, k, plat_on_bytes(p, &w->penv, side, buf, (size_t)n, now), now);
    }
}

static void plat_event(struct sim_worker *w, uint64_t ud, uint32_t events, uint64_t now)
{
    uint32_t k = (uint32_t)ud, kind = (uint32_t)(ud >> 32) & 0xFFu;
    struct plat *p = w->plats[k];
    struct sim_plink *l = &w->plinks[k];
    if (kind == SIM_EV_LISTEN) {
        plat_accept(w, k, now);
    } else if (kind == SIM_EV_SUB) {
        if (p->fd[PLAT_SUB] >= 0)
            plat_readable(w, k, PLAT_SUB, now);
    } else if (p->fd[PLAT_MAIN] >= 0 && l->connecting &&
               (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(p->fd[PLAT_MAIN], SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            w->failed++;
            plat_close_side(w, k, PLAT_MAIN, now);
            return;
        }
        l->connecting = 0;
        w->up++;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ud};
        epoll_ctl(w->ep, EPOLL_CTL_MOD, p->fd[PLAT_MAIN], &ev);
        plat_on_connected(p, &w->penv, now);
    } else if (p->fd[PLAT_MAIN] >= 0) {
        plat_readable(w, k, PLAT_MAIN, now);
    }
}

/* One pass over the platforms: outages, reconnects, positions, link tests, the end of the
 * run. Platforms follow the paced GNSS clock even in max-rate mode (their load is set by
 * K and report_s, not by a window). */
static void plat_tick_all(struct sim_worker *w, uint64_t now, int draining)
{
    int64_t gnss = w->s->start_t + (int64_t)((double)(now - w->t0_ns) / 1e9 * w->scale);
    for (uint32_t k = 0; k < w->n_plats; k++) {
        struct plat *p = w->plats[k];
        struct sim_plink *l = &w->plinks[k];
        int cut = scn_plat_in_outage(w->s, p->index, gnss);
        if (l->closing && now >= l->close_deadline_ns)
            plat_close_side(w, k, PLAT_MAIN, now);
        if (cut && p->fd[PLAT_MAIN] >= 0 && !l->closing && !l->connecting)
            plat_shut(w, k, now);
        else if (!cut && p->state == PLAT_S_DOWN && now >= p->reconnect_ns &&
                 (!draining || plat_outstanding(p) > 0))
            plat_connect(w, k, now);
        else if (draining && p->state == PLAT_S_ONLINE && plat_outstanding(p) == 0 &&
                 l->len[PLAT_MAIN] == 0)
            plat_shut(w, k, now); /* everything sent: end the session cleanly */
        size_t room = p->fd[PLAT_MAIN] >= 0 && !l->connecting && !l->closing
                          ? SIM_PLAT_OUT_CAP - l->len[PLAT_MAIN] : 0;
        plat_act(w, k, plat_tick(p, &w->penv, now, gnss, room, SIM_PLAT_REUP_PER_TICK), now);
        plat_flush(w, k, PLAT_MAIN, now);
        plat_flush(w, k, PLAT_SUB, now);
    }
}

/* Platforms still owe positions or hold an open main link (the drain waits for both). */
static int plat_busy(const struct sim_worker *w)
{
    for (uint32_t k = 0; k < w->n_plats; k++)
        if (plat_outstanding(w->plats[k]) > 0 || w->plats[k]->fd[PLAT_MAIN] >= 0)
            return 1;
    return 0;
}

static int plat_setup(struct sim_worker *w, unsigned nw)
{
    const struct scenario *s = w->s;
    w->pcfg = (struct plat_cfg){.report_s = s->plat.report_s,
                                .link_test_s = s->plat.link_test_s,
                                .login_timeout_ms = 3 * s->term.reply_timeout_ms,
                                .reconnect_ms = s->term.reconnect_ms,
                                .missed_max = s->term.blind_max,
                                .time_scale = w->scale};
    w->penv = (struct plat_env){.cfg = &w->pcfg, .net = &s->net, .send = plat_send_cb,
                                .ctx = w};
    w->dst809.sin_family = AF_INET;
    w->dst809.sin_port = htons(w->o->port_809 ? w->o->port_809 : s->port_809);
    if (inet_pton(AF_INET, w->o->host ? w->o->host : s->host, &w->dst809.sin_addr) != 1)
        return -EINVAL;
    uint32_t m = w->o->open_loop ? 0 : s->plat.count;
    w->n_plats = (m + nw - 1 - w->id) / nw;
    w->plats = mem_calloc(w->n_plats + 1u, sizeof *w->plats);
    w->plinks = mem_calloc(w->n_plats + 1u, sizeof *w->plinks);
    if (!w->plats || !w->plinks)
        return -ENOMEM;
    for (uint32_t k = 0; k < w->n_plats; k++) {
        int rc = plat_create(s, &w->pcfg, w->id + k * nw, &w->plats[k]);
        if (rc)
            return rc;
        w->plats[k]->slot = k;
        w->plinks[k].out[0] = mem_alloc(SIM_PLAT_OUT_CAP);
        w->plinks[k].out[1] = mem_alloc(SIM_PLAT_SUB_CAP);
        if (!w->plinks[k].out[0] || !w->plinks[k].out[1])
            return -ENOMEM;
        if ((rc = plat_listen(w, k)) != 0)
            return rc;
    }
    return 0;
}

static void plat_teardown(struct sim_worker *w)
{
    for (uint32_t k = 0; w->plats && k < w->n_plats; k++) {
        struct plat *p = w->plats[k];
        if (p) {
            for (int side = 0; side < 2; side++)
                if (p->fd[side] >= 0)
                    close(p->fd[side]);
            if (p->lfd >= 0)
                close(p->lfd);
        }
        mem_free(w->plinks[k].out[0]);
        mem_free(w->plinks[k].out[1]);
        plat_destroy(p);
    }
    MEM_FREE(w->plats);
    MEM_FREE(w->plinks);
}

static void plat_stats_sum(struct plat_stats *dst, const struct plat_stats *src)
{
    const uint64_t *a = (const uint64_t *)(const void *)src;
    uint64_t *d = (uint64_t *)(void *)dst;
    STATIC_ASSERT(sizeof *src % sizeof(uint64_t) == 0, "plat_stats holds only uint64_t");
    for (size_t i = 0; i < sizeof *src / sizeof(uint64_t); i++)
        d[i] += a[i];
}

static void worker_plat_stats(const struct sim_worker *w, struct plat_stats *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t k = 0; k < w->n_plats; k++)
        plat_stats_sum(out, &w->plats[k]->st);
}

static void worker_events(struct sim_worker *w, int timeout_ms)
{
    struct epoll_event ev[SIM_EVENTS];
    int n = epoll_wait(w->ep, ev, SIM_EVENTS, timeout_ms);
    uint64_t now = now_ns();
    for (int k = 0; k < n; k++) {
        if (ev[k].data.u64 & SIM_EV_PLAT) {
            plat_event(w, ev[k].data.u64, ev[k].events, now);
            continue;
        }
        uint32_t i = (uint32_t)ev[k].data.u64;
        struct sim_link *l = &w->links[i];
        if (l->fd < 0)
            continue;
        if (l->connecting && (ev[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            on_connect_done(w, i, now);
        else if (ev[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            on_readable(w, i, now);
    }
}

static int in_outage(const struct sim_worker *w, const struct term *t, int64_t gnss)
{
    const struct scenario *s = w->s;
    for (uint32_t k = 0; k < s->n_outage; k++) {
        const struct scn_outage *o = &s->outage[k];
        int64_t a = s->start_t + (int64_t)o->at_s;
        if (gnss < a || gnss >= a + (int64_t)o->duration_s)
            continue;
        uint64_t st = s->seed ^ (t->index * 0xA24BAED4963EE407ull) ^ (k + 11u);
        if ((double)(road_rand(&st) >> 11) / 9007199254740992.0 < o->fraction)
            return 1;
    }
    return 0;
}

static int64_t worker_gnss(const struct sim_worker *w, uint64_t now)
{
    if (w->gnss_cap)
        return w->gnss_cap;
    return w->s->start_t + (int64_t)((double)(now - w->t0_ns) / 1e9 * w->scale);
}

/* One pass over the terminals: reconnects, outages, positions, retransmissions. */
static void worker_tick(struct sim_worker *w, uint64_t now, int draining)
{
    int64_t gnss = worker_gnss(w, now);
    unsigned connects = 0; /* bounded per pass: a SYN burst overflows the backlog */
    for (uint32_t i = 0; i < w->n_terms; i++) {
        struct term *t = w->terms[i];
        struct sim_link *l = &w->links[i];
        if (in_outage(w, t, gnss)) {
            if (l->fd >= 0)
                link_close(w, i, now);
        } else if (t->state == TERM_S_DOWN && l->fd < 0 && now >= t->reconnect_ns &&
                   (!draining || (!w->cfg.open_loop && term_outstanding(t) > 0)) &&
                   connects < SIM_CONNECTS_PER_TICK) {
            connects++;
            link_connect(w, i, now);
        }
        unsigned budget = 64;
        if (w->cfg.open_loop) {
            if (t->udp)
                budget = 8;
            else
                budget = l->len + 8192 > SIM_OUT_CAP ? 0 : 64;
        }
        if (term_tick(t, &w->env, now, gnss, budget) == TERM_ACT_CLOSE && l->fd >= 0)
            link_close(w, i, now);
    }
    for (uint32_t k = 0; k < w->n_dirty; k++)
        link_flush(w, w->dirty[k], now);
    w->n_dirty = 0;
    plat_tick_all(w, now, draining);
}

static uint64_t worker_outstanding(const struct sim_worker *w)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < w->n_terms; i++)
        n += term_outstanding(w->terms[i]);
    return n;
}

static void worker_publish(struct sim_worker *w)
{
    uint64_t out = worker_outstanding(w);
    for (uint32_t k = 0; k < w->n_plats; k++)
        out += plat_outstanding(w->plats[k]);
    struct plat_stats ps;
    worker_plat_stats(w, &ps);
    pthread_mutex_lock(&w->mu);
    w->psnap = ps;
    w->snap = w->st;
    hist_merge(&w->snap_sec, &w->ack_sec);
    w->snap_outstanding = out;
    w->snap_up = w->up;
    w->snap_failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    hist_reset(&w->ack_sec);
}

static void *worker_main(void *arg)
{
    struct sim_worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "sim-worker-%u", w->id % 100u);
    pthread_setname_np(pthread_self(), name);
    /* Counters are published a quarter second before each whole second, when the main
     * thread reads them (sim_run): publishing on the same instant made the reader see the
     * same snapshot twice (a second of 0/s, then a double one) whenever it woke first. */
    uint64_t next_tick = 0, next_pub = w->t0_ns + 750000000ull;
    int warm_done = w->warm_ns <= w->t0_ns, draining = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (!warm_done && now >= w->warm_ns) {
            warm_done = 1;
            hist_reset(&w->ack);
            hist_reset(&w->ack_rx);
            pthread_mutex_lock(&w->mu);
            w->snap_warm = w->st;
            pthread_mutex_unlock(&w->mu);
        }
        if (!draining && now >= w->end_ns) {
            draining = 1;
            for (uint32_t i = 0; i < w->n_terms; i++)
                w->terms[i]->end_t = w->terms[i]->next_t;
            int64_t g = w->s->start_t + (int64_t)((double)(now - w->t0_ns) / 1e9 * w->scale);
            for (uint32_t k = 0; k < w->n_plats; k++)
                w->plats[k]->end_t = g;
        }
        if (draining && (now >= w->drain_ns || w->cfg.open_loop ||
                         (worker_outstanding(w) == 0 && !plat_busy(w))))
            break;
        int sent = 0;
        if (now >= next_tick || w->cfg.open_loop || w->s->max_rate) {
            uint64_t tx0 = w->st.tx_bytes;
            worker_tick(w, now, draining);
            sent = w->st.tx_bytes != tx0;
            next_tick = now + SIM_TICK_NS;
        }
        if (now >= next_pub) {
            worker_publish(w);
            next_pub += 1000000000ull;
        }
        /* Open loop (the null-sink ceiling) never waits. At "max" a pass that sent nothing
         * (every window full: the target has not answered yet) sleeps until an answer
         * arrives, at most 1 ms, instead of spinning: the spin took a core from the
         * target it measures on a machine they share (3.6 µs of simulator CPU per record
         * against 1.5 paced). An answer wakes it at once, so no send waits for it. */
        worker_events(w, w->cfg.open_loop || (w->s->max_rate && sent) ? 0 : 1);
    }
    worker_publish(w);
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int worker_setup(struct sim_worker *w, const struct scenario *s,
                        const struct sim_opts *o, unsigned id, unsigned nw)
{
    w->id = id;
    w->s = s;
    w->o = o;
    w->cfg = s->term;
    w->cfg.open_loop = (uint8_t)(o->open_loop != 0);
    w->cfg.max_rate = (uint8_t)(s->max_rate != 0 && !o->open_loop);
    w->scale = o->time_scale > 0 ? o->time_scale : s->time_scale;
    w->cfg.time_scale = w->scale;
    w->gnss_cap = (o->open_loop || s->max_rate) ? INT64_MAX / 2 : 0;
    hist_reset(&w->ack);
    hist_reset(&w->ack_sec);
    hist_reset(&w->ack_rx);
    hist_reset(&w->snap_sec);
    w->env = (struct term_env){.cfg = &w->cfg, .net = &s->net, .st = &w->st,
                               .ack_lat = &w->ack, .ack_lat_sec = &w->ack_sec,
                               .ack_lat_rx = &w->ack_rx,
                               .send = sim_send, .ctx = w};
    w->dst.sin_family = AF_INET;
    w->dst.sin_port = htons(o->port_808 ? o->port_808 : s->port_808);
    if (inet_pton(AF_INET, o->host ? o->host : s->host, &w->dst.sin_addr) != 1)
        return -EINVAL;
    w->n_terms = (s->vehicles + nw - 1 - id) / nw;
    w->terms = mem_calloc(w->n_terms + 1u, sizeof *w->terms);
    w->links = mem_calloc(w->n_terms + 1u, sizeof *w->links);
    w->dirty = mem_calloc(w->n_terms + 1u, sizeof *w->dirty);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!w->terms || !w->links || !w->dirty || w->ep < 0)
        return -ENOMEM;
    for (uint32_t k = 0; k < w->n_terms; k++) {
        uint32_t idx = id + k * nw;
        char plate[64];
        scn_term_plate(s, idx, plate, sizeof plate);
        uint32_t nv;
        const struct road_violation *v = scn_vio_of(s, idx, &nv);
        int rc = term_create(&w->cfg, &s->net, s->seed, idx, scn_term_edition(s, idx),
                             scn_term_udp(s, idx), plate, scn_term_first_t(s, idx), v, nv,
                             &w->terms[k]);
        if (rc)
            return rc;
        w->terms[k]->conn_slot = k;
        w->links[k].fd = -1;
        w->links[k].out = w->terms[k]->udp ? NULL : mem_alloc(SIM_OUT_CAP);
        if (!w->terms[k]->udp && !w->links[k].out)
            return -ENOMEM;
    }
    return plat_setup(w, nw);
}

static void worker_teardown(struct sim_worker *w)
{
    for (uint32_t k = 0; w->terms && k < w->n_terms; k++) {
        if (w->links[k].fd >= 0)
            close(w->links[k].fd);
        mem_free(w->links[k].out);
        term_destroy(w->terms[k]);
    }
    MEM_FREE(w->terms);
    MEM_FREE(w->links);
    MEM_FREE(w->dirty);
    plat_teardown(w);
    if (w->ep >= 0)
        close(w->ep);
    pthread_mutex_destroy(&w->mu);
}

/* Collects one second from every worker into r->sec[] and prints the progress line. */
static int sim_second(struct sim_worker *ws, unsigned nw, const struct sim_opts *o,
                      struct sim_result *r, double t_s, double dur, struct term_stats *prev,
                      double *prev_cpu)
{
    struct term_stats tot;
    memset(&tot, 0, sizeof tot);
    struct hist sec;
    hist_reset(&sec);
    uint64_t out = 0, p809 = 0;
    uint32_t up = 0;
    int done = 1;
    for (unsigned k = 0; k < nw; k++) {
        pthread_mutex_lock(&ws[k].mu);
        p809 += ws[k].psnap.sent_1202 + ws[k].psnap.sent_1203_items;
        sim_stats_add(&tot, &ws[k].snap);
        hist_merge(&sec, &ws[k].snap_sec);
        hist_reset(&ws[k].snap_sec);
        out += ws[k].snap_outstanding;
        up += ws[k].snap_up;
        done &= ws[k].done;
        pthread_mutex_unlock(&ws[k].mu);
    }
    uint64_t sent = tot.sent_0200 + tot.sent_0704_items, acked = tot.acked_0200 +
                    tot.acked_0704_items;
    uint64_t psent = prev->sent_0200 + prev->sent_0704_items;
    uint64_t packed = prev->acked_0200 + prev->acked_0704_items;
    if (r->n_sec < SIM_SERIES_MAX) {
        struct sim_sec *x = &r->sec[r->n_sec++];
        x->t_s = t_s;
        x->sent = sent - psent;
        x->acked = acked - packed;
        x->p50_us = hist_quantile(&sec, 0.5);
        x->p99_us = hist_quantile(&sec, 0.99);
        x->max_us = sec.max_us;
        x->target_cpu = -1;
        double cpu;
        if (o->target_pid > 0 && sim_proc_sample(o->target_pid, &cpu, &x->target_rss_kb) == 0) {
            x->target_cpu = *prev_cpu >= 0 ? cpu - *prev_cpu : 0;
            *prev_cpu = cpu;
        }
        if (!o->quiet)
            fprintf(stderr, "\r[%5.0f/%.0f s] conns %u sent %llu acked %llu (%llu/s) "
                    "outstanding %llu resent %llu p99 %.2f ms 809 sent %llu   ", t_s, dur, up,
                    (unsigned long long)sent, (unsigned long long)acked,
                    (unsigned long long)x->acked, (unsigned long long)out,
                    (unsigned long long)tot.resent, (double)x->p99_us / 1000.0,
                    (unsigned long long)p809);
    }
    *prev = tot;
    r->outstanding = out;
    r->conns_up = up;
    return done;
}

static void sim_collect(struct sim_worker *ws, unsigned nw, struct sim_result *r)
{
    memset(&r->st, 0, sizeof r->st);
    memset(&r->st_warm, 0, sizeof r->st_warm);
    hist_reset(&r->ack);
    hist_reset(&r->ack_rx);
    for (unsigned k = 0; k < nw; k++) {
        sim_stats_add(&r->st, &ws[k].st);
        sim_stats_add(&r->st_warm, &ws[k].snap_warm);
        hist_merge(&r->ack, &ws[k].ack);
        hist_merge(&r->ack_rx, &ws[k].ack_rx);
        r->conns_failed += ws[k].failed;
        for (uint32_t j = 0; j < ws[k].n_plats && r->n_plat < SIM_PLAT_MAX; j++) {
            const struct plat *p = ws[k].plats[j];
            struct sim_plat_res *x = &r->plat[r->n_plat++];
            *x = (struct sim_plat_res){.user_id = p->user_id, .access_code = p->access_code,
                                       .vehicles = p->n_veh, .edition = p->edition,
                                       .encrypt = p->encrypt, .st = p->st};
            plat_stats_sum(&r->plat_st, &p->st);
        }
    }
    r->plat_positions = r->plat_st.sent_1202 + r->plat_st.sent_1203_items;
    r->records_sent = r->st.sent_0200 + r->st.sent_0704_items;
    r->records_acked = r->st.acked_0200 + r->st.acked_0704_items;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->sim_cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One line per platform vehicle: what was sent, for the store check (platstore.h). */
static int sim_plat_vehicles(const struct scenario *s, const struct sim_worker *ws,
                             unsigned nw, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# user_id\tplate\tcolour\tsent_live\tsent_reup\tfirst_t\tlast_t\n");
    for (unsigned k = 0; k < nw; k++)
        for (uint32_t j = 0; j < ws[k].n_plats; j++) {
            const struct plat *p = ws[k].plats[j];
            for (uint32_t v = 0; v < p->n_veh; v++) {
                char plate[64];
                scn_plat_plate(s, p->index, v, plate, sizeof plate);
                const struct plat_veh *x = &p->veh[v];
                fprintf(f, "%u\t%s\t%u\t%u\t%u\t%lld\t%lld\n", p->user_id, plate,
                        PLAT_PLATE_COLOR, x->sent_live, x->sent_reup, (long long)x->first_t,
                        (long long)x->last_t);
            }
        }
    return fclose(f) == 0 ? 0 : -EIO;
}

int sim_run(const struct scenario *s, const struct sim_opts *o, struct sim_result *r)
{
    long lim = sim_raise_nofile();
    if (lim > 0 && (long)s->vehicles + 3L * s->plat.count + 64 > lim)
        return -EMFILE;
    unsigned nw = s->threads ? s->threads : 1;
    struct sim_worker *ws = mem_calloc(nw, sizeof *ws);
    if (!ws)
        return -ENOMEM;
    memset(r, 0, sizeof *r);
    double dur = o->duration_s > 0 ? o->duration_s : s->duration_s;
    int rc = 0;
    unsigned started = 0;
    for (unsigned k = 0; k < nw; k++) {
        ws[k].ep = -1;
        pthread_mutex_init(&ws[k].mu, NULL);
    }
    for (unsigned k = 0; k < nw && rc == 0; k++)
        rc = worker_setup(&ws[k], s, o, k, nw);
    uint64_t t0 = now_ns();
    for (unsigned k = 0; k < nw && rc == 0; k++) {
        ws[k].t0_ns = t0;
        ws[k].warm_ns = t0 + (uint64_t)(s->warmup_s * 1e9);
        ws[k].end_ns = t0 + (uint64_t)(dur * 1e9);
        ws[k].drain_ns = ws[k].end_ns + (uint64_t)(s->drain_s * 1e9);
        rc = -pthread_create(&ws[k].th, NULL, worker_main, &ws[k]);
        started += rc == 0;
    }
    struct term_stats prev;
    memset(&prev, 0, sizeof prev);
    double prev_cpu = -1, cpu_warm = -1, cpu_end = -1;
    uint64_t rss;
    if (o->target_pid > 0 && sim_proc_sample(o->target_pid, &prev_cpu, &rss) == 0) {
        r->target_rss_kb_start = rss;
        (void)sim_proc_anon(o->target_pid, &r->target_anon_kb_start);
        (void)sim_slab_kb(&r->slab_kb_start);
    }
    for (unsigned sec = 1; rc == 0; sec++) {
        uint64_t wake = t0 + sec * 1000000000ull, now = now_ns();
        if (wake > now) {
            struct timespec ts = {(time_t)((wake - now) / 1000000000ull),
                                  (long)((wake - now) % 1000000000ull)};
            nanosleep(&ts, NULL);
        }
        int done = sim_second(ws, started, o, r, sec, dur, &prev, &prev_cpu);
        if (sec == (unsigned)(s->warmup_s + 0.5))
            cpu_warm = prev_cpu;
        if (sec == (unsigned)(dur + 0.5)) {
            cpu_end = prev_cpu;
            if (o->target_pid > 0 &&
                sim_proc_sample(o->target_pid, &prev_cpu, &r->target_rss_kb_end) == 0) {
                (void)sim_proc_anon(o->target_pid, &r->target_anon_kb_end);
                (void)sim_slab_kb(&r->slab_kb_end);
            }
        }
        if (done || sec > dur + s->drain_s + 5)
            break;
    }
    for (unsigned k = 0; k < started; k++)
        pthread_join(ws[k].th, NULL);
    if (!o->quiet)
        fputc('\n', stderr);
    sim_collect(ws, started, r);
    if (o->plat_vehicles_path && sim_plat_vehicles(s, ws, started, o->plat_vehicles_path) != 0)
        fprintf(stderr, "run: cannot write %s\n", o->plat_vehicles_path);
    r->load_s = dur;
    r->measured_s = dur - s->warmup_s;
    r->target_cpu_s = (cpu_warm >= 0 && cpu_end >= 0) ? cpu_end - cpu_warm : -1;
    for (unsigned k = 0; k < nw; k++)
        worker_teardown(&ws[k]);
    mem_free(ws);
    return rc;
}
