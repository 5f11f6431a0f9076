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

/* n points of src shifted by -t0 into a new array, only those inside the
 * window (o->window: lo <= t <= hi after the shift); *kept their number.
 * NULL on ENOMEM, *bad set when a shifted time is not finite. */
static pm_svg_point_t *shifted(const pm_dat_point_t *src, size_t n, double t0,
                               const pm_recfile_plot_opts_t *o, size_t *kept,
                               int *bad)
{
    pm_svg_point_t *pts = calloc(n + 1, sizeof *pts);

    *kept = 0;
    for (size_t i = 0; pts != NULL && i < n; i++) {
        double t = src[i].t - t0;

        *bad |= !isfinite(t);
        if (o->window && !(t >= o->win_lo && t <= o->win_hi)) {
            continue;
        }
        pts[*kept].t = t;
        pts[*kept].mib = src[i].mib;
        (*kept)++;
    }
    return pts;
}

int pm_recfile_slope(const pm_svg_point_t *pts, size_t n, double *slope,
                     double *intercept)
{
    double mt = 0, mm = 0, stt = 0, stm = 0;

    if (n < 2) {
        return -EDOM;
    }
    for (size_t i = 0; i < n; i++) {
        mt += pts[i].t / (double)n;
        mm += pts[i].mib / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        stt += (pts[i].t - mt) * (pts[i].t - mt);
        stm += (pts[i].t - mt) * (pts[i].mib - mm);
    }
    if (!(stt > 0) || !isfinite(stt) || !isfinite(stm)) {
        return -EDOM; /* every sample at one time */
    }
    *slope = stm / stt;
    *intercept = mm - *slope * mt;
    return 0;
}

/* Append a series to p (its arrays sized by the caller); takes pts and
 * label. */
static void add_series(pm_recfile_plot_t *p, pm_svg_point_t *pts, size_t n,
                       char *label)
{
    size_t i = p->nseries++;

    p->points[i] = pts;
    p->labels[i] = label;
    p->series[i] = (pm_svg_series_t){label, pts, n};
}

int pm_recfile_plot_build(pm_recfile_plot_t *p, const pm_dat_t *ds,
                          const char *const *names, size_t nd,
                          const pm_recfile_plot_opts_t *o)
{
    static const pm_recfile_plot_opts_t defaults;
    size_t n = 0, nspans = 0;
    int bad = 0, spans = 0;

    if (o == NULL) {
        o = &defaults;
    }
    /* mprof: function marks only for one file, and not with -n */
    spans = nd == 1 && !o->no_spans;
    for (size_t k = 0; k < nd; k++) {
        n += 2 + ds[k].nchildren; /* main, its trend, children */
        nspans += spans ? ds[k].nfuncs : 0;
    }
    memset(p, 0, sizeof *p);
    p->series = calloc(n + 1, sizeof *p->series);
    p->points = calloc(n + 1, sizeof *p->points);
    p->labels = calloc(n + 1, sizeof *p->labels);
    p->spans = calloc(nspans + 1, sizeof *p->spans);
    if (!p->series || !p->points || !p->labels || !p->spans) {
        pm_recfile_plot_close(p);
        return -ENOMEM;
    }
    for (size_t k = 0; k < nd; k++) {
        const pm_dat_t *d = &ds[k];
        double t0 = d->nmem > 0 ? d->mem[0].t : 0, slope, b;
        size_t kept;
        pm_svg_point_t *pts = shifted(d->mem, d->nmem, t0, o, &kept, &bad);
        char *label = NULL, *trend_label = NULL;
        pm_svg_point_t *trend = NULL;
        int have_trend = 0;

        if (pts == NULL) {
            pm_recfile_plot_close(p);
            return -ENOMEM;
        }
        if (o->slope && pm_recfile_slope(pts, kept, &slope, &b) == 0) {
            have_trend = 1;
        }
        label = nd > 1 ? strdup(names[k]) : strdup("main");
        if (label != NULL && have_trend) {
            /* mprof appends " slope {:.5f}" (MiB/s) to the label */
            char *l = pm_fmt_alloc("%s slope %.5f", label, slope);

            free(label);
            label = l;
            trend_label = strdup("trend");
            trend = calloc(3, sizeof *trend);
            if (trend != NULL && kept > 0) {
                trend[0].t = pts[0].t;
                trend[1].t = pts[kept - 1].t;
                trend[0].mib = slope * trend[0].t + b;
                trend[1].mib = slope * trend[1].t + b;
            }
        }
        if (label == NULL || (have_trend && (!trend || !trend_label))) {
            free(pts);
            free(label);
            free(trend);
            free(trend_label);
            pm_recfile_plot_close(p);
            return -ENOMEM;
        }
        add_series(p, pts, kept, label);
        if (have_trend) {
            add_series(p, trend, 2, trend_label);
        }
        for (size_t c = 0; c < d->nchildren; c++) {
            const pm_dat_child_t *ch = &d->children[c];
            pm_svg_point_t *cp = shifted(ch->points, ch->n, t0, o, &kept, &bad);
            char *cl = cp != NULL ? pm_fmt_alloc("child %d", ch->pid) : NULL;

            if (cl == NULL) {
                free(cp);
                pm_recfile_plot_close(p);
                return -ENOMEM;
            }
            add_series(p, cp, kept, cl);
        }
        for (size_t f = 0; spans && f < d->nfuncs; f++) {
            pm_svg_span_t *sp = &p->spans[p->nspans];

            sp->name = d->funcs[f].name;
            sp->start_t = d->funcs[f].start_t - t0;
            sp->end_t = d->funcs[f].end_t - t0;
            sp->level = d->funcs[f].level;
            bad |= !isfinite(sp->start_t) || !isfinite(sp->end_t);
            if (o->window) { /* the part inside the window, if any */
                sp->start_t = fmax(sp->start_t, o->win_lo);
                sp->end_t = fmin(sp->end_t, o->win_hi);
                if (sp->start_t > sp->end_t) {
                    continue;
                }
            }
            p->nspans++;
        }
    }
    if (bad) {
        pm_recfile_plot_close(p);
        return -ERANGE;
    }
    if (p->nspans > 0) { /* the spans under mprof's short labels */
        const char **names = calloc(p->nspans, sizeof *names);
        const char **labels = calloc(p->nspans, sizeof *labels);

        size_t u = 0;

        /* the distinct names (a long run repeats a few functions) */
        for (size_t i = 0; names != NULL && labels != NULL && i < p->nspans;
             i++) {
            size_t j = 0;

            while (j < u && strcmp(names[j], p->spans[i].name) != 0) {
                j++;
            }
            if (j == u) {
                names[u++] = p->spans[i].name;
            }
        }
        if (names != NULL && labels != NULL) {
            pm_recfile_function_labels(names, u, labels);
            for (size_t i = 0; i < p->nspans; i++) {
                size_t j = 0;

                while (strcmp(names[j], p->spans[i].name) != 0) {
                    j++;
                }
                p->spans[i].name = labels[j];
            }
        }
        free(names);
        free(labels);
    }
    return 0;
}

