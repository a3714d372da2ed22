/* tool.h: shared pieces of the roadwatch command-line verbs in tools/ (decode, encode).
 *
 * The verbs turn protocol messages into JSON (one object per frame) and back. JSON is
 * built with jansson: these are operator tools, not the data plane, so allocating per
 * message is fine here. Text fields are GBK on the wire and UTF-8 in JSON.
 * Single-threaded. */
#ifndef RW_TOOL_H
#define RW_TOOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/wire.h"
#include "engine/proto/jt808.h"
#include "engine/proto/jt809.h"

/* A bump allocator over a caller-provided buffer; holds the bytes that decoded JSON
 * strings and hex fields point to while a message is being encoded. */
struct arena {
    uint8_t *p;
    size_t len;
    size_t cap;
};

/* Returns <n> bytes from <a>, or NULL when it is full. Lives as long as the buffer. */
void *arena_take(struct arena *a, size_t n);

/* JSON helpers shared by both protocols. */
json_t *json_gbk(struct rw_bytes b);             /* GBK bytes -> UTF-8 string (trimmed) */
json_t *json_hex(struct rw_bytes b);             /* bytes -> lower-case hex string */
json_t *json_time_utc(int64_t utc);              /* "YYYY-MM-DDThh:mm:ss+08:00" or null */

/* Reads optional members from <obj>. Each returns 0 when absent (leaving *out untouched),
 * 1 when read, or RW_E_SYNTAX / RW_E_FIELD when present but of the wrong type or out of
 * range; <err> receives "member: reason". */
int json_get_uint(const json_t *obj, const char *key, uint64_t max, uint64_t *out,
                  char *err, size_t errcap);
int json_get_gbk(const json_t *obj, const char *key, struct arena *a, struct rw_bytes *out,
                 char *err, size_t errcap);                /* UTF-8 text -> GBK bytes */
int json_get_hex(const json_t *obj, const char *key, struct arena *a, struct rw_bytes *out,
                 char *err, size_t errcap);
/* Accepts "YYYY-MM-DDThh:mm:ss+08:00" (any offset, or Z) or a number of UTC seconds. */
int json_get_time(const json_t *obj, const char *key, int64_t *out, char *err,
                  size_t errcap);

/* JT/T 808: a decoded message -> JSON object with every decoded field ("msg_id", "name",
 * "edition", "phone", "serial", ..., "body": {...}). Never NULL except on out-of-memory. */
json_t *json808_msg(const struct jt808_msg *m);
/* A 0x0200-style location -> JSON object (shared with JT/T 809-2019 GNSS data). */
json_t *json808_loc(const struct jt808_loc *loc, uint16_t edition);
/* JSON object in the json808_msg() shape -> <m>, ready for jt808_encode(). Byte fields
 * point into <a>. Returns 0 or a negative code with a reason in <err>. */
int json808_build(const json_t *j, struct jt808_msg *m, struct arena *a, char *err,
                  size_t errcap);
int json808_loc_build(const json_t *j, struct jt808_loc *loc, struct arena *a, char *err,
                      size_t errcap);

/* JT/T 809: as above. */
json_t *json809_msg(const struct jt809_msg *m);
int json809_build(const json_t *j, struct jt809_msg *m, struct arena *a, char *err,
                  size_t errcap);

#endif
