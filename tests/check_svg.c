/* Check tests for SVG timelines: every document must be well-formed XML
 * (a small tag, quote and entity checker below), keep every coordinate
 * finite and inside its viewBox, and show what a user reads off the chart:
 * nice tick labels, the peak with its value, spans, the limit, the escaped
 * title, a legend. tests/data/protocol/timeline.svg is compared with fresh
 * output (PM_WRITE_FIXTURES=1 rewrites it) and parsed by
 * tests/test_svg_xml.py with xml.etree. */
#include "check_util.h"
#include "pm_protocol.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define GOLDEN "tests/data/protocol/timeline.svg"

/* Plot area of the default 720 x 360 document (render_svg.c's margins). */
#define PLOT_L 64.0
#define PLOT_T 32.0
#define PLOT_R 16.0
#define PLOT_B 44.0

#define MAX_ATTRS 16
#define MAX_DEPTH 16

typedef struct {
    char name[32];
    const char *value; /* in the document; ends at the quote */
    size_t len;
} attr_t;

typedef struct {
    char name[32];
    attr_t attrs[MAX_ATTRS];
    size_t nattrs;
    const char *text; /* character data right after the start tag */
    size_t text_len;
} elem_t;

typedef void (*visit_fn)(const elem_t *e, void *ctx);

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':';
}

static size_t read_name(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    while (name_char(s[n])) {
        n++;
    }
    ck_assert_msg(n > 0 && n < cap, "bad name at \"%.20s\"", s);
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

/* &amp; &lt; &gt; &quot; &apos; &#39; are the only references allowed. */
static size_t check_entity(const char *s)
{
    static const char *const ok[] = {"&amp;",  "&lt;",   "&gt;",
                                     "&quot;", "&apos;", "&#39;"};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strncmp(s, ok[i], strlen(ok[i])) == 0) {
            return strlen(ok[i]);
        }
    }
    ck_abort_msg("bad entity at \"%.12s\"", s);
    return 0;
}

/* Character data up to the next '<': legal characters and entities. */
static const char *check_text(const char *s)
{
    while (*s != '\0' && *s != '<') {
        unsigned char c = (unsigned char)*s;
        ck_assert_msg(c >= 0x20 || c == '\n' || c == '\t' || c == '\r',
                      "control character %#x in text", c);
        ck_assert_msg(c != '>', "bare '>' in text");
        s += c == '&' ? check_entity(s) : 1;
    }
    return s;
}

/* Walk a whole document: a declaration, one root element, balanced tags,
 * quoted attributes; calls visit for each start tag. */
static void walk_xml(const char *doc, visit_fn visit, void *ctx)
{
    char stack[MAX_DEPTH][32];
    size_t depth = 0, roots = 0;
    const char *s = doc;

    ck_assert_msg(strncmp(s, "<?xml version=\"1.0\"", 19) == 0,
                  "no XML declaration");
    s = strstr(s, "?>");
    ck_assert_ptr_nonnull(s);
    s += 2;
    while (*s != '\0') {
        if (*s != '<') {
            const char *start = s;
            s = check_text(s);
            if (depth == 0) {
                for (const char *p = start; p < s; p++) {
                    ck_assert_msg(*p == '\n' || *p == ' ',
                                  "text outside the root");
                }
            }
            continue;
        }
        if (s[1] == '/') {
            char name[32];
            ck_assert_msg(depth > 0, "close tag without open tag");
            s += 2 + read_name(s + 2, name, sizeof(name));
            ck_assert_msg(*s == '>', "bad close tag %s", name);
            s++;
            depth--;
            ck_assert_str_eq(name, stack[depth]);
            continue;
        }
        elem_t e = {0};
        ck_assert_msg(depth > 0 || roots++ == 0, "second root element");
        s += 1 + read_name(s + 1, e.name, sizeof(e.name));
        for (;;) {
            attr_t *a;
            char quote;
            if (*s == ' ') {
                s++;
                continue;
            }
            if (s[0] == '/' && s[1] == '>') {
                s += 2;
                visit(&e, ctx);
                break;
            }
            if (*s == '>') {
                s++;
                ck_assert_uint_lt(depth, MAX_DEPTH);
                strcpy(stack[depth++], e.name);
                e.text = s;
                e.text_len = (size_t)(strchrnul(s, '<') - s);
                visit(&e, ctx);
                break;
            }
            ck_assert_uint_lt(e.nattrs, MAX_ATTRS);
            a = &e.attrs[e.nattrs++];
            s += read_name(s, a->name, sizeof(a->name));
            ck_assert_msg(*s == '=', "attribute %s without =", a->name);
            quote = s[1];
            ck_assert_msg(quote == '"' || quote == '\'',
                          "attribute %s not quoted", a->name);
            s += 2;
            a->value = s;
            while (*s != quote) {
                ck_assert_msg(*s != '\0' && *s != '<',
                              "unterminated attribute %s", a->name);
                s += *s == '&' ? check_entity(s) : 1;
            }
            a->len = (size_t)(s - a->value);
            s++;
            ck_assert_msg(*s == ' ' || *s == '>' || *s == '/',
                          "no space after attribute %s", a->name);
        }
    }
    ck_assert_uint_eq(depth, 0);
    ck_assert_uint_eq(roots, 1);
}

