/* session808.c: JT/T 808 terminal sessions (shared/protocols/jt808.md §4 session flow).
 *
 *   NEW ──0x0100──> 0x8100 (result, code) ──0x0102 ok──> AUTHED ──0x0003──> closed
 *
 * Before authentication only 0x0100, 0x0102 and 0x0001 are handled; everything else is
 * counted and dropped without an answer (no amplification toward unauthenticated peers,
 * nothing reaches the store). After it, location reports (0x0200, 0x0201, 0x0704) go into
 * the worker's open store batch together with their raw frame, and their 0x8001 is queued
 * only when the batch is committed (commit-then-ack, worker.c wk_reap). Heartbeats are
 * answered at once: there is nothing to make durable. Every frame sent or received by an
 * authenticated terminal is also written to the raw log (GB/T 35658 §7.4 c) when the open
 * batch has room; the raw frame is the unescaped content between the flags, whose
 * canonical escaping is the wire form.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/pos808.h"
#include "engine/worker.h"

#define SESS_AUTH_FAIL_MAX 3
#define SESS_LATE_S 600      /* alarms.md §1.3 T_late */

static void sess_raw(struct worker *w, struct conn *c, const uint8_t *p, size_t n, int dir)
{
    if (n == 0 || c->state != CONN_AUTHED)
        return;
    /* The 0x8001 answers of committed batches are sent from the reap, when no batch is
     * open (the last iteration handed it over): open one, or the answers go unlogged. */
    if ((!w->cur && !worker_room(w)) || w->cur_raw >= w->batch_records)
        return;
    struct store_raw r;
    memset(&r, 0, sizeof r);
    r.recv_time_ms = w->now_ms;
    r.conn_id = (uint64_t)w->id << 48 | (uint64_t)worker_conn_index(w, c) << 16 | c->gen;
    r.vehicle_id = c->vehicle_id;
    r.dir = (uint8_t)dir;
    r.proto = STORE_PROTO_808;
    if (c->peer.sin6_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)&c->peer;
        r.peer_len = 4;
        memcpy(r.peer, &a4->sin_addr, 4);
        r.peer_port = ntohs(a4->sin_port);
    } else {
        r.peer_len = 16;
        memcpy(r.peer, &c->peer.sin6_addr, 16);
        r.peer_port = ntohs(c->peer.sin6_port);
    }
    r.frame = rw_bytes_of(p, n);
    if (store_batch_add_raw(w->cur, &r) == 0)
        w->cur_raw++;
}

int session808_send(struct worker *w, struct conn *c, struct jt808_msg *m)
{
    if (c->out_len >= CONN_OUT_CAP)
        return -ENOBUFS;
    int n = jt808_encode(m, c->out + c->out_len, CONN_OUT_CAP - c->out_len);
    if (n < 0)
        return -ENOBUFS; /* output full: the terminal retries, the store dedups */
    uint8_t raw[JT808_RAW_MAX];
    int u = jt808_unescape(c->out + c->out_len + 1, (size_t)n - 2, raw, sizeof raw);
    if (u > 0)
        sess_raw(w, c, raw, (size_t)u, STORE_DIR_OUT);
    c->out_len += (uint32_t)n;
    worker_mark_dirty(w, c, worker_conn_index(w, c));
    return 0;
}

static int sess_reply(struct worker *w, struct conn *c, const struct jt808_hdr *req,
                      uint8_t result)
{
    struct jt808_msg m;
    jt808_make_gen_rsp(&m, req, c->out_serial++, result);
    return session808_send(w, c, &m);
}

static void sess_remember_hdr(struct conn *c, const struct jt808_hdr *h)
{
    memcpy(c->phone, h->phone, 10);
    c->edition = h->edition;
    c->proto_ver = h->proto_ver;
    c->quirk = h->quirk_2013_hdr;
}

void session808_register_rsp(struct worker *w, struct conn *c, const struct jt808_hdr *h,
                             int res, const char *code)
{
    if (res < 0)
        return; /* store trouble: answer nothing, the terminal retries */
    w->met->registrations += res == JT808_REG_OK;
    struct jt808_msg r;
    memset(&r, 0, sizeof r);
    r.h.msg_id = JT808_MSG_8100_REGISTER_RSP;
    r.h.edition = h->edition;
    r.h.proto_ver = h->proto_ver;
    r.h.quirk_2013_hdr = h->quirk_2013_hdr;
    memcpy(r.h.phone, h->phone, 10);
    r.h.serial = c->out_serial++;
    r.u.reg_rsp.ack_serial = h->serial;
    r.u.reg_rsp.result = (uint8_t)res;
    if (res == JT808_REG_OK)
        r.u.reg_rsp.auth_code = rw_str(code);
    session808_send(w, c, &r);
}

