/* alarm.c: alarm records, their by-vehicle-and-time index and handling events (meta:
 * handling records must outlive the 183-day window, alarms.md §4.1). Any thread. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

static size_t alarm_enc(const struct store_alarm *a, uint8_t *buf, size_t cap)
{
    struct wr w;
    wr_init(&w, buf, cap);
    wr_u8(&w, 1);
    wr_u32(&w, a->vehicle_id);
    wr_u16(&w, a->type);
    wr_u8(&w, a->source);
    wr_u8(&w, a->state);
    wr_u32(&w, a->driver_id);
    wr_u64(&w, (uint64_t)a->start_time);
    wr_u64(&w, (uint64_t)a->end_time);
    wr_u32(&w, (uint32_t)a->start_lat_e6);
    wr_u32(&w, (uint32_t)a->start_lon_e6);
    wr_u32(&w, (uint32_t)a->end_lat_e6);
    wr_u32(&w, (uint32_t)a->end_lon_e6);
    wr_u16(&w, a->start_speed_dkmh);
    wr_u16(&w, a->end_speed_dkmh);
    wr_u16(&w, a->max_speed_dkmh);
    wr_u16(&w, a->avg_speed_dkmh);
    wr_u32(&w, a->mileage_hm);
    wr_u8(&w, a->n_params);
    for (unsigned i = 0; i < a->n_params && i < STORE_ALARM_PARAMS_MAX; i++) {
        wr_u32(&w, a->params[i].id);
        wr_u64(&w, (uint64_t)a->params[i].value);
    }
    return w.err ? 0 : wr_len(&w);
}

static int alarm_dec(uint64_t id, const MDB_val *v, struct store_alarm *a)
{
    struct rd r;
    rd_init(&r, v->mv_data, v->mv_size);
    memset(a, 0, sizeof *a);
    a->id = id;
    if (rd_u8(&r) != 1)
        return RW_E_UNSUPPORTED;
    a->vehicle_id = rd_u32(&r);
    a->type = rd_u16(&r);
    a->source = rd_u8(&r);
    a->state = rd_u8(&r);
    a->driver_id = rd_u32(&r);
    a->start_time = (int64_t)rd_u64(&r);
    a->end_time = (int64_t)rd_u64(&r);
    a->start_lat_e6 = (int32_t)rd_u32(&r);
    a->start_lon_e6 = (int32_t)rd_u32(&r);
    a->end_lat_e6 = (int32_t)rd_u32(&r);
    a->end_lon_e6 = (int32_t)rd_u32(&r);
    a->start_speed_dkmh = rd_u16(&r);
    a->end_speed_dkmh = rd_u16(&r);
    a->max_speed_dkmh = rd_u16(&r);
    a->avg_speed_dkmh = rd_u16(&r);
    a->mileage_hm = rd_u32(&r);
    a->n_params = rd_u8(&r);
    if (a->n_params > STORE_ALARM_PARAMS_MAX)
        return RW_E_FIELD;
    for (unsigned i = 0; i < a->n_params; i++) {
        a->params[i].id = rd_u32(&r);
        a->params[i].value = (int64_t)rd_u64(&r);
    }
    return r.err ? r.err : rd_left(&r) ? RW_E_TRAILING : 0;
}

static void k64(uint8_t *k, uint64_t v)
{
    struct wr w;
    wr_init(&w, k, 8);
    wr_u64(&w, v);
}

/* alarm_vt key: vehicle u32 | start time (sign-flipped) u64 | id u64. */
static void vt_key(uint8_t k[20], uint32_t vid, int64_t t, uint64_t id)
{
    u32be(k, vid);
    k64(k + 4, (uint64_t)t ^ (1ull << 63));
    k64(k + 12, id);
}

struct alarm_op { struct store_alarm *a; const struct store_alarm_event *ev; int update; };

static int alarm_get_txn(struct store *st, MDB_txn *txn, uint64_t id, struct store_alarm *out)
{
    uint8_t k[8];
    k64(k, id);
    MDB_val key = {8, k}, val;
    int rc = mdb_get(txn, st->mdbi[MDB_ALARM], &key, &val);
    return rc ? store_mdb_err(rc) : alarm_dec(id, &val, out);
}

static int alarm_put_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct alarm_op *o = ctx;
    struct store_alarm *a = o->a, old;
    int rc;
    if (o->update) {
        if ((rc = alarm_get_txn(st, txn, a->id, &old)))
            return rc;
        if (old.vehicle_id != a->vehicle_id || old.start_time != a->start_time)
            return RW_E_FIELD;
    } else {
        uint32_t hi, lo;
        if ((rc = next_id(st, txn, "next_alarm", &lo)))
            return rc;
        hi = 0;
        a->id = (uint64_t)hi << 32 | lo;
    }
    uint8_t k[8], vk[20], buf[256];
    k64(k, a->id);
    vt_key(vk, a->vehicle_id, a->start_time, a->id);
    size_t n = alarm_enc(a, buf, sizeof buf);
    MDB_val key = {8, k}, val = {n, buf}, ik = {20, vk}, iv = {0, NULL};
    if ((rc = mdb_put(txn, st->mdbi[MDB_ALARM], &key, &val, 0)) ||
        (rc = mdb_put(txn, st->mdbi[MDB_ALARM_VT], &ik, &iv, 0)))
        return store_mdb_err(rc);
    return 0;
}

int store_alarm_put(struct store *st, struct store_alarm *a)
{
    if (a->n_params > STORE_ALARM_PARAMS_MAX || a->vehicle_id == 0)
        return RW_E_FIELD;
    struct alarm_op o = {a, NULL, 0};
    return meta_write(st, alarm_put_op, &o);
}

