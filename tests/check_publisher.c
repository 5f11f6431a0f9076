/* Check tests for the publisher, in one process: a PULL socket stands in
 * for ipykernel's IOPub pipe and a forwarder thread re-publishes what it
 * pulls, minus the pipe uuid, on a PUB socket (as ipykernel's IOPub thread
 * does), so the flush fence sees its messages come back. */
#include "check_util.h"
#include "pm_protocol.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static const char KEY[] = "9e8d7c6b-publisher-test-key";
static const unsigned char UUID[16] = "0123456789abcdef";

typedef struct {
    void *ctx, *pull, *pub; /* pull and pub belong to the thread */
    char pull_ep[256], pub_ep[256];
    pthread_t thread;
    int running;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Protected by lock. */
    int stop;
    int subscribed;   /* the publisher's SUB has subscribed */
    int bad_uuid;     /* a message came with another pipe uuid */
    json_t *received; /* one array of frame strings per forwarded message */
} fwd_t;

static fwd_t fwd;

/* Receives one multipart message as an array of strings (NULL on error). */
static json_t *recv_frames(void *sock)
{
    json_t *frames = json_array();
    int more = 1;

    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            json_decref(frames);
            return NULL;
        }
        json_array_append_new(
            frames, json_stringn_nocheck(zmq_msg_data(&m), zmq_msg_size(&m)));
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return frames;
}

static void *forward(void *arg)
{
    (void)arg;
    for (;;) {
        zmq_pollitem_t items[2] = {{fwd.pull, 0, ZMQ_POLLIN, 0},
                                   {fwd.pub, 0, ZMQ_POLLIN, 0}};
        pthread_mutex_lock(&fwd.lock);
        int stop = fwd.stop;
        pthread_mutex_unlock(&fwd.lock);
        if (stop) {
            break;
        }
        if (zmq_poll(items, 2, 20) <= 0) {
            continue;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            json_t *sub = recv_frames(fwd.pub);
            const char *s = json_string_value(json_array_get(sub, 0));
            pthread_mutex_lock(&fwd.lock);
            if (s != NULL && s[0] == 1) {
                fwd.subscribed = 1;
                pthread_cond_broadcast(&fwd.cond);
            }
            pthread_mutex_unlock(&fwd.lock);
            json_decref(sub);
        }
        if (items[0].revents & ZMQ_POLLIN) {
            json_t *frames = recv_frames(fwd.pull);
            json_t *uuid = json_array_get(frames, 0);
            size_t n = json_array_size(frames);
            if (json_string_length(uuid) != 16 ||
                memcmp(json_string_value(uuid), UUID, 16) != 0) {
                pthread_mutex_lock(&fwd.lock);
                fwd.bad_uuid = 1;
                pthread_mutex_unlock(&fwd.lock);
                json_decref(frames);
                continue;
            }
            json_array_remove(frames, 0);
            n--;
            pthread_mutex_lock(&fwd.lock);
            json_array_append(fwd.received, frames);
            pthread_cond_broadcast(&fwd.cond);
            pthread_mutex_unlock(&fwd.lock);
            for (size_t i = 0; i < n; i++) {
                json_t *f = json_array_get(frames, i);
                zmq_send(fwd.pub, json_string_value(f), json_string_length(f),
                         i + 1 < n ? ZMQ_SNDMORE : 0);
            }
            json_decref(frames);
        }
    }
    return NULL;
}

static void bind_any(void *sock, char *ep, size_t len)
{
    ck_assert_int_eq(zmq_bind(sock, "tcp://127.0.0.1:*"), 0);
    ck_assert_int_eq(zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len), 0);
}

