/* jt808_body.c: JT/T 808 message bodies, decode and encode (shared/protocols/jt808.md §5).
 * Every reader is a bounds-checked struct rd; every byte field is a view into the body. */
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/proto/jt808.h"

/* Fixed parts of 0x0100 per edition (§5.3). */
#define REG_FIXED_2011 25u
#define REG_FIXED_2013 37u
#define REG_FIXED_2019 76u
#define LOC_BASIC 28u

/* ---------------------------------------------------------------------------------------
 * Time
 */

static inline unsigned bcd_val(uint8_t b)
{
    return (unsigned)(b >> 4) * 10u + (b & 0x0F);
}

/* Days from 1970-01-01 to the first of month <mo> of year <y>, cached per thread: a
 * terminal's reports all fall in the same month, so the division-heavy civil conversion
 * runs once a month per worker instead of once per report. */
static int64_t month_days(int y, unsigned mo)
{
    static __thread unsigned cached_key;
    static __thread int64_t cached_days;
    unsigned key = (unsigned)y * 16u + mo;
    if (key != cached_key) {
        cached_days = rw_days_from_civil(y, mo, 1);
        cached_key = key;
    }
    return cached_days;
}

int jt808_time_from_bcd(const uint8_t bcd[6], int64_t *out)
{
    /* All twelve nibbles <= 9: adding 6 to a nibble above 9 carries into bit 4. */
    uint64_t x = 0;
    memcpy(&x, bcd, 6);
    const uint64_t lo = x & 0x0F0F0F0F0F0Full, hi = (x >> 4) & 0x0F0F0F0F0F0Full;
    if (((lo + 0x060606060606ull) | (hi + 0x060606060606ull)) & 0xF0F0F0F0F0F0ull)
        return RW_E_BCD;
    int y = 2000 + (int)bcd_val(bcd[0]);
    unsigned mo = bcd_val(bcd[1]), d = bcd_val(bcd[2]);
    unsigned h = bcd_val(bcd[3]), mi = bcd_val(bcd[4]), s = bcd_val(bcd[5]);
    if (!rw_civil_valid(y, mo, d, h, mi, s))
        return RW_E_FIELD;
    int64_t days = month_days(y, mo) + (int64_t)d - 1;
    *out = days * 86400 + (int64_t)(h * 3600 + mi * 60 + s) - 8 * 3600;
    return 0;
}

