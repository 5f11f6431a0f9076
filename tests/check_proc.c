/* Check tests for kernel/proc.c: whole-file reads and the statm, status
 * and stat parsers against captured and hand-made fixtures in
 * tests/data/proc/ (run from the source root, as meson does). */
#include "check_util.h"
#include "pm_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef PM_PROC_DATA
#define PM_PROC_DATA "tests/data/proc/"
#endif

static char text[16384];

/* Read a fixture into text; fails the test when it is missing. */
static const char *fixture(const char *name)
{
    char path[256];
    int rc;

    snprintf(path, sizeof path, "%s%s", PM_PROC_DATA, name);
    rc = pm_proc_read(path, text, sizeof text);
    ck_assert_msg(rc > 0, "cannot read %s: %s (run from the source root)",
                  path, pm_strerror(rc));
    return text;
}

START_TEST(test_proc_read_returns_length_and_terminates)
{
    const char *t = fixture("statm");

    ck_assert_str_eq(t, "765 422 393 5 0 123 0\n");
    ck_assert_int_eq(pm_proc_read(PM_PROC_DATA "statm", text, sizeof text),
                     22);
}
END_TEST

START_TEST(test_proc_read_reports_missing_file)
{
    char buf[16];

    ck_assert_int_eq(
        pm_proc_read(PM_PROC_DATA "no-such-file", buf, sizeof buf), -ENOENT);
}
END_TEST

START_TEST(test_proc_read_reports_file_larger_than_buffer)
{
    char buf[8];

    ck_assert_int_eq(pm_proc_read(PM_PROC_DATA "statm", buf, sizeof buf),
                     -EOVERFLOW);
    /* The prefix is kept for callers that need only the start. */
    ck_assert_str_eq(buf, "765 422");
}
END_TEST

START_TEST(test_proc_read_fills_exactly_sized_buffer)
{
    char buf[23]; /* 22 bytes + NUL */

    ck_assert_int_eq(pm_proc_read(PM_PROC_DATA "statm", buf, sizeof buf), 22);
}
END_TEST

