/* part.c: day partitions — one LMDB environment per GMT+8 day, opened on demand, a bounded
 * set kept open (LRU), maps that double on MDB_MAP_FULL while readers are held off by the
 * partition's rwlock (mdb_env_set_mapsize needs no transaction active in the process).
 *
 * Thread-safety: every function takes st->mu; a holder keeps at most one partition at a
 * time and never waits while holding one, so waiting for a free slot cannot deadlock. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/log.h"
#include "store/store_int.h"

static const char *const ddb_names[DDB_N] = DDB_NAMES;

#define UNSAFE_FLAGS (MDB_NOSYNC | MDB_WRITEMAP | MDB_MAPASYNC | MDB_NOMETASYNC | MDB_NOLOCK)

int store_env_open(MDB_env **envp, const char *path, unsigned maxdbs, uint64_t map,
                   unsigned flags)
{
    MDB_env *env = NULL;
    unsigned got = 0;
    int rc = mdb_env_create(&env);
    if (rc)
        return store_mdb_err(rc);
    if ((rc = mdb_env_set_maxdbs(env, maxdbs)) || (rc = mdb_env_set_mapsize(env, map)) ||
        (rc = mdb_env_set_maxreaders(env, 510)))
        goto fail;
    rc = mdb_env_open(env, path, flags | MDB_NOSUBDIR | MDB_NOTLS, 0640);
    if (rc)
        goto fail;
    /* Durability is the contract (ARCHITECTURE §4): never run with a relaxed sync mode. */
    if ((rc = mdb_env_get_flags(env, &got)) == 0 && (got & UNSAFE_FLAGS)) {
        LOG(LOG_ERR, "store", "%s: refusing unsafe LMDB flags 0x%x", path, got & UNSAFE_FLAGS);
        mdb_env_close(env);
        return RW_E_FIELD;
    }
    *envp = env;
    return 0;
fail:
    mdb_env_close(env);
    return store_mdb_err(rc);
}

/* Day file names: "day-YYYYMMDD.mdb" (generation 0, as written by ingest) or
 * "day-YYYYMMDD.gN.mdb" (N >= 1: the Nth compacted rewrite, store/README.md §9a), each
 * with LMDB's "-lock" file, and ".tmp" while a compaction writes it. Parses <name>;
 * returns 0 with the day, generation and suffix kind (0 data, 1 lock, 2 tmp, 3 tmp lock),
 * or -1 for any other name. */
static int part_name_parse(const char *name, int32_t *day, unsigned *gen, int *kind)
{
    int y, pos = 0;
    unsigned m, d;
    if (sscanf(name, "day-%4d%2u%2u%n", &y, &m, &d, &pos) != 3 || pos != 12 ||
        !rw_civil_valid(y, m, d, 0, 0, 0))
        return -1;
    const char *t = name + 12;
    *gen = 0;
    if (strncmp(t, ".g", 2) == 0) {
        char *e;
        unsigned long g = strtoul(t + 2, &e, 10);
        if (e == t + 2 || g == 0 || g > 999999 || t[2] == '0')
            return -1;
        *gen = (unsigned)g;
        t = e;
    }
    static const char *const suffix[4] = {".mdb", ".mdb-lock", ".mdb.tmp", ".mdb.tmp-lock"};
    for (int k = 0; k < 4; k++)
        if (strcmp(t, suffix[k]) == 0) {
            *kind = k;
            *day = (int32_t)rw_days_from_civil(y, m, d);
            return 0;
        }
    return -1;
}

int part_path_gen(const char *dir, int32_t day, unsigned gen, char *out, size_t cap)
{
    int y;
    unsigned m, d;
    char g[16] = "";
    rw_civil_from_days(day, &y, &m, &d);
    if (gen)
        snprintf(g, sizeof g, ".g%u", gen);
    int n = snprintf(out, cap, "%s/day-%04d%02u%02u%s.mdb", dir, y, m, d, g);
    return n > 0 && (size_t)n < cap ? 0 : RW_E_NOSPACE;
}

long part_gen(const char *dir, int32_t day)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -errno;
    long best = -ENOENT;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        int32_t d;
        unsigned g;
        int kind;
        if (part_name_parse(e->d_name, &d, &g, &kind) == 0 && d == day && kind == 0 &&
            (long)g > best)
            best = (long)g;
    }
    closedir(dp);
    return best;
}

/* The newest generation of the day (generation 0's name when the day has no file yet). */
int part_path(const struct store *st, int32_t day, char *out, size_t cap)
{
    long g = part_gen(st->dir, day);
    return part_path_gen(st->dir, day, g > 0 ? (unsigned)g : 0, out, cap);
}

