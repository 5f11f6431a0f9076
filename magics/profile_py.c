/* @profile, as memory_profiler's: decorating a function makes every call
 * run under a fresh line profiler and print the table to the stream
 * afterwards. Generator functions and coroutine functions give a wrapper
 * that profiles each step (next/send/throw) and prints once the generator
 * or coroutine has finished. Used bare (@profile) or with options
 * (@profile(stream=f, precision=2)). Methods work through the descriptor
 * protocol. The same wrapper serves profilers that keep their own tables
 * (LineProfiler.__call__, python -m peakmem's builtin profile): made by
 * pm_profiled_wrap, its calls go through the profiler's hook. */
#include "internal.h"

#include <string.h>
#include <structmember.h>

/* What both types begin with; one set of GC slots serves both. */
typedef struct {
    PyObject_HEAD PyObject *target; /* Profiled: the decorated callable, or
                                       NULL; ProfiledRun: the real
                                       generator or coroutine */
    PyObject *stream;               /* where tables go; None: sys.stdout */
    PyObject *owner; /* pm_profiled_wrap's hook_arg (Profiled) or the
                        object whose profiler a ProfiledRun borrows;
                        NULL for @profile's own */
    PyObject *dict;  /* Profiled: its attributes (a function's __dict__:
                        decorators above it set theirs), or NULL */
    int precision;
    int backend; /* PM_BACKEND_*: what the tables measure */
} ProfiledHead;

/* What @profile returns. With head.target == NULL it is a decorator
 * waiting for its function (profile(precision=2) before it is applied). */
typedef struct {
    ProfiledHead head;
    vectorcallfunc vectorcall;
    pm_profiled_hook hook; /* NULL: @profile's own (fresh profiler and a
                              table printed per call) */
    pm_lineprof_t *lp;     /* with hook: head.owner's profiler, borrowed,
                              for generator and coroutine steps */
} ProfiledObject;

/* A running generator or coroutine of a profiled function. */
typedef struct {
    ProfiledHead head;
    pm_lineprof_t *lp; /* own, or head.owner's when that is set */
    int reported;      /* printed (never, for a borrowed profiler) */
} ProfiledRunObject;

int pm_stream_write(PyObject *stream, const char *text)
{
    PyObject *out = stream != NULL && stream != Py_None
                        ? stream
                        : PySys_GetObject("stdout"); /* borrowed */
    if (out == NULL || out == Py_None) {
        return 0;
    }
    PyObject *res = PyObject_CallMethod(out, "write", "s", text);
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

/* Write text (pm_lineprof_text's: blocks apart by two blank lines, no
 * final line end) to stream in the pieces memory_profiler's show_results
 * writes: "Filename: F\n\n", the header and rule lines, each row, and
 * "\n\n" after a block. A stream that looks at each write (LogFile's
 * reportIncrementFlag reads one row's increment) sees the same calls. */
static int write_pieces(PyObject *stream, const char *text)
{
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
        if (nl != NULL && nl[1] == '\n' &&
            (strncmp(p, "Filename: ", 10) == 0 || n == 1)) {
            n++; /* the blank line after it: one piece */
        }
        char *piece = pm_fmt_alloc("%.*s%s", (int)n, p,
                                   p[n] == '\0' ? "\n" : "");
        int rc = piece != NULL ? pm_stream_write(stream, piece) : -1;
        if (piece == NULL) {
            PyErr_NoMemory();
        }
        free(piece);
        if (rc < 0) {
            return -1;
        }
        p += n;
    }
    return pm_stream_write(stream, "\n\n");
}

/* Print lp's tables as memory_profiler's show_results does (each block
 * followed by a blank line). A pending exception (the call's own) is
 * kept, and a failed write then reported as unraisable; with none
 * pending, -1 leaves the write's error set. */
static int print_tables(pm_lineprof_t *lp, PyObject *stream, int precision)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    char *text = pm_lineprof_text(lp, precision);
    int rc = -1;
    if (text != NULL) {
        rc = text[0] == '\0' ? 0 : write_pieces(stream, text);
        free(text);
    }
    if (type != NULL) {
        /* the call's own exception goes on; the write's is reported */
        if (rc < 0) {
            PyErr_WriteUnraisable(stream != NULL ? stream : Py_None);
        }
        PyErr_Restore(type, value, tb);
    }
    return rc;
}

static pm_lineprof_t *profiler_for(PyObject *func, int backend)
{
    pm_tracer_opts_t topts = {0};
    PyObject *codes = PyList_New(0);
    pm_lineprof_t *lp = NULL;
    if (codes == NULL) {
        return NULL;
    }
    if (pm_lineprof_collect(func, codes) < 0) {
        goto fail;
    }
    if (pm_backend_tracer_opts(backend, &topts) < 0) {
        goto fail;
    }
    lp = pm_lineprof_new(&topts);
    for (Py_ssize_t i = 0; lp != NULL && i < PyList_GET_SIZE(codes); i++) {
        if (pm_lineprof_add(lp, PyList_GET_ITEM(codes, i)) < 0) {
            pm_lineprof_free(lp);
            lp = NULL;
        }
    }
fail:
    Py_DECREF(codes);
    return lp;
}

