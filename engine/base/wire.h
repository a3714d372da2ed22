/* wire.h: bounds-checked big-endian readers and writers for protocol codecs.
 *
 * A struct rd walks a borrowed byte range. Every read checks the remaining length first;
 * reading past the end returns 0 (or a NULL view), and sets the sticky rd.err to
 * RW_E_TRUNCATED, so a decoder reads all its fields and tests rd.err once at the end. The
 * same holds for struct wr and RW_E_NOSPACE. Nothing here allocates; everything is inline
 * so the compiler can fuse the bound checks of consecutive fields.
 *
 * Views (struct rw_bytes) point into the reader's buffer and stay valid as long as that
 * buffer does. Single-threaded objects: one reader/writer per thread. */
#ifndef RW_WIRE_H
#define RW_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/base/err.h"

/* A borrowed byte range. */
struct rw_bytes {
    const uint8_t *p;
    uint32_t len;
};

struct rd {
    const uint8_t *p;
    const uint8_t *end;
    int err;
};

struct wr {
    uint8_t *p;
    uint8_t *end;
    uint8_t *start;
    int err;
};

static inline void rd_init(struct rd *r, const void *buf, size_t len)
{
    r->p = (const uint8_t *)buf;
    r->end = len ? r->p + len : r->p; /* no arithmetic on a NULL view */
    r->err = 0;
}

static inline size_t rd_left(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

static inline int rd_need(struct rd *r, size_t n)
{
    if (__builtin_expect(rd_left(r) < n, 0)) {
        r->err = RW_E_TRUNCATED;
        r->p = r->end;
        return 0;
    }
    return 1;
}

static inline uint8_t rd_u8(struct rd *r)
{
    if (!rd_need(r, 1))
        return 0;
    return *r->p++;
}

static inline uint16_t rd_u16(struct rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return v;
}

static inline uint32_t rd_u32(struct rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
                 ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    return v;
}

static inline uint64_t rd_u64(struct rd *r)
{
    uint64_t hi = rd_u32(r);
    return (hi << 32) | rd_u32(r);
}

/* Borrows the next <n> bytes; an empty view (and err) when fewer remain. */
static inline struct rw_bytes rd_bytes(struct rd *r, size_t n)
{
    struct rw_bytes b = {NULL, 0};
    if (!rd_need(r, n))
        return b;
    b.p = r->p;
    b.len = (uint32_t)n;
    r->p += n;
    return b;
}

/* Borrows everything that is left (possibly empty, never an error). */
static inline struct rw_bytes rd_rest(struct rd *r)
{
    struct rw_bytes b = {r->p, (uint32_t)rd_left(r)};
    r->p = r->end;
    return b;
}

static inline void rd_copy(struct rd *r, void *out, size_t n)
{
    if (!rd_need(r, n)) {
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
}

static inline void wr_init(struct wr *w, void *buf, size_t cap)
{
    w->start = w->p = (uint8_t *)buf;
    w->end = cap ? w->p + cap : w->p;
    w->err = 0;
}

static inline size_t wr_len(const struct wr *w)
{
    return (size_t)(w->p - w->start);
}

static inline int wr_need(struct wr *w, size_t n)
{
    if (__builtin_expect((size_t)(w->end - w->p) < n, 0)) {
        w->err = RW_E_NOSPACE;
        w->p = w->end;
        return 0;
    }
    return 1;
}

static inline void wr_u8(struct wr *w, uint8_t v)
{
    if (wr_need(w, 1))
        *w->p++ = v;
}

static inline void wr_u16(struct wr *w, uint16_t v)
{
    if (!wr_need(w, 2))
        return;
    w->p[0] = (uint8_t)(v >> 8);
    w->p[1] = (uint8_t)v;
    w->p += 2;
}

static inline void wr_u32(struct wr *w, uint32_t v)
{
    if (!wr_need(w, 4))
        return;
    w->p[0] = (uint8_t)(v >> 24);
    w->p[1] = (uint8_t)(v >> 16);
    w->p[2] = (uint8_t)(v >> 8);
    w->p[3] = (uint8_t)v;
    w->p += 4;
}

static inline void wr_u64(struct wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)(v >> 32));
    wr_u32(w, (uint32_t)v);
}

static inline void wr_mem(struct wr *w, const void *src, size_t n)
{
    if (n && wr_need(w, n)) {
        memcpy(w->p, src, n);
        w->p += n;
    }
}

/* Writes <b> into a fixed-width field of <width> bytes, NUL-padded at the end. A longer
 * value is an error (RW_E_TOOLONG), never silently cut. */
static inline void wr_fixed(struct wr *w, struct rw_bytes b, size_t width)
{
    if (b.len > width) {
        w->err = RW_E_TOOLONG;
        return;
    }
    if (!wr_need(w, width))
        return;
    if (b.len)
        memcpy(w->p, b.p, b.len);
    memset(w->p + b.len, 0, width - b.len);
    w->p += width;
}

static inline struct rw_bytes rw_bytes_of(const void *p, size_t len)
{
    struct rw_bytes b = {(const uint8_t *)p, (uint32_t)len};
    return b;
}

static inline struct rw_bytes rw_str(const char *s)
{
    return rw_bytes_of(s, s ? strlen(s) : 0);
}

/* Returns <b> without leading and trailing NULs and spaces (fixed-width text fields are
 * padded at either end by real devices). */
static inline struct rw_bytes rw_trim(struct rw_bytes b)
{
    while (b.len && (b.p[0] == 0 || b.p[0] == ' ')) {
        b.p++;
        b.len--;
    }
    while (b.len && (b.p[b.len - 1] == 0 || b.p[b.len - 1] == ' '))
        b.len--;
    return b;
}

static inline int rw_bytes_eq(struct rw_bytes a, struct rw_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static inline int64_t rw_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of rw_days_from_civil. */
static inline void rw_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static inline int rw_days_in_month(int y, unsigned m)
{
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* Validates a civil date-time; returns 1 when every field is in range. */
static inline int rw_civil_valid(int y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                                 unsigned s)
{
    return mo >= 1 && mo <= 12 && d >= 1 && (int)d <= rw_days_in_month(y, mo) && h < 24 &&
           mi < 60 && s < 60;
}

#endif
