/* decode_bench.c: decode throughput of the protocol codecs on one pinned core.
 *
 * JT/T 808 0x0200: a stream of distinct location frames (2013 and 2019 headers, the
 * additional items real terminals send: mileage, tachograph speed, signals, IO, signal
 * strength, satellites, and some with escaped bytes) is cut into 4 KiB reads, as the
 * receive path gets them, and each read goes through the framer (flag search, unescape,
 * check code) and jt808_frame_parse() (header, body, every additional item).
 *
 * JT/T 809 0x1202: the same for real-time location frames in both editions.
 *
 * Output: one JSON object per case on stdout (frames/s, ns/frame, MB/s of wire bytes; the
 * median and the best of RUNS runs), with the machine and commit. Usage:
 *   bench_decode [seconds_per_run (default 1)] [runs (default 5)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/micro/bench_util.h"
#include "engine/base/err.h"
#include "engine/proto/jt808.h"
#include "engine/proto/jt809.h"

#define BENCH_FRAMES 4096
#define BENCH_CHUNK 4096
#define BENCH_RUNS_MAX 32

static uint8_t *stream;
static size_t stream_len;
static volatile uint64_t sink;

static void build_808(void)
{
    stream = malloc((size_t)BENCH_FRAMES * 128);
    stream_len = 0;
    for (unsigned i = 0; i < BENCH_FRAMES; i++) {
        struct jt808_msg m;
        memset(&m, 0, sizeof m);
        m.h.msg_id = JT808_MSG_0200_LOCATION;
        m.h.edition = i % 4 == 0 ? JT808_ED_2019 : JT808_ED_2013;
        m.h.proto_ver = m.h.edition == JT808_ED_2019;
        m.h.serial = (uint16_t)i;
        char phone[16];
        snprintf(phone, sizeof phone, "1390%07u", i * 7919u % 10000000u);
        jt808_phone_set(&m.h, phone);
        struct jt808_loc *l = &m.u.loc;
        l->status = JT808_ST_ACC | JT808_ST_FIX | JT808_ST_GPS | JT808_ST_BEIDOU;
        l->lat = 30000000 + i * 37;
        l->lon = 114000000 + i * 53;
        l->altitude_m = (uint16_t)(20 + i % 50);
        l->speed_dkmh = (uint16_t)(i * 13 % 1200);
        l->direction = (uint16_t)(i % 360);
        jt808_time_to_bcd(1763000000 + (int64_t)i * 30, l->time_bcd);
        l->present = JT808_X_MILEAGE | JT808_X_TACHO_SPEED | JT808_X_SIGNALS | JT808_X_IO |
                     JT808_X_RSSI | JT808_X_SATS;
        l->mileage_hm = 100000 + i * 3 + (i % 16 == 0 ? 0x7E : 0); /* some escapes */
        l->tacho_speed_dkmh = l->speed_dkmh;
        l->signals = 0x11;
        l->rssi = (uint8_t)(20 + i % 11);
        l->sats = (uint8_t)(8 + i % 12);
        int n = jt808_encode(&m, stream + stream_len, 128);
        if (n < 0) {
            fprintf(stderr, "bench: encode: %s\n", err_str(n));
            exit(1);
        }
        stream_len += (size_t)n;
    }
}

/* One pass over the stream; returns the frames decoded. */
static uint64_t pass_808(struct jt808_framer *fr)
{
    uint64_t frames = 0, acc = 0;
    struct jt808_msg m;
    for (size_t off = 0; off < stream_len; off += BENCH_CHUNK) {
        size_t len = stream_len - off < BENCH_CHUNK ? stream_len - off : BENCH_CHUNK;
        const uint8_t *p = stream + off;
        size_t pos = 0;
        while (pos < len) {
            int st;
            pos += jt808_framer_feed(fr, p + pos, len - pos, &st);
            if (st != 1)
                continue;
            if (jt808_framer_parse(fr, &m) == 0) {
                acc += m.u.loc.lat + m.u.loc.mileage_hm;
                frames++;
            }
        }
    }
    sink += acc;
    return frames;
}

