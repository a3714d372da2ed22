/* peer_test.c: the simulator against a small test platform (this file) over loopback TCP.
 * The peer registers and authenticates terminals with the codec, acknowledges reports,
 * withholds the first ack of each connection (the terminal must resend the same serial,
 * byte for byte) and cuts every terminal's first connection after a few reports (the
 * terminal must come back with 0x0102 only and upload its blind-area data as 0x0704
 * type 1). Every frame the simulator sends must decode with the codec. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/load/sim.h"
#include "engine/proto/jt808.h"

#define PEER_CONNS 64

struct peer_conn {
    int fd;
    unsigned reports;
    int withheld;                 /* serial of the withheld report, or -1 */
    uint8_t withheld_frame[256];
    size_t withheld_len;
    struct jt808_framer fr;
};

static struct peer {
    int lfd;
    uint16_t port;
    volatile int stop;
    struct peer_conn c[PEER_CONNS];
    unsigned n;
    /* What the simulator did. */
    unsigned registers, auths, reports, batches_type1, batch_items, resends_same, bad;
    unsigned accepted;
    uint16_t serial;
    int silent;                   /* never answer 0x0200 / 0x0704 (and never cut links) */
} P;

static void peer_send(struct peer_conn *c, struct jt808_msg *m)
{
    uint8_t buf[JT808_WIRE_MAX];
    int len = jt808_encode(m, buf, sizeof buf);
    if (len > 0 && send(c->fd, buf, (size_t)len, MSG_NOSIGNAL) < 0)
        P.bad++;
}

static void peer_ack(struct peer_conn *c, const struct jt808_msg *req)
{
    struct jt808_msg a;
    jt808_make_gen_rsp(&a, &req->h, P.serial++, JT808_RES_OK);
    peer_send(c, &a);
}

static void peer_report(struct peer_conn *c, const struct jt808_msg *m, const uint8_t *raw,
                        size_t n)
{
    P.reports++;
    if (P.silent)
        return;
    if (c->withheld == m->h.serial && n == c->withheld_len &&
        memcmp(raw, c->withheld_frame, n) == 0) {
        P.resends_same++;
        c->withheld = -2;
    } else if (c->withheld == -1 && n <= sizeof c->withheld_frame) {
        c->withheld = m->h.serial; /* no ack: the terminal must resend it */
        memcpy(c->withheld_frame, raw, n);
        c->withheld_len = n;
        return;
    }
    c->reports++;
    peer_ack(c, m);
}

static void peer_msg(struct peer_conn *c, struct jt808_msg *m, const uint8_t *raw, size_t n)
{
    switch (m->h.msg_id) {
    case JT808_MSG_0100_REGISTER: {
        P.registers++;
        struct jt808_msg r;
        memset(&r, 0, sizeof r);
        r.h = m->h;
        r.h.msg_id = JT808_MSG_8100_REGISTER_RSP;
        r.h.serial = P.serial++;
        r.u.reg_rsp.ack_serial = m->h.serial;
        r.u.reg_rsp.auth_code = (struct rw_bytes){(const uint8_t *)"AUTH", 4};
        peer_send(c, &r);
        break;
    }
    case JT808_MSG_0102_AUTH:
        P.auths++;
        if (m->u.auth.code.len != 4 || memcmp(m->u.auth.code.p, "AUTH", 4) != 0)
            P.bad++;
        peer_ack(c, m);
        break;
    case JT808_MSG_0200_LOCATION: peer_report(c, m, raw, n); break;
    case JT808_MSG_0704_BATCH:
        if (m->u.batch.type == 1)
            P.batches_type1++;
        P.batch_items += m->u.batch.count;
        if (!P.silent)
            peer_ack(c, m);
        break;
    default: peer_ack(c, m); break;
    }
}

/* Reads one connection; returns 0 when it must be closed. */
static int peer_read(struct peer_conn *c)
{
    uint8_t buf[8192], raw[JT808_WIRE_MAX];
    ssize_t k = recv(c->fd, buf, sizeof buf, 0);
    if (k <= 0)
        return 0;
    const uint8_t *p = buf;
    size_t n = (size_t)k;
    while (n > 0) {
        int status;
        size_t used = jt808_framer_feed(&c->fr, p, n, &status);
        /* Keep the wire bytes of this frame to compare retransmissions byte for byte. */
        size_t wl = 0;
        if (status == 1 && jt808_escape(c->fr.buf, c->fr.len, raw, sizeof raw) >= 0)
            wl = (size_t)jt808_escape(c->fr.buf, c->fr.len, raw, sizeof raw);
        p += used;
        n -= used;
        if (status < 0)
            P.bad++;
        if (status != 1)
            continue;
        struct jt808_msg m;
        if (jt808_framer_parse(&c->fr, &m) != 0) {
            P.bad++;
            continue;
        }
        peer_msg(c, &m, raw, wl);
    }
    /* Cut each terminal's first connection after three acknowledged reports. */
    return P.silent || !(c->reports >= 3 && c->withheld == -2 && P.accepted <= PEER_CONNS / 2 &&
             c->fd >= 0 && c - P.c < 8);
}

