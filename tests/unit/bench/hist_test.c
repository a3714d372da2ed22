/* hist_test.c: the log-linear histogram keeps every sample within 1/32. */
#include <criterion/criterion.h>

#include "bench/load/hist.h"

Test(hist, buckets_are_monotonic_and_tight)
{
    unsigned prev = 0;
    for (uint64_t v = 0; v < 5000000; v += 7) {
        unsigned b = hist_bucket(v);
        cr_assert_geq(b, prev);
        cr_assert_geq(hist_bucket_top(b), v);
        cr_assert_leq((double)hist_bucket_top(b) - (double)v, (double)v / 32.0 + 1.0);
        prev = b;
    }
}

Test(hist, quantiles_of_a_uniform_ramp)
{
    static struct hist h;
    hist_reset(&h);
    for (uint64_t v = 1; v <= 100000; v++)
        hist_add(&h, v);
    cr_assert_eq(h.count, 100000);
    cr_assert_eq(h.max_us, 100000);
    double p50 = (double)hist_quantile(&h, 0.5), p99 = (double)hist_quantile(&h, 0.99);
    cr_assert(p50 >= 50000 && p50 <= 50000 * 1.04, "p50 %f", p50);
    cr_assert(p99 >= 99000 && p99 <= 100000, "p99 %f", p99);
    cr_assert_eq(hist_quantile(&h, 1.0), 100000);
}
