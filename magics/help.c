/* The options of each magic in one table: the parser reads it
 * (pm_opts_parse), the magics' docstrings (%memit?, %mprun?) are made from
 * it, and so are README's usage blocks and option tables
 * (scripts/readme_help.py writes them; tests/test_help.py fails when
 * README is stale). Each option has its meaning (plain text; `code` in
 * backticks, shown as code in README and without them in the docstring)
 * and an example. */
#include "pm_magics.h"

#include <string.h>

#define DOC_WIDTH 76

/* clang-format off */
const pm_optdef_t pm_memit_options[] = {
    {'r', NULL, 1, "R",
     "run the statement exactly R times (never re-run behind your back) "
     "and report the highest peak (default 1)",
     "%memit -r 3 np.ones(2**24).sum()"},
    {'t', NULL, 1, "T",
     "stop the statement with `TimeoutError` after T seconds (floats "
     "allowed, at most 1e9); in the main thread blocking calls such as "
     "`time.sleep` are interrupted too; in another thread the error is "
     "raised at its next bytecode, after a blocking call returns",
     "%memit -t 2.5 train(model)"},
    {'i', NULL, 1, "I",
     "sampling interval in seconds for child processes (`-c`) and for the "
     "fallback sampler where the high-water mark cannot be reset "
     "(default 0.1)",
     "%memit -c -i 0.01 run_tool()"},
    {'c', NULL, 0, NULL,
     "include the memory of the kernel's child processes: the peak of the "
     "sum (the process tree from /proc, sampled every `-i` seconds, as "
     "memory_profiler) and each descendant's exact peak (its VmHWM) with "
     "their sum, an exact upper bound",
     "%memit -c subprocess.run([\"sort\", \"big.txt\"])"},
    {'o', NULL, 0, NULL,
     "return a `MemitResult` object (memory_profiler's attributes, and the "
     "exact peak in bytes)",
     "r = %memit -o x = load()"},
    {'q', NULL, 0, NULL,
     "quiet: show nothing, and no live line (use with `-o`)",
     "r = %memit -o -q x = load()"},
    {0, "limit", 1, "SIZE",
     "warn when the peak passes SIZE (`500MiB`, `2GB`, `1.5GiB`; KiB/MiB/GiB "
     "and K/M/G are powers of 1024, KB/MB/GB of 1000)",
     "%memit --limit 4GiB df = load()"},
    {0, "strict", 0, NULL,
     "with `--limit`: fail the cell with `peakmem.MemoryLimitError` (after "
     "showing the result)",
     "%memit --limit 4GiB --strict df = load()"},
    {0, "no-live", 0, NULL,
     "no live line while the statement runs (`PEAKMEM_LIVE=0` in the "
     "environment turns it off by default)",
     "%memit --no-live train()"},
    {0, "dask", PM_OPT_OPTIONAL, "ADDRESS",
     "also each Dask worker's and the scheduler's exact peak and increment "
     "(the current `distributed` Client, or the scheduler at ADDRESS, "
     "given as `--dask=ADDRESS`); `--limit` then applies per worker",
     "%memit --dask x.sum().compute()"},
    {0, "sites", PM_OPT_OPTIONAL_NUMBER, "N",
     "also track allocations while the statement runs (Python's allocators "
     "and NumPy's data buffers): show the most they held at once, the part "
     "of the RSS increment they do not explain (untracked), and the N sites "
     "(default 5) holding the most at that moment, each with its line",
     "%memit --sites 3 df = a.merge(b, on=\"key\")"},
    {0, NULL, 0, NULL, NULL, NULL},
};

