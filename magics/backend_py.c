/* memory_profiler's backend names (backend= of memory_usage and @profile,
 * --backend of python -m peakmem) and what each reads here: psutil and
 * posix the resident set size (statm), psutil_pss and psutil_uss the
 * proportional and unique set sizes (smaps_rollup, kernel/smaps.c),
 * tracemalloc the memory Python's tracemalloc traces (current and peak),
 * tracing started as memory_profiler starts it. */
#include "internal.h"

static const char *const names[] = {"psutil", "psutil_pss", "psutil_uss",
                                     "posix", "tracemalloc"};

int pm_backend_parse(PyObject *name, const char *who, int *out)
{
    *out = PM_BACKEND_PSUTIL;
    if (name == NULL || name == Py_None) {
        return 0;
    }
    for (int i = 0; PyUnicode_Check(name) && i < PM_BACKEND_COUNT; i++) {
        if (PyUnicode_CompareWithASCIIString(name, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "%s: unknown backend %R (one of psutil, psutil_pss, "
                 "psutil_uss, posix, tracemalloc)",
                 who, name);
    return -1;
}

const char *pm_backend_name(int backend)
{
    return backend >= 0 && backend < PM_BACKEND_COUNT ? names[backend]
                                                      : "psutil";
}

pm_mem_kind_t pm_backend_kind(int backend)
{
    return backend == PM_BACKEND_PSS   ? PM_MEM_PSS
           : backend == PM_BACKEND_USS ? PM_MEM_USS
                                       : PM_MEM_RSS;
}

/* tracemalloc.<method>(). New reference or NULL with an exception. */
static PyObject *call_tracemalloc(const char *method)
{
    PyObject *tm = PyImport_ImportModule("tracemalloc");
    PyObject *res;

    if (tm == NULL) {
        return NULL;
    }
    res = PyObject_CallMethod(tm, method, NULL);
    Py_DECREF(tm);
    return res;
}

int pm_backend_traced(uint64_t *current, uint64_t *peak)
{
    PyObject *r = call_tracemalloc("get_traced_memory");
    unsigned long long c, p;

    if (r == NULL) {
        return -1;
    }
    if (!PyArg_ParseTuple(r, "KK", &c, &p)) {
        Py_DECREF(r);
        return -1;
    }
    Py_DECREF(r);
    *current = c;
    if (peak != NULL) {
        *peak = p;
    }
    return 0;
}

int pm_backend_trace_start(int *started)
{
    PyObject *on = call_tracemalloc("is_tracing"), *r;
    int tracing = on != NULL ? PyObject_IsTrue(on) : -1;

    Py_XDECREF(on);
    if (started != NULL) {
        *started = 0;
    }
    if (tracing != 0) {
        return tracing < 0 ? -1 : 0;
    }
    r = call_tracemalloc("start");
    Py_XDECREF(r);
    if (r != NULL && started != NULL) {
        *started = 1;
    }
    return r != NULL ? 0 : -1;
}

int pm_backend_trace_stop(void)
{
    PyObject *r = call_tracemalloc("stop");

    Py_XDECREF(r);
    return r != NULL ? 0 : -1;
}

/* The tracer's reader for tracemalloc: the traced current size. Runs in
 * the trace callback (GIL held); never raises: a pending exception is
 * kept, a failure leaves the last reading standing. */
static int read_traced(void *arg, uint64_t *bytes)
{
    PyObject *type, *value, *tb, *r;
    unsigned long long c = 0, p = 0;
    int rc = -EIO;

    PyErr_Fetch(&type, &value, &tb);
    r = PyObject_CallNoArgs((PyObject *)arg);
    if (r != NULL && PyArg_ParseTuple(r, "KK", &c, &p)) {
        *bytes = c;
        rc = 0;
    }
    Py_XDECREF(r);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return rc;
}

int pm_backend_tracer_opts(int backend, pm_tracer_opts_t *o)
{
    o->kind = pm_backend_kind(backend);
    if (backend != PM_BACKEND_TRACEMALLOC) {
        return 0;
    }
    /* tracemalloc.get_traced_memory, looked up once and kept in the
     * module state (which outlives every profiler): the reads at each
     * line then allocate nothing that outlives them (an import per read
     * left ~130 bytes per new line in the traced memory). */
    PyObject *name = PyUnicode_FromString("peakmem._peakmem");
    PyObject *module = name != NULL ? PyImport_GetModule(name) : NULL;
    pm_state_t *st;

    Py_XDECREF(name);
    if (module == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError,
                            "peakmem._peakmem is not imported");
        }
        return -1;
    }
    st = get_state(module);
    Py_DECREF(module); /* sys.modules keeps it */
    if (st->traced_fn == NULL) {
        PyObject *tm = PyImport_ImportModule("tracemalloc");

        st->traced_fn =
            tm != NULL ? PyObject_GetAttrString(tm, "get_traced_memory")
                       : NULL;
        Py_XDECREF(tm);
        if (st->traced_fn == NULL) {
            return -1;
        }
    }
    o->read = read_traced;
    o->read_arg = st->traced_fn; /* borrowed from the module state */
    /* Every line: the read gate assumes memory moves only with page
     * faults, which take long; a traced allocation is fast. */
    o->min_read_interval_ns = 1;
    return pm_backend_trace_start(NULL);
}

int pm_backend_read(int backend, uint64_t *bytes)
{
    int rc;

    if (backend == PM_BACKEND_TRACEMALLOC) {
        return pm_backend_traced(bytes, NULL);
    }
    rc = pm_mem_read(0, pm_backend_kind(backend), bytes);
    if (rc < 0) {
        pm_py_raise(rc);
        return -1;
    }
    return 0;
}
