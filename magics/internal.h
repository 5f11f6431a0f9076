/* Declarations shared by the magics/ files that talk to Python, grouped by
 * the file that defines them. Everything here needs the GIL unless a
 * comment says otherwise. */
#ifndef PM_MAGICS_INTERNAL_H
#define PM_MAGICS_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>

#include "pm_kernel.h"
#include "pm_magics.h"
#include "pm_protocol.h"

/* ---- module state and errors (module_py.c) -----------------------------*/

/* Per-module state (one module object per interpreter). */
typedef struct {
    PyObject *result_type;       /* Result, the base of the two below */
    PyObject *memit_result_type; /* MemitResult, a heap type */
    PyObject *mprun_result_type; /* MprunResult, a heap type */
    PyObject *error;             /* peakmem.Error (a RuntimeError) */
    PyObject *limit_error;       /* peakmem.MemoryLimitError (an Error) */
    PyObject *profiled_type;     /* what @profile returns */
    PyObject *profiled_run_type; /* a profiled generator or coroutine */
    PyObject *lineprofiler_type; /* peakmem.LineProfiler */
    PyObject *usage_error;       /* IPython's UsageError or ValueError; NULL
                                    until the first usage error */
    PyObject *shell;             /* the shell we are loaded into, or NULL */
    PyObject *no_such_process;   /* peakmem.NoSuchProcess (ProcessLookupError) */
    PyObject *no_such_psutil;    /* its subclass that is also psutil's
                                    NoSuchProcess; NULL until first raised */
    PyObject *traced_fn;         /* tracemalloc.get_traced_memory, the
                                    tracemalloc backend's reader; NULL
                                    until first used */
    /* Display state: the publisher is made on the first result shown
     * inside an ipykernel; display_mode says which route is in use. */
    pm_publisher_t *publisher;
    int display_mode; /* DISPLAY_* in display_py.c; 0 until decided */
} pm_state_t;

pm_state_t *get_state(PyObject *module);

/* Raise the Python exception for a pm_ return code, with the message of
 * pm_magics_strerror: OSError(errno, "peakmem: ...") for a negative errno
 * (Python picks FileNotFoundError, PermissionError, ...), peakmem.Error
 * for a project code. Returns NULL. */
PyObject *pm_py_raise(int rc);

/* OSError(errno, message) for a negative errno rc (EIO for any other
 * code), the message formatted as PyUnicode_FromFormat does. NULL. */
PyObject *pm_py_raise_os(int rc, const char *fmt, ...);

/* Raise IPython's UsageError (ValueError without IPython) with msg, a C
 * string or a str object. Returns NULL. */
PyObject *pm_py_usage_error(pm_state_t *st, const char *msg);
PyObject *pm_py_usage_error_obj(pm_state_t *st, PyObject *msg);

/* After an optional lookup failed: clear its Exception, but keep a
 * KeyboardInterrupt (any BaseException that is no Exception) set, so a
 * Ctrl-C that landed in it is not lost. 0 when nothing is left set, -1
 * when it was kept. */
int pm_py_clear_optional(void);

/* ---- running magics in the shell (shell_py.c) --------------------------*/

/* The body of a line/cell magic: its parsed options and the cell's
 * UTF-8 text (NULL for a line magic), both borrowed for the call. Returns
 * a new reference or NULL with an exception set; GIL held. */
typedef PyObject *(*pm_magic_fn)(pm_state_t *st, const pm_opts_t *opts,
                                 const char *cell);

/* Run a line/cell magic called as name(line, cell=None), GIL held: what
 * every magic does first (unpack the arguments: TypeError; refuse to run
 * outside an IPython shell: UsageError; parse the line against defs:
 * UsageError naming the mistake), then body. Returns what body returns,
 * or NULL with an exception set. */
PyObject *pm_magic_call(pm_state_t *st, const char *name,
                        const pm_optdef_t *defs, pm_magic_fn body,
                        PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames);

