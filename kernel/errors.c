/* Messages for kernel error codes and negative errnos, and the names of
 * peak methods as they appear in results. Codes of the layers above
 * (protocol, magics) are theirs to describe: magics/errors.c asks each
 * layer in turn. */
#include "pm_kernel.h"

#include <string.h>

const char *pm_strerror(int rc)
{
    if (rc >= 0) {
        return "success";
    }
    switch (rc) {
    case PM_EPARSE:
        return "/proc text did not have the expected shape";
    case PM_ENOHWM:
        return "high-water mark cannot be reset or read";
    case PM_ENESTING:
        return "probes ended out of order";
    case PM_ETHREAD:
        return "sampler thread could not start";
    case PM_ERANGE:
        return "argument out of range";
    default:
        break;
    }
    if (rc > -1000) {
#if defined(__GLIBC__) &&                                                     \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
        /* Static storage and thread-safe, unlike strerror. */
        const char *msg = strerrordesc_np(-rc);
        if (msg != NULL) {
            return msg;
        }
#else
        return strerror(-rc);
#endif
    }
    return "unknown error";
}

const char *pm_method_name(pm_method_t m)
{
    switch (m) {
    case PM_METHOD_HWM:
        return "hwm";
    case PM_METHOD_SAMPLED:
        return "sampled";
    case PM_METHOD_HWM_SAMPLED:
        return "hwm+sampled";
    }
    return "unknown";
}
