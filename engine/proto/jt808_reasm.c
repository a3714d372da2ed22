/* jt808_reasm.c: JT/T 808 subpackage reassembly (shared/protocols/jt808.md §2.4).
 *
 * Layout, all allocated once in jt808_reasm_create():
 *
 *   slots[s]  key (phone, msg id, first serial), total, count received, first-seen time
 *   bits      s x ceil(max_pkgs/64) words: which packages of slot s are held
 *   lens      s x max_pkgs: body length of each held package
 *   data      s x max_pkgs x 1023: package i of slot s at data + (s*max_pkgs + i)*1023
 *   out       max_pkgs x 1023: the contiguous body handed out on completion
 *
 * Lookup is a linear scan: subpackages are rare (long text, media, bulk parameters) and a
 * worker holds tens of slots, so a scan of a few cache lines beats a hash here. */
#include <errno.h>
#include <string.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/mem.h"
#include "engine/proto/jt808.h"

struct reasm_slot {
    uint64_t first_ns;
    uint16_t msg_id;
    uint16_t first_serial;
    uint16_t total;
    uint16_t got;
    uint8_t used;
    uint8_t phone[10];
};

struct jt808_reasm {
    unsigned nslots;
    unsigned max_pkgs;
    unsigned words;        /* bitmap words per slot */
    uint64_t timeout_ns;
    struct reasm_slot *slots;
    uint64_t *bits;
    uint16_t *lens;
    uint8_t *data;
    uint8_t *out;
    struct jt808_reasm_stats st;
};

