/* link809.h: the JT/T 809 main-link server — lower (enterprise) platforms log in to us, the
 * upper platform (shared/protocols/jt809.md §1; ARCHITECTURE §2).
 *
 *   lower platform                        link809 thread (this module)
 *   ──────────────                        ────────────────────────────
 *   main link: connect ─────────────────► accept (cfg jt809_tcp), framer, login first
 *     0x1001 UP_CONNECT_REQ ────────────► store_platform_check: user(3), IP(1), access
 *                                         code(2), password(4)   (store.h order)
 *     ◄──────────────────────────────────  0x1002 result + random VERIFY_CODE
 *   subordinate link: listen  ◄─────────  connect to DOWN_LINK_IP:PORT (loopback or the
 *     ◄──────────────────────────────────  main link's own source address only), 0x9001
 *     0x9002 result ────────────────────►  then 0x9005 every LINK809_LINKTEST_S; 0x9006
 *     0x1005 ───────────────────────────►  0x1006 (main link)
 *     0x1200/0x1400/0x1600/0x1300 ──────►  positions, registrations, alarms, static info
 *                                          -> store batches (shard <shard>), live table,
 *                                          meta (vehicles, alarms); raw log of every frame
 *     0x1003 ───────────────────────────►  0x1004, both links closed
 *
 * Why its own thread with an epoll loop (not a worker's io_uring): 809 links are few (tens
 * to hundreds) and long-lived, each carrying many vehicles, so per-event syscall cost does
 * not matter while latency isolation does. The rare control events on this thread block
 * for milliseconds — an Argon2id password check per login, a durable meta write per new
 * vehicle, per alarm and per handling result — which must never stall a JT/T 808 worker.
 * epoll with non-blocking sockets also gives the non-blocking connect of the subordinate
 * link and exact backpressure simply (a paused link leaves EPOLLIN). Positions themselves
 * go through the same store batch machinery as the 808 workers (no per-record syscall).
 *
 * Threading: link809_create/destroy from the control thread; link809_main is the thread
 * entry; link809_stop and link809_metrics_get may be called from any thread. Everything
 * else in struct link809 belongs to its thread. It alone uses store shard <shard> (the
 * store must be opened with one extra shard for it) and it writes live-table slots of the
 * vehicles it hears about (see "Live table" below).
 *
 * Policies (documented choices):
 * - Before a successful 0x1001 nothing else is handled or answered, nothing reaches the
 *   store (not even the raw log); such frames are counted (frames_unauth). A link is
 *   closed after LINK809_PRELOGIN_JUNK_MAX bad/unauthenticated frames, after
 *   LINK809_PRELOGIN_GARBAGE_MAX bytes outside frames, after a failed login (once its
 *   0x1002 is sent) and after LINK809_LOGIN_TIMEOUT_S without a login.
 * - Edition of a link: the account's (store_platform.edition 1/2), else cfg jt809_edition,
 *   else the edition detected on its 0x1001 (whose fixed body size tells them apart),
 *   pinned for the life of the link (safer than guessing per frame).
 * - Encryption: bodies flagged encrypted are decrypted with the account's M1/IA1/IC1. An
 *   encrypted 0x1001 is decrypted by trying the accounts whose access code equals the
 *   header's MSG_GNSSCENTERID. We send plain bodies unless the environment variable
 *   RW_JT809_ENCRYPT_OUT=1 is set and the account has keys (then every frame we send is
 *   encrypted with a random per-frame key).
 * - A second successful login of the same user id replaces the older link (newest wins, as
 *   for 808 terminals): a lower platform that lost its link must not be locked out for
 *   link_timeout_s. Result 5 (busy) is answered when the store cannot check the login now.
 * - The subordinate link is only ever connected to a loopback address or to the main
 *   link's own source address: a login must not make us connect to arbitrary hosts (SSRF).
 *   Otherwise we send 0x9007 (reason 0x00) and all traffic stays on the main link. A
 *   failed subordinate link is retried every LINK809_SUB_RETRY_S while the main link is up.
 *   When the main link closes, the subordinate link is closed too.
 * - Vehicles are identified by plate + colour (VEHICLE_NO trimmed of NUL/space padding).
 *   Unknown vehicles of a logged-in platform are enrolled (store_vehicle_enrol, owning
 *   platform = the 809 user id): the upper platform must accept what its lower platforms
 *   forward, and the registry is where the regulator then completes them. A bounded cache
 *   (LINK809_VCACHE) keeps the meta store out of the per-position path.
 * - Alarms: 0x1402 -> store_alarm_put (source 2, state LINK809_ALARM_ST_NEW). Handling
 *   results map back through a bounded ring (LINK809_AMAP entries, oldest overwritten):
 *   2011 0x1403 by (user id, INFO_ID of the 0x1402); 2019 0x1412 by (user id, SOURCE_MSG_SN
 *   = MSG_SN of the 0x1402 frame); 0x1401/0x1411 (answers to an urge, 0x9401) by
 *   SUPERVISION_ID, which by this engine's convention is the low 32 bits of the alarm id,
 *   accepted only when that alarm's vehicle belongs to the answering platform. The 809
 *   RESULT r (0 in progress, 1 done, 2 not handled, 3 later) becomes state
 *   LINK809_ALARM_ST_IN_PROGRESS + r. Unmatched results are counted and logged.
 * - 0x1601 static info: logged; VEHICLE_NATIONALITY (6-digit division code) fills the
 *   vehicle's region when it has none — the only CAR_INFO field the registry has room for.
 * - Raw log: every frame of a logged-in link, received (as received: still encrypted if it
 *   was) and sent, on both links, as unescaped content (proto STORE_PROTO_809). The 0x1001
 *   of a successful login is logged with its 8 PASSWORD bytes zeroed (CRC left as received,
 *   so the redaction shows). Failed logins are not logged.
 * - Backpressure: positions are committed by the store writer and nothing waits for them
 *   (809 has no per-record ack), but when no batch is free the link stops reading (its
 *   unread bytes stay in its receive buffer and TCP slows the sender) until one is.
 *
 * Live table: each position's change goes through the mesh (live/mesh.h) to the worker
 * that owns the vehicle, the slot's only writer; a vehicle that also has its own JT/T 808
 * connection stays held by that connection (the 809 feed updates its position only).
 *
 * Connection ids in the raw log: shard << 48 | sub << 40 | link index << 16 | generation,
 * sub = 1 for the subordinate link.
 */
