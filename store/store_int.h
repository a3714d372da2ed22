/* store_int.h: internals shared by the store's files (never included outside store/).
 *
 * Ownership: struct store is created by the control thread; shards own their struct
 * store_shard producer fields; the writer thread owns every day write transaction and the
 * writer scratch; part_* functions are thread-safe (st->mu protects the partition table,
 * each partition's rwlock excludes readers while its map grows). */
#ifndef RW_STORE_INT_H
#define RW_STORE_INT_H

#include <ck_ring.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <zstd.h>

#include "store/store.h"

#define STORE_CACHE_LINE 64
#define STORE_SEG_MAX 4096       /* points per track segment (one vehicle-slot) */
#define STORE_SLOT_S 1200        /* a track segment spans 20 minutes of the GMT+8 day */
#define STORE_SLOTS (86400 / STORE_SLOT_S)
#define STORE_TAIL_MAX 40        /* tail records of one slot before the writer merges it */
#define STORE_RAW_SPAN_MS 60000  /* a raw block spans at most this much receive time */
#define STORE_RAW_FRAME_MAX 65535

/* Day partition databases. */
enum { DDB_TRK, DDB_RAW, DDB_RAWV, DDB_PRES, DDB_INFO, DDB_RAWT, DDB_JRN, DDB_N };
#define DDB_NAMES {"trk", "raw", "rawv", "pres", "info", "rawt", "jrn"}
/* Meta databases. */
enum { MDB_INFO_, MDB_VEH, MDB_VPHONE, MDB_VPLATE, MDB_VAUTH, MDB_ENT, MDB_PLAT, MDB_USER,
       MDB_GEO, MDB_ALARM, MDB_ALARM_VT, MDB_ALARM_EV, MDB_N_ };

struct store_batch {
    struct store *st;
    unsigned shard, slot;
    uint64_t seq;
    uint64_t open_ns;             /* CLOCK_MONOTONIC when its first record was added */
    uint64_t done_ns;             /* CLOCK_MONOTONIC when handed back */
    int status;
    unsigned npos, nraw;
    unsigned pos_cap, raw_cap;
    uint32_t arena_len, arena_cap;
    struct store_pos *pos;
    struct store_raw *raw;
    uint8_t *arena;
};

struct store_shard {
    /* producer (shard thread) side */
    struct ck_ring sub __attribute__((aligned(STORE_CACHE_LINE)));
    struct ck_ring done;
    ck_ring_buffer_t *sub_buf, *done_buf;
    struct store_batch **free_stack;
    unsigned n_free;
    uint64_t next_seq;
    /* writer side */
    _Atomic uint64_t committed_seq __attribute__((aligned(STORE_CACHE_LINE)));
};

struct store_part {
    int32_t day;                  /* -1: slot unused */
    MDB_env *env;
    MDB_dbi dbi[DDB_N];
    unsigned absent;              /* bit per DDB_*: not in this (read-only) day file */
    unsigned refs;                /* under st->mu */
    bool doomed;                  /* being dropped or reopened: no new refs */
    uint64_t last_use;
    uint64_t map_size;
    pthread_rwlock_t rw;          /* read: txns in flight; write: map resize */
};

struct store {
    struct store_config cfg;
    char *dir, *key_file;
    bool open, rdonly;
    MDB_env *meta;
    MDB_dbi mdbi[MDB_N_];
    uint64_t meta_map;
    pthread_rwlock_t meta_rw;
    uint32_t boot;                /* opens of this store, part of raw block keys */
    uint8_t key[32];              /* secretbox key */

    pthread_mutex_t mu;           /* partition table, doom waits */
    pthread_cond_t cv;
    struct store_part *parts;
    unsigned n_parts;
    uint64_t use_clock;

    struct store_shard *shards;
    struct store_batch *batches;  /* shards * pool_batches */
    void *batch_mem;

    pthread_t writer, maint;
    bool writer_started, maint_started;
    _Atomic int stop;
    _Atomic int health;
    void *wctx;                   /* writer scratch (writer.c) */
    struct hold_tab *holds;       /* open track slots held in memory (hold.c), read-write */
    struct cpt_log *clog;         /* compaction change log (compact.c), read-write opens */

    pthread_mutex_t stats_mu;
    struct store_stats stats;
};

/* Error mapping (LMDB and errno to ours). store_err: the same for a code that may already
 * be ours (negative RW_E_* / -errno pass through). */
