/* platstore.h: the store side of the JT/T 809 platform runs — the platform accounts the
 * engine checks logins against, and the after-run check that every position a platform
 * sent is in the store exactly once. Both open the store directly (store.h), so the
 * engine must be stopped: accounts are written before it starts, the check reads after
 * it stopped (read-only open). Used by `roadwatch-bench accounts|platcheck`, bench/run and
 * tests/e2e/bench/platform_test.c. */
#ifndef RW_BENCH_PLATSTORE_H
#define RW_BENCH_PLATSTORE_H

#include <stdint.h>
#include <stdio.h>

#include "bench/load/scenario.h"

/* Writes (or replaces) the account of every platform of <s> in the store at <dir>
 * (created if missing): user id, access code, password, M1/IA1/IC1, edition, any source
 * address. Returns the number written or a negative code (message in <err>). */
long platstore_accounts(const struct scenario *s, const char *dir, char *err, size_t cap);

struct platstore_check {
    uint64_t vehicles;         /* lines of the vehicle file */
    uint64_t sent_live, sent_reup;     /* what the platforms sent (0x1202, 0x1203 items) */
    uint64_t stored_live, stored_reup; /* points in the store with source 809 live/re-up */
    uint64_t stored_other;     /* points of those vehicles from another source */
    uint64_t duplicates;       /* two points of one vehicle with the same GNSS time */
    uint64_t missing_vehicles; /* sent positions but not in the registry */
    uint64_t mismatched;       /* vehicles whose counts differ */
};

/* Reads the vehicle file <tsv> written by the run (sim_opts.plat_vehicles_path) and
 * counts, per vehicle, the store's points between its first and last sent GNSS time.
 * Writes one line per mismatching vehicle to <diag> (may be NULL). Returns 0 when every
 * count matches (live and re-upload separately, no duplicates), 1 when not, or a negative
 * code (the store or the file could not be read). */
int platstore_check(const char *dir, const char *tsv, FILE *diag, struct platstore_check *out);

/* Every point of every registered vehicle, over the days the store holds. */
struct platstore_count {
    uint64_t vehicles;   /* registered vehicles */
    uint64_t points;     /* stored points, any source */
    uint64_t duplicates; /* two points of one vehicle with the same GNSS time */
    int32_t first_day, last_day; /* GMT+8 days (store_day_of) of the day files read */
};

/* Counts the points of every vehicle in the store at <dir> (engine stopped: read-only
 * open) between the oldest and the newest day file. Returns 0 or a negative code. */
int platstore_count_all(const char *dir, struct platstore_count *out);

#endif