static void *peer_main(void *arg)
{
    (void)arg;
    while (!P.stop) {
        struct pollfd pf[PEER_CONNS + 1];
        pf[0] = (struct pollfd){.fd = P.lfd, .events = POLLIN};
        for (unsigned i = 0; i < P.n; i++)
            pf[i + 1] = (struct pollfd){.fd = P.c[i].fd, .events = POLLIN};
        if (poll(pf, P.n + 1, 50) <= 0)
            continue;
        if ((pf[0].revents & POLLIN) && P.n < PEER_CONNS) {
            int fd = accept(P.lfd, NULL, NULL);
            if (fd >= 0) {
                P.c[P.n] = (struct peer_conn){.fd = fd, .withheld = -1};
                jt808_framer_init(&P.c[P.n].fr);
                P.n++;
                P.accepted++;
            }
        }
        for (unsigned i = 0; i < P.n; i++)
            if (P.c[i].fd >= 0 && (pf[i + 1].revents & (POLLIN | POLLHUP)) &&
                !peer_read(&P.c[i])) {
                close(P.c[i].fd);
                P.c[i].fd = -1;
            }
    }
    for (unsigned i = 0; i < P.n; i++)
        if (P.c[i].fd >= 0)
            close(P.c[i].fd);
    return NULL;
}

static void peer_start(void)
{
    memset(&P, 0, sizeof P);
    P.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000001)};
    cr_assert_eq(bind(P.lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(P.lfd, 64), 0);
    socklen_t l = sizeof a;
    getsockname(P.lfd, (struct sockaddr *)&a, &l);
    P.port = ntohs(a.sin_port);
}

/* Runs the simulator on scenario <json> against the peer (answering reports unless
 * <silent>) and fills <r>. */
static void peer_run(const char *json, int silent, struct sim_result *r)
{
    peer_start();
    P.silent = silent;
    pthread_t th;
    pthread_create(&th, NULL, peer_main, NULL);
    static struct scenario s;
    char err[256];
    cr_assert_eq(scn_parse(json, &s, err, sizeof err), 0, "%s", err);
    struct sim_opts o = {.port_808 = P.port, .quiet = 1};
    cr_assert_eq(sim_run(&s, &o, r), 0);
    P.stop = 1;
    pthread_join(th, NULL);
    close(P.lfd);
}

Test(bench_peer, register_auth_report_resend_blind_upload, .timeout = 60)
{
    const char *json =
        "{\"name\": \"peer\", \"duration_s\": 8, \"warmup_s\": 1, \"drain_s\": 10,"
        " \"time_scale\": 30, \"fleet\": {\"vehicles\": 4,"
        "  \"editions\": {\"2011\": 0.3, \"2013\": 0.4, \"2019\": 0.3}, \"report_s\": 30,"
        "  \"reply_timeout_ms\": 500, \"retries\": 3, \"reconnect_ms\": 1500}}";
    static struct sim_result r;
    peer_run(json, 0, &r);
    cr_log_info("reg %u auth %u reports %u resend %u batches %u items %u bad %u; sent %llu "
                "acked %llu", P.registers, P.auths, P.reports, P.resends_same,
                P.batches_type1, P.batch_items, P.bad, (unsigned long long)r.records_sent,
                (unsigned long long)r.records_acked);
    cr_assert_eq(P.bad, 0, "every frame decodes");
    cr_assert_eq(P.registers, 4, "one registration per terminal, none after reconnect");
    cr_assert_geq(P.auths, 8, "authentication again after the forced disconnect");
    cr_assert_geq(P.resends_same, 4, "the withheld report came back with the same serial");
    cr_assert_geq(P.batches_type1, 4, "blind-area data uploaded as 0x0704 type 1");
    cr_assert_eq(r.outstanding, 0);
    cr_assert_eq(r.records_acked, r.records_sent, "every record acknowledged");
    cr_assert_eq(r.records_acked, r.st.points, "every generated position acknowledged");
    cr_assert_eq(r.st.bad_frames, 0);
}

/* At "max" the simulator sends as fast as the target answers; while every window (and the
 * one 0x0704 batch in flight) is full it sleeps until an answer comes instead of spinning
 * (the spin took a core from the target on the machine they share). Against a peer that
 * never answers reports, a 3 s run uses a small fraction of one core's time: spinning used
 * all of it. */
Test(bench_peer, max_rate_waits_for_answers_instead_of_spinning, .timeout = 60)
{
    const char *json =
        "{\"name\": \"peer-max\", \"duration_s\": 3, \"warmup_s\": 0, \"drain_s\": 0,"
        " \"fleet\": {\"vehicles\": 4, \"report_s\": 30, \"window\": 4,"
        "  \"reply_timeout_ms\": 60000, \"retries\": 1}, \"load\": {\"mode\": \"max\"}}";
    static struct sim_result r;
    peer_run(json, 1, &r);
    cr_log_info("max, silent peer: %u reports seen, sent %llu, acked %llu, process CPU %.3f s "
                "over %.1f s", P.reports, (unsigned long long)r.records_sent,
                (unsigned long long)r.records_acked, r.sim_cpu_s, r.load_s);
    cr_assert_eq(P.bad, 0);
    cr_assert_eq(P.auths, 4, "every terminal authenticated");
    cr_assert_eq(P.reports, 16, "each terminal filled its window of 4 and waited");
    cr_assert_eq(r.records_acked, 0);
    cr_assert_geq(r.load_s, 2.9);
    cr_assert_lt(r.sim_cpu_s, 0.25 * r.load_s, "the simulator spun: %.3f s of CPU in %.1f s",
                 r.sim_cpu_s, r.load_s);
}
