/* Check tests for kernel/sampler.c: sampling rate, prompt stop, the final
 * and first samples, the deadline callback, spikes in own and children's
 * RSS, sampling another process until it exits, recorded timelines and
 * their decimation, copies taken while the thread appends, and repeated
 * create/stop cycles (run under ASan and valgrind for leaks). */
#include "check_util.h"
#include "pm_kernel.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

START_TEST(test_sampler_takes_first_sample_before_returning)
{
    pm_sampler_opts_t opts = {.self_interval_s = 10};
    pm_sampler_t *s = NULL;
    uint64_t rss;

    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    ck_assert_uint_eq(pm_sampler_count(s), 1);
    ck_assert_int_eq(pm_rss_self(&rss), 0);
    ck_assert_uint_gt(pm_sampler_peak(s), rss / 2);
    ck_assert_uint_eq(pm_sampler_children_peak(s), 0);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_stop_takes_final_sample)
{
    pm_sampler_opts_t opts = {.self_interval_s = 10};
    pm_sampler_t *s = NULL;

    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_sampler_stop(s);
    ck_assert_uint_eq(pm_sampler_count(s), 2);
    pm_sampler_stop(s); /* idempotent: no third sample */
    ck_assert_uint_eq(pm_sampler_count(s), 2);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_default_rate_is_about_1khz)
{
    pm_sampler_t *s = NULL;
    uint64_t n;

    ck_assert_int_eq(pm_sampler_new(NULL, &s), 0);
    pm_check_sleep_ms(1000);
    pm_sampler_stop(s);
    n = pm_sampler_count(s);
    fprintf(stderr, "sampler: %llu samples in 1 s at the default period\n",
            (unsigned long long)n);
    /* 1000 expected; the floor allows a loaded 2-core box, the ceiling
     * catches a period that is not honoured. */
    ck_assert_msg(n >= 300 && n <= 1100, "%llu samples in 1 s",
                  (unsigned long long)n);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_honours_longer_period)
{
    pm_sampler_opts_t opts = {.self_interval_s = 0.05};
    pm_sampler_t *s = NULL;
    uint64_t n;

    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_check_sleep_ms(500);
    pm_sampler_stop(s);
    n = pm_sampler_count(s);
    /* first + ~10 ticks + last */
    ck_assert_msg(n >= 5 && n <= 13, "%llu samples in 0.5 s at 50 ms",
                  (unsigned long long)n);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_stop_returns_promptly_with_long_interval)
{
    pm_sampler_opts_t opts = {.self_interval_s = 30,
                              .include_children = 1,
                              .children_interval_s = 30};
    pm_sampler_t *s = NULL;
    int64_t t0, dt;

    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_check_sleep_ms(20);
    t0 = pm_now_ns();
    pm_sampler_stop(s);
    dt = pm_now_ns() - t0;
    fprintf(stderr, "sampler: stop took %.3f ms with 30 s periods\n",
            (double)dt / 1e6);
    /* A few ms are expected (one /proc scan for the last sample); 100 ms
     * keeps the test deterministic under valgrind. */
    ck_assert_msg(dt < 100 * 1000000, "stop took %.3f ms", (double)dt / 1e6);
    pm_sampler_free(s);
}
END_TEST

static atomic_int deadline_calls;
static atomic_llong deadline_at;

/* Runs on the sampler thread: no ck_assert here. Counting through arg
 * checks that arg is passed. */
static void on_deadline(void *arg)
{
    atomic_store(&deadline_at, (long long)pm_now_ns());
    atomic_fetch_add((atomic_int *)arg, 1);
}

