/* plat.h: one simulated JT/T 809 lower (enterprise) platform carrying K vehicles, as a
 * state machine without sockets (shared/protocols/jt809.md §1, §6, §7, §8.1).
 *
 * The simulator (sim.c) owns the sockets and calls in, as for terminals (term.h):
 * plat_on_connected() when the main link (ours -> engine) is up, plat_on_bytes() with what
 * either link read, plat_tick() regularly, plat_on_disconnected() when the main link is
 * gone. The platform answers through the send callback of its struct plat_env, naming the
 * link (PLAT_MAIN or PLAT_SUB); the subordinate link is the engine's connection to our
 * listening socket (127.0.0.1:listen_port), accepted by the simulator.
 *
 *   main link:  connect -> 0x1001 (user, password, [2019 access code], 127.0.0.1:listen)
 *               <- 0x1002 result 0 + VERIFY_CODE -> ONLINE: 0x1200/0x1202 per vehicle
 *               every report_s, 0x1005 every link_test_s (<- 0x1006), 0x1203 back-fill
 *   sub link:   <- 0x9001 VERIFY_CODE -> 0x9002 (0 when it matches, 1 otherwise)
 *               <- 0x9005 -> 0x9006;  <- 0x9003 -> 0x9004 and the link is closed
 *
 * Outages: while the main link is down (scripted outage, refused login, broken link),
 * every position due goes to its vehicle's "missed" ring (fleet.blind_max, oldest dropped
 * and counted). After the next successful login they are re-uploaded as 0x1200/0x1203 with
 * 1..5 positions of one vehicle per message, in time order, alongside the real-time
 * 0x1202. JT/T 809 has no per-record acknowledgement: a position counts as SENT when its
 * frame is handed to the link's send buffer, so the simulator closes main links
 * gracefully (flush, shutdown(SHUT_WR), wait for the engine's EOF) to make "sent" mean
 * "read by the engine".
 *
 * Every frame is built with the codec (jt809_encode) in the platform's edition (2011:
 * 36-byte GNSS_DATA; 2019: the JT/T 808 0x0200 body) and encrypted with M1/IA1/IC1 and a
 * fresh per-frame key when the platform encrypts. Received frames are parsed with the
 * same keys (the engine may encrypt what it sends, RW_JT809_ENCRYPT_OUT).
 *
 * Times: report and link-test intervals are GNSS seconds (compressed by time_scale); the
 * login timeout and the reconnect delay are wall time. Memory: plat_create() allocates
 * everything (vehicles, missed rings, two framers); nothing afterwards. One thread.
 */
#ifndef RW_BENCH_PLAT_H
#define RW_BENCH_PLAT_H

#include <stddef.h>
#include <stdint.h>

#include "bench/load/road.h"
#include "bench/load/scenario.h"
#include "bench/load/term.h"
#include "engine/proto/jt809.h"

/* Largest frame a platform sends (a 2019 0x1203 of 5 positions, all bytes escaped). */
#define PLAT_FRAME_CAP 2048u
#define PLAT_PLATE_COLOR 1 /* blue: distinct from the 808 fleet's yellow (2) */

enum plat_side { PLAT_MAIN = 0, PLAT_SUB = 1 };

enum plat_state {
    PLAT_S_DOWN = 0,   /* no main link; reconnect at reconnect_ns */
    PLAT_S_CONNECTING, /* TCP connect in progress (set by the simulator) */
    PLAT_S_LOGIN,      /* 0x1001 sent, waiting for 0x1002 */
    PLAT_S_ONLINE,
    PLAT_S_CLOSING,    /* shutdown(SHUT_WR) done, waiting for the engine's EOF */
};

enum plat_act {
    PLAT_ACT_NONE = 0,
    PLAT_ACT_CLOSE_MAIN = 1, /* login refused or timed out: close the main link */
    PLAT_ACT_CLOSE_SUB = 2,  /* 0x9003 answered: close the subordinate link */
};

/* Settings shared by every platform of a run (read-only once the run starts). */
struct plat_cfg {
    uint32_t report_s;        /* GNSS seconds between a vehicle's positions */
    uint32_t link_test_s;     /* GNSS seconds between 0x1005 */
    uint32_t login_timeout_ms;/* wall: 0x1002 not received -> close and retry */
    uint32_t reconnect_ms;    /* wall delay before reconnecting */
    uint32_t missed_max;      /* missed-position ring per vehicle */
    double time_scale;        /* GNSS seconds per wall second */
};

/* Counters of one platform (the simulator sums them per thread for the progress line). */
struct plat_stats {
    uint64_t points;          /* positions generated */
    uint64_t sent_1202;       /* real-time positions sent */
    uint64_t sent_1203;       /* 0x1203 messages */
    uint64_t sent_1203_items; /* positions re-uploaded */
    uint64_t missed;          /* positions put in a missed ring */
    uint64_t missed_dropped;  /* ring full: oldest dropped (never sent) */
    uint64_t logins;          /* 0x1002 result 0 */
    uint64_t login_fail;      /* 0x1002 result != 0, or no answer in time */
    uint64_t link_tests;      /* 0x1005 sent */
    uint64_t link_test_rsp;   /* 0x1006 received */
    uint64_t sub_links;       /* 0x9001 answered with 0x9002 result 0 */
    uint64_t sub_bad_verify;  /* 0x9001 with a wrong VERIFY_CODE */
    uint64_t sub_tests;       /* 0x9005 answered */
    uint64_t notices;         /* 0x9007 / 0x9008 / 0x9101 received */
    uint64_t bad_frames;      /* framer or decode errors */
    uint64_t tx_bytes;
};

