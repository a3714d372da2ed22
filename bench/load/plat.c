/* plat.c: a simulated JT/T 809 lower platform (plat.h). */
#include "bench/load/plat.h"

#include <errno.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/base/text.h"

static const uint8_t plat_zero11[11];

int plat_create(const struct scenario *s, const struct plat_cfg *cfg, uint32_t i,
                struct plat **out)
{
    ASSERT(cfg->missed_max > 0);
    ASSERT(cfg->report_s > 0);
    struct plat *p = mem_calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    *out = p;
    p->index = i;
    p->edition = scn_plat_edition(s, i) == 2011 ? JT809_ED_2011 : JT809_ED_2019;
    p->user_id = s->plat.user_id + i;
    p->access_code = s->plat.access_code + i;
    memcpy(p->password, s->plat.password, sizeof p->password);
    p->peer = (struct jt809_peer){.edition = p->edition,
                                  .has_keys = (s->plat.m1 | s->plat.ia1 | s->plat.ic1) != 0,
                                  .m1 = s->plat.m1, .ia1 = s->plat.ia1, .ic1 = s->plat.ic1};
    p->encrypt = (uint8_t)(scn_plat_encrypt(s, i) && p->peer.has_keys);
    p->rng = s->seed ^ (0x9E3779B97F4A7C15ull * (i + 1u));
    p->end_t = INT64_MAX;
    p->fd[0] = p->fd[1] = p->lfd = -1;
    uint32_t k = s->plat.vehicles_each;
    p->n_veh = k;
    p->veh = mem_calloc(k + 1u, sizeof *p->veh);
    p->fr[0] = mem_alloc(sizeof *p->fr[0]);
    p->fr[1] = mem_alloc(sizeof *p->fr[1]);
    if (!p->veh || !p->fr[0] || !p->fr[1])
        return -ENOMEM;
    jt809_framer_init(p->fr[0]);
    jt809_framer_init(p->fr[1]);
    for (uint32_t j = 0; j < k; j++) {
        struct plat_veh *v = &p->veh[j];
        uint32_t road_index = s->vehicles + i * k + j;
        road_veh_init(&v->veh, &s->net, s->seed, road_index, NULL, 0);
        uint64_t h = s->seed ^ (road_index * 0x9E3779B97F4A7C15ull) ^ 3u;
        v->next_t = s->start_t + (int64_t)(road_rand(&h) % cfg->report_s);
        char plate[64];
        scn_plat_plate(s, i, j, plate, sizeof plate);
        int n = text_utf8_to_gbk(plate, strlen(plate), v->plate, sizeof v->plate - 1);
        if (n <= 0)
            return RW_E_FIELD;
        v->plate_len = (uint8_t)n;
        v->miss = mem_calloc(cfg->missed_max, sizeof *v->miss);
        if (!v->miss)
            return -ENOMEM;
    }
    return 0;
}

void plat_destroy(struct plat *p)
{
    if (!p)
        return;
    for (uint32_t j = 0; p->veh && j < p->n_veh; j++)
        MEM_FREE(p->veh[j].miss);
    MEM_FREE(p->veh);
    MEM_FREE(p->fr[0]);
    MEM_FREE(p->fr[1]);
    mem_free(p);
}

uint32_t plat_outstanding(const struct plat *p)
{
    return p->miss_total;
}

/* ---------------------------------------------------------------------------------------
 * Encoding: every frame through jt809_encode()
 */

static void plat_hdr(struct plat *p, struct jt809_msg *m, uint16_t msg_id)
{
    memset(m, 0, sizeof *m);
    m->h.msg_sn = p->sn++;
    m->h.msg_id = msg_id;
    m->h.gnss_center_id = p->access_code;
    m->h.version[0] = 1;
    m->h.version[1] = p->edition == JT809_ED_2019 ? 2 : 0;
    m->h.version[2] = p->edition == JT809_ED_2019 ? 15 : 0;
    m->h.encrypt_flag = p->encrypt;
    /* A fresh non-zero key per frame, as real senders do. */
    m->h.encrypt_key = p->encrypt ? (uint32_t)road_rand(&p->rng) | 1u : 0;
    m->h.time = (uint64_t)(p->gnss_now > 0 ? p->gnss_now : 0);
    m->h.edition = p->edition;
    m->sub_known = 1; /* encode from m->u, not from a raw body */
}

