/* regsvc.h: the registration service — one thread that runs JT/T 808 registrations
 * (0x0100: registry lookup, enrolment in open mode, a new authentication code written
 * durably) off the workers, so that a storm of first registrations (each a fsynced meta
 * transaction) never stalls a worker's other terminals.
 *
 *   worker w ── regsvc_submit(w) ─ SPSC ring ─> regsvc thread: registry_register_many()
 *   worker w <─ regsvc_poll(w) ─── SPSC ring ──┘  (the 0x8100 goes out from the worker)
 *
 * The thread takes up to REGISTRY_BATCH_MAX requests at a time, round robin over the
 * workers, and runs them in one durable meta transaction (one fsync per batch).
 * One request ring and one reply ring per worker, fixed size, allocated at creation. A full
 * ring drops the request (counted): the terminal sends 0x0100 again after its timeout.
 * Threading: regsvc_submit/regsvc_poll for worker w only from worker w's thread;
 * regsvc_main on its own thread; create/stop/destroy from the main thread. */
#ifndef RW_REGSVC_H
#define RW_REGSVC_H

#include <stdint.h>

#include "engine/proto/jt808.h"
#include "engine/registry.h"

struct reg_req {
    uint32_t conn;            /* worker's connection index and generation */
    uint16_t gen;
    struct jt808_hdr h;       /* the 0x0100's header (phone, edition, serial) */
    uint16_t reg_edition;
    uint16_t province, city;
    uint8_t plate_color;
    uint8_t plate_len, maker_len, model_len, term_len;
    uint8_t plate[64];
    uint8_t maker[11];
    uint8_t model[30];
    uint8_t term_id[30];
};

struct reg_rsp {
    uint32_t conn;
    uint16_t gen;
    struct jt808_hdr h;       /* the request's header, to address the answer */
    int result;               /* JT808_REG_*, or negative: store trouble, send nothing */
    char code[33];
};

struct regsvc;

int regsvc_create(struct registry *reg, unsigned workers, unsigned depth,
                  struct regsvc **out);
void *regsvc_main(void *arg);
void regsvc_stop(struct regsvc *s);
void regsvc_destroy(struct regsvc *s);

/* Fills <q> from a decoded 0x0100 <m> arriving on connection <conn>/<gen>. */
void regsvc_req_fill(struct reg_req *q, const struct jt808_msg *m, uint32_t conn,
                     uint16_t gen);
/* Queues <q> for worker <w>: 0, or -EAGAIN when the ring is full (dropped, counted). */
int regsvc_submit(struct regsvc *s, unsigned w, const struct reg_req *q);
/* Takes up to <max> answers for worker <w>; returns how many. */
unsigned regsvc_poll(struct regsvc *s, unsigned w, struct reg_rsp *out, unsigned max);
/* Requests queued and not yet answered for worker <w> (for the worker's wait timeout). */
unsigned regsvc_pending(const struct regsvc *s, unsigned w);

#endif
