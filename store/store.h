/* store.h: roadwatch's history store — 183 days in LMDB (ARCHITECTURE §4).
 *
 * THIS SECTION IS THE INGEST CONTRACT between the engine's shards and the store writer;
 * the engine is written against it. Everything below "Reads, meta and maintenance" is the
 * store's own API.
 *
 *   shard thread s                          store writer thread (one)
 *   ──────────────                          ─────────────────────────
 *   b = store_batch_get(st, s)   ◄─ pool ─┐  loop: dequeue batches from every shard ring,
 *   store_batch_add_pos/raw(b, ...)       │        one LMDB write txn per commit window
 *   store_batch_submit(st, b) ─ SPSC ring ┼─►      (≤ commit_interval_ms or batch count),
 *   n = store_batch_reap(st, s, done, k) ◄┤        mdb_txn_commit, then hands every batch
 *     for each done[i]: status 0 → ack    │        of the txn back through the shard's
 *     the records it carried; then        │        done ring with status 0.
 *   store_batch_release(st, done[i]) ─────┘        On an error (disk full, map full, EIO)
 *                                                  nothing is handed back as committed:
 *                                                  the writer keeps the batches, reports
 *                                                  the error in store_health(), retries
 *                                                  with backoff; the shard's pool runs dry,
 *                                                  store_batch_get() fails with -EAGAIN,
 *                                                  and the engine stops reading sockets.
 *
 * Threading: store_batch_get/add/submit/reap/release for shard s are called only by the
 * thread that owns shard s (SPSC rings, no locks). Batches are allocated at store_open()
 * (pool_batches per shard), never at run time.
 */
#ifndef RW_STORE_H
#define RW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/wire.h"

struct store;
struct store_batch;

/* Where a position came from; kept with the point. */
enum store_src {
    STORE_SRC_808_LIVE = 0,   /* 0x0200 / 0x0201 */
    STORE_SRC_808_BATCH = 1,  /* 0x0704 type 0 */
    STORE_SRC_808_BLIND = 2,  /* 0x0704 type 1 (blind-area re-upload) */
    STORE_SRC_809_LIVE = 3,   /* JT/T 809 0x1202 */
    STORE_SRC_809_REUP = 4,   /* JT/T 809 0x1203 (re-upload after an outage) */
};

/* One position, every field the regulator may look at. Times are UTC seconds. */
struct store_pos {
    uint32_t vehicle_id;      /* internal id from the registry */
    int64_t gnss_time;        /* device time (UTC s); the day partition is its GMT+8 day */
    int64_t recv_time_ms;     /* receive time (UTC ms) */
    int32_t lat_e6;           /* signed degrees x 1e6 (south negative) */
    int32_t lon_e6;           /* signed degrees x 1e6 (west negative) */
    uint32_t alarm;           /* JT/T 808 alarm word */
    uint32_t status;          /* JT/T 808 status word */
    uint32_t mileage_hm;      /* odometer, 1/10 km (0x01 item / 809 VEC3 x 10) */
    uint16_t speed_dkmh;      /* GNSS speed, 1/10 km/h */
    uint16_t tacho_speed_dkmh;
    uint16_t direction;
    int16_t altitude_m;
    uint16_t fuel_dl;
    uint8_t src;              /* enum store_src */
    uint8_t rssi;
    uint8_t sats;
    uint8_t flags;            /* STORE_POS_F_* */
    uint32_t present;         /* JT808_X_* bits of the optional fields that were sent */
};

#define STORE_POS_F_DRIFT 0x01u   /* judged a drift point (alarms.md §2.12) */
#define STORE_POS_F_LATE 0x02u    /* older than T_late when received */

/* Direction of a raw frame. */
enum store_dir { STORE_DIR_IN = 0, STORE_DIR_OUT = 1 };
enum store_proto { STORE_PROTO_808 = 0, STORE_PROTO_809 = 1 };

