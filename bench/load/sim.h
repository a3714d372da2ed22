/* sim.h: the load run: worker threads driving simulated terminals and platforms over
 * epoll, the per-second series and the final figures.
 *
 * Threading: sim_run() starts s->threads workers; worker w owns terminals w, w+T, w+2T...
 * and platforms likewise, with its own epoll instance, counters and histograms (shared
 * nothing). Once a second each worker publishes a copy of its counters and its interval
 * histogram under its own mutex; the calling thread sums them for the progress line and
 * the time series. All loops are bounded by the run's wall deadline.
 */
#ifndef RW_BENCH_SIM_H
#define RW_BENCH_SIM_H

#include <stdint.h>

#include "bench/load/hist.h"
#include "bench/load/plat.h"
#include "bench/load/scenario.h"
#include "bench/load/term.h"

#define SIM_SERIES_MAX 7200u
#define SIM_PLAT_MAX 1000u   /* = the largest platforms.count */

/* One second of the run, as printed in series.dat and plotted. */
struct sim_sec {
    double t_s;          /* wall seconds since the start of load */
    uint64_t sent;       /* records sent during the second (first transmissions) */
    uint64_t acked;      /* records acknowledged during the second */
    uint64_t p50_us, p99_us, max_us;
    double target_cpu;   /* target process CPU seconds during the second, or -1 */
    uint64_t target_rss_kb;
};

struct sim_opts {
    const char *host;    /* overrides s->host when set */
    uint16_t port_808, port_809; /* overrides when non-zero */
    int open_loop;       /* null sink: no session, send as fast as the sockets take */
    int quiet;           /* no progress line */
    int target_pid;      /* sample its CPU and RSS; 0: none */
    double duration_s;   /* overrides s->duration_s when > 0 */
    double time_scale;   /* overrides s->time_scale when > 0 */
    /* When set: one line per JT/T 809 platform vehicle is written here after the run
     * (user_id, plate, colour, sent_live, sent_reup, first_t, last_t; tab-separated). */
    const char *plat_vehicles_path;
};

/* One JT/T 809 lower platform's figures. */
struct sim_plat_res {
    uint32_t user_id, access_code, vehicles;
    uint16_t edition;
    uint8_t encrypt;
    struct plat_stats st;
};

struct sim_result {
    double load_s;       /* wall seconds of load, warm-up included */
    double measured_s;   /* wall seconds after warm-up */
    struct term_stats st;
    struct term_stats st_warm; /* counters at the end of warm-up */
    struct hist ack;     /* every acknowledged record after warm-up */
    /* The same records, latency ended at the kernel's receive timestamp of the answer
     * (SO_TIMESTAMPNS) instead of when the simulator's thread read it: the part of the
     * ack latency spent waiting for the load generator itself, on shared cores, removed. */
    struct hist ack_rx;
    uint64_t records_sent;    /* 0x0200 + 0x0704 items, first sends */
    uint64_t records_acked;
    uint64_t outstanding;     /* still owed an ack when the drain ended */
    uint64_t plat_positions;  /* JT/T 809 positions sent (0x1202 + 0x1203 items) */
    struct plat_stats plat_st;/* sum over the platforms */
    uint32_t n_plat;
    struct sim_plat_res plat[SIM_PLAT_MAX];
    uint32_t conns_up;        /* connections established at the end of load */
    uint32_t conns_failed;
    double sim_cpu_s;         /* this process, getrusage */
    double target_cpu_s;      /* the target during the measured window, or -1 */
    uint64_t target_rss_kb_start, target_rss_kb_end;
    /* Memory of an idle fleet: the target's anonymous RSS (its own heap, not the mapped
     * store files or the live table) and the machine's kernel slab (socket structures of
     * both ends of every loopback connection), sampled before the first connection and at
     * the end of load. 0 when not sampled. */
    uint64_t target_anon_kb_start, target_anon_kb_end;
    uint64_t slab_kb_start, slab_kb_end;
    uint32_t n_sec;
    struct sim_sec sec[SIM_SERIES_MAX];
};

/* Runs scenario <s> with <o> and fills <r> (about 4 MB: allocate it). Returns 0, -errno
 * for setup failures (socket limits), or -ENOMEM. Connection failures during the run are
 * counted, not fatal. */
int sim_run(const struct scenario *s, const struct sim_opts *o, struct sim_result *r);

/* Raises RLIMIT_NOFILE to the hard limit; returns the new soft limit. */
long sim_raise_nofile(void);

/* Reads utime+stime (seconds) and VmRSS (KiB) of <pid>. Returns 0 or -errno. */
int sim_proc_sample(int pid, double *cpu_s, uint64_t *rss_kb);

/* Reads RssAnon (KiB) of <pid>. Returns 0 or -errno. */
int sim_proc_anon(int pid, uint64_t *anon_kb);

/* Reads the machine's Slab (KiB) from /proc/meminfo. Returns 0 or -errno. */
int sim_slab_kb(uint64_t *slab_kb);

/* Sum of counters, for readers. */
void sim_stats_add(struct term_stats *dst, const struct term_stats *src);

#endif
