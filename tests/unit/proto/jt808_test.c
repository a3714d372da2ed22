/* jt808_test.c: JT/T 808 codec against the real frames of shared/protocols/jt808.md §8,
 * plus framing, escaping and hostile-input cases. Every real frame must decode to the
 * listed values and re-encode byte-identical. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "engine/proto/jt808.h"

static uint8_t wire[4096];
static size_t wire_len;
static struct jt808_framer fr;
static struct jt808_msg msg;

/* Parses <hex> as one wire frame, runs it through a framer and the decoder, and checks
 * that exactly one good frame came out. */
static void load(const char *hex)
{
    int n = text_hex_decode(hex, strlen(hex), wire, sizeof wire);
    cr_assert_gt(n, 0, "bad test hex");
    wire_len = (size_t)n;
    jt808_framer_init(&fr);
    int st;
    size_t used = jt808_framer_feed(&fr, wire, wire_len, &st);
    cr_assert_eq(st, 1, "framer status %d (%s)", st, err_str(st));
    cr_assert_eq(used, wire_len);
    struct rw_bytes f = jt808_framer_frame(&fr);
    int rc = jt808_frame_parse(f.p, f.len, &msg);
    cr_assert_eq(rc, 0, "parse: %s", err_str(rc));
    struct jt808_msg viaf;
    cr_assert_eq(jt808_framer_parse(&fr, &viaf), 0, "the framer's trusted parse agrees");
    cr_assert_eq(viaf.h.serial, msg.h.serial);
    cr_assert_eq(viaf.body.len, msg.body.len);
}

/* Re-encodes the decoded message and compares with the original wire bytes. */
static void reencode_identical(void)
{
    uint8_t out[JT808_WIRE_MAX];
    int n = jt808_encode(&msg, out, sizeof out);
    cr_assert_gt(n, 0, "encode: %s", err_str(n));
    cr_assert_eq((size_t)n, wire_len, "length %d vs %zu", n, wire_len);
    cr_assert_arr_eq(out, wire, wire_len, "re-encoded frame differs");
}

static void phone_is(const char *want)
{
    char p[21];
    jt808_phone_str(&msg.h, p);
    cr_assert_str_eq(p, want);
}

static int bytes_is(struct rw_bytes b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.p, s, b.len) == 0;
}

Test(jt808_real, A_heartbeat_escaped_check)
{
    load("7E 00 02 00 00 04 00 21 67 92 87 00 2B 7D 02 7E");
    cr_assert_eq(msg.h.msg_id, 0x0002);
    cr_assert_eq(msg.h.props, 0);
    cr_assert_eq(msg.h.body_len, 0);
    cr_assert_eq(msg.h.edition, JT808_ED_2013);
    phone_is("40021679287");
    cr_assert_eq(msg.h.serial, 43);
    reencode_identical();
}

Test(jt808_real, B_register_2013)
{
    load("7e0100002d0141305678720024002c012f373031313142534a2d41362d42440000000000000000000000"
         "3035363738373201d4c14238383838386d7e");
    cr_assert_eq(msg.h.msg_id, 0x0100);
    cr_assert_eq(msg.h.body_len, 45);
    phone_is("14130567872");
    cr_assert_eq(msg.h.serial, 36);
    struct jt808_register *r = &msg.u.reg;
    cr_assert_eq(r->edition, JT808_ED_2013);
    cr_assert_eq(r->province, 44);
    cr_assert_eq(r->city, 303);
    cr_assert(bytes_is(r->maker, "70111"));
    cr_assert_eq(r->model.len, 20);
    cr_assert(bytes_is(rw_trim(r->model), "BSJ-A6-BD"));
    cr_assert(bytes_is(r->term_id, "0567872"));
    cr_assert_eq(r->plate_color, 1);
    char utf8[64];
    cr_assert_gt(text_gbk_to_utf8(r->plate, utf8, sizeof utf8), 0);
    cr_assert_str_eq(utf8, "粤B88888");
    reencode_identical();
}

