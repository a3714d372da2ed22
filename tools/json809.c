/* json809.c: JT/T 809 messages <-> JSON for the decode/encode verbs (tools/tool.h).
 *
 * Shape (every decoded field, snake_case):
 *   {"edition":2019, "msg_length":216, "msg_sn":877, "msg_id":4608, "name":"UP_EXG_MSG",
 *    "gnss_center_id":86896940, "access_code":86896940, "version":"1.2.15",
 *    "encrypt_flag":1, "encrypt_key":15241, "time":"...+08:00", "time_s":1759037327,
 *    "env":{"vehicle_no":"...", "vehicle_color":2, "color_name":"yellow",
 *           "data_type":4610, "data_type_name":"...", "data_length":154, "layout":0},
 *    "body":{...}}
 * Sub-bodies are described by one field table per struct, used both ways, so the two
 * directions cannot drift apart. Numbers that are zero and text that is absent are left
 * out of "body" (the encoder reads them back as zero/absent). Text that would not survive
 * GBK -> UTF-8 -> GBK with its NUL padding (binary IDs, inner NULs) also gets a
 * "<name>_hex" member with the raw bytes, which the builder prefers. Messages or
 * sub-types without a decoded form carry "body_hex" / "data_hex" instead. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "engine/proto/jt809.h"
#include "tools/tool.h"

enum jk { JK_U8, JK_U16, JK_U32, JK_U64, JK_TEXT, JK_TIME };

struct jfield {
    const char *name;
    uint8_t kind;
    uint16_t off;
};

#define JF(s, f, k) {#f, k, (uint16_t)offsetof(struct s, f)}

static const struct jfield jf_connect_req[] = {
    JF(jt809_connect_req, user_id, JK_U32), JF(jt809_connect_req, password, JK_TEXT),
    JF(jt809_connect_req, gnss_center_id, JK_U32),
    JF(jt809_connect_req, down_link_ip, JK_TEXT),
    JF(jt809_connect_req, down_link_port, JK_U16),
};
static const struct jfield jf_connect_rsp[] = {
    JF(jt809_connect_rsp, result, JK_U8), JF(jt809_connect_rsp, verify_code, JK_U32),
};
static const struct jfield jf_disconnect_req[] = {
    JF(jt809_disconnect_req, user_id, JK_U32), JF(jt809_disconnect_req, password, JK_TEXT),
};
static const struct jfield jf_code[] = {{"code", JK_U8, 0}};
static const struct jfield jf_verify[] = {{"verify_code", JK_U32, 0}};
static const struct jfield jf_total[] = {
    JF(jt809_total_recv, dynamic_info_total, JK_U32),
    JF(jt809_total_recv, start_time, JK_TIME), JF(jt809_total_recv, end_time, JK_TIME),
};
static const struct jfield jf_register[] = {
    JF(jt809_register, layout, JK_U8),      JF(jt809_register, platform_id, JK_TEXT),
    JF(jt809_register, producer_id, JK_TEXT), JF(jt809_register, model, JK_TEXT),
    JF(jt809_register, imei, JK_TEXT),      JF(jt809_register, terminal_id, JK_TEXT),
    JF(jt809_register, sim, JK_TEXT),
};
static const struct jfield jf_ack[] = {
    JF(jt809_ack, has_src, JK_U8),          JF(jt809_ack, has_result, JK_U8),
    JF(jt809_ack, has_info_id, JK_U8),      JF(jt809_ack, trailing_zero, JK_U8),
    JF(jt809_ack, source_data_type, JK_U16), JF(jt809_ack, source_msg_sn, JK_U32),
    JF(jt809_ack, info_id, JK_U32),         JF(jt809_ack, result, JK_U8),
};
static const struct jfield jf_period[] = {
    JF(jt809_period, start_time, JK_TIME), JF(jt809_period, end_time, JK_TIME),
};
static const struct jfield jf_driver[] = {
    JF(jt809_driver, has_src, JK_U8),       JF(jt809_driver, source_data_type, JK_U16),
    JF(jt809_driver, source_msg_sn, JK_U32), JF(jt809_driver, driver_name, JK_TEXT),
    JF(jt809_driver, driver_id, JK_TEXT),   JF(jt809_driver, licence, JK_TEXT),
    JF(jt809_driver, org_name, JK_TEXT),    JF(jt809_driver, valid_date, JK_TIME),
};
static const struct jfield jf_text[] = {
    JF(jt809_text, has_src, JK_U8),         JF(jt809_text, has_len, JK_U8),
    JF(jt809_text, source_data_type, JK_U16), JF(jt809_text, source_msg_sn, JK_U32),
    JF(jt809_text, text, JK_TEXT),
};
static const struct jfield jf_post[] = {
    JF(jt809_post, layout, JK_U8),          JF(jt809_post, object_type, JK_U8),
    JF(jt809_post, object_id, JK_TEXT),     JF(jt809_post, answer_time, JK_U8),
    JF(jt809_post, responder, JK_TEXT),     JF(jt809_post, responder_tel, JK_TEXT),
    JF(jt809_post, source_data_type, JK_U16), JF(jt809_post, source_msg_sn, JK_U32),
    JF(jt809_post, info_id, JK_U32),        JF(jt809_post, info_content, JK_TEXT),
};
static const struct jfield jf_warn[] = {
    JF(jt809_warn, layout, JK_U8),          JF(jt809_warn, warn_src, JK_U8),
    JF(jt809_warn, warn_type, JK_U16),      JF(jt809_warn, warn_time, JK_TIME),
    JF(jt809_warn, start_time, JK_TIME),    JF(jt809_warn, end_time, JK_TIME),
    JF(jt809_warn, source_platform_id, JK_TEXT), JF(jt809_warn, vehicle_no, JK_TEXT),
    JF(jt809_warn, vehicle_color, JK_U8),   JF(jt809_warn, dest_platform_id, JK_TEXT),
    JF(jt809_warn, drv_line_id, JK_U32),    JF(jt809_warn, info_id, JK_U32),
    JF(jt809_warn, info_content, JK_TEXT),  JF(jt809_warn, supervision_id, JK_U32),
    JF(jt809_warn, supervision_endtime, JK_TIME), JF(jt809_warn, supervision_level, JK_U8),
    JF(jt809_warn, supervisor, JK_TEXT),    JF(jt809_warn, supervision_tel, JK_TEXT),
    JF(jt809_warn, supervision_email, JK_TEXT), JF(jt809_warn, source_data_type, JK_U16),
    JF(jt809_warn, source_msg_sn, JK_U32),  JF(jt809_warn, result, JK_U8),
};
static const struct jfield jf_gnss11[] = {
    JF(jt809_gnss11, encrypt, JK_U8),   JF(jt809_gnss11, day, JK_U8),
    JF(jt809_gnss11, month, JK_U8),     JF(jt809_gnss11, year, JK_U16),
    JF(jt809_gnss11, hour, JK_U8),      JF(jt809_gnss11, minute, JK_U8),
    JF(jt809_gnss11, second, JK_U8),    JF(jt809_gnss11, lon, JK_U32),
    JF(jt809_gnss11, lat, JK_U32),      JF(jt809_gnss11, vec1, JK_U16),
    JF(jt809_gnss11, vec2, JK_U16),     JF(jt809_gnss11, vec3, JK_U32),
    JF(jt809_gnss11, direction, JK_U16), JF(jt809_gnss11, altitude, JK_U16),
    JF(jt809_gnss11, state, JK_U32),    JF(jt809_gnss11, alarm, JK_U32),
};

struct jtab {
    const struct jfield *f;
    size_t n;
};
#define JTAB(t) ((struct jtab){t, sizeof(t) / sizeof(t[0])})
#define JTAB_NONE ((struct jtab){NULL, 0})

/* The field table of m->u for this message; NULL for locations and empty bodies. */
static struct jtab json809_tab(const struct jt809_msg *m)
{
    switch (m->h.msg_id) {
    case 0x1001: return JTAB(jf_connect_req);
    case 0x1002: return JTAB(jf_connect_rsp);
    case 0x1003: return JTAB(jf_disconnect_req);
    case 0x1007: case 0x1008: case 0x9002: case 0x9007: case 0x9008: return JTAB(jf_code);
    case 0x9001: case 0x9003: return JTAB(jf_verify);
    case 0x9101: return JTAB(jf_total);
    default: break;
    }
    switch (m->env.data_type) {
    case 0x1201: return JTAB(jf_register);
    case 0x1205: case 0x1206: case 0x9201: case 0x9207: case 0x9208: case 0x9209:
    case 0x1302:
        return JTAB(jf_ack);
    case 0x1207: case 0x1209: return JTAB(jf_period);
    case 0x120A: return JTAB(jf_driver);
    case 0x120B: case 0x9204: case 0x1601: return JTAB(jf_text);
    case 0x9205: case 0x9206: return JTAB(jf_code);
    case 0x1301: case 0x9301: case 0x9302: return JTAB(jf_post);
    case 0x1401: case 0x1402: case 0x1403: case 0x1411: case 0x1412: case 0x1413:
    case 0x9401: case 0x9402: case 0x9403:
        return JTAB(jf_warn);
    default: return JTAB_NONE;
    }
}

