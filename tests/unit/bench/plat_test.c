/* plat_test.c: the simulated JT/T 809 lower platform's frames, decoded with the codec's
 * decoders in both editions, plain and encrypted, and its session (login, subordinate
 * link, link tests, outage and 0x1203 back-fill) driven without sockets. */
#include <criterion/criterion.h>
#include <string.h>

#include "bench/load/plat.h"
#include "engine/base/text.h"
#include "engine/proto/jt809.h"

#define MAXF 256
static uint8_t frames[MAXF][PLAT_FRAME_CAP];
static size_t flen[MAXF];
static int fside[MAXF];
static unsigned nf;

static int cap_send(void *ctx, struct plat *p, int side, const uint8_t *f, size_t len)
{
    (void)ctx;
    (void)p;
    cr_assert(nf < MAXF);
    cr_assert(len <= PLAT_FRAME_CAP);
    memcpy(frames[nf], f, len);
    flen[nf] = len;
    fside[nf++] = side;
    return 0;
}

static struct scenario scn;
static struct plat_cfg cfg = {.report_s = 30, .link_test_s = 60, .login_timeout_ms = 1000,
                              .reconnect_ms = 100, .missed_max = 64, .time_scale = 1};
static struct plat_env env;
static struct plat *p;
static struct jt809_framer fr;
static struct jt809_msg m;
static struct jt809_peer upper; /* what the engine uses to read this platform */

static void load(uint16_t edition, int encrypt)
{
    char json[512], err[256];
    snprintf(json, sizeof json,
             "{\"fleet\": {\"vehicles\": 10}, \"platforms\": {\"count\": 2, "
             "\"vehicles_each\": 3, \"edition\": %u, \"encrypt\": %d, \"user_id\": 7001, "
             "\"password\": \"pw809\", \"access_code\": 5550001, \"m1\": 30000000, "
             "\"ia1\": 20000000, \"ic1\": 20000000, \"listen_port_base\": 0}}",
             edition, encrypt);
    cr_assert_eq(scn_parse(json, &scn, err, sizeof err), 0, "%s", err);
    env = (struct plat_env){.cfg = &cfg, .net = &scn.net, .send = cap_send};
    cr_assert_eq(plat_create(&scn, &cfg, 1, &p), 0);
    p->listen_port = 17123;
    upper = (struct jt809_peer){.edition = edition, .has_keys = 1, .m1 = 30000000,
                                .ia1 = 20000000, .ic1 = 20000000};
    nf = 0;
}

static void teardown(void)
{
    plat_destroy(p);
    p = NULL;
}

/* Decodes frame <i> with the codec as the engine would; returns the header's flag. */
static int decode(unsigned i)
{
    jt809_framer_init(&fr);
    int status;
    size_t used = jt809_framer_feed(&fr, frames[i], flen[i], &status);
    cr_assert_eq(status, 1, "frame %u: framer status %d", i, status);
    cr_assert_eq(used, flen[i]);
    int rc = jt809_framer_parse(&fr, &upper, &m);
    cr_assert_eq(rc, 0, "frame %u does not parse: %d", i, rc);
    return m.h.encrypt_flag;
}

