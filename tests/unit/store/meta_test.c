/* meta_test.c: registry (phone, plate, enrol, auth code across restart, CSV import),
 * platform accounts (0x1002 result codes, encrypted password), users, alarms. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/store/test_util.h"

static char dir[256];
static struct store *st;
static struct store_config cfg;

static void setup(void)
{
    tu_mkdtemp(dir, "meta");
    tu_config(&cfg, dir);
    st = tu_open(&cfg);
}

static void teardown(void)
{
    store_close(st);
    tu_rmrf(dir);
}

TestSuite(meta, .init = setup, .fini = teardown);

static void mkveh(struct store_vehicle *v, const char *plate, uint8_t colour, const char *ph)
{
    memset(v, 0, sizeof *v);
    v->plate_len = (uint8_t)strlen(plate);
    memcpy(v->plate, plate, v->plate_len);
    v->colour = colour;
    snprintf(v->phone, sizeof v->phone, "%s", ph);
    snprintf(v->sim, sizeof v->sim, "8986001");
    v->region = 350100;
    v->industry = STORE_IND_COACH;
}

static int count_cb(const struct store_vehicle *v, void *ctx)
{
    (void)v;
    ++*(int *)ctx;
    return 0;
}

Test(meta, registry_lookup_enrol_auth_survives_restart)
{
    struct store_vehicle v, g;
    mkveh(&v, "\xe9\x97\xbd" "AY3154", 2, "013800138000");
    cr_assert_eq(store_vehicle_put(st, &v), 0);
    cr_assert_gt(v.id, 0);
    cr_expect_str_eq(v.phone, "13800138000");
    cr_assert_eq(store_vehicle_by_phone(st, "0013800138000", &g), 0);
    cr_expect_eq(g.id, v.id);
    cr_assert_eq(store_vehicle_by_plate(st, v.plate, v.plate_len, 2, &g), 0);
    cr_expect_eq(g.region, 350100);
    cr_expect_eq(store_vehicle_by_plate(st, v.plate, v.plate_len, 1, &g), -ENOENT);
    struct store_vehicle d;
    mkveh(&d, "\xe9\x97\xbd" "AY3154", 2, "1390000");
    uint32_t id2;
    cr_expect_eq(store_vehicle_enrol(st, &d, &id2), RW_E_DUPLICATE, "same plate+colour");
    mkveh(&d, "X12345", 1, "13800138000");
    cr_expect_eq(store_vehicle_enrol(st, &d, &id2), RW_E_DUPLICATE, "same phone");
    mkveh(&d, "X12345", 1, "1390000");
    cr_assert_eq(store_vehicle_enrol(st, &d, &id2), 0);
    cr_expect_neq(id2, v.id);
    cr_assert_eq(store_vehicle_set_auth(st, id2, (const uint8_t *)"AUTH-xyz", 8), 0);
    /* change the phone: the old index entry goes */
    snprintf(d.phone, sizeof d.phone, "1390001");
    d.id = id2;
    cr_assert_eq(store_vehicle_put(st, &d), 0);
    cr_expect_eq(store_vehicle_by_phone(st, "1390000", &g), -ENOENT);
    store_close(st);
    st = tu_open(&cfg);
    uint8_t code[32];
    cr_assert_eq(store_vehicle_get_auth(st, id2, code, sizeof code), 8);
    cr_expect_eq(memcmp(code, "AUTH-xyz", 8), 0);
    cr_expect_eq(store_vehicle_get_auth(st, v.id, code, sizeof code), -ENOENT);
    int n = 0;
    cr_assert_eq(store_vehicle_foreach(st, count_cb, &n), 0);
    cr_expect_eq(n, 2);
    cr_assert_eq(store_vehicle_del(st, v.id), 0);
    cr_expect_eq(store_vehicle_by_phone(st, "13800138000", &g), -ENOENT);
    cr_expect_eq(store_verify(st), 0);
}

