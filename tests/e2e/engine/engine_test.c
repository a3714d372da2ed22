/* engine_test.c: `roadwatch serve` end to end — real processes, real sockets on loopback,
 * real LMDB files. Each test starts its own engine (engine_harness.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/live/live.h"
#include "store/store.h"
#include "tests/e2e/engine/engine_harness.h"

static struct eng eng;
static uint8_t acked[65536];

static void fini(void)
{
    eng_cleanup(&eng);
}

/* Opens the stopped engine's store read-only and returns vehicle <vid>'s point count in
 * [from, to). */
static long stored_points(uint32_t vid, int64_t from, int64_t to, struct store_pos *out,
                          size_t max)
{
    struct store *st;
    cr_assert_eq(store_create(&st), 0);
    cr_assert_eq(store_set_dir(st, eng.data), 0);
    int rc = store_open_rdonly(st);
    cr_assert_eq(rc, 0, "store: %s", err_str(rc));
    long n = store_track_read(st, vid, from, to, out, max);
    store_close(st);
    cr_assert_geq(n, 0);
    return n;
}

static uint32_t vehicle_of(const char *phone)
{
    struct store *st;
    cr_assert_eq(store_create(&st), 0);
    cr_assert_eq(store_set_dir(st, eng.data), 0);
    cr_assert_eq(store_open_rdonly(st), 0);
    struct store_vehicle v;
    int rc = store_vehicle_by_phone(st, phone, &v);
    store_close(st);
    cr_assert_eq(rc, 0, "vehicle %s not registered", phone);
    return v.id;
}

