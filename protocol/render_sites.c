/* The --sites part of a %memit result: what the code held at its
 * allocation peak and the sites that held it, as text (below
 * memory_profiler's unchanged line) and as an HTML table that reads the
 * same in an untrusted notebook: no inline style (sanitizers strip it),
 * cells aligned by attributes, bars as <img> of an SVG data: URI (kept
 * where <svg> and <meter> may not be). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Source lines are cut to this many bytes (on a character boundary). */
#define SOURCE_MAX 80

uint64_t pm_memit_untracked(const pm_memit_t *m)
{
    uint64_t peak = m->own_peak_bytes > 0 ? m->own_peak_bytes
                                          : pm_memit_peak(m);
    uint64_t inc = peak > m->baseline_bytes ? peak - m->baseline_bytes : 0;

    return inc > m->allocated_peak_bytes ? inc - m->allocated_peak_bytes
                                         : 0;
}

static double share_pct(const pm_memit_t *m, uint64_t bytes)
{
    return m->allocated_peak_bytes > 0
               ? 100.0 * (double)bytes / (double)m->allocated_peak_bytes
               : 0.0;
}

/* s as a terminal may show it, cut at SOURCE_MAX bytes with "..." */
static void put_source(pm_strbuf_t *b, const char *s)
{
    char buf[SOURCE_MAX * 4 + 8];
    size_t len = strlen(s);
    size_t used = pm_text_escape(buf, sizeof buf, s, len, SOURCE_MAX);
    pm_strbuf_puts(b, buf);
    if (used < len) {
        pm_strbuf_puts(b, "...");
    }
}

static void put_where(pm_strbuf_t *b, const char *where, const char *source)
{
    put_source(b, where);
    if (source != NULL && source[0] != '\0') {
        pm_strbuf_puts(b, ": ");
        put_source(b, source);
    }
}

char *pm_memit_render_text_full(const pm_memit_t *m)
{
    char *line = pm_memit_render_text(m);
    pm_strbuf_t b;

    if (line == NULL || !m->sites_on) {
        return line;
    }
    pm_strbuf_init(&b);
    pm_strbuf_puts(&b, line);
    free(line);
    pm_strbuf_printf(&b,
                     "\nallocated at peak: %.2f MiB; untracked: %.2f MiB "
                     "(RSS increment not explained by tracked allocations)",
                     (double)m->allocated_peak_bytes / PM_MIB,
                     (double)pm_memit_untracked(m) / PM_MIB);
    if (m->sites_note != NULL) {
        pm_strbuf_puts(&b, "\nnote: ");
        put_source(&b, m->sites_note);
    }
    if (m->nsites == 0) {
        pm_strbuf_puts(&b, "\nno tracked allocation was held at the peak");
    } else {
        pm_strbuf_puts(&b, "\nsites holding the most at the allocation "
                           "peak:");
    }
    for (size_t i = 0; i < m->nsites; i++) {
        const pm_memit_site_t *s = &m->sites[i];
        pm_strbuf_printf(&b, "\n%10.2f MiB %5.1f%%  ",
                         (double)s->bytes / PM_MIB, share_pct(m, s->bytes));
        put_where(&b, s->where, s->source);
        if (s->via_where != NULL) {
            pm_strbuf_puts(&b, "\n                        from ");
            put_where(&b, s->via_where, s->via_source);
        }
        if (s->stmt_where != NULL) {
            pm_strbuf_puts(&b, "\n                        from ");
            put_where(&b, s->stmt_where, s->stmt_source);
        }
    }
    return pm_strbuf_steal(&b);
}

