/* meta_misc.c: enterprises, geodata blobs and the vehicle CSV import (meta). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/mem.h"
#include "engine/base/text.h"
#include "store/store_int.h"

struct blob_op { uint32_t id; int dbi; const void *data; size_t len; void *out; size_t cap;
                 size_t got; };

static int blob_put_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct blob_op *o = ctx;
    uint8_t k[4];
    u32be(k, o->id);
    MDB_val key = {4, k}, val = {o->len, (void *)o->data};
    return store_mdb_err(mdb_put(txn, st->mdbi[o->dbi], &key, &val, 0));
}

static int blob_get_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct blob_op *o = ctx;
    uint8_t k[4];
    u32be(k, o->id);
    MDB_val key = {4, k}, val;
    int rc = mdb_get(txn, st->mdbi[o->dbi], &key, &val);
    if (rc)
        return store_mdb_err(rc);
    o->got = val.mv_size;
    memcpy(o->out, val.mv_data, val.mv_size < o->cap ? val.mv_size : o->cap);
    return 0;
}

static int blob_del_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct blob_op *o = ctx;
    uint8_t k[4];
    u32be(k, o->id);
    MDB_val key = {4, k};
    return store_mdb_err(mdb_del(txn, st->mdbi[o->dbi], &key, NULL));
}

int store_enterprise_put(struct store *st, const struct store_enterprise *e)
{
    uint8_t buf[200];
    struct wr w;
    wr_init(&w, buf, sizeof buf);
    wr_u8(&w, 1);
    wr_u32(&w, e->region);
    wr_str(&w, e->name);
    struct blob_op o = {e->id, MDB_ENT, buf, wr_len(&w), NULL, 0, 0};
    return w.err ? w.err : meta_write(st, blob_put_op, &o);
}

int store_enterprise_get(struct store *st, uint32_t id, struct store_enterprise *out)
{
    uint8_t buf[200];
    struct blob_op o = {id, MDB_ENT, NULL, 0, buf, sizeof buf, 0};
    int rc = meta_read(st, blob_get_op, &o);
    if (rc)
        return rc;
    struct rd r;
    rd_init(&r, buf, o.got < sizeof buf ? o.got : sizeof buf);
    memset(out, 0, sizeof *out);
    out->id = id;
    if (rd_u8(&r) != 1)
        return RW_E_UNSUPPORTED;
    out->region = rd_u32(&r);
    rd_str(&r, out->name, sizeof out->name);
    return r.err;
}

int store_geo_put(struct store *st, uint32_t id, uint8_t kind, const void *data, size_t len)
{
    if (len > (64u << 20))
        return RW_E_TOOLONG;
    uint8_t *buf = mem_alloc(len + 1);
    if (!buf)
        return -ENOMEM;
    buf[0] = kind;
    memcpy(buf + 1, data, len);
    struct blob_op o = {id, MDB_GEO, buf, len + 1, NULL, 0, 0};
    int rc = meta_write(st, blob_put_op, &o);
    mem_free(buf);
    return rc;
}

struct geo_get { uint32_t id; uint8_t kind; void *out; size_t cap; size_t len; };

static int geo_get_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct geo_get *g = ctx;
    uint8_t k[4];
    u32be(k, g->id);
    MDB_val key = {4, k}, val;
    int rc = mdb_get(txn, st->mdbi[MDB_GEO], &key, &val);
    if (rc)
        return store_mdb_err(rc);
    if (val.mv_size < 1)
        return -EIO;
    g->kind = *(uint8_t *)val.mv_data;
    g->len = val.mv_size - 1;
    memcpy(g->out, (uint8_t *)val.mv_data + 1, g->len < g->cap ? g->len : g->cap);
    return 0;
}

long store_geo_get(struct store *st, uint32_t id, uint8_t *kind, void *out, size_t cap)
{
    struct geo_get g = {id, 0, out, cap, 0};
    int rc = meta_read(st, geo_get_op, &g);
    if (rc)
        return rc;
    *kind = g.kind;
    return (long)g.len;
}

int store_geo_del(struct store *st, uint32_t id)
{
    struct blob_op o = {id, MDB_GEO, NULL, 0, NULL, 0, 0};
    return meta_write(st, blob_del_op, &o);
}

/* ─── CSV import ─── */

#define CSV_FIELDS 9

/* Splits <line> in place on commas (no quoting: plates and ids contain none). */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *p = line; n < max; n++) {
        f[n] = p;
        char *c = strchr(p, ',');
        if (!c) {
            n++;
            break;
        }
        *c = 0;
        p = c + 1;
        save = p;
    }
    (void)save;
    for (int i = 0; i < n; i++) { /* trim CR, LF and spaces */
        char *e = f[i] + strlen(f[i]);
        while (e > f[i] && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
            *--e = 0;
        while (*f[i] == ' ')
            f[i]++;
    }
    return n;
}

static int csv_num(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!*s) {
        *out = 0;
        return 0;
    }
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return RW_E_FIELD;
    *out = v;
    return 0;
}

