/* store_test.c: the store through its public API — ingest contract, exact track round trip,
 * duplicates, out-of-order and late points, raw log by time/vehicle/connection, presence,
 * aggregates, backpressure, refused configurations, format version. */
#include <criterion/criterion.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "tests/unit/store/test_util.h"

static char dir[256];
static struct store *st;
static struct store_config cfg;
static int64_t now_s;
static struct store_pos got[20000];

static int64_t clk(void *ctx)
{
    (void)ctx;
    return now_s;
}

static void setup(void)
{
    now_s = 1740800000; /* 2025-03-01 */
    tu_mkdtemp(dir, "unit");
    tu_config(&cfg, dir);
    cfg.clock = clk;
    st = tu_open(&cfg);
}

static void teardown(void)
{
    store_close(st);
    tu_rmrf(dir);
}

static void put_points(const struct store_pos *p, size_t n)
{
    cr_assert_eq(tu_put_points(st, p, n), 0);
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, track_round_trip_exact_over_a_day)
{
    static struct store_pos p[2880];
    int64_t day0 = store_day_start(store_day_of(now_s));
    for (int i = 0; i < 2880; i++)
        tu_pos(&p[i], 7, day0 + i * 30, 3);
    put_points(p, 2880);
    long n = store_track_read(st, 7, day0, day0 + 86400, got, 20000);
    cr_assert_eq(n, 2880);
    for (int i = 0; i < 2880; i++)
        cr_assert(tu_pos_eq(&p[i], &got[i]), "point %d", i);
    cr_expect_eq(store_track_read(st, 8, day0, day0 + 86400, got, 20000), 0);
    cr_expect_eq(store_track_read(st, 7, day0 + 300, day0 + 600, got, 20000), 10);
    cr_expect_eq(got[0].gnss_time, day0 + 300);
    uint64_t seq = store_committed_seq(st, 0);
    cr_expect_geq(seq, 12);
}

Test(store, duplicates_once_out_of_order_and_late_in_place)
{
    static struct store_pos p[600];
    int64_t t0 = now_s - 7200;
    for (int i = 0; i < 600; i++)
        tu_pos(&p[i], 3, t0 + i * 10, 1);
    /* reverse order, in 3 passes, each point twice (live, then a blind-area re-upload) */
    static struct store_pos q[1200];
    for (int i = 0; i < 600; i++) {
        q[i] = p[599 - i];
        q[600 + i] = p[i];
        q[600 + i].src = STORE_SRC_808_BLIND;
        q[600 + i].recv_time_ms += 3600000;
        q[600 + i].flags |= STORE_POS_F_LATE;
    }
    put_points(q, 1200);
    /* one really different point at an existing time is kept */
    struct store_pos other = p[10];
    other.lat_e6 += 5;
    put_points(&other, 1);
    long n = store_track_read(st, 3, t0, t0 + 6000, got, 20000);
    cr_assert_eq(n, 601);
    for (long i = 1; i < n; i++)
        cr_assert_leq(got[i - 1].gnss_time, got[i].gnss_time);
    /* Copies that arrived in different commits sit in tail records until their slot is
     * merged (reads already drop them); the counter counts them at that merge. Moving the
     * vehicle on to a later slot closes its last slot, which the writer merges when idle. */
    struct store_pos on;
    tu_pos(&on, 3, t0 + 7000, 1);
    put_points(&on, 1);
    struct store_stats s;
    for (int i = 0; i < 300; i++) {
        store_stats_get(st, &s);
        if (s.points_dup >= 600)
            break;
        usleep(10000);
    }
    cr_expect_eq(s.points_dup, 600);
    /* a late point of yesterday lands in yesterday's partition */
    struct store_pos y;
    tu_pos(&y, 3, now_s - 86400 - 50, 9);
    put_points(&y, 1);
    cr_assert_eq(store_track_read(st, 3, now_s - 86400 - 60, now_s - 86400, got, 10), 1);
    cr_expect(tu_pos_eq(&y, &got[0]));
    int32_t days[8];
    cr_expect_eq(store_days(st, days, 8), 2);
}

