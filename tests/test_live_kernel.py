"""Live memory in the cell output (a line updated while %memit runs, then
replaced by the result), the inline SVG timeline, --limit/--strict and
the cgroup share, through a real ipykernel."""
import os
import subprocess
import sysconfig
import time
from pathlib import Path

import nbclient
import nbformat
import pytest

from jupyter_client.manager import start_new_kernel

from conftest import (Kernel, RawIOPub, chart_svg, displays, memit_numbers,
                      stdout)

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


def test_live_line_on_the_display_pub_route():
    """Where ipykernel's IOPub pipe is missing (forced here), results go
    through the shell's display publisher, and the live line too: it
    arrives with the cell's parent (ipykernel 7 keeps it in a context
    variable), updates under one display_id, and the result replaces it,
    all before status idle; a print between updates keeps the result
    from replacing the line, so it comes below the print."""
    kern = Kernel()
    try:
        kern.execute("get_ipython().kernel.iopub_thread._pipe_port = None\n"
                     "%load_ext peakmem", allow_error=False)
        assert kern.value("__import__('peakmem').diagnose()"
                          "['display_route']") == "display_pub"
        reply, msgs = kern.execute(SLOW)
        assert reply["status"] == "ok"
        shown = display_msgs(msgs)
        first, updates, final = shown[0], shown[1:-1], shown[-1]
        assert first["msg_type"] == "display_data"
        assert LIVE in first["content"]["data"]
        display_id = first["content"]["transient"]["display_id"]
        assert len(updates) >= 5
        for u in updates:
            assert u["msg_type"] == "update_display_data"
            assert u["content"]["transient"]["display_id"] == display_id
            assert u["content"]["data"]["text/plain"].startswith("running ")
        elapsed = [u["content"]["data"][LIVE]["elapsed_s"] for u in updates]
        assert elapsed == sorted(elapsed) and elapsed[0] < elapsed[-1]
        assert final["msg_type"] == "update_display_data"
        assert final["content"]["transient"]["display_id"] == display_id
        assert MIME in final["content"]["data"]
        assert msgs.index(final) < len(msgs) - 1
        assert msgs[-1]["content"]["execution_state"] == "idle"
        _, inc = memit_numbers(final["content"]["data"]["text/plain"])
        assert inc >= 55

        # printed while the line runs: the result is a new display below
        reply, msgs = kern.execute(
            "%%memit\nimport time\ntime.sleep(1.2)\nprint('middle')\n"
            "time.sleep(1.2)")
        assert reply["status"] == "ok"
        kinds = [(m["msg_type"], m["content"].get("name"))
                 for m in msgs if m["msg_type"] in (
                     "stream", "display_data", "update_display_data")]
        assert kinds[0] == ("display_data", None)
        assert ("stream", "stdout") in kinds
        middle = kinds.index(("stream", "stdout"))
        assert kinds[-1] == ("display_data", None)
        assert middle < len(kinds) - 1
        assert MIME in display_msgs(msgs)[-1]["content"]["data"]

        # a failing statement: the line says it stopped
        reply, msgs = kern.execute("%memit import time; time.sleep(1.2); 1/0")
        assert reply["ename"] == "ZeroDivisionError"
        shown = display_msgs(msgs)
        assert shown and LIVE in shown[-1]["content"]["data"]
        assert shown[-1]["content"]["data"]["text/plain"].startswith(
            "stopped after ")
        assert kern.value("__import__('peakmem')._peakmem._probe_depth()") \
            == 0
        assert kern.raw.bad == []
    finally:
        kern.close()


def test_final_html_has_svg_timeline_image(k):
    _, msgs = k.execute(SLOW)
    final = display_msgs(msgs)[-1]["content"]["data"]
    html = final["text/html"]
    svg = chart_svg(html)
    assert "<svg" not in html and svg is not None
    assert "<svg" in svg and "</svg>" in svg
    assert "time (s)" in svg and "memory (MiB)" in svg
    assert "peak " in svg and ">peak<" in html
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


def test_limit_error_is_caught_as_peakmem_error(k):
    # peakmem.Error is the base users catch; it stays a RuntimeError so
    # that code catching RuntimeError keeps working.
    k.execute("import peakmem\ncaught = None", allow_error=False)
    reply, _ = k.execute(
        "try:\n"
        "    get_ipython().run_line_magic(\n"
        "        'memit', '--limit 10MiB --strict -q w = np.ones(2**23)')\n"
        "except peakmem.Error as e:\n"
        "    caught = [type(e).__name__, isinstance(e, RuntimeError),\n"
        "              issubclass(peakmem.Error, RuntimeError),\n"
        "              'Error' in peakmem.__all__]\n")
    assert reply["status"] == "ok"
    assert k.value("caught") == ["MemoryLimitError", True, True, True]


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
    assert chart_svg(data["text/html"]) is not None
    assert data["text/plain"].startswith("peak memory: ")


