/* err_test.c: error names, the assertion contract, the allocation fault hook. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>

#include "engine/base/assert.h"
#include "engine/base/err.h"
#include "engine/base/mem.h"

Test(err, names_cover_both_kinds)
{
    cr_assert_str_eq(err_name(0), "ok");
    cr_assert_str_eq(err_name(RW_E_CHECK), "check");
    cr_assert_str_eq(err_name(-ENOMEM), "ENOMEM");
    cr_assert_str_eq(err_str(RW_E_TRUNCATED), "input ends inside a field");
    for (int c = RW_E_BASE - 1; c > RW_E_LAST; c--) {
        cr_assert_str_neq(err_name(c), "unknown", "code %d has a name", c);
        cr_assert_str_neq(err_str(c), "unknown error");
    }
    cr_assert_str_eq(err_name(RW_E_LAST), "unknown");
    cr_assert_str_eq(err_name(12345), "unknown");
}

Test(assert, fires_and_aborts, .signal = SIGABRT)
{
    volatile int x = 1;
    ASSERT(x == 2);
}

Test(assert, always_and_never_return_the_condition)
{
    cr_assert_eq(ALWAYS(1), 1);
    cr_assert_eq(NEVER(0), 0);
    unsigned long ctr = 0;
    COUNT_IF(1, ctr);
    COUNT_IF(0, ctr);
    cr_assert_eq(ctr, 1);
}

Test(mem, fault_injection_fails_the_nth_allocation)
{
    mem_fail_after(2);
    void *a = mem_alloc(8), *b = mem_alloc(8), *c = mem_alloc(8), *d = mem_alloc(8);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_null(c, "the third allocation fails");
    cr_assert_not_null(d, "once");
    MEM_FREE(a);
    cr_assert_null(a);
    mem_free(b);
    mem_free(d);
    cr_assert_null(mem_calloc(SIZE_MAX / 2, 4), "overflow is refused");
}

Test(mem, reserve_grows_keeps_and_fails_cleanly)
{
    int *a = NULL;
    size_t cap = 0;
    void *p = a;
    cr_assert_eq(mem_reserve(&p, &cap, 3, sizeof *a, 0, 4), 0);
    a = p;
    cr_assert_eq(cap, 4, "the first size");
    for (int i = 0; i < 4; i++)
        a[i] = i + 10;
    cr_assert_eq(mem_reserve(&p, &cap, 4, sizeof *a, 4, 4), 0, "room already");
    cr_assert_eq(p, (void *)a);
    cr_assert_eq(mem_reserve(&p, &cap, 9, sizeof *a, 4, 4), 0);
    a = p;
    cr_assert_eq(cap, 16, "doubled until it fits");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(a[i], i + 10, "kept");
    mem_fail_after(0);
    cr_assert_eq(mem_reserve(&p, &cap, 17, sizeof *a, 16, 4), -ENOMEM);
    cr_assert_eq(p, (void *)a, "left as it was");
    cr_assert_eq(cap, 16);
    cr_assert_eq(mem_reserve(&p, &cap, SIZE_MAX / 2, sizeof *a, 16, 4), -ENOMEM, "overflow");
    mem_free(p);
}
