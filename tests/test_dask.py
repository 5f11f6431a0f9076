"""%memit --dask (issue 14.2) against a real LocalCluster of 2 process
workers (with nannies): each worker's exact peak read in the worker
through Client.run, the memory limit's share and the pause/kill
thresholds, a worker killed by its nanny reported without a hang.
dask and distributed come from PyPI (scripts/constraints/current.txt):
the module skips where the kernel's Python lacks them."""
import json
import time

import pytest

from conftest import Kernel, displays

MIME = "application/vnd.peakmem.memit+json"
MIB = 2 ** 20
LIMIT = 768 * MIB

SETUP = r'''
import dask, dask.array as da, numpy as np
from distributed import LocalCluster, Client, wait
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       memory_limit=%d, dashboard_address=None)
client = Client(cluster)
client.wait_for_workers(2, timeout=60)
# Warm up what the tasks import (numpy's random, dask's array code), so
# the measured increments hold the chunks only.
w = da.random.random((4, 2**10), chunks=(1, 2**10)).persist(); wait(w)
del w
''' % LIMIT


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    reply, _ = k.execute("import distributed", allow_error=True)
    if reply["status"] != "ok":
        k.close()
        pytest.skip("dask/distributed not installed in the kernel's Python "
                    "(the PyPI 'current' leg installs them)")
    k.execute("%load_ext peakmem", allow_error=False)
    k.execute(SETUP, allow_error=False, timeout=180)
    yield k
    k.execute("client.close(); cluster.close()", timeout=120)
    k.close()


def test_each_worker_increment_matches_its_chunks(kernel):
    # 8 chunks of 32 MiB persisted: each worker's increment is the chunks
    # it holds (who_has), within 10%.
    reply, msgs = kernel.execute(
        "x = da.random.random((8, 2**22), chunks=(1, 2**22))\n"
        "_r = %memit -o --dask y = x.persist(); wait(y)\n"
        "_held = {}\n"
        "for k, ws in client.who_has(y).items():\n"
        "    for a in ws: _held[a] = _held.get(a, 0) + 32 * 2**20\n",
        timeout=180)
    assert reply["status"] == "ok", reply
    rows = kernel.value("_r.workers")
    held = kernel.value("_held")
    kernel.execute("del y, x")
    workers = [r for r in rows if r["role"] == "worker"]
    assert len(workers) == 2, rows
    assert sum(held.values()) == 8 * 32 * MIB
    for r in workers:
        want = held.get(r["address"], 0)
        assert r["status"] == "ok", r
        assert abs(r["increment_bytes"] - want) <= 0.10 * max(want, 64 * MIB), \
            "%s: increment %.1f MiB, holds %.1f MiB" % (
                r["address"], r["increment_bytes"] / MIB, want / MIB)
        assert r["memory_limit_bytes"] == LIMIT
        assert r["share_of_limit"] == pytest.approx(r["peak_bytes"] / LIMIT)
        assert r["pause_crossed"] is False and r["kill_crossed"] is False
    sched = [r for r in rows if r["role"] == "scheduler"]
    assert len(sched) == 1 and sched[0]["status"] == "ok", sched
    # The same in the displayed JSON and HTML.
    data = displays(msgs)[-1]["data"]
    doc = data[MIME]
    assert [w["address"] for w in doc["workers"]] == \
        [r["address"] for r in rows]
    assert doc["cluster"]["workers"] == 2
    assert doc["cluster"]["peak_sum_bytes"] == sum(
        r["peak_bytes"] for r in workers)
    html = data["text/html"]
    assert 'class="peakmem-workers"' in html
    assert "Dask cluster: 2 worker(s)" in html
    for r in rows:
        assert "<code>%s</code>" % r["address"] in html


def test_pause_threshold_crossed_warns_and_limit_per_worker(kernel):
    # One task on one worker rises to 85% of its limit for a moment. The
    # task reads its worker's RSS when it runs: what the worker held when
    # the cell began (an earlier test's chunks, released asynchronously)
    # may be gone by then.
    reply, msgs = kernel.execute(
        "_a = sorted(client.scheduler_info()['workers'])[0]\n"
        "def _rise(limit):\n"
        "    import psutil\n"
        "    n = int(0.85 * limit) - psutil.Process().memory_info().rss\n"
        "    a = np.ones(n // 8); s = float(a.sum()); del a; return s\n"
        "_r = %%memit -o --dask --limit 256MiB client.submit(_rise, %d, "
        "workers=[_a], pure=False).result()\n" % LIMIT, timeout=180)
    assert reply["status"] == "ok", reply
    rows = {r["address"]: r for r in kernel.value("_r.workers")}
    a = kernel.value("_a")
    r = rows[a]
    assert r["pause_crossed"] is True, r
    assert r["kill_crossed"] is False, r
    assert 0.80 <= r["share_of_limit"] < 0.95, r
    assert r["over_limit"] is True
    errs = "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream"
                   and m["content"]["name"] == "stderr")
    assert "peakmem: warning: worker %s peaked at" % a in errs
    assert "(Dask pauses a worker at 80%)" in errs
    assert "is above the --limit of 256.00 MiB" in errs
    html = displays(msgs)[-1]["data"]["text/html"]
    assert "pause (80%) crossed" in html