static int code_flags(PyObject *func)
{
    PyObject *inspect = PyImport_ImportModule("inspect");
    PyObject *f = inspect != NULL
                      ? PyObject_CallMethod(inspect, "unwrap", "O", func)
                      : NULL;
    PyObject *code = f != NULL ? PyObject_GetAttrString(f, "__code__") : NULL;
    int flags = code != NULL && PyCode_Check(code)
                    ? ((PyCodeObject *)code)->co_flags
                    : 0;
    PyErr_Clear();
    Py_XDECREF(code);
    Py_XDECREF(f);
    Py_XDECREF(inspect);
    return flags;
}

/* ---- ProfiledRun: a profiled generator or coroutine -------------------*/

static PyObject *run_step(ProfiledRunObject *self, const char *method,
                          PyObject *arg)
{
    if (pm_lineprof_enable(self->lp) < 0) {
        return NULL;
    }
    PyObject *res =
        arg != NULL ? PyObject_CallMethod(self->head.target, method, "O", arg)
                    : PyObject_CallMethod(self->head.target, method, NULL);
    pm_lineprof_disable(self->lp);
    if (res == NULL && !self->reported &&
        (PyErr_ExceptionMatches(PyExc_StopIteration) ||
         PyErr_ExceptionMatches(PyExc_GeneratorExit))) {
        self->reported = 1;
        print_tables(self->lp, self->head.stream, self->head.precision);
    }
    return res;
}

static PyObject *run_send(ProfiledRunObject *self, PyObject *arg)
{
    return run_step(self, "send", arg);
}

static PyObject *run_throw(ProfiledRunObject *self, PyObject *args)
{
    if (pm_lineprof_enable(self->lp) < 0) {
        return NULL;
    }
    PyObject *throw = PyObject_GetAttrString(self->head.target, "throw");
    PyObject *res = throw != NULL ? PyObject_Call(throw, args, NULL) : NULL;
    Py_XDECREF(throw);
    pm_lineprof_disable(self->lp);
    if (res == NULL && !self->reported &&
        PyErr_ExceptionMatches(PyExc_StopIteration)) {
        self->reported = 1;
        print_tables(self->lp, self->head.stream, self->head.precision);
    }
    return res;
}

/* Closing early still shows what ran. */
static PyObject *run_close(ProfiledRunObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *res = PyObject_CallMethod(self->head.target, "close", NULL);
    if (!self->reported) {
        self->reported = 1;
        if (print_tables(self->lp, self->head.stream, self->head.precision) <
                0 &&
            res != NULL) {
            Py_CLEAR(res); /* the write's error */
        }
    }
    return res;
}

/* next() and await: a send(None) step. The StopIteration stays set so
 * that await gets the coroutine's return value from it. */
static PyObject *run_iternext(ProfiledRunObject *self)
{
    return run_step(self, "send", Py_None);
}

static PyObject *run_await(ProfiledRunObject *self)
{
    return Py_NewRef(self);
}

/* ---- the GC slots both types share ------------------------------------*/

static int head_traverse(ProfiledHead *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->target);
    Py_VISIT(self->stream);
    Py_VISIT(self->owner);
    Py_VISIT(self->dict);
    return 0;
}

static int head_clear(ProfiledHead *self)
{
    Py_CLEAR(self->target);
    Py_CLEAR(self->stream);
    Py_CLEAR(self->owner);
    Py_CLEAR(self->dict);
    return 0;
}