START_TEST(test_sampler_deadline_fires_once)
{
    pm_sampler_opts_t opts = {.self_interval_s = 0.01,
                              .on_deadline = on_deadline,
                              .arg = &deadline_calls};
    pm_sampler_t *s = NULL;

    atomic_store(&deadline_calls, 0);
    opts.deadline_ns = pm_now_ns() + 50 * 1000000;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_check_sleep_ms(300);
    pm_sampler_stop(s);
    ck_assert_int_eq(atomic_load(&deadline_calls), 1);
    ck_assert_int_ge(atomic_load(&deadline_at), opts.deadline_ns);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_deadline_fires_on_time_with_long_interval)
{
    pm_sampler_opts_t opts = {.self_interval_s = 30,
                              .on_deadline = on_deadline,
                              .arg = &deadline_calls};
    pm_sampler_t *s = NULL;
    long long late;

    atomic_store(&deadline_calls, 0);
    opts.deadline_ns = pm_now_ns() + 30 * 1000000;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_check_sleep_ms(200);
    ck_assert_int_eq(atomic_load(&deadline_calls), 1);
    late = atomic_load(&deadline_at) - opts.deadline_ns;
    ck_assert_msg(late >= 0 && late < 100 * 1000000, "late by %.3f ms",
                  (double)late / 1e6);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_deadline_not_fired_when_stopped_before)
{
    pm_sampler_opts_t opts = {.self_interval_s = 0.001,
                              .on_deadline = on_deadline,
                              .arg = &deadline_calls};
    pm_sampler_t *s = NULL;

    atomic_store(&deadline_calls, 0);
    opts.deadline_ns = pm_now_ns() + 10LL * 1000000000;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_check_sleep_ms(20);
    pm_sampler_free(s);
    ck_assert_int_eq(atomic_load(&deadline_calls), 0);
}
END_TEST

START_TEST(test_sampler_sees_held_spike)
{
    const size_t n = 64 * PM_MIB;
    pm_sampler_t *s = NULL;
    uint64_t base;
    void *p;

    ck_assert_int_eq(pm_sampler_new(NULL, &s), 0);
    base = pm_sampler_peak(s);
    p = pm_check_map_touch(n);
    pm_check_sleep_ms(20);
    munmap(p, n);
    pm_check_sleep_ms(5);
    pm_sampler_stop(s);
    ck_assert_msg(pm_sampler_peak(s) - base >= n * 0.95,
                  "sampled peak rose by %.2f MiB",
                  pm_check_mib(pm_sampler_peak(s) - base));
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_children_peak_counts_forked_child)
{
    pm_sampler_opts_t opts = {.include_children = 1,
                              .children_interval_s = 0.01};
    pm_sampler_t *s = NULL;
    int ready[2], hold[2];
    pid_t child;
    char c;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(hold[1]);
        pm_check_map_touch(32 * PM_MIB);
        if (write(ready[1], "r", 1) != 1 || read(hold[0], &c, 1) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    pm_check_sleep_ms(100);
    close(hold[1]);
    waitpid(child, NULL, 0);
    pm_sampler_stop(s);
    ck_assert_msg(pm_sampler_children_peak(s) >= 32 * PM_MIB,
                  "children peak %.2f MiB",
                  pm_check_mib(pm_sampler_children_peak(s)));
    ck_assert_uint_ge(pm_sampler_peak(s), pm_sampler_children_peak(s));
    pm_sampler_free(s);
}
END_TEST

/* Wait up to timeout_ms for cond(s, arg) to hold, polling every ms.
 * Returns the ms waited, or -1 on timeout. */
static int wait_until(int (*cond)(const pm_sampler_t *, uint64_t),
                      const pm_sampler_t *s, uint64_t arg, int timeout_ms)
{
    int64_t t0 = pm_now_ns();

    for (;;) {
        int64_t waited = (pm_now_ns() - t0) / 1000000;

        if (cond(s, arg)) {
            return (int)waited;
        }
        if (waited > timeout_ms) {
            return -1;
        }
        pm_check_sleep_ms(1);
    }
}

static int peak_reached(const pm_sampler_t *s, uint64_t bytes)
{
    return pm_sampler_peak(s) >= bytes;
}

static int target_gone(const pm_sampler_t *s, uint64_t unused)
{
    (void)unused;
    return pm_sampler_target_gone(s);
}

/* A child that reports on ready, waits for a byte on go, touches mib_n
 * MiB, reports again, and exits when every write end of hold is closed. */
static pid_t spawn_toucher(size_t mib_n, int ready, int go, const int hold[2])
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char c = 'r';

        close(hold[1]);
        if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1) {
            _exit(1);
        }
        pm_check_map_touch(mib_n * PM_MIB);
        if (write(ready, &c, 1) != 1 || read(hold[0], &c, 1) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    return pid;
}