Test(meta, csv_import_all_or_nothing)
{
    char path[300];
    snprintf(path, sizeof path, "%s/v.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "plate,colour,phone,terminal_id,sim,enterprise_id,industry,region,platform_id\n"
               "闽AY3154,2,13800138000,T1,8986,5,2,350100,0\n"
               "闽AY3155,2,13800138001,T2,8987,5,1,350100,7\n");
    fclose(f);
    char err[128];
    cr_assert_eq(store_vehicle_import_csv(st, path, err, sizeof err), 2, "%s", err);
    cr_assert_eq(store_vehicle_import_csv(st, path, err, sizeof err), 2, "re-import updates");
    int n = 0;
    store_vehicle_foreach(st, count_cb, &n);
    cr_expect_eq(n, 2);
    struct store_vehicle g;
    cr_assert_eq(store_vehicle_by_phone(st, "13800138001", &g), 0);
    cr_expect_eq(g.platform_id, 7);
    cr_expect_eq(g.plate_len, 8, "GBK: 2 bytes for the hanzi + 6");
    f = fopen(path, "a");
    fprintf(f, "闽B1,2,13800138009,T3,1,1,9,1,1\n");
    fclose(f);
    cr_expect_lt(store_vehicle_import_csv(st, path, err, sizeof err), 0);
    cr_expect_str_eq(err, "line 4: industry: not a code in 0..4");
    cr_expect_eq(store_vehicle_by_phone(st, "13800138009", &g), -ENOENT);
}

Test(meta, platform_login_result_codes)
{
    struct store_platform p = {0};
    p.user_id = 1001;
    p.access_code = 77;
    snprintf(p.name, sizeof p.name, "lower platform");
    p.m1 = 1;
    p.ia1 = 2;
    p.ic1 = 3;
    p.n_ips = 1;
    p.ips[0] = (struct store_ip){4, {10, 1, 2, 3}};
    cr_assert_eq(store_platform_put(st, &p, "s3cret"), 0);
    struct store_ip ok = {4, {10, 1, 2, 3}}, bad = {4, {10, 1, 2, 4}};
    uint8_t r = 99;
    cr_assert_eq(store_platform_check(st, 1001, "s3cret", 77, &ok, &r), 0);
    cr_expect_eq(r, 0);
    store_platform_check(st, 1001, "s3cret", 77, &bad, &r);
    cr_expect_eq(r, 1);
    store_platform_check(st, 1001, "s3cret", 78, &ok, &r);
    cr_expect_eq(r, 2);
    store_platform_check(st, 1002, "s3cret", 77, &ok, &r);
    cr_expect_eq(r, 3);
    store_platform_check(st, 1001, "wrong", 77, &ok, &r);
    cr_expect_eq(r, 4);
    store_platform_check(st, 1001, "wrong", 78, &bad, &r);
    cr_expect_eq(r, 1, "IP is checked before access code and password");
    char pw[64];
    cr_assert_eq(store_platform_password(st, 1001, pw, sizeof pw), 6);
    cr_expect_str_eq(pw, "s3cret");
    struct store_platform g;
    cr_assert_eq(store_platform_get(st, 1001, &g), 0);
    cr_expect_eq(g.ic1, 3);
    cr_expect_eq(g.ips[0].addr[3], 3);
    /* the clear password is nowhere in the database file */
    char path[300];
    snprintf(path, sizeof path, "%s/meta.mdb", dir);
    FILE *f = fopen(path, "rb");
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_expect_null(memmem(buf, n, "s3cret", 6));
    cr_assert_eq(store_platform_del(st, 1001), 0);
    store_platform_check(st, 1001, "s3cret", 77, &ok, &r);
    cr_expect_eq(r, 3);
}

