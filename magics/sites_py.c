/* --sites: how a site is shown (where, and its source line), and the
 * report's memory. GIL. */
#include "internal.h"

#include <string.h>

int pm_site_describe(const pm_site_where_t *c, uintptr_t code, int line,
                     char **where, char **source)
{
    PyObject *shell = c->shell, *linecache = c->linecache;
    PyObject *fn = ((PyCodeObject *)code)->co_filename;
    PyObject *count = NULL;
    char buf[1200];
    /* Each lookup may fail (a shell without IPython's compiler, an odd
     * file name): the site is then shown with less; a Ctrl-C that lands
     * in one stops the report. */
    PyObject *compiler = PyObject_GetAttrString(shell, "compile");
    PyObject *map = compiler != NULL
                        ? PyObject_GetAttrString(compiler, "_filename_map")
                        : NULL;
    int rc = pm_py_clear_optional();
    if (rc == 0 && map != NULL && PyDict_Check(map)) {
        count = PyDict_GetItemWithError(map, fn); /* borrowed */
        rc = pm_py_clear_optional();
    }
    const char *name = rc == 0 ? PyUnicode_AsUTF8(fn) : NULL;
    if (rc == 0 && name == NULL) {
        rc = pm_py_clear_optional();
        name = "?";
    }
    int shown = line;
    if (rc == 0 && c->root_file != NULL &&
        PyUnicode_Compare(fn, c->root_file) == 0) {
        shown += c->shift;
    }
    if (rc < 0 || pm_py_clear_optional() < 0) {
        Py_XDECREF(map);
        Py_XDECREF(compiler);
        return -1;
    }
    if (count != NULL && PyLong_Check(count)) {
        pm_fmt(buf, sizeof buf, "In [%ld] line %d", PyLong_AsLong(count),
               shown);
    } else {
        /* a library file from its package on: "numpy/core/numeric.py" */
        static const char *dirs[] = {"/site-packages/", "/dist-packages/"};
        for (size_t k = 0; k < 2; k++) {
            const char *at = strstr(name, dirs[k]);
            if (at != NULL) {
                name = at + strlen(dirs[k]);
                break;
            }
        }
        size_t n = c->stdlib_dir != NULL ? strlen(c->stdlib_dir) : 0;
        if (n > 0 && strncmp(name, c->stdlib_dir, n) == 0) {
            name += n;
        }
        pm_fmt(buf, sizeof buf, "%s:%d", name, line);
    }
    Py_XDECREF(map);
    Py_XDECREF(compiler);
    *where = strdup(buf);
    *source = NULL;
    PyObject *text = linecache != NULL
                         ? PyObject_CallMethod(linecache, "getline", "Oi",
                                               fn, line)
                         : NULL;
    PyObject *stripped =
        text != NULL ? PyObject_CallMethod(text, "strip", NULL) : NULL;
    const char *s = stripped != NULL ? PyUnicode_AsUTF8(stripped) : NULL;
    rc = pm_py_clear_optional();
    *source = strdup(s != NULL ? s : "");
    Py_XDECREF(text);
    Py_XDECREF(stripped);
    if (rc < 0) {
        return -1;
    }
    if (*where == NULL || *source == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

int pm_sites_describe_top(const pm_site_where_t *where,
                          const pm_sites_t *sites, size_t nsites,
                          pm_sites_report_t *out)
{
    int rc = 0;
    const pm_site_t **top = calloc(nsites > 0 ? nsites : 1, sizeof *top);
    out->items = calloc(nsites > 0 ? nsites : 1, sizeof *out->items);
    pm_site_where_t w = *where;
    w.linecache = PyImport_ImportModule("linecache");
    if (pm_py_clear_optional() < 0) {
        rc = -1; /* a Ctrl-C: the report is given up */
    } else if (top == NULL || out->items == NULL) {
        PyErr_NoMemory();
        rc = -1;
    }
    size_t n = rc == 0 ? pm_sites_top(sites, top, nsites) : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const pm_site_t *s = top[i];
        pm_memit_site_t *o = &out->items[out->n++];
        char *at[PM_SITE_FRAMES] = {NULL}, *src[PM_SITE_FRAMES] = {NULL};
        o->bytes = (uint64_t)s->peak_bytes;
        for (int k = 0; k < PM_SITE_FRAMES && rc == 0; k++) {
            if (s->frames[k].code != 0) {
                rc = pm_site_describe(&w, s->frames[k].code,
                                      s->frames[k].line, &at[k], &src[k]);
            } else if (k == 0) {
                at[0] = strdup("(no Python frame)");
                src[0] = strdup("");
                rc = at[0] != NULL && src[0] != NULL ? 0 : -1;
            }
        }
        /* a comprehension's frame shows the statement's own line */
        if (at[2] != NULL &&
            ((at[0] != NULL && strcmp(at[2], at[0]) == 0) ||
             (at[1] != NULL && strcmp(at[2], at[1]) == 0))) {
            free(at[2]);
            free(src[2]);
            at[2] = src[2] = NULL;
        }
        o->where = at[0];
        o->source = src[0];
        o->via_where = at[1];
        o->via_source = src[1];
        o->stmt_where = at[2];
        o->stmt_source = src[2];
        if (rc < 0 && !PyErr_Occurred()) {
            PyErr_NoMemory();
        }
    }
    free(top);
    Py_XDECREF(w.linecache);
    return rc;
}

void pm_sites_report_clear(pm_sites_report_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->items[i].where);
        free((char *)r->items[i].source);
        free((char *)r->items[i].via_where);
        free((char *)r->items[i].via_source);
        free((char *)r->items[i].stmt_where);
        free((char *)r->items[i].stmt_source);
    }
    free(r->items);
    free(r->note);
    memset(r, 0, sizeof *r);
}

