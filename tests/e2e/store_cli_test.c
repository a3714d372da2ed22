/* store_cli_test.c: end-to-end tests of the store verbs of the real roadwatch binary
 * (path in $RW_BIN): import, user, log, backup, restore. Stores are real: written by a
 * real `roadwatch serve` playing JT/T 808 terminals (engine_harness.c), or by the store
 * API for the frames a test cannot make the engine produce (JT/T 809, IPv6 peers). The
 * test reads results back through the verbs and, read-only, through store/store.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "engine/proto/jt808.h"
#include "engine/proto/jt809.h"
#include "store/store.h"
#include "tests/e2e/engine/engine_harness.h"

#define PLATE_GBK "\xd4\xc1" "B12345" /* 粤B12345 */

static char tmp[128];         /* this test's scratch directory */
static char out[1 << 20];     /* stdout of the last run */
static char err[1 << 16];     /* stderr of the last run */
static struct eng eng;

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/rw-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    memset(&eng, 0, sizeof eng);
}

static void teardown(void)
{
    if (eng.dir[0])
        eng_cleanup(&eng);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
}

static const char *bin(void)
{
    const char *b = getenv("RW_BIN");
    cr_assert_not_null(b, "RW_BIN must point at the roadwatch binary");
    return b;
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

/* Runs "roadwatch <args>" through sh with <in> on stdin (NULL: /dev/null); returns the
 * exit status, with stdout in out[] and stderr in err[]. */
__attribute__((format(printf, 2, 3))) static int rw(const char *in, const char *fmt, ...)
{
    char args[4096], cmd[8192], inf[192], errf[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(inf, sizeof inf, "%s/.stdin", tmp);
    snprintf(errf, sizeof errf, "%s/.stderr", tmp);
    FILE *f = fopen(inf, "w");
    cr_assert_not_null(f);
    fputs(in ? in : "", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s <'%s' 2>'%s'", bin(), args, inf, errf);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    slurp(errf, err, sizeof err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* Reads a whole file into a malloc'ed buffer; *n gets its size. */
static uint8_t *file_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    cr_assert_not_null(b);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

static int file_has(const char *path, const char *needle)
{
    size_t n;
    uint8_t *b = file_bytes(path, &n);
    int found = memmem(b, n, needle, strlen(needle)) != NULL;
    free(b);
    return found;
}

static struct store *open_ro(const char *dir)
{
    struct store *st;
    cr_assert_eq(store_create(&st), 0);
    cr_assert_eq(store_set_dir(st, dir), 0);
    int rc = store_open_rdonly(st);
    cr_assert_eq(rc, 0, "store %s: %s", dir, err_str(rc));
    return st;
}

/* ─── JSON lines of `roadwatch log` ─── */

#define LINES_MAX 256
struct lines {
    int n;
    json_t *j[LINES_MAX];
};

static void lines_parse(const char *text, struct lines *l)
{
    l->n = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        json_error_t e;
        cr_assert_lt(l->n, LINES_MAX);
        l->j[l->n] = json_loadb(p, len, 0, &e);
        cr_assert_not_null(l->j[l->n], "line %d is not JSON (%s): %.*s", l->n + 1, e.text,
                           (int)len, p);
        l->n++;
        p += len + (p[len] == '\n');
    }
}

static void lines_free(struct lines *l)
{
    for (int i = 0; i < l->n; i++)
        json_decref(l->j[i]);
    l->n = 0;
}

static const char *jstr(const json_t *o, const char *path)
{
    char key[64];
    const char *dot = strchr(path, '.');
    if (dot) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        return jstr(json_object_get(o, key), dot + 1);
    }
    const char *s = json_string_value(json_object_get(o, path));
    return s ? s : "";
}

static long long jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "no integer member %s", key);
    return json_integer_value(v);
}

/* Counts lines with dir <dir> and decoded msg_id <id> (and ack_id <ack> when not NULL). */
static int count_msgs(const struct lines *l, const char *dir, const char *id, const char *ack)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += !strcmp(jstr(l->j[i], "dir"), dir) && !strcmp(jstr(l->j[i], "msg.msg_id"), id) &&
             (!ack || !strcmp(jstr(l->j[i], "msg.body.ack_id"), ack));
    return n;
}

/* "YYYY-MM-DDThh:mm:ss" of UTC second <utc> in GMT+8 (the verbs' and JSON's clock). */
static void gmt8(int64_t utc, char buf[32])
{
    int64_t local = utc + 8 * 3600, days = local / 86400, sod = local % 86400;
    int y;
    unsigned mo, d;
    rw_civil_from_days(days, &y, &mo, &d);
    snprintf(buf, 32, "%04d-%02u-%02uT%02d:%02d:%02d", y, mo, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60));
}

