/* jt808_frame.c: JT/T 808 escaping, check code, stream framer, header, frame build.
 * See jt808.h for the contracts; shared/protocols/jt808.md §1-§2 for the wire format. */
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/proto/jt808.h"

STATIC_ASSERT(JT808_RAW_MAX == 1045, "header 21 + body 1023 + check 1");
STATIC_ASSERT(JT808_WIRE_MAX >= 2 * JT808_RAW_MAX + 2, "worst-case escaping fits");

/* Smallest unescaped frame: a 12-byte header and the check code. */
#define JT808_RAW_MIN 13u

uint8_t jt808_xor(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    return x;
}

int jt808_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (c == JT808_FLAG || c == JT808_ESC) {
            if (cap - o < 2)
                return RW_E_NOSPACE;
            out[o++] = JT808_ESC;
            out[o++] = c == JT808_FLAG ? 0x02 : 0x01;
        } else {
            if (o >= cap)
                return RW_E_NOSPACE;
            out[o++] = c;
        }
    }
    return (int)o;
}

int jt808_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (c == JT808_FLAG)
            return RW_E_FIELD;
        if (c == JT808_ESC) {
            if (i + 1 >= n)
                return RW_E_ESCAPE;
            uint8_t e = in[++i];
            if (e == 0x01)
                c = JT808_ESC;
            else if (e == 0x02)
                c = JT808_FLAG;
            else
                return RW_E_ESCAPE;
        }
        if (o >= cap)
            return RW_E_NOSPACE;
        out[o++] = c;
    }
    return (int)o;
}

/* ---------------------------------------------------------------------------------------
 * Framer
 */

void jt808_framer_init(struct jt808_framer *f)
{
    f->len = 0;
    f->in_frame = 0;
    f->esc = 0;
    f->drop = 0;
    f->xor_acc = 0;
    f->drop_err = 0;
    memset(&f->st, 0, sizeof f->st);
}

static void framer_open(struct jt808_framer *f)
{
    f->in_frame = 1;
    f->len = 0;
    f->esc = 0;
    f->drop = 0;
    f->xor_acc = 0;
}

static inline uint8_t fold_xor(uint64_t x)
{
    x ^= x >> 32;
    x ^= x >> 16;
    x ^= x >> 8;
    return (uint8_t)x;
}

/* A closing flag was seen: validates the collected frame. Returns 1 for a good frame, 0
 * for an empty one, or a negative code. A good frame leaves the framer outside any frame;
 * after a bad one the closing flag is taken as the opening flag of the next frame, which
 * resynchronises a stream that was read out of phase. */
static int framer_close(struct jt808_framer *f)
{
    if (f->len == 0 && !f->esc) {
        f->st.empty++;
        framer_open(f);
        return 0;
    }
    int rc = 1;
    if (f->esc) {
        rc = RW_E_ESCAPE;
        f->st.bad_escape++;
    } else if (f->len < JT808_RAW_MIN) {
        rc = RW_E_TRUNCATED;
        f->st.too_short++;
    } else if (fold_xor(f->xor_acc) != 0) {
        /* XOR over header+body+check is 0 exactly when the check code matches. */
        rc = RW_E_CHECK;
        f->st.bad_check++;
    }
    if (rc == 1) {
        f->st.frames++;
        f->in_frame = 0;
        f->esc = 0;
        return 1;
    }
    framer_open(f);
    return rc;
}

#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGH 0x8080808080808080ull

/* Nonzero when some byte of <v> is zero (exact: no false positives). */
static inline uint64_t swar_haszero(uint64_t v)
{
    return (v - SWAR_ONES) & ~v & SWAR_HIGH;
}

/* Nonzero when some byte of <w> is a flag (0x7E) or an escape (0x7D). */
static inline uint64_t swar_special(uint64_t w)
{
    return swar_haszero(w ^ (SWAR_ONES * JT808_FLAG)) | swar_haszero(w ^ (SWAR_ONES * JT808_ESC));
}

