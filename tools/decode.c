/* decode.c: `roadwatch decode` — frames from hex, raw bytes or a pcap capture, printed
 * as JSON lines with every decoded field, and a clear error object for each bad frame.
 *
 * Each input stream (the hex arguments, standard input, or one direction of one TCP/UDP
 * flow of a capture) gets its own framer, so frames split across packets or lines are
 * found exactly as the engine finds them. The protocol is taken from the first flag byte
 * of a stream (0x7E JT/T 808, 0x5B JT/T 809) unless --proto fixes it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/base/text.h"
#include "tools/tool.h"
#include "tools/verbs.h"

#define DEC_MAX_FLOWS 4096

struct dec_opts {
    int proto;                 /* 0 auto, 808, 809 */
    struct jt809_peer peer;
    int pretty;
    long port;                 /* pcap: only flows with this port; -1 all */
};

struct dec_stream {
    int proto;                 /* 0 until the first flag byte decides */
    struct jt808_framer *f8;
    struct jt809_framer *f9;
    char src[64];
    char dst[64];
    uint32_t next_seq;         /* TCP: next expected sequence number */
    uint8_t seq_valid;
    uint8_t used;
};

struct dec_ctx {
    struct dec_opts o;
    long ts_sec;               /* capture time of the current packet, or 0 */
    long ts_usec;
    unsigned long frames;
    unsigned long errors;
};

static void dec_emit(struct dec_ctx *c, const struct dec_stream *s, json_t *j)
{
    if (s->src[0]) {
        json_object_set_new(j, "src", json_string(s->src));
        json_object_set_new(j, "dst", json_string(s->dst));
    }
    if (c->ts_sec) {
        time_t t = (time_t)c->ts_sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        char ts[48];
        snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, c->ts_usec);
        json_object_set_new(j, "ts", json_string(ts));
    }
    size_t flags = JSON_REAL_PRECISION(12) | (c->o.pretty ? JSON_INDENT(2) : JSON_COMPACT);
    char *txt = json_dumps(j, flags | JSON_PRESERVE_ORDER);
    if (txt) {
        puts(txt);
        free(txt);
    }
    json_decref(j);
}

static json_t *dec_error(const char *proto, int rc, struct rw_bytes content)
{
    json_t *j = json_object();
    json_object_set_new(j, "proto", json_string(proto));
    json_object_set_new(j, "error", json_string(err_name(rc)));
    json_object_set_new(j, "message", json_string(err_str(rc)));
    if (content.len)
        json_object_set_new(j, "content_hex", json_hex(content));
    return j;
}

static void dec_frame808(struct dec_ctx *c, const struct dec_stream *s)
{
    struct rw_bytes f = jt808_framer_frame(s->f8);
    struct jt808_msg m;
    int rc = jt808_framer_parse(s->f8, &m);
    json_t *j;
    if (rc < 0 && m.h.msg_id == 0 && m.h.hdr_len == 0) {
        j = dec_error("jt808", rc, f);
    } else {
        j = json808_msg(&m);
        if (rc < 0) {
            json_object_del(j, "body");
            json_object_set_new(j, "error", json_string(err_name(rc)));
            json_object_set_new(j, "message", json_string(err_str(rc)));
        }
    }
    if (rc < 0)
        c->errors++;
    c->frames++;
    dec_emit(c, s, j);
}

static void dec_frame809(struct dec_ctx *c, struct dec_stream *s)
{
    size_t n;
    uint8_t *raw = jt809_framer_frame(s->f9, &n);
    struct jt809_msg m;
    int rc = jt809_framer_parse(s->f9, &c->o.peer, &m);
    json_t *j;
    if (rc < 0 && m.h.hdr_len == 0) {
        j = dec_error("jt809", rc, rw_bytes_of(raw, n));
    } else {
        j = json809_msg(&m);
        if (rc < 0 && rc != RW_E_UNSUPPORTED) {
            json_object_set_new(j, "error", json_string(err_name(rc)));
            json_object_set_new(j, "message", json_string(err_str(rc)));
        }
    }
    if (rc < 0 && rc != RW_E_UNSUPPORTED)
        c->errors++;
    c->frames++;
    dec_emit(c, s, j);
}