static const attr_t *attr(const elem_t *e, const char *name)
{
    for (size_t i = 0; i < e->nattrs; i++) {
        if (strcmp(e->attrs[i].name, name) == 0) {
            return &e->attrs[i];
        }
    }
    return NULL;
}

static int attr_is(const elem_t *e, const char *name, const char *value)
{
    const attr_t *a = attr(e, name);
    return a != NULL && a->len == strlen(value) &&
           strncmp(a->value, value, a->len) == 0;
}

/* A number as the renderer prints coordinates: finite, %.2f or integer. */
static double number(const char *s, const char **end)
{
    char *e;
    double v = strtod(s, &e);

    ck_assert_msg(e != s, "no number at \"%.12s\"", s);
    ck_assert_msg(isfinite(v), "non-finite number at \"%.12s\"", s);
    *end = e;
    return v;
}

static double num_attr(const elem_t *e, const char *name)
{
    const attr_t *a = attr(e, name);
    const char *end;
    double v;

    ck_assert_msg(a != NULL, "<%s> has no %s", e->name, name);
    v = number(a->value, &end);
    ck_assert_msg(end == a->value + a->len, "%s=\"%.*s\" is not a number",
                  name, (int)a->len, a->value);
    return v;
}

/* What a document holds, gathered by visit_collect. */
typedef struct {
    double w, h; /* from the root's width and height */
    size_t polylines, series_dots, texts, legends;
    char strokes[8][16]; /* polyline colours, first 8 */
    char texts_seen[4096];
} doc_t;

static void inside(const doc_t *d, double x, double y, const char *what)
{
    ck_assert_msg(x >= 0 && x <= d->w && y >= 0 && y <= d->h,
                  "%s (%.2f, %.2f) outside the %gx%g viewBox", what, x, y,
                  d->w, d->h);
}

static void visit_collect(const elem_t *e, void *ctx)
{
    doc_t *d = ctx;

    if (strcmp(e->name, "svg") == 0) {
        char want[64];
        d->w = num_attr(e, "width");
        d->h = num_attr(e, "height");
        snprintf(want, sizeof(want), "0 0 %g %g", d->w, d->h);
        ck_assert(attr_is(e, "viewBox", want));
        ck_assert(attr_is(e, "xmlns", "http://www.w3.org/2000/svg"));
        ck_assert(attr_is(e, "version", "1.1"));
    } else if (strcmp(e->name, "polyline") == 0) {
        const attr_t *pts = attr(e, "points");
        const char *s = pts->value, *end = pts->value + pts->len;
        size_t n = 0;
        if (d->polylines < 8) {
            const attr_t *st = attr(e, "stroke");
            snprintf(d->strokes[d->polylines], 16, "%.*s", (int)st->len,
                     st->value);
        }
        d->polylines++;
        while (s < end) {
            double x = number(s, &s), y;
            ck_assert_msg(*s == ',', "points: no comma");
            y = number(s + 1, &s);
            /* lines stay in the plot area, not only in the view */
            ck_assert_msg(x >= PLOT_L && x <= d->w - PLOT_R && y >= PLOT_T &&
                              y <= d->h - PLOT_B,
                          "polyline point (%.2f, %.2f) outside the plot", x,
                          y);
            n++;
            s += *s == ' ';
        }
        ck_assert_uint_ge(n, 2);
    } else if (strcmp(e->name, "circle") == 0) {
        double x = num_attr(e, "cx"), y = num_attr(e, "cy");
        inside(d, x, y, "circle");
        ck_assert_msg(x >= PLOT_L && x <= d->w - PLOT_R && y >= PLOT_T &&
                          y <= d->h - PLOT_B,
                      "circle outside the plot");
        d->series_dots += attr_is(e, "class", "series");
    } else if (strcmp(e->name, "line") == 0) {
        inside(d, num_attr(e, "x1"), num_attr(e, "y1"), "line start");
        inside(d, num_attr(e, "x2"), num_attr(e, "y2"), "line end");
    } else if (strcmp(e->name, "rect") == 0) {
        double x = num_attr(e, "x"), y = num_attr(e, "y");
        double w = num_attr(e, "width"), h = num_attr(e, "height");
        ck_assert(w >= 0 && h >= 0);
        inside(d, x, y, "rect");
        inside(d, x + w, y + h, "rect corner");
    } else if (strcmp(e->name, "text") == 0) {
        const attr_t *tr = attr(e, "transform");
        inside(d, num_attr(e, "x"), num_attr(e, "y"), "text");
        if (tr != NULL) {
            const char *s = tr->value + strlen("rotate(");
            double angle, x, y;
            ck_assert(strncmp(tr->value, "rotate(", 7) == 0);
            angle = number(s, &s);
            x = number(s, &s);
            y = number(s, &s);
            ck_assert_double_eq(angle, -90);
            inside(d, x, y, "rotation centre");
        }
        d->texts++;
        /* "|" separated, to look texts up whole */
        strncat(d->texts_seen, "|",
                sizeof(d->texts_seen) - strlen(d->texts_seen) - 1);
        strncat(d->texts_seen, e->text,
                e->text_len < sizeof(d->texts_seen) - strlen(d->texts_seen) - 1
                    ? e->text_len
                    : sizeof(d->texts_seen) - strlen(d->texts_seen) - 1);
    } else if (strcmp(e->name, "g") == 0) {
        d->legends += attr_is(e, "class", "legend");
    }
}

