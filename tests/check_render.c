/* Check tests for the text and HTML forms of a %memit result: the text
 * line must match memory_profiler 0.61 byte for byte, and the HTML must
 * escape what the user typed. */
#include "check_util.h"
#include "pm_kernel.h"
#include "pm_protocol.h"
#include "../protocol/internal.h" /* pm_html_escape */

#include <stdlib.h>
#include <string.h>

static pm_memit_t memit(const uint64_t *peaks, size_t n, uint64_t baseline)
{
    static const double walls[8] = {0.001, 0.002, 0.003, 0.004,
                                    0.005, 0.006, 0.007, 0.008};
    pm_memit_t m = {
        .statement = "x = [0] * 10**6",
        .setup = NULL,
        .repeat = (int)n,
        .timeout_s = 0,
        .interval_s = 0.1,
        .include_children = 0,
        .method = "hwm",
        .baseline_bytes = baseline,
        .n = n,
        .peak_bytes = peaks,
        .wall_s = walls,
    };
    return m;
}

/* Walls of a statement that ran past the live line's delay: the full
 * table form. */
static const double slow_walls[8] = {0.6, 0.35, 0.3, 0.3,
                                     0.3, 0.3,  0.3, 0.3};
static const uint64_t one_peak[] = {11 * PM_MIB};

static pm_memit_t memit_slow(const uint64_t *peaks, size_t n,
                             uint64_t baseline)
{
    pm_memit_t m = memit(peaks, n, baseline);
    m.wall_s = slow_walls;
    return m;
}

static void assert_text(const uint64_t *peaks, size_t n, uint64_t baseline,
                        const char *expected)
{
    pm_memit_t m = memit(peaks, n, baseline);
    char *text = pm_memit_render_text(&m);

    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, expected);
    free(text);
}

START_TEST(test_text_matches_memory_profiler_format)
{
    uint64_t peaks[] = {51 * PM_MIB + PM_MIB / 4};
    assert_text(peaks, 1, 50 * PM_MIB,
                "peak memory: 51.25 MiB, increment: 1.25 MiB");
}
END_TEST

START_TEST(test_text_uses_highest_peak_of_repeats)
{
    uint64_t peaks[] = {60 * PM_MIB, 80 * PM_MIB + PM_MIB / 4, 70 * PM_MIB};
    assert_text(peaks, 3, 50 * PM_MIB,
                "peak memory: 80.25 MiB, increment: 30.25 MiB");
}
END_TEST

START_TEST(test_text_rounds_to_two_decimals_like_python)
{
    /* 0.005 MiB is 5242.88 bytes: one byte either side rounds apart */
    uint64_t up[] = {100 * PM_MIB + 5243};
    uint64_t down[] = {100 * PM_MIB + 5242};
    uint64_t odd[] = {123456789};
    assert_text(up, 1, 100 * PM_MIB,
                "peak memory: 100.01 MiB, increment: 0.01 MiB");
    assert_text(down, 1, 100 * PM_MIB,
                "peak memory: 100.00 MiB, increment: 0.00 MiB");
    assert_text(odd, 1, 100000000,
                "peak memory: 117.74 MiB, increment: 22.37 MiB");
}
END_TEST

START_TEST(test_text_shows_negative_increment)
{
    uint64_t half[] = {199 * PM_MIB + PM_MIB / 2};
    uint64_t byte[] = {200 * PM_MIB - 1};
    assert_text(half, 1, 200 * PM_MIB,
                "peak memory: 199.50 MiB, increment: -0.50 MiB");
    /* Python's '%.02f' % -4.7e-07 is "-0.00" too */
    assert_text(byte, 1, 200 * PM_MIB,
                "peak memory: 200.00 MiB, increment: -0.00 MiB");
}
END_TEST

START_TEST(test_text_without_repeats_reports_baseline)
{
    assert_text(NULL, 0, 42 * PM_MIB,
                "peak memory: 42.00 MiB, increment: 0.00 MiB");
}
END_TEST

