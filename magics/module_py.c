/* The _peakmem extension module: module state, IPython extension entry
 * points, and the conversion of pm_ error codes to Python exceptions. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pm_state_t *get_state(PyObject *module)
{
    return (pm_state_t *)PyModule_GetState(module);
}

static struct PyModuleDef peakmem_module;

/* peakmem.Error of this interpreter's module (new reference), found
 * through sys.modules because pm_py_raise takes no module; RuntimeError
 * (its base) when the module is not imported. Error path only. GIL. */
static PyObject *error_type(void)
{
    PyObject *name = PyUnicode_FromString("peakmem._peakmem");
    PyObject *module = name != NULL ? PyImport_GetModule(name) : NULL;
    PyObject *type = NULL;

    Py_XDECREF(name);
    if (module != NULL && PyModule_Check(module) &&
        PyModule_GetDef(module) == &peakmem_module) {
        pm_state_t *st = get_state(module);
        type = st != NULL ? Py_XNewRef(st->error) : NULL;
    }
    Py_XDECREF(module);
    PyErr_Clear();
    return type != NULL ? type : Py_NewRef(PyExc_RuntimeError);
}

/* OSError(errno, text): Python picks the subclass for errno
 * (FileNotFoundError, PermissionError, ...) and sets .errno and
 * .strerror, as PyErr_SetFromErrno does. */
static PyObject *raise_os(int err, PyObject *text)
{
    PyObject *args = text != NULL ? Py_BuildValue("(iO)", err, text) : NULL;

    if (args != NULL) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
    }
    return NULL;
}

PyObject *pm_py_raise(int rc)
{
    const char *msg = pm_magics_strerror(rc);

    if (pm_is_errno(rc)) {
        PyObject *text = PyUnicode_FromFormat("peakmem: %s", msg);
        raise_os(-rc, text);
        Py_XDECREF(text);
        return NULL;
    }
    PyObject *type = error_type();
    PyErr_Format(type, "peakmem: %s", msg);
    Py_DECREF(type);
    return NULL;
}

PyObject *pm_py_raise_os(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    PyObject *text = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (!pm_is_errno(rc)) {
        rc = -EIO;
    }
    raise_os(-rc, text);
    Py_XDECREF(text);
    return NULL;
}

/* IPython's UsageError, imported on first use so that scripts using
 * @profile or memory_usage() do not pay for importing IPython; ValueError
 * where IPython is missing. */
static PyObject *usage_error_type(pm_state_t *st)
{
    if (st->usage_error == NULL) {
        PyObject *mod = PyImport_ImportModule("IPython.core.error");
        st->usage_error =
            mod != NULL ? PyObject_GetAttrString(mod, "UsageError") : NULL;
        Py_XDECREF(mod);
        if (st->usage_error == NULL) {
            PyErr_Clear();
            st->usage_error = Py_NewRef(PyExc_ValueError);
        }
    }
    return st->usage_error;
}

int pm_py_clear_optional(void)
{
    PyObject *type = PyErr_Occurred(); /* borrowed */
    if (type != NULL &&
        !PyErr_GivenExceptionMatches(type, PyExc_Exception)) {
        return -1;
    }
    PyErr_Clear();
    return 0;
}

PyObject *pm_py_usage_error(pm_state_t *st, const char *msg)
{
    /* "replace": broken UTF-8 in a message must not leave it empty */
    PyObject *text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg),
                                          "replace");
    if (text == NULL) {
        return NULL;
    }
    PyErr_SetObject(usage_error_type(st), text);
    Py_DECREF(text);
    return NULL;
}

PyObject *pm_py_usage_error_obj(pm_state_t *st, PyObject *msg)
{
    PyErr_SetObject(usage_error_type(st), msg);
    return NULL;
}

