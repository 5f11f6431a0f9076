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
 * ("--sites 3"); else the option gives "". The help fields feed the
 * docstring and README (help.c); the parser reads the first three. */
#define PM_OPT_OPTIONAL_NUMBER 3
typedef struct {
    char short_name;       /* 0 when the option is long only */
    const char *long_name; /* NULL when the option is short only */
    int takes_value; /* 0, 1, or PM_OPT_OPTIONAL (long options only: a
                        value with "=", or a next word holding "://") */
    const char *metavar; /* the value's name ("R", "SIZE"); NULL: a flag */
    const char *help;    /* what it does, one paragraph, plain text with
                            `code` in backticks (Markdown) */
    const char *example; /* one line of IPython input that uses it */
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

/* PEAKMEM_SITES_SAMPLE: the mean spacing of --sites' sample points, a
 * number of bytes from 1 to 2**40 (beyond, no small allocation would
 * ever be sampled), or 0 for every allocation exactly; trailing blanks
 * allowed. On a mistake PM_EUSAGE with the message in err. */
int pm_parse_sample_bytes(const char *text, double *out, char *err,
                          size_t errlen);

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

/* ---- the magics' options and help (help.c) ---------------------------*/

/* The options of %memit/%%memit and %mprun/%%mprun: the tables the parser
 * uses, ending with an all-zero entry. */
extern const pm_optdef_t pm_memit_options[];
extern const pm_optdef_t pm_mprun_options[];

/* Everything the help of one magic says; options is one of the tables. */
typedef struct {
    const char *name;       /* "memit" */
    const char *summary;    /* one sentence */
    const char *usage_line; /* "%memit [-r R] ... statement" */
    const char *usage_cell; /* "%%memit ...\n<cell body: ...>" */
    const char *details;    /* a paragraph after the usage */
    const char *output;     /* what it shows */
    const pm_optdef_t *options;
} pm_magic_help_t;

extern const pm_magic_help_t pm_memit_help;
extern const pm_magic_help_t pm_mprun_help;

/* The help of the magic called name ("memit", "mprun"), or NULL. */
const pm_magic_help_t *pm_help_find(const char *name);

/* "-r R", "-c", "--limit SIZE": the option as help shows it. */
void pm_help_label(const pm_optdef_t *def, char *buf, size_t len);

/* The magic's docstring (what %memit? shows): summary, usage in line and
 * cell mode, details, each option with its meaning (filled to 76
 * columns) and example, output. Caller frees; NULL on ENOMEM. */
char *pm_help_docstring(const pm_magic_help_t *h);

/* README's usage block: a fenced code block of usage_line and
 * usage_cell. Caller frees; NULL on ENOMEM. */
char *pm_help_markdown_usage(const pm_magic_help_t *h);

/* README's option table: "| option | meaning | example |", one row per
 * option ('|' in a cell escaped). Caller frees; NULL on ENOMEM. */
char *pm_help_markdown_options(const pm_magic_help_t *h);

/* ---- one updating line on a terminal (ttyline.c) ---------------------*/

/* A line that is drawn again and again in place on a terminal (fd; the
 * caller checks isatty), for the live line of terminal IPython. Shared by
 * reference count between the live thread and the stand-ins of
 * sys.stdout/sys.stderr; every call is thread-safe (an internal lock
 * that also orders the writes). */
typedef struct pm_ttyline pm_ttyline_t;

/* A line on fd, width columns (0: the terminal's width at each draw, 80
 * when unknown). Reference count 1. 0 or -ENOMEM. */
int pm_ttyline_new(int fd, int width, pm_ttyline_t **out);
pm_ttyline_t *pm_ttyline_ref(pm_ttyline_t *t);
/* Drop a reference; the last frees (without touching the terminal). */
void pm_ttyline_unref(pm_ttyline_t *t);

/* The columns a drawn text may take: the width less one (some terminals
 * wrap on writing the last column). */
size_t pm_ttyline_room(pm_ttyline_t *t);

/* Show text (its first line, cut to width - 1 columns; a UTF-8 character
 * counts one) in place of the line shown: "\r", text, spaces over the rest
 * of the previous one. Nothing while paused, while other output left the
 * cursor in the middle of a line, or after close. 1 when drawn, else 0. */
int pm_ttyline_draw(pm_ttyline_t *t, const char *text);

/* Before other output to the terminal: wipe the line if shown ("\r",
 * spaces, "\r") and draw nothing until the matching resume. Nests. */
void pm_ttyline_pause(pm_ttyline_t *t);

/* After that output: at_line_start is 1 when it ended with a newline, 0
 * when it left the cursor mid-line (no drawing until a later output ends
 * the line), -1 when it wrote nothing (unchanged). */
void pm_ttyline_resume(pm_ttyline_t *t, int at_line_start);

/* Wipe the line if shown and draw nothing more. 1 when a line was on the
 * screen, else 0. */
int pm_ttyline_close(pm_ttyline_t *t);

/* ---- the live line of a running %memit (live.c) ----------------------*/

typedef struct pm_liveview pm_liveview_t;

/* A live view's sender in place of a publisher: called by the live thread
 * (and by pm_liveview_stop's caller) with each message; returns 0 when it
 * went out. It is never called after pm_liveview_stop returns. */
typedef int (*pm_live_send_fn)(void *arg, const char *msg_type,
                               json_t *content);

typedef struct {
    pm_publisher_t *pub;     /* where to publish; the view takes its own
                                reference (pm_publisher_ref); NULL with
                                tty or send */
    pm_ttyline_t *tty;       /* or draw the text line here (terminal
                                IPython); the view takes a reference */
    pm_live_send_fn send;    /* or (pub and tty NULL) the sender, with
                                send_arg */
    void *send_arg;          /* borrowed: outlives the view's stop */
    const char *parent_json; /* the cell's execute_request header (copied) */
    const char *statement;   /* copied */
    pm_sampler_t *sampler;   /* a recording sampler (borrowed: stop the view
                                before freeing the sampler) */
    double delay_s;          /* nothing is shown before; 0: PM_LIVE_DELAY_S */
    double period_s;         /* between updates, >= 0.1; 0: 0.3 s */
} pm_liveview_opts_t;

/* Start the live thread (pure C, no GIL of its own: a sender may take
 * it). 0, -EINVAL (no pub, tty nor send, or no sampler), -ENOMEM or
 * PM_ETHREAD. */
int pm_liveview_start(const pm_liveview_opts_t *opts, pm_liveview_t **out);

/* Stop and join the thread; safe to call again and from two threads at
 * once (the magic's own stop, and unload's). Returns 1 and copies the
 * display_id (display_id may be NULL) when a live line was shown (the
 * final result must then update it), else 0. With stopped (the statement
 * failed), a shown line is updated once more to say "stopped after ...".
 * A terminal line (tty) is wiped instead, and 0 returned: the result is
 * printed after it as usual. */
int pm_liveview_stop(pm_liveview_t *lv, int stopped, char display_id[37]);

/* Stop (if still running), drop the view's publisher reference and free.
 * NULL is accepted. */
void pm_liveview_free(pm_liveview_t *lv);

#ifdef __cplusplus
}
#endif
#endif
