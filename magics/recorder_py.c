/* The Python boundary of the peakmem command. magics/_cli.py parses the
 * arguments (argparse) and manages the profile files; these functions
 * take the parsed values: _record runs the recording engine
 * (magics/record.c) with the GIL released, _peak and _plot read a .dat
 * (magics/recfile.c) and draw it as SVG or, through the draw_png callable
 * _cli.py passes (matplotlib, magics/_plot_png.py), as PNG. Each prints
 * its one-line errors as "peakmem: <cmd>: message"; _peak and _plot
 * return the command's exit code, _record how the recording ended. */
#include "internal.h"
#include "pm_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#define EXIT_FAIL 1

/* ---- messages ----------------------------------------------------------*/

/* s as a terminal may show it: control characters and broken UTF-8 as
 * \xNN (file names and .dat text are anyone's bytes). Caller frees; NULL
 * on ENOMEM. */
static char *shown(const char *s)
{
    size_t len = strlen(s), cap = 4 * len + 1;
    char *out = malloc(cap);

    if (out != NULL) {
        pm_text_escape(out, cap, s, len, len);
    }
    return out;
}

/* Print s with one printf conversion (fmt holds one %s) as shown(s). */
static void print_shown(const char *fmt, const char *s)
{
    char *safe = shown(s);

    printf(fmt, safe != NULL ? safe : "?");
    free(safe);
}

/* One line on stderr, "peakmem: cmd: message" escaped as shown(); returns
 * EXIT_FAIL. */
static int fail(const char *cmd, const char *fmt, ...)
{
    char *msg = NULL, *safe = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n >= 0) {
        safe = shown(msg);
    }
    fflush(stdout);
    fprintf(stderr, "peakmem: %s: %s\n", cmd,
            safe != NULL ? safe : strerror(ENOMEM));
    fflush(stderr);
    free(safe);
    free(msg);
    return EXIT_FAIL;
}

/* The Python side printed to sys.stdout; C prints next through stdio. */
static int flush_sys_stdout(void)
{
    PyObject *out = PySys_GetObject("stdout"); /* borrowed */
    PyObject *r;

    if (out == NULL || out == Py_None) {
        return 0;
    }
    r = PyObject_CallMethod(out, "flush", NULL);
    Py_XDECREF(r);
    return r != NULL ? 0 : -1;
}

PyObject *pm_recorder_shown(PyObject *module, PyObject *arg)
{
    PyObject *bytes = NULL, *res = NULL;
    char *safe;

    (void)module;
    if (!PyUnicode_FSConverter(arg, &bytes)) {
        return NULL;
    }
    safe = shown(PyBytes_AS_STRING(bytes));
    if (safe == NULL) {
        PyErr_NoMemory();
    } else {
        res = PyUnicode_DecodeFSDefault(safe);
        free(safe);
    }
    Py_DECREF(bytes);
    return res;
}

/* ---- peak and plot -----------------------------------------------------*/

/* Load path as d; on failure print one line and return EXIT_FAIL. */
static int load(const char *cmd, const char *path, pm_dat_t *d)
{
    char err[256];
    int rc = pm_recfile_load(path, d, err, sizeof err);

    if (rc == 0) {
        return 0;
    }
    if (rc == -ENODEV) {
        return fail(cmd, "cannot read '%s': not a regular file", path);
    }
    if (rc == -EFBIG) {
        return fail(cmd,
                    "cannot read '%s': larger than %zu MiB, the most "
                    "peakmem reads",
                    path, PM_DAT_MAX_BYTES >> 20);
    }
    if (rc == -ENODATA) {
        return fail(cmd, "'%s' is empty (no MEM samples)", path);
    }
    if (err[0] != '\0' || pm_protocol_strerror(rc) != NULL) {
        /* pm_dat_parse's line, or its code's message */
        return fail(cmd, "'%s' is not a usable .dat file: %s", path,
                    err[0] != '\0' ? err : pm_protocol_strerror(rc));
    }
    return fail(cmd, "cannot read '%s': %s", path, pm_magics_strerror(rc));
}

