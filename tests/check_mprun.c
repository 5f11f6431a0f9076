/* Check tests for a %mprun line profile's three forms: the text must match
 * memory_profiler 0.61's show_results byte for byte (golden outputs from
 * tests/gen_mprun_golden.py), the HTML must escape source and mark heavy
 * lines, and the "peakmem.mprun" document must hold every documented
 * field (protocol/SCHEMA.md). */
#include "check_util.h"
#include "pm_kernel.h"
#include "pm_protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN "tests/data/protocol/mprun_golden.json"

static json_t *load_golden(void)
{
    json_error_t err;
    json_t *doc = json_load_file(GOLDEN, 0, &err);

    ck_assert_msg(doc != NULL, "%s:%d: %s", GOLDEN, err.line, err.text);
    return doc;
}

static json_int_t int_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

static const char *str_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

/* Render one golden case; the profile borrows strings from it. */
static char *render_golden_case(json_t *c)
{
    json_t *jblocks = json_object_get(c, "blocks");
    size_t nblocks = json_array_size(jblocks);
    pm_mprun_block_t *blocks = calloc(nblocks + 1, sizeof(*blocks));
    pm_mprun_line_t **lines = calloc(nblocks + 1, sizeof(*lines));
    char *text;

    ck_assert_ptr_nonnull(blocks);
    ck_assert_ptr_nonnull(lines);
    for (size_t i = 0; i < nblocks; i++) {
        json_t *jb = json_array_get(jblocks, i);
        json_t *jlines = json_object_get(jb, "lines");
        size_t n = json_array_size(jlines);

        lines[i] = calloc(n + 1, sizeof(**lines));
        ck_assert_ptr_nonnull(lines[i]);
        for (size_t j = 0; j < n; j++) {
            json_t *jl = json_array_get(jlines, j);
            lines[i][j] = (pm_mprun_line_t){
                .lineno = (int)int_at(jl, "lineno"),
                .source = str_at(jl, "source"),
                .occurrences = (uint64_t)int_at(jl, "occurrences"),
                .mem_bytes = (uint64_t)int_at(jl, "mem_bytes"),
                .increment_bytes = int_at(jl, "increment_bytes"),
            };
        }
        blocks[i] = (pm_mprun_block_t){
            .filename = str_at(jb, "filename"),
            .function = str_at(jb, "function"),
            .first_line = (int)int_at(jb, "first_line"),
            .nlines = n,
            .lines = lines[i],
        };
    }
    pm_mprun_t m = {
        .statement = "run()",
        .precision = (int)int_at(c, "precision"),
        .message = "*** KeyboardInterrupt exception caught in code being "
                   "profiled.",
        .nblocks = nblocks,
        .blocks = blocks,
    };
    text = pm_mprun_render_text(&m);
    for (size_t i = 0; i < nblocks; i++) {
        free(lines[i]);
    }
    free(lines);
    free(blocks);
    return text;
}

START_TEST(test_mprun_text_matches_memory_profiler_golden)
{
    json_t *doc = load_golden();
    json_t *cases = json_object_get(doc, "cases");
    json_t *c;
    size_t i;

    ck_assert_uint_ge(json_array_size(cases), 9);
    json_array_foreach(cases, i, c)
    {
        const char *expected = str_at(c, "expected");
        char *text = render_golden_case(c);

        ck_assert_ptr_nonnull(text);
        ck_assert_msg(strcmp(text, expected) == 0,
                      "case %s differs:\n--- peakmem\n%s\n--- "
                      "memory_profiler\n%s\n",
                      str_at(c, "name"), text, expected);
        free(text);
    }
    json_decref(doc);
}
END_TEST

/* A two-block profile: a function with a heavy line, a never-run line and
 * HTML-special source, and a small second function. */
static const pm_mprun_line_t lines_a[] = {
    {1, "def f(n):", 1, 50 * PM_MIB, 0, 50 * PM_MIB},
    {2, "    s = '<b>&'", 1, 50 * PM_MIB + PM_MIB / 2, PM_MIB / 2,
     50 * PM_MIB + PM_MIB / 2},
    {3, "    big = [0] * n", 1, 130 * PM_MIB, 79 * PM_MIB + PM_MIB / 2,
     131 * PM_MIB},
    {4, "    if n < 0:", 1, 130 * PM_MIB, 0, 130 * PM_MIB},
    {5, "        return None", 0, 0, 0, 0},
    {6, "    del big", 1, 50 * PM_MIB + PM_MIB / 4, -80 * (int64_t)PM_MIB,
     130 * PM_MIB},
};
static const pm_mprun_line_t lines_b[] = {
    {10, "def g():", 2, 50 * PM_MIB, 0, 50 * PM_MIB},
    {11, "    return 1", 2, 50 * PM_MIB, 0, 50 * PM_MIB},
};
static const pm_mprun_block_t blocks[] = {
    {"work.py", "f", 1, 6, lines_a},
    {"work.py", "Helper.g", 10, 2, lines_b},
};

