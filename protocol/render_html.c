/* The text/html form of a %memit result: a compact block or a small
 * table, and a timeline chart, self-contained (no script, no style sheet,
 * no external resource), that notebooks show in place of the text line. */
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

#define STMT_MAX_LINES 4
#define STMT_MAX_COLS 120
/* The compact form's statement: its first line, this many characters. */
#define STMT_LINE_COLS 60

/* The statement as it was typed, escaped, for a <pre>: lines and their
 * indentation kept (never re-wrapped), at most max_lines lines of at most
 * max_cols characters (UTF-8 sequences counted once); a cut line ends in
 * an ellipsis, and a longer statement shows its first max_lines - 1 lines
 * and an ellipsis line (with max_lines 1: its first line and " ..."). Blank
 * lines before and after are dropped. Caller frees; NULL on ENOMEM. */
static char *statement_excerpt(const char *text, int max_lines,
                               size_t max_cols)
{
    pm_strbuf_t b;
    const char *end;
    int lines = 0;

    if (text == NULL) {
        text = "";
    }
    end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' ||
                          end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    for (const char *p = text; p < end; p++) {
        if (*p == '\n') {
            text = p + 1; /* skip leading blank lines */
        } else if (*p != ' ' && *p != '\t' && *p != '\r') {
            break;
        }
    }
    pm_strbuf_init(&b);
    for (const char *line = text; line < end; lines++) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol != NULL ? eol + 1 : end;
        const char *stop = eol != NULL ? eol : end;
        size_t cols = 0;
        const char *p = line;

        if (stop > line && stop[-1] == '\r') {
            stop--; /* a \r\n line end */
        }
        if (max_lines > 1 && lines == max_lines - 1 && next < end) {
            pm_strbuf_puts(&b, "\n\u2026"); /* more lines than shown */
            break;
        }
        if (lines > 0) {
            pm_strbuf_putc(&b, '\n');
        }
        /* stop before the character past the limit (a UTF-8 lead byte or
         * an ASCII one starts a character; continuation bytes do not) */
        for (; p < stop; p++) {
            if (((unsigned char)*p & 0xC0) != 0x80 && cols++ == max_cols) {
                break;
            }
        }
        pm_strbuf_append(&b, line, (size_t)(p - line));
        if (p < stop) {
            pm_strbuf_puts(&b, "\u2026");
        }
        if (max_lines == 1 && next < end) {
            pm_strbuf_puts(&b, " \u2026");
            break;
        }
        line = next;
    }
    char *plain = pm_strbuf_steal(&b);
    pm_strbuf_close(&b);
    if (plain == NULL) {
        return NULL;
    }
    char *esc = pm_html_escape(plain);
    free(plain);
    return esc;
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

/* 1 when the timeline chart has something to show: --limit was given
 * (the chart draws it), or the statement ran long enough for two samples
 * and they rise or fall by max(1 MiB, 1% of the baseline) or more. */
static int chart_wanted(const pm_memit_t *m, const pm_memit_mib_t *mib)
{
    double lo = 0, hi = 0;

    if (m->ntimeline == 0) {
        return 0;
    }
    if (m->limit_bytes > 0) {
        return 1;
    }
    for (size_t i = 0; i < m->ntimeline; i++) {
        double v = pm_memit_timeline_mib(m, i);
        lo = i == 0 || v < lo ? v : lo;
        hi = i == 0 || v > hi ? v : hi;
    }
    double flat = mib->baseline_mib / 100.0 > 1.0 ? mib->baseline_mib / 100.0
                                                   : 1.0;
    return m->ntimeline >= 2 && hi - lo >= flat;
}

/* A statement that ran under the live line's delay (and without --limit)
 * gets one compact block, two lines tall: the numbers, then in smaller
 * text the statement's first line, the method, the wall time and (when
 * not one) the repeats. Plain elements only (no inline style), so it
 * reads the same where a sanitizer strips styles. */