/* Compile source after IPython's input transformation (so !cmd and magics
 * work), with the shell's compiler, which caches the text so tracebacks
 * show the code. New reference to a code object, or NULL. */
PyObject *pm_shell_compile(PyObject *shell, const char *source);

/* Run a code object in the shell's user namespace. New reference to the
 * result (None) or NULL with the statement's own exception. */
PyObject *pm_shell_exec(PyObject *shell, PyObject *code);

/* 1 in the main thread, 0 elsewhere, -1 with an exception. */
int pm_in_main_thread(void);

/* ---- %memit (memit_py.c) -----------------------------------------------*/

/* The %memit / %%memit magic: (line, cell=None). */
PyObject *pm_memit_magic(PyObject *module, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames);

/* ---- allocation tracking for %memit --sites (allocs_py.c) -------------*/

/* What --sites found: the top sites (strings malloc'd), the allocation
 * peak, the sampling spacing and a note on what was not tracked. */
typedef struct {
    pm_memit_site_t *items;
    size_t n;
    uint64_t allocated_peak_bytes;
    uint64_t sample_bytes;
    char *note; /* NULL when nothing to say */
} pm_sites_report_t;

/* Install the allocator hooks (raw, mem, object domains) and, when numpy
 * 1.22+ is imported, a NEP 49 handler in the current context; tracking
 * stays paused until pm_allocs_resume. root is the statement's code (its
 * frame ends the walk; shift is added to its lines: 1 in cell mode).
 * Returns 0, or -1 with an exception: UsageError for a bad
 * PEAKMEM_SITES_SAMPLE or when one is already on (nested, or in another
 * thread). */
int pm_allocs_start(pm_state_t *st, PyObject *root, int shift);

/* Track (resume) only while the statement itself runs. Any thread. */
void pm_allocs_resume(void);
void pm_allocs_pause(void);

/* Uninstall everything, and describe the nsites sites that held the most
 * at the allocation peak into out (cleared first; the caller clears it
 * with pm_sites_report_clear). No-op when not started. Returns 0 or -1
 * with an exception (out then empty); tracking is off either way. */
int pm_allocs_stop(PyObject *shell, size_t nsites, pm_sites_report_t *out);

void pm_sites_report_clear(pm_sites_report_t *r);

/* How pm_site_describe shows a frame (sites_py.c); all borrowed. */
typedef struct {
    PyObject *shell;      /* its compile._filename_map names the cells */
    PyObject *linecache;  /* the module, or NULL: no source lines */
    PyObject *root_file;  /* the statement's own file name, or NULL */
    int shift;            /* added to lines of root_file (cell mode: the
                             %%memit line comes first in the cell) */
    const char *stdlib_dir; /* "/usr/lib/python3.11/", or NULL */
} pm_site_where_t;

/* A frame (code, a code object, and line) as "In [12] line 3" through
 * IPython's map of cell file names, else "file:line" (a library file
 * from its package on, a standard library file from its own name); its
 * source line through linecache. Strings malloc'd into *where and
 * *source. 0, or -1 with MemoryError or a KeyboardInterrupt that landed
 * in a lookup. */
int pm_site_describe(const pm_site_where_t *c, uintptr_t code, int line,
                     char **where, char **source);

/* The nsites sites of sites that held the most at the allocation peak
 * into out->items (out->n of them), each frame through pm_site_describe
 * (where's linecache is imported here). 0, or -1 with an exception (a
 * KeyboardInterrupt that landed in it included). */
int pm_sites_describe_top(const pm_site_where_t *where,
                          const pm_sites_t *sites, size_t nsites,
                          pm_sites_report_t *out);

/* ---- %memit -t (timeout_py.c) --------------------------------------------*/

