/* scenario.c: scenario file parsing (scenario.h). */
#include "bench/load/scenario.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"

static const char *const vio_names[ROAD_VIO_COUNT] = {
    [ROAD_VIO_NONE] = "none",
    [ROAD_VIO_OVERSPEED] = "overspeed",
    [ROAD_VIO_FATIGUE] = "fatigue_driving",
    [ROAD_VIO_AREA] = "area_in_out",
    [ROAD_VIO_ROUTE] = "route_deviation",
    [ROAD_VIO_KEY_POINT] = "key_point_timing",
    [ROAD_VIO_ACC] = "acc_signal_abnormal",
    [ROAD_VIO_OFFLINE] = "long_abnormal_offline",
    [ROAD_VIO_NIGHT] = "night_illegal_operation",
};

const char *scn_vio_name(unsigned type)
{
    return type < ROAD_VIO_COUNT ? vio_names[type] : "unknown";
}

int scn_vio_type(const char *name)
{
    for (unsigned i = 1; i < ROAD_VIO_COUNT; i++)
        if (strcmp(name, vio_names[i]) == 0)
            return (int)i;
    return -1;
}

void scn_defaults(struct scenario *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "unnamed");
    s->seed = 1;
    s->duration_s = 20;
    s->warmup_s = 2;
    s->drain_s = 10;
    s->time_scale = 1;
    s->start_t = 1795395600; /* 2026-11-23T08:00:00+08:00 */
    snprintf(s->host, sizeof s->host, "127.0.0.1");
    s->port_808 = 6808;
    s->port_809 = 6809;
    s->source_addrs = 4;
    s->threads = 1;
    s->vehicles = 100;
    s->ed_share[1] = 1.0;
    snprintf(s->plate_prefix, sizeof s->plate_prefix, "鄂A");
    s->ceiling_s = 10;
    s->ceiling_port = 7808;
    s->offline_s = 600;
    s->term = (struct term_cfg){.report_s = 30, .heartbeat_s = 60, .reply_timeout_ms = 5000,
                                .retries = 3, .window = 8, .blind_max = 512,
                                .reconnect_ms = 1000, .batch_max = 20, .time_scale = 1};
    road_net_default(&s->net);
    s->plat = (struct scn_plat){.edition = 2019, .user_id = 10001, .access_code = 42000001,
                                .listen_port_base = 17000, .link_test_s = 60,
                                .report_s = 30};
    snprintf(s->plat.password, sizeof s->plat.password, "rwbench");
    snprintf(s->plat.plate_prefix, sizeof s->plat.plate_prefix, "鄂F");
}

