/* Check tests for mprof .dat files: pm_dat_parse must read files written by
 * Debian's real mprof 0.61 (tests/data/protocol/mprof_*.dat) exactly as
 * mprof's read_mprofile_file does (golden reading in mprof_read.json, kept
 * honest by tests/test_dat_mprof.py), tolerate what mprof tolerates, and
 * refuse truncated and garbled records with "line N: ..."; the formatters
 * must write mprof's formats byte for byte and round trip. Run with
 * PM_WRITE_FIXTURES=1 to rewrite peakmem_written.dat after a deliberate
 * format change. */
#include "check_util.h"
#include "pm_protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA "tests/data/protocol/"
#define GOLDEN DATA "mprof_read.json"
#define WRITTEN DATA "peakmem_written.dat"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static void parse_file(const char *path, pm_dat_t *d)
{
    char err[256];
    char *text = slurp(path);
    int rc = pm_dat_parse(text, d, err, sizeof(err));

    ck_assert_msg(rc == 0, "%s: rc %d: %s", path, rc, err);
    ck_assert_str_eq(err, "");
    free(text);
}

static double num_at(json_t *arr, size_t i)
{
    json_t *v = json_array_get(arr, i);
    ck_assert_msg(json_is_number(v), "item %zu is not a number", i);
    return json_number_value(v);
}

/* Our parse of a fixture against mprof's own reading of it (doubles from
 * the same decimal text: both sides round correctly, so equal exactly). */
static void check_against_golden(const char *name)
{
    char path[256];
    json_error_t jerr;
    json_t *all = json_load_file(GOLDEN, 0, &jerr), *g, *v;
    const char *key;
    pm_dat_t d;
    size_t total = 0;
    double at_t, peak;

    ck_assert_msg(all != NULL, "%s:%d: %s", GOLDEN, jerr.line, jerr.text);
    g = json_object_get(all, name);
    ck_assert_ptr_nonnull(g);
    snprintf(path, sizeof(path), DATA "%s", name);
    parse_file(path, &d);

    /* mprof keeps the line end in cmd_line; pm_dat_t does not */
    v = json_object_get(g, "cmd_line");
    ck_assert_uint_eq(strlen(d.cmdline) + 1, strlen(json_string_value(v)));
    ck_assert_int_eq(
        strncmp(d.cmdline, json_string_value(v), strlen(d.cmdline)), 0);

    v = json_object_get(g, "mem");
    ck_assert_uint_eq(d.nmem, json_array_size(v));
    for (size_t i = 0; i < d.nmem; i++) {
        json_t *p = json_array_get(v, i);
        ck_assert_double_eq(d.mem[i].mib, num_at(p, 0));
        ck_assert_double_eq(d.mem[i].t, num_at(p, 1));
    }

    v = json_object_get(g, "children");
    ck_assert_uint_eq(d.nchildren, json_object_size(v));
    json_t *samples;
    json_object_foreach(v, key, samples)
    {
        const pm_dat_child_t *c = NULL;
        for (size_t i = 0; i < d.nchildren; i++) {
            if (d.children[i].pid == atoi(key)) {
                c = &d.children[i];
            }
        }
        ck_assert_msg(c != NULL, "child %s missing", key);
        ck_assert_uint_eq(c->n, json_array_size(samples));
        for (size_t i = 0; i < c->n; i++) {
            json_t *p = json_array_get(samples, i);
            ck_assert_double_eq(c->points[i].mib, num_at(p, 0));
            ck_assert_double_eq(c->points[i].t, num_at(p, 1));
        }
    }

    /* func_timestamp: name -> [[start, end, mem_start, mem_end, level]] */
    v = json_object_get(g, "func_timestamp");
    json_object_foreach(v, key, samples)
    {
        size_t k = 0;
        for (size_t i = 0; i < d.nfuncs; i++) {
            const pm_dat_func_t *f = &d.funcs[i];
            json_t *p;
            if (strcmp(f->name, key) != 0) {
                continue;
            }
            p = json_array_get(samples, k++);
            ck_assert_ptr_nonnull(p);
            ck_assert_double_eq(f->start_t, num_at(p, 0));
            ck_assert_double_eq(f->end_t, num_at(p, 1));
            ck_assert_double_eq(f->start_mib, num_at(p, 2));
            ck_assert_double_eq(f->end_mib, num_at(p, 3));
            ck_assert_int_eq(f->level, (int)num_at(p, 4));
        }
        ck_assert_uint_eq(k, json_array_size(samples));
        total += k;
    }
    ck_assert_uint_eq(total, d.nfuncs);

    /* peaks computed by the pytest from file order, not time windows */
    v = json_object_get(g, "peak");
    peak = pm_dat_peak(&d, 0, &at_t);
    ck_assert_double_eq(peak, num_at(v, 0));
    ck_assert_double_eq(at_t, num_at(v, 1));
    v = json_object_get(g, "peak_with_children");
    peak = pm_dat_peak(&d, 1, &at_t);
    ck_assert_double_eq_tol(peak, num_at(v, 0), 1e-9);
    ck_assert_double_eq(at_t, num_at(v, 1));

    pm_dat_close(&d);
    json_decref(all);
}