/* One frame received or sent, as on the wire (GB/T 35658 §7.4 c). */
struct store_raw {
    int64_t recv_time_ms;     /* receive (or send) time, UTC ms */
    uint64_t conn_id;         /* engine connection id */
    uint32_t vehicle_id;      /* 0 when not (yet) known */
    uint8_t dir;              /* enum store_dir */
    uint8_t proto;            /* enum store_proto */
    uint8_t peer_len;         /* 4 (IPv4) or 16 (IPv6) */
    uint8_t peer[16];         /* peer address */
    uint16_t peer_port;
    struct rw_bytes frame;    /* copied into the batch by store_batch_add_raw() */
};

/* Takes an empty batch from shard <shard>'s pool. Returns 0 and sets <*out>, or -EAGAIN
 * when every batch of the shard is in flight (backpressure: stop reading sockets). */
int store_batch_get(struct store *st, unsigned shard, struct store_batch **out);

/* Appends a record. The position is copied; the raw frame's bytes are copied into the
 * batch's arena. Return 0, or -ENOSPC when the batch is full (submit it and take another).
 * Never blocks, never allocates. */
int store_batch_add_pos(struct store_batch *b, const struct store_pos *p);
int store_batch_add_raw(struct store_batch *b, const struct store_raw *r);

/* Number of records in <b> (positions + raw frames). */
unsigned store_batch_count(const struct store_batch *b);

/* Hands <b> to the writer. Returns 0, or -EAGAIN when the ring is full (cannot happen
 * when the ring holds the whole pool, which store_open() guarantees). <b> belongs to the
 * writer until it comes back from store_batch_reap(). */
int store_batch_submit(struct store *st, struct store_batch *b);

/* Batches of <shard> submitted and not yet taken by the writer (shard thread). A shard
 * that keeps filling its open batch while this is non-zero loses no latency (the writer
 * takes everything queued at once) and keeps its pool from running dry. */
unsigned store_shard_queued(const struct store *st, unsigned shard);

/* Collects up to <max> batches of shard <shard> whose fate is decided, in submit order.
 * Returns how many were put in <done>. For each, store_batch_status() is 0 when every
 * record is durable (committed, fsynced): the engine may now acknowledge them. */
unsigned store_batch_reap(struct store *st, unsigned shard, struct store_batch **done,
                          unsigned max);

/* 0 (committed) or a negative code (the batch was refused as invalid: never ack). */
int store_batch_status(const struct store_batch *b);

/* Per-shard sequence number of <b> (1, 2, ... in submit order) and its slot in the shard's
 * pool (0 .. pool_batches-1), so the engine can keep per-batch ack lists in its own
 * arrays indexed by slot. */
uint64_t store_batch_seq(const struct store_batch *b);
unsigned store_batch_slot(const struct store_batch *b);
/* CLOCK_MONOTONIC ns at which the writer handed <b> back (its commit done), for the
 * engine's commit -> ack latency. Valid once reaped. */
uint64_t store_batch_done_ns(const struct store_batch *b);

/* Returns <b> to its shard's pool, emptied. */
void store_batch_release(struct store *st, struct store_batch *b);

/* Highest sequence number of shard <shard> whose batch is committed (acquire load; any
 * thread). */
uint64_t store_committed_seq(const struct store *st, unsigned shard);

/* Store health for the engine's metrics and backpressure: 0, or the last write error
 * (-ENOSPC disk full, RW_E_LIMIT map full that could not grow, -EIO, ...) while it lasts. */
int store_health(const struct store *st);