# ---- issue 11 item 6: a %%memit cell that prints while it runs ----

# Prints "step 0".."step 5" over ~1.5 s, long enough for a live line.
PRINTS = ("%%memit\nimport time\nfor i in range(6):\n"
          "    print('step', i, flush=True)\n    time.sleep(0.25)")


def test_result_comes_after_the_cells_prints(k):
    reply, msgs = k.execute(PRINTS)
    assert reply["status"] == "ok", reply
    kinds = [(m["msg_type"], m["content"]) for m in msgs
             if m["msg_type"] in ("stream", "display_data",
                                  "update_display_data")]
    streamed = "".join(c["text"] for t, c in kinds if t == "stream")
    assert streamed == "".join("step %d\n" % i for i in range(6))
    live = [c for t, c in kinds if t == "display_data" and LIVE in c["data"]]
    assert len(live) == 1, kinds
    live_id = live[0]["transient"]["display_id"]
    # the result is a new display after the last stream message, not an
    # update of the live line (which sits between "step 0" and "step 1")
    results = [(i, t, c) for i, (t, c) in enumerate(kinds)
               if t != "stream" and MIME in c["data"]]
    assert len(results) == 1, kinds
    at, kind, result = results[0]
    assert kind == "display_data"
    assert result["data"]["text/plain"].startswith("peak memory: ")
    last_stream = max(i for i, (t, _) in enumerate(kinds) if t == "stream")
    assert at > last_stream
    # the live line was emptied, not left saying "running"
    updates = [c for t, c in kinds if t == "update_display_data"
               and c["transient"]["display_id"] == live_id]
    assert updates[-1]["data"] == {"text/plain": ""}
    assert msgs[-1]["content"]["execution_state"] == "idle"


def test_frontend_requests_are_no_output_of_the_cell(k):
    """A frontend's own requests while the cell runs (control channel: a
    debugger's debug_request, kernel_info_request) make the kernel send
    replies and status messages; they are no output of the cell, so the
    result still replaces the live line (it used to be blanked, leaving an
    empty output above the result, when they were counted). After
    %unload_ext the session's send is its own method again."""
    import threading

    def ask():
        time.sleep(1.2)
        for _ in range(3):
            k.kc.control_channel.send(
                k.kc.session.msg("kernel_info_request"))
            time.sleep(0.2)

    asker = threading.Thread(target=ask)
    asker.start()
    reply, msgs = k.execute("%memit import time; time.sleep(2.5)")
    asker.join()
    assert reply["status"] == "ok", reply
    for _ in range(3):
        assert k.kc.get_control_msg(timeout=30)["msg_type"] == \
            "kernel_info_reply"
    shown = display_msgs(msgs)
    first, final = shown[0], shown[-1]
    assert LIVE in first["content"]["data"]
    assert final["msg_type"] == "update_display_data"
    assert final["content"]["transient"]["display_id"] == \
        first["content"]["transient"]["display_id"]
    assert MIME in final["content"]["data"]
    assert not any(m["content"]["data"] == {"text/plain": ""}
                   for m in shown)
    assert k.value("'send' in vars(get_ipython().kernel.session)") is True
    k.execute("%unload_ext peakmem", allow_error=False)
    assert k.value("'send' in vars(get_ipython().kernel.session)") is False
    k.execute("%load_ext peakmem", allow_error=False)


def test_saved_notebook_holds_result_after_prints(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext peakmem"),
                nbformat.v4.new_code_cell(PRINTS)]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, str(tmp_path / "prints.ipynb"))
    saved = nbformat.read(str(tmp_path / "prints.ipynb"), as_version=4)
    nbformat.validate(saved)
    outputs = saved.cells[1].outputs
    text = "".join(o.get("text", "") for o in outputs
                   if o["output_type"] == "stream")
    assert text == "".join("step %d\n" % i for i in range(6))
    assert not any(LIVE in o.get("data", {}) for o in outputs)
    # the result is the last output; what is left of the live line is empty
    assert MIME in outputs[-1]["data"]
    assert outputs[-1]["data"]["text/plain"].startswith("peak memory: ")
    for o in outputs[:-1]:
        assert o["output_type"] == "stream" or o["data"] == {"text/plain": ""}


