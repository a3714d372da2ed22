/* link809_int.h: internals shared by link809.c (loop, links, login, subordinate link) and
 * link809_biz.c (business bodies -> store). Never included outside engine/link809*.c.
 *
 * epoll user data (64 bits):
 *   bits 56..63  kind (L809_EV_*)
 *   bits 32..47  link generation (events of a reused slot are ignored)
 *   bits  0..31  link index
 */
#ifndef RW_LINK809_INT_H
#define RW_LINK809_INT_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/link809.h"
#include "engine/live/mesh.h"
#include "engine/proto/jt809.h"

enum l809_ev { L809_EV_LISTEN = 1, L809_EV_WAKE = 2, L809_EV_MAIN = 3, L809_EV_SUB = 4 };

enum l809_state {
    L809_FREE = 0,
    L809_NEW,        /* connected, waiting for 0x1001 */
    L809_UP,         /* logged in */
    L809_CLOSING,    /* answer queued, close once it is sent */
};

enum l809_sub_state {
    L809_SUB_NONE = 0,    /* not wanted (not logged in) or refused (address not allowed) */
    L809_SUB_IDLE,        /* wanted, not connected: retry at sub_next_ms */
    L809_SUB_CONNECTING,  /* non-blocking connect in progress */
    L809_SUB_WAIT_RSP,    /* 0x9001 sent, waiting for 0x9002 */
    L809_SUB_UP,
};

#define L809_OUT_CAP 2048u   /* queued output per link side; our frames are < 100 bytes */
#define L809_RX_CAP 16384u   /* receive buffer per link side */

/* One side (main or subordinate) of a link: socket, receive buffer, framer, output. */
struct l809_side {
    int fd;
    uint8_t want_out;        /* EPOLLOUT registered */
    uint8_t in_off;          /* EPOLLIN removed (paused or connecting) */
    uint32_t rx_off, rx_len; /* unprocessed bytes in rx[] (parked while paused) */
    uint32_t out_len;
    uint32_t sn_out;         /* MSG_SN of our next frame on this side */
    int64_t t_last_ms;       /* last frame received */
    uint8_t rx[L809_RX_CAP];
    uint8_t out[L809_OUT_CAP];
    struct jt809_framer fr;
};

struct l809_link {
    uint16_t gen;
    uint8_t state;           /* enum l809_state */
    uint8_t sub_state;       /* enum l809_sub_state */
    uint8_t paused;          /* on the paused list: waiting for a store batch */
    uint8_t dirty;           /* on the flush list */
    uint8_t encrypt_out;
    uint8_t junk;            /* bad or unauthenticated frames before login */
    uint8_t up_counted;      /* counted in links_up */
    uint16_t bad_frames;     /* after login */
    uint32_t user_id;
    uint32_t access_code;
    uint32_t verify_code;
    int64_t t_open_ms;
    int64_t sub_deadline_ms; /* connect / 0x9002 deadline */
    int64_t sub_next_ms;     /* next 0x9005, or next connect attempt */
    struct jt809_peer peer;  /* edition pinned at login, keys of the account */
    struct sockaddr_storage addr;     /* main link's source */
    struct sockaddr_storage down;     /* DOWN_LINK_IP:PORT, when allowed */
    socklen_t down_len;
    struct l809_side m;      /* main link */
    struct l809_side s;      /* subordinate link */
};

/* Plate+colour -> vehicle id cache entry (open addressing, bounded probe, overwrite). */
struct l809_vc {
    uint32_t vid;            /* 0: empty */
    uint8_t colour;
    uint8_t len;
    uint8_t plate[21];
};

/* Alarm reference -> alarm id (ring; the oldest entry is overwritten). */
enum l809_aref { L809_AREF_INFO_ID = 1, L809_AREF_MSG_SN = 2 };
struct l809_amap {
    uint32_t user_id;
    uint32_t ref;            /* INFO_ID (2011) or MSG_SN of the 0x1402 frame (2019) */
    uint8_t kind;            /* enum l809_aref; 0 empty */
    uint64_t alarm_id;
};

struct link809 {
    const struct cfg *cfg;
    struct store *st;
    struct live *lv;
    struct mesh *mesh;       /* live-state changes go to each vehicle's owning worker */
    unsigned mesh_p;         /* this thread's producer row in the mesh */
    uint64_t mesh_dropped_logged;
    unsigned shard;
    int listen_fd;
    int ep;
    int wake_fd;
    int port;
    int stop;                /* atomic */
    int64_t now_ms;
    int64_t next_tick_ms;
    uint32_t linktest_ms;
    uint8_t encrypt_out;
    uint16_t cfg_edition;    /* JT809_ED_* from cfg->jt809_edition */
    struct l809_link *links;
    uint32_t n_links;        /* links not FREE */
    uint32_t *free_list;
    uint32_t n_free;
    uint32_t *dirty;
    uint32_t n_dirty;
    uint32_t *paused;
    uint32_t n_paused;
    /* store batches */
    struct store_batch *cur;
    uint32_t cur_pos, cur_raw;
    uint32_t batch_records;
    uint32_t inflight;
    /* caches */
    struct l809_vc *vc;
    struct l809_amap *amap;
    uint32_t amap_next;
    struct link809_metrics met;
    uint8_t scratch[JT809_CONTENT_MAX];   /* unescaping of sent frames for the raw log */
};

/* Counters: single writer (this thread), relaxed atomic stores so that readers on other
 * threads (link809_metrics_get) are race-free. */
#define L809_MET_ADD(l, f, n) __atomic_store_n(&(l)->met.f, (l)->met.f + (n), __ATOMIC_RELAXED)
#define L809_MET_INC(l, f) L809_MET_ADD(l, f, 1)

static inline uint64_t l809_conn_id(const struct link809 *l, const struct l809_link *k,
                                    int sub)
{
    return (uint64_t)l->shard << 48 | (uint64_t)(sub ? 1 : 0) << 40 |
           (uint64_t)(k - l->links) << 16 | k->gen;
}

/* link809.c for link809_biz.c */
/* Appends a raw frame of link <k> (side <sub>) to the open batch; counts a drop. */
void l809_raw(struct link809 *l, struct l809_link *k, int sub, const uint8_t *p, size_t n,
              int dir);
/* Adds a position to the open batch (making room once if needed). 0 or a negative code. */
int l809_add_pos(struct link809 *l, const struct store_pos *p);

/* link809_biz.c */
/* Handles a decoded business message (0x1200, 0x1300, 0x1400, 0x1500, 0x1600) of a
 * logged-in link. Never fails the link: problems are counted. */
void l809_business(struct link809 *l, struct l809_link *k, const struct jt809_msg *m);
/* Plate+colour -> vehicle id via the cache, the registry, or enrolment (owner <user_id>).
 * Returns the id, or 0 when the vehicle cannot be identified (counted). */
uint32_t l809_vehicle(struct link809 *l, struct rw_bytes plate, uint8_t colour,
                      uint32_t user_id);

#endif