START_TEST(test_sampler_follows_pid_until_it_exits)
{
    pm_sampler_opts_t opts = {.self_interval_s = 0.001};
    pm_sampler_t *s = NULL;
    int ready[2], go[2], hold[2];
    uint64_t base, n_gone, mine0, mine;
    int64_t released;
    int waited, status;
    char c = 'g';

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(hold), 0);
    opts.pid = spawn_toucher(32, ready[1], go[0], hold);
    close(hold[0]);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);

    ck_assert_int_eq(pm_rss_self(&mine0), 0);
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    base = pm_sampler_peak(s);
    ck_assert_int_eq(pm_sampler_target_gone(s), 0);
    ck_assert_int_eq(write(go[1], &c, 1), 1);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    waited = wait_until(peak_reached, s, base + (uint64_t)(31 * PM_MIB), 2000);
    fprintf(stderr, "sampler: pid target's 32 MiB seen after %d ms\n", waited);
    ck_assert_msg(waited >= 0, "peak rose only by %.2f MiB",
                  pm_check_mib(pm_sampler_peak(s) - base));
    ck_assert_int_eq(pm_sampler_target_gone(s), 0);
    /* Our own RSS did not move: the target's was sampled. */
    ck_assert_int_eq(pm_rss_self(&mine), 0);
    ck_assert_msg(mine < mine0 + 8 * PM_MIB, "own RSS rose by %.2f MiB",
                  pm_check_mib(mine - mine0));

    released = pm_now_ns();
    close(hold[1]);
    ck_assert_int_eq(waitpid(opts.pid, &status, 0), opts.pid);
    ck_assert_int_eq(status, 0);
    waited = wait_until(target_gone, s, 0, 2000);
    fprintf(stderr,
            "sampler: target gone seen %d ms after waitpid, %.3f ms after "
            "the child was told to exit\n",
            waited, (double)(pm_now_ns() - released) / 1e6);
    /* A few 1 ms intervals; 500 ms for a loaded box or valgrind. */
    ck_assert_msg(waited >= 0 && waited < 500, "gone after %d ms", waited);

    /* The thread has stopped sampling, and stop takes no last one. */
    n_gone = pm_sampler_count(s);
    pm_check_sleep_ms(30);
    ck_assert_uint_eq(pm_sampler_count(s), n_gone);
    pm_sampler_stop(s);
    ck_assert_uint_eq(pm_sampler_count(s), n_gone);
    ck_assert_int_eq(pm_sampler_target_gone(s), 1);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_pid_children_counts_target_descendants)
{
    pm_sampler_opts_t opts = {.self_interval_s = 0.01,
                              .include_children = 1,
                              .children_interval_s = 0.01};
    pm_sampler_t *s = NULL;
    int ready[2], go[2], hold[2];
    char c = 'g';
    pid_t mid;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(hold), 0);
    /* mid's child (our grandchild) touches 32 MiB; mid touches none. */
    mid = fork();
    ck_assert_int_ge(mid, 0);
    if (mid == 0) {
        pid_t grand = spawn_toucher(32, ready[1], go[0], hold);

        close(hold[1]);
        if (read(hold[0], &c, 1) < 0) {
            _exit(1);
        }
        _exit(waitpid(grand, NULL, 0) == grand ? 0 : 1);
    }
    close(hold[0]);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    opts.pid = mid;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    ck_assert_int_eq(write(go[1], &c, 1), 1);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_msg(wait_until(peak_reached, s, (uint64_t)(32 * PM_MIB), 2000) >=
                      0,
                  "peak %.2f MiB", pm_check_mib(pm_sampler_peak(s)));
    pm_sampler_stop(s);
    close(hold[1]);
    waitpid(mid, NULL, 0);
    ck_assert_msg(pm_sampler_children_peak(s) >= 32 * PM_MIB,
                  "children peak %.2f MiB",
                  pm_check_mib(pm_sampler_children_peak(s)));
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_deadline_fires_after_target_gone)
{
    pm_sampler_opts_t opts = {.self_interval_s = 0.001,
                              .on_deadline = on_deadline,
                              .arg = &deadline_calls};
    pm_sampler_t *s = NULL;
    pid_t child;
    int hold[2];
    char c;

    atomic_store(&deadline_calls, 0);
    ck_assert_int_eq(pipe(hold), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(hold[1]);
        _exit(read(hold[0], &c, 1) < 0);
    }
    opts.pid = child;
    opts.deadline_ns = pm_now_ns() + 300 * 1000000;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    close(hold[1]);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_ge(wait_until(target_gone, s, 0, 2000), 0);
    ck_assert_int_eq(atomic_load(&deadline_calls), 0);
    pm_check_sleep_ms(700);
    ck_assert_int_eq(atomic_load(&deadline_calls), 1);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_rejects_missing_pid)
{
    pm_sampler_opts_t opts = {0};
    pm_sampler_t *s = (pm_sampler_t *)&opts;
    siginfo_t info;
    pid_t child = fork();

    ck_assert_int_ge(child, 0);
    if (child == 0) {
        _exit(0);
    }
    /* Exited, not yet reaped: a zombie has no address space to sample. */
    ck_assert_int_eq(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT), 0);
    opts.pid = child;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), -ESRCH);
    ck_assert_ptr_null(s);
    /* Reaped: no /proc entry at all. */
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    s = (pm_sampler_t *)&opts;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), -ESRCH);
    ck_assert_ptr_null(s);
    opts.pid = -1;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), -EINVAL);
}
END_TEST