Test(store, points_outside_window_are_counted_not_stored)
{
    struct store_pos p[3];
    tu_pos(&p[0], 4, now_s - 200 * 86400, 1);
    tu_pos(&p[1], 4, now_s + 5 * 86400, 1);
    tu_pos(&p[2], 0, now_s, 1);
    put_points(p, 3);
    struct store_stats s;
    store_stats_get(st, &s);
    cr_expect_eq(s.points_old, 1);
    cr_expect_eq(s.points_future, 2);
    int32_t days[8];
    cr_expect_eq(store_days(st, days, 8), 0);
}

struct rawcheck { int n; uint64_t conn_sum; uint32_t last_vid; char first[32]; };

static int raw_cb(const struct store_raw *r, void *ctx)
{
    struct rawcheck *c = ctx;
    if (c->n == 0)
        snprintf(c->first, sizeof c->first, "%.*s", (int)r->frame.len, r->frame.p);
    c->n++;
    c->conn_sum += r->conn_id;
    c->last_vid = r->vehicle_id;
    return 0;
}

static int raw_stop_cb(const struct store_raw *r, void *ctx)
{
    (void)r;
    return ++*(int *)ctx == 5 ? 42 : 0;
}

Test(store, raw_log_by_time_vehicle_connection)
{
    int64_t t0 = now_s * 1000 - 3600000;
    struct store_batch *b = NULL;
    for (int i = 0; i < 1000; i++) {
        char f[32];
        int len = snprintf(f, sizeof f, "frame-%04d", i);
        struct store_raw r = {t0 + i * 100, (uint64_t)(i % 4) + 1, (uint32_t)(i % 10) + 1,
                              (uint8_t)(i & 1), 0, 4, {127, 0, 0, 1}, 6808,
                              {(const uint8_t *)f, (uint32_t)len}};
        if (!b)
            cr_assert_eq(store_batch_get(st, 0, &b), 0);
        if (store_batch_add_raw(b, &r) == -ENOSPC) {
            cr_assert_eq(tu_submit_wait(st, 0, b), 0);
            cr_assert_eq(store_batch_get(st, 0, &b), 0);
            cr_assert_eq(store_batch_add_raw(b, &r), 0);
        }
    }
    cr_assert_eq(tu_submit_wait(st, 0, b), 0);
    struct rawcheck c = {0};
    cr_assert_eq(store_raw_read(st, t0, t0 + 100000, 0, 0, raw_cb, &c), 0);
    cr_expect_eq(c.n, 1000);
    cr_expect_str_eq(c.first, "frame-0000");
    memset(&c, 0, sizeof c);
    cr_assert_eq(store_raw_read(st, t0 + 1000, t0 + 2000, 0, 0, raw_cb, &c), 0);
    cr_expect_eq(c.n, 10);
    cr_expect_str_eq(c.first, "frame-0010");
    memset(&c, 0, sizeof c);
    cr_assert_eq(store_raw_read(st, t0, t0 + 100000, 3, 0, raw_cb, &c), 0);
    cr_expect_eq(c.n, 100);
    cr_expect_eq(c.last_vid, 3);
    memset(&c, 0, sizeof c);
    cr_assert_eq(store_raw_read(st, t0, t0 + 100000, 0, 2, raw_cb, &c), 0);
    cr_expect_eq(c.n, 250);
    cr_expect_eq(c.conn_sum, 500);
    int k = 0;
    cr_expect_eq(store_raw_read(st, t0, t0 + 100000, 0, 0, raw_stop_cb, &k), 42);
    cr_expect_eq(k, 5);
    cr_expect_eq(store_verify(st), 0);
}

/* Frames of 20 vehicles over 300 s of receive time (300 index buckets), one every 100 ms:
 * vehicle v = 1 + i % 20, so 150 frames each, in time order. */
static void raw_spread(struct store *s, int64_t t0)
{
    struct store_batch *b = NULL;
    for (int i = 0; i < 3000; i++) {
        char f[32];
        int len = snprintf(f, sizeof f, "spread-%04d", i);
        struct store_raw r = {t0 + i * 100, 1, (uint32_t)(i % 20) + 1, 0, 0, 4, {127, 0, 0, 1},
                              6808, {(const uint8_t *)f, (uint32_t)len}};
        if (!b)
            cr_assert_eq(store_batch_get(s, 0, &b), 0);
        if (store_batch_add_raw(b, &r) == -ENOSPC) {
            cr_assert_eq(tu_submit_wait(s, 0, b), 0);
            cr_assert_eq(store_batch_get(s, 0, &b), 0);
            cr_assert_eq(store_batch_add_raw(b, &r), 0);
        }
        if (i % 37 == 36) { /* many small batches, as workers submit them */
            cr_assert_eq(tu_submit_wait(s, 0, b), 0);
            b = NULL;
        }
    }
    if (b)
        cr_assert_eq(tu_submit_wait(s, 0, b), 0);
}