/* One position in the platform's edition (§7.2 / §7.3). */
static void plat_loc_fill(const struct plat *p, const struct term_pt *pt,
                          struct jt809_loc *l)
{
    l->edition = p->edition;
    uint32_t lat = (uint32_t)(pt->lat_e6 < 0 ? -pt->lat_e6 : pt->lat_e6);
    uint32_t lon = (uint32_t)(pt->lon_e6 < 0 ? -pt->lon_e6 : pt->lon_e6);
    if (p->edition == JT809_ED_2011) {
        struct jt809_gnss11 *g = &l->v11;
        jt809_gnss11_set_time(g, pt->t);
        g->lon = lon;
        g->lat = lat;
        g->vec1 = (uint16_t)(pt->speed_dkmh / 10u);
        g->vec2 = g->vec1;
        g->vec3 = pt->mileage_hm / 10u;
        g->direction = pt->dir;
        g->altitude = 30;
        g->state = pt->status;
        return;
    }
    struct jt808_loc *j = &l->v19.loc;
    j->status = pt->status;
    j->lat = lat;
    j->lon = lon;
    j->altitude_m = 30;
    j->speed_dkmh = pt->speed_dkmh;
    j->direction = pt->dir;
    int rc = jt808_time_to_bcd(pt->t, j->time_bcd);
    ASSERT(rc == 0);
    j->time = pt->t;
    j->present = JT808_X_MILEAGE | JT808_X_SATS;
    j->mileage_hm = pt->mileage_hm;
    j->sats = 12;
    for (int k = 0; k < 3; k++)
        l->v19.platform_id[k] = rw_bytes_of(plat_zero11, sizeof plat_zero11);
}

static void plat_env_fill(const struct plat_veh *v, struct jt809_msg *m, uint16_t type)
{
    m->env.has_vehicle = 1;
    m->env.vehicle_no = rw_bytes_of(v->plate, v->plate_len);
    m->env.vehicle_color = PLAT_PLATE_COLOR;
    m->env.data_type = type;
}

int plat_encode_1001(struct plat *p, uint8_t *out, size_t cap)
{
    struct jt809_msg m;
    plat_hdr(p, &m, JT809_MSG_1001_UP_CONNECT_REQ);
    struct jt809_connect_req *q = &m.u.connect_req;
    q->user_id = p->user_id;
    q->password = rw_bytes_of(p->password, strlen(p->password));
    q->gnss_center_id = p->access_code;
    q->down_link_ip = rw_str("127.0.0.1");
    q->down_link_port = p->listen_port;
    return jt809_encode(&m, &p->peer, out, cap);
}

int plat_encode_1202(struct plat *p, uint32_t v, const struct term_pt *pt, uint8_t *out,
                     size_t cap)
{
    ASSERT(v < p->n_veh);
    struct jt809_msg m;
    plat_hdr(p, &m, JT809_MSG_1200_UP_EXG_MSG);
    plat_env_fill(&p->veh[v], &m, JT809_SUB_1202_REAL_LOCATION);
    plat_loc_fill(p, pt, &m.u.loc);
    return jt809_encode(&m, &p->peer, out, cap);
}

int plat_encode_1203(struct plat *p, uint32_t v, const struct term_pt *pts, unsigned n,
                     uint8_t *out, size_t cap)
{
    ASSERT(v < p->n_veh);
    ASSERT(n >= 1 && n <= JT809_HIS_MAX);
    struct jt809_msg m;
    plat_hdr(p, &m, JT809_MSG_1200_UP_EXG_MSG);
    plat_env_fill(&p->veh[v], &m, JT809_SUB_1203_HISTORY_LOCATION);
    m.u.his.cnt = (uint8_t)n;
    for (unsigned k = 0; k < n; k++)
        plat_loc_fill(p, &pts[k], &m.u.his.loc[k]);
    return jt809_encode(&m, &p->peer, out, cap);
}

/* Link messages: empty bodies or one result byte. */
static int plat_send_link(struct plat *p, const struct plat_env *env, int side,
                          uint16_t msg_id, int code)
{
    struct jt809_msg m;
    plat_hdr(p, &m, msg_id);
    if (code >= 0)
        m.u.code = (uint8_t)code;
    uint8_t buf[256];
    int len = jt809_encode(&m, &p->peer, buf, sizeof buf);
    ASSERT(len > 0);
    p->st.tx_bytes += (uint64_t)len;
    return env->send(env->ctx, p, side, buf, (size_t)len);
}

/* ---------------------------------------------------------------------------------------
 * Session
 */

