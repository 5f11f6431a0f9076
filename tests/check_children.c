/* The descendants' watcher (kernel/children.c): exact per-process peaks
 * of children alive at the start (mark reset there), born during the
 * watch, exiting before its end, and of grandchildren. */
#include "check_util.h"

#include <sys/wait.h>

/* A child that waits for "go" on cmd, spikes spike_mib for hold_ms, frees
 * it (or exits holding it with exit_after), then waits for EOF. Before
 * that it may have held pre_mib, freed before the watch starts. */
typedef struct {
    pid_t pid;
    int cmd, ready; /* parent's ends */
} kid_t;

static kid_t spawn_kid(size_t pre_mib, size_t spike_mib, int hold_ms,
                       int exit_after)
{
    int cmd[2], ready[2];
    kid_t k;
    char c;

    ck_assert_int_eq(pipe(cmd), 0);
    ck_assert_int_eq(pipe(ready), 0);
    k.pid = fork();
    ck_assert_int_ge(k.pid, 0);
    if (k.pid == 0) {
        close(cmd[1]);
        close(ready[0]);
        if (pre_mib > 0) {
            void *p = pm_check_map_touch(pre_mib * PM_MIB);
            munmap(p, pre_mib * PM_MIB);
        }
        if (write(ready[1], "r", 1) != 1 || read(cmd[0], &c, 1) != 1) {
            _exit(1);
        }
        void *p = pm_check_map_touch(spike_mib * PM_MIB);
        pm_check_sleep_ms(hold_ms);
        if (exit_after) {
            _exit(0);
        }
        munmap(p, spike_mib * PM_MIB);
        if (write(ready[1], "d", 1) != 1) {
            _exit(1);
        }
        while (read(cmd[0], &c, 1) > 0) {
        }
        _exit(0);
    }
    close(cmd[0]);
    close(ready[1]);
    k.cmd = cmd[1];
    k.ready = ready[0];
    ck_assert_int_eq(read(k.ready, &c, 1), 1);
    return k;
}

static void kid_go(const kid_t *k)
{
    ck_assert_int_eq(write(k->cmd, "g", 1), 1);
}

static void kid_wait_done(const kid_t *k)
{
    char c;

    ck_assert_int_eq(read(k->ready, &c, 1), 1);
}

static void kid_end(kid_t *k)
{
    close(k->cmd);
    close(k->ready);
    waitpid(k->pid, NULL, 0);
}

static const pm_child_t *find(const pm_children_t *c, pid_t pid)
{
    for (size_t i = 0; i < pm_children_count(c); i++) {
        if (pm_children_get(c, i)->pid == pid) {
            return pm_children_get(c, i);
        }
    }
    return NULL;
}

START_TEST(test_children_resets_mark_of_child_alive_at_start)
{
    pm_children_t *c = NULL;
    const pm_child_t *e;

    PM_CHECK_NEED_CLEAR_REFS();
    kid_t k = spawn_kid(160, 32, 50, 0);
    ck_assert_int_eq(pm_children_new(NULL, &c), 0);
    ck_assert_int_eq(pm_children_start(c), 0);
    kid_go(&k);
    kid_wait_done(&k);
    ck_assert_int_eq(pm_children_stop(c), 0);
    e = find(c, k.pid);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->reset, 1);
    ck_assert_int_eq(e->born_inside, 0);
    ck_assert_int_eq(e->exited, 0);
    /* The 160 MiB held before the start is not in the peak. */
    ck_assert_msg(e->peak_bytes >= 32 * PM_MIB &&
                      e->peak_bytes < 32 * PM_MIB + e->last_rss_bytes +
                                          8 * PM_MIB,
                  "peak %.2f MiB, rss %.2f MiB", pm_check_mib(e->peak_bytes),
                  pm_check_mib(e->last_rss_bytes));
    ck_assert_uint_eq(pm_children_sum_peaks(c), e->peak_bytes);
    kid_end(&k);
    pm_children_free(c);
}
END_TEST

START_TEST(test_children_keeps_peak_of_child_that_exits_before_end)
{
    pm_children_t *c = NULL;
    const pm_child_t *e;

    ck_assert_int_eq(pm_children_new(NULL, &c), 0);
    ck_assert_int_eq(pm_children_start(c), 0);
    kid_t k = spawn_kid(0, 64, 50, 1);
    kid_go(&k);
    waitpid(k.pid, NULL, 0); /* reaped before the end */
    ck_assert_int_eq(pm_children_stop(c), 0);
    e = find(c, k.pid);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->born_inside, 1);
    ck_assert_int_eq(e->exited, 1);
    ck_assert_msg(e->peak_bytes >= 64 * PM_MIB, "peak %.2f MiB",
                  pm_check_mib(e->peak_bytes));
    close(k.cmd);
    close(k.ready);
    pm_children_free(c);
}
END_TEST

