/* jt809_body.c: JT/T 809 body decoding and encoding (fact sheet §6-§8), both editions.
 *
 * Every decoder reads through a struct rd over exactly the bytes its length field allows,
 * so a lying length can only make a read fail, never run past the frame. Disputed layouts
 * are told apart by their total length (the fact sheet's rules) and the one found is
 * recorded, so that the encoder reproduces it byte for byte. */
#include "engine/proto/jt809.h"

#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/wire.h"

#define ED19(m) ((m)->h.edition == JT809_ED_2019)

/* Ends a decoder: the sticky read error, else trailing bytes, else 0. */
static int jt809_rd_done(const struct rd *r)
{
    if (r->err)
        return r->err;
    return rd_left(r) ? RW_E_TRAILING : 0;
}

static uint16_t jt809_peek_u16(const struct rd *r, size_t off)
{
    if (rd_left(r) < off + 2)
        return 0;
    return (uint16_t)((r->p[off] << 8) | r->p[off + 1]);
}

static uint32_t jt809_peek_u32(const struct rd *r, size_t off)
{
    if (rd_left(r) < off + 4)
        return 0;
    const uint8_t *p = r->p + off;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Reads a uint32 length and that many bytes; RW_E_LENGTH when it runs past the end. */
static struct rw_bytes jt809_rd_lv(struct rd *r)
{
    uint32_t len = rd_u32(r);
    if (!r->err && len > rd_left(r)) {
        r->err = RW_E_LENGTH;
        r->p = r->end;
        struct rw_bytes none = {NULL, 0};
        return none;
    }
    return rd_bytes(r, len);
}

static void jt809_wr_lv(struct wr *w, struct rw_bytes b)
{
    wr_u32(w, b.len);
    wr_mem(w, b.p, b.len);
}

int jt809_is_business(uint16_t msg_id)
{
    switch (msg_id) {
    case 0x1200: case 0x9200: case 0x1300: case 0x9300: case 0x1400: case 0x9400:
    case 0x1500: case 0x9500: case 0x1600: case 0x9600:
        return 1;
    default:
        return 0;
    }
}

int jt809_has_vehicle(uint16_t msg_id, uint16_t edition)
{
    if (!jt809_is_business(msg_id) || msg_id == 0x1300 || msg_id == 0x9300)
        return 0;
    if (msg_id == 0x1400 || msg_id == 0x9400)
        return edition != JT809_ED_2019;
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Time of the 2011 GNSS_DATA (binary date, GMT+8)
 */

int64_t jt809_gnss11_time(const struct jt809_gnss11 *g)
{
    if (!rw_civil_valid(g->year, g->month, g->day, g->hour, g->minute, g->second))
        return JT809_TIME_INVALID;
    int64_t days = rw_days_from_civil(g->year, g->month, g->day);
    return days * 86400 + g->hour * 3600 + g->minute * 60 + g->second - 8 * 3600;
}

void jt809_gnss11_set_time(struct jt809_gnss11 *g, int64_t utc)
{
    int64_t local = utc + 8 * 3600;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sod = local - days * 86400;
    int y;
    unsigned mo, d;
    rw_civil_from_days(days, &y, &mo, &d);
    g->year = (uint16_t)y;
    g->month = (uint8_t)mo;
    g->day = (uint8_t)d;
    g->hour = (uint8_t)(sod / 3600);
    g->minute = (uint8_t)(sod / 60 % 60);
    g->second = (uint8_t)(sod % 60);
    g->time = jt809_gnss11_time(g);
}

/* ---------------------------------------------------------------------------------------
 * Locations (§7.2, §7.3)
 */

static void jt809_gnss11_decode(struct rd *r, struct jt809_gnss11 *g)
{
    g->encrypt = rd_u8(r);
    g->day = rd_u8(r);
    g->month = rd_u8(r);
    g->year = rd_u16(r);
    g->hour = rd_u8(r);
    g->minute = rd_u8(r);
    g->second = rd_u8(r);
    g->lon = rd_u32(r);
    g->lat = rd_u32(r);
    g->vec1 = rd_u16(r);
    g->vec2 = rd_u16(r);
    g->vec3 = rd_u32(r);
    g->direction = rd_u16(r);
    g->altitude = rd_u16(r);
    g->state = rd_u32(r);
    g->alarm = rd_u32(r);
    g->time = jt809_gnss11_time(g);
}

static void jt809_gnss11_encode(struct wr *w, const struct jt809_gnss11 *g)
{
    wr_u8(w, g->encrypt);
    wr_u8(w, g->day);
    wr_u8(w, g->month);
    wr_u16(w, g->year);
    wr_u8(w, g->hour);
    wr_u8(w, g->minute);
    wr_u8(w, g->second);
    wr_u32(w, g->lon);
    wr_u32(w, g->lat);
    wr_u16(w, g->vec1);
    wr_u16(w, g->vec2);
    wr_u32(w, g->vec3);
    wr_u16(w, g->direction);
    wr_u16(w, g->altitude);
    wr_u32(w, g->state);
    wr_u32(w, g->alarm);
}

static int jt809_gnss19_decode(struct rd *r, struct jt809_gnss19 *g)
{
    g->encrypt = rd_u8(r);
    g->gnss_data = jt809_rd_lv(r);
    if (r->err)
        return r->err;
    int rc = jt808_loc_decode(g->gnss_data, &g->loc);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 3; i++) {
        g->platform_id[i] = rd_bytes(r, 11);
        g->alarm[i] = rd_u32(r);
    }
    return r->err;
}

static void jt809_gnss19_encode(struct wr *w, const struct jt809_gnss19 *g)
{
    wr_u8(w, g->encrypt);
    if (!wr_need(w, 4))
        return;
    uint8_t *lenp = w->p;
    w->p += 4;
    int n = jt808_loc_encode(&g->loc, w->p, (size_t)(w->end - w->p));
    if (n < 0) {
        w->err = n;
        return;
    }
    struct wr lw;
    wr_init(&lw, lenp, 4);
    wr_u32(&lw, (uint32_t)n);
    w->p += n;
    for (int i = 0; i < 3; i++) {
        wr_fixed(w, g->platform_id[i], 11);
        wr_u32(w, g->alarm[i]);
    }
}

int jt809_loc_decode(struct rd *r, uint16_t edition, struct jt809_loc *loc)
{
    loc->edition = edition;
    if (edition == JT809_ED_2019)
        return jt809_gnss19_decode(r, &loc->v19);
    jt809_gnss11_decode(r, &loc->v11);
    return r->err;
}

void jt809_loc_encode(struct wr *w, const struct jt809_loc *loc)
{
    if (loc->edition == JT809_ED_2019)
        jt809_gnss19_encode(w, &loc->v19);
    else if (loc->edition == JT809_ED_2011)
        jt809_gnss11_encode(w, &loc->v11);
    else
        w->err = RW_E_FIELD;
}

/* ---------------------------------------------------------------------------------------
 * Link management (§6)
 */

static int jt809_decode_link(struct jt809_msg *m, struct rd *r)
{
    switch (m->h.msg_id) {
    case 0x1001:
        m->u.connect_req.user_id = rd_u32(r);
        m->u.connect_req.password = rd_bytes(r, 8);
        if (ED19(m))
            m->u.connect_req.gnss_center_id = rd_u32(r);
        m->u.connect_req.down_link_ip = rd_bytes(r, 32);
        m->u.connect_req.down_link_port = rd_u16(r);
        break;
    case 0x1002:
        m->u.connect_rsp.result = rd_u8(r);
        m->u.connect_rsp.verify_code = rd_u32(r);
        break;
    case 0x1003:
        m->u.disconnect_req.user_id = rd_u32(r);
        m->u.disconnect_req.password = rd_bytes(r, 8);
        break;
    case 0x1007: case 0x1008: case 0x9002: case 0x9007: case 0x9008:
        m->u.code = rd_u8(r);
        break;
    case 0x9001: case 0x9003:
        m->u.verify_code = rd_u32(r);
        break;
    case 0x9101:
        m->u.total_recv.dynamic_info_total = rd_u32(r);
        m->u.total_recv.start_time = rd_u64(r);
        m->u.total_recv.end_time = rd_u64(r);
        break;
    case 0x1004: case 0x1005: case 0x1006: case 0x9004: case 0x9005: case 0x9006:
        break;
    default:
        return RW_E_UNSUPPORTED;
    }
    return jt809_rd_done(r);
}

static int jt809_encode_link(const struct jt809_msg *m, struct wr *w)
{
    switch (m->h.msg_id) {
    case 0x1001:
        wr_u32(w, m->u.connect_req.user_id);
        wr_fixed(w, m->u.connect_req.password, 8);
        if (ED19(m))
            wr_u32(w, m->u.connect_req.gnss_center_id);
        wr_fixed(w, m->u.connect_req.down_link_ip, 32);
        wr_u16(w, m->u.connect_req.down_link_port);
        break;
    case 0x1002:
        wr_u8(w, m->u.connect_rsp.result);
        wr_u32(w, m->u.connect_rsp.verify_code);
        break;
    case 0x1003:
        wr_u32(w, m->u.disconnect_req.user_id);
        wr_fixed(w, m->u.disconnect_req.password, 8);
        break;
    case 0x1007: case 0x1008: case 0x9002: case 0x9007: case 0x9008:
        wr_u8(w, m->u.code);
        break;
    case 0x9001: case 0x9003:
        wr_u32(w, m->u.verify_code);
        break;
    case 0x9101:
        wr_u32(w, m->u.total_recv.dynamic_info_total);
        wr_u64(w, m->u.total_recv.start_time);
        wr_u64(w, m->u.total_recv.end_time);
        break;
    case 0x1004: case 0x1005: case 0x1006: case 0x9004: case 0x9005: case 0x9006:
        break;
    default:
        return RW_E_UNSUPPORTED;
    }
    return w->err;
}

/* ---------------------------------------------------------------------------------------
 * Envelope (§7.1)
 */

static int jt809_env_decode(struct jt809_msg *m)
{
    struct jt809_env *e = &m->env;
    struct rd r;
    rd_init(&r, m->body.p, m->body.len);
    uint16_t id = m->h.msg_id;
    e->has_vehicle = (uint8_t)jt809_has_vehicle(id, m->h.edition);
    /* 2019 0x9201 seen without VEHICLE_NO/COLOR: 13 bytes starting with 0x9201. */
    if (id == 0x9200 && ED19(m) && m->body.len == 13 && jt809_peek_u16(&r, 0) == 0x9201) {
        e->has_vehicle = 0;
        e->layout = JT809_ENV_BARE;
    }
    if (e->has_vehicle) {
        e->vehicle_no = rd_bytes(&r, 21);
        e->vehicle_color = rd_u8(&r);
    }
    e->data_type = rd_u16(&r);
    uint16_t next = jt809_peek_u16(&r, 0);
    if (id == 0x1200 && (e->data_type == 0x1205 || e->data_type == 0x1206) &&
        (next == 0x9205 || next == 0x9206)) {
        e->layout = JT809_ENV_T2_ACK; /* §8.1 note: T2's order */
        e->data = rd_rest(&r);
        e->data_length = e->data.len;
        return r.err;
    }
    e->data_length = rd_u32(&r);
    if (r.err)
        return r.err;
    if (e->data_length > rd_left(&r))
        return RW_E_LENGTH;
    e->data = rd_bytes(&r, e->data_length);
    return jt809_rd_done(&r);
}

/* ---------------------------------------------------------------------------------------
 * 0x1200 / 0x9200 (§8.1, §8.2)
 */

static int jt809_decode_1201(struct jt809_register *g, struct rd *d)
{
    size_t n = rd_left(d);
    if (n != 49 && n != 61 && n != 110)
        return RW_E_LENGTH;
    g->layout = (uint8_t)n;
    g->platform_id = rd_bytes(d, 11);
    g->producer_id = rd_bytes(d, 11);
    g->model = rd_bytes(d, n == 49 ? 8 : n == 61 ? 20 : 30);
    if (n == 110)
        g->imei = rd_bytes(d, 15);
    g->terminal_id = rd_bytes(d, n == 110 ? 30 : 7);
    g->sim = rd_bytes(d, n == 110 ? 13 : 12);
    return jt809_rd_done(d);
}

static void jt809_encode_1201(const struct jt809_register *g, uint16_t edition, struct wr *w)
{
    unsigned n = g->layout ? g->layout : edition == JT809_ED_2019 ? 110 : 49;
    if (n != 49 && n != 61 && n != 110) {
        w->err = RW_E_FIELD;
        return;
    }
    wr_fixed(w, g->platform_id, 11);
    wr_fixed(w, g->producer_id, 11);
    wr_fixed(w, g->model, n == 49 ? 8 : n == 61 ? 20 : 30);
    if (n == 110)
        wr_fixed(w, g->imei, 15);
    wr_fixed(w, g->terminal_id, n == 110 ? 30 : 7);
    wr_fixed(w, g->sim, n == 110 ? 13 : 12);
}

static int jt809_decode_history(struct jt809_history *h, uint16_t edition, struct rd *d)
{
    h->cnt = rd_u8(d);
    if (d->err)
        return d->err;
    if (h->cnt == 0 || h->cnt > JT809_HIS_MAX)
        return RW_E_FIELD;
    for (unsigned i = 0; i < h->cnt; i++) {
        int rc = jt809_loc_decode(d, edition, &h->loc[i]);
        if (rc < 0)
            return rc;
    }
    return jt809_rd_done(d);
}

static void jt809_encode_history(const struct jt809_history *h, struct wr *w)
{
    if (h->cnt == 0 || h->cnt > JT809_HIS_MAX) {
        w->err = RW_E_FIELD;
        return;
    }
    wr_u8(w, h->cnt);
    for (unsigned i = 0; i < h->cnt; i++)
        jt809_loc_encode(w, &h->loc[i]);
}

/* Source fields and result: by length (0, 1, 4 info_id, 6, 7, 10 = 6 + zero uint32). */
static int jt809_decode_ack(struct jt809_ack *a, struct rd *d, int allow_zero, int allow_id)
{
    size_t n = rd_left(d);
    if (n == 4 && allow_id) {
        a->has_info_id = 1;
        a->info_id = rd_u32(d);
        return jt809_rd_done(d);
    }
    if (n >= 6) {
        a->has_src = 1;
        a->source_data_type = rd_u16(d);
        a->source_msg_sn = rd_u32(d);
    }
    if (allow_zero && rd_left(d) == 4) {
        if (rd_u32(d) != 0)
            return RW_E_FIELD;
        a->trailing_zero = 1;
    } else if (rd_left(d) == 1) {
        a->has_result = 1;
        a->result = rd_u8(d);
    }
    return rd_left(d) ? RW_E_LENGTH : d->err;
}

static void jt809_encode_ack(const struct jt809_ack *a, struct wr *w)
{
    if (a->has_info_id)
        wr_u32(w, a->info_id);
    if (a->has_src) {
        wr_u16(w, a->source_data_type);
        wr_u32(w, a->source_msg_sn);
    }
    if (a->has_result)
        wr_u8(w, a->result);
    if (a->trailing_zero)
        wr_u32(w, 0);
}

static int jt809_decode_120a(struct jt809_driver *v, struct rd *d)
{
    size_t n = rd_left(d);
    if (n != 276 && n != 290)
        return RW_E_LENGTH;
    if (n == 290) {
        v->has_src = 1;
        v->source_data_type = rd_u16(d);
        v->source_msg_sn = rd_u32(d);
    }
    v->driver_name = rd_bytes(d, 16);
    v->driver_id = rd_bytes(d, 20);
    v->licence = rd_bytes(d, 40);
    v->org_name = rd_bytes(d, 200);
    if (n == 290)
        v->valid_date = rd_u64(d);
    return jt809_rd_done(d);
}

static void jt809_encode_120a(const struct jt809_driver *v, struct wr *w)
{
    if (v->has_src) {
        wr_u16(w, v->source_data_type);
        wr_u32(w, v->source_msg_sn);
    }
    wr_fixed(w, v->driver_name, 16);
    wr_fixed(w, v->driver_id, 20);
    wr_fixed(w, v->licence, 40);
    wr_fixed(w, v->org_name, 200);
    if (v->has_src)
        wr_u64(w, v->valid_date);
}

static int jt809_decode_text(struct jt809_text *t, struct rd *d, int src, int len)
{
    t->has_src = (uint8_t)src;
    t->has_len = (uint8_t)len;
    if (src) {
        t->source_data_type = rd_u16(d);
        t->source_msg_sn = rd_u32(d);
    }
    t->text = len ? jt809_rd_lv(d) : rd_rest(d);
    return jt809_rd_done(d);
}

static void jt809_encode_text(const struct jt809_text *t, struct wr *w)
{
    if (t->has_src) {
        wr_u16(w, t->source_data_type);
        wr_u32(w, t->source_msg_sn);
    }
    if (t->has_len)
        jt809_wr_lv(w, t->text);
    else
        wr_mem(w, t->text.p, t->text.len);
}

static int jt809_decode_1200(struct jt809_msg *m, struct rd *d)
{
    uint16_t ed = m->h.edition;
    switch (m->env.data_type) {
    case 0x1201: return jt809_decode_1201(&m->u.reg, d);
    case 0x1202: case 0x9202: {
        int rc = jt809_loc_decode(d, ed, &m->u.loc);
        return rc < 0 ? rc : jt809_rd_done(d);
    }
    case 0x1203: case 0x9203: return jt809_decode_history(&m->u.his, ed, d);
    case 0x1205: case 0x1206:
        if (rd_left(d) != 0 && rd_left(d) != 6 && rd_left(d) != 10)
            return RW_E_LENGTH;
        return jt809_decode_ack(&m->u.ack, d, 1, 0);
    case 0x1207: case 0x1209:
        m->u.period.start_time = rd_u64(d);
        m->u.period.end_time = rd_u64(d);
        return jt809_rd_done(d);
    case 0x1208: case 0x920A: case 0x920B: return jt809_rd_done(d);
    case 0x120A: return jt809_decode_120a(&m->u.driver, d);
    case 0x120B: return jt809_decode_text(&m->u.text, d, 0, 1);
    case 0x9201: case 0x9207: case 0x9208: case 0x9209:
        if (rd_left(d) != 1 && rd_left(d) != 7)
            return RW_E_LENGTH;
        return jt809_decode_ack(&m->u.ack, d, 0, 0);
    case 0x9204: return jt809_decode_text(&m->u.text, d, 0, 0);
    case 0x9205: case 0x9206:
        m->u.code = rd_u8(d);
        return jt809_rd_done(d);
    default: return RW_E_UNSUPPORTED;
    }
}

static int jt809_encode_1200(const struct jt809_msg *m, struct wr *w)
{
    switch (m->env.data_type) {
    case 0x1201: jt809_encode_1201(&m->u.reg, m->h.edition, w); break;
    case 0x1202: case 0x9202: jt809_loc_encode(w, &m->u.loc); break;
    case 0x1203: case 0x9203: jt809_encode_history(&m->u.his, w); break;
    case 0x1205: case 0x1206:
    case 0x9201: case 0x9207: case 0x9208: case 0x9209: jt809_encode_ack(&m->u.ack, w); break;
    case 0x1207: case 0x1209:
        wr_u64(w, m->u.period.start_time);
        wr_u64(w, m->u.period.end_time);
        break;
    case 0x1208: case 0x920A: case 0x920B: break;
    case 0x120A: jt809_encode_120a(&m->u.driver, w); break;
    case 0x120B: case 0x9204: jt809_encode_text(&m->u.text, w); break;
    case 0x9205: case 0x9206: wr_u8(w, m->u.code); break;
    default: return RW_E_UNSUPPORTED;
    }
    return w->err;
}

/* ---------------------------------------------------------------------------------------
 * 0x1300 / 0x9300 (§8.3)
 */

/* Fixed part before INFO_CONTENT and the offset of INFO_LENGTH, per layout and sub-type. */
static size_t jt809_post_fixed(uint16_t type, uint8_t layout, size_t *len_off)
{
    if (layout == JT809_POST_PLAIN) {
        *len_off = 4;
        return 8;
    }
    if (layout == JT809_POST_OBJ12) {
        *len_off = 17;
        return 21;
    }
    *len_off = type == 0x1301 ? 63 : 26;
    return type == 0x1301 ? 67 : 30;
}

/* Picks the layout whose INFO_LENGTH accounts for exactly the DATA bytes (§8.3 rule). */
static uint8_t jt809_post_layout(uint16_t type, uint16_t edition, const struct rd *d)
{
    static const uint8_t order11[] = {JT809_POST_OBJ12, JT809_POST_PLAIN, JT809_POST_2019};
    static const uint8_t order19[] = {JT809_POST_2019, JT809_POST_OBJ12, JT809_POST_PLAIN};
    const uint8_t *order = edition == JT809_ED_2019 ? order19 : order11;
    for (int i = 0; i < 3; i++) {
        if (type == 0x9302 && order[i] == JT809_POST_2019)
            continue;
        size_t off;
        size_t fixed = jt809_post_fixed(type, order[i], &off);
        if (rd_left(d) < fixed)
            continue;
        uint32_t len = jt809_peek_u32(d, off);
        if ((uint64_t)fixed + len == rd_left(d))
            return order[i];
    }
    return 0;
}

static int jt809_decode_post(struct jt809_post *p, uint16_t type, uint16_t ed, struct rd *d)
{
    p->layout = jt809_post_layout(type, ed, d);
    if (!p->layout)
        return RW_E_LENGTH;
    if (p->layout != JT809_POST_PLAIN)
        p->object_type = rd_u8(d);
    if (p->layout == JT809_POST_OBJ12)
        p->object_id = rd_bytes(d, 12);
    if (p->layout == JT809_POST_2019 && type == 0x1301) {
        p->responder = rd_bytes(d, 16);
        p->responder_tel = rd_bytes(d, 20);
        p->object_id = rd_bytes(d, 20);
        p->source_data_type = rd_u16(d);
        p->source_msg_sn = rd_u32(d);
    } else {
        if (p->layout == JT809_POST_2019) {
            p->object_id = rd_bytes(d, 20);
            p->answer_time = rd_u8(d);
        }
        p->info_id = rd_u32(d);
    }
    p->info_content = jt809_rd_lv(d);
    return jt809_rd_done(d);
}

static void jt809_encode_post(const struct jt809_post *p, uint16_t type, uint16_t ed,
                              struct wr *w)
{
    uint8_t lay = p->layout;
    if (!lay)
        lay = ed == JT809_ED_2019 && type != 0x9302 ? JT809_POST_2019 : JT809_POST_OBJ12;
    if (lay != JT809_POST_PLAIN)
        wr_u8(w, p->object_type);
    if (lay == JT809_POST_OBJ12)
        wr_fixed(w, p->object_id, 12);
    if (lay == JT809_POST_2019 && type == 0x1301) {
        wr_fixed(w, p->responder, 16);
        wr_fixed(w, p->responder_tel, 20);
        wr_fixed(w, p->object_id, 20);
        wr_u16(w, p->source_data_type);
        wr_u32(w, p->source_msg_sn);
    } else {
        if (lay == JT809_POST_2019) {
            wr_fixed(w, p->object_id, 20);
            wr_u8(w, p->answer_time);
        }
        wr_u32(w, p->info_id);
    }
    jt809_wr_lv(w, p->info_content);
}

static int jt809_decode_1300(struct jt809_msg *m, struct rd *d)
{
    uint16_t t = m->env.data_type;
    switch (t) {
    case 0x1301: case 0x9301: case 0x9302:
        return jt809_decode_post(&m->u.post, t, m->h.edition, d);
    case 0x1302:
        if (rd_left(d) != 4 && rd_left(d) != 6)
            return RW_E_LENGTH;
        return jt809_decode_ack(&m->u.ack, d, 0, 1);
    default:
        return RW_E_UNSUPPORTED;
    }
}

static int jt809_encode_1300(const struct jt809_msg *m, struct wr *w)
{
    uint16_t t = m->env.data_type;
    switch (t) {
    case 0x1301: case 0x9301: case 0x9302:
        jt809_encode_post(&m->u.post, t, m->h.edition, w);
        break;
    case 0x1302: jt809_encode_ack(&m->u.ack, w); break;
    default: return RW_E_UNSUPPORTED;
    }
    return w->err;
}

/* ---------------------------------------------------------------------------------------
 * 0x1400 / 0x9400 (§8.4)
 */

/* The 2019 alarm body (1402, 1403, 9402, 9403): three second times (fixed 78) or the
 * deviating two-ms-times form (fixed 70), told apart by INFO_LENGTH (§8.4 rule). */
static int jt809_decode_warn19(struct jt809_warn *v, struct rd *d)
{
    size_t n = rd_left(d);
    if (n >= 78 && 78 + (uint64_t)jt809_peek_u32(d, 74) == n)
        v->layout = JT809_WARN_2019;
    else if (n >= 70 && 70 + (uint64_t)jt809_peek_u32(d, 66) == n)
        v->layout = JT809_WARN_2019_2T;
    else
        return n < 70 ? RW_E_TRUNCATED : RW_E_LENGTH;
    v->source_platform_id = rd_bytes(d, 11);
    v->warn_type = rd_u16(d);
    v->warn_time = rd_u64(d);
    if (v->layout == JT809_WARN_2019)
        v->start_time = rd_u64(d);
    v->end_time = rd_u64(d);
    v->vehicle_no = rd_bytes(d, 21);
    v->vehicle_color = rd_u8(d);
    v->dest_platform_id = rd_bytes(d, 11);
    v->drv_line_id = rd_u32(d);
    v->info_content = jt809_rd_lv(d);
    return jt809_rd_done(d);
}

static void jt809_encode_warn19(const struct jt809_warn *v, uint8_t lay, struct wr *w)
{
    wr_fixed(w, v->source_platform_id, 11);
    wr_u16(w, v->warn_type);
    wr_u64(w, v->warn_time);
    if (lay == JT809_WARN_2019)
        wr_u64(w, v->start_time);
    wr_u64(w, v->end_time);
    wr_fixed(w, v->vehicle_no, 21);
    wr_u8(w, v->vehicle_color);
    wr_fixed(w, v->dest_platform_id, 11);
    wr_u32(w, v->drv_line_id);
    jt809_wr_lv(w, v->info_content);
}

/* 2011 1402 (with INFO_ID) and 9402/9403 (without). */
static int jt809_decode_warn11(struct jt809_warn *v, struct rd *d, int info_id)
{
    v->layout = JT809_WARN_2011;
    v->warn_src = rd_u8(d);
    v->warn_type = rd_u16(d);
    v->warn_time = rd_u64(d);
    if (info_id)
        v->info_id = rd_u32(d);
    v->info_content = jt809_rd_lv(d);
    return jt809_rd_done(d);
}

static void jt809_encode_warn11(const struct jt809_warn *v, struct wr *w, int info_id)
{
    wr_u8(w, v->warn_src);
    wr_u16(w, v->warn_type);
    wr_u64(w, v->warn_time);
    if (info_id)
        wr_u32(w, v->info_id);
    jt809_wr_lv(w, v->info_content);
}

/* 9401 (90, 92 or 102 bytes) and 1413 (102, T4 layout). */
static int jt809_decode_urge(struct jt809_warn *v, struct rd *d)
{
    size_t n = rd_left(d);
    if (n != 90 && n != 92 && n != 102)
        return RW_E_LENGTH;
    v->layout = n == 90 ? JT809_WARN_9401_E30 : n == 92 ? JT809_WARN_9401_E32
                                                        : JT809_WARN_9401_T4;
    if (n == 102) {
        v->source_platform_id = rd_bytes(d, 11);
        v->warn_time = rd_u64(d);
        v->source_data_type = rd_u16(d);
        v->source_msg_sn = rd_u32(d);
    } else {
        v->warn_src = rd_u8(d);
        v->warn_type = rd_u16(d);
        v->warn_time = rd_u64(d);
        v->supervision_id = rd_u32(d);
    }
    v->supervision_endtime = rd_u64(d);
    v->supervision_level = rd_u8(d);
    v->supervisor = rd_bytes(d, 16);
    v->supervision_tel = rd_bytes(d, 20);
    v->supervision_email = rd_bytes(d, n == 90 ? 30 : 32);
    return jt809_rd_done(d);
}

static void jt809_encode_urge(const struct jt809_warn *v, uint8_t lay, struct wr *w)
{
    if (lay == JT809_WARN_9401_T4) {
        wr_fixed(w, v->source_platform_id, 11);
        wr_u64(w, v->warn_time);
        wr_u16(w, v->source_data_type);
        wr_u32(w, v->source_msg_sn);
    } else {
        wr_u8(w, v->warn_src);
        wr_u16(w, v->warn_type);
        wr_u64(w, v->warn_time);
        wr_u32(w, v->supervision_id);
    }
    wr_u64(w, v->supervision_endtime);
    wr_u8(w, v->supervision_level);
    wr_fixed(w, v->supervisor, 16);
    wr_fixed(w, v->supervision_tel, 20);
    wr_fixed(w, v->supervision_email, lay == JT809_WARN_9401_E30 ? 30 : 32);
}

/* 1401 (5 or 11 bytes), 1403 in its 2011 form (5), 1411/1412 (7). */
static int jt809_decode_warn_ack(struct jt809_warn *v, uint16_t type, struct rd *d)
{
    size_t n = rd_left(d);
    if (type == 0x1411 || type == 0x1412) {
        v->layout = JT809_WARN_ACK;
    } else if (n == 11 && type == 0x1401) {
        v->layout = JT809_WARN_1401_11;
        v->supervision_id = rd_u32(d);
    } else if (n == 5) {
        v->layout = JT809_WARN_2011;
        if (type == 0x1401)
            v->supervision_id = rd_u32(d);
        else
            v->info_id = rd_u32(d);
    } else {
        return RW_E_LENGTH;
    }
    if (v->layout != JT809_WARN_2011) {
        v->source_data_type = rd_u16(d);
        v->source_msg_sn = rd_u32(d);
    }
    v->result = rd_u8(d);
    return jt809_rd_done(d);
}

static void jt809_encode_warn_ack(const struct jt809_warn *v, uint16_t type, uint8_t lay,
                                  struct wr *w)
{
    if (lay == JT809_WARN_1401_11 || (lay == JT809_WARN_2011 && type == 0x1401))
        wr_u32(w, v->supervision_id);
    else if (lay == JT809_WARN_2011)
        wr_u32(w, v->info_id);
    if (lay != JT809_WARN_2011) {
        wr_u16(w, v->source_data_type);
        wr_u32(w, v->source_msg_sn);
    }
    wr_u8(w, v->result);
}

static int jt809_decode_1400(struct jt809_msg *m, struct rd *d)
{
    struct jt809_warn *v = &m->u.warn;
    uint16_t t = m->env.data_type;
    switch (t) {
    case 0x1402:
        return ED19(m) ? jt809_decode_warn19(v, d) : jt809_decode_warn11(v, d, 1);
    case 0x9402: case 0x9403:
        return ED19(m) ? jt809_decode_warn19(v, d) : jt809_decode_warn11(v, d, 0);
    case 0x1403:
        return rd_left(d) == 5 ? jt809_decode_warn_ack(v, t, d) : jt809_decode_warn19(v, d);
    case 0x1401: case 0x1411: case 0x1412:
        return jt809_decode_warn_ack(v, t, d);
    case 0x1413:
        if (rd_left(d) != 102)
            return RW_E_LENGTH;
        return jt809_decode_urge(v, d);
    case 0x9401:
        return jt809_decode_urge(v, d);
    default:
        return RW_E_UNSUPPORTED;
    }
}

/* The layout the encoder sends when none was recorded (README-jt809.md). */
static uint8_t jt809_warn_default(uint16_t type, uint16_t ed)
{
    int e19 = ed == JT809_ED_2019;
    switch (type) {
    case 0x1401: return e19 ? JT809_WARN_1401_11 : JT809_WARN_2011;
    case 0x1403: case 0x1402: case 0x9402: case 0x9403:
        return e19 ? JT809_WARN_2019 : JT809_WARN_2011;
    case 0x1411: case 0x1412: return JT809_WARN_ACK;
    case 0x1413: return JT809_WARN_9401_T4;
    case 0x9401: return e19 ? JT809_WARN_9401_E32 : JT809_WARN_9401_E30;
    default: return 0;
    }
}

static int jt809_encode_1400(const struct jt809_msg *m, struct wr *w)
{
    const struct jt809_warn *v = &m->u.warn;
    uint16_t t = m->env.data_type;
    uint8_t lay = v->layout ? v->layout : jt809_warn_default(t, m->h.edition);
    switch (t) {
    case 0x1402: case 0x1403: case 0x9402: case 0x9403:
        if (lay == JT809_WARN_2019 || lay == JT809_WARN_2019_2T)
            jt809_encode_warn19(v, lay, w);
        else if (t == 0x1403)
            jt809_encode_warn_ack(v, t, lay, w);
        else
            jt809_encode_warn11(v, w, t == 0x1402);
        break;
    case 0x1401: case 0x1411: case 0x1412: jt809_encode_warn_ack(v, t, lay, w); break;
    case 0x1413: jt809_encode_urge(v, JT809_WARN_9401_T4, w); break;
    case 0x9401: jt809_encode_urge(v, lay, w); break;
    default: return RW_E_UNSUPPORTED;
    }
    return w->err;
}

/* ---------------------------------------------------------------------------------------
 * 0x1600 / 0x9600 (§8.6)
 */

static int jt809_decode_1600(struct jt809_msg *m, struct rd *d)
{
    switch (m->env.data_type) {
    case 0x1601: return jt809_decode_text(&m->u.text, d, ED19(m), 0);
    case 0x9601: return jt809_rd_done(d);
    default: return RW_E_UNSUPPORTED;
    }
}

static int jt809_encode_1600(const struct jt809_msg *m, struct wr *w)
{
    switch (m->env.data_type) {
    case 0x1601: jt809_encode_text(&m->u.text, w); break;
    case 0x9601: break;
    default: return RW_E_UNSUPPORTED;
    }
    return w->err;
}

/* ---------------------------------------------------------------------------------------
 * Dispatch
 */

static int jt809_decode_sub(struct jt809_msg *m)
{
    struct rd d;
    rd_init(&d, m->env.data.p, m->env.data.len);
    switch (m->h.msg_id) {
    case 0x1200: case 0x9200: return jt809_decode_1200(m, &d);
    case 0x1300: case 0x9300: return jt809_decode_1300(m, &d);
    case 0x1400: case 0x9400: return jt809_decode_1400(m, &d);
    case 0x1600: case 0x9600: return jt809_decode_1600(m, &d);
    default: return RW_E_UNSUPPORTED; /* 0x1500 / 0x9500: envelope only */
    }
}

int jt809_body_decode(struct jt809_msg *m)
{
    m->sub_known = 0;
    memset(&m->env, 0, sizeof m->env);
    memset(&m->u, 0, sizeof m->u);
    if (m->h.edition != JT809_ED_2011 && m->h.edition != JT809_ED_2019)
        return RW_E_FIELD;
    int rc;
    if (jt809_is_business(m->h.msg_id)) {
        rc = jt809_env_decode(m);
        if (rc == 0)
            rc = jt809_decode_sub(m);
    } else {
        struct rd r;
        rd_init(&r, m->body.p, m->body.len);
        rc = jt809_decode_link(m, &r);
    }
    if (rc == 0)
        m->sub_known = 1;
    else if (rc != RW_E_UNSUPPORTED)
        memset(&m->u, 0, sizeof m->u);
    return rc;
}

static int jt809_encode_sub(const struct jt809_msg *m, struct wr *w)
{
    if (!m->sub_known) {
        wr_mem(w, m->env.data.p, m->env.data.len);
        return w->err;
    }
    switch (m->h.msg_id) {
    case 0x1200: case 0x9200: return jt809_encode_1200(m, w);
    case 0x1300: case 0x9300: return jt809_encode_1300(m, w);
    case 0x1400: case 0x9400: return jt809_encode_1400(m, w);
    case 0x1600: case 0x9600: return jt809_encode_1600(m, w);
    default: return RW_E_UNSUPPORTED;
    }
}

static int jt809_encode_business(const struct jt809_msg *m, struct wr *w)
{
    const struct jt809_env *e = &m->env;
    int veh = e->layout == JT809_ENV_BARE ? 0 : jt809_has_vehicle(m->h.msg_id, m->h.edition);
    if (veh) {
        wr_fixed(w, e->vehicle_no, 21);
        wr_u8(w, e->vehicle_color);
    }
    wr_u16(w, e->data_type);
    if (e->layout == JT809_ENV_T2_ACK)
        return jt809_encode_sub(m, w);
    if (!wr_need(w, 4))
        return w->err;
    uint8_t *lenp = w->p;
    w->p += 4;
    uint8_t *start = w->p;
    int rc = jt809_encode_sub(m, w);
    if (rc < 0)
        return rc;
    struct wr lw;
    wr_init(&lw, lenp, 4);
    wr_u32(&lw, (uint32_t)(w->p - start));
    return w->err;
}

int jt809_body_encode(const struct jt809_msg *m, uint8_t *out, size_t cap)
{
    if (m->h.edition != JT809_ED_2011 && m->h.edition != JT809_ED_2019)
        return RW_E_FIELD;
    struct wr w;
    wr_init(&w, out, cap);
    int rc;
    if (jt809_is_business(m->h.msg_id)) {
        rc = jt809_encode_business(m, &w);
    } else if (!m->sub_known) {
        wr_mem(&w, m->body.p, m->body.len);
        rc = w.err;
    } else {
        rc = jt809_encode_link(m, &w);
    }
    if (rc < 0)
        return rc;
    if (w.err)
        return w.err;
    return (int)wr_len(&w);
}
