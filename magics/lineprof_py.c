/* The line profiler behind %mprun, @profile and python -m peakmem: a C
 * trace function (PyEval_SetTrace) that feeds the plain-C bookkeeping of
 * kernel/tracer.c. Frames of profiled code objects are followed line by
 * line; every other frame has its line events turned off at its call
 * (f_trace_lines = False) so unprofiled code runs near full speed.
 * Tracing is per thread: the trace function reaches its profiler through
 * its own argument (as _lsprof passes its profiler object), never
 * through a global; each thread follows its own frames (threads may run
 * one profiler's code at once) and keeps its own nesting: a profiler
 * enabled while another is enabled in the same thread, and disabling it
 * puts back what that thread had before: the outer profiler, or a Python
 * trace function (debugger, coverage). On Python 3.12+ a thread's chain
 * runs on sys.monitoring instead (monitor_py.c: local events on the
 * targets only; the pm_lineprof_mon_* hooks below), with the same
 * nesting, tables and per-thread behaviour. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* One profiled code object. */
typedef struct {
    PyObject *code;     /* strong reference */
    PyObject *qualname; /* str */
    PyObject *filename; /* str */
    PyObject *lines;    /* list of source lines (linecache), or NULL */
    pm_linetable_t *table; /* nested code: a pm_linetable_new_nested */
    size_t top; /* the target whose block holds it (its own index) */
} target_t;

/* A traced frame in flight; frame is compared, never dereferenced: the
 * PyFrameObject (legacy hook) or the interpreter frame (sys.monitoring). */
typedef struct {
    const void *frame;
    pm_frame_state_t fs;
} slot_t;

struct pm_lineprof {
    target_t *targets;
    size_t ntargets, targets_cap;
    /* code object -> target, open addressing on the pointer */
    const PyObject **keys;
    size_t *vals;
    size_t cap; /* power of two */
    size_t untraced; /* profiled frames not followed because a stack
                        could not grow; reported (and reset) when the
                        profiler's last enable ends (GIL) */
    pm_tracer_t *tracer;
    uint64_t break_bytes; /* --pdb-mmem: debugger above this RSS */
    const void *owner;    /* pm_lineprof_set_owner, compared only */
    int threads;          /* threads with this profiler enabled (GIL) */
    int mon_threads;      /* of them, through sys.monitoring (GIL) */
};

/* One profiler enabled in one thread: the frames of its targets running
 * in that thread, innermost last, and its place in the thread's nesting
 * (the chain, innermost first). A Python object because it is the legacy
 * trace function's argument (the thread state holds a reference while it
 * is installed); a static type, so the trace function reads it without a
 * call. Only the owning thread reads or writes it (the chain is a
 * thread-local), and it holds the GIL when it does. */
struct pm_lineprof_thread {
    PyObject_HEAD
    pm_lineprof_t *lp;
    slot_t *stack;
    size_t depth, stack_cap;
    int count;                         /* nested enables of lp here */
    struct pm_lineprof_thread *outer; /* enabled before, in this thread */
    PyObject *prev_trace;              /* outermost only: the thread's own
                                          sys.gettrace() before (or None) */
    int monitored;                     /* the chain uses sys.monitoring
                                          (set by its outermost, on
                                          3.12+), not the legacy hook */
};

/* This thread's innermost; the chain holds a reference to each. */
static _Thread_local pm_lineprof_thread_t *chain;

static void thread_dealloc(PyObject *self)
{
    pm_lineprof_thread_t *th = (pm_lineprof_thread_t *)self;
    PyMem_Free(th->stack);
    Py_XDECREF(th->prev_trace);
    PyObject_Free(self);
}

static PyObject *thread_call(PyObject *self, PyObject *args, PyObject *kw);

static PyTypeObject thread_type = {
    PyVarObject_HEAD_INIT(NULL, 0) /* no comma: the macro has one */
    .tp_name = "peakmem._LineTrace",
    .tp_basicsize = sizeof(pm_lineprof_thread_t),
    .tp_dealloc = thread_dealloc,
    .tp_call = thread_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "A peakmem line profiler enabled in one thread: the argument "
              "of its trace function.",
};

