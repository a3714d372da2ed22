/* cfg.h: the engine configuration — one line-based text file, table-driven (STYLE §9).
 *
 *   # comment
 *   section            (global | jt808 | jt809 | store | live)
 *   keyword value      (one per line, inside a section)
 *
 * Each module's keys live in one table (name, type, bounds, default, offset into
 * struct cfg, reloadable flag). Fields start unset and take their defaults in a merge
 * step, so "not given" and "given the default" stay distinguishable. Errors read
 * "file:line: keyword: reason". The parsed struct is immutable: a reload (SIGHUP) parses a
 * new one and the engine adopts its reloadable keys at a batch boundary.
 * config/engine.conf documents every key; it is also compiled in as the embedded default.
 * Not thread-safe while parsing; the result is read-only and may be shared. */
#ifndef RW_CFG_H
#define RW_CFG_H

#include <stdint.h>
#include <stdio.h>

#define CFG_STR_MAX 256

enum cfg_registration { CFG_REG_STRICT = 0, CFG_REG_OPEN = 1 };
enum cfg_clock { CFG_CLOCK_SYSTEM = 0, CFG_CLOCK_DATA = 1 };

struct cfg {
    /* global */
    char instance[64];
    char data_dir[CFG_STR_MAX];
    int64_t workers;               /* 0: one per core */
    int64_t clock;                 /* enum cfg_clock */
    int64_t log_level;             /* enum log_level */
    /* jt808 */
    char jt808_tcp[CFG_STR_MAX];   /* "host:port" or "" to disable */
    char jt808_udp[CFG_STR_MAX];
    int64_t registration;          /* enum cfg_registration */
    int64_t max_connections;       /* per engine; beyond it accept-and-close */
    int64_t idle_timeout_s;
    int64_t first_frame_timeout_s;
    int64_t auth_timeout_s;
    int64_t frame_timeout_s;       /* a frame begun must end within this (slow senders) */
    int64_t bad_frames_max;        /* malformed frames tolerated per connection */
    int64_t recv_buffers;          /* provided receive buffers per worker */
    int64_t recv_buffer_size;
    int64_t reasm_slots;           /* subpackage messages in flight per worker */
    int64_t reasm_max_packages;
    int64_t reasm_timeout_s;
    /* jt809 */
    char jt809_tcp[CFG_STR_MAX];
    int64_t jt809_edition;         /* 2011, 2019 or 0 (auto) */
    int64_t jt809_link_timeout_s;
    /* store */
    int64_t retention_days;
    int64_t retention_force;
    int64_t compact_after_days;    /* 0: never */
    int64_t hold_mb;               /* memory for held open track slots */
    int64_t commit_interval_ms;
    int64_t batch_records;
    int64_t batches_per_worker;
    /* live */
    char live_path[CFG_STR_MAX];   /* "" = /dev/shm/roadwatch-<instance> */
    int64_t max_vehicles;
    int64_t online_window_s;
};

/* The configuration text compiled into the binary (config/engine.conf). */
extern const char cfg_embedded[];

/* Parses <text> (named <name> in errors) into <out>, then applies defaults and checks
 * cross-key rules. On error returns RW_E_SYNTAX or RW_E_FIELD and writes
 * "name:line: keyword: reason" into <err> (capacity <errcap>). */
int cfg_parse(const char *text, const char *name, struct cfg *out, char *err, size_t errcap);

/* Reads and parses the file <path>; -errno when it cannot be read. */
int cfg_load(const char *path, struct cfg *out, char *err, size_t errcap);

/* Copies the reloadable keys of <next> into <cur>; returns how many changed. Keys that
 * are not reloadable and differ are named in <note> ("workers needs a restart; ..."). */
int cfg_reload(struct cfg *cur, const struct cfg *next, char *note, size_t notecap);

/* Writes every key with its value, one "section keyword value" line each (for logs and
 * `roadwatch check-config --print`). */
void cfg_print(const struct cfg *c, FILE *f);

#endif