/* ─── A store written by a real engine ─── */

#define PHONE "13800000042"

static struct term term;
static uint8_t acked[65536];

/* Sends <n> 0x0200 at <t0>, <t0> + 1, ... on the logged-in terminal; asserts every ack. */
static void send_reports(int64_t t0, int n, uint32_t k0)
{
    memset(acked, 0, sizeof acked);
    for (int i = 0; i < n; i++)
        term_report(&term, t0 + i, k0 + (uint32_t)i);
    int got = term_collect_acks(&term, acked, n, harness_timeout_s() * 1000);
    cr_assert_eq(got, n, "%d of %d reports acknowledged", got, n);
}

/* Starts an engine, registers and authenticates one terminal (plate 粤B12345), sends <n>
 * reports at <t0>.., stops the engine with SIGTERM. */
static void engine_run(int64_t t0, int n)
{
    eng_start(&eng, NULL);
    term_open(&term, eng.port, 0, JT808_ED_2013, PHONE);
    term_login(&term, PLATE_GBK, 2);
    send_reports(t0, n, 0);
    term_close(&term);
    cr_assert_eq(eng_stop(&eng, SIGTERM), 0, "clean stop");
}

/* Restarts the engine on the same data, authenticates again with the code issued at
 * registration (kept in the store), sends <n> more reports, stops it. */
static void engine_more(int64_t t0, int n)
{
    char code[sizeof term.code];
    memcpy(code, term.code, sizeof code);
    eng_restart(&eng);
    term_open(&term, eng.port, 0, JT808_ED_2013, PHONE);
    memcpy(term.code, code, sizeof code);
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = JT808_MSG_0102_AUTH;
    m.u.auth.code = rw_str(term.code);
    uint16_t serial = term_send(&term, &m);
    struct jt808_msg a;
    cr_assert_eq(term_recv(&term, &a, harness_timeout_s() * 1000), 1, "no answer to 0x0102");
    cr_assert_eq(a.h.msg_id, JT808_MSG_8001_PLAT_RSP);
    cr_assert_eq(a.u.gen_rsp.ack_serial, serial);
    cr_assert_eq(a.u.gen_rsp.result, JT808_RES_OK, "re-auth result %u", a.u.gen_rsp.result);
    send_reports(t0, n, 1000);
    term_close(&term);
    cr_assert_eq(eng_stop(&eng, SIGTERM), 0, "clean stop");
}

static uint32_t vehicle_id(const char *dir)
{
    struct store *st = open_ro(dir);
    struct store_vehicle v;
    int rc = store_vehicle_by_phone(st, PHONE, &v);
    store_close(st);
    cr_assert_eq(rc, 0, "vehicle %s not registered: %s", PHONE, err_str(rc));
    return v.id;
}

/* ═══════════════════════════════ import ═══════════════════════════════ */

static const char csv_head[] =
    "plate,colour,phone,terminal_id,sim,enterprise_id,industry,region,platform_id\n";

Test(store_cli, import_good_file_utf8_plates_become_gbk, .init = setup, .fini = teardown)
{
    char csv[256], sdir[192], text[1024];
    snprintf(csv, sizeof csv, "%s/vehicles.csv", tmp);
    snprintf(sdir, sizeof sdir, "%s/store", tmp);
    snprintf(text, sizeof text,
             "%s粤B12345,2,013800000001,T1,89860012345678901234,7,4,440300,0\r\n"
             "# a comment\n\n"
             "京A00001,1,13800000002,T2,,0,1,110000,9\n",
             csv_head);
    write_file(csv, text);
    cr_assert_eq(rw(NULL, "import --store '%s' '%s'", sdir, csv), 0, "%s", err);
    cr_assert_not_null(strstr(out, "import: 2 vehicles"), "%s", out);

    struct store *st = open_ro(sdir);
    struct store_vehicle v;
    int rc = store_vehicle_by_plate(st, (const uint8_t *)PLATE_GBK, strlen(PLATE_GBK), 2, &v);
    cr_assert_eq(rc, 0, "粤B12345 is found by its GBK bytes: %s", err_str(rc));
    cr_assert_eq(v.plate_len, 8);
    cr_assert_eq(memcmp(v.plate, PLATE_GBK, 8), 0, "stored as GBK");
    cr_assert_str_eq(v.phone, "13800000001", "leading zero stripped");
    cr_assert_str_eq(v.terminal_id, "T1");
    cr_assert_str_eq(v.sim, "89860012345678901234");
    cr_assert_eq(v.enterprise_id, 7);
    cr_assert_eq(v.industry, STORE_IND_FREIGHT);
    cr_assert_eq(v.region, 440300);
    uint32_t id1 = v.id;
    rc = store_vehicle_by_plate(st, (const uint8_t *)"\xbe\xa9" "A00001", 8, 1, &v);
    cr_assert_eq(rc, 0, "京A00001 (GBK BE A9): %s", err_str(rc));
    cr_assert_str_eq(v.phone, "13800000002");
    cr_assert_eq(v.platform_id, 9);
    cr_assert_eq(store_vehicle_by_plate(st, (const uint8_t *)"粤B12345", strlen("粤B12345"),
                                        2, &v), -ENOENT, "not stored as UTF-8");
    store_close(st);

    /* importing again updates by plate + colour, no duplicates */
    snprintf(text, sizeof text, "%s粤B12345,2,13800000001,T9,,7,4,440300,0\n", csv_head);
    write_file(csv, text);
    cr_assert_eq(rw(NULL, "import --store '%s' '%s'", sdir, csv), 0, "%s", err);
    st = open_ro(sdir);
    cr_assert_eq(store_vehicle_by_phone(st, "13800000001", &v), 0);
    cr_assert_eq(v.id, id1, "same vehicle updated");
    cr_assert_str_eq(v.terminal_id, "T9");
    store_close(st);
}

