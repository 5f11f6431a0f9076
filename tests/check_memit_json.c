/* Check tests for the "peakmem.memit" JSON document and the display_data
 * mime bundle that carries it (schema: protocol/SCHEMA.md). */
#include "check_util.h"
#include "pm_kernel.h"
#include "pm_protocol.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t peaks[] = {60 * PM_MIB, 80 * PM_MIB + PM_MIB / 4,
                                 70 * PM_MIB};
static const double walls[] = {0.5, 0.25, 0.125};

static pm_memit_t sample(void)
{
    pm_memit_t m = {
        .statement = "a = [1] * (10 ** 7)  # é",
        .setup = "import numpy as np",
        .repeat = 3,
        .timeout_s = 2.5,
        .interval_s = 0.1,
        .include_children = 1,
        .method = "hwm",
        .baseline_bytes = 50 * PM_MIB,
        .n = 3,
        .peak_bytes = peaks,
        .wall_s = walls,
    };
    return m;
}

static json_int_t int_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

static double real_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_real(v), "%s is not a real", key);
    return json_real_value(v);
}

static const char *str_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

START_TEST(test_json_has_schema_and_options)
{
    pm_memit_t m = sample();
    json_t *doc = pm_memit_to_json(&m);

    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(str_at(doc, "schema"), "peakmem.memit");
    ck_assert_int_eq(int_at(doc, "version"), PM_SCHEMA_VERSION_MEMIT);
    ck_assert_str_eq(str_at(doc, "statement"), "a = [1] * (10 ** 7)  # é");
    ck_assert_str_eq(str_at(doc, "setup"), "import numpy as np");
    ck_assert_str_eq(str_at(doc, "method"), "hwm");
    ck_assert_int_eq(int_at(doc, "repeat"), 3);
    ck_assert_double_eq(real_at(doc, "timeout"), 2.5);
    ck_assert_double_eq(real_at(doc, "interval"), 0.1);
    ck_assert(json_is_true(json_object_get(doc, "include_children")));
    json_decref(doc);
}
END_TEST

START_TEST(test_json_has_byte_counts_and_text)
{
    pm_memit_t m = sample();
    json_t *doc = pm_memit_to_json(&m);

    ck_assert_int_eq(int_at(doc, "baseline_bytes"), 50 * PM_MIB);
    ck_assert_int_eq(int_at(doc, "peak_bytes"), 80 * PM_MIB + PM_MIB / 4);
    ck_assert_int_eq(int_at(doc, "increment_bytes"), 30 * PM_MIB + PM_MIB / 4);
    ck_assert_str_eq(str_at(doc, "text"),
                     "peak memory: 80.25 MiB, increment: 30.25 MiB");
    json_decref(doc);
}
END_TEST

START_TEST(test_json_lists_runs_and_mem_usage)
{
    pm_memit_t m = sample();
    json_t *doc = pm_memit_to_json(&m);
    json_t *runs = json_object_get(doc, "runs");
    json_t *usage = json_object_get(doc, "mem_usage_mib");

    ck_assert(json_is_array(runs));
    ck_assert_uint_eq(json_array_size(runs), 3);
    ck_assert(json_is_array(usage));
    ck_assert_uint_eq(json_array_size(usage), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *run = json_array_get(runs, i);
        ck_assert_int_eq(int_at(run, "peak_bytes"), peaks[i]);
        ck_assert_int_eq(int_at(run, "increment_bytes"),
                         (json_int_t)peaks[i] - (json_int_t)(50 * PM_MIB));
        ck_assert_double_eq(real_at(run, "wall_s"), walls[i]);
        ck_assert_double_eq(json_real_value(json_array_get(usage, i)),
                            (double)peaks[i] / PM_MIB);
    }
    ck_assert_double_eq(json_real_value(json_array_get(usage, 1)), 80.25);
    json_decref(doc);
}
END_TEST

