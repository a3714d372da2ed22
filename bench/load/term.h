/* term.h: one simulated JT/T 808 terminal, as a state machine without sockets.
 *
 * The simulator (sim.c) owns the socket and calls in: term_on_connected() when the TCP
 * connection is up (or at once for UDP), term_on_bytes() with what it read, term_tick()
 * regularly, term_on_disconnected() when the link dies. The terminal answers through the
 * send callback of its struct term_env and says what the link should do through the
 * returned TERM_ACT_* value. Unit tests drive it with a fake send callback.
 *
 * Session (protocols/jt808.md §4): connect -> 0x0100 register (only without a stored auth
 * code) -> 0x8100 -> 0x0102 with the code -> 0x8001 -> ONLINE: a 0x0200 every report
 * interval, 0x0002 when nothing was sent for a heartbeat interval.
 *
 * Like real terminals (JT/T 808 parameters 0x0002 reply timeout T and 0x0003 retries N):
 *   - every 0x0200 / 0x0704 / 0x0100 / 0x0102 waits for its answer; unanswered after
 *     T x (n+1) for the n-th transmission (n = 1, 2, ...), it is sent again, byte for byte
 *     with the SAME serial; after N retransmissions the link is considered broken;
 *   - while offline (not connected or not authenticated) positions go to a bounded
 *     blind-area buffer, and un-acknowledged reports move there when the link drops;
 *     after the next authentication the buffer is uploaded as 0x0704 type 1 batches, one
 *     batch in flight at a time, each resent like a report.
 * Times: report and heartbeat intervals are GNSS seconds (compressed by time_scale); the
 * reply timeout and the reconnect delay are wall seconds (they are network properties).
 *
 * Memory: everything is allocated by term_create() from the configuration (window and
 * blind-area sizes); nothing is allocated afterwards. A terminal belongs to one thread.
 */
#ifndef RW_BENCH_TERM_H
#define RW_BENCH_TERM_H

#include <stddef.h>
#include <stdint.h>

#include "bench/load/hist.h"
#include "bench/load/road.h"
#include "engine/proto/jt808.h"

enum term_state {
    TERM_S_DOWN = 0,   /* no link; reconnect at reconnect_ns */
    TERM_S_CONNECTING, /* TCP connect in progress (set by the simulator) */
    TERM_S_REGISTER,   /* 0x0100 sent */
    TERM_S_AUTH,       /* 0x0102 sent */
    TERM_S_ONLINE,
};

enum term_act {
    TERM_ACT_NONE = 0,
    TERM_ACT_CLOSE = 1, /* the terminal considers the link broken: close it */
};

/* Configuration shared by every terminal of a run (read-only once the run starts). */
struct term_cfg {
    uint32_t report_s;        /* GNSS seconds between positions */
    uint32_t heartbeat_s;     /* wall seconds of silence before a 0x0002 */
    uint32_t reply_timeout_ms;/* T, wall */
    uint32_t retries;         /* N */
    uint32_t window;          /* un-acknowledged 0x0200 kept at most (>= 1) */
    uint32_t blind_max;       /* blind-area buffer capacity, positions */
    uint32_t reconnect_ms;    /* wall delay before reconnecting */
    uint32_t batch_max;       /* positions per 0x0704 (<= 20 keeps the body < 1023) */
    double time_scale;        /* GNSS seconds per wall second */
    uint8_t open_loop;        /* null-sink mode: no session, no acks expected */
    /* "max" load: GNSS time has no pace, so a terminal that is not online generates only
     * until its blind-area ring is full (paced, it keeps the clock and drops the oldest). */
    uint8_t max_rate;
};

/* Counters of one simulator thread (summed by the reader). */
struct term_stats {
    uint64_t points;          /* positions generated */
    uint64_t sent_0200;       /* first transmissions of 0x0200 */
    uint64_t sent_0704;       /* 0x0704 batches (first transmissions) */
    uint64_t sent_0704_items;
    uint64_t resent;          /* retransmissions (same serial) */
    uint64_t acked_0200;
    uint64_t acked_0704_items;
    uint64_t nacked;          /* 0x8001 with a non-zero result */
    uint64_t heartbeats;
    uint64_t registered;
    uint64_t authenticated;
    uint64_t session_fail;    /* 0x8100 / 0x8001 refusals */
    uint64_t link_broken;     /* retries exhausted */
    uint64_t blind_buffered;
    uint64_t blind_dropped;   /* buffer full: oldest dropped */
    uint64_t window_full;     /* a report waited because the window was full */
    uint64_t bad_frames;      /* framer or decode errors */
    uint64_t tx_bytes;
    uint64_t rx_frames;
};

/* A compact position (what a terminal stores while waiting or offline). */
struct term_pt {
    int64_t t;
    int32_t lat_e6, lon_e6;
    uint32_t mileage_hm;
    uint32_t status;
    uint16_t speed_dkmh, dir;
};