static int sess_register(struct worker *w, struct conn *c, const struct jt808_msg *m)
{
    sess_remember_hdr(c, &m->h);
    if (w->regsvc) {
        /* Off this thread: a first registration is a fsynced meta write. */
        struct reg_req q;
        regsvc_req_fill(&q, m, worker_conn_index(w, c), c->gen);
        regsvc_submit(w->regsvc, w->id, &q);
        return 0;
    }
    char code[33] = "";
    int res = registry_register(w->reg, &m->h, &m->u.reg, code);
    session808_register_rsp(w, c, &m->h, res, code);
    return 0;
}

/* Marks <c> as the terminal's current connection in the live table. */
static uint64_t sess_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The connection now holds its vehicle: the owner marks the live slot (newest wins). */
static void sess_live_connect(struct worker *w, struct conn *c, const uint8_t plate[21],
                              uint8_t color)
{
    struct mesh_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MESH_CONNECT;
    m.pos.vehicle_id = c->vehicle_id;
    m.conn_id = (uint64_t)w->id << 48 | (uint64_t)worker_conn_index(w, c) << 16 | c->gen;
    c->since_ns = m.since_ns = sess_mono_ns();
    m.recv_time = w->now_ms / 1000;
    memcpy(m.plate, plate, sizeof m.plate);
    m.plate_color = color;
    worker_live(w, &m);
}

static int sess_auth(struct worker *w, struct conn *c, const struct jt808_msg *m)
{
    uint32_t vid = 0;
    uint8_t plate[21] = {0}, color = 0;
    int rc = registry_authenticate(w->reg, m->h.phone, m->u.auth.code, &vid, plate, &color);
    sess_remember_hdr(c, &m->h);
    if (rc == -ENOENT || rc == -EACCES) {
        w->met->auth_fail++;
        sess_reply(w, c, &m->h, JT808_RES_FAIL);
        if (++c->bad_frames >= SESS_AUTH_FAIL_MAX)
            c->closing_after_send = 1;
        return 0;
    }
    if (rc < 0)
        return 0; /* store trouble: no answer, the terminal retries */
    c->vehicle_id = vid;
    c->state = CONN_AUTHED;
    c->bad_frames = 0;
    w->met->auth_ok++;
    sess_live_connect(w, c, plate, color);
    return sess_reply(w, c, &m->h, JT808_RES_OK) == 0 ? 0 : 0;
}

static void sess_pos_fill(struct store_pos *p, const struct jt808_loc *l, uint32_t vid,
                          int64_t now_ms, uint8_t src)
{
    memset(p, 0, sizeof *p);
    pos808_fill(p, l);
    p->vehicle_id = vid;
    p->recv_time_ms = now_ms;
    p->src = src;
    if (now_ms / 1000 - l->time > SESS_LATE_S)
        p->flags |= STORE_POS_F_LATE;
}

static void sess_live_pos(struct worker *w, const struct store_pos *p)
{
    struct mesh_msg m = {.kind = MESH_POS, .recv_time = w->now_ms / 1000, .pos = *p};
    worker_live(w, &m);
}

/* Adds one position to the open batch; positions with an impossible date stay in the raw
 * log only (they cannot be placed in a day partition). */
static void sess_store_loc(struct worker *w, struct conn *c, const struct jt808_loc *l,
                           uint8_t src)
{
    if (l->time == JT808_TIME_INVALID)
        return;
    struct store_pos p;
    sess_pos_fill(&p, l, c->vehicle_id, w->now_ms, src);
    if (store_batch_add_pos(w->cur, &p) != 0)
        return;
    w->cur_pos++;
    w->met->positions++;
    if (w->data_now && p.gnss_time > __atomic_load_n(w->data_now, __ATOMIC_RELAXED))
        __atomic_store_n(w->data_now, p.gnss_time, __ATOMIC_RELAXED); /* racy max: ok */
    sess_live_pos(w, &p);
}

