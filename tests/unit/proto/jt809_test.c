/* jt809_test.c: unit tests of the JT/T 809 codec against the real frames F1-F10 of the
 * fact sheet (shared/protocols/jt809.md §10), the CRC and keystream vectors, escaping, the
 * stream framer's error recovery, the disputed layouts and hostile bodies. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/text.h"
#include "engine/base/wire.h"
#include "engine/proto/jt809.h"

/* ---------------------------------------------------------------------------------------
 * Fixtures: the real frames and their peers
 */

#define F1 "5B000000480000005210010001E24001000100000000000001E2407465737438303900312E37312E31" \
           "32392E32303100000000000000000000000000000000000000004E8ED9BA5D"
#define F2 "5B0000001A0000257A10050001E24001000100000000001C525D"
#define F3 "5B0000005A0000011812000001E2400100010000000000C1C943443731363500000000000000000000" \
           "0000000212020000002400090707E31234230736F0DE026ECFEF00000000000184E9010C000E000C00" \
           "030000000012725D"
#define F4 "5B0000007300005A01821200022551250100010000000000B8D3474330373232000000000000000000" \
           "000000000212010000003D3335303130320000000000373035303400000000000000000000000000" \
           "000000000000000000000000003F001B3C000000303634383336323338353038A76C5D"
#define F5 "5B000000480000008510010133EFB8010000010003E8B2D37D9CC4900C77DC78F8676527D8AE12243C" \
           "FB64CC2FBA619AEFAD33ACCB3256F67BFF19DF33097841098665703FE36E5D"
/* F5's unencrypted twin (SmallChi JT809_0x1001PackageTest.cs): flag 0, key 9999. */
#define F5U "5B000000480000008510010133EFB8010000000000270F0133EFB832303138303932303132372E30" \
            "2E302E31000000000000000000000000000000000000000000000003296A915D"
#define F6 "5B000000540000000D10010000006601020F010000000000000000665F4D7A261313752221202726" \
           "251313131313752221243D233D233D221313131313131313131313131313131313131313131313345E" \
           "0191E45D"
#define F7 "5b000000d80000036d1200052df12c0000000100003b890000000068d8c78f6a674e82b6aef82e9187" \
           "9f8478be0e5f9087119a5ae396940d1cf3e8d127391563ebff619e887d75e63836951aa437fae48b3f" \
           "0ff1b174070fdd03eaac020cba76326371d7d7e0e657020c75e68d398c4a5fc71a89db6eb412bed061" \
           "b6a037a9be6ba38aa6c5cd3ff712a603e652439cb88f52ae9aa7c117f8bf1dc36de797e348d5e192db" \
           "fcd2c39f5b1f371f270199cb17ea1a3b153df8184de19173d0d96111b140a938c8755091a90ea02817" \
           "cc734b36e1e887be08b65d"
#define F7B "5b00000023000000011007052df12c0000000100003b890000000068be43c6a3d0275d"
#define F8 "5B0000007E00000002140001FEC19001020F0000000000000000005F616C491402000000564A433230" \
           "32305054303838A001000000005F5F7B3E000000005F5F7B3E000000005F5F7B3EB2E2413933323238" \
           "000000000000000000000000000200000000000000000000000000000000000008B3ACCAB1CDA3B3B5" \
           "F77E5D"
#define F9 "5b0000005c00000006930000000000000000000000000000000000689eadf19301000000340" \
           "2b2e24230313834340000000000000000000000000a0000001900000016c6bdcca8b2e9b8dac7ebc7" \
           "f3cac7b7f1cac7c8cbc0e017f05d"
#define F10 "5b0000008e00000010940000000000000000000000000000000000689eb0ff9403000000664a4332" \
            "3032355054303437000300000198abac778e00000198abe3660ebea941313233343500000000000000" \
            "000000000000013335303130303030000000000003e900000020b3b5c1beb3accbd9b1a8beafa3acb5" \
            "b1c7b0cbd9b6c8b3acb9fdcfded6c6d6b53d705d"

static const struct jt809_peer P11 = {.edition = JT809_ED_2011};
static const struct jt809_peer P19 = {.edition = JT809_ED_2019};
static const struct jt809_peer P5 = {JT809_ED_2011, 1, 30000000, 20000000, 20000000};
static const struct jt809_peer P6 = {JT809_ED_2019, 1, 20240604, 20240604, 20240604};
static const struct jt809_peer P7 = {JT809_ED_2019, 1, 56107078, 37382110, 50361430};

static struct jt809_framer fr;
static uint8_t wire[4096];
static size_t wire_len;
static struct jt809_msg msg;
static uint8_t out[JT809_WIRE_MAX];

static size_t hex_to(const char *hex, uint8_t *buf, size_t cap)
{
    int n = text_hex_decode(hex, strlen(hex), buf, cap);
    cr_assert_gt(n, 0, "bad hex fixture");
    return (size_t)n;
}

/* Frames <hex> through a fresh framer in one read and parses it for <peer>. Returns the
 * parse status; the framer must have produced exactly one good frame. */
static int decode_hex(const char *hex, const struct jt809_peer *peer)
{
    wire_len = hex_to(hex, wire, sizeof wire);
    jt809_framer_init(&fr);
    int st = 0;
    size_t used = jt809_framer_feed(&fr, wire, wire_len, &st);
    cr_assert_eq(st, 1, "framer status %d", st);
    cr_assert_eq(used, wire_len);
    size_t n;
    uint8_t *raw = jt809_framer_frame(&fr, &n);
    cr_assert_geq(wire_len, n + 2);
    /* The checked parse of a copy and the framer's trusted parse must agree. */
    static uint8_t copy[JT809_CONTENT_MAX];
    memcpy(copy, raw, n);
    static struct jt809_msg viaf;
    int rf = jt809_framer_parse(&fr, peer, &viaf);
    int rc = jt809_frame_parse(copy, n, peer, &msg);
    cr_assert_eq(rf, rc);
    cr_assert_eq(viaf.h.msg_sn, msg.h.msg_sn);
    cr_assert_eq(viaf.body.len, msg.body.len);
    if (msg.body.len)
        cr_assert_arr_eq(viaf.body.p, msg.body.p, msg.body.len, "same decrypted body");
    return rc;
}

/* Re-encodes the decoded message and asserts the bytes equal the original wire frame.
 * F3 and F7 carry a bare 0x5A that a conforming encoder escapes (5A 02): for them the
 * re-encode must equal the canonical escaping of the received content instead, and the
 * framer must have counted the lone escape byte. */
static void assert_reencode(const struct jt809_peer *peer)
{
    static uint8_t content[4096], canon[8192];
    int cn = jt809_unescape(wire + 1, wire_len - 2, content, sizeof content, 0);
    cr_assert_gt(cn, 0);
    int en = jt809_escape(content, (size_t)cn, canon + 1, sizeof canon - 2);
    cr_assert_gt(en, 0);
    canon[0] = 0x5B;
    canon[en + 1] = 0x5D;
    size_t canon_len = (size_t)en + 2;
    if (fr.st.lone_escape == 0) {
        cr_assert_eq(canon_len, wire_len);
        cr_assert_eq(memcmp(canon, wire, wire_len), 0);
    }
    int n = jt809_encode(&msg, peer, out, sizeof out);
    cr_assert_eq(n, (int)canon_len, "re-encode length %d != %zu", n, canon_len);
    cr_assert_eq(memcmp(out, canon, canon_len), 0, "re-encoded bytes differ");
}

static void assert_bytes(struct rw_bytes b, const void *exp, size_t n)
{
    cr_assert_eq(b.len, n, "view length %u != %zu", b.len, n);
    cr_assert_eq(memcmp(b.p, exp, n), 0, "view bytes differ");
}

