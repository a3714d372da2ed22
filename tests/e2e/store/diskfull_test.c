/* diskfull_test.c: disk full on a small tmpfs. Ingest runs until the file system is full:
 * the store must report -ENOSPC in store_health(), hold the batches (never ack them), and
 * the pool must run dry (backpressure). When space is freed, the writer must resume and
 * commit everything; every acknowledged point must then be present and the integrity walk
 * clean. Needs CAP_SYS_ADMIN for mount(2): exits 77 (skipped) when tmpfs cannot be
 * mounted. Plain program; exit 0 pass, 1 fail. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/store/test_util.h"

#define PB 128

static int fill(const char *path, size_t bytes)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char buf[65536];
    memset(buf, 0x5a, sizeof buf);
    size_t done = 0;
    while (fd >= 0 && done < bytes) {
        ssize_t w = write(fd, buf, sizeof buf);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? 0 : -1;
}

static uint64_t acked; /* points acknowledged: vehicle ids 1..acked/PB*PB */

static void reap(struct store *st, uint32_t *inflight_first)
{
    struct store_batch *d[8];
    unsigned n = store_batch_reap(st, 0, d, 8);
    for (unsigned i = 0; i < n; i++) {
        if (store_batch_status(d[i]) == 0)
            acked += store_batch_count(d[i]);
        store_batch_release(st, d[i]);
    }
    (void)inflight_first;
}

int main(void)
{
    char dir[256], sdir[300], filler[300];
    tu_mkdtemp(dir, "full");
    if (mount("tmpfs", dir, "tmpfs", 0, "size=6m") != 0) {
        fprintf(stderr, "diskfull: cannot mount tmpfs (%s): skipped\n", strerror(errno));
        rmdir(dir);
        return 77;
    }
    snprintf(sdir, sizeof sdir, "%s/store", dir);
    snprintf(filler, sizeof filler, "%s/filler", dir);
    fill(filler, 3u << 20);
    struct store_config c;
    tu_config(&c, sdir);
    c.batch_pos = PB;
    c.day_map_initial = 1u << 20;
    c.day_map_max = 256u << 20; /* larger than the file system: ENOSPC comes first */
    struct store *st = tu_open(&c);
    int64_t t0 = time(NULL) - 3600;
    uint32_t next_vid = 1;
    int saw_full = 0, saw_eagain = 0, fail = 0;
    for (int iter = 0; iter < 20000 && saw_eagain < 1500; iter++) {
        struct store_batch *b;
        reap(st, NULL);
        if (store_batch_get(st, 0, &b) != 0) {
            saw_eagain++;
            usleep(1000);
        } else {
            for (int i = 0; i < PB; i++) {
                struct store_pos p;
                tu_pos(&p, next_vid++, t0 + i, 1);
                store_batch_add_pos(b, &p);
            }
            store_batch_submit(st, b);
        }
        if (store_health(st) < 0 && !saw_full) {
            saw_full = 1;
            printf("diskfull: first error: %s\n", err_str(store_health(st)));
        }
    }
    printf("diskfull: %lu points acked before the disk filled; health %d (%s)\n",
           (unsigned long)acked, store_health(st), err_str(store_health(st)));
    if (!saw_full || !saw_eagain) {
        fprintf(stderr, "expected -ENOSPC and backpressure (full=%d eagain=%d)\n", saw_full,
                saw_eagain);
        fail++;
    }
    if (store_health(st) != -ENOSPC)
        fail++;
    uint64_t acked_full = acked;
    unlink(filler); /* the cause goes away: service must resume */
    for (int i = 0; i < 10000 && acked < (uint64_t)(next_vid - 1); i++) {
        reap(st, NULL);
        usleep(1000);
    }
    printf("diskfull: after freeing space %lu more points acked; health %d\n",
           (unsigned long)(acked - acked_full), store_health(st));
    if (acked != (uint64_t)(next_vid - 1) || store_health(st) != 0) {
        fprintf(stderr, "not resumed: acked %lu of %u\n", (unsigned long)acked, next_vid - 1);
        fail++;
    }
    static struct store_pos out[4];
    for (uint32_t v = 1; v < next_vid; v += 97)
        if (store_track_read(st, v, t0, t0 + PB, out, 4) != 1) {
            fprintf(stderr, "vehicle %u: acked point missing\n", v);
            fail++;
            break;
        }
    if (store_verify(st) != 0)
        fail++;
    store_close(st);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
    printf("diskfull: %s\n", fail ? "FAIL" : "ok");
    return fail ? 1 : 0;
}
