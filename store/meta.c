/* meta.c: the vehicle registry, enterprises, geodata, JT/T 809 platform accounts and users
 * in the meta environment. Any thread; every write is one short write transaction,
 * durable on return (LMDB serialises writers). Records are encoded field by field
 * (store/README.md §4.5), never as C struct images. */
#include <argon2.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/mem.h"
#include "engine/base/text.h"
#include "store/store_int.h"

/* Runs <op> in a write transaction; retried once after the map grew. */
int meta_write(struct store *st, meta_op_fn op, void *ctx)
{
    int rc = RW_E_LIMIT;
    for (int attempt = 0; attempt < 2 && rc == RW_E_LIMIT; attempt++) {
        MDB_txn *txn;
        if ((rc = meta_wtxn(st, &txn)))
            return rc;
        rc = op(st, txn, ctx);
        if (rc) {
            mdb_txn_abort(txn);
            pthread_rwlock_unlock(&st->meta_rw);
            if (rc == RW_E_LIMIT && st->meta_map < (16ull << 30)) { /* grow, retry */
                pthread_rwlock_wrlock(&st->meta_rw);
                if (mdb_env_set_mapsize(st->meta, st->meta_map * 2) == 0)
                    st->meta_map *= 2;
                pthread_rwlock_unlock(&st->meta_rw);
            }
        } else {
            rc = meta_commit(st, txn);
        }
    }
    return rc;
}

int meta_read(struct store *st, meta_op_fn op, void *ctx)
{
    MDB_txn *txn;
    int rc = meta_rtxn(st, &txn);
    if (rc)
        return rc;
    rc = op(st, txn, ctx);
    meta_rtxn_end(st, txn);
    return rc;
}

void wr_str(struct wr *w, const char *s)
{
    /* strlen, not strnlen(s, 255): every caller passes a NUL-terminated field shorter
     * than 255 bytes, and gcc 12 -O3 rejects a bound larger than the field. */
    size_t n = strlen(s);
    n = n > 255 ? 255 : n;
    wr_u8(w, (uint8_t)n);
    wr_mem(w, s, n);
}

void rd_str(struct rd *r, char *out, size_t cap)
{
    uint8_t n = rd_u8(r);
    if (n >= cap) {
        r->err = RW_E_TOOLONG;
        out[0] = 0;
        return;
    }
    rd_copy(r, out, n);
    out[n] = 0;
}

void u32be(uint8_t k[4], uint32_t v)
{
    k[0] = (uint8_t)(v >> 24);
    k[1] = (uint8_t)(v >> 16);
    k[2] = (uint8_t)(v >> 8);
    k[3] = (uint8_t)v;
}

/* Next value of a u32 counter kept in meta "info". */
int next_id(struct store *st, MDB_txn *txn, const char *name, uint32_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    uint32_t id = 0;
    int rc = mdb_get(txn, st->mdbi[MDB_INFO_], &k, &v);
    if (rc == 0 && v.mv_size == 4)
        memcpy(&id, v.mv_data, 4);
    else if (rc && rc != MDB_NOTFOUND)
        return store_mdb_err(rc);
    if (++id == 0)
        return RW_E_LIMIT;
    v.mv_size = 4;
    v.mv_data = &id;
    *out = id;
    return store_mdb_err(mdb_put(txn, st->mdbi[MDB_INFO_], &k, &v, 0));
}

int store_phone_norm(const char *in, char out[21])
{
    size_t n = strlen(in);
    if (n == 0 || n > 20)
        return RW_E_FIELD;
    for (size_t i = 0; i < n; i++)
        if (in[i] < '0' || in[i] > '9')
            return RW_E_FIELD;
    while (n > 1 && *in == '0') {
        in++;
        n--;
    }
    memcpy(out, in, n);
    out[n] = 0;
    return 0;
}

/* ─── vehicles ─── */

static size_t veh_enc(const struct store_vehicle *v, uint8_t *buf, size_t cap)
{
    struct wr w;
    wr_init(&w, buf, cap);
    wr_u8(&w, 1);
    wr_u32(&w, v->id);
    wr_u8(&w, v->plate_len);
    wr_mem(&w, v->plate, v->plate_len);
    wr_u8(&w, v->colour);
    wr_str(&w, v->phone);
    wr_str(&w, v->terminal_id);
    wr_str(&w, v->sim);
    wr_u32(&w, v->enterprise_id);
    wr_u8(&w, v->industry);
    wr_u32(&w, v->region);
    wr_u32(&w, v->platform_id);
    return w.err ? 0 : wr_len(&w);
}

