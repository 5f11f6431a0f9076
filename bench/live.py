"""Benchmark: the cost of the live line. Runs `%memit time.sleep(S)` in a
real ipykernel with the live line and with --no-live, and prints the
kernel process's CPU time per second of the statement (from
/proc/<pid>/stat) and the messages published per second. The statement
sleeps, so what the kernel process spends beyond a plain
`time.sleep(S)` is the sampler thread plus the live thread.

  .venv/bin/python bench/live.py [--seconds S]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from conftest import Kernel  # noqa: E402

def cpu_seconds(pid):
    """CPU time of all the process's threads, in ns precision: the first
    field of /proc/<pid>/task/<tid>/schedstat (threads that ended during
    the run are missed; ours are joined after the reading)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def run(k, pid, code, seconds):
    c0, t0 = cpu_seconds(pid), time.monotonic()
    _, msgs = k.execute(code, timeout=seconds + 60)
    c1, t1 = cpu_seconds(pid), time.monotonic()
    shown = [m for m in msgs
             if m["msg_type"] in ("display_data", "update_display_data")]
    return (c1 - c0) / (t1 - t0), len(shown) / (t1 - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    k = Kernel()
    try:
        k.execute("%load_ext peakmem\nimport time", allow_error=False)
        pid = k.value("__import__('os').getpid()")
        stmt = "time.sleep(%g)" % args.seconds
        run(k, pid, "%memit " + stmt, 1)  # warm up
        plain_cpu, plain_rate = run(k, pid, stmt, args.seconds)
        live_cpu, live_rate = run(k, pid, "%memit " + stmt, args.seconds)
        quiet_cpu, quiet_rate = run(k, pid, "%memit --no-live " + stmt,
                                    args.seconds)
    finally:
        k.close()
    print("live line cost, %%memit time.sleep(%g) in a real ipykernel"
          % args.seconds)
    print(f"  {'':26} {'kernel CPU':>12} {'messages/s':>12}")
    print(f"  {'plain statement':26} {plain_cpu * 100:10.3f} % "
          f"{plain_rate:12.1f}")
    print(f"  {'%memit --no-live':26} {quiet_cpu * 100:10.3f} % "
          f"{quiet_rate:12.1f}")
    print(f"  {'%memit (live line)':26} {live_cpu * 100:10.3f} % "
          f"{live_rate:12.1f}")
    print(f"  {'sampler + live, over plain':26} "
          f"{(live_cpu - plain_cpu) * 100:10.3f} % of one core")


if __name__ == "__main__":
    main()
