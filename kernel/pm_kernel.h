/* pm_kernel: the measurement engine that runs inside the measured process.
 * Plain C, no Python: /proc readers and parsers, current RSS, the exact
 * peak probe (high-water-mark reset, with a sampler thread as fallback),
 * the sampler thread and the process-tree (children) reader. */
#ifndef PM_KERNEL_H
#define PM_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Project error codes: functions return 0 (or a count) on success, a
 * negative errno or one of these on failure. Kernel codes are -1001..-1099,
 * protocol codes -1100..-1199 (see pm_protocol.h), magics -1200..-1299. */
enum {
    PM_EPARSE = -1001,   /* /proc text did not have the expected shape */
    PM_ENOHWM = -1002,   /* high-water mark cannot be reset or read */
    PM_ENESTING = -1003, /* probes ended out of order (no longer returned:
                            probes may end in any order) */
    PM_ETHREAD = -1004,  /* sampler thread could not start */
    PM_ERANGE = -1005,   /* an argument is out of its range */
};

/* Message for a kernel code or a negative errno; "unknown error" for any
 * other code: the layers above describe their own (pm_protocol_strerror,
 * and pm_magics_strerror, which asks every layer). Never NULL; static
 * storage. */
const char *pm_strerror(int rc);

/* Bytes in a MiB (2^20), the unit memory_profiler divides RSS by. An
 * integer: (double)bytes / PM_MIB for MiB, n * PM_MIB for bytes. */
#define PM_MIB ((uint64_t)1 << 20)

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
int64_t pm_now_ns(void);

/* ---- /proc reading and parsing (read and parse apart) ---------------- */

/* Read a whole /proc file into buf (at most len - 1 bytes) and
 * NUL-terminate it. Returns the number of bytes read or a negative errno;
 * -EOVERFLOW when the file does not fit (buf then holds its first
 * len - 1 bytes, NUL-terminated). */
int pm_proc_read(const char *path, char *buf, size_t len);

/* Same, from offset 0 of an open descriptor (pread), so one descriptor
 * can be kept open and re-read. Thread-safe. */
int pm_proc_pread(int fd, char *buf, size_t len);

/* /proc/<pid>/statm, all fields in pages. */
typedef struct {
    uint64_t size_pages;     /* total program size */
    uint64_t resident_pages; /* resident set size */
    uint64_t shared_pages;   /* resident file-backed or shared */
} pm_statm_t;

/* Parse statm text ("size resident shared text lib data dt\n"); only the
 * first three fields are needed. Returns 0 or PM_EPARSE. */
int pm_proc_parse_statm(const char *text, pm_statm_t *out);

/* The lines of /proc/<pid>/status peakmem needs. */
typedef struct {
    uint64_t vm_rss_kb; /* VmRSS: kB, resident set now */
    uint64_t vm_hwm_kb; /* VmHWM: kB, peak RSS since start or last reset */
    pid_t ppid;         /* PPid: parent process id */
    int has_rss, has_hwm, has_ppid; /* 1 when the line was present */
} pm_status_t;

/* Parse status text. Missing lines leave has_* at 0 (kernel threads have
 * no Vm* lines); a present but garbled line is PM_EPARSE. Returns 0 or
 * PM_EPARSE. */
int pm_proc_parse_status(const char *text, pm_status_t *out);

/* Parent pid from /proc/<pid>/stat text, whose comm field "(...)" may hold
 * spaces and parentheses. Returns 0 or PM_EPARSE. */
int pm_proc_parse_stat_ppid(const char *text, pid_t *ppid);

/* A cgroup path ("/user.slice/...") from /proc/self/cgroup text: the v1
 * line whose controller list holds controller (e.g. "memory"), or with
 * controller "" the v2 line "0::path". Returns 0, -ENOENT (no such line)
 * or PM_EPARSE (a garbled line, or a path longer than len). */
int pm_proc_parse_cgroup_path(const char *text, const char *controller,
                              char *path, size_t len);

