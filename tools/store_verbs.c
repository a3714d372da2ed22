/* store_verbs.c: the store's command-line verbs (store_verbs.h). Operator tools: they may
 * allocate and print freely. Writes go through a store opened for writing (the writer is
 * then this process: run them while `serve` is stopped, except backup and log, which open
 * the store read-only and are safe while ingest runs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "store/store.h"
#include "tools/store_verbs.h"
#include "tools/tool.h"

#define DEFAULT_DIR "./roadwatch-data/store"

static const char *opt_store(int *argc, char **argv)
{
    const char *dir = DEFAULT_DIR;
    for (int i = 1; i + 1 < *argc; i++)
        if (!strcmp(argv[i], "--store")) {
            dir = argv[i + 1];
            memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof *argv);
            *argc -= 2;
            break;
        }
    return dir;
}

static struct store *open_store(const char *dir, int rdonly)
{
    struct store *st;
    struct store_config c;
    store_config_default(&c);
    c.dir = dir;
    c.maint_interval_ms = 0;
    c.pool_batches = 1;
    c.open_parts = 4;
    int rc = store_create(&st);
    if (!rc && !(rc = store_set_config(st, &c)))
        rc = rdonly ? store_open_rdonly(st) : store_open(st);
    if (rc) {
        fprintf(stderr, "store %s: %s\n", dir, err_str(rc));
        store_close(st);
        return NULL;
    }
    return st;
}

static int parse_time(const char *s, int64_t *out)
{
    int y;
    unsigned mo, d, h = 0, mi = 0, se = 0;
    char *end;
    if (sscanf(s, "%d-%u-%uT%u:%u:%u", &y, &mo, &d, &h, &mi, &se) >= 3) {
        if (!rw_civil_valid(y, mo, d, h, mi, se))
            return -1;
        *out = rw_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - 8 * 3600;
        return 0;
    }
    *out = strtoll(s, &end, 10);
    return *end ? -1 : 0;
}

static int log_cb(const struct store_raw *r, void *ctx)
{
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "time_ms", json_integer(r->recv_time_ms));
    json_object_set_new(o, "dir", json_string(r->dir == STORE_DIR_IN ? "in" : "out"));
    json_object_set_new(o, "proto", json_integer(r->proto == STORE_PROTO_808 ? 808 : 809));
    json_object_set_new(o, "conn", json_integer((json_int_t)r->conn_id));
    json_object_set_new(o, "vehicle", json_integer(r->vehicle_id));
    char peer[64] = "";
    if (r->peer_len == 4)
        snprintf(peer, sizeof peer, "%u.%u.%u.%u:%u", r->peer[0], r->peer[1], r->peer[2],
                 r->peer[3], r->peer_port);
    json_object_set_new(o, "peer", json_string(peer));
    json_object_set_new(o, "hex", json_hex(r->frame));
    static uint8_t un[65536];
    struct jt808_msg m;
    if (r->proto == STORE_PROTO_808 && r->frame.len > 2 && r->frame.p[0] == 0x7e) {
        int n = jt808_unescape(r->frame.p + 1, r->frame.len - 2, un, sizeof un);
        if (n > 0 && jt808_frame_parse(un, (size_t)n, &m) == 0)
            json_object_set_new(o, "msg", json808_msg(&m));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    if (s)
        puts(s);
    free(s);
    json_decref(o);
    return 0;
}

int store_verb_log_main(int argc, char **argv)
{
    const char *dir = opt_store(&argc, argv);
    int64_t from = time(NULL) - 3600, to = time(NULL) + 60;
    unsigned long vid = 0, conn = 0;
    for (int i = 1; i < argc; i += 2) { /* options come in pairs: --name value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            puts("usage: roadwatch log [--store DIR] [--from T] [--to T] [--vehicle ID] "
                 "[--conn ID]\n  prints each stored frame as one JSON line, decoded");
            return 0;
        }
        if (!v || (!strcmp(a, "--from") && parse_time(v, &from)) ||
            (!strcmp(a, "--to") && parse_time(v, &to)))
            goto usage;
        if (!strcmp(a, "--vehicle"))
            vid = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--conn"))
            conn = strtoul(v, NULL, 10);
        else if (strcmp(a, "--from") && strcmp(a, "--to"))
            goto usage;
    }
    struct store *st = open_store(dir, 1);
    if (!st)
        return 1;
    int rc = store_raw_read(st, from * 1000, to * 1000, (uint32_t)vid, conn, log_cb, NULL);
    store_close(st);
    if (rc < 0)
        fprintf(stderr, "log: %s\n", err_str(rc));
    return rc < 0 ? 1 : 0;
usage:
    fprintf(stderr, "usage: roadwatch log [--store DIR] [--from T] [--to T] [--vehicle ID] "
                    "[--conn ID]\n");
    return 2;
}

int store_verb_backup_main(int argc, char **argv)
{
    const char *dir = opt_store(&argc, argv);
    if (argc == 3 && !strcmp(argv[1], "verify")) {
        long bad = store_backup_verify(argv[2]);
        printf("backup verify %s: %s (%ld problems)\n", argv[2], bad ? "FAILED" : "ok", bad);
        return bad ? 1 : 0;
    }
    if (argc != 3 || (strcmp(argv[1], "--full") && strcmp(argv[1], "--incremental"))) {
        fprintf(stderr, "usage: roadwatch backup [--store DIR] --full|--incremental BDIR\n"
                        "       roadwatch backup verify BDIR\n");
        return 2;
    }
    struct store *st = open_store(dir, 1);
    if (!st)
        return 1;
    int rc = store_backup(st, argv[2], !strcmp(argv[1], "--incremental"));
    store_close(st);
    if (rc < 0) {
        fprintf(stderr, "backup: %s\n", err_str(rc));
        return 1;
    }
    printf("backup: %d files written to %s\n", rc, argv[2]);
    return 0;
}

int store_verb_restore_main(int argc, char **argv)
{
    const char *dir = opt_store(&argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: roadwatch restore [--store DIR] BDIR\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = store_restore(argv[1], dir);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fprintf(stderr, "restore: %s\n", err_str(rc));
        return 1;
    }
    struct store *st = open_store(dir, 1);
    long bad = st ? store_verify(st) : 1;
    store_close(st);
    printf("restore: %s restored in %.2f s; integrity walk: %ld problems\n", dir,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, bad);
    return bad ? 1 : 0;
}

/* Reads a password from stdin (--password-stdin) or from the terminal without echo. */
static int read_password(int from_stdin, char *out, size_t cap)
{
    struct termios old, quiet;
    int tty = !from_stdin && isatty(STDIN_FILENO);
    if (tty) {
        fprintf(stderr, "password: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *r = fgets(out, (int)cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    if (!r)
        return -1;
    out[strcspn(out, "\r\n")] = 0;
    return out[0] ? 0 : -1;
}

static int user_print(const struct store_user *u, void *ctx)
{
    (void)ctx;
    printf("%-24s role=%u %s\n", u->name, u->role, u->locked ? "locked" : "active");
    return 0;
}

int store_verb_user_main(int argc, char **argv)
{
    const char *dir = opt_store(&argc, argv);
    int pw_stdin = 0, role = 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--password-stdin"))
            pw_stdin = 1;
        else if (!strcmp(argv[i], "--role") && i + 1 < argc)
            role = (int)strtol(argv[++i], NULL, 10);
    if (argc < 2 || (strcmp(argv[1], "list") && argc < 3)) {
        fprintf(stderr, "usage: roadwatch user add|passwd NAME [--role N] [--password-stdin]"
                        " | lock|unlock NAME | list\n");
        return 2;
    }
    struct store *st = open_store(dir, 0);
    if (!st)
        return 1;
    char pw[256];
    int rc;
    const char *verb = argv[1];
    if (!strcmp(verb, "list"))
        rc = store_user_foreach(st, user_print, NULL);
    else if (!strcmp(verb, "lock") || !strcmp(verb, "unlock"))
        rc = store_user_lock(st, argv[2], !strcmp(verb, "lock"));
    else if ((!strcmp(verb, "add") || !strcmp(verb, "passwd")))
        rc = read_password(pw_stdin, pw, sizeof pw) ? RW_E_FIELD
             : !strcmp(verb, "add") ? store_user_add(st, argv[2], pw, (uint8_t)role)
                                    : store_user_passwd(st, argv[2], pw);
    else
        rc = RW_E_SYNTAX;
    memset(pw, 0, sizeof pw);
    store_close(st);
    if (rc)
        fprintf(stderr, "user %s: %s\n", verb, err_str(rc));
    return rc ? 1 : 0;
}

int store_verb_import_main(int argc, char **argv)
{
    const char *dir = opt_store(&argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: roadwatch import [--store DIR] vehicles.csv\n"
                        "  header: plate,colour,phone,terminal_id,sim,enterprise_id,"
                        "industry,region,platform_id\n");
        return 2;
    }
    struct store *st = open_store(dir, 0);
    if (!st)
        return 1;
    char err[256];
    long n = store_vehicle_import_csv(st, argv[1], err, sizeof err);
    store_close(st);
    if (n < 0) {
        fprintf(stderr, "import: %s\n", err[0] ? err : err_str((int)n));
        return 1;
    }
    printf("import: %ld vehicles\n", n);
    return 0;
}