START_TEST(test_peak_is_max_or_baseline)
{
    uint64_t peaks[] = {5, 9, 7};
    pm_memit_t m = memit(peaks, 3, 100);
    ck_assert_uint_eq(pm_memit_peak(&m), 9);
    m.n = 0;
    ck_assert_uint_eq(pm_memit_peak(&m), 100);
}
END_TEST

START_TEST(test_html_escape_escapes_all_five)
{
    char *out = pm_html_escape("<script>&\"'</script> ok");
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, "&lt;script&gt;&amp;&quot;&#39;&lt;/script&gt; ok");
    free(out);
    out = pm_html_escape("");
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(test_html_escapes_statement_inside_code)
{
    uint64_t peaks[] = {51 * PM_MIB + PM_MIB / 4};
    pm_memit_t m = memit_slow(peaks, 1, 50 * PM_MIB);
    m.statement = "s = '<script>alert(1)</script>' + \"&\"";
    char *html = pm_memit_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_nonnull(
        strstr(html, "<pre><code>s = &#39;&lt;script&gt;alert(1)&lt;/"
                     "script&gt;&#39; + &quot;&amp;&quot;</code></pre>"));
    free(html);
}
END_TEST

START_TEST(test_html_table_shows_numbers_and_method)
{
    uint64_t peaks[] = {60 * PM_MIB, 80 * PM_MIB + PM_MIB / 4};
    pm_memit_t m = memit_slow(peaks, 2, 50 * PM_MIB);
    m.repeat = 3; /* a timeout stopped it after two */
    char *html = pm_memit_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_eq(strstr(html, "<div class=\"peakmem-memit\">"), html);
    ck_assert_ptr_nonnull(strstr(html, ">80.25 MiB<"));
    ck_assert_ptr_nonnull(strstr(html, ">30.25 MiB<"));
    ck_assert_ptr_nonnull(strstr(html, ">50.00 MiB<"));
    ck_assert_ptr_nonnull(strstr(html, ">2 of 3<"));
    ck_assert_ptr_nonnull(strstr(html, ">hwm<"));
    /* 600 + 350 ms over two runs: total and per run, never a bare time */
    ck_assert_ptr_nonnull(
        strstr(html, ">950.0 ms total, 475.0 ms per run<"));
    ck_assert_ptr_null(strstr(html, "http"));
    ck_assert_ptr_null(strstr(html, "src="));
    const char *end = "</table></div>";
    size_t len = strlen(html);
    ck_assert_str_eq(html + len - strlen(end), end);
    free(html);
}
END_TEST

/* One run has one wall time: no "total"/"per run" to tell apart. */
START_TEST(test_html_single_run_wall_time_is_plain)
{
    uint64_t peaks[] = {60 * PM_MIB};
    pm_memit_t m = memit_slow(peaks, 1, 50 * PM_MIB);
    char *html = pm_memit_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, ">600.0 ms<"));
    ck_assert_ptr_null(strstr(html, "per run"));
    free(html);
}
END_TEST

/* Results of one statement in a loop differ by the values of its names,
 * shown (escaped) after the statement; the text line stays the same. */
START_TEST(test_html_caption_shows_names_values)
{
    static const pm_memit_name_t names[] = {{"n", "20"},
                                            {"tag", "'<a>'"}};
    uint64_t peaks[] = {60 * PM_MIB};
    pm_memit_t m = memit_slow(peaks, 1, 50 * PM_MIB);
    char *plain = pm_memit_render_text(&m);
    m.statement = "np.ones(2**n).sum() or tag";
    m.names = names;
    m.nnames = 2;
    char *html = pm_memit_render_html(&m);
    char *text = pm_memit_render_text(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(
        html, "<pre><code>np.ones(2**n).sum() or tag</code></pre> <small "
              "class=\"peakmem-names\">n = 20, tag = &#39;&lt;a&gt;&#39;"
              "</small><table>"));
    ck_assert_str_eq(text, plain);
    free(html);
    free(text);
    free(plain);
    m.nnames = 0;
    html = pm_memit_render_html(&m);
    ck_assert_ptr_null(strstr(html, "peakmem-names"));
    free(html);
}
END_TEST

