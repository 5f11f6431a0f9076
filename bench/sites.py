"""Benchmark: `%memit --sites` against tracemalloc and memray on the same
cells, side by side in one run. Prints a table, asserts nothing.

  .venv/bin/python bench/sites.py [--runs N] [--memray-python PATH]

Each (tool, case) runs in a fresh process. Accuracy: the allocation peak
each tool reports and the line it names for the largest holder at that
peak (memray: its high-water-mark records; tracemalloc keeps no snapshot
at the peak, so only its peak is shown). Overhead: the statement's median
wall time over N runs with the tool on, divided by the same process's
untraced median (peakmem: `%%memit --sites` over plain `%%memit`).

memray comes from PyPI into a separate venv, never a peakmem dependency:
  /usr/bin/python3 -m venv --system-site-packages .venv-bench
  .venv-bench/bin/pip install memray
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

MIB = 2 ** 20

NUMPY = "import numpy as np\n"
PANDAS = ("import numpy as np, pandas as pd\n"
          "l = pd.DataFrame({'k': np.arange(10**6), 'a': np.ones(10**6)})\n"
          "r = pd.DataFrame({'k': np.arange(10**6)[::-1], "
          "'b': np.ones(10**6)})\n")
GROUPS = ("import numpy as np, pandas as pd\n"
          "df = pd.DataFrame({'k': np.arange(10**6) % 1000, "
          "'v': np.ones(10**6)})\n")
FUNC = ("def f():\n"
        "    a = np.ones(2**25)  # 256 MiB\n"
        "    return float(a.sum())\n")

# name: (setup, statement, cleanup, expected allocated peak in bytes or
# None, the line a user expects named)
CASES = {
    "np.ones(2**20)": (NUMPY, "x = np.ones(2**20)", "del x", 8 * MIB,
                       "x = np.ones(2**20)"),
    "256 MiB in f()": (NUMPY + FUNC, "y = 1\nf()", "", 256 * MIB,
                       "a = np.ones(2**25)  # 256 MiB"),
    "pandas merge": (PANDAS, "m = l.merge(r, on='k')", "del m", None,
                     "m = l.merge(r, on='k')"),
    "10^6 tuples": ("", "t = [(i, i) for i in range(10**6)]", "del t",
                    "tracemalloc", "t = [(i, i) for i in range(10**6)]"),
    "pandas groupby": (GROUPS, "g = df.groupby('k')['v'].sum()", "del g",
                       None, "g = df.groupby('k')['v'].sum()"),
}

CHILD_PEAKMEM = r'''
import json, statistics, sys
from IPython.core.interactiveshell import InteractiveShell
setup, stmt, cleanup, runs = json.loads(sys.argv[1])
sh = InteractiveShell.instance()
sh.run_line_magic("load_ext", "peakmem")
sh.run_cell(setup)
def memit(opts):
    r = sh.run_cell_magic("memit", "-q -o " + opts, stmt + "\n")
    sh.run_cell(cleanup)
    return r
plain, sites, res, peak_rss = [], [], None, []
for i in range(runs):
    # alternate the order: page reuse favours whichever runs second
    if i % 2:
        r2 = memit("--sites 1")
        r = memit("")
    else:
        r = memit("")
        r2 = memit("--sites 1")
    plain.append(r.wall_times[0])
    sites.append(r2.wall_times[0])
    res = r2
    peak_rss.append((r.increment, r2.increment))
top = res.sites[0] if res.sites else {}
print(json.dumps({"peak": res.allocated_peak_bytes,
                  "line": top.get("via_source") if top.get("via_where")
                  else top.get("source"),
                  "where": top.get("via_where") or top.get("where"),
                  "untraced": statistics.median(plain),
                  "traced": statistics.median(sites),
                  "rss_inc": statistics.median(p[0] for p in peak_rss),
                  "rss_inc_sites": statistics.median(p[1] for p in peak_rss)}))
'''

CHILD_TRACEMALLOC = r'''
import json, statistics, sys, time, tracemalloc, linecache
setup, stmt, cleanup, runs = json.loads(sys.argv[1])
ns = {}
exec(setup, ns)
linecache.cache["<cell>"] = (len(stmt), None, stmt.splitlines(True), "<cell>")
code = compile(stmt, "<cell>", "exec")
def once(trace):
    if trace:
        tracemalloc.start(1)
    t0 = time.perf_counter()
    exec(code, ns)
    dt = time.perf_counter() - t0
    peak = None
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    exec(cleanup, ns)
    return dt, peak
plain, traced, peak = [], [], None
for i in range(runs):
    if i % 2:
        dt, peak = once(True)
        plain.append(once(False)[0])
    else:
        plain.append(once(False)[0])
        dt, peak = once(True)
    traced.append(dt)
print(json.dumps({"peak": peak, "line": None, "where": None,
                  "untraced": statistics.median(plain),
                  "traced": statistics.median(traced)}))
'''

CHILD_MEMRAY = r'''
import json, os, statistics, sys, tempfile, time, linecache
import memray
setup, stmt, cleanup, runs = json.loads(sys.argv[1])
ns = {}
fn = os.path.join(tempfile.mkdtemp(), "cell.py")
with open(fn, "w") as f:
    f.write(stmt + "\n")
exec(compile(setup, os.path.join(os.path.dirname(fn), "setup.py"), "exec"),
     ns)
with open(os.path.join(os.path.dirname(fn), "setup.py"), "w") as f:
    f.write(setup)
code = compile(stmt, fn, "exec")
def once(path):
    t0 = time.perf_counter()
    if path:
        with memray.Tracker(path):
            exec(code, ns)
    else:
        exec(code, ns)
    dt = time.perf_counter() - t0
    exec(cleanup, ns)
    return dt
plain, traced = [], []
for i in range(runs):
    path = fn + ".%d.bin" % i
    if i % 2:
        traced.append(once(path))
        plain.append(once(None))
    else:
        plain.append(once(None))
        traced.append(once(path))
reader = memray.FileReader(path)
peak = reader.metadata.peak_memory
best = None
for rec in reader.get_high_watermark_allocation_records(merge_threads=True):
    if best is None or rec.size > best.size:
        best = rec
line = where = None
if best is not None:
    stack = best.stack_trace()
    user = [s for s in stack
            if s[1] in (fn, os.path.join(os.path.dirname(fn), "setup.py"))]
    if user:
        where = "%s:%d" % (os.path.basename(user[0][1]), user[0][2])
        line = linecache.getline(user[0][1], user[0][2]).strip()
print(json.dumps({"peak": peak, "line": line, "where": where,
                  "untraced": statistics.median(plain),
                  "traced": statistics.median(traced)}))
'''


def child(python, program, case, runs):
    setup, stmt, cleanup = CASES[case][:3]
    out = subprocess.run([python, "-c", program,
                          json.dumps([setup, stmt, cleanup, runs])],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def mib(v):
    return "-" if v is None else "%.2f" % (v / MIB)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--memray-python",
                    default=os.path.join(os.path.dirname(__file__), "..",
                                         ".venv-bench", "bin", "python"))
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    tools = [("peakmem --sites", sys.executable, CHILD_PEAKMEM),
             ("tracemalloc", sys.executable, CHILD_TRACEMALLOC)]
    if os.path.exists(args.memray_python):
        tools.append(("memray", args.memray_python, CHILD_MEMRAY))
    else:
        print("memray: no %s (see the docstring)" % args.memray_python)
    print("| case | tool | allocated peak MiB | expected MiB | top line named "
          "| untraced s | traced s | overhead |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for case in args.cases.split(","):
        results = {}
        for name, python, program in tools:
            results[name] = child(python, program, case, args.runs)
        expected = CASES[case][3]
        if expected == "tracemalloc":
            expected = results.get("tracemalloc", {}).get("peak")
        for name, r in results.items():
            if "error" in r:
                print("| %s | %s | error: %s |||||" % (case, name,
                                                      r["error"]))
                continue
            named = r.get("line")
            ok = "" if named is None else (
                " (ok)" if named == CASES[case][4] else "")
            print("| %s | %s | %s | %s | %s%s | %.3f | %.3f | %.2fx |" % (
                case, name, mib(r["peak"]), mib(expected),
                "`%s`" % named if named else "-", ok, r["untraced"],
                r["traced"], r["traced"] / r["untraced"]))
            if "rss_inc" in r:
                print("| %s | (RSS increment: plain %%memit %.2f MiB, "
                      "with --sites %.2f MiB) |||||||" % (
                          case, r["rss_inc"] / MIB,
                          r["rss_inc_sites"] / MIB))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
