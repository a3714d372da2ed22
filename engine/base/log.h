/* log.h: levelled logging (STYLE §8).
 *
 * LOG(level, module, fmt, ...) tests the level before evaluating its arguments. DEBUG
 * compiles away unless RW_STRICT_LEVEL >= 2. Lines are "time level [shard] module: text" on
 * stderr. This sink is for the control plane and tools; worker threads will push into a
 * per-thread ring drained by a logger thread once the engine exists, so that no worker
 * ever calls write(2) (STYLE H5). Thread-safe (one fprintf per line). */
#ifndef RW_LOG_H
#define RW_LOG_H

#include "engine/base/assert.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_NOTICE, LOG_WARN, LOG_ERR, LOG_NONE };

extern int log_level_min;

/* Sets the minimum level printed (LOG_NONE silences everything). */
void log_set_level(int level);
/* Parses "debug|info|notice|warn|err|none"; returns the level or -1. */
int log_level_parse(const char *name);

__attribute__((format(printf, 3, 4))) void log_line(int level, const char *module,
                                                      const char *fmt, ...);

#define LOG(level, module, ...)                                                            \
    do {                                                                                   \
        if ((level) >= log_level_min)                                                      \
            log_line((level), (module), __VA_ARGS__);                                      \
    } while (0)

#if RW_STRICT_LEVEL >= 2
#define LOG_DBG(module, ...) LOG(LOG_DEBUG, module, __VA_ARGS__)
#else
#define LOG_DBG(module, ...) ((void)0)
#endif

#endif
