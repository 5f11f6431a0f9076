/* Jupyter wire messages: the header, the four JSON parts serialized
 * compactly in UTF-8, the HMAC signature, and the frame layout that
 * ipykernel's IOPub pipe forwards verbatim. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* Last resort when the kernel gives no randomness: splitmix64 over the
 * clock, the pid and a counter. Unique, not secret; msg_ids need only be
 * unique. */
static void weak_random(unsigned char *buf, size_t len)
{
    static _Atomic uint64_t counter;
    struct timespec ts;
    uint64_t x;

    clock_gettime(CLOCK_REALTIME, &ts);
    x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32;
    x += counter++ * 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < len; i++) {
        x += 0x9e3779b97f4a7c15u;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        buf[i] = (unsigned char)(z ^ (z >> 31));
    }
}

static void random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    if (got == len) {
        return;
    }
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    if (fd >= 0) {
        close(fd);
    }
    if (got < len) {
        weak_random(buf + got, len - got);
    }
}

void pm_uuid4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    char *p = out;

    random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }
    *p = '\0';
}

void pm_iso_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    char base[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    /* tv_nsec is in [0, 1e9): six digits of microseconds */
    snprintf(out, 32, "%.19s.%06uZ", base,
             (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

/* The parent header text re-serialized compactly; "{}" for none. */
static int dump_parent(const char *parent_json, char **out)
{
    json_error_t err;
    json_t *parent;

    if (parent_json == NULL || parent_json[0] == '\0') {
        parent = json_object();
        if (parent == NULL) {
            return PM_ENOMEM_JSON;
        }
    } else {
        parent = json_loads(parent_json, 0, &err);
        if (parent == NULL || !json_is_object(parent)) {
            json_decref(parent);
            return PM_EBADMSG;
        }
    }
    *out = json_dumps(parent, DUMP_FLAGS);
    json_decref(parent);
    return *out != NULL ? 0 : PM_ENOMEM_JSON;
}

static json_t *make_header(const char *msg_id, const pm_session_t *session,
                           const char *msg_type)
{
    char date[32];
    json_t *header = json_object();

    if (header == NULL) {
        return NULL;
    }
    pm_iso_now(date);
    if (json_object_set_new(header, "msg_id", json_string(msg_id)) ||
        json_object_set_new(header, "msg_type", json_string(msg_type)) ||
        json_object_set_new(
            header, "username",
            json_string(session->username ? session->username : "")) ||
        json_object_set_new(
            header, "session",
            json_string(session->session_id ? session->session_id : "")) ||
        json_object_set_new(header, "date", json_string(date)) ||
        json_object_set_new(header, "version", json_string(PM_WIRE_VERSION))) {
        json_decref(header);
        return NULL;
    }
    return header;
}

int pm_wire_msg_init(pm_wire_msg_t *msg, const pm_session_t *session,
                     const char *msg_type, const char *parent_json,
                     json_t *content)
{
    json_t *header = NULL;
    int rc;

    memset(msg, 0, sizeof(*msg));
    if (session == NULL || msg_type == NULL ||
        (content != NULL && !json_is_object(content))) {
        return PM_EBADMSG;
    }
    pm_uuid4(msg->msg_id);
    rc = dump_parent(parent_json, &msg->parent);
    if (rc < 0) {
        goto fail;
    }
    rc = PM_ENOMEM_JSON;
    header = make_header(msg->msg_id, session, msg_type);
    if (header == NULL) {
        goto fail;
    }
    msg->header = json_dumps(header, DUMP_FLAGS);
    msg->metadata = strdup("{}");
    msg->content =
        content != NULL ? json_dumps(content, DUMP_FLAGS) : strdup("{}");
    if (msg->header == NULL || msg->metadata == NULL || msg->content == NULL) {
        goto fail;
    }
    pm_buf_t parts[4] = {
        {msg->header, strlen(msg->header)},
        {msg->parent, strlen(msg->parent)},
        {msg->metadata, strlen(msg->metadata)},
        {msg->content, strlen(msg->content)},
    };
    rc = pm_msg_sign(session->key, session->keylen, parts, 4, msg->signature);
    if (rc < 0) {
        goto fail;
    }
    json_decref(header);
    return 0;

fail:
    json_decref(header);
    pm_wire_msg_close(msg);
    return rc;
}

void pm_wire_msg_close(pm_wire_msg_t *msg)
{
    if (msg == NULL) {
        return;
    }
    free(msg->header);
    free(msg->parent);
    free(msg->metadata);
    free(msg->content);
    msg->header = msg->parent = msg->metadata = msg->content = NULL;
}

int pm_wire_frames(const pm_wire_msg_t *msg, const void *pipe_uuid,
                   size_t uuid_len, const char *topic, pm_buf_t *frames,
                   size_t max)
{
    size_t n = 0;
    size_t need = uuid_len > 0 ? 8 : 7;

    if (msg->header == NULL || msg->parent == NULL || msg->metadata == NULL ||
        msg->content == NULL || max < need ||
        (uuid_len > 0 && pipe_uuid == NULL)) {
        return PM_EBADMSG;
    }
    if (topic == NULL) {
        topic = PM_DEFAULT_TOPIC;
    }
    if (uuid_len > 0) {
        frames[n++] = (pm_buf_t){pipe_uuid, uuid_len};
    }
    frames[n++] = (pm_buf_t){topic, strlen(topic)};
    frames[n++] = (pm_buf_t){PM_WIRE_DELIM, strlen(PM_WIRE_DELIM)};
    frames[n++] = (pm_buf_t){msg->signature, strlen(msg->signature)};
    frames[n++] = (pm_buf_t){msg->header, strlen(msg->header)};
    frames[n++] = (pm_buf_t){msg->parent, strlen(msg->parent)};
    frames[n++] = (pm_buf_t){msg->metadata, strlen(msg->metadata)};
    frames[n++] = (pm_buf_t){msg->content, strlen(msg->content)};
    return (int)n;
}
