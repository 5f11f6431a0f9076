"""%memit --sites through a real ipykernel: the allocation peak and the
sites that held it (issue 13's accuracy cases), the NEP 49 handler numpy
reports while the statement runs, and tracking that ends with the
statement (errors, repeats, no hooks left behind)."""
import pytest

from conftest import displays, memit_numbers

MIB = 2 ** 20
MIME = "application/vnd.peakmem.memit+json"


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
    kernel.execute(
        "try:\n"
        "    from numpy._core.multiarray import get_handler_name as _pm_h\n"
        "except ImportError:\n"
        "    from numpy.core.multiarray import get_handler_name as _pm_h\n",
        allow_error=False)
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
