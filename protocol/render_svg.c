/* Memory timelines as standalone SVG 1.1 documents (no script, no external
 * resource): axes with "nice" ticks, one polyline per series, function
 * spans, the peak and an optional limit, for notebooks and `peakmem plot`. */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_W 720
#define DEFAULT_H 360
/* Below this the axes and their labels no longer fit; above, nonsense. */
#define MIN_W 240
#define MIN_H 160
#define MAX_DIM 20000

/* Margins around the plot area: tick labels and axis titles, the title. */
#define MARGIN_L 64.0
#define MARGIN_R 16.0
#define MARGIN_T 32.0
#define MARGIN_B 44.0

#define TICKS_X 8
#define TICKS_Y 6
/* Most ticks an axis draws, whatever rounding does to its step. */
#define MAX_TICKS 32
/* Tick labels of steps from here on are in %g form ("5e+307"). */
#define BIG_STEP 1e15
#define HEADROOM 1.1
#define LEGEND_ROW 14.0

/* Series colours (the peak and the limit are drawn in red, not here). */
static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))
#define RED "#d62728"

/* The plot area in pixels and the data ranges it shows. Any two finite
 * edges make a frame: t1 - t0 may exceed DBL_MAX, so positions are worked
 * out on halves (half_span = t1 / 2 - t0 / 2, finite and > 0). */
typedef struct {
    double left, top, width, height; /* plot area */
    double t0, t1;                   /* seconds at left and right edges */
    double half_span;                /* t1 / 2 - t0 / 2 */
    double bottom_mib, top_mib;      /* MiB at the bottom and top edges */
    /* time labels: seconds times t_scale, in t_unit ("s", "ms", "us") */
    double t_scale;
    const char *t_unit;
} frame_t;

static double clamp(double v, double lo, double hi)
{
    if (!(v >= lo)) { /* NaN too */
        return lo;
    }
    return v > hi ? hi : v;
}

static double px(const frame_t *fr, double t)
{
    double x = fr->left + (t / 2 - fr->t0 / 2) / fr->half_span * fr->width;
    return clamp(x, fr->left, fr->left + fr->width);
}

static double py(const frame_t *fr, double mib)
{
    double y = fr->top + fr->height - (mib - fr->bottom_mib) /
                                          (fr->top_mib - fr->bottom_mib) *
                                          fr->height;
    return clamp(y, fr->top, fr->top + fr->height);
}

/* 1, 2 or 5 times a power of ten, at least (hi - lo) / target (worked
 * out on halves: hi - lo may exceed DBL_MAX); 1 for an empty range. */
static double nice_step(double lo, double hi, int target)
{
    double raw = (hi / 2 - lo / 2) / target * 2, mag, norm;

    if (!(raw > 0.0) || !isfinite(raw)) {
        return 1.0;
    }
    mag = pow(10.0, floor(log10(raw)));
    norm = raw / mag;
    if (!(mag > 0.0) || !isfinite(norm)) {
        return raw; /* subnormal: no power of ten in between */
    }
    if (norm <= 1.0) {
        return mag;
    }
    if (norm <= 2.0) {
        return 2.0 * mag;
    }
    return (norm <= 5.0 ? 5.0 : 10.0) * mag;
}

/* The ticks of an axis: multiples k * step for k = *first .. *first + n - 1
 * inside [lo, hi] (give or take rounding), n at most MAX_TICKS. The count
 * is worked out once, so no step too small for the numbers (k + 1 == k)
 * can make the drawing loop stand still. */
static size_t tick_range(double lo, double hi, double step, double *first)
{
    double a, b;

    if (!(step > 0.0) || !isfinite(step)) {
        return 0;
    }
    a = ceil(lo / step - 1e-9);
    b = floor(hi / step + 1e-9);
    if (!isfinite(a) || !isfinite(b) || b < a) {
        return 0;
    }
    *first = a;
    return b - a >= MAX_TICKS ? MAX_TICKS : (size_t)(b - a) + 1;
}

/* One tick label: %.*f with dec decimals, or %g for huge steps. */
static void tick_label(pm_strbuf_t *out, double v, double step, int dec)
{
    if (fabs(v) < step * 1e-9) {
        v = 0.0; /* not "-0" */
    }
    if (step >= BIG_STEP) {
        pm_strbuf_printf(out, "%g", v);
    } else {
        pm_strbuf_printf(out, "%.*f", dec, v);
    }
}