/* -t, one pm_timeout_t per measured run (per probe), so a nested
 * %memit or one in another thread never touches another run's timeout.
 * The probe's sampler calls on_deadline (a pure-C thread) when the
 * deadline passes:
 * - In the main thread it sends SIGALRM to that thread, which interrupts
 *   a blocking call (sleep, I/O) with EINTR, and the Python handler
 *   installed for the duration of the statement raises TimeoutError for
 *   the newest fired timeout of the main thread.
 * - In any other thread it takes the GIL and sets an asynchronous
 *   TimeoutError on the measuring thread (PyThreadState_SetAsyncExc): it
 *   is raised at that thread's next bytecode, so a blocking call there
 *   (time.sleep, I/O) finishes first. Python delivers signals only to the
 *   main thread, so nothing else can interrupt it.
 * A timeout is armed only while its statement runs: it is disarmed (under
 * the GIL) as soon as the statement returns, an asynchronous exception
 * still pending then is cleared, and the sampler is joined before the
 * timeout's storage goes away, so no TimeoutError lands in another
 * thread, cell or run. */
#define PM_MAX_TIMEOUT_S 1e9 /* -t: about 31 years */

typedef struct pm_timeout {
    struct pm_timeout *next; /* the armed list (timeout_py.c); GIL */
    atomic_int armed;           /* 1 while the statement runs; set under
                                   the GIL, read by on_deadline */
    atomic_int fired;           /* the deadline passed */
    int delivered;              /* async exception set; GIL */
    int in_main;                /* SIGALRM route (handler installed) */
    pthread_t thread;           /* the measuring thread */
    unsigned long ident;        /* its PyThread_get_thread_ident() */
    double seconds;
} pm_timeout_t;

/* Arm t for a run of seconds in the calling thread: in the main thread
 * the SIGALRM handler is installed and the one it replaces is returned
 * in *old (a new reference, for pm_timeout_restore). 0, or -1 with an
 * exception. GIL held. */
int pm_timeout_arm(pm_timeout_t *t, double seconds, PyObject **old);

/* The probe's deadline callback (its sampler thread, no GIL); arg is the
 * armed pm_timeout_t, alive until the sampler is joined. */
void pm_timeout_on_deadline(void *arg);

/* The statement returned: no exception from t from now on. GIL held. */
void pm_timeout_disarm(pm_timeout_t *t);

/* After the sampler is joined: a TimeoutError t delivered gets t's
 * message. GIL held. */
void pm_timeout_name_error(const pm_timeout_t *t);

/* Put back the SIGALRM handler old (main thread). GIL held. */
void pm_timeout_restore(PyObject *old);

/* ---- %mprun (mprun_py.c) -----------------------------------------------*/

/* The %mprun / %%mprun magic: (line, cell=None). */
PyObject *pm_mprun_magic(PyObject *module, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames);

/* ---- %memit --dask (dask_py.c) -----------------------------------------*/

/* Reset the mark of every worker and of the scheduler of the current
 * distributed Client (address "") or of the one at address, through
 * peakmem._dask.begin. Returns the session (new reference) or NULL with
 * an exception. */
PyObject *pm_dask_begin(pm_state_t *st, const char *address);

/* Each worker's peak since pm_dask_begin. *rows gets the list of
 * per-worker dicts (new reference), *doc the same as JSON (new
 * reference), *over the number of workers above limit_bytes (0: none);
 * warnings go to stderr. Returns 0 or -1 with an exception. */
int pm_dask_end(PyObject *session, uint64_t limit_bytes, PyObject **rows,
                json_t **doc, int *over);

/* ---- result objects (result_py.c) --------------------------------------*/

/* Create the base type peakmem.Result into st, before its subtypes.
 * Returns 0 or -1 with an exception. */
int pm_result_type_init(PyObject *module, pm_state_t *st);

/* Create the MemitResult type into st. Returns 0 or -1 with an exception. */
int pm_memit_result_type_init(PyObject *module, pm_state_t *st);

/* A new MemitResult for m. New reference or NULL with an exception. */
PyObject *pm_memit_result_new(pm_state_t *st, const pm_memit_t *m,
                              PyObject *workers);