int store_mdb_err(int rc);
int store_err(int rc);

/* Clock. */
int64_t store_now(const struct store *st);
int32_t store_oldest_day(const struct store *st);

/* Partitions (part.c). */
enum { PART_CREATE = 1 };
int part_get(struct store *st, int32_t day, int flags, struct store_part **out);
void part_put(struct store *st, struct store_part *p);
int part_grow(struct store *st, struct store_part *p);
void part_poison(struct store *st, struct store_part *p);
/* Closes the slot's environment and frees the slot (under st->mu, no holders). */
void part_close_slot(struct store_part *p);
int part_drop(struct store *st, int32_t day);
void part_close_all(struct store *st);
/* The path of the day's newest file generation (generation 0 if it has none yet). */
int part_path(const struct store *st, int32_t day, char *out, size_t cap);
int part_path_gen(const char *dir, int32_t day, unsigned gen, char *out, size_t cap);
/* Newest generation of the day's data files, -ENOENT when it has none. */
long part_gen(const char *dir, int32_t day);
/* Removes the day's files (data, lock, tmp) except generation <keep_gen>'s data and lock
 * (-1: remove all); returns how many data files went. */
long part_unlink_day(const char *dir, int32_t day, long keep_gen);
/* At open: removes what a cut-short compaction left (tmp files, superseded generations). */
long part_tidy(const char *dir);
int part_rtxn(struct store_part *p, MDB_txn **txn);
void part_rtxn_end(struct store_part *p, MDB_txn *txn);
/* part_get (existing days only: -ENOENT) and a read transaction; part_read_end ends both. */
int part_read(struct store *st, int32_t day, struct store_part **p, MDB_txn **txn);
void part_read_end(struct store *st, struct store_part *p, MDB_txn *txn);
int store_env_open(MDB_env **envp, const char *path, unsigned maxdbs, uint64_t map,
                   unsigned flags);
long part_list_days(const char *dir, int32_t *out, size_t max);

/* Meta read/write txns (meta.c). */
int meta_rtxn(struct store *st, MDB_txn **txn);
void meta_rtxn_end(struct store *st, MDB_txn *txn);
int meta_wtxn(struct store *st, MDB_txn **txn);
int meta_commit(struct store *st, MDB_txn *txn);
int meta_open(struct store *st);
typedef int (*meta_op_fn)(struct store *st, MDB_txn *txn, void *ctx);
int meta_write(struct store *st, meta_op_fn op, void *ctx);
int meta_read(struct store *st, meta_op_fn op, void *ctx);
void wr_str(struct wr *w, const char *s);
void rd_str(struct rd *r, char *out, size_t cap);
void u32be(uint8_t k[4], uint32_t v);
int next_id(struct store *st, MDB_txn *txn, const char *name, uint32_t *out);
int veh_put_txn(struct store *st, MDB_txn *txn, struct store_vehicle *v);

/* Codecs (codec.c). Keys are big-endian so that memcmp order is numeric order. */
#define TRK_KEY_LEN 5             /* base segment: vid u32 . slot u8 */
#define TRK_TAIL_KEY_LEN 7        /* tail record: vid u32 . slot u8 . seq u16 (1, 2, ...) */
void trk_key(uint8_t k[TRK_KEY_LEN], uint32_t vid, uint8_t slot);
void trk_tail_key(uint8_t k[TRK_TAIL_KEY_LEN], uint32_t vid, uint8_t slot, uint16_t seq);
/* Parses a base or tail key (seq 0 for a base). 0, or RW_E_LENGTH / RW_E_FIELD. */
int trk_key_parse(const uint8_t *k, size_t len, uint32_t *vid, uint8_t *slot, uint16_t *seq);
static inline uint8_t trk_slot_of(int64_t t)
{
    int64_t s = (t + 8 * 3600) % 86400;
    return (uint8_t)((s < 0 ? s + 86400 : s) / STORE_SLOT_S);
}
#define RAW_KEY_LEN 20
struct raw_key { int64_t min_ms; uint32_t boot; uint16_t shard; uint32_t seq; uint16_t sub; };
void raw_key_enc(uint8_t k[RAW_KEY_LEN], const struct raw_key *rk);
void raw_key_dec(const uint8_t *k, struct raw_key *rk);
#define RAWV_KEY_LEN (4 + RAW_KEY_LEN)   /* format 2 raw index: vid · raw key */
#define RAWT_KEY_LEN (8 + RAW_KEY_LEN)   /* format 3: bucket (1 s) · vid · raw key */
#define PRES_KEY_LEN 9
void pres_key(uint8_t k[PRES_KEY_LEN], uint8_t bucket, uint32_t cell, uint32_t vid);
int pres_cell(int32_t lat_e6, int32_t lon_e6, uint32_t *cell);
int pos_content_eq(const struct store_pos *a, const struct store_pos *b);
int pos_cmp_time(const struct store_pos *a, const struct store_pos *b);

