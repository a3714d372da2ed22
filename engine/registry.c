/* registry.c: JT/T 808 registration and authentication against the store's registry
 * (see registry.h). */
#include "engine/registry.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "engine/base/err.h"
#include "engine/base/mem.h"

struct registry {
    struct store *st;
    int open_mode;
};

int registry_open(struct store *st, int open_mode, struct registry **out)
{
    struct registry *r = mem_calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->st = st;
    r->open_mode = open_mode;
    *out = r;
    return 0;
}

void registry_close(struct registry *r)
{
    mem_free(r);
}

void registry_set_open_mode(struct registry *r, int open_mode)
{
    __atomic_store_n(&r->open_mode, open_mode, __ATOMIC_RELAXED);
}

static void reg_phone(const uint8_t phone[10], char out[21])
{
    struct jt808_hdr h;
    memcpy(h.phone, phone, 10);
    jt808_phone_str(&h, out);
}

/* A fresh 16-character code from the kernel's random source. */
static int reg_new_code(char code[33])
{
    static const char alphabet[] =
        "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -EIO;
    for (int i = 0; i < 16; i++)
        code[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
    code[16] = 0;
    return 0;
}

/* Finds the vehicle of a registering terminal, or enrols it (open mode). Returns its id,
 * or a negative JT808_REG_* result (as -(result)) / store error (below -100). */
static int64_t reg_vehicle(struct registry *r, const char *phone, const struct jt808_register *g)
{
    struct store_vehicle v;
    int rc = store_vehicle_by_phone(r->st, phone, &v);
    if (rc == 0)
        return v.id;
    if (rc != -ENOENT)
        return rc - 1000;
    struct rw_bytes plate = rw_trim(g->plate);
    rc = store_vehicle_by_plate(r->st, plate.p, plate.len, g->plate_color, &v);
    if (rc == 0)
        return -(int64_t)(r->open_mode ? JT808_REG_VEHICLE_TAKEN : JT808_REG_TERMINAL_UNKNOWN);
    if (rc != -ENOENT)
        return rc - 1000;
    if (!__atomic_load_n(&r->open_mode, __ATOMIC_RELAXED))
        return -(int64_t)JT808_REG_VEHICLE_UNKNOWN;
    memset(&v, 0, sizeof v);
    if (plate.len > sizeof v.plate)
        plate.len = sizeof v.plate;
    memcpy(v.plate, plate.p, plate.len);
    v.plate_len = (uint8_t)plate.len;
    v.colour = g->plate_color;
    snprintf(v.phone, sizeof v.phone, "%s", phone);
    struct rw_bytes tid = rw_trim(g->term_id);
    if (tid.len >= sizeof v.terminal_id)
        tid.len = sizeof v.terminal_id - 1;
    memcpy(v.terminal_id, tid.p, tid.len);
    uint32_t id;
    rc = store_vehicle_enrol(r->st, &v, &id);
    if (rc == RW_E_DUPLICATE)
        return -(int64_t)JT808_REG_VEHICLE_TAKEN;
    return rc < 0 ? rc - 1000 : (int64_t)id;
}

int registry_register(struct registry *r, const struct jt808_hdr *h,
                      const struct jt808_register *reg, char code[33])
{
    char phone[21];
    reg_phone(h->phone, phone);
    int64_t id = reg_vehicle(r, phone, reg);
    if (id < -100)
        return (int)(id + 1000);
    if (id <= 0)
        return (int)-id;
    int rc = reg_new_code(code);
    if (rc == 0)
        rc = store_vehicle_set_auth(r->st, (uint32_t)id, (const uint8_t *)code, strlen(code));
    return rc < 0 ? rc : JT808_REG_OK;
}

int registry_authenticate(struct registry *r, const uint8_t phone[10], struct rw_bytes code,
                          uint32_t *vehicle_id, uint8_t plate[21], uint8_t *color)
{
    char ph[21];
    reg_phone(phone, ph);
    struct store_vehicle v;
    int rc = store_vehicle_by_phone(r->st, ph, &v);
    if (rc < 0)
        return rc;
    uint8_t want[64];
    int n = store_vehicle_get_auth(r->st, v.id, want, sizeof want);
    if (n == -ENOENT || n == 0)
        return -EACCES;
    if (n < 0)
        return n;
    /* Compare in constant time: the code is a credential. */
    uint8_t diff = (uint8_t)((size_t)n != code.len);
    for (int i = 0; i < n; i++)
        diff |= (uint8_t)(want[i] ^ (i < (int)code.len ? code.p[i] : 0));
    if (diff)
        return -EACCES;
    *vehicle_id = v.id;
    memset(plate, 0, 21);
    memcpy(plate, v.plate, v.plate_len < 21 ? v.plate_len : 21);
    *color = v.colour;
    return 0;
}

int registry_logout(struct registry *r, const uint8_t phone[10])
{
    char ph[21];
    reg_phone(phone, ph);
    struct store_vehicle v;
    int rc = store_vehicle_by_phone(r->st, ph, &v);
    if (rc < 0)
        return rc;
    return store_vehicle_set_auth(r->st, v.id, (const uint8_t *)"", 0);
}
