/* fuzz_jt808_reasm.c: a sequence of subpackages (total, index, serial, length, time step
 * drawn from the input) through a small reassembler: no crash, no out-of-bounds, a
 * completed body never exceeds total x 1023 bytes, and slots never leak. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/proto/jt808.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jt808_reasm *r;
    static uint8_t body[JT808_BODY_MAX];
    if (!r && jt808_reasm_create(3, 6, 50, &r) != 0)
        return 0;
    jt808_reasm_expire(r, UINT64_MAX / 2);  /* start empty */
    uint64_t now = UINT64_MAX / 2;
    for (size_t i = 0; i + 7 <= size; i += 7) {
        const uint8_t *p = data + i;
        struct jt808_msg m;
        memset(&m, 0, sizeof m);
        m.h.msg_id = (uint16_t)(0x0800 | (p[0] & 3));
        m.h.subpkg = 1;
        m.h.pkg_total = p[1] & 7;
        m.h.pkg_index = p[2] & 7;
        m.h.serial = (uint16_t)(p[3] & 15);
        m.h.phone[9] = p[4] & 1;
        size_t len = (size_t)p[5] * 4;
        memset(body, p[6], len);
        m.body = rw_bytes_of(body, len);
        now += p[6] & 31;
        struct rw_bytes out;
        uint16_t first;
        int rc = jt808_reasm_add(r, &m, now, &out, &first);
        if (rc == 1)
            ASSERT(out.len <= (size_t)m.h.pkg_total * JT808_BODY_MAX);
        uint16_t miss[8];
        jt808_reasm_missing(r, m.h.phone, m.h.msg_id, first, miss, 8);
        jt808_reasm_expire(r, now);
    }
    return 0;
}