/* memory.max (v2) or memory.limit_in_bytes (v1) text: a byte count, "max"
 * or v1's near-2^63 "unlimited" (both: *bytes = 0). 0 or PM_EPARSE. */
int pm_parse_memory_max(const char *text, uint64_t *bytes);

/* The memory limit of this process's cgroup in bytes (0: none): v1's
 * memory controller where there is one (hybrid systems), else v2's
 * memory.max. Returns 0 or a negative errno when it cannot be read. */
int pm_cgroup_memory_max(uint64_t *bytes);

/* ---- current RSS --------------------------------------------------------*/

/* Current RSS of this process in bytes from /proc/self/statm, read with
 * pread on a descriptor opened once and kept open (about 1 us). Thread-safe,
 * no allocation. Returns 0 and sets *bytes, or a negative errno. */
int pm_rss_self(uint64_t *bytes);

/* RSS in bytes of one process (/proc/<pid>/statm). */
int pm_rss_pid(pid_t pid, uint64_t *bytes);

/* Sum of the RSS of every descendant of root (children, grandchildren...),
 * found through the PPid of each /proc/<pid>. root itself is not counted.
 * Processes that vanish while reading are skipped. *count (may be NULL)
 * receives the number of descendants. Returns 0 or a negative errno. */
int pm_rss_children(pid_t root, uint64_t *bytes, int *count);

/* The descendants of root (children, grandchildren...), at most max pids
 * into out, in increasing pid order; out may be NULL when max is 0.
 * Returns how many exist in all (may exceed max) or a negative errno
 * (-EINVAL for root <= 0). */
int pm_proc_descendants(pid_t root, pid_t *out, size_t max);

/* ---- proportional and unique set sizes (smaps.c) ------------------------*/

/* What memory_profiler's backends measure: psutil and posix read RSS,
 * psutil_pss the proportional set size, psutil_uss the unique set size. */
typedef enum {
    PM_MEM_RSS = 0, /* statm resident pages (pm_rss_self, pm_rss_pid) */
    PM_MEM_PSS,     /* smaps_rollup Pss */
    PM_MEM_USS,     /* smaps_rollup Private_Clean + _Dirty + _Hugetlb */
} pm_mem_kind_t;

/* The lines of /proc/<pid>/smaps_rollup this project reads, in kB. */
typedef struct {
    uint64_t rss_kb;  /* Rss: resident */
    uint64_t pss_kb;  /* Pss: resident, shared pages divided by sharers */
    uint64_t uss_kb;  /* Private_Clean + Private_Dirty + Private_Hugetlb */
    uint64_t swap_kb; /* Swap: swapped out */
    int has_rss, has_pss, has_private; /* 1 when the lines were present */
} pm_smaps_t;

/* Parse smaps_rollup text. Returns 0, or PM_EPARSE when a value is
 * malformed or Rss, Pss or every Private_* line is missing. */
int pm_smaps_parse(const char *text, pm_smaps_t *out);

/* Read /proc/<pid>/smaps_rollup (pid 0: this process) and parse it.
 * Returns 0, -ESRCH for no such process, -ENODATA for a process without
 * mappings (a zombie, a kernel thread), or a negative errno / PM_EPARSE.
 * Thread-safe, no allocation. */
int pm_smaps_read(pid_t pid, pm_smaps_t *out);

/* The memory of pid (0: this process) as kind, in bytes: RSS from statm
 * (pm_rss_self / pm_rss_pid), PSS or USS from smaps_rollup. Returns 0 or
 * a negative errno (-EINVAL for an unknown kind). Thread-safe. */
int pm_mem_read(pid_t pid, pm_mem_kind_t kind, uint64_t *bytes);

/* Most descendants pm_mem_children reads for PSS or USS. */
#define PM_MEM_MAX_CHILDREN 1024

/* Sum of kind over every descendant of root (pm_rss_children for RSS;
 * for PSS and USS the first PM_MEM_MAX_CHILDREN descendants, those that
 * vanish while read skipped). Returns 0 or a negative errno. */
int pm_mem_children(pid_t root, pm_mem_kind_t kind, uint64_t *bytes);

