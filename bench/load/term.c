/* term.c: simulated JT/T 808 terminal (term.h). */
#include "bench/load/term.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/mem.h"
#include "engine/base/text.h"

#define TERM_FRAME_CAP JT808_WIRE_MAX
#define NS_PER_MS 1000000ull

int term_create(const struct term_cfg *cfg, const struct road_net *net, uint64_t seed,
                uint32_t index, uint16_t edition, int udp, const char *plate_utf8,
                int64_t t_first, const struct road_violation *vio, uint32_t n_vio,
                struct term **out)
{
    ASSERT(cfg->window >= 1 && cfg->blind_max >= 1);
    *out = NULL;
    struct term *t = mem_calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->pend = mem_calloc(cfg->window, sizeof *t->pend);
    t->blind = mem_calloc(cfg->blind_max, sizeof *t->blind);
    if (!t->pend || !t->blind) {
        term_destroy(t);
        return -ENOMEM;
    }
    t->index = index;
    t->edition = edition;
    t->udp = (uint8_t)(udp != 0);
    t->fd = -1;
    t->next_t = t_first;
    t->end_t = INT64_MAX;
    t->plate_color = 2; /* yellow: commercial vehicles */
    snprintf(t->phone, sizeof t->phone, "%llu", 13000000000ull + index % 1000000000u);
    snprintf(t->term_id, sizeof t->term_id, "T%06u", index % 1000000u);
    int n = text_utf8_to_gbk(plate_utf8, strlen(plate_utf8), t->plate, sizeof t->plate - 1);
    if (n <= 0) {
        term_destroy(t);
        return RW_E_FIELD;
    }
    t->plate_len = (uint8_t)n;
    road_veh_init(&t->veh, net, seed, index, vio, n_vio);
    jt808_framer_init(&t->fr);
    *out = t;
    return 0;
}

void term_destroy(struct term *t)
{
    if (!t)
        return;
    MEM_FREE(t->pend);
    MEM_FREE(t->blind);
    mem_free(t);
}

static void term_hdr(const struct term *t, struct jt808_msg *m, uint16_t msg_id,
                     uint16_t serial)
{
    memset(m, 0, sizeof *m);
    m->h.msg_id = msg_id;
    m->h.serial = serial;
    m->h.edition = t->edition == JT808_ED_2019 ? JT808_ED_2019 : JT808_ED_2013;
    m->h.proto_ver = t->edition == JT808_ED_2019 ? 1 : 0;
    int rc = jt808_phone_set(&m->h, t->phone);
    ASSERT(rc == 0);
}

static void term_loc_fill(const struct term_pt *pt, struct jt808_loc *l)
{
    l->alarm = 0;
    l->status = pt->status;
    l->lat = (uint32_t)(pt->lat_e6 < 0 ? -pt->lat_e6 : pt->lat_e6);
    l->lon = (uint32_t)(pt->lon_e6 < 0 ? -pt->lon_e6 : pt->lon_e6);
    l->altitude_m = 30;
    l->speed_dkmh = pt->speed_dkmh;
    l->direction = pt->dir;
    int rc = jt808_time_to_bcd(pt->t, l->time_bcd);
    ASSERT(rc == 0);
    l->time = pt->t;
    l->present = JT808_X_MILEAGE | JT808_X_RSSI | JT808_X_SATS;
    l->mileage_hm = pt->mileage_hm;
    l->rssi = 25;
    l->sats = 12;
}

int term_encode_0200(const struct term *t, const struct term_pt *pt, uint16_t serial,
                     uint8_t *out, size_t cap)
{
    struct jt808_msg m;
    term_hdr(t, &m, JT808_MSG_0200_LOCATION, serial);
    term_loc_fill(pt, &m.u.loc);
    return jt808_encode(&m, out, cap);
}

static int term_emit(struct term *t, const struct term_env *env, const struct jt808_msg *m,
                     uint64_t now_ns)
{
    uint8_t buf[TERM_FRAME_CAP];
    int len = jt808_encode(m, buf, sizeof buf);
    ASSERT(len > 0);
    t->last_tx_ns = now_ns;
    env->st->tx_bytes += (uint64_t)len;
    return env->send(env->ctx, t, buf, (size_t)len);
}

