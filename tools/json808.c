/* json808.c: JT/T 808 messages <-> JSON for `roadwatch decode` and `roadwatch encode`.
 *
 * Shape: {"proto":"jt808","msg_id":"0x0200","name":...,"edition":2013,"phone":...,
 * "serial":...,"body":{...}}. Numbers keep their wire units, named by suffix (speed_dkmh
 * is 1/10 km/h, mileage_hm is 1/10 km); coordinates appear both as degrees and as signed
 * integers x 1e6 (lat_e6), which json808_build() reads. Fixed-width text fields whose
 * padding is not plain trailing NULs also carry "<name>_hex" so a decode | encode round
 * trip is byte-identical. */
#include <stdio.h>
#include <string.h>

#include "engine/base/err.h"
#include "tools/tool.h"

static json_t *hex16(unsigned v)
{
    char b[8];
    snprintf(b, sizeof b, "0x%04x", v & 0xFFFFu);
    return json_string(b);
}

static json_t *hex32(uint32_t v)
{
    char b[12];
    snprintf(b, sizeof b, "0x%08x", v);
    return json_string(b);
}

static json_t *bit_names(uint32_t word, int alarm, uint16_t edition)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < 32; i++) {
        if (!(word & (1u << i)))
            continue;
        if (!alarm && (i == 8 || i == 9))
            continue; /* load state is a two-bit value, shown as "load" */
        json_array_append_new(a, json_string(alarm ? jt808_alarm_bit_name(i, edition)
                                                   : jt808_status_bit_name(i)));
    }
    return a;
}

/* Text of a fixed-width field, plus "<key>_hex" when the padding is unusual. */
static void put_fixed(json_t *o, const char *key, struct rw_bytes raw)
{
    json_object_set_new(o, key, json_gbk(raw));
    struct rw_bytes t = rw_trim(raw);
    int plain = t.p == raw.p || t.len == 0;
    for (uint32_t i = t.len; plain && raw.p && i < raw.len - (uint32_t)(t.p - raw.p); i++)
        plain = t.p[i] == 0;
    if (t.len == 0)
        for (uint32_t i = 0; i < raw.len; i++)
            plain = plain && raw.p[i] == 0;
    if (!plain) {
        char k[64];
        snprintf(k, sizeof k, "%s_hex", key);
        json_object_set_new(o, k, json_hex(raw));
    }
}

static void loc_extras(json_t *o, const struct jt808_loc *l)
{
    uint32_t x = l->present;
    if (x & JT808_X_MILEAGE) json_object_set_new(o, "mileage_hm", json_integer(l->mileage_hm));
    if (x & JT808_X_FUEL) json_object_set_new(o, "fuel_dl", json_integer(l->fuel_dl));
    if (x & JT808_X_TACHO_SPEED)
        json_object_set_new(o, "tacho_speed_dkmh", json_integer(l->tacho_speed_dkmh));
    if (x & JT808_X_EVENT_ID) json_object_set_new(o, "event_id", json_integer(l->event_id));
    if (x & JT808_X_TYRE) json_object_set_new(o, "tyre_hex", json_hex(l->tyre));
    if (x & JT808_X_CARGO_TEMP)
        json_object_set_new(o, "cargo_temp_c", json_integer(l->cargo_temp_c));
    if (x & JT808_X_OVERSPEED) {
        json_object_set_new(o, "overspeed_type", json_integer(l->overspeed_type));
        json_object_set_new(o, "overspeed_area", json_integer(l->overspeed_area));
    }
    if (x & JT808_X_INOUT) {
        json_object_set_new(o, "inout_type", json_integer(l->inout_type));
        json_object_set_new(o, "inout_area", json_integer(l->inout_area));
        json_object_set_new(o, "inout_dir", json_integer(l->inout_dir));
    }
    if (x & JT808_X_ROUTE_TIME) {
        json_object_set_new(o, "section_id", json_integer(l->section_id));
        json_object_set_new(o, "section_time_s", json_integer(l->section_time_s));
        json_object_set_new(o, "section_result", json_integer(l->section_result));
    }
    if (x & JT808_X_SIGNALS) json_object_set_new(o, "signals", hex32(l->signals));
    if (x & JT808_X_IO) json_object_set_new(o, "io_status", hex16(l->io_status));
    if (x & JT808_X_ANALOG) json_object_set_new(o, "analog", hex32(l->analog));
    if (x & JT808_X_RSSI) json_object_set_new(o, "rssi", json_integer(l->rssi));
    if (x & JT808_X_SATS) json_object_set_new(o, "satellites", json_integer(l->sats));
}

