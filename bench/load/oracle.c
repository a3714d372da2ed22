/* oracle.c: expected alarms by replaying the scripted vehicles (oracle.h). */
#include "bench/load/oracle.h"

#include <math.h>
#include <string.h>

#include "engine/base/assert.h"

#define V_MOVE_KMH 5.0
#define T_OS_S 30
#define T_MERGE_S 60
#define L_DAY_S 14400
#define T_REST_S 1200
#define N_AREA 2
#define N_DEV 3
#define T_DEV_S 30
#define R_KP_M 200.0
#define KP_WINDOW_S 600
#define V_ACC_KMH 30.0
#define T_ACC_S 1800
#define V_NIGHT_KMH 5.0

/* Per-rule state of one vehicle; "first" is the first point of the pending phase. */
struct rule {
    int64_t first, start, last_end;
    unsigned run;
    int active;
};

struct oracle_ctx {
    const struct scenario *s;
    FILE *out;
    char plate[64];
    uint32_t vehicle;
    int count;
    struct road_veh veh;
};

static void emit(struct oracle_ctx *c, unsigned type, int64_t start, int64_t end,
                 const char *params)
{
    char a[32], b[40] = "null";
    scn_time_fmt(start, a);
    if (end != INT64_MAX) {
        char e[32];
        scn_time_fmt(end, e);
        snprintf(b, sizeof b, "\"%s\"", e);
    }
    fprintf(c->out, "{\"plate\": \"%s\", \"color\": 2, \"vehicle\": %u, \"type\": \"%s\", "
            "\"start\": \"%s\", \"end\": %s, \"params\": {%s}}\n", c->plate, c->vehicle,
            scn_vio_name(type), a, b, params);
    c->count++;
}

/* Debounced condition: starts after <cond> held more than <min_s> (and <min_n> points),
 * start = first point; ends at the first point without it. */
static void rule_step(struct oracle_ctx *c, struct rule *r, unsigned type, int cond,
                      int64_t t, int64_t min_s, unsigned min_n, const char *params)
{
    if (cond) {
        if (r->run++ == 0)
            r->first = t;
        if (!r->active && t - r->first >= min_s && r->run >= min_n) {
            r->active = 1;
            r->start = r->first;
        }
        return;
    }
    r->run = 0;
    if (r->active) {
        emit(c, type, r->start, t, params);
        r->active = 0;
    }
}

#define OS_PARAMS "\"limit\": \"road section\", \"T_os_s\": 30, \"T_merge_s\": 60"

/* Overspeed (alarms.md 2.1): speed > limit for more than T_os; episodes less than
 * T_merge apart are one record. active: 1 open, -1 closed but mergeable. */
static void overspeed_step(struct oracle_ctx *c, struct rule *r, const struct road_point *p)
{
    int64_t t = p->t;
    if (p->speed_dkmh > p->limit_kmh * 10u) {
        if (r->run++ == 0)
            r->first = t;
        if (r->active != 1 && t - r->first > T_OS_S) {
            if (!(r->active == -1 && r->first - r->last_end < T_MERGE_S)) {
                if (r->active == -1)
                    emit(c, ROAD_VIO_OVERSPEED, r->start, r->last_end, OS_PARAMS);
                r->start = r->first;
            }
            r->active = 1;
        }
        return;
    }
    r->run = 0;
    if (r->active == 1) {
        r->active = -1;
        r->last_end = t;
    }
    if (r->active == -1 && t - r->last_end >= T_MERGE_S) {
        emit(c, ROAD_VIO_OVERSPEED, r->start, r->last_end, OS_PARAMS);
        r->active = 0;
    }
}

/* Fatigue (2.2): continuous driving >= 4 h (day rule; the fleet is freight); a stop of
 * >= 20 min resets it and ends the alarm at the rest start. */
struct fatigue {
    int64_t cont, rest_start, start, prev_t;
    int prev_moving, active;
};

