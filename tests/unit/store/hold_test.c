/* hold_test.c: open track slots held in memory and their journal (store/README.md §3b):
 * held points read back exactly; the sweep writes closed slots out and trims their
 * journal; a writer killed with slots held loses nothing (replayed at open); a process
 * without the holds (read-only open) reads them from the journal; the memory budget
 * forces every hold out; stop leaves no journal behind. */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "tests/unit/store/test_util.h"

static char dir[256];
static struct store_config cfg;
static _Atomic int64_t now_s;
static struct store_pos got[20000];

static int64_t clk(void *ctx)
{
    (void)ctx;
    return now_s;
}

static void setup(void)
{
    now_s = 1740800000 + 600; /* 2025-03-01 08:43 GMT+8: slot 26 */
    tu_mkdtemp(dir, "hold");
    tu_config(&cfg, dir);
    cfg.clock = clk;
}

static void teardown(void)
{
    tu_rmrf(dir);
}

TestSuite(hold, .init = setup, .fini = teardown);

/* Records in the journal of the day of <t>, through a read-only open of <d>. */
static long journal_records(const char *d, int64_t t)
{
    struct store *st;
    struct store_config c = cfg;
    c.dir = d;
    cr_assert_eq(store_create(&st), 0);
    cr_assert_eq(store_set_config(st, &c), 0);
    cr_assert_eq(store_open_rdonly(st), 0);
    long n = store_journal_records(st, store_day_of(t), -1);
    store_close(st);
    return n;
}

/* <nveh> vehicles, one point each every 30 s over [t0, t1), in time order, salted. */
static size_t fleet(struct store_pos *p, size_t cap, uint32_t nveh, int64_t t0, int64_t t1,
                    uint32_t salt)
{
    size_t n = 0;
    for (int64_t t = t0; t < t1; t += 30)
        for (uint32_t v = 1; v <= nveh && n < cap; v++)
            tu_pos(&p[n++], v, t, salt);
    return n;
}

static void expect_track(struct store *st, const struct store_pos *p, size_t n, uint32_t vid,
                         int64_t t0, int64_t t1)
{
    long k = store_track_read(st, vid, t0, t1, got, 20000);
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].vehicle_id == vid) {
            cr_assert_lt((long)want, k, "vehicle %u: point %zu missing", vid, want);
            cr_assert(tu_pos_eq(&p[i], &got[want]), "vehicle %u point %zu", vid, want);
            want++;
        }
    cr_assert_eq(k, (long)want, "vehicle %u: %ld points read, %zu written", vid, k, want);
}

Test(hold, held_points_read_back_then_written_out_by_the_sweep)
{
    static struct store_pos p[4000];
    struct store *st = tu_open(&cfg);
    int64_t t0 = now_s - 1200; /* the previous slot and this one: both held */
    size_t n = fleet(p, 4000, 20, t0, now_s + 60, 1);
    cr_assert_eq(tu_put_points(st, p, n), 0);
    for (uint32_t v = 1; v <= 20; v++)
        expect_track(st, p, n, v, t0, now_s + 3600);
    cr_expect_gt(store_journal_records(st, store_day_of(now_s), -1), 0, "the points are journaled");
    struct store_stats s0;
    store_stats_get(st, &s0);

    /* Two slots later the sweep writes both slots out and deletes their journal. */
    now_s += 2 * 1200 + 5;
    struct store_pos q;
    tu_pos(&q, 99, now_s, 1);
    cr_assert_eq(tu_put_points(st, &q, 1), 0);
    cr_expect_eq(store_journal_records(st, store_day_of(t0), store_slot_of(t0)), 0,
                 "journal of a closed slot trimmed");
    for (uint32_t v = 1; v <= 20; v++)
        expect_track(st, p, n, v, t0, now_s + 3600);
    cr_expect_eq(store_verify(st), 0);
    store_close(st);
    cr_expect_eq(journal_records(dir, now_s), 0, "stop writes every hold out");
    st = tu_open(&cfg);
    for (uint32_t v = 1; v <= 20; v++)
        expect_track(st, p, n, v, t0, now_s + 3600);
    store_close(st);
}

Test(hold, killed_writer_loses_nothing_and_readonly_reads_the_journal)
{
    static struct store_pos p[6000];
    int64_t t0 = now_s - 1200;
    size_t n = fleet(p, 6000, 40, t0, now_s + 30, 2);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct store *s = tu_open(&cfg);
        if (tu_put_points(s, p, n))
            _exit(1);
        _exit(0); /* killed: the holds are lost, the journal is on disk */
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* Another process without holds: the journal is read. */
    struct store *ro;
    cr_assert_eq(store_create(&ro), 0);
    cr_assert_eq(store_set_config(ro, &cfg), 0);
    cr_assert_eq(store_open_rdonly(ro), 0);
    cr_expect_gt(store_journal_records(ro, store_day_of(now_s), -1), 0);
    for (uint32_t v = 1; v <= 40; v += 3)
        expect_track(ro, p, n, v, t0, now_s + 3600);
    cr_expect_eq(store_verify(ro), 0);
    store_close(ro);

    /* The next writer holds them again; a resend of everything is stored once. */
    struct store *st = tu_open(&cfg);
    for (uint32_t v = 1; v <= 40; v++)
        expect_track(st, p, n, v, t0, now_s + 3600);
    cr_assert_eq(tu_put_points(st, p, n), 0);
    for (uint32_t v = 1; v <= 40; v++)
        expect_track(st, p, n, v, t0, now_s + 3600);
    store_close(st);
    st = tu_open(&cfg);
    for (uint32_t v = 1; v <= 40; v++)
        expect_track(st, p, n, v, t0, now_s + 3600);
    cr_expect_eq(store_verify(st), 0);
    store_close(st);
}

