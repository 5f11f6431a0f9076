"""The command line of ``python -m peakmem``, with memory_profiler's flags.

Parsing lives here (argparse: help, ``--opt=value``, ``--version``, usage
errors with exit code 2); running the script, the line profiler and the
report stay in C (``_peakmem._run_main``, magics/runner_py.c).
"""
import argparse
import sys

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

EPILOG = """\
examples:
  python -m peakmem script.py --its-own-flag
  python -m peakmem --precision=1 -o report.txt -m package.module
  python -m peakmem --pdb-mmem=100 script.py
  python -m peakmem --timestamp -o run.dat script.py"""


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


def build_parser():
    """The argparse parser of python -m peakmem (also for tests)."""
    p = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version",
                   version="peakmem " + __version__)
    p.add_argument("--precision", type=_precision, default=3, metavar="N",
                   help="decimals of the MiB columns (0 to 20; default 3, "
                        "as python -m memory_profiler; @profile's own "
                        "default stays 1, as memory_profiler's)")
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="append the report to FILE instead of printing it "
                        "(as memory_profiler: open(FILE, 'a'); symlinks "
                        "followed, the file's mode kept)")
    p.add_argument("--include-children", action="store_true",
                   help="also count the memory of child processes")
    p.add_argument("--pdb-mmem", type=_mib, metavar="MAXMEM",
                   help="stop in pdb when memory passes MAXMEM MiB, on the "
                        "profiled line after the one that passed it (as "
                        "memory_profiler)")
    p.add_argument("--timestamp", "-t", action="store_true",
                   help="record each call of a @profile'd function as "
                        "mprof's FUNC lines (start and end time and "
                        "memory), appended to -o FILE, instead of the "
                        "table (what `peakmem run` uses)")
    p.add_argument("--backend", choices=BACKENDS, default="psutil",
                   metavar="NAME",
                   help="what the table measures, as memory_profiler: "
                        "psutil and posix the resident set size (RSS), "
                        "psutil_pss the proportional and psutil_uss the "
                        "unique set size (/proc/self/smaps_rollup; each "
                        "read costs tens of us instead of one), "
                        "tracemalloc the memory Python's tracemalloc "
                        "traces (started for the run). "
                        "Choices: " + ", ".join(BACKENDS))
    p.add_argument("-m", dest="module", action="store_true",
                   help="run the library module named next as a script "
                        "(as python -m)")
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