struct term_pending {
    struct term_pt pt;
    uint64_t first_ns;        /* first transmission, for the ack latency */
    uint64_t due_ns;          /* next retransmission */
    uint16_t serial;
    uint8_t tries;            /* transmissions so far */
    uint8_t used;
};

struct term;

/* Sends one frame of <len> bytes. Returns 0, or a negative code when the link cannot take
 * it now (the frame is then lost, as on a congested link; reports are retransmitted). */
typedef int (*term_send_fn)(void *ctx, struct term *t, const uint8_t *frame, size_t len);

/* Per-thread environment: where frames go and what is counted. */
struct term_env {
    const struct term_cfg *cfg;
    const struct road_net *net;
    struct term_stats *st;
    struct hist *ack_lat;     /* every acknowledged record, microseconds */
    struct hist *ack_lat_sec; /* the same, for the current one-second interval */
    /* Optional: the same latencies ended at rx_ns, the moment the kernel queued the bytes
     * being handled on the socket (SO_TIMESTAMPNS, CLOCK_MONOTONIC), not when this thread
     * got round to reading them. The caller sets rx_ns before term_on_bytes(); 0 = unknown
     * (no sample is added). */
    struct hist *ack_lat_rx;
    uint64_t rx_ns;
    term_send_fn send;
    void *ctx;
};

struct term {
    uint32_t index;
    uint16_t edition;         /* JT808_ED_2011, _2013 or _2019 */
    uint8_t udp;
    uint8_t state;            /* enum term_state */
    uint16_t serial_next;
    uint8_t auth_len;
    uint8_t plate_len;
    uint8_t auth[64];
    uint8_t plate[16];        /* GBK */
    char phone[21];
    char term_id[8];
    uint8_t plate_color;
    uint64_t reconnect_ns;
    uint64_t last_tx_ns;
    uint64_t sess_due_ns;     /* 0x0100 / 0x0102 retransmission */
    uint16_t sess_serial;
    uint8_t sess_tries;
    int64_t next_t;           /* GNSS time of the next position */
    int64_t end_t;            /* no positions at or after this (drain) */
    struct road_veh veh;
    struct term_pending *pend; /* cfg->window entries */
    uint32_t n_pend;
    struct term_pt *blind;    /* ring of cfg->blind_max */
    uint32_t blind_head, blind_n;
    struct term_pending batch; /* the 0x0704 in flight (pt unused) */
    uint16_t batch_items;
    int fd;                   /* owned by the simulator */
    uint32_t conn_slot;       /* simulator bookkeeping */
    struct jt808_framer fr;
};

/* Creates terminal <index> with <edition>, over UDP when <udp>, whose first position is
 * at GNSS time <t_first> and whose vehicle follows <net> with <vio>/<n_vio> (borrowed).
 * <plate_utf8> is converted to GBK (at most 15 bytes). Returns 0 and sets <*out>, -ENOMEM,
 * or RW_E_FIELD for a bad phone/plate. Free with term_destroy(). */
int term_create(const struct term_cfg *cfg, const struct road_net *net, uint64_t seed,
                uint32_t index, uint16_t edition, int udp, const char *plate_utf8,
                int64_t t_first, const struct road_violation *vio, uint32_t n_vio,
                struct term **out);
void term_destroy(struct term *t);

/* The link is up: starts the session (or, open loop, goes ONLINE at once). */
void term_on_connected(struct term *t, const struct term_env *env, uint64_t now_ns);
/* The link is gone: un-acked reports move to the blind-area buffer; state DOWN. */
void term_on_disconnected(struct term *t, const struct term_env *env, uint64_t now_ns);
/* Feeds received bytes (a TCP chunk or one UDP datagram). Returns a TERM_ACT_*. */
int term_on_bytes(struct term *t, const struct term_env *env, const uint8_t *p, size_t n,
                  uint64_t now_ns);
/* Handles one decoded platform message. Returns a TERM_ACT_*. */
int term_on_msg(struct term *t, const struct term_env *env, const struct jt808_msg *m,
                uint64_t now_ns);
/* Generates the positions due up to GNSS time <gnss_now> (at most <budget>), retransmits
 * what timed out and sends heartbeats. Returns a TERM_ACT_*. */
int term_tick(struct term *t, const struct term_env *env, uint64_t now_ns, int64_t gnss_now,
              unsigned budget);

/* Records still owed an acknowledgement (pending reports + blind-area buffer). */
uint32_t term_outstanding(const struct term *t);

/* Encodes a 0x0200 frame for <pt> with <serial> (the simulator's single encoder for
 * positions; the unit tests decode its output with the codec). Returns the wire length. */
int term_encode_0200(const struct term *t, const struct term_pt *pt, uint16_t serial,
                     uint8_t *out, size_t cap);

#endif
