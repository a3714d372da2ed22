/* jt809_frame.c: JT/T 809 framing: CRC, escaping, encryption, stream framer, header,
 * frame parse and frame build (fact sheet §2-§4). See jt809.h for the contracts. */
#include "engine/proto/jt809.h"

#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/wire.h"

/* CRC-16/CCITT-FALSE table for polynomial 0x1021 (entry i = CRC of the byte i shifted in
 * from a zero register). A const table keeps it thread-safe with no init step; the unit
 * test checks it against the bitwise definition. */
static const uint16_t jt809_crc_tab[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7, 0x8108, 0x9129, 0xA14A,
    0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF, 0x1231, 0x0210, 0x3273, 0x2252, 0x52B5, 0x4294,
    0x72F7, 0x62D6, 0x9339, 0x8318, 0xB37B, 0xA35A, 0xD3BD, 0xC39C, 0xF3FF, 0xE3DE, 0x2462,
    0x3443, 0x0420, 0x1401, 0x64E6, 0x74C7, 0x44A4, 0x5485, 0xA56A, 0xB54B, 0x8528, 0x9509,
    0xE5EE, 0xF5CF, 0xC5AC, 0xD58D, 0x3653, 0x2672, 0x1611, 0x0630, 0x76D7, 0x66F6, 0x5695,
    0x46B4, 0xB75B, 0xA77A, 0x9719, 0x8738, 0xF7DF, 0xE7FE, 0xD79D, 0xC7BC, 0x48C4, 0x58E5,
    0x6886, 0x78A7, 0x0840, 0x1861, 0x2802, 0x3823, 0xC9CC, 0xD9ED, 0xE98E, 0xF9AF, 0x8948,
    0x9969, 0xA90A, 0xB92B, 0x5AF5, 0x4AD4, 0x7AB7, 0x6A96, 0x1A71, 0x0A50, 0x3A33, 0x2A12,
    0xDBFD, 0xCBDC, 0xFBBF, 0xEB9E, 0x9B79, 0x8B58, 0xBB3B, 0xAB1A, 0x6CA6, 0x7C87, 0x4CE4,
    0x5CC5, 0x2C22, 0x3C03, 0x0C60, 0x1C41, 0xEDAE, 0xFD8F, 0xCDEC, 0xDDCD, 0xAD2A, 0xBD0B,
    0x8D68, 0x9D49, 0x7E97, 0x6EB6, 0x5ED5, 0x4EF4, 0x3E13, 0x2E32, 0x1E51, 0x0E70, 0xFF9F,
    0xEFBE, 0xDFDD, 0xCFFC, 0xBF1B, 0xAF3A, 0x9F59, 0x8F78, 0x9188, 0x81A9, 0xB1CA, 0xA1EB,
    0xD10C, 0xC12D, 0xF14E, 0xE16F, 0x1080, 0x00A1, 0x30C2, 0x20E3, 0x5004, 0x4025, 0x7046,
    0x6067, 0x83B9, 0x9398, 0xA3FB, 0xB3DA, 0xC33D, 0xD31C, 0xE37F, 0xF35E, 0x02B1, 0x1290,
    0x22F3, 0x32D2, 0x4235, 0x5214, 0x6277, 0x7256, 0xB5EA, 0xA5CB, 0x95A8, 0x8589, 0xF56E,
    0xE54F, 0xD52C, 0xC50D, 0x34E2, 0x24C3, 0x14A0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xA7DB, 0xB7FA, 0x8799, 0x97B8, 0xE75F, 0xF77E, 0xC71D, 0xD73C, 0x26D3, 0x36F2, 0x0691,
    0x16B0, 0x6657, 0x7676, 0x4615, 0x5634, 0xD94C, 0xC96D, 0xF90E, 0xE92F, 0x99C8, 0x89E9,
    0xB98A, 0xA9AB, 0x5844, 0x4865, 0x7806, 0x6827, 0x18C0, 0x08E1, 0x3882, 0x28A3, 0xCB7D,
    0xDB5C, 0xEB3F, 0xFB1E, 0x8BF9, 0x9BD8, 0xABBB, 0xBB9A, 0x4A75, 0x5A54, 0x6A37, 0x7A16,
    0x0AF1, 0x1AD0, 0x2AB3, 0x3A92, 0xFD2E, 0xED0F, 0xDD6C, 0xCD4D, 0xBDAA, 0xAD8B, 0x9DE8,
    0x8DC9, 0x7C26, 0x6C07, 0x5C64, 0x4C45, 0x3CA2, 0x2C83, 0x1CE0, 0x0CC1, 0xEF1F, 0xFF3E,
    0xCF5D, 0xDF7C, 0xAF9B, 0xBFBA, 0x8FD9, 0x9FF8, 0x6E17, 0x7E36, 0x4E55, 0x5E74, 0x2E93,
    0x3EB2, 0x0ED1, 0x1EF0,
};

