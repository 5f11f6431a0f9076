/* The sampler thread: a pure-C pthread that reads the RSS of this process
 * (or of another pid, until it exits) every self_interval_s and its
 * descendants' RSS every children_interval_s, keeps the highest values in
 * atomics, can keep every sample as a timeline (decimated to stay under
 * a bound) and can call a deadline callback. It sleeps on a condition
 * variable, so stopping wakes it at once. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SELF_S 0.001
#define DEFAULT_CHILDREN_S 0.1
#define MIN_INTERVAL_NS 10000 /* 10 us: shorter only burns a CPU */
#define MAX_INTERVAL_S PM_SAMPLER_MAX_INTERVAL_S
#define DEFAULT_MAX_SAMPLES 1000000
#define FIRST_TIMELINE_CAP 1024 /* samples; grows by doubling */

struct pm_sampler {
    /* set by pm_sampler_new, read-only afterwards */
    int64_t self_ns;
    int64_t children_ns;
    int include_children;
    int64_t deadline_ns; /* 0: no callback */
    void (*on_deadline)(void *arg);
    void *arg;
    pid_t root;    /* process whose descendants are summed */
    int target_fd; /* /proc/<pid>/statm of opts.pid; -1: this process */
    pid_t target;  /* opts.pid; 0: this process */
    pm_mem_kind_t kind; /* what own memory is (opts.kind) */
    pthread_t thread;

    pthread_mutex_t lock; /* guards stopping */
    pthread_cond_t wake;  /* CLOCK_MONOTONIC; signalled by stop */
    int stopping;

    int joined; /* owner thread only (stop/free) */

    /* written by the sampler thread (and by new before it starts) */
    uint64_t children_last;         /* bytes; the thread's private copy */
    _Atomic uint64_t peak;          /* bytes: own + children_last */
    _Atomic uint64_t self_peak;     /* bytes: own only */
    _Atomic uint64_t children_peak; /* bytes: descendants only */
    _Atomic uint64_t count;         /* totals evaluated */
    atomic_int gone;                /* 1: the target has exited */

    /* The timeline (opts.record): the sampler thread appends, any thread
     * copies out. tl[i] is the sample numbered i * tl_stride among those
     * offered (tl_seen so far), so the kept ones stay evenly spaced. */
    int record;              /* read-only after new */
    size_t tl_max;           /* samples; read-only after new */
    pthread_mutex_t tl_lock; /* guards tl .. tl_seen below */
    pm_sample_t *tl;
    size_t tl_len, tl_cap;
    uint64_t tl_stride;
    uint64_t tl_seen;
};

/* Only the sampler thread (or new, before it) writes, so no CAS. */
static void store_max(_Atomic uint64_t *slot, uint64_t v)
{
    if (v > atomic_load_explicit(slot, memory_order_relaxed)) {
        atomic_store_explicit(slot, v, memory_order_relaxed);
    }
}

static int sample_children(pm_sampler_t *s)
{
    uint64_t bytes;
    int rc = pm_mem_children(s->root, s->kind, &bytes);

    if (rc < 0) {
        return rc;
    }
    s->children_last = bytes;
    store_max(&s->children_peak, bytes);
    return 0;
}

/* Keep every other sample and double the stride: the span stays whole at
 * half the resolution. */
static void decimate_unlocked(pm_sampler_t *s)
{
    size_t kept = 0;

    for (size_t i = 0; i < s->tl_len; i += 2) {
        s->tl[kept++] = s->tl[i];
    }
    s->tl_len = kept;
    s->tl_stride *= 2;
}

/* Room for one more sample: grow up to tl_max, or decimate when full (or
 * when growing fails: a thread cannot report ENOMEM, and a coarser
 * timeline beats a truncated one). */
static void make_room_unlocked(pm_sampler_t *s)
{
    size_t cap;
    pm_sample_t *grown;

    if (s->tl_len < s->tl_cap) {
        return;
    }
    cap = s->tl_cap * 2 < s->tl_max ? s->tl_cap * 2 : s->tl_max;
    if (cap > s->tl_cap) {
        grown = realloc(s->tl, cap * sizeof *grown);
        if (grown != NULL) {
            s->tl = grown;
            s->tl_cap = cap;
            return;
        }
    }
    decimate_unlocked(s);
}

