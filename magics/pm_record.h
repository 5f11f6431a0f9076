/* The peakmem command's plain-C part (no Python.h): the recording engine
 * (magics/record.c) behind `peakmem run` and `peakmem attach`, and the
 * reading of recordings back for peak and plot (magics/recfile.c). The
 * argument parsing lives in magics/_cli.py, the Python boundary in
 * magics/recorder_py.c. Returns are 0 or a negative errno / PM_E* code
 * (pm_strerror, pm_protocol_strerror). */
#ifndef PM_RECORD_H
#define PM_RECORD_H

#include "pm_kernel.h"
#include "pm_protocol.h"

#include <stddef.h>
#include <sys/types.h>

/* ---- recording (record.c) ----------------------------------------------*/

typedef struct {
    char *const *argv;    /* run: the program (posix_spawnp); NULL: attach */
    pid_t pid;            /* attach: the process to record */
    const char *output;   /* the .dat file: created or truncated */
    const char *cmdline;  /* its CMDLINE text (NULL: attach reads /proc) */
    double interval_s;    /* sampling period, > 0 */
    double timeout_s;     /* stop recording after this long; 0: never */
    int include_children; /* MEM holds the descendants' RSS too (-C) */
    int multiprocess;     /* CHLD lines per descendant (-M) */
    pm_mem_kind_t kind;   /* what MEM and CHLD hold (--backend): RSS,
                             PSS or USS */
    /* With include_children: a watcher (caller-owned, pm_children_new
     * with pid 0) rooted at the program and stopped at the end, for each
     * descendant's exact peak; NULL: none. */
    pm_children_t *children;
} pm_record_opts_t;

/* How a recording ended (pm_record_result_t.stop). */
enum {
    PM_RECORD_EXITED = 1, /* the program or the attached process ended */
    PM_RECORD_SIGNAL,     /* SIGINT or SIGTERM reached the recorder */
    PM_RECORD_TIMEOUT,    /* timeout_s passed; the target keeps running */
};

/* Which step failed (pm_record_result_t.failed) when pm_record returns
 * an error. */
enum {
    PM_RECORD_FAIL_TARGET = 1, /* attach: the pid (-ESRCH: no process;
                                  -ENODATA: no memory to sample) */
    PM_RECORD_FAIL_OPEN,       /* the output cannot be created */
    PM_RECORD_FAIL_SPAWN,      /* the program cannot be run; no file left */
    PM_RECORD_FAIL_SAMPLE,     /* attach: the sampler cannot start */
    PM_RECORD_FAIL_WRITE,      /* writing the output failed */
};

typedef struct {
    int failed;     /* PM_RECORD_FAIL_*, 0 on success */
    int stop;       /* PM_RECORD_*: how the recording ended */
    int signal;     /* PM_RECORD_SIGNAL: the signal number */
    pid_t pid;      /* the recorded process */
    int reaped;     /* run: the program was waited for... */
    int wstatus;    /* ...with this waitpid status */
    size_t nmem;    /* MEM lines written */
} pm_record_result_t;

/* Called with stdout flushed once the output is open and before the
 * program starts (the command prints its banner here); may be NULL. */
typedef void (*pm_record_ready_fn)(void *ctx);

/* Record a process's RSS into o->output as mprof .dat lines (CMDLINE,
 * MEM, CHLD), whole lines only, one write(2) per flush every 0.5 s on an
 * O_APPEND descriptor, so a Python child appending FUNC lines to the same
 * file never interleaves half a line. run spawns o->argv with default
 * SIGPIPE/SIGXFSZ and an empty mask, then waits on its pidfd (a 50 ms
 * poll without one). SIGINT and SIGTERM stop the recording: they are
 * blocked in the calling thread and read from a signalfd polled with the
 * pidfd (no handler, no process-wide flag; the caller's other threads
 * must block them too, or one of them takes the signal); a run program
 * gets the signal too unless it came from the terminal (which sent it to
 * the whole group). The previous mask is restored on return. Plain C;
 * the caller releases the GIL around it. Returns 0 (see res->stop) or a
 * negative errno / PM_E* code with res->failed set. */
int pm_record(const pm_record_opts_t *o, pm_record_ready_fn ready,
              void *ctx, pm_record_result_t *res);

