/* The result objects the magics return: MemitResult (%memit -o) and
 * MprunResult (%mprun -r). Both are immutable and share a prefix holding
 * their text, HTML and JSON forms, with the methods that serve them.
 * MemitResult has memory_profiler 0.61's attributes (mem_usage, baseline,
 * repeat, timeout, interval, include_children) and its text, plus exact
 * figures in bytes, the method and wall times. */
#include "internal.h"

#include <structmember.h>

/* The shared prefix: every result type starts with these. */
typedef struct {
    PyObject_HEAD PyObject *text; /* str: the printed form */
    PyObject *html;               /* str */
    PyObject *json_text;          /* str: the JSON document */
} ReportObject;

typedef struct {
    ReportObject base;
    /* memory_profiler's attributes */
    PyObject *mem_usage;        /* list of float: each repeat's peak, MiB */
    PyObject *baseline;         /* float, MiB */
    PyObject *repeat;           /* int */
    PyObject *timeout;          /* float seconds or None */
    PyObject *interval;         /* float seconds */
    PyObject *include_children; /* bool */
    /* peakmem's */
    PyObject *peak;           /* int, bytes: highest over the repeats */
    PyObject *increment;      /* int, bytes: peak - baseline */
    PyObject *baseline_bytes; /* int, bytes */
    PyObject *method;         /* str: "hwm", "sampled" or "hwm+sampled" */
    PyObject *wall_times;     /* list of float: seconds per repeat */
    PyObject *statement;      /* str */
} MemitResultObject;

typedef struct {
    ReportObject base;
    PyObject *statement; /* str */
    PyObject *message;   /* str or None: KeyboardInterrupt / SystemExit */
} MprunResultObject;

#define MIB (1024.0 * 1024.0)

static int memit_result_traverse(MemitResultObject *self, visitproc visit,
                                 void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->mem_usage);
    Py_VISIT(self->wall_times);
    return 0;
}

static int memit_result_clear(MemitResultObject *self)
{
    Py_CLEAR(self->mem_usage);
    Py_CLEAR(self->baseline);
    Py_CLEAR(self->repeat);
    Py_CLEAR(self->timeout);
    Py_CLEAR(self->interval);
    Py_CLEAR(self->include_children);
    Py_CLEAR(self->peak);
    Py_CLEAR(self->increment);
    Py_CLEAR(self->baseline_bytes);
    Py_CLEAR(self->method);
    Py_CLEAR(self->wall_times);
    Py_CLEAR(self->statement);
    Py_CLEAR(self->base.text);
    Py_CLEAR(self->base.html);
    Py_CLEAR(self->base.json_text);
    return 0;
}

static void memit_result_dealloc(MemitResultObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    memit_result_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *report_str(ReportObject *self)
{
    return Py_NewRef(self->text);
}

static PyObject *memit_result_repr(MemitResultObject *self)
{
    return PyUnicode_FromFormat("<MemitResult : %U>", self->base.text);
}

/* IPython's pretty printer (Out[] of %memit -o), as memory_profiler. */
/* IPython's pretty printer (Out[]): the repr for MemitResult, as
 * memory_profiler, and the table itself for MprunResult. */
static PyObject *report_repr_pretty(ReportObject *self, PyObject *args)
{
    PyObject *printer = NULL, *cycle = NULL;
    if (!PyArg_ParseTuple(args, "OO:_repr_pretty_", &printer, &cycle)) {
        return NULL;
    }
    PyObject *text = Py_TYPE(self)->tp_repr == (reprfunc)memit_result_repr
                         ? PyObject_Repr((PyObject *)self)
                         : Py_NewRef(self->text);
    if (text == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_CallMethod(printer, "text", "O", text);
    Py_DECREF(text);
    return res;
}

static PyObject *report_repr_html(ReportObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self->html);
}

static PyObject *report_to_json(ReportObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self->json_text);
}