/* Asserts that trimmed GBK bytes <b> equal the UTF-8 text <utf8>. */
static void assert_gbk(struct rw_bytes b, const char *utf8)
{
    uint8_t gbk[256];
    int n = text_utf8_to_gbk(utf8, strlen(utf8), gbk, sizeof gbk);
    cr_assert_geq(n, 0);
    struct rw_bytes t = rw_trim(b);
    cr_assert_eq(t.len, (uint32_t)n, "text length %u != %d", t.len, n);
    cr_assert_eq(memcmp(t.p, gbk, (size_t)n), 0, "text differs from %s", utf8);
}

static void assert_fill(struct rw_bytes b, uint8_t v, size_t n)
{
    cr_assert_eq(b.len, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(b.p[i], v, "byte %zu is %02x", i, b.p[i]);
}

static int64_t utc(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s)
{
    return rw_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* ---------------------------------------------------------------------------------------
 * CRC, keystream, escaping
 */

static uint16_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint16_t c = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        c ^= (uint16_t)(p[i] << 8);
        for (int k = 0; k < 8; k++)
            c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
    }
    return c;
}

Test(jt809_crc, check_value)
{
    cr_assert_eq(jt809_crc16((const uint8_t *)"123456789", 9), 0x29B1);
    cr_assert_eq(jt809_crc16(NULL, 0), 0xFFFF);
}

Test(jt809_crc, table_matches_bitwise)
{
    uint8_t b[300];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof b; n += 7)
        cr_assert_eq(jt809_crc16(b, n), crc_bitwise(b, n), "n=%zu", n);
    uint8_t one;
    for (int v = 0; v < 256; v++) {
        one = (uint8_t)v;
        cr_assert_eq(jt809_crc16(&one, 1), crc_bitwise(&one, 1));
    }
}

static void keystream(const struct jt809_peer *p, uint32_t key, const uint8_t exp[8])
{
    uint8_t z[8] = {0};
    jt809_crypt(p, key, z, 8);
    cr_assert_eq(memcmp(z, exp, 8), 0, "keystream %02x %02x %02x %02x", z[0], z[1], z[2],
                 z[3]);
    jt809_crypt(p, key, z, 8);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(z[i], 0, "crypt is not an involution");
}

Test(jt809_crypt, vectors)
{
    static const uint8_t k5[8] = {0xD2, 0x4E, 0x73, 0x7C, 0xA2, 0x3C, 0x46, 0xE4};
    static const uint8_t k7[8] = {0xA3, 0xA5, 0x0D, 0xC8, 0x85, 0x96, 0xC9, 0x17};
    keystream(&P5, 256178, k5);
    keystream(&P7, 15241, k7);
    /* key 0 behaves as key 1 */
    uint8_t a[4] = {0}, b[4] = {0};
    jt809_crypt(&P6, 0, a, 4);
    jt809_crypt(&P6, 1, b, 4);
    cr_assert_eq(memcmp(a, b, 4), 0);
    /* M1 == 0 is used as 1: no division by zero, k = IA1 * 0 + IC1 */
    struct jt809_peer z = {JT809_ED_2011, 1, 0, 5, 0x12345678};
    a[0] = 0;
    jt809_crypt(&z, 77, a, 1);
    cr_assert_eq(a[0], (uint8_t)(0x12345678u >> 20) ^ (uint8_t)(0));
}

Test(jt809_escape, vectors)
{
    static const uint8_t in[] = {0x5B, 0x5A, 0x5D, 0x5E, 0x00, 0x5C, 0xFF};
    static const uint8_t exp[] = {0x5A, 0x01, 0x5A, 0x02, 0x5E, 0x01, 0x5E, 0x02, 0x00, 0x5C, 0xFF};
    uint8_t e[32], u[32];
    int n = jt809_escape(in, sizeof in, e, sizeof e);
    cr_assert_eq(n, (int)sizeof exp);
    cr_assert_eq(memcmp(e, exp, sizeof exp), 0);
    cr_assert_eq(jt809_escape(in, sizeof in, e, 10), RW_E_NOSPACE);
    int m = jt809_unescape(e, (size_t)n, u, sizeof u, 1);
    cr_assert_eq(m, (int)sizeof in);
    cr_assert_eq(memcmp(u, in, sizeof in), 0);
}

Test(jt809_escape, errors)
{
    uint8_t u[8];
    static const uint8_t bad1[] = {0x00, 0x5A, 0x03};
    static const uint8_t bad2[] = {0x5E};
    static const uint8_t bad3[] = {0x01, 0x5B, 0x02};
    static const uint8_t bad4[] = {0x5E, 0x00};
    static const uint8_t ok[] = {0x5E, 0x01, 0x5A, 0x02};
    cr_assert_eq(jt809_unescape(bad1, 3, u, 8, 1), RW_E_ESCAPE);
    cr_assert_eq(jt809_unescape(bad2, 1, u, 8, 1), RW_E_ESCAPE);
    cr_assert_eq(jt809_unescape(bad3, 3, u, 8, 1), RW_E_FIELD);
    cr_assert_eq(jt809_unescape(bad3, 3, u, 8, 0), 3);
    cr_assert_eq(jt809_unescape(bad4, 2, u, 8, 1), RW_E_ESCAPE);
    cr_assert_eq(jt809_unescape(ok, 4, u, 1, 1), RW_E_NOSPACE);
    cr_assert_eq(jt809_unescape(ok, 4, u, 8, 1), 2);
    cr_assert_eq(u[0], 0x5D);
    cr_assert_eq(u[1], 0x5A);
}

Test(jt809_escape, lenient_lone_escape_bytes)
{
    uint8_t u[8];
    static const uint8_t in[] = {0x5A, 0x03, 0x5E, 0x5A, 0x01, 0x5E};
    cr_assert_eq(jt809_unescape(in, sizeof in, u, sizeof u, 0), 5);
    static const uint8_t exp[] = {0x5A, 0x03, 0x5E, 0x5B, 0x5E};
    cr_assert_eq(memcmp(u, exp, 5), 0);
}

/* ---------------------------------------------------------------------------------------
 * Real frames
 */

Test(jt809_frames, f1_login_2011)
{
    cr_assert_eq(decode_hex(F1, &P11), 0);
    cr_assert_eq(msg.h.msg_length, 72);
    cr_assert_eq(msg.h.msg_sn, 82);
    cr_assert_eq(msg.h.msg_id, JT809_MSG_1001_UP_CONNECT_REQ);
    cr_assert_eq(msg.h.gnss_center_id, 123456);
    cr_assert_eq(msg.h.version[0], 1);
    cr_assert_eq(msg.h.version[1], 0);
    cr_assert_eq(msg.h.version[2], 1);
    cr_assert_eq(msg.h.encrypt_flag, 0);
    cr_assert_eq(msg.h.encrypt_key, 0);
    cr_assert_eq(msg.h.edition, JT809_ED_2011);
    cr_assert_eq(msg.h.hdr_len, 22);
    cr_assert_eq(msg.u.connect_req.user_id, 123456);
    assert_bytes(msg.u.connect_req.password, "test809\0", 8);
    cr_assert_eq(msg.u.connect_req.down_link_ip.len, 32);
    assert_gbk(msg.u.connect_req.down_link_ip, "1.71.129.201");
    cr_assert_eq(msg.u.connect_req.down_link_port, 20110);
    cr_assert_eq(wire[wire_len - 3], 0xD9);
    cr_assert_eq(wire[wire_len - 2], 0xBA);
    assert_reencode(&P11);
}

Test(jt809_frames, f2_linktest_2011)
{
    cr_assert_eq(decode_hex(F2, &P11), 0);
    cr_assert_eq(msg.h.msg_length, 26);
    cr_assert_eq(msg.h.msg_sn, 9594);
    cr_assert_eq(msg.h.msg_id, JT809_MSG_1005_UP_LINKTEST_REQ);
    cr_assert_eq(msg.h.gnss_center_id, 123456);
    cr_assert_eq(msg.body.len, 0);
    cr_assert_eq(msg.sub_known, 1);
    assert_reencode(&P11);
}

