/* The live line of a running %memit: a pure-C thread (no GIL, no Python)
 * that waits delay_s, then every period_s reads the sampler's timeline
 * and publishes the line through the publisher (or the caller's sender):
 * display_data the first time, update_display_data after, all under one
 * display_id, so the notebook shows one line that changes. The magic
 * replaces it with the final result (update_display_data with the same
 * display_id). In terminal IPython the same text is drawn in place on the
 * terminal (ttyline.c) and wiped before the result is printed. */
#include "pm_magics.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECENT 40

struct pm_liveview {
    pthread_t thread;
    pthread_mutex_t lock; /* guards stop with cond */
    pthread_cond_t cond;
    int stop;              /* lock */
    pthread_mutex_t join_lock; /* guards joined: stop may come from two
                                  threads (the magic, and unload) */
    int joined;            /* join_lock */
    pm_publisher_t *pub;   /* own reference (pm_publisher_ref), or NULL */
    pm_ttyline_t *tty;     /* own reference (pm_ttyline_ref), or NULL */
    pm_live_send_fn send;  /* with pub NULL; read-only after start */
    void *send_arg;
    pm_sampler_t *sampler; /* borrowed; thread-safe readers; the owner
                              stops the view before freeing it */
    char *parent_json;     /* owned, read-only after start */
    char *statement;       /* owned, read-only after start */
    int64_t start_ns, delay_ns, period_ns; /* read-only after start */
    char display_id[37];                   /* written before start */
    atomic_int shown;                      /* a first display_data went out */
};

/* Wait until deadline_ns or stop; returns 1 when asked to stop. */
static int wait_until(pm_liveview_t *lv, int64_t deadline_ns)
{
    struct timespec ts;
    int stop;
    pthread_mutex_lock(&lv->lock);
    while (!lv->stop && pm_now_ns() < deadline_ns) {
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t left = deadline_ns - pm_now_ns();
        if (left <= 0) {
            break;
        }
        ts.tv_sec += left / 1000000000;
        ts.tv_nsec += left % 1000000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&lv->cond, &lv->lock, &ts);
    }
    stop = lv->stop;
    pthread_mutex_unlock(&lv->lock);
    return stop;
}

/* Terminal columns of UTF-8 text: one per character. 0 for NULL. */
static size_t columns(const char *text)
{
    size_t n = 0;
    for (; text != NULL && *text != '\0'; text++) {
        n += ((unsigned char)*text & 0xc0) != 0x80;
    }
    return n;
}

static void publish(pm_liveview_t *lv, int stopped)
{
    pm_sample_t last[RECENT];
    pm_svg_point_t recent[RECENT];
    /* One call copies under the sampler's lock: n <= RECENT, however
     * many samples the sampler appends meanwhile. */
    size_t n = pm_sampler_timeline_tail(lv->sampler, last, RECENT);

    for (size_t i = 0; i < n; i++) {
        recent[i].t = (double)(last[i].t_ns - lv->start_ns) / 1e9;
        recent[i].mib =
            (double)(last[i].rss_bytes + last[i].children_bytes) / PM_MIB;
    }
    pm_sample_t oldest;
    size_t nold = pm_sampler_timeline_copy(lv->sampler, &oldest, 1);
    pm_live_t live = {
        .statement = lv->statement,
        .elapsed_s = (double)(pm_now_ns() - lv->start_ns) / 1e9,
        .rss_bytes =
            n > 0 ? last[n - 1].rss_bytes + last[n - 1].children_bytes : 0,
        .peak_bytes = pm_sampler_peak(lv->sampler),
        /* the first sample: RSS as the statement started */
        .baseline_bytes =
            nold > 0 ? oldest.rss_bytes + oldest.children_bytes : 0,
        .recent = recent,
        .nrecent = n,
        .stopped = stopped,
    };
    if (lv->tty != NULL) {
        char *text = stopped ? NULL : pm_live_render_text(&live);
        size_t room = pm_ttyline_room(lv->tty), cols = columns(text);
        if (cols > room && live.nrecent > 0) {
            /* the sparkline loses its oldest points, so that the newest
             * (at its right end) stay on a narrow terminal */
            size_t drop = cols - room < live.nrecent ? cols - room
                                                     : live.nrecent;
            live.recent += drop;
            live.nrecent -= drop;
            free(text);
            text = pm_live_render_text(&live);
        }
        if (text != NULL && pm_ttyline_draw(lv->tty, text)) {
            atomic_store(&lv->shown, 1);
        }
        free(text);
        return;
    }
    json_t *content = pm_live_bundle(&live, lv->display_id);
    if (content == NULL) {
        return;
    }
    int first_time = !atomic_load(&lv->shown);
    const char *type = first_time ? "display_data" : "update_display_data";
    int rc = lv->send != NULL
                 ? lv->send(lv->send_arg, type, content)
                 : pm_publisher_send(lv->pub, type, lv->parent_json, content);
    if (rc == 0) {
        atomic_store(&lv->shown, 1);
    }
    json_decref(content);
}

