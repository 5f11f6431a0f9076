"""Benchmark: what each memory_profiler backend costs peakmem's line
profiler (@profile(backend=...)) on a hot loop, as a slowdown against the
loop unprofiled; and each memory_usage() reading. Prints times and
ratios; asserts nothing.

  .venv/bin/python bench/backends.py [--n N]
"""
import argparse
import io
import time

import peakmem

BACKENDS = ("psutil", "posix", "psutil_pss", "psutil_uss", "tracemalloc")


def hot(n):
    s = 0
    for i in range(n):
        s += i
    return s


def best_of(f, *args, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f(*args)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200000)
    n = ap.parse_args().n
    base = best_of(hot, n)
    print("loop of %d, unprofiled        %9.2f ms" % (n, base * 1e3))
    for b in BACKENDS:
        prof = peakmem.profile(hot, stream=io.StringIO(), backend=b)
        t = best_of(prof, n)
        print("@profile(backend=%-12r) %9.2f ms  %6.1fx"
              % (b, t * 1e3, t / base))
    for b in BACKENDS:
        k = 200
        t = time.perf_counter()
        for _ in range(k):
            peakmem.memory_usage(-1, backend=b)
        print("memory_usage(-1, backend=%-12r) %8.1f us"
              % (b, (time.perf_counter() - t) / k * 1e6))


if __name__ == "__main__":
    main()
