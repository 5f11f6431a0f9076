"""%memit and %%memit end to end, through a real ipykernel started with
jupyter_client: what a notebook user sees (display_data with text, HTML and
JSON; errors), the exactness of the peak, ordering before idle, and the
signatures of the messages peakmem publishes."""
import re
import sys
import time

from conftest import chart_svg, displays, memit_numbers, stdout

MIB = 2 ** 20
MIME = "application/vnd.peakmem.memit+json"


def only_display(msgs):
    """The one memit result of a request."""
    ds = [d for d in displays(msgs) if MIME in d["data"]]
    assert len(ds) == 1, msgs
    return ds[0]


def test_memit_allocation_increment_within_5_percent(kernel):
    reply, msgs = kernel.execute("%memit x = np.ones(256 * 2**20 // 8)")
    assert reply["status"] == "ok"
    d = only_display(msgs)
    peak, inc = memit_numbers(d["data"]["text/plain"])
    assert abs(inc - 256) <= 0.05 * 256, inc
    doc = d["data"][MIME]
    assert doc["schema"] == "peakmem.memit"
    assert doc["method"] == "hwm"
    assert abs(doc["increment_bytes"] - 256 * MIB) <= 0.05 * 256 * MIB
    # the HTML shows the same numbers (compact block or table)
    html = d["data"]["text/html"]
    assert "%.2f MiB" % peak in html and "%.2f MiB" % inc in html
    kernel.execute("del x", allow_error=False)


def test_memit_transient_spike_caught_20_of_20(kernel):
    caught = 0
    for _ in range(20):
        _, msgs = kernel.execute("%memit np.ones(256 * 2**20 // 8).sum()")
        _, inc = memit_numbers(only_display(msgs)["data"]["text/plain"])
        if inc >= 0.95 * 256:
            caught += 1
    assert caught == 20


def test_memit_100_cells_each_result_before_idle(kernel):
    for i in range(100):
        _, msgs = kernel.execute("%%%%memit\ny_%d = [0] * %d" % (i, 1000 * i))
        kinds = [m["msg_type"] for m in msgs]
        assert kinds.count("display_data") == 1, [m["content"] for m in msgs]
        # execute returns at idle: the result came before it
        assert kinds.index("display_data") < len(kinds) - 1
        assert msgs[-1]["content"]["execution_state"] == "idle"
        doc = only_display(msgs)["data"][MIME]
        assert doc["statement"] == "y_%d = [0] * %d" % (i, 1000 * i)


def test_memit_result_after_earlier_prints(kernel):
    _, msgs = kernel.execute("print('before')\n%memit pass\nprint('after')")
    kinds = [(m["msg_type"], m["content"].get("text", "").strip())
             for m in msgs if m["msg_type"] in ("stream", "display_data")]
    assert kinds[0] == ("stream", "before")
    assert kinds[1][0] == "display_data"
    assert kinds[2] == ("stream", "after")


def test_memit_signatures_verify(kernel):
    kernel.execute("%memit pass", allow_error=False)
    time.sleep(0.2)
    assert kernel.raw.checked > 0
    assert kernel.raw.bad == []


def test_memit_display_parent_and_session(kernel):
    msg_id = kernel.kc.execute("%memit pass")
    seen = None
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "display_data" and \
                msg["parent_header"].get("msg_id") == msg_id:
            seen = msg
        if msg["msg_type"] == "status" and \
                msg["parent_header"].get("msg_id") == msg_id and \
                msg["content"]["execution_state"] == "idle":
            break
    kernel.kc.get_shell_msg(timeout=30)
    assert seen is not None
    assert seen["header"]["session"] == kernel.value(
        "get_ipython().kernel.session.session")
    assert seen["parent_header"]["msg_type"] == "execute_request"


def test_memit_cell_mode_setup_then_body(kernel):
    reply, msgs = kernel.execute(
        "%%memit big = 64 * 2**20 // 8\nz = np.ones(big)\ndel z")
    assert reply["status"] == "ok"
    d = only_display(msgs)
    _, inc = memit_numbers(d["data"]["text/plain"])
    assert abs(inc - 64) <= 0.05 * 64 + 1, inc
    assert d["data"][MIME]["setup"] == "big = 64 * 2**20 // 8"