/* ═══════════════════════════ Reads, meta and maintenance ═══════════════════════════
 *
 * Everything below is the store's own API (store/README.md has the design). Threads:
 * lifecycle calls from one control thread; reads, registry, platform, user and alarm calls
 * from any thread (each runs short LMDB transactions of its own and copies data out before
 * returning, so no returned pointer refers into the map). Writes to the meta environment
 * are short write transactions serialised by LMDB's writer lock and are durable (fsynced)
 * on return. Day partitions are written only by the writer thread.
 *
 * Errors (STYLE §4): 0 or a negative code. -ENOENT: no such record; RW_E_DUPLICATE: key
 * exists; RW_E_LIMIT: map full that could not grow, or a configured bound; -EIO: I/O error
 * or LMDB panic/corruption; RW_E_UNSUPPORTED: a store of a newer format; RW_E_FIELD: an
 * argument out of range; RW_E_STATE: the call is not valid now (store not open, poisoned).
 */

#define STORE_FORMAT_VERSION 4u     /* on-disk format written by this build (4: the
                                     * track journal, "jrn", store/README.md §3b) */
#define STORE_FORMAT_OLDEST 2u      /* oldest format read: a store or day of format 2 or 3
                                     * opened read-write is marked 4 (its row-coded segments
                                     * stay readable; new base segments are columnar) */

/* Returns UTC seconds; tests inject a clock to simulate months in seconds. */
typedef int64_t (*store_clock_fn)(void *ctx);

struct store_config {
    const char *dir;              /* store directory (created if missing); required */
    const char *key_file;         /* secretbox key; NULL: "<dir>/secret.key" (created 0600) */
    unsigned retention_days;      /* 183; below 183 refused unless <force> */
    int force;                    /* accept retention_days < 183 */
    unsigned commit_interval_ms;  /* group-commit window, 5 */
    unsigned shards;              /* producer shards (engine workers), 1 */
    unsigned pool_batches;        /* batches per shard, 64 */
    unsigned batch_pos;           /* positions per batch, 512 */
    unsigned batch_raw;           /* raw frames per batch, 512 */
    unsigned batch_arena;         /* raw frame bytes per batch, 256 KiB */
    unsigned max_batches_txn;     /* batches per write transaction, 64 */
    uint64_t day_map_initial;     /* initial map size of a day partition, 64 MiB */
    uint64_t day_map_max;         /* it doubles on MDB_MAP_FULL up to this, 64 GiB */
    uint64_t meta_map_size;       /* initial map size of meta, 256 MiB (grows x2 to 16 GiB) */
    unsigned open_parts;          /* day partitions kept open, 8 */
    unsigned maint_interval_ms;   /* maintenance thread tick, 1000; 0: no thread */
    unsigned reader_check_s;      /* mdb_reader_check period, 10 */
    unsigned retention_check_s;   /* retention (and compaction) check period, 3600 */
    unsigned compact_after_days;  /* compact a day this many days after it ended, 1;
                                   * 0: never (store/README.md §9a) */
    uint64_t hold_bytes;          /* memory for the open track slots held, 512 MiB; over
                                   * it every hold is written out (store/README.md §3b) */
    unsigned kdf_ops;             /* Argon2id passes, 2 */
    unsigned kdf_mem_kib;         /* Argon2id memory, 19456 KiB (OWASP 2023) */
    unsigned extra_mdb_flags;     /* extra mdb_env_open flags; NOSYNC/WRITEMAP/... refused */
    store_clock_fn clock;         /* NULL: time(NULL) */
    void *clock_ctx;
};

/* Fills <cfg> with the defaults above (dir NULL). */
void store_config_default(struct store_config *cfg);

/* Lifecycle (STYLE §2): create, set, open, use, close. store_close() works after a failed
 * or missing store_open(). store_create returns 0 or -ENOMEM. */
int store_create(struct store **out);
/* Copies <cfg> (strings are copied too). RW_E_STATE after open. */
int store_set_config(struct store *st, const struct store_config *cfg);
int store_set_dir(struct store *st, const char *dir);
int store_set_retention(struct store *st, unsigned days, int force);
int store_set_clock(struct store *st, store_clock_fn clock, void *ctx);
/* Opens (creating if needed) the store: checks the format version, runs mdb_reader_check,
 * allocates every batch, starts the writer and maintenance threads. Errors: RW_E_FIELD
 * (bad config: retention, unsafe flags), RW_E_UNSUPPORTED (newer format), -errno,
 * RW_E_LIMIT, -EIO. */
