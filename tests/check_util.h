/* Shared helpers of the Check programs: one main() that runs a suite and
 * writes the TAP log the CI summary counts (tests/summarize.py), with
 * skipped tests marked "# SKIP"; memory touched so that only the test's
 * own pages move RSS (never the sanitizer's shadow); and a decimal-comma
 * locale the test builds itself. */
#ifndef PM_CHECK_UTIL_H
#define PM_CHECK_UTIL_H

#include "pm_kernel.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- skips ------------------------------------------------------------
 * Check has no skip result: a skipping test appends "name\treason" to a
 * file that pm_check_run() names before the run (tests run in forked
 * children) and returns; pm_check_run() then rewrites that test's TAP
 * line to "ok N - name # SKIP reason", which the summary counts as
 * skipped, not passed. */

static char pm_check_skip_file[64];

/* Record that the running test is skipped. func is __func__ of the test
 * body ("test_x_fn" under START_TEST). Prints the reason on stderr. */
__attribute__((unused)) static void pm_check_skip_at(const char *func,
                                                     const char *reason)
{
    size_t n = strlen(func);

    if (n > 3 && strcmp(func + n - 3, "_fn") == 0) {
        n -= 3;
    }
    fprintf(stderr, "SKIP %.*s: %s\n", (int)n, func, reason);
    if (pm_check_skip_file[0] != '\0') {
        FILE *f = fopen(pm_check_skip_file, "a");
        if (f != NULL) {
            fprintf(f, "%.*s\t%s\n", (int)n, func, reason);
            fclose(f);
        }
    }
}

/* Skip the running test (the caller returns next). */
#define PM_CHECK_SKIP(reason) pm_check_skip_at(__func__, (reason))

/* A skip of a core path (exact peak through clear_refs, the C locale of
 * every number): under CI=true it fails the test instead. */
#define PM_CHECK_SKIP_CORE(reason)                                            \
    do {                                                                      \
        const char *ci_ = getenv("CI");                                       \
        ck_assert_msg(ci_ == NULL || strcmp(ci_, "true") != 0,                \
                      "core test cannot run under CI: %s", (reason));         \
        pm_check_skip_at(__func__, (reason));                                 \
    } while (0)

/* Whether "5" can be written to /proc/self/clear_refs (the exact-peak
 * reset); errno text in why when not. */
__attribute__((unused)) static int pm_check_have_clear_refs(char *why,
                                                            size_t len)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int ok = fd >= 0 && write(fd, "5", 1) == 1;
    int err = errno;

    if (fd >= 0) {
        close(fd);
    }
    if (!ok) {
        snprintf(why, len, "clear_refs refused (%s): no exact peak here",
                 strerror(err));
    }
    return ok;
}

/* In a test body: skip (fail under CI) when clear_refs is refused. */
#define PM_CHECK_NEED_CLEAR_REFS()                                            \
    do {                                                                      \
        char why_[128];                                                       \
        if (!pm_check_have_clear_refs(why_, sizeof why_)) {                   \
            PM_CHECK_SKIP_CORE(why_);                                         \
            return;                                                           \
        }                                                                     \
    } while (0)

/* Rewrite the TAP log: each line of a skipped test gets "# SKIP". */
static void pm_check_mark_skips(const char *tap)
{
    FILE *in = fopen(tap, "r"), *skips = fopen(pm_check_skip_file, "r");
    char *out = NULL, line[1024], skip[1024];
    size_t outlen = 0;
    FILE *o;

    if (in == NULL || skips == NULL ||
        (o = open_memstream(&out, &outlen)) == NULL) {
        goto done;
    }
    while (fgets(line, sizeof line, in) != NULL) {
        const char *reason = NULL;
        char key[sizeof skip + 2];

        rewind(skips);
        while (reason == NULL && fgets(skip, sizeof skip, skips) != NULL) {
            char *tab = strchr(skip, '\t');
            if (tab == NULL) {
                continue;
            }
            *tab = '\0';
            snprintf(key, sizeof key, ":%s:", skip);
            if (strncmp(line, "ok ", 3) == 0 && strstr(line, key) != NULL) {
                reason = tab + 1;
                tab[1 + strcspn(tab + 1, "\n")] = '\0';
            }
        }
        if (reason != NULL) {
            line[strcspn(line, "\n")] = '\0';
            fprintf(o, "%s # SKIP %s\n", line, reason);
        } else {
            fputs(line, o);
        }
    }
    fclose(o);
    fclose(in);
    in = fopen(tap, "w");
    if (in != NULL) {
        fputs(out, in);
    }
done:
    if (in != NULL) {
        fclose(in);
    }
    if (skips != NULL) {
        fclose(skips);
    }
    free(out);
}

