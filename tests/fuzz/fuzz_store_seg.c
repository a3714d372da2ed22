/* fuzz_store_seg.c: the input is a stored track segment value (any codec: row or columnar,
 * plain or zstd). The decoder must accept or refuse it without reading out of bounds or
 * undefined arithmetic; the points it accepts are in time order, and re-encoding them
 * decodes to the same points. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pos_same(const struct store_pos *a, const struct store_pos *b)
{
    return pos_content_eq(a, b) && a->recv_time_ms == b->recv_time_ms && a->src == b->src &&
           a->flags == b->flags;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct store_pos a[STORE_SEG_MAX], b[STORE_SEG_MAX];
    static uint8_t tmp[1 << 20], enc[1 << 20];
    long n = seg_decode(data, size, 77, a, STORE_SEG_MAX, NULL, tmp, sizeof tmp);
    if (n < 0)
        return 0;
    for (long i = 1; i < n; i++)
        ASSERT(a[i - 1].gnss_time <= a[i].gnss_time);
    long len = seg_encode(a, (size_t)n, enc, sizeof enc, NULL, tmp, sizeof tmp);
    ASSERT(len > 0);
    long m = seg_decode(enc, (size_t)len, 77, b, STORE_SEG_MAX, NULL, tmp, sizeof tmp);
    ASSERT(m == n);
    for (long i = 0; i < n; i++)
        ASSERT(pos_same(&a[i], &b[i]));
    return 0;
}