static void *run(void *arg)
{
    pm_liveview_t *lv = arg;
    int64_t next = lv->start_ns + lv->delay_ns;
    while (!wait_until(lv, next)) {
        publish(lv, 0);
        next += lv->period_ns;
        if (next < pm_now_ns()) {
            next = pm_now_ns() + lv->period_ns;
        }
    }
    return NULL;
}

int pm_liveview_start(const pm_liveview_opts_t *opts, pm_liveview_t **out)
{
    if ((opts->pub == NULL && opts->tty == NULL && opts->send == NULL) ||
        opts->sampler == NULL) {
        return -EINVAL;
    }
    pm_liveview_t *lv = calloc(1, sizeof *lv);
    if (lv == NULL) {
        return -ENOMEM;
    }
    lv->sampler = opts->sampler;
    lv->send = opts->pub == NULL ? opts->send : NULL;
    lv->send_arg = opts->send_arg;
    lv->parent_json =
        strdup(opts->parent_json != NULL ? opts->parent_json : "{}");
    lv->statement = strdup(opts->statement != NULL ? opts->statement : "");
    lv->start_ns = pm_now_ns();
    lv->delay_ns =
        (int64_t)((opts->delay_s > 0 ? opts->delay_s : PM_LIVE_DELAY_S) *
                  1e9);
    lv->period_ns =
        (int64_t)((opts->period_s > 0.1 ? opts->period_s : 0.3) * 1e9);
    pm_uuid4(lv->display_id);
    atomic_init(&lv->shown, 0);
    pthread_mutex_init(&lv->lock, NULL);
    pthread_mutex_init(&lv->join_lock, NULL);
    pthread_cond_init(&lv->cond, NULL);
    /* The view's own reference: whoever else drops theirs (unload frees
     * the module's publisher), the thread's sends stay valid. */
    lv->pub = opts->pub != NULL ? pm_publisher_ref(opts->pub) : NULL;
    lv->tty = pm_ttyline_ref(opts->tty);
    /* The thread starts with every signal blocked, so SIGINT and the -t
     * SIGALRM reach the interpreter's thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = lv->parent_json == NULL || lv->statement == NULL
                 ? -1
                 : pthread_create(&lv->thread, NULL, run, lv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        lv->joined = 1; /* no thread to join */
        pm_liveview_free(lv);
        return PM_ETHREAD;
    }
    *out = lv;
    return 0;
}

int pm_liveview_stop(pm_liveview_t *lv, int stopped, char display_id[37])
{
    int was_running;

    pthread_mutex_lock(&lv->lock);
    lv->stop = 1;
    pthread_cond_signal(&lv->cond);
    pthread_mutex_unlock(&lv->lock);
    pthread_mutex_lock(&lv->join_lock);
    was_running = !lv->joined;
    if (was_running) {
        pthread_join(lv->thread, NULL);
        lv->joined = 1;
    }
    pthread_mutex_unlock(&lv->join_lock);
    if (lv->tty != NULL) {
        /* the line goes away; the result or the traceback prints there */
        (void)pm_ttyline_close(lv->tty);
        return 0;
    }
    if (atomic_load(&lv->shown) && stopped) {
        publish(lv, 1);
    }
    if (atomic_load(&lv->shown)) {
        if (display_id != NULL) {
            memcpy(display_id, lv->display_id, 37);
        }
        return 1;
    }
    return 0;
}

void pm_liveview_free(pm_liveview_t *lv)
{
    if (lv == NULL) {
        return;
    }
    (void)pm_liveview_stop(lv, 0, NULL);
    pthread_mutex_destroy(&lv->lock);
    pthread_mutex_destroy(&lv->join_lock);
    pthread_cond_destroy(&lv->cond);
    pm_publisher_unref(lv->pub);
    pm_ttyline_unref(lv->tty);
    free(lv->parent_json);
    free(lv->statement);
    free(lv);
}