/* A new state of s in the calling thread, enabled once, not yet in the
 * chain. NULL with an exception. GIL held. */
static pm_lineprof_thread_t *thread_new(pm_lineprof_t *s)
{
    if (PyType_Ready(&thread_type) < 0) {
        return NULL;
    }
    pm_lineprof_thread_t *th = PyObject_New(pm_lineprof_thread_t,
                                            &thread_type);
    if (th == NULL) {
        return NULL;
    }
    th->lp = s;
    th->stack = NULL;
    th->depth = th->stack_cap = 0;
    th->count = 1;
    th->outer = NULL;
    th->prev_trace = NULL;
    th->monitored = 0;
    return th;
}

/* Push a frame of target t (first: its code's first line) on th's stack
 * and start its bookkeeping. 0, or -1 when the stack cannot grow (the
 * frame goes untraced, counted). */
static int push_frame(pm_lineprof_thread_t *th, const void *frame,
                      const target_t *t, int first)
{
    if (th->depth == th->stack_cap) {
        size_t cap = th->stack_cap ? th->stack_cap * 2 : 64;
        slot_t *grown = PyMem_Realloc(th->stack, cap * sizeof *grown);
        if (grown == NULL) {
            th->lp->untraced++;
            return -1;
        }
        th->stack = grown;
        th->stack_cap = cap;
    }
    slot_t *slot = &th->stack[th->depth++];
    slot->frame = frame;
    pm_tracer_call(th->lp->tracer, &slot->fs, t->table, first);
    return 0;
}

/* The frame state of frame when it is on top of th's stack, else NULL. */
static pm_frame_state_t *top_frame(pm_lineprof_thread_t *th,
                                   const void *frame)
{
    return th->depth > 0 && th->stack[th->depth - 1].frame == frame
               ? &th->stack[th->depth - 1].fs
               : NULL;
}

/* Close the top frame of th's stack. */
static void pop_frame(pm_lineprof_thread_t *th)
{
    pm_tracer_return(th->lp->tracer, &th->stack[--th->depth].fs);
}

/* ---- target lookup ----------------------------------------------------*/

static size_t hash_ptr(const void *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static int index_targets(pm_lineprof_t *s)
{
    PyMem_Free(s->keys);
    PyMem_Free(s->vals);
    s->keys = NULL;
    s->vals = NULL;
    s->cap = 16;
    while (s->cap < s->ntargets * 2) {
        s->cap *= 2;
    }
    s->keys = PyMem_Calloc(s->cap, sizeof *s->keys);
    s->vals = PyMem_Calloc(s->cap, sizeof *s->vals);
    if (s->keys == NULL || s->vals == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < s->ntargets; i++) {
        size_t h = hash_ptr(s->targets[i].code, s->cap);
        while (s->keys[h] != NULL) {
            h = (h + 1) & (s->cap - 1);
        }
        s->keys[h] = s->targets[i].code;
        s->vals[h] = i;
    }
    return 0;
}

static target_t *find_target(const pm_lineprof_t *s, const PyObject *code)
{
    size_t h = hash_ptr(code, s->cap);
    while (s->keys[h] != NULL) {
        if (s->keys[h] == code) {
            return &s->targets[s->vals[h]];
        }
        h = (h + 1) & (s->cap - 1);
    }
    return NULL;
}

/* ---- the trace function (GIL held; never raises) -----------------------*/

static void stop_line_events(PyFrameObject *frame)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (PyObject_SetAttrString((PyObject *)frame, "f_trace_lines", Py_False) <
        0) {
        PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
}

/* A frame starts (or a generator resumes). Line events are turned off
 * only in frames that end before the profiler does: not in generators
 * and coroutines, whose frames outlive it and may be resumed under
 * another tracer (a debugger, coverage, a later profiler) that needs
 * their lines. */
static void on_call(pm_lineprof_thread_t *th, PyFrameObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode(frame);
    target_t *t = find_target(th->lp, (PyObject *)code);
    int followed = t != NULL &&
                   push_frame(th, frame, t, code->co_firstlineno) == 0;
    int resumable = (code->co_flags &
                     (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) != 0;
    Py_DECREF(code);
    if (!followed && !resumable) {
        stop_line_events(frame);
    }
}

/* obj is the state in this thread of the profiler enabled innermost here
 * (installed by pm_lineprof_enable; the thread state holds a reference),
 * so each thread's callbacks reach their own profiler and frames. Line
 * events come first: they are nearly all of the calls. */
static int trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)arg;
    pm_lineprof_thread_t *th = (pm_lineprof_thread_t *)obj;
    pm_lineprof_t *s = th->lp;
    if (what == PyTrace_LINE) {
        pm_frame_state_t *fs = top_frame(th, frame);
        if (fs != NULL) {
            pm_tracer_line(s->tracer, fs, PyFrame_GetLineNumber(frame));
            if (s->break_bytes > 0 && fs->line_start_rss > s->break_bytes) {
                uint64_t limit = s->break_bytes;
                s->break_bytes = 0; /* once */
                return pm_lineprof_break(frame, fs->line_start_rss, limit);
            }
        }
        /* else a frame that was running before the profiler was enabled
         * (the one that enabled it, a debugger's) or a generator: its
         * lines are left on, for whoever traces it after us */
        return 0;
    }
    switch (what) {
    case PyTrace_CALL:
        on_call(th, frame);
        break;
    case PyTrace_RETURN:
        if (top_frame(th, frame) != NULL) {
            pop_frame(th);
        }
        break;
    default:
        break;
    }
    return 0;
}