START_TEST(test_dat_parse_reads_mprof_file)
{
    pm_dat_t d;

    check_against_golden("mprof_func.dat");
    parse_file(DATA "mprof_func.dat", &d);
    ck_assert_str_eq(d.cmdline, "/usr/bin/python3 alloc.py");
    ck_assert_uint_eq(d.nmem, 37);
    ck_assert_double_eq(d.mem[0].mib, 0.175781);
    ck_assert_double_eq(d.mem[0].t, 1795317861.1908);
    ck_assert_uint_eq(d.nchildren, 0);
    /* TimeStamper's names: module "." function */
    ck_assert_uint_eq(d.nfuncs, 2);
    ck_assert_str_eq(d.funcs[0].name, "__main__.grow");
    ck_assert_int_eq(d.funcs[0].level, 1);
    ck_assert_double_eq(d.funcs[0].start_t, 1795317861.3748);
    ck_assert_double_eq(d.funcs[0].end_mib, 46.3047);
    ck_assert_str_eq(d.funcs[1].name, "__main__.outer");
    ck_assert_int_eq(d.funcs[1].level, 0);
    pm_dat_close(&d);
}
END_TEST

START_TEST(test_dat_parse_reads_mprof_children)
{
    pm_dat_t d;

    check_against_golden("mprof_children.dat");
    parse_file(DATA "mprof_children.dat", &d);
    ck_assert_str_eq(d.cmdline, "/usr/bin/python3 multi.py");
    ck_assert_uint_eq(d.nchildren, 2);
    ck_assert_int_eq(d.children[0].pid, 21804);
    ck_assert_int_eq(d.children[1].pid, 21805);
    ck_assert_uint_eq(d.children[0].n, 15);
    ck_assert_double_eq(d.children[1].points[0].mib, 34.824219);
    pm_dat_close(&d);
}
END_TEST

START_TEST(test_dat_parse_reads_peakmem_written_as_mprof_does)
{
    check_against_golden("peakmem_written.dat");
}
END_TEST

/* Files cut or damaged: the error names the line and the field. */
START_TEST(test_dat_parse_rejects_truncated_file)
{
    char err[256];
    char *text = slurp(DATA "mprof_truncated.dat");
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof(err)), PM_EBADMSG);
    ck_assert_str_eq(err,
                     "line 21: CHLD needs 3 fields (pid, MiB, time), got 2");
    ck_assert_ptr_null(d.mem); /* nothing left to close */
    ck_assert_uint_eq(d.nchildren, 0);
    pm_dat_close(&d);
    free(text);
}
END_TEST

START_TEST(test_dat_parse_rejects_garbled_file)
{
    char err[256];
    char *text = slurp(DATA "mprof_garbled.dat");
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof(err)), PM_EBADMSG);
    ck_assert_str_eq(err, "line 12: MEM MiB \"32.O99219\" is not a number");
    free(text);
}
END_TEST

typedef struct {
    const char *text;
    const char *err;
} bad_case_t;

/* Each refused by mprof's read_mprofile_file too (ValueError or
 * IndexError), except the non-finite numbers it would accept. */
