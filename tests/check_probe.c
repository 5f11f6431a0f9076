/* Check tests for kernel/probe.c: exact peaks through the high-water mark,
 * the sampler fallback, nesting (in order, out of order, mixed methods)
 * and descendants' RSS. Spikes are mmap'ed and touched so the numbers are
 * what the kernel counts, independent of the allocator. */
#include "check_util.h"
#include "pm_kernel.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* peak - baseline within tol (fraction) of want_mib. */
static void assert_rise(const pm_probe_t *p, double want_mib, double tol,
                        const char *what)
{
    double rise = pm_check_mib(p->peak_bytes - p->baseline_bytes);

    fprintf(stderr, "probe %s: %s peak - baseline %.2f MiB (want %.0f)\n",
            what, pm_method_name(p->method), rise, want_mib);
    ck_assert_msg(rise >= want_mib * (1 - tol) && rise <= want_mib * (1 + tol),
                  "%s: peak - baseline %.2f MiB, want %.0f +- %.0f%%", what,
                  rise, want_mib, tol * 100);
}

START_TEST(test_probe_hwm_catches_128mib_transient_exactly)
{
    pm_probe_t p;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pm_probe_begin(&p, NULL), 0);
    ck_assert_int_eq(pm_probe_depth(), 1);
    pm_check_spike(128, 0);
    ck_assert_int_eq(pm_probe_end(&p), 0);
    ck_assert_int_eq(pm_probe_depth(), 0);
    ck_assert_int_eq(p.method, PM_METHOD_HWM);
    assert_rise(&p, 128, 0.05, "hwm");
    ck_assert_uint_le(p.end_bytes, p.baseline_bytes + 8 * PM_MIB);
    ck_assert_int_ge(p.end_ns, p.begin_ns);
    ck_assert_uint_eq(p.children_peak_bytes, 0);
}
END_TEST

START_TEST(test_probe_without_allocation_peaks_near_baseline)
{
    pm_probe_t p;

    ck_assert_int_eq(pm_probe_begin(&p, NULL), 0);
    ck_assert_int_eq(pm_probe_end(&p), 0);
    ck_assert_uint_ge(p.peak_bytes, p.baseline_bytes);
    ck_assert_uint_ge(p.peak_bytes, p.end_bytes);
    ck_assert_msg(p.peak_bytes - p.baseline_bytes < 2 * PM_MIB,
                  "empty probe rose by %.2f MiB",
                  pm_check_mib(p.peak_bytes - p.baseline_bytes));
}
END_TEST

START_TEST(test_probe_forced_sampler_catches_held_spike)
{
    pm_probe_opts_t opts = {.force_sampler = 1};
    pm_probe_t p;

    ck_assert_int_eq(pm_probe_begin(&p, &opts), 0);
    pm_check_spike(128, 20);
    ck_assert_int_eq(pm_probe_end(&p), 0);
    ck_assert_int_eq(p.method, PM_METHOD_SAMPLED);
    assert_rise(&p, 128, 0.05, "forced sampler");
}
END_TEST

START_TEST(test_probe_nested_outer_and_inner_peaks_are_exact)
{
    pm_probe_t outer, inner;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pm_probe_begin(&outer, NULL), 0);
    pm_check_spike(64, 0);
    ck_assert_int_eq(pm_probe_begin(&inner, NULL), 0);
    ck_assert_int_eq(pm_probe_depth(), 2);
    pm_check_spike(32, 0);
    ck_assert_int_eq(pm_probe_end(&inner), 0);
    ck_assert_int_eq(pm_probe_end(&outer), 0);
    ck_assert_int_eq(pm_probe_depth(), 0);
    ck_assert_int_eq(outer.method, PM_METHOD_HWM);
    ck_assert_int_eq(inner.method, PM_METHOD_HWM);
    /* The inner reset must not erase the outer's 64 MiB, and the inner
     * must not see it. */
    assert_rise(&outer, 64, 0.05, "nested outer");
    assert_rise(&inner, 32, 0.05, "nested inner");
}
END_TEST