const pm_optdef_t pm_mprun_options[] = {
    {'f', NULL, 1, "FUNC",
     "profile this function: any expression giving a function, a (bound) "
     "method, a class (its methods, static and class methods, "
     "properties) or a module (the functions defined in it); functions "
     "defined in notebook cells work. Repeatable.",
     "%mprun -f model.fit -f prep fit_all()"},
    {'T', NULL, 1, "FILE",
     "also write the table to FILE and print `*** Profile printout saved "
     "to text file FILE.`",
     "%mprun -T prof.txt -f f f()"},
    {'r', NULL, 0, NULL,
     "return an `MprunResult` (`str()` is the table; `_repr_html_()`, "
     "`to_json()`, `to_dict()`, `.statement`, `.message`, and "
     "memory_profiler's `.code_map`, which `peakmem.show_results` prints)",
     "res = %mprun -r -f f f()"},
    {'c', NULL, 0, NULL,
     "include child processes' memory (read at most every 100 ms)",
     "%mprun -c -f run run()"},
    {0, "peak", 0, NULL,
     "add a Peak column: the highest RSS while each line ran, from the "
     "high-water mark, so a line's temporary shows",
     "%mprun --peak -f f f()"},
    {0, NULL, 0, NULL, NULL, NULL},
};
/* clang-format on */

const pm_magic_help_t pm_memit_help = {
    .name = "memit",
    .summary = "Measure the peak memory and the increment of a statement.",
    .usage_line = "%memit [-r R] [-t T] [-i I] [-c] [-o] [-q] "
                  "[--limit SIZE [--strict]] [--no-live] [--dask[=ADDRESS]] "
                  "[--sites [N]] statement",
    .usage_cell = "%%memit [-r R] [-t T] [-i I] [-c] [-o] [-q] "
                  "[--limit SIZE [--strict]] [--no-live] [--dask[=ADDRESS]] "
                  "[--sites [N]] [setup]\n"
                  "<cell body: the code to measure>",
    .details = "In cell mode the magic's line is setup code (run, not "
               "measured) and the cell body is measured. The peak is "
               "exact: the kernel's high-water mark of the process's "
               "resident memory, reset before each run. Options follow "
               "IPython's conventions: -r3 or -r 3, flags combine (-qo), "
               "and -- ends the options.",
    .output = "peak memory: X MiB, increment: Y MiB (memory_profiler's "
              "line); in Jupyter also HTML and the JSON document "
              "(application/vnd.peakmem.memit+json).",
    .options = pm_memit_options,
};

const pm_magic_help_t pm_mprun_help = {
    .name = "mprun",
    .summary = "Line-by-line memory of chosen functions while a statement "
               "runs.",
    .usage_line = "%mprun -f FUNC [-f FUNC ...] [-T FILE] [-r] [-c] "
                  "[--peak] statement",
    .usage_cell = "%%mprun -f FUNC [-f FUNC ...] [-T FILE] [-r] [-c] "
                  "[--peak] [statement]\n"
                  "<more code: appended to the statement>",
    .details = "Columns: Mem usage (the highest RSS at the end of the line "
               "over its runs), Increment (the line's own change of RSS, "
               "summed over its runs), Occurrences (how many times it ran; "
               "lines that never ran have blank numbers).",
    .output = "memory_profiler's table (Filename, Line #, Mem usage, "
              "Increment, Occurrences, Line Contents); in Jupyter also "
              "HTML and the JSON document "
              "(application/vnd.peakmem.mprun+json).",
    .options = pm_mprun_options,
};

const pm_magic_help_t *pm_help_find(const char *name)
{
    static const pm_magic_help_t *const all[] = {&pm_memit_help,
                                                 &pm_mprun_help};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i]->name, name) == 0) {
            return all[i];
        }
    }
    return NULL;
}

void pm_help_label(const pm_optdef_t *def, char *buf, size_t len)
{
    if (def->long_name != NULL && def->takes_value == PM_OPT_OPTIONAL) {
        pm_fmt(buf, len, "--%s[=%s]", def->long_name, def->metavar);
    } else if (def->long_name != NULL &&
               def->takes_value == PM_OPT_OPTIONAL_NUMBER) {
        pm_fmt(buf, len, "--%s [%s]", def->long_name, def->metavar);
    } else if (def->long_name != NULL) {
        pm_fmt(buf, len, "--%s%s%s", def->long_name,
               def->metavar != NULL ? " " : "",
               def->metavar != NULL ? def->metavar : "");
    } else {
        pm_fmt(buf, len, "-%c%s%s", def->short_name,
               def->metavar != NULL ? " " : "",
               def->metavar != NULL ? def->metavar : "");
    }
}