/* Picks the protocol from the first flag byte when it is not fixed. */
static int dec_pick(struct dec_stream *s, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n && !s->proto; i++) {
        if (in[i] == JT808_FLAG)
            s->proto = 808;
        else if (in[i] == 0x5B)
            s->proto = 809;
    }
    if (s->proto == 808 && !s->f8) {
        s->f8 = mem_alloc(sizeof *s->f8);
        if (!s->f8)
            return -ENOMEM;
        jt808_framer_init(s->f8);
    }
    if (s->proto == 809 && !s->f9) {
        s->f9 = mem_alloc(sizeof *s->f9);
        if (!s->f9)
            return -ENOMEM;
        jt809_framer_init(s->f9);
    }
    return 0;
}

static void dec_feed(struct dec_ctx *c, struct dec_stream *s, const uint8_t *in, size_t n)
{
    if (dec_pick(s, in, n) < 0 || !s->proto)
        return;
    size_t pos = 0;
    while (pos < n) {
        int st;
        if (s->proto == 808)
            pos += jt808_framer_feed(s->f8, in + pos, n - pos, &st);
        else
            pos += jt809_framer_feed(s->f9, in + pos, n - pos, &st);
        if (st == 1) {
            if (s->proto == 808)
                dec_frame808(c, s);
            else
                dec_frame809(c, s);
        } else if (st < 0) {
            c->errors++;
            dec_emit(c, s, dec_error(s->proto == 808 ? "jt808" : "jt809", st,
                                     rw_bytes_of(NULL, 0)));
        }
    }
}

static void dec_stream_free(struct dec_stream *s)
{
    MEM_FREE(s->f8);
    MEM_FREE(s->f9);
    s->used = 0;
}

/* Reports bytes left inside an unfinished frame at the end of a stream. */
static void dec_finish(struct dec_ctx *c, struct dec_stream *s)
{
    int open = (s->f8 && s->f8->in_frame && s->f8->len) ||
               (s->f9 && s->f9->in_frame && s->f9->len);
    if (open) {
        c->errors++;
        dec_emit(c, s, dec_error(s->proto == 808 ? "jt808" : "jt809", RW_E_TRUNCATED,
                                 rw_bytes_of(NULL, 0)));
    }
    dec_stream_free(s);
}

/* ---------------------------------------------------------------------------------------
 * Hex and binary input
 */

static int dec_hex_text(struct dec_ctx *c, struct dec_stream *s, const char *txt, size_t len)
{
    uint8_t *buf = mem_alloc(len / 2 + 1);
    if (!buf)
        return -ENOMEM;
    int n = text_hex_decode(txt, len, buf, len / 2 + 1);
    if (n < 0) {
        fprintf(stderr, "roadwatch decode: input is not hex: %.*s\n", (int)(len > 40 ? 40 : len),
                txt);
        mem_free(buf);
        c->errors++;
        return n;
    }
    dec_feed(c, s, buf, (size_t)n);
    mem_free(buf);
    return 0;
}

static int dec_stdin(struct dec_ctx *c, struct dec_stream *s, int binary)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (binary) {
        uint8_t buf[65536];
        size_t r;
        while ((r = fread(buf, 1, sizeof buf, stdin)) > 0)
            dec_feed(c, s, buf, r);
        return ferror(stdin) ? -EIO : 0;
    }
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n > 0)
            dec_hex_text(c, s, line, (size_t)n);
    }
    free(line);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * pcap input: Ethernet (with VLAN tags), Linux cooked, raw IP and BSD loopback links;
 * IPv4 and IPv6; TCP and UDP payloads. TCP segments are taken in capture order; a
 * retransmitted range is skipped and a gap resets that direction's framer.
 */