START_TEST(test_probe_outer_gets_inner_peak_when_larger)
{
    pm_probe_t outer, inner;

    ck_assert_int_eq(pm_probe_begin(&outer, NULL), 0);
    pm_check_spike(16, 0);
    ck_assert_int_eq(pm_probe_begin(&inner, NULL), 0);
    pm_check_spike(96, 0);
    ck_assert_int_eq(pm_probe_end(&inner), 0);
    pm_check_spike(8, 0);
    ck_assert_int_eq(pm_probe_end(&outer), 0);
    assert_rise(&outer, 96, 0.05, "outer of larger inner");
    assert_rise(&inner, 96, 0.05, "larger inner");
}
END_TEST

START_TEST(test_probe_sequential_inner_probes_keep_outer_exact)
{
    pm_probe_t outer, a, b;

    ck_assert_int_eq(pm_probe_begin(&outer, NULL), 0);
    ck_assert_int_eq(pm_probe_begin(&a, NULL), 0);
    pm_check_spike(24, 0);
    ck_assert_int_eq(pm_probe_end(&a), 0);
    pm_check_spike(80, 0); /* between the inner probes */
    ck_assert_int_eq(pm_probe_begin(&b, NULL), 0);
    pm_check_spike(40, 0);
    ck_assert_int_eq(pm_probe_end(&b), 0);
    ck_assert_int_eq(pm_probe_end(&outer), 0);
    assert_rise(&a, 24, 0.1, "first inner");
    assert_rise(&b, 40, 0.05, "second inner");
    assert_rise(&outer, 80, 0.05, "outer of two inner");
}
END_TEST

START_TEST(test_probe_sampled_outer_gets_exact_inner_peak)
{
    pm_probe_opts_t sampled = {.force_sampler = 1};
    pm_probe_t outer, inner;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pm_probe_begin(&outer, &sampled), 0);
    ck_assert_int_eq(pm_probe_begin(&inner, NULL), 0);
    pm_check_spike(64, 0); /* too brief to rely on the sampler */
    ck_assert_int_eq(pm_probe_end(&inner), 0);
    ck_assert_int_eq(pm_probe_end(&outer), 0);
    ck_assert_int_eq(outer.method, PM_METHOD_SAMPLED);
    ck_assert_int_eq(inner.method, PM_METHOD_HWM);
    assert_rise(&inner, 64, 0.05, "hwm inner of sampled outer");
    assert_rise(&outer, 64, 0.05, "sampled outer of hwm inner");
}
END_TEST

START_TEST(test_probe_sampled_inner_ignores_outer_earlier_peak)
{
    pm_probe_opts_t sampled = {.force_sampler = 1};
    pm_probe_t outer, inner;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pm_probe_begin(&outer, NULL), 0);
    pm_check_spike(64, 0);
    ck_assert_int_eq(pm_probe_begin(&inner, &sampled), 0);
    pm_check_spike(16, 20);
    ck_assert_int_eq(pm_probe_end(&inner), 0);
    ck_assert_int_eq(pm_probe_end(&outer), 0);
    assert_rise(&inner, 16, 0.1, "sampled inner of hwm outer");
    assert_rise(&outer, 64, 0.05, "hwm outer of sampled inner");
}
END_TEST

START_TEST(test_probe_out_of_order_end_is_allowed)
{
    pm_probe_t outer, inner;

    ck_assert_int_eq(pm_probe_begin(&outer, NULL), 0);
    ck_assert_int_eq(pm_probe_begin(&inner, NULL), 0);
    pm_check_spike(32, 0);
    ck_assert_int_eq(pm_probe_end(&outer), 0);
    ck_assert_int_eq(pm_probe_depth(), 1);
    /* Still ended, with results. */
    ck_assert_int_eq(outer.active, 0);
    assert_rise(&outer, 32, 0.05, "outer ended first");
    ck_assert_int_eq(pm_probe_end(&inner), 0);
    ck_assert_int_eq(pm_probe_depth(), 0);
    assert_rise(&inner, 32, 0.05, "inner ended last");
    /* Ending twice is refused without touching the stack. */
    ck_assert_int_eq(pm_probe_end(&inner), -EINVAL);
    ck_assert_int_eq(pm_probe_depth(), 0);
}
END_TEST