Test(jt809_frames, f3_location_2011)
{
    cr_assert_eq(decode_hex(F3, &P11), 0);
    cr_assert_eq(msg.h.msg_length, 90);
    cr_assert_eq(msg.h.msg_sn, 280);
    cr_assert_eq(msg.h.msg_id, JT809_MSG_1200_UP_EXG_MSG);
    cr_assert_eq(msg.h.gnss_center_id, 123456);
    static const uint8_t plate[] = {0xC1, 0xC9, 'C', 'D', '7', '1', '6', '5'};
    assert_bytes(rw_trim(msg.env.vehicle_no), plate, sizeof plate);
    cr_assert_eq(msg.env.vehicle_no.len, 21);
    assert_gbk(msg.env.vehicle_no, "辽CD7165");
    cr_assert_eq(msg.env.vehicle_color, 2);
    cr_assert_eq(msg.env.data_type, JT809_SUB_1202_REAL_LOCATION);
    cr_assert_eq(msg.env.data_length, 36);
    const struct jt809_gnss11 *g = &msg.u.loc.v11;
    cr_assert_eq(msg.u.loc.edition, JT809_ED_2011);
    cr_assert_eq(g->encrypt, 0);
    cr_assert_eq(g->day, 9);
    cr_assert_eq(g->month, 7);
    cr_assert_eq(g->year, 2019);
    cr_assert_eq(g->hour, 18);
    cr_assert_eq(g->minute, 52);
    cr_assert_eq(g->second, 35);
    cr_assert_eq(g->time, utc(2019, 7, 9, 10, 52, 35));
    cr_assert_eq(g->lon, 121041118);
    cr_assert_eq(g->lat, 40816623);
    cr_assert_eq(g->vec1, 0);
    cr_assert_eq(g->vec2, 0);
    cr_assert_eq(g->vec3, 99561);
    cr_assert_eq(g->direction, 268);
    cr_assert_eq(g->altitude, 14);
    cr_assert_eq(g->state, 0x000C0003);
    cr_assert_eq(g->alarm, 0);
    assert_reencode(&P11);
}

Test(jt809_frames, f4_register_2011_escaped)
{
    cr_assert_eq(decode_hex(F4, &P11), 0);
    cr_assert_eq(wire_len, 116);
    cr_assert_eq(msg.h.msg_length, 115);
    cr_assert_eq(msg.h.msg_sn, 23426);
    cr_assert_eq(msg.h.gnss_center_id, 36000037);
    assert_gbk(msg.env.vehicle_no, "赣GC0722");
    cr_assert_eq(msg.env.vehicle_color, 2);
    cr_assert_eq(msg.env.data_type, JT809_SUB_1201_REGISTER);
    cr_assert_eq(msg.env.data_length, 61);
    const struct jt809_register *r = &msg.u.reg;
    cr_assert_eq(r->layout, 61);
    assert_bytes(r->platform_id, "350102\0\0\0\0\0", 11);
    assert_bytes(r->producer_id, "70504\0\0\0\0\0\0", 11);
    assert_fill(r->model, 0, 20);
    assert_bytes(r->terminal_id, "\x3F\x00\x1B\x3C\x00\x00\x00", 7);
    assert_bytes(r->sim, "064836238508", 12);
    cr_assert_eq(r->imei.len, 0);
    assert_reencode(&P11);
}

Test(jt809_frames, f5_login_encrypted_2011)
{
    cr_assert_eq(decode_hex(F5, &P5), 0);
    cr_assert_eq(msg.h.msg_sn, 133);
    cr_assert_eq(msg.h.gnss_center_id, 20180920);
    cr_assert_eq(msg.h.version[0], 1);
    cr_assert_eq(msg.h.version[1], 0);
    cr_assert_eq(msg.h.version[2], 0);
    cr_assert_eq(msg.h.encrypt_flag, 1);
    cr_assert_eq(msg.h.encrypt_key, 256178);
    cr_assert_eq(msg.u.connect_req.user_id, 20180920);
    assert_bytes(msg.u.connect_req.password, "20180920", 8);
    assert_gbk(msg.u.connect_req.down_link_ip, "127.0.0.1");
    cr_assert_eq(msg.u.connect_req.down_link_port, 809);
    assert_reencode(&P5);
}

Test(jt809_frames, f5_without_keys)
{
    cr_assert_eq(decode_hex(F5, &P11), RW_E_ENCRYPTED);
    cr_assert_eq(msg.h.msg_id, 0x1001);
    cr_assert_eq(msg.h.encrypt_key, 256178);
}

Test(jt809_frames, f5_plain_twin)
{
    cr_assert_eq(decode_hex(F5U, &P11), 0);
    cr_assert_eq(msg.h.encrypt_flag, 0);
    cr_assert_eq(msg.h.encrypt_key, 9999);
    cr_assert_eq(msg.u.connect_req.user_id, 20180920);
    assert_bytes(msg.u.connect_req.password, "20180920", 8);
    assert_gbk(msg.u.connect_req.down_link_ip, "127.0.0.1");
    cr_assert_eq(msg.u.connect_req.down_link_port, 809);
    assert_reencode(&P11);
    /* The same body encrypted with F5's key and peer gives F5 exactly. */
    msg.h.encrypt_flag = 1;
    msg.h.encrypt_key = 256178;
    uint8_t f5[256];
    size_t f5_len = hex_to(F5, f5, sizeof f5);
    int n = jt809_encode(&msg, &P5, out, sizeof out);
    cr_assert_eq(n, (int)f5_len);
    cr_assert_eq(memcmp(out, f5, f5_len), 0);
}

Test(jt809_frames, f6_login_2019_encrypted_escaped)
{
    cr_assert_eq(decode_hex(F6, &P6), 0);
    cr_assert_eq(wire_len, 85);
    cr_assert_eq(msg.h.msg_length, 84);
    cr_assert_eq(msg.h.msg_sn, 13);
    cr_assert_eq(msg.h.gnss_center_id, 102);
    cr_assert_eq(msg.h.version[0], 1);
    cr_assert_eq(msg.h.version[1], 2);
    cr_assert_eq(msg.h.version[2], 15);
    cr_assert_eq(msg.h.encrypt_flag, 1);
    cr_assert_eq(msg.h.encrypt_key, 0);
    cr_assert_eq(msg.h.time, 0x665F4D7A);
    cr_assert_eq((int64_t)msg.h.time, utc(2024, 6, 4, 17, 23, 6));
    cr_assert_eq(msg.h.edition, JT809_ED_2019);
    cr_assert_eq(msg.body.len, 50);
    cr_assert_eq(msg.u.connect_req.user_id, 102);
    assert_bytes(msg.u.connect_req.password, "123456\0\0", 8);
    cr_assert_eq(msg.u.connect_req.gnss_center_id, 102);
    assert_gbk(msg.u.connect_req.down_link_ip, "127.0.0.1");
    cr_assert_eq(msg.u.connect_req.down_link_port, 10062);
    assert_reencode(&P6);
}