/* Collects frame bytes from in[i..n) until a flag, an error or the end of input. Returns
 * the index reached; sets *hit to 1 when a flag ended the scan (the flag consumed), or a
 * negative code on error. Runs of ordinary bytes move eight at a time: copied as one word
 * and XORed into an 8-lane accumulator that framer_close() folds. Kept separate so the hot
 * loop stays small (STYLE H8). */
static size_t framer_collect(struct jt808_framer *f, const uint8_t *in, size_t i, size_t n,
                             int *hit)
{
    uint32_t len = f->len;
    uint64_t x = f->xor_acc;
    uint8_t esc = f->esc;
    uint8_t *buf = f->buf;
    *hit = 0;
    while (i < n) {
        if (!esc && n - i >= 8 && len + 8 <= JT808_RAW_MAX) {
            uint64_t w;
            memcpy(&w, in + i, 8);
            if (!swar_special(w)) {
                memcpy(buf + len, &w, 8);
                x ^= w;
                len += 8;
                i += 8;
                continue;
            }
        }
        uint8_t c = in[i++];
        if (c == JT808_FLAG) {
            *hit = 1;
            break;
        }
        if (esc) {
            esc = 0;
            if (c == 0x01) {
                c = JT808_ESC;
            } else if (c == 0x02) {
                c = JT808_FLAG;
            } else {
                *hit = RW_E_ESCAPE;
                break;
            }
        } else if (c == JT808_ESC) {
            esc = 1;
            continue;
        }
        if (len >= JT808_RAW_MAX) {
            *hit = RW_E_TOOLONG;
            break;
        }
        buf[len++] = c;
        x ^= c;
    }
    f->len = len;
    f->xor_acc = x;
    f->esc = esc;
    return i;
}

size_t jt808_framer_feed(struct jt808_framer *f, const uint8_t *in, size_t n, int *status)
{
    size_t i = 0;
    *status = 0;
    while (i < n) {
        if (!f->in_frame || f->drop) {
            const uint8_t *p = memchr(in + i, JT808_FLAG, n - i);
            size_t skip = p ? (size_t)(p - (in + i)) : n - i;
            if (!f->drop)
                f->st.garbage_bytes += skip;
            if (!p)
                return n;
            i += skip + 1;
            framer_open(f);
            continue;
        }
        int hit;
        i = framer_collect(f, in, i, n, &hit);
        if (hit == 0)
            return i;
        if (hit < 0) {
            /* Report now (the owner may close a hostile connection early) and skip the
             * rest of this frame up to the next flag. */
            if (hit == RW_E_ESCAPE)
                f->st.bad_escape++;
            else
                f->st.too_long++;
            f->drop = 1;
            *status = hit;
            return i;
        }
        int rc = framer_close(f);
        if (rc != 0) {
            *status = rc;
            return i;
        }
    }
    return i;
}

/* ---------------------------------------------------------------------------------------
 * Header
 */

static int hdr_layout(uint16_t props, size_t n, int *v2019, unsigned *hl)
{
    unsigned body = props & JT808_PROP_LEN_MASK;
    unsigned sub = (props & JT808_PROP_SUBPKG) ? 4 : 0;
    *v2019 = (props & JT808_PROP_V2019) != 0;
    *hl = (*v2019 ? 17 : 12) + sub;
    if (n == *hl + body + 1)
        return 0;
    /* §2.5: some 2013 devices set bit 14 but send the 12-byte header. */
    if (*v2019 && n == 12 + sub + body + 1) {
        *v2019 = 0;
        *hl = 12 + sub;
        return 1;
    }
    return n < *hl + body + 1 ? RW_E_TRUNCATED : RW_E_LENGTH;
}