START_TEST(test_sampler_own_process_is_never_gone)
{
    pm_sampler_t *s = NULL;

    ck_assert_int_eq(pm_sampler_new(NULL, &s), 0);
    pm_check_sleep_ms(10);
    ck_assert_int_eq(pm_sampler_target_gone(s), 0);
    pm_sampler_stop(s);
    ck_assert_int_eq(pm_sampler_target_gone(s), 0);
    pm_sampler_free(s);
}
END_TEST

/* Index of the first sample of tl[0..n) whose t_ns is not increasing,
 * or -1 when they all increase. */
static long first_unordered(const pm_sample_t *tl, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (tl[i].t_ns <= tl[i - 1].t_ns) {
            return (long)i;
        }
    }
    return -1;
}

START_TEST(test_sampler_timeline_shows_step_made_midway)
{
    const size_t n = 32 * PM_MIB;
    pm_sampler_opts_t opts = {.self_interval_s = 0.001, .record = 1};
    pm_sampler_t *s = NULL;
    pm_sample_t *tl;
    size_t kept, before = 0, after = 0;
    size_t last_before = 0; /* may straddle t_touch: read while touching */
    uint64_t base, low_max = 0, high_min = UINT64_MAX;
    int64_t t_new, t_touch, t_done, t_stop;
    double ran_ms;
    void *p;

    t_new = pm_now_ns();
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_check_sleep_ms(100);
    t_touch = pm_now_ns();
    p = pm_check_map_touch(n);
    t_done = pm_now_ns();
    pm_check_sleep_ms(100);
    t_stop = pm_now_ns();
    pm_sampler_stop(s);
    munmap(p, n);
    ran_ms = (double)(t_stop - t_new) / 1e6;

    kept = pm_sampler_timeline_len(s);
    ck_assert_uint_eq(kept, pm_sampler_count(s));
    tl = calloc(kept, sizeof *tl);
    ck_assert_ptr_nonnull(tl);
    ck_assert_uint_eq(pm_sampler_timeline_copy(s, tl, kept), kept);
    fprintf(stderr, "sampler: %zu samples kept in %.1f ms at 1 ms\n", kept,
            ran_ms);
    /* ~200 expected (a sleep may overrun under load: one per ms that
     * passed, plus the first and last). The floor allows a loaded 2-core
     * box, the ceiling catches a period that is not honoured. */
    ck_assert_msg(kept >= 100 && kept <= ran_ms * 1.05 + 5,
                  "%zu samples in %.1f ms", kept, ran_ms);
    ck_assert_msg(first_unordered(tl, kept) < 0, "t_ns falls at %ld",
                  first_unordered(tl, kept));

    base = tl[0].rss_bytes;
    for (size_t i = 0; i < kept; i++) {
        ck_assert_uint_eq(tl[i].children_bytes, 0);
        if (tl[i].t_ns < t_touch) {
            last_before = i;
        }
    }
    for (size_t i = 0; i < kept; i++) {
        if (tl[i].t_ns < t_touch && i != last_before) {
            before++;
            low_max = tl[i].rss_bytes > low_max ? tl[i].rss_bytes : low_max;
        } else if (tl[i].t_ns > t_done) {
            after++;
            high_min = tl[i].rss_bytes < high_min ? tl[i].rss_bytes : high_min;
        }
    }
    fprintf(stderr,
            "sampler: %zu samples before the touch (max +%.2f MiB), %zu "
            "after (min +%.2f MiB)\n",
            before, pm_check_mib(low_max - base), after,
            pm_check_mib(high_min - base));
    /* Midway: a good share of the samples on each side. */
    ck_assert_msg(before >= 30 && after >= 30, "%zu before, %zu after", before,
                  after);
    ck_assert_msg(low_max < base + 8 * PM_MIB, "before: up to +%.2f MiB",
                  pm_check_mib(low_max - base));
    ck_assert_msg(high_min >= base + n * 0.97, "after: from +%.2f MiB",
                  pm_check_mib(high_min - base));
    free(tl);
    pm_sampler_free(s);
}
END_TEST

