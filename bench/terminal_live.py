"""Benchmark: the live line in terminal IPython, under a pseudo-terminal.
Prints how many times the line was drawn during `%memit time.sleep(S)`,
and the wall time of a `%%memit` cell that prints N lines with the live
line (sys.stdout is then a stand-in that wipes the line before each write
and flushes the writes that end a line) against --no-live, with their ratio (best of
--runs each).

  .venv/bin/python bench/terminal_live.py [--seconds S] [--lines N]
"""
import argparse
import os
import subprocess
import sys
import tty

IPYTHON = [sys.executable, "-m", "IPython", "--quick", "--no-banner",
           "--colors=NoColor", "--TerminalInteractiveShell.term_title=False",
           "-c"]


def on_pty(code):
    """Run code in terminal IPython on a raw pseudo-terminal; its bytes."""
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen(IPYTHON + [code], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, cwd="/")
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    proc.wait()
    return data


def printing_cell(lines, options):
    code = ("%%load_ext peakmem\nimport time\nt = time.perf_counter()\n"
            "get_ipython().run_cell_magic('memit', %r, "
            "'for i in range(%d): print(i)')\n"
            "print('SECONDS %%.4f' %% (time.perf_counter() - t))\n"
            % (options, lines))
    out = on_pty(code)
    return float(out.split(b"SECONDS ")[1].split()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--lines", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    out = on_pty("%%load_ext peakmem\nimport time\n%%memit time.sleep(%g)\n"
                 % a.seconds)
    print("live line drawn %d times in %%memit time.sleep(%g)"
          % (out.count(b"\rrunning "), a.seconds))
    live = min(printing_cell(a.lines, "") for _ in range(a.runs))
    plain = min(printing_cell(a.lines, "--no-live") for _ in range(a.runs))
    print("%%%%memit cell printing %d lines: %.3f s with the live line, "
          "%.3f s with --no-live, ratio %.2f" % (a.lines, live, plain,
                                                 live / plain))


if __name__ == "__main__":
    main()
