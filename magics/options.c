/* Option parsing for the magics: IPython's parse_options conventions (as
 * memory_profiler's %memit and %mprun use them) in plain C, so that a bad
 * line becomes one clear message and the statement keeps its spacing. */
#include "pm_magics.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The message in err: control characters of the user's text as \xNN,
 * and cut (when too long for err) on a whole UTF-8 character, never in
 * the middle of one: Python refuses a message with half a character and
 * the user would see an empty UsageError. */
static int usage(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        char msg[PM_OPTS_BUF + 256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = pm_vfmt(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (n < 0) {
            msg[0] = '\0';
        } else if ((size_t)n >= sizeof msg) {
            msg[pm_utf8_boundary(msg, sizeof msg - 1)] = '\0';
        }
        pm_text_escape(err, errlen, msg, strlen(msg), SIZE_MAX);
    }
    return PM_EUSAGE;
}

/* Bytes in the character (UTF-8, else one byte) that starts s. */
static size_t char_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

    for (size_t k = 1; k < n; k++) {
        if (((unsigned char)s[k] & 0xc0) != 0x80) {
            return 1; /* broken: usage() shows the byte as \xNN */
        }
    }
    return n;
}

static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    return s;
}

static int is_blank_or_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copy one word starting at *pos into out's buffer, removing one level of
 * quotes ('...' or "..." anywhere in the word). Advances *pos past it. */
static int take_word(const char **pos, pm_opts_t *out, size_t *used,
                     const char **value, char *err, size_t errlen)
{
    const char *s = *pos;
    char *dst = out->buf + *used;
    size_t room = PM_OPTS_BUF - *used;
    size_t n = 0;
    char quote = 0;

    while (*s != '\0' && (quote != 0 || !is_blank_or_end(*s))) {
        if (quote == 0 && (*s == '\'' || *s == '"')) {
            quote = *s++;
            continue;
        }
        if (quote != 0 && *s == quote) {
            quote = 0;
            s++;
            continue;
        }
        if (n + 1 >= room) {
            return usage(err, errlen, "options are too long");
        }
        dst[n++] = *s++;
    }
    if (quote != 0) {
        return usage(err, errlen, "unterminated quote %c in options", quote);
    }
    dst[n] = '\0';
    *used += n + 1;
    *value = dst;
    *pos = s;
    return 0;
}

static const pm_optdef_t *find_short(const pm_optdef_t *defs, char c)
{
    for (; defs->short_name != 0 || defs->long_name != NULL; defs++) {
        if (defs->short_name == c) {
            return defs;
        }
    }
    return NULL;
}

static const pm_optdef_t *find_long(const pm_optdef_t *defs, const char *name,
                                    size_t len)
{
    for (; defs->short_name != 0 || defs->long_name != NULL; defs++) {
        if (defs->long_name != NULL && strlen(defs->long_name) == len &&
            strncmp(defs->long_name, name, len) == 0) {
            return defs;
        }
    }
    return NULL;
}

static int push(pm_opts_t *out, const pm_optdef_t *def, const char *value,
                char *err, size_t errlen)
{
    if (out->n >= PM_OPTS_MAX) {
        return usage(err, errlen, "too many options");
    }
    out->items[out->n].def = def;
    out->items[out->n].value = value;
    out->n++;
    return 0;
}

/* The value of an option that takes one: the rest of the current word
 * when attached, else the next word. */
static int option_value(const pm_optdef_t *def, const char *attached,
                        const char **pos, pm_opts_t *out, size_t *used,
                        const char **value, char *err, size_t errlen)
{
    if (attached != NULL && !is_blank_or_end(*attached)) {
        const char *p = attached;
        return take_word(&p, out, used, value, err, errlen) < 0
                   ? PM_EUSAGE
                   : (*pos = p, 0);
    }
    *pos = skip_blanks(*pos);
    if (**pos == '\0') {
        if (def->short_name != 0) {
            return usage(err, errlen, "option -%c requires a value",
                         def->short_name);
        }
        return usage(err, errlen, "option --%s requires a value",
                     def->long_name);
    }
    return take_word(pos, out, used, value, err, errlen);
}

