/* pm_protocol: everything that leaves the process. A measurement result
 * becomes a versioned JSON document (jansson), a mime bundle (text/plain in
 * memory_profiler's format, text/html, application/vnd.peakmem.*+json), and
 * a signed Jupyter wire message sent with libzmq by a publisher that any
 * thread may use, with or without the GIL. No Python here. */
#ifndef PM_PROTOCOL_H
#define PM_PROTOCOL_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Protocol error codes (-1100..-1199). */
enum {
    PM_ENOMEM_JSON = -1101,   /* jansson could not build or dump a value */
    PM_ESIGN = -1102,         /* HMAC computation failed */
    PM_EZMQ = -1103,          /* a libzmq call failed */
    PM_ETIMEDOUT_PUB = -1104, /* message not delivered/seen in time */
    PM_EFORKED = -1105,       /* publisher used in a forked child */
    PM_EBADMSG = -1106,       /* malformed input (frames, parent header) */
};

/* Message for a protocol code, or NULL when rc is not one (then it is a
 * negative errno or another library's code). Static storage. */
const char *pm_protocol_strerror(int rc);

/* Schema version of the JSON documents ("version" field). */
#define PM_SCHEMA_VERSION 1
#define PM_MIME_MEMIT "application/vnd.peakmem.memit+json"

/* One sample of a timeline: the memit result's and the SVG renderers'. */
typedef struct pm_svg_point {
    double t;   /* seconds from the start */
    double mib; /* MiB */
} pm_svg_point_t;

/* A simple name of the statement and the repr of its value when the
 * measurement began (an int, float or short str of the user namespace),
 * so that results of one statement in a loop can be told apart. */
typedef struct {
    const char *name;
    const char *value;
} pm_memit_name_t;

/* Schema version of the "peakmem.memit" document: 2 added the
 * allocation-tracking fields of --sites. */
#define PM_SCHEMA_VERSION_MEMIT 2

/* One site of `%memit --sites`: where the memory held at the allocation
 * peak was asked for. Strings borrowed, UTF-8. */
typedef struct {
    const char *where;  /* "In [12] line 3" or "path/file.py:40" */
    const char *source; /* that line's text, stripped ("" unknown) */
    /* for a site in a library, the innermost frame of the user's own code
     * that led there; NULL when none */
    const char *via_where;
    const char *via_source;
    /* the measured statement's line that led there, when neither of the
     * above; NULL when none */
    const char *stmt_where;
    const char *stmt_source;
    uint64_t bytes; /* held at the allocation peak (sampled estimate) */
} pm_memit_site_t;
/* One descendant process of a -c measurement and its exact peak (its
 * VmHWM, reset at the start or counted from its birth). */
typedef struct {
    int pid;
    int ppid;            /* its parent when first seen; 0: unknown */
    const char *command; /* command line, cut */
    uint64_t peak_bytes;
    int exited; /* gone before the end: its mark at the last read */
} pm_memit_child_t;