static void send_register(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    struct jt808_msg m;
    term_hdr(t, &m, JT808_MSG_0100_REGISTER, t->sess_serial);
    struct jt808_register *g = &m.u.reg;
    g->edition = t->edition;
    g->province = 42;
    g->city = 100;
    g->maker = (struct rw_bytes){(const uint8_t *)"RWSIM", 5};
    g->model = (struct rw_bytes){(const uint8_t *)"BENCH", 5};
    g->term_id = (struct rw_bytes){(const uint8_t *)t->term_id, (uint32_t)strlen(t->term_id)};
    g->plate_color = t->plate_color;
    g->plate = (struct rw_bytes){t->plate, t->plate_len};
    (void)term_emit(t, env, &m, now_ns);
}

static void send_auth(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    struct jt808_msg m;
    term_hdr(t, &m, JT808_MSG_0102_AUTH, t->sess_serial);
    m.u.auth.code = (struct rw_bytes){t->auth, t->auth_len};
    m.u.auth.imei = (struct rw_bytes){(const uint8_t *)"860000000000000", 15};
    m.u.auth.sw_ver = (struct rw_bytes){(const uint8_t *)"rwsim-1", 7};
    (void)term_emit(t, env, &m, now_ns);
}

/* Wait after the <tries>-th transmission: T x (n+1) with n = tries - 1 retransmissions
 * so far (JT/T 808 §: T_{n+1} = T_n x (n+1)), i.e. T, 2T, 3T, ... */
static uint64_t reply_timeout_ns(const struct term_env *env, unsigned tries)
{
    return (uint64_t)env->cfg->reply_timeout_ms * NS_PER_MS * tries;
}

/* Starts (or restarts) the session step of the current state with a fresh serial. */
static void session_step(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    t->sess_serial = t->serial_next++;
    t->sess_tries = 1;
    t->sess_due_ns = now_ns + reply_timeout_ns(env, 1);
    if (t->state == TERM_S_REGISTER)
        send_register(t, env, now_ns);
    else
        send_auth(t, env, now_ns);
}

void term_on_connected(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    jt808_framer_init(&t->fr);
    t->n_pend = 0;
    t->batch.used = 0;
    if (env->cfg->open_loop) {
        t->state = TERM_S_ONLINE;
        return;
    }
    t->state = t->auth_len ? TERM_S_AUTH : TERM_S_REGISTER;
    session_step(t, env, now_ns);
}

static void blind_push(struct term *t, const struct term_env *env, const struct term_pt *pt)
{
    uint32_t cap = env->cfg->blind_max;
    if (t->blind_n == cap) {
        /* Full: the oldest position is lost, as in a terminal's ring buffer. */
        t->blind_head = (t->blind_head + 1u) % cap;
        t->blind_n--;
        env->st->blind_dropped++;
    }
    t->blind[(t->blind_head + t->blind_n) % cap] = *pt;
    t->blind_n++;
    env->st->blind_buffered++;
}

void term_on_disconnected(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    /* Un-acknowledged reports are kept, oldest first, for the blind-area upload. A batch
     * in flight was never popped from the ring, so it is simply sent again later. */
    for (;;) {
        struct term_pending *best = NULL;
        for (uint32_t i = 0; i < env->cfg->window; i++)
            if (t->pend[i].used && (!best || t->pend[i].pt.t < best->pt.t))
                best = &t->pend[i];
        if (!best)
            break;
        if (!env->cfg->open_loop)
            blind_push(t, env, &best->pt);
        best->used = 0;
    }
    t->n_pend = 0;
    t->batch.used = 0;
    t->state = TERM_S_DOWN;
    t->reconnect_ns = now_ns + (uint64_t)env->cfg->reconnect_ms * NS_PER_MS;
}

uint32_t term_outstanding(const struct term *t)
{
    return t->n_pend + t->blind_n;
}

/* Encodes and sends the 0x0704 type 1 batch of the first batch_items blind positions
 * with serial batch.serial (a retransmission re-encodes the same bytes). */
static void send_batch(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    uint8_t items[JT808_BODY_MAX];
    size_t used = 0;
    uint32_t cap = env->cfg->blind_max;
    for (uint16_t i = 0; i < t->batch_items; i++) {
        struct jt808_loc l;
        memset(&l, 0, sizeof l);
        term_loc_fill(&t->blind[(t->blind_head + i) % cap], &l);
        int rc = jt808_batch_add(items, sizeof items, &used, &l);
        ASSERT(rc == 0);
    }
    struct jt808_msg m;
    term_hdr(t, &m, JT808_MSG_0704_BATCH, t->batch.serial);
    m.u.batch.count = t->batch_items;
    m.u.batch.type = 1;
    m.u.batch.items = (struct rw_bytes){items, (uint32_t)used};
    (void)term_emit(t, env, &m, now_ns);
}