int store_open(struct store *st);
/* Stops the threads after the writer committed every submitted batch it could, closes
 * every environment and frees <st>. Batches still held by shards are freed too. */
void store_close(struct store *st);

/* Read-only open for tools (backup, verify, log): no writer, no threads, no batches. */
int store_open_rdonly(struct store *st);

/* ─── Days ─── */
/* GMT+8 day number (days since 1970-01-01 in GMT+8) of UTC second <t>. */
static inline int32_t store_day_of(int64_t t)
{
    int64_t x = t + 8 * 3600;
    return (int32_t)(x >= 0 ? x / 86400 : (x - 86399) / 86400);
}
/* UTC second at which GMT+8 day <day> starts. */
static inline int64_t store_day_start(int32_t day)
{
    return (int64_t)day * 86400 - 8 * 3600;
}

/* ─── Counters ─── */
/* What the writer thread spends its time on (store_stats.writer_ns; names in
 * store_wact_name). */
enum store_wact {
    STORE_WACT_COMMIT,   /* committing batches (acknowledgements wait on it) */
    STORE_WACT_GATHER,   /* batches pending, waiting out commit_interval_ms */
    STORE_WACT_HOLDS,    /* writing out held track slots (store/README.md §3b) */
    STORE_WACT_MERGE,    /* merging closed track slots */
    STORE_WACT_RAWINDEX, /* writing raw-log index entries */
    STORE_WACT_IDLE,     /* nothing to do */
    STORE_WACT_N
};
const char *store_wact_name(enum store_wact a);

struct store_stats {
    uint64_t commits;             /* write transactions committed */
    uint64_t batches;             /* batches committed */
    uint64_t points;              /* positions offered */
    uint64_t points_dup;          /* positions dropped as duplicates (counted when dropped:
                                     within a commit, or when their slot is merged) */
    uint64_t points_old;          /* dropped: older than the retention window */
    uint64_t points_future;       /* dropped: GNSS day after tomorrow or later, or bad */
    uint64_t points_full;         /* dropped: segment point cap reached (at merge) */
    uint64_t raw_frames;          /* raw frames stored */
    uint64_t raw_dropped;         /* raw frames outside the window */
    uint64_t commit_errors;       /* failed write transactions (retried) */
    uint64_t map_grows;           /* map size doublings */
    uint64_t reader_slots_freed;  /* stale reader slots cleared by mdb_reader_check */
    uint64_t parts_dropped;       /* partitions removed by retention */
    uint64_t days_compacted;      /* day partitions rewritten in key order */
    uint64_t commit_ns_max;       /* slowest commit so far */
    uint64_t commit_ns_sum;       /* all commit durations added up (the histogram's sum) */
    uint64_t commit_hist[20];     /* commit durations, log2 buckets of 64 us (the last
                                   * one: everything slower) */
    uint64_t writer_ns[STORE_WACT_N]; /* the writer thread's wall time by activity */
};
void store_stats_get(const struct store *st, struct store_stats *out);

/* ─── Tracks ─── */
/* The 20-minute slot (0..71) of the GMT+8 day that <t> falls in. */
int store_slot_of(int64_t t);
/* Held open slots (store/README.md §3b): vehicles and points held in memory now, and
 * records in the journal of <day> (<slot> 0..71, or -1 for every slot; 0 when the day has
 * no file). Negative code on error. */
void store_held(const struct store *st, uint64_t *vehicles, uint64_t *points);
long store_journal_records(struct store *st, int32_t day, int slot);
/* Copies the points of vehicle <vid> with <from> <= gnss_time < <to> into <out> (at most
 * <max>), in GNSS-time order. Returns the number of points found (which may exceed <max>:
 * only <max> were copied) or a negative code. */
