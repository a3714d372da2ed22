/* compare.c: oracle vs alarm list (oracle.h). */
#include "bench/load/oracle.h"

#include <jansson.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"

#define CMP_MAX 100000u

struct cmp_alarm {
    char key[160];    /* plate|color|type */
    int64_t start, end; /* end INT64_MAX when open */
    int paired;
};

static int cmp_parse_line(const char *line, struct cmp_alarm *a)
{
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    if (!o)
        return RW_E_SYNTAX;
    const char *plate = json_string_value(json_object_get(o, "plate"));
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *st = json_string_value(json_object_get(o, "start"));
    json_t *en = json_object_get(o, "end");
    json_t *col = json_object_get(o, "color");
    int rc = RW_E_SYNTAX;
    if (plate && type && st && json_is_integer(col) && scn_time_parse(st, &a->start) == 0) {
        snprintf(a->key, sizeof a->key, "%s|%lld|%s", plate,
                 (long long)json_integer_value(col), type);
        a->end = INT64_MAX;
        rc = 0;
        if (json_is_string(en) && scn_time_parse(json_string_value(en), &a->end) != 0)
            rc = RW_E_SYNTAX;
    }
    a->paired = 0;
    json_decref(o);
    return rc;
}

static int cmp_read(FILE *f, struct cmp_alarm **out, unsigned *n)
{
    struct cmp_alarm *v = mem_calloc(CMP_MAX, sizeof *v);
    if (!v)
        return RW_E_LIMIT;
    char line[4096];
    unsigned k = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[strspn(line, " \t\r\n")] == 0)
            continue;
        if (k == CMP_MAX || cmp_parse_line(line, &v[k]) != 0) {
            mem_free(v);
            return RW_E_SYNTAX;
        }
        k++;
    }
    *out = v;
    *n = k;
    return 0;
}

static int64_t absdiff(int64_t a, int64_t b)
{
    if (a == INT64_MAX || b == INT64_MAX)
        return a == b ? 0 : INT64_MAX;
    return a > b ? a - b : b - a;
}

static int overlaps(const struct cmp_alarm *a, const struct cmp_alarm *b, int64_t tol)
{
    return a->start <= (b->end == INT64_MAX ? INT64_MAX : b->end + tol) &&
           b->start <= (a->end == INT64_MAX ? INT64_MAX : a->end + tol);
}

static void cmp_line(FILE *rep, const char *what, const struct cmp_alarm *a)
{
    if (!rep)
        return;
    char s[32], e[32] = "open";
    scn_time_fmt(a->start, s);
    if (a->end != INT64_MAX)
        scn_time_fmt(a->end, e);
    fprintf(rep, "%s %s %s .. %s\n", what, a->key, s, e);
}

/* Pairs each expected alarm with the closest-starting unpaired alarm of the same key. */
static void cmp_pair(struct cmp_alarm *e, unsigned ne, struct cmp_alarm *g, unsigned ng,
                     int64_t tol, FILE *rep, struct cmp_result *res)
{
    for (unsigned i = 0; i < ne; i++) {
        struct cmp_alarm *best = NULL;
        for (unsigned j = 0; j < ng; j++) {
            if (g[j].paired || strcmp(e[i].key, g[j].key) != 0 || !overlaps(&e[i], &g[j], tol))
                continue;
            if (!best || absdiff(g[j].start, e[i].start) < absdiff(best->start, e[i].start))
                best = &g[j];
        }
        if (!best) {
            res->missed++;
            cmp_line(rep, "missed", &e[i]);
            continue;
        }
        best->paired = e[i].paired = 1;
        int ok = 1;
        if (absdiff(best->start, e[i].start) > tol) {
            res->wrong_start++;
            ok = 0;
            cmp_line(rep, "wrong_start expected", &e[i]);
            cmp_line(rep, "wrong_start got", best);
        }
        if (absdiff(best->end, e[i].end) > tol) {
            res->wrong_end++;
            ok = 0;
            cmp_line(rep, "wrong_end expected", &e[i]);
            cmp_line(rep, "wrong_end got", best);
        }
        res->matched += ok;
    }
    for (unsigned j = 0; j < ng; j++)
        if (!g[j].paired) {
            res->extra++;
            cmp_line(rep, "extra", &g[j]);
        }
}

int cmp_run(FILE *exp, FILE *got, int64_t tol_s, FILE *report, struct cmp_result *res)
{
    memset(res, 0, sizeof *res);
    struct cmp_alarm *e = NULL, *g = NULL;
    unsigned ne = 0, ng = 0;
    int rc = cmp_read(exp, &e, &ne);
    if (rc == 0)
        rc = cmp_read(got, &g, &ng);
    if (rc == 0) {
        res->oracle = ne;
        res->alarms = ng;
        cmp_pair(e, ne, g, ng, tol_s, report, res);
        rc = (res->missed || res->extra || res->wrong_start || res->wrong_end) ? 1 : 0;
    }
    mem_free(e);
    mem_free(g);
    return rc;
}
