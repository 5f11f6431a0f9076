/* Writing a whole rendered text to a file the user named (-T printouts,
 * plots) exactly as Python's open(path, "w") would, or appending to it as
 * open(path, "a") (`python -m peakmem -o`, as memory_profiler): symlinks
 * followed, an existing file's mode and owner kept, and a file the user
 * may not write refused with its own error before anything is changed.
 * No temporary file, so no predictable name in a shared directory. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* oflag: O_TRUNC ("w") or O_APPEND ("a"). */
static int outfile_put(const char *path, const char *data, size_t len,
                       int oflag)
{
    size_t done = 0;
    int fd, flags, rc = 0;

    if (path == NULL || path[0] == '\0' || (data == NULL && len > 0)) {
        return -EINVAL;
    }
    /* O_NONBLOCK: a FIFO without a reader is ENXIO, not a hung kernel;
     * regular files ignore it. */
    fd = open(path, O_WRONLY | O_CREAT | oflag | O_CLOEXEC | O_NONBLOCK,
              0666);
    if (fd < 0) {
        return -errno;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        rc = -errno;
        goto out;
    }
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = -errno;
            goto out;
        }
        if (n == 0) {
            rc = -EIO;
            goto out;
        }
        done += (size_t)n;
    }
out:
    if (close(fd) < 0 && rc == 0 && errno != EINTR) {
        rc = -errno; /* e.g. EDQUOT or EIO reported at close on NFS */
    }
    return rc;
}

int pm_outfile_write(const char *path, const char *data, size_t len)
{
    return outfile_put(path, data, len, O_TRUNC);
}

int pm_outfile_append(const char *path, const char *data, size_t len)
{
    return outfile_put(path, data, len, O_APPEND);
}
