/* encode.c: `roadwatch encode` — builds wire frames from JSON objects in the shape that
 * `roadwatch decode` prints, so `decode | encode` reproduces the input frames. One JSON
 * object per argument or per input line; one frame per output line, as hex (or raw bytes
 * with --binary). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/base/text.h"
#include "tools/tool.h"
#include "tools/verbs.h"

#define ENC_ARENA (1u << 20)

struct enc_ctx {
    struct jt809_peer peer;
    int binary;
    unsigned long errors;
    uint8_t *arena;
    uint8_t *out;
};

static int enc_one(struct enc_ctx *c, const char *text, size_t len, unsigned long lineno)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j) {
        fprintf(stderr, "roadwatch encode: input %lu:%d: %s\n", lineno, je.column, je.text);
        return RW_E_SYNTAX;
    }
    struct arena a = {c->arena, 0, ENC_ARENA};
    char err[256] = "";
    const char *proto = json_string_value(json_object_get(j, "proto"));
    int n;
    if (proto && strcmp(proto, "jt809") == 0) {
        struct jt809_msg m;
        n = json809_build(j, &m, &a, err, sizeof err);
        if (n == 0)
            n = jt809_encode(&m, &c->peer, c->out, JT809_WIRE_MAX);
    } else if (!proto || strcmp(proto, "jt808") == 0) {
        struct jt808_msg m;
        n = json808_build(j, &m, &a, err, sizeof err);
        if (n == 0)
            n = jt808_encode(&m, c->out, JT808_WIRE_MAX);
    } else {
        snprintf(err, sizeof err, "proto: expected \"jt808\" or \"jt809\"");
        n = RW_E_FIELD;
    }
    json_decref(j);
    if (n < 0) {
        fprintf(stderr, "roadwatch encode: input %lu: %s%s%s\n", lineno, err,
                err[0] ? ": " : "", err_str(n));
        return n;
    }
    if (c->binary) {
        fwrite(c->out, 1, (size_t)n, stdout);
        return 0;
    }
    char *hex = mem_alloc(2 * (size_t)n + 1);
    if (!hex)
        return -ENOMEM;
    text_hex_encode(c->out, (size_t)n, hex, 2 * (size_t)n + 1);
    puts(hex);
    mem_free(hex);
    return 0;
}

static void enc_usage(FILE *f)
{
    fputs("usage: roadwatch encode [options] [JSON...]\n"
          "Builds JT/T 808 / JT/T 809 frames from JSON objects (the shape `roadwatch decode`\n"
          "prints); reads one object per line from standard input when no JSON is given.\n"
          "  --809-edition 2011|2019   default header layout when the JSON has no edition\n"
          "  --809-key M1:IA1:IC1      encrypt JT/T 809 bodies whose encrypt_flag is 1\n"
          "  --binary                  write raw frames instead of hex lines\n"
          "Exit status: 0 all encoded, 1 some input was refused, 2 usage error.\n",
          f);
}

static int enc_args(int argc, char **argv, struct enc_ctx *c)
{
    static const struct option opts[] = {
        {"809-edition", required_argument, NULL, 'e'}, {"809-key", required_argument, NULL, 'k'},
        {"binary", no_argument, NULL, 'b'},            {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'e': if (tool_parse_809_edition(optarg, &c->peer)) return -1; break;
        case 'k': if (tool_parse_809_key(optarg, &c->peer)) return -1; break;
        case 'b': c->binary = 1; break;
        case 'h': enc_usage(stdout); return 1;
        default: return -1;
        }
    }
    return 0;
}

int tool_encode_main(int argc, char **argv)
{
    struct enc_ctx c;
    memset(&c, 0, sizeof c);
    int a = enc_args(argc, argv, &c);
    if (a != 0) {
        if (a < 0)
            enc_usage(stderr);
        return a < 0 ? 2 : 0;
    }
    c.arena = mem_alloc(ENC_ARENA);
    c.out = mem_alloc(JT809_WIRE_MAX > JT808_WIRE_MAX ? JT809_WIRE_MAX : JT808_WIRE_MAX);
    if (!c.arena || !c.out) {
        mem_free(c.arena);
        mem_free(c.out);
        return 2;
    }
    unsigned long lineno = 0;
    if (optind < argc) {
        for (int i = optind; i < argc; i++)
            c.errors += enc_one(&c, argv[i], strlen(argv[i]), (unsigned long)(i - optind + 1)) != 0;
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) > 0) {
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
                n--;
            if (n > 0)
                c.errors += enc_one(&c, line, (size_t)n, lineno) != 0;
        }
        free(line);
    }
    mem_free(c.arena);
    mem_free(c.out);
    fflush(stdout);
    return c.errors ? 1 : 0;
}
