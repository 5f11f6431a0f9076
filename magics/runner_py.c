/* python -m peakmem: run a script or module with `profile` available as
 * a builtin, as python -m memory_profiler does, and print one report of
 * every @profile'd function at exit (also when the script fails).
 * The command line is parsed by magics/_main_args.py (argparse), which
 * calls _run_main with the parsed values; this file does the running.
 * With --timestamp, `profile` records each call's start and end (time and
 * memory) and FUNC lines are appended to -o FILE at exit: the mode that
 * `peakmem run` uses for Python scripts, as mprof does. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The parsed command line (_main_args.py); strings borrowed from the
 * caller's arguments for the length of one _run_main call. */
typedef struct {
    int precision;
    const char *outfile; /* -o; NULL: stdout */
    int include_children, timestamp;
    double pdb_mmem; /* MiB; 0: off */
    const char *script, *module; /* exactly one is set */
    PyObject *argv;              /* the script's sys.argv (a list) */
} runner_args_t;

/* One recorded call for --timestamp. */
typedef struct {
    char *name;
    double start_mib, start_t, end_mib, end_t;
    int level;
} stamp_t;

/* Runner state: the one profiler every @profile'd function shares
 * (borrowed from the builtin profile, a LineProfiler), or the stamps.
 * Lives for one _run_main call; GIL held throughout. */
static struct {
    pm_lineprof_t *lp;
    stamp_t *stamps;
    size_t nstamps, cap;
    int level;
    int timestamp;
    int backend; /* PM_BACKEND_*: what the tables and stamps measure */
} run;

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* This process's memory as --backend reads it (a stamp keeps 0 when it
 * cannot be read). GIL held. */
static double rss_mib(void)
{
    uint64_t b = 0;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (pm_backend_read(run.backend, &b) < 0) {
        PyErr_Clear();
        b = 0;
    }
    PyErr_Restore(type, value, tb);
    return (double)b / PM_MIB;
}

/* Record one call: start and end time and memory as mprof's FUNC line. */
static void add_stamp(stamp_t *st, PyObject *func)
{
    PyObject *name = PyObject_GetAttrString(func, "__qualname__");
    PyObject *mod = name != NULL ? PyObject_GetAttrString(func, "__module__")
                                 : NULL;
    PyObject *full =
        mod != NULL ? PyUnicode_FromFormat("%S.%S", mod, name) : NULL;
    const char *u = full != NULL ? PyUnicode_AsUTF8(full) : NULL;
    if (u != NULL && run.nstamps == run.cap) {
        size_t cap = run.cap ? run.cap * 2 : 64;
        stamp_t *grown = PyMem_Realloc(run.stamps, cap * sizeof *grown);
        if (grown != NULL) {
            run.stamps = grown;
            run.cap = cap;
        }
    }
    if (u != NULL && run.nstamps < run.cap &&
        (st->name = strdup(u)) != NULL) {
        run.stamps[run.nstamps++] = *st;
    }
    Py_XDECREF(full);
    Py_XDECREF(name);
    Py_XDECREF(mod);
}

/* --timestamp: a call of a function the builtin profile wrapped. The
 * call's own exception goes on, with its traceback (a stamp that could
 * not be kept is dropped, never raised instead). */
static PyObject *stamp_call(PyObject *owner, PyObject *func,
                            PyObject *const *args, size_t nargsf,
                            PyObject *kwnames)
{
    (void)owner;
    stamp_t st = {.start_mib = rss_mib(),
                  .start_t = unix_now(),
                  .level = run.level++};
    PyObject *res = PyObject_Vectorcall(func, args, nargsf, kwnames);
    run.level--;
    st.end_mib = rss_mib();
    st.end_t = unix_now();
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    add_stamp(&st, func);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return res;
}

/* builtins.profile under --timestamp (memory_profiler's TimeStamper):
 * profile(func) wraps func; profile() or profile(precision=N) is profile
 * itself, to be applied next. */
static PyObject *stamp_profile(PyObject *module, PyObject *args,
                               PyObject *kw)
{
    static char *kwlist[] = {"func", "precision", NULL};
    PyObject *func = Py_None, *precision = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:profile", kwlist, &func,
                                     &precision)) {
        return NULL;
    }
    if (func == Py_None) {
        PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
        return Py_XNewRef(PyDict_GetItemString(builtins, "profile"));
    }
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_ValueError, "Value must be callable");
        return NULL;
    }
    return pm_profiled_wrap(module, func, stamp_call, Py_None, NULL);
}

static PyMethodDef stamp_profile_def = {
    "profile", (PyCFunction)(void (*)(void))stamp_profile,
    METH_VARARGS | METH_KEYWORDS,
    "Record each call of func for python -m peakmem --timestamp."};

