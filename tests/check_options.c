/* Check tests for the magics' option parser (magics/options.c): the
 * memory_profiler-compatible forms, and clear messages for malformed
 * lines. */
#include "check_util.h"
#include "pm_magics.h"

#include <string.h>

/* an option without help: the parser reads only these fields */
#define OPT(s, l, v)                                                       \
    {.short_name = (s), .long_name = (l), .takes_value = (v)}

static const pm_optdef_t memit_defs[] = {
    OPT('r', NULL, 1),   OPT('t', NULL, 1),   OPT('i', NULL, 1),
    OPT('c', NULL, 0),   OPT('o', NULL, 0),   OPT('q', NULL, 0),
    OPT(0, "limit", 1),  OPT(0, "strict", 0),
    OPT('f', NULL, 1),   OPT('T', NULL, 1),
    OPT(0, "sites", PM_OPT_OPTIONAL_NUMBER), OPT(0, "dask", PM_OPT_OPTIONAL),
    OPT(0, NULL, 0),
};

static pm_opts_t opts;
static char err[256];

static int parse(const char *line)
{
    memset(err, 0, sizeof err);
    return pm_opts_parse(line, memit_defs, &opts, err, sizeof err);
}

START_TEST(test_options_attached_and_separate_values)
{
    ck_assert_int_eq(parse("-r3 -i 0.5 x = 1"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 'r', NULL), "3");
    ck_assert_str_eq(pm_opts_get(&opts, 'i', NULL), "0.5");
    ck_assert_str_eq(opts.rest, "x = 1");
}
END_TEST

START_TEST(test_options_optional_value_only_when_attached_or_address)
{
    ck_assert_int_eq(parse("--dask x = f()"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "dask"), "");
    ck_assert_str_eq(opts.rest, "x = f()");
    ck_assert_int_eq(parse("--dask tcp://10.0.0.5:8786 -c x = f()"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "dask"), "tcp://10.0.0.5:8786");
    ck_assert_str_eq(pm_opts_get(&opts, 'c', NULL), "");
    ck_assert_str_eq(opts.rest, "x = f()");
    ck_assert_int_eq(parse("--dask=sched:8786 y"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "dask"), "sched:8786");
    ck_assert_str_eq(opts.rest, "y");
    ck_assert_int_eq(parse("--dask"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "dask"), "");
    ck_assert_int_eq(parse("--dask= y"), PM_EUSAGE);
    ck_assert_str_eq(err, "option --dask= needs a value");
}
END_TEST

START_TEST(test_options_flags_cluster)
{
    ck_assert_int_eq(parse("-qoc pass"), 0);
    ck_assert_uint_eq(opts.n, 3);
    ck_assert_str_eq(pm_opts_get(&opts, 'q', NULL), "");
    ck_assert_str_eq(pm_opts_get(&opts, 'o', NULL), "");
    ck_assert_str_eq(pm_opts_get(&opts, 'c', NULL), "");
    ck_assert_ptr_null(pm_opts_get(&opts, 'r', NULL));
    ck_assert_str_eq(opts.rest, "pass");
}
END_TEST

START_TEST(test_options_cluster_ending_with_value)
{
    ck_assert_int_eq(parse("-qr5 y"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 'r', NULL), "5");
    ck_assert_str_eq(opts.rest, "y");
}
END_TEST

START_TEST(test_options_statement_spacing_kept)
{
    ck_assert_int_eq(parse("  -o   a  =  'x  y'  "), 0);
    ck_assert_str_eq(opts.rest, "a  =  'x  y'  ");
}
END_TEST

START_TEST(test_options_double_dash_ends_options)
{
    ck_assert_int_eq(parse("-q -- -1"), 0);
    ck_assert_str_eq(opts.rest, "-1");
}
END_TEST

START_TEST(test_options_long_forms)
{
    ck_assert_int_eq(parse("--limit=2GB --strict --limit 3GB z"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "limit"), "3GB");
    ck_assert_str_eq(pm_opts_get(&opts, 0, "strict"), "");
    ck_assert_str_eq(opts.rest, "z");
}
END_TEST

START_TEST(test_options_quoted_value)
{
    ck_assert_int_eq(parse("-T 'my file.txt' -f f f()"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 'T', NULL), "my file.txt");
    ck_assert_str_eq(opts.rest, "f()");
}
END_TEST

