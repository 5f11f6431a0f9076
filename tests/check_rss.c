/* Check tests for kernel/rss.c against the live process: own RSS,
 * high-water mark reset and read, and the summed RSS and pids of forked
 * descendants (synchronised through pipes, never through sleeps). */
#include "check_util.h"
#include "pm_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/* Two reads of the same counter a moment apart: within 3% or 1 MiB (the
 * test's own stack and buffers move a small RSS by a few %). */
static int near(uint64_t a, uint64_t b)
{
    double d = a > b ? (double)(a - b) : (double)(b - a);

    return d <= 1 * PM_MIB || d <= 0.03 * (double)(a > b ? a : b);
}

static uint64_t status_kb(const char *key)
{
    char buf[8192];
    pm_status_t st;

    ck_assert_int_gt(pm_proc_read("/proc/self/status", buf, sizeof buf), 0);
    ck_assert_int_eq(pm_proc_parse_status(buf, &st), 0);
    ck_assert(st.has_rss && st.has_hwm);
    return strcmp(key, "VmRSS") == 0 ? st.vm_rss_kb : st.vm_hwm_kb;
}

START_TEST(test_rss_self_matches_vmrss)
{
    uint64_t rss;
    uint64_t vmrss;

    ck_assert_int_eq(pm_rss_self(&rss), 0);
    vmrss = status_kb("VmRSS") * 1024;
    ck_assert_msg(near(rss, vmrss), "statm %.2f MiB vs VmRSS %.2f MiB",
                  pm_check_mib(rss), pm_check_mib(vmrss));
}
END_TEST

START_TEST(test_rss_self_grows_by_touched_64mib)
{
    const size_t n = 64 * PM_MIB;
    uint64_t before, after;
    void *p;

    ck_assert_int_eq(pm_rss_self(&before), 0);
    p = pm_check_map_touch(n);
    ck_assert_int_eq(pm_rss_self(&after), 0);
    ck_assert_msg(after - before > n * 0.97 && after - before < n * 1.05,
                  "grew by %.2f MiB", pm_check_mib(after - before));
    munmap(p, n);
}
END_TEST

START_TEST(test_rss_self_grows_by_malloc_touched_64mib)
{
    const size_t n = 64 * PM_MIB;
    uint64_t before, after;
    char *volatile p; /* volatile: the compiler may not drop the block */

    ck_assert_int_eq(pm_rss_self(&before), 0);
    p = malloc(n);
    ck_assert_ptr_nonnull(p);
    pm_check_touch(p, n, 1);
    ck_assert_int_eq(pm_rss_self(&after), 0);
    ck_assert_int_eq(p[n - 1], 1);
    free(p);
    /* The upper bound leaves room for ASan's shadow (n / 8) and
     * valgrind's bookkeeping (n / 4); the mmap test above is the exact
     * one. */
    ck_assert_msg(after - before > n * 0.97 && after - before < n * 1.3,
                  "grew by %.2f MiB", pm_check_mib(after - before));
}
END_TEST

/* Pages of [p, p + n) mapped in the page table: written ones, and read
 * ones (the shared zero page here; a new page on hosts that commit a
 * page on a read fault). */
static size_t mapped_pages(const void *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), count = 0;
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1);
    size_t len = (uintptr_t)p + n - start, npages = (len + page - 1) / page;
    unsigned char *vec = calloc(npages, 1);

    ck_assert_ptr_nonnull(vec);
    ck_assert_int_eq(mincore((void *)start, len, vec), 0);
    for (size_t i = 0; i < npages; i++) {
        count += vec[i] & 1;
    }
    free(vec);
    return count;
}

/* The exact-byte tests hold whatever a host does with read faults: the
 * touch maps every page of its block and nothing of the sanitizer's
 * shadow (memset under ASan read all n / 8 bytes of it: 72 MiB for 64 on
 * a host where reads commit). */
START_TEST(test_touch_maps_its_block_and_no_sanitizer_shadow)
{
    const size_t n = 64 * PM_MIB, page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    ck_assert_ptr_ne(p, MAP_FAILED);
#if defined(__SANITIZE_ADDRESS__)
    size_t scale, offset;
    __asan_get_shadow_mapping(&scale, &offset);
    const void *shadow = (const void *)(((uintptr_t)p >> scale) + offset);
    size_t before = mapped_pages(shadow, n >> scale);
#endif
    pm_check_touch(p, n, 0x5a);
    ck_assert_uint_eq(mapped_pages(p, n), n / page);
#if defined(__SANITIZE_ADDRESS__)
    size_t after = mapped_pages(shadow, n >> scale);
    ck_assert_msg(after == before,
                  "the touch faulted %zu pages of ASan's shadow (%.2f MiB)",
                  after - before,
                  pm_check_mib((uint64_t)(after - before) * page));
#endif
    munmap(p, n);
}
END_TEST

