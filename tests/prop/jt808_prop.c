/* jt808_prop.c: property tests for the JT/T 808 codec with a fixed-seed generator.
 *
 *   unescape(escape(b)) == b                       for random b
 *   decode(encode(m)) == m (field by field)        for random messages of every type
 *   encode(decode(encode(m))) == encode(m)         byte for byte
 *   the framer finds every frame of a random stream whatever the chunking
 */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/proto/jt808.h"

#define PROP_ROUNDS 3000

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint32_t rndn(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* bias toward the bytes that need escaping */
        uint32_t k = rndn(8);
        p[i] = k == 0 ? 0x7E : k == 1 ? 0x7D : (uint8_t)rnd();
    }
}

Test(jt808_prop, escape_round_trip)
{
    rng_state = 0x9E3779B97F4A7C15ull;
    static uint8_t in[2048], esc[4096], back[2048];
    for (int r = 0; r < PROP_ROUNDS; r++) {
        size_t n = rndn(sizeof in);
        rnd_bytes(in, n);
        int e = jt808_escape(in, n, esc, sizeof esc);
        cr_assert_geq(e, (int)n);
        cr_assert_null(memchr(esc, 0x7E, (size_t)e), "escaped output holds no flag");
        int u = jt808_unescape(esc, (size_t)e, back, sizeof back);
        cr_assert_eq(u, (int)n);
        cr_assert_arr_eq(back, in, n);
    }
}

static uint8_t pool[1 << 16];
static size_t pool_used;

static struct rw_bytes rnd_view(size_t n)
{
    uint8_t *p = pool + pool_used;
    cr_assert_lt(pool_used + n, sizeof pool);
    rnd_bytes(p, n);
    pool_used += n;
    return rw_bytes_of(p, n);
}

/* Fixed-width text: random printable bytes, no NUL inside (trailing NULs are padding). */
static struct rw_bytes rnd_text(size_t max)
{
    size_t n = rndn((uint32_t)max + 1);
    uint8_t *p = pool + pool_used;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(0x21 + rndn(0x5E));
    pool_used += n;
    return rw_bytes_of(p, n);
}

static void rnd_loc(struct jt808_loc *l, int fields)
{
    memset(l, 0, sizeof *l);
    l->alarm = (uint32_t)rnd();
    l->status = (uint32_t)rnd();
    l->lat = rndn(90000001);
    l->lon = rndn(180000001);
    l->altitude_m = (uint16_t)rnd();
    l->speed_dkmh = (uint16_t)rndn(2000);
    l->direction = (uint16_t)rndn(360);
    cr_assert_eq(jt808_time_to_bcd(946684800 + (int64_t)rndn(3000000000u), l->time_bcd), 0);
    if (!fields) {
        /* raw vendor items: id, len, value */
        size_t n = rndn(6);
        uint8_t *p = pool + pool_used;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t len = (uint8_t)rndn(12);
            p[o++] = (uint8_t)(0xE1 + rndn(30));
            p[o++] = len;
            rnd_bytes(p + o, len);
            o += len;
        }
        pool_used += o;
        l->extras = rw_bytes_of(p, o);
        return;
    }
    l->present = (uint32_t)rnd() & 0x3FFF;
    l->mileage_hm = (uint32_t)rnd();
    l->fuel_dl = (uint16_t)rnd();
    l->tacho_speed_dkmh = (uint16_t)rnd();
    l->event_id = (uint16_t)rnd();
    l->cargo_temp_c = (int16_t)rnd();
    l->overspeed_type = (uint8_t)rndn(5);
    l->overspeed_area = l->overspeed_type ? (uint32_t)rnd() : 0;
    l->inout_type = (uint8_t)rndn(5);
    l->inout_area = (uint32_t)rnd();
    l->inout_dir = (uint8_t)rndn(2);
    l->section_id = (uint32_t)rnd();
    l->section_time_s = (uint16_t)rnd();
    l->section_result = (uint8_t)rndn(2);
    l->signals = (uint32_t)rnd();
    l->io_status = (uint16_t)rnd();
    l->analog = (uint32_t)rnd();
    l->rssi = (uint8_t)rnd();
    l->sats = (uint8_t)rnd();
    l->tyre = rnd_view(1 + rndn(30));
}

