/* The recording engine of `peakmem run` and `peakmem attach`: spawn the
 * program (or check the pid), sample it with the kernel's sampler thread
 * and write what it keeps to an mprof .dat file until the program ends,
 * SIGINT/SIGTERM arrive or the timeout passes. Plain C, no Python.h: the
 * boundary (recorder_py.c) calls pm_record without the GIL. */
#include "pm_record.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FLUSH_NS 500000000LL       /* write kept samples every 0.5 s */
#define FALLBACK_POLL_NS 50000000LL /* without pidfd: check the target */
#define MAX_CHILDREN 1024           /* -M: descendants written per scan */

/* ---- the .dat writer ---------------------------------------------------*/

/* The .dat being written: whole lines only, one write(2) per flush. */
typedef struct {
    int fd;
    char *buf; /* pending whole lines */
    size_t len, cap;
    pm_sample_t *samples;
    size_t scap;
    int64_t last_t_ns;      /* newest sample already written */
    int64_t unix_offset_ns; /* unix time = pm_now_ns() + offset */
    int include_children;
    pm_mem_kind_t kind; /* of the CHLD values */
    int err; /* first write errno, reported at the end */
    size_t nmem;
} dat_writer_t;

static int64_t unix_offset_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - pm_now_ns();
}

static double unix_s(const dat_writer_t *w, int64_t mono_ns)
{
    return (double)(mono_ns + w->unix_offset_ns) / 1e9;
}

static void writer_append(dat_writer_t *w, const char *line, int n)
{
    if (n < 0 || w->err != 0) {
        return;
    }
    if (w->len + (size_t)n > w->cap) {
        size_t cap = (w->cap + (size_t)n) * 2;
        char *b = realloc(w->buf, cap);
        if (b == NULL) {
            w->err = ENOMEM;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, line, (size_t)n);
    w->len += (size_t)n;
}

static void writer_flush(dat_writer_t *w)
{
    size_t off = 0;

    while (off < w->len && w->err == 0) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0) {
            if (errno != EINTR) {
                w->err = errno;
            }
            continue;
        }
        off += (size_t)n;
    }
    w->len = 0;
}

/* Append the sampler's samples newer than the last written as MEM lines.
 * Samples of RSS 0 (a zombie's statm, before it is reaped) are skipped. */
static void writer_take_samples(dat_writer_t *w, pm_sampler_t *s)
{
    size_t total = pm_sampler_timeline_len(s);
    size_t lo = 0, n;

    if (total > w->scap) {
        size_t cap = total + total / 2 + 1024;
        pm_sample_t *b = realloc(w->samples, cap * sizeof *b);
        if (b != NULL) {
            w->samples = b;
            w->scap = cap;
        }
    }
    /* Samples appended since the length was read come next time. */
    n = pm_sampler_timeline_copy(s, w->samples, w->scap);
    /* kept samples are in time order: find the first unwritten one */
    for (size_t hi = n; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->samples[mid].t_ns <= w->last_t_ns) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t i = lo; i < n; i++) {
        const pm_sample_t *sm = &w->samples[i];
        uint64_t bytes = sm->rss_bytes;
        char line[128];

        if (bytes == 0) {
            continue;
        }
        if (w->include_children) {
            bytes += sm->children_bytes;
        }
        writer_append(w, line,
                      pm_dat_format_mem(line, sizeof line, (double)bytes / PM_MIB,
                                        unix_s(w, sm->t_ns)));
        w->nmem++;
    }
    if (n > 0) {
        w->last_t_ns = w->samples[n - 1].t_ns;
    }
}

/* -M: one CHLD line per live descendant of root. */
static void writer_sample_children(dat_writer_t *w, pid_t root)
{
    pid_t pids[MAX_CHILDREN];
    int n = pm_proc_descendants(root, pids, MAX_CHILDREN);
    double t = unix_s(w, pm_now_ns());

    for (int i = 0; i < n && i < MAX_CHILDREN; i++) {
        uint64_t bytes;
        char line[128];

        if (pm_mem_read(pids[i], w->kind, &bytes) < 0 || bytes == 0) {
            continue;
        }
        writer_append(w, line,
                      pm_dat_format_child(line, sizeof line, (int)pids[i],
                                          (double)bytes / PM_MIB, t));
    }
}