/* ---------------------------------------------------------------------------------------
 * Decode side
 */

/* 1 when <b> is text that json_gbk() + json_get_gbk() + NUL padding gives back exactly. */
static int json809_text_lossless(struct rw_bytes b)
{
    uint32_t n = 0;
    while (n < b.len && b.p[n] != 0)
        n++;
    for (uint32_t i = n; i < b.len; i++)
        if (b.p[i] != 0)
            return 0;
    if (n == 0)
        return 1;
    if (b.p[0] == ' ' || b.p[n - 1] == ' ')
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (b.p[i] < 0x20 || b.p[i] == 0x7F)
            return 0;
    char utf8[1024];
    uint8_t back[512];
    if (n > 256 || text_gbk_to_utf8(rw_bytes_of(b.p, n), utf8, sizeof utf8) < 0)
        return 0;
    int m = text_utf8_to_gbk(utf8, strlen(utf8), back, sizeof back);
    return m == (int)n && memcmp(back, b.p, n) == 0;
}

static void json809_put_text(json_t *o, const char *key, struct rw_bytes b)
{
    json_object_set_new(o, key, json_gbk(b));
    if (!json809_text_lossless(b)) {
        char hk[64];
        snprintf(hk, sizeof hk, "%s_hex", key);
        json_object_set_new(o, hk, json_hex(b));
    }
}