long store_track_read(struct store *st, uint32_t vid, int64_t from, int64_t to,
                      struct store_pos *out, size_t max);

/* ─── Raw packet log ─── */
struct store_raw_rec {
    struct store_raw r;           /* r.frame points into <buf> of the read call */
};
/* Calls <cb> for every frame with <from_ms> <= recv_time_ms < <to_ms>, in key order
 * (time-major). <vid> != 0 restricts to that vehicle (index walk); <conn_id> != 0 to
 * that connection. r->frame is valid only during the callback. <cb> returns 0 to go on,
 * non-zero to stop (that value is returned). */
typedef int (*store_raw_fn)(const struct store_raw *r, void *ctx);
int store_raw_read(struct store *st, int64_t from_ms, int64_t to_ms, uint32_t vid,
                   uint64_t conn_id, store_raw_fn cb, void *ctx);

/* ─── Presence index: which vehicles were in these areas during these times ─── */
struct store_area {
    int32_t lat_min_e6, lat_max_e6, lon_min_e6, lon_max_e6;   /* inclusive box */
};
struct store_span {
    int64_t from, to;             /* [from, to) UTC seconds */
};
#define STORE_PRES_BUCKET_S 600   /* time bucket: 10 min */
#define STORE_PRES_CELL_E6 10000  /* grid cell: 0.01 degree (~1.1 km) */
/* Vehicles with a point inside any of <areas> during any of <spans> (mode 0: any/any) or
 * inside every area at some time of every span (mode 1: all/all). <exact> = 0 answers from
 * the presence index alone (cell × bucket granularity, may over-report); 1 confirms each
 * candidate on its track points. Writes at most <max> ids (ascending) to <out>; returns the
 * count found or a negative code. */
long store_presence_query(struct store *st, const struct store_area *areas, unsigned n_areas,
                          const struct store_span *spans, unsigned n_spans, int mode,
                          int exact, uint32_t *out, size_t max);

/* ─── Per-vehicle daily aggregates (domain/alarms.md §3) ─── */
struct store_agg {
    uint32_t vehicle_id;
    int32_t day;
    int64_t first_report;         /* GNSS time of the first / last point */
    int64_t last_report;
    uint32_t online_s;            /* Σ legs with dt <= 600 s (T_online) */
    uint32_t points;
    uint32_t qualified;           /* §3.4 qualified records */
    uint32_t drift;               /* STORE_POS_F_DRIFT points */
    uint32_t gaps;                /* incomplete legs (§3.5: > 2 km, or > 5 min and > 500 m) */
    uint32_t mileage_m;           /* haversine Σ of legs between valid non-drift fixes */
    uint32_t gap_mileage_m;       /* incomplete mileage */
    uint32_t odo_hm;              /* odometer last - first (0x01 item), 1/10 km */
    uint32_t overspeed_count;     /* alarms of type 0x0001 starting that day */
    uint32_t fatigue_s;           /* duration of alarms 0x0002/0x000D in that day */
};
/* Computes the aggregate of <vid> on GMT+8 day <day> from its track and alarms (always
 * current, late data included). -ENOENT when the vehicle has no point that day. */
int store_agg_get(struct store *st, uint32_t vid, int32_t day, struct store_agg *out);
/* Pure computation over points in time order (exposed for tests and the alarm engine). */
void store_agg_compute(const struct store_pos *pts, size_t n, struct store_agg *out);

/* ─── Registry (meta) ─── */
enum store_industry { STORE_IND_OTHER = 0, STORE_IND_DANGEROUS = 1, STORE_IND_COACH = 2,
                      STORE_IND_TOUR = 3, STORE_IND_FREIGHT = 4 };