START_TEST(test_html_handles_missing_statement_and_method)
{
    pm_memit_t m = memit_slow(one_peak, 1, 10 * PM_MIB);
    m.statement = NULL;
    m.method = NULL;
    char *html = pm_memit_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "<pre><code></code></pre>"));
    free(html);
}
END_TEST

/* The echoed statement is a <pre> block (lines and indentation kept by the
 * element's default rendering, no inline style needed), outside the
 * table's caption: a cell body shows as typed. */
START_TEST(test_html_statement_keeps_lines_and_indentation)
{
    pm_memit_t m = memit_slow(one_peak, 1, 10 * PM_MIB);
    m.statement = "\nfor i in range(3):\n    x = [0] * 10**6\n\n";
    char *html = pm_memit_render_html(&m);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(
        strstr(html, "<pre><code>for i in range(3):\n    x = [0] * 10**6"
                     "</code></pre>"));
    ck_assert_ptr_null(strstr(html, "<caption"));
    ck_assert_ptr_null(strstr(html, "<pre style"));
    free(html);
}
END_TEST

/* A long statement is cut, never re-wrapped: three lines and an ellipsis
 * line past four lines; a line past 120 characters ends in an ellipsis
 * (a multi-byte character counts once and is never split). */
START_TEST(test_html_statement_cut_with_ellipsis)
{
    char longline[300];
    char *html;
    pm_memit_t m = memit_slow(one_peak, 1, 10 * PM_MIB);

    m.statement = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n";
    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(
        html, "<pre><code>a = 1\nb = 2\nc = 3\n\u2026</code></pre>"));
    free(html);

    m.statement = "a = 1\nb = 2\nc = 3\nd = 4\n";
    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(
        strstr(html, "<pre><code>a = 1\nb = 2\nc = 3\nd = 4</code></pre>"));
    free(html);

    /* "x = '" + 114 "é" (2 bytes each) + "'" are 120 characters; the
     * "yyyy" after them is cut */
    char want[400];
    size_t k = 0, w = 0;
    k += (size_t)snprintf(longline, sizeof longline, "x = '");
    w += (size_t)snprintf(want, sizeof want, "<pre><code>x = &#39;");
    for (int i = 0; i < 114; i++) {
        longline[k++] = want[w++] = (char)0xC3;
        longline[k++] = want[w++] = (char)0xA9;
    }
    snprintf(longline + k, sizeof longline - k, "'yyyy");
    snprintf(want + w, sizeof want - w, "&#39;\u2026</code></pre>");
    m.statement = longline;
    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, want));
    free(html);
}
END_TEST

static int count_of(const char *s, const char *what)
{
    int n = 0;
    for (s = strstr(s, what); s != NULL; s = strstr(s + 1, what)) {
        n++;
    }
    return n;
}

/* A statement that ran under the live line's delay shows one compact
 * block, two lines tall (one <br>): peak, increment and baseline, then in
 * <small> the statement's first line, method and wall time; no table, no
 * <pre>, no chart of nothing, no inline style. */