PyObject *pm_recorder_peak(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "func", NULL};
    PyObject *bytes = NULL;
    const char *path, *func = NULL;
    pm_dat_t d;
    size_t nkids;
    int status;

    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|z", kwlist,
                                     PyUnicode_FSConverter, &bytes, &func) ||
        flush_sys_stdout() < 0) {
        Py_XDECREF(bytes);
        return NULL;
    }
    path = PyBytes_AS_STRING(bytes);
    status = load("peak", path, &d);
    nkids = status == 0 ? d.nchildren : 0;
    if (status == 0 && func != NULL) {
        double peak;

        /* mprof: "NaN MiB" for a function it cannot find, and (our
         * choice, where mprof fails on max([])) for one without a sample
         * inside its calls, with the children lines */
        int rc = pm_recfile_func_peak(&d, func, &peak);

        print_shown("%s", path);
        if (rc == 0) {
            pm_fmt_file(stdout, "\t%.3f MiB\n", peak);
        } else {
            fputs("\tNaN MiB\n", stdout);
        }
        if (rc == -ENOENT) { /* mprof skips the children too */
            nkids = 0;
        }
    } else if (status == 0) {
        print_shown("%s", path);
        pm_fmt_file(stdout, "\t%.3f MiB\n", pm_dat_peak(&d, 0, NULL));
    }
    if (status == 0) {
        for (size_t c = 0; c < nkids; c++) {
            double peak = 0;

            for (size_t k = 0; k < d.children[c].n; k++) {
                if (d.children[c].points[k].mib > peak) {
                    peak = d.children[c].points[k].mib;
                }
            }
            pm_fmt_file(stdout, "  Child %d\t\t\t%.3f MiB\n",
                        d.children[c].pid, peak);
        }
        pm_dat_close(&d);
    }
    fflush(stdout);
    Py_DECREF(bytes);
    return PyLong_FromLong(status);
}

/* [(label, [t...], [mib...]), ...] and [(name, t0, t1, level), ...] of
 * p. */
static PyObject *png_args(const pm_recfile_plot_t *p, const char *out,
                          const char *title, int flame)
{
    PyObject *series = PyList_New((Py_ssize_t)p->nseries);
    PyObject *spans = PyList_New((Py_ssize_t)p->nspans), *args = NULL;

    for (size_t i = 0; series != NULL && spans != NULL && i < p->nseries;
         i++) {
        const pm_svg_series_t *s = &p->series[i];
        PyObject *t = PyList_New((Py_ssize_t)s->n);
        PyObject *m = PyList_New((Py_ssize_t)s->n), *item = NULL;

        for (size_t k = 0; t != NULL && m != NULL && k < s->n; k++) {
            PyList_SET_ITEM(t, (Py_ssize_t)k,
                            PyFloat_FromDouble(s->points[k].t));
            PyList_SET_ITEM(m, (Py_ssize_t)k,
                            PyFloat_FromDouble(s->points[k].mib));
        }
        if (t != NULL && m != NULL && !PyErr_Occurred()) {
            item = Py_BuildValue("(sOO)", s->label, t, m);
        }
        Py_XDECREF(t);
        Py_XDECREF(m);
        if (item == NULL) {
            Py_CLEAR(series);
            break;
        }
        PyList_SET_ITEM(series, (Py_ssize_t)i, item);
    }
    for (size_t i = 0; series != NULL && spans != NULL && i < p->nspans;
         i++) {
        PyObject *item =
            Py_BuildValue("(sddi)", p->spans[i].name, p->spans[i].start_t,
                          p->spans[i].end_t, p->spans[i].level);
        if (item == NULL) {
            Py_CLEAR(spans);
            break;
        }
        PyList_SET_ITEM(spans, (Py_ssize_t)i, item);
    }
    if (series != NULL && spans != NULL) {
        args = Py_BuildValue("(O&sOOO)", PyUnicode_DecodeFSDefault, out,
                             title, series, spans,
                             flame ? Py_True : Py_False);
    }
    Py_XDECREF(series);
    Py_XDECREF(spans);
    return args;
}

/* PNG: draw_png(out, title, series, spans, flame) -> exit code, the
 * Python side (_cli.draw_png, which reports its own errors). -1 with an
 * exception. */