Test(jt808_real, C_register_2019_front_padded)
{
    load("7e0100405401000000000133051893410003002c012f343430333030373031313100000000000000000000"
         "000000000000000000000042534a2d474630365435313839333431000000000000000000000000000000"
         "000000000000000002d4c1423838383838a67e");
    cr_assert_eq(msg.h.props, 0x4054);
    cr_assert_eq(msg.h.edition, JT808_ED_2019);
    cr_assert_eq(msg.h.proto_ver, 1);
    phone_is("13305189341");
    cr_assert_eq(msg.h.serial, 3);
    struct jt808_register *r = &msg.u.reg;
    cr_assert_eq(r->edition, JT808_ED_2019);
    cr_assert_eq(r->province, 44);
    cr_assert_eq(r->city, 303);
    cr_assert(bytes_is(r->maker, "44030070111"));
    cr_assert_eq(r->model.len, 30);
    cr_assert(bytes_is(rw_trim(r->model), "BSJ-GF06T"));
    cr_assert_eq(r->model.p[0], 0, "front padding kept raw");
    cr_assert(bytes_is(rw_trim(r->term_id), "5189341"));
    cr_assert_eq(r->plate_color, 2);
    cr_assert_eq(r->plate.len, 8);
    reencode_identical();
}

Test(jt808_real, B2_register_2011_layout_built)
{
    /* The 2011 register of the same test file is cut in the fact sheet; build one of the
     * same shape (33-byte body, model BYTE[8]) and check the 2011 layout round-trips. */
    memset(&msg, 0, sizeof msg);
    msg.h.msg_id = 0x0100;
    msg.h.edition = JT808_ED_2013;
    jt808_phone_set(&msg.h, "13345678906");
    msg.h.serial = 15;
    msg.u.reg.edition = JT808_ED_2011;
    msg.u.reg.province = 44;
    msg.u.reg.city = 303;
    msg.u.reg.maker = rw_str("70111");
    msg.u.reg.model = rw_str("BSJ-M7B ");
    msg.u.reg.term_id = rw_str("0000000");
    msg.u.reg.plate_color = 1;
    static const uint8_t plate[] = {0xD4, 0xC1, 'B', '8', '8', '8', '8', '8'};
    msg.u.reg.plate = rw_bytes_of(plate, sizeof plate);
    uint8_t out[JT808_WIRE_MAX];
    int n = jt808_encode(&msg, out, sizeof out);
    cr_assert_gt(n, 0);
    cr_assert_eq(out[3] << 8 | out[4], 33, "props carry the 33-byte body");
    jt808_framer_init(&fr);
    int st;
    jt808_framer_feed(&fr, out, (size_t)n, &st);
    cr_assert_eq(st, 1);
    struct jt808_msg back;
    cr_assert_eq(jt808_frame_parse(fr.buf, fr.len, &back), 0);
    cr_assert_eq(back.u.reg.edition, JT808_ED_2011);
    cr_assert(bytes_is(back.u.reg.model, "BSJ-M7B "));
    cr_assert(bytes_is(back.u.reg.term_id, "0000000"));
    cr_assert_eq(back.u.reg.plate.len, 8);
}

Test(jt808_real, D_auth_2013)
{
    load("7E0102000E013511221122000661757468656E7469636174696F6E3F7E");
    cr_assert_eq(msg.h.body_len, 14);
    phone_is("13511221122");
    cr_assert_eq(msg.h.serial, 6);
    cr_assert(bytes_is(msg.u.auth.code, "authentication"));
    reencode_identical();
    load("7E010200090123456789003039343536313231313131BE7E");
    phone_is("12345678900");
    cr_assert_eq(msg.h.serial, 12345);
    cr_assert(bytes_is(msg.u.auth.code, "456121111"));
    reencode_identical();
}

Test(jt808_real, E_auth_2019)
{
    load("7e010240500100000000017299841738ffff2c706d59477a47756b4f384b345a356c70494f5467386471"
         "623365707259614842625853504c7464627947383d3132333435363738393031323334353"
         "32e372e31350000000000000000000000000000347e");
    cr_assert_eq(msg.h.props, 0x4050);
    cr_assert_eq(msg.h.proto_ver, 1);
    phone_is("17299841738");
    cr_assert_eq(msg.h.serial, 65535);
    cr_assert_eq(msg.u.auth.code.len, 44);
    cr_assert(bytes_is(msg.u.auth.code, "pmYGzGukO8K4Z5lpIOTg8dqb3eprYaHBbXSPLtdbyG8="));
    cr_assert(bytes_is(msg.u.auth.imei, "123456789012345"));
    cr_assert(bytes_is(rw_trim(msg.u.auth.sw_ver), "3.7.15"));
    reencode_identical();
}

