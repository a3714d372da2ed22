/* compact_test.c: compaction of a closed day (store/README.md §9a) — everything reads the
 * same afterwards, the file is smaller and passes the integrity walk, late writes during
 * the copy are not lost, the maintenance thread compacts due days once, leftovers of a
 * cut-short compaction are tidied at open, and format 2 stores are read and marked 3. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"
#include "tests/unit/store/test_util.h"

#define VEH 60
#define PTS 720                   /* a point every 2 minutes over the day */

static char dir[256];
static struct store *st;
static struct store_config cfg;
static int64_t now_s;
static int64_t day0;
static struct store_pos got[4096], want[4096];

static int64_t clk(void *ctx)
{
    (void)ctx;
    return now_s;
}

static void setup(void)
{
    now_s = 1740800000;                                  /* 2025-03-01 */
    day0 = store_day_start(store_day_of(now_s) - 3);     /* a closed day */
    tu_mkdtemp(dir, "cpt");
    tu_config(&cfg, dir);
    cfg.clock = clk;
    st = tu_open(&cfg);
}

static void teardown(void)
{
    store_close(st);
    tu_rmrf(dir);
}

TestSuite(compact, .init = setup, .fini = teardown);

static void gen(struct store_pos *p, uint32_t v, int i)
{
    tu_pos(p, v, day0 + i * 120 + (int64_t)(v % 7), 1);
}

/* Writes the day interleaved (vehicle-major trees get half-full pages), with raw frames;
 * every third commit also re-sends points already stored (duplicates). */
static void write_day(void)
{
    struct store_batch *b = NULL;
    uint8_t frame[40];
    memset(frame, 0x5a, sizeof frame);
    for (int i = 0; i < PTS; i++)
        for (uint32_t v = 1; v <= VEH; v++) {
            struct store_pos p;
            gen(&p, v, i);
            struct store_raw r = {p.recv_time_ms, v, v, 0, 0, 4, {10, 0, 0, 2}, 7000,
                                  {frame, sizeof frame}};
            if (!b)
                cr_assert_eq(store_batch_get(st, 0, &b), 0);
            if (store_batch_add_pos(b, &p) || store_batch_add_raw(b, &r)) {
                cr_assert_eq(tu_submit_wait(st, 0, b), 0);
                cr_assert_eq(store_batch_get(st, 0, &b), 0);
                cr_assert_eq(store_batch_add_pos(b, &p), 0);
                cr_assert_eq(store_batch_add_raw(b, &r), 0);
            }
        }
    cr_assert_eq(tu_submit_wait(st, 0, b), 0);
}

static void expect_day(uint32_t extra_vid, int extra_n)
{
    for (uint32_t v = 1; v <= VEH; v++) {
        long n = store_track_read(st, v, day0, day0 + 86400, got, 4096);
        cr_assert_eq(n, PTS, "vehicle %u: %ld points", v, n);
        for (int i = 0; i < PTS; i++) {
            gen(&want[i], v, i);
            cr_assert(tu_pos_eq(&want[i], &got[i]), "vehicle %u point %d", v, i);
        }
    }
    if (extra_vid)
        cr_expect_eq(store_track_read(st, extra_vid, day0, day0 + 86400, got, 4096), extra_n);
}

static int raw_count(const struct store_raw *r, void *ctx)
{
    (void)r;
    (*(long *)ctx)++;
    return 0;
}