void plat_on_connected(struct plat *p, const struct plat_env *env, uint64_t now_ns)
{
    uint8_t buf[PLAT_FRAME_CAP];
    jt809_framer_init(p->fr[PLAT_MAIN]);
    int len = plat_encode_1001(p, buf, sizeof buf);
    ASSERT(len > 0);
    p->state = PLAT_S_LOGIN;
    p->login_due_ns = now_ns + (uint64_t)env->cfg->login_timeout_ms * 1000000ull;
    p->st.tx_bytes += (uint64_t)len;
    (void)env->send(env->ctx, p, PLAT_MAIN, buf, (size_t)len);
}

void plat_on_disconnected(struct plat *p, const struct plat_env *env, uint64_t now_ns)
{
    p->state = PLAT_S_DOWN;
    p->reconnect_ns = now_ns + (uint64_t)env->cfg->reconnect_ms * 1000000ull;
}

void plat_on_closing(struct plat *p)
{
    if (p->state != PLAT_S_DOWN)
        p->state = PLAT_S_CLOSING;
}

static int plat_on_msg(struct plat *p, const struct plat_env *env, int side,
                       const struct jt809_msg *m, uint64_t now_ns)
{
    switch (m->h.msg_id) {
    case JT809_MSG_1002_UP_CONNECT_RSP:
        if (p->state != PLAT_S_LOGIN)
            return PLAT_ACT_NONE;
        if (m->u.connect_rsp.result != 0) {
            p->st.login_fail++;
            return PLAT_ACT_CLOSE_MAIN;
        }
        p->st.logins++;
        p->verify_code = m->u.connect_rsp.verify_code;
        p->state = PLAT_S_ONLINE;
        p->link_test_ns = now_ns + (uint64_t)((double)env->cfg->link_test_s /
                                              env->cfg->time_scale * 1e9);
        return PLAT_ACT_NONE;
    case JT809_MSG_1006_UP_LINKTEST_RSP:
        p->st.link_test_rsp++;
        return PLAT_ACT_NONE;
    case JT809_MSG_9001_DOWN_CONNECT_REQ: {
        int ok = m->u.verify_code == p->verify_code && p->verify_code != 0;
        p->st.sub_links += ok;
        p->st.sub_bad_verify += !ok;
        (void)plat_send_link(p, env, side, JT809_MSG_9002_DOWN_CONNECT_RSP, ok ? 0 : 1);
        return PLAT_ACT_NONE;
    }
    case JT809_MSG_9005_DOWN_LINKTEST_REQ:
        p->st.sub_tests++;
        (void)plat_send_link(p, env, side, JT809_MSG_9006_DOWN_LINKTEST_RSP, -1);
        return PLAT_ACT_NONE;
    case JT809_MSG_9003_DOWN_DISCONNECT_REQ:
        (void)plat_send_link(p, env, side, JT809_MSG_9004_DOWN_DISCONNECT_RSP, -1);
        return side == PLAT_SUB ? PLAT_ACT_CLOSE_SUB : PLAT_ACT_NONE;
    default:
        p->st.notices++; /* 0x9007, 0x9008, 0x9101, ...: nothing to answer */
        return PLAT_ACT_NONE;
    }
}

int plat_on_bytes(struct plat *p, const struct plat_env *env, int side, const uint8_t *b,
                  size_t n, uint64_t now_ns)
{
    ASSERT(side == PLAT_MAIN || side == PLAT_SUB);
    struct jt809_framer *f = p->fr[side];
    int act = PLAT_ACT_NONE;
    while (n > 0 && act == PLAT_ACT_NONE) {
        int st;
        size_t used = jt809_framer_feed(f, b, n, &st);
        b += used;
        n -= used;
        if (st < 0) {
            p->st.bad_frames++;
        } else if (st == 1) {
            struct jt809_msg m;
            if (jt809_framer_parse(f, &p->peer, &m) != 0)
                p->st.bad_frames++;
            else
                act = plat_on_msg(p, env, side, &m, now_ns);
        }
    }
    return act;
}

/* ---------------------------------------------------------------------------------------
 * Positions
 */

static void plat_point_make(const struct road_point *rp, struct term_pt *pt)
{
    pt->t = rp->t;
    pt->lat_e6 = rp->lat_e6;
    pt->lon_e6 = rp->lon_e6;
    pt->mileage_hm = rp->mileage_hm;
    pt->speed_dkmh = rp->speed_dkmh;
    pt->dir = rp->dir;
    pt->status = JT808_ST_FIX | JT808_ST_GPS | (rp->acc ? JT808_ST_ACC : 0u);
}

static void plat_sent(struct plat_veh *v, int64_t t)
{
    if (v->first_t == 0 || t < v->first_t)
        v->first_t = t;
    if (t > v->last_t)
        v->last_t = t;
}

