/* account.c: JT/T 809 platform accounts and users (meta), enterprises, geodata, and the
 * vehicle CSV import. Passwords: Argon2id (verification); JT/T 809 passwords also as a
 * crypto_secretbox copy under the key file, because they must be sent upward. */
#include <argon2.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/mem.h"
#include "engine/base/text.h"
#include "store/store_int.h"

#define HASH_MAX 160
#define PW_MAX 128
#define BOX_MAX (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PW_MAX)

static int pw_hash(const struct store *st, const char *pw, char *out, size_t cap)
{
    uint8_t salt[16];
    randombytes_buf(salt, sizeof salt);
    size_t need = argon2_encodedlen(st->cfg.kdf_ops, st->cfg.kdf_mem_kib, 1, 16, 32, Argon2_id);
    if (need > cap)
        return RW_E_NOSPACE;
    int rc = argon2id_hash_encoded(st->cfg.kdf_ops, st->cfg.kdf_mem_kib, 1, pw, strlen(pw), salt,
                                   sizeof salt, 32, out, cap);
    return rc == ARGON2_OK ? 0 : rc == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : RW_E_FIELD;
}

static int pw_ok(const char *hash, const char *pw)
{
    return argon2id_verify(hash, pw, strlen(pw)) == ARGON2_OK;
}

/* ─── platforms ─── */

struct plat_rec {
    struct store_platform p;
    char hash[HASH_MAX];
    uint8_t box[BOX_MAX];
    uint16_t box_len;
};

static size_t plat_enc(const struct plat_rec *r, uint8_t *buf, size_t cap)
{
    struct wr w;
    wr_init(&w, buf, cap);
    wr_u8(&w, 1);
    wr_u32(&w, r->p.user_id);
    wr_u32(&w, r->p.access_code);
    wr_str(&w, r->p.name);
    wr_u32(&w, r->p.m1);
    wr_u32(&w, r->p.ia1);
    wr_u32(&w, r->p.ic1);
    wr_u8(&w, r->p.edition);
    wr_u8(&w, r->p.n_ips);
    for (unsigned i = 0; i < r->p.n_ips; i++) {
        wr_u8(&w, r->p.ips[i].len);
        wr_mem(&w, r->p.ips[i].addr, r->p.ips[i].len);
    }
    wr_str(&w, r->hash);
    wr_u16(&w, r->box_len);
    wr_mem(&w, r->box, r->box_len);
    return w.err ? 0 : wr_len(&w);
}

static int plat_dec(const MDB_val *v, struct plat_rec *r)
{
    struct rd d;
    rd_init(&d, v->mv_data, v->mv_size);
    memset(r, 0, sizeof *r);
    if (rd_u8(&d) != 1)
        return RW_E_UNSUPPORTED;
    r->p.user_id = rd_u32(&d);
    r->p.access_code = rd_u32(&d);
    rd_str(&d, r->p.name, sizeof r->p.name);
    r->p.m1 = rd_u32(&d);
    r->p.ia1 = rd_u32(&d);
    r->p.ic1 = rd_u32(&d);
    r->p.edition = rd_u8(&d);
    r->p.n_ips = rd_u8(&d);
    if (r->p.n_ips > STORE_PLAT_IPS_MAX)
        return RW_E_FIELD;
    for (unsigned i = 0; i < r->p.n_ips; i++) {
        r->p.ips[i].len = rd_u8(&d);
        if (r->p.ips[i].len > 16)
            return RW_E_FIELD;
        rd_copy(&d, r->p.ips[i].addr, r->p.ips[i].len);
    }
    rd_str(&d, r->hash, sizeof r->hash);
    r->box_len = rd_u16(&d);
    if (r->box_len > BOX_MAX)
        return RW_E_TOOLONG;
    rd_copy(&d, r->box, r->box_len);
    return d.err ? d.err : rd_left(&d) ? RW_E_TRAILING : 0;
}

static int plat_put_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct plat_rec *r = ctx;
    uint8_t k[4], buf[1024];
    u32be(k, r->p.user_id);
    size_t n = plat_enc(r, buf, sizeof buf);
    MDB_val key = {4, k}, val = {n, buf};
    return n ? store_mdb_err(mdb_put(txn, st->mdbi[MDB_PLAT], &key, &val, 0)) : RW_E_TOOLONG;
}

