/* fuzz_jt808_frame.c: the input is unescaped frame content (header + body + check code).
 * Header, body decoders of every message, both list iterators, and a re-encode of what
 * decoded: decode(encode(decode(x))) must succeed and give the same bytes again. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/proto/jt808.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_lists(const struct jt808_msg *m)
{
    if (m->h.msg_id == JT808_MSG_0704_BATCH) {
        struct jt808_batch_iter it;
        struct jt808_loc l;
        jt808_batch_iter_init(&it, &m->u.batch);
        int rc, guard = 0;
        while ((rc = jt808_batch_next(&it, &l)) != 0 && guard++ < 70000)
            ;
        ASSERT(guard <= 65536);
    }
    if (m->h.msg_id == JT808_MSG_8103_SET_PARAMS) {
        struct jt808_param_iter it;
        struct jt808_param p;
        jt808_param_iter_init(&it, &m->u.params);
        while (jt808_param_next(&it, &p) > 0)
            ASSERT(p.value.len <= 255);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t raw[JT808_RAW_MAX + 64];
    static uint8_t out[JT808_WIRE_MAX], out2[JT808_WIRE_MAX], back[JT808_RAW_MAX];
    if (size > sizeof raw)
        return 0;
    memcpy(raw, data, size);
    /* Fix the check code so the body decoders are reached, not only the XOR test. */
    if (size > 1)
        raw[size - 1] = jt808_xor(raw, size - 1);
    struct jt808_msg m;
    if (jt808_frame_parse(raw, size, &m) != 0)
        return 0;
    walk_lists(&m);
    int n = jt808_encode(&m, out, sizeof out);
    if (n <= 0)
        return 0; /* e.g. a 2011/2013 register whose plate moved it across 37 bytes */
    int u = jt808_unescape(out + 1, (size_t)n - 2, back, sizeof back);
    ASSERT(u > 0);
    struct jt808_msg m2;
    ASSERT(jt808_frame_parse(back, (size_t)u, &m2) == 0);
    ASSERT(m2.h.msg_id == m.h.msg_id && m2.h.serial == m.h.serial);
    int n2 = jt808_encode(&m2, out2, sizeof out2);
    ASSERT(n2 == n && memcmp(out, out2, (size_t)n) == 0);
    return 0;
}
