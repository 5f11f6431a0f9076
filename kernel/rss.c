/* Resident set sizes: this process's RSS and high-water mark through
 * /proc/self files kept open (one open per process, reopened after fork),
 * any process's RSS, and the summed RSS of a process's descendants. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A /proc/self file opened once per process and kept open. After fork the
 * inherited descriptor still names the parent, so the opener's pid is kept
 * and a child opens its own. fd and pid are written under open_lock and
 * published by the release store to pid; dev and ino (of fd) only under
 * open_lock. */
typedef struct {
    const char *path;
    int flags;
    atomic_int fd;
    atomic_int pid; /* process that opened fd; 0: never opened */
    dev_t dev;
    ino_t ino;
} self_file_t;

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static self_file_t statm_file = {"/proc/self/statm", O_RDONLY, -1, 0, 0, 0};
static self_file_t status_file = {"/proc/self/status", O_RDONLY, -1, 0, 0, 0};
static self_file_t clear_refs_file = {
    "/proc/self/clear_refs", O_WRONLY, -1, 0, 0, 0};

static pthread_once_t page_once = PTHREAD_ONCE_INIT;
static uint64_t page_size; /* bytes; written once under page_once */

static void init_page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);

    page_size = n > 0 ? (uint64_t)n : 4096;
}

static uint64_t pages_to_bytes(uint64_t pages)
{
    pthread_once(&page_once, init_page_size);
    return pages * page_size;
}

/* Open f for this process, replacing a descriptor inherited from the
 * parent. Returns the descriptor or a negative errno. */
static int reopen_unlocked(self_file_t *f, int me)
{
    struct stat st;
    int old;
    int fd = open(f->path, f->flags | O_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    old = atomic_load_explicit(&f->fd, memory_order_relaxed);
    /* Close the parent's descriptor only if this child still has it: the
     * number may have been closed and reused for something else. */
    if (old >= 0 && fstat(old, &st) == 0 && st.st_dev == f->dev &&
        st.st_ino == f->ino) {
        close(old);
    }
    if (fstat(fd, &st) == 0) {
        f->dev = st.st_dev;
        f->ino = st.st_ino;
    }
    atomic_store_explicit(&f->fd, fd, memory_order_relaxed);
    atomic_store_explicit(&f->pid, me, memory_order_release);
    return fd;
}

/* This process's pid, cached: getpid() is a system call (glibc keeps no
 * cache), about 100 ns in a VM, on every RSS read. A fork child gets the
 * cache cleared by the atfork handler before it returns from fork, so it
 * never sees its parent's pid. Processes made without fork() (clone(2)
 * called directly, vfork then exec) run no atfork handler, but they
 * either exec or share the parent's memory and descriptors. */
static atomic_int cached_pid; /* 0: not known; atomics */
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    atomic_store_explicit(&cached_pid, 0, memory_order_relaxed);
}

static void register_forget_pid(void)
{
    /* On failure the cache is never filled: getpid() every time. */
    if (pthread_atfork(NULL, NULL, forget_pid) != 0) {
        atomic_store_explicit(&cached_pid, -1, memory_order_relaxed);
    }
}

static int my_pid(void)
{
    int pid = atomic_load_explicit(&cached_pid, memory_order_relaxed);

    if (pid > 0) {
        return pid;
    }
    pthread_once(&pid_once, register_forget_pid);
    pid = (int)getpid();
    if (atomic_load_explicit(&cached_pid, memory_order_relaxed) == 0) {
        atomic_store_explicit(&cached_pid, pid, memory_order_relaxed);
    }
    return pid;
}

/* The descriptor of f for the calling process, or a negative errno. The
 * fast path is three atomic loads (my_pid: no system call). */
static int self_fd(self_file_t *f)
{
    int me = my_pid();
    int fd;

    if (atomic_load_explicit(&f->pid, memory_order_acquire) == me) {
        return atomic_load_explicit(&f->fd, memory_order_relaxed);
    }
    pthread_mutex_lock(&open_lock);
    if (atomic_load_explicit(&f->pid, memory_order_relaxed) == me) {
        fd = atomic_load_explicit(&f->fd, memory_order_relaxed);
    } else {
        fd = reopen_unlocked(f, me);
    }
    pthread_mutex_unlock(&open_lock);
    return fd;
}