static void batch_start(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    if (t->batch.used || t->blind_n == 0 || t->state != TERM_S_ONLINE)
        return;
    uint32_t n = t->blind_n < env->cfg->batch_max ? t->blind_n : env->cfg->batch_max;
    t->batch_items = (uint16_t)n;
    t->batch.used = 1;
    t->batch.serial = t->serial_next++;
    t->batch.tries = 1;
    t->batch.first_ns = now_ns;
    t->batch.due_ns = now_ns + reply_timeout_ns(env, 1);
    env->st->sent_0704++;
    env->st->sent_0704_items += n;
    send_batch(t, env, now_ns);
}

static void ack_latency(const struct term_env *env, uint64_t first_ns, uint64_t now_ns,
                        unsigned records)
{
    uint64_t us = now_ns > first_ns ? (now_ns - first_ns) / 1000u : 0;
    uint64_t rx_us = env->rx_ns > first_ns ? (env->rx_ns - first_ns) / 1000u : 0;
    for (unsigned i = 0; i < records; i++) {
        hist_add(env->ack_lat, us);
        if (env->ack_lat_sec)
            hist_add(env->ack_lat_sec, us);
        if (env->ack_lat_rx && env->rx_ns)
            hist_add(env->ack_lat_rx, rx_us < us ? rx_us : us);
    }
}

static void on_ack_0200(struct term *t, const struct term_env *env, uint16_t serial,
                        uint64_t now_ns)
{
    for (uint32_t i = 0; i < env->cfg->window; i++) {
        struct term_pending *p = &t->pend[i];
        if (p->used && p->serial == serial) {
            p->used = 0;
            t->n_pend--;
            env->st->acked_0200++;
            ack_latency(env, p->first_ns, now_ns, 1);
            return;
        }
    }
    /* A late answer to a report already moved to the blind buffer: harmless. */
}

static void on_ack_0704(struct term *t, const struct term_env *env, uint16_t serial,
                        uint64_t now_ns)
{
    if (!t->batch.used || t->batch.serial != serial)
        return;
    ASSERT(t->blind_n >= t->batch_items);
    t->blind_head = (t->blind_head + t->batch_items) % env->cfg->blind_max;
    t->blind_n -= t->batch_items;
    env->st->acked_0704_items += t->batch_items;
    ack_latency(env, t->batch.first_ns, now_ns, t->batch_items);
    t->batch.used = 0;
    batch_start(t, env, now_ns);
}

static int on_gen_rsp(struct term *t, const struct term_env *env, const struct jt808_msg *m,
                      uint64_t now_ns)
{
    const struct jt808_gen_rsp *g = &m->u.gen_rsp;
    if (g->result != JT808_RES_OK && g->result != JT808_RES_ALARM_CONFIRM) {
        env->st->nacked++;
        if (g->ack_id == JT808_MSG_0102_AUTH && t->state == TERM_S_AUTH) {
            env->st->session_fail++;
            t->auth_len = 0; /* refused code: register again on the next connection */
            return TERM_ACT_CLOSE;
        }
        return TERM_ACT_NONE; /* a refused report is retransmitted on timeout */
    }
    switch (g->ack_id) {
    case JT808_MSG_0102_AUTH:
        if (t->state == TERM_S_AUTH && g->ack_serial == t->sess_serial) {
            t->state = TERM_S_ONLINE;
            env->st->authenticated++;
            batch_start(t, env, now_ns);
        }
        break;
    case JT808_MSG_0200_LOCATION: on_ack_0200(t, env, g->ack_serial, now_ns); break;
    case JT808_MSG_0704_BATCH: on_ack_0704(t, env, g->ack_serial, now_ns); break;
    default: break;
    }
    return TERM_ACT_NONE;
}

