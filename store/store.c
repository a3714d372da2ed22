/* store.c: lifecycle, configuration, the meta environment, error mapping, counters. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "store/store_int.h"

static const char *const mdb_names[MDB_N_] = {
    "info", "veh", "veh_phone", "veh_plate", "veh_auth", "ent", "plat", "user",
    "geo", "alarm", "alarm_vt", "alarm_ev"};

int store_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return 0;
    case MDB_NOTFOUND: return -ENOENT;
    case MDB_KEYEXIST: return RW_E_DUPLICATE;
    case MDB_MAP_FULL: return RW_E_LIMIT;
    case MDB_READERS_FULL: return RW_E_LIMIT;
    case MDB_TXN_FULL: return RW_E_LIMIT;
    case MDB_DBS_FULL: return RW_E_LIMIT;
    case MDB_VERSION_MISMATCH: return RW_E_UNSUPPORTED;
    case MDB_INVALID: return RW_E_UNSUPPORTED;
    case MDB_MAP_RESIZED: return RW_E_STATE;
    case MDB_BAD_TXN: return RW_E_STATE;
    case MDB_PANIC: case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: return -EIO;
    default: return rc > 0 ? -rc : -EIO;
    }
}

int store_err(int rc)
{
    return (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) || rc > 0 ? store_mdb_err(rc) : rc;
}

void store_config_default(struct store_config *c)
{
    memset(c, 0, sizeof *c);
    c->retention_days = 183;
    c->commit_interval_ms = 5;
    c->shards = 1;
    c->pool_batches = 64;
    c->batch_pos = 512;
    c->batch_raw = 512;
    c->batch_arena = 256 * 1024;
    c->max_batches_txn = 64;
    c->day_map_initial = 64ull << 20;
    c->day_map_max = 64ull << 30;
    c->meta_map_size = 256ull << 20;
    c->open_parts = 8;
    c->maint_interval_ms = 1000;
    c->reader_check_s = 10;
    c->retention_check_s = 3600;
    c->compact_after_days = 1;
    c->hold_bytes = 512ull << 20;
    c->kdf_ops = 2;
    c->kdf_mem_kib = 19456;
}

int store_create(struct store **out)
{
    struct store *st = mem_calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    store_config_default(&st->cfg);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_mutex_init(&st->stats_mu, NULL);
    pthread_rwlock_init(&st->meta_rw, NULL);
    *out = st;
    return 0;
}

static char *str_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mem_alloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int store_set_config(struct store *st, const struct store_config *cfg)
{
    if (st->open)
        return RW_E_STATE;
    st->cfg = *cfg;
    st->cfg.dir = NULL;
    st->cfg.key_file = NULL;
    if (cfg->dir && store_set_dir(st, cfg->dir))
        return -ENOMEM;
    MEM_FREE(st->key_file);
    if (cfg->key_file && !(st->key_file = str_dup(cfg->key_file)))
        return -ENOMEM;
    return 0;
}

int store_set_dir(struct store *st, const char *dir)
{
    if (st->open)
        return RW_E_STATE;
    MEM_FREE(st->dir);
    st->dir = str_dup(dir);
    return st->dir ? 0 : -ENOMEM;
}

int store_set_retention(struct store *st, unsigned days, int force)
{
    if (st->open)
        return RW_E_STATE;
    st->cfg.retention_days = days;
    st->cfg.force = force;
    return 0;
}

int store_set_clock(struct store *st, store_clock_fn clock, void *ctx)
{
    st->cfg.clock = clock;
    st->cfg.clock_ctx = ctx;
    return 0;
}

int64_t store_now(const struct store *st)
{
    return st->cfg.clock ? st->cfg.clock(st->cfg.clock_ctx) : (int64_t)time(NULL);
}

int32_t store_oldest_day(const struct store *st)
{
    return store_day_of(store_now(st)) - (int32_t)st->cfg.retention_days + 1;
}

void stats_add(struct store *st, size_t off, uint64_t n)
{
    pthread_mutex_lock(&st->stats_mu);
    uint64_t *c = (uint64_t *)((char *)&st->stats + off);
    if (off == offsetof(struct store_stats, commit_ns_max))
        *c = n > *c ? n : *c;
    else
        *c += n;
    pthread_mutex_unlock(&st->stats_mu);
}

const char *store_wact_name(enum store_wact a)
{
    static const char *const names[STORE_WACT_N] = {"commit", "gather", "holds", "merge",
                                                     "rawindex", "idle"};
    return (unsigned)a < STORE_WACT_N ? names[a] : "?";
}

void store_stats_get(const struct store *st, struct store_stats *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&st->stats_mu);
    *out = st->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&st->stats_mu);
}

static int cfg_check(const struct store *st)
{
    const struct store_config *c = &st->cfg;
    if (!st->dir)
        return RW_E_FIELD;
    if (c->retention_days < 183 && !c->force) {
        LOG(LOG_ERR, "store", "retention_days %u < 183 (GB/T 35658 §7.3): refused without force",
            c->retention_days);
        return RW_E_FIELD;
    }
    if (c->retention_days < 1 || c->shards < 1 || c->shards > 256 || c->pool_batches < 1 ||
        c->pool_batches > 65536 || c->batch_pos < 1 || c->batch_raw < 1 ||
        c->open_parts < 2 || c->max_batches_txn < 1 || c->day_map_initial < (1u << 20) ||
        c->day_map_max < c->day_map_initial || c->commit_interval_ms > 1000)
        return RW_E_FIELD;
    return 0;
}

/* The secretbox key lives in a file outside the database (0600), created on first use. */
static int key_load(struct store *st)
{
    char path[4096];
    if (st->key_file)
        snprintf(path, sizeof path, "%s", st->key_file);
    else
        snprintf(path, sizeof path, "%s/secret.key", st->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !st->rdonly) {
        randombytes_buf(st->key, sizeof st->key);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return -errno;
        ssize_t w = write(fd, st->key, sizeof st->key);
        int rc = (w == (ssize_t)sizeof st->key && fsync(fd) == 0) ? 0 : -EIO;
        close(fd);
        return rc;
    }
    if (fd < 0)
        return st->rdonly ? 0 : -errno; /* read-only tools may not need it */
    ssize_t r = read(fd, st->key, sizeof st->key);
    close(fd);
    return r == (ssize_t)sizeof st->key ? 0 : RW_E_TRUNCATED;
}

