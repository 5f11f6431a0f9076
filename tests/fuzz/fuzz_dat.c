/* libFuzzer target for the .dat reader (protocol/dat.c): any bytes must
 * parse or be refused with a one-line message free of control characters
 * and of broken UTF-8; what parses must give a peak and draw as
 * `peakmem plot` draws it (times from the first sample), in bounded time
 * and memory, every coordinate finite. (Text is xml_text's, tested in
 * check_svg.) Built with clang and ASan+UBSan by scripts/test.sh. */
#include "pm_protocol.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A message a user reads: one line, no control character, whole UTF-8. */
static void check_message(const char *msg, size_t cap)
{
    char copy[1024];

    if (strlen(msg) >= cap) {
        abort();
    }
    for (const unsigned char *s = (const unsigned char *)msg; *s; s++) {
        if (*s < 0x20 || *s == 0x7f) {
            abort();
        }
    }
    /* escaping again changes nothing: no control character and no
     * broken UTF-8 left */
    pm_text_escape(copy, sizeof copy, msg, strlen(msg), strlen(msg));
    if (strcmp(copy, msg) != 0) {
        abort();
    }
}

static void draw(const pm_dat_t *d)
{
    double t0 = d->mem[0].t;
    pm_svg_point_t *main_pts = calloc(d->nmem, sizeof *main_pts);
    pm_svg_series_t *series = calloc(d->nchildren + 1, sizeof *series);
    pm_svg_span_t *spans = calloc(d->nfuncs + 1, sizeof *spans);
    pm_svg_point_t **kids = calloc(d->nchildren + 1, sizeof *kids);
    pm_svg_opts_t o = {0};
    char *svg;

    if (!main_pts || !series || !spans || !kids) {
        goto out;
    }
    for (size_t i = 0; i < d->nmem; i++) {
        main_pts[i] = (pm_svg_point_t){d->mem[i].t - t0, d->mem[i].mib};
    }
    series[0] = (pm_svg_series_t){"main", main_pts, d->nmem};
    for (size_t c = 0; c < d->nchildren; c++) {
        const pm_dat_child_t *ch = &d->children[c];
        kids[c] = calloc(ch->n + 1, sizeof **kids);
        if (kids[c] == NULL) {
            goto out;
        }
        for (size_t k = 0; k < ch->n; k++) {
            kids[c][k] = (pm_svg_point_t){ch->points[k].t - t0,
                                          ch->points[k].mib};
        }
        series[c + 1] = (pm_svg_series_t){"child", kids[c], ch->n};
    }
    for (size_t f = 0; f < d->nfuncs; f++) {
        /* names and title aside: they may say "nan" */
        spans[f] = (pm_svg_span_t){"f", d->funcs[f].start_t - t0,
                                   d->funcs[f].end_t - t0, 0};
    }
    o.title = NULL;
    o.series = series;
    o.nseries = d->nchildren + 1;
    o.spans = spans;
    o.nspans = d->nfuncs;
    o.mark_peak = 1;
    svg = pm_svg_timeline(&o);
    if (svg != NULL && (strstr(svg, "nan") || strstr(svg, "inf"))) {
        abort(); /* every coordinate stays finite */
    }
    free(svg);
out:
    for (size_t c = 0; kids != NULL && c < d->nchildren; c++) {
        free(kids[c]);
    }
    free(kids);
    free(main_pts);
    free(series);
    free(spans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    pm_dat_t d;
    double at;

    if (pm_dat_parse_len((const char *)data, size, &d, err, sizeof err) !=
        0) {
        check_message(err, sizeof err);
        return 0;
    }
    if (err[0] != '\0' || d.nmem == 0 || d.cmdline == NULL) {
        abort();
    }
    (void)pm_dat_peak(&d, 0, &at);
    (void)pm_dat_peak(&d, 1, &at);
    draw(&d);
    pm_dat_close(&d);
    return 0;
}