/* Fills <v> from the fields of one line; on error sets <*why> to "column: reason". */
static int csv_row(char **f, struct store_vehicle *v, const char **why)
{
    /* Numeric columns: upper bound and the reason given when a value is not in range. */
    static const unsigned long max[CSV_FIELDS] = {0, 255, 0, 0, 0, UINT32_MAX, 4, 999999,
                                                  UINT32_MAX};
    static const char *const range[CSV_FIELDS] = {
        NULL, "colour: not a number in 0..255", NULL, NULL, NULL,
        "enterprise_id: not a number in 0..4294967295", "industry: not a code in 0..4",
        "region: not a 6-digit division code", "platform_id: not a number in 0..4294967295"};
    unsigned long n[CSV_FIELDS] = {0};
    memset(v, 0, sizeof *v);
    int len = f[0][0] ? text_utf8_to_gbk(f[0], strlen(f[0]), v->plate, sizeof v->plate) : 0;
    if (len <= 0) {
        *why = f[0][0] ? "plate: not UTF-8 text that GBK can hold in 32 bytes"
                       : "plate: empty";
        return RW_E_FIELD;
    }
    v->plate_len = (uint8_t)len;
    for (int i = 1; i < CSV_FIELDS; i++)
        if (max[i] && csv_num(f[i], max[i], &n[i])) {
            *why = range[i];
            return RW_E_FIELD;
        }
    if (f[2][0] && store_phone_norm(f[2], v->phone)) {
        *why = "phone: not 1..20 decimal digits";
        return RW_E_FIELD;
    }
    if (strlen(f[3]) >= sizeof v->terminal_id || strlen(f[4]) >= sizeof v->sim) {
        *why = strlen(f[3]) >= sizeof v->terminal_id ? "terminal_id: longer than 31 bytes"
                                                     : "sim: longer than 23 bytes";
        return RW_E_FIELD;
    }
    v->colour = (uint8_t)n[1];
    memcpy(v->terminal_id, f[3], strlen(f[3]) + 1);
    memcpy(v->sim, f[4], strlen(f[4]) + 1);
    v->enterprise_id = (uint32_t)n[5];
    v->industry = (uint8_t)n[6];
    v->region = (uint32_t)n[7];
    v->platform_id = (uint32_t)n[8];
    return 0;
}

struct csv_ctx { FILE *f; long rows; char *err; size_t errcap; };

/* One line: parse, then insert or update (same plate and colour). */
static int csv_line(struct store *st, MDB_txn *txn, char *line, const char **why)
{
    char *f[CSV_FIELDS + 1];
    struct store_vehicle v;
    int nf = csv_split(line, f, CSV_FIELDS + 1);
    if (nf != CSV_FIELDS) {
        *why = nf < CSV_FIELDS ? "too few fields (9 expected)" : "too many fields (9 expected)";
        return RW_E_SYNTAX;
    }
    int rc = csv_row(f, &v, why);
    if (rc)
        return rc;
    uint8_t pk[1 + sizeof v.plate];
    pk[0] = v.colour;
    memcpy(pk + 1, v.plate, v.plate_len);
    MDB_val key = {(size_t)v.plate_len + 1, pk}, val;
    if (mdb_get(txn, st->mdbi[MDB_VPLATE], &key, &val) == 0 && val.mv_size == 4)
        memcpy(&v.id, val.mv_data, 4); /* update in place */
    rc = veh_put_txn(st, txn, &v);
    if (rc == RW_E_DUPLICATE)
        *why = "phone already belongs to another vehicle";
    return rc;
}

static int csv_import_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct csv_ctx *c = ctx;
    char line[1024];
    long ln = 0;
    c->rows = 0;
    rewind(c->f);
    while (fgets(line, sizeof line, c->f)) {
        const char *why = NULL;
        size_t len = strlen(line);
        ++ln;
        int rc = 0;
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(c->f)) {
            why = "line longer than 1022 bytes";
            rc = RW_E_TOOLONG;
        } else if (ln == 1 || line[0] == '#' || line[strspn(line, " \t\r\n")] == 0) {
            continue; /* header, comments, blank lines */
        } else {
            rc = csv_line(st, txn, line, &why);
        }
        if (rc) {
            snprintf(c->err, c->errcap, "line %ld: %s", ln, why ? why : err_str(rc));
            return rc;
        }
        c->rows++;
    }
    return ferror(c->f) ? -EIO : 0;
}

long store_vehicle_import_csv(struct store *st, const char *path, char *err, size_t errcap)
{
    struct csv_ctx c = {fopen(path, "r"), 0, err, errcap};
    if (errcap)
        err[0] = 0;
    if (!c.f) {
        int e = errno;
        snprintf(err, errcap, "%s: %s", path, strerror(e));
        return -e;
    }
    int rc = meta_write(st, csv_import_op, &c);
    fclose(c.f);
    if (rc && errcap && !err[0])
        snprintf(err, errcap, "%s", err_str(rc));
    return rc ? rc : c.rows;
}
