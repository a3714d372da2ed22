/* roadwatch-bench: fleet simulator, null sink, oracle and alarm comparison
 * (bench/load/README.md). The only place here allowed to exit(). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/load/oracle.h"
#include "bench/load/platstore.h"
#include "bench/load/report.h"
#include "bench/load/scenario.h"
#include "bench/load/sim.h"
#include "bench/load/sink.h"
#include "engine/base/err.h"
#include "engine/base/mem.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: roadwatch-bench run SCENARIO [--out DIR] [--host IP] [--port P]\n"
            "                          [--port809 P] [--target-pid PID] [--no-ceiling]\n"
            "                          [--ceiling-only] [--duration S] [--time-scale X]\n"
            "                          [--expect-all-acked]\n"
            "                          [--quiet]\n"
            "       roadwatch-bench accounts SCENARIO DATA_DIR   (engine stopped)\n"
            "       roadwatch-bench platcheck DATA_DIR VEHICLES_TSV   (engine stopped)\n"
            "       roadwatch-bench storecheck DATA_DIR RESULTS_JSON   (engine stopped)\n"
            "       roadwatch-bench sink [--host IP] [--port P] [--seconds S]\n"
            "       roadwatch-bench oracle SCENARIO\n"
            "       roadwatch-bench compare ORACLE ALARMS [--tolerance S]\n");
}

static const char *arg_val(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static int arg_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

static long arg_num(int argc, char **argv, const char *name, long dflt)
{
    const char *v = arg_val(argc, argv, name);
    return v ? strtol(v, NULL, 10) : dflt;
}

static int cmd_sink(int argc, char **argv)
{
    const char *host = arg_val(argc, argv, "--host");
    struct sink_stats st;
    int rc = sink_run(host ? host : "127.0.0.1", (uint16_t)arg_num(argc, argv, "--port", 7808),
                      (double)arg_num(argc, argv, "--seconds", 3600), &st);
    if (rc) {
        fprintf(stderr, "sink: %s\n", err_str(rc));
        return 1;
    }
    sink_stats_json(&st, stdout);
    return 0;
}

static int cmd_compare(int argc, char **argv)
{
    if (argc < 4) {
        usage(stderr);
        return 2;
    }
    FILE *e = fopen(argv[2], "r"), *g = fopen(argv[3], "r");
    if (!e || !g) {
        fprintf(stderr, "compare: cannot open %s\n", !e ? argv[2] : argv[3]);
        return 2;
    }
    struct cmp_result r;
    int rc = cmp_run(e, g, arg_num(argc, argv, "--tolerance", 2), stdout, &r);
    fclose(e);
    fclose(g);
    if (rc < 0) {
        fprintf(stderr, "compare: %s\n", err_str(rc));
        return 2;
    }
    printf("{\"oracle\": %u, \"alarms\": %u, \"matched\": %u, \"missed\": %u, \"extra\": %u, "
           "\"wrong_start\": %u, \"wrong_end\": %u}\n", r.oracle, r.alarms, r.matched,
           r.missed, r.extra, r.wrong_start, r.wrong_end);
    return rc;
}

static int load_scn(const char *path, struct scenario *s)
{
    char err[512];
    int rc = scn_load(path, s, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s\n", err);
    return rc;
}

/* The JT/T 809 platform accounts of a scenario, written into the engine's store while the
 * engine is stopped (platstore.h). */
static int cmd_accounts(int argc, char **argv)
{
    static struct scenario s;
    if (argc < 4 || load_scn(argv[2], &s) != 0)
        return 2;
    char err[512] = "";
    long n = platstore_accounts(&s, argv[3], err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "accounts: %s\n", err);
        return 1;
    }
    fprintf(stderr, "accounts: %ld platform accounts in %s\n", n, argv[3]);
    return 0;
}

/* After a run (engine stopped): the store holds every position the terminals saw
 * acknowledged, none twice, and nothing they never sent: records.acked <= stored <=
 * records.sent of RESULTS_JSON and no vehicle with two points of one GNSS time. Exit 0
 * when so, 1 when not, 2 when either cannot be read; prints the counts as JSON. (A
 * position stored but never acknowledged, because the engine died between its commit and
 * its answer, may still be lost by the terminal: counts cannot say more than these bounds;
 * e2e_engine checks the kill -9 case record by record.) */
static int cmd_storecheck(int argc, char **argv)
{
    if (argc < 4) {
        usage(stderr);
        return 2;
    }
    json_error_t e;
    json_t *j = json_load_file(argv[3], 0, &e);
    json_t *r = json_object_get(j, "records");
    if (!r) {
        fprintf(stderr, "storecheck: %s: no \"records\" (%s)\n", argv[3], j ? "" : e.text);
        json_decref(j);
        return 2;
    }
    long long acked = (long long)json_integer_value(json_object_get(r, "acked"));
    long long sent = (long long)json_integer_value(json_object_get(r, "sent"));
    json_decref(j);
    struct platstore_count c;
    int rc = platstore_count_all(argv[2], &c);
    if (rc < 0) {
        fprintf(stderr, "storecheck: %s: %s\n", argv[2], err_str(rc));
        return 2;
    }
    long long stored = (long long)c.points;
    int ok = stored >= acked && stored <= sent && c.duplicates == 0;
    printf("{\"vehicles\": %llu, \"acked\": %lld, \"stored\": %lld, \"sent\": %lld, "
           "\"duplicates\": %llu, \"days\": %d, \"ok\": %s}\n",
           (unsigned long long)c.vehicles, acked, stored, sent,
           (unsigned long long)c.duplicates, c.last_day - c.first_day + 1,
           ok ? "true" : "false");
    return ok ? 0 : 1;
}

