/* Messages for the protocol library's own error codes (PM_E*). */
#include "pm_protocol.h"

#include <stddef.h>

const char *pm_protocol_strerror(int rc)
{
    switch (rc) {
    case PM_ENOMEM_JSON:
        return "could not build or serialize a JSON value";
    case PM_ESIGN:
        return "HMAC-SHA256 signature failed";
    case PM_EZMQ:
        return "ZeroMQ call failed";
    case PM_ETIMEDOUT_PUB:
        return "message not delivered to IOPub in time";
    case PM_EFORKED:
        return "publisher used in a forked child process";
    case PM_EBADMSG:
        return "malformed input (message frames, parent header, .dat text)";
    default:
        return NULL;
    }
}
