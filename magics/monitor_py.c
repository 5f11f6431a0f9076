/* The line profiler's sys.monitoring (PEP 669) backend, Python 3.12+: one
 * tool id for all of peakmem's profilers, C callbacks for the start,
 * return and line events, and those events enabled as local events on
 * the profiled code objects only, so unprofiled code runs free.
 * Monitoring is process-wide while peakmem traces per thread: the
 * callbacks' self (a MonitorObject) lists the threads with a profiler
 * enabled and each one's innermost profiler; a callback compares the
 * calling thread's state with that list and hands the event to that
 * profiler (lineprof_py.c's pm_lineprof_mon_* hooks), or passes over it
 * in a thread that profiles nothing, as the legacy hook never saw it
 * there. Below 3.12 every entry point says "not available" and the
 * profiler keeps the legacy trace hook (PyEval_SetTrace). */
#include "internal.h"

#if PY_VERSION_HEX >= 0x030C0000

/* The events and how each reaches the profiler. Start, resume and throw
 * enter a frame (the legacy hook's call event), return, yield and unwind
 * leave it; a backward jump to the same line is a line event, as the
 * legacy hook reports it (a one-line loop counts every pass). */
enum { EV_START, EV_RESUME, EV_THROW, EV_RETURN, EV_YIELD, EV_UNWIND,
       EV_LINE, EV_JUMP, NEV };

static const char *const event_names[NEV] = {
    "PY_START", "PY_RESUME", "PY_THROW", "PY_RETURN",
    "PY_YIELD", "PY_UNWIND", "LINE",     "JUMP",
};

/* Process-wide state, protected by the GIL. */
static int tool = -1;            /* the claimed tool id, or -1 */
static int users;                /* threads whose profilers use it */
static int warned;               /* all ids taken: said once */
static long event_bits[NEV];     /* sys.monitoring.events.* */
static long local_events;        /* set on each watched code object */
static PyObject *disable;        /* sys.monitoring.DISABLE */
static PyObject *watched;        /* {id(code): [code, count]} */

/* A thread with a profiler enabled through sys.monitoring. */
typedef struct {
    const PyThreadState *ts;  /* compared, never dereferenced */
    uint64_t id;              /* ts->id: a thread state freed with its
                                 thread still listed (it ended with a
                                 profiler enabled) and another made at
                                 its address differ in it */
    pm_lineprof_thread_t *th; /* its innermost profiler's state there */
} owner_t;

/* The callbacks' self: made once, kept for the process (GIL). */
typedef struct {
    PyObject_HEAD owner_t *owners;
    size_t nowners, cap;
} MonitorObject;