/* Track segment codec. enc: <pts> sorted, all same vehicle; returns bytes written to <out>
 * (cap >= seg_bound(n)) or a negative code. dec: returns the point count (<= max) or a
 * negative code; <vid> fills vehicle_id. <zc>/<zd> may be NULL (allocated per call). */
size_t seg_bound(size_t n);
long seg_encode(const struct store_pos *pts, size_t n, uint8_t *out, size_t cap, void *zc,
                uint8_t *tmp, size_t tmpcap);
long seg_decode(const uint8_t *in, size_t len, uint32_t vid, struct store_pos *out,
                size_t max, void *zd, uint8_t *tmp, size_t tmpcap);
/* Tail records: the same layout, never compressed (small, written on the commit path). */
long seg_encode_plain(const struct store_pos *pts, size_t n, uint8_t *out, size_t cap);
/* Merges sorted <b> (m) into sorted <a> (n) into <out> (cap): stable, <a> first on equal
 * times; a point of <b> whose content equals an earlier output point at the same time is
 * dropped (*dup++), points beyond <cap> too (*full++). Returns the output count. */
size_t seg_merge(const struct store_pos *a, size_t n, const struct store_pos *b, size_t m,
                 struct store_pos *out, size_t cap, uint64_t *dup, uint64_t *full);

/* Track slots (track.c): one slot = its base segment plus its tail records, consecutive
 * in key order. trk_gather: the cursor is on the first record of a slot (<key>, <val>);
 * decodes and merges every record of the slot (base, then tails by seq) into s->acc and
 * returns the point count; on return <key>/<val> hold the record after the slot, *end = 1
 * when there is none; *seq_max is the highest tail seq seen (0: base only). */
struct trk_scr {
    struct store_pos *acc, *one, *mrg;    /* STORE_SEG_MAX each */
    struct store_pos *held;               /* readers: held / journaled points (hold.c) */
    ZSTD_DCtx *zd;
    uint8_t *tmp;
    size_t tmp_cap;
    uint64_t dup, full;
};
int trk_scr_init(struct trk_scr *s, size_t tmp_cap);
void trk_scr_fini(struct trk_scr *s);
long trk_gather(MDB_cursor *cur, MDB_val *key, MDB_val *val, struct trk_scr *s,
                uint16_t *seq_max, int *end);
/* Positions <cur> on (vid, slot) and gathers it into s->acc: the point count (0 when the
 * slot has no record), or a negative code. */
long trk_slot_load(MDB_cursor *cur, uint32_t vid, uint8_t slot, struct trk_scr *s,
                   uint16_t *seq_max);
/* Raw block codec: frames of one block; same conventions. dec calls <cb> per frame. */
size_t rawblk_bound(const struct store_raw *r, size_t n);
long rawblk_encode(const struct store_raw *const *r, size_t n, int64_t min_ms, uint8_t *out,
                   size_t cap, void *zc, uint8_t *tmp, size_t tmpcap);
long rawblk_decode(const uint8_t *in, size_t len, int64_t min_ms, store_raw_fn cb, void *ctx,
                   void *zd, uint8_t *tmp, size_t tmpcap);
/* Varints (LEB128) and zigzag. */
void vput(struct wr *w, uint64_t v);
uint64_t vget(struct rd *r);
static inline uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Writer (writer.c, writer_apply.c) and maintenance (maint.c). */
struct wref {                     /* one position of a pending batch, for sorting */
    int32_t day;
    uint32_t vid;
    int64_t t;
    int64_t recv;
    uint8_t slot;
    uint32_t bi, pi;
    uint8_t held;                 /* hold_plan: goes to the vehicle's hold (and the journal) */
};

