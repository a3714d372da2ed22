/* maint.c: the maintenance thread — mdb_reader_check on every open environment every
 * reader_check_s, retention and then the compaction of closed days (compact.c, one day
 * per tick until none is due) every retention_check_s. It never takes a write transaction
 * on a day partition, so it never delays a group commit; dropping or swapping a day waits
 * only for the (short) holders of that day. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "engine/base/log.h"
#include "store/store_int.h"

long store_retention_run(struct store *st)
{
    int32_t days[1024];
    int32_t oldest = store_oldest_day(st);
    long dropped = 0;
    for (;;) { /* in rounds of 1024: a store may hold more files than that after a restore */
        long n = part_list_days(st->dir, days, 1024);
        if (n < 0)
            return n;
        long round = 0;
        for (long i = 0; i < n && i < 1024 && days[i] < oldest; i++) {
            int rc = part_drop(st, days[i]);
            if (rc && rc != -ENOENT) {
                LOG(LOG_ERR, "store", "retention: day %d: %s", days[i], err_str(rc));
                return rc;
            }
            round++;
        }
        dropped += round;
        if (round < 1024)
            break;
    }
    if (dropped) {
        STATS_ADD(st, parts_dropped, (uint64_t)dropped);
        LOG(LOG_INFO, "store", "retention: dropped %ld day partitions older than day %d",
            dropped, oldest);
    }
    return dropped;
}

static void reader_check_all(struct store *st)
{
    int dead = 0, total = 0;
    if (st->meta && mdb_reader_check(st->meta, &dead) == 0)
        total += dead;
    pthread_mutex_lock(&st->mu);
    for (unsigned i = 0; i < st->n_parts; i++) {
        struct store_part *p = &st->parts[i];
        dead = 0;
        if (p->day != -1 && !p->doomed && mdb_reader_check(p->env, &dead) == 0)
            total += dead;
    }
    pthread_mutex_unlock(&st->mu);
    if (total) {
        STATS_ADD(st, reader_slots_freed, (uint64_t)total);
        LOG(LOG_WARN, "store", "cleared %d stale reader slots", total);
    }
}

static void *maint_main(void *arg)
{
    struct store *st = arg;
    pthread_setname_np(pthread_self(), "rw-store-maint");
    uint64_t tick = 0, ms = st->cfg.maint_interval_ms;
    uint64_t rc_every = st->cfg.reader_check_s * 1000ull / ms + 1;
    uint64_t ret_every = st->cfg.retention_check_s * 1000ull / ms + 1;
    int compact_due = 0;
    while (!atomic_load(&st->stop)) {
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        tick++;
        if (tick % rc_every == 0)
            reader_check_all(st);
        if (tick % ret_every == 1) {
            store_retention_run(st);
            compact_due = st->cfg.compact_after_days != 0;
        }
        /* One day per tick, so that reader checks and shutdown are never held up long. */
        if (compact_due && store_compact_next(st) <= 0)
            compact_due = 0;
    }
    return NULL;
}

int maint_start(struct store *st)
{
    int rc = pthread_create(&st->maint, NULL, maint_main, st);
    if (rc)
        return -rc;
    st->maint_started = true;
    return 0;
}

void maint_stop(struct store *st)
{
    if (!st->maint_started)
        return;
    atomic_store(&st->stop, 1);
    pthread_join(st->maint, NULL);
    st->maint_started = false;
}
