/* A %mprun line profile as the versioned JSON document "peakmem.mprun"
 * (see protocol/SCHEMA.md) and as the display_data mime bundle that
 * carries it next to the text and HTML forms. */
#include "internal.h"

#include <stdlib.h>

/* Steals value; fails (returns -1) when value is NULL. */
static int set(json_t *obj, const char *key, json_t *value)
{
    return json_object_set_new(obj, key, value);
}

static json_t *string_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* A byte count, or null for a line that never ran (its numbers are
 * blank in the table). */
static json_t *bytes_if(int ran, json_int_t bytes)
{
    return ran ? json_integer(bytes) : json_null();
}

static json_t *line_to_json(const pm_mprun_line_t *line, int show_peak)
{
    json_t *obj = json_object();
    int ran = line->occurrences > 0;

    if (obj == NULL) {
        return NULL;
    }
    if (set(obj, "lineno", json_integer(line->lineno)) ||
        set(obj, "source",
            json_string(line->source != NULL ? line->source : "")) ||
        set(obj, "occurrences", json_integer((json_int_t)line->occurrences)) ||
        set(obj, "mem_bytes", bytes_if(ran, (json_int_t)line->mem_bytes)) ||
        set(obj, "increment_bytes", bytes_if(ran, line->increment_bytes)) ||
        set(obj, "peak_bytes",
            bytes_if(ran && show_peak, (json_int_t)line->peak_bytes)) ||
        set(obj, "ran", json_boolean(ran))) {
        goto fail;
    }
    return obj;

fail:
    json_decref(obj);
    return NULL;
}

static json_t *block_to_json(const pm_mprun_block_t *b, int show_peak)
{
    json_t *obj = json_object(), *lines = json_array();

    if (obj == NULL || lines == NULL) {
        json_decref(lines);
        goto fail;
    }
    if (set(obj, "filename",
            json_string(b->filename != NULL ? b->filename : "")) ||
        set(obj, "function", string_or_null(b->function)) ||
        set(obj, "first_line", json_integer(b->first_line)) ||
        set(obj, "lines", lines)) {
        goto fail;
    }
    for (size_t i = 0; i < b->nlines; i++) {
        if (json_array_append_new(lines,
                                  line_to_json(&b->lines[i], show_peak))) {
            goto fail;
        }
    }
    return obj;

fail:
    json_decref(obj);
    return NULL;
}

static json_t *blocks_to_json(const pm_mprun_t *m)
{
    json_t *blocks = json_array();

    if (blocks == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < m->nblocks; i++) {
        if (json_array_append_new(
                blocks, block_to_json(&m->blocks[i], m->show_peak))) {
            json_decref(blocks);
            return NULL;
        }
    }
    return blocks;
}

json_t *pm_mprun_to_json(const pm_mprun_t *m)
{
    json_t *doc = json_object();
    char *text = NULL;
    int has_message = m->message != NULL && m->message[0] != '\0';

    if (doc == NULL) {
        return NULL;
    }
    text = pm_mprun_render_text(m);
    if (text == NULL) {
        goto fail;
    }
    if (set(doc, "schema", json_string("peakmem.mprun")) ||
        set(doc, "version", json_integer(PM_SCHEMA_VERSION)) ||
        set(doc, "statement",
            json_string(m->statement != NULL ? m->statement : "")) ||
        set(doc, "precision", json_integer(m->precision)) ||
        set(doc, "include_children", json_boolean(m->include_children != 0)) ||
        set(doc, "show_peak", json_boolean(m->show_peak != 0)) ||
        set(doc, "message",
            has_message ? json_string(m->message) : json_null()) ||
        set(doc, "blocks", blocks_to_json(m)) ||
        set(doc, "text", json_string(text))) {
        goto fail;
    }
    free(text);
    return doc;

fail:
    free(text);
    json_decref(doc);
    return NULL;
}

json_t *pm_mprun_bundle(const pm_mprun_t *m)
{
    char *text = pm_mprun_render_text(m);
    char *html = pm_mprun_render_html(m);
    json_t *bundle =
        pm_display_bundle(text, html, PM_MIME_MPRUN, pm_mprun_to_json(m));

    free(text);
    free(html);
    return bundle;
}
