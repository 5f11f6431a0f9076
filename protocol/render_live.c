/* The live line of a running %memit: elapsed time, RSS now, peak so far
 * and a sparkline of recent RSS, as text (Unicode block sparkline) and
 * HTML (a small inline SVG), sent as display_data and then
 * update_display_data under one display_id. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPARK_WIDTH 40

/* U+2581..U+2588, lower one eighth block to full block, as UTF-8. */
static const char *const blocks[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                      "\u2585", "\u2586", "\u2587", "\u2588"};

/* The index range of the points to draw: the last SPARK_WIDTH. */
static size_t spark_first(const pm_live_t *l)
{
    return l->nrecent > SPARK_WIDTH ? l->nrecent - SPARK_WIDTH : 0;
}

/* The MiB range the sparkline spans: from the lowest of the points drawn
 * up, at least max(1 MiB, 1% of the baseline) tall, so noise of a few
 * hundred KiB stays a ripple at the bottom instead of swinging from bottom
 * to top. Without a baseline the lowest point stands in. */
static void spark_range(const pm_live_t *l, double *lo, double *hi)
{
    *lo = 0;
    *hi = 0;
    for (size_t i = spark_first(l); i < l->nrecent; i++) {
        double v = l->recent[i].mib;
        if (i == spark_first(l) || v < *lo) {
            *lo = v;
        }
        if (i == spark_first(l) || v > *hi) {
            *hi = v;
        }
    }
    double base =
        l->baseline_bytes > 0 ? (double)l->baseline_bytes / PM_MIB : *lo;
    double span = base / 100.0 > 1.0 ? base / 100.0 : 1.0;
    if (*hi - *lo < span) {
        *hi = *lo + span;
    }
}

/* The text line into out; *head_len (may be NULL) gets the length of the
 * part before the sparkline (the whole line when there is none). */
static void render_text(const pm_live_t *l, pm_strbuf_t *out,
                        size_t *head_len)
{
    double lo, hi;

    pm_strbuf_printf(out, "%s %.1f s \u00b7 now %.1f MiB \u00b7 peak %.1f MiB",
                     l->stopped ? "stopped after" : "running", l->elapsed_s,
                     (double)l->rss_bytes / PM_MIB,
                     (double)l->peak_bytes / PM_MIB);
    if (head_len != NULL) {
        *head_len = out->len;
    }
    if (l->nrecent > 0) {
        spark_range(l, &lo, &hi);
        pm_strbuf_putc(out, ' ');
        for (size_t i = spark_first(l); i < l->nrecent; i++) {
            int level = (int)((l->recent[i].mib - lo) / (hi - lo) * 7.0 + 0.5);
            pm_strbuf_puts(out, blocks[level < 0 ? 0 : level > 7 ? 7 : level]);
        }
    }
}

/* Numbers are written in the "C" locale whatever LC_NUMERIC says. */
char *pm_live_render_text(const pm_live_t *l)
{
    pm_strbuf_t b;

    pm_strbuf_init(&b);
    render_text(l, &b, NULL);
    return pm_strbuf_steal(&b);
}

/* The HTML line: the text without its block sparkline (cut where the text
 * renderer says it starts), then the sparkline as a small SVG. */
static char *render_html(const pm_live_t *l)
{
    pm_strbuf_t t, b, *out = &b;
    size_t head_len = 0;
    double lo, hi;
    char *head, *esc;

    pm_strbuf_init(&t);
    render_text(l, &t, &head_len);
    head = pm_strbuf_steal(&t);
    pm_strbuf_close(&t);
    if (head == NULL) {
        return NULL;
    }
    head[head_len] = '\0';
    esc = pm_html_escape(head);
    free(head);
    if (esc == NULL) {
        return NULL;
    }
    pm_strbuf_init(&b);
    pm_strbuf_printf(out, "<div class=\"peakmem-live\"><code>%s</code>", esc);
    if (l->nrecent > 1) {
        const int w = 160, h = 24;
        size_t first = spark_first(l), n = l->nrecent - first;
        spark_range(l, &lo, &hi);
        pm_strbuf_printf(
            out,
            " <svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "style=\"vertical-align:middle\"><polyline "
            "fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" "
            "points=\"",
            w, h, w, h);
        for (size_t i = 0; i < n; i++) {
            double x = (double)i / (double)(n - 1) * (w - 2) + 1;
            double v = l->recent[first + i].mib;
            double y = (h - 2) - (v - lo) / (hi - lo) * (h - 4);
            pm_strbuf_printf(out, "%s%.1f,%.1f", i ? " " : "", x, y);
        }
        pm_strbuf_printf(out, "\"/></svg>");
    }
    pm_strbuf_printf(out, "</div>");
    free(esc);
    return pm_strbuf_steal(&b);
}

json_t *pm_live_bundle(const pm_live_t *l, const char *display_id)
{
    char *text = pm_live_render_text(l);
    char *html = text != NULL ? render_html(l) : NULL;
    json_t *doc = json_pack(
        "{s:s, s:i, s:s?, s:f, s:I, s:I, s:b}", "schema", "peakmem.live",
        "version", PM_SCHEMA_VERSION, "statement", l->statement, "elapsed_s",
        l->elapsed_s, "rss_bytes", (json_int_t)l->rss_bytes, "peak_bytes",
        (json_int_t)l->peak_bytes, "stopped", l->stopped != 0);
    json_t *bundle = pm_display_bundle(text, html, PM_MIME_LIVE, doc);
    free(text);
    free(html);
    if (bundle != NULL && display_id != NULL &&
        json_object_set_new(json_object_get(bundle, "transient"), "display_id",
                            json_string(display_id)) != 0) {
        json_decref(bundle);
        return NULL;
    }
    return bundle;
}