static inline int pm_check_run(Suite *suite)
{
    const char *tap = getenv("CK_TAP_LOG_FILE_NAME");
    int fd;

    snprintf(pm_check_skip_file, sizeof pm_check_skip_file,
             "/tmp/pm-check-skips-XXXXXX");
    fd = mkstemp(pm_check_skip_file);
    if (fd < 0) {
        pm_check_skip_file[0] = '\0';
    } else {
        close(fd);
    }
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    if (pm_check_skip_file[0] != '\0') {
        if (tap != NULL && tap[0] != '\0') {
            pm_check_mark_skips(tap);
        }
        unlink(pm_check_skip_file);
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* One test of a Check program: the name of its TCase and the test
 * (START_TEST's name). */
typedef struct {
    const char *tcase;
    const TTest *test;
} pm_check_test_t;

/* What a TCase needs beyond its tests: a timeout (seconds, 0 for Check's
 * default) and a checked fixture (NULL for none). */
typedef struct {
    const char *tcase;
    int timeout_s;
    SFun setup, teardown;
} pm_check_tcase_t;

#define PM_CHECK_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* The suite name: a TCase per tcase name, in the order the names first
 * appear, each with its tests in table order and what tcases (ntcases
 * entries, may be NULL) says of it. */
__attribute__((unused)) static Suite *
pm_check_suite(const char *name, const pm_check_test_t *tests, size_t n,
               const pm_check_tcase_t *tcases, size_t ntcases)
{
    Suite *suite = suite_create(name);

    for (size_t i = 0; i < n; i++) {
        size_t first = 0;

        while (strcmp(tests[first].tcase, tests[i].tcase) != 0) {
            first++;
        }
        if (first < i) {
            continue; /* that TCase was made with its first test */
        }
        TCase *tc = tcase_create(tests[i].tcase);
        for (size_t k = 0; k < ntcases; k++) {
            if (strcmp(tcases[k].tcase, tests[i].tcase) != 0) {
                continue;
            }
            if (tcases[k].setup != NULL || tcases[k].teardown != NULL) {
                tcase_add_checked_fixture(tc, tcases[k].setup,
                                          tcases[k].teardown);
            }
            if (tcases[k].timeout_s > 0) {
                tcase_set_timeout(tc, tcases[k].timeout_s);
            }
        }
        for (size_t j = i; j < n; j++) {
            if (strcmp(tests[j].tcase, tests[i].tcase) == 0) {
                tcase_add_test(tc, tests[j].test);
            }
        }
        suite_add_tcase(suite, tc);
    }
    return suite;
}

/* main() of a Check program: run the suite of these tests. */
__attribute__((unused)) static int
pm_check_main(const char *name, const pm_check_test_t *tests, size_t n)
{
    return pm_check_run(pm_check_suite(name, tests, n, NULL, 0));
}

/* ---- memory the test itself touches -----------------------------------
 * A test of exact byte counts must see only the pages it writes. memset
 * under AddressSanitizer first reads the shadow of the whole range (n / 8
 * bytes): fresh shadow pages, which hosts that commit a page on a read
 * fault count in RSS (72 MiB for a 64 MiB block). So the touch is a plain
 * store loop the sanitizer does not instrument, one byte per page, and
 * the block is kept out of transparent huge pages. */

/* Write v to one byte of every page of [p, p + n) and to its last byte.
 * Not instrumented: reads no shadow memory. */
__attribute__((unused, noinline, no_sanitize("address"))) static void
pm_check_touch(void *p, size_t n, unsigned char v)
{
    volatile unsigned char *q = p;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    for (size_t i = 0; i < n; i += page) {
        q[i] = v;
    }
    if (n > 0) {
        q[n - 1] = v;
    }
}

/* mmap n bytes (no allocator adds or keeps pages) and touch them all.
 * The caller munmaps. */
__attribute__((unused)) static void *pm_check_map_touch(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    ck_assert_ptr_ne(p, MAP_FAILED);
#ifdef MADV_NOHUGEPAGE
    (void)madvise(p, n, MADV_NOHUGEPAGE);
#endif
    pm_check_touch(p, n, 0x5a);
    return p;
}

/* ---- figures and time ------------------------------------------------ */

/* bytes in MiB, for messages and tolerances. */
__attribute__((unused)) static double pm_check_mib(double bytes)
{
    return bytes / (double)PM_MIB;
}

/* Sleep us microseconds, resumed after a signal. */
__attribute__((unused)) static void pm_check_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

__attribute__((unused)) static void pm_check_sleep_ms(int ms)
{
    pm_check_sleep_us((long)ms * 1000);
}

/* mmap and touch n_mib MiB, hold it hold_ms, unmap it: an RSS spike. */
__attribute__((unused)) static void pm_check_spike(size_t n_mib, int hold_ms)
{
    size_t n = n_mib * PM_MIB;
    void *p = pm_check_map_touch(n);

    if (hold_ms > 0) {
        pm_check_sleep_ms(hold_ms);
    }
    ck_assert_int_eq(munmap(p, n), 0);
}

/* ---- temporary directories ---------------------------------------------*/

static int pm_check_rm_one(const char *path, const struct stat *st, int flag,
                           struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

/* rm -rf path (symlinks removed, never followed); 0 or -1. */
__attribute__((unused)) static int pm_check_rmtree(const char *path)
{
    return nftw(path, pm_check_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- a decimal-comma locale -------------------------------------------
 * Made by the test: `localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8`, then
 * LOCPATH=DIR (glibc reads it at each setlocale). An installed de_DE is
 * used when there is one. DIR is $PM_CHECK_LOCALE_DIR (tests/meson.build:
 * in the build tree, built once and renamed into place, so parallel
 * programs share it), else a temporary directory removed after. */

static char pm_check_locale_dir[64];

/* Build de_DE.UTF-8 into dir/de_DE.UTF-8 unless it is there. */
static void pm_check_build_locale(const char *dir)
{
    char cmd[1024], path[512], tmp[512];

    snprintf(path, sizeof path, "%s/de_DE.UTF-8/LC_NUMERIC", dir);
    if (access(path, R_OK) == 0) {
        return;
    }
    (void)mkdir(dir, 0755);
    snprintf(tmp, sizeof tmp, "%s/build-XXXXXX", dir);
    if (mkdtemp(tmp) == NULL) {
        return;
    }
    snprintf(cmd, sizeof cmd,
             "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
             tmp);
    if (system(cmd) != -1) {
        char from[600], to[600];
        snprintf(from, sizeof from, "%s/de_DE.UTF-8", tmp);
        snprintf(to, sizeof to, "%s/de_DE.UTF-8", dir);
        (void)rename(from, to); /* another program may have won: fine */
    }
    if (pm_check_rmtree(tmp) != 0) {
        fprintf(stderr, "could not remove %s\n", tmp);
    }
}

/* Remove the locale pm_check_comma_locale() built, if any. */
__attribute__((unused)) static void pm_check_comma_locale_done(void)
{
    setlocale(LC_ALL, "C");
    if (pm_check_locale_dir[0] != '\0') {
        if (pm_check_rmtree(pm_check_locale_dir) != 0) {
            fprintf(stderr, "could not remove %s\n", pm_check_locale_dir);
        }
        pm_check_locale_dir[0] = '\0';
    }
    unsetenv("LOCPATH");
}

/* Set LC_ALL to de_DE.UTF-8, building it first when not installed.
 * Returns 1 with localeconv()->decimal_point "," or 0 when no such
 * locale can be had (localedef or the locale sources missing: Debian's
 * package `locales`). Call pm_check_comma_locale_done() after. */
__attribute__((unused)) static int pm_check_comma_locale(void)
{
    const char *dir = getenv("PM_CHECK_LOCALE_DIR");

    if (setlocale(LC_ALL, "de_DE.UTF-8") == NULL) {
        if (dir == NULL || dir[0] == '\0') {
            snprintf(pm_check_locale_dir, sizeof pm_check_locale_dir,
                     "/tmp/pm-locale-XXXXXX");
            if (mkdtemp(pm_check_locale_dir) == NULL) {
                pm_check_locale_dir[0] = '\0';
                return 0;
            }
            dir = pm_check_locale_dir;
        }
        pm_check_build_locale(dir);
        setenv("LOCPATH", dir, 1);
        if (setlocale(LC_ALL, "de_DE.UTF-8") == NULL) {
            return 0;
        }
    }
    return strcmp(localeconv()->decimal_point, ",") == 0;
}

/* In a test body: switch to the decimal-comma locale or skip (fail
 * under CI) and return. */
#define PM_CHECK_NEED_COMMA_LOCALE()                                          \
    do {                                                                      \
        if (!pm_check_comma_locale()) {                                       \
            pm_check_comma_locale_done();                                     \
            PM_CHECK_SKIP_CORE("no de_DE locale: localedef or Debian's "      \
                               "package 'locales' missing");                  \
            return;                                                           \
        }                                                                     \
    } while (0)

#endif
