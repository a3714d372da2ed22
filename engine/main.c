/* main.c: the roadwatch binary — verb dispatch. The only place allowed to exit(). */
#include <stdio.h>
#include <string.h>

#include "engine/serve.h"
#include "tools/store_verbs.h"
#include "tools/verbs.h"

#ifndef RW_VERSION
#define RW_VERSION "0.0.0"
#endif
#include "rw_commit.h" /* RW_COMMIT, made at build time (cmake/commit.cmake) */

typedef int (*verb_fn)(int argc, char **argv);

static const struct {
    const char *name;
    verb_fn fn;
    const char *help;
} verbs[] = {
    {"serve", serve_main, "run the engine (embedded configuration unless -c FILE)"},
    {"check-config", check_config_main, "validate a configuration file"},
    {"top", top_main, "live counts and the busiest vehicles of a running engine"},
    {"stats", stats_main, "a running engine's metrics in Prometheus text format"},
    {"import", store_verb_import_main, "import the vehicle registry from CSV"},
    {"user", store_verb_user_main, "user add|passwd|lock|list"},
    {"log", store_verb_log_main, "print the raw packet log, decoded"},
    {"backup", store_verb_backup_main, "backup --full|--incremental DIR, backup verify DIR"},
    {"restore", store_verb_restore_main, "restore a backup into an empty store directory"},
    {"decode", tool_decode_main, "decode JT/T 808 / 809 frames (hex, stdin, pcap) to JSON"},
    {"encode", tool_encode_main, "build JT/T 808 / 809 frames from JSON"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: roadwatch VERB [options]   (roadwatch VERB --help for each)\n\nverbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
    fprintf(f, "  %-10s %s\n", "version", "print the version and commit");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("roadwatch %s (%s)\n", RW_VERSION, RW_COMMIT);
        return 0;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "roadwatch: unknown verb '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