START_TEST(test_probe_middle_ended_first_keeps_stack_consistent)
{
    pm_probe_t a, b, c;

    ck_assert_int_eq(pm_probe_begin(&a, NULL), 0);
    ck_assert_int_eq(pm_probe_begin(&b, NULL), 0);
    ck_assert_int_eq(pm_probe_begin(&c, NULL), 0);
    ck_assert_int_eq(pm_probe_end(&b), 0);
    ck_assert_int_eq(pm_probe_depth(), 2);
    pm_check_spike(48, 0);
    ck_assert_int_eq(pm_probe_end(&c), 0);
    ck_assert_int_eq(pm_probe_end(&a), 0);
    ck_assert_int_eq(pm_probe_depth(), 0);
    assert_rise(&a, 48, 0.05, "outermost after middle ended");
    ck_assert_msg(b.peak_bytes - b.baseline_bytes < 4 * PM_MIB,
                  "middle probe ended before the spike rose %.2f MiB",
                  pm_check_mib(b.peak_bytes - b.baseline_bytes));
}
END_TEST

START_TEST(test_probe_begin_twice_is_refused)
{
    pm_probe_t p;

    ck_assert_int_eq(pm_probe_begin(&p, NULL), 0);
    ck_assert_int_eq(pm_probe_begin(&p, NULL), -EBUSY);
    ck_assert_int_eq(pm_probe_depth(), 1);
    ck_assert_int_eq(pm_probe_end(&p), 0);
    ck_assert_int_eq(pm_probe_depth(), 0);
}
END_TEST

START_TEST(test_probe_rejects_negative_interval)
{
    pm_probe_opts_t opts = {.interval_s = -0.1};
    pm_probe_t p;

    ck_assert_int_eq(pm_probe_begin(&p, &opts), PM_ERANGE);
    ck_assert_int_eq(pm_probe_depth(), 0);
}
END_TEST