START_TEST(test_rss_pid_of_self_matches_rss_self)
{
    uint64_t a, b;

    ck_assert_int_eq(pm_rss_self(&a), 0);
    ck_assert_int_eq(pm_rss_pid(getpid(), &b), 0);
    ck_assert_msg(near(a, b), "%.2f vs %.2f MiB", pm_check_mib(a),
                  pm_check_mib(b));
}
END_TEST

START_TEST(test_rss_pid_reports_missing_process)
{
    uint64_t b;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_int_eq(pm_rss_pid(pid, &b), -ENOENT);
}
END_TEST

START_TEST(test_hwm_reset_lowers_hwm_to_current_rss)
{
    const size_t n = 64 * PM_MIB;
    uint64_t base, hwm, rss;
    void *p;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pm_rss_self(&base), 0);
    p = pm_check_map_touch(n);
    munmap(p, n);
    ck_assert_int_eq(pm_hwm_read(&hwm), 0);
    ck_assert_msg(hwm >= base + n * 0.97, "hwm %.2f base %.2f",
                  pm_check_mib(hwm), pm_check_mib(base));

    ck_assert_int_eq(pm_hwm_reset(), 0);
    ck_assert_int_eq(pm_hwm_read(&hwm), 0);
    ck_assert_int_eq(pm_rss_self(&rss), 0);
    ck_assert_msg(hwm < rss + 4 * PM_MIB, "after reset hwm %.2f rss %.2f",
                  pm_check_mib(hwm), pm_check_mib(rss));
}
END_TEST

START_TEST(test_hwm_read_catches_spike_after_reset)
{
    const size_t n = 96 * PM_MIB;
    uint64_t base, hwm;
    void *p;

    PM_CHECK_NEED_CLEAR_REFS();
    ck_assert_int_eq(pm_hwm_reset(), 0);
    ck_assert_int_eq(pm_rss_self(&base), 0);
    p = pm_check_map_touch(n);
    munmap(p, n);
    ck_assert_int_eq(pm_hwm_read(&hwm), 0);
    ck_assert_msg(hwm - base > n * 0.97 && hwm - base < n * 1.05,
                  "hwm - base %.2f MiB", pm_check_mib(hwm - base));
}
END_TEST

START_TEST(test_hwm_read_matches_status_vmhwm)
{
    uint64_t hwm;
    uint64_t kb;

    ck_assert_int_eq(pm_hwm_read(&hwm), 0);
    kb = status_kb("VmHWM");
    ck_assert_msg(near(hwm, kb * 1024), "%.2f vs %.2f MiB", pm_check_mib(hwm),
                  pm_check_mib(kb * 1024));
}
END_TEST

/* A child that touches touch_mib MiB, writes a byte to ready and waits
 * until every write end of hold is closed; with grand_mib > 0 it first
 * forks a grandchild doing the same with grand_mib. Returns its pid. */
static pid_t spawn(size_t touch_mib, size_t grand_mib, int ready,
                   const int hold[2])
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pid_t grand = -1;
        char c = 'r';

        close(hold[1]);
        if (grand_mib > 0) {
            grand = spawn(grand_mib, 0, ready, hold);
        }
        if (touch_mib > 0) {
            pm_check_map_touch(touch_mib * PM_MIB);
        }
        if (write(ready, &c, 1) != 1 || read(hold[0], &c, 1) < 0) {
            _exit(1);
        }
        if (grand > 0) {
            waitpid(grand, NULL, 0);
        }
        _exit(0);
    }
    return pid;
}

static void wait_ready(int ready, int n)
{
    char c;

    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(read(ready, &c, 1), 1);
    }
}

START_TEST(test_rss_children_counts_forked_child)
{
    int ready[2], hold[2];
    uint64_t bytes = 0;
    int count = -1;
    int status;
    pid_t child;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    child = spawn(32, 0, ready[1], hold);
    wait_ready(ready[0], 1);

    ck_assert_int_eq(pm_rss_children(getpid(), &bytes, &count), 0);
    close(hold[1]);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(count, 1);
    ck_assert_msg(bytes >= 32 * PM_MIB, "children %.2f MiB",
                  pm_check_mib(bytes));
}
END_TEST