/* ---- high-water mark ---------------------------------------------------*/

/* Reset this process's VmHWM to its current RSS by writing "5" to
 * /proc/self/clear_refs. Returns 0, or a negative errno when refused. */
int pm_hwm_reset(void);

/* Read VmHWM of this process, in bytes. */
int pm_hwm_read(uint64_t *bytes);

/* Read the high-water mark (bytes) and reset it, as one step that keeps
 * every active probe exact: the mark is folded into the probes that rely
 * on it before the reset. For line-level peaks (%mprun --peak). Thread-
 * safe. Returns 0 or a negative code (then nothing was reset). */
int pm_hwm_take(uint64_t *bytes);

/* ---- line tracer bookkeeping (%mprun) ---------------------------------*/

/* What one source line of a profiled function accumulated. */
typedef struct {
    uint64_t occurrences;    /* times the line started executing */
    uint64_t mem_max_bytes;  /* highest RSS at the end of the line */
    int64_t increment_bytes; /* sum over executions of (RSS at its end -
                                RSS at its start), callees included */
    uint64_t peak_bytes;     /* highest RSS while it ran (with peak); 0 */
} pm_line_stat_t;

/* The line table of one profiled code block (a function and the code
 * nested in it share one table, as memory_profiler does): lines
 * first_line .. first_line + nlines - 1. Heap object. */
typedef struct pm_linetable pm_linetable_t;

/* Returns 0 or -ENOMEM/-EINVAL (nlines < 1 or first_line < 1). */
int pm_linetable_new(int first_line, int nlines, pm_linetable_t **out);
/* A table for code nested in outer's block (a function defined inside
 * it, a comprehension on 3.11): its lines are outer's, shared, as
 * memory_profiler shows them, but its frames are its own, so a nested
 * function running inside outer's frame is no recursion of outer.
 * Free it before outer. Returns 0, -EINVAL or -ENOMEM. */
int pm_linetable_new_nested(pm_linetable_t *outer, pm_linetable_t **out);
void pm_linetable_free(pm_linetable_t *t);
int pm_linetable_first_line(const pm_linetable_t *t);
int pm_linetable_nlines(const pm_linetable_t *t);
/* The stats of lineno, or NULL when it is outside the table. A line that
 * never ran has occurrences == 0. */
const pm_line_stat_t *pm_linetable_get(const pm_linetable_t *t, int lineno);
/* Total calls (frames entered) recorded in the table. */
uint64_t pm_linetable_calls(const pm_linetable_t *t);

/* The tracer's state for one running frame of a profiled code block.
 * Owned by the caller (one per frame on the caller's stack). */
typedef struct {
    pm_linetable_t *table;
    int line;                /* line now executing; 0 before the first */
    pm_line_stat_t *stat;    /* the tracer's: line's stats, or NULL when
                                it is outside the table */
    void *gate;              /* the tracer's: line's read gate, or NULL */
    uint64_t line_start_rss; /* RSS when that line started */
    int nested; /* another frame of the same table was in flight at the
                   call (recursion): this frame's lines count occurrences
                   and mem, their increments stay in the outermost
                   frame's line that led here */
} pm_frame_state_t;

typedef struct pm_tracer pm_tracer_t;

typedef struct {
    /* Read RSS at a line boundary only when at least this much time has
     * passed since the last read (else reuse the last value: lines that
     * move RSS by a MiB take far longer). 0: 20 us. Call and return
     * boundaries always read. */
    int64_t min_read_interval_ns;
    int peak;             /* also track per-line peaks via pm_hwm_take */
    int include_children; /* add descendants' RSS (read at most every
                             children_interval_ns; 0: 100 ms) */
    int64_t children_interval_ns;
    /* What the tracer reads (PM_MEM_RSS, 0, the default; PSS and USS
     * read smaps_rollup: tens of us per read, under the same gate). */
    pm_mem_kind_t kind;
    /* When set, read through this instead (e.g. tracemalloc's traced
     * memory, read by the Python boundary with the GIL the trace
     * callback holds); returns 0 or a negative errno, never raises. */
    int (*read)(void *arg, uint64_t *bytes);
    void *read_arg;
} pm_tracer_opts_t;