static void run_edition(uint16_t edition, const char *phone, int udp)
{
    struct term t;
    term_open(&t, eng.port, udp, edition, phone);
    term_login(&t, "\xd4\xc1" "B12345", 2);
    int64_t t0 = time(NULL) - 3600;
    memset(acked, 0, sizeof acked);
    uint16_t first = 0;
    for (int i = 0; i < 20; i++) {
        uint16_t s = term_report(&t, t0 + i * 30, (uint32_t)i);
        first = i == 0 ? s : first;
    }
    /* a 0x0704 blind-area batch of three more points */
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0704_BATCH;
    static uint8_t items[512];
    size_t used = 0;
    for (int i = 0; i < 3; i++) {
        struct jt808_loc l;
        term_loc(&l, t0 - 600 + i * 30, 100 + (uint32_t)i);
        cr_assert_eq(jt808_batch_add(items, sizeof items, &used, &l), 0);
    }
    m.u.batch.count = 3;
    m.u.batch.type = 1;
    m.u.batch.items = rw_bytes_of(items, used);
    uint16_t bs = term_send(&t, &m);
    int got = term_collect_acks(&t, acked, 21, harness_timeout_s() * 1000);
    cr_assert_eq(got, 21, "%d of 21 reports acknowledged", got);
    for (int i = 0; i < 20; i++)
        cr_assert(acked[(uint16_t)(first + i)]);
    cr_assert(acked[bs]);
    /* the live table shows the terminal's newest position */
    struct live *lv;
    cr_assert_eq(live_open_ro(eng.live, &lv), 0);
    uint32_t vid = 0;
    for (uint32_t id = 1; id < 1000 && !vid; id++) {
        struct live_slot s;
        if (live_slot_read(lv, id, &s) == 0 && s.connected && s.gnss_time == t0 + 19 * 30)
            vid = id;
    }
    /* latency histograms: receive -> commit and commit -> ack, one sample per batch */
    uint64_t n_commit = 0, n_ack = 0;
    const struct live_hdr *h = live_header(lv);
    for (uint32_t w = 0; w < h->workers && w < LIVE_MAX_WORKERS; w++)
        for (int b = 0; b < 20; b++) {
            n_commit += h->metrics[w].lat_commit_hist[b];
            n_ack += h->metrics[w].lat_ack_hist[b];
        }
    live_close(lv);
    cr_assert_neq(vid, 0, "live table has the terminal's last position");
    cr_expect_gt(n_commit, 0);
    cr_expect_gt(n_ack, 0, "commit -> ack latency recorded");
    cr_expect_leq(n_ack, n_commit, "an ack sample per committed batch with acks");
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "%s stats --path %s", getenv("RW_BIN"), eng.live);
    /* The store's block is copied once a second: its commits show within a few. */
    int seen = 0, overflow_le = 0;
    unsigned long long commits = 0, commit_count = 0;
    double commit_s = 0, idle_s = -1, store_sum = 0, batch_sum = 0;
    for (int tries = 0; tries < 40 && (!seen || !commits || !commit_count || commit_s <= 0);
         tries++) {
        if (tries)
            usleep(100000);
        store_sum = batch_sum = 0;
        FILE *sp = popen(cmd, "r");
        cr_assert_not_null(sp);
        while (fgets(line, sizeof line, sp)) {
            seen |= strncmp(line, "roadwatch_ack_latency_seconds_count{worker=", 43) == 0;
            /* the overflow bucket (64 us << 19, 4 us << 19) is only in +Inf */
            overflow_le |= (strncmp(line, "roadwatch_commit_latency_seconds_bucket", 39) == 0 &&
                            strstr(line, "le=\"33.5544\"")) ||
                           (strncmp(line, "roadwatch_ack_latency_seconds_bucket", 36) == 0 &&
                            strstr(line, "le=\"2.09715\""));
            sscanf(line, "roadwatch_store_commits %llu", &commits);
            sscanf(line, "roadwatch_store_commit_seconds_count %llu", &commit_count);
            sscanf(line, "roadwatch_store_writer_seconds_total{activity=\"commit\"} %lf",
                   &commit_s);
            sscanf(line, "roadwatch_store_writer_seconds_total{activity=\"idle\"} %lf", &idle_s);
            sscanf(line, "roadwatch_store_commit_seconds_sum %lf", &store_sum);
            double v = 0;
            if (sscanf(line, "roadwatch_commit_latency_seconds_sum{worker=\"%*u\"} %lf",
                       &v) == 1)
                batch_sum += v;
        }
        cr_expect_eq(pclose(sp), 0);
    }
    cr_expect(seen, "roadwatch stats prints the commit -> ack histogram");
    cr_expect(!overflow_le, "a histogram's last (overflow) bucket has no finite le");
    cr_expect_gt(store_sum, 0, "the commit-duration histogram has its _sum");
    cr_expect_gt(batch_sum, 0, "the receive -> commit histogram has its _sum");
    cr_expect_gt(commits, 0, "roadwatch stats prints the store's commits");
    cr_expect_eq(commit_count, commits, "one commit-duration sample per commit");
    cr_expect_gt(commit_s, 0, "the writer's time committing is accounted");
    cr_expect_gt(idle_s, 0, "a lightly loaded writer is mostly idle");
    term_close(&t);
    cr_assert_eq(eng_stop(&eng, SIGTERM), 0, "clean stop");
    static struct store_pos pts[64];
    long n = stored_points(vehicle_of(phone), t0 - 3600, t0 + 3600, pts, 64);
    cr_assert_eq(n, 23, "stored %ld of 23 points", n);
    cr_assert_eq(pts[0].src, STORE_SRC_808_BLIND, "blind-area points come first in time");
    cr_assert_eq(pts[3].gnss_time, t0);
    cr_assert_eq(pts[3].lat_e6, 30000000);
    cr_assert_eq(pts[22].mileage_hm, 1019u);
}

Test(engine, edition_2011_register_auth_report, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    run_edition(JT808_ED_2011, "13800000011", 0);
}

Test(engine, edition_2013_register_auth_report, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    run_edition(JT808_ED_2013, "13800000013", 0);
}

Test(engine, edition_2019_register_auth_report, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    run_edition(JT808_ED_2019, "13800000019", 0);
}

Test(engine, udp_register_auth_report, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    run_edition(JT808_ED_2013, "13800000020", 1);
}

