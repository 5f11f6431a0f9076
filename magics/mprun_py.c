/* %mprun and %%mprun: line-by-line memory of chosen functions, with
 * memory_profiler 0.61's options (-f, -T, -r, -c) and text, plus --peak.
 * A C trace function (PyEval_SetTrace) feeds the plain-C bookkeeping of
 * kernel/tracer.c: frames of profiled code objects are followed line by
 * line; every other frame has its line events turned off at its call
 * (f_trace_lines = False) so unprofiled code runs near full speed. The
 * tracer is always removed afterwards and a trace function installed
 * before (debugger, coverage) is put back. Only the thread that runs the
 * statement is traced. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const pm_optdef_t mprun_optdefs[] = {
    {'f', NULL, 1}, {'T', NULL, 1}, {'r', NULL, 0}, {'c', NULL, 0},
    {0, "peak", 0}, {0, NULL, 0},
};

/* One profiled code object. */
typedef struct {
    PyObject *code;       /* strong reference */
    PyObject *qualname;   /* str */
    PyObject *filename;   /* str */
    PyObject *lines;      /* list of source lines (linecache), or NULL */
    pm_linetable_t *table;
} target_t;

/* A traced frame in flight; frame is compared, never dereferenced. */
typedef struct {
    const PyFrameObject *frame;
    pm_frame_state_t fs;
} slot_t;

typedef struct {
    target_t *targets;
    size_t ntargets;
    /* code object -> target, open addressing on the pointer */
    const PyObject **keys;
    size_t *vals;
    size_t cap; /* power of two */
    slot_t *stack;
    size_t depth, stack_cap;
    int overflow; /* the stack could not grow: frames went untraced */
    pm_tracer_t *tracer;
} session_t;

/* ---- target lookup ----------------------------------------------------*/