def test_memit_repeat_runs_exactly_r_times(kernel):
    kernel.execute("n_runs = 0", allow_error=False)
    _, msgs = kernel.execute("%memit -r 5 n_runs += 1")
    assert kernel.value("n_runs") == 5
    doc = only_display(msgs)["data"][MIME]
    assert doc["repeat"] == 5 and len(doc["runs"]) == 5


def test_memit_o_returns_result_with_attributes(kernel):
    kernel.execute("r = %memit -o -q -r 2 -i 0.05 np.ones(2**24).sum()",
                   allow_error=False)
    attrs = kernel.value(
        "dict(mem_usage=r.mem_usage, baseline=r.baseline, repeat=r.repeat,"
        " timeout=r.timeout, interval=r.interval,"
        " include_children=r.include_children, peak=r.peak,"
        " increment=r.increment, method=r.method, wall=r.wall_times,"
        " text=str(r), rep=repr(r), html=r._repr_html_(),"
        " doc=r.to_dict(), attr=r.text,"
        " base=isinstance(r, __import__('peakmem').Result),"
        " mime=list(r._repr_mimebundle_()))")
    assert len(attrs["mem_usage"]) == 2
    assert attrs["repeat"] == 2 and attrs["timeout"] is None
    assert attrs["interval"] == 0.05 and attrs["include_children"] is False
    assert attrs["method"] == "hwm" and len(attrs["wall"]) == 2
    assert abs(attrs["increment"] - 128 * MIB) <= 0.05 * 128 * MIB
    peak = max(attrs["mem_usage"])
    assert abs(peak * MIB - attrs["peak"]) < 1
    assert attrs["text"] == "peak memory: %.02f MiB, increment: %.02f MiB" % (
        peak, peak - attrs["baseline"])
    assert attrs["rep"] == "<MemitResult : %s>" % attrs["text"]
    assert attrs["attr"] == attrs["text"] and attrs["base"] is True
    assert attrs["mime"] == ["application/vnd.peakmem.memit+json"]
    assert "peak %.2f MiB" % peak in attrs["html"]
    assert attrs["doc"]["peak_bytes"] == attrs["peak"]


def test_memit_o_shows_and_returns(kernel):
    reply, msgs = kernel.execute("%memit -o pass")
    kinds = [m["msg_type"] for m in msgs]
    assert kinds.count("display_data") == 1
    results = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert results and results[0]["content"]["data"]["text/plain"] \
        .startswith("<MemitResult : peak memory: ")


def test_memit_q_prints_nothing(kernel):
    reply, msgs = kernel.execute("%memit -q x = [1] * 1000")
    assert reply["status"] == "ok"
    assert [m["msg_type"] for m in msgs
            if m["msg_type"] not in ("status", "execute_input")] == []


def error_of(kernel, code):
    reply, msgs = kernel.execute(code)
    assert reply["status"] == "error"
    errs = [m["content"] for m in msgs if m["msg_type"] == "error"]
    return reply, errs


def test_memit_bad_options_are_usage_errors(kernel):
    cases = {
        "%memit -x pass": "unknown option -x",
        "%memit -r": "option -r requires a value",
        "%memit -r abc pass": "-r expects an integer from 1 to 1000000, "
                              "got 'abc'",
        "%memit -r 0 pass": "-r expects an integer from 1 to 1000000, "
                            "got '0'",
        "%memit -t soon pass": "-t expects a number of seconds >= 0, "
                               "got 'soon'",
        "%memit -i 0 pass": "-i expects a number of seconds > 0, got '0'",
        # beyond the sampler's limit: not "RuntimeError: argument out of
        # range"
        "%memit -i 1e7 pass": "-i expects at most 1000000 seconds, got "
                              "'1e7'",
        # cut inside an "é", the message was empty
        "%memit -\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
        "\u00e9\u00e9 pass": "unknown option -\u00e9",
        "%memit": "%memit needs a statement to measure, e.g. "
                  "%memit x = list(range(10**6))",
        "%memit -q": "%memit needs a statement to measure, e.g. "
                     "%memit x = list(range(10**6))",
        "%%memit\n   \n": "%%memit needs code in the cell body to measure",
    }
    for code, message in cases.items():
        reply, _ = kernel.execute(code)
        assert reply["status"] == "error", code
        assert reply["ename"] == "UsageError", (code, reply)
        assert reply["evalue"] == message, (code, reply["evalue"])
    kernel.execute("%memit pass", allow_error=False)