Test(jt809_frames, f7_location_2019_encrypted)
{
    cr_assert_eq(decode_hex(F7, &P7), 0);
    cr_assert_eq(msg.h.msg_length, 216);
    cr_assert_eq(msg.h.msg_sn, 877);
    cr_assert_eq(msg.h.gnss_center_id, 86896940);
    cr_assert_eq(msg.h.version[0] | msg.h.version[1] | msg.h.version[2], 0);
    cr_assert_eq(msg.h.encrypt_flag, 1);
    cr_assert_eq(msg.h.encrypt_key, 15241);
    cr_assert_eq((int64_t)msg.h.time, utc(2025, 9, 28, 5, 28, 47));
    assert_gbk(msg.env.vehicle_no, "陕CJ3819");
    cr_assert_eq(msg.env.vehicle_color, 2);
    cr_assert_eq(msg.env.data_type, 0x1202);
    cr_assert_eq(msg.env.data_length, 154);
    const struct jt809_gnss19 *g = &msg.u.loc.v19;
    cr_assert_eq(msg.u.loc.edition, JT809_ED_2019);
    cr_assert_eq(g->encrypt, 0);
    cr_assert_eq(g->gnss_data.len, 104);
    cr_assert_eq(g->loc.alarm, 0);
    cr_assert_eq(g->loc.status, 0x004C0003);
    cr_assert_eq(g->loc.lat, 34479181);
    cr_assert_eq(g->loc.lon, 108630994);
    cr_assert_eq(g->loc.altitude_m, 501);
    cr_assert_eq(g->loc.speed_dkmh, 830);
    cr_assert_eq(g->loc.direction, 56);
    static const uint8_t bcd[6] = {0x25, 0x09, 0x28, 0x13, 0x28, 0x44};
    cr_assert_eq(memcmp(g->loc.time_bcd, bcd, 6), 0);
    cr_assert_eq(g->loc.time, utc(2025, 9, 28, 5, 28, 44));
    cr_assert(g->loc.present & JT808_X_MILEAGE);
    cr_assert_eq(g->loc.mileage_hm, 0xFFFFFFFFu);
    cr_assert(g->loc.present & JT808_X_SATS);
    cr_assert_eq(g->loc.sats, 20);
    assert_bytes(g->platform_id[0], "0\0\0\0\0\0\0\0\0\0\0", 11);
    assert_fill(g->platform_id[1], 0x01, 11);
    assert_fill(g->platform_id[2], 0x00, 11);
    cr_assert_eq(g->alarm[0], 0);
    cr_assert_eq(g->alarm[1], 0);
    cr_assert_eq(g->alarm[2], 0);
    assert_reencode(&P7);
}

Test(jt809_frames, f7b_disconnect_inform_2019)
{
    cr_assert_eq(decode_hex(F7B, &P7), 0);
    cr_assert_eq(msg.h.msg_id, JT809_MSG_1007_UP_DISCONNECT_INFORM);
    cr_assert_eq(msg.h.msg_sn, 1);
    cr_assert_eq(msg.h.encrypt_key, 15241);
    cr_assert_eq(msg.body.len, 1);
    cr_assert_eq(msg.u.code, 0);
    assert_reencode(&P7);
}

Test(jt809_frames, f8_alarm_2019)
{
    cr_assert_eq(decode_hex(F8, &P19), 0);
    cr_assert_eq(msg.h.msg_length, 126);
    cr_assert_eq(msg.h.msg_sn, 2);
    cr_assert_eq(msg.h.gnss_center_id, 33472912);
    cr_assert_eq(msg.h.version[2], 15);
    cr_assert_eq((int64_t)msg.h.time, utc(2020, 9, 16, 1, 37, 13));
    cr_assert_eq(msg.env.has_vehicle, 0);
    cr_assert_eq(msg.env.data_type, JT809_SUB_1402_ADPT_INFO);
    cr_assert_eq(msg.env.data_length, 86);
    const struct jt809_warn *w = &msg.u.warn;
    cr_assert_eq(w->layout, JT809_WARN_2019);
    assert_bytes(w->source_platform_id, "JC2020PT088", 11);
    cr_assert_eq(w->warn_type, 0xA001);
    cr_assert_eq(w->warn_time, 0x5F5F7B3E);
    cr_assert_eq(w->start_time, 0x5F5F7B3E);
    cr_assert_eq(w->end_time, 0x5F5F7B3E);
    cr_assert_eq((int64_t)w->warn_time, utc(2020, 9, 14, 14, 16, 30));
    assert_gbk(w->vehicle_no, "测A93228");
    cr_assert_eq(w->vehicle_color, 2);
    assert_fill(w->dest_platform_id, 0, 11);
    cr_assert_eq(w->drv_line_id, 0);
    cr_assert_eq(w->info_content.len, 8);
    assert_gbk(w->info_content, "超时停车");
    cr_assert_str_eq(jt809_warn_type_name(w->warn_type), "parking_overtime");
    assert_reencode(&P19);
}

Test(jt809_frames, f9_post_query_2019)
{
    cr_assert_eq(decode_hex(F9, &P19), 0);
    cr_assert_eq(msg.h.msg_length, 92);
    cr_assert_eq(msg.h.msg_sn, 6);
    cr_assert_eq(msg.h.gnss_center_id, 0);
    cr_assert_eq(msg.h.encrypt_flag, 0);
    cr_assert_eq((int64_t)msg.h.time, utc(2025, 8, 15, 3, 48, 1));
    cr_assert_eq(msg.env.data_type, JT809_SUB_9301_POST_QUERY_REQ);
    cr_assert_eq(msg.env.data_length, 52);
    const struct jt809_post *p = &msg.u.post;
    cr_assert_eq(p->layout, JT809_POST_2019);
    cr_assert_eq(p->object_type, 2);
    cr_assert_eq(p->object_id.len, 20);
    assert_gbk(p->object_id, "测B01844");
    cr_assert_eq(p->answer_time, 10);
    cr_assert_eq(p->info_id, 25);
    cr_assert_eq(p->info_content.len, 22);
    assert_gbk(p->info_content, "平台查岗请求是否是人类");
    assert_reencode(&P19);
}

Test(jt809_frames, f10_exg_inform_2019_two_ms_times)
{
    cr_assert_eq(decode_hex(F10, &P19), 0);
    cr_assert_eq((int64_t)msg.h.time, utc(2025, 8, 15, 4, 1, 3));
    cr_assert_eq(msg.env.data_type, JT809_SUB_9403_EXG_INFORM);
    cr_assert_eq(msg.env.data_length, 102);
    const struct jt809_warn *w = &msg.u.warn;
    cr_assert_eq(w->layout, JT809_WARN_2019_2T);
    assert_bytes(w->source_platform_id, "JC2025PT047", 11);
    cr_assert_eq(w->warn_type, 0x0003);
    cr_assert_eq(w->warn_time, 1755226863502ull);
    cr_assert_eq(w->end_time, 1755230463502ull);
    cr_assert_eq(w->start_time, 0);
    cr_assert_eq((int64_t)jt809_time_s(w->warn_time), utc(2025, 8, 15, 3, 1, 3));
    cr_assert_eq((int64_t)jt809_time_s(w->end_time), utc(2025, 8, 15, 4, 1, 3));
    assert_gbk(w->vehicle_no, "京A12345");
    cr_assert_eq(w->vehicle_color, 1);
    assert_bytes(w->dest_platform_id, "35010000\0\0\0", 11);
    cr_assert_eq(w->drv_line_id, 1001);
    cr_assert_eq(w->info_content.len, 32);
    assert_gbk(w->info_content, "车辆超速报警，当前速度超过限制值");
    assert_reencode(&P19);
}

/* Every frame decodes with JT809_ED_AUTO to the right edition. */
Test(jt809_frames, auto_edition)
{
    static const struct {
        const char *hex;
        struct jt809_peer peer;
        uint16_t ed;
    } t[] = {
        {F1, {0}, 2011}, {F2, {0}, 2011}, {F3, {0}, 2011},
        {F4, {0}, 2011}, {F5U, {0}, 2011},
        {F5, {0, 1, 30000000, 20000000, 20000000}, 2011},
        {F6, {0, 1, 20240604, 20240604, 20240604}, 2019},
        {F7, {0, 1, 56107078, 37382110, 50361430}, 2019},
        {F7B, {0, 1, 56107078, 37382110, 50361430}, 2019},
        {F8, {0}, 2019}, {F9, {0}, 2019}, {F10, {0}, 2019},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        cr_assert_eq(decode_hex(t[i].hex, &t[i].peer), 0, "frame %zu", i);
        cr_assert_eq(msg.h.edition, t[i].ed, "frame %zu edition %u", i, msg.h.edition);
    }
}