Test(store_cli, import_bad_line_reports_line_and_imports_nothing, .init = setup,
     .fini = teardown)
{
    static const struct {
        const char *body;   /* lines after the header */
        const char *expect; /* in the error message */
    } bad[] = {
        {"粤B54321,2,13900000001,T1,,7,4,440300,0\n粤B54322,2,1390000000x,T1,,7,4,440300,0\n",
         "line 3: phone"},
        {"粤B54321,2,13900000001,T1,,7,4,440300\n", "line 2: too few fields"},
        {"粤B54321,2,13900000001,T1,,7,4,440300,0\n粤B54322,300,13900000002,T1,,7,4,0,0\n",
         "line 3: colour"},
        {"粤B54321,2,13900000001,T1,,7,4,440300,0\n粤B54322,2,13900000002,T1,,7,9,0,0\n",
         "line 3: industry"},
        {"粤B54321,2,13900000001,T1,,7,4,440300,0\n粤B54322,2,13900000001,T1,,7,4,0,0\n",
         "line 3: phone already belongs to another vehicle"},
        {",2,13900000001,T1,,7,4,440300,0\n", "line 2: plate"},
    };
    char csv[256], sdir[192], text[1024];
    snprintf(csv, sizeof csv, "%s/vehicles.csv", tmp);
    snprintf(sdir, sizeof sdir, "%s/store", tmp);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", csv_head, bad[i].body);
        write_file(csv, text);
        int rc = rw(NULL, "import --store '%s' '%s'", sdir, csv);
        cr_assert_eq(rc, 1, "case %zu: exit %d", i, rc);
        cr_assert_not_null(strstr(err, bad[i].expect), "case %zu: stderr: %s", i, err);
        cr_assert_not_null(strstr(err, "nothing imported"), "case %zu: %s", i, err);
        cr_assert_eq(out[0], 0, "case %zu: nothing on stdout: %s", i, out);
        struct store *st = open_ro(sdir);
        struct store_vehicle v;
        cr_assert_eq(store_vehicle_by_phone(st, "13900000001", &v), -ENOENT,
                     "case %zu: the good line before the bad one was not imported", i);
        store_close(st);
    }
    cr_assert_eq(rw(NULL, "import --store '%s' '%s/missing.csv'", sdir, tmp), 1);
    cr_assert_not_null(strstr(err, "No such file"), "%s", err);
}

/* ═══════════════════════════════ user ═══════════════════════════════ */

static int user_check(const char *sdir, const char *name, const char *pw)
{
    struct store *st = open_ro(sdir);
    int rc = store_user_check(st, name, pw);
    store_close(st);
    return rc;
}