START_TEST(test_options_repeated_keeps_all_and_last_wins)
{
    ck_assert_int_eq(parse("-f a -f b c()"), 0);
    ck_assert_uint_eq(opts.n, 2);
    ck_assert_str_eq(opts.items[0].value, "a");
    ck_assert_str_eq(opts.items[1].value, "b");
    ck_assert_str_eq(pm_opts_get(&opts, 'f', NULL), "b");
}
END_TEST

START_TEST(test_options_empty_line)
{
    ck_assert_int_eq(parse("   "), 0);
    ck_assert_uint_eq(opts.n, 0);
    ck_assert_str_eq(opts.rest, "");
    ck_assert_int_eq(parse(NULL), 0);
    ck_assert_str_eq(opts.rest, "");
}
END_TEST

START_TEST(test_options_rejects_unknown_short)
{
    ck_assert_int_eq(parse("-x pass"), PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option -x");
    ck_assert_int_eq(parse("-qz pass"), PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option -z");
}
END_TEST

START_TEST(test_options_rejects_unknown_long)
{
    ck_assert_int_eq(parse("--bogus=1 pass"), PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option --bogus");
}
END_TEST

START_TEST(test_options_rejects_missing_value)
{
    ck_assert_int_eq(parse("-r"), PM_EUSAGE);
    ck_assert_str_eq(err, "option -r requires a value");
    ck_assert_int_eq(parse("-q -i   "), PM_EUSAGE);
    ck_assert_str_eq(err, "option -i requires a value");
    ck_assert_int_eq(parse("--limit"), PM_EUSAGE);
    ck_assert_str_eq(err, "option --limit requires a value");
    ck_assert_int_eq(parse("--limit= x"), PM_EUSAGE);
    ck_assert_str_eq(err, "option --limit requires a value");
}
END_TEST

START_TEST(test_options_rejects_value_on_flag)
{
    ck_assert_int_eq(parse("--strict=yes x"), PM_EUSAGE);
    ck_assert_str_eq(err, "option --strict takes no value");
}
END_TEST

START_TEST(test_options_rejects_unterminated_quote)
{
    ck_assert_int_eq(parse("-T 'abc x"), PM_EUSAGE);
    ck_assert_str_eq(err, "unterminated quote ' in options");
}
END_TEST

START_TEST(test_options_rejects_too_many)
{
    char line[400] = "";
    for (int i = 0; i < 40; i++) {
        strcat(line, "-q ");
    }
    strcat(line, "x");
    ck_assert_int_eq(parse(line), PM_EUSAGE);
    ck_assert_str_eq(err, "too many options");
}
END_TEST

START_TEST(test_options_rejects_overlong_values)
{
    static char line[PM_OPTS_BUF + 64];
    strcpy(line, "-T ");
    memset(line + 3, 'a', PM_OPTS_BUF + 10);
    line[PM_OPTS_BUF + 13] = '\0';
    ck_assert_int_eq(parse(line), PM_EUSAGE);
    ck_assert_str_eq(err, "options are too long");
}
END_TEST

START_TEST(test_parse_long_accepts_range)
{
    long v = 0;
    ck_assert_int_eq(pm_parse_long("7", 1, 10, "-r", &v, err, sizeof err), 0);
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_parse_long_rejects_garbage_and_range)
{
    long v = 0;
    static const char *bad[] = {"",  "x",  "3x",  " 3",
                                "0", "11", "1.5", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(
            pm_parse_long(bad[i], 1, 10, "-r", &v, err, sizeof err),
            PM_EUSAGE);
    }
    pm_parse_long("abc", 1, 10, "-r", &v, err, sizeof err);
    ck_assert_str_eq(err, "-r expects an integer from 1 to 10, got 'abc'");
}
END_TEST

START_TEST(test_parse_seconds)
{
    double v = 0;
    ck_assert_int_eq(pm_parse_seconds("0.25", 0, "-t", &v, err, sizeof err),
                     0);
    ck_assert_double_eq_tol(v, 0.25, 1e-12);
    ck_assert_int_eq(pm_parse_seconds("1e-3", 0, "-i", &v, err, sizeof err),
                     0);
    static const char *bad[] = {"", "-1", "nan", "inf", "1s", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(
            pm_parse_seconds(bad[i], 0, "-t", &v, err, sizeof err), PM_EUSAGE);
    }
    pm_parse_seconds("1s", 0, "-t", &v, err, sizeof err);
    ck_assert_str_eq(err, "-t expects a number of seconds >= 0, got '1s'");
}
END_TEST

START_TEST(test_parse_size_units)
{
    uint64_t v = 0;
    ck_assert_int_eq(pm_parse_size("500MiB", "--limit", &v, err, sizeof err),
                     0);
    ck_assert_uint_eq(v, 500u * 1048576u);
    ck_assert_int_eq(pm_parse_size("2GB", "--limit", &v, err, sizeof err), 0);
    ck_assert_uint_eq(v, 2000000000u);
    ck_assert_int_eq(pm_parse_size("1.5gib", "--limit", &v, err, sizeof err),
                     0);
    ck_assert_uint_eq(v, 1610612736u);
    ck_assert_int_eq(pm_parse_size("64M", "--limit", &v, err, sizeof err), 0);
    ck_assert_uint_eq(v, 64u * 1048576u);
    ck_assert_int_eq(pm_parse_size("4096B", "--limit", &v, err, sizeof err),
                     0);
    ck_assert_uint_eq(v, 4096u);
}
END_TEST

START_TEST(test_parse_size_rejects_bad)
{
    uint64_t v = 0;
    static const char *bad[] = {"",    "500",   "MiB",  "-1GB", "0MiB",
                                "1XB", "nanMB", " 5MB", "5 MB", "1e30TB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(pm_parse_size(bad[i], "--limit", &v, err, sizeof err),
                         PM_EUSAGE);
    }
    pm_parse_size("500", "--limit", &v, err, sizeof err);
    ck_assert_str_eq(err,
                     "--limit expects a size like 500MiB or 2GB, got '500'");
}
END_TEST

START_TEST(test_parse_sample_bytes)
{
    double v = -1;
    static const struct {
        const char *text;
        double want;
    } good[] = {{"0", 0},     {"1", 1},         {"16384", 16384},
                {"1e6 ", 1e6}, {"4096.5", 4096.5}, {"1099511627776", 0x1p40}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_int_eq(pm_parse_sample_bytes(good[i].text, &v, err,
                                               sizeof err),
                         0);
        ck_assert(v == good[i].want);
    }
    static const char *bad[] = {"",     "abc", "-5",   "1e309",
                                "inf",  "nan", "0x10", "0.5",
                                "2e12", " 5",  "5 x",  "1e-320"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        ck_assert_msg(pm_parse_sample_bytes(bad[i], &v, err, sizeof err) ==
                          PM_EUSAGE,
                      "accepted '%s'", bad[i]);
        ck_assert(v == 7);
    }
    pm_parse_sample_bytes("abc", &v, err, sizeof err);
    ck_assert_str_eq(err, "PEAKMEM_SITES_SAMPLE: expects a number of bytes "
                          "from 1 to 2**40, or 0 to track every allocation "
                          "exactly; got 'abc'");
}
END_TEST

/* Whether s is whole, valid UTF-8 (what Python needs to show a message). */
static int utf8_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    while (*u != 0) {
        size_t n = *u < 0x80 ? 1 : *u >= 0xf0 ? 4 : *u >= 0xe0 ? 3 : 2;
        if (*u >= 0x80 && *u < 0xc2) {
            return 0;
        }
        for (size_t k = 1; k < n; k++) {
            if ((u[k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        u += n;
    }
    return 1;
}

/* "%memit -ééééééééééé pass" gave an empty UsageError: the message showed
 * 20 bytes of the word, ending inside an é, and Python refused it. */
START_TEST(test_options_unknown_multibyte_option_names_whole_character)
{
    static char line[600];
    char small[18];
    long v;

    ck_assert_int_eq(parse("-\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                           "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 pass"),
                     PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option -\xc3\xa9");
    ck_assert_int_eq(parse("-q\xe2\x82\xac pass"), PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option -\xe2\x82\xac");
    /* control characters and broken UTF-8 are shown, not sent raw */
    ck_assert_int_eq(parse("-\x1b[2J pass"), PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option -\\x1b");
    ck_assert_int_eq(parse("-\xc3 pass"), PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option -\\xc3");
    /* a message longer than err is cut on a whole character */
    strcpy(line, "-r ");
    for (int i = 0; i < 200; i++) {
        strcat(line, "\xc3\xa9");
    }
    strcat(line, "x pass");
    ck_assert_int_eq(parse(line), 0);
    ck_assert_int_eq(pm_parse_long(pm_opts_get(&opts, 'r', NULL), 1, 10, "-r",
                                   &v, err, sizeof err),
                     PM_EUSAGE);
    ck_assert(utf8_ok(err));
    ck_assert_uint_ge(strlen(err), sizeof err - 2);
    ck_assert(strncmp(err, "-r expects an integer from 1 to 10, got '\xc3\xa9",
                      43) == 0);
    ck_assert_int_eq(
        pm_opts_parse("-\xc3\xa9", memit_defs, &opts, small, sizeof small),
        PM_EUSAGE);
    ck_assert_str_eq(small, "unknown option -");
}
END_TEST

/* "%memit -i 1e7 pass" reached the sampler, which refused it with
 * "RuntimeError: argument out of range". */
START_TEST(test_parse_interval_names_its_limits)
{
    double v = 0;

    ck_assert_int_eq(pm_parse_interval("0.5", "-i", &v, err, sizeof err), 0);
    ck_assert_double_eq(v, 0.5);
    ck_assert_int_eq(pm_parse_interval("1e6", "-i", &v, err, sizeof err), 0);
    ck_assert_double_eq(v, PM_SAMPLER_MAX_INTERVAL_S);
    ck_assert_int_eq(pm_parse_interval("1e7", "-i", &v, err, sizeof err),
                     PM_EUSAGE);
    ck_assert_str_eq(err, "-i expects at most 1000000 seconds, got '1e7'");
    ck_assert_int_eq(pm_parse_interval("0", "-i", &v, err, sizeof err),
                     PM_EUSAGE);
    ck_assert_str_eq(err, "-i expects a number of seconds > 0, got '0'");
    ck_assert_int_eq(pm_parse_interval("x", "-i", &v, err, sizeof err),
                     PM_EUSAGE);
    ck_assert_str_eq(err, "-i expects a number of seconds > 0, got 'x'");
}
END_TEST

/* --sites [N]: the number only when attached or a whole digit word. */
START_TEST(test_options_optional_number)
{
    ck_assert_int_eq(parse("--sites x = f()"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "sites"), "");
    ck_assert_str_eq(opts.rest, "x = f()");
    ck_assert_int_eq(parse("--sites 3 x = f()"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "sites"), "3");
    ck_assert_str_eq(opts.rest, "x = f()");
    ck_assert_int_eq(parse("--sites=12 -r 2 f()"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "sites"), "12");
    ck_assert_str_eq(pm_opts_get(&opts, 'r', NULL), "2");
    ck_assert_int_eq(parse("--sites 2**20"), 0); /* a statement */
    ck_assert_str_eq(pm_opts_get(&opts, 0, "sites"), "");
    ck_assert_str_eq(opts.rest, "2**20");
    ck_assert_int_eq(parse("--sites"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "sites"), "");
    ck_assert_int_eq(parse("--sites=5"), 0);
    ck_assert_str_eq(pm_opts_get(&opts, 0, "sites"), "5");
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"parse", test_options_attached_and_separate_values},
        {"parse", test_options_optional_number},
        {"parse", test_options_flags_cluster},
        {"parse", test_options_optional_value_only_when_attached_or_address},
        {"parse", test_options_cluster_ending_with_value},
        {"parse", test_options_statement_spacing_kept},
        {"parse", test_options_double_dash_ends_options},
        {"parse", test_options_long_forms},
        {"parse", test_options_quoted_value},
        {"parse", test_options_repeated_keeps_all_and_last_wins},
        {"parse", test_options_empty_line},
        {"parse", test_options_rejects_unknown_short},
        {"parse", test_options_rejects_unknown_long},
        {"parse", test_options_rejects_missing_value},
        {"parse", test_options_rejects_value_on_flag},
        {"parse", test_options_rejects_unterminated_quote},
        {"parse", test_options_rejects_too_many},
        {"parse", test_options_rejects_overlong_values},
        {"parse", test_parse_long_accepts_range},
        {"parse", test_parse_long_rejects_garbage_and_range},
        {"parse", test_parse_seconds},
        {"parse", test_parse_size_units},
        {"parse", test_parse_size_rejects_bad},
        {"parse", test_parse_sample_bytes},
        {"parse", test_options_unknown_multibyte_option_names_whole_character},
        {"parse", test_parse_interval_names_its_limits},
    };

    return pm_check_main("options", tests, PM_CHECK_COUNT(tests));
}