def test_memit_exception_in_statement_propagates(kernel):
    reply, errs = error_of(kernel, "%memit 1 / 0")
    assert reply["ename"] == "ZeroDivisionError"
    assert any("1 / 0" in line for line in errs[0]["traceback"])
    assert kernel.value("__import__('peakmem')._peakmem._probe_depth()") \
        == 0
    reply, msgs = kernel.execute("%memit v = np.ones(2**23)")
    assert reply["status"] == "ok"
    _, inc = memit_numbers(only_display(msgs)["data"]["text/plain"])
    assert abs(inc - 64) <= 0.05 * 64 + 1


def test_memit_syntax_error_in_statement(kernel):
    reply, _ = error_of(kernel, "%memit x = = 1")
    assert reply["ename"] == "SyntaxError"


def test_memit_timeout_stops_statement(kernel):
    t0 = time.monotonic()
    reply, _ = error_of(kernel, "%memit -t 0.5 import time; time.sleep(30)")
    assert time.monotonic() - t0 < 10
    assert reply["ename"] == "TimeoutError"
    assert reply["evalue"] == ("the statement did not finish within the -t "
                               "timeout of 0.5 s")
    kernel.execute("import time; time.sleep(0.3)", allow_error=False)
    kernel.execute("%memit pass", allow_error=False)
    assert kernel.value("__import__('peakmem')._peakmem._probe_depth()") \
        == 0


def test_memit_keyboard_interrupt_leaves_kernel_usable(kernel):
    msg_id = kernel.kc.execute("%memit import time; time.sleep(30)",
                              stop_on_error=False)
    time.sleep(1.0)
    kernel.km.interrupt_kernel()
    reply = kernel.kc.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.kc.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    reply, msgs = kernel.execute("%memit u = np.ones(2**23)")
    assert reply["status"] == "ok"
    _, inc = memit_numbers(only_display(msgs)["data"]["text/plain"])
    assert abs(inc - 64) <= 0.05 * 64 + 1


def test_memit_children_counted_with_c(kernel):
    code = ("%memit -c -i 0.01 import subprocess, sys; subprocess.run("
            "[sys.executable, '-c', 'import time; b = bytearray(200 * 2**20);"
            " b[::4096] = b\"x\" * len(b[::4096]); time.sleep(0.5)'])")
    reply, msgs = kernel.execute(code)
    assert reply["status"] == "ok", reply
    d = only_display(msgs)
    _, inc = memit_numbers(d["data"]["text/plain"])
    assert inc >= 190, inc
    assert d["data"][MIME]["method"] == "hwm+sampled"
    assert d["data"][MIME]["include_children"] is True


def test_memit_without_c_ignores_children(kernel):
    code = ("%memit import subprocess, sys; subprocess.run("
            "[sys.executable, '-c', 'import time; b = bytearray(200 * 2**20);"
            " b[::4096] = b\"x\" * len(b[::4096]); time.sleep(0.3)'])")
    _, msgs = kernel.execute(code)
    _, inc = memit_numbers(only_display(msgs)["data"]["text/plain"])
    assert inc < 20, inc


def test_memit_shell_escape_and_magics_inside(kernel):
    reply, msgs = kernel.execute("%%memit\n!echo from-shell\n%time q = 1")
    assert reply["status"] == "ok", reply
    assert "from-shell" in stdout(msgs)
    assert len(displays(msgs)) == 1


def test_memit_falls_back_when_kernel_pipe_is_missing():
    from conftest import Kernel
    k = Kernel()
    try:
        k.execute("get_ipython().kernel.iopub_thread._pipe_port = None\n"
                  "%load_ext peakmem", allow_error=False)
        reply, msgs = k.execute("%memit b = bytearray(32 * 2**20)")
        assert reply["status"] == "ok"
        d = only_display(msgs)
        _, inc = memit_numbers(d["data"]["text/plain"])
        assert abs(inc - 32) <= 0.05 * 32 + 1
        assert MIME in d["data"]
        assert k.raw.bad == []
        assert k.value("__import__('peakmem').diagnose()['display_route']"
                       ) == "display_pub"
    finally:
        k.close()


