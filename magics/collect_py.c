/* Which code objects %mprun -f, @profile and add_function follow: the
 * code of a function, method, class or module, and the source line range
 * each one's table spans. */
#include "internal.h"

/* Add fn's code object (after functools.wraps unwrapping) to list.
 * Returns 1 if added, 0 if fn has no Python code, -1 with an error. */
static int add_function(PyObject *fn, PyObject *list)
{
    PyObject *inspect = PyImport_ImportModule("inspect");
    PyObject *unwrapped = inspect != NULL
                              ? PyObject_CallMethod(inspect, "unwrap", "O", fn)
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
                         ? PyObject_CallOneArg((PyObject *)&PyDict_Type, proxy)
                         : NULL;
    Py_XDECREF(proxy);
    PyObject *modname =
        is_module ? PyObject_GetAttrString(owner, "__name__") : NULL;
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

int pm_lineprof_collect(PyObject *obj, PyObject *list)
{
    if (PyType_Check(obj)) {
        return add_members(obj, 0, list);
    }
    if (PyModule_Check(obj)) {
        return add_members(obj, 1, list);
    }
    return add_function(PyMethod_Check(obj) ? PyMethod_GET_FUNCTION(obj) : obj,
                        list);
}

int pm_code_line_range(PyObject *code, int *first, int *nlines)
{
    PyObject *inspect = PyImport_ImportModule("inspect");
    PyObject *res =
        inspect != NULL
            ? PyObject_CallMethod(inspect, "getsourcelines", "O", code)
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

int pm_code_nested(PyObject *code, PyObject *list)
{
    PyObject *consts = PyObject_GetAttrString(code, "co_consts");
    int rc = consts != NULL && PyTuple_Check(consts) ? 0 : -1;

    for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(consts); i++) {
        PyObject *c = PyTuple_GET_ITEM(consts, i);
        if (PyCode_Check(c)) {
            rc = PyList_Append(list, c) < 0 ? -1 : pm_code_nested(c, list);
        }
    }
    Py_XDECREF(consts);
    return rc;
}
