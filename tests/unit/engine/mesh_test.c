/* mesh_test.c: the vehicle-ownership mesh: the owner's rules for connects, disconnects and
 * JT/T 809 positions whatever order they arrive in; full rings (overflow, then counted
 * loss, never a silent one); the sleep/wake handshake; and producer threads against one
 * owner thread, every change applied in each producer's order. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/live/mesh.h"

static char path[64];
static struct live *lv;
static struct mesh *m;

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/rw-mesh-test-%d", (int)getpid());
    unlink(path);
    cr_assert_eq(live_open_rw(path, 4096, 4, 1, &lv), 0);
}

static void teardown(void)
{
    mesh_destroy(m);
    m = NULL;
    live_close(lv);
    unlink(path);
}

TestSuite(mesh, .init = setup, .fini = teardown);

static struct mesh_msg msg_connect(uint32_t vid, uint64_t conn, uint64_t since)
{
    struct mesh_msg x = {.kind = MESH_CONNECT, .conn_id = conn, .since_ns = since,
                         .recv_time = 1795300000, .plate_color = 2};
    x.pos.vehicle_id = vid;
    memcpy(x.plate, "\xd4\xc1" "A00001", 8);
    return x;
}

static struct mesh_msg msg_pos(enum mesh_kind kind, uint32_t vid, int64_t t, uint64_t conn)
{
    struct mesh_msg x = {.kind = (uint8_t)kind, .conn_id = conn, .recv_time = t};
    x.pos.vehicle_id = vid;
    x.pos.gnss_time = t;
    x.pos.lat_e6 = (int32_t)(t % 1000);
    x.pos.status = 2;
    return x;
}

static struct live_slot slot(uint32_t vid)
{
    struct live_slot s;
    cr_assert_eq(live_slot_read(lv, vid, &s), 0);
    return s;
}

Test(mesh, owner_is_vehicle_modulo_workers)
{
    cr_assert_eq(mesh_create(3, 4, 64, &m), 0);
    for (uint32_t v = 0; v < 30; v++)
        cr_expect_eq(mesh_owner(m, v), v % 3);
    cr_expect_eq(mesh_create(0, 1, 64, &(struct mesh *){NULL}), -EINVAL);
    cr_expect_eq(mesh_create(2, 1, 64, &(struct mesh *){NULL}), -EINVAL, "producers < owners");
}

Test(mesh, newest_connect_wins_in_any_arrival_order)
{
    cr_assert_eq(mesh_create(2, 3, 64, &m), 0);
    /* connection B (newer) reaches the owner before connection A */
    struct mesh_msg a = msg_connect(5, 0xA, 100), b = msg_connect(5, 0xB, 200);
    cr_assert_eq(mesh_send(m, 0, 1, &b), 0);
    cr_assert_eq(mesh_send(m, 2, 1, &a), 0);
    cr_expect_eq(mesh_drain(m, 1, lv, 100), 2);
    struct live_slot s = slot(5);
    cr_expect_eq(s.conn_id, 0xB);
    cr_expect_eq(s.conn_since_ns, 200);
    cr_expect(s.connected);
    cr_expect_eq(s.conn_kind, LIVE_CONN_808);
    cr_expect_eq(s.plate_color, 2);
    /* the older connection's disconnect does not clear the newer one */
    struct mesh_msg da = {.kind = MESH_DISCONNECT, .conn_id = 0xA};
    da.pos.vehicle_id = 5;
    mesh_apply(lv, &da);
    cr_expect(slot(5).connected, "A's close leaves B's vehicle connected");
    struct mesh_msg db = da;
    db.conn_id = 0xB;
    mesh_apply(lv, &db);
    cr_expect(!slot(5).connected);
    /* after a disconnect any connect takes the slot, even one with an older clock */
    mesh_apply(lv, &a);
    cr_expect_eq(slot(5).conn_id, 0xA);
}

Test(mesh, jt809_feed_yields_to_the_terminal)
{
    cr_assert_eq(mesh_create(1, 2, 64, &m), 0);
    struct mesh_msg p = msg_pos(MESH_POS_809, 9, 1795300000, 0x809);
    memcpy(p.plate, "\xd4\xc1" "B00009", 8);
    mesh_apply(lv, &p);
    struct live_slot s = slot(9);
    cr_expect_eq(s.conn_kind, LIVE_CONN_809, "an 809 feed holds a vehicle nobody holds");
    cr_expect_eq(s.gnss_time, 1795300000);
    cr_expect_eq(memcmp(s.plate, "\xd4\xc1" "B00009", 8), 0);
    struct mesh_msg c = msg_connect(9, 0x808, 5);
    mesh_apply(lv, &c);
    cr_expect_eq(slot(9).conn_kind, LIVE_CONN_808, "the terminal's own connection takes it");
    struct mesh_msg p2 = msg_pos(MESH_POS_809, 9, 1795300030, 0x809);
    mesh_apply(lv, &p2);
    s = slot(9);
    cr_expect_eq(s.conn_id, 0x808, "a later 809 position does not take the slot back");
    cr_expect_eq(s.gnss_time, 1795300030, "but moves the vehicle");
    struct mesh_msg d809 = {.kind = MESH_DISCONNECT, .conn_id = 0x809};
    d809.pos.vehicle_id = 9;
    mesh_apply(lv, &d809);
    cr_expect(slot(9).connected);
}

