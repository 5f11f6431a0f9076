/* Check tests for the cgroup memory limit parsers (kernel/cgroup.c), on
 * captured /proc/self/cgroup texts of v1, v2 and hybrid systems. */
#include "check_util.h"
#include "pm_kernel.h"

#include <errno.h>

static const char *hybrid =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/ede6929\n"
    "3:cpuset:/\n1:cpu:/\n0::/\n";
static const char *v2 = "0::/user.slice/user-1000.slice/session-3.scope\n";
static const char *v1_joined = "5:cpu,memory:/batch/job7\n2:pids:/\n";

START_TEST(test_cgroup_path_v1_memory_in_hybrid)
{
    char path[256];
    ck_assert_int_eq(
        pm_proc_parse_cgroup_path(hybrid, "memory", path, sizeof path), 0);
    ck_assert_str_eq(path, "/process_api/ede6929");
    ck_assert_int_eq(pm_proc_parse_cgroup_path(hybrid, "", path, sizeof path),
                     0);
    ck_assert_str_eq(path, "/");
}
END_TEST

START_TEST(test_cgroup_path_v2_only)
{
    char path[256];
    ck_assert_int_eq(pm_proc_parse_cgroup_path(v2, "", path, sizeof path), 0);
    ck_assert_str_eq(path, "/user.slice/user-1000.slice/session-3.scope");
    ck_assert_int_eq(
        pm_proc_parse_cgroup_path(v2, "memory", path, sizeof path), -ENOENT);
}
END_TEST

START_TEST(test_cgroup_path_controller_in_list)
{
    char path[256];
    ck_assert_int_eq(
        pm_proc_parse_cgroup_path(v1_joined, "memory", path, sizeof path), 0);
    ck_assert_str_eq(path, "/batch/job7");
    ck_assert_int_eq(
        pm_proc_parse_cgroup_path(v1_joined, "mem", path, sizeof path),
        -ENOENT);
}
END_TEST

START_TEST(test_cgroup_path_rejects_garbled_and_long)
{
    char path[8];
    ck_assert_int_eq(
        pm_proc_parse_cgroup_path("garbage\n", "", path, sizeof path),
        PM_EPARSE);
    ck_assert_int_eq(
        pm_proc_parse_cgroup_path("0::relative\n", "", path, sizeof path),
        PM_EPARSE);
    ck_assert_int_eq(pm_proc_parse_cgroup_path(v2, "", path, sizeof path),
                     PM_EPARSE);
}
END_TEST

START_TEST(test_memory_max_values)
{
    uint64_t b = 1;
    ck_assert_int_eq(pm_parse_memory_max("max\n", &b), 0);
    ck_assert_uint_eq(b, 0);
    ck_assert_int_eq(pm_parse_memory_max("1073741824\n", &b), 0);
    ck_assert_uint_eq(b, 1073741824u);
    ck_assert_int_eq(pm_parse_memory_max("9223372036854771712\n", &b), 0);
    ck_assert_uint_eq(b, 0);
    ck_assert_int_eq(pm_parse_memory_max("", &b), PM_EPARSE);
    ck_assert_int_eq(pm_parse_memory_max("12kB\n", &b), PM_EPARSE);
    ck_assert_int_eq(pm_parse_memory_max("maxi", &b), PM_EPARSE);
}
END_TEST

START_TEST(test_cgroup_memory_max_reads_this_process)
{
    uint64_t b = 1;
    int rc = pm_cgroup_memory_max(&b);
    /* A machine without cgroups answers -ENOENT; otherwise a value. */
    ck_assert(rc == 0 || rc == -ENOENT);
    if (rc != 0) {
        ck_assert_uint_eq(b, 0);
    }
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"parse", test_cgroup_path_v1_memory_in_hybrid},
        {"parse", test_cgroup_path_v2_only},
        {"parse", test_cgroup_path_controller_in_list},
        {"parse", test_cgroup_path_rejects_garbled_and_long},
        {"parse", test_memory_max_values},
        {"parse", test_cgroup_memory_max_reads_this_process},
    };

    return pm_check_main("cgroup", tests, PM_CHECK_COUNT(tests));
}