static size_t hash_ptr(const void *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static int index_targets(session_t *s)
{
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

static target_t *find_target(const session_t *s, const PyObject *code)
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
    if (PyObject_SetAttrString((PyObject *)frame, "f_trace_lines",
                               Py_False) < 0) {
        PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
}

static void on_call(session_t *s, PyFrameObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode(frame);
    target_t *t = find_target(s, (PyObject *)code);
    int first = code->co_firstlineno;
    Py_DECREF(code);
    if (t == NULL) {
        stop_line_events(frame);
        return;
    }
    if (s->depth == s->stack_cap) {
        size_t cap = s->stack_cap ? s->stack_cap * 2 : 64;
        slot_t *grown = PyMem_Realloc(s->stack, cap * sizeof *grown);
        if (grown == NULL) {
            s->overflow = 1;
            stop_line_events(frame);
            return;
        }
        s->stack = grown;
        s->stack_cap = cap;
    }
    slot_t *slot = &s->stack[s->depth++];
    slot->frame = frame;
    pm_tracer_call(s->tracer, &slot->fs, t->table, first);
}

/* The session being traced. Tracing is per thread and only the thread
 * running %mprun installs trace(), under the GIL; a %mprun inside a
 * profiled statement is refused (see run_mprun), so one is enough. */
static session_t *active;

static int trace(PyObject *obj, PyFrameObject *frame, int what,
                 PyObject *arg)
{
    (void)obj;
    (void)arg;
    session_t *s = active;
    switch (what) {
    case PyTrace_CALL:
        on_call(s, frame);
        break;
    case PyTrace_LINE:
        if (s->depth > 0 && s->stack[s->depth - 1].frame == frame) {
            pm_tracer_line(s->tracer, &s->stack[s->depth - 1].fs,
                           PyFrame_GetLineNumber(frame));
        } else {
            stop_line_events(frame);
        }
        break;
    case PyTrace_RETURN:
        if (s->depth > 0 && s->stack[s->depth - 1].frame == frame) {
            pm_tracer_return(s->tracer, &s->stack[--s->depth].fs);
        }
        break;
    default:
        break;
    }
    return 0;
}

/* For benchmarks: a trace function that does nothing, the interpreter's
 * floor for any C line tracer. */
static int trace_noop(PyObject *obj, PyFrameObject *frame, int what,
                      PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    return 0;
}

PyObject *pm_call_with_noop_tracer(PyObject *module, PyObject *callable)
{
    (void)module;
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *old = sys != NULL ? PyObject_CallMethod(sys, "gettrace", NULL)
                                : NULL;
    if (old == NULL || old != Py_None) {
        if (old != NULL) {
            PyErr_SetString(PyExc_RuntimeError,
                            "a trace function is already installed");
        }
        Py_XDECREF(old);
        Py_XDECREF(sys);
        return NULL;
    }
    PyEval_SetTrace(trace_noop, NULL);
    PyObject *res = PyObject_CallNoArgs(callable);
    PyEval_SetTrace(NULL, NULL);
    Py_DECREF(old);
    Py_DECREF(sys);
    return res;
}

/* ---- resolving -f expressions -----------------------------------------*/

/* Add fn's code object (after functools.wraps unwrapping) as a target.
 * Returns 1 if added, 0 if fn has no Python code, -1 with an error. */
static int add_function(PyObject *fn, PyObject *list)
{
    PyObject *inspect = PyImport_ImportModule("inspect");
    PyObject *unwrapped = inspect != NULL
                              ? PyObject_CallMethod(inspect, "unwrap", "O",
                                                    fn)
                              : NULL;
    Py_XDECREF(inspect);
    if (unwrapped == NULL) {
        return -1;
    }
    PyObject *code = PyObject_GetAttrString(unwrapped, "__code__");
    Py_DECREF(unwrapped);
    if (code == NULL || !PyCode_Check(code)) {
        PyErr_Clear();
        Py_XDECREF(code);
        return 0;
    }
    int rc = PySequence_Contains(list, code);
    if (rc == 0) {
        rc = PyList_Append(list, code) < 0 ? -1 : 1;
    }
    Py_DECREF(code);
    return rc;
}

/* Functions of a class (its own methods, static and class methods,
 * property accessors) or of a module (functions defined in it). */
static int add_members(PyObject *owner, int is_module, PyObject *list)
{
    /* A class's __dict__ is a mappingproxy: copy it into a dict. */
    PyObject *proxy = PyObject_GetAttrString(owner, "__dict__");
    PyObject *dict = proxy != NULL
                         ? PyObject_CallOneArg((PyObject *)&PyDict_Type,
                                               proxy)
                         : NULL;
    Py_XDECREF(proxy);
    PyObject *modname = is_module ? PyObject_GetAttrString(owner, "__name__")
                                  : NULL;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int added = 0;
    if (dict == NULL || !PyDict_Check(dict) ||
        (is_module && modname == NULL)) {
        PyErr_Clear();
        Py_XDECREF(dict);
        Py_XDECREF(modname);
        return 0;
    }
    while (added >= 0 && PyDict_Next(dict, &pos, &key, &value)) {
        PyObject *items[3] = {value, NULL, NULL};
        if (PyObject_TypeCheck(value, &PyStaticMethod_Type) ||
            PyObject_TypeCheck(value, &PyClassMethod_Type)) {
            items[0] = PyObject_GetAttrString(value, "__func__");
        } else if (PyObject_TypeCheck(value, &PyProperty_Type)) {
            items[0] = PyObject_GetAttrString(value, "fget");
            items[1] = PyObject_GetAttrString(value, "fset");
            items[2] = PyObject_GetAttrString(value, "fdel");
        } else {
            Py_INCREF(value);
        }
        PyErr_Clear();
        for (int i = 0; i < 3 && added >= 0; i++) {
            PyObject *f = items[i];
            if (f == NULL || !PyFunction_Check(f)) {
                continue;
            }
            if (is_module) {
                PyObject *m = PyObject_GetAttrString(f, "__module__");
                int same = m != NULL &&
                           PyObject_RichCompareBool(m, modname, Py_EQ) == 1;
                PyErr_Clear();
                Py_XDECREF(m);
                if (!same) {
                    continue;
                }
            }
            int rc = add_function(f, list);
            added = rc < 0 ? -1 : added + rc;
        }
        for (int i = 0; i < 3; i++) {
            Py_XDECREF(items[i]);
        }
    }
    Py_DECREF(dict);
    Py_XDECREF(modname);
    return added;
}

/* Evaluate one -f expression and add its code objects to list. On a user
 * mistake raises UsageError("Could not find function ..."). */
static int resolve_one(pm_state_t *st, PyObject *shell, const char *expr,
                       PyObject *list)
{
    PyObject *globals = PyObject_GetAttrString(shell, "user_global_ns");
    PyObject *locals = PyObject_GetAttrString(shell, "user_ns");
    PyObject *obj = NULL;
    int rc = -1;
    if (globals == NULL || locals == NULL) {
        goto fail;
    }
    PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
    PyObject *eval = PyDict_GetItemString(builtins, "eval");
    obj = eval != NULL ? PyObject_CallFunction(eval, "sOO", expr, globals,
                                               locals)
                       : NULL;
    if (obj == NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        PyObject *msg = PyUnicode_FromFormat(
            "Could not find function '%s'.\n%s: %S", expr,
            ((PyTypeObject *)type)->tp_name, value ? value : Py_None);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        if (msg != NULL) {
            PyErr_SetObject(st->usage_error, msg);
            Py_DECREF(msg);
        }
        goto fail;
    }
    PyObject *func = PyMethod_Check(obj) ? PyMethod_GET_FUNCTION(obj) : obj;
    if (PyType_Check(obj)) {
        rc = add_members(obj, 0, list);
    } else if (PyModule_Check(obj)) {
        rc = add_members(obj, 1, list);
    } else {
        rc = add_function(func, list);
    }
    if (rc == 0) {
        PyObject *repr = PyObject_Repr(obj);
        PyErr_Clear();
        PyObject *msg = PyUnicode_FromFormat(
            "Could not find function '%s'.\nTypeError: %S is not a Python "
            "function, method, class or module with Python functions",
            expr, repr != NULL ? repr : Py_None);
        Py_XDECREF(repr);
        if (msg != NULL) {
            PyErr_SetObject(st->usage_error, msg);
            Py_DECREF(msg);
        }
        rc = -1;
    }
fail:
    Py_XDECREF(obj);
    Py_XDECREF(globals);
    Py_XDECREF(locals);
    return rc < 0 ? -1 : 0;
}

/* The displayed line range of code: inspect.getsourcelines (from the
 * decorators to the end of the def, like memory_profiler), else the
 * code's own line numbers. */
static int line_range(PyObject *code, int *first, int *nlines)
{
    PyObject *inspect = PyImport_ImportModule("inspect");
    PyObject *res = inspect != NULL
                        ? PyObject_CallMethod(inspect, "getsourcelines", "O",
                                              code)
                        : NULL;
    Py_XDECREF(inspect);
    if (res != NULL && PyTuple_Check(res) && PyTuple_GET_SIZE(res) == 2) {
        Py_ssize_t n = PyObject_Length(PyTuple_GET_ITEM(res, 0));
        long start = PyLong_AsLong(PyTuple_GET_ITEM(res, 1));
        Py_DECREF(res);
        if (n > 0 && start > 0 && !PyErr_Occurred()) {
            *first = (int)start;
            *nlines = (int)n;
            return 0;
        }
    }
    Py_XDECREF(res);
    PyErr_Clear();
    /* No source: from co_firstlineno to the highest line of the code. */
    int last = ((PyCodeObject *)code)->co_firstlineno;
    PyObject *it = PyObject_CallMethod(code, "co_lines", NULL);
    PyObject *iter = it != NULL ? PyObject_GetIter(it) : NULL;
    PyObject *item;
    while (iter != NULL && (item = PyIter_Next(iter)) != NULL) {
        PyObject *line = PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 3
                             ? PyTuple_GET_ITEM(item, 2)
                             : Py_None;
        if (PyLong_Check(line) && PyLong_AsLong(line) > last) {
            last = (int)PyLong_AsLong(line);
        }
        Py_DECREF(item);
    }
    PyErr_Clear();
    Py_XDECREF(iter);
    Py_XDECREF(it);
    *first = ((PyCodeObject *)code)->co_firstlineno;
    *nlines = last - *first + 1;
    return 0;
}

static int make_target(target_t *t, PyObject *code)
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
    PyObject *raw = PyObject_CallMethod(linecache, "getlines", "O",
                                        t->filename);
    Py_DECREF(linecache);
    /* The lines without their line ends, for the report. */
    Py_ssize_t n = raw != NULL && PyList_Check(raw) ? PyList_GET_SIZE(raw)
                                                    : 0;
    t->lines = raw != NULL && PyList_Check(raw) ? PyList_New(n) : NULL;
    for (Py_ssize_t i = 0; t->lines != NULL && i < n; i++) {
        PyObject *line = PyObject_CallMethod(PyList_GET_ITEM(raw, i),
                                             "rstrip", "s", "\r\n");
        if (line == NULL) {
            Py_CLEAR(t->lines);
            break;
        }
        PyList_SET_ITEM(t->lines, i, line);
    }
    Py_XDECREF(raw);
    PyErr_Clear();
    line_range(code, &first, &nlines);
    if ((rc = pm_linetable_new(first, nlines, &t->table)) < 0) {
        pm_py_raise(rc);
        return -1;
    }
    return 0;
}

static void session_close(session_t *s)
{
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
    PyMem_Free(s->stack);
    pm_tracer_free(s->tracer);
    memset(s, 0, sizeof *s);
}

/* ---- running under the tracer ------------------------------------------*/

typedef struct {
    int return_result, include_children, peak;
    const char *text_file; /* -T, or NULL */
    PyObject *functions;   /* list of the -f expressions (str) */
    PyObject *statement;   /* str */
} mprun_args_t;

/* Run code with the tracer installed; always removes it and puts back the
 * previous trace function. Returns 1 when KeyboardInterrupt or SystemExit
 * stopped the run (*message says which, as memory_profiler), 0 when it
 * completed, -1 with the statement's exception set. */
static int run_traced(PyObject *shell, PyObject *code, session_t *s,
                      const char **message)
{
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *old = sys != NULL ? PyObject_CallMethod(sys, "gettrace", NULL)
                                : NULL;
    if (old == NULL) {
        Py_XDECREF(sys);
        return -1;
    }
    active = s;
    PyEval_SetTrace(trace, NULL);
    PyObject *res = pm_shell_exec(shell, code);
    PyEval_SetTrace(NULL, NULL);
    active = NULL;
    /* Frames still on the stack were unwound without a return event only
     * if tracing was cut short; close them so their lines are complete. */
    while (s->depth > 0) {
        pm_tracer_return(s->tracer, &s->stack[--s->depth].fs);
    }

    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (old != Py_None) {
        PyObject *r = PyObject_CallMethod(sys, "settrace", "O", old);
        if (r == NULL) {
            PyErr_WriteUnraisable(old);
        }
        Py_XDECREF(r);
    }
    PyErr_Restore(type, value, tb);
    Py_DECREF(old);
    Py_DECREF(sys);

    if (res != NULL) {
        Py_DECREF(res);
        return 0;
    }
    if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        *message = "*** KeyboardInterrupt exception caught in code being "
                   "profiled.";
    } else if (PyErr_ExceptionMatches(PyExc_SystemExit)) {
        *message = "*** SystemExit exception caught in code being profiled.";
    } else {
        return -1;
    }
    PyErr_Clear();
    return 1;
}