int scn_time_parse(const char *iso, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return RW_E_SYNTAX;
    const char *z = iso + n;
    int off = 0;
    if (*z == '+' || *z == '-') {
        int hh, mm;
        if (sscanf(z + 1, "%2d:%2d", &hh, &mm) != 2)
            return RW_E_SYNTAX;
        off = (hh * 3600 + mm * 60) * (*z == '-' ? -1 : 1);
    } else if (*z != 'Z') {
        return RW_E_SYNTAX;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

void scn_time_fmt(int64_t t, char out[32])
{
    time_t l = (time_t)(t + 8 * 3600);
    struct tm tm;
    gmtime_r(&l, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
}

static uint64_t term_hash(const struct scenario *s, uint32_t index, uint64_t salt)
{
    uint64_t st = s->seed ^ (index * 0x9E3779B97F4A7C15ull) ^ salt;
    return road_rand(&st);
}

uint16_t scn_term_edition(const struct scenario *s, uint32_t index)
{
    double u = (double)(term_hash(s, index, 1) >> 11) / 9007199254740992.0;
    double tot = s->ed_share[0] + s->ed_share[1] + s->ed_share[2];
    u *= tot > 0 ? tot : 1;
    if (u < s->ed_share[0])
        return JT808_ED_2011;
    if (u < s->ed_share[0] + s->ed_share[1])
        return JT808_ED_2013;
    return JT808_ED_2019;
}

int scn_term_udp(const struct scenario *s, uint32_t index)
{
    return (double)(term_hash(s, index, 2) >> 11) / 9007199254740992.0 < s->udp_share;
}

void scn_term_plate(const struct scenario *s, uint32_t index, char *out, size_t cap)
{
    snprintf(out, cap, "%s%05u", s->plate_prefix, index % 100000u);
}

int64_t scn_term_first_t(const struct scenario *s, uint32_t index)
{
    return s->start_t + (int64_t)(term_hash(s, index, 3) % s->term.report_s);
}

const struct road_violation *scn_vio_of(const struct scenario *s, uint32_t vehicle,
                                        uint32_t *n)
{
    uint32_t i = 0;
    while (i < s->n_vio && s->vio[i].vehicle < vehicle)
        i++;
    uint32_t j = i;
    while (j < s->n_vio && s->vio[j].vehicle == vehicle)
        j++;
    *n = j - i;
    return j > i ? &s->vio[i] : NULL;
}

/* Table-driven numeric keys (STYLE §9): dotted path, kind, offset, bounds. */
enum { K_F64, K_U32, K_U16, K_U8, K_U64 };
struct scn_key {
    const char *path;
    uint8_t kind;
    size_t off;
    double lo, hi;
};
#define SK(p, k, f, lo, hi) {p, k, offsetof(struct scenario, f), lo, hi}
static const struct scn_key scn_keys[] = {
    SK("seed", K_U64, seed, 0, 1e18),
    SK("duration_s", K_F64, duration_s, 1, 86400),
    SK("warmup_s", K_F64, warmup_s, 0, 3600),
    SK("drain_s", K_F64, drain_s, 0, 600),
    SK("time_scale", K_F64, time_scale, 0.01, 100000),
    SK("threads", K_U32, threads, 1, 64),
    SK("target.jt808_port", K_U16, port_808, 1, 65535),
    SK("target.jt809_port", K_U16, port_809, 1, 65535),
    SK("target.source_addrs", K_U32, source_addrs, 1, 200),
    SK("fleet.vehicles", K_U32, vehicles, 0, 1000000),
    SK("fleet.udp_share", K_F64, udp_share, 0, 1),
    SK("fleet.editions.2011", K_F64, ed_share[0], 0, 1),
    SK("fleet.editions.2013", K_F64, ed_share[1], 0, 1),
    SK("fleet.editions.2019", K_F64, ed_share[2], 0, 1),
    SK("fleet.report_s", K_U32, term.report_s, 1, 3600),
    SK("fleet.heartbeat_s", K_U32, term.heartbeat_s, 1, 3600),
    SK("fleet.reply_timeout_ms", K_U32, term.reply_timeout_ms, 10, 600000),
    SK("fleet.retries", K_U32, term.retries, 0, 20),
    SK("fleet.window", K_U32, term.window, 1, 256),
    SK("fleet.blind_max", K_U32, term.blind_max, 1, 100000),
    SK("fleet.reconnect_ms", K_U32, term.reconnect_ms, 0, 600000),
    SK("fleet.batch_max", K_U32, term.batch_max, 1, 20),
    SK("load.ceiling_fraction", K_F64, ceiling_fraction, 0, 10),
    SK("ceiling.seconds", K_F64, ceiling_s, 1, 3600),
    SK("ceiling.port", K_U16, ceiling_port, 1, 65535),
    SK("road.lat0", K_F64, net.lat0, 18, 53),
    SK("road.lon0", K_F64, net.lon0, 73, 135),
    SK("road.grid_km", K_F64, net.grid_m, 1, 200),
    SK("road.grid_n", K_U32, net.grid_n, 1, 1000),
    SK("road.drive_min", K_F64, net.drive_s, 1, 1440),
    SK("road.rest_min", K_F64, net.rest_s, 1, 1440),
    SK("alarms.offline_s", K_U32, offline_s, 60, 86400 * 7),
    SK("platforms.count", K_U32, plat.count, 0, 1000),
    SK("platforms.vehicles_each", K_U32, plat.vehicles_each, 0, 100000),
    SK("platforms.edition", K_U16, plat.edition, 2011, 2019),
    SK("platforms.user_id", K_U32, plat.user_id, 0, 4e9),
    SK("platforms.access_code", K_U32, plat.access_code, 0, 4e9),
    SK("platforms.m1", K_U32, plat.m1, 0, 4e9),
    SK("platforms.ia1", K_U32, plat.ia1, 0, 4e9),
    SK("platforms.ic1", K_U32, plat.ic1, 0, 4e9),
    SK("platforms.encrypt", K_U8, plat.encrypt, 0, 1),
    SK("platforms.listen_port_base", K_U16, plat.listen_port_base, 0, 65535),
    SK("platforms.link_test_s", K_U32, plat.link_test_s, 1, 3600),
    SK("platforms.report_s", K_U32, plat.report_s, 1, 3600),
};

static json_t *json_path(json_t *root, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
        cur = json_is_object(cur) ? json_object_get(cur, tok) : NULL;
    return cur;
}

static int scn_set_num(struct scenario *s, const struct scn_key *k, double v)
{
    if (v < k->lo || v > k->hi)
        return RW_E_FIELD;
    char *p = (char *)s + k->off;
    switch (k->kind) {
    case K_F64: *(double *)(void *)p = v; break;
    case K_U64: *(uint64_t *)(void *)p = (uint64_t)v; break;
    case K_U32: *(uint32_t *)(void *)p = (uint32_t)v; break;
    case K_U16: *(uint16_t *)(void *)p = (uint16_t)v; break;
    default: *(uint8_t *)p = (uint8_t)v; break;
    }
    return 0;
}

static int scn_numbers(json_t *root, struct scenario *s, char *err, size_t cap)
{
    for (size_t i = 0; i < sizeof scn_keys / sizeof scn_keys[0]; i++) {
        const struct scn_key *k = &scn_keys[i];
        json_t *v = json_path(root, k->path);
        if (!v)
            continue;
        if (!json_is_number(v) || scn_set_num(s, k, json_number_value(v)) != 0) {
            snprintf(err, cap, "%s: a number in [%g, %g] expected", k->path, k->lo, k->hi);
            return RW_E_FIELD;
        }
    }
    /* Units: minutes and kilometres in the file, seconds and metres inside. */
    if (json_path(root, "road.grid_km"))
        s->net.grid_m *= 1000.0;
    if (json_path(root, "road.drive_min"))
        s->net.drive_s *= 60.0;
    if (json_path(root, "road.rest_min"))
        s->net.rest_s *= 60.0;
    return 0;
}

static int scn_str(json_t *root, const char *path, char *out, size_t cap, char *err,
                   size_t errcap)
{
    json_t *v = json_path(root, path);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= cap) {
        snprintf(err, errcap, "%s: a string of at most %zu bytes expected", path, cap - 1);
        return RW_E_FIELD;
    }
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

static int vio_cmp(const void *a, const void *b)
{
    const struct road_violation *x = a, *y = b;
    if (x->vehicle != y->vehicle)
        return x->vehicle < y->vehicle ? -1 : 1;
    return (x->t0 > y->t0) - (x->t0 < y->t0);
}

static int scn_violations(json_t *root, struct scenario *s, char *err, size_t cap)
{
    json_t *arr = json_object_get(root, "violations");
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > SCN_VIO_MAX) {
        snprintf(err, cap, "violations: an array of at most %u expected", SCN_VIO_MAX);
        return RW_E_FIELD;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        struct road_violation *o = &s->vio[s->n_vio++];
        const char *type = json_string_value(json_object_get(v, "type"));
        json_t *veh = json_object_get(v, "vehicle"), *at = json_object_get(v, "at_s"),
               *dur = json_object_get(v, "duration_s");
        int ty = type ? scn_vio_type(type) : -1;
        if (ty < 0 || !json_is_integer(veh) || !json_is_number(at) || !json_is_number(dur) ||
            json_integer_value(veh) < 0 || json_number_value(dur) <= 0) {
            snprintf(err, cap, "violations[%zu]: type (an alarm name), vehicle, at_s and "
                     "duration_s > 0 expected", i);
            return RW_E_FIELD;
        }
        o->type = (uint8_t)ty;
        o->vehicle = (uint32_t)json_integer_value(veh);
        o->t0 = s->start_t + (int64_t)json_number_value(at);
        o->t1 = o->t0 + (int64_t)json_number_value(dur);
        json_t *f = json_object_get(v, "speed_factor");
        o->speed_factor = json_is_number(f) ? json_number_value(f) : 1.25;
        if (o->vehicle >= s->vehicles) {
            snprintf(err, cap, "violations[%zu]: vehicle %u outside the fleet", i, o->vehicle);
            return RW_E_FIELD;
        }
    }
    qsort(s->vio, s->n_vio, sizeof s->vio[0], vio_cmp);
    for (uint32_t k = 1; k < s->n_vio; k++)
        if (s->vio[k].vehicle == s->vio[k - 1].vehicle && s->vio[k].t0 < s->vio[k - 1].t1) {
            snprintf(err, cap, "violations: two windows of vehicle %u overlap",
                     s->vio[k].vehicle);
            return RW_E_FIELD;
        }
    return 0;
}

static int scn_outage_list(json_t *arr, const char *name, struct scn_outage *out,
                           uint32_t *n_out, const struct scenario *s, char *err, size_t cap)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > SCN_OUTAGE_MAX) {
        snprintf(err, cap, "%s: an array of at most %u expected", name, SCN_OUTAGE_MAX);
        return RW_E_FIELD;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        struct scn_outage *o = &out[(*n_out)++];
        o->at_s = json_number_value(json_object_get(v, "at_s"));
        o->duration_s = json_number_value(json_object_get(v, "duration_s"));
        o->fraction = json_number_value(json_object_get(v, "fraction"));
        if (o->duration_s <= 0 || o->fraction < 0 || o->fraction > 1) {
            snprintf(err, cap, "%s[%zu]: duration_s > 0 and fraction in [0, 1]", name, i);
            return RW_E_FIELD;
        }
        if (o->duration_s >= s->offline_s) {
            snprintf(err, cap, "%s[%zu]: %g s would raise long_abnormal_offline "
                     "(alarms.offline_s %u): script an offline violation instead", name, i,
                     o->duration_s, s->offline_s);
            return RW_E_FIELD;
        }
    }
    return 0;
}

