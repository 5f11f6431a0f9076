"""Benchmark (issue 14.2): what --dask adds to a %memit on a LocalCluster
of 2 process workers: the median wall time of `%memit -q pass` with and
without --dask (25 calls each, after a warm-up), and their difference.
Goal: under 50 ms beyond the statement. Needs dask and distributed (the
PyPI 'current' leg has them). Asserts nothing.

  .venv-current/bin/python bench/dask_cost.py [--calls 25]
"""
import argparse
import statistics
import time


def timed(ip, line, calls):
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        ip.run_line_magic("memit", line)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=25)
    args = ap.parse_args()
    from IPython.testing.globalipapp import start_ipython
    from distributed import Client, LocalCluster
    ip = start_ipython()
    ip.run_line_magic("load_ext", "peakmem")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2)
        timed(ip, "-q --dask pass", 3)  # warm-up: imports in the workers
        plain = timed(ip, "-q pass", args.calls)
        dask = timed(ip, "-q --dask pass", args.calls)
        # What --dask adds, without the rest of %memit (gc.collect() in a
        # process that imported distributed dominates, and varies).
        from peakmem import _dask
        calls = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            _dask.end(_dask.begin())
            calls.append(time.perf_counter() - t0)
        direct = statistics.median(calls)
    print("%%memit -q pass, median of %d calls, 2 process workers:"
          % args.calls)
    print("  without --dask   %8.1f ms" % (plain * 1e3))
    print("  with --dask      %8.1f ms" % (dask * 1e3))
    print("  --dask adds      %8.1f ms   (difference of the medians)"
          % ((dask - plain) * 1e3))
    print("  begin + end      %8.1f ms   (the two cluster calls alone; "
          "goal < 50 ms)" % (direct * 1e3))


if __name__ == "__main__":
    main()
