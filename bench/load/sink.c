/* sink.c: the null sink (sink.h). */
#include "bench/load/sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SINK_BUF (256u * 1024u)

static volatile sig_atomic_t sink_stop;

static void sink_on_signal(int sig)
{
    (void)sig;
    sink_stop = 1;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sink_socket(const char *host, uint16_t port, int type)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int big = 8 << 20;
    if (type == SOCK_DGRAM)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        (type == SOCK_STREAM && listen(fd, 4096) != 0)) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static uint64_t count_flags(const uint8_t *p, size_t n)
{
    uint64_t c = 0;
    const uint8_t *end = p + n;
    while ((p = memchr(p, 0x7E, (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    return c;
}

static void sink_drain(int ep, int fd, int udp, uint8_t *buf, struct sink_stats *st,
                       double *first)
{
    for (int round = 0; round < 16; round++) {
        ssize_t k = recv(fd, buf, SINK_BUF, MSG_DONTWAIT);
        if (k <= 0) {
            if (!udp && (k == 0 || errno != EAGAIN)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
            return;
        }
        if (*first == 0)
            *first = mono_s();
        st->bytes += (uint64_t)k;
        st->datagrams += udp;
        st->flags += count_flags(buf, (size_t)k);
    }
}

static void sink_accept(int ep, int lfd, struct sink_stats *st)
{
    for (int k = 0; k < 256; k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            continue;
        }
        st->conns++;
    }
}

int sink_run(const char *host, uint16_t port, double seconds, struct sink_stats *st)
{
    static uint8_t buf[SINK_BUF];
    memset(st, 0, sizeof *st);
    int lfd = sink_socket(host, port, SOCK_STREAM);
    if (lfd < 0)
        return lfd;
    int ufd = sink_socket(host, port, SOCK_DGRAM);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ufd < 0 || ep < 0) {
        close(lfd);
        return ufd < 0 ? ufd : -errno;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.fd = ufd;
    epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
    signal(SIGTERM, sink_on_signal);
    signal(SIGINT, sink_on_signal);
    double deadline = mono_s() + seconds, first = 0;
    struct epoll_event evs[256];
    while (!sink_stop && mono_s() < deadline) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            int fd = evs[k].data.fd;
            if (fd == lfd)
                sink_accept(ep, lfd, st);
            else
                sink_drain(ep, fd, fd == ufd, buf, st, &first);
        }
    }
    st->seconds = first > 0 ? mono_s() - first : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    st->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    close(ep);
    close(ufd);
    close(lfd); /* accepted sockets close with the process */
    return 0;
}

void sink_stats_json(const struct sink_stats *st, FILE *out)
{
    fprintf(out, "{\"conns\": %llu, \"bytes\": %llu, \"datagrams\": %llu, \"flags\": %llu, "
            "\"seconds\": %.3f, \"cpu_s\": %.3f}\n", (unsigned long long)st->conns,
            (unsigned long long)st->bytes, (unsigned long long)st->datagrams,
            (unsigned long long)st->flags, st->seconds, st->cpu_s);
    fflush(out);
}
