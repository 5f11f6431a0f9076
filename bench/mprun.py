"""Benchmark: peakmem's %mprun against memory_profiler 0.61's, side by side
in one IPython process. Prints figures, asserts nothing.

  .venv/bin/python bench/mprun.py [--n N] [--mp-n N]

1. A tight pure-Python loop (`s += i`, N iterations) in a profiled
   function: its slowdown against the same call untraced, for a C tracer
   that does nothing (the interpreter's floor), peakmem and
   memory_profiler (run on fewer iterations, --mp-n: it is ~1000x slower;
   the slowdown is per iteration).
2. The same loop in an unprofiled function called from a profiled one.
"""
import argparse
import contextlib
import io
import os
import sys
import tempfile
import statistics
import time

from IPython.core.interactiveshell import InteractiveShell

CODE = '''
def loop(n):
    s = 0
    for i in range(n):
        s += i
    return s

def inner(n):
    s = 0
    for i in range(n):
        s += i
    return s

def outer(n):
    return inner(n)
'''


def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def quiet(f):
    with contextlib.redirect_stdout(io.StringIO()):
        return f()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10 ** 6)
    ap.add_argument("--mp-n", type=int, default=10 ** 4)
    args = ap.parse_args()
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext peakmem")
    peak_mprun = sh.find_line_magic("mprun")
    sh.run_cell("%load_ext memory_profiler")
    mp_mprun = sh.find_line_magic("mprun")
    # memory_profiler only profiles functions defined in files.
    where = tempfile.mkdtemp()
    with open(os.path.join(where, "pm_bench_code.py"), "w") as f:
        f.write(CODE)
    sys.path.insert(0, where)
    sh.run_cell("from pm_bench_code import loop, inner, outer")
    ns = sh.user_ns
    import peakmem._peakmem as ext

    n, mp_n = args.n, args.mp_n
    base = best(lambda: ns["loop"](n))
    base_mp = best(lambda: ns["loop"](mp_n))
    floor = best(lambda: ext._call_with_noop_tracer(lambda: ns["loop"](n)))
    ours = best(lambda: quiet(lambda: peak_mprun(f"-f loop loop({n})")))
    theirs = best(lambda: quiet(lambda: mp_mprun(f"-f loop loop({mp_n})")),
                  repeat=3)
    print("peakmem vs memory_profiler 0.61, %mprun, one IPython process")
    print()
    print(f"tight loop, s += i          iterations   time      slowdown")
    print(f"  untraced                  {n:>10}   {base * 1e3:8.1f} ms     1.0x")
    print(f"  no-op C tracer (floor)    {n:>10}   {floor * 1e3:8.1f} ms "
          f"{floor / base:6.1f}x")
    print(f"  peakmem %mprun            {n:>10}   {ours * 1e3:8.1f} ms "
          f"{ours / base:6.1f}x")
    print(f"  memory_profiler %mprun    {mp_n:>10}   {theirs * 1e3:8.1f} ms "
          f"{theirs / base_mp:6.0f}x")
    print(f"  ratio memory_profiler/peakmem (slowdowns)      "
          f"{(theirs / base_mp) / (ours / base):6.0f}x")

    base_o = best(lambda: ns["outer"](n))
    ours_o = best(lambda: quiet(lambda: peak_mprun(f"-f outer outer({n})")))
    print()
    print("unprofiled inner() called from profiled outer()")
    print(f"  untraced                  {n:>10}   {base_o * 1e3:8.1f} ms     1.0x")
    print(f"  peakmem %mprun -f outer   {n:>10}   {ours_o * 1e3:8.1f} ms "
          f"{ours_o / base_o:6.1f}x")


if __name__ == "__main__":
    main()
