/* store_verbs.h: roadwatch verbs over the history store (store/store.h). Each takes the
 * verb's own argv (argv[0] is the verb) and returns the process exit status; none calls
 * exit(). engine/main.c dispatches to them; link rw_store_verbs (store/CMakeLists.txt).
 *
 *   roadwatch log [--store DIR] [--from T] [--to T] [--vehicle ID] [--conn ID]
 *   roadwatch backup [--store DIR] --full|--incremental BDIR | roadwatch backup verify BDIR
 *   roadwatch restore [--store DIR] BDIR
 *   roadwatch user [--store DIR] add|passwd NAME [--role N] [--password-stdin]
 *                                | lock|unlock NAME | list
 *   roadwatch import [--store DIR] vehicles.csv
 * T is UTC seconds or "YYYY-MM-DD[Thh:mm[:ss]]" (GMT+8). DIR defaults to ./roadwatch-data,
 * the engine's default data_dir (the store lives directly in data_dir). Options may come
 * anywhere on the line. Exit status: 0 done, 1 failed (reason on stderr), 2 usage error
 * (usage on stderr); --help prints the usage on stdout and returns 0.
 * `log` prints one JSON object a line: time, time_ms, dir, proto, conn, vehicle, peer, hex
 * (the stored frame: unescaped content) and msg, the frame decoded by json808_msg() or
 * json809_msg() (809 without keys: encrypted bodies show the header and "error"). */
#ifndef RW_STORE_VERBS_H
#define RW_STORE_VERBS_H

int store_verb_log_main(int argc, char **argv);
int store_verb_backup_main(int argc, char **argv);
int store_verb_restore_main(int argc, char **argv);
int store_verb_user_main(int argc, char **argv);
int store_verb_import_main(int argc, char **argv);

#endif
