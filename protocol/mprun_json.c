/* A %mprun line profile as the versioned JSON document "peakmem.mprun"
 * (see protocol/SCHEMA.md) and as the display_data mime bundle that
 * carries it next to the text and HTML forms. */
#include "internal.h"

#include <stdlib.h>

/* A byte count, or null for a line that never ran (its numbers are
 * blank in the table). */
static json_t *bytes_if(int ran, json_int_t bytes)
{
    return ran ? json_integer(bytes) : json_null();
}

/* What an item of an array of lines or blocks is made from. */
typedef struct {
    const void *items;
    int show_peak;
} items_t;

static json_t *line_to_json(const void *ctx, size_t i)
{
    const items_t *in = ctx;
    const pm_mprun_line_t *line = (const pm_mprun_line_t *)in->items + i;
    int show_peak = in->show_peak;
    json_t *obj = json_object();
    int ran = line->occurrences > 0;

    if (obj == NULL) {
        return NULL;
    }
    if (pm_json_set(obj, "lineno", json_integer(line->lineno)) ||
        pm_json_set(obj, "source",
                    json_string(line->source != NULL ? line->source : "")) ||
        pm_json_set(obj, "occurrences",
                    json_integer((json_int_t)line->occurrences)) ||
        pm_json_set(obj, "mem_bytes",
                    bytes_if(ran, (json_int_t)line->mem_bytes)) ||
        pm_json_set(obj, "increment_bytes",
                    bytes_if(ran, line->increment_bytes)) ||
        pm_json_set(
            obj, "peak_bytes",
            bytes_if(ran && show_peak, (json_int_t)line->peak_bytes)) ||
        pm_json_set(obj, "ran", json_boolean(ran))) {
        goto fail;
    }
    return obj;

fail:
    json_decref(obj);
    return NULL;
}

static json_t *block_to_json(const void *ctx, size_t i)
{
    const items_t *in = ctx;
    const pm_mprun_block_t *b = (const pm_mprun_block_t *)in->items + i;
    items_t lines = {b->lines, in->show_peak};
    json_t *obj = json_object();

    if (obj == NULL ||
        pm_json_set(obj, "filename",
                    json_string(b->filename != NULL ? b->filename : "")) ||
        pm_json_set(obj, "function", pm_json_string_or_null(b->function)) ||
        pm_json_set(obj, "first_line", json_integer(b->first_line)) ||
        pm_json_set(obj, "lines",
                    pm_json_array_map(b->nlines, line_to_json, &lines))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *pm_mprun_to_json(const pm_mprun_t *m)
{
    json_t *doc = pm_json_doc_new("peakmem.mprun", m->statement);
    char *text = pm_mprun_render_text(m);
    items_t blocks = {m->blocks, m->show_peak};
    int has_message = m->message != NULL && m->message[0] != '\0';

    if (doc == NULL || text == NULL ||
        pm_json_set(doc, "precision", json_integer(m->precision)) ||
        pm_json_set(doc, "include_children",
                    json_boolean(m->include_children != 0)) ||
        pm_json_set(doc, "show_peak", json_boolean(m->show_peak != 0)) ||
        pm_json_set(doc, "message",
                    has_message ? json_string(m->message) : json_null()) ||
        pm_json_set(doc, "blocks",
                    pm_json_array_map(m->nblocks, block_to_json, &blocks)) ||
        pm_json_set(doc, "text", json_string(text))) {
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