json_t *json808_loc(const struct jt808_loc *l, uint16_t edition)
{
    json_t *o = json_object();
    json_object_set_new(o, "alarm", hex32(l->alarm));
    json_object_set_new(o, "alarm_bits", bit_names(l->alarm, 1, edition));
    json_object_set_new(o, "status", hex32(l->status));
    json_object_set_new(o, "status_bits", bit_names(l->status, 0, edition));
    json_object_set_new(o, "load", json_integer((l->status >> 8) & 3));
    json_object_set_new(o, "lat", json_real(jt808_loc_lat_e6(l) / 1e6));
    json_object_set_new(o, "lon", json_real(jt808_loc_lon_e6(l) / 1e6));
    json_object_set_new(o, "lat_e6", json_integer(jt808_loc_lat_e6(l)));
    json_object_set_new(o, "lon_e6", json_integer(jt808_loc_lon_e6(l)));
    json_object_set_new(o, "altitude_m", json_integer(l->altitude_m));
    json_object_set_new(o, "speed_dkmh", json_integer(l->speed_dkmh));
    json_object_set_new(o, "direction", json_integer(l->direction));
    json_object_set_new(o, "time", json_time_utc(l->time));
    json_object_set_new(o, "time_bcd", json_hex(rw_bytes_of(l->time_bcd, 6)));
    loc_extras(o, l);
    json_object_set_new(o, "items", json_integer(l->n_items));
    if (l->n_dup)
        json_object_set_new(o, "duplicate_items", json_integer(l->n_dup));
    if (l->n_badlen)
        json_object_set_new(o, "bad_length_items", json_integer(l->n_badlen));
    if (l->extras_err)
        json_object_set_new(o, "extras_error", json_string(err_name(l->extras_err)));
    json_object_set_new(o, "extras_hex", json_hex(l->extras));
    return o;
}

static json_t *body_batch(const struct jt808_batch *b, uint16_t edition)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer(b->count));
    json_object_set_new(o, "type", json_integer(b->type));
    json_object_set_new(o, "type_name", json_string(b->type ? "blind_area" : "normal"));
    json_t *items = json_array();
    struct jt808_batch_iter it;
    struct jt808_loc l;
    jt808_batch_iter_init(&it, b);
    int rc;
    while ((rc = jt808_batch_next(&it, &l)) != 0) {
        if (rc < 0) {
            json_t *e = json_object();
            json_object_set_new(e, "error", json_string(err_name(rc)));
            json_object_set_new(e, "message", json_string(err_str(rc)));
            json_array_append_new(items, e);
            continue;
        }
        json_array_append_new(items, json808_loc(&l, edition));
    }
    json_object_set_new(o, "items", items);
    return o;
}

static json_t *body_params(const struct jt808_params *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer(p->count));
    json_t *list = json_array();
    struct jt808_param_iter it;
    struct jt808_param prm;
    jt808_param_iter_init(&it, p);
    while (jt808_param_next(&it, &prm) > 0) {
        json_t *e = json_object();
        json_object_set_new(e, "id", hex32(prm.id));
        json_object_set_new(e, "hex", json_hex(prm.value));
        uint32_t v = 0;
        for (uint32_t i = 0; i < prm.value.len && prm.value.len <= 4; i++)
            v = v << 8 | prm.value.p[i];
        if (prm.value.len == 1 || prm.value.len == 2 || prm.value.len == 4)
            json_object_set_new(e, "value", json_integer(v));
        else
            json_object_set_new(e, "text", json_gbk(prm.value));
        json_array_append_new(list, e);
    }
    json_object_set_new(o, "params", list);
    return o;
}

