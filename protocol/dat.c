/* mprof's .dat files: records formatted as memory_profiler 0.61 writes
 * them (mprof run, memory_usage(stream=...), TimeStamper.show_results) and
 * a parser as tolerant as mprof's read_mprofile_file, and no more. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Most fields a record can use (FUNC: name, 4 numbers, level). */
#define MAX_FIELDS 6

/* One line of the text, without its terminator. */
typedef struct {
    const char *s;
    size_t len;
} span_t;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    if (vsnprintf(err, errlen, fmt, ap) >= (int)errlen) {
        err[pm_utf8_boundary(err, errlen - 1)] = '\0'; /* cut whole */
    }
    va_end(ap);
}

/* Python's float() and int() strip whitespace around their argument; in
 * ASCII that is \t \n \v \f \r, space and \x1c..\x1f. */
static int py_space(char c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
}

static span_t strip(span_t tok)
{
    while (tok.len > 0 && py_space(tok.s[0])) {
        tok.s++;
        tok.len--;
    }
    while (tok.len > 0 && py_space(tok.s[tok.len - 1])) {
        tok.len--;
    }
    return tok;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A decimal number as Python's float() reads one (sign, digits with an
 * optional point, exponent), without its inf/nan spellings and digit
 * underscores: 0 and the finite value, or -1. */