Test(engine, nothing_before_authentication, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    struct term t;
    term_open(&t, eng.port, 0, JT808_ED_2013, "13800000031");
    int64_t t0 = time(NULL) - 60;
    for (int i = 0; i < 5; i++)
        term_report(&t, t0 + i, (uint32_t)i);
    struct jt808_msg a;
    cr_assert_eq(term_recv(&t, &a, 500), 0, "no answer to an unauthenticated peer");
    /* a wrong authentication code is refused */
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0102_AUTH;
    m.u.auth.code = rw_str("not-the-code");
    term_send(&t, &m);
    cr_assert_eq(term_recv(&t, &a, harness_timeout_s() * 1000), 1);
    cr_assert_eq(a.h.msg_id, JT808_MSG_8001_PLAT_RSP);
    cr_assert_eq(a.u.gen_rsp.result, JT808_RES_FAIL);
    term_close(&t);
    cr_assert_eq(eng_stop(&eng, SIGTERM), 0);
    struct store *st;
    cr_assert_eq(store_create(&st), 0);
    cr_assert_eq(store_set_dir(st, eng.data), 0);
    cr_assert_eq(store_open_rdonly(st), 0);
    struct store_vehicle v;
    cr_assert_eq(store_vehicle_by_phone(st, "13800000031", &v), -ENOENT,
                 "the unauthenticated terminal is unknown to the store");
    store_close(st);
}

Test(engine, kill9_under_load_loses_nothing_acknowledged, .fini = fini, .timeout = 120)
{
    eng_start(&eng, NULL);
    struct term t;
    term_open(&t, eng.port, 0, JT808_ED_2013, "13800000041");
    term_login(&t, "\xd4\xc1" "K00001", 1);
    int64_t t0 = time(NULL) - 7200;
    memset(acked, 0, sizeof acked);
    enum { N = 600 };
    uint16_t serial[N];
    t.lenient = 1;
    /* the first third is sent and acknowledged; the rest is sent as fast as possible and
     * the engine is killed in the middle of it, with reports in flight */
    for (int i = 0; i < N / 3; i++)
        serial[i] = term_report(&t, t0 + i, (uint32_t)i);
    cr_assert_eq(term_collect_acks(&t, acked, N / 3, harness_timeout_s() * 1000), N / 3);
    for (int i = N / 3; i < N; i++) {
        serial[i] = term_report(&t, t0 + i, (uint32_t)i);
        if (i == 2 * N / 3)
            eng_stop(&eng, SIGKILL);
    }
    term_collect_acks(&t, acked, N, 300);
    term_close(&t);
    int n_acked = 0;
    for (int i = 0; i < N; i++)
        n_acked += acked[serial[i]];
    cr_assert_gt(n_acked, 0, "some reports were acknowledged before the kill");
    /* restart; every acknowledged report is there exactly once */
    int64_t before = harness_ms();
    eng_restart(&eng);
    cr_assert_lt(harness_ms() - before, 5000, "listening again within 5 s");
    char code[sizeof t.code];
    memcpy(code, t.code, sizeof code);
    uint16_t next_serial = t.serial;
    term_open(&t, eng.port, 0, JT808_ED_2013, "13800000041");
    memcpy(t.code, code, sizeof code);
    t.serial = next_serial;
    /* the terminal resends what was not acknowledged, as real terminals do */
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0102_AUTH;
    m.u.auth.code = rw_str(t.code);
    term_send(&t, &m);
    struct jt808_msg a;
    int got_auth = term_recv(&t, &a, harness_timeout_s() * 1000);
    cr_assert_eq(got_auth, 1, "answer to 0x0102 after restart: %s",
                 got_auth < 0 ? "connection closed" : "timeout");
    cr_assert_eq(a.u.gen_rsp.result, JT808_RES_OK, "the code survived the kill");
    int resent = 0;
    for (int i = 0; i < N; i++)
        if (!acked[serial[i]]) {
            serial[i] = term_report(&t, t0 + i, (uint32_t)i);
            resent++;
        }
    /* and some acknowledged ones too (an ack lost on the way): no duplicate may appear */
    for (int i = 0; i < 10; i++)
        term_report(&t, t0 + i, (uint32_t)i);
    memset(acked, 0, sizeof acked);
    int got = term_collect_acks(&t, acked, resent + 10, harness_timeout_s() * 2000);
    cr_assert_eq(got, resent + 10, "%d of %d resent reports acknowledged", got, resent + 10);
    term_close(&t);
    cr_assert_eq(eng_stop(&eng, SIGTERM), 0);
    static struct store_pos pts[N + 16];
    long n = stored_points(vehicle_of("13800000041"), t0, t0 + N, pts, N + 16);
    cr_assert_eq(n, N, "every report exactly once: %ld stored for %d sent", n, N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pts[i].gnss_time, t0 + i);
}

