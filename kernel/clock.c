/* The clocks of the kernel library: CLOCK_MONOTONIC in nanoseconds, used
 * for probe timestamps, sampler periods and deadlines; and a cheaper tick
 * counter for the line tracer's read gate (the CPU's time-stamp counter
 * where the kernel trusts it as a clocksource, else the monotonic clock).
 * PEAKMEM_TICKS=clock in the environment forces the monotonic clock: the
 * path of hosts without a usable TSC, for benchmarks and tests. */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

#if HAVE_TSC
/* 1 when the word "tsc" is in the clocksource file name (a
 * space-separated list). */
static int lists_tsc(const char *name)
{
    char text[256] = "";
    char path[128];
    FILE *f;

    snprintf(path, sizeof path, "/sys/devices/system/clocksource/"
                                "clocksource0/%s",
             name);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    if (fgets(text, sizeof text, f) == NULL) {
        text[0] = '\0';
    }
    fclose(f);
    for (char *w = strtok(text, " \n"); w != NULL; w = strtok(NULL, " \n")) {
        if (strcmp(w, "tsc") == 0) {
            return 1;
        }
    }
    return 0;
}
#endif

/* The TSC is usable for the gate when the kernel lists "tsc" as its
 * clocksource or as an available one: Linux registers it only when it is
 * invariant, and takes it off the list (with high-resolution timers on)
 * once its watchdog finds it unstable. kvm-clock guests usually list it:
 * kvm-clock itself reads the TSC and scales it. A gate needs no more: a
 * skew between CPUs only makes one read early or (backwards) at once.
 * Its rate is measured against CLOCK_MONOTONIC over about 2 ms. */
static void calibrate(void)
{
    const char *force = getenv("PEAKMEM_TICKS");

    if (force != NULL && strcmp(force, "clock") == 0) {
        return;
    }
#if HAVE_TSC
    if (!lists_tsc("current_clocksource") &&
        !lists_tsc("available_clocksource")) {
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
