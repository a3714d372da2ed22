/* serve.c: `roadwatch serve`, `check-config`, `top` and `stats` — wiring of the engine:
 * configuration, store, registry, live table, workers, signals.
 *
 * Threads: the main thread starts the workers, then waits for signals, waking once a second
 * to copy the store's figures into the live table's header: SIGTERM/SIGINT (clean stop:
 * workers stop reading, hand their last batches over, the store commits them and
 * closes) and SIGHUP (reload: the reloadable keys of the file are adopted).
 * Every other thread runs with those signals blocked. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "engine/cfg/cfg.h"
#include "engine/link809.h"
#include "engine/live/live.h"
#include "engine/live/mesh.h"
#include "engine/registry.h"
#include "engine/serve.h"
#include "engine/worker.h"
#include "store/store.h"

struct engine {
    struct cfg cfg;
    const char *cfg_path;
    struct store *st;
    struct registry *reg;
    struct live *live;
    struct mesh *mesh;       /* vehicle ownership: workers own, workers + 809 link send */
    unsigned n_workers;
    struct worker *workers;
    pthread_t *threads;
    struct regsvc *regsvc;   /* registrations, on their own thread */
    pthread_t regsvc_thread;
    int regsvc_started;
    struct link809 *l809;    /* JT/T 809 main-link server (own thread, store shard N) */
    pthread_t l809_thread;
    int l809_started;
    int64_t data_now;        /* clock=data: newest GNSS time seen (UTC s) */
};

/* Store clock for --clock=data: the newest GNSS time received, else the wall clock. */
static int64_t eng_data_clock(void *ctx)
{
    const struct engine *e = ctx;
    int64_t t = __atomic_load_n(&e->data_now, __ATOMIC_RELAXED);
    return t > 0 ? t : time(NULL);
}

static int eng_open_store(struct engine *e)
{
    struct store_config sc;
    store_config_default(&sc);
    sc.dir = e->cfg.data_dir;
    sc.retention_days = (unsigned)e->cfg.retention_days;
    sc.force = (int)e->cfg.retention_force;
    sc.compact_after_days = (unsigned)e->cfg.compact_after_days;
    sc.hold_bytes = (uint64_t)e->cfg.hold_mb << 20;
    sc.commit_interval_ms = (unsigned)e->cfg.commit_interval_ms;
    sc.shards = e->n_workers + 1; /* one per worker, one for the JT/T 809 links */
    sc.pool_batches = (unsigned)e->cfg.batches_per_worker;
    sc.batch_pos = (unsigned)e->cfg.batch_records;
    sc.batch_raw = (unsigned)e->cfg.batch_records;
    sc.batch_arena = (unsigned)e->cfg.batch_records * 160u;
    if (e->cfg.clock == CFG_CLOCK_DATA) {
        sc.clock = eng_data_clock;
        sc.clock_ctx = e;
    }
    int rc = store_create(&e->st);
    if (rc == 0)
        rc = store_set_config(e->st, &sc);
    if (rc == 0)
        rc = store_open(e->st);
    return rc;
}

/* Identity of the store directory (FNV-1a of its absolute path): the live table's slots
 * belong to that store's vehicle ids. */
