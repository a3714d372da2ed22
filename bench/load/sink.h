/* sink.h: the null sink, the machine's ceiling (README.md "Ceiling").
 *
 * Listens on TCP and UDP <host>:<port>, accepts every connection, reads everything and
 * discards it, and answers nothing. It counts bytes, datagrams and JT/T 808 flag bytes
 * (0x7E occurs on the wire only as a flag, so frames = flags / 2 on TCP). One thread, one
 * epoll instance; stops on SIGTERM/SIGINT or after <seconds>, then writes one JSON line
 * of counters to <out>. */
#ifndef RW_BENCH_SINK_H
#define RW_BENCH_SINK_H

#include <stdint.h>
#include <stdio.h>

struct sink_stats {
    uint64_t conns;
    uint64_t bytes;
    uint64_t datagrams;
    uint64_t flags;       /* 0x7E bytes */
    double seconds;       /* from the first byte to the stop */
    double cpu_s;         /* this process */
};

/* Runs the sink; returns 0 or -errno (bind failure). Bounded by <seconds> (> 0). */
int sink_run(const char *host, uint16_t port, double seconds, struct sink_stats *st);
void sink_stats_json(const struct sink_stats *st, FILE *out);

#endif
