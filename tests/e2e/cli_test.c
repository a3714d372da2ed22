/* cli_test.c: end-to-end tests of `roadwatch decode` and `roadwatch encode` — the real
 * binary (path in $RW_BIN), real processes, real pcap files written with libpcap. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin(void)
{
    const char *b = getenv("RW_BIN");
    cr_assert_not_null(b, "RW_BIN must point at the roadwatch binary");
    return b;
}

/* Runs a shell command; returns its exit status and its stdout in <out>. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char out[1 << 16];
static char cmd[8192];

static json_t *line_json(const char *text, int k)
{
    const char *p = text;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    cr_assert(p && *p, "no line %d in output:\n%s", k, text);
    json_error_t e;
    json_t *j = json_loadb(p, strcspn(p, "\n"), 0, &e);
    cr_assert_not_null(j, "line %d is not JSON: %s", k, e.text);
    return j;
}

static const char *frame_f =
    "7E0200005C11223344556622B8000000010000000200BA7F0E07E4F11C0028003C000018071510101001"
    "04000000640202003703020038040200011105010000000112060100000001011307000000020022"
    "012504000000172A0200F42B04000000F2300102310105167E";

Test(cli, decode_location_hex)
{
    snprintf(cmd, sizeof cmd, "%s decode %s", bin(), frame_f);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    json_t *j = line_json(out, 0);
    cr_assert_str_eq(json_string_value(json_object_get(j, "msg_id")), "0x0200");
    cr_assert_str_eq(json_string_value(json_object_get(j, "phone")), "112233445566");
    json_t *b = json_object_get(j, "body");
    cr_assert_float_eq(json_real_value(json_object_get(b, "lat")), 12.222222, 1e-9);
    cr_assert_eq(json_integer_value(json_object_get(b, "mileage_hm")), 100);
    cr_assert_str_eq(json_string_value(json_object_get(b, "time")), "2018-07-15T10:10:10+08:00");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(b, "alarm_bits"), 0)),
                     "sos");
    json_decref(j);
}

Test(cli, bad_frames_are_reported_and_exit_1)
{
    /* frame A with its check code changed, then a good frame A */
    snprintf(cmd, sizeof cmd,
             "%s decode 7E00020000040021679287002B017E 7E00020000040021679287002B7D027E", bin());
    cr_assert_eq(run(cmd, out, sizeof out), 1, "%s", out);
    json_t *e = line_json(out, 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "error")), "check");
    cr_assert_not_null(json_object_get(e, "message"));
    json_t *g = line_json(out, 1);
    cr_assert_str_eq(json_string_value(json_object_get(g, "name")), "heartbeat");
    json_decref(e);
    json_decref(g);
    snprintf(cmd, sizeof cmd, "%s decode zz 2>&1", bin());
    cr_assert_eq(run(cmd, out, sizeof out), 1);
    cr_assert_not_null(strstr(out, "not hex"));
    snprintf(cmd, sizeof cmd, "%s decode --proto 807 2>&1", bin());
    cr_assert_eq(run(cmd, out, sizeof out), 2, "usage error");
}

static const char *real808[] = {
    "7e00020000040021679287002b7d027e",
    "7e0100002d0141305678720024002c012f373031313142534a2d41362d4244000000000000000000000030"
    "35363738373201d4c14238383838386d7e",
    "7e0100405401000000000133051893410003002c012f34343033303037303131310000000000000000000000"
    "0000000000000000000042534a2d474630365435313839333431000000000000000000000000000000000000"
    "000000000002d4c1423838383838a67e",
    "7e010240500100000000017299841738ffff2c706d59477a47756b4f384b345a356c70494f54673864716233"
    "65707259614842625853504c7464627947383d313233343536373839303132333435332e372e313500000000"
    "00000000000000000000347e",
    "7e0704402d0100000866496077582164881d0001000028000000000000000701a00192091f2a470016000000"
    "0226050916422701040000258230010031010e507e",
    "7e070400510144503762020002000101004c00040100000800030202301006f893e8001d0000009526081722"
    "1812140400000000170200000104000036c9030200002504000000002a02000030011f31010eea04020c8300"
    "ef0400000000037e",
    "7e8103000a000123456789000a0100000001040000000a057e",
    "7e8300400e010000000001234567890000010501736d616c6c63686920353138417e",
    "7e81000013012345678900000a0064007a7373646166323331323473666473633b7e",
};