struct store_vehicle {
    uint32_t id;                  /* internal id; 0 in store_vehicle_put = allocate */
    uint8_t plate_len;
    uint8_t plate[32];            /* GBK bytes */
    uint8_t colour;               /* JT/T 808/809 plate colour code */
    char phone[21];               /* terminal phone, decimal digits, leading zeros stripped */
    char terminal_id[32];
    char sim[24];
    uint32_t enterprise_id;
    uint8_t industry;             /* enum store_industry */
    uint32_t region;              /* 6-digit administrative division code */
    uint32_t platform_id;         /* owning platform (809 user id), 0 = direct */
};
/* Strips leading zeros of a digit string into <out> (cap 21). RW_E_FIELD if not digits. */
int store_phone_norm(const char *in, char out[21]);
/* Inserts or replaces <v> (by id); allocates an id when v->id == 0 and writes it back.
 * RW_E_DUPLICATE when its phone or plate+colour belongs to another vehicle. */
int store_vehicle_put(struct store *st, struct store_vehicle *v);
/* Auto-enrolment ('open' mode): allocates an id for <v> (whose id is ignored) and stores
 * it; returns the id in <*id>. RW_E_DUPLICATE as above. */
int store_vehicle_enrol(struct store *st, const struct store_vehicle *v, uint32_t *id);

/* Terminal registrations (JT/T 808 0x0100) in one durable meta transaction, so that a
 * storm of first registrations costs one fsync per batch, not two per terminal. Results
 * are the 0x8100 result codes. */
enum store_reg_result {
    STORE_REG_OK = 0,
    STORE_REG_VEHICLE_TAKEN = 1,   /* the plate belongs to another terminal */
    STORE_REG_VEHICLE_UNKNOWN = 2, /* strict mode: neither phone nor plate is registered */
    STORE_REG_TERMINAL_UNKNOWN = 4,/* strict mode: the plate is registered, this phone not */
};
struct store_reg {
    char phone[21];               /* in: terminal phone (digits; normalised here) */
    uint8_t plate[32];            /* in: plate (GBK, trimmed), colour */
    uint8_t plate_len, colour;
    char terminal_id[32];         /* in: terminal id, for an enrolment */
    uint8_t code[32];             /* in: the authentication code to issue */
    uint8_t code_len;
    int result;                   /* out: enum store_reg_result, or a negative code */
    uint32_t id;                  /* out: the vehicle, when result == STORE_REG_OK */
};
/* Runs <n> registrations in order (a later item sees an earlier one's enrolment): the
 * vehicle of the phone, else (<open_mode>) a new vehicle for a free plate, then its code.
 * Returns 0 with every item's result set, or a negative code: nothing took effect. */
int store_register_batch(struct store *st, struct store_reg *r, size_t n, int open_mode);
int store_vehicle_get(struct store *st, uint32_t id, struct store_vehicle *out);
int store_vehicle_by_phone(struct store *st, const char *phone, struct store_vehicle *out);
int store_vehicle_by_plate(struct store *st, const uint8_t *plate, size_t len, uint8_t colour,
                           struct store_vehicle *out);
int store_vehicle_del(struct store *st, uint32_t id);
/* Calls <cb> for every vehicle in id order (one read transaction; <v> valid during the
 * call; <cb> must not call the store). Non-zero from <cb> stops and is returned. */
typedef int (*store_vehicle_fn)(const struct store_vehicle *v, void *ctx);
int store_vehicle_foreach(struct store *st, store_vehicle_fn cb, void *ctx);
/* JT/T 808 authentication code issued at registration (0x8100), kept across restarts. */
int store_vehicle_set_auth(struct store *st, uint32_t id, const uint8_t *code, size_t len);
/* Copies it into <out> (cap <cap>); returns its length, -ENOENT, RW_E_NOSPACE. */
int store_vehicle_get_auth(struct store *st, uint32_t id, uint8_t *out, size_t cap);
/* Imports a CSV (header line then
 *   plate,colour,phone,terminal_id,sim,enterprise_id,industry,region,platform_id
 * plate in UTF-8). Existing vehicles (same plate+colour) are updated. Returns the number of
 * rows imported, or a negative code; <err> gets "line N: reason" for the first bad line
 * (the whole import is one transaction: nothing is imported on error). */