START_TEST(test_html_quick_statement_is_one_compact_block)
{
    uint64_t peaks[] = {51 * PM_MIB + PM_MIB / 4};
    pm_memit_t m = memit(peaks, 1, 50 * PM_MIB);
    pm_svg_point_t flat[] = {{0.0, 50.0}, {0.0004, 50.3}};
    char *html;

    m.timeline = flat;
    m.ntimeline = 2;
    html = pm_memit_render_html(&m);
    ck_assert_str_eq(html,
                     "<div class=\"peakmem-memit\"><div "
                     "class=\"peakmem-compact\"><b>peak 51.25 MiB</b> "
                     "&middot; increment 1.25 MiB &middot; baseline 50.00 "
                     "MiB<br><small><code>x = [0] * 10**6</code> &middot; "
                     "hwm &middot; 1.0 ms</small></div></div>");
    free(html);

    /* a cell: its first line and an ellipsis; repeats when not one */
    uint64_t two[] = {51 * PM_MIB, 52 * PM_MIB};
    m = memit(two, 2, 50 * PM_MIB);
    m.repeat = 3;
    m.statement = "a = 1\n  b = 2\n";
    html = pm_memit_render_html(&m);
    ck_assert_int_eq(count_of(html, "<br"), 1);
    ck_assert_ptr_nonnull(strstr(html, "<code>a = 1 \u2026</code>"));
    ck_assert_ptr_nonnull(strstr(html, " &middot; 2 of 3 repeats</small>"));
    ck_assert_ptr_null(strstr(html, "<table"));
    ck_assert_ptr_null(strstr(html, "style="));
    free(html);
}
END_TEST

#define CHART "<img class=\"peakmem-chart\""

/* The base64 payload after "base64," up to the closing quote, decoded;
 * NULL when a character is not base64. Caller frees. */
static char *unbase64(const char *s)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strcspn(s, "\"");
    char *out = malloc(len / 4 * 3 + 1), *p = out;
    unsigned long v = 0;
    int bits = 0;

    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(len % 4, 0);
    for (size_t i = 0; i < len && s[i] != '='; i++) {
        const char *d = strchr(digits, s[i]);
        if (d == NULL || s[i] == '\0') {
            free(out);
            return NULL;
        }
        v = (v << 6) | (unsigned long)(d - digits);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *p++ = (char)((v >> bits) & 0xff);
        }
    }
    *p = '\0';
    return out;
}

/* Untrusted notebooks: their sanitizers (JupyterLab 4, Notebook 7,
 * classic 6.4) drop <svg> (its texts become a run-on line) and classic
 * drops every inline style. The chart is an <img> whose data: URI holds
 * the very SVG of pm_svg_timeline (with its size, for a box before it
 * loads); nothing lays out by inline style: no text-align, no white-space,
 * left cells in <div align="left">, numbers in <td align="right">. */
START_TEST(test_html_readable_without_svg_or_inline_style)
{
    uint64_t peaks[] = {80 * PM_MIB};
    pm_memit_t m = memit_slow(peaks, 1, 50 * PM_MIB);
    pm_svg_point_t tl[] = {{0.0, 50.0}, {0.01, 80.0}, {0.02, 60.0}};
    const char *uri = "src=\"data:image/svg+xml;base64,";
    char *html, *svg;

    m.timeline = tl;
    m.ntimeline = 3;
    html = pm_memit_render_html(&m);
    ck_assert_ptr_null(strstr(html, "<svg"));
    ck_assert_ptr_null(strstr(html, "style="));
    ck_assert_ptr_nonnull(strstr(html, CHART " width=\"480\" height=\"200\" "
                                       "alt=\"RSS during the statement\" "));
    ck_assert_ptr_nonnull(
        strstr(html, "<tr><th><div align=\"left\">peak</div></th>"
                     "<td align=\"right\">80.00 MiB</td></tr>"));
    svg = unbase64(strstr(html, uri) + strlen(uri));
    ck_assert_ptr_nonnull(svg);
    ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/"
                                      "svg\" version=\"1.1\" width=\"480\" "
                                      "height=\"200\""));
    ck_assert_ptr_nonnull(strstr(svg, ">RSS during the statement</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    free(svg);
    free(html);

    /* over the limit: the words say so; the row's colour is the only
     * style left, and only a help */
    m.limit_bytes = 60 * PM_MIB;
    html = pm_memit_render_html(&m);
    ck_assert_int_eq(count_of(html, "style="), 1);
    ck_assert_ptr_nonnull(strstr(html, "60.00 MiB &mdash; exceeded</td>"));
    ck_assert_ptr_null(strstr(html, "text-align"));
    free(html);
}
END_TEST

/* The chart comes when it has something to show: a timeline that rises
 * at least max(1 MiB, 1% of the baseline), or a --limit to draw (which
 * also brings the full table); a flat line is left out. */
START_TEST(test_html_chart_only_when_it_shows_something)
{
    uint64_t peaks[] = {80 * PM_MIB};
    pm_memit_t m = memit(peaks, 1, 50 * PM_MIB);
    pm_svg_point_t tl[] = {{0.0, 50.0}, {0.01, 80.0}, {0.02, 60.0}};
    char *html;

    m.timeline = tl;
    m.ntimeline = 3;
    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, "class=\"peakmem-compact\""));
    ck_assert_int_eq(count_of(html, CHART), 1);
    free(html);

    m.ntimeline = 1; /* one sample: no line to draw */
    html = pm_memit_render_html(&m);
    ck_assert_ptr_null(strstr(html, CHART));
    free(html);

    m.limit_bytes = 100 * PM_MIB; /* the limit: table and chart */
    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, "<table"));
    ck_assert_int_eq(count_of(html, CHART), 1);
    free(html);

    /* a slow statement that stayed flat (0.5 MiB of 50): table only */
    tl[1].mib = 50.5;
    tl[2].mib = 50.2;
    m.limit_bytes = 0;
    m.ntimeline = 3;
    m.wall_s = slow_walls;
    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, "<table"));
    ck_assert_ptr_null(strstr(html, CHART));
    free(html);
}
END_TEST

