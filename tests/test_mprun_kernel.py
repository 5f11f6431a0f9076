"""%mprun and %%mprun end to end, through a real ipykernel: tables for
functions defined in cells and in files, the -T printout, -r, exceptions,
recursion, generators, a %memit nested in a profiled function, the
tracer's removal, and the attribution of large allocations to their own
lines."""
import errno
import json
import os
import pathlib
import re
import stat
import subprocess
import sys
import tempfile

import pytest

from conftest import Kernel, displays, stdout

MIB = 2 ** 20
MIME = "application/vnd.peakmem.mprun+json"
HEADER = ("Line #    Mem usage    Increment  Occurrences   Line Contents")

WORK = '''\
def work(n):
    a = [0] * n
    b = np.ones(64 * 2**20 // 8)
    c = np.ones(32 * 2**20 // 8)
    del b
    s = 0
    for i in range(2000):
        s += i
    c[:] = 2.0
    if n < 0:
        print("never")
    return len(a) + s
'''


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    kern = Kernel()
    where = tmp_path_factory.mktemp("mprun")
    kern.execute("import os; os.chdir(%r)\n%%load_ext peakmem\n"
                 "import numpy as np, sys" % str(where), allow_error=False)
    kern.execute(WORK, allow_error=False)
    kern.where = where
    yield kern
    assert kern.raw.bad == []
    kern.close()


def table(msgs):
    ds = [d for d in displays(msgs) if MIME in d["data"]]
    assert len(ds) == 1, [m["msg_type"] for m in msgs]
    return ds[0]["data"]


def rows(text):
    """{lineno: (mem MiB, increment MiB, occurrences, source)} from the
    table's fixed columns ('{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}');
    numbers are None on lines that never ran."""
    out = {}
    for line in text.splitlines():
        if not re.match(r"^ *\d+ ", line) or len(line) < 47:
            continue
        mem, inc, occ = line[7:19].strip(), line[20:32].strip(), \
            line[34:44].strip()
        assert line[6] == " " and line[19] == " " and line[32:34] == "  "
        assert line[44:47] == "   "
        out[int(line[:6])] = (mem.split()[0] if mem else None,
                              inc.split()[0] if inc else None,
                              occ or None, line[47:])
    return out


def test_mprun_cell_defined_function_table(k):
    reply, msgs = k.execute("%mprun -f work work(10**6)")
    assert reply["status"] == "ok", reply
    data = table(msgs)
    text = data["text/plain"]
    lines = text.splitlines()
    assert lines[0].startswith("Filename: ")
    assert lines[1] == ""
    assert lines[2] == HEADER
    assert lines[3] == "=" * len(HEADER)
    r = rows(text)
    mem, inc, occ, src = r[3]
    assert src == "    b = np.ones(64 * 2**20 // 8)"
    assert abs(float(inc) - 64) <= 1.0 and occ == "1"
    assert abs(float(r[4][1]) - 32) <= 1.0
    assert abs(float(r[5][1]) + 64) <= 1.0
    assert r[7][2] == "2001" and r[8][2] == "2000"
    for lineno in (6, 7, 8, 9, 12):
        assert abs(float(r[lineno][1])) <= 1.0, (lineno, r[lineno])
    assert r[11] == (None, None, None, '        print("never")')
    assert "<table" in data["text/html"]


def test_mprun_increments_add_up_exactly(k):
    _, msgs = k.execute("%mprun -f work work(10**5)")
    doc = table(msgs)[MIME]
    (block,) = doc["blocks"]
    lines = [l for l in block["lines"] if l["ran"]]
    first, last = lines[0], lines[-1]
    assert first["lineno"] == 1 and first["increment_bytes"] == 0
    total = sum(l["increment_bytes"] for l in lines)
    # one call: the increments telescope from the call to the return
    assert total == last["mem_bytes"] - first["mem_bytes"]


