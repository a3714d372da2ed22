/* platform_test.c: JT/T 809 lower platforms of the simulator against `roadwatch serve`.
 *
 * usage: e2e_bench_platform ROADWATCH ROADWATCH-BENCH SCENARIO
 * Exits 77 (skipped) while `roadwatch serve --help` fails. Otherwise, in a temporary
 * directory: writes the platform accounts of SCENARIO into a fresh store with
 * `roadwatch-bench accounts` (engine stopped), starts `roadwatch serve -c engine.conf
 * --clock=data` on free loopback ports (808 and 809; own live table), runs the platforms
 * (about 15 s, with a scripted outage so that 0x1203 re-uploads happen; the engine's
 * 0x9005 period is shortened with RW_JT809_LINKTEST_S so the subordinate link is tested
 * too), stops the engine with SIGTERM, opens its store read-only and checks that every
 * position sent (0x1202 and 0x1203 items, counted per vehicle) is stored exactly once,
 * with the source (809 live / 809 re-upload) it was sent with.
 * RW_TEST_TIMEOUT (seconds, default 60) bounds the wait for the ports. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/load/platstore.h"

static int run_wait(char *const argv[], int quiet)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (quiet) {
            freopen("/dev/null", "w", stdout);
            freopen("/dev/null", "w", stderr);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A port that was free a moment ago (bind to 0, read it back, close). */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000001)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
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