static pm_mprun_t sample(void)
{
    pm_mprun_t m = {
        .statement = "f(10 ** 7) < g()",
        .precision = 1,
        .show_peak = 0,
        .include_children = 1,
        .message = NULL,
        .nblocks = 2,
        .blocks = blocks,
    };
    return m;
}

START_TEST(test_mprun_text_adds_peak_column_after_increment)
{
    pm_mprun_t m = sample();
    m.show_peak = 1;
    m.nblocks = 1;
    char *text = pm_mprun_render_text(&m);

    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(
        text,
        "Filename: work.py\n"
        "\n"
        "Line #    Mem usage    Increment         Peak  Occurrences   "
        "Line Contents\n"
        "================================================================="
        "=========\n"
        "     1     50.0 MiB      0.0 MiB     50.0 MiB           1   "
        "def f(n):\n"
        "     2     50.5 MiB      0.5 MiB     50.5 MiB           1   "
        "    s = '<b>&'\n"
        "     3    130.0 MiB     79.5 MiB    131.0 MiB           1   "
        "    big = [0] * n\n"
        "     4    130.0 MiB      0.0 MiB    130.0 MiB           1   "
        "    if n < 0:\n"
        "     5                                                      "
        "        return None\n"
        "     6     50.2 MiB    -80.0 MiB    130.0 MiB           1   "
        "    del big");
    free(text);
}
END_TEST

START_TEST(test_mprun_text_leaves_out_message)
{
    pm_mprun_t m = sample();
    char *plain = pm_mprun_render_text(&m);
    m.message = "*** KeyboardInterrupt exception caught in code being "
                "profiled.";
    char *interrupted = pm_mprun_render_text(&m);

    ck_assert_ptr_nonnull(plain);
    ck_assert_ptr_nonnull(interrupted);
    ck_assert_str_eq(plain, interrupted);
    ck_assert_ptr_null(strstr(interrupted, "KeyboardInterrupt"));
    free(plain);
    free(interrupted);
}
END_TEST

START_TEST(test_mprun_text_negative_precision_shows_whole_mib)
{
    pm_mprun_t m = sample();
    m.precision = -3;
    m.nblocks = 1;
    char *text = pm_mprun_render_text(&m);

    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "\n     3      130 MiB       80 MiB"
                                       "           1       big"));
    free(text);
}
END_TEST

START_TEST(test_mprun_text_without_blocks_is_empty)
{
    pm_mprun_t m = sample();
    m.nblocks = 0;
    char *text = pm_mprun_render_text(&m);

    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

static size_t count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    return n;
}

START_TEST(test_mprun_html_escapes_source_and_statement)
{
    pm_mprun_t m = sample();
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_null(strstr(html, "<b>"));
    ck_assert_ptr_nonnull(strstr(html, "    s = &#39;&lt;b&gt;&amp;&#39;"));
    ck_assert_ptr_nonnull(strstr(html, "<code>f(10 ** 7) &lt; g()</code>"));
    free(html);
}
END_TEST

START_TEST(test_mprun_html_has_a_table_per_block)
{
    pm_mprun_t m = sample();
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_eq(strstr(html, "<div class=\"peakmem-mprun\">"), html);
    ck_assert_uint_eq(count(html, "<table"), 2);
    ck_assert_uint_eq(count(html, "</table>"), 2);
    ck_assert_ptr_nonnull(strstr(html, "<code>Helper.g</code>"));
    ck_assert_uint_eq(count(html, "<tr"), 2 + 6 + 2);
    ck_assert_ptr_null(strstr(html, ">Peak<"));
    ck_assert_ptr_null(strstr(html, "http"));
    ck_assert_ptr_null(strstr(html, "<script"));
    const char *end = "</table></div>";
    ck_assert_str_eq(html + strlen(html) - strlen(end), end);
    free(html);
}
END_TEST