/* ---------------------------------------------------------------------------------------
 * Framer
 */

static const char *const all_frames[] = {F1, F2, F3, F4, F5, F5U, F6, F7, F7B, F8, F9, F10};
#define N_FRAMES (sizeof all_frames / sizeof all_frames[0])

/* Feeds <n> bytes; collects good frames' contents (concatenated) and error codes. */
struct sink {
    int frames;
    int errs[16];
    int n_errs;
    uint8_t content[8192];
    size_t content_len;
};

static void feed_all(struct jt809_framer *f, const uint8_t *p, size_t n, struct sink *s)
{
    while (n) {
        int st;
        size_t used = jt809_framer_feed(f, p, n, &st);
        cr_assert_leq(used, n);
        cr_assert(used > 0);
        p += used;
        n -= used;
        if (st == 1) {
            size_t len;
            uint8_t *raw = jt809_framer_frame(f, &len);
            cr_assert_leq(s->content_len + len, sizeof s->content);
            memcpy(s->content + s->content_len, raw, len);
            s->content_len += len;
            s->frames++;
        } else if (st < 0 && s->n_errs < 16) {
            s->errs[s->n_errs++] = st;
        }
    }
}

Test(jt809_framer, split_at_every_offset)
{
    for (size_t k = 0; k < N_FRAMES; k++) {
        uint8_t w[1024];
        size_t n = hex_to(all_frames[k], w, sizeof w);
        uint8_t exp[1024];
        int en = jt809_unescape(w + 1, n - 2, exp, sizeof exp, 0);
        cr_assert_gt(en, 0);
        for (size_t cut = 0; cut <= n; cut++) {
            struct sink s = {0};
            jt809_framer_init(&fr);
            feed_all(&fr, w, cut, &s);
            feed_all(&fr, w + cut, n - cut, &s);
            cr_assert_eq(s.frames, 1, "frame %zu cut %zu", k, cut);
            cr_assert_eq(s.n_errs, 0);
            cr_assert_eq(s.content_len, (size_t)en);
            cr_assert_eq(memcmp(s.content, exp, (size_t)en), 0);
        }
    }
}

Test(jt809_framer, byte_by_byte_many_frames_with_garbage)
{
    static uint8_t stream[16384];
    size_t n = 0;
    for (size_t k = 0; k < N_FRAMES; k++) {
        stream[n++] = 0x00; /* garbage between frames, incl. a stray tail flag */
        stream[n++] = 0x5D;
        stream[n++] = 0x7E;
        n += hex_to(all_frames[k], stream + n, sizeof stream - n);
    }
    struct sink s = {0};
    jt809_framer_init(&fr);
    for (size_t i = 0; i < n; i++)
        feed_all(&fr, stream + i, 1, &s);
    cr_assert_eq(s.frames, (int)N_FRAMES);
    cr_assert_eq(s.n_errs, 0);
    cr_assert_eq(fr.st.garbage_bytes, 3 * N_FRAMES);
    cr_assert_eq(fr.st.frames, N_FRAMES);
    /* The same stream in one read. */
    struct sink s2 = {0};
    jt809_framer_init(&fr);
    feed_all(&fr, stream, n, &s2);
    cr_assert_eq(s2.frames, (int)N_FRAMES);
    cr_assert_eq(s2.content_len, s.content_len);
    cr_assert_eq(memcmp(s2.content, s.content, s.content_len), 0);
}

/* Feeds <bad> then F2 (in a framer in <strict> mode) and asserts one error <err>
 * followed by one good frame. */
static void bad_then_good(const uint8_t *bad, size_t n, int err, int strict)
{
    static uint8_t stream[JT809_RAW_MAX * 2 + 64];
    cr_assert_leq(n, sizeof stream - 64);
    memcpy(stream, bad, n);
    size_t m = n + hex_to(F2, stream + n, 64);
    struct sink s = {0};
    jt809_framer_init(&fr);
    fr.strict = (uint8_t)strict;
    feed_all(&fr, stream, m, &s);
    cr_assert_eq(s.n_errs, 1, "errors: %d", s.n_errs);
    cr_assert_eq(s.errs[0], err, "got %d want %d", s.errs[0], err);
    cr_assert_eq(s.frames, 1);
    cr_assert_eq(s.content_len, 24);
    cr_assert_eq(s.content[9], 0x05); /* MSG_ID 0x1005 */
}

Test(jt809_framer, errors_and_recovery)
{
    uint8_t f[256];
    size_t n = hex_to(F1, f, sizeof f);
    for (int strict = 0; strict < 2; strict++) {
        f[n - 2] ^= 0x01; /* CRC */
        bad_then_good(f, n, RW_E_CHECK, strict);
        cr_assert_eq(fr.st.bad_crc, 1);
        f[n - 2] ^= 0x01;

        f[4] = 0x49; /* MSG_LENGTH 73 instead of 72 */
        bad_then_good(f, n, RW_E_LENGTH, strict);
        cr_assert_eq(fr.st.bad_length, 1);
        f[4] = 0x48;

        uint8_t shortf[] = {0x5B, 0x00, 0x00, 0x00, 0x05, 0x5D};
        bad_then_good(shortf, sizeof shortf, RW_E_TRUNCATED, strict);

        /* A frame that loses its tail is cut by the next head flag. */
        bad_then_good(f, n - 1, RW_E_TRUNCATED, strict);
        cr_assert_eq(fr.st.too_short, 1);
    }
    /* Bad escapes: errors in strict mode; in lenient mode the bytes are kept and the
     * frame then fails its length check. */
    uint8_t esc[] = {0x5B, 0x00, 0x00, 0x5A, 0x03, 0x00, 0x5D};
    bad_then_good(esc, sizeof esc, RW_E_ESCAPE, 1);
    cr_assert_eq(fr.st.bad_escape, 1);
    bad_then_good(esc, sizeof esc, RW_E_TRUNCATED, 0);
    cr_assert_eq(fr.st.lone_escape, 1);
    uint8_t esc_end[] = {0x5B, 0x00, 0x00, 0x5E, 0x5D};
    bad_then_good(esc_end, sizeof esc_end, RW_E_ESCAPE, 1);

    /* Over-long: more content than JT809_CONTENT_MAX, then a tail flag. */
    static uint8_t big[JT809_RAW_MAX + 16];
    memset(big, 0x11, sizeof big);
    big[0] = 0x5B;
    big[sizeof big - 1] = 0x5D;
    bad_then_good(big, sizeof big, RW_E_TOOLONG, 0);
    cr_assert_eq(fr.st.too_long, 1);
    /* Over-long without a tail: the next head flag reports it. */
    bad_then_good(big, sizeof big - 1, RW_E_TOOLONG, 0);
}

Test(jt809_framer, strict_mode_rejects_f3_lone_5a)
{
    uint8_t w[256];
    size_t n = hex_to(F3, w, sizeof w);
    struct sink s = {0};
    jt809_framer_init(&fr);
    fr.strict = 1;
    feed_all(&fr, w, n, &s);
    cr_assert_eq(s.frames, 0);
    cr_assert_eq(s.n_errs, 1);
    cr_assert_eq(s.errs[0], RW_E_ESCAPE);
    struct sink s2 = {0};
    jt809_framer_init(&fr);
    feed_all(&fr, w, n, &s2);
    cr_assert_eq(s2.frames, 1);
    cr_assert_eq(fr.st.lone_escape, 1);
}