#ifndef RW_LINK809_H
#define RW_LINK809_H

#include <stdint.h>

#include "engine/cfg/cfg.h"
#include "engine/live/live.h"
#include "store/store.h"

/* Compile-time limits (each bounded; see the policies above). */
#define LINK809_MAX_LINKS 256            /* concurrent main links; beyond: accept-and-close */
#define LINK809_LOGIN_TIMEOUT_S 30       /* connected without a successful 0x1001 */
#define LINK809_PRELOGIN_JUNK_MAX 8      /* bad or non-0x1001 frames before login */
#define LINK809_PRELOGIN_GARBAGE_MAX 4096 /* bytes outside frames before login */
#define LINK809_LINKTEST_S 60            /* 0x9005 period; env RW_JT809_LINKTEST_S overrides */
#define LINK809_SUB_TIMEOUT_S 10         /* subordinate connect + 0x9002 answer */
#define LINK809_SUB_RETRY_S 30           /* retry of a failed subordinate link */
#define LINK809_VCACHE 8192              /* plate+colour -> vehicle id cache (power of 2) */
#define LINK809_AMAP 4096                /* alarm reference -> alarm id ring */

/* Alarm handling states written by this module (alarms.md §4.2 order). */
enum link809_alarm_state {
    LINK809_ALARM_ST_NEW = 0,
    LINK809_ALARM_ST_CONFIRMED = 1,
    LINK809_ALARM_ST_IN_PROGRESS = 2,   /* 809 RESULT 0x00 */
    LINK809_ALARM_ST_DONE = 3,          /* 0x01 */
    LINK809_ALARM_ST_NOT_HANDLED = 4,   /* 0x02 */
    LINK809_ALARM_ST_DEFERRED = 5,      /* 0x03 */
    LINK809_ALARM_ST_TRACKING = 6,
    LINK809_ALARM_ST_CLOSED = 7,
};