long store_vehicle_import_csv(struct store *st, const char *path, char *err, size_t errcap);

/* Enterprises and geodata: small records, by id. */
struct store_enterprise { uint32_t id; uint32_t region; char name[128]; };
int store_enterprise_put(struct store *st, const struct store_enterprise *e);
int store_enterprise_get(struct store *st, uint32_t id, struct store_enterprise *out);
/* Geodata blob (GeoJSON text) with kind (area, route, section, point). Returns its length
 * (copied into <out> up to <cap>) or a negative code. */
int store_geo_put(struct store *st, uint32_t id, uint8_t kind, const void *data, size_t len);
long store_geo_get(struct store *st, uint32_t id, uint8_t *kind, void *out, size_t cap);
int store_geo_del(struct store *st, uint32_t id);

/* ─── JT/T 809 platform accounts ─── */
struct store_ip { uint8_t len; uint8_t addr[16]; };   /* len 4 or 16 */
#define STORE_PLAT_IPS_MAX 8
struct store_platform {
    uint32_t user_id;             /* 809 login user id */
    uint32_t access_code;         /* gnss center id (msg_gnsscenterid) */
    char name[64];
    uint32_t m1, ia1, ic1;        /* 809 encryption key parameters */
    uint8_t edition;              /* 0 auto, 1 = 2011, 2 = 2019 */
    uint8_t n_ips;                /* 0: any source address */
    struct store_ip ips[STORE_PLAT_IPS_MAX];
};
/* Stores <p> with <password>: an Argon2id hash (to verify logins) and a crypto_secretbox
 * copy under the key file (to log in to superior platforms). Replaces an existing one. */
int store_platform_put(struct store *st, const struct store_platform *p, const char *password);
int store_platform_get(struct store *st, uint32_t user_id, struct store_platform *out);
int store_platform_del(struct store *st, uint32_t user_id);
/* Decrypts the stored password into <out> (NUL-terminated). Returns its length, -ENOENT,
 * RW_E_NOSPACE, RW_E_CHECK (wrong key file or tampered record). */
int store_platform_password(struct store *st, uint32_t user_id, char *out, size_t cap);
typedef int (*store_platform_fn)(const struct store_platform *p, void *ctx);
int store_platform_foreach(struct store *st, store_platform_fn cb, void *ctx);
/* JT/T 809 0x1002 login check. Sets <*result> to 0 ok, 1 source IP not allowed, 2 access
 * code wrong, 3 user not registered, 4 password wrong. Check order: user (3) first (the IP
 * list and access code are per account), then IP (1) and access code (2), both cheap, and
 * the password (4) last, so that unauthorised sources cannot make us run Argon2 (CPU
 * exhaustion). Returns 0 when <*result> is set, or a negative code (I/O, no memory). */
int store_platform_check(struct store *st, uint32_t user_id, const char *password,
                         uint32_t access_code, const struct store_ip *ip, uint8_t *result);

/* ─── Users (query API / CLI) ─── */
struct store_user { char name[64]; uint8_t role; uint8_t locked; int64_t created; };
int store_user_add(struct store *st, const char *name, const char *password, uint8_t role);
int store_user_passwd(struct store *st, const char *name, const char *password);
int store_user_lock(struct store *st, const char *name, int locked);
/* 0 ok, -EACCES wrong password, -ENOENT no such user, RW_E_STATE locked. */
int store_user_check(struct store *st, const char *name, const char *password);
typedef int (*store_user_fn)(const struct store_user *u, void *ctx);
int store_user_foreach(struct store *st, store_user_fn cb, void *ctx);

