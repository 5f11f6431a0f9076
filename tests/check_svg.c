/* Check tests for the SVG timeline renderer (protocol/render_svg.c): a
 * well-formed standalone document, every coordinate inside the picture,
 * the peak, spans and limit drawn and labelled, the title escaped, and
 * empty or single-sample series. */
#include "check_util.h"
#include "pm_protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tags balance: every <x ...> is closed by </x> or self-closed, in order;
 * attribute values are quoted; text holds no raw '<' or '&' that is not
 * an entity. Returns 1 when well formed. */
static int well_formed(const char *s)
{
    char stack[64][32];
    int depth = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '&') {
            const char *semi = strchr(p, ';');
            if (semi == NULL || semi - p > 8) {
                return 0;
            }
            continue;
        }
        if (*p != '<') {
            continue;
        }
        const char *end = strchr(p, '>');
        if (end == NULL) {
            return 0;
        }
        int quotes = 0;
        for (const char *q = p; q < end; q++) {
            quotes += *q == '"';
        }
        if (quotes % 2 != 0) {
            return 0;
        }
        if (p[1] == '?' || p[1] == '!') {
            p = end;
            continue;
        }
        char name[32];
        int closing = p[1] == '/';
        sscanf(p + 1 + closing, "%31[a-zA-Z0-9]", name);
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
                return 0;
            }
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 64) {
                return 0;
            }
            strcpy(stack[depth++], name);
        }
        p = end;
    }
    return depth == 0;
}

/* Every x="..", y="..", cx, cy, x1.. and polyline point inside w x h. */
static int coordinates_inside(const char *s, double w, double h)
{
    static const char *const attrs[] = {" x=\"",  " y=\"",  " cx=\"",
                                        " cy=\"", " x1=\"", " x2=\"",
                                        " y1=\"", " y2=\""};
    for (size_t a = 0; a < sizeof attrs / sizeof attrs[0]; a++) {
        int is_x = strchr(attrs[a] + 1, 'x') != NULL;
        for (const char *p = strstr(s, attrs[a]); p != NULL;
             p = strstr(p + 1, attrs[a])) {
            double v = strtod(p + strlen(attrs[a]), NULL);
            if (v < 0 || v > (is_x ? w : h)) {
                return 0;
            }
        }
    }
    for (const char *p = strstr(s, "points=\""); p != NULL;
         p = strstr(p + 1, "points=\"")) {
        const char *q = p + 8;
        while (*q != '"') {
            char *end;
            double x = strtod(q, &end);
            if (*end != ',') {
                return 0;
            }
            double y = strtod(end + 1, &end);
            if (x < 0 || x > w || y < 0 || y > h) {
                return 0;
            }
            q = end;
            while (*q == ' ') {
                q++;
            }
        }
    }
    return 1;
}

static const pm_svg_point_t ramp[] = {
    {0.0, 100.0}, {1.0, 300.0}, {2.0, 812.5}, {3.0, 200.0}, {4.0, 150.0}};

