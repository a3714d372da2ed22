/* store_verbs.c: the store's command-line verbs (store_verbs.h). Operator tools: they may
 * allocate and print freely. Writes go through a store opened for writing (the writer is
 * then this process: run them while `serve` is stopped, except backup and log, which open
 * the store read-only and are safe while ingest runs).
 *
 * Exit status of every verb: 0 done, 1 the operation failed (the reason is on stderr),
 * 2 usage error (the usage text is on stderr); --help prints the usage on stdout, 0. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "store/store.h"
#include "tools/store_verbs.h"
#include "tools/tool.h"

/* The engine's default data_dir (engine/cfg/cfg.c, config/engine.conf): the store lives
 * directly in it, so `roadwatch serve` then `roadwatch log` agree without options. */
#define DEFAULT_DIR "./roadwatch-data"

/* ─── Options ─── */

/* One option of a verb: "--name VALUE" when <val> is set, a flag when <flag> is set. */
struct vopt {
    const char *name;
    const char **val;
    int *flag;
};

enum { ARGS_OK = 0, ARGS_HELP = 1, ARGS_BAD = -1 };

/* Splits argv[1..] into the options of <opts> (anywhere on the line) and up to <maxpos>
 * positional arguments (a lone "--" ends the options). Unknown options, a missing value or
 * too many positionals print "roadwatch VERB: reason" on stderr and return ARGS_BAD;
 * --help / -h returns ARGS_HELP. */
static int args_parse(int argc, char **argv, const struct vopt *opts, const char **pos,
                      int maxpos, int *npos)
{
    int only_pos = 0;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && (!strcmp(a, "--help") || !strcmp(a, "-h")))
            return ARGS_HELP;
        if (!only_pos && !strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == 0) {
            if (*npos >= maxpos) {
                fprintf(stderr, "roadwatch %s: unexpected argument '%s'\n", argv[0], a);
                return ARGS_BAD;
            }
            pos[(*npos)++] = a;
            continue;
        }
        const struct vopt *o = opts;
        while (o->name && strcmp(o->name, a))
            o++;
        if (!o->name) {
            fprintf(stderr, "roadwatch %s: unknown option '%s'\n", argv[0], a);
            return ARGS_BAD;
        }
        if (o->flag) {
            *o->flag = 1;
        } else if (i + 1 >= argc) {
            fprintf(stderr, "roadwatch %s: %s needs a value\n", argv[0], a);
            return ARGS_BAD;
        } else {
            *o->val = argv[++i];
        }
    }
    return ARGS_OK;
}