static PyTypeObject monitor_type = {
    PyVarObject_HEAD_INIT(NULL, 0) /* no comma: the macro has one */
    .tp_name = "peakmem._Monitor",
    .tp_basicsize = sizeof(MonitorObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "The self of peakmem's sys.monitoring callbacks.",
};

static MonitorObject *monitor; /* strong reference, never dropped */

/* The calling thread's innermost profiler (its state in this thread),
 * or NULL. */
static pm_lineprof_thread_t *owner_th(PyObject *self, const PyThreadState *ts)
{
    const MonitorObject *m = (const MonitorObject *)self;
    for (size_t i = 0; i < m->nowners; i++) {
        if (m->owners[i].ts == ts) {
            return m->owners[i].id == ts->id ? m->owners[i].th : NULL;
        }
    }
    return NULL;
}

int pm_monitor_set_owner(pm_lineprof_thread_t *th)
{
    MonitorObject *m = monitor;
    const PyThreadState *ts = PyThreadState_Get();
    size_t i = 0;
    while (i < m->nowners && m->owners[i].ts != ts) {
        i++;
    }
    if (th == NULL) {
        if (i < m->nowners) {
            m->owners[i] = m->owners[--m->nowners];
        }
        return 0;
    }
    if (i == m->nowners) {
        if (m->nowners == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 4;
            owner_t *grown = PyMem_Realloc(m->owners, cap * sizeof *grown);
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            m->owners = grown;
            m->cap = cap;
        }
        m->owners[m->nowners++].ts = ts;
    }
    m->owners[i].id = ts->id; /* a dead thread's entry is taken over */
    m->owners[i].th = th;
    return 0;
}

/* The running frame of ts, compared, never dereferenced: the
 * interpreter frame (a generator's lives in the generator, so it stays
 * the same across resumes). Reading it needs no call into Python and no
 * allocation, unlike PyEval_GetFrame's frame object. */
static const void *frame_id(const PyThreadState *ts)
{
#if PY_VERSION_HEX >= 0x030D0000
    return ts->current_frame;
#else
    return ts->cframe->current_frame;
#endif
}

/* ---- the callbacks (GIL held; never raise, no Python call) -----------*/

static PyObject *cb_enter(PyObject *self, PyObject *const *args,
                          Py_ssize_t nargs)
{
    const PyThreadState *ts = PyThreadState_Get();
    pm_lineprof_thread_t *th = owner_th(self, ts);
    if (th != NULL && nargs >= 1) {
        pm_lineprof_mon_enter(th, args[0], frame_id(ts));
    }
    Py_RETURN_NONE;
}

static PyObject *cb_leave(PyObject *self, PyObject *const *args,
                          Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    const PyThreadState *ts = PyThreadState_Get();
    pm_lineprof_thread_t *th = owner_th(self, ts);
    if (th != NULL) {
        pm_lineprof_mon_leave(th, frame_id(ts));
    }
    Py_RETURN_NONE;
}

/* A line number argument: an int that fits in a digit, read inline. */
static int line_arg(PyObject *v)
{
    if (PyLong_CheckExact(v) &&
        PyUnstable_Long_IsCompact((PyLongObject *)v)) {
        Py_ssize_t line = PyUnstable_Long_CompactValue((PyLongObject *)v);
        return line > 0 && line <= INT_MAX ? (int)line : 0;
    }
    long line = PyLong_AsLong(v);
    if (line == -1) {
        PyErr_Clear();
    }
    return line > 0 && line <= INT_MAX ? (int)line : 0;
}

static PyObject *cb_line(PyObject *self, PyObject *const *args,
                         Py_ssize_t nargs)
{
    const PyThreadState *ts = PyThreadState_Get();
    pm_lineprof_thread_t *th = owner_th(self, ts);
    int line = th != NULL && nargs >= 2 ? line_arg(args[1]) : 0;
    if (line > 0 && pm_lineprof_mon_line(th, frame_id(ts), line) < 0) {
        return NULL; /* --pdb-mmem: the user quit pdb (BdbQuit) */
    }
    Py_RETURN_NONE;
}

/* The last same-line backward jump seen (GIL): a loop's back edge fires
 * on every pass, and looking its line up once is enough. */
static const void *jump_code;
static long jump_from = -1, jump_to = -1;
static int jump_line;

/* JUMP (code, from, to), offsets in bytes. Forward jumps and jumps to
 * another line (that line's LINE event reports it) are switched off for
 * good at their location: that holds for every thread and profiler. */
static PyObject *cb_jump(PyObject *self, PyObject *const *args,
                         Py_ssize_t nargs)
{
    if (nargs < 3 || !PyCode_Check(args[0])) {
        Py_RETURN_NONE;
    }
    long from = PyLong_AsLong(args[1]), to = PyLong_AsLong(args[2]);
    if (from < 0 || to < 0 || from > INT_MAX || to > INT_MAX) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (args[0] != jump_code || from != jump_from || to != jump_to) {
        PyCodeObject *code = (PyCodeObject *)args[0];
        int to_line = PyCode_Addr2Line(code, (int)to);
        if (to > from || to_line != PyCode_Addr2Line(code, (int)from)) {
            return Py_NewRef(disable);
        }
        jump_code = args[0];
        jump_from = from;
        jump_to = to;
        jump_line = to_line;
    }
    const PyThreadState *ts = PyThreadState_Get();
    pm_lineprof_thread_t *th = owner_th(self, ts);
    if (th != NULL && jump_line > 0 &&
        pm_lineprof_mon_line(th, frame_id(ts), jump_line) < 0) {
        return NULL; /* --pdb-mmem: the user quit pdb (BdbQuit) */
    }
    Py_RETURN_NONE;
}

static PyObject *cb_noop(PyObject *self, PyObject *const *args,
                         Py_ssize_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    Py_RETURN_NONE;
}

#define CB(name, fn)                                                        \
    {name, (PyCFunction)(void (*)(void))fn, METH_FASTCALL, NULL}
static PyMethodDef cb_defs[NEV] = {
    CB("peakmem_start", cb_enter),   CB("peakmem_resume", cb_enter),
    CB("peakmem_throw", cb_enter),   CB("peakmem_return", cb_leave),
    CB("peakmem_yield", cb_leave),   CB("peakmem_unwind", cb_leave),
    CB("peakmem_line", cb_line),     CB("peakmem_jump", cb_jump),
};
static PyMethodDef noop_def = CB("peakmem_noop", cb_noop);

/* ---- claiming and giving back the tool id (GIL held) -----------------*/

static PyObject *monitoring(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *mon = sys != NULL ? PyObject_GetAttrString(sys, "monitoring")
                                : NULL;
    Py_XDECREF(sys);
    return mon;
}

/* Tool ids tried, the profiler's own first. 0 and 1 (debugger,
 * coverage) are left to those tools. */
static const int tool_ids[] = {2, 3, 4, 5};

/* Claim a free tool id as name into *id. 1 claimed, 0 all taken, -1. */
static int claim(PyObject *mon, const char *name, int *id)
{
    for (size_t i = 0; i < sizeof tool_ids / sizeof tool_ids[0]; i++) {
        PyObject *r =
            PyObject_CallMethod(mon, "use_tool_id", "is", tool_ids[i], name);
        if (r != NULL) {
            Py_DECREF(r);
            *id = tool_ids[i];
            return 1;
        }
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) {
            return -1;
        }
        PyErr_Clear();
    }
    return 0;
}

