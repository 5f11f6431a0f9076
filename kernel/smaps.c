/* Proportional and unique set sizes from /proc/<pid>/smaps_rollup: the
 * figures memory_profiler's psutil_pss and psutil_uss backends report
 * (psutil reads the same file: USS is the sum of the Private_* lines).
 * One read of a ~1 KiB file; the kernel walks the mappings for it, so it
 * costs tens of microseconds where statm costs one. */
#include "internal.h"
#include "pm_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SMAPS_BUF 4096 /* smaps_rollup is ~1 KiB: 25 short lines */

/* The kB value after "Key:" at the start of line p, into *kb. Returns 1
 * when the line has that key, 0 when not, PM_EPARSE when the value is
 * malformed. */
static int field_kb(const char *p, const char *key, uint64_t *kb)
{
    size_t klen = strlen(key);
    uint64_t v = 0;
    int digits = 0;

    if (strncmp(p, key, klen) != 0) {
        return 0;
    }
    p += klen;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (v > (UINT64_MAX - 9) / 10) {
            return PM_EPARSE;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (digits == 0 || strncmp(p, " kB", 3) != 0) {
        return PM_EPARSE;
    }
    *kb = v;
    return 1;
}

int pm_smaps_parse(const char *text, pm_smaps_t *out)
{
    static const char *const privates[] = {"Private_Clean:", "Private_Dirty:",
                                           "Private_Hugetlb:"};
    const char *p = text;

    if (text == NULL || out == NULL) {
        return -EINVAL;
    }
    memset(out, 0, sizeof *out);
    while (*p != '\0') {
        uint64_t kb = 0;
        int rc;

        if ((rc = field_kb(p, "Rss:", &out->rss_kb)) != 0) {
            out->has_rss = 1;
        } else if ((rc = field_kb(p, "Pss:", &out->pss_kb)) != 0) {
            out->has_pss = 1;
        } else if ((rc = field_kb(p, "Swap:", &out->swap_kb)) != 0) {
        } else {
            for (size_t i = 0; rc == 0 && i < 3; i++) {
                rc = field_kb(p, privates[i], &kb);
                if (rc == 1) {
                    out->uss_kb += kb;
                    out->has_private = 1;
                }
            }
        }
        if (rc < 0) {
            return rc;
        }
        p = strchr(p, '\n');
        if (p == NULL) {
            break;
        }
        p++;
    }
    return out->has_rss && out->has_pss && out->has_private ? 0 : PM_EPARSE;
}

int pm_smaps_read(pid_t pid, pm_smaps_t *out)
{
    char path[64], buf[SMAPS_BUF];
    int n;

    if (pid < 0) {
        return -EINVAL;
    }
    if (pid == 0) {
        snprintf(path, sizeof path, "/proc/self/smaps_rollup");
    } else {
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    }
    n = pm_proc_read(path, buf, sizeof buf);
    if (n == -ENOENT) {
        return -ESRCH;
    }
    if (n < 0) {
        return n;
    }
    if (n == 0) { /* a zombie or a kernel thread: no mappings */
        return -ENODATA;
    }
    return pm_smaps_parse(buf, out);
}

int pm_mem_read(pid_t pid, pm_mem_kind_t kind, uint64_t *bytes)
{
    pm_smaps_t s;
    int rc;

    if (kind == PM_MEM_RSS) {
        return pid == 0 ? pm_rss_self(bytes) : pm_rss_pid(pid, bytes);
    }
    if (kind != PM_MEM_PSS && kind != PM_MEM_USS) {
        return -EINVAL;
    }
    rc = pm_smaps_read(pid, &s);
    if (rc < 0) {
        return rc;
    }
    *bytes = (kind == PM_MEM_PSS ? s.pss_kb : s.uss_kb) * 1024;
    return 0;
}

int pm_mem_children(pid_t root, pm_mem_kind_t kind, uint64_t *bytes)
{
    pid_t pids[PM_MEM_MAX_CHILDREN];
    uint64_t sum = 0;
    int n;

    if (kind == PM_MEM_RSS) {
        return pm_rss_children(root, bytes, NULL);
    }
    n = pm_proc_descendants(root, pids, PM_MEM_MAX_CHILDREN);
    if (n < 0) {
        return n;
    }
    for (int i = 0; i < n && i < PM_MEM_MAX_CHILDREN; i++) {
        uint64_t b;

        if (pm_mem_read(pids[i], kind, &b) == 0) { /* gone: skipped */
            sum += b;
        }
    }
    *bytes = sum;
    return 0;
}