/* text as words filled into lines of at most DOC_WIDTH columns (a longer
 * word gets a line of its own): the first starts at column first, the
 * others are indented by indent. The backticks that mark code for
 * Markdown are left out. */
static void fill(pm_strbuf_t *out, const char *text, size_t first,
                 size_t indent)
{
    size_t col = first;
    int line_empty = 1;

    while (*text != '\0') {
        size_t n = strcspn(text, " ");
        size_t ticks = 0;
        for (size_t i = 0; i < n; i++) {
            ticks += text[i] == '`';
        }
        if (n > ticks) {
            if (!line_empty && col + 1 + n - ticks > DOC_WIDTH) {
                pm_strbuf_putc(out, '\n');
                for (size_t i = 0; i < indent; i++) {
                    pm_strbuf_putc(out, ' ');
                }
                col = indent;
                line_empty = 1;
            }
            if (!line_empty) {
                pm_strbuf_putc(out, ' ');
                col++;
            }
            for (size_t i = 0; i < n; i++) {
                if (text[i] != '`') {
                    pm_strbuf_putc(out, text[i]);
                }
            }
            col += n - ticks;
            line_empty = 0;
        }
        text += n;
        text += strspn(text, " ");
    }
    pm_strbuf_putc(out, '\n');
}

/* Each line of text, indented by indent. */
static void indent_lines(pm_strbuf_t *out, const char *text, size_t indent)
{
    while (*text != '\0') {
        size_t n = strcspn(text, "\n");
        for (size_t i = 0; i < indent; i++) {
            pm_strbuf_putc(out, ' ');
        }
        pm_strbuf_append(out, text, n);
        pm_strbuf_putc(out, '\n');
        text += n;
        text += *text == '\n';
    }
}

char *pm_help_docstring(const pm_magic_help_t *h)
{
    pm_strbuf_t b;
    char label[64];

    pm_strbuf_init(&b);
    fill(&b, h->summary, 0, 0);
    pm_strbuf_puts(&b, "\nUsage, in line mode:\n");
    indent_lines(&b, h->usage_line, 2);
    pm_strbuf_puts(&b, "\nUsage, in cell mode:\n");
    indent_lines(&b, h->usage_cell, 2);
    pm_strbuf_putc(&b, '\n');
    fill(&b, h->details, 0, 0);
    pm_strbuf_puts(&b, "\nOptions:\n");
    for (const pm_optdef_t *d = h->options; d->help != NULL; d++) {
        pm_help_label(d, label, sizeof label);
        pm_strbuf_printf(&b, "%s: ", label);
        fill(&b, d->help, strlen(label) + 2, 4);
        pm_strbuf_printf(&b, "    Example: %s\n", d->example);
    }
    pm_strbuf_puts(&b, "\nOutput: ");
    fill(&b, h->output, 8, 4);
    return pm_strbuf_steal(&b);
}

char *pm_help_markdown_usage(const pm_magic_help_t *h)
{
    pm_strbuf_t b;

    pm_strbuf_init(&b);
    pm_strbuf_puts(&b, "```\n");
    indent_lines(&b, h->usage_line, 0);
    indent_lines(&b, h->usage_cell, 0);
    pm_strbuf_puts(&b, "```\n");
    return pm_strbuf_steal(&b);
}

/* text in a Markdown table cell: '|' escaped. */
static void cell(pm_strbuf_t *out, const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '|') {
            pm_strbuf_putc(out, '\\');
        }
        pm_strbuf_putc(out, *text);
    }
}

char *pm_help_markdown_options(const pm_magic_help_t *h)
{
    pm_strbuf_t b;
    char label[64];

    pm_strbuf_init(&b);
    pm_strbuf_puts(&b, "| option | meaning | example |\n"
                       "| --- | --- | --- |\n");
    for (const pm_optdef_t *d = h->options; d->help != NULL; d++) {
        pm_help_label(d, label, sizeof label);
        pm_strbuf_printf(&b, "| `%s` | ", label);
        cell(&b, d->help);
        pm_strbuf_puts(&b, " | `");
        cell(&b, d->example);
        pm_strbuf_puts(&b, "` |\n");
    }
    return pm_strbuf_steal(&b);
}
