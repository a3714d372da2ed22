/* platstore.c: platform accounts and the stored-positions check (platstore.h). */
#include "bench/load/platstore.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/base/text.h"
#include "engine/base/wire.h"
#include "store/store.h"

long platstore_accounts(const struct scenario *s, const char *dir, char *err, size_t cap)
{
    struct store *st = NULL;
    int rc = store_create(&st);
    rc = rc ? rc : store_set_dir(st, dir);
    rc = rc ? rc : store_open(st);
    long n = 0;
    for (uint32_t i = 0; rc == 0 && i < s->plat.count; i++) {
        struct store_platform p;
        memset(&p, 0, sizeof p);
        p.user_id = s->plat.user_id + i;
        p.access_code = s->plat.access_code + i;
        snprintf(p.name, sizeof p.name, "roadwatch-bench platform %u", i);
        p.m1 = s->plat.m1;
        p.ia1 = s->plat.ia1;
        p.ic1 = s->plat.ic1;
        p.edition = scn_plat_edition(s, i) == 2011 ? 1 : 2;
        rc = store_platform_put(st, &p, s->plat.password);
        n += rc == 0;
    }
    if (rc)
        snprintf(err, cap, "%s: %s", dir, err_str(rc));
    store_close(st);
    return rc ? rc : n;
}

/* Counts one vehicle's points by source; returns 0 or a negative code. */
static int check_vehicle(struct store *st, const char *plate_utf8, unsigned colour,
                         uint64_t live, uint64_t reup, int64_t t0, int64_t t1,
                         struct platstore_check *c, FILE *diag)
{
    uint8_t plate[32];
    int n = text_utf8_to_gbk(plate_utf8, strlen(plate_utf8), plate, sizeof plate);
    if (n <= 0)
        return RW_E_FIELD;
    struct store_vehicle v;
    int rc = store_vehicle_by_plate(st, plate, (size_t)n, (uint8_t)colour, &v);
    if (rc == -ENOENT) {
        c->missing_vehicles += live + reup > 0;
        c->mismatched += live + reup > 0;
        if (diag && live + reup > 0)
            fprintf(diag, "%s: sent %" PRIu64 ", not in the registry\n", plate_utf8,
                    live + reup);
        return 0;
    }
    if (rc)
        return rc;
    size_t cap = (size_t)(live + reup) + 64u;
    struct store_pos *pts = mem_calloc(cap, sizeof *pts);
    if (!pts)
        return -ENOMEM;
    long got = live + reup ? store_track_read(st, v.id, t0, t1 + 1, pts, cap) : 0;
    uint64_t sl = 0, sr = 0, so = 0, dup = 0;
    for (long k = 0; k < got && (size_t)k < cap; k++) {
        sl += pts[k].src == STORE_SRC_809_LIVE;
        sr += pts[k].src == STORE_SRC_809_REUP;
        so += pts[k].src != STORE_SRC_809_LIVE && pts[k].src != STORE_SRC_809_REUP;
        dup += k > 0 && pts[k].gnss_time == pts[k - 1].gnss_time;
    }
    mem_free(pts);
    if (got < 0)
        return (int)got;
    c->stored_live += sl;
    c->stored_reup += sr;
    c->stored_other += so;
    c->duplicates += dup;
    if (sl != live || sr != reup || so || dup || (size_t)got > cap) {
        c->mismatched++;
        if (diag)
            fprintf(diag, "%s: sent live %" PRIu64 " re-up %" PRIu64 ", stored live %" PRIu64
                    " re-up %" PRIu64 " other %" PRIu64 " duplicates %" PRIu64 "\n",
                    plate_utf8, live, reup, sl, sr, so, dup);
    }
    return 0;
}

int platstore_check(const char *dir, const char *tsv, FILE *diag, struct platstore_check *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(tsv, "r");
    if (!f)
        return -errno;
    struct store *st = NULL;
    int rc = store_create(&st);
    rc = rc ? rc : store_set_dir(st, dir);
    rc = rc ? rc : store_open_rdonly(st);
    char line[512];
    while (rc == 0 && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        unsigned uid, colour;
        char plate[64];
        unsigned long long live, reup;
        long long t0, t1;
        if (sscanf(line, "%u\t%63s\t%u\t%llu\t%llu\t%lld\t%lld", &uid, plate, &colour, &live,
                   &reup, &t0, &t1) != 7) {
            rc = RW_E_SYNTAX;
            break;
        }
        out->vehicles++;
        out->sent_live += live;
        out->sent_reup += reup;
        rc = check_vehicle(st, plate, colour, live, reup, t0, t1, out, diag);
    }
    fclose(f);
    store_close(st);
    if (rc)
        return rc;
    return out->mismatched ? 1 : 0;
}

struct id_list {
    uint32_t *ids;
    size_t n, cap;
};

static int collect_id(const struct store_vehicle *v, void *ctx)
{
    struct id_list *l = ctx;
    void *p = l->ids;
    if (mem_reserve(&p, &l->cap, l->n + 1, sizeof *l->ids, l->n, 1024) != 0)
        return -ENOMEM;
    l->ids = p;
    l->ids[l->n++] = v->id;
    return 0;
}

/* The oldest and newest GMT+8 day with a day file in <dir> ("day-YYYYMMDD[.gN].mdb"). */
static int day_range(const char *dir, int32_t *first, int32_t *last)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int y, pos = 0;
        unsigned m, dd;
        if (sscanf(e->d_name, "day-%4d%2u%2u%n", &y, &m, &dd, &pos) != 3 || pos != 12 ||
            m < 1 || m > 12 || dd < 1 || dd > 31)
            continue;
        int32_t day = (int32_t)rw_days_from_civil(y, m, dd);
        if (!found || day < *first)
            *first = day;
        if (!found || day > *last)
            *last = day;
        found = 1;
    }
    closedir(d);
    return found ? 0 : -ENOENT;
}

int platstore_count_all(const char *dir, struct platstore_count *out)
{
    memset(out, 0, sizeof *out);
    int rc = day_range(dir, &out->first_day, &out->last_day);
    if (rc)
        return rc;
    int64_t from = store_day_start(out->first_day), to = store_day_start(out->last_day + 1);
    struct store *st = NULL;
    struct id_list l = {0};
    struct store_pos *pts = NULL;
    size_t cap = 0;
    rc = store_create(&st);
    rc = rc ? rc : store_set_dir(st, dir);
    rc = rc ? rc : store_open_rdonly(st);
    rc = rc ? rc : store_vehicle_foreach(st, collect_id, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        long n = store_track_read(st, l.ids[i], from, to, pts, cap);
        if (n > (long)cap) {
            mem_free(pts);
            cap = (size_t)n * 2;
            pts = mem_calloc(cap, sizeof *pts);
            if (!pts) {
                rc = -ENOMEM;
                break;
            }
            n = store_track_read(st, l.ids[i], from, to, pts, cap);
        }
        if (n < 0) {
            rc = (int)n;
            break;
        }
        out->vehicles++;
        out->points += (uint64_t)n;
        for (long k = 1; k < n && (size_t)k < cap; k++)
            out->duplicates += pts[k].gnss_time == pts[k - 1].gnss_time;
    }
    mem_free(pts);
    mem_free(l.ids);
    store_close(st);
    return rc;
}
