/* fuzz_jt809_framer.c: libFuzzer driver for the JT/T 809 stream framer.
 *
 * The input is a TCP byte stream. It is fed to one framer in chunks whose sizes are taken
 * from the data itself, in lenient or strict mode (low bit of the first byte). Every frame
 * the framer returns is parsed with 2011, 2019 and auto peers (with keys, so encrypted
 * bodies are decrypted too); whatever decodes must re-encode, and the re-encoded frame
 * must go through a fresh framer and parse to the same status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/proto/jt809.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jt809_framer fz_fr, fz_fr2;
static uint8_t fz_copy[JT809_CONTENT_MAX];
static uint8_t fz_out[JT809_WIRE_MAX];
static struct jt809_msg fz_m, fz_m2;

static const struct jt809_peer fz_peers[3] = {
    {JT809_ED_2011, 1, 30000000, 20000000, 20000000},
    {JT809_ED_2019, 1, 56107078, 37382110, 50361430},
    {JT809_ED_AUTO, 1, 20240604, 20240604, 20240604},
};

/* Re-encodes fz_m and checks the result frames and parses to <rc> again. */
static void fz_reencode(const struct jt809_peer *peer, int rc)
{
    int n = jt809_encode(&fz_m, peer, fz_out, sizeof fz_out);
    if (n < 0)
        abort(); /* a decoded message must always re-encode */
    jt809_framer_init(&fz_fr2);
    int st = 0;
    size_t used = jt809_framer_feed(&fz_fr2, fz_out, (size_t)n, &st);
    if (st != 1 || used != (size_t)n)
        abort();
    size_t len;
    uint8_t *raw = jt809_framer_frame(&fz_fr2, &len);
    struct jt809_peer fixed = *peer;
    fixed.edition = fz_m.h.edition;
    if (jt809_frame_parse(raw, len, &fixed, &fz_m2) != rc)
        abort();
}

static void fz_frame(const uint8_t *raw, size_t len)
{
    for (int i = 0; i < 3; i++) {
        memcpy(fz_copy, raw, len); /* parse decrypts in place */
        int rc = jt809_frame_parse(fz_copy, len, &fz_peers[i], &fz_m);
        if (rc == 0 || rc == RW_E_UNSUPPORTED)
            fz_reencode(&fz_peers[i], rc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jt809_framer_init(&fz_fr);
    fz_fr.strict = size ? (data[0] & 1) : 0;
    size_t off = 0;
    unsigned step = 0;
    while (off < size) {
        size_t chunk = 1 + data[(off * 7 + step++) % size] % 97;
        if (chunk > size - off)
            chunk = size - off;
        while (chunk) {
            int st;
            size_t used = jt809_framer_feed(&fz_fr, data + off, chunk, &st);
            if (used == 0 || used > chunk)
                abort();
            off += used;
            chunk -= used;
            if (st == 1) {
                size_t len;
                uint8_t *raw = jt809_framer_frame(&fz_fr, &len);
                if (len < JT809_CONTENT_MIN || len > JT809_CONTENT_MAX)
                    abort();
                fz_frame(raw, len);
            }
        }
    }
    return 0;
}
