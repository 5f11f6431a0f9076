"""The live line in terminal IPython (issue 11.9): while a long %memit
runs, one line on stderr is drawn again in place with a carriage return,
the notebook's live text without HTML; it is wiped before the result (and
before the statement's own prints) so the screen ends with
memory_profiler's line; nothing of it when stderr is not a terminal.
IPython runs under a pseudo-terminal (raw mode: the bytes are exactly
what peakmem wrote) and the screen is rebuilt from them."""
import os
import re
import subprocess
import sys
import tty

import pytest

from conftest import TEXT_RE

IPYTHON = [sys.executable, "-m", "IPython", "--quick", "--no-banner",
           "--colors=NoColor", "--TerminalInteractiveShell.term_title=False",
           "-c"]
LIVE = b"\rrunning "


def run_ipython(code, stderr_tty=True, env=None, timeout=120):
    """Run code in terminal IPython with stdout on a pseudo-terminal (and
    stderr on the same one, or on a pipe). Returns (terminal bytes,
    stderr pipe bytes or None)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen(
        IPYTHON + [code], stdin=subprocess.DEVNULL, stdout=slave,
        stderr=slave if stderr_tty else subprocess.PIPE, cwd="/",
        env=dict(os.environ, **(env or {})))
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    err = proc.stderr.read() if proc.stderr is not None else None
    assert proc.wait(timeout=timeout) == 0, (data, err)
    return data, err


def screen(data):
    """The lines a terminal shows after data ('\\r' returns to column 0,
    characters overwrite), trailing blanks dropped."""
    lines, col = [[]], 0
    for ch in data.decode("utf-8"):
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append([])
            col = 0
        else:
            line = lines[-1]
            line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
    text = ["".join(l).rstrip() for l in lines]
    while text and not text[-1]:
        text.pop()
    return text


def test_live_line_updates_in_place_and_is_wiped_before_the_result():
    data, _ = run_ipython(
        "%load_ext peakmem\n"
        "import sys, time\n"
        "%memit time.sleep(2)\n"
        "print(type(sys.stdout).__name__, type(sys.stderr).__name__)\n")
    assert data.count(LIVE) >= 2, data
    update = re.compile(
        rb"\rrunning \d+\.\d s \xc2\xb7 now \d+\.\d MiB \xc2\xb7 "
        rb"peak \d+\.\d MiB[^\r\n]*")
    assert len(update.findall(data)) == data.count(LIVE), data
    # the last update is wiped ('\r', spaces over it, '\r'), then the
    # result is printed on the clean line
    last = data.rindex(LIVE)
    result = data.index(b"peak memory:")
    assert last < result
    wipe = re.search(rb"\r +\r", data[last + 1:result])
    assert wipe is not None and \
        last + 1 + wipe.end() == result, data[last:]
    # no line wider than the terminal's 80 columns (it would wrap)
    for m in update.finditer(data):
        assert len(m.group().decode()) <= 80, m.group()
    shown = screen(data)
    assert len(shown) == 2, shown
    assert TEXT_RE.match(shown[0]), shown
    # the real streams are back once the statement ended
    assert shown[1] == "TextIOWrapper TextIOWrapper", shown


def test_statement_output_lands_on_clean_lines_below_none_of_the_line():
    body = ("for i in range(5):\\n"
            "    print('step', i)\\n"
            "    time.sleep(0.5)\\n")
    data, _ = run_ipython(
        "%load_ext peakmem\n"
        "import time\n"
        "get_ipython().run_cell_magic('memit', '', \"" + body + "\")\n")
    shown = screen(data)
    assert shown[:5] == ["step %d" % i for i in range(5)], shown
    assert len(shown) == 6 and TEXT_RE.match(shown[5]), shown
    # the line was drawn again below a print while the cell ran on
    assert re.search(rb"step \d\n\rrunning ", data), data
    # and every print came after a wiped line or a line end, never after
    # live text on the same line
    for m in re.finditer(rb"step \d", data):
        before = data[:m.start()]
        clean = not before or before.endswith(b"\n") or \
            re.search(rb"\r +\r$", before) is not None
        assert clean, data[m.start() - 120:m.end()]


@pytest.mark.parametrize("code, stderr_tty", [
    ("%memit time.sleep(1.5)\n", False),
    ("%memit --no-live time.sleep(1.5)\n", True),
    ("import os; os.environ['PEAKMEM_LIVE'] = '0'\n"
     "%memit time.sleep(1.5)\n", True),
], ids=["stderr-pipe", "no-live", "PEAKMEM_LIVE=0"])
def test_no_live_line_when_stderr_is_no_terminal_or_it_is_off(code,
                                                             stderr_tty):
    data, err = run_ipython("%load_ext peakmem\nimport time\n" + code,
                            stderr_tty=stderr_tty)
    assert b"running" not in data and b"\r" not in data, data
    if err is not None:
        assert err == b"", err
    shown = screen(data)
    assert len(shown) == 1 and TEXT_RE.match(shown[0]), shown
