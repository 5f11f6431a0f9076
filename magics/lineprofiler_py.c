/* peakmem.LineProfiler: memory_profiler's LineProfiler over peakmem's line
 * profiler (lineprof_py.c): add_function, __call__ as a decorator,
 * enable/disable, the counted enable_by_count/disable_by_count, a context
 * manager, runctx, and code_map (code object -> {line: (increment, mem,
 * occurrences)} in MiB, a peakmem._compat.CodeMap that
 * peakmem.show_results reads). It is the builtin `profile` under python
 * -m peakmem. Also here: --pdb-mmem's (max_mem's) stop in pdb. */
#include "internal.h"

typedef struct {
    PyObject_HEAD pm_lineprof_t *lp; /* NULL until __init__ */
    int held; /* a reference to itself, taken while lp is enabled in
                 any thread: a thread's enable record points to lp, so
                 the object cannot go before every thread disabled it */
    int include_children;
    double max_mem;   /* MiB: stop in pdb above it; 0: never */
    PyObject *backend; /* str */
} LineProfilerObject;

/* ---- --pdb-mmem ---------------------------------------------------------*/

int pm_lineprof_break(PyFrameObject *frame, uint64_t rss, uint64_t limit)
{
    PyObject *type, *value, *tb;
    char msg[160];
    pm_fmt(msg, sizeof msg,
           "Current memory %.2f MiB exceeded the maximum of %.2f MiB\n"
           "Stepping into the debugger\n",
           (double)rss / PM_MIB, (double)limit / PM_MIB);
    PyErr_Fetch(&type, &value, &tb);
    PySys_WriteStdout("%s", msg);
    PyObject *pdb = PyImport_ImportModule("pdb");
    PyObject *dbg = pdb != NULL ? PyObject_CallMethod(pdb, "Pdb", NULL) : NULL;
    PyObject *r = dbg != NULL ? PyObject_CallMethod(dbg, "set_trace", "O",
                                                    (PyObject *)frame)
                              : NULL;
    PyObject *d = r != NULL ? PyObject_CallMethod(dbg, "trace_dispatch",
                                                  "OsO", (PyObject *)frame,
                                                  "line", Py_None)
                            : NULL;
    int rc = 0;
    if (d == NULL && r != NULL) {
        rc = -1; /* the user's answer (BdbQuit): the frame raises it */
    } else if (d == NULL) {
        PyErr_WriteUnraisable((PyObject *)frame);
    }
    Py_XDECREF(d);
    Py_XDECREF(r);
    Py_XDECREF(dbg);
    Py_XDECREF(pdb);
    if (rc < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    } else {
        PyErr_Restore(type, value, tb);
    }
    return rc;
}

/* ---- code_map -----------------------------------------------------------*/

/* {line: (increment, mem, occurrences)} of the lines of table that ran,
 * MiB as floats. New reference or NULL. */
static PyObject *table_dict(const pm_linetable_t *table)
{
    PyObject *d = PyDict_New();
    int first = pm_linetable_first_line(table);
    for (int k = 0; d != NULL && k < pm_linetable_nlines(table); k++) {
        const pm_line_stat_t *ls = pm_linetable_get(table, first + k);
        if (ls->occurrences == 0) {
            continue;
        }
        PyObject *key = PyLong_FromLong(first + k);
        PyObject *v = Py_BuildValue(
            "(ddK)", (double)ls->increment_bytes / PM_MIB,
            (double)ls->mem_max_bytes / PM_MIB,
            (unsigned long long)ls->occurrences);
        if (key == NULL || v == NULL || PyDict_SetItem(d, key, v) < 0) {
            Py_CLEAR(d);
        }
        Py_XDECREF(key);
        Py_XDECREF(v);
    }
    return d;
}

PyObject *pm_lineprof_code_map(const pm_lineprof_t *lp, int include_children,
                               PyObject *backend)
{
    PyObject *rows = PyList_New(0);
    for (size_t i = 0; rows != NULL && i < pm_lineprof_ntargets(lp); i++) {
        pm_lineprof_view_t v, top;
        pm_lineprof_target(lp, i, &v);
        pm_lineprof_target(lp, v.top, &top);
        PyObject *d = table_dict(v.table);
        PyObject *row =
            d != NULL ? Py_BuildValue("(OOiiNO)", v.code, v.filename,
                                      pm_linetable_first_line(v.table),
                                      pm_linetable_nlines(v.table), d,
                                      top.code)
                      : NULL;
        if (row == NULL || PyList_Append(rows, row) < 0) {
            Py_CLEAR(rows);
        }
        Py_XDECREF(row);
    }
    PyObject *compat = rows != NULL ? PyImport_ImportModule("peakmem._compat")
                                    : NULL;
    PyObject *res =
        compat != NULL
            ? PyObject_CallMethod(compat, "_code_map", "OOO", rows,
                                  include_children ? Py_True : Py_False,
                                  backend != NULL ? backend : Py_None)
            : NULL;
    Py_XDECREF(compat);
    Py_XDECREF(rows);
    return res;
}

