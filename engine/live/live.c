/* live.c: the shared-memory live table (see live.h). */
#include "engine/live/live.h"

#include <ck_pr.h>
#include <ck_sequence.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/proto/jt808.h"

struct live {
    void *map;
    size_t map_len;
    struct live_hdr *hdr;
    struct live_slot *slots;
    uint64_t n;
};

_Static_assert(sizeof(ck_sequence_t) == sizeof(uint32_t), "slot seq field fits ck_sequence");

void live_default_path(const char *instance, char *out, size_t cap)
{
    snprintf(out, cap, "/dev/shm/roadwatch-%s", instance);
}

static int live_map(int fd, size_t len, int prot, struct live **out)
{
    void *m = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    struct live *lv = mem_calloc(1, sizeof *lv);
    if (!lv) {
        munmap(m, len);
        return -ENOMEM;
    }
    lv->map = m;
    lv->map_len = len;
    lv->hdr = m;
    lv->slots = (struct live_slot *)((char *)m + LIVE_HDR_SIZE);
    lv->n = (len - LIVE_HDR_SIZE) / sizeof(struct live_slot);
    *out = lv;
    return 0;
}

int live_open_rw(const char *path, uint64_t slots, unsigned workers, uint64_t tag,
                 struct live **out)
{
    *out = NULL;
    if (workers == 0 || workers > LIVE_MAX_WORKERS || slots == 0)
        return RW_E_FIELD;
    size_t len = LIVE_HDR_SIZE + (size_t)slots * sizeof(struct live_slot);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || (st.st_size != (off_t)len && ftruncate(fd, (off_t)len) != 0))
        rc = -errno;
    if (rc == 0)
        rc = live_map(fd, len, PROT_READ | PROT_WRITE, out);
    close(fd);
    if (rc)
        return rc;
    struct live *lv = *out;
    int fresh = lv->hdr->magic != LIVE_MAGIC || lv->hdr->version != LIVE_VERSION ||
                lv->hdr->slots != slots || lv->hdr->tag != tag;
    if (fresh)
        memset(lv->map, 0, len);
    /* After a restart nothing is connected (the vehicles keep their last position), and a
     * write cut by kill -9 leaves an odd sequence that readers would wait on forever. */
    for (uint64_t i = 0; !fresh && i < lv->n; i++) {
        lv->slots[i].seq &= ~1u;
        if (lv->slots[i].connected)
            lv->slots[i].connected = 0;
    }
    memset(lv->hdr->metrics, 0, sizeof lv->hdr->metrics);
    lv->hdr->slots = slots;
    lv->hdr->tag = tag;
    lv->hdr->workers = workers;
    lv->hdr->slot_size = sizeof(struct live_slot);
    lv->hdr->start_time = time(NULL);
    lv->hdr->pid = getpid();
    lv->hdr->version = LIVE_VERSION;
    __atomic_store_n(&lv->hdr->magic, LIVE_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

int live_open_ro(const char *path, struct live **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? -errno : 0;
    if (rc == 0 && (size_t)st.st_size < LIVE_HDR_SIZE + sizeof(struct live_slot))
        rc = RW_E_FIELD;
    if (rc == 0)
        rc = live_map(fd, (size_t)st.st_size, PROT_READ, out);
    close(fd);
    if (rc)
        return rc;
    const struct live_hdr *h = (*out)->hdr;
    if (h->magic != LIVE_MAGIC || h->version != LIVE_VERSION ||
        h->slot_size != sizeof(struct live_slot)) {
        live_close(*out);
        *out = NULL;
        return RW_E_FIELD;
    }
    return 0;
}

void live_close(struct live *lv)
{
    if (!lv)
        return;
    munmap(lv->map, lv->map_len);
    mem_free(lv);
}

uint64_t live_slots(const struct live *lv)
{
    return lv->n;
}

const struct live_hdr *live_header(const struct live *lv)
{
    return lv->hdr;
}

struct live_metrics *live_metrics_rw(struct live *lv, unsigned worker)
{
    return worker < LIVE_MAX_WORKERS ? &lv->hdr->metrics[worker] : NULL;
}

struct live_store *live_store_rw(struct live *lv)
{
    return &lv->hdr->store;
}

struct live_jt809 *live_jt809_rw(struct live *lv)
{
    return &lv->hdr->jt809;
}

/* Writers take the slot by moving its sequence from even to odd with a CAS, so that the
 * rare moment two threads write one vehicle (a terminal's new connection on another
 * worker while the old one closes) cannot corrupt it; an uncontended CAS costs about what
 * ck_sequence_write_begin's increment does. Readers are the plain seqlock readers. */
struct live_slot *live_slot_write_begin(struct live *lv, uint32_t vehicle_id)
{
    if (vehicle_id >= lv->n)
        return NULL;
    struct live_slot *s = &lv->slots[vehicle_id];
    for (;;) {
        unsigned v = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
        /* acquire: no data store of the update moves above the odd sequence */
        if (!(v & 1u) && __atomic_compare_exchange_n(&s->seq, &v, v + 1, 0, __ATOMIC_ACQUIRE,
                                                     __ATOMIC_RELAXED))
            break;
        ck_pr_stall();
    }
    return s;
}

void live_slot_write_end(struct live_slot *s)
{
    __atomic_fetch_add(&s->seq, 1u, __ATOMIC_RELEASE);
}

void live_slot_apply_pos(struct live_slot *s, const struct store_pos *p)
{
    uint32_t day = (uint32_t)store_day_of(p->gnss_time);
    if (day != s->day) {
        s->day = day;
        s->points_today = 0;
    }
    s->points_today++;
    if (p->gnss_time < s->gnss_time)
        return;
    s->gnss_time = p->gnss_time;
    s->lat_e6 = p->lat_e6;
    s->lon_e6 = p->lon_e6;
    s->alarm = p->alarm;
    s->status = p->status;
    s->speed_dkmh = p->speed_dkmh;
    s->direction = p->direction;
    s->altitude_m = p->altitude_m;
    if (p->present & JT808_X_MILEAGE) /* the odometer item was sent */
        s->mileage_hm = p->mileage_hm;
    s->fix_valid = (p->status & JT808_ST_FIX) != 0;
}

int live_slot_read(const struct live *lv, uint32_t vehicle_id, struct live_slot *out)
{
    if (vehicle_id >= lv->n)
        return -ENOENT;
    const struct live_slot *s = &lv->slots[vehicle_id];
    /* A seqlock read that gives up instead of spinning forever on an odd sequence (a
     * writer killed mid-update). ck_sequence_read_begin() would wait unboundedly. */
    for (unsigned tries = 0; tries < 100000; tries++) {
        unsigned v = ck_pr_load_uint(&s->seq);
        if (v & 1u) {
            ck_pr_stall();
            continue;
        }
        ck_pr_fence_load();
        memcpy(out, s, sizeof *out);
        ck_pr_fence_load();
        if (ck_pr_load_uint(&s->seq) == v)
            return 0;
    }
    return -EAGAIN;
}