static const bad_case_t bad_cases[] = {
    {"", "no MEM samples"},
    {"CMDLINE python3 x.py\n", "no MEM samples"},
    {"FUNC m.f 1 2 3 4 0\nCHLD 1 2 3\n", "no MEM samples"},
    {"MEM\t1 2\n", "no MEM samples"}, /* type "MEM\t1": skipped */
    {"MEM 1 2\n\nMEM 3 4\n",
     "line 2: empty line (mprof refuses it: \"Sampling time was too "
     "short\")"},
    {"MEM 1 2\r\n\r\n", "line 2: empty line (mprof refuses it: \"Sampling "
                        "time was too short\")"},
    {"garbage\n", "line 1: \"garbage\" is not a record (no space after its "
                  "type)"},
    {"MEM 1 2\nME", "line 2: \"ME\" is not a record (no space after its "
                    "type)"},
    {"MEM 1.5\n", "line 1: MEM needs 2 fields (MiB, time), got 1"},
    {"MEM 1.5 2 3\nMEM \n", "line 2: MEM needs 2 fields (MiB, time), got 1"},
    {"MEM abc 2\n", "line 1: MEM MiB \"abc\" is not a number"},
    {"MEM 1 2x\n", "line 1: MEM time \"2x\" is not a number"},
    {"MEM  1 2\n", "line 1: MEM MiB \"\" is not a number"},
    {"MEM 0x10 2\n", "line 1: MEM MiB \"0x10\" is not a number"},
    {"MEM nan 2\n", "line 1: MEM MiB \"nan\" is not a number"},
    {"MEM 1 inf\n", "line 1: MEM time \"inf\" is not a number"},
    {"MEM 1e999 2\n", "line 1: MEM MiB \"1e999\" is not a number"},
    {"MEM 1. 2e\n", "line 1: MEM time \"2e\" is not a number"},
    {"MEM 1 2\nCHLD 7 1\n", "line 2: CHLD needs 3 fields (pid, MiB, time), "
                            "got 2"},
    {"MEM 1 2\nCHLD x 1 2\n", "line 2: CHLD pid \"x\" is not an integer"},
    {"MEM 1 2\nCHLD 1.5 1 2\n", "line 2: CHLD pid \"1.5\" is not an integer"},
    {"MEM 1 2\nCHLD 99999999999 1 2\n",
     "line 2: CHLD pid \"99999999999\" is not an integer"},
    {"MEM 1 2\nCHLD 7 - 2\n", "line 2: CHLD MiB \"-\" is not a number"},
    {"MEM 1 2\nCHLD 7 1 .\n", "line 2: CHLD time \".\" is not a number"},
    {"MEM 1 2\nFUNC m.f 1 2 3\n",
     "line 2: FUNC needs 5 fields (name, MiB, time, MiB, time), got 4"},
    {"MEM 1 2\nFUNC m.f 1 2 x 4 0\n",
     "line 2: FUNC MiB end \"x\" is not a number"},
    {"MEM 1 2\nFUNC m.f 1 2 3 4 x\n",
     "line 2: FUNC level \"x\" is not an integer"},
    /* mprof: int('\n') of the field after a trailing space */
    {"MEM 1 2\nFUNC m.f 1 2 3 4 \n",
     "line 2: FUNC level \"\" is not an integer"},
    {"MEM 1 2\rMEM 3\r", "line 2: MEM needs 2 fields (MiB, time), got 1"},
};

START_TEST(test_dat_parse_rejects_bad_records_with_line)
{
    const bad_case_t *c = &bad_cases[_i];
    char err[256];
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse(c->text, &d, err, sizeof(err)), PM_EBADMSG);
    ck_assert_str_eq(err, c->err);
    ck_assert_ptr_null(d.mem);
    ck_assert_ptr_null(d.cmdline);
    ck_assert_ptr_null(d.funcs);
}
END_TEST

START_TEST(test_dat_parse_error_message_is_truncated_safely)
{
    char err[12];
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse("MEM abc 2\n", &d, err, sizeof(err)),
                     PM_EBADMSG);
    ck_assert_str_eq(err, "line 1: MEM");
    ck_assert_int_eq(pm_dat_parse("MEM abc 2\n", &d, NULL, 0), PM_EBADMSG);
    ck_assert_int_eq(pm_dat_parse(NULL, &d, NULL, 0), PM_EBADMSG);
}
END_TEST

/* What mprof's reader lets through, we let through. */
START_TEST(test_dat_parse_tolerates_what_mprof_does)
{
    const char *text = " MEM 9 9\n"              /* type "": skipped */
                       "NOTE anything at all\n"  /* unknown: skipped */
                       "CMDLINE first\n"         /* replaced below */
                       "MEM 1.5 10.25 extra\r\n" /* extra field ignored */
                       "MEM +2e1 \t11.5\t\r"     /* whitespace, \r end */
                       "CHLD 42 3 12.0\n"
                       "CHLD 042 4 13.0\n"  /* same pid */
                       "FUNC m.f 1 2 3 4\n" /* no level: 0 */
                       "FUNC .<block> 5 6 7 8 -1 x\n"
                       "FUNC  1 2 3 4 0\n"         /* empty name */
                       "CMDLINE python3  a.py  \n" /* the last one wins */
                       "MEM -0.5 .5";              /* no final newline */
    char err[256];
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.cmdline, "python3  a.py  ");
    ck_assert_uint_eq(d.nmem, 3);
    ck_assert_double_eq(d.mem[0].mib, 1.5);
    ck_assert_double_eq(d.mem[0].t, 10.25);
    ck_assert_double_eq(d.mem[1].mib, 20.0);
    ck_assert_double_eq(d.mem[1].t, 11.5);
    ck_assert_double_eq(d.mem[2].mib, -0.5);
    ck_assert_double_eq(d.mem[2].t, 0.5);
    ck_assert_uint_eq(d.nchildren, 1);
    ck_assert_int_eq(d.children[0].pid, 42);
    ck_assert_uint_eq(d.children[0].n, 2);
    ck_assert_uint_eq(d.nfuncs, 3);
    ck_assert_str_eq(d.funcs[0].name, "m.f");
    ck_assert_int_eq(d.funcs[0].level, 0);
    ck_assert_str_eq(d.funcs[1].name, ".<block>");
    ck_assert_int_eq(d.funcs[1].level, -1);
    ck_assert_double_eq(d.funcs[1].end_t, 8.0);
    ck_assert_str_eq(d.funcs[2].name, "");
    pm_dat_close(&d);
    pm_dat_close(&d); /* zeroed: closing again is harmless */
}
END_TEST