int jt808_time_to_bcd(int64_t utc, uint8_t bcd[6])
{
    int64_t local = utc + 8 * 3600;
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int64_t sod = local - days * 86400;
    int y;
    unsigned mo, d;
    rw_civil_from_days(days, &y, &mo, &d);
    if (y < 2000 || y > 2099)
        return RW_E_FIELD;
    unsigned v[6] = {(unsigned)(y - 2000), mo, d, (unsigned)(sod / 3600),
                     (unsigned)(sod / 60 % 60), (unsigned)(sod % 60)};
    for (int i = 0; i < 6; i++)
        bcd[i] = (uint8_t)((v[i] / 10) << 4 | (v[i] % 10));
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Location (§5.6)
 */

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decodes one known item; returns its JT808_X_* bit, 0 for an unknown ID, or -1 when the
 * ID is known but the length is not one the standard allows. */
static int loc_item(struct jt808_loc *l, uint8_t id, const uint8_t *v, unsigned len)
{
    switch (id) {
    case 0x01: if (len != 4) return -1; l->mileage_hm = be32(v); return JT808_X_MILEAGE;
    case 0x02: if (len != 2) return -1; l->fuel_dl = be16(v); return JT808_X_FUEL;
    case 0x03: if (len != 2) return -1; l->tacho_speed_dkmh = be16(v); return JT808_X_TACHO_SPEED;
    case 0x04: if (len != 2) return -1; l->event_id = be16(v); return JT808_X_EVENT_ID;
    case 0x05:
        if (len == 0 || len > 30) return -1;
        l->tyre.p = v;
        l->tyre.len = len;
        return JT808_X_TYRE;
    case 0x06: if (len != 2) return -1; l->cargo_temp_c = (int16_t)be16(v); return JT808_X_CARGO_TEMP;
    case 0x11:
        if (len != 1 && len != 5) return -1;
        l->overspeed_type = v[0];
        l->overspeed_area = len == 5 ? be32(v + 1) : 0;
        return JT808_X_OVERSPEED;
    case 0x12:
        if (len != 6) return -1;
        l->inout_type = v[0];
        l->inout_area = be32(v + 1);
        l->inout_dir = v[5];
        return JT808_X_INOUT;
    case 0x13:
        if (len != 7) return -1;
        l->section_id = be32(v);
        l->section_time_s = be16(v + 4);
        l->section_result = v[6];
        return JT808_X_ROUTE_TIME;
    case 0x25: if (len != 4) return -1; l->signals = be32(v); return JT808_X_SIGNALS;
    case 0x2A: if (len != 2) return -1; l->io_status = be16(v); return JT808_X_IO;
    case 0x2B:
        if (len == 2)
            l->analog = be16(v);
        else if (len >= 4 && len <= 8 && len % 2 == 0)
            l->analog = be32(v);
        else
            return -1;
        return JT808_X_ANALOG;
    case 0x30: if (len != 1) return -1; l->rssi = v[0]; return JT808_X_RSSI;
    case 0x31: if (len != 1) return -1; l->sats = v[0]; return JT808_X_SATS;
    default: return 0;
    }
}

static uint32_t loc_item_bit(uint8_t id)
{
    switch (id) {
    case 0x01: return JT808_X_MILEAGE;
    case 0x02: return JT808_X_FUEL;
    case 0x03: return JT808_X_TACHO_SPEED;
    case 0x04: return JT808_X_EVENT_ID;
    case 0x05: return JT808_X_TYRE;
    case 0x06: return JT808_X_CARGO_TEMP;
    case 0x11: return JT808_X_OVERSPEED;
    case 0x12: return JT808_X_INOUT;
    case 0x13: return JT808_X_ROUTE_TIME;
    case 0x25: return JT808_X_SIGNALS;
    case 0x2A: return JT808_X_IO;
    case 0x2B: return JT808_X_ANALOG;
    case 0x30: return JT808_X_RSSI;
    case 0x31: return JT808_X_SATS;
    default: return 0;
    }
}

/* Walks the additional items of <p..end> (§5.6.3). Unknown IDs are skipped by length;
 * duplicates keep the first occurrence. */
static void loc_items(struct jt808_loc *l, const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        if (end - p < 2 || (size_t)(end - p - 2) < p[1]) {
            l->extras_err = RW_E_TRUNCATED;
            return;
        }
        uint8_t id = p[0];
        unsigned len = p[1];
        l->n_items++;
        uint32_t bit = loc_item_bit(id);
        if (bit && (l->present & bit))
            l->n_dup++;
        else if (bit && loc_item(l, id, p + 2, len) > 0)
            l->present |= bit;
        else if (bit)
            l->n_badlen++;
        p += 2 + len;
    }
}

int jt808_loc_decode(struct rw_bytes b, struct jt808_loc *l)
{
    memset(l, 0, sizeof *l);
    if (b.len < LOC_BASIC)
        return RW_E_TRUNCATED;
    const uint8_t *p = b.p;
    l->alarm = be32(p);
    l->status = be32(p + 4);
    l->lat = be32(p + 8);
    l->lon = be32(p + 12);
    l->altitude_m = be16(p + 16);
    l->speed_dkmh = be16(p + 18);
    l->direction = be16(p + 20);
    memcpy(l->time_bcd, p + 22, 6);
    int rc = jt808_time_from_bcd(l->time_bcd, &l->time);
    if (rc == RW_E_BCD)
        return rc;
    if (rc < 0)
        l->time = JT808_TIME_INVALID;
    l->extras.p = p + LOC_BASIC;
    l->extras.len = b.len - LOC_BASIC;
    loc_items(l, l->extras.p, b.p + b.len);
    return 0;
}