/* text HTML-escaped, cut like put_source */
static void put_html(pm_strbuf_t *b, const char *text)
{
    char buf[SOURCE_MAX * 4 + 8];
    size_t len = strlen(text);
    size_t used = pm_text_escape(buf, sizeof buf, text, len, SOURCE_MAX);
    char *esc = pm_html_escape(buf);
    if (esc == NULL) {
        pm_strbuf_puts(b, ""); /* a failed escape: nothing shown */
        return;
    }
    pm_strbuf_puts(b, esc);
    free(esc);
    if (used < len) {
        pm_strbuf_puts(b, "...");
    }
}

static void put_html_where(pm_strbuf_t *b, const char *where,
                           const char *source)
{
    pm_strbuf_puts(b, "<code>");
    put_html(b, where);
    pm_strbuf_puts(b, "</code>");
    if (source != NULL && source[0] != '\0') {
        pm_strbuf_puts(b, " <code>");
        put_html(b, source);
        pm_strbuf_puts(b, "</code>");
    }
}

/* A bar of pct percent as <img src="data:image/svg+xml;base64,...">,
 * with the percentage as its alt text. */
static void put_bar(pm_strbuf_t *out, double pct)
{
    char svg[320];
    double w = pct < 0 ? 0 : pct > 100 ? 100 : pct;

    pm_fmt(svg, sizeof svg,
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" "
           "height=\"10\"><rect width=\"100\" height=\"10\" "
           "fill=\"#e8e8e8\"/><rect width=\"%.1f\" height=\"10\" "
           "fill=\"#4c72b0\"/></svg>",
           w);
    pm_strbuf_printf(out,
                     "<img class=\"peakmem-bar\" width=\"100\" "
                     "height=\"10\" alt=\"%.1f%%\" "
                     "src=\"data:image/svg+xml;base64,",
                     pct);
    pm_html_put_base64(out, (const unsigned char *)svg, strlen(svg));
    pm_strbuf_puts(out, "\">");
}

void pm_memit_render_sites_html(pm_strbuf_t *out, const pm_memit_t *m)
{
    if (!m->sites_on) {
        return;
    }
    pm_strbuf_printf(out,
                     "<table class=\"peakmem-sites\"><caption>"
                     "<div align=\"left\">Allocated at peak: <b>%.2f "
                     "MiB</b>; untracked: %.2f MiB (RSS increment not "
                     "explained by tracked allocations)",
                     (double)m->allocated_peak_bytes / PM_MIB,
                     (double)pm_memit_untracked(m) / PM_MIB);
    if (m->sites_note != NULL) {
        pm_strbuf_puts(out, "<br>");
        put_html(out, m->sites_note);
    }
    pm_strbuf_puts(out, "</div></caption><thead><tr>"
                        "<th align=\"right\">Held at peak</th>"
                        "<th align=\"right\">Share</th><th></th>"
                        "<th><div align=\"left\">Site</div></th></tr>"
                        "</thead><tbody>");
    for (size_t i = 0; i < m->nsites; i++) {
        const pm_memit_site_t *s = &m->sites[i];
        double pct = share_pct(m, s->bytes);
        pm_strbuf_printf(out,
                         "<tr><td align=\"right\">%.2f MiB</td>"
                         "<td align=\"right\">%.1f%%</td><td>",
                         (double)s->bytes / PM_MIB, pct);
        put_bar(out, pct);
        pm_strbuf_puts(out, "</td><td><div align=\"left\">");
        put_html_where(out, s->where, s->source);
        if (s->via_where != NULL) {
            pm_strbuf_puts(out, "<br>from ");
            put_html_where(out, s->via_where, s->via_source);
        }
        if (s->stmt_where != NULL) {
            pm_strbuf_puts(out, "<br>from ");
            put_html_where(out, s->stmt_where, s->stmt_source);
        }
        pm_strbuf_puts(out, "</div></td></tr>");
    }
    if (m->nsites == 0) {
        pm_strbuf_puts(out, "<tr><td colspan=\"4\"><div align=\"left\">"
                            "no tracked allocation was held at the peak"
                            "</div></td></tr>");
    }
    pm_strbuf_puts(out, "</tbody></table>");
}