static void loc_eq(const struct jt808_loc *a, const struct jt808_loc *b)
{
    cr_assert_eq(a->alarm, b->alarm);
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->lat, b->lat);
    cr_assert_eq(a->lon, b->lon);
    cr_assert_eq(a->altitude_m, b->altitude_m);
    cr_assert_eq(a->speed_dkmh, b->speed_dkmh);
    cr_assert_eq(a->direction, b->direction);
    cr_assert_arr_eq(a->time_bcd, b->time_bcd, 6);
    if (a->extras.len) {
        cr_assert(rw_bytes_eq(a->extras, b->extras));
        return;
    }
    uint32_t x = a->present;
    cr_assert_eq(b->present, x);
#define F(bit, f) if (x & (bit)) cr_assert_eq(a->f, b->f, #f)
    F(JT808_X_MILEAGE, mileage_hm); F(JT808_X_FUEL, fuel_dl);
    F(JT808_X_TACHO_SPEED, tacho_speed_dkmh); F(JT808_X_EVENT_ID, event_id);
    F(JT808_X_CARGO_TEMP, cargo_temp_c); F(JT808_X_OVERSPEED, overspeed_type);
    F(JT808_X_OVERSPEED, overspeed_area); F(JT808_X_INOUT, inout_area);
    F(JT808_X_INOUT, inout_type); F(JT808_X_INOUT, inout_dir);
    F(JT808_X_ROUTE_TIME, section_id); F(JT808_X_ROUTE_TIME, section_time_s);
    F(JT808_X_ROUTE_TIME, section_result); F(JT808_X_SIGNALS, signals);
    F(JT808_X_IO, io_status); F(JT808_X_ANALOG, analog); F(JT808_X_RSSI, rssi);
    F(JT808_X_SATS, sats);
#undef F
    if (x & JT808_X_TYRE)
        cr_assert(rw_bytes_eq(a->tyre, b->tyre));
}

static const uint16_t ids[] = {0x0001, 0x8001, 0x0002, 0x0003, 0x0100, 0x8100, 0x0102,
                               0x0200, 0x0201, 0x0704, 0x8103, 0x8201, 0x8202, 0x8300,
                               0x8003, 0x0005, 0x0900};