START_TEST(test_dat_parse_without_cmdline_gives_empty_string)
{
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse("MEM 1 2\n", &d, NULL, 0), 0);
    ck_assert_str_eq(d.cmdline, "");
    pm_dat_close(&d);
}
END_TEST

START_TEST(test_dat_parse_grows_past_many_records)
{
    size_t size = 20000 * 80, used = 0;
    char *text = malloc(size), err[128];
    pm_dat_t d;

    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < 20000; i++) {
        used += (size_t)pm_dat_format_mem(text + used, size - used, i / 100.0,
                                          1000.0 + i);
        if (i % 2 == 0) {
            used += (size_t)pm_dat_format_child(
                text + used, size - used, 100 + i % 7, i / 50.0, 1000.0 + i);
        }
    }
    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof(err)), 0);
    ck_assert_uint_eq(d.nmem, 20000);
    ck_assert_uint_eq(d.nchildren, 7);
    ck_assert_double_eq(d.mem[19999].mib, 199.99);
    pm_dat_close(&d);
    free(text);
}
END_TEST

/* The exact bytes memory_profiler writes for the same values. */
START_TEST(test_dat_format_matches_memory_profiler)
{
    char buf[128];
    pm_dat_func_t f = {.name = "__main__.grow",
                       .start_mib = 46.30468,
                       .start_t = 1795317861.37481,
                       .end_mib = 46.3046875,
                       .end_t = 1795317861.44703,
                       .level = 1};

    ck_assert_int_eq(
        pm_dat_format_mem(buf, sizeof(buf), 9.29296875, 1795317861.20094), 29);
    ck_assert_str_eq(buf, "MEM 9.292969 1795317861.2009\n");
    ck_assert_int_gt(
        pm_dat_format_child(buf, sizeof(buf), 21804, 26.82421875, 1.5), 0);
    ck_assert_str_eq(buf, "CHLD 21804 26.824219 1.5000\n");
    ck_assert_int_gt(pm_dat_format_func(buf, sizeof(buf), &f), 0);
    ck_assert_str_eq(buf, "FUNC __main__.grow 46.3047 1795317861.3748 "
                          "46.3047 1795317861.4470 1\n");
    ck_assert_int_gt(
        pm_dat_format_cmdline(buf, sizeof(buf), "/usr/bin/python3 a.py"), 0);
    ck_assert_str_eq(buf, "CMDLINE /usr/bin/python3 a.py\n");
    /* %.6f rounds half to even on the binary value, as Python does */
    pm_dat_format_mem(buf, sizeof(buf), 0.0000005, 0.00005);
    ck_assert_str_eq(buf, "MEM 0.000000 0.0001\n");
    pm_dat_format_mem(buf, sizeof(buf), -0.0, 0);
    ck_assert_str_eq(buf, "MEM -0.000000 0.0000\n");
}
END_TEST

START_TEST(test_dat_format_keeps_records_on_one_line)
{
    char buf[128];
    pm_dat_func_t f = {"my func\nx\r", 1, 2, 3, 4, 0};

    ck_assert_int_gt(pm_dat_format_cmdline(buf, sizeof(buf), "a\nb\r\nc"), 0);
    ck_assert_str_eq(buf, "CMDLINE a b  c\n");
    ck_assert_int_gt(pm_dat_format_cmdline(buf, sizeof(buf), NULL), 0);
    ck_assert_str_eq(buf, "CMDLINE \n");
    ck_assert_int_gt(pm_dat_format_func(buf, sizeof(buf), &f), 0);
    ck_assert_str_eq(buf, "FUNC my_func_x_ 1.0000 2.0000 3.0000 4.0000 0\n");
    f.name = NULL;
    ck_assert_int_gt(pm_dat_format_func(buf, sizeof(buf), &f), 0);
    ck_assert_str_eq(buf, "FUNC  1.0000 2.0000 3.0000 4.0000 0\n");
}
END_TEST

