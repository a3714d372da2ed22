/* report.c: results.json, series.dat, latency.dat (report.h). */
#include "bench/load/report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rw_commit.h" /* RW_COMMIT, made at build time (cmake/commit.cmake) */

static void machine_json(FILE *f)
{
    char model[256] = "unknown", line[512];
    FILE *c = fopen("/proc/cpuinfo", "r");
    while (c && fgets(line, sizeof line, c)) {
        char *p = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && p) {
            p[strcspn(p, "\n")] = 0;
            snprintf(model, sizeof model, "%s", p + 2);
            break;
        }
    }
    if (c)
        fclose(c);
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    fprintf(f, "  \"machine\": {\"cpu\": \"%s\", \"cores\": %ld, \"host\": \"%s\"},\n"
            "  \"commit\": \"%s\",\n", model, sysconf(_SC_NPROCESSORS_ONLN), host, RW_COMMIT);
}

static void hist_json(FILE *f, const char *name, const struct hist *h)
{
    fprintf(f, "  \"%s\": {\"count\": %llu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
            "\"p999_ms\": %.3f, \"max_ms\": %.3f},\n", name, (unsigned long long)h->count,
            hist_quantile(h, 0.5) / 1e3, hist_quantile(h, 0.99) / 1e3,
            hist_quantile(h, 0.999) / 1e3, (double)h->max_us / 1e3);
}

double report_sustained_rps(const struct sim_result *r, double warm, int acked)
{
    uint64_t n = 0;
    unsigned secs = 0;
    for (unsigned k = 0; k < r->n_sec; k++)
        if (r->sec[k].t_s > warm && r->sec[k].t_s <= r->load_s) {
            n += acked ? r->sec[k].acked : r->sec[k].sent;
            secs++;
        }
    return secs ? (double)n / secs : 0;
}

static void config_json(FILE *f, const struct scenario *s, const char *target)
{
    fprintf(f, "  \"config\": {\"scenario\": \"%s\", \"target\": \"%s\", \"vehicles\": %u, "
            "\"threads\": %u, \"time_scale\": %g, \"report_s\": %u, \"mode\": \"%s\", "
            "\"udp_share\": %g, \"editions\": [%g, %g, %g], \"window\": %u, "
            "\"duration_s\": %g, \"warmup_s\": %g, \"seed\": %llu},\n", s->name, target,
            s->vehicles, s->threads, s->time_scale, s->term.report_s,
            s->max_rate ? "max" : "paced", s->udp_share, s->ed_share[0], s->ed_share[1],
            s->ed_share[2], s->term.window, s->duration_s, s->warmup_s,
            (unsigned long long)s->seed);
}

/* JT/T 809: no per-record ack, so "sent" is the figure; "stored" comes from
 * `roadwatch-bench platcheck` after the engine stopped. */
static void plat_json(FILE *f, const struct sim_result *r)
{
    const struct plat_stats *t = &r->plat_st;
    fprintf(f, "  \"platforms\": {\"count\": %u, \"positions_sent\": %llu, \"sent_live\": "
            "%llu, \"sent_reup\": %llu, \"reup_messages\": %llu, \"missed_dropped\": %llu, "
            "\"positions_stored\": null, \"each\": [", r->n_plat,
            (unsigned long long)r->plat_positions, (unsigned long long)t->sent_1202,
            (unsigned long long)t->sent_1203_items, (unsigned long long)t->sent_1203,
            (unsigned long long)t->missed_dropped);
    for (uint32_t i = 0; i < r->n_plat; i++) {
        const struct sim_plat_res *p = &r->plat[i];
        fprintf(f, "%s\n    {\"user_id\": %u, \"edition\": %u, \"encrypt\": %u, "
                "\"vehicles\": %u, \"points\": %llu, \"positions_sent\": %llu, "
                "\"sent_live\": %llu, \"sent_reup\": %llu, \"missed_dropped\": %llu, "
                "\"logins\": %llu, \"login_fail\": %llu, \"link_tests\": %llu, "
                "\"link_test_rsp\": %llu, \"sub_links\": %llu, \"sub_tests\": %llu, "
                "\"bad_frames\": %llu}", i ? "," : "", p->user_id, p->edition, p->encrypt,
                p->vehicles, (unsigned long long)p->st.points,
                (unsigned long long)(p->st.sent_1202 + p->st.sent_1203_items),
                (unsigned long long)p->st.sent_1202, (unsigned long long)p->st.sent_1203_items,
                (unsigned long long)p->st.missed_dropped, (unsigned long long)p->st.logins,
                (unsigned long long)p->st.login_fail, (unsigned long long)p->st.link_tests,
                (unsigned long long)p->st.link_test_rsp, (unsigned long long)p->st.sub_links,
                (unsigned long long)p->st.sub_tests, (unsigned long long)p->st.bad_frames);
    }
    fprintf(f, "]},\n");
}

/* Growth between two KiB samples, per connection up at the end (0 when unsampled). */
static double per_conn_bytes(const struct sim_result *r, uint64_t start_kb, uint64_t end_kb)
{
    if (!r->conns_up || !start_kb || !end_kb)
        return 0.0;
    return ((double)end_kb - (double)start_kb) * 1024.0 / r->conns_up;
}