static uint64_t eng_store_tag(const struct cfg *c)
{
    char abs[4096];
    const char *p = realpath(c->data_dir, abs) ? abs : c->data_dir;
    uint64_t h = 1469598103934665603ull;
    for (; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

static int eng_start(struct engine *e)
{
    char path[CFG_STR_MAX + 32];
    e->n_workers = e->cfg.workers ? (unsigned)e->cfg.workers
                                  : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (e->n_workers > LIVE_MAX_WORKERS)
        e->n_workers = LIVE_MAX_WORKERS;
    struct cfg *c = &e->cfg;
    c->workers = e->n_workers;
    mkdir(c->data_dir, 0750);
    int rc = eng_open_store(e);
    if (rc) {
        LOG(LOG_ERR, "serve", "store %s: %s", c->data_dir, err_str(rc));
        return rc;
    }
    rc = registry_open(e->st, c->registration == CFG_REG_OPEN, &e->reg);
    if (c->live_path[0])
        snprintf(path, sizeof path, "%s", c->live_path);
    else
        live_default_path(c->instance, path, sizeof path);
    if (rc == 0)
        rc = live_open_rw(path, (uint64_t)c->max_vehicles, e->n_workers, eng_store_tag(c),
                          &e->live);
    if (rc) {
        LOG(LOG_ERR, "serve", "live table %s: %s", path, err_str(rc));
        return rc;
    }
    if (rc == 0)
        rc = regsvc_create(e->reg, e->n_workers, 4096, &e->regsvc);
    if (rc)
        return rc;
    /* One row of rings per worker and one for the JT/T 809 link thread; fewer places per
     * ring with more workers, so the mesh stays a few MiB (live/mesh.h). */
    unsigned depth = 16384u / e->n_workers;
    depth = depth < 1024 ? 1024 : depth > 8192 ? 8192 : depth;
    rc = mesh_create(e->n_workers, e->n_workers + 1, depth, &e->mesh);
    if (rc) {
        LOG(LOG_ERR, "serve", "mesh: %s", err_str(rc));
        return rc;
    }
    e->workers = mem_calloc(e->n_workers, sizeof *e->workers);
    e->threads = mem_calloc(e->n_workers, sizeof *e->threads);
    if (!e->workers || !e->threads)
        return -ENOMEM;
    for (unsigned i = 0; i < e->n_workers; i++) {
        rc = worker_init(&e->workers[i], i, c, e->st, e->reg, e->live);
        if (rc) {
            LOG(LOG_ERR, "serve", "worker %u: %s", i, err_str(rc));
            return rc;
        }
        e->workers[i].data_now = &e->data_now;
        e->workers[i].regsvc = e->regsvc;
        e->workers[i].mesh = e->mesh;
    }
    if (c->jt809_tcp[0]) {
        rc = link809_create(c, e->st, e->live, e->n_workers, &e->l809);
        if (rc == 0)
            link809_set_mesh(e->l809, e->mesh, e->n_workers);
        if (rc) {
            LOG(LOG_ERR, "serve", "jt809 %s: %s", c->jt809_tcp, err_str(rc));
            return rc;
        }
    }
    return 0;
}

static void eng_stop(struct engine *e, unsigned started)
{
    for (unsigned i = 0; i < started; i++)
        __atomic_store_n(&e->workers[i].stop, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < started; i++)
        pthread_join(e->threads[i], NULL);
    if (e->regsvc_started) {
        regsvc_stop(e->regsvc);
        pthread_join(e->regsvc_thread, NULL);
    }
    regsvc_destroy(e->regsvc);
    e->regsvc = NULL;
    if (e->l809_started) {
        link809_stop(e->l809);
        pthread_join(e->l809_thread, NULL);
    }
    link809_destroy(e->l809);
    e->l809 = NULL;
    for (unsigned i = 0; e->workers && i < e->n_workers; i++)
        worker_destroy(&e->workers[i]);
    if (e->st)
        store_close(e->st); /* commits what the workers handed over */
    e->st = NULL;
    registry_close(e->reg);
    mesh_destroy(e->mesh);
    e->mesh = NULL;
    live_close(e->live);
    MEM_FREE(e->workers);
    MEM_FREE(e->threads);
}

static void eng_reload(struct engine *e)
{
    struct cfg next;
    char err[512], note[512];
    int rc = e->cfg_path ? cfg_load(e->cfg_path, &next, err, sizeof err)
                         : cfg_parse(cfg_embedded, "(embedded)", &next, err, sizeof err);
    if (rc) {
        LOG(LOG_ERR, "serve", "reload refused: %s", err);
        return;
    }
    next.workers = e->cfg.workers;
    int n = cfg_reload(&e->cfg, &next, note, sizeof note);
    registry_set_open_mode(e->reg, e->cfg.registration == CFG_REG_OPEN);
    log_set_level((int)e->cfg.log_level);
    LOG(LOG_NOTICE, "serve", "reloaded: %d key(s) changed%s%s", n, note[0] ? "; " : "", note);
}

/* Raises the fd limit to the hard limit: each connection is a descriptor. */
static void eng_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The store's and the JT/T 809 server's figures into the live table's header, for
 * `roadwatch stats` and `top`. */
static void eng_publish_store(struct engine *e)
{
    struct live_store *o = live_store_rw(e->live);
    store_stats_get(e->st, &o->s);
    store_held(e->st, &o->held_vehicles, &o->held_points);
    o->health = store_health(e->st);
    if (e->l809) {
        struct live_jt809 *j = live_jt809_rw(e->live);
        struct link809_metrics m;
        link809_metrics_get(e->l809, &m);
        memcpy(j->m, &m, sizeof m);
        j->enabled = 1;
    }
}

static int eng_run(struct engine *e)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    unsigned started = 0;
    int rc = eng_start(e);
    for (unsigned i = 0; rc == 0 && i < e->n_workers; i++, started++)
        rc = -pthread_create(&e->threads[i], NULL, worker_main, &e->workers[i]);
    if (rc == 0) {
        rc = -pthread_create(&e->regsvc_thread, NULL, regsvc_main, e->regsvc);
        e->regsvc_started = rc == 0;
    }
    if (rc == 0 && e->l809) {
        rc = -pthread_create(&e->l809_thread, NULL, link809_main, e->l809);
        e->l809_started = rc == 0;
    }
    if (rc == 0) {
        fprintf(stderr,
                "roadwatch: serving: jt808 tcp %s udp %s, jt809 %s, %u workers, data %s\n",
                e->cfg.jt808_tcp[0] ? e->cfg.jt808_tcp : "off",
                e->cfg.jt808_udp[0] ? e->cfg.jt808_udp : "off",
                e->cfg.jt809_tcp[0] ? e->cfg.jt809_tcp : "off", e->n_workers,
                e->cfg.data_dir);
        for (;;) {
            struct timespec second = {1, 0};
            eng_publish_store(e);
            int sig = sigtimedwait(&set, NULL, &second);
            if (sig < 0)
                continue; /* EAGAIN: a second went by; EINTR */
            if (sig == SIGHUP) {
                eng_reload(e);
                continue;
            }
            LOG(LOG_NOTICE, "serve", "signal %d: stopping", sig);
            break;
        }
    }
    eng_stop(e, started);
    return rc;
}

static void serve_usage(FILE *f)
{
    fputs("usage: roadwatch serve [-c FILE] [--clock system|data]\n"
          "Runs the engine. Without -c it uses the embedded configuration (config/engine.conf):\n"
          "JT/T 808 on 127.0.0.1:6808 (TCP and UDP), data in ./roadwatch-data.\n"
          "SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the reloadable keys.\n",
          f);
}

int serve_main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"clock", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct engine e;
    memset(&e, 0, sizeof e);
    const char *clock = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': e.cfg_path = optarg; break;
        case 'k': clock = optarg; break;
        case 'h': serve_usage(stdout); return 0;
        default: serve_usage(stderr); return 2;
        }
    }
    char err[512];
    int rc = e.cfg_path ? cfg_load(e.cfg_path, &e.cfg, err, sizeof err)
                        : cfg_parse(cfg_embedded, "(embedded)", &e.cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "roadwatch serve: %s\n", err);
        return 2;
    }
    if (clock && strcmp(clock, "system") != 0 && strcmp(clock, "data") != 0) {
        serve_usage(stderr);
        return 2;
    }
    if (clock)
        e.cfg.clock = strcmp(clock, "data") == 0 ? CFG_CLOCK_DATA : CFG_CLOCK_SYSTEM;
    log_set_level((int)e.cfg.log_level);
    eng_raise_nofile();
    rc = eng_run(&e);
    if (rc)
        fprintf(stderr, "roadwatch serve: %s\n", err_str(rc));
    return rc ? 1 : 0;
}

int check_config_main(int argc, char **argv)
{
    int print = argc > 2 && strcmp(argv[2], "--print") == 0;
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs("usage: roadwatch check-config FILE [--print]\n"
              "Validates FILE (errors as file:line: keyword: reason); --print shows every key\n"
              "with its effective value. FILE '-' checks the embedded configuration.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct cfg c;
    char err[512];
    int rc = strcmp(argv[1], "-") == 0
                 ? cfg_parse(cfg_embedded, "(embedded)", &c, err, sizeof err)
                 : cfg_load(argv[1], &c, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (print)
        cfg_print(&c, stdout);
    else
        printf("%s: ok\n", argv[1]);
    return 0;
}