START_TEST(test_dat_format_refuses_short_buffer_and_non_finite)
{
    char buf[64];
    pm_dat_func_t f = {"m.f", 1, 2, 3, 4, 0};
    int n = pm_dat_format_mem(buf, sizeof(buf), 1.0, 2.0);

    ck_assert_int_eq(n, (int)strlen("MEM 1.000000 2.0000\n"));
    ck_assert_int_eq(pm_dat_format_mem(buf, (size_t)n + 1, 1.0, 2.0), n);
    ck_assert_int_eq(pm_dat_format_mem(buf, (size_t)n, 1.0, 2.0), PM_EBADMSG);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(pm_dat_format_mem(buf, 0, 1.0, 2.0), PM_EBADMSG);
    ck_assert_int_eq(pm_dat_format_mem(buf, sizeof(buf), NAN, 2.0),
                     PM_EBADMSG);
    ck_assert_int_eq(pm_dat_format_child(buf, sizeof(buf), 1, 1.0, INFINITY),
                     PM_EBADMSG);
    n = pm_dat_format_func(buf, sizeof(buf), &f);
    ck_assert_int_eq(n, (int)strlen("FUNC m.f 1.0000 2.0000 3.0000 "
                                    "4.0000 0\n"));
    ck_assert_int_eq(pm_dat_format_func(buf, (size_t)n + 1, &f), n);
    ck_assert_int_eq(pm_dat_format_func(buf, (size_t)n, &f), PM_EBADMSG);
    ck_assert_int_eq(pm_dat_format_func(buf, 4, &f), PM_EBADMSG);
    f.end_t = NAN;
    ck_assert_int_eq(pm_dat_format_func(buf, sizeof(buf), &f), PM_EBADMSG);
    ck_assert_int_eq(pm_dat_format_cmdline(buf, 10, "x"), PM_EBADMSG);
    ck_assert_int_eq(pm_dat_format_cmdline(buf, 11, "x"), 10);
}
END_TEST

/* The file tests/test_dat_mprof.py has mprof read: one of each record, the
 * order mprof run writes them in. */
static char *write_sample_file(void)
{
    static const double mem[5][2] = {{50.0, 1700000000.0},
                                     {75.5, 1700000000.1},
                                     {120.25, 1700000000.2},
                                     {90.125, 1700000000.3},
                                     {60.0, 1700000000.4}};
    const pm_dat_func_t funcs[3] = {
        {"__main__.load", 50.0, 1700000000.05, 120.25, 1700000000.25, 0},
        {"pkg.mod.step", 75.5, 1700000000.12, 90.125, 1700000000.28, 1},
        {"my func", 60.0, 1700000000.3, 61.5, 1700000000.35, 2},
    };
    char *buf = calloc(4096, 1), *p = buf;
    size_t left = 4096;
    int n;

    ck_assert_ptr_nonnull(buf);
#define PUT(call)                                                             \
    do {                                                                      \
        n = (call);                                                           \
        ck_assert_int_gt(n, 0);                                               \
        p += n;                                                               \
        left -= (size_t)n;                                                    \
    } while (0)
    PUT(pm_dat_format_cmdline(p, left,
                              "python3 -m peakmem run train.py\n--epochs 3"));
    for (int i = 0; i < 5; i++) {
        PUT(pm_dat_format_mem(p, left, mem[i][0], mem[i][1]));
        if (i == 1) {
            PUT(pm_dat_format_child(p, left, 4242, 10.5, 1700000000.1001));
        } else if (i == 2) {
            PUT(pm_dat_format_child(p, left, 4242, 30.75, 1700000000.2001));
            PUT(pm_dat_format_child(p, left, 4243, 5.0, 1700000000.2002));
        } else if (i == 3) {
            PUT(pm_dat_format_child(p, left, 4243, 8.0, 1700000000.3001));
        }
    }
    for (int i = 0; i < 3; i++) {
        PUT(pm_dat_format_func(p, left, &funcs[i]));
    }
#undef PUT
    return buf;
}

START_TEST(test_dat_format_writes_committed_fixture)
{
    char *text = write_sample_file(), *committed;

    if (getenv("PM_WRITE_FIXTURES") != NULL) {
        FILE *f = fopen(WRITTEN, "wb");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
    }
    committed = slurp(WRITTEN);
    ck_assert_str_eq(text, committed);
    free(committed);
    free(text);
}
END_TEST

