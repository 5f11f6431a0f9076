/* Check tests for kernel/tracer.c (the %mprun line bookkeeping) and
 * pm_hwm_take: simulated frames drive call, line and return events around
 * mmap'ed and touched memory, so the numbers are what the kernel counts.
 * Increments must land on their line, add up to the frame's RSS change,
 * and stay flat in loops and recursion. */
#include "check_util.h"
#include "pm_kernel.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Map and touch n MiB (no sanitizer shadow read); the caller unmaps. */
static char *map_touch(size_t n_mib)
{
    return pm_check_map_touch(n_mib * PM_MIB);
}

static void unmap(char *p, size_t n_mib)
{
    ck_assert_int_eq(munmap(p, n_mib * PM_MIB), 0);
}

static pm_tracer_t *new_tracer(const pm_tracer_opts_t *opts)
{
    pm_tracer_t *tr = NULL;

    ck_assert_int_eq(pm_tracer_new(opts, &tr), 0);
    ck_assert_ptr_nonnull(tr);
    return tr;
}

static pm_linetable_t *new_table(int first_line, int nlines)
{
    pm_linetable_t *t = NULL;

    ck_assert_int_eq(pm_linetable_new(first_line, nlines, &t), 0);
    ck_assert_ptr_nonnull(t);
    return t;
}

static const pm_line_stat_t *line(const pm_linetable_t *t, int lineno)
{
    const pm_line_stat_t *st = pm_linetable_get(t, lineno);

    ck_assert_ptr_nonnull(st);
    return st;
}

/* The increment of lineno is want_mib within tol_mib. */
static void assert_increment(const pm_linetable_t *t, int lineno,
                             double want_mib, double tol_mib)
{
    double got = pm_check_mib(line(t, lineno)->increment_bytes);

    fprintf(stderr, "tracer: line %d increment %.3f MiB (want %.0f)\n", lineno,
            got, want_mib);
    ck_assert_msg(got >= want_mib - tol_mib && got <= want_mib + tol_mib,
                  "line %d: increment %.3f MiB, want %.0f +- %.1f", lineno,
                  got, want_mib, tol_mib);
}

static int64_t sum_increments(const pm_linetable_t *t)
{
    int first = pm_linetable_first_line(t);
    int64_t sum = 0;

    for (int i = 0; i < pm_linetable_nlines(t); i++) {
        sum += pm_linetable_get(t, first + i)->increment_bytes;
    }
    return sum;
}

/* A reader of the tracer's own (opts.read): a counter the test moves. */
static int read_counter(void *arg, uint64_t *bytes)
{
    *bytes = *(const uint64_t *)arg;
    return 0;
}

/* opts.read (tracemalloc's route) with the gate at every line: each
 * line's increment is exactly what the reader's value moved by. */
