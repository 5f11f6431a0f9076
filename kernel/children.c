/* Exact per-process peaks of a process's descendants (-c). A watcher
 * thread finds the descendants every tick (2 ms) through
 * /proc/<pid>/task/<tid>/children (a full /proc scan where the kernel
 * lacks that file), resets the high-water mark of each process that was
 * alive when the watch started (clear_refs "5"; a process born later
 * needs none: its VmHWM counts from its birth) and reads each one's VmHWM
 * every tick through a descriptor of its /proc/<pid>/status kept open
 * (so a reused pid is never mistaken for it), and once more at the end.
 *
 * What stays sampled: /proc keeps no VmHWM once a process has exited
 * (a zombie's status has no Vm* lines, and its pidfd turns readable only
 * after its memory is gone), so a process that exits before the end
 * keeps the mark of its last tick: growth in its last 2 ms is missed
 * (a pidfd would say when it exited, not what its mark was then).
 * A process that is born and exits within one tick is not seen. The
 * rusage of an exited child (waitid WNOWAIT) is not used: it races the
 * child's reaper, reaches only our own children, and after a vfork+exec
 * holds the parent's peak. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TICK_S 0.002
#define MIN_TICK_NS 100000 /* 0.1 ms */
#define FIRST_CAP 16
#define LIST_MAX 4096 /* pids read from one children file */

typedef struct {
    pm_child_t pub;
    int status_fd; /* /proc/<pid>/status; -1 once gone */
} entry_t;

struct pm_children {
    /* read-only after new */
    pid_t root;
    int with_root; /* the root has an entry too (pm_children_root) */
    int64_t tick_ns;
    int use_task_files; /* /proc/<pid>/task/<tid>/children exists */
    int force_scan;

    pthread_t thread;
    int running;  /* owner thread only */
    int wake_fd;  /* eventfd: stop wakes the watcher */
    int stopping; /* set by stop before the eventfd write; lock */

    /* The table: the watcher thread adds and updates while running; the
     * owner reads after stop. lock guards it while running. */
    pthread_mutex_t lock;
    entry_t *e;
    size_t n, cap;
    uint64_t ticks; /* rounds done */
};

static entry_t *find_unlocked(pm_children_t *c, pid_t pid)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].pub.pid == pid) {
            return &c->e[i];
        }
    }
    return NULL;
}

/* The command line, NULs as spaces, cut to fit; the comm name in
 * brackets for a process without one. */
static void read_cmd(pid_t pid, char *out, size_t len)
{
    char path[64];
    int n;

    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    n = pm_proc_read(path, out, len);
    if (n == -EOVERFLOW) {
        n = (int)len - 1;
    }
    if (n > 0) {
        for (int i = 0; i < n; i++) {
            if (out[i] == '\0') {
                out[i] = ' ';
            }
        }
        while (n > 0 && out[n - 1] == ' ') {
            out[--n] = '\0';
        }
        return;
    }
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    char comm[64];
    n = pm_proc_read(path, comm, sizeof comm);
    if (n > 0 && comm[n - 1] == '\n') {
        comm[n - 1] = '\0';
    }
    snprintf(out, len, "[%s]", n > 0 ? comm : "?");
}

/* Read VmHWM (and VmRSS) of e through its kept descriptor; marks e gone
 * when the process has exited (no Vm* lines) or been reaped. */
static void read_mark(entry_t *e)
{
    char buf[4096];
    pm_status_t st;
    int rc;

    if (e->status_fd < 0) {
        return;
    }
    rc = pm_proc_pread(e->status_fd, buf, sizeof buf);
    if (rc == -EOVERFLOW) {
        rc = 0; /* VmHWM is in the first 4 kB */
    }
    if (rc >= 0 && pm_proc_parse_status(buf, &st) == 0 && st.has_hwm) {
        /* VmHWM: kB, peak RSS since birth or the reset */
        uint64_t hwm = st.vm_hwm_kb * 1024;

        if (hwm > e->pub.peak_bytes) {
            e->pub.peak_bytes = hwm;
        }
        if (st.has_rss) {
            e->pub.last_rss_bytes = st.vm_rss_kb * 1024;
        }
        /* A forked child may exec later: its command then changes. */
        if (++e->pub.reads % 32 == 0) {
            read_cmd(e->pub.pid, e->pub.cmd, sizeof e->pub.cmd);
        }
        return;
    }
    /* Exited (zombie, no Vm* lines) or reaped (read fails). */
    e->pub.exited = 1;
    close(e->status_fd);
    e->status_fd = -1;
}