/* The document as a dict (also in IPython's mime bundle). */
static PyObject *report_to_dict(ReportObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *json = PyImport_ImportModule("json");
    if (json == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_CallMethod(json, "loads", "O", self->json_text);
    Py_DECREF(json);
    return res;
}

/* IPython's mime bundle: the JSON document under peakmem's own type, as
 * the magics display it; IPython adds text/plain and text/html. Never
 * application/json (no _repr_json_): JupyterLab ranks its JSON tree above
 * HTML, so a result as a cell's value would show as a tree, not the table. */
static PyObject *report_repr_mimebundle(ReportObject *self, PyObject *args,
                                        PyObject *kwargs)
{
    (void)args;   /* include / exclude: IPython filters the bundle itself */
    (void)kwargs;
    const char *mime = Py_TYPE(self)->tp_repr == (reprfunc)memit_result_repr
                           ? PM_MIME_MEMIT
                           : PM_MIME_MPRUN;
    PyObject *doc = report_to_dict(self, NULL);
    if (doc == NULL) {
        return NULL;
    }
    return Py_BuildValue("{sN}", mime, doc);
}

static PyMethodDef report_methods[] = {
    {"_repr_pretty_", (PyCFunction)report_repr_pretty, METH_VARARGS, NULL},
    {"_repr_html_", (PyCFunction)report_repr_html, METH_NOARGS, NULL},
    {"_repr_mimebundle_", (PyCFunction)(void (*)(void))report_repr_mimebundle,
     METH_VARARGS | METH_KEYWORDS, NULL},
    {"to_json", (PyCFunction)report_to_json, METH_NOARGS,
     "The result as a JSON document (str); see protocol/SCHEMA.md."},
    {"to_dict", (PyCFunction)report_to_dict, METH_NOARGS,
     "The result's JSON document as a dict."},
    {NULL, NULL, 0, NULL},
};

#define MEMBER(name, doc)                                                     \
    {                                                                         \
#name, T_OBJECT_EX, offsetof(MemitResultObject, name), READONLY, doc  \
    }

static PyMemberDef memit_result_members[] = {
    MEMBER(mem_usage, "Peak of each repeat, MiB (list of float)."),
    MEMBER(baseline, "RSS before the statement, after gc.collect(), MiB."),
    MEMBER(repeat, "Number of repeats (-r)."),
    MEMBER(timeout, "Timeout in seconds (-t), or None."),
    MEMBER(interval, "Sampling interval in seconds (-i)."),
    MEMBER(include_children, "Whether child processes were counted (-c)."),
    MEMBER(peak, "Highest RSS over the repeats, bytes."),
    MEMBER(increment, "peak - baseline, bytes."),
    MEMBER(baseline_bytes, "RSS before the statement, bytes."),
    MEMBER(method, "How the peak was measured: hwm, sampled, hwm+sampled."),
    MEMBER(wall_times, "Wall time of each repeat, seconds."),
    MEMBER(statement, "The measured statement."),
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot memit_result_slots[] = {
    {Py_tp_dealloc, memit_result_dealloc},
    {Py_tp_traverse, memit_result_traverse},
    {Py_tp_clear, memit_result_clear},
    {Py_tp_str, report_str},
    {Py_tp_repr, memit_result_repr},
    {Py_tp_methods, report_methods},
    {Py_tp_members, memit_result_members},
    {Py_tp_doc, "Result of %memit -o: peak and increment of a statement."},
    {0, NULL},
};

static PyType_Spec memit_result_spec = {
    .name = "peakmem.MemitResult",
    .basicsize = sizeof(MemitResultObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = memit_result_slots,
};

int pm_memit_result_type_init(PyObject *module, pm_state_t *st)
{
    st->memit_result_type =
        PyType_FromModuleAndSpec(module, &memit_result_spec, NULL);
    if (st->memit_result_type == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "MemitResult", st->memit_result_type);
}

/* Steal s (a malloc'd UTF-8 string) into a new str. */
static PyObject *str_from_malloced(char *s)
{
    if (s == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *res = PyUnicode_FromString(s);
    free(s);
    return res;
}

static PyObject *float_list(const double *values, size_t n, double scale)
{
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *v = PyFloat_FromDouble(values[i] * scale);
        if (v == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    return list;
}

static PyObject *peaks_mib(const pm_memit_t *m)
{
    PyObject *list = PyList_New((Py_ssize_t)m->n);
    for (size_t i = 0; list != NULL && i < m->n; i++) {
        PyObject *v = PyFloat_FromDouble((double)m->peak_bytes[i] / MIB);
        if (v == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    return list;
}

PyObject *pm_memit_result_new(pm_state_t *st, const pm_memit_t *m)
{
    PyTypeObject *tp = (PyTypeObject *)st->memit_result_type;
    MemitResultObject *self = PyObject_GC_New(MemitResultObject, tp);
    if (self == NULL) {
        return NULL;
    }
    memset((char *)self + sizeof(PyObject), 0,
           sizeof(*self) - sizeof(PyObject));
    uint64_t peak = pm_memit_peak(m);
    json_t *doc = pm_memit_to_json(m);
    char *json_text = doc != NULL
                          ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)
                          : NULL;
    json_decref(doc);

    self->mem_usage = peaks_mib(m);
    self->baseline = PyFloat_FromDouble((double)m->baseline_bytes / MIB);
    self->repeat = PyLong_FromLong(m->repeat);
    self->timeout = m->timeout_s > 0 ? PyFloat_FromDouble(m->timeout_s)
                                     : Py_NewRef(Py_None);
    self->interval = PyFloat_FromDouble(m->interval_s);
    self->include_children = PyBool_FromLong(m->include_children);
    self->peak = PyLong_FromUnsignedLongLong(peak);
    self->increment =
        PyLong_FromLongLong((long long)peak - (long long)m->baseline_bytes);
    self->baseline_bytes = PyLong_FromUnsignedLongLong(m->baseline_bytes);
    self->method = PyUnicode_FromString(m->method);
    self->wall_times = float_list(m->wall_s, m->n, 1.0);
    self->statement = PyUnicode_FromString(m->statement);
    self->base.text = str_from_malloced(pm_memit_render_text(m));
    self->base.html = str_from_malloced(pm_memit_render_html(m));
    self->base.json_text = str_from_malloced(json_text);
    PyObject_GC_Track(self);
    if (PyErr_Occurred()) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* ---- MprunResult ------------------------------------------------------*/

static int mprun_result_traverse(MprunResultObject *self, visitproc visit,
                                 void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int mprun_result_clear(MprunResultObject *self)
{
    Py_CLEAR(self->statement);
    Py_CLEAR(self->message);
    Py_CLEAR(self->base.text);
    Py_CLEAR(self->base.html);
    Py_CLEAR(self->base.json_text);
    return 0;
}

static void mprun_result_dealloc(MprunResultObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    mprun_result_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *mprun_result_repr(MprunResultObject *self)
{
    return PyUnicode_FromFormat("<MprunResult of %R>", self->statement);
}

static PyMemberDef mprun_result_members[] = {
    {"statement", T_OBJECT_EX, offsetof(MprunResultObject, statement),
     READONLY, "The statement that ran."},
    {"message", T_OBJECT_EX, offsetof(MprunResultObject, message), READONLY,
     "memory_profiler's note when KeyboardInterrupt or SystemExit stopped "
     "the run, else None."},
    {"text", T_OBJECT_EX, offsetof(ReportObject, text), READONLY,
     "The table, exactly as printed."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot mprun_result_slots[] = {
    {Py_tp_dealloc, mprun_result_dealloc},
    {Py_tp_traverse, mprun_result_traverse},
    {Py_tp_clear, mprun_result_clear},
    {Py_tp_str, report_str},
    {Py_tp_repr, mprun_result_repr},
    {Py_tp_methods, report_methods},
    {Py_tp_members, mprun_result_members},
    {Py_tp_doc, "Result of %mprun -r: the line-by-line tables."},
    {0, NULL},
};

static PyType_Spec mprun_result_spec = {
    .name = "peakmem.MprunResult",
    .basicsize = sizeof(MprunResultObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = mprun_result_slots,
};

int pm_mprun_result_type_init(PyObject *module, pm_state_t *st)
{
    st->mprun_result_type =
        PyType_FromModuleAndSpec(module, &mprun_result_spec, NULL);
    if (st->mprun_result_type == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "MprunResult", st->mprun_result_type);
}

PyObject *pm_mprun_result_new(pm_state_t *st, const pm_mprun_t *m,
                              const char *text)
{
    PyTypeObject *tp = (PyTypeObject *)st->mprun_result_type;
    MprunResultObject *self = PyObject_GC_New(MprunResultObject, tp);
    if (self == NULL) {
        return NULL;
    }
    memset((char *)self + sizeof(PyObject), 0,
           sizeof(*self) - sizeof(PyObject));
    json_t *doc = pm_mprun_to_json(m);
    char *json_text = doc != NULL
                          ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)
                          : NULL;
    json_decref(doc);
    self->statement = PyUnicode_FromString(m->statement);
    self->message = m->message != NULL ? PyUnicode_FromString(m->message)
                                       : Py_NewRef(Py_None);
    self->base.text = PyUnicode_FromString(text);
    self->base.html = str_from_malloced(pm_mprun_render_html(m));
    self->base.json_text = str_from_malloced(json_text);
    PyObject_GC_Track(self);
    if (PyErr_Occurred()) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}