static void json809_put_time(json_t *o, const char *key, uint64_t t)
{
    json_object_set_new(o, key, json_integer((json_int_t)t));
    if (t == 0)
        return;
    char k[64];
    snprintf(k, sizeof k, "%s_utc", key);
    json_object_set_new(o, k, json_time_utc((int64_t)jt809_time_s(t)));
}

static void json809_put_fields(json_t *o, const void *base, struct jtab t)
{
    const uint8_t *b = base;
    for (size_t i = 0; i < t.n; i++) {
        const struct jfield *f = &t.f[i];
        const void *p = b + f->off;
        uint64_t v = 0;
        switch (f->kind) {
        case JK_U8: v = *(const uint8_t *)p; break;
        case JK_U16: v = *(const uint16_t *)p; break;
        case JK_U32: v = *(const uint32_t *)p; break;
        case JK_TIME:
            if (*(const uint64_t *)p)
                json809_put_time(o, f->name, *(const uint64_t *)p);
            continue;
        case JK_U64: v = *(const uint64_t *)p; break;
        case JK_TEXT:
            if (((const struct rw_bytes *)p)->p)
                json809_put_text(o, f->name, *(const struct rw_bytes *)p);
            continue;
        }
        if (v)
            json_object_set_new(o, f->name, json_integer((json_int_t)v));
    }
}

static json_t *json809_loc(const struct jt809_loc *l)
{
    json_t *o = json_object();
    if (l->edition == JT809_ED_2011) {
        json809_put_fields(o, &l->v11, JTAB(jf_gnss11));
        json_object_set_new(o, "lon_deg", json_real(l->v11.lon / 1e6));
        json_object_set_new(o, "lat_deg", json_real(l->v11.lat / 1e6));
        json_object_set_new(o, "time", l->v11.time == JT809_TIME_INVALID
                                           ? json_null() : json_time_utc(l->v11.time));
        return o;
    }
    const struct jt809_gnss19 *g = &l->v19;
    json_object_set_new(o, "encrypt", json_integer(g->encrypt));
    json_object_set_new(o, "gnss_data", json808_loc(&g->loc, JT808_ED_2019));
    for (int i = 0; i < 3; i++) {
        char k[32];
        snprintf(k, sizeof k, "platform_id%d", i + 1);
        json809_put_text(o, k, g->platform_id[i]);
        snprintf(k, sizeof k, "alarm%d", i + 1);
        json_object_set_new(o, k, json_integer(g->alarm[i]));
    }
    return o;
}