/* Format version and boot counter, in meta "info". */
static int meta_info(struct store *st, MDB_txn *txn)
{
    MDB_val k = {6, (void *)"format"}, v;
    int rc = mdb_get(txn, st->mdbi[MDB_INFO_], &k, &v);
    if (rc == 0) {
        uint32_t f = UINT32_MAX;
        if (v.mv_size == 4)
            memcpy(&f, v.mv_data, 4); /* LMDB values are not aligned */
        if (f > STORE_FORMAT_VERSION) {
            LOG(LOG_ERR, "store",
                "%s: store format %u is newer than this roadwatch (reads up to %u): "
                "upgrade roadwatch, or restore a backup made by this version", st->dir, f,
                STORE_FORMAT_VERSION);
            return RW_E_UNSUPPORTED;
        }
        if (f < STORE_FORMAT_OLDEST) {
            LOG(LOG_ERR, "store",
                "%s: store format %u is older than this roadwatch reads (formats %u-%u) and "
                "there is no upgrade path: use the roadwatch that wrote it, or start an empty "
                "store", st->dir, f, STORE_FORMAT_OLDEST, STORE_FORMAT_VERSION);
            return RW_E_UNSUPPORTED;
        }
        if (f < STORE_FORMAT_VERSION && !st->rdonly) {
            uint32_t nf = STORE_FORMAT_VERSION;
            MDB_val nv = {4, &nf};
            if ((rc = mdb_put(txn, st->mdbi[MDB_INFO_], &k, &nv, 0)))
                return store_mdb_err(rc);
            LOG(LOG_NOTICE, "store", "%s: store format %u marked %u (read-compatible)",
                st->dir, f, STORE_FORMAT_VERSION);
        }
    } else if (rc == MDB_NOTFOUND && !st->rdonly) {
        uint32_t f = STORE_FORMAT_VERSION;
        v.mv_size = 4;
        v.mv_data = &f;
        if ((rc = mdb_put(txn, st->mdbi[MDB_INFO_], &k, &v, 0)))
            return store_mdb_err(rc);
    } else if (rc != MDB_NOTFOUND) {
        return store_mdb_err(rc);
    }
    MDB_val bk = {4, (void *)"boot"}, bv;
    st->boot = 0;
    if (mdb_get(txn, st->mdbi[MDB_INFO_], &bk, &bv) == 0 && bv.mv_size == 4)
        memcpy(&st->boot, bv.mv_data, 4);
    if (st->rdonly)
        return 0;
    st->boot++;
    bv.mv_size = 4;
    bv.mv_data = &st->boot;
    return store_mdb_err(mdb_put(txn, st->mdbi[MDB_INFO_], &bk, &bv, 0));
}

