/* Reading recordings back for `peakmem peak` and `peakmem plot`: a .dat
 * file by path (never a device that would not end, never more than the
 * cap) and the series plot draws from it. Plain C, no Python.h. */
#include "pm_record.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pm_recfile_load(const char *path, pm_dat_t *d, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (errlen > 0) {
        err[0] = '\0';
    }
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
    } else if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
    } else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        rc = -ENODEV; /* /dev/zero would never end */
    } else {
        rc = pm_dat_read_fd(fd, PM_DAT_MAX_BYTES, &text, &len);
    }
    close(fd);
    if (rc < 0) {
        return rc;
    }
    if (len == 0) {
        free(text);
        return -ENODATA;
    }
    rc = pm_dat_parse_len(text, len, d, err, errlen);
    free(text);
    return rc;
}

void pm_recfile_plot_close(pm_recfile_plot_t *p)
{
    for (size_t i = 0; i < p->nseries; i++) {
        if (p->points != NULL) {
            free(p->points[i]);
        }
        if (p->labels != NULL) {
            free(p->labels[i]);
        }
    }
    free(p->points);
    free(p->labels);
    free(p->series);
    free(p->spans);
    memset(p, 0, sizeof *p);
}

/* n points of src shifted by -t0 into a new array; NULL on ENOMEM, *bad
 * set when a shifted time is not finite. */
static pm_svg_point_t *shifted(const pm_dat_point_t *src, size_t n, double t0,
                               int *bad)
{
    pm_svg_point_t *pts = calloc(n + 1, sizeof *pts);

    for (size_t i = 0; pts != NULL && i < n; i++) {
        pts[i].t = src[i].t - t0;
        pts[i].mib = src[i].mib;
        *bad |= !isfinite(pts[i].t);
    }
    return pts;
}

int pm_recfile_plot_init(pm_recfile_plot_t *p, const pm_dat_t *d)
{
    double t0 = d->nmem > 0 ? d->mem[0].t : 0;
    size_t n = 1 + d->nchildren;
    int bad = 0;

    memset(p, 0, sizeof *p);
    p->series = calloc(n, sizeof *p->series);
    p->points = calloc(n, sizeof *p->points);
    p->labels = calloc(n, sizeof *p->labels);
    p->spans = calloc(d->nfuncs + 1, sizeof *p->spans);
    p->nseries = n;
    if (!p->series || !p->points || !p->labels || !p->spans) {
        pm_recfile_plot_close(p);
        return -ENOMEM;
    }
    p->points[0] = shifted(d->mem, d->nmem, t0, &bad);
    if (p->points[0] == NULL) {
        pm_recfile_plot_close(p);
        return -ENOMEM;
    }
    p->series[0] = (pm_svg_series_t){"main", p->points[0], d->nmem};
    for (size_t c = 0; c < d->nchildren; c++) {
        const pm_dat_child_t *ch = &d->children[c];

        p->points[c + 1] = shifted(ch->points, ch->n, t0, &bad);
        p->labels[c + 1] = malloc(32);
        if (p->points[c + 1] == NULL || p->labels[c + 1] == NULL) {
            pm_recfile_plot_close(p);
            return -ENOMEM;
        }
        snprintf(p->labels[c + 1], 32, "child %d", ch->pid);
        p->series[c + 1] =
            (pm_svg_series_t){p->labels[c + 1], p->points[c + 1], ch->n};
    }
    for (size_t f = 0; f < d->nfuncs; f++) {
        p->spans[f].name = d->funcs[f].name;
        p->spans[f].start_t = d->funcs[f].start_t - t0;
        p->spans[f].end_t = d->funcs[f].end_t - t0;
        bad |= !isfinite(p->spans[f].start_t) ||
               !isfinite(p->spans[f].end_t);
    }
    p->nspans = d->nfuncs;
    if (bad) {
        pm_recfile_plot_close(p);
        return -ERANGE;
    }
    return 0;
}

char *pm_recfile_title(const char *cmdline)
{
    size_t n = strlen(cmdline);

    while (n > 0 && strchr("\n\r ", cmdline[n - 1]) != NULL) {
        n--;
    }
    return n > 0 ? strndup(cmdline, n) : NULL;
}

int pm_recfile_svg(const pm_recfile_plot_t *p, const char *title,
                   const char *out)
{
    pm_svg_opts_t opts = {0};
    char *svg;
    int rc;

    opts.title = title;
    opts.series = p->series;
    opts.nseries = p->nseries;
    opts.spans = p->spans;
    opts.nspans = p->nspans;
    opts.mark_peak = 1;
    svg = pm_svg_timeline(&opts);
    if (svg == NULL) {
        return -ENOMEM;
    }
    /* as open(out, "w"): symlinks followed, mode kept */
    rc = pm_outfile_write(out, svg, strlen(svg));
    free(svg);
    return rc;
}