START_TEST(test_mprun_html_highlights_heavy_lines)
{
    pm_mprun_t m = sample();
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    /* line 3 (+79.5 MiB) and line 6 (-80 MiB) weigh >= 1 MiB; line 2's
     * 0.5 MiB is under 1 MiB and under 5% of 80 MiB */
    ck_assert_uint_eq(count(html, "class=\"peakmem-heavy"), 2);
    ck_assert_ptr_nonnull(strstr(html, "<tr class=\"peakmem-heavy "
                                       "peakmem-alloc\" style=\""));
    ck_assert_ptr_nonnull(strstr(html, "<tr class=\"peakmem-heavy "
                                       "peakmem-free\" style=\""));
    ck_assert_ptr_nonnull(
        strstr(html, "<tr><td align=\"right\">2</td>"));
    ck_assert_ptr_nonnull(strstr(html, ">+0.5 MiB</td>"));
    free(html);
}
END_TEST

/* Allocations and frees differ in more than colour: a sign and a marker
 * that survive a sanitizer stripping every style attribute. */
START_TEST(test_mprun_html_tells_frees_from_allocations_without_colour)
{
    pm_mprun_t m = sample();
    char *html = pm_mprun_render_html(&m);
    const char *up = "\xe2\x96\xb2", *down = "\xe2\x96\xbc";
    const char *alloc, *release;

    ck_assert_ptr_nonnull(html);
    alloc = strstr(html, ">+79.5 MiB <span class=\"peakmem-mark\"");
    release = strstr(html, ">-80.0 MiB <span class=\"peakmem-mark\"");
    ck_assert_ptr_nonnull(alloc);
    ck_assert_ptr_nonnull(release);
    ck_assert_ptr_nonnull(strstr(alloc, up));
    ck_assert_ptr_eq(strstr(alloc, up), strstr(alloc, "\xe2\x96"));
    ck_assert_ptr_eq(strstr(release, down), strstr(release, "\xe2\x96"));
    ck_assert_uint_eq(count(html, up), 1);
    ck_assert_uint_eq(count(html, down), 1);
    /* two colours: the free is not painted like the allocation */
    ck_assert_ptr_nonnull(strstr(html, "rgba(255,165,0,0.25)"));
    ck_assert_ptr_nonnull(strstr(html, "rgba(70,130,180,0.2)"));
    free(html);
}
END_TEST

START_TEST(test_mprun_html_highlights_large_share_of_small_block)
{
    static const pm_mprun_line_t small[] = {
        {1, "a", 1, 10 * PM_MIB, 40960, 10 * PM_MIB},
        {2, "b", 1, 10 * PM_MIB, 2048, 10 * PM_MIB},
        {3, "c", 1, 10 * PM_MIB, 2047, 10 * PM_MIB},
        {4, "d", 1, 10 * PM_MIB, 0, 10 * PM_MIB},
    };
    pm_mprun_block_t block = {"s.py", "s", 1, 4, small};
    pm_mprun_t m = sample();
    m.nblocks = 1;
    m.blocks = &block;
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    /* 40 KiB is the largest; 2 KiB is 5% of it, 2047 B is not */
    ck_assert_uint_eq(count(html, "class=\"peakmem-heavy"), 2);
    free(html);
}
END_TEST

START_TEST(test_mprun_html_peak_rise_makes_line_heavy)
{
    static const pm_mprun_line_t rise[] = {
        {1, "x = make()", 1, 10 * PM_MIB, 0, 10 * PM_MIB},
        {2, "y = spike()", 1, 10 * PM_MIB, 0, 600 * PM_MIB},
    };
    pm_mprun_block_t block = {"r.py", "r", 1, 2, rise};
    pm_mprun_t m = sample();
    m.nblocks = 1;
    m.blocks = &block;
    char *html = pm_mprun_render_html(&m);

    ck_assert_uint_eq(count(html, "peakmem-heavy"), 0);
    free(html);
    m.show_peak = 1;
    html = pm_mprun_render_html(&m);
    ck_assert_uint_eq(count(html, "peakmem-heavy"), 1);
    ck_assert_ptr_nonnull(strstr(html, "peakmem-heavy peakmem-rise"));
    ck_assert_ptr_nonnull(strstr(html, ">Peak</th>"));
    ck_assert_ptr_nonnull(strstr(html, ">600.0 MiB <span"));
    free(html);
}
END_TEST

