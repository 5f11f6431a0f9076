/* memory_usage(): memory_profiler's function with its arguments and
 * return shapes, on peakmem's engine. For a callable (f, or (f, args),
 * or (f, args, kw)) f runs exactly once while the C sampler thread keeps
 * a timeline of this process; with max_usage the figure is the exact
 * high-water mark. For a pid (-1: this process) or a Popen, the sampler
 * watches that process for timeout seconds (one reading for a pid
 * without timeout, until exit for a Popen). No process is forked. */
#include "internal.h"

#include <math.h>
#include <time.h>

typedef struct {
    double interval, timeout; /* timeout < 0: none */
    int timestamps, include_children, multiprocess, max_usage, retval;
    long max_iterations; /* < 0: none */
    PyObject *stream;    /* None or a file-like object */
    int backend;         /* PM_BACKEND_* */
    PyObject *module;    /* borrowed: the extension module */
    PyObject *children_peaks; /* None or a list to extend (borrowed) */
} usage_args_t;

/* With include_children and a children_peaks list: a watcher of root's
 * descendants for exact per-process peaks (kernel/children.c); else
 * NULL. Returns 0 or -1 with an exception. */
static int kids_new(const usage_args_t *a, pid_t root, pm_children_t **out)
{
    *out = NULL;
    if (!a->include_children || a->children_peaks == Py_None) {
        return 0;
    }
    pm_children_opts_t o = {.pid = root};
    int rc = pm_children_new(&o, out);
    if (rc < 0) {
        pm_py_raise(rc);
        return -1;
    }
    return 0;
}

/* Append one dict per descendant of a stopped watcher to children_peaks:
 * pid, ppid, command, peak_mib (exact: its VmHWM), exited. Returns 0 or
 * -1 with an exception. */