static int on_register_rsp(struct term *t, const struct term_env *env,
                           const struct jt808_msg *m, uint64_t now_ns)
{
    const struct jt808_register_rsp *r = &m->u.reg_rsp;
    if (t->state != TERM_S_REGISTER || r->ack_serial != t->sess_serial)
        return TERM_ACT_NONE;
    if (r->result != JT808_REG_OK || r->auth_code.len == 0 ||
        r->auth_code.len > sizeof t->auth) {
        env->st->session_fail++;
        return TERM_ACT_CLOSE;
    }
    memcpy(t->auth, r->auth_code.p, r->auth_code.len);
    t->auth_len = (uint8_t)r->auth_code.len;
    env->st->registered++;
    t->state = TERM_S_AUTH;
    session_step(t, env, now_ns);
    return TERM_ACT_NONE;
}

/* Platform requests get the terminal general response 0x0001 (result 0). */
static void answer_request(struct term *t, const struct term_env *env,
                           const struct jt808_msg *req, uint64_t now_ns)
{
    struct jt808_msg m;
    term_hdr(t, &m, JT808_MSG_0001_TERM_RSP, t->serial_next++);
    m.u.gen_rsp.ack_serial = req->h.serial;
    m.u.gen_rsp.ack_id = req->h.msg_id;
    m.u.gen_rsp.result = JT808_RES_OK;
    (void)term_emit(t, env, &m, now_ns);
}

int term_on_msg(struct term *t, const struct term_env *env, const struct jt808_msg *m,
                uint64_t now_ns)
{
    env->st->rx_frames++;
    switch (m->h.msg_id) {
    case JT808_MSG_8001_PLAT_RSP: return on_gen_rsp(t, env, m, now_ns);
    case JT808_MSG_8100_REGISTER_RSP: return on_register_rsp(t, env, m, now_ns);
    case JT808_MSG_8103_SET_PARAMS:
    case JT808_MSG_8202_TRACK:
    case JT808_MSG_8300_TEXT:
    case JT808_MSG_8201_LOCATION_QUERY: answer_request(t, env, m, now_ns); break;
    default: break;
    }
    return TERM_ACT_NONE;
}

int term_on_bytes(struct term *t, const struct term_env *env, const uint8_t *p, size_t n,
                  uint64_t now_ns)
{
    int act = TERM_ACT_NONE;
    while (n > 0 && act == TERM_ACT_NONE) {
        int status;
        size_t used = jt808_framer_feed(&t->fr, p, n, &status);
        p += used;
        n -= used;
        if (status < 0) {
            env->st->bad_frames++;
            continue;
        }
        if (status == 0)
            break;
        struct jt808_msg m;
        if (jt808_framer_parse(&t->fr, &m) != 0) {
            env->st->bad_frames++;
            continue;
        }
        act = term_on_msg(t, env, &m, now_ns);
    }
    return act;
}

/* Retransmits whatever timed out. Returns TERM_ACT_CLOSE once retries are exhausted. */
static int term_retransmit(struct term *t, const struct term_env *env, uint64_t now_ns)
{
    uint32_t retries = env->cfg->retries;
    if ((t->state == TERM_S_REGISTER || t->state == TERM_S_AUTH) && now_ns >= t->sess_due_ns) {
        if (t->sess_tries > retries)
            goto broken;
        t->sess_tries++;
        t->sess_due_ns = now_ns + reply_timeout_ns(env, t->sess_tries);
        env->st->resent++;
        if (t->state == TERM_S_REGISTER)
            send_register(t, env, now_ns);
        else
            send_auth(t, env, now_ns);
    }
    if (t->state != TERM_S_ONLINE)
        return TERM_ACT_NONE;
    for (uint32_t i = 0; i < env->cfg->window && t->n_pend; i++) {
        struct term_pending *p = &t->pend[i];
        if (!p->used || now_ns < p->due_ns)
            continue;
        if (p->tries > retries)
            goto broken;
        uint8_t buf[TERM_FRAME_CAP];
        int len = term_encode_0200(t, &p->pt, p->serial, buf, sizeof buf);
        ASSERT(len > 0);
        p->tries++;
        p->due_ns = now_ns + reply_timeout_ns(env, p->tries);
        env->st->resent++;
        env->st->tx_bytes += (uint64_t)len;
        t->last_tx_ns = now_ns;
        (void)env->send(env->ctx, t, buf, (size_t)len);
    }
    if (t->batch.used && now_ns >= t->batch.due_ns) {
        if (t->batch.tries > retries)
            goto broken;
        t->batch.tries++;
        t->batch.due_ns = now_ns + reply_timeout_ns(env, t->batch.tries);
        env->st->resent++;
        send_batch(t, env, now_ns);
    }
    return TERM_ACT_NONE;
broken:
    env->st->link_broken++;
    return TERM_ACT_CLOSE;
}