/* platforms.{count, positions_sent, sent_reup} and the logins of results.json. */
static int bench_figures(const char *path, long *count, long *sent, long *reup, long *logins,
                         long *sub_links)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    json_t *p = json_object_get(j, "platforms");
    if (!p) {
        json_decref(j);
        return -1;
    }
    *count = (long)json_integer_value(json_object_get(p, "count"));
    *sent = (long)json_integer_value(json_object_get(p, "positions_sent"));
    *reup = (long)json_integer_value(json_object_get(p, "sent_reup"));
    *logins = *sub_links = 0;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(p, "each"), i, x) {
        *logins += (long)json_integer_value(json_object_get(x, "logins"));
        *sub_links += (long)json_integer_value(json_object_get(x, "sub_links"));
    }
    json_decref(j);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ROADWATCH ROADWATCH-BENCH SCENARIO\n", argv[0]);
        return 2;
    }
    char *help[] = {argv[1], "serve", "--help", NULL};
    if (run_wait(help, 1) != 0) {
        printf("skipped: `roadwatch serve` does not exist yet\n");
        return 77;
    }
    const char *to = getenv("RW_TEST_TIMEOUT");
    int timeout_s = to ? (int)strtol(to, NULL, 10) : 60;
    char dir[] = "/tmp/rw-e2e-plat-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0)
        return 1;
    uint16_t p808 = free_port(), p809 = free_port();
    while (p809 == p808)
        p809 = free_port();
    FILE *c = fopen("engine.conf", "w");
    if (!c || !p808 || !p809)
        return 1;
    fprintf(c, "global\n  instance e2eplat%d\n  data_dir %s/data\n  workers 2\n"
            "jt808\n  tcp 127.0.0.1:%u\n  udp 127.0.0.1:%u\n"
            "jt809\n  tcp 127.0.0.1:%u\n"
            "live\n  path %s/live\n  max_vehicles 100000\n",
            (int)getpid(), dir, p808, p808, p809, dir);
    fclose(c);
    char data[64];
    snprintf(data, sizeof data, "%s/data", dir);
    char *acc[] = {argv[2], "accounts", argv[3], data, NULL};
    if (run_wait(acc, 0) != 0) {
        printf("FAIL: roadwatch-bench accounts\n");
        return 1;
    }
    setenv("RW_JT809_LINKTEST_S", "2", 1);
    pid_t eng = fork();
    if (eng == 0) {
        execl(argv[1], argv[1], "serve", "-c", "engine.conf", "--clock=data", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < timeout_s * 10 && !port_open(p809); i++)
        usleep(100000);
    char s808[8], s809[8];
    snprintf(s808, sizeof s808, "%u", p808);
    snprintf(s809, sizeof s809, "%u", p809);
    char *bench[] = {argv[2], "run", argv[3], "--out", "out", "--port", s808,
                     "--port809", s809, "--no-ceiling", "--quiet", NULL};
    int rc = run_wait(bench, 0);
    /* The platforms' vehicles reach the live table through the mesh (the link thread owns
     * no vehicle): count them with `roadwatch top` while the engine still runs. */
    char cmd[256], line[512];
    snprintf(cmd, sizeof cmd, "%s top --once --json --path %s/live", argv[1], dir);
    unsigned long long live_vehicles = 0;
    FILE *tp = popen(cmd, "r");
    while (tp && fgets(line, sizeof line, tp)) {
        const char *v = strstr(line, "\"vehicles\":");
        if (v)
            live_vehicles = strtoull(v + 11, NULL, 10);
    }
    if (tp)
        pclose(tp);
    /* The link server's counters reach `roadwatch stats` through the live table (copied
     * once a second): wait until they cover every position the platforms sent. */
    unsigned long long st_logins = 0, st_pos = 0, st_reup = 0, st_mesh = 0;
    long sent_now = -1, m0 = 0, r0 = 0, l0 = 0, s0 = 0;
    bench_figures("out/results.json", &m0, &sent_now, &r0, &l0, &s0);
    snprintf(cmd, sizeof cmd, "%s stats --path %s/live", argv[1], dir);
    for (int tries = 0; tries < 50 && (long)(st_pos + st_reup) < sent_now; tries++) {
        if (tries)
            usleep(100000);
        FILE *sp = popen(cmd, "r");
        while (sp && fgets(line, sizeof line, sp)) {
            sscanf(line, "roadwatch_jt809_logins_ok %llu", &st_logins);
            sscanf(line, "roadwatch_jt809_positions %llu", &st_pos);
            sscanf(line, "roadwatch_jt809_positions_reup %llu", &st_reup);
            sscanf(line, "roadwatch_jt809_mesh_sent %llu", &st_mesh);
        }
        if (sp)
            pclose(sp);
    }
    kill(eng, SIGTERM);
    int est = 0;
    waitpid(eng, &est, 0);
    long m = 0, sent = -1, reup = 0, logins = 0, subs = 0;
    bench_figures("out/results.json", &m, &sent, &reup, &logins, &subs);
    struct platstore_check k;
    int crc = platstore_check(data, "out/platform_vehicles.tsv", stdout, &k);
    printf("bench exit %d, engine status %d; %ld platforms, %ld logins, %ld subordinate "
           "links; vehicles %llu; sent %llu live + %llu re-uploaded; stored %llu live + %llu "
           "re-uploaded, %llu other, %llu duplicates, %llu vehicles mismatched; in %s\n",
           rc, est, m, logins, subs, (unsigned long long)k.vehicles,
           (unsigned long long)k.sent_live, (unsigned long long)k.sent_reup,
           (unsigned long long)k.stored_live, (unsigned long long)k.stored_reup,
           (unsigned long long)k.stored_other, (unsigned long long)k.duplicates,
           (unsigned long long)k.mismatched, dir);
    if (rc != 0 || !WIFEXITED(est) || WEXITSTATUS(est) != 0) {
        printf("FAIL: bench exit %d, engine status %d\n", rc, est);
        return 1;
    }
    if (crc != 0 || sent <= 0 || (uint64_t)sent != k.sent_live + k.sent_reup) {
        printf("FAIL: every position sent must be in the store exactly once (check %d)\n",
               crc);
        return 1;
    }
    printf("roadwatch stats: jt809 logins %llu, positions %llu + %llu re-uploaded, mesh %llu\n",
           st_logins, st_pos, st_reup, st_mesh);
    if ((long)(st_pos + st_reup) != sent || (long)st_logins < logins || st_mesh == 0) {
        printf("FAIL: roadwatch stats must count the platforms' logins and positions\n");
        return 1;
    }
    if (live_vehicles < k.vehicles) {
        printf("FAIL: the live table shows %llu vehicles, the platforms sent %llu\n",
               live_vehicles, (unsigned long long)k.vehicles);
        return 1;
    }
    if (reup <= 0 || logins < 2 * m || subs < m) {
        printf("FAIL: the outage must cause re-logins and 0x1203 re-uploads, and every "
               "platform must get its subordinate link\n");
        return 1;
    }
    return 0;
}