static json_t *body_register(const struct jt808_register *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "edition", json_integer(r->edition));
    json_object_set_new(o, "province", json_integer(r->province));
    json_object_set_new(o, "city", json_integer(r->city));
    put_fixed(o, "maker", r->maker);
    put_fixed(o, "model", r->model);
    put_fixed(o, "terminal_id", r->term_id);
    json_object_set_new(o, "plate_color", json_integer(r->plate_color));
    json_object_set_new(o, "plate", json_gbk(r->plate));
    json_object_set_new(o, "plate_hex", json_hex(r->plate));
    return o;
}

static json_t *body_misc(const struct jt808_msg *m)
{
    json_t *o = json_object();
    const struct jt808_hdr *h = &m->h;
    switch (h->msg_id) {
    case JT808_MSG_8100_REGISTER_RSP:
        json_object_set_new(o, "ack_serial", json_integer(m->u.reg_rsp.ack_serial));
        json_object_set_new(o, "result", json_integer(m->u.reg_rsp.result));
        json_object_set_new(o, "auth_code", json_gbk(m->u.reg_rsp.auth_code));
        break;
    case JT808_MSG_0102_AUTH:
        json_object_set_new(o, "code", json_gbk(m->u.auth.code));
        if (h->edition == JT808_ED_2019) {
            put_fixed(o, "imei", m->u.auth.imei);
            put_fixed(o, "sw_version", m->u.auth.sw_ver);
        }
        break;
    case JT808_MSG_8202_TRACK:
        json_object_set_new(o, "interval_s", json_integer(m->u.track.interval_s));
        json_object_set_new(o, "validity_s", json_integer(m->u.track.validity_s));
        break;
    case JT808_MSG_8300_TEXT:
        json_object_set_new(o, "flag", json_integer(m->u.text.flag));
        if (h->edition == JT808_ED_2019)
            json_object_set_new(o, "text_type", json_integer(m->u.text.text_type));
        json_object_set_new(o, "text", json_gbk(m->u.text.text));
        break;
    case JT808_MSG_8003_RESEND_REQ:
    case JT808_MSG_0005_RESEND_REQ: {
        json_object_set_new(o, "first_serial", json_integer(m->u.resend.first_serial));
        json_t *ids = json_array();
        for (uint32_t i = 0; i + 1 < m->u.resend.ids.len; i += 2)
            json_array_append_new(ids, json_integer(m->u.resend.ids.p[i] << 8 |
                                                    m->u.resend.ids.p[i + 1]));
        json_object_set_new(o, "ids", ids);
        break;
    }
    default:
        break;
    }
    return o;
}

static json_t *json808_body(const struct jt808_msg *m)
{
    const struct jt808_hdr *h = &m->h;
    switch (h->msg_id) {
    case JT808_MSG_0001_TERM_RSP:
    case JT808_MSG_8001_PLAT_RSP: {
        json_t *o = json_object();
        json_object_set_new(o, "ack_serial", json_integer(m->u.gen_rsp.ack_serial));
        json_object_set_new(o, "ack_id", hex16(m->u.gen_rsp.ack_id));
        json_object_set_new(o, "result", json_integer(m->u.gen_rsp.result));
        return o;
    }
    case JT808_MSG_0002_HEARTBEAT:
    case JT808_MSG_0003_LOGOUT:
    case JT808_MSG_8201_LOCATION_QUERY:
        return json_object();
    case JT808_MSG_0100_REGISTER:
        return body_register(&m->u.reg);
    case JT808_MSG_0200_LOCATION:
        return json808_loc(&m->u.loc, h->edition);
    case JT808_MSG_0201_LOCATION_RSP: {
        json_t *o = json808_loc(&m->u.loc_rsp.loc, h->edition);
        json_object_set_new(o, "ack_serial", json_integer(m->u.loc_rsp.ack_serial));
        return o;
    }
    case JT808_MSG_0704_BATCH:
        return body_batch(&m->u.batch, h->edition);
    case JT808_MSG_8103_SET_PARAMS:
        return body_params(&m->u.params);
    default:
        return body_misc(m);
    }
}

