"""%memit --sites through a real ipykernel: the allocation peak and the
sites that held it (issue 13's accuracy cases), the NEP 49 handler numpy
reports while the statement runs, and tracking that ends with the
statement (errors, repeats, no hooks left behind)."""
import pytest

from conftest import displays, memit_numbers

MIB = 2 ** 20
MIME = "application/vnd.peakmem.memit+json"


# numpy's get_handler_name as _pm_h (numpy 2 moved it into numpy._core)
HANDLER_NAME = ("try:\n"
                "    from numpy._core.multiarray import get_handler_name "
                "as _pm_h\n"
                "except ImportError:\n"
                "    from numpy.core.multiarray import get_handler_name "
                "as _pm_h\n")


def result(kernel, code):
    reply, msgs = kernel.execute(code)
    assert reply["status"] == "ok", reply
    ds = [d for d in displays(msgs) if MIME in d["data"]]
    assert len(ds) == 1, msgs
    return reply["execution_count"], ds[0]["data"]


def test_sites_np_ones_8_mib_exact_whatever_rss_says(kernel):
    # a freed block of the same size first, so RSS usually does not move
    kernel.execute("_pm_y = np.ones(2**20); del _pm_y", allow_error=False)
    n, data = result(kernel, "%memit --sites x = np.ones(2**20)")
    doc = data[MIME]
    assert doc["version"] == 2
    assert abs(doc["allocated_peak_bytes"] - 8 * MIB) <= 0.01 * 8 * MIB, doc
    top = doc["sites"][0]
    assert "numeric.py:" in top["where"], top
    assert top["via_where"] == "In [%d] line 1" % n
    assert top["via_source"] == "x = np.ones(2**20)"
    assert top["share"] > 0.99
    # text: memory_profiler's line first, unchanged, then the sites
    text = data["text/plain"]
    lines = text.splitlines()
    memit_numbers(lines[0])
    shown = float(lines[1].split("allocated at peak: ")[1].split(" MiB")[0])
    assert abs(shown - 8) <= 0.08, lines[1]
    assert "; untracked: " in lines[1]
    assert "from In [%d] line 1: x = np.ones(2**20)" % n in text
    _, inc = memit_numbers(lines[0])
    print("RSS increment %.2f MiB, allocated peak %.2f MiB"
          % (inc, doc["allocated_peak_bytes"] / MIB))
    kernel.execute("del x", allow_error=False)


def test_sites_transient_in_function_attributed_to_its_line_and_cell(kernel):
    fn, _ = kernel.execute("def f():\n"
                           "    a = np.ones(2**25)  # 256 MiB\n"
                           "    return float(a.sum())\n", allow_error=False)
    n, data = result(kernel, "%%memit --sites 3\nf()\n")
    doc = data[MIME]
    assert abs(doc["allocated_peak_bytes"] - 256 * MIB) <= 0.01 * 256 * MIB
    top = doc["sites"][0]
    assert top["bytes"] >= 0.99 * 256 * MIB
    assert top["via_where"] == "In [%d] line 2" % fn["execution_count"]
    assert top["via_source"] == "a = np.ones(2**25)  # 256 MiB"
    assert top["statement_where"] == "In [%d] line 2" % n
    assert top["statement_source"] == "f()"
    assert len(doc["sites"]) <= 3
    # HTML: a table with <img> bars, no inline style
    html = data["text/html"]
    table = html[html.index('<table class="peakmem-sites">'):]
    assert 'class="peakmem-bar"' in table and "style=" not in table
    assert "a = np.ones(2**25)  # 256 MiB" in table


def test_sites_pandas_merge_attributed_to_its_line(kernel):
    reply, _ = kernel.execute("import pandas as pd")
    if reply["status"] != "ok":
        pytest.skip("pandas is not installed for this kernel")
    kernel.execute("l = pd.DataFrame({'k': np.arange(10**6), "
                   "'a': np.ones(10**6)})\n"
                   "r = pd.DataFrame({'k': np.arange(10**6)[::-1], "
                   "'b': np.ones(10**6)})", allow_error=False)
    n, data = result(kernel, "%%memit --sites\nx = 1\nm = l.merge(r, on='k')")
    doc = data[MIME]
    line = "In [%d] line 3" % n
    merge = [s for s in doc["sites"]
             if line in (s["where"], s["via_where"], s["statement_where"])]
    assert merge and doc["sites"][0] in merge, doc["sites"]
    held = sum(s["bytes"] for s in merge)
    assert held >= 0.9 * doc["allocated_peak_bytes"], doc
    # the merged frame alone is 3 columns of 10**6 8-byte values
    assert doc["allocated_peak_bytes"] >= 22 * MIB
    kernel.execute("del l, r, m", allow_error=False)


