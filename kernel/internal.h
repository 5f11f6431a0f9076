/* Declarations shared only inside kernel/: the sampler's own-RSS peak,
 * which the probe needs to fold a sampled probe's own peak into outer
 * probes without the descendants' share, statm read from a kept
 * descriptor (own RSS and the sampler's target), and the tracer's tick
 * counter. */
#ifndef PM_KERNEL_INTERNAL_H
#define PM_KERNEL_INTERNAL_H

#include "pm_kernel.h"

/* Highest own RSS (bytes, no descendants) the sampler has seen.
 * Thread-safe (atomics); valid while running and after stop. */
uint64_t pm_sampler_self_peak(const pm_sampler_t *s);

/* RSS in bytes from the statm text of fd, an open /proc/<pid>/statm
 * (read with pread, so the descriptor can be kept and re-read). -ESRCH
 * when the process has gone: reaped (the read fails with ESRCH or gives
 * nothing) or exited and not yet reaped (no address space: size 0, as for
 * kernel threads). Else 0 or a negative code. Thread-safe. */
int pm_rss_statm_fd(int fd, uint64_t *bytes);

/* A cheap monotonic tick counter (about 9 ns on x86 with an invariant
 * TSC, else CLOCK_MONOTONIC in ns) for gates that only compare ticks.
 * Call pm_ticks_for_ns once first: it calibrates (about 2 ms). */
uint64_t pm_ticks(void);

/* The number of ticks in ns nanoseconds. Thread-safe. */
uint64_t pm_ticks_for_ns(int64_t ns);

#endif