/* A descendant seen for the first time. first_scan: it was alive when
 * the watch started, so its mark is reset. Errors leave it out (it may
 * have gone already). lock held. */
static void add_unlocked(pm_children_t *c, pid_t pid, pid_t ppid,
                         int first_scan)
{
    char path[64];
    entry_t *e;

    if ((pid == c->root && !(c->with_root && c->n == 0)) ||
        find_unlocked(c, pid) != NULL) {
        return;
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : FIRST_CAP;
        entry_t *grown = realloc(c->e, ncap * sizeof *grown);

        if (grown == NULL) {
            return; /* a thread cannot report ENOMEM: not tracked */
        }
        c->e = grown;
        c->cap = ncap;
    }
    e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->pub.pid = pid;
    e->pub.ppid = ppid;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    e->status_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (e->status_fd < 0) {
        return;
    }
    if (first_scan) {
        /* Before the start: its mark must count from now. */
        snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        e->pub.reset = fd >= 0 && write(fd, "5", 1) == 1;
        if (fd >= 0) {
            close(fd);
        }
        e->pub.born_inside = 0;
    } else {
        e->pub.born_inside = 1;
    }
    read_cmd(pid, e->pub.cmd, sizeof e->pub.cmd);
    c->n++;
    read_mark(e);
}

/* Add the children listed in /proc/<pid>/task/<tid>/children of every
 * thread of pid. lock held. */
static void walk_task_files(pm_children_t *c, pid_t pid, int first_scan)
{
    char path[96];
    char buf[LIST_MAX * 8];
    DIR *dir;
    struct dirent *ent;

    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    dir = opendir(path);
    if (dir == NULL) {
        return;
    }
    while ((ent = readdir(dir)) != NULL) {
        if (ent->d_name[0] < '1' || ent->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/children",
                 (int)pid, ent->d_name);
        int n = pm_proc_read(path, buf, sizeof buf);
        if (n <= 0 && n != -EOVERFLOW) {
            continue;
        }
        for (char *p = buf; *p != '\0';) {
            char *end;
            long kid = strtol(p, &end, 10);

            if (end == p) {
                break;
            }
            if (kid > 0) {
                add_unlocked(c, (pid_t)kid, pid, first_scan);
            }
            p = end;
            while (*p == ' ' || *p == '\n') {
                p++;
            }
        }
    }
    closedir(dir);
}

/* Find new descendants: from the root down, through the children files
 * of the root and of every tracked process still alive (entries added
 * during the walk are walked too). lock held. */
static void discover_unlocked(pm_children_t *c, int first_scan)
{
    if (!c->use_task_files) {
        pid_t pids[1024];
        int total = pm_proc_descendants(c->root, pids, 1024);

        for (int i = 0; i < total && i < 1024; i++) {
            add_unlocked(c, pids[i], 0, first_scan);
        }
        return;
    }
    walk_task_files(c, c->root, first_scan);
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].status_fd >= 0) {
            walk_task_files(c, c->e[i].pub.pid, first_scan);
        }
    }
}

/* One round: new descendants, then every live one's mark. lock held. */
static void round_unlocked(pm_children_t *c, int first_scan)
{
    if (first_scan && c->with_root) {
        add_unlocked(c, c->root, 0, first_scan);
    }
    discover_unlocked(c, first_scan);
    for (size_t i = 0; i < c->n; i++) {
        read_mark(&c->e[i]);
    }
    c->ticks++;
}