/* sys.argv and sys.path[0] as the script will see them. */
static int prepare_sys(const runner_args_t *a)
{
    PyObject *argv = PyList_GetSlice(a->argv, 0, PyList_GET_SIZE(a->argv));
    if (argv == NULL || PySys_SetObject("argv", argv) < 0) {
        Py_XDECREF(argv);
        return -1;
    }
    Py_DECREF(argv);
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    if (a->script != NULL && path != NULL && PyList_Check(path)) {
        PyObject *os = PyImport_ImportModule("os.path");
        PyObject *abs =
            os != NULL ? PyObject_CallMethod(os, "abspath", "s", a->script)
                       : NULL;
        PyObject *dir =
            abs != NULL ? PyObject_CallMethod(os, "dirname", "O", abs) : NULL;
        int rc = dir != NULL ? PyList_Insert(path, 0, dir) : -1;
        Py_XDECREF(dir);
        Py_XDECREF(abs);
        Py_XDECREF(os);
        return rc;
    }
    return 0;
}

static int write_report(const runner_args_t *a)
{
    if (run.timestamp) {
        FILE *f = fopen(a->outfile != NULL ? a->outfile : "/dev/stdout", "a");
        if (f == NULL) {
            fprintf(stderr, "peakmem: could not open %s: %s\n", a->outfile,
                    strerror(errno));
            return -1;
        }
        for (size_t i = 0; i < run.nstamps; i++) {
            char line[1024];
            pm_dat_func_t fn = {
                .name = run.stamps[i].name,
                .start_mib = run.stamps[i].start_mib,
                .start_t = run.stamps[i].start_t,
                .end_mib = run.stamps[i].end_mib,
                .end_t = run.stamps[i].end_t,
                .level = run.stamps[i].level,
            };
            if (pm_dat_format_func(line, sizeof line, &fn) > 0) {
                fputs(line, f);
            }
        }
        return fclose(f) == 0 ? 0 : -1;
    }
    char *text = pm_lineprof_text(run.lp, a->precision);
    if (text == NULL) {
        PyErr_Print();
        return -1;
    }
    int rc = 0;
    if (text[0] != '\0') {
        if (a->outfile != NULL) {
            /* as memory_profiler's open(outfile, "a"): earlier reports
             * kept, symlinks followed, mode kept */
            char *all = pm_fmt_alloc("%s\n\n\n", text);
            int err = all != NULL
                          ? pm_outfile_append(a->outfile, all, strlen(all))
                          : -ENOMEM;
            free(all);
            if (err < 0) {
                fprintf(stderr, "peakmem: could not write %s: %s\n",
                        a->outfile, strerror(-err));
                rc = -1;
            }
        } else {
            PyObject *out = PySys_GetObject("stdout");
            if (out != NULL) {
                PyObject *r = PyObject_CallMethod(out, "flush", NULL);
                Py_XDECREF(r);
                PyErr_Clear();
            }
            printf("%s\n\n\n", text);
            fflush(stdout);
        }
    }
    free(text);
    return rc;
}

static int exit_code_of_system_exit(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    int code = 0;
    PyObject *c = value != NULL ? PyObject_GetAttrString(value, "code") : NULL;
    if (c != NULL && PyLong_Check(c)) {
        code = (int)PyLong_AsLong(c);
    } else if (c != NULL && c != Py_None) {
        PyObject_Print(c, stderr, Py_PRINT_RAW);
        fputc('\n', stderr);
        code = 1;
    }
    PyErr_Clear();
    Py_XDECREF(c);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return code;
}

/* Whether the ImportError set was raised by runpy itself, before any of
 * the user's code ran (no __main__ in a directory, no such module): every
 * frame of its traceback is runpy's or importlib's. Python then prints
 * one line, "python3: No module named x"; a traceback would point into
 * runpy, not at a mistake in the user's code. */
static int runpy_refused(void)
{
    PyObject *type, *value, *tb;
    int refused = 0;

    if (!PyErr_ExceptionMatches(PyExc_ImportError)) {
        return 0;
    }
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    refused = tb != NULL;
    for (PyTracebackObject *t = (PyTracebackObject *)tb; refused && t;
         t = t->tb_next) {
        PyCodeObject *code = PyFrame_GetCode(t->tb_frame);
        const char *file = PyUnicode_AsUTF8(code->co_filename);
        refused = file != NULL && (strcmp(file, "<frozen runpy>") == 0 ||
                                   strncmp(file, "<frozen importlib", 17) == 0 ||
                                   strstr(file, "/runpy.py") != NULL);
        Py_DECREF(code);
    }
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return refused;
}

/* _run_main(target, is_module, argv, precision, outfile,
 *           include_children, pdb_mmem, timestamp, backend=None)
 *           -> exit code.
 * argv is the script's sys.argv (argv[0] the script or module name). */