/* A timeline sample read above the exact peak (the high-water mark) is
 * saved at the peak: the JSON document never shows a sample above its
 * peak_bytes. A sampled peak leaves the samples as read. */
START_TEST(test_json_timeline_never_exceeds_exact_peak)
{
    uint64_t peaks[] = {620 * PM_MIB};
    pm_svg_point_t tl[] = {{0.0, 500.0}, {0.1, 620.15}, {0.2, 560.0}};
    pm_memit_t m = memit(peaks, 1, 500 * PM_MIB);
    json_t *doc;

    m.timeline = tl;
    m.ntimeline = 3;
    doc = pm_memit_to_json(&m);
    json_t *samples = json_object_get(doc, "timeline");
    ck_assert_uint_eq(json_array_size(samples), 3);
    ck_assert_double_eq(
        json_real_value(json_array_get(json_array_get(samples, 1), 1)),
        620.0);
    ck_assert_double_eq(
        json_real_value(json_array_get(json_array_get(samples, 2), 1)),
        560.0);
    json_decref(doc);

    m.method = "sampled";
    doc = pm_memit_to_json(&m);
    samples = json_object_get(doc, "timeline");
    ck_assert_double_eq(
        json_real_value(json_array_get(json_array_get(samples, 1), 1)),
        620.15);
    json_decref(doc);
}
END_TEST

static const char *live_html(json_t *bundle)
{
    return json_string_value(
        json_object_get(json_object_get(bundle, "data"), "text/html"));
}

/* A 0.1 MiB change is a ripple at the bottom of the live sparkline, not a
 * jump from bottom to top: it spans at least max(1 MiB, 1% of the
 * baseline), from the lowest point up. */