/* Every position the platforms sent is in the store exactly once (exit 0), or not (1). */
static int cmd_platcheck(int argc, char **argv)
{
    if (argc < 4) {
        usage(stderr);
        return 2;
    }
    struct platstore_check c;
    int rc = platstore_check(argv[2], argv[3], stderr, &c);
    if (rc < 0) {
        fprintf(stderr, "platcheck: %s\n", err_str(rc));
        return 2;
    }
    printf("{\"vehicles\": %llu, \"positions_sent\": %llu, \"sent_live\": %llu, "
           "\"sent_reup\": %llu, \"positions_stored\": %llu, \"stored_live\": %llu, "
           "\"stored_reup\": %llu, \"stored_other\": %llu, \"duplicates\": %llu, "
           "\"missing_vehicles\": %llu, \"mismatched_vehicles\": %llu}\n",
           (unsigned long long)c.vehicles, (unsigned long long)(c.sent_live + c.sent_reup),
           (unsigned long long)c.sent_live, (unsigned long long)c.sent_reup,
           (unsigned long long)(c.stored_live + c.stored_reup),
           (unsigned long long)c.stored_live, (unsigned long long)c.stored_reup,
           (unsigned long long)c.stored_other, (unsigned long long)c.duplicates,
           (unsigned long long)c.missing_vehicles, (unsigned long long)c.mismatched);
    return rc;
}

static int cmd_oracle(int argc, char **argv)
{
    static struct scenario s;
    if (argc < 3 || load_scn(argv[2], &s) != 0)
        return 2;
    oracle_write(&s, (int64_t)(s.duration_s * s.time_scale), stdout);
    return 0;
}

/* Starts `roadwatch-bench sink` as a child on <port>; its JSON comes back on <*rfd>. */
static pid_t sink_spawn(const struct scenario *s, double seconds, int *rfd)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        char port[16], secs[16];
        snprintf(port, sizeof port, "%u", s->ceiling_port);
        snprintf(secs, sizeof secs, "%.0f", seconds);
        execl("/proc/self/exe", "roadwatch-bench", "sink", "--host", s->host, "--port", port,
              "--seconds", secs, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *rfd = p[0];
    usleep(200000); /* let it bind */
    return pid;
}

/* Ceiling phase: the same fleet, open loop, against the null sink. Returns records/s. */
static double run_ceiling(const struct scenario *s, struct sim_result *r,
                          struct sink_stats *st, int quiet)
{
    int rfd = -1;
    pid_t pid = sink_spawn(s, s->ceiling_s + 30, &rfd);
    if (pid < 0)
        return 0;
    struct sim_opts o = {.open_loop = 1, .port_808 = s->ceiling_port, .quiet = quiet,
                         .target_pid = pid, .duration_s = s->ceiling_s};
    if (!quiet)
        fprintf(stderr, "ceiling: null sink on %s:%u for %.0f s\n", s->host, s->ceiling_port,
                s->ceiling_s);
    int rc = sim_run(s, &o, r);
    kill(pid, SIGTERM);
    char buf[512] = "";
    FILE *f = fdopen(rfd, "r");
    if (f && fgets(buf, sizeof buf, f) == NULL)
        buf[0] = 0;
    if (f)
        fclose(f);
    waitpid(pid, NULL, 0);
    unsigned long long conns, bytes, dg, flags;
    memset(st, 0, sizeof *st);
    if (rc || sscanf(buf, "{\"conns\": %llu, \"bytes\": %llu, \"datagrams\": %llu, "
                          "\"flags\": %llu, \"seconds\": %lf, \"cpu_s\": %lf", &conns, &bytes,
                     &dg, &flags, &st->seconds, &st->cpu_s) != 6)
        return 0;
    *st = (struct sink_stats){conns, bytes, dg, flags, st->seconds, st->cpu_s};
    /* Records/s sent after warm-up; valid only when the sink received them all (its
     * frame count, flags / 2, equals the records sent). */
    if (flags / 2 < r->records_sent)
        fprintf(stderr, "ceiling: the sink got %llu of %llu frames\n", flags / 2,
                (unsigned long long)r->records_sent);
    /* The ceiling phase is shorter than the target run: a warm-up as long as the run's
     * would leave nothing to measure. Use at most a third of the phase. */
    double warm = s->warmup_s < s->ceiling_s / 3 ? s->warmup_s : s->ceiling_s / 3;
    return report_sustained_rps(r, warm, 0);
}

