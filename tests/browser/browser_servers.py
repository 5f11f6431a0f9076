"""The browser tests' servers: a Jupyter server of each frontend on
127.0.0.1 (a free port, a token set here, no browser of its own, a temporary
root holding a fresh copy of peakmem_browser.ipynb and temporary Jupyter
config/data/runtime dirs). browser_tests.py has the tests and fixtures.

Run by scripts/browser.sh inside .venv-browser (JupyterLab, Notebook 7 and
Playwright from PyPI, pinned in scripts/constraints/browser.txt). The
classic Notebook 6.4 frontend is Debian's, served from the main .venv
(scripts/build.sh); its server command is taken from PEAKMEM_CLASSIC_PYTHON
when that names a Python whose `notebook` is 6.x."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHOTS = REPO / "out" / "screenshots"
NOTEBOOK = "peakmem_browser.ipynb"
CHROMIUM = os.environ.get("PEAKMEM_CHROMIUM", "/usr/bin/chromium")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def classic_python():
    """The Python serving classic Notebook 6, or None when there is none."""
    py = os.environ.get("PEAKMEM_CLASSIC_PYTHON")
    if not py or not os.access(py, os.X_OK):
        return None
    r = subprocess.run(
        [py, "-c", "import notebook; print(notebook.__version__)"],
        capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.startswith("6."):
        return None
    return py


class Server:
    """One Jupyter server process; stopped through its shutdown API, then
    SIGTERM, then SIGKILL, and its output kept in root/../server.log."""

    def __init__(self, frontend, tmp, source=None):
        """source: the notebook to serve as NOTEBOOK (default: the one
        here, without outputs)."""
        self.frontend = frontend
        self.token = secrets.token_hex(16)
        self.root = tmp / "root"
        self.root.mkdir()
        shutil.copy(source or HERE / NOTEBOOK, self.root / NOTEBOOK)
        env = dict(os.environ)
        for name in ("CONFIG", "DATA", "RUNTIME"):
            d = tmp / name.lower()
            d.mkdir()
            env["JUPYTER_%s_DIR" % name] = str(d)
        # no "official Jupyter news?" toast over the outputs
        news = (tmp / "config" / "lab" / "user-settings" / "@jupyterlab"
                / "apputils-extension")
        if frontend == "lab":  # Notebook 7 has no such plugin
            news.mkdir(parents=True)
            (news / "notification.jupyterlab-settings").write_text(
                '{"fetchNews": "false", "checkForUpdates": false}')
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_TOKEN", None)
        env["PEAKMEM_LIVE"] = "1"
        self.log_path = tmp / "server.log"
        self.log = open(self.log_path, "w")
        last = None
        for _ in range(5):  # a port taken between bind and listen: retry
            self.port = _free_port()
            self.proc = subprocess.Popen(self._argv(), env=env, cwd=self.root,
                                         stdout=self.log,
                                         stderr=subprocess.STDOUT)
            last = self._wait_up(90)
            if last is None:
                return
            self._kill()
        raise RuntimeError("%s server did not start: %s\n%s"
                           % (frontend, last, self.log_path.read_text()))

    def _argv(self):
        common = ["--no-browser", "--ip=127.0.0.1", "--port=%d" % self.port,
                  "--allow-root"]  # CI runs as root
        if self.frontend == "notebook6":
            return [classic_python(), "-m", "notebook", *common,
                    "--NotebookApp.port_retries=0",
                    "--NotebookApp.token=" + self.token,
                    "--NotebookApp.notebook_dir=" + str(self.root)]
        app = "jupyterlab" if self.frontend == "lab" else "notebook"
        return [sys.executable, "-m", app, *common,
                "--ServerApp.port_retries=0",
                "--IdentityProvider.token=" + self.token,
                "--ServerApp.root_dir=" + str(self.root)]

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def api(self, path, method="GET"):
        req = urllib.request.Request(
            self.base + path, method=method,
            headers={"Authorization": "token " + self.token})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def _wait_up(self, timeout):
        deadline = time.monotonic() + timeout
        err = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited with %s" % self.proc.returncode
            try:
                self.api("/api/status")
                return None
            except OSError as e:
                err = e
                time.sleep(0.2)
        return "not up after %ds: %s" % (timeout, err)

    def url(self, path):
        return "%s%s?token=%s" % (self.base, path, self.token)

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self):
        """Shut down through the API (kernels too); returns its exit
        status, or "killed" when it had to be terminated."""
        code = "killed"
        try:
            self.api("/api/shutdown", method="POST")
            code = self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._kill()
        self.log.close()
        return code