def test_mprun_text_matches_memory_profiler_layout(k):
    _, msgs = k.execute("%mprun -f work work(10)")
    text = table(msgs)["text/plain"]
    for line in text.splitlines()[4:]:
        if line.strip():
            # '{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}'
            assert line[6] == " " and line[19] == " " and line[32:34] == "  "
            assert line[44:47] == "   "


def test_mprun_T_writes_printout(k):
    _, msgs = k.execute("%mprun -T prof.txt -f work work(10)")
    text = table(msgs)["text/plain"]
    assert ("\n*** Profile printout saved to text file prof.txt. \n"
            in stdout(msgs))
    with open(os.path.join(k.where, "prof.txt")) as f:
        assert f.read() == text


def test_mprun_T_unwritable_is_clear_error(k):
    reply, _ = k.execute("%mprun -T /no/such/dir/p.txt -f work work(1)")
    assert reply["status"] == "error"
    # an OSError with its errno: Python picks the subclass
    assert reply["ename"] == "FileNotFoundError"
    assert reply["evalue"] == (
        "[Errno 2] could not write the -T file /no/such/dir/p.txt: "
        "No such file or directory")
    k.execute("caught = None\n"
              "try:\n"
              "    get_ipython().run_line_magic(\n"
              "        'mprun', '-T /no/such/dir/p.txt -f work work(1)')\n"
              "except OSError as e:\n"
              "    caught = [e.errno, e.strerror]\n", allow_error=False)
    assert k.value("caught") == [
        errno.ENOENT,
        "could not write the -T file /no/such/dir/p.txt: "
        "No such file or directory"]
    assert not os.path.exists("/no/such/dir/p.txt")
    assert k.value("sys.gettrace() is None") is True


def listing(where):
    return sorted(os.listdir(where))


def test_mprun_T_read_only_file_is_opened_as_open_w(k, tmp_path):
    """-T FILE does what open(FILE, 'w') does for this user: root may
    write a 0444 file, anyone else gets the file's own error; the mode
    stays 0444 and no other file appears either way."""
    where = tmp_path / "ro"
    where.mkdir()
    ro = where / "ro.txt"
    ro.write_text("keep me")
    ro.chmod(0o444)
    writable = k.value("os.access(%r, os.W_OK)" % str(ro))
    reply, msgs = k.execute("%%mprun -T %s -f work work(10)" % ro)
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o444
    assert listing(where) == ["ro.txt"]
    if writable:
        assert reply["status"] == "ok", reply
        assert ro.read_text() == table(msgs)["text/plain"]
    else:
        assert reply["status"] == "error"
        assert reply["ename"] == "PermissionError"
        assert reply["evalue"] == ("[Errno 13] could not write the -T file "
                                   "%s: Permission denied" % ro)
        assert ro.read_text() == "keep me"


REFUSED_AS_USER = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
sh.run_line_magic("load_ext", "peakmem")
sh.run_cell("def f():\n    return [0] * 1000\n")
try:
    sh.run_line_magic("mprun", "-T %s -f f f()" % sys.argv[1])
    print(json.dumps(["ok", ""]))
except Exception as e:
    print(json.dumps([type(e).__name__, str(e)]))
