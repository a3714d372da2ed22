/* term_test.c: the simulated terminal's frames, decoded with the codec's decoders, and its
 * session, retransmission and blind-area logic driven without sockets. */
#include <criterion/criterion.h>
#include <string.h>

#include "bench/load/term.h"
#include "engine/proto/jt808.h"

#define MAXF 64
static uint8_t frames[MAXF][JT808_WIRE_MAX];
static size_t flen[MAXF];
static unsigned nf;

static int cap_send(void *ctx, struct term *t, const uint8_t *f, size_t len)
{
    (void)ctx;
    (void)t;
    cr_assert(nf < MAXF);
    memcpy(frames[nf], f, len);
    flen[nf++] = len;
    return 0;
}

static struct term_cfg cfg = {.report_s = 30, .heartbeat_s = 60, .reply_timeout_ms = 1000,
                              .retries = 2, .window = 4, .blind_max = 64,
                              .reconnect_ms = 100, .batch_max = 20, .time_scale = 1};
static struct road_net net;
static struct term_stats st;
static struct hist h;
static struct term_env env;
static struct term *t;
static struct jt808_framer fr;
static struct jt808_msg m;

static void setup(void)
{
    road_net_default(&net);
    memset(&st, 0, sizeof st);
    hist_reset(&h);
    env = (struct term_env){.cfg = &cfg, .net = &net, .st = &st, .ack_lat = &h,
                            .send = cap_send};
    nf = 0;
}

static void teardown(void)
{
    term_destroy(t);
    t = NULL;
}

/* Decodes frame <i> into m with the codec (framer + parse). */
static void decode(unsigned i)
{
    jt808_framer_init(&fr);
    int status;
    size_t used = jt808_framer_feed(&fr, frames[i], flen[i], &status);
    cr_assert_eq(status, 1, "frame %u: framer status %d", i, status);
    cr_assert_eq(used, flen[i]);
    cr_assert_eq(jt808_framer_parse(&fr, &m), 0, "frame %u does not parse", i);
}

/* Feeds a platform message built with the codec's encoder. */
static int feed(struct jt808_msg *pm, uint64_t now)
{
    uint8_t buf[JT808_WIRE_MAX];
    int len = jt808_encode(pm, buf, sizeof buf);
    cr_assert_gt(len, 0);
    return term_on_bytes(t, &env, buf, (size_t)len, now);
}

static void ack(uint16_t serial, uint16_t id, uint64_t now)
{
    struct jt808_msg a;
    memset(&a, 0, sizeof a);
    a.h = m.h;
    a.h.msg_id = JT808_MSG_8001_PLAT_RSP;
    a.h.serial = 900;
    a.u.gen_rsp = (struct jt808_gen_rsp){serial, id, 0};
    (void)feed(&a, now);
}

static void go_online(uint16_t edition)
{
    cr_assert_eq(term_create(&cfg, &net, 5, 3, edition, 0, "鄂A00003", 1795395600, NULL, 0,
                             &t), 0);
    term_on_connected(t, &env, 1000);
    cr_assert_eq(nf, 1);
    decode(0);
    cr_assert_eq(m.h.msg_id, JT808_MSG_0100_REGISTER);
    cr_assert_eq(m.u.reg.edition, edition);
    cr_assert_eq(m.u.reg.plate_color, 2);
    struct jt808_msg r;
    memset(&r, 0, sizeof r);
    r.h = m.h;
    r.h.msg_id = JT808_MSG_8100_REGISTER_RSP;
    r.u.reg_rsp.ack_serial = m.h.serial;
    r.u.reg_rsp.auth_code = (struct rw_bytes){(const uint8_t *)"CODE42", 6};
    (void)feed(&r, 2000);
    cr_assert_eq(nf, 2);
    decode(1);
    cr_assert_eq(m.h.msg_id, JT808_MSG_0102_AUTH);
    cr_assert_eq(m.u.auth.code.len, 6);
    cr_assert_eq(memcmp(m.u.auth.code.p, "CODE42", 6), 0);
    ack(m.h.serial, JT808_MSG_0102_AUTH, 3000);
    cr_assert_eq(t->state, TERM_S_ONLINE);
}

TestSuite(term, .init = setup, .fini = teardown);