/* With --peak, every line's Peak sits a few hundred KiB over its Mem
 * usage (VmHWM vs statm); in a small profile that noise is no reason to
 * highlight every row: only the allocation and the free matter. */
START_TEST(test_mprun_html_peak_does_not_highlight_every_row)
{
    const uint64_t base = 60 * PM_MIB, noise = 300 * 1024;
    const int64_t inc = 200 * 1024;
    const pm_mprun_line_t lines[] = {
        {1, "def f():", 1, base, 0, base + noise},
        {2, "    a = [0] * 25000", 1, base + inc, inc, base + inc + noise},
        {3, "    n = len(a)", 1, base + inc, 0, base + inc + noise},
        {4, "    del a", 1, base, -inc, base + inc + noise},
        {5, "    return n", 1, base, 0, base + noise},
    };
    pm_mprun_block_t block = {"p.py", "f", 1, 5, lines};
    pm_mprun_t m = sample();
    m.nblocks = 1;
    m.blocks = &block;
    m.show_peak = 1;
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_uint_eq(count(html, "<tr class=\"peakmem-heavy"), 2);
    ck_assert_ptr_nonnull(strstr(html, "peakmem-alloc\" style=\"background-"
                                       "color:rgba(255,165,0,0.25)\">"
                                       "<td align=\"right\">2<"));
    ck_assert_ptr_nonnull(strstr(html, "peakmem-free\" style=\"background-"
                                       "color:rgba(70,130,180,0.2)\">"
                                       "<td align=\"right\">4<"));
    free(html);
}
END_TEST

/* The header echoes the statement as code without an empty first line:
 * %%mprun's blank line part is dropped, a blank statement shows nothing. */
START_TEST(test_mprun_html_header_has_no_empty_line)
{
    pm_mprun_t m = sample();
    m.statement = "\nf(10)\ng()\n";
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "<div class=\"peakmem-mprun\"><pre "
                                       "class=\"peakmem-statement\""));
    ck_assert_ptr_nonnull(strstr(html, "><code>f(10)\ng()</code></pre>"));
    free(html);
    m.statement = "  \n\t\n";
    html = pm_mprun_render_html(&m);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_null(strstr(html, "peakmem-statement"));
    ck_assert_ptr_nonnull(strstr(html, "<div class=\"peakmem-mprun\"><table"));
    free(html);
}
END_TEST

/* Untrusted notebooks: classic Notebook 6.4's sanitizer strips every
 * inline style. Nothing lays out by one: numbers in <td align="right">,
 * the source and its header left in a <div align="left">, the source a
 * <pre> (indentation kept by the element); the only styles left are
 * colours: the heavy rows' (sign and marker stand in for them) and the
 * source's transparent background. */
START_TEST(test_mprun_html_layout_without_inline_style)
{
    pm_mprun_t m = sample();
    char *html = pm_mprun_render_html(&m);
    size_t lines = 0;

    for (size_t i = 0; i < m.nblocks; i++) {
        lines += m.blocks[i].nlines;
    }
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_null(strstr(html, "text-align"));
    ck_assert_ptr_null(strstr(html, "white-space"));
    ck_assert_uint_eq(count(html, "<tr class=\"peakmem-heavy"),
                      count(html, "style=\"background-color:"));
    ck_assert_uint_eq(count(html, "style="),
                      count(html, "style=\"background-color:") +
                          count(html, "<pre style=\"background:none\">"));
    ck_assert_ptr_nonnull(strstr(html, "<caption><div align=\"left\"><code>"));
    ck_assert_ptr_nonnull(
        strstr(html, "<th><div align=\"left\">Line Contents</div></th>"));
    ck_assert_uint_eq(
        count(html, "<td><div align=\"left\"><pre style=\"background:none\">"),
        lines);
    free(html);
}
END_TEST

START_TEST(test_mprun_html_blank_cells_for_never_run_line)
{
    pm_mprun_t m = sample();
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(
        strstr(html, "<tr><td align=\"right\">5</td>"
                     "<td></td><td></td><td></td>"
                     "<td><div align=\"left\"><pre style=\"background:none\">"
                     "        return None</pre></div></td></tr>"));
    free(html);
    m.show_peak = 1;
    html = pm_mprun_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, ">5</td><td></td><td></td><td></td>"
                                       "<td></td><td><div"));
    free(html);
}
END_TEST