static int render_compact(pm_strbuf_t *out, const pm_memit_t *m,
                          const pm_memit_mib_t *mib, const char *method,
                          const char *wall)
{
    char *line = statement_excerpt(m->statement, 1, STMT_LINE_COLS);

    if (line == NULL) {
        return -1;
    }
    pm_strbuf_printf(out,
                     "<div class=\"peakmem-compact\"><b>peak %.2f MiB</b> "
                     "&middot; increment %.2f MiB &middot; baseline %.2f MiB"
                     "<br><small><code>%s</code>",
                     mib->peak_mib, mib->increment_mib, mib->baseline_mib,
                     line);
    free(line);
    if (html_names(out, m) < 0) {
        return -1;
    }
    pm_strbuf_printf(out, " &middot; %s &middot; %s", method, wall);
    if (m->n < (size_t)(m->repeat > 0 ? m->repeat : 0)) {
        pm_strbuf_printf(out, " &middot; %zu of %d repeats", m->n, m->repeat);
    } else if (m->n > 1) {
        pm_strbuf_printf(out, " &middot; %zu repeats", m->n);
    }
    if (m->cgroup_limit_bytes > 0) {
        pm_strbuf_printf(
            out, " &middot; %.1f%% of memory.max",
            100.0 * (double)pm_memit_peak(m) / (double)m->cgroup_limit_bytes);
    }
    pm_strbuf_puts(out, "</small></div>");
    return 0;
}

/* Table cells aligned without inline style, which sanitizers of
 * untrusted notebooks strip (classic Notebook all of it): frontends'
 * style sheets right-align every cell (td, th), and align="right" does it
 * where there is none; a left-aligned cell holds a <div align="left">,
 * whose presentational alignment no style sheet overrides (they style the
 * cell, and the div inherits nothing it sets itself). */
#define LEFT(text) "<div align=\"left\">" text "</div>"
#define ROW(label, value)                                                  \
    "<tr><th>" LEFT(label) "</th><td align=\"right\">" value "</td></tr>"

/* The full result: the statement as a <pre>, then a table of the
 * numbers, the method, the wall time, the limit and memory.max share. */
static int render_table(pm_strbuf_t *out, const pm_memit_t *m,
                         const pm_memit_mib_t *mib, const char *stmt,
                         const char *method, const char *wall)
{
    pm_strbuf_printf(out,
                     "<div class=\"peakmem-memit\">"
                     "<pre><code>%s</code></pre>",
                     stmt);
    if (html_names(out, m) < 0) {
        return -1;
    }
    pm_strbuf_printf(out,
                     "<table>"
                     "<tbody>"
                     ROW("peak", "%.2f MiB") ROW("increment", "%.2f MiB")
                         ROW("baseline", "%.2f MiB"),
                     mib->peak_mib, mib->increment_mib, mib->baseline_mib);
    if (m->n < (size_t)(m->repeat > 0 ? m->repeat : 0)) {
        pm_strbuf_printf(out, ROW("repeats", "%zu of %d"), m->n, m->repeat);
    } else {
        pm_strbuf_printf(out, ROW("repeats", "%zu"), m->n);
    }
    pm_strbuf_printf(out, ROW("method", "%s") ROW("wall time", "%s"), method,
                     wall);
    if (m->limit_bytes > 0) {
        int over = pm_memit_over_limit(m);
        /* exceeded: the words say it; the colour is only a help */
        pm_strbuf_printf(out,
                         "<tr%s><th>" LEFT("limit") "</th>"
                         "<td align=\"right\">%.2f MiB%s</td></tr>",
                         over ? " class=\"peakmem-over-limit\" "
                                "style=\"background:#fdd;color:#a00\""
                              : "",
                         (double)m->limit_bytes / PM_MIB,
                         over ? " &mdash; exceeded" : "");
    }
    if (m->cgroup_limit_bytes > 0) {
        pm_strbuf_printf(
            out, ROW("of memory.max", "%.1f%% of %.2f MiB"),
            100.0 * (double)pm_memit_peak(m) / (double)m->cgroup_limit_bytes,
            (double)m->cgroup_limit_bytes / PM_MIB);
    }
    pm_strbuf_printf(out, "</tbody></table>");
    return 0;
}

void pm_html_put_base64(pm_strbuf_t *out, const unsigned char *s, size_t len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];

    for (size_t i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)s[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;
        if (n > 1) {
            v |= (unsigned long)s[i + 1] << 8;
        }
        if (n > 2) {
            v |= s[i + 2];
        }
        quad[0] = digits[(v >> 18) & 63];
        quad[1] = digits[(v >> 12) & 63];
        quad[2] = n > 1 ? digits[(v >> 6) & 63] : '=';
        quad[3] = n > 2 ? digits[v & 63] : '=';
        pm_strbuf_append(out, quad, 4);
    }
}