static int scn_outages(json_t *root, struct scenario *s, char *err, size_t cap)
{
    int rc = scn_outage_list(json_object_get(root, "outages"), "outages", s->outage,
                             &s->n_outage, s, err, cap);
    return rc ? rc : scn_outage_list(json_path(root, "platforms.outages"),
                                     "platforms.outages", s->plat.outage, &s->plat.n_outage,
                                     s, err, cap);
}

/* platforms.each: [{"edition": 2011|2019, "encrypt": 0|1}, ...], cycled over the M. */
static int scn_plat_each(json_t *root, struct scenario *s, char *err, size_t cap)
{
    json_t *arr = json_path(root, "platforms.each");
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > SCN_PLAT_EACH_MAX) {
        snprintf(err, cap, "platforms.each: an array of 1..%u expected", SCN_PLAT_EACH_MAX);
        return RW_E_FIELD;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        json_t *ed = json_object_get(v, "edition"), *en = json_object_get(v, "encrypt");
        long e = json_is_integer(ed) ? (long)json_integer_value(ed) : s->plat.edition;
        long c = json_is_integer(en) ? (long)json_integer_value(en) : s->plat.encrypt;
        if ((e != 2011 && e != 2019) || (c != 0 && c != 1)) {
            snprintf(err, cap, "platforms.each[%zu]: edition 2011|2019, encrypt 0|1", i);
            return RW_E_FIELD;
        }
        s->plat.ed_each[i] = (uint16_t)e;
        s->plat.enc_each[i] = (uint8_t)c;
    }
    s->plat.n_each = (uint32_t)json_array_size(arr);
    return 0;
}