START_TEST(test_rss_children_includes_grandchild)
{
    int ready[2], hold[2];
    uint64_t bytes = 0;
    uint64_t child_only = 0;
    int count = -1;
    int status;
    pid_t child;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    child = spawn(8, 32, ready[1], hold);
    wait_ready(ready[0], 2);

    ck_assert_int_eq(pm_rss_children(getpid(), &bytes, &count), 0);
    ck_assert_int_eq(pm_rss_pid(child, &child_only), 0);
    close(hold[1]);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(count, 2);
    ck_assert_msg(bytes >= child_only + 32 * PM_MIB,
                  "children %.2f MiB, child alone %.2f MiB",
                  pm_check_mib(bytes), pm_check_mib(child_only));
    ck_assert_msg(child_only >= 8 * PM_MIB, "child %.2f MiB",
                  pm_check_mib(child_only));
}
END_TEST

START_TEST(test_rss_children_of_childless_process_is_zero)
{
    uint64_t bytes = 1;
    int count = -1;
    int ready[2], hold[2];
    pid_t child;

    /* The child has no children of its own. */
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    child = spawn(0, 0, ready[1], hold);
    wait_ready(ready[0], 1);
    ck_assert_int_eq(pm_rss_children(child, &bytes, &count), 0);
    close(hold[1]);
    waitpid(child, NULL, 0);
    ck_assert_int_eq(count, 0);
    ck_assert_uint_eq(bytes, 0);
}
END_TEST

START_TEST(test_rss_children_forgets_reaped_child)
{
    uint64_t bytes = 1;
    int count = -1;
    pid_t child = fork();

    ck_assert_int_ge(child, 0);
    if (child == 0) {
        _exit(0);
    }
    waitpid(child, NULL, 0);
    ck_assert_int_eq(pm_rss_children(getpid(), &bytes, &count), 0);
    ck_assert_int_eq(count, 0);
}
END_TEST

START_TEST(test_rss_self_in_forked_child_reads_child)
{
    const size_t n = 48 * PM_MIB;
    int fds[2];
    uint64_t parent_rss, child_rss = 0;
    pid_t child;

    /* Opens the kept descriptor in the parent first. */
    ck_assert_int_eq(pm_rss_self(&parent_rss), 0);
    ck_assert_int_eq(pipe(fds), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        uint64_t rss = 0;

        /* Only the child grows; a descriptor inherited from the parent
         * would report the parent's RSS instead. */
        pm_check_map_touch(n);
        if (pm_rss_self(&rss) < 0 ||
            write(fds[1], &rss, sizeof rss) != sizeof rss) {
            _exit(1);
        }
        _exit(0);
    }
    ck_assert_int_eq(read(fds[0], &child_rss, sizeof child_rss),
                     (ssize_t)sizeof child_rss);
    waitpid(child, NULL, 0);
    ck_assert_int_eq(pm_rss_self(&parent_rss), 0);
    ck_assert_msg(child_rss >= n, "child saw %.2f MiB, parent has %.2f",
                  pm_check_mib(child_rss), pm_check_mib(parent_rss));
    ck_assert_msg(parent_rss + 16 * PM_MIB < child_rss,
                  "parent %.2f MiB should stay below child %.2f MiB",
                  pm_check_mib(parent_rss), pm_check_mib(child_rss));
}
END_TEST

/* The parent pid of pid from its /proc/<pid>/stat. */
static pid_t ppid_of(pid_t pid)
{
    char path[64];
    char buf[2048];
    pid_t ppid = -1;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    ck_assert_int_gt(pm_proc_read(path, buf, sizeof buf), 0);
    ck_assert_int_eq(pm_proc_parse_stat_ppid(buf, &ppid), 0);
    return ppid;
}