def test_diagnose_reports_the_route_and_the_stack(kernel):
    """peakmem.diagnose() names the route results take in this kernel
    (ipykernel's IOPub pipe on every leg of the matrix), the peak method
    and the versions of the stack the kernel runs."""
    import ipykernel
    import IPython
    d = kernel.value("dict(__import__('peakmem').diagnose())")
    assert d["display_route"] == "pipe"
    assert d["peak_method"] == "hwm"
    assert d["packages"]["ipykernel"] == ipykernel.__version__
    assert d["packages"]["IPython"] == IPython.__version__
    _, msgs = kernel.execute("print(__import__('peakmem').diagnose())",
                             allow_error=False)
    text = stdout(msgs)
    assert "display route   pipe: C publisher into ipykernel's IOPub pipe" \
        in text
    assert ("ipykernel       %s\n" % ipykernel.__version__) in text


def test_diagnose_reports_the_line_tracer(kernel):
    """Issue 10 item 2: on Python 3.12+ the line profiler runs on
    sys.monitoring (PEP 669), below on the legacy trace hook; diagnose()
    says which, and a %mprun leaves no tool id claimed behind it."""
    want = "sys.monitoring" if sys.version_info >= (3, 12) else "settrace"
    kernel.execute("import sys as _pm_sys\n"
                   "def _pm_lt(n):\n"
                   "    global _pm_tools\n"
                   "    _pm_tools = [_pm_sys.monitoring.get_tool(i)\n"
                   "                 for i in range(6)] \\\n"
                   "        if _pm_sys.version_info >= (3, 12) else []\n"
                   "    return [0] * n\n", allow_error=False)
    assert kernel.value("__import__('peakmem').diagnose()['line_tracer']"
                        ) == want
    _, msgs = kernel.execute("%mprun -f _pm_lt _pm_lt(10)", allow_error=False)
    assert any("return [0] * n" in d["data"].get("text/plain", "")
               for d in displays(msgs))
    # While it ran, the profiler held a tool id (3.12+).
    assert ("peakmem" in kernel.value("_pm_tools")) == (
        want == "sys.monitoring")
    if want == "sys.monitoring":
        assert "peakmem" not in kernel.value(
            "[__import__('sys').monitoring.get_tool(i) for i in range(6)]")
    _, msgs = kernel.execute("print(__import__('peakmem').diagnose())",
                             allow_error=False)
    assert "line tracer     %s: " % want in stdout(msgs)


# ---- -t from threads, nested timeouts, concurrent measurements ---------

THREAD_TIMEOUT_SETUP = r'''
import threading, time, json
_pm_out = {}
def _pm_busy(seconds):
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        pass
def _pm_timed_worker():
    t0 = time.monotonic()
    try:
        get_ipython().run_cell_magic(
            'memit', '-q -t 0.5', '_pm_busy(4)\n')
        _pm_out['result'] = 'finished'
    except BaseException as e:
        _pm_out['result'] = '%s: %s' % (type(e).__name__, e)
    _pm_out['elapsed'] = time.monotonic() - t0
'''