Test(jt808_real, F_location_every_extra)
{
    load("7E0200005C11223344556622B8000000010000000200BA7F0E07E4F11C0028003C000018071510101001"
         "04000000640202003703020038040200011105010000000112060100000001011307000000020022"
         "012504000000172A0200F42B04000000F2300102310105167E");
    cr_assert_eq(msg.h.body_len, 92);
    phone_is("112233445566");
    cr_assert_eq(msg.h.serial, 8888);
    struct jt808_loc *l = &msg.u.loc;
    cr_assert_eq(l->alarm, JT808_ALARM_SOS);
    cr_assert_eq(l->status, JT808_ST_FIX);
    cr_assert_eq(l->lat, 12222222);
    cr_assert_eq(l->lon, 132444444);
    cr_assert_eq(jt808_loc_lat_e6(l), 12222222);
    cr_assert_eq(l->altitude_m, 40);
    cr_assert_eq(l->speed_dkmh, 60);
    cr_assert_eq(l->direction, 0);
    /* 2018-07-15 10:10:10 GMT+8 = 02:10:10 UTC */
    cr_assert_eq(l->time, 1531620610);
    cr_assert_eq(l->mileage_hm, 100);
    cr_assert_eq(l->fuel_dl, 55);
    cr_assert_eq(l->tacho_speed_dkmh, 56);
    cr_assert_eq(l->event_id, 1);
    cr_assert_eq(l->overspeed_type, 1);
    cr_assert_eq(l->overspeed_area, 1);
    cr_assert_eq(l->inout_type, 1);
    cr_assert_eq(l->inout_area, 1);
    cr_assert_eq(l->inout_dir, 1);
    cr_assert_eq(l->section_id, 2);
    cr_assert_eq(l->section_time_s, 34);
    cr_assert_eq(l->section_result, 1);
    cr_assert_eq(l->signals, 0x17);
    cr_assert_eq(l->io_status, 0xF4);
    cr_assert_eq(l->analog, 0xF2);
    cr_assert_eq(l->rssi, 2);
    cr_assert_eq(l->sats, 5);
    cr_assert_eq(l->n_items, 12);
    cr_assert_eq(l->n_dup, 0);
    cr_assert_eq(l->extras_err, 0);
    uint32_t all = JT808_X_MILEAGE | JT808_X_FUEL | JT808_X_TACHO_SPEED | JT808_X_EVENT_ID |
                   JT808_X_OVERSPEED | JT808_X_INOUT | JT808_X_ROUTE_TIME | JT808_X_SIGNALS |
                   JT808_X_IO | JT808_X_ANALOG | JT808_X_RSSI | JT808_X_SATS;
    cr_assert_eq(l->present, all);
    reencode_identical();
    /* The same frame rebuilt from the decoded fields (no raw extras) is also identical:
     * this frame lists its items in ascending ID order, as the field encoder does. */
    l->extras.len = 0;
    l->extras.p = NULL;
    reencode_identical();
}

Test(jt808_real, G_batch_2019_south)
{
    load("7e0704402d0100000866496077582164881d0001000028000000000000000701a00192091f2a470016"
         "0000000226050916422701040000258230010031010e507e");
    cr_assert_eq(msg.h.props, 0x402D);
    phone_is("866496077582164");
    cr_assert_eq(msg.h.serial, 34845);
    cr_assert_eq(msg.u.batch.count, 1);
    cr_assert_eq(msg.u.batch.type, 0);
    struct jt808_batch_iter it;
    struct jt808_loc l;
    jt808_batch_iter_init(&it, &msg.u.batch);
    cr_assert_eq(jt808_batch_next(&it, &l), 1);
    cr_assert_eq(l.status, 7);
    cr_assert_eq(jt808_loc_lat_e6(&l), -27263378);
    cr_assert_eq(jt808_loc_lon_e6(&l), 153037383);
    cr_assert_eq(l.altitude_m, 22);
    cr_assert_eq(l.speed_dkmh, 0);
    cr_assert_eq(l.direction, 2);
    cr_assert_eq(l.mileage_hm, 9602);
    cr_assert_eq(l.rssi, 0);
    cr_assert_eq(l.sats, 14);
    /* 2026-05-09 16:42:27 +08:00 */
    cr_assert_eq(l.time, 1778316147);
    cr_assert_eq(jt808_batch_next(&it, &l), 0);
    reencode_identical();
}

