/* verify.c: integrity walk — every key and value of every database through its decoder,
 * and the cross-references (raw index -> raw block, vehicle indexes -> vehicle). Used by
 * store_verify(), backup verify and restore. Read-only; any thread. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/log.h"
#include "engine/base/mem.h"
#include "store/store_int.h"

#define VTMP (16 + 80 * STORE_SEG_MAX + (2u << 20))

struct vwalk {
    const char *name;
    long bad;
    ZSTD_DCtx *zd;
    uint8_t *tmp;
    struct store_pos *pts;
    MDB_dbi raw_dbi;
    uint8_t jslot;                /* the journal record being checked */
};

static void bad(struct vwalk *v, const char *what, int rc)
{
    if (v->bad++ < 20)
        LOG(LOG_ERR, "verify", "%s: %s: %s", v->name, what, err_str(rc));
}

static int walk_db(MDB_txn *txn, MDB_dbi dbi, struct vwalk *v,
                   void (*fn)(struct vwalk *, MDB_txn *, const MDB_val *, const MDB_val *))
{
    MDB_cursor *cur;
    MDB_val k, d;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return store_mdb_err(rc);
    while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0)
        fn(v, txn, &k, &d);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

/* Each record alone: a base (vid . slot) or tail (vid . slot . seq >= 1) key, a value that
 * decodes, points in time order, at most STORE_TAIL_MAX + 16 tails. Records of one slot
 * are merged by the reader; a tail without a base is legal (not merged yet). */
static void chk_trk(struct vwalk *v, MDB_txn *txn, const MDB_val *k, const MDB_val *d)
{
    (void)txn;
    uint32_t vid;
    uint8_t slot;
    uint16_t seq;
    int rc = trk_key_parse(k->mv_data, k->mv_size, &vid, &slot, &seq);
    if (rc) {
        bad(v, "track key", rc);
        return;
    }
    long n = seg_decode(d->mv_data, d->mv_size, vid, v->pts, STORE_SEG_MAX, v->zd, v->tmp, VTMP);
    if (n < 0 || seq > STORE_TAIL_MAX + 16)
        bad(v, seq ? "track tail record" : "track segment", n < 0 ? (int)n : RW_E_FIELD);
    for (long i = 1; i < n; i++)
        if (v->pts[i].gnss_time < v->pts[i - 1].gnss_time)
            bad(v, "track order", RW_E_FIELD);
    for (long i = 0; i < n; i++)
        if (trk_slot_of(v->pts[i].gnss_time) != slot) {
            bad(v, "track point outside its slot", RW_E_FIELD);
            break;
        }
}

static void chk_raw(struct vwalk *v, MDB_txn *txn, const MDB_val *k, const MDB_val *d)
{
    (void)txn;
    struct raw_key rk;
    if (k->mv_size != RAW_KEY_LEN) {
        bad(v, "raw key length", RW_E_LENGTH);
        return;
    }
    raw_key_dec(k->mv_data, &rk);
    long n = rawblk_decode(d->mv_data, d->mv_size, rk.min_ms, NULL, NULL, v->zd, v->tmp, VTMP);
    if (n <= 0)
        bad(v, "raw block", n < 0 ? (int)n : RW_E_EMPTY);
}

static void chk_rawv(struct vwalk *v, MDB_txn *txn, const MDB_val *k, const MDB_val *d)
{
    (void)d;
    if (k->mv_size != RAWV_KEY_LEN) {
        bad(v, "raw index key length", RW_E_LENGTH);
        return;
    }
    MDB_val bk = {RAW_KEY_LEN, (uint8_t *)k->mv_data + 4}, bv;
    if (mdb_get(txn, v->raw_dbi, &bk, &bv) != 0)
        bad(v, "raw index points to no block", -ENOENT);
}

static void chk_rawt(struct vwalk *v, MDB_txn *txn, const MDB_val *k, const MDB_val *d)
{
    (void)d;
    uint32_t bucket, vid;
    if (rawt_key_parse(k->mv_data, k->mv_size, &bucket, &vid)) {
        bad(v, "raw index key length", RW_E_LENGTH);
        return;
    }
    MDB_val bk = {RAW_KEY_LEN, (uint8_t *)k->mv_data + 8}, bv;
    struct raw_key rk;
    raw_key_dec(bk.mv_data, &rk);
    if (bucket != rawt_bucket(rk.min_ms))
        bad(v, "raw index bucket", RW_E_FIELD);
    else if (mdb_get(txn, v->raw_dbi, &bk, &bv) != 0)
        bad(v, "raw index points to no block", -ENOENT);
}

static void chk_pres(struct vwalk *v, MDB_txn *txn, const MDB_val *k, const MDB_val *d)
{
    (void)txn;
    if (k->mv_size != PRES_KEY_LEN || d->mv_size != 0 || ((uint8_t *)k->mv_data)[0] >= 144)
        bad(v, "presence key", RW_E_FIELD);
}