static void fatigue_step(struct oracle_ctx *c, struct fatigue *f, const struct road_point *p)
{
    int moving = p->speed_dkmh > V_MOVE_KMH * 10;
    if (f->prev_t && f->prev_moving && moving)
        f->cont += p->t - f->prev_t;
    if (moving) {
        f->rest_start = 0;
        if (!f->active && f->cont >= L_DAY_S) {
            f->active = 1;
            f->start = p->t;
        }
    } else {
        if (!f->rest_start)
            f->rest_start = p->t;
        if (p->t - f->rest_start >= T_REST_S) {
            f->cont = 0;
            if (f->active)
                emit(c, ROAD_VIO_FATIGUE, f->start, f->rest_start,
                     "\"L_day_s\": 14400, \"T_rest_s\": 1200");
            f->active = 0;
        }
    }
    f->prev_t = p->t;
    f->prev_moving = moving;
}

/* Hysteresis: starts after <n_on> points (and >= <s_on> s) with <cond>, at the first of
 * them; ends at the first of <n_off> points without it. */
static void hyst_step(struct oracle_ctx *c, struct rule *r, unsigned type, int cond,
                      int64_t t, unsigned n_on, int64_t s_on, unsigned n_off,
                      const char *params)
{
    int toward = r->active ? !cond : cond;
    if (!toward) {
        r->run = 0;
        return;
    }
    if (r->run++ == 0)
        r->first = t;
    if (!r->active && r->run >= n_on && t - r->first >= s_on) {
        r->active = 1;
        r->start = r->first;
        r->run = 0;
    } else if (r->active && r->run >= n_off) {
        emit(c, type, r->start, r->first, params);
        r->active = 0;
        r->run = 0;
    }
}

static int night_local(int64_t t)
{
    int64_t sec = ((t + 8 * 3600) % 86400 + 86400) % 86400;
    return sec >= 2 * 3600 && sec < 5 * 3600;
}

struct vstate {
    struct rule os, area, route, acc, night;
    struct fatigue fat;
    int64_t prev_t;
    int kp_seen, kp_done;
};

static void geo_step(struct oracle_ctx *c, struct vstate *v, const struct road_point *p,
                     const struct road_violation *vio)
{
    const struct road_net *net = &c->s->net;
    char prm[160];
    if (vio->type == ROAD_VIO_AREA && c->veh.vio_t0 == vio->t0) {
        double cx, cy, r;
        road_area_of(&c->veh, net, vio, &cx, &cy, &r);
        int in = hypot(p->x_m - cx, p->y_m - cy) <= r;
        snprintf(prm, sizeof prm, "\"area\": \"circle\", \"kind\": \"forbidden\", "
                 "\"id\": %u, \"N_area\": 2", 1000000u + c->vehicle);
        /* State style: entry after N_area fixes inside, exit after N_area outside. */
        hyst_step(c, &v->area, ROAD_VIO_AREA, in, p->t, N_AREA, 0, N_AREA, prm);
    }
    if (vio->type == ROAD_VIO_KEY_POINT && c->veh.vio_t0 == vio->t0 && !v->kp_done) {
        double kx, ky;
        road_key_point_of(&c->veh, net, &kx, &ky);
        if (hypot(p->x_m - kx, p->y_m - ky) <= R_KP_M && p->t <= vio->t0 + KP_WINDOW_S)
            v->kp_seen = 1;
        if (p->t > vio->t0 + KP_WINDOW_S) {
            v->kp_done = 1;
            if (!v->kp_seen)
                emit(c, ROAD_VIO_KEY_POINT, vio->t0 + KP_WINDOW_S, vio->t0 + KP_WINDOW_S,
                     "\"event\": \"not_arrived_on_time\", \"R_kp_m\": 200");
        }
    }
}

