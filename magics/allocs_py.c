/* Allocation tracking for `%memit --sites`: the hooks that see the
 * statement's allocations (Python's raw, mem and object allocators, and
 * NumPy's data buffers through a NEP 49 handler) and the frame capture
 * that says where each came from. The bookkeeping (sampler, live map,
 * sites, peak snapshot) is kernel/alloc.c and kernel/sites.c.
 *
 * Hooks never raise and never allocate through Python while they hold
 * the engine's lock: a thread-local flag lets allocations made by the
 * original allocator (pymalloc falls back to the raw domain) or by the
 * frame capture itself pass through untracked. Tracking is on only while
 * a --sites statement runs (`active`); otherwise the hooks are not even
 * installed. */
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* Mean spacing of sample points for small allocations, and the size from
 * which every allocation is tracked exactly (PEAKMEM_SITES_SAMPLE sets
 * the spacing; 0 tracks everything exactly). */
#define SAMPLE_BYTES_DEFAULT 16384
#define EXACT_BYTES 131072
#define WALK_MAX 512 /* frames walked at most per captured allocation */

/* One wrapped domain: the allocator that was in place. */
typedef struct {
    PyMemAllocatorEx orig;
    PyMemAllocatorDomain domain;
    int chained; /* ours is still in this domain's chain: another hook
                    (tracemalloc) wrapped it during a statement and ours
                    could not be taken out; it passes everything through
                    while not tracking, and orig stays what it wraps */
} hook_ctx_t;

/* The tracking state. Allocator hooks are process-wide, so this is one
 * per process: its plain fields are written under the GIL while the hooks
 * are not tracking (active 0); the hooks read them, and use the atomics,
 * from any thread. */
static struct {
    hook_ctx_t hooks[3];  /* the allocators ours wrap */
    int installed;        /* GIL */
    atomic_int active;    /* 1 while the statement runs */
    atomic_int inflight;  /* hooks inside the engine right now */
    atomic_uint generation;   /* a new measurement reseeds samplers */
    atomic_uint threads_seen; /* samplers seeded this generation */
    pm_alloc_t engine;    /* its own lock; made once (engine_ready) */
    int engine_ready;
    PyObject *root_code;  /* the statement's code (strong) */
    double sample_bytes;
    uint64_t sample_seed;
    int cell_shift; /* added to lines of the statement's own file */
    /* stdlib directory ("/usr/lib/python3.11/"), to tell libraries */
    char stdlib_dir[1024];
    size_t stdlib_len;
    PyObject *np_old_handler; /* to restore in pm_allocs_stop */
    PyObject *(*np_set)(PyObject *); /* numpy's PyDataMem_SetHandler, kept
                                        from the install: numpy may have
                                        left sys.modules since */
    int np_installed;
} trk;

/* This thread's hook state. initial-exec: a fixed offset from the thread
 * pointer, no __tls_get_addr call on every allocation (glibc keeps spare
 * static TLS for modules loaded later; this is a few dozen bytes). */
static _Thread_local __attribute__((tls_model("initial-exec"))) struct {
    int in_orig;   /* inside an original allocator: pass through */
    int capturing; /* walking frames: allocations pass through */
    unsigned generation;
    pm_alloc_sampler_t sampler;
} tl;

/* ---- where an allocation came from ----------------------------------*/

/* 1 for code in a library: site-packages, dist-packages, the standard
 * library, frozen modules. Reads co_filename's UTF-8 (cached; ASCII
 * names need no allocation). GIL. */
static int is_library(PyCodeObject *co)
{
    Py_ssize_t n;
    const char *fn = PyUnicode_AsUTF8AndSize(co->co_filename, &n);

    if (fn == NULL) {
        PyErr_Clear();
        return 0;
    }
    return strstr(fn, "/site-packages/") != NULL ||
           strstr(fn, "/dist-packages/") != NULL ||
           strncmp(fn, "<frozen ", 8) == 0 ||
           (trk.stdlib_len > 0 && strncmp(fn, trk.stdlib_dir, trk.stdlib_len) == 0);
}

/* The site of the allocation being made on this thread (see
 * PM_SITE_FRAMES): the innermost Python frame; for a library frame the
 * innermost frame outside libraries; the measured statement's own frame
 * when it is further out. Without the GIL (raw allocations of threads
 * that run no Python) all stay 0. Called with tl.capturing set, so what
 * the frame API allocates is not tracked. */
