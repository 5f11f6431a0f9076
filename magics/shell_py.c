/* Running user code the way IPython does: input transformation (so !cmd
 * and magics work inside a measured statement), the shell's caching
 * compiler (so tracebacks show the source, also for cell code), and the
 * user namespace. */
#include "internal.h"

PyObject *pm_shell_compile(PyObject *shell, const char *source)
{
    PyObject *transformed = NULL, *compiler = NULL, *name = NULL;
    PyObject *code = NULL, *count = NULL;

    transformed = PyObject_CallMethod(shell, "transform_cell", "s", source);
    if (transformed == NULL) {
        goto fail;
    }
    compiler = PyObject_GetAttrString(shell, "compile");
    count = PyObject_GetAttrString(shell, "execution_count");
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
    PyObject *locals = PyObject_GetAttrString(shell, "user_ns");
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
