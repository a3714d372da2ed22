/* serve.h: verbs of the engine proper (engine/serve.c, engine/top.c). Each takes its own
 * argv (argv[0] is the verb) and returns the exit status. */
#ifndef RW_SERVE_H
#define RW_SERVE_H

int serve_main(int argc, char **argv);
int check_config_main(int argc, char **argv);
int top_main(int argc, char **argv);
int stats_main(int argc, char **argv);

#endif