START_TEST(test_tracer_reads_through_the_given_reader)
{
    uint64_t value = 1000;
    pm_tracer_opts_t o = {.read = read_counter, .read_arg = &value,
                          .min_read_interval_ns = 1};
    pm_tracer_t *tr = new_tracer(&o);
    pm_linetable_t *t = new_table(1, 4);
    pm_frame_state_t fs;

    pm_tracer_call(tr, &fs, t, 1);
    ck_assert_uint_eq(fs.line_start_rss, 1000);
    pm_tracer_line(tr, &fs, 2);
    value += 157; /* a bytearray(100) */
    pm_tracer_line(tr, &fs, 3);
    value -= 157;
    pm_tracer_line(tr, &fs, 4);
    pm_tracer_return(tr, &fs);
    ck_assert_int_eq(line(t, 2)->increment_bytes, 157);
    ck_assert_int_eq(line(t, 3)->increment_bytes, -157);
    ck_assert_int_eq(line(t, 4)->increment_bytes, 0);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

/* opts.kind: PSS and USS readings from smaps_rollup see a touched block
 * as RSS does. */
START_TEST(test_tracer_uss_kind_sees_a_touched_block)
{
    pm_tracer_opts_t o = {.kind = PM_MEM_USS};
    pm_tracer_t *tr = new_tracer(&o);
    pm_linetable_t *t = new_table(1, 3);
    pm_frame_state_t fs;
    char *p;

    pm_tracer_call(tr, &fs, t, 1);
    pm_tracer_line(tr, &fs, 2);
    p = map_touch(64);
    pm_check_sleep_us(100); /* past the 20 us gate */
    pm_tracer_line(tr, &fs, 3);
    pm_tracer_return(tr, &fs);
    assert_increment(t, 2, 64, 1);
    unmap(p, 64);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_increments_add_up_to_call_delta)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(1, 5);
    pm_frame_state_t fs;
    uint64_t before, after, call_rss, return_rss;
    char *p;

    ck_assert_int_eq(pm_rss_self(&before), 0);
    pm_tracer_call(tr, &fs, t, 1);
    call_rss = fs.line_start_rss;
    pm_tracer_line(tr, &fs, 2);
    p = map_touch(64);
    pm_tracer_line(tr, &fs, 3);
    unmap(p, 32);
    /* Where huge pages back the mapping, the unmap can beat the 20 us
     * gate; this test is about the sums, not the gate. */
    pm_check_sleep_us(100);
    pm_tracer_line(tr, &fs, 4);
    pm_tracer_return(tr, &fs);
    return_rss = fs.line_start_rss;
    ck_assert_int_eq(pm_rss_self(&after), 0);
    unmap(p + 32 * PM_MIB, 32);

    ck_assert_int_eq(fs.line, 0);
    ck_assert_uint_eq(pm_linetable_calls(t), 1);
    for (int l = 1; l <= 4; l++) {
        ck_assert_uint_eq(line(t, l)->occurrences, 1);
    }
    ck_assert_uint_eq(line(t, 5)->occurrences, 0);
    ck_assert_int_eq(line(t, 1)->increment_bytes, 0);
    assert_increment(t, 2, 64, 1);
    assert_increment(t, 3, -32, 1);
    assert_increment(t, 4, 0, 1);
    /* Exact: the reading that closes a line opens the next. */
    ck_assert_int_eq(sum_increments(t),
                     (int64_t)return_rss - (int64_t)call_rss);
    /* And those readings are the process's RSS at call and return. */
    ck_assert_uint_le(
        call_rss > before ? call_rss - before : before - call_rss, PM_MIB);
    ck_assert_uint_le(
        return_rss > after ? return_rss - after : after - return_rss, PM_MIB);
    ck_assert_uint_ge(line(t, 2)->mem_max_bytes, call_rss + 63 * PM_MIB);
    ck_assert_uint_eq(line(t, 2)->peak_bytes, 0); /* peak off */
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_first_line_starts_at_call)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(1, 3);
    pm_frame_state_t fs;
    uint64_t call_rss;
    char *setup;

    pm_tracer_call(tr, &fs, t, 1);
    call_rss = fs.line_start_rss;
    /* Memory taken between the call and the first line event (the
     * interpreter's frame setup), with the gate open again. */
    setup = map_touch(4);
    pm_check_sleep_us(100);
    pm_tracer_line(tr, &fs, 2);
    ck_assert_uint_eq(fs.line_start_rss, call_rss);
    pm_tracer_line(tr, &fs, 3);
    pm_tracer_return(tr, &fs);
    unmap(setup, 4);

    ck_assert_int_eq(line(t, 1)->increment_bytes, 0);
    assert_increment(t, 2, 4, 1);
    ck_assert_int_eq(sum_increments(t),
                     (int64_t)fs.line_start_rss - (int64_t)call_rss);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_loop_flat_memory_has_no_negatives)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(1, 5);
    pm_frame_state_t fs;
    uint64_t call_rss;
    volatile uint64_t work = 0;

    pm_tracer_call(tr, &fs, t, 1);
    call_rss = fs.line_start_rss;
    for (int i = 0; i < 10000; i++) {
        pm_tracer_line(tr, &fs, 2); /* for i in range(10000): */
        pm_tracer_line(tr, &fs, 3); /*     x = i * i */
        work += (uint64_t)i * (uint64_t)i;
        pm_tracer_line(tr, &fs, 4); /*     y = x + 1 */
        work += 1;
    }
    pm_tracer_line(tr, &fs, 2); /* the loop's last test */
    pm_tracer_line(tr, &fs, 5); /* return y */
    pm_tracer_return(tr, &fs);

    ck_assert_uint_eq(line(t, 1)->occurrences, 1);
    ck_assert_uint_eq(line(t, 2)->occurrences, 10001);
    ck_assert_uint_eq(line(t, 3)->occurrences, 10000);
    ck_assert_uint_eq(line(t, 4)->occurrences, 10000);
    ck_assert_uint_eq(line(t, 5)->occurrences, 1);
    for (int l = 1; l <= 5; l++) {
        assert_increment(t, l, 0, 1);
    }
    ck_assert_int_eq(sum_increments(t),
                     (int64_t)fs.line_start_rss - (int64_t)call_rss);
    ck_assert_uint_eq(pm_tracer_events(tr), 30002);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

