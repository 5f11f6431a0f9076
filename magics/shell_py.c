/* Running user code the way IPython does: input transformation (so !cmd
 * and magics work inside a measured statement), the shell's caching
 * compiler (so tracebacks show the source, also for cell code), and the
 * user namespace. */
#include "internal.h"

/* The number of the cell running now, as its prompt shows it: the
 * highest number in the compiler's map of cell file names (IPython caches
 * the running cell before it runs), since IPython 9 increments
 * shell.execution_count before the cell runs and 8 after; that attribute
 * when the map is missing or empty. New reference or NULL. */
static PyObject *cell_count(PyObject *shell, PyObject *compiler)
{
    PyObject *map = PyObject_GetAttrString(compiler, "_filename_map");
    PyObject *best = NULL;
    if (map != NULL && PyDict_Check(map)) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(map, &pos, &key, &value)) {
            if (PyLong_Check(value) &&
                (best == NULL ||
                 PyObject_RichCompareBool(value, best, Py_GT) == 1)) {
                best = value;
            }
        }
    }
    Py_XINCREF(best);
    Py_XDECREF(map);
    PyErr_Clear(); /* a private attribute: absent is fine */
    return best != NULL ? best : PyObject_GetAttrString(shell,
                                                        "execution_count");
}

int pm_in_main_thread(void)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (threading == NULL) {
        return -1;
    }
    PyObject *cur = PyObject_CallMethod(threading, "current_thread", NULL);
    PyObject *main = PyObject_CallMethod(threading, "main_thread", NULL);
    int rc = cur != NULL && main != NULL ? cur == main : -1;
    Py_XDECREF(cur);
    Py_XDECREF(main);
    Py_DECREF(threading);
    return rc;
}

/* IPython's transformations of source. Off the main thread only the
 * static ones (%magic, !cmd, and the post-transformers): the dynamic ones
 * (autocall) run inside the shell's builtin_trap, whose nesting count is
 * not thread-safe (four threads compiling at once removed `exit` from
 * builtins twice: KeyError('exit')). New reference or NULL. */
static PyObject *transform(PyObject *shell, const char *source)
{
    int is_main = pm_in_main_thread();
    if (is_main != 0) {
        return is_main < 0 ? NULL
                        : PyObject_CallMethod(shell, "transform_cell", "s",
                                              source);
    }
    PyObject *manager =
        PyObject_GetAttrString(shell, "input_transformer_manager");
    PyObject *cell = manager != NULL ? PyObject_CallMethod(
                                           manager, "transform_cell", "s",
                                           source)
                                     : NULL;
    PyObject *post = cell != NULL ? PyObject_GetAttrString(
                                        shell, "input_transformers_post")
                                  : NULL;
    PyObject *lines = post != NULL ? PyObject_CallMethod(cell, "splitlines",
                                                         "O", Py_True)
                                   : NULL;
    for (Py_ssize_t i = 0; lines != NULL && PyList_Check(post) &&
                           i < PyList_GET_SIZE(post);
         i++) {
        Py_SETREF(lines,
                  PyObject_CallOneArg(PyList_GET_ITEM(post, i), lines));
    }
    PyObject *empty = lines != NULL ? PyUnicode_FromString("") : NULL;
    PyObject *res = empty != NULL ? PyUnicode_Join(empty, lines) : NULL;
    Py_XDECREF(empty);
    Py_XDECREF(lines);
    Py_XDECREF(post);
    Py_XDECREF(cell);
    Py_XDECREF(manager);
    return res;
}

PyObject *pm_shell_compile(PyObject *shell, const char *source)
{
    PyObject *transformed = NULL, *compiler = NULL, *name = NULL;
    PyObject *code = NULL, *count = NULL;

    transformed = transform(shell, source);
    if (transformed == NULL) {
        goto fail;
    }
    compiler = PyObject_GetAttrString(shell, "compile");
    count = compiler != NULL ? cell_count(shell, compiler) : NULL;
    if (compiler == NULL || count == NULL) {
        goto fail;
    }
    name = PyObject_CallMethod(compiler, "cache", "OOs", transformed, count,
                               source);
    if (name == NULL) {
        goto fail;
    }
    code = PyObject_CallFunction(compiler, "OOs", transformed, name, "exec");
fail:
    Py_XDECREF(transformed);
    Py_XDECREF(compiler);
    Py_XDECREF(count);
    Py_XDECREF(name);
    return code;
}

PyObject *pm_shell_exec(PyObject *shell, PyObject *code)
{
    PyObject *globals = PyObject_GetAttrString(shell, "user_global_ns");
    /* not read with an exception pending (a timeout or Ctrl-C raised
     * while the first ran): Python code would run over it */
    PyObject *locals =
        globals != NULL ? PyObject_GetAttrString(shell, "user_ns") : NULL;
    PyObject *res = NULL;
    if (globals != NULL && locals != NULL) {
        if (!PyDict_Check(globals)) {
            PyErr_SetString(PyExc_TypeError,
                            "the shell's user_global_ns is not a dict");
        } else {
            res = PyEval_EvalCode(code, globals, locals);
        }
    }
    Py_XDECREF(globals);
    Py_XDECREF(locals);
    return res;
}

/* The arguments of a line/cell magic function: (line, cell=None), as
 * borrowed references. Returns 0 or -1 with TypeError. */
static int magic_args(const char *name, PyObject *const *args,
                      Py_ssize_t nargs, PyObject *kwnames, PyObject **line,
                      PyObject **cell)
{
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    *line = nargs > 0 ? args[0] : NULL;
    *cell = nargs > 1 ? args[1] : Py_None;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(key, "cell") == 0 && nargs < 2) {
            *cell = args[nargs + i];
        } else if (PyUnicode_CompareWithASCIIString(key, "line") == 0 &&
                   nargs < 1) {
            *line = args[nargs + i];
        } else {
            PyErr_Format(PyExc_TypeError,
                         "%s() got an unexpected keyword argument '%U'", name,
                         key);
            return -1;
        }
    }
    if (*line == NULL || nargs > 2 || !PyUnicode_Check(*line) ||
        (*cell != Py_None && !PyUnicode_Check(*cell))) {
        PyErr_Format(PyExc_TypeError, "%s(line: str, cell: str | None = None)",
                     name);
        return -1;
    }
    return 0;
}

PyObject *pm_magic_call(pm_state_t *st, const char *name,
                        const pm_optdef_t *defs, pm_magic_fn body,
                        PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames)
{
    PyObject *line_o = NULL, *cell_o = Py_None, *res = NULL;
    const char *line, *cell;
    pm_opts_t *opts;
    char err[256];

    if (magic_args(name, args, nargs, kwnames, &line_o, &cell_o) < 0) {
        return NULL;
    }
    if (st->shell == NULL) {
        return pm_py_usage_error(st, "peakmem is not loaded in an IPython "
                                     "shell: run %load_ext peakmem");
    }
    line = PyUnicode_AsUTF8(line_o);
    cell = cell_o != Py_None ? PyUnicode_AsUTF8(cell_o) : NULL;
    if (line == NULL || (cell_o != Py_None && cell == NULL)) {
        return NULL;
    }
    opts = PyMem_Malloc(sizeof *opts); /* large: not on the stack */
    if (opts == NULL) {
        return PyErr_NoMemory();
    }
    if (pm_opts_parse(line, defs, opts, err, sizeof err) < 0) {
        pm_py_usage_error(st, err);
    } else {
        res = body(st, opts, cell);
    }
    PyMem_Free(opts);
    return res;
}