/* Prints <usage> for ARGS_HELP (stdout, 0) or ARGS_BAD (stderr, 2). */
static int args_usage(int how, const char *usage)
{
    fputs(usage, how == ARGS_HELP ? stdout : stderr);
    return how == ARGS_HELP ? 0 : 2;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* UTC seconds, or "YYYY-MM-DD[Thh:mm[:ss]]" in GMT+8. */
static int parse_time(const char *s, int64_t *out)
{
    int y, n = 0, k = 0;
    unsigned mo, d, h = 0, mi = 0, se = 0;
    if (sscanf(s, "%4d-%2u-%2u%n", &y, &mo, &d, &n) == 3) {
        const char *p = s + n;
        if (*p == 'T') {
            if (sscanf(p, "T%2u:%2u%n", &h, &mi, &k) != 2)
                return -1;
            p += k;
            k = 0;
            if (*p == ':' && sscanf(p, ":%2u%n", &se, &k) != 1)
                return -1;
            p += k;
        }
        if (*p || !rw_civil_valid(y, mo, d, h, mi, se))
            return -1;
        *out = rw_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - 8 * 3600;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
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

/* ─── log ─── */

static const char log_usage[] =
    "usage: roadwatch log [--store DIR] [--from T] [--to T] [--vehicle ID] [--conn ID]\n"
    "  Prints every stored raw frame (both directions, JT/T 808 and 809) with\n"
    "  from <= receive time < to as one JSON line: time, dir, proto, conn, vehicle, peer,\n"
    "  hex (the unescaped frame content) and msg (the decoded frame).\n"
    "  --store DIR    store directory (the engine's data_dir), default " DEFAULT_DIR "\n"
    "  --from T       default: one hour ago;  --to T  default: one minute from now\n"
    "                 T is UTC seconds or YYYY-MM-DDThh:mm:ss in GMT+8\n"
    "  --vehicle ID   only frames of this vehicle (internal id)\n"
    "  --conn ID      only frames of this engine connection\n";

static json_t *log_time(int64_t ms)
{
    int64_t local = ms + 8 * 3600 * 1000LL;
    int64_t days = local >= 0 ? local / 86400000 : (local - 86399999) / 86400000;
    int64_t msd = local - days * 86400000;
    int y;
    unsigned mo, d;
    rw_civil_from_days(days, &y, &mo, &d);
    char buf[48];
    snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03d+08:00", y, mo, d,
             (int)(msd / 3600000), (int)(msd / 60000 % 60), (int)(msd / 1000 % 60),
             (int)(msd % 1000));
    return json_string(buf);
}

static json_t *log_peer(const struct store_raw *r)
{
    char peer[80] = "";
    if (r->peer_len == 4) {
        snprintf(peer, sizeof peer, "%u.%u.%u.%u:%u", r->peer[0], r->peer[1], r->peer[2],
                 r->peer[3], r->peer_port);
    } else if (r->peer_len == 16) {
        size_t n = 0;
        peer[n++] = '[';
        for (int i = 0; i < 16; i += 2)
            n += (size_t)snprintf(peer + n, sizeof peer - n, "%s%x", i ? ":" : "",
                                  r->peer[i] << 8 | r->peer[i + 1]);
        snprintf(peer + n, sizeof peer - n, "]:%u", r->peer_port);
    }
    return json_string(peer);
}

static void log_error(json_t *o, int rc)
{
    json_object_set_new(o, "error", json_string(err_name(rc)));
    json_object_set_new(o, "message", json_string(err_str(rc)));
}

/* The engine logs JT/T 808 frames as unescaped content (header, body, check code; no
 * flags): decode it as the terminal or the engine meant it. */
static void log_808(json_t *o, struct rw_bytes f)
{
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    int rc = jt808_frame_parse(f.p, f.len, &m);
    if (rc < 0 && m.h.msg_id == 0 && m.h.hdr_len == 0) {
        log_error(o, rc);
        return;
    }
    json_t *j = json808_msg(&m);
    if (rc < 0) {
        json_object_del(j, "body");
        log_error(j, rc);
    }
    json_object_set_new(o, "msg", j);
}

/* JT/T 809 frames are logged as unescaped content too (jt809.h: header, body, CRC).
 * The parse decrypts in place, so it works on a copy. No keys: an encrypted body (as
 * received) shows its header and the error "encrypted". */
static void log_809(json_t *o, struct rw_bytes f)
{
    static uint8_t buf[JT809_CONTENT_MAX];
    const struct jt809_peer peer = {.edition = JT809_ED_AUTO, .has_keys = 0};
    struct jt809_msg m;
    if (f.len > sizeof buf) {
        log_error(o, RW_E_TOOLONG);
        return;
    }
    memcpy(buf, f.p, f.len);
    int rc = jt809_frame_parse(buf, f.len, &peer, &m);
    if (rc < 0 && m.h.hdr_len == 0) {
        log_error(o, rc);
        return;
    }
    json_t *j = json809_msg(&m);
    if (rc < 0 && rc != RW_E_UNSUPPORTED)
        log_error(j, rc);
    json_object_set_new(o, "msg", j);
}

static int log_cb(const struct store_raw *r, void *ctx)
{
    long *lines = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "time", log_time(r->recv_time_ms));
    json_object_set_new(o, "time_ms", json_integer(r->recv_time_ms));
    json_object_set_new(o, "dir", json_string(r->dir == STORE_DIR_IN ? "in" : "out"));
    json_object_set_new(o, "proto", json_integer(r->proto == STORE_PROTO_808 ? 808 : 809));
    json_object_set_new(o, "conn", json_integer((json_int_t)r->conn_id));
    json_object_set_new(o, "vehicle", json_integer(r->vehicle_id));
    json_object_set_new(o, "peer", log_peer(r));
    json_object_set_new(o, "hex", json_hex(r->frame));
    if (r->proto == STORE_PROTO_808)
        log_808(o, r->frame);
    else
        log_809(o, r->frame);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (!s)
        return -ENOMEM;
    puts(s);
    free(s);
    (*lines)++;
    return 0;
}

int store_verb_log_main(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *from_s = NULL, *to_s = NULL, *vid_s = NULL;
    const char *conn_s = NULL, *pos[1];
    const struct vopt opts[] = {{"--store", &dir, NULL}, {"--from", &from_s, NULL},
                                {"--to", &to_s, NULL},   {"--vehicle", &vid_s, NULL},
                                {"--conn", &conn_s, NULL}, {NULL, NULL, NULL}};
    int npos, a = args_parse(argc, argv, opts, pos, 0, &npos);
    if (a)
        return args_usage(a, log_usage);
    int64_t from = time(NULL) - 3600, to = time(NULL) + 60;
    uint64_t vid = 0, conn = 0;
    const char *bad = from_s && parse_time(from_s, &from) ? from_s
                      : to_s && parse_time(to_s, &to)     ? to_s
                      : vid_s && parse_u64(vid_s, UINT32_MAX, &vid) ? vid_s
                      : conn_s && parse_u64(conn_s, UINT64_MAX, &conn) ? conn_s
                                                                      : NULL;
    if (bad) {
        fprintf(stderr, "roadwatch log: bad value '%s'\n", bad);
        return args_usage(ARGS_BAD, log_usage);
    }
    struct store *st = open_store(dir, 1);
    if (!st)
        return 1;
    long lines = 0;
    int rc = store_raw_read(st, from * 1000, to * 1000, (uint32_t)vid, conn, log_cb, &lines);
    store_close(st);
    if (fflush(stdout) && !rc)
        rc = -errno;
    if (rc < 0)
        fprintf(stderr, "log: %s\n", err_str(rc));
    return rc < 0 ? 1 : 0;
}

/* ─── backup, restore ─── */

static const char backup_usage[] =
    "usage: roadwatch backup [--store DIR] --full BDIR\n"
    "       roadwatch backup [--store DIR] --incremental BDIR\n"
    "       roadwatch backup verify BDIR\n"
    "  --full BDIR          compacting copy of meta and every day into a new set in BDIR\n"
    "  --incremental BDIR   meta and the days changed since the last backup into BDIR\n"
    "                       (needs a full backup in BDIR first)\n"
    "  verify BDIR          checksums and integrity walk of every set in BDIR\n"
    "  --store DIR          store directory (the engine's data_dir), default " DEFAULT_DIR "\n"
    "  Safe while the engine runs (read-only). The key file (secret.key) is not backed up.\n";

static int backup_verify(const char *bdir)
{
    struct stat sb;
    int e = stat(bdir, &sb) ? errno : 0;
    if (e || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "backup verify: %s: %s\n", bdir, e ? strerror(e) : "not a directory");
        return 1;
    }
    long bad = store_backup_verify(bdir);
    if (bad) {
        fprintf(stderr, "backup verify %s: FAILED: %ld problem%s (see above; a set without "
                        "a MANIFEST or a directory without sets counts as one)\n",
                bdir, bad, bad == 1 ? "" : "s");
        return 1;
    }
    printf("backup verify %s: ok\n", bdir);
    return 0;
}