int pm_rss_statm_fd(int fd, uint64_t *bytes)
{
    char buf[256];
    pm_statm_t st;
    int rc = pm_proc_pread(fd, buf, sizeof buf);

    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        return -ESRCH;
    }
    rc = pm_proc_parse_statm(buf, &st);
    if (rc < 0) {
        return rc;
    }
    /* size 0: no address space any more, an exited process not yet
     * reaped (a zombie reads "0 0 0 0 0 0 0"). */
    if (st.size_pages == 0) {
        return -ESRCH;
    }
    *bytes = pages_to_bytes(st.resident_pages);
    return 0;
}

int pm_rss_self(uint64_t *bytes)
{
    int fd;

    if (bytes == NULL) {
        return -EINVAL;
    }
    fd = self_fd(&statm_file);
    if (fd < 0) {
        return fd;
    }
    return pm_rss_statm_fd(fd, bytes);
}

int pm_rss_pid(pid_t pid, uint64_t *bytes)
{
    char path[64];
    char buf[256];
    pm_statm_t st;
    int rc;

    if (bytes == NULL || pid <= 0) {
        return -EINVAL;
    }
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    rc = pm_proc_read(path, buf, sizeof buf);
    if (rc < 0) {
        return rc;
    }
    rc = pm_proc_parse_statm(buf, &st);
    if (rc < 0) {
        return rc;
    }
    *bytes = pages_to_bytes(st.resident_pages);
    return 0;
}

/* One process seen in /proc and its parent. */
typedef struct {
    pid_t pid;
    pid_t ppid;
    int in_tree; /* a descendant of the root */
} proc_link_t;

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = ((const proc_link_t *)a)->pid;
    pid_t y = ((const proc_link_t *)b)->pid;

    return (x > y) - (x < y);
}

static int vanished(int rc)
{
    return rc == -ENOENT || rc == -ESRCH;
}

