#include "engine/base/text.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

static __thread iconv_t text_cd_dec = (iconv_t)-1;
static __thread iconv_t text_cd_enc = (iconv_t)-1;

static iconv_t text_cd(iconv_t *slot, const char *to, const char *from)
{
    if (*slot == (iconv_t)-1)
        *slot = iconv_open(to, from);
    else
        iconv(*slot, NULL, NULL, NULL, NULL); /* reset shift state */
    return *slot;
}

int text_gbk_to_utf8(struct rw_bytes in, char *out, size_t cap)
{
    if (cap == 0)
        return RW_E_NOSPACE;
    const uint8_t *nul = in.len ? memchr(in.p, 0, in.len) : NULL;
    size_t inleft = nul ? (size_t)(nul - in.p) : in.len;
    iconv_t cd = text_cd(&text_cd_dec, "UTF-8", "GB18030");
    char *ip = (char *)(uintptr_t)in.p;
    char *op = out;
    size_t oleft = cap - 1;
    int rc = 0;
    if (cd == (iconv_t)-1) {
        /* No converter: fall back to printable ASCII, '?' for the rest. */
        size_t i;
        for (i = 0; i < inleft && i < oleft; i++)
            out[i] = (in.p[i] >= 0x20 && in.p[i] < 0x7f) ? (char)in.p[i] : '?';
        out[i] = 0;
        return i < inleft ? RW_E_NOSPACE : (int)i;
    }
    while (inleft > 0) {
        size_t r = iconv(cd, &ip, &inleft, &op, &oleft);
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG) {
            rc = RW_E_NOSPACE;
            break;
        }
        /* EILSEQ or EINVAL: replace one byte with U+FFFD and go on. */
        if (oleft < 3) {
            rc = RW_E_NOSPACE;
            break;
        }
        memcpy(op, "\xEF\xBF\xBD", 3);
        op += 3;
        oleft -= 3;
        ip++;
        inleft--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    *op = 0;
    return rc ? rc : (int)(op - out);
}

int text_utf8_to_gbk(const char *in, size_t len, uint8_t *out, size_t cap)
{
    iconv_t cd = text_cd(&text_cd_enc, "GBK", "UTF-8");
    if (cd == (iconv_t)-1)
        return -EINVAL;
    char *ip = (char *)(uintptr_t)in;
    char *op = (char *)out;
    size_t inleft = len, oleft = cap;
    if (iconv(cd, &ip, &inleft, &op, &oleft) == (size_t)-1)
        return errno == E2BIG ? RW_E_NOSPACE : RW_E_SYNTAX;
    return (int)(cap - oleft);
}

int text_hex_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    if (cap < 2 * n + 1)
        return RW_E_NOSPACE;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
    return (int)(2 * n);
}

static int text_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int text_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    size_t i = 0;
    while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\r'))
        i++;
    if (i + 1 < len && in[i] == '0' && (in[i + 1] == 'x' || in[i + 1] == 'X'))
        i += 2;
    for (; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == '-') {
            if (hi >= 0)
                return RW_E_SYNTAX;
            continue;
        }
        int v = text_hexval(c);
        if (v < 0)
            return RW_E_SYNTAX;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return RW_E_NOSPACE;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0)
        return RW_E_SYNTAX;
    return (int)n;
}