static void capture(pm_site_frame_t *frames)
{
    memset(frames, 0, sizeof(pm_site_frame_t) * PM_SITE_FRAMES);
    if (!PyGILState_Check()) {
        return;
    }
    /* the statement may be handling an exception: keep it as it is */
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyFrameObject *f = PyThreadState_GetFrame(PyThreadState_Get());
    int want_user = 0; /* still looking for a frame outside libraries */
    for (int depth = 0; f != NULL && depth < WALK_MAX; depth++) {
        PyCodeObject *co = PyFrame_GetCode(f);
        int is_root = (PyObject *)co == trk.root_code;
        int slot = -1;
        if (depth == 0) {
            slot = 0;
            want_user = is_library(co);
        } else if (want_user && !is_library(co)) {
            slot = 1;
            want_user = 0;
        } else if (is_root) {
            slot = 2;
        }
        if (slot >= 0) {
            frames[slot].code = (uintptr_t)co;
            frames[slot].line = PyFrame_GetLineNumber(f);
        }
        Py_DECREF(co);
        if (is_root) {
            break;
        }
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    Py_XDECREF(f);
    PyErr_Restore(et, ev, tb);
}

/* A new block p of size bytes: sample, capture, record. Code objects
 * seen for the first time are kept alive (a reference each, dropped in
 * pm_allocs_stop) so their names can be read at the end. */
static void track(void *p, size_t size)
{
    /* the sampler first: thread-local, so the allocations it skips (most
     * of them) cost no atomic read-modify-write */
    unsigned gen = atomic_load_explicit(&trk.generation, memory_order_acquire);
    if (tl.generation != gen) {
        /* deterministic: the n-th thread to allocate in the n-th
         * measurement gets the same seed in every run */
        uint64_t k = atomic_fetch_add(&trk.threads_seen, 1) + 1;
        pm_alloc_sampler_init(&tl.sampler, trk.sample_bytes, EXACT_BYTES,
                              trk.sample_seed ^ ((uint64_t)gen << 32) ^
                                  (k * 0x9e3779b97f4a7c15ULL));
        tl.generation = gen;
    }
    uint64_t w = pm_alloc_sampler_weight(&tl.sampler, size);
    if (w == 0) {
        return;
    }
    atomic_fetch_add(&trk.inflight, 1);
    if (atomic_load(&trk.active)) {
        pm_site_frame_t frames[PM_SITE_FRAMES];
        unsigned fresh = 0;
        tl.capturing = 1;
        capture(frames);
        pm_alloc_add(&trk.engine, (uintptr_t)p, w, frames, &fresh);
        for (unsigned i = 0; i < PM_SITE_FRAMES; i++) {
            if (fresh & (1u << i)) { /* only captured under the GIL */
                Py_INCREF((PyObject *)frames[i].code);
            }
        }
        tl.capturing = 0;
    }
    atomic_fetch_sub(&trk.inflight, 1);
}

/* A block going away. Most were never tracked: the engine's filter says
 * so without a lock (its storage lives as long as the process). held
 * (may be NULL) gets what was taken out, for retrack. */
static void untrack(void *p, pm_alloc_held_t *held)
{
    if (held != NULL) {
        held->weight = 0;
    }
    if (!pm_alloc_may_hold(&trk.engine, (uintptr_t)p)) {
        return;
    }
    atomic_fetch_add(&trk.inflight, 1);
    if (atomic_load(&trk.active)) {
        pm_alloc_remove(&trk.engine, (uintptr_t)p, held);
    }
    atomic_fetch_sub(&trk.inflight, 1);
}

/* A realloc that untracked p failed: p lives on, as tracked as before. */
static void retrack(void *p, const pm_alloc_held_t *held)
{
    if (held->weight == 0) {
        return;
    }
    atomic_fetch_add(&trk.inflight, 1);
    if (atomic_load(&trk.active)) {
        pm_alloc_restore(&trk.engine, (uintptr_t)p, held);
    }
    atomic_fetch_sub(&trk.inflight, 1);
}

static int tracking_here(void)
{
    return !tl.in_orig && !tl.capturing &&
           atomic_load_explicit(&trk.active, memory_order_relaxed);
}

/* ---- PyMem hooks ------------------------------------------------------*/

static void *hook_malloc(void *ctx, size_t size)
{
    hook_ctx_t *h = ctx;
    if (!tracking_here()) {
        return h->orig.malloc(h->orig.ctx, size);
    }
    int nested = tl.in_orig;
    tl.in_orig = 1;
    void *p = h->orig.malloc(h->orig.ctx, size);
    tl.in_orig = nested;
    if (p != NULL) {
        track(p, size == 0 ? 1 : size);
    }
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    hook_ctx_t *h = ctx;
    if (!tracking_here()) {
        return h->orig.calloc(h->orig.ctx, nelem, elsize);
    }
    int nested = tl.in_orig;
    tl.in_orig = 1;
    void *p = h->orig.calloc(h->orig.ctx, nelem, elsize);
    tl.in_orig = nested;
    if (p != NULL) {
        size_t size = nelem * elsize; /* no overflow: calloc succeeded */
        track(p, size == 0 ? 1 : size);
    }
    return p;
}

static void *hook_realloc(void *ctx, void *ptr, size_t size)
{
    hook_ctx_t *h = ctx;
    if (tl.in_orig || !atomic_load_explicit(&trk.active, memory_order_relaxed)) {
        return h->orig.realloc(h->orig.ctx, ptr, size);
    }
    /* forget the old block before it can be handed to another thread */
    pm_alloc_held_t held = {0, 0, 0};
    if (ptr != NULL) {
        untrack(ptr, &held);
    }
    int nested = tl.in_orig;
    tl.in_orig = 1;
    void *p = h->orig.realloc(h->orig.ctx, ptr, size);
    tl.in_orig = nested;
    if (p == NULL && ptr != NULL && size != 0) {
        retrack(ptr, &held); /* it failed: the old block lives on (a
                                realloc to 0 may free it instead) */
    } else if (p != NULL && !tl.capturing) {
        track(p, size == 0 ? 1 : size);
    }
    return p;
}

static void hook_free(void *ctx, void *ptr)
{
    hook_ctx_t *h = ctx;
    /* frees made while capturing are still untracked: a frame object
     * that was itself a tracked allocation may die there */
    if (ptr != NULL && !tl.in_orig &&
        atomic_load_explicit(&trk.active, memory_order_relaxed)) {
        untrack(ptr, NULL);
    }
    int nested = tl.in_orig; /* a free inside an original allocator */
    tl.in_orig = 1;
    h->orig.free(h->orig.ctx, ptr);
    tl.in_orig = nested;
}

static const PyMemAllocatorDomain domains[3] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

/* 1 when ours is the allocator in place in domain i. */
static int ours_in_place(int i)
{
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(domains[i], &cur);
    return cur.malloc == hook_malloc && cur.ctx == &trk.hooks[i];
}

/* Wrap each domain's allocator, except where ours is still in the chain
 * from an earlier statement (wrapping ours would make it call itself).
 * GIL. */
static void hooks_install(void)
{
    for (int i = 0; i < 3; i++) {
        if (trk.hooks[i].chained) {
            continue;
        }
        trk.hooks[i].domain = domains[i];
        PyMem_GetAllocator(domains[i], &trk.hooks[i].orig);
        PyMemAllocatorEx ours = {&trk.hooks[i], hook_malloc, hook_calloc,
                                 hook_realloc, hook_free};
        PyMem_SetAllocator(domains[i], &ours);
    }
    trk.installed = 1;
}

/* Put the original allocators back where ours are the ones in place
 * (again: tracemalloc, stopped since, put ours back). Where another hook
 * wraps ours (tracemalloc started inside the statement), ours stay under
 * it, passing everything through (trk.active is 0), and *left is set.
 * GIL. */
static void hooks_uninstall(int *left)
{
    for (int i = 0; i < 3; i++) {
        trk.hooks[i].chained = !ours_in_place(i);
        if (trk.hooks[i].chained) {
            *left = 1;
        } else {
            PyMem_SetAllocator(domains[i], &trk.hooks[i].orig);
        }
    }
    trk.installed = 0;
}

/* ---- NumPy's data buffers (NEP 49) --------------------------------------
 * NumPy allocates array data through the PyDataMem_Handler held in a
 * context variable; PyDataMem_SetHandler installs one for the current
 * context. The layouts below are NEP 49's (numpy/ndarraytypes.h, 1.22+),
 * declared here because numpy's headers are not a build dependency. */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
} np_allocator_t;