/* Render, check well-formedness and coordinates; caller frees. */
static char *render(const pm_svg_opts_t *o, doc_t *d)
{
    char *svg = pm_svg_timeline(o);

    ck_assert_ptr_nonnull(svg);
    memset(d, 0, sizeof(*d));
    walk_xml(svg, visit_collect, d);
    strncat(d->texts_seen, "|",
            sizeof(d->texts_seen) - strlen(d->texts_seen) - 1);
    ck_assert_ptr_null(strstr(svg, "nan"));
    ck_assert_ptr_null(strstr(svg, "inf"));
    return svg;
}

static int has_text(const doc_t *d, const char *text)
{
    char want[256];

    snprintf(want, sizeof(want), "|%s|", text);
    return strstr(d->texts_seen, want) != NULL;
}

/* 0 .. 10 s, rising to 100 MiB at 6 s, then down to 40. */
static const pm_svg_point_t ramp[] = {
    {0.0, 20.0},  {2.0, 50.0}, {4.0, 80.0},
    {6.0, 100.0}, {8.0, 60.0}, {10.0, 40.0},
};
#define NRAMP (sizeof(ramp) / sizeof(ramp[0]))

START_TEST(test_svg_timeline_is_well_formed_svg_document)
{
    pm_svg_series_t s = {"main", ramp, NRAMP};
    pm_svg_opts_t o = {.title = "run", .series = &s, .nseries = 1};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert_double_eq(d.w, 720);
    ck_assert_double_eq(d.h, 360);
    ck_assert_uint_eq(d.polylines, 1);
    ck_assert(has_text(&d, "run"));
    ck_assert(has_text(&d, "time (s)"));
    ck_assert(has_text(&d, "memory (MiB)"));
    ck_assert_uint_eq(d.legends, 0); /* one series: no legend */
    ck_assert_ptr_null(strstr(svg, "<script"));
    ck_assert_ptr_null(strstr(svg, "href"));
    free(svg);
}
END_TEST

/* y: top 110 (10% headroom) -> step 20; x: 0..10 -> step 2. */
START_TEST(test_svg_timeline_ticks_are_nice_steps)
{
    static const pm_svg_point_t small[] = {{0.0, 0.1}, {0.35, 0.5}};
    pm_svg_series_t s = {"main", ramp, NRAMP};
    pm_svg_opts_t o = {.series = &s, .nseries = 1};
    doc_t d;
    char *svg = render(&o, &d);

    for (int v = 0; v <= 100; v += 20) {
        char label[16];
        snprintf(label, sizeof(label), "%d", v);
        ck_assert_msg(has_text(&d, label), "no y tick %s", label);
    }
    ck_assert(!has_text(&d, "120"));
    for (int v = 0; v <= 10; v += 2) {
        char label[16];
        snprintf(label, sizeof(label), "%d", v);
        ck_assert_msg(has_text(&d, label), "no x tick %s", label);
    }
    ck_assert(!has_text(&d, "1"));
    ck_assert(!has_text(&d, "3"));
    free(svg);

    /* 0.35 s / 8 -> 0.05 s, labelled in ms; 0.55 MiB / 6 -> 0.1 */
    s = (pm_svg_series_t){"main", small, 2};
    svg = render(&o, &d);
    ck_assert(has_text(&d, "time (ms)"));
    ck_assert(has_text(&d, "50"));
    ck_assert(has_text(&d, "350"));
    ck_assert(!has_text(&d, "400"));
    ck_assert(has_text(&d, "0.1"));
    ck_assert(has_text(&d, "0.5"));
    ck_assert(!has_text(&d, "0.6"));
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_marks_peak_with_value)
{
    static const pm_svg_point_t pts[] = {
        {0.0, 10.0}, {5.6, 123.4}, {7.0, 123.4}, {10.0, 50.0}};
    static const pm_svg_point_t child[] = {{0.0, 5.0}, {10.0, 130.0}};
    pm_svg_series_t s[2] = {{"main", pts, 4}, {"child 7", child, 2}};
    pm_svg_opts_t o = {.series = s, .nseries = 1, .mark_peak = 1};
    doc_t d;
    char *svg = render(&o, &d);

    /* the first of equal highs; y: 10% headroom puts it at 1/1.1 */
    ck_assert(has_text(&d, "peak 123.4 MiB at 5.6 s"));
    ck_assert_ptr_nonnull(strstr(svg, "<circle cx=\"422.40\" cy=\"57.82\""));
    free(svg);

    o.nseries = 2; /* a higher child: still the main series' peak */
    svg = render(&o, &d);
    ck_assert(has_text(&d, "peak 123.4 MiB at 5.6 s"));
    free(svg);

    o.mark_peak = 0;
    svg = render(&o, &d);
    ck_assert_ptr_null(strstr(svg, "peak "));
    free(svg);
}
END_TEST

