/* The memory limit of this process's cgroup. cgroup v2: /proc/self/cgroup
 * names the group ("0::/path") and <mount>/path/memory.max holds bytes or
 * "max". cgroup v1 (and hybrid systems): the "memory" controller's line
 * ("N:memory:/path") and memory/path/memory.limit_in_bytes, where a huge
 * value means no limit. Read and parse apart, so tests feed text. */
#include "pm_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v1 reports "no limit" as LONG_MAX rounded down to a page. */
#define V1_UNLIMITED (UINT64_C(1) << 62)

/* Does the controller list "a,b,c" contain want? */
static int lists(const char *list, size_t n, const char *want)
{
    size_t w = strlen(want);
    for (size_t i = 0; i + w <= n;) {
        size_t j = i;
        while (j < n && list[j] != ',') {
            j++;
        }
        if (j - i == w && strncmp(list + i, want, w) == 0) {
            return 1;
        }
        i = j + 1;
    }
    return 0;
}

int pm_proc_parse_cgroup_path(const char *text, const char *controller,
                              char *path, size_t len)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t n = end != NULL ? (size_t)(end - line) : strlen(line);
        const char *c1 = memchr(line, ':', n);
        const char *c2 = c1 != NULL
                             ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line))
                             : NULL;
        if (c1 == NULL || c2 == NULL) {
            return PM_EPARSE;
        }
        size_t clen = (size_t)(c2 - c1 - 1);
        int match = controller[0] == '\0'
                        ? (c1 - line == 1 && line[0] == '0' && clen == 0)
                        : lists(c1 + 1, clen, controller);
        if (match) {
            size_t plen = n - (size_t)(c2 + 1 - line);
            if (plen == 0 || c2[1] != '/' || plen >= len) {
                return PM_EPARSE;
            }
            memcpy(path, c2 + 1, plen);
            path[plen] = '\0';
            return 0;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return -ENOENT;
}

int pm_parse_memory_max(const char *text, uint64_t *bytes)
{
    char *end = NULL;
    if (strncmp(text, "max", 3) == 0 && (text[3] == '\0' || text[3] == '\n')) {
        *bytes = 0;
        return 0;
    }
    if (text[0] < '0' || text[0] > '9') {
        return PM_EPARSE;
    }
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || (*end != '\0' && *end != '\n')) {
        return PM_EPARSE;
    }
    *bytes = (uint64_t)v >= V1_UNLIMITED ? 0 : (uint64_t)v;
    return 0;
}

/* Read and parse the limit file under mount/path; -ENOENT if absent. */
static int read_limit(const char *mount, const char *path, const char *name,
                      uint64_t *bytes)
{
    char file[1400], text[64];
    snprintf(file, sizeof file, "%s%s/%s", mount,
             strcmp(path, "/") == 0 ? "" : path, name);
    int rc = pm_proc_read(file, text, sizeof text);
    return rc < 0 ? rc : pm_parse_memory_max(text, bytes);
}

int pm_cgroup_memory_max(uint64_t *bytes)
{
    char text[4096], path[1024];
    int rc = pm_proc_read("/proc/self/cgroup", text, sizeof text);
    if (rc < 0) {
        return rc;
    }
    *bytes = 0;
    /* v1 memory controller first: on hybrid systems it is the one that
     * limits; then v2 (unified at the top, or under "unified"). */
    if (pm_proc_parse_cgroup_path(text, "memory", path, sizeof path) == 0 &&
        read_limit("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes",
                   bytes) == 0) {
        return 0;
    }
    if ((rc = pm_proc_parse_cgroup_path(text, "", path, sizeof path)) < 0) {
        return rc;
    }
    rc = read_limit("/sys/fs/cgroup", path, "memory.max", bytes);
    if (rc == -ENOENT) {
        rc = read_limit("/sys/fs/cgroup/unified", path, "memory.max", bytes);
    }
    if (rc == -ENOENT && strcmp(path, "/") == 0) {
        *bytes = 0; /* the root group has no limit file */
        rc = 0;
    }
    return rc;
}
