/* %memit --dask on the kernel's side: peakmem._dask reaches the
 * cluster (Client.run / run_on_scheduler), each worker runs remote_py.c;
 * this file turns its answer into the result's rows and JSON. GIL. */
#include "internal.h"

/* How long each call to the Dask cluster may take (begin and end). */
#define DASK_TIMEOUT_S 10.0

PyObject *pm_dask_begin(pm_state_t *st, const char *address)
{
    PyObject *mod = PyImport_ImportModule("peakmem._dask");
    PyObject *res = NULL;

    if (mod != NULL) {
        res = PyObject_CallMethod(mod, "begin", "zd",
                                  address[0] != '\0' ? address : NULL,
                                  DASK_TIMEOUT_S);
    }
    if (res == NULL && mod != NULL) {
        /* the user's mistake (SetupError): one line, as IPython shows a
         * UsageError; anything else as it came */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        PyObject *setup = PyObject_GetAttrString(mod, "SetupError");
        PyObject *msg = setup != NULL && value != NULL &&
                                PyObject_IsInstance(value, setup) == 1
                            ? PyObject_Str(value)
                            : NULL;
        Py_XDECREF(setup);
        if (msg != NULL) {
            PyErr_Clear();
            pm_py_usage_error_obj(st, msg);
            Py_DECREF(msg);
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
        } else {
            PyErr_Restore(type, value, tb);
        }
    }
    Py_XDECREF(mod);
    return res;
}

int pm_dask_end(PyObject *session, uint64_t limit_bytes, PyObject **rows,
                json_t **doc, int *over)
{
    PyObject *mod = PyImport_ImportModule("peakmem._dask");
    PyObject *res = mod != NULL ? PyObject_CallMethod(
                                      mod, "end", "OK", session,
                                      (unsigned long long)limit_bytes)
                                : NULL;
    PyObject *json = res != NULL ? PyImport_ImportModule("json") : NULL;
    PyObject *text = NULL;
    int rc = -1;

    *rows = NULL;
    *doc = NULL;
    *over = 0;
    if (json == NULL || !PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2) {
        if (res != NULL && !PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "--dask: bad answer");
        }
        goto done;
    }
    *rows = Py_NewRef(PyTuple_GET_ITEM(res, 0));
    PyObject *warnings = PyTuple_GET_ITEM(res, 1); /* borrowed */
    PyObject *err = PySys_GetObject("stderr");     /* borrowed */
    for (Py_ssize_t i = 0; PyList_Check(warnings) &&
                           i < PyList_GET_SIZE(warnings);
         i++) {
        PyObject *w = PyList_GET_ITEM(warnings, i);
        PyObject *msg = PyUnicode_FromFormat("peakmem: warning: %S\n", w);
        if (msg != NULL && err != NULL && err != Py_None) {
            PyObject *r = PyObject_CallMethod(err, "write", "O", msg);
            Py_XDECREF(r);
        }
        Py_XDECREF(msg);
        PyErr_Clear(); /* a warning that cannot be written is dropped */
    }
    for (Py_ssize_t i = 0; PyList_Check(*rows) && i < PyList_GET_SIZE(*rows);
         i++) {
        PyObject *o = PyDict_GetItemString(PyList_GET_ITEM(*rows, i),
                                           "over_limit");
        *over += o != NULL && PyObject_IsTrue(o) == 1;
    }
    text = PyObject_CallMethod(json, "dumps", "O", *rows);
    const char *utf8 = text != NULL ? PyUnicode_AsUTF8(text) : NULL;
    if (utf8 == NULL) {
        goto done;
    }
    *doc = json_loads(utf8, 0, NULL);
    if (*doc == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    rc = 0;
done:
    if (rc < 0) {
        Py_CLEAR(*rows);
    }
    Py_XDECREF(text);
    Py_XDECREF(json);
    Py_XDECREF(res);
    Py_XDECREF(mod);
    return rc;
}