struct dec_pkt {
    const uint8_t *l4;
    size_t l4len;
    int ipproto;
    char src[64], dst[64];
};

static void dec_addr(char *out, size_t cap, int v6, const uint8_t *a, uint16_t port)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, a, ip, sizeof ip);
    snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* Finds the IP header in a captured frame; returns its offset or -1. */
static long dec_l3(int dlt, const uint8_t *p, size_t n)
{
    size_t off;
    uint16_t et;
    switch (dlt) {
    case DLT_EN10MB:
        if (n < 14)
            return -1;
        off = 12;
        et = (uint16_t)(p[off] << 8 | p[off + 1]);
        while ((et == 0x8100 || et == 0x88A8) && off + 6 <= n) {
            off += 4;
            et = (uint16_t)(p[off] << 8 | p[off + 1]);
        }
        return off + 2 <= n ? (long)(off + 2) : -1;
    case DLT_LINUX_SLL:
        return n >= 16 ? 16 : -1;
    case DLT_RAW:
        return 0;
    case DLT_NULL:
        return n >= 4 ? 4 : -1;
    default:
        return -1;
    }
}

static int dec_parse_pkt(int dlt, const uint8_t *p, size_t n, struct dec_pkt *k)
{
    long l3 = dec_l3(dlt, p, n);
    if (l3 < 0 || (size_t)l3 >= n)
        return -1;
    const uint8_t *ip = p + l3;
    size_t left = n - (size_t)l3;
    int v = ip[0] >> 4, v6 = v == 6;
    size_t ihl;
    const uint8_t *sa, *da;
    if (v == 4 && left >= 20) {
        ihl = (size_t)(ip[0] & 15) * 4;
        size_t tot = (size_t)(ip[2] << 8 | ip[3]);
        if (ihl < 20 || tot < ihl || tot > left || (ip[6] & 0x3F) || ip[7])
            return -1; /* fragments are not reassembled */
        left = tot;
        k->ipproto = ip[9];
        sa = ip + 12, da = ip + 16;
    } else if (v6 && left >= 40) {
        ihl = 40;
        size_t pl = (size_t)(ip[4] << 8 | ip[5]);
        if (pl + 40 > left)
            return -1;
        left = pl + 40;
        k->ipproto = ip[6];
        sa = ip + 8, da = ip + 24;
    } else {
        return -1;
    }
    const uint8_t *l4 = ip + ihl;
    size_t l4len = left - ihl;
    size_t hl = k->ipproto == 6 ? (l4len >= 20 ? (size_t)(l4[12] >> 4) * 4 : 0)
                                : (k->ipproto == 17 ? 8 : 0);
    if (hl == 0 || hl > l4len)
        return -1;
    dec_addr(k->src, sizeof k->src, v6, sa, (uint16_t)(l4[0] << 8 | l4[1]));
    dec_addr(k->dst, sizeof k->dst, v6, da, (uint16_t)(l4[2] << 8 | l4[3]));
    k->l4 = l4;
    k->l4len = l4len;
    return (int)hl;
}

static struct dec_stream *dec_flow(struct dec_stream *flows, const struct dec_pkt *k)
{
    struct dec_stream *free_slot = NULL;
    for (unsigned i = 0; i < DEC_MAX_FLOWS; i++) {
        struct dec_stream *s = &flows[i];
        if (!s->used) {
            if (!free_slot)
                free_slot = s;
            continue;
        }
        if (strcmp(s->src, k->src) == 0 && strcmp(s->dst, k->dst) == 0)
            return s;
    }
    if (!free_slot)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = 1;
    snprintf(free_slot->src, sizeof free_slot->src, "%s", k->src);
    snprintf(free_slot->dst, sizeof free_slot->dst, "%s", k->dst);
    return free_slot;
}