/* A %memit result as plain C. Strings are borrowed, UTF-8. */
typedef struct {
    const char *statement;   /* the measured code (cell body in cell mode) */
    const char *setup;       /* cell mode's magic line; NULL or "" if none */
    int repeat;              /* repeats asked for (-r) */
    double timeout_s;        /* -t; 0 when none */
    double interval_s;       /* -i */
    int include_children;    /* -c */
    const char *method;      /* "hwm", "sampled" or "hwm+sampled" */
    uint64_t baseline_bytes; /* RSS before the first repeat (after gc) */
    size_t n;                /* repeats completed; arrays hold n items */
    const uint64_t *peak_bytes; /* highest RSS during each repeat */
    const double *wall_s;       /* wall time of each repeat, seconds */
    /* RSS over the whole run (t in s from the first repeat's start, MiB),
     * drawn as an inline SVG in text/html; NULL/0 when not recorded. */
    const pm_svg_point_t *timeline;
    size_t ntimeline;
    uint64_t limit_bytes;        /* --limit; 0: none */
    uint64_t cgroup_limit_bytes; /* memory.max of our cgroup; 0: none */
    const char *display_id; /* transient.display_id of the bundle, or NULL */
    const pm_memit_name_t *names; /* nnames of them, in statement order */
    size_t nnames;
    /* --sites: allocation tracking over all repeats. sites_on 0: none of
     * this is shown and the JSON fields are null. */
    int sites_on;
    uint64_t allocated_peak_bytes; /* tracked bytes held at their peak */
    const pm_memit_site_t *sites;  /* the nsites holding most, largest
                                      first */
    size_t nsites;
    uint64_t sample_bytes; /* mean sampling spacing (0: all exact) */
    const char *sites_note; /* what was not tracked, or NULL */
    /* -c with the exact path: the descendants of the repeat whose sum of
     * peaks was highest, and that sum (own exact peak + each child's
     * peak: an exact upper bound of the total); peak_bytes then holds
     * the peak of the sum, sampled every interval_s. */
    const pm_memit_child_t *children;
    size_t nchildren;
    uint64_t sum_of_peaks_bytes; /* 0: no exact children path */
    uint64_t own_peak_bytes;     /* -c: this process's own highest peak
                                    (what --sites tracked lives there);
                                    0: not measured apart */
    /* --dask: one object per worker, then the scheduler (keys in
     * protocol/SCHEMA.md, "workers"), borrowed; NULL without --dask. */
    const json_t *workers;
} pm_memit_t;

/* RSS increment not explained by tracked allocations: the highest
 * increment (of this process alone where own_peak_bytes is known: the
 * children's memory is theirs, not untracked) minus
 * allocated_peak_bytes, at least 0. */
uint64_t pm_memit_untracked(const pm_memit_t *m);

/* memory_profiler's line, then with --sites the allocation peak, the
 * untracked part and one or two lines per site, no final newline: the
 * text/plain form. Caller frees. NULL on ENOMEM. */
char *pm_memit_render_text_full(const pm_memit_t *m);

/* 1 when a --limit was given and the peak is above it. */
int pm_memit_over_limit(const pm_memit_t *m);

/* Highest of m->peak_bytes (baseline if n == 0). */
uint64_t pm_memit_peak(const pm_memit_t *m);

/* The JSON document (schema in protocol/SCHEMA.md). New reference, NULL on
 * allocation failure. */
json_t *pm_memit_to_json(const pm_memit_t *m);

/* "peak memory: X MiB, increment: Y MiB" (MiB = 2^20 bytes, two
 * decimals), no newline. Caller frees with free(). NULL on ENOMEM. */
char *pm_memit_render_text(const pm_memit_t *m);

/* The HTML result (everything escaped, no script): under PM_LIVE_DELAY_S
 * of wall time and without --limit one two-line block of the numbers;
 * otherwise the statement as a <pre> (cut at 4 lines of 120 characters)
 * and a table. Then the timeline chart when it has something to show (a
 * rise of max(1 MiB, 1% of the baseline) sampled, or --limit). Caller
 * frees with free(); NULL on ENOMEM. */
char *pm_memit_render_html(const pm_memit_t *m);

/* The display_data content {"data": {text/plain, text/html, mime+json},
 * "metadata": {}, "transient": {}}. New reference or NULL. */
json_t *pm_memit_bundle(const pm_memit_t *m);

/* Text as a terminal may show it (escape.c): copy at most max_in of the
 * len bytes of text into out (outlen > 0; always NUL-terminated), with
 * control characters (C0, DEL, C1) and bytes that are not valid UTF-8 as
 * \xNN; valid UTF-8 is copied whole, never cut in the middle of a
 * character (by max_in or by outlen). Returns the input bytes consumed:
 * less than min(len, max_in) when out was too small. */
