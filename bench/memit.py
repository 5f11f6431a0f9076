"""Benchmark: peakmem's %memit against memory_profiler 0.61's, side by side
in one IPython process. Prints figures, asserts nothing.

  .venv/bin/python bench/memit.py [--calls N] [--spikes N]

1. Fixed cost of `%memit pass` (median of N calls each) and the ratio.
2. Transient-spike capture: `%memit np.ones(256 MiB).sum()` (allocated and
   freed inside the statement) counted as caught when the reported
   increment is >= 95% of 256 MiB.
"""
import argparse
import contextlib
import gc
import io
import re
import statistics
import time

from IPython.core.interactiveshell import InteractiveShell

LINE = re.compile(r"peak memory: (-?[\d.]+) MiB, increment: (-?[\d.]+) MiB")


def shells():
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "peakmem")
    peak_memit = sh.find_line_magic("memit")
    sh.run_line_magic("load_ext", "memory_profiler")
    mp_memit = sh.find_line_magic("memit")
    sh.run_cell("import numpy as np")
    return sh, {"peakmem": peak_memit, "memory_profiler": mp_memit}


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def run(magic, line):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        t0 = time.perf_counter()
        magic(line)
        dt = time.perf_counter() - t0
    return dt, out.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=25)
    ap.add_argument("--spikes", type=int, default=20)
    args = ap.parse_args()
    sh, magics = shells()

    print("peakmem vs memory_profiler 0.61, %memit, one IPython process")
    costs = {}
    for name, magic in magics.items():
        run(magic, "pass")  # warm up
        times = [run(magic, "pass")[0] for _ in range(args.calls)]
        costs[name] = statistics.median(times)
    print()
    print(f"{'fixed cost of %memit pass':34} {'median':>12}   calls")
    for name, cost in costs.items():
        print(f"  {name:32} {cost * 1e3:9.3f} ms   {args.calls}")
    ratio = costs["memory_profiler"] / costs["peakmem"]
    print(f"  {'ratio (memory_profiler/peakmem)':32} {ratio:9.1f} x")
    # Both magics run a full gc.collect() before the baseline; its cost
    # depends on the objects alive in the process, not on the profiler.
    # With gc.collect replaced by a no-op for a moment, what remains is
    # each profiler's own cost.
    gc_cost = statistics.median(timed(gc.collect) for _ in range(args.calls))
    print(f"  {'gc.collect() alone':32} {gc_cost * 1e3:9.3f} ms"
          f"   ({len(gc.get_objects())} objects alive)")
    real_collect = gc.collect
    gc.collect = lambda *a, **k: 0
    try:
        own = {}
        for name, magic in magics.items():
            own[name] = statistics.median(
                run(magic, "pass")[0] for _ in range(args.calls))
    finally:
        gc.collect = real_collect
    for name, cost in own.items():
        print(f"  {name + ' without gc.collect()':32} {cost * 1e3:9.3f} ms")
    print(f"  {'ratio without gc.collect()':32} "
          f"{own['memory_profiler'] / own['peakmem']:9.0f} x")
    print()
    print(f"{'transient 256 MiB spike caught':34} {'runs':>12}")
    stmt = "np.ones(256 * 2**20 // 8).sum()"
    for name, magic in magics.items():
        caught = 0
        for _ in range(args.spikes):
            _, text = run(magic, stmt)
            m = LINE.search(text)
            if m and float(m.group(2)) >= 0.95 * 256:
                caught += 1
        print(f"  {name:32} {caught:6d} / {args.spikes}")


if __name__ == "__main__":
    main()