Test(hold, budget_writes_every_hold_out_and_late_points_bypass)
{
    static struct store_pos p[12000];
    cfg.hold_bytes = 64 * 1024; /* ~1,000 points */
    struct store *st = tu_open(&cfg);
    int64_t t0 = now_s - 1100;
    size_t n = fleet(p, 12000, 100, t0, now_s + 30, 3);
    cr_assert_eq(tu_put_points(st, p, n), 0);
    /* Late points: an hour ago (a slot no longer held), and the held slot's past. */
    static struct store_pos late[200];
    for (uint32_t v = 1; v <= 100; v++) {
        tu_pos(&late[2 * (v - 1)], v, now_s - 3600 - v, 4);
        tu_pos(&late[2 * (v - 1) + 1], v, t0 + 15, 4);
    }
    cr_assert_eq(tu_put_points(st, late, 200), 0);
    for (uint32_t v = 1; v <= 100; v += 7) {
        long k = store_track_read(st, v, now_s - 7200, now_s + 3600, got, 20000);
        size_t want = 2;
        for (size_t i = 0; i < n; i++)
            want += p[i].vehicle_id == v;
        cr_expect_eq(k, (long)want, "vehicle %u", v);
    }
    cr_expect_eq(store_verify(st), 0);
    store_close(st);
    cr_expect_eq(journal_records(dir, now_s), 0);
}

/* A model of what was written: for each vehicle, the set of point times (salt fixed, so a
 * time names one point). */
#define MV 24
#define MT 4096
static int64_t model[MV + 1][MT];
static size_t model_n[MV + 1];

static void model_add(uint32_t v, int64_t t)
{
    for (size_t i = 0; i < model_n[v]; i++)
        if (model[v][i] == t)
            return;
    cr_assert_lt(model_n[v], MT);
    model[v][model_n[v]++] = t;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void model_check(struct store *st, int round)
{
    for (uint32_t v = 1; v <= MV; v++) {
        qsort(model[v], model_n[v], sizeof model[v][0], cmp_i64);
        if (!model_n[v])
            continue;
        long k = store_track_read(st, v, model[v][0], model[v][model_n[v] - 1] + 1, got, 20000);
        cr_assert_eq(k, (long)model_n[v], "round %d vehicle %u: %ld points read, %zu written",
                     round, v, k, model_n[v]);
        for (long i = 0; i < k; i++) {
            struct store_pos want;
            tu_pos(&want, v, model[v][i], 9);
            cr_assert(tu_pos_eq(&want, &got[i]), "round %d vehicle %u point %ld", round, v, i);
        }
    }
}

/* Random rounds against the model: points now, a little ahead, in the held slot's past,
 * hours late, resent; the clock standing still or jumping over slots; clean reopens and
 * kills with slots held; now and then a tiny memory budget. Every round reads back every
 * vehicle; the integrity walk runs at the end. */
Test(hold, random_rounds_match_a_model, .timeout = 120)
{
    static struct store_pos p[600];
    uint64_t rs = 20261122;
    memset(model_n, 0, sizeof model_n);
    struct store *st = tu_open(&cfg);
    for (int round = 0; round < 40; round++) {
        uint64_t r = tu_rand(&rs);
        now_s += (int64_t)(r % 4 == 0 ? 0 : tu_rand(&rs) % 1500);
        size_t n = 0, want = 50 + tu_rand(&rs) % 500;
        while (n < want) {
            uint32_t v = 1 + (uint32_t)(tu_rand(&rs) % MV);
            uint64_t kind = tu_rand(&rs) % 10;
            int64_t t;
            if (kind < 6)
                t = now_s - (int64_t)(tu_rand(&rs) % 60);
            else if (kind < 7)
                t = now_s + (int64_t)(tu_rand(&rs) % 60);
            else if (kind < 9)
                t = now_s - (int64_t)(tu_rand(&rs) % 2400);
            else
                t = now_s - 3600 - (int64_t)(tu_rand(&rs) % 7200);
            if (model_n[v] && tu_rand(&rs) % 8 == 0) /* a resend */
                t = model[v][tu_rand(&rs) % model_n[v]];
            tu_pos(&p[n++], v, t, 9);
        }
        uint64_t what = tu_rand(&rs) % 12;
        if (what == 0) { /* a writer killed after its commits: holds lost, journal kept */
            store_close(st);
            pid_t pid = fork();
            cr_assert_geq(pid, 0);
            if (pid == 0) {
                struct store *s = tu_open(&cfg);
                _exit(tu_put_points(s, p, n) ? 1 : 0);
            }
            int status;
            cr_assert_eq(waitpid(pid, &status, 0), pid);
            cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d", round);
            st = tu_open(&cfg);
        } else {
            if (what == 1) { /* a clean reopen, with a budget of ~200 points now and then */
                store_close(st);
                cfg.hold_bytes = tu_rand(&rs) % 2 ? 200 * 64 : 512ull << 20;
                st = tu_open(&cfg);
            }
            cr_assert_eq(tu_put_points(st, p, n), 0, "round %d", round);
        }
        for (size_t i = 0; i < n; i++)
            model_add(p[i].vehicle_id, p[i].gnss_time);
        model_check(st, round);
    }
    cr_expect_eq(store_verify(st), 0);
    store_close(st);
    st = tu_open(&cfg);
    model_check(st, 99);
    store_close(st);
}
