"""Benchmark: peakmem's %mprun against memory_profiler 0.61's, side by side
in one IPython process. Prints figures, asserts nothing.

  .venv/bin/python bench/mprun.py [--n N] [--mp-n N] [--repeat R]

1. A tight pure-Python loop (`s += i`, N iterations) in a profiled
   function: its time untraced, under a C tracer that does nothing (the
   interpreter's floor for any C line tracer) and under peakmem's %mprun,
   and %mprun's time as a ratio of that floor (the goal: <= 1.5x on every
   host). On Python 3.12+ %mprun runs on sys.monitoring (PEP 669), and
   two more figures are printed: the floor of a no-op C callback on the
   same sys.monitoring events (start, return and LINE as local events on
   the loop's code object; the goal there: %mprun <= 1.5x it and below
   the legacy hook's floor) and %mprun forced onto the legacy hook (every
   tool id it may take held by a stand-in tool). Measured twice, each in
   a fresh process: with the read gate's
   default clock (the CPU's time-stamp counter where the kernel lists
   "tsc" as a usable clocksource, as on tsc and most kvm-clock hosts),
   and with PEAKMEM_TICKS=clock, which forces the gate onto
   clock_gettime(CLOCK_MONOTONIC) (the path of hosts without a usable
   TSC; set the variable yourself to run anything on that path). The
   host's clocksource is printed first
   (/sys/devices/system/clocksource/clocksource0/current_clocksource).
2. memory_profiler's %mprun on the same loop (on fewer iterations, --mp-n:
   it is ~1000x slower; the slowdown is per iteration).
3. The same loop in an unprofiled function called from a profiled one
   (on 3.12+ also with %mprun forced onto the legacy hook).

Times are the process's CPU time (time.process_time: the tracer has no
thread of its own), so that other processes on a shared host do not
count; untraced, floor and %mprun runs are interleaved and the best of
--repeat is kept.
"""
import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time

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

CLOCKSOURCE = "/sys/devices/system/clocksource/clocksource0/"


def read_sys(name):
    try:
        with open(CLOCKSOURCE + name) as f:
            return f.read().strip()
    except OSError as e:
        return "unknown (%s)" % e.strerror


def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        f()
        times.append(time.process_time() - t0)
    return min(times)


def quiet(f):
    with contextlib.redirect_stdout(io.StringIO()):
        return f()


def shell_with_code():
    from IPython.core.interactiveshell import InteractiveShell
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext peakmem")
    # memory_profiler only profiles functions defined in files.
    where = tempfile.mkdtemp()
    with open(os.path.join(where, "pm_bench_code.py"), "w") as f:
        f.write(CODE)
    sys.path.insert(0, where)
    sh.run_cell("from pm_bench_code import loop, inner, outer")
    return sh


def tight_loop(n, repeat):
    """Best times (s) of untraced, floor and %mprun, interleaved."""
    sh = shell_with_code()
    mprun = sh.find_line_magic("mprun")
    ns = sh.user_ns
    import peakmem._peakmem as ext
    runs = {
        "base": lambda: ns["loop"](n),
        "floor": lambda: ext._call_with_noop_tracer(lambda: ns["loop"](n)),
        "ours": lambda: quiet(lambda: mprun(f"-f loop loop({n})")),
    }
    if sys.version_info >= (3, 12):
        code = ns["loop"].__code__
        runs["monitor"] = lambda: ext._call_with_noop_monitor(
            code, lambda: ns["loop"](n))
        runs["ours_legacy"] = lambda: legacy(
            lambda: quiet(lambda: mprun(f"-f loop loop({n})")))
    times = {k: [] for k in runs}
    for _ in range(repeat):
        for k, f in runs.items():
            t0 = time.process_time()
            f()
            times[k].append(time.process_time() - t0)
    return {k: min(v) for k, v in times.items()}


def legacy(f):
    """f() with every tool id peakmem may take held: %mprun falls back
    to the legacy trace hook."""
    import warnings
    mon = sys.monitoring
    held = [i for i in range(2, 6) if mon.get_tool(i) is None]
    for i in held:
        mon.use_tool_id(i, "bench-stand-in")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f()
    finally:
        for i in held:
            mon.free_tool_id(i)


def child(args):
    print(json.dumps(tight_loop(args.n, args.repeat)))