START_TEST(test_sampler_timeline_decimates_to_max_samples)
{
    pm_sampler_opts_t opts = {
        .self_interval_s = 0.001, .record = 1, .max_samples = 100};
    pm_sampler_t *s = NULL;
    pm_sample_t tl[100];
    int64_t t_new, t_stop;
    size_t kept;
    double covered;

    t_new = pm_now_ns();
    ck_assert_int_eq(pm_sampler_new(&opts, &s), 0);
    pm_check_sleep_ms(500);
    t_stop = pm_now_ns();
    pm_sampler_stop(s);

    kept = pm_sampler_timeline_copy(s, tl, 100);
    covered = (double)(tl[kept - 1].t_ns - tl[0].t_ns) / (t_stop - t_new);
    fprintf(stderr,
            "sampler: %zu of %llu samples kept with max_samples 100, "
            "covering %.1f%% of 500 ms\n",
            kept, (unsigned long long)pm_sampler_count(s), covered * 100);
    /* It had to decimate; after decimating it holds between half and
     * all of the bound. */
    ck_assert_uint_gt(pm_sampler_count(s), 100);
    ck_assert_msg(kept >= 50 && kept <= 100, "%zu kept", kept);
    ck_assert_msg(first_unordered(tl, kept) < 0, "t_ns falls at %ld",
                  first_unordered(tl, kept));
    /* The first sample (taken in new) is kept; the last kept is at most
     * one stride (~2% of the run) before the end. */
    ck_assert_int_ge(tl[0].t_ns, t_new);
    ck_assert_msg(covered >= 0.9, "covers %.1f%%", covered * 100);
    pm_sampler_free(s);
}
END_TEST

