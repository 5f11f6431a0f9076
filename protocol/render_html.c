/* The text/html form of a %memit result: a small self-contained table
 * (no script, no style sheet, no external resource) that notebooks show
 * in place of the text line. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pm_html_escape(const char *text)
{
    size_t len = 0;
    char *out, *p;

    if (text == NULL) {
        text = "";
    }
    for (const char *s = text; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            len += 5; /* &amp; */
            break;
        case '<':
        case '>':
            len += 4; /* &lt; &gt; */
            break;
        case '"':
            len += 6; /* &quot; */
            break;
        case '\'':
            len += 5; /* &#39; */
            break;
        default:
            len += 1;
        }
    }
    out = malloc(len + 1);
    if (out == NULL) {
        return NULL;
    }
    p = out;
    for (const char *s = text; *s != '\0'; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            *p++ = *s;
            continue;
        }
        size_t n = strlen(rep);
        memcpy(p, rep, n);
        p += n;
    }
    *p = '\0';
    return out;
}

/* Wall time with a unit that keeps three significant digits readable. */
static void format_seconds(double s, char *buf, size_t len)
{
    if (s < 1e-3) {
        pm_fmt(buf, len, "%.1f &micro;s", s * 1e6);
    } else if (s < 1.0) {
        pm_fmt(buf, len, "%.1f ms", s * 1e3);
    } else {
        pm_fmt(buf, len, "%.2f s", s);
    }
}

/* The wall time row's text: with several repeats, the total and the
 * mean per run, so that "wall time" is never ambiguous. */
static void format_wall(const pm_memit_t *m, char *buf, size_t len)
{
    char total[32], each[32];
    double sum = pm_memit_wall_total(m);

    format_seconds(sum, total, sizeof(total));
    if (m->n < 2) {
        pm_fmt(buf, len, "%s", total);
        return;
    }
    format_seconds(sum / (double)m->n, each, sizeof(each));
    pm_fmt(buf, len, "%s total, %s per run", total, each);
}

/* " <small class="peakmem-names">n = 20, s = 'a'</small>" after the
 * statement, when it has simple names with short values. */
static int html_names(pm_strbuf_t *out, const pm_memit_t *m)
{
    if (m->nnames == 0) {
        return 0;
    }
    pm_strbuf_puts(out, " <small class=\"peakmem-names\">");
    for (size_t i = 0; i < m->nnames; i++) {
        char *name = pm_html_escape(m->names[i].name);
        char *value = pm_html_escape(m->names[i].value);
        if (name == NULL || value == NULL) {
            free(name);
            free(value);
            return -1;
        }
        pm_strbuf_printf(out, "%s%s = %s", i > 0 ? ", " : "", name, value);
        free(name);
        free(value);
    }
    pm_strbuf_puts(out, "</small>");
    return 0;
}

char *pm_memit_render_html(const pm_memit_t *m)
{
    pm_memit_mib_t mib;
    char *stmt = NULL, *method = NULL, *text = NULL;
    char wall[96];
    pm_strbuf_t b, *out = &b;

    pm_strbuf_init(&b);
    pm_memit_mib(m, &mib);
    stmt = pm_html_escape(m->statement);
    method = pm_html_escape(m->method);
    if (stmt == NULL || method == NULL) {
        goto fail;
    }
    format_wall(m, wall, sizeof(wall));
    pm_strbuf_printf(out,
                     "<div class=\"peakmem-memit\">"
                     "<table>"
                     "<caption style=\"text-align:left\">"
                     "<code>%s</code>",
                     stmt);
    if (html_names(out, m) < 0) {
        goto fail;
    }
    pm_strbuf_printf(out,
                     "</caption>"
                     "<tbody>"
                     "<tr><th style=\"text-align:left\">peak</th>"
                     "<td style=\"text-align:right\">%.2f MiB</td></tr>"
                     "<tr><th style=\"text-align:left\">increment</th>"
                     "<td style=\"text-align:right\">%.2f MiB</td></tr>"
                     "<tr><th style=\"text-align:left\">baseline</th>"
                     "<td style=\"text-align:right\">%.2f MiB</td></tr>",
                     mib.peak_mib, mib.increment_mib, mib.baseline_mib);
    if (m->n < (size_t)(m->repeat > 0 ? m->repeat : 0)) {
        pm_strbuf_printf(out,
                         "<tr><th style=\"text-align:left\">repeats</th>"
                         "<td style=\"text-align:right\">%zu of %d</td></tr>",
                         m->n, m->repeat);
    } else {
        pm_strbuf_printf(out,
                         "<tr><th style=\"text-align:left\">repeats</th>"
                         "<td style=\"text-align:right\">%zu</td></tr>",
                         m->n);
    }
    pm_strbuf_printf(out,
                     "<tr><th style=\"text-align:left\">method</th>"
                     "<td style=\"text-align:right\">%s</td></tr>"
                     "<tr><th style=\"text-align:left\">wall time</th>"
                     "<td style=\"text-align:right\">%s</td></tr>",
                     method, wall);
    if (m->limit_bytes > 0) {
        int over = pm_memit_over_limit(m);
        pm_strbuf_printf(out,
                         "<tr%s><th style=\"text-align:left\">limit</th>"
                         "<td style=\"text-align:right\">%.2f MiB%s</td></tr>",
                         over ? " class=\"peakmem-over-limit\" "
                                "style=\"background:#fdd;color:#a00\""
                              : "",
                         (double)m->limit_bytes / PM_MIB,
                         over ? " &mdash; exceeded" : "");
    }
    if (m->cgroup_limit_bytes > 0) {
        pm_strbuf_printf(
            out,
            "<tr><th style=\"text-align:left\">of memory.max</th>"
            "<td style=\"text-align:right\">%.1f%% of %.2f MiB</td></tr>",
            100.0 * (double)pm_memit_peak(m) / (double)m->cgroup_limit_bytes,
            (double)m->cgroup_limit_bytes / PM_MIB);
    }
    pm_strbuf_printf(out, "</tbody></table>");
    if (m->ntimeline > 0) {
        pm_svg_series_t series = {
            .label = "RSS", .points = m->timeline, .n = m->ntimeline};
        pm_svg_opts_t so = {
            .title = "RSS during the statement",
            .width = 480,
            .height = 200,
            .series = &series,
            .nseries = 1,
            .mark_peak = 1,
            .limit_mib = (double)m->limit_bytes / PM_MIB,
        };
        char *svg = pm_svg_timeline(&so);
        if (svg == NULL) {
            goto fail;
        }
        /* the XML declaration, if any, has no place inside HTML */
        const char *start = strstr(svg, "<svg");
        start = start != NULL ? start : svg;
        size_t len = strlen(start);
        while (len > 0 && (start[len - 1] == '\n' || start[len - 1] == ' ')) {
            len--;
        }
        pm_strbuf_append(out, start, len);
        free(svg);
    }
    pm_strbuf_printf(out, "</div>");
    text = pm_strbuf_steal(&b);

fail:
    pm_strbuf_close(&b);
    free(stmt);
    free(method);
    return text;
}