START_TEST(test_svg_is_well_formed_with_axes_and_title)
{
    pm_svg_series_t se = {.label = "main", .points = ramp, .n = 5};
    pm_svg_opts_t o = {.title = "run <b>&</b>", .series = &se, .nseries = 1};
    char *svg = pm_svg_timeline(&o);
    ck_assert_ptr_nonnull(svg);
    ck_assert(well_formed(svg));
    ck_assert_ptr_nonnull(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
    ck_assert_ptr_nonnull(strstr(svg, "viewBox=\"0 0 720 360\""));
    ck_assert_ptr_nonnull(strstr(svg, "time (s)"));
    ck_assert_ptr_nonnull(strstr(svg, "memory (MiB)"));
    ck_assert_ptr_nonnull(strstr(svg, "run &lt;b&gt;&amp;&lt;/b&gt;"));
    ck_assert_ptr_null(strstr(svg, "<b>"));
    ck_assert_ptr_null(strstr(svg, "<script"));
    ck_assert(coordinates_inside(svg, 720, 360));
    free(svg);
}
END_TEST

START_TEST(test_svg_marks_peak_with_value_and_time)
{
    pm_svg_series_t se = {.label = "main", .points = ramp, .n = 5};
    pm_svg_opts_t o = {.series = &se,
                       .nseries = 1,
                       .mark_peak = 1,
                       .width = 480,
                       .height = 200};
    char *svg = pm_svg_timeline(&o);
    ck_assert_ptr_nonnull(strstr(svg, "peak 812.5 MiB at 2.0 s"));
    ck_assert(well_formed(svg));
    ck_assert(coordinates_inside(svg, 480, 200));
    free(svg);
}
END_TEST

START_TEST(test_svg_draws_spans_limit_and_legend)
{
    static const pm_svg_point_t child[] = {{0.5, 50.0}, {2.5, 70.0}};
    pm_svg_series_t se[2] = {{.label = "main", .points = ramp, .n = 5},
                             {.label = "child 42", .points = child, .n = 2}};
    pm_svg_span_t spans[] = {
        {.name = "mod.load", .start_t = 0.5, .end_t = 1.5}};
    pm_svg_opts_t o = {.series = se,
                       .nseries = 2,
                       .spans = spans,
                       .nspans = 1,
                       .limit_mib = 1000.0};
    char *svg = pm_svg_timeline(&o);
    ck_assert_ptr_nonnull(strstr(svg, "mod.load"));
    ck_assert_ptr_nonnull(strstr(svg, "limit 1000.0 MiB"));
    ck_assert_ptr_nonnull(strstr(svg, "stroke-dasharray"));
    ck_assert_ptr_nonnull(strstr(svg, "child 42"));
    ck_assert(well_formed(svg));
    ck_assert(coordinates_inside(svg, 720, 360));
    free(svg);
}
END_TEST

START_TEST(test_svg_empty_series_draws_axes_only)
{
    pm_svg_series_t se = {.label = "main", .points = NULL, .n = 0};
    pm_svg_opts_t o = {.series = &se, .nseries = 1, .mark_peak = 1};
    char *svg = pm_svg_timeline(&o);
    ck_assert_ptr_nonnull(strstr(svg, "no samples"));
    ck_assert_ptr_null(strstr(svg, "<polyline"));
    ck_assert(well_formed(svg));
    free(svg);
    o.nseries = 0;
    svg = pm_svg_timeline(&o);
    ck_assert_ptr_nonnull(strstr(svg, "no samples"));
    free(svg);
}
END_TEST

START_TEST(test_svg_single_sample_is_a_dot)
{
    static const pm_svg_point_t one[] = {{0.0, 42.0}};
    pm_svg_series_t se = {.label = "main", .points = one, .n = 1};
    pm_svg_opts_t o = {.series = &se, .nseries = 1, .mark_peak = 1};
    char *svg = pm_svg_timeline(&o);
    ck_assert_ptr_nonnull(strstr(svg, "<circle"));
    ck_assert_ptr_nonnull(strstr(svg, "peak 42.0 MiB"));
    ck_assert(well_formed(svg));
    ck_assert(coordinates_inside(svg, 720, 360));
    free(svg);
}
END_TEST

static Suite *svg_suite(void)
{
    Suite *s = suite_create("svg");
    TCase *tc = tcase_create("timeline");
    tcase_add_test(tc, test_svg_is_well_formed_with_axes_and_title);
    tcase_add_test(tc, test_svg_marks_peak_with_value_and_time);
    tcase_add_test(tc, test_svg_draws_spans_limit_and_legend);
    tcase_add_test(tc, test_svg_empty_series_draws_axes_only);
    tcase_add_test(tc, test_svg_single_sample_is_a_dot);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pm_check_run(svg_suite());
}
