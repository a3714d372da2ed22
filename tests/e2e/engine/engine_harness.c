/* engine_harness.c: see engine_harness.h. */
#include "tests/e2e/engine/engine_harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"

int harness_timeout_s(void)
{
    const char *s = getenv("RW_TEST_TIMEOUT");
    int v = s ? (int)strtol(s, NULL, 10) : 0;
    return v > 0 ? v : 10;
}

static int eng_try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* A port free for both TCP and UDP right now, chosen by the kernel (a small race with
 * other programs remains; eng_start retries). */
static int eng_free_port(void)
{
    for (int tries = 0; tries < 32; tries++) {
        int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        int port = -1;
        if (bind(t, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(t, (struct sockaddr *)&a, &len) == 0 &&
            bind(u, (struct sockaddr *)&a, sizeof a) == 0)
            port = ntohs(a.sin_port);
        close(t);
        close(u);
        if (port > 0)
            return port;
    }
    cr_assert_fail("no free port");
    return -1;
}

static void eng_write_conf(struct eng *e)
{
    FILE *f = fopen(e->conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "global\n  data_dir %s\n  workers 2\n  log_level warn\n", e->data);
    fprintf(f, "jt808\n  tcp 127.0.0.1:%d\n  udp 127.0.0.1:%d\n", e->port, e->port);
    fprintf(f, "jt809\n  tcp \"\"\nlive\n  path %s\n  max_vehicles 100000\n", e->live);
    fputs(e->extra, f);
    fclose(f);
}

static int eng_spawn(struct eng *e)
{
    const char *bin = getenv("RW_BIN");
    cr_assert_not_null(bin, "RW_BIN must point at the roadwatch binary");
    eng_write_conf(e);
    e->pid = fork();
    cr_assert_geq(e->pid, 0);
    if (e->pid == 0) {
        execl(bin, bin, "serve", "-c", e->conf, (char *)NULL);
        _exit(127);
    }
    int64_t deadline = time(NULL) + harness_timeout_s();
    while (time(NULL) < deadline) {
        int st;
        if (waitpid(e->pid, &st, WNOHANG) == e->pid)
            return -1; /* exited: most likely the port was taken */
        if (eng_try_connect(e->port))
            return 0;
        usleep(20000);
    }
    kill(e->pid, SIGKILL);
    waitpid(e->pid, NULL, 0);
    return -1;
}

void eng_start(struct eng *e, const char *extra)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/rw-e2e-XXXXXX");
    cr_assert_not_null(mkdtemp(e->dir));
    snprintf(e->conf, sizeof e->conf, "%s/engine.conf", e->dir);
    snprintf(e->data, sizeof e->data, "%s/data", e->dir);
    snprintf(e->live, sizeof e->live, "%s/live", e->dir);
    snprintf(e->extra, sizeof e->extra, "%s", extra ? extra : "");
    for (int attempt = 0; attempt < 8; attempt++) {
        e->port = eng_free_port();
        if (eng_spawn(e) == 0)
            return;
    }
    cr_assert_fail("the engine did not start (see its stderr above)");
}

void eng_restart(struct eng *e)
{
    /* After kill -9 the kernel tears the dead engine's io_uring down asynchronously, and
     * until it has, its listening sockets (held by the pending multishot accepts) still
     * take connections on the shared SO_REUSEPORT port and reset them later. Wait until
     * nothing accepts on the port any more. */
    for (int i = 0; i < 500 && eng_try_connect(e->port); i++)
        usleep(10000);
    cr_assert_eq(eng_spawn(e), 0, "the engine did not restart");
}