/* ---- command lines -----------------------------------------------------*/

char *pm_record_join_cmdline(char *const *args, size_t n)
{
    size_t len = 1;
    char *s, *p;

    for (size_t i = 0; i < n; i++) {
        len += strlen(args[i]) + 3;
    }
    s = malloc(len);
    if (s == NULL) {
        return NULL;
    }
    p = s;
    for (size_t i = 0; i < n; i++) {
        int quote = strpbrk(args[i], " \t") != NULL;

        if (i > 0) {
            *p++ = ' ';
        }
        p += sprintf(p, quote ? "'%s'" : "%s", args[i]);
    }
    *p = '\0';
    return s;
}

/* The command line of a running process from /proc/<pid>/cmdline (NUL-
 * separated), or NULL (kernel threads have none). Caller frees. */
static char *proc_cmdline(pid_t pid)
{
    char path[64], buf[8192];
    char *args[512];
    size_t n = 0;
    int len;

    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    len = pm_proc_read(path, buf, sizeof buf);
    if (len == -EOVERFLOW) {
        len = (int)sizeof buf - 1;
    }
    if (len <= 0) {
        return NULL;
    }
    buf[len] = '\0';
    for (int i = 0; i < len && n < 512; i += (int)strlen(buf + i) + 1) {
        args[n++] = buf + i;
    }
    return pm_record_join_cmdline(args, n);
}

/* ---- the loop ----------------------------------------------------------*/

typedef struct {
    pid_t pid;
    int pidfd; /* -1 when pidfd_open is unavailable */
    int own;   /* our child: reap it with waitpid */
    int wstatus, reaped;
    pm_sampler_t *sampler;
    dat_writer_t w;
    int64_t deadline_ns; /* 0: none */
    int64_t interval_ns;
    int multiprocess;
    int sigfd;         /* signalfd of SIGINT and SIGTERM (blocked) */
    int stop_signal;   /* the stop signal taken from sigfd, or 0 */
    int stop_from_tty; /* it came from the terminal (SI_KERNEL): sent to
                          the whole foreground group, so the program got
                          it too and must not get it twice */
} rec_t;

/* Take the pending stop signals from r->sigfd (the last one wins).
 * Returns 1 when one was taken. */
static int take_stop_signal(rec_t *r)
{
    struct signalfd_siginfo si;
    int got = 0;

    while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        r->stop_signal = (int)si.ssi_signo;
        r->stop_from_tty = si.ssi_code == SI_KERNEL;
        got = 1;
    }
    return got;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

/* Without a pidfd: has the target ended? */
static int target_gone(rec_t *r)
{
    uint64_t bytes;

    if (r->own) {
        pid_t got = waitpid(r->pid, &r->wstatus, WNOHANG);
        if (got == r->pid) {
            r->reaped = 1;
            return 1;
        }
        return got < 0;
    }
    return pm_sampler_target_gone(r->sampler) ||
           pm_rss_pid(r->pid, &bytes) < 0 || bytes == 0;
}

/* Wait for the target to end, a stop signal or the deadline, writing the
 * samples to the file every FLUSH_NS (and scanning descendants every
 * interval with -M). SIGINT and SIGTERM stay blocked and arrive as
 * readable data on r->sigfd, polled with the pidfd: none is lost
 * between the checks and no handler runs. */