static void record_sample(pm_sampler_t *s, int64_t t_ns, uint64_t own,
                          uint64_t children)
{
    uint64_t seen;

    pthread_mutex_lock(&s->tl_lock);
    seen = s->tl_seen++;
    if (seen % s->tl_stride == 0) {
        make_room_unlocked(s);
        /* Decimating may have doubled the stride past this sample. */
        if (seen % s->tl_stride == 0) {
            pm_sample_t *slot = &s->tl[s->tl_len++];

            slot->t_ns = t_ns;
            slot->rss_bytes = own;
            slot->children_bytes = children;
        }
    }
    pthread_mutex_unlock(&s->tl_lock);
}

/* -ESRCH (and gone set) once the target process has exited. */
static int sample_total(pm_sampler_t *s)
{
    uint64_t own;
    /* Stamped before the read: a sample stamped after a moment was read
     * after it. */
    int64_t t_ns = s->record ? pm_now_ns() : 0;
    int rc = s->kind != PM_MEM_RSS  ? pm_mem_read(s->target, s->kind, &own)
             : s->target_fd >= 0 ? pm_rss_statm_fd(s->target_fd, &own)
                                 : pm_rss_self(&own);

    if (rc == -ENODATA && s->target_fd >= 0) {
        rc = -ESRCH; /* smaps_rollup of a zombie: empty */
    }

    if (rc < 0) {
        if (rc == -ESRCH && s->target_fd >= 0) {
            atomic_store_explicit(&s->gone, 1, memory_order_relaxed);
        }
        return rc;
    }
    store_max(&s->self_peak, own);
    store_max(&s->peak, own + (s->include_children ? s->children_last : 0));
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    if (s->record) {
        record_sample(s, t_ns, own,
                      s->include_children ? s->children_last : 0);
    }
    return 0;
}

/* Next tick after one at *next; ticks missed while busy are skipped. */
static void advance(int64_t *next, int64_t period, int64_t now)
{
    *next += period;
    if (*next <= now) {
        *next = now + period;
    }
}

static struct timespec to_timespec(int64_t ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

static void *run(void *arg)
{
    pm_sampler_t *s = arg;
    int64_t now = pm_now_ns();
    int64_t next_self = now + s->self_ns;
    int64_t next_children = now + s->children_ns;
    int deadline_due = s->on_deadline != NULL;
    int gone = 0; /* the target has exited: sample no more */

    /* Failed samples are skipped: a thread has nobody to report to, and
     * the next tick may succeed (e.g. EMFILE). */
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        int64_t wake = gone ? INT64_MAX : next_self;
        struct timespec ts;
        int due_children;

        if (!gone && s->include_children && next_children < wake) {
            wake = next_children;
        }
        if (deadline_due && s->deadline_ns < wake) {
            wake = s->deadline_ns;
        }
        if (wake == INT64_MAX) {
            /* Nothing left to do but wait for stop. */
            while (!s->stopping) {
                pthread_cond_wait(&s->wake, &s->lock);
            }
            break;
        }
        ts = to_timespec(wake);
        while (!s->stopping && pm_now_ns() < wake) {
            if (pthread_cond_timedwait(&s->wake, &s->lock, &ts) == ETIMEDOUT) {
                break;
            }
        }
        if (s->stopping) {
            break;
        }
        pthread_mutex_unlock(&s->lock);

        now = pm_now_ns();
        due_children = !gone && s->include_children && now >= next_children;
        if (due_children) {
            (void)sample_children(s);
            advance(&next_children, s->children_ns, now);
        }
        if (!gone && (due_children || now >= next_self)) {
            gone = sample_total(s) == -ESRCH && s->target_fd >= 0;
            advance(&next_self, s->self_ns, now);
        }
        if (deadline_due && now >= s->deadline_ns) {
            deadline_due = 0;
            s->on_deadline(s->arg);
        }
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);

    /* The last sample, asked for by stop. No deadline call here: the
     * measured code has finished. */
    if (!gone) {
        if (s->include_children) {
            (void)sample_children(s);
        }
        (void)sample_total(s);
    }
    return NULL;
}