int eng_stop(struct eng *e, int sig)
{
    if (e->pid <= 0)
        return -1;
    kill(e->pid, sig);
    int st = 0;
    waitpid(e->pid, &st, 0);
    e->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void eng_cleanup(struct eng *e)
{
    if (e->pid > 0) {
        int st = eng_stop(e, SIGKILL);
        if (st != 128 + SIGKILL)
            fprintf(stderr, "harness: the engine had already exited with status %d\n", st);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", e->dir);
}

/* ------------------------------------------------------------------------------------- */

void term_open(struct term *t, int port, int udp, uint16_t edition, const char *phone)
{
    memset(t, 0, sizeof *t);
    t->udp = udp;
    t->edition = edition;
    snprintf(t->phone, sizeof t->phone, "%s", phone);
    t->fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    cr_assert_geq(t->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(t->fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
    jt808_framer_init(&t->fr);
}

void term_close(struct term *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

void term_send_bytes(struct term *t, const void *p, size_t n)
{
    ssize_t w = send(t->fd, p, n, MSG_NOSIGNAL);
    if (!t->lenient)
        cr_assert_eq(w, (ssize_t)n, "send: %s", strerror(errno));
}

uint16_t term_send(struct term *t, struct jt808_msg *m)
{
    m->h.edition = t->edition == JT808_ED_2019 ? JT808_ED_2019 : JT808_ED_2013;
    m->h.proto_ver = t->edition == JT808_ED_2019 ? 1 : 0;
    m->h.serial = t->serial++;
    cr_assert_eq(jt808_phone_set(&m->h, t->phone), 0);
    uint8_t wire[JT808_WIRE_MAX];
    int n = jt808_encode(m, wire, sizeof wire);
    cr_assert_gt(n, 0, "encode: %s", err_str(n));
    term_send_bytes(t, wire, (size_t)n);
    return m->h.serial;
}

int64_t harness_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int term_recv(struct term *t, struct jt808_msg *m, int ms)
{
    int64_t end = harness_ms() + ms;
    for (;;) {
        while (t->rpos < t->rhave) {
            int st;
            t->rpos += jt808_framer_feed(&t->fr, t->rbuf + t->rpos, t->rhave - t->rpos, &st);
            if (st == 1) {
                t->raw_len = t->fr.len;
                memcpy(t->raw, t->fr.buf, t->fr.len);
                cr_assert_eq(jt808_frame_parse(t->raw, t->raw_len, m), 0);
                return 1;
            }
        }
        int64_t left = end - harness_ms();
        struct pollfd p = {.fd = t->fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return 0;
        ssize_t r = recv(t->fd, t->rbuf, sizeof t->rbuf, 0);
        if (r <= 0)
            return -1;
        t->rhave = (size_t)r;
        t->rpos = 0;
    }
}

static void term_register(struct term *t, const char *plate_gbk, uint8_t color)
{
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0100_REGISTER;
    struct jt808_register *r = &m.u.reg;
    r->edition = t->edition;
    r->province = 44;
    r->city = 303;
    r->maker = rw_str(t->edition == JT808_ED_2019 ? "44030070111" : "70111");
    r->model = rw_str("RW-TEST");
    r->term_id = rw_str("T000001");
    r->plate_color = color;
    r->plate = rw_str(plate_gbk);
    uint16_t serial = term_send(t, &m);
    struct jt808_msg a;
    int got = term_recv(t, &a, harness_timeout_s() * 1000);
    cr_assert_eq(got, 1, "no 0x8100 (%s)", got < 0 ? "connection closed" : "timeout");
    cr_assert_eq(a.h.msg_id, JT808_MSG_8100_REGISTER_RSP);
    cr_assert_eq(a.u.reg_rsp.ack_serial, serial);
    cr_assert_eq(a.u.reg_rsp.result, JT808_REG_OK, "register result %u", a.u.reg_rsp.result);
    cr_assert_gt(a.u.reg_rsp.auth_code.len, 0);
    cr_assert_lt(a.u.reg_rsp.auth_code.len, sizeof t->code);
    memcpy(t->code, a.u.reg_rsp.auth_code.p, a.u.reg_rsp.auth_code.len);
    t->code[a.u.reg_rsp.auth_code.len] = 0;
}

void term_login(struct term *t, const char *plate_gbk, uint8_t color)
{
    term_register(t, plate_gbk, color);
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0102_AUTH;
    m.u.auth.code = rw_str(t->code);
    m.u.auth.imei = rw_str("860000000000001");
    m.u.auth.sw_ver = rw_str("1.0.0");
    uint16_t serial = term_send(t, &m);
    struct jt808_msg a;
    cr_assert_eq(term_recv(t, &a, harness_timeout_s() * 1000), 1, "no answer to 0x0102");
    cr_assert_eq(a.h.msg_id, JT808_MSG_8001_PLAT_RSP);
    cr_assert_eq(a.u.gen_rsp.ack_serial, serial);
    cr_assert_eq(a.u.gen_rsp.ack_id, JT808_MSG_0102_AUTH);
    cr_assert_eq(a.u.gen_rsp.result, JT808_RES_OK, "auth result %u", a.u.gen_rsp.result);
}

void term_loc(struct jt808_loc *l, int64_t utc, uint32_t k)
{
    memset(l, 0, sizeof *l);
    l->status = JT808_ST_ACC | JT808_ST_FIX | JT808_ST_GPS;
    l->lat = 30000000 + k * 91;
    l->lon = 114000000 + k * 77;
    l->altitude_m = (uint16_t)(10 + k % 50);
    l->speed_dkmh = (uint16_t)(k * 7 % 900);
    l->direction = (uint16_t)(k % 360);
    cr_assert_eq(jt808_time_to_bcd(utc, l->time_bcd), 0);
    l->present = JT808_X_MILEAGE | JT808_X_SATS;
    l->mileage_hm = 1000 + k;
    l->sats = 9;
}

uint16_t term_report(struct term *t, int64_t utc, uint32_t k)
{
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0200_LOCATION;
    term_loc(&m.u.loc, utc, k);
    return term_send(t, &m);
}

int term_collect_acks(struct term *t, uint8_t *acked, int want, int ms)
{
    int got = 0;
    int64_t end = harness_ms() + ms;
    while (got < want) {
        int64_t left = end - harness_ms();
        if (left <= 0)
            break;
        struct jt808_msg a;
        int r = term_recv(t, &a, (int)left);
        if (r <= 0)
            break;
        if (a.h.msg_id != JT808_MSG_8001_PLAT_RSP)
            continue;
        if (a.u.gen_rsp.ack_id != JT808_MSG_0200_LOCATION &&
            a.u.gen_rsp.ack_id != JT808_MSG_0704_BATCH)
            continue;
        cr_assert_eq(a.u.gen_rsp.result, JT808_RES_OK);
        if (!acked[a.u.gen_rsp.ack_serial])
            got++;
        acked[a.u.gen_rsp.ack_serial] = 1;
    }
    return got;
}