static int record_loop(rec_t *r)
{
    int64_t now = pm_now_ns();
    int64_t next_flush = now + FLUSH_NS;
    int64_t next_chld = now;

    for (;;) {
        struct pollfd pfd[2] = {{r->sigfd, POLLIN, 0},
                                {r->pidfd, POLLIN, 0}};
        struct timespec ts;
        int64_t wake;
        int n;

        if (r->stop_signal != 0 || take_stop_signal(r)) {
            return PM_RECORD_SIGNAL;
        }
        now = pm_now_ns();
        if (r->deadline_ns != 0 && now >= r->deadline_ns) {
            return PM_RECORD_TIMEOUT;
        }
        if (r->multiprocess && now >= next_chld) {
            writer_sample_children(&r->w, r->pid);
            next_chld += r->interval_ns;
            if (next_chld <= now) {
                next_chld = now + r->interval_ns;
            }
        }
        if (now >= next_flush) {
            writer_take_samples(&r->w, r->sampler);
            writer_flush(&r->w);
            next_flush = now + FLUSH_NS;
        }
        wake = next_flush;
        if (r->multiprocess && next_chld < wake) {
            wake = next_chld;
        }
        if (r->deadline_ns != 0 && r->deadline_ns < wake) {
            wake = r->deadline_ns;
        }
        if (r->pidfd < 0 && now + FALLBACK_POLL_NS < wake) {
            wake = now + FALLBACK_POLL_NS;
        }
        if (wake < now) {
            wake = now;
        }
        ts.tv_sec = (time_t)((wake - now) / 1000000000);
        ts.tv_nsec = (long)((wake - now) % 1000000000);
        n = ppoll(pfd, r->pidfd >= 0 ? 2 : 1, &ts, NULL);
        if (n > 0 && take_stop_signal(r)) {
            return PM_RECORD_SIGNAL;
        }
        if (n > 0 && pfd[1].revents != 0) {
            return PM_RECORD_EXITED;
        }
        if (n == 0 && r->pidfd < 0 && target_gone(r)) {
            return PM_RECORD_EXITED;
        }
    }
}

/* Spawn the program: default SIGPIPE/SIGXFSZ (Python ignores them) and
 * an empty signal mask. Returns 0 or a negative errno. */
static int spawn_child(char *const *argv, pid_t *pid)
{
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    int rc;

    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGXFSZ);
    if ((rc = posix_spawnattr_init(&attr)) != 0) {
        return -rc;
    }
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    rc = posix_spawnp(pid, argv[0], NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    return -rc;
}

/* attach: the pid names a live process with memory to sample. */
static int check_target(pid_t pid)
{
    uint64_t bytes;
    int rc;

    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
        return -ESRCH;
    }
    rc = pm_rss_pid(pid, &bytes);
    if (rc == -ENOENT || rc == -ESRCH) {
        return -ESRCH;
    }
    if (rc < 0) {
        return rc;
    }
    return bytes == 0 ? -ENODATA : 0;
}

/* Open the output and write its CMDLINE line. */
static int open_output(const pm_record_opts_t *o, rec_t *r)
{
    char line[8192];
    char *own = NULL;
    const char *cmdline = o->cmdline;
    int n;

    r->w.fd = open(o->output,
                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0666);
    if (r->w.fd < 0) {
        return -errno;
    }
    if (cmdline == NULL) {
        own = proc_cmdline(r->pid);
        cmdline = own;
    }
    n = pm_dat_format_cmdline(line, sizeof line,
                              cmdline != NULL ? cmdline : "");
    if (n < 0) { /* too long: keep its start */
        n = pm_dat_format_cmdline(line, sizeof line, "");
    }
    free(own);
    writer_append(&r->w, line, n);
    writer_flush(&r->w);
    return 0;
}