static int veh_dec(const MDB_val *val, struct store_vehicle *v)
{
    struct rd r;
    rd_init(&r, val->mv_data, val->mv_size);
    memset(v, 0, sizeof *v);
    if (rd_u8(&r) != 1)
        return RW_E_UNSUPPORTED;
    v->id = rd_u32(&r);
    v->plate_len = rd_u8(&r);
    if (v->plate_len > sizeof v->plate)
        return RW_E_TOOLONG;
    rd_copy(&r, v->plate, v->plate_len);
    v->colour = rd_u8(&r);
    rd_str(&r, v->phone, sizeof v->phone);
    rd_str(&r, v->terminal_id, sizeof v->terminal_id);
    rd_str(&r, v->sim, sizeof v->sim);
    v->enterprise_id = rd_u32(&r);
    v->industry = rd_u8(&r);
    v->region = rd_u32(&r);
    v->platform_id = rd_u32(&r);
    return r.err ? r.err : rd_left(&r) ? RW_E_TRAILING : 0;
}

static size_t plate_key(uint8_t *k, const uint8_t *plate, size_t len, uint8_t colour)
{
    k[0] = colour;
    memcpy(k + 1, plate, len);
    return len + 1;
}

static int veh_get_txn(struct store *st, MDB_txn *txn, uint32_t id, struct store_vehicle *out)
{
    uint8_t k[4];
    u32be(k, id);
    MDB_val key = {4, k}, val;
    int rc = mdb_get(txn, st->mdbi[MDB_VEH], &key, &val);
    return rc ? store_mdb_err(rc) : veh_dec(&val, out);
}

/* Looks up an index (phone or plate) -> id. */
static int idx_get(struct store *st, MDB_txn *txn, int dbi, const void *k, size_t len,
                   uint32_t *id)
{
    MDB_val key = {len, (void *)k}, val;
    int rc = mdb_get(txn, st->mdbi[dbi], &key, &val);
    if (rc)
        return store_mdb_err(rc);
    if (val.mv_size != 4)
        return -EIO;
    memcpy(id, val.mv_data, 4);
    return 0;
}

static int veh_unindex(struct store *st, MDB_txn *txn, const struct store_vehicle *o)
{
    uint8_t pk[40];
    MDB_val k1 = {strlen(o->phone), (void *)o->phone};
    MDB_val k2 = {plate_key(pk, o->plate, o->plate_len, o->colour), pk};
    int rc = k1.mv_size ? mdb_del(txn, st->mdbi[MDB_VPHONE], &k1, NULL) : 0;
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = mdb_del(txn, st->mdbi[MDB_VPLATE], &k2, NULL);
    return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

int veh_put_txn(struct store *st, MDB_txn *txn, struct store_vehicle *v)
{
    uint8_t pk[40], buf[256], k[4];
    uint32_t other = 0;
    int rc;
    if (v->plate_len == 0 || v->plate_len > sizeof v->plate)
        return RW_E_FIELD;
    if (v->id == 0 && (rc = next_id(st, txn, "next_vid", &v->id)))
        return rc;
    size_t pkl = plate_key(pk, v->plate, v->plate_len, v->colour);
    if (v->phone[0] && idx_get(st, txn, MDB_VPHONE, v->phone, strlen(v->phone), &other) == 0 &&
        other != v->id)
        return RW_E_DUPLICATE;
    if (idx_get(st, txn, MDB_VPLATE, pk, pkl, &other) == 0 && other != v->id)
        return RW_E_DUPLICATE;
    struct store_vehicle old;
    if (veh_get_txn(st, txn, v->id, &old) == 0 && (rc = veh_unindex(st, txn, &old)))
        return rc;
    size_t n = veh_enc(v, buf, sizeof buf);
    u32be(k, v->id);
    MDB_val key = {4, k}, val = {n, buf}, idv = {4, &v->id};
    MDB_val k1 = {strlen(v->phone), v->phone}, k2 = {pkl, pk};
    if ((rc = mdb_put(txn, st->mdbi[MDB_VEH], &key, &val, 0)) ||
        (k1.mv_size && (rc = mdb_put(txn, st->mdbi[MDB_VPHONE], &k1, &idv, 0))) ||
        (rc = mdb_put(txn, st->mdbi[MDB_VPLATE], &k2, &idv, 0)))
        return store_mdb_err(rc);
    return 0;
}

static int veh_put_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct store_vehicle *v = ctx;
    uint32_t id0 = v->id;
    int rc = veh_put_txn(st, txn, v);
    if (rc)
        v->id = id0;
    return rc;
}