typedef struct {
    char name[127]; /* a multiple of 64 bytes with version, per NEP 49 */
    uint8_t version; /* 1 */
    np_allocator_t allocator;
} np_handler_t;

/* Our handler, owned by its capsule: it wraps prev (kept alive by prev_
 * capsule) and lives as long as any array made with it. */
typedef struct {
    np_handler_t handler;
    np_allocator_t prev;
    PyObject *prev_capsule;
} np_hook_t;

/* The name numpy.core.multiarray.get_handler_name() reports. */
#define NP_HANDLER_NAME "peakmem_sites"

/* Slots of numpy's C-API table (the _ARRAY_API capsule of
 * numpy[._]core._multiarray_umath), numpy_api.py: both MinVersion 1.22,
 * unchanged in 2.x. */
#define NP_API_SET_HANDLER 304
#define NP_API_GET_HANDLER 305

typedef PyObject *(*np_set_handler_fn)(PyObject *);
typedef PyObject *(*np_get_handler_fn)(void);

static void *np_malloc(void *ctx, size_t size)
{
    np_hook_t *h = ctx;
    void *p = h->prev.malloc(h->prev.ctx, size);
    if (p != NULL && tracking_here()) {
        track(p, size == 0 ? 1 : size);
    }
    return p;
}

static void *np_calloc(void *ctx, size_t nelem, size_t elsize)
{
    np_hook_t *h = ctx;
    void *p = h->prev.calloc(h->prev.ctx, nelem, elsize);
    if (p != NULL && tracking_here()) {
        size_t size = nelem * elsize;
        track(p, size == 0 ? 1 : size);
    }
    return p;
}