static int parse_double(span_t tok, double *out)
{
    char buf[64], *end;
    size_t i = 0, digits = 0;
    locale_t loc = pm_c_locale();
    double v;

    tok = strip(tok);
    if (tok.len == 0 || tok.len >= sizeof(buf)) {
        return -1;
    }
    if (tok.s[i] == '+' || tok.s[i] == '-') {
        i++;
    }
    while (i < tok.len && is_digit(tok.s[i])) {
        i++;
        digits++;
    }
    if (i < tok.len && tok.s[i] == '.') {
        i++;
        while (i < tok.len && is_digit(tok.s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0) {
        return -1;
    }
    if (i < tok.len && (tok.s[i] == 'e' || tok.s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < tok.len && (tok.s[i] == '+' || tok.s[i] == '-')) {
            i++;
        }
        while (i < tok.len && is_digit(tok.s[i])) {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0) {
            return -1;
        }
    }
    if (i != tok.len) {
        return -1;
    }
    memcpy(buf, tok.s, tok.len);
    buf[tok.len] = '\0';
    v = loc != (locale_t)0 ? strtod_l(buf, &end, loc) : strtod(buf, &end);
    if (*end != '\0' || !isfinite(v)) {
        return -1; /* e.g. 1e999, which Python reads as inf */
    }
    *out = v;
    return 0;
}

/* A decimal integer as Python's int() reads one (without underscores)
 * that fits an int: 0 or -1. */
static int parse_int(span_t tok, int *out)
{
    long long v = 0;
    size_t i = 0;
    int neg = 0;

    tok = strip(tok);
    if (tok.len > 0 && (tok.s[0] == '+' || tok.s[0] == '-')) {
        neg = tok.s[0] == '-';
        i++;
    }
    if (i == tok.len) {
        return -1;
    }
    for (; i < tok.len; i++) {
        if (!is_digit(tok.s[i])) {
            return -1;
        }
        v = v * 10 + (tok.s[i] - '0');
        if (v > (long long)INT_MAX + 1) {
            return -1;
        }
    }
    v = neg ? -v : v;
    if (v > INT_MAX || v < INT_MIN) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Split a record's value at every single space as str.split(' ') does
 * (empty fields kept); fills up to MAX_FIELDS and returns how many fields
 * there are in all. */
static size_t split_fields(span_t value, span_t *fields)
{
    size_t n = 0, start = 0;

    for (size_t i = 0; i <= value.len; i++) {
        if (i == value.len || value.s[i] == ' ') {
            if (n < MAX_FIELDS) {
                fields[n] = (span_t){value.s + start, i - start};
            }
            n++;
            start = i + 1;
        }
    }
    return n;
}

static char *dup_span(span_t s)
{
    char *out = malloc(s.len + 1);

    if (out != NULL) {
        memcpy(out, s.s, s.len);
        out[s.len] = '\0';
    }
    return out;
}

/* Make room for one more item in *items (n used, *cap allocated). */
static int grow(void **items, size_t n, size_t *cap, size_t size)
{
    size_t newcap;
    void *p;

    if (n < *cap) {
        return 0;
    }
    newcap = *cap == 0 ? 16 : *cap * 2;
    if (newcap < *cap || newcap > SIZE_MAX / size) {
        return -ENOMEM;
    }
    p = realloc(*items, newcap * size);
    if (p == NULL) {
        return -ENOMEM;
    }
    *items = p;
    *cap = newcap;
    return 0;
}

/* Growth state of the arrays of a pm_dat_t being parsed. */
typedef struct {
    size_t mem_cap, children_cap, funcs_cap;
    size_t *child_caps; /* one per child, parallel to d->children */
    size_t last_child;  /* index of the child seen last: a cheap guess */
    /* pid -> child: open addressing, linear probing, at most half full;
     * a slot holds the child's index + 1 (0: empty) */
    size_t *slots;
    size_t nslots; /* 0 or a power of two */
} caps_t;

static size_t pid_slot(int pid, size_t nslots)
{
    uint32_t x = (uint32_t)pid * 2654435761u; /* Knuth's multiplier */

    return (size_t)(x ^ x >> 16) & (nslots - 1);
}

/* Make room in the pid index for one more child. 0 or -ENOMEM. */
static int grow_slots(const pm_dat_t *d, caps_t *caps)
{
    size_t n = caps->nslots == 0 ? 64 : caps->nslots * 2;
    size_t *slots;

    if ((d->nchildren + 1) * 2 <= caps->nslots) {
        return 0;
    }
    if (n > SIZE_MAX / sizeof(*slots)) {
        return -ENOMEM;
    }
    slots = calloc(n, sizeof(*slots));
    if (slots == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < d->nchildren; i++) {
        size_t h = pid_slot(d->children[i].pid, n);
        while (slots[h] != 0) {
            h = (h + 1) & (n - 1);
        }
        slots[h] = i + 1;
    }
    free(caps->slots);
    caps->slots = slots;
    caps->nslots = n;
    return 0;
}

static int add_point(pm_dat_point_t **points, size_t *n, size_t *cap,
                     double mib, double t)
{
    void *items = *points;
    int rc = grow(&items, *n, cap, sizeof(**points));

    *points = items;
    if (rc < 0) {
        return rc;
    }
    (*points)[(*n)++] = (pm_dat_point_t){.mib = mib, .t = t};
    return 0;
}

/* Index of the child with this pid, added (in order of first appearance,
 * as mprof's defaultdict keeps them) when new; *rc is -ENOMEM when it
 * could not be added. One hash lookup per CHLD record. */
static size_t find_child(pm_dat_t *d, caps_t *caps, int pid, int *rc)
{
    void *items;
    size_t old_cap, h;

    *rc = 0;
    if (caps->last_child < d->nchildren &&
        d->children[caps->last_child].pid == pid) {
        return caps->last_child;
    }
    if ((*rc = grow_slots(d, caps)) < 0) {
        return 0;
    }
    for (h = pid_slot(pid, caps->nslots); caps->slots[h] != 0;
         h = (h + 1) & (caps->nslots - 1)) {
        if (d->children[caps->slots[h] - 1].pid == pid) {
            caps->last_child = caps->slots[h] - 1;
            return caps->last_child;
        }
    }
    items = d->children;
    old_cap = caps->children_cap;
    *rc =
        grow(&items, d->nchildren, &caps->children_cap, sizeof(*d->children));
    d->children = items;
    if (*rc < 0) {
        return 0;
    }
    if (caps->children_cap != old_cap) {
        size_t *p = realloc(caps->child_caps,
                            caps->children_cap * sizeof(*caps->child_caps));
        if (p == NULL) {
            caps->children_cap = old_cap; /* children stays big enough */
            *rc = -ENOMEM;
            return 0;
        }
        caps->child_caps = p;
    }
    d->children[d->nchildren] = (pm_dat_child_t){.pid = pid};
    caps->child_caps[d->nchildren] = 0;
    caps->slots[h] = d->nchildren + 1;
    caps->last_child = d->nchildren;
    return d->nchildren++;
}

/* Shown in messages: at most 40 bytes of a field, whole UTF-8
 * characters, control characters and broken UTF-8 as \xNN (a message
 * reaches a terminal: no escape sequence from a crafted file may). */
#define SHOWN_MAX 40
#define SHOWN_LEN (4 * SHOWN_MAX + 1)
#define FIELD_FMT "\"%s\""
#define FIELD_ARG(f) shown((f), sb)

static const char *shown(span_t f, char sb[SHOWN_LEN])
{
    pm_text_escape(sb, SHOWN_LEN, f.s, f.len, SHOWN_MAX);
    return sb;
}

/* A known record's value (after "TYPE "): 0, PM_EBADMSG with the message
 * (without its "line N: " prefix) in msg, or -ENOMEM. */
static int parse_record(pm_dat_t *d, caps_t *caps, span_t type, span_t value,
                        char *msg, size_t msglen)
{
    span_t f[MAX_FIELDS];
    char sb[SHOWN_LEN];
    size_t n;
    double v[4];
    int pid, level = 0, rc;

    if (type.len == 7 && memcmp(type.s, "CMDLINE", 7) == 0) {
        char *cmdline = dup_span(value); /* mprof: the last one wins */
        if (cmdline == NULL) {
            return -ENOMEM;
        }
        free(d->cmdline);
        d->cmdline = cmdline;
        return 0;
    }
    n = split_fields(value, f);
    if (type.len == 3 && memcmp(type.s, "MEM", 3) == 0) {
        if (n < 2) {
            set_err(msg, msglen, "MEM needs 2 fields (MiB, time), got %zu", n);
            return PM_EBADMSG;
        }
        if (parse_double(f[0], &v[0]) < 0) {
            set_err(msg, msglen, "MEM MiB " FIELD_FMT " is not a number",
                    FIELD_ARG(f[0]));
            return PM_EBADMSG;
        }
        if (parse_double(f[1], &v[1]) < 0) {
            set_err(msg, msglen, "MEM time " FIELD_FMT " is not a number",
                    FIELD_ARG(f[1]));
            return PM_EBADMSG;
        }
        return add_point(&d->mem, &d->nmem, &caps->mem_cap, v[0], v[1]);
    }
    if (type.len == 4 && memcmp(type.s, "CHLD", 4) == 0) {
        size_t i;
        if (n < 3) {
            set_err(msg, msglen,
                    "CHLD needs 3 fields (pid, MiB, time), got %zu", n);
            return PM_EBADMSG;
        }
        if (parse_int(f[0], &pid) < 0) {
            set_err(msg, msglen, "CHLD pid " FIELD_FMT " is not an integer",
                    FIELD_ARG(f[0]));
            return PM_EBADMSG;
        }
        if (parse_double(f[1], &v[0]) < 0) {
            set_err(msg, msglen, "CHLD MiB " FIELD_FMT " is not a number",
                    FIELD_ARG(f[1]));
            return PM_EBADMSG;
        }
        if (parse_double(f[2], &v[1]) < 0) {
            set_err(msg, msglen, "CHLD time " FIELD_FMT " is not a number",
                    FIELD_ARG(f[2]));
            return PM_EBADMSG;
        }
        i = find_child(d, caps, pid, &rc);
        if (rc < 0) {
            return rc;
        }
        return add_point(&d->children[i].points, &d->children[i].n,
                         &caps->child_caps[i], v[0], v[1]);
    }
    if (type.len == 4 && memcmp(type.s, "FUNC", 4) == 0) {
        static const char *const what[4] = {"MiB start", "start time",
                                            "MiB end", "end time"};
        void *items;
        char *name;
        if (n < 5) {
            set_err(msg, msglen,
                    "FUNC needs 5 fields (name, MiB, time, MiB, time), "
                    "got %zu",
                    n);
            return PM_EBADMSG;
        }
        for (size_t i = 0; i < 4; i++) {
            if (parse_double(f[i + 1], &v[i]) < 0) {
                set_err(msg, msglen, "FUNC %s " FIELD_FMT " is not a number",
                        what[i], FIELD_ARG(f[i + 1]));
                return PM_EBADMSG;
            }
        }
        if (n >= 6 && parse_int(f[5], &level) < 0) {
            set_err(msg, msglen, "FUNC level " FIELD_FMT " is not an integer",
                    FIELD_ARG(f[5]));
            return PM_EBADMSG;
        }
        items = d->funcs;
        rc = grow(&items, d->nfuncs, &caps->funcs_cap, sizeof(*d->funcs));
        d->funcs = items;
        if (rc < 0) {
            return rc;
        }
        name = dup_span(f[0]); /* as mprof keys it: unstripped */
        if (name == NULL) {
            return -ENOMEM;
        }
        d->funcs[d->nfuncs++] = (pm_dat_func_t){
            .name = name,
            .start_mib = v[0],
            .start_t = v[1],
            .end_mib = v[2],
            .end_t = v[3],
            .level = level,
        };
        return 0;
    }
    return 0; /* another record type: mprof skips it */
}

/* The next line of *text (up to end) as Python's text files split them
 * (universal newlines: \n, \r\n or \r end a line). Returns 0 at the end
 * of the text, else 1 with the line, which is empty only when a
 * terminator ends it. */
static int next_line(const char **text, const char *end, span_t *line)
{
    const char *s = *text;
    size_t len = 0;

    if (s == end) {
        return 0;
    }
    while (s + len < end && s[len] != '\n' && s[len] != '\r') {
        len++;
    }
    *line = (span_t){s, len};
    s += len;
    if (s + 1 < end && s[0] == '\r' && s[1] == '\n') {
        s += 2;
    } else if (s < end) {
        s++;
    }
    *text = s;
    return 1;
}

int pm_dat_parse(const char *text, pm_dat_t *out, char *err, size_t errlen)
{
    return pm_dat_parse_len(text, text != NULL ? strlen(text) : 0, out, err,
                            errlen);
}

int pm_dat_parse_len(const char *text, size_t len, pm_dat_t *out, char *err,
                     size_t errlen)
{
    caps_t caps = {0};
    span_t line;
    size_t lineno = 0;
    int rc = 0;
    char msg[256], sb[SHOWN_LEN];
    const char *end;

    if (out == NULL) {
        set_err(err, errlen, "no output");
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (text == NULL) {
        text = "";
        len = 0;
    }
    end = text + len;
    set_err(err, errlen, "%s", "");
    while (next_line(&text, end, &line)) {
        const char *space, *nul;
        span_t type, value;

        lineno++;
        nul = memchr(line.s, '\0', line.len);
        if (nul != NULL) {
            /* mprof's float() and int() refuse it too; C strings would
             * end there and count the fields wrong */
            set_err(err, errlen,
                    "line %zu: NUL byte at column %zu (a .dat file is text)",
                    lineno, (size_t)(nul - line.s) + 1);
            rc = PM_EBADMSG;
            goto fail;
        }
        if (line.len == 0) {
            /* read_mprofile_file raises on a line that is only "\n" */
            set_err(err, errlen,
                    "line %zu: empty line (mprof refuses it: "
                    "\"Sampling time was too short\")",
                    lineno);
            rc = PM_EBADMSG;
            goto fail;
        }
        space = memchr(line.s, ' ', line.len);
        if (space == NULL) {
            /* mprof's l.split(' ', 1) cannot unpack such a line */
            set_err(err, errlen,
                    "line %zu: " FIELD_FMT " is not a record (no space after "
                    "its type)",
                    lineno, FIELD_ARG(line));
            rc = PM_EBADMSG;
            goto fail;
        }
        type = (span_t){line.s, (size_t)(space - line.s)};
        value = (span_t){space + 1, line.len - type.len - 1};
        rc = parse_record(out, &caps, type, value, msg, sizeof(msg));
        if (rc == PM_EBADMSG) {
            set_err(err, errlen, "line %zu: %s", lineno, msg);
            goto fail;
        }
        if (rc < 0) {
            set_err(err, errlen, "line %zu: out of memory", lineno);
            goto fail;
        }
    }
    if (out->nmem == 0) {
        set_err(err, errlen, "no MEM samples");
        rc = PM_EBADMSG;
        goto fail;
    }
    if (out->cmdline == NULL) {
        out->cmdline = dup_span((span_t){"", 0});
        if (out->cmdline == NULL) {
            set_err(err, errlen, "out of memory");
            rc = -ENOMEM;
            goto fail;
        }
    }
    free(caps.child_caps);
    free(caps.slots);
    return 0;

fail:
    free(caps.child_caps);
    free(caps.slots);
    pm_dat_close(out);
    return rc;
}

int pm_dat_read_fd(int fd, size_t max_bytes, char **text, size_t *len)
{
    struct stat st;
    size_t cap = 65536, n = 0;
    char *buf;

    *text = NULL;
    *len = 0;
    if (max_bytes > SIZE_MAX / 2) {
        max_bytes = SIZE_MAX / 2;
    }
    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    if (S_ISREG(st.st_mode)) {
        if ((uintmax_t)st.st_size > max_bytes) {
            return -EFBIG; /* refused before reading a byte */
        }
        cap = (size_t)st.st_size + 2; /* EOF seen without growing */
    }
    if (cap > max_bytes + 2) {
        cap = max_bytes + 2;
    }
    buf = malloc(cap);
    if (buf == NULL) {
        return -ENOMEM;
    }
    for (;;) {
        ssize_t got;

        if (n > max_bytes) {
            free(buf); /* a file growing, a pipe or a device: still capped */
            return -EFBIG;
        }
        if (n + 1 >= cap) {
            size_t bigger = cap > (max_bytes + 2) / 2 ? max_bytes + 2 : cap * 2;
            char *p = realloc(buf, bigger);
            if (p == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = p;
            cap = bigger;
        }
        got = read(fd, buf + n, cap - n - 1);
        if (got < 0) {
            int e = errno;
            if (e == EINTR) {
                continue;
            }
            free(buf);
            return -e;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

void pm_dat_close(pm_dat_t *d)
{
    if (d == NULL) {
        return;
    }
    free(d->cmdline);
    free(d->mem);
    for (size_t i = 0; i < d->nchildren; i++) {
        free(d->children[i].points);
    }
    free(d->children);
    for (size_t i = 0; i < d->nfuncs; i++) {
        free(d->funcs[i].name);
    }
    free(d->funcs);
    memset(d, 0, sizeof(*d));
}

/* snprintf in the "C" locale; the length, or PM_EBADMSG when the record
 * does not fit in len bytes with its NUL. */
static int format_c(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = pm_vfmt(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return PM_EBADMSG;
    }
    return n;
}

/* Copy text into buf after prefix, each character of bad replaced by rep,
 * then a newline. */
static int format_text(char *buf, size_t len, const char *prefix,
                       const char *text, const char *bad, char rep)
{
    size_t plen = strlen(prefix), tlen;

    if (text == NULL) {
        text = "";
    }
    tlen = strlen(text);
    if (tlen > (size_t)INT_MAX - plen - 2 || plen + tlen + 2 > len) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return PM_EBADMSG;
    }
    memcpy(buf, prefix, plen);
    for (size_t i = 0; i < tlen; i++) {
        buf[plen + i] = strchr(bad, text[i]) != NULL ? rep : text[i];
    }
    buf[plen + tlen] = '\n';
    buf[plen + tlen + 1] = '\0';
    return (int)(plen + tlen + 1);
}

int pm_dat_format_cmdline(char *buf, size_t len, const char *cmdline)
{
    /* \r ends a line too when Python reads the file back */
    return format_text(buf, len, "CMDLINE ", cmdline, "\n\r", ' ');
}

int pm_dat_format_mem(char *buf, size_t len, double mib, double t)
{
    if (!isfinite(mib) || !isfinite(t)) {
        return PM_EBADMSG;
    }
    return format_c(buf, len, "MEM %.6f %.4f\n", mib, t);
}

int pm_dat_format_child(char *buf, size_t len, int pid, double mib, double t)
{
    if (!isfinite(mib) || !isfinite(t)) {
        return PM_EBADMSG;
    }
    return format_c(buf, len, "CHLD %d %.6f %.4f\n", pid, mib, t);
}

int pm_dat_format_func(char *buf, size_t len, const pm_dat_func_t *f)
{
    char numbers[160];
    int rc, nlen;

    if (!isfinite(f->start_mib) || !isfinite(f->start_t) ||
        !isfinite(f->end_mib) || !isfinite(f->end_t)) {
        return PM_EBADMSG;
    }
    nlen = format_c(numbers, sizeof(numbers), " %.4f %.4f %.4f %.4f %d",
                    f->start_mib, f->start_t, f->end_mib, f->end_t, f->level);
    if (nlen < 0) {
        return PM_EBADMSG; /* |values| beyond 1e150: not memory or time */
    }
    /* the name is one space-separated field: spaces would shift the
     * numbers mprof reads */
    rc = format_text(buf, len, "FUNC ", f->name, " \n\r", '_');
    if (rc < 0 || (size_t)rc + (size_t)nlen >= len) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return PM_EBADMSG;
    }
    memcpy(buf + rc - 1, numbers, (size_t)nlen); /* over the newline */
    buf[rc - 1 + nlen] = '\n';
    buf[rc + nlen] = '\0';
    return rc + nlen;
}

/* The value a child had in the sampling round [t, next_t) (last: no end),
 * 0 when it has no sample there (not started yet, or exited). Its
 * samples are in time order, as one sampling loop writes them. */
static double child_in_round(const pm_dat_child_t *ch, double t, double next_t,
                             int last)
{
    size_t lo = 0, hi = ch->n; /* first sample at or after next_t */

    if (last) {
        lo = ch->n;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ch->points[mid].t < next_t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0 || ch->points[lo - 1].t < t) {
        return 0.0;
    }
    return ch->points[lo - 1].mib;
}

double pm_dat_peak(const pm_dat_t *d, int with_children, double *at_t)
{
    double best = 0.0, best_t = 0.0;

    for (size_t i = 0; i < d->nmem; i++) {
        double sum = d->mem[i].mib, t = d->mem[i].t;
        int last = i + 1 == d->nmem;
        double next_t = last ? 0.0 : d->mem[i + 1].t;

        for (size_t c = 0; with_children && c < d->nchildren; c++) {
            sum += child_in_round(&d->children[c], t, next_t, last);
        }
        if (i == 0 || sum > best) {
            best = sum;
            best_t = t;
        }
    }
    if (at_t != NULL) {
        *at_t = best_t;
    }
    return best;
}