"""


@pytest.fixture
def open_tmp():
    """A temporary directory others may enter (pytest's tmp_path is under
    a 0700 directory)."""
    with tempfile.TemporaryDirectory(prefix="peakmem-") as d:
        os.chmod(d, 0o755)
        yield pathlib.Path(d)


def test_mprun_T_refuses_users_own_read_only_file(open_tmp):
    """A user's own file made read-only (chmod 444) in the user's own
    directory: open(FILE, 'w') refuses it, so -T does, with one line
    naming the file's own error; the file keeps its content and mode (as
    root, IPython runs as 'nobody', owner of both)."""
    where = open_tmp / "mine"
    where.mkdir()
    ro = where / "ro.txt"
    ro.write_text("keep me")
    ro.chmod(0o444)
    os.chmod(where, 0o755)
    home = open_tmp / "home"
    home.mkdir()
    os.chmod(home, 0o777)
    kw = {}
    if os.geteuid() == 0:
        kw = {"user": 65534, "group": 65534, "extra_groups": []}
        os.chown(where, 65534, 65534)
        os.chown(ro, 65534, 65534)
    env = dict(os.environ, HOME=str(home), IPYTHONDIR=str(home / "ipython"))
    try:
        out = subprocess.run([sys.executable, "-c", REFUSED_AS_USER,
                              str(ro)], capture_output=True, text=True,
                             env=env, cwd=str(home), timeout=120, **kw)
    except PermissionError as e:
        pytest.skip("cannot run as another user here: %s" % e)
    assert out.returncode == 0, out.stderr
    kind, message = json.loads(out.stdout.strip().splitlines()[-1])
    assert kind == "PermissionError"
    assert message == ("[Errno 13] could not write the -T file %s: "
                       "Permission denied" % ro)
    assert "\n" not in message
    assert ro.read_text() == "keep me"
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o444
    assert listing(where) == ["ro.txt"]


def test_mprun_T_writes_through_symlink(k, tmp_path):
    where = tmp_path / "links"
    where.mkdir()
    target = where / "target.txt"
    target.write_text("old")
    target.chmod(0o640)
    link = where / "link.txt"
    link.symlink_to("target.txt")
    reply, msgs = k.execute("%%mprun -T %s -f work work(10)" % link)
    assert reply["status"] == "ok", reply
    assert link.is_symlink()
    assert target.read_text() == table(msgs)["text/plain"]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert listing(where) == ["link.txt", "target.txt"]


def test_mprun_r_returns_result(k):
    k.execute("import peakmem", allow_error=False)
    k.execute("res = %mprun -r -f work work(10)", allow_error=False)
    got = k.value("dict(text=str(res), doc=res.to_dict(), "
                  "html=res._repr_html_(), stmt=res.statement, "
                  "msg=res.message, attr=res.text, "
                  "base=isinstance(res, peakmem.Result), "
                  "mime=list(res._repr_mimebundle_()))")
    assert got["text"].startswith("Filename: ")
    assert got["attr"] == got["text"] and got["base"] is True
    assert got["mime"] == ["application/vnd.peakmem.mprun+json"]
    assert got["doc"]["schema"] == "peakmem.mprun"
    assert got["doc"]["text"] == got["text"]
    assert got["stmt"] == "work(10)" and got["msg"] is None
    assert "<table" in got["html"]


def test_mprun_unknown_function_is_usage_error(k):
    reply, _ = k.execute("%mprun -f nosuch work(1)")
    assert reply["ename"] == "UsageError"
    assert reply["evalue"] == ("Could not find function 'nosuch'.\n"
                               "NameError: name 'nosuch' is not defined")
    reply, _ = k.execute("%mprun -f 3 work(1)")
    assert reply["ename"] == "UsageError"
    assert reply["evalue"].startswith("Could not find function '3'.\n")
    reply, _ = k.execute("%mprun work(1)")
    assert reply["evalue"] == ("%mprun needs at least one -f FUNCTION to "
                               "profile, e.g. %mprun -f f f(10)")
    reply, _ = k.execute("%mprun -f work")
    assert reply["ename"] == "UsageError"
    reply, _ = k.execute("%mprun -z -f work work(1)")
    assert reply["evalue"] == "unknown option -z"


def test_mprun_exception_propagates_and_tracer_removed(k):
    k.execute("def boom(x):\n    y = [1] * x\n    return 1 / 0\n",
              allow_error=False)
    reply, msgs = k.execute("%mprun -f boom boom(5)")
    assert reply["ename"] == "ZeroDivisionError"
    assert k.value("sys.gettrace() is None") is True


def test_mprun_restores_previous_trace_function(k):
    reply, msgs = k.execute(
        "def _tr(*a):\n    return None\n"
        "sys.settrace(_tr)\n"
        "%mprun -f work work(10)\n"
        "print(sys.gettrace() is _tr)\n"
        "sys.settrace(None)")
    assert reply["status"] == "ok", reply
    assert stdout(msgs).strip().endswith("True")


def test_mprun_keyboard_interrupt_reports_partial_table(k):
    k.execute("def slow():\n    x = [0] * 1000\n    import time\n"
              "    time.sleep(30)\n    return x\n", allow_error=False)
    import time
    msg_id = k.kc.execute("%mprun -f slow slow()", stop_on_error=False)
    time.sleep(1.5)
    k.km.interrupt_kernel()
    msgs = []
    while True:
        m = k.kc.get_iopub_msg(timeout=30)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        msgs.append(m)
        if m["msg_type"] == "status" and \
                m["content"]["execution_state"] == "idle":
            break
    text = table(msgs)["text/plain"]
    assert rows(text)[4][2] == "1"
    assert ("*** KeyboardInterrupt exception caught in code being "
            "profiled." in stdout(msgs))
    assert k.value("sys.gettrace() is None") is True


def test_mprun_system_exit_reported(k):
    k.execute("def leave():\n    raise SystemExit(3)\n", allow_error=False)
    reply, msgs = k.execute("%mprun -f leave leave()")
    assert reply["status"] == "ok"
    assert ("*** SystemExit exception caught in code being profiled."
            in stdout(msgs))


def test_mprun_recursion_counts_every_call(k):
    k.execute("def fact(n):\n    if n <= 1:\n        return 1\n"
              "    return n * fact(n - 1)\n", allow_error=False)
    _, msgs = k.execute("%mprun -f fact fact(30)")
    r = rows(table(msgs)["text/plain"])
    assert r[1][2] == "30" and r[2][2] == "30"
    assert r[3][2] == "1" and r[4][2] == "29"
    assert all(abs(float(v[1])) <= 1.0 for v in r.values() if v[1])


def test_mprun_generator(k):
    k.execute("def gen(n):\n    for i in range(n):\n"
              "        yield [0] * 1000\n", allow_error=False)
    _, msgs = k.execute("%mprun -f gen _ = list(gen(10))")
    r = rows(table(msgs)["text/plain"])
    assert r[3][2] == "10"


def test_mprun_one_line_loops_count_every_pass(k):
    """A loop on one line counts each pass, as the legacy trace hook
    reports it (a backward jump to the same line is a line event): the
    sys.monitoring backend (3.12+) reports it through JUMP events."""
    k.execute("def one(n):\n    s = 0\n    for i in range(n): s += i\n"
              "    while n: n -= 1\n    return s\n", allow_error=False)
    _, msgs = k.execute("%mprun -f one one(5)")
    r = rows(table(msgs)["text/plain"])
    assert [r[n][2] for n in (1, 2, 3, 4, 5)] == ["1", "1", "6", "5", "1"]


def test_mprun_traces_only_the_statements_thread(k):
    """%mprun traces the thread running the statement: a thread it
    starts runs the profiled function unprofiled (sys.monitoring is
    process-wide; its callbacks pass over other threads' events)."""
    k.execute("import threading\n"
              "def both(n):\n    s = 0\n    for i in range(n):\n"
              "        s += i\n    return s\n", allow_error=False)
    _, msgs = k.execute(
        "%mprun -f both t = threading.Thread(target=both, args=(500,)); "
        "t.start(); t.join(); both(3)")
    r = rows(table(msgs)["text/plain"])
    assert [r[n][2] for n in (2, 3, 4, 5, 6)] == ["1", "1", "4", "3", "1"]


@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="sys.monitoring needs Python 3.12+")
def test_mprun_falls_back_to_settrace_when_tool_ids_are_taken(k):
    """With every sys.monitoring tool id peakmem may take (2-5) held by
    other tools, %mprun says so once and profiles through the legacy
    hook, with the same table; freed, the next run is back on
    sys.monitoring."""
    k.execute("import sys as _pm_sys, peakmem as _pm\n"
              "_pm_held = [i for i in range(2, 6)\n"
              "            if _pm_sys.monitoring.get_tool(i) is None]\n"
              "for i in _pm_held:\n"
              "    _pm_sys.monitoring.use_tool_id(i, 'other')\n",
              allow_error=False)
    try:
        assert k.value("_pm.diagnose()['line_tracer']") == "settrace"
        reply, msgs = k.execute("%mprun -f work work(10)")
        assert reply["status"] == "ok"
        err = "".join(m["content"]["text"] for m in msgs
                      if m["msg_type"] == "stream"
                      and m["content"]["name"] == "stderr")
        assert "every sys.monitoring tool id (2-5) is taken" in err
        r = rows(table(msgs)["text/plain"])
        assert r[7][2] == "2001" and r[8][2] == "2000"
    finally:
        k.execute("for i in _pm_held:\n"
                  "    _pm_sys.monitoring.free_tool_id(i)\n",
                  allow_error=False)
    assert k.value("_pm.diagnose()['line_tracer']") == "sys.monitoring"
    _, msgs = k.execute("%mprun -f work work(10)")
    r = rows(table(msgs)["text/plain"])
    assert r[7][2] == "2001" and r[8][2] == "2000"