Test(jt808_real, H_blind_area_2013_vendor_items)
{
    load("7e070400510144503762020002000101004c00040100000800030202301006f893e8001d0000009526"
         "0817221812140400000000170200000104000036c9030200002504000000002a02000030011f31010e"
         "ea04020c8300ef0400000000037e");
    cr_assert_eq(msg.h.body_len, 81);
    phone_is("14450376202");
    cr_assert_eq(msg.h.serial, 2);
    cr_assert_eq(msg.u.batch.count, 1);
    cr_assert_eq(msg.u.batch.type, 1);
    struct jt808_batch_iter it;
    struct jt808_loc l;
    jt808_batch_iter_init(&it, &msg.u.batch);
    cr_assert_eq(jt808_batch_next(&it, &l), 1);
    cr_assert_eq(l.alarm, JT808_ALARM_POWER_OFF | JT808_ALARM_DAY_DRIVE);
    cr_assert_eq(l.status, 0x00080003);
    cr_assert_eq(l.lat, 33697808);
    cr_assert_eq(l.lon, 116954088);
    cr_assert_eq(l.altitude_m, 29);
    cr_assert_eq(l.direction, 149);
    cr_assert_eq(l.mileage_hm, 14025);
    cr_assert_eq(l.tacho_speed_dkmh, 0);
    cr_assert_eq(l.rssi, 31);
    cr_assert_eq(l.sats, 14);
    cr_assert_eq(l.n_items, 10, "0x14 0x17 0x01 0x03 0x25 0x2A 0x30 0x31 0xEA 0xEF");
    cr_assert_eq(l.extras_err, 0);
    cr_assert_eq(jt808_batch_next(&it, &l), 0);
    reencode_identical();
}

Test(jt808_real, I_platform_replies)
{
    load("7E80010005012345678900000A0064020000617E");
    phone_is("12345678900");
    cr_assert_eq(msg.h.serial, 10);
    cr_assert_eq(msg.u.gen_rsp.ack_serial, 100);
    cr_assert_eq(msg.u.gen_rsp.ack_id, 0x0200);
    cr_assert_eq(msg.u.gen_rsp.result, 0);
    reencode_identical();

    load("7E81000013012345678900000A0064007A7373646166323331323473666473633B7E");
    cr_assert_eq(msg.u.reg_rsp.ack_serial, 100);
    cr_assert_eq(msg.u.reg_rsp.result, 0);
    cr_assert(bytes_is(msg.u.reg_rsp.auth_code, "zssdaf23124sfdsc"));
    reencode_identical();

    load("7E81000003012345678900000A006404617E");
    cr_assert_eq(msg.u.reg_rsp.result, 4);
    cr_assert_eq(msg.u.reg_rsp.auth_code.len, 0);
    reencode_identical();

    load("7E0001000501234567890004B303E8000200D37E");
    cr_assert_eq(msg.h.serial, 1203);
    cr_assert_eq(msg.u.gen_rsp.ack_serial, 1000);
    cr_assert_eq(msg.u.gen_rsp.ack_id, 0x0002);
    reencode_identical();

    load("7E8103000A000123456789000A0100000001040000000A057E");
    cr_assert_eq(msg.u.params.count, 1);
    struct jt808_param_iter it;
    struct jt808_param p;
    jt808_param_iter_init(&it, &msg.u.params);
    cr_assert_eq(jt808_param_next(&it, &p), 1);
    cr_assert_eq(p.id, 1);
    cr_assert_eq(p.value.len, 4);
    cr_assert_eq(p.value.p[3], 10);
    cr_assert_eq(jt808_param_next(&it, &p), 0);
    reencode_identical();
}

Test(jt808_real, I_text_2019_and_2013)
{
    load("7E8300400E010000000001234567890000010501736D616C6C63686920353138417E");
    cr_assert_eq(msg.h.edition, JT808_ED_2019);
    phone_is("12345678900");
    cr_assert_eq(msg.h.serial, 1);
    cr_assert_eq(msg.u.text.flag, 5);
    cr_assert_eq(msg.u.text.text_type, 1);
    cr_assert(bytes_is(msg.u.text.text, "smallchi 518"));
    reencode_identical();
    load("7E8300000D012345678900000105736D616C6C63686920353138027E");
    cr_assert_eq(msg.h.edition, JT808_ED_2013);
    cr_assert_eq(msg.u.text.flag, 5);
    cr_assert_eq(msg.u.text.text_type, 0);
    cr_assert(bytes_is(msg.u.text.text, "smallchi 518"));
    reencode_identical();
}

