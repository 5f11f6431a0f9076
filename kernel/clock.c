/* The clocks of the kernel library: CLOCK_MONOTONIC in nanoseconds, used
 * for probe timestamps, sampler periods and deadlines; and a cheaper tick
 * counter for the line tracer's read gate (the CPU's time-stamp counter
 * where the kernel itself keeps time with it, else the monotonic clock). */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

int64_t pm_now_ns(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail with a valid pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pthread_once_t ticks_once = PTHREAD_ONCE_INIT;
static int use_tsc;             /* set once by calibrate() */
static double tsc_ticks_per_ns; /* set once by calibrate() */

/* The TSC is usable as a clock when the kernel's clocksource is "tsc":
 * Linux only picks it when it is invariant and synchronised across CPUs.
 * Its rate is measured against CLOCK_MONOTONIC over about 2 ms. */
static void calibrate(void)
{
#if HAVE_TSC
    char name[32] = "";
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
                    "current_clocksource",
                    "r");
    if (f == NULL) {
        return;
    }
    if (fgets(name, sizeof name, f) == NULL) {
        name[0] = '\0';
    }
    fclose(f);
    if (strncmp(name, "tsc", 3) != 0) {
        return;
    }
    int64_t t0 = pm_now_ns(), t1;
    uint64_t c0 = __rdtsc(), c1;
    do {
        t1 = pm_now_ns();
    } while (t1 - t0 < 2000000);
    c1 = __rdtsc();
    if (c1 > c0) {
        tsc_ticks_per_ns = (double)(c1 - c0) / (double)(t1 - t0);
        use_tsc = tsc_ticks_per_ns > 0.01;
    }
#endif
}

uint64_t pm_ticks(void)
{
#if HAVE_TSC
    if (use_tsc) {
        return __rdtsc();
    }
#endif
    return (uint64_t)pm_now_ns();
}

uint64_t pm_ticks_for_ns(int64_t ns)
{
    pthread_once(&ticks_once, calibrate);
    if (use_tsc) {
        return (uint64_t)((double)ns * tsc_ticks_per_ns);
    }
    return (uint64_t)ns;
}
