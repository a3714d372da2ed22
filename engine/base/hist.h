/* hist.h: log2 histogram buckets, shared by the engine's and the store's latency figures.
 * Bucket b counts values below <base> << b; the last of <n> buckets takes the rest. */
#ifndef RW_HIST_H
#define RW_HIST_H

#include <stdint.h>

static inline unsigned hist_log2_bucket(uint64_t v, uint64_t base, unsigned n)
{
    unsigned b = 0;
    while (b + 1 < n && v >= base << b)
        b++;
    return b;
}

#endif