START_TEST(test_probe_include_children_samples_forked_child)
{
    pm_probe_opts_t opts = {.include_children = 1, .interval_s = 0.01};
    pm_probe_t p;
    int ready[2], hold[2];
    pid_t child;
    char c;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    ck_assert_int_eq(pm_probe_begin(&p, &opts), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        size_t n = 32 * PM_MIB;
        void *m = mmap(NULL, n, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        close(hold[1]);
        if (m == MAP_FAILED) {
            _exit(1);
        }
        pm_check_touch(m, n, 0x5a);
        if (write(ready[1], "r", 1) != 1 || read(hold[0], &c, 1) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    pm_check_sleep_ms(300); /* ~30 children samples at 10 ms */
    close(hold[1]);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(pm_probe_end(&p), 0);
    ck_assert_int_eq(p.method, PM_METHOD_HWM_SAMPLED);
    fprintf(stderr,
            "probe children: children peak %.2f MiB, peak - baseline "
            "%.2f MiB\n",
            pm_check_mib(p.children_peak_bytes),
            pm_check_mib(p.peak_bytes - p.baseline_bytes));
    ck_assert_msg(p.children_peak_bytes >= 30 * PM_MIB,
                  "children peak %.2f MiB",
                  pm_check_mib(p.children_peak_bytes));
    /* own + children at the same sample */
    ck_assert_uint_ge(p.peak_bytes, p.baseline_bytes + 30 * PM_MIB);
}
END_TEST

START_TEST(test_probe_include_children_keeps_own_peak_exact)
{
    pm_probe_opts_t opts = {.include_children = 1, .interval_s = 0.5};
    pm_probe_t p;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pm_probe_begin(&p, &opts), 0);
    pm_check_spike(64, 0); /* far shorter than the 0.5 s period */
    ck_assert_int_eq(pm_probe_end(&p), 0);
    ck_assert_int_eq(p.method, PM_METHOD_HWM_SAMPLED);
    ck_assert_uint_eq(p.children_peak_bytes, 0);
    assert_rise(&p, 64, 0.05, "own peak with include_children");
}
END_TEST

/* Sampler thread context: count only. */
static void count_call(void *arg)
{
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

START_TEST(test_probe_deadline_fires_once_for_hwm_probe)
{
    static int calls;
    pm_probe_opts_t opts = {.on_deadline = count_call, .arg = &calls};
    pm_probe_t p;

    PM_CHECK_NEED_CLEAR_REFS();
    opts.deadline_ns = pm_now_ns() + 20 * 1000000;
    ck_assert_int_eq(pm_probe_begin(&p, &opts), 0);
    pm_check_sleep_ms(150);
    ck_assert_int_eq(pm_probe_end(&p), 0);
    ck_assert_int_eq(p.method, PM_METHOD_HWM);
    ck_assert_int_eq(__atomic_load_n(&calls, __ATOMIC_SEQ_CST), 1);
}
END_TEST

/* Overlapping, not nested: a probe ending while a newer one is active
 * gives the newer one only what happened in the newer one's window. */
START_TEST(test_probe_overlapping_windows_each_get_their_own_peak)
{
    pm_probe_t a, b;

    ck_assert_int_eq(pm_probe_begin(&a, NULL), 0);
    pm_check_spike(64, 0); /* a only */
    ck_assert_int_eq(pm_probe_begin(&b, NULL), 0);
    pm_check_spike(32, 0); /* both */
    ck_assert_int_eq(pm_probe_end(&a), 0);
    pm_check_spike(48, 0); /* b only */
    ck_assert_int_eq(pm_probe_end(&b), 0);
    ck_assert_int_eq(pm_probe_depth(), 0);
    assert_rise(&a, 64, 0.05, "older, ended first");
    assert_rise(&b, 48, 0.05, "newer, ended last");
}
END_TEST

/* A sampled probe active across a later reset gets the exact mark read
 * after that reset, also when it ends first. */
START_TEST(test_probe_sampled_probe_gets_mark_after_later_reset)
{
    pm_probe_opts_t sampled = {.force_sampler = 1, .interval_s = 0.5};
    pm_probe_t s, h;

    ck_assert_int_eq(pm_probe_begin(&s, &sampled), 0);
    ck_assert_int_eq(pm_probe_begin(&h, NULL), 0);
    ck_assert_int_eq(h.method, PM_METHOD_HWM);
    pm_check_spike(64, 0); /* far shorter than the sampler's period */
    ck_assert_int_eq(pm_probe_end(&s), 0);
    ck_assert_int_eq(pm_probe_end(&h), 0);
    assert_rise(&s, 64, 0.05, "sampled, ended before the hwm probe");
    assert_rise(&h, 64, 0.05, "hwm, ended last");
}
END_TEST

/* Three threads measure at once: each begins in turn, all allocate
 * (32, 64, 96 MiB) and hold until all hold, then each ends in the order
 * they began (oldest first, as a stack would refuse). */
typedef struct {
    pthread_barrier_t *held, *begun;
    pthread_mutex_t *lock;
    pthread_cond_t *turn_changed;
    int *turn; /* whose turn to begin, then to end; lock */
    int index;
    size_t n_mib;
    pm_probe_t probe;
    int begin_rc, end_rc;
} probe_thread_t;

static void wait_turn(probe_thread_t *t, int turn)
{
    pthread_mutex_lock(t->lock);
    while (*t->turn != turn) {
        pthread_cond_wait(t->turn_changed, t->lock);
    }
    pthread_mutex_unlock(t->lock);
}

static void next_turn(probe_thread_t *t)
{
    pthread_mutex_lock(t->lock);
    (*t->turn)++;
    pthread_cond_broadcast(t->turn_changed);
    pthread_mutex_unlock(t->lock);
}

static void *probe_thread(void *arg)
{
    probe_thread_t *t = arg;
    size_t n = t->n_mib * PM_MIB;
    void *m;

    wait_turn(t, t->index);
    t->begin_rc = pm_probe_begin(&t->probe, NULL);
    next_turn(t);
    pthread_barrier_wait(t->begun);
    m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0);
    if (m != MAP_FAILED) {
        memset(m, 0x5a, n);
    }
    pthread_barrier_wait(t->held);
    if (m != MAP_FAILED) {
        munmap(m, n);
    }
    wait_turn(t, 3 + t->index);
    t->end_rc = t->begin_rc == 0 ? pm_probe_end(&t->probe) : -1;
    next_turn(t);
    return NULL;
}

START_TEST(test_probe_three_threads_each_get_their_own_result)
{
    pthread_barrier_t begun, held;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
    probe_thread_t t[3];
    pthread_t tid[3];
    int turn = 0;

    ck_assert_int_eq(pthread_barrier_init(&begun, NULL, 3), 0);
    ck_assert_int_eq(pthread_barrier_init(&held, NULL, 3), 0);
    for (int i = 0; i < 3; i++) {
        t[i] = (probe_thread_t){.held = &held,
                                .begun = &begun,
                                .lock = &lock,
                                .turn_changed = &turn_changed,
                                .turn = &turn,
                                .index = i,
                                .n_mib = 32 * (size_t)(i + 1)};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, probe_thread, &t[i]),
                         0);
    }
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
    }
    pthread_barrier_destroy(&begun);
    pthread_barrier_destroy(&held);
    ck_assert_int_eq(pm_probe_depth(), 0);
    for (int i = 0; i < 3; i++) {
        double rise =
            pm_check_mib(t[i].probe.peak_bytes - t[i].probe.baseline_bytes);

        fprintf(stderr, "probe thread %d (%zu MiB): rc %d, rise %.2f MiB\n", i,
                t[i].n_mib, t[i].end_rc, rise);
        ck_assert_int_eq(t[i].begin_rc, 0);
        ck_assert_int_eq(t[i].end_rc, 0);
        ck_assert_int_eq(t[i].probe.method, PM_METHOD_HWM);
        /* All three were held at once inside every window. */
        ck_assert_msg(rise >= 0.95 * (32 + 64 + 96),
                      "thread %d: rise %.2f MiB, want >= %.0f", i, rise,
                      0.95 * (32 + 64 + 96));
        ck_assert_msg(rise >= (double)t[i].n_mib,
                      "thread %d: rise %.2f MiB below its own %zu MiB", i,
                      rise, t[i].n_mib);
    }
}
END_TEST

