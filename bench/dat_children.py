"""Benchmark: `peakmem peak` on a .dat file with many child pids (CHLD
records), the case where looking children up by pid was quadratic. Writes
the file (one MEM sample, then one CHLD record per pid, then a second
round of them in reverse order), times `peakmem peak` on it, and prints
the wall time beside the time of `peakmem peak` on a file with the same
number of MEM records and no child (the floor: reading and parsing that
much text). Asserts nothing. Goal for 100,000 pids: < 0.2 s.

  .venv/bin/python bench/dat_children.py [--pids N] [--peakmem PATH]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def write_children(path, pids):
    with open(path, "w") as f:
        f.write("CMDLINE bench\nMEM 100.000000 1700000000.0000\n")
        for i in range(pids):
            f.write("CHLD %d 1.000000 1700000000.%04d\n" % (1000 + i, i % 10))
        for i in reversed(range(pids)):
            f.write("CHLD %d 2.000000 1700000001.%04d\n" % (1000 + i, i % 10))


def write_floor(path, records):
    with open(path, "w") as f:
        f.write("CMDLINE bench\n")
        for i in range(records):
            f.write("MEM 100.000000 %d.0000\n" % (1700000000 + i))


def best_wall(cmd, runs=3):
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit("%s failed:\n%s" % (cmd, out.stderr))
        best = dt if best is None else min(best, dt)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pids", type=int, default=100_000)
    ap.add_argument("--peakmem", default=os.path.join(
        os.path.dirname(sys.executable), "peakmem"))
    args = ap.parse_args()
    where = tempfile.mkdtemp()
    kids = os.path.join(where, "children.dat")
    floor = os.path.join(where, "floor.dat")
    write_children(kids, args.pids)
    write_floor(floor, 2 * args.pids)
    t_kids = best_wall([args.peakmem, "peak", kids])
    t_floor = best_wall([args.peakmem, "peak", floor])
    print("peakmem peak, %d pids (%d CHLD records): %.3f s"
          % (args.pids, 2 * args.pids, t_kids))
    print("peakmem peak, %d MEM records, no child:   %.3f s"
          % (2 * args.pids, t_floor))
    print("ratio to the floor: %.2fx" % (t_kids / t_floor))


if __name__ == "__main__":
    main()
