/* The result objects the magics return: peakmem.Result, the base type
 * holding the text, HTML and JSON forms with the methods that serve them,
 * and its two thin subtypes MemitResult (%memit -o) and MprunResult
 * (%mprun -r), which add their own attributes and repr. All immutable.
 * MemitResult has memory_profiler 0.61's attributes (mem_usage, baseline,
 * repeat, timeout, interval, include_children) and its text, plus exact
 * figures in bytes, the method and wall times. */
#include "internal.h"

#include <structmember.h>

/* peakmem.Result: every result starts with these. Every field of a
 * result after PyObject_HEAD is a PyObject * (the base type's slots visit
 * and clear them all by position, so subtypes need none of their own). */
typedef struct {
    PyObject_HEAD PyObject *text; /* str: the printed form */
    PyObject *html;               /* str */
    PyObject *json_text;          /* str: the JSON document */
    PyObject *mime;               /* str: the document's vendor mime type */
    PyObject *pretty;             /* str: what Out[] prints */
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
    PyObject *allocated_peak_bytes; /* int, or None without --sites */
    PyObject *sites; /* list of dict, or None without --sites */
    PyObject *children;       /* list of dict, or None: -c's exact path */
    PyObject *sum_of_peaks;   /* int bytes, or None: -c's exact path */
    PyObject *workers;        /* list of dict, or None: --dask */
} MemitResultObject;

typedef struct {
    ReportObject base;
    PyObject *statement; /* str */
    PyObject *message;   /* str or None: KeyboardInterrupt / SystemExit */
    PyObject *code_map;  /* memory_profiler's LineProfiler.code_map (a
                            peakmem._compat.CodeMap): what show_results
                            reads */
} MprunResultObject;

/* The PyObject * fields of a result: all of it after the header. */
static PyObject **result_fields(PyObject *self, size_t *n)
{
    *n = ((size_t)Py_TYPE(self)->tp_basicsize - sizeof(PyObject)) /
         sizeof(PyObject *);
    return (PyObject **)((char *)self + sizeof(PyObject));
}

/* ---- the slots both result types share --------------------------------*/

static int result_traverse(PyObject *self, visitproc visit, void *arg)
{
    size_t n;
    PyObject **field = result_fields(self, &n);

    Py_VISIT(Py_TYPE(self));
    for (size_t i = 0; i < n; i++) {
        Py_VISIT(field[i]);
    }
    return 0;
}

static int result_clear(PyObject *self)
{
    size_t n;
    PyObject **field = result_fields(self, &n);

    for (size_t i = 0; i < n; i++) {
        Py_CLEAR(field[i]);
    }
    return 0;
}

static void result_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    result_clear(self);
    tp->tp_free(self);
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

/* IPython's pretty printer (Out[]): the repr for MemitResult, as
 * memory_profiler, and the table itself for MprunResult. */