struct vidcheck { int n; int64_t last_ms; int ordered; uint32_t vid; int wrong; };

static int vid_cb(const struct store_raw *r, void *ctx)
{
    struct vidcheck *c = ctx;
    c->ordered &= r->recv_time_ms > c->last_ms;
    c->wrong += r->vehicle_id != c->vid;
    c->last_ms = r->recv_time_ms;
    c->n++;
    return 0;
}

static void expect_by_vehicle(struct store *s, int64_t t0)
{
    for (uint32_t v = 1; v <= 20; v++) {
        struct vidcheck c = {0, INT64_MIN, 1, v, 0};
        cr_assert_eq(store_raw_read(s, t0, t0 + 300000, v, 0, vid_cb, &c), 0);
        cr_expect_eq(c.n, 150, "vehicle %u: %d frames", v, c.n);
        cr_expect(c.ordered, "vehicle %u: frames in time order", v);
        cr_expect_eq(c.wrong, 0);
        c = (struct vidcheck){0, INT64_MIN, 1, v, 0}; /* a window inside the range */
        cr_assert_eq(store_raw_read(s, t0 + 100000, t0 + 200000, v, 0, vid_cb, &c), 0);
        cr_expect_eq(c.n, 50, "vehicle %u, middle 100 s: %d frames", v, c.n);
    }
}

/* The time-first raw index (store/README.md §4a): complete while entries are held in
 * memory, after a clean close, and after a crash (entries lost, rebuilt from the log). */
Test(store, raw_index_held_closed_and_crashed)
{
    int64_t t0 = now_s * 1000 - 7200000;
    raw_spread(st, t0);
    expect_by_vehicle(st, t0); /* part indexed, part held by the writer */
    cr_expect_eq(store_verify(st), 0);
    store_close(st);
    st = tu_open(&cfg);
    expect_by_vehicle(st, t0); /* all written at close */
    store_close(st);

    /* A writer killed with entries held: a child writes, the parent reopens. */
    char d2[256];
    tu_mkdtemp(d2, "rixcrash");
    struct store_config c2 = cfg;
    c2.dir = d2;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct store *s = tu_open(&c2);
        raw_spread(s, t0);
        _exit(0); /* no store_close: held index entries are lost */
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    st = tu_open(&c2);
    expect_by_vehicle(st, t0);
    cr_expect_eq(store_verify(st), 0);
    store_close(st);
    tu_rmrf(d2);
    st = tu_open(&cfg);
}

Test(store, presence_query_any_and_joint)
{
    static struct store_pos p[100];
    int64_t t0 = store_day_start(store_day_of(now_s)) + 3600;
    for (int v = 1; v <= 10; v++)
        for (int i = 0; i < 10; i++) {
            struct store_pos *x = &p[(v - 1) * 10 + i];
            tu_pos(x, (uint32_t)v, t0 + i * 60, 0);
            x->lat_e6 = 30000000 + v * 100000;  /* vehicle v sits in its own cell */
            x->lon_e6 = 114000000 + (i < 5 ? 0 : 200000);  /* moves east after 5 min */
        }
    put_points(p, 100);
    struct store_area a = {30250000, 30350000, 113990000, 114010000}; /* vehicles 3 */
    struct store_span s = {t0, t0 + 3600};
    uint32_t ids[16];
    cr_assert_eq(store_presence_query(st, &a, 1, &s, 1, 0, 0, ids, 16), 1);
    cr_expect_eq(ids[0], 3);
    cr_assert_eq(store_presence_query(st, &a, 1, &s, 1, 0, 1, ids, 16), 1);
    struct store_area big = {30000000, 31100000, 113900000, 114100000};
    cr_expect_eq(store_presence_query(st, &big, 1, &s, 1, 0, 1, ids, 16), 10);
    /* joint: in the west box during the first 5 min AND the east box later */
    struct store_area two[2] = {{30250000, 30350000, 113990000, 114010000},
                                {30250000, 30350000, 114190000, 114210000}};
    struct store_span sp[2] = {{t0, t0 + 240}, {t0 + 300, t0 + 600}};
    cr_assert_eq(store_presence_query(st, two, 2, sp, 2, 1, 1, ids, 16), 1);
    cr_expect_eq(ids[0], 3);
    struct store_span late[2] = {{t0 + 300, t0 + 600}, {t0 + 300, t0 + 600}};
    cr_expect_eq(store_presence_query(st, two, 2, late, 2, 1, 1, ids, 16), 0);
    struct store_span before = {t0 - 3000, t0 - 100};
    cr_expect_eq(store_presence_query(st, &big, 1, &before, 1, 0, 0, ids, 16), 0);
}