static int known_id(uint16_t id)
{
    return strcmp(jt808_msg_name(id), "unknown") != 0;
}

json_t *json808_msg(const struct jt808_msg *m)
{
    const struct jt808_hdr *h = &m->h;
    json_t *o = json_object();
    char phone[21];
    jt808_phone_str(h, phone);
    json_object_set_new(o, "proto", json_string("jt808"));
    json_object_set_new(o, "msg_id", hex16(h->msg_id));
    json_object_set_new(o, "name", json_string(jt808_msg_name(h->msg_id)));
    json_object_set_new(o, "edition", json_integer(h->edition));
    if (h->edition == JT808_ED_2019)
        json_object_set_new(o, "proto_ver", json_integer(h->proto_ver));
    if (h->quirk_2013_hdr)
        json_object_set_new(o, "quirk_2013_header", json_true());
    json_object_set_new(o, "phone", json_string(phone));
    json_object_set_new(o, "serial", json_integer(h->serial));
    json_object_set_new(o, "props", hex16(h->props));
    json_object_set_new(o, "body_len", json_integer(h->body_len));
    json_object_set_new(o, "encrypt", json_integer(h->encrypt));
    if (h->subpkg) {
        json_object_set_new(o, "pkg_total", json_integer(h->pkg_total));
        json_object_set_new(o, "pkg_index", json_integer(h->pkg_index));
    }
    if (!h->subpkg && !h->encrypt && known_id(h->msg_id))
        json_object_set_new(o, "body", json808_body(m));
    json_object_set_new(o, "body_hex", json_hex(m->body));
    return o;
}

/* ---------------------------------------------------------------------------------------
 * JSON -> message
 */

#define GETU(obj, key, max, dst)                                                           \
    do {                                                                                   \
        uint64_t v_;                                                                       \
        int r_ = json_get_uint(obj, key, max, &v_, err, errcap);                           \
        if (r_ < 0)                                                                        \
            return r_;                                                                     \
        if (r_ > 0)                                                                        \
            (dst) = (__typeof__(dst))v_;                                                   \
    } while (0)

#define GETB(fn, obj, key, dst)                                                            \
    do {                                                                                   \
        int r_ = fn(obj, key, a, &(dst), err, errcap);                                     \
        if (r_ < 0)                                                                        \
            return r_;                                                                     \
    } while (0)

/* A fixed-width field: "<key>_hex" wins over the text "<key>". */
static int get_fixed(const json_t *o, const char *key, struct arena *a, struct rw_bytes *out,
                     char *err, size_t errcap)
{
    char k[64];
    snprintf(k, sizeof k, "%s_hex", key);
    int r = json_get_hex(o, k, a, out, err, errcap);
    return r != 0 ? r : json_get_gbk(o, key, a, out, err, errcap);
}