/* Trims a TCP payload to the bytes not seen before; resets the framer on a gap. */
static void dec_tcp(struct dec_ctx *c, struct dec_stream *s, const uint8_t *l4, size_t hl,
                    size_t l4len)
{
    uint32_t seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
    const uint8_t *pl = l4 + hl;
    size_t n = l4len - hl;
    int syn = (l4[13] & 0x02) != 0;
    if (syn) {
        s->next_seq = seq + 1;
        s->seq_valid = 1;
        return;
    }
    if (n == 0)
        return;
    if (s->seq_valid) {
        int32_t d = (int32_t)(seq - s->next_seq);
        if (d < 0) {
            if ((size_t)-d >= n)
                return; /* retransmission of bytes already fed */
            pl += -d, n -= (size_t)-d;
        } else if (d > 0) {
            if (s->f8)
                jt808_framer_init(s->f8);
            if (s->f9)
                jt809_framer_init(s->f9);
            c->errors++;
            json_t *j = json_object();
            json_object_set_new(j, "error", json_string("capture_gap"));
            json_object_set_new(j, "message", json_string("bytes missing from the capture"));
            dec_emit(c, s, j);
        }
    }
    s->next_seq = seq + (uint32_t)(pl - (l4 + hl)) + (uint32_t)n;
    s->seq_valid = 1;
    dec_feed(c, s, pl, n);
}

static int dec_pcap(struct dec_ctx *c, const char *path)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, eb);
    if (!pc) {
        fprintf(stderr, "roadwatch decode: %s: %s\n", path, eb);
        return -EINVAL;
    }
    int dlt = pcap_datalink(pc);
    struct dec_stream *flows = mem_calloc(DEC_MAX_FLOWS, sizeof *flows);
    if (!flows) {
        pcap_close(pc);
        return -ENOMEM;
    }
    struct pcap_pkthdr *ph;
    const uint8_t *data;
    int r;
    while ((r = pcap_next_ex(pc, &ph, &data)) == 1) {
        struct dec_pkt k;
        int hl = dec_parse_pkt(dlt, data, ph->caplen, &k);
        if (hl < 0 || (k.ipproto != 6 && k.ipproto != 17))
            continue;
        unsigned sp = (unsigned)(k.l4[0] << 8 | k.l4[1]), dp = (unsigned)(k.l4[2] << 8 | k.l4[3]);
        if (c->o.port >= 0 && sp != (unsigned)c->o.port && dp != (unsigned)c->o.port)
            continue;
        struct dec_stream *s = dec_flow(flows, &k);
        if (!s)
            continue;
        c->ts_sec = (long)ph->ts.tv_sec;
        c->ts_usec = (long)ph->ts.tv_usec;
        s->proto = s->proto ? s->proto : c->o.proto;
        if (k.ipproto == 6)
            dec_tcp(c, s, k.l4, (size_t)hl, k.l4len);
        else
            dec_feed(c, s, k.l4 + 8, k.l4len - 8);
    }
    if (r == -1)
        fprintf(stderr, "roadwatch decode: %s: %s\n", path, pcap_geterr(pc));
    for (unsigned i = 0; i < DEC_MAX_FLOWS; i++)
        if (flows[i].used)
            dec_finish(c, &flows[i]);
    mem_free(flows);
    pcap_close(pc);
    return r == -1 ? -EIO : 0;
}

/* ---------------------------------------------------------------------------------------
 * Command line
 */