/* Builds a frame the engine would send (header in the platform's edition). */
static size_t upper_frame(uint16_t msg_id, uint32_t value, uint8_t *out)
{
    struct jt809_msg r;
    memset(&r, 0, sizeof r);
    r.h.msg_id = msg_id;
    r.h.edition = p->edition;
    r.h.gnss_center_id = p->access_code;
    r.sub_known = 1;
    if (msg_id == JT809_MSG_1002_UP_CONNECT_RSP) {
        r.u.connect_rsp.result = (uint8_t)(value >> 24);
        r.u.connect_rsp.verify_code = value & 0xFFFFFFu;
    } else {
        r.u.verify_code = value;
    }
    int n = jt809_encode(&r, &upper, out, JT809_WIRE_MAX);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

static void check_frames(uint16_t edition, int encrypt)
{
    load(edition, encrypt);
    cr_assert_eq(p->user_id, 7002);
    cr_assert_eq(p->edition, edition);
    /* 0x1001 */
    flen[0] = (size_t)plat_encode_1001(p, frames[0], PLAT_FRAME_CAP);
    cr_assert_eq(decode(0), encrypt);
    cr_assert_eq(m.h.msg_id, JT809_MSG_1001_UP_CONNECT_REQ);
    cr_assert_eq(m.h.edition, edition);
    cr_assert_eq(m.h.gnss_center_id, 5550002);
    cr_assert_eq(m.u.connect_req.user_id, 7002);
    cr_assert_eq(memcmp(m.u.connect_req.password.p, "pw809\0\0\0", 8), 0);
    cr_assert_eq(m.u.connect_req.down_link_port, 17123);
    cr_assert_eq(rw_trim(m.u.connect_req.down_link_ip).len, 9);
    if (edition == JT809_ED_2019)
        cr_assert_eq(m.u.connect_req.gnss_center_id, 5550002);
    /* 0x1202 */
    struct term_pt pt = {.t = 1795395600 + 17, .lat_e6 = 30512345, .lon_e6 = 114301234,
                         .mileage_hm = 1234, .status = 3, .speed_dkmh = 655, .dir = 90};
    flen[1] = (size_t)plat_encode_1202(p, 2, &pt, frames[1], PLAT_FRAME_CAP);
    cr_assert_eq(decode(1), encrypt);
    cr_assert_eq(m.h.msg_id, JT809_MSG_1200_UP_EXG_MSG);
    cr_assert_eq(m.env.data_type, JT809_SUB_1202_REAL_LOCATION);
    cr_assert_eq(m.env.vehicle_color, PLAT_PLATE_COLOR);
    char plate[64];
    cr_assert_gt(text_gbk_to_utf8(rw_trim(m.env.vehicle_no), plate, sizeof plate), 0);
    cr_assert_str_eq(plate, "鄂F00005"); /* platform 1, vehicle 2, K = 3 */
    const struct jt809_loc *l = &m.u.loc;
    if (edition == JT809_ED_2011) {
        cr_assert_eq(jt809_gnss11_time(&l->v11), pt.t);
        cr_assert_eq(l->v11.lat, 30512345);
        cr_assert_eq(l->v11.lon, 114301234);
        cr_assert_eq(l->v11.vec1, 65);
        cr_assert_eq(l->v11.vec3, 123);
    } else {
        cr_assert_eq(l->v19.loc.time, pt.t);
        cr_assert_eq(l->v19.loc.lat, 30512345);
        cr_assert_eq(l->v19.loc.lon, 114301234);
        cr_assert_eq(l->v19.loc.speed_dkmh, 655);
        cr_assert_eq(l->v19.loc.mileage_hm, 1234);
    }
    /* 0x1203 with 5 positions */
    struct term_pt pts[5];
    for (int k = 0; k < 5; k++) {
        pts[k] = pt;
        pts[k].t = pt.t + 30 * k;
    }
    flen[2] = (size_t)plat_encode_1203(p, 0, pts, 5, frames[2], PLAT_FRAME_CAP);
    cr_assert_eq(decode(2), encrypt);
    cr_assert_eq(m.env.data_type, JT809_SUB_1203_HISTORY_LOCATION);
    cr_assert_eq(m.u.his.cnt, 5);
    for (int k = 0; k < 5; k++)
        cr_assert_eq(edition == JT809_ED_2011 ? jt809_gnss11_time(&m.u.his.loc[k].v11)
                                              : m.u.his.loc[k].v19.loc.time,
                     pts[k].t);
    /* Encrypted frames do not decode without the keys. */
    if (encrypt) {
        struct jt809_peer nokeys = {.edition = edition};
        jt809_framer_init(&fr);
        int status;
        jt809_framer_feed(&fr, frames[1], flen[1], &status);
        cr_assert_eq(jt809_framer_parse(&fr, &nokeys, &m), RW_E_ENCRYPTED);
    }
}

Test(plat, frames_2011_plain, .fini = teardown) { check_frames(JT809_ED_2011, 0); }
Test(plat, frames_2011_encrypted, .fini = teardown) { check_frames(JT809_ED_2011, 1); }
Test(plat, frames_2019_plain, .fini = teardown) { check_frames(JT809_ED_2019, 0); }
Test(plat, frames_2019_encrypted, .fini = teardown) { check_frames(JT809_ED_2019, 1); }

/* Login, subordinate link, real-time positions, outage, back-fill in 0x1203 of 1..5. */
static void session(uint16_t edition, int encrypt)
{
    load(edition, encrypt);
    static uint8_t in[JT809_WIRE_MAX];
    uint64_t now = 1000000000ull;
    int64_t g = scn.start_t;
    plat_on_connected(p, &env, now);
    cr_assert_eq(nf, 1);
    cr_assert_eq(decode(0), encrypt);
    cr_assert_eq(m.h.msg_id, JT809_MSG_1001_UP_CONNECT_REQ);
    size_t n = upper_frame(JT809_MSG_1002_UP_CONNECT_RSP, 0x00ABCDEFu, in);
    cr_assert_eq(plat_on_bytes(p, &env, PLAT_MAIN, in, n, now), PLAT_ACT_NONE);
    cr_assert_eq(p->state, PLAT_S_ONLINE);
    /* subordinate link: 0x9001 with the verify code -> 0x9002 result 0; 0x9005 -> 0x9006 */
    n = upper_frame(JT809_MSG_9001_DOWN_CONNECT_REQ, 0x00ABCDEFu, in);
    plat_on_bytes(p, &env, PLAT_SUB, in, n, now);
    cr_assert_eq(fside[nf - 1], PLAT_SUB);
    decode(nf - 1);
    cr_assert_eq(m.h.msg_id, JT809_MSG_9002_DOWN_CONNECT_RSP);
    cr_assert_eq(m.u.code, 0);
    n = upper_frame(JT809_MSG_9005_DOWN_LINKTEST_REQ, 0, in);
    plat_on_bytes(p, &env, PLAT_SUB, in, n, now);
    decode(nf - 1);
    cr_assert_eq(m.h.msg_id, JT809_MSG_9006_DOWN_LINKTEST_RSP);
    /* 10 minutes online: 20 positions per vehicle, and 0x1005 link tests */
    unsigned live = 0, tests = 0;
    for (int s = 0; s < 600; s++, g++, now += 1000000000ull) {
        unsigned before = nf;
        plat_tick(p, &env, now, g, 1u << 20, 16);
        for (unsigned i = before; i < nf; i++) {
            decode(i);
            live += m.h.msg_id == JT809_MSG_1200_UP_EXG_MSG;
            tests += m.h.msg_id == JT809_MSG_1005_UP_LINKTEST_REQ;
        }
        nf = 0;
    }
    cr_assert_eq(live, 60);
    cr_assert_eq(p->st.sent_1202, 60);
    cr_assert_geq(tests, 9);
    /* outage of 7 minutes: 14 positions per vehicle missed */
    plat_on_closing(p);
    for (int s = 0; s < 420; s++, g++, now += 1000000000ull)
        plat_tick(p, &env, now, g, 0, 16);
    plat_on_disconnected(p, &env, now);
    cr_assert_eq(nf, 0);
    cr_assert_eq(plat_outstanding(p), 42);
    plat_on_connected(p, &env, now);
    n = upper_frame(JT809_MSG_1002_UP_CONNECT_RSP, 0x00123456u, in);
    plat_on_bytes(p, &env, PLAT_MAIN, in, n, now);
    nf = 0;
    int64_t last[3] = {0, 0, 0};
    unsigned reup = 0, msgs = 0;
    for (int s = 0; s < 5; s++, now += 1000000000ull) {
        plat_tick(p, &env, now, g, 1u << 20, 16);
        for (unsigned i = 0; i < nf; i++) {
            decode(i);
            if (m.env.data_type != JT809_SUB_1203_HISTORY_LOCATION)
                continue;
            cr_assert(m.u.his.cnt >= 1 && m.u.his.cnt <= 5);
            msgs++;
            char plate[64];
            text_gbk_to_utf8(rw_trim(m.env.vehicle_no), plate, sizeof plate);
            int v = plate[strlen(plate) - 1] - '3'; /* 鄂F00003..5 */
            cr_assert(v >= 0 && v < 3);
            for (unsigned k = 0; k < m.u.his.cnt; k++) {
                const struct jt809_loc *l = &m.u.his.loc[k];
                int64_t t = edition == JT809_ED_2011 ? jt809_gnss11_time(&l->v11)
                                                     : l->v19.loc.time;
                cr_assert_gt(t, last[v], "re-upload out of time order");
                last[v] = t;
                reup++;
            }
        }
        nf = 0;
    }
    cr_assert_eq(reup, 42);
    cr_assert_eq(msgs, 9); /* 14 per vehicle = 5 + 5 + 4 */
    cr_assert_eq(p->st.sent_1203_items, 42);
    cr_assert_eq(plat_outstanding(p), 0);
    unsigned sum = 0;
    for (uint32_t j = 0; j < p->n_veh; j++)
        sum += p->veh[j].sent_live + p->veh[j].sent_reup;
    cr_assert_eq(sum, p->st.sent_1202 + 42); /* per-vehicle counts = what was sent */
    cr_assert_eq(p->st.points, p->st.sent_1202 + 42);
}

Test(plat, session_2011, .fini = teardown) { session(JT809_ED_2011, 0); }
Test(plat, session_2019_encrypted, .fini = teardown) { session(JT809_ED_2019, 1); }

/* A refused login closes the main link; a login without an answer times out. */
Test(plat, login_refused_and_timeout, .fini = teardown)
{
    load(JT809_ED_2019, 0);
    static uint8_t in[JT809_WIRE_MAX];
    plat_on_connected(p, &env, 0);
    size_t n = upper_frame(JT809_MSG_1002_UP_CONNECT_RSP, 0x04000000u, in);
    cr_assert_eq(plat_on_bytes(p, &env, PLAT_MAIN, in, n, 0), PLAT_ACT_CLOSE_MAIN);
    cr_assert_eq(p->st.login_fail, 1);
    plat_on_disconnected(p, &env, 0);
    plat_on_connected(p, &env, 0);
    cr_assert_eq(plat_tick(p, &env, 2000000000ull, scn.start_t, 1u << 20, 16),
                 PLAT_ACT_CLOSE_MAIN);
}
