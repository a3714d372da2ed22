/* top.c: `roadwatch top` and `roadwatch stats` — read the running engine's live table and
 * metrics from shared memory, from another process, without disturbing it (lock-free
 * reads of the sequence-locked slots; metrics are plain counters read racily, which is
 * fine for monitoring). */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "engine/link809.h"
#include "engine/live/live.h"
#include "engine/serve.h"

#define TOP_BUSIEST 10

struct top_opts {
    char path[300];
    int once;
    int json;
    double interval_s;
    long window_s;
};

struct top_counts {
    uint64_t vehicles, connected, online, alarming, points_today;
    uint32_t best_id[TOP_BUSIEST];
    uint32_t best_pts[TOP_BUSIEST];
};

static void top_rank(struct top_counts *t, uint32_t id, uint32_t pts)
{
    for (int i = 0; i < TOP_BUSIEST; i++) {
        if (pts > t->best_pts[i] || t->best_id[i] == 0) {
            memmove(&t->best_id[i + 1], &t->best_id[i], (TOP_BUSIEST - 1 - (size_t)i) * 4);
            memmove(&t->best_pts[i + 1], &t->best_pts[i], (TOP_BUSIEST - 1 - (size_t)i) * 4);
            t->best_id[i] = id;
            t->best_pts[i] = pts;
            return;
        }
    }
}

/* The newest GMT+8 day any vehicle reported in: "today" of the data, which is the wall
 * clock's today in production and the simulated day under --clock=data. */
static uint32_t top_today(const struct live *lv)
{
    uint32_t day = 0;
    for (uint64_t id = 1; id < live_slots(lv); id++) {
        struct live_slot s;
        if (live_slot_read(lv, (uint32_t)id, &s) == 0 && s.vehicle_id && s.day > day)
            day = s.day;
    }
    return day;
}

static void top_scan(const struct live *lv, long window_s, struct top_counts *t)
{
    memset(t, 0, sizeof *t);
    int64_t now = time(NULL);
    uint32_t today = top_today(lv);
    for (uint64_t id = 1; id < live_slots(lv); id++) {
        struct live_slot s;
        if (live_slot_read(lv, (uint32_t)id, &s) != 0 || s.vehicle_id == 0)
            continue;
        t->vehicles++;
        t->connected += s.connected;
        /* GB/T 35658 §3.7: connected and positioning normally (a recent valid fix). */
        if (s.connected && s.fix_valid && now - s.recv_time <= window_s)
            t->online++;
        t->alarming += s.alarm != 0;
        uint32_t pts = s.day == today ? s.points_today : 0;
        t->points_today += pts;
        if (pts)
            top_rank(t, (uint32_t)id, pts);
    }
}

static void top_sum(const struct live *lv, struct live_metrics *sum)
{
    const struct live_hdr *h = live_header(lv);
    memset(sum, 0, sizeof *sum);
    for (uint32_t w = 0; w < h->workers && w < LIVE_MAX_WORKERS; w++) {
        const uint64_t *src = (const uint64_t *)&h->metrics[w];
        uint64_t *dst = (uint64_t *)sum;
        for (size_t i = 0; i < sizeof *sum / 8; i++)
            dst[i] += src[i];
    }
}