/* A reader that copies the timeline while the sampler appends, checking
 * every copy. ck_assert is left to the main thread. */
typedef struct {
    pm_sampler_t *s;
    size_t max;
    atomic_int stop;
    long copies;
    long bad_counts;  /* copies whose total exceeded max_samples */
    long bad_order;   /* copies whose t_ns did not increase */
    size_t max_total; /* largest total seen */
} reader_t;

static void *copy_timeline(void *arg)
{
    reader_t *r = arg;
    pm_sample_t *buf = malloc(r->max * sizeof *buf);

    if (buf == NULL) {
        r->bad_counts = -1;
        return NULL;
    }
    while (!atomic_load(&r->stop)) {
        size_t n = pm_sampler_timeline_copy(r->s, buf, r->max);

        r->copies++;
        if (n > r->max) {
            r->bad_counts++;
        }
        if (first_unordered(buf, n < r->max ? n : r->max) >= 0) {
            r->bad_order++;
        }
        if (n > r->max_total) {
            r->max_total = n;
        }
        /* Leave the sampler some CPU where threads share one (valgrind,
         * a loaded box). */
        usleep(20);
    }
    free(buf);
    return NULL;
}

START_TEST(test_sampler_timeline_copy_while_running_is_safe)
{
    /* The shortest period and a bound that forces both growth (from 1024)
     * and decimations while the reader copies, so a copy racing a realloc
     * or a compaction would show under ASan or valgrind. */
    pm_sampler_opts_t opts = {
        .self_interval_s = 1e-5, .record = 1, .max_samples = 1500};
    reader_t r = {.max = 1500};
    pthread_t reader;
    int64_t t0;
    size_t kept;

    ck_assert_int_eq(pm_sampler_new(&opts, &r.s), 0);
    ck_assert_int_eq(pthread_create(&reader, NULL, copy_timeline, &r), 0);
    /* At least 300 ms and two decimations (5 s at most, for valgrind). */
    t0 = pm_now_ns();
    do {
        pm_check_sleep_ms(50);
    } while ((pm_now_ns() - t0 < 300 * 1000000 ||
              pm_sampler_count(r.s) < 4 * 1500) &&
             pm_now_ns() - t0 < 5000 * 1000000LL);
    pm_sampler_stop(r.s);
    atomic_store(&r.stop, 1);
    ck_assert_int_eq(pthread_join(reader, NULL), 0);
    kept = pm_sampler_timeline_len(r.s);
    fprintf(stderr,
            "sampler: %ld copies while running, %llu samples, %zu kept, "
            "largest copy %zu\n",
            r.copies, (unsigned long long)pm_sampler_count(r.s), kept,
            r.max_total);
    ck_assert_int_eq(r.bad_counts, 0);
    ck_assert_int_eq(r.bad_order, 0);
    ck_assert_int_gt(r.copies, 10);
    ck_assert_uint_ge(pm_sampler_count(r.s), 4 * 1500);
    ck_assert_uint_le(kept, 1500);
    ck_assert_uint_ge(kept, 1500 / 2);
    pm_sampler_free(r.s);
}
END_TEST

/* What the live line does while the sampler appends: size a buffer from
 * the count, then copy. Every buffer is malloc'd to exactly the size asked
 * for, so a copy or a read past it shows under ASan and valgrind; the
 * returned count must never pass the capacity given, however many samples
 * arrive between the two calls (with the old API, which returned the
 * total kept, the live view read that many: a heap overflow). */
typedef struct {
    pm_sampler_t *s;
    atomic_int stop;
    long copies, raced; /* raced: the timeline grew during a copy */
    long over_cap;      /* copies that returned more than the capacity */
    long bad_order;
    long tail_mismatch; /* tail's last sample older than a later len's */
    long snapshots;
} sized_reader_t;