uint16_t scn_plat_edition(const struct scenario *s, uint32_t i)
{
    return s->plat.n_each ? s->plat.ed_each[i % s->plat.n_each] : s->plat.edition;
}

int scn_plat_encrypt(const struct scenario *s, uint32_t i)
{
    return s->plat.n_each ? s->plat.enc_each[i % s->plat.n_each] : s->plat.encrypt;
}

void scn_plat_plate(const struct scenario *s, uint32_t i, uint32_t j, char *out, size_t cap)
{
    snprintf(out, cap, "%s%05u", s->plat.plate_prefix,
             (i * s->plat.vehicles_each + j) % 100000u);
}

int scn_plat_in_outage(const struct scenario *s, uint32_t i, int64_t t)
{
    for (uint32_t k = 0; k < s->plat.n_outage; k++) {
        const struct scn_outage *o = &s->plat.outage[k];
        int64_t a = s->start_t + (int64_t)o->at_s;
        if (t < a || t >= a + (int64_t)o->duration_s)
            continue;
        uint64_t st = s->seed ^ (i * 0xD1B54A32D192ED03ull) ^ (k + 101u);
        if ((double)(road_rand(&st) >> 11) / 9007199254740992.0 < o->fraction)
            return 1;
    }
    return 0;
}

static int scn_strings(json_t *root, struct scenario *s, char *err, size_t cap)
{
    char buf[64] = "";
    int rc = scn_str(root, "name", s->name, sizeof s->name, err, cap);
    rc = rc ? rc : scn_str(root, "target.host", s->host, sizeof s->host, err, cap);
    rc = rc ? rc : scn_str(root, "fleet.plate_prefix", s->plate_prefix,
                           sizeof s->plate_prefix, err, cap);
    rc = rc ? rc : scn_str(root, "platforms.password", s->plat.password,
                           sizeof s->plat.password, err, cap);
    rc = rc ? rc : scn_str(root, "platforms.plate_prefix", s->plat.plate_prefix,
                           sizeof s->plat.plate_prefix, err, cap);
    rc = rc ? rc : scn_str(root, "start_time", buf, sizeof buf, err, cap);
    if (rc)
        return rc;
    if (buf[0] && scn_time_parse(buf, &s->start_t) != 0) {
        snprintf(err, cap, "start_time: ISO 8601 with offset expected");
        return RW_E_FIELD;
    }
    buf[0] = 0;
    if ((rc = scn_str(root, "load.mode", buf, sizeof buf, err, cap)) != 0)
        return rc;
    if (buf[0] && strcmp(buf, "paced") != 0 && strcmp(buf, "max") != 0) {
        snprintf(err, cap, "load.mode: \"paced\" or \"max\" expected");
        return RW_E_FIELD;
    }
    s->max_rate = strcmp(buf, "max") == 0;
    json_t *c = json_path(root, "ceiling.enabled");
    s->ceiling = c ? json_is_true(c) : 0;
    return 0;
}

