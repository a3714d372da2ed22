/* jt809_prop.c: property tests of the JT/T 809 codec with a fixed-seed PRNG.
 *
 *  - random messages of every supported type and layout, both editions, with and without
 *    encryption: encode -> framer (random chunk sizes) -> parse -> same header, same
 *    envelope, and a re-encode that is byte-identical to the first encoding;
 *  - unescape(escape(b)) == b for random b (strict and lenient). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/wire.h"
#include "engine/proto/jt808.h"
#include "engine/proto/jt809.h"

static uint64_t prng = 0x9E3779B97F4A7C15ull;

/* xorshift64 */
static uint64_t rnd(void)
{
    prng ^= prng << 13;
    prng ^= prng >> 7;
    prng ^= prng << 17;
    return prng;
}

static uint32_t rn(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

/* Backing store for the random views of one message. */
static uint8_t pool[1 << 16];
static size_t pool_used;

static struct rw_bytes rbytes(size_t n)
{
    cr_assert_leq(pool_used + n, sizeof pool);
    uint8_t *p = pool + pool_used;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    pool_used += n;
    return rw_bytes_of(p, n);
}

static struct rw_bytes rtext(size_t max)
{
    return rbytes(rn((uint32_t)max + 1));
}

static uint8_t bcd(unsigned v)
{
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* A random but valid JT/T 808 0x0200 body, decoded into <loc> (views into the pool). */
static void rloc808(struct jt808_loc *loc)
{
    struct rw_bytes b = rbytes(28 + 6 + 3);
    uint8_t *p = (uint8_t *)b.p;
    uint8_t *t = p + 22;
    t[0] = bcd(rn(100));
    t[1] = bcd(1 + rn(12));
    t[2] = bcd(1 + rn(28));
    t[3] = bcd(rn(24));
    t[4] = bcd(rn(60));
    t[5] = bcd(rn(60));
    p[28] = 0x01; /* mileage */
    p[29] = 4;
    p[34] = 0x31; /* satellites */
    p[35] = 1;
    cr_assert_eq(jt808_loc_decode(b, loc), 0);
}

static void rloc(struct jt809_loc *l, uint16_t ed)
{
    memset(l, 0, sizeof *l);
    l->edition = ed;
    if (ed == JT809_ED_2019) {
        struct jt809_gnss19 *g = &l->v19;
        g->encrypt = (uint8_t)rn(2);
        rloc808(&g->loc);
        for (int i = 0; i < 3; i++) {
            g->platform_id[i] = rbytes(11);
            g->alarm[i] = (uint32_t)rnd();
        }
        return;
    }
    struct jt809_gnss11 *g = &l->v11;
    g->encrypt = (uint8_t)rn(2);
    jt809_gnss11_set_time(g, 1500000000 + (int64_t)rn(400000000));
    g->lon = (uint32_t)rnd();
    g->lat = (uint32_t)rnd();
    g->vec1 = (uint16_t)rnd();
    g->vec2 = (uint16_t)rnd();
    g->vec3 = (uint32_t)rnd();
    g->direction = (uint16_t)rn(360);
    g->altitude = (uint16_t)rnd();
    g->state = (uint32_t)rnd();
    g->alarm = (uint32_t)rnd();
}

static void rwarn19(struct jt809_warn *v)
{
    v->layout = rn(2) ? JT809_WARN_2019 : JT809_WARN_2019_2T;
    v->source_platform_id = rbytes(11);
    v->warn_type = (uint16_t)rnd();
    v->warn_time = rnd() >> 20;
    v->start_time = v->layout == JT809_WARN_2019 ? rnd() >> 20 : 0;
    v->end_time = rnd() >> 20;
    v->vehicle_no = rbytes(21);
    v->vehicle_color = (uint8_t)rnd();
    v->dest_platform_id = rbytes(11);
    v->drv_line_id = (uint32_t)rnd();
    v->info_content = rtext(60);
}

static void rurge(struct jt809_warn *v, uint8_t layout)
{
    v->layout = layout;
    if (layout == JT809_WARN_9401_T4) {
        v->source_platform_id = rbytes(11);
        v->source_data_type = (uint16_t)rnd();
        v->source_msg_sn = (uint32_t)rnd();
    } else {
        v->warn_src = (uint8_t)rnd();
        v->warn_type = (uint16_t)rnd();
        v->supervision_id = (uint32_t)rnd();
    }
    v->warn_time = rnd();
    v->supervision_endtime = rnd();
    v->supervision_level = (uint8_t)rnd();
    v->supervisor = rbytes(16);
    v->supervision_tel = rbytes(20);
    v->supervision_email = rbytes(layout == JT809_WARN_9401_E30 ? 30 : 32);
}

static void rpost(struct jt809_post *p, uint16_t t, uint16_t ed)
{
    if (ed == JT809_ED_2019 && t != 0x9302)
        p->layout = JT809_POST_2019;
    else
        p->layout = rn(2) ? JT809_POST_OBJ12 : JT809_POST_PLAIN;
    p->object_type = (uint8_t)rnd();
    if (p->layout == JT809_POST_OBJ12)
        p->object_id = rbytes(12);
    if (p->layout == JT809_POST_2019) {
        p->object_id = rbytes(20);
        if (t == 0x1301) {
            p->responder = rbytes(16);
            p->responder_tel = rbytes(20);
            p->source_data_type = (uint16_t)rnd();
            p->source_msg_sn = (uint32_t)rnd();
        } else {
            p->answer_time = (uint8_t)rnd();
        }
    }
    if (!(p->layout == JT809_POST_2019 && t == 0x1301))
        p->info_id = (uint32_t)rnd();
    p->info_content = rtext(40 + 30 * (t == 0x9301));
}

static void rsrc(struct jt809_ack *a, int result)
{
    a->has_src = 1;
    a->source_data_type = (uint16_t)rnd();
    a->source_msg_sn = (uint32_t)rnd();
    a->has_result = (uint8_t)result;
    a->result = result ? (uint8_t)rnd() : 0;
}

static void rlink(struct jt809_msg *m)
{
    switch (m->h.msg_id) {
    case 0x1001:
        m->u.connect_req.user_id = (uint32_t)rnd();
        m->u.connect_req.password = rbytes(8);
        m->u.connect_req.gnss_center_id =
            m->h.edition == JT809_ED_2019 ? (uint32_t)rnd() : 0;
        m->u.connect_req.down_link_ip = rbytes(32);
        m->u.connect_req.down_link_port = (uint16_t)rnd();
        break;
    case 0x1002:
        m->u.connect_rsp.result = (uint8_t)rnd();
        m->u.connect_rsp.verify_code = (uint32_t)rnd();
        break;
    case 0x1003:
        m->u.disconnect_req.user_id = (uint32_t)rnd();
        m->u.disconnect_req.password = rbytes(8);
        break;
    case 0x9001: case 0x9003: m->u.verify_code = (uint32_t)rnd(); break;
    case 0x9101:
        m->u.total_recv.dynamic_info_total = (uint32_t)rnd();
        m->u.total_recv.start_time = rnd();
        m->u.total_recv.end_time = rnd();
        break;
    default: m->u.code = (uint8_t)rnd(); break;
    }
}

static void rexg(struct jt809_msg *m, uint16_t ed)
{
    uint16_t t = m->env.data_type;
    int e19 = ed == JT809_ED_2019;
    switch (t) {
    case 0x1201: {
        static const uint8_t lay11[] = {49, 61};
        struct jt809_register *g = &m->u.reg;
        g->layout = e19 ? 110 : lay11[rn(2)];
        g->platform_id = rbytes(11);
        g->producer_id = rbytes(11);
        g->model = rbytes(g->layout == 49 ? 8 : g->layout == 61 ? 20 : 30);
        g->imei = e19 ? rbytes(15) : rbytes(0);
        g->terminal_id = rbytes(e19 ? 30 : 7);
        g->sim = rbytes(e19 ? 13 : 12);
        break;
    }
    case 0x1202: case 0x9202: rloc(&m->u.loc, ed); break;
    case 0x1203: case 0x9203:
        m->u.his.cnt = (uint8_t)(1 + rn(JT809_HIS_MAX));
        for (unsigned i = 0; i < m->u.his.cnt; i++)
            rloc(&m->u.his.loc[i], ed);
        break;
    case 0x1205: case 0x1206:
        if (!e19)
            break;
        rsrc(&m->u.ack, 0);
        if (rn(3) == 0) {
            m->env.layout = JT809_ENV_T2_ACK;
            m->u.ack.source_data_type = t == 0x1205 ? 0x9205 : 0x9206;
        }
        m->u.ack.trailing_zero = (uint8_t)rn(2);
        break;
    case 0x1207: case 0x1209:
        m->u.period.start_time = rnd();
        m->u.period.end_time = rnd();
        break;
    case 0x120A: {
        struct jt809_driver *v = &m->u.driver;
        v->has_src = (uint8_t)e19;
        v->source_data_type = e19 ? (uint16_t)rnd() : 0;
        v->source_msg_sn = e19 ? (uint32_t)rnd() : 0;
        v->driver_name = rbytes(16);
        v->driver_id = rbytes(20);
        v->licence = rbytes(40);
        v->org_name = rbytes(200);
        v->valid_date = e19 ? rnd() : 0;
        break;
    }
    case 0x120B: m->u.text.has_len = 1; m->u.text.text = rtext(300); break;
    case 0x9204: m->u.text.text = rtext(300); break;
    case 0x9201:
        rsrc(&m->u.ack, 1);
        if (e19 && rn(2))
            m->env.layout = JT809_ENV_BARE;
        break;
    case 0x9207: case 0x9208: case 0x9209:
        if (e19)
            rsrc(&m->u.ack, 1);
        m->u.ack.has_result = 1;
        m->u.ack.result = (uint8_t)rnd();
        break;
    case 0x9205: case 0x9206: m->u.code = (uint8_t)rnd(); break;
    default: break; /* 0x1208, 0x920A, 0x920B: empty */
    }
}

static void rwarn(struct jt809_msg *m, uint16_t ed)
{
    struct jt809_warn *v = &m->u.warn;
    uint16_t t = m->env.data_type;
    int e19 = ed == JT809_ED_2019;
    switch (t) {
    case 0x1402: case 0x9402: case 0x9403: case 0x1403:
        if (e19) {
            rwarn19(v);
            break;
        }
        v->layout = JT809_WARN_2011;
        if (t == 0x1403) {
            v->info_id = (uint32_t)rnd();
            v->result = (uint8_t)rnd();
            break;
        }
        v->warn_src = (uint8_t)rnd();
        v->warn_type = (uint16_t)rnd();
        v->warn_time = rnd();
        v->info_id = t == 0x1402 ? (uint32_t)rnd() : 0;
        v->info_content = rtext(80);
        break;
    case 0x1401:
        v->layout = rn(2) ? JT809_WARN_1401_11 : JT809_WARN_2011;
        v->supervision_id = (uint32_t)rnd();
        if (v->layout == JT809_WARN_1401_11) {
            v->source_data_type = (uint16_t)rnd();
            v->source_msg_sn = (uint32_t)rnd();
        }
        v->result = (uint8_t)rnd();
        break;
    case 0x1411: case 0x1412:
        v->layout = JT809_WARN_ACK;
        v->source_data_type = (uint16_t)rnd();
        v->source_msg_sn = (uint32_t)rnd();
        v->result = (uint8_t)rnd();
        break;
    case 0x1413: rurge(v, JT809_WARN_9401_T4); break;
    default: {
        static const uint8_t lay[] = {JT809_WARN_9401_E30, JT809_WARN_9401_E32,
                                      JT809_WARN_9401_T4};
        rurge(v, lay[rn(3)]);
        break;
    }
    }
}

static void rbusiness(struct jt809_msg *m, uint16_t ed)
{
    uint16_t t = m->env.data_type;
    m->env.vehicle_no = rbytes(21);
    m->env.vehicle_color = (uint8_t)rnd();
    switch (m->h.msg_id) {
    case 0x1200: case 0x9200: rexg(m, ed); break;
    case 0x1300: case 0x9300:
        if (t == 0x1302) {
            if (rn(2)) {
                m->u.ack.has_info_id = 1;
                m->u.ack.info_id = (uint32_t)rnd();
            } else {
                rsrc(&m->u.ack, 0);
            }
        } else {
            rpost(&m->u.post, t, ed);
        }
        break;
    case 0x1400: case 0x9400: rwarn(m, ed); break;
    case 0x1600: case 0x9600:
        if (t == 0x1601) {
            m->u.text.has_src = ed == JT809_ED_2019;
            m->u.text.source_data_type = m->u.text.has_src ? (uint16_t)rnd() : 0;
            m->u.text.source_msg_sn = m->u.text.has_src ? (uint32_t)rnd() : 0;
            m->u.text.text = rtext(200);
        }
        break;
    default: /* 0x1500/0x9500: unsupported sub-type, raw DATA */
        m->sub_known = 0;
        m->env.data = rtext(50);
        break;
    }
}

static const struct {
    uint16_t msg_id;
    uint16_t data_type;
} kinds[] = {
    {0x1001, 0}, {0x1002, 0}, {0x1003, 0}, {0x1004, 0}, {0x1005, 0}, {0x1006, 0},
    {0x1007, 0}, {0x1008, 0}, {0x9001, 0}, {0x9002, 0}, {0x9003, 0}, {0x9004, 0},
    {0x9005, 0}, {0x9006, 0}, {0x9007, 0}, {0x9008, 0}, {0x9101, 0},
    {0x1200, 0x1201}, {0x1200, 0x1202}, {0x1200, 0x1203}, {0x1200, 0x1205},
    {0x1200, 0x1206}, {0x1200, 0x1207}, {0x1200, 0x1208}, {0x1200, 0x1209},
    {0x1200, 0x120A}, {0x1200, 0x120B},
    {0x9200, 0x9201}, {0x9200, 0x9202}, {0x9200, 0x9203}, {0x9200, 0x9204},
    {0x9200, 0x9205}, {0x9200, 0x9206}, {0x9200, 0x9207}, {0x9200, 0x9208},
    {0x9200, 0x9209}, {0x9200, 0x920A}, {0x9200, 0x920B},
    {0x1300, 0x1301}, {0x1300, 0x1302}, {0x9300, 0x9301}, {0x9300, 0x9302},
    {0x1400, 0x1401}, {0x1400, 0x1402}, {0x1400, 0x1403}, {0x1400, 0x1411},
    {0x1400, 0x1412}, {0x1400, 0x1413},
    {0x9400, 0x9401}, {0x9400, 0x9402}, {0x9400, 0x9403},
    {0x1600, 0x1601}, {0x9600, 0x9601}, {0x1500, 0x1501}, {0x9500, 0x9502},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static void rmsg(struct jt809_msg *m, size_t kind, uint16_t ed, int encrypt)
{
    memset(m, 0, sizeof *m);
    pool_used = 0;
    m->h.msg_id = kinds[kind].msg_id;
    m->h.edition = ed;
    m->h.msg_sn = (uint32_t)rnd();
    m->h.gnss_center_id = (uint32_t)rnd();
    m->h.version[0] = 1;
    m->h.version[1] = (uint8_t)rn(3);
    m->h.version[2] = (uint8_t)rnd();
    m->h.encrypt_flag = (uint8_t)encrypt;
    m->h.encrypt_key = (uint32_t)rnd();
    m->h.time = ed == JT809_ED_2019 ? 1500000000u + rn(400000000) : 0;
    m->sub_known = 1;
    m->env.data_type = kinds[kind].data_type;
    if (jt809_is_business(m->h.msg_id))
        rbusiness(m, ed);
    else
        rlink(m);
}

static struct jt809_framer fr;
static uint8_t wire[JT809_WIRE_MAX];
static uint8_t wire2[JT809_WIRE_MAX];

/* Feeds <n> bytes in random chunks; returns the one good frame's content or fails. */
static uint8_t *frame_random_chunks(const uint8_t *w, size_t n, size_t *len)
{
    jt809_framer_init(&fr);
    int got = 0;
    size_t off = 0;
    while (off < n) {
        size_t chunk = 1 + rn(rn(4) == 0 ? 4 : 200);
        if (chunk > n - off)
            chunk = n - off;
        while (chunk) {
            int st;
            size_t used = jt809_framer_feed(&fr, w + off, chunk, &st);
            off += used;
            chunk -= used;
            cr_assert_geq(st, 0, "framer error %d", st);
            got += st;
        }
    }
    cr_assert_eq(got, 1);
    return jt809_framer_frame(&fr, len);
}

Test(jt809_prop, encode_frame_decode_roundtrip)
{
    static struct jt809_msg m, d;
    int counts[N_KINDS] = {0};
    for (int iter = 0; iter < 20000; iter++) {
        size_t kind = rn(N_KINDS);
        uint16_t ed = rn(2) ? JT809_ED_2011 : JT809_ED_2019;
        int encrypt = (int)rn(2);
        struct jt809_peer peer = {ed, 1, (uint32_t)rnd(), (uint32_t)rnd(), (uint32_t)rnd()};
        if (rn(8) == 0)
            peer.edition = JT809_ED_AUTO;
        rmsg(&m, kind, ed, encrypt);
        int n = jt809_encode(&m, &peer, wire, sizeof wire);
        cr_assert_gt(n, 0, "iter %d kind %04x/%04x ed %u: encode %d", iter, kinds[kind].msg_id,
                     kinds[kind].data_type, ed, n);
        size_t len;
        uint8_t *raw = frame_random_chunks(wire, (size_t)n, &len);
        int rc = jt809_frame_parse(raw, len, &peer, &d);
        int want = m.sub_known ? 0 : RW_E_UNSUPPORTED;
        if (peer.edition == JT809_ED_AUTO && d.h.edition != ed)
            continue; /* the heuristic may guess wrong on random data; not a codec bug */
        cr_assert_eq(rc, want, "iter %d kind %04x/%04x ed %u: parse %d", iter,
                     kinds[kind].msg_id, kinds[kind].data_type, ed, rc);
        cr_assert_eq(d.h.msg_id, m.h.msg_id);
        cr_assert_eq(d.h.msg_sn, m.h.msg_sn);
        cr_assert_eq(d.h.gnss_center_id, m.h.gnss_center_id);
        cr_assert_eq(memcmp(d.h.version, m.h.version, 3), 0);
        cr_assert_eq(d.h.encrypt_flag, m.h.encrypt_flag);
        cr_assert_eq(d.h.encrypt_key, m.h.encrypt_key);
        cr_assert_eq(d.h.time, m.h.time);
        cr_assert_eq(d.h.msg_length, len + 2);
        cr_assert_eq(d.env.data_type, m.env.data_type);
        cr_assert_eq(d.env.vehicle_color, d.env.has_vehicle ? m.env.vehicle_color : 0);
        int n2 = jt809_encode(&d, &peer, wire2, sizeof wire2);
        cr_assert_eq(n2, n, "iter %d kind %04x/%04x: re-encode %d != %d", iter,
                     kinds[kind].msg_id, kinds[kind].data_type, n2, n);
        cr_assert_eq(memcmp(wire, wire2, (size_t)n), 0, "iter %d kind %04x/%04x ed %u", iter,
                     kinds[kind].msg_id, kinds[kind].data_type, ed);
        counts[kind]++;
    }
    for (size_t k = 0; k < N_KINDS; k++)
        cr_assert_gt(counts[k], 50, "kind %zu ran only %d times", k, counts[k]);
}

Test(jt809_prop, escape_unescape_roundtrip)
{
    static uint8_t b[4096], e[8192], u[4096];
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = rn(sizeof b);
        int bias = (int)rn(3);
        for (size_t i = 0; i < n; i++)
            b[i] = bias ? (uint8_t)(0x5A + rn(5)) : (uint8_t)rnd();
        int en = jt809_escape(b, n, e, sizeof e);
        cr_assert_geq(en, (int)n);
        for (int i = 0; i < en; i++)
            cr_assert(e[i] != 0x5B && e[i] != 0x5D, "flag byte in escaped output");
        for (int strict = 0; strict < 2; strict++) {
            int un = jt809_unescape(e, (size_t)en, u, sizeof u, strict);
            cr_assert_eq(un, (int)n);
            cr_assert_eq(memcmp(u, b, n), 0);
        }
    }
}