static int write_png(PyObject *draw_png, const pm_recfile_plot_t *p,
                     const char *out, const char *title, int flame)
{
    PyObject *args = png_args(p, out, title, flame), *ret;
    long code;

    ret = args != NULL ? PyObject_Call(draw_png, args, NULL) : NULL;
    Py_XDECREF(args);
    code = ret != NULL ? PyLong_AsLong(ret) : -1;
    Py_XDECREF(ret);
    return code == -1 && PyErr_Occurred() ? -1 : (int)code;
}

/* Load each of paths (bytes) into ds; on failure print one line, close
 * what was loaded and return EXIT_FAIL. */
static int load_all(PyObject *paths, pm_dat_t *ds, const char **names,
                    Py_ssize_t n)
{
    for (Py_ssize_t k = 0; k < n; k++) {
        names[k] = PyBytes_AS_STRING(PyList_GET_ITEM(paths, k));
        if (load("plot", names[k], &ds[k]) != 0) {
            while (k-- > 0) {
                pm_dat_close(&ds[k]);
            }
            return EXIT_FAIL;
        }
    }
    return 0;
}

PyObject *pm_recorder_plot(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"paths",  "out",   "title",  "draw_png",
                             "no_function_ts", "slope", "window",
                             "flame",  NULL};
    PyObject *paths_obj, *paths = NULL, *out_b = NULL, *draw_png;
    PyObject *window = Py_None;
    const char *out, *title = NULL, **names = NULL;
    char *own_title = NULL;
    size_t n;
    Py_ssize_t nd = 0;
    pm_dat_t *ds = NULL;
    pm_recfile_plot_t p;
    pm_recfile_plot_opts_t po = {0};
    int status = EXIT_FAIL, rc, flame = 0;

    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&zO|ppOp", kwlist,
                                     &paths_obj, PyUnicode_FSConverter,
                                     &out_b, &title, &draw_png, &po.no_spans,
                                     &po.slope, &window, &flame)) {
        return NULL;
    }
    if (window != Py_None &&
        !PyArg_ParseTuple(window, "dd;window must be (lo, hi)", &po.win_lo,
                          &po.win_hi)) {
        Py_DECREF(out_b);
        return NULL;
    }
    po.window = window != Py_None;
    paths = PyList_New(0);
    for (Py_ssize_t k = 0; paths != NULL && k < PySequence_Size(paths_obj);
         k++) {
        PyObject *item = PySequence_GetItem(paths_obj, k), *b = NULL;
        int ok = item != NULL && PyUnicode_FSConverter(item, &b) &&
                 PyList_Append(paths, b) == 0;

        Py_XDECREF(item);
        Py_XDECREF(b);
        if (!ok) {
            Py_CLEAR(paths);
        }
    }
    if (paths == NULL || flush_sys_stdout() < 0) {
        goto error;
    }
    nd = PyList_GET_SIZE(paths);
    if (nd == 0) {
        PyErr_SetString(PyExc_ValueError, "_plot: no file");
        goto error;
    }
    ds = PyMem_Calloc((size_t)nd, sizeof *ds);
    names = PyMem_Calloc((size_t)nd, sizeof *names);
    if (ds == NULL || names == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    out = PyBytes_AS_STRING(out_b);
    if (load_all(paths, ds, names, nd) != 0) {
        goto done;
    }
    if (title == NULL && nd == 1) {
        own_title = pm_recfile_title(ds[0].cmdline);
        title = own_title != NULL ? own_title : names[0];
    } else if (title == NULL) {
        title = ""; /* mprof: no title for several files */
    }
    rc = pm_recfile_plot_build(&p, ds, names, (size_t)nd, &po);
    n = strlen(out);
    if (rc == -ERANGE) {
        status = fail("plot",
                      "cannot plot '%s': its times lie too far apart "
                      "(more than 1.8e308 s)",
                      nd == 1 ? names[0] : "these files");
    } else if (rc < 0) {
        status = fail("plot", "%s", strerror(-rc));
    } else if (n >= 4 && strcasecmp(out + n - 4, ".png") == 0) {
        status = write_png(draw_png, &p, out, title, flame);
    } else if ((rc = pm_recfile_svg(&p, title, out, flame)) == -ENOMEM) {
        status = fail("plot", "cannot draw the plot: %s", strerror(ENOMEM));
    } else if (rc < 0) {
        status = fail("plot", "cannot write '%s': %s", out, strerror(-rc));
    } else {
        status = 0;
    }
    pm_recfile_plot_close(&p);
    if (status == 0) {
        print_shown("Plot written to %s\n", out);
    }
    free(own_title);
    for (Py_ssize_t k = 0; k < nd; k++) {
        pm_dat_close(&ds[k]);
    }
done:
    fflush(stdout);
    PyMem_Free(ds);
    PyMem_Free(names);
    Py_XDECREF(paths);
    Py_DECREF(out_b);
    return status < 0 ? NULL : PyLong_FromLong(status);
error:
    PyMem_Free(ds);
    PyMem_Free(names);
    Py_XDECREF(paths);
    Py_DECREF(out_b);
    return NULL;
}