static int parse_long_option(const char **pos, const pm_optdef_t *defs,
                             pm_opts_t *out, size_t *used, char *err,
                             size_t errlen)
{
    const char *name = *pos + 2;
    const char *end = name;
    while (!is_blank_or_end(*end) && *end != '=') {
        end++;
    }
    const pm_optdef_t *def = find_long(defs, name, (size_t)(end - name));
    if (def == NULL) {
        return usage(err, errlen, "unknown option --%.*s", (int)(end - name),
                     name);
    }
    const char *value = "";
    *pos = end;
    if (def->takes_value == PM_OPT_OPTIONAL_NUMBER && *end != '=') {
        const char *next = skip_blanks(end);
        size_t digits = strspn(next, "0123456789");
        if (digits == 0 || !is_blank_or_end(next[digits])) {
            return push(out, def, value, err, errlen);
        }
    }
    if (def->takes_value == PM_OPT_OPTIONAL) {
        /* "--dask=ADDR", or "--dask ADDR" when the next word is an
         * address ("scheme://..."); else no value. */
        const char *next = skip_blanks(end);
        const char *sp = next;
        while (!is_blank_or_end(*sp)) {
            sp++;
        }
        int is_addr = *end != '=' && next != end &&
                      memmem(next, (size_t)(sp - next), "://", 3) != NULL;
        if (*end == '=' || is_addr) {
            const char *attached = *end == '=' ? end + 1 : NULL;
            if (attached != NULL && is_blank_or_end(*attached)) {
                return usage(err, errlen, "option --%s= needs a value",
                             def->long_name);
            }
            if (option_value(def, attached, pos, out, used, &value, err,
                             errlen) < 0) {
                return PM_EUSAGE;
            }
        }
    } else if (def->takes_value) {
        const char *attached = *end == '=' ? end + 1 : NULL;
        if (attached != NULL && is_blank_or_end(*attached)) {
            return usage(err, errlen, "option --%s requires a value",
                         def->long_name);
        }
        if (option_value(def, attached, pos, out, used, &value, err, errlen) <
            0) {
            return PM_EUSAGE;
        }
    } else if (*end == '=') {
        return usage(err, errlen, "option --%s takes no value",
                     def->long_name);
    }
    return push(out, def, value, err, errlen);
}

static int parse_short_cluster(const char **pos, const pm_optdef_t *defs,
                               pm_opts_t *out, size_t *used, char *err,
                               size_t errlen)
{
    const char *s = *pos + 1;
    while (!is_blank_or_end(*s)) {
        const pm_optdef_t *def = find_short(defs, *s);
        if (def == NULL) {
            /* the whole character: "-é", not half of it */
            return usage(err, errlen, "unknown option -%.*s",
                         (int)char_len(s), s);
        }
        if (def->takes_value) {
            const char *value = NULL;
            const char *attached = s + 1;
            *pos = attached;
            if (option_value(def, attached, pos, out, used, &value, err,
                             errlen) < 0) {
                return PM_EUSAGE;
            }
            return push(out, def, value, err, errlen);
        }
        if (push(out, def, "", err, errlen) < 0) {
            return PM_EUSAGE;
        }
        s++;
    }
    *pos = s;
    return 0;
}

int pm_opts_parse(const char *line, const pm_optdef_t *defs, pm_opts_t *out,
                  char *err, size_t errlen)
{
    size_t used = 0;
    const char *pos = line != NULL ? line : "";

    out->n = 0;
    out->rest = "";
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    for (;;) {
        pos = skip_blanks(pos);
        if (pos[0] != '-' || is_blank_or_end(pos[1])) {
            break; /* the statement (or nothing) starts here */
        }
        int rc;
        if (pos[1] == '-') {
            if (is_blank_or_end(pos[2])) {
                pos = skip_blanks(pos + 2);
                break; /* "--" ends the options */
            }
            rc = parse_long_option(&pos, defs, out, &used, err, errlen);
        } else {
            rc = parse_short_cluster(&pos, defs, out, &used, err, errlen);
        }
        if (rc < 0) {
            return rc;
        }
    }
    out->rest = pos;
    return 0;
}

