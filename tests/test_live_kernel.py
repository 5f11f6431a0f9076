"""Live memory in the cell output (a line updated while %memit runs, then
replaced by the result), the inline SVG timeline, --limit/--strict and
the cgroup share, through a real ipykernel."""
import os
import time

import nbclient
import nbformat
import pytest

from conftest import Kernel, displays, memit_numbers, stdout

MIME = "application/vnd.peakmem.memit+json"
LIVE = "application/vnd.peakmem.live+json"
MIB = 2 ** 20
SLOW = ("%%memit\nimport time\nblocks = []\nfor i in range(30):\n"
        "    blocks.append(bytearray(2 * 2**20))\n    time.sleep(0.1)\n"
        "del blocks")


@pytest.fixture(scope="module")
def k():
    kern = Kernel()
    kern.execute("%load_ext peakmem\nimport numpy as np", allow_error=False)
    yield kern
    assert kern.raw.bad == []
    kern.close()


def display_msgs(msgs):
    return [m for m in msgs
            if m["msg_type"] in ("display_data", "update_display_data")]


def test_live_updates_then_final_result_before_idle(k):
    reply, msgs = k.execute(SLOW)
    assert reply["status"] == "ok"
    shown = display_msgs(msgs)
    first, updates, final = shown[0], shown[1:-1], shown[-1]
    assert first["msg_type"] == "display_data"
    assert LIVE in first["content"]["data"]
    display_id = first["content"]["transient"]["display_id"]
    assert len(updates) >= 5
    elapsed = [u["content"]["data"][LIVE]["elapsed_s"] for u in updates]
    assert elapsed == sorted(elapsed) and elapsed[0] < elapsed[-1]
    assert elapsed[0] >= 0.5
    for u in updates:
        assert u["msg_type"] == "update_display_data"
        assert u["content"]["transient"]["display_id"] == display_id
        assert u["content"]["data"]["text/plain"].startswith("running ")
    # the result replaces the live line, last, and before idle
    assert final["msg_type"] == "update_display_data"
    assert final["content"]["transient"]["display_id"] == display_id
    assert MIME in final["content"]["data"]
    assert msgs.index(final) < len(msgs) - 1
    assert msgs[-1]["content"]["execution_state"] == "idle"
    _, inc = memit_numbers(final["content"]["data"]["text/plain"])
    assert inc >= 55
    # at most 10 messages a second
    live_seconds = elapsed[-1] - elapsed[0]
    assert len(updates) <= 10 * live_seconds + 2


def test_final_html_has_inline_svg_timeline(k):
    _, msgs = k.execute(SLOW)
    final = display_msgs(msgs)[-1]["content"]["data"]
    html = final["text/html"]
    assert "<svg" in html and "</svg>" in html
    assert "time (s)" in html and "memory (MiB)" in html
    assert "peak " in html
    timeline = final[MIME]["timeline"]
    assert len(timeline) >= 100
    assert timeline[-1][0] >= 2.5


def test_short_cells_have_no_live_messages(k):
    for i in range(40):
        _, msgs = k.execute("%memit x = [0] * 1000")
        shown = display_msgs(msgs)
        assert [m["msg_type"] for m in shown] == ["display_data"]
        assert LIVE not in shown[0]["content"]["data"]
        assert "display_id" not in shown[0]["content"]["transient"]


def test_no_live_option_and_environment(k):
    _, msgs = k.execute("%memit --no-live import time; time.sleep(1.2)")
    assert [m["msg_type"] for m in display_msgs(msgs)] == ["display_data"]
    k.execute("import os; os.environ['PEAKMEM_LIVE'] = '0'",
              allow_error=False)
    _, msgs = k.execute("%memit import time; time.sleep(1.2)")
    assert [m["msg_type"] for m in display_msgs(msgs)] == ["display_data"]
    k.execute("del os.environ['PEAKMEM_LIVE']", allow_error=False)
    _, msgs = k.execute("%memit -q import time; time.sleep(1.2)")
    assert display_msgs(msgs) == []


