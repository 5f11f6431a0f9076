/* Check tests for the statement name scan (magics/names.c): which words
 * of a statement %memit looks up in the namespace to show their values. */
#include "check_util.h"
#include "pm_magics.h"

#include <string.h>

static char got[256];

static int collect(const char *name, size_t len, void *ctx)
{
    (void)ctx;
    if (got[0] != '\0') {
        strcat(got, " ");
    }
    strncat(got, name, len);
    return 0;
}

/* The names scanned from statement, space-separated. */
static const char *scan(const char *statement)
{
    got[0] = '\0';
    ck_assert_int_eq(pm_names_scan(statement, collect, NULL), 0);
    return got;
}

START_TEST(test_names_reads_simple_names_in_order)
{
    ck_assert_str_eq(scan("np.ones(2**n).sum()"), "np n");
    ck_assert_str_eq(scan("x = make(rows, cols) + rows"),
                     "make rows cols rows");
    ck_assert_str_eq(scan("if a == b: pass"), "if a b pass");
}
END_TEST

START_TEST(test_names_skips_attributes_keywords_and_targets)
{
    ck_assert_str_eq(scan("df.groupby(key).agg(how=mode)"), "df key mode");
    ck_assert_str_eq(scan("total = a.b.c"), "a");
    ck_assert_str_eq(scan("f(x, size=n)"), "f x n");
}
END_TEST

START_TEST(test_names_skips_strings_comments_and_numbers)
{
    ck_assert_str_eq(scan("g('a b', \"c\") # d e"), "g");
    ck_assert_str_eq(scan("h('''x\ny''', z)"), "h z");
    ck_assert_str_eq(scan("k(1e5, 0x1f, .5e3, 10_000)"), "k");
    ck_assert_str_eq(scan("print(f\"{n}\", rb'x')"), "print");
    ck_assert_str_eq(scan("s = 'unterminated"), "");
}
END_TEST

START_TEST(test_names_leaves_out_non_ascii_identifiers)
{
    ck_assert_str_eq(scan("größe + n"), "n");
}
END_TEST

static int stop_at_second(const char *name, size_t len, void *ctx)
{
    int *seen = ctx;
    (void)name;
    (void)len;
    return ++*seen == 2 ? 7 : 0;
}

START_TEST(test_names_stops_at_callbacks_nonzero)
{
    int seen = 0;
    ck_assert_int_eq(pm_names_scan("a + b + c", stop_at_second, &seen), 7);
    ck_assert_int_eq(seen, 2);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"names", test_names_reads_simple_names_in_order},
        {"names", test_names_skips_attributes_keywords_and_targets},
        {"names", test_names_skips_strings_comments_and_numbers},
        {"names", test_names_leaves_out_non_ascii_identifiers},
        {"names", test_names_stops_at_callbacks_nonzero},
    };

    return pm_check_main("names", tests, PM_CHECK_COUNT(tests));
}
