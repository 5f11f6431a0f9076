/* Check tests for the one message chain (magics/errors.c): each layer's
 * codes get their own layer's message, through one function, and no
 * layer describes the codes of another. */
#include "check_util.h"
#include "pm_magics.h"

START_TEST(test_errors_chain_asks_each_layer)
{
    ck_assert_str_eq(pm_magics_strerror(PM_EUSAGE), "invalid usage");
    ck_assert_str_eq(pm_magics_strerror(PM_EBADMSG),
                     pm_protocol_strerror(PM_EBADMSG));
    ck_assert_str_eq(pm_magics_strerror(PM_ETIMEDOUT_PUB),
                     "message not delivered to IOPub in time");
    ck_assert_str_eq(pm_magics_strerror(PM_ERANGE), "argument out of range");
    ck_assert_str_eq(pm_magics_strerror(-ENOENT),
                     "No such file or directory");
    ck_assert_str_eq(pm_magics_strerror(0), "success");
    ck_assert_str_eq(pm_magics_strerror(-1299), "unknown error");
}
END_TEST

START_TEST(test_errors_kernel_does_not_describe_layers_above)
{
    /* The kernel's own strerror knows nothing of protocol or magics
     * codes; only the chain does. */
    ck_assert_str_eq(pm_strerror(PM_EZMQ), "unknown error");
    ck_assert_str_eq(pm_strerror(PM_EUSAGE), "unknown error");
    ck_assert_str_eq(pm_magics_strerror(PM_EZMQ), "ZeroMQ call failed");
}
END_TEST

START_TEST(test_errors_errno_range)
{
    ck_assert_int_eq(pm_is_errno(-ENOENT), 1);
    ck_assert_int_eq(pm_is_errno(-999), 1);
    ck_assert_int_eq(pm_is_errno(0), 0);
    ck_assert_int_eq(pm_is_errno(PM_EPARSE), 0);
    ck_assert_int_eq(pm_is_errno(PM_EZMQ), 0);
    ck_assert_int_eq(pm_is_errno(PM_EUSAGE), 0);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("chain");
    tcase_add_test(tc, test_errors_chain_asks_each_layer);
    tcase_add_test(tc, test_errors_kernel_does_not_describe_layers_above);
    tcase_add_test(tc, test_errors_errno_range);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pm_check_run(errors_suite());
}