START_TEST(test_dat_round_trip_keeps_values)
{
    char *text = write_sample_file(), err[128];
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.cmdline, "python3 -m peakmem run train.py --epochs 3");
    ck_assert_uint_eq(d.nmem, 5);
    ck_assert_double_eq(d.mem[3].mib, 90.125);
    /* %.4f of 1700000000.3 reads back as the double nearest 1700000000.3 */
    ck_assert_double_eq(d.mem[3].t, 1700000000.3);
    ck_assert_uint_eq(d.nchildren, 2);
    ck_assert_int_eq(d.children[0].pid, 4242);
    ck_assert_uint_eq(d.children[0].n, 2);
    ck_assert_double_eq(d.children[0].points[1].mib, 30.75);
    ck_assert_double_eq(d.children[0].points[1].t, 1700000000.2001);
    ck_assert_int_eq(d.children[1].pid, 4243);
    ck_assert_uint_eq(d.nfuncs, 3);
    ck_assert_str_eq(d.funcs[1].name, "pkg.mod.step");
    ck_assert_double_eq(d.funcs[1].start_t, 1700000000.12);
    ck_assert_double_eq(d.funcs[1].end_mib, 90.125);
    ck_assert_int_eq(d.funcs[1].level, 1);
    ck_assert_str_eq(d.funcs[2].name, "my_func");
    ck_assert_int_eq(d.funcs[2].level, 2);
    pm_dat_close(&d);
    free(text);
}
END_TEST

/* Values that need every decimal: parse(format(x)) is x rounded to the
 * format's decimals, for a spread of magnitudes. */
START_TEST(test_dat_round_trip_rounds_to_format_decimals)
{
    char buf[128], err[128], want[64];
    pm_dat_t d;

    for (int i = 0; i < 200; i++) {
        double mib = i * 37.123456789 + 1e-7 * i;
        double t = 1.7e9 + i * 0.0123456;

        ck_assert_int_gt(pm_dat_format_mem(buf, sizeof(buf), mib, t), 0);
        ck_assert_int_eq(pm_dat_parse(buf, &d, err, sizeof(err)), 0);
        snprintf(want, sizeof(want), "%.6f", mib);
        ck_assert_double_eq(d.mem[0].mib, strtod(want, NULL));
        ck_assert_double_eq_tol(d.mem[0].mib, mib, 5e-7);
        snprintf(want, sizeof(want), "%.4f", t);
        ck_assert_double_eq(d.mem[0].t, strtod(want, NULL));
        pm_dat_close(&d);
    }
}
END_TEST

START_TEST(test_dat_peak_without_children_is_highest_mem)
{
    pm_dat_t d;
    double at = -1;

    ck_assert_int_eq(
        pm_dat_parse("MEM 5 1\nMEM 9 2\nMEM 9 3\nMEM 2 4\n", &d, NULL, 0), 0);
    ck_assert_double_eq(pm_dat_peak(&d, 0, &at), 9.0);
    ck_assert_double_eq(at, 2.0); /* the first of equals */
    ck_assert_double_eq(pm_dat_peak(&d, 1, NULL), 9.0); /* no children */
    pm_dat_close(&d);
    ck_assert_double_eq(pm_dat_peak(&d, 1, &at), 0.0); /* no samples */
    ck_assert_double_eq(at, 0.0);
}
END_TEST

/* A round's children are the CHLD records from its MEM time up to the
 * next MEM: an exited child stops counting, a child sampled a moment
 * after its MEM counts with that MEM, not the next. */
START_TEST(test_dat_peak_with_children_sums_same_round)
{
    const char *text = "MEM 10 1.0\n"
                       "CHLD 7 50 1.0001\n" /* round 1: 60 */
                       "MEM 12 2.0\n"       /* child 7 exited: 12 */
                       "MEM 11 3.0\n"
                       "CHLD 8 20 3.0002\n"
                       "CHLD 9 20 3.0003\n" /* round 3: 51 */
                       "MEM 30 4.0\n"
                       "CHLD 8 15 4.0\n"  /* same time as its MEM */
                       "CHLD 8 16 4.5\n"; /* latest of the round: 46 */
    pm_dat_t d;
    double at;

    ck_assert_int_eq(pm_dat_parse(text, &d, NULL, 0), 0);
    ck_assert_double_eq(pm_dat_peak(&d, 1, &at), 60.0);
    ck_assert_double_eq(at, 1.0);
    ck_assert_double_eq(pm_dat_peak(&d, 0, &at), 30.0);
    ck_assert_double_eq(at, 4.0);
    pm_dat_close(&d);

    ck_assert_int_eq(pm_dat_parse("MEM 10 1\nCHLD 8 40 1.1\nMEM 30 2\n"
                                  "CHLD 8 25 2.1\n",
                                  &d, NULL, 0),
                     0);
    ck_assert_double_eq(pm_dat_peak(&d, 1, &at), 55.0);
    ck_assert_double_eq(at, 2.0);
    pm_dat_close(&d);
}
END_TEST

