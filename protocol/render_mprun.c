/* The text/plain and text/html forms of a %mprun line profile: the text
 * byte for byte what memory_profiler 0.61's show_results prints (then
 * right-stripped as its %mprun does), the HTML one table per function. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* show_results pads with format widths; these are its templates' fields */
#define LINENO_W 6
#define MIB_W 12
#define OCC_W 10

/* Python formats any precision; keep snprintf widths sane. */
static int clamp_precision(int precision)
{
    if (precision < 0) {
        return 0;
    }
    return precision > 64 ? 64 : precision;
}

/* "{0:P+4.Pf} MiB" of bytes / 2^20 (glibc's %f rounds the binary value
 * exactly as Python's float formatting does, "-0.0" included). */
static void format_mib(char *buf, size_t len, double mib, int precision)
{
    pm_fmt(buf, len, "%*.*f MiB", precision + 4, precision, mib);
}

/* One row of show_results' template; blank number fields for a line that
 * never ran. */
static void text_line(pm_strbuf_t *out, const pm_mprun_line_t *line,
                      int precision, int show_peak)
{
    char mem[128] = "", inc[128] = "", peak[128] = "", occ[32] = "";
    const char *source = line->source != NULL ? line->source : "";

    if (line->occurrences > 0) {
        format_mib(mem, sizeof(mem), (double)line->mem_bytes / PM_MIB,
                   precision);
        format_mib(inc, sizeof(inc), (double)line->increment_bytes / PM_MIB,
                   precision);
        format_mib(peak, sizeof(peak), (double)line->peak_bytes / PM_MIB,
                   precision);
        snprintf(occ, sizeof(occ), "%llu",
                 (unsigned long long)line->occurrences);
    }
    pm_strbuf_printf(out, "%*d %*s %*s", LINENO_W, line->lineno, MIB_W, mem,
                     MIB_W, inc);
    if (show_peak) {
        pm_strbuf_printf(out, " %*s", MIB_W, peak);
    }
    pm_strbuf_printf(out, "  %*s   %s\n", OCC_W, occ, source);
}

static void text_block(pm_strbuf_t *out, const pm_mprun_block_t *b,
                       int precision, int show_peak)
{
    char header[128];
    size_t width;

    if (show_peak) {
        snprintf(header, sizeof(header), "%*s %*s %*s %*s  %*s   %s", LINENO_W,
                 "Line #", MIB_W, "Mem usage", MIB_W, "Increment", MIB_W,
                 "Peak", OCC_W, "Occurrences", "Line Contents");
    } else {
        snprintf(header, sizeof(header), "%*s %*s %*s  %*s   %s", LINENO_W,
                 "Line #", MIB_W, "Mem usage", MIB_W, "Increment", OCC_W,
                 "Occurrences", "Line Contents");
    }
    pm_strbuf_printf(out, "Filename: %s\n\n%s\n",
                     b->filename != NULL ? b->filename : "", header);
    width = strlen(header);
    for (size_t i = 0; i < width; i++) { /* '=' * len(header) */
        pm_strbuf_putc(out, '=');
    }
    pm_strbuf_putc(out, '\n');
    for (size_t i = 0; i < b->nlines; i++) {
        text_line(out, &b->lines[i], precision, show_peak);
    }
    pm_strbuf_puts(out, "\n\n");
}

/* Length in bytes of the Python whitespace character (str.isspace) that
 * ends text[0..len), or 0. Multi-byte ones are decoded from UTF-8. */
static size_t trailing_space(const unsigned char *text, size_t len)
{
    unsigned long cp;
    size_t start = len, n;

    if (len == 0) {
        return 0;
    }
    if (text[len - 1] < 0x80) {
        unsigned char c = text[len - 1];
        return ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20)) ? 1 : 0;
    }
    while (start > 0 && len - start < 4 && (text[start - 1] & 0xc0) == 0x80) {
        start--;
    }
    if (start == 0) {
        return 0;
    }
    start--;
    n = len - start;
    if (n == 2 && (text[start] & 0xe0) == 0xc0) {
        cp = (text[start] & 0x1fUL) << 6 | (text[start + 1] & 0x3fUL);
    } else if (n == 3 && (text[start] & 0xf0) == 0xe0) {
        cp = (text[start] & 0x0fUL) << 12 | (text[start + 1] & 0x3fUL) << 6 |
             (text[start + 2] & 0x3fUL);
    } else {
        return 0; /* 4-byte sequences hold no whitespace; or invalid */
    }
    if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
        (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
        cp == 0x202f || cp == 0x205f || cp == 0x3000) {
        return n;
    }
    return 0;
}

/* Python's str.rstrip() on UTF-8 text, in place. */
static void rstrip_python(char *text)
{
    size_t len = strlen(text), n;

    while ((n = trailing_space((const unsigned char *)text, len)) > 0) {
        len -= n;
    }
    text[len] = '\0';
}