Test(store_cli, user_add_passwd_lock_list, .init = setup, .fini = teardown)
{
    static const char pw1[] = "Tr1cky-Pass-1234", pw2[] = "An0ther-Secret-5678";
    char sdir[192], meta[256];
    snprintf(sdir, sizeof sdir, "%s/store", tmp);
    snprintf(meta, sizeof meta, "%s/meta.mdb", sdir);

    cr_assert_eq(rw("Tr1cky-Pass-1234\n", "user add alice --password-stdin --store '%s'", sdir),
                 0, "%s", err);
    cr_assert_eq(rw("x\n", "user --store '%s' add --role 3 --password-stdin bob", sdir), 0,
                 "options before the name: %s", err);
    cr_assert_eq(rw(NULL, "user list --store '%s'", sdir), 0, "%s", err);
    cr_assert_not_null(strstr(out, "alice"), "%s", out);
    cr_assert(strstr(out, "role=1 active"), "%s", out);
    cr_assert(strstr(out, "bob") && strstr(out, "role=3"), "%s", out);
    cr_assert_eq(user_check(sdir, "alice", pw1), 0, "alice logs in");
    cr_assert_eq(user_check(sdir, "alice", "wrong"), -EACCES);
    cr_assert(file_has(meta, "alice"), "the user record is in %s", meta);
    cr_assert(!file_has(meta, pw1), "password in clear in meta.mdb");

    cr_assert_eq(rw("An0ther-Secret-5678\n", "user passwd alice --password-stdin --store '%s'",
                    sdir), 0, "%s", err);
    cr_assert_eq(user_check(sdir, "alice", pw2), 0);
    cr_assert_eq(user_check(sdir, "alice", pw1), -EACCES, "old password no longer works");
    cr_assert(!file_has(meta, pw1) && !file_has(meta, pw2), "password in clear in meta.mdb");

    cr_assert_eq(rw(NULL, "user lock alice --store '%s'", sdir), 0, "%s", err);
    cr_assert_eq(user_check(sdir, "alice", pw2), RW_E_STATE, "locked");
    cr_assert_eq(rw(NULL, "user list --store '%s'", sdir), 0);
    cr_assert(strstr(out, "alice") && strstr(out, "locked"), "%s", out);
    cr_assert_eq(rw(NULL, "user unlock alice --store '%s'", sdir), 0, "%s", err);
    cr_assert_eq(user_check(sdir, "alice", pw2), 0, "unlocked");

    /* operating errors: exit 1 with a reason */
    cr_assert_eq(rw("x\n", "user add alice --password-stdin --store '%s'", sdir), 1);
    cr_assert_not_null(strstr(err, "exists"), "%s", err);
    cr_assert_eq(rw("x\n", "user passwd nobody --password-stdin --store '%s'", sdir), 1);
    cr_assert_not_null(strstr(err, "no such user"), "%s", err);
    cr_assert_eq(rw(NULL, "user add carol --password-stdin --store '%s'", sdir), 1);
    cr_assert_not_null(strstr(err, "no password"), "%s", err);

    /* usage errors: exit 2, usage on stderr, the store untouched */
    static const char *usage[] = {"", "add", "frob x", "add x --bogus", "add x --role",
                                  "add x --role 256", "list extra", "lock a b"};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        cr_assert_eq(rw("x\n", "user %s --store '%s'", usage[i], sdir), 2, "'user %s'",
                     usage[i]);
        cr_assert_not_null(strstr(err, "usage: roadwatch user"), "'user %s': %s", usage[i],
                           err);
    }
    cr_assert_eq(rw(NULL, "user list --store '%s'", sdir), 0);
    cr_assert_null(strstr(out, "carol"), "%s", out);
    cr_assert_null(strstr(out, "\nx "), "%s", out);
}

/* ═══════════════════════════════ log ═══════════════════════════════ */