int jt808_reasm_create(unsigned slots, unsigned max_pkgs, uint64_t timeout_ns,
                       struct jt808_reasm **out)
{
    *out = NULL;
    if (slots == 0 || max_pkgs == 0 || max_pkgs > 0xFFFF || slots > 1u << 16)
        return RW_E_FIELD;
    struct jt808_reasm *r = mem_calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->nslots = slots;
    r->max_pkgs = max_pkgs;
    r->words = (max_pkgs + 63) / 64;
    r->timeout_ns = timeout_ns;
    r->slots = mem_calloc(slots, sizeof *r->slots);
    r->bits = mem_calloc((size_t)slots * r->words, sizeof *r->bits);
    r->lens = mem_calloc((size_t)slots * max_pkgs, sizeof *r->lens);
    r->data = mem_alloc((size_t)slots * max_pkgs * JT808_BODY_MAX);
    r->out = mem_alloc((size_t)max_pkgs * JT808_BODY_MAX);
    if (!r->slots || !r->bits || !r->lens || !r->data || !r->out) {
        jt808_reasm_destroy(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

void jt808_reasm_destroy(struct jt808_reasm *r)
{
    if (!r)
        return;
    MEM_FREE(r->slots);
    MEM_FREE(r->bits);
    MEM_FREE(r->lens);
    MEM_FREE(r->data);
    MEM_FREE(r->out);
    mem_free(r);
}

static void slot_clear(struct jt808_reasm *r, unsigned s)
{
    r->slots[s].used = 0;
    r->slots[s].got = 0;
    memset(r->bits + (size_t)s * r->words, 0, r->words * sizeof *r->bits);
}

static int slot_find(const struct jt808_reasm *r, const uint8_t phone[10], uint16_t msg_id,
                     uint16_t first_serial)
{
    for (unsigned s = 0; s < r->nslots; s++) {
        const struct reasm_slot *sl = &r->slots[s];
        if (sl->used && sl->msg_id == msg_id && sl->first_serial == first_serial &&
            memcmp(sl->phone, phone, 10) == 0)
            return (int)s;
    }
    return -1;
}

/* A free slot, or the oldest one evicted when all are busy. */
static unsigned slot_take(struct jt808_reasm *r)
{
    unsigned oldest = 0;
    for (unsigned s = 0; s < r->nslots; s++) {
        if (!r->slots[s].used)
            return s;
        if (r->slots[s].first_ns < r->slots[oldest].first_ns)
            oldest = s;
    }
    r->st.evicted++;
    slot_clear(r, oldest);
    return oldest;
}

/* Concatenates the packages of slot <s> into r->out; returns the body length. */
static size_t slot_join(struct jt808_reasm *r, unsigned s)
{
    size_t o = 0;
    const struct reasm_slot *sl = &r->slots[s];
    for (unsigned i = 0; i < sl->total; i++) {
        size_t k = (size_t)s * r->max_pkgs + i;
        memcpy(r->out + o, r->data + k * JT808_BODY_MAX, r->lens[k]);
        o += r->lens[k];
    }
    return o;
}

int jt808_reasm_add(struct jt808_reasm *r, const struct jt808_msg *m, uint64_t now_ns,
                    struct rw_bytes *body, uint16_t *first_serial)
{
    const struct jt808_hdr *h = &m->h;
    if (!h->subpkg || h->pkg_total == 0 || h->pkg_index == 0 || h->pkg_index > h->pkg_total ||
        m->body.len > JT808_BODY_MAX) {
        r->st.rejected++;
        return RW_E_FIELD;
    }
    if (h->pkg_total > r->max_pkgs) {
        r->st.rejected++;
        return RW_E_LIMIT;
    }
    uint16_t first = (uint16_t)(h->serial - (h->pkg_index - 1));
    int found = slot_find(r, h->phone, h->msg_id, first);
    unsigned s;
    if (found < 0) {
        s = slot_take(r);
        struct reasm_slot *sl = &r->slots[s];
        sl->used = 1;
        sl->msg_id = h->msg_id;
        sl->first_serial = first;
        sl->total = h->pkg_total;
        sl->first_ns = now_ns;
        memcpy(sl->phone, h->phone, 10);
    } else {
        s = (unsigned)found;
        if (r->slots[s].total != h->pkg_total) {
            r->st.rejected++;
            return RW_E_FIELD;
        }
    }
    struct reasm_slot *sl = &r->slots[s];
    unsigned i = h->pkg_index - 1u;
    uint64_t *w = r->bits + (size_t)s * r->words + i / 64;
    if (*w & (1ull << (i % 64))) {
        r->st.duplicates++;
        return RW_E_DUPLICATE;
    }
    *w |= 1ull << (i % 64);
    size_t k = (size_t)s * r->max_pkgs + i;
    r->lens[k] = (uint16_t)m->body.len;
    if (m->body.len)
        memcpy(r->data + k * JT808_BODY_MAX, m->body.p, m->body.len);
    if (++sl->got < sl->total)
        return 0;
    body->p = r->out;
    body->len = (uint32_t)slot_join(r, s);
    *first_serial = sl->first_serial;
    slot_clear(r, s);
    r->st.completed++;
    return 1;
}

unsigned jt808_reasm_expire(struct jt808_reasm *r, uint64_t now_ns)
{
    unsigned n = 0;
    for (unsigned s = 0; s < r->nslots; s++) {
        if (r->slots[s].used && now_ns - r->slots[s].first_ns >= r->timeout_ns) {
            slot_clear(r, s);
            n++;
        }
    }
    r->st.expired += n;
    return n;
}

int jt808_reasm_missing(const struct jt808_reasm *r, const uint8_t phone[10], uint16_t msg_id,
                        uint16_t first_serial, uint16_t *ids, unsigned cap)
{
    int s = slot_find(r, phone, msg_id, first_serial);
    if (s < 0)
        return RW_E_STATE;
    const struct reasm_slot *sl = &r->slots[s];
    const uint64_t *bits = r->bits + (size_t)s * r->words;
    unsigned n = 0;
    for (unsigned i = 0; i < sl->total && n < cap; i++)
        if (!(bits[i / 64] & (1ull << (i % 64))))
            ids[n++] = (uint16_t)(i + 1);
    return (int)n;
}

const struct jt808_reasm_stats *jt808_reasm_stats(const struct jt808_reasm *r)
{
    return &r->st;
}