Test(store, daily_aggregate)
{
    static struct store_pos p[120];
    int64_t t0 = store_day_start(store_day_of(now_s)) + 7200;
    for (int i = 0; i < 120; i++) {
        tu_pos(&p[i], 11, t0 + i * 30, 0);
        p[i].lat_e6 = 30000000 + i * 100; /* ~11 m per leg */
        p[i].lon_e6 = 114000000;
        p[i].mileage_hm = 1000 + (uint32_t)i;
    }
    p[60].gnss_time = p[59].gnss_time + 15;
    p[60].flags = STORE_POS_F_DRIFT;
    p[60].lat_e6 = 35000000;
    for (int i = 100; i < 120; i++) {
        p[i].gnss_time += 3600; /* a one-hour gap */
        p[i].recv_time_ms += 3600000;
    }
    p[100].lat_e6 += 50000; /* a 5.5 km jump out and back: two incomplete legs */
    put_points(p, 120);
    struct store_alarm al = {0};
    al.vehicle_id = 11;
    al.type = 0x0001;
    al.start_time = t0 + 100;
    al.end_time = t0 + 200;
    cr_assert_eq(store_alarm_put(st, &al), 0);
    struct store_alarm fat = al;
    fat.type = 0x0002;
    fat.start_time = t0 + 300;
    fat.end_time = t0 + 900;
    cr_assert_eq(store_alarm_put(st, &fat), 0);
    struct store_agg g;
    cr_assert_eq(store_agg_get(st, 11, store_day_of(now_s), &g), 0);
    cr_expect_eq(g.points, 120);
    cr_expect_eq(g.drift, 1);
    cr_expect_eq(g.first_report, t0);
    cr_expect_eq(g.last_report, p[119].gnss_time);
    cr_expect_eq(g.qualified, 120);
    cr_expect_eq(g.gaps, 2);
    cr_expect_eq(g.overspeed_count, 1);
    cr_expect_eq(g.fatigue_s, 600);
    cr_expect_eq(g.odo_hm, 119);
    cr_expect_gt(g.gap_mileage_m, 5000);
    cr_expect_eq(store_agg_get(st, 12, store_day_of(now_s), &g), -ENOENT);
}