static void results_json(FILE *f, const struct scenario *s, const char *target,
                         const struct sim_result *r, const struct sink_stats *ceil,
                         double ceil_rps)
{
    double acked_rps = report_sustained_rps(r, s->warmup_s, 1);
    fprintf(f, "{\n");
    machine_json(f);
    config_json(f, s, target);
    fprintf(f, "  \"throughput\": {\"acked_records_per_s\": %.1f, \"sent_records_per_s\": "
            "%.1f, \"ceiling_records_per_s\": %.1f, \"ratio_to_ceiling\": %.4f},\n",
            acked_rps, report_sustained_rps(r, s->warmup_s, 0), ceil_rps,
            ceil_rps > 0 ? acked_rps / ceil_rps : 0.0);
    if (ceil)
        fprintf(f, "  \"ceiling_sink\": {\"conns\": %llu, \"bytes\": %llu, \"frames\": %llu, "
                "\"seconds\": %.3f, \"cpu_s\": %.3f},\n", (unsigned long long)ceil->conns,
                (unsigned long long)ceil->bytes, (unsigned long long)(ceil->flags / 2),
                ceil->seconds, ceil->cpu_s);
    hist_json(f, "ack_latency", &r->ack);
    hist_json(f, "ack_latency_at_rx", &r->ack_rx);
    fprintf(f, "  \"alarm_latency\": null,\n  \"alarms_vs_oracle\": null,\n");
    uint64_t acked_meas = r->records_acked - (r->st_warm.acked_0200 +
                                              r->st_warm.acked_0704_items);
    fprintf(f, "  \"records\": {\"points\": %llu, \"sent\": %llu, \"acked\": %llu, "
            "\"outstanding\": %llu, \"resent\": %llu, \"blind_buffered\": %llu, "
            "\"blind_dropped\": %llu, \"link_broken\": %llu, \"bad_frames\": %llu},\n",
            (unsigned long long)r->st.points, (unsigned long long)r->records_sent,
            (unsigned long long)r->records_acked, (unsigned long long)r->outstanding,
            (unsigned long long)r->st.resent, (unsigned long long)r->st.blind_buffered,
            (unsigned long long)r->st.blind_dropped, (unsigned long long)r->st.link_broken,
            (unsigned long long)r->st.bad_frames);
    plat_json(f, r);
    double cpu_us = r->target_cpu_s >= 0 && acked_meas ? r->target_cpu_s * 1e6 /
                    (double)acked_meas : -1;
    fprintf(f, "  \"resources\": {\"target_cpu_us_per_acked_record\": %.3f, "
            "\"target_rss_kb_start\": %llu, \"target_rss_kb_end\": %llu, "
            "\"target_rss_bytes_per_conn\": %.0f, \"target_anon_kb_start\": %llu, "
            "\"target_anon_kb_end\": %llu, \"target_anon_bytes_per_conn\": %.0f, "
            "\"slab_kb_start\": %llu, \"slab_kb_end\": %llu, "
            "\"kernel_slab_bytes_per_conn\": %.0f, \"simulator_cpu_s\": %.3f, "
            "\"conns_up\": %u, \"conns_failed\": %u, \"disk_bytes_per_point\": null}\n}\n",
            cpu_us, (unsigned long long)r->target_rss_kb_start,
            (unsigned long long)r->target_rss_kb_end,
            per_conn_bytes(r, r->target_rss_kb_start, r->target_rss_kb_end),
            (unsigned long long)r->target_anon_kb_start,
            (unsigned long long)r->target_anon_kb_end,
            per_conn_bytes(r, r->target_anon_kb_start, r->target_anon_kb_end),
            (unsigned long long)r->slab_kb_start, (unsigned long long)r->slab_kb_end,
            per_conn_bytes(r, r->slab_kb_start, r->slab_kb_end),
            r->sim_cpu_s, r->conns_up, r->conns_failed);
}

int report_write(const char *dir, const struct scenario *s, const char *target,
                 const struct sim_result *r, const struct sink_stats *ceil, double ceil_rps)
{
    char path[512];
    snprintf(path, sizeof path, "%s/results.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    results_json(f, s, target, r, ceil, ceil_rps);
    fclose(f);
    snprintf(path, sizeof path, "%s/series.dat", dir);
    if (!(f = fopen(path, "w")))
        return -errno;
    fprintf(f, "# t_s sent_per_s acked_per_s p50_ms p99_ms max_ms target_cpu_s rss_kb\n");
    for (unsigned k = 0; k < r->n_sec; k++) {
        const struct sim_sec *x = &r->sec[k];
        fprintf(f, "%.0f %llu %llu %.3f %.3f %.3f %.3f %llu\n", x->t_s,
                (unsigned long long)x->sent, (unsigned long long)x->acked, x->p50_us / 1e3,
                x->p99_us / 1e3, x->max_us / 1e3, x->target_cpu,
                (unsigned long long)x->target_rss_kb);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/latency.dat", dir);
    if (!(f = fopen(path, "w")))
        return -errno;
    fprintf(f, "# latency_ms cumulative_fraction (every acknowledged record)\n");
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS && r->ack.count; i++) {
        if (!r->ack.b[i])
            continue;
        seen += r->ack.b[i];
        fprintf(f, "%.3f %.6f\n", hist_bucket_top(i) / 1e3, (double)seen / r->ack.count);
    }
    fclose(f);
    return 0;
}