/* Slicing-by-8 tables: jt809_crc_slice[k][i] is the CRC register after byte i followed by
 * k zero bytes (k = 0 is jt809_crc_tab). Eight bytes then cost eight independent loads
 * instead of a chain of eight dependent table steps. Built before main() from the const
 * table, so every thread sees them complete. */
static uint16_t jt809_crc_slice[8][256];

__attribute__((constructor)) static void jt809_crc_init(void)
{
    for (int i = 0; i < 256; i++)
        jt809_crc_slice[0][i] = jt809_crc_tab[i];
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++) {
            uint16_t v = jt809_crc_slice[k - 1][i];
            jt809_crc_slice[k][i] = (uint16_t)((v << 8) ^ jt809_crc_tab[v >> 8]);
        }
}

uint16_t jt809_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint8_t *b = p + i;
        crc = (uint16_t)(jt809_crc_slice[7][b[0] ^ (crc >> 8)] ^
                         jt809_crc_slice[6][b[1] ^ (crc & 0xFF)] ^ jt809_crc_slice[5][b[2]] ^
                         jt809_crc_slice[4][b[3]] ^ jt809_crc_slice[3][b[4]] ^
                         jt809_crc_slice[2][b[5]] ^ jt809_crc_slice[1][b[6]] ^
                         jt809_crc_slice[0][b[7]]);
    }
    for (; i < n; i++)
        crc = (uint16_t)((crc << 8) ^ jt809_crc_tab[((crc >> 8) ^ p[i]) & 0xFF]);
    return crc;
}

/* Returns the escape pair's second byte for <b>, or 0 when <b> needs no escaping. */
static inline uint8_t jt809_esc_code(uint8_t b, uint8_t *lead)
{
    switch (b) {
    case 0x5B: *lead = 0x5A; return 0x01;
    case 0x5A: *lead = 0x5A; return 0x02;
    case 0x5D: *lead = 0x5E; return 0x01;
    case 0x5E: *lead = 0x5E; return 0x02;
    default: return 0;
    }
}

int jt809_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t lead = 0;
        uint8_t code = jt809_esc_code(in[i], &lead);
        size_t need = code ? 2 : 1;
        if (cap - o < need)
            return RW_E_NOSPACE;
        if (code) {
            out[o++] = lead;
            out[o++] = code;
        } else {
            out[o++] = in[i];
        }
    }
    return (int)o;
}

/* Unescapes the pair <lead> <code>; returns the byte or -1 for a bad code. */
static inline int jt809_unesc_pair(uint8_t lead, uint8_t code)
{
    if (code == 0x01)
        return lead == 0x5A ? 0x5B : 0x5D;
    if (code == 0x02)
        return lead;
    return -1;
}

int jt809_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int strict)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (strict && (b == JT809_HEAD_FLAG || b == JT809_TAIL_FLAG))
            return RW_E_FIELD;
        if (b == JT809_ESC_5A || b == JT809_ESC_5E) {
            int v = i + 1 < n ? jt809_unesc_pair(b, in[i + 1]) : -1;
            if (v >= 0) {
                b = (uint8_t)v;
                i++;
            } else if (strict) {
                return RW_E_ESCAPE;
            } /* else: a lone escape byte stands for itself (real senders, §2) */
        }
        if (o >= cap)
            return RW_E_NOSPACE;
        out[o++] = b;
    }
    return (int)o;
}

