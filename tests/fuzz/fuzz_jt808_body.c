/* fuzz_jt808_body.c: one body decoder of JT/T 808, chosen at build time by FUZZ_MSG_ID
 * (the build makes one target per message ID of the fact sheet: jt808_body_0100, ...).
 * Input: byte 0 bit 0 selects the 2019 edition, the rest is the body. What decodes must
 * re-encode, decode again, and re-encode to the same bytes. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/proto/jt808.h"

#ifndef FUZZ_MSG_ID
#error "build with -DFUZZ_MSG_ID=0x...."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct jt808_msg *m)
{
    if (m->h.msg_id == JT808_MSG_0704_BATCH) {
        struct jt808_batch_iter it;
        struct jt808_loc l;
        jt808_batch_iter_init(&it, &m->u.batch);
        while (jt808_batch_next(&it, &l) != 0)
            ;
    } else if (m->h.msg_id == JT808_MSG_8103_SET_PARAMS) {
        struct jt808_param_iter it;
        struct jt808_param p;
        jt808_param_iter_init(&it, &m->u.params);
        while (jt808_param_next(&it, &p) > 0)
            ;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[JT808_BODY_MAX + 64], out2[JT808_BODY_MAX + 64];
    if (size < 1 || size - 1 > JT808_BODY_MAX)
        return 0;
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = FUZZ_MSG_ID;
    m.h.edition = (data[0] & 1) ? JT808_ED_2019 : JT808_ED_2013;
    m.body = rw_bytes_of(data + 1, size - 1);
    int rc = jt808_body_decode(&m);
    ASSERT(rc <= 0);
    if (rc != 0)
        return 0;
    walk(&m);
    int n = jt808_body_encode(&m, out, sizeof out);
    ASSERT(n >= 0);
    struct jt808_msg m2;
    memset(&m2, 0, sizeof m2);
    m2.h = m.h;
    m2.body = rw_bytes_of(out, (size_t)n);
    ASSERT(jt808_body_decode(&m2) == 0);
    int n2 = jt808_body_encode(&m2, out2, sizeof out2);
    ASSERT(n2 == n && memcmp(out, out2, (size_t)n) == 0);
    return 0;
}