START_TEST(test_mprun_html_shows_message)
{
    pm_mprun_t m = sample();
    m.message = "*** SystemExit exception caught in code being profiled.";
    char *html = pm_mprun_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "<p class=\"peakmem-message\">*** "
                                       "SystemExit exception caught in code "
                                       "being profiled.</p></div>"));
    free(html);
    m.message = NULL;
    html = pm_mprun_render_html(&m);
    ck_assert_ptr_null(strstr(html, "peakmem-message"));
    free(html);
}
END_TEST

START_TEST(test_mprun_json_has_schema_and_options)
{
    pm_mprun_t m = sample();
    m.precision = 3;
    json_t *doc = pm_mprun_to_json(&m);
    char *text = pm_mprun_render_text(&m);

    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(str_at(doc, "schema"), "peakmem.mprun");
    ck_assert_int_eq(int_at(doc, "version"), 1);
    ck_assert_str_eq(str_at(doc, "statement"), "f(10 ** 7) < g()");
    ck_assert_int_eq(int_at(doc, "precision"), 3);
    ck_assert(json_is_true(json_object_get(doc, "include_children")));
    ck_assert(json_is_false(json_object_get(doc, "show_peak")));
    ck_assert(json_is_null(json_object_get(doc, "message")));
    ck_assert_str_eq(str_at(doc, "text"), text);
    free(text);
    json_decref(doc);
}
END_TEST

START_TEST(test_mprun_json_blocks_and_lines)
{
    pm_mprun_t m = sample();
    json_t *doc = pm_mprun_to_json(&m);
    json_t *jblocks = json_object_get(doc, "blocks");
    json_t *b0, *l3, *l6;

    ck_assert_uint_eq(json_array_size(jblocks), 2);
    b0 = json_array_get(jblocks, 0);
    ck_assert_str_eq(str_at(b0, "filename"), "work.py");
    ck_assert_str_eq(str_at(b0, "function"), "f");
    ck_assert_int_eq(int_at(b0, "first_line"), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(b0, "lines")), 6);
    ck_assert_str_eq(str_at(json_array_get(jblocks, 1), "function"),
                     "Helper.g");
    l3 = json_array_get(json_object_get(b0, "lines"), 2);
    ck_assert_int_eq(int_at(l3, "lineno"), 3);
    ck_assert_str_eq(str_at(l3, "source"), "    big = [0] * n");
    ck_assert_int_eq(int_at(l3, "occurrences"), 1);
    ck_assert_int_eq(int_at(l3, "mem_bytes"), 130 * PM_MIB);
    ck_assert_int_eq(int_at(l3, "increment_bytes"), 79 * PM_MIB + PM_MIB / 2);
    ck_assert(json_is_null(json_object_get(l3, "peak_bytes")));
    ck_assert(json_is_true(json_object_get(l3, "ran")));
    l6 = json_array_get(json_object_get(b0, "lines"), 5);
    ck_assert_int_eq(int_at(l6, "increment_bytes"), -80 * (json_int_t)PM_MIB);
    json_decref(doc);
}
END_TEST

START_TEST(test_mprun_json_never_run_line_has_null_numbers)
{
    pm_mprun_t m = sample();
    m.show_peak = 1;
    json_t *doc = pm_mprun_to_json(&m);
    json_t *lines = json_object_get(
        json_array_get(json_object_get(doc, "blocks"), 0), "lines");
    json_t *l5 = json_array_get(lines, 4);

    ck_assert_int_eq(int_at(l5, "lineno"), 5);
    ck_assert_int_eq(int_at(l5, "occurrences"), 0);
    ck_assert(json_is_false(json_object_get(l5, "ran")));
    ck_assert(json_is_null(json_object_get(l5, "mem_bytes")));
    ck_assert(json_is_null(json_object_get(l5, "increment_bytes")));
    ck_assert(json_is_null(json_object_get(l5, "peak_bytes")));
    ck_assert(json_is_true(json_object_get(doc, "show_peak")));
    ck_assert_int_eq(int_at(json_array_get(lines, 2), "peak_bytes"),
                     131 * PM_MIB);
    json_decref(doc);
}
END_TEST

START_TEST(test_mprun_json_message_kept_out_of_text)
{
    pm_mprun_t m = sample();
    m.message = "*** KeyboardInterrupt exception caught in code being "
                "profiled.";
    json_t *doc = pm_mprun_to_json(&m);

    ck_assert_str_eq(str_at(doc, "message"), m.message);
    ck_assert_ptr_null(strstr(str_at(doc, "text"), "KeyboardInterrupt"));
    json_decref(doc);
    m.message = "";
    doc = pm_mprun_to_json(&m);
    ck_assert(json_is_null(json_object_get(doc, "message")));
    json_decref(doc);
}
END_TEST