static int make_target(target_t *t, PyObject *code, const target_t *top)
{
    PyObject *linecache = PyImport_ImportModule("linecache");
    int first = 1, nlines = 1, rc;
    memset(t, 0, sizeof *t);
    t->code = Py_NewRef(code);
    t->qualname = PyObject_GetAttrString(code, "co_qualname");
    t->filename = PyObject_GetAttrString(code, "co_filename");
    if (linecache == NULL || t->qualname == NULL || t->filename == NULL) {
        Py_XDECREF(linecache);
        return -1;
    }
    if (top != NULL) { /* its lines are top's */
        Py_DECREF(linecache);
        t->lines = Py_XNewRef(top->lines);
        rc = pm_linetable_new_nested(top->table, &t->table);
        return rc < 0 ? (pm_py_raise(rc), -1) : 0;
    }
    PyObject *raw =
        PyObject_CallMethod(linecache, "getlines", "O", t->filename);
    Py_DECREF(linecache);
    /* The lines without their line ends, for the report. */
    Py_ssize_t n = raw != NULL && PyList_Check(raw) ? PyList_GET_SIZE(raw) : 0;
    t->lines = raw != NULL && PyList_Check(raw) ? PyList_New(n) : NULL;
    for (Py_ssize_t i = 0; t->lines != NULL && i < n; i++) {
        PyObject *line = PyObject_CallMethod(PyList_GET_ITEM(raw, i), "rstrip",
                                             "s", "\r\n");
        if (line == NULL) {
            Py_CLEAR(t->lines);
            break;
        }
        PyList_SET_ITEM(t->lines, i, line);
    }
    Py_XDECREF(raw);
    PyErr_Clear();
    pm_code_line_range(code, &first, &nlines);
    if ((rc = pm_linetable_new(first, nlines, &t->table)) < 0) {
        pm_py_raise(rc);
        return -1;
    }
    return 0;
}

void pm_lineprof_free(pm_lineprof_t *s)
{
    if (s == NULL) {
        return;
    }
    /* Callers disable before they free; a profiler still enabled in
     * this thread is taken out of its nesting here. Another thread
     * cannot have it enabled: each caller enables and disables around a
     * call it holds the profiler for. */
    for (pm_lineprof_thread_t *r = chain; r != NULL; r = r->outer) {
        if (r->lp == s) {
            r->count = 1;
            pm_lineprof_disable(s);
            break;
        }
    }
    for (size_t i = 0; i < s->ntargets; i++) {
        target_t *t = &s->targets[i];
        Py_XDECREF(t->code);
        Py_XDECREF(t->qualname);
        Py_XDECREF(t->filename);
        Py_XDECREF(t->lines);
        pm_linetable_free(t->table);
    }
    PyMem_Free(s->targets);
    PyMem_Free(s->keys);
    PyMem_Free(s->vals);
    pm_tracer_free(s->tracer);
    PyMem_Free(s);
}

