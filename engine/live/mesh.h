/* mesh.h: the vehicle-ownership mesh (ARCHITECTURE §1).
 *
 * Every vehicle has one owning worker, owner = vehicle id % workers. Only the owner writes
 * the vehicle's live slot, so each vehicle's state changes come as one ordered stream per
 * producer, whatever connection, worker or protocol they arrived on (JT/T 808 on any worker,
 * JT/T 809 on the link thread). A producer that is not the owner sends the change through
 * a ck SPSC ring (one per producer × owner: the N×N mesh, plus one row for the JT/T 809
 * link thread); the owner drains its column at each loop iteration and applies the changes.
 *
 *   producer p (worker or 809 thread)          owner o (worker)
 *   ─────────────────────────────────          ────────────────
 *   mesh_room(m, p, o) ≥ what a frame needs    mesh_sleep(m, o) before waiting: 1 = changes
 *   mesh_send(m, p, o, &msg)   ─ ring[p][o] ─►   are queued, do not sleep
 *   mesh_flush(m, p): wakes the owners it       mesh_drain(m, o, lv, budget): applies them
 *     sent to that are asleep (eventfd)         mesh_awake(m, o) after the wait
 *
 * What crosses is the live-state change only. The record itself (position, raw frame) is
 * stored from the receiving worker's own batch and acknowledged from there after commit
 * (commit-then-ack needs no hop); the store orders a vehicle's points by GNSS time.
 *
 * A full ring: positions are checked for room before the frame is read (the connection
 * waits, like a full store pool); a connect or disconnect that finds the ring full waits
 * in the producer's bounded overflow queue, sent first at the next flush; only when that
 * is full too is the change dropped and counted (a later change of the vehicle repairs
 * it). Memory: depth × sizeof(struct mesh_msg) per ring, fixed at creation.
 *
 * Threading: mesh_room/send/flush for producer p from p's thread only; mesh_sleep/awake/
 * drain for owner o from o's thread only; mesh_apply on any slot's single writer.
 */
#ifndef RW_MESH_H
#define RW_MESH_H

#include <stdint.h>

#include "engine/live/live.h"
#include "store/store.h"

enum mesh_kind {
    MESH_CONNECT = 1,    /* a JT/T 808 connection authenticated: it holds the vehicle */
    MESH_DISCONNECT = 2, /* that connection closed */
    MESH_POS = 3,        /* a position on the vehicle's JT/T 808 connection */
    MESH_POS_809 = 4,    /* a position through a JT/T 809 link */
};

struct mesh_msg {
    uint8_t kind;             /* enum mesh_kind */
    uint8_t plate_color;      /* CONNECT, POS_809 */
    uint8_t plate[21];        /* CONNECT, POS_809: GBK, NUL-padded */
    int64_t recv_time;        /* UTC s of the frame */
    uint64_t conn_id;         /* CONNECT, DISCONNECT, POS_809 */
    uint64_t since_ns;        /* CONNECT: CLOCK_MONOTONIC of the authentication */
    struct store_pos pos;     /* POS, POS_809; pos.vehicle_id names the vehicle (all kinds) */
};

/* Per producer (the fields are the producer's own; read them from its thread). */
struct mesh_counts {
    uint64_t sent;            /* changes sent to other owners */
    uint64_t applied;         /* changes applied as owner (received, for workers) */
    uint64_t dropped;         /* changes lost: ring and overflow full */
};

struct mesh;

/* <owners> workers own vehicles; <producers> (≥ owners: the workers, then the link
 * threads) send. <depth> messages per ring (rounded up to a power of two). */
int mesh_create(unsigned owners, unsigned producers, unsigned depth, struct mesh **out);
void mesh_destroy(struct mesh *m);

static inline unsigned mesh_owner_of(unsigned owners, uint32_t vehicle_id)
{
    return vehicle_id % owners;
}
unsigned mesh_owner(const struct mesh *m, uint32_t vehicle_id);

/* Producer side. mesh_room: free places in ring[p][o] (0 while its overflow holds
 * anything). mesh_send: 0, or -ENOBUFS when the change was dropped (counted). */
unsigned mesh_room(const struct mesh *m, unsigned p, unsigned o);
int mesh_send(struct mesh *m, unsigned p, unsigned o, const struct mesh_msg *msg);
void mesh_flush(struct mesh *m, unsigned p);
struct mesh_counts *mesh_counts(struct mesh *m, unsigned p);

/* Owner side. The eventfd a producer writes to wake owner <o> (the owner keeps a read
 * armed on it). mesh_sleep marks the owner asleep and returns 1 when changes are queued
 * (then it must not sleep); mesh_awake clears the mark. mesh_drain applies at most
 * <budget> changes and returns how many it applied. */
int mesh_wake_fd(const struct mesh *m, unsigned o);
int mesh_sleep(struct mesh *m, unsigned o);
void mesh_awake(struct mesh *m, unsigned o);
unsigned mesh_drain(struct mesh *m, unsigned o, struct live *lv, unsigned budget);

/* Applies one change to the live table; called by the vehicle's owner only. A CONNECT
 * takes the slot unless a newer connection (by since_ns) holds it; a DISCONNECT clears
 * "connected" only for the connection that holds the slot; a POS_809 claims the slot only
 * when no JT/T 808 connection holds it. */
void mesh_apply(struct live *lv, const struct mesh_msg *msg);

#endif