/* One vehicle carried by the platform. */
struct plat_veh {
    struct road_veh veh;
    int64_t next_t;           /* GNSS time of its next position */
    uint8_t plate[16];        /* GBK */
    uint8_t plate_len;
    uint32_t sent_live;       /* 0x1202 positions sent */
    uint32_t sent_reup;       /* 0x1203 positions sent */
    int64_t first_t, last_t;  /* GNSS times of the first/last position sent (0: none) */
    struct term_pt *miss;     /* ring of cfg->missed_max */
    uint32_t miss_head, miss_n;
};

struct plat;

/* Sends one frame on <side>. Returns 0, or a negative code when the link cannot take it
 * (the platform checks room before generating positions, so only link messages can be
 * refused, and those are repeated by their own timers). */
typedef int (*plat_send_fn)(void *ctx, struct plat *p, int side, const uint8_t *frame,
                            size_t len);

struct plat_env {
    const struct plat_cfg *cfg;
    const struct road_net *net;
    plat_send_fn send;
    void *ctx;
};

struct plat {
    uint32_t index;           /* i: 0 .. M-1 */
    uint16_t edition;         /* JT809_ED_2011 or JT809_ED_2019 */
    uint8_t encrypt;          /* bodies sent encrypted */
    uint8_t state;            /* enum plat_state */
    uint32_t user_id, access_code;
    char password[9];
    uint16_t listen_port;     /* set by the simulator once it listens */
    struct jt809_peer peer;   /* edition and keys, for both directions */
    uint32_t verify_code;     /* from the last 0x1002 */
    uint32_t sn;              /* MSG_SN, one counter for everything we send */
    uint64_t rng;             /* per-frame encryption keys */
    int64_t gnss_now;         /* the last tick's GNSS clock (2019 header TIME) */
    int64_t end_t;            /* no positions at or after this (drain) */
    uint64_t reconnect_ns;
    uint64_t login_due_ns;
    uint64_t link_test_ns;
    uint32_t reup_next;       /* round-robin cursor over vehicles for 0x1203 */
    uint32_t miss_total;      /* positions waiting in the missed rings */
    uint32_t n_veh;
    struct plat_veh *veh;
    struct plat_stats st;
    struct jt809_framer *fr[2]; /* main, sub */
    int fd[2];                /* owned by the simulator */
    int lfd;
    uint32_t slot;            /* simulator bookkeeping */
};

/* Creates platform <i> of scenario <s> (edition, keys, account, K vehicles following
 * s->net; vehicle j is road vehicle s->vehicles + i*K + j, so it moves like an 808
 * terminal but not like any of them). Returns 0 and sets <*out>, -ENOMEM, or RW_E_FIELD
 * for a plate that does not convert to GBK. Free with plat_destroy(). */
int plat_create(const struct scenario *s, const struct plat_cfg *cfg, uint32_t i,
                struct plat **out);
void plat_destroy(struct plat *p);

/* The main link is up: sends 0x1001, state LOGIN. */
void plat_on_connected(struct plat *p, const struct plat_env *env, uint64_t now_ns);
/* The main link is gone: state DOWN, reconnect after cfg->reconnect_ms. */
void plat_on_disconnected(struct plat *p, const struct plat_env *env, uint64_t now_ns);
/* The simulator shut the main link for writing (outage or end of run): positions due
 * from now on go to the missed rings. */
void plat_on_closing(struct plat *p);
/* Feeds bytes read on <side>. Returns a PLAT_ACT_* value. */
int plat_on_bytes(struct plat *p, const struct plat_env *env, int side, const uint8_t *b,
                  size_t n, uint64_t now_ns);
/* Generates the positions due up to <gnss_now> (sent when ONLINE and <room> bytes allow,
 * else kept for later when ONLINE, else put in the missed rings), sends up to <reup_budget>
 * 0x1203, link tests, and checks the login timeout. Returns a PLAT_ACT_* value. */
int plat_tick(struct plat *p, const struct plat_env *env, uint64_t now_ns, int64_t gnss_now,
              size_t room, unsigned reup_budget);

/* Positions still owed to the engine (missed rings). */
uint32_t plat_outstanding(const struct plat *p);

/* Encoders the platform uses (exposed for the unit tests, which decode their output with
 * the codec). Each returns the wire length or a negative code. */
int plat_encode_1001(struct plat *p, uint8_t *out, size_t cap);
int plat_encode_1202(struct plat *p, uint32_t v, const struct term_pt *pt, uint8_t *out,
                     size_t cap);
int plat_encode_1203(struct plat *p, uint32_t v, const struct term_pt *pts, unsigned n,
                     uint8_t *out, size_t cap);

#endif