@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="sys.monitoring needs Python 3.12+")
def test_mprun_leaves_a_trace_function_running_on_312(k):
    """On 3.12+ %mprun uses a sys.monitoring tool id of its own: a trace
    function installed before (a debugger, coverage) keeps getting its
    events while the statement runs, and is still installed after."""
    reply, msgs = k.execute(
        "_pm_seen = []\n"
        "def _pm_tr(frame, event, arg):\n"
        "    if frame.f_code is work.__code__:\n"
        "        _pm_seen.append(event)\n"
        "    return _pm_tr\n"
        "sys.settrace(_pm_tr)\n"
        "%mprun -f work work(10)\n"
        "_pm_after = sys.gettrace() is _pm_tr\n"
        "sys.settrace(None)")
    assert reply["status"] == "ok", reply
    r = rows(table(msgs)["text/plain"])
    assert r[7][2] == "2001" and r[8][2] == "2000"
    assert k.value("_pm_after") is True
    assert k.value("[_pm_seen.count(e) for e in ('call', 'return')]") \
        == [1, 1]
    assert k.value("_pm_seen.count('line')") >= 4000


def test_mprun_class_method_and_bound_method(k):
    k.execute("class Model:\n    def fit(self, n):\n"
              "        self.w = np.ones(n)\n        return self\n"
              "    @staticmethod\n    def helper():\n        return 2\n"
              "m = Model()\n", allow_error=False)
    _, msgs = k.execute("%mprun -f Model m.fit(2**22); Model.helper()")
    doc = table(msgs)[MIME]
    names = sorted(b["function"] for b in doc["blocks"])
    assert names == ["Model.fit", "Model.helper"]
    _, msgs = k.execute("%mprun -f m.fit m.fit(10)")
    assert [b["function"] for b in table(msgs)[MIME]["blocks"]] == \
        ["Model.fit"]