Test(store_cli, log_engine_frames_by_time_and_vehicle, .init = setup, .fini = teardown,
     .timeout = 120)
{
    int64_t t0 = time(NULL) - 120, before = time(NULL);
    engine_run(t0, 5);
    int64_t after = time(NULL);
    uint32_t vid = vehicle_id(eng.data);

    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld", eng.data,
                    (long long)before - 1, (long long)after + 1), 0, "%s", err);
    struct lines l;
    lines_parse(out, &l);
    cr_assert_eq(count_msgs(&l, "in", "0x0200", NULL), 5, "five 0x0200 in:\n%s", out);
    int64_t min_ms = INT64_MAX, max_ms = 0;
    int k = 0;
    for (int i = 0; i < l.n; i++) {
        const json_t *j = l.j[i];
        cr_assert_eq(jint(j, "proto"), 808);
        cr_assert_eq(jint(j, "vehicle"), vid);
        cr_assert_str_eq(jstr(j, "msg.phone"), PHONE);
        cr_assert_null(json_object_get(j, "error"), "line %d decodes", i + 1);
        cr_assert_null(json_object_get(json_object_get(j, "msg"), "error"));
        cr_assert_eq(strncmp(jstr(j, "peer"), "127.0.0.1:", 10), 0, "%s", jstr(j, "peer"));
        int64_t ms = jint(j, "time_ms");
        cr_assert(ms >= before * 1000 && ms <= after * 1000 + 999, "time_ms %lld", (long long)ms);
        min_ms = ms < min_ms ? ms : min_ms;
        max_ms = ms > max_ms ? ms : max_ms;
        cr_assert_not_null(strstr(jstr(j, "time"), "+08:00"), "%s", jstr(j, "time"));
        if (strcmp(jstr(j, "msg.msg_id"), "0x0200") == 0) {
            /* the decoded position: the k-th report, in order */
            char tm[32], want[48];
            gmt8(t0 + k, tm);
            snprintf(want, sizeof want, "%s+08:00", tm);
            cr_assert_str_eq(jstr(j, "msg.body.time"), want);
            json_t *lat = json_object_get(json_object_get(json_object_get(j, "msg"), "body"),
                                          "lat");
            cr_assert_float_eq(json_real_value(lat), (30000000 + k * 91) / 1e6, 1e-9);
            k++;
        }
    }
    /* the same frames by vehicle, none for another vehicle */
    char all[sizeof out];
    memcpy(all, out, strlen(out) + 1);
    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld --vehicle %u", eng.data,
                    (long long)before - 1, (long long)after + 1, vid), 0, "%s", err);
    cr_assert_str_eq(out, all, "by vehicle = all (one terminal)");
    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld --vehicle %u", eng.data,
                    (long long)before - 1, (long long)after + 1, vid + 1), 0, "%s", err);
    cr_assert_str_eq(out, "", "another vehicle has no frames");
    /* by connection */
    long long conn = jint(l.j[0], "conn");
    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld --conn %lld", eng.data,
                    (long long)before - 1, (long long)after + 1, conn), 0, "%s", err);
    cr_assert_str_eq(out, all, "by connection = all (one connection)");
    /* time ranges: [from, to) on receive time, in seconds or GMT+8 civil time */
    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld", eng.data,
                    (long long)(max_ms / 1000 + 1), (long long)after + 60), 0, "%s", err);
    cr_assert_str_eq(out, "", "nothing after the last frame");
    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld", eng.data,
                    (long long)before - 60, (long long)(min_ms / 1000)), 0, "%s", err);
    cr_assert_str_eq(out, "", "nothing before the first frame");
    char fs[32], ts[32];
    gmt8(min_ms / 1000, fs);
    gmt8(max_ms / 1000 + 1, ts);
    cr_assert_eq(rw(NULL, "log --store '%s' --from %s --to %s", eng.data, fs, ts), 0, "%s",
                 err);
    cr_assert_str_eq(out, all, "GMT+8 civil times select the same frames");
    cr_assert_eq(rw(NULL, "log --store '%s' --from 2026-02-30T00:00:00", eng.data), 2);
    cr_assert_not_null(strstr(err, "bad value"), "%s", err);
    /* the default store directory is the engine's default data_dir, ./roadwatch-data */
    char link[256];
    snprintf(link, sizeof link, "%s/roadwatch-data", tmp);
    cr_assert_eq(symlink(eng.data, link), 0);
    char args[512];
    snprintf(args, sizeof args, "log --from %lld --to %lld", (long long)before - 1,
             (long long)after + 1);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", tmp, bin(), args);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    cr_assert_eq(pclose(p), 0);
    cr_assert_str_eq(out, all, "`roadwatch log` without --store reads ./roadwatch-data");
    lines_free(&l);
}

/* GB/T 35658 §7.4 c: the raw log holds both directions. The engine answers each 0x0200
 * with a 0x8001 once its batch is committed (commit-then-ack); that answer must be logged
 * too, with the serial of the report it acknowledges. */
Test(store_cli, log_shows_engine_answers_0x8001, .init = setup, .fini = teardown,
     .timeout = 120)
{
    int64_t t0 = time(NULL) - 120, before = time(NULL);
    engine_run(t0, 3);
    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld", eng.data,
                    (long long)before - 1, (long long)time(NULL) + 1), 0, "%s", err);
    struct lines l;
    lines_parse(out, &l);
    cr_assert_eq(count_msgs(&l, "in", "0x0200", NULL), 3, "%s", out);
    cr_assert_eq(count_msgs(&l, "out", "0x8001", "0x0200"), 3,
                 "the engine's 0x8001 answers to the three 0x0200 are logged:\n%s", out);
    for (int i = 0; i < l.n; i++) {
        if (strcmp(jstr(l.j[i], "msg.msg_id"), "0x0200"))
            continue;
        long long serial = jint(json_object_get(l.j[i], "msg"), "serial");
        int answered = 0;
        for (int k = 0; k < l.n; k++) {
            const json_t *b = json_object_get(json_object_get(l.j[k], "msg"), "body");
            answered += !strcmp(jstr(l.j[k], "msg.msg_id"), "0x8001") &&
                        json_integer_value(json_object_get(b, "ack_serial")) == serial &&
                        !strcmp(jstr(l.j[k], "dir"), "out");
        }
        cr_assert_eq(answered, 1, "0x0200 serial %lld answered once in the log", serial);
    }
    lines_free(&l);
}