static PyObject *report_repr_pretty(ReportObject *self, PyObject *args)
{
    PyObject *printer = NULL, *cycle = NULL;
    if (!PyArg_ParseTuple(args, "OO:_repr_pretty_", &printer, &cycle)) {
        return NULL;
    }
    return PyObject_CallMethod(printer, "text", "O", self->pretty);
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
    PyObject *doc = report_to_dict(self, NULL);
    if (doc == NULL) {
        return NULL;
    }
    PyObject *bundle = PyDict_New();
    if (bundle == NULL || PyDict_SetItem(bundle, self->mime, doc) < 0) {
        Py_CLEAR(bundle);
    }
    Py_DECREF(doc);
    return bundle;
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
    {#name, T_OBJECT_EX, offsetof(MemitResultObject, name), READONLY, doc}

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
    MEMBER(allocated_peak_bytes,
           "--sites: most bytes the tracked allocations held at once, or "
           "None."),
    MEMBER(sites, "--sites: the sites holding the most at the allocation "
                  "peak (dicts: where, source, via_where, via_source, "
                  "statement_where, statement_source, bytes, share), or None."),
    MEMBER(children,
           "With -c: each descendant process as a dict (pid, ppid, command, "
           "peak in bytes, exited), or None."),
    MEMBER(sum_of_peaks,
           "With -c: own peak plus every descendant's peak, bytes (an exact "
           "upper bound; peak is the sampled peak of the sum), or None."),
    MEMBER(workers,
           "With --dask: one dict per Dask worker, then the scheduler "
           "(address, role, host, pid, baseline_bytes, peak_bytes, "
           "increment_bytes, memory_limit_bytes, share_of_limit, "
           "pause_crossed, kill_crossed, over_limit, status), or None."),
    {NULL, 0, 0, 0, NULL},
};

static PyMemberDef report_members[] = {
    {"text", T_OBJECT_EX, offsetof(ReportObject, text), READONLY,
     "The result exactly as printed (also str())."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot report_slots[] = {
    {Py_tp_dealloc, result_dealloc},
    {Py_tp_traverse, result_traverse},
    {Py_tp_clear, result_clear},
    {Py_tp_str, report_str},
    {Py_tp_methods, report_methods},
    {Py_tp_members, report_members},
    {Py_tp_doc, "Base class of peakmem's results: str() is the text, "
                "_repr_html_() the HTML,\nto_json() / to_dict() the "
                "document of protocol/SCHEMA.md."},
    {0, NULL},
};

/* The subtypes inherit Py_TPFLAGS_HAVE_GC with the GC slots. */
#define RESULT_FLAGS                                                          \
    (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION |                 \
     Py_TPFLAGS_IMMUTABLETYPE)

static PyType_Spec report_spec = {
    .name = "peakmem.Result",
    .basicsize = sizeof(ReportObject),
    .flags = RESULT_FLAGS | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .slots = report_slots,
};

/* The slots of a subtype: its repr, members and docstring; everything
 * else comes from peakmem.Result. */
#define RESULT_SLOTS(repr, members, doc)                                      \
    {                                                                         \
        {Py_tp_repr, (repr)}, {Py_tp_members, (members)},                     \
            {Py_tp_doc, (doc)}, {0, NULL},                                    \
    }

#define RESULT_SPEC(qualname, type, slot_array)                               \
    {                                                                         \
        .name = (qualname), .basicsize = sizeof(type), .flags = RESULT_FLAGS, \
        .slots = (slot_array),                                                \
    }

int pm_result_type_init(PyObject *module, pm_state_t *st)
{
    st->result_type = PyType_FromModuleAndSpec(module, &report_spec, NULL);
    if (st->result_type == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "Result", st->result_type);
}

/* Create the subtype of peakmem.Result from spec into *type and add it to
 * the module as name. Returns 0 or -1 with an exception. */
static int result_type_init(PyObject *module, pm_state_t *st,
                            PyType_Spec *spec, const char *name,
                            PyObject **type)
{
    *type = PyType_FromModuleAndSpec(module, spec, st->result_type);
    if (*type == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, name, *type);
}

/* A new result of type tp, every field NULL; untracked until
 * result_finish. New reference or NULL with an exception. */
static PyObject *result_alloc(PyObject *tp)
{
    PyObject *self = PyObject_GC_New(PyObject, (PyTypeObject *)tp);
    if (self != NULL) {
        memset((char *)self + sizeof(PyObject), 0,
               (size_t)((PyTypeObject *)tp)->tp_basicsize - sizeof(PyObject));
    }
    return self;
}

/* Track self for the GC; if building a field failed, drop it. */
static PyObject *result_finish(PyObject *self)
{
    PyObject_GC_Track(self);
    if (PyErr_Occurred()) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
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

/* Steal doc (a JSON document, or NULL when it could not be made) into
 * its compact text as a new str. */
static PyObject *json_str(json_t *doc)
{
    char *text = doc != NULL
                     ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)
                     : NULL;
    json_decref(doc);
    return str_from_malloced(text);
}

/* ---- MemitResult ------------------------------------------------------*/

static PyType_Slot memit_result_slots[] =
    RESULT_SLOTS(memit_result_repr, memit_result_members,
                 "Result of %memit -o: peak and increment of a statement.");

static PyType_Spec memit_result_spec =
    RESULT_SPEC("peakmem.MemitResult", MemitResultObject, memit_result_slots);

int pm_memit_result_type_init(PyObject *module, pm_state_t *st)
{
    return result_type_init(module, st, &memit_result_spec, "MemitResult",
                            &st->memit_result_type);
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

/* --sites: a list of dicts like the JSON's "sites", or None. */
static PyObject *sites_list(const pm_memit_t *m)
{
    if (!m->sites_on) {
        return Py_NewRef(Py_None);
    }
    PyObject *list = PyList_New((Py_ssize_t)m->nsites);
    for (size_t i = 0; list != NULL && i < m->nsites; i++) {
        const pm_memit_site_t *s = &m->sites[i];
        double share = m->allocated_peak_bytes > 0
                           ? (double)s->bytes / (double)m->allocated_peak_bytes
                           : 0.0;
        PyObject *d = Py_BuildValue(
            "{s:s, s:s, s:z, s:z, s:z, s:z, s:K, s:d}", "where", s->where,
            "source", s->source != NULL ? s->source : "", "via_where",
            s->via_where, "via_source",
            s->via_where != NULL ? s->via_source : NULL, "statement_where",
            s->stmt_where, "statement_source",
            s->stmt_where != NULL ? s->stmt_source : NULL, "bytes",
            (unsigned long long)s->bytes, "share", share);
        if (d == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    return list;
}

static PyObject *peaks_mib(const pm_memit_t *m)
{
    PyObject *list = PyList_New((Py_ssize_t)m->n);
    for (size_t i = 0; list != NULL && i < m->n; i++) {
        PyObject *v = PyFloat_FromDouble((double)m->peak_bytes[i] / PM_MIB);
        if (v == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    return list;
}

/* [{"pid", "ppid", "command", "peak", "exited"}, ...] or None. */
static PyObject *children_list(const pm_memit_t *m)
{
    if (!m->include_children || m->sum_of_peaks_bytes == 0) {
        return Py_NewRef(Py_None);
    }
    PyObject *list = PyList_New((Py_ssize_t)m->nchildren);
    for (size_t i = 0; list != NULL && i < m->nchildren; i++) {
        const pm_memit_child_t *c = &m->children[i];
        PyObject *d = Py_BuildValue(
            "{s:i, s:i, s:s, s:K, s:O}", "pid", c->pid, "ppid", c->ppid,
            "command", c->command != NULL ? c->command : "", "peak",
            (unsigned long long)c->peak_bytes, "exited",
            c->exited ? Py_True : Py_False);
        if (d == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    return list;
}

PyObject *pm_memit_result_new(pm_state_t *st, const pm_memit_t *m,
                              PyObject *workers)
{
    MemitResultObject *self =
        (MemitResultObject *)result_alloc(st->memit_result_type);
    if (self == NULL) {
        return NULL;
    }
    uint64_t peak = pm_memit_peak(m);

    self->mem_usage = peaks_mib(m);
    self->baseline = PyFloat_FromDouble((double)m->baseline_bytes / PM_MIB);
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
    self->children = children_list(m);
    self->workers = Py_NewRef(workers != NULL ? workers : Py_None);
    self->sum_of_peaks =
        m->include_children && m->sum_of_peaks_bytes > 0
            ? PyLong_FromUnsignedLongLong(m->sum_of_peaks_bytes)
            : Py_NewRef(Py_None);
    self->allocated_peak_bytes =
        m->sites_on ? PyLong_FromUnsignedLongLong(m->allocated_peak_bytes)
                    : Py_NewRef(Py_None);
    self->sites = sites_list(m);
    self->base.text = str_from_malloced(pm_memit_render_text_full(m));
    self->base.html = str_from_malloced(pm_memit_render_html(m));
    self->base.json_text = json_str(pm_memit_to_json(m));
    self->base.mime = PyUnicode_FromString(PM_MIME_MEMIT);
    self->base.pretty =
        PyErr_Occurred() ? NULL : PyObject_Repr((PyObject *)self);
    return result_finish((PyObject *)self);
}

/* ---- MprunResult ------------------------------------------------------*/

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
    {"code_map", T_OBJECT_EX, offsetof(MprunResultObject, code_map),
     READONLY,
     "code object -> {line: (increment, mem, occurrences)} in MiB, as "
     "memory_profiler's LineProfiler.code_map: peakmem.show_results(r) "
     "prints it."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot mprun_result_slots[] =
    RESULT_SLOTS(mprun_result_repr, mprun_result_members,
                 "Result of %mprun -r: the line-by-line tables.");

static PyType_Spec mprun_result_spec =
    RESULT_SPEC("peakmem.MprunResult", MprunResultObject, mprun_result_slots);

int pm_mprun_result_type_init(PyObject *module, pm_state_t *st)
{
    return result_type_init(module, st, &mprun_result_spec, "MprunResult",
                            &st->mprun_result_type);
}

PyObject *pm_mprun_result_new(pm_state_t *st, const pm_mprun_t *m,
                              const char *text, PyObject *code_map)
{
    MprunResultObject *self =
        (MprunResultObject *)result_alloc(st->mprun_result_type);
    if (self == NULL) {
        return NULL;
    }
    self->statement = PyUnicode_FromString(m->statement);
    self->message = m->message != NULL ? PyUnicode_FromString(m->message)
                                       : Py_NewRef(Py_None);
    self->code_map = Py_NewRef(code_map);
    self->base.text = PyUnicode_FromString(text);
    self->base.html = str_from_malloced(pm_mprun_render_html(m));
    self->base.json_text = json_str(pm_mprun_to_json(m));
    self->base.mime = PyUnicode_FromString(PM_MIME_MPRUN);
    self->base.pretty = Py_XNewRef(self->base.text);
    return result_finish((PyObject *)self);
}