static long day_files(const char *name_part, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long n = 0;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "day-", 4) == 0 && strstr(e->d_name, name_part) &&
            !strstr(e->d_name, "-lock")) {
            if (!n && first)
                snprintf(first, cap, "%s", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static struct store_compact_info last_info;

/* The writer may still be merging the day's closed slots: -EAGAIN means "try again". */
static int compact_now(int32_t day, int force)
{
    int rc;
    for (int tries = 0; (rc = store_compact_day(st, day, force, &last_info)) == -EAGAIN &&
                        tries < 50; tries++)
        usleep(100000);
    return rc;
}

Test(compact, day_reads_the_same_and_shrinks)
{
    write_day();
    struct store_area a = {29000000, 32000000, 113000000, 116000000};
    struct store_span sp = {day0, day0 + 86400};
    static uint32_t ids[256];
    long pres_before = store_presence_query(st, &a, 1, &sp, 1, 0, 1, ids, 256);
    cr_assert_eq(pres_before, VEH);
    long raw_before = 0;
    cr_assert_eq(store_raw_read(st, day0 * 1000, (day0 + 86400) * 1000 + 5000, 0, 0, raw_count,
                                &raw_before), 0);
    cr_assert_eq(raw_before, VEH * PTS);

    struct store_compact_info ci;
    int rc = compact_now(store_day_of(day0), 0);
    cr_assert_eq(rc, 0, "compact: %d", rc);
    ci = last_info;
    cr_expect_lt(ci.bytes_after, ci.bytes_before, "%llu -> %llu",
                 (unsigned long long)ci.bytes_before, (unsigned long long)ci.bytes_after);
    cr_expect_lt(ci.records_after, ci.records_before, "tails merged into their bases: %llu -> %llu",
                 (unsigned long long)ci.records_before, (unsigned long long)ci.records_after);
    char name[256];
    cr_expect_eq(day_files(".g1.mdb", name, sizeof name), 1, "generation 1");
    cr_expect_eq(day_files(".mdb", NULL, 0), 1, "generation 0 is gone");

    expect_day(0, 0);
    cr_expect_eq(store_presence_query(st, &a, 1, &sp, 1, 0, 1, ids, 256), pres_before);
    long raw_after = 0;
    cr_assert_eq(store_raw_read(st, day0 * 1000, (day0 + 86400) * 1000 + 5000, 0, 0, raw_count,
                                &raw_after), 0);
    cr_expect_eq(raw_after, raw_before);
    long raw_v = 0;
    cr_assert_eq(store_raw_read(st, day0 * 1000, (day0 + 86400) * 1000 + 5000, 5, 0, raw_count,
                                &raw_v), 0);
    cr_expect_eq(raw_v, PTS, "the by-vehicle index survives");
    cr_expect_eq(store_verify(st), 0);

    /* Once only, unless forced; a forced run makes generation 2. */
    cr_expect_eq(store_compact_day(st, store_day_of(day0), 0, NULL), 1);
    cr_expect_eq(compact_now(store_day_of(day0), 1), 0);
    cr_expect_eq(day_files(".g2.mdb", NULL, 0), 1);
    cr_expect_eq(store_compact_day(st, store_day_of(day0) - 1, 0, NULL), -ENOENT);

    /* Late points after the compaction land in the compacted file like anywhere else. */
    struct store_pos late;
    tu_pos(&late, VEH + 1, day0 + 4000, 0);
    struct store_batch *b;
    cr_assert_eq(store_batch_get(st, 0, &b), 0);
    cr_assert_eq(store_batch_add_pos(b, &late), 0);
    cr_assert_eq(tu_submit_wait(st, 0, b), 0);
    expect_day(VEH + 1, 1);

    /* Reopen: the newest generation is the day. */
    store_close(st);
    st = tu_open(&cfg);
    expect_day(VEH + 1, 1);
    cr_expect_eq(store_verify(st), 0);
}

struct comp_arg {
    struct store *st;
    int32_t day;
    int rc;
    _Atomic int done;
};

static void *comp_thread(void *arg)
{
    struct comp_arg *c = arg;
    c->rc = store_compact_day(c->st, c->day, 1, NULL);
    atomic_store(&c->done, 1);
    return NULL;
}

Test(compact, late_writes_during_the_copy_are_kept)
{
    write_day();
    /* Late points for the day arrive while it is copied: each acknowledged point must be
     * in the day afterwards, whether the copy replayed them or gave up (-EAGAIN). */
    uint32_t vid = VEH + 10;
    int sent = 0, ok = 0;
    for (int round = 0; round < 5 && !ok; round++) {
        struct comp_arg c = {st, store_day_of(day0), 0, 0};
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, comp_thread, &c), 0);
        while (!atomic_load(&c.done) && sent < 2000) {
            struct store_pos p;
            tu_pos(&p, vid, day0 + 10 + sent * 40, 2);
            struct store_batch *b;
            cr_assert_eq(store_batch_get(st, 0, &b), 0);
            cr_assert_eq(store_batch_add_pos(b, &p), 0);
            cr_assert_eq(tu_submit_wait(st, 0, b), 0);
            sent++;
        }
        pthread_join(th, NULL);
        cr_assert(c.rc == 0 || c.rc == -EAGAIN, "compact: %d", c.rc);
        ok = c.rc == 0;
    }
    cr_expect(ok, "a compaction finished in 5 rounds");
    cr_expect_eq(store_track_read(st, vid, day0, day0 + 86400, got, 4096), sent);
    for (int i = 0; i < sent; i++) {
        tu_pos(&want[0], vid, day0 + 10 + i * 40, 2);
        cr_assert(tu_pos_eq(&want[0], &got[i]), "late point %d", i);
    }
    expect_day(0, 0);
    cr_expect_eq(store_verify(st), 0);
}

