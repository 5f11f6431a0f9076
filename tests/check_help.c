/* Check tests for magics/help.c: the magics' option tables, from which the
 * parser, the docstrings (%memit?) and README's tables come, are complete
 * (every option has its meaning and an example that uses it, the usage
 * lines name exactly the table's options), and the docstring and
 * Markdown forms are exact. */
#include "check_util.h"
#include "pm_magics.h"

#include <ctype.h>
#include <string.h>

static const pm_magic_help_t *const magics[] = {&pm_memit_help,
                                                &pm_mprun_help};

/* The option named by the token at s ("-r", "--limit"), or NULL. */
static const pm_optdef_t *option_of(const pm_optdef_t *defs, const char *s,
                                    size_t len)
{
    for (; defs->short_name != 0 || defs->long_name != NULL; defs++) {
        if (defs->long_name != NULL ? len == strlen(defs->long_name) + 2 &&
                                          strncmp(s + 2, defs->long_name,
                                                  len - 2) == 0
                                    : len == 2 && s[1] == defs->short_name) {
            return defs;
        }
    }
    return NULL;
}

/* Each "-x" / "--name" word of usage is an option of defs; returns how
 * many times each option of defs is named in seen[]. */
static void usage_options(const char *usage, const pm_optdef_t *defs,
                          int seen[32])
{
    const char *s = usage;
    while ((s = strchr(s, '-')) != NULL) {
        if (s > usage && !strchr(" [", s[-1])) {
            s++;
            continue;
        }
        size_t len = strspn(s, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO"
                               "PQRSTUVWXYZ");
        const pm_optdef_t *d = option_of(defs, s, len);
        ck_assert_msg(d != NULL, "usage names %.*s, not in the table",
                      (int)len, s);
        seen[d - defs]++;
        s += len;
    }
}

START_TEST(test_help_every_option_has_meaning_and_example_that_uses_it)
{
    for (size_t m = 0; m < 2; m++) {
        const pm_magic_help_t *h = magics[m];
        size_t n = 0;
        for (const pm_optdef_t *d = h->options;
             d->short_name != 0 || d->long_name != NULL; d++, n++) {
            char label[64], name[64];
            ck_assert_ptr_nonnull(d->help);
            ck_assert_ptr_nonnull(d->example);
            ck_assert_int_eq(d->takes_value != 0, d->metavar != NULL);
            pm_help_label(d, label, sizeof label);
            /* the example is a line of IPython input with the option */
            snprintf(name, sizeof name, "%%%s ", h->name);
            ck_assert_msg(strstr(d->example, name) != NULL, "%s: %s", label,
                          d->example);
            snprintf(name, sizeof name, " %.*s", (int)strcspn(label, " ["),
                     label);
            ck_assert_msg(strstr(d->example, name) != NULL, "%s: %s", label,
                          d->example);
            /* and the magic's parser takes it, a statement left to run */
            static pm_opts_t opts;
            char err[256];
            snprintf(name, sizeof name, "%%%s ", h->name);
            const char *line = strstr(d->example, name) + strlen(name);
            ck_assert_msg(pm_opts_parse(line, h->options, &opts, err,
                                        sizeof err) == 0,
                          "%s: %s", d->example, err);
            ck_assert_ptr_nonnull(
                pm_opts_get(&opts, d->short_name, d->long_name));
            ck_assert_str_ne(opts.rest, "");
        }
        ck_assert_uint_gt(n, 4);
        /* the terminator is all zero: help stops where the parser does */
        ck_assert_ptr_null(h->options[n].help);
    }
}
END_TEST

START_TEST(test_help_usage_lines_name_exactly_the_tables_options)
{
    for (size_t m = 0; m < 2; m++) {
        const pm_magic_help_t *h = magics[m];
        int line[32] = {0}, cell[32] = {0};
        usage_options(h->usage_line, h->options, line);
        usage_options(h->usage_cell, h->options, cell);
        for (size_t i = 0; h->options[i].help != NULL; i++) {
            ck_assert_msg(line[i] >= 1 && cell[i] >= 1,
                          "%%%s usage lacks option %zu", h->name, i);
        }
    }
}
END_TEST