Test(jt808_real, J_subpackage_header)
{
    /* Header of the fact sheet's subpackaged 0x1205 frame with a 930-byte body. */
    static uint8_t raw[16 + 930 + 1];
    static const uint8_t hdr[16] = {0x12, 0x05, 0x23, 0xA2, 0x04, 0x06, 0x66, 0x57,
                                    0x50, 0x62, 0x00, 0xEB, 0x00, 0x02, 0x00, 0x01};
    memcpy(raw, hdr, 16);
    for (int i = 0; i < 930; i++)
        raw[16 + i] = (uint8_t)(i * 7);
    raw[946] = jt808_xor(raw, 946);
    struct jt808_hdr h;
    cr_assert_eq(jt808_hdr_parse(raw, sizeof raw, &h), 16);
    cr_assert_eq(h.msg_id, 0x1205);
    cr_assert_eq(h.body_len, 930);
    cr_assert_eq(h.subpkg, 1);
    cr_assert_eq(h.serial, 235);
    cr_assert_eq(h.pkg_total, 2);
    cr_assert_eq(h.pkg_index, 1);
    cr_assert_eq(h.edition, JT808_ED_2013);
    char p[21];
    jt808_phone_str(&h, p);
    cr_assert_str_eq(p, "40666575062");
}

Test(jt808_real, quirk_bit14_with_2013_header)
{
    /* §2.5: bit 14 set, 12-byte header, body 12. Built from frame D's shape. */
    static uint8_t raw[12 + 12 + 1] = {0x01, 0x02, 0x40, 0x0C, 0x01, 0x00, 0x30,
                                       0x00, 0x06, 0x81, 0x09, 0x02};
    memcpy(raw + 12, "123456789012", 12);
    raw[24] = jt808_xor(raw, 24);
    struct jt808_msg m;
    cr_assert_eq(jt808_frame_parse(raw, sizeof raw, &m), 0);
    cr_assert_eq(m.h.quirk_2013_hdr, 1);
    cr_assert_eq(m.h.edition, JT808_ED_2013);
    cr_assert(bytes_is(m.u.auth.code, "123456789012"));
    uint8_t out[64], back[64];
    int n = jt808_encode(&m, out, sizeof out);
    cr_assert_gt(n, 2);
    cr_assert_eq(jt808_unescape(out + 1, (size_t)n - 2, back, sizeof back), (int)sizeof raw);
    cr_assert_arr_eq(back, raw, sizeof raw, "quirk frame re-encodes with bit 14 kept");
}

/* ------------------------------------------------------------------------------------- */

Test(jt808_escape, standard_example)
{
    static const uint8_t content[] = {0x30, 0x7E, 0x08, 0x7D, 0x55};
    static const uint8_t want[] = {0x30, 0x7D, 0x02, 0x08, 0x7D, 0x01, 0x55};
    uint8_t out[16], back[16];
    cr_assert_eq(jt808_escape(content, sizeof content, out, sizeof out), (int)sizeof want);
    cr_assert_arr_eq(out, want, sizeof want);
    cr_assert_eq(jt808_unescape(out, sizeof want, back, sizeof back), (int)sizeof content);
    cr_assert_arr_eq(back, content, sizeof content);
}

Test(jt808_escape, errors)
{
    uint8_t out[8];
    static const uint8_t bad1[] = {0x01, 0x7D, 0x03};
    static const uint8_t bad2[] = {0x01, 0x7D};
    static const uint8_t bad3[] = {0x01, 0x7E};
    cr_assert_eq(jt808_unescape(bad1, 3, out, sizeof out), RW_E_ESCAPE);
    cr_assert_eq(jt808_unescape(bad2, 2, out, sizeof out), RW_E_ESCAPE);
    cr_assert_eq(jt808_unescape(bad3, 2, out, sizeof out), RW_E_FIELD);
    static const uint8_t flags[] = {0x7E, 0x7E};
    cr_assert_eq(jt808_escape(flags, 2, out, 3), RW_E_NOSPACE);
}

static const char *frame_f =
    "7E0200005C11223344556622B8000000010000000200BA7F0E07E4F11C0028003C000018071510101001"
    "04000000640202003703020038040200011105010000000112060100000001011307000000020022"
    "012504000000172A0200F42B04000000F2300102310105167E";
static const char *frame_a = "7E00020000040021679287002B7D027E";

static size_t hexb(const char *hex, uint8_t *out, size_t cap)
{
    int n = text_hex_decode(hex, strlen(hex), out, cap);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

/* Feeds <in> in chunks of <chunk> bytes and counts good frames and errors. */
static void feed_chunks(const uint8_t *in, size_t n, size_t chunk, int *frames, int *errors,
                        uint16_t *ids)
{
    jt808_framer_init(&fr);
    *frames = *errors = 0;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        size_t pos = 0;
        while (pos < len) {
            int st;
            pos += jt808_framer_feed(&fr, in + off + pos, len - pos, &st);
            if (st == 1) {
                struct jt808_hdr h;
                cr_assert_gt(jt808_hdr_parse(fr.buf, fr.len, &h), 0);
                ids[(*frames)++] = h.msg_id;
            } else if (st < 0) {
                (*errors)++;
            }
        }
    }
}

