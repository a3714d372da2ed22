/* test_util.h: helpers shared by the store tests (temporary directories, a test store,
 * synchronous submit, point generators). */
#ifndef RW_STORE_TEST_UTIL_H
#define RW_STORE_TEST_UTIL_H

#include <stdint.h>

#include "store/store.h"

/* Creates a fresh directory under $TMPDIR (or /tmp) into <out> (cap >= 256). */
void tu_mkdtemp(char *out, const char *tag);
void tu_rmrf(const char *dir);
/* Test config: small batches and maps, cheap Argon2, no maintenance thread. */
void tu_config(struct store_config *c, const char *dir);
/* Opens a store or aborts the test program. */
struct store *tu_open(const struct store_config *c);
/* Submits <b> and waits (<= 20 s) until it comes back; returns its status, or -ETIMEDOUT.
 * Releases the batch. */
int tu_submit_wait(struct store *st, unsigned shard, struct store_batch *b);
/* A point of vehicle <vid> at <t> whose every field is derived from (vid, t, salt). */
void tu_pos(struct store_pos *p, uint32_t vid, int64_t t, uint32_t salt);
int tu_pos_eq(const struct store_pos *a, const struct store_pos *b);
/* Stores <p> (n points) through shard 0, batch by batch, each committed before the next:
 * 0, or the first error. */
int tu_put_points(struct store *st, const struct store_pos *p, size_t n);
uint64_t tu_rand(uint64_t *s);
/* The format version in <dir>/meta.mdb: written (0 or an LMDB code) and read (0: none). */
int tu_meta_format_set(const char *dir, uint32_t f);
uint32_t tu_meta_format_get(const char *dir);
/* store_create + set_config + open + close: the open's result. */
int tu_open_rc(const struct store_config *c);

#endif