START_TEST(test_help_tables_drive_the_parser)
{
    static pm_opts_t opts;
    char err[256];

    ck_assert_int_eq(pm_opts_parse("-r3 -qo --limit=2GB --strict --no-live "
                                   "x = 1",
                                   pm_memit_options, &opts, err, sizeof err),
                     0);
    ck_assert_str_eq(pm_opts_get(&opts, 'r', NULL), "3");
    ck_assert_str_eq(pm_opts_get(&opts, 0, "limit"), "2GB");
    ck_assert_str_eq(opts.rest, "x = 1");
    ck_assert_int_eq(pm_opts_parse("-f f -f g -T out.txt -rc --peak f()",
                                   pm_mprun_options, &opts, err, sizeof err),
                     0);
    ck_assert_uint_eq(opts.n, 6);
    ck_assert_int_eq(pm_opts_parse("--peek f()", pm_mprun_options, &opts, err,
                                   sizeof err),
                     PM_EUSAGE);
    ck_assert_str_eq(err, "unknown option --peek");
}
END_TEST

static const pm_optdef_t demo_options[] = {
    {'n', NULL, 1, "N",
     "how many times: a long meaning that has to be filled over more than "
     "one line of the docstring | with a bar",
     "%demo -n 2 x"},
    {0, "fast", 0, NULL, "go `fast` (`-O`)", "%demo --fast x"},
    {0, NULL, 0, NULL, NULL, NULL},
};

static const pm_magic_help_t demo = {
    .name = "demo",
    .summary = "Do it.",
    .usage_line = "%demo [-n N] [--fast] statement",
    .usage_cell = "%%demo [-n N] [--fast]\n<cell body>",
    .details = "Details.",
    .output = "a line.",
    .options = demo_options,
};

START_TEST(test_help_docstring_is_filled_with_examples)
{
    char *doc = pm_help_docstring(&demo);
    ck_assert_str_eq(
        doc,
        "Do it.\n"
        "\n"
        "Usage, in line mode:\n"
        "  %demo [-n N] [--fast] statement\n"
        "\n"
        "Usage, in cell mode:\n"
        "  %%demo [-n N] [--fast]\n"
        "  <cell body>\n"
        "\n"
        "Details.\n"
        "\n"
        "Options:\n"
        "-n N: how many times: a long meaning that has to be filled over "
        "more than\n"
        "    one line of the docstring | with a bar\n"
        "    Example: %demo -n 2 x\n"
        "--fast: go fast (-O)\n"
        "    Example: %demo --fast x\n"
        "\n"
        "Output: a line.\n");
    free(doc);
    /* the real ones fit in 76 columns too */
    for (size_t m = 0; m < 2; m++) {
        doc = pm_help_docstring(magics[m]);
        for (const char *s = doc; *s != '\0';) {
            size_t n = strcspn(s, "\n");
            /* a usage line is shown whole */
            if (strncmp(s, "  %", 3) != 0) {
                ck_assert_msg(n <= 76, "%.*s", (int)n, s);
            }
            s += n + (s[n] == '\n');
        }
        free(doc);
    }
}
END_TEST

START_TEST(test_help_markdown_usage_and_table)
{
    char *usage = pm_help_markdown_usage(&demo);
    char *table = pm_help_markdown_options(&demo);
    ck_assert_str_eq(usage, "```\n"
                            "%demo [-n N] [--fast] statement\n"
                            "%%demo [-n N] [--fast]\n"
                            "<cell body>\n"
                            "```\n");
    ck_assert_str_eq(table,
                     "| option | meaning | example |\n"
                     "| --- | --- | --- |\n"
                     "| `-n N` | how many times: a long meaning that has to "
                     "be filled over more than one line of the docstring "
                     "\\| with a bar | `%demo -n 2 x` |\n"
                     "| `--fast` | go `fast` (`-O`) | `%demo --fast x` |\n");
    free(usage);
    free(table);
    ck_assert_ptr_eq(pm_help_find("memit"), &pm_memit_help);
    ck_assert_ptr_eq(pm_help_find("mprun"), &pm_mprun_help);
    ck_assert_ptr_null(pm_help_find("timeit"));
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"help", test_help_every_option_has_meaning_and_example_that_uses_it},
        {"help", test_help_usage_lines_name_exactly_the_tables_options},
        {"help", test_help_tables_drive_the_parser},
        {"help", test_help_docstring_is_filled_with_examples},
        {"help", test_help_markdown_usage_and_table},
    };

    return pm_check_main("help", tests, PM_CHECK_COUNT(tests));
}