Test(jt808_framer, split_at_every_offset)
{
    uint8_t a[64], f[256], stream[512];
    size_t na = hexb(frame_a, a, sizeof a), nf = hexb(frame_f, f, sizeof f);
    size_t n = 0;
    memcpy(stream + n, f, nf), n += nf;
    memcpy(stream + n, a, na), n += na;
    memcpy(stream + n, f, nf), n += nf;
    /* Every split point of a two-read delivery, then every chunk size. */
    for (size_t cut = 0; cut <= n; cut++) {
        jt808_framer_init(&fr);
        int frames = 0, st;
        size_t pos = 0;
        while (pos < cut) {
            pos += jt808_framer_feed(&fr, stream + pos, cut - pos, &st);
            frames += st == 1;
            cr_assert_geq(st, 0, "cut %zu: error %d", cut, st);
        }
        while (pos < n) {
            pos += jt808_framer_feed(&fr, stream + pos, n - pos, &st);
            frames += st == 1;
            cr_assert_geq(st, 0, "cut %zu: error %d", cut, st);
        }
        cr_assert_eq(frames, 3, "cut at %zu gave %d frames", cut, frames);
    }
    uint16_t ids[8];
    for (size_t chunk = 1; chunk <= n; chunk++) {
        int frames, errors;
        feed_chunks(stream, n, chunk, &frames, &errors, ids);
        cr_assert_eq(frames, 3, "chunk %zu", chunk);
        cr_assert_eq(errors, 0);
        cr_assert_eq(ids[0], 0x0200);
        cr_assert_eq(ids[1], 0x0002);
        cr_assert_eq(ids[2], 0x0200);
    }
}

Test(jt808_framer, garbage_back_to_back_and_bad_frames)
{
    uint8_t a[64], f[256], stream[1024];
    size_t na = hexb(frame_a, a, sizeof a), nf = hexb(frame_f, f, sizeof f);
    size_t n = 0;
    memcpy(stream + n, "GET / HTTP/1.1\r\n", 16), n += 16;   /* garbage before */
    memcpy(stream + n, a, na), n += na;
    stream[n++] = 0x7E;                                      /* empty frame: 7E 7E */
    memcpy(stream + n, f, nf), n += nf;
    memcpy(stream + n, "\x01\x02\x03", 3), n += 3;           /* garbage between */
    memcpy(stream + n, f, nf), stream[n + 30] ^= 0x01, n += nf; /* bad check code */
    memcpy(stream + n, a, na), n += na;
    static const uint8_t bad_esc[] = {0x7E, 0x00, 0x02, 0x7D, 0x05, 0x00, 0x7E};
    memcpy(stream + n, bad_esc, sizeof bad_esc), n += sizeof bad_esc;
    memcpy(stream + n, a, na), n += na;
    static const uint8_t shorty[] = {0x7E, 0x00, 0x02, 0x00, 0x7E};
    memcpy(stream + n, shorty, sizeof shorty), n += sizeof shorty;
    memcpy(stream + n, f, nf), n += nf;
    uint16_t ids[16];
    for (size_t chunk = 1; chunk <= n; chunk += (chunk < 40 ? 1 : 37)) {
        int frames, errors;
        feed_chunks(stream, n, chunk, &frames, &errors, ids);
        cr_assert_eq(frames, 5, "chunk %zu: %d frames", chunk, frames);
        cr_assert_eq(errors, 3, "chunk %zu: %d errors", chunk, errors);
    }
    cr_assert_eq(fr.st.bad_check, 1);
    cr_assert_eq(fr.st.bad_escape, 1);
    cr_assert_eq(fr.st.too_short, 1);
    cr_assert_geq(fr.st.empty, 1);
    cr_assert_geq(fr.st.garbage_bytes, 19);
}

Test(jt808_framer, overlong_is_cut_and_recovers)
{
    static uint8_t stream[4096];
    uint8_t a[64];
    size_t na = hexb(frame_a, a, sizeof a);
    size_t n = 0;
    stream[n++] = 0x7E;
    memset(stream + n, 0x41, 3000), n += 3000;
    stream[n++] = 0x7E;
    memcpy(stream + n, a, na), n += na;
    uint16_t ids[4];
    int frames, errors;
    feed_chunks(stream, n, 512, &frames, &errors, ids);
    cr_assert_eq(errors, 1);
    cr_assert_eq(fr.st.too_long, 1);
    cr_assert_eq(frames, 1);
    cr_assert_eq(ids[0], 0x0002);
}