/* def f(n):                 1
 *     if n == 0:            2
 *         return alloc(16)  3
 *     return f(n - 1)       4
 * The allocation is kept: every caller's line 4 includes it. */
static void recurse(pm_tracer_t *tr, pm_linetable_t *t, int n, char **keep)
{
    pm_frame_state_t fs;

    pm_tracer_call(tr, &fs, t, 1);
    pm_tracer_line(tr, &fs, 2);
    if (n == 0) {
        pm_tracer_line(tr, &fs, 3);
        *keep = map_touch(16);
    } else {
        pm_tracer_line(tr, &fs, 4);
        recurse(tr, t, n - 1, keep);
    }
    pm_tracer_return(tr, &fs);
}

/* Issue 12.9: the growth of the recursive frames is counted once, in the
 * outermost frame's line 4 (as cProfile's cumulative time), not again in
 * every enclosing frame: the table adds up to the call's 16 MiB. */
START_TEST(test_tracer_recursion_counts_growth_once)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(1, 4);
    char *keep = NULL;
    uint64_t before, after;

    ck_assert_int_eq(pm_rss_self(&before), 0);
    recurse(tr, t, 4, &keep);
    ck_assert_int_eq(pm_rss_self(&after), 0);
    ck_assert_ptr_nonnull(keep);

    ck_assert_uint_eq(pm_linetable_calls(t), 5);
    ck_assert_uint_eq(line(t, 1)->occurrences, 5);
    ck_assert_uint_eq(line(t, 2)->occurrences, 5);
    ck_assert_uint_eq(line(t, 3)->occurrences, 1);
    ck_assert_uint_eq(line(t, 4)->occurrences, 4);
    /* the innermost frame's line still shows the memory it ran at */
    ck_assert_uint_ge(line(t, 3)->mem_max_bytes, before + 15 * PM_MIB);
    assert_increment(t, 1, 0, 0);
    assert_increment(t, 2, 0, 1);
    assert_increment(t, 3, 0, 0);
    assert_increment(t, 4, 16, 1);
    ck_assert_msg(pm_check_mib(sum_increments(t)) > 15 &&
                      pm_check_mib(sum_increments(t)) < 17,
                  "sum %.2f MiB, want the call's 16",
                  pm_check_mib(sum_increments(t)));
    ck_assert_uint_ge(after, before + 15 * PM_MIB);

    /* A second outermost call counts again: the nesting was unwound. */
    char *keep2 = NULL;
    recurse(tr, t, 2, &keep2);
    ck_assert_ptr_nonnull(keep2);
    assert_increment(t, 4, 32, 2);
    unmap(keep, 16);
    unmap(keep2, 16);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_repeated_calls_accumulate)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(10, 3);
    char *kept[3];
    uint64_t first_call_rss = 0;

    for (int c = 0; c < 3; c++) {
        pm_frame_state_t fs;

        pm_tracer_call(tr, &fs, t, 10);
        if (c == 0) {
            first_call_rss = fs.line_start_rss;
        }
        pm_tracer_line(tr, &fs, 11); /* kept.append(alloc(8)) */
        kept[c] = map_touch(8);
        pm_tracer_line(tr, &fs, 12); /* return */
        pm_tracer_return(tr, &fs);
    }
    for (int c = 0; c < 3; c++) {
        unmap(kept[c], 8);
    }

    ck_assert_uint_eq(pm_linetable_calls(t), 3);
    ck_assert_uint_eq(line(t, 10)->occurrences, 3);
    ck_assert_uint_eq(line(t, 11)->occurrences, 3);
    ck_assert_uint_eq(line(t, 12)->occurrences, 3);
    assert_increment(t, 11, 24, 1.5);
    assert_increment(t, 12, 0, 1);
    ck_assert_uint_ge(line(t, 11)->mem_max_bytes,
                      first_call_rss + 23 * PM_MIB);
    ck_assert_uint_ge(line(t, 10)->mem_max_bytes,
                      first_call_rss + 15 * PM_MIB);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_gates_reads)
{
    pm_tracer_opts_t every = {.min_read_interval_ns = 1};
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(1, 3);
    pm_frame_state_t fs;
    const int n = 200000, n_every = 5000;
    int64_t t0, t1;
    uint64_t reads, events;

    pm_tracer_call(tr, &fs, t, 1);
    t0 = pm_now_ns();
    for (int i = 0; i < n; i++) {
        pm_tracer_line(tr, &fs, 2 + (i & 1));
    }
    t1 = pm_now_ns();
    pm_tracer_return(tr, &fs);
    reads = pm_tracer_reads(tr);
    events = pm_tracer_events(tr);
    fprintf(stderr,
            "tracer: %d gated lines in %.2f ms: %.1f ns per line, "
            "%llu reads\n",
            n, (double)(t1 - t0) / 1e6, (double)(t1 - t0) / n,
            (unsigned long long)reads);
    ck_assert_uint_eq(events, (uint64_t)n);
    /* At most one line read per 20 us, plus the call and return reads. */
    ck_assert_uint_le(reads, (uint64_t)((t1 - t0) / 20000) + 3);
    ck_assert_uint_lt(reads * 4, events); /* ~1/800 natively */
    ck_assert_uint_eq(line(t, 2)->occurrences, (uint64_t)n / 2);
    pm_tracer_free(tr);

    /* A 1 ns gate reads at every line: the cost of a forced read. */
    tr = new_tracer(&every);
    pm_tracer_call(tr, &fs, t, 1);
    t0 = pm_now_ns();
    for (int i = 0; i < n_every; i++) {
        pm_tracer_line(tr, &fs, 2 + (i & 1));
    }
    t1 = pm_now_ns();
    pm_tracer_return(tr, &fs);
    fprintf(stderr, "tracer: %d lines reading RSS: %.1f ns per line\n",
            n_every, (double)(t1 - t0) / n_every);
    ck_assert_uint_eq(pm_tracer_reads(tr), (uint64_t)n_every + 2);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_big_allocation_lands_on_its_line)
{
    pm_tracer_t *tr = new_tracer(NULL); /* default 20 us gate */
    pm_linetable_t *t = new_table(1, 5);
    pm_frame_state_t fs;
    char *kept[8];

    pm_tracer_call(tr, &fs, t, 1);
    for (int i = 0; i < 8; i++) {
        pm_tracer_line(tr, &fs, 2); /* for i in range(8): */
        pm_tracer_line(tr, &fs, 3); /*     kept.append(alloc(8)) */
        kept[i] = map_touch(8);     /* page faults: ms, not us */
        pm_tracer_line(tr, &fs, 4); /*     n += 1 */
    }
    pm_tracer_line(tr, &fs, 2);
    pm_tracer_line(tr, &fs, 5);
    pm_tracer_return(tr, &fs);
    for (int i = 0; i < 8; i++) {
        unmap(kept[i], 8);
    }

    assert_increment(t, 2, 0, 1);
    assert_increment(t, 3, 64, 1.5);
    assert_increment(t, 4, 0, 1);
    assert_increment(t, 5, 0, 1);
    ck_assert_uint_lt(pm_tracer_reads(tr), pm_tracer_events(tr));
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_peak_catches_transient)
{
    pm_tracer_opts_t opts = {.peak = 1};
    pm_tracer_t *tr;
    pm_linetable_t *t = new_table(1, 3);
    pm_frame_state_t fs;
    uint64_t before;
    char *p;

    if (pm_hwm_reset() < 0) {
        pm_linetable_free(t);
        PM_CHECK_NEED_CLEAR_REFS(); /* skips, or fails under CI */
        ck_abort_msg("pm_hwm_reset failed though clear_refs takes writes");
    }
    tr = new_tracer(&opts);
    pm_tracer_call(tr, &fs, t, 1);
    pm_tracer_line(tr, &fs, 2); /* del np.ones(64 MiB) */
    before = fs.line_start_rss;
    p = map_touch(64);
    unmap(p, 64);
    pm_tracer_line(tr, &fs, 3); /* return */
    pm_tracer_return(tr, &fs);

    fprintf(stderr, "tracer: transient line peak - before %.2f MiB\n",
            pm_check_mib((int64_t)line(t, 2)->peak_bytes - (int64_t)before));
    ck_assert_uint_ge(line(t, 2)->peak_bytes, before + 60 * PM_MIB);
    assert_increment(t, 2, 0, 1);
    ck_assert_uint_lt(line(t, 2)->mem_max_bytes, before + 4 * PM_MIB);
    /* The take at line 3's start began a new window. */
    ck_assert_uint_lt(line(t, 3)->peak_bytes, before + 4 * PM_MIB);
    ck_assert_uint_ge(line(t, 3)->peak_bytes, line(t, 3)->mem_max_bytes);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_tracer_lines_outside_table_are_not_recorded)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(10, 3);
    pm_frame_state_t fs, orphan;
    char *p;

    pm_tracer_call(tr, &fs, t, 10);
    pm_tracer_line(tr, &fs, 11);
    pm_tracer_line(tr, &fs, 500); /* outside: tracked, not recorded */
    p = map_touch(16);
    pm_tracer_line(tr, &fs, 12);
    pm_tracer_line(tr, &fs, -3);
    pm_tracer_return(tr, &fs);
    unmap(p, 16);

    ck_assert_uint_eq(line(t, 10)->occurrences, 1);
    ck_assert_uint_eq(line(t, 11)->occurrences, 1);
    ck_assert_uint_eq(line(t, 12)->occurrences, 1);
    assert_increment(t, 11, 0, 1);
    assert_increment(t, 12, 0, 1);
    /* A frame without a table, or a def line outside it. */
    pm_tracer_call(tr, &orphan, NULL, 1);
    pm_tracer_line(tr, &orphan, 2);
    pm_tracer_return(tr, &orphan);
    pm_tracer_call(tr, &orphan, t, 3);
    pm_tracer_return(tr, &orphan);
    ck_assert_uint_eq(pm_linetable_calls(t), 2);
    ck_assert_uint_eq(line(t, 10)->occurrences, 1);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

