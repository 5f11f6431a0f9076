/* Declarations shared only inside kernel/: the sampler's own-RSS peak,
 * which the probe needs to fold a sampled probe's own peak into outer
 * probes without the descendants' share. */
#ifndef PM_KERNEL_INTERNAL_H
#define PM_KERNEL_INTERNAL_H

#include "pm_kernel.h"

/* Highest own RSS (bytes, no descendants) the sampler has seen.
 * Thread-safe (atomics); valid while running and after stop. */
uint64_t pm_sampler_self_peak(const pm_sampler_t *s);

#endif
