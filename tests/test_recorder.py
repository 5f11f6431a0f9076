"""The peakmem command (mprof's subcommands): recordings of real
programs, .dat files read back by Debian's mprof (memory_profiler 0.61)
and mprof's files read by peakmem, plots, profile management, every
bad-input error line, and Ctrl-C. Runs the venv's `peakmem` script."""
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

PEAKMEM = os.path.join(os.path.dirname(sys.executable), "peakmem")
DEBIAN_PY = "/usr/bin/python3"
MIB = 2**20

# Allocates and touches 100 MiB, after printing its RSS before that.
ALLOC_SCRIPT = """\
import os, time
with open("/proc/self/statm") as f:
    base = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
print("baseline", base, flush=True)
a = bytearray(100 * 2**20)
for i in range(0, len(a), 4096):
    a[i] = 1
time.sleep(0.4)
"""

PROFILED_SCRIPT = """\
import time
@profile
def grow():
    a = bytearray(40 * 2**20)
    for i in range(0, len(a), 4096):
        a[i] = 1
    time.sleep(0.3)
    return len(a)
grow()
time.sleep(0.1)
"""

# Two Python children that each hold 30 MiB for a while.
CHILDREN_SCRIPT = """\
import subprocess, sys
code = ("import time; a = bytearray(30 * 2**20)\\n"
        "for i in range(0, len(a), 4096): a[i] = 1\\n"
        "time.sleep(0.6)")
procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
for p in procs:
    p.wait()
"""

SMALL_DAT = ("CMDLINE python work.py\n"
             "MEM 10.000000 1700000000.0000\n"
             "MEM 42.500000 1700000000.1000\n"
             "MEM 12.000000 1700000000.2000\n")


def peakmem(args, cwd, **kw):
    return subprocess.run([PEAKMEM] + args, cwd=cwd, capture_output=True,
                          text=True, timeout=30, **kw)


def mem_values(path):
    return [float(line.split()[1]) for line in open(path)
            if line.startswith("MEM ")]


