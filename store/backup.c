/* backup.c: backups while ingest runs, their verification, and restore.
 *
 * Layout of a backup directory DIR:
 *   DIR/NNNN-full/ or DIR/NNNN-incr/   one set per run: meta.mdb and day-YYYYMMDD.mdb files
 *                                      (compacting copies, mdb_env_copy2 MDB_CP_COMPACT, each
 *                                      from one read snapshot) and MANIFEST
 *   MANIFEST (in each set)             "file bytes blake2b-256-hex" per line
 *   DIR/STATE                          "day last_txnid" per day copied so far (incremental)
 * Restore takes the newest full set and every incremental after it, in order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "store/store_int.h"

/* Paths are built in 4 KiB buffers (PATH_MAX); a longer one fails to open, never overflows. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define SETS_MAX 4096

static int file_hash(const char *path, char hex[65], uint64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    static __thread uint8_t buf[1 << 16];
    ssize_t n;
    *bytes = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        crypto_generichash_update(&h, buf, (size_t)n);
        *bytes += (uint64_t)n;
    }
    close(fd);
    uint8_t out[32];
    crypto_generichash_final(&h, out, 32);
    sodium_bin2hex(hex, 65, out, 32);
    return n < 0 ? -EIO : 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Lists the backup sets of <dir> in order ("0001-full", ...). */
static int sets_list(const char *dir, char (*names)[32], int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        unsigned num;
        char kind[8];
        if (sscanf(e->d_name, "%4u-%4s", &num, kind) == 2 &&
            (!strcmp(kind, "full") || !strcmp(kind, "incr")) && strlen(e->d_name) == 9)
            snprintf(names[n++], 32, "%s", e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, 32, name_cmp);
    return n;
}

struct bstate { int32_t day[4096]; uint64_t txn[4096]; int n; };

static void state_load(const char *dir, struct bstate *s)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/STATE", dir);
    FILE *f = fopen(p, "r");
    s->n = 0;
    while (f && s->n < 4096 && fscanf(f, "%d %lu", &s->day[s->n],
                                      (unsigned long *)&s->txn[s->n]) == 2)
        s->n++;
    if (f)
        fclose(f);
}

static uint64_t state_get(const struct bstate *s, int32_t day)
{
    for (int i = 0; i < s->n; i++)
        if (s->day[i] == day)
            return s->txn[i];
    return 0;
}

static int state_save(const char *dir, const struct bstate *s)
{
    char p[4200], t[4210];
    snprintf(p, sizeof p, "%s/STATE", dir);
    snprintf(t, sizeof t, "%s.tmp", p);
    FILE *f = fopen(t, "w");
    if (!f)
        return -errno;
    for (int i = 0; i < s->n; i++)
        fprintf(f, "%d %lu\n", s->day[i], (unsigned long)s->txn[i]);
    int rc = (fflush(f) == 0 && fsync(fileno(f)) == 0) ? 0 : -EIO;
    fclose(f);
    return rc ? rc : rename(t, p) ? -errno : 0;
}

static int copy_env(MDB_env *env, const char *set, const char *name, FILE *man)
{
    char p[4200], hex[65];
    uint64_t bytes;
    snprintf(p, sizeof p, "%s/%s", set, name);
    int rc = store_mdb_err(mdb_env_copy2(env, p, MDB_CP_COMPACT));
    if (!rc && !(rc = file_hash(p, hex, &bytes)))
        fprintf(man, "%s %lu %s\n", name, (unsigned long)bytes, hex);
    return rc;
}

/* Copies one day when it changed since the last backup (or always for a full one). */
static int backup_day(struct store *st, int32_t day, const char *set, FILE *man,
                      struct bstate *s, int incremental)
{
    struct store_part *p;
    int rc = part_get(st, day, 0, &p);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    MDB_envinfo info;
    mdb_env_info(p->env, &info);
    uint64_t txn = info.me_last_txnid;
    int copied = 0;
    if (!incremental || state_get(s, day) != txn) {
        char name[64], path[4200];
        /* Generation 0's name whatever the generation (a restore starts them afresh). */
        part_path_gen(st->dir, day, 0, path, sizeof path);
        snprintf(name, sizeof name, "%s", strrchr(path, '/') + 1);
        pthread_rwlock_rdlock(&p->rw);
        rc = copy_env(p->env, set, name, man);
        pthread_rwlock_unlock(&p->rw);
        copied = 1;
    }
    part_put(st, p);
    if (!rc && copied) {
        int i = 0;
        while (i < s->n && s->day[i] != day)
            i++;
        if (i == s->n && s->n < 4096)
            s->n++;
        s->day[i] = day;
        s->txn[i] = txn;
    }
    return rc ? rc : copied;
}

static int backup_days(struct store *st, const char *set, FILE *man, struct bstate *s,
                       int incremental)
{
    int32_t days[1024];
    long nd = store_days(st, days, 1024);
    int files = 0;
    for (long i = 0; i < nd && i < 1024; i++) {
        int rc = backup_day(st, days[i], set, man, s, incremental);
        if (rc < 0)
            return rc;
        files += rc;
    }
    return files;
}

