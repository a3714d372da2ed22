/* verbs.h: entry points of the roadwatch verbs implemented in tools/. Each takes the
 * verb's own argv (argv[0] is the verb) and returns the process exit status; none calls
 * exit(). engine/main.c dispatches to them. */
#ifndef RW_VERBS_H
#define RW_VERBS_H

#include "engine/proto/jt809.h"

int tool_decode_main(int argc, char **argv);
int tool_encode_main(int argc, char **argv);

/* Shared option parsers: "M1:IA1:IC1" and "auto|2011|2019". Return 0 or RW_E_SYNTAX. */
int tool_parse_809_key(const char *arg, struct jt809_peer *peer);
int tool_parse_809_edition(const char *arg, struct jt809_peer *peer);

#endif