int store_verb_backup_main(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *full = NULL, *incr = NULL, *pos[2];
    const struct vopt opts[] = {{"--store", &dir, NULL}, {"--full", &full, NULL},
                                {"--incremental", &incr, NULL}, {NULL, NULL, NULL}};
    int npos, a = args_parse(argc, argv, opts, pos, 2, &npos);
    if (a)
        return args_usage(a, backup_usage);
    if (npos == 2 && !strcmp(pos[0], "verify") && !full && !incr)
        return backup_verify(pos[1]);
    if (npos != 0 || !full == !incr) {
        fprintf(stderr, "roadwatch backup: give one of --full BDIR, --incremental BDIR or "
                        "verify BDIR\n");
        return args_usage(ARGS_BAD, backup_usage);
    }
    const char *bdir = full ? full : incr;
    struct store *st = open_store(dir, 1);
    if (!st)
        return 1;
    int rc = store_backup(st, bdir, incr != NULL);
    store_close(st);
    if (rc == RW_E_STATE && incr) {
        fprintf(stderr, "backup: %s holds no full backup: run backup --full first\n", bdir);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "backup: %s: %s\n", bdir, err_str(rc));
        return 1;
    }
    printf("backup: %d files written to %s\n", rc, bdir);
    return 0;
}

static const char restore_usage[] =
    "usage: roadwatch restore [--store DIR] BDIR\n"
    "  Verifies the backup BDIR, then copies its newest full set and every later\n"
    "  incremental set into DIR, which must be empty or absent, and walks the result.\n"
    "  --store DIR   store directory to create, default " DEFAULT_DIR "\n"
    "  Restore the key file (secret.key) separately.\n";

