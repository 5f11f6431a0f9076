/* The stand-ins for sys.stdout and sys.stderr while a %memit live line
 * shows on a terminal (terminal IPython): each write wipes the line
 * first and goes to the real stream, flushed when it ends a line, so the
 * statement's own output lands on clean lines and the live line is drawn
 * again below it (ttyline.c). Every other attribute is the real
 * stream's. Also the print route's live line that puts them in place. */
#include "internal.h"

#include <stdatomic.h>
#include <unistd.h>

typedef struct {
    PyObject_HEAD
    PyObject *stream;   /* the real sys.stdout or sys.stderr (own ref) */
    pm_ttyline_t *line; /* own reference */
} TtyStreamObject;

static int ttystream_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(((TtyStreamObject *)op)->stream);
    return 0;
}

static int ttystream_clear(PyObject *op)
{
    Py_CLEAR(((TtyStreamObject *)op)->stream);
    return 0;
}

static void ttystream_dealloc(PyObject *op)
{
    TtyStreamObject *self = (TtyStreamObject *)op;
    PyObject_GC_UnTrack(op);
    ttystream_clear(op);
    pm_ttyline_unref(self->line);
    PyObject_GC_Del(op);
}

/* Where text leaves the cursor: 1 after a final newline, 0 mid-line, -1
 * for empty text (or not text): unchanged. */
static int ends_line(PyObject *text)
{
    Py_ssize_t n;
    if (PyUnicode_Check(text)) {
        n = PyUnicode_GET_LENGTH(text);
        return n == 0 ? -1 : PyUnicode_READ_CHAR(text, n - 1) == '\n';
    }
    if (PyBytes_Check(text)) {
        n = PyBytes_GET_SIZE(text);
        return n == 0 ? -1 : PyBytes_AS_STRING(text)[n - 1] == '\n';
    }
    return -1;
}

static PyObject *ttystream_write(PyObject *op, PyObject *text)
{
    TtyStreamObject *self = (TtyStreamObject *)op;
    /* Without the GIL: the live thread may be writing under the line's
     * lock, to a terminal that can stall. */
    Py_BEGIN_ALLOW_THREADS
    pm_ttyline_pause(self->line);
    Py_END_ALLOW_THREADS
    PyObject *res = PyObject_CallMethod(self->stream, "write", "O", text);
    int at_start = res != NULL ? ends_line(text) : -1;
    /* Text that ends a line reaches the terminal before the line may be
     * drawn again; text that does not keeps the line off until one does
     * (print() writes its text, then "\n"), so it needs no flush. */
    PyObject *flushed =
        at_start == 1 ? PyObject_CallMethod(self->stream, "flush", NULL)
                      : Py_NewRef(Py_None);
    pm_ttyline_resume(self->line, at_start);
    if (res == NULL || flushed == NULL) {
        Py_XDECREF(res);
        Py_XDECREF(flushed);
        return NULL;
    }
    Py_DECREF(flushed);
    return res;
}

