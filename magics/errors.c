/* The one message chain for every pm_ return code: each layer describes
 * only its own codes (magics here, pm_protocol_strerror, pm_strerror for
 * kernel codes and negative errnos), and this asks them in turn. The
 * Python boundary (pm_py_raise) and the command-line front ends use it. */
#include "pm_magics.h"

#include <stddef.h>

const char *pm_magics_strerror(int rc)
{
    const char *msg;

    switch (rc) {
    case PM_EUSAGE:
        return "invalid usage";
    default:
        break;
    }
    msg = pm_protocol_strerror(rc);
    return msg != NULL ? msg : pm_strerror(rc);
}

int pm_is_errno(int rc)
{
    return rc < 0 && rc > -1000;
}
