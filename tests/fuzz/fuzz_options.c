/* libFuzzer target for the magics' option parser (magics/options.c, plain
 * C): any line must parse or give a UsageError message that Python can
 * show (whole UTF-8, no control character, not empty); each value is then
 * fed to the number parsers the magics use. Built with clang and
 * ASan+UBSan by scripts/test.sh. */
#include "pm_magics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* an option without help: the parser reads only these fields */
#define OPT(s, l, v)                                                       \
    {.short_name = (s), .long_name = (l), .takes_value = (v)}

static const pm_optdef_t defs[] = {
    OPT('r', NULL, 1),   OPT('t', NULL, 1),   OPT('i', NULL, 1),
    OPT('c', NULL, 0),   OPT('o', NULL, 0),   OPT('q', NULL, 0),
    OPT(0, "limit", 1),  OPT(0, "strict", 0),
    OPT('f', NULL, 1),   OPT('T', NULL, 1),   OPT(0, "no-live", 0),
    OPT(0, NULL, 0),
};

static void check_message(const char *msg, size_t cap)
{
    char copy[512];
    size_t len = strlen(msg);

    if (len == 0 || len >= cap) {
        abort();
    }
    for (const unsigned char *s = (const unsigned char *)msg; *s; s++) {
        if (*s < 0x20 || *s == 0x7f) {
            abort();
        }
    }
    pm_text_escape(copy, sizeof copy, msg, len, len);
    if (strcmp(copy, msg) != 0) {
        abort(); /* broken UTF-8 left in the message */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pm_opts_t opts;
    char *line = malloc(size + 1), err[256];
    int rc;

    if (line == NULL) {
        return 0;
    }
    memcpy(line, data, size);
    line[size] = '\0'; /* a magic's line is a C string */
    rc = pm_opts_parse(line, defs, &opts, err, sizeof err);
    if (rc < 0) {
        if (rc != PM_EUSAGE) {
            abort();
        }
        check_message(err, sizeof err);
        free(line);
        return 0;
    }
    if (opts.n > PM_OPTS_MAX || opts.rest < line ||
        opts.rest > line + strlen(line)) {
        abort();
    }
    for (size_t i = 0; i < opts.n; i++) {
        const char *v = opts.items[i].value;
        long l;
        double d;
        uint64_t b;

        if (pm_parse_long(v, 1, 1000000, "-r", &l, err, sizeof err) < 0) {
            check_message(err, sizeof err);
        }
        if (pm_parse_seconds(v, 0, "-t", &d, err, sizeof err) < 0) {
            check_message(err, sizeof err);
        }
        if (pm_parse_interval(v, "-i", &d, err, sizeof err) < 0) {
            check_message(err, sizeof err);
        } else if (!(d > 0 && d <= PM_SAMPLER_MAX_INTERVAL_S)) {
            abort();
        }
        if (pm_parse_size(v, "--limit", &b, err, sizeof err) < 0) {
            check_message(err, sizeof err);
        }
    }
    free(line);
    return 0;
}