size_t pm_text_escape(char *out, size_t outlen, const char *text, size_t len,
                      size_t max_in);

/* The longest prefix of text's len bytes that does not end in the middle
 * of a UTF-8 character: where to cut a message made too long. */
size_t pm_utf8_boundary(const char *text, size_t len);

/* ---- %mprun line profiles -------------------------------------------*/

#define PM_MIME_MPRUN "application/vnd.peakmem.mprun+json"

/* One source line of a profiled function. Strings here and in the types
 * below are borrowed, UTF-8. */
typedef struct {
    int lineno;
    const char *source;      /* the line's text, no newline ("" if unknown) */
    uint64_t occurrences;    /* 0: never ran (numbers shown blank) */
    uint64_t mem_bytes;      /* Mem usage: highest RSS after the line */
    int64_t increment_bytes; /* Increment: own RSS change, summed */
    uint64_t peak_bytes;     /* Peak: highest RSS while it ran */
} pm_mprun_line_t;

/* One function's table (memory_profiler prints one block per function
 * that ran). */
typedef struct {
    const char *filename; /* as shown on the "Filename: " line */
    const char *function; /* qualified name, for JSON and HTML */
    int first_line;
    size_t nlines;
    const pm_mprun_line_t *lines;
} pm_mprun_block_t;

typedef struct {
    const char *statement; /* what was run */
    /* decimals of MiB figures (memory_profiler: 1); below 0 is shown as
     * 0, above 64 as 64 (the JSON keeps the value given) */
    int precision;
    int show_peak;        /* add the Peak column (--peak) */
    int include_children; /* -c */
    /* memory_profiler's "*** KeyboardInterrupt exception caught in code
     * being profiled." (or SystemExit); NULL when the run completed. */
    const char *message;
    size_t nblocks;
    const pm_mprun_block_t *blocks;
} pm_mprun_t;

/* memory_profiler 0.61's show_results text for all blocks, then
 * right-stripped as its %mprun does (no final newline). With show_peak a
 * "Peak" column follows "Increment". Caller frees. NULL on ENOMEM. */
char *pm_mprun_render_text(const pm_mprun_t *m);

/* An HTML table per block; lines whose |increment| or peak - mem is at
 * least 1 MiB (or >= 10% of the block's largest) are highlighted.
 * Caller frees. */
char *pm_mprun_render_html(const pm_mprun_t *m);

/* JSON document, schema "peakmem.mprun" (protocol/SCHEMA.md). New
 * reference or NULL. */
json_t *pm_mprun_to_json(const pm_mprun_t *m);

/* display_data content with text/plain, text/html and PM_MIME_MPRUN. */
json_t *pm_mprun_bundle(const pm_mprun_t *m);

/* ---- mprof .dat files ------------------------------------------------*/

/* memory_profiler's mprof data format, one record per line:
 *   CMDLINE <command line>
 *   MEM <MiB %.6f> <unix time %.4f>
 *   CHLD <pid> <MiB %.6f> <unix time %.4f>
 *   FUNC <name> <MiB start %.4f> <t start %.4f> <MiB end %.4f>
 *        <t end %.4f> <level>
 * so that mprof reads our files and we read its. */
typedef struct {
    double mib;
    double t; /* unix time, seconds */
} pm_dat_point_t;

typedef struct {
    int pid;
    pm_dat_point_t *points;
    size_t n;
} pm_dat_child_t;

typedef struct {
    char *name;
    double start_mib, start_t, end_mib, end_t;
    int level; /* stack level; 0 when the record has none */
} pm_dat_func_t;

typedef struct {
    char *cmdline; /* "" when there is no CMDLINE line */
    pm_dat_point_t *mem;
    size_t nmem;
    pm_dat_child_t *children;
    size_t nchildren;
    pm_dat_func_t *funcs;
    size_t nfuncs;
} pm_dat_t;