/* A 2013 terminal on TCP that registers, authenticates and has one report acknowledged. */
static void legit_terminal(struct term *t, const char *phone, const char *plate_gbk)
{
    term_open(t, eng.port, 0, JT808_ED_2013, phone);
    term_login(t, plate_gbk, 1);
    memset(acked, 0, sizeof acked);
    uint16_t s = term_report(t, time(NULL) - 20, 1);
    cr_assert_eq(term_collect_acks(t, acked, 1, harness_timeout_s() * 1000), 1);
    cr_assert(acked[s]);
}

Test(engine, connection_flood_past_the_limit, .fini = fini, .timeout = 60)
{
    eng_start(&eng, "jt808\n  max_connections 20\n");
    int fds[40];
    int refused = 0;
    for (int i = 0; i < 40; i++) {
        struct term x;
        term_open(&x, eng.port, 0, JT808_ED_2013, "1");
        fds[i] = x.fd;
    }
    usleep(300000);
    for (int i = 0; i < 40; i++) {
        char b;
        struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (recv(fds[i], &b, 1, 0) == 0)
            refused++;
    }
    cr_assert_geq(refused, 20, "connections past the limit are closed (%d)", refused);
    for (int i = 0; i < 40; i++)
        close(fds[i]);
    usleep(300000);
    /* legitimate traffic continues once the flood is gone */
    struct term t;
    legit_terminal(&t, "13800000051", "\xd4\xc1" "F00001");
    term_close(&t);
}

Test(engine, split_frames_and_garbage, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    struct term t;
    term_open(&t, eng.port, 0, JT808_ED_2013, "13800000061");
    term_login(&t, "\xd4\xc1" "S00001", 1);
    memset(acked, 0, sizeof acked);
    int64_t t0 = time(NULL) - 100;
    uint8_t wire[JT808_WIRE_MAX];
    for (int i = 0; i < 5; i++) {
        struct jt808_msg m;
        memset(&m, 0, sizeof m);
        m.h.msg_id = JT808_MSG_0200_LOCATION;
        term_loc(&m.u.loc, t0 + i, (uint32_t)i);
        m.h.serial = t.serial++;
        jt808_phone_set(&m.h, t.phone);
        m.h.edition = JT808_ED_2013;
        int n = jt808_encode(&m, wire, sizeof wire);
        term_send_bytes(&t, "garbage", 7);
        for (int k = 0; k < n; k++) { /* one byte per send */
            term_send_bytes(&t, wire + k, 1);
            if (k % 16 == 0)
                usleep(1000);
        }
    }
    int got = term_collect_acks(&t, acked, 5, harness_timeout_s() * 1000);
    cr_assert_eq(got, 5);
    term_close(&t);
}

/* The engine's VmRSS in KiB (0 when unreadable). */
static unsigned long eng_rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)eng.pid);
    FILE *f = fopen(path, "r");
    unsigned long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lu", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Connects to the engine and writes <n> bytes of <junk>, ignoring refusals and resets (the
 * engine closes such peers); returns the bytes the kernel took. */
static size_t junk_conn(const uint8_t *junk, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)eng.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    size_t took = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        while (took < n) {
            ssize_t w = send(fd, junk + took, n - took, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            took += (size_t)w;
        }
    close(fd);
    return took;
}