/* Lowest y (highest value) of the first polyline's points. */
static double polyline_top(const char *svg)
{
    const char *s = strstr(svg, "<polyline"), *end;
    double top = DBL_MAX;

    ck_assert_ptr_nonnull(s);
    s = strstr(s, "points=\"") + strlen("points=\"");
    end = strchr(s, '"');
    while (s < end) {
        number(s, &s);
        top = fmin(top, number(s + 1, &s));
        s += *s == ' ';
    }
    return top;
}

/* With the exact peak known (the kernel's high-water mark), the chart
 * agrees with the table: a sample read above it is drawn at it, and the
 * peak mark shows the exact value (two decimals, as the table). */
START_TEST(test_svg_timeline_exact_peak_caps_samples_and_is_marked)
{
    static const pm_svg_point_t pts[] = {
        {0.0, 10.0}, {4.0, 120.3}, {6.0, 119.0}, {10.0, 50.0}};
    pm_svg_series_t s = {"main", pts, 4};
    pm_svg_opts_t o = {
        .series = &s, .nseries = 1, .mark_peak = 1, .peak_mib = 120.0};
    doc_t d;
    char *svg = render(&o, &d);
    const char *ring = strstr(svg, "<g class=\"peak\"><circle cx=\"");
    const char *end;

    ck_assert(has_text(&d, "peak 120.00 MiB at 4.0 s"));
    ck_assert_ptr_nonnull(ring);
    ring = strstr(ring, "cy=\"") + strlen("cy=\"");
    double cy = number(ring, &end);
    ck_assert_double_eq_tol(polyline_top(svg), cy, 0.006);
    free(svg);

    /* the sampler missed the peak: the mark still shows the exact value,
     * above the line, at the time of the highest sample */
    o.peak_mib = 130.0;
    svg = render(&o, &d);
    ck_assert(has_text(&d, "peak 130.00 MiB at 4.0 s"));
    ring = strstr(strstr(svg, "<g class=\"peak\">"), "cy=\"") + 4;
    ck_assert_double_lt(number(ring, &end), polyline_top(svg));
    free(svg);
}
END_TEST

/* The y of the peak label's text and of its ring. */
static void peak_label_y(const char *svg, double *text_y, double *ring_y)
{
    const char *g = strstr(svg, "<g class=\"peak\">"), *end;

    ck_assert_ptr_nonnull(g);
    *ring_y = number(strstr(g, "cy=\"") + 4, &end);
    *text_y = number(strstr(strstr(g, "<text"), " y=\"") + 4, &end);
}

/* A %memit chart (480 x 200): a 70 MiB rise on a 364 MiB baseline fills
 * the height (the axis starts near the baseline, which is marked, not at
 * 0); a 70 ms run is labelled in ms; the peak label sits above its ring,
 * clear of the line (which never goes above the peak), even with the peak
 * at the top of the data. */
