#include "engine/base/assert.h"

#include <stdio.h>
#include <stdlib.h>

__thread int rw_shard_id = -1;
static rw_assert_hook_fn rw_assert_hook;

void rw_assert_set_hook(rw_assert_hook_fn hook)
{
    rw_assert_hook = hook;
}

void rw_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    /* fprintf is acceptable here: the process is about to abort. */
    fprintf(stderr, "roadwatch: %s:%d: %s: assertion failed: %s (shard %d)\n", file, line,
            func, expr, rw_shard_id);
    fflush(stderr);
    rw_assert_hook_fn hook = rw_assert_hook;
    rw_assert_hook = NULL; /* a failing hook must not recurse */
    if (hook)
        hook();
    abort();
}