/* Child of test_tracer_include_children_adds_descendants: maps and
 * touches n MiB when told to, then waits to be killed. */
static void child_allocate(int armed, int go, int ready, size_t n_mib)
{
    char c;

    /* Fault in the code of mmap and memset first (a forked child maps
     * the parent's text lazily): only the n MiB may move its RSS later. */
    munmap(map_touch(1), PM_MIB);
    if (write(armed, "a", 1) != 1 || read(go, &c, 1) != 1) {
        _exit(1);
    }
    map_touch(n_mib);
    if (write(ready, "r", 1) != 1) {
        _exit(1);
    }
    pause();
    _exit(0);
}

START_TEST(test_tracer_include_children_adds_descendants)
{
    pm_tracer_opts_t opts = {.include_children = 1,
                             .children_interval_ns = 10000000};
    pm_tracer_t *tr;
    pm_linetable_t *t = new_table(1, 3);
    pm_frame_state_t fs;
    int armed[2], go[2], ready[2];
    pid_t child;
    char c;

    ck_assert_int_eq(pipe(armed), 0);
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(ready), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        child_allocate(armed[1], go[0], ready[1], 32);
    }
    ck_assert_int_eq(read(armed[0], &c, 1), 1);
    tr = new_tracer(&opts); /* scans the child before it allocates */
    pm_tracer_call(tr, &fs, t, 1);
    pm_tracer_line(tr, &fs, 2); /* subprocess.run(...) */
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    pm_check_sleep_us(30000); /* past the 10 ms descendants' period */
    pm_tracer_line(tr, &fs, 3);
    pm_tracer_return(tr, &fs);
    kill(child, SIGKILL);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);

    assert_increment(t, 2, 32, 1);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