static void rnd_body(struct jt808_msg *m)
{
    uint16_t ed = m->h.edition;
    switch (m->h.msg_id) {
    case 0x0001: case 0x8001:
        m->u.gen_rsp.ack_serial = (uint16_t)rnd();
        m->u.gen_rsp.ack_id = (uint16_t)rnd();
        m->u.gen_rsp.result = (uint8_t)rndn(5);
        break;
    case 0x0100: {
        struct jt808_register *r = &m->u.reg;
        r->edition = ed == JT808_ED_2019 ? ed : (rndn(2) ? JT808_ED_2011 : JT808_ED_2013);
        r->province = (uint16_t)rnd();
        r->city = (uint16_t)rnd();
        int w19 = r->edition == JT808_ED_2019;
        r->maker = rnd_text(w19 ? 11 : 5);
        r->model = rnd_text(w19 ? 30 : r->edition == JT808_ED_2011 ? 8 : 20);
        r->term_id = rnd_text(w19 ? 30 : 7);
        r->plate_color = (uint8_t)rndn(10);
        /* a 2013 body must stay longer than 37 bytes to be told from 2011 (§5.3) */
        r->plate = rnd_view(r->edition == JT808_ED_2013 ? 1 + rndn(12) : rndn(12));
        if (r->edition == JT808_ED_2011 && r->plate.len > 12)
            r->plate.len = 12;
        break;
    }
    case 0x8100:
        m->u.reg_rsp.ack_serial = (uint16_t)rnd();
        m->u.reg_rsp.result = (uint8_t)rndn(5);
        if (m->u.reg_rsp.result == 0)
            m->u.reg_rsp.auth_code = rnd_view(rndn(40));
        break;
    case 0x0102:
        m->u.auth.code = rnd_view(rndn(60));
        if (ed == JT808_ED_2019) {
            m->u.auth.imei = rnd_text(15);
            m->u.auth.sw_ver = rnd_text(20);
        }
        break;
    case 0x0200: rnd_loc(&m->u.loc, (int)rndn(2)); break;
    case 0x0201:
        m->u.loc_rsp.ack_serial = (uint16_t)rnd();
        rnd_loc(&m->u.loc_rsp.loc, (int)rndn(2));
        break;
    case 0x0704: {
        static uint8_t buf[900]; /* not the pool: rnd_loc() draws from it meanwhile */
        size_t used = 0, cap = sizeof buf;
        unsigned n = 1 + rndn(5);
        for (unsigned i = 0; i < n; i++) {
            struct jt808_loc l;
            rnd_loc(&l, (int)rndn(2));
            cr_assert_eq(jt808_batch_add(buf, cap, &used, &l), 0);
        }
        m->u.batch.count = (uint16_t)n;
        m->u.batch.type = (uint8_t)rndn(2);
        m->u.batch.items = rw_bytes_of(buf, used);
        break;
    }
    case 0x8103: {
        static uint8_t buf[600];
        size_t used = 0;
        unsigned n = rndn(8);
        for (unsigned i = 0; i < n; i++)
            cr_assert_eq(jt808_param_add(buf, 600, &used, (uint32_t)rnd(), rnd_view(rndn(20))),
                         0);
        m->u.params.count = (uint8_t)n;
        m->u.params.list = rw_bytes_of(buf, used);
        break;
    }
    case 0x8202:
        m->u.track.interval_s = (uint16_t)rndn(3);
        m->u.track.validity_s = m->u.track.interval_s ? (uint32_t)rnd() : 0;
        break;
    case 0x8300:
        m->u.text.flag = (uint8_t)rnd();
        m->u.text.text_type = ed == JT808_ED_2019 ? (uint8_t)(1 + rndn(2)) : 0;
        m->u.text.text = rnd_view(rndn(300));
        break;
    case 0x8003: case 0x0005: {
        m->u.resend.first_serial = (uint16_t)rnd();
        m->u.resend.count = (uint16_t)rndn(ed == JT808_ED_2019 ? 300 : 256);
        m->u.resend.ids = rnd_view(2u * m->u.resend.count);
        break;
    }
    case 0x0900:
        m->body = rnd_view(rndn(400));
        break;
    default:
        break;
    }
}

static void msg_eq(const struct jt808_msg *a, const struct jt808_msg *b)
{
    cr_assert_eq(a->h.msg_id, b->h.msg_id);
    cr_assert_eq(a->h.serial, b->h.serial);
    cr_assert_eq(a->h.edition, b->h.edition);
    cr_assert_arr_eq(a->h.phone, b->h.phone, 10);
    switch (a->h.msg_id) {
    case 0x0200: loc_eq(&a->u.loc, &b->u.loc); break;
    case 0x0201:
        cr_assert_eq(a->u.loc_rsp.ack_serial, b->u.loc_rsp.ack_serial);
        loc_eq(&a->u.loc_rsp.loc, &b->u.loc_rsp.loc);
        break;
    case 0x0100:
        cr_assert_eq(a->u.reg.edition, b->u.reg.edition);
        cr_assert_eq(a->u.reg.city, b->u.reg.city);
        cr_assert(rw_bytes_eq(rw_trim(a->u.reg.model), rw_trim(b->u.reg.model)));
        cr_assert(rw_bytes_eq(a->u.reg.plate, b->u.reg.plate));
        break;
    case 0x0704: {
        cr_assert_eq(a->u.batch.count, b->u.batch.count);
        struct jt808_batch_iter ia, ib;
        struct jt808_loc la, lb;
        jt808_batch_iter_init(&ia, &a->u.batch);
        jt808_batch_iter_init(&ib, &b->u.batch);
        int k = 0;
        while (jt808_batch_next(&ia, &la) == 1) {
            cr_assert_eq(jt808_batch_next(&ib, &lb), 1);
            loc_eq(&la, &lb);
            k++;
        }
        cr_assert_eq(k, a->u.batch.count);
        break;
    }
    default: break;
    }
}