/* Returns 0 or a negative code. The tracer is used by one thread. */
int pm_tracer_new(const pm_tracer_opts_t *opts, pm_tracer_t **out);
void pm_tracer_free(pm_tracer_t *tr);

/* A frame of a profiled block starts (or a generator resumes): counts
 * def_line once (occurrences, mem = RSS now, increment 0) when it is in
 * the table, and makes fs ready. A frame entered while another frame of
 * the same table is in flight (recursion) is nested: its lines' increments
 * are not added (the outermost frame's calling line holds them), so a
 * table's increments add up to its outermost calls' changes. Every call
 * must be paired with a pm_tracer_return. Fast path: no allocation. */
void pm_tracer_call(pm_tracer_t *tr, pm_frame_state_t *fs,
                    pm_linetable_t *table, int def_line);

/* The frame starts line lineno: closes the previous line of this frame
 * (its increment is RSS now minus RSS at its start) and starts lineno
 * (the frame's first line starts at the reading of pm_tracer_call).
 * Fast path: at most one RSS read, no allocation. */
void pm_tracer_line(pm_tracer_t *tr, pm_frame_state_t *fs, int lineno);

/* The frame returns (or yields, or unwinds on an exception): closes its
 * current line with a fresh RSS read. fs->line is 0 after, fs->table
 * NULL, and fs->line_start_rss holds that read (RSS at return). */
void pm_tracer_return(pm_tracer_t *tr, pm_frame_state_t *fs);

/* Reads done and lines seen, for benchmarks. */
uint64_t pm_tracer_reads(const pm_tracer_t *tr);
uint64_t pm_tracer_events(const pm_tracer_t *tr);
/* Clock reads of the read gate at line boundaries (lines known to be
 * fast skip them), and reads that found RSS moved behind skipped clocks
 * (each halves the skips granted after it). For benchmarks and tests. */
uint64_t pm_tracer_checks(const pm_tracer_t *tr);
uint64_t pm_tracer_surprises(const pm_tracer_t *tr);

/* ---- sampler thread ----------------------------------------------------*/

typedef struct pm_sampler pm_sampler_t;

/* Longest sampling period pm_sampler_new takes (PM_ERANGE beyond), in
 * seconds: about 11.6 days. */
#define PM_SAMPLER_MAX_INTERVAL_S 1e6

typedef struct {
    double self_interval_s;     /* period for own RSS; 0: 0.001 (1 kHz) */
    int include_children;       /* also sum descendants' RSS */
    double children_interval_s; /* period for descendants; 0: 0.1 */
    /* Called once from the sampler thread when the deadline passes
     * (deadline_ns from pm_now_ns(); 0: none). Pure C context, no GIL. */
    int64_t deadline_ns;
    void (*on_deadline)(void *arg);
    void *arg;
    /* The process to sample (its RSS from /proc/<pid>/statm, kept open,
     * and its descendants with include_children); 0: this process. */
    pid_t pid;
    /* Keep every sample as a timeline (pm_sampler_timeline). When
     * max_samples (0: 1,000,000; 1 is PM_ERANGE) is reached, every other
     * kept sample is dropped and the keeping period doubles, so a long
     * run keeps its whole span at a coarser resolution. */
    int record;
    size_t max_samples;
    /* What "own" memory is (PM_MEM_RSS, 0, the default): PSS and USS
     * read smaps_rollup at each sample (tens of us instead of one),
     * and the descendants' sum is of the same kind (pm_mem_children). */
    pm_mem_kind_t kind;
} pm_sampler_opts_t;

/* One kept sample. */
typedef struct {
    int64_t t_ns;            /* pm_now_ns() just before the read */
    uint64_t rss_bytes;      /* the process's own RSS */
    uint64_t children_bytes; /* descendants' sum (last scan), or 0 */
} pm_sample_t;