void jt809_crypt(const struct jt809_peer *peer, uint32_t key, uint8_t *buf, size_t n)
{
    ASSERT(peer != NULL);
    uint32_t m1 = peer->m1 ? peer->m1 : 1;
    uint32_t k = key ? key : 1;
    for (size_t i = 0; i < n; i++) {
        k = peer->ia1 * (k % m1) + peer->ic1; /* uint32 arithmetic, mod 2^32 (§4) */
        buf[i] ^= (uint8_t)(k >> 20);
    }
}

/* ---------------------------------------------------------------------------------------
 * Framer
 */

void jt809_framer_init(struct jt809_framer *f)
{
    f->strict = 0;
    f->len = 0;
    f->in_frame = 0;
    f->esc = 0;
    f->drop = 0;
    f->drop_err = 0;
    memset(&f->st, 0, sizeof f->st);
}

static void jt809_framer_fail(struct jt809_framer *f, int err)
{
    if (f->drop)
        return;
    f->drop = 1;
    f->drop_err = err;
}

static void jt809_framer_count(struct jt809_framer *f, int err)
{
    switch (err) {
    case RW_E_ESCAPE: f->st.bad_escape++; break;
    case RW_E_CHECK: f->st.bad_crc++; break;
    case RW_E_LENGTH: f->st.bad_length++; break;
    case RW_E_TOOLONG: f->st.too_long++; break;
    default: f->st.too_short++; break;
    }
}

/* Stores one unescaped content byte. */
static void jt809_framer_put(struct jt809_framer *f, uint8_t c)
{
    if (f->len >= JT809_CONTENT_MAX) {
        jt809_framer_fail(f, RW_E_TOOLONG);
        return;
    }
    f->buf[f->len++] = c;
}

/* Resolves a pending escape byte that is not followed by 01/02: an error in strict mode,
 * else the byte stands for itself (counted). */
static void jt809_framer_lone(struct jt809_framer *f)
{
    uint8_t e = f->esc;
    f->esc = 0;
    if (f->strict) {
        jt809_framer_fail(f, RW_E_ESCAPE);
        return;
    }
    f->st.lone_escape++;
    jt809_framer_put(f, e);
}

/* Checks the frame collected so far when its tail flag arrives: 1, or a negative code. */
static int jt809_framer_finish(struct jt809_framer *f)
{
    if (f->esc && !f->drop)
        jt809_framer_lone(f);
    if (f->drop)
        return f->drop_err;
    if (f->len < JT809_CONTENT_MIN)
        return RW_E_TRUNCATED;
    const uint8_t *b = f->buf;
    uint32_t msg_len = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                       ((uint32_t)b[2] << 8) | b[3];
    if (msg_len != f->len + 2u)
        return RW_E_LENGTH;
    uint16_t crc = (uint16_t)((b[f->len - 2] << 8) | b[f->len - 1]);
    if (jt809_crc16(b, f->len - 2) != crc)
        return RW_E_CHECK;
    return 1;
}

/* Adds one in-frame byte (not a flag). */
static void jt809_framer_byte(struct jt809_framer *f, uint8_t c)
{
    if (f->drop)
        return;
    if (f->esc) {
        int v = jt809_unesc_pair(f->esc, c);
        if (v >= 0) {
            f->esc = 0;
            jt809_framer_put(f, (uint8_t)v);
            return;
        }
        jt809_framer_lone(f);
        if (f->drop)
            return;
    }
    if (c == JT809_ESC_5A || c == JT809_ESC_5E) {
        f->esc = c;
        return;
    }
    jt809_framer_put(f, c);
}

/* Lenient mode: is a 0x5B inside a frame data rather than the next frame's head? Yes
 * while the frame is shorter than its own plausible MSG_LENGTH: some deployed senders do
 * not escape at all (frame F7 carries a raw 0x5B). The tail flag still always ends a
 * frame, so a frame cut short before its MSG_LENGTH is reached takes the next frame down
 * with it (one error for both); strict mode never does this. */