/* ---- run and attach ----------------------------------------------------*/

/* The watcher's table as [(pid, ppid, command, peak bytes, exited)], the
 * recorded program first; None without -C's watcher. GIL. */
static PyObject *children_list(const pm_children_t *c)
{
    if (c == NULL) {
        return Py_NewRef(Py_None);
    }
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list != NULL && i < pm_children_count(c); i++) {
        const pm_child_t *e = pm_children_get(c, i);
        PyObject *t = Py_BuildValue("(iisKO)", (int)e->pid, (int)e->ppid,
                                    e->cmd, (unsigned long long)e->peak_bytes,
                                    e->exited ? Py_True : Py_False);
        if (t == NULL || PyList_Append(list, t) < 0) {
            Py_CLEAR(list);
        }
        Py_XDECREF(t);
    }
    return list;
}

/* pm_record's ready callback: print the banner (no GIL held). */
static void print_banner(void *ctx)
{
    fputs((const char *)ctx, stdout);
    fflush(stdout);
}

/* The one line of a recording that failed with rc at step res->failed. */
static void report_failure(const char *cmd, const pm_record_opts_t *o,
                           const pm_record_result_t *res, int rc)
{
    int pid = (int)o->pid;

    if (res->failed == PM_RECORD_FAIL_TARGET && rc == -ESRCH) {
        fail(cmd, "no process with pid %d", pid);
    } else if (res->failed == PM_RECORD_FAIL_TARGET && rc == -ENODATA) {
        fail(cmd,
             "pid %d has no memory to sample (a kernel thread or a "
             "process that has exited)",
             pid);
    } else if (res->failed == PM_RECORD_FAIL_TARGET) {
        fail(cmd, "cannot read the memory of pid %d: %s", pid,
             pm_magics_strerror(rc));
    } else if (res->failed == PM_RECORD_FAIL_SPAWN) {
        fail(cmd, "cannot run '%s': %s", o->argv[0], pm_magics_strerror(rc));
    } else if (res->failed == PM_RECORD_FAIL_SAMPLE) {
        fail(cmd, "cannot sample pid %d: %s", pid, pm_magics_strerror(rc));
    } else { /* PM_RECORD_FAIL_OPEN or _WRITE */
        fail(cmd, "cannot write '%s': %s", o->output, pm_magics_strerror(rc));
    }
}

/* Borrowed char * of each item of seq (bytes, from FSConverter) into a
 * NULL-terminated PyMem array; NULL with an exception. */
static char **fs_argv(PyObject *seq, PyObject **keep)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    char **argv = PyMem_Calloc((size_t)n + 1, sizeof *argv);

    *keep = PyList_New(n);
    if (argv == NULL || *keep == NULL) {
        PyMem_Free(argv);
        Py_CLEAR(*keep);
        return (char **)PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *b = NULL;

        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, i), &b)) {
            PyMem_Free(argv);
            Py_CLEAR(*keep);
            return NULL;
        }
        PyList_SET_ITEM(*keep, i, b);
        argv[i] = PyBytes_AS_STRING(b);
    }
    return argv;
}

