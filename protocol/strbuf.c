/* A growable text buffer (jansson's strbuffer idea): the renderers append
 * to one and take the text at the end, and its printf is the pm_fmt
 * path, so every number written through it is in the "C" locale. */
#include "pm_protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 256

void pm_strbuf_init(pm_strbuf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

/* Room for need more bytes and the NUL; 0 or -ENOMEM (sticky). */
static int reserve(pm_strbuf_t *b, size_t need)
{
    size_t cap = b->cap != 0 ? b->cap : INITIAL_CAP;
    char *data;

    if (b->failed) {
        return -ENOMEM;
    }
    if (need < b->cap - b->len) {
        return 0;
    }
    if (need > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return -ENOMEM;
    }
    while (cap - b->len <= need) {
        cap *= 2;
    }
    data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = 1;
        return -ENOMEM;
    }
    if (b->data == NULL) {
        data[0] = '\0';
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

int pm_strbuf_append(pm_strbuf_t *b, const char *data, size_t len)
{
    int rc = reserve(b, len);

    if (rc < 0) {
        return rc;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int pm_strbuf_puts(pm_strbuf_t *b, const char *text)
{
    return pm_strbuf_append(b, text, strlen(text));
}

int pm_strbuf_putc(pm_strbuf_t *b, char c)
{
    return pm_strbuf_append(b, &c, 1);
}

int pm_strbuf_vprintf(pm_strbuf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    int n, rc;

    rc = reserve(b, 0);
    if (rc < 0) {
        return rc;
    }
    va_copy(again, ap);
    n = pm_vfmt(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        /* did not fit: the NUL-terminated cut is overwritten below */
        b->data[b->len] = '\0';
        rc = reserve(b, (size_t)n);
        if (rc == 0) {
            n = pm_vfmt(b->data + b->len, b->cap - b->len, fmt, again);
        }
    }
    va_end(again);
    if (rc < 0) {
        return rc;
    }
    if (n < 0) {
        b->data[b->len] = '\0';
        b->failed = 1;
        return -EINVAL;
    }
    b->len += (size_t)n;
    return 0;
}

int pm_strbuf_printf(pm_strbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pm_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *pm_strbuf_steal(pm_strbuf_t *b)
{
    char *text = NULL;

    if (!b->failed && reserve(b, 0) == 0) {
        text = b->data;
        b->data = NULL;
    }
    pm_strbuf_close(b);
    return text;
}

void pm_strbuf_close(pm_strbuf_t *b)
{
    free(b->data);
    pm_strbuf_init(b);
}
