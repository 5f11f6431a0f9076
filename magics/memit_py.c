/* %memit and %%memit: memory_profiler 0.61's options and text, with the
 * exact peak of the kernel probe. The statement runs exactly -r times;
 * baseline = RSS after setup and gc.collect(); each repeat's peak comes
 * from pm_probe (high-water mark, or the sampler where the reset is
 * refused); increment = highest peak - baseline. */
#include "internal.h"

#include <string.h>
#include <strings.h>

/* The timeline sampler's period and the most samples it keeps (longer
 * runs keep their whole span at a coarser step). */
#define TIMELINE_INTERVAL_S 0.01
#define TIMELINE_MAX_SAMPLES 2000

/* Sites shown by --sites without a number. */
#define SITES_DEFAULT 5

typedef struct {
    long repeat;
    double timeout_s; /* 0: none */
    double interval_s;
    int include_children, return_result, quiet;
    uint64_t limit_bytes; /* --limit; 0: none */
    int strict;           /* --strict: fail the cell above the limit */
    int live;             /* show the live line (not -q, --no-live or
                             PEAKMEM_LIVE=0) */
    long sites;           /* --sites [N]: sites shown; 0: not tracked */
    const char *setup;    /* NULL in line mode */
    const char *statement;
    const char *dask;     /* --dask: "" (the current Client) or an
                             address; NULL without --dask */
} memit_args_t;

static int is_blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

/* Options and statement from the magic's line (and cell). On a mistake
 * returns -1 with UsageError set. */