/* Under a locale with a decimal comma the records still use "." both ways.
 * The test builds de_DE.UTF-8 itself when it is not installed
 * (check_util.h). */
START_TEST(test_dat_ignores_decimal_comma_locale)
{
    char buf[64];
    pm_dat_t d;
    int rc;

    PM_CHECK_NEED_COMMA_LOCALE();
    pm_dat_format_mem(buf, sizeof(buf), 1.5, 2.25);
    rc = pm_dat_parse(buf, &d, NULL, 0);
    pm_check_comma_locale_done();
    ck_assert_str_eq(buf, "MEM 1.500000 2.2500\n");
    ck_assert_int_eq(rc, 0);
    ck_assert_double_eq(d.mem[0].mib, 1.5);
    ck_assert_double_eq(d.mem[0].t, 2.25);
    pm_dat_close(&d);
}
END_TEST

/* Messages reach a terminal: a crafted file's ESC and BEL come out as
 * \xNN, never as bytes, and a field's first 40 bytes end on a whole UTF-8
 * character. */
START_TEST(test_dat_parse_escapes_control_characters_in_messages)
{
    char err[256], text[128];
    pm_dat_t d;

    ck_assert_int_eq(pm_dat_parse("MEM \x1b[2J\x07 2\n", &d, err, sizeof err),
                     PM_EBADMSG);
    ck_assert_str_eq(err, "line 1: MEM MiB \"\\x1b[2J\\x07\" is not a number");
    ck_assert_int_eq(pm_dat_parse("MEM 1 2\n\x1b]0;owned\x07\n", &d, err,
                                  sizeof err),
                     PM_EBADMSG);
    ck_assert_str_eq(err, "line 2: \"\\x1b]0;owned\\x07\" is not a record (no "
                          "space after its type)");
    /* C1 controls (CSI is U+009B) and broken UTF-8 too; other text kept */
    ck_assert_int_eq(pm_dat_parse("MEM 1 \xc2\x9b\xff\xc3\xa9\n", &d, err,
                                  sizeof err),
                     PM_EBADMSG);
    ck_assert_str_eq(err, "line 1: MEM time \"\\xc2\\x9b\\xff\xc3\xa9\" is not "
                          "a number");
    /* "a" and 30 x "é": 40 bytes would end inside the 20th é */
    strcpy(text, "MEM a");
    for (int i = 0; i < 30; i++) {
        strcat(text, "\xc3\xa9");
    }
    strcat(text, " 2\n");
    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof err), PM_EBADMSG);
    ck_assert_str_eq(err, "line 1: MEM MiB \"a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                          "\xc3\xa9\xc3\xa9\xc3\xa9\" is not a number");
    /* a message cut by a short buffer ends on a whole character too */
    {
        char small[20];
        ck_assert_int_eq(pm_dat_parse("MEM \xc3\xa9\xc3\xa9\xc3\xa9 2\n", &d,
                                      small, sizeof small),
                         PM_EBADMSG);
        ck_assert_str_eq(small, "line 1: MEM MiB \"\xc3\xa9");
    }
}
END_TEST

/* A NUL ends a C string: the fields after it were counted as missing. */
START_TEST(test_dat_parse_reports_nul_byte)
{
    static const char text[] = "CMDLINE x\nMEM 1\0 2\nMEM 3 4\n";
    char err[256];
    pm_dat_t d;

    ck_assert_int_eq(
        pm_dat_parse_len(text, sizeof text - 1, &d, err, sizeof err),
        PM_EBADMSG);
    ck_assert_str_eq(err, "line 2: NUL byte at column 6 (a .dat file is text)");
    ck_assert_ptr_null(d.mem);
    ck_assert_int_eq(pm_dat_parse_len("MEM 1 2\n\0", 9, &d, err, sizeof err),
                     PM_EBADMSG);
    ck_assert_str_eq(err, "line 2: NUL byte at column 1 (a .dat file is text)");
    ck_assert_int_eq(pm_dat_parse_len("MEM 1 2\nMEM 3 4", 7, &d, err,
                                      sizeof err),
                     0); /* len bytes only */
    ck_assert_uint_eq(d.nmem, 1);
    pm_dat_close(&d);
}
END_TEST

/* 100,000 children, each pid seen twice and out of order: every CHLD
 * record finds its child by pid (one hash lookup; the linear scan this
 * replaced took seconds, bench/dat_children.py measures it). */
