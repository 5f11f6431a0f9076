/* Declarations shared by the files of protocol/ and nothing else: the
 * numbers every rendering of a %memit result agrees on, the display
 * bundle all results share, and the defaults of the wire format. */
#ifndef PM_PROTOCOL_INTERNAL_H
#define PM_PROTOCOL_INTERNAL_H

#include "pm_kernel.h"
#include "pm_protocol.h"

#include <locale.h>
#include <stdint.h>

/* Jupyter message protocol version put in every header. */
#define PM_WIRE_VERSION "5.3"

/* Delimiter between routing frames and the signed parts. */
#define PM_WIRE_DELIM "<IDS|MSG>"

/* IOPub topic used when the caller gives none. */
#define PM_DEFAULT_TOPIC "peakmem.display"

/* The numbers of the text line, in MiB: peak is the highest per-repeat
 * peak (the baseline when no repeat completed) and increment is
 * peak - baseline, computed in floating point as memory_profiler does. */
typedef struct {
    double peak_mib;
    double baseline_mib;
    double increment_mib;
} pm_memit_mib_t;

void pm_memit_mib(const pm_memit_t *m, pm_memit_mib_t *out);

/* Signed difference a - b of two byte counts, saturated to int64_t. */
int64_t pm_bytes_diff(uint64_t a, uint64_t b);

/* Sum of m->wall_s over the completed repeats, seconds. */
double pm_memit_wall_total(const pm_memit_t *m);

/* The exact peak in MiB when the method measured one (the kernel's
 * high-water mark: "hwm" or "hwm+sampled") and a repeat completed; 0 when
 * the peak is itself a sample. Timeline samples are never above it. */
double pm_memit_exact_peak_mib(const pm_memit_t *m);

/* Timeline sample i's MiB, no higher than the exact peak (samples are
 * taken apart from the high-water mark and may read a little more). */
double pm_memit_timeline_mib(const pm_memit_t *m, size_t i);

/* The display_data content {"data": {"text/plain": text, "text/html":
 * html, mime: doc}, "metadata": {}, "transient": {}} every result is shown
 * with. Steals doc; text and html are borrowed. Any argument NULL (a
 * failed rendering) makes it fail. New reference or NULL. */
json_t *pm_display_bundle(const char *text, const char *html, const char *mime,
                          json_t *doc);

/* Escape text for HTML (&, <, >, ", '): what every HTML renderer puts
 * user text through. Caller frees; NULL on ENOMEM. */
char *pm_html_escape(const char *text);

/* json_object_set_new: steals value; fails (returns -1) when value is
 * NULL, so a failed constructor in an argument fails the set. */
static inline int pm_json_set(json_t *obj, const char *key, json_t *value)
{
    return json_object_set_new(obj, key, value);
}

/* A JSON string, or null for NULL. New reference or NULL. */
static inline json_t *pm_json_string_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* {"schema": schema, "version": PM_SCHEMA_VERSION, "statement":
 * statement or ""}: how every document begins. New reference or NULL. */
json_t *pm_json_doc_new(const char *schema, const char *statement);

/* Makes item i of an array from ctx: a new reference, NULL on failure. */
typedef json_t *(*pm_json_item_fn)(const void *ctx, size_t i);

/* The JSON array [item(ctx, 0), ..., item(ctx, n - 1)]: a new reference,
 * or NULL when the array or any item cannot be made (ENOMEM). */
json_t *pm_json_array_map(size_t n, pm_json_item_fn item, const void *ctx);

/* The "C" locale (created once, never freed) for snprintf under
 * uselocale() and for strtod_l: numbers in .dat files and SVG documents
 * use "." whatever the process's LC_NUMERIC. (locale_t)0 when newlocale
 * failed (ENOMEM); callers then keep the current locale. Thread-safe. */
locale_t pm_c_locale(void);

/* Append the base64 (RFC 4648, padded) of len bytes (render_html.c). */
void pm_html_put_base64(pm_strbuf_t *out, const unsigned char *s, size_t len);

/* The --sites block of the HTML result (render_sites.c): nothing when
 * m->sites_on is 0. Appends to out. */
void pm_memit_render_sites_html(pm_strbuf_t *out, const pm_memit_t *m);

#endif