static void loc_encode_fields(const struct jt808_loc *l, struct wr *w)
{
    uint32_t x = l->present;
    if (x & JT808_X_MILEAGE) { wr_u8(w, 0x01); wr_u8(w, 4); wr_u32(w, l->mileage_hm); }
    if (x & JT808_X_FUEL) { wr_u8(w, 0x02); wr_u8(w, 2); wr_u16(w, l->fuel_dl); }
    if (x & JT808_X_TACHO_SPEED) { wr_u8(w, 0x03); wr_u8(w, 2); wr_u16(w, l->tacho_speed_dkmh); }
    if (x & JT808_X_EVENT_ID) { wr_u8(w, 0x04); wr_u8(w, 2); wr_u16(w, l->event_id); }
    if (x & JT808_X_TYRE) {
        if (l->tyre.len == 0 || l->tyre.len > 30) {
            w->err = RW_E_FIELD;
            return;
        }
        wr_u8(w, 0x05);
        wr_u8(w, (uint8_t)l->tyre.len);
        wr_mem(w, l->tyre.p, l->tyre.len);
    }
    if (x & JT808_X_CARGO_TEMP) { wr_u8(w, 0x06); wr_u8(w, 2); wr_u16(w, (uint16_t)l->cargo_temp_c); }
    if (x & JT808_X_OVERSPEED) {
        wr_u8(w, 0x11);
        wr_u8(w, l->overspeed_type ? 5 : 1);
        wr_u8(w, l->overspeed_type);
        if (l->overspeed_type)
            wr_u32(w, l->overspeed_area);
    }
    if (x & JT808_X_INOUT) {
        wr_u8(w, 0x12); wr_u8(w, 6);
        wr_u8(w, l->inout_type); wr_u32(w, l->inout_area); wr_u8(w, l->inout_dir);
    }
    if (x & JT808_X_ROUTE_TIME) {
        wr_u8(w, 0x13); wr_u8(w, 7);
        wr_u32(w, l->section_id); wr_u16(w, l->section_time_s); wr_u8(w, l->section_result);
    }
    if (x & JT808_X_SIGNALS) { wr_u8(w, 0x25); wr_u8(w, 4); wr_u32(w, l->signals); }
    if (x & JT808_X_IO) { wr_u8(w, 0x2A); wr_u8(w, 2); wr_u16(w, l->io_status); }
    if (x & JT808_X_ANALOG) { wr_u8(w, 0x2B); wr_u8(w, 4); wr_u32(w, l->analog); }
    if (x & JT808_X_RSSI) { wr_u8(w, 0x30); wr_u8(w, 1); wr_u8(w, l->rssi); }
    if (x & JT808_X_SATS) { wr_u8(w, 0x31); wr_u8(w, 1); wr_u8(w, l->sats); }
}

static void loc_encode_wr(const struct jt808_loc *l, struct wr *w)
{
    wr_u32(w, l->alarm);
    wr_u32(w, l->status);
    wr_u32(w, l->lat);
    wr_u32(w, l->lon);
    wr_u16(w, l->altitude_m);
    wr_u16(w, l->speed_dkmh);
    wr_u16(w, l->direction);
    wr_mem(w, l->time_bcd, 6);
    if (l->extras.len)
        wr_mem(w, l->extras.p, l->extras.len);
    else
        loc_encode_fields(l, w);
}

int jt808_loc_encode(const struct jt808_loc *l, uint8_t *out, size_t cap)
{
    struct wr w;
    wr_init(&w, out, cap);
    loc_encode_wr(l, &w);
    return w.err ? w.err : (int)wr_len(&w);
}

/* ---------------------------------------------------------------------------------------
 * 0x0704 batch and 0x8103 parameters: iterators
 */

void jt808_batch_iter_init(struct jt808_batch_iter *it, const struct jt808_batch *b)
{
    rd_init(&it->r, b->items.p, b->items.len);
    it->left = b->count;
    it->index = 0;
}

int jt808_batch_next(struct jt808_batch_iter *it, struct jt808_loc *loc)
{
    if (it->left == 0 || rd_left(&it->r) == 0)
        return 0;
    it->left--;
    it->index++;
    uint16_t len = rd_u16(&it->r);
    struct rw_bytes item = rd_bytes(&it->r, len);
    if (it->r.err) {
        it->left = 0; /* the length runs past the end: nothing after it can be trusted */
        return RW_E_TRUNCATED;
    }
    int rc = jt808_loc_decode(item, loc);
    return rc < 0 ? rc : 1;
}

void jt808_param_iter_init(struct jt808_param_iter *it, const struct jt808_params *p)
{
    rd_init(&it->r, p->list.p, p->list.len);
    it->left = p->count;
}