/* Parse a whole .dat text. Unknown record types are skipped (as mprof
 * does); a known record with bad fields is PM_EBADMSG with "line N: ..."
 * in err. A text without any MEM record is PM_EBADMSG "no MEM samples".
 * As tolerant as mprof's read_mprofile_file and no more: lines end with
 * \n, \r\n or \r; the type ends at the first space and fields are split
 * at single spaces; fields past those a record uses are ignored; numbers
 * may have whitespace around them. Refused like mprof refuses them: an
 * empty line, a line without a space, missing fields. Stricter: numbers
 * must be finite decimals, CHLD pids integers (mprof keys children by the
 * pid's text). CMDLINE: the last one, without its line end. On success
 * the caller closes out with pm_dat_close; on failure out holds nothing.
 * err (may be NULL) gets a message either way ("" on success). */
int pm_dat_parse(const char *text, pm_dat_t *out, char *err, size_t errlen);
/* pm_dat_parse of len bytes: a NUL byte among them is PM_EBADMSG "line N:
 * NUL byte at column C (a .dat file is text)". CHLD records cost one hash
 * lookup each, whatever the number of pids. */
int pm_dat_parse_len(const char *text, size_t len, pm_dat_t *out, char *err,
                     size_t errlen);

/* Most bytes of .dat text peakmem reads: 1 GiB, some 30 million samples
 * (over a month at mprof's 0.1 s). */
#define PM_DAT_MAX_BYTES ((size_t)1 << 30)

/* Read all of fd (a .dat file, or a pipe) into *text, NUL-terminated,
 * with its length in *len; the caller frees *text. Returns 0, -EFBIG when
 * it holds more than max_bytes (a regular file is refused from its size,
 * before any read), -ENOMEM or -errno; on failure *text is NULL. Reads at
 * most max_bytes + 1 bytes whatever fd is (a device never ends). */
int pm_dat_read_fd(int fd, size_t max_bytes, char **text, size_t *len);
/* Free what pm_dat_parse allocated and zero d. NULL or zeroed d ok. */
void pm_dat_close(pm_dat_t *d);

/* Format one record (with its newline) into buf, numbers in the "C"
 * locale whatever LC_NUMERIC says; returns the length or PM_EBADMSG when
 * it does not fit or a number is not finite. Command lines keep their
 * text (\n and \r replaced by spaces); FUNC names too, with spaces, \n
 * and \r replaced by '_' (a name is one space-separated field). */
int pm_dat_format_cmdline(char *buf, size_t len, const char *cmdline);
int pm_dat_format_mem(char *buf, size_t len, double mib, double t);
int pm_dat_format_child(char *buf, size_t len, int pid, double mib, double t);
int pm_dat_format_func(char *buf, size_t len, const pm_dat_func_t *f);

/* Highest MEM value (MiB) and its time (the first if several; at_t may be
 * NULL). With children, the highest sum of a MEM value and the values its
 * children had in the same sampling round: mprof writes a round's CHLD
 * records just after its MEM, so a child's value is its latest sample
 * from that MEM's time up to the next MEM's (none: 0, the child had not
 * started or had exited). 0 and time 0 when d has no MEM sample. */
double pm_dat_peak(const pm_dat_t *d, int with_children, double *at_t);

/* ---- SVG timelines -----------------------------------------------------*/

typedef struct {
    const char *name;
    double start_t, end_t; /* seconds from the start */
    int level;             /* call depth (FUNC's level); used by flame */
} pm_svg_span_t;

typedef struct {
    const char *label; /* legend text, e.g. "main" or "child 4242" */
    const pm_svg_point_t *points;
    size_t n;
} pm_svg_series_t;