def test_memit_timeout_in_thread_stops_that_thread_only():
    """-t from a background thread: the TimeoutError reaches that thread
    (at the next bytecode), never the kernel's event loop or a cell that
    runs meanwhile; the kernel lives on. A separate kernel: on failure
    this one dies."""
    from conftest import Kernel
    k = Kernel()
    try:
        k.execute("%load_ext peakmem\n" + THREAD_TIMEOUT_SETUP,
                  allow_error=False)
        want = ("TimeoutError: the statement did not finish within the -t "
                "timeout of 0.5 s")
        # 1. The kernel idle while the worker's deadline passes.
        k.execute("_pm_w = threading.Thread(target=_pm_timed_worker); "
                  "_pm_w.start()", allow_error=False)
        time.sleep(2.5)
        assert k.km.is_alive(), "the kernel died"
        reply, _ = k.execute("_pm_w.join(10)", timeout=30)
        assert reply["status"] == "ok", reply
        out = k.value("_pm_out")
        assert out["result"] == want, out
        assert out["elapsed"] < 3.5, out
        # 2. A cell runs in the main thread while the deadline passes: it
        # finishes undisturbed, the worker gets the error.
        reply, _ = k.execute(
            "_pm_out.clear()\n"
            "_pm_w = threading.Thread(target=_pm_timed_worker)\n"
            "_pm_w.start()\n"
            "_pm_busy(1.5)\n"
            "_pm_w.join(10)\n"
            "main_ok = True", timeout=30)
        assert k.km.is_alive(), "the kernel died"
        assert reply["status"] == "ok", reply
        out = k.value("_pm_out")
        assert out["result"] == want, out
        assert out["elapsed"] < 3.5, out
        # 3. Nested in the thread: the outer -t fires inside an inner
        # %memit with a later deadline, and names the outer timeout.
        reply, _ = k.execute(
            "_pm_out.clear()\n"
            "def _pm_nested():\n"
            "    try:\n"
            "        get_ipython().run_line_magic('memit', '-q -t 0.5 "
            "get_ipython().run_line_magic(\"memit\", \"-q -t 20 "
            "_pm_busy(4)\")')\n"
            "        _pm_out['result'] = 'finished'\n"
            "    except BaseException as e:\n"
            "        _pm_out['result'] = '%s: %s' % (type(e).__name__, e)\n"
            "_pm_w = threading.Thread(target=_pm_nested)\n"
            "_pm_w.start(); _pm_w.join(10)", timeout=30)
        assert k.km.is_alive(), "the kernel died"
        assert reply["status"] == "ok", reply
        assert k.value("_pm_out")["result"] == want
        # 4. As documented: a blocking call in a thread is not cut short;
        # the error comes at the next bytecode after it returns.
        reply, _ = k.execute(
            "_pm_out.clear()\n"
            "def _pm_sleeper():\n"
            "    t0 = time.monotonic()\n"
            "    try:\n"
            "        get_ipython().run_line_magic(\n"
            "            'memit', '-q -t 0.3 time.sleep(1.5); _pm_busy(4)')\n"
            "        _pm_out['result'] = 'finished'\n"
            "    except BaseException as e:\n"
            "        _pm_out['result'] = '%s: %s' % (type(e).__name__, e)\n"
            "    _pm_out['elapsed'] = time.monotonic() - t0\n"
            "_pm_w = threading.Thread(target=_pm_sleeper)\n"
            "_pm_w.start(); _pm_w.join(10)", timeout=30)
        assert reply["status"] == "ok", reply
        out = k.value("_pm_out")
        assert out["result"] == want.replace("0.5 s", "0.3 s"), out
        assert 1.4 < out["elapsed"] < 4, out
        # Nothing left armed: a later cell is not interrupted.
        k.execute("time.sleep(1.0); _pm_busy(0.5)", allow_error=False)
        assert k.value("__import__('peakmem')._peakmem._probe_depth()") \
            == 0
        reply, _ = k.execute("%memit -q pass")
        assert reply["status"] == "ok", reply
    finally:
        k.close()


def test_memit_timeout_in_thread_statement_ending_in_time(kernel):
    """A threaded %memit -t whose statement ends before the deadline
    leaves no TimeoutError behind, in that thread or the main one."""
    reply, _ = kernel.execute(
        "import threading, time\n"
        "_pm_r = []\n"
        "def _pm_quick():\n"
        "    try:\n"
        "        for _ in range(20):\n"
        "            get_ipython().run_line_magic(\n"
        "                'memit', '-q -t 0.2 sum(range(1000))')\n"
        "        time.sleep(0.5)\n"
        "        sum(range(10**6))\n"
        "        _pm_r.append('ok')\n"
        "    except BaseException as e:\n"
        "        _pm_r.append(repr(e))\n"
        "_pm_t = threading.Thread(target=_pm_quick)\n"
        "_pm_t.start(); _pm_t.join(30)\n"
        "time.sleep(0.5)", timeout=60)
    assert reply["status"] == "ok", reply
    assert kernel.value("_pm_r") == ["ok"]


