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

int registry_register_many(struct registry *r, struct registry_req *q, size_t n)
{
    struct store_reg it[REGISTRY_BATCH_MAX];
    for (size_t done = 0; done < n;) {
        size_t m = n - done < REGISTRY_BATCH_MAX ? n - done : REGISTRY_BATCH_MAX;
        for (size_t i = 0; i < m; i++) {
            struct registry_req *x = &q[done + i];
            struct store_reg *e = &it[i];
            memset(e, 0, sizeof *e);
            x->result = 0;
            reg_phone(x->h->phone, e->phone);
            struct rw_bytes plate = rw_trim(x->reg->plate);
            e->plate_len = (uint8_t)(plate.len < sizeof e->plate ? plate.len : sizeof e->plate);
            if (e->plate_len)
                memcpy(e->plate, plate.p, e->plate_len);
            e->colour = x->reg->plate_color;
            struct rw_bytes tid = rw_trim(x->reg->term_id);
            if (tid.len >= sizeof e->terminal_id)
                tid.len = sizeof e->terminal_id - 1;
            if (tid.len)
                memcpy(e->terminal_id, tid.p, tid.len);
            int rc = reg_new_code(x->code);
            if (rc) {
                e->code_len = 0; /* refused by the store as a bad item */
                x->result = rc;
                continue;
            }
            e->code_len = (uint8_t)strlen(x->code);
            memcpy(e->code, x->code, e->code_len);
        }
        int rc = store_register_batch(r->st, it, m,
                                      __atomic_load_n(&r->open_mode, __ATOMIC_RELAXED));
        for (size_t i = 0; i < m; i++) {
            struct registry_req *x = &q[done + i];
            if (x->result < 0 && it[i].code_len == 0)
                continue; /* no code could be made */
            x->result = rc ? rc : it[i].result;
            if (x->result != JT808_REG_OK)
                x->code[0] = 0;
        }
        done += m;
    }
    return 0;
}

int registry_register(struct registry *r, const struct jt808_hdr *h,
                      const struct jt808_register *reg, char code[33])
{
    struct registry_req q = {h, reg, 0, ""};
    registry_register_many(r, &q, 1);
    memcpy(code, q.code, sizeof q.code);
    return q.result;
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