/* Adds raw frames to a fresh store through the API (as link809.c and session808.c do). */
static void store_put_raw(const char *dir, const struct store_raw *r, int n)
{
    struct store *st;
    struct store_config c;
    store_config_default(&c);
    c.dir = dir;
    c.maint_interval_ms = 0;
    c.pool_batches = 2;
    cr_assert_eq(store_create(&st), 0);
    cr_assert_eq(store_set_config(st, &c), 0);
    int rc = store_open(st);
    cr_assert_eq(rc, 0, "%s", err_str(rc));
    struct store_batch *b, *done;
    cr_assert_eq(store_batch_get(st, 0, &b), 0);
    for (int i = 0; i < n; i++)
        cr_assert_eq(store_batch_add_raw(b, &r[i]), 0);
    cr_assert_eq(store_batch_submit(st, b), 0);
    int64_t end = harness_ms() + harness_timeout_s() * 1000;
    while (store_batch_reap(st, 0, &done, 1) == 0) {
        cr_assert_lt(harness_ms(), end, "batch not committed");
        usleep(1000);
    }
    cr_assert_eq(store_batch_status(done), 0);
    store_batch_release(st, done);
    store_close(st);
}

/* Unescaped content (no flags) of the wire frame <hex>, as the engine logs it. */
static size_t content_of(const char *hex, uint8_t *outb, size_t cap, int proto)
{
    uint8_t wire[512];
    int n = text_hex_decode(hex, strlen(hex), wire, sizeof wire);
    cr_assert_gt(n, 2);
    int u = proto == 808 ? jt808_unescape(wire + 1, (size_t)n - 2, outb, cap)
                         : jt809_unescape(wire + 1, (size_t)n - 2, outb, cap, 0);
    cr_assert_gt(u, 0);
    return (size_t)u;
}

Test(store_cli, log_decodes_809_and_808_raw_records, .init = setup, .fini = teardown)
{
    /* F2: 2011 UP_LINKTEST_REQ, plain. F5: 2011 UP_CONNECT_REQ, encrypted (no key here).
     * A: JT/T 808 heartbeat. */
    static const char f2[] = "5B0000001A0000257A10050001E24001000100000000001C525D";
    static const char f5[] =
        "5b000000480000008510010133efb8010000010003e8b2d37d9cc4900c77dc78f8676527d8"
        "ae12243cfb64cc2fba619aefad33accb3256f67bff19df33097841098665703fe36e5d";
    static const char fa[] = "7e00020000040021679287002b7d027e";
    static uint8_t c2[256], c5[256], ca[256];
    struct store_raw r[4];
    memset(r, 0, sizeof r);
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    for (int i = 0; i < 4; i++) {
        r[i].recv_time_ms = now_ms + i;
        r[i].conn_id = 77;
        r[i].proto = STORE_PROTO_809;
        r[i].peer_len = 4;
        memcpy(r[i].peer, "\x0a\x00\x00\x09", 4);
        r[i].peer_port = 9000;
    }
    r[0].frame = rw_bytes_of(c2, content_of(f2, c2, sizeof c2, 809));
    r[1].frame = rw_bytes_of(c5, content_of(f5, c5, sizeof c5, 809));
    r[2].frame = rw_bytes_of((const uint8_t *)"\x01\x02\x03", 3); /* garbage */
    r[3].proto = STORE_PROTO_808;
    r[3].dir = STORE_DIR_OUT;
    r[3].vehicle_id = 5;
    r[3].peer_len = 16;
    memset(r[3].peer, 0, 16);
    r[3].peer[15] = 1; /* ::1 */
    r[3].frame = rw_bytes_of(ca, content_of(fa, ca, sizeof ca, 808));
    char sdir[192];
    snprintf(sdir, sizeof sdir, "%s/store", tmp);
    store_put_raw(sdir, r, 4);

    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld", sdir,
                    (long long)(now_ms / 1000 - 10), (long long)(now_ms / 1000 + 10)),
                 0, "%s", err);
    struct lines l;
    lines_parse(out, &l);
    cr_assert_eq(l.n, 4, "%s", out);
    cr_assert_eq(jint(l.j[0], "proto"), 809);
    cr_assert_str_eq(jstr(l.j[0], "peer"), "10.0.0.9:9000");
    cr_assert_str_eq(jstr(l.j[0], "msg.proto"), "jt809");
    cr_assert_str_eq(jstr(l.j[0], "msg.msg_id"), "0x1005");
    cr_assert_eq(jint(json_object_get(l.j[0], "msg"), "gnss_center_id"), 123456);
    cr_assert_null(json_object_get(json_object_get(l.j[0], "msg"), "error"), "%s", out);
    cr_assert_str_eq(jstr(l.j[1], "msg.msg_id"), "0x1001");
    cr_assert_str_eq(jstr(l.j[1], "msg.error"), "encrypted", "%s", out);
    cr_assert_eq(jint(json_object_get(l.j[1], "msg"), "encrypt_flag"), 1);
    cr_assert_null(json_object_get(l.j[2], "msg"), "garbage does not decode");
    cr_assert_str_neq(jstr(l.j[2], "error"), "", "garbage: an error: %s", out);
    cr_assert_str_eq(jstr(l.j[2], "hex"), "010203");
    cr_assert_eq(jint(l.j[3], "proto"), 808);
    cr_assert_str_eq(jstr(l.j[3], "dir"), "out");
    cr_assert_eq(jint(l.j[3], "vehicle"), 5);
    cr_assert_str_eq(jstr(l.j[3], "peer"), "[0:0:0:0:0:0:0:1]:9000");
    cr_assert_str_eq(jstr(l.j[3], "msg.name"), "heartbeat", "%s", out);
    cr_assert_str_eq(jstr(l.j[3], "msg.phone"), "40021679287");
    lines_free(&l);
}