/* Decimals that tell ticks step apart: 0 for 1, 2, 5, 10 ...; 2 for 0.05. */
static int step_decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);

    return d < 0 ? 0 : (d > 12 ? 12 : d);
}

/* Text for XML character data or attributes: control characters other
 * than tab and newlines become spaces and invalid UTF-8 (or U+FFFE,
 * U+FFFF) becomes '?', both of which XML 1.0 forbids; then
 * pm_html_escape. Caller frees; NULL on ENOMEM. */
static char *xml_text(const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t len = strlen((const char *)s), i = 0, o = 0;
    char *clean = malloc(len + 1), *out;

    if (clean == NULL) {
        return NULL;
    }
    while (i < len) {
        unsigned char c = s[i];
        unsigned long cp;
        size_t n, k;

        if (c < 0x80) {
            clean[o++] = (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                             ? ' '
                             : (char)c;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2, cp = c & 0x1fUL;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3, cp = c & 0x0fUL;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4, cp = c & 0x07UL;
        } else {
            n = 0, cp = 0;
        }
        for (k = 1; n > 0 && k < n; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80) {
                break;
            }
            cp = cp << 6 | (s[i + k] & 0x3fUL);
        }
        if (n > 0 && k < n) { /* cut short: one '?' for what there is */
            clean[o++] = '?';
            i += k;
            continue;
        }
        if (n == 0 || (n == 3 && cp < 0x800) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff) {
            clean[o++] = '?';
            i++;
            continue;
        }
        memcpy(clean + o, s + i, n);
        o += n;
        i += n;
    }
    clean[o] = '\0';
    out = pm_html_escape(clean);
    free(clean);
    return out;
}

static int point_ok(const pm_svg_point_t *p)
{
    return isfinite(p->t) && isfinite(p->mib);
}

/* A sample's MiB as drawn: no higher than cap (the main series' exact
 * peak) when cap > 0. */
static double capped(const pm_svg_point_t *p, double cap)
{
    return cap > 0.0 && p->mib > cap ? cap : p->mib;
}

/* The exact peak of opts, or 0. */
static double exact_peak(const pm_svg_opts_t *o)
{
    return isfinite(o->peak_mib) && o->peak_mib > 0 ? o->peak_mib : 0.0;
}

/* Room above a marked peak and below the baseline for their labels,
 * pixels. */
#define PEAK_ROOM 24.0
#define BASE_ROOM 16.0

/* Data ranges: time from min(0, earliest) to the latest sample, span end
 * or t_end; memory from 0 (or, with a baseline, from a little below the
 * lowest of it and the samples) to 10% above max(highest sample, limit),
 * with room above a marked peak for its label. */
