/* engine_test.c: the CI end-to-end "every report acknowledged and stored" run.
 *
 * usage: e2e_bench_engine ROADWATCH ROADWATCH-BENCH SCENARIO
 * Exits 77 (skipped) while `roadwatch serve --help` fails, i.e. until the engine has its
 * serve verb. Otherwise: starts `roadwatch serve --clock=data` in a temporary directory
 * (so its data directory is the default ./roadwatch-data there), waits for 127.0.0.1:6808,
 * runs the small scenario (about 20 s) with --expect-all-acked (every generated position
 * acknowledged, nothing outstanding), stops the engine and counts the points of every
 * vehicle in its store (platstore_count_all, as `roadwatch-bench storecheck` does): each
 * generated position must be there exactly once. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/load/platstore.h"

static int run_quiet(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int port_open(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(0x7F000001)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* count and p99_ms of the ack latency <name> of results.json (count -1 when absent). */
static long bench_latency(const char *path, const char *name, double *p99_ms)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    json_t *h = json_object_get(j, name);
    long n = h ? (long)json_integer_value(json_object_get(h, "count")) : -1;
    *p99_ms = h ? json_number_value(json_object_get(h, "p99_ms")) : 0;
    json_decref(j);
    return n;
}

/* records.points and records.blind_dropped of results.json. */
static long bench_points(const char *path, long *dropped)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    json_t *r = json_object_get(j, "records");
    long n = r ? (long)json_integer_value(json_object_get(r, "points")) : -1;
    *dropped = r ? (long)json_integer_value(json_object_get(r, "blind_dropped")) : 0;
    json_decref(j);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ROADWATCH ROADWATCH-BENCH SCENARIO\n", argv[0]);
        return 2;
    }
    char *help[] = {argv[1], "serve", "--help", NULL};
    if (run_quiet(help) != 0) {
        printf("skipped: `roadwatch serve` does not exist yet\n");
        return 77;
    }
    char dir[] = "/tmp/rw-e2e-bench-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0)
        return 1;
    pid_t eng = fork();
    if (eng == 0) {
        execl(argv[1], argv[1], "serve", "--clock=data", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && !port_open(6808); i++)
        usleep(100000);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)eng);
    char *bench[] = {argv[2], "run", argv[3], "--out", "out", "--target-pid", pid,
                     "--no-ceiling", "--expect-all-acked", "--quiet", NULL};
    pid_t b = fork();
    if (b == 0) {
        execv(argv[2], bench);
        _exit(127);
    }
    int st = 0;
    waitpid(b, &st, 0);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    kill(eng, SIGTERM);
    int est = 0;
    waitpid(eng, &est, 0);
    long dropped = 0;
    long sent = bench_points("out/results.json", &dropped);
    struct platstore_count c;
    int crc = platstore_count_all("roadwatch-data", &c);
    long stored = crc ? -1 : (long)c.points;
    printf("bench exit %d (0 = every position acknowledged); positions generated %ld, lost "
           "to a full blind-area buffer %ld, stored %ld (%llu duplicates, %llu vehicles); "
           "results in %s/out/results.json\n", rc, sent, dropped, stored,
           (unsigned long long)c.duplicates, (unsigned long long)c.vehicles, dir);
    if (rc != 0 || !WIFEXITED(est) || WEXITSTATUS(est) != 0) {
        printf("FAIL: bench exit %d, engine status %d\n", rc, est);
        return 1;
    }
    if (stored < 0 || sent <= 0 || stored != sent - dropped || c.duplicates) {
        printf("FAIL: every acknowledged position must be in the store exactly once\n");
        return 1;
    }
    /* Every answer read on loopback carries the kernel's receive time, and an arrival is
     * never later than the read: the at-arrival latency has (almost) every record and
     * a p99 no higher than at the read. */
    double p99 = 0, p99_rx = 0;
    long n = bench_latency("out/results.json", "ack_latency", &p99);
    long n_rx = bench_latency("out/results.json", "ack_latency_at_rx", &p99_rx);
    printf("ack latency: %ld records, p99 %.3f ms at the read, %ld records, p99 %.3f ms at "
           "the kernel's arrival\n", n, p99, n_rx, p99_rx);
    if (n <= 0 || n_rx < n - n / 100 || n_rx > n || p99_rx > p99) {
        printf("FAIL: the at-arrival ack latency must cover the records acknowledged\n");
        return 1;
    }
    return 0;
}