int store_backup(struct store *st, const char *dir, int incremental)
{
    static char names[SETS_MAX][32];
    if (mkdir(dir, 0750) && errno != EEXIST)
        return -errno;
    int ns = sets_list(dir, names, SETS_MAX);
    if (ns < 0)
        return ns;
    if (incremental && ns == 0)
        return RW_E_STATE; /* an incremental needs a full backup before it */
    char set[4200], p[4300];
    snprintf(set, sizeof set, "%s/%04d-%s", dir, ns + 1, incremental ? "incr" : "full");
    if (mkdir(set, 0750))
        return -errno;
    struct bstate *s = mem_calloc(1, sizeof *s);
    snprintf(p, sizeof p, "%s/MANIFEST", set);
    FILE *man = fopen(p, "w");
    if (!s || !man) {
        mem_free(s);
        return man ? (fclose(man), -ENOMEM) : -errno;
    }
    if (incremental)
        state_load(dir, s);
    pthread_rwlock_rdlock(&st->meta_rw);
    int rc = copy_env(st->meta, set, "meta.mdb", man);
    pthread_rwlock_unlock(&st->meta_rw);
    int files = rc ? rc : backup_days(st, set, man, s, incremental);
    if (fflush(man) || fsync(fileno(man)))
        files = files < 0 ? files : -EIO;
    fclose(man);
    if (files >= 0)
        rc = state_save(dir, s);
    mem_free(s);
    return files < 0 ? files : rc ? rc : files + 1;
}

/* Integrity walk of one backed-up file (opened read-only, without a lock file). */
static long verify_file(const char *path, int is_meta)
{
    MDB_env *env;
    if (mdb_env_create(&env))
        return 1;
    mdb_env_set_maxdbs(env, 32);
    int rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0);
    long bad = rc ? 1 : is_meta ? verify_meta_env(env) : verify_day_env(env, path);
    if (rc)
        LOG(LOG_ERR, "verify", "%s: %s", path, mdb_strerror(rc));
    mdb_env_close(env);
    return bad;
}

static long verify_set(const char *set)
{
    char p[4300], name[256], hex[65], want[65];
    unsigned long bytes;
    uint64_t got_bytes;
    long bad = 0, files = 0;
    snprintf(p, sizeof p, "%s/MANIFEST", set);
    FILE *f = fopen(p, "r");
    if (!f)
        return 1;
    while (fscanf(f, "%255s %lu %64s", name, &bytes, want) == 3) {
        snprintf(p, sizeof p, "%s/%s", set, name);
        files++;
        if (file_hash(p, hex, &got_bytes) || got_bytes != bytes || strcmp(hex, want)) {
            LOG(LOG_ERR, "verify", "%s: checksum or size mismatch", p);
            bad++;
            continue;
        }
        bad += verify_file(p, !strcmp(name, "meta.mdb"));
    }
    fclose(f);
    return files ? bad : bad + 1;
}

long store_backup_verify(const char *dir)
{
    static char names[SETS_MAX][32];
    if (sodium_init() < 0)
        return 1;
    int ns = sets_list(dir, names, SETS_MAX);
    if (ns <= 0)
        return 1;
    long bad = 0;
    char set[4200];
    for (int i = 0; i < ns; i++) {
        snprintf(set, sizeof set, "%s/%s", dir, names[i]);
        bad += verify_set(set);
    }
    return bad;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    if (in < 0)
        return -errno;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    static __thread uint8_t buf[1 << 20];
    ssize_t n;
    while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = -EIO;
            break;
        }
    if (out < 0 || fsync(out))
        rc = rc ? rc : -errno;
    close(in);
    if (out >= 0)
        close(out);
    return rc;
}

static int restore_set(const char *set, const char *store_dir)
{
    char p[4300], q[4300], name[256], hex[65];
    unsigned long bytes;
    snprintf(p, sizeof p, "%s/MANIFEST", set);
    FILE *f = fopen(p, "r");
    if (!f)
        return -errno;
    int rc = 0;
    while (!rc && fscanf(f, "%255s %lu %64s", name, &bytes, hex) == 3) {
        snprintf(p, sizeof p, "%s/%s", set, name);
        snprintf(q, sizeof q, "%s/%s", store_dir, name);
        rc = copy_file(p, q);
    }
    fclose(f);
    return rc;
}

int store_restore(const char *bdir, const char *store_dir)
{
    static char names[SETS_MAX][32];
    char p[4300];
    struct stat sb;
    snprintf(p, sizeof p, "%s/meta.mdb", store_dir);
    if (stat(p, &sb) == 0) {
        LOG(LOG_ERR, "store", "restore: %s already holds a store; restore into an empty "
                              "directory", store_dir);
        return RW_E_STATE;
    }
    if (store_backup_verify(bdir) != 0)
        return RW_E_CHECK;
    if (mkdir(store_dir, 0750) && errno != EEXIST)
        return -errno;
    int ns = sets_list(bdir, names, SETS_MAX), full = -1;
    for (int i = 0; i < ns; i++)
        if (strstr(names[i], "-full"))
            full = i;
    if (full < 0)
        return -ENOENT;
    int rc = 0;
    for (int i = full; i < ns && !rc; i++) {
        snprintf(p, sizeof p, "%s/%s", bdir, names[i]);
        rc = restore_set(p, store_dir);
    }
    return rc;
}