int store_platform_put(struct store *st, const struct store_platform *p, const char *password)
{
    size_t pl = strlen(password);
    if (pl == 0 || pl > PW_MAX || p->n_ips > STORE_PLAT_IPS_MAX)
        return RW_E_FIELD;
    struct plat_rec *r = mem_calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->p = *p;
    int rc = pw_hash(st, password, r->hash, sizeof r->hash);
    if (!rc) {
        uint8_t *nonce = r->box;
        randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy(r->box + crypto_secretbox_NONCEBYTES, (const uint8_t *)password,
                              pl, nonce, st->key);
        r->box_len = (uint16_t)(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + pl);
        rc = meta_write(st, plat_put_op, r);
    }
    sodium_memzero(r, sizeof *r);
    mem_free(r);
    return rc;
}

struct plat_get { uint32_t id; struct plat_rec *r; };

static int plat_get_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct plat_get *g = ctx;
    uint8_t k[4];
    u32be(k, g->id);
    MDB_val key = {4, k}, val;
    int rc = mdb_get(txn, st->mdbi[MDB_PLAT], &key, &val);
    return rc ? store_mdb_err(rc) : plat_dec(&val, g->r);
}

static int plat_load(struct store *st, uint32_t id, struct plat_rec *r)
{
    struct plat_get g = {id, r};
    return meta_read(st, plat_get_op, &g);
}

int store_platform_get(struct store *st, uint32_t user_id, struct store_platform *out)
{
    struct plat_rec r;
    int rc = plat_load(st, user_id, &r);
    if (!rc)
        *out = r.p;
    return rc;
}

static int plat_del_op(struct store *st, MDB_txn *txn, void *ctx)
{
    uint8_t k[4];
    u32be(k, *(uint32_t *)ctx);
    MDB_val key = {4, k};
    return store_mdb_err(mdb_del(txn, st->mdbi[MDB_PLAT], &key, NULL));
}

int store_platform_del(struct store *st, uint32_t user_id)
{
    return meta_write(st, plat_del_op, &user_id);
}

int store_platform_password(struct store *st, uint32_t user_id, char *out, size_t cap)
{
    struct plat_rec r;
    int rc = plat_load(st, user_id, &r);
    if (rc)
        return rc;
    size_t hdr = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
    if (r.box_len < hdr)
        return RW_E_CHECK;
    size_t pl = r.box_len - hdr;
    if (pl + 1 > cap)
        return RW_E_NOSPACE;
    if (crypto_secretbox_open_easy((uint8_t *)out, r.box + crypto_secretbox_NONCEBYTES,
                                   r.box_len - crypto_secretbox_NONCEBYTES, r.box, st->key))
        return RW_E_CHECK;
    out[pl] = 0;
    sodium_memzero(&r, sizeof r);
    return (int)pl;
}

static int ip_allowed(const struct store_platform *p, const struct store_ip *ip)
{
    if (p->n_ips == 0)
        return 1;
    for (unsigned i = 0; ip && i < p->n_ips; i++)
        if (p->ips[i].len == ip->len && memcmp(p->ips[i].addr, ip->addr, ip->len) == 0)
            return 1;
    return 0;
}

int store_platform_check(struct store *st, uint32_t user_id, const char *password,
                         uint32_t access_code, const struct store_ip *ip, uint8_t *result)
{
    struct plat_rec r;
    int rc = plat_load(st, user_id, &r);
    if (rc == -ENOENT) {
        *result = 3;
        return 0;
    }
    if (rc)
        return rc;
    if (!ip_allowed(&r.p, ip))
        *result = 1;
    else if (r.p.access_code != access_code)
        *result = 2;
    else
        *result = pw_ok(r.hash, password) ? 0 : 4;
    return 0;
}

struct pfe { store_platform_fn cb; void *ctx; };