typedef struct {
    const char *title;             /* drawn on top; escaped */
    int width, height;             /* pixels; 0: 720 x 360 */
    const pm_svg_series_t *series; /* first one is the main line */
    size_t nseries;
    const pm_svg_span_t *spans; /* function spans (FUNC), shaded */
    size_t nspans;
    int mark_peak;    /* mark and label the main series' peak */
    /* > 0: the exact peak (MiB) of the main series, measured apart from
     * its samples: samples above it are drawn at it, and the marked peak
     * is this value, at the time of the highest sample */
    double peak_mib;
    double limit_mib; /* > 0: a dashed horizontal line (limit) */
    /* > 0: RSS before the run (MiB), a dashed grey line; the memory axis
     * then shows the rise (from a little below the lowest of baseline and
     * samples, at least max(1 MiB, 1% of baseline) tall), not 0 up */
    double baseline_mib;
    /* > 0: the time axis runs at least to here (seconds), e.g. the
     * statement's own time when no sample came near its end */
    double t_end;
    /* spans as a flame graph (mprof plot --flame): one bar per call,
     * stacked by level from the bottom of the plot, instead of bands */
    int flame;
} pm_svg_opts_t;

/* A self-contained SVG document (no scripts, no external resources):
 * axes with ticks and labels ("time (s)", "memory (MiB)"), the title,
 * one polyline per series, the peak marked with its value, function
 * spans shaded with their names. Empty and single-point series draw
 * axes (and the point). Caller frees. NULL on ENOMEM. */
char *pm_svg_timeline(const pm_svg_opts_t *opts);

/* ---- live progress of a running %memit ------------------------------*/

#define PM_MIME_LIVE "application/vnd.peakmem.live+json"

/* The live line shows up after this long (seconds); a %memit that ran
 * for less gets the compact result. */
#define PM_LIVE_DELAY_S 0.5

typedef struct {
    const char *statement;
    double elapsed_s;
    uint64_t rss_bytes;           /* now */
    uint64_t peak_bytes;          /* highest so far */
    /* RSS before the statement; 0: unknown (the lowest recent stands in).
     * The sparkline spans at least max(1 MiB, 1% of it). */
    uint64_t baseline_bytes;
    const pm_svg_point_t *recent; /* the last samples, for the sparkline */
    size_t nrecent;
    int stopped; /* the statement ended without a result (an exception) */
} pm_live_t;

/* "running 3.2 s · now 812.3 MiB · peak 900.1 MiB ▁▂▃▅▇█" (the sparkline
 * of recent in Unicode blocks, at most 40 wide; "stopped after 3.2 s"
 * when stopped). Caller frees. */
char *pm_live_render_text(const pm_live_t *l);

/* display_data / update_display_data content for the live line:
 * text/plain, text/html (with a small SVG sparkline) and PM_MIME_LIVE,
 * transient.display_id = display_id. New reference or NULL. */
json_t *pm_live_bundle(const pm_live_t *l, const char *display_id);

/* ---- signing -----------------------------------------------------------*/

typedef struct {
    const void *data;
    size_t len;
} pm_buf_t;

/* HMAC-SHA256 (OpenSSL libcrypto) of the concatenation of parts, as 64
 * lowercase hex digits plus NUL in out. With keylen == 0, out is "" (an
 * unsigned session, as jupyter_client does). Returns 0 or PM_ESIGN. */
int pm_msg_sign(const void *key, size_t keylen, const pm_buf_t *parts,
                size_t nparts, char out[65]);

/* ---- wire messages -----------------------------------------------------*/

/* A random UUID4 string (36 chars + NUL). */
void pm_uuid4(char out[37]);

/* ISO 8601 UTC time with microseconds and "Z" (27 chars + NUL). */
void pm_iso_now(char out[32]);

/* Identity of the sending kernel session. Strings are copied by
 * pm_publisher_new. */
typedef struct {
    const void *key; /* HMAC key (may be empty) */
    size_t keylen;
    const char *session_id; /* the kernel's session.session */
    const char *username;   /* the kernel's session.username */
} pm_session_t;

/* One serialized Jupyter message: the four JSON parts as compact UTF-8 and
 * its signature. Owned by the caller: pm_wire_msg_close frees the parts. */