static int chk_jrn_entry(uint32_t vid, const uint8_t *seg, size_t len, void *ctx)
{
    struct vwalk *v = ctx;
    long n = seg_decode(seg, len, vid, v->pts, STORE_SEG_MAX, v->zd, v->tmp, VTMP);
    if (n < 0)
        return (int)n;
    for (long i = 1; i < n; i++)
        if (v->pts[i].gnss_time < v->pts[i - 1].gnss_time)
            return RW_E_FIELD;
    for (long i = 0; i < n; i++)
        if (trk_slot_of(v->pts[i].gnss_time) != v->jslot)
            return RW_E_FIELD;
    return 0;
}

static void chk_jrn(struct vwalk *v, MDB_txn *txn, const MDB_val *k, const MDB_val *d)
{
    (void)txn;
    if (k->mv_size != JRN_KEY_LEN || ((uint8_t *)k->mv_data)[0] >= STORE_SLOTS) {
        bad(v, "journal key", RW_E_FIELD);
        return;
    }
    v->jslot = ((uint8_t *)k->mv_data)[0];
    int rc = jrn_walk(d->mv_data, d->mv_size, chk_jrn_entry, v);
    if (rc)
        bad(v, "journal record", rc);
}

static int vwalk_init(struct vwalk *v, const char *name)
{
    memset(v, 0, sizeof *v);
    v->name = name;
    v->zd = ZSTD_createDCtx();
    v->tmp = mem_alloc(VTMP);
    v->pts = mem_calloc(STORE_SEG_MAX, sizeof *v->pts);
    return v->zd && v->tmp && v->pts ? 0 : -ENOMEM;
}

static void vwalk_fini(struct vwalk *v)
{
    ZSTD_freeDCtx(v->zd);
    mem_free(v->tmp);
    mem_free(v->pts);
}

long verify_day_env(MDB_env *env, const char *name)
{
    static const char *const names[] = {"trk", "raw", "rawv", "pres", "rawt", "jrn"};
    void (*const fns[])(struct vwalk *, MDB_txn *, const MDB_val *, const MDB_val *) = {
        chk_trk, chk_raw, chk_rawv, chk_pres, chk_rawt, chk_jrn};
    struct vwalk v;
    MDB_txn *txn = NULL;
    int rc = vwalk_init(&v, name);
    if (!rc)
        rc = store_mdb_err(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    MDB_dbi dbi[6];
    unsigned absent = 0;
    for (int i = 0; i < 6 && !rc; i++) {
        rc = store_mdb_err(mdb_dbi_open(txn, names[i], 0, &dbi[i]));
        if (rc == -ENOENT && i >= 4) { /* rawt: a format 2 day; jrn: before format 4 */
            absent |= 1u << i;
            rc = 0;
        }
    }
    v.raw_dbi = rc ? 0 : dbi[1];
    for (int i = 0; i < 6 && !rc; i++)
        if (!(absent & (1u << i)))
            rc = walk_db(txn, dbi[i], &v, fns[i]);
    if (rc)
        bad(&v, "walk", rc);
    if (txn)
        mdb_txn_abort(txn);
    vwalk_fini(&v);
    return v.bad;
}

long verify_meta_env(MDB_env *env)
{
    struct vwalk v;
    MDB_txn *txn = NULL;
    MDB_dbi veh, ph;
    int rc = vwalk_init(&v, "meta");
    if (!rc)
        rc = store_mdb_err(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    if (!rc)
        rc = store_mdb_err(mdb_dbi_open(txn, "veh", 0, &veh));
    if (!rc)
        rc = store_mdb_err(mdb_dbi_open(txn, "veh_phone", 0, &ph));
    MDB_cursor *cur;
    MDB_val k, d;
    if (!rc && !(rc = store_mdb_err(mdb_cursor_open(txn, ph, &cur)))) {
        while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
            MDB_val vk = {4, NULL}, vv;
            uint8_t kb[4];
            uint32_t id = 0;
            if (d.mv_size == 4)
                memcpy(&id, d.mv_data, 4);
            u32be(kb, id);
            vk.mv_data = kb;
            if (d.mv_size != 4 || mdb_get(txn, veh, &vk, &vv) != 0)
                bad(&v, "phone index points to no vehicle", -ENOENT);
        }
        mdb_cursor_close(cur);
    }
    if (rc)
        bad(&v, "walk", rc);
    if (txn)
        mdb_txn_abort(txn);
    vwalk_fini(&v);
    return v.bad;
}

long store_verify(struct store *st)
{
    long problems = verify_meta_env(st->meta);
    int32_t days[1024];
    long n = store_days(st, days, 1024);
    for (long i = 0; i < n && i < 1024; i++) {
        struct store_part *p;
        char name[32];
        snprintf(name, sizeof name, "day %d", days[i]);
        int rc = part_get(st, days[i], 0, &p);
        if (rc) {
            LOG(LOG_ERR, "verify", "%s: open: %s", name, err_str(rc));
            problems++;
            continue;
        }
        pthread_rwlock_rdlock(&p->rw);
        problems += verify_day_env(p->env, name);
        pthread_rwlock_unlock(&p->rw);
        part_put(st, p);
    }
    return problems;
}