static void head_dealloc(ProfiledHead *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    head_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static void run_dealloc(ProfiledRunObject *self)
{
    PyObject_GC_UnTrack(self); /* before the profiler goes */
    if (self->head.owner == NULL) {
        pm_lineprof_free(self->lp);
    }
    self->lp = NULL;
    head_dealloc(&self->head);
}

static PyMethodDef run_methods[] = {
    {"send", (PyCFunction)run_send, METH_O, NULL},
    {"throw", (PyCFunction)run_throw, METH_VARARGS, NULL},
    {"close", (PyCFunction)run_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot run_slots[] = {
    {Py_tp_dealloc, run_dealloc},
    {Py_tp_traverse, head_traverse},
    {Py_tp_clear, head_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, run_iternext},
    {Py_am_await, run_await},
    {Py_tp_methods, run_methods},
    {Py_tp_doc, "A generator or coroutine of a @profile'd function."},
    {0, NULL},
};

static PyType_Spec run_spec = {
    .name = "peakmem.ProfiledRun",
    .basicsize = sizeof(ProfiledRunObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = run_slots,
};

/* ---- Profiled: the decorated function ---------------------------------*/

static PyObject *profiled_new_for(PyTypeObject *tp, PyObject *func,
                                  PyObject *stream, int precision,
                                  int backend);

/* A ProfiledRun stepping inner (a generator or coroutine, stolen) under
 * lp: owned (owner NULL: the table is printed when it finishes) or
 * owner's. NULL with an exception (inner released, lp not). */
static PyObject *run_new(ProfiledObject *self, PyObject *inner,
                         pm_lineprof_t *lp, PyObject *owner)
{
    pm_state_t *st = get_state(PyType_GetModule(Py_TYPE(self)));
    ProfiledRunObject *run = PyObject_GC_New(
        ProfiledRunObject, (PyTypeObject *)st->profiled_run_type);
    if (run == NULL) {
        Py_DECREF(inner);
        return NULL;
    }
    run->head.target = inner;
    run->head.stream = Py_NewRef(self->head.stream);
    run->head.owner = Py_XNewRef(owner);
    run->head.dict = NULL;
    run->head.precision = self->head.precision;
    run->head.backend = self->head.backend;
    run->lp = lp;
    run->reported = owner != NULL;
    PyObject_GC_Track(run);
    return (PyObject *)run;
}

/* A call of a pm_profiled_wrap wrapper: the owner's hook runs it. A
 * generator or coroutine function's steps run under the owner's
 * profiler (memory_profiler traced only the call that makes it). */
static PyObject *hooked_call(ProfiledObject *self, PyObject *const *args,
                             size_t nargsf, PyObject *kwnames)
{
    if (self->lp != NULL && (code_flags(self->head.target) &
                             (CO_GENERATOR | CO_COROUTINE))) {
        PyObject *inner =
            PyObject_Vectorcall(self->head.target, args, nargsf, kwnames);
        return inner != NULL ? run_new(self, inner, self->lp, self->head.owner)
                             : NULL;
    }
    return self->hook(self->head.owner, self->head.target, args, nargsf,
                      kwnames);
}

static PyObject *profiled_vectorcall(PyObject *callable, PyObject *const *args,
                                     size_t nargsf, PyObject *kwnames)
{
    ProfiledObject *self = (ProfiledObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);

    if (self->head.target == NULL) {
        /* profile(precision=...) applied to its function */
        if (nargs != 1 || kwnames != NULL || !PyCallable_Check(args[0])) {
            PyErr_SetString(PyExc_TypeError,
                            "profile(...) decorates one callable");
            return NULL;
        }
        return profiled_new_for(Py_TYPE(self), args[0], self->head.stream,
                                self->head.precision, self->head.backend);
    }
    if (self->hook != NULL) {
        return hooked_call(self, args, nargsf, kwnames);
    }
    if (pm_lineprof_owner_enabled(self)) {
        /* A recursive call in this thread: the outer call's profiler
         * sees it. Calls from other threads get their own profiler. */
        return PyObject_Vectorcall(self->head.target, args, nargsf, kwnames);
    }
    int flags = code_flags(self->head.target);
    pm_lineprof_t *lp = profiler_for(self->head.target, self->head.backend);
    if (lp == NULL) {
        return NULL;
    }
    if (flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) {
        PyObject *inner =
            PyObject_Vectorcall(self->head.target, args, nargsf, kwnames);
        if (inner == NULL || (flags & CO_ASYNC_GENERATOR)) {
            /* Async generators are returned unprofiled for now: their
             * steps are awaitables of their own. */
            pm_lineprof_free(lp);
            return inner;
        }
        PyObject *run = run_new(self, inner, lp, NULL);
        if (run == NULL) {
            pm_lineprof_free(lp);
        }
        return run;
    }
    pm_lineprof_set_owner(lp, self);
    PyObject *res = NULL;
    if (pm_lineprof_enable(lp) == 0) {
        res = PyObject_Vectorcall(self->head.target, args, nargsf, kwnames);
        pm_lineprof_disable(lp);
    }
    if (res != NULL &&
        print_tables(lp, self->head.stream, self->head.precision) < 0) {
        Py_CLEAR(res);
    }
    pm_lineprof_free(lp);
    return res;
}

/* Methods: bind like a function does. */
static PyObject *profiled_descr_get(PyObject *self, PyObject *obj,
                                    PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

/* Attributes not of the wrapper (__name__, __doc__, ...) come from the
 * wrapped function, as functools.wraps would copy them; attributes set
 * on the wrapper (its __dict__) come first, then the function's. */
static PyObject *profiled_getattro(ProfiledObject *self, PyObject *name)
{
    if (self->head.target != NULL &&
        (PyUnicode_CompareWithASCIIString(name, "__doc__") == 0 ||
         PyUnicode_CompareWithASCIIString(name, "__name__") == 0 ||
         PyUnicode_CompareWithASCIIString(name, "__qualname__") == 0 ||
         PyUnicode_CompareWithASCIIString(name, "__module__") == 0)) {
        return PyObject_GetAttr(self->head.target, name);
    }
    if (self->head.target != NULL &&
        PyUnicode_CompareWithASCIIString(name, "__wrapped__") == 0) {
        return Py_NewRef(self->head.target);
    }
    PyObject *res = PyObject_GenericGetAttr((PyObject *)self, name);
    if (res == NULL && self->head.target != NULL &&
        PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        res = PyObject_GetAttr(self->head.target, name);
    }
    return res;
}

static PyObject *profiled_repr(ProfiledObject *self)
{
    if (self->head.target == NULL) {
        return PyUnicode_FromString("<peakmem.profile decorator>");
    }
    return PyUnicode_FromFormat("<profiled %R>", self->head.target);
}

static PyGetSetDef profiled_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL,
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef profiled_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(ProfiledObject, vectorcall),
     READONLY, NULL},
    {"__dictoffset__", T_PYSSIZET, offsetof(ProfiledObject, head.dict),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot profiled_slots[] = {
    {Py_tp_dealloc, head_dealloc},
    {Py_tp_traverse, head_traverse},
    {Py_tp_clear, head_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, profiled_descr_get},
    {Py_tp_getattro, profiled_getattro},
    {Py_tp_repr, profiled_repr},
    {Py_tp_members, profiled_members},
    {Py_tp_getset, profiled_getset},
    {0, NULL},
};

static PyType_Spec profiled_spec = {
    .name = "peakmem.Profiled",
    .basicsize = sizeof(ProfiledObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .slots = profiled_slots,
};

static PyObject *profiled_new_for(PyTypeObject *tp, PyObject *func,
                                  PyObject *stream, int precision,
                                  int backend)
{
    ProfiledObject *self = PyObject_GC_New(ProfiledObject, tp);
    if (self == NULL) {
        return NULL;
    }
    self->head.target = Py_XNewRef(func);
    self->head.stream = Py_NewRef(stream != NULL ? stream : Py_None);
    self->head.owner = NULL;
    self->head.dict = NULL;
    self->head.precision = precision;
    self->head.backend = backend;
    /* functools.wraps: the function's attributes, copied */
    PyObject *fd = func != NULL ? PyObject_GetAttrString(func, "__dict__")
                                : NULL;
    if (fd != NULL && PyDict_Check(fd)) {
        self->head.dict = PyDict_Copy(fd);
    }
    Py_XDECREF(fd);
    PyErr_Clear();
    self->vectorcall = profiled_vectorcall;
    self->hook = NULL;
    self->lp = NULL;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

PyObject *pm_profiled_wrap(PyObject *module, PyObject *func,
                           pm_profiled_hook hook, PyObject *owner,
                           pm_lineprof_t *lp)
{
    pm_state_t *st = get_state(module);
    ProfiledObject *self = (ProfiledObject *)profiled_new_for(
        (PyTypeObject *)st->profiled_type, func, NULL, 1,
        PM_BACKEND_PSUTIL);
    if (self != NULL) {
        self->hook = hook;
        self->lp = lp;
        self->head.owner = Py_NewRef(owner);
    }
    return (PyObject *)self;
}

int pm_profile_type_init(PyObject *module, pm_state_t *st)
{
    st->profiled_type = PyType_FromModuleAndSpec(module, &profiled_spec, NULL);
    st->profiled_run_type = PyType_FromModuleAndSpec(module, &run_spec, NULL);
    return st->profiled_type != NULL && st->profiled_run_type != NULL ? 0 : -1;
}

PyObject *pm_profile(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"func", "stream", "precision", "backend", NULL};
    PyObject *func = Py_None, *stream = Py_None, *backend = Py_None;
    int precision = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOiO:profile", kwlist,
                                     &func, &stream, &precision, &backend)) {
        return NULL;
    }
    int kind;
    if (pm_backend_parse(backend, "profile()", &kind) < 0) {
        return NULL;
    }
    if (precision < 0 || precision > 20) {
        PyErr_SetString(PyExc_ValueError,
                        "profile(): precision must be 0 to 20");
        return NULL;
    }
    if (func != Py_None && !PyCallable_Check(func)) {
        PyErr_Format(PyExc_TypeError, "profile() needs a function, got %R",
                     func);
        return NULL;
    }
    pm_state_t *st = get_state(module);
    return profiled_new_for((PyTypeObject *)st->profiled_type,
                            func != Py_None ? func : NULL, stream, precision,
                            kind);
}