static void *sized_copies(void *arg)
{
    sized_reader_t *r = arg;
    uint64_t sink = 0;

    while (!atomic_load(&r->stop)) {
        size_t cap = pm_sampler_timeline_len(r->s);
        pm_sample_t *buf = malloc((cap > 0 ? cap : 1) * sizeof *buf);
        pm_sample_t tail[3];
        size_t n, nt;

        if (buf == NULL) {
            r->over_cap = -1;
            return NULL;
        }
        n = pm_sampler_timeline_copy(r->s, buf, cap);
        int64_t copied_last = 0;
        if (pm_sampler_timeline_len(r->s) > cap) {
            r->raced++;
        }
        if (n > cap) {
            r->over_cap++;
            n = cap;
        }
        if (n > 0) {
            sink += buf[n - 1].rss_bytes; /* the live view's read */
            copied_last = buf[n - 1].t_ns;
        }
        if (first_unordered(buf, n) >= 0) {
            r->bad_order++;
        }
        free(buf);
        /* The newest samples, into a buffer smaller than the timeline. */
        nt = pm_sampler_timeline_tail(r->s, tail, 3);
        if (nt > 3) {
            r->over_cap++;
            nt = 3;
        }
        if (first_unordered(tail, nt) >= 0) {
            r->bad_order++;
        }
        /* Taken after the copy: never older than what it copied. */
        if (nt > 0 && tail[nt - 1].t_ns < copied_last) {
            r->tail_mismatch++;
        }
        if (r->copies % 16 == 0) {
            pm_sample_t *snap = NULL;
            size_t ns = 0;
            if (pm_sampler_timeline_snapshot(r->s, &snap, &ns) == 0) {
                if (ns > 0) {
                    sink += snap[ns - 1].rss_bytes;
                }
                if (first_unordered(snap, ns) >= 0) {
                    r->bad_order++;
                }
                free(snap);
                r->snapshots++;
            }
        }
        r->copies++;
        usleep(10);
    }
    if (sink == 1) {
        fprintf(stderr, "(unlikely sum)\n");
    }
    return NULL;
}

START_TEST(test_sampler_timeline_sized_copy_never_passes_capacity)
{
    /* 10 us samples and room for 200,000 kept: the timeline keeps
     * growing (and reallocating) for the whole run, so samples arrive
     * between sizing a buffer and copying into it. */
    pm_sampler_opts_t opts = {
        .self_interval_s = 1e-5, .record = 1, .max_samples = 200000};
    sized_reader_t r = {0};
    pthread_t reader;
    int64_t t0;

    ck_assert_int_eq(pm_sampler_new(&opts, &r.s), 0);
    ck_assert_int_eq(pthread_create(&reader, NULL, sized_copies, &r), 0);
    t0 = pm_now_ns();
    do {
        pm_check_sleep_ms(50);
    } while ((pm_now_ns() - t0 < 400 * 1000000LL || r.copies < 200) &&
             pm_now_ns() - t0 < 5000 * 1000000LL);
    atomic_store(&r.stop, 1);
    ck_assert_int_eq(pthread_join(reader, NULL), 0);
    pm_sampler_stop(r.s);
    fprintf(stderr,
            "sampler: %ld sized copies while running (%ld with samples "
            "appended meanwhile), %ld snapshots, %zu kept\n",
            r.copies, r.raced, r.snapshots, pm_sampler_timeline_len(r.s));
    ck_assert_int_eq(r.over_cap, 0);
    ck_assert_int_eq(r.bad_order, 0);
    ck_assert_int_eq(r.tail_mismatch, 0);
    ck_assert_int_gt(r.copies, 10);
    ck_assert_int_gt(r.snapshots, 0);
    pm_sampler_free(r.s);
}
END_TEST

