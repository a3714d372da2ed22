/* link809_test.c: the JT/T 809 main-link server (engine/link809.h) end to end, in process:
 * a real store in a temporary directory, platform accounts, the server on its own thread
 * on a random loopback port, and lower platforms played over real sockets with the jt809
 * codec. Timeouts scale with $RW_TEST_TIMEOUT (seconds, default 10). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/base/log.h"
#include "engine/cfg/cfg.h"
#include "engine/link809.h"
#include "engine/live/live.h"
#include "engine/proto/jt809.h"
#include "store/store.h"

/* Accounts: 2011 plain, 2019 with keys, IP allow-list 127.0.0.2 only, 2011 with keys. */
#define U11 1001u
#define U19 1002u
#define UIP 1003u
#define U11K 1004u
#define ACC(u) ((u) + 1000u)
#define M1 56107078u
#define IA1 37382110u
#define IC1 50361430u

static char g_dir[128];
static struct store *g_st;
static struct live *g_lv;
static struct cfg g_cfg;
static struct link809 *g_l;
static pthread_t g_thr;

static int t_timeout_ms(void)
{
    const char *s = getenv("RW_TEST_TIMEOUT");
    int v = s ? (int)strtol(s, NULL, 10) : 0;
    return (v > 0 ? v : 10) * 1000;
}

static int64_t t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void t_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void t_put_platform(uint32_t user, uint8_t edition, int keys, const char *ip)
{
    struct store_platform p;
    memset(&p, 0, sizeof p);
    p.user_id = user;
    p.access_code = ACC(user);
    snprintf(p.name, sizeof p.name, "lower %u", user);
    p.edition = edition;
    if (keys) {
        p.m1 = M1;
        p.ia1 = IA1;
        p.ic1 = IC1;
    }
    if (ip) {
        p.n_ips = 1;
        p.ips[0].len = 4;
        inet_pton(AF_INET, ip, p.ips[0].addr);
    }
    char pw[16];
    snprintf(pw, sizeof pw, "pw%u", user);
    cr_assert_eq(store_platform_put(g_st, &p, pw), 0);
}