static void vehicle_step(struct oracle_ctx *c, struct vstate *v, const struct road_point *p)
{
    uint32_t n;
    const struct road_violation *vio = scn_vio_of(c->s, c->vehicle, &n);
    int has[ROAD_VIO_COUNT] = {0};
    for (uint32_t k = 0; k < n; k++) {
        has[vio[k].type] = 1;
        if (p->t >= vio[k].t0 && (p->t < vio[k].t1 + KP_WINDOW_S + 60))
            geo_step(c, v, p, &vio[k]);
    }
    if (has[ROAD_VIO_OVERSPEED])
        overspeed_step(c, &v->os, p);
    if (has[ROAD_VIO_FATIGUE])
        fatigue_step(c, &v->fat, p);
    if (has[ROAD_VIO_ROUTE])
        hyst_step(c, &v->route, ROAD_VIO_ROUTE, p->off_m > c->s->net.corridor_m, p->t, N_DEV,
                  T_DEV_S, N_DEV, "\"half_width_m\": 50, \"N_dev\": 3, \"T_dev_s\": 30");
    if (has[ROAD_VIO_ACC])
        rule_step(c, &v->acc, ROAD_VIO_ACC, !p->acc && p->speed_dkmh > V_ACC_KMH * 10, p->t,
                  T_ACC_S, 1, "\"V_acc_kmh\": 30, \"T_acc_s\": 1800");
    if (has[ROAD_VIO_NIGHT])
        rule_step(c, &v->night, ROAD_VIO_NIGHT,
                  night_local(p->t) && p->speed_dkmh > V_NIGHT_KMH * 10, p->t, 0, 1,
                  "\"window\": \"02:00-05:00\", \"V_night_kmh\": 5, \"industry\": \"coach\"");
    if (has[ROAD_VIO_OFFLINE] && v->prev_t && p->t - v->prev_t >= c->s->offline_s) {
        char prm[64];
        snprintf(prm, sizeof prm, "\"T_off_s\": %u", c->s->offline_s);
        emit(c, ROAD_VIO_OFFLINE, v->prev_t, p->t, prm);
    }
    v->prev_t = p->t;
}

static void vehicle_close(struct oracle_ctx *c, struct vstate *v)
{
    /* Alarms still open at the end of the run have no end. */
    if (v->os.active == 1)
        emit(c, ROAD_VIO_OVERSPEED, v->os.start, INT64_MAX, OS_PARAMS);
    else if (v->os.active == -1)
        emit(c, ROAD_VIO_OVERSPEED, v->os.start, v->os.last_end, OS_PARAMS);
    if (v->fat.active)
        emit(c, ROAD_VIO_FATIGUE, v->fat.start, INT64_MAX, "\"L_day_s\": 14400");
    struct rule *open[] = {&v->area, &v->route, &v->acc, &v->night};
    unsigned type[] = {ROAD_VIO_AREA, ROAD_VIO_ROUTE, ROAD_VIO_ACC, ROAD_VIO_NIGHT};
    for (unsigned k = 0; k < 4; k++)
        if (open[k]->active)
            emit(c, type[k], open[k]->start, INT64_MAX, "\"open\": true");
}

int oracle_write(const struct scenario *s, int64_t gnss_span_s, FILE *out)
{
    struct oracle_ctx c = {.s = s, .out = out};
    int64_t end = s->start_t + gnss_span_s;
    for (uint32_t k = 0; k < s->n_vio; k++) {
        if (k > 0 && s->vio[k].vehicle == s->vio[k - 1].vehicle)
            continue;
        c.vehicle = s->vio[k].vehicle;
        scn_term_plate(s, c.vehicle, c.plate, sizeof c.plate);
        uint32_t n;
        const struct road_violation *vio = scn_vio_of(s, c.vehicle, &n);
        road_veh_init(&c.veh, &s->net, s->seed, c.vehicle, vio, n);
        struct vstate v;
        memset(&v, 0, sizeof v);
        for (int64_t t = scn_term_first_t(s, c.vehicle); t < end; t += s->term.report_s) {
            struct road_point p;
            if (road_veh_step(&c.veh, &s->net, t, &p))
                vehicle_step(&c, &v, &p);
        }
        vehicle_close(&c, &v);
    }
    return c.count;
}