/* Copy the tables into the protocol's plain structs; blocks whose code
 * never ran are left out (memory_profiler prints one block per function
 * that ran). lines_out holds all lines of all blocks. */
static int build_report(const session_t *s, pm_mprun_block_t **blocks_out,
                        size_t *nblocks, pm_mprun_line_t **lines_out)
{
    size_t total = 0;
    for (size_t i = 0; i < s->ntargets; i++) {
        total += (size_t)pm_linetable_nlines(s->targets[i].table);
    }
    pm_mprun_block_t *blocks = PyMem_Calloc(s->ntargets + 1, sizeof *blocks);
    pm_mprun_line_t *lines = PyMem_Calloc(total + 1, sizeof *lines);
    if (blocks == NULL || lines == NULL) {
        PyMem_Free(blocks);
        PyMem_Free(lines);
        PyErr_NoMemory();
        return -1;
    }
    size_t nb = 0, nl = 0;
    for (size_t i = 0; i < s->ntargets; i++) {
        const target_t *t = &s->targets[i];
        if (pm_linetable_calls(t->table) == 0) {
            continue;
        }
        int first = pm_linetable_first_line(t->table);
        int n = pm_linetable_nlines(t->table);
        pm_mprun_block_t *b = &blocks[nb++];
        b->filename = PyUnicode_AsUTF8(t->filename);
        b->function = PyUnicode_AsUTF8(t->qualname);
        b->first_line = first;
        b->nlines = (size_t)n;
        b->lines = &lines[nl];
        for (int k = 0; k < n; k++) {
            const pm_line_stat_t *ls = pm_linetable_get(t->table, first + k);
            pm_mprun_line_t *l = &lines[nl++];
            l->lineno = first + k;
            l->source = "";
            if (t->lines != NULL && first + k - 1 < PyList_GET_SIZE(t->lines)) {
                PyObject *src = PyList_GET_ITEM(t->lines, first + k - 1);
                const char *u = PyUnicode_Check(src) ? PyUnicode_AsUTF8(src)
                                                     : NULL;
                l->source = u != NULL ? u : "";
            }
            l->occurrences = ls->occurrences;
            l->mem_bytes = ls->mem_max_bytes;
            l->increment_bytes = ls->increment_bytes;
            l->peak_bytes = ls->peak_bytes;
        }
        if (b->filename == NULL || b->function == NULL) {
            PyMem_Free(blocks);
            PyMem_Free(lines);
            return -1;
        }
    }
    *blocks_out = blocks;
    *nblocks = nb;
    *lines_out = lines;
    return 0;
}