/* Register the magics with an InteractiveShell. */
static PyObject *load_ipython_extension(PyObject *module, PyObject *shell)
{
    pm_state_t *st = get_state(module);
    static const char *const magics[][2] = {
        {"_memit_magic", "memit"},
        {"_mprun_magic", "mprun"},
    };
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        PyObject *magic = PyObject_GetAttrString(module, magics[i][0]);
        if (magic == NULL) {
            return NULL;
        }
        PyObject *res =
            PyObject_CallMethod(shell, "register_magic_function", "Oss", magic,
                                "line_cell", magics[i][1]);
        Py_DECREF(magic);
        if (res == NULL) {
            return NULL;
        }
        Py_DECREF(res);
    }
    if (st->shell != shell) {
        Py_INCREF(shell);
        Py_XSETREF(st->shell, shell);
        pm_display_open(st);
    }
    Py_RETURN_NONE;
}

/* Forget the shell and stop the publisher; the magics stay registered
 * (IPython has no way to remove them) but keep working with print. */
static PyObject *unload_ipython_extension(PyObject *module, PyObject *shell)
{
    (void)shell;
    pm_state_t *st = get_state(module);
    pm_display_close(st);
    Py_CLEAR(st->shell);
    Py_CLEAR(st->no_such_process);
    Py_CLEAR(st->no_such_psutil);
    Py_CLEAR(st->traced_fn);
    Py_RETURN_NONE;
}

/* Tests: the number of active probes (0 between measurements). */
static PyObject *probe_depth(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyLong_FromLong(pm_probe_depth());
}

/* help.c's text of one magic for scripts/readme_help.py and the tests:
 * _help(name, form), form "doc" (the docstring), "usage" or "options"
 * (README's Markdown). GIL. */
static PyObject *help(PyObject *module, PyObject *args)
{
    const char *name, *form;
    (void)module;
    if (!PyArg_ParseTuple(args, "ss", &name, &form)) {
        return NULL;
    }
    const pm_magic_help_t *h = pm_help_find(name);
    if (h == NULL) {
        return PyErr_Format(PyExc_ValueError, "no magic named '%s'", name);
    }
    char *text = strcmp(form, "doc") == 0       ? pm_help_docstring(h)
                 : strcmp(form, "usage") == 0   ? pm_help_markdown_usage(h)
                 : strcmp(form, "options") == 0 ? pm_help_markdown_options(h)
                                                : NULL;
    if (text == NULL) {
        return strcmp(form, "doc") == 0 || strcmp(form, "usage") == 0 ||
                       strcmp(form, "options") == 0
                   ? PyErr_NoMemory()
                   : PyErr_Format(PyExc_ValueError,
                                  "form is 'doc', 'usage' or 'options', "
                                  "not '%s'",
                                  form);
    }
    PyObject *res = PyUnicode_FromString(text);
    free(text);
    return res;
}

/* What peakmem found in this process, for peakmem.diagnose(): the display
 * route and whether the exact peak method is available. clear_refs is
 * only opened, never written: a reset here would disturb measurements
 * running in other threads. GIL. */
static PyObject *diagnose(PyObject *module, PyObject *unused)
{
    (void)unused;
    pm_state_t *st = get_state(module);
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
    }
    return Py_BuildValue("{s:s,s:s,s:s}", "display_route",
                         pm_display_route(st), "peak_method",
                         fd >= 0 ? "hwm" : "sampled", "line_tracer",
                         pm_monitor_backend());
}

