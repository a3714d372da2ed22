/* proc_test.c: the simulator's samples of a target process and of the machine — CPU, RSS,
 * anonymous RSS and kernel slab — read real values and follow real growth. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/load/sim.h"

Test(proc, samples_this_process_and_the_machine)
{
    double cpu = -1;
    uint64_t rss = 0, anon = 0, slab = 0;
    cr_assert_eq(sim_proc_sample(getpid(), &cpu, &rss), 0);
    cr_assert_geq(cpu, 0.0);
    cr_assert_gt(rss, 0u);
    cr_assert_eq(sim_proc_anon(getpid(), &anon), 0);
    cr_assert_gt(anon, 0u);
    cr_assert_leq(anon, rss, "anonymous RSS is part of RSS");
    cr_assert_eq(sim_slab_kb(&slab), 0);
    cr_assert_gt(slab, 0u);
}

Test(proc, anonymous_rss_follows_touched_memory)
{
    const size_t len = 32u << 20;
    uint64_t before = 0, after = 0;
    cr_assert_eq(sim_proc_anon(getpid(), &before), 0);
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    memset(p, 1, len);
    cr_assert_eq(sim_proc_anon(getpid(), &after), 0);
    cr_assert_geq(after, before + (len >> 10) * 9 / 10, "before %lu KiB, after %lu KiB",
                  (unsigned long)before, (unsigned long)after);
    munmap(p, len);
}

Test(proc, a_process_that_is_gone_is_an_error)
{
    double cpu;
    uint64_t v;
    /* pid_max is at most 2^22 */
    cr_assert_lt(sim_proc_sample(1 << 23, &cpu, &v), 0);
    cr_assert_lt(sim_proc_anon(1 << 23, &v), 0);
}