Test(meta, users)
{
    cr_assert_eq(store_user_add(st, "admin", "pw1", 1), 0);
    cr_expect_eq(store_user_add(st, "admin", "pw2", 1), RW_E_DUPLICATE);
    cr_expect_eq(store_user_check(st, "admin", "pw1"), 0);
    cr_expect_eq(store_user_check(st, "admin", "pw2"), -EACCES);
    cr_expect_eq(store_user_check(st, "nobody", "pw1"), -ENOENT);
    cr_assert_eq(store_user_passwd(st, "admin", "pw2"), 0);
    cr_expect_eq(store_user_check(st, "admin", "pw2"), 0);
    cr_assert_eq(store_user_lock(st, "admin", 1), 0);
    cr_expect_eq(store_user_check(st, "admin", "pw2"), RW_E_STATE);
    cr_assert_eq(store_user_lock(st, "admin", 0), 0);
    cr_expect_eq(store_user_check(st, "admin", "pw2"), 0);
}

Test(meta, alarms_put_update_handle_by_vehicle)
{
    struct store_alarm a = {0}, g;
    a.vehicle_id = 5;
    a.type = 1;
    a.source = 1;
    a.start_time = 1000;
    a.start_lat_e6 = -1;
    a.n_params = 2;
    a.params[0] = (struct store_alarm_param){1, 80};
    a.params[1] = (struct store_alarm_param){2, -30};
    cr_assert_eq(store_alarm_put(st, &a), 0);
    cr_assert_neq(a.id, 0);
    struct store_alarm b = a;
    b.start_time = 5000;
    cr_assert_eq(store_alarm_put(st, &b), 0);
    cr_assert_eq(store_alarm_get(st, a.id, &g), 0);
    cr_expect_eq(g.params[1].value, -30);
    cr_expect_eq(g.start_lat_e6, -1);
    a.end_time = 1300;
    a.max_speed_dkmh = 999;
    cr_assert_eq(store_alarm_update(st, &a), 0);
    struct store_alarm c = a;
    c.start_time = 1;
    cr_expect_eq(store_alarm_update(st, &c), RW_E_FIELD);
    struct store_alarm_event ev = {2000, 3, 42, "called the driver"};
    cr_assert_eq(store_alarm_handle(st, a.id, &ev), 0);
    ev.state = 4;
    ev.time = 2100;
    cr_assert_eq(store_alarm_handle(st, a.id, &ev), 0);
    struct store_alarm_event evs[4];
    cr_assert_eq(store_alarm_events(st, a.id, evs, 4), 2);
    cr_expect_str_eq(evs[0].note, "called the driver");
    cr_expect_eq(evs[1].state, 4);
    cr_assert_eq(store_alarm_get(st, a.id, &g), 0);
    cr_expect_eq(g.state, 4);
    cr_expect_eq(g.end_time, 1300);
    struct store_alarm list[4];
    cr_expect_eq(store_alarm_by_vehicle(st, 5, 0, 10000, list, 4), 2);
    cr_expect_eq(store_alarm_by_vehicle(st, 5, 2000, 10000, list, 4), 1);
    cr_expect_eq(list[0].id, b.id);
    cr_expect_eq(store_alarm_by_vehicle(st, 6, 0, 10000, list, 4), 0);
}

Test(meta, enterprise_and_geo)
{
    struct store_enterprise e = {9, 350100, "Fuzhou Coach Co."}, g;
    cr_assert_eq(store_enterprise_put(st, &e), 0);
    cr_assert_eq(store_enterprise_get(st, 9, &g), 0);
    cr_expect_str_eq(g.name, "Fuzhou Coach Co.");
    const char *geo = "{\"type\":\"Polygon\"}";
    cr_assert_eq(store_geo_put(st, 3, 1, geo, strlen(geo)), 0);
    char buf[64];
    uint8_t kind;
    cr_assert_eq(store_geo_get(st, 3, &kind, buf, sizeof buf), (long)strlen(geo));
    cr_expect_eq(kind, 1);
    cr_assert_eq(store_geo_del(st, 3), 0);
    cr_expect_eq(store_geo_get(st, 3, &kind, buf, sizeof buf), -ENOENT);
}