START_TEST(test_svg_timeline_shows_rise_from_baseline_in_fitting_units)
{
    static const pm_svg_point_t pts[] = {
        {0.0, 364.0}, {0.02, 400.0}, {0.04, 434.0}, {0.06, 380.0}};
    pm_svg_series_t s = {"RSS", pts, 4};
    pm_svg_opts_t o = {.series = &s,
                       .nseries = 1,
                       .width = 480,
                       .height = 200,
                       .mark_peak = 1,
                       .peak_mib = 434.0,
                       .baseline_mib = 364.0,
                       .t_end = 0.07};
    doc_t d;
    double text_y, ring_y;
    char *svg = render(&o, &d);

    ck_assert(has_text(&d, "time (ms)"));
    ck_assert(has_text(&d, "70"));  /* the statement's end */
    ck_assert(!has_text(&d, "80")); /* and no further */
    ck_assert(!has_text(&d, "0.07"));
    ck_assert(has_text(&d, "peak 434.00 MiB at 40.0 ms"));
    ck_assert(has_text(&d, "baseline 364.00 MiB"));
    /* the memory axis is not from 0 (ticks 0, 100, 200 ...) */
    ck_assert(!has_text(&d, "100"));
    ck_assert(!has_text(&d, "200"));
    ck_assert(has_text(&d, "380")); /* but ticks through the rise */
    ck_assert(has_text(&d, "420"));
    ck_assert_ptr_nonnull(strstr(svg, "<g class=\"baseline\">"));
    /* the rise spans most of the 124 px plot */
    double top = polyline_top(svg);
    ck_assert_double_lt(top, PLOT_T + 40.0);
    peak_label_y(svg, &text_y, &ring_y);
    ck_assert_double_eq_tol(ring_y, top, 0.006);
    /* the text's descent (~3 px) stays above the line's top */
    ck_assert_double_lt(text_y + 3.0, top - 0.75);
    ck_assert_double_gt(text_y - 11.0, 0.0); /* and in view */
    free(svg);

    /* 70 us: microseconds, the axis ends with the statement */
    static const pm_svg_point_t quick[] = {{0.0, 364.0}, {40e-6, 400.0}};
    s = (pm_svg_series_t){"RSS", quick, 2};
    o.peak_mib = 400.0;
    o.t_end = 70e-6;
    svg = render(&o, &d);
    ck_assert(has_text(&d, "time (\u00b5s)"));
    ck_assert(has_text(&d, "70"));
    ck_assert(!has_text(&d, "80"));
    ck_assert(has_text(&d, "peak 400.00 MiB at 40.0 \u00b5s"));
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_shades_function_spans)
{
    pm_svg_series_t s = {"main", ramp, NRAMP};
    pm_svg_span_t spans[] = {{"__main__.load", 2.0, 5.0, 0},
                             {"f<x>&", 9.0, 7.0, 0}, /* reversed */
                             {"bad", NAN, 1.0, 0}};
    pm_svg_opts_t o = {
        .series = &s, .nseries = 1, .spans = spans, .nspans = 3};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert(has_text(&d, "__main__.load"));
    ck_assert(has_text(&d, "f&lt;x&gt;&amp;"));
    ck_assert(!has_text(&d, "bad"));
    /* 2..5 s of 0..10 over 640 px from x = 64 */
    ck_assert_ptr_nonnull(strstr(svg, "<rect x=\"192.00\" y=\"32.00\" "
                                      "width=\"192.00\" height=\"284.00\" "
                                      "fill=\"#ffa500\" fill-opacity"));
    ck_assert_ptr_nonnull(strstr(svg, "<rect x=\"512.00\" y=\"32.00\" "
                                      "width=\"128.00\""));
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_without_samples_draws_axes_only)
{
    pm_svg_series_t s = {"main", NULL, 0};
    pm_svg_opts_t o = {
        .title = "empty", .series = &s, .nseries = 1, .mark_peak = 1};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert(has_text(&d, "no samples"));
    ck_assert(has_text(&d, "time (s)"));
    ck_assert(has_text(&d, "memory (MiB)"));
    ck_assert(has_text(&d, "0.0")); /* 0..1 on both axes */
    ck_assert(has_text(&d, "1.0"));
    ck_assert_uint_eq(d.polylines, 0);
    ck_assert_uint_eq(d.series_dots, 0);
    ck_assert_ptr_null(strstr(svg, "peak "));
    free(svg);

    o.series = NULL; /* no series at all */
    o.nseries = 0;
    svg = render(&o, &d);
    ck_assert(has_text(&d, "no samples"));
    free(svg);

    /* only unusable samples */
    static const pm_svg_point_t junk[] = {{NAN, 1.0}, {1.0, INFINITY}};
    s = (pm_svg_series_t){"main", junk, 2};
    o.series = &s;
    o.nseries = 1;
    svg = render(&o, &d);
    ck_assert(has_text(&d, "no samples"));
    ck_assert_uint_eq(d.polylines, 0);
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_single_sample_is_a_dot)
{
    static const pm_svg_point_t one[] = {{0.0, 5.0}};
    pm_svg_series_t s = {"main", one, 1};
    pm_svg_opts_t o = {.series = &s, .nseries = 1, .mark_peak = 1};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert_uint_eq(d.polylines, 0);
    ck_assert_uint_eq(d.series_dots, 1);
    ck_assert(has_text(&d, "peak 5.0 MiB at 0.0 s"));
    ck_assert(!has_text(&d, "no samples"));
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_escapes_title)
{
    pm_svg_series_t s = {"a\"b'c", ramp, NRAMP};
    pm_svg_series_t two[2] = {s, {"<i>", ramp, 2}};
    pm_svg_opts_t o = {.title = "<b>&", .series = two, .nseries = 2};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert(has_text(&d, "&lt;b&gt;&amp;"));
    ck_assert_ptr_null(strstr(svg, "<b>"));
    ck_assert(has_text(&d, "a&quot;b&#39;c"));
    ck_assert(has_text(&d, "&lt;i&gt;"));
    free(svg);

    /* control characters and broken UTF-8 are not XML: replaced */
    o.title = "a\x01"
              "b\xff"
              "c\xe2\x82"
              "d \xc3\xa9\xe2\x82\xac";
    svg = render(&o, &d);
    ck_assert(has_text(&d, "a b?c?d \xc3\xa9\xe2\x82\xac"));
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_draws_dashed_limit_line)
{
    pm_svg_series_t s = {"main", ramp, NRAMP};
    pm_svg_opts_t o = {.series = &s, .nseries = 1, .limit_mib = 512.0};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert(has_text(&d, "limit 512.0 MiB"));
    /* the limit sets the range (512 * 1.1): its line sits at 1/1.1 */
    ck_assert_ptr_nonnull(strstr(svg, "<line x1=\"64.00\" y1=\"57.82\" "
                                      "x2=\"704.00\" y2=\"57.82\" "
                                      "stroke=\"#d62728\" "
                                      "stroke-dasharray=\"6,4\"/>"));
    ck_assert(has_text(&d, "500"));
    free(svg);

    o.limit_mib = 50.0; /* below the data: the data sets the range */
    svg = render(&o, &d);
    ck_assert(has_text(&d, "limit 50.0 MiB"));
    ck_assert(has_text(&d, "100"));
    ck_assert(!has_text(&d, "500"));
    free(svg);

    o.limit_mib = 0; /* no limit */
    svg = render(&o, &d);
    ck_assert_ptr_null(strstr(svg, "limit"));
    ck_assert_ptr_null(strstr(svg, "dasharray"));
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_legend_names_each_series)
{
    static const pm_svg_point_t c1[] = {{0, 5}, {10, 30}};
    static const pm_svg_point_t c2[] = {{1, 8}, {9, 12}};
    pm_svg_series_t s[3] = {
        {"main", ramp, NRAMP}, {"child 4242", c1, 2}, {"child 4243", c2, 2}};
    pm_svg_opts_t o = {.series = s, .nseries = 3};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert_uint_eq(d.legends, 1);
    ck_assert_uint_eq(d.polylines, 3);
    ck_assert(has_text(&d, "main"));
    ck_assert(has_text(&d, "child 4242"));
    ck_assert(has_text(&d, "child 4243"));
    ck_assert_str_ne(d.strokes[0], d.strokes[1]);
    ck_assert_str_ne(d.strokes[0], d.strokes[2]);
    ck_assert_str_ne(d.strokes[1], d.strokes[2]);
    free(svg);
}
END_TEST