struct mq_ent { int32_t day; uint32_t vid; uint8_t slot; };  /* a slot to merge */
#define MQ_CAP 65536              /* merge queue entries (power of two) */

struct wctx {
    uint64_t wact_ns[STORE_WACT_N]; /* writer time by activity, not yet in st->stats */
    uint64_t wact_flushed;          /* when it was last added there */
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
    struct store_batch **pend;
    unsigned npend, pend_cap;
    uint64_t pend_oldest_ns;      /* the oldest open_ns of the pending batches */
    struct wref *refs;
    size_t nref, ref_cap;
    struct store_pos *merged, *inc;
    struct trk_scr scr;           /* slot merge scratch */
    struct mq_ent *mq;            /* closed slots waiting for their merge (FIFO ring) */
    uint32_t mq_head, mq_tail;
    uint8_t *enc, *tmp;
    size_t enc_cap, tmp_cap;
    const struct store_raw **rawp;
    int32_t *days;
    struct store_stats acc;       /* counters of the commit in progress */
    struct cpt_log *clog;         /* st->clog */
    struct rix *rix;              /* raw index entries held (rawidx.c) */
    /* hold.c: this commit's plan */
    struct hwo { int32_t day; uint32_t vid; } *wo; /* holds written out (by day, vid) */
    size_t nwo, wo_cap;
    struct jtrim { int32_t day; uint8_t slot; } *trim; /* journal slots deleted */
    unsigned ntrim;
    int64_t sweep_g;              /* the sweep this commit makes (INT64_MIN: none) */
    bool ckpt;                    /* this commit writes every hold out */
    uint8_t *jbuf;                /* journal record being built */
    size_t jbuf_cap;
};

int writer_commit(struct store *st, struct wctx *w);
void days_add(struct wctx *w, unsigned *n, int32_t d);
/* Track writes (track.c), in the day's write txn: appends the <*m> sorted incoming points
 * (w->inc) of (vid, slot) as a tail record, or merges the slot when it has too many tails
 * or the points are late; on return w->inc[0..*m) are the points left after dropping
 * duplicates within the commit. track_merge_queued merges up to <budget> queued closed
 * slots of the day and returns how many it consumed. */
int track_slot_write(struct wctx *w, struct store_part *p, MDB_txn *txn, MDB_cursor *cur,
                     uint32_t vid, uint8_t slot, size_t *m);
unsigned track_merge_queued(struct wctx *w, struct store_part *p, MDB_cursor *cur,
                            unsigned budget, int *rc);
int track_merge_idle(struct store *st, struct wctx *w);

int writer_init(struct store *st);
int writer_start(struct store *st);
void writer_stop(struct store *st);
void writer_fini(struct store *st);
int maint_start(struct store *st);
void maint_stop(struct store *st);
void stats_add(struct store *st, size_t off, uint64_t n);
#define STATS_ADD(st, field, n) stats_add((st), offsetof(struct store_stats, field), (n))

/* The change log of a compaction in progress (compact.c): while a day is being copied,
 * the writer notes every key it writes to that day, and the copy replays them before the
 * swap. cpt_txn_begin says whether notes are being taken for <day>; cpt_txn_done after a
 * commit marks the log incomplete if notes started during that transaction. */
#define CPT_LOG_MAX 16384
struct cpt_key { uint8_t db, len; uint8_t k[RAWT_KEY_LEN]; };
struct cpt_log {
    _Atomic int32_t day;          /* INT32_MIN: no compaction */
    pthread_mutex_t run;          /* one compaction at a time */
    pthread_mutex_t mu;           /* the fields below */
    unsigned n;
    bool broken;                  /* overflowed, or a commit straddled the start */
    struct cpt_key k[CPT_LOG_MAX];
};
int cpt_log_init(struct store *st);
void cpt_log_fini(struct store *st);
void cpt_note(struct cpt_log *l, int32_t day, int db, const uint8_t *key, size_t len);
int cpt_txn_begin(struct cpt_log *l, int32_t day);
void cpt_txn_done(struct cpt_log *l, int32_t day, int logging);

/* The raw log's time-first index (rawidx.c). rawt_bounds: blocks with min_ms < *since_ms
 * are indexed by the legacy rawv, blocks from *flushed_ms on by nothing yet (scan them);
 * rawt_mark_since: at a read-write open. rix_*: writer thread: rix_add one entry (held or
 * put now), rix_flush in the day's txn (closed buckets, or everything when <all>),
 * rix_committed after its commit, rix_pending a day due for a flush of its own
 * (rix_day_txn), rix_recover at open before the writer starts. */
