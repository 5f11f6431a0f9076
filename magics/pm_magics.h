/* pm_magics: the plain-C part of the magics layer, shared by every magic
 * and tested without Python. By concern: the error codes and the one
 * message chain (errors.c), the option parser compatible with IPython's
 * parse_options (as memory_profiler uses it) and number and size parsing
 * with user-facing messages (options.c), and the live line of a running
 * %memit (live.c). One public header for the folder, as kernel/ and
 * protocol/ have; the sections keep the concerns apart. */
#ifndef PM_MAGICS_H
#define PM_MAGICS_H

#include <stddef.h>
#include <stdint.h>

#include "pm_kernel.h"
#include "pm_protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors (errors.c) ----------------------------------------------*/

/* Magics error codes (-1200..-1299). */
enum {
    PM_EUSAGE = -1201, /* a user mistake; the message says which */
};

/* Message for any pm_ return code: a magics code, a protocol code
 * (pm_protocol_strerror), a kernel code or a negative errno (pm_strerror).
 * The one chain every front end uses. Never NULL; static storage. */
const char *pm_magics_strerror(int rc);

/* 1 when rc is a negative errno (an OSError at the Python boundary), 0
 * for success and for project codes (-1000 and below). */
int pm_is_errno(int rc);

/* ---- options and values of a magic's line (options.c) ---------------*/

/* One option a magic accepts: -x (short_name), --name (long_name), or
 * both. takes_value: the option needs a value ("-r3", "-r 3",
 * "--limit=2GB", "--limit 2GB"); values may be quoted with ' or ".
 * PM_OPT_OPTIONAL_NUMBER (long options): a value is taken only when
 * attached ("--sites=3") or when the next word is all digits
 * ("--sites 3"); else the option gives "". */
#define PM_OPT_OPTIONAL_NUMBER 3
typedef struct {
    char short_name;       /* 0 when the option is long only */
    const char *long_name; /* NULL when the option is short only */
    int takes_value; /* 0, 1, or PM_OPT_OPTIONAL (long options only: a
                        value with "=", or a next word holding "://") */
} pm_optdef_t;

#define PM_OPT_OPTIONAL 2

#define PM_OPTS_MAX 32
#define PM_OPTS_BUF 4096

typedef struct {
    const pm_optdef_t *def;
    const char *value; /* into buf; "" for flags */
} pm_opt_t;

/* Parsed options, in the order given. rest points into the parsed line:
 * the statement after the options with leading blanks skipped and its
 * own spacing kept ("" when there is none). */
typedef struct {
    size_t n;
    pm_opt_t items[PM_OPTS_MAX];
    const char *rest;
    char buf[PM_OPTS_BUF];
} pm_opts_t;

/* Parse options at the start of line, getopt style: flags cluster
 * ("-qo"), a value may be attached or the next word, "--" ends the
 * options, and the first word not starting with '-' starts the statement.
 * defs ends with an all-zero entry. On a mistake returns PM_EUSAGE with a
 * one-line message in err (e.g. "unknown option -x"). */
int pm_opts_parse(const char *line, const pm_optdef_t *defs, pm_opts_t *out,
                  char *err, size_t errlen);

/* The last value given for the option named short_name (or long_name when
 * short_name is 0), or NULL when it was not given. Flags give "". */
const char *pm_opts_get(const pm_opts_t *opts, char short_name,
                        const char *long_name);

/* Parse a whole-string integer in [min, max]; on failure PM_EUSAGE and
 * err says e.g. "-r expects an integer >= 1, got 'x'" (what names the
 * option). */
int pm_parse_long(const char *text, long min, long max, const char *what,
                  long *out, char *err, size_t errlen);

/* Parse a finite number of seconds >= min (e.g. "0.5", "2", "1e-3"). */
int pm_parse_seconds(const char *text, double min, const char *what,
                     double *out, char *err, size_t errlen);

/* Parse a sampling interval: seconds > 0 and at most
 * PM_SAMPLER_MAX_INTERVAL_S (the sampler's own limit), e.g. "-i expects at
 * most 1000000 seconds, got '1e7'". */
int pm_parse_interval(const char *text, const char *what, double *out,
                      char *err, size_t errlen);

/* Parse a memory size with its unit: B, KiB/MiB/GiB/TiB (and K/M/G/T)
 * in powers of 1024, KB/MB/GB/TB in powers of 1000; the number may have
 * decimals ("1.5GiB"); units ignore case. On a mistake PM_EUSAGE with
 * "--limit expects a size like 500MiB or 2GB, got 'x'" in err. */
int pm_parse_size(const char *text, const char *what, uint64_t *out, char *err,
                  size_t errlen);

/* ---- the names a statement reads (names.c) ---------------------------*/

/* Called with each name (len bytes, not NUL-terminated) in order; a
 * nonzero return stops the scan and is returned by pm_names_scan. */
typedef int (*pm_name_fn)(const char *name, size_t len, void *ctx);

/* Call fn for each simple name (an ASCII identifier) that statement reads.
 * Not names: attributes (after "."), keyword arguments and assignment
 * targets (before a single "="), string literals and their prefixes,
 * comments, and the letters inside numbers (1e5, 0x1f). Repeats are
 * passed again. Returns 0 or fn's first nonzero return. */
int pm_names_scan(const char *statement, pm_name_fn fn, void *ctx);

/* ---- the live line of a running %memit (live.c) ----------------------*/

typedef struct pm_liveview pm_liveview_t;

typedef struct {
    pm_publisher_t *pub;     /* where to publish; the view takes its own
                                reference (pm_publisher_ref) */
    const char *parent_json; /* the cell's execute_request header (copied) */
    const char *statement;   /* copied */
    pm_sampler_t *sampler;   /* a recording sampler (borrowed: stop the view
                                before freeing the sampler) */
    double delay_s;          /* nothing is shown before; 0: PM_LIVE_DELAY_S */
    double period_s;         /* between updates, >= 0.1; 0: 0.3 s */
} pm_liveview_opts_t;

/* Start the live thread (pure C, no GIL). 0, -EINVAL (no pub or sampler),
 * -ENOMEM or PM_ETHREAD. */
int pm_liveview_start(const pm_liveview_opts_t *opts, pm_liveview_t **out);

/* Stop and join the thread; safe to call again and from two threads at
 * once (the magic's own stop, and unload's). Returns 1 and copies the
 * display_id (display_id may be NULL) when a live line was shown (the
 * final result must then update it), else 0. With stopped (the statement
 * failed), a shown line is updated once more to say "stopped after ...". */
int pm_liveview_stop(pm_liveview_t *lv, int stopped, char display_id[37]);

/* Stop (if still running), drop the view's publisher reference and free.
 * NULL is accepted. */
void pm_liveview_free(pm_liveview_t *lv);

#ifdef __cplusplus
}
#endif
#endif
