/* The peak probe: baseline RSS at begin, exact peak from the kernel's
 * high-water mark (clear_refs reset + VmHWM) at end, or a sampler thread
 * when the reset is refused, and a sampler for descendants. pm_hwm_take
 * (line peaks for %mprun) lives here as it must fold into the active
 * probes under the same lock.
 *
 * Active probes form a set, not a stack: measurements may run in several
 * threads at once and end in any order. VmHWM is process-wide and every
 * reset (a resetting probe's begin, pm_hwm_take) erases it, so each probe
 * keeps its own running maximum (folded_max) of the readings taken while
 * it is active, and its peak is the maximum over all readings during its
 * window:
 * - VmHWM read at any moment holds the peak since the last reset. That
 *   span lies inside the window of every active probe that began at or
 *   before the last reset ("covered", tracked with reset_epoch). Before
 *   any reset, and at every end, VmHWM is read and folded into every
 *   covered probe (under set_lock, so no reset slips in between).
 * - At a probe's end its own peak (its readings and its sampler's) folds
 *   into the probes that began before it (their windows contain its
 *   window); probes that began after it get only the readings taken at
 *   that end (end RSS, VmHWM), which lie in their windows too. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static pm_probe_t *newest;   /* active probes, newest first; set_lock */
static int active_count;     /* active probes; set_lock */
static uint64_t begin_count; /* probes begun so far (order); set_lock */
static uint64_t reset_epoch; /* successful VmHWM resets so far; set_lock */

#define FALLBACK_SELF_S 0.001  /* sampler period when the reset fails */
#define DEADLINE_ONLY_S 0.1    /* own period of a deadline-only sampler */
#define DEFAULT_CHILDREN_S 0.1 /* as the sampler's default */
/* Deadlines further out saturate here: far beyond any run, and far from
 * overflowing pm_now_ns() + this. */
#define MAX_DEADLINE_S 4e9

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* VmHWM read now covers only time inside p's window: the last reset was
 * at or after p's begin. set_lock held. */
static int covered_unlocked(const pm_probe_t *p)
{
    return reset_epoch >= p->hwm_epoch;
}

static int is_active_unlocked(const pm_probe_t *p)
{
    for (const pm_probe_t *q = newest; q != NULL; q = q->older) {
        if (q == p) {
            return 1;
        }
    }
    return 0;
}

static int any_covered_unlocked(void)
{
    for (const pm_probe_t *q = newest; q != NULL; q = q->older) {
        if (covered_unlocked(q)) {
            return 1;
        }
    }
    return 0;
}

/* Read VmHWM and fold it into every covered probe, as before a reset or
 * at an end. *hwm_out (may be NULL) receives the mark read, in bytes. */
static int fold_hwm_unlocked(uint64_t *hwm_out)
{
    uint64_t hwm;
    int rc = pm_hwm_read(&hwm);

    if (rc < 0) {
        return rc;
    }
    for (pm_probe_t *q = newest; q != NULL; q = q->older) {
        if (covered_unlocked(q)) {
            q->folded_max = max_u64(q->folded_max, hwm);
        }
    }
    if (hwm_out != NULL) {
        *hwm_out = hwm;
    }
    return 0;
}

/* Reset VmHWM; on success start a new epoch. set_lock held, after
 * fold_hwm_unlocked. */
static int reset_hwm_unlocked(void)
{
    int rc = pm_hwm_reset();

    if (rc == 0) {
        reset_epoch++;
    }
    return rc;
}

int64_t pm_probe_deadline_ns(double seconds)
{
    if (isnan(seconds) || seconds < 0) {
        seconds = 0;
    }
    if (seconds > MAX_DEADLINE_S) {
        seconds = MAX_DEADLINE_S;
    }
    return pm_now_ns() + (int64_t)(seconds * 1e9);
}

static int start_sampler(pm_probe_t *p, const pm_probe_opts_t *opts)
{
    pm_sampler_opts_t so;
    double interval = opts->interval_s;

    memset(&so, 0, sizeof so);
    so.include_children = opts->include_children;
    so.children_interval_s = interval;
    so.deadline_ns = opts->deadline_ns;
    so.on_deadline = opts->on_deadline;
    so.arg = opts->arg;
    if (p->method == PM_METHOD_SAMPLED) {
        so.self_interval_s = interval > 0 && interval < FALLBACK_SELF_S
                                 ? interval
                                 : FALLBACK_SELF_S;
    } else if (opts->include_children) {
        /* Own peak is exact; own RSS is only needed for the totals. */
        so.self_interval_s = interval > 0 ? interval : DEFAULT_CHILDREN_S;
    } else {
        so.self_interval_s = DEADLINE_ONLY_S;
    }
    return pm_sampler_new(&so, &p->sampler);
}