START_TEST(test_json_negative_increment_is_signed)
{
    uint64_t low[] = {40 * PM_MIB};
    pm_memit_t m = sample();
    m.n = 1;
    m.peak_bytes = low;
    json_t *doc = pm_memit_to_json(&m);

    ck_assert_int_eq(int_at(doc, "increment_bytes"), -10 * (json_int_t)PM_MIB);
    ck_assert_int_eq(int_at(json_array_get(json_object_get(doc, "runs"), 0),
                            "increment_bytes"),
                     -10 * (json_int_t)PM_MIB);
    ck_assert_str_eq(str_at(doc, "text"),
                     "peak memory: 40.00 MiB, increment: -10.00 MiB");
    json_decref(doc);
}
END_TEST

START_TEST(test_json_nulls_for_no_setup_and_no_timeout)
{
    pm_memit_t m = sample();
    m.setup = "";
    m.timeout_s = 0;
    m.include_children = 0;
    json_t *doc = pm_memit_to_json(&m);

    ck_assert(json_is_null(json_object_get(doc, "setup")));
    ck_assert(json_is_null(json_object_get(doc, "timeout")));
    ck_assert(json_is_false(json_object_get(doc, "include_children")));
    json_decref(doc);
    m.setup = NULL;
    doc = pm_memit_to_json(&m);
    ck_assert(json_is_null(json_object_get(doc, "setup")));
    json_decref(doc);
}
END_TEST

START_TEST(test_json_without_runs_has_empty_arrays)
{
    pm_memit_t m = sample();
    m.n = 0;
    m.peak_bytes = NULL;
    m.wall_s = NULL;
    json_t *doc = pm_memit_to_json(&m);

    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "runs")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "mem_usage_mib")),
                      0);
    ck_assert_int_eq(int_at(doc, "peak_bytes"), 50 * PM_MIB);
    ck_assert_int_eq(int_at(doc, "increment_bytes"), 0);
    json_decref(doc);
}
END_TEST

/* "names": the statement's simple names and their values, as strings;
 * an empty object when there are none. */
START_TEST(test_json_names_hold_values_as_strings)
{
    static const pm_memit_name_t names[] = {{"n", "20"}, {"x", "0.5"}};
    pm_memit_t m = sample();
    json_t *doc = pm_memit_to_json(&m);

    ck_assert_ptr_nonnull(doc);
    ck_assert(json_is_object(json_object_get(doc, "names")));
    ck_assert_uint_eq(json_object_size(json_object_get(doc, "names")), 0);
    json_decref(doc);
    m.names = names;
    m.nnames = 2;
    doc = pm_memit_to_json(&m);
    char *dump = json_dumps(json_object_get(doc, "names"), 0);
    ck_assert_str_eq(dump, "{\"n\": \"20\", \"x\": \"0.5\"}");
    free(dump);
    json_decref(doc);
}
END_TEST

START_TEST(test_json_keys_in_documented_order)
{
    static const char *keys[] = {"schema",
                                 "version",
                                 "statement",
                                 "setup",
                                 "method",
                                 "repeat",
                                 "timeout",
                                 "interval",
                                 "include_children",
                                 "baseline_bytes",
                                 "peak_bytes",
                                 "increment_bytes",
                                 "runs",
                                 "mem_usage_mib",
                                 "text",
                                 "timeline",
                                 "limit_bytes",
                                 "over_limit",
                                 "cgroup_limit_bytes",
                                 "peak_share_of_cgroup_limit",
                                 "names",
                                 "children",
                                 "workers",
                                 "cluster",
                                 "allocated_peak_bytes",
                                 "untracked_bytes",
                                 "sample_bytes",
                                 "sites"};
    pm_memit_t m = sample();
    json_t *doc = pm_memit_to_json(&m);
    const char *key;
    json_t *value;
    size_t i = 0;

    ck_assert_uint_eq(json_object_size(doc), sizeof(keys) / sizeof(*keys));
    json_object_foreach(doc, key, value)
    {
        ck_assert_str_eq(key, keys[i]);
        i++;
    }
    json_decref(doc);
}
END_TEST

