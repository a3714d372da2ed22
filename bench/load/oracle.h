/* oracle.h: expected alarms of a scenario, and the comparison with an alarm list.
 *
 * Oracle and alarm-list format (JSON lines, one alarm per line, UTF-8):
 *   {"plate": "鄂A00003", "color": 2, "type": "overspeed",
 *    "start": "2026-11-23T08:10:07+08:00", "end": "2026-11-23T08:12:07+08:00",
 *    "params": {...}}
 * "end" is null for an alarm still open at the end of the run. "type" is one of the
 * snake_case names of scn_vio_name(). The oracle is computed before the run by replaying
 * each scripted vehicle's positions (road.h is deterministic) through the rules of
 * domain/alarms.md with the parameters written in "params".
 */
#ifndef RW_BENCH_ORACLE_H
#define RW_BENCH_ORACLE_H

#include <stdint.h>
#include <stdio.h>

#include "bench/load/scenario.h"

/* Writes the oracle of <s> for a run of <gnss_span_s> GNSS seconds to <out>. Returns the
 * number of alarms written. */
int oracle_write(const struct scenario *s, int64_t gnss_span_s, FILE *out);

struct cmp_result {
    unsigned oracle, alarms, matched, missed, extra, wrong_start, wrong_end;
};

/* Compares the oracle <exp> with the alarm list <got> (both JSON-lines streams): alarms
 * pair on (plate, color, type) and overlapping time; a pair whose start (end) differs by
 * more than <tol_s> counts as wrong_start (wrong_end). Unpaired oracle alarms are missed,
 * unpaired listed ones extra. One line per difference goes to <report> (may be NULL).
 * Returns 0 when both lists agree, 1 when they differ, RW_E_SYNTAX for a bad line. */
int cmp_run(FILE *exp, FILE *got, int64_t tol_s, FILE *report, struct cmp_result *res);

#endif
