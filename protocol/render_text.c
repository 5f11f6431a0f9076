/* The text/plain form of a %memit result, byte for byte what
 * memory_profiler 0.61's MemitResult.__str__ prints, and the numbers it
 * is made of. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t pm_memit_peak(const pm_memit_t *m)
{
    uint64_t peak = m->baseline_bytes;

    if (m->n == 0 || m->peak_bytes == NULL) {
        return peak;
    }
    peak = m->peak_bytes[0];
    for (size_t i = 1; i < m->n; i++) {
        if (m->peak_bytes[i] > peak) {
            peak = m->peak_bytes[i];
        }
    }
    return peak;
}

void pm_memit_mib(const pm_memit_t *m, pm_memit_mib_t *out)
{
    out->peak_mib = (double)pm_memit_peak(m) / PM_MIB;
    out->baseline_mib = (double)m->baseline_bytes / PM_MIB;
    /* memory_profiler: max(mem_usage) - baseline, both already in MiB */
    out->increment_mib = out->peak_mib - out->baseline_mib;
}

int64_t pm_bytes_diff(uint64_t a, uint64_t b)
{
    if (a >= b) {
        uint64_t d = a - b;
        return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
    }
    uint64_t d = b - a;
    return d > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)d;
}

double pm_memit_exact_peak_mib(const pm_memit_t *m)
{
    if (m->n == 0 || m->method == NULL ||
        strncmp(m->method, "hwm", 3) != 0) {
        return 0.0;
    }
    return (double)pm_memit_peak(m) / PM_MIB;
}

double pm_memit_timeline_mib(const pm_memit_t *m, size_t i)
{
    double exact = pm_memit_exact_peak_mib(m), v = m->timeline[i].mib;

    return exact > 0.0 && v > exact ? exact : v;
}

double pm_memit_wall_total(const pm_memit_t *m)
{
    double total = 0.0;

    if (m->wall_s == NULL) {
        return 0.0;
    }
    for (size_t i = 0; i < m->n; i++) {
        total += m->wall_s[i];
    }
    return total;
}

int pm_memit_over_limit(const pm_memit_t *m)
{
    return m->limit_bytes > 0 && pm_memit_peak(m) > m->limit_bytes;
}

char *pm_memit_render_text(const pm_memit_t *m)
{
    pm_memit_mib_t mib;

    pm_memit_mib(m, &mib);
    return pm_fmt_alloc("peak memory: %.02f MiB, increment: %.02f MiB",
                        mib.peak_mib, mib.increment_mib);
}