Test(engine, hostile_input_keeps_memory_bounded, .fini = fini, .timeout = 90)
{
    /* 512 provided buffers of 4 KiB per worker: the warm-up round below cycles through
     * all of them, so the baseline already counts their pages */
    eng_start(&eng, "jt808\n  max_connections 48\n  recv_buffers 512\n");
    /* a legitimate terminal first, so that its paths are warm before the baseline */
    struct term t;
    legit_terminal(&t, "13800000091", "\xd4\xc1" "M00001");
    /* 64 KiB per connection, 40 connections at a time (the limit is 48), 5 rounds of
     * warm-up and 25 measured (62.5 MiB offered). Even connections: random bytes with a
     * flag every 97 (bad frames: the engine closes them), escape bytes and a run far past
     * the framer's cap; odd ones: no flag at all (nothing to frame: the engine reads and
     * discards all of it). */
    static uint8_t junk[2][65536];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof junk[0]; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        junk[0][i] = (uint8_t)x;
        junk[1][i] = (uint8_t)x == 0x7E ? 0x7F : (uint8_t)x;
        if (i % 97 == 0)
            junk[0][i] = 0x7E;
        if (i % 3001 == 1)
            junk[0][i] = 0x7D;
    }
    memset(junk[0] + 20000, 0x41, 8000);
    size_t sent = 0;
    unsigned long before = 0;
    for (int round = 0; round < 30; round++) {
        if (round == 5) { /* warm-up done: buffers, framers, connection slots all used */
            usleep(200000);
            before = eng_rss_kb();
            cr_assert_gt(before, 0);
            sent = 0;
        }
        for (int c = 0; c < 40; c++)
            sent += junk_conn(junk[c & 1], sizeof junk[0]);
        usleep(50000);
    }
    /* and a flood past the limit: 200 connections at once, held open */
    int flood[200];
    for (int i = 0; i < 200; i++) {
        flood[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)eng.port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)connect(flood[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(300000);
    for (int i = 0; i < 200; i++)
        close(flood[i]);
    usleep(300000);
    unsigned long after = eng_rss_kb();
    /* legitimate traffic continues on the connection it had all along */
    uint16_t s1 = term_report(&t, time(NULL) - 10, 2);
    cr_assert_eq(term_collect_acks(&t, acked, 1, harness_timeout_s() * 1000), 1);
    cr_assert(acked[s1], "the legitimate terminal is still answered");
    term_close(&t);
    /* the engine read it: bad frames counted, connections past the limit refused */
    struct live *lv;
    cr_assert_eq(live_open_ro(eng.live, &lv), 0);
    uint64_t bad = 0, refused = 0, closed = 0, bytes_in = 0;
    const struct live_hdr *h = live_header(lv);
    for (uint32_t w = 0; w < h->workers && w < LIVE_MAX_WORKERS; w++) {
        bad += h->metrics[w].frames_bad;
        refused += h->metrics[w].conns_refused;
        closed += h->metrics[w].conns_closed;
        bytes_in += h->metrics[w].bytes_in;
    }
    live_close(lv);
    cr_log_info("junk offered (measured rounds) %zu bytes, read by the engine in all %llu; "
                "bad frames %llu, refused %llu, closed %llu; engine RSS %lu -> %lu KiB", sent,
                (unsigned long long)bytes_in, (unsigned long long)bad,
                (unsigned long long)refused, (unsigned long long)closed, before, after);
    cr_expect_gt(bytes_in, (uint64_t)16 << 20, "the junk was read");
    cr_expect_gt(bad, 500u, "its frames were refused");
    cr_expect_gt(refused, 100u, "the flood past the limit was refused");
    cr_expect_lt(after, before + 8192, "RSS grew %ld KiB for %zu bytes of junk",
                 (long)after - (long)before, sent);
}

Test(engine, newest_connection_of_a_terminal_wins, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    struct term a, b;
    term_open(&a, eng.port, 0, JT808_ED_2013, "13800000071");
    term_login(&a, "\xd4\xc1" "D00001", 1);
    term_open(&b, eng.port, 0, JT808_ED_2013, "13800000071");
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0102_AUTH;
    m.u.auth.code = rw_str(a.code);
    term_send(&b, &m);
    struct jt808_msg r;
    cr_assert_eq(term_recv(&b, &r, harness_timeout_s() * 1000), 1);
    cr_assert_eq(r.u.gen_rsp.result, JT808_RES_OK);
    /* within the housekeeping period the older connection is closed */
    int closed = 0;
    for (int i = 0; i < 30 && !closed; i++)
        closed = term_recv(&a, &r, 100) < 0;
    cr_assert(closed, "the older connection was closed");
    memset(acked, 0, sizeof acked);
    uint16_t s = term_report(&b, time(NULL) - 5, 7);
    cr_assert_eq(term_collect_acks(&b, acked, 1, harness_timeout_s() * 1000), 1);
    cr_assert(acked[s]);
    term_close(&a);
    term_close(&b);
}

/* Sums one per-worker counter of `roadwatch stats`. */
static unsigned long long stat_sum(const char *name)
{
    char cmd[512], line[256], want[96];
    snprintf(cmd, sizeof cmd, "%s stats --path %s", getenv("RW_BIN"), eng.live);
    snprintf(want, sizeof want, "roadwatch_%s{worker=", name);
    unsigned long long sum = 0, v;
    FILE *sp = popen(cmd, "r");
    cr_assert_not_null(sp);
    while (fgets(line, sizeof line, sp)) {
        const char *q = strchr(line, '}');
        if (strncmp(line, want, strlen(want)) == 0 && q && sscanf(q + 1, " %llu", &v) == 1)
            sum += v;
    }
    cr_expect_eq(pclose(sp), 0);
    return sum;
}

/* Every vehicle's live slot is written by its owning worker (vehicle id % workers): the
 * connections land on either worker (SO_REUSEPORT), so about half of them send their
 * changes through the mesh, and every slot still shows its terminal's connect, newest
 * position and disconnect. */
Test(engine, live_state_reaches_the_owning_worker, .fini = fini, .timeout = 90)
{
    enum { N = 16 };
    eng_start(&eng, NULL);
    static struct term t[N];
    uint32_t vid[N];
    int64_t t0 = time(NULL) - 600;
    for (int i = 0; i < N; i++) {
        char phone[16], plate[16];
        snprintf(phone, sizeof phone, "1390000%04d", i);
        snprintf(plate, sizeof plate, "\xd4\xc1" "M%05d", i);
        term_open(&t[i], eng.port, 0, JT808_ED_2013, phone);
        term_login(&t[i], plate, 2);
        for (int k = 0; k < 3; k++) {
            memset(acked, 0, sizeof acked);
            uint16_t s = term_report(&t[i], t0 + k * 30, (uint32_t)(i * 10 + k));
            cr_assert_eq(term_collect_acks(&t[i], acked, 1, harness_timeout_s() * 1000), 1);
            cr_assert(acked[s]);
        }
    }
    for (int i = 0; i < N; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "1390000%04d", i);
        vid[i] = vehicle_of(phone);
    }
    struct live *lv;
    cr_assert_eq(live_open_ro(eng.live, &lv), 0);
    int good = 0;
    for (int tries = 0; tries < 50 && good < N; tries++) {
        if (tries)
            usleep(100000);
        good = 0;
        for (int i = 0; i < N; i++) {
            struct live_slot s;
            good += live_slot_read(lv, vid[i], &s) == 0 && s.connected &&
                    s.conn_kind == LIVE_CONN_808 && s.gnss_time == t0 + 60 &&
                    s.points_today >= 3 && s.plate[0] == 0xd4;
        }
    }
    cr_assert_eq(good, N, "%d of %d live slots show their terminal's newest position", good,
                 N);
    unsigned long long sent = 0, applied = 0;
    for (int tries = 0; tries < 40 && (sent == 0 || applied != sent); tries++) {
        if (tries)
            usleep(100000);
        sent = stat_sum("mesh_sent");
        applied = stat_sum("mesh_applied");
    }
    /* each terminal: one connect and three positions; ~half of them cross */
    cr_expect_gt(sent, 0, "some connections are on the worker that does not own the vehicle");
    cr_expect_lt(sent, (unsigned long long)N * 4, "some are on the owning worker");
    cr_expect_eq(applied, sent, "every change sent was applied by its owner");
    cr_expect_eq(stat_sum("mesh_dropped"), 0);
    for (int i = 0; i < N; i++)
        term_close(&t[i]);
    int down = 0;
    for (int tries = 0; tries < 50 && down < N; tries++) {
        usleep(100000);
        down = 0;
        for (int i = 0; i < N; i++) {
            struct live_slot s;
            down += live_slot_read(lv, vid[i], &s) == 0 && !s.connected;
        }
    }
    live_close(lv);
    cr_expect_eq(down, N, "%d of %d slots show the disconnect", down, N);
}