static int jt809_framer_raw_head(const struct jt809_framer *f)
{
    if (f->strict || f->drop || f->len < 4)
        return 0;
    const uint8_t *b = f->buf;
    uint32_t msg_len = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                       ((uint32_t)b[2] << 8) | b[3];
    if (msg_len < JT809_CONTENT_MIN + 2u || msg_len > JT809_RAW_MAX)
        return 0;
    return f->len + (f->esc ? 1u : 0u) < msg_len - 2u;
}

static void jt809_framer_open(struct jt809_framer *f)
{
    f->in_frame = 1;
    f->len = 0;
    f->esc = 0;
    f->drop = 0;
    f->drop_err = 0;
}

#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGH 0x8080808080808080ull

/* Nonzero when a byte of <w> lies in 0x58..0x5F, a superset of the four bytes the framer
 * must look at (5A 5B 5D 5E); false positives just take the byte path. */
static inline uint64_t jt809_swar_special(uint64_t w)
{
    uint64_t v = (w & (SWAR_ONES * 0xF8)) ^ (SWAR_ONES * 0x58);
    return (v - SWAR_ONES) & ~v & SWAR_HIGH;
}

/* Copies the run of ordinary bytes at in[i..n) eight at a time while a frame is being
 * collected cleanly; returns the index of the first byte the byte path must handle. */
static size_t jt809_framer_run(struct jt809_framer *f, const uint8_t *in, size_t i, size_t n)
{
    while (n - i >= 8 && f->len + 8 <= JT809_CONTENT_MAX) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        if (jt809_swar_special(w))
            break;
        memcpy(f->buf + f->len, &w, 8);
        f->len += 8;
        i += 8;
    }
    return i;
}

size_t jt809_framer_feed(struct jt809_framer *f, const uint8_t *in, size_t n, int *status)
{
    for (size_t i = 0; i < n; i++) {
        if (f->in_frame && !f->drop && !f->esc) {
            i = jt809_framer_run(f, in, i, n);
            if (i >= n)
                break;
        }
        uint8_t c = in[i];
        if (!f->in_frame) {
            if (c == JT809_HEAD_FLAG)
                jt809_framer_open(f);
            else
                f->st.garbage_bytes++;
            continue;
        }
        if (c == JT809_HEAD_FLAG && jt809_framer_raw_head(f)) {
            f->st.raw_flag++;
            jt809_framer_byte(f, c);
            continue;
        }
        if (c == JT809_HEAD_FLAG) {
            /* A head flag inside a frame: the previous frame lost its tail. */
            int cut = f->drop ? f->drop_err : RW_E_TRUNCATED;
            int had = f->len || f->esc || f->drop;
            jt809_framer_open(f);
            if (had) {
                jt809_framer_count(f, cut);
                *status = cut;
                return i + 1;
            }
            continue;
        }
        if (c != JT809_TAIL_FLAG) {
            jt809_framer_byte(f, c);
            continue;
        }
        f->in_frame = 0;
        if (f->len == 0 && !f->esc && !f->drop) {
            f->st.empty++;
            continue;
        }
        int rc = jt809_framer_finish(f);
        if (rc == 1)
            f->st.frames++;
        else
            jt809_framer_count(f, rc);
        f->drop = 0;
        *status = rc;
        return i + 1;
    }
    *status = 0;
    return n;
}

/* ---------------------------------------------------------------------------------------
 * Header
 */

/* Fixed body size of link messages, or -1 when variable / business. */
static int jt809_fixed_body(uint16_t msg_id, uint16_t edition)
{
    switch (msg_id) {
    case 0x1001: return edition == JT809_ED_2019 ? 50 : 46;
    case 0x1002: return 5;
    case 0x1003: return 12;
    case 0x1004: case 0x1005: case 0x1006:
    case 0x9004: case 0x9005: case 0x9006: return 0;
    case 0x1007: case 0x1008: case 0x9002: case 0x9007: case 0x9008: return 1;
    case 0x9001: case 0x9003: return 4;
    case 0x9101: return 20;
    default: return -1;
    }
}