# ---- issue 8: unload/reload while a measurement runs; message parents ----

# Unloads (or reloads) peakmem while its %%memit has shown a live line for
# a while, then runs on: the live thread must not publish through the
# publisher that unload released, the result must still replace the live
# line, and the kernel must stay up. t_unload: seconds from the start of
# the statement to the unload.
UNLOAD = ("%%memit\nimport time\n_pm_t0 = time.perf_counter()\n"
          "time.sleep(1.2)\nget_ipython().run_line_magic('{magic}', "
          "'peakmem')\nt_unload = time.perf_counter() - _pm_t0\n"
          "time.sleep(2.5)")


def check_unload_inside_memit(kern, magic):
    reply, msgs = kern.execute(UNLOAD.format(magic=magic), timeout=60)
    assert reply["status"] == "ok", reply
    shown = display_msgs(msgs)
    assert shown, "nothing shown"
    first, final = shown[0], shown[-1]
    assert first["msg_type"] == "display_data"
    assert LIVE in first["content"]["data"]
    display_id = first["content"]["transient"]["display_id"]
    # the result replaces the live line, through the measurement's own
    # publisher reference, before the cell's idle
    assert final["msg_type"] == "update_display_data"
    assert final["content"]["transient"]["display_id"] == display_id
    assert MIME in final["content"]["data"]
    assert final["content"]["data"]["text/plain"].startswith("peak memory: ")
    assert msgs[-1]["content"]["execution_state"] == "idle"
    # unload stopped the live line: no update from the 2.5 s after it
    t_unload = kern.value("t_unload")
    elapsed = [m["content"]["data"][LIVE]["elapsed_s"]
               for m in shown if LIVE in m["content"]["data"]]
    assert max(elapsed) < t_unload + 1.0, (elapsed, t_unload)
    # the kernel lives on and measures again
    reply, msgs = kern.execute("%load_ext peakmem\n%memit x = [0] * 1000")
    assert reply["status"] == "ok", reply
    d = display_msgs(msgs)[-1]["content"]["data"]
    assert MIME in d and d["text/plain"].startswith("peak memory: ")


@pytest.mark.parametrize("magic", ["unload_ext", "reload_ext"])
def test_unload_inside_running_memit_keeps_kernel_and_result(magic):
    kern = Kernel()
    try:
        kern.execute("%load_ext peakmem", allow_error=False)
        check_unload_inside_memit(kern, magic)
        assert kern.raw.bad == []
    finally:
        kern.close()


def test_statement_that_unloads_still_shows_its_result(k):
    """%memit whose statement unloads peakmem and goes on: the end of the
    measurement shows the result through what it captured when it began,
    not through the module's (now released) display state."""
    reply, msgs = k.execute(
        "%memit get_ipython().run_line_magic('unload_ext', 'peakmem'); "
        "y = [0] * 100")
    assert reply["status"] == "ok", reply
    shown = display_msgs(msgs)
    assert [m["msg_type"] for m in shown] == ["display_data"]
    assert MIME in shown[0]["content"]["data"]
    assert "peak memory" not in stdout(msgs)
    reply, _ = k.execute("%load_ext peakmem", allow_error=False)


def asan_runtime():
    """(path of an ASan-built _peakmem, libasan.so) or a reason to skip."""
    root = Path(__file__).resolve().parent.parent
    # an extension built for this interpreter (the Debian 13 leg runs
    # Python 3.13 beside the 3.11 ASan build)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    built = sorted(root.glob("build-asan/magics/_peakmem" + suffix))
    if not built:
        return None, None, "no build-asan/magics/_peakmem%s for this " \
            "Python (scripts/test.sh builds it for Debian's python3 before " \
            "the Python tests)" % suffix
    try:
        lib = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                             capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        lib = ""
    if not os.path.isabs(lib) or not os.path.exists(lib):
        return None, None, "gcc cannot name libasan.so"
    return built[-1], lib, None


