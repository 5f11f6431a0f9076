/* %memit and %%memit: memory_profiler 0.61's options and text, with the
 * exact peak of the kernel probe. The statement runs exactly -r times;
 * baseline = RSS after setup and gc.collect(); each repeat's peak comes
 * from pm_probe (high-water mark, or the sampler where the reset is
 * refused); increment = highest peak - baseline. */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

static const pm_optdef_t memit_optdefs[] = {
    {'r', NULL, 1},    {'t', NULL, 1}, {'i', NULL, 1},  {'c', NULL, 0},
    {'o', NULL, 0},    {'q', NULL, 0}, {0, "limit", 1}, {0, "strict", 0},
    {0, "no-live", 0}, {0, NULL, 0},
};

/* The timeline sampler's period and the most samples it keeps (longer
 * runs keep their whole span at a coarser step). */
#define TIMELINE_INTERVAL_S 0.01
#define TIMELINE_MAX_SAMPLES 2000

typedef struct {
    long repeat;
    double timeout_s; /* 0: none */
    double interval_s;
    int include_children, return_result, quiet;
    uint64_t limit_bytes; /* --limit; 0: none */
    int strict;           /* --strict: fail the cell above the limit */
    int live;             /* show the live line (not -q, --no-live or
                             PEAKMEM_LIVE=0) */
    const char *setup;    /* NULL in line mode */
    const char *statement;
} memit_args_t;

/* -t. The statement runs in the main thread, usually; the sampler's
 * deadline callback (a pure-C thread) then sends SIGALRM to that thread,
 * which interrupts a blocking call (sleep, I/O) with EINTR, and the Python
 * handler installed for the duration of the statement raises TimeoutError.
 * Elsewhere a pending call raises it at the next bytecode. timeout_armed
 * (atomic) is set only while a statement runs, so a late signal or
 * pending call does nothing. */
static atomic_int timeout_armed;
static atomic_int timeout_use_signal;
static pthread_t timeout_thread;  /* written before arming */
static char timeout_message[128]; /* written before arming */

static int raise_timeout(void *arg)
{
    (void)arg;
    if (!atomic_exchange(&timeout_armed, 0)) {
        return 0;
    }
    PyErr_SetString(PyExc_TimeoutError, timeout_message);
    return -1;
}

/* The SIGALRM handler while a timed statement runs: handler(signum, frame).
 */
static PyObject *timeout_handler(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs)
{
    (void)module;
    (void)args;
    (void)nargs;
    return raise_timeout(NULL) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyMethodDef timeout_handler_def = {
    "_peakmem_timeout", (PyCFunction)(void (*)(void))timeout_handler,
    METH_FASTCALL, NULL};

/* Sampler thread, no GIL: pthread_kill and Py_AddPendingCall are both
 * safe from any thread. */
static void on_deadline(void *arg)
{
    (void)arg;
    if (!atomic_load(&timeout_armed)) {
        return;
    }
    if (atomic_load(&timeout_use_signal)) {
        pthread_kill(timeout_thread, SIGALRM);
    } else {
        (void)Py_AddPendingCall(raise_timeout, NULL);
    }
}

/* Install the SIGALRM handler when in the main thread. Returns the old
 * handler (new reference; NULL with no exception when not installed), or
 * NULL with an exception. */
static PyObject *timeout_install(double seconds, int *installed)
{
    snprintf(timeout_message, sizeof timeout_message,
             "the statement did not finish within the -t timeout of %g s",
             seconds);
    *installed = 0;
    atomic_store(&timeout_use_signal, 0);
    PyObject *signal = PyImport_ImportModule("signal");
    PyObject *is_main = NULL, *old = NULL, *handler = NULL, *res = NULL;
    if (signal == NULL) {
        return NULL;
    }
    PyObject *threading = PyImport_ImportModule("threading");
    if (threading != NULL) {
        PyObject *cur = PyObject_CallMethod(threading, "current_thread", NULL);
        PyObject *main = PyObject_CallMethod(threading, "main_thread", NULL);
        is_main =
            cur != NULL && main != NULL ? PyBool_FromLong(cur == main) : NULL;
        Py_XDECREF(cur);
        Py_XDECREF(main);
        Py_DECREF(threading);
    }
    if (is_main == Py_True) {
        old = PyObject_CallMethod(signal, "getsignal", "i", SIGALRM);
        handler =
            old != NULL ? PyCFunction_New(&timeout_handler_def, NULL) : NULL;
        res = handler != NULL ? PyObject_CallMethod(signal, "signal", "iO",
                                                    SIGALRM, handler)
                              : NULL;
        if (res == NULL) {
            Py_CLEAR(old);
        } else {
            timeout_thread = pthread_self();
            atomic_store(&timeout_use_signal, 1);
            *installed = 1;
        }
    }
    Py_XDECREF(is_main);
    Py_XDECREF(handler);
    Py_XDECREF(res);
    Py_DECREF(signal);
    return old;
}

/* Put back the SIGALRM handler that was there before. Keeps a pending
 * exception (the statement's own). */
static void timeout_restore(PyObject *old)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *signal = PyImport_ImportModule("signal");
    PyObject *dfl = signal != NULL && old == Py_None
                        ? PyObject_GetAttrString(signal, "SIG_DFL")
                        : Py_XNewRef(old);
    PyObject *res =
        dfl != NULL ? PyObject_CallMethod(signal, "signal", "iO", SIGALRM, dfl)
                    : NULL;
    Py_XDECREF(dfl);
    if (res == NULL) {
        PyErr_WriteUnraisable(old);
    }
    Py_XDECREF(res);
    Py_XDECREF(signal);
    PyErr_Restore(type, value, tb);
}

