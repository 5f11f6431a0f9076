/* Check tests for magics/record.c and magics/recfile.c, the peakmem
 * command's recording engine and .dat reading: a real program
 * (tests/record_child, which touches a known number of MiB) recorded into
 * a .dat file that the protocol's parser reads back; the program's exit
 * status, the timeout, a stop signal, -C and -M, and each failure step.
 * Run under ASan too. */
#include "check_util.h"
#include "pm_record.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/pm-check-record-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    pm_check_rmtree(dir);
}

static const char *path_in_dir(const char *name)
{
    static char path[128];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static char *child_exe(void)
{
    char *exe = getenv("PM_RECORD_CHILD");

    ck_assert_msg(exe != NULL, "PM_RECORD_CHILD is not set");
    return exe;
}

static void opts_for(pm_record_opts_t *o, char *const *argv,
                     const char *output)
{
    memset(o, 0, sizeof *o);
    o->argv = argv;
    o->output = output;
    o->cmdline = "record_child";
    o->interval_s = 0.02;
}

/* Parse the file: every line whole, as the protocol reads it. */
static void load_dat(const char *path, pm_dat_t *d)
{
    char err[256];
    int rc = pm_recfile_load(path, d, err, sizeof err);

    ck_assert_msg(rc == 0, "%s: %d %s", path, rc, err);
}

static double child_peak(const pm_dat_t *d)
{
    double peak = 0;

    for (size_t c = 0; c < d->nchildren; c++) {
        for (size_t k = 0; k < d->children[c].n; k++) {
            if (d->children[c].points[k].mib > peak) {
                peak = d->children[c].points[k].mib;
            }
        }
    }
    return peak;
}

static int ready_calls;

static void count_ready(void *ctx)
{
    (void)ctx;
    ready_calls++;
}

START_TEST(test_record_run_writes_mem_lines_and_exit_status)
{
    char *argv[] = {child_exe(), "48", "400", "3", NULL};
    const char *out;
    pm_record_opts_t o;
    pm_record_result_t res;
    pm_dat_t d;
    char *text;
    FILE *f;
    long len;

    make_dir();
    out = path_in_dir("run.dat");
    opts_for(&o, argv, out);
    ready_calls = 0;
    ck_assert_int_eq(pm_record(&o, count_ready, NULL, &res), 0);
    ck_assert_int_eq(ready_calls, 1);
    ck_assert_int_eq(res.failed, 0);
    ck_assert_int_eq(res.stop, PM_RECORD_EXITED);
    ck_assert(res.reaped);
    ck_assert(WIFEXITED(res.wstatus));
    ck_assert_int_eq(WEXITSTATUS(res.wstatus), 3);
    ck_assert_uint_ge(res.nmem, 5);
    load_dat(out, &d);
    ck_assert_str_eq(d.cmdline, "record_child");
    ck_assert_uint_eq(d.nmem, res.nmem);
    ck_assert_double_ge(pm_dat_peak(&d, 0, NULL), 48.0);
    ck_assert_uint_eq(d.nchildren, 0);
    pm_dat_close(&d);
    /* whole lines only: the file ends with a newline */
    f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    text = calloc(1, (size_t)len + 1);
    fseek(f, 0, SEEK_SET);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    ck_assert_int_eq(text[len - 1], '\n');
    ck_assert(strncmp(text, "CMDLINE record_child\nMEM ", 25) == 0);
    free(text);
    remove_dir();
}
END_TEST

START_TEST(test_record_timeout_leaves_the_program_running)
{
    char *argv[] = {child_exe(), "8", "20000", "0", NULL};
    pm_record_opts_t o;
    pm_record_result_t res;
    int64_t t0 = pm_now_ns();
    int status;

    make_dir();
    opts_for(&o, argv, path_in_dir("t.dat"));
    o.timeout_s = 0.3;
    ck_assert_int_eq(pm_record(&o, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.stop, PM_RECORD_TIMEOUT);
    ck_assert(!res.reaped);
    ck_assert_int_lt(pm_now_ns() - t0, 10000000000LL);
    /* still running: ours to stop */
    ck_assert_int_eq(waitpid(res.pid, &status, WNOHANG), 0);
    kill(res.pid, SIGKILL);
    ck_assert_int_eq(waitpid(res.pid, &status, 0), res.pid);
    remove_dir();
}
END_TEST

/* Sends SIGTERM to the process after 300 ms, as `kill` would. */
static void *send_term(void *arg)
{
    struct timespec ts = {0, 300000000};

    (void)arg;
    nanosleep(&ts, NULL);
    kill(getpid(), SIGTERM);
    return NULL;
}

static pthread_t sender;

/* ready: start the sender with SIGINT/SIGTERM blocked, so the signal
 * reaches the recording thread's ppoll. */
static void start_sender(void *ctx)
{
    sigset_t set, old;

    (void)ctx;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    ck_assert_int_eq(pthread_create(&sender, NULL, send_term, NULL), 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

START_TEST(test_record_stop_signal_stops_the_program_too)
{
    char *argv[] = {child_exe(), "8", "20000", "0", NULL};
    pm_record_opts_t o;
    pm_record_result_t res;
    struct sigaction before, now;
    int status;

    make_dir();
    opts_for(&o, argv, path_in_dir("s.dat"));
    sigaction(SIGTERM, NULL, &before);
    ck_assert_int_eq(pm_record(&o, start_sender, NULL, &res), 0);
    pthread_join(sender, NULL);
    ck_assert_int_eq(res.stop, PM_RECORD_SIGNAL);
    ck_assert_int_eq(res.signal, SIGTERM);
    /* the program got the signal too (it came from kill, not a tty) */
    ck_assert_int_eq(waitpid(res.pid, &status, 0), res.pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGTERM);
    /* the caller's handler is back */
    sigaction(SIGTERM, NULL, &now);
    ck_assert_int_eq(now.sa_flags, before.sa_flags);
    ck_assert(memcmp(&now.sa_handler, &before.sa_handler,
                     sizeof now.sa_handler) == 0);
    remove_dir();
}
END_TEST

START_TEST(test_record_children_as_chld_lines_and_in_mem)
{
    char script[512];
    char *argv[] = {"sh", "-c", script, NULL};
    pm_record_opts_t o;
    pm_record_result_t res;
    pm_dat_t d;

    snprintf(script, sizeof script, "'%s' 24 600 0 & '%s' 24 600 0; wait",
             child_exe(), child_exe());
    make_dir();
    opts_for(&o, argv, path_in_dir("m.dat"));
    o.multiprocess = 1;
    o.include_children = 1;
    ck_assert_int_eq(pm_record(&o, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.stop, PM_RECORD_EXITED);
    load_dat(path_in_dir("m.dat"), &d);
    ck_assert_uint_ge(d.nchildren, 2);
    ck_assert_double_ge(child_peak(&d), 24.0);
    /* -C: the shell's own RSS plus both children */
    ck_assert_double_ge(pm_dat_peak(&d, 0, NULL), 48.0);
    pm_dat_close(&d);
    remove_dir();
}
END_TEST

START_TEST(test_record_failures_name_their_step)
{
    char *missing[] = {"no-such-program-xyz", NULL};
    char *argv[] = {child_exe(), "1", "0", "0", NULL};
    pm_record_opts_t o;
    pm_record_result_t res;
    struct stat st;

    make_dir();
    /* a program that cannot run leaves no file */
    opts_for(&o, missing, path_in_dir("x.dat"));
    ck_assert_int_eq(pm_record(&o, NULL, NULL, &res), -ENOENT);
    ck_assert_int_eq(res.failed, PM_RECORD_FAIL_SPAWN);
    ck_assert_int_eq(stat(path_in_dir("x.dat"), &st), -1);
    /* an output that cannot be created */
    opts_for(&o, argv, path_in_dir("no/such/dir.dat"));
    ck_assert_int_eq(pm_record(&o, NULL, NULL, &res), -ENOENT);
    ck_assert_int_eq(res.failed, PM_RECORD_FAIL_OPEN);
    /* attach to no process: checked before the file is made */
    opts_for(&o, NULL, path_in_dir("a.dat"));
    o.pid = 2147483000;
    ck_assert_int_eq(pm_record(&o, NULL, NULL, &res), -ESRCH);
    ck_assert_int_eq(res.failed, PM_RECORD_FAIL_TARGET);
    ck_assert_int_eq(stat(path_in_dir("a.dat"), &st), -1);
    remove_dir();
}
END_TEST

START_TEST(test_record_attach_records_until_exit)
{
    char *argv[] = {child_exe(), "32", "800", "0", NULL};
    pid_t pid = fork();
    pm_record_opts_t o;
    pm_record_result_t res;
    struct timespec ts = {0, 200000000};
    pm_dat_t d;
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    nanosleep(&ts, NULL); /* touched by now */
    make_dir();
    opts_for(&o, NULL, path_in_dir("at.dat"));
    o.cmdline = NULL; /* read from /proc */
    o.pid = pid;
    ck_assert_int_eq(pm_record(&o, NULL, NULL, &res), 0);
    /* the process ended (a zombie until we reap it: RSS 0) */
    ck_assert_int_eq(res.stop, PM_RECORD_EXITED);
    ck_assert(!res.reaped);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    load_dat(path_in_dir("at.dat"), &d);
    ck_assert_ptr_nonnull(strstr(d.cmdline, "record_child 32 800 0"));
    ck_assert_double_ge(pm_dat_peak(&d, 0, NULL), 32.0);
    pm_dat_close(&d);
    remove_dir();
}
END_TEST

START_TEST(test_recfile_refuses_what_is_not_a_dat_file)
{
    pm_dat_t d;
    pm_recfile_plot_t p;
    char err[256];
    FILE *f;

    make_dir();
    ck_assert_int_eq(pm_recfile_load(dir, &d, err, sizeof err), -EISDIR);
    ck_assert_int_eq(pm_recfile_load("/dev/zero", &d, err, sizeof err),
                     -ENODEV);
    ck_assert_int_eq(
        pm_recfile_load(path_in_dir("none.dat"), &d, err, sizeof err),
        -ENOENT);
    f = fopen(path_in_dir("empty.dat"), "w");
    fclose(f);
    ck_assert_int_eq(
        pm_recfile_load(path_in_dir("empty.dat"), &d, err, sizeof err),
        -ENODATA);
    f = fopen(path_in_dir("far.dat"), "w");
    fputs("CMDLINE x\nMEM 1 -1.7e308\nMEM 2 1.7e308\nCHLD 7 3 0\n", f);
    fclose(f);
    load_dat(path_in_dir("far.dat"), &d);
    ck_assert_int_eq(pm_recfile_plot_init(&p, &d), -ERANGE);
    pm_dat_close(&d);
    f = fopen(path_in_dir("ok.dat"), "w");
    fputs("CMDLINE x\nMEM 1 10\nMEM 2 11\nCHLD 7 3 10.5\n"
          "FUNC f 1 10.2 2 10.8\n", f);
    fclose(f);
    load_dat(path_in_dir("ok.dat"), &d);
    ck_assert_int_eq(pm_recfile_plot_init(&p, &d), 0);
    ck_assert_uint_eq(p.nseries, 2);
    ck_assert_str_eq(p.series[1].label, "child 7");
    ck_assert_double_eq_tol(p.series[1].points[0].t, 0.5, 1e-9);
    ck_assert_uint_eq(p.nspans, 1);
    ck_assert_double_eq_tol(p.spans[0].end_t, 0.8, 1e-9);
    pm_recfile_plot_close(&p);
    pm_dat_close(&d);
    remove_dir();
}
END_TEST

START_TEST(test_record_join_cmdline_quotes_blanks)
{
    char *args[] = {"python", "my script.py", "a\tb", "c"};
    char *s = pm_record_join_cmdline(args, 4);

    ck_assert_str_eq(s, "python 'my script.py' 'a\tb' c");
    free(s);
}
END_TEST

START_TEST(test_recfile_func_peak_keeps_samples_inside_its_calls)
{
    const char *text = "CMDLINE x\nMEM 5 10\nMEM 40 11\nMEM 7 12\n"
                       "MEM 50 13\nMEM 9 14\n"
                       "FUNC __main__.f 5 10.5 7 12.0\n"
                       "FUNC __main__.f 7 13.5 9 14.0\n"
                       "FUNC __main__.g 7 20 7 21\n";
    char err[256];
    pm_dat_t d;
    double peak;

    ck_assert_int_eq(pm_dat_parse(text, &d, err, sizeof err),
                     0);
    ck_assert_int_eq(pm_recfile_func_peak(&d, "__main__.f", &peak), 0);
    ck_assert_double_eq(peak, 40); /* t 11, 12 and 14; not 50 at 13 */
    ck_assert_int_eq(pm_recfile_func_peak(&d, "__main__.g", &peak),
                     -ENODATA);
    ck_assert_int_eq(pm_recfile_func_peak(&d, "f", &peak), -ENOENT);
    pm_dat_close(&d);
}
END_TEST

START_TEST(test_recfile_function_labels_as_mprof)
{
    const char *names[] = {"x.z", "x.y", "x.b", "f.a.b", "g.a.b", "g.a.c",
                           "b.c", "solo"};
    const char *want[] = {"z", "y", "x.b", "f.a.b", "g.a.b", "a.c", "b.c",
                          "solo"};
    const char *got[8];

    pm_recfile_function_labels(names, 8, got);
    for (int i = 0; i < 8; i++) {
        ck_assert_str_eq(got[i], want[i]);
        ck_assert(got[i] >= names[i]); /* a pointer into the name */
    }
}
END_TEST

START_TEST(test_recfile_slope_fits_a_line)
{
    pm_svg_point_t pts[] = {{0, 10}, {1, 12}, {2, 14}, {3, 16}};
    pm_svg_point_t one_time[] = {{1, 10}, {1, 12}};
    double slope, b;

    ck_assert_int_eq(pm_recfile_slope(pts, 4, &slope, &b), 0);
    ck_assert_double_eq_tol(slope, 2.0, 1e-12);
    ck_assert_double_eq_tol(b, 10.0, 1e-12);
    ck_assert_int_eq(pm_recfile_slope(pts, 1, &slope, &b), -EDOM);
    ck_assert_int_eq(pm_recfile_slope(one_time, 2, &slope, &b), -EDOM);
}
END_TEST

START_TEST(test_recfile_plot_build_several_files_window_and_spans)
{
    const char *a = "CMDLINE a\nMEM 1 100\nMEM 2 101\nMEM 3 102\n"
                    "FUNC m.f 1 100.5 2 101.5 0\n";
    const char *b = "CMDLINE b\nMEM 5 500\nMEM 6 502\nCHLD 9 1 501\n";
    const char *names[] = {"a.dat", "b.dat"};
    pm_recfile_plot_opts_t o = {.window = 1, .win_lo = 0.5, .win_hi = 2};
    pm_recfile_plot_t p;
    pm_dat_t d[2];
    char err[256];

    ck_assert_int_eq(pm_dat_parse(a, &d[0], err, sizeof err), 0);
    ck_assert_int_eq(pm_dat_parse(b, &d[1], err, sizeof err), 0);
    /* one file: "main", its window [0.5, 2] s, the span under its label */
    ck_assert_int_eq(pm_recfile_plot_build(&p, d, names, 1, &o), 0);
    ck_assert_uint_eq(p.nseries, 1);
    ck_assert_str_eq(p.series[0].label, "main");
    ck_assert_uint_eq(p.series[0].n, 2); /* t 1 and 2 */
    ck_assert_uint_eq(p.nspans, 1);
    ck_assert_str_eq(p.spans[0].name, "f");
    ck_assert_double_eq(p.spans[0].start_t, 0.5);
    pm_recfile_plot_close(&p);
    /* two files: labelled by name, each from its own 0, no spans;
     * with the slope a trend after each main line */
    o = (pm_recfile_plot_opts_t){.slope = 1};
    ck_assert_int_eq(pm_recfile_plot_build(&p, d, names, 2, &o), 0);
    ck_assert_uint_eq(p.nseries, 5);
    ck_assert_str_eq(p.series[0].label, "a.dat slope 1.00000");
    ck_assert_str_eq(p.series[1].label, "trend");
    ck_assert_str_eq(p.series[2].label, "b.dat slope 0.50000");
    ck_assert_str_eq(p.series[4].label, "child 9");
    ck_assert_double_eq(p.series[4].points[0].t, 1.0);
    ck_assert_uint_eq(p.nspans, 0);
    pm_recfile_plot_close(&p);
    pm_dat_close(&d[0]);
    pm_dat_close(&d[1]);
}
END_TEST

static Suite *record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("record");

    tcase_add_test(tc, test_record_run_writes_mem_lines_and_exit_status);
    tcase_add_test(tc, test_record_timeout_leaves_the_program_running);
    tcase_add_test(tc, test_record_stop_signal_stops_the_program_too);
    tcase_add_test(tc, test_record_children_as_chld_lines_and_in_mem);
    tcase_add_test(tc, test_record_failures_name_their_step);
    tcase_add_test(tc, test_record_attach_records_until_exit);
    tcase_add_test(tc, test_recfile_refuses_what_is_not_a_dat_file);
    tcase_add_test(tc, test_record_join_cmdline_quotes_blanks);
    tcase_add_test(tc, test_recfile_func_peak_keeps_samples_inside_its_calls);
    tcase_add_test(tc, test_recfile_function_labels_as_mprof);
    tcase_add_test(tc, test_recfile_slope_fits_a_line);
    tcase_add_test(tc, test_recfile_plot_build_several_files_window_and_spans);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pm_check_run(record_suite());
}
