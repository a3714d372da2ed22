/* road.c: synthetic road network and movement model (road.h). */
#include "bench/load/road.h"

#include <math.h>
#include <string.h>

#include "engine/base/assert.h"

#define M_PER_DEG_LAT 111320.0
#define LOCAL_OFFSET_S (8 * 3600)

static const unsigned road_limits[3] = {60, 80, 100};

uint64_t road_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rand_unit(uint64_t *st)
{
    return (double)(road_rand(st) >> 11) / 9007199254740992.0;
}

unsigned road_limit_kmh(uint32_t road_index)
{
    return road_limits[road_index % 3u];
}

void road_net_default(struct road_net *net)
{
    memset(net, 0, sizeof *net);
    net->lat0 = 30.5;
    net->lon0 = 114.3;
    net->grid_m = 20000.0;
    net->grid_n = 8;
    net->drive_s = 7200.0;
    net->rest_s = 1800.0;
    net->corridor_m = 50.0;
}

void road_to_latlon(const struct road_net *net, double x, double y, int32_t *lat_e6,
                    int32_t *lon_e6)
{
    double lat = net->lat0 + y / M_PER_DEG_LAT;
    double lon = net->lon0 + x / (M_PER_DEG_LAT * cos(net->lat0 * M_PI / 180.0));
    *lat_e6 = (int32_t)lround(lat * 1e6);
    *lon_e6 = (int32_t)lround(lon * 1e6);
}

void road_cell_corner(const struct road_net *net, uint32_t cell, unsigned k, double *x,
                      double *y)
{
    ASSERT(k < 4);
    uint32_t cx = cell % net->grid_n, cy = cell / net->grid_n;
    *x = (cx + (k == 1 || k == 2)) * net->grid_m;
    *y = (cy + (k >= 2)) * net->grid_m;
}

/* Limit of side <side> of the loop of <cell>: 0 south (road j=cy), 1 east (i=cx+1),
 * 2 north (j=cy+1), 3 west (i=cx). North-south roads are offset by one in the table. */
static unsigned side_limit(const struct road_net *net, uint32_t cell, unsigned side)
{
    uint32_t cx = cell % net->grid_n, cy = cell / net->grid_n;
    switch (side) {
    case 0: return road_limit_kmh(cy);
    case 1: return road_limit_kmh(cx + 2u);
    case 2: return road_limit_kmh(cy + 1u);
    default: return road_limit_kmh(cx + 1u);
    }
}

void road_veh_init(struct road_veh *v, const struct road_net *net, uint64_t seed,
                   uint32_t index, const struct road_violation *vio, uint32_t n_vio)
{
    ASSERT(net->grid_n > 0);
    memset(v, 0, sizeof *v);
    uint64_t st = seed ^ ((uint64_t)index * 0xD1B54A32D192ED03ull);
    v->index = index;
    v->cell = (uint32_t)(road_rand(&st) % ((uint64_t)net->grid_n * net->grid_n));
    unsigned lo = 1000;
    for (unsigned k = 0; k < 4; k++) {
        unsigned l = side_limit(net, v->cell, k);
        lo = l < lo ? l : lo;
    }
    v->cruise_kmh = lo * (0.60 + 0.15 * rand_unit(&st));
    v->phase_s = rand_unit(&st) * (net->drive_s + net->rest_s);
    v->s_m = rand_unit(&st) * 4.0 * net->grid_m;
    v->vio = vio;
    v->n_vio = n_vio;
    v->vio_t0 = INT64_MIN;
    for (uint32_t k = 0; k < n_vio; k++)
        if (vio[k].type == ROAD_VIO_NIGHT)
            v->coach = 1;
}

const struct road_violation *road_veh_vio_at(const struct road_veh *v, int64_t t)
{
    for (uint32_t k = 0; k < v->n_vio; k++)
        if (t >= v->vio[k].t0 && t < v->vio[k].t1)
            return &v->vio[k];
    return NULL;
}

void road_loop_xy(const struct road_veh *v, const struct road_net *net, double s_m,
                  double *x, double *y, unsigned *side)
{
    double per = 4.0 * net->grid_m;
    double s = fmod(s_m, per);
    if (s < 0)
        s += per;
    unsigned sd = (unsigned)(s / net->grid_m);
    if (sd > 3)
        sd = 3;
    double frac = s - sd * net->grid_m;
    static const double dx[4] = {1, 0, -1, 0}, dy[4] = {0, 1, 0, -1};
    double cx, cy;
    road_cell_corner(net, v->cell, sd, &cx, &cy);
    *x = cx + dx[sd] * frac;
    *y = cy + dy[sd] * frac;
    *side = sd;
}

/* Behaviour at <t>: speed (km/h), ACC, lateral direction (+1 out, -1 back, 0 none). */
struct road_mode {
    double kmh;
    int acc;
    int lateral;
    int powered;
};