def test_dask_usage_api(kernel):
    reply, _ = kernel.execute(
        "import peakmem\n"
        "_rows, _ret = peakmem.dask_usage((lambda n: client.submit(\n"
        "    lambda m: float(np.ones(m // 8).sum()), n, pure=False).result(),"
        " (64 * 2**20,)), retval=True)\n", timeout=120)
    assert reply["status"] == "ok", reply
    rows = kernel.value("_rows")
    assert kernel.value("_ret") == 64 * 2 ** 20 / 8
    workers = [r for r in rows if r["role"] == "worker"]
    assert len(workers) == 2 and all(r["status"] == "ok" for r in workers)
    assert max(r["increment_bytes"] for r in workers) >= 60 * MIB



def test_worker_without_peakmem_is_named(kernel):
    reply, msgs = kernel.execute(
        "_a = sorted(client.scheduler_info()['workers'])[0]\n"
        "def _hide():\n"
        "    import sys; sys.modules['peakmem._dask'] = None\n"
        "def _unhide():\n"
        "    import sys; del sys.modules['peakmem._dask']\n"
        "client.run(_hide, workers=[_a])\n"
        "try:\n"
        "    _r = get_ipython().run_line_magic('memit', '-o --dask x = 1')\n"
        "finally:\n"
        "    client.run(_unhide, workers=[_a])\n", timeout=120)
    assert reply["status"] == "ok", reply
    rows = {r["address"]: r for r in kernel.value("_r.workers")}
    a = kernel.value("_a")
    assert rows[a]["status"].startswith(
        "peakmem is not importable on this worker (install peakmem in the "
        "workers' environment)"), rows[a]
    assert rows[a]["peak_bytes"] is None
    others = [r for addr, r in rows.items() if addr != a]
    assert all(r["status"] == "ok" for r in others), others
    errs = "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream"
                   and m["content"]["name"] == "stderr")
    assert "peakmem: warning: worker %s: peakmem is not importable" % a \
        in errs
    doc = displays(msgs)[-1]["data"][MIME]
    assert doc["cluster"]["not_measured"] == 1


def test_worker_killed_by_its_nanny_is_reported(kernel):
    t0 = time.monotonic()
    reply, msgs = kernel.execute(
        "_a = sorted(client.scheduler_info()['workers'])[0]\n"
        "def _hog():\n"
        "    import time; a = np.ones(int(1.2 * %d) // 8); time.sleep(5)\n"
        "def _kill():\n"
        "    import time\n"
        "    f = client.submit(_hog, workers=[_a], pure=False,\n"
        "                      allow_other_workers=False)\n"
        "    t = time.monotonic()\n"
        "    while _a in client.scheduler_info()['workers'] and \\\n"
        "            time.monotonic() - t < 60:\n"
        "        time.sleep(0.05)\n"
        "    f.cancel()\n"
        "    return _a not in client.scheduler_info()['workers']\n"
        "_r = %%memit -o --dask _gone = _kill()\n" % LIMIT, timeout=240)
    assert reply["status"] == "ok", reply
    assert time.monotonic() - t0 < 200
    rows = kernel.value("_r.workers")
    a = kernel.value("_a")
    mine = [r for r in rows if r["address"] == a]
    assert len(mine) == 1, rows
    st = mine[0]["status"]
    assert st.startswith(("died during the statement", "restarted")), rows
    assert kernel.value("_gone") is True
    errs = "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream"
                   and m["content"]["name"] == "stderr")
    if st.startswith("died"):
        assert "peakmem: warning: worker %s: died during the statement" \
            % a in errs


def test_no_client_is_one_clear_error():
    k = Kernel()
    try:
        reply, _ = k.execute("import distributed")
        if reply["status"] != "ok":
            pytest.skip("distributed not installed in the kernel's Python")
        k.execute("%load_ext peakmem", allow_error=False)
        reply, _ = k.execute("%memit --dask x = 1")
        assert reply["status"] == "error"
        assert reply["ename"] == "UsageError", reply  # shown as one line
        assert "no distributed Client in this kernel" in reply["evalue"]
        reply, _ = k.execute("%memit x = 1")
        assert reply["status"] == "ok"
    finally:
        k.close()

