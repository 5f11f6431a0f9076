/* The simple names a Python statement reads, found without Python: what
 * %memit shows beside its result ("n = 20") so that results of a loop can
 * be told apart. A light scan, not a parser: it knows strings, comments,
 * numbers, attributes, keyword arguments and assignment targets. */
#include "pm_magics.h"

#include <ctype.h>
#include <string.h>

/* Past the string literal that starts at p (a quote): its closing quote,
 * triple-quoted ones included, or the end of the text. */
static const char *skip_string(const char *p)
{
    char q = *p;
    int triple = p[1] == q && p[2] == q;

    p += triple ? 3 : 1;
    while (*p != '\0') {
        if (*p == '\\' && p[1] != '\0') {
            p += 2;
        } else if (*p == q && (!triple || (p[1] == q && p[2] == q))) {
            return p + (triple ? 3 : 1);
        } else if (*p == '\n' && !triple) {
            return p;
        } else {
            p++;
        }
    }
    return p;
}

int pm_names_scan(const char *statement, pm_name_fn fn, void *ctx)
{
    const char *p = statement;
    char prev = '\0'; /* the last non-blank character before p */
    int rc = 0;

    while (*p != '\0' && rc == 0) {
        unsigned char c = (unsigned char)*p;
        if (c == '#') {
            p += strcspn(p, "\n");
        } else if (c == '\'' || c == '"') {
            p = skip_string(p);
            prev = '"';
        } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)p[1]))) {
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '.') {
                p++;
            }
            prev = '0';
        } else if (isalpha(c) || c == '_' || c >= 0x80) {
            const char *start = p;
            int ascii = 1;
            while (isalnum((unsigned char)*p) || *p == '_' ||
                   (unsigned char)*p >= 0x80) {
                ascii &= (unsigned char)*p < 0x80;
                p++;
            }
            const char *after = p + strspn(p, " \t");
            int prefix = *p == '\'' || *p == '"'; /* f"", rb'' */
            int target = after[0] == '=' && after[1] != '=';
            if (ascii && !prefix && !target && prev != '.') {
                rc = fn(start, (size_t)(p - start), ctx);
            }
            prev = 'a';
        } else {
            if (!isspace(c)) {
                prev = (char)c;
            }
            p++;
        }
    }
    return rc;
}