def test_exception_marks_live_line_stopped(k):
    reply, msgs = k.execute("%memit import time; time.sleep(1.2); 1/0")
    assert reply["ename"] == "ZeroDivisionError"
    shown = display_msgs(msgs)
    assert shown and LIVE in shown[-1]["content"]["data"]
    assert shown[-1]["content"]["data"]["text/plain"].startswith(
        "stopped after ")
    assert k.value("__import__('peakmem')._peakmem._probe_depth()") == 0


def test_limit_warns(k):
    reply, msgs = k.execute("%memit --limit 10MiB x = np.ones(2**23)")
    assert reply["status"] == "ok"
    d = [m["content"] for m in display_msgs(msgs)][-1]["data"]
    assert d[MIME]["limit_bytes"] == 10 * MIB
    assert d[MIME]["over_limit"] is True
    assert "exceeded" in d["text/html"]
    err = "".join(m["content"]["text"] for m in msgs
                  if m["msg_type"] == "stream"
                  and m["content"]["name"] == "stderr")
    assert err.startswith("peakmem: warning: peak memory ")
    assert err.rstrip().endswith("is above the --limit of 10.00 MiB")
    reply, msgs = k.execute("%memit --limit 2GB y = [0] * 10")
    d = [m["content"] for m in display_msgs(msgs)][-1]["data"]
    assert d[MIME]["over_limit"] is False


def test_limit_strict_fails_the_cell(k):
    reply, msgs = k.execute("%memit --limit 10MiB --strict "
                            "z = np.ones(2**23)")
    assert reply["status"] == "error"
    assert reply["ename"] == "MemoryLimitError"
    assert reply["evalue"].endswith("is above the --limit of 10.00 MiB")
    assert any(MIME in d["data"] for d in displays(msgs))


def test_limit_bad_values(k):
    for code, message in {
        "%memit --limit lots x = 1":
            "--limit expects a size like 500MiB or 2GB, got 'lots'",
        "%memit --strict x = 1":
            "--strict needs a --limit, e.g. --limit 2GiB --strict",
    }.items():
        reply, _ = k.execute(code)
        assert reply["ename"] == "UsageError"
        assert reply["evalue"] == message


def cgroup_v1_memory():
    return os.path.isdir("/sys/fs/cgroup/memory")


@pytest.mark.skipif(not cgroup_v1_memory() or os.geteuid() != 0,
                    reason="needs root and a cgroup v1 memory controller")
def test_cgroup_share_under_a_memory_limit():
    group = "/sys/fs/cgroup/memory/peakmem_test_%d" % os.getpid()
    os.mkdir(group)
    try:
        with open(group + "/memory.limit_in_bytes", "w") as f:
            f.write(str(2 * 2**30))
        with open(group + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))  # the kernel inherits it
        kern = Kernel()
        with open("/sys/fs/cgroup/memory/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
        try:
            kern.execute("%load_ext peakmem", allow_error=False)
            _, msgs = kern.execute("%memit x = bytearray(100 * 2**20)")
            d = displays(msgs)[-1]["data"]
            assert d[MIME]["cgroup_limit_bytes"] == 2 * 2**30
            share = d[MIME]["peak_share_of_cgroup_limit"]
            assert 0.04 < share < 0.5
            assert "of memory.max" in d["text/html"]
        finally:
            kern.close()
    finally:
        with open("/sys/fs/cgroup/memory/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
        for _ in range(100):  # the kernel process may take a moment to go
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.05)


def test_saved_notebook_holds_final_state(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext peakmem"),
                nbformat.v4.new_code_cell(SLOW)]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, str(tmp_path / "live.ipynb"))
    saved = nbformat.read(str(tmp_path / "live.ipynb"), as_version=4)
    outputs = saved.cells[1].outputs
    assert len(outputs) == 1
    data = outputs[0]["data"]
    assert MIME in data and LIVE not in data
    assert "<svg" in data["text/html"]
    assert data["text/plain"].startswith("peak memory: ")