static void *np_realloc(void *ctx, void *ptr, size_t size)
{
    np_hook_t *h = ctx;
    int on = tracking_here();
    pm_alloc_held_t held = {0, 0, 0};
    if (on && ptr != NULL) {
        untrack(ptr, &held);
    }
    void *p = h->prev.realloc(h->prev.ctx, ptr, size);
    if (p == NULL && ptr != NULL && size != 0) {
        retrack(ptr, &held); /* it failed: the old block lives on (a
                                realloc to 0 may free it instead) */
    } else if (p != NULL && on) {
        track(p, size == 0 ? 1 : size);
    }
    return p;
}

static void np_free(void *ctx, void *ptr, size_t size)
{
    np_hook_t *h = ctx;
    if (ptr != NULL && !tl.in_orig &&
        atomic_load_explicit(&trk.active, memory_order_relaxed)) {
        untrack(ptr, NULL);
    }
    h->prev.free(h->prev.ctx, ptr, size);
}

static void np_hook_destroy(PyObject *capsule)
{
    np_hook_t *h = PyCapsule_GetPointer(capsule, "mem_handler");
    if (h != NULL) {
        Py_XDECREF(h->prev_capsule);
        PyMem_RawFree(h);
    } else {
        PyErr_Clear();
    }
}

/* numpy's PyDataMem_SetHandler and PyDataMem_GetHandler when numpy (1.22
 * or later) is already imported; 0 with both set, else -1 (no error
 * set). numpy is never imported here: it costs, and the statement may not
 * use it. */
static int np_api(np_set_handler_fn *set, np_get_handler_fn *get)
{
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    if (PyDict_GetItemString(modules, "numpy") == NULL) {
        return -1;
    }
    static const char *names[] = {"numpy._core._multiarray_umath",
                                  "numpy.core._multiarray_umath"};
    PyObject *cap = NULL;
    for (size_t i = 0; i < 2 && cap == NULL; i++) {
        PyObject *m = PyDict_GetItemString(modules, names[i]);
        if (m != NULL) {
            cap = PyObject_GetAttrString(m, "_ARRAY_API");
            if (cap == NULL) {
                PyErr_Clear();
            }
        }
    }
    if (cap == NULL || !PyCapsule_CheckExact(cap)) {
        Py_XDECREF(cap);
        return -1;
    }
    void **api = PyCapsule_GetPointer(cap, PyCapsule_GetName(cap));
    Py_DECREF(cap); /* the table is static in numpy's module */
    if (api == NULL) {
        PyErr_Clear();
        return -1;
    }
    /* PyArray_GetNDArrayCFeatureVersion (slot 211): 1.22 is 0xf */
    unsigned (*feature)(void) = (unsigned (*)(void))api[211];
    if (feature == NULL || feature() < 0xf) {
        return -1;
    }
    *set = (np_set_handler_fn)api[NP_API_SET_HANDLER];
    *get = (np_get_handler_fn)api[NP_API_GET_HANDLER];
    return *set != NULL && *get != NULL ? 0 : -1;
}