/* Fill *links with every process in /proc and its parent. */
static int scan_links(proc_link_t **links, size_t *n)
{
    proc_link_t *arr = NULL;
    size_t len = 0, cap = 0;
    DIR *dir;
    struct dirent *ent;
    char path[64];
    char buf[2048];
    int rc = 0;

    dir = opendir("/proc");
    if (dir == NULL) {
        return -errno;
    }
    for (;;) {
        char *end;
        long pid;
        pid_t ppid;

        errno = 0;
        ent = readdir(dir);
        if (ent == NULL) {
            if (errno != 0) {
                rc = -errno;
                goto fail;
            }
            break;
        }
        if (ent->d_name[0] < '1' || ent->d_name[0] > '9') {
            continue;
        }
        pid = strtol(ent->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid > INT32_MAX) {
            continue;
        }
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        rc = pm_proc_read(path, buf, sizeof buf);
        /* Only the start of stat is needed, so a cut tail is fine. */
        if (rc < 0 && rc != -EOVERFLOW) {
            if (vanished(rc)) {
                rc = 0;
                continue;
            }
            goto fail;
        }
        rc = pm_proc_parse_stat_ppid(buf, &ppid);
        if (rc < 0) {
            goto fail;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            proc_link_t *grown = realloc(arr, ncap * sizeof *arr);

            if (grown == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            arr = grown;
            cap = ncap;
        }
        arr[len].pid = (pid_t)pid;
        arr[len].ppid = ppid;
        arr[len].in_tree = 0;
        len++;
    }
    closedir(dir);
    *links = arr;
    *n = len;
    return 0;
fail:
    closedir(dir);
    free(arr);
    return rc;
}

/* Every process in /proc, sorted by pid, with in_tree set on the
 * descendants of root. The caller frees *links. */
static int find_descendants(pid_t root, proc_link_t **links, size_t *n)
{
    proc_link_t *arr = NULL;
    size_t len = 0;
    int changed;
    int rc;

    rc = scan_links(&arr, &len);
    if (rc < 0) {
        return rc;
    }
    /* Parents may have higher pids than their children (pid wrap,
     * reparenting), so mark until nothing changes, looking parents up by
     * pid. Each pass adds at least one generation. */
    qsort(arr, len, sizeof *arr, cmp_pid);
    do {
        changed = 0;
        for (size_t i = 0; i < len; i++) {
            proc_link_t key = {.pid = arr[i].ppid};
            const proc_link_t *parent;

            if (arr[i].in_tree) {
                continue;
            }
            if (arr[i].ppid == root) {
                arr[i].in_tree = 1;
                changed = 1;
                continue;
            }
            parent = bsearch(&key, arr, len, sizeof *arr, cmp_pid);
            if (parent != NULL && parent->in_tree) {
                arr[i].in_tree = 1;
                changed = 1;
            }
        }
    } while (changed);
    *links = arr;
    *n = len;
    return 0;
}

int pm_rss_children(pid_t root, uint64_t *bytes, int *count)
{
    proc_link_t *links = NULL;
    size_t n = 0;
    uint64_t sum = 0;
    int found = 0;
    int rc;

    if (bytes == NULL || root <= 0) {
        return -EINVAL;
    }
    rc = find_descendants(root, &links, &n);
    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t rss;

        if (!links[i].in_tree) {
            continue;
        }
        rc = pm_rss_pid(links[i].pid, &rss);
        if (rc < 0) {
            if (vanished(rc)) {
                continue;
            }
            goto fail;
        }
        sum += rss;
        found++;
    }
    free(links);
    *bytes = sum;
    if (count != NULL) {
        *count = found;
    }
    return 0;
fail:
    free(links);
    return rc;
}

int pm_proc_descendants(pid_t root, pid_t *out, size_t max)
{
    proc_link_t *links = NULL;
    size_t n = 0;
    size_t found = 0;
    int rc;

    if (root <= 0 || (out == NULL && max > 0)) {
        return -EINVAL;
    }
    rc = find_descendants(root, &links, &n);
    if (rc < 0) {
        return rc;
    }
    /* links is sorted by pid, so out comes out in increasing order. */
    for (size_t i = 0; i < n; i++) {
        if (!links[i].in_tree) {
            continue;
        }
        if (found < max) {
            out[found] = links[i].pid;
        }
        found++;
    }
    free(links);
    /* At most one entry per /proc directory, and pids fit in an int. */
    return found > INT_MAX ? -EOVERFLOW : (int)found;
}

int pm_hwm_reset(void)
{
    ssize_t n;
    int fd = self_fd(&clear_refs_file);

    if (fd < 0) {
        return fd;
    }
    /* 5: CLEAR_REFS_MM_HIWATER_RSS, VmHWM := current RSS (Linux >= 4.0) */
    do {
        n = pwrite(fd, "5", 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    return n == 1 ? 0 : -EIO;
}

int pm_hwm_read(uint64_t *bytes)
{
    char buf[8192];
    pm_status_t st;
    int fd, rc;

    if (bytes == NULL) {
        return -EINVAL;
    }
    fd = self_fd(&status_file);
    if (fd < 0) {
        return fd;
    }
    rc = pm_proc_pread(fd, buf, sizeof buf);
    if (rc == -EOVERFLOW) {
        /* A long Groups or Cpus_allowed line: VmHWM comes early, so
         * parse the complete lines that fit. */
        char *last = strrchr(buf, '\n');

        if (last != NULL) {
            last[1] = '\0';
        }
    } else if (rc < 0) {
        return rc;
    }
    rc = pm_proc_parse_status(buf, &st);
    if (rc < 0) {
        return rc;
    }
    if (!st.has_hwm) {
        return PM_ENOHWM;
    }
    *bytes = st.vm_hwm_kb * 1024;
    return 0;
}