def test_sites_million_small_objects_within_5_percent(kernel):
    stmt = "l = [(i, i) for i in range(10**6)]"
    kernel.execute("import tracemalloc\ntracemalloc.start()\n" + stmt +
                   "\n_pm_tm = tracemalloc.get_traced_memory()[1]\n"
                   "tracemalloc.stop()\ndel l", allow_error=False)
    want = kernel.value("_pm_tm")
    _, data = result(kernel, "%%memit --sites\n" + stmt)
    got = data[MIME]["allocated_peak_bytes"]
    assert abs(got - want) <= 0.05 * want, (got, want)
    top = data[MIME]["sites"][0]
    assert top["source"] == stmt
    assert data[MIME]["sample_bytes"] > 0
    kernel.execute("del l", allow_error=False)


def test_sites_numpy_reports_our_handler_only_inside(kernel):
    kernel.execute(HANDLER_NAME, allow_error=False)
    result(kernel, "%%memit --sites\nh = _pm_h()")
    assert kernel.value("h") == "peakmem_sites"
    assert kernel.value("_pm_h()") == "default_allocator"
    result(kernel, "%%memit\nh2 = _pm_h()")
    assert kernel.value("h2") == "default_allocator"


def test_sites_end_with_a_failing_statement(kernel):
    reply, _ = kernel.execute("%memit --sites 1/0")
    assert reply["status"] == "error" and reply["ename"] == "ZeroDivisionError"
    # tracking ended: the next one starts, and tracemalloc can wrap again
    _, data = result(kernel, "%memit --sites -r 3 len(bytearray(2**23))")
    assert abs(data[MIME]["allocated_peak_bytes"] - 8 * MIB) <= 0.01 * 8 * MIB
    # over repeats: the second x is made while the first is still held
    _, data = result(kernel, "%memit --sites -r 3 x = bytearray(2**23)")
    assert abs(data[MIME]["allocated_peak_bytes"] - 16 * MIB) <= 0.01 * 16 * MIB
    assert kernel.value("__import__('tracemalloc').is_tracing()") is False


def test_sites_bad_count_is_one_line_usage_error(kernel):
    reply, _ = kernel.execute("%memit --sites=0 pass")
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert "--sites" in reply["evalue"] and "\n" not in reply["evalue"]
    _, data = result(kernel, "%memit pass")
    assert data[MIME]["sites"] is None
    assert data[MIME]["allocated_peak_bytes"] is None


def test_sites_native_memory_shows_as_untracked(kernel):
    # memory native code maps for itself is not tracked: it shows as the
    # untracked part of the RSS increment, not as a site (an anonymous
    # mmap, so the pages are new and RSS must grow)
    kernel.execute("import ctypes, mmap", allow_error=False)
    _, data = result(kernel, "%%memit --sites\n"
                     "buf = mmap.mmap(-1, 64 * 2**20)\n"
                     "ctypes.memset(ctypes.addressof("
                     "ctypes.c_char.from_buffer(buf)), 1, 64 * 2**20)")
    doc = data[MIME]
    assert doc["allocated_peak_bytes"] < 1 * MIB, doc
    assert abs(doc["untracked_bytes"] - 64 * MIB) <= 0.05 * 64 * MIB, doc
    kernel.execute("buf.close(); del buf", allow_error=False)


def test_sites_threads_of_the_statement_are_tracked(kernel):
    # hooks run on every thread: four threads each keep 16 MiB
    n, data = result(kernel, "%%memit --sites\n"
                     "import threading\n"
                     "held = []\n"
                     "def work():\n"
                     "    held.append([bytearray(2**20) for _ in range(16)])\n"
                     "ts = [threading.Thread(target=work) for _ in range(4)]\n"
                     "for t in ts: t.start()\n"
                     "for t in ts: t.join()")
    doc = data[MIME]
    assert abs(doc["allocated_peak_bytes"] - 64 * MIB) <= 0.02 * 64 * MIB
    top = doc["sites"][0]
    assert top["where"] == "In [%d] line 5" % n, top
    assert top["source"].startswith("held.append(")
    assert top["bytes"] >= 0.99 * 64 * MIB
    kernel.execute("del held", allow_error=False)