/* Write text to path through a temporary file renamed into place, so a
 * failure never leaves a half-written printout. */
static int write_text_file(const char *path, const char *text)
{
    size_t n = strlen(path) + 16;
    char *tmp = PyMem_Malloc(n);
    if (tmp == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL && fputs(text, f) >= 0;
    ok = f != NULL && fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) == 0) {
        PyMem_Free(tmp);
        return 0;
    }
    PyErr_Format(PyExc_OSError, "could not write the -T file %s: %s", path,
                 strerror(errno));
    if (f != NULL) {
        remove(tmp);
    }
    PyMem_Free(tmp);
    return -1;
}

static int print_line(const char *text)
{
    PyObject *out = PySys_GetObject("stdout"); /* borrowed */
    if (out == NULL || out == Py_None) {
        return 0;
    }
    PyObject *res = PyObject_CallMethod(out, "write", "s", text);
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

/* Show the report, write -T, print memory_profiler's closing lines, and
 * build the -r result. Returns a new reference (the result or None). */
static PyObject *report(pm_state_t *st, const session_t *s,
                        const mprun_args_t *a, const char *message)
{
    pm_mprun_block_t *blocks = NULL;
    pm_mprun_line_t *lines = NULL;
    size_t nblocks = 0;
    json_t *bundle = NULL;
    char *text = NULL;
    PyObject *result = NULL;

    if (build_report(s, &blocks, &nblocks, &lines) < 0) {
        return NULL;
    }
    const char *stmt = PyUnicode_AsUTF8(a->statement);
    pm_mprun_t m = {
        .statement = stmt != NULL ? stmt : "",
        .precision = 1,
        .show_peak = a->peak,
        .include_children = a->include_children,
        .message = message,
        .nblocks = nblocks,
        .blocks = blocks,
    };
    text = pm_mprun_render_text(&m);
    bundle = pm_mprun_bundle(&m);
    if (text == NULL || bundle == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (pm_display_show(st, bundle, text) < 0) {
        goto fail;
    }
    /* memory_profiler prints the message (or an empty line) after the
     * table. */
    if (message != NULL && (print_line(message) < 0 || print_line("\n") < 0)) {
        goto fail;
    }
    if (a->text_file != NULL) {
        if (write_text_file(a->text_file, text) < 0) {
            goto fail;
        }
        char line[4096];
        snprintf(line, sizeof line,
                 "\n*** Profile printout saved to text file %s. %s\n",
                 a->text_file, message != NULL ? message : "");
        if (print_line(line) < 0) {
            goto fail;
        }
    }
    if (a->return_result) {
        result = pm_mprun_result_new(st, &m, text);
    } else {
        result = Py_NewRef(Py_None);
    }
fail:
    json_decref(bundle);
    free(text);
    PyMem_Free(blocks);
    PyMem_Free(lines);
    return result;
}

static int parse_args(pm_state_t *st, const char *line, PyObject *cell,
                      pm_opts_t *opts, mprun_args_t *a)
{
    char err[256];
    if (pm_opts_parse(line, mprun_optdefs, opts, err, sizeof err) < 0) {
        pm_py_usage_error(st, err);
        return -1;
    }
    a->return_result = pm_opts_get(opts, 'r', NULL) != NULL;
    a->include_children = pm_opts_get(opts, 'c', NULL) != NULL;
    a->peak = pm_opts_get(opts, 0, "peak") != NULL;
    a->text_file = pm_opts_get(opts, 'T', NULL);
    if (a->text_file != NULL && a->text_file[0] == '\0') {
        pm_py_usage_error(st, "-T needs a file name");
        return -1;
    }
    a->functions = PyList_New(0);
    if (a->functions == NULL) {
        return -1;
    }
    for (size_t i = 0; i < opts->n; i++) {
        if (opts->items[i].def->short_name != 'f') {
            continue;
        }
        PyObject *f = PyUnicode_FromString(opts->items[i].value);
        if (f == NULL || PyList_Append(a->functions, f) < 0) {
            Py_XDECREF(f);
            return -1;
        }
        Py_DECREF(f);
    }
    if (cell != Py_None) {
        a->statement = PyUnicode_FromFormat("%s\n%U", opts->rest, cell);
    } else {
        a->statement = PyUnicode_FromString(opts->rest);
    }
    if (a->statement == NULL) {
        return -1;
    }
    const char *stmt = PyUnicode_AsUTF8(a->statement);
    if (stmt == NULL) {
        return -1;
    }
    if (stmt[strspn(stmt, " \t\r\n")] == '\0') {
        pm_py_usage_error(st, cell != Py_None
                                  ? "%%mprun needs code to run, e.g. "
                                    "%%mprun -f f\\nf(10)"
                                  : "%mprun needs a statement to run, e.g. "
                                    "%mprun -f f f(10)");
        return -1;
    }
    if (PyList_GET_SIZE(a->functions) == 0) {
        pm_py_usage_error(st, "%mprun needs at least one -f FUNCTION to "
                              "profile, e.g. %mprun -f f f(10)");
        return -1;
    }
    return 0;
}

static PyObject *run_mprun(pm_state_t *st, const mprun_args_t *a)
{
    session_t s;
    PyObject *codes = PyList_New(0), *code = NULL, *result = NULL;
    const char *message = NULL;
    int rc;

    memset(&s, 0, sizeof s);
    if (active != NULL) {
        Py_XDECREF(codes);
        return pm_py_usage_error(st, "%mprun cannot run inside a statement "
                                     "that %mprun is profiling");
    }
    if (codes == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(a->functions); i++) {
        const char *expr = PyUnicode_AsUTF8(PyList_GET_ITEM(a->functions, i));
        if (expr == NULL || resolve_one(st, st->shell, expr, codes) < 0) {
            goto fail;
        }
    }
    s.ntargets = (size_t)PyList_GET_SIZE(codes);
    s.targets = PyMem_Calloc(s.ntargets, sizeof *s.targets);
    if (s.targets == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (size_t i = 0; i < s.ntargets; i++) {
        if (make_target(&s.targets[i],
                        PyList_GET_ITEM(codes, (Py_ssize_t)i)) < 0) {
            goto fail;
        }
    }
    if (index_targets(&s) < 0) {
        goto fail;
    }
    pm_tracer_opts_t topts = {
        .peak = a->peak,
        .include_children = a->include_children,
    };
    if ((rc = pm_tracer_new(&topts, &s.tracer)) < 0) {
        pm_py_raise(rc);
        goto fail;
    }
    const char *stmt = PyUnicode_AsUTF8(a->statement);
    code = stmt != NULL ? pm_shell_compile(st->shell, stmt) : NULL;
    if (code == NULL) {
        goto fail;
    }
    if (run_traced(st->shell, code, &s, &message) < 0) {
        goto fail;
    }
    result = report(st, &s, a, message);
fail:
    session_close(&s);
    Py_XDECREF(code);
    Py_DECREF(codes);
    return result;
}

PyObject *pm_mprun_magic(PyObject *module, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames)
{
    pm_state_t *st = get_state(module);
    PyObject *line = NULL, *cell = Py_None;
    if (pm_magic_args("mprun", args, nargs, kwnames, &line, &cell) < 0) {
        return NULL;
    }
    if (st->shell == NULL) {
        return pm_py_usage_error(st, "peakmem is not loaded in an IPython "
                                     "shell: run %load_ext peakmem");
    }
    const char *line_s = PyUnicode_AsUTF8(line);
    if (line_s == NULL) {
        return NULL;
    }
    pm_opts_t *opts = PyMem_Malloc(sizeof *opts);
    if (opts == NULL) {
        return PyErr_NoMemory();
    }
    mprun_args_t a = {0};
    PyObject *res = NULL;
    if (parse_args(st, line_s, cell, opts, &a) == 0) {
        res = run_mprun(st, &a);
    }
    Py_XDECREF(a.functions);
    Py_XDECREF(a.statement);
    PyMem_Free(opts);
    return res;
}