int pm_recfile_plot_init(pm_recfile_plot_t *p, const pm_dat_t *d)
{
    return pm_recfile_plot_build(p, d, NULL, 1, NULL);
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
                   const char *out, int flame)
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
    opts.flame = flame;
    svg = pm_svg_timeline(&opts);
    if (svg == NULL) {
        return -ENOMEM;
    }
    /* as open(out, "w"): symlinks followed, mode kept */
    rc = pm_outfile_write(out, svg, strlen(svg));
    free(svg);
    return rc;
}

int pm_recfile_func_peak(const pm_dat_t *d, const char *func, double *peak)
{
    int found = 0, any = 0;

    *peak = 0;
    for (size_t f = 0; f < d->nfuncs; f++) {
        if (strcmp(d->funcs[f].name, func) != 0) {
            continue;
        }
        found = 1;
        /* mprof's check: every MEM sample inside one of its calls */
        for (size_t k = 0; k < d->nmem; k++) {
            const pm_dat_point_t *m = &d->mem[k];

            if (m->t >= d->funcs[f].start_t && m->t <= d->funcs[f].end_t &&
                (!any || m->mib > *peak)) {
                *peak = m->mib;
                any = 1;
            }
        }
    }
    return !found ? -ENOENT : !any ? -ENODATA : 0;
}

/* The last k dot-separated components of name (all of it when it has
 * fewer), as a pointer into name. */
static const char *suffix(const char *name, int k)
{
    const char *p = name + strlen(name);

    while (p > name) {
        if (p[-1] == '.' && --k == 0) {
            return p;
        }
        p--;
    }
    return name;
}

static int components(const char *name)
{
    int n = 1;

    for (; *name != '\0'; name++) {
        n += *name == '.';
    }
    return n;
}

void pm_recfile_function_labels(const char *const *names, size_t n,
                                const char **labels)
{
    for (size_t i = 0; i < n; i++) {
        int parts = components(names[i]), k;

        for (k = 1; k < parts; k++) {
            const char *mine = suffix(names[i], k);
            int shared = 0;

            for (size_t j = 0; j < n && !shared; j++) {
                const char *theirs = suffix(names[j], k);

                /* the same k last components: equal text, and theirs
                 * starts at a component boundary */
                shared = j != i && strcmp(names[j], names[i]) != 0 &&
                         strcmp(theirs, mine) == 0;
            }
            if (!shared) {
                break;
            }
        }
        labels[i] = suffix(names[i], k);
    }
}