/* Create the MprunResult type into st. */
int pm_mprun_result_type_init(PyObject *module, pm_state_t *st);

/* A new MprunResult (what %mprun -r returns) for m, whose text form is
 * text and code_map (borrowed) memory_profiler's code_map of the run.
 * New reference or NULL with an exception. */
PyObject *pm_mprun_result_new(pm_state_t *st, const pm_mprun_t *m,
                              const char *text, PyObject *code_map);

/* ---- showing results (display_py.c) ------------------------------------*/

/* Show a result: inside an ipykernel, a display_data message (content is
 * the display_data content, borrowed) published from C and fenced before
 * the cell's idle; with update, an update_display_data of the display_id
 * in content's transient (replacing a live line); elsewhere text is
 * printed to sys.stdout. Flushes sys.stdout and sys.stderr first. The
 * parent is the cell running now (pm_display_begin + _result + _end).
 * Returns 0 or -1 with an exception. */
int pm_display_show(pm_state_t *st, json_t *content, const char *text,
                    int update);

/* What one measurement shows its live line and its result through, fixed
 * when it begins and owned by the measurement: nothing in it is module
 * state, so %unload_ext / %reload_ext while the statement runs cannot
 * pull it away.
 *
 * The parent rule: every message of a measurement (each live update and
 * the final result) carries as parent_header the execute_request of the
 * cell that was running when the measurement began (pm_display_begin):
 * the cell of the %memit itself or, for a %memit run by a background
 * thread, the cell running at the moment that thread began it (a thread
 * started in cell 1 that measures at once keeps cell 1 as parent while
 * cell 2 runs). Only the pipe route carries it; the fallback route (the
 * shell's display_pub) uses the kernel's parent of the moment. */
typedef struct pm_display_ctx {
    int mode;                /* DISPLAY_* in display_py.c */
    pm_publisher_t *pub;     /* own reference (pipe route), or NULL */
    char *parent_json;       /* malloc'd parent header JSON (pipe route) */
    PyObject *shell;         /* own reference, or NULL */
    pm_liveview_t *live;     /* the live line's thread, or NULL */
    const pm_state_t *owner; /* the module state that began it: compared,
                                never dereferenced */
    struct pm_display_ctx *next; /* running live views (display_py.c's
                                    registry, guarded by its lock) */
    long long sent_mark; /* the kernel session's message count when the
                            live line began (streams flushed) or, on the
                            fallback route, after its last update; or -1
                            (GIL) */
    PyObject *context;   /* fallback route's live line: a copy of the
                            contextvars context it began in (the kernel's
                            parent on ipykernel 7), or NULL; own (GIL) */
    /* A live line on the terminal (print route): the line, and the real
     * sys.stdout/sys.stderr with the stand-ins put in their place while
     * it shows (own references, or NULL). */
    pm_ttyline_t *tty;
    PyObject *real_streams[2], *stand_ins[2];
} pm_display_ctx_t;

/* Capture the display route and parent for a measurement starting now.
 * Never fails (the fallbacks are the Python route and print). GIL. */
void pm_display_begin(pm_state_t *st, pm_display_ctx_t *ctx);

/* Start the live line of ctx (a no-op when the thread cannot start: the
 * result still comes). Pipe and display_pub routes: a display in the
 * notebook. Print route (terminal IPython), when sys.stderr is a terminal
 * and no other terminal live line runs: the text drawn in place on it,
 * with sys.stdout and sys.stderr (those that are terminals) replaced
 * meanwhile by stand-ins that keep the statement's output off the line.
 * Else nothing. The sampler is borrowed: call pm_display_live_stop before
 * freeing it. GIL. */
void pm_display_live_start(pm_display_ctx_t *ctx, pm_sampler_t *sampler,
                           const char *statement);

/* Stop and free ctx's live line (if any); 1 and its display_id when a
 * live line was shown (the result must update it), else 0 (also once it
 * is gone). With stopped, a shown line says "stopped after ...". A
 * terminal line is wiped and the real streams put back (0). GIL. */
