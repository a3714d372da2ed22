/* link809_biz.c: business bodies of logged-in JT/T 809 links into the store (link809.h has
 * the policies): 0x1200 registrations and positions, 0x1400 alarms and handling results,
 * 0x1600 static information, 0x1300 answers. Runs on the link809 thread only.
 *
 * Positions go into the thread's open store batch (no syscall, no allocation). Vehicle
 * identification goes through a bounded cache; only its misses, registrations, alarms,
 * handling results and static information touch the meta store (short LMDB transactions,
 * durable writes for enrolments and alarms), all rare next to positions.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/log.h"
#include "engine/base/text.h"
#include "engine/link809_int.h"
#include "engine/pos808.h"

#define L809_VC_PROBE 8          /* cache probe window */
#define L809_LATE_S 600          /* alarms.md §1.3 T_late */
#define L809_TIME_MAX 4102444800ull  /* 2100-01-01: later Time_t values are garbage */

/* GBK text to UTF-8 for an INFO log line, converted only when such a line will be printed
 * (text.c keeps a per-thread iconv descriptor, opened on first use). */
static const char *l809_text(struct rw_bytes gbk, char *out, size_t cap)
{
    out[0] = 0;
    if (LOG_INFO >= log_level_min)
        text_gbk_to_utf8(gbk, out, cap);
    return out;
}

/* ---------------------------------------------------------------------------------------
 * Vehicles: plate + colour -> id
 */