/* Stores the locations of <m> and queues its 0x8001 for after the commit. */
static int sess_locations(struct worker *w, struct conn *c, const struct jt808_msg *m,
                          const uint8_t *raw, size_t raw_len)
{
    ASSERT_HOT(w->cur != NULL);
    sess_raw(w, c, raw, raw_len, STORE_DIR_IN);
    if (m->h.msg_id == JT808_MSG_0200_LOCATION) {
        sess_store_loc(w, c, &m->u.loc, STORE_SRC_808_LIVE);
    } else if (m->h.msg_id == JT808_MSG_0201_LOCATION_RSP) {
        sess_store_loc(w, c, &m->u.loc_rsp.loc, STORE_SRC_808_LIVE);
    } else {
        struct jt808_batch_iter it;
        struct jt808_loc l;
        uint8_t src = m->u.batch.type ? STORE_SRC_808_BLIND : STORE_SRC_808_BATCH;
        jt808_batch_iter_init(&it, &m->u.batch);
        int rc;
        while ((rc = jt808_batch_next(&it, &l)) != 0)
            if (rc > 0)
                sess_store_loc(w, c, &l, src);
    }
    unsigned slot = store_batch_slot(w->cur);
    if (w->n_acks[slot] < w->batch_records) {
        struct wk_ack *a = &w->acks[slot][w->n_acks[slot]++];
        a->conn = worker_conn_index(w, c);
        a->gen = c->gen;
        a->serial = m->h.serial;
        a->msg_id = m->h.msg_id;
    }
    return 0;
}

/* Reassembles a subpackage; returns 1 with <m> holding the whole message, 0 when more
 * packages are awaited, negative for a bad package (counted, ignored). */
static int sess_subpkg(struct worker *w, struct jt808_msg *m)
{
    struct rw_bytes body;
    uint16_t first;
    int rc = jt808_reasm_add(w->reasm, m, (uint64_t)w->now_ms * 1000000ull, &body, &first);
    if (rc != 1)
        return rc;
    m->h.subpkg = 0;
    m->h.serial = first;
    m->body = body;
    rc = jt808_body_decode(m);
    return rc == 0 || rc == RW_E_UNSUPPORTED ? 1 : rc;
}

static int sess_authed(struct worker *w, struct conn *c, struct jt808_msg *m,
                       const uint8_t *raw, size_t raw_len)
{
    switch (m->h.msg_id) {
    case JT808_MSG_0200_LOCATION:
    case JT808_MSG_0201_LOCATION_RSP:
    case JT808_MSG_0704_BATCH:
        return sess_locations(w, c, m, raw, raw_len);
    case JT808_MSG_0002_HEARTBEAT:
        sess_raw(w, c, raw, raw_len, STORE_DIR_IN);
        return sess_reply(w, c, &m->h, JT808_RES_OK) == 0 ? 0 : 0;
    case JT808_MSG_0003_LOGOUT:
        sess_raw(w, c, raw, raw_len, STORE_DIR_IN);
        registry_logout(w->reg, c->phone);
        sess_reply(w, c, &m->h, JT808_RES_OK);
        c->closing_after_send = 1;
        return 0;
    case JT808_MSG_0001_TERM_RSP:
        sess_raw(w, c, raw, raw_len, STORE_DIR_IN);
        return 0;
    case JT808_MSG_0102_AUTH:
        return sess_auth(w, c, m);
    default:
        sess_raw(w, c, raw, raw_len, STORE_DIR_IN);
        return sess_reply(w, c, &m->h, JT808_RES_UNSUPPORTED) == 0 ? 0 : 0;
    }
}

int session808_frame(struct worker *w, struct conn *c, uint32_t ci)
{
    (void)ci;
    struct jt808_msg m;
    struct rw_bytes raw = jt808_framer_frame(&c->fr);
    int rc = jt808_framer_parse(&c->fr, &m);
    if (rc < 0) {
        w->met->frames_bad++;
        if (c->state == CONN_AUTHED && m.h.hdr_len)
            sess_reply(w, c, &m.h, JT808_RES_BAD_MSG);
        return ++c->bad_frames > w->cfg->bad_frames_max ? rc : 0;
    }
    c->t_last_ms = w->now_ms;
    if (c->state != CONN_AUTHED) {
        if (m.h.msg_id == JT808_MSG_0100_REGISTER && !m.h.subpkg)
            return sess_register(w, c, &m);
        if (m.h.msg_id == JT808_MSG_0102_AUTH && !m.h.subpkg)
            return sess_auth(w, c, &m);
        w->met->unauth_dropped++;
        return 0;
    }
    if (memcmp(m.h.phone, c->phone, 10) != 0) {
        /* Another terminal's frame on this connection: never stored under this one. */
        w->met->frames_bad++;
        return ++c->bad_frames > w->cfg->bad_frames_max ? RW_E_FIELD : 0;
    }
    if (m.h.subpkg) {
        sess_raw(w, c, raw.p, raw.len, STORE_DIR_IN);
        rc = sess_subpkg(w, &m);
        if (rc <= 0)
            return 0;
        raw.len = 0; /* each package was logged as it came */
    }
    return sess_authed(w, c, &m, raw.p, raw.len);
}
