/* bench_util.h: shared helpers of the micro-benchmarks: clock, pinning, and the
 * machine/commit header printed with every result (STYLE §11). Single-threaded. */
#ifndef RW_BENCH_UTIL_H
#define RW_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);
/* Pins the calling thread to <cpu>; returns 0 or -errno. */
int bench_pin(int cpu);
/* Writes "cpu": "...", "cores": n, "commit": "..." members (no braces) to <f>. */
void bench_print_machine(FILE *f);
/* Sorts <v> (<n> doubles) and returns the median. */
double bench_median(double *v, int n);

#endif
