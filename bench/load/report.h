/* report.h: results as JSON plus the data files gnuplot draws (plot.gp). */
#ifndef RW_BENCH_REPORT_H
#define RW_BENCH_REPORT_H

#include "bench/load/scenario.h"
#include "bench/load/sim.h"
#include "bench/load/sink.h"

/* Writes <dir>/results.json, <dir>/series.dat and <dir>/latency.dat for the run <r> of
 * <s> (target "<target>"), with the ceiling <ceil> (NULL when not measured: sent records/s
 * of the open-loop phase in <ceil_sent_rps>). Returns 0 or -errno. */
int report_write(const char *dir, const struct scenario *s, const char *target,
                 const struct sim_result *r, const struct sink_stats *ceil,
                 double ceil_rps);

/* Mean records/s (acknowledged when <acked>, else sent) over the seconds after <warm_s>
 * and up to the end of load. */
double report_sustained_rps(const struct sim_result *r, double warm_s, int acked);

#endif