int pm_display_live_stop(pm_display_ctx_t *ctx, int stopped,
                         char display_id[37]);

/* Whether the kernel published anything (the cell's prints, other
 * displays) since ctx's live line began: then the result must not
 * replace the live line where it stands, above that output, but come
 * after it. 1 when it did or cannot tell, else 0. Flushes sys.stdout and
 * sys.stderr first. GIL. */
int pm_display_output_since_live(pm_display_ctx_t *ctx);

/* Empty the live line display_id (an update to text/plain ""), so that
 * the result can follow the cell's output as a new display. 0 or -1 with
 * an exception. GIL. */
int pm_display_live_blank(pm_display_ctx_t *ctx, const char *display_id);

/* pm_display_show through ctx's route, with ctx's parent. Returns 0 or
 * -1 with an exception. GIL. */
int pm_display_result(pm_display_ctx_t *ctx, json_t *content,
                      const char *text, int update);

/* Stop the live line (if still running) and release what ctx holds. GIL. */
void pm_display_end(pm_display_ctx_t *ctx);

/* Choose how results will be shown in st->shell and, inside an ipykernel,
 * start the publisher now so that its IOPub subscription is in place by
 * the first result. Never fails: the fallbacks are the Python display
 * route and print. */
void pm_display_open(pm_state_t *st);

/* The route results take in st->shell, deciding it now if undecided:
 * "pipe" (C publisher into ipykernel's IOPub pipe, fenced before idle,
 * live line), "display_pub" (the shell's display publisher: no live
 * line), "print" (no kernel: text on stdout), or "none" (extension not
 * loaded). Static string. GIL. */
const char *pm_display_route(pm_state_t *st);

/* Unload: stop the live lines of st's running measurements (each keeps
 * its own publisher reference for its result) and release st's display
 * state (publisher, kernel references). */
void pm_display_close(pm_state_t *st);

/* ---- stand-ins for sys.stdout/sys.stderr (ttystream_py.c) -----------*/

/* A stand-in for stream while a terminal live line shows: write() wipes
 * line first, then writes to stream (flushed when the text ends a line)
 * and tells line where the cursor is; other attributes are stream's. New
 * reference, or NULL with an exception. GIL. */
PyObject *pm_ttystream_new(PyObject *stream, pm_ttyline_t *line);

/* 1 when obj is such a stand-in. */
int pm_ttystream_check(PyObject *obj);

/* The print route's live line (ttystream_py.c), when sys.stderr is a
 * terminal and no other terminal live line runs: drawn in place on it,
 * sys.stdout/sys.stderr (those that are terminals) replaced by stand-ins
 * meanwhile. Restore puts the real streams back where a stand-in of ctx
 * still stands (a stream the statement replaced itself stays) and
 * releases the line; a no-op without one. GIL. */
void pm_tty_live_start(pm_display_ctx_t *ctx, pm_sampler_t *sampler,
                       const char *statement);
void pm_tty_live_restore(pm_display_ctx_t *ctx);

/* ---- the line profiler (lineprof_py.c; collect_py.c: its targets) -----*/

typedef struct pm_lineprof pm_lineprof_t;
/* A profiler enabled in one thread: that thread's frames of its targets
 * (each thread follows its own) and its place in the thread's nesting. */
typedef struct pm_lineprof_thread pm_lineprof_thread_t;

/* A profiler with no targets yet. NULL with an exception on failure. */
pm_lineprof_t *pm_lineprof_new(const pm_tracer_opts_t *opts);
void pm_lineprof_free(pm_lineprof_t *lp);

/* Add the code objects of obj to list: a function or method (after
 * functools.wraps unwrapping), a class's methods (static, class methods
 * and property accessors included) or a module's own functions. Returns
 * the number added (0: obj holds no Python function) or -1. */
int pm_lineprof_collect(PyObject *obj, PyObject *list);