START_TEST(test_hwm_take_keeps_outer_probe_exact)
{
    pm_probe_t p;
    uint64_t taken, again;
    char *m;

    ck_assert_int_eq(pm_probe_begin(&p, NULL), 0);
    if (p.method != PM_METHOD_HWM) {
        ck_assert_int_eq(pm_probe_end(&p), 0);
        PM_CHECK_NEED_CLEAR_REFS(); /* skips, or fails under CI */
        ck_abort_msg("the probe used %s though clear_refs takes writes",
                     pm_method_name(p.method));
    }
    m = map_touch(64);
    unmap(m, 64);
    ck_assert_int_eq(pm_hwm_take(&taken), 0);
    ck_assert_uint_ge(taken, p.baseline_bytes + 63 * PM_MIB);
    /* The take reset the mark... */
    ck_assert_int_eq(pm_hwm_take(&again), 0);
    ck_assert_uint_lt(again, p.baseline_bytes + 4 * PM_MIB);
    /* ...but the probe kept the transient. */
    ck_assert_int_eq(pm_probe_end(&p), 0);
    fprintf(stderr, "hwm take: probe peak - baseline %.2f MiB\n",
            pm_check_mib((int64_t)p.peak_bytes - (int64_t)p.baseline_bytes));
    ck_assert_uint_ge(p.peak_bytes, p.baseline_bytes + 63 * PM_MIB);
    ck_assert_int_eq(pm_hwm_take(NULL), -EINVAL);
}
END_TEST

