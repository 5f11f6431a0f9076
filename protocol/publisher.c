/* The publisher: signed messages from any thread, sent into ipykernel's
 * IOPub pipe by one internal thread that owns every ZeroMQ socket, with an
 * optional SUB socket on IOPub that tells when a message has really left
 * (the fence pm_publisher_flush waits on). */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* Bound on the pipe's close: pending frames are dropped after this. */
#define LINGER_MS 1000
/* Bound on a blocking send of the frames after the first one (the first
 * one is sent without waiting; a full pipe keeps the message queued). */
#define SNDTIMEO_MS 1000
/* Messages queued but not yet handed to ZeroMQ before send refuses. */
#define MAX_UNSENT 4096
/* Sent messages remembered while waiting to see them on IOPub. */
#define MAX_INFLIGHT 1024
#define MAX_FRAMES 8

typedef struct item {
    struct item *next;
    uint64_t seq; /* 1, 2, ... in the order pm_publisher_send queued them */
    pm_wire_msg_t msg;
} item_t;

typedef struct {
    item_t *head, *tail;
    size_t len;
} item_list_t;

struct pm_publisher {
    /* Owners: pm_publisher_new's caller and each pm_publisher_ref; the
     * last pm_publisher_unref stops the thread and frees (atomic). */
    atomic_size_t refs;
    /* Set at creation, read-only afterwards. */
    pid_t pid; /* creator; any other pid is a forked child */
    void *ctx;
    pthread_t thread;
    int efd; /* eventfd: callers wake the thread after queueing */
    pm_session_t session;
    unsigned char *key;
    char *session_id, *username, *pipe_endpoint, *iopub_endpoint, *topic;
    unsigned char *uuid;
    size_t uuid_len;

    pthread_mutex_t lock;
    pthread_cond_t cond; /* broadcast when started, sent or seen change */
    /* Protected by lock. */
    item_list_t queue; /* queued, not yet taken by the thread */
    uint64_t queued;   /* seq of the last message queued */
    uint64_t sent;     /* seq of the last message handed to ZeroMQ */
    uint64_t seen;     /* seq of the last message seen back on IOPub */
    int started;       /* the thread has set up its sockets */
    int thread_rc;     /* 0, or the error that stopped the thread */
    int stop;          /* the last unref asks the thread to end */
};

static void list_push(item_list_t *l, item_t *it)
{
    it->next = NULL;
    if (l->tail != NULL) {
        l->tail->next = it;
    } else {
        l->head = it;
    }
    l->tail = it;
    l->len++;
}

static item_t *list_pop(item_list_t *l)
{
    item_t *it = l->head;

    if (it != NULL) {
        l->head = it->next;
        if (l->head == NULL) {
            l->tail = NULL;
        }
        l->len--;
    }
    return it;
}

/* Moves every item of src to the end of dst. */
static void list_splice(item_list_t *dst, item_list_t *src)
{
    if (src->head == NULL) {
        return;
    }
    if (dst->tail != NULL) {
        dst->tail->next = src->head;
    } else {
        dst->head = src->head;
    }
    dst->tail = src->tail;
    dst->len += src->len;
    src->head = src->tail = NULL;
    src->len = 0;
}

static void item_free(item_t *it)
{
    pm_wire_msg_close(&it->msg);
    free(it);
}

static void list_clear(item_list_t *l)
{
    item_t *it;

    while ((it = list_pop(l)) != NULL) {
        item_free(it);
    }
}

static void wake(pm_publisher_t *pub)
{
    uint64_t one = 1;

    /* Fails only when the counter would overflow: it is readable then. */
    if (write(pub->efd, &one, sizeof(one)) < 0) {
        return;
    }
}