Test(mesh, full_ring_overflows_then_counts_its_losses)
{
    cr_assert_eq(mesh_create(2, 2, 64, &m), 0);
    cr_expect_eq(mesh_room(m, 0, 1), 63);
    int64_t t = 1795300000;
    /* 63 fit the ring, 64 more wait in the overflow, the next are lost and counted */
    for (int i = 0; i < 63 + 64; i++) {
        struct mesh_msg x = msg_pos(MESH_POS, 1, t + i, 0);
        cr_assert_eq(mesh_send(m, 0, 1, &x), 0, "message %d", i);
    }
    cr_expect_eq(mesh_room(m, 0, 1), 0, "no room while the overflow holds changes");
    struct mesh_msg lost = msg_pos(MESH_POS, 1, t + 1000, 0);
    cr_expect_eq(mesh_send(m, 0, 1, &lost), -ENOBUFS);
    cr_expect_eq(mesh_counts(m, 0)->dropped, 1);
    cr_expect_eq(mesh_counts(m, 0)->sent, 127);
    unsigned total = 0;
    for (int round = 0; round < 4; round++) {
        total += mesh_drain(m, 1, lv, 1000);
        mesh_flush(m, 0); /* moves the overflow into the drained ring */
    }
    total += mesh_drain(m, 1, lv, 1000);
    cr_expect_eq(total, 127, "every change not reported lost is applied");
    struct live_slot s = slot(1);
    cr_expect_eq(s.points_today, 127);
    cr_expect_eq(s.gnss_time, t + 126, "in the producer's order, the newest last");
    cr_expect_eq(mesh_counts(m, 1)->applied, 127);
    cr_expect_eq(mesh_room(m, 0, 1), 63);
}

Test(mesh, drain_budget_is_kept_and_shared)
{
    cr_assert_eq(mesh_create(1, 3, 256, &m), 0);
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < 100; i++) {
            struct mesh_msg x = msg_pos(MESH_POS, (uint32_t)(10 + p), 1795300000 + i, 0);
            cr_assert_eq(mesh_send(m, (unsigned)p, 0, &x), 0);
        }
    cr_expect_eq(mesh_drain(m, 0, lv, 90), 90);
    for (int p = 0; p < 3; p++)
        cr_expect_geq(slot((uint32_t)(10 + p)).points_today, 25, "producer %d got a share", p);
    cr_expect_eq(mesh_drain(m, 0, lv, 1000), 210);
}

Test(mesh, sleeping_owner_is_woken)
{
    cr_assert_eq(mesh_create(2, 3, 64, &m), 0);
    int fd = mesh_wake_fd(m, 1);
    uint64_t v;
    cr_expect_eq(mesh_sleep(m, 1), 0, "nothing queued: the owner may sleep");
    struct mesh_msg x = msg_pos(MESH_POS, 3, 1795300000, 0);
    cr_assert_eq(mesh_send(m, 2, 1, &x), 0);
    mesh_flush(m, 2);
    cr_expect_eq(read(fd, &v, sizeof v), (ssize_t)sizeof v, "the flush woke the owner");
    mesh_awake(m, 1);
    cr_expect_eq(mesh_sleep(m, 1), 1, "changes queued: the owner must not sleep");
    mesh_awake(m, 1);
    cr_expect_eq(mesh_drain(m, 1, lv, 10), 1);
    /* an awake owner is not woken */
    cr_assert_eq(mesh_send(m, 2, 1, &x), 0);
    mesh_flush(m, 2);
    cr_expect_eq(read(fd, &v, sizeof v), -1);
    cr_expect_eq(errno, EAGAIN);
}

/* Producers on their own threads, one owner thread: each producer sends increasing GNSS
 * times for its own vehicles; the owner must end with every point counted and every
 * vehicle at its producer's last time. */
enum { TP = 3, TV = 8, TN = 20000 };
static volatile int owner_stop;

static void *producer_main(void *arg)
{
    unsigned p = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < TN; i++) {
        uint32_t vid = 100 + p * TV + (uint32_t)(i % TV);
        struct mesh_msg x = msg_pos(MESH_POS, vid, 1795300000 + i, 0);
        while (mesh_room(m, p + 1, 0) < 1) {
            mesh_flush(m, p + 1);
            usleep(50);
        }
        cr_assert_eq(mesh_send(m, p + 1, 0, &x), 0);
        if (i % 64 == 0)
            mesh_flush(m, p + 1);
    }
    mesh_flush(m, p + 1);
    return NULL;
}

static void *owner_main(void *arg)
{
    (void)arg;
    unsigned long total = 0;
    while (!__atomic_load_n(&owner_stop, __ATOMIC_ACQUIRE) || mesh_sleep(m, 0)) {
        mesh_awake(m, 0);
        total += mesh_drain(m, 0, lv, 512);
    }
    return (void *)(uintptr_t)total;
}

Test(mesh, threads_every_change_applied_in_order, .timeout = 60)
{
    cr_assert_eq(mesh_create(1, TP + 1, 1024, &m), 0);
    pthread_t own, prod[TP];
    cr_assert_eq(pthread_create(&own, NULL, owner_main, NULL), 0);
    for (uintptr_t p = 0; p < TP; p++)
        cr_assert_eq(pthread_create(&prod[p], NULL, producer_main, (void *)p), 0);
    for (int p = 0; p < TP; p++)
        pthread_join(prod[p], NULL);
    __atomic_store_n(&owner_stop, 1, __ATOMIC_RELEASE);
    void *ret;
    pthread_join(own, &ret);
    cr_expect_eq((unsigned long)(uintptr_t)ret, (unsigned long)TP * TN);
    for (unsigned p = 0; p < TP; p++)
        for (uint32_t k = 0; k < TV; k++) {
            struct live_slot s = slot(100 + p * TV + k);
            cr_expect_eq(s.points_today, TN / TV);
            cr_expect_eq(s.gnss_time, 1795300000 + TN - TV + (int64_t)k);
        }
    cr_expect_eq(mesh_counts(m, 1)->dropped + mesh_counts(m, 2)->dropped +
                     mesh_counts(m, 3)->dropped,
                 0);
}