START_TEST(test_svg_timeline_legend_elides_what_does_not_fit)
{
    pm_svg_series_t s[40];
    pm_svg_opts_t o = {.series = s, .nseries = 40, .height = 160};
    doc_t d;
    char *svg;

    for (int i = 0; i < 40; i++) {
        s[i] = (pm_svg_series_t){"child", ramp, NRAMP};
    }
    svg = render(&o, &d);
    ck_assert_double_eq(d.h, 160);
    /* 84 px of plot: 5 rows, the last says how many are left out */
    ck_assert(has_text(&d, "+36 more"));
    ck_assert_uint_eq(d.polylines, 40);
    free(svg);
}
END_TEST

/* Hostile numbers and sizes: the document stays valid and in view. */
START_TEST(test_svg_timeline_keeps_coordinates_in_view)
{
    static const pm_svg_point_t wild[] = {
        {-5.0, -20.0}, {NAN, 3.0},  {1.0, NAN},    {2.0, INFINITY},
        {3.0, 1e300},  {1e15, 1.0}, {4.0, -1e300}, {5.0, 7.0}};
    pm_svg_series_t s = {"main", wild, 8};
    pm_svg_span_t spans[] = {{"x", -1e300, 1e300, 0}, {NULL, 5.0, 5.0, 0}};
    pm_svg_opts_t o = {.title = NULL,
                       .series = &s,
                       .nseries = 1,
                       .spans = spans,
                       .nspans = 2,
                       .mark_peak = 1,
                       .limit_mib = NAN};
    static const int sizes[][2] = {{0, 0}, {1, 1}, {-5, 99999}, {300, 0}};
    doc_t d;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *svg;
        o.width = sizes[i][0];
        o.height = sizes[i][1];
        svg = render(&o, &d);
        ck_assert_uint_eq(d.polylines, 1);
        ck_assert(d.w >= 240 && d.h >= 160 && d.w <= 20000 && d.h <= 20000);
        free(svg);
    }
    ck_assert_double_eq(d.w, 300);
    ck_assert_double_eq(d.h, 360);
}
END_TEST

START_TEST(test_svg_timeline_uses_given_size)
{
    pm_svg_series_t s = {"main", ramp, NRAMP};
    pm_svg_opts_t o = {
        .series = &s, .nseries = 1, .width = 1000, .height = 500};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert_double_eq(d.w, 1000);
    ck_assert_double_eq(d.h, 500);
    ck_assert_ptr_nonnull(strstr(svg, "viewBox=\"0 0 1000 500\""));
    free(svg);
}
END_TEST

/* The one tests/test_svg_xml.py parses: everything at once. Calls
 * pm_svg_timeline only (no checks, which parse numbers in the current
 * locale). */
static char *golden_svg_unchecked(void)
{
    static const pm_svg_point_t main_pts[] = {
        {0.0, 12.5},  {0.5, 30.25}, {1.0, 96.0}, {1.5, 180.75},
        {2.0, 150.0}, {2.5, 60.5},  {3.0, 58.0}};
    static const pm_svg_point_t child_pts[] = {
        {0.5, 10.0}, {1.0, 40.0}, {2.0, 45.5}, {2.5, 5.0}};
    pm_svg_series_t s[2] = {{"main", main_pts, 7},
                            {"child 4242", child_pts, 4}};
    pm_svg_span_t spans[] = {{"__main__.load", 0.4, 1.2, 0},
                             {"pkg.mod.step", 1.3, 2.2, 0}};
    pm_svg_opts_t o = {.title = "train.py <b>&amp; co",
                       .series = s,
                       .nseries = 2,
                       .spans = spans,
                       .nspans = 2,
                       .mark_peak = 1,
                       .limit_mib = 200.0};
    char *svg = pm_svg_timeline(&o);

    ck_assert_ptr_nonnull(svg);
    return svg;
}

static char *golden_svg(void)
{
    char *svg = golden_svg_unchecked();
    doc_t d;

    memset(&d, 0, sizeof(d));
    walk_xml(svg, visit_collect, &d);
    ck_assert_uint_eq(d.polylines, 2);
    return svg;
}

