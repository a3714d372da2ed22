/* mem.h: the only allocation entry points of roadwatch (STYLE §5).
 *
 * Everything goes through mem_*; jemalloc is underneath when linked (WITH_JEMALLOC), libc
 * under sanitizers. The data plane allocates only at start-up; after engine start only the
 * control plane may call these. Thread-safe.
 *
 * Fault injection: mem_fail_after(n) makes the (n+1)-th following allocation fail (returns
 * NULL) once; n < 0 disables it. Tests use it to walk every failure path in turn. */
#ifndef RW_MEM_H
#define RW_MEM_H

#include <stddef.h>

/* Returns <size> bytes or NULL when out of memory (or an injected failure). Free with
 * mem_free. */
void *mem_alloc(size_t size);
/* As mem_alloc for <n> x <size> zeroed bytes; NULL also on multiplication overflow. */
void *mem_calloc(size_t n, size_t size);
/* Aligned allocation for cache-line aligned per-thread structs; <align> a power of two. */
void *mem_alloc_aligned(size_t align, size_t size);
/* Frees <p> (NULL is fine). Use MEM_FREE(p) to also clear the pointer. */
void mem_free(void *p);
#define MEM_FREE(p)                                                                        \
    do {                                                                                   \
        mem_free(p);                                                                       \
        (p) = NULL;                                                                        \
    } while (0)

/* Makes room for <need> elements of <esize> bytes in the array *<p> of *<cap> elements:
 * when it is too small, a new one of twice the size (at least <first>) replaces it,
 * keeping its first <keep> elements. 0, or -ENOMEM (the array is left as it was). */
int mem_reserve(void **p, size_t *cap, size_t need, size_t esize, size_t keep, size_t first);

/* Test hook: fail the allocation that comes after <n> successful ones; -1 disables. */
void mem_fail_after(long n);
/* Number of allocations made through mem_* since start (for tests). */
unsigned long mem_alloc_count(void);

#endif