/* Append the code objects nested in code (functions, classes and
 * comprehensions defined in it, at any depth) to list. 0 or -1. */
int pm_code_nested(PyObject *code, PyObject *list);

/* The displayed line range of code (a code object): from
 * inspect.getsourcelines (from the decorators to the end of the def, like
 * memory_profiler), else the code's own line numbers. Returns 0. */
int pm_code_line_range(PyObject *code, int *first, int *nlines);

/* Profile code (a code object) from now on; its table spans its source
 * lines (from linecache, so cell-defined functions work). 0 or -1. */
int pm_lineprof_add(pm_lineprof_t *lp, PyObject *code);

/* Install the profiler's trace function in the calling thread (nested
 * enables of lp in a thread count; other threads are not traced); on
 * Python 3.12+ through sys.monitoring (monitor_py.c), which leaves the
 * thread's own trace function in place.
 * Disable undoes this thread's enable of lp and, at its last, puts back
 * what the thread had before: the profiler enabled before lp in this
 * thread, or its Python trace function. Enable returns 0 or -1; disable
 * keeps a pending exception. Nesting is kept per thread. GIL held. */
int pm_lineprof_enable(pm_lineprof_t *lp);
void pm_lineprof_disable(pm_lineprof_t *lp);

/* Tag lp with owner (compared, never dereferenced), and ask whether a
 * profiler with that owner is enabled in the calling thread (@profile's
 * test for a recursive call). GIL held. */
void pm_lineprof_set_owner(pm_lineprof_t *lp, const void *owner);
int pm_lineprof_owner_enabled(const void *owner);

/* The nested enables of lp in the calling thread (0: not enabled here);
 * *threads: the threads that have lp enabled. GIL held. */
int pm_lineprof_enabled(const pm_lineprof_t *lp, int *threads);

/* --pdb-mmem: once RSS at a profiled line passes bytes, print
 * memory_profiler's message and start pdb at that frame (once). */
void pm_lineprof_set_break(pm_lineprof_t *lp, uint64_t bytes);

/* One target of a line profiler, every field borrowed from it. */
typedef struct {
    PyObject *code, *qualname, *filename;
    PyObject *lines; /* list of its file's source lines, or NULL */
    const pm_linetable_t *table;
    size_t top; /* the target whose table holds its lines: its own index,
                   or the function it is nested in (added before it) */
} pm_lineprof_view_t;

/* The targets of lp, in the order added (i < ntargets). GIL held. */
size_t pm_lineprof_ntargets(const pm_lineprof_t *lp);
void pm_lineprof_target(const pm_lineprof_t *lp, size_t i,
                        pm_lineprof_view_t *view);

/* ---- the line profiler's report (linereport_py.c) ----------------------*/

/* The tables of the code that ran, as protocol blocks; blocks and lines
 * are PyMem-allocated (free both with PyMem_Free) and borrow strings
 * from lp. 0 or -1. */
int pm_lineprof_blocks(const pm_lineprof_t *lp, pm_mprun_block_t **blocks,
                       size_t *nblocks, pm_mprun_line_t **lines);

/* memory_profiler's show_results text of the code that ran (right-
 * stripped; "" when nothing ran), with precision decimals. Caller frees
 * with free(). NULL with an exception. */
char *pm_lineprof_text(const pm_lineprof_t *lp, int precision);

/* --pdb-mmem / max_mem (lineprofiler_py.c): RSS rss passed limit at a
 * line event of frame: print memory_profiler's message and stop in pdb
 * on the line about to run. 0, or -1 with the debugger's exception
 * (BdbQuit after `q`) for the frame to raise. GIL held. */
int pm_lineprof_break(PyFrameObject *frame, uint64_t rss, uint64_t limit);

/* ---- peakmem.LineProfiler (lineprofiler_py.c) -------------------------*/

/* Create the LineProfiler type into st and the module. 0 or -1. */
int pm_lineprofiler_type_init(PyObject *module, pm_state_t *st);