Test(jt809_framer, f7_raw_head_flag_inside)
{
    uint8_t w[512];
    size_t n = hex_to(F7, w, sizeof w);
    cr_assert_eq(w[168], 0x5B);
    struct sink s = {0};
    jt809_framer_init(&fr);
    feed_all(&fr, w, n, &s);
    cr_assert_eq(s.frames, 1);
    cr_assert_eq(fr.st.raw_flag, 1);
    cr_assert_eq(fr.st.lone_escape, 1);
    struct sink s2 = {0};
    jt809_framer_init(&fr);
    fr.strict = 1;
    feed_all(&fr, w, n, &s2);
    cr_assert_eq(s2.frames, 0);
    cr_assert_geq(s2.n_errs, 1);
}

Test(jt809_framer, empty_and_back_to_back_flags)
{
    uint8_t s1[] = {0x5B, 0x5D, 0x5B, 0x5B, 0x5D, 0x5D};
    struct sink s = {0};
    jt809_framer_init(&fr);
    feed_all(&fr, s1, sizeof s1, &s);
    cr_assert_eq(s.frames, 0);
    cr_assert_eq(s.n_errs, 0);
    cr_assert_eq(fr.st.empty, 2);
    cr_assert_eq(fr.st.garbage_bytes, 1);
    /* Two frames with no byte between them. */
    uint8_t two[256];
    size_t n = hex_to(F2, two, sizeof two);
    n += hex_to(F2, two + n, sizeof two - n);
    struct sink s2 = {0};
    feed_all(&fr, two, n, &s2);
    cr_assert_eq(s2.frames, 2);
    cr_assert_eq(s2.n_errs, 0);
}

/* ---------------------------------------------------------------------------------------
 * Disputed layouts and hand-built bodies
 */

static uint8_t body_buf[2048];

/* Decodes <hex> as the body of <msg_id> in <ed>, returns the status; on success asserts
 * that the body re-encodes byte-identically. */
static int body_roundtrip(uint16_t msg_id, uint16_t ed, const char *hex)
{
    size_t n = hex_to(hex, body_buf, sizeof body_buf);
    memset(&msg, 0, sizeof msg);
    msg.h.msg_id = msg_id;
    msg.h.edition = ed;
    msg.body = rw_bytes_of(body_buf, n);
    int rc = jt809_body_decode(&msg);
    if (rc == 0) {
        uint8_t enc[2048];
        int m = jt809_body_encode(&msg, enc, sizeof enc);
        cr_assert_eq(m, (int)n, "re-encoded %d bytes, want %zu", m, n);
        cr_assert_eq(memcmp(enc, body_buf, n), 0, "re-encoded body differs");
    }
    return rc;
}

#define PLATE "BEA941313233343500000000000000000000000000" /* 京A12345 + NULs, 21 */

Test(jt809_layouts, ack_1205_both_orders)
{
    /* T5: envelope with DATA_LENGTH 6 */
    cr_assert_eq(body_roundtrip(0x1200, 2019, PLATE "01" "1205" "00000006" "9205" "0000002A"), 0);
    cr_assert_eq(msg.env.layout, JT809_ENV_STD);
    cr_assert_eq(msg.u.ack.source_data_type, 0x9205);
    cr_assert_eq(msg.u.ack.source_msg_sn, 42);
    cr_assert_eq(msg.u.ack.trailing_zero, 0);
    /* T5 with the trailing zero inside DATA */
    cr_assert_eq(body_roundtrip(0x1200, 2019,
                                PLATE "01" "1206" "0000000A" "9206" "0000002A" "00000000"), 0);
    cr_assert_eq(msg.u.ack.trailing_zero, 1);
    /* T2: no DATA_LENGTH before the source fields */
    cr_assert_eq(body_roundtrip(0x1200, 2019, PLATE "01" "1205" "9205" "00000007" "00000000"), 0);
    cr_assert_eq(msg.env.layout, JT809_ENV_T2_ACK);
    cr_assert_eq(msg.u.ack.source_data_type, 0x9205);
    cr_assert_eq(msg.u.ack.source_msg_sn, 7);
    /* 2011: empty */
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1205" "00000000"), 0);
    cr_assert_eq(msg.u.ack.has_src, 0);
}

Test(jt809_layouts, register_ack_9201_with_and_without_envelope)
{
    cr_assert_eq(body_roundtrip(0x9200, 2019, "9201" "00000007" "1201" "00000009" "01"), 0);
    cr_assert_eq(msg.env.layout, JT809_ENV_BARE);
    cr_assert_eq(msg.env.has_vehicle, 0);
    cr_assert_eq(msg.u.ack.source_data_type, 0x1201);
    cr_assert_eq(msg.u.ack.source_msg_sn, 9);
    cr_assert_eq(msg.u.ack.result, 1);
    cr_assert_eq(body_roundtrip(0x9200, 2019, PLATE "02" "9201" "00000007" "1201" "00000009" "03"),
                 0);
    cr_assert_eq(msg.env.layout, JT809_ENV_STD);
    cr_assert_eq(msg.env.vehicle_color, 2);
    cr_assert_eq(msg.u.ack.result, 3);
}

Test(jt809_layouts, register_1201_49_and_110)
{
    char hex[600];
    /* 49: platform 11, producer 11, model 8, terminal 7, sim 12 */
    snprintf(hex, sizeof hex, "%s01120100000031%s%s%s%s%s", PLATE,
             "3335303130320000000000", "3730353034000000000000", "4D4F44454C2D3031",
             "54455231323334", "303132333435363738393031");
    cr_assert_eq(body_roundtrip(0x1200, 2011, hex), 0);
    cr_assert_eq(msg.u.reg.layout, 49);
    assert_bytes(msg.u.reg.model, "MODEL-01", 8);
    assert_bytes(msg.u.reg.terminal_id, "TER1234", 7);
    /* 110 */
    char data[221] = {0};
    for (int i = 0; i < 220; i++)
        data[i] = "0123456789ABCDEF"[(i * 7) & 15];
    snprintf(hex, sizeof hex, "%s9112010000006E%s", PLATE, data);
    cr_assert_eq(body_roundtrip(0x1200, 2019, hex), 0);
    cr_assert_eq(msg.u.reg.layout, 110);
    cr_assert_eq(msg.env.vehicle_color, 0x91);
    cr_assert_eq(msg.u.reg.imei.len, 15);
    cr_assert_eq(msg.u.reg.sim.len, 13);
    /* 50 is no known layout */
    snprintf(hex, sizeof hex, "%s01120100000032%.100s", PLATE, data);
    cr_assert_eq(body_roundtrip(0x1200, 2011, hex), RW_E_LENGTH);
}

Test(jt809_layouts, urge_ack_1401_5_and_11)
{
    cr_assert_eq(body_roundtrip(0x1400, 2019, "1401" "0000000B" "0D6F196E" "1402" "00000004" "01"),
                 0);
    cr_assert_eq(msg.u.warn.layout, JT809_WARN_1401_11);
    cr_assert_eq(msg.u.warn.supervision_id, 0x0D6F196E);
    cr_assert_eq(msg.u.warn.source_data_type, 0x1402);
    cr_assert_eq(msg.u.warn.source_msg_sn, 4);
    cr_assert_eq(msg.u.warn.result, 1);
    cr_assert_eq(body_roundtrip(0x1400, 2019, "1401" "00000005" "0D6F196E" "02"), 0);
    cr_assert_eq(msg.u.warn.layout, JT809_WARN_2011);
    cr_assert_eq(msg.u.warn.result, 2);
    cr_assert_eq(body_roundtrip(0x1400, 2011, PLATE "01" "1401" "00000005" "00000063" "00"), 0);
    cr_assert_eq(msg.u.warn.supervision_id, 99);
}

