/* assert.h: assertions that stay on in production (STYLE §7).
 *
 * ASSERT(x)      always checked; on failure prints file:line, expression, function and
 *                shard, runs the registered hook (log flush) and aborts.
 * ASSERT_HOT(x)  checked when RW_STRICT_LEVEL >= 1 (debug and CI builds); otherwise it is
 *                a sizeof that still type-checks <x> and costs nothing.
 * STATIC_ASSERT  compile-time layout and size checks.
 * ALWAYS(x)/NEVER(x)  "cannot happen" conditions: asserted in strict builds, but evaluate
 *                to <x> so the fallback branch exists and tests can reach it.
 * COUNT_IF(c, ctr)    count a rare but legal event.
 * Never assert on input from terminals or platforms: that is an operating error. */
#ifndef RW_ASSERT_H
#define RW_ASSERT_H

#include <stdint.h>

#ifndef RW_STRICT_LEVEL
#define RW_STRICT_LEVEL 1
#endif

typedef void (*rw_assert_hook_fn)(void);

/* Shard id of the calling thread, printed by a failed assertion; -1 outside workers. */
extern __thread int rw_shard_id;

/* Installs <hook>, called once before abort() on a failed assertion (e.g. log flush).
 * Called at start-up from the main thread only. */
void rw_assert_set_hook(rw_assert_hook_fn hook);

__attribute__((noreturn, cold)) void rw_assert_fail(const char *expr, const char *file,
                                                     int line, const char *func);

#define ASSERT(x)                                                                          \
    do {                                                                                   \
        if (__builtin_expect(!(x), 0))                                                     \
            rw_assert_fail(#x, __FILE__, __LINE__, __func__);                              \
    } while (0)

#if RW_STRICT_LEVEL >= 1
#define ASSERT_HOT(x) ASSERT(x)
#define ALWAYS(x) ((x) ? 1 : (rw_assert_fail(#x, __FILE__, __LINE__, __func__), 0))
#define NEVER(x) ((x) ? (rw_assert_fail("!(" #x ")", __FILE__, __LINE__, __func__), 1) : 0)
#else
#define ASSERT_HOT(x) ((void)sizeof(!(x)))
#define ALWAYS(x) (!!(x))
#define NEVER(x) (!!(x))
#endif

#define STATIC_ASSERT(x, msg) _Static_assert(x, msg)

#define COUNT_IF(cond, ctr)                                                                \
    do {                                                                                   \
        if (__builtin_expect(!!(cond), 0))                                                 \
            (ctr)++;                                                                       \
    } while (0)

#endif