static void make_frame(const pm_svg_opts_t *o, double limit, int w, int h,
                       frame_t *fr)
{
    double t0 = 0.0, t1 = 0.0, top = fmax(limit, exact_peak(o));
    double base = isfinite(o->baseline_mib) && o->baseline_mib > 0
                      ? o->baseline_mib
                      : 0.0;
    double low = base, bottom = 0.0, peak = exact_peak(o);
    double height = h - MARGIN_T - MARGIN_B;

    if (isfinite(o->t_end) && o->t_end > 0) {
        t1 = o->t_end;
    }

    for (size_t s = 0; s < o->nseries; s++) {
        const pm_svg_series_t *se = &o->series[s];
        double cap = s == 0 ? exact_peak(o) : 0.0;
        for (size_t i = 0; se->points != NULL && i < se->n; i++) {
            if (!point_ok(&se->points[i])) {
                continue;
            }
            t0 = fmin(t0, se->points[i].t);
            t1 = fmax(t1, se->points[i].t);
            top = fmax(top, capped(&se->points[i], cap));
            low = fmin(low, capped(&se->points[i], cap));
            if (s == 0) {
                peak = fmax(peak, capped(&se->points[i], cap));
            }
        }
    }
    for (size_t i = 0; o->spans != NULL && i < o->nspans; i++) {
        if (isfinite(o->spans[i].start_t) && isfinite(o->spans[i].end_t)) {
            t0 = fmin(t0, fmin(o->spans[i].start_t, o->spans[i].end_t));
            t1 = fmax(t1, fmax(o->spans[i].start_t, o->spans[i].end_t));
        }
    }
    /* t0 <= 0 <= t1; a span too small to halve (both 0, or subnormal)
     * becomes one second */
    if (!(t1 / 2 - t0 / 2 > 0.0)) {
        t1 = t0 + 1.0;
    }
    if (base > 0 && low > 0 && isfinite(top)) {
        /* the rise: at least max(1 MiB, 1% of the baseline) tall, with a
         * tenth of it below the lowest value */
        double span = fmax(fmax(top - low, 1.0), base / 100.0);
        top = fmax(top, low + span);
        bottom = fmax(0.0, low - (top - low) * (HEADROOM - 1.0));
        top += (top - low) * (HEADROOM - 1.0);
    } else {
        top *= HEADROOM;
    }
    if (isinf(top)) {
        top = DBL_MAX; /* a highest sample near DBL_MAX: no headroom */
    } else if (!(top > bottom)) {
        top = bottom + 1.0;
    }
    if (base > 0 && height > 2 * PEAK_ROOM && isfinite(top) &&
        (base - bottom) / (top - bottom) * height < BASE_ROOM) {
        /* room below the baseline for its label, under the line */
        double f = BASE_ROOM / height;
        bottom = fmax(0.0, fmin(bottom, (base - f * top) / (1.0 - f)));
    }
    if (o->mark_peak && peak > bottom && height > 2 * PEAK_ROOM &&
        isfinite(top) && (top - peak) / (top - bottom) * height < PEAK_ROOM) {
        /* the peak PEAK_ROOM px below the top edge: its label fits above
         * it, clear of the line (no sample is above the peak) */
        double f = PEAK_ROOM / height;
        double raised = (peak - f * bottom) / (1.0 - f);
        if (isfinite(raised) && raised > top) {
            top = raised;
        }
    }
    /* time labels in a unit that fits the span */
    double span_t = t1 / 2 - t0 / 2;
    fr->t_scale = 1.0;
    fr->t_unit = "s";
    if (span_t > 0 && span_t < 0.5e-3) {
        fr->t_scale = 1e6;
        fr->t_unit = "\u00b5s";
    } else if (span_t > 0 && span_t < 0.5) {
        fr->t_scale = 1e3;
        fr->t_unit = "ms";
    }
    fr->left = MARGIN_L;
    fr->top = MARGIN_T;
    fr->width = w - MARGIN_L - MARGIN_R;
    fr->height = height;
    fr->t0 = t0;
    fr->t1 = t1;
    fr->half_span = t1 / 2 - t0 / 2;
    fr->bottom_mib = bottom;
    fr->top_mib = top;
}

/* Axes, grid lines, tick labels and the two axis titles. */
static void draw_axes(pm_strbuf_t *out, const frame_t *fr)
{
    double right = fr->left + fr->width, bottom = fr->top + fr->height;
    double step = nice_step(fr->t0, fr->t1, TICKS_X), first = 0.0;
    size_t n = tick_range(fr->t0, fr->t1, step, &first);
    int dec = step_decimals(step * fr->t_scale);

    for (size_t i = 0; i < n; i++) {
        double v = (first + (double)i) * step, x = px(fr, v);
        pm_strbuf_printf(
            out,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
            "stroke=\"#e0e0e0\"/>\n"
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
            "stroke=\"#333\"/>\n"
            "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
            x, fr->top, x, bottom, x, bottom, x, bottom + 4.0, x,
            bottom + 16.0);
        tick_label(out, v * fr->t_scale, step * fr->t_scale, dec);
        pm_strbuf_puts(out, "</text>\n");
    }
    step = nice_step(fr->bottom_mib, fr->top_mib, TICKS_Y);
    n = tick_range(fr->bottom_mib, fr->top_mib, step, &first);
    dec = step_decimals(step);
    for (size_t i = 0; i < n; i++) {
        double v = (first + (double)i) * step, y = py(fr, v);
        pm_strbuf_printf(
            out,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
            "stroke=\"#e0e0e0\"/>\n"
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
            "stroke=\"#333\"/>\n"
            "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">",
            fr->left, y, right, y, fr->left - 4.0, y, fr->left, y,
            fr->left - 6.0, y + 4.0);
        tick_label(out, v, step, dec);
        pm_strbuf_puts(out, "</text>\n");
    }
    pm_strbuf_printf(
        out,
        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
        "fill=\"none\" stroke=\"#333\"/>\n"
        "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">time (%s)"
        "</text>\n"
        "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 %.2f %.2f)\">memory (MiB)</text>\n",
        fr->left, fr->top, fr->width, fr->height, fr->left + fr->width / 2,
        bottom + 34.0, fr->t_unit, 16.0, fr->top + fr->height / 2, 16.0,
        fr->top + fr->height / 2);
}