START_TEST(test_json_non_finite_wall_time_is_null)
{
    double bad[] = {NAN, INFINITY, 0.5};
    pm_memit_t m = sample();
    m.wall_s = bad;
    json_t *doc = pm_memit_to_json(&m);
    json_t *runs = json_object_get(doc, "runs");

    ck_assert_ptr_nonnull(doc);
    ck_assert(
        json_is_null(json_object_get(json_array_get(runs, 0), "wall_s")));
    ck_assert(
        json_is_null(json_object_get(json_array_get(runs, 1), "wall_s")));
    json_decref(doc);
}
END_TEST

START_TEST(test_bundle_carries_three_mime_types)
{
    pm_memit_t m = sample();
    json_t *bundle = pm_memit_bundle(&m);
    json_t *data = json_object_get(bundle, "data");
    json_t *doc;

    ck_assert_ptr_nonnull(bundle);
    ck_assert_uint_eq(json_object_size(data), 3);
    ck_assert_str_eq(str_at(data, "text/plain"),
                     "peak memory: 80.25 MiB, increment: 30.25 MiB");
    ck_assert_ptr_nonnull(
        strstr(str_at(data, "text/html"), "class=\"peakmem-memit\""));
    doc = json_object_get(data, PM_MIME_MEMIT);
    ck_assert(json_is_object(doc));
    ck_assert_str_eq(str_at(doc, "schema"), "peakmem.memit");
    ck_assert(json_is_object(json_object_get(bundle, "metadata")));
    ck_assert_uint_eq(json_object_size(json_object_get(bundle, "metadata")),
                      0);
    ck_assert(json_is_object(json_object_get(bundle, "transient")));
    ck_assert_uint_eq(json_object_size(bundle), 3);
    json_decref(bundle);
}
END_TEST

START_TEST(test_mime_type_is_json_for_nbformat)
{
    /* nbformat keeps only ^application/(.*\+)?json$ as JSON */
    const char *mime = PM_MIME_MEMIT;
    ck_assert_int_eq(strncmp(mime, "application/", 12), 0);
    ck_assert_str_eq(mime + strlen(mime) - 5, "+json");
}
END_TEST

START_TEST(test_json_limit_timeline_and_cgroup)
{
    static const pm_svg_point_t tl[] = {{0.0, 10.0}, {0.5, 80.25}};
    pm_memit_t m = sample();
    json_t *doc = pm_memit_to_json(&m);
    ck_assert(json_is_null(json_object_get(doc, "limit_bytes")));
    ck_assert(json_is_false(json_object_get(doc, "over_limit")));
    ck_assert(json_is_null(json_object_get(doc, "cgroup_limit_bytes")));
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "timeline")), 0);
    json_decref(doc);

    m.limit_bytes = 64 * PM_MIB;
    m.cgroup_limit_bytes = 160 * PM_MIB + PM_MIB / 2;
    m.timeline = tl;
    m.ntimeline = 2;
    doc = pm_memit_to_json(&m);
    ck_assert_int_eq(int_at(doc, "limit_bytes"), 64 * PM_MIB);
    ck_assert(json_is_true(json_object_get(doc, "over_limit")));
    ck_assert_int_eq(int_at(doc, "cgroup_limit_bytes"),
                     160 * PM_MIB + PM_MIB / 2);
    ck_assert_double_eq_tol(real_at(doc, "peak_share_of_cgroup_limit"),
                            (80.25 / 160.5), 1e-9);
    json_t *pt = json_array_get(json_object_get(doc, "timeline"), 1);
    ck_assert_double_eq_tol(json_real_value(json_array_get(pt, 0)), 0.5,
                            1e-12);
    ck_assert_double_eq_tol(json_real_value(json_array_get(pt, 1)), 80.25,
                            1e-12);
    json_decref(doc);
    m.limit_bytes = 100 * PM_MIB;
    ck_assert_int_eq(pm_memit_over_limit(&m), 0);
}
END_TEST

