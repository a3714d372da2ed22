/* store_bench.c: write throughput with the raw log on, bytes per point / per raw frame on
 * disk, one vehicle-day playback latency, area x time query latency, restore rate.
 * Every sample is kept; percentiles are computed over all of them (STYLE §11). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/micro/bench_util.h"
#include "store/store.h"
#include "tests/unit/store/test_util.h"

static uint64_t dir_bytes(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t sum = 0;
    char p[700];
    while (d && (e = readdir(d)) != NULL) {
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && !strstr(e->d_name, "-lock") &&
            stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            sum += (uint64_t)sb.st_size;
    }
    if (d)
        closedir(d);
    return sum;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[(int)(p * (n - 1))];
}

static struct store *open_bench(const char *dir, struct store_config *c)
{
    tu_config(c, dir);
    c->pool_batches = 32;
    c->batch_pos = 1024;
    c->batch_raw = 1024;
    c->batch_arena = 256 * 1024;
    c->day_map_initial = 256u << 20;
    c->day_map_max = 64ull << 30;
    c->commit_interval_ms = 5;
    return tu_open(c);
}

/* Submits without waiting; reaps as it goes (the engine's pattern). */
static void pump(struct store *st, struct store_batch **b, unsigned *inflight)
{
    while (store_batch_submit(st, *b) != 0)
        ;
    (*inflight)++;
    *b = NULL;
    for (;;) {
        struct store_batch *d[32];
        unsigned n = store_batch_reap(st, 0, d, 32);
        for (unsigned i = 0; i < n; i++)
            store_batch_release(st, d[i]);
        *inflight -= n;
        if (store_batch_get(st, 0, b) == 0)
            return;
    }
}

static void drain(struct store *st, unsigned inflight)
{
    while (inflight) {
        struct store_batch *d[32];
        unsigned n = store_batch_reap(st, 0, d, 32);
        for (unsigned i = 0; i < n; i++)
            store_batch_release(st, d[i]);
        inflight -= n;
    }
}

/* A vehicle-day: 2,880 points at 30 s, vehicles interleaved as live traffic is. */
static double write_day(struct store *st, unsigned veh, int64_t day0, int raw)
{
    struct store_batch *b;
    unsigned inflight = 0;
    uint8_t frame[64];
    memset(frame, 0x30, sizeof frame);
    store_batch_get(st, 0, &b);
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < 2880; i++)
        for (unsigned v = 1; v <= veh; v++) {
            struct store_pos p;
            tu_pos(&p, v, day0 + i * 30, 0);
            p.lat_e6 = 30000000 + (int32_t)(v % 300) * 3000 + i * 40;
            p.lon_e6 = 114000000 + (int32_t)(v / 300) * 3000 + i * 35;
            if (store_batch_add_pos(b, &p) != 0 ||
                (raw && store_batch_add_raw(b, &(struct store_raw){p.recv_time_ms, v, v, 0, 0, 4,
                        {10, 0, 0, 1}, 6808, {frame, 58}}) != 0)) {
                pump(st, &b, &inflight);
                store_batch_add_pos(b, &p);
                if (raw)
                    store_batch_add_raw(b, &(struct store_raw){p.recv_time_ms, v, v, 0, 0, 4,
                                        {10, 0, 0, 1}, 6808, {frame, 58}});
            }
        }
    pump(st, &b, &inflight);
    store_batch_release(st, b);
    drain(st, inflight);
    return (double)(bench_now_ns() - t0) / 1e9;
}

/* The same data and queries for another database (bench/run loads them into PostgreSQL +
 * PostGIS): `bench_store --export-csv KIND` writes CSV to stdout, KIND one of
 *   tracks         vehicle,t,lat_e6,lon_e6,speed_dkmh,direction,altitude_m,alarm,status,
 *                  mileage_hm,ewkt    (section 1: <veh> vehicle-days of 2,880 points)
 *   area           the same columns (section 4: <aveh> vehicles x 144 points)
 *   playback       vehicle,from,to    (the 2,000 playbacks of section 1, in order)
 *   areaq          lat_min,lat_max,lon_min,lon_max,from,to (the 500 queries of section 4)
 * exactly as main() generates them (same day0, same seeds, same random sequence). */