/* Install our handler in the current context (where the statement
 * runs). Returns 1 when installed, 0 when numpy is not in use (or too
 * old), -1 with an exception. GIL. */
static int np_install(void)
{
    np_set_handler_fn set;
    np_get_handler_fn get;
    if (np_api(&set, &get) < 0) {
        return 0;
    }
    PyObject *prev = get();
    if (prev == NULL) {
        return -1;
    }
    np_handler_t *ph = PyCapsule_GetPointer(prev, "mem_handler");
    np_hook_t *h = ph != NULL ? PyMem_RawCalloc(1, sizeof *h) : NULL;
    if (h == NULL) {
        Py_DECREF(prev);
        if (ph != NULL) {
            PyErr_NoMemory();
        }
        return -1;
    }
    snprintf(h->handler.name, sizeof h->handler.name, "%s", NP_HANDLER_NAME);
    h->handler.version = 1;
    h->handler.allocator =
        (np_allocator_t){h, np_malloc, np_calloc, np_realloc, np_free};
    h->prev = ph->allocator;
    h->prev_capsule = prev; /* owned */
    PyObject *capsule = PyCapsule_New(h, "mem_handler", np_hook_destroy);
    if (capsule == NULL) {
        Py_DECREF(prev);
        PyMem_RawFree(h);
        return -1;
    }
    PyObject *old = set(capsule);
    Py_DECREF(capsule); /* the context variable holds it */
    if (old == NULL) {
        return -1;
    }
    trk.np_old_handler = old;
    trk.np_set = set;
    return 1;
}

static void np_uninstall(void)
{
    if (trk.np_old_handler == NULL) {
        return;
    }
    PyObject *ours = trk.np_set(trk.np_old_handler);
    if (ours == NULL) {
        PyErr_WriteUnraisable(NULL);
    }
    Py_XDECREF(ours);
    Py_CLEAR(trk.np_old_handler);
}

/* ---- start, pause, stop ----------------------------------------------*/


/* In a child forked during a statement: its hooks pass everything
 * through, and the engine's lock, which a thread that is not in the
 * child may have held at the fork, is made anew (the child may go on
 * with the statement and end the measurement). */
static void child_off(void)
{
    atomic_store(&trk.active, 0);
    atomic_store(&trk.inflight, 0);
    pm_alloc_after_fork_child(&trk.engine);
}

/* PEAKMEM_SITES_SAMPLE, unset or empty: the default. 0, or -1 with
 * UsageError. */
static int sample_bytes_from_env(pm_state_t *st, double *out)
{
    const char *env = getenv("PEAKMEM_SITES_SAMPLE");
    char err[300];
    *out = SAMPLE_BYTES_DEFAULT;
    if (env != NULL && env[0] != '\0' &&
        pm_parse_sample_bytes(env, out, err, sizeof err) < 0) {
        pm_py_usage_error(st, err);
        return -1;
    }
    return 0;
}

