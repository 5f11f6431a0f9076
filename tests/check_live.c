/* Check tests for magics/live.c, the live line's pure-C thread: it holds
 * its own reference to the publisher, so the publisher's creator (the
 * module, on %unload_ext) may let go while the thread publishes; and it
 * reads a timeline that grows under it within its own buffer. A PULL
 * socket stands in for ipykernel's IOPub pipe, a pipe for a terminal.
 * Run under ASan too. */
#include "check_util.h"
#include "pm_magics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static const unsigned char UUID[16] = "0123456789abcdef";
static const char PARENT[] = "{\"msg_id\":\"cell-1\",\"msg_type\":"
                             "\"execute_request\"}";

typedef struct {
    void *ctx, *pull;
    char ep[256];
} pipe_t;

static void pipe_open(pipe_t *p)
{
    size_t len = sizeof p->ep;
    int zero = 0, timeout = 5000;

    p->ctx = zmq_ctx_new();
    p->pull = zmq_socket(p->ctx, ZMQ_PULL);
    ck_assert_ptr_nonnull(p->pull);
    zmq_setsockopt(p->pull, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p->pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    ck_assert_int_eq(zmq_bind(p->pull, "tcp://127.0.0.1:*"), 0);
    ck_assert_int_eq(zmq_getsockopt(p->pull, ZMQ_LAST_ENDPOINT, p->ep, &len),
                     0);
}

static void pipe_close(pipe_t *p)
{
    zmq_close(p->pull);
    zmq_ctx_term(p->ctx);
}

/* Receives one message (5 s at most) and returns its content, checking
 * the frames: [uuid, topic, delimiter, signature, header, parent,
 * metadata, content]. msg_type receives the header's type. */
static json_t *recv_live(pipe_t *p, char msg_type[64])
{
    json_t *frames = json_array();
    int more = 1;

    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->pull, 0) < 0) {
            zmq_msg_close(&m);
            json_decref(frames);
            return NULL;
        }
        json_array_append_new(
            frames, json_stringn_nocheck(zmq_msg_data(&m), zmq_msg_size(&m)));
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    ck_assert_uint_eq(json_array_size(frames), 8);
    ck_assert_str_eq(json_string_value(json_array_get(frames, 5)), PARENT);
    json_t *header =
        json_loads(json_string_value(json_array_get(frames, 4)), 0, NULL);
    json_t *content =
        json_loads(json_string_value(json_array_get(frames, 7)), 0, NULL);
    ck_assert_ptr_nonnull(header);
    ck_assert_ptr_nonnull(content);
    snprintf(msg_type, 64, "%s",
             json_string_value(json_object_get(header, "msg_type")));
    json_decref(header);
    json_decref(frames);
    return content;
}

static pm_publisher_t *publisher(pipe_t *p)
{
    pm_publisher_opts_t opts = {
        .session = {"k", 1, "session-live", "tester"},
        .pipe_endpoint = p->ep,
        .pipe_uuid = UUID,
        .pipe_uuid_len = sizeof UUID,
    };
    pm_publisher_t *pub = NULL;

    ck_assert_int_eq(pm_publisher_new(&opts, &pub), 0);
    return pub;
}

/* The RSS a live message shows (its vnd.peakmem.live JSON): the newest
 * sample the view copied; 0 if it copied none. */
static json_int_t live_rss(json_t *content)
{
    json_t *live = json_object_get(json_object_get(content, "data"),
                                   "application/vnd.peakmem.live+json");
    ck_assert_ptr_nonnull(live);
    return json_integer_value(json_object_get(live, "rss_bytes"));
}

START_TEST(test_live_view_outlives_the_creators_publisher_reference)
{
    pipe_t p;
    pm_sampler_opts_t so = {.self_interval_s = 0.01, .record = 1};
    pm_sampler_t *sampler = NULL;
    pm_liveview_t *lv = NULL;
    char type[64], display_id[37] = "";

    pipe_open(&p);
    pm_publisher_t *pub = publisher(&p);
    ck_assert_int_eq(pm_sampler_new(&so, &sampler), 0);
    pm_liveview_opts_t lo = {
        .pub = pub,
        .parent_json = PARENT,
        .statement = "time.sleep(10)",
        .sampler = sampler,
        .delay_s = 0.05,
        .period_s = 0.15,
    };
    ck_assert_int_eq(pm_liveview_start(&lo, &lv), 0);
    json_t *first = recv_live(&p, type);
    ck_assert_ptr_nonnull(first);
    ck_assert_str_eq(type, "display_data");
    json_decref(first);
    /* What %unload_ext does to the module's publisher mid-statement. The
     * view's own reference keeps it alive: its next updates still leave,
     * signed and whole (before, it sent through freed memory). */
    pm_publisher_unref(pub);
    pub = NULL;
    for (int i = 0; i < 3; i++) {
        json_t *c = recv_live(&p, type);
        ck_assert_msg(c != NULL, "no live update %d after the unref", i);
        ck_assert_str_eq(type, "update_display_data");
        ck_assert_int_gt(live_rss(c), 0);
        json_decref(c);
    }
    /* The statement failed: one last update through the view's own
     * reference, then free drops it (the publisher goes with it). */
    ck_assert_int_eq(pm_liveview_stop(lv, 1, display_id), 1);
    ck_assert_uint_eq(strlen(display_id), 36);
    ck_assert_int_eq(pm_liveview_stop(lv, 0, NULL), 1); /* again: no-op */
    pm_liveview_free(lv);
    pm_sampler_free(sampler);
    pipe_close(&p);
}
END_TEST

