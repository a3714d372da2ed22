/* backup_test.c: full backup while a thread keeps writing, an incremental after more
 * writes, backup verify (and a corrupted copy detected), restore into an empty directory,
 * then record-for-record comparison with the source store. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/store/test_util.h"

static struct store *st;
static atomic_int stop_writer;
static int64_t t0;
static atomic_uint written_batches;

static void *writer(void *arg)
{
    (void)arg;
    for (uint32_t k = 0; !atomic_load(&stop_writer) && k < 2000; k++) {
        struct store_batch *b;
        if (store_batch_get(st, 0, &b))
            break;
        for (uint32_t i = 0; i < 64; i++) {
            struct store_pos p;
            tu_pos(&p, 1 + i, t0 + k, 2);
            store_batch_add_pos(b, &p);
        }
        if (tu_submit_wait(st, 0, b))
            break;
        atomic_fetch_add(&written_batches, 1);
    }
    return NULL;
}

static long count_all(struct store *s, struct store_pos *buf)
{
    long total = 0;
    for (uint32_t v = 1; v <= 64; v++)
        total += store_track_read(s, v, t0 - 86400, t0 + 86400, buf, 1 << 16);
    return total;
}

Test(store_backup, full_incremental_verify_restore)
{
    char dir[256], bdir[300], rdir[300];
    tu_mkdtemp(dir, "bk");
    snprintf(bdir, sizeof bdir, "%s/backups", dir);
    snprintf(rdir, sizeof rdir, "%s/restored", dir);
    char sdir[300];
    snprintf(sdir, sizeof sdir, "%s/store", dir);
    struct store_config c;
    tu_config(&c, sdir);
    st = tu_open(&c);
    t0 = time(NULL) - 7200;
    struct store_vehicle v = {0};
    v.plate_len = 3;
    memcpy(v.plate, "A12", 3);
    snprintf(v.phone, sizeof v.phone, "123");
    cr_assert_eq(store_vehicle_put(st, &v), 0);
    pthread_t th;
    pthread_create(&th, NULL, writer, NULL);
    while (atomic_load(&written_batches) < 50)
        usleep(1000);
    cr_assert_geq(store_backup(st, bdir, 0), 2, "meta + at least one day while writing");
    atomic_store(&stop_writer, 1);
    pthread_join(th, NULL);
    cr_assert_geq(store_backup(st, bdir, 1), 1, "incremental: meta + changed days");
    cr_expect_eq(store_backup_verify(bdir), 0);
    cr_assert_eq(store_restore(bdir, rdir), 0);
    cr_expect_neq(store_restore(bdir, rdir), 0, "refuses a non-empty target");
    static struct store_pos a[1 << 16], b2[1 << 16];
    struct store_config rc;
    tu_config(&rc, rdir);
    struct store *r = tu_open(&rc);
    cr_expect_eq(store_verify(r), 0);
    for (uint32_t vid = 1; vid <= 64; vid++) {
        long na = store_track_read(st, vid, t0 - 86400, t0 + 86400, a, 1 << 16);
        long nb = store_track_read(r, vid, t0 - 86400, t0 + 86400, b2, 1 << 16);
        cr_assert_eq(na, nb, "vehicle %u", vid);
        for (long i = 0; i < na; i++)
            cr_assert(tu_pos_eq(&a[i], &b2[i]), "vehicle %u point %ld", vid, i);
    }
    cr_expect_gt(count_all(r, a), 0);
    struct store_vehicle g;
    cr_expect_eq(store_vehicle_by_phone(r, "123", &g), 0);
    store_close(r);
    store_close(st);
    /* a flipped byte in a backup file is detected */
    char man[400], path[400], name[64];
    snprintf(man, sizeof man, "%s/0001-full/MANIFEST", bdir);
    FILE *f = fopen(man, "r");
    cr_assert(fscanf(f, "%63s", name) == 1);
    fclose(f);
    snprintf(path, sizeof path, "%s/0001-full/%s", bdir, name);
    f = fopen(path, "r+b");
    fseek(f, 5000, SEEK_SET);
    fputc(0xee ^ fgetc(f), f);
    fclose(f);
    cr_expect_gt(store_backup_verify(bdir), 0);
    tu_rmrf(dir);
}
