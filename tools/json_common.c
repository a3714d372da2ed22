/* json_common.c: JSON helpers shared by the JT/T 808 and JT/T 809 tool layers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "tools/tool.h"

void *arena_take(struct arena *a, size_t n)
{
    size_t aligned = (a->len + 7) & ~(size_t)7;
    if (aligned > a->cap || a->cap - aligned < n)
        return NULL;
    void *p = a->p + aligned;
    a->len = aligned + n;
    return p;
}

json_t *json_gbk(struct rw_bytes b)
{
    char buf[4096];
    struct rw_bytes t = rw_trim(b);
    text_gbk_to_utf8(t, buf, sizeof buf); /* cut at a character boundary if too long */
    return json_string(buf);
}

json_t *json_hex(struct rw_bytes b)
{
    char small[512];
    char *buf = small;
    size_t need = 2 * (size_t)b.len + 1;
    if (need > sizeof small) {
        buf = malloc(need);
        if (!buf)
            return NULL;
    }
    text_hex_encode(b.p, b.len, buf, need);
    json_t *j = json_string(buf);
    if (buf != small)
        free(buf);
    return j;
}

json_t *json_time_utc(int64_t utc)
{
    if (utc == INT64_MIN)
        return json_null();
    int64_t local = utc + 8 * 3600;
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int64_t sod = local - days * 86400;
    int y;
    unsigned mo, d;
    rw_civil_from_days(days, &y, &mo, &d);
    char buf[40];
    snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d+08:00", y, mo, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    return json_string(buf);
}

static void json_err(char *err, size_t cap, const char *key, const char *why)
{
    if (err && cap)
        snprintf(err, cap, "%s: %s", key, why);
}

int json_get_uint(const json_t *obj, const char *key, uint64_t max, uint64_t *out, char *err,
                  size_t errcap)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        /* Accept "0x..." strings for IDs and bit words. */
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 0);
        if (errno || end == s || *end || s[0] == '-') {
            json_err(err, errcap, key, "not an unsigned number");
            return RW_E_SYNTAX;
        }
        if (x > max) {
            json_err(err, errcap, key, "out of range");
            return RW_E_FIELD;
        }
        *out = x;
        return 1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        json_err(err, errcap, key, "expected a non-negative integer");
        return RW_E_SYNTAX;
    }
    if ((uint64_t)json_integer_value(v) > max) {
        json_err(err, errcap, key, "out of range");
        return RW_E_FIELD;
    }
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

int json_get_gbk(const json_t *obj, const char *key, struct arena *a, struct rw_bytes *out,
                 char *err, size_t errcap)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        json_err(err, errcap, key, "expected a string");
        return RW_E_SYNTAX;
    }
    size_t len = json_string_length(v);
    uint8_t *buf = arena_take(a, 2 * len + 1);
    if (!buf) {
        json_err(err, errcap, key, "too long");
        return RW_E_NOSPACE;
    }
    int n = text_utf8_to_gbk(json_string_value(v), len, buf, 2 * len + 1);
    if (n < 0) {
        json_err(err, errcap, key, "not representable in GBK");
        return RW_E_SYNTAX;
    }
    *out = rw_bytes_of(buf, (size_t)n);
    return 1;
}

int json_get_hex(const json_t *obj, const char *key, struct arena *a, struct rw_bytes *out,
                 char *err, size_t errcap)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        json_err(err, errcap, key, "expected a hex string");
        return RW_E_SYNTAX;
    }
    size_t len = json_string_length(v);
    uint8_t *buf = arena_take(a, len / 2 + 1);
    if (!buf) {
        json_err(err, errcap, key, "too long");
        return RW_E_NOSPACE;
    }
    int n = text_hex_decode(json_string_value(v), len, buf, len / 2 + 1);
    if (n < 0) {
        json_err(err, errcap, key, "not valid hex");
        return RW_E_SYNTAX;
    }
    *out = rw_bytes_of(buf, (size_t)n);
    return 1;
}

/* Parses "YYYY-MM-DDThh:mm:ss" followed by "Z" or "+hh:mm"/"-hh:mm". */
static int json_parse_iso(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return RW_E_SYNTAX;
    if (!rw_civil_valid(y, (unsigned)mo, (unsigned)d, (unsigned)h, (unsigned)mi,
                        (unsigned)sec))
        return RW_E_FIELD;
    const char *z = s + n;
    int off = 0;
    if (*z == 'Z' && z[1] == 0) {
        off = 0;
    } else if ((*z == '+' || *z == '-') && strlen(z) == 6 && z[3] == ':') {
        int oh, om;
        if (sscanf(z + 1, "%2d:%2d", &oh, &om) != 2)
            return RW_E_SYNTAX;
        off = (oh * 60 + om) * 60 * (*z == '-' ? -1 : 1);
    } else {
        return RW_E_SYNTAX;
    }
    *out = rw_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
           sec - off;
    return 0;
}

int json_get_time(const json_t *obj, const char *key, int64_t *out, char *err, size_t errcap)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (!json_is_string(v) || json_parse_iso(json_string_value(v), out) != 0) {
        json_err(err, errcap, key, "expected YYYY-MM-DDThh:mm:ss+08:00 or UTC seconds");
        return RW_E_SYNTAX;
    }
    return 1;
}