/* 1 when <dir> exists and holds anything, 0 when it is empty or absent, -errno. */
static int dir_nonempty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int any = 0;
    while (!any && (e = readdir(d)) != NULL)
        any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

int store_verb_restore_main(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *pos[1];
    const struct vopt opts[] = {{"--store", &dir, NULL}, {NULL, NULL, NULL}};
    int npos, a = args_parse(argc, argv, opts, pos, 1, &npos);
    if (a || npos != 1)
        return args_usage(a ? a : ARGS_BAD, restore_usage);
    int ne = dir_nonempty(dir);
    if (ne) {
        fprintf(stderr, "restore: %s: %s\n", dir,
                ne > 0 ? "directory is not empty; restore into an empty or new directory"
                       : strerror(-ne));
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = store_restore(pos[0], dir);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fprintf(stderr, "restore: %s: %s\n", pos[0],
                rc == RW_E_CHECK ? "backup verification failed (see above); nothing restored"
                : rc == -ENOENT  ? "no full backup set found"
                                 : err_str(rc));
        return 1;
    }
    struct store *st = open_store(dir, 1);
    long bad = st ? store_verify(st) : 1;
    store_close(st);
    printf("restore: %s restored in %.2f s; integrity walk: %ld problems\n", dir,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, bad);
    return bad ? 1 : 0;
}

/* ─── user ─── */

static const char user_usage[] =
    "usage: roadwatch user [--store DIR] add NAME [--role N] [--password-stdin]\n"
    "       roadwatch user [--store DIR] passwd NAME [--password-stdin]\n"
    "       roadwatch user [--store DIR] lock|unlock NAME\n"
    "       roadwatch user [--store DIR] list\n"
    "  Accounts of the query API. Passwords are stored as Argon2id hashes only.\n"
    "  --password-stdin   read the password from the first line of stdin (else from the\n"
    "                     terminal, without echo)\n"
    "  --role N           role number 0..255, default 1\n"
    "  --store DIR        store directory (the engine's data_dir), default " DEFAULT_DIR "\n"
    "  Run while the engine is stopped (it opens the store for writing).\n";

/* Reads a password from stdin (--password-stdin) or from the terminal without echo. */
static int read_password(int from_stdin, char *out, size_t cap)
{
    struct termios old, quiet;
    int tty = !from_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "password: ");
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

static int user_run(struct store *st, const char *verb, const char *name, int pw_stdin,
                    uint8_t role)
{
    char pw[256];
    int rc;
    if (!strcmp(verb, "list"))
        return store_user_foreach(st, user_print, NULL);
    if (!strcmp(verb, "lock") || !strcmp(verb, "unlock"))
        return store_user_lock(st, name, !strcmp(verb, "lock"));
    if (read_password(pw_stdin, pw, sizeof pw)) {
        fprintf(stderr, "user %s: no password given (empty line or end of input)\n", verb);
        return RW_E_FIELD;
    }
    rc = !strcmp(verb, "add") ? store_user_add(st, name, pw, role)
                              : store_user_passwd(st, name, pw);
    memset(pw, 0, sizeof pw);
    return rc;
}