Test(jt808_decode, hostile_bodies_never_crash)
{
    /* Every prefix of frame F's content, with its check code fixed, must give an error
     * or a valid partial decode, never a read past the end (ASan checks that). */
    uint8_t f[256], raw[256];
    size_t nf = hexb(frame_f, f, sizeof f);
    int nr = jt808_unescape(f + 1, nf - 2, raw, sizeof raw);
    cr_assert_gt(nr, 0);
    for (int cut = 0; cut < nr; cut++) {
        uint8_t *buf = malloc((size_t)cut + 1);
        memcpy(buf, raw, (size_t)cut);
        if (cut >= 13) {
            /* make the header announce what is actually there */
            unsigned body = (unsigned)cut - 13;
            buf[2] = (uint8_t)(body >> 8), buf[3] = (uint8_t)body;
            buf[cut - 1] = 0;
            buf[cut - 1] = jt808_xor(buf, (size_t)cut - 1);
        }
        struct jt808_msg m;
        int rc = jt808_frame_parse(buf, (size_t)cut, &m);
        if (cut < 13)
            cr_assert_eq(rc, RW_E_TRUNCATED);
        else if (cut - 13 < 28)
            cr_assert_eq(rc, RW_E_TRUNCATED, "cut %d", cut);
        else
            cr_assert_eq(rc, 0, "cut %d: %s", cut, err_str(rc));
        free(buf);
    }
}

Test(jt808_decode, lying_lengths)
{
    uint8_t raw[64];
    /* 0x0704 with count 3 but one item */
    static const uint8_t body704[] = {0x00, 0x03, 0x00, 0x00, 0x01, 0xAA};
    struct jt808_msg m;
    memset(&m, 0, sizeof m);
    m.h.msg_id = 0x0704;
    m.body = rw_bytes_of(body704, sizeof body704);
    cr_assert_eq(jt808_body_decode(&m), RW_E_LENGTH);
    /* 0x8103 with count 2 but one parameter */
    static const uint8_t body8103[] = {0x02, 0, 0, 0, 1, 1, 9};
    m.h.msg_id = 0x8103;
    m.body = rw_bytes_of(body8103, sizeof body8103);
    cr_assert_eq(jt808_body_decode(&m), RW_E_LENGTH);
    /* 0x0102 2019 with a code length past the end */
    static const uint8_t body0102[] = {0x40, 'a', 'b'};
    m.h.msg_id = 0x0102;
    m.h.edition = JT808_ED_2019;
    m.body = rw_bytes_of(body0102, sizeof body0102);
    cr_assert_eq(jt808_body_decode(&m), RW_E_TRUNCATED);
    /* header announcing more body than present */
    static const uint8_t hdr[] = {0x02, 0x00, 0x00, 0x40, 1, 2, 3, 4, 5, 6, 0, 1, 0};
    memcpy(raw, hdr, sizeof hdr);
    cr_assert_eq(jt808_frame_parse(raw, sizeof hdr, &m), RW_E_TRUNCATED);
    /* and less */
    static const uint8_t hdr2[] = {0x00, 0x02, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 0, 1, 9, 9, 0};
    cr_assert_eq(jt808_frame_parse(hdr2, sizeof hdr2, &m), RW_E_LENGTH);
}

Test(jt808_decode, damaged_extras_keep_the_position)
{
    uint8_t f[256], raw[256];
    size_t nf = hexb(frame_f, f, sizeof f);
    int nr = jt808_unescape(f + 1, nf - 2, raw, sizeof raw);
    struct jt808_loc l;
    /* body = raw[12 .. nr-1); set the first item's length to run past the end */
    uint8_t body[128];
    size_t blen = (size_t)nr - 13;
    memcpy(body, raw + 12, blen);
    body[29] = 0xF0;
    cr_assert_eq(jt808_loc_decode(rw_bytes_of(body, blen), &l), 0);
    cr_assert_eq(l.extras_err, RW_E_TRUNCATED);
    cr_assert_eq(l.lat, 12222222);
    cr_assert_eq(l.present, 0);
    /* a bad BCD time is an error; an impossible date is not */
    memcpy(body, raw + 12, blen);
    body[23] = 0x1A;
    cr_assert_eq(jt808_loc_decode(rw_bytes_of(body, blen), &l), RW_E_BCD);
    body[23] = 0x13;
    cr_assert_eq(jt808_loc_decode(rw_bytes_of(body, blen), &l), 0);
    cr_assert_eq(l.time, JT808_TIME_INVALID);
    /* duplicate items: the first one wins */
    static const uint8_t dup[] = {0x01, 4, 0, 0, 0, 7, 0x01, 4, 0, 0, 0, 9, 0x2B, 3, 1, 2, 3};
    memcpy(body + 28, dup, sizeof dup);
    cr_assert_eq(jt808_loc_decode(rw_bytes_of(body, 28 + sizeof dup), &l), 0);
    cr_assert_eq(l.mileage_hm, 7);
    cr_assert_eq(l.n_dup, 1);
    cr_assert_eq(l.n_badlen, 1, "0x2B of 3 bytes is kept raw only");
}