/* Flame mode: one bar per call, level 0 at the bottom, each level a
 * band of height / (deepest + 2) as mprof's flame plotter stacks them,
 * deeper calls paler; the name inside and as the bar's tooltip. */
static int draw_flame(pm_strbuf_t *out, const frame_t *fr,
                      const pm_svg_opts_t *o)
{
    int deepest = 0;
    double h;

    for (size_t i = 0; i < o->nspans; i++) {
        if (o->spans[i].level > deepest && o->spans[i].level < 1000) {
            deepest = o->spans[i].level;
        }
    }
    h = fr->height / (double)(deepest + 2);
    for (size_t i = 0; i < o->nspans; i++) {
        const pm_svg_span_t *sp = &o->spans[i];
        int level = sp->level < 0 ? 0 : sp->level > deepest ? deepest
                                                            : sp->level;
        double a, b, y, sat = 1.0 - 0.75 * level / (double)(deepest + 1);
        char *name;

        if (!isfinite(sp->start_t) || !isfinite(sp->end_t)) {
            continue;
        }
        a = px(fr, fmin(sp->start_t, sp->end_t));
        b = px(fr, fmax(sp->start_t, sp->end_t));
        y = fr->top + fr->height - (double)(level + 1) * h;
        name = xml_text(sp->name != NULL ? sp->name : "");
        if (name == NULL) {
            return -1;
        }
        pm_strbuf_printf(
            out,
            "<g class=\"flame\"><title>%s</title><rect x=\"%.2f\" "
            "y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
            "fill=\"#ff%02x%02x\" fill-opacity=\"0.6\" "
            "stroke=\"#8a5a00\"/><text x=\"%.2f\" y=\"%.2f\" "
            "fill=\"#000000\">%s</text></g>\n",
            name, a, y, b - a, h, (int)(255 * (1 - 0.6 * sat)),
            (int)(255 * (1 - sat)), clamp(a + 2.0, fr->left,
                                          fr->left + fr->width),
            y + h / 2 + 4.0, name);
        free(name);
    }
    return 0;
}

/* Function spans: a translucent band each, its name at the bottom, clear
 * of the peak label (rows staggered so neighbours do not overprint). */
static int draw_spans(pm_strbuf_t *out, const frame_t *fr,
                      const pm_svg_opts_t *o)
{
    if (o->flame && o->spans != NULL) {
        return draw_flame(out, fr, o);
    }
    for (size_t i = 0; o->spans != NULL && i < o->nspans; i++) {
        const pm_svg_span_t *sp = &o->spans[i];
        double a, b;
        char *name;

        if (!isfinite(sp->start_t) || !isfinite(sp->end_t)) {
            continue;
        }
        a = px(fr, fmin(sp->start_t, sp->end_t));
        b = px(fr, fmax(sp->start_t, sp->end_t));
        name = xml_text(sp->name);
        if (name == NULL) {
            return -1;
        }
        pm_strbuf_printf(
            out,
            "<g class=\"span\"><rect x=\"%.2f\" y=\"%.2f\" "
            "width=\"%.2f\" height=\"%.2f\" fill=\"#ffa500\" "
            "fill-opacity=\"0.15\" stroke=\"#ffa500\" "
            "stroke-opacity=\"0.5\"/>"
            "<text x=\"%.2f\" y=\"%.2f\" fill=\"#8a5a00\">%s</text></g>\n",
            a, fr->top, b - a, fr->height,
            clamp(a + 2.0, fr->left, fr->left + fr->width),
            fr->top + fr->height - 6.0 - (double)(i % 3) * 12.0, name);
        free(name);
    }
    return 0;
}

/* One series: a polyline, or a dot for a single sample; samples above
 * cap (when > 0) drawn at it. */