Test(compact, maintenance_compacts_due_days_once)
{
    write_day();
    /* A day of today: not due. */
    struct store_pos p;
    tu_pos(&p, 1, now_s - 60, 0);
    struct store_batch *b;
    cr_assert_eq(store_batch_get(st, 0, &b), 0);
    cr_assert_eq(store_batch_add_pos(b, &p), 0);
    cr_assert_eq(tu_submit_wait(st, 0, b), 0);
    long r;
    for (int tries = 0; (r = store_compact_next(st)) < 0 && tries < 20; tries++)
        usleep(100000);
    cr_expect_eq(r, 1, "the closed day is due");
    cr_expect_eq(store_compact_next(st), 0, "nothing else is due");
    struct store_stats s;
    store_stats_get(st, &s);
    cr_expect_eq(s.days_compacted, 1);
    cr_expect_eq(day_files(".g1.mdb", NULL, 0), 1);
    expect_day(0, 0);
}

Test(compact, leftovers_of_a_cut_short_compaction_are_tidied)
{
    write_day();
    cr_assert_eq(compact_now(store_day_of(day0), 0), 0);
    store_close(st);
    /* As if a compaction to generation 2 died before its rename (tmp files), and one that
     * renamed but died before removing generation 1 (a copy of gen 1 as "gen 0"). */
    char b2[400], cmd[2400];
    DIR *d = opendir(dir);
    struct dirent *e;
    char g1[256] = "";
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".g1.mdb") && !strstr(e->d_name, "-lock"))
            snprintf(g1, sizeof g1, "%s", e->d_name);
    closedir(d);
    cr_assert_neq(g1[0], 0);
    char base[32];
    snprintf(base, sizeof base, "%.12s", g1); /* day-YYYYMMDD */
    snprintf(cmd, sizeof cmd, "cp %s/%s %s/%s.mdb && cp %s/%s %s/%s.g2.mdb.tmp", dir, g1, dir,
             base, dir, g1, dir, base);
    cr_assert_eq(system(cmd), 0);
    snprintf(b2, sizeof b2, "%s/%s.g2.mdb.tmp-lock", dir, base);
    FILE *f = fopen(b2, "w");
    cr_assert(f);
    fclose(f);
    st = tu_open(&cfg);
    cr_expect_eq(day_files(".tmp", NULL, 0), 0, "tmp files removed");
    cr_expect_eq(day_files(".mdb", NULL, 0), 1, "only generation 1 remains");
    cr_expect_eq(day_files(".g1.mdb", NULL, 0), 1);
    expect_day(0, 0);
    int32_t days[8];
    cr_expect_eq(store_days(st, days, 8), 1);
}