static int plat_foreach_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct pfe *f = ctx;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc = mdb_cursor_open(txn, st->mdbi[MDB_PLAT], &cur), stop = 0;
    if (rc)
        return store_mdb_err(rc);
    while (!stop && (rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        struct plat_rec r;
        if ((rc = plat_dec(&val, &r)))
            break;
        stop = f->cb(&r.p, f->ctx);
    }
    mdb_cursor_close(cur);
    return stop ? stop : rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

int store_platform_foreach(struct store *st, store_platform_fn cb, void *ctx)
{
    struct pfe f = {cb, ctx};
    return meta_read(st, plat_foreach_op, &f);
}

/* ─── users ─── */

struct user_rec { struct store_user u; char hash[HASH_MAX]; };

static size_t user_enc(const struct user_rec *r, uint8_t *buf, size_t cap)
{
    struct wr w;
    wr_init(&w, buf, cap);
    wr_u8(&w, 1);
    wr_u8(&w, r->u.role);
    wr_u8(&w, r->u.locked);
    wr_u64(&w, (uint64_t)r->u.created);
    wr_str(&w, r->hash);
    return w.err ? 0 : wr_len(&w);
}

static int user_dec(const MDB_val *k, const MDB_val *v, struct user_rec *r)
{
    struct rd d;
    memset(r, 0, sizeof *r);
    if (k->mv_size >= sizeof r->u.name)
        return RW_E_TOOLONG;
    memcpy(r->u.name, k->mv_data, k->mv_size);
    rd_init(&d, v->mv_data, v->mv_size);
    if (rd_u8(&d) != 1)
        return RW_E_UNSUPPORTED;
    r->u.role = rd_u8(&d);
    r->u.locked = rd_u8(&d);
    r->u.created = (int64_t)rd_u64(&d);
    rd_str(&d, r->hash, sizeof r->hash);
    return d.err ? d.err : rd_left(&d) ? RW_E_TRAILING : 0;
}

struct user_op { const char *name; struct user_rec r; int mode; int locked; };
enum { U_ADD, U_PASSWD, U_LOCK };

static int user_op_txn(struct store *st, MDB_txn *txn, void *ctx)
{
    struct user_op *o = ctx;
    MDB_val key = {strlen(o->name), (void *)o->name}, val;
    struct user_rec cur;
    int rc = mdb_get(txn, st->mdbi[MDB_USER], &key, &val);
    if (o->mode == U_ADD && rc == 0)
        return RW_E_DUPLICATE;
    if (o->mode != U_ADD) {
        if (rc)
            return store_mdb_err(rc);
        if ((rc = user_dec(&key, &val, &cur)))
            return rc;
        if (o->mode == U_LOCK)
            memcpy(o->r.hash, cur.hash, sizeof cur.hash);
        o->r.u = cur.u;
        if (o->mode == U_LOCK)
            o->r.u.locked = (uint8_t)(o->locked != 0);
    }
    uint8_t buf[256];
    size_t n = user_enc(&o->r, buf, sizeof buf);
    val.mv_size = n;
    val.mv_data = buf;
    return store_mdb_err(mdb_put(txn, st->mdbi[MDB_USER], &key, &val, 0));
}

static int user_change(struct store *st, const char *name, const char *pw, int mode,
                       uint8_t role, int locked)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl >= 64 || (pw && (strlen(pw) == 0 || strlen(pw) > PW_MAX)))
        return RW_E_FIELD;
    struct user_op o;
    memset(&o, 0, sizeof o);
    o.name = name;
    o.mode = mode;
    o.locked = locked;
    o.r.u.role = role;
    o.r.u.created = store_now(st);
    int rc = pw ? pw_hash(st, pw, o.r.hash, sizeof o.r.hash) : 0;
    if (!rc)
        rc = meta_write(st, user_op_txn, &o);
    sodium_memzero(&o, sizeof o);
    return rc;
}

int store_user_add(struct store *st, const char *name, const char *password, uint8_t role)
{
    return user_change(st, name, password, U_ADD, role, 0);
}

int store_user_passwd(struct store *st, const char *name, const char *password)
{
    return user_change(st, name, password, U_PASSWD, 0, 0);
}

int store_user_lock(struct store *st, const char *name, int locked)
{
    return user_change(st, name, NULL, U_LOCK, 0, locked);
}

static int user_get_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct user_op *o = ctx;
    MDB_val key = {strlen(o->name), (void *)o->name}, val;
    int rc = mdb_get(txn, st->mdbi[MDB_USER], &key, &val);
    return rc ? store_mdb_err(rc) : user_dec(&key, &val, &o->r);
}

int store_user_check(struct store *st, const char *name, const char *password)
{
    struct user_op o;
    memset(&o, 0, sizeof o);
    o.name = name;
    int rc = meta_read(st, user_get_op, &o);
    if (!rc)
        rc = o.r.u.locked ? RW_E_STATE : pw_ok(o.r.hash, password) ? 0 : -EACCES;
    sodium_memzero(&o, sizeof o);
    return rc;
}

struct ufe { store_user_fn cb; void *ctx; };

static int user_foreach_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct ufe *f = ctx;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc = mdb_cursor_open(txn, st->mdbi[MDB_USER], &cur), stop = 0;
    if (rc)
        return store_mdb_err(rc);
    while (!stop && (rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        struct user_rec r;
        if ((rc = user_dec(&key, &val, &r)))
            break;
        stop = f->cb(&r.u, f->ctx);
    }
    mdb_cursor_close(cur);
    return stop ? stop : rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

int store_user_foreach(struct store *st, store_user_fn cb, void *ctx)
{
    struct ufe f = {cb, ctx};
    return meta_read(st, user_foreach_op, &f);
}