/* A child that starts a grandchild spiking mib for 50 ms; the
 * grandchild's pid comes back through the pipe. */
static void grandchild_run(const pm_children_opts_t *opts)
{
    pm_children_t *c = NULL;
    int up[2];
    pid_t mid, grand;
    const pm_child_t *e;

    ck_assert_int_eq(pipe(up), 0);
    ck_assert_int_eq(pm_children_new(opts, &c), 0);
    ck_assert_int_eq(pm_children_start(c), 0);
    mid = fork();
    ck_assert_int_ge(mid, 0);
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) {
            /* Long enough to be seen by a full scan (tick 20 ms). */
            void *p = pm_check_map_touch(48 * PM_MIB);
            pm_check_sleep_ms(150);
            munmap(p, 48 * PM_MIB);
            _exit(0);
        }
        if (write(up[1], &g, sizeof g) != sizeof g) {
            _exit(1);
        }
        waitpid(g, NULL, 0);
        _exit(0);
    }
    ck_assert_int_eq(read(up[0], &grand, sizeof grand), sizeof grand);
    waitpid(mid, NULL, 0);
    ck_assert_int_eq(pm_children_stop(c), 0);
    e = find(c, grand);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(e->peak_bytes >= 48 * PM_MIB, "peak %.2f MiB",
                  pm_check_mib(e->peak_bytes));
    ck_assert_ptr_nonnull(find(c, mid));
    ck_assert_uint_ge(pm_children_sum_peaks(c), 48 * PM_MIB);
    close(up[0]);
    close(up[1]);
    pm_children_free(c);
}

START_TEST(test_children_sees_grandchild)
{
    grandchild_run(NULL);
}
END_TEST

START_TEST(test_children_sees_grandchild_by_full_scan)
{
    pm_children_opts_t o = {.force_scan = 1, .tick_s = 0.02};

    grandchild_run(&o);
}
END_TEST

START_TEST(test_children_records_command_line)
{
    pm_children_t *c = NULL;
    int pfd[2];
    pid_t pid;
    char ch;

    ck_assert_int_eq(pipe(pfd), 0);
    ck_assert_int_eq(pm_children_new(NULL, &c), 0);
    ck_assert_int_eq(pm_children_start(c), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[1]);
        dup2(pfd[0], 0);
        execlp("sh", "sh", "-c", "read x", (char *)NULL);
        _exit(127);
    }
    close(pfd[0]);
    pm_check_sleep_ms(150);
    ck_assert_int_eq(pm_children_stop(c), 0);
    const pm_child_t *e = find(c, pid);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->cmd, "sh -c read x");
    (void)ch;
    close(pfd[1]);
    waitpid(pid, NULL, 0);
    pm_children_free(c);
}
END_TEST

START_TEST(test_children_rejects_bad_options)
{
    pm_children_t *c = (pm_children_t *)1;
    pm_children_opts_t o = {.tick_s = -1};

    ck_assert_int_eq(pm_children_new(&o, &c), PM_ERANGE);
    ck_assert_ptr_null(c);
    o.tick_s = 0;
    o.pid = -3;
    ck_assert_int_eq(pm_children_new(&o, &c), -EINVAL);
    ck_assert_int_eq(pm_children_stop(NULL), -EINVAL);
    pm_children_free(NULL);
}
END_TEST

START_TEST(test_children_empty_without_descendants)
{
    pm_children_t *c = NULL;

    ck_assert_int_eq(pm_children_new(NULL, &c), 0);
    ck_assert_int_eq(pm_children_start(c), 0);
    ck_assert_int_eq(pm_children_start(c), -EBUSY);
    pm_check_sleep_ms(10);
    ck_assert_int_eq(pm_children_stop(c), 0);
    ck_assert_int_eq(pm_children_stop(c), 0);
    ck_assert_uint_eq(pm_children_count(c), 0);
    ck_assert_uint_eq(pm_children_sum_peaks(c), 0);
    ck_assert_uint_ge(pm_children_ticks(c), 2);
    pm_children_free(c);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"peaks", test_children_resets_mark_of_child_alive_at_start},
        {"peaks", test_children_keeps_peak_of_child_that_exits_before_end},
        {"tree", test_children_sees_grandchild},
        {"tree", test_children_sees_grandchild_by_full_scan},
        {"tree", test_children_records_command_line},
        {"api", test_children_rejects_bad_options},
        {"api", test_children_empty_without_descendants},
    };

    return pm_check_main("children", tests, PM_CHECK_COUNT(tests));
}