/* The profiler of a LineProfiler (borrowed), or NULL with an exception
 * when its __init__ did not run. GIL held. */
pm_lineprof_t *pm_lineprofiler_lp(PyObject *prof);

/* memory_profiler's code_map of lp: a peakmem._compat.CodeMap, code
 * object -> {line: (increment, mem, occurrences)} (MiB floats; lines
 * that ran). New reference or NULL. GIL held. */
PyObject *pm_lineprof_code_map(const pm_lineprof_t *lp, int include_children,
                               PyObject *backend);

/* Benchmarks: call callable() under a no-op C trace function (bench_py.c). */
PyObject *pm_call_with_noop_tracer(PyObject *module, PyObject *callable);

/* ---- the sys.monitoring backend (monitor_py.c), Python 3.12+ ----------*/

/* Claim peakmem's sys.monitoring tool id and callbacks for one more
 * thread's profilers. 1: in use; 0: not available (Python < 3.12, or
 * every tool id taken: warned once), use the legacy hook; -1 with an
 * exception. Each 1 is paired with a release. GIL held. */
int pm_monitor_acquire(void);
void pm_monitor_release(void);
/* Count one more (delta 1) or one less (-1) profiler enable watching
 * code: its local events are on while the count is above 0. Needs the
 * tool id acquired. 0 or -1. GIL held. */
int pm_monitor_watch(PyObject *code, int delta);
/* Make th (a profiler's state in the calling thread) the thread's
 * innermost for the callbacks (NULL: the thread has none left). Needs
 * the tool id acquired. 0 or -1 with an exception. GIL held. */
int pm_monitor_set_owner(pm_lineprof_thread_t *th);
/* "sys.monitoring" or "settrace": the backend the next enable takes. */
const char *pm_monitor_backend(void);
/* Benchmarks: _call_with_noop_monitor(code, f): f() with a no-op C
 * callback on code's start, return and line events (local). */
PyObject *pm_call_with_noop_monitor(PyObject *module, PyObject *const *args,
                                    Py_ssize_t nargs);

/* The callbacks' hooks into th, the calling thread's innermost
 * profiler's state in that thread: a frame of code enters, the frame
 * leaves, the frame reaches line. frame is compared, never dereferenced.
 * GIL held; no Python call and never raise, except mon_line under
 * --pdb-mmem once RSS passes the limit: it runs pdb, and returns -1 with
 * BdbQuit set when the user quits (the callback then raises it into the
 * frame, as the legacy hook does); else 0. */
void pm_lineprof_mon_enter(pm_lineprof_thread_t *th, PyObject *code,
                           const void *frame);
void pm_lineprof_mon_leave(pm_lineprof_thread_t *th, const void *frame);
int pm_lineprof_mon_line(pm_lineprof_thread_t *th, const void *frame,
                         int line);

/* ---- memory_profiler's backends (backend_py.c) ------------------------*/

enum {
    PM_BACKEND_PSUTIL = 0, /* RSS */
    PM_BACKEND_PSS,        /* psutil_pss: smaps_rollup Pss */
    PM_BACKEND_USS,        /* psutil_uss: smaps_rollup Private_* */
    PM_BACKEND_POSIX,      /* RSS (memory_profiler runs ps for it) */
    PM_BACKEND_TRACEMALLOC, /* tracemalloc's traced memory */
    PM_BACKEND_COUNT,
};

/* name (a str, or None/NULL for psutil) as PM_BACKEND_*; -1 with a
 * one-line ValueError naming who for an unknown name. GIL held. */
int pm_backend_parse(PyObject *name, const char *who, int *out);
const char *pm_backend_name(int backend);
/* What the kernel reads for backend (tracemalloc: PM_MEM_RSS, unused). */
pm_mem_kind_t pm_backend_kind(int backend);
/* Fill o->kind (and o->read for tracemalloc, whose tracing this starts
 * if it is off, as memory_profiler's profile does). 0 or -1. GIL held. */