START_TEST(test_svg_timeline_matches_committed_fixture)
{
    char *svg = golden_svg(), *committed;
    FILE *f;
    long len;

    if (getenv("PM_WRITE_FIXTURES") != NULL) {
        f = fopen(GOLDEN, "wb");
        ck_assert_ptr_nonnull(f);
        fputs(svg, f);
        ck_assert_int_eq(fclose(f), 0);
    }
    f = fopen(GOLDEN, "rb");
    ck_assert_msg(f != NULL, "%s: %s", GOLDEN, strerror(errno));
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    committed = calloc((size_t)len + 1, 1);
    ck_assert_ptr_nonnull(committed);
    ck_assert_uint_eq(fread(committed, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    ck_assert_str_eq(svg, committed);
    free(committed);
    free(svg);
}
END_TEST

/* Under a locale with a decimal comma numbers still use ".". The test
 * builds de_DE.UTF-8 itself when it is not installed (check_util.h). */
START_TEST(test_svg_timeline_ignores_decimal_comma_locale)
{
    char *want, *got;

    PM_CHECK_NEED_COMMA_LOCALE();
    got = golden_svg_unchecked();
    pm_check_comma_locale_done();
    want = golden_svg();
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
}
END_TEST

/* The first tests written for the renderer, with the stricter checks. */
static const pm_svg_point_t ramp5[] = {
    {0.0, 100.0}, {1.0, 300.0}, {2.0, 812.5}, {3.0, 200.0}, {4.0, 150.0}};

START_TEST(test_svg_is_well_formed_with_axes_and_title)
{
    pm_svg_series_t se = {.label = "main", .points = ramp5, .n = 5};
    pm_svg_opts_t o = {.title = "run <b>&</b>", .series = &se, .nseries = 1};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert_ptr_nonnull(strstr(svg, "viewBox=\"0 0 720 360\""));
    ck_assert(has_text(&d, "time (s)"));
    ck_assert(has_text(&d, "memory (MiB)"));
    ck_assert(has_text(&d, "run &lt;b&gt;&amp;&lt;/b&gt;"));
    ck_assert_ptr_null(strstr(svg, "<b>"));
    free(svg);
}
END_TEST

START_TEST(test_svg_marks_peak_with_value_and_time)
{
    pm_svg_series_t se = {.label = "main", .points = ramp5, .n = 5};
    pm_svg_opts_t o = {.series = &se,
                       .nseries = 1,
                       .mark_peak = 1,
                       .width = 480,
                       .height = 200};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert_double_eq(d.w, 480);
    ck_assert_double_eq(d.h, 200);
    ck_assert(has_text(&d, "peak 812.5 MiB at 2.0 s"));
    free(svg);
}
END_TEST

START_TEST(test_svg_draws_spans_limit_and_legend)
{
    static const pm_svg_point_t child[] = {{0.5, 50.0}, {2.5, 70.0}};
    pm_svg_series_t se[2] = {{.label = "main", .points = ramp5, .n = 5},
                             {.label = "child 42", .points = child, .n = 2}};
    pm_svg_span_t spans[] = {
        {.name = "mod.load", .start_t = 0.5, .end_t = 1.5}};
    pm_svg_opts_t o = {.series = se,
                       .nseries = 2,
                       .spans = spans,
                       .nspans = 1,
                       .limit_mib = 1000.0};
    doc_t d;
    char *svg = render(&o, &d);

    ck_assert(has_text(&d, "mod.load"));
    ck_assert(has_text(&d, "limit 1000.0 MiB"));
    ck_assert_ptr_nonnull(strstr(svg, "stroke-dasharray"));
    ck_assert(has_text(&d, "child 42"));
    ck_assert_uint_eq(d.legends, 1);
    free(svg);
}
END_TEST

/* --flame: one bar per call, stacked by level (level 1 above level 0),
 * the name inside and as the tooltip; no bands. */
START_TEST(test_svg_flame_stacks_calls_by_level)
{
    pm_svg_series_t se = {.label = "main", .points = ramp5, .n = 5};
    pm_svg_span_t spans[] = {
        {.name = "m.outer", .start_t = 0.5, .end_t = 3.5, .level = 0},
        {.name = "m.inner<&>", .start_t = 1.0, .end_t = 2.0, .level = 1}};
    pm_svg_opts_t o = {.series = &se, .nseries = 1, .spans = spans,
                       .nspans = 2, .flame = 1};
    doc_t d;
    char *svg = render(&o, &d);
    const char *outer = strstr(svg, "<title>m.outer</title><rect");
    const char *inner = strstr(svg, "<title>m.inner&lt;&amp;&gt;</title>");
    double y_outer, y_inner;

    ck_assert_ptr_nonnull(outer);
    ck_assert_ptr_nonnull(inner);
    ck_assert_ptr_null(strstr(svg, "class=\"span\""));
    ck_assert_int_eq(sscanf(strstr(outer, " y=\"") + 4, "%lf", &y_outer), 1);
    ck_assert_int_eq(
        sscanf(strstr(strstr(inner, "<rect"), " y=\"") + 4, "%lf", &y_inner),
        1);
    ck_assert_double_lt(y_inner, y_outer);
    free(svg);
}
END_TEST

/* The hostile ranges a crafted .dat gives `peakmem plot`: whatever range
 * finite numbers make, the axes get a handful of ticks and the document
 * comes back. (A tick loop stepping by k++ stood still once k * step
 * passed 2^53 steps, or after a range overflowed to inf, and wrote ticks
 * until memory ran out.) Outside ASan, memory is capped at 1 GiB so such
 * a loop fails fast here instead of taking the host down. */
static void cap_memory(void)
{
#if !defined(__SANITIZE_ADDRESS__)
    struct rlimit lim = {1UL << 30, 1UL << 30};
    setrlimit(RLIMIT_AS, &lim);
#endif
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (s = strstr(s, what); s != NULL; s = strstr(s + 1, what)) {
        n++;
    }
    return n;
}

START_TEST(test_svg_timeline_draws_any_finite_range)
{
    /* `FUNC f 1 -1.7e308 1 1.7e308` after `MEM 1 0` */
    static const pm_svg_point_t one[] = {{0.0, 1.0}};
    pm_svg_span_t wide[] = {{"f", -1.7e308, 1.7e308, 0}};
    /* MEM and CHLD samples DBL_MAX apart; the MiB near DBL_MAX */
    static const pm_svg_point_t far[] = {{-DBL_MAX, 1.0}, {DBL_MAX, 2.0}};
    static const pm_svg_point_t huge[] = {{0.0, 1e308}, {1.0, DBL_MAX}};
    /* a range too small to halve */
    static const pm_svg_point_t tiny[] = {{0.0, 1.0}, {5e-324, 2.0}};
    pm_svg_series_t s = {"main", one, 1};
    pm_svg_opts_t o = {.series = &s,
                       .nseries = 1,
                       .spans = wide,
                       .nspans = 1,
                       .mark_peak = 1};
    doc_t d;
    char *svg;

    cap_memory();
    svg = render(&o, &d);
    /* 3.4e308 s / 8 -> steps of 5e307, in %g form */
    ck_assert(has_text(&d, "-1.5e+308"));
    ck_assert(has_text(&d, "0"));
    ck_assert(has_text(&d, "1.5e+308"));
    ck_assert_uint_eq(count(svg, "text-anchor=\"middle\">"), 7 + 1);
    /* the span covers the plot; the sample sits in the middle */
    ck_assert_ptr_nonnull(strstr(svg, "<rect x=\"64.00\" y=\"32.00\" "
                                      "width=\"640.00\""));
    ck_assert_ptr_nonnull(strstr(svg, "<circle class=\"series\" "
                                      "cx=\"384.00\""));
    free(svg);

    o.spans = NULL;
    o.nspans = 0;
    s = (pm_svg_series_t){"main", far, 2};
    svg = render(&o, &d);
    ck_assert_ptr_nonnull(strstr(svg, "points=\"64.00,"));
    ck_assert_ptr_nonnull(strstr(svg, " 704.00,"));
    ck_assert_uint_le(count(svg, "<text"), 40);
    free(svg);

    s = (pm_svg_series_t){"main", huge, 2};
    svg = render(&o, &d);
    /* no headroom left above DBL_MAX: 0 .. 1.5e308 in steps of 5e307 */
    ck_assert(has_text(&d, "1.5e+308"));
    ck_assert_uint_eq(count(svg, "text-anchor=\"end\">"), 4);
    free(svg);

    s = (pm_svg_series_t){"main", tiny, 2};
    svg = render(&o, &d);
    ck_assert_uint_eq(d.polylines, 1);
    ck_assert_uint_le(count(svg, "<text"), 40);
    free(svg);
}
END_TEST

int main(void)
{
    const pm_check_tcase_t tcases[] = {
        {"hostile ranges", 10, NULL, NULL},
    };
    const pm_check_test_t tests[] = {
        {"svg", test_svg_timeline_is_well_formed_svg_document},
        {"svg", test_svg_timeline_ticks_are_nice_steps},
        {"svg", test_svg_timeline_marks_peak_with_value},
        {"svg", test_svg_timeline_exact_peak_caps_samples_and_is_marked},
        {"svg", test_svg_timeline_shows_rise_from_baseline_in_fitting_units},
        {"svg", test_svg_timeline_shades_function_spans},
        {"svg", test_svg_timeline_without_samples_draws_axes_only},
        {"svg", test_svg_timeline_single_sample_is_a_dot},
        {"svg", test_svg_timeline_escapes_title},
        {"svg", test_svg_timeline_draws_dashed_limit_line},
        {"svg", test_svg_timeline_legend_names_each_series},
        {"svg", test_svg_timeline_legend_elides_what_does_not_fit},
        {"svg", test_svg_timeline_keeps_coordinates_in_view},
        {"svg", test_svg_timeline_uses_given_size},
        {"svg", test_svg_timeline_matches_committed_fixture},
        {"svg", test_svg_timeline_ignores_decimal_comma_locale},
        {"svg", test_svg_is_well_formed_with_axes_and_title},
        {"svg", test_svg_marks_peak_with_value_and_time},
        {"svg", test_svg_draws_spans_limit_and_legend},
        {"svg", test_svg_flame_stacks_calls_by_level},
        {"hostile ranges", test_svg_timeline_draws_any_finite_range},
    };

    return pm_check_run(pm_check_suite("svg", tests, PM_CHECK_COUNT(tests),
                                       tcases, PM_CHECK_COUNT(tcases)));
}
