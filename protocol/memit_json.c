/* A %memit result as the versioned JSON document "peakmem.memit" (see
 * protocol/SCHEMA.md), and the display_data mime bundle that carries a
 * result's document next to its text and HTML forms (shared by all). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* json_real refuses NaN and infinities; those become null. */
static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *string_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* Steals value; fails (returns -1) when value is NULL. */
static int set(json_t *obj, const char *key, json_t *value)
{
    return json_object_set_new(obj, key, value);
}

static json_t *runs_to_json(const pm_memit_t *m)
{
    json_t *runs = json_array();

    if (runs == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++) {
        json_t *run = json_object();
        if (run == NULL || json_array_append_new(runs, run) != 0) {
            goto fail;
        }
        if (set(run, "peak_bytes",
                json_integer((json_int_t)m->peak_bytes[i])) ||
            set(run, "increment_bytes",
                json_integer(
                    pm_bytes_diff(m->peak_bytes[i], m->baseline_bytes))) ||
            set(run, "wall_s",
                m->wall_s != NULL ? real_or_null(m->wall_s[i])
                                  : json_null())) {
            goto fail;
        }
    }
    return runs;

fail:
    json_decref(runs);
    return NULL;
}

static json_t *mem_usage_to_json(const pm_memit_t *m)
{
    json_t *usage = json_array();

    if (usage == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (json_array_append_new(
                usage, json_real((double)m->peak_bytes[i] / PM_MIB))) {
            json_decref(usage);
            return NULL;
        }
    }
    return usage;
}

/* [[t_s, MiB], ...]: RSS over the run. */
static json_t *timeline_to_json(const pm_memit_t *m)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < m->ntimeline; i++) {
        if (json_array_append_new(list, json_pack("[ff]", m->timeline[i].t,
                                                  m->timeline[i].mib)) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

static json_t *bytes_or_null(uint64_t v)
{
    return v > 0 ? json_integer((json_int_t)v) : json_null();
}

json_t *pm_memit_to_json(const pm_memit_t *m)
{
    json_t *doc = json_object();
    uint64_t peak = pm_memit_peak(m);
    char *text = NULL;
    int has_setup = m->setup != NULL && m->setup[0] != '\0';

    if (doc == NULL) {
        return NULL;
    }
    text = pm_memit_render_text(m);
    if (text == NULL) {
        goto fail;
    }
    if (set(doc, "schema", json_string("peakmem.memit")) ||
        set(doc, "version", json_integer(PM_SCHEMA_VERSION)) ||
        set(doc, "statement",
            json_string(m->statement != NULL ? m->statement : "")) ||
        set(doc, "setup", has_setup ? json_string(m->setup) : json_null()) ||
        set(doc, "method", string_or_null(m->method)) ||
        set(doc, "repeat", json_integer(m->repeat)) ||
        set(doc, "timeout",
            m->timeout_s > 0 ? real_or_null(m->timeout_s) : json_null()) ||
        set(doc, "interval", real_or_null(m->interval_s)) ||
        set(doc, "include_children", json_boolean(m->include_children != 0)) ||
        set(doc, "baseline_bytes",
            json_integer((json_int_t)m->baseline_bytes)) ||
        set(doc, "peak_bytes", json_integer((json_int_t)peak)) ||
        set(doc, "increment_bytes",
            json_integer(pm_bytes_diff(peak, m->baseline_bytes))) ||
        set(doc, "runs", runs_to_json(m)) ||
        set(doc, "mem_usage_mib", mem_usage_to_json(m)) ||
        set(doc, "text", json_string(text)) ||
        set(doc, "timeline", timeline_to_json(m)) ||
        set(doc, "limit_bytes", bytes_or_null(m->limit_bytes)) ||
        set(doc, "over_limit", json_boolean(pm_memit_over_limit(m))) ||
        set(doc, "cgroup_limit_bytes", bytes_or_null(m->cgroup_limit_bytes)) ||
        set(doc, "peak_share_of_cgroup_limit",
            m->cgroup_limit_bytes > 0
                ? json_real((double)peak / (double)m->cgroup_limit_bytes)
                : json_null())) {
        goto fail;
    }
    free(text);
    return doc;

fail:
    free(text);
    json_decref(doc);
    return NULL;
}

json_t *pm_display_bundle(const char *text, const char *html, const char *mime,
                          json_t *doc)
{
    json_t *bundle = json_object(), *data = json_object();

    if (text == NULL || html == NULL || doc == NULL || bundle == NULL ||
        data == NULL) {
        json_decref(data);
        json_decref(doc);
        goto fail;
    }
    if (set(bundle, "data", data) ||
        set(data, "text/plain", json_string(text)) ||
        set(data, "text/html", json_string(html)) || set(data, mime, doc) ||
        set(bundle, "metadata", json_object()) ||
        set(bundle, "transient", json_object())) {
        goto fail;
    }
    return bundle;

fail:
    json_decref(bundle);
    return NULL;
}

json_t *pm_memit_bundle(const pm_memit_t *m)
{
    char *text = pm_memit_render_text(m);
    char *html = pm_memit_render_html(m);
    json_t *bundle =
        pm_display_bundle(text, html, PM_MIME_MEMIT, pm_memit_to_json(m));
    if (bundle != NULL && m->display_id != NULL &&
        json_object_set_new(json_object_get(bundle, "transient"), "display_id",
                            json_string(m->display_id)) != 0) {
        json_decref(bundle);
        bundle = NULL;
    }

    free(text);
    free(html);
    return bundle;
}
