/* The peak probe: baseline RSS at begin, exact peak from the kernel's
 * high-water mark (clear_refs reset + VmHWM) at end, or a sampler thread
 * when the reset is refused, and a sampler for descendants. The reset is
 * process-wide, so active probes form one stack and fold peaks into each
 * other to stay exact when nested. pm_hwm_take (line peaks for %mprun)
 * lives here as it must fold into that stack under the same lock. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static pm_probe_t *stack_top; /* innermost active probe; stack_lock */
static int stack_depth;       /* active probes; stack_lock */

#define FALLBACK_SELF_S 0.001  /* sampler period when the reset fails */
#define DEADLINE_ONLY_S 0.1    /* own period of a deadline-only sampler */
#define DEFAULT_CHILDREN_S 0.1 /* as the sampler's default */

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* A probe whose window starts with its own reset: VmHWM read at any time
 * while it is active covers only time inside its window. */
static int resets_hwm(const pm_probe_t *p)
{
    return p->method == PM_METHOD_HWM || p->method == PM_METHOD_HWM_SAMPLED;
}

static int on_stack_unlocked(const pm_probe_t *p)
{
    for (const pm_probe_t *q = stack_top; q != NULL; q = q->outer) {
        if (q == p) {
            return 1;
        }
    }
    return 0;
}

static int any_resetting_unlocked(void)
{
    for (const pm_probe_t *q = stack_top; q != NULL; q = q->outer) {
        if (resets_hwm(q)) {
            return 1;
        }
    }
    return 0;
}

/* Before a reset: the VmHWM so far belongs to every probe that reset at
 * or before the last reset, i.e. every resetting probe. A sampled probe
 * may have begun after the last reset, so it does not get it. *hwm_out
 * (may be NULL) receives the mark read, in bytes. */
static int fold_hwm_unlocked(uint64_t *hwm_out)
{
    uint64_t hwm;
    int rc = pm_hwm_read(&hwm);

    if (rc < 0) {
        return rc;
    }
    for (pm_probe_t *q = stack_top; q != NULL; q = q->outer) {
        if (resets_hwm(q)) {
            q->folded_max = max_u64(q->folded_max, hwm);
        }
    }
    if (hwm_out != NULL) {
        *hwm_out = hwm;
    }
    return 0;
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
    pthread_mutex_lock(&stack_lock);
    if (on_stack_unlocked(p)) {
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
    if (use_hwm && any_resetting_unlocked() && fold_hwm_unlocked(NULL) < 0) {
        /* Resetting now would lose the outer probes' peak so far. */
        use_hwm = 0;
    }
    if (use_hwm && pm_hwm_reset() < 0) {
        use_hwm = 0;
    }
    if (!use_hwm) {
        p->method = PM_METHOD_SAMPLED;
    } else if (opts->include_children) {
        p->method = PM_METHOD_HWM_SAMPLED;
    } else {
        p->method = PM_METHOD_HWM;
    }

    if (!use_hwm || opts->include_children ||
        (opts->on_deadline != NULL && opts->deadline_ns > 0)) {
        rc = start_sampler(p, opts);
        if (rc < 0) {
            goto fail;
        }
    }
    p->outer = stack_top;
    p->active = 1;
    stack_top = p;
    stack_depth++;
    pthread_mutex_unlock(&stack_lock);
    return 0;
fail:
    p->active = 0;
    pthread_mutex_unlock(&stack_lock);
    return rc;
}

int pm_probe_end(pm_probe_t *p)
{
    uint64_t own, hwm;
    int nesting_rc = 0;
    int rc = 0;

    if (p == NULL) {
        return -EINVAL;
    }
    pthread_mutex_lock(&stack_lock);
    if (!on_stack_unlocked(p)) {
        pthread_mutex_unlock(&stack_lock);
        return -EINVAL;
    }
    pthread_mutex_unlock(&stack_lock);

    /* Outside the lock: joining waits for the thread, which may be in
     * on_deadline. Only p's owner touches p->sampler. */
    pm_sampler_stop(p->sampler);

    pthread_mutex_lock(&stack_lock);
    p->end_ns = pm_now_ns();
    rc = pm_rss_self(&p->end_bytes);
    own = max_u64(max_u64(p->baseline_bytes, p->end_bytes), p->folded_max);
    if (resets_hwm(p)) {
        int hrc = pm_hwm_read(&hwm);

        if (hrc == 0) {
            own = max_u64(own, hwm);
        } else if (rc == 0) {
            rc = hrc;
        }
    }
    p->peak_bytes = own;
    if (p->sampler != NULL) {
        own = max_u64(own, pm_sampler_self_peak(p->sampler));
        p->peak_bytes = max_u64(own, pm_sampler_peak(p->sampler));
        p->children_peak_bytes = pm_sampler_children_peak(p->sampler);
    }

    if (stack_top != p) {
        nesting_rc = PM_ENESTING;
    }
    /* Unlink; probes begun inside p (ended later) now sit on p's outer. */
    if (stack_top == p) {
        stack_top = p->outer;
    } else {
        for (pm_probe_t *q = stack_top; q != NULL; q = q->outer) {
            if (q->outer == p) {
                q->outer = p->outer;
                break;
            }
        }
    }
    /* Own peak only: an outer probe without include_children must not
     * get p's descendants. */
    for (pm_probe_t *q = p->outer; q != NULL; q = q->outer) {
        q->folded_max = max_u64(q->folded_max, own);
    }
    stack_depth--;
    p->outer = NULL;
    p->active = 0;
    pthread_mutex_unlock(&stack_lock);

    pm_sampler_free(p->sampler);
    p->sampler = NULL;
    return nesting_rc < 0 ? nesting_rc : rc;
}

/* Under stack_lock, so no probe begins or ends between the read, the
 * fold and the reset. */
int pm_hwm_take(uint64_t *bytes)
{
    uint64_t hwm;
    int rc;

    if (bytes == NULL) {
        return -EINVAL;
    }
    pthread_mutex_lock(&stack_lock);
    rc = fold_hwm_unlocked(&hwm);
    if (rc < 0) {
        goto fail;
    }
    rc = pm_hwm_reset();
    if (rc < 0) {
        goto fail;
    }
    pthread_mutex_unlock(&stack_lock);
    *bytes = hwm;
    return 0;
fail:
    pthread_mutex_unlock(&stack_lock);
    return rc;
}

int pm_probe_depth(void)
{
    int depth;

    pthread_mutex_lock(&stack_lock);
    depth = stack_depth;
    pthread_mutex_unlock(&stack_lock);
    return depth;
}