ALLOCATORS = r'''
import ctypes as _pm_ct
class _PmAlloc(_pm_ct.Structure):
    _fields_ = [(n, _pm_ct.c_void_p)
                for n in ("ctx", "malloc", "calloc", "realloc", "free")]
def _pm_allocators():
    out = []
    for domain in range(3):  # raw, mem, object
        a = _PmAlloc()
        _pm_ct.pythonapi.PyMem_GetAllocator(_pm_ct.c_int(domain),
                                            _pm_ct.byref(a))
        out.append((a.ctx, a.malloc, a.free))
    return out
'''


def memit_then(kernel, line, restore):
    """Run %memit LINE from code, then RESTORE whatever happened; the
    name of what it raised (BaseException included), or None."""
    kernel.execute("_pm_caught = None\n"
                   "try:\n"
                   "    get_ipython().run_line_magic('memit', %r)\n"
                   "except BaseException as e:\n"
                   "    _pm_caught = type(e).__name__\n"
                   "finally:\n"
                   "    %s\n" % (line, restore), allow_error=False)
    return kernel.value("_pm_caught")


def eight_mib(kernel):
    _, data = result(kernel, "%memit --sites 3 x = np.ones(2**20)")
    got = data[MIME]["allocated_peak_bytes"]
    assert abs(got - 8 * MIB) <= 0.01 * 8 * MIB, got
    kernel.execute("del x", allow_error=False)


def test_sites_after_tracemalloc_started_inside(kernel):
    """tracemalloc started inside a --sites statement wraps our hooks,
    which then stay in its chain: the next --sites must not wrap its own
    hook (it called itself forever: the kernel hung), with tracemalloc
    still on and after it stopped, and the allocators are the original
    ones again once both are done."""
    kernel.execute(ALLOCATORS + "_pm_before = _pm_allocators()",
                   allow_error=False)
    result(kernel, "%memit --sites import tracemalloc; tracemalloc.start()")
    eight_mib(kernel)  # tracemalloc on top of ours
    kernel.execute("tracemalloc.stop()", allow_error=False)
    eight_mib(kernel)
    assert kernel.value("_pm_allocators() == _pm_before") is True


def test_sites_keep_tracking_past_a_plain_memit_inside(kernel):
    """A %memit without --sites inside the statement (or beside it in
    another thread) leaves the outer tracking on."""
    _, data = result(kernel, "%memit --sites 3 get_ipython().run_line_magic("
                     "'memit', '-q pass'); x = np.ones(2**20)")
    got = data[MIME]["allocated_peak_bytes"]
    assert abs(got - 8 * MIB) <= 0.01 * 8 * MIB, got
    kernel.execute("del x", allow_error=False)


def test_sites_nested_sites_is_one_line_usage_error(kernel):
    reply, _ = kernel.execute("%memit --sites get_ipython().run_line_magic("
                              "'memit', '--sites 2 y = 1')")
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert "an outer %memit --sites is tracking" in reply["evalue"]
    eight_mib(kernel)


def test_sites_failed_realloc_keeps_the_block_counted(kernel):
    """A realloc that fails leaves the old block alive: it stays tracked
    (8 MiB held, then 8 more: 16 at the peak, not 8)."""
    _, data = result(kernel, "%%memit --sites 3\n"
                     "b = bytearray(8 * 2**20)\n"
                     "try:\n"
                     "    b *= 2**32\n"
                     "except MemoryError:\n"
                     "    pass\n"
                     "c = bytearray(8 * 2**20)")
    got = data[MIME]["allocated_peak_bytes"]
    assert abs(got - 16 * MIB) <= 0.01 * 16 * MIB, got
    kernel.execute("del b, c", allow_error=False)


@pytest.mark.parametrize("value", ["abc", "-5", "1e309", "inf", "nan",
                                   "0x10", "0.5", "2e12"])