int store_verb_user_main(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *role_s = NULL, *pos[2];
    int pw_stdin = 0;
    const struct vopt opts[] = {{"--store", &dir, NULL}, {"--role", &role_s, NULL},
                                {"--password-stdin", NULL, &pw_stdin}, {NULL, NULL, NULL}};
    int npos, a = args_parse(argc, argv, opts, pos, 2, &npos);
    if (a)
        return args_usage(a, user_usage);
    uint64_t role = 1;
    const char *verb = npos ? pos[0] : "";
    int named = !strcmp(verb, "add") || !strcmp(verb, "passwd") || !strcmp(verb, "lock") ||
                !strcmp(verb, "unlock");
    if (!(named && npos == 2) && !(!strcmp(verb, "list") && npos == 1)) {
        fprintf(stderr, "roadwatch user: %s\n", !npos ? "missing subcommand"
                                                : named ? "missing NAME"
                                                : !strcmp(verb, "list") ? "list takes no NAME"
                                                : "unknown subcommand");
        return args_usage(ARGS_BAD, user_usage);
    }
    if (role_s && (strcmp(verb, "add") || parse_u64(role_s, 255, &role))) {
        fprintf(stderr, "roadwatch user: --role takes 0..255 and only goes with add\n");
        return args_usage(ARGS_BAD, user_usage);
    }
    if (named && (strlen(pos[1]) == 0 || strlen(pos[1]) >= 64)) {
        fprintf(stderr, "roadwatch user: NAME must be 1..63 bytes\n");
        return args_usage(ARGS_BAD, user_usage);
    }
    struct store *st = open_store(dir, !strcmp(verb, "list")); /* list never creates one */
    if (!st)
        return 1;
    int rc = user_run(st, verb, named ? pos[1] : NULL, pw_stdin, (uint8_t)role);
    store_close(st);
    if (rc)
        fprintf(stderr, "user %s%s%s: %s\n", verb, named ? " " : "", named ? pos[1] : "",
                rc == -ENOENT ? "no such user"
                : rc == RW_E_DUPLICATE ? "user exists already"
                                       : err_str(rc));
    return rc ? 1 : 0;
}

/* ─── import ─── */

static const char import_usage[] =
    "usage: roadwatch import [--store DIR] FILE.csv\n"
    "  Imports (adds or updates, by plate and colour) the vehicle registry from a CSV file\n"
    "  with a header line, then one vehicle a line (plate in UTF-8):\n"
    "    plate,colour,phone,terminal_id,sim,enterprise_id,industry,region,platform_id\n"
    "  One transaction: a bad line is reported as \"line N: reason\" and nothing is imported.\n"
    "  --store DIR   store directory (the engine's data_dir), default " DEFAULT_DIR "\n"
    "  Run while the engine is stopped (it opens the store for writing).\n";

int store_verb_import_main(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *pos[1];
    const struct vopt opts[] = {{"--store", &dir, NULL}, {NULL, NULL, NULL}};
    int npos, a = args_parse(argc, argv, opts, pos, 1, &npos);
    if (a || npos != 1) {
        if (!a)
            fprintf(stderr, "roadwatch import: missing FILE.csv\n");
        return args_usage(a ? a : ARGS_BAD, import_usage);
    }
    if (access(pos[0], R_OK)) {
        fprintf(stderr, "import: %s: %s\n", pos[0], strerror(errno));
        return 1;
    }
    struct store *st = open_store(dir, 0);
    if (!st)
        return 1;
    char err[256];
    long n = store_vehicle_import_csv(st, pos[0], err, sizeof err);
    store_close(st);
    if (n < 0) {
        fprintf(stderr, "import: %s: %s; nothing imported\n", pos[0],
                err[0] ? err : err_str((int)n));
        return 1;
    }
    printf("import: %ld vehicles\n", n);
    return 0;
}