/* Counters (STYLE §8): written by the link809 thread only, read with link809_metrics_get()
 * from any thread. Prometheus names: roadwatch_jt809_<field>. */
struct link809_metrics {
    uint64_t links_accepted;
    uint64_t links_refused;        /* over LINK809_MAX_LINKS */
    uint64_t links_closed;
    uint64_t links_up;             /* gauge: logged-in main links */
    uint64_t logins_ok;
    uint64_t logins_failed[8];     /* by 0x1002 result: [1] IP .. [5] busy, [6] other */
    uint64_t frames_in;            /* good frames, both links */
    uint64_t frames_out;
    uint64_t frames_bad;           /* framing, CRC, decryption or decode errors */
    uint64_t frames_unauth;        /* dropped: before login */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t positions;            /* 0x1202 positions handed to the store */
    uint64_t positions_reup;       /* 0x1203 positions handed to the store */
    uint64_t positions_bad;        /* impossible date, no vehicle: not stored */
    uint64_t vehicles_enrolled;
    uint64_t registrations;        /* 0x1201 */
    uint64_t static_info;          /* 0x1601 */
    uint64_t alarms;               /* 0x1402 stored */
    uint64_t alarm_results;        /* handling results applied */
    uint64_t alarm_results_unmatched;
    uint64_t sub_up;               /* subordinate links established (0x9002 result 0) */
    uint64_t sub_failed;           /* connect error, refusal, timeout */
    uint64_t sub_refused;          /* DOWN_LINK_IP not allowed: not connected */
    uint64_t link_timeouts;        /* links closed for silence */
    uint64_t backpressure_events;  /* reading paused: no free store batch */
    uint64_t raw_dropped;          /* raw frames not logged (no room) */
    uint64_t store_errors;         /* meta calls that failed, batches refused */
    uint64_t mesh_sent;            /* live-state changes sent to the vehicles' owners */
    uint64_t mesh_dropped;         /* live-state changes lost to a full mesh ring */
};
_Static_assert(sizeof(struct link809_metrics) <= sizeof(((struct live_jt809 *)0)->m),
               "the JT/T 809 counters fit the live table's block");

struct link809;

/* Creates the server: listening socket on cfg->jt809_tcp ("host:port"; port 0 picks a free
 * one, see link809_port()), epoll, eventfd, LINK809_MAX_LINKS link slots (about 150 KiB
 * each: two framers of JT809_CONTENT_MAX), the caches. <cfg>, <st> and <lv> must outlive
 * the server; <st> must be open with at least <shard> + 1 shards. Reads the environment
 * variables RW_JT809_LINKTEST_S and RW_JT809_ENCRYPT_OUT once, here.
 * Returns 0 and sets <*out>, RW_E_FIELD (jt809_tcp empty or unparsable, shard out of
 * range), -ENOMEM or -errno (socket, bind, listen, epoll). */
int link809_create(const struct cfg *cfg, struct store *st, struct live *lv, unsigned shard,
                   struct link809 **out);

/* Thread entry (<arg> is the struct link809 *): runs until link809_stop(); then closes every
 * link, hands the open batch to the store and waits (bounded, 1 s) for the writer to
 * return the batches in flight. Returns NULL. */
void *link809_main(void *arg);

/* Asks the thread to stop soon (any thread; async-signal-unsafe only because of write(2)
 * on the eventfd, which is in fact async-signal-safe). */
void link809_stop(struct link809 *l);
/* Before the thread starts: live-state changes go through <mesh> as producer <p>. Without
 * it (a link server with no workers) the thread writes the live slots itself. */
struct mesh;
void link809_set_mesh(struct link809 *l, struct mesh *mesh, unsigned p);

/* Frees everything; the thread must have returned (pthread_join). NULL is fine. */
void link809_destroy(struct link809 *l);

/* The port actually listened on (after create; host byte order). */
int link809_port(const struct link809 *l);

/* Copies the counters (relaxed atomic loads; any thread). */
void link809_metrics_get(const struct link809 *l, struct link809_metrics *out);

#endif