Test(jt809_layouts, urge_9401_email_30_32_and_t4)
{
    char hex[800];
    const char *head = "01" "0001" "000000005F5F7B3E" "00000011" "000000005F5F8000" "00";
    char sup[33] = "", tel[41] = "", mail[65] = "";
    memset(sup, '4', 32);
    memset(tel, '3', 40);
    memset(mail, '6', 64);
    snprintf(hex, sizeof hex, "%s0194010000005A%s%s%s%.60s", PLATE, head, sup, tel, mail);
    cr_assert_eq(body_roundtrip(0x9400, 2011, hex), 0);
    cr_assert_eq(msg.u.warn.layout, JT809_WARN_9401_E30);
    cr_assert_eq(msg.u.warn.supervision_id, 17);
    cr_assert_eq(msg.u.warn.supervision_email.len, 30);
    snprintf(hex, sizeof hex, "9401" "0000005C" "%s%s%s%s", head, sup, tel, mail);
    cr_assert_eq(body_roundtrip(0x9400, 2019, hex), 0);
    cr_assert_eq(msg.u.warn.layout, JT809_WARN_9401_E32);
    cr_assert_eq(msg.u.warn.supervision_email.len, 32);
    snprintf(hex, sizeof hex, "9401" "00000066" "4A43323032305054303838" "000000005F5F7B3E"
             "1402" "00000005" "000000005F5F8000" "01" "%s%s%s", sup, tel, mail);
    cr_assert_eq(body_roundtrip(0x9400, 2019, hex), 0);
    cr_assert_eq(msg.u.warn.layout, JT809_WARN_9401_T4);
    cr_assert_eq(msg.u.warn.source_msg_sn, 5);
    cr_assert_eq(msg.u.warn.supervision_level, 1);
}

Test(jt809_layouts, post_query_2011_plain_and_object)
{
    cr_assert_eq(body_roundtrip(0x9300, 2011, "9301" "0000000B" "00000007" "00000003" "414243"),
                 0);
    cr_assert_eq(msg.u.post.layout, JT809_POST_PLAIN);
    cr_assert_eq(msg.u.post.info_id, 7);
    assert_bytes(msg.u.post.info_content, "ABC", 3);
    cr_assert_eq(body_roundtrip(0x9300, 2011,
                                "9301" "00000018" "01" "313233343536373839303132" "00000008"
                                "00000003" "414243"), 0);
    cr_assert_eq(msg.u.post.layout, JT809_POST_OBJ12);
    cr_assert_eq(msg.u.post.object_type, 1);
    cr_assert_eq(msg.u.post.info_id, 8);
    /* 1301 answer, 2011 deployed variant */
    cr_assert_eq(body_roundtrip(0x1300, 2011,
                                "1301" "00000017" "02" "313233343536373839303132" "00000008"
                                "00000002" "4F4B"), 0);
    cr_assert_eq(msg.u.post.layout, JT809_POST_OBJ12);
    /* 1302 both editions */
    cr_assert_eq(body_roundtrip(0x1300, 2011, "1302" "00000004" "00000008"), 0);
    cr_assert_eq(msg.u.ack.info_id, 8);
    cr_assert_eq(body_roundtrip(0x1300, 2019, "1302" "00000006" "9302" "00000009"), 0);
    cr_assert_eq(msg.u.ack.source_msg_sn, 9);
    /* INFO_LENGTH that fits no layout */
    cr_assert_eq(body_roundtrip(0x9300, 2011, "9301" "0000000B" "00000007" "00000004" "414243"),
                 RW_E_LENGTH);
}

Test(jt809_layouts, post_ack_1301_2019)
{
    char hex[400];
    snprintf(hex, sizeof hex, "1301" "00000045" "02" "%s" "%s" "%s" "9301" "00000006" "00000002"
             "4F4B", "D5C5C8FD000000000000000000000000",
             "3133383030303030303030000000000000000000",
             "B2E2423031383434000000000000000000000000");
    cr_assert_eq(body_roundtrip(0x1300, 2019, hex), 0);
    cr_assert_eq(msg.u.post.layout, JT809_POST_2019);
    assert_gbk(msg.u.post.responder, "张三");
    cr_assert_eq(msg.u.post.source_data_type, 0x9301);
    cr_assert_eq(msg.u.post.source_msg_sn, 6);
    assert_bytes(msg.u.post.info_content, "OK", 2);
}

Test(jt809_layouts, alarm_2011_and_others)
{
    cr_assert_eq(body_roundtrip(0x1400, 2011, PLATE "02" "1402" "00000013" "01" "0002"
                                "000000005F5F7B3E" "00000005" "00000000"), 0);
    cr_assert_eq(msg.u.warn.layout, JT809_WARN_2011);
    cr_assert_eq(msg.u.warn.warn_src, 1);
    cr_assert_eq(msg.u.warn.warn_type, 2);
    cr_assert_eq(msg.u.warn.info_id, 5);
    cr_assert_eq(body_roundtrip(0x9400, 2011, PLATE "02" "9402" "00000011" "03" "000A"
                                "000000005F5F7B3E" "00000002" "4142"), 0);
    cr_assert_eq(msg.u.warn.warn_src, 3);
    assert_bytes(msg.u.warn.info_content, "AB", 2);
    cr_assert_eq(body_roundtrip(0x1400, 2011, PLATE "02" "1403" "00000005" "00000005" "01"), 0);
    cr_assert_eq(msg.u.warn.info_id, 5);
    cr_assert_eq(msg.u.warn.result, 1);
    cr_assert_eq(body_roundtrip(0x1400, 2019, "1412" "00000007" "9401" "00000003" "02"), 0);
    cr_assert_eq(msg.u.warn.source_msg_sn, 3);
    cr_assert_eq(msg.u.warn.result, 2);
}

Test(jt809_layouts, exg_misc)
{
    cr_assert_eq(body_roundtrip(0x9200, 2011, PLATE "01" "9205" "00000001" "02"), 0);
    cr_assert_eq(msg.u.code, 2);
    cr_assert_eq(body_roundtrip(0x9200, 2011, PLATE "01" "9209" "00000001" "04"), 0);
    cr_assert_eq(msg.u.ack.result, 4);
    cr_assert_eq(body_roundtrip(0x9200, 2019, PLATE "01" "9207" "00000007" "1207" "00000010" "00"),
                 0);
    cr_assert_eq(msg.u.ack.source_data_type, 0x1207);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1209" "00000010" "000000005F5F7B3E"
                                "000000005F5F8000"), 0);
    cr_assert_eq(msg.u.period.end_time, 0x5F5F8000);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "120B" "00000007" "00000003" "414243"),
                 0);
    assert_bytes(msg.u.text.text, "ABC", 3);
    cr_assert_eq(body_roundtrip(0x9200, 2011, PLATE "01" "9204" "00000006" "56494E3A3D31"), 0);
    assert_bytes(msg.u.text.text, "VIN:=1", 6);
    cr_assert_eq(body_roundtrip(0x1600, 2019, PLATE "01" "1601" "00000008" "9601" "00000001"
                                "4142"), 0);
    cr_assert_eq(msg.u.text.has_src, 1);
    cr_assert_eq(body_roundtrip(0x9600, 2011, PLATE "01" "9601" "00000000"), 0);
    cr_assert_eq(body_roundtrip(0x9101, 2011, "00000064" "000000005F5F7B3E" "000000005F5F8000"),
                 0);
    cr_assert_eq(msg.u.total_recv.dynamic_info_total, 100);
}

Test(jt809_layouts, unknown_types_keep_envelope)
{
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "12FF" "00000002" "ABCD"),
                 RW_E_UNSUPPORTED);
    cr_assert_eq(msg.env.data_type, 0x12FF);
    assert_bytes(msg.env.data, "\xAB\xCD", 2);
    cr_assert_eq(msg.sub_known, 0);
    /* it still re-encodes from the raw DATA */
    uint8_t enc[128];
    cr_assert_eq(jt809_body_encode(&msg, enc, sizeof enc), 30);
    cr_assert_eq(memcmp(enc, body_buf, 30), 0);
    cr_assert_eq(body_roundtrip(0x1500, 2011, PLATE "01" "1501" "00000001" "00"),
                 RW_E_UNSUPPORTED);
    cr_assert_eq(msg.env.data_type, 0x1501);
    cr_assert_eq(body_roundtrip(0x7777, 2011, "0102"), RW_E_UNSUPPORTED);
}