def test_mprun_module_in_file(k):
    k.execute("%%writefile pm_mod.py\nimport numpy as np\n\n"
              "def build(n):\n    x = np.ones(n)\n    y = x * 2\n"
              "    return y.sum()\n\n\ndef unused():\n    return 0\n",
              allow_error=False)
    k.execute("import pm_mod", allow_error=False)
    _, msgs = k.execute("%mprun -f pm_mod pm_mod.build(2**23)")
    data = table(msgs)
    doc = data[MIME]
    assert [b["function"] for b in doc["blocks"]] == ["build"]
    assert doc["blocks"][0]["filename"].endswith("pm_mod.py")
    r = rows(data["text/plain"])
    assert r[4][3] == "    x = np.ones(n)"
    assert abs(float(r[4][1]) - 64) <= 1.0
    assert abs(float(r[5][1]) - 64) <= 1.0


def test_mprun_cell_mode(k):
    _, msgs = k.execute("%%mprun -f work\nx = work(10)\ny = work(20)")
    r = rows(table(msgs)["text/plain"])
    assert r[1][2] == "2"


def test_mprun_cell_mode_header_has_no_blank_first_line(k):
    # issue 11 item 11: with nothing after the options, the statement was
    # "\n<cell>", echoed as an empty grey line above the tables
    _, msgs = k.execute("%%mprun -f work\nx = work(10)\ny = work(20)")
    data = table(msgs)
    html = data["text/html"]
    assert ('<pre class="peakmem-statement">'
            '<code>x = work(10)\ny = work(20)</code></pre>') in html, html
    doc = [v for m, v in data.items() if m.endswith("+json")][0]
    assert doc["statement"].startswith("x = work(10)\ny = work(20)")