static PyMethodDef module_methods[] = {
    {"load_ipython_extension", load_ipython_extension, METH_O,
     "Register %memit, %%memit, %mprun and %%mprun with an IPython shell."},
    {"unload_ipython_extension", unload_ipython_extension, METH_O,
     "Detach peakmem from an IPython shell."},
    {"_call_with_noop_tracer", pm_call_with_noop_tracer, METH_O,
     "Benchmarks: call f() under a C trace function that does nothing."},
    {"_call_with_noop_monitor",
     (PyCFunction)(void (*)(void))pm_call_with_noop_monitor, METH_FASTCALL,
     "Benchmarks: _call_with_noop_monitor(code, f): f() with a no-op C "
     "sys.monitoring callback on code's start, return and line events."},
    {"profile", (PyCFunction)(void (*)(void))pm_profile,
     METH_VARARGS | METH_KEYWORDS,
     "profile(func=None, stream=None, precision=1, backend=None)\n--\n\n"
     "Decorator: print the line-by-line memory table of func after each "
     "call (memory_profiler's @profile)."},
    {"memory_usage", (PyCFunction)(void (*)(void))pm_memory_usage,
     METH_VARARGS | METH_KEYWORDS,
     "memory_usage(proc=-1, interval=.1, timeout=None, timestamps=False, "
     "include_children=False, multiprocess=False, max_usage=False, "
     "retval=False, stream=None, backend=None, max_iterations=None, "
     "children_peaks=None)\n--\n"
     "\nMemory (MiB) of a process or while a function runs, with "
     "memory_profiler's arguments and return shapes. With "
     "include_children, a list given as children_peaks gets one dict per "
     "descendant: pid, ppid, command, peak_mib (exact: its own high-water "
     "mark), exited."},
    {"_run_main", pm_run_main, METH_VARARGS,
     "_run_main(target, is_module, argv, precision, outfile, "
     "include_children, pdb_mmem, timestamp) -> exit code\n--\n\n"
     "python -m peakmem (parsed by peakmem._main_args): run a script or "
     "module with `profile` as a builtin."},
    {"_remote_begin", pm_remote_begin, METH_NOARGS,
     "%memit --dask, in a worker: reset this process's high-water mark -> "
     "(baseline bytes, method)."},
    {"_remote_end", pm_remote_end, METH_NOARGS,
     "%memit --dask, in a worker: -> (peak bytes, RSS bytes, method, "
     "began)."},
    {"_record", (PyCFunction)(void (*)(void))pm_recorder_record,
     METH_VARARGS | METH_KEYWORDS,
     "peakmem run/attach: _record(cmd, argv, pid, output, cmdline, "
     "interval, timeout, include_children, multiprocess, exit_code, "
     "banner) -> (stop, signal, pid, code, nmem, children)."},
    {"_peak", (PyCFunction)(void (*)(void))pm_recorder_peak,
     METH_VARARGS | METH_KEYWORDS,
     "peakmem peak: _peak(path, func=None): print the peak of one .dat "
     "file (func: during that function's calls) -> exit code."},
    {"_plot", (PyCFunction)(void (*)(void))pm_recorder_plot,
     METH_VARARGS | METH_KEYWORDS,
     "peakmem plot: _plot(path, out, title) -> exit code."},
    {"_function_labels", pm_recorder_function_labels, METH_O,
     "mprof's function_labels: {dotted name: shortest unique suffix}."},
    {"_shown", pm_recorder_shown, METH_O,
     "text with control characters and broken UTF-8 as \\xNN."},
    {"_diagnose", diagnose, METH_NOARGS,
     "The display route, peak method and line tracer peakmem uses here."},
    {"_probe_depth", probe_depth, METH_NOARGS,
     "Number of measurements in progress (for tests)."},
    {"_help", help, METH_VARARGS,
     "_help(magic, form): the help of a magic, form 'doc', 'usage' or "
     "'options' (README's Markdown)."},
    /* docstrings made from help.c's tables by set_magic_docs */
    {"_memit_magic", (PyCFunction)(void (*)(void))pm_memit_magic,
     METH_FASTCALL | METH_KEYWORDS, NULL},
    {"_mprun_magic", (PyCFunction)(void (*)(void))pm_mprun_magic,
     METH_FASTCALL | METH_KEYWORDS, NULL},
    {NULL, NULL, 0, NULL},
};