PyObject *pm_run_main(PyObject *module, PyObject *args)
{
    (void)module;
    runner_args_t a = {0};
    const char *target = NULL;
    int is_module = 0, backend = 0;
    PyObject *backend_name = Py_None;
    if (!PyArg_ParseTuple(args, "spO!izpdp|O:_run_main", &target, &is_module,
                          &PyList_Type, &a.argv, &a.precision, &a.outfile,
                          &a.include_children, &a.pdb_mmem, &a.timestamp,
                          &backend_name) ||
        pm_backend_parse(backend_name, "--backend", &backend) < 0) {
        return NULL;
    }
    if (PyList_GET_SIZE(a.argv) == 0 || a.precision < 0 ||
        a.precision > 20 || a.pdb_mmem < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "_run_main: argv must not be empty, precision 0 to "
                        "20, pdb_mmem >= 0");
        return NULL;
    }
    if (is_module) {
        a.module = target;
    } else {
        a.script = target;
    }
    if (a.script != NULL && access(a.script, R_OK) != 0) {
        fprintf(stderr, "peakmem: cannot read script '%s': %s\n", a.script,
                strerror(errno));
        return PyLong_FromLong(1);
    }
    memset(&run, 0, sizeof run);
    run.timestamp = a.timestamp;
    run.backend = backend;
    PyObject *prof = NULL;
    if (a.timestamp) {
        prof = PyCFunction_New(&stamp_profile_def, module);
    } else {
        /* memory_profiler's builtin profile: a LineProfiler */
        PyObject *kw = Py_BuildValue(
            "{sOsdss}", "include_children",
            a.include_children ? Py_True : Py_False, "max_mem", a.pdb_mmem,
            "backend", pm_backend_name(backend));
        PyObject *empty = PyTuple_New(0);
        prof = kw != NULL && empty != NULL
                   ? PyObject_Call(get_state(module)->lineprofiler_type,
                                   empty, kw)
                   : NULL;
        Py_XDECREF(kw);
        Py_XDECREF(empty);
        run.lp = prof != NULL ? pm_lineprofiler_lp(prof) : NULL;
        if (run.lp == NULL) {
            Py_XDECREF(prof);
            return NULL;
        }
    }
    if (prof == NULL) {
        return NULL;
    }
    PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
    PyObject *runpy = PyImport_ImportModule("runpy");
    PyObject *res = NULL;
    if (runpy != NULL &&
        PyDict_SetItemString(builtins, "profile", prof) == 0 &&
        prepare_sys(&a) == 0) {
        PyObject *fn = PyObject_GetAttrString(
            runpy, a.script != NULL ? "run_path" : "run_module");
        PyObject *kw = a.script != NULL
                           ? Py_BuildValue("{ss}", "run_name", "__main__")
                           : Py_BuildValue("{sssO}", "run_name", "__main__",
                                           "alter_sys", Py_True);
        PyObject *pa =
            Py_BuildValue("(s)", a.script != NULL ? a.script : a.module);
        res = fn && kw && pa ? PyObject_Call(fn, pa, kw) : NULL;
        Py_XDECREF(fn);
        Py_XDECREF(kw);
        Py_XDECREF(pa);
    }
    int code = 0;
    PyObject *kbi[3] = {NULL, NULL, NULL};
    if (res == NULL) {
        if (PyErr_ExceptionMatches(PyExc_SystemExit)) {
            code = exit_code_of_system_exit();
        } else if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
            /* raised again after the report: Python prints it and exits
             * by SIGINT, as for the script run alone (cProfile too) */
            PyErr_Fetch(&kbi[0], &kbi[1], &kbi[2]);
        } else if (runpy_refused()) {
            PyObject *type, *value, *tb, *msg;
            PyErr_Fetch(&type, &value, &tb);
            msg = value != NULL ? PyObject_Str(value) : NULL;
            const char *text = msg != NULL ? PyUnicode_AsUTF8(msg) : NULL;
            fprintf(stderr, "peakmem: %s\n",
                    text != NULL ? text : "cannot run");
            PyErr_Clear();
            Py_XDECREF(msg);
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
            code = 1;
        } else {
            PyErr_Print();
            code = 1;
        }
    }
    Py_XDECREF(res);
    if (!a.timestamp) {
        /* a script that left profile enabled: off before the report */
        PyObject *off = PyObject_CallMethod(prof, "disable", NULL);
        Py_XDECREF(off);
        PyErr_Clear();
    }
    if (write_report(&a) < 0 && code == 0) {
        code = 1;
    }
    PyDict_DelItemString(builtins, "profile");
    PyErr_Clear();
    Py_XDECREF(prof);
    Py_XDECREF(runpy);
    for (size_t i = 0; i < run.nstamps; i++) {
        free(run.stamps[i].name);
    }
    PyMem_Free(run.stamps);
    memset(&run, 0, sizeof run);
    if (kbi[0] != NULL) {
        PyErr_Restore(kbi[0], kbi[1], kbi[2]);
        return NULL;
    }
    return PyLong_FromLong(code);
}
