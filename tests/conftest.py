"""Fixtures for the Python-level tests: a real ipykernel started through
jupyter_client (the venv's "python3" kernelspec, where peakmem is
installed), a raw IOPub subscriber that checks every message's HMAC, and
helpers that run a cell and gather what the notebook would show."""
import hashlib
import hmac
import json
import os
import re
import subprocess
import threading

import pytest
import zmq
from jupyter_client.manager import start_new_kernel

TEXT_RE = re.compile(
    r"^peak memory: (-?\d+\.\d\d) MiB, increment: (-?\d+\.\d\d) MiB$")


class RawIOPub:
    """A SUB socket on the kernel's IOPub that verifies the HMAC-SHA256 of
    every message it sees, independently of jupyter_client."""

    def __init__(self, info):
        self.key = info["key"].encode() if isinstance(info["key"], str) \
            else info["key"]
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect("%s://%s:%d" % (info["transport"], info["ip"],
                                          info["iopub_port"]))
        self.checked = 0
        self.bad = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self.stop:
            if not poller.poll(100):
                continue
            frames = self.sock.recv_multipart()
            i = frames.index(b"<IDS|MSG>")
            sig, parts = frames[i + 1], frames[i + 2:i + 6]
            mac = hmac.new(self.key, digestmod=hashlib.sha256)
            for p in parts:
                mac.update(p)
            if not hmac.compare_digest(mac.hexdigest().encode(), sig):
                self.bad.append(frames)
            self.checked += 1

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        self.ctx.term()


class Kernel:
    def __init__(self, env=None):
        """env: the kernel's environment (default: this process's)."""
        kw = {"env": env} if env is not None else {}
        self.km, self.kc = start_new_kernel(kernel_name="python3",
                                            startup_timeout=60, **kw)
        self.raw = RawIOPub(self.km.get_connection_info())

    def execute(self, code, timeout=120, allow_error=True):
        """Run code; return (reply content, IOPub messages of this request
        in arrival order, up to and including status idle)."""
        msg_id = self.kc.execute(code, store_history=True, stop_on_error=False)
        msgs = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            msgs.append(msg)
            if msg["msg_type"] == "status" and \
                    msg["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        if not allow_error:
            assert reply["content"]["status"] == "ok", reply["content"]
        return reply["content"], msgs

    def value(self, expr):
        """Evaluate expr in the kernel; return it through JSON."""
        _, msgs = self.execute(
            "import json as _pm_json; print(_pm_json.dumps(%s))" % expr,
            allow_error=False)
        return json.loads(stdout(msgs))

    def close(self):
        self.raw.close()
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def displays(msgs):
    """display_data and update_display_data contents of a request, in
    order (a long %memit's result updates its live line)."""
    return [m["content"] for m in msgs
            if m["msg_type"] in ("display_data", "update_display_data")]


def stdout(msgs):
    return "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream"
                   and m["content"]["name"] == "stdout")


def chart_svg(html):
    """The SVG of the chart in a %memit result's HTML (an <img> whose src
    is a base64 data: URI, issue 11.7), or None when it has no chart."""
    m = re.search(r'<img class="peakmem-chart"[^>]* '
                  r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]*)"', html)
    if m is None:
        return None
    import base64
    return base64.b64decode(m.group(1), validate=True).decode("utf-8")


def table_rows(text):
    """{lineno: (mem, increment, occurrences, source)} of the tables in
    text (memory_profiler's fixed columns; later tables win)."""
    rows = {}
    for line in text.splitlines():
        if re.match(r"^ *\d+ ", line) and len(line) >= 47:
            mem, inc = line[7:19].strip(), line[20:32].strip()
            rows[int(line[:6])] = (mem.split()[0] if mem else None,
                                   inc.split()[0] if inc else None,
                                   line[34:44].strip() or None, line[47:])
    return rows


def memit_numbers(text):
    """(peak MiB, increment MiB) from peakmem's text line."""
    m = TEXT_RE.match(text.strip())
    assert m, "not a memit line: %r" % text
    return float(m.group(1)), float(m.group(2))


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    reply, _ = k.execute("%load_ext peakmem\nimport numpy as np",
                         allow_error=False)
    yield k
    assert k.raw.bad == [], "IOPub messages with a bad signature"
    k.close()


def core_skip(reason, module=False):
    """Skip a test (module=True: a whole module, at import) that cannot run
    on this host; under CI=true a core path (exact peak, the C locale of
    numbers, memory_profiler compatibility) must run, so it fails instead."""
    if os.environ.get("CI") == "true":
        pytest.fail("core test cannot run under CI: " + reason,
                    pytrace=False)
    pytest.skip(reason, allow_module_level=module)


@pytest.fixture(scope="session")
def comma_locale(tmp_path_factory):
    """An environment for a kernel under de_DE.UTF-8 (decimal comma): the
    locale built by the test with localedef into a temporary LOCPATH."""
    where = tmp_path_factory.mktemp("locale")
    try:
        subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                        str(where / "de_DE.UTF-8")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       check=False, timeout=120)
    except OSError as e:
        core_skip("no localedef (Debian's libc-bin): %s" % e)
    if not (where / "de_DE.UTF-8" / "LC_NUMERIC").exists():
        core_skip("localedef could not build de_DE.UTF-8 (Debian's package "
                  "'locales' missing?)")
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("LC_") or k == "LANG":
            del env[k]
    env.update(LC_ALL="de_DE.UTF-8", LOCPATH=str(where))
    return env