START_TEST(test_bundle_display_id_and_svg)
{
    static const pm_svg_point_t tl[] = {{0.0, 10.0}, {0.2, 70.0}, {0.4, 20.0}};
    pm_memit_t m = sample();
    m.timeline = tl;
    m.ntimeline = 3;
    m.limit_bytes = 50 * PM_MIB;
    m.display_id = "abc-123";
    json_t *b = pm_memit_bundle(&m);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(b, "transient"), "display_id")),
                     "abc-123");
    const char *html = json_string_value(
        json_object_get(json_object_get(b, "data"), "text/html"));
    ck_assert_ptr_nonnull(strstr(html, "<img class=\"peakmem-chart\""));
    ck_assert_ptr_nonnull(strstr(html, "src=\"data:image/svg+xml;base64,"));
    ck_assert_ptr_nonnull(strstr(html, "peakmem-over-limit"));
    ck_assert_ptr_nonnull(strstr(html, "exceeded"));
    ck_assert_ptr_null(strstr(html, "<?xml"));
    json_decref(b);
}
END_TEST

START_TEST(test_live_text_and_bundle)
{
    static const pm_svg_point_t recent[] = {
        {0.0, 10.0}, {0.1, 20.0}, {0.2, 30.0}, {0.3, 80.0}};
    pm_live_t l = {.statement = "x = f()",
                   .elapsed_s = 3.25,
                   .rss_bytes = 812 * PM_MIB,
                   .peak_bytes = 900 * PM_MIB,
                   .recent = recent,
                   .nrecent = 4};
    char *text = pm_live_render_text(&l);
    ck_assert_str_eq(text, "running 3.2 s \u00b7 now 812.0 MiB \u00b7 peak "
                           "900.0 MiB \u2581\u2582\u2583\u2588");
    free(text);
    l.stopped = 1;
    text = pm_live_render_text(&l);
    ck_assert_ptr_nonnull(strstr(text, "stopped after 3.2 s"));
    free(text);
    json_t *b = pm_live_bundle(&l, "id-1");
    json_t *data = json_object_get(b, "data");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(b, "transient"), "display_id")),
                     "id-1");
    json_t *doc = json_object_get(data, PM_MIME_LIVE);
    ck_assert_str_eq(str_at(doc, "schema"), "peakmem.live");
    ck_assert_int_eq(int_at(doc, "peak_bytes"), 900 * PM_MIB);
    ck_assert(json_is_true(json_object_get(doc, "stopped")));
    ck_assert_ptr_nonnull(strstr(
        json_string_value(json_object_get(data, "text/html")), "<polyline"));
    json_decref(b);
}
END_TEST

static const pm_memit_site_t sites[] = {
    {"In [6] line 3", "a = np.ones(2**25)", NULL, NULL, "In [7] line 2",
     "f()", 48 * PM_MIB},
    {"/x/site-packages/pandas/core/merge.py:120", "out = take(left)",
     "In [7] line 4", "m = l.merge(r, on=\"k\")", NULL, NULL,
     12 * PM_MIB},
};

static pm_memit_t with_sites(void)
{
    pm_memit_t m = sample();
    m.sites_on = 1;
    m.allocated_peak_bytes = 24 * PM_MIB; /* increment is 30.25 MiB */
    m.sites = sites;
    m.nsites = 2;
    m.sample_bytes = 16384;
    return m;
}

/* The document carries the allocation peak, the untracked rest of the
 * increment and each site with its share; null fields without --sites. */