START_TEST(test_mprun_json_keys_in_documented_order)
{
    static const char *keys[] = {"schema",    "version",          "statement",
                                 "precision", "include_children", "show_peak",
                                 "message",   "blocks",           "text"};
    static const char *block_keys[] = {"filename", "function", "first_line",
                                       "lines"};
    static const char *line_keys[] = {
        "lineno",          "source",     "occurrences", "mem_bytes",
        "increment_bytes", "peak_bytes", "ran"};
    pm_mprun_t m = sample();
    json_t *doc = pm_mprun_to_json(&m);
    json_t *block = json_array_get(json_object_get(doc, "blocks"), 0);
    json_t *line = json_array_get(json_object_get(block, "lines"), 0);
    const char *key;
    json_t *value;
    size_t i = 0;

    ck_assert_uint_eq(json_object_size(doc), sizeof(keys) / sizeof(*keys));
    json_object_foreach(doc, key, value)
    {
        ck_assert_str_eq(key, keys[i++]);
    }
    i = 0;
    ck_assert_uint_eq(json_object_size(block), 4);
    json_object_foreach(block, key, value)
    {
        ck_assert_str_eq(key, block_keys[i++]);
    }
    i = 0;
    ck_assert_uint_eq(json_object_size(line), 7);
    json_object_foreach(line, key, value)
    {
        ck_assert_str_eq(key, line_keys[i++]);
    }
    json_decref(doc);
}
END_TEST

START_TEST(test_mprun_bundle_carries_three_mime_types)
{
    pm_mprun_t m = sample();
    json_t *bundle = pm_mprun_bundle(&m);
    json_t *data = json_object_get(bundle, "data");
    char *text = pm_mprun_render_text(&m);

    ck_assert_ptr_nonnull(bundle);
    ck_assert_uint_eq(json_object_size(bundle), 3);
    ck_assert_uint_eq(json_object_size(data), 3);
    ck_assert_str_eq(str_at(data, "text/plain"), text);
    ck_assert_ptr_eq(
        strstr(str_at(data, "text/html"), "<div class=\"peakmem-mprun\">"),
        str_at(data, "text/html"));
    ck_assert_str_eq(str_at(json_object_get(data, PM_MIME_MPRUN), "schema"),
                     "peakmem.mprun");
    ck_assert_str_eq(PM_MIME_MPRUN, "application/vnd.peakmem.mprun+json");
    ck_assert_uint_eq(json_object_size(json_object_get(bundle, "metadata")),
                      0);
    ck_assert(json_is_object(json_object_get(bundle, "transient")));
    free(text);
    json_decref(bundle);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"text", test_mprun_text_matches_memory_profiler_golden},
        {"text", test_mprun_text_adds_peak_column_after_increment},
        {"text", test_mprun_text_leaves_out_message},
        {"text", test_mprun_text_negative_precision_shows_whole_mib},
        {"text", test_mprun_text_without_blocks_is_empty},
        {"html", test_mprun_html_escapes_source_and_statement},
        {"html", test_mprun_html_has_a_table_per_block},
        {"html", test_mprun_html_highlights_heavy_lines},
        {"html", test_mprun_html_highlights_large_share_of_small_block},
        {"html", test_mprun_html_peak_rise_makes_line_heavy},
        {"html", test_mprun_html_tells_frees_from_allocations_without_colour},
        {"html", test_mprun_html_peak_does_not_highlight_every_row},
        {"html", test_mprun_html_header_has_no_empty_line},
        {"html", test_mprun_html_blank_cells_for_never_run_line},
        {"html", test_mprun_html_layout_without_inline_style},
        {"html", test_mprun_html_shows_message},
        {"json", test_mprun_json_has_schema_and_options},
        {"json", test_mprun_json_blocks_and_lines},
        {"json", test_mprun_json_never_run_line_has_null_numbers},
        {"json", test_mprun_json_message_kept_out_of_text},
        {"json", test_mprun_json_keys_in_documented_order},
        {"json", test_mprun_bundle_carries_three_mime_types},
    };

    return pm_check_main("mprun", tests, PM_CHECK_COUNT(tests));
}