/* ---- LineProfiler -------------------------------------------------------*/

static pm_lineprof_t *lp_of(LineProfilerObject *self)
{
    if (self->lp == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "LineProfiler.__init__ was not called");
    }
    return self->lp;
}

pm_lineprof_t *pm_lineprofiler_lp(PyObject *prof)
{
    return lp_of((LineProfilerObject *)prof);
}

/* LineProfiler(**kw): include_children, backend, max_mem as
 * memory_profiler's; other keywords are ignored, as there. */
static int lineprofiler_init(LineProfilerObject *self, PyObject *args,
                             PyObject *kw)
{
    if (self->lp != NULL) {
        /* Wrappers, generator steps and python -m peakmem hold its
         * profiler: it cannot be replaced under them. */
        PyErr_SetString(PyExc_RuntimeError,
                        "LineProfiler.__init__: already initialized (make a "
                        "new LineProfiler)");
        return -1;
    }
    if (PyTuple_GET_SIZE(args) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "LineProfiler() takes keyword arguments only");
        return -1;
    }
    PyObject *ic = kw != NULL ? PyDict_GetItemString(kw, "include_children")
                              : NULL;
    PyObject *backend =
        kw != NULL ? PyDict_GetItemString(kw, "backend") : NULL;
    PyObject *max_mem =
        kw != NULL ? PyDict_GetItemString(kw, "max_mem") : NULL;
    int children = ic != NULL ? PyObject_IsTrue(ic) : 0;
    double limit = max_mem != NULL && max_mem != Py_None
                       ? PyFloat_AsDouble(max_mem)
                       : 0.0;
    if (children < 0 || (limit == -1.0 && PyErr_Occurred())) {
        return -1;
    }
    if (limit < 0 || limit != limit || limit > 1e12) {
        PyErr_SetString(PyExc_ValueError,
                        "LineProfiler: max_mem must be a number of MiB >= 0");
        return -1;
    }
    if (backend != NULL && backend != Py_None && !PyUnicode_Check(backend)) {
        PyErr_SetString(PyExc_TypeError,
                        "LineProfiler: backend must be a str");
        return -1;
    }
    /* memory_profiler's choose_backend: the backend actually used */
    PyObject *compat = PyImport_ImportModule("peakmem._compat");
    PyObject *chosen =
        compat != NULL
            ? PyObject_CallMethod(compat, "choose_backend", "O",
                                  backend != NULL ? backend : Py_None)
            : NULL;
    Py_XDECREF(compat);
    if (chosen == NULL) {
        return -1;
    }
    int kind;
    pm_tracer_opts_t opts = {.include_children = children};
    if (pm_backend_parse(chosen, "LineProfiler", &kind) < 0 ||
        pm_backend_tracer_opts(kind, &opts) < 0) {
        Py_DECREF(chosen);
        return -1;
    }
    pm_lineprof_t *lp = pm_lineprof_new(&opts);
    if (lp == NULL) {
        Py_DECREF(chosen);
        return -1;
    }
    if (limit > 0) {
        pm_lineprof_set_break(lp, (uint64_t)(limit * PM_MIB));
    }
    self->lp = lp;
    self->include_children = children;
    self->max_mem = limit;
    Py_XSETREF(self->backend, chosen);
    return 0;
}