static json_t *json809_body(const struct jt809_msg *m)
{
    json_t *o = json_object();
    uint16_t t = m->env.data_type;
    if (t == 0x1202 || t == 0x9202) {
        json_object_set_new(o, "position", json809_loc(&m->u.loc));
    } else if (t == 0x1203 || t == 0x9203) {
        json_t *a = json_array();
        for (unsigned i = 0; i < m->u.his.cnt && i < JT809_HIS_MAX; i++)
            json_array_append_new(a, json809_loc(&m->u.his.loc[i]));
        json_object_set_new(o, "gnss_cnt", json_integer(m->u.his.cnt));
        json_object_set_new(o, "positions", a);
    } else {
        json809_put_fields(o, &m->u, json809_tab(m));
    }
    if ((m->h.msg_id == 0x1400 || m->h.msg_id == 0x9400) && m->u.warn.warn_type)
        json_object_set_new(o, "warn_type_name",
                            json_string(jt809_warn_type_name(m->u.warn.warn_type)));
    return o;
}

static json_t *json809_env(const struct jt809_msg *m)
{
    const struct jt809_env *e = &m->env;
    json_t *o = json_object();
    if (e->has_vehicle || e->vehicle_no.p) {
        json809_put_text(o, "vehicle_no", e->vehicle_no);
        json_object_set_new(o, "vehicle_color", json_integer(e->vehicle_color));
        json_object_set_new(o, "color_name", json_string(jt809_color_name(e->vehicle_color)));
    }
    json_object_set_new(o, "data_type", json_integer(e->data_type));
    json_object_set_new(o, "data_type_name", json_string(jt809_data_type_name(e->data_type)));
    json_object_set_new(o, "data_length", json_integer(e->data_length));
    json_object_set_new(o, "layout", json_integer(e->layout));
    if (!m->sub_known)
        json_object_set_new(o, "data_hex", json_hex(e->data));
    return o;
}

static void json809_header(json_t *o, const struct jt809_hdr *h)
{
    char ver[16];
    char id[8];
    snprintf(ver, sizeof ver, "%u.%u.%u", h->version[0], h->version[1], h->version[2]);
    snprintf(id, sizeof id, "0x%04x", h->msg_id);
    json_object_set_new(o, "proto", json_string("jt809"));
    json_object_set_new(o, "edition", json_integer(h->edition));
    json_object_set_new(o, "msg_length", json_integer(h->msg_length));
    json_object_set_new(o, "msg_sn", json_integer(h->msg_sn));
    json_object_set_new(o, "msg_id", json_string(id));
    json_object_set_new(o, "name", json_string(jt809_msg_name(h->msg_id)));
    json_object_set_new(o, "gnss_center_id", json_integer(h->gnss_center_id));
    json_object_set_new(o, "access_code", json_integer(h->gnss_center_id));
    json_object_set_new(o, "version", json_string(ver));
    json_object_set_new(o, "encrypt_flag", json_integer(h->encrypt_flag));
    json_object_set_new(o, "encrypt_key", json_integer(h->encrypt_key));
    if (h->edition == JT809_ED_2019) {
        json_object_set_new(o, "time", json_time_utc((int64_t)h->time));
        json_object_set_new(o, "time_s", json_integer((json_int_t)h->time));
    }
}

json_t *json809_msg(const struct jt809_msg *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json809_header(o, &m->h);
    if (jt809_is_business(m->h.msg_id)) {
        json_object_set_new(o, "env", json809_env(m));
        if (m->sub_known)
            json_object_set_new(o, "body", json809_body(m));
    } else if (m->sub_known) {
        json_object_set_new(o, "body", json809_body(m));
    } else {
        json_object_set_new(o, "body_hex", json_hex(m->body));
    }
    return o;
}

/* ---------------------------------------------------------------------------------------
 * Build side
 */

static int json809_get_text(const json_t *o, const char *key, struct arena *a,
                            struct rw_bytes *out, char *err, size_t errcap)
{
    char hk[64];
    snprintf(hk, sizeof hk, "%s_hex", key);
    int rc = json_get_hex(o, hk, a, out, err, errcap);
    if (rc != 0)
        return rc;
    return json_get_gbk(o, key, a, out, err, errcap);
}

