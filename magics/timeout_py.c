/* %memit -t: the timeout of one measured run, delivered to the thread
 * that runs the statement (SIGALRM in the main thread, an asynchronous
 * exception elsewhere) and to no other run, thread or cell. */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* The armed timeouts of every thread, newest first; GIL. One list per
 * process, not module state: SIGALRM and its Python handler are
 * process-wide, so the handler installed by whichever module instance
 * (after %reload_ext) must find every timeout armed in the main thread.
 * The GIL guards it across interpreters too: the module declares no
 * per-interpreter GIL support. */
static pm_timeout_t *armed_timeouts;

static PyObject *timeout_error(const pm_timeout_t *t)
{
    char msg[128];

    pm_fmt(msg, sizeof msg,
           "the statement did not finish within the -t timeout of %g s",
           t->seconds);
    return PyObject_CallFunction(PyExc_TimeoutError, "s", msg);
}

/* The SIGALRM handler while a timed statement runs in the main thread:
 * handler(signum, frame). GIL held. Raises for the newest fired timeout
 * of the main thread; a late or foreign SIGALRM does nothing. */
static PyObject *timeout_handler(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs)
{
    (void)module;
    (void)args;
    (void)nargs;
    for (pm_timeout_t *t = armed_timeouts; t != NULL; t = t->next) {
        if (t->in_main && atomic_load(&t->fired) &&
            atomic_exchange(&t->armed, 0)) {
            PyObject *exc = timeout_error(t);
            if (exc != NULL) {
                PyErr_SetObject(PyExc_TimeoutError, exc);
                Py_DECREF(exc);
            }
            return NULL;
        }
    }
    return Py_NewRef(Py_None);
}

static PyMethodDef timeout_handler_def = {
    "_peakmem_timeout", (PyCFunction)(void (*)(void))timeout_handler,
    METH_FASTCALL, NULL};

static int finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* Sampler thread, no GIL; arg is the pm_timeout_t, alive until the
 * sampler is joined (pm_probe_end). pthread_kill is safe from any
 * thread; the asynchronous exception needs the GIL, which the measuring
 * thread releases while it ends the probe (see measure_once). */
void pm_timeout_on_deadline(void *arg)
{
    pm_timeout_t *t = arg;

    atomic_store(&t->fired, 1);
    if (!atomic_load(&t->armed)) {
        return;
    }
    if (t->in_main) {
        pthread_kill(t->thread, SIGALRM);
        return;
    }
    if (finalizing()) {
        return; /* taking the GIL now would end this thread */
    }
    PyGILState_STATE g = PyGILState_Ensure();
    if (atomic_load(&t->armed) &&
        PyThreadState_SetAsyncExc(t->ident, PyExc_TimeoutError) == 1) {
        t->delivered = 1;
    }
    PyGILState_Release(g);
}

/* Install the SIGALRM handler (main thread only). Returns the old handler
 * (new reference), or NULL with an exception. */
static PyObject *timeout_install(void)
{
    PyObject *signal = PyImport_ImportModule("signal");
    PyObject *old = NULL, *handler = NULL, *res = NULL;
    if (signal == NULL) {
        return NULL;
    }
    old = PyObject_CallMethod(signal, "getsignal", "i", SIGALRM);
    handler = old != NULL ? PyCFunction_New(&timeout_handler_def, NULL) : NULL;
    res = handler != NULL
              ? PyObject_CallMethod(signal, "signal", "iO", SIGALRM, handler)
              : NULL;
    if (res == NULL) {
        Py_CLEAR(old);
    }
    Py_XDECREF(handler);
    Py_XDECREF(res);
    Py_DECREF(signal);
    return old;
}

/* Put back the SIGALRM handler that was there before. Keeps a pending
 * exception (the statement's own). */
void pm_timeout_restore(PyObject *old)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *signal = PyImport_ImportModule("signal");
    PyObject *dfl = signal != NULL && old == Py_None
                        ? PyObject_GetAttrString(signal, "SIG_DFL")
                        : Py_XNewRef(old);
    PyObject *res =
        dfl != NULL ? PyObject_CallMethod(signal, "signal", "iO", SIGALRM, dfl)
                    : NULL;
    Py_XDECREF(dfl);
    if (res == NULL) {
        PyErr_WriteUnraisable(old);
    }
    Py_XDECREF(res);
    Py_XDECREF(signal);
    PyErr_Restore(type, value, tb);
}

/* Arm t for a statement about to run in this thread: the SIGALRM handler
 * in the main thread, t on armed_timeouts. *old receives the handler to
 * put back (new reference) or NULL. Returns 0, or -1 with an exception.
 * GIL held. */
int pm_timeout_arm(pm_timeout_t *t, double seconds, PyObject **old)
{
    int is_main = pm_in_main_thread();

    *old = NULL;
    if (is_main < 0) {
        return -1;
    }
    memset(t, 0, sizeof *t);
    t->seconds = seconds;
    t->thread = pthread_self();
    t->ident = PyThread_get_thread_ident();
    if (is_main) {
        *old = timeout_install();
        if (*old == NULL) {
            return -1;
        }
        t->in_main = 1;
    }
    t->next = armed_timeouts;
    armed_timeouts = t;
    atomic_store(&t->armed, 1);
    return 0;
}

/* The statement returned: no exception from t from now on. GIL held. */
void pm_timeout_disarm(pm_timeout_t *t)
{
    atomic_store(&t->armed, 0);
    for (pm_timeout_t **pp = &armed_timeouts; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    if (t->delivered) {
        /* Set but maybe not raised yet: it must not fire later. */
        PyThreadState_SetAsyncExc(t->ident, NULL);
    }
}

/* After the sampler is joined: an asynchronous TimeoutError (a bare
 * class) that t delivered gets t's message, keeping its traceback. */
void pm_timeout_name_error(const pm_timeout_t *t)
{
    if (!t->delivered || !PyErr_ExceptionMatches(PyExc_TimeoutError)) {
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *args =
        value != NULL ? PyObject_GetAttrString(value, "args") : NULL;
    PyObject *named = args != NULL && PyTuple_Check(args) &&
                              PyTuple_GET_SIZE(args) == 0
                          ? timeout_error(t)
                          : NULL;
    Py_XDECREF(args);
    if (named != NULL) {
        if (tb != NULL) {
            PyException_SetTraceback(named, tb);
        }
        Py_SETREF(value, named);
    }
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
}
