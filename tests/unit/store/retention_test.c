/* retention_test.c: 200 simulated days with an injected clock — partitions older than
 * retention_days are dropped, the size plateaus, nothing older than the window is
 * readable and nothing younger is missing; points older than the window are refused. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/stat.h>

#include "tests/unit/store/test_util.h"

static int64_t now_s;

static int64_t clk(void *ctx)
{
    (void)ctx;
    return now_s;
}

static uint64_t dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t sum = 0;
    char p[600];
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            sum += (uint64_t)sb.st_blocks * 512;
    }
    closedir(d);
    return sum;
}

Test(store_retention, two_hundred_days)
{
    char dir[256];
    tu_mkdtemp(dir, "ret");
    struct store_config c;
    tu_config(&c, dir);
    c.clock = clk;
    c.day_map_initial = 1u << 20;
    now_s = 1700000000;
    struct store *st = tu_open(&c);
    int32_t first = store_day_of(now_s);
    uint64_t size_190 = 0;
    for (int d = 0; d < 200; d++) {
        struct store_batch *b;
        cr_assert_eq(store_batch_get(st, 0, &b), 0);
        for (int i = 0; i < 20; i++) {
            struct store_pos p;
            tu_pos(&p, 1, now_s - 1000 + i * 30, 0);
            store_batch_add_pos(b, &p);
        }
        cr_assert_eq(tu_submit_wait(st, 0, b), 0);
        cr_assert_geq(store_retention_run(st), 0);
        int32_t days[400];
        long n = store_days(st, days, 400);
        cr_assert_leq(n, 183, "day %d: %ld partitions", d, n);
        if (d == 190)
            size_190 = dir_bytes(dir);
        if (d < 199)
            now_s += 86400;
    }
    uint64_t size_200 = dir_bytes(dir);
    cr_expect_leq(size_200, size_190 + size_190 / 10, "plateau: %lu vs %lu",
                  (unsigned long)size_200, (unsigned long)size_190);
    static struct store_pos out[64];
    int32_t today = store_day_of(now_s), oldest = today - 182;
    for (int32_t day = first; day <= today; day++) {
        long n = store_track_read(st, 1, store_day_start(day), store_day_start(day + 1), out, 64);
        /* each simulated day's 20 points straddle midnight at most once */
        if (day < oldest)
            cr_assert_eq(n, 0, "day %d is older than the window but readable", day);
        else if (day > oldest)
            cr_assert_gt(n, 0, "day %d inside the window is missing", day);
    }
    struct store_stats s;
    store_stats_get(st, &s);
    cr_expect_eq(s.parts_dropped, 200 - 183);
    /* a point older than the window is refused, not re-creating a dropped day */
    struct store_batch *b;
    struct store_pos p;
    tu_pos(&p, 1, store_day_start(oldest - 1) + 100, 0);
    cr_assert_eq(store_batch_get(st, 0, &b), 0);
    store_batch_add_pos(b, &p);
    cr_assert_eq(tu_submit_wait(st, 0, b), 0);
    int32_t days[400];
    cr_expect_eq(store_days(st, days, 400), 183);
    store_close(st);
    tu_rmrf(dir);
}