static int kids_report(const usage_args_t *a, const pm_children_t *kids)
{
    for (size_t i = 0; kids != NULL && i < pm_children_count(kids); i++) {
        const pm_child_t *c = pm_children_get(kids, i);
        PyObject *d = Py_BuildValue(
            "{s:i, s:i, s:s, s:d, s:O}", "pid", (int)c->pid, "ppid",
            (int)c->ppid, "command", c->cmd, "peak_mib",
            (double)c->peak_bytes / PM_MIB, "exited",
            c->exited ? Py_True : Py_False);
        int rc = d != NULL ? PyList_Append(a->children_peaks, d) : -1;
        Py_XDECREF(d);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}


/* Raise peakmem.NoSuchProcess for pid: a ProcessLookupError and, when
 * psutil imports, also psutil.NoSuchProcess (what memory_profiler
 * raises), with psutil's attributes pid, name and msg. psutil is
 * imported here, on the error path only (it costs ~40 ms). Returns
 * NULL. */
static PyObject *no_process(const usage_args_t *a, pid_t pid)
{
    pm_state_t *st = get_state(a->module);
    PyObject *cls, *msg, *exc = NULL;

    if (st->no_such_psutil == NULL) {
        PyObject *psutil = PyImport_ImportModule("psutil");
        PyObject *base = psutil != NULL
                             ? PyObject_GetAttrString(psutil, "NoSuchProcess")
                             : NULL;
        PyObject *bases = base != NULL && PyType_Check(base)
                              ? PyTuple_Pack(2, st->no_such_process, base)
                              : NULL;
        if (bases != NULL) {
            st->no_such_psutil =
                PyErr_NewException("peakmem.NoSuchProcess", bases, NULL);
        }
        PyErr_Clear(); /* no psutil: the plain ProcessLookupError */
        Py_XDECREF(bases);
        Py_XDECREF(base);
        Py_XDECREF(psutil);
    }
    cls = st->no_such_psutil != NULL ? st->no_such_psutil
                                     : st->no_such_process;
    msg = PyUnicode_FromFormat("memory_usage(): no process with pid %d",
                               (int)pid);
    if (msg != NULL) {
        exc = PyObject_CallOneArg(cls, msg);
    }
    PyObject *pid_obj = exc != NULL ? PyLong_FromLong((long)pid) : NULL;
    if (exc != NULL &&
        (pid_obj == NULL || PyObject_SetAttrString(exc, "pid", pid_obj) < 0 ||
         PyObject_SetAttrString(exc, "name", Py_None) < 0 ||
         PyObject_SetAttrString(exc, "msg", msg) < 0)) {
        Py_CLEAR(exc);
    }
    Py_XDECREF(pid_obj);
    if (exc != NULL) {
        PyErr_SetObject(cls, exc);
    }
    Py_XDECREF(exc);
    Py_XDECREF(msg);
    return NULL;
}

/* Unix time of a pm_now_ns() reading. */
static double unix_time(int64_t t_ns)
{
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    double now_real = (double)real.tv_sec + real.tv_nsec / 1e9;
    return now_real - (double)(pm_now_ns() - t_ns) / 1e9;
}

/* One entry of the returned list: MiB, or (MiB, time) with timestamps,
 * (multiprocess lists are made by watch_multiprocess). */
static PyObject *entry(const usage_args_t *a, const pm_sample_t *s)
{
    double mib = (double)(s->rss_bytes +
                          (a->include_children ? s->children_bytes : 0)) /
                 PM_MIB;
    if (a->timestamps) {
        return Py_BuildValue("(dd)", mib, unix_time(s->t_ns));
    }
    return PyFloat_FromDouble(mib);
}

/* "MEM" (and "CHLD") lines to a stream, as mprof files hold them. */
static int stream_sample(const usage_args_t *a, const pm_sample_t *s)
{
    char line[256];
    double mib = (double)(s->rss_bytes +
                          (a->include_children ? s->children_bytes : 0)) /
                 PM_MIB;
    if (pm_dat_format_mem(line, sizeof line, mib, unix_time(s->t_ns)) < 0 ||
        pm_stream_write(a->stream, line) < 0) {
        return -1;
    }
    return 0;
}

/* The samples of a stopped sampler as the result list (or streamed). */
static PyObject *collect(const usage_args_t *a, pm_sampler_t *s)
{
    size_t n = pm_sampler_timeline_len(s);
    pm_sample_t *samples = PyMem_Calloc(n + 1, sizeof *samples);
    if (samples == NULL) {
        return PyErr_NoMemory();
    }
    n = pm_sampler_timeline_copy(s, samples, n);
    if (a->max_iterations >= 0 && (size_t)a->max_iterations < n) {
        n = (size_t)a->max_iterations;
    }
    PyObject *list = a->stream == Py_None ? PyList_New(0) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (a->stream != Py_None) {
            if (stream_sample(a, &samples[i]) < 0) {
                PyMem_Free(samples);
                return NULL;
            }
            continue;
        }
        PyObject *v = list != NULL ? entry(a, &samples[i]) : NULL;
        if (v == NULL || PyList_Append(list, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(v);
    }
    PyMem_Free(samples);
    if (a->stream != Py_None) {
        return Py_NewRef(Py_None);
    }
    return list;
}

/* Wait (GIL released) until the deadline, or the target's exit. */
static void wait_sampling(pm_sampler_t *s, double seconds, int until_gone)
{
    int64_t end = seconds >= 0 ? pm_probe_deadline_ns(seconds) : INT64_MAX;
    Py_BEGIN_ALLOW_THREADS
    while (pm_now_ns() < end && !(until_gone && pm_sampler_target_gone(s))) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    Py_END_ALLOW_THREADS
}

/* Sleep s seconds (>= 0) without the GIL. */
static void sleep_without_gil(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    Py_BEGIN_ALLOW_THREADS
    nanosleep(&ts, NULL);
    Py_END_ALLOW_THREADS
}

/* multiprocess: each reading is [main MiB, child MiB, ...] with the
 * children read at that moment (or MEM and CHLD lines to the stream), as
 * memory_profiler does; read on this thread, the GIL released between
 * readings. */
static PyObject *watch_multiprocess(const usage_args_t *a, pid_t pid,
                                    int is_popen)
{
    PyObject *list = a->stream == Py_None ? PyList_New(0) : NULL;
    int64_t end =
        a->timeout >= 0 ? pm_probe_deadline_ns(a->timeout) : INT64_MAX;
    long count = 0;
    char line[256];
    if (a->stream == Py_None && list == NULL) {
        return NULL;
    }
    for (;;) {
        uint64_t own = 0, kids_sum = 0, b = 0;
        pid_t kids[256];
        int nk = 0, rc = pm_mem_read(pid, pm_backend_kind(a->backend), &own);
        /* An exited process not yet reaped reads as 0 pages: gone too. */
        if (rc < 0 || own == 0) {
            if (count == 0) {
                Py_XDECREF(list);
                return no_process(a, pid);
            }
            break;
        }
        nk = pm_proc_descendants(pid, kids, 256);
        nk = nk < 0 ? 0 : nk > 256 ? 256 : nk;
        double kid_mib[256];
        for (int i = 0; i < nk; i++) {
            b = 0;
            /* a child gone meanwhile: 0 */
            (void)pm_mem_read(kids[i], pm_backend_kind(a->backend), &b);
            kid_mib[i] = (double)b / PM_MIB;
            kids_sum += b;
        }
        double main_mib =
            (double)(own + (a->include_children ? kids_sum : 0)) / PM_MIB;
        if (list != NULL) {
            PyObject *e = Py_BuildValue("[d]", main_mib);
            for (int i = 0; e != NULL && i < nk; i++) {
                PyObject *v = PyFloat_FromDouble(kid_mib[i]);
                if (v == NULL || PyList_Append(e, v) < 0) {
                    Py_CLEAR(e);
                }
                Py_XDECREF(v);
            }
            if (e == NULL || PyList_Append(list, e) < 0) {
                Py_XDECREF(e);
                Py_DECREF(list);
                return NULL;
            }
            Py_DECREF(e);
        } else {
            double now = unix_time(pm_now_ns());
            if (pm_dat_format_mem(line, sizeof line, main_mib, now) < 0 ||
                pm_stream_write(a->stream, line) < 0) {
                return NULL;
            }
            for (int i = 0; i < nk; i++) {
                if (pm_dat_format_child(line, sizeof line, (int)kids[i],
                                        kid_mib[i], now) < 0 ||
                    pm_stream_write(a->stream, line) < 0) {
                    return NULL;
                }
            }
        }
        count++;
        if ((!is_popen && a->timeout < 0) || pm_now_ns() >= end ||
            (a->max_iterations >= 0 && count >= a->max_iterations)) {
            break;
        }
        sleep_without_gil(a->interval);
        if (PyErr_CheckSignals() < 0) {
            Py_XDECREF(list);
            return NULL;
        }
    }
    return list != NULL ? list : Py_NewRef(Py_None);
}

/* tracemalloc for a pid: readings of this process's traced memory on
 * this thread (one without timeout, else one per interval); tracemalloc
 * traces only the process it runs in. */
static PyObject *watch_traced(const usage_args_t *a, pid_t pid)
{
    long n = a->timeout < 0 ? 1 : lround(a->timeout / a->interval);
    PyObject *list = PyList_New(0);
    double peak = 0;

    if (pid != getpid()) {
        Py_XDECREF(list);
        return PyErr_Format(PyExc_ValueError,
                            "memory_usage(): backend 'tracemalloc' measures "
                            "this process only, not pid %d",
                            (int)pid);
    }
    n = n < 1 ? 1 : n;
    if (a->max_iterations >= 0 && a->max_iterations < n) {
        n = a->max_iterations;
    }
    for (long i = 0; list != NULL && i < n; i++) {
        uint64_t cur;
        pm_sample_t s = {.t_ns = pm_now_ns()};
        PyObject *v = NULL;

        if (i > 0) {
            sleep_without_gil(a->interval);
            if (PyErr_CheckSignals() < 0) { /* Ctrl-C stops the watch */
                Py_CLEAR(list);
                break;
            }
            s.t_ns = pm_now_ns();
        }
        if (pm_backend_traced(&cur, NULL) < 0) {
            Py_CLEAR(list);
            break;
        }
        s.rss_bytes = cur;
        peak = (double)cur / PM_MIB > peak ? (double)cur / PM_MIB : peak;
        if (a->stream != Py_None) {
            if (stream_sample(a, &s) < 0) {
                Py_CLEAR(list);
            }
            continue;
        }
        v = entry(a, &s);
        if (v == NULL || PyList_Append(list, v) < 0) {
            Py_CLEAR(list);
        }
        Py_XDECREF(v);
    }
    if (list == NULL) {
        return NULL;
    }
    if (a->max_usage) {
        Py_DECREF(list);
        return PyFloat_FromDouble(peak);
    }
    if (a->stream != Py_None) {
        Py_DECREF(list);
        return Py_NewRef(Py_None);
    }
    return list;
}

static PyObject *watch_pid(const usage_args_t *a, pid_t pid, int is_popen)
{
    if (a->backend == PM_BACKEND_TRACEMALLOC) {
        return watch_traced(a, pid);
    }
    if (a->multiprocess && !a->max_usage) {
        return watch_multiprocess(a, pid, is_popen);
    }
    pm_sampler_opts_t so = {
        .self_interval_s = a->interval,
        .include_children = a->include_children,
        .children_interval_s = a->interval,
        .pid = pid,
        .record = 1,
        .kind = pm_backend_kind(a->backend),
    };
    pm_sampler_t *s = NULL;
    pm_children_t *kids = NULL;
    if (kids_new(a, pid, &kids) < 0) {
        return NULL;
    }
    int rc = pm_sampler_new(&so, &s);
    if (rc == 0 && kids != NULL && (rc = pm_children_start(kids)) < 0) {
        pm_sampler_free(s);
    }
    if (rc < 0) {
        pm_children_free(kids);
        if (rc == -ESRCH || rc == -ENOENT) {
            return no_process(a, pid);
        }
        return pm_py_raise(rc);
    }
    if (a->timeout >= 0) {
        wait_sampling(s, a->timeout, is_popen);
    } else if (is_popen) {
        wait_sampling(s, -1, 1);
    }
    /* A pid without timeout: the first reading only (memory_profiler). */
    pm_sampler_stop(s);
    pm_children_stop(kids);
    if (kids_report(a, kids) < 0) {
        pm_children_free(kids);
        pm_sampler_free(s);
        return NULL;
    }
    pm_children_free(kids);
    PyObject *res;
    if (a->max_usage) {
        res = PyFloat_FromDouble((double)pm_sampler_peak(s) / PM_MIB);
    } else {
        res = collect(a, s);
        if (res != NULL && !is_popen && a->timeout < 0 && PyList_Check(res) &&
            PyList_GET_SIZE(res) > 1) {
            /* one measurement, as memory_profiler gives for a pid */
            PyList_SetSlice(res, 1, PyList_GET_SIZE(res), NULL);
        }
    }
    pm_sampler_free(s);
    return res;
}

/* What memory_usage(f) returns, stealing mem and returned (either may
 * be NULL after an error: then NULL): mem, or (mem, returned) with
 * retval. */
static PyObject *usage_result(const usage_args_t *a, PyObject *mem,
                              PyObject *returned)
{
    if (mem == NULL || returned == NULL) {
        Py_XDECREF(mem);
        Py_XDECREF(returned);
        return NULL;
    }
    if (a->retval) {
        PyObject *pair = PyTuple_Pack(2, mem, returned);
        Py_DECREF(mem);
        Py_DECREF(returned);
        return pair;
    }
    Py_DECREF(returned);
    return mem;
}

/* tracemalloc for a callable: traced memory before f, its peak while f
 * ran, and after (tracing started for the call when it was off, stopped
 * after). */
static PyObject *run_traced(const usage_args_t *a, PyObject *f,
                            PyObject *args, PyObject *kw)
{
    uint64_t before, after, peak;
    pm_sample_t s[3];
    PyObject *r, *returned = NULL, *mem = NULL;
    int started;

    if (pm_backend_trace_start(&started) < 0) {
        return NULL;
    }
    r = PyImport_ImportModule("tracemalloc");
    if (r != NULL) {
        PyObject *x = PyObject_CallMethod(r, "reset_peak", NULL);
        Py_DECREF(r);
        r = x;
    }
    if (r != NULL && pm_backend_traced(&before, NULL) == 0) {
        s[0] = (pm_sample_t){.t_ns = pm_now_ns(), .rss_bytes = before};
        returned = PyObject_Call(f, args, kw);
    }
    Py_XDECREF(r);
    if (returned != NULL && pm_backend_traced(&after, &peak) < 0) {
        Py_CLEAR(returned);
    }
    if (started) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (pm_backend_trace_stop() < 0) {
            PyErr_WriteUnraisable(f);
        }
        PyErr_Restore(type, value, tb);
    }
    if (returned == NULL) {
        return NULL;
    }
    s[1] = s[2] = (pm_sample_t){.t_ns = pm_now_ns(), .rss_bytes = after};
    s[1].rss_bytes = peak;
    if (a->max_usage) {
        mem = PyFloat_FromDouble((double)peak / PM_MIB);
    } else if (a->stream != Py_None) {
        for (int i = 0; i < 3; i++) {
            if (stream_sample(a, &s[i]) < 0) {
                Py_DECREF(returned);
                return NULL;
            }
        }
        mem = Py_NewRef(Py_None);
    } else {
        mem = PyList_New(3);
        for (int i = 0; mem != NULL && i < 3; i++) {
            PyObject *v = entry(a, &s[i]);
            if (v == NULL) {
                Py_CLEAR(mem);
                break;
            }
            PyList_SET_ITEM(mem, i, v);
        }
    }
    return usage_result(a, mem, returned);
}

static PyObject *run_callable(const usage_args_t *a, PyObject *f,
                              PyObject *args, PyObject *kw)
{
    if (a->backend == PM_BACKEND_TRACEMALLOC) {
        return run_traced(a, f, args, kw);
    }
    pm_probe_t probe;
    pm_children_t *kids = NULL;
    if (kids_new(a, 0, &kids) < 0) {
        return NULL;
    }
    pm_probe_opts_t popts = {.interval_s = a->interval,
                             .include_children = a->include_children,
                             .children = kids};
    pm_sampler_opts_t so = {
        .self_interval_s = a->interval,
        .include_children = a->include_children,
        .children_interval_s = a->interval,
        .record = 1,
        .kind = pm_backend_kind(a->backend),
    };
    pm_sampler_t *s = NULL;
    int rc = pm_sampler_new(&so, &s);
    if (rc < 0) {
        pm_children_free(kids);
        return pm_py_raise(rc);
    }
    if ((rc = pm_probe_begin(&probe, &popts)) < 0) {
        pm_sampler_free(s);
        pm_children_free(kids);
        return pm_py_raise(rc);
    }
    PyObject *returned = PyObject_Call(f, args, kw);
    pm_probe_end(&probe);
    pm_sampler_stop(s);
    if (returned != NULL && kids_report(a, kids) < 0) {
        Py_CLEAR(returned);
    }
    pm_children_free(kids);
    PyObject *mem = NULL;
    if (returned != NULL) {
        /* PSS/USS: the highest sample (the probe's mark is RSS) */
        uint64_t peak = so.kind == PM_MEM_RSS ? probe.peak_bytes
                                              : pm_sampler_peak(s);
        mem = a->max_usage ? PyFloat_FromDouble((double)peak / PM_MIB)
                           : collect(a, s);
    }
    pm_sampler_free(s);
    return usage_result(a, mem, returned);
}

PyObject *pm_memory_usage(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"proc",       "interval",         "timeout",
                             "timestamps", "include_children", "multiprocess",
                             "max_usage",  "retval",           "stream",
                             "backend",    "max_iterations",
                             "children_peaks", NULL};
    PyObject *proc = NULL, *timeout = Py_None, *backend = Py_None;
    PyObject *max_iter = Py_None;
    usage_args_t a = {.interval = 0.1,
                      .stream = Py_None,
                      .module = module,
                      .children_peaks = Py_None};
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "|OdOppppOOOOO:memory_usage", kwlist, &proc,
            &a.interval, &timeout, &a.timestamps, &a.include_children,
            &a.multiprocess, &a.max_usage, &a.retval, &a.stream, &backend,
            &max_iter, &a.children_peaks)) {
        return NULL;
    }
    if (a.children_peaks != Py_None && !PyList_Check(a.children_peaks)) {
        PyErr_SetString(PyExc_TypeError,
                        "memory_usage(): children_peaks must be a list "
                        "(filled with each child's exact peak)");
        return NULL;
    }
    if (!(a.interval > 0) || !isfinite(a.interval)) {
        PyErr_SetString(PyExc_ValueError,
                        "memory_usage(): interval must be > 0 seconds");
        return NULL;
    }
    if (a.interval > PM_SAMPLER_MAX_INTERVAL_S) {
        return PyErr_Format(PyExc_ValueError,
                            "memory_usage(): interval must be at most %d "
                            "seconds",
                            (int)PM_SAMPLER_MAX_INTERVAL_S);
    }
    a.timeout = -1;
    if (timeout != Py_None) {
        a.timeout = PyFloat_AsDouble(timeout);
        if (a.timeout == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (!(a.timeout >= 0)) {
            PyErr_SetString(PyExc_ValueError,
                            "memory_usage(): timeout must be >= 0 seconds");
            return NULL;
        }
    }
    a.max_iterations = -1;
    if (max_iter != Py_None &&
        ((a.max_iterations = PyLong_AsLong(max_iter)) < 0)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError,
                            "memory_usage(): max_iterations must be >= 0");
        }
        return NULL;
    }
    if (pm_backend_parse(backend, "memory_usage()", &a.backend) < 0) {
        return NULL;
    }
    if (proc == NULL || (PyLong_Check(proc) && PyLong_AsLong(proc) == -1)) {
        return watch_pid(&a, getpid(), 0);
    }
    if (PyLong_Check(proc)) {
        long pid = PyLong_AsLong(proc);
        if (pid <= 0 || PyErr_Occurred()) {
            PyErr_Clear();
            return PyErr_Format(PyExc_ValueError, "memory_usage(): bad pid %R",
                                proc);
        }
        return watch_pid(&a, (pid_t)pid, 0);
    }
    if (PyCallable_Check(proc)) {
        PyObject *empty = PyTuple_New(0);
        PyObject *res =
            empty != NULL ? run_callable(&a, proc, empty, NULL) : NULL;
        Py_XDECREF(empty);
        return res;
    }
    if (PyTuple_Check(proc) || PyList_Check(proc)) {
        Py_ssize_t n = PySequence_Length(proc);
        PyObject *f = n >= 1 ? PySequence_GetItem(proc, 0) : NULL;
        PyObject *fargs =
            n >= 2 ? PySequence_GetItem(proc, 1) : PyTuple_New(0);
        PyObject *fkw = n >= 3 ? PySequence_GetItem(proc, 2) : NULL;
        PyObject *targs = fargs != NULL ? PySequence_Tuple(fargs) : NULL;
        PyObject *res = NULL;
        if (n < 1 || n > 3 || f == NULL || !PyCallable_Check(f)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError,
                            "memory_usage(): proc must be -1, a pid, a "
                            "Popen, a callable or (f, args, kw)");
        } else if (targs != NULL &&
                   (fkw == NULL || fkw == Py_None || PyDict_Check(fkw))) {
            res = run_callable(&a, f, targs, fkw == Py_None ? NULL : fkw);
        } else if (targs != NULL) {
            PyErr_SetString(PyExc_TypeError,
                            "memory_usage(): kw must be a dict");
        }
        Py_XDECREF(f);
        Py_XDECREF(fargs);
        Py_XDECREF(fkw);
        Py_XDECREF(targs);
        return res;
    }
    PyObject *pid = PyObject_GetAttrString(proc, "pid");
    PyObject *poll = pid != NULL ? PyObject_GetAttrString(proc, "poll") : NULL;
    if (pid == NULL || poll == NULL || !PyLong_Check(pid)) {
        PyErr_Clear();
        Py_XDECREF(pid);
        Py_XDECREF(poll);
        return PyErr_Format(PyExc_ValueError,
                            "memory_usage(): proc must be -1, a pid, a "
                            "Popen, a callable or (f, args, kw), got %R",
                            proc);
    }
    long p = PyLong_AsLong(pid);
    Py_DECREF(pid);
    PyObject *res = watch_pid(&a, (pid_t)p, 1);
    /* memory_profiler polls the Popen at each reading: returncode is set
     * once the program has ended (mprof's exit code relies on it). The
     * sampler stops when the program's memory is gone, which comes a
     * moment before it can be reaped: an ended one is waited for (poll
     * then could still say None), a running one (timeout) polled. */
    Py_DECREF(poll);
    if (res == NULL) {
        return NULL;
    }
    uint64_t left = 0;
    int ended = pm_mem_read((pid_t)p, PM_MEM_RSS, &left) < 0 || left == 0;
    PyObject *polled = PyObject_CallMethod(proc, ended ? "wait" : "poll",
                                           NULL);
    if (polled == NULL) {
        Py_XDECREF(res);
        return NULL;
    }
    Py_DECREF(polled);
    return res;
}