static int loc_build_extras(const json_t *j, struct jt808_loc *l, struct arena *a, char *err,
                            size_t errcap)
{
#define X(key, max, field, bit)                                                            \
    do {                                                                                   \
        if (json_object_get(j, key)) {                                                     \
            GETU(j, key, max, l->field);                                                   \
            l->present |= (bit);                                                           \
        }                                                                                  \
    } while (0)
    X("mileage_hm", 0xFFFFFFFFu, mileage_hm, JT808_X_MILEAGE);
    X("fuel_dl", 0xFFFF, fuel_dl, JT808_X_FUEL);
    X("tacho_speed_dkmh", 0xFFFF, tacho_speed_dkmh, JT808_X_TACHO_SPEED);
    X("event_id", 0xFFFF, event_id, JT808_X_EVENT_ID);
    X("overspeed_type", 0xFF, overspeed_type, JT808_X_OVERSPEED);
    X("overspeed_area", 0xFFFFFFFFu, overspeed_area, JT808_X_OVERSPEED);
    X("inout_type", 0xFF, inout_type, JT808_X_INOUT);
    X("inout_area", 0xFFFFFFFFu, inout_area, JT808_X_INOUT);
    X("inout_dir", 0xFF, inout_dir, JT808_X_INOUT);
    X("section_id", 0xFFFFFFFFu, section_id, JT808_X_ROUTE_TIME);
    X("section_time_s", 0xFFFF, section_time_s, JT808_X_ROUTE_TIME);
    X("section_result", 0xFF, section_result, JT808_X_ROUTE_TIME);
    X("signals", 0xFFFFFFFFu, signals, JT808_X_SIGNALS);
    X("io_status", 0xFFFF, io_status, JT808_X_IO);
    X("analog", 0xFFFFFFFFu, analog, JT808_X_ANALOG);
    X("rssi", 0xFF, rssi, JT808_X_RSSI);
    X("satellites", 0xFF, sats, JT808_X_SATS);
#undef X
    json_t *t = json_object_get(j, "cargo_temp_c");
    if (t) {
        if (!json_is_integer(t) || json_integer_value(t) < -32768 ||
            json_integer_value(t) > 32767) {
            snprintf(err, errcap, "cargo_temp_c: expected an integer in -32768..32767");
            return RW_E_FIELD;
        }
        l->cargo_temp_c = (int16_t)json_integer_value(t);
        l->present |= JT808_X_CARGO_TEMP;
    }
    if (json_object_get(j, "tyre_hex")) {
        GETB(json_get_hex, j, "tyre_hex", l->tyre);
        l->present |= JT808_X_TYRE;
    }
    return 0;
}

static int loc_build_coord(const json_t *j, const char *key, uint32_t flag,
                           struct jt808_loc *l, uint32_t *mag, char *err, size_t errcap)
{
    json_t *v = json_object_get(j, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < -180000000 ||
        json_integer_value(v) > 180000000) {
        snprintf(err, errcap, "%s: expected degrees x 1e6 as an integer", key);
        return RW_E_FIELD;
    }
    json_int_t x = json_integer_value(v);
    *mag = (uint32_t)(x < 0 ? -x : x);
    if (x < 0)
        l->status |= flag;
    else
        l->status &= ~flag;
    return 0;
}

int json808_loc_build(const json_t *j, struct jt808_loc *l, struct arena *a, char *err,
                      size_t errcap)
{
    memset(l, 0, sizeof *l);
    if (!json_is_object(j)) {
        snprintf(err, errcap, "location: expected an object");
        return RW_E_SYNTAX;
    }
    GETU(j, "alarm", 0xFFFFFFFFu, l->alarm);
    GETU(j, "status", 0xFFFFFFFFu, l->status);
    int rc = loc_build_coord(j, "lat_e6", JT808_ST_SOUTH, l, &l->lat, err, errcap);
    if (rc == 0)
        rc = loc_build_coord(j, "lon_e6", JT808_ST_WEST, l, &l->lon, err, errcap);
    if (rc)
        return rc;
    GETU(j, "altitude_m", 0xFFFF, l->altitude_m);
    GETU(j, "speed_dkmh", 0xFFFF, l->speed_dkmh);
    GETU(j, "direction", 0xFFFF, l->direction);
    struct rw_bytes bcd = {NULL, 0};
    GETB(json_get_hex, j, "time_bcd", bcd);
    int64_t t = 0;
    if (bcd.len == 6) {
        memcpy(l->time_bcd, bcd.p, 6);
    } else if (json_get_time(j, "time", &t, err, errcap) == 1) {
        if (jt808_time_to_bcd(t, l->time_bcd) != 0) {
            snprintf(err, errcap, "time: outside 2000-2099");
            return RW_E_FIELD;
        }
    } else {
        snprintf(err, errcap, "time: required (ISO 8601 or time_bcd)");
        return RW_E_SYNTAX;
    }
    if (jt808_time_from_bcd(l->time_bcd, &l->time) != 0)
        l->time = JT808_TIME_INVALID;
    GETB(json_get_hex, j, "extras_hex", l->extras);
    if (l->extras.len == 0)
        return loc_build_extras(j, l, a, err, errcap);
    return 0;
}

