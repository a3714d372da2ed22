/* live.h: the live table — one slot per vehicle in a shared-memory file
 * (/dev/shm/roadwatch-<instance>), written only by the worker that owns the vehicle
 * (vehicle id % workers, mesh.h), read lock-free by any thread or process (ARCHITECTURE §1).
 *
 * Layout (all little-endian, this machine's ABI; the header carries a magic and version):
 *
 *   struct live_hdr          8 KiB: magic, version, slot count, start time, engine pid,
 *                            and per-worker metric blocks (struct live_metrics, 512 B each)
 *   struct live_slot[n]      128 B each, indexed by vehicle id (registry ids are dense)
 *
 * Each slot is guarded by a ck_sequence: the writer brackets an update with
 * live_slot_write_begin/end; readers copy the slot with live_slot_read(), which retries
 * while a write is in progress, so they never block the writer and never see a torn slot.
 * Only one thread writes a given slot: its owner, which receives every change of the
 * vehicle from the other workers and the JT/T 809 link thread through the mesh.
 */
#ifndef RW_LIVE_H
#define RW_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define LIVE_MAGIC 0x52574C49564531ull /* "RWLIVE1" */
#define LIVE_VERSION 5u         /* 2: 8 KiB header, commit -> ack histogram; 3: store block;
                                 * 4: writer time by activity, slot conn_kind and
                                 * conn_since_ns, mesh counters; 5: histogram sums,
                                 * JT/T 809 block */
#define LIVE_HDR_SIZE 8192u
#define LIVE_MAX_WORKERS 12

/* Per-worker counters (STYLE §8: plain uint64, one writer, summed when read). Names in
 * Prometheus output are roadwatch_<field>. */
struct live_metrics {
    uint64_t conns_accepted;
    uint64_t conns_refused;        /* over max_connections */
    uint64_t conns_closed;
    uint64_t conns_open;
    uint64_t frames_in;
    uint64_t frames_bad;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t positions;            /* positions handed to the store */
    uint64_t acks_sent;            /* 0x8001 for stored records, after commit */
    uint64_t unauth_dropped;       /* business frames from unauthenticated peers */
    uint64_t backpressure_events;  /* times reading was paused: no free store batch */
    uint64_t registrations;
    uint64_t auth_ok;
    uint64_t auth_fail;
    uint64_t dup_conn_closed;      /* an older connection of the same terminal closed */
    uint64_t lat_commit_hist[20];  /* receive -> commit, log2 buckets of 64 us */
    uint64_t lat_ack_hist[20];     /* commit -> ack queued, log2 buckets of 4 us */
    uint64_t mesh_sent;            /* live-state changes sent to their vehicles' owners */
    uint64_t mesh_applied;         /* changes applied as owner, from other producers */
    uint64_t mesh_dropped;         /* changes lost to a full ring and overflow */
    uint64_t lat_commit_sum_us;    /* sums of the two histograms' samples, microseconds */
    uint64_t lat_ack_sum_us;
    uint64_t pad[0];
} __attribute__((aligned(64)));

/* The store's figures, copied once a second by the engine's main thread (one writer). */
struct live_store {
    struct store_stats s;          /* store_stats_get() */
    uint64_t held_vehicles, held_points; /* open track slots held in memory (store §3b) */
    int64_t health;                /* store_health(): 0, or the negative code of the fault */
};

/* The JT/T 809 main-link server's counters, copied once a second by the engine's main
 * thread: the layout is struct link809_metrics (engine/link809.h), which must fit. */
struct live_jt809 {
    uint64_t enabled;              /* 1 when the engine runs a JT/T 809 listener */
    uint64_t m[63];
};

struct live_hdr {
    uint64_t magic;
    uint32_t version;
    uint32_t workers;
    uint64_t slots;
    int64_t start_time;
    int32_t pid;
    uint32_t slot_size;
    uint64_t tag;          /* identity of the store the slots describe (hash of its path) */
    uint8_t reserved[64 - 48];
    struct live_metrics metrics[LIVE_MAX_WORKERS];
    struct live_store store;
    struct live_jt809 jt809;
};

/* One vehicle (128 bytes). */
struct live_slot {
    unsigned int seq;              /* ck_sequence_t */
    uint32_t vehicle_id;           /* 0 = slot never used */
    uint64_t conn_id;              /* current connection (worker << 48 | slot << 16 | gen) */
    int64_t gnss_time;             /* UTC s of the last position */
    int64_t recv_time;             /* UTC s of the last frame of any kind */
    int32_t lat_e6, lon_e6;
    uint32_t alarm, status;
    uint32_t mileage_hm;
    uint16_t speed_dkmh, direction;
    int16_t altitude_m;
    uint8_t connected;             /* a connection is up */
    uint8_t fix_valid;
    uint32_t points_today;
    uint32_t day;                  /* GMT+8 day number of points_today */
    uint8_t plate[21];             /* GBK, NUL-padded */
    uint8_t plate_color;
    uint8_t conn_kind;             /* LIVE_CONN_808 / LIVE_CONN_809: who holds conn_id */
    uint8_t pad1[5];
    uint64_t conn_since_ns;        /* CLOCK_MONOTONIC of the holder's authentication */
    uint8_t pad[128 - 104];
};

enum { LIVE_CONN_NONE = 0, LIVE_CONN_808 = 1, LIVE_CONN_809 = 2 };

_Static_assert(sizeof(struct live_slot) == 128, "live slot is two cache lines");
_Static_assert(sizeof(struct live_hdr) <= LIVE_HDR_SIZE, "live header fits its pages");

struct live;

/* Creates (or re-opens after a restart) the table at <path> for <slots> vehicles and
 * <workers> metric blocks, marking every vehicle disconnected. The slots are kept across
 * a restart only when <tag> (the identity of the store behind them) is the one the table
 * was made for; a table left by an engine on another store starts empty. Returns 0 or
 * -errno. */
int live_open_rw(const char *path, uint64_t slots, unsigned workers, uint64_t tag,
                 struct live **out);
/* Maps an existing table read-only (roadwatch top / stats). -ENOENT when no engine ran,
 * RW_E_FIELD for a file of another version. */
int live_open_ro(const char *path, struct live **out);
void live_close(struct live *lv);

uint64_t live_slots(const struct live *lv);
const struct live_hdr *live_header(const struct live *lv);
struct live_metrics *live_metrics_rw(struct live *lv, unsigned worker);
struct live_store *live_store_rw(struct live *lv);
/* The JT/T 809 block, written by the engine's main thread only. */
struct live_jt809 *live_jt809_rw(struct live *lv);

/* Writer side: returns the slot of <vehicle_id> (NULL when beyond the table: counted by
 * the caller) between begin and end. */
struct live_slot *live_slot_write_begin(struct live *lv, uint32_t vehicle_id);
void live_slot_write_end(struct live_slot *s);

/* Applies position <p> to slot <s> (between write_begin and write_end): counts today's
 * points (GMT+8 day of the GNSS time) and keeps the newest position by GNSS time, so a
 * late point never moves a vehicle back. */
void live_slot_apply_pos(struct live_slot *s, const struct store_pos *p);

/* Reader side: copies the slot of <vehicle_id> into <out> consistently. Returns 0,
 * -ENOENT when the id is beyond the table, or -EAGAIN when a write kept the slot busy
 * for 100,000 attempts (a writer that died mid-update). */
int live_slot_read(const struct live *lv, uint32_t vehicle_id, struct live_slot *out);

/* Default path for an instance: /dev/shm/roadwatch-<instance>. */
void live_default_path(const char *instance, char *out, size_t cap);

#endif