Test(cli, decode_then_encode_is_identity_808)
{
    for (size_t i = 0; i < sizeof real808 / sizeof real808[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s decode %s | %s encode", bin(), real808[i], bin());
        cr_assert_eq(run(cmd, out, sizeof out), 0, "frame %zu: %s", i, out);
        out[strcspn(out, "\n")] = 0;
        cr_assert_str_eq(out, real808[i], "frame %zu", i);
    }
    /* lower-case hex in, frame F (upper case) back in lower case */
    snprintf(cmd, sizeof cmd, "%s decode %s | %s encode", bin(), frame_f, bin());
    cr_assert_eq(run(cmd, out, sizeof out), 0);
    cr_assert_eq(strncasecmp(out, frame_f, strlen(frame_f)), 0);
}

Test(cli, decode_then_encode_is_identity_809_encrypted)
{
    /* F5: 2011 UP_CONNECT_REQ, encrypted with M1=30000000 IA1=20000000 IC1=20000000. */
    const char *f5 = "5b000000480000008510010133efb8010000010003e8b2d37d9cc4900c77dc78f8676527d8"
                     "ae12243cfb64cc2fba619aefad33accb3256f67bff19df33097841098665703fe36e5d";
    snprintf(cmd, sizeof cmd, "%s decode --809-key 30000000:20000000:20000000 %s", bin(), f5);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "20180920"), "user id decrypted: %s", out);
    snprintf(cmd, sizeof cmd,
             "%s decode --809-key 30000000:20000000:20000000 %s | "
             "%s encode --809-key 30000000:20000000:20000000",
             bin(), f5, bin());
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    out[strcspn(out, "\n")] = 0;
    cr_assert_str_eq(out, f5);
    /* without the key: the header is shown and the body is reported as encrypted */
    snprintf(cmd, sizeof cmd, "%s decode %s", bin(), f5);
    cr_assert_eq(run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "\"encrypted\""), "%s", out);
}

Test(cli, stdin_hex_lines_form_one_stream)
{
    /* frame F cut in the middle across two lines */
    size_t half = strlen(frame_f) / 4 * 2; /* whole bytes on each line */
    snprintf(cmd, sizeof cmd, "printf '%%s\\n%%s\\n' '%.*s' '%s' | %s decode", (int)half,
             frame_f, frame_f + half, bin());
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    json_t *j = line_json(out, 0);
    cr_assert_eq(json_integer_value(json_object_get(j, "serial")), 8888);
    json_decref(j);
}

