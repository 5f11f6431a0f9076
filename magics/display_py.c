/* Showing results. Inside an ipykernel a result is published from C as a
 * signed display_data message through the kernel's IOPub pipe and fenced:
 * the call returns once the message has been seen leaving through IOPub,
 * so it lands before the cell's "status: idle" (DESIGN.md). Where the
 * kernel's private pipe is missing the shell's own display publisher is
 * used; outside a kernel the text is printed. Each measurement holds its
 * own route, publisher reference and parent (pm_display_ctx_t), so that
 * unloading the extension while it runs only stops its live line. */
#include "internal.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

enum {
    DISPLAY_UNDECIDED = 0,
    DISPLAY_PRINT,  /* no kernel: print text/plain to sys.stdout */
    DISPLAY_PIPE,   /* our publisher into ipykernel's IOPub pipe */
    DISPLAY_PYTHON, /* shell.display_pub.publish (fallback) */
};

/* How long a result may take to appear on IOPub before we carry on. */
#define FENCE_TIMEOUT_MS 5000

static PyObject *get_attr_chain(PyObject *obj, const char *const *names)
{
    PyObject *cur = Py_NewRef(obj);
    for (; *names != NULL && cur != NULL; names++) {
        PyObject *next = PyObject_GetAttrString(cur, *names);
        Py_DECREF(cur);
        cur = next;
    }
    return cur;
}

static PyObject *kernel_of(PyObject *shell)
{
    if (shell == NULL) {
        return NULL;
    }
    PyObject *kernel = PyObject_GetAttrString(shell, "kernel");
    if (kernel == NULL || kernel == Py_None) {
        PyErr_Clear();
        Py_XDECREF(kernel);
        return NULL;
    }
    return kernel;
}

/* Copy a str or bytes attribute's content; NULL (no exception) if absent
 * or of another type. *len receives its size. Caller frees. */