/* Start a pure-C sampler thread that records the highest RSS it sees
 * (own RSS, plus the last descendants' sum when include_children).
 * It takes a first sample before returning. *out is owned by the caller
 * and released with pm_sampler_free. Returns 0, PM_ETHREAD or -errno:
 * -ESRCH when opts.pid does not exist or has already exited, -EINVAL for
 * a negative pid. */
int pm_sampler_new(const pm_sampler_opts_t *opts, pm_sampler_t **out);

/* Take one last sample, stop and join the thread. Idempotent. */
void pm_sampler_stop(pm_sampler_t *s);

/* Highest total RSS (bytes) seen so far, and the number of samples.
 * Thread-safe (atomics); valid while running and after stop. */
uint64_t pm_sampler_peak(const pm_sampler_t *s);
uint64_t pm_sampler_count(const pm_sampler_t *s);
/* Highest descendants' sum seen (0 without include_children). */
uint64_t pm_sampler_children_peak(const pm_sampler_t *s);

/* The timeline can be read while the sampler runs: it appends (and, at
 * max_samples, halves) under a mutex, and each call below copies under
 * that mutex, so a count and the samples it describes always come from
 * one call. Thread-safe, also while running; valid after stop. */

/* Samples kept right now (0 without record). Only a hint for sizing a
 * buffer: the sampler may append before the next call. */
size_t pm_sampler_timeline_len(const pm_sampler_t *s);

/* Copy the oldest min(kept, cap) kept samples into out, oldest first.
 * Returns the number copied: never more than cap (0 for out NULL). */
size_t pm_sampler_timeline_copy(const pm_sampler_t *s, pm_sample_t *out,
                                size_t cap);

/* Copy the newest min(kept, cap) kept samples into out, oldest first.
 * Returns the number copied: never more than cap. */
size_t pm_sampler_timeline_tail(const pm_sampler_t *s, pm_sample_t *out,
                                size_t cap);

/* Every kept sample in a new array the caller frees with free() (*out is
 * NULL and *n 0 without record). Returns 0 or -ENOMEM. */
int pm_sampler_timeline_snapshot(const pm_sampler_t *s, pm_sample_t **out,
                                 size_t *n);

/* 1 once the sampled process (opts.pid) has gone (statm unreadable, or
 * showing no address space: exited, even if not yet reaped); the thread
 * then stops sampling by itself (a deadline still fires). 0 while it
 * lives, and always for this process. Thread-safe (atomic). */
int pm_sampler_target_gone(const pm_sampler_t *s);

/* Stops (if needed) and frees. NULL is accepted. */
void pm_sampler_free(pm_sampler_t *s);

/* ---- exact peaks of descendants (-c) -----------------------------------*/

/* One descendant process, as the watcher saw it. */
typedef struct {
    pid_t pid;
    pid_t ppid;              /* parent when first seen (0: unknown) */
    char cmd[128];           /* command line, NULs as spaces, cut */
    uint64_t peak_bytes;     /* VmHWM: highest read, bytes */
    uint64_t last_rss_bytes; /* VmRSS at the last read, bytes */
    uint64_t reads;          /* VmHWM reads that succeeded */
    int reset;       /* alive at the start and its mark reset there */
    int born_inside; /* first seen after the start: mark since birth */
    int exited;      /* gone before the end: peak is its last read */
} pm_child_t;

typedef struct pm_children pm_children_t;

typedef struct {
    pid_t pid;      /* root whose descendants are watched; 0: this one */
    double tick_s;  /* period of discovery and VmHWM reads; 0: 0.002 */
    int force_scan; /* tests: find descendants by a full /proc scan */
} pm_children_opts_t;

/* A watcher of root's descendants (see kernel/children.c): reset each
 * one's high-water mark at the start, read it every tick and at the end.
 * Caller-owned heap object. Returns 0, -EINVAL, PM_ERANGE or -ENOMEM. */
int pm_children_new(const pm_children_opts_t *opts, pm_children_t **out);

/* Watch pid's descendants instead, and give pid an entry of its own
 * (the first); before start. For a program the caller runs and records
 * (peakmem run -C). Returns 0, -EINVAL or -EBUSY (started already). */