static int is_blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

/* Options and statement from the magic's line (and cell). On a mistake
 * returns -1 with UsageError set. */
static int parse_args(pm_state_t *st, const char *line, const char *cell,
                      pm_opts_t *opts, memit_args_t *a)
{
    char err[256];
    const char *v;

    if (pm_opts_parse(line, memit_optdefs, opts, err, sizeof err) < 0) {
        goto usage;
    }
    a->repeat = 1;
    a->timeout_s = 0;
    a->interval_s = 0.1;
    if ((v = pm_opts_get(opts, 'r', NULL)) != NULL &&
        pm_parse_long(v, 1, 1000000, "-r", &a->repeat, err, sizeof err) < 0) {
        goto usage;
    }
    if ((v = pm_opts_get(opts, 't', NULL)) != NULL &&
        pm_parse_seconds(v, 0, "-t", &a->timeout_s, err, sizeof err) < 0) {
        goto usage;
    }
    if ((v = pm_opts_get(opts, 'i', NULL)) != NULL &&
        (pm_parse_seconds(v, 0, "-i", &a->interval_s, err, sizeof err) < 0 ||
         a->interval_s <= 0)) {
        if (a->interval_s <= 0) {
            snprintf(err, sizeof err,
                     "-i expects a number of seconds > 0, got '%s'", v);
        }
        goto usage;
    }
    a->include_children = pm_opts_get(opts, 'c', NULL) != NULL;
    a->return_result = pm_opts_get(opts, 'o', NULL) != NULL;
    a->quiet = pm_opts_get(opts, 'q', NULL) != NULL;
    a->limit_bytes = 0;
    if ((v = pm_opts_get(opts, 0, "limit")) != NULL &&
        pm_parse_size(v, "--limit", &a->limit_bytes, err, sizeof err) < 0) {
        goto usage;
    }
    a->strict = pm_opts_get(opts, 0, "strict") != NULL;
    if (a->strict && a->limit_bytes == 0) {
        snprintf(err, sizeof err,
                 "--strict needs a --limit, e.g. "
                 "--limit 2GiB --strict");
        goto usage;
    }
    const char *env = getenv("PEAKMEM_LIVE");
    a->live = !a->quiet && pm_opts_get(opts, 0, "no-live") == NULL &&
              !(env != NULL &&
                (strcmp(env, "0") == 0 || strcasecmp(env, "off") == 0 ||
                 strcasecmp(env, "no") == 0));
    a->setup = cell != NULL ? opts->rest : NULL;
    a->statement = cell != NULL ? cell : opts->rest;
    if (is_blank(a->statement)) {
        snprintf(err, sizeof err, "%s",
                 cell != NULL
                     ? "%%memit needs code in the cell body to measure"
                     : "%memit needs a statement to measure, e.g. "
                       "%memit x = list(range(10**6))");
        goto usage;
    }
    return 0;
usage:
    pm_py_usage_error(st, err);
    return -1;
}

