/* The line tracer's bookkeeping for %mprun: per-line tables (occurrences,
 * increments, highest RSS, peaks) and the per-frame state machine that
 * turns call, line and return events into them. One RSS reading closes a
 * line and opens the next, so a frame's increments add up exactly to its
 * RSS change; line reads are time-gated to keep the trace cheap. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFAULT_MIN_READ_NS 20000     /* 20 us: see DESIGN.md */
#define DEFAULT_CHILDREN_NS 100000000 /* 100 ms */

struct pm_linetable {
    int first_line;
    int nlines;
    uint64_t calls;         /* frames entered */
    pm_line_stat_t lines[]; /* lines[i]: line first_line + i */
};

/* Used by one thread (the traced one): no lock. */
struct pm_tracer {
    int64_t min_read_ns;      /* gate for line reads */
    int64_t children_ns;      /* period of the descendants' scan */
    int peak;                 /* take the high-water mark at fresh reads */
    int include_children;     /* add children_bytes to every reading */
    int64_t last_read_ns;     /* pm_now_ns() of the last successful read */
    uint64_t last_read_ticks; /* pm_ticks() of the last successful read */
    uint64_t min_read_ticks;  /* the read gate, in ticks */
    uint64_t last_rss;        /* bytes: that reading (own + children) */
    int64_t children_read_ns; /* pm_now_ns() of the last descendants' scan */
    uint64_t children_bytes;  /* bytes: descendants' RSS at that scan */
    uint64_t reads;           /* own-RSS reads done since pm_tracer_new */
    uint64_t events;          /* pm_tracer_line calls */
};

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* ---- line tables ------------------------------------------------------*/

int pm_linetable_new(int first_line, int nlines, pm_linetable_t **out)
{
    pm_linetable_t *t;
    size_t size;

    if (out == NULL || first_line < 1 || nlines < 1 ||
        nlines - 1 > INT_MAX - first_line) {
        return -EINVAL;
    }
    if ((size_t)nlines > (SIZE_MAX - sizeof *t) / sizeof t->lines[0]) {
        return -ENOMEM;
    }
    size = sizeof *t + (size_t)nlines * sizeof t->lines[0];
    t = calloc(1, size);
    if (t == NULL) {
        return -ENOMEM;
    }
    t->first_line = first_line;
    t->nlines = nlines;
    *out = t;
    return 0;
}

void pm_linetable_free(pm_linetable_t *t)
{
    free(t);
}

int pm_linetable_first_line(const pm_linetable_t *t)
{
    return t->first_line;
}

int pm_linetable_nlines(const pm_linetable_t *t)
{
    return t->nlines;
}

/* The slot of lineno, or NULL when t is NULL or lineno is outside it. */
static pm_line_stat_t *slot(pm_linetable_t *t, int lineno)
{
    if (t == NULL || lineno < t->first_line ||
        lineno - t->first_line >= t->nlines) {
        return NULL;
    }
    return &t->lines[lineno - t->first_line];
}

const pm_line_stat_t *pm_linetable_get(const pm_linetable_t *t, int lineno)
{
    return slot((pm_linetable_t *)t, lineno);
}

uint64_t pm_linetable_calls(const pm_linetable_t *t)
{
    return t->calls;
}

/* ---- readings ---------------------------------------------------------*/

/* Read own RSS now (and the descendants' when their period has passed)
 * into tr->last_rss. Returns 0 or a negative errno; on failure the last
 * reading stands, so the increments still add up. */
static int read_rss(pm_tracer_t *tr, int64_t now)
{
    uint64_t own, kids;
    int rc = pm_rss_self(&own);

    if (rc < 0) {
        return rc;
    }
    if (tr->include_children &&
        now - tr->children_read_ns >= tr->children_ns) {
        /* A failed scan keeps the cached sum; retry after a period. */
        if (pm_rss_children(getpid(), &kids, NULL) == 0) {
            tr->children_bytes = kids;
        }
        tr->children_read_ns = now;
    }
    tr->reads++;
    tr->last_read_ns = now;
    tr->last_read_ticks = pm_ticks();
    tr->last_rss = own + tr->children_bytes;
    return 0;
}

/* The fast path: one tick read (the clock costs twice as much and is
 * only needed once the gate is open), and an RSS read only when the gate
 * has opened since the last one. Returns 1 when tr->last_rss was just
 * read, 0 when it was reused. */
static int gated_read(pm_tracer_t *tr)
{
    if (pm_ticks() - tr->last_read_ticks < tr->min_read_ticks) {
        return 0;
    }
    return read_rss(tr, pm_now_ns()) == 0;
}

/* Close the current line of fs at reading rss. With peak and a fresh
 * reading, the high-water mark since the last take is that line's peak
 * (it also covers earlier lines closed without a read, which ran for
 * less than the gate). The mark is taken even for lines outside the
 * table, so the next line's window starts here. Frames share the mark:
 * a profiled callee's takes restart it, so a caller's line gets only
 * the peak after the callee's last take (the callee's lines hold the
 * rest). The line held its start and end readings too: the peak is
 * never below either (VmHWM is kept from the kernel's per-CPU batched
 * counters and can read a few hundred KiB under statm, so a del line's
 * mark alone fell below the RSS it started from). */