Test(engine, slow_sender_is_closed, .fini = fini, .timeout = 60)
{
    eng_start(&eng, "jt808\n  frame_timeout_s 1\n");
    struct term t;
    term_open(&t, eng.port, 0, JT808_ED_2013, "13800000081");
    term_login(&t, "\xd4\xc1" "W00001", 1);
    /* a frame's first bytes, then nothing more of it: the connection must go */
    static const uint8_t part[] = {0x7E, 0x02, 0x00, 0x00, 0x1C, 0x01, 0x38};
    term_send_bytes(&t, part, sizeof part);
    struct jt808_msg m;
    int closed = 0;
    for (int i = 0; i < 40 && !closed; i++)
        closed = term_recv(&t, &m, 100) < 0;
    cr_assert(closed, "a frame left unfinished for frame_timeout_s closes the connection");
    /* while a steady sender (frames completing, buffers ending mid-frame) is not closed */
    struct term s;
    term_open(&s, eng.port, 0, JT808_ED_2013, "13800000082");
    term_login(&s, "\xd4\xc1" "W00002", 1);
    uint8_t wire[JT808_WIRE_MAX];
    int64_t t0 = time(NULL) - 100;
    memset(acked, 0, sizeof acked);
    for (int i = 0; i < 25; i++) {
        struct jt808_msg r;
        memset(&r, 0, sizeof r);
        r.h.msg_id = JT808_MSG_0200_LOCATION;
        term_loc(&r.u.loc, t0 + i, (uint32_t)i);
        r.h.serial = s.serial++;
        r.h.edition = JT808_ED_2013;
        jt808_phone_set(&r.h, s.phone);
        int n = jt808_encode(&r, wire, sizeof wire);
        term_send_bytes(&s, wire, (size_t)n / 2); /* every send ends inside a frame */
        usleep(100000);
        term_send_bytes(&s, wire + n / 2, (size_t)n - (size_t)n / 2);
    }
    cr_assert_eq(term_collect_acks(&s, acked, 25, harness_timeout_s() * 1000), 25);
    term_close(&s);
    term_close(&t);
}