static int night_local(int64_t t)
{
    int64_t sec = ((t + LOCAL_OFFSET_S) % 86400 + 86400) % 86400;
    return sec >= 2 * 3600 && sec < 5 * 3600;
}

static void mode_at(const struct road_veh *v, const struct road_net *net, int64_t t,
                    struct road_mode *m)
{
    double cyc = net->drive_s + net->rest_s;
    double u = fmod((double)t + v->phase_s, cyc);
    int moving = u < net->drive_s && !(v->coach && night_local(t));
    m->kmh = moving ? v->cruise_kmh : 0.0;
    m->acc = moving;
    m->lateral = 0;
    m->powered = 1;
    const struct road_violation *vio = road_veh_vio_at(v, t);
    if (!vio)
        return;
    m->kmh = v->cruise_kmh;
    m->acc = 1;
    switch (vio->type) {
    case ROAD_VIO_OVERSPEED: {
        double x, y;
        unsigned side;
        road_loop_xy(v, net, v->s_m, &x, &y, &side);
        m->kmh = vio->speed_factor * side_limit(net, v->cell, side);
        break;
    }
    case ROAD_VIO_ACC: m->acc = 0; break;
    case ROAD_VIO_AREA:
    case ROAD_VIO_ROUTE: m->lateral = 2 * (t - vio->t0) < vio->t1 - vio->t0 ? 1 : -1; break;
    case ROAD_VIO_KEY_POINT: m->kmh = 0; m->acc = 0; break;
    case ROAD_VIO_OFFLINE: m->powered = 0; break;
    default: break;
    }
}

static void advance(struct road_veh *v, const struct road_net *net, int64_t t)
{
    const struct road_violation *vio = road_veh_vio_at(v, t);
    if (vio && vio->t0 != v->vio_t0 &&
        (vio->type == ROAD_VIO_AREA || vio->type == ROAD_VIO_ROUTE ||
         vio->type == ROAD_VIO_KEY_POINT)) {
        v->vio_t0 = vio->t0;
        v->vio_s_m = v->s_m;
    }
    if (!v->started) {
        v->started = 1;
        v->last_t = t;
        return;
    }
    double dt = (double)(t - v->last_t);
    struct road_mode m;
    mode_at(v, net, v->last_t, &m);
    double d = m.kmh / 3.6 * dt;
    if (m.lateral > 0) {
        v->off_m += d;
        if (v->off_m > net->grid_m * 0.45)
            v->off_m = net->grid_m * 0.45;
    } else if (m.lateral < 0 || v->off_m > 0) {
        v->off_m = v->off_m > d ? v->off_m - d : 0.0;
    } else {
        v->s_m += d;
    }
    v->odo_m += d;
    v->last_t = t;
}

int road_veh_step(struct road_veh *v, const struct road_net *net, int64_t t,
                  struct road_point *out)
{
    ASSERT(!v->started || t >= v->last_t);
    advance(v, net, t);
    struct road_mode m;
    mode_at(v, net, t, &m);
    if (!m.powered)
        return 0;
    unsigned side;
    double x, y;
    road_loop_xy(v, net, v->s_m, &x, &y, &side);
    static const double ix[4] = {0, -1, 0, 1}, iy[4] = {1, 0, -1, 0};
    static const uint16_t heading[4] = {90, 0, 270, 180};
    memset(out, 0, sizeof *out);
    out->t = t;
    out->x_m = x + ix[side] * v->off_m;
    out->y_m = y + iy[side] * v->off_m;
    out->off_m = v->off_m;
    road_to_latlon(net, out->x_m, out->y_m, &out->lat_e6, &out->lon_e6);
    out->speed_dkmh = (uint16_t)lround(m.kmh * 10.0);
    out->dir = heading[side];
    out->limit_kmh = (uint16_t)side_limit(net, v->cell, side);
    out->acc = (uint8_t)m.acc;
    out->moving = m.kmh > 5.0;
    out->mileage_hm = (uint32_t)(v->odo_m / 100.0);
    return 1;
}

void road_area_of(const struct road_veh *v, const struct road_net *net,
                  const struct road_violation *vio, double *cx, double *cy, double *r)
{
    static const double ix[4] = {0, -1, 0, 1}, iy[4] = {1, 0, -1, 0};
    double maxoff = v->cruise_kmh / 3.6 * (double)(vio->t1 - vio->t0) / 2.0;
    if (maxoff > net->grid_m * 0.45)
        maxoff = net->grid_m * 0.45;
    double x, y;
    unsigned side;
    road_loop_xy(v, net, v->vio_s_m, &x, &y, &side);
    *cx = x + ix[side] * 0.7 * maxoff;
    *cy = y + iy[side] * 0.7 * maxoff;
    *r = 0.4 * maxoff;
}

void road_key_point_of(const struct road_veh *v, const struct road_net *net, double *x,
                       double *y)
{
    unsigned side;
    road_loop_xy(v, net, v->vio_s_m + v->cruise_kmh / 3.6 * 300.0, x, y, &side);
}