START_TEST(test_sampler_timeline_empty_without_record)
{
    pm_sampler_opts_t opts = {.record = 1, .max_samples = 1};
    pm_sampler_t *s = NULL;
    pm_sample_t one = {.t_ns = -5};

    ck_assert_int_eq(pm_sampler_new(NULL, &s), 0);
    /* a few samples (10 ms at 1 kHz; longer on a loaded box) */
    for (int i = 0; i < 500 && pm_sampler_count(s) <= 2; i++) {
        pm_check_sleep_ms(10);
    }
    pm_sampler_stop(s);
    ck_assert_uint_gt(pm_sampler_count(s), 2);
    ck_assert_uint_eq(pm_sampler_timeline_copy(s, &one, 1), 0);
    ck_assert_uint_eq(pm_sampler_timeline_tail(s, &one, 1), 0);
    ck_assert_uint_eq(pm_sampler_timeline_len(s), 0);
    ck_assert_int_eq(one.t_ns, -5);
    {
        pm_sample_t *snap = &one;
        size_t n = 7;
        ck_assert_int_eq(pm_sampler_timeline_snapshot(s, &snap, &n), 0);
        ck_assert_ptr_null(snap);
        ck_assert_uint_eq(n, 0);
    }
    pm_sampler_free(s);
    /* A bound of one sample cannot be halved. */
    ck_assert_int_eq(pm_sampler_new(&opts, &s), PM_ERANGE);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_sampler_create_stop_many_times)
{
    pm_sampler_opts_t opts = {.include_children = 1};

    for (int i = 0; i < 200; i++) {
        pm_sampler_t *s = NULL;

        ck_assert_int_eq(pm_sampler_new(i % 2 ? &opts : NULL, &s), 0);
        if (i % 3 == 0) {
            pm_sampler_stop(s);
        }
        pm_sampler_free(s);
    }
    pm_sampler_free(NULL);
}
END_TEST

START_TEST(test_sampler_rejects_bad_interval)
{
    pm_sampler_opts_t opts = {.self_interval_s = -1};
    pm_sampler_t *s = (pm_sampler_t *)&opts;

    ck_assert_int_eq(pm_sampler_new(&opts, &s), PM_ERANGE);
    ck_assert_ptr_null(s);
    opts.self_interval_s = NAN;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), PM_ERANGE);
    opts.self_interval_s = 0;
    opts.children_interval_s = 1e12;
    ck_assert_int_eq(pm_sampler_new(&opts, &s), PM_ERANGE);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"lifecycle", test_sampler_takes_first_sample_before_returning},
        {"lifecycle", test_sampler_stop_takes_final_sample},
        {"lifecycle", test_sampler_create_stop_many_times},
        {"lifecycle", test_sampler_rejects_bad_interval},
        {"timing", test_sampler_default_rate_is_about_1khz},
        {"timing", test_sampler_honours_longer_period},
        {"timing", test_sampler_stop_returns_promptly_with_long_interval},
        {"timing", test_sampler_deadline_fires_once},
        {"timing", test_sampler_deadline_fires_on_time_with_long_interval},
        {"timing", test_sampler_deadline_not_fired_when_stopped_before},
        {"peaks", test_sampler_sees_held_spike},
        {"peaks", test_sampler_children_peak_counts_forked_child},
        {"pid", test_sampler_follows_pid_until_it_exits},
        {"pid", test_sampler_pid_children_counts_target_descendants},
        {"pid", test_sampler_deadline_fires_after_target_gone},
        {"pid", test_sampler_rejects_missing_pid},
        {"pid", test_sampler_own_process_is_never_gone},
        {"timeline", test_sampler_timeline_shows_step_made_midway},
        {"timeline", test_sampler_timeline_decimates_to_max_samples},
        {"timeline", test_sampler_timeline_copy_while_running_is_safe},
        {"timeline", test_sampler_timeline_sized_copy_never_passes_capacity},
        {"timeline", test_sampler_timeline_empty_without_record},
    };

    return pm_check_main("sampler", tests, PM_CHECK_COUNT(tests));
}