/* Thread only: sockets and the error they report at startup. */
static int open_sockets(pm_publisher_t *pub, void **push, void **sub)
{
    int linger = LINGER_MS, sndtimeo = SNDTIMEO_MS, zero = 0;

    *push = zmq_socket(pub->ctx, ZMQ_PUSH);
    if (*push == NULL ||
        zmq_setsockopt(*push, ZMQ_LINGER, &linger, sizeof(linger)) ||
        zmq_setsockopt(*push, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo)) ||
        zmq_connect(*push, pub->pipe_endpoint)) {
        return PM_EZMQ;
    }
    if (pub->iopub_endpoint == NULL) {
        return 0;
    }
    *sub = zmq_socket(pub->ctx, ZMQ_SUB);
    if (*sub == NULL ||
        zmq_setsockopt(*sub, ZMQ_LINGER, &zero, sizeof(zero)) ||
        zmq_setsockopt(*sub, ZMQ_SUBSCRIBE, pub->topic, strlen(pub->topic)) ||
        zmq_connect(*sub, pub->iopub_endpoint)) {
        return PM_EZMQ;
    }
    return 0;
}

/* Thread only: sends one message. Returns 0, -EAGAIN when the pipe is
 * full (nothing was sent), or PM_EZMQ. */
static int send_item(pm_publisher_t *pub, void *push, const item_t *it)
{
    pm_buf_t frames[MAX_FRAMES];
    int n = pm_wire_frames(&it->msg, pub->uuid, pub->uuid_len, pub->topic,
                           frames, MAX_FRAMES);

    if (n < 0) {
        return n;
    }
    for (int i = 0; i < n; i++) {
        int flags = i + 1 < n ? ZMQ_SNDMORE : 0;
        if (i == 0) {
            flags |= ZMQ_DONTWAIT;
        }
        while (zmq_send(push, frames[i].data, frames[i].len, flags) < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (i == 0 && errno == EAGAIN) {
                return -EAGAIN;
            }
            return PM_EZMQ;
        }
    }
    return 0;
}

/* Thread only: sends pending messages in order until the pipe is full.
 * Sent messages move to inflight when a SUB watches IOPub. */
static int send_pending(pm_publisher_t *pub, void *push, void *sub,
                        item_list_t *pending, item_list_t *inflight)
{
    item_t *it;

    while ((it = pending->head) != NULL) {
        int rc = send_item(pub, push, it);
        if (rc == -EAGAIN) {
            return 0;
        }
        if (rc < 0) {
            return rc;
        }
        list_pop(pending);
        pthread_mutex_lock(&pub->lock);
        pub->sent = it->seq;
        pthread_cond_broadcast(&pub->cond);
        pthread_mutex_unlock(&pub->lock);
        if (sub == NULL) {
            item_free(it);
            continue;
        }
        list_push(inflight, it);
        if (inflight->len > MAX_INFLIGHT) {
            item_free(list_pop(inflight));
        }
    }
    return 0;
}

/* The msg_id in a header frame, copied to out; 0 or -1. */
static int header_msg_id(const zmq_msg_t *frame, char out[37])
{
    json_t *header = json_loadb(zmq_msg_data((zmq_msg_t *)frame),
                                zmq_msg_size(frame), 0, NULL);
    const char *id = json_string_value(json_object_get(header, "msg_id"));
    int rc = -1;

    if (id != NULL && strlen(id) < 37) {
        strcpy(out, id);
        rc = 0;
    }
    json_decref(header);
    return rc;
}

/* Thread only: a message seen on IOPub marks it and every earlier one as
 * done (IOPub keeps the pipe's order; earlier ones it never showed us are
 * lost for good). */
static void mark_seen(pm_publisher_t *pub, item_list_t *inflight,
                      const char *msg_id)
{
    uint64_t seq = 0;
    item_t *it;

    for (it = inflight->head; it != NULL; it = it->next) {
        if (strcmp(it->msg.msg_id, msg_id) == 0) {
            seq = it->seq;
            break;
        }
    }
    if (seq == 0) {
        return;
    }
    while ((it = list_pop(inflight)) != NULL) {
        int last = it->seq == seq;
        item_free(it);
        if (last) {
            break;
        }
    }
    pthread_mutex_lock(&pub->lock);
    pub->seen = seq;
    pthread_cond_broadcast(&pub->cond);
    pthread_mutex_unlock(&pub->lock);
}