START_TEST(test_live_view_reads_a_growing_timeline_within_bounds)
{
    /* 10 us samples, each kept: the timeline grows between any two reads
     * of it. The view copies the newest samples within its own buffer
     * (ASan shows a read past it) and shows the newest one. */
    pipe_t p;
    pm_sampler_opts_t so = {
        .self_interval_s = 1e-5, .record = 1, .max_samples = 200000};
    pm_sampler_t *sampler = NULL;
    pm_liveview_t *lv = NULL;
    char type[64];

    pipe_open(&p);
    pm_publisher_t *pub = publisher(&p);
    ck_assert_int_eq(pm_sampler_new(&so, &sampler), 0);
    pm_liveview_opts_t lo = {
        .pub = pub,
        .parent_json = PARENT,
        .statement = "x",
        .sampler = sampler,
        .delay_s = 0.01,
        .period_s = 0.11,
    };
    ck_assert_int_eq(pm_liveview_start(&lo, &lv), 0);
    for (int i = 0; i < 5; i++) {
        json_t *c = recv_live(&p, type);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_gt(live_rss(c), 0);
        json_decref(c);
    }
    pm_liveview_free(lv); /* stops and joins */
    pm_sampler_free(sampler);
    pm_publisher_unref(pub);
    pipe_close(&p);
}
END_TEST

/* A sender in place of a publisher: the messages it got (the live
 * thread, then the stopping thread). */
typedef struct {
    pthread_mutex_t lock;
    int calls;
    char first[32], last[32];
    int stopped_seen; /* a "stopped after" line came */
} sent_t;