/* ═══════════════════════════ backup and restore ═══════════════════════════ */

static void flip_byte(const char *path)
{
    size_t n;
    uint8_t *b = file_bytes(path, &n);
    cr_assert_gt(n, 100);
    b[n / 2] ^= 0x01;
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
}

Test(store_cli, backup_full_incremental_verify_restore, .init = setup, .fini = teardown,
     .timeout = 180)
{
    char bdir[192], rdir[192], path[512], log1[sizeof out];
    snprintf(bdir, sizeof bdir, "%s/backup", tmp);
    snprintf(rdir, sizeof rdir, "%s/restored", tmp);
    int64_t t0 = time(NULL) - 300, from = time(NULL) - 60;
    engine_run(t0, 5);

    cr_assert_eq(rw(NULL, "backup --incremental '%s' --store '%s'", bdir, eng.data), 1);
    cr_assert_not_null(strstr(err, "no full backup"), "%s", err);
    cr_assert_eq(rw(NULL, "backup --store '%s' --full '%s'", eng.data, bdir), 0, "%s", err);
    cr_assert_not_null(strstr(out, "files written"), "%s", out);
    cr_assert_eq(rw(NULL, "backup verify '%s'", bdir), 0, "%s%s", out, err);
    cr_assert_not_null(strstr(out, "ok"), "%s", out);

    /* more data, then an incremental backup that must carry it */
    engine_more(t0 + 60, 5);
    cr_assert_eq(rw(NULL, "backup --incremental '%s' --store '%s'", bdir, eng.data), 0, "%s",
                 err);
    snprintf(path, sizeof path, "%s/0002-incr/MANIFEST", bdir);
    cr_assert(file_has(path, "meta.mdb") && file_has(path, "day-"),
              "the incremental set holds meta and the changed day");
    cr_assert_eq(rw(NULL, "backup verify '%s'", bdir), 0, "%s%s", out, err);

    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld", eng.data, (long long)from,
                    (long long)time(NULL) + 5), 0, "%s", err);
    memcpy(log1, out, strlen(out) + 1);
    struct lines l;
    lines_parse(log1, &l);
    cr_assert_eq(count_msgs(&l, "in", "0x0200", NULL), 10, "both runs logged:\n%s", log1);
    lines_free(&l);

    /* restore into an absent directory: the same frames, the same registry */
    cr_assert_eq(rw(NULL, "restore --store '%s' '%s'", rdir, bdir), 0, "%s%s", out, err);
    cr_assert_not_null(strstr(out, "0 problems"), "%s", out);
    cr_assert_eq(rw(NULL, "log --store '%s' --from %lld --to %lld", rdir, (long long)from,
                    (long long)time(NULL) + 5), 0, "%s", err);
    cr_assert_str_eq(out, log1, "the restored store logs the same frames");
    cr_assert_eq(vehicle_id(rdir), vehicle_id(eng.data));

    /* and into an empty one */
    char edir[192];
    snprintf(edir, sizeof edir, "%s/empty", tmp);
    cr_assert_eq(mkdir(edir, 0750), 0);
    cr_assert_eq(rw(NULL, "restore '%s' --store '%s'", bdir, edir), 0, "%s%s", out, err);

    /* a non-empty directory is refused, and left alone */
    cr_assert_eq(rw(NULL, "restore --store '%s' '%s'", rdir, bdir), 1);
    cr_assert_not_null(strstr(err, "not empty"), "%s", err);
    char ndir[192];
    snprintf(ndir, sizeof ndir, "%s/notempty", tmp);
    cr_assert_eq(mkdir(ndir, 0750), 0);
    snprintf(path, sizeof path, "%s/keep.txt", ndir);
    write_file(path, "keep\n");
    cr_assert_eq(rw(NULL, "restore --store '%s' '%s'", ndir, bdir), 1);
    cr_assert_not_null(strstr(err, "not empty"), "%s", err);
    snprintf(path, sizeof path, "%s/meta.mdb", ndir);
    cr_assert_neq(access(path, F_OK), 0, "nothing restored into %s", ndir);

    /* one corrupted byte: verify fails naming the file, restore refuses */
    snprintf(path, sizeof path, "%s/0001-full/meta.mdb", bdir);
    flip_byte(path);
    cr_assert_eq(rw(NULL, "backup verify '%s'", bdir), 1);
    cr_assert_not_null(strstr(err, "0001-full/meta.mdb"), "%s", err);
    cr_assert_not_null(strstr(err, "checksum"), "%s", err);
    cr_assert_not_null(strstr(err, "FAILED"), "%s", err);
    char r2[192];
    snprintf(r2, sizeof r2, "%s/restored2", tmp);
    cr_assert_eq(rw(NULL, "restore --store '%s' '%s'", r2, bdir), 1);
    cr_assert_not_null(strstr(err, "verification failed"), "%s", err);
    snprintf(path, sizeof path, "%s/meta.mdb", r2);
    cr_assert_neq(access(path, F_OK), 0, "nothing restored from a corrupt backup");
    snprintf(path, sizeof path, "%s/nothing-here", tmp);
    cr_assert_eq(rw(NULL, "backup verify '%s'", path), 1);
    cr_assert_not_null(strstr(err, "No such file"), "%s", err);
}