static void mkreg(struct store_reg *r, const char *phone, const char *plate, uint8_t colour,
                  const char *code)
{
    memset(r, 0, sizeof *r);
    snprintf(r->phone, sizeof r->phone, "%s", phone);
    r->plate_len = (uint8_t)strlen(plate);
    memcpy(r->plate, plate, r->plate_len);
    r->colour = colour;
    snprintf(r->terminal_id, sizeof r->terminal_id, "T-%s", phone);
    r->code_len = (uint8_t)strlen(code);
    memcpy(r->code, code, r->code_len);
}

/* Batched registration: one transaction, items in order, each with its 0x8100 result. */
Test(meta, register_batch_results_in_order)
{
    struct store_vehicle v;
    mkveh(&v, "KNOWN1", 2, "013800000001");
    cr_assert_eq(store_vehicle_put(st, &v), 0);
    uint32_t known = v.id;
    static struct store_reg r[8];
    /* strict mode */
    mkreg(&r[0], "13800000001", "", 2, "code-a");        /* known phone, no plate */
    mkreg(&r[1], "13900000009", "KNOWN1", 2, "code-b");  /* plate of another phone */
    mkreg(&r[2], "13900000010", "NEW1", 2, "code-c");    /* nothing known */
    mkreg(&r[3], "13x", "NEW2", 2, "code-d");            /* not a phone */
    cr_assert_eq(store_register_batch(st, r, 4, 0), 0);
    cr_expect_eq(r[0].result, STORE_REG_OK);
    cr_expect_eq(r[0].id, known);
    cr_expect_eq(r[1].result, STORE_REG_TERMINAL_UNKNOWN);
    cr_expect_eq(r[2].result, STORE_REG_VEHICLE_UNKNOWN);
    cr_expect_eq(r[3].result, RW_E_FIELD);
    uint8_t code[64];
    int n = store_vehicle_get_auth(st, known, code, sizeof code);
    cr_assert_eq(n, 6);
    cr_expect_eq(memcmp(code, "code-a", 6), 0);
    /* open mode: enrol, and a later item sees an earlier one's enrolment */
    mkreg(&r[0], "13900000010", "NEW1", 2, "code-e");    /* enrolled */
    mkreg(&r[1], "13900000011", "NEW1", 2, "code-f");    /* same plate, other phone */
    mkreg(&r[2], "013900000010", "NEW1", 2, "code-g");   /* the first again: new code */
    mkreg(&r[3], "13900000012", "KNOWN1", 2, "code-h");  /* plate taken */
    mkreg(&r[4], "13900000013", "", 2, "code-i");        /* unknown, no plate: refused */
    cr_assert_eq(store_register_batch(st, r, 5, 1), 0);
    cr_expect_eq(r[0].result, STORE_REG_OK);
    cr_expect_gt(r[0].id, known);
    cr_expect_eq(r[1].result, STORE_REG_VEHICLE_TAKEN);
    cr_expect_eq(r[2].result, STORE_REG_OK);
    cr_expect_eq(r[2].id, r[0].id);
    cr_expect_eq(r[3].result, STORE_REG_VEHICLE_TAKEN);
    cr_expect_lt(r[4].result, 0);
    cr_assert_eq(store_vehicle_by_phone(st, "13900000010", &v), 0);
    cr_expect_str_eq(v.terminal_id, "T-13900000010");
    n = store_vehicle_get_auth(st, v.id, code, sizeof code);
    cr_assert_eq(n, 6);
    cr_expect_eq(memcmp(code, "code-g", 6), 0, "the latest code wins");
    /* durable: after a restart */
    store_close(st);
    st = tu_open(&cfg);
    cr_assert_eq(store_vehicle_by_phone(st, "13900000010", &v), 0);
    cr_expect_eq(store_vehicle_get_auth(st, v.id, code, sizeof code), 6);
}
