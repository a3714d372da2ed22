/* text.h: text conversions for output and input of the tools: GBK <-> UTF-8, hex, and
 * JSON-safe escaping. Not for the hot path: the codecs keep GBK text as bytes (plates are
 * keys) and convert only when something is shown to a person.
 *
 * Conversions use glibc iconv with one descriptor per thread, opened on first use.
 * Thread-safe. */
#ifndef RW_TEXT_H
#define RW_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/wire.h"

/* Converts GBK (GB18030, its superset) bytes <in> to NUL-terminated UTF-8 in <out>
 * (capacity <cap>, >= 1). Invalid or truncated sequences become U+FFFD and conversion goes
 * on. Embedded NULs end the text. Returns the UTF-8 length (excluding the NUL) or
 * RW_E_NOSPACE when <out> is too small (the output is then cut at a character boundary and
 * still terminated). */
int text_gbk_to_utf8(struct rw_bytes in, char *out, size_t cap);

/* Converts UTF-8 <in> to GBK bytes in <out>. Returns the byte count, RW_E_NOSPACE, or
 * RW_E_SYNTAX when <in> holds a character GBK cannot represent or invalid UTF-8. */
int text_utf8_to_gbk(const char *in, size_t len, uint8_t *out, size_t cap);

/* Writes <n> bytes as lower-case hex plus a NUL into <out> (needs 2n+1). Returns 2n or
 * RW_E_NOSPACE. */
int text_hex_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Parses hex text into bytes. Spaces, tabs, newlines, ':' and '-' between byte pairs are
 * ignored, as is a leading "0x". Returns the byte count, RW_E_SYNTAX (odd digit count or a
 * non-hex character) or RW_E_NOSPACE. */
int text_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