static int json809_get_fields(const json_t *o, void *base, struct jtab t, struct arena *a,
                              char *err, size_t errcap)
{
    uint8_t *b = base;
    for (size_t i = 0; i < t.n; i++) {
        const struct jfield *f = &t.f[i];
        void *p = b + f->off;
        uint64_t v = 0;
        int rc;
        if (f->kind == JK_TEXT) {
            rc = json809_get_text(o, f->name, a, (struct rw_bytes *)p, err, errcap);
            if (rc < 0)
                return rc;
            continue;
        }
        static const uint64_t max[] = {0xFF, 0xFFFF, 0xFFFFFFFF, UINT64_MAX, 0, UINT64_MAX};
        rc = json_get_uint(o, f->name, max[f->kind], &v, err, errcap);
        if (rc < 0)
            return rc;
        switch (f->kind) {
        case JK_U8: *(uint8_t *)p = (uint8_t)v; break;
        case JK_U16: *(uint16_t *)p = (uint16_t)v; break;
        case JK_U32: *(uint32_t *)p = (uint32_t)v; break;
        default: *(uint64_t *)p = v; break;
        }
    }
    return 0;
}

static int json809_loc_build(const json_t *o, uint16_t ed, struct jt809_loc *l,
                             struct arena *a, char *err, size_t errcap)
{
    memset(l, 0, sizeof *l);
    l->edition = ed;
    if (!json_is_object(o)) {
        snprintf(err, errcap, "position: not an object");
        return RW_E_SYNTAX;
    }
    if (ed == JT809_ED_2011) {
        int64_t t;
        if (!json_object_get(o, "year") && json_get_time(o, "time", &t, err, errcap) == 1)
            jt809_gnss11_set_time(&l->v11, t);
        return json809_get_fields(o, &l->v11, JTAB(jf_gnss11), a, err, errcap);
    }
    struct jt809_gnss19 *g = &l->v19;
    uint64_t v = 0;
    int rc = json_get_uint(o, "encrypt", 0xFF, &v, err, errcap);
    g->encrypt = (uint8_t)v;
    if (rc >= 0)
        rc = json808_loc_build(json_object_get(o, "gnss_data"), &g->loc, a, err, errcap);
    for (int i = 0; i < 3 && rc >= 0; i++) {
        char k[32];
        snprintf(k, sizeof k, "platform_id%d", i + 1);
        rc = json809_get_text(o, k, a, &g->platform_id[i], err, errcap);
        snprintf(k, sizeof k, "alarm%d", i + 1);
        v = 0;
        if (rc >= 0)
            rc = json_get_uint(o, k, 0xFFFFFFFF, &v, err, errcap);
        g->alarm[i] = (uint32_t)v;
    }
    return rc < 0 ? rc : 0;
}

