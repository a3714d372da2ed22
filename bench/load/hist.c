/* hist.c: log-linear histogram (hist.h). */
#include "bench/load/hist.h"

#include <string.h>

#include "engine/base/assert.h"

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_us = UINT64_MAX;
}

unsigned hist_bucket(uint64_t us)
{
    if (us < HIST_SUB)
        return (unsigned)us;
    unsigned msb = 63u - (unsigned)__builtin_clzll(us);
    if (msb >= HIST_TOP_BITS)
        return HIST_BUCKETS - 1u;
    unsigned shift = msb - HIST_SUB_BITS;
    unsigned idx = (shift + 1u) * HIST_SUB + (unsigned)((us >> shift) & (HIST_SUB - 1u));
    ASSERT_HOT(idx < HIST_BUCKETS);
    return idx;
}

uint64_t hist_bucket_top(unsigned index)
{
    ASSERT(index < HIST_BUCKETS);
    if (index < HIST_SUB)
        return index;
    /* Bucket (shift, sub) holds [(HIST_SUB | sub) << shift, +2^shift). */
    unsigned shift = index / HIST_SUB - 1u;
    uint64_t sub = index % HIST_SUB;
    uint64_t lo = (HIST_SUB | sub) << shift;
    return lo + (1ull << shift) - 1u;
}

void hist_add(struct hist *h, uint64_t us)
{
    h->b[hist_bucket(us)]++;
    h->count++;
    h->sum_us += us;
    if (us < h->min_us)
        h->min_us = us;
    if (us > h->max_us)
        h->max_us = us;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->count && src->min_us < dst->min_us)
        dst->min_us = src->min_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min_us;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t top = hist_bucket_top(i);
            return top > h->max_us ? h->max_us : top;
        }
    }
    return h->max_us;
}