/* ═══════════════════════════ --help and usage ═══════════════════════════ */

Test(store_cli, help_and_usage_errors, .init = setup, .fini = teardown)
{
    static const struct {
        const char *verb;
        const char *opts[5];
    } v[] = {
        {"import", {"--store", "FILE.csv", "line N", NULL}},
        {"user", {"--store", "--password-stdin", "--role", "passwd", "list"}},
        {"log", {"--store", "--from", "--to", "--vehicle", "--conn"}},
        {"backup", {"--store", "--full", "--incremental", "verify", NULL}},
        {"restore", {"--store", "BDIR", "empty", NULL}},
    };
    char sdir[192];
    snprintf(sdir, sizeof sdir, "%s/store", tmp);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char head[64];
        snprintf(head, sizeof head, "usage: roadwatch %s", v[i].verb);
        cr_assert_eq(rw(NULL, "%s --help", v[i].verb), 0, "%s --help: %s", v[i].verb, err);
        cr_assert_eq(strncmp(out, head, strlen(head)), 0, "%s --help: %s", v[i].verb, out);
        for (int k = 0; k < 5 && v[i].opts[k]; k++)
            cr_assert_not_null(strstr(out, v[i].opts[k]), "%s --help lacks %s", v[i].verb,
                               v[i].opts[k]);
        cr_assert_eq(rw(NULL, "%s --store '%s' --frobnicate x", v[i].verb, sdir), 2, "%s",
                     v[i].verb);
        cr_assert_str_eq(out, "", "%s: usage goes to stderr", v[i].verb);
        cr_assert_not_null(strstr(err, "unknown option '--frobnicate'"), "%s", err);
        cr_assert_not_null(strstr(err, head), "%s: %s", v[i].verb, err);
        cr_assert_eq(rw(NULL, "%s --store", v[i].verb), 2, "%s --store without DIR",
                     v[i].verb);
    }
    /* missing or extra arguments */
    static const char *bad[] = {"import", "import a.csv b.csv", "restore", "restore a b",
                                "backup", "backup --full", "backup --full a --incremental b",
                                "backup verify", "log extra", "log --vehicle x",
                                "log --from", "log --to yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rw(NULL, "%s --store '%s'", bad[i], sdir), 2, "'%s': %s", bad[i], err);
        cr_assert_not_null(strstr(err, "usage: roadwatch"), "'%s': %s", bad[i], err);
    }
    cr_assert_neq(access(sdir, F_OK), 0, "no usage error created a store");
}
