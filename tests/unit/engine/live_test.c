/* live_test.c: the shared-memory live table: slots kept across a restart of the same
 * store, dropped for another store, a write cut by kill -9 healed, readers consistent. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "engine/live/live.h"

static char path[64];

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/rw-live-test-%d", (int)getpid());
    unlink(path);
}

static void teardown(void)
{
    unlink(path);
}

static void put(struct live *lv, uint32_t id, int64_t t, int32_t lat)
{
    struct live_slot *s = live_slot_write_begin(lv, id);
    cr_assert_not_null(s);
    s->vehicle_id = id;
    s->connected = 1;
    struct store_pos p = {.vehicle_id = id, .gnss_time = t, .lat_e6 = lat, .status = 2};
    live_slot_apply_pos(s, &p);
    live_slot_write_end(s);
}

Test(live, restart_keeps_slots_of_the_same_store, .init = setup, .fini = teardown)
{
    struct live *lv;
    cr_assert_eq(live_open_rw(path, 100, 2, 42, &lv), 0);
    put(lv, 7, 1795300000, 30000000);
    put(lv, 7, 1795299000, 31000000); /* a late point: counted, does not move the vehicle */
    struct live_slot s;
    cr_assert_eq(live_slot_read(lv, 7, &s), 0);
    cr_assert_eq(s.lat_e6, 30000000);
    cr_assert_eq(s.points_today, 2);
    cr_assert_eq(s.fix_valid, 1);
    /* kill -9 in the middle of a write leaves an odd sequence */
    live_slot_write_begin(lv, 7);
    cr_assert_eq(live_slot_read(lv, 7, &s), -EAGAIN, "a reader gives up, never spins");
    live_close(lv);
    cr_assert_eq(live_open_rw(path, 100, 2, 42, &lv), 0);
    cr_assert_eq(live_slot_read(lv, 7, &s), 0, "the restart healed the sequence");
    cr_assert_eq(s.vehicle_id, 7, "same store: the slot is kept");
    cr_assert_eq(s.connected, 0, "but nothing is connected after a restart");
    live_close(lv);
    cr_assert_eq(live_open_rw(path, 100, 2, 43, &lv), 0);
    cr_assert_eq(live_slot_read(lv, 7, &s), 0);
    cr_assert_eq(s.vehicle_id, 0, "another store: the table starts empty");
    cr_assert_eq(live_slot_read(lv, 100, &s), -ENOENT);
    cr_assert_null(live_slot_write_begin(lv, 100));
    live_close(lv);
    struct live *ro;
    cr_assert_eq(live_open_ro(path, &ro), 0);
    cr_assert_eq(live_header(ro)->workers, 2);
    live_close(ro);
    cr_assert_lt(live_open_ro("/nonexistent/live", &ro), 0);
}