static int parse_args(pm_state_t *st, const pm_opts_t *opts, const char *cell,
                      memit_args_t *a)
{
    char err[256];
    const char *v;

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
    if (a->timeout_s > PM_MAX_TIMEOUT_S) {
        pm_fmt(err, sizeof err,
               "-t expects a number of seconds from 0 to %.0f, got '%s'",
               PM_MAX_TIMEOUT_S, v);
        goto usage;
    }
    if ((v = pm_opts_get(opts, 'i', NULL)) != NULL &&
        pm_parse_interval(v, "-i", &a->interval_s, err, sizeof err) < 0) {
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
    a->dask = pm_opts_get(opts, 0, "dask");
    a->strict = pm_opts_get(opts, 0, "strict") != NULL;
    a->sites = 0;
    if ((v = pm_opts_get(opts, 0, "sites")) != NULL) {
        a->sites = SITES_DEFAULT;
        if (v[0] != '\0' && pm_parse_long(v, 1, 1000, "--sites", &a->sites,
                                          err, sizeof err) < 0) {
            goto usage;
        }
    }
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

/* ---- the statement's simple names ------------------------------------*/

#define NAMES_MAX 4       /* names shown at most */
#define NAME_VALUE_MAX 40 /* a value's repr is shown when shorter */

/* The names of a measurement, owned: name and value strings malloc'd. */
typedef struct {
    pm_memit_name_t items[NAMES_MAX];
    size_t n;
} memit_names_t;

static void names_clear(memit_names_t *names)
{
    for (size_t i = 0; i < names->n; i++) {
        free((char *)names->items[i].name);
        free((char *)names->items[i].value);
    }
    names->n = 0;
}

/* Add name (len bytes) with its value in user_ns when that is an int, a
 * float or a str whose repr is shorter than NAME_VALUE_MAX. Names of
 * IPython's own (leading "_"), repeats and other types are left out.
 * Returns 0, or -1 with an exception set (out of memory). GIL. */
static int names_add(memit_names_t *names, PyObject *user_ns,
                     const char *name, size_t len)
{
    char key[128];

    if (len >= sizeof(key) || name[0] == '_' || names->n >= NAMES_MAX) {
        return 0;
    }
    memcpy(key, name, len);
    key[len] = '\0';
    for (size_t i = 0; i < names->n; i++) {
        if (strcmp(names->items[i].name, key) == 0) {
            return 0;
        }
    }
    PyObject *value = PyDict_GetItemString(user_ns, key); /* borrowed */
    if (value == NULL || !(PyLong_CheckExact(value) ||
                           PyFloat_CheckExact(value) ||
                           PyUnicode_CheckExact(value))) {
        return 0;
    }
    if (PyUnicode_CheckExact(value) &&
        PyUnicode_GET_LENGTH(value) >= NAME_VALUE_MAX) {
        return 0; /* no repr of a long str needed to know it is too long */
    }
    PyObject *repr = PyObject_Repr(value);
    if (repr == NULL) {
        PyErr_Clear(); /* e.g. an int too large for repr: left out */
        return 0;
    }
    const char *r = PyUnicode_AsUTF8(repr);
    if (r == NULL || PyUnicode_GET_LENGTH(repr) >= NAME_VALUE_MAX) {
        PyErr_Clear();
        Py_DECREF(repr);
        return 0;
    }
    char *n = strdup(key), *v = strdup(r);
    Py_DECREF(repr);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        PyErr_NoMemory();
        return -1;
    }
    names->items[names->n++] = (pm_memit_name_t){n, v};
    return 0;
}

/* names_add for pm_names_scan: ctx is a names_ctx_t. */
typedef struct {
    memit_names_t *names;
    PyObject *user_ns;
} names_ctx_t;

static int name_found(const char *name, size_t len, void *ctx)
{
    names_ctx_t *c = ctx;
    return names_add(c->names, c->user_ns, name, len);
}

/* The simple names statement reads (pm_names_scan), in order, with their
 * values in the shell's user_ns now (before the statement runs). Returns
 * 0, or -1 with an exception set. GIL. */
static int collect_names(PyObject *shell, const char *statement,
                         memit_names_t *names)
{
    PyObject *user_ns = PyObject_GetAttrString(shell, "user_ns");
    if (user_ns == NULL || !PyDict_Check(user_ns)) {
        Py_XDECREF(user_ns);
        PyErr_Clear();
        return 0; /* no namespace to read: no names */
    }
    names_ctx_t ctx = {names, user_ns};
    int rc = pm_names_scan(statement, name_found, &ctx);
    Py_DECREF(user_ns);
    return rc;
}

/* One measured run of code. Returns 0, or -1 with the statement's own
 * exception (or a probe error) set; the probe is ended either way. */
static int measure_once(PyObject *shell, PyObject *code, const memit_args_t *a,
                        pm_children_t *kids, uint64_t *peak,
                        uint64_t *self_peak, double *wall,
                        pm_method_t *method)
{
    pm_probe_t probe;
    pm_probe_opts_t popts = {
        .interval_s = a->interval_s,
        .include_children = a->include_children,
        .children = kids,
    };
    pm_timeout_t timeout;
    PyObject *old_handler = NULL, *res = NULL;
    int timed = a->timeout_s > 0, rc = 0;

    if (timed) {
        if (pm_timeout_arm(&timeout, a->timeout_s, &old_handler) < 0) {
            return -1;
        }
        popts.deadline_ns = pm_probe_deadline_ns(a->timeout_s);
        popts.on_deadline = pm_timeout_on_deadline;
        popts.arg = &timeout;
    }
    int begin_rc = pm_probe_begin(&probe, &popts);
    if (begin_rc == 0) {
        if (a->sites > 0) {
            pm_allocs_resume();
        }
        res = pm_shell_exec(shell, code);
        if (a->sites > 0) { /* an outer --sites keeps tracking */
            pm_allocs_pause();
        }
    }
    if (timed) {
        pm_timeout_disarm(&timeout);
    }
    if (begin_rc == 0) {
        /* Without the GIL: the sampler, joined here, may be waiting for
         * it in on_deadline. */
        Py_BEGIN_ALLOW_THREADS
        rc = pm_probe_end(&probe);
        Py_END_ALLOW_THREADS
    }
    if (timed) {
        pm_timeout_name_error(&timeout);
        if (timeout.in_main) {
            pm_timeout_restore(old_handler);
        }
    }
    Py_XDECREF(old_handler);
    if (begin_rc < 0) {
        pm_py_raise(begin_rc);
        return -1;
    }
    *peak = probe.peak_bytes;
    *self_peak = probe.self_peak_bytes;
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

/* The sampler's timeline over the statement's own time as (seconds from
 * start_ns, MiB): samples after end_ns are left out, and the last one
 * before start_ns (the sampler starts first) stands at 0 s. */
static int collect_timeline(pm_sampler_t *s, int64_t start_ns,
                            int64_t end_ns, pm_svg_point_t **out, size_t *n)
{
    pm_sample_t *raw = NULL;
    size_t count = 0;
    if (pm_sampler_timeline_snapshot(s, &raw, &count) < 0 ||
        (*out = PyMem_Calloc(count + 1, sizeof **out)) == NULL) {
        free(raw);
        PyErr_NoMemory();
        return -1;
    }
    *n = 0;
    for (size_t i = 0; i < count && raw[i].t_ns <= end_ns; i++) {
        if (i + 1 < count && raw[i + 1].t_ns <= start_ns) {
            continue; /* a later one is still before the start */
        }
        int64_t t_ns = raw[i].t_ns > start_ns ? raw[i].t_ns - start_ns : 0;
        (*out)[*n].t = (double)t_ns / 1e9;
        (*out)[*n].mib =
            (double)(raw[i].rss_bytes + raw[i].children_bytes) / PM_MIB;
        (*n)++;
    }
    free(raw);
    return 0;
}

/* The watcher's table as the result's children (commands borrowed from
 * kids, which must outlive *out). Returns 0 or -1 with MemoryError. */
static int children_table(const pm_children_t *kids, pm_memit_child_t **out,
                          size_t *n)
{
    *n = pm_children_count(kids);
    *out = PyMem_Calloc(*n + 1, sizeof **out);
    if (*out == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < *n; i++) {
        const pm_child_t *c = pm_children_get(kids, i);

        (*out)[i] = (pm_memit_child_t){
            .pid = (int)c->pid,
            .ppid = (int)c->ppid,
            .command = c->cmd,
            .peak_bytes = c->peak_bytes,
            .exited = c->exited,
        };
    }
    return 0;
}

/* --limit passed: a warning on stderr; with --strict, MemoryLimitError. */
static int report_limit(pm_state_t *st, const memit_args_t *a,
                        const pm_memit_t *m)
{
    char msg[200];
    pm_fmt(msg, sizeof msg,
           "peak memory %.2f MiB is above the --limit of %.2f MiB",
           (double)pm_memit_peak(m) / PM_MIB, (double)a->limit_bytes / PM_MIB);
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
    memit_names_t names = {.n = 0};
    pm_children_t *best_kids = NULL;
    pm_memit_child_t *children = NULL;
    size_t nchildren = 0;
    uint64_t sum_of_peaks = 0, own_peak = 0;
    PyObject *dask_session = NULL, *workers = NULL;
    json_t *workers_doc = NULL;
    int workers_over = 0;
    pm_sites_report_t sites = {0};
    int shown_live = 0, failed = 1, tracking = 0;
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
    if (collect_names(shell, a->statement, &names) < 0) {
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
    if (a->dask != NULL &&
        (dask_session = pm_dask_begin(st, a->dask)) == NULL) {
        goto fail;
    }
    if (a->sites > 0) {
        if (pm_allocs_start(st, code, a->setup != NULL ? 1 : 0) < 0) {
            goto fail;
        }
        tracking = 1;
    }
    int64_t run_start_ns = pm_now_ns();
    for (long i = 0; i < a->repeat; i++) {
        pm_children_t *kids = NULL;
        uint64_t self_peak = 0;

        if (a->include_children && (rc = pm_children_new(NULL, &kids)) < 0) {
            pm_py_raise(rc);
            goto fail;
        }
        if (measure_once(shell, code, a, kids, &peaks[i], &self_peak,
                         &walls[i], &method) < 0) {
            pm_children_free(kids);
            goto fail;
        }
        if (kids != NULL && self_peak > own_peak) {
            own_peak = self_peak;
        }
        /* Keep the descendants of the repeat with the highest sum. */
        uint64_t sum = self_peak + pm_children_sum_peaks(kids);
        if (kids != NULL && (best_kids == NULL || sum > sum_of_peaks)) {
            pm_children_free(best_kids);
            best_kids = kids;
            sum_of_peaks = sum;
        } else {
            pm_children_free(kids);
        }
    }
    if (best_kids != NULL &&
        children_table(best_kids, &children, &nchildren) < 0) {
        goto fail;
    }
    if (dask_session != NULL) {
        int rc_end = pm_dask_end(dask_session, a->limit_bytes, &workers, &workers_doc,
                              &workers_over);
        Py_CLEAR(dask_session);
        if (rc_end < 0) {
            goto fail;
        }
    }
    int64_t run_end_ns = pm_now_ns();
    if (tracking) {
        tracking = 0;
        if (pm_allocs_stop(shell, (size_t)a->sites, &sites) < 0) {
            goto fail;
        }
    }
    if (sampler != NULL) {
        shown_live = pm_display_live_stop(&disp, 0, display_id);
        pm_sampler_stop(sampler);
        /* The result replaces the live line only when nothing came out
         * since the line began; else that output sits below the line, so
         * the line is emptied and the result follows as a new display. */
        if (shown_live && pm_display_output_since_live(&disp)) {
            if (pm_display_live_blank(&disp, display_id) < 0) {
                goto fail;
            }
            shown_live = 0;
        }
        if (collect_timeline(sampler, run_start_ns, run_end_ns, &timeline,
                             &ntimeline) < 0) {
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
        .names = names.items,
        .nnames = names.n,
        .sites_on = a->sites > 0,
        .allocated_peak_bytes = sites.allocated_peak_bytes,
        .sites = sites.items,
        .nsites = sites.n,
        .sample_bytes = sites.sample_bytes,
        .sites_note = sites.note,
        .children = children,
        .nchildren = nchildren,
        .sum_of_peaks_bytes = best_kids != NULL ? sum_of_peaks : 0,
        .own_peak_bytes = own_peak,
        .workers = workers_doc,
    };
    uint64_t cgroup_max = 0;
    if (pm_cgroup_memory_max(&cgroup_max) == 0) {
        m.cgroup_limit_bytes = cgroup_max;
    }
    result = pm_memit_result_new(st, &m, workers);
    if (result == NULL) {
        goto fail;
    }
    if (!a->quiet) {
        bundle = pm_memit_bundle(&m);
        text = pm_memit_render_text_full(&m);
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
    if (a->dask != NULL) {
        /* --limit is per worker: the warnings came from dask_end. */
        if (a->strict && workers_over > 0) {
            PyErr_Format(st->limit_error,
                         "%d Dask worker(s) peaked above the --limit of "
                         "%.2f MiB",
                         workers_over, (double)a->limit_bytes / PM_MIB);
            Py_CLEAR(result);
            goto fail;
        }
    } else if (pm_memit_over_limit(&m) && report_limit(st, a, &m) < 0) {
        Py_CLEAR(result);
        goto fail;
    }
    if (!a->return_result) {
        Py_SETREF(result, Py_NewRef(Py_None));
    }
    failed = 0;
fail:
    if (tracking) { /* the statement failed: tracking ends with it */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (pm_allocs_stop(shell, 0, &sites) < 0) {
            PyErr_WriteUnraisable(NULL);
        }
        PyErr_Restore(et, ev, tb);
    }
    pm_sites_report_clear(&sites);
    /* the statement failed: a live line still running says it stopped */
    pm_display_live_stop(&disp, failed, display_id);
    pm_display_end(&disp);
    names_clear(&names);
    if (dask_session != NULL) {
        /* The statement failed: end the workers' measurement anyway (its
         * result is dropped), keeping the statement's exception. */
        PyObject *et, *ev, *tb, *r = NULL;
        json_t *d = NULL;
        int o;
        PyErr_Fetch(&et, &ev, &tb);
        if (pm_dask_end(dask_session, a->limit_bytes, &r, &d, &o) < 0) {
            PyErr_Clear();
        }
        Py_XDECREF(r);
        json_decref(d);
        PyErr_Restore(et, ev, tb);
        Py_CLEAR(dask_session);
    }
    Py_XDECREF(workers);
    json_decref(workers_doc);
    PyMem_Free(children);
    pm_children_free(best_kids);
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

static PyObject *memit(pm_state_t *st, const pm_opts_t *opts, const char *cell)
{
    memit_args_t a;

    return parse_args(st, opts, cell, &a) == 0 ? run_memit(st, &a) : NULL;
}

PyObject *pm_memit_magic(PyObject *module, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames)
{
    return pm_magic_call(get_state(module), "memit", pm_memit_options,
                         memit, args, nargs, kwnames);
}