START_TEST(test_live_sparkline_spans_at_least_one_mib)
{
    pm_svg_point_t recent[] = {{0.0, 100.0}, {0.5, 100.1}};
    pm_live_t live = {.statement = "f()",
                      .elapsed_s = 1.0,
                      .rss_bytes = (uint64_t)(100.1 * PM_MIB),
                      .peak_bytes = (uint64_t)(100.1 * PM_MIB),
                      .baseline_bytes = 100 * PM_MIB,
                      .recent = recent,
                      .nrecent = 2};
    char *text = pm_live_render_text(&live);
    json_t *bundle = pm_live_bundle(&live, "d");

    ck_assert_str_eq(text, "running 1.0 s \u00b7 now 100.1 MiB \u00b7 peak "
                           "100.1 MiB \u2581\u2582");
    /* 24 px high: the bottom is y 22, the top y 2; 0.1 of 1 MiB is 2 px */
    ck_assert_ptr_nonnull(
        strstr(live_html(bundle), "points=\"1.0,22.0 159.0,20.0\""));
    free(text);
    json_decref(bundle);

    /* on a 1000 MiB baseline the span is 10 MiB: 5 MiB is half way */
    recent[0].mib = 1000.0;
    recent[1].mib = 1005.0;
    live.baseline_bytes = 1000 * PM_MIB;
    text = pm_live_render_text(&live);
    ck_assert_ptr_nonnull(strstr(text, " \u2581\u2585"));
    free(text);

    /* a rise larger than the span still fills it */
    recent[1].mib = 1100.0;
    text = pm_live_render_text(&live);
    ck_assert_ptr_nonnull(strstr(text, " \u2581\u2588"));
    free(text);
}
END_TEST

/* The live HTML shows the text without its block sparkline, whatever the
 * first block is (it draws the sparkline as SVG), and keeps the text up to
 * the sparkline whole. */
START_TEST(test_live_html_drops_block_sparkline)
{
    pm_svg_point_t recent[] = {{0.0, 9.0}, {0.5, 3.0}, {1.0, 5.0}};
    pm_live_t live = {.statement = "f()",
                      .elapsed_s = 1.5,
                      .rss_bytes = 5 * PM_MIB,
                      .peak_bytes = 9 * PM_MIB,
                      .recent = recent,
                      .nrecent = 3};
    json_t *bundle = pm_live_bundle(&live, "d");
    const char *html = live_html(bundle);

    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "<code>running 1.5 s \u00b7 now 5.0 "
                                       "MiB \u00b7 peak 9.0 MiB</code> <svg"));
    for (int i = 0; i < 8; i++) {
        char block[4] = {(char)0xE2, (char)0x96, (char)(0x81 + i), 0};
        ck_assert_msg(strstr(html, block) == NULL, "block %d in %s", i, html);
    }
    json_decref(bundle);
}
END_TEST

/* Every renderer writes numbers in the "C" locale whatever LC_NUMERIC
 * says: under de_DE (built by the test when not installed) the text line,
 * the HTML table, the %mprun table and the live line use "." as
 * memory_profiler does. */