def test_memit_outer_timeout_survives_nested_memit(kernel):
    """-t of the outer %memit still fires after a nested %memit ran (or
    while one runs with a later deadline of its own)."""
    kernel.execute("import time", allow_error=False)
    t0 = time.monotonic()
    reply, _ = kernel.execute(
        "%memit -q -t 1 get_ipython().run_line_magic('memit', '-q pass'); "
        "time.sleep(10)")
    assert reply["status"] == "error", reply
    assert reply["ename"] == "TimeoutError"
    assert reply["evalue"] == ("the statement did not finish within the -t "
                               "timeout of 1 s")
    assert time.monotonic() - t0 < 8
    t0 = time.monotonic()
    reply, _ = kernel.execute(
        "%memit -q -t 1 get_ipython().run_line_magic('memit', "
        "'-q -t 20 time.sleep(10)')")
    assert reply["ename"] == "TimeoutError", reply
    assert reply["evalue"] == ("the statement did not finish within the -t "
                               "timeout of 1 s")
    assert time.monotonic() - t0 < 8
    # An inner -t that passes leaves the outer statement alone.
    reply, _ = kernel.execute(
        "%memit -q get_ipython().run_line_magic('memit', "
        "'-q -t 0.3 pass'); time.sleep(1)")
    assert reply["status"] == "ok", reply
    assert kernel.value("__import__('peakmem')._peakmem._probe_depth()") \
        == 0


def test_memit_in_three_threads_each_gets_its_own_result(kernel):
    """Three %memit at once in three threads (begun in turn, all holding
    their allocation at the same time, ended oldest first): each succeeds
    and its increment covers its own allocation (all three, in fact)."""
    reply, _ = kernel.execute(
        "import threading, time\n"
        "_pm_b1 = threading.Barrier(3); _pm_b2 = threading.Barrier(3)\n"
        "_pm_res = {}\n"
        "def _pm_measure(i, n):\n"
        "    time.sleep(0.3 * i)\n"
        "    try:\n"
        "        r = get_ipython().run_cell_magic('memit', '-q -o',\n"
        "            '_pm_b1.wait(30)\\n'\n"
        "            'x%d = b\"\\\\x01\" * %d\\n'\n"
        "            '_pm_b2.wait(30)\\n'\n"
        "            'del x%d\\n'\n"
        "            'time.sleep(%f)\\n' % (i, n, i, 0.3 * i))\n"
        "        _pm_res[i] = r.increment\n"
        "    except BaseException as e:\n"
        "        _pm_res[i] = '%s: %s' % (type(e).__name__, e)\n"
        "_pm_ts = [threading.Thread(target=_pm_measure,\n"
        "                           args=(i, (32 << 20) * (i + 1)))\n"
        "          for i in range(3)]\n"
        "for t in _pm_ts: t.start()\n"
        "for t in _pm_ts: t.join(60)\n", timeout=120)
    assert reply["status"] == "ok", reply
    res = {int(k): v for k, v in kernel.value("_pm_res").items()}
    assert sorted(res) == [0, 1, 2], res
    for i, inc in res.items():
        own = 32 * MIB * (i + 1)
        assert not isinstance(inc, str), (i, inc)
        assert inc >= own, (i, inc / MIB)
        assert inc >= 0.95 * (32 + 64 + 96) * MIB, (i, inc / MIB)
    assert kernel.value("__import__('peakmem')._peakmem._probe_depth()") \
        == 0


def test_memit_huge_timeout_is_a_usage_error(kernel):
    for value in ("1e300", "1e10", "1000000001"):
        reply, _ = kernel.execute("%%memit -t %s pass" % value)
        assert reply["status"] == "error", value
        assert reply["ename"] == "UsageError", reply
        assert reply["evalue"] == ("-t expects a number of seconds from 0 "
                                   "to 1000000000, got '%s'" % value)
    reply, _ = kernel.execute("%memit -q -t 1000000000 pass")
    assert reply["status"] == "ok", reply


