"""The command line of ``python -m peakmem``, with memory_profiler's flags.

Parsing lives here (argparse: help, ``--opt=value``, ``--version``, usage
errors with exit code 2); running the script, the line profiler and the
report stay in C (``_peakmem._run_main``, magics/runner_py.c).
"""
import argparse
import sys

from ._optable import add_options, examples
from ._peakmem import __version__, _run_main

PROG = "python -m peakmem"

# memory_profiler's --backend names: psutil and posix are the resident
# set size (RSS), psutil_pss and psutil_uss the proportional and unique
# set sizes (read from /proc/self/smaps_rollup), tracemalloc the memory
# Python's tracemalloc traces (started for the run).
BACKENDS = ("psutil", "psutil_pss", "psutil_uss", "posix", "tracemalloc")

DESCRIPTION = """\
Run a Python script (or, with -m, a module) with `profile` as a builtin,
as python -m memory_profiler does, and print the line-by-line memory
table of every @profile'd function at exit (also when the script fails:
its traceback and exit code are kept). Everything after the script or
module name is the script's own command line."""


def _precision(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 20:
        raise argparse.ArgumentTypeError(
            "expects 0 to 20, got '%s'" % text)
    return value


def _mib(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            "expects a number of MiB > 0, got '%s'" % text)
    return value


# Each option: flags, argparse keywords, meaning (as memory_profiler's,
# unless it says otherwise), example. The one source of -h and of
# README's table (scripts/readme_help.py).
OPTIONS = [
    (("--version",), dict(action="version", version="peakmem " + __version__),
     "print peakmem's version and exit",
     "python -m peakmem --version"),
    (("--precision",), dict(type=_precision, default=3, metavar="N"),
     "decimals of the MiB columns (0 to 20; default 3 and the same column "
     "widths, as python -m memory_profiler; `@profile` in a script keeps "
     "its own default of 1, as there)",
     "python -m peakmem --precision=1 script.py"),
    (("-o", "--outfile"), dict(metavar="FILE"),
     "append the report to FILE instead of printing it (as "
     "memory_profiler: `open(FILE, 'a')`); symlinks followed, the file's "
     "mode kept; a FIFO nobody reads is an error line, not a hang",
     "python -m peakmem -o report.txt script.py"),
    (("--include-children",), dict(action="store_true"),
     "also count the memory of child processes",
     "python -m peakmem --include-children build.py"),
    (("--pdb-mmem",), dict(type=_mib, metavar="MAXMEM"),
     "stop in pdb when memory passes MAXMEM MiB, on the profiled line "
     "after the one that passed it; `q` ends the script with BdbQuit",
     "python -m peakmem --pdb-mmem=100 script.py"),
    (("--timestamp", "-t"), dict(action="store_true"),
     "record each call of a `@profile` function as mprof's FUNC lines "
     "(start and end time and memory), appended to `-o FILE`, instead of "
     "the table (what `peakmem run` uses for Python scripts)",
     "python -m peakmem --timestamp -o run.dat script.py"),
    (("--backend",), dict(choices=BACKENDS, default="psutil",
                          metavar="NAME"),
     "what the table measures, as memory_profiler: `psutil` and `posix` "
     "the resident set size (RSS), `psutil_pss` the proportional and "
     "`psutil_uss` the unique set size (/proc/self/smaps_rollup; each read "
     "costs tens of microseconds instead of one), `tracemalloc` the memory "
     "Python's tracemalloc traces (started for the run). Choices: "
     + ", ".join(BACKENDS),
     "python -m peakmem --backend psutil_uss script.py"),
    (("-m",), dict(dest="module", action="store_true"),
     "run the library module named next as a script (as `python -m`); "
     "memory_profiler runs any target not ending in .py as a module",
     "python -m peakmem -m package.module --its-own-flag"),
]


def build_parser():
    """The argparse parser of python -m peakmem (also for tests)."""
    p = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=examples(OPTIONS),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, OPTIONS)
    p.add_argument("program", nargs=argparse.REMAINDER,
                   metavar="script.py | module",
                   help="the script (or, with -m, the module) and its "
                        "arguments")
    return p


def parse(argv):
    """argparse.Namespace of argv (without the program name); usage
    errors print argparse's usage and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    program = list(args.program)
    if program and program[0] == "--":
        program.pop(0)
    if not program:
        parser.error("a script or -m module to run is needed")
    args.target, args.script_argv = program[0], program
    return args


def main(argv=None):
    """python -m peakmem; returns the exit code."""
    args = parse(sys.argv[1:] if argv is None else argv)
    return _run_main(args.target, args.module, args.script_argv,
                     args.precision, args.outfile, args.include_children,
                     args.pdb_mmem or 0.0, args.timestamp, args.backend)