static void draw_series(pm_strbuf_t *out, const frame_t *fr,
                        const pm_svg_series_t *se, const char *colour,
                        double cap)
{
    size_t valid = 0, last = 0;

    for (size_t i = 0; se->points != NULL && i < se->n; i++) {
        if (point_ok(&se->points[i])) {
            valid++;
            last = i;
        }
    }
    if (valid == 0) {
        return;
    }
    if (valid == 1) {
        pm_strbuf_printf(
            out,
            "<circle class=\"series\" cx=\"%.2f\" cy=\"%.2f\" r=\"3\" "
            "fill=\"%s\"/>\n",
            px(fr, se->points[last].t), py(fr, capped(&se->points[last], cap)),
            colour);
        return;
    }
    pm_strbuf_printf(
        out,
        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
        "points=\"",
        colour);
    valid = 0;
    for (size_t i = 0; i < se->n; i++) {
        if (point_ok(&se->points[i])) {
            pm_strbuf_printf(out, "%s%.2f,%.2f", valid++ == 0 ? "" : " ",
                             px(fr, se->points[i].t),
                             py(fr, capped(&se->points[i], cap)));
        }
    }
    pm_strbuf_puts(out, "\"/>\n");
}

/* Legend in the top right corner: as many rows as fit, then "+N more". */
static int draw_legend(pm_strbuf_t *out, const frame_t *fr,
                       const pm_svg_opts_t *o)
{
    size_t rows = o->nseries, longest = 4, fit;
    double w, h, x, y;

    fit = (size_t)((fr->height - 12.0) / LEGEND_ROW);
    if (fit < 1) {
        fit = 1;
    }
    if (rows > fit) {
        rows = fit; /* the last row says how many are left out */
    }
    for (size_t i = 0; i < rows; i++) {
        size_t n = o->series[i].label ? strlen(o->series[i].label) : 0;
        longest = n > longest ? n : longest;
    }
    w = fmin(32.0 + 6.5 * (double)longest, fr->width / 2);
    h = 6.0 + LEGEND_ROW * (double)rows;
    x = fr->left + fr->width - w - 6.0;
    y = fr->top + 6.0;
    pm_strbuf_printf(
        out,
        "<g class=\"legend\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
        "height=\"%.2f\" fill=\"#ffffff\" fill-opacity=\"0.85\" "
        "stroke=\"#ccc\"/>\n",
        x, y, w, h);
    for (size_t i = 0; i < rows; i++) {
        double ry = y + 3.0 + LEGEND_ROW * (double)i + LEGEND_ROW / 2;
        char *label;

        if (i + 1 == rows && rows < o->nseries) {
            pm_strbuf_printf(out,
                             "<text x=\"%.2f\" y=\"%.2f\">+%zu more</text>\n",
                             x + 6.0, ry + 4.0, o->nseries - i);
            break;
        }
        label = xml_text(o->series[i].label);
        if (label == NULL) {
            return -1;
        }
        pm_strbuf_printf(
            out,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
            "stroke=\"%s\" stroke-width=\"2\"/>"
            "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n",
            x + 6.0, ry, x + 24.0, ry, palette[i % NPALETTE], x + 28.0,
            ry + 4.0, label);
        free(label);
    }
    pm_strbuf_puts(out, "</g>\n");
    return 0;
}

/* The main series' highest sample (the first of equals): a red ring and
 * "peak X MiB at Y s" beside it, toward the middle of the plot. With an
 * exact peak, X is that value and the ring sits at it. */
static void draw_peak(pm_strbuf_t *out, const frame_t *fr,
                      const pm_svg_series_t *se, double exact)
{
    const pm_svg_point_t *best = NULL;
    double x, y, value;

    for (size_t i = 0; se->points != NULL && i < se->n; i++) {
        if (point_ok(&se->points[i]) &&
            (best == NULL ||
             capped(&se->points[i], exact) > capped(best, exact))) {
            best = &se->points[i];
        }
    }
    if (best == NULL) {
        return;
    }
    value = exact > 0.0 ? exact : best->mib;
    x = px(fr, best->t);
    y = py(fr, value);
    pm_strbuf_printf(
        out,
        "<g class=\"peak\"><circle cx=\"%.2f\" cy=\"%.2f\" r=\"5\" "
        "fill=\"none\" stroke=\"" RED "\" stroke-width=\"2\"/>"
        "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\" fill=\"" RED
        "\">peak %.*f MiB at %.1f %s</text></g>\n",
        x, y,
        x > fr->left + fr->width / 2 ? fmax(x - 8.0, fr->left)
                                     : fmin(x + 8.0, fr->left + fr->width),
        clamp(y - 8.0, fr->top + 12.0, fr->top + fr->height - 4.0),
        x > fr->left + fr->width / 2 ? "end" : "start",
        exact > 0.0 ? 2 : 1, value, /* as the table: 2 decimals */
        best->t * fr->t_scale, fr->t_unit);
}