Test(store, backpressure_pool_runs_dry)
{
    struct store_batch *b[8], *x;
    for (int i = 0; i < 8; i++)
        cr_assert_eq(store_batch_get(st, 0, &b[i]), 0);
    cr_expect_eq(store_batch_get(st, 0, &x), -EAGAIN);
    for (int i = 0; i < 8; i++)
        store_batch_release(st, b[i]);
    cr_expect_eq(store_batch_get(st, 0, &x), 0);
    struct store_pos p;
    tu_pos(&p, 1, now_s, 0);
    unsigned n = 0;
    while (store_batch_add_pos(x, &p) == 0)
        n++;
    cr_expect_eq(n, 256);
    cr_expect_eq(store_batch_count(x), 256);
    cr_expect_eq(store_batch_add_pos(x, &p), -ENOSPC);
    cr_expect_lt(store_batch_slot(x), 8);
    store_batch_release(st, x);
    cr_expect_eq(store_health(st), 0);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* commit_interval_ms bounds how long a record waits from its arrival: a batch filled for
 * longer than the window (a worker keeps filling while the previous commit runs) is
 * committed at once, not after another window. */
Test(store, commit_window_counts_from_the_first_record, .timeout = 30)
{
    store_close(st);
    tu_rmrf(dir);
    tu_mkdtemp(dir, "unit");
    tu_config(&cfg, dir);
    cfg.clock = clk;
    cfg.commit_interval_ms = 1000;
    st = tu_open(&cfg);
    struct store_pos p;
    struct store_batch *b, *d;
    /* young batch: waits for the window */
    cr_assert_eq(store_batch_get(st, 0, &b), 0);
    tu_pos(&p, 1, now_s, 0);
    cr_assert_eq(store_batch_add_pos(b, &p), 0);
    double t0 = mono_s();
    cr_assert_eq(store_batch_submit(st, b), 0);
    while (store_batch_reap(st, 0, &d, 1) == 0)
        usleep(1000);
    cr_expect_geq(mono_s() - t0, 0.9, "a batch of fresh records waits for the group window");
    store_batch_release(st, d);
    /* old batch: its first record arrived a window ago */
    cr_assert_eq(store_batch_get(st, 0, &b), 0);
    tu_pos(&p, 1, now_s + 30, 0);
    cr_assert_eq(store_batch_add_pos(b, &p), 0);
    usleep(1100000);
    t0 = mono_s();
    cr_assert_eq(store_batch_submit(st, b), 0);
    while (store_batch_reap(st, 0, &d, 1) == 0)
        usleep(1000);
    cr_expect_lt(mono_s() - t0, 0.9, "records older than the window are not held again");
    cr_expect_eq(store_batch_status(d), 0);
    store_batch_release(st, d);
    cr_expect_eq(store_track_read(st, 1, now_s - 60, now_s + 60, got, 10), 2);
}

Test(store_cfg, refuses_short_retention_and_unsafe_flags)
{
    char d[256];
    tu_mkdtemp(d, "cfg");
    struct store_config c;
    struct store *s;
    tu_config(&c, d);
    c.retention_days = 30;
    cr_assert_eq(store_create(&s), 0);
    cr_assert_eq(store_set_config(s, &c), 0);
    cr_expect_eq(store_open(s), RW_E_FIELD);
    store_close(s);
    c.force = 1;
    s = tu_open(&c);
    store_close(s);
    c.extra_mdb_flags = MDB_NOSYNC;
    cr_assert_eq(store_create(&s), 0);
    cr_assert_eq(store_set_config(s, &c), 0);
    cr_expect_eq(store_open(s), RW_E_FIELD);
    store_close(s);
    c.extra_mdb_flags = MDB_WRITEMAP;
    cr_assert_eq(store_create(&s), 0);
    cr_assert_eq(store_set_config(s, &c), 0);
    cr_expect_eq(store_open(s), RW_E_FIELD);
    store_close(s);
    tu_rmrf(d);
}

Test(store_cfg, newer_format_refused)
{
    char d[256];
    tu_mkdtemp(d, "fmt");
    struct store_config c;
    tu_config(&c, d);
    store_close(tu_open(&c));
    cr_assert_eq(tu_meta_format_set(d, STORE_FORMAT_VERSION + 1), 0);
    cr_expect_eq(tu_open_rc(&c), RW_E_UNSUPPORTED);
    tu_rmrf(d);
}

Test(store_cfg, map_grows_under_load)
{
    char d[256];
    tu_mkdtemp(d, "grow");
    struct store_config c;
    tu_config(&c, d);
    c.day_map_initial = 1u << 20;
    struct store *s = tu_open(&c);
    static struct store_pos p[256];
    int64_t t0 = time(NULL) - 3600;
    uint64_t rs = 1;
    for (int round = 0; round < 100; round++) { /* ~2.5 MB: the 1 MB map must grow */
        struct store_batch *b;
        cr_assert_eq(store_batch_get(s, 0, &b), 0);
        for (int i = 0; i < 256; i++) {
            tu_pos(&p[i], (uint32_t)(round * 256 + i + 1), t0 + (int64_t)(tu_rand(&rs) % 3000), 0);
            store_batch_add_pos(b, &p[i]);
        }
        cr_assert_eq(tu_submit_wait(s, 0, b), 0);
    }
    struct store_stats stt;
    store_stats_get(s, &stt);
    cr_expect_gt(stt.map_grows, 0);
    cr_expect_eq(store_verify(s), 0);
    store_close(s);
    tu_rmrf(d);
}
