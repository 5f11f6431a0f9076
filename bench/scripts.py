"""Benchmark: `python -m peakmem` against `python -m memory_profiler` on
the same script, a hot loop inside a profiled function. Prints wall times
and the ratio; asserts nothing.

  .venv/bin/python bench/scripts.py [--n N]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

SCRIPT = '''\
import builtins
profile = getattr(builtins, "profile", lambda f: f)


@profile
def hot(n):
    s = 0
    for i in range(n):
        s += i
    data = [0] * n
    return s + len(data)


hot({n})
'''


def wall(cmd, cwd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (cmd, out.stderr))
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    where = tempfile.mkdtemp()
    path = os.path.join(where, "hot.py")
    with open(path, "w") as f:
        f.write(SCRIPT.format(n=args.n))
    runs = [
        ("python hot.py (no profiler)", [sys.executable, "hot.py"]),
        ("python -m peakmem hot.py", [sys.executable, "-m", "peakmem",
                                      "hot.py"]),
        ("python -m memory_profiler hot.py",
         ["/usr/bin/python3", "-m", "memory_profiler", "hot.py"]),
    ]
    times = {}
    for name, cmd in runs:
        times[name] = min(wall(cmd, where) for _ in range(2))
    print("python -m peakmem vs python -m memory_profiler 0.61, a hot loop "
          "of %d iterations in a profiled function (best of 2, wall time "
          "including interpreter start)" % args.n)
    for name, t in times.items():
        print(f"  {name:36} {t:8.3f} s")
    ours = times["python -m peakmem hot.py"]
    theirs = times["python -m memory_profiler hot.py"]
    print(f"  {'ratio memory_profiler/peakmem':36} {theirs / ours:8.1f} x")


if __name__ == "__main__":
    main()