static int call_ok(PyObject *r)
{
    Py_XDECREF(r);
    return r != NULL ? 0 : -1;
}

/* Undo claim: events off, callbacks gone, id free. Keeps a pending
 * exception; errors here are unraisable. */
static void unclaim(PyObject *mon, int id, int with_callbacks)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    int rc = call_ok(PyObject_CallMethod(mon, "set_events", "ii", id, 0));
    for (int e = 0; rc == 0 && with_callbacks && e < NEV; e++) {
        rc = call_ok(PyObject_CallMethod(mon, "register_callback", "ilO",
                                         id, event_bits[e], Py_None));
    }
    if (rc < 0 ||
        call_ok(PyObject_CallMethod(mon, "free_tool_id", "i", id)) < 0) {
        PyErr_WriteUnraisable(mon);
    }
    PyErr_Restore(type, value, tb);
}

static int load_events(PyObject *mon)
{
    PyObject *events = PyObject_GetAttrString(mon, "events");
    if (events == NULL) {
        return -1;
    }
    local_events = 0;
    for (int e = 0; e < NEV; e++) {
        PyObject *v = PyObject_GetAttrString(events, event_names[e]);
        event_bits[e] = v != NULL ? PyLong_AsLong(v) : -1;
        Py_XDECREF(v);
        if (event_bits[e] < 0) {
            Py_DECREF(events);
            return -1;
        }
        if (e != EV_THROW && e != EV_UNWIND) {
            local_events |= event_bits[e];
        }
    }
    Py_DECREF(events);
    if (disable == NULL) {
        disable = PyObject_GetAttrString(mon, "DISABLE");
    }
    if (watched == NULL) {
        watched = PyDict_New();
    }
    if (monitor == NULL && PyType_Ready(&monitor_type) == 0) {
        monitor = PyObject_New(MonitorObject, &monitor_type);
        if (monitor != NULL) {
            monitor->owners = NULL;
            monitor->nowners = monitor->cap = 0;
        }
    }
    return disable != NULL && watched != NULL && monitor != NULL ? 0 : -1;
}

int pm_monitor_acquire(void)
{
    if (users > 0) {
        users++;
        return 1;
    }
    PyObject *mon = monitoring();
    int rc = mon != NULL && load_events(mon) == 0
                 ? claim(mon, "peakmem", &tool)
                 : -1;
    for (int e = 0; rc == 1 && e < NEV; e++) {
        PyObject *cb = PyCFunction_New(&cb_defs[e], (PyObject *)monitor);
        rc = cb != NULL ? call_ok(PyObject_CallMethod(
                              mon, "register_callback", "ilO", tool,
                              event_bits[e], cb))
                        : -1;
        Py_XDECREF(cb);
        rc = rc == 0 ? 1 : -1;
    }
    /* Throw and unwind are not local events: they are on for all code,
     * and a frame no profiler entered is passed over. */
    if (rc == 1 &&
        call_ok(PyObject_CallMethod(mon, "set_events", "il", tool,
                                    event_bits[EV_THROW] |
                                        event_bits[EV_UNWIND])) < 0) {
        rc = -1;
    }
    if (rc < 0 && tool >= 0) {
        unclaim(mon, tool, 1);
    }
    if (rc == 0 && !warned) {
        warned = 1;
        rc = PyErr_WarnEx(PyExc_RuntimeWarning,
                          "peakmem: every sys.monitoring tool id (2-5) is "
                          "taken; the line profiler uses the legacy trace "
                          "hook (sys.settrace's) instead",
                          1) < 0
                 ? -1
                 : 0;
    }
    if (rc != 1) {
        tool = -1;
    } else {
        users = 1;
    }
    Py_XDECREF(mon);
    return rc;
}