int pm_probe_begin(pm_probe_t *p, const pm_probe_opts_t *opts)
{
    static const pm_probe_opts_t defaults;
    int use_hwm;
    int rc;

    if (p == NULL) {
        return -EINVAL;
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    if (isnan(opts->interval_s) || opts->interval_s < 0) {
        return PM_ERANGE;
    }
    pthread_mutex_lock(&set_lock);
    if (is_active_unlocked(p)) {
        rc = -EBUSY;
        goto fail;
    }
    memset(p, 0, sizeof *p);
    p->begin_ns = pm_now_ns();
    rc = pm_rss_self(&p->baseline_bytes);
    if (rc < 0) {
        goto fail;
    }

    use_hwm = !opts->force_sampler;
    if (use_hwm && any_covered_unlocked() && fold_hwm_unlocked(NULL) < 0) {
        /* Resetting now would lose the active probes' peak so far. */
        use_hwm = 0;
    }
    if (use_hwm && reset_hwm_unlocked() < 0) {
        use_hwm = 0;
    }
    if (!use_hwm) {
        p->method = PM_METHOD_SAMPLED;
        p->hwm_epoch = reset_epoch + 1; /* from the next reset on */
    } else {
        p->method = opts->include_children ? PM_METHOD_HWM_SAMPLED
                                           : PM_METHOD_HWM;
        p->hwm_epoch = reset_epoch; /* its own reset */
    }

    if (!use_hwm || opts->include_children ||
        (opts->on_deadline != NULL && opts->deadline_ns > 0)) {
        rc = start_sampler(p, opts);
        if (rc < 0) {
            goto fail;
        }
    }
    if (opts->include_children && opts->children != NULL) {
        rc = pm_children_start(opts->children);
        if (rc < 0) {
            pm_sampler_free(p->sampler);
            p->sampler = NULL;
            goto fail;
        }
        p->children = opts->children;
    }
    p->seq = ++begin_count;
    p->older = newest;
    p->active = 1;
    newest = p;
    active_count++;
    pthread_mutex_unlock(&set_lock);
    return 0;
fail:
    p->active = 0;
    pthread_mutex_unlock(&set_lock);
    return rc;
}

int pm_probe_end(pm_probe_t *p)
{
    uint64_t own;
    int rc = 0;

    if (p == NULL) {
        return -EINVAL;
    }
    pthread_mutex_lock(&set_lock);
    if (!is_active_unlocked(p)) {
        pthread_mutex_unlock(&set_lock);
        return -EINVAL;
    }
    pthread_mutex_unlock(&set_lock);

    /* Outside the lock: joining waits for the thread, which may be in
     * on_deadline. Only p's owner touches p->sampler. */
    pm_sampler_stop(p->sampler);
    (void)pm_children_stop(p->children);
    p->children = NULL;

    pthread_mutex_lock(&set_lock);
    p->end_ns = pm_now_ns();
    rc = pm_rss_self(&p->end_bytes);
    if (any_covered_unlocked()) {
        /* The mark now belongs to every covered probe, p included. */
        int hrc = fold_hwm_unlocked(NULL);

        if (hrc < 0 && covered_unlocked(p) && rc == 0) {
            rc = hrc;
        }
    }
    own = max_u64(max_u64(p->baseline_bytes, p->end_bytes), p->folded_max);
    p->peak_bytes = own;
    if (p->sampler != NULL) {
        own = max_u64(own, pm_sampler_self_peak(p->sampler));
        p->peak_bytes = max_u64(own, pm_sampler_peak(p->sampler));
        p->children_peak_bytes = pm_sampler_children_peak(p->sampler);
    }
    p->self_peak_bytes = own;

    if (newest == p) {
        newest = p->older;
    } else {
        for (pm_probe_t *q = newest; q != NULL; q = q->older) {
            if (q->older == p) {
                q->older = p->older;
                break;
            }
        }
    }
    /* Own peak only: a probe without include_children must not get p's
     * descendants. */
    for (pm_probe_t *q = newest; q != NULL; q = q->older) {
        uint64_t v = q->seq < p->seq ? own : p->end_bytes;

        q->folded_max = max_u64(q->folded_max, v);
    }
    active_count--;
    p->older = NULL;
    p->active = 0;
    pthread_mutex_unlock(&set_lock);

    pm_sampler_free(p->sampler);
    p->sampler = NULL;
    return rc;
}

/* Under set_lock, so no probe begins or ends between the read, the fold
 * and the reset. */
int pm_hwm_take(uint64_t *bytes)
{
    uint64_t hwm;
    int rc;

    if (bytes == NULL) {
        return -EINVAL;
    }
    pthread_mutex_lock(&set_lock);
    rc = fold_hwm_unlocked(&hwm);
    if (rc < 0) {
        goto fail;
    }
    rc = reset_hwm_unlocked();
    if (rc < 0) {
        goto fail;
    }
    pthread_mutex_unlock(&set_lock);
    *bytes = hwm;
    return 0;
fail:
    pthread_mutex_unlock(&set_lock);
    return rc;
}

int pm_probe_depth(void)
{
    int n;

    pthread_mutex_lock(&set_lock);
    n = active_count;
    pthread_mutex_unlock(&set_lock);
    return n;
}