START_TEST(test_proc_pread_rereads_from_start)
{
    char a[256], b[256];
    pm_statm_t st;
    int fd = open("/proc/self/statm", O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(pm_proc_pread(fd, a, sizeof a), 0);
    ck_assert_int_gt(pm_proc_pread(fd, b, sizeof b), 0);
    ck_assert_int_eq(pm_proc_parse_statm(a, &st), 0);
    ck_assert_int_eq(pm_proc_parse_statm(b, &st), 0);
    ck_assert_uint_gt(st.resident_pages, 0);
    close(fd);
}
END_TEST

START_TEST(test_statm_parse_reads_captured_fixture)
{
    pm_statm_t st;

    ck_assert_int_eq(pm_proc_parse_statm(fixture("statm"), &st), 0);
    ck_assert_uint_eq(st.size_pages, 765);
    ck_assert_uint_eq(st.resident_pages, 422);
    ck_assert_uint_eq(st.shared_pages, 393);
}
END_TEST

START_TEST(test_statm_parse_accepts_three_fields)
{
    pm_statm_t st;

    ck_assert_int_eq(pm_proc_parse_statm("10 20 30", &st), 0);
    ck_assert_uint_eq(st.resident_pages, 20);
}
END_TEST

START_TEST(test_statm_parse_rejects_truncated)
{
    pm_statm_t st;

    ck_assert_int_eq(pm_proc_parse_statm(fixture("statm_truncated"), &st),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_statm("12 3", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_statm("12 3 ", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_statm("", &st), PM_EPARSE);
}
END_TEST

START_TEST(test_statm_parse_rejects_garbled)
{
    pm_statm_t st;

    ck_assert_int_eq(pm_proc_parse_statm(fixture("statm_garbled"), &st),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_statm("-1 2 3", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_statm(" 1 2 3", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_statm("1 +2 3", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_statm("1 2 3x", &st), PM_EPARSE);
}
END_TEST

START_TEST(test_statm_parse_rejects_overflow)
{
    pm_statm_t st;

    ck_assert_int_eq(
        pm_proc_parse_statm("1 18446744073709551616 3 0 0 0 0\n", &st),
        PM_EPARSE);
    ck_assert_int_eq(
        pm_proc_parse_statm("1 18446744073709551615 3 0 0 0 0\n", &st), 0);
    ck_assert_uint_eq(st.resident_pages, UINT64_MAX);
}
END_TEST

START_TEST(test_status_parse_reads_captured_fixture)
{
    pm_status_t st;

    ck_assert_int_eq(pm_proc_parse_status(fixture("status"), &st), 0);
    ck_assert_int_eq(st.has_rss, 1);
    ck_assert_int_eq(st.has_hwm, 1);
    ck_assert_int_eq(st.has_ppid, 1);
    ck_assert_uint_eq(st.vm_rss_kb, 1692);
    ck_assert_uint_eq(st.vm_hwm_kb, 1692);
    ck_assert_int_eq(st.ppid, 5929);
}
END_TEST

START_TEST(test_status_parse_kernel_thread_has_no_hwm)
{
    pm_status_t st;

    ck_assert_int_eq(pm_proc_parse_status(fixture("status_kthread"), &st), 0);
    ck_assert_int_eq(st.has_hwm, 0);
    ck_assert_int_eq(st.has_rss, 0);
    ck_assert_int_eq(st.has_ppid, 1);
    ck_assert_int_eq(st.ppid, 0);
}
END_TEST

START_TEST(test_status_parse_rejects_truncated)
{
    pm_status_t st;

    /* Cut inside the VmHWM number: no " kB" follows it. */
    ck_assert_int_eq(pm_proc_parse_status(fixture("status_truncated"), &st),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("VmHWM:\t  1692 k", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("PPid:\t", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("", &st), PM_EPARSE);
}
END_TEST

START_TEST(test_status_parse_rejects_garbled_hwm)
{
    pm_status_t st;

    ck_assert_int_eq(pm_proc_parse_status(fixture("status_garbled_hwm"), &st),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("VmHWM:   abc kB\n", &st),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("VmHWM:   -5 kB\n", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("VmHWM:   5 MB\n", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("VmRSS:   5 kB junk\n", &st),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("PPid:\t12x\n", &st), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_status("garbage without colon\n", &st),
                     PM_EPARSE);
}
END_TEST

START_TEST(test_status_parse_rejects_kb_that_overflow_bytes)
{
    pm_status_t st;

    ck_assert_int_eq(
        pm_proc_parse_status("VmHWM:\t18014398509481984 kB\n", &st),
        PM_EPARSE);
    ck_assert_int_eq(
        pm_proc_parse_status("VmHWM:\t18014398509481983 kB\n", &st), 0);
}
END_TEST

START_TEST(test_status_parse_without_hwm_line_succeeds)
{
    pm_status_t st;

    ck_assert_int_eq(
        pm_proc_parse_status("Name:\tx\nVmRSS:\t  12 kB\nPPid:\t7\n", &st), 0);
    ck_assert_int_eq(st.has_hwm, 0);
    ck_assert_int_eq(st.has_rss, 1);
    ck_assert_uint_eq(st.vm_rss_kb, 12);
    ck_assert_int_eq(st.ppid, 7);
}
END_TEST

START_TEST(test_status_parse_reads_live_self)
{
    pm_status_t st;

    ck_assert_int_gt(pm_proc_read("/proc/self/status", text, sizeof text), 0);
    ck_assert_int_eq(pm_proc_parse_status(text, &st), 0);
    ck_assert_int_eq(st.has_hwm, 1);
    ck_assert_int_eq(st.ppid, getppid());
    ck_assert_uint_ge(st.vm_hwm_kb, st.vm_rss_kb);
}
END_TEST

START_TEST(test_stat_ppid_reads_captured_fixture)
{
    pid_t ppid = -1;

    ck_assert_int_eq(pm_proc_parse_stat_ppid(fixture("stat"), &ppid), 0);
    ck_assert_int_eq(ppid, 5929);
}
END_TEST

START_TEST(test_stat_ppid_handles_comm_with_spaces_and_parens)
{
    pid_t ppid = -1;

    ck_assert_int_eq(
        pm_proc_parse_stat_ppid(fixture("stat_comm_parens"), &ppid), 0);
    ck_assert_int_eq(ppid, 17);
    ck_assert_int_eq(pm_proc_parse_stat_ppid("9 ()) S 3 0\n", &ppid), 0);
    ck_assert_int_eq(ppid, 3);
}
END_TEST

START_TEST(test_stat_ppid_rejects_truncated)
{
    pid_t ppid = -1;

    ck_assert_int_eq(pm_proc_parse_stat_ppid(fixture("stat_truncated"), &ppid),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_stat_ppid("4242 (cat) R 59", &ppid),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_stat_ppid("4242 (cat", &ppid), PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_stat_ppid("", &ppid), PM_EPARSE);
    ck_assert_int_eq(ppid, -1);
}
END_TEST

START_TEST(test_stat_ppid_rejects_garbled)
{
    pid_t ppid = -1;

    ck_assert_int_eq(pm_proc_parse_stat_ppid(fixture("stat_garbled"), &ppid),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_stat_ppid("x (cat) R 1 2\n", &ppid),
                     PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_stat_ppid("1 (cat) 7 1 2\n", &ppid),
                     PM_EPARSE);
    ck_assert_int_eq(
        pm_proc_parse_stat_ppid("1 (cat) R 99999999999 2\n", &ppid),
        PM_EPARSE);
    ck_assert_int_eq(ppid, -1);
}
END_TEST

START_TEST(test_stat_ppid_reads_live_self)
{
    pid_t ppid = -1;

    ck_assert_int_gt(pm_proc_read("/proc/self/stat", text, sizeof text), 0);
    ck_assert_int_eq(pm_proc_parse_stat_ppid(text, &ppid), 0);
    ck_assert_int_eq(ppid, getppid());
}
END_TEST

START_TEST(test_strerror_names_kernel_codes_and_errnos)
{
    ck_assert_str_eq(pm_strerror(PM_EPARSE),
                     "/proc text did not have the expected shape");
    ck_assert_str_eq(pm_strerror(PM_ENESTING), "probes ended out of order");
    ck_assert_str_eq(pm_strerror(-ENOENT), "No such file or directory");
    ck_assert_str_eq(pm_strerror(-999), "unknown error");
    ck_assert_str_eq(pm_strerror(-1050), "unknown error");
    ck_assert_str_eq(pm_strerror(0), "success");
}
END_TEST

START_TEST(test_method_name_matches_result_vocabulary)
{
    ck_assert_str_eq(pm_method_name(PM_METHOD_HWM), "hwm");
    ck_assert_str_eq(pm_method_name(PM_METHOD_SAMPLED), "sampled");
    ck_assert_str_eq(pm_method_name(PM_METHOD_HWM_SAMPLED), "hwm+sampled");
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"read", test_proc_read_returns_length_and_terminates},
        {"read", test_proc_read_reports_missing_file},
        {"read", test_proc_read_reports_file_larger_than_buffer},
        {"read", test_proc_read_fills_exactly_sized_buffer},
        {"read", test_proc_pread_rereads_from_start},
        {"statm", test_statm_parse_reads_captured_fixture},
        {"statm", test_statm_parse_accepts_three_fields},
        {"statm", test_statm_parse_rejects_truncated},
        {"statm", test_statm_parse_rejects_garbled},
        {"statm", test_statm_parse_rejects_overflow},
        {"status", test_status_parse_reads_captured_fixture},
        {"status", test_status_parse_kernel_thread_has_no_hwm},
        {"status", test_status_parse_rejects_truncated},
        {"status", test_status_parse_rejects_garbled_hwm},
        {"status", test_status_parse_rejects_kb_that_overflow_bytes},
        {"status", test_status_parse_without_hwm_line_succeeds},
        {"status", test_status_parse_reads_live_self},
        {"stat", test_stat_ppid_reads_captured_fixture},
        {"stat", test_stat_ppid_handles_comm_with_spaces_and_parens},
        {"stat", test_stat_ppid_rejects_truncated},
        {"stat", test_stat_ppid_rejects_garbled},
        {"stat", test_stat_ppid_reads_live_self},
        {"errors", test_strerror_names_kernel_codes_and_errnos},
        {"errors", test_method_name_matches_result_vocabulary},
    };

    return pm_check_main("proc", tests, PM_CHECK_COUNT(tests));
}