Test(compact_fmt, format_2_store_is_read_and_marked_3)
{
    char d[256];
    tu_mkdtemp(d, "fmt2");
    struct store_config c;
    tu_config(&c, d);
    store_close(tu_open(&c));
    cr_assert_eq(tu_meta_format_set(d, 1), 0);
    cr_expect_eq(tu_open_rc(&c), RW_E_UNSUPPORTED, "format 1 has no upgrade path");
    cr_assert_eq(tu_meta_format_set(d, 2), 0);
    cr_expect_eq(tu_open_rc(&c), 0, "format 2 opens");
    cr_expect_eq(tu_meta_format_get(d), STORE_FORMAT_VERSION, "and is marked as this build's format");
    tu_rmrf(d);
}

static int count_cb(const struct store_raw *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* A day file as format 2 wrote it (row-coded track segment, rawv index, presence keys
 * bucket · cell · vid, format 2 mark), made by hand: read, written to, verified and
 * compacted by this build. */
Test(compact, format_2_day_is_read_written_and_compacted)
{
    int32_t day = store_day_of(day0);
    store_close(st);
    char path[400];
    int y;
    unsigned mo, dd;
    rw_civil_from_days(day, &y, &mo, &dd);
    snprintf(path, sizeof path, "%s/day-%04d%02u%02u.mdb", dir, y, mo, dd);
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi trk, raw, rawv, pres, info;
    cr_assert_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    mdb_env_set_mapsize(env, 16u << 20);
    cr_assert_eq(mdb_env_open(env, path, MDB_NOSUBDIR, 0640), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &t), 0);
    cr_assert_eq(mdb_dbi_open(t, "trk", MDB_CREATE, &trk), 0);
    cr_assert_eq(mdb_dbi_open(t, "raw", MDB_CREATE, &raw), 0);
    cr_assert_eq(mdb_dbi_open(t, "rawv", MDB_CREATE, &rawv), 0);
    cr_assert_eq(mdb_dbi_open(t, "pres", MDB_CREATE, &pres), 0);
    cr_assert_eq(mdb_dbi_open(t, "info", MDB_CREATE, &info), 0);
    uint8_t fv[4] = {0, 0, 0, 2};
    MDB_val k = {6, "format"}, v = {4, fv};
    cr_assert_eq(mdb_put(t, info, &k, &v, 0), 0);
    /* vehicle 9: 30 points in slot 3 (row codec), their presence entries, 30 frames */
    static struct store_pos pts[30];
    static uint8_t enc[65536];
    int64_t ts = day0 + 3 * 1200;
    for (int i = 0; i < 30; i++)
        tu_pos(&pts[i], 9, ts + i * 30, 5);
    long n = seg_encode_plain(pts, 30, enc, sizeof enc);
    cr_assert_gt(n, 0);
    uint8_t tk[TRK_KEY_LEN];
    trk_key(tk, 9, 3);
    k = (MDB_val){TRK_KEY_LEN, tk};
    v = (MDB_val){(size_t)n, enc};
    cr_assert_eq(mdb_put(t, trk, &k, &v, 0), 0);
    for (int i = 0; i < 30; i++) {
        uint32_t cell;
        cr_assert_eq(pres_cell(pts[i].lat_e6, pts[i].lon_e6, &cell), 0);
        uint8_t pk[PRES_KEY_LEN];
        int64_t sod = (pts[i].gnss_time + 8 * 3600) % 86400;
        pres_key(pk, (uint8_t)(sod / STORE_PRES_BUCKET_S), cell, 9);
        k = (MDB_val){PRES_KEY_LEN, pk};
        v = (MDB_val){0, NULL};
        cr_assert_eq(mdb_put(t, pres, &k, &v, 0), 0);
    }
    uint8_t frame[20];
    memset(frame, 7, sizeof frame);
    static struct store_raw fr[30];
    const struct store_raw *fp[30];
    for (int i = 0; i < 30; i++) {
        fr[i] = (struct store_raw){pts[i].recv_time_ms, 1, 9, 0, 0, 4, {10, 0, 0, 3}, 7000,
                                   {frame, sizeof frame}};
        fp[i] = &fr[i];
    }
    static uint8_t tmp[65536];
    n = rawblk_encode(fp, 30, fr[0].recv_time_ms, enc, sizeof enc, NULL, tmp, sizeof tmp);
    cr_assert_gt(n, 0);
    struct raw_key rk = {fr[0].recv_time_ms, 1, 0, 1, 0};
    uint8_t rkb[RAWV_KEY_LEN] = {0, 0, 0, 9};
    raw_key_enc(rkb + 4, &rk);
    k = (MDB_val){RAW_KEY_LEN, rkb + 4};
    v = (MDB_val){(size_t)n, enc};
    cr_assert_eq(mdb_put(t, raw, &k, &v, 0), 0);
    k = (MDB_val){RAWV_KEY_LEN, rkb};
    v = (MDB_val){0, NULL};
    cr_assert_eq(mdb_put(t, rawv, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(t), 0);
    mdb_env_close(env);

    st = tu_open(&cfg);
    cr_assert_eq(store_track_read(st, 9, day0, day0 + 86400, got, 4096), 30);
    for (int i = 0; i < 30; i++)
        cr_expect(tu_pos_eq(&pts[i], &got[i]), "format 2 point %d", i);
    int nf = 0;
    cr_assert_eq(store_raw_read(st, day0 * 1000, (day0 + 86400) * 1000, 9, 0, count_cb, &nf), 0);
    cr_expect_eq(nf, 30, "frames through rawv");
    struct store_area a = {pts[0].lat_e6 - 100, pts[0].lat_e6 + 100, pts[0].lon_e6 - 100,
                           pts[0].lon_e6 + 100};
    struct store_span sp = {ts, ts + 600};
    uint32_t ids[4];
    cr_expect_eq(store_presence_query(st, &a, 1, &sp, 1, 0, 0, ids, 4), 1, "format 2 presence");
    /* written to by this build: more points and frames for vehicle 9 in the same day */
    struct store_batch *b;
    cr_assert_eq(store_batch_get(st, 0, &b), 0);
    struct store_pos q;
    tu_pos(&q, 9, ts + 2000, 6);
    cr_assert_eq(store_batch_add_pos(b, &q), 0);
    struct store_raw r = {q.recv_time_ms, 2, 9, 0, 0, 4, {10, 0, 0, 3}, 7000, {frame, 20}};
    cr_assert_eq(store_batch_add_raw(b, &r), 0);
    cr_assert_eq(tu_submit_wait(st, 0, b), 0);
    cr_expect_eq(store_track_read(st, 9, day0, day0 + 86400, got, 4096), 31);
    nf = 0;
    cr_assert_eq(store_raw_read(st, day0 * 1000, (day0 + 86400) * 1000, 9, 0, count_cb, &nf), 0);
    cr_expect_eq(nf, 31, "frames through rawv and rawt");
    cr_expect_eq(store_verify(st), 0);
    /* compacted: every form converted, all the same */
    cr_assert_eq(compact_now(day, 0), 0);
    cr_expect_eq(store_track_read(st, 9, day0, day0 + 86400, got, 4096), 31);
    for (int i = 0; i < 30; i++)
        cr_expect(tu_pos_eq(&pts[i], &got[i]), "compacted point %d", i);
    nf = 0;
    cr_assert_eq(store_raw_read(st, day0 * 1000, (day0 + 86400) * 1000, 9, 0, count_cb, &nf), 0);
    cr_expect_eq(nf, 31);
    cr_expect_eq(store_presence_query(st, &a, 1, &sp, 1, 0, 0, ids, 4), 1);
    cr_expect_eq(store_verify(st), 0);
}