static void dec_usage(FILE *f)
{
    fputs("usage: roadwatch decode [options] [HEX...]\n"
          "Decodes JT/T 808 and JT/T 809 frames and prints one JSON object per frame.\n"
          "Input: HEX arguments (one stream), else standard input as hex lines, or:\n"
          "  --binary            standard input is raw bytes\n"
          "  --pcap FILE         TCP/UDP payloads of a capture, one stream per direction\n"
          "  --port N            with --pcap: only flows to or from port N\n"
          "Options:\n"
          "  --proto auto|808|809   protocol (default: from the first flag byte)\n"
          "  --809-edition auto|2011|2019   JT/T 809 header layout (default auto)\n"
          "  --809-key M1:IA1:IC1   JT/T 809 encryption constants (decimal or 0x)\n"
          "  --pretty            indented JSON\n"
          "Exit status: 0 all frames good, 1 some frame was bad, 2 usage or I/O error.\n",
          f);
}

int tool_parse_809_key(const char *arg, struct jt809_peer *peer)
{
    unsigned long v[3];
    const char *p = arg;
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        v[i] = strtoul(p, &end, 0);
        if (errno || end == p || v[i] > 0xFFFFFFFFul || (i < 2 && *end != ':') ||
            (i == 2 && *end))
            return RW_E_SYNTAX;
        p = end + 1;
    }
    peer->m1 = (uint32_t)v[0];
    peer->ia1 = (uint32_t)v[1];
    peer->ic1 = (uint32_t)v[2];
    peer->has_keys = 1;
    return 0;
}

int tool_parse_809_edition(const char *arg, struct jt809_peer *peer)
{
    if (strcmp(arg, "auto") == 0)
        peer->edition = JT809_ED_AUTO;
    else if (strcmp(arg, "2011") == 0)
        peer->edition = JT809_ED_2011;
    else if (strcmp(arg, "2019") == 0)
        peer->edition = JT809_ED_2019;
    else
        return RW_E_SYNTAX;
    return 0;
}

static int dec_args(int argc, char **argv, struct dec_ctx *c, const char **pcap, int *binary)
{
    static const struct option opts[] = {
        {"proto", required_argument, NULL, 'p'}, {"809-edition", required_argument, NULL, 'e'},
        {"809-key", required_argument, NULL, 'k'}, {"pcap", required_argument, NULL, 'r'},
        {"port", required_argument, NULL, 'P'},  {"binary", no_argument, NULL, 'b'},
        {"pretty", no_argument, NULL, 'y'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'p':
            c->o.proto = strcmp(optarg, "808") == 0 ? 808 : strcmp(optarg, "809") == 0 ? 809 : 0;
            if (!c->o.proto && strcmp(optarg, "auto") != 0)
                return -1;
            break;
        case 'e': if (tool_parse_809_edition(optarg, &c->o.peer)) return -1; break;
        case 'k': if (tool_parse_809_key(optarg, &c->o.peer)) return -1; break;
        case 'r': *pcap = optarg; break;
        case 'P':
            c->o.port = strtol(optarg, &end, 10);
            if (*end || c->o.port < 0 || c->o.port > 65535)
                return -1;
            break;
        case 'b': *binary = 1; break;
        case 'y': c->o.pretty = 1; break;
        case 'h': dec_usage(stdout); return 1;
        default: return -1;
        }
    }
    return 0;
}

int tool_decode_main(int argc, char **argv)
{
    struct dec_ctx c;
    memset(&c, 0, sizeof c);
    c.o.port = -1;
    const char *pcap = NULL;
    int binary = 0;
    int a = dec_args(argc, argv, &c, &pcap, &binary);
    if (a != 0) {
        if (a < 0)
            dec_usage(stderr);
        return a < 0 ? 2 : 0;
    }
    int rc = 0;
    if (pcap) {
        rc = dec_pcap(&c, pcap);
    } else {
        struct dec_stream s;
        memset(&s, 0, sizeof s);
        s.proto = c.o.proto;
        if (optind < argc) {
            for (int i = optind; i < argc; i++)
                dec_hex_text(&c, &s, argv[i], strlen(argv[i]));
        } else {
            rc = dec_stdin(&c, &s, binary);
        }
        dec_finish(&c, &s);
    }
    fflush(stdout);
    if (rc < 0)
        return 2;
    return c.errors ? 1 : 0;
}
