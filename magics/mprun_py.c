/* %mprun and %%mprun: line-by-line memory of chosen functions, with
 * memory_profiler 0.61's options (-f, -T, -r, -c) and text, plus --peak.
 * The profiler itself is lineprof_py.c. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const pm_optdef_t mprun_optdefs[] = {
    {'f', NULL, 1}, {'T', NULL, 1}, {'r', NULL, 0},
    {'c', NULL, 0}, {0, "peak", 0}, {0, NULL, 0},
};

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
    obj = eval != NULL
              ? PyObject_CallFunction(eval, "sOO", expr, globals, locals)
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
            pm_py_usage_error_obj(st, msg);
            Py_DECREF(msg);
        }
        goto fail;
    }
    rc = pm_lineprof_collect(obj, list);
    if (rc == 0) {
        PyObject *repr = PyObject_Repr(obj);
        PyErr_Clear();
        PyObject *msg = PyUnicode_FromFormat(
            "Could not find function '%s'.\nTypeError: %S is not a Python "
            "function, method, class or module with Python functions",
            expr, repr != NULL ? repr : Py_None);
        Py_XDECREF(repr);
        if (msg != NULL) {
            pm_py_usage_error_obj(st, msg);
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

typedef struct {
    int return_result, include_children, peak;
    const char *text_file; /* -T, or NULL */
    PyObject *functions;   /* list of the -f expressions (str) */
    PyObject *statement;   /* str */
} mprun_args_t;

/* Run code with the profiler enabled. Returns 1 when KeyboardInterrupt
 * or SystemExit stopped the run (*message says which, as memory_profiler
 * does), 0 when it completed, -1 with the statement's exception set. */
static int run_traced(PyObject *shell, PyObject *code, pm_lineprof_t *lp,
                      const char **message)
{
    if (pm_lineprof_enable(lp) < 0) {
        return -1;
    }
    PyObject *res = pm_shell_exec(shell, code);
    pm_lineprof_disable(lp);
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

/* Write the whole printout to path as open(path, "w") would (symlinks
 * followed, the file's mode kept, a file the user may not write refused
 * with its own error and left untouched). The GIL is released while the
 * file is written. Returns 0, or -1 with OSError set (one line). */
static int write_text_file(const char *path, const char *text)
{
    int rc;

    Py_BEGIN_ALLOW_THREADS
    rc = pm_outfile_write(path, text, strlen(text));
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        pm_py_raise_os(rc, "could not write the -T file %s: %s", path,
                       pm_magics_strerror(rc));
        return -1;
    }
    return 0;
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

/* Show the report (through disp, captured when the run began), write -T,
 * print memory_profiler's closing lines, and build the -r result. Returns
 * a new reference (the result or None). */
static PyObject *report(pm_state_t *st, pm_display_ctx_t *disp,
                        const pm_lineprof_t *s, const mprun_args_t *a,
                        const char *message)
{
    pm_mprun_block_t *blocks = NULL;
    pm_mprun_line_t *lines = NULL;
    size_t nblocks = 0;
    json_t *bundle = NULL;
    char *text = NULL;
    PyObject *result = NULL;

    if (pm_lineprof_blocks(s, &blocks, &nblocks, &lines) < 0) {
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
    if (pm_display_result(disp, bundle, text, 0) < 0) {
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
        PyObject *code_map =
            pm_lineprof_code_map(s, a->include_children, NULL);
        result = code_map != NULL
                     ? pm_mprun_result_new(st, &m, text, code_map)
                     : NULL;
        Py_XDECREF(code_map);
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

static int parse_args(pm_state_t *st, const pm_opts_t *opts, const char *cell,
                      mprun_args_t *a)
{
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
    if (cell != NULL && opts->rest[strspn(opts->rest, " \t")] == '\0') {
        a->statement = PyUnicode_FromString(cell); /* no blank first line */
    } else if (cell != NULL) {
        a->statement = PyUnicode_FromFormat("%s\n%s", opts->rest, cell);
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
        pm_py_usage_error(st, cell != NULL
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
    pm_lineprof_t *lp = NULL;
    PyObject *codes = PyList_New(0), *code = NULL, *result = NULL;
    const char *message = NULL;
    pm_display_ctx_t disp;

    if (codes == NULL) {
        return NULL;
    }
    /* The result's parent is the cell running as the run begins. */
    pm_display_begin(st, &disp);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(a->functions); i++) {
        const char *expr = PyUnicode_AsUTF8(PyList_GET_ITEM(a->functions, i));
        if (expr == NULL || resolve_one(st, st->shell, expr, codes) < 0) {
            goto fail;
        }
    }
    pm_tracer_opts_t topts = {
        .peak = a->peak,
        .include_children = a->include_children,
    };
    if ((lp = pm_lineprof_new(&topts)) == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(codes); i++) {
        if (pm_lineprof_add(lp, PyList_GET_ITEM(codes, i)) < 0) {
            goto fail;
        }
    }
    const char *stmt = PyUnicode_AsUTF8(a->statement);
    code = stmt != NULL ? pm_shell_compile(st->shell, stmt) : NULL;
    if (code == NULL) {
        goto fail;
    }
    if (run_traced(st->shell, code, lp, &message) < 0) {
        goto fail;
    }
    result = report(st, &disp, lp, a, message);
fail:
    pm_display_end(&disp);
    pm_lineprof_free(lp);
    Py_XDECREF(code);
    Py_DECREF(codes);
    return result;
}

static PyObject *mprun(pm_state_t *st, const pm_opts_t *opts, const char *cell)
{
    mprun_args_t a = {0};
    PyObject *res =
        parse_args(st, opts, cell, &a) == 0 ? run_mprun(st, &a) : NULL;

    Py_XDECREF(a.functions);
    Py_XDECREF(a.statement);
    return res;
}

PyObject *pm_mprun_magic(PyObject *module, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames)
{
    return pm_magic_call(get_state(module), "mprun", mprun_optdefs, mprun,
                         args, nargs, kwnames);
}