int pm_allocs_start(pm_state_t *st, PyObject *root, int shift)
{
    if (trk.installed) {
        pm_py_usage_error(st, "--sites: an outer %memit --sites is "
                              "tracking (one at a time in a process)");
        return -1;
    }
    if (sample_bytes_from_env(st, &trk.sample_bytes) < 0) {
        return -1;
    }
    const char *env = getenv("PEAKMEM_SITES_SEED");
    trk.sample_seed = env != NULL ? strtoull(env, NULL, 10) : 0x5eed;
    if (trk.stdlib_len == 0) {
        PyObject *sysconfig = PyImport_ImportModule("sysconfig");
        PyObject *path = sysconfig != NULL
                             ? PyObject_CallMethod(sysconfig, "get_path",
                                                   "s", "stdlib")
                             : NULL;
        const char *s = path != NULL ? PyUnicode_AsUTF8(path) : NULL;
        if (s != NULL && strlen(s) + 2 < sizeof trk.stdlib_dir) {
            snprintf(trk.stdlib_dir, sizeof trk.stdlib_dir, "%s/", s);
            trk.stdlib_len = strlen(trk.stdlib_dir);
        }
        Py_XDECREF(path);
        Py_XDECREF(sysconfig);
        /* without it, only the stdlib is not told apart; a Ctrl-C that
         * landed in it stops the magic before the statement */
        if (pm_py_clear_optional() < 0) {
            return -1;
        }
    }
    /* made once and kept: hooks left on other threads may still read its
     * filter; reset between measurements */
    if (!trk.engine_ready) {
        int rc = pm_alloc_init(&trk.engine);
        if (rc == 0 && (rc = -pthread_atfork(NULL, NULL, child_off)) < 0) {
            pm_alloc_close(&trk.engine);
        }
        if (rc < 0) {
            pm_py_raise(rc);
            return -1;
        }
        trk.engine_ready = 1;
    } else {
        pm_alloc_reset(&trk.engine);
    }
    trk.np_installed = np_install();
    if (trk.np_installed < 0) {
        return -1;
    }
    trk.root_code = Py_NewRef(root);
    trk.cell_shift = shift;
    atomic_store(&trk.threads_seen, 0);
    atomic_fetch_add(&trk.generation, 1);
    hooks_install();
    return 0;
}

void pm_allocs_resume(void)
{
    if (trk.installed) {
        atomic_store(&trk.active, 1);
    }
}

void pm_allocs_pause(void)
{
    atomic_store(&trk.active, 0);
    /* a hook that saw trk.active set may still be inside the engine */
    while (atomic_load(&trk.inflight) != 0) {
        sched_yield();
    }
}

int pm_allocs_stop(PyObject *shell, size_t nsites, pm_sites_report_t *out)
{
    int left = 0, rc = 0;

    memset(out, 0, sizeof *out);
    if (!trk.installed) {
        return 0;
    }
    pm_allocs_pause();
    hooks_uninstall(&left);
    /* while the restored allocators run: what follows allocates freely */
    np_uninstall();
    pm_alloc_finish(&trk.engine);
    out->allocated_peak_bytes = pm_alloc_peak(&trk.engine);
    out->sample_bytes = (uint64_t)trk.sample_bytes;
    pm_site_where_t where = {
        .shell = shell,
        .root_file = trk.root_code != NULL
                         ? ((PyCodeObject *)trk.root_code)->co_filename
                         : NULL,
        .shift = trk.cell_shift,
        .stdlib_dir = trk.stdlib_len > 0 ? trk.stdlib_dir : NULL,
    };
    if (pm_sites_describe_top(&where, &trk.engine.sites, nsites, out) < 0) {
        rc = -1;
        goto done;
    }
    char note[300] = "";
    if (trk.np_installed == 0) {
        PyObject *modules = PyImport_GetModuleDict();
        if (PyDict_GetItemString(modules, "numpy") != NULL) {
            pm_fmt(note, sizeof note,
                   "numpy was imported by the statement (or is older than "
                   "1.22): its array data is not tracked in this run");
        }
    }
    if (left) {
        size_t k = strlen(note);
        pm_fmt(note + k, sizeof note - k, "%sanother allocator hook was "
               "installed during the statement",
               k > 0 ? "; " : "");
    }
    if (note[0] != '\0' && (out->note = strdup(note)) == NULL) {
        PyErr_NoMemory();
        rc = -1;
    }
done:
    /* the code objects kept since they were first seen */
    for (size_t i = 0; i < trk.engine.sites.codes_cap; i++) {
        if (trk.engine.sites.codes[i] != 0) {
            Py_DECREF((PyObject *)trk.engine.sites.codes[i]);
        }
    }
    pm_alloc_reset(&trk.engine); /* frees the sites and the map */
    Py_CLEAR(trk.root_code);
    if (rc < 0) {
        pm_sites_report_clear(out);
    }
    return rc;
}