static int json809_body_build(const json_t *b, struct jt809_msg *m, struct arena *a,
                              char *err, size_t errcap)
{
    uint16_t t = m->env.data_type;
    if (t == 0x1202 || t == 0x9202)
        return json809_loc_build(json_object_get(b, "position"), m->h.edition, &m->u.loc, a,
                                 err, errcap);
    if (t == 0x1203 || t == 0x9203) {
        const json_t *arr = json_object_get(b, "positions");
        size_t n = json_array_size(arr);
        if (n == 0 || n > JT809_HIS_MAX) {
            snprintf(err, errcap, "positions: need 1..5 entries");
            return RW_E_FIELD;
        }
        m->u.his.cnt = (uint8_t)n;
        for (size_t i = 0; i < n; i++) {
            int rc = json809_loc_build(json_array_get(arr, i), m->h.edition,
                                       &m->u.his.loc[i], a, err, errcap);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    return json809_get_fields(b, &m->u, json809_tab(m), a, err, errcap);
}

/* Parses "a.b.c" into three bytes. */
static int json809_version(const json_t *j, uint8_t ver[3], char *err, size_t errcap)
{
    const json_t *v = json_object_get(j, "version");
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    char *end = NULL;
    for (int i = 0; i < 3; i++) {
        unsigned long x = s ? strtoul(s, &end, 10) : 256;
        if (!s || end == s || x > 255 || (i < 2 ? *end != '.' : *end != 0)) {
            snprintf(err, errcap, "version: want \"major.minor.patch\"");
            return RW_E_SYNTAX;
        }
        ver[i] = (uint8_t)x;
        s = end + 1;
    }
    return 0;
}

static int json809_header_build(const json_t *j, struct jt809_hdr *h, char *err,
                                size_t errcap)
{
    uint64_t v = 0;
    int rc = json_get_uint(j, "edition", 2019, &v, err, errcap);
    if (rc < 0)
        return rc;
    if (v != JT809_ED_2011 && v != JT809_ED_2019) {
        snprintf(err, errcap, "edition: want 2011 or 2019");
        return RW_E_FIELD;
    }
    h->edition = (uint16_t)v;
    v = 0;
    if (json_get_uint(j, "msg_id", 0xFFFF, &v, err, errcap) != 1) {
        snprintf(err, errcap, "msg_id: required, 0..65535");
        return RW_E_FIELD;
    }
    h->msg_id = (uint16_t)v;
    static const char *const u32s[] = {"msg_sn", "access_code", "gnss_center_id",
                                       "encrypt_key"};
    uint32_t *dst[] = {&h->msg_sn, &h->gnss_center_id, &h->gnss_center_id, &h->encrypt_key};
    for (int i = 0; i < 4; i++) {
        v = *dst[i];
        if ((rc = json_get_uint(j, u32s[i], 0xFFFFFFFF, &v, err, errcap)) < 0)
            return rc;
        *dst[i] = (uint32_t)v;
    }
    v = 0;
    if ((rc = json_get_uint(j, "encrypt_flag", 1, &v, err, errcap)) < 0)
        return rc;
    h->encrypt_flag = (uint8_t)v;
    int64_t t = 0;
    if (h->edition == JT809_ED_2019) {
        if (json_object_get(j, "time_s"))
            rc = json_get_uint(j, "time_s", UINT64_MAX, &h->time, err, errcap);
        else if ((rc = json_get_time(j, "time", &t, err, errcap)) == 1)
            h->time = (uint64_t)t;
        if (rc < 0)
            return rc;
    }
    return json809_version(j, h->version, err, errcap);
}

static int json809_env_build(const json_t *e, struct jt809_msg *m, struct arena *a,
                             char *err, size_t errcap)
{
    struct jt809_env *env = &m->env;
    if (!json_is_object(e)) {
        snprintf(err, errcap, "env: required for business messages");
        return RW_E_SYNTAX;
    }
    uint64_t v = 0;
    int rc = json809_get_text(e, "vehicle_no", a, &env->vehicle_no, err, errcap);
    if (rc >= 0 && (rc = json_get_uint(e, "vehicle_color", 0xFF, &v, err, errcap)) >= 0)
        env->vehicle_color = (uint8_t)v;
    v = 0;
    if (rc >= 0 && (rc = json_get_uint(e, "layout", 2, &v, err, errcap)) >= 0)
        env->layout = (uint8_t)v;
    v = 0;
    if (rc >= 0 && json_get_uint(e, "data_type", 0xFFFF, &v, err, errcap) != 1) {
        snprintf(err, errcap, "env.data_type: required, 0..65535");
        return RW_E_FIELD;
    }
    env->data_type = (uint16_t)v;
    if (rc >= 0 && (rc = json_get_hex(e, "data_hex", a, &env->data, err, errcap)) == 1)
        m->sub_known = 0;
    return rc < 0 ? rc : 0;
}

int json809_build(const json_t *j, struct jt809_msg *m, struct arena *a, char *err,
                  size_t errcap)
{
    memset(m, 0, sizeof *m);
    if (!json_is_object(j)) {
        snprintf(err, errcap, "message: not an object");
        return RW_E_SYNTAX;
    }
    int rc = json809_header_build(j, &m->h, err, errcap);
    if (rc < 0)
        return rc;
    m->sub_known = 1;
    if (jt809_is_business(m->h.msg_id)) {
        rc = json809_env_build(json_object_get(j, "env"), m, a, err, errcap);
        if (rc < 0 || !m->sub_known)
            return rc;
    } else if ((rc = json_get_hex(j, "body_hex", a, &m->body, err, errcap)) != 0) {
        m->sub_known = 0;
        return rc < 0 ? rc : 0;
    }
    const json_t *b = json_object_get(j, "body");
    if (b)
        return json809_body_build(b, m, a, err, errcap);
    json_t *empty = json_object(); /* an absent body means all fields zero */
    rc = json809_body_build(empty, m, a, err, errcap);
    json_decref(empty);
    return rc;
}