static int gc_collect(void)
{
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *res =
        gc != NULL ? PyObject_CallMethod(gc, "collect", NULL) : NULL;
    Py_XDECREF(gc);
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

/* One measured run of code. Returns 0, or -1 with the statement's own
 * exception (or a probe error) set; the probe is ended either way. */
static int measure_once(PyObject *shell, PyObject *code, const memit_args_t *a,
                        uint64_t *peak, double *wall, pm_method_t *method)
{
    pm_probe_t probe;
    pm_probe_opts_t popts = {
        .interval_s = a->interval_s,
        .include_children = a->include_children,
    };
    PyObject *old_handler = NULL, *res = NULL;
    int installed = 0, rc = 0;

    if (a->timeout_s > 0) {
        popts.deadline_ns = pm_now_ns() + (int64_t)(a->timeout_s * 1e9);
        popts.on_deadline = on_deadline;
        old_handler = timeout_install(a->timeout_s, &installed);
        if (old_handler == NULL && PyErr_Occurred()) {
            return -1;
        }
        atomic_store(&timeout_armed, 1);
    }
    int begin_rc = pm_probe_begin(&probe, &popts);
    if (begin_rc == 0) {
        res = pm_shell_exec(shell, code);
        rc = pm_probe_end(&probe);
    }
    atomic_store(&timeout_armed, 0);
    if (installed) {
        timeout_restore(old_handler);
    }
    Py_XDECREF(old_handler);
    if (begin_rc < 0) {
        pm_py_raise(begin_rc);
        return -1;
    }
    *peak = probe.peak_bytes;
    *wall = (double)(probe.end_ns - probe.begin_ns) / 1e9;
    *method = probe.method;
    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    if (rc < 0) {
        pm_py_raise(rc);
        return -1;
    }
    return 0;
}

/* Start the timeline sampler (for the SVG in the result) and, inside a
 * kernel, the live line (through disp). Returns 0 or -1 with an
 * exception. */
static int start_timeline(pm_display_ctx_t *disp, const memit_args_t *a,
                          pm_sampler_t **sampler)
{
    pm_sampler_opts_t so = {
        .self_interval_s = TIMELINE_INTERVAL_S,
        .include_children = a->include_children,
        .children_interval_s = a->interval_s,
        .record = 1,
        .max_samples = TIMELINE_MAX_SAMPLES,
    };
    int rc = pm_sampler_new(&so, sampler);
    if (rc < 0) {
        pm_py_raise(rc);
        return -1;
    }
    if (a->live) {
        pm_display_live_start(disp, *sampler, a->statement);
    }
    return 0;
}

/* The sampler's timeline as (seconds from the first sample, MiB). */
static int collect_timeline(pm_sampler_t *s, pm_svg_point_t **out, size_t *n)
{
    pm_sample_t *raw = NULL;
    size_t count = 0;
    if (pm_sampler_timeline_snapshot(s, &raw, &count) < 0 ||
        (*out = PyMem_Calloc(count + 1, sizeof **out)) == NULL) {
        free(raw);
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        (*out)[i].t = (double)(raw[i].t_ns - raw[0].t_ns) / 1e9;
        (*out)[i].mib =
            (double)(raw[i].rss_bytes + raw[i].children_bytes) / 1048576.0;
    }
    *n = count;
    free(raw);
    return 0;
}

/* --limit passed: a warning on stderr; with --strict, MemoryLimitError. */
static int report_limit(pm_state_t *st, const memit_args_t *a,
                        const pm_memit_t *m)
{
    char msg[200];
    snprintf(msg, sizeof msg,
             "peak memory %.2f MiB is above the --limit of %.2f MiB",
             (double)pm_memit_peak(m) / 1048576.0,
             (double)a->limit_bytes / 1048576.0);
    if (a->strict) {
        PyErr_SetString(st->limit_error, msg);
        return -1;
    }
    PyObject *err = PySys_GetObject("stderr"); /* borrowed */
    if (err != NULL && err != Py_None) {
        PyObject *r = PyObject_CallMethod(err, "write", "s",
                                          "peakmem: "
                                          "warning: ");
        Py_XDECREF(r);
        r = r != NULL ? PyObject_CallMethod(err, "write", "s", msg) : NULL;
        Py_XDECREF(r);
        r = r != NULL ? PyObject_CallMethod(err, "write", "s", "\n") : NULL;
        Py_XDECREF(r);
        return r != NULL ? 0 : -1;
    }
    return 0;
}

static PyObject *run_memit(pm_state_t *st, const memit_args_t *a)
{
    /* The measurement's own references: unload may clear st's. */
    PyObject *shell = Py_NewRef(st->shell);
    pm_display_ctx_t disp = {0};
    PyObject *code = NULL, *result = NULL;
    uint64_t *peaks = NULL;
    double *walls = NULL;
    json_t *bundle = NULL;
    char *text = NULL, *statement = NULL;
    pm_method_t method = PM_METHOD_HWM;
    pm_sampler_t *sampler = NULL;
    pm_svg_point_t *timeline = NULL;
    size_t ntimeline = 0;
    char display_id[37] = "";
    int shown_live = 0, failed = 1;
    int rc;

    if (!a->quiet) {
        /* The route and parent of every message of this measurement. */
        pm_display_begin(st, &disp);
    }
    if (a->setup != NULL && !is_blank(a->setup)) {
        PyObject *setup = pm_shell_compile(shell, a->setup);
        PyObject *res = setup != NULL ? pm_shell_exec(shell, setup) : NULL;
        Py_XDECREF(setup);
        if (res == NULL) {
            goto fail;
        }
        Py_DECREF(res);
    }
    code = pm_shell_compile(shell, a->statement);
    peaks = calloc((size_t)a->repeat, sizeof *peaks);
    walls = calloc((size_t)a->repeat, sizeof *walls);
    if (code == NULL || peaks == NULL || walls == NULL) {
        if (code != NULL) {
            PyErr_NoMemory();
        }
        goto fail;
    }
    if (gc_collect() < 0) {
        goto fail;
    }
    uint64_t baseline = 0;
    if ((rc = pm_rss_self(&baseline)) < 0) {
        pm_py_raise(rc);
        goto fail;
    }
    if (!a->quiet && start_timeline(&disp, a, &sampler) < 0) {
        goto fail;
    }
    for (long i = 0; i < a->repeat; i++) {
        if (measure_once(shell, code, a, &peaks[i], &walls[i], &method) < 0) {
            goto fail;
        }
    }
    if (sampler != NULL) {
        shown_live = pm_display_live_stop(&disp, 0, display_id);
        pm_sampler_stop(sampler);
        if (collect_timeline(sampler, &timeline, &ntimeline) < 0) {
            goto fail;
        }
    }
    /* The report shows the statement without the cell's final newline. */
    size_t shown = strlen(a->statement);
    while (shown > 0 && strchr(" \t\r\n", a->statement[shown - 1])) {
        shown--;
    }
    statement = PyMem_Malloc(shown + 1);
    if (statement == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    memcpy(statement, a->statement, shown);
    statement[shown] = '\0';
    pm_memit_t m = {
        .statement = statement,
        .setup = a->setup,
        .repeat = (int)a->repeat,
        .timeout_s = a->timeout_s,
        .interval_s = a->interval_s,
        .include_children = a->include_children,
        .method = pm_method_name(method),
        .baseline_bytes = baseline,
        .n = (size_t)a->repeat,
        .peak_bytes = peaks,
        .wall_s = walls,
        .timeline = timeline,
        .ntimeline = ntimeline,
        .limit_bytes = a->limit_bytes,
        .display_id = shown_live ? display_id : NULL,
    };
    uint64_t cgroup_max = 0;
    if (pm_cgroup_memory_max(&cgroup_max) == 0) {
        m.cgroup_limit_bytes = cgroup_max;
    }
    result = pm_memit_result_new(st, &m);
    if (result == NULL) {
        goto fail;
    }
    if (!a->quiet) {
        bundle = pm_memit_bundle(&m);
        text = pm_memit_render_text(&m);
        if (bundle == NULL || text == NULL) {
            PyErr_NoMemory();
            Py_CLEAR(result);
            goto fail;
        }
        if (pm_display_result(&disp, bundle, text, shown_live) < 0) {
            Py_CLEAR(result);
            goto fail;
        }
    }
    if (pm_memit_over_limit(&m) && report_limit(st, a, &m) < 0) {
        Py_CLEAR(result);
        goto fail;
    }
    if (!a->return_result) {
        Py_SETREF(result, Py_NewRef(Py_None));
    }
    failed = 0;
fail:
    /* the statement failed: a live line still running says it stopped */
    pm_display_live_stop(&disp, failed, display_id);
    pm_display_end(&disp);
    pm_sampler_free(sampler);
    PyMem_Free(timeline);
    json_decref(bundle);
    free(text);
    free(peaks);
    free(walls);
    PyMem_Free(statement);
    Py_XDECREF(code);
    Py_DECREF(shell);
    return result;
}

PyObject *pm_memit_magic(PyObject *module, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames)
{
    pm_state_t *st = get_state(module);
    PyObject *line = NULL, *cell = Py_None;
    if (pm_magic_args("memit", args, nargs, kwnames, &line, &cell) < 0) {
        return NULL;
    }
    if (st->shell == NULL) {
        return pm_py_usage_error(st, "peakmem is not loaded in an IPython "
                                     "shell: run %load_ext peakmem");
    }
    const char *line_s = PyUnicode_AsUTF8(line);
    const char *cell_s = cell != Py_None ? PyUnicode_AsUTF8(cell) : NULL;
    if (line_s == NULL || (cell != Py_None && cell_s == NULL)) {
        return NULL;
    }
    pm_opts_t *opts = PyMem_Malloc(sizeof *opts);
    if (opts == NULL) {
        return PyErr_NoMemory();
    }
    memit_args_t a;
    PyObject *res = NULL;
    if (parse_args(st, line_s, cell_s, opts, &a) == 0) {
        res = run_memit(st, &a);
    }
    PyMem_Free(opts);
    return res;
}
