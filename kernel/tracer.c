/* The line tracer's bookkeeping for %mprun: per-line tables (occurrences,
 * increments, highest RSS, peaks) and the per-frame state machine that
 * turns call, line and return events into them. One RSS reading closes a
 * line and opens the next, so a frame's increments add up exactly to its
 * RSS change; line reads are time-gated to keep the trace cheap, and the
 * gate's clock itself is skipped on lines known to be fast (see
 * check_gate). */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFAULT_MIN_READ_NS 20000     /* 20 us: see DESIGN.md */
#define DEFAULT_CHILDREN_NS 100000000 /* 100 ms */
#define FIRST_CREDIT_CAP 31           /* clock skips per fast line */
#define FAST_READ_FACTOR 8            /* gate after a fast line: 8 x */
#define SURPRISE_BYTES (512u << 10)   /* own RSS move behind skips */

/* The read gate's memory of one line: how many of its next closes may
 * skip the clock (left), granted while it stays fast (level), valid in
 * the tracer's epoch it was granted in. */
typedef struct {
    uint32_t epoch;
    uint16_t level;
    uint16_t left;
} line_gate_t;

struct pm_linetable {
    int first_line;
    int nlines;
    uint64_t calls;         /* frames entered */
    uint64_t active;        /* frames of the block in flight (entered,
                               not yet returned): more than one in a
                               recursion */
    line_gate_t *gates;     /* gates[i]: line first_line + i (same block) */
    pm_line_stat_t lines[]; /* lines[i]: line first_line + i */
};

/* Used by one thread (the traced one): no lock. */
struct pm_tracer {
    int64_t min_read_ns;      /* gate for line reads */
    int64_t children_ns;      /* period of the descendants' scan */
    int peak;                 /* take the high-water mark at fresh reads */
    int include_children;     /* add children_bytes to every reading */
    pm_mem_kind_t kind;       /* what own memory is (opts->kind) */
    int (*read)(void *arg, uint64_t *bytes); /* opts->read, or NULL */
    void *read_arg;
    int64_t last_read_ns;      /* pm_now_ns() of the last successful read */
    uint64_t last_read_ticks;  /* pm_ticks() of the last successful read */
    uint64_t last_check_ticks; /* pm_ticks() of the last clock read */
    uint64_t min_read_ticks;   /* the read gate, in ticks */
    uint64_t fast_read_ticks;  /* the gate when the line closing is fast */
    uint64_t fast_ticks;       /* a line shorter than this is fast */
    uint64_t last_rss;         /* bytes: that reading (own + children) */
    uint64_t last_own;         /* bytes: its own part */
    int64_t children_read_ns;  /* pm_now_ns() of the last descendants' scan */
    uint64_t children_bytes;   /* bytes: descendants' RSS at that scan */
    uint32_t epoch;            /* line gates of older epochs are void */
    uint16_t credit_cap;       /* most skips one grant gives; halves on
                                  each surprise, never grows */
    uint64_t skipped;          /* closes that skipped the clock since the
                                  last read */
    uint64_t reads;            /* own-RSS reads done since pm_tracer_new */
    uint64_t events;           /* pm_tracer_line calls */
    uint64_t checks;           /* clock reads at line boundaries */
    uint64_t surprises;        /* RSS moved behind skipped clocks */
};

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* A line gate epoch no tracer has used: a table may outlive its tracer
 * or be shared, and a grant is only good for the tracer that gave it. */
