/* Shared main() for the Check programs: runs one suite, writes a TAP log
 * when CK_TAP_LOG_FILE_NAME is set (the CI summary counts those), and
 * exits non-zero on any failure. */
#ifndef PM_CHECK_UTIL_H
#define PM_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>

static inline int pm_check_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