static int build_list(const json_t *b, struct jt808_msg *m, struct arena *a, char *err,
                      size_t errcap)
{
    size_t cap = 64 * 1024, used = 0;
    uint8_t *buf = arena_take(a, cap);
    if (!buf)
        return RW_E_NOSPACE;
    json_t *arr = json_object_get(b, m->h.msg_id == JT808_MSG_0704_BATCH ? "items" : "params");
    if (!json_is_array(arr)) {
        snprintf(err, errcap, "%s: expected an array",
                 m->h.msg_id == JT808_MSG_0704_BATCH ? "items" : "params");
        return RW_E_SYNTAX;
    }
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        int rc;
        if (m->h.msg_id == JT808_MSG_0704_BATCH) {
            struct jt808_loc l;
            rc = json808_loc_build(e, &l, a, err, errcap);
            if (rc == 0)
                rc = jt808_batch_add(buf, cap, &used, &l);
        } else {
            uint32_t id = 0;
            struct rw_bytes v = {NULL, 0};
            GETU(e, "id", 0xFFFFFFFFu, id);
            GETB(json_get_hex, e, "hex", v);
            rc = jt808_param_add(buf, cap, &used, id, v);
        }
        if (rc < 0)
            return rc;
    }
    if (m->h.msg_id == JT808_MSG_0704_BATCH) {
        m->u.batch.count = (uint16_t)json_array_size(arr);
        GETU(b, "type", 1, m->u.batch.type);
        m->u.batch.items = rw_bytes_of(buf, used);
    } else {
        m->u.params.count = (uint8_t)json_array_size(arr);
        m->u.params.list = rw_bytes_of(buf, used);
    }
    return 0;
}

static int build_body(const json_t *b, struct jt808_msg *m, struct arena *a, char *err,
                      size_t errcap)
{
    switch (m->h.msg_id) {
    case JT808_MSG_0001_TERM_RSP:
    case JT808_MSG_8001_PLAT_RSP:
        GETU(b, "ack_serial", 0xFFFF, m->u.gen_rsp.ack_serial);
        GETU(b, "ack_id", 0xFFFF, m->u.gen_rsp.ack_id);
        GETU(b, "result", 0xFF, m->u.gen_rsp.result);
        return 0;
    case JT808_MSG_0100_REGISTER: {
        struct jt808_register *r = &m->u.reg;
        r->edition = m->h.edition;
        GETU(b, "edition", 2019, r->edition);
        GETU(b, "province", 0xFFFF, r->province);
        GETU(b, "city", 0xFFFF, r->city);
        GETB(get_fixed, b, "maker", r->maker);
        GETB(get_fixed, b, "model", r->model);
        GETB(get_fixed, b, "terminal_id", r->term_id);
        GETU(b, "plate_color", 0xFF, r->plate_color);
        GETB(get_fixed, b, "plate", r->plate);
        return 0;
    }
    case JT808_MSG_8100_REGISTER_RSP:
        GETU(b, "ack_serial", 0xFFFF, m->u.reg_rsp.ack_serial);
        GETU(b, "result", 0xFF, m->u.reg_rsp.result);
        GETB(json_get_gbk, b, "auth_code", m->u.reg_rsp.auth_code);
        return 0;
    case JT808_MSG_0102_AUTH:
        GETB(json_get_gbk, b, "code", m->u.auth.code);
        GETB(get_fixed, b, "imei", m->u.auth.imei);
        GETB(get_fixed, b, "sw_version", m->u.auth.sw_ver);
        return 0;
    case JT808_MSG_0200_LOCATION:
        return json808_loc_build(b, &m->u.loc, a, err, errcap);
    case JT808_MSG_0201_LOCATION_RSP: {
        int rc = json808_loc_build(b, &m->u.loc_rsp.loc, a, err, errcap);
        GETU(b, "ack_serial", 0xFFFF, m->u.loc_rsp.ack_serial);
        return rc;
    }
    case JT808_MSG_0704_BATCH:
    case JT808_MSG_8103_SET_PARAMS:
        return build_list(b, m, a, err, errcap);
    case JT808_MSG_8202_TRACK:
        GETU(b, "interval_s", 0xFFFF, m->u.track.interval_s);
        GETU(b, "validity_s", 0xFFFFFFFFu, m->u.track.validity_s);
        return 0;
    case JT808_MSG_8300_TEXT:
        GETU(b, "flag", 0xFF, m->u.text.flag);
        GETU(b, "text_type", 0xFF, m->u.text.text_type);
        GETB(json_get_gbk, b, "text", m->u.text.text);
        return 0;
    case JT808_MSG_8003_RESEND_REQ:
    case JT808_MSG_0005_RESEND_REQ: {
        GETU(b, "first_serial", 0xFFFF, m->u.resend.first_serial);
        json_t *ids = json_object_get(b, "ids");
        size_t n = json_array_size(ids), i;
        uint8_t *buf = arena_take(a, 2 * n + 1);
        if (!buf)
            return RW_E_NOSPACE;
        json_t *e;
        json_array_foreach(ids, i, e) {
            json_int_t v = json_integer_value(e);
            buf[2 * i] = (uint8_t)(v >> 8);
            buf[2 * i + 1] = (uint8_t)v;
        }
        m->u.resend.count = (uint16_t)n;
        m->u.resend.ids = rw_bytes_of(buf, 2 * n);
        return 0;
    }
    default:
        return 0;
    }
}