Test(engine, sighup_adopts_the_registration_mode, .fini = fini, .timeout = 60)
{
    eng_start(&eng, NULL);
    struct term t;
    term_open(&t, eng.port, 0, JT808_ED_2013, "13800000091");
    term_login(&t, "\xd4\xc1" "H00001", 1); /* open mode: enrolled */
    term_close(&t);
    /* switch to strict registration and reload (a section may appear again) */
    FILE *f = fopen(eng.conf, "a");
    cr_assert_not_null(f);
    fputs("jt808\n  registration strict\n", f);
    fclose(f);
    kill(eng.pid, SIGHUP);
    usleep(300000);
    struct term u;
    term_open(&u, eng.port, 0, JT808_ED_2013, "13800000092");
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0100_REGISTER;
    m.u.reg.edition = JT808_ED_2013;
    m.u.reg.maker = rw_str("70111");
    m.u.reg.model = rw_str("RW");
    m.u.reg.term_id = rw_str("T2");
    m.u.reg.plate_color = 1;
    m.u.reg.plate = rw_str("\xd4\xc1" "H00002");
    term_send(&u, &m);
    struct jt808_msg a;
    cr_assert_eq(term_recv(&u, &a, harness_timeout_s() * 1000), 1);
    cr_assert_eq(a.h.msg_id, JT808_MSG_8100_REGISTER_RSP);
    cr_assert_eq(a.u.reg_rsp.result, JT808_REG_VEHICLE_UNKNOWN,
                 "after the reload an unknown vehicle is refused (result %u)",
                 a.u.reg_rsp.result);
    term_close(&u);
}