int jt808_param_next(struct jt808_param_iter *it, struct jt808_param *out)
{
    if (it->left == 0 || rd_left(&it->r) == 0)
        return 0;
    it->left--;
    out->id = rd_u32(&it->r);
    uint8_t len = rd_u8(&it->r);
    out->value = rd_bytes(&it->r, len);
    if (it->r.err) {
        it->left = 0;
        return RW_E_TRUNCATED;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Body decoders, one per message (§5)
 */

static int dec_end(struct rd *r, int strict)
{
    if (r->err)
        return r->err;
    return strict && rd_left(r) ? RW_E_TRAILING : 0;
}

static int dec_gen_rsp(struct rd *r, struct jt808_gen_rsp *g)
{
    g->ack_serial = rd_u16(r);
    g->ack_id = rd_u16(r);
    g->result = rd_u8(r);
    return dec_end(r, 1);
}

static int dec_register(struct rd *r, uint16_t hdr_edition, struct jt808_register *g)
{
    size_t n = rd_left(r);
    unsigned maker = 5, model = 20, term = 7;
    g->edition = JT808_ED_2013;
    if (hdr_edition == JT808_ED_2019) {
        g->edition = JT808_ED_2019;
        maker = 11, model = 30, term = 30;
    } else if (n <= REG_FIXED_2013) {
        g->edition = JT808_ED_2011; /* §5.3: the two share a header; 2013 is longer */
        model = 8;
    }
    g->province = rd_u16(r);
    g->city = rd_u16(r);
    g->maker = rd_bytes(r, maker);
    g->model = rd_bytes(r, model);
    g->term_id = rd_bytes(r, term);
    g->plate_color = rd_u8(r);
    g->plate = rd_rest(r);
    return dec_end(r, 0);
}

static int dec_register_rsp(struct rd *r, struct jt808_register_rsp *g)
{
    g->ack_serial = rd_u16(r);
    g->result = rd_u8(r);
    g->auth_code = rd_rest(r);
    if (r->err)
        return r->err;
    return g->result != JT808_REG_OK && g->auth_code.len ? RW_E_TRAILING : 0;
}

static int dec_auth(struct rd *r, uint16_t edition, struct jt808_auth *g)
{
    if (edition != JT808_ED_2019) {
        g->code = rd_rest(r);
        return 0;
    }
    uint8_t n = rd_u8(r);
    g->code = rd_bytes(r, n);
    g->imei = rd_bytes(r, 15);
    g->sw_ver = rd_bytes(r, 20);
    return dec_end(r, 1);
}

static int dec_batch(struct rd *r, struct jt808_batch *g)
{
    g->count = rd_u16(r);
    g->type = rd_u8(r);
    g->items = rd_rest(r);
    if (r->err)
        return r->err;
    /* Walk the length words once so a lying count or length is reported up front; the
     * items themselves are decoded by jt808_batch_next(). */
    struct rd w;
    rd_init(&w, g->items.p, g->items.len);
    for (unsigned i = 0; i < g->count; i++) {
        uint16_t len = rd_u16(&w);
        (void)rd_bytes(&w, len);
        if (w.err)
            return RW_E_LENGTH;
    }
    return rd_left(&w) ? RW_E_TRAILING : 0;
}

static int dec_params(struct rd *r, struct jt808_params *g)
{
    g->count = rd_u8(r);
    g->list = rd_rest(r);
    if (r->err)
        return r->err;
    struct jt808_param_iter it;
    struct jt808_param prm;
    jt808_param_iter_init(&it, g);
    unsigned seen = 0;
    int rc;
    while ((rc = jt808_param_next(&it, &prm)) > 0)
        seen++;
    if (rc < 0 || seen != g->count)
        return RW_E_LENGTH;
    return rd_left(&it.r) ? RW_E_TRAILING : 0;
}

static int dec_track(struct rd *r, struct jt808_track *g)
{
    g->interval_s = rd_u16(r);
    /* §5.8: validity is omitted when tracking stops; some platforms send it anyway. */
    if (g->interval_s != 0 || rd_left(r) >= 4)
        g->validity_s = rd_u32(r);
    return dec_end(r, 1);
}

static int dec_text(struct rd *r, uint16_t edition, struct jt808_text *g)
{
    g->flag = rd_u8(r);
    if (edition == JT808_ED_2019)
        g->text_type = rd_u8(r);
    g->text = rd_rest(r);
    return dec_end(r, 0);
}

static int dec_resend(struct rd *r, uint16_t edition, struct jt808_resend *g)
{
    g->first_serial = rd_u16(r);
    g->count = edition == JT808_ED_2019 ? rd_u16(r) : rd_u8(r);
    g->ids = rd_bytes(r, (size_t)g->count * 2);
    if (r->err)
        return RW_E_LENGTH;
    return dec_end(r, 1);
}

int jt808_body_decode(struct jt808_msg *m)
{
    /* The location report is most of the traffic: its decoder clears only what it uses. */
    if (m->h.msg_id == JT808_MSG_0200_LOCATION)
        return jt808_loc_decode(m->body, &m->u.loc);
    struct rd r;
    rd_init(&r, m->body.p, m->body.len);
    memset(&m->u, 0, sizeof m->u);
    uint16_t ed = m->h.edition;
    switch (m->h.msg_id) {
    case JT808_MSG_0001_TERM_RSP:
    case JT808_MSG_8001_PLAT_RSP:
        return dec_gen_rsp(&r, &m->u.gen_rsp);
    case JT808_MSG_0002_HEARTBEAT: /* §5.2: vendor bytes after an empty body are ignored */
    case JT808_MSG_0003_LOGOUT:
    case JT808_MSG_8201_LOCATION_QUERY:
        return 0;
    case JT808_MSG_0100_REGISTER:
        return dec_register(&r, ed, &m->u.reg);
    case JT808_MSG_8100_REGISTER_RSP:
        return dec_register_rsp(&r, &m->u.reg_rsp);
    case JT808_MSG_0102_AUTH:
        return dec_auth(&r, ed, &m->u.auth);
    case JT808_MSG_0200_LOCATION:
        return jt808_loc_decode(m->body, &m->u.loc);
    case JT808_MSG_0201_LOCATION_RSP:
        m->u.loc_rsp.ack_serial = rd_u16(&r);
        if (r.err)
            return r.err;
        return jt808_loc_decode(rd_rest(&r), &m->u.loc_rsp.loc);
    case JT808_MSG_0704_BATCH:
        return dec_batch(&r, &m->u.batch);
    case JT808_MSG_8103_SET_PARAMS:
        return dec_params(&r, &m->u.params);
    case JT808_MSG_8202_TRACK:
        return dec_track(&r, &m->u.track);
    case JT808_MSG_8300_TEXT:
        return dec_text(&r, ed, &m->u.text);
    case JT808_MSG_8003_RESEND_REQ:
    case JT808_MSG_0005_RESEND_REQ:
        return dec_resend(&r, ed, &m->u.resend);
    default:
        return RW_E_UNSUPPORTED;
    }
}

/* ---------------------------------------------------------------------------------------
 * Body encoders
 */

static void enc_register(const struct jt808_register *g, struct wr *w)
{
    unsigned maker = 5, model = 20, term = 7;
    if (g->edition == JT808_ED_2019)
        maker = 11, model = 30, term = 30;
    else if (g->edition == JT808_ED_2011)
        model = 8;
    wr_u16(w, g->province);
    wr_u16(w, g->city);
    wr_fixed(w, g->maker, maker);
    wr_fixed(w, g->model, model);
    wr_fixed(w, g->term_id, term);
    wr_u8(w, g->plate_color);
    wr_mem(w, g->plate.p, g->plate.len);
}

static void enc_auth(const struct jt808_auth *g, uint16_t edition, struct wr *w)
{
    if (edition != JT808_ED_2019) {
        wr_mem(w, g->code.p, g->code.len);
        return;
    }
    if (g->code.len > 255) {
        w->err = RW_E_TOOLONG;
        return;
    }
    wr_u8(w, (uint8_t)g->code.len);
    wr_mem(w, g->code.p, g->code.len);
    wr_fixed(w, g->imei, 15);
    wr_fixed(w, g->sw_ver, 20);
}

static void enc_misc(const struct jt808_msg *m, struct wr *w)
{
    uint16_t ed = m->h.edition;
    switch (m->h.msg_id) {
    case JT808_MSG_0704_BATCH:
        wr_u16(w, m->u.batch.count);
        wr_u8(w, m->u.batch.type);
        wr_mem(w, m->u.batch.items.p, m->u.batch.items.len);
        break;
    case JT808_MSG_8103_SET_PARAMS:
        wr_u8(w, m->u.params.count);
        wr_mem(w, m->u.params.list.p, m->u.params.list.len);
        break;
    case JT808_MSG_8202_TRACK:
        wr_u16(w, m->u.track.interval_s);
        if (m->u.track.interval_s)
            wr_u32(w, m->u.track.validity_s);
        break;
    case JT808_MSG_8300_TEXT:
        wr_u8(w, m->u.text.flag);
        if (ed == JT808_ED_2019)
            wr_u8(w, m->u.text.text_type);
        wr_mem(w, m->u.text.text.p, m->u.text.text.len);
        break;
    default: /* 0x8003 / 0x0005 */
        wr_u16(w, m->u.resend.first_serial);
        if (ed == JT808_ED_2019)
            wr_u16(w, m->u.resend.count);
        else if (m->u.resend.count > 255)
            w->err = RW_E_FIELD;
        else
            wr_u8(w, (uint8_t)m->u.resend.count);
        if (m->u.resend.ids.len != (uint32_t)m->u.resend.count * 2)
            w->err = RW_E_LENGTH;
        wr_mem(w, m->u.resend.ids.p, m->u.resend.ids.len);
        break;
    }
}

int jt808_body_encode(const struct jt808_msg *m, uint8_t *out, size_t cap)
{
    struct wr w;
    wr_init(&w, out, cap);
    if (m->h.subpkg || m->h.encrypt) {
        /* A package or an encrypted body has no decoded form: it travels as bytes. */
        wr_mem(&w, m->body.p, m->body.len);
        return w.err ? w.err : (int)wr_len(&w);
    }
    switch (m->h.msg_id) {
    case JT808_MSG_0001_TERM_RSP:
    case JT808_MSG_8001_PLAT_RSP:
        wr_u16(&w, m->u.gen_rsp.ack_serial);
        wr_u16(&w, m->u.gen_rsp.ack_id);
        wr_u8(&w, m->u.gen_rsp.result);
        break;
    case JT808_MSG_0002_HEARTBEAT:
    case JT808_MSG_0003_LOGOUT:
    case JT808_MSG_8201_LOCATION_QUERY:
        break;
    case JT808_MSG_0100_REGISTER:
        enc_register(&m->u.reg, &w);
        break;
    case JT808_MSG_8100_REGISTER_RSP:
        wr_u16(&w, m->u.reg_rsp.ack_serial);
        wr_u8(&w, m->u.reg_rsp.result);
        if (m->u.reg_rsp.result == JT808_REG_OK)
            wr_mem(&w, m->u.reg_rsp.auth_code.p, m->u.reg_rsp.auth_code.len);
        break;
    case JT808_MSG_0102_AUTH:
        enc_auth(&m->u.auth, m->h.edition, &w);
        break;
    case JT808_MSG_0200_LOCATION:
        loc_encode_wr(&m->u.loc, &w);
        break;
    case JT808_MSG_0201_LOCATION_RSP:
        wr_u16(&w, m->u.loc_rsp.ack_serial);
        loc_encode_wr(&m->u.loc_rsp.loc, &w);
        break;
    case JT808_MSG_0704_BATCH:
    case JT808_MSG_8103_SET_PARAMS:
    case JT808_MSG_8202_TRACK:
    case JT808_MSG_8300_TEXT:
    case JT808_MSG_8003_RESEND_REQ:
    case JT808_MSG_0005_RESEND_REQ:
        enc_misc(m, &w);
        break;
    default:
        wr_mem(&w, m->body.p, m->body.len);
        break;
    }
    return w.err ? w.err : (int)wr_len(&w);
}

int jt808_batch_add(uint8_t *buf, size_t cap, size_t *used, const struct jt808_loc *loc)
{
    if (*used > cap)
        return RW_E_FIELD;
    struct wr w;
    wr_init(&w, buf + *used, cap - *used);
    uint8_t *lenp = w.p;
    wr_u16(&w, 0);
    loc_encode_wr(loc, &w);
    if (w.err)
        return w.err;
    size_t n = wr_len(&w) - 2;
    if (n > 0xFFFF)
        return RW_E_TOOLONG;
    lenp[0] = (uint8_t)(n >> 8);
    lenp[1] = (uint8_t)n;
    *used += wr_len(&w);
    return 0;
}

int jt808_param_add(uint8_t *buf, size_t cap, size_t *used, uint32_t id, struct rw_bytes value)
{
    if (value.len > 255 || *used > cap)
        return RW_E_TOOLONG;
    struct wr w;
    wr_init(&w, buf + *used, cap - *used);
    wr_u32(&w, id);
    wr_u8(&w, (uint8_t)value.len);
    wr_mem(&w, value.p, value.len);
    if (w.err)
        return w.err;
    *used += wr_len(&w);
    return 0;
}
