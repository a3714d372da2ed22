/* fuzz_jt809_body.c: the body decoders of one JT/T 809 message family, chosen at build
 * time by FUZZ_MSG_ID (0x1200, 0x9200, 0x1300, 0x9300, 0x1400, 0x9400, 0x1600, 0x9600; 0
 * for the link messages, whose ID then comes from the input). Input: byte 0 bit 0 selects
 * the 2019 edition, [link only: byte 1 picks the message], the rest is the plain body.
 * What decodes (or keeps its envelope) must re-encode, decode again and re-encode to the
 * same bytes. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/proto/jt809.h"

#ifndef FUZZ_MSG_ID
#error "build with -DFUZZ_MSG_ID=0x.... (0 for link messages)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t link_ids[] = {0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006,
                                    0x1007, 0x1008, 0x9001, 0x9002, 0x9003, 0x9004,
                                    0x9005, 0x9006, 0x9007, 0x9008, 0x9101};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[1 << 16], out2[1 << 16];
    static struct jt809_msg m, m2;
    size_t skip = FUZZ_MSG_ID == 0 ? 2 : 1;
    if (size < skip || size - skip > sizeof out / 2)
        return 0;
    memset(&m, 0, sizeof m);
    m.h.edition = (data[0] & 1) ? JT809_ED_2019 : JT809_ED_2011;
    m.h.msg_id = FUZZ_MSG_ID ? (uint16_t)FUZZ_MSG_ID
                             : link_ids[data[1] % (sizeof link_ids / sizeof link_ids[0])];
    m.body = rw_bytes_of(data + skip, size - skip);
    int rc = jt809_body_decode(&m);
    ASSERT(rc <= 0);
    if (rc != 0 && !(rc == RW_E_UNSUPPORTED && jt809_is_business(m.h.msg_id)))
        return 0;
    int n = jt809_body_encode(&m, out, sizeof out);
    if (n < 0)
        return 0; /* e.g. an envelope whose DATA_LENGTH did not fit: refused, not cut */
    memset(&m2, 0, sizeof m2);
    m2.h = m.h;
    m2.body = rw_bytes_of(out, (size_t)n);
    int rc2 = jt809_body_decode(&m2);
    ASSERT(rc2 == rc);
    int n2 = jt809_body_encode(&m2, out2, sizeof out2);
    ASSERT(n2 == n && memcmp(out, out2, (size_t)n) == 0);
    return 0;
}
