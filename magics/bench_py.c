/* Benchmark helpers of the line tracers: the interpreter's floor for any C
 * line tracer (a trace function that does nothing). The sys.monitoring
 * one is monitor_py.c's pm_call_with_noop_monitor. */
#include "internal.h"

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
    PyObject *old =
        sys != NULL ? PyObject_CallMethod(sys, "gettrace", NULL) : NULL;
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

