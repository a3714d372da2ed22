/* fuzz_jt808_loc.c: the input is a 0x0200 body (basic part + additional items). The
 * decoder must accept or refuse it without reading out of bounds; what it accepts must
 * re-encode to the same bytes, and the field encoder must produce a body that decodes to
 * the same fields. */
#include <stdint.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/proto/jt808.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[4096], out2[4096];
    struct jt808_loc l, l2;
    if (jt808_loc_decode(rw_bytes_of(data, size), &l) != 0)
        return 0;
    int n = jt808_loc_encode(&l, out, sizeof out);
    ASSERT(n == (int)size && memcmp(out, data, size) == 0);
    /* Encode from the decoded fields and decode again. */
    l.extras.p = NULL;
    l.extras.len = 0;
    n = jt808_loc_encode(&l, out, sizeof out);
    ASSERT(n >= 28);
    ASSERT(jt808_loc_decode(rw_bytes_of(out, (size_t)n), &l2) == 0);
    ASSERT(l2.present == l.present && l2.alarm == l.alarm && l2.lat == l.lat);
    ASSERT(l2.mileage_hm == l.mileage_hm && l2.sats == l.sats);
    l2.extras.len = 0;
    int n2 = jt808_loc_encode(&l2, out2, sizeof out2);
    ASSERT(n2 == n && memcmp(out, out2, (size_t)n) == 0);
    return 0;
}