def mprof_read(path):
    """Debian's mprof parses the file: its dict, through JSON-ish repr."""
    code = ("import mprof, sys\n"
            "d = mprof.read_mprofile_file(sys.argv[1])\n"
            "print(max(d['mem_usage']))\n"
            "print(len(d['mem_usage']))\n"
            "print(repr(d['cmd_line']))\n"
            "print(sorted(d['children']))\n"
            "print(sorted(d['func_timestamp']))\n")
    out = subprocess.run([DEBIAN_PY, "-c", code, path], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    peak, n, cmd, children, funcs = out.splitlines()
    return {"peak": float(peak), "n": int(n), "cmd": eval(cmd),
            "children": eval(children), "funcs": eval(funcs)}


@pytest.fixture(scope="module")
def alloc_run(tmp_path_factory):
    """One 100 MiB recording shared by the tests that read it."""
    d = tmp_path_factory.mktemp("alloc")
    (d / "alloc.py").write_text(ALLOC_SCRIPT)
    r = peakmem(["run", "--nopython", "-T", "0.02", "-o", "alloc.dat",
                 "alloc.py"], d)
    assert r.returncode == 0, r.stderr
    base = int(re.search(r"baseline (\d+)", r.stdout).group(1))
    return d, d / "alloc.dat", base, r


def test_run_records_cmdline_and_mem(alloc_run):
    d, dat, base, r = alloc_run
    assert r.stdout.startswith("peakmem: Sampling memory every 0.02s\n"
                               "running new process\n")
    assert r.stderr == ""
    lines = dat.read_text().splitlines()
    assert lines[0] == "CMDLINE %s alloc.py" % sys.executable
    mems = [l for l in lines if l.startswith("MEM ")]
    assert len(mems) >= 15  # >= 0.4 s at 50 Hz
    assert all(re.fullmatch(r"MEM \d+\.\d{6} \d+\.\d{4}", l) for l in mems)
    times = [float(l.split()[2]) for l in mems]
    assert times == sorted(times)
    assert abs(times[0] - time.time()) < 60  # unix time
    expected = (base + 100 * MIB) / MIB
    assert abs(max(mem_values(dat)) - expected) < 0.1 * expected


def test_debian_mprof_reads_our_file(alloc_run):
    d, dat, base, r = alloc_run
    ours = peakmem(["peak", str(dat)], d)
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run([DEBIAN_PY, "-m", "mprof", "peak", str(dat)],
                            capture_output=True, text=True, timeout=30)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stdout == "%s\t%.3f MiB\n" % (dat, max(mem_values(dat)))
    got = mprof_read(str(dat))
    assert got["peak"] == max(mem_values(dat))
    assert got["n"] == len(mem_values(dat))
    assert got["cmd"].strip() == "%s alloc.py" % sys.executable


def test_peak_reads_debian_mprof_file(tmp_path):
    (tmp_path / "alloc.py").write_text(ALLOC_SCRIPT)
    subprocess.run([DEBIAN_PY, "-m", "mprof", "run", "--nopython", "-T",
                    "0.02", "-o", "m.dat", DEBIAN_PY, "alloc.py"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=30)
    theirs = subprocess.run([DEBIAN_PY, "-m", "mprof", "peak", "m.dat"],
                            cwd=tmp_path, capture_output=True, text=True,
                            timeout=30)
    ours = peakmem(["peak", "m.dat"], tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    assert float(ours.stdout.split("\t")[1].split()[0]) > 100


def test_python_script_gets_func_lines(tmp_path):
    (tmp_path / "prof.py").write_text(PROFILED_SCRIPT)
    r = peakmem(["run", "-T", "0.02", "-o", "p.dat", "prof.py"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "running as a Python program...\n" in r.stdout
    text = (tmp_path / "p.dat").read_text()
    assert text.startswith("CMDLINE %s prof.py\n" % sys.executable)
    funcs = [l.split() for l in text.splitlines() if l.startswith("FUNC ")]
    assert [f[1] for f in funcs] == ["__main__.grow"]
    assert float(funcs[0][5]) - float(funcs[0][3]) >= 0.3  # its span
    got = mprof_read(str(tmp_path / "p.dat"))
    assert got["funcs"] == ["__main__.grow"]
    assert got["peak"] > 40


def test_multiprocess_writes_chld_lines(tmp_path):
    (tmp_path / "kids.py").write_text(CHILDREN_SCRIPT)
    r = peakmem(["run", "-M", "-T", "0.05", "-o", "k.dat", "kids.py"],
                tmp_path)
    assert r.returncode == 0, r.stderr
    chld = [l.split() for l in (tmp_path / "k.dat").read_text().splitlines()
            if l.startswith("CHLD ")]
    pids = {c[1] for c in chld}
    assert len(pids) == 2
    for pid in pids:
        peak = max(float(c[2]) for c in chld if c[1] == pid)
        assert 30 < peak < 60
    got = mprof_read(str(tmp_path / "k.dat"))
    assert got["children"] == sorted(pids)
    peak = peakmem(["peak", "k.dat"], tmp_path).stdout.splitlines()
    assert len(peak) == 3 and all(l.startswith("  Child ")
                                  for l in peak[1:])


def test_include_children_adds_to_mem(tmp_path):
    (tmp_path / "kids.py").write_text(CHILDREN_SCRIPT)
    r = peakmem(["run", "-C", "-T", "0.05", "-o", "c.dat", "kids.py"],
                tmp_path)
    assert r.returncode == 0, r.stderr
    assert max(mem_values(tmp_path / "c.dat")) > 60  # two children of 30


def test_attach_records_until_exit(tmp_path):
    # The program ends when told to (a line on its stdin), once the file
    # holds samples: however slowly peakmem starts on a loaded host, it
    # attaches to a live process, and the recording ends with the process.
    code = ("import sys; a = bytearray(50 * 2**20)\n"
            "for i in range(0, len(a), 4096): a[i] = 1\n"
            "print('ready', flush=True); sys.stdin.readline()")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    rec = None
    try:
        assert p.stdout.readline() == "ready\n"
        rec = subprocess.Popen(
            [PEAKMEM, "attach", "-T", "0.02", "-o", "at.dat", str(p.pid)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        dat = tmp_path / "at.dat"
        deadline = time.monotonic() + 30
        while rec.poll() is None and time.monotonic() < deadline:
            if dat.exists() and len(mem_values(dat)) >= 10:
                break
            time.sleep(0.05)
        p.stdin.write("\n")
        p.stdin.flush()
        p.wait(timeout=10)
        t = time.monotonic()
        out, err = rec.communicate(timeout=30)
        assert rec.returncode == 0, err
        assert time.monotonic() - t < 5  # ended with the process
        assert ("attaching to existing process, using hint: %d\n" % p.pid
                in out)
    finally:
        p.kill()
        p.wait()
        if rec is not None and rec.poll() is None:
            rec.kill()
            rec.wait()
    lines = (tmp_path / "at.dat").read_text().splitlines()
    assert lines[0].startswith("CMDLINE %s -c " % sys.executable)
    assert max(mem_values(tmp_path / "at.dat")) > 50
    assert len(mem_values(tmp_path / "at.dat")) >= 10


def test_attach_timeout_stops_recording(tmp_path):
    p = subprocess.Popen(["sleep", "30"])
    try:
        t = time.monotonic()
        r = peakmem(["attach", "-t", "0.3", "-o", "t.dat", str(p.pid)],
                    tmp_path)
        assert r.returncode == 0, r.stderr
        assert 0.25 < time.monotonic() - t < 5
        assert p.poll() is None  # still running
        assert len(mem_values(tmp_path / "t.dat")) >= 2
    finally:
        p.kill()
        p.wait()


def test_exit_code_is_propagated_with_E(tmp_path):
    # the program runs for a few sampling periods: one that exits before
    # the first sample rightly gets the "no sample was taken" warning
    prog = ["sh", "-c", "sleep 0.3; exit 3"]
    r = peakmem(["run", "-E", "-o", "e.dat"] + prog, tmp_path)
    assert r.returncode == 3
    assert r.stderr == "peakmem: run: the program exited with code 3\n"
    r = peakmem(["run", "-o", "e.dat"] + prog, tmp_path)
    assert r.returncode == 0 and r.stderr == ""


def test_plot_svg_parses_and_shows_peak_and_title(alloc_run, tmp_path):
    d, dat, base, r = alloc_run
    r = peakmem(["plot", "-o", str(tmp_path / "a.svg"), str(dat)], d)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Plot written to %s\n" % (tmp_path / "a.svg")
    root = ET.parse(tmp_path / "a.svg").getroot()
    texts = ["".join(t.itertext()) for t in root.iter()
             if t.tag.endswith("text")]
    assert "%s alloc.py" % sys.executable in texts
    peak = "peak %.1f MiB" % max(mem_values(dat))
    assert any(t.startswith(peak) for t in texts), texts
    r = peakmem(["plot", "--title", "my <run>", "-o",
                 str(tmp_path / "b.svg"), str(dat)], d)
    assert r.returncode == 0, r.stderr
    texts = ["".join(t.itertext())
             for t in ET.parse(tmp_path / "b.svg").getroot().iter()]
    assert "my <run>" in texts


def test_plot_defaults_to_last_profile_as_svg(tmp_path):
    (tmp_path / "mprofile_20240101120000.dat").write_text(SMALL_DAT)
    r = peakmem(["plot"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("Using last profile data.\n"
                        "Plot written to mprofile_20240101120000.svg\n")
    ET.parse(tmp_path / "mprofile_20240101120000.svg")


def test_plot_png_without_matplotlib_says_use_svg(tmp_path):
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ImportError(\"No module named 'matplotlib'\")\n")
    (tmp_path / "s.dat").write_text(SMALL_DAT)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "fake"))
    r = peakmem(["plot", "-o", "s.png", "s.dat"], tmp_path, env=env)
    assert r.returncode == 1
    assert r.stderr == (
        "peakmem: plot: PNG output needs matplotlib, which cannot be "
        "imported (ImportError: No module named 'matplotlib'); write an "
        "SVG instead: -o plot.svg\n")
    assert not (tmp_path / "s.png").exists()


def test_plot_png_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "s.dat").write_text(SMALL_DAT)
    r = peakmem(["plot", "-o", "s.png", "s.dat"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_list_rm_clean(tmp_path):
    names = ["mprofile_20240101120000.dat", "mprofile_20240102130405.dat",
             "mprofile_20240103000001.dat"]
    for n in names:
        (tmp_path / n).write_text(SMALL_DAT)
    (tmp_path / "other.dat").write_text(SMALL_DAT)
    r = peakmem(["list"], tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == (
        "0 mprofile_20240101120000.dat 12:00:00 01/01/2024\n"
        "1 mprofile_20240102130405.dat 13:04:05 02/01/2024\n"
        "2 mprofile_20240103000001.dat 00:00:01 03/01/2024\n")
    # Debian's mprof lists the same
    theirs = subprocess.run([DEBIAN_PY, "-m", "mprof", "list"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
    assert theirs.stdout == r.stdout
    r = peakmem(["peak"], tmp_path)
    assert r.stdout == ("Using last profile data.\n"
                        "mprofile_20240103000001.dat\t42.500 MiB\n")
    r = peakmem(["rm", "--dry-run", "0"], tmp_path)
    assert r.stdout == "Files to be removed: \nmprofile_20240101120000.dat\n"
    assert (tmp_path / names[0]).exists()
    r = peakmem(["rm", "0", "-1", "other.dat"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == [names[1]]
    (tmp_path / names[0]).write_text(SMALL_DAT)
    r = peakmem(["clean"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert os.listdir(tmp_path) == []


def test_default_output_name(tmp_path):
    r = peakmem(["run", "true"], tmp_path)
    assert r.returncode == 0, r.stderr
    (name,) = os.listdir(tmp_path)
    assert re.fullmatch(r"mprofile_\d{14}\.dat", name)
    assert open(tmp_path / name).readline() == "CMDLINE true\n"


BAD_INPUT = [
    ([], 2, "peakmem: missing command: peakmem run|attach|peak|list|clean|"
            "rm|plot ... (see peakmem --help)"),
    (["frob"], 2, "peakmem: unknown command 'frob' (commands: run, attach, "
                  "peak, list, clean, rm, plot)"),
    (["run"], 2, "peakmem: run: a program to run must be provided"),
    (["run", "--bogus", "x.py"], 2,
     "peakmem: run: unknown option '--bogus' (see peakmem run --help)"),
    (["run", "-T", "abc", "x.py"], 2,
     "peakmem: run: --interval expects a positive number of seconds, got "
     "'abc'"),
    (["run", "-T"], 2, "peakmem: run: option -T needs a value"),
    (["run", "missing.py"], 1,
     "peakmem: run: cannot open script 'missing.py': No such file or "
     "directory"),
    (["run", "no-such-program-xyz"], 1,
     "peakmem: run: cannot run 'no-such-program-xyz': No such file or "
     "directory"),
    (["attach"], 2, "peakmem: attach: a process id to attach to must be "
                    "provided"),
    (["attach", "no-such-process-xyz"], 1,
     "peakmem: attach: no process whose name contains "
     "'no-such-process-xyz' (give a pid or a process name)"),
    (["run", "-a", "no-such-process-xyz"], 1,
     "peakmem: run: no process whose name contains "
     "'no-such-process-xyz' (give a pid or a process name)"),
    (["attach", "2147483000"], 1,
     "peakmem: attach: no process with pid 2147483000"),
    (["peak"], 1, "peakmem: peak: no mprofile_*.dat file in the current "
                  "directory (they are made by 'peakmem run')"),
    (["peak", "missing.dat"], 1,
     "peakmem: peak: cannot read 'missing.dat': No such file or directory"),
    (["peak", "empty.dat"], 1,
     "peakmem: peak: 'empty.dat' is empty (no MEM samples)"),
    (["peak", "nomem.dat"], 1,
     "peakmem: peak: 'nomem.dat' is not a usable .dat file: no MEM samples"),
    (["peak", "unreadable.dat"], 1,
     "peakmem: peak: cannot read 'unreadable.dat': Is a directory"),
    (["plot", "empty.dat"], 1,
     "peakmem: plot: 'empty.dat' is empty (no MEM samples)"),
    (["plot", "-o", "x.jpg", "empty.dat"], 2,
     "peakmem: plot: cannot write 'x.jpg': the output must end in .svg or "
     ".png"),
    (["plot"], 1, "peakmem: plot: no mprofile_*.dat file in the current "
                  "directory (they are made by 'peakmem run')"),
    (["list", "x"], 2, "peakmem: list: this command takes no argument, got "
                       "'x'"),
    (["rm"], 2, "peakmem: rm: a profile to remove must be provided (number "
                "or file name)"),
    (["rm", "7"], 1, "peakmem: rm: no profile with index 7 (see peakmem "
                     "list)"),
    # argparse's errors, in the command's words: no abbreviations, a value
    # given to a flag, an unknown flag in a cluster
    (["run", "--inter", "1", "x.py"], 2,
     "peakmem: run: unknown option '--inter' (see peakmem run --help)"),
    (["rm", "--dry-run=1", "0"], 2,
     "peakmem: rm: option --dry-run takes no value"),
    (["run", "-CMx", "true"], 2,
     "peakmem: run: unknown option '-x' (see peakmem run --help)"),
    (["run", "--timeout", "0", "true"], 2,
     "peakmem: run: --timeout expects a positive number of seconds, got "
     "'0'"),
    (["run", "--backend", "tracemalloc", "true"], 2,
     "peakmem: run: --backend tracemalloc: tracemalloc measures a Python "
     "process from inside and cannot record another (use psutil, "
     "psutil_pss, psutil_uss or posix)"),
    (["run", "--backend", "rss", "true"], 2,
     "peakmem: run: --backend rss: unknown (one of psutil, psutil_pss, "
     "psutil_uss, posix)"),
    (["attach", "1", "2"], 2,
     "peakmem: attach: attach takes one process id, got 2 arguments"),
    (["attach", "-E", "1"], 2,
     "peakmem: attach: --python, --nopython and --exit-code are options "
     "of run without --attach"),
    (["plot", "empty.dat", "a.dat"], 1,
     "peakmem: plot: 'empty.dat' is empty (no MEM samples)"),
    (["plot", "-w", "3", "empty.dat"], 2,
     "peakmem: plot: --window expects two numbers of seconds separated by "
     "a comma, the first not above the second (e.g. 0,20.5), got '3'"),
    (["plot", "-w", "5,1", "empty.dat"], 2,
     "peakmem: plot: --window expects two numbers of seconds separated by "
     "a comma, the first not above the second (e.g. 0,20.5), got '5,1'"),
]


@pytest.mark.parametrize("args,code,line", BAD_INPUT,
                         ids=[" ".join(a) or "none" for a, _, _ in BAD_INPUT])
def test_bad_input_gets_one_error_line(tmp_path, args, code, line):
    (tmp_path / "empty.dat").write_text("")
    (tmp_path / "nomem.dat").write_text("CMDLINE x\nFOO bar\n")
    (tmp_path / "unreadable.dat").mkdir()
    r = peakmem(args, tmp_path)
    assert (r.returncode, r.stderr) == (code, line + "\n")
    assert "Traceback" not in r.stdout
    assert not any(f.startswith("mprofile_") for f in os.listdir(tmp_path))


def test_argparse_forms_help_and_version(tmp_path):
    """--opt=value, combined short flags, -h per command, --version."""
    r = peakmem(["run", "--interval=0.05", "--output=o.dat", "-CET0.02",
                 "sh", "-c", "sleep 0.3; exit 5"], tmp_path)
    assert (r.returncode, r.stderr) == (
        5, "peakmem: run: the program exited with code 5\n")
    assert r.stdout.startswith("peakmem: Sampling memory every 0.02s\n")
    assert (tmp_path / "o.dat").read_text().startswith(
        "CMDLINE sh -c 'sleep 0.3; exit 5'\nMEM ")
    for cmd in ["run", "attach", "peak", "list", "clean", "rm", "plot"]:
        r = peakmem([cmd, "-h"], tmp_path)
        assert (r.returncode, r.stderr) == (0, ""), cmd
        assert r.stdout.startswith("usage: peakmem "), r.stdout
    r = peakmem(["run", "--help"], tmp_path)
    for opt in ["--interval", "--include-children", "--multiprocess",
                "--exit-code", "--timeout", "--output", "--nopython"]:
        assert opt in r.stdout
    r = peakmem(["--version"], tmp_path)
    assert re.fullmatch(r"peakmem \d+\.\d+\.\d+\n", r.stdout)
    assert os.listdir(tmp_path) == ["o.dat"]


def test_plot_png_module_draws(tmp_path):
    """The PNG code is a module of its own, importable and callable."""
    pytest.importorskip("matplotlib")
    from peakmem import _plot_png
    out = tmp_path / "m.png"
    _plot_png.draw(str(out), "title",
                   [("main", [0.0, 0.1, 0.2], [10.0, 42.5, 12.0]),
                    ("child 7", [0.05, 0.15], [3.0, 4.0])],
                   [("f", 0.05, 0.15, 0)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_garbled_dat_names_the_line(tmp_path):
    (tmp_path / "bad.dat").write_text("CMDLINE x\nMEM 1.0 2.0\nMEM abc\n")
    r = peakmem(["peak", "bad.dat"], tmp_path)
    assert r.returncode == 1
    assert re.fullmatch(r"peakmem: peak: 'bad\.dat' is not a usable \.dat "
                        r"file: line 3: .+\n", r.stderr), r.stderr


def test_ctrl_c_leaves_a_complete_dat(tmp_path):
    p = subprocess.Popen([PEAKMEM, "run", "-T", "0.01", "-o", "c.dat",
                          "sleep", "31.5"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    dat = tmp_path / "c.dat"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if dat.exists() and "MEM " in dat.read_text():
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 130
    assert "Traceback" not in err and err == ""
    text = dat.read_text()
    assert text.startswith("CMDLINE sleep 31.5\n") and text.endswith("\n")
    assert all(re.fullmatch(r"MEM \d+\.\d{6} \d+\.\d{4}", l)
               for l in text.splitlines()[1:])
    assert mprof_read(str(dat))["n"] >= 10
    # the program was stopped too (the signal came from kill, not a tty)
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", "sleep 31.5"], capture_output=True)
    assert left.stdout == b""


def limited_memory():
    """Cap the child's address space at 2 GiB: a runaway loop fails fast
    instead of taking the host's memory."""
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


# Any finite input draws or gets one line: the tick loop once stood still
# (k + 1 == k) on these and wrote ticks until memory ran out.
HOSTILE_PLOTS = [
    ("span.dat", "CMDLINE x\nMEM 1 0\nFUNC f 1 -1.7e308 1 1.7e308\n",
     ["-1.5e+308", "1.5e+308"]),
    ("children.dat", "CMDLINE x\nMEM 1 0\nCHLD 5 1 1.7e308\n"
                     "CHLD 6 1 -1.7e308\n", ["-1.5e+308", "1.5e+308"]),
    ("bigmib.dat", "CMDLINE x\nMEM 1.7e308 0\nMEM 1 1\n", ["1.5e+308"]),
]


@pytest.mark.parametrize("name,text,ticks", HOSTILE_PLOTS,
                         ids=[n for n, _, _ in HOSTILE_PLOTS])
def test_plot_any_finite_range_draws(tmp_path, name, text, ticks):
    (tmp_path / name).write_text(text)
    r = subprocess.run([PEAKMEM, "plot", name, "-o", "out.svg"],
                       cwd=tmp_path, capture_output=True, text=True,
                       timeout=20, preexec_fn=limited_memory)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    root = ET.parse(tmp_path / "out.svg").getroot()
    texts = ["".join(t.itertext()) for t in root.iter()
             if t.tag.endswith("}text")]
    assert len(texts) < 40
    for tick in ticks:
        assert tick in texts


def test_plot_times_too_far_apart_is_one_line(tmp_path):
    (tmp_path / "far.dat").write_text(
        "CMDLINE x\nMEM 1 -1.7e308\nMEM 2 1.7e308\n")
    r = subprocess.run([PEAKMEM, "plot", "far.dat", "-o", "out.svg"],
                       cwd=tmp_path, capture_output=True, text=True,
                       timeout=20, preexec_fn=limited_memory)
    assert (r.returncode, r.stderr) == (
        1, "peakmem: plot: cannot plot 'far.dat': its times lie too far "
           "apart (more than 1.8e308 s)\n")
    assert not (tmp_path / "out.svg").exists()


def test_peak_escapes_control_characters(tmp_path):
    """ESC and BEL from a crafted file (or its name) reach the terminal as
    text, never as bytes: an OSC sequence here would retitle it."""
    (tmp_path / "esc.dat").write_bytes(
        b"CMDLINE x\nMEM 1 0\n\x1b]0;owned\x07\n")
    (tmp_path / "name\x1b[2J.dat").write_bytes(b"CMDLINE x\nMEM 2.5 0\n")
    r = subprocess.run([PEAKMEM, "peak", "esc.dat"], cwd=tmp_path,
                       capture_output=True, timeout=20)
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr == (b"peakmem: peak: 'esc.dat' is not a usable .dat "
                        b"file: line 3: \"\\x1b]0;owned\\x07\" is not a "
                        b"record (no space after its type)\n")
    r = subprocess.run([PEAKMEM, "peak", "name\x1b[2J.dat"], cwd=tmp_path,
                       capture_output=True, timeout=20)
    assert (r.returncode, r.stderr) == (0, b"")
    assert r.stdout == b"name\\x1b[2J.dat\t2.500 MiB\n"


def test_peak_reports_nul_byte(tmp_path):
    (tmp_path / "nul.dat").write_bytes(b"CMDLINE x\nMEM 1\x00 0\n")
    r = peakmem(["peak", "nul.dat"], tmp_path)
    assert (r.returncode, r.stderr) == (
        1, "peakmem: peak: 'nul.dat' is not a usable .dat file: line 2: "
           "NUL byte at column 6 (a .dat file is text)\n")


def test_peak_caps_what_it_reads(tmp_path):
    """/dev/zero never ends: refused, not read until memory runs out; a
    file over the 1 GiB cap is refused from its size (sparse here)."""
    with open(tmp_path / "huge.dat", "wb") as f:
        f.truncate((1 << 30) + 1)
    for name, line in [
            ("/dev/zero", "cannot read '/dev/zero': not a regular file"),
            ("huge.dat", "cannot read 'huge.dat': larger than 1024 MiB, "
                         "the most peakmem reads")]:
        r = subprocess.run([PEAKMEM, "peak", name], cwd=tmp_path,
                           capture_output=True, text=True, timeout=20,
                           preexec_fn=limited_memory)
        assert (r.returncode, r.stderr) == (1, "peakmem: peak: " + line +
                                            "\n")


# ---- mprof's plot, peak and attach options (issue 12.8) ----------------

FUNC_DAT = ("CMDLINE python work.py\n"
            "MEM 10.000000 1700000000.0000\n"
            "MEM 20.000000 1700000001.0000\n"
            "MEM 50.000000 1700000002.0000\n"
            "MEM 30.000000 1700000003.0000\n"
            "MEM 40.000000 1700000004.0000\n"
            "FUNC __main__.f 10.0000 1700000000.5000 20.0000 "
            "1700000001.5000 0\n"
            "FUNC __main__.f 30.0000 1700000002.5000 40.0000 "
            "1700000004.0000 0\n"
            "FUNC __main__.g 20.0000 1700000001.0000 25.0000 "
            "1700000001.2000 1\n")


@pytest.mark.parametrize("func", ["__main__.f", "__main__.g", "nope"])
def test_peak_func_matches_debian_mprof(tmp_path, func):
    (tmp_path / "f.dat").write_text(FUNC_DAT)
    ours = peakmem(["peak", "--func", func, "f.dat"], tmp_path)
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run([DEBIAN_PY, "-m", "mprof", "peak", "--func",
                             func, "f.dat"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
    assert ours.stdout == theirs.stdout
    assert ours.stdout == {"__main__.f": "f.dat\t40.000 MiB\n",
                           "__main__.g": "f.dat\t20.000 MiB\n",
                           "nope": "f.dat\tNaN MiB\n"}[func]


def svg_of(tmp_path, args):
    r = peakmem(["plot", "-o", "p.svg"] + args, tmp_path)
    assert r.returncode == 0, r.stderr
    return (tmp_path / "p.svg").read_text()


def test_plot_several_files_one_line_each(tmp_path):
    (tmp_path / "a.dat").write_text(FUNC_DAT)
    (tmp_path / "b.dat").write_text(SMALL_DAT)
    svg = svg_of(tmp_path, ["a.dat", "b.dat"])
    assert svg.count("<polyline") == 2
    assert ">a.dat<" in svg and ">b.dat<" in svg
    assert 'class="span"' not in svg  # mprof: no function marks


def test_plot_no_function_ts_and_flame(tmp_path):
    (tmp_path / "a.dat").write_text(FUNC_DAT)
    assert svg_of(tmp_path, ["a.dat"]).count('class="span"') == 3
    assert 'class="span"' not in svg_of(tmp_path, ["-n", "a.dat"])
    flame = svg_of(tmp_path, ["--flame", "a.dat"])
    assert flame.count('class="flame"') == 3 and 'class="span"' not in flame
    # g (level 1) is stacked above f (level 0)
    ys = {m.group(1): float(m.group(2)) for m in re.finditer(
        r'<title>([^<]+)</title><rect x="[^"]+" y="([^"]+)"', flame)}
    assert ys["g"] < ys["f"]  # labels as mprof: the shortest unique


def test_plot_slope_labels_the_trend(tmp_path):
    (tmp_path / "b.dat").write_text(
        "CMDLINE x\n" + "".join("MEM %d.000000 1700000000.%d000\n"
                                % (10 + 2 * i, i) for i in range(10)))
    svg = svg_of(tmp_path, ["--slope", "b.dat"])
    assert "main slope 20.00000" in svg  # 2 MiB per 0.1 s
    assert svg.count("<polyline") == 2  # the samples and the trend


def test_plot_window_keeps_its_samples(tmp_path):
    (tmp_path / "a.dat").write_text(FUNC_DAT)
    svg = svg_of(tmp_path, ["-w", "1,3", "a.dat"])
    # three samples (1, 2, 3 s): the 50 MiB peak inside, the 40 outside
    assert "peak 50.0 MiB" in svg
    points = re.search(r'<polyline[^>]* points="([^"]+)"', svg).group(1)
    assert len(points.split()) == 3


def test_attach_and_run_attach_by_process_name(tmp_path):
    sleeper = tmp_path / "pmk12sleeper"
    sleeper.write_bytes(open("/bin/sleep", "rb").read())
    sleeper.chmod(0o755)
    p = subprocess.Popen([str(sleeper), "30"])
    try:
        for args in (["attach", "pmk12sleep"], ["run", "-a", "pmk12sleep"],
                     ["run", "--attach", str(p.pid)]):
            r = peakmem([args[0], "-t", "0.3", "-o", "n.dat"] + args[1:],
                        tmp_path)
            assert r.returncode == 0, r.stderr
            assert ("attaching to existing process, using hint: %s\n"
                    % args[-1]) in r.stdout
            assert "pid %d keeps running" % p.pid in r.stdout
            first = (tmp_path / "n.dat").read_text().splitlines()[0]
            assert first == "CMDLINE %s 30" % sleeper
    finally:
        p.kill()
        p.wait()


def test_run_backend_uss_records_private_memory(tmp_path):
    """--backend psutil_uss: MEM holds the unique set size, below the RSS
    by the shared libraries, and still the 100 MiB the program touches."""
    (tmp_path / "alloc.py").write_text(ALLOC_SCRIPT)
    for backend in ("psutil", "psutil_uss"):
        r = peakmem(["run", "--nopython", "--backend", backend, "-T",
                     "0.02", "-o", backend + ".dat", "alloc.py"], tmp_path)
        assert r.returncode == 0, r.stderr
    rss = mem_values(tmp_path / "psutil.dat")
    uss = mem_values(tmp_path / "psutil_uss.dat")
    assert max(rss) > 100 and max(uss) > 100
    # the interpreter's pages, shared with this test's own Python, are in
    # RSS and not in USS
    assert max(uss) < max(rss) - 1