size_t pm_lineprof_ntargets(const pm_lineprof_t *s)
{
    return s->ntargets;
}

void pm_lineprof_target(const pm_lineprof_t *s, size_t i,
                        pm_lineprof_view_t *v)
{
    const target_t *t = &s->targets[i];
    *v = (pm_lineprof_view_t){
        .code = t->code,
        .qualname = t->qualname,
        .filename = t->filename,
        .lines = t->lines,
        .table = t->table,
        .top = t->top,
    };
}

pm_lineprof_t *pm_lineprof_new(const pm_tracer_opts_t *opts)
{
    pm_lineprof_t *s = PyMem_Calloc(1, sizeof *s);
    int rc;
    if (s == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if ((rc = pm_tracer_new(opts, &s->tracer)) < 0 || index_targets(s) < 0) {
        if (rc < 0) {
            pm_py_raise(rc);
        }
        pm_lineprof_free(s);
        return NULL;
    }
    return s;
}

/* Add code as a target; top: the index of the target whose block holds
 * it, or -1 for a block of its own. 0 or -1. */
static int add_target(pm_lineprof_t *s, PyObject *code, long top)
{
    if (s->ntargets == s->targets_cap) {
        size_t cap = s->targets_cap ? s->targets_cap * 2 : 8;
        target_t *grown = PyMem_Realloc(s->targets, cap * sizeof *grown);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        s->targets = grown;
        s->targets_cap = cap;
    }
    target_t *t = &s->targets[s->ntargets];
    if (make_target(t, code, top >= 0 ? &s->targets[top] : NULL) < 0) {
        Py_XDECREF(t->code);
        Py_XDECREF(t->qualname);
        Py_XDECREF(t->filename);
        Py_XDECREF(t->lines);
        return -1;
    }
    t->top = top >= 0 ? (size_t)top : s->ntargets;
    s->ntargets++;
    if (index_targets(s) < 0) {
        return -1;
    }
    /* Added while enabled through sys.monitoring: watched from now. */
    for (int i = 0; i < s->mon_threads; i++) {
        if (pm_monitor_watch(code, 1) < 0) {
            return -1;
        }
    }
    return 0;
}

/* code and, as memory_profiler, the code nested in it (its lines shown
 * in code's table). */
int pm_lineprof_add(pm_lineprof_t *s, PyObject *code)
{
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "not a code object");
        return -1;
    }
    if (find_target(s, code) != NULL) {
        return 0;
    }
    long top = (long)s->ntargets;
    PyObject *nested = PyList_New(0);
    int rc = nested != NULL && add_target(s, code, -1) == 0 &&
                     pm_code_nested(code, nested) == 0
                 ? 0
                 : -1;
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(nested); i++) {
        PyObject *c = PyList_GET_ITEM(nested, i);
        rc = find_target(s, c) != NULL ? 0 : add_target(s, c, top);
    }
    Py_XDECREF(nested);
    return rc;
}

/* sys.gettrace() gives this object while the profiler traces the thread,
 * so `old = sys.gettrace(); ...; sys.settrace(old)` makes Python call it
 * as a trace function. The first call puts the C trace function back (as
 * coverage's CTracer does) for this thread's innermost profiler and
 * passes the event on; lines of the running frame between settrace and
 * the next call are not seen. Where the thread has no profiler on the
 * legacy hook any more, it takes itself out (self is never read: its
 * profiler may be gone). */