const char *pm_opts_get(const pm_opts_t *opts, char short_name,
                        const char *long_name)
{
    const char *found = NULL;
    for (size_t i = 0; i < opts->n; i++) {
        const pm_optdef_t *def = opts->items[i].def;
        int match = short_name != 0
                        ? def->short_name == short_name
                        : (def->long_name != NULL && long_name != NULL &&
                           strcmp(def->long_name, long_name) == 0);
        if (match) {
            found = opts->items[i].value;
        }
    }
    return found;
}

int pm_parse_long(const char *text, long min, long max, const char *what,
                  long *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (text[0] == '\0' || isspace((unsigned char)text[0]) || *end != '\0' ||
        errno == ERANGE || v < min || v > max) {
        return usage(err, errlen,
                     "%s expects an integer from %ld to %ld, "
                     "got '%s'",
                     what, min, max, text);
    }
    *out = v;
    return 0;
}

int pm_parse_seconds(const char *text, double min, const char *what,
                     double *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = pm_fmt_strtod(text, &end);
    if (text[0] == '\0' || isspace((unsigned char)text[0]) || *end != '\0' ||
        errno == ERANGE || !isfinite(v) || v < min) {
        return usage(err, errlen,
                     "%s expects a number of seconds >= %g, "
                     "got '%s'",
                     what, min, text);
    }
    *out = v;
    return 0;
}

int pm_parse_interval(const char *text, const char *what, double *out,
                      char *err, size_t errlen)
{
    double v;

    if (pm_parse_seconds(text, 0, what, &v, err, errlen) < 0 || v <= 0) {
        return usage(err, errlen,
                     "%s expects a number of seconds > 0, got '%s'", what,
                     text);
    }
    if (v > PM_SAMPLER_MAX_INTERVAL_S) {
        return usage(err, errlen, "%s expects at most %.0f seconds, got '%s'",
                     what, PM_SAMPLER_MAX_INTERVAL_S, text);
    }
    *out = v;
    return 0;
}

int pm_parse_sample_bytes(const char *text, double *out, char *err,
                          size_t errlen)
{
    char *end = NULL;
    double v = pm_fmt_strtod(text, &end);
    while (end != text && isspace((unsigned char)*end)) {
        end++;
    }
    if (end == text || isspace((unsigned char)text[0]) || *end != '\0' ||
        strpbrk(text, "xX") != NULL || !(v == 0 || (v >= 1 && v <= 0x1p40))) {
        return usage(err, errlen,
                     "PEAKMEM_SITES_SAMPLE: expects a number of bytes from 1 "
                     "to 2**40, or 0 to track every allocation exactly; got "
                     "'%.40s'",
                     text);
    }
    *out = v;
    return 0;
}

int pm_parse_size(const char *text, const char *what, uint64_t *out, char *err,
                  size_t errlen)
{
    static const struct {
        const char *unit;
        double factor;
    } units[] = {
        {"B", 1.0},
        {"KiB", 1024.0},
        {"MiB", (double)PM_MIB},
        {"GiB", 1073741824.0},
        {"TiB", 1099511627776.0},
        {"KB", 1e3},
        {"MB", 1e6},
        {"GB", 1e9},
        {"TB", 1e12},
        {"K", 1024.0},
        {"M", (double)PM_MIB},
        {"G", 1073741824.0},
        {"T", 1099511627776.0},
    };
    char *end = NULL;
    errno = 0;
    double v = pm_fmt_strtod(text, &end);
    if (text[0] != '\0' && !isspace((unsigned char)text[0]) && end != text &&
        errno == 0 && isfinite(v) && v > 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcasecmp(end, units[i].unit) == 0) {
                double bytes = v * units[i].factor;
                if (bytes >= 1.0 && bytes < 1.8e19) {
                    *out = (uint64_t)bytes;
                    return 0;
                }
            }
        }
    }
    return usage(err, errlen, "%s expects a size like 500MiB or 2GB, got '%s'",
                 what, text);
}