int jt808_hdr_parse(const uint8_t *raw, size_t n, struct jt808_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (n < JT808_RAW_MIN)
        return RW_E_TRUNCATED;
    h->msg_id = (uint16_t)(raw[0] << 8 | raw[1]);
    h->props = (uint16_t)(raw[2] << 8 | raw[3]);
    h->body_len = h->props & JT808_PROP_LEN_MASK;
    h->encrypt = (uint8_t)((h->props & JT808_PROP_ENC_MASK) >> JT808_PROP_ENC_SHIFT);
    h->subpkg = (h->props & JT808_PROP_SUBPKG) != 0;
    int v2019;
    unsigned hl;
    int rc = hdr_layout(h->props, n, &v2019, &hl);
    if (rc < 0)
        return rc;
    h->quirk_2013_hdr = (uint8_t)rc;
    h->hdr_len = (uint8_t)hl;
    const uint8_t *p = raw + 4;
    if (v2019) {
        h->edition = JT808_ED_2019;
        h->proto_ver = *p++;
        h->phone_len = 10;
        memcpy(h->phone, p, 10);
        p += 10;
    } else {
        h->edition = JT808_ED_2013;
        h->phone_len = 6;
        memcpy(h->phone + 4, p, 6);
        p += 6;
    }
    h->serial = (uint16_t)(p[0] << 8 | p[1]);
    p += 2;
    if (h->subpkg) {
        h->pkg_total = (uint16_t)(p[0] << 8 | p[1]);
        h->pkg_index = (uint16_t)(p[2] << 8 | p[3]);
    }
    return (int)hl;
}

int jt808_phone_str(const struct jt808_hdr *h, char out[21])
{
    static const char hex[] = "0123456789abcdef";
    char digits[20];
    for (int i = 0; i < 10; i++) {
        digits[2 * i] = hex[h->phone[i] >> 4];
        digits[2 * i + 1] = hex[h->phone[i] & 15];
    }
    int start = 0;
    while (start < 19 && digits[start] == '0')
        start++;
    int n = 20 - start;
    memcpy(out, digits + start, (size_t)n);
    out[n] = 0;
    return n;
}