PyObject *pm_recorder_record(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"cmd",     "argv",     "pid",
                             "output",  "cmdline",  "interval",
                             "timeout", "include_children",
                             "multiprocess", "banner", "backend", NULL};
    const char *cmd, *banner;
    PyObject *argv_obj, *cmdline, *out_b = NULL, *cmd_b = NULL;
    PyObject *seq = NULL;
    PyObject *keep = NULL;
    pm_record_opts_t o = {0};
    pm_record_result_t res;
    PyObject *result;
    PyObject *backend = Py_None;
    int pid = 0, rc, b;

    (void)module;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "sOiO&Oddppy|O", kwlist, &cmd, &argv_obj, &pid,
            PyUnicode_FSConverter, &out_b, &cmdline, &o.interval_s,
            &o.timeout_s, &o.include_children, &o.multiprocess, &banner,
            &backend) ||
        pm_backend_parse(backend, "_record", &b) < 0) {
        goto error;
    }
    if (b == PM_BACKEND_TRACEMALLOC) {
        PyErr_SetString(PyExc_ValueError,
                        "_record: tracemalloc cannot measure another "
                        "process");
        goto error;
    }
    o.kind = pm_backend_kind(b);
    if (argv_obj != Py_None) {
        seq = PySequence_Fast(argv_obj, "argv must be a list of str");
        if (seq == NULL || PySequence_Fast_GET_SIZE(seq) == 0 ||
            (o.argv = fs_argv(seq, &keep)) == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "argv is empty");
            }
            goto error;
        }
    }
    if (cmdline != Py_None) {
        if (!PyUnicode_FSConverter(cmdline, &cmd_b)) {
            goto error;
        }
        o.cmdline = PyBytes_AS_STRING(cmd_b);
    }
    if (flush_sys_stdout() < 0) {
        goto error;
    }
    o.pid = (pid_t)pid;
    o.output = PyBytes_AS_STRING(out_b);
    if (o.include_children && pm_children_new(NULL, &o.children) < 0) {
        o.children = NULL; /* -C goes on, sampled only */
    }
    Py_BEGIN_ALLOW_THREADS
    rc = pm_record(&o, print_banner, (void *)banner, &res);
    Py_END_ALLOW_THREADS
    PyObject *kids = children_list(o.children);
    pm_children_free(o.children);
    if (kids == NULL) {
        result = NULL;
    } else if (rc < 0) {
        report_failure(cmd, &o, &res, rc);
        result = Py_BuildValue("(siiinO)", "failed", 0, (int)o.pid, -1,
                               (Py_ssize_t)0, kids);
    } else {
        static const char *stops[] = {"", "exited", "signal", "timeout"};
        int code = !res.reaped                ? -1
                   : WIFEXITED(res.wstatus)   ? WEXITSTATUS(res.wstatus)
                   : WIFSIGNALED(res.wstatus) ? 128 + WTERMSIG(res.wstatus)
                                              : EXIT_FAIL;

        result = Py_BuildValue("(siiinO)", stops[res.stop], res.signal,
                               (int)res.pid, code, (Py_ssize_t)res.nmem,
                               kids);
    }
    Py_XDECREF(kids);
    fflush(stdout);
    PyMem_Free((void *)o.argv);
    Py_XDECREF(keep);
    Py_XDECREF(seq);
    Py_DECREF(out_b);
    Py_XDECREF(cmd_b);
    return result;
error:
    Py_XDECREF(keep);
    Py_XDECREF(seq);
    Py_XDECREF(out_b);
    Py_XDECREF(cmd_b);
    return NULL;
}

PyObject *pm_recorder_function_labels(PyObject *module, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "names must be a sequence of str");
    PyObject *res = NULL;
    const char **names = NULL, **labels = NULL;
    Py_ssize_t n;

    (void)module;
    if (seq == NULL) {
        return NULL;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    names = PyMem_Calloc((size_t)n + 1, sizeof *names);
    labels = PyMem_Calloc((size_t)n + 1, sizeof *labels);
    if (names == NULL || labels == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        /* borrowed UTF-8, alive as long as seq holds the str */
        names[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
        if (names[i] == NULL) {
            goto done;
        }
    }
    pm_recfile_function_labels(names, (size_t)n, labels);
    res = PyDict_New();
    for (Py_ssize_t i = 0; res != NULL && i < n; i++) {
        PyObject *v = PyUnicode_FromString(labels[i]);

        if (v == NULL ||
            PyDict_SetItem(res, PySequence_Fast_GET_ITEM(seq, i), v) < 0) {
            Py_CLEAR(res);
        }
        Py_XDECREF(v);
    }
done:
    PyMem_Free(names);
    PyMem_Free(labels);
    Py_DECREF(seq);
    return res;
}
