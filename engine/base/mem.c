#include "engine/base/mem.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long mem_fail_countdown = -1;
static _Atomic unsigned long mem_allocs;

void mem_fail_after(long n)
{
    atomic_store(&mem_fail_countdown, n);
}

unsigned long mem_alloc_count(void)
{
    return atomic_load(&mem_allocs);
}

/* Returns 1 when this allocation must fail (fault injection). */
static int mem_inject(void)
{
    long c = atomic_load_explicit(&mem_fail_countdown, memory_order_relaxed);
    if (c < 0)
        return 0;
    c = atomic_fetch_sub(&mem_fail_countdown, 1);
    if (c == 0) {
        atomic_store(&mem_fail_countdown, -1);
        return 1;
    }
    return 0;
}

void *mem_alloc(size_t size)
{
    if (mem_inject())
        return NULL;
    atomic_fetch_add_explicit(&mem_allocs, 1, memory_order_relaxed);
    return malloc(size ? size : 1);
}

void *mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (mem_inject())
        return NULL;
    atomic_fetch_add_explicit(&mem_allocs, 1, memory_order_relaxed);
    return calloc(n ? n : 1, size ? size : 1);
}

void *mem_alloc_aligned(size_t align, size_t size)
{
    if (mem_inject())
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : 1) != 0)
        return NULL;
    atomic_fetch_add_explicit(&mem_allocs, 1, memory_order_relaxed);
    return p;
}

void mem_free(void *p)
{
    free(p);
}

int mem_reserve(void **p, size_t *cap, size_t need, size_t esize, size_t keep, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : (first ? first : 1);
    while (c < need) {
        if (c > SIZE_MAX / 2 / (esize ? esize : 1))
            return -ENOMEM;
        c *= 2;
    }
    void *n = mem_calloc(c, esize);
    if (!n)
        return -ENOMEM;
    if (keep && *p)
        memcpy(n, *p, keep * esize);
    mem_free(*p);
    *p = n;
    *cap = c;
    return 0;
}
