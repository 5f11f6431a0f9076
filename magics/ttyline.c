/* One updating line on a terminal: the live line of a %memit in terminal
 * IPython. Each draw returns the cursor to the line's start with '\r' and
 * writes over the line shown before (spaces wipe what the new text does
 * not cover), cut to the terminal's width so it never wraps. Other output
 * (the statement's own prints) pauses the line: it is wiped first, and
 * drawn again, below that output, only once the cursor is back at the
 * start of a line. Plain write(2) on the descriptor, no escape sequences,
 * so any terminal shows it. */
#include "pm_magics.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct pm_ttyline {
    atomic_int refs;
    int fd;
    int fixed_width;      /* columns; 0: ask the terminal */
    pthread_mutex_t lock; /* guards everything below, and the writes */
    size_t shown;         /* columns of the line on screen; 0: none */
    int paused;           /* other output in progress (nests) */
    int mid_line;         /* that output left the cursor mid-line */
    int closed;
};

int pm_ttyline_new(int fd, int width, pm_ttyline_t **out)
{
    pm_ttyline_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return -ENOMEM;
    }
    atomic_init(&t->refs, 1);
    t->fd = fd;
    t->fixed_width = width > 0 ? width : 0;
    pthread_mutex_init(&t->lock, NULL);
    *out = t;
    return 0;
}

pm_ttyline_t *pm_ttyline_ref(pm_ttyline_t *t)
{
    if (t != NULL) {
        atomic_fetch_add(&t->refs, 1);
    }
    return t;
}

void pm_ttyline_unref(pm_ttyline_t *t)
{
    if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1) {
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
}

/* All of buf, or give up on an error (a terminal that went away must not
 * stop the measurement). */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static size_t width_unlocked(const pm_ttyline_t *t)
{
    struct winsize ws;
    if (t->fixed_width > 0) {
        return (size_t)t->fixed_width;
    }
    if (ioctl(t->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) {
        return ws.ws_col;
    }
    return 80;
}

/* "\r", n spaces, "\r": the line shown is gone, the cursor at its start. */
static void wipe_unlocked(pm_ttyline_t *t)
{
    char buf[256];
    size_t n = t->shown;

    if (n == 0) {
        return;
    }
    write_all(t->fd, "\r", 1);
    memset(buf, ' ', sizeof buf);
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        write_all(t->fd, buf, k);
        n -= k;
    }
    write_all(t->fd, "\r", 1);
    t->shown = 0;
}

size_t pm_ttyline_room(pm_ttyline_t *t)
{
    pthread_mutex_lock(&t->lock);
    size_t room = width_unlocked(t) - 1;
    pthread_mutex_unlock(&t->lock);
    return room;
}

int pm_ttyline_draw(pm_ttyline_t *t, const char *text)
{
    pm_strbuf_t b;
    size_t cols = 0, room, i = 0;
    int drawn = 0;

    pm_strbuf_init(&b);
    pthread_mutex_lock(&t->lock);
    if (t->closed || t->paused > 0 || t->mid_line) {
        goto out;
    }
    /* The last column stays free: some terminals wrap on writing it. */
    room = width_unlocked(t) - 1;
    pm_strbuf_putc(&b, '\r');
    while (text[i] != '\0' && text[i] != '\n' && cols < room) {
        size_t n = 1;
        while (((unsigned char)text[i + n] & 0xc0) == 0x80) {
            n++; /* the rest of a UTF-8 character: one column */
        }
        pm_strbuf_append(&b, text + i, n);
        i += n;
        cols++;
    }
    for (size_t k = cols; k < t->shown; k++) {
        pm_strbuf_putc(&b, ' ');
    }
    if (b.failed || b.data == NULL) {
        goto out; /* no memory: no line this time */
    }
    write_all(t->fd, b.data, b.len);
    t->shown = cols;
    drawn = 1;
out:
    pthread_mutex_unlock(&t->lock);
    pm_strbuf_close(&b);
    return drawn;
}

void pm_ttyline_pause(pm_ttyline_t *t)
{
    pthread_mutex_lock(&t->lock);
    wipe_unlocked(t);
    t->paused++;
    pthread_mutex_unlock(&t->lock);
}

void pm_ttyline_resume(pm_ttyline_t *t, int at_line_start)
{
    pthread_mutex_lock(&t->lock);
    if (t->paused > 0) {
        t->paused--;
    }
    if (at_line_start >= 0) {
        t->mid_line = !at_line_start;
    }
    pthread_mutex_unlock(&t->lock);
}

int pm_ttyline_close(pm_ttyline_t *t)
{
    pthread_mutex_lock(&t->lock);
    int was_shown = t->shown > 0;
    wipe_unlocked(t);
    t->closed = 1;
    pthread_mutex_unlock(&t->lock);
    return was_shown;
}