Test(term, session_and_reports_decode_in_every_edition)
{
    uint16_t eds[] = {JT808_ED_2011, JT808_ED_2013, JT808_ED_2019};
    for (unsigned e = 0; e < 3; e++) {
        setup();
        go_online(eds[e]);
        cr_assert_eq(m.h.edition, eds[e] == JT808_ED_2019 ? JT808_ED_2019 : JT808_ED_2013);
        term_tick(t, &env, 4000, 1795395600 + 90, 64);
        cr_assert_eq(nf, 2 + 4, "edition %u: %u frames", eds[e], nf);
        for (unsigned i = 2; i < nf; i++) {
            decode(i);
            cr_assert_eq(m.h.msg_id, JT808_MSG_0200_LOCATION);
            cr_assert_eq(m.u.loc.time, 1795395600 + 30 * (int64_t)(i - 2));
            cr_assert(m.u.loc.status & JT808_ST_FIX);
            cr_assert(m.u.loc.present & JT808_X_MILEAGE);
            ack(m.h.serial, JT808_MSG_0200_LOCATION, 5000);
        }
        cr_assert_eq(st.acked_0200, 4);
        cr_assert_eq(term_outstanding(t), 0);
        teardown();
    }
}

/* The ack latency ends where the answer was read (now) and, when the link gives a kernel
 * receive time (rx_ns), also where it arrived; an arrival stamped after the read (clock
 * step) counts as the read. */
Test(term, ack_latency_is_kept_at_read_and_at_kernel_arrival)
{
    struct hist rx;
    hist_reset(&rx);
    env.ack_lat_rx = &rx;
    go_online(JT808_ED_2013);
    cr_assert_eq(h.count, 0, "session answers are not reports");
    term_tick(t, &env, 10000000, 1795395600 + 60, 64); /* 3 reports sent at 10 ms */
    cr_assert_eq(nf, 2 + 3);
    unsigned first = 2;
    decode(first);
    env.rx_ns = 16000000; /* arrived at 16 ms, read at 25 ms */
    ack(m.h.serial, JT808_MSG_0200_LOCATION, 25000000);
    decode(first + 1);
    env.rx_ns = 0; /* no timestamp: only the read latency */
    ack(m.h.serial, JT808_MSG_0200_LOCATION, 30000000);
    decode(first + 2);
    env.rx_ns = 50000000; /* stamped after the read: capped at it */
    ack(m.h.serial, JT808_MSG_0200_LOCATION, 40000000);
    cr_assert_eq(st.acked_0200, 3);
    cr_assert_eq(h.count, 3);
    cr_assert_eq(h.min_us, 15000);
    cr_assert_eq(h.max_us, 30000);
    cr_assert_eq(rx.count, 2);
    cr_assert_eq(rx.min_us, 6000);
    cr_assert_eq(rx.max_us, 30000);
    cr_assert_eq(rx.sum_us, 36000);
}

/* Heartbeats keep the link alive against the platform's idle timeout, which runs on real
 * time: after heartbeat_s wall-clock seconds of silence, whatever the GNSS time scale (a
 * 5,000x run once sent one every 12 ms from every terminal waiting for its window). */
Test(term, heartbeat_after_heartbeat_s_of_real_silence_at_any_time_scale)
{
    struct term_cfg fast = cfg;
    fast.time_scale = 5000;
    env.cfg = &fast;
    go_online(JT808_ED_2013);
    unsigned base = nf;
    int64_t before_first = 1795395600 - 1; /* no position due yet */
    term_tick(t, &env, 2000 + 100000000ull, before_first, 64);  /* +100 ms */
    term_tick(t, &env, 2000 + 59999999999ull, before_first, 64); /* +60 s - 1 ns */
    cr_assert_eq(nf, base, "no heartbeat before 60 real seconds of silence");
    term_tick(t, &env, 2000 + 60000000000ull, before_first, 64);
    cr_assert_eq(nf, base + 1);
    decode(base);
    cr_assert_eq(m.h.msg_id, JT808_MSG_0002_HEARTBEAT);
    cr_assert_eq(st.heartbeats, 1);
    term_tick(t, &env, 2000 + 60100000000ull, before_first, 64);
    cr_assert_eq(nf, base + 1, "the heartbeat itself restarts the silence");
}