def test_memory_usage_huge_timeout_waits_for_the_process():
    """memory_usage(timeout=1e300) means 'no limit': it samples a Popen
    until it exits (the deadline saturates instead of overflowing)."""
    import subprocess
    import sys
    import peakmem
    p = subprocess.Popen([sys.executable, "-c",
                          "import time; time.sleep(0.6)"])
    t0 = time.monotonic()
    readings = peakmem.memory_usage(p, interval=0.05, timeout=1e300)
    assert time.monotonic() - t0 >= 0.4
    assert p.poll() is not None
    assert len(readings) >= 5, readings


def test_magic_docstrings_name_every_option():
    # what %memit? and help(peakmem.load_ipython_extension) show
    import peakmem
    doc = peakmem._peakmem._memit_magic.__doc__
    for opt in ("-r R:", "-t T:", "-i I:", "-c:", "-o:", "-q:",
                "--limit SIZE:", "--strict:", "--no-live:"):
        assert "\n" + opt in doc, opt
    mprun = peakmem._peakmem._mprun_magic.__doc__
    for opt in ("-f FUNC:", "-T FILE:", "-r:", "-c:", "--peak:"):
        assert "\n" + opt in mprun, opt
    assert "%mprun" in peakmem.load_ipython_extension.__doc__


# ---- issue 11 item 12: results of a loop told apart; wall time per run --

def test_memit_loop_results_show_the_names_values(kernel):
    _, msgs = kernel.execute(
        "label = 'ones'\nbig = 'x' * 50\n"
        "for n in (18, 19, 20):\n"
        "    %memit np.ones(2**n, dtype='u1').sum() + len(label) + len(big)")
    ds = [d for d in displays(msgs) if MIME in d["data"]]
    assert len(ds) == 3, msgs
    shown = [d["data"]["text/html"].split('class="peakmem-names">')[1]
             .split("<")[0] for d in ds]
    assert len(set(shown)) == 3, shown
    for n, d in zip((18, 19, 20), ds):
        doc = d["data"][MIME]
        # np: a module; dtype: a keyword; ones/sum: attributes; big: too
        # long a repr; only simple names with short values are shown
        assert doc["names"] == {"n": str(n), "label": "'ones'"}, doc
        assert ('<small class="peakmem-names">n = %d, label = '
                '&#39;ones&#39;</small>' % n) in d["data"]["text/html"]
        # text/plain stays memory_profiler's line
        assert d["data"]["text/plain"].startswith("peak memory: ")
        assert "n =" not in d["data"]["text/plain"]


def test_memit_repeat_wall_time_says_total_and_per_run(kernel):
    _, msgs = kernel.execute("%memit -r 3 sum(range(1000))")
    html = only_display(msgs)["data"]["text/html"]
    assert re.search(r"\d+\.\d (ms|&micro;s|s) total, \d+\.\d "
                     r"(ms|&micro;s|s) per run", html), html


def test_memit_chart_spans_the_statement_in_fitting_units(kernel):
    """issue 11.3: the timeline covers the statement's own time (no sample
    from after it), the chart's time axis is in ms for a sub-second run and
    starts the memory axis near the baseline, which it marks."""
    _, msgs = kernel.execute(
        "%%memit\nimport time\nx = np.ones(64 * 2**20 // 8)\n"
        "time.sleep(0.3)\ndel x",
        allow_error=False)
    d = only_display(msgs)
    doc = d["data"][MIME]
    wall = sum(r["wall_s"] for r in doc["runs"])
    ts = [t for t, _ in doc["timeline"]]
    assert ts and ts[0] == 0.0, ts
    assert all(0.0 <= t <= wall + 0.002 for t in ts), (wall, ts)
    svg = chart_svg(d["data"]["text/html"])
    assert "time (ms)" in svg and "time (s)" not in svg
    assert "baseline " in svg


def test_memit_quick_statement_is_compact(kernel):
    """issue 11.1: %memit pass shows one compact block (no table, no chart
    of nothing); --limit brings the table and the chart."""
    _, msgs = kernel.execute("%memit pass")
    html = only_display(msgs)["data"]["text/html"]
    assert 'class="peakmem-compact"' in html and html.count("<br") == 1
    assert "<table" not in html and chart_svg(html) is None
    assert "<code>pass</code>" in html
    _, msgs = kernel.execute("%memit --limit 64GiB pass")
    html = only_display(msgs)["data"]["text/html"]
    assert "<table" in html and "<svg" in chart_svg(html)