static void fwd_start(void)
{
    int zero = 0;

    memset(&fwd, 0, sizeof(fwd));
    pthread_mutex_init(&fwd.lock, NULL);
    pthread_cond_init(&fwd.cond, NULL);
    fwd.received = json_array();
    fwd.ctx = zmq_ctx_new();
    fwd.pull = zmq_socket(fwd.ctx, ZMQ_PULL);
    /* XPUB: a PUB that also tells us when the subscription arrived */
    fwd.pub = zmq_socket(fwd.ctx, ZMQ_XPUB);
    zmq_setsockopt(fwd.pull, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(fwd.pub, ZMQ_LINGER, &zero, sizeof(zero));
    bind_any(fwd.pull, fwd.pull_ep, sizeof(fwd.pull_ep));
    bind_any(fwd.pub, fwd.pub_ep, sizeof(fwd.pub_ep));
    /* The sockets move to the thread; pthread_create is the fence. */
    ck_assert_int_eq(pthread_create(&fwd.thread, NULL, forward, NULL), 0);
    fwd.running = 1;
}

static void fwd_stop(void)
{
    if (!fwd.running) {
        return;
    }
    pthread_mutex_lock(&fwd.lock);
    fwd.stop = 1;
    pthread_mutex_unlock(&fwd.lock);
    pthread_join(fwd.thread, NULL);
    fwd.running = 0;
}

static void fwd_teardown(void)
{
    fwd_stop();
    zmq_close(fwd.pull);
    zmq_close(fwd.pub);
    zmq_ctx_term(fwd.ctx);
    json_decref(fwd.received);
    pthread_mutex_destroy(&fwd.lock);
    pthread_cond_destroy(&fwd.cond);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits until the publisher's SUB has subscribed (ZeroMQ's slow joiner:
 * messages published before that are not delivered to it). */
static void wait_subscribed(void)
{
    struct timespec ts;
    deadline_in(&ts, 5000);
    pthread_mutex_lock(&fwd.lock);
    while (!fwd.subscribed) {
        if (pthread_cond_timedwait(&fwd.cond, &fwd.lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    int ok = fwd.subscribed;
    pthread_mutex_unlock(&fwd.lock);
    ck_assert_msg(ok, "the publisher never subscribed to IOPub");
}

static size_t received_count(void)
{
    pthread_mutex_lock(&fwd.lock);
    size_t n = json_array_size(fwd.received);
    pthread_mutex_unlock(&fwd.lock);
    return n;
}

static pm_publisher_t *publisher(int fenced)
{
    pm_publisher_opts_t opts = {
        .session = {KEY, strlen(KEY), "session-1234", "tester"},
        .pipe_endpoint = fwd.pull_ep,
        .pipe_uuid = UUID,
        .pipe_uuid_len = sizeof(UUID),
        .iopub_endpoint = fenced ? fwd.pub_ep : NULL,
        .topic = NULL,
    };
    pm_publisher_t *pub = NULL;

    ck_assert_int_eq(pm_publisher_new(&opts, &pub), 0);
    ck_assert_ptr_nonnull(pub);
    if (fenced) {
        wait_subscribed();
    }
    return pub;
}

static int send_seq(pm_publisher_t *pub, int seq)
{
    json_t *content = json_pack("{s:i,s:s}", "seq", seq, "name", "stream");
    int rc = pm_publisher_send(pub, "peakmem_test",
                               "{\"msg_id\":\"parent-1\"}", content);
    json_decref(content);
    return rc;
}

/* Checks message i of what the forwarder saw: topic, delimiter, valid
 * signature, header session, parent; returns its content's "seq". */
static int check_received(size_t i)
{
    pthread_mutex_lock(&fwd.lock);
    json_t *frames = json_incref(json_array_get(fwd.received, i));
    pthread_mutex_unlock(&fwd.lock);
    pm_buf_t parts[4];
    char sig[65];

    ck_assert_uint_eq(json_array_size(frames), 7);
    ck_assert_str_eq(json_string_value(json_array_get(frames, 0)),
                     "peakmem.display");
    ck_assert_str_eq(json_string_value(json_array_get(frames, 1)),
                     "<IDS|MSG>");
    for (int p = 0; p < 4; p++) {
        json_t *f = json_array_get(frames, (size_t)p + 3);
        parts[p] = (pm_buf_t){json_string_value(f), json_string_length(f)};
    }
    ck_assert_int_eq(pm_msg_sign(KEY, strlen(KEY), parts, 4, sig), 0);
    ck_assert_str_eq(json_string_value(json_array_get(frames, 2)), sig);

    json_t *header = json_loads(parts[0].data, 0, NULL);
    json_t *content = json_loads(parts[3].data, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(header, "session")),
                     "session-1234");
    ck_assert_str_eq(json_string_value(json_object_get(header, "msg_type")),
                     "peakmem_test");
    ck_assert_str_eq(parts[1].data, "{\"msg_id\":\"parent-1\"}");
    int seq = (int)json_integer_value(json_object_get(content, "seq"));
    json_decref(header);
    json_decref(content);
    json_decref(frames);
    return seq;
}

START_TEST(test_publisher_delivers_100_in_order_signed)
{
    pm_publisher_t *pub = publisher(1);

    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(send_seq(pub, i), 0);
    }
    ck_assert_int_eq(pm_publisher_flush(pub, 10000), 0);
    /* The fence: flush returned only after all 100 came back on IOPub. */
    ck_assert_uint_eq(received_count(), 100);
    for (size_t i = 0; i < 100; i++) {
        ck_assert_int_eq(check_received(i), (int)i);
    }
    pthread_mutex_lock(&fwd.lock);
    ck_assert_int_eq(fwd.bad_uuid, 0);
    pthread_mutex_unlock(&fwd.lock);
    pm_publisher_unref(pub);
}
END_TEST

START_TEST(test_publisher_flush_without_messages_returns_at_once)
{
    pm_publisher_t *pub = publisher(1);
    ck_assert_int_eq(pm_publisher_flush(pub, 0), 0);
    pm_publisher_unref(pub);
}
END_TEST

START_TEST(test_publisher_without_iopub_flushes_once_sent)
{
    pm_publisher_t *pub = publisher(0);
    struct timespec ts = {0, 10 * 1000000L};

    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(send_seq(pub, i), 0);
    }
    ck_assert_int_eq(pm_publisher_flush(pub, 5000), 0);
    for (int tries = 0; tries < 500 && received_count() < 10; tries++) {
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(received_count(), 10);
    for (size_t i = 0; i < 10; i++) {
        ck_assert_int_eq(check_received(i), (int)i);
    }
    pm_publisher_unref(pub);
}
END_TEST

START_TEST(test_publisher_flush_times_out_when_forwarder_stopped)
{
    pm_publisher_t *pub = publisher(1);

    ck_assert_int_eq(send_seq(pub, 0), 0);
    ck_assert_int_eq(pm_publisher_flush(pub, 10000), 0);
    fwd_stop();
    ck_assert_int_eq(send_seq(pub, 1), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(pm_publisher_flush(pub, 200), PM_ETIMEDOUT_PUB);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(waited >= 0.19 && waited < 2.0, "waited %.3f s", waited);
    ck_assert_uint_eq(received_count(), 1);
    pm_publisher_unref(pub);
}
END_TEST

typedef struct {
    pm_publisher_t *pub;
    int first, count, rc;
} sender_t;

static void *send_from_thread(void *arg)
{
    sender_t *s = arg;
    s->rc = 0;
    for (int i = 0; i < s->count && s->rc == 0; i++) {
        s->rc = send_seq(s->pub, s->first + i);
    }
    if (s->rc == 0) {
        s->rc = pm_publisher_flush(s->pub, 10000);
    }
    return NULL;
}

START_TEST(test_publisher_sends_from_second_thread)
{
    pm_publisher_t *pub = publisher(1);
    sender_t s = {pub, 1000, 20, -1};
    pthread_t t;

    ck_assert_int_eq(send_seq(pub, 0), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, send_from_thread, &s), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(s.rc, 0);
    ck_assert_int_eq(pm_publisher_flush(pub, 10000), 0);
    ck_assert_uint_eq(received_count(), 21);
    ck_assert_int_eq(check_received(0), 0);
    for (size_t i = 1; i < 21; i++) {
        ck_assert_int_eq(check_received(i), 1000 + (int)i - 1);
    }
    pm_publisher_unref(pub);
}
END_TEST

typedef struct {
    pm_publisher_t *pub; /* the thread's own reference */
    pthread_mutex_t *gate;
    int rc;
} owner_t;

static void *send_after_creator_left(void *arg)
{
    owner_t *o = arg;
    pthread_mutex_lock(o->gate); /* held until the creator unref'd */
    pthread_mutex_unlock(o->gate);
    o->rc = 0;
    for (int i = 0; i < 10 && o->rc == 0; i++) {
        o->rc = send_seq(o->pub, 500 + i);
    }
    if (o->rc == 0) {
        o->rc = pm_publisher_flush(o->pub, 10000);
    }
    pm_publisher_unref(o->pub); /* the last reference: stops and frees */
    return NULL;
}

START_TEST(test_publisher_ref_outlives_creators_unref)
{
    pm_publisher_t *pub = publisher(1);
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    owner_t o = {pm_publisher_ref(pub), &gate, -1};
    pthread_t t;

    ck_assert_ptr_eq(o.pub, pub);
    ck_assert_ptr_null(pm_publisher_ref(NULL));
    pthread_mutex_lock(&gate);
    ck_assert_int_eq(pthread_create(&t, NULL, send_after_creator_left, &o), 0);
    ck_assert_int_eq(send_seq(pub, 0), 0);
    pm_publisher_unref(pub); /* the creator lets go first (unload) */
    pthread_mutex_unlock(&gate);
    pthread_join(t, NULL);
    ck_assert_int_eq(o.rc, 0);
    /* The thread's messages all came back on IOPub, after the creator's
     * one, from a publisher its creator had already released. */
    ck_assert_uint_eq(received_count(), 11);
    ck_assert_int_eq(check_received(0), 0);
    for (size_t i = 1; i < 11; i++) {
        ck_assert_int_eq(check_received(i), 500 + (int)i - 1);
    }
}
END_TEST

START_TEST(test_publisher_refuses_to_send_after_fork)
{
    pm_publisher_t *pub = publisher(1);
    int status = 0, fds[2];
    char verdict = 0;
    pid_t child;

    ck_assert_int_eq(send_seq(pub, 0), 0);
    ck_assert_int_eq(pipe(fds), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        char ok = send_seq(pub, 1) == PM_EFORKED &&
                          pm_publisher_flush(pub, 100) == PM_EFORKED
                      ? 'y'
                      : 'n';
        pm_publisher_unref(pub); /* frees only the child's own memory */
        if (write(fds[1], &ok, 1) != 1) {
            ok = 'n';
        }
        /* The ZeroMQ context and the forwarder belong to the parent and
         * stay allocated here: end without exit handlers, so leak
         * checkers (ASan, valgrind) do not count them in the child. */
        kill(getpid(), SIGKILL);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &verdict, 1), 1);
    close(fds[0]);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_int_eq(verdict, 'y');
    /* The parent goes on as before; the child's attempt sent nothing. */
    ck_assert_int_eq(send_seq(pub, 2), 0);
    ck_assert_int_eq(pm_publisher_flush(pub, 10000), 0);
    ck_assert_uint_eq(received_count(), 2);
    ck_assert_int_eq(check_received(0), 0);
    ck_assert_int_eq(check_received(1), 2);
    pm_publisher_unref(pub);
}
END_TEST

START_TEST(test_publisher_new_rejects_bad_endpoint)
{
    pm_publisher_opts_t opts = {
        .session = {KEY, strlen(KEY), "s", "u"},
        .pipe_endpoint = "not-an-endpoint",
    };
    pm_publisher_t *pub = (pm_publisher_t *)&opts;

    ck_assert_int_eq(pm_publisher_new(&opts, &pub), PM_EZMQ);
    ck_assert_ptr_null(pub);
    opts.pipe_endpoint = NULL;
    ck_assert_int_eq(pm_publisher_new(&opts, &pub), -EINVAL);
    pm_publisher_unref(NULL);
}
END_TEST

START_TEST(test_publisher_rejects_bad_parent)
{
    pm_publisher_t *pub = publisher(0);
    json_t *content = json_object();

    ck_assert_int_eq(pm_publisher_send(pub, "x", "[1]", content), PM_EBADMSG);
    ck_assert_int_eq(pm_publisher_flush(pub, 1000), 0);
    ck_assert_uint_eq(received_count(), 0);
    json_decref(content);
    pm_publisher_unref(pub);
}
END_TEST

int main(void)
{
    const pm_check_tcase_t tcases[] = {
        {"publisher", 30, fwd_start, fwd_teardown},
    };
    const pm_check_test_t tests[] = {
        {"publisher", test_publisher_delivers_100_in_order_signed},
        {"publisher", test_publisher_flush_without_messages_returns_at_once},
        {"publisher", test_publisher_without_iopub_flushes_once_sent},
        {"publisher", test_publisher_flush_times_out_when_forwarder_stopped},
        {"publisher", test_publisher_sends_from_second_thread},
        {"publisher", test_publisher_ref_outlives_creators_unref},
        {"publisher", test_publisher_refuses_to_send_after_fork},
        {"publisher", test_publisher_new_rejects_bad_endpoint},
        {"publisher", test_publisher_rejects_bad_parent},
    };

    return pm_check_run(pm_check_suite("publisher", tests,
                                       PM_CHECK_COUNT(tests), tcases,
                                       PM_CHECK_COUNT(tcases)));
}