/* mprof's get_cmd_line: args joined by spaces, those holding a blank or
 * a tab quoted with '. Caller frees; NULL on ENOMEM. */
char *pm_record_join_cmdline(char *const *args, size_t n);

/* ---- reading recordings (recfile.c) ------------------------------------*/

/* Read and parse the .dat file at path (a regular file or a pipe, at most
 * PM_DAT_MAX_BYTES). Returns 0 (caller closes d), -ENODEV for a device or
 * a socket, -EISDIR, -EFBIG over the cap, -ENODATA for an empty file, a
 * negative errno, or pm_dat_parse's code with err filled. */
int pm_recfile_load(const char *path, pm_dat_t *d, char *err, size_t errlen);

/* What plot draws, times in seconds from the first MEM sample: series[0]
 * is "main", then one "child <pid>" per CHLD pid; spans are the FUNC
 * lines. Borrows the names of d, which must outlive it. */
typedef struct {
    pm_svg_series_t *series;
    size_t nseries;
    pm_svg_span_t *spans;
    size_t nspans;
    pm_svg_point_t **points; /* owned: series[i].points */
    char **labels;           /* owned: series[i].label, i > 0 */
} pm_recfile_plot_t;

/* What mprof plot's options change (all 0: the plain plot). */
typedef struct {
    int no_spans;          /* -n/--no-function-ts: no FUNC marks */
    int slope;             /* -s/--slope: a least-squares trend series
                              after each main one, its slope (MiB/s) in
                              the main label as mprof writes it */
    int window;            /* -w/--window lo,hi: only samples (and the
                              parts of calls) with lo <= t <= hi, in
                              seconds from each file's first sample */
    double win_lo, win_hi;
} pm_recfile_plot_opts_t;

/* Returns 0, -ENOMEM or -ERANGE (times too far apart for a double). On
 * failure p holds nothing to free; else pm_recfile_plot_close. */
int pm_recfile_plot_init(pm_recfile_plot_t *p, const pm_dat_t *d);

/* The plot of nd recordings (mprof plot with several files): per file its
 * main series (labelled "main" for one file, else names[k], borrowed and
 * copied), its trend with o->slope, its children; FUNC spans (with their
 * level) only for one file and without o->no_spans. Each file's times
 * start at its own first sample. o may be NULL. Same returns as init. */
int pm_recfile_plot_build(pm_recfile_plot_t *p, const pm_dat_t *ds,
                          const char *const *names, size_t nd,
                          const pm_recfile_plot_opts_t *o);

/* Least-squares line through n points: *slope in MiB/s and *intercept.
 * Returns 0, or -EDOM for fewer than two distinct times. */
int pm_recfile_slope(const pm_svg_point_t *pts, size_t n, double *slope,
                     double *intercept);
/* Free what p holds and zero it; a zeroed p is fine. */
void pm_recfile_plot_close(pm_recfile_plot_t *p);

/* peak --func: the highest MEM sample taken during a call of func (a
 * FUNC line's name, as mprof writes module.qualname), as mprof's
 * filter_mprofile_mem_usage_by_function. Returns 0 with *peak set,
 * -ENOENT when no FUNC line has that name, -ENODATA when no sample fell
 * inside its calls. */
int pm_recfile_func_peak(const pm_dat_t *d, const char *func, double *peak);

/* mprof's function_labels: each dotted name (module.qualname) shortened
 * to its fewest last components that no other name ends with ("x.y" and
 * "z.y" keep theirs, "x.w" becomes "w"). labels[i] points into names[i].
 * Plot draws the spans under these labels, as mprof does. */
void pm_recfile_function_labels(const char *const *names, size_t n,
                                const char **labels);

/* plot's default title: the CMDLINE without its trailing blanks, or NULL
 * when that is empty (or on ENOMEM). Caller frees. */
char *pm_recfile_title(const char *cmdline);

/* Draw p as an SVG document (the peak marked; spans as a flame graph
 * with flame) into out, as open(out, "w")
 * would: symlinks followed, an existing file's mode kept. Returns 0,
 * -ENOMEM or pm_outfile_write's negative errno. */
int pm_recfile_svg(const pm_recfile_plot_t *p, const char *title,
                   const char *out, int flame);

#endif