typedef struct {
    char *header, *parent, *metadata, *content;
    char signature[65];
    char msg_id[37];
} pm_wire_msg_t;

/* Build and sign a message of msg_type: header {msg_id, msg_type, username,
 * session, date, version "5.3"}, parent_header given as JSON text (NULL or
 * "" for {}), metadata {}, content (borrowed). Returns 0 or a negative
 * code; on failure nothing needs closing. */
int pm_wire_msg_init(pm_wire_msg_t *msg, const pm_session_t *session,
                     const char *msg_type, const char *parent_json,
                     json_t *content);
void pm_wire_msg_close(pm_wire_msg_t *msg);

/* Frames as the kernel's IOPub pipe expects them: [pipe_uuid (omitted
 * when uuid_len == 0), topic (NULL: "peakmem.display"), "<IDS|MSG>",
 * signature, header, parent, metadata, content]. Fills up to max frames
 * (8 with a uuid, 7 without); returns the count or PM_EBADMSG if max is
 * too small. Frames borrow msg's storage. */
int pm_wire_frames(const pm_wire_msg_t *msg, const void *pipe_uuid,
                   size_t uuid_len, const char *topic, pm_buf_t *frames,
                   size_t max);

/* ---- publisher ---------------------------------------------------------*/

typedef struct pm_publisher pm_publisher_t;

typedef struct {
    pm_session_t session;
    const char *pipe_endpoint; /* e.g. tcp://127.0.0.1:PORT (PUSH to it) */
    const void *pipe_uuid;     /* identity frame the pipe checks */
    size_t pipe_uuid_len;
    /* Optional: the kernel's IOPub PUB endpoint. When set, a SUB socket
     * subscribed to the topic lets pm_publisher_flush wait until each
     * message has really left through IOPub (the fence). The SUB joins
     * a few ms after pm_publisher_new returns (ZeroMQ's slow joiner):
     * messages sent before that are not seen, so a flush right after
     * creation may time out. Create the publisher early (at load). */
    const char *iopub_endpoint;
    const char *topic; /* IOPub topic; NULL: "peakmem.display" */
} pm_publisher_opts_t;

/* Create a publisher: its own zmq context and one internal thread that
 * owns every socket. Any thread may call pm_publisher_send and
 * pm_publisher_flush, with or without the GIL. Returns 0, -EINVAL (no
 * pipe_endpoint), -ENOMEM, or PM_EZMQ (e.g. a malformed endpoint). */
int pm_publisher_new(const pm_publisher_opts_t *opts, pm_publisher_t **out);

/* Build, sign and queue a message (content borrowed, serialized at once).
 * Returns 0 or a negative code; PM_EFORKED after fork, PM_EBADMSG for a
 * bad parent, -ENOBUFS when 4096 messages wait unsent (the pipe is
 * stuck), PM_EZMQ once the internal thread has failed. */
int pm_publisher_send(pm_publisher_t *pub, const char *msg_type,
                      const char *parent_json, json_t *content);

/* Wait until every message queued so far has been sent and, with an
 * iopub_endpoint, seen coming back on IOPub (a message seen implies the
 * earlier ones left too). timeout_ms < 0 waits without limit. Returns 0,
 * PM_ETIMEDOUT_PUB, PM_EFORKED after fork or PM_EZMQ if the internal
 * thread failed. Never call with the GIL held from Python code. */
int pm_publisher_flush(pm_publisher_t *pub, int timeout_ms);

/* A publisher is reference-counted (atomically): pm_publisher_new gives
 * the caller one reference; pm_publisher_ref adds one (returns pub, NULL
 * ok) for another owner, e.g. a thread that publishes while the creator
 * may let go. pm_publisher_unref drops one; the last one stops the
 * thread, closes sockets (linger bounded: up to 1 s for frames the pipe
 * has not taken) and frees. Any thread may ref and unref; NULL ok. In a
 * forked child the last unref frees only plain memory (the thread and
 * ZeroMQ context are the parent's). */