/* The §3 heuristic for JT809_ED_AUTO. <n> is the content length (header+body+CRC). */
static uint16_t jt809_guess_edition(const uint8_t *raw, size_t n, uint16_t msg_id)
{
    if (n < JT809_HDR_LEN_2019 + 2u)
        return JT809_ED_2011;
    long b11 = (long)n - (long)(JT809_HDR_LEN_2011 + 2u);
    long b19 = (long)n - (long)(JT809_HDR_LEN_2019 + 2u);
    int f11 = jt809_fixed_body(msg_id, JT809_ED_2011);
    int f19 = jt809_fixed_body(msg_id, JT809_ED_2019);
    if (f11 >= 0 && (b11 == f11) != (b19 == f19))
        return b19 == f19 ? JT809_ED_2019 : JT809_ED_2011;
    struct rd r;
    rd_init(&r, raw + JT809_HDR_LEN_2011, 8);
    uint64_t t = rd_u64(&r);
    /* 2000-01-01 .. 2100-01-01 UTC */
    if (t >= 946684800ull && t < 4102444800ull)
        return JT809_ED_2019;
    return JT809_ED_2011;
}

int jt809_hdr_parse(const uint8_t *raw, size_t n, uint16_t edition, struct jt809_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (n < JT809_CONTENT_MIN)
        return RW_E_TRUNCATED;
    struct rd r;
    rd_init(&r, raw, n);
    h->msg_length = rd_u32(&r);
    h->msg_sn = rd_u32(&r);
    h->msg_id = rd_u16(&r);
    h->gnss_center_id = rd_u32(&r);
    rd_copy(&r, h->version, 3);
    h->encrypt_flag = rd_u8(&r);
    h->encrypt_key = rd_u32(&r);
    if (edition != JT809_ED_2011 && edition != JT809_ED_2019)
        edition = jt809_guess_edition(raw, n, h->msg_id);
    h->edition = edition;
    h->hdr_len = JT809_HDR_LEN_2011;
    if (edition == JT809_ED_2019) {
        if (n < JT809_HDR_LEN_2019 + 2u)
            return RW_E_TRUNCATED;
        h->time = rd_u64(&r);
        h->hdr_len = JT809_HDR_LEN_2019;
    }
    return r.err ? r.err : (int)h->hdr_len;
}

static int jt809_parse(uint8_t *raw, size_t n, const struct jt809_peer *peer,
                       struct jt809_msg *m, int verify)
{
    ASSERT_HOT(peer != NULL);
    memset(m, 0, sizeof *m);
    int hl = jt809_hdr_parse(raw, n, peer->edition, &m->h);
    if (hl < 0)
        return hl;
    if (m->h.msg_length != n + 2u)
        return RW_E_LENGTH;
    uint16_t crc = (uint16_t)((raw[n - 2] << 8) | raw[n - 1]);
    if (verify && jt809_crc16(raw, n - 2) != crc)
        return RW_E_CHECK;
    m->body = rw_bytes_of(raw + hl, n - 2 - (size_t)hl);
    if (m->h.encrypt_flag > 1)
        return RW_E_FIELD;
    if (m->h.encrypt_flag == 1) {
        if (!peer->has_keys)
            return RW_E_ENCRYPTED;
        jt809_crypt(peer, m->h.encrypt_key, raw + hl, m->body.len);
    }
    return jt809_body_decode(m);
}

int jt809_frame_parse(uint8_t *raw, size_t n, const struct jt809_peer *peer,
                      struct jt809_msg *m)
{
    return jt809_parse(raw, n, peer, m, 1);
}

int jt809_framer_parse(struct jt809_framer *f, const struct jt809_peer *peer,
                       struct jt809_msg *m)
{
    return jt809_parse(f->buf, f->len, peer, m, 0);
}

/* ---------------------------------------------------------------------------------------
 * Building
 */