static int send_report(struct term *t, const struct term_env *env, const struct term_pt *pt,
                       uint64_t now_ns)
{
    uint16_t serial = t->serial_next++;
    uint8_t buf[TERM_FRAME_CAP];
    int len = term_encode_0200(t, pt, serial, buf, sizeof buf);
    ASSERT(len > 0);
    t->last_tx_ns = now_ns;
    env->st->tx_bytes += (uint64_t)len;
    env->st->sent_0200++;
    if (!env->cfg->open_loop) {
        struct term_pending *p = NULL;
        for (uint32_t i = 0; i < env->cfg->window && !p; i++)
            if (!t->pend[i].used)
                p = &t->pend[i];
        ASSERT(p != NULL);
        p->pt = *pt;
        p->serial = serial;
        p->tries = 1;
        p->used = 1;
        p->first_ns = now_ns;
        p->due_ns = now_ns + reply_timeout_ns(env, 1);
        t->n_pend++;
    }
    return env->send(env->ctx, t, buf, (size_t)len);
}

static void point_make(const struct road_point *rp, struct term_pt *pt)
{
    pt->t = rp->t;
    pt->lat_e6 = rp->lat_e6;
    pt->lon_e6 = rp->lon_e6;
    pt->mileage_hm = rp->mileage_hm;
    pt->speed_dkmh = rp->speed_dkmh;
    pt->dir = rp->dir;
    pt->status = JT808_ST_FIX | JT808_ST_GPS | (rp->acc ? JT808_ST_ACC : 0u);
}

/* Generates due positions: sent when online, buffered otherwise. */
static void term_generate(struct term *t, const struct term_env *env, uint64_t now_ns,
                          int64_t gnss_now, unsigned budget)
{
    while (budget > 0 && t->next_t <= gnss_now && t->next_t < t->end_t) {
        int online = t->state == TERM_S_ONLINE;
        if (!online && env->cfg->open_loop)
            return; /* the ceiling counts only what reaches the sink */
        if (!online && env->cfg->max_rate && t->blind_n >= env->cfg->blind_max)
            return; /* no clock to keep: generating on would only drop the oldest */
        if (online && !env->cfg->open_loop && t->n_pend >= env->cfg->window) {
            env->st->window_full++;
            return;
        }
        struct road_point rp;
        int have = road_veh_step(&t->veh, env->net, t->next_t, &rp);
        t->next_t += env->cfg->report_s;
        if (!have)
            continue; /* powered off (scripted offline): no position at all */
        budget--;
        env->st->points++;
        struct term_pt pt;
        point_make(&rp, &pt);
        if (!online) {
            blind_push(t, env, &pt);
        } else if (send_report(t, env, &pt, now_ns) < 0 && env->cfg->open_loop) {
            return; /* the link is full: try again on the next tick */
        }
    }
}

int term_tick(struct term *t, const struct term_env *env, uint64_t now_ns, int64_t gnss_now,
              unsigned budget)
{
    if (!env->cfg->open_loop && term_retransmit(t, env, now_ns) != TERM_ACT_NONE)
        return TERM_ACT_CLOSE;
    term_generate(t, env, now_ns, gnss_now, budget);
    if (t->state != TERM_S_ONLINE || env->cfg->open_loop)
        return TERM_ACT_NONE;
    batch_start(t, env, now_ns);
    /* Wall-clock seconds, like the reply timeout: a heartbeat keeps the link alive against
     * the platform's idle timeout, which runs on real time whatever the GNSS clock does.
     * (Scaled by time_scale, a terminal paused by backpressure in a 5,000x run sent one
     * every 12 ms.) */
    uint64_t hb_ns = (uint64_t)env->cfg->heartbeat_s * 1000000000ull;
    if (now_ns - t->last_tx_ns >= hb_ns) {
        struct jt808_msg m;
        term_hdr(t, &m, JT808_MSG_0002_HEARTBEAT, t->serial_next++);
        env->st->heartbeats++;
        (void)term_emit(t, env, &m, now_ns);
    }
    return TERM_ACT_NONE;
}