/* Seconds (0: default) to a period in ns, or PM_ERANGE. */
static int interval_ns(double seconds, double fallback, int64_t *ns)
{
    if (isnan(seconds) || seconds < 0 || seconds > MAX_INTERVAL_S) {
        return PM_ERANGE;
    }
    if (seconds == 0) {
        seconds = fallback;
    }
    *ns = (int64_t)(seconds * 1e9);
    if (*ns < MIN_INTERVAL_NS) {
        *ns = MIN_INTERVAL_NS;
    }
    return 0;
}

int pm_sampler_new(const pm_sampler_opts_t *opts, pm_sampler_t **out)
{
    static const pm_sampler_opts_t defaults;
    pm_sampler_t *s = NULL;
    pthread_condattr_t cattr;
    sigset_t all, old;
    int have_lock = 0, have_cond = 0, have_tl_lock = 0;
    int rc;

    if (out == NULL) {
        return -EINVAL;
    }
    *out = NULL;
    if (opts == NULL) {
        opts = &defaults;
    }
    if (opts->pid < 0) {
        return -EINVAL;
    }
    /* One kept sample cannot be halved; more than memory can hold would
     * overflow the byte count. */
    if (opts->record && (opts->max_samples == 1 ||
                         opts->max_samples > SIZE_MAX / sizeof(pm_sample_t))) {
        return PM_ERANGE;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        return -ENOMEM;
    }
    s->target_fd = -1;
    rc = interval_ns(opts->self_interval_s, DEFAULT_SELF_S, &s->self_ns);
    if (rc < 0) {
        goto fail;
    }
    rc = interval_ns(opts->children_interval_s, DEFAULT_CHILDREN_S,
                     &s->children_ns);
    if (rc < 0) {
        goto fail;
    }
    s->include_children = opts->include_children != 0;
    if (opts->on_deadline != NULL && opts->deadline_ns > 0) {
        s->on_deadline = opts->on_deadline;
        s->deadline_ns = opts->deadline_ns;
        s->arg = opts->arg;
    }
    s->root = opts->pid > 0 ? opts->pid : getpid();
    s->target = opts->pid > 0 ? opts->pid : 0;
    s->kind = opts->kind;
    if (opts->pid > 0) {
        char path[64];

        snprintf(path, sizeof path, "/proc/%d/statm", (int)opts->pid);
        s->target_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->target_fd < 0) {
            rc = errno == ENOENT ? -ESRCH : -errno;
            goto fail;
        }
    }

    rc = -pthread_mutex_init(&s->lock, NULL);
    if (rc < 0) {
        goto fail;
    }
    have_lock = 1;
    rc = -pthread_condattr_init(&cattr);
    if (rc < 0) {
        goto fail;
    }
    rc = -pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = -pthread_cond_init(&s->wake, &cattr);
    }
    pthread_condattr_destroy(&cattr);
    if (rc < 0) {
        goto fail;
    }
    have_cond = 1;

    if (opts->record) {
        s->record = 1;
        s->tl_max =
            opts->max_samples ? opts->max_samples : DEFAULT_MAX_SAMPLES;
        s->tl_cap =
            s->tl_max < FIRST_TIMELINE_CAP ? s->tl_max : FIRST_TIMELINE_CAP;
        s->tl_stride = 1;
        s->tl = malloc(s->tl_cap * sizeof *s->tl);
        if (s->tl == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        rc = -pthread_mutex_init(&s->tl_lock, NULL);
        if (rc < 0) {
            goto fail;
        }
        have_tl_lock = 1;
    }

    if (s->include_children) {
        rc = sample_children(s);
        if (rc < 0) {
            goto fail;
        }
    }
    rc = sample_total(s);
    if (rc < 0) {
        goto fail;
    }

    /* Block signals in the thread so they reach the application's
     * threads (Python handles SIGINT in its main thread). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        rc = PM_ETHREAD;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (have_tl_lock) {
        pthread_mutex_destroy(&s->tl_lock);
    }
    free(s->tl);
    if (have_cond) {
        pthread_cond_destroy(&s->wake);
    }
    if (have_lock) {
        pthread_mutex_destroy(&s->lock);
    }
    if (s->target_fd >= 0) {
        close(s->target_fd);
    }
    free(s);
    return rc;
}

void pm_sampler_stop(pm_sampler_t *s)
{
    if (s == NULL || s->joined) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->joined = 1;
}

uint64_t pm_sampler_peak(const pm_sampler_t *s)
{
    return atomic_load_explicit(&s->peak, memory_order_relaxed);
}

uint64_t pm_sampler_count(const pm_sampler_t *s)
{
    return atomic_load_explicit(&s->count, memory_order_relaxed);
}

uint64_t pm_sampler_children_peak(const pm_sampler_t *s)
{
    return atomic_load_explicit(&s->children_peak, memory_order_relaxed);
}

uint64_t pm_sampler_self_peak(const pm_sampler_t *s)
{
    return atomic_load_explicit(&s->self_peak, memory_order_relaxed);
}

/* The timeline lock lives in the heap object, never in const storage. */
static pthread_mutex_t *tl_lock_of(const pm_sampler_t *s)
{
    return &((pm_sampler_t *)s)->tl_lock;
}

size_t pm_sampler_timeline_len(const pm_sampler_t *s)
{
    size_t len;

    if (s == NULL || !s->record) {
        return 0;
    }
    pthread_mutex_lock(tl_lock_of(s));
    len = s->tl_len;
    pthread_mutex_unlock(tl_lock_of(s));
    return len;
}

/* Copies kept samples [first, first + n) where n = min(kept, cap) and
 * first is 0 (oldest) or kept - n (newest); all under tl_lock, so the
 * count and the copy come from one state of the timeline. */
static size_t copy_kept(const pm_sampler_t *s, pm_sample_t *out, size_t cap,
                        int newest)
{
    size_t n, first;

    if (s == NULL || !s->record || out == NULL || cap == 0) {
        return 0;
    }
    pthread_mutex_lock(tl_lock_of(s));
    n = s->tl_len < cap ? s->tl_len : cap;
    first = newest ? s->tl_len - n : 0;
    memcpy(out, s->tl + first, n * sizeof *out);
    pthread_mutex_unlock(tl_lock_of(s));
    return n;
}

size_t pm_sampler_timeline_copy(const pm_sampler_t *s, pm_sample_t *out,
                                size_t cap)
{
    return copy_kept(s, out, cap, 0);
}

size_t pm_sampler_timeline_tail(const pm_sampler_t *s, pm_sample_t *out,
                                size_t cap)
{
    return copy_kept(s, out, cap, 1);
}

int pm_sampler_timeline_snapshot(const pm_sampler_t *s, pm_sample_t **out,
                                 size_t *n)
{
    pm_sample_t *copy;

    *out = NULL;
    *n = 0;
    if (s == NULL || !s->record) {
        return 0;
    }
    /* Allocated under the lock so that its size is the count copied; the
     * sampler thread waits at most one malloc to append. */
    pthread_mutex_lock(tl_lock_of(s));
    copy = malloc((s->tl_len > 0 ? s->tl_len : 1) * sizeof *copy);
    if (copy != NULL) {
        memcpy(copy, s->tl, s->tl_len * sizeof *copy);
        *n = s->tl_len;
    }
    pthread_mutex_unlock(tl_lock_of(s));
    if (copy == NULL) {
        return -ENOMEM;
    }
    *out = copy;
    return 0;
}

int pm_sampler_target_gone(const pm_sampler_t *s)
{
    return atomic_load_explicit(&s->gone, memory_order_relaxed);
}

void pm_sampler_free(pm_sampler_t *s)
{
    if (s == NULL) {
        return;
    }
    pm_sampler_stop(s);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    if (s->record) {
        pthread_mutex_destroy(&s->tl_lock);
    }
    free(s->tl);
    if (s->target_fd >= 0) {
        close(s->target_fd);
    }
    free(s);
}