int pm_backend_tracer_opts(int backend, pm_tracer_opts_t *o);
/* This process's memory as backend reads it, in bytes. 0 or -1 with an
 * exception. GIL held. */
int pm_backend_read(int backend, uint64_t *bytes);
/* tracemalloc: traced current and peak bytes (peak may be NULL); start
 * tracing when off (*started: 1 when this call started it); stop. Each 0
 * or -1 with an exception. GIL held. */
int pm_backend_traced(uint64_t *current, uint64_t *peak);
int pm_backend_trace_start(int *started);
int pm_backend_trace_stop(void);

/* ---- @profile (profile_py.c) -------------------------------------------*/

/* Write text to a stream: a file-like object with write(), or None for
 * sys.stdout. 0 or -1. */
int pm_stream_write(PyObject *stream, const char *text);

/* profile(func=None, *, stream=None, precision=1, backend=None) */
PyObject *pm_profile(PyObject *module, PyObject *args, PyObject *kwargs);

/* What a pm_profiled_wrap wrapper does on a call: run func(*args) (a
 * vectorcall) as owner wants it. New reference or NULL. GIL held. */
typedef PyObject *(*pm_profiled_hook)(PyObject *owner, PyObject *func,
                                      PyObject *const *args, size_t nargsf,
                                      PyObject *kwnames);

/* The wrapper @profile makes (binds as a method, carries func's
 * __name__, __doc__, __qualname__, __module__, __wrapped__ as
 * functools.wraps), routing each call of func through hook(owner, ...).
 * With lp (owner's profiler, borrowed: owner keeps it alive), the steps
 * of a generator or coroutine func returns run under lp. New reference
 * or NULL with an exception. GIL held. */
PyObject *pm_profiled_wrap(PyObject *module, PyObject *func,
                           pm_profiled_hook hook, PyObject *owner,
                           pm_lineprof_t *lp);
int pm_profile_type_init(PyObject *module, pm_state_t *st);

/* ---- memory_usage() (usage_py.c) ---------------------------------------*/

/* memory_usage(proc=-1, interval=.1, timeout=None, ...) */
PyObject *pm_memory_usage(PyObject *module, PyObject *args, PyObject *kw);

/* ---- python -m peakmem (runner_py.c) -----------------------------------*/

/* python -m peakmem: _run_main(target, is_module, argv, precision,
 * outfile, include_children, pdb_mmem, timestamp) -> exit code, the
 * arguments parsed by _main_args.py. */
PyObject *pm_run_main(PyObject *module, PyObject *args);

/* ---- the peakmem command (recorder_py.c) -------------------------------*/

/* The peakmem command's C side (recorder_py.c), called by magics/_cli.py
 * with parsed arguments; each prints its own one-line errors. _peak and
 * _plot return the exit code; _record returns (stop, signal, pid, the
 * program's exit code or -1, MEM lines), stop "failed" after an error,
 * and releases the GIL while recording. */
/* %memit --dask inside a worker (remote_py.c): begin resets this
 * process's mark -> (baseline bytes, method); end -> (peak bytes, RSS
 * bytes, method, began: False when no begin preceded, the peak then
 * since the process started). GIL. */
PyObject *pm_remote_begin(PyObject *module, PyObject *unused);
PyObject *pm_remote_end(PyObject *module, PyObject *unused);

PyObject *pm_recorder_record(PyObject *module, PyObject *args, PyObject *kw);
PyObject *pm_recorder_peak(PyObject *module, PyObject *args, PyObject *kw);
/* _function_labels(names) -> {name: label}: mprof's short plot labels. */
PyObject *pm_recorder_function_labels(PyObject *module, PyObject *names);
PyObject *pm_recorder_plot(PyObject *module, PyObject *args, PyObject *kw);
PyObject *pm_recorder_shown(PyObject *module, PyObject *text);

#endif
