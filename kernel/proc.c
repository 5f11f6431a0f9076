/* Reading /proc files into caller buffers and strict parsers for the
 * three texts peakmem reads (statm, status, stat), kept apart so tests
 * can feed captured and hand-made text. */
#include "pm_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One unsigned decimal at *p: digits only (strtoull alone would accept
 * leading blanks and a sign), no overflow. Advances *p past it. */
static int parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9') {
        return PM_EPARSE;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s) {
        return PM_EPARSE;
    }
    *out = (uint64_t)v;
    *p = end;
    return 0;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

int pm_proc_pread(int fd, char *buf, size_t len)
{
    size_t used = 0;
    ssize_t n;
    char extra;

    if (buf == NULL || len == 0 || len > INT_MAX) {
        return -EINVAL;
    }
    while (used < len - 1) {
        n = pread(fd, buf + used, len - 1 - used, (off_t)used);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            buf[used] = '\0';
            return -errno;
        }
        if (n == 0) {
            break;
        }
        used += (size_t)n;
    }
    buf[used] = '\0';
    if (used == len - 1) {
        /* Full buffer: a whole file was asked for, so say if it did not
         * fit. buf keeps the first len - 1 bytes for callers that only
         * need a prefix. */
        do {
            n = pread(fd, &extra, 1, (off_t)used);
        } while (n < 0 && errno == EINTR);
        if (n > 0) {
            return -EOVERFLOW;
        }
    }
    return (int)used;
}

int pm_proc_read(const char *path, char *buf, size_t len)
{
    int fd, rc;

    if (path == NULL || buf == NULL || len == 0) {
        return -EINVAL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        buf[0] = '\0';
        return -errno;
    }
    rc = pm_proc_pread(fd, buf, len);
    close(fd);
    return rc;
}

int pm_proc_parse_statm(const char *text, pm_statm_t *out)
{
    const char *p = text;
    uint64_t v[3];

    if (text == NULL || out == NULL) {
        return -EINVAL;
    }
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ' ') {
                return PM_EPARSE;
            }
            p++;
        }
        if (parse_u64(&p, &v[i]) < 0) {
            return PM_EPARSE;
        }
    }
    /* text, lib, data, dt follow; a cut inside "shared" ends here too
     * but cannot be told apart from a short number. */
    if (*p != ' ' && *p != '\n' && *p != '\0') {
        return PM_EPARSE;
    }
    out->size_pages = v[0];
    out->resident_pages = v[1];
    out->shared_pages = v[2];
    return 0;
}

/* "<blanks><digits> kB" filling exactly [p, eol); the value in kB must
 * convert to bytes without overflow. */
static int parse_kb_line(const char *p, const char *eol, uint64_t *kb)
{
    p = skip_blanks(p);
    if (parse_u64(&p, kb) < 0) {
        return PM_EPARSE;
    }
    if (eol - p != 3 || strncmp(p, " kB", 3) != 0) {
        return PM_EPARSE;
    }
    if (*kb > UINT64_MAX / 1024) {
        return PM_EPARSE;
    }
    return 0;
}

static int key_is(const char *line, const char *colon, const char *key)
{
    size_t n = strlen(key);

    return (size_t)(colon - line) == n && strncmp(line, key, n) == 0;
}

int pm_proc_parse_status(const char *text, pm_status_t *out)
{
    const char *line = text;

    if (text == NULL || out == NULL) {
        return -EINVAL;
    }
    memset(out, 0, sizeof *out);
    if (*text == '\0') {
        return PM_EPARSE;
    }
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        const char *eol = nl != NULL ? nl : line + strlen(line);
        const char *colon = memchr(line, ':', (size_t)(eol - line));

        /* Every status line is "Key:\tvalue". */
        if (colon == NULL) {
            return PM_EPARSE;
        }
        if (key_is(line, colon, "VmRSS")) {
            /* VmRSS: kB, resident set now */
            if (parse_kb_line(colon + 1, eol, &out->vm_rss_kb) < 0) {
                return PM_EPARSE;
            }
            out->has_rss = 1;
        } else if (key_is(line, colon, "VmHWM")) {
            /* VmHWM: kB, peak RSS since start or last clear_refs 5 */
            if (parse_kb_line(colon + 1, eol, &out->vm_hwm_kb) < 0) {
                return PM_EPARSE;
            }
            out->has_hwm = 1;
        } else if (key_is(line, colon, "PPid")) {
            const char *p = skip_blanks(colon + 1);
            uint64_t ppid;

            if (parse_u64(&p, &ppid) < 0 || p != eol || ppid > INT_MAX) {
                return PM_EPARSE;
            }
            out->ppid = (pid_t)ppid;
            out->has_ppid = 1;
        }
        line = nl != NULL ? nl + 1 : eol;
    }
    return 0;
}

int pm_proc_parse_stat_ppid(const char *text, pid_t *ppid)
{
    const char *p = text;
    const char *close;
    uint64_t pid, parent;

    if (text == NULL || ppid == NULL) {
        return -EINVAL;
    }
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', but no
     * later field holds ')', so the last one closes comm. */
    if (parse_u64(&p, &pid) < 0 || strncmp(p, " (", 2) != 0) {
        return PM_EPARSE;
    }
    close = strrchr(p + 2, ')');
    if (close == NULL) {
        return PM_EPARSE;
    }
    p = close + 1;
    if (p[0] != ' ' ||
        !((p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z')) ||
        p[2] != ' ') {
        return PM_EPARSE;
    }
    p += 3;
    /* More fields must follow, so a cut inside ppid is caught. */
    if (parse_u64(&p, &parent) < 0 || *p != ' ' || parent > INT_MAX) {
        return PM_EPARSE;
    }
    *ppid = (pid_t)parent;
    return 0;
}