START_TEST(test_dat_parse_many_children_keep_first_seen_order)
{
    const int n = 100000;
    size_t size = (size_t)n * 2 * 40 + 64, used = 0;
    char *text = malloc(size), err[128];
    pm_dat_t d;

    ck_assert_ptr_nonnull(text);
    used += (size_t)pm_dat_format_mem(text, size, 1.0, 0.0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
            /* pids far apart, many sharing their low bits */
            int pid = round == 0 ? 7 + i * 1024 : 7 + (n - 1 - i) * 1024;
            used += (size_t)pm_dat_format_child(text + used, size - used, pid,
                                                1.0 + round, 0.5 + round);
        }
    }
    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof(err)), 0);
    ck_assert_uint_eq(d.nchildren, (size_t)n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(d.children[i].pid, 7 + i * 1024);
        ck_assert_uint_eq(d.children[i].n, 2);
        ck_assert_double_eq(d.children[i].points[1].mib, 2.0);
    }
    pm_dat_close(&d);
    free(text);
}
END_TEST

/* Reading is capped: a file over the cap is refused from its size, and a
 * pipe (or a device) that goes on is cut at the cap, not read on until
 * memory runs out. */
START_TEST(test_dat_read_fd_caps_what_it_reads)
{
    char path[] = "/tmp/check_dat_XXXXXX", *text;
    size_t len;
    int fd = mkstemp(path), p[2];

    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(write(fd, "MEM 1 2\n", 8), 8);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ck_assert_int_eq(pm_dat_read_fd(fd, 8, &text, &len), 0);
    ck_assert_uint_eq(len, 8);
    ck_assert_str_eq(text, "MEM 1 2\n");
    free(text);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ck_assert_int_eq(pm_dat_read_fd(fd, 7, &text, &len), -EFBIG);
    ck_assert_ptr_null(text);
    /* a sparse 8 GiB file: refused before a byte is read */
    ck_assert_int_eq(ftruncate(fd, (off_t)8 << 30), 0);
    ck_assert_int_eq(pm_dat_read_fd(fd, PM_DAT_MAX_BYTES, &text, &len),
                     -EFBIG);
    close(fd);

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "MEM 1 2\nMEM 3 4\n", 16), 16);
    close(p[1]);
    ck_assert_int_eq(pm_dat_read_fd(p[0], 10, &text, &len), -EFBIG);
    close(p[0]);
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "MEM 1 2\n", 8), 8);
    close(p[1]);
    ck_assert_int_eq(pm_dat_read_fd(p[0], 8, &text, &len), 0);
    ck_assert_uint_eq(len, 8);
    free(text);
    close(p[0]);
    /* a device never ends: cut at the cap */
    fd = open("/dev/zero", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pm_dat_read_fd(fd, PM_MIB, &text, &len), -EFBIG);
    close(fd);
}
END_TEST

static Suite *dat_suite(void)
{
    Suite *s = suite_create("dat");
    TCase *tc = tcase_create("dat");

    tcase_add_test(tc, test_dat_parse_reads_mprof_file);
    tcase_add_test(tc, test_dat_parse_reads_mprof_children);
    tcase_add_test(tc, test_dat_parse_reads_peakmem_written_as_mprof_does);
    tcase_add_test(tc, test_dat_parse_rejects_truncated_file);
    tcase_add_test(tc, test_dat_parse_rejects_garbled_file);
    tcase_add_loop_test(tc, test_dat_parse_rejects_bad_records_with_line, 0,
                        (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_dat_parse_error_message_is_truncated_safely);
    tcase_add_test(tc, test_dat_parse_tolerates_what_mprof_does);
    tcase_add_test(tc, test_dat_parse_without_cmdline_gives_empty_string);
    tcase_add_test(tc, test_dat_parse_grows_past_many_records);
    tcase_add_test(tc, test_dat_format_matches_memory_profiler);
    tcase_add_test(tc, test_dat_format_keeps_records_on_one_line);
    tcase_add_test(tc, test_dat_format_refuses_short_buffer_and_non_finite);
    tcase_add_test(tc, test_dat_format_writes_committed_fixture);
    tcase_add_test(tc, test_dat_round_trip_keeps_values);
    tcase_add_test(tc, test_dat_round_trip_rounds_to_format_decimals);
    tcase_add_test(tc, test_dat_peak_without_children_is_highest_mem);
    tcase_add_test(tc, test_dat_peak_with_children_sums_same_round);
    tcase_add_test(tc, test_dat_ignores_decimal_comma_locale);
    tcase_add_test(tc, test_dat_parse_escapes_control_characters_in_messages);
    tcase_add_test(tc, test_dat_parse_reports_nul_byte);
    tcase_add_test(tc, test_dat_parse_many_children_keep_first_seen_order);
    tcase_add_test(tc, test_dat_read_fd_caps_what_it_reads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pm_check_run(dat_suite());
}