static int build_header(const json_t *j, struct jt808_hdr *h, char *err, size_t errcap)
{
    GETU(j, "msg_id", 0xFFFF, h->msg_id);
    h->edition = JT808_ED_2013;
    GETU(j, "edition", 2019, h->edition);
    if (h->edition != JT808_ED_2019 && h->edition != JT808_ED_2013 &&
        h->edition != JT808_ED_2011) {
        snprintf(err, errcap, "edition: expected 2011, 2013 or 2019");
        return RW_E_FIELD;
    }
    if (h->edition == JT808_ED_2011)
        h->edition = JT808_ED_2013; /* same header */
    h->proto_ver = h->edition == JT808_ED_2019 ? 1 : 0;
    GETU(j, "proto_ver", 0xFF, h->proto_ver);
    GETU(j, "serial", 0xFFFF, h->serial);
    GETU(j, "encrypt", 7, h->encrypt);
    GETU(j, "pkg_total", 0xFFFF, h->pkg_total);
    GETU(j, "pkg_index", 0xFFFF, h->pkg_index);
    h->subpkg = h->pkg_total != 0;
    json_t *q = json_object_get(j, "quirk_2013_header");
    h->quirk_2013_hdr = q && json_is_true(q);
    json_t *ph = json_object_get(j, "phone");
    if (!json_is_string(ph) || jt808_phone_set(h, json_string_value(ph)) != 0) {
        snprintf(err, errcap, "phone: expected up to 20 decimal digits");
        return RW_E_FIELD;
    }
    return 0;
}

int json808_build(const json_t *j, struct jt808_msg *m, struct arena *a, char *err,
                  size_t errcap)
{
    memset(m, 0, sizeof *m);
    if (!json_is_object(j) || !json_object_get(j, "msg_id")) {
        snprintf(err, errcap, "msg_id: required");
        return RW_E_SYNTAX;
    }
    int rc = build_header(j, &m->h, err, errcap);
    if (rc)
        return rc;
    json_t *b = json_object_get(j, "body");
    if (b && known_id(m->h.msg_id) && !m->h.subpkg && !m->h.encrypt) {
        if (!json_is_object(b)) {
            snprintf(err, errcap, "body: expected an object");
            return RW_E_SYNTAX;
        }
        return build_body(b, m, a, err, errcap);
    }
    /* Unknown IDs, encrypted and subpackaged bodies travel as hex. */
    GETB(json_get_hex, j, "body_hex", m->body);
    return 0;
}
