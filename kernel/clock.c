/* The one clock of the kernel library: CLOCK_MONOTONIC in nanoseconds,
 * used for probe timestamps, sampler periods and deadlines. */
#include "pm_kernel.h"

#include <time.h>

int64_t pm_now_ns(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail with a valid pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