static int record_send(void *arg, const char *msg_type, json_t *content)
{
    sent_t *s = arg;
    const char *text = NULL;
    (void)json_unpack(content, "{s:{s:s}}", "data", "text/plain", &text);
    pthread_mutex_lock(&s->lock);
    if (s->calls++ == 0) {
        snprintf(s->first, sizeof s->first, "%s", msg_type);
    }
    snprintf(s->last, sizeof s->last, "%s", msg_type);
    if (text != NULL && strncmp(text, "stopped after ", 14) == 0) {
        s->stopped_seen = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return 0;
}

START_TEST(test_live_view_sends_through_a_sender_without_publisher)
{
    /* The display_pub route: no publisher, every message through the
     * sender: display_data first, update_display_data after, and the
     * stopped line from pm_liveview_stop; none after it returns. */
    sent_t s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    pm_sampler_opts_t so = {.self_interval_s = 0.01, .record = 1};
    pm_sampler_t *sampler = NULL;
    pm_liveview_t *lv = NULL;
    char id[37];

    ck_assert_int_eq(pm_sampler_new(&so, &sampler), 0);
    pm_liveview_opts_t lo = {
        .send = record_send,
        .send_arg = &s,
        .statement = "x",
        .sampler = sampler,
        .delay_s = 0.01,
        .period_s = 0.11,
    };
    ck_assert_int_eq(pm_liveview_start(&lo, &lv), 0);
    for (int i = 0; i < 400; i++) {
        pthread_mutex_lock(&s.lock);
        int n = s.calls;
        pthread_mutex_unlock(&s.lock);
        if (n >= 3) {
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(pm_liveview_stop(lv, 1, id), 1);
    ck_assert_int_eq((int)strlen(id), 36);
    pthread_mutex_lock(&s.lock);
    int calls = s.calls;
    ck_assert_int_ge(calls, 4);
    ck_assert_str_eq(s.first, "display_data");
    ck_assert_str_eq(s.last, "update_display_data");
    ck_assert_int_eq(s.stopped_seen, 1);
    pthread_mutex_unlock(&s.lock);
    pm_liveview_free(lv);
    ck_assert_int_eq(s.calls, calls);
    pm_sampler_free(sampler);
}
END_TEST

/* Columns of UTF-8 text (one per character). */
static size_t text_columns(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    }
    return n;
}

START_TEST(test_live_view_on_a_terminal_keeps_the_newest_of_the_sparkline)
{
    /* A 60-column terminal (a pipe stands in): the line with a full
     * 40-point sparkline is ~87 columns; the view drops the sparkline's
     * oldest points so the line fits, its newest point at the right end,
     * and the stop wipes it. RSS rises all along, so the newest point is
     * the highest: a full block. (Cut at the right instead, the line
     * ended with an older, lower point.) */
    int fds[2];
    pm_sampler_opts_t so = {.self_interval_s = 0.01, .record = 1};
    pm_sampler_t *sampler = NULL;
    pm_ttyline_t *tty = NULL;
    pm_liveview_t *lv = NULL;
    static char out[65536];
    struct timespec ts = {0, 20 * 1000 * 1000};
    const size_t step = 1 << 20, steps = 40;

    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(pm_ttyline_new(fds[1], 60, &tty), 0);
    ck_assert_int_eq(pm_sampler_new(&so, &sampler), 0);
    pm_liveview_opts_t lo = {
        .tty = tty,
        .statement = "x",
        .sampler = sampler,
        .delay_s = 0.01,
        .period_s = 0.11,
    };
    ck_assert_int_eq(pm_liveview_start(&lo, &lv), 0);
    pm_ttyline_unref(tty); /* the view holds its own reference */
    unsigned char *mem = mmap(NULL, step * steps, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(mem, MAP_FAILED);
#ifdef MADV_NOHUGEPAGE
    (void)madvise(mem, step * steps, MADV_NOHUGEPAGE);
#endif
    for (size_t i = 0; i < steps; i++) { /* 1 MiB more every 20 ms */
        pm_check_touch(mem + i * step, step, 1);
        nanosleep(&ts, NULL);
    }
    /* a terminal line: nothing for the result to update */
    ck_assert_int_eq(pm_liveview_stop(lv, 0, NULL), 0);
    pm_liveview_free(lv);
    pm_sampler_free(sampler);
    munmap(mem, step * steps);
    close(fds[1]);
    ssize_t n, len = 0;
    while ((n = read(fds[0], out + len, sizeof out - 1 - (size_t)len)) > 0) {
        len += n;
    }
    close(fds[0]);
    out[len] = '\0';
    ck_assert_msg(strncmp(out, "\rrunning ", 9) == 0, "%s", out);
    /* the end: "\r", spaces over the last line, "\r" */
    ck_assert_int_eq(out[len - 1], '\r');
    const char *wipe = out + len - 2;
    while (*wipe == ' ') {
        wipe--;
    }
    ck_assert_int_eq(*wipe, '\r');
    size_t full = 0, lines = 0;
    for (const char *s = out; s < wipe; lines++) {
        const char *e = strchr(s + 1, '\r');
        size_t cols = text_columns(s + 1, (size_t)(e - s - 1));
        /* a line at most 59 columns, ending with the newest point */
        ck_assert_msg(cols <= 59, "%.*s", (int)(e - s), s);
        ck_assert_msg(e - s > 3 && (unsigned char)e[-3] == 0xe2 &&
                          (unsigned char)e[-2] == 0x96,
                      "%.*s", (int)(e - s), s);
        if (cols == 59) { /* the sparkline was fitted: newest is highest */
            full++;
            ck_assert_msg((unsigned char)e[-1] == 0x88, "%.*s",
                          (int)(e - s), s);
        }
        s = e;
    }
    ck_assert_uint_ge(lines, 3);
    ck_assert_uint_ge(full, 1);
}
END_TEST

START_TEST(test_live_view_rejects_missing_publisher)
{
    pm_liveview_t *lv = NULL;
    pm_liveview_opts_t lo = {.statement = "x"};

    ck_assert_int_eq(pm_liveview_start(&lo, &lv), -EINVAL);
    ck_assert_ptr_null(lv);
    pm_liveview_free(NULL);
}
END_TEST

int main(void)
{
    const pm_check_tcase_t tcases[] = {
        {"live", 30, NULL, NULL},
    };
    const pm_check_test_t tests[] = {
        {"live", test_live_view_outlives_the_creators_publisher_reference},
        {"live", test_live_view_reads_a_growing_timeline_within_bounds},
        {"live",
         test_live_view_on_a_terminal_keeps_the_newest_of_the_sparkline},
        {"live", test_live_view_sends_through_a_sender_without_publisher},
        {"live", test_live_view_rejects_missing_publisher},
    };

    return pm_check_run(pm_check_suite("live", tests, PM_CHECK_COUNT(tests),
                                       tcases, PM_CHECK_COUNT(tcases)));
}