int pm_children_root(pm_children_t *c, pid_t pid);

/* First round (resets the marks of the descendants alive now), then the
 * watcher thread. Returns 0, -EBUSY (running), PM_ETHREAD or -errno. */
int pm_children_start(pm_children_t *c);

/* Stop and join the thread, then read every mark one last time. After
 * it the table below is stable. Idempotent. Returns 0 or -EINVAL. */
int pm_children_stop(pm_children_t *c);

/* The table, valid after stop (entry i, NULL past the end), in the order
 * first seen; its sum of peaks (an upper bound of the peak of the sum). */
size_t pm_children_count(const pm_children_t *c);
const pm_child_t *pm_children_get(const pm_children_t *c, size_t i);
uint64_t pm_children_sum_peaks(const pm_children_t *c);
/* Rounds done, for tests and benches. */
uint64_t pm_children_ticks(const pm_children_t *c);

/* Stops (if needed) and frees. NULL is accepted. */
void pm_children_free(pm_children_t *c);

/* ---- the peak probe ----------------------------------------------------*/

typedef enum {
    PM_METHOD_HWM = 1,         /* exact: VmHWM after a clear_refs reset */
    PM_METHOD_SAMPLED = 2,     /* the sampler thread's highest sample */
    PM_METHOD_HWM_SAMPLED = 3, /* own peak exact, children sampled */
} pm_method_t;

/* "hwm", "sampled" or "hwm+sampled". */
const char *pm_method_name(pm_method_t m);

typedef struct {
    double interval_s;    /* sampler period (children and fallback) */
    int include_children; /* add descendants' RSS (sampled) */
    int force_sampler;    /* tests: behave as if the reset were refused */
    int64_t deadline_ns;  /* passed to the sampler; 0: none */
    void (*on_deadline)(void *arg);
    void *arg;
    /* With include_children: a watcher (caller-owned, from
     * pm_children_new) started at begin and stopped at end, for exact
     * per-process peaks; NULL: descendants only sampled. */
    pm_children_t *children;
} pm_probe_opts_t;

/* One measurement. Storage is owned by the caller; it must stay in place
 * between begin and end. Probes may overlap in any way: nested in one
 * thread, or concurrent in several threads, ending in any order. The
 * reset is process-wide, so each active probe keeps its own running
 * maximum of every reading taken during its window (VmHWM before each
 * reset and at each end, inner probes' peaks); see kernel/probe.c. */
typedef struct pm_probe {
    /* results, valid after pm_probe_end */
    uint64_t baseline_bytes;      /* RSS at begin */
    uint64_t peak_bytes;          /* highest RSS between begin and end */
    uint64_t end_bytes;           /* RSS at end */
    uint64_t children_peak_bytes; /* with include_children: sampled */
    uint64_t self_peak_bytes;     /* own process only (exact with hwm) */
    int64_t begin_ns, end_ns;     /* pm_now_ns() at begin and end */
    pm_method_t method;
    /* private; the set's lock guards these while the probe is active */
    struct pm_probe *older; /* next older active probe */
    uint64_t seq;           /* begin order */
    uint64_t hwm_epoch;     /* first reset epoch whose VmHWM is in window */
    uint64_t folded_max;    /* readings taken during the window */
    pm_sampler_t *sampler;
    pm_children_t *children;
    int active;
} pm_probe_t;

/* Begin: baseline RSS, reset the high-water mark (or start the sampler
 * when the reset is refused, when include_children, or force_sampler; a
 * deadline also starts one). baseline/end_bytes are own RSS, also with
 * include_children. on_deadline must not call pm_probe_*. Thread-safe (a
 * mutex guards the set of active probes). Returns 0, PM_ERANGE
 * (interval_s < 0), -EBUSY (p already active) or -errno. */
int pm_probe_begin(pm_probe_t *p, const pm_probe_opts_t *opts);

/* End: read the peak, fold it into the other active probes, stop any
 * sampler (joined: on_deadline has returned, and is not called again,
 * when this returns). Probes may end in any order, from any thread.
 * Returns 0 or a negative code (-EINVAL when p is not active); p is
 * inactive after. */
