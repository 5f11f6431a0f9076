"""memory_profiler's pure-API names that real code imports: show_results,
LogFile, choose_backend and the CodeMap that LineProfiler.code_map and
%mprun -r's result hold. The measuring is peakmem's C line profiler
(peakmem.LineProfiler); this module only shapes its tables as
memory_profiler 0.61's API does."""
import linecache
import logging
import sys

# memory_profiler's backend names, in its order of preference.
BACKENDS = ("psutil", "psutil_pss", "psutil_uss", "posix", "tracemalloc")
# peakmem measures all five: RSS for psutil and posix, PSS and USS from
# smaps_rollup, tracemalloc's traced memory.


def choose_backend(new_backend=None):
    """memory_profiler's choose_backend: the backend that will be used for
    new_backend (None: the default, 'psutil'); an unknown name is a
    ValueError. (memory_profiler warns and falls back when a backend cannot
    be used on the machine; peakmem measures all five on Linux.)"""
    if new_backend is None:
        return BACKENDS[0]
    if new_backend not in BACKENDS:
        raise ValueError("choose_backend: unknown backend %r; one of %s"
                         % (new_backend, ", ".join(BACKENDS)))
    return new_backend


class CodeMap(dict):
    """code object -> {line: (increment MiB, mem MiB, occurrences)} for the
    lines that ran, as memory_profiler's CodeMap. Like it, items() gives
    one (filename, lines) pair per profiled function that ran, lines being
    (lineno, entry or None) over the function's source lines: what
    show_results prints."""

    def __init__(self, include_children=False, backend="psutil"):
        super().__init__()
        self.include_children = include_children
        self.backend = backend
        self._toplevel = []  # (filename, code, range of line numbers)

    def items(self):
        """Iterate on the (filename, lines) of the functions that ran."""
        for filename, code, linenos in self._toplevel:
            measures = self[code]
            if not measures:
                continue
            yield filename, ((n, measures.get(n)) for n in linenos)


def _code_map(rows, include_children, backend):
    """CodeMap of the C profiler's rows (code, filename, first_line,
    nlines, {line: entry})."""
    cm = CodeMap(include_children,
                 backend if backend is not None else BACKENDS[0])
    for code, filename, first, nlines, lines in rows:
        cm[code] = lines
        cm._toplevel.append((filename, code, range(first, first + nlines)))
    return cm


def show_results(prof, stream=None, precision=1):
    """Print the tables of prof (a LineProfiler, %mprun -r's result, or any
    object with memory_profiler's code_map) to stream (None: sys.stdout),
    in memory_profiler's text, one write per line as it does (LogFile
    relies on that)."""
    if stream is None:
        stream = sys.stdout
    if not isinstance(precision, int) or not 0 <= precision <= 20:
        raise ValueError("show_results: precision must be 0 to 20")
    row = "{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}"
    mib = "{0:%d.%df} MiB" % (precision + 4, precision)
    for filename, lines in prof.code_map.items():
        header = row.format("Line #", "Mem usage", "Increment",
                            "Occurrences", "Line Contents")
        stream.write("Filename: " + filename + "\n\n")
        stream.write(header + "\n")
        stream.write("=" * len(header) + "\n")
        source = linecache.getlines(filename)
        for lineno, entry in lines:
            text = source[lineno - 1] if 0 < lineno <= len(source) else "\n"
            if entry:
                inc, mem, occ = entry[0], entry[1], entry[2]
                stream.write(row.format(lineno, mib.format(mem),
                                        mib.format(inc), occ, text))
            else:
                stream.write(row.format(lineno, "", "", "", text))
        stream.write("\n\n")


class LogFile:
    """A file-like object that sends what is written to it (show_results'
    lines, @profile(stream=...)'s tables) to the logger name, at INFO.
    With reportIncrementFlag, only the table rows whose increment is above
    0 are logged, with the Filename and header lines."""

    def __init__(self, name=None, reportIncrementFlag=False):
        self.logger = logging.getLogger(name)
        self.reportIncrementFlag = reportIncrementFlag

    def write(self, msg, level=logging.INFO):
        if self.reportIncrementFlag and not self._reported(msg):
            return
        self.logger.log(level, msg)

    @staticmethod
    def _reported(msg):
        """Whether a write passes reportIncrementFlag's filter: a row with
        an increment above 0 (the number after its first "MiB"), or a
        Filename or header line."""
        parts = msg.split("MiB")
        if len(parts) > 2:
            try:
                return float(parts[1].strip()) > 0
            except ValueError:
                return False
        return "Filename:" in msg or "Line Contents" in msg

    def flush(self):
        for handler in self.logger.handlers:
            handler.flush()