START_TEST(test_probe_deadline_saturates_for_huge_seconds)
{
    int64_t now = pm_now_ns();
    int64_t far = pm_probe_deadline_ns(1e300);
    int64_t inf = pm_probe_deadline_ns(INFINITY);
    int64_t nan_d = pm_probe_deadline_ns(NAN);
    int64_t neg = pm_probe_deadline_ns(-5);
    int64_t one = pm_probe_deadline_ns(1);

    /* Beyond a century from now, and no wrap to the past. */
    ck_assert_int_gt(far, now + (int64_t)3153600000 * 1000000000);
    ck_assert_int_gt(inf, now + (int64_t)3153600000 * 1000000000);
    ck_assert_int_ge(nan_d, now);
    ck_assert_int_lt(nan_d, now + 1000000000);
    ck_assert_int_ge(neg, now);
    ck_assert_int_lt(neg, now + 1000000000);
    ck_assert_int_ge(one, now + 1000000000);
    ck_assert_int_lt(one, now + 2000000000);
}
END_TEST

int main(void)
{
    const pm_check_tcase_t tcases[] = {
        {"overlap", 60, NULL, NULL},
    };
    const pm_check_test_t tests[] = {
        {"hwm", test_probe_hwm_catches_128mib_transient_exactly},
        {"hwm", test_probe_without_allocation_peaks_near_baseline},
        {"hwm", test_probe_begin_twice_is_refused},
        {"hwm", test_probe_rejects_negative_interval},
        {"sampled", test_probe_forced_sampler_catches_held_spike},
        {"sampled", test_probe_deadline_fires_once_for_hwm_probe},
        {"nesting", test_probe_nested_outer_and_inner_peaks_are_exact},
        {"nesting", test_probe_outer_gets_inner_peak_when_larger},
        {"nesting", test_probe_sequential_inner_probes_keep_outer_exact},
        {"nesting", test_probe_sampled_outer_gets_exact_inner_peak},
        {"nesting", test_probe_sampled_inner_ignores_outer_earlier_peak},
        {"nesting", test_probe_out_of_order_end_is_allowed},
        {"nesting", test_probe_middle_ended_first_keeps_stack_consistent},
        {"children", test_probe_include_children_samples_forked_child},
        {"children", test_probe_include_children_keeps_own_peak_exact},
        {"overlap", test_probe_overlapping_windows_each_get_their_own_peak},
        {"overlap", test_probe_sampled_probe_gets_mark_after_later_reset},
        {"overlap", test_probe_three_threads_each_get_their_own_result},
        {"overlap", test_probe_deadline_saturates_for_huge_seconds},
    };

    return pm_check_run(pm_check_suite("probe", tests, PM_CHECK_COUNT(tests),
                                       tcases, PM_CHECK_COUNT(tcases)));
}