START_TEST(test_json_sites_fields)
{
    pm_memit_t m = with_sites();
    m.allocated_peak_bytes = 60 * PM_MIB;
    json_t *doc = pm_memit_to_json(&m);
    ck_assert_int_eq(int_at(doc, "allocated_peak_bytes"), 60 * PM_MIB);
    ck_assert_int_eq(int_at(doc, "untracked_bytes"), 0);
    ck_assert_int_eq(int_at(doc, "sample_bytes"), 16384);
    json_t *list = json_object_get(doc, "sites");
    ck_assert_uint_eq(json_array_size(list), 2);
    json_t *s0 = json_array_get(list, 0), *s1 = json_array_get(list, 1);
    ck_assert_str_eq(str_at(s0, "where"), "In [6] line 3");
    ck_assert_str_eq(str_at(s0, "source"), "a = np.ones(2**25)");
    ck_assert(json_is_null(json_object_get(s0, "via_where")));
    ck_assert_str_eq(str_at(s0, "statement_where"), "In [7] line 2");
    ck_assert_str_eq(str_at(s0, "statement_source"), "f()");
    ck_assert(json_is_null(json_object_get(s1, "statement_where")));
    ck_assert_int_eq(int_at(s0, "bytes"), 48 * PM_MIB);
    ck_assert_double_eq_tol(real_at(s0, "share"), 0.8, 1e-12);
    ck_assert_str_eq(str_at(s1, "via_source"), "m = l.merge(r, on=\"k\")");
    /* the text field stays memory_profiler's line */
    ck_assert_str_eq(str_at(doc, "text"),
                     "peak memory: 80.25 MiB, increment: 30.25 MiB");
    json_decref(doc);

    m = sample();
    doc = pm_memit_to_json(&m);
    ck_assert(json_is_null(json_object_get(doc, "sites")));
    ck_assert(json_is_null(json_object_get(doc, "allocated_peak_bytes")));
    json_decref(doc);
}
END_TEST

/* text/plain: memory_profiler's line unchanged, then the --sites block;
 * without --sites the line alone. Numbers in the C locale. */
START_TEST(test_text_sites_block)
{
    pm_memit_t m = with_sites();
    char *text = pm_memit_render_text_full(&m);
    static const char *want =
        "peak memory: 80.25 MiB, increment: 30.25 MiB\n"
              "allocated at peak: 24.00 MiB; untracked: 6.25 MiB (RSS "
              "increment not explained by tracked allocations)\n"
              "sites holding the most at the allocation peak:\n"
              "     48.00 MiB 200.0%  In [6] line 3: a = np.ones(2**25)\n"
              "                        from In [7] line 2: f()\n"
              "     12.00 MiB  50.0%  "
              "/x/site-packages/pandas/core/merge.py:120: out = take(left)\n"
              "                        from In [7] line 4: "
              "m = l.merge(r, on=\"k\")";
    ck_assert_str_eq(text, want);
    free(text);
    m = sample();
    text = pm_memit_render_text_full(&m);
    ck_assert_str_eq(text, "peak memory: 80.25 MiB, increment: 30.25 MiB");
    free(text);
    m = with_sites();
    PM_CHECK_NEED_COMMA_LOCALE();
    text = pm_memit_render_text_full(&m);
    pm_check_comma_locale_done();
    ck_assert_str_eq(text, want);
    free(text);
}
END_TEST

/* The HTML table: escaped sources, bars as <img> data: URIs, cells
 * aligned by attributes, no inline style (untrusted notebooks). */
START_TEST(test_html_sites_table)
{
    pm_memit_t m = with_sites();
    char *html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, "<table class=\"peakmem-sites\">"));
    ck_assert_ptr_nonnull(strstr(html, "<b>24.00 MiB</b>"));
    /* the bar: an <img> of an SVG data: URI, its share as alt text */
    ck_assert_ptr_nonnull(strstr(html, "<img class=\"peakmem-bar\" "
                                       "width=\"100\" height=\"10\" "
                                       "alt=\"50.0%\" "
                                       "src=\"data:image/svg+xml;base64,"));
    ck_assert_ptr_null(strstr(strstr(html, "peakmem-sites"), "<svg"));
    ck_assert_ptr_null(strstr(strstr(html, "peakmem-sites"), "<meter"));
    ck_assert_ptr_nonnull(strstr(html, "<td align=\"right\">12.00 MiB"));
    ck_assert_ptr_nonnull(strstr(html, "on=&quot;k&quot;"));
    ck_assert_ptr_null(strstr(html, "on=\"k\""));
    ck_assert_ptr_null(strstr(strstr(html, "peakmem-sites"), "style="));
    free(html);
    m = sample();
    html = pm_memit_render_html(&m);
    ck_assert_ptr_null(strstr(html, "peakmem-sites"));
    free(html);
}
END_TEST

