/* crash_test.c: kill -9 durability. A child process writes positions and raw frames under
 * load through the ingest contract and reports each batch it may acknowledge (status 0
 * from store_batch_reap) on a pipe; the parent SIGKILLs it at a random moment, reopens the
 * store and checks that every acknowledged record is present exactly once and that the
 * integrity walk is clean. RW_CRASH_KILLS (default 24) rounds on one store directory.
 * The store clock follows the data (as `serve --clock=data` does), so the points are
 * current: held in memory and journaled (store/README.md §3b), and a kill finds holds.
 * Plain program (fork + SIGKILL); exit 0 pass, 1 fail. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/store/test_util.h"

#define VEH 64
#define PER_RUN 2000          /* seconds of GNSS time reserved per run */
#define PER_BATCH 32
#define MAX_ACK (1u << 22)

struct ack { uint32_t run, idx; };

static int64_t base_t;
static _Atomic int64_t data_now; /* newest GNSS time written: the store's clock */

static int64_t data_clock(void *ctx)
{
    (void)ctx;
    int64_t t = data_now;
    return t > 0 ? t : time(NULL);
}

static void rec_of(uint32_t run, uint32_t idx, struct store_pos *p, struct store_raw *r,
                   char *frame, size_t cap)
{
    uint32_t vid = 1 + idx % VEH;
    int64_t t = base_t + (int64_t)run * PER_RUN + idx / VEH;
    if (t > data_now)
        data_now = t;
    tu_pos(p, vid, t, run);
    int len = snprintf(frame, cap, "r%ui%u", run, idx);
    memset(r, 0, sizeof *r);
    r->recv_time_ms = (int64_t)time(NULL) * 1000;
    r->conn_id = run;
    r->vehicle_id = vid;
    r->peer_len = 4;
    r->frame = (struct rw_bytes){(const uint8_t *)frame, (uint32_t)len};
}

/* Idx list per in-flight batch, indexed by shard and slot (the engine's pattern). */
static uint32_t inflight[2][64][PER_BATCH + 2];

static void child_reap_acks(struct store *st, unsigned shard, int fd)
{
    struct store_batch *d[16];
    unsigned n = store_batch_reap(st, shard, d, 16);
    for (unsigned i = 0; i < n; i++) {
        uint32_t *l = inflight[shard][store_batch_slot(d[i])];
        if (store_batch_status(d[i]) == 0) {
            struct ack a[PER_BATCH];
            for (uint32_t j = 0; j < l[1]; j++)
                a[j] = (struct ack){l[0], l[2 + j]};
            ssize_t w = write(fd, a, l[1] * sizeof a[0]);
            if (w != (ssize_t)(l[1] * sizeof a[0]))
                _exit(3);
        }
        store_batch_release(st, d[i]);
    }
}

static void child_main(const char *dir, uint32_t run, int fd)
{
    struct store_config c;
    tu_config(&c, dir);
    c.shards = 2;
    c.pool_batches = 16;
    c.batch_pos = PER_BATCH;
    c.batch_raw = PER_BATCH;
    c.clock = data_clock;
    data_now = base_t + (int64_t)run * PER_RUN;
    struct store *st = tu_open(&c);
    char frame[64];
    for (uint32_t idx = 0;; ) {
        unsigned s = (idx / PER_BATCH) & 1;
        if (idx / VEH >= PER_RUN - 1) { /* this run's time range is full: idle until killed */
            child_reap_acks(st, 0, fd);
            child_reap_acks(st, 1, fd);
            usleep(1000);
            continue;
        }
        struct store_batch *b;
        while (store_batch_get(st, s, &b) != 0) {
            child_reap_acks(st, 0, fd);
            child_reap_acks(st, 1, fd);
            usleep(100);
        }
        uint32_t *l = inflight[s][store_batch_slot(b)];
        l[0] = run;
        l[1] = 0;
        for (int j = 0; j < PER_BATCH; j++, idx++) {
            struct store_pos p;
            struct store_raw r;
            rec_of(run, idx, &p, &r, frame, sizeof frame);
            if (store_batch_add_pos(b, &p) || store_batch_add_raw(b, &r))
                _exit(4);
            l[2 + l[1]++] = idx;
        }
        if (store_batch_submit(st, b))
            _exit(5);
        child_reap_acks(st, 0, fd);
        child_reap_acks(st, 1, fd);
    }
}

static struct ack *acks;
static size_t n_acks;

