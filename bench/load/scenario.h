/* scenario.h: the scenario file (JSON) of a load run; every key is documented in
 * bench/load/README.md ("Scenario format"). Parsed once at start into an immutable struct;
 * the simulator threads only read it. */
#ifndef RW_BENCH_SCENARIO_H
#define RW_BENCH_SCENARIO_H

#include <stdint.h>

#include "bench/load/road.h"
#include "bench/load/term.h"

#define SCN_VIO_MAX 256u
#define SCN_OUTAGE_MAX 8u
#define SCN_PLAT_EACH_MAX 16u

struct scn_outage {
    double at_s;          /* GNSS seconds after start */
    double duration_s;    /* GNSS seconds */
    double fraction;      /* share of the terminals cut */
};

struct scn_plat {
    uint32_t count;       /* M lower platforms */
    uint32_t vehicles_each; /* K */
    uint16_t edition;     /* 2011 or 2019 */
    uint32_t user_id;     /* first platform's; +i for the others */
    char password[9];
    uint32_t access_code; /* MSG_GNSSCENTERID; +i */
    uint32_t m1, ia1, ic1;
    uint8_t encrypt;
    uint16_t listen_port_base; /* subordinate-link listener of platform i: base + i */
    uint32_t link_test_s; /* GNSS seconds */
    uint32_t report_s;    /* GNSS seconds between a vehicle's 0x1202 */
    char plate_prefix[32];/* plates: prefix + 5 digits of i*K + j, colour 1 (blue) */
    uint32_t n_each;      /* "each": per-platform edition/encryption, cycled over i */
    uint16_t ed_each[SCN_PLAT_EACH_MAX];
    uint8_t enc_each[SCN_PLAT_EACH_MAX];
    uint32_t n_outage;    /* link outages of the platforms (fraction of the M cut) */
    struct scn_outage outage[SCN_OUTAGE_MAX];
};

struct scenario {
    char name[64];
    uint64_t seed;
    double duration_s;    /* wall seconds of load */
    double warmup_s;      /* wall seconds excluded from the sustained figures */
    double drain_s;       /* wall seconds allowed for the last acks */
    double time_scale;    /* GNSS seconds per wall second */
    int64_t start_t;      /* GNSS start, UTC seconds */
    char host[64];        /* first target address; further source addresses follow */
    uint16_t port_808, port_809;
    uint32_t source_addrs;/* loopback source addresses 127.0.0.(10+i) */
    uint32_t threads;
    uint32_t vehicles;
    double udp_share;
    double ed_share[3];   /* 2011, 2013, 2019 */
    char plate_prefix[32];
    uint8_t max_rate;     /* "mode": "max": ignore the GNSS clock, window-limited */
    double ceiling_fraction; /* > 0: pace the fleet at this share of the measured ceiling */
    uint8_t ceiling;      /* measure the null-sink ceiling first */
    double ceiling_s;
    uint16_t ceiling_port;
    uint32_t offline_s;   /* T_off the oracle assumes for long_abnormal_offline */
    struct term_cfg term;
    struct road_net net;
    struct scn_plat plat;
    uint32_t n_outage;
    struct scn_outage outage[SCN_OUTAGE_MAX];
    uint32_t n_vio;
    struct road_violation vio[SCN_VIO_MAX]; /* sorted by vehicle, then t0 */
};

/* Sets every key to its default (README.md). */
void scn_defaults(struct scenario *s);

/* Parses the file <path> into <s> (defaults first). Returns 0, -errno when unreadable,
 * or RW_E_SYNTAX / RW_E_FIELD with a "path: key: reason" message in <err> (<errcap>). */
int scn_load(const char *path, struct scenario *s, char *err, size_t errcap);
/* The same from JSON text. */
int scn_parse(const char *json, struct scenario *s, char *err, size_t errcap);

/* Parses "YYYY-MM-DDThh:mm:ss+hh:mm" (or Z). Returns 0 or RW_E_SYNTAX. */
int scn_time_parse(const char *iso, int64_t *out);
/* Formats UTC seconds <t> as ISO 8601 in +08:00 into <out> (26 bytes). */
void scn_time_fmt(int64_t t, char out[32]);

/* Alarm type names (snake_case of domain/alarms.md) of enum road_vio_type. */
const char *scn_vio_name(unsigned type);
int scn_vio_type(const char *name);

/* Edition of terminal <index> and whether it uses UDP: fixed by the seed and the shares. */
uint16_t scn_term_edition(const struct scenario *s, uint32_t index);
int scn_term_udp(const struct scenario *s, uint32_t index);
/* Plate (UTF-8) of terminal <index> into <out>. */
void scn_term_plate(const struct scenario *s, uint32_t index, char *out, size_t cap);
/* GNSS time of terminal <index>'s first position (a per-vehicle phase in one interval). */
int64_t scn_term_first_t(const struct scenario *s, uint32_t index);
/* Edition (2011/2019) and encryption (0/1) of lower platform <i>: platforms.each[i mod n]
 * when given, else platforms.edition / platforms.encrypt. */
uint16_t scn_plat_edition(const struct scenario *s, uint32_t i);
int scn_plat_encrypt(const struct scenario *s, uint32_t i);
/* Plate (UTF-8) of vehicle <j> of platform <i> into <out>. */
void scn_plat_plate(const struct scenario *s, uint32_t i, uint32_t j, char *out, size_t cap);
/* Whether platform <i>'s links are cut at GNSS time <t> (platforms.outages). */
int scn_plat_in_outage(const struct scenario *s, uint32_t i, int64_t t);

/* The violations of <vehicle> (a slice of s->vio). */
const struct road_violation *scn_vio_of(const struct scenario *s, uint32_t vehicle,
                                        uint32_t *n);

#endif