static PyObject *ttystream_writelines(PyObject *op, PyObject *lines)
{
    PyObject *it = PyObject_GetIter(lines);
    PyObject *item;
    if (it == NULL) {
        return NULL;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        PyObject *res = ttystream_write(op, item);
        Py_DECREF(item);
        if (res == NULL) {
            Py_DECREF(it);
            return NULL;
        }
        Py_DECREF(res);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Own attributes first, then the real stream's (encoding, fileno, ...). */
static PyObject *ttystream_getattro(PyObject *op, PyObject *name)
{
    PyObject *v = PyObject_GenericGetAttr(op, name);
    if (v != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError)) {
        return v;
    }
    PyErr_Clear();
    return PyObject_GetAttr(((TtyStreamObject *)op)->stream, name);
}

static int ttystream_setattro(PyObject *op, PyObject *name, PyObject *value)
{
    return PyObject_SetAttr(((TtyStreamObject *)op)->stream, name, value);
}

static PyMethodDef ttystream_methods[] = {
    {"write", ttystream_write, METH_O,
     "Write to the real stream, below peakmem's live line."},
    {"writelines", ttystream_writelines, METH_O,
     "write() each item of an iterable."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ttystream_type = {
    PyVarObject_HEAD_INIT(NULL, 0) /* no comma: the macro has one */
    .tp_name = "peakmem._TtyStream",
    .tp_basicsize = sizeof(TtyStreamObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "sys.stdout or sys.stderr while peakmem's live line shows "
              "on the terminal.",
    .tp_dealloc = ttystream_dealloc,
    .tp_traverse = ttystream_traverse,
    .tp_clear = ttystream_clear,
    .tp_getattro = ttystream_getattro,
    .tp_setattro = ttystream_setattro,
    .tp_methods = ttystream_methods,
};

PyObject *pm_ttystream_new(PyObject *stream, pm_ttyline_t *line)
{
    TtyStreamObject *self;
    if (PyType_Ready(&ttystream_type) < 0) {
        return NULL;
    }
    self = PyObject_GC_New(TtyStreamObject, &ttystream_type);
    if (self == NULL) {
        return NULL;
    }
    self->stream = Py_NewRef(stream);
    self->line = pm_ttyline_ref(line);
    PyObject_GC_Track((PyObject *)self);
    return (PyObject *)self;
}

int pm_ttystream_check(PyObject *obj)
{
    return Py_IS_TYPE(obj, &ttystream_type);
}

/* ---- the print route's live line (display_py.c calls) ------------------*/

/* One terminal live line at a time in the process (the terminal is the
 * process's): a %memit nested in a measured statement, or one in another
 * thread, draws none. Atomic: set by exchange, cleared by its owner. */
static atomic_int tty_busy;

static const char *const std_names[2] = {"stdout", "stderr"};

/* The descriptor of a sys stream when it is a terminal, else -1. Flushes
 * the stream. No exception. */
static int stream_tty_fd(PyObject *stream)
{
    int fd = -1;
    if (stream == NULL || stream == Py_None) {
        return -1;
    }
    PyObject *res = PyObject_CallMethod(stream, "flush", NULL);
    Py_XDECREF(res);
    PyObject *no = res != NULL ? PyObject_CallMethod(stream, "fileno", NULL)
                               : NULL;
    if (no != NULL && PyLong_Check(no)) {
        long v = PyLong_AsLong(no);
        fd = v >= 0 && v <= 65535 && isatty((int)v) ? (int)v : -1;
    }
    Py_XDECREF(no);
    PyErr_Clear();
    return fd;
}

void pm_tty_live_restore(pm_display_ctx_t *ctx)
{
    if (ctx->tty == NULL) {
        return;
    }
    for (size_t i = 0; i < 2; i++) {
        if (ctx->stand_ins[i] != NULL &&
            PySys_GetObject(std_names[i]) == ctx->stand_ins[i] &&
            PySys_SetObject(std_names[i], ctx->real_streams[i]) < 0) {
            PyErr_Clear();
        }
        Py_CLEAR(ctx->stand_ins[i]);
        Py_CLEAR(ctx->real_streams[i]);
    }
    /* a stand-in kept by the statement only passes its writes on now */
    (void)pm_ttyline_close(ctx->tty);
    pm_ttyline_unref(ctx->tty);
    ctx->tty = NULL;
    atomic_store(&tty_busy, 0);
}

void pm_tty_live_start(pm_display_ctx_t *ctx, pm_sampler_t *sampler,
                           const char *statement)
{
    int fd = stream_tty_fd(PySys_GetObject("stderr"));
    if (fd < 0 || atomic_exchange(&tty_busy, 1)) {
        return;
    }
    if (pm_ttyline_new(fd, 0, &ctx->tty) < 0) {
        ctx->tty = NULL;
        atomic_store(&tty_busy, 0);
        return;
    }
    for (size_t i = 0; i < 2; i++) {
        PyObject *real = PySys_GetObject(std_names[i]); /* borrowed */
        if (stream_tty_fd(real) < 0) {
            continue; /* not on the terminal: cannot meet the line */
        }
        PyObject *stand_in = pm_ttystream_new(real, ctx->tty);
        if (stand_in == NULL || PySys_SetObject(std_names[i], stand_in) < 0) {
            PyErr_Clear();
            Py_XDECREF(stand_in);
            continue;
        }
        ctx->real_streams[i] = Py_NewRef(real);
        ctx->stand_ins[i] = stand_in;
    }
    pm_liveview_opts_t lo = {
        .tty = ctx->tty,
        .statement = statement,
        .sampler = sampler,
    };
    if (pm_liveview_start(&lo, &ctx->live) < 0) {
        ctx->live = NULL;
        pm_tty_live_restore(ctx);
    }
}