int scn_parse(const char *text, struct scenario *s, char *err, size_t cap)
{
    scn_defaults(s);
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root || !json_is_object(root)) {
        snprintf(err, cap, "line %d: %s", je.line, root ? "an object expected" : je.text);
        json_decref(root);
        return RW_E_SYNTAX;
    }
    int rc = scn_strings(root, s, err, cap);
    rc = rc ? rc : scn_numbers(root, s, err, cap);
    rc = rc ? rc : scn_violations(root, s, err, cap);
    rc = rc ? rc : scn_outages(root, s, err, cap);
    rc = rc ? rc : scn_plat_each(root, s, err, cap);
    json_decref(root);
    if (rc)
        return rc;
    if ((uint64_t)s->plat.count * s->plat.vehicles_each > 100000u) {
        snprintf(err, cap, "platforms: count x vehicles_each above 100000 (plates collide)");
        return RW_E_FIELD;
    }
    s->term.time_scale = s->time_scale;
    if (s->warmup_s >= s->duration_s) {
        snprintf(err, cap, "warmup_s: must be below duration_s");
        return RW_E_FIELD;
    }
    return 0;
}

int scn_load(const char *path, struct scenario *s, char *err, size_t cap)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, cap, "%s: line %d: %s", path, je.line, je.text);
        return RW_E_SYNTAX;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        return -ENOMEM;
    char inner[256] = "";
    int rc = scn_parse(text, s, inner, sizeof inner);
    free(text);
    if (rc)
        snprintf(err, cap, "%s: %s", path, inner);
    return rc;
}