static void plat_miss_push(struct plat *p, const struct plat_env *env, struct plat_veh *v,
                           const struct term_pt *pt)
{
    uint32_t cap = env->cfg->missed_max;
    p->st.missed++;
    if (v->miss_n == cap) { /* full: the oldest is lost for good */
        v->miss_head = (v->miss_head + 1u) % cap;
        v->miss_n--;
        p->miss_total--;
        p->st.missed_dropped++;
    }
    v->miss[(v->miss_head + v->miss_n) % cap] = *pt;
    v->miss_n++;
    p->miss_total++;
}

/* Due positions of every vehicle: 0x1202 when online and there is room, else missed. */
static void plat_generate(struct plat *p, const struct plat_env *env, int64_t gnss_now,
                          size_t *room)
{
    uint8_t buf[PLAT_FRAME_CAP];
    for (uint32_t j = 0; j < p->n_veh; j++) {
        struct plat_veh *v = &p->veh[j];
        while (v->next_t <= gnss_now && v->next_t < p->end_t) {
            int online = p->state == PLAT_S_ONLINE;
            if (online && *room < PLAT_FRAME_CAP)
                return; /* the link is busy: these positions wait for the next tick */
            struct road_point rp;
            int have = road_veh_step(&v->veh, env->net, v->next_t, &rp);
            v->next_t += env->cfg->report_s;
            if (!have)
                continue;
            p->st.points++;
            struct term_pt pt;
            plat_point_make(&rp, &pt);
            int len = online ? plat_encode_1202(p, j, &pt, buf, sizeof buf) : 0;
            ASSERT(len >= 0);
            if (!online || env->send(env->ctx, p, PLAT_MAIN, buf, (size_t)len) != 0) {
                plat_miss_push(p, env, v, &pt);
                continue;
            }
            *room -= (size_t)len;
            p->st.tx_bytes += (uint64_t)len;
            p->st.sent_1202++;
            v->sent_live++;
            plat_sent(v, pt.t);
        }
    }
}

/* Back-fill after an outage: up to <budget> 0x1203, one vehicle per message, oldest first. */
static void plat_reupload(struct plat *p, const struct plat_env *env, size_t *room,
                          unsigned budget)
{
    uint8_t buf[PLAT_FRAME_CAP];
    uint32_t cap = env->cfg->missed_max;
    for (uint32_t k = 0; k < p->n_veh && budget > 0 && p->miss_total > 0; k++) {
        uint32_t j = p->reup_next;
        p->reup_next = (p->reup_next + 1u) % p->n_veh;
        struct plat_veh *v = &p->veh[j];
        if (v->miss_n == 0)
            continue;
        if (*room < PLAT_FRAME_CAP)
            return;
        struct term_pt pts[JT809_HIS_MAX];
        unsigned n = v->miss_n < JT809_HIS_MAX ? v->miss_n : JT809_HIS_MAX;
        for (unsigned q = 0; q < n; q++)
            pts[q] = v->miss[(v->miss_head + q) % cap];
        int len = plat_encode_1203(p, j, pts, n, buf, sizeof buf);
        ASSERT(len > 0);
        if (env->send(env->ctx, p, PLAT_MAIN, buf, (size_t)len) != 0)
            return;
        budget--;
        *room -= (size_t)len;
        p->st.tx_bytes += (uint64_t)len;
        v->miss_head = (v->miss_head + n) % cap;
        v->miss_n -= n;
        p->miss_total -= n;
        v->sent_reup += n;
        p->st.sent_1203++;
        p->st.sent_1203_items += n;
        for (unsigned q = 0; q < n; q++)
            plat_sent(v, pts[q].t);
    }
}

int plat_tick(struct plat *p, const struct plat_env *env, uint64_t now_ns, int64_t gnss_now,
              size_t room, unsigned reup_budget)
{
    p->gnss_now = gnss_now;
    if (p->state == PLAT_S_LOGIN && now_ns >= p->login_due_ns) {
        p->st.login_fail++;
        return PLAT_ACT_CLOSE_MAIN;
    }
    plat_generate(p, env, gnss_now, &room);
    if (p->state != PLAT_S_ONLINE)
        return PLAT_ACT_NONE;
    plat_reupload(p, env, &room, reup_budget);
    if (now_ns >= p->link_test_ns && room >= 256) {
        p->st.link_tests++;
        (void)plat_send_link(p, env, PLAT_MAIN, JT809_MSG_1005_UP_LINKTEST_REQ, -1);
        p->link_test_ns = now_ns + (uint64_t)((double)env->cfg->link_test_s /
                                              env->cfg->time_scale * 1e9);
    }
    return PLAT_ACT_NONE;
}