def measure_in_child(args, ticks):
    env = dict(os.environ)
    env.pop("PEAKMEM_TICKS", None)
    if ticks is not None:
        env["PEAKMEM_TICKS"] = ticks
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--n", str(args.n),
         "--repeat", str(args.repeat)],
        env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10 ** 6)
    ap.add_argument("--mp-n", type=int, default=10 ** 4)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    n, mp_n = args.n, args.mp_n

    print("peakmem vs memory_profiler 0.61, %mprun, one IPython process")
    print()
    print(f"clocksource: {read_sys('current_clocksource')} "
          f"(available: {read_sys('available_clocksource')})")
    print()
    print("tight loop, s += i          iterations   time      slowdown"
          "  / floor")
    for label, ticks in (("default gate clock", None),
                         ("PEAKMEM_TICKS=clock", "clock")):
        t = measure_in_child(args, ticks)
        base, floor, ours = t["base"], t["floor"], t["ours"]
        # The floor %mprun is held to: the no-op callback of its backend.
        ref = t.get("monitor", floor)
        print(f" {label}")
        print(f"  untraced                  {n:>10}   {base * 1e3:8.1f} ms"
              f"     1.0x")
        what = "no-op C tracer" + ("" if "monitor" in t else " (floor)")
        print(f"  {what:<26}{n:>10}   {floor * 1e3:8.1f} ms "
              f"{floor / base:6.1f}x  {floor / ref:7.2f}x")
        if "monitor" in t:
            mon = t["monitor"]
            print(f"  no-op monitoring C (floor){n:>10}   "
                  f"{mon * 1e3:8.1f} ms {mon / base:6.1f}x  "
                  f"{mon / ref:7.2f}x")
            leg = t["ours_legacy"]
            print(f"  peakmem %mprun (settrace) {n:>10}   "
                  f"{leg * 1e3:8.1f} ms {leg / base:6.1f}x  "
                  f"{leg / ref:7.2f}x")
        print(f"  peakmem %mprun            {n:>10}   {ours * 1e3:8.1f} ms "
              f"{ours / base:6.1f}x  {ours / ref:7.2f}x")
        if "monitor" in t:
            print(f"  (%mprun on sys.monitoring / legacy hook floor: "
                  f"{ours / floor:.2f}x)")

    sh = shell_with_code()
    ns = sh.user_ns
    peak_mprun = sh.find_line_magic("mprun")
    try:
        import memory_profiler  # noqa: F401
    except ImportError:
        mp_mprun = None
    else:
        # 0.61 imports distutils (gone in 3.12): then it cannot load, and
        # "mprun" would still be peakmem's
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            loaded = sh.run_cell("%load_ext memory_profiler").success
        mp_mprun = sh.find_line_magic("mprun") if loaded else None
    base = best(lambda: ns["loop"](n))
    ours = best(lambda: quiet(lambda: peak_mprun(f"-f loop loop({n})")))
    print()
    if mp_mprun is not None:
        base_mp = best(lambda: ns["loop"](mp_n))
        theirs = best(
            lambda: quiet(lambda: mp_mprun(f"-f loop loop({mp_n})")),
            repeat=3)
        print(f"  memory_profiler %mprun    {mp_n:>10}   "
              f"{theirs * 1e3:8.1f} ms {theirs / base_mp:6.0f}x")
        print(f"  ratio memory_profiler/peakmem (slowdowns)      "
              f"{(theirs / base_mp) / (ours / base):6.0f}x")
    else:
        print("  memory_profiler is not installed or does not load here: "
              "its column is left out")

    base_o = best(lambda: ns["outer"](n))
    ours_o = best(lambda: quiet(lambda: peak_mprun(f"-f outer outer({n})")))
    print()
    print("unprofiled inner() called from profiled outer()")
    print(f"  untraced                  {n:>10}   {base_o * 1e3:8.1f} ms     1.0x")
    print(f"  peakmem %mprun -f outer   {n:>10}   {ours_o * 1e3:8.1f} ms "
          f"{ours_o / base_o:6.1f}x")
    if sys.version_info >= (3, 12):
        leg_o = best(lambda: legacy(
            lambda: quiet(lambda: peak_mprun(f"-f outer outer({n})"))))
        print(f"  same, settrace            {n:>10}   {leg_o * 1e3:8.1f} ms "
              f"{leg_o / base_o:6.1f}x")


if __name__ == "__main__":
    main()