static PyObject *thread_call(PyObject *self, PyObject *args, PyObject *kw)
{
    static const char *const events[] = {"call", "line", "return"};
    static const int whats[] = {PyTrace_CALL, PyTrace_LINE, PyTrace_RETURN};
    PyObject *frame, *arg;
    const char *event;
    if (kw != NULL && PyDict_GET_SIZE(kw) > 0) {
        PyErr_SetString(PyExc_TypeError,
                        "peakmem._LineTrace takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!sO:peakmem._LineTrace", &PyFrame_Type,
                          &frame, &event, &arg)) {
        return NULL;
    }
    Py_INCREF(self); /* the thread state's reference goes below */
    int rc = 0;
    if (chain == NULL || chain->monitored) {
        PyEval_SetTrace(NULL, NULL);
    } else {
        PyEval_SetTrace(trace, (PyObject *)chain);
        for (size_t i = 0; i < sizeof whats / sizeof whats[0]; i++) {
            if (strcmp(event, events[i]) == 0) {
                rc = trace((PyObject *)chain, (PyFrameObject *)frame,
                           whats[i], arg);
                break;
            }
        }
    }
    Py_DECREF(self);
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- the sys.monitoring backend's hooks (monitor_py.c) ----------------*/

/* Watch (delta 1) or unwatch (-1) every target of s. 0 or -1 (a watch
 * that failed is undone). GIL held. */
static int mon_watch_all(pm_lineprof_t *s, int delta)
{
    for (size_t i = 0; i < s->ntargets; i++) {
        if (pm_monitor_watch(s->targets[i].code, delta) < 0) {
            while (delta > 0 && i-- > 0) {
                pm_monitor_watch(s->targets[i].code, -delta);
            }
            return -1;
        }
    }
    return 0;
}

/* The hooks get th from the callbacks' list of threads (monitor_py.c):
 * the innermost of the calling thread's chain, kept by enable and
 * disable through pm_monitor_set_owner. Code watched for another
 * profiler is no target of th's, and a frame th did not enter is not on
 * top of its stack: both are passed over. */
void pm_lineprof_mon_enter(pm_lineprof_thread_t *th, PyObject *code,
                           const void *frame)
{
    target_t *t = find_target(th->lp, code);
    if (t != NULL) {
        (void)push_frame(th, frame, t, ((PyCodeObject *)code)->co_firstlineno);
    }
}

void pm_lineprof_mon_leave(pm_lineprof_thread_t *th, const void *frame)
{
    if (top_frame(th, frame) != NULL) {
        pop_frame(th);
    }
}

int pm_lineprof_mon_line(pm_lineprof_thread_t *th, const void *frame,
                         int line)
{
    pm_lineprof_t *s = th->lp;
    pm_frame_state_t *fs = top_frame(th, frame);
    if (fs != NULL) {
        pm_tracer_line(s->tracer, fs, line);
        if (s->break_bytes > 0 && fs->line_start_rss > s->break_bytes) {
            uint64_t limit = s->break_bytes;
            s->break_bytes = 0; /* once */
            return pm_lineprof_break(PyEval_GetFrame(), fs->line_start_rss,
                                     limit);
        }
    }
    return 0;
}

static pm_lineprof_thread_t *find_rec(const pm_lineprof_t *s)
{
    for (pm_lineprof_thread_t *r = chain; r != NULL; r = r->outer) {
        if (r->lp == s) {
            return r;
        }
    }
    return NULL;
}

int pm_lineprof_enabled(const pm_lineprof_t *s, int *threads)
{
    const pm_lineprof_thread_t *r = find_rec(s);
    *threads = s->threads;
    return r != NULL ? r->count : 0;
}

int pm_lineprof_enable(pm_lineprof_t *s)
{
    pm_lineprof_thread_t *r = find_rec(s);
    if (r != NULL) {
        r->count++;
        return 0;
    }
    r = thread_new(s);
    if (r == NULL) {
        return -1;
    }
    int m = chain != NULL ? chain->monitored : pm_monitor_acquire();
    if (m < 0 || (m == 1 && mon_watch_all(s, 1) < 0)) {
        if (m == 1 && chain == NULL) {
            pm_monitor_release();
        }
        Py_DECREF(r);
        return -1;
    }
    r->monitored = m;
    if (chain == NULL && !m) {
        /* The thread's own Python trace function, put back at the end. */
        PyObject *sys = PyImport_ImportModule("sys");
        r->prev_trace =
            sys != NULL ? PyObject_CallMethod(sys, "gettrace", NULL) : NULL;
        Py_XDECREF(sys);
        if (r->prev_trace == NULL) {
            Py_DECREF(r);
            return -1;
        }
    }
    r->outer = chain;
    chain = r;
    s->threads++;
    if (m) {
        s->mon_threads++;
        if (pm_monitor_set_owner(r) < 0) {
            r->count = 1;
            pm_lineprof_disable(s);
            return -1;
        }
        return 0;
    }
    PyEval_SetTrace(trace, (PyObject *)r);
    return 0;
}

/* The trace function never raises: frames it could not follow are
 * counted, and said here, once tracing is over, as a RuntimeWarning (an
 * unraisable error where warnings are errors: disable keeps the
 * statement's own exception). GIL held, no exception set. */
static void report_untraced(pm_lineprof_t *s)
{
    if (s->untraced == 0) {
        return;
    }
    char msg[200];
    pm_fmt(msg, sizeof msg,
           "peakmem: %zu call(s) of profiled functions went untraced (no "
           "memory for the frame stack); their lines are missing from the "
           "table",
           s->untraced);
    s->untraced = 0;
    if (PyErr_WarnEx(PyExc_RuntimeWarning, msg, 1) < 0) {
        PyErr_WriteUnraisable(NULL);
    }
}

void pm_lineprof_disable(pm_lineprof_t *s)
{
    pm_lineprof_thread_t *r = find_rec(s), **link;
    if (r == NULL || --r->count > 0) {
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    /* Unlink r; enables are nested, so r is normally the innermost. */
    for (link = &chain; *link != r; link = &(*link)->outer) {
    }
    *link = r->outer;
    if (r->outer == NULL && chain != NULL) {
        /* r was the outermost but not the innermost: the thread's own
         * trace function now goes back when the new outermost ends. */
        pm_lineprof_thread_t *q = chain;
        while (q->outer != NULL) {
            q = q->outer;
        }
        q->prev_trace = r->prev_trace;
        r->prev_trace = NULL;
    }
    /* Frames still on this thread's stack were unwound without a
     * return event only if tracing was cut short; close them so their
     * lines are complete. */
    while (r->depth > 0) {
        pop_frame(r);
    }
    if (--s->threads == 0) {
        report_untraced(s);
    }
    if (r->monitored) {
        s->mon_threads--;
        /* Shrinking the list never fails. */
        pm_monitor_set_owner(chain);
        if (mon_watch_all(s, -1) < 0) {
            PyErr_WriteUnraisable(NULL);
        }
        if (chain == NULL) {
            pm_monitor_release();
        }
    } else if (chain != NULL) {
        /* An outer profiler of this thread takes over again. */
        PyEval_SetTrace(trace, (PyObject *)chain);
    } else if (r->prev_trace != NULL && r->prev_trace != Py_None) {
        PyObject *sys = PyImport_ImportModule("sys");
        PyObject *res = sys != NULL ? PyObject_CallMethod(sys, "settrace",
                                                          "O", r->prev_trace)
                                    : NULL;
        if (res == NULL) {
            PyErr_WriteUnraisable(r->prev_trace);
            PyEval_SetTrace(NULL, NULL);
        }
        Py_XDECREF(res);
        Py_XDECREF(sys);
    } else {
        PyEval_SetTrace(NULL, NULL);
    }
    Py_CLEAR(r->prev_trace);
    Py_DECREF(r); /* the chain's reference */
    PyErr_Restore(type, value, tb);
}

void pm_lineprof_set_break(pm_lineprof_t *s, uint64_t bytes)
{
    s->break_bytes = bytes;
}

void pm_lineprof_set_owner(pm_lineprof_t *s, const void *owner)
{
    s->owner = owner;
}

int pm_lineprof_owner_enabled(const void *owner)
{
    for (const pm_lineprof_thread_t *r = chain; r != NULL; r = r->outer) {
        if (r->lp->owner == owner) {
            return 1;
        }
    }
    return 0;
}