static char *attr_bytes(PyObject *obj, const char *name, size_t *len)
{
    PyObject *v = PyObject_GetAttrString(obj, name);
    char *copy = NULL;
    const char *data = NULL;
    Py_ssize_t n = 0;
    if (v == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (PyBytes_Check(v)) {
        data = PyBytes_AS_STRING(v);
        n = PyBytes_GET_SIZE(v);
    } else if (PyUnicode_Check(v)) {
        data = PyUnicode_AsUTF8AndSize(v, &n);
    }
    if (data != NULL) {
        copy = malloc((size_t)n + 1);
        if (copy != NULL) {
            memcpy(copy, data, (size_t)n);
            copy[n] = '\0';
            *len = (size_t)n;
        }
    }
    PyErr_Clear();
    Py_DECREF(v);
    return copy;
}

/* The IOPub PUB socket's endpoint, with a wildcard address replaced by the
 * loopback one so that our SUB can connect. Caller frees. */
static char *iopub_endpoint(PyObject *iopub_thread)
{
    static const char *const sock_path[] = {"socket", NULL};
    PyObject *sock = get_attr_chain(iopub_thread, sock_path);
    PyObject *zmq = PyImport_ImportModule("zmq");
    PyObject *opt =
        zmq != NULL ? PyObject_GetAttrString(zmq, "LAST_ENDPOINT") : NULL;
    PyObject *ep = sock != NULL && opt != NULL
                       ? PyObject_CallMethod(sock, "getsockopt", "O", opt)
                       : NULL;
    char *res = NULL;
    if (ep != NULL && PyBytes_Check(ep)) {
        const char *s = PyBytes_AS_STRING(ep);
        const char *wild = strstr(s, "://0.0.0.0:");
        const char *star = strstr(s, "://*:");
        if (wild != NULL || star != NULL) {
            const char *port = strrchr(s, ':');
            size_t n = strlen(port) + 32;
            res = malloc(n);
            if (res != NULL) {
                snprintf(res, n, "tcp://127.0.0.1%s", port);
            }
        } else {
            res = strdup(s);
        }
    }
    PyErr_Clear();
    Py_XDECREF(ep);
    Py_XDECREF(opt);
    Py_XDECREF(zmq);
    Py_XDECREF(sock);
    return res;
}

/* Make the publisher from the kernel's session and IOPub thread. Returns
 * 0, or -1 (no exception) when something private is missing. */
static int open_pipe_publisher(pm_state_t *st, PyObject *kernel)
{
    static const char *const session_path[] = {"session", NULL};
    static const char *const thread_path[] = {"iopub_thread", NULL};
    PyObject *session = get_attr_chain(kernel, session_path);
    PyObject *thread = get_attr_chain(kernel, thread_path);
    PyObject *port = NULL;
    size_t keylen = 0, idlen = 0, userlen = 0, uuidlen = 0, schemelen = 0;
    char *key = NULL, *id = NULL, *user = NULL, *uuid = NULL;
    char *scheme = NULL, *iopub = NULL;
    int rc = -1;

    if (session == NULL || thread == NULL) {
        goto fail;
    }
    key = attr_bytes(session, "key", &keylen);
    id = attr_bytes(session, "session", &idlen);
    user = attr_bytes(session, "username", &userlen);
    scheme = attr_bytes(session, "signature_scheme", &schemelen);
    uuid = attr_bytes(thread, "_pipe_uuid", &uuidlen);
    port = PyObject_GetAttrString(thread, "_pipe_port");
    iopub = iopub_endpoint(thread);
    if (key == NULL || id == NULL || user == NULL || uuid == NULL ||
        port == NULL || !PyLong_Check(port) || scheme == NULL ||
        (keylen > 0 && strcmp(scheme, "hmac-sha256") != 0)) {
        goto fail;
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%ld",
             PyLong_AsLong(port));
    pm_publisher_opts_t opts = {
        .session = {.key = key,
                    .keylen = keylen,
                    .session_id = id,
                    .username = user},
        .pipe_endpoint = endpoint,
        .pipe_uuid = uuid,
        .pipe_uuid_len = uuidlen,
        .iopub_endpoint = iopub,
        .topic = "peakmem.display",
    };
    rc = pm_publisher_new(&opts, &st->publisher) < 0 ? -1 : 0;
fail:
    PyErr_Clear();
    free(key);
    free(id);
    free(user);
    free(scheme);
    free(uuid);
    free(iopub);
    Py_XDECREF(port);
    Py_XDECREF(session);
    Py_XDECREF(thread);
    return rc;
}

static void release_publisher(pm_state_t *st);

void pm_display_open(pm_state_t *st)
{
    release_publisher(st);
    PyObject *kernel = kernel_of(st->shell);
    if (kernel == NULL) {
        st->display_mode = DISPLAY_PRINT;
        return;
    }
    st->display_mode =
        open_pipe_publisher(st, kernel) == 0 ? DISPLAY_PIPE : DISPLAY_PYTHON;
    Py_DECREF(kernel);
}

static int flush_std_streams(void)
{
    static const char *const names[] = {"stdout", "stderr"};
    for (size_t i = 0; i < 2; i++) {
        PyObject *stream = PySys_GetObject(names[i]); /* borrowed */
        if (stream == NULL || stream == Py_None) {
            continue;
        }
        PyObject *res = PyObject_CallMethod(stream, "flush", NULL);
        if (res == NULL) {
            return -1;
        }
        Py_DECREF(res);
    }
    return 0;
}

static int print_text(const char *text)
{
    PyObject *out = PySys_GetObject("stdout"); /* borrowed */
    if (out == NULL || out == Py_None) {
        return 0;
    }
    PyObject *res = PyObject_CallMethod(out, "write", "s", text);
    Py_XDECREF(res);
    res = res != NULL ? PyObject_CallMethod(out, "write", "s", "\n") : NULL;
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

/* The execute_request header of the running cell as JSON text, packed by
 * the kernel's own session (its dates are datetime objects). Returns a
 * new bytes object or NULL with an exception. */
static PyObject *parent_header_json(PyObject *kernel)
{
    PyObject *parent = PyObject_CallMethod(kernel, "get_parent", "s", "shell");
    PyObject *header = NULL, *session = NULL, *packed = NULL;
    if (parent == NULL) {
        return NULL;
    }
    header = PyDict_Check(parent)
                 ? Py_XNewRef(PyDict_GetItemString(parent, "header"))
                 : NULL;
    if (header == NULL) {
        header = PyDict_New();
    }
    session = PyObject_GetAttrString(kernel, "session");
    if (header != NULL && session != NULL) {
        packed = PyObject_CallMethod(session, "pack", "O", header);
    }
    if (packed != NULL && !PyBytes_Check(packed)) {
        Py_CLEAR(packed);
        PyErr_SetString(PyExc_TypeError, "session.pack returned no bytes");
    }
    Py_XDECREF(session);
    Py_XDECREF(header);
    Py_DECREF(parent);
    return packed;
}

static int show_python(PyObject *shell, json_t *content, int update)
{
    char *text = json_dumps(content, JSON_COMPACT);
    PyObject *json = PyImport_ImportModule("json");
    PyObject *data = NULL, *pub = NULL, *res = NULL;
    PyObject *whole = NULL;
    if (text != NULL && json != NULL) {
        whole = PyObject_CallMethod(json, "loads", "s", text);
    }
    if (whole != NULL) {
        data = PyDict_GetItemString(whole, "data");
        Py_XINCREF(data);
    }
    if (data != NULL && shell != NULL) {
        pub = PyObject_GetAttrString(shell, "display_pub");
    } else if (data != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "peakmem: no shell to display the result in");
    }
    PyObject *publish =
        pub != NULL ? PyObject_GetAttrString(pub, "publish") : NULL;
    if (publish != NULL) {
        PyObject *args = PyTuple_New(0);
        PyObject *transient = PyDict_GetItemString(whole, "transient");
        PyObject *kw =
            Py_BuildValue("{s:O,s:{},s:O,s:O}", "data", data, "metadata",
                          "transient", transient != NULL ? transient : Py_None,
                          "update", update ? Py_True : Py_False);
        if (args != NULL && kw != NULL) {
            res = PyObject_Call(publish, args, kw);
        }
        Py_XDECREF(args);
        Py_XDECREF(kw);
        Py_DECREF(publish);
    }
    free(text);
    Py_XDECREF(json);
    Py_XDECREF(whole);
    Py_XDECREF(data);
    Py_XDECREF(pub);
    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    return 0;
}

static int show_pipe(pm_display_ctx_t *ctx, json_t *content, int update)
{
    int rc = pm_publisher_send(ctx->pub,
                               update ? "update_display_data" : "display_data",
                               ctx->parent_json, content);
    if (rc < 0) {
        /* E.g. after a fork: the shell's own publisher still works. */
        return show_python(ctx->shell, content, update);
    }
    Py_BEGIN_ALLOW_THREADS
    /* A timeout only means the echo was not seen: the message is queued
     * in order all the same. */
    (void)pm_publisher_flush(ctx->pub, FENCE_TIMEOUT_MS);
    Py_END_ALLOW_THREADS
    return 0;
}

/* The measurements whose live line runs, so that unload can stop them.
 * One registry per process, not module state: a measurement outlives the
 * module state that began it (%unload_ext or %reload_ext while the
 * statement runs), and unlinks itself here when it ends; unload stops
 * the entries whose owner is its state. A plain mutex rather than the
 * GIL: it is held while a live thread is joined, and those threads never
 * take it. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pm_display_ctx_t *live_head; /* live_lock */

static void live_unlink(pm_display_ctx_t *ctx)
{
    pthread_mutex_lock(&live_lock);
    for (pm_display_ctx_t **p = &live_head; *p != NULL; p = &(*p)->next) {
        if (*p == ctx) {
            *p = ctx->next;
            break;
        }
    }
    ctx->next = NULL;
    pthread_mutex_unlock(&live_lock);
}

void pm_display_begin(pm_state_t *st, pm_display_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->sent_mark = -1;
    ctx->owner = st;
    if (st->display_mode == DISPLAY_UNDECIDED) {
        pm_display_open(st);
    }
    ctx->mode = st->display_mode;
    ctx->shell = Py_XNewRef(st->shell);
    if (ctx->mode != DISPLAY_PIPE) {
        return;
    }
    PyObject *kernel = kernel_of(st->shell);
    PyObject *parent = kernel != NULL ? parent_header_json(kernel) : NULL;
    Py_XDECREF(kernel);
    ctx->parent_json = parent != NULL ? strdup(PyBytes_AS_STRING(parent))
                                      : NULL;
    Py_XDECREF(parent);
    PyErr_Clear();
    if (ctx->parent_json == NULL || st->publisher == NULL) {
        ctx->mode = DISPLAY_PYTHON;
        return;
    }
    ctx->pub = pm_publisher_ref(st->publisher);
}

/* The output messages (stream, display, result, error) the kernel's
 * session has sent since peakmem began counting them (_outputs.py; with
 * install, counting begins now), or -1. peakmem's own publisher does not
 * go through the session. GIL. */
static long long session_count(PyObject *shell, int install)
{
    PyObject *kernel = kernel_of(shell);
    PyObject *session =
        kernel != NULL ? PyObject_GetAttrString(kernel, "session") : NULL;
    PyObject *outputs =
        session != NULL ? PyImport_ImportModule("peakmem._outputs") : NULL;
    PyObject *n = outputs != NULL
                      ? PyObject_CallMethod(outputs, "count", "OO", session,
                                            install ? Py_True : Py_False)
                      : NULL;
    long long count = n != NULL && PyLong_Check(n) ? PyLong_AsLongLong(n) : -1;

    Py_XDECREF(n);
    Py_XDECREF(outputs);
    Py_XDECREF(session);
    Py_XDECREF(kernel);
    PyErr_Clear();
    return count;
}

int pm_display_output_since_live(pm_display_ctx_t *ctx)
{
    if (flush_std_streams() < 0) {
        PyErr_Clear();
        return 1;
    }
    long long now = session_count(ctx->shell, 0);
    return ctx->sent_mark < 0 || now < 0 || now != ctx->sent_mark;
}

int pm_display_live_blank(pm_display_ctx_t *ctx, const char *display_id)
{
    json_t *content = json_pack("{s:{s:s},s:{},s:{s:s}}", "data",
                                "text/plain", "", "metadata", "transient",
                                "display_id", display_id);
    if (content == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = pm_display_result(ctx, content, "", 1);
    json_decref(content);
    return rc;
}

/* The live line's sender on the display_pub route, called by the live
 * thread (and by pm_liveview_stop's caller) without the GIL: it takes the
 * GIL and publishes through the shell's display publisher in a copy of
 * the context the measurement began in, so that ipykernel 7 (parent
 * headers in context variables) gives it the cell's parent. ipykernel's
 * IOPub socket takes sends from any thread (its IOPub thread queues them
 * in order), so the line goes out before the result, which the magic
 * publishes after joining the thread. Every caller has released the GIL
 * before joining the thread (pm_display_live_stop, pm_display_end,
 * pm_display_close), or this would wait for it forever. Errors are
 * dropped: the line is only not shown. */
static int send_python(void *arg, const char *msg_type, json_t *content)
{
    pm_display_ctx_t *ctx = arg;
    int rc = -1;
    PyGILState_STATE g = PyGILState_Ensure();
    /* The stopping thread may come with the statement's exception set
     * (the "stopped after" line): kept aside, and put back. */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (PyContext_Enter(ctx->context) == 0) {
        /* Prints before go out before the line, as show_python's callers
         * do. sent_mark moves past the line when it was the one message
         * publish made and nothing came out since the last update (the
         * first may follow prints: they stay above it): other output
         * below the line keeps the result from replacing it
         * (pm_display_output_since_live). */
        long long before = flush_std_streams() == 0
                               ? session_count(ctx->shell, 0)
                               : -1;
        rc = show_python(ctx->shell, content,
                         strcmp(msg_type, "update_display_data") == 0);
        long long after = session_count(ctx->shell, 0);
        int first = strcmp(msg_type, "display_data") == 0;
        if (rc == 0 && before >= 0 && after == before + 1 &&
            (first || ctx->sent_mark == before)) {
            ctx->sent_mark = after;
        }
        (void)PyContext_Exit(ctx->context);
    }
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    PyGILState_Release(g);
    return rc < 0 ? -1 : 0;
}

void pm_display_live_start(pm_display_ctx_t *ctx, pm_sampler_t *sampler,
                           const char *statement)
{
    if (ctx->live != NULL) {
        return;
    }
    if (ctx->mode == DISPLAY_PRINT) {
        pm_tty_live_start(ctx, sampler, statement);
        return;
    }
    if ((ctx->mode != DISPLAY_PIPE && ctx->mode != DISPLAY_PYTHON) ||
        ctx->shell == NULL) {
        return;
    }
    pm_liveview_opts_t lo = {
        .statement = statement,
        .sampler = sampler,
    };
    if (ctx->mode == DISPLAY_PIPE) {
        lo.pub = ctx->pub;
        lo.parent_json = ctx->parent_json;
    } else {
        Py_CLEAR(ctx->context);
        ctx->context = PyContext_CopyCurrent();
        if (ctx->context == NULL) {
            PyErr_Clear();
            return; /* no live line; the result still comes */
        }
        lo.send = send_python;
        lo.send_arg = ctx;
    }
    /* what the cell printed so far goes out before the live line can */
    if (flush_std_streams() < 0) {
        PyErr_Clear();
    }
    ctx->sent_mark = session_count(ctx->shell, 1);
    if (pm_liveview_start(&lo, &ctx->live) < 0) {
        ctx->live = NULL; /* no live line; the result still comes */
        return;
    }
    pthread_mutex_lock(&live_lock);
    ctx->next = live_head;
    live_head = ctx;
    pthread_mutex_unlock(&live_lock);
}

/* Stop (join) and free a live view with the GIL released: the fallback
 * route's sender takes the GIL in the live thread. GIL held on entry. */
static int live_stop_nogil(pm_liveview_t *lv, int stopped,
                           char display_id[37], int and_free)
{
    int shown;
    Py_BEGIN_ALLOW_THREADS
    shown = pm_liveview_stop(lv, stopped, display_id);
    if (and_free) {
        pm_liveview_free(lv);
    }
    Py_END_ALLOW_THREADS
    return shown;
}

int pm_display_live_stop(pm_display_ctx_t *ctx, int stopped,
                         char display_id[37])
{
    if (ctx->live == NULL) {
        return 0;
    }
    live_unlink(ctx);
    int shown = live_stop_nogil(ctx->live, stopped, display_id, 1);
    ctx->live = NULL;
    pm_tty_live_restore(ctx);
    return shown;
}

int pm_display_result(pm_display_ctx_t *ctx, json_t *content,
                      const char *text, int update)
{
    if (flush_std_streams() < 0) {
        return -1;
    }
    switch (ctx->mode) {
    case DISPLAY_PIPE:
        return show_pipe(ctx, content, update);
    case DISPLAY_PYTHON:
        return show_python(ctx->shell, content, update);
    default:
        return print_text(text);
    }
}

void pm_display_end(pm_display_ctx_t *ctx)
{
    if (ctx->live != NULL) {
        live_unlink(ctx);
        (void)live_stop_nogil(ctx->live, 0, NULL, 1);
        ctx->live = NULL;
    }
    pm_tty_live_restore(ctx);
    Py_CLEAR(ctx->context);
    pm_publisher_unref(ctx->pub);
    ctx->pub = NULL;
    free(ctx->parent_json);
    ctx->parent_json = NULL;
    Py_CLEAR(ctx->shell);
}

int pm_display_show(pm_state_t *st, json_t *content, const char *text,
                    int update)
{
    pm_display_ctx_t ctx;
    pm_display_begin(st, &ctx);
    int rc = pm_display_result(&ctx, content, text, update);
    pm_display_end(&ctx);
    return rc;
}

/* Drop st's publisher reference (running measurements keep theirs). */
static void release_publisher(pm_state_t *st)
{
    pm_publisher_unref(st->publisher);
    st->publisher = NULL;
    st->display_mode = DISPLAY_UNDECIDED;
}

void pm_display_close(pm_state_t *st)
{
    /* Unload: no live thread of this module publishes after it returns.
     * Each measurement still frees its own view, and shows its result
     * through its own publisher reference. */
    int running = 0;
    pthread_mutex_lock(&live_lock);
    for (pm_display_ctx_t *c = live_head; c != NULL; c = c->next) {
        running |= c->owner == st;
    }
    pthread_mutex_unlock(&live_lock);
    if (running) {
        /* without the GIL: a fallback route's live thread takes it */
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&live_lock);
        for (pm_display_ctx_t *c = live_head; c != NULL; c = c->next) {
            if (c->owner == st) {
                (void)pm_liveview_stop(c->live, 0, NULL);
            }
        }
        pthread_mutex_unlock(&live_lock);
        Py_END_ALLOW_THREADS
    }
    release_publisher(st);
    /* session.send is the method again, unless a running measurement
     * still compares its count (then it stays, and a load reuses it) */
    PyObject *kernel =
        st->shell != NULL && !running ? kernel_of(st->shell) : NULL;
    PyObject *session =
        kernel != NULL ? PyObject_GetAttrString(kernel, "session") : NULL;
    PyObject *outputs =
        session != NULL ? PyImport_ImportModule("peakmem._outputs") : NULL;
    PyObject *res = outputs != NULL ? PyObject_CallMethod(
                                          outputs, "uninstall", "O", session)
                                    : NULL;
    Py_XDECREF(res);
    Py_XDECREF(outputs);
    Py_XDECREF(session);
    Py_XDECREF(kernel);
    PyErr_Clear();
}

const char *pm_display_route(pm_state_t *st)
{
    if (st->shell == NULL) {
        return "none";
    }
    if (st->display_mode == DISPLAY_UNDECIDED) {
        pm_display_open(st);
    }
    switch (st->display_mode) {
    case DISPLAY_PIPE:
        return "pipe";
    case DISPLAY_PYTHON:
        return "display_pub";
    default:
        return "print";
    }
}