def test_sites_bad_sample_spacing_is_one_line_usage_error(kernel, value):
    kernel.execute("import os; os.environ['PEAKMEM_SITES_SAMPLE'] = %r"
                   % value, allow_error=False)
    try:
        reply, _ = kernel.execute("%memit --sites pass")
    finally:
        kernel.execute("del os.environ['PEAKMEM_SITES_SAMPLE']",
                       allow_error=False)
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert reply["evalue"].startswith("PEAKMEM_SITES_SAMPLE: expects "), reply
    assert value in reply["evalue"] and "\n" not in reply["evalue"]
    eight_mib(kernel)


def test_sites_sample_spacing_zero_tracks_everything_exactly(kernel):
    kernel.execute("os.environ['PEAKMEM_SITES_SAMPLE'] = '0'",
                   allow_error=False)
    try:
        _, data = result(kernel, "%memit --sites t = [str(i) for i in "
                         "range(100000)]")
    finally:
        kernel.execute("del os.environ['PEAKMEM_SITES_SAMPLE']",
                       allow_error=False)
    assert data[MIME]["sample_bytes"] == 0
    exact = kernel.value("sum(__import__('sys').getsizeof(s) for s in t) + "
                         "__import__('sys').getsizeof(t)")
    got = data[MIME]["allocated_peak_bytes"]
    assert exact <= got <= 1.1 * exact, (got, exact)
    kernel.execute("del t", allow_error=False)


def test_sites_children_memory_is_not_untracked(kernel):
    """-c with --sites: a child's memory is the child's (its own row), not
    this process's untracked part."""
    _, data = result(kernel, "%%memit -c --sites\n"
                     "import subprocess, sys\n"
                     "subprocess.run([sys.executable, '-c', 'b = bytearray("
                     "64 * 2**20); import time; time.sleep(0.3)'])")
    doc = data[MIME]
    assert doc["children"]["sum_of_peaks_bytes"] >= 64 * MIB, doc["children"]
    assert doc["untracked_bytes"] < 16 * MIB, doc


def test_sites_numpy_handler_restored_when_numpy_left_sys_modules(kernel):
    kernel.execute("import sys\n" + HANDLER_NAME, allow_error=False)
    assert memit_then(kernel, "-q --sites _pm_m = sys.modules.pop('numpy')",
                      "sys.modules['numpy'] = _pm_m") is None
    assert kernel.value("_pm_h()") == "default_allocator"
    eight_mib(kernel)


def test_sites_ctrl_c_while_the_report_is_made_is_not_lost(kernel):
    """A KeyboardInterrupt raised while the sites are described (here by
    linecache, as a Ctrl-C landing there would) stops the magic; it was
    cleared as if a lookup had failed."""
    kernel.execute("import linecache\n"
                   "_pm_gl = linecache.getline\n"
                   "def _pm_stop(*a, **k):\n"
                   "    raise KeyboardInterrupt\n"
                   "linecache.getline = _pm_stop\n", allow_error=False)
    assert memit_then(kernel, "-q --sites 3 x = np.ones(2**20)",
                      "linecache.getline = _pm_gl") == "KeyboardInterrupt"
    eight_mib(kernel)


def test_sites_statement_that_forks(kernel):
    """A child forked during the statement allocates with our hooks in
    place but never into the engine (its lock may have been held by a
    thread the child does not have); the parent's tracking goes on."""
    _, data = result(kernel, "%%memit --sites 3\n"
                     "import os, threading\n"
                     "stop = []\n"
                     "def churn():\n"
                     "    while not stop:\n"
                     "        [bytearray(64) for _ in range(100)]\n"
                     "t = threading.Thread(target=churn); t.start()\n"
                     "codes = []\n"
                     "for _ in range(20):\n"
                     "    pid = os.fork()\n"
                     "    if pid == 0:\n"
                     "        [bytearray(64) for _ in range(1000)]\n"
                     "        os._exit(7)\n"
                     "    codes.append(os.waitstatus_to_exitcode("
                     "os.waitpid(pid, 0)[1]))\n"
                     "stop.append(1); t.join()\n"
                     "x = np.ones(2**20)")
    assert kernel.value("codes") == [7] * 20
    assert data[MIME]["allocated_peak_bytes"] >= 8 * MIB
    kernel.execute("del x", allow_error=False)
    eight_mib(kernel)