/* The chart as <img src="data:image/svg+xml;base64,...">, not inline
 * <svg>: the sanitizers of untrusted notebooks (JupyterLab 4, Notebook 7,
 * classic Notebook 6.4) drop <svg> and its drawing, leaving its texts as
 * a run-on line, but keep <img> and a data: URI in its src. One form for
 * trusted and untrusted alike, so the chart is never shown twice. */
static int chart_img(pm_strbuf_t *out, const char *svg, int width,
                     int height, const char *title)
{
    char *alt = pm_html_escape(title);

    if (alt == NULL) {
        return -1;
    }
    pm_strbuf_printf(out,
                     "<div><img class=\"peakmem-chart\" width=\"%d\" "
                     "height=\"%d\" alt=\"%s\" "
                     "src=\"data:image/svg+xml;base64,",
                     width, height, alt);
    free(alt);
    pm_html_put_base64(out, (const unsigned char *)svg, strlen(svg));
    pm_strbuf_puts(out, "\"></div>");
    return 0;
}

/* -c's exact path: both totals, labelled, and one row per descendant
 * (pid, command, peak). */
static int render_children(pm_strbuf_t *out, const pm_memit_t *m)
{
    if (!m->include_children || m->sum_of_peaks_bytes == 0) {
        return 0;
    }
    pm_strbuf_printf(
        out,
        "<table class=\"peakmem-children\"><caption>"
        "child processes: sum of per-process peaks %.2f MiB "
        "(exact upper bound) &middot; peak of the sum %.2f MiB "
        "(sampled every %.2f s)</caption>"
        "<thead><tr><th>pid</th><th><div align=\"left\">command</div>"
        "</th><th align=\"right\">peak</th></tr></thead>"
        "<tbody>",
        (double)m->sum_of_peaks_bytes / PM_MIB,
        (double)pm_memit_peak(m) / PM_MIB, m->interval_s);
    for (size_t i = 0; i < m->nchildren; i++) {
        const pm_memit_child_t *c = &m->children[i];
        char *cmd = pm_html_escape(c->command != NULL ? c->command : "");

        if (cmd == NULL) {
            return -1;
        }
        pm_strbuf_printf(out,
                         "<tr><td align=\"right\">%d</td><td>"
                         "<div align=\"left\"><code>%s</code></div></td>"
                         "<td align=\"right\">%.2f MiB%s</td>"
                         "</tr>",
                         c->pid, cmd, (double)c->peak_bytes / PM_MIB,
                         c->exited ? " (exited)" : "");
        free(cmd);
    }
    pm_strbuf_puts(out, "</tbody></table>");
    return 0;
}

static const char *str_or_empty(const json_t *v)
{
    const char *s = json_string_value(v);

    return s != NULL ? s : "";
}

/* A byte count of a worker row as "12.34 MiB", or "" when null. */
static void worker_mib(const json_t *row, const char *key, char *buf,
                       size_t len)
{
    const json_t *v = json_object_get(row, key);

    if (json_is_integer(v)) {
        pm_fmt(buf, len, "%.2f MiB", (double)json_integer_value(v) / PM_MIB);
    } else {
        buf[0] = '\0';
    }
}

/* --dask: one row per worker, then the scheduler: address, host, peak,
 * increment, memory limit, share of it, thresholds crossed, status. */