static void parent_collect(int fd, unsigned ms)
{
    static uint8_t buf[1 << 16];
    static size_t carry;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        ssize_t n = read(fd, buf + carry, sizeof buf - carry);
        if (n > 0) {
            size_t tot = carry + (size_t)n, whole = tot / sizeof(struct ack);
            for (size_t i = 0; i < whole && n_acks < MAX_ACK; i++)
                memcpy(&acks[n_acks++], buf + i * sizeof(struct ack), sizeof(struct ack));
            carry = tot - whole * sizeof(struct ack);
            memmove(buf, buf + whole * sizeof(struct ack), carry);
            continue;
        }
        if (n == 0)
            return; /* writer end closed: child dead */
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (ms && (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
            return;
        usleep(500);
    }
}

static uint8_t *raw_seen; /* [run * 1M + idx] occurrences */

static int raw_cb(const struct store_raw *r, void *ctx)
{
    unsigned run, idx;
    char s[32];
    (void)ctx;
    snprintf(s, sizeof s, "%.*s", (int)r->frame.len, r->frame.p);
    if (sscanf(s, "r%ui%u", &run, &idx) == 2 && run < 64 && idx < (1u << 20) &&
        raw_seen[(size_t)run * (1u << 20) + idx] < 255)
        raw_seen[(size_t)run * (1u << 20) + idx]++;
    return 0;
}

static int cmp_t(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int verify(const char *dir, uint32_t runs, int64_t t_start_ms)
{
    struct store_config c;
    tu_config(&c, dir);
    c.shards = 2;
    c.clock = data_clock;
    data_now = base_t + (int64_t)runs * PER_RUN;
    struct store *st = tu_open(&c);
    int bad = 0;
    long problems = store_verify(st);
    if (problems) {
        fprintf(stderr, "integrity walk: %ld problems\n", problems);
        bad++;
    }
    static struct store_pos pts[1 << 20];
    static int64_t times[VEH + 1][1 << 16];
    static size_t nt[VEH + 1];
    for (uint32_t v = 1; v <= VEH; v++) {
        long n = store_track_read(st, v, base_t, base_t + (int64_t)runs * PER_RUN, pts, 1 << 20);
        nt[v] = 0;
        for (long i = 0; i < n && i < (1 << 16); i++) {
            if (i && pts[i].gnss_time == pts[i - 1].gnss_time) {
                fprintf(stderr, "vehicle %u: point at %lld stored twice\n", v,
                        (long long)pts[i].gnss_time);
                bad++;
            }
            times[v][nt[v]++] = pts[i].gnss_time;
        }
    }
    memset(raw_seen, 0, (size_t)64 << 20);
    store_raw_read(st, t_start_ms - 1000, (int64_t)time(NULL) * 1000 + 1000, 0, 0, raw_cb, NULL);
    for (size_t i = 0; i < n_acks && bad < 20; i++) {
        uint32_t vid = 1 + acks[i].idx % VEH;
        int64_t t = base_t + (int64_t)acks[i].run * PER_RUN + acks[i].idx / VEH;
        if (!bsearch(&t, times[vid], nt[vid], sizeof(int64_t), cmp_t)) {
            fprintf(stderr, "acked point run %u idx %u lost\n", acks[i].run, acks[i].idx);
            bad++;
        }
        uint8_t seen = raw_seen[(size_t)acks[i].run * (1u << 20) + acks[i].idx];
        if (seen != 1) {
            fprintf(stderr, "acked frame run %u idx %u present %u times\n", acks[i].run,
                    acks[i].idx, seen);
            bad++;
        }
    }
    store_close(st);
    return bad;
}

int main(void)
{
    const char *e = getenv("RW_CRASH_KILLS");
    uint32_t kills = e ? (uint32_t)strtoul(e, NULL, 10) : 24;
    char dir[256];
    tu_mkdtemp(dir, "crash");
    acks = calloc(MAX_ACK, sizeof *acks);
    raw_seen = calloc((size_t)64 << 20, 1);
    base_t = time(NULL) - 20 * 3600; /* 24 runs x 2000 s end before now */
    int64_t t_start_ms = (int64_t)time(NULL) * 1000;
    uint64_t rs = 20250301;
    int failures = 0;
    for (uint32_t run = 0; run < kills && run < 64; run++) {
        int pfd[2];
        if (pipe(pfd))
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            child_main(dir, run, pfd[1]);
            _exit(0);
        }
        close(pfd[1]);
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        size_t before = n_acks;
        parent_collect(pfd[0], 80 + (unsigned)(tu_rand(&rs) % 400));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        fcntl(pfd[0], F_SETFL, 0);
        parent_collect(pfd[0], 0);
        close(pfd[0]);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            fprintf(stderr, "run %u: child did not die by SIGKILL (status %d)\n", run, status);
            failures++;
        }
        int bad = verify(dir, run + 1, t_start_ms);
        printf("run %2u: killed after %zu acked records; check: %s\n", run, n_acks - before,
               bad ? "FAIL" : "ok");
        fflush(stdout);
        failures += bad;
    }
    printf("crash test: %u kills, %zu acknowledged records, %d failures\n", kills, n_acks,
           failures);
    tu_rmrf(dir);
    return failures ? 1 : 0;
}