Test(jt808_time, bcd_round_trip)
{
    uint8_t bcd[6];
    cr_assert_eq(jt808_time_to_bcd(1531620610, bcd), 0);
    static const uint8_t want[6] = {0x18, 0x07, 0x15, 0x10, 0x10, 0x10};
    cr_assert_arr_eq(bcd, want, 6);
    for (int64_t t = 946656000; t < 4102444800 - 86400; t += 86399 * 37 + 17) {
        int64_t back;
        cr_assert_eq(jt808_time_to_bcd(t, bcd), 0);
        cr_assert_eq(jt808_time_from_bcd(bcd, &back), 0);
        cr_assert_eq(back, t);
    }
    cr_assert_eq(jt808_time_to_bcd(0, bcd), RW_E_FIELD);
    static const uint8_t feb30[6] = {0x24, 0x02, 0x30, 0, 0, 0};
    int64_t t;
    cr_assert_eq(jt808_time_from_bcd(feb30, &t), RW_E_FIELD);
    static const uint8_t feb29[6] = {0x24, 0x02, 0x29, 0, 0, 0};
    cr_assert_eq(jt808_time_from_bcd(feb29, &t), 0);
}

Test(jt808_phone, set_and_print)
{
    struct jt808_hdr h;
    memset(&h, 0, sizeof h);
    cr_assert_eq(jt808_phone_set(&h, "013912345678"), 0);
    char s[21];
    cr_assert_eq(jt808_phone_str(&h, s), 11);
    cr_assert_str_eq(s, "13912345678");
    cr_assert_eq(jt808_phone_set(&h, "12a"), RW_E_FIELD);
    cr_assert_eq(jt808_phone_set(&h, "123456789012345678901"), RW_E_FIELD);
    cr_assert_eq(jt808_phone_set(&h, "0"), 0);
    cr_assert_eq(jt808_phone_str(&h, s), 1);
    cr_assert_str_eq(s, "0");
}

Test(jt808_encode, gen_rsp_answers_the_request)
{
    load("7E0200005C11223344556622B8000000010000000200BA7F0E07E4F11C0028003C000018071510101001"
         "04000000640202003703020038040200011105010000000112060100000001011307000000020022"
         "012504000000172A0200F42B04000000F2300102310105167E");
    struct jt808_msg r;
    jt808_make_gen_rsp(&r, &msg.h, 7, JT808_RES_OK);
    uint8_t out[64];
    int n = jt808_encode(&r, out, sizeof out);
    cr_assert_gt(n, 0);
    jt808_framer_init(&fr);
    int st;
    jt808_framer_feed(&fr, out, (size_t)n, &st);
    cr_assert_eq(st, 1);
    struct jt808_msg back;
    cr_assert_eq(jt808_frame_parse(fr.buf, fr.len, &back), 0);
    cr_assert_eq(back.h.msg_id, 0x8001);
    cr_assert_eq(back.u.gen_rsp.ack_serial, 8888);
    cr_assert_eq(back.u.gen_rsp.ack_id, 0x0200);
    cr_assert_eq(memcmp(back.h.phone, msg.h.phone, 10), 0);
    /* bodies over 1023 bytes are refused, never truncated */
    struct jt808_msg big;
    memset(&big, 0, sizeof big);
    big.h.msg_id = 0x8300;
    static uint8_t text[1100];
    big.u.text.text = rw_bytes_of(text, sizeof text);
    static uint8_t wbuf[JT808_WIRE_MAX];
    cr_assert_lt(jt808_encode(&big, wbuf, sizeof wbuf), 0);
    cr_assert_eq(jt808_encode(&r, out, 10), RW_E_NOSPACE);
}