static void csv_pos(const struct store_pos *p)
{
    printf("%u,%lld,%d,%d,%u,%u,%d,%u,%u,%u,SRID=4326;POINT(%.6f %.6f)\n", p->vehicle_id,
           (long long)p->gnss_time, p->lat_e6, p->lon_e6, p->speed_dkmh, p->direction,
           p->altitude_m, p->alarm, p->status, p->mileage_hm, p->lon_e6 / 1e6,
           p->lat_e6 / 1e6);
}

static int export_csv(const char *kind, unsigned veh, unsigned aveh, int64_t day0)
{
    uint64_t rsd = 1;
    struct store_pos p;
    if (strcmp(kind, "tracks") == 0) {
        for (int i = 0; i < 2880; i++)
            for (unsigned v = 1; v <= veh; v++) {
                tu_pos(&p, v, day0 + i * 30, 0);
                p.lat_e6 = 30000000 + (int32_t)(v % 300) * 3000 + i * 40;
                p.lon_e6 = 114000000 + (int32_t)(v / 300) * 3000 + i * 35;
                csv_pos(&p);
            }
        return 0;
    }
    if (strcmp(kind, "area") == 0) {
        for (int i = 0; i < 144; i++)
            for (unsigned v = 1; v <= aveh; v++) {
                tu_pos(&p, v, day0 + i * 600 + (int)(v % 600), 0);
                uint64_t h = (uint64_t)v * 2654435761u + (uint64_t)i * 40503u;
                p.lat_e6 = 30000000 + (int32_t)(h % 1000000);
                p.lon_e6 = 114000000 + (int32_t)((h >> 20) % 1000000);
                csv_pos(&p);
            }
        return 0;
    }
    int pb = strcmp(kind, "playback") == 0, aq = strcmp(kind, "areaq") == 0;
    if (!pb && !aq)
        return 2;
    for (int i = 0; i < 2000; i++) {
        uint32_t v = 1 + (uint32_t)(tu_rand(&rsd) % veh);
        if (pb)
            printf("%u,%lld,%lld\n", v, (long long)day0, (long long)(day0 + 86400));
    }
    for (int i = 0; aq && i < 500; i++) {
        int32_t la = 30000000 + (int32_t)(tu_rand(&rsd) % 990000);
        int32_t lo = 114000000 + (int32_t)(tu_rand(&rsd) % 990000);
        int64_t f = day0 + (int64_t)(tu_rand(&rsd) % 82800);
        printf("%d,%d,%d,%d,%lld,%lld\n", la, la + 9000, lo, lo + 10400, (long long)f,
               (long long)(f + 3600));
    }
    return 0;
}