static void jt809_hdr_write(struct wr *w, const struct jt809_hdr *h, uint32_t msg_len)
{
    wr_u32(w, msg_len);
    wr_u32(w, h->msg_sn);
    wr_u16(w, h->msg_id);
    wr_u32(w, h->gnss_center_id);
    wr_mem(w, h->version, 3);
    wr_u8(w, h->encrypt_flag);
    wr_u32(w, h->encrypt_key);
    if (h->edition == JT809_ED_2019)
        wr_u64(w, h->time);
}

/* <out>[1 .. 1+hl+len) holds space for the header and the plain body at 1+hl. Writes the
 * header, encrypts, appends the CRC, escapes in place (back to front) and adds the flags.
 * Returns the wire length or a negative code. */
static int jt809_frame_finish(const struct jt809_hdr *h, size_t len,
                              const struct jt809_peer *peer, uint8_t *out, size_t cap)
{
    size_t hl = h->edition == JT809_ED_2019 ? JT809_HDR_LEN_2019 : JT809_HDR_LEN_2011;
    size_t content = hl + len + 2;
    if (content > JT809_CONTENT_MAX)
        return RW_E_TOOLONG;
    if (cap < content + 2)
        return RW_E_NOSPACE;
    if (h->encrypt_flag == 1) {
        if (!peer || !peer->has_keys)
            return RW_E_ENCRYPTED;
        jt809_crypt(peer, h->encrypt_key, out + 1 + hl, len);
    }
    struct wr w;
    wr_init(&w, out + 1, hl);
    jt809_hdr_write(&w, h, (uint32_t)(content + 2));
    uint16_t crc = jt809_crc16(out + 1, hl + len);
    out[1 + hl + len] = (uint8_t)(crc >> 8);
    out[1 + hl + len + 1] = (uint8_t)crc;
    size_t extra = 0;
    for (size_t i = 0; i < content; i++) {
        uint8_t lead;
        extra += jt809_esc_code(out[1 + i], &lead) ? 1 : 0;
    }
    if (cap < content + extra + 2)
        return RW_E_NOSPACE;
    /* Back to front: the write position never overtakes an unread byte. */
    size_t o = content + extra; /* index of the last content byte on the wire, 1-based */
    for (size_t i = content; i-- > 0;) {
        uint8_t lead = 0;
        uint8_t b = out[1 + i];
        uint8_t code = jt809_esc_code(b, &lead);
        if (code) {
            out[o--] = code;
            out[o--] = lead;
        } else {
            out[o--] = b;
        }
    }
    out[0] = JT809_HEAD_FLAG;
    out[content + extra + 1] = JT809_TAIL_FLAG;
    return (int)(content + extra + 2);
}

int jt809_frame_build(const struct jt809_hdr *h, const uint8_t *body, size_t len,
                      const struct jt809_peer *peer, uint8_t *out, size_t cap)
{
    size_t hl = h->edition == JT809_ED_2019 ? JT809_HDR_LEN_2019 : JT809_HDR_LEN_2011;
    if (hl + len + 2 > JT809_CONTENT_MAX)
        return RW_E_TOOLONG;
    if (cap < hl + len + 4)
        return RW_E_NOSPACE;
    if (len)
        memcpy(out + 1 + hl, body, len);
    return jt809_frame_finish(h, len, peer, out, cap);
}

int jt809_encode(const struct jt809_msg *m, const struct jt809_peer *peer, uint8_t *out,
                 size_t cap)
{
    size_t hl = m->h.edition == JT809_ED_2019 ? JT809_HDR_LEN_2019 : JT809_HDR_LEN_2011;
    if (m->h.edition != JT809_ED_2011 && m->h.edition != JT809_ED_2019)
        return RW_E_FIELD;
    if (cap < hl + 4)
        return RW_E_NOSPACE;
    int len = jt809_body_encode(m, out + 1 + hl, cap - hl - 4);
    if (len < 0)
        return len;
    return jt809_frame_finish(&m->h, (size_t)len, peer, out, cap);
}