int store_vehicle_put(struct store *st, struct store_vehicle *v)
{
    char ph[21];
    if (v->phone[0]) {
        int rc = store_phone_norm(v->phone, ph);
        if (rc)
            return rc;
        memcpy(v->phone, ph, sizeof ph);
    }
    return meta_write(st, veh_put_op, v);
}

int store_vehicle_enrol(struct store *st, const struct store_vehicle *v, uint32_t *id)
{
    struct store_vehicle c = *v;
    c.id = 0;
    int rc = store_vehicle_put(st, &c);
    if (!rc)
        *id = c.id;
    return rc;
}

struct vget { uint32_t id; const void *k; size_t klen; int dbi; struct store_vehicle *out; };

static int veh_get_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct vget *g = ctx;
    int rc = 0;
    if (g->k)
        rc = idx_get(st, txn, g->dbi, g->k, g->klen, &g->id);
    return rc ? rc : veh_get_txn(st, txn, g->id, g->out);
}

int store_vehicle_get(struct store *st, uint32_t id, struct store_vehicle *out)
{
    struct vget g = {id, NULL, 0, 0, out};
    return meta_read(st, veh_get_op, &g);
}

int store_vehicle_by_phone(struct store *st, const char *phone, struct store_vehicle *out)
{
    char ph[21];
    int rc = store_phone_norm(phone, ph);
    if (rc)
        return rc;
    struct vget g = {0, ph, strlen(ph), MDB_VPHONE, out};
    return meta_read(st, veh_get_op, &g);
}

int store_vehicle_by_plate(struct store *st, const uint8_t *plate, size_t len, uint8_t colour,
                           struct store_vehicle *out)
{
    uint8_t pk[40];
    if (len == 0 || len > 32)
        return RW_E_FIELD;
    struct vget g = {0, pk, plate_key(pk, plate, len, colour), MDB_VPLATE, out};
    return meta_read(st, veh_get_op, &g);
}

static int veh_del_op(struct store *st, MDB_txn *txn, void *ctx)
{
    uint32_t id = *(uint32_t *)ctx;
    struct store_vehicle old;
    int rc = veh_get_txn(st, txn, id, &old);
    if (rc || (rc = veh_unindex(st, txn, &old)))
        return rc;
    uint8_t k[4];
    u32be(k, id);
    MDB_val key = {4, k};
    mdb_del(txn, st->mdbi[MDB_VAUTH], &key, NULL);
    return store_mdb_err(mdb_del(txn, st->mdbi[MDB_VEH], &key, NULL));
}

int store_vehicle_del(struct store *st, uint32_t id)
{
    return meta_write(st, veh_del_op, &id);
}

struct vfe { store_vehicle_fn cb; void *ctx; };