static void *run(void *arg)
{
    pm_children_t *c = arg;
    int64_t next = pm_now_ns() + c->tick_ns;

    for (;;) {
        int64_t now = pm_now_ns();
        int timeout_ms = next > now ? (int)((next - now + 999999) / 1000000)
                                    : 0;
        struct pollfd pfd = {.fd = c->wake_fd, .events = POLLIN};
        int stop;

        (void)poll(&pfd, 1, timeout_ms);
        pthread_mutex_lock(&c->lock);
        stop = c->stopping;
        if (!stop) {
            round_unlocked(c, 0);
        }
        pthread_mutex_unlock(&c->lock);
        if (stop) {
            break;
        }
        now = pm_now_ns();
        next += c->tick_ns;
        if (next <= now) {
            next = now + c->tick_ns;
        }
    }
    return NULL;
}

int pm_children_new(const pm_children_opts_t *opts, pm_children_t **out)
{
    static const pm_children_opts_t defaults;
    pm_children_t *c;
    double tick;

    if (out == NULL) {
        return -EINVAL;
    }
    *out = NULL;
    if (opts == NULL) {
        opts = &defaults;
    }
    tick = opts->tick_s == 0 ? DEFAULT_TICK_S : opts->tick_s;
    if (opts->pid < 0 || !(tick > 0) || tick > PM_SAMPLER_MAX_INTERVAL_S) {
        return opts->pid < 0 ? -EINVAL : PM_ERANGE;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return -ENOMEM;
    }
    c->root = opts->pid > 0 ? opts->pid : getpid();
    c->tick_ns = (int64_t)(tick * 1e9);
    if (c->tick_ns < MIN_TICK_NS) {
        c->tick_ns = MIN_TICK_NS;
    }
    c->force_scan = opts->force_scan;
    c->wake_fd = -1;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

int pm_children_root(pm_children_t *c, pid_t pid)
{
    if (c == NULL || pid <= 0) {
        return -EINVAL;
    }
    if (c->running || c->n > 0) {
        return -EBUSY;
    }
    c->root = pid;
    c->with_root = 1;
    return 0;
}

int pm_children_start(pm_children_t *c)
{
    char path[64];
    sigset_t all, old;
    int rc;

    if (c == NULL || c->running) {
        return c == NULL ? -EINVAL : -EBUSY;
    }
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)c->root,
             (int)c->root);
    c->use_task_files = !c->force_scan && access(path, R_OK) == 0;
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        return -errno;
    }
    c->stopping = 0;
    pthread_mutex_lock(&c->lock);
    round_unlocked(c, 1);
    pthread_mutex_unlock(&c->lock);
    /* Signals go to the application's threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&c->thread, NULL, run, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(c->wake_fd);
        c->wake_fd = -1;
        return PM_ETHREAD;
    }
    c->running = 1;
    return 0;
}

int pm_children_stop(pm_children_t *c)
{
    uint64_t one = 1;

    if (c == NULL || !c->running) {
        return c == NULL ? -EINVAL : 0;
    }
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_mutex_unlock(&c->lock);
    if (write(c->wake_fd, &one, sizeof one) < 0) {
        /* The eventfd cannot be full after one write; the thread wakes
         * at its next tick anyway. */
    }
    pthread_join(c->thread, NULL);
    c->running = 0;
    close(c->wake_fd);
    c->wake_fd = -1;
    /* The last round: the marks at the end. */
    round_unlocked(c, 0);
    for (size_t i = 0; i < c->n; i++) {
        entry_t *e = &c->e[i];

        if (e->status_fd >= 0) {
            read_cmd(e->pub.pid, e->pub.cmd, sizeof e->pub.cmd);
            close(e->status_fd);
            e->status_fd = -1;
        }
    }
    return 0;
}

size_t pm_children_count(const pm_children_t *c)
{
    return c == NULL ? 0 : c->n;
}

const pm_child_t *pm_children_get(const pm_children_t *c, size_t i)
{
    return c == NULL || i >= c->n ? NULL : &c->e[i].pub;
}

uint64_t pm_children_sum_peaks(const pm_children_t *c)
{
    uint64_t sum = 0;

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        sum += c->e[i].pub.peak_bytes;
    }
    return sum;
}

uint64_t pm_children_ticks(const pm_children_t *c)
{
    return c == NULL ? 0 : c->ticks;
}

void pm_children_free(pm_children_t *c)
{
    if (c == NULL) {
        return;
    }
    (void)pm_children_stop(c);
    pthread_mutex_destroy(&c->lock);
    free(c->e);
    free(c);
}
