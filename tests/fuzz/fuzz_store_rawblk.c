/* fuzz_store_rawblk.c: the input is a stored raw-log block value. The decoder must accept
 * or refuse it without reading out of bounds; the frames it accepts re-encode into a block
 * that decodes to the same frames. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 4096

struct got {
    struct store_raw f[MAXF];
    const struct store_raw *p[MAXF];
    size_t n;
    int64_t min_ms;
};

static int collect(const struct store_raw *r, void *ctx)
{
    struct got *g = ctx;
    if (g->n == MAXF)
        return 1;
    g->f[g->n] = *r;
    g->p[g->n] = &g->f[g->n];
    g->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct got a, b;
    static uint8_t tmp[1 << 20], tmp2[1 << 20], enc[1 << 21];
    a.n = b.n = 0;
    long n = rawblk_decode(data, size, 1000, collect, &a, NULL, tmp, sizeof tmp);
    if (n < 0 || a.n == MAXF)
        return 0;
    ASSERT((size_t)n == a.n);
    int64_t min = INT64_MAX;
    for (size_t i = 0; i < a.n; i++)
        min = a.f[i].recv_time_ms < min ? a.f[i].recv_time_ms : min;
    if (a.n == 0)
        min = 1000;
    if (rawblk_bound(a.f, a.n) > sizeof enc)
        return 0;
    /* frames point into tmp: encode through tmp2 */
    long len = rawblk_encode(a.p, a.n, min, enc, sizeof enc, NULL, tmp2, sizeof tmp2);
    ASSERT(len > 0);
    long m = rawblk_decode(enc, (size_t)len, min, collect, &b, NULL, tmp2, sizeof tmp2);
    ASSERT(m == n && b.n == a.n);
    for (size_t i = 0; i < a.n; i++) {
        ASSERT(a.f[i].recv_time_ms == b.f[i].recv_time_ms && a.f[i].conn_id == b.f[i].conn_id);
        ASSERT(a.f[i].vehicle_id == b.f[i].vehicle_id && a.f[i].dir == b.f[i].dir);
        ASSERT(a.f[i].frame.len == b.f[i].frame.len);
        ASSERT(memcmp(a.f[i].frame.p, b.f[i].frame.p, a.f[i].frame.len) == 0);
    }
    return 0;
}