static int module_exec(PyObject *module)
{
    pm_state_t *st = get_state(module);
    st->error = PyErr_NewExceptionWithDoc(
        "peakmem.Error",
        "Base class of peakmem's own errors (a RuntimeError). Failures of\n"
        "the system raise OSError with its errno instead.",
        PyExc_RuntimeError, NULL);
    if (st->error == NULL ||
        PyModule_AddObjectRef(module, "Error", st->error) < 0) {
        return -1;
    }
    st->limit_error = PyErr_NewExceptionWithDoc(
        "peakmem.MemoryLimitError",
        "%memit --limit ... --strict: the peak passed the limit.",
        st->error, NULL);
    if (st->limit_error == NULL ||
        PyModule_AddObjectRef(module, "MemoryLimitError", st->limit_error) <
            0) {
        return -1;
    }
    st->no_such_process = PyErr_NewExceptionWithDoc(
        "peakmem.NoSuchProcess",
        "memory_usage(pid): no such process. A ProcessLookupError; when\n"
        "psutil is installed the raised error also is a\n"
        "psutil.NoSuchProcess, what memory_profiler raises (attributes\n"
        "pid, name, msg).",
        PyExc_ProcessLookupError, NULL);
    if (st->no_such_process == NULL ||
        PyModule_AddObjectRef(module, "NoSuchProcess", st->no_such_process) <
            0) {
        return -1;
    }
    if (pm_result_type_init(module, st) < 0 ||
        pm_memit_result_type_init(module, st) < 0 ||
        pm_mprun_result_type_init(module, st) < 0 ||
        pm_profile_type_init(module, st) < 0 ||
        pm_lineprofiler_type_init(module, st) < 0) {
        return -1;
    }
    return PyModule_AddStringConstant(module, "__version__", PM_VERSION);
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    pm_state_t *st = get_state(module);
    Py_VISIT(st->result_type);
    Py_VISIT(st->memit_result_type);
    Py_VISIT(st->mprun_result_type);
    Py_VISIT(st->error);
    Py_VISIT(st->limit_error);
    Py_VISIT(st->profiled_type);
    Py_VISIT(st->profiled_run_type);
    Py_VISIT(st->lineprofiler_type);
    Py_VISIT(st->usage_error);
    Py_VISIT(st->shell);
    Py_VISIT(st->no_such_process);
    Py_VISIT(st->no_such_psutil);
    Py_VISIT(st->traced_fn);
    return 0;
}

static int module_clear(PyObject *module)
{
    pm_state_t *st = get_state(module);
    Py_CLEAR(st->result_type);
    Py_CLEAR(st->memit_result_type);
    Py_CLEAR(st->mprun_result_type);
    Py_CLEAR(st->error);
    Py_CLEAR(st->limit_error);
    Py_CLEAR(st->profiled_type);
    Py_CLEAR(st->profiled_run_type);
    Py_CLEAR(st->lineprofiler_type);
    Py_CLEAR(st->usage_error);
    Py_CLEAR(st->shell);
    return 0;
}

static void module_free(void *module)
{
    pm_display_close(get_state((PyObject *)module));
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef peakmem_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "peakmem._peakmem",
    .m_doc = "peakmem: exact, fast memory measurement for IPython/Jupyter.",
    .m_size = sizeof(pm_state_t),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

/* The magics' docstrings (what %memit? and %mprun? show), made from
 * help.c's option tables before any function object exists; made once
 * and kept for the life of the process, as the method table. GIL. */
static void set_magic_docs(void)
{
    static const struct {
        const char *method;
        const pm_magic_help_t *help;
    } magics[] = {
        {"_memit_magic", &pm_memit_help},
        {"_mprun_magic", &pm_mprun_help},
    };
    for (PyMethodDef *m = module_methods; m->ml_name != NULL; m++) {
        for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
            if (m->ml_doc == NULL &&
                strcmp(m->ml_name, magics[i].method) == 0) {
                char *doc = pm_help_docstring(magics[i].help);
                m->ml_doc = doc != NULL ? doc : magics[i].help->summary;
            }
        }
    }
}

PyMODINIT_FUNC PyInit__peakmem(void)
{
    set_magic_docs();
    return PyModuleDef_Init(&peakmem_module);
}