class AsanKernel(Kernel):
    """A kernel whose peakmem is the AddressSanitizer build, its stderr (where
    ASan reports) kept in a file."""

    def __init__(self, module, libasan, tmp_path):
        pkg = tmp_path / "peakmem"
        pkg.mkdir()
        src = Path(__file__).resolve().parent.parent / "magics"
        for py in src.glob("*.py"):
            (pkg / py.name).symlink_to(py)
        (pkg / module.name).symlink_to(module)
        env = dict(os.environ, LD_PRELOAD=libasan, PYTHONPATH=str(tmp_path),
                   ASAN_OPTIONS="detect_leaks=0:halt_on_error=1")
        self.stderr_path = tmp_path / "kernel-stderr.txt"
        self.stderr = open(self.stderr_path, "w")
        self.km, self.kc = start_new_kernel(
            kernel_name="python3", startup_timeout=120, env=env,
            stderr=self.stderr)
        self.raw = RawIOPub(self.km.get_connection_info())

    def close(self):
        super().close()
        self.stderr.close()

    def report(self):
        return self.stderr_path.read_text(errors="replace")


@pytest.mark.parametrize("magic", ["unload_ext", "reload_ext"])
def test_unload_inside_running_memit_under_asan(magic, tmp_path):
    """The same, with peakmem built with -Db_sanitize=address: before the
    fix ASan stopped the kernel with heap-use-after-free in
    pm_publisher_send from the live thread."""
    module, libasan, why = asan_runtime()
    if module is None:
        pytest.skip(why)
    kern = AsanKernel(module, libasan, tmp_path)
    try:
        kern.execute("%load_ext peakmem", allow_error=False)
        where = kern.value("__import__('peakmem')._peakmem.__file__")
        assert where.startswith(str(tmp_path)), where
        check_unload_inside_memit(kern, magic)
    except Exception as e:
        raise AssertionError("the kernel's stderr ends:\n" +
                             kern.report()[-4000:]) from e
    finally:
        kern.close()
    report = kern.report()
    assert "AddressSanitizer" not in report, report[-4000:]


# Cell 1 starts a measurement in a background thread and ends once it has
# begun; the statement runs on and ends while cell 2 runs (cell 2 waits
# for the thread). MAGIC's statement sets _pm_started first.
BACKGROUND = """\
import threading, time
_pm_started = threading.Event()
def _pm_f():
    _pm_started.set()
    time.sleep(2.5)
def _pm_work():
    get_ipython().run_line_magic({magic!r}, {line!r})
_pm_thread = threading.Thread(target=_pm_work)
_pm_thread.start()
assert _pm_started.wait(60)
"""
MPRUN_MIME = "application/vnd.peakmem.mprun+json"


def background_messages(magic, line, mimes):
    """Runs BACKGROUND and the cell after it in a fresh kernel; returns
    (cell 1's msg_id, [(message, came after cell 1's idle)]) for the
    display messages carrying one of mimes, in arrival order."""
    kern = Kernel()
    try:
        kern.execute("%load_ext peakmem", allow_error=False)
        kc = kern.kc
        cell1 = kc.execute(BACKGROUND.format(magic=magic, line=line))
        cell2 = kc.execute("_pm_thread.join(); print('joined')")
        ours, idle_order = [], []
        while cell2 not in idle_order:
            msg = kc.get_iopub_msg(timeout=60)
            parent = msg["parent_header"].get("msg_id")
            if msg["msg_type"] == "status" and \
                    msg["content"]["execution_state"] == "idle":
                idle_order.append(parent)
            if msg["msg_type"] in ("display_data", "update_display_data") \
                    and any(m in msg["content"]["data"] for m in mimes):
                ours.append((msg, cell1 in idle_order))
        for _ in (cell1, cell2):
            reply = kc.get_shell_msg(timeout=60)
            assert reply["content"]["status"] == "ok", reply["content"]
        assert kern.raw.bad == []
        return cell1, ours
    finally:
        kern.close()


def test_background_memit_messages_keep_the_starting_cells_parent():
    cell1, ours = background_messages("memit", "_pm_f()", (LIVE, MIME))
    live = [m for m, _ in ours if LIVE in m["content"]["data"]]
    final = [m for m, _ in ours if MIME in m["content"]["data"]]
    assert len(live) >= 2 and len(final) == 1
    # the scenario happened: live updates and the result came while
    # cell 2 ran, after cell 1 had gone idle
    late = [m for m, after_cell1 in ours if after_cell1]
    assert final[0] in late and len(late) >= 2
    # every peakmem message names cell 1 as its parent
    parents = [m["parent_header"].get("msg_id") for m, _ in ours]
    assert parents == [cell1] * len(ours), (cell1, parents)


def test_background_mprun_result_keeps_the_starting_cells_parent():
    cell1, ours = background_messages("mprun", "-f _pm_f _pm_f()",
                                      (MPRUN_MIME,))
    assert len(ours) == 1
    msg, after_cell1 = ours[0]
    assert after_cell1
    assert msg["parent_header"].get("msg_id") == cell1
