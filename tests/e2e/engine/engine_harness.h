/* engine_harness.h: end-to-end test harness — starts the real `roadwatch serve` (path in
 * $RW_BIN) on loopback with a temporary data directory and random ports, and plays JT/T 808
 * terminals over real sockets with the project's codec. Timeouts scale with
 * $RW_TEST_TIMEOUT (seconds, default 10). Single-threaded. */
#ifndef RW_ENGINE_HARNESS_H
#define RW_ENGINE_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include "engine/proto/jt808.h"

struct eng {
    pid_t pid;
    int port;               /* JT/T 808 TCP and UDP */
    char dir[128];          /* temporary directory: conf, data/, live */
    char conf[160];
    char data[160];
    char live[160];
    char extra[1024];       /* extra configuration lines, by section */
};

/* Starts the engine with the embedded defaults plus <extra> (config text appended after
 * the generated sections; may be NULL). Waits until it accepts TCP connections. */
void eng_start(struct eng *e, const char *extra);
/* Starts it again on the same directory and port (after a stop or a kill). */
void eng_restart(struct eng *e);
/* Sends <sig> and waits for the process; returns its exit status (or 128+signal). */
int eng_stop(struct eng *e, int sig);
/* Removes the temporary directory. */
void eng_cleanup(struct eng *e);

int harness_timeout_s(void);

struct term {
    int fd;
    int udp;
    int lenient;             /* ignore send errors (the engine may be dead) */
    uint16_t edition;        /* JT808_ED_2011 / 2013 / 2019 */
    uint16_t serial;
    char phone[21];
    char code[40];
    struct jt808_framer fr;
    uint8_t raw[JT808_RAW_MAX];
    size_t raw_len;
    uint8_t rbuf[8192];
    size_t rhave, rpos;
};

/* Milliseconds of the monotonic clock. */
int64_t harness_ms(void);

/* Connects a terminal (TCP, or UDP when <udp>) to <port>. */
void term_open(struct term *t, int port, int udp, uint16_t edition, const char *phone);
void term_close(struct term *t);
/* Encodes and sends <m> (header phone/edition/serial filled from <t>); returns the serial. */
uint16_t term_send(struct term *t, struct jt808_msg *m);
/* Sends raw bytes as they are. */
void term_send_bytes(struct term *t, const void *p, size_t n);
/* Waits up to <ms> for the next frame; returns 1 with <m> decoded (views into t->raw), 0
 * on timeout, -1 when the peer closed. */
int term_recv(struct term *t, struct jt808_msg *m, int ms);
/* Registers (0x0100 for the terminal's edition, plate <plate_gbk>) and authenticates;
 * asserts the engine's answers. */
void term_login(struct term *t, const char *plate_gbk, uint8_t color);
/* Builds a location body at <utc> with a position derived from <k>. */
void term_loc(struct jt808_loc *l, int64_t utc, uint32_t k);
/* Sends one 0x0200 at <utc>; returns its serial. */
uint16_t term_report(struct term *t, int64_t utc, uint32_t k);
/* Collects 0x8001 answers to 0x0200/0x0704 for up to <ms>; marks acked serials in
 * <acked> (65536 flags) and returns how many arrived. */
int term_collect_acks(struct term *t, uint8_t *acked, int want, int ms);

#endif
