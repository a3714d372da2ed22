/* fuzz_store_jrn.c: the input is a track journal value (store/README.md §3b: entries of
 * vid . length . plain segment). The walk must accept or refuse it without reading out of
 * bounds; every entry it hands out decodes or is refused; the accepted entries, encoded
 * again, walk and decode to the same vehicles and points. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/wire.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENT_MAX 64

struct pass {
    unsigned n;
    uint32_t vid[ENT_MAX];
    long npts[ENT_MAX];
    struct store_pos *pts;        /* ENT_MAX * 64 points */
    int bad;
};

static uint8_t tmp[1 << 20];

static int on_entry(uint32_t vid, const uint8_t *seg, size_t len, void *ctx)
{
    struct pass *p = ctx;
    ASSERT(vid != 0 && len > 0);
    if (p->n == ENT_MAX)
        return 0;
    long m = seg_decode(seg, len, vid, p->pts + (size_t)p->n * 64, 64, NULL, tmp, sizeof tmp);
    if (m < 0) {
        p->bad = 1;
        return (int)m;
    }
    for (long i = 0; i < m; i++)
        ASSERT(p->pts[(size_t)p->n * 64 + (size_t)i].vehicle_id == vid);
    p->vid[p->n] = vid;
    p->npts[p->n] = m;
    p->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct store_pos pa[ENT_MAX * 64], pb[ENT_MAX * 64];
    static uint8_t out[1 << 20], seg[1 << 16];
    struct pass a = {.pts = pa}, b = {.pts = pb};
    int rc = jrn_walk(data, size, on_entry, &a);
    ASSERT(rc <= 0);
    /* What was accepted (also before a refusal) is encoded again. */
    struct wr o;
    wr_init(&o, out, sizeof out);
    for (unsigned e = 0; e < a.n; e++) {
        long sl = seg_encode_plain(pa + (size_t)e * 64, (size_t)a.npts[e], seg, sizeof seg);
        ASSERT(sl > 0);
        jrn_entry_put(&o, a.vid[e], seg, (size_t)sl);
    }
    ASSERT(!o.err);
    ASSERT(jrn_walk(out, wr_len(&o), on_entry, &b) == 0 && !b.bad);
    ASSERT(b.n == a.n);
    for (unsigned e = 0; e < a.n; e++) {
        ASSERT(b.vid[e] == a.vid[e] && b.npts[e] == a.npts[e]);
        for (long i = 0; i < a.npts[e]; i++)
            ASSERT(pos_content_eq(&pa[(size_t)e * 64 + (size_t)i], &pb[(size_t)e * 64 + (size_t)i]));
    }
    return 0;
}