char *pm_mprun_render_text(const pm_mprun_t *m)
{
    int precision = clamp_precision(m->precision);
    pm_strbuf_t b;
    char *text;

    pm_strbuf_init(&b);
    for (size_t i = 0; i < m->nblocks; i++) {
        text_block(&b, &m->blocks[i], precision, m->show_peak);
    }
    text = pm_strbuf_steal(&b);
    if (text != NULL) {
        rstrip_python(text);
    }
    return text;
}

/* How far the line rose above both its ends: Peak over the larger of the
 * Mem usage before (Mem usage - Increment) and after it. A line that only
 * frees starts at its peak, so it weighs its free, not a rise; a line that
 * ran after an earlier spike is not blamed for it. */
static uint64_t peak_rise(const pm_mprun_line_t *line)
{
    int64_t before = (int64_t)line->mem_bytes - line->increment_bytes;
    uint64_t top = line->mem_bytes;

    if (before > 0 && (uint64_t)before > top) {
        top = (uint64_t)before;
    }
    return line->peak_bytes > top ? line->peak_bytes - top : 0;
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

/* The transient rise that counts: 1 MiB or more. Under that it is the
 * VmHWM/statm disagreement (kernel/tracer.c close_peak: a few hundred
 * KiB on every line), which made every row of a small --peak profile
 * "heavy" against an equally small largest weight. */
static uint64_t counted_rise(const pm_mprun_line_t *line, int show_peak)
{
    uint64_t rise = show_peak ? peak_rise(line) : 0;
    return rise >= PM_MIB ? rise : 0;
}

/* |Increment| and, with the Peak column, the counted rise: the larger
 * is how much the line weighs. */
static uint64_t line_weight(const pm_mprun_line_t *line, int show_peak)
{
    uint64_t w, rise;

    if (line->occurrences == 0) {
        return 0;
    }
    w = magnitude(line->increment_bytes);
    rise = counted_rise(line, show_peak);
    return w > rise ? w : rise;
}

/* A line matters when it weighs 1 MiB or 5% of the block's heaviest. */
static int is_heavy(uint64_t weight, uint64_t largest)
{
    return weight > 0 && (weight >= PM_MIB || weight * 20.0 >= largest * 1.0);
}

/* What a highlighted line did, for its class, colour and marker: the
 * marker and the signed Increment tell them apart without colour (a
 * sanitizer strips inline styles, never text). */
typedef enum { KIND_NONE, KIND_ALLOC, KIND_FREE, KIND_RISE } line_kind_t;

static line_kind_t line_kind(const pm_mprun_line_t *line, int show_peak,
                             uint64_t largest)
{
    uint64_t inc = magnitude(line->increment_bytes);

    if (!is_heavy(line_weight(line, show_peak), largest)) {
        return KIND_NONE;
    }
    if (counted_rise(line, show_peak) > inc) {
        return KIND_RISE;
    }
    return line->increment_bytes < 0 ? KIND_FREE : KIND_ALLOC;
}

static const struct {
    const char *row; /* <tr> attributes */
    const char *mark; /* after the Increment (or Peak) number */
} kinds[] = {
    [KIND_NONE] = {"", ""},
    [KIND_ALLOC] = {" class=\"peakmem-heavy peakmem-alloc\" "
                    "style=\"background-color:rgba(255,165,0,0.25)\"",
                    " <span class=\"peakmem-mark\" title=\"allocates\">"
                    "\xe2\x96\xb2</span>"}, /* U+25B2 ▲ */
    [KIND_FREE] = {" class=\"peakmem-heavy peakmem-free\" "
                   "style=\"background-color:rgba(70,130,180,0.2)\"",
                   " <span class=\"peakmem-mark\" title=\"frees\">"
                   "\xe2\x96\xbc</span>"}, /* U+25BC ▼ */
    [KIND_RISE] = {" class=\"peakmem-heavy peakmem-rise\" "
                   "style=\"background-color:rgba(255,165,0,0.12)\"",
                   " <span class=\"peakmem-mark\" title=\"rises and falls "
                   "back\">\xe2\x96\xb3</span>"}, /* U+25B3 △ */
};

/* Cells are aligned without inline style, which the sanitizers of
 * untrusted notebooks strip (classic Notebook 6.4 all of it): number
 * cells are plain <td align="right"> (the frontends' style sheets
 * right-align every cell anyway), and a left-aligned cell holds a
 * <div align="left">, whose presentational alignment no style sheet
 * overrides (they style the cells). The source is a <pre>: its
 * indentation kept by the element itself, not by a style (its
 * background:none only lets a highlighted row's colour through in
 * JupyterLab, no <code> inside: classic paints that white). The row
 * colour (inline style) is only a help: the sign and the marker tell
 * allocations from frees where it is stripped. */
#define LEFT(text) "<div align=\"left\">" text "</div>"

/* A right-aligned number cell: "{:.Pf} MiB" of bytes / 2^20, an explicit
 * sign when signed (an increment), then the marker. */
static void html_mib_cell(pm_strbuf_t *out, double mib, int precision,
                          int signed_, const char *mark)
{
    pm_strbuf_printf(out, signed_ ? "<td align=\"right\">%+.*f"
                                    " MiB%s</td>"
                                  : "<td align=\"right\">%.*f"
                                    " MiB%s</td>",
                     precision, mib, mark);
}

static int html_line(pm_strbuf_t *out, const pm_mprun_line_t *line,
                     int precision, int show_peak, uint64_t largest)
{
    char *source = pm_html_escape(line->source);
    line_kind_t kind = line_kind(line, show_peak, largest);
    const char *inc_mark = kind == KIND_RISE ? "" : kinds[kind].mark;
    const char *peak_mark = kind == KIND_RISE ? kinds[kind].mark : "";

    if (source == NULL) {
        return -1;
    }
    pm_strbuf_printf(out, "<tr%s><td align=\"right\">%d</td>",
                     kinds[kind].row, line->lineno);
    if (line->occurrences > 0) {
        html_mib_cell(out, (double)line->mem_bytes / PM_MIB, precision, 0,
                      "");
        html_mib_cell(out, (double)line->increment_bytes / PM_MIB, precision,
                      1, inc_mark);
        if (show_peak) {
            html_mib_cell(out, (double)line->peak_bytes / PM_MIB, precision,
                          0, peak_mark);
        }
        pm_strbuf_printf(out, "<td align=\"right\">%llu</td>",
                         (unsigned long long)line->occurrences);
    } else {
        pm_strbuf_puts(out, show_peak ? "<td></td><td></td><td></td><td></td>"
                                      : "<td></td><td></td><td></td>");
    }
    pm_strbuf_printf(out,
                     "<td>" LEFT("<pre style=\"background:none\">%s</pre>")
                         "</td></tr>",
                     source);
    free(source);
    return 0;
}

static int html_block(pm_strbuf_t *out, const pm_mprun_block_t *b,
                      int precision, int show_peak)
{
    char *filename = pm_html_escape(b->filename);
    char *function = pm_html_escape(b->function);
    uint64_t largest = 0;
    int rc = -1;

    if (filename == NULL || function == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < b->nlines; i++) {
        uint64_t w = line_weight(&b->lines[i], show_peak);
        largest = w > largest ? w : largest;
    }
    pm_strbuf_printf(out,
                     "<table class=\"peakmem-mprun-block\">"
                     "<caption>" LEFT(
                         "<code>%s</code> in <code>%s</code>") "</caption>"
                     "<thead><tr>"
                     "<th align=\"right\">Line #</th>"
                     "<th align=\"right\">Mem usage</th>"
                     "<th align=\"right\">Increment</th>",
                     function, filename);
    if (show_peak) {
        pm_strbuf_puts(out, "<th align=\"right\">Peak</th>");
    }
    pm_strbuf_puts(out, "<th align=\"right\">Occurrences</th>"
                        "<th>" LEFT("Line Contents") "</th>"
                        "</tr></thead><tbody>");
    for (size_t i = 0; i < b->nlines; i++) {
        if (html_line(out, &b->lines[i], precision, show_peak, largest) < 0) {
            goto fail;
        }
    }
    pm_strbuf_puts(out, "</tbody></table>");
    rc = 0;

fail:
    free(filename);
    free(function);
    return rc;
}

/* A copy of text without its leading blank lines (%%mprun's empty line
 * part) and trailing whitespace; "" for NULL. */
static char *trim_blank_lines(const char *text)
{
    const char *start = text != NULL ? text : "", *p = start;

    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
        if (*p++ == '\n') {
            start = p;
        }
    }
    if (*p == '\0') {
        start = p;
    }
    char *copy = strdup(start);
    if (copy != NULL) {
        size_t len = strlen(copy);
        while (len > 0 && strchr(" \t\r\n", copy[len - 1]) != NULL) {
            copy[--len] = '\0';
        }
    }
    return copy;
}