static void setup(void)
{
    log_set_level(LOG_WARN);
    snprintf(g_dir, sizeof g_dir, "/tmp/rw-link809-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    struct store_config sc;
    store_config_default(&sc);
    char data[192];
    snprintf(data, sizeof data, "%s/data", g_dir);
    sc.dir = data;
    sc.shards = 1;
    sc.pool_batches = 8;
    sc.batch_pos = 256;
    sc.batch_raw = 256;
    sc.commit_interval_ms = 2;
    sc.maint_interval_ms = 0;
    sc.kdf_ops = 1;
    sc.kdf_mem_kib = 64;
    cr_assert_eq(store_create(&g_st), 0);
    cr_assert_eq(store_set_config(g_st, &sc), 0);
    cr_assert_eq(store_open(g_st), 0);
    t_put_platform(U11, 1, 0, NULL);
    t_put_platform(U19, 2, 1, NULL);
    t_put_platform(UIP, 1, 0, "127.0.0.2");
    t_put_platform(U11K, 1, 1, NULL);
    char live[192];
    snprintf(live, sizeof live, "%s/live", g_dir);
    cr_assert_eq(live_open_rw(live, 4096, 1, 0, &g_lv), 0);
    char err[256];
    cr_assert_eq(cfg_parse(cfg_embedded, "(embedded)", &g_cfg, err, sizeof err), 0, "%s", err);
    snprintf(g_cfg.jt809_tcp, sizeof g_cfg.jt809_tcp, "127.0.0.1:0");
    g_cfg.batch_records = 256;
    setenv("RW_JT809_LINKTEST_S", "1", 1);
    cr_assert_eq(link809_create(&g_cfg, g_st, g_lv, 0, &g_l), 0);
    cr_assert_gt(link809_port(g_l), 0);
    cr_assert_eq(pthread_create(&g_thr, NULL, link809_main, g_l), 0);
}

static void teardown(void)
{
    link809_stop(g_l);
    pthread_join(g_thr, NULL);
    link809_destroy(g_l);
    store_close(g_st);
    live_close(g_lv);
    char cmd[192];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---------------------------------------------------------------------------------------
 * A lower platform over real sockets
 */

struct lp {
    int fd;
    uint32_t sn;
    uint32_t access;
    uint8_t encrypt;
    struct jt809_peer peer;
    uint32_t in_off, in_len;
    uint8_t in[8192];
    struct jt809_framer fr;
};

static struct lp *lp_new(uint32_t access, uint16_t edition, int keys)
{
    struct lp *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    p->fd = -1;
    p->access = access;
    p->peer.edition = edition;
    if (keys) {
        p->peer.has_keys = 1;
        p->peer.m1 = M1;
        p->peer.ia1 = IA1;
        p->peer.ic1 = IC1;
    }
    jt809_framer_init(&p->fr);
    return p;
}

static void lp_free(struct lp *p)
{
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static int t_connect(const char *from, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (from) {
        inet_pton(AF_INET, from, &a.sin_addr);
        cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s",
                 strerror(errno));
    return fd;
}

static void lp_connect(struct lp *p, const char *from)
{
    p->fd = t_connect(from, link809_port(g_l));
}

static void t_write(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        cr_assert_gt(w, 0, "send: %s", strerror(errno));
        b += w;
        n -= (size_t)w;
    }
}

/* Sends <m>; <known> 0 sends env.data / body verbatim (any bytes, for hostile input). */
static void lp_send_x(struct lp *p, struct jt809_msg *m, int known)
{
    static uint8_t wire[JT809_WIRE_MAX];
    m->h.msg_sn = p->sn++;
    m->h.gnss_center_id = p->access;
    m->h.edition = p->peer.edition;
    m->h.version[0] = 1;
    m->h.encrypt_flag = p->encrypt;
    m->h.encrypt_key = p->encrypt ? 15241u + p->sn : 0;
    m->h.time = (uint64_t)time(NULL);
    m->sub_known = (uint8_t)known;
    int n = jt809_encode(m, &p->peer, wire, sizeof wire);
    cr_assert_gt(n, 0, "encode 0x%04X: %s", m->h.msg_id, err_str(n));
    t_write(p->fd, wire, (size_t)n);
}

static void lp_send(struct lp *p, struct jt809_msg *m)
{
    lp_send_x(p, m, 1);
}

/* Receives the next frame into <m> (views valid until the next call). Returns 0, or -1 on
 * timeout or when the server closed the link. */
static int lp_recv(struct lp *p, struct jt809_msg *m, int timeout_ms)
{
    int64_t end = t_now_ms() + timeout_ms;
    for (;;) {
        while (p->in_off < p->in_len) {
            int st;
            p->in_off += (uint32_t)jt809_framer_feed(&p->fr, p->in + p->in_off,
                                                     p->in_len - p->in_off, &st);
            if (st == 1) {
                int rc = jt809_framer_parse(&p->fr, &p->peer, m);
                cr_assert(rc == 0 || rc == RW_E_UNSUPPORTED, "parse: %s", err_str(rc));
                return 0;
            }
        }
        int left = (int)(end - t_now_ms());
        if (left <= 0)
            return -1;
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (poll(&pf, 1, left) <= 0)
            return -1;
        ssize_t n = recv(p->fd, p->in, sizeof p->in, 0);
        if (n <= 0)
            return -1;
        p->in_off = 0;
        p->in_len = (uint32_t)n;
    }
}

/* Waits until the server closes the connection (EOF or reset). */
static int lp_closed(struct lp *p, int timeout_ms)
{
    int64_t end = t_now_ms() + timeout_ms;
    uint8_t b[4096];
    while (t_now_ms() < end) {
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (poll(&pf, 1, 50) > 0) {
            ssize_t n = recv(p->fd, b, sizeof b, 0);
            if (n <= 0)
                return 1;
        }
    }
    return 0;
}

/* Sends 0x1001; returns the 0x1002 result (or -1) and the verify code. */
static int lp_login(struct lp *p, uint32_t user, const char *pw, int down_port,
                    uint32_t *verify)
{
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1001_UP_CONNECT_REQ;
    m.u.connect_req.user_id = user;
    m.u.connect_req.password = rw_str(pw);
    m.u.connect_req.gnss_center_id = p->access;
    m.u.connect_req.down_link_ip = rw_str("127.0.0.1");
    m.u.connect_req.down_link_port = (uint16_t)down_port;
    lp_send(p, &m);
    if (lp_recv(p, &m, t_timeout_ms()) != 0)
        return -1;
    cr_assert_eq(m.h.msg_id, JT809_MSG_1002_UP_CONNECT_RSP);
    if (verify)
        *verify = m.u.connect_rsp.verify_code;
    return m.u.connect_rsp.result;
}

static int t_login_once(uint32_t user, const char *pw, uint32_t access, const char *from,
                        uint32_t *verify)
{
    struct lp *p = lp_new(access, JT809_ED_2011, 0);
    lp_connect(p, from);
    int r = lp_login(p, user, pw, 1, verify);
    lp_free(p);
    return r;
}

static int t_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 4), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

static int t_accept(int lfd, int timeout_ms)
{
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    if (poll(&pf, 1, timeout_ms) <= 0)
        return -1;
    return accept(lfd, NULL, NULL);
}

/* A logged-in lower platform (subordinate link refused: port 0 is never connected). */
static struct lp *lp_up(uint32_t user, uint16_t edition, int keys, int encrypt)
{
    struct lp *p = lp_new(ACC(user), edition, keys);
    p->encrypt = (uint8_t)encrypt;
    lp_connect(p, NULL);
    char pw[16];
    snprintf(pw, sizeof pw, "pw%u", user);
    uint32_t v = 0;
    cr_assert_eq(lp_login(p, user, pw, 0, &v), 0);
    cr_assert_neq(v, 0);
    return p;
}

/* ---------------------------------------------------------------------------------------
 * Store polling
 */

static uint32_t t_vid(const char *plate, uint8_t colour, int timeout_ms)
{
    int64_t end = t_now_ms() + timeout_ms;
    struct store_vehicle v;
    do {
        if (store_vehicle_by_plate(g_st, (const uint8_t *)plate, strlen(plate), colour, &v) == 0)
            return v.id;
        t_sleep_ms(20);
    } while (t_now_ms() < end);
    return 0;
}

static long t_track(uint32_t vid, int64_t from, int64_t to, struct store_pos *out, size_t max,
                    long want)
{
    int64_t end = t_now_ms() + t_timeout_ms();
    long n;
    do {
        n = store_track_read(g_st, vid, from, to, out, max);
        if (n >= want)
            return n;
        t_sleep_ms(20);
    } while (t_now_ms() < end);
    return n;
}

static void t_env(struct jt809_msg *m, uint16_t msg_id, const char *plate, uint16_t type)
{
    memset(m, 0, sizeof *m);
    m->h.msg_id = msg_id;
    m->env.has_vehicle = 1;
    m->env.vehicle_no = rw_str(plate);
    m->env.vehicle_color = 2;
    m->env.data_type = type;
}

static void t_gnss11(struct jt809_loc *l, int64_t t, uint32_t k)
{
    memset(l, 0, sizeof *l);
    l->edition = JT809_ED_2011;
    jt809_gnss11_set_time(&l->v11, t);
    l->v11.lon = 121041118 + k;
    l->v11.lat = 40816623 + k;
    l->v11.vec1 = (uint16_t)(60 + k);
    l->v11.vec2 = 58;
    l->v11.vec3 = 99561;
    l->v11.direction = 268;
    l->v11.altitude = 14;
    l->v11.state = 0x000C0003;
}

static void t_gnss19(struct jt809_loc *l, int64_t t)
{
    memset(l, 0, sizeof *l);
    l->edition = JT809_ED_2019;
    struct jt808_loc *x = &l->v19.loc;
    x->status = 0x004C0003;
    x->lat = 34479181;
    x->lon = 108630994;
    x->altitude_m = 501;
    x->speed_dkmh = 830;
    x->direction = 56;
    x->time = t;
    jt808_time_to_bcd(t, x->time_bcd);
    x->present = JT808_X_MILEAGE;
    x->mileage_hm = 123456;
}

static void t_check_point(const struct store_pos *p, uint8_t src)
{
    cr_assert_eq(p->src, src);
    cr_assert_eq(p->lat_e6, 40816623);
    cr_assert_eq(p->lon_e6, 121041118);
    cr_assert_eq(p->speed_dkmh, 600);
    cr_assert_eq(p->tacho_speed_dkmh, 580);
    cr_assert_eq(p->mileage_hm, 995610);
    cr_assert_eq(p->direction, 268);
}

TestSuite(link809, .init = setup, .fini = teardown, .timeout = 60);

/* ---------------------------------------------------------------------------------------
 * Login matrix, link test, disconnect
 */

Test(link809, login_matrix)
{
    uint32_t v = 0;
    cr_expect_eq(t_login_once(4242, "pw1001", ACC(U11), NULL, NULL), 3, "unknown user");
    cr_expect_eq(t_login_once(U11, "wrong", ACC(U11), NULL, NULL), 4, "wrong password");
    cr_expect_eq(t_login_once(U11, "pw1001", 9999, NULL, NULL), 2, "wrong access code");
    cr_expect_eq(t_login_once(UIP, "pw1003", ACC(UIP), "127.0.0.1", NULL), 1, "source IP");
    cr_expect_eq(t_login_once(UIP, "pw1003", ACC(UIP), "127.0.0.2", &v), 0, "allowed IP");
    cr_expect_neq(v, 0);
    v = 0;
    cr_expect_eq(t_login_once(U11, "pw1001", ACC(U11), NULL, &v), 0, "all right");
    cr_expect_neq(v, 0);
    struct link809_metrics mt;
    link809_metrics_get(g_l, &mt);
    cr_expect_eq(mt.logins_ok, 2);
    cr_expect_eq(mt.logins_failed[1], 1);
    cr_expect_eq(mt.logins_failed[2], 1);
    cr_expect_eq(mt.logins_failed[3], 1);
    cr_expect_eq(mt.logins_failed[4], 1);
}

Test(link809, failed_login_closes)
{
    struct lp *p = lp_new(ACC(U11), JT809_ED_2011, 0);
    lp_connect(p, NULL);
    cr_assert_eq(lp_login(p, U11, "nope", 0, NULL), 4);
    cr_assert(lp_closed(p, t_timeout_ms()));
    lp_free(p);
}

Test(link809, encrypted_login_2019)
{
    struct lp *p = lp_up(U19, JT809_ED_2019, 1, 1);
    lp_free(p);
}

Test(link809, linktest_and_disconnect)
{
    struct lp *p = lp_up(U11, JT809_ED_2011, 0, 0);
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1005_UP_LINKTEST_REQ;
    lp_send(p, &m);
    cr_assert_eq(lp_recv(p, &m, t_timeout_ms()), 0);
    cr_assert_eq(m.h.msg_id, JT809_MSG_1006_UP_LINKTEST_RSP);
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1003_UP_DISCONNECT_REQ;
    m.u.disconnect_req.user_id = U11;
    m.u.disconnect_req.password = rw_str("pw1001");
    lp_send(p, &m);
    cr_assert_eq(lp_recv(p, &m, t_timeout_ms()), 0);
    cr_assert_eq(m.h.msg_id, JT809_MSG_1004_UP_DISCONNECT_RSP);
    cr_assert(lp_closed(p, t_timeout_ms()));
    lp_free(p);
}

/* The subordinate link: 0x9001 with the verify code of the 0x1002, then 0x9005 tests. */
Test(link809, subordinate_link)
{
    int port;
    int lfd = t_listen(&port);
    struct lp *p = lp_new(ACC(U11), JT809_ED_2011, 0);
    lp_connect(p, NULL);
    uint32_t verify = 0;
    cr_assert_eq(lp_login(p, U11, "pw1001", port, &verify), 0);
    int sfd = t_accept(lfd, t_timeout_ms());
    cr_assert_geq(sfd, 0, "no subordinate link");
    struct lp *s = lp_new(ACC(U11), JT809_ED_2011, 0);
    s->fd = sfd;
    struct jt809_msg m;
    cr_assert_eq(lp_recv(s, &m, t_timeout_ms()), 0);
    cr_assert_eq(m.h.msg_id, JT809_MSG_9001_DOWN_CONNECT_REQ);
    cr_assert_eq(m.u.verify_code, verify);
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_9002_DOWN_CONNECT_RSP;
    m.u.code = 0;
    lp_send(s, &m);
    cr_assert_eq(lp_recv(s, &m, t_timeout_ms()), 0); /* period 1 s (RW_JT809_LINKTEST_S) */
    cr_assert_eq(m.h.msg_id, JT809_MSG_9005_DOWN_LINKTEST_REQ);
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_9006_DOWN_LINKTEST_RSP;
    lp_send(s, &m);
    struct link809_metrics mt;
    int64_t end = t_now_ms() + t_timeout_ms();
    do {
        link809_metrics_get(g_l, &mt);
    } while (mt.sub_up == 0 && t_now_ms() < end);
    cr_assert_eq(mt.sub_up, 1);
    lp_free(s);
    lp_free(p);
    close(lfd);
}

/* ---------------------------------------------------------------------------------------
 * Positions, registration, alarms
 */

Test(link809, position_2011_plain)
{
    struct lp *p = lp_up(U11, JT809_ED_2011, 0, 0);
    int64_t t = time(NULL) - 60;
    struct jt809_msg m;
    t_env(&m, JT809_MSG_1200_UP_EXG_MSG, "TEST11A", JT809_SUB_1202_REAL_LOCATION);
    t_gnss11(&m.u.loc, t, 0);
    lp_send(p, &m);
    uint32_t vid = t_vid("TEST11A", 2, t_timeout_ms());
    cr_assert_neq(vid, 0, "vehicle not enrolled");
    struct store_pos pts[4];
    cr_assert_eq(t_track(vid, t - 10, t + 10, pts, 4, 1), 1);
    t_check_point(&pts[0], STORE_SRC_809_LIVE);
    cr_assert_eq(pts[0].gnss_time, t);
    struct live_slot s;
    cr_assert_eq(live_slot_read(g_lv, vid, &s), 0);
    cr_assert_eq(s.gnss_time, t);
    cr_assert_eq(s.lat_e6, 40816623);
    lp_free(p);
}

Test(link809, position_2011_encrypted)
{
    struct lp *p = lp_up(U11K, JT809_ED_2011, 1, 1);
    int64_t t = time(NULL) - 120;
    struct jt809_msg m;
    t_env(&m, JT809_MSG_1200_UP_EXG_MSG, "TEST11E", JT809_SUB_1202_REAL_LOCATION);
    t_gnss11(&m.u.loc, t, 0);
    lp_send(p, &m);
    uint32_t vid = t_vid("TEST11E", 2, t_timeout_ms());
    cr_assert_neq(vid, 0);
    struct store_pos pts[4];
    cr_assert_eq(t_track(vid, t - 10, t + 10, pts, 4, 1), 1);
    t_check_point(&pts[0], STORE_SRC_809_LIVE);
    lp_free(p);
}

static void t_position_2019(int encrypt, const char *plate)
{
    struct lp *p = lp_up(U19, JT809_ED_2019, 1, encrypt);
    int64_t t = time(NULL) - 30;
    struct jt809_msg m;
    t_env(&m, JT809_MSG_1200_UP_EXG_MSG, plate, JT809_SUB_1202_REAL_LOCATION);
    t_gnss19(&m.u.loc, t);
    lp_send(p, &m);
    uint32_t vid = t_vid(plate, 2, t_timeout_ms());
    cr_assert_neq(vid, 0);
    struct store_pos pts[4];
    cr_assert_eq(t_track(vid, t - 10, t + 10, pts, 4, 1), 1);
    cr_assert_eq(pts[0].src, STORE_SRC_809_LIVE);
    cr_assert_eq(pts[0].lat_e6, 34479181);
    cr_assert_eq(pts[0].lon_e6, 108630994);
    cr_assert_eq(pts[0].speed_dkmh, 830);
    cr_assert_eq(pts[0].mileage_hm, 123456);
    cr_assert_eq(pts[0].gnss_time, t);
    lp_free(p);
}

Test(link809, position_2019_plain)
{
    t_position_2019(0, "TEST19P");
}

Test(link809, position_2019_encrypted)
{
    t_position_2019(1, "TEST19E");
}

Test(link809, reupload_2011)
{
    struct lp *p = lp_up(U11, JT809_ED_2011, 0, 0);
    int64_t t = time(NULL) - 3600;
    struct jt809_msg m;
    t_env(&m, JT809_MSG_1200_UP_EXG_MSG, "TESTREUP", JT809_SUB_1203_HISTORY_LOCATION);
    m.u.his.cnt = 3;
    for (unsigned i = 0; i < 3; i++)
        t_gnss11(&m.u.his.loc[i], t + 30 * i, 0);
    lp_send(p, &m);
    uint32_t vid = t_vid("TESTREUP", 2, t_timeout_ms());
    cr_assert_neq(vid, 0);
    struct store_pos pts[8];
    cr_assert_eq(t_track(vid, t - 10, t + 100, pts, 8, 3), 3);
    for (int i = 0; i < 3; i++) {
        t_check_point(&pts[i], STORE_SRC_809_REUP);
        cr_assert_eq(pts[i].gnss_time, t + 30 * i);
    }
    lp_free(p);
}

Test(link809, reupload_2019_encrypted)
{
    struct lp *p = lp_up(U19, JT809_ED_2019, 1, 1);
    int64_t t = time(NULL) - 7200;
    struct jt809_msg m;
    t_env(&m, JT809_MSG_1200_UP_EXG_MSG, "TEST19R", JT809_SUB_1203_HISTORY_LOCATION);
    m.u.his.cnt = 5;
    for (unsigned i = 0; i < 5; i++)
        t_gnss19(&m.u.his.loc[i], t + 10 * i);
    lp_send(p, &m);
    uint32_t vid = t_vid("TEST19R", 2, t_timeout_ms());
    cr_assert_neq(vid, 0);
    struct store_pos pts[8];
    cr_assert_eq(t_track(vid, t - 10, t + 100, pts, 8, 5), 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(pts[i].src, STORE_SRC_809_REUP);
    lp_free(p);
}

Test(link809, registration_2011)
{
    struct lp *p = lp_up(U11, JT809_ED_2011, 0, 0);
    struct jt809_msg m;
    t_env(&m, JT809_MSG_1200_UP_EXG_MSG, "TESTREG", JT809_SUB_1201_REGISTER);
    m.u.reg.platform_id = rw_str("350102");
    m.u.reg.producer_id = rw_str("70504");
    m.u.reg.model = rw_str("M1");
    m.u.reg.terminal_id = rw_str("T123456");
    m.u.reg.sim = rw_str("064836238508");
    lp_send(p, &m);
    uint32_t vid = t_vid("TESTREG", 2, t_timeout_ms());
    cr_assert_neq(vid, 0);
    struct store_vehicle v;
    int64_t end = t_now_ms() + t_timeout_ms();
    do {
        cr_assert_eq(store_vehicle_get(g_st, vid, &v), 0);
    } while (strcmp(v.sim, "064836238508") != 0 && t_now_ms() < end);
    cr_assert_str_eq(v.sim, "064836238508");
    cr_assert_str_eq(v.terminal_id, "T123456");
    cr_assert_eq(v.platform_id, U11);
    lp_free(p);
}

Test(link809, alarm_2011_and_result)
{
    struct lp *p = lp_up(U11, JT809_ED_2011, 0, 0);
    int64_t t = time(NULL) - 300;
    struct jt809_msg m;
    t_env(&m, JT809_MSG_1400_UP_WARN_MSG, "TESTALM", JT809_SUB_1402_ADPT_INFO);
    m.u.warn.layout = JT809_WARN_2011;
    m.u.warn.warn_src = 1;
    m.u.warn.warn_type = 0x0001;
    m.u.warn.warn_time = (uint64_t)t;
    m.u.warn.info_id = 77;
    m.u.warn.info_content = rw_str("overspeed");
    lp_send(p, &m);
    uint32_t vid = t_vid("TESTALM", 2, t_timeout_ms());
    cr_assert_neq(vid, 0);
    struct store_alarm a[4];
    long n = 0;
    int64_t end = t_now_ms() + t_timeout_ms();
    while ((n = store_alarm_by_vehicle(g_st, vid, t - 10, t + 10, a, 4)) < 1 &&
           t_now_ms() < end)
        t_sleep_ms(20);
    cr_assert_eq(n, 1);
    cr_assert_eq(a[0].type, 0x0001);
    cr_assert_eq(a[0].source, 2);
    cr_assert_eq(a[0].start_time, t);
    /* 0x1403: the handling result of INFO_ID 77: done. */
    t_env(&m, JT809_MSG_1400_UP_WARN_MSG, "TESTALM", JT809_SUB_1403_ADPT_TODO_INFO);
    m.u.warn.layout = JT809_WARN_2011;
    m.u.warn.info_id = 77;
    m.u.warn.result = 1;
    lp_send(p, &m);
    struct store_alarm_event ev[4];
    end = t_now_ms() + t_timeout_ms();
    while ((n = store_alarm_events(g_st, a[0].id, ev, 4)) < 1 && t_now_ms() < end)
        t_sleep_ms(20);
    cr_assert_eq(n, 1);
    cr_assert_eq(ev[0].state, LINK809_ALARM_ST_DONE);
    cr_assert_eq(ev[0].operator_id, U11);
    lp_free(p);
}

Test(link809, alarm_2019)
{
    struct lp *p = lp_up(U19, JT809_ED_2019, 1, 0);
    int64_t t = time(NULL) - 200;
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1400_UP_WARN_MSG;
    m.env.data_type = JT809_SUB_1402_ADPT_INFO;
    m.u.warn.layout = JT809_WARN_2019;
    m.u.warn.source_platform_id = rw_str("JC2020PT088");
    m.u.warn.warn_type = 0xA001;
    m.u.warn.warn_time = m.u.warn.start_time = (uint64_t)t;
    m.u.warn.end_time = (uint64_t)t + 60;
    m.u.warn.vehicle_no = rw_str("TEST19A");
    m.u.warn.vehicle_color = 2;
    m.u.warn.info_content = rw_str("parking");
    lp_send(p, &m);
    uint32_t vid = t_vid("TEST19A", 2, t_timeout_ms());
    cr_assert_neq(vid, 0);
    struct store_alarm a[4];
    long n = 0;
    int64_t end = t_now_ms() + t_timeout_ms();
    while ((n = store_alarm_by_vehicle(g_st, vid, t - 10, t + 10, a, 4)) < 1 &&
           t_now_ms() < end)
        t_sleep_ms(20);
    cr_assert_eq(n, 1);
    cr_assert_eq(a[0].type, 0xA001);
    cr_assert_eq(a[0].end_time, t + 60);
    lp_free(p);
}

/* Raw log: the frames of a logged-in link, in and out, with the password redacted. */
struct t_raw { int in, out, login_redacted; };

static int t_raw_cb(const struct store_raw *r, void *ctx)
{
    struct t_raw *c = ctx;
    cr_assert_eq(r->proto, STORE_PROTO_809);
    if (r->dir == STORE_DIR_IN)
        c->in++;
    else
        c->out++;
    if (r->frame.len > 30 && r->frame.p[8] == 0x10 && r->frame.p[9] == 0x01) {
        static const uint8_t zero[8];
        c->login_redacted = memcmp(r->frame.p + 22 + 4, zero, 8) == 0;
    }
    return 0;
}

Test(link809, raw_log)
{
    struct lp *p = lp_up(U11, JT809_ED_2011, 0, 0);
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1005_UP_LINKTEST_REQ;
    lp_send(p, &m);
    cr_assert_eq(lp_recv(p, &m, t_timeout_ms()), 0);
    int64_t now = (int64_t)time(NULL) * 1000;
    struct t_raw c = {0, 0, 0};
    int64_t end = t_now_ms() + t_timeout_ms();
    do {
        memset(&c, 0, sizeof c);
        store_raw_read(g_st, now - 60000, now + 60000, 0, 0, t_raw_cb, &c);
        if (c.in >= 2 && c.out >= 2)
            break;
        t_sleep_ms(20);
    } while (t_now_ms() < end);
    cr_assert_eq(c.in, 2, "0x1001 and 0x1005");
    cr_assert_eq(c.out, 2, "0x1002 and 0x1006");
    cr_assert(c.login_redacted);
    lp_free(p);
}

/* ---------------------------------------------------------------------------------------
 * Hostile input before login
 */

Test(link809, garbage_and_flood_before_login)
{
    struct lp *p = lp_new(ACC(U11), JT809_ED_2011, 0);
    lp_connect(p, NULL);
    struct jt809_msg m;
    int64_t t = time(NULL) - 60;
    for (int i = 0; i < 20; i++) {
        t_env(&m, JT809_MSG_1200_UP_EXG_MSG, "FLOOD01", JT809_SUB_1202_REAL_LOCATION);
        t_gnss11(&m.u.loc, t + i, 0);
        m.h.msg_sn = 0;
        static uint8_t wire[1024];
        m.h.msg_sn = p->sn++;
        m.h.gnss_center_id = p->access;
        m.h.edition = JT809_ED_2011;
        m.sub_known = 1;
        int n = jt809_encode(&m, &p->peer, wire, sizeof wire);
        cr_assert_gt(n, 0);
        if (send(p->fd, wire, (size_t)n, MSG_NOSIGNAL) <= 0)
            break; /* closed already: fine */
    }
    cr_assert(lp_closed(p, t_timeout_ms()), "flood not closed");
    lp_free(p);
    /* Pure garbage: bytes without flags, then frames with a bad CRC. */
    p = lp_new(ACC(U11), JT809_ED_2011, 0);
    lp_connect(p, NULL);
    uint8_t junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7 + 1) == 0x5B ? 0 : (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof junk; i++)
        if (junk[i] == 0x5B || junk[i] == 0x5D)
            junk[i] = 0x11;
    send(p->fd, junk, sizeof junk, MSG_NOSIGNAL);
    cr_assert(lp_closed(p, t_timeout_ms()), "garbage not closed");
    lp_free(p);
    t_sleep_ms(100);
    struct store_vehicle v;
    cr_assert_eq(store_vehicle_by_plate(g_st, (const uint8_t *)"FLOOD01", 7, 2, &v), -ENOENT);
    struct link809_metrics mt;
    link809_metrics_get(g_l, &mt);
    cr_assert_eq(mt.positions, 0);
    cr_assert_geq(mt.frames_unauth, LINK809_PRELOGIN_JUNK_MAX);
    struct t_raw c = {0, 0, 0};
    int64_t now = (int64_t)time(NULL) * 1000;
    store_raw_read(g_st, now - 60000, now + 60000, 0, 0, t_raw_cb, &c);
    cr_assert_eq(c.in + c.out, 0, "nothing reaches the raw log before login");
}

/* A second login of the same account replaces the first link. */
Test(link809, relogin_replaces)
{
    struct lp *a = lp_up(U11, JT809_ED_2011, 0, 0);
    struct lp *b = lp_up(U11, JT809_ED_2011, 0, 0);
    cr_assert(lp_closed(a, t_timeout_ms()));
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1005_UP_LINKTEST_REQ;
    lp_send(b, &m);
    cr_assert_eq(lp_recv(b, &m, t_timeout_ms()), 0);
    cr_assert_eq(m.h.msg_id, JT809_MSG_1006_UP_LINKTEST_RSP);
    lp_free(a);
    lp_free(b);
}

/* DOWN_LINK_IP neither loopback nor the source address: never connected, 0x9007 sent. */
Test(link809, subordinate_address_refused)
{
    struct lp *p = lp_new(ACC(U11), JT809_ED_2011, 0);
    lp_connect(p, NULL);
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1001_UP_CONNECT_REQ;
    m.u.connect_req.user_id = U11;
    m.u.connect_req.password = rw_str("pw1001");
    m.u.connect_req.down_link_ip = rw_str("192.0.2.1");
    m.u.connect_req.down_link_port = 9999;
    lp_send(p, &m);
    cr_assert_eq(lp_recv(p, &m, t_timeout_ms()), 0);
    cr_assert_eq(m.h.msg_id, JT809_MSG_1002_UP_CONNECT_RSP);
    cr_assert_eq(m.u.connect_rsp.result, 0);
    cr_assert_eq(lp_recv(p, &m, t_timeout_ms()), 0);
    cr_assert_eq(m.h.msg_id, JT809_MSG_9007_DOWN_DISCONNECT_INFORM);
    cr_assert_eq(m.u.code, 0);
    struct link809_metrics mt;
    link809_metrics_get(g_l, &mt);
    cr_assert_eq(mt.sub_refused, 1);
    cr_assert_eq(mt.links_up, 1);
    lp_free(p);
}

static struct lp *lp_up(uint32_t user, uint16_t edition, int keys, int encrypt);

/* Closes <p> and logs in again as <user> (2019, encrypted). */
static struct lp *t_relogin(struct lp *p, uint32_t user)
{
    lp_free(p);
    return lp_up(user, JT809_ED_2019, 1, 1);
}

/* Well-framed hostile bodies after login (random DATA for every sub-type handled, random
 * link bodies): nothing crashes, the link stays up while under bad_frames_max. */
Test(link809, hostile_bodies_after_login)
{
    struct lp *p = lp_up(U19, JT809_ED_2019, 1, 1);
    static const uint16_t types[][2] = {
        {0x1200, 0x1201}, {0x1200, 0x1202}, {0x1200, 0x1203}, {0x1400, 0x1401},
        {0x1400, 0x1402}, {0x1400, 0x1403}, {0x1400, 0x1411}, {0x1400, 0x1412},
        {0x1600, 0x1601}, {0x1300, 0x1301}, {0x1300, 0x1302}, {0x1500, 0x1501}};
    uint8_t data[300];
    unsigned seed = 809;
    /* 12 pairs would exceed bad_frames_max (16) and close the link: two rounds of 6. */
    for (int i = 0; i < 12; i++) {
        if (i == 6) {
            p = t_relogin(p, U19);
        }
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof data);
        for (size_t j = 0; j < len; j++)
            data[j] = (uint8_t)rand_r(&seed);
        struct jt809_msg m;
        t_env(&m, types[i][0], "HOSTILE", types[i][1]);
        m.env.data = rw_bytes_of(data, len);
        m.env.data_length = (uint32_t)len;
        m.env.has_vehicle = types[i][0] != 0x1300 && types[i][0] != 0x1400;
        lp_send_x(p, &m, 0);
        uint16_t id = (uint16_t)(0x1002 + i % 6); /* 0x1002..0x1007: no close request */
        if (id == JT809_MSG_1003_UP_DISCONNECT_REQ)
            continue;
        memset(&m, 0, sizeof m);
        m.h.msg_id = id;
        m.body = rw_bytes_of(data, len % 64);
        lp_send_x(p, &m, 0);
    }
    struct jt809_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT809_MSG_1005_UP_LINKTEST_REQ;
    lp_send(p, &m);
    int got = 0;
    while (!got && lp_recv(p, &m, t_timeout_ms()) == 0)
        got = m.h.msg_id == JT809_MSG_1006_UP_LINKTEST_RSP;
    cr_assert(got, "link test not answered after hostile bodies");
    lp_free(p);
}