int pm_probe_end(pm_probe_t *p);

/* Number of active probes (0 when no measurement is running). */
int pm_probe_depth(void);

/* pm_now_ns() + seconds, for pm_probe_opts_t.deadline_ns: NaN and
 * negative count as 0, and far-off deadlines saturate (no overflow). */
int64_t pm_probe_deadline_ns(double seconds);

/* ---- allocation tracking: sites, live allocations, sampler, peak -------
 * The Python-free half of `%memit --sites` (kernel/sites.c, alloc.c). The
 * hooks in magics/allocs_py.c decide per allocation whether it is tracked
 * (pm_alloc_sampler_weight), capture where it came from and hand the
 * engine (address, weight, site frames); frees hand the address back.
 *
 * The peak is Fil's (pythonspeed/filprofiler): the engine keeps bytes held
 * per site now; when the tracked total reaches a new high it only marks
 * the snapshot as due, and copies "now" into "at peak" for every site the
 * first time the total drops after that high (or at the end). memray
 * finds its high-water mark offline instead, replaying a recorded file
 * to the peak's record index; in-process copying needs no file. */

/* Frames kept per site: [0] where the allocation was asked for; [1] for
 * a site in a library, the innermost frame of the user's own code that
 * led there; [2] the measured statement's line, when not one of those
 * (code 0: none). */
#define PM_SITE_FRAMES 3

/* One frame: code is the caller's opaque id of a code object (its
 * address), line its line number. */
typedef struct {
    uintptr_t code;
    int32_t line;
} pm_site_frame_t;

/* A site: bytes held now and at the tracked peak (sampled weights). */
typedef struct {
    pm_site_frame_t frames[PM_SITE_FRAMES];
    int64_t cur_bytes;
    int64_t peak_bytes;
    uint64_t allocs; /* tracked allocations made here */
} pm_site_t;

/* The site table: sites keyed by their frames (hash), and the set of
 * distinct code ids seen (so the caller can keep each code object alive
 * once). Not thread-safe: pm_alloc_t's lock guards it. */
typedef struct {
    pm_site_t *items;
    size_t n, cap;
    uint32_t *index; /* open addressing: site number + 1, 0 empty */
    size_t index_cap;
    uintptr_t *codes; /* open addressing set, 0 empty */
    size_t ncodes, codes_cap;
} pm_sites_t;

int pm_sites_init(pm_sites_t *s);
void pm_sites_close(pm_sites_t *s);

/* The number of the site with these PM_SITE_FRAMES frames, added (with
 * zero bytes) when new. Returns it (>= 0) or -ENOMEM. */
int64_t pm_sites_find(pm_sites_t *s, const pm_site_frame_t *frames);

/* Add code to the set of seen code ids: 1 when new, 0 when known,
 * -ENOMEM. code 0 is never added (returns 0). */
int pm_sites_code_add(pm_sites_t *s, uintptr_t code);

/* Copy every site's cur_bytes into peak_bytes. */
void pm_sites_snapshot(pm_sites_t *s);

/* At most max sites with the most bytes at the peak (peak_bytes > 0),
 * largest first (ties: the older site first), as pointers into s (valid
 * until s changes). Returns how many were written. */
size_t pm_sites_top(const pm_sites_t *s, const pm_site_t **out, size_t max);

/* The per-thread sampler: Poisson by bytes. Each allocated byte is a
 * point of a Poisson process with mean spacing mean_bytes; an allocation
 * is tracked when it holds at least one point, i.e. with probability
 * p = 1 - exp(-size / mean_bytes), and then weighs size / p, so that the
 * expected weight of every allocation is its size (unbiased totals).
 * Allocations of exact_bytes or more are always tracked at their size.
 * mean_bytes 0: every allocation tracked exactly. Owned by one thread. */
typedef struct {
    uint64_t rng;        /* xorshift64* state, never 0 */
    double mean_bytes;   /* mean spacing of sample points */
    uint64_t exact_bytes;
    double countdown;    /* bytes to the next sample point */
} pm_alloc_sampler_t;

