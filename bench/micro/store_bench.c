/* store_bench.c: write throughput with the raw log on, bytes per point / per raw frame on
 * disk, one vehicle-day playback latency, area x time query latency, restore rate.
 * Every sample is kept; percentiles are computed over all of them (STYLE §11).
 *
 * Two kinds of track data: "noise" (tu_pos: speed, heading, altitude and receive lag drawn
 * uniformly at random every point, the worst case for a delta codec) and "road" (the fleet
 * simulator's movement model, bench/load/road.h, plus GNSS-like noise on every field: the
 * shape of real traffic). Bytes per point are reported for both. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

#include "bench/load/road.h"
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

/* Bytes in pages of database <db> over the day files of <dir> (what it holds on disk,
 * without the file's free pages). */
static uint64_t db_bytes(const char *dir, const char *db)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t sum = 0;
    char p[700];
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "day-", 4) || l < 4 || strcmp(e->d_name + l - 4, ".mdb"))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        MDB_env *env;
        MDB_txn *t;
        MDB_dbi dbi;
        MDB_stat ms;
        if (mdb_env_create(&env))
            continue;
        mdb_env_set_maxdbs(env, 8);
        if (mdb_env_open(env, p, MDB_NOSUBDIR | MDB_RDONLY, 0) == 0 &&
            mdb_txn_begin(env, NULL, MDB_RDONLY, &t) == 0) {
            if (mdb_dbi_open(t, db, 0, &dbi) == 0 && mdb_stat(t, dbi, &ms) == 0)
                sum += (uint64_t)ms.ms_psize *
                       (ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages);
            mdb_txn_abort(t);
        }
        mdb_env_close(env);
    }
    if (d)
        closedir(d);
    return sum;
}

/* Bytes per point of the day file, of its track tree and of its presence index. */
static void print_sizes(const char *tag, const char *dir, double pts)
{
    printf(", \"%s_file_bytes_per_point\": %.2f, \"%s_trk_bytes_per_point\": %.2f, "
           "\"%s_pres_bytes_per_point\": %.2f", tag, (double)dir_bytes(dir, "day-") / pts,
           tag, (double)db_bytes(dir, "trk") / pts, tag, (double)db_bytes(dir, "pres") / pts);
}