static void top_print(const struct live *lv, const struct top_opts *o)
{
    struct top_counts t;
    struct live_metrics m;
    top_scan(lv, o->window_s, &t);
    top_sum(lv, &m);
    const struct live_hdr *h = live_header(lv);
    struct link809_metrics j;
    memcpy(&j, h->jt809.m, sizeof j); /* all zero without a JT/T 809 listener */
    if (o->json) {
        printf("{\"pid\":%d,\"workers\":%u,\"vehicles\":%llu,\"connected\":%llu,\"online\":%llu,"
               "\"alarming\":%llu,\"points_today\":%llu,\"connections_open\":%llu,"
               "\"positions\":%llu,\"acks\":%llu,\"jt809_links_up\":%llu,"
               "\"jt809_positions\":%llu}\n",
               h->pid, h->workers, (unsigned long long)t.vehicles,
               (unsigned long long)t.connected, (unsigned long long)t.online,
               (unsigned long long)t.alarming, (unsigned long long)t.points_today,
               (unsigned long long)m.conns_open, (unsigned long long)m.positions,
               (unsigned long long)m.acks_sent, (unsigned long long)j.links_up,
               (unsigned long long)(j.positions + j.positions_reup));
        return;
    }
    if (!o->once)
        fputs("\033[H\033[2J", stdout);
    printf("roadwatch top — pid %d, %u workers, up %llds\n", h->pid, h->workers,
           (long long)(time(NULL) - h->start_time));
    printf("vehicles %llu  connected %llu  online %llu  with alarms %llu  points today %llu\n",
           (unsigned long long)t.vehicles, (unsigned long long)t.connected,
           (unsigned long long)t.online, (unsigned long long)t.alarming,
           (unsigned long long)t.points_today);
    printf("connections %llu  positions %llu  acks %llu  bad frames %llu  backpressure %llu\n",
           (unsigned long long)m.conns_open, (unsigned long long)m.positions,
           (unsigned long long)m.acks_sent, (unsigned long long)m.frames_bad,
           (unsigned long long)m.backpressure_events);
    const struct live_store *ls = &h->store;
    printf("store: commits %llu  slowest %.1f ms  held %llu points of %llu vehicles  %s\n",
           (unsigned long long)ls->s.commits, (double)ls->s.commit_ns_max / 1e6,
           (unsigned long long)ls->held_points, (unsigned long long)ls->held_vehicles,
           ls->health ? err_str((int)ls->health) : "healthy");
    if (h->jt809.enabled) {
        uint64_t refused = 0;
        for (unsigned r = 0; r < 8; r++)
            refused += j.logins_failed[r];
        printf("jt809: links up %llu  logins %llu (refused %llu)  positions %llu (re-uploaded "
               "%llu)  subordinate links %llu (failed %llu)\n",
               (unsigned long long)j.links_up, (unsigned long long)j.logins_ok,
               (unsigned long long)refused, (unsigned long long)j.positions,
               (unsigned long long)j.positions_reup, (unsigned long long)j.sub_up,
               (unsigned long long)j.sub_failed);
    }
    putchar('\n');
    printf("%-10s %-12s %-6s %10s %11s %11s %8s\n", "vehicle", "plate", "colour", "points",
           "lat", "lon", "km/h");
    for (int i = 0; i < TOP_BUSIEST && t.best_id[i]; i++) {
        struct live_slot s;
        if (live_slot_read(lv, t.best_id[i], &s) != 0)
            continue;
        char plate[64];
        text_gbk_to_utf8(rw_bytes_of(s.plate, sizeof s.plate), plate, sizeof plate);
        printf("%-10u %-12s %-6u %10u %11.6f %11.6f %8.1f\n", s.vehicle_id, plate,
               s.plate_color, t.best_pts[i], s.lat_e6 / 1e6, s.lon_e6 / 1e6,
               s.speed_dkmh / 10.0);
    }
    fflush(stdout);
}

static int top_args(int argc, char **argv, struct top_opts *o)
{
    static const struct option opts[] = {
        {"instance", required_argument, NULL, 'i'}, {"path", required_argument, NULL, 'p'},
        {"once", no_argument, NULL, '1'},           {"json", no_argument, NULL, 'j'},
        {"interval", required_argument, NULL, 'n'}, {"window", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    live_default_path("default", o->path, sizeof o->path);
    o->interval_s = 1;
    o->window_s = 600;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'i': live_default_path(optarg, o->path, sizeof o->path); break;
        case 'p': snprintf(o->path, sizeof o->path, "%s", optarg); break;
        case '1': o->once = 1; break;
        case 'j': o->json = 1; o->once = 1; break;
        case 'n': o->interval_s = strtod(optarg, NULL); break;
        case 'w': o->window_s = strtol(optarg, NULL, 10); break;
        case 'h': return 1;
        default: return -1;
        }
    }
    return o->interval_s > 0 && o->window_s > 0 ? 0 : -1;
}