static uint32_t l809_vc_hash(const uint8_t *p, size_t n, uint8_t colour)
{
    uint32_t h = 2166136261u ^ colour;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t l809_vc_find(struct link809 *l, struct rw_bytes p, uint8_t colour, uint32_t h)
{
    for (uint32_t i = 0; i < L809_VC_PROBE; i++) {
        const struct l809_vc *e = &l->vc[(h + i) & (LINK809_VCACHE - 1)];
        if (e->vid && e->colour == colour && e->len == p.len && memcmp(e->plate, p.p, p.len) == 0)
            return e->vid;
    }
    return 0;
}

static void l809_vc_put(struct link809 *l, struct rw_bytes p, uint8_t colour, uint32_t h,
                        uint32_t vid)
{
    struct l809_vc *e = &l->vc[h & (LINK809_VCACHE - 1)];
    for (uint32_t i = 0; i < L809_VC_PROBE; i++) {
        struct l809_vc *c = &l->vc[(h + i) & (LINK809_VCACHE - 1)];
        if (c->vid == 0) {
            e = c;
            break;
        }
    }
    e->vid = vid;
    e->colour = colour;
    e->len = (uint8_t)p.len;
    memcpy(e->plate, p.p, p.len);
}

/* Looks the vehicle up in the registry, enrolling it when unknown. */
static uint32_t l809_vehicle_lookup(struct link809 *l, struct rw_bytes p, uint8_t colour,
                                    uint32_t user_id)
{
    struct store_vehicle v;
    int rc = store_vehicle_by_plate(l->st, p.p, p.len, colour, &v);
    if (rc == 0)
        return v.id;
    if (rc != -ENOENT) {
        L809_MET_INC(l, store_errors);
        return 0;
    }
    memset(&v, 0, sizeof v);
    memcpy(v.plate, p.p, p.len);
    v.plate_len = (uint8_t)p.len;
    v.colour = colour;
    v.platform_id = user_id;
    uint32_t id = 0;
    rc = store_vehicle_enrol(l->st, &v, &id);
    if (rc == RW_E_DUPLICATE && store_vehicle_by_plate(l->st, p.p, p.len, colour, &v) == 0)
        return v.id; /* enrolled meanwhile by someone else */
    if (rc != 0) {
        L809_MET_INC(l, store_errors);
        return 0;
    }
    L809_MET_INC(l, vehicles_enrolled);
    return id;
}

uint32_t l809_vehicle(struct link809 *l, struct rw_bytes plate, uint8_t colour,
                      uint32_t user_id)
{
    struct rw_bytes p = rw_trim(plate);
    if (p.len == 0 || p.len > 21)
        return 0;
    uint32_t h = l809_vc_hash(p.p, p.len, colour);
    uint32_t vid = l809_vc_find(l, p, colour, h);
    if (vid)
        return vid;
    vid = l809_vehicle_lookup(l, p, colour, user_id);
    if (vid)
        l809_vc_put(l, p, colour, h, vid);
    return vid;
}

/* ---------------------------------------------------------------------------------------
 * Positions (§7.2, §7.3)
 */

static uint32_t l809_clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint16_t l809_clamp16(uint32_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

/* 2011 GNSS_DATA: VEC1/VEC2 km/h -> 1/10 km/h, VEC3 km -> 1/10 km. Returns 0, or -1 for a
 * position that cannot be stored (impossible date, plug-in encrypted coordinates). */
static int l809_pos_11(const struct jt809_gnss11 *g, struct store_pos *p)
{
    if (g->time == JT809_TIME_INVALID || g->encrypt != 0)
        return -1;
    p->gnss_time = g->time;
    p->lat_e6 = (int32_t)l809_clamp32(g->lat & 0x7FFFFFFFu);
    p->lon_e6 = (int32_t)l809_clamp32(g->lon & 0x7FFFFFFFu);
    p->speed_dkmh = l809_clamp16((uint32_t)g->vec1 * 10u);
    p->tacho_speed_dkmh = l809_clamp16((uint32_t)g->vec2 * 10u);
    p->mileage_hm = l809_clamp32((uint64_t)g->vec3 * 10u);
    p->direction = g->direction;
    p->altitude_m = (int16_t)g->altitude;
    p->status = g->state;
    p->alarm = g->alarm;
    p->present = JT808_X_MILEAGE | JT808_X_TACHO_SPEED;
    return 0;
}

/* 2019: the embedded JT/T 808 0x0200 body. */
static int l809_pos_19(const struct jt809_gnss19 *g, struct store_pos *p)
{
    const struct jt808_loc *x = &g->loc;
    if (x->time == JT808_TIME_INVALID || g->encrypt != 0)
        return -1;
    pos808_fill(p, x);
    return 0;
}

/* Writes the vehicle's live slot (newest GNSS time wins; see link809.h on writers). */
static void l809_live(struct link809 *l, struct l809_link *k, const struct store_pos *p,
                      struct rw_bytes plate, uint8_t colour)
{
    struct mesh_msg m = {.kind = MESH_POS_809,
                         .plate_color = colour,
                         .recv_time = l->now_ms / 1000,
                         .conn_id = l809_conn_id(l, k, 0),
                         .pos = *p};
    struct rw_bytes t = rw_trim(plate);
    memcpy(m.plate, t.p, t.len < sizeof m.plate ? t.len : sizeof m.plate);
    if (!l->mesh) { /* no workers (link809_set_mesh not called): this thread owns the slots */
        mesh_apply(l->lv, &m);
        return;
    }
    if (mesh_send(l->mesh, l->mesh_p, mesh_owner(l->mesh, p->vehicle_id), &m) == 0) {
        L809_MET_INC(l, mesh_sent);
    } else {
        L809_MET_INC(l, mesh_dropped);
        uint64_t lost = mesh_counts(l->mesh, l->mesh_p)->dropped;
        if (lost >= l->mesh_dropped_logged * 2 + 1) { /* 1, 3, 7, ...: bounded logging */
            LOG(LOG_WARN, "link809", "%llu live-state changes lost to a full mesh ring",
                (unsigned long long)lost);
            l->mesh_dropped_logged = lost;
        }
    }
}

static void l809_position(struct link809 *l, struct l809_link *k, uint32_t vid,
                          const struct jt809_loc *loc, const struct jt809_env *env,
                          uint8_t src)
{
    struct store_pos p;
    memset(&p, 0, sizeof p);
    int rc = loc->edition == JT809_ED_2019 ? l809_pos_19(&loc->v19, &p)
                                           : l809_pos_11(&loc->v11, &p);
    if (rc != 0 || vid == 0) {
        L809_MET_INC(l, positions_bad);
        return;
    }
    p.vehicle_id = vid;
    p.recv_time_ms = l->now_ms;
    p.src = src;
    if (l->now_ms / 1000 - p.gnss_time > L809_LATE_S)
        p.flags |= STORE_POS_F_LATE;
    if (l809_add_pos(l, &p) != 0) {
        L809_MET_INC(l, positions_bad);
        return;
    }
    if (src == STORE_SRC_809_REUP)
        L809_MET_INC(l, positions_reup);
    else
        L809_MET_INC(l, positions);
    l809_live(l, k, &p, env->vehicle_no, env->vehicle_color);
}

/* ---------------------------------------------------------------------------------------
 * 0x1201 registration
 */

/* Copies a fixed-width field as text: trimmed printable ASCII as is, anything else as hex
 * (2011 TERMINAL_ID is often binary, frame F4). */
static void l809_field_text(struct rw_bytes b, char *out, size_t cap)
{
    struct rw_bytes t = rw_trim(b);
    int printable = 1;
    for (uint32_t i = 0; i < t.len; i++)
        printable &= t.p[i] >= 0x20 && t.p[i] < 0x7F;
    if (printable) {
        size_t n = t.len < cap - 1 ? t.len : cap - 1;
        memcpy(out, t.p, n);
        out[n] = 0;
        return;
    }
    if (text_hex_encode(t.p, t.len, out, cap) < 0)
        out[0] = 0;
}

static void l809_register(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    uint32_t vid = l809_vehicle(l, m->env.vehicle_no, m->env.vehicle_color, k->user_id);
    struct store_vehicle v;
    if (vid == 0 || store_vehicle_get(l->st, vid, &v) != 0) {
        L809_MET_INC(l, store_errors);
        return;
    }
    L809_MET_INC(l, registrations);
    struct store_vehicle n = v;
    l809_field_text(m->u.reg.terminal_id, n.terminal_id, sizeof n.terminal_id);
    l809_field_text(m->u.reg.sim, n.sim, sizeof n.sim);
    n.platform_id = k->user_id;
    if (memcmp(&n, &v, sizeof n) == 0)
        return;
    int rc = store_vehicle_put(l->st, &n);
    if (rc != 0) {
        L809_MET_INC(l, store_errors);
        LOG(LOG_WARN, "link809", "user %u: 0x1201 of vehicle %u not stored: %s", k->user_id,
            vid, err_str(rc));
    }
}

static void l809_exg(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    uint16_t t = m->env.data_type;
    if (t == JT809_SUB_1201_REGISTER) {
        l809_register(l, k, m);
        return;
    }
    if (t != JT809_SUB_1202_REAL_LOCATION && t != JT809_SUB_1203_HISTORY_LOCATION)
        return; /* 0x1205..0x120E: answers to requests this engine does not send yet */
    uint32_t vid = l809_vehicle(l, m->env.vehicle_no, m->env.vehicle_color, k->user_id);
    if (t == JT809_SUB_1202_REAL_LOCATION) {
        l809_position(l, k, vid, &m->u.loc, &m->env, STORE_SRC_809_LIVE);
        return;
    }
    for (unsigned i = 0; i < m->u.his.cnt && i < JT809_HIS_MAX; i++)
        l809_position(l, k, vid, &m->u.his.loc[i], &m->env, STORE_SRC_809_REUP);
}

/* ---------------------------------------------------------------------------------------
 * 0x1400 alarms and handling results
 */

static void l809_amap_put(struct link809 *l, uint32_t user_id, uint8_t kind, uint32_t ref,
                          uint64_t alarm_id)
{
    struct l809_amap *e = &l->amap[l->amap_next];
    l->amap_next = (l->amap_next + 1) % LINK809_AMAP;
    e->user_id = user_id;
    e->kind = kind;
    e->ref = ref;
    e->alarm_id = alarm_id;
}

/* Newest entry first: a lower platform that reuses INFO_IDs means its latest alarm. */
static uint64_t l809_amap_get(const struct link809 *l, uint32_t user_id, uint8_t kind,
                              uint32_t ref)
{
    for (uint32_t i = 1; i <= LINK809_AMAP; i++) {
        const struct l809_amap *e = &l->amap[(l->amap_next + LINK809_AMAP - i) % LINK809_AMAP];
        if (e->kind == kind && e->user_id == user_id && e->ref == ref)
            return e->alarm_id;
    }
    return 0;
}

static void l809_alarm(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    const struct jt809_warn *w = &m->u.warn;
    int ed19 = w->layout == JT809_WARN_2019 || w->layout == JT809_WARN_2019_2T;
    struct rw_bytes plate = ed19 ? w->vehicle_no : m->env.vehicle_no;
    uint8_t colour = ed19 ? w->vehicle_color : m->env.vehicle_color;
    struct store_alarm a;
    memset(&a, 0, sizeof a);
    a.vehicle_id = l809_vehicle(l, plate, colour, k->user_id);
    if (a.vehicle_id == 0)
        return;
    a.type = w->warn_type;
    a.source = 2; /* enterprise monitoring platform */
    a.state = LINK809_ALARM_ST_NEW;
    uint64_t start = jt809_time_s(ed19 && w->start_time ? w->start_time : w->warn_time);
    uint64_t end = ed19 ? jt809_time_s(w->end_time) : 0;
    if (start == 0 || start > L809_TIME_MAX)
        start = (uint64_t)(l->now_ms / 1000); /* no usable WARN_TIME: when we heard of it */
    a.start_time = (int64_t)start;
    a.end_time = end > start && end <= L809_TIME_MAX ? (int64_t)end : 0;
    int rc = store_alarm_put(l->st, &a);
    if (rc != 0) {
        L809_MET_INC(l, store_errors);
        LOG(LOG_WARN, "link809", "user %u: alarm not stored: %s", k->user_id, err_str(rc));
        return;
    }
    L809_MET_INC(l, alarms);
    if (ed19)
        l809_amap_put(l, k->user_id, L809_AREF_MSG_SN, m->h.msg_sn, a.id);
    else
        l809_amap_put(l, k->user_id, L809_AREF_INFO_ID, w->info_id, a.id);
    char text[256];
    l809_text(w->info_content, text, sizeof text);
    LOG(LOG_INFO, "link809", "user %u: alarm %llu type 0x%04X vehicle %u: %s", k->user_id,
        (unsigned long long)a.id, a.type, a.vehicle_id, text);
}

/* SUPERVISION_ID of an urge answer: the low 32 bits of the alarm id (this engine's 0x9401
 * convention), accepted only for an alarm of a vehicle this platform owns. */
static uint64_t l809_supervised(struct link809 *l, uint32_t user_id, uint32_t supervision_id)
{
    struct store_alarm a;
    struct store_vehicle v;
    if (supervision_id == 0 || store_alarm_get(l->st, supervision_id, &a) != 0 ||
        store_vehicle_get(l->st, a.vehicle_id, &v) != 0 || v.platform_id != user_id)
        return 0;
    return a.id;
}

static void l809_alarm_result(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    const struct jt809_warn *w = &m->u.warn;
    uint16_t t = m->env.data_type;
    uint64_t id = 0;
    if (t == JT809_SUB_1401_URGE_TODO_ACK)
        id = l809_supervised(l, k->user_id, w->supervision_id);
    else if (t == JT809_SUB_1403_ADPT_TODO_INFO)
        id = l809_amap_get(l, k->user_id, L809_AREF_INFO_ID, w->info_id);
    else if (w->source_data_type == JT809_SUB_1402_ADPT_INFO)
        id = l809_amap_get(l, k->user_id, L809_AREF_MSG_SN, w->source_msg_sn);
    if (id == 0 || w->result > 3) {
        L809_MET_INC(l, alarm_results_unmatched);
        LOG(LOG_NOTICE, "link809", "user %u: 0x%04X result %u matches no alarm", k->user_id, t,
            w->result);
        return;
    }
    struct store_alarm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time = l->now_ms / 1000;
    ev.state = (uint8_t)(LINK809_ALARM_ST_IN_PROGRESS + w->result);
    ev.operator_id = k->user_id;
    snprintf(ev.note, sizeof ev.note, "JT/T 809 0x%04X result %u from platform %u", t,
             w->result, k->user_id);
    int rc = store_alarm_handle(l->st, id, &ev);
    if (rc != 0) {
        L809_MET_INC(l, store_errors);
        return;
    }
    L809_MET_INC(l, alarm_results);
}

static void l809_warn(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    switch (m->env.data_type) {
    case JT809_SUB_1402_ADPT_INFO:
        l809_alarm(l, k, m);
        break;
    case JT809_SUB_1403_ADPT_TODO_INFO:
        if (m->u.warn.layout == JT809_WARN_2011) {
            l809_alarm_result(l, k, m);
        } else {
            char text[256];
            l809_text(m->u.warn.info_content, text, sizeof text);
            LOG(LOG_INFO, "link809", "user %u: early warning type 0x%04X: %s", k->user_id,
                m->u.warn.warn_type, text);
        }
        break;
    case JT809_SUB_1401_URGE_TODO_ACK:
    case JT809_SUB_1411_URGE_TODO_ACK_INFO:
    case JT809_SUB_1412_ADPT_TODO_INFO:
        l809_alarm_result(l, k, m);
        break;
    default:
        break;
    }
}

/* ---------------------------------------------------------------------------------------
 * 0x1601 static information, 0x1300 answers
 */

/* Finds KEY:=value in CAR_INFO text (KEY:=value;KEY:=value). */
static struct rw_bytes l809_car_info(struct rw_bytes text, const char *key)
{
    size_t kl = strlen(key);
    struct rw_bytes v = {NULL, 0};
    for (uint32_t i = 0; i + kl + 2 <= text.len; i++) {
        if ((i == 0 || text.p[i - 1] == ';') && memcmp(text.p + i, key, kl) == 0 &&
            text.p[i + kl] == ':' && text.p[i + kl + 1] == '=') {
            uint32_t s = i + (uint32_t)kl + 2, e = s;
            while (e < text.len && text.p[e] != ';')
                e++;
            v.p = text.p + s;
            v.len = e - s;
            return v;
        }
    }
    return v;
}

static void l809_static(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    L809_MET_INC(l, static_info);
    char text[512];
    l809_text(m->u.text.text, text, sizeof text);
    LOG(LOG_INFO, "link809", "user %u: static info: %s", k->user_id, text);
    uint32_t vid = l809_vehicle(l, m->env.vehicle_no, m->env.vehicle_color, k->user_id);
    struct rw_bytes nat = rw_trim(l809_car_info(m->u.text.text, "VEHICLE_NATIONALITY"));
    if (vid == 0 || nat.len != 6)
        return;
    uint32_t region = 0;
    for (uint32_t i = 0; i < 6; i++) {
        if (nat.p[i] < '0' || nat.p[i] > '9')
            return;
        region = region * 10 + (uint32_t)(nat.p[i] - '0');
    }
    struct store_vehicle v;
    if (store_vehicle_get(l->st, vid, &v) != 0 || v.region != 0)
        return;
    v.region = region;
    if (store_vehicle_put(l->st, &v) != 0)
        L809_MET_INC(l, store_errors);
}

static void l809_platform(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    (void)l;
    if (m->env.data_type == JT809_SUB_1301_POST_QUERY_ACK) {
        char text[256];
        l809_text(m->u.post.info_content, text, sizeof text);
        LOG(LOG_INFO, "link809", "user %u: post-query answer (info %u): %s", k->user_id,
            m->u.post.info_id, text);
    } else if (m->env.data_type == JT809_SUB_1302_INFO_ACK) {
        LOG(LOG_INFO, "link809", "user %u: platform message acknowledged (info %u)",
            k->user_id, m->u.ack.info_id);
    }
}

void l809_business(struct link809 *l, struct l809_link *k, const struct jt809_msg *m)
{
    ASSERT_HOT(k->state == L809_UP);
    switch (m->h.msg_id) {
    case JT809_MSG_1200_UP_EXG_MSG:
        l809_exg(l, k, m);
        break;
    case JT809_MSG_1400_UP_WARN_MSG:
        l809_warn(l, k, m);
        break;
    case JT809_MSG_1600_UP_BASE_MSG:
        if (m->env.data_type == JT809_SUB_1601_VEHICLE_ADDED_ACK)
            l809_static(l, k, m);
        break;
    case JT809_MSG_1300_UP_PLATFORM_MSG:
        l809_platform(l, k, m);
        break;
    default:
        break; /* 0x9xxx from the lower, 0x1500 answers: kept in the raw log only */
    }
}
