/* fuzz_jt809_frame.c: libFuzzer driver for the JT/T 809 header and body decoders.
 *
 * The input is unescaped frame content (header + body + CRC). For the 2011, 2019 and auto
 * editions it parses the header, decrypts an encrypted body with fixed keys and runs the
 * body decoder directly (MSG_LENGTH and CRC are not required to match, so that random
 * bodies reach every sub-decoder). Whatever decodes (fully, or envelope-only for unknown
 * types) must re-encode to exactly the bytes it came from, and the full frame built from
 * it must parse back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/proto/jt809.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fz_buf[JT809_CONTENT_MAX];
static uint8_t fz_body[JT809_CONTENT_MAX];
static uint8_t fz_out[JT809_WIRE_MAX];
static struct jt809_msg fz_m;
static struct jt809_framer fz_fr;

static const struct jt809_peer fz_peer = {JT809_ED_AUTO, 1, 56107078, 37382110, 50361430};

static void fz_check_frame(int rc)
{
    int n = jt809_encode(&fz_m, &fz_peer, fz_out, sizeof fz_out);
    if (n < 0)
        abort();
    jt809_framer_init(&fz_fr);
    int st = 0;
    jt809_framer_feed(&fz_fr, fz_out, (size_t)n, &st);
    if (st != 1)
        abort();
    size_t len;
    uint8_t *raw = jt809_framer_frame(&fz_fr, &len);
    struct jt809_peer p = fz_peer;
    p.edition = fz_m.h.edition;
    if (jt809_frame_parse(raw, len, &p, &fz_m) != rc)
        abort();
}

static void fz_one(const uint8_t *data, size_t size, uint16_t edition)
{
    memcpy(fz_buf, data, size);
    struct jt809_hdr h;
    int hl = jt809_hdr_parse(fz_buf, size, edition, &h);
    if (hl < 0 || h.encrypt_flag > 1) /* jt809_frame_parse() refuses flags above 1 */
        return;
    memset(&fz_m, 0, sizeof fz_m);
    fz_m.h = h;
    size_t blen = size - 2 - (size_t)hl;
    if (h.encrypt_flag == 1)
        jt809_crypt(&fz_peer, h.encrypt_key, fz_buf + hl, blen);
    fz_m.body = rw_bytes_of(fz_buf + hl, blen);
    int rc = jt809_body_decode(&fz_m);
    if (rc != 0 && rc != RW_E_UNSUPPORTED)
        return;
    int n = jt809_body_encode(&fz_m, fz_body, sizeof fz_body);
    if (n < 0)
        abort();
    /* Decoding records every layout it saw, so the encoding is the input again. */
    if ((size_t)n != blen || memcmp(fz_body, fz_buf + hl, blen) != 0)
        abort();
    fz_check_frame(rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > JT809_CONTENT_MAX)
        return 0;
    fz_one(data, size, JT809_ED_2011);
    fz_one(data, size, JT809_ED_2019);
    fz_one(data, size, JT809_ED_AUTO);
    return 0;
}