def test_mprun_nested_memit_stays_exact(k):
    k.execute("def outer():\n"
              "    get_ipython().run_line_magic('memit', "
              "'np.ones(2**24).sum()')\n"
              "    return 1\n", allow_error=False)
    reply, msgs = k.execute("%mprun -f outer outer()")
    assert reply["status"] == "ok", reply
    memits = [d for d in displays(msgs)
              if "application/vnd.peakmem.memit+json" in d["data"]]
    inc = memits[0]["data"]["application/vnd.peakmem.memit+json"][
        "increment_bytes"]
    assert abs(inc - 128 * MIB) <= 0.05 * 128 * MIB
    assert len([d for d in displays(msgs) if MIME in d["data"]]) == 1


def test_mprun_peak_column_shows_transient(k):
    k.execute("def spike():\n    t = np.ones(2**25).sum()\n    return t\n",
              allow_error=False)
    _, msgs = k.execute("%mprun --peak -f spike spike()")
    data = table(msgs)
    text = data["text/plain"]
    assert "Peak" in text.splitlines()[2]
    line2 = [l for l in data[MIME]["blocks"][0]["lines"] if l["lineno"] == 2]
    assert line2[0]["peak_bytes"] - line2[0]["mem_bytes"] >= 250 * MIB
    assert abs(line2[0]["increment_bytes"]) <= MIB


def test_mprun_attribution_every_big_line(k):
    k.execute(
        "def mixed():\n"                                  # 1
        "    keep = []\n"                                 # 2
        "    for j in range(3):\n"                        # 3
        "        keep.append(np.ones(8 * 2**20 // 8))\n"  # 4
        "        s = 0\n"                                 # 5
        "        for i in range(20000):\n"                # 6
        "            s += i\n"                            # 7
        "    big = np.ones(48 * 2**20 // 8)\n"            # 8
        "    keep.pop()\n"                                # 9
        "    del big\n"                                   # 10
        "    return len(keep)\n",                         # 11
        allow_error=False)
    _, msgs = k.execute("%mprun -f mixed mixed()")
    r = rows(table(msgs)["text/plain"])
    assert abs(float(r[4][1]) - 24) <= 1.5
    assert abs(float(r[8][1]) - 48) <= 1.0
    assert abs(float(r[9][1]) + 8) <= 1.0
    assert abs(float(r[10][1]) + 48) <= 1.0
    for lineno in (2, 3, 5, 6, 7, 11):
        assert abs(float(r[lineno][1])) < 1.0, (lineno, r[lineno])