pm_publisher_t *pm_publisher_ref(pm_publisher_t *pub);
void pm_publisher_unref(pm_publisher_t *pub);

/* Write len bytes of data to path as Python's open(path, "w") would:
 * O_WRONLY | O_CREAT | O_TRUNC (mode 0666 & ~umask for a new file),
 * symlinks followed, an existing file's mode kept, no temporary file. A
 * file the caller may not write is refused with its own error before
 * anything changes; a FIFO without a reader is -ENXIO, not a hang.
 * Returns 0 or a negative errno. Any thread. */
int pm_outfile_write(const char *path, const char *data, size_t len);
/* The same, appending as open(path, "a") (O_APPEND: the text lands
 * after whatever is in the file, also if another process appends). */
int pm_outfile_append(const char *path, const char *data, size_t len);

/* The one formatting path of every number a person or a program reads:
 * printf-family formatting and strtod in the "C" locale ("3.50", never
 * "3,50"), whatever setlocale() the notebook or script called. The
 * calling thread is switched to "C" (uselocale) for the call only; other
 * threads and the process locale are untouched. Thread-safe; not
 * async-signal-safe. */
#define PM_FMT_PRINTF(f, a) __attribute__((format(printf, f, a)))
/* snprintf / vsnprintf: the length the whole text needs, or < 0. */
int pm_fmt(char *buf, size_t len, const char *fmt, ...) PM_FMT_PRINTF(3, 4);
int pm_vfmt(char *buf, size_t len, const char *fmt, va_list ap)
    PM_FMT_PRINTF(3, 0);
/* fprintf: the bytes written, or < 0. */
int pm_fmt_file(FILE *f, const char *fmt, ...) PM_FMT_PRINTF(2, 3);
/* asprintf: a malloc'd string the caller frees, or NULL (ENOMEM). */
char *pm_fmt_alloc(const char *fmt, ...) PM_FMT_PRINTF(1, 2);
/* strtod reading "1.5" (never "1,5"). */
double pm_fmt_strtod(const char *text, char **end);

/* A growable text buffer: append, then take the text. Caller-owned
 * storage (pm_strbuf_init / pm_strbuf_close); one thread at a time. A failed
 * append (ENOMEM) is sticky: later appends do nothing and pm_strbuf_steal
 * returns NULL, so a renderer checks once, at the end. */
typedef struct {
    char *data;  /* NUL-terminated once anything was appended; owned */
    size_t len;  /* bytes before the NUL */
    size_t cap;  /* bytes allocated */
    int failed;  /* an append ran out of memory */
} pm_strbuf_t;

void pm_strbuf_init(pm_strbuf_t *b);
/* Append len bytes / a string / one char: 0 or -ENOMEM. */
int pm_strbuf_append(pm_strbuf_t *b, const char *data, size_t len);
int pm_strbuf_puts(pm_strbuf_t *b, const char *text);
int pm_strbuf_putc(pm_strbuf_t *b, char c);
/* printf in the "C" locale (the pm_fmt path): 0, -ENOMEM or -EINVAL (a
 * format vsnprintf refuses). */
int pm_strbuf_printf(pm_strbuf_t *b, const char *fmt, ...) PM_FMT_PRINTF(2, 3);
int pm_strbuf_vprintf(pm_strbuf_t *b, const char *fmt, va_list ap)
    PM_FMT_PRINTF(2, 0);
/* The text ("" when nothing was appended), malloc'd, for the caller to
 * free; NULL when an append failed. Leaves b empty (as after init). */
char *pm_strbuf_steal(pm_strbuf_t *b);
/* Free the text; b is empty again. */
void pm_strbuf_close(pm_strbuf_t *b);

#ifdef __cplusplus
}
#endif
#endif