void pm_alloc_sampler_init(pm_alloc_sampler_t *s, double mean_bytes,
                           uint64_t exact_bytes, uint64_t seed);

/* The weight of an allocation of size bytes: 0 when not tracked. Pure C,
 * no allocation, no lock. */
uint64_t pm_alloc_sampler_weight(pm_alloc_sampler_t *s, size_t size);

/* The engine: live tracked allocations (address -> weight, site), sites,
 * the tracked total now and at its peak. Every function takes the lock:
 * hooks call them from any thread, with or without the GIL. The engine
 * allocates with libc malloc only (never Python's allocators). */
typedef struct {
    void *lock;   /* pthread_mutex_t, malloc'd */
    pm_sites_t sites;
    struct pm_alloc_entry *live; /* open addressing, addr 0 empty */
    size_t nlive, live_cap;
    int64_t cur_bytes;  /* tracked bytes held now */
    int64_t peak_bytes; /* highest cur_bytes */
    int snapshot_due;   /* a new peak not yet copied into the sites */
    uint64_t dropped;   /* allocations not tracked for lack of memory */
    uint64_t epoch;     /* counts resets: a held entry is of one epoch */
    /* one bit per address hash, set when an address is added and never
     * cleared: a free whose bit is clear was never tracked and skips the
     * lock (most frees). Bits set under the lock, read with atomics. */
    uint64_t *filter;
} pm_alloc_t;

int pm_alloc_init(pm_alloc_t *a);
void pm_alloc_close(pm_alloc_t *a);

/* In the child of a fork (an atfork child handler): the lock made anew,
 * since a thread that is not in the child may have held it at the fork.
 * What it was updating may be half done: counts in the child are then
 * approximate, never a hang. */
void pm_alloc_after_fork_child(pm_alloc_t *a);

/* Empty a for a new measurement, keeping its lock and filter storage (so
 * a hook on another thread may still read the filter: it then sees only
 * clear bits). Not while another thread adds or removes. */
void pm_alloc_reset(pm_alloc_t *a);

/* 0 when addr was certainly never added since the last reset (no lock:
 * one atomic read), 1 when it may have been. */
int pm_alloc_may_hold(const pm_alloc_t *a, uintptr_t addr);

/* Record a tracked allocation at addr of weight bytes from the site with
 * frames (PM_SITE_FRAMES of them). An entry already at addr (its free was
 * not seen) is replaced. *new_codes (may be NULL) gets bit i set when
 * frames[i].code was seen for the first time. Returns 0 or -ENOMEM (the
 * allocation is then not tracked and counted in dropped). */
int pm_alloc_add(pm_alloc_t *a, uintptr_t addr, uint64_t weight,
                 const pm_site_frame_t *frames, unsigned *new_codes);

/* What pm_alloc_remove took out, to put back with pm_alloc_restore. */
typedef struct {
    uint64_t weight; /* 0: nothing was taken */
    uint32_t site;
    uint64_t epoch;
} pm_alloc_held_t;

/* Forget the allocation at addr: 1 when it was tracked (the total drops;
 * the first drop after a new peak copies the sites first), 0 when not.
 * An address never added costs one atomic read, no lock (the filter).
 * held (may be NULL) gets what was taken out. */
int pm_alloc_remove(pm_alloc_t *a, uintptr_t addr, pm_alloc_held_t *held);

/* Put back what pm_alloc_remove took out at addr, when the block lives
 * on after all (a realloc that removed it first failed). Nothing when
 * held is empty or from before the last reset; counted in dropped when
 * the map cannot grow. */
void pm_alloc_restore(pm_alloc_t *a, uintptr_t addr,
                      const pm_alloc_held_t *held);

/* End of a measurement: take the snapshot still due. The sites then hold
 * their bytes at the peak; pm_alloc_peak gives the total. */
void pm_alloc_finish(pm_alloc_t *a);

uint64_t pm_alloc_peak(pm_alloc_t *a);

#ifdef __cplusplus
}
#endif
#endif