int jt808_phone_set(struct jt808_hdr *h, const char *digits)
{
    size_t n = strlen(digits);
    if (n == 0 || n > 20)
        return RW_E_FIELD;
    uint8_t nib[20];
    memset(nib, 0, sizeof nib);
    for (size_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return RW_E_FIELD;
        nib[20 - n + i] = (uint8_t)(digits[i] - '0');
    }
    for (int i = 0; i < 10; i++)
        h->phone[i] = (uint8_t)(nib[2 * i] << 4 | nib[2 * i + 1]);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Frame parse and build
 */

static int frame_parse(const uint8_t *raw, size_t n, struct jt808_msg *m, int verify)
{
    int hl = jt808_hdr_parse(raw, n, &m->h);
    m->body.p = NULL;
    m->body.len = 0;
    if (hl < 0)
        return hl;
    if (verify && jt808_xor(raw, n) != 0)
        return RW_E_CHECK;
    m->body.p = raw + hl;
    m->body.len = m->h.body_len;
    if (m->h.subpkg || m->h.encrypt) {
        memset(&m->u, 0, sizeof m->u);
        return 0;
    }
    int rc = jt808_body_decode(m);
    return rc == RW_E_UNSUPPORTED ? 0 : rc;
}

int jt808_frame_parse(const uint8_t *raw, size_t n, struct jt808_msg *m)
{
    return frame_parse(raw, n, m, 1);
}

int jt808_framer_parse(const struct jt808_framer *f, struct jt808_msg *m)
{
    return frame_parse(f->buf, f->len, m, 0);
}

/* Writes the header for a body of <len> bytes into <out>; returns its length. */
static unsigned hdr_build(const struct jt808_hdr *h, size_t len, uint8_t *out)
{
    int v2019 = h->edition == JT808_ED_2019;
    uint16_t props = (uint16_t)((h->props & 0x8000u) | (len & JT808_PROP_LEN_MASK) |
                                ((unsigned)(h->encrypt & 7) << JT808_PROP_ENC_SHIFT));
    if (h->subpkg)
        props |= JT808_PROP_SUBPKG;
    if (v2019 || h->quirk_2013_hdr)
        props |= JT808_PROP_V2019;
    uint8_t *p = out;
    *p++ = (uint8_t)(h->msg_id >> 8);
    *p++ = (uint8_t)h->msg_id;
    *p++ = (uint8_t)(props >> 8);
    *p++ = (uint8_t)props;
    if (v2019) {
        *p++ = h->proto_ver;
        memcpy(p, h->phone, 10);
        p += 10;
    } else {
        memcpy(p, h->phone + 4, 6);
        p += 6;
    }
    *p++ = (uint8_t)(h->serial >> 8);
    *p++ = (uint8_t)h->serial;
    if (h->subpkg) {
        *p++ = (uint8_t)(h->pkg_total >> 8);
        *p++ = (uint8_t)h->pkg_total;
        *p++ = (uint8_t)(h->pkg_index >> 8);
        *p++ = (uint8_t)h->pkg_index;
    }
    return (unsigned)(p - out);
}

int jt808_frame_build(const struct jt808_hdr *h, const uint8_t *body, size_t len, uint8_t *out,
                      size_t cap)
{
    if (len > JT808_BODY_MAX)
        return RW_E_TOOLONG;
    uint8_t raw[JT808_RAW_MAX];
    unsigned hl = hdr_build(h, len, raw);
    ASSERT_HOT(hl <= JT808_HDR_MAX);
    if (len)
        memcpy(raw + hl, body, len);
    size_t n = hl + len;
    raw[n] = jt808_xor(raw, n);
    n++;
    if (cap < 2)
        return RW_E_NOSPACE;
    out[0] = JT808_FLAG;
    int e = jt808_escape(raw, n, out + 1, cap - 2);
    if (e < 0)
        return e;
    out[1 + e] = JT808_FLAG;
    return e + 2;
}

int jt808_encode(const struct jt808_msg *m, uint8_t *out, size_t cap)
{
    uint8_t body[JT808_BODY_MAX + 1];
    int len = jt808_body_encode(m, body, sizeof body);
    if (len < 0)
        return len;
    if ((size_t)len > JT808_BODY_MAX)
        return RW_E_TOOLONG;
    return jt808_frame_build(&m->h, body, (size_t)len, out, cap);
}

int jt808_split_encode(const struct jt808_hdr *h, const uint8_t *body, size_t len,
                       size_t chunk, uint8_t *out, size_t cap)
{
    if (chunk == 0 || chunk > JT808_BODY_MAX || len == 0)
        return RW_E_FIELD;
    size_t total = (len + chunk - 1) / chunk;
    if (total > 0xFFFF)
        return RW_E_FIELD;
    struct jt808_hdr ph = *h;
    ph.subpkg = 1;
    ph.pkg_total = (uint16_t)total;
    size_t o = 0;
    for (size_t i = 0; i < total; i++) {
        size_t off = i * chunk;
        size_t n = len - off < chunk ? len - off : chunk;
        ph.pkg_index = (uint16_t)(i + 1);
        ph.serial = (uint16_t)(h->serial + i);
        int w = jt808_frame_build(&ph, body + off, n, out + o, cap - o);
        if (w < 0)
            return w;
        o += (size_t)w;
    }
    return (int)o;
}

void jt808_make_gen_rsp(struct jt808_msg *m, const struct jt808_hdr *req, uint16_t serial,
                        uint8_t result)
{
    memset(m, 0, sizeof *m);
    m->h.msg_id = JT808_MSG_8001_PLAT_RSP;
    m->h.edition = req->edition;
    m->h.proto_ver = req->proto_ver;
    m->h.quirk_2013_hdr = req->quirk_2013_hdr;
    memcpy(m->h.phone, req->phone, sizeof m->h.phone);
    m->h.serial = serial;
    m->u.gen_rsp.ack_serial = req->serial;
    m->u.gen_rsp.ack_id = req->msg_id;
    m->u.gen_rsp.result = result;
}