char *pm_mprun_render_html(const pm_mprun_t *m)
{
    int precision = clamp_precision(m->precision);
    char *stmt = NULL, *message = NULL, *text = NULL;
    pm_strbuf_t b, *out = &b;

    pm_strbuf_init(&b);
    stmt = trim_blank_lines(m->statement);
    message = pm_html_escape(m->message);
    if (stmt == NULL || message == NULL) {
        goto fail;
    }
    pm_strbuf_puts(out, "<div class=\"peakmem-mprun\">");
    if (stmt[0] != '\0') { /* a blank one would be an empty grey line */
        char *escaped = pm_html_escape(stmt);
        if (escaped == NULL) {
            goto fail;
        }
        pm_strbuf_printf(out,
                         "<pre class=\"peakmem-statement\"><code>%s</code>"
                         "</pre>",
                         escaped);
        free(escaped);
    }
    if (m->nblocks == 0) {
        pm_strbuf_puts(out, "<p>No profiled function ran.</p>");
    }
    for (size_t i = 0; i < m->nblocks; i++) {
        if (html_block(out, &m->blocks[i], precision, m->show_peak) < 0) {
            goto fail;
        }
    }
    if (message[0] != '\0') {
        pm_strbuf_printf(out, "<p class=\"peakmem-message\">%s</p>", message);
    }
    pm_strbuf_puts(out, "</div>");
    text = pm_strbuf_steal(&b);

fail:
    pm_strbuf_close(&b);
    free(stmt);
    free(message);
    return text;
}