static void close_line(pm_tracer_t *tr, pm_frame_state_t *fs, uint64_t rss,
                       int fresh)
{
    pm_line_stat_t *st = slot(fs->table, fs->line);
    uint64_t peak = max_u64(rss, fs->line_start_rss);
    uint64_t hwm;

    if (tr->peak && fresh && pm_hwm_take(&hwm) == 0) {
        peak = max_u64(peak, hwm + tr->children_bytes);
    }
    if (st == NULL) {
        return;
    }
    st->increment_bytes += (int64_t)rss - (int64_t)fs->line_start_rss;
    st->mem_max_bytes = max_u64(st->mem_max_bytes, rss);
    if (tr->peak) {
        st->peak_bytes = max_u64(st->peak_bytes, peak);
    }
}

/* ---- the tracer -------------------------------------------------------*/

int pm_tracer_new(const pm_tracer_opts_t *opts, pm_tracer_t **out)
{
    static const pm_tracer_opts_t defaults;
    pm_tracer_t *tr;
    int64_t now;
    int rc;

    if (out == NULL) {
        return -EINVAL;
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    if (opts->min_read_interval_ns < 0 || opts->children_interval_ns < 0) {
        return PM_ERANGE;
    }
    tr = calloc(1, sizeof *tr);
    if (tr == NULL) {
        return -ENOMEM;
    }
    tr->min_read_ns = opts->min_read_interval_ns > 0
                          ? opts->min_read_interval_ns
                          : DEFAULT_MIN_READ_NS;
    tr->children_ns = opts->children_interval_ns > 0
                          ? opts->children_interval_ns
                          : DEFAULT_CHILDREN_NS;
    tr->min_read_ticks = pm_ticks_for_ns(tr->min_read_ns);
    tr->peak = opts->peak != 0;
    tr->include_children = opts->include_children != 0;
    /* A first reading (and descendants' scan), so that a failed read
     * later reuses a real value, and to report a /proc that is missing. */
    now = pm_now_ns();
    tr->children_read_ns = now - tr->children_ns;
    rc = read_rss(tr, now);
    if (rc < 0) {
        free(tr);
        return rc;
    }
    tr->reads = 0;
    *out = tr;
    return 0;
}

void pm_tracer_free(pm_tracer_t *tr)
{
    free(tr);
}

void pm_tracer_call(pm_tracer_t *tr, pm_frame_state_t *fs,
                    pm_linetable_t *table, int def_line)
{
    pm_line_stat_t *st;
    uint64_t rss, hwm;

    if (tr == NULL || fs == NULL) {
        return;
    }
    (void)read_rss(tr, pm_now_ns());
    rss = tr->last_rss;
    if (tr->peak) {
        /* Start a fresh window for the frame's first line. */
        (void)pm_hwm_take(&hwm);
    }
    if (table != NULL) {
        table->calls++;
    }
    st = slot(table, def_line);
    if (st != NULL) {
        st->occurrences++;
        st->mem_max_bytes = max_u64(st->mem_max_bytes, rss);
        if (tr->peak) {
            st->peak_bytes = max_u64(st->peak_bytes, rss);
        }
    }
    fs->table = table;
    fs->line = 0;
    fs->line_start_rss = rss;
}

void pm_tracer_line(pm_tracer_t *tr, pm_frame_state_t *fs, int lineno)
{
    pm_line_stat_t *st;
    uint64_t rss;
    int fresh;

    if (tr == NULL || fs == NULL) {
        return;
    }
    tr->events++;
    fresh = gated_read(tr);
    rss = tr->last_rss;
    /* The first line starts at the call's reading, not this one: the
     * frame's increments then add up to its RSS change exactly. */
    if (fs->line != 0) {
        close_line(tr, fs, rss, fresh);
        fs->line_start_rss = rss;
    }
    st = slot(fs->table, lineno);
    if (st != NULL) {
        st->occurrences++;
    }
    fs->line = lineno;
}

void pm_tracer_return(pm_tracer_t *tr, pm_frame_state_t *fs)
{
    uint64_t rss;
    int fresh;

    if (tr == NULL || fs == NULL) {
        return;
    }
    fresh = read_rss(tr, pm_now_ns()) == 0;
    rss = tr->last_rss;
    if (fs->line != 0) {
        close_line(tr, fs, rss, fresh);
    }
    fs->line = 0;
    fs->line_start_rss = rss;
}

uint64_t pm_tracer_reads(const pm_tracer_t *tr)
{
    return tr != NULL ? tr->reads : 0;
}

uint64_t pm_tracer_events(const pm_tracer_t *tr)
{
    return tr != NULL ? tr->events : 0;
}