START_TEST(test_linetable_bounds)
{
    pm_tracer_opts_t negative = {.min_read_interval_ns = -1};
    pm_tracer_opts_t negative_children = {.children_interval_ns = -1};
    pm_tracer_t *tr = NULL;
    pm_linetable_t *t = NULL;

    ck_assert_int_eq(pm_linetable_new(0, 5, &t), -EINVAL);
    ck_assert_int_eq(pm_linetable_new(1, 0, &t), -EINVAL);
    ck_assert_int_eq(pm_linetable_new(1, -4, &t), -EINVAL);
    ck_assert_int_eq(pm_linetable_new(INT_MAX, 2, &t), -EINVAL);
    ck_assert_int_eq(pm_linetable_new(1, 5, NULL), -EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(pm_linetable_new(INT_MAX, 1, &t), 0);
    ck_assert_ptr_nonnull(pm_linetable_get(t, INT_MAX));
    pm_linetable_free(t);

    t = new_table(5, 3);
    ck_assert_int_eq(pm_linetable_first_line(t), 5);
    ck_assert_int_eq(pm_linetable_nlines(t), 3);
    ck_assert_uint_eq(pm_linetable_calls(t), 0);
    ck_assert_ptr_null(pm_linetable_get(t, 4));
    ck_assert_ptr_null(pm_linetable_get(t, 8));
    ck_assert_ptr_null(pm_linetable_get(t, 0));
    ck_assert_ptr_null(pm_linetable_get(t, INT_MIN));
    ck_assert_ptr_null(pm_linetable_get(t, INT_MAX));
    for (int l = 5; l <= 7; l++) {
        ck_assert_uint_eq(line(t, l)->occurrences, 0);
        ck_assert_int_eq(line(t, l)->increment_bytes, 0);
    }
    pm_linetable_free(t);
    pm_linetable_free(NULL);

    ck_assert_int_eq(pm_tracer_new(&negative, &tr), PM_ERANGE);
    ck_assert_int_eq(pm_tracer_new(&negative_children, &tr), PM_ERANGE);
    ck_assert_int_eq(pm_tracer_new(NULL, NULL), -EINVAL);
    ck_assert_ptr_null(tr);
    pm_tracer_free(NULL);
    ck_assert_uint_eq(pm_tracer_reads(NULL), 0);
}
END_TEST

/* A del line: its peak is at least the RSS it started from (the kernel's
 * high-water mark lags statm by its per-CPU batches, so a mark alone
 * read below the line's own start), and a temporary freed within a line
 * shows in that line's peak only. */
START_TEST(test_tracer_peak_never_below_line_start)
{
    pm_tracer_opts_t opts = {.peak = 1, .min_read_interval_ns = 1};
    pm_tracer_t *tr;
    pm_linetable_t *t = new_table(1, 5);
    pm_frame_state_t fs;
    uint64_t start3, start4;
    char *kept, *tmp;

    if (pm_hwm_reset() < 0) {
        fprintf(stderr, "tracer: clear_refs refused, peak test skipped\n");
        pm_linetable_free(t);
        return;
    }
    tr = new_tracer(&opts);
    pm_tracer_call(tr, &fs, t, 1);
    pm_tracer_line(tr, &fs, 2); /* kept = np.ones(64 MiB) */
    kept = map_touch(64);
    pm_tracer_line(tr, &fs, 3); /* del kept */
    start3 = fs.line_start_rss;
    unmap(kept, 64);
    pm_tracer_line(tr, &fs, 4); /* np.ones(32 MiB).sum() */
    start4 = fs.line_start_rss;
    tmp = map_touch(32);
    unmap(tmp, 32);
    pm_tracer_line(tr, &fs, 5); /* return */
    pm_tracer_return(tr, &fs);

    fprintf(stderr, "tracer: del line peak - start %.2f MiB\n",
            pm_check_mib((int64_t)line(t, 3)->peak_bytes - (int64_t)start3));
    ck_assert_uint_ge(line(t, 3)->peak_bytes, start3);
    ck_assert_uint_ge(line(t, 3)->peak_bytes, line(t, 2)->mem_max_bytes);
    for (int l = 1; l <= 5; l++) {
        ck_assert_uint_ge(line(t, l)->peak_bytes, line(t, l)->mem_max_bytes);
    }
    /* The temporary: in line 4's peak, not in its increment or in the
     * peaks of the lines around it. */
    ck_assert_uint_ge(line(t, 4)->peak_bytes, start4 + 28 * PM_MIB);
    assert_increment(t, 4, 0, 1);
    ck_assert_uint_lt(line(t, 5)->peak_bytes, start4 + 4 * PM_MIB);
    ck_assert_uint_lt(line(t, 3)->peak_bytes, start3 + 4 * PM_MIB);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

/* The read gate skips its clock on lines known to be fast: a tight loop
 * of two fast lines reads the clock on a small share of its lines, with
 * every count and increment as exact as before. */
START_TEST(test_tracer_gate_skips_clock_on_fast_lines)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(1, 3);
    pm_frame_state_t fs;
    const int n = 200000;
    uint64_t call_rss;

    pm_tracer_call(tr, &fs, t, 1);
    call_rss = fs.line_start_rss;
    for (int i = 0; i < n; i++) {
        pm_tracer_line(tr, &fs, 2 + (i & 1));
    }
    pm_tracer_return(tr, &fs);
    fprintf(stderr, "tracer: %d lines, %llu clock reads, %llu reads\n", n,
            (unsigned long long)pm_tracer_checks(tr),
            (unsigned long long)pm_tracer_reads(tr));
    ck_assert_uint_eq(pm_tracer_events(tr), (uint64_t)n);
    ck_assert_uint_lt(pm_tracer_checks(tr) * 8, (uint64_t)n);
    ck_assert_uint_eq(line(t, 2)->occurrences, (uint64_t)n / 2);
    ck_assert_uint_eq(line(t, 3)->occurrences, (uint64_t)n / 2);
    ck_assert_int_eq(sum_increments(t),
                     (int64_t)fs.line_start_rss - (int64_t)call_rss);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

/* A fast line that turns slow while it skips the clock: its 8 MiB may
 * land on the next line once, but the read that finds RSS moved behind
 * skips (a surprise) halves the grants, so after at most five surprises
 * (31, 15, 7, 3, 1, 0) every close is checked and every later 8 MiB
 * lands on its own line. */
START_TEST(test_tracer_gate_surprise_shrinks_skips)
{
    pm_tracer_t *tr = new_tracer(NULL);
    pm_linetable_t *t = new_table(1, 4);
    pm_frame_state_t fs;
    const int rounds = 12;
    char *kept[12];
    uint64_t call_rss, surprises;

    pm_tracer_call(tr, &fs, t, 1);
    call_rss = fs.line_start_rss;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 4000; i++) {
            pm_tracer_line(tr, &fs, 2 + (i & 1)); /* s += i (fast) */
        }
        pm_tracer_line(tr, &fs, 2); /* keep.append(alloc(8)) on a turn */
        kept[r] = map_touch(8);
        pm_tracer_line(tr, &fs, 3);
    }
    pm_tracer_line(tr, &fs, 4);
    pm_tracer_return(tr, &fs);
    for (int r = 0; r < rounds; r++) {
        unmap(kept[r], 8);
    }
    surprises = pm_tracer_surprises(tr);
    fprintf(stderr, "tracer: %llu surprises in %d slow turns\n",
            (unsigned long long)surprises, rounds);
    ck_assert_uint_le(surprises, 5);
    /* Each slow turn missed is one surprise; the rest are on line 2. */
    assert_increment(t, 2, 8.0 * (double)(rounds - (int)surprises),
                     8.0 * (double)surprises + 1.5);
    ck_assert_int_ge(line(t, 2)->increment_bytes,
                     (int64_t)(rounds - (int)surprises) * 8 * (int64_t)PM_MIB -
                         (int64_t)(3 * PM_MIB / 2));
    ck_assert_int_eq(sum_increments(t),
                     (int64_t)fs.line_start_rss - (int64_t)call_rss);
    pm_tracer_free(tr);
    pm_linetable_free(t);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"lines", test_tracer_increments_add_up_to_call_delta},
        {"lines", test_tracer_reads_through_the_given_reader},
        {"lines", test_tracer_uss_kind_sees_a_touched_block},
        {"lines", test_tracer_first_line_starts_at_call},
        {"lines", test_tracer_loop_flat_memory_has_no_negatives},
        {"lines", test_tracer_recursion_counts_growth_once},
        {"lines", test_tracer_repeated_calls_accumulate},
        {"lines", test_tracer_lines_outside_table_are_not_recorded},
        {"lines", test_tracer_include_children_adds_descendants},
        {"gate", test_tracer_gates_reads},
        {"gate", test_tracer_big_allocation_lands_on_its_line},
        {"gate", test_tracer_gate_skips_clock_on_fast_lines},
        {"gate", test_tracer_gate_surprise_shrinks_skips},
        {"peak", test_tracer_peak_catches_transient},
        {"peak", test_hwm_take_keeps_outer_probe_exact},
        {"peak", test_tracer_peak_never_below_line_start},
        {"bounds", test_linetable_bounds},
    };

    return pm_check_main("tracer", tests, PM_CHECK_COUNT(tests));
}
