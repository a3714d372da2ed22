#include "engine/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/base/assert.h"

int log_level_min = LOG_NOTICE;

static const char *const log_names[] = {"debug", "info", "notice", "warn", "err", "none"};

void log_set_level(int level)
{
    if (level >= LOG_DEBUG && level <= LOG_NONE)
        log_level_min = level;
}

int log_level_parse(const char *name)
{
    for (int i = 0; i <= LOG_NONE; i++)
        if (strcmp(name, log_names[i]) == 0)
            return i;
    return -1;
}

void log_line(int level, const char *module, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    if (level < 0 || level > LOG_ERR)
        level = LOG_ERR;
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%d] %s: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            log_names[level], rw_shard_id, module, msg);
}