int store_alarm_update(struct store *st, const struct store_alarm *a)
{
    if (a->n_params > STORE_ALARM_PARAMS_MAX)
        return RW_E_FIELD;
    struct store_alarm c = *a;
    struct alarm_op o = {&c, NULL, 1};
    return meta_write(st, alarm_put_op, &o);
}

struct alarm_get { uint64_t id; struct store_alarm *out; };

static int alarm_get_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct alarm_get *g = ctx;
    return alarm_get_txn(st, txn, g->id, g->out);
}

int store_alarm_get(struct store *st, uint64_t id, struct store_alarm *out)
{
    struct alarm_get g = {id, out};
    return meta_read(st, alarm_get_op, &g);
}

static int alarm_ev_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct alarm_op *o = ctx;
    struct store_alarm a;
    int rc = alarm_get_txn(st, txn, o->a->id, &a);
    if (rc)
        return rc;
    uint8_t k[10], buf[200];
    k64(k, a.id);
    /* next event number: last key of this alarm + 1 */
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, st->mdbi[MDB_ALARM_EV], &cur)))
        return store_mdb_err(rc);
    uint16_t seq = 0;
    uint8_t probe[10];
    k64(probe, a.id);
    probe[8] = probe[9] = 0xff;
    MDB_val key = {10, probe}, val;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    rc = rc == 0 ? mdb_cursor_get(cur, &key, &val, MDB_PREV) : mdb_cursor_get(cur, &key, &val, MDB_LAST);
    if (rc == 0 && key.mv_size == 10 && memcmp(key.mv_data, k, 8) == 0)
        seq = (uint16_t)(((uint8_t *)key.mv_data)[8] << 8 | ((uint8_t *)key.mv_data)[9]) + 1;
    mdb_cursor_close(cur);
    k[8] = (uint8_t)(seq >> 8);
    k[9] = (uint8_t)seq;
    struct wr w;
    wr_init(&w, buf, sizeof buf);
    wr_u64(&w, (uint64_t)o->ev->time);
    wr_u8(&w, o->ev->state);
    wr_u32(&w, o->ev->operator_id);
    wr_str(&w, o->ev->note);
    MDB_val ek = {10, k}, evv = {wr_len(&w), buf};
    if ((rc = mdb_put(txn, st->mdbi[MDB_ALARM_EV], &ek, &evv, 0)))
        return store_mdb_err(rc);
    a.state = o->ev->state;
    struct alarm_op up = {&a, NULL, 1};
    return alarm_put_op(st, txn, &up);
}

int store_alarm_handle(struct store *st, uint64_t id, const struct store_alarm_event *ev)
{
    struct store_alarm a;
    a.id = id;
    struct alarm_op o = {&a, ev, 0};
    return meta_write(st, alarm_ev_op, &o);
}

struct alarm_list { uint64_t id; uint32_t vid; int64_t from, to; void *out; size_t max;
                    long n; };

static int alarm_events_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct alarm_list *l = ctx;
    struct store_alarm_event *out = l->out;
    uint8_t k[10];
    k64(k, l->id);
    k[8] = k[9] = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->mdbi[MDB_ALARM_EV], &cur);
    if (rc)
        return store_mdb_err(rc);
    MDB_val key = {10, k}, val;
    int op = MDB_SET_RANGE;
    while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        if (key.mv_size != 10 || memcmp(key.mv_data, k, 8) != 0)
            break;
        if ((size_t)l->n < l->max) {
            struct rd r;
            struct store_alarm_event *e = &out[l->n];
            rd_init(&r, val.mv_data, val.mv_size);
            e->time = (int64_t)rd_u64(&r);
            e->state = rd_u8(&r);
            e->operator_id = rd_u32(&r);
            rd_str(&r, e->note, sizeof e->note);
            if (r.err) {
                rc = r.err;
                break;
            }
        }
        l->n++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

long store_alarm_events(struct store *st, uint64_t id, struct store_alarm_event *out, size_t max)
{
    struct alarm_list l = {id, 0, 0, 0, out, max, 0};
    int rc = meta_read(st, alarm_events_op, &l);
    return rc ? rc : l.n;
}

static int alarm_vt_op(struct store *st, MDB_txn *txn, void *ctx)
{
    struct alarm_list *l = ctx;
    struct store_alarm *out = l->out;
    uint8_t k[20];
    vt_key(k, l->vid, l->from, 0);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->mdbi[MDB_ALARM_VT], &cur);
    if (rc)
        return store_mdb_err(rc);
    MDB_val key = {20, k}, val;
    int op = MDB_SET_RANGE;
    while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        struct rd r;
        rd_init(&r, key.mv_data, key.mv_size);
        uint32_t vid = rd_u32(&r);
        int64_t t = (int64_t)(rd_u64(&r) ^ (1ull << 63));
        uint64_t id = rd_u64(&r);
        if (r.err || vid != l->vid || t >= l->to)
            break;
        if ((size_t)l->n < l->max && (rc = alarm_get_txn(st, txn, id, &out[l->n])))
            break;
        l->n++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc < 0 ? rc : store_mdb_err(rc);
}

long store_alarm_by_vehicle(struct store *st, uint32_t vid, int64_t from, int64_t to,
                            struct store_alarm *out, size_t max)
{
    struct alarm_list l = {0, vid, from, to, out, max, 0};
    int rc = meta_read(st, alarm_vt_op, &l);
    return rc ? rc : l.n;
}