static int veh_foreach_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct vfe *f = ctx;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc = mdb_cursor_open(txn, st->mdbi[MDB_VEH], &cur);
    if (rc)
        return store_mdb_err(rc);
    int stop = 0;
    while (!stop && (rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        struct store_vehicle v;
        if ((rc = veh_dec(&val, &v)))
            break;
        stop = f->cb(&v, f->ctx);
    }
    mdb_cursor_close(cur);
    if (stop)
        return stop;
    return rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

int store_vehicle_foreach(struct store *st, store_vehicle_fn cb, void *ctx)
{
    struct vfe f = {cb, ctx};
    return meta_read(st, veh_foreach_op, &f);
}

struct regb { struct store_reg *r; size_t n; int open_mode; };

/* One registration in the batch's txn; returns an LMDB-level failure only (the item's own
 * outcome goes to r->result). */
static int reg_one(struct store *st, MDB_txn *txn, struct store_reg *r, int open_mode)
{
    char ph[21];
    uint32_t id = 0;
    r->id = 0;
    if (store_phone_norm(r->phone, ph) || r->plate_len > 32 || r->code_len == 0 ||
        r->code_len > sizeof r->code) {
        r->result = RW_E_FIELD;
        return 0;
    }
    int rc = idx_get(st, txn, MDB_VPHONE, ph, strlen(ph), &id);
    if (rc == -ENOENT && r->plate_len == 0) { /* an unknown phone without a plate */
        r->result = open_mode ? RW_E_FIELD : STORE_REG_VEHICLE_UNKNOWN;
        return 0;
    }
    if (rc == -ENOENT) {
        uint8_t pk[40];
        rc = idx_get(st, txn, MDB_VPLATE, pk, plate_key(pk, r->plate, r->plate_len, r->colour),
                     &id);
        if (rc == 0) {
            r->result = open_mode ? STORE_REG_VEHICLE_TAKEN : STORE_REG_TERMINAL_UNKNOWN;
            return 0;
        }
        if (rc != -ENOENT)
            return rc;
        if (!open_mode) {
            r->result = STORE_REG_VEHICLE_UNKNOWN;
            return 0;
        }
        struct store_vehicle v;
        memset(&v, 0, sizeof v);
        memcpy(v.plate, r->plate, r->plate_len);
        v.plate_len = r->plate_len;
        v.colour = r->colour;
        memcpy(v.phone, ph, sizeof ph);
        snprintf(v.terminal_id, sizeof v.terminal_id, "%.*s", (int)sizeof r->terminal_id,
                 r->terminal_id);
        if ((rc = veh_put_txn(st, txn, &v)) == RW_E_DUPLICATE) {
            r->result = STORE_REG_VEHICLE_TAKEN;
            return 0;
        }
        if (rc)
            return rc;
        id = v.id;
    } else if (rc) {
        return rc;
    }
    uint8_t k[4];
    u32be(k, id);
    MDB_val key = {4, k}, val = {r->code_len, r->code};
    if ((rc = mdb_put(txn, st->mdbi[MDB_VAUTH], &key, &val, 0)))
        return store_mdb_err(rc);
    r->result = STORE_REG_OK;
    r->id = id;
    return 0;
}

static int reg_batch_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct regb *b = ctx;
    for (size_t i = 0; i < b->n; i++) {
        int rc = reg_one(st, txn, &b->r[i], b->open_mode);
        if (rc)
            return rc;
    }
    return 0;
}

int store_register_batch(struct store *st, struct store_reg *r, size_t n, int open_mode)
{
    if (n == 0)
        return 0;
    struct regb b = {r, n, open_mode};
    int rc = meta_write(st, reg_batch_op, &b);
    for (size_t i = 0; rc && i < n; i++) {
        r[i].result = rc;
        r[i].id = 0;
    }
    return rc;
}

struct vauth { uint32_t id; const uint8_t *code; size_t len; uint8_t *out; size_t cap; };

static int auth_set_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct vauth *a = ctx;
    struct store_vehicle v;
    int rc = veh_get_txn(st, txn, a->id, &v);
    if (rc)
        return rc;
    uint8_t k[4];
    u32be(k, a->id);
    MDB_val key = {4, k}, val = {a->len, (void *)a->code};
    return store_mdb_err(mdb_put(txn, st->mdbi[MDB_VAUTH], &key, &val, 0));
}

int store_vehicle_set_auth(struct store *st, uint32_t id, const uint8_t *code, size_t len)
{
    if (len == 0 || len > 255)
        return RW_E_FIELD;
    struct vauth a = {id, code, len, NULL, 0};
    return meta_write(st, auth_set_op, &a);
}

static int auth_get_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct vauth *a = ctx;
    uint8_t k[4];
    u32be(k, a->id);
    MDB_val key = {4, k}, val;
    int rc = mdb_get(txn, st->mdbi[MDB_VAUTH], &key, &val);
    if (rc)
        return store_mdb_err(rc);
    if (val.mv_size > a->cap)
        return RW_E_NOSPACE;
    memcpy(a->out, val.mv_data, val.mv_size);
    a->len = val.mv_size;
    return 0;
}

int store_vehicle_get_auth(struct store *st, uint32_t id, uint8_t *out, size_t cap)
{
    struct vauth a = {id, NULL, 0, out, cap};
    int rc = meta_read(st, auth_get_op, &a);
    return rc ? rc : (int)a.len;
}