long part_unlink_day(const char *dir, int32_t day, long keep_gen)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -errno;
    long n = 0;
    struct dirent *e;
    char path[4400];
    while ((e = readdir(dp)) != NULL) {
        int32_t d;
        unsigned g;
        int kind;
        if (part_name_parse(e->d_name, &d, &g, &kind) != 0 || d != day ||
            ((long)g == keep_gen && kind < 2))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0 && kind == 0)
            n++;
    }
    closedir(dp);
    return n;
}

/* Opens (or creates) the databases of a day and checks its format version. */
static int part_dbis(struct store *st, struct store_part *p)
{
    MDB_txn *txn;
    unsigned tf = st->rdonly ? MDB_RDONLY : 0;
    int rc = mdb_txn_begin(p->env, NULL, tf, &txn);
    if (rc)
        return store_mdb_err(rc);
    p->absent = 0;
    for (int i = 0; i < DDB_N && !rc; i++) {
        rc = mdb_dbi_open(txn, ddb_names[i], st->rdonly ? 0 : MDB_CREATE, &p->dbi[i]);
        if (rc == MDB_NOTFOUND && (i == DDB_RAWT || i == DDB_RAWV || i == DDB_JRN)) {
            p->absent |= 1u << i; /* read-only open of a day of the other format */
            rc = 0;
        }
    }
    MDB_val k = {6, (void *)"format"}, v;
    if (!rc && (rc = mdb_get(txn, p->dbi[DDB_INFO], &k, &v)) == MDB_NOTFOUND && !st->rdonly) {
        uint8_t fv[4] = {0, 0, 0, STORE_FORMAT_VERSION};
        v.mv_size = 4;
        v.mv_data = fv;
        rc = mdb_put(txn, p->dbi[DDB_INFO], &k, &v, 0);
    } else if (!rc) {
        uint32_t f = v.mv_size == 4 ? (uint32_t)((uint8_t *)v.mv_data)[3] : 0xffu;
        if (f < STORE_FORMAT_OLDEST || f > STORE_FORMAT_VERSION) {
            LOG(LOG_ERR, "store", "day %d has format %u; this build reads formats %u-%u",
                p->day, f, STORE_FORMAT_OLDEST, STORE_FORMAT_VERSION);
            rc = -1;
        } else if (f < STORE_FORMAT_VERSION && !st->rdonly) {
            uint8_t fv[4] = {0, 0, 0, STORE_FORMAT_VERSION};
            MDB_val nv = {4, fv};
            rc = mdb_put(txn, p->dbi[DDB_INFO], &k, &nv, 0);
        }
    }
    if (!rc && !st->rdonly)
        rc = rawt_mark_since(txn, p);
    if (rc) {
        mdb_txn_abort(txn);
        return rc == -1 ? RW_E_UNSUPPORTED : store_mdb_err(rc);
    }
    /* Commit even read-only: only a committed txn keeps its DBI handles (see meta_open). */
    rc = mdb_txn_commit(txn);
    return store_mdb_err(rc);
}

static int part_open_env(struct store *st, struct store_part *p, int32_t day, int create)
{
    char path[4096];
    struct stat sb;
    int rc = part_path(st, day, path, sizeof path);
    if (rc)
        return rc;
    if (!create && stat(path, &sb) != 0)
        return -ENOENT;
    p->day = day;
    p->map_size = st->cfg.day_map_initial;
    if (stat(path, &sb) == 0 && (uint64_t)sb.st_size > p->map_size)
        p->map_size = (uint64_t)sb.st_size;
    rc = store_env_open(&p->env, path, DDB_N + 1, p->map_size,
                        (st->rdonly ? MDB_RDONLY : 0) | st->cfg.extra_mdb_flags);
    if (!rc) {
        MDB_envinfo info;
        mdb_env_info(p->env, &info);
        p->map_size = info.me_mapsize;
        int dead = 0;
        mdb_reader_check(p->env, &dead);
        rc = part_dbis(st, p);
    }
    if (rc) {
        if (p->env)
            mdb_env_close(p->env);
        p->env = NULL;
        p->day = -1;
    }
    return rc;
}

void part_close_slot(struct store_part *p)
{
    if (p->env)
        mdb_env_close(p->env);
    p->env = NULL;
    p->day = -1;
    p->doomed = false;
    p->refs = 0;
}

static struct store_part *part_find(struct store *st, int32_t day)
{
    for (unsigned i = 0; i < st->n_parts; i++)
        if (st->parts[i].day == day)
            return &st->parts[i];
    return NULL;
}

/* A free slot, or the least recently used idle one (closed first). NULL: all busy. */
static struct store_part *part_victim(struct store *st)
{
    struct store_part *best = NULL;
    for (unsigned i = 0; i < st->n_parts; i++) {
        struct store_part *p = &st->parts[i];
        if (p->day == -1)
            return p;
        if (p->refs == 0 && !p->doomed && (!best || p->last_use < best->last_use))
            best = p;
    }
    if (best)
        part_close_slot(best);
    return best;
}