START_TEST(test_json_and_html_list_each_child_with_both_totals)
{
    static const pm_memit_child_t kids[] = {
        {.pid = 101, .ppid = 100, .command = "python -c 'a<b'",
         .peak_bytes = 140 * PM_MIB},
        {.pid = 102, .ppid = 101, .command = "sleep 1",
         .peak_bytes = 2 * PM_MIB, .exited = 1},
    };
    pm_memit_t m = sample();
    json_t *doc, *ch, *procs, *p;
    char *html;

    /* Without the exact path: null, and no table. */
    doc = pm_memit_to_json(&m);
    ck_assert(json_is_null(json_object_get(doc, "children")));
    json_decref(doc);
    m.children = kids;
    m.nchildren = 2;
    m.sum_of_peaks_bytes = 70 * PM_MIB + 142 * PM_MIB;
    doc = pm_memit_to_json(&m);
    ch = json_object_get(doc, "children");
    ck_assert(json_is_object(ch));
    ck_assert_int_eq(int_at(ch, "sum_of_peaks_bytes"),
                     (json_int_t)(212 * PM_MIB));
    ck_assert_int_eq(int_at(ch, "peak_of_sum_bytes"),
                     int_at(doc, "peak_bytes"));
    ck_assert(real_at(ch, "peak_of_sum_interval") == 0.1);
    procs = json_object_get(ch, "processes");
    ck_assert_uint_eq(json_array_size(procs), 2);
    p = json_array_get(procs, 1);
    ck_assert_int_eq(int_at(p, "pid"), 102);
    ck_assert_int_eq(int_at(p, "ppid"), 101);
    ck_assert_str_eq(json_string_value(json_object_get(p, "command")),
                     "sleep 1");
    ck_assert_int_eq(int_at(p, "peak_bytes"), (json_int_t)(2 * PM_MIB));
    ck_assert(json_is_true(json_object_get(p, "exited")));
    json_decref(doc);

    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, "class=\"peakmem-children\""));
    ck_assert_ptr_nonnull(strstr(html, "sum of per-process peaks 212.00 MiB "
                                       "(exact upper bound)"));
    ck_assert_ptr_nonnull(strstr(html, "(sampled every 0.10 s)"));
    ck_assert_ptr_nonnull(strstr(html, "<td align=\"right\">101</td>"));
    ck_assert_ptr_nonnull(strstr(html, "a&lt;b"));
    ck_assert_ptr_nonnull(strstr(html, "2.00 MiB (exited)"));
    ck_assert_ptr_null(strstr(html, "a<b"));
    free(html);
}
END_TEST