START_TEST(test_renderers_ignore_decimal_comma_locale)
{
    uint64_t peaks[] = {3 * PM_MIB + PM_MIB / 2};
    static const double walls[] = {1.25};
    pm_mprun_line_t lines[] = {
        {1, "def f():", 1, 3 * PM_MIB + PM_MIB / 2, 0,
         3 * PM_MIB + PM_MIB / 2},
        {2, "    a = [0] * 10**6", 1, 11 * PM_MIB + PM_MIB / 4,
         7 * PM_MIB + PM_MIB / 4, 11 * PM_MIB + PM_MIB / 2},
    };
    pm_mprun_block_t block = {"f.py", "f", 1, 2, lines};
    pm_mprun_t mp = {.statement = "f()",
                     .precision = 1,
                     .show_peak = 1,
                     .nblocks = 1,
                     .blocks = &block};
    pm_svg_point_t recent[] = {{0.0, 3.5}, {0.5, 7.25}};
    pm_live_t live = {.statement = "f()",
                      .elapsed_s = 2.5,
                      .rss_bytes = 7 * PM_MIB + PM_MIB / 4,
                      .peak_bytes = 9 * PM_MIB,
                      .recent = recent,
                      .nrecent = 2};
    pm_memit_t m = memit(peaks, 1, PM_MIB);
    char *text, *html, *mtext, *mhtml, *ltext, comma[16];
    json_t *lbundle;

    m.wall_s = walls;
    m.limit_bytes = 5 * PM_MIB / 2;
    m.cgroup_limit_bytes = 8 * PM_MIB;
    PM_CHECK_NEED_COMMA_LOCALE();
    snprintf(comma, sizeof comma, "%.2f", 3.5); /* the locale is in force */
    text = pm_memit_render_text(&m);
    html = pm_memit_render_html(&m);
    mtext = pm_mprun_render_text(&mp);
    mhtml = pm_mprun_render_html(&mp);
    ltext = pm_live_render_text(&live);
    lbundle = pm_live_bundle(&live, "d");
    pm_check_comma_locale_done();

    ck_assert_str_eq(comma, "3,50");
    ck_assert_str_eq(text, "peak memory: 3.50 MiB, increment: 2.50 MiB");
    ck_assert_ptr_nonnull(strstr(html, ">3.50 MiB<"));
    ck_assert_ptr_nonnull(strstr(html, ">2.50 MiB &mdash; exceeded<"));
    ck_assert_ptr_nonnull(strstr(html, ">43.8% of 8.00 MiB<"));
    ck_assert_ptr_nonnull(strstr(html, ">1.25 s<"));
    ck_assert_ptr_nonnull(strstr(mtext, "     2     11.2 MiB      7.2 MiB "
                                        "    11.5 MiB           1"));
    ck_assert_ptr_nonnull(strstr(mhtml, ">11.2 MiB<"));
    ck_assert_str_eq(ltext, "running 2.5 s \u00b7 now 7.2 MiB \u00b7 peak "
                            "9.0 MiB \u2581\u2588");
    const char *lhtml = json_string_value(
        json_object_get(json_object_get(lbundle, "data"), "text/html"));
    ck_assert_ptr_nonnull(lhtml);
    ck_assert_ptr_nonnull(strstr(lhtml, "points=\"1.0,"));
    ck_assert_ptr_null(strstr(lhtml, "1,0,"));
    free(text);
    free(html);
    free(mtext);
    free(mhtml);
    free(ltext);
    json_decref(lbundle);
}
END_TEST

/* pm_fmt_strtod reads "0.5" under de_DE (strtod would stop at '.'). */
START_TEST(test_fmt_strtod_ignores_decimal_comma_locale)
{
    char *end = NULL;
    double v;

    PM_CHECK_NEED_COMMA_LOCALE();
    v = pm_fmt_strtod("0.5", &end);
    pm_check_comma_locale_done();
    ck_assert_double_eq(v, 0.5);
    ck_assert_str_eq(end, "");
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"text", test_text_matches_memory_profiler_format},
        {"text", test_text_uses_highest_peak_of_repeats},
        {"text", test_text_rounds_to_two_decimals_like_python},
        {"text", test_text_shows_negative_increment},
        {"text", test_text_without_repeats_reports_baseline},
        {"text", test_peak_is_max_or_baseline},
        {"html", test_html_escape_escapes_all_five},
        {"html", test_html_escapes_statement_inside_code},
        {"html", test_html_table_shows_numbers_and_method},
        {"html", test_html_single_run_wall_time_is_plain},
        {"html", test_html_caption_shows_names_values},
        {"html", test_html_handles_missing_statement_and_method},
        {"html", test_html_statement_keeps_lines_and_indentation},
        {"html", test_html_statement_cut_with_ellipsis},
        {"html", test_html_quick_statement_is_one_compact_block},
        {"html", test_html_chart_only_when_it_shows_something},
        {"html", test_html_readable_without_svg_or_inline_style},
        {"html", test_json_timeline_never_exceeds_exact_peak},
        {"html", test_live_sparkline_spans_at_least_one_mib},
        {"html", test_live_html_drops_block_sparkline},
        {"html", test_renderers_ignore_decimal_comma_locale},
        {"html", test_fmt_strtod_ignores_decimal_comma_locale},
    };

    return pm_check_main("render", tests, PM_CHECK_COUNT(tests));
}