int part_get(struct store *st, int32_t day, int flags, struct store_part **out)
{
    int rc = 0;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        struct store_part *p = part_find(st, day);
        if (p && p->doomed) {
            pthread_cond_wait(&st->cv, &st->mu);
            continue;
        }
        if (!p) {
            p = part_victim(st);
            if (!p) {
                pthread_cond_wait(&st->cv, &st->mu);
                continue;
            }
            rc = part_open_env(st, p, day, flags & PART_CREATE);
            if (rc)
                break;
        }
        p->refs++;
        p->last_use = ++st->use_clock;
        *out = p;
        break;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void part_put(struct store *st, struct store_part *p)
{
    pthread_mutex_lock(&st->mu);
    ASSERT(p->refs > 0);
    if (--p->refs == 0 && p->doomed)
        part_close_slot(p);
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* After MDB_PANIC or an I/O error the environment must be closed and reopened: the slot
 * closes when its last holder lets go, and the next part_get() opens it afresh. */
void part_poison(struct store *st, struct store_part *p)
{
    pthread_mutex_lock(&st->mu);
    p->doomed = true;
    pthread_mutex_unlock(&st->mu);
}

int part_grow(struct store *st, struct store_part *p)
{
    int rc = 0;
    pthread_rwlock_wrlock(&p->rw);
    if (p->map_size >= st->cfg.day_map_max) {
        rc = RW_E_LIMIT;
    } else {
        uint64_t n = p->map_size * 2;
        if (n > st->cfg.day_map_max)
            n = st->cfg.day_map_max;
        rc = store_mdb_err(mdb_env_set_mapsize(p->env, n));
        if (!rc)
            p->map_size = n;
    }
    pthread_rwlock_unlock(&p->rw);
    if (!rc)
        STATS_ADD(st, map_grows, 1);
    return rc;
}

int part_rtxn(struct store_part *p, MDB_txn **txn)
{
    pthread_rwlock_rdlock(&p->rw);
    int rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, txn);
    if (rc) {
        pthread_rwlock_unlock(&p->rw);
        return store_mdb_err(rc);
    }
    return 0;
}

void part_rtxn_end(struct store_part *p, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&p->rw);
}

int part_read(struct store *st, int32_t day, struct store_part **p, MDB_txn **txn)
{
    int rc = part_get(st, day, 0, p);
    if (rc)
        return rc;
    if ((rc = part_rtxn(*p, txn)))
        part_put(st, *p);
    return rc;
}

void part_read_end(struct store *st, struct store_part *p, MDB_txn *txn)
{
    part_rtxn_end(p, txn);
    part_put(st, p);
}

/* Closes the day (waiting for its holders) and removes its files, every generation. */
int part_drop(struct store *st, int32_t day)
{
    pthread_mutex_lock(&st->mu);
    struct store_part *p;
    while ((p = part_find(st, day)) != NULL) {
        p->doomed = true;
        if (p->refs == 0) {
            part_close_slot(p);
            break;
        }
        pthread_cond_wait(&st->cv, &st->mu);
    }
    long n = part_unlink_day(st->dir, day, -1);
    int rc = n < 0 ? (int)n : n == 0 ? -ENOENT : 0;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void part_close_all(struct store *st)
{
    if (!st->parts)
        return;
    pthread_mutex_lock(&st->mu);
    for (unsigned i = 0; i < st->n_parts; i++)
        if (st->parts[i].day != -1)
            part_close_slot(&st->parts[i]);
    pthread_mutex_unlock(&st->mu);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

long part_list_days(const char *dir, int32_t *out, size_t max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int32_t day;
        unsigned g;
        int kind;
        if (part_name_parse(e->d_name, &day, &g, &kind) != 0 || kind != 0)
            continue;
        int seen = 0; /* a day with two generations (a compaction cut short) counts once */
        for (long i = 0; i < n && (size_t)i < max && !seen; i++)
            seen = out[i] == day;
        if (seen)
            continue;
        if ((size_t)n < max)
            out[n] = day;
        n++;
    }
    closedir(d);
    qsort(out, (size_t)n < max ? (size_t)n : max, sizeof *out, cmp_i32);
    return n;
}

long part_tidy(const char *dir)
{
    int32_t days[4096];
    long n = part_list_days(dir, days, 4096), removed = 0;
    for (long i = 0; i < n && i < 4096; i++) {
        long g = part_gen(dir, days[i]);
        if (g >= 0) {
            long r = part_unlink_day(dir, days[i], g);
            removed += r > 0 ? r : 0;
        }
    }
    return n < 0 ? n : removed;
}

long store_days(struct store *st, int32_t *out, size_t max)
{
    return part_list_days(st->dir, out, max);
}