void pm_monitor_release(void)
{
    if (users == 0 || --users > 0) {
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *mon = monitoring();
    if (mon != NULL) {
        unclaim(mon, tool, 1);
        Py_DECREF(mon);
    } else {
        PyErr_WriteUnraisable(NULL);
    }
    tool = -1;
    jump_code = NULL;
    PyErr_Restore(type, value, tb);
}

int pm_monitor_watch(PyObject *code, int delta)
{
    PyObject *key = PyLong_FromVoidPtr(code);
    PyObject *mon = monitoring();
    PyObject *entry = key != NULL ? PyDict_GetItemWithError(watched, key)
                                  : NULL;
    long count = 0, events = -1;
    int rc = -1;
    if (mon == NULL || (entry == NULL && PyErr_Occurred())) {
        goto done;
    }
    if (entry != NULL) {
        count = PyLong_AsLong(PyList_GET_ITEM(entry, 1));
    }
    if (count == 0 && delta > 0) {
        events = local_events;
    } else if (count > 0 && count + delta <= 0) {
        events = 0;
    }
    if (events >= 0 &&
        call_ok(PyObject_CallMethod(mon, "set_local_events", "iOl", tool,
                                    code, events)) < 0) {
        goto done;
    }
    count += delta;
    if (count <= 0) {
        rc = entry != NULL ? PyDict_DelItem(watched, key) : 0;
    } else {
        PyObject *n = PyLong_FromLong(count);
        PyObject *e = n != NULL ? PyList_New(2) : NULL;
        if (e != NULL) {
            PyList_SET_ITEM(e, 0, Py_NewRef(code));
            PyList_SET_ITEM(e, 1, Py_NewRef(n));
            rc = PyDict_SetItem(watched, key, e);
            Py_DECREF(e);
        }
        Py_XDECREF(n);
    }
done:
    Py_XDECREF(mon);
    Py_XDECREF(key);
    return rc;
}

const char *pm_monitor_backend(void)
{
    if (users > 0) {
        return "sys.monitoring";
    }
    PyObject *mon = monitoring();
    const char *name = NULL;
    for (size_t i = 0;
         mon != NULL && name == NULL && i < sizeof tool_ids / sizeof *tool_ids;
         i++) {
        PyObject *r = PyObject_CallMethod(mon, "get_tool", "i", tool_ids[i]);
        if (r == Py_None) {
            name = "sys.monitoring";
        }
        Py_XDECREF(r);
    }
    PyErr_Clear();
    Py_XDECREF(mon);
    return name != NULL ? name : "settrace";
}

/* ---- the bench's floor ------------------------------------------------*/

PyObject *pm_call_with_noop_monitor(PyObject *module, PyObject *const *args,
                                    Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyCode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "_call_with_noop_monitor(code, callable)");
        return NULL;
    }
    PyObject *mon = monitoring();
    PyObject *cb = PyCFunction_New(&noop_def, NULL);
    PyObject *res = NULL;
    int id = -1, rc = mon != NULL && cb != NULL && load_events(mon) == 0
                          ? claim(mon, "peakmem-bench", &id)
                          : -1;
    if (rc == 0) {
        PyErr_SetString(PyExc_RuntimeError, "no free sys.monitoring tool id");
    }
    const int evs[] = {EV_START, EV_RESUME, EV_RETURN, EV_YIELD, EV_LINE};
    long bits = 0;
    for (size_t i = 0; rc == 1 && i < sizeof evs / sizeof evs[0]; i++) {
        bits |= event_bits[evs[i]];
        rc = call_ok(PyObject_CallMethod(mon, "register_callback", "ilO", id,
                                         event_bits[evs[i]], cb)) == 0
                 ? 1
                 : -1;
    }
    if (rc == 1 && call_ok(PyObject_CallMethod(mon, "set_local_events",
                                               "iOl", id, args[0], bits)) ==
                       0) {
        res = PyObject_CallNoArgs(args[1]);
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (call_ok(PyObject_CallMethod(mon, "set_local_events", "iOi", id,
                                        args[0], 0)) < 0) {
            PyErr_WriteUnraisable(mon);
        }
        PyErr_Restore(type, value, tb);
    }
    if (id >= 0) {
        unclaim(mon, id, 1);
    }
    Py_XDECREF(cb);
    Py_XDECREF(mon);
    return res;
}

#else /* Python < 3.12: no sys.monitoring */

int pm_monitor_acquire(void)
{
    return 0;
}

int pm_monitor_set_owner(pm_lineprof_thread_t *th)
{
    (void)th;
    return 0;
}

void pm_monitor_release(void)
{
}

int pm_monitor_watch(PyObject *code, int delta)
{
    (void)code;
    (void)delta;
    return 0;
}

const char *pm_monitor_backend(void)
{
    return "settrace";
}

PyObject *pm_call_with_noop_monitor(PyObject *module, PyObject *const *args,
                                    Py_ssize_t nargs)
{
    (void)module;
    (void)args;
    (void)nargs;
    PyErr_SetString(PyExc_NotImplementedError,
                    "sys.monitoring needs Python 3.12 or later");
    return NULL;
}

#endif