Test(term, unacked_report_is_resent_with_the_same_serial_and_bytes)
{
    go_online(JT808_ED_2013);
    term_tick(t, &env, 4000, 1795395600, 64);
    cr_assert_eq(nf, 3);
    uint8_t first[JT808_WIRE_MAX];
    size_t first_len = flen[2];
    memcpy(first, frames[2], first_len);
    term_tick(t, &env, 4000 + 999999999ull, 1795395600, 64); /* before T */
    cr_assert_eq(nf, 3);
    term_tick(t, &env, 4000 + 1000000000ull, 1795395600, 64); /* T: first retransmission */
    cr_assert_eq(nf, 4);
    cr_assert_eq(flen[3], first_len);
    cr_assert_eq(memcmp(frames[3], first, first_len), 0);
    /* The next wait is 2T: nothing at +1.5T, a resend at +3T. */
    term_tick(t, &env, 4000 + 2500000000ull, 1795395600, 64);
    cr_assert_eq(nf, 4);
    term_tick(t, &env, 4000 + 3000000000ull, 1795395600, 64);
    cr_assert_eq(nf, 5);
    cr_assert_eq(memcmp(frames[4], first, first_len), 0);
    cr_assert_eq(st.resent, 2);
    /* After N = 2 retransmissions the link is broken. */
    cr_assert_eq(term_tick(t, &env, 4000 + 6000000000ull, 1795395600, 64), TERM_ACT_CLOSE);
}

/* Offline, a paced terminal keeps the GNSS clock and its ring drops the oldest; at max
 * rate there is no clock to keep, so it stops once the ring is full (it generated at the
 * simulator's full speed before, 110 M drops in a 60 s run, a core's worth of work). */
Test(term, offline_at_max_rate_stops_at_a_full_blind_ring)
{
    for (int max = 0; max <= 1; max++) {
        setup();
        struct term_cfg c = cfg;
        c.max_rate = (uint8_t)max;
        env.cfg = &c;
        cr_assert_eq(term_create(&c, &net, 5, 3, JT808_ED_2013, 0, "鄂A00003", 1795395600,
                                 NULL, 0, &t), 0);
        int64_t far = 1795395600 + 30 * 1000; /* 1,000 positions due */
        for (unsigned k = 0; k < 4; k++)
            term_tick(t, &env, 1000 + k, far, 64);
        cr_assert_eq(nf, 0, "nothing sent while the link is down");
        cr_assert_eq(t->blind_n, c.blind_max);
        cr_assert_eq(st.points, max ? c.blind_max : 4 * 64);
        cr_assert_eq(st.blind_dropped, max ? 0 : 4 * 64 - c.blind_max);
        teardown();
    }
}

Test(term, blind_area_upload_after_reconnect_is_0704_type_1)
{
    go_online(JT808_ED_2019);
    term_tick(t, &env, 4000, 1795395600 + 30, 64); /* two reports, unacked */
    term_on_disconnected(t, &env, 5000);
    cr_assert_eq(t->blind_n, 2);
    term_tick(t, &env, 6000, 1795395600 + 150, 64); /* four more while offline */
    cr_assert_eq(t->blind_n, 6);
    unsigned before = nf;
    term_on_connected(t, &env, 7000);
    cr_assert_eq(nf, before + 1);
    decode(before);
    cr_assert_eq(m.h.msg_id, JT808_MSG_0102_AUTH, "a terminal with a code skips 0x0100");
    ack(m.h.serial, JT808_MSG_0102_AUTH, 8000);
    cr_assert_eq(nf, before + 2);
    decode(before + 1);
    cr_assert_eq(m.h.msg_id, JT808_MSG_0704_BATCH);
    cr_assert_eq(m.u.batch.type, 1);
    cr_assert_eq(m.u.batch.count, 6);
    struct jt808_batch_iter it;
    struct jt808_loc l;
    jt808_batch_iter_init(&it, &m.u.batch);
    int64_t prev = 0;
    for (unsigned k = 0; k < 6; k++) {
        cr_assert_eq(jt808_batch_next(&it, &l), 1);
        cr_assert_gt(l.time, prev, "items in time order");
        prev = l.time;
    }
    cr_assert_eq(jt808_batch_next(&it, &l), 0);
    ack(m.h.serial, JT808_MSG_0704_BATCH, 9000);
    cr_assert_eq(st.acked_0704_items, 6);
    cr_assert_eq(term_outstanding(t), 0);
}
