/* hist.h: log-linear latency histogram that records EVERY sample (STYLE §11).
 *
 * HDR-style: values below 2^HIST_SUB_BITS are exact; above, each power of two is split
 * into 2^HIST_SUB_BITS equal buckets, so a reported percentile is within 1/32 (3.1%) of
 * the true value, from 1 µs to 2^HIST_TOP_BITS µs (about 71 minutes). Larger values land
 * in the last bucket; min, max and the sum are kept exactly. Fixed size, no allocation.
 *
 * Threading: a histogram belongs to one thread; hist_merge() is called by the reader once
 * the writer has published (the simulator merges at one-second boundaries and at the end).
 */
#ifndef RW_BENCH_HIST_H
#define RW_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5u
#define HIST_TOP_BITS 32u
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((HIST_TOP_BITS - HIST_SUB_BITS + 1u) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t min_us;
    uint64_t max_us;
    uint64_t b[HIST_BUCKETS];
};

/* Empties <h>. */
void hist_reset(struct hist *h);
/* Records one sample of <us> microseconds. */
void hist_add(struct hist *h, uint64_t us);
/* Adds every sample of <src> to <dst>. */
void hist_merge(struct hist *dst, const struct hist *src);
/* Value at quantile <q> (0..1): the upper bound of the bucket holding the sample of rank
 * ceil(q x count), clamped to the exact max. 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);
/* Bucket index of <us>, and the largest value a bucket holds (exposed for tests). */
unsigned hist_bucket(uint64_t us);
uint64_t hist_bucket_top(unsigned index);

#endif