START_TEST(test_proc_descendants_lists_child_and_grandchild_in_order)
{
    int ready[2], hold[2];
    pid_t out[8] = {0};
    pid_t child, grand;
    int n, status;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    child = spawn(1, 1, ready[1], hold);
    wait_ready(ready[0], 2);

    n = pm_proc_descendants(getpid(), out, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_int_lt(out[0], out[1]);
    /* One is the child, the other its child. */
    grand = out[0] == child ? out[1] : out[0];
    ck_assert(out[0] == child || out[1] == child);
    ck_assert_int_eq(ppid_of(grand), child);
    ck_assert_int_eq(ppid_of(child), getpid());
    /* The child's own tree holds only the grandchild. */
    ck_assert_int_eq(pm_proc_descendants(child, out, 8), 1);
    ck_assert_int_eq(out[0], grand);

    close(hold[1]);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(pm_proc_descendants(getpid(), out, 8), 0);
}
END_TEST

START_TEST(test_proc_descendants_returns_total_when_max_is_small)
{
    int ready[2], hold[2];
    pid_t all[4] = {0};
    pid_t out[2] = {0, -7};
    pid_t child;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    child = spawn(0, 1, ready[1], hold);
    wait_ready(ready[0], 2);

    ck_assert_int_eq(pm_proc_descendants(getpid(), all, 4), 2);
    ck_assert_int_eq(pm_proc_descendants(getpid(), out, 1), 2);
    ck_assert_int_eq(out[0], all[0]); /* the lowest pid */
    ck_assert_int_eq(out[1], -7);     /* nothing written past max */
    ck_assert_int_eq(pm_proc_descendants(getpid(), NULL, 0), 2);

    close(hold[1]);
    waitpid(child, NULL, 0);
}
END_TEST

START_TEST(test_proc_descendants_rejects_bad_arguments)
{
    pid_t out[1];

    ck_assert_int_eq(pm_proc_descendants(0, out, 1), -EINVAL);
    ck_assert_int_eq(pm_proc_descendants(-1, out, 1), -EINVAL);
    ck_assert_int_eq(pm_proc_descendants(getpid(), NULL, 1), -EINVAL);
}
END_TEST

START_TEST(test_rss_self_rejects_null)
{
    ck_assert_int_eq(pm_rss_self(NULL), -EINVAL);
    ck_assert_int_eq(pm_rss_children(getpid(), NULL, NULL), -EINVAL);
}
END_TEST

/* ---- smaps_rollup: PSS and USS (kernel/smaps.c) ------------------------*/

/* Captured from Linux 6.1 (a Python process), with the header line. */
static const char ROLLUP[] =
    "561b21615000-7ffd64a5d000 ---p 00000000 00:00 0          [rollup]\n"
    "Rss:               11624 kB\n"
    "Pss:                5214 kB\n"
    "Pss_Dirty:           108 kB\n"
    "Pss_Anon:            108 kB\n"
    "Pss_File:            106 kB\n"
    "Pss_Shmem:             0 kB\n"
    "Shared_Clean:       7476 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:        40 kB\n"
    "Private_Dirty:      4108 kB\n"
    "Referenced:        11624 kB\n"
    "Anonymous:          4108 kB\n"
    "Shared_Hugetlb:        0 kB\n"
    "Private_Hugetlb:    2048 kB\n"
    "Swap:                 12 kB\n"
    "SwapPss:              12 kB\n"
    "Locked:                0 kB\n";

START_TEST(test_smaps_parse_reads_pss_and_sums_private_lines_as_uss)
{
    pm_smaps_t s;

    ck_assert_int_eq(pm_smaps_parse(ROLLUP, &s), 0);
    ck_assert_uint_eq(s.rss_kb, 11624);
    ck_assert_uint_eq(s.pss_kb, 5214); /* not Pss_Dirty & co. */
    ck_assert_uint_eq(s.uss_kb, 40 + 4108 + 2048);
    ck_assert_uint_eq(s.swap_kb, 12);
}
END_TEST

START_TEST(test_smaps_parse_rejects_garbled_or_missing_lines)
{
    pm_smaps_t s;

    ck_assert_int_eq(pm_smaps_parse("Rss: 1 kB\nPss: x kB\n"
                                    "Private_Clean: 1 kB\n",
                                    &s),
                     PM_EPARSE);
    ck_assert_int_eq(pm_smaps_parse("Rss: 1 kB\nPrivate_Dirty: 1 kB\n", &s),
                     PM_EPARSE);
    ck_assert_int_eq(pm_smaps_parse("Rss: 1 kB\nPss: 99999999999999999999"
                                    " kB\nPrivate_Dirty: 1 kB\n",
                                    &s),
                     PM_EPARSE);
    ck_assert_int_eq(pm_smaps_parse("", &s), PM_EPARSE);
    ck_assert_int_eq(pm_smaps_parse(NULL, &s), -EINVAL);
}
END_TEST

START_TEST(test_mem_read_pss_and_uss_grow_by_touched_64mib)
{
    const size_t n = 64 * PM_MIB;
    uint64_t pss0, uss0, pss1, uss1;
    void *p;

    ck_assert_int_eq(pm_mem_read(0, PM_MEM_PSS, &pss0), 0);
    ck_assert_int_eq(pm_mem_read(0, PM_MEM_USS, &uss0), 0);
    p = pm_check_map_touch(n);
    ck_assert_int_eq(pm_mem_read(0, PM_MEM_PSS, &pss1), 0);
    ck_assert_int_eq(pm_mem_read(0, PM_MEM_USS, &uss1), 0);
    ck_assert_msg(pss1 - pss0 > n * 0.97 && pss1 - pss0 < n * 1.05,
                  "PSS grew by %.2f MiB", pm_check_mib(pss1 - pss0));
    ck_assert_msg(uss1 - uss0 > n * 0.97 && uss1 - uss0 < n * 1.05,
                  "USS grew by %.2f MiB", pm_check_mib(uss1 - uss0));
    munmap(p, n);
}
END_TEST

/* A forked child shares the parent's 64 MiB: in its RSS, half of it in
 * its PSS, none of it in its USS. */
START_TEST(test_mem_read_forked_child_shares_pages_in_pss_not_uss)
{
    const size_t n = 64 * PM_MIB;
    int go[2], ready[2];
    uint64_t rss, pss, uss;
    void *p = pm_check_map_touch(n);
    pid_t pid;
    char c = 0;

    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(ready), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ssize_t r = write(ready[1], "r", 1);
        r = read(go[0], &c, 1);
        _exit(r == 1 ? 0 : 1);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(pm_mem_read(pid, PM_MEM_RSS, &rss), 0);
    ck_assert_int_eq(pm_mem_read(pid, PM_MEM_PSS, &pss), 0);
    ck_assert_int_eq(pm_mem_read(pid, PM_MEM_USS, &uss), 0);
    {
        uint64_t kids_rss, kids_uss;

        ck_assert_int_eq(pm_mem_children(getpid(), PM_MEM_RSS, &kids_rss),
                         0);
        ck_assert_int_eq(pm_mem_children(getpid(), PM_MEM_USS, &kids_uss),
                         0);
        ck_assert_msg(kids_rss >= n && kids_uss + n * 0.97 <= kids_rss,
                      "children RSS %.2f, USS %.2f MiB",
                      pm_check_mib(kids_rss), pm_check_mib(kids_uss));
    }
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_msg(rss >= n, "child RSS %.2f MiB", pm_check_mib(rss));
    ck_assert_msg(pss + n * 0.45 <= rss, "child PSS %.2f of RSS %.2f MiB",
                  pm_check_mib(pss), pm_check_mib(rss));
    ck_assert_msg(uss + n * 0.97 <= rss, "child USS %.2f of RSS %.2f MiB",
                  pm_check_mib(uss), pm_check_mib(rss));
    ck_assert_int_eq(pm_mem_read(pid, PM_MEM_PSS, &pss), -ESRCH);
    ck_assert_int_eq(pm_mem_read(getpid(), 7, &pss), -EINVAL);
    munmap(p, n);
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"self", test_rss_self_matches_vmrss},
        {"self", test_rss_self_grows_by_touched_64mib},
        {"self", test_rss_self_grows_by_malloc_touched_64mib},
        {"self", test_touch_maps_its_block_and_no_sanitizer_shadow},
        {"self", test_rss_pid_of_self_matches_rss_self},
        {"self", test_rss_pid_reports_missing_process},
        {"self", test_rss_self_in_forked_child_reads_child},
        {"self", test_rss_self_rejects_null},
        {"hwm", test_hwm_reset_lowers_hwm_to_current_rss},
        {"hwm", test_hwm_read_catches_spike_after_reset},
        {"hwm", test_hwm_read_matches_status_vmhwm},
        {"children", test_rss_children_counts_forked_child},
        {"children", test_rss_children_includes_grandchild},
        {"children", test_rss_children_of_childless_process_is_zero},
        {"children", test_rss_children_forgets_reaped_child},
        {"children",
         test_proc_descendants_lists_child_and_grandchild_in_order},
        {"children", test_proc_descendants_returns_total_when_max_is_small},
        {"children", test_proc_descendants_rejects_bad_arguments},
        {"smaps", test_smaps_parse_reads_pss_and_sums_private_lines_as_uss},
        {"smaps", test_smaps_parse_rejects_garbled_or_missing_lines},
        {"smaps", test_mem_read_pss_and_uss_grow_by_touched_64mib},
        {"smaps", test_mem_read_forked_child_shares_pages_in_pss_not_uss},
    };

    return pm_check_main("rss", tests, PM_CHECK_COUNT(tests));
}
