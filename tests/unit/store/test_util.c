#include "tests/unit/store/test_util.h"

#include <errno.h>
#include <lmdb.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void tu_mkdtemp(char *out, const char *tag)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, 256, "%s/rwstore-%s-XXXXXX", t && *t ? t : "/tmp", tag);
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        abort();
    }
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void tu_rmrf(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_config(struct store_config *c, const char *dir)
{
    store_config_default(c);
    c->dir = dir;
    c->pool_batches = 8;
    c->batch_pos = 256;
    c->batch_raw = 256;
    c->batch_arena = 64 * 1024;
    c->day_map_initial = 1u << 20;
    c->day_map_max = 1ull << 30;
    c->meta_map_size = 4u << 20;
    c->maint_interval_ms = 0;
    c->kdf_ops = 1;
    c->kdf_mem_kib = 64;
    c->commit_interval_ms = 2;
}

/* store_create + set_config + open; on failure *st is still to be closed. */
static int try_open(const struct store_config *c, struct store **st)
{
    int rc = store_create(st);
    if (rc)
        return rc;
    if (!(rc = store_set_config(*st, c)))
        rc = store_open(*st);
    return rc;
}

struct store *tu_open(const struct store_config *c)
{
    struct store *st = NULL;
    int rc = try_open(c, &st);
    if (rc) {
        fprintf(stderr, "tu_open %s: %d\n", c->dir, rc);
        abort();
    }
    return st;
}

int tu_submit_wait(struct store *st, unsigned shard, struct store_batch *b)
{
    if (store_batch_submit(st, b))
        return -EAGAIN;
    for (int i = 0; i < 200000; i++) {
        struct store_batch *d;
        if (store_batch_reap(st, shard, &d, 1) == 1) {
            int s = store_batch_status(d);
            store_batch_release(st, d);
            return s;
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return -ETIMEDOUT;
}

int tu_put_points(struct store *st, const struct store_pos *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        struct store_batch *b;
        int rc = store_batch_get(st, 0, &b);
        if (rc)
            return rc;
        while (i < n && store_batch_add_pos(b, &p[i]) == 0)
            i++;
        if ((rc = tu_submit_wait(st, 0, b)))
            return rc;
    }
    return 0;
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void tu_pos(struct store_pos *p, uint32_t vid, int64_t t, uint32_t salt)
{
    uint64_t s = (uint64_t)vid * 1000003u + (uint64_t)t * 7919u + salt;
    memset(p, 0, sizeof *p);
    p->vehicle_id = vid;
    p->gnss_time = t;
    p->recv_time_ms = t * 1000 + (int64_t)(tu_rand(&s) % 3000);
    p->lat_e6 = 30000000 + (int32_t)((t % 86400) * 13) + (int32_t)(vid % 1000) * 1000;
    p->lon_e6 = 114000000 + (int32_t)((t % 86400) * 11) + (int32_t)(salt % 100);
    p->alarm = (t % 97 == 0) ? 0x2u : 0;
    p->status = 0x3u;
    p->mileage_hm = (uint32_t)(t / 10 % 1000000);
    p->speed_dkmh = (uint16_t)(tu_rand(&s) % 1200);
    p->tacho_speed_dkmh = p->speed_dkmh;
    p->direction = (uint16_t)(tu_rand(&s) % 360);
    p->altitude_m = (int16_t)(tu_rand(&s) % 500) - 50;
    p->fuel_dl = 300;
    p->src = 0;
    p->rssi = 20;
    p->sats = 9;
    p->present = 0x1 | 0x4;
}

int tu_pos_eq(const struct store_pos *a, const struct store_pos *b)
{
    return a->vehicle_id == b->vehicle_id && a->gnss_time == b->gnss_time &&
           a->recv_time_ms == b->recv_time_ms && a->lat_e6 == b->lat_e6 &&
           a->lon_e6 == b->lon_e6 && a->alarm == b->alarm && a->status == b->status &&
           a->mileage_hm == b->mileage_hm && a->speed_dkmh == b->speed_dkmh &&
           a->tacho_speed_dkmh == b->tacho_speed_dkmh && a->direction == b->direction &&
           a->altitude_m == b->altitude_m && a->fuel_dl == b->fuel_dl && a->src == b->src &&
           a->rssi == b->rssi && a->sats == b->sats && a->flags == b->flags &&
           a->present == b->present;
}

static int meta_env(const char *dir, unsigned flags, MDB_env **env)
{
    char path[300];
    snprintf(path, sizeof path, "%s/meta.mdb", dir);
    int rc = mdb_env_create(env);
    if (rc)
        return rc;
    mdb_env_set_maxdbs(*env, 20);
    if ((rc = mdb_env_open(*env, path, MDB_NOSUBDIR | flags, 0640)))
        mdb_env_close(*env);
    return rc;
}

int tu_meta_format_set(const char *dir, uint32_t f)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = meta_env(dir, 0, &env);
    if (rc)
        return rc;
    if (!(rc = mdb_txn_begin(env, NULL, 0, &txn))) {
        MDB_val k = {6, "format"}, v = {4, &f};
        if ((rc = mdb_dbi_open(txn, "info", 0, &dbi)) || (rc = mdb_put(txn, dbi, &k, &v, 0)))
            mdb_txn_abort(txn);
        else
            rc = mdb_txn_commit(txn);
    }
    mdb_env_close(env);
    return rc;
}

uint32_t tu_meta_format_get(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint32_t f = 0;
    if (meta_env(dir, MDB_RDONLY, &env))
        return 0;
    if (!mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) {
        MDB_val k = {6, "format"}, v;
        if (!mdb_dbi_open(txn, "info", 0, &dbi) && !mdb_get(txn, dbi, &k, &v) && v.mv_size == 4)
            memcpy(&f, v.mv_data, 4);
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return f;
}

int tu_open_rc(const struct store_config *c)
{
    struct store *st = NULL;
    int rc = try_open(c, &st);
    store_close(st);
    return rc;
}