Test(jt808_prop, decode_encode_round_trip)
{
    rng_state = 0xD1B54A32D192ED03ull;
    static uint8_t wire[JT808_WIRE_MAX], again[JT808_WIRE_MAX];
    for (int r = 0; r < PROP_ROUNDS; r++) {
        pool_used = 0;
        struct jt808_msg m;
        memset(&m, 0, sizeof m);
        m.h.msg_id = ids[rndn(sizeof ids / sizeof ids[0])];
        m.h.edition = rndn(2) ? JT808_ED_2019 : JT808_ED_2013;
        m.h.proto_ver = m.h.edition == JT808_ED_2019 ? 1 : 0;
        m.h.serial = (uint16_t)rnd();
        char phone[21];
        unsigned nd = m.h.edition == JT808_ED_2019 ? 1 + rndn(20) : 1 + rndn(12);
        for (unsigned i = 0; i < nd; i++)
            phone[i] = (char)('0' + rndn(10));
        phone[nd] = 0;
        cr_assert_eq(jt808_phone_set(&m.h, phone), 0);
        rnd_body(&m);
        int n = jt808_encode(&m, wire, sizeof wire);
        cr_assert_gt(n, 0, "round %d id %04x: %s", r, m.h.msg_id, err_str(n));
        struct jt808_framer fr;
        jt808_framer_init(&fr);
        int st = 0;
        size_t pos = 0;
        while (pos < (size_t)n && st != 1) {
            size_t chunk = 1 + rndn(64);
            if (chunk > (size_t)n - pos)
                chunk = (size_t)n - pos;
            pos += jt808_framer_feed(&fr, wire + pos, chunk, &st);
            cr_assert_geq(st, 0);
        }
        cr_assert_eq(st, 1, "round %d: no frame", r);
        struct jt808_msg d;
        int rc = jt808_frame_parse(fr.buf, fr.len, &d);
        cr_assert_eq(rc, 0, "round %d id %04x: %s", r, m.h.msg_id, err_str(rc));
        msg_eq(&m, &d);
        int n2 = jt808_encode(&d, again, sizeof again);
        cr_assert_eq(n2, n, "round %d id %04x", r, m.h.msg_id);
        cr_assert_arr_eq(again, wire, (size_t)n);
    }
}

Test(jt808_prop, framer_finds_every_frame_of_a_stream)
{
    rng_state = 0x2545F4914F6CDD1Dull;
    static uint8_t stream[1 << 16];
    for (int r = 0; r < 200; r++) {
        size_t n = 0;
        unsigned frames = 1 + rndn(20), garbage = 0;
        for (unsigned k = 0; k < frames; k++) {
            /* garbage without flags between frames */
            unsigned g = rndn(4);
            for (unsigned i = 0; i < g; i++)
                stream[n++] = (uint8_t)(rndn(0x7C) + 1);
            garbage += g;
            pool_used = 0;
            struct jt808_msg m;
            memset(&m, 0, sizeof m);
            m.h.msg_id = 0x0200;
            m.h.edition = JT808_ED_2013;
            m.h.serial = (uint16_t)k;
            rnd_loc(&m.u.loc, 1);
            int w = jt808_encode(&m, stream + n, sizeof stream - n);
            cr_assert_gt(w, 0);
            n += (size_t)w;
        }
        struct jt808_framer fr;
        jt808_framer_init(&fr);
        unsigned got = 0;
        for (size_t pos = 0; pos < n;) {
            size_t chunk = 1 + rndn(300);
            chunk = chunk > n - pos ? n - pos : chunk;
            size_t end = pos + chunk;
            while (pos < end) {
                int st;
                pos += jt808_framer_feed(&fr, stream + pos, end - pos, &st);
                cr_assert_geq(st, 0);
                if (st == 1) {
                    struct jt808_msg d;
                    cr_assert_eq(jt808_frame_parse(fr.buf, fr.len, &d), 0);
                    cr_assert_eq(d.h.serial, got, "frames come out in order");
                    got++;
                }
            }
        }
        cr_assert_eq(got, frames);
        cr_assert_eq(fr.st.garbage_bytes, garbage);
    }
}