START_TEST(test_json_and_html_workers_with_cluster_totals)
{
    json_t *rows = json_loads(
        "[{\"address\": \"tcp://10.0.0.1:1<x>\", \"role\": \"worker\","
        "  \"host\": \"a\", \"pid\": 7, \"baseline_bytes\": 104857600,"
        "  \"peak_bytes\": 943718400, \"increment_bytes\": 838860800,"
        "  \"memory_limit_bytes\": 1073741824, \"share_of_limit\": 0.8789,"
        "  \"pause_fraction\": 0.8, \"terminate_fraction\": 0.95,"
        "  \"pause_crossed\": true, \"kill_crossed\": false,"
        "  \"over_limit\": false, \"status\": \"ok\"},"
        " {\"address\": \"tcp://10.0.0.2:1\", \"role\": \"worker\","
        "  \"host\": \"b\", \"pid\": 8, \"baseline_bytes\": 1,"
        "  \"peak_bytes\": null, \"increment_bytes\": null,"
        "  \"memory_limit_bytes\": 1073741824, \"share_of_limit\": null,"
        "  \"pause_fraction\": null, \"terminate_fraction\": null,"
        "  \"pause_crossed\": false, \"kill_crossed\": false,"
        "  \"over_limit\": false,"
        "  \"status\": \"died during the statement\"},"
        " {\"address\": \"tcp://10.0.0.1:2\", \"role\": \"scheduler\","
        "  \"host\": \"a\", \"pid\": 9, \"baseline_bytes\": 10,"
        "  \"peak_bytes\": 20971520, \"increment_bytes\": 10,"
        "  \"memory_limit_bytes\": null, \"share_of_limit\": null,"
        "  \"pause_fraction\": null, \"terminate_fraction\": null,"
        "  \"pause_crossed\": false, \"kill_crossed\": false,"
        "  \"over_limit\": false, \"status\": \"ok\"}]",
        0, NULL);
    pm_memit_t m = sample();
    json_t *doc, *cl;
    char *html;

    ck_assert_ptr_nonnull(rows);
    doc = pm_memit_to_json(&m);
    ck_assert(json_is_null(json_object_get(doc, "workers")));
    ck_assert(json_is_null(json_object_get(doc, "cluster")));
    json_decref(doc);
    m.workers = rows;
    doc = pm_memit_to_json(&m);
    ck_assert(json_equal(json_object_get(doc, "workers"), rows));
    cl = json_object_get(doc, "cluster");
    ck_assert_int_eq(int_at(cl, "workers"), 2);
    ck_assert_int_eq(int_at(cl, "not_measured"), 1);
    ck_assert_int_eq(int_at(cl, "peak_sum_bytes"), 943718400);
    ck_assert_int_eq(int_at(cl, "increment_sum_bytes"), 838860800);
    ck_assert_int_eq(int_at(cl, "memory_limit_sum_bytes"), 1073741824);
    ck_assert_int_eq(int_at(cl, "pause_crossed"), 1);
    ck_assert_int_eq(int_at(cl, "kill_crossed"), 0);
    json_decref(doc);
    html = pm_memit_render_html(&m);
    ck_assert_ptr_nonnull(strstr(html, "class=\"peakmem-workers\""));
    ck_assert_ptr_nonnull(
        strstr(html, "Dask cluster: 2 worker(s), peaks summed 900.00 MiB"));
    ck_assert_ptr_nonnull(strstr(html, "tcp://10.0.0.1:1&lt;x&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "900.00 MiB"));
    ck_assert_ptr_nonnull(strstr(html, "87.9%"));
    ck_assert_ptr_nonnull(strstr(html, "pause (80%) crossed"));
    ck_assert_ptr_nonnull(strstr(html, "died during the statement"));
    ck_assert_ptr_nonnull(strstr(html, "(scheduler)"));
    free(html);
    json_decref(rows);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"document", test_json_has_schema_and_options},
        {"document", test_json_has_byte_counts_and_text},
        {"document", test_json_lists_runs_and_mem_usage},
        {"document", test_json_negative_increment_is_signed},
        {"document", test_json_nulls_for_no_setup_and_no_timeout},
        {"document", test_json_without_runs_has_empty_arrays},
        {"document", test_json_keys_in_documented_order},
        {"document", test_json_names_hold_values_as_strings},
        {"document", test_json_non_finite_wall_time_is_null},
        {"document", test_json_limit_timeline_and_cgroup},
        {"document", test_json_and_html_list_each_child_with_both_totals},
        {"document", test_json_and_html_workers_with_cluster_totals},
        {"bundle", test_bundle_carries_three_mime_types},
        {"bundle", test_mime_type_is_json_for_nbformat},
        {"bundle", test_bundle_display_id_and_svg},
        {"bundle", test_live_text_and_bundle},
        {"sites", test_json_sites_fields},
        {"sites", test_text_sites_block},
        {"sites", test_html_sites_table},
    };

    return pm_check_main("memit_json", tests, PM_CHECK_COUNT(tests));
}
