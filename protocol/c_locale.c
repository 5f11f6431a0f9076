/* The "C" numeric locale that every number written to or read from a file
 * or document goes through, so that a notebook calling
 * locale.setlocale(LC_ALL, "de_DE.UTF-8") still gets "1.5", not "1,5". */
#include "internal.h"

#include <pthread.h>

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
