/* The "C" numeric locale that every number written to or read from a file,
 * a document or a terminal goes through, so that a notebook calling
 * locale.setlocale(LC_ALL, "de_DE.UTF-8") still gets "1.5", not "1,5":
 * the pm_fmt family, the one formatting path of the project. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>

static locale_t c_locale = (locale_t)0;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_make(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t pm_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_make);
    return c_locale;
}

/* Switch the calling thread to the "C" locale; returns what to restore
 * with leave(). (locale_t)0 when newlocale failed (ENOMEM): the thread
 * then keeps its locale. */
static locale_t enter(void)
{
    locale_t c = pm_c_locale();

    return c != (locale_t)0 ? uselocale(c) : (locale_t)0;
}

static void leave(locale_t old)
{
    if (old != (locale_t)0) {
        uselocale(old);
    }
}

int pm_vfmt(char *buf, size_t len, const char *fmt, va_list ap)
{
    locale_t old = enter();
    int n = vsnprintf(buf, len, fmt, ap);

    leave(old);
    return n;
}

int pm_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = pm_vfmt(buf, len, fmt, ap);
    va_end(ap);
    return n;
}

int pm_fmt_file(FILE *f, const char *fmt, ...)
{
    locale_t old = enter();
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vfprintf(f, fmt, ap);
    va_end(ap);
    leave(old);
    return n;
}

char *pm_fmt_alloc(const char *fmt, ...)
{
    pm_strbuf_t b;
    va_list ap;

    pm_strbuf_init(&b);
    va_start(ap, fmt);
    (void)pm_strbuf_vprintf(&b, fmt, ap); /* a failure: steal gives NULL */
    va_end(ap);
    return pm_strbuf_steal(&b);
}

double pm_fmt_strtod(const char *text, char **end)
{
    locale_t c = pm_c_locale();

    return c != (locale_t)0 ? strtod_l(text, end, c) : strtod(text, end);
}