int meta_open(struct store *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.mdb", st->dir);
    int rc = store_env_open(&st->meta, path, MDB_N_ + 1, st->cfg.meta_map_size,
                            (st->rdonly ? MDB_RDONLY : 0) | st->cfg.extra_mdb_flags);
    if (rc)
        return rc;
    MDB_envinfo info;
    mdb_env_info(st->meta, &info);
    st->meta_map = info.me_mapsize;
    int dead = 0;
    mdb_reader_check(st->meta, &dead);
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(st->meta, NULL, st->rdonly ? MDB_RDONLY : 0, &txn)))
        return store_mdb_err(rc);
    for (int i = 0; i < MDB_N_ && !rc; i++)
        rc = mdb_dbi_open(txn, mdb_names[i], st->rdonly ? 0 : MDB_CREATE, &st->mdbi[i]);
    int r2 = rc ? store_mdb_err(rc) : meta_info(st, txn);
    if (r2) {
        mdb_txn_abort(txn);
        return r2;
    }
    /* Committed even when read-only: LMDB keeps the DBI handles opened in a transaction
     * only if it commits (an abort would leave every handle invalid: EINVAL later). */
    return store_mdb_err(mdb_txn_commit(txn));
}

static int store_open_common(struct store *st)
{
    int rc = cfg_check(st);
    if (rc)
        return rc;
    if (sodium_init() < 0)
        return -EIO;
    if (!st->rdonly && mkdir(st->dir, 0750) != 0 && errno != EEXIST)
        return -errno;
    if ((rc = key_load(st)) || (rc = meta_open(st)))
        return rc;
    st->n_parts = st->cfg.open_parts;
    st->parts = mem_calloc(st->n_parts, sizeof *st->parts);
    if (!st->parts)
        return -ENOMEM;
    for (unsigned i = 0; i < st->n_parts; i++) {
        st->parts[i].day = -1;
        pthread_rwlock_init(&st->parts[i].rw, NULL);
    }
    return 0;
}

int store_open(struct store *st)
{
    if (st->open)
        return RW_E_STATE;
    int rc = store_open_common(st);
    if (rc)
        return rc;
    long tidied = part_tidy(st->dir);
    if (tidied > 0)
        LOG(LOG_NOTICE, "store", "%s: removed %ld day files a cut-short compaction left",
            st->dir, tidied);
    if ((rc = cpt_log_init(st)) || (rc = writer_init(st)) || (rc = rix_recover(st)) ||
        (rc = hold_init(st, st->cfg.hold_bytes)) || (rc = hold_recover(st)) ||
        (rc = writer_start(st)))
        return rc;
    if (st->cfg.maint_interval_ms && (rc = maint_start(st)))
        return rc;
    st->open = true;
    return 0;
}

int store_open_rdonly(struct store *st)
{
    if (st->open)
        return RW_E_STATE;
    st->rdonly = true;
    int rc = store_open_common(st);
    if (!rc)
        st->open = true;
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    maint_stop(st);
    writer_stop(st);
    writer_fini(st);
    hold_fini(st);
    cpt_log_fini(st);
    part_close_all(st);
    if (st->parts)
        for (unsigned i = 0; i < st->n_parts; i++)
            pthread_rwlock_destroy(&st->parts[i].rw);
    MEM_FREE(st->parts);
    if (st->meta)
        mdb_env_close(st->meta);
    sodium_memzero(st->key, sizeof st->key);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->stats_mu);
    pthread_rwlock_destroy(&st->meta_rw);
    MEM_FREE(st->dir);
    MEM_FREE(st->key_file);
    mem_free(st);
}

int store_health(const struct store *st)
{
    return atomic_load_explicit(&st->health, memory_order_acquire);
}

/* ─── meta transactions ─── */

int meta_rtxn(struct store *st, MDB_txn **txn)
{
    if (!st->meta)
        return RW_E_STATE;
    pthread_rwlock_rdlock(&st->meta_rw);
    int rc = mdb_txn_begin(st->meta, NULL, MDB_RDONLY, txn);
    if (rc)
        pthread_rwlock_unlock(&st->meta_rw);
    return store_mdb_err(rc);
}

void meta_rtxn_end(struct store *st, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&st->meta_rw);
}

/* Write txns hold the meta rwlock as readers too: only a map resize takes it for writing. */
int meta_wtxn(struct store *st, MDB_txn **txn)
{
    if (!st->meta || st->rdonly)
        return RW_E_STATE;
    pthread_rwlock_rdlock(&st->meta_rw);
    int rc = mdb_txn_begin(st->meta, NULL, 0, txn);
    if (rc)
        pthread_rwlock_unlock(&st->meta_rw);
    return store_mdb_err(rc);
}

/* Commits; on MDB_MAP_FULL the caller sees RW_E_LIMIT after the map was doubled, and
 * retries its whole transaction once. */
int meta_commit(struct store *st, MDB_txn *txn)
{
    int rc = store_mdb_err(mdb_txn_commit(txn));
    pthread_rwlock_unlock(&st->meta_rw);
    if (rc == RW_E_LIMIT && st->meta_map < (16ull << 30)) {
        pthread_rwlock_wrlock(&st->meta_rw);
        if (mdb_env_set_mapsize(st->meta, st->meta_map * 2) == 0)
            st->meta_map *= 2;
        pthread_rwlock_unlock(&st->meta_rw);
    }
    return rc;
}