static uint32_t new_epoch(void)
{
    static atomic_uint next = 1; /* atomic: tracers of any thread */
    uint32_t e = (uint32_t)atomic_fetch_add(&next, 1);

    return e != 0 ? e : (uint32_t)atomic_fetch_add(&next, 1);
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
    if ((size_t)nlines > (SIZE_MAX - sizeof *t) /
                             (sizeof t->lines[0] + sizeof t->gates[0])) {
        return -ENOMEM;
    }
    size = sizeof *t + (size_t)nlines * sizeof t->lines[0];
    t = calloc(1, size + (size_t)nlines * sizeof t->gates[0]);
    if (t == NULL) {
        return -ENOMEM;
    }
    /* pm_line_stat_t is 8-byte aligned, line_gate_t needs 4. */
    t->gates = (line_gate_t *)(void *)&t->lines[nlines];
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

/* The index of lineno in t (into lines and gates), or -1 when t is NULL
 * or lineno is outside it. */
static int index_of(const pm_linetable_t *t, int lineno)
{
    if (t == NULL || lineno < t->first_line ||
        lineno - t->first_line >= t->nlines) {
        return -1;
    }
    return lineno - t->first_line;
}

/* ---- readings ---------------------------------------------------------*/

/* Read own RSS now (and the descendants' when their period has passed)
 * into tr->last_rss. Returns 0 or a negative errno; on failure the last
 * reading stands, so the increments still add up. A read after skipped
 * clocks that finds own RSS moved by SURPRISE_BYTES or more may have
 * missed the line that moved it: every grant is voided and later grants
 * are halved, so such lines are soon checked at every close again. */
static int read_rss(pm_tracer_t *tr, int64_t now)
{
    uint64_t own, kids;
    int rc = tr->read != NULL         ? tr->read(tr->read_arg, &own)
             : tr->kind != PM_MEM_RSS ? pm_mem_read(0, tr->kind, &own)
                                      : pm_rss_self(&own);

    if (rc < 0) {
        return rc;
    }
    if (tr->skipped > 0 &&
        (own > tr->last_own ? own - tr->last_own : tr->last_own - own) >=
            SURPRISE_BYTES) {
        tr->epoch = new_epoch();
        tr->credit_cap /= 2;
        tr->surprises++;
    }
    tr->skipped = 0;
    tr->last_own = own;
    if (tr->include_children &&
        now - tr->children_read_ns >= tr->children_ns) {
        /* A failed scan keeps the cached sum; retry after a period. */
        if (pm_mem_children(getpid(), tr->kind, &kids) == 0) {
            tr->children_bytes = kids;
        }
        tr->children_read_ns = now;
    }
    tr->reads++;
    tr->last_read_ns = now;
    tr->last_read_ticks = pm_ticks();
    tr->last_check_ticks = tr->last_read_ticks;
    tr->last_rss = own + tr->children_bytes;
    return 0;
}

/* The read gate at a line boundary; g is the gate of the line being
 * closed (NULL: none, or the frame's first line). Returns 1 when
 * tr->last_rss was just read, 0 when it was reused.
 *
 * RSS is read only when min_read_ns has passed since the last read:
 * lines that move RSS by a MiB take far longer (page faults), so they
 * always close with a read of their own. A line that was itself fast
 * (see below) cannot have moved RSS by that much: what moved since the
 * last read came in small steps from many lines, and landing it on one of
 * them is arbitrary either way, so it waits for FAST_READ_FACTOR gates
 * (a read costs 1-3 us, 5-15% of a 20 us gate). Reading the clock to know that
 * costs 10-30 ns per line (rdtsc in a VM, clock_gettime on kvm-clock),
 * as much as the interpreter's own tracing; so a line whose close found
 * it fast (the time since the previous clock read, which bounds its
 * run, under fast_ticks = min_read_ns / 2) may skip the clock on its next
 * closes: 1, 3, 7 ... up to credit_cap of them while it stays fast. A
 * line that was slow is checked at every close. A usually fast line that
 * turns slow during its skips is the one case a skip can miss; read_rss
 * then sees RSS moved behind skips and shrinks the grants. */
static inline int check_gate(pm_tracer_t *tr, line_gate_t *g)
{
    uint64_t now, span;
    int fresh = 0;

    if (g != NULL && g->left > 0 && g->epoch == tr->epoch) {
        g->left--;
        tr->skipped++;
        return 0;
    }
    now = pm_ticks();
    span = now - tr->last_check_ticks;
    tr->last_check_ticks = now;
    tr->checks++;
    if (now - tr->last_read_ticks >= (span < tr->fast_ticks
                                          ? tr->fast_read_ticks
                                          : tr->min_read_ticks)) {
        fresh = read_rss(tr, pm_now_ns()) == 0;
    }
    if (g != NULL) {
        uint32_t level = g->epoch == tr->epoch ? g->level : 0;

        level = span < tr->fast_ticks ? level * 2 + 1 : 0;
        if (level > tr->credit_cap) {
            level = tr->credit_cap;
        }
        g->epoch = tr->epoch;
        g->level = (uint16_t)level;
        g->left = (uint16_t)level;
    }
    return fresh;
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
static void close_peak(pm_tracer_t *tr, pm_frame_state_t *fs, uint64_t rss,
                       int fresh)
{
    uint64_t peak = max_u64(rss, fs->line_start_rss);
    uint64_t hwm;

    if (fresh && pm_hwm_take(&hwm) == 0) {
        peak = max_u64(peak, hwm + tr->children_bytes);
    }
    if (fs->stat != NULL) {
        fs->stat->peak_bytes = max_u64(fs->stat->peak_bytes, peak);
    }
}

static inline void close_line(pm_tracer_t *tr, pm_frame_state_t *fs,
                              uint64_t rss, int fresh)
{
    if (tr->peak) {
        close_peak(tr, fs, rss, fresh);
    }
    pm_line_stat_t *st = fs->stat;

    if (st != NULL) {
        /* A recursive frame's growth is already in the line of the
         * outermost frame of its block that led to it (as cProfile's
         * cumulative time): counted once, the block adds up to the
         * outermost call's change. */
        if (!fs->nested) {
            st->increment_bytes +=
                (int64_t)rss - (int64_t)fs->line_start_rss;
        }
        st->mem_max_bytes = max_u64(st->mem_max_bytes, rss);
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
    tr->kind = opts->kind;
    tr->read = opts->read;
    tr->read_arg = opts->read_arg;
    tr->min_read_ticks = pm_ticks_for_ns(tr->min_read_ns);
    tr->fast_ticks = pm_ticks_for_ns(tr->min_read_ns / 2);
    tr->fast_read_ticks = tr->min_read_ticks * FAST_READ_FACTOR;
    tr->credit_cap = FIRST_CREDIT_CAP;
    tr->epoch = new_epoch(); /* calloc'ed gates (epoch 0): no grant */
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
    fs->nested = table != NULL && table->active++ > 0;
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
    fs->stat = NULL;
    fs->gate = NULL;
    fs->line_start_rss = rss;
}

void pm_tracer_line(pm_tracer_t *tr, pm_frame_state_t *fs, int lineno)
{
    int index;

    if (tr == NULL || fs == NULL) {
        return;
    }
    tr->events++;
    if (fs->line != 0) {
        int fresh = check_gate(tr, fs->gate);
        uint64_t rss = tr->last_rss;

        close_line(tr, fs, rss, fresh);
        fs->line_start_rss = rss;
    } else {
        /* The first line starts at the call's reading, not this one:
         * the frame's increments then add up to its RSS change. */
        (void)check_gate(tr, NULL);
    }
    index = index_of(fs->table, lineno);
    fs->line = lineno;
    if (index >= 0) {
        fs->stat = &fs->table->lines[index];
        fs->gate = &fs->table->gates[index];
        fs->stat->occurrences++;
    } else {
        fs->stat = NULL;
        fs->gate = NULL;
    }
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
    fs->stat = NULL;
    fs->gate = NULL;
    fs->line_start_rss = rss;
    if (fs->table != NULL && fs->table->active > 0) {
        fs->table->active--;
    }
    fs->table = NULL; /* returned: a second return changes nothing */
}

uint64_t pm_tracer_reads(const pm_tracer_t *tr)
{
    return tr != NULL ? tr->reads : 0;
}

uint64_t pm_tracer_events(const pm_tracer_t *tr)
{
    return tr != NULL ? tr->events : 0;
}

uint64_t pm_tracer_checks(const pm_tracer_t *tr)
{
    return tr != NULL ? tr->checks : 0;
}

uint64_t pm_tracer_surprises(const pm_tracer_t *tr)
{
    return tr != NULL ? tr->surprises : 0;
}