static int render_workers(pm_strbuf_t *out, const pm_memit_t *m)
{
    size_t i;
    const json_t *w;
    uint64_t peak_sum = 0;
    int n = 0;

    if (m->workers == NULL) {
        return 0;
    }
    json_array_foreach(m->workers, i, w)
    {
        const char *role = json_string_value(json_object_get(w, "role"));
        const json_t *p = json_object_get(w, "peak_bytes");
        if (role != NULL && strcmp(role, "worker") == 0) {
            n++;
            peak_sum += json_is_integer(p) ? (uint64_t)json_integer_value(p)
                                           : 0;
        }
    }
    pm_strbuf_printf(out,
                     "<table class=\"peakmem-workers\"><caption>Dask "
                     "cluster: %d worker(s), peaks summed %.2f MiB"
                     "</caption><thead><tr><th>address</th><th>host</th>"
                     "<th>peak</th><th>increment</th><th>memory limit</th>"
                     "<th>share</th><th>thresholds</th><th>status</th>"
                     "</tr></thead><tbody>",
                     n, (double)peak_sum / PM_MIB);
    json_array_foreach(m->workers, i, w)
    {
        char peak[48], inc[48], limit[48], share[32] = "";
        const json_t *sh = json_object_get(w, "share_of_limit");
        const char *role = json_string_value(json_object_get(w, "role"));
        char thr[48] = "";
        const json_t *pf = json_object_get(w, "pause_fraction");
        const json_t *tf = json_object_get(w, "terminate_fraction");
        if (json_is_true(json_object_get(w, "kill_crossed"))) {
            pm_fmt(thr, sizeof thr, "kill (%.0f%%) crossed",
                   json_is_number(tf) ? 100.0 * json_number_value(tf) : 95.0);
        } else if (json_is_true(json_object_get(w, "pause_crossed"))) {
            pm_fmt(thr, sizeof thr, "pause (%.0f%%) crossed",
                   json_is_number(pf) ? 100.0 * json_number_value(pf) : 80.0);
        }
        int warn = thr[0] != '\0' ||
                   json_is_true(json_object_get(w, "over_limit"));
        char *addr = pm_html_escape(
            str_or_empty(json_object_get(w, "address")));
        char *host = pm_html_escape(
            str_or_empty(json_object_get(w, "host")));
        char *status = pm_html_escape(
            str_or_empty(json_object_get(w, "status")));

        if (addr == NULL || host == NULL || status == NULL) {
            free(addr);
            free(host);
            free(status);
            return -1;
        }
        worker_mib(w, "peak_bytes", peak, sizeof peak);
        worker_mib(w, "increment_bytes", inc, sizeof inc);
        worker_mib(w, "memory_limit_bytes", limit, sizeof limit);
        if (json_is_number(sh)) {
            pm_fmt(share, sizeof share, "%.1f%%", 100.0 * json_number_value(sh));
        }
        pm_strbuf_printf(
            out,
            "<tr%s><td><div align=\"left\"><code>%s</code>%s</div></td>"
            "<td><div align=\"left\">%s</div></td>"
            "<td align=\"right\">%s</td><td align=\"right\">%s</td>"
            "<td align=\"right\">%s</td><td align=\"right\">%s</td>"
            "<td><div align=\"left\">%s</div></td>"
            "<td><div align=\"left\">%s</div></td></tr>",
            warn ? " class=\"peakmem-over-limit\" "
                   "style=\"background:#fdd;color:#a00\""
                 : "",
            addr,
            role != NULL && strcmp(role, "scheduler") == 0 ? " (scheduler)"
                                                           : "",
            host, peak, inc, limit, share, thr, status);
        free(addr);
        free(host);
        free(status);
    }
    pm_strbuf_puts(out, "</tbody></table>");
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
    stmt = statement_excerpt(m->statement, STMT_MAX_LINES, STMT_MAX_COLS);
    method = pm_html_escape(m->method);
    if (stmt == NULL || method == NULL) {
        goto fail;
    }
    format_wall(m, wall, sizeof(wall));
    if (pm_memit_wall_total(m) < PM_LIVE_DELAY_S && m->limit_bytes == 0) {
        pm_strbuf_puts(out, "<div class=\"peakmem-memit\">");
        if (render_compact(out, m, &mib, method, wall) < 0) {
            goto fail;
        }
    } else {
        if (render_table(out, m, &mib, stmt, method, wall) < 0) {
            goto fail;
        }
    }
    if (render_children(out, m) < 0 || render_workers(out, m) < 0) {
        goto fail;
    }
    if (chart_wanted(m, &mib)) {
        pm_svg_series_t series = {
            .label = "RSS", .points = m->timeline, .n = m->ntimeline};
        pm_svg_opts_t so = {
            .title = "RSS during the statement",
            .width = 480,
            .height = 200,
            .series = &series,
            .nseries = 1,
            .mark_peak = 1,
            .peak_mib = pm_memit_exact_peak_mib(m),
            .baseline_mib = mib.baseline_mib,
            .t_end = pm_memit_wall_total(m),
            .limit_mib = (double)m->limit_bytes / PM_MIB,
        };
        char *svg = pm_svg_timeline(&so);
        int rc;
        if (svg == NULL) {
            goto fail;
        }
        rc = chart_img(out, svg, so.width, so.height, so.title);
        free(svg);
        if (rc < 0) {
            goto fail;
        }
    }
    pm_memit_render_sites_html(out, m);
    pm_strbuf_printf(out, "</div>");
    text = pm_strbuf_steal(&b);

fail:
    pm_strbuf_close(&b);
    free(stmt);
    free(method);
    return text;
}
