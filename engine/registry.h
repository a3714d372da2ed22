/* registry.h: the engine's view of the vehicle registry for JT/T 808 sessions:
 * registration (0x0100 -> result + authentication code), authentication (0x0102) and
 * logout (0x0003). It wraps the store's meta environment (the durable registry); every
 * call is a short LMDB transaction, made only on these rare session events, never per
 * location report. Thread-safe (LMDB serialises meta writes; reads are concurrent). */
#ifndef RW_REGISTRY_H
#define RW_REGISTRY_H

#include <stdint.h>

#include "engine/proto/jt808.h"
#include "store/store.h"

struct registry;

/* <open_mode> 1 enrols unknown terminals at registration (jt808 registration open). */
int registry_open(struct store *st, int open_mode, struct registry **out);
void registry_close(struct registry *r);
void registry_set_open_mode(struct registry *r, int open_mode);

/* Handles a decoded 0x0100 from the terminal with header <h>: strict mode accepts only a
 * registered terminal (by phone) or vehicle (by plate + colour); open mode enrols an
 * unknown one. On success issues a new authentication code (stored durably before the
 * answer is sent) into <code> (NUL-terminated, <= 32 chars). Returns the 0x8100 result
 * (JT808_REG_*), or a negative code for a store failure (answer nothing; the terminal
 * retries). */
int registry_register(struct registry *r, const struct jt808_hdr *h,
                      const struct jt808_register *reg, char code[33]);

/* The same for <n> registrations in one durable transaction (the registration service
 * batches what arrives together: one fsync per batch). Each item's result and code are
 * set; a store failure sets every result to the (negative) code. */
struct registry_req {
    const struct jt808_hdr *h;
    const struct jt808_register *reg;
    int result;                   /* out: JT808_REG_*, or negative */
    char code[33];                /* out: on JT808_REG_OK */
};
#define REGISTRY_BATCH_MAX 64
int registry_register_many(struct registry *r, struct registry_req *q, size_t n);

/* Checks the authentication code <code> of the terminal <phone>. Returns 0 and sets
 * <*vehicle_id> (and the plate, GBK NUL-padded 21 bytes, and colour) when it matches,
 * -ENOENT for an unknown terminal, -EACCES for a wrong code, or a store error. */
int registry_authenticate(struct registry *r, const uint8_t phone[10], struct rw_bytes code,
                          uint32_t *vehicle_id, uint8_t plate[21], uint8_t *color);

/* 0x0003 logout: forgets the terminal's authentication code (it must register again). */
int registry_logout(struct registry *r, const uint8_t phone[10]);

#endif