def test_mprun_coroutine(k):
    k.execute("import asyncio\n"
              "async def co(n):\n"
              "    x = np.ones(n)\n"
              "    await asyncio.sleep(0)\n"
              "    return len(x)\n", allow_error=False)
    # the kernel's own event loop is running: drive the coroutine by hand
    reply, msgs = k.execute(
        "%%mprun -f co\nc = co(2**23)\ntry:\n    while True:\n"
        "        c.send(None)\nexcept StopIteration as e:\n"
        "    print('result', e.value)")
    assert reply["status"] == "ok", reply
    assert "result 8388608" in stdout(msgs)
    r = rows(table(msgs)["text/plain"])
    assert r[3][2] == "1" and abs(float(r[3][1]) - 64) <= 1.0
    assert r[4][2] == "1" and r[5][2] == "1"


def test_mprun_peak_del_line_and_temporary(k):
    """Issue 8 item 10: a del line's Peak is never below the memory it
    started from, and a temporary freed within its line shows in that
    line's Peak only."""
    k.execute(
        "def dropper():\n"                                    # 1
        "    a = np.ones(64 * 2**20 // 8)\n"                  # 2
        "    del a\n"                                         # 3
        "    t = np.ones(32 * 2**20 // 8).sum()\n"            # 4
        "    return t\n",                                     # 5
        allow_error=False)
    for _ in range(3):
        _, msgs = k.execute("%mprun --peak -f dropper dropper()")
        lines = {l["lineno"]: l
                 for l in table(msgs)[MIME]["blocks"][0]["lines"]}
        for n in range(2, 6):
            start = lines[n - 1]["mem_bytes"]
            assert lines[n]["peak_bytes"] >= start, (n, lines)
            assert lines[n]["peak_bytes"] >= lines[n]["mem_bytes"]
        assert lines[2]["increment_bytes"] >= 63 * MIB
        assert lines[3]["peak_bytes"] - lines[2]["mem_bytes"] <= 4 * MIB
        # line 4: a 32 MiB temporary, gone by its end
        assert lines[4]["peak_bytes"] - lines[3]["mem_bytes"] >= 28 * MIB
        assert abs(lines[4]["increment_bytes"]) <= 2 * MIB
        assert lines[5]["peak_bytes"] - lines[4]["mem_bytes"] <= 4 * MIB


UNTRACED = r"""
import io, json, sys, warnings, _testcapi
import peakmem
out = io.StringIO()
start = int(sys.argv[1])

@peakmem.profile(stream=out)
def f(n):
    if n == 0:
        # the next call is the 65th frame: the frame stack grows there
        _testcapi.set_nomemory(start, start + 1)
        r = f(-1)
        _testcapi.remove_mem_hooks()
        return r
    if n < 0:
        return 1
    return f(n - 1)

with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    try:
        outcome = f(63)
    except MemoryError:
        outcome = "MemoryError"
    _testcapi.remove_mem_hooks()
print(json.dumps([outcome, [str(x.message) for x in w
                            if x.category is RuntimeWarning],
                  sys.gettrace() is None]))
"""


def test_untraced_frames_are_reported_at_disable():
    """The trace function never raises: a profiled call it cannot follow
    (the frame stack cannot grow) is counted and reported as a
    RuntimeWarning when profiling ends, not dropped. Which allocation
    fails first depends on the interpreter, so a few single-allocation
    failures are tried: each leaves the process sane, and the one that
    hits the stack gives the warning."""
    pytest.importorskip("_testcapi")
    warned = []
    for start in range(6):
        out = subprocess.run([sys.executable, "-c", UNTRACED, str(start)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        outcome, warns, untraced = json.loads(out.stdout.splitlines()[-1])
        assert outcome in (1, "MemoryError")
        assert untraced is True
        warned += warns
    assert warned, "no untraced call reported"
    assert set(warned) == {
        "peakmem: 1 call(s) of profiled functions went untraced (no memory "
        "for the frame stack); their lines are missing from the table"}