#define RIX_RING 8                /* buckets held per day */
#define RIX_DAYS 4                /* days held at once */
void rawt_key(uint8_t k[RAWT_KEY_LEN], uint32_t bucket, uint32_t vid, const uint8_t *rk);
int rawt_key_parse(const uint8_t *k, size_t len, uint32_t *bucket, uint32_t *vid);
uint32_t rawt_bucket(int64_t min_ms);
int rawt_bounds(MDB_txn *txn, const struct store_part *p, int64_t *since_ms, int64_t *flushed_ms);
int rawt_mark_since(MDB_txn *txn, struct store_part *p);
int rix_init(struct wctx *w);
void rix_fini(struct wctx *w);
int rix_add(struct wctx *w, struct store_part *p, MDB_txn *txn, uint32_t bucket, uint32_t vid,
            const uint8_t rk[RAW_KEY_LEN]);
int rix_flush(struct wctx *w, struct store_part *p, MDB_txn *txn, int all);
void rix_committed(struct wctx *w, int32_t day);
int rix_pending(const struct wctx *w, int32_t *day, int *all);
int rix_day_txn(struct store *st, struct wctx *w, int32_t day, int all);
int rix_held_day(const struct wctx *w, int32_t *day); /* anything left to write or mark */
void rix_forget(struct wctx *w, int32_t day);
int rix_recover(struct store *st);

/* Open slots held in memory, made durable by a per-day journal (hold.c, store/README.md
 * §3b). The writer owns every change (under the table's write lock); readers copy a
 * vehicle's held points under the read lock (hold_copy) before they begin their read
 * transaction, so a point leaving the hold for the day file is seen in one or the other.
 * Journal key: slot u8 . boot u32 . seq u64; value: entries vid u32 . len varint . plain
 * segment. */
#define JRN_KEY_LEN 13
#define HOLD_PTS_MAX 1024         /* points held per vehicle; more are written out */
#define HOLD_JG_MAX 256           /* (day, slot)s whose journal has records */
static inline int64_t hold_g(int32_t day, uint8_t slot) { return (int64_t)day * STORE_SLOTS + slot; }
int hold_init(struct store *st, uint64_t budget_bytes);
void hold_fini(struct store *st);
/* Writer: decides which groups of w->refs are held (ref.held) and which holds are written
 * out; adds the days this needs to w->days (*nd). */
int hold_plan(struct store *st, struct wctx *w, unsigned *nd);
/* Writer, in the day's txn: the write-outs of the day, then its journal trims and records. */
int hold_day(struct store *st, struct wctx *w, struct store_part *p, MDB_txn *txn);
/* Writer, after every day committed: moves the held groups into the holds. */
void hold_apply(struct store *st, struct wctx *w);
/* Writer: something to write or trim with no batch pending (a new slot began, or stop). */
int hold_due(struct store *st, int stop);
/* At open, before the writer starts: the journals of the newest days into the holds. */
int hold_recover(struct store *st);
/* Any thread: vehicle <vid>'s held points of <day> (time order) into out (cap), -1 when
 * no live hold table exists in this process (read the journal: jrn_scan). */
long hold_copy(struct store *st, uint32_t vid, int32_t day, struct store_pos *out, size_t cap);
/* The journal's points of <vid> in slots [s0, s1] of the day (read-only processes). */
long jrn_scan(struct store_part *p, MDB_txn *txn, uint32_t vid, uint8_t s0, uint8_t s1,
              struct store_pos *out, size_t cap, struct trk_scr *sc);
/* Walks one journal value: calls <fn> per entry; 0, or RW_E_* for a malformed value. */
typedef int (*jrn_entry_fn)(uint32_t vid, const uint8_t *seg, size_t len, void *ctx);
int jrn_walk(const uint8_t *val, size_t len, jrn_entry_fn fn, void *ctx);
#define JRN_ENTRY_HDR 14          /* an entry's bytes beyond its segment, at most */
void jrn_entry_put(struct wr *o, uint32_t vid, const uint8_t *seg, size_t len);

/* Integrity walk of one day environment / of meta (verify.c). */
long verify_day_env(MDB_env *env, const char *name);
long verify_meta_env(MDB_env *env);

#endif