int top_main(int argc, char **argv)
{
    struct top_opts o;
    int a = top_args(argc, argv, &o);
    if (a) {
        fputs("usage: roadwatch top [--instance NAME | --path FILE] [--once] [--json]\n"
              "                     [--interval S] [--window S]\n"
              "Live counts (vehicles, connected, online per GB/T 35658 §3.7 within --window\n"
              "seconds, alarms) and the busiest vehicles of today, from the live table.\n",
              a < 0 ? stderr : stdout);
        return a < 0 ? 2 : 0;
    }
    struct live *lv;
    int rc = live_open_ro(o.path, &lv);
    if (rc) {
        fprintf(stderr, "roadwatch top: %s: %s\n", o.path,
                rc == -ENOENT ? "no engine has run with this instance" : err_str(rc));
        return 1;
    }
    for (int i = 0; i < 1000000; i++) { /* bounded: about 11 days at 1 s */
        top_print(lv, &o);
        if (o.once)
            break;
        usleep((useconds_t)(o.interval_s * 1e6));
    }
    live_close(lv);
    return 0;
}

/* One log2 latency histogram of every worker's metric block (20 buckets at <off>, the
 * first <base> seconds wide), in the Prometheus text format. */
static void stats_hist(const struct live_hdr *h, const char *name, const char *help,
                       size_t off, size_t sum_off, double base)
{
    printf("# HELP roadwatch_%s %s\n# TYPE roadwatch_%s histogram\n", name, help, name);
    for (uint32_t w = 0; w < h->workers && w < LIVE_MAX_WORKERS; w++) {
        const uint64_t *hist = (const uint64_t *)((const char *)&h->metrics[w] + off);
        uint64_t cum = 0;
        /* bucket b < 19 counts values below base << b; the last one takes the rest, so it
         * is only in +Inf (hist.h) */
        for (int b = 0; b < 19; b++) {
            cum += hist[b];
            printf("roadwatch_%s_bucket{worker=\"%u\",le=\"%g\"} %llu\n", name, w,
                   base * (double)(1u << b), (unsigned long long)cum);
        }
        cum += hist[19];
        printf("roadwatch_%s_bucket{worker=\"%u\",le=\"+Inf\"} %llu\n", name, w,
               (unsigned long long)cum);
        uint64_t sum_us = *(const uint64_t *)((const char *)&h->metrics[w] + sum_off);
        printf("roadwatch_%s_sum{worker=\"%u\"} %.6f\n", name, w, (double)sum_us * 1e-6);
        printf("roadwatch_%s_count{worker=\"%u\"} %llu\n", name, w, (unsigned long long)cum);
    }
}