/* ---------------------------------------------------------------------------------------
 * Hostile bodies
 */

/* Every proper prefix of every real frame's decrypted body fails to decode, without
 * reading past the prefix (each prefix lives in an exact-size heap block for ASan). */
Test(jt809_hostile, truncated_at_every_length)
{
    static const struct jt809_peer *peers[N_FRAMES] = {&P11, &P11, &P11, &P11, &P5, &P11,
                                                       &P6,  &P7,  &P7,  &P19, &P19, &P19};
    for (size_t k = 0; k < N_FRAMES; k++) {
        cr_assert_eq(decode_hex(all_frames[k], peers[k]), 0);
        struct jt809_msg full = msg;
        for (uint32_t len = 0; len < full.body.len; len++) {
            uint8_t *p = malloc(len ? len : 1);
            cr_assert_not_null(p);
            memcpy(p, full.body.p, len);
            struct jt809_msg m;
            memset(&m, 0, sizeof m);
            m.h = full.h;
            m.body = rw_bytes_of(p, len);
            int rc = jt809_body_decode(&m);
            cr_assert_lt(rc, 0, "frame %zu body cut at %u decoded", k, len);
            free(p);
        }
    }
}

Test(jt809_hostile, lying_lengths)
{
    /* DATA_LENGTH larger and smaller than the data */
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1207" "00000011" "000000005F5F7B3E"
                                "000000005F5F8000"), RW_E_LENGTH);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1207" "0000000F" "000000005F5F7B3E"
                                "000000005F5F8000"), RW_E_TRAILING);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1207" "FFFFFFFF" "00"), RW_E_LENGTH);
    /* EWAYBILL_LENGTH lies */
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "120B" "00000007" "00000004" "414243"),
                 RW_E_LENGTH);
    /* INFO_LENGTH of a 2019 alarm that matches neither 78 nor 70 */
    uint8_t d[200];
    cr_assert_eq(decode_hex(F8, &P19), 0);
    memcpy(d, msg.body.p, msg.body.len);
    uint32_t n = msg.body.len;
    d[6 + 74 + 3] = 9; /* INFO_LENGTH 9 instead of 8 */
    memset(&msg, 0, sizeof msg);
    msg.h.msg_id = 0x1400;
    msg.h.edition = 2019;
    msg.body = rw_bytes_of(d, n);
    cr_assert_eq(jt809_body_decode(&msg), RW_E_LENGTH);
    /* GNSS_DATA_LENGTH of a 2019 position that runs past the end */
    cr_assert_eq(decode_hex(F7, &P7), 0);
    memcpy(d, msg.body.p, msg.body.len);
    n = msg.body.len;
    d[28 + 1 + 3] = 0xFF;
    memset(&msg, 0, sizeof msg);
    msg.h.msg_id = 0x1200;
    msg.h.edition = 2019;
    msg.body = rw_bytes_of(d, n);
    cr_assert_lt(jt809_body_decode(&msg), 0);
}

#define POS11 "00090707E31234230736F0DE026ECFEF00000000000184E9010C000E000C000300000000"

Test(jt809_hostile, gnss_cnt_lies)
{
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1203" "00000049" "02" POS11 POS11), 0);
    cr_assert_eq(msg.u.his.cnt, 2);
    cr_assert_eq(msg.u.his.loc[1].v11.vec3, 99561);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1203" "00000049" "03" POS11 POS11),
                 RW_E_TRUNCATED);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1203" "00000049" "01" POS11 POS11),
                 RW_E_TRAILING);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1203" "00000001" "00"), RW_E_FIELD);
    cr_assert_eq(body_roundtrip(0x1200, 2011, PLATE "01" "1203" "00000025" "06" POS11),
                 RW_E_FIELD);
}

Test(jt809_hostile, bad_header_fields)
{
    uint8_t raw[256];
    size_t n = hex_to(F2, raw, sizeof raw);
    struct jt809_msg m;
    /* encrypt flag 2 (CRC fixed up) */
    uint8_t *c = raw + 1;
    size_t cn = n - 2;
    c[17] = 2;
    uint16_t crc = jt809_crc16(c, cn - 2);
    c[cn - 2] = (uint8_t)(crc >> 8);
    c[cn - 1] = (uint8_t)crc;
    cr_assert_eq(jt809_frame_parse(c, cn, &P11, &m), RW_E_FIELD);
    c[cn - 1] ^= 1;
    cr_assert_eq(jt809_frame_parse(c, cn, &P11, &m), RW_E_CHECK);
    c[3] = 27; /* MSG_LENGTH one too many */
    cr_assert_eq(jt809_frame_parse(c, cn, &P11, &m), RW_E_LENGTH);
    c[3] = 26;
    cr_assert_eq(jt809_frame_parse(c, 10, &P11, &m), RW_E_TRUNCATED);
    /* a 2011 keep-alive is too short to hold a 2019 header */
    cr_assert_eq(jt809_frame_parse(c, cn, &P19, &m), RW_E_TRUNCATED);
}

Test(jt809_encode, errors)
{
    memset(&msg, 0, sizeof msg);
    msg.h.msg_id = 0x1001;
    msg.h.edition = 2011;
    msg.sub_known = 1;
    msg.u.connect_req.password = rw_str("123456789"); /* 9 > 8 */
    cr_assert_eq(jt809_encode(&msg, &P11, out, sizeof out), RW_E_TOOLONG);
    msg.u.connect_req.password = rw_str("1234");
    cr_assert_eq(jt809_encode(&msg, &P11, out, 40), RW_E_NOSPACE);
    cr_assert_eq(jt809_encode(&msg, &P11, out, sizeof out), 72);
    msg.h.encrypt_flag = 1;
    cr_assert_eq(jt809_encode(&msg, &P11, out, sizeof out), RW_E_ENCRYPTED);
    msg.h.edition = 2012;
    cr_assert_eq(jt809_encode(&msg, &P11, out, sizeof out), RW_E_FIELD);
    /* a body that escapes entirely still fits JT809_WIRE_MAX bookkeeping */
    static uint8_t body[1000];
    memset(body, 0x5B, sizeof body);
    struct jt809_hdr h = {.msg_id = 0x1200, .edition = 2011};
    int n = jt809_frame_build(&h, body, sizeof body, &P11, out, sizeof out);
    cr_assert_gt(n, 2000);
    struct sink s = {0};
    jt809_framer_init(&fr);
    feed_all(&fr, out, (size_t)n, &s);
    cr_assert_eq(s.frames, 1);
    cr_assert_eq(s.content_len, 22 + 1000 + 2);
}

Test(jt809_names, lookups)
{
    cr_assert_str_eq(jt809_msg_name(0x1001), "UP_CONNECT_REQ");
    cr_assert_str_eq(jt809_msg_name(0x1234), "unknown");
    cr_assert_str_eq(jt809_data_type_name(0x9403), "DOWN_WARN_MSG_EXG_INFORM");
    cr_assert_str_eq(jt809_warn_type_name(0x0001), "overspeed");
    cr_assert_str_eq(jt809_result_name(0x1002, 2011, 4), "password_wrong");
    cr_assert_str_eq(jt809_result_name(0x1002, 2019, 0xFF), "other");
    cr_assert_str_eq(jt809_color_name(91), "agri_yellow");
    cr_assert_str_eq(jt809_color_name(0x91), "agri_yellow");
}