static void lineprofiler_dealloc(LineProfilerObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    /* Not enabled in any thread (it would be held). */
    pm_lineprof_free(self->lp);
    Py_CLEAR(self->backend);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Hold self while lp is enabled in some thread, let go when none has.
 * May free self: call last. */
static void hold_update(LineProfilerObject *self)
{
    int threads = 0;
    if (self->lp != NULL) {
        pm_lineprof_enabled(self->lp, &threads);
    }
    if (threads > 0 && !self->held) {
        self->held = 1;
        Py_INCREF(self);
    } else if (threads == 0 && self->held) {
        self->held = 0;
        Py_DECREF(self);
    }
}

/* Tracing is per thread, as memory_profiler's sys.settrace: each thread
 * keeps its own count (lineprof_py.c's nesting), so a thread that
 * disables never leaves another traced. enable/disable: on and fully off
 * in this thread; enable_by_count/disable_by_count: one nested enable
 * more or less. Disabling keeps a pending exception. GIL held; the
 * caller holds a reference to self. */
static int lp_enable_by_count(LineProfilerObject *self)
{
    if (lp_of(self) == NULL || pm_lineprof_enable(self->lp) < 0) {
        return -1;
    }
    hold_update(self);
    return 0;
}

static int lp_enable(LineProfilerObject *self)
{
    int threads;
    if (self->lp != NULL && pm_lineprof_enabled(self->lp, &threads) > 0) {
        return 0;
    }
    return lp_enable_by_count(self);
}

static void lp_disable_by_count(LineProfilerObject *self)
{
    int threads;
    if (self->lp != NULL && pm_lineprof_enabled(self->lp, &threads) > 0) {
        pm_lineprof_disable(self->lp);
        hold_update(self);
    }
}

static void lp_disable(LineProfilerObject *self)
{
    int threads;
    while (self->lp != NULL && pm_lineprof_enabled(self->lp, &threads) > 0) {
        pm_lineprof_disable(self->lp);
    }
    hold_update(self);
}

static PyObject *lineprofiler_enable(LineProfilerObject *self, PyObject *u)
{
    (void)u;
    return lp_enable(self) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *lineprofiler_disable(LineProfilerObject *self, PyObject *u)
{
    (void)u;
    lp_disable(self);
    Py_RETURN_NONE;
}

static PyObject *lineprofiler_enable_by_count(LineProfilerObject *self,
                                              PyObject *u)
{
    (void)u;
    return lp_enable_by_count(self) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *lineprofiler_disable_by_count(LineProfilerObject *self,
                                               PyObject *u)
{
    (void)u;
    lp_disable_by_count(self);
    Py_RETURN_NONE;
}

static PyObject *lineprofiler_exit(LineProfilerObject *self, PyObject *args)
{
    (void)args;
    lp_disable_by_count(self);
    Py_RETURN_NONE;
}

static PyObject *lineprofiler_add_function(LineProfilerObject *self,
                                           PyObject *func)
{
    PyObject *codes = PyList_New(0);
    int rc = codes != NULL && lp_of(self) != NULL
                 ? pm_lineprof_collect(func, codes)
                 : -1;
    for (Py_ssize_t i = 0; rc > 0 && i < PyList_GET_SIZE(codes); i++) {
        if (pm_lineprof_add(self->lp, PyList_GET_ITEM(codes, i)) < 0) {
            rc = -1;
        }
    }
    Py_XDECREF(codes);
    if (rc == 0 && PyErr_WarnFormat(PyExc_UserWarning, 1,
                                    "Could not extract a code object for "
                                    "the object %R",
                                    func) < 0) {
        return NULL;
    }
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A call of a function this profiler wraps: memory_profiler's
 * wrap_function (enable_by_count around the call). */
static PyObject *lineprofiler_hook(PyObject *owner, PyObject *func,
                                   PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames)
{
    LineProfilerObject *self = (LineProfilerObject *)owner;
    if (lp_enable_by_count(self) < 0) {
        return NULL;
    }
    PyObject *res = PyObject_Vectorcall(func, args, nargsf, kwnames);
    lp_disable_by_count(self);
    return res;
}

/* profile(func) -> wrapper; profile() or profile(precision=N) -> profile
 * itself, to be applied to the function next (memory_profiler's
 * inner_partial; its precision was ignored there too). */
static PyObject *lineprofiler_call(LineProfilerObject *self, PyObject *args,
                                   PyObject *kw)
{
    static char *kwlist[] = {"func", "precision", NULL};
    PyObject *func = Py_None, *precision = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:LineProfiler", kwlist,
                                     &func, &precision)) {
        return NULL;
    }
    if (func == Py_None) {
        return Py_NewRef(self);
    }
    if (!PyCallable_Check(func)) {
        PyErr_Format(PyExc_TypeError, "profile() needs a function, got %R",
                     func);
        return NULL;
    }
    PyObject *r = lineprofiler_add_function(self, func);
    if (r == NULL) {
        return NULL;
    }
    Py_DECREF(r);
    return pm_profiled_wrap(PyType_GetModule(Py_TYPE(self)), func,
                            lineprofiler_hook, (PyObject *)self, self->lp);
}

/* runctx(cmd, globals, locals): exec cmd with the profiler on; self. */
static PyObject *lineprofiler_runctx(LineProfilerObject *self,
                                     PyObject *args)
{
    PyObject *cmd, *globals, *locals;
    if (!PyArg_ParseTuple(args, "OOO:runctx", &cmd, &globals, &locals)) {
        return NULL;
    }
    PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
    PyObject *exec = PyDict_GetItemString(builtins, "exec");
    if (exec == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "no builtin exec");
        return NULL;
    }
    if (lp_enable_by_count(self) < 0) {
        return NULL;
    }
    PyObject *res =
        PyObject_CallFunctionObjArgs(exec, cmd, globals, locals, NULL);
    lp_disable_by_count(self);
    if (res == NULL) {
        return NULL;
    }
    Py_DECREF(res);
    return Py_NewRef(self);
}

static PyObject *lineprofiler_code_map(LineProfilerObject *self, void *u)
{
    (void)u;
    if (lp_of(self) == NULL) {
        return NULL;
    }
    return pm_lineprof_code_map(self->lp, self->include_children,
                                self->backend);
}

static PyObject *lineprofiler_get_enable_count(LineProfilerObject *self,
                                               void *u)
{
    (void)u;
    int threads;
    return PyLong_FromLong(
        self->lp != NULL ? pm_lineprof_enabled(self->lp, &threads) : 0);
}

static PyObject *lineprofiler_get_max_mem(LineProfilerObject *self, void *u)
{
    (void)u;
    if (self->max_mem > 0) {
        return PyFloat_FromDouble(self->max_mem);
    }
    Py_RETURN_NONE;
}

static PyObject *lineprofiler_get_backend(LineProfilerObject *self, void *u)
{
    (void)u;
    return Py_NewRef(self->backend != NULL ? self->backend : Py_None);
}

static PyObject *lineprofiler_repr(LineProfilerObject *self)
{
    return PyUnicode_FromFormat(
        "<peakmem.LineProfiler of %zu function(s)>",
        self->lp != NULL ? pm_lineprof_ntargets(self->lp) : (size_t)0);
}

static PyMethodDef lineprofiler_methods[] = {
    {"add_function", (PyCFunction)lineprofiler_add_function, METH_O,
     "Profile func's lines (a function, method, class or module)."},
    {"enable", (PyCFunction)lineprofiler_enable, METH_NOARGS,
     "Start tracing the added functions in this thread."},
    {"disable", (PyCFunction)lineprofiler_disable, METH_NOARGS,
     "Stop tracing."},
    {"enable_by_count", (PyCFunction)lineprofiler_enable_by_count,
     METH_NOARGS, "enable() if not enabled by count yet; count one more."},
    {"disable_by_count", (PyCFunction)lineprofiler_disable_by_count,
     METH_NOARGS, "Count one less; disable() at the last."},
    {"__enter__", (PyCFunction)lineprofiler_enable_by_count, METH_NOARGS,
     NULL},
    {"__exit__", (PyCFunction)lineprofiler_exit, METH_VARARGS, NULL},
    {"runctx", (PyCFunction)lineprofiler_runctx, METH_VARARGS,
     "runctx(cmd, globals, locals): exec cmd profiled; returns self."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef lineprofiler_getset[] = {
    {"code_map", (getter)lineprofiler_code_map, NULL,
     "code object -> {line: (increment, mem, occurrences)}, MiB; its "
     "items() are (filename, lines) as memory_profiler's CodeMap.",
     NULL},
    {"enable_count", (getter)lineprofiler_get_enable_count, NULL,
     "Nested enables in the calling thread (0: not traced).", NULL},
    {"max_mem", (getter)lineprofiler_get_max_mem, NULL,
     "MiB above which pdb starts, or None.", NULL},
    {"backend", (getter)lineprofiler_get_backend, NULL,
     "The memory backend in use.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot lineprofiler_slots[] = {
    {Py_tp_init, lineprofiler_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, lineprofiler_dealloc},
    {Py_tp_call, lineprofiler_call},
    {Py_tp_repr, lineprofiler_repr},
    {Py_tp_methods, lineprofiler_methods},
    {Py_tp_getset, lineprofiler_getset},
    {Py_tp_doc,
     "LineProfiler(include_children=False, backend=None, max_mem=None)\n"
     "--\n\n"
     "memory_profiler's LineProfiler: a line-by-line memory profiler of\n"
     "the functions added to it; show_results(prof) prints its tables."},
    {0, NULL},
};

static PyType_Spec lineprofiler_spec = {
    .name = "peakmem.LineProfiler",
    .basicsize = sizeof(LineProfilerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = lineprofiler_slots,
};

int pm_lineprofiler_type_init(PyObject *module, pm_state_t *st)
{
    st->lineprofiler_type =
        PyType_FromModuleAndSpec(module, &lineprofiler_spec, NULL);
    if (st->lineprofiler_type == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "LineProfiler",
                                 st->lineprofiler_type);
}