static int write_oracle(const char *dir, const struct scenario *s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/oracle.jsonl", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int n = oracle_write(s, (int64_t)(s->duration_s * s->time_scale), f);
    fclose(f);
    return n;
}

static int cmd_run(int argc, char **argv)
{
    static struct scenario s;
    if (argc < 3 || load_scn(argv[2], &s) != 0)
        return 2;
    const char *ts = arg_val(argc, argv, "--time-scale");
    if (ts) { /* the offered rate of a paced run: vehicles x time_scale / report_s */
        char *end;
        double v = strtod(ts, &end);
        if (end == ts || *end || !(v >= 0.01 && v <= 100000)) {
            fprintf(stderr, "run: --time-scale %s: a number in [0.01, 100000] expected\n", ts);
            return 2;
        }
        s.time_scale = s.term.time_scale = v;
    }
    const char *dir = arg_val(argc, argv, "--out");
    dir = dir ? dir : "bench-out";
    mkdir(dir, 0755);
    int quiet = arg_flag(argc, argv, "--quiet");
    struct sim_result *r = mem_calloc(1, sizeof *r);
    if (!r)
        return 1;
    if (write_oracle(dir, &s) < 0)
        fprintf(stderr, "run: cannot write %s/oracle.jsonl\n", dir);
    struct sink_stats ceil;
    double ceil_rps = 0;
    int do_ceil = (s.ceiling || arg_flag(argc, argv, "--ceiling-only")) &&
                  !arg_flag(argc, argv, "--no-ceiling");
    if (do_ceil) {
        ceil_rps = run_ceiling(&s, r, &ceil, quiet);
        fprintf(stderr, "ceiling: %.0f records/s (%llu bytes, %llu conns)\n", ceil_rps,
                (unsigned long long)ceil.bytes, (unsigned long long)ceil.conns);
        char sub[512];
        snprintf(sub, sizeof sub, "%s/ceiling", dir);
        mkdir(sub, 0755);
        report_write(sub, &s, "null-sink", r, &ceil, ceil_rps);
    }
    int rc = 0;
    if (!arg_flag(argc, argv, "--ceiling-only")) {
        struct sim_opts o = {.host = arg_val(argc, argv, "--host"),
                             .port_808 = (uint16_t)arg_num(argc, argv, "--port", 0),
                             .port_809 = (uint16_t)arg_num(argc, argv, "--port809", 0),
                             .quiet = quiet,
                             .target_pid = (int)arg_num(argc, argv, "--target-pid", 0),
                             .duration_s = (double)arg_num(argc, argv, "--duration", 0)};
        if (s.ceiling_fraction > 0 && ceil_rps > 0 && s.vehicles > 0) {
            o.time_scale = s.ceiling_fraction * ceil_rps * s.term.report_s / s.vehicles;
            fprintf(stderr, "run: pacing at %.0f%% of the ceiling: time_scale %.2f\n",
                    s.ceiling_fraction * 100, o.time_scale);
        }
        char tsv[512];
        snprintf(tsv, sizeof tsv, "%s/platform_vehicles.tsv", dir);
        o.plat_vehicles_path = s.plat.count ? tsv : NULL;
        rc = sim_run(&s, &o, r);
        if (s.plat.count)
            fprintf(stderr, "run: %u JT/T 809 platforms sent %llu positions (%llu live, %llu "
                    "re-uploaded in %llu 0x1203), %llu lost to full missed rings -> %s\n",
                    r->n_plat, (unsigned long long)r->plat_positions,
                    (unsigned long long)r->plat_st.sent_1202,
                    (unsigned long long)r->plat_st.sent_1203_items,
                    (unsigned long long)r->plat_st.sent_1203,
                    (unsigned long long)r->plat_st.missed_dropped, tsv);
        if (rc == 0)
            rc = report_write(dir, &s, "roadwatch", r, do_ceil ? &ceil : NULL, ceil_rps);
        fprintf(stderr, "run: sent %llu acked %llu outstanding %llu resent %llu -> %s/\n",
                (unsigned long long)r->records_sent, (unsigned long long)r->records_acked,
                (unsigned long long)r->outstanding, (unsigned long long)r->st.resent, dir);
        if (rc == 0 && arg_flag(argc, argv, "--expect-all-acked") &&
            (r->outstanding || r->records_acked != r->st.points || r->records_sent == 0))
            rc = 3;
    }
    mem_free(r);
    if (rc < 0)
        fprintf(stderr, "run: %s\n", err_str(rc));
    return rc == 0 ? 0 : (rc > 0 ? rc : 1);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(argv[1], "sink") == 0)
        return cmd_sink(argc, argv);
    if (strcmp(argv[1], "compare") == 0)
        return cmd_compare(argc, argv);
    if (strcmp(argv[1], "oracle") == 0)
        return cmd_oracle(argc, argv);
    if (strcmp(argv[1], "accounts") == 0)
        return cmd_accounts(argc, argv);
    if (strcmp(argv[1], "platcheck") == 0)
        return cmd_platcheck(argc, argv);
    if (strcmp(argv[1], "storecheck") == 0)
        return cmd_storecheck(argc, argv);
    usage(stderr);
    return 2;
}