/* Compacts the day (store/README.md §9a) and prints the sizes after it. */
static void compact_and_print(struct store *st, const char *tag, const char *dir,
                              int64_t day0, double pts)
{
    struct store_compact_info ci;
    struct store_stats a, b;
    store_stats_get(st, &a);
    for (int i = 0; i < 100; i++) { /* a closed day: wait until the writer's merges are done */
        struct timespec ts = {0, 300000000};
        nanosleep(&ts, NULL);
        store_stats_get(st, &b);
        if (b.commits == a.commits)
            break;
        a = b;
    }
    uint64_t t = bench_now_ns();
    int rc, tries = 0;
    while ((rc = store_compact_day(st, store_day_of(day0), 0, &ci)) == -11 && ++tries < 50) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    printf(", \"%s_compact_tries\": %d", tag, tries + 1);
    double sec = (double)(bench_now_ns() - t) / 1e9;
    printf(", \"%s_compact_rc\": %d, \"%s_compact_s\": %.2f, \"%s_compact_MB_per_s\": %.1f",
           tag, rc, tag, sec, tag, rc ? 0.0 : (double)ci.bytes_before / 1e6 / sec);
    char t2[64];
    snprintf(t2, sizeof t2, "%s_compacted", tag);
    print_sizes(t2, dir, pts);
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

/* Point <i> (30 s apart) of vehicle <v> of the day. */
typedef void (*gen_fn)(struct store_pos *p, unsigned v, int i, int64_t day0, void *ctx);

static void gen_noise(struct store_pos *p, unsigned v, int i, int64_t day0, void *ctx)
{
    (void)ctx;
    tu_pos(p, v, day0 + i * 30, 0);
    p->lat_e6 = 30000000 + (int32_t)(v % 300) * 3000 + i * 40;
    p->lon_e6 = 114000000 + (int32_t)(v / 300) * 3000 + i * 35;
}

/* "road": road.h movement (drive 120 min, rest 30 min, cruise 60-75 % of the limit) with
 * noise a real terminal shows: position ±3 m, speed ±1.5 km/h, heading ±2°, altitude a
 * ±1 m walk, receive lag 0.3-1.0 s, signal strength and satellite count that drift. */
struct road_gen {
    struct road_net net;
    struct road_veh *veh;
    struct store_pos *last;
    uint64_t rs;
};

static int32_t jitter(uint64_t *rs, unsigned half)
{
    return (int32_t)(road_rand(rs) % (2 * half + 1)) - (int32_t)half;
}

static void gen_road(struct store_pos *p, unsigned v, int i, int64_t day0, void *ctx)
{
    struct road_gen *g = ctx;
    struct road_point rp;
    struct store_pos *q = &g->last[v];
    int64_t t = day0 + i * 30;
    if (i == 0) {
        road_veh_init(&g->veh[v], &g->net, 7, v, NULL, 0);
        memset(q, 0, sizeof *q);
        q->altitude_m = (int16_t)(20 + v % 200);
        q->rssi = 22;
        q->sats = 11;
    }
    road_veh_step(&g->veh[v], &g->net, t, &rp);
    memset(p, 0, sizeof *p);
    p->vehicle_id = v;
    p->gnss_time = t;
    p->recv_time_ms = t * 1000 + 300 + (int64_t)(road_rand(&g->rs) % 700);
    p->lat_e6 = rp.lat_e6 + jitter(&g->rs, 30);
    p->lon_e6 = rp.lon_e6 + jitter(&g->rs, 30);
    int moving = rp.speed_dkmh > 0;
    p->speed_dkmh = moving ? (uint16_t)(rp.speed_dkmh + jitter(&g->rs, 15)) : 0;
    p->tacho_speed_dkmh = p->speed_dkmh;
    p->direction = moving ? (uint16_t)((rp.dir + 360 + jitter(&g->rs, 2)) % 360) : q->direction;
    p->altitude_m = (int16_t)(q->altitude_m + jitter(&g->rs, 1));
    p->mileage_hm = rp.mileage_hm;
    p->status = 0x2u | (rp.acc ? 0x1u : 0);
    p->rssi = road_rand(&g->rs) % 8 == 0 ? (uint8_t)(18 + road_rand(&g->rs) % 8) : q->rssi;
    p->sats = road_rand(&g->rs) % 10 == 0 ? (uint8_t)(8 + road_rand(&g->rs) % 7) : q->sats;
    p->present = 0x1 | 0x4;
    *q = *p;
}

/* A vehicle-day: 2,880 points at 30 s, vehicles interleaved as live traffic is. */
static double write_day(struct store *st, unsigned veh, int64_t day0, int raw, gen_fn gen,
                        void *ctx)
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
            gen(&p, v, i, day0, ctx);
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
                gen_noise(&p, v, i, day0, NULL);
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
    double s = write_day(st, veh, day0, 0, gen_noise, NULL);
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
    print_sizes("noise", d1, veh * 2880.0);
    compact_and_print(st, "noise", d1, day0, veh * 2880.0);
    for (int i = 0; i < 2000; i++) { /* playback again, from the compacted file */
        uint32_t v = 1 + (uint32_t)(tu_rand(&rsd) % veh);
        uint64_t t = bench_now_ns();
        long n = store_track_read(st, v, day0, day0 + 86400, out, 4096);
        lat[i] = (double)(bench_now_ns() - t) / 1e6;
        if (n != 2880)
            fprintf(stderr, "playback after compaction: %ld points\n", n);
    }
    printf(", \"playback_compacted_ms_p50\": %.3f, \"playback_compacted_ms_p99\": %.3f",
           pct(lat, 2000, 0.5), pct(lat, 2000, 0.99));
    store_close(st);

    /* 1b. "road" tracks (movement model + GNSS noise): bytes per point of realistic data */
    char d4[300];
    snprintf(d4, sizeof d4, "%s/road", dir);
    struct road_gen rg = {.rs = 99};
    road_net_default(&rg.net);
    rg.veh = calloc(veh + 1, sizeof *rg.veh);
    rg.last = calloc(veh + 1, sizeof *rg.last);
    if (!rg.veh || !rg.last)
        return 1;
    st = open_bench(d4, &c);
    s = write_day(st, veh, day0, 0, gen_road, &rg);
    printf(", \"road_points_per_s\": %.0f", veh * 2880 / s);
    print_sizes("road", d4, veh * 2880.0);
    compact_and_print(st, "road", d4, day0, veh * 2880.0);
    long rn = store_track_read(st, 1, day0, day0 + 86400, out, 4096);
    store_close(st);
    printf(", \"road_playback_points\": %ld", rn);
    free(rg.veh);
    free(rg.last);

    /* 2. with the raw log on (58-byte frames): throughput and bytes per frame */
    st = open_bench(d2, &c);
    s = write_day(st, veh, day0, 1, gen_noise, NULL);
    printf(", \"write_points_per_s_raw_on\": %.0f", veh * 2880 / s);
    store_close(st);
    double per = (double)(db_bytes(d2, "raw") + db_bytes(d2, "rawv") + db_bytes(d2, "rawt")) /
                 (veh * 2880.0);
    printf(", \"raw_bytes_per_58B_frame\": %.2f", per); /* pages of raw + its index */

    /* 3. restore rate of the raw-log store */
    st = open_bench(d2, &c);
    store_backup(st, bk, 0);
    store_close(st);
    uint64_t t = bench_now_ns();
    int rc = store_restore(bk, rs);
    double rsec = (double)(bench_now_ns() - t) / 1e9;
    printf(", \"restore_MB_per_s\": %.1f, \"restore_rc\": %d",
           (double)dir_bytes(rs, "") / 1e6 / rsec, rc);

    /* 3b. terminal registrations (open mode, each a new vehicle and its auth code): one
     * durable transaction each, then batches of 64 as the registration service runs them */
    {
        char d5[300];
        snprintf(d5, sizeof d5, "%s/reg", dir);
        st = open_bench(d5, &c);
        static struct store_reg regs[64];
        double rate[2];
        for (int mode = 0; mode < 2; mode++) {
            int chunk = mode ? 64 : 1, total = 2048;
            uint64_t t0 = bench_now_ns();
            for (int i = 0; i < total; i += chunk) {
                for (int j = 0; j < chunk; j++) {
                    struct store_reg *r = &regs[j];
                    memset(r, 0, sizeof *r);
                    snprintf(r->phone, sizeof r->phone, "139%08d", mode * 100000 + i + j);
                    r->plate_len = (uint8_t)snprintf((char *)r->plate, sizeof r->plate, "B%d%05d",
                                                     mode, i + j);
                    r->colour = 2;
                    r->code_len = 16;
                    memset(r->code, 'a' + j % 26, 16);
                }
                if (store_register_batch(st, regs, (size_t)chunk, 1) != 0 || regs[0].result != 0)
                    fprintf(stderr, "registration failed\n");
            }
            rate[mode] = total / ((double)(bench_now_ns() - t0) / 1e9);
        }
        printf(", \"registrations_per_s_single\": %.0f, \"registrations_per_s_batch64\": %.0f",
               rate[0], rate[1]);
        store_close(st);
    }

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