/* ─── Alarms (kept in meta: handling records outlive the 183-day window) ─── */
#define STORE_ALARM_PARAMS_MAX 8
struct store_alarm_param { uint32_t id; int64_t value; };
struct store_alarm {
    uint64_t id;                  /* 0 in store_alarm_put = allocate */
    uint32_t vehicle_id;
    uint16_t type;                /* JT/T 809 WARN_TYPE (0x0001 overspeed, 0x0002 fatigue) */
    uint8_t source;               /* 1 terminal, 2 enterprise, 3 government, 9 other */
    uint8_t state;                /* alarms.md §4.2, engine-defined codes */
    uint32_t driver_id;
    int64_t start_time, end_time; /* end 0 while active */
    int32_t start_lat_e6, start_lon_e6, end_lat_e6, end_lon_e6;
    uint16_t start_speed_dkmh, end_speed_dkmh, max_speed_dkmh, avg_speed_dkmh;
    uint32_t mileage_hm;
    uint8_t n_params;
    struct store_alarm_param params[STORE_ALARM_PARAMS_MAX];   /* values in force */
};
struct store_alarm_event {        /* one handling step */
    int64_t time;
    uint8_t state;
    uint32_t operator_id;
    char note[128];
};
int store_alarm_put(struct store *st, struct store_alarm *a);        /* id written back */
/* Replaces the record (end, state, ...); vehicle and start time must not change. */
int store_alarm_update(struct store *st, const struct store_alarm *a);
int store_alarm_get(struct store *st, uint64_t id, struct store_alarm *out);
/* Appends a handling event and sets the alarm's state to ev->state. */
int store_alarm_handle(struct store *st, uint64_t id, const struct store_alarm_event *ev);
/* Copies up to <max> events in order; returns the count found. */
long store_alarm_events(struct store *st, uint64_t id, struct store_alarm_event *out,
                        size_t max);
/* Alarms of <vid> with <from> <= start_time < <to>, ascending; up to <max>; count found. */
long store_alarm_by_vehicle(struct store *st, uint32_t vid, int64_t from, int64_t to,
                            struct store_alarm *out, size_t max);

/* ─── Maintenance ─── */
/* Drops every day partition older than the retention window (relative to the store's
 * clock). Safe while ingest runs: waits only for readers of the dropped days. Returns the
 * number of partitions dropped. */
long store_retention_run(struct store *st);

/* Rewrites day <day> in key order into a new file generation (store/README.md §9a): every
 * track slot merged into one columnar segment, pages full. Safe while ingest runs; if the
 * day is written to meanwhile (late data) the copy is discarded and -EAGAIN returned.
 * Returns 0 (compacted; <out> filled when not NULL), 1 (already compacted and not
 * <force>), -ENOENT (no such day), -ECANCELED (store closing), or another negative code. */
struct store_compact_info {
    uint64_t bytes_before, bytes_after;
    uint64_t records_before, records_after;
};
int store_compact_day(struct store *st, int32_t day, int force, struct store_compact_info *out);
/* Compacts the oldest day that ended more than compact_after_days ago and has not been
 * compacted (the maintenance thread calls it). Returns 1 (one day compacted, more may be
 * due), 0 (none due) or a negative code. */
long store_compact_next(struct store *st);
/* Lists the days present on disk (ascending) into <out>; returns the count found. */
long store_days(struct store *st, int32_t *out, size_t max);
/* Walks every environment: every page via cursors, every value through its decoder, index
 * consistency. Returns 0 when clean, else the number of problems (each logged). */
long store_verify(struct store *st);
/* Backup while ingest runs: compacting copies of meta and of every day (full) or of the
 * days changed since the last backup into <dir> (incremental), with a manifest of BLAKE2b
 * checksums. Returns the number of files written or a negative code. */
int store_backup(struct store *st, const char *dir, int incremental);
/* Checks a backup directory: manifest, checksums, integrity walk of every file. */
long store_backup_verify(const char *dir);
/* Restores <bdir> (a full backup, then any incrementals after it named in <bdir>'s chain)
 * into an empty or absent store directory <store_dir>. */
int store_restore(const char *bdir, const char *store_dir);

#endif