int main(int argc, char **argv)
{
    char dir[256], d1[300], d2[300], d3[300], bk[300], rs[300];
    const char *e = getenv("BENCH_VEH");
    unsigned veh = e ? (unsigned)strtoul(e, NULL, 10) : 200;
    e = getenv("BENCH_AREA_VEH");
    unsigned aveh = e ? (unsigned)strtoul(e, NULL, 10) : 100000;
    /* BENCH_DAY0 pins the day (UTC seconds of a GMT+8 midnight) so that an export and a
     * run on different days use the same timestamps. */
    e = getenv("BENCH_DAY0");
    int64_t day0 = e ? (int64_t)strtoll(e, NULL, 10)
                     : store_day_start(store_day_of(time(NULL)) - 1);
    if (argc > 2 && strcmp(argv[1], "--export-csv") == 0)
        return export_csv(argv[2], veh, aveh, day0);
    if (argc > 1)
        snprintf(dir, sizeof dir, "%s", argv[1]);
    else
        tu_mkdtemp(dir, "bench");
    snprintf(d1, sizeof d1, "%s/tracks", dir);
    snprintf(d2, sizeof d2, "%s/rawlog", dir);
    snprintf(d3, sizeof d3, "%s/area", dir);
    snprintf(bk, sizeof bk, "%s/backup", dir);
    snprintf(rs, sizeof rs, "%s/restored", dir);
    printf("{");
    bench_print_machine(stdout);
    printf(", \"vehicles\": %u, \"points\": %u, \"day0\": %lld", veh, veh * 2880,
           (long long)day0);
    struct store_config c;

    /* 1. tracks only: bytes per point and playback */
    struct store *st = open_bench(d1, &c);
    double s = write_day(st, veh, day0, 0);
    printf(", \"tracks_points_per_s\": %.0f", veh * 2880 / s);
    static struct store_pos out[4096];
    static double lat[2000];
    uint64_t rsd = 1;
    for (int i = 0; i < 2000; i++) {
        uint32_t v = 1 + (uint32_t)(tu_rand(&rsd) % veh);
        uint64_t t = bench_now_ns();
        long n = store_track_read(st, v, day0, day0 + 86400, out, 4096);
        lat[i] = (double)(bench_now_ns() - t) / 1e6;
        if (n != 2880)
            fprintf(stderr, "playback: %ld points\n", n);
    }
    printf(", \"playback_2880_ms_p50\": %.3f, \"playback_2880_ms_p99\": %.3f",
           pct(lat, 2000, 0.5), pct(lat, 2000, 0.99));
    char bk1[320];
    snprintf(bk1, sizeof bk1, "%s/bk-tracks", dir);
    store_backup(st, bk1, 0);
    snprintf(bk1, sizeof bk1, "%s/bk-tracks/0001-full", dir);
    store_close(st);
    printf(", \"track_bytes_per_point_file\": %.2f, \"track_bytes_per_point_compacted\": %.2f",
           (double)dir_bytes(d1, "day-") / (veh * 2880.0),
           (double)dir_bytes(bk1, "day-") / (veh * 2880.0));

    /* 2. with the raw log on (58-byte frames): throughput and bytes per frame */
    st = open_bench(d2, &c);
    s = write_day(st, veh, day0, 1);
    printf(", \"write_points_per_s_raw_on\": %.0f", veh * 2880 / s);
    store_close(st);
    double per = ((double)dir_bytes(d2, "day-") - (double)dir_bytes(d1, "day-")) / (veh * 2880.0);
    printf(", \"raw_bytes_per_58B_frame\": %.2f", per);

    /* 3. restore rate of the raw-log store */
    st = open_bench(d2, &c);
    store_backup(st, bk, 0);
    store_close(st);
    uint64_t t = bench_now_ns();
    int rc = store_restore(bk, rs);
    double rsec = (double)(bench_now_ns() - t) / 1e9;
    printf(", \"restore_MB_per_s\": %.1f, \"restore_rc\": %d",
           (double)dir_bytes(rs, "") / 1e6 / rsec, rc);

    /* 4. area x time: <aveh> vehicles, one point every 10 min over 1 deg x 1 deg */
    st = open_bench(d3, &c);
    struct store_batch *b;
    unsigned inflight = 0;
    store_batch_get(st, 0, &b);
    for (int i = 0; i < 144; i++)
        for (unsigned v = 1; v <= aveh; v++) {
            struct store_pos p;
            tu_pos(&p, v, day0 + i * 600 + (int)(v % 600), 0);
            uint64_t h = (uint64_t)v * 2654435761u + (uint64_t)i * 40503u;
            p.lat_e6 = 30000000 + (int32_t)(h % 1000000);
            p.lon_e6 = 114000000 + (int32_t)((h >> 20) % 1000000);
            if (store_batch_add_pos(b, &p) != 0) {
                pump(st, &b, &inflight);
                store_batch_add_pos(b, &p);
            }
        }
    pump(st, &b, &inflight);
    store_batch_release(st, b);
    drain(st, inflight);
    static double ql[500];
    static uint32_t ids[1 << 16];
    long hits = 0;
    for (int i = 0; i < 500; i++) {
        int32_t la = 30000000 + (int32_t)(tu_rand(&rsd) % 990000);
        int32_t lo = 114000000 + (int32_t)(tu_rand(&rsd) % 990000);
        struct store_area a = {la, la + 9000, lo, lo + 10400}; /* ~1 km^2 */
        int64_t f = day0 + (int64_t)(tu_rand(&rsd) % 82800);
        struct store_span sp = {f, f + 3600};
        uint64_t q = bench_now_ns();
        hits += store_presence_query(st, &a, 1, &sp, 1, 0, 1, ids, 1 << 16);
        ql[i] = (double)(bench_now_ns() - q) / 1e6;
    }
    printf(", \"area_vehicles\": %u, \"area_points\": %u, \"area_1km2_1h_ms_p50\": %.3f, "
           "\"area_1km2_1h_ms_p99\": %.3f, \"area_mean_hits\": %.1f",
           aveh, aveh * 144, pct(ql, 500, 0.5), pct(ql, 500, 0.99), hits / 500.0);
    store_close(st);
    printf("}\n");
    if (argc <= 1)
        tu_rmrf(dir);
    return 0;
}