/* Writes one Ethernet/IPv4/TCP (or UDP) packet with <payload> to <d>. */
static void put_pkt(pcap_dumper_t *d, int udp, uint32_t seq, const uint8_t *payload,
                    size_t n, long usec)
{
    uint8_t pkt[2048];
    memset(pkt, 0, sizeof pkt);
    pkt[12] = 0x08;                        /* ethertype IPv4 */
    uint8_t *ip = pkt + 14;
    size_t l4 = udp ? 8 : 20;
    size_t tot = 20 + l4 + n;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
    ip[8] = 64;
    ip[9] = udp ? 17 : 6;
    ip[12] = 127, ip[15] = 2;              /* 127.0.0.2 -> 127.0.0.1 */
    ip[16] = 127, ip[19] = 1;
    uint8_t *t = ip + 20;
    t[0] = 0xC3, t[1] = 0x50;              /* 50000 */
    t[2] = 0x1A, t[3] = 0x98;              /* 6808 */
    if (udp) {
        t[4] = (uint8_t)((8 + n) >> 8), t[5] = (uint8_t)(8 + n);
    } else {
        t[4] = (uint8_t)(seq >> 24), t[5] = (uint8_t)(seq >> 16);
        t[6] = (uint8_t)(seq >> 8), t[7] = (uint8_t)seq;
        t[12] = 5 << 4;
        t[13] = 0x18;                      /* PSH ACK */
    }
    memcpy(t + l4, payload, n);
    struct pcap_pkthdr h = {.ts = {1700000000, usec}, .caplen = (bpf_u_int32)(14 + tot),
                            .len = (bpf_u_int32)(14 + tot)};
    pcap_dump((u_char *)d, &h, pkt);
}

Test(cli, decode_pcap_tcp_split_retransmit_and_udp)
{
    char path[] = "/tmp/rw-cli-XXXXXX.pcap";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    close(fd);
    pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(pd, path);
    cr_assert_not_null(d);
    uint8_t f[256];
    size_t nf = 0;
    for (size_t i = 0; frame_f[i]; i += 2) {
        unsigned v;
        sscanf(frame_f + i, "%2x", &v);
        f[nf++] = (uint8_t)v;
    }
    put_pkt(d, 0, 1000, f, 40, 0);                  /* first 40 bytes */
    put_pkt(d, 0, 1000, f, 40, 1);                  /* retransmission: ignored */
    put_pkt(d, 0, 1040, f + 40, nf - 40, 2);        /* the rest */
    static const uint8_t hb[] = {0x7E, 0x00, 0x02, 0x00, 0x00, 0x04, 0x00, 0x21,
                                 0x67, 0x92, 0x87, 0x00, 0x2B, 0x7D, 0x02, 0x7E};
    put_pkt(d, 1, 0, hb, sizeof hb, 3);
    pcap_dump_close(d);
    pcap_close(pd);
    snprintf(cmd, sizeof cmd, "%s decode --pcap %s", bin(), path);
    int rc = run(cmd, out, sizeof out);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", out);
    json_t *a = line_json(out, 0), *b = line_json(out, 1);
    cr_assert_str_eq(json_string_value(json_object_get(a, "name")), "location_report");
    cr_assert_str_eq(json_string_value(json_object_get(a, "src")), "127.0.0.2:50000");
    cr_assert_str_eq(json_string_value(json_object_get(a, "dst")), "127.0.0.1:6808");
    cr_assert_str_eq(json_string_value(json_object_get(a, "ts")), "2023-11-14T22:13:20.000002Z");
    cr_assert_str_eq(json_string_value(json_object_get(b, "name")), "heartbeat");
    cr_assert_null(strchr(strchr(strchr(out, '\n') + 1, '\n') + 1, '{'), "exactly two frames");
    json_decref(a);
    json_decref(b);
}

Test(cli, encode_refuses_bad_json_clearly)
{
    snprintf(cmd, sizeof cmd, "%s encode '{\"msg_id\":\"0x0200\",\"phone\":\"12x\"}' 2>&1",
             bin());
    cr_assert_eq(run(cmd, out, sizeof out), 1);
    cr_assert_not_null(strstr(out, "phone"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s encode '{not json' 2>&1", bin());
    cr_assert_eq(run(cmd, out, sizeof out), 1);
    cr_assert_not_null(strstr(out, "input 1"), "%s", out);
    snprintf(cmd, sizeof cmd,
             "%s encode '{\"msg_id\":\"0x0200\",\"phone\":\"1\",\"body\":{\"lat_e6\":1}}' 2>&1",
             bin());
    cr_assert_eq(run(cmd, out, sizeof out), 1);
    cr_assert_not_null(strstr(out, "time"), "%s", out);
}