/* Spawn (run), sample and loop; the stop signals already on r->sigfd. */
static int record_body(const pm_record_opts_t *o, rec_t *r,
                       pm_record_result_t *res)
{
    pm_sampler_opts_t sopts = {0};
    int rc, stop;

    if (o->argv != NULL) {
        rc = spawn_child(o->argv, &r->pid);
        if (rc < 0) {
            res->failed = PM_RECORD_FAIL_SPAWN;
            return rc;
        }
        r->own = 1;
    }
    r->pidfd = open_pidfd(r->pid);
    sopts.self_interval_s = o->interval_s;
    sopts.children_interval_s = o->interval_s;
    sopts.include_children = o->include_children;
    sopts.kind = o->kind;
    sopts.pid = r->pid;
    sopts.record = 1;
    r->interval_ns = (int64_t)(o->interval_s * 1e9);
    r->multiprocess = o->multiprocess;
    r->deadline_ns =
        o->timeout_s > 0 ? pm_now_ns() + (int64_t)(o->timeout_s * 1e9) : 0;
    rc = pm_sampler_new(&sopts, &r->sampler);
    if (rc == 0 && o->include_children && o->children != NULL) {
        /* Best effort: the -C samples go on without exact peaks. */
        if (pm_children_root(o->children, r->pid) == 0) {
            (void)pm_children_start(o->children);
        }
    }
    if (rc < 0) {
        /* the program may already be gone (it ran for less than a
         * sample): nothing to record, but still reap it */
        r->sampler = NULL;
        stop = PM_RECORD_EXITED;
        if (!r->own) {
            res->failed = PM_RECORD_FAIL_SAMPLE;
            return rc;
        }
    } else {
        stop = record_loop(r);
    }
    if (stop == PM_RECORD_SIGNAL && r->own && !r->stop_from_tty) {
        kill(r->pid, r->stop_signal); /* let the program stop too */
    }
    if (stop == PM_RECORD_EXITED && r->own && !r->reaped) {
        while (waitpid(r->pid, &r->wstatus, 0) < 0 && errno == EINTR) {
        }
        r->reaped = 1;
    }
    if (r->sampler != NULL) {
        pm_sampler_stop(r->sampler);
        writer_take_samples(&r->w, r->sampler);
    }
    if (o->children != NULL) {
        (void)pm_children_stop(o->children);
    }
    if (r->multiprocess && stop != PM_RECORD_EXITED) {
        writer_sample_children(&r->w, r->pid);
    }
    writer_flush(&r->w);
    return stop;
}

int pm_record(const pm_record_opts_t *o, pm_record_ready_fn ready,
              void *ctx, pm_record_result_t *res)
{
    rec_t r;
    sigset_t stopset, oldmask;
    int rc;

    memset(res, 0, sizeof *res);
    memset(&r, 0, sizeof r);
    r.pidfd = -1;
    r.sigfd = -1;
    r.w.fd = -1;
    r.pid = o->pid;
    if (o->argv == NULL && (rc = check_target(o->pid)) < 0) {
        res->failed = PM_RECORD_FAIL_TARGET;
        return rc;
    }
    rc = open_output(o, &r);
    if (rc < 0) {
        res->failed = PM_RECORD_FAIL_OPEN;
        return rc;
    }
    r.w.include_children = o->include_children;
    r.w.kind = o->kind;
    r.w.unix_offset_ns = unix_offset_ns();
    if (ready != NULL) {
        ready(ctx);
    }

    /* From here on SIGINT/SIGTERM only stop the recording: blocked in
     * this thread and read from a signalfd (the sampler thread blocks
     * every signal itself; the caller's other threads, if any, are
     * expected to block them too, as the peakmem command has none). */
    sigemptyset(&stopset);
    sigaddset(&stopset, SIGINT);
    sigaddset(&stopset, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopset, &oldmask);
    r.sigfd = signalfd(-1, &stopset, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r.sigfd < 0) {
        rc = -errno;
        pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
        close(r.w.fd);
        free(r.w.buf);
        unlink(o->output); /* nothing was recorded */
        res->failed = PM_RECORD_FAIL_OPEN;
        return rc;
    }

    rc = record_body(o, &r, res);

    /* A signal that came after the last poll is still pending: take it
     * here, before the caller's mask is back. */
    take_stop_signal(&r);
    if (rc > 0 && r.stop_signal != 0) {
        rc = PM_RECORD_SIGNAL; /* Ctrl-C: 130, whoever ended first */
    }
    close(r.sigfd);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

    res->pid = r.pid;
    res->reaped = r.reaped;
    res->wstatus = r.wstatus;
    res->nmem = r.w.nmem;
    if (r.pidfd >= 0) {
        close(r.pidfd);
    }
    pm_sampler_free(r.sampler);
    free(r.w.samples);
    free(r.w.buf);
    if (close(r.w.fd) != 0 && r.w.err == 0 && rc > 0) {
        r.w.err = errno;
    }
    if (res->failed == PM_RECORD_FAIL_SPAWN) {
        unlink(o->output); /* nothing was recorded */
    }
    if (rc < 0) {
        return rc;
    }
    res->stop = rc;
    res->signal = rc == PM_RECORD_SIGNAL ? r.stop_signal : 0;
    if (r.w.err != 0) {
        res->failed = PM_RECORD_FAIL_WRITE;
        return -r.w.err;
    }
    return 0;
}