/* Thread only: reads every message waiting on the SUB socket. Frames:
 * [topic, "<IDS|MSG>", signature, header, parent, metadata, content]. */
static int drain_sub(pm_publisher_t *pub, void *sub, item_list_t *inflight)
{
    for (;;) {
        char msg_id[37] = "";
        int index = 0, delim = -1, more = 1;

        while (more) {
            zmq_msg_t frame;
            zmq_msg_init(&frame);
            if (zmq_msg_recv(&frame, sub, index == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                int err = errno;
                zmq_msg_close(&frame);
                if (err == EINTR) {
                    continue;
                }
                return index == 0 && err == EAGAIN ? 0 : PM_EZMQ;
            }
            if (delim < 0 && zmq_msg_size(&frame) == strlen(PM_WIRE_DELIM) &&
                memcmp(zmq_msg_data(&frame), PM_WIRE_DELIM,
                       strlen(PM_WIRE_DELIM)) == 0) {
                delim = index;
            } else if (delim >= 0 && index == delim + 2) {
                if (header_msg_id(&frame, msg_id) < 0) {
                    msg_id[0] = '\0';
                }
            }
            more = zmq_msg_more(&frame);
            zmq_msg_close(&frame);
            index++;
        }
        if (msg_id[0] != '\0') {
            mark_seen(pub, inflight, msg_id);
        }
    }
}

static void *run(void *arg)
{
    pm_publisher_t *pub = arg;
    void *push = NULL, *sub = NULL;
    item_list_t pending = {0}, inflight = {0};
    int rc = open_sockets(pub, &push, &sub);

    pthread_mutex_lock(&pub->lock);
    pub->started = 1;
    pub->thread_rc = rc;
    pthread_cond_broadcast(&pub->cond);
    pthread_mutex_unlock(&pub->lock);

    while (rc == 0) {
        zmq_pollitem_t items[3];
        int n = 0, stop;

        pthread_mutex_lock(&pub->lock);
        list_splice(&pending, &pub->queue);
        stop = pub->stop;
        pthread_mutex_unlock(&pub->lock);

        rc = send_pending(pub, push, sub, &pending, &inflight);
        if (rc < 0 || stop) {
            break;
        }
        items[n++] = (zmq_pollitem_t){NULL, pub->efd, ZMQ_POLLIN, 0};
        if (sub != NULL) {
            items[n++] = (zmq_pollitem_t){sub, 0, ZMQ_POLLIN, 0};
        }
        if (pending.head != NULL) {
            items[n++] = (zmq_pollitem_t){push, 0, ZMQ_POLLOUT, 0};
        }
        if (zmq_poll(items, n, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = PM_EZMQ;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            uint64_t count;
            if (read(pub->efd, &count, sizeof(count)) < 0) {
                /* EAGAIN: a spurious wakeup, nothing to reset */
            }
        }
        if (sub != NULL && (items[1].revents & ZMQ_POLLIN)) {
            rc = drain_sub(pub, sub, &inflight);
        }
    }

    pthread_mutex_lock(&pub->lock);
    if (rc < 0) {
        pub->thread_rc = rc;
    }
    list_splice(&pending, &pub->queue);
    pthread_cond_broadcast(&pub->cond);
    pthread_mutex_unlock(&pub->lock);

    list_clear(&pending);
    list_clear(&inflight);
    if (sub != NULL) {
        zmq_close(sub);
    }
    if (push != NULL) {
        zmq_close(push);
    }
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Frees what pm_publisher_new allocated; the thread is not running. */
static void release(pm_publisher_t *pub)
{
    list_clear(&pub->queue);
    if (pub->efd >= 0) {
        close(pub->efd);
    }
    free(pub->key);
    free(pub->session_id);
    free(pub->username);
    free(pub->pipe_endpoint);
    free(pub->iopub_endpoint);
    free(pub->topic);
    free(pub->uuid);
    free(pub);
}

static int term_ctx(void *ctx)
{
    while (zmq_ctx_term(ctx) < 0) {
        if (errno != EINTR) {
            return PM_EZMQ;
        }
    }
    return 0;
}

static int copy_opts(pm_publisher_t *pub, const pm_publisher_opts_t *opts)
{
    const pm_session_t *s = &opts->session;

    pub->key = malloc(s->keylen > 0 ? s->keylen : 1);
    pub->session_id = strdup(s->session_id ? s->session_id : "");
    pub->username = strdup(s->username ? s->username : "");
    pub->pipe_endpoint = strdup(opts->pipe_endpoint);
    pub->iopub_endpoint = dup_or_null(opts->iopub_endpoint);
    pub->topic = strdup(opts->topic ? opts->topic : PM_DEFAULT_TOPIC);
    pub->uuid = malloc(opts->pipe_uuid_len > 0 ? opts->pipe_uuid_len : 1);
    if (pub->key == NULL || pub->session_id == NULL || pub->username == NULL ||
        pub->pipe_endpoint == NULL || pub->topic == NULL ||
        pub->uuid == NULL ||
        (opts->iopub_endpoint != NULL && pub->iopub_endpoint == NULL)) {
        return -ENOMEM;
    }
    if (s->keylen > 0) {
        memcpy(pub->key, s->key, s->keylen);
    }
    if (opts->pipe_uuid_len > 0) {
        memcpy(pub->uuid, opts->pipe_uuid, opts->pipe_uuid_len);
    }
    pub->uuid_len = opts->pipe_uuid_len;
    pub->session =
        (pm_session_t){pub->key, s->keylen, pub->session_id, pub->username};
    return 0;
}

int pm_publisher_new(const pm_publisher_opts_t *opts, pm_publisher_t **out)
{
    pm_publisher_t *pub = NULL;
    pthread_condattr_t cattr;
    sigset_t all, old;
    int rc = -EINVAL, sync_ready = 0, thread_ready = 0;

    *out = NULL;
    if (opts == NULL || opts->pipe_endpoint == NULL ||
        (opts->session.keylen > 0 && opts->session.key == NULL) ||
        (opts->pipe_uuid_len > 0 && opts->pipe_uuid == NULL)) {
        return -EINVAL;
    }
    pub = calloc(1, sizeof(*pub));
    if (pub == NULL) {
        return -ENOMEM;
    }
    atomic_init(&pub->refs, 1);
    pub->efd = -1;
    pub->pid = getpid();
    rc = copy_opts(pub, opts);
    if (rc < 0) {
        goto fail;
    }
    pub->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pub->efd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = -ENOMEM;
    if (pthread_condattr_init(&cattr) != 0) {
        goto fail;
    }
    /* The waits' deadlines are CLOCK_MONOTONIC times: a condition on the
     * default (realtime) clock would wait wrongly when the clock is set. */
    int err = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    if (err == 0) {
        err = pthread_cond_init(&pub->cond, &cattr);
    }
    if (err != 0) {
        pthread_condattr_destroy(&cattr);
        rc = -err;
        goto fail;
    }
    pthread_condattr_destroy(&cattr);
    if (pthread_mutex_init(&pub->lock, NULL) != 0) {
        pthread_cond_destroy(&pub->cond);
        goto fail;
    }
    sync_ready = 1;
    pub->ctx = zmq_ctx_new();
    if (pub->ctx == NULL) {
        rc = PM_EZMQ;
        goto fail;
    }
    /* Signals go to the application's threads, never to ours. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&pub->thread, NULL, run, pub);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        goto fail;
    }
    thread_ready = 1;
    pthread_mutex_lock(&pub->lock);
    while (!pub->started) {
        pthread_cond_wait(&pub->cond, &pub->lock);
    }
    rc = pub->thread_rc;
    pthread_mutex_unlock(&pub->lock);
    if (rc < 0) {
        goto fail;
    }
    *out = pub;
    return 0;

fail:
    if (thread_ready) {
        pthread_join(pub->thread, NULL);
    }
    if (pub->ctx != NULL) {
        term_ctx(pub->ctx);
    }
    if (sync_ready) {
        pthread_mutex_destroy(&pub->lock);
        pthread_cond_destroy(&pub->cond);
    }
    release(pub);
    return rc;
}

int pm_publisher_send(pm_publisher_t *pub, const char *msg_type,
                      const char *parent_json, json_t *content)
{
    item_t *it;
    int rc;

    if (getpid() != pub->pid) {
        return PM_EFORKED;
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return -ENOMEM;
    }
    rc = pm_wire_msg_init(&it->msg, &pub->session, msg_type, parent_json,
                          content);
    if (rc < 0) {
        free(it);
        return rc;
    }
    pthread_mutex_lock(&pub->lock);
    if (pub->thread_rc < 0) {
        rc = pub->thread_rc;
    } else if (pub->stop) {
        rc = -ESHUTDOWN;
    } else if (pub->queued - pub->sent >= MAX_UNSENT) {
        rc = -ENOBUFS;
    } else {
        it->seq = ++pub->queued;
        list_push(&pub->queue, it);
        it = NULL;
    }
    pthread_mutex_unlock(&pub->lock);
    if (it != NULL) {
        item_free(it);
        return rc;
    }
    wake(pub);
    return 0;
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int pm_publisher_flush(pm_publisher_t *pub, int timeout_ms)
{
    struct timespec deadline;
    uint64_t target;
    int fenced = pub->iopub_endpoint != NULL;
    int rc = 0;

    if (getpid() != pub->pid) {
        return PM_EFORKED;
    }
    if (timeout_ms >= 0) {
        deadline_after(&deadline, timeout_ms);
    }
    pthread_mutex_lock(&pub->lock);
    target = pub->queued;
    while (pub->sent < target || (fenced && pub->seen < target)) {
        if (pub->thread_rc < 0) {
            rc = pub->thread_rc;
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&pub->cond, &pub->lock);
        } else if (pthread_cond_timedwait(&pub->cond, &pub->lock, &deadline) ==
                   ETIMEDOUT) {
            if (pub->sent < target || (fenced && pub->seen < target)) {
                rc = PM_ETIMEDOUT_PUB;
            }
            break;
        }
    }
    pthread_mutex_unlock(&pub->lock);
    return rc;
}

pm_publisher_t *pm_publisher_ref(pm_publisher_t *pub)
{
    if (pub != NULL) {
        atomic_fetch_add_explicit(&pub->refs, 1, memory_order_relaxed);
    }
    return pub;
}

void pm_publisher_unref(pm_publisher_t *pub)
{
    if (pub == NULL) {
        return;
    }
    /* acq_rel: every owner's sends happen before the last one frees. */
    if (atomic_fetch_sub_explicit(&pub->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    if (getpid() != pub->pid) {
        /* A forked child: the thread and the ZeroMQ context exist only in
         * the parent, and the lock may have been held at fork. Free our
         * own memory and leave theirs alone. */
        release(pub);
        return;
    }
    pthread_mutex_lock(&pub->lock);
    pub->stop = 1;
    pthread_mutex_unlock(&pub->lock);
    wake(pub);
    pthread_join(pub->thread, NULL);
    term_ctx(pub->ctx);
    pthread_mutex_destroy(&pub->lock);
    pthread_cond_destroy(&pub->cond);
    release(pub);
}