static void build_809(uint16_t edition)
{
    stream = malloc((size_t)BENCH_FRAMES * 256);
    stream_len = 0;
    for (unsigned i = 0; i < BENCH_FRAMES; i++) {
        struct jt809_msg m;
        memset(&m, 0, sizeof m);
        m.h.msg_id = JT809_MSG_1200_UP_EXG_MSG;
        m.h.msg_sn = i;
        m.h.gnss_center_id = 123456;
        m.h.version[0] = 1;
        m.h.edition = edition;
        m.h.time = 1763000000 + (uint64_t)i;
        char plate[16];
        int pl = snprintf(plate, sizeof plate, "\xd4\xc1" "B%05u", i % 100000);
        m.env.has_vehicle = 1;
        m.sub_known = 1;
        m.env.vehicle_no = rw_bytes_of(plate, (size_t)pl);
        m.env.vehicle_color = 2;
        m.env.data_type = JT809_SUB_1202_REAL_LOCATION;
        struct jt809_loc *loc = &m.u.loc;
        loc->edition = edition;
        if (edition == JT809_ED_2011) {
            struct jt809_gnss11 *g = &loc->v11;
            jt809_gnss11_set_time(g, 1763000000 + (int64_t)i * 30);
            g->lon = 114000000 + i * 53;
            g->lat = 30000000 + i * 37;
            g->vec1 = (uint16_t)(i % 120);
            g->vec3 = 12345 + i;
            g->direction = (uint16_t)(i % 360);
            g->state = 3;
        } else {
            struct jt808_loc *l = &loc->v19.loc;
            l->status = 3;
            l->lat = 30000000 + i * 37;
            l->lon = 114000000 + i * 53;
            l->speed_dkmh = (uint16_t)(i % 1200);
            jt808_time_to_bcd(1763000000 + (int64_t)i * 30, l->time_bcd);
            l->present = JT808_X_MILEAGE | JT808_X_SATS;
            l->mileage_hm = 100000 + i;
            l->sats = 12;
        }
        int n = jt809_encode(&m, NULL, stream + stream_len, 256);
        if (n < 0) {
            fprintf(stderr, "bench: 809 encode: %s\n", err_str(n));
            exit(1);
        }
        stream_len += (size_t)n;
    }
}

static uint64_t pass_809(struct jt809_framer *fr, const struct jt809_peer *peer)
{
    uint64_t frames = 0, acc = 0;
    struct jt809_msg m;
    for (size_t off = 0; off < stream_len; off += BENCH_CHUNK) {
        size_t len = stream_len - off < BENCH_CHUNK ? stream_len - off : BENCH_CHUNK;
        size_t pos = 0;
        while (pos < len) {
            int st;
            pos += jt809_framer_feed(fr, stream + off + pos, len - pos, &st);
            if (st != 1)
                continue;
            if (jt809_framer_parse(fr, peer, &m) == 0) {
                acc += m.h.msg_sn;
                frames++;
            }
        }
    }
    sink += acc;
    return frames;
}

struct bench_case {
    const char *name;
    int proto;
    uint16_t edition;
};

static void run_case(const struct bench_case *c, double secs, int runs)
{
    static struct jt808_framer f8;
    static struct jt809_framer f9;
    struct jt809_peer peer = {.edition = c->edition};
    if (c->proto == 808)
        build_808();
    else
        build_809(c->edition);
    double fps[BENCH_RUNS_MAX];
    uint64_t total = 0;
    for (int r = -1; r < runs; r++) { /* run -1 warms caches and branch predictors */
        jt808_framer_init(&f8);
        jt809_framer_init(&f9);
        uint64_t frames = 0, t0 = bench_now_ns(), t1;
        do {
            frames += c->proto == 808 ? pass_808(&f8) : pass_809(&f9, &peer);
            t1 = bench_now_ns();
        } while (t1 - t0 < (uint64_t)(secs * 1e9));
        if (r >= 0)
            fps[r] = (double)frames / ((double)(t1 - t0) / 1e9);
        total += frames;
    }
    double best = 0;
    for (int r = 0; r < runs; r++)
        best = fps[r] > best ? fps[r] : best;
    double med = bench_median(fps, runs);
    double frame_bytes = (double)stream_len / BENCH_FRAMES;
    printf("{\"bench\": \"decode\", \"case\": \"%s\", \"frames_per_s_median\": %.0f, "
           "\"frames_per_s_best\": %.0f, \"ns_per_frame_median\": %.1f, "
           "\"wire_bytes_per_frame\": %.1f, \"mb_per_s_median\": %.1f, \"runs\": %d, "
           "\"seconds_per_run\": %.2f, ",
           c->name, med, best, 1e9 / med, frame_bytes, med * frame_bytes / 1e6, runs, secs);
    bench_print_machine(stdout);
    printf("}\n");
    fflush(stdout);
    if (total == 0)
        fprintf(stderr, "bench: %s decoded nothing\n", c->name);
    free(stream);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    if (secs <= 0 || runs < 1 || runs > BENCH_RUNS_MAX) {
        fprintf(stderr, "usage: bench_decode [seconds_per_run] [runs 1..%d]\n", BENCH_RUNS_MAX);
        return 2;
    }
    if (bench_pin(0) != 0)
        fprintf(stderr, "bench: could not pin to CPU 0; figures may be noisier\n");
    static const struct bench_case cases[] = {
        {"jt808_0200", 808, 0},
        {"jt809_1202_2011", 809, JT809_ED_2011},
        {"jt809_1202_2019", 809, JT809_ED_2019},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], secs, runs);
    return 0;
}