static void draw_limit(pm_strbuf_t *out, const frame_t *fr, double limit)
{
    double y = py(fr, limit);

    pm_strbuf_printf(
        out,
        "<g class=\"limit\"><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
        "y2=\"%.2f\" stroke=\"" RED "\" stroke-dasharray=\"6,4\"/>"
        "<text x=\"%.2f\" y=\"%.2f\" fill=\"" RED
        "\">limit %.1f MiB</text></g>\n",
        fr->left, y, fr->left + fr->width, y, fr->left + 4.0,
        clamp(y - 4.0, fr->top + 12.0, fr->top + fr->height - 4.0), limit);
}

/* The baseline: a dashed grey line, labelled at the bottom left. */
static void draw_baseline(pm_strbuf_t *out, const frame_t *fr, double base)
{
    double y = py(fr, base);

    pm_strbuf_printf(
        out,
        "<g class=\"baseline\"><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
        "y2=\"%.2f\" stroke=\"#777\" stroke-dasharray=\"2,3\"/>"
        "<text x=\"%.2f\" y=\"%.2f\" fill=\"#555\">baseline %.2f MiB"
        "</text></g>\n",
        fr->left, y, fr->left + fr->width, y, fr->left + 4.0,
        clamp(y + 12.0, fr->top + 12.0, fr->top + fr->height - 4.0), base);
}

static int has_samples(const pm_svg_opts_t *o)
{
    for (size_t s = 0; s < o->nseries; s++) {
        for (size_t i = 0; o->series[s].points && i < o->series[s].n; i++) {
            if (point_ok(&o->series[s].points[i])) {
                return 1;
            }
        }
    }
    return 0;
}

static int clamp_dim(int v, int dflt, int lo)
{
    if (v <= 0) {
        return dflt;
    }
    return v < lo ? lo : (v > MAX_DIM ? MAX_DIM : v);
}

char *pm_svg_timeline(const pm_svg_opts_t *opts)
{
    pm_svg_opts_t o = opts != NULL ? *opts : (pm_svg_opts_t){0};
    int w = clamp_dim(o.width, DEFAULT_W, MIN_W);
    int h = clamp_dim(o.height, DEFAULT_H, MIN_H);
    double limit = isfinite(o.limit_mib) && o.limit_mib > 0 ? o.limit_mib : 0;
    char *title = NULL, *text = NULL;
    pm_strbuf_t b, *out = &b;
    frame_t fr;

    if (o.series == NULL) {
        o.nseries = 0;
    }
    pm_strbuf_init(&b);
    title = xml_text(o.title);
    if (title == NULL) {
        goto fail;
    }
    make_frame(&o, limit, w, h, &fr);
    pm_strbuf_printf(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
        "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
        "font-family=\"sans-serif\" font-size=\"11\">\n"
        "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
        "fill=\"#ffffff\"/>\n",
        w, h, w, h, w, h);
    if (title[0] != '\0') {
        pm_strbuf_printf(out,
                         "<text x=\"%.2f\" y=\"20.00\" text-anchor=\"middle\" "
                         "font-size=\"14\">%s</text>\n",
                         w / 2.0, title);
    }
    draw_axes(out, &fr);
    if (draw_spans(out, &fr, &o) < 0) {
        goto fail;
    }
    if (limit > 0) {
        draw_limit(out, &fr, limit);
    }
    if (isfinite(o.baseline_mib) && o.baseline_mib > 0) {
        draw_baseline(out, &fr, o.baseline_mib);
    }
    for (size_t s = 0; s < o.nseries; s++) {
        draw_series(out, &fr, &o.series[s], palette[s % NPALETTE],
                    s == 0 ? exact_peak(&o) : 0.0);
    }
    if (!has_samples(&o)) {
        pm_strbuf_printf(out,
                         "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                         "fill=\"#777\">no samples</text>\n",
                         fr.left + fr.width / 2, fr.top + fr.height / 2);
    } else if (o.mark_peak) {
        draw_peak(out, &fr, &o.series[0], exact_peak(&o));
    }
    if (o.nseries > 1 && draw_legend(out, &fr, &o) < 0) {
        goto fail;
    }
    pm_strbuf_puts(out, "</svg>\n");
    text = pm_strbuf_steal(&b);

fail:
    pm_strbuf_close(&b);
    free(title);
    return text;
}
