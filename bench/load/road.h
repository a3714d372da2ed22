/* road.h: the synthetic road network and the fleet movement model.
 *
 * The network is a square grid of straight roads, <grid_n>+1 east-west and <grid_n>+1
 * north-south, <grid_km> apart, placed at <origin> (degrees, GMT+8 land). Each road has a
 * speed limit from {60, 80, 100} km/h by its index, so every limit is at or below the
 * 100 km/h bus/truck cap and the effective limit at a point is the road's (alarms.md §2.1).
 *
 *      y ^   road j=2 (80) ─────────────────
 *        |   road j=1 (60) ──┬──────┬───────
 *        |                   │ cell │            a route is the loop around one cell,
 *        |   road j=0 (100)──┴──────┴───────     driven anticlockwise at a constant cruise
 *        +─────────────────────────────> x       speed of 60-75% of its lowest limit
 *
 * A vehicle drives its loop with a duty cycle (drive <drive_min>, rest <rest_min> with ACC
 * off) so that normal vehicles raise no fatigue, overspeed, area or route alarm. Scripted
 * violations change the behaviour inside a window of GNSS time; see struct road_violation.
 * Area and route violations leave the loop towards the inside of the cell, where no road
 * runs, so no other vehicle comes near the areas they create.
 *
 * The model is deterministic: a vehicle's points depend only on the scenario seed, its
 * index and the times it is stepped at, so the oracle writer replays exactly what the
 * simulator sent. Points must be produced in increasing time. Single-threaded per vehicle.
 */
#ifndef RW_BENCH_ROAD_H
#define RW_BENCH_ROAD_H

#include <stdint.h>

enum road_vio_type {
    ROAD_VIO_NONE = 0,
    ROAD_VIO_OVERSPEED,
    ROAD_VIO_FATIGUE,
    ROAD_VIO_AREA,
    ROAD_VIO_ROUTE,
    ROAD_VIO_KEY_POINT,
    ROAD_VIO_ACC,
    ROAD_VIO_OFFLINE,
    ROAD_VIO_NIGHT,
    ROAD_VIO_COUNT,
};

/* One scripted violation: behaviour of one vehicle during [t0, t1) (UTC seconds). */
struct road_violation {
    uint8_t type;          /* enum road_vio_type */
    uint32_t vehicle;      /* index in the fleet */
    int64_t t0, t1;
    double speed_factor;   /* overspeed: speed = factor x the road's limit (default 1.25) */
};

struct road_net {
    double lat0, lon0;     /* south-west corner, degrees */
    double grid_m;         /* road spacing, metres */
    uint32_t grid_n;       /* cells per side */
    double drive_s, rest_s;/* duty cycle */
    double corridor_m;     /* route corridor half-width used by the oracle (50 m) */
};

/* Per-vehicle movement state, 64 bytes-ish; one per simulated vehicle. */
struct road_veh {
    uint32_t index;
    uint32_t cell;         /* route = loop around this cell */
    uint8_t coach;         /* scheduled coach: stops 02:00-05:00 local unless scripted */
    uint8_t started;
    double cruise_kmh;
    double phase_s;        /* duty-cycle phase */
    double s_m;            /* arc length along the loop */
    double off_m;          /* lateral offset towards the inside of the cell */
    double odo_m;          /* odometer */
    int64_t last_t;
    const struct road_violation *vio; /* this vehicle's violations (sorted), or NULL */
    uint32_t n_vio;
    double vio_s_m;        /* loop position when the current area/route/key-point
                            * violation began (the area and key point hang off it) */
    int64_t vio_t0;        /* t0 of the violation vio_s_m belongs to, or INT64_MIN */
};

/* A generated position, with the ground truth the oracle needs. */
struct road_point {
    int64_t t;             /* UTC seconds */
    double x_m, y_m;       /* planar position from the origin */
    int32_t lat_e6, lon_e6;
    uint16_t speed_dkmh;   /* 1/10 km/h */
    uint16_t dir;
    uint16_t limit_kmh;    /* limit of the road side the vehicle is on */
    uint8_t acc;           /* ACC on */
    uint8_t moving;
    uint32_t mileage_hm;   /* 1/10 km */
    double off_m;          /* distance from the route loop (ground truth) */
};

/* Fills <net> with defaults (30.5N 114.3E, 20 km grid, 8x8 cells, 120/30 min cycle). */
void road_net_default(struct road_net *net);

/* Initialises vehicle <index> of <net> with <seed>; <vio>/<n_vio> its violations (borrowed,
 * must outlive <v>), sorted by t0. */
void road_veh_init(struct road_veh *v, const struct road_net *net, uint64_t seed,
                   uint32_t index, const struct road_violation *vio, uint32_t n_vio);

/* Advances <v> to time <t> (>= the previous call's) and writes its position to <out>.
 * Returns 1, or 0 when the terminal is powered off at <t> (an offline violation): no
 * point exists then. */
int road_veh_step(struct road_veh *v, const struct road_net *net, int64_t t,
                  struct road_point *out);

/* The violation of <v> in force at <t>, or NULL. */
const struct road_violation *road_veh_vio_at(const struct road_veh *v, int64_t t);

/* Geometry the oracle and the GeoJSON export share: the forbidden area created by an area
 * violation (circle centre and radius, metres), and a point's distance from the loop. */
void road_area_of(const struct road_veh *v, const struct road_net *net,
                  const struct road_violation *vio, double *cx, double *cy, double *r);
/* The key point of a key-point violation: 5 minutes ahead on the loop of where the vehicle
 * was at t0; planned arrival by t0 + 600 s. Valid once <v> has been stepped past t0. */
void road_key_point_of(const struct road_veh *v, const struct road_net *net, double *x,
                       double *y);
/* Loop position <s_m> of <v> as planar metres (offset 0). */
void road_loop_xy(const struct road_veh *v, const struct road_net *net, double s_m,
                  double *x, double *y, unsigned *side);

/* Planar metres to degrees x 1e6. */
void road_to_latlon(const struct road_net *net, double x, double y, int32_t *lat_e6,
                    int32_t *lon_e6);
/* Corner <k> (0..3, anticlockwise from south-west) of the loop of <cell>, in metres. */
void road_cell_corner(const struct road_net *net, uint32_t cell, unsigned k, double *x,
                      double *y);
/* Limit of east-west road <j> or north-south road <i> (same table). */
unsigned road_limit_kmh(uint32_t road_index);

/* splitmix64: the simulator's only random source (seeded, reproducible). */
uint64_t road_rand(uint64_t *state);

#endif
