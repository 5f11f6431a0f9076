/* A %memit result as the versioned JSON document "peakmem.memit" (see
 * protocol/SCHEMA.md), and the display_data mime bundle that carries a
 * result's document next to its text and HTML forms (shared by all). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* json_real refuses NaN and infinities; those become null. */
static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *pm_json_array_map(size_t n, pm_json_item_fn item, const void *ctx)
{
    json_t *list = json_array();

    for (size_t i = 0; list != NULL && i < n; i++) {
        if (json_array_append_new(list, item(ctx, i)) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* {"peak_bytes", "increment_bytes", "wall_s"} of repeat i. */
static json_t *run_to_json(const void *ctx, size_t i)
{
    const pm_memit_t *m = ctx;
    json_t *run = json_object();

    if (run == NULL ||
        pm_json_set(run, "peak_bytes",
                    json_integer((json_int_t)m->peak_bytes[i])) ||
        pm_json_set(run, "increment_bytes",
                    json_integer(
                        pm_bytes_diff(m->peak_bytes[i], m->baseline_bytes))) ||
        pm_json_set(run, "wall_s",
                    m->wall_s != NULL ? real_or_null(m->wall_s[i])
                                      : json_null())) {
        json_decref(run);
        return NULL;
    }
    return run;
}

/* Repeat i's peak in MiB (memory_profiler's mem_usage list). */
static json_t *mem_usage_to_json(const void *ctx, size_t i)
{
    const pm_memit_t *m = ctx;

    return json_real((double)m->peak_bytes[i] / PM_MIB);
}

/* [t_s, MiB] of timeline sample i: RSS over the run, no higher than an
 * exact peak_bytes. */
static json_t *sample_to_json(const void *ctx, size_t i)
{
    const pm_memit_t *m = ctx;

    return json_pack("[ff]", m->timeline[i].t, pm_memit_timeline_mib(m, i));
}

static json_t *bytes_or_null(uint64_t v)
{
    return v > 0 ? json_integer((json_int_t)v) : json_null();
}

json_t *pm_json_doc_new(const char *schema, const char *statement)
{
    json_t *doc = json_object();

    if (doc == NULL || pm_json_set(doc, "schema", json_string(schema)) ||
        pm_json_set(doc, "version", json_integer(PM_SCHEMA_VERSION)) ||
        pm_json_set(doc, "statement",
                    json_string(statement != NULL ? statement : ""))) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* {"n": "20", ...}: the statement's simple names and their values. */
static json_t *names_to_json(const pm_memit_t *m)
{
    json_t *names = json_object();

    for (size_t i = 0; names != NULL && i < m->nnames; i++) {
        if (pm_json_set(names, m->names[i].name,
                        json_string(m->names[i].value))) {
            json_decref(names);
            return NULL;
        }
    }
    return names;
}

/* {"where", "source", "via_where", "via_source", "statement_where",
 * "statement_source", "bytes", "share"} */
static json_t *site_to_json(const void *ctx, size_t i)
{
    const pm_memit_t *m = ctx;
    const pm_memit_site_t *s = &m->sites[i];

    return json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:o}", "where", s->where,
        "source", s->source != NULL ? s->source : "", "via_where",
        pm_json_string_or_null(s->via_where), "via_source",
        pm_json_string_or_null(s->via_where != NULL ? s->via_source : NULL),
        "statement_where", pm_json_string_or_null(s->stmt_where),
        "statement_source",
        pm_json_string_or_null(s->stmt_where != NULL ? s->stmt_source : NULL),
        "bytes", (json_int_t)s->bytes, "share",
        m->allocated_peak_bytes > 0
            ? json_real((double)s->bytes / (double)m->allocated_peak_bytes)
            : json_null());
}

/* The --sites fields: null when tracking was off. */
static int sites_to_json(json_t *doc, const pm_memit_t *m)
{
    if (!m->sites_on) {
        return pm_json_set(doc, "allocated_peak_bytes", json_null()) ||
               pm_json_set(doc, "untracked_bytes", json_null()) ||
               pm_json_set(doc, "sample_bytes", json_null()) ||
               pm_json_set(doc, "sites", json_null());
    }
    return pm_json_set(doc, "allocated_peak_bytes",
                       json_integer((json_int_t)m->allocated_peak_bytes)) ||
           pm_json_set(doc, "untracked_bytes",
                       json_integer((json_int_t)pm_memit_untracked(m))) ||
           pm_json_set(doc, "sample_bytes",
                       json_integer((json_int_t)m->sample_bytes)) ||
           pm_json_set(doc, "sites",
                       pm_json_array_map(m->nsites, site_to_json, m));
}

/* {"pid", "ppid", "command", "peak_bytes", "exited"} of child i. */
static json_t *child_to_json(const void *ctx, size_t i)
{
    const pm_memit_child_t *c = &((const pm_memit_t *)ctx)->children[i];

    return json_pack("{s:i, s:i, s:s, s:I, s:b}", "pid", c->pid, "ppid",
                     c->ppid, "command",
                     c->command != NULL ? c->command : "", "peak_bytes",
                     (json_int_t)c->peak_bytes, "exited", c->exited != 0);
}

/* -c's two totals and each descendant, or null without the exact path. */
static json_t *children_to_json(const pm_memit_t *m)
{
    if (!m->include_children || m->sum_of_peaks_bytes == 0) {
        return json_null();
    }
    json_t *kids = json_object();
    if (kids == NULL ||
        pm_json_set(kids, "sum_of_peaks_bytes",
                    json_integer((json_int_t)m->sum_of_peaks_bytes)) ||
        pm_json_set(kids, "peak_of_sum_bytes",
                    json_integer((json_int_t)pm_memit_peak(m))) ||
        pm_json_set(kids, "peak_of_sum_interval",
                    real_or_null(m->interval_s)) ||
        pm_json_set(kids, "processes",
                    pm_json_array_map(m->nchildren, child_to_json, m))) {
        json_decref(kids);
        return NULL;
    }
    return kids;
}

/* --dask's totals over the workers (not the scheduler), or null. */
static json_t *cluster_to_json(const pm_memit_t *m)
{
    uint64_t peak = 0, limit = 0;
    int64_t inc = 0;
    int n = 0, down = 0, paused = 0, killed = 0;
    size_t i;
    json_t *w;

    if (m->workers == NULL) {
        return json_null();
    }
    json_array_foreach(m->workers, i, w)
    {
        const char *role = json_string_value(json_object_get(w, "role"));
        if (role == NULL || strcmp(role, "worker") != 0) {
            continue;
        }
        n++;
        json_t *p = json_object_get(w, "peak_bytes");
        if (!json_is_integer(p)) {
            down++;
            continue;
        }
        peak += (uint64_t)json_integer_value(p);
        inc += json_integer_value(json_object_get(w, "increment_bytes"));
        limit += (uint64_t)json_integer_value(
            json_object_get(w, "memory_limit_bytes"));
        paused += json_is_true(json_object_get(w, "pause_crossed"));
        killed += json_is_true(json_object_get(w, "kill_crossed"));
    }
    return json_pack("{s:i, s:i, s:I, s:I, s:I, s:i, s:i}", "workers", n,
                     "not_measured", down, "peak_sum_bytes",
                     (json_int_t)peak, "increment_sum_bytes", (json_int_t)inc,
                     "memory_limit_sum_bytes", (json_int_t)limit,
                     "pause_crossed", paused, "kill_crossed", killed);
}

json_t *pm_memit_to_json(const pm_memit_t *m)
{
    json_t *doc = pm_json_doc_new("peakmem.memit", m->statement);
    char *text = pm_memit_render_text(m);
    uint64_t peak = pm_memit_peak(m);
    int has_setup = m->setup != NULL && m->setup[0] != '\0';

    if (doc == NULL || text == NULL ||
        pm_json_set(doc, "setup",
                    has_setup ? json_string(m->setup) : json_null()) ||
        pm_json_set(doc, "method", pm_json_string_or_null(m->method)) ||
        pm_json_set(doc, "repeat", json_integer(m->repeat)) ||
        pm_json_set(doc, "timeout",
                    m->timeout_s > 0 ? real_or_null(m->timeout_s)
                                     : json_null()) ||
        pm_json_set(doc, "interval", real_or_null(m->interval_s)) ||
        pm_json_set(doc, "include_children",
                    json_boolean(m->include_children != 0)) ||
        pm_json_set(doc, "baseline_bytes",
                    json_integer((json_int_t)m->baseline_bytes)) ||
        pm_json_set(doc, "peak_bytes", json_integer((json_int_t)peak)) ||
        pm_json_set(doc, "increment_bytes",
                    json_integer(pm_bytes_diff(peak, m->baseline_bytes))) ||
        pm_json_set(doc, "runs", pm_json_array_map(m->n, run_to_json, m)) ||
        pm_json_set(doc, "mem_usage_mib",
                    pm_json_array_map(m->n, mem_usage_to_json, m)) ||
        pm_json_set(doc, "text", json_string(text)) ||
        pm_json_set(doc, "timeline",
                    pm_json_array_map(m->ntimeline, sample_to_json, m)) ||
        pm_json_set(doc, "limit_bytes", bytes_or_null(m->limit_bytes)) ||
        pm_json_set(doc, "over_limit", json_boolean(pm_memit_over_limit(m))) ||
        pm_json_set(doc, "cgroup_limit_bytes",
                    bytes_or_null(m->cgroup_limit_bytes)) ||
        pm_json_set(
            doc, "peak_share_of_cgroup_limit",
            m->cgroup_limit_bytes > 0
                ? json_real((double)peak / (double)m->cgroup_limit_bytes)
                : json_null()) ||
        pm_json_set(doc, "names", names_to_json(m)) ||
        pm_json_set(doc, "children", children_to_json(m)) ||
        pm_json_set(doc, "workers",
                    m->workers != NULL ? json_deep_copy(m->workers)
                                       : json_null()) ||
        pm_json_set(doc, "cluster", cluster_to_json(m)) ||
        pm_json_set(doc, "version", json_integer(PM_SCHEMA_VERSION_MEMIT)) ||
        sites_to_json(doc, m)) {
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
    if (pm_json_set(bundle, "data", data) ||
        pm_json_set(data, "text/plain", json_string(text)) ||
        pm_json_set(data, "text/html", json_string(html)) ||
        pm_json_set(data, mime, doc) ||
        pm_json_set(bundle, "metadata", json_object()) ||
        pm_json_set(bundle, "transient", json_object())) {
        goto fail;
    }
    return bundle;

fail:
    json_decref(bundle);
    return NULL;
}

json_t *pm_memit_bundle(const pm_memit_t *m)
{
    char *text = pm_memit_render_text_full(m);
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