/* The JT/T 809 server's block (copied by the engine once a second), when it runs one. */
static void stats_jt809(const struct live_jt809 *j)
{
    if (!j->enabled)
        return;
    struct link809_metrics m;
    memcpy(&m, j->m, sizeof m);
    static const struct {
        const char *name, *help, *type;
        size_t off;
    } f[] = {
#define JF(n, h, t) {#n, h, t, offsetof(struct link809_metrics, n)}
        JF(links_accepted, "JT/T 809 main-link connections accepted.", "counter"),
        JF(links_refused, "JT/T 809 main-link connections refused over the link limit.",
           "counter"),
        JF(links_closed, "JT/T 809 main links closed.", "counter"),
        JF(links_up, "JT/T 809 main links logged in.", "gauge"),
        JF(logins_ok, "JT/T 809 logins accepted (0x1002 result 0).", "counter"),
        JF(frames_in, "JT/T 809 good frames received.", "counter"),
        JF(frames_out, "JT/T 809 frames sent.", "counter"),
        JF(frames_bad, "JT/T 809 frames with framing, CRC, decryption or decode errors.",
           "counter"),
        JF(frames_unauth, "JT/T 809 frames dropped before login.", "counter"),
        JF(bytes_in, "JT/T 809 bytes received.", "counter"),
        JF(bytes_out, "JT/T 809 bytes sent.", "counter"),
        JF(positions, "JT/T 809 real-time positions (0x1202) handed to the store.", "counter"),
        JF(positions_reup, "JT/T 809 re-uploaded positions (0x1203) handed to the store.",
           "counter"),
        JF(positions_bad, "JT/T 809 positions not stored: impossible date or no vehicle.",
           "counter"),
        JF(vehicles_enrolled, "Vehicles enrolled from JT/T 809 platforms.", "counter"),
        JF(registrations, "JT/T 809 vehicle registrations (0x1201).", "counter"),
        JF(static_info, "JT/T 809 static information messages (0x1601).", "counter"),
        JF(alarms, "JT/T 809 alarms (0x1402) stored.", "counter"),
        JF(alarm_results, "JT/T 809 alarm handling results applied.", "counter"),
        JF(alarm_results_unmatched, "JT/T 809 alarm handling results with no alarm.",
           "counter"),
        JF(sub_up, "JT/T 809 subordinate links established.", "counter"),
        JF(sub_failed, "JT/T 809 subordinate links failed: connect, refusal or timeout.",
           "counter"),
        JF(sub_refused, "JT/T 809 subordinate links not tried: address not allowed.",
           "counter"),
        JF(link_timeouts, "JT/T 809 links closed for silence.", "counter"),
        JF(backpressure_events, "JT/T 809 reading paused for lack of a store batch.",
           "counter"),
        JF(raw_dropped, "JT/T 809 raw frames not logged for lack of room.", "counter"),
        JF(store_errors, "JT/T 809 store calls that failed.", "counter"),
        JF(mesh_sent, "JT/T 809 live-state changes sent to the vehicles' owners.", "counter"),
        JF(mesh_dropped, "JT/T 809 live-state changes lost to a full mesh ring.", "counter"),
#undef JF
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        printf("# HELP roadwatch_jt809_%s %s\n# TYPE roadwatch_jt809_%s %s\n"
               "roadwatch_jt809_%s %llu\n",
               f[i].name, f[i].help, f[i].name, f[i].type, f[i].name,
               (unsigned long long)*(const uint64_t *)((const char *)&m + f[i].off));
    printf("# HELP roadwatch_jt809_logins_failed JT/T 809 logins refused, by 0x1002 result "
           "(1 address, 2 access code, 3 user, 4 password, 5 busy, 6 other).\n"
           "# TYPE roadwatch_jt809_logins_failed counter\n");
    for (unsigned r = 1; r <= 6; r++)
        printf("roadwatch_jt809_logins_failed{result=\"%u\"} %llu\n", r,
               (unsigned long long)m.logins_failed[r]);
}

/* The store's block (copied by the engine once a second): no worker label. */
static void stats_store(const struct live_store *s)
{
    static const struct {
        const char *name, *help, *type;
        size_t off;
    } f[] = {
#define SF(n, h, t) {#n, h, t, offsetof(struct live_store, s.n)}
#define SH(n, h, t) {#n, h, t, offsetof(struct live_store, n)}
        SF(commits, "Store write transactions committed.", "counter"),
        SF(batches, "Store batches committed.", "counter"),
        SF(points, "Positions offered to the store.", "counter"),
        SF(points_dup, "Positions dropped as copies.", "counter"),
        SF(points_old, "Positions dropped: older than the retention window.", "counter"),
        SF(points_future, "Positions dropped: too far in the future, or vehicle 0.", "counter"),
        SF(points_full, "Positions dropped: the 20-minute slot was full.", "counter"),
        SF(raw_frames, "Raw frames stored.", "counter"),
        SF(raw_dropped, "Raw frames dropped: outside the window.", "counter"),
        SF(commit_errors, "Failed store write transactions (retried).", "counter"),
        SF(map_grows, "Day map size doublings.", "counter"),
        SF(reader_slots_freed, "Stale LMDB reader slots cleared.", "counter"),
        SF(parts_dropped, "Day partitions removed by retention.", "counter"),
        SF(days_compacted, "Day partitions compacted.", "counter"),
        SH(held_vehicles, "Vehicles whose open track slot is held in memory.", "gauge"),
        SH(held_points, "Track points held in memory (journaled on disk).", "gauge"),
#undef SF
#undef SH
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        printf("# HELP roadwatch_store_%s %s\n# TYPE roadwatch_store_%s %s\n"
               "roadwatch_store_%s %llu\n",
               f[i].name, f[i].help, f[i].name, f[i].type, f[i].name,
               (unsigned long long)*(const uint64_t *)((const char *)s + f[i].off));
    printf("# HELP roadwatch_store_health 0 when the store writes, else the negative error code "
           "it fails with.\n# TYPE roadwatch_store_health gauge\nroadwatch_store_health %lld\n",
           (long long)s->health);
    printf("# HELP roadwatch_store_commit_seconds Store write transaction durations.\n"
           "# TYPE roadwatch_store_commit_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b < 20; b++) {
        cum += s->s.commit_hist[b];
        if (b < 19)
            printf("roadwatch_store_commit_seconds_bucket{le=\"%g\"} %llu\n",
                   64e-6 * (double)(1u << b), (unsigned long long)cum);
    }
    printf("roadwatch_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
           "roadwatch_store_commit_seconds_sum %.6f\n"
           "roadwatch_store_commit_seconds_count %llu\n",
           (unsigned long long)cum, (double)s->s.commit_ns_sum * 1e-9, (unsigned long long)cum);
    printf("# HELP roadwatch_store_writer_seconds_total The store writer thread's time by "
           "activity.\n# TYPE roadwatch_store_writer_seconds_total counter\n");
    for (int a = 0; a < STORE_WACT_N; a++)
        printf("roadwatch_store_writer_seconds_total{activity=\"%s\"} %.3f\n",
               store_wact_name((enum store_wact)a), (double)s->s.writer_ns[a] / 1e9);
}

#define STAT(f, help, type)                                                                \
    do {                                                                                   \
        printf("# HELP roadwatch_%s %s\n# TYPE roadwatch_%s %s\n", #f, help, #f, type);    \
        for (uint32_t w = 0; w < h->workers && w < LIVE_MAX_WORKERS; w++)                  \
            printf("roadwatch_%s{worker=\"%u\"} %llu\n", #f, w,                            \
                   (unsigned long long)h->metrics[w].f);                                   \
    } while (0)

int stats_main(int argc, char **argv)
{
    struct top_opts o;
    if (top_args(argc, argv, &o)) {
        fputs("usage: roadwatch stats [--instance NAME | --path FILE]\n"
              "Prints the engine's metrics in the Prometheus text format.\n", stderr);
        return 2;
    }
    struct live *lv;
    int rc = live_open_ro(o.path, &lv);
    if (rc) {
        fprintf(stderr, "roadwatch stats: %s: %s\n", o.path, err_str(rc));
        return 1;
    }
    const struct live_hdr *h = live_header(lv);
    STAT(conns_accepted, "Connections accepted.", "counter");
    STAT(conns_refused, "Connections refused over max_connections.", "counter");
    STAT(conns_closed, "Connections closed.", "counter");
    STAT(conns_open, "Connections open.", "gauge");
    STAT(frames_in, "Good frames received.", "counter");
    STAT(frames_bad, "Malformed frames received.", "counter");
    STAT(bytes_in, "Bytes received.", "counter");
    STAT(bytes_out, "Bytes sent.", "counter");
    STAT(positions, "Positions handed to the store.", "counter");
    STAT(acks_sent, "General responses sent after commit.", "counter");
    STAT(unauth_dropped, "Frames dropped from unauthenticated peers.", "counter");
    STAT(backpressure_events, "Times reading paused for lack of a store batch.", "counter");
    STAT(registrations, "Terminal registrations.", "counter");
    STAT(auth_ok, "Successful authentications.", "counter");
    STAT(auth_fail, "Failed authentications.", "counter");
    STAT(dup_conn_closed, "Older connections closed for a newer one.", "counter");
    STAT(mesh_sent, "Live-state changes sent to the worker owning the vehicle.", "counter");
    STAT(mesh_applied, "Live-state changes applied as owner, from other threads.", "counter");
    STAT(mesh_dropped, "Live-state changes lost to a full mesh ring.", "counter");
    stats_hist(h, "commit_latency_seconds", "Receive to commit.",
               offsetof(struct live_metrics, lat_commit_hist),
               offsetof(struct live_metrics, lat_commit_sum_us), 64e-6);
    stats_hist(h, "ack_latency_seconds", "Commit to acknowledgements queued (per batch).",
               offsetof(struct live_metrics, lat_ack_hist),
               offsetof(struct live_metrics, lat_ack_sum_us), 4e-6);
    stats_store(&h->store);
    stats_jt809(&h->jt809);
    live_close(lv);
    return 0;
}
