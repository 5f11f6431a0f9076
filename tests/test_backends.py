"""memory_profiler's backends (issue 12.6) and its Popen/pid behaviours
of memory_usage (issue 12.7): psutil_pss and psutil_uss read
/proc/self/smaps_rollup, tracemalloc the memory Python traces; a Popen
gets its returncode; a missing pid raises what memory_profiler raises."""
import subprocess
import sys
import time
import tracemalloc

import pytest

import peakmem

MIB = 2 ** 20
PY = sys.executable


def smaps_mib(key):
    """The key's kB in /proc/self/smaps_rollup (Private_* summed), MiB."""
    total = 0
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if (name == key or (key == "USS" and name.startswith("Private_"))):
                total += int(rest.split()[0])
    return total / 1024


@pytest.mark.parametrize("backend,key", [("psutil_pss", "Pss"),
                                          ("psutil_uss", "USS")])
def test_memory_usage_pss_uss_read_smaps_rollup(backend, key):
    before = smaps_mib(key)
    got = peakmem.memory_usage(-1, backend=backend)[0]
    after = smaps_mib(key)
    assert min(before, after) - 1 <= got <= max(before, after) + 1
    rss = peakmem.memory_usage(-1, backend="psutil")[0]
    # libpython and libc pages are shared with other processes: in RSS,
    # divided in PSS, absent from USS.
    assert got < rss


def test_uss_and_pss_match_psutil():
    psutil = pytest.importorskip("psutil")
    info = psutil.Process().memory_full_info()
    uss = peakmem.memory_usage(-1, backend="psutil_uss")[0]
    pss = peakmem.memory_usage(-1, backend="psutil_pss")[0]
    assert abs(uss - info.uss / MIB) < 2
    assert abs(pss - info.pss / MIB) < 2


def test_memory_usage_callable_uss_sees_touched_block():
    def grow():
        block = bytearray(64 * MIB)
        block[::4096] = b"x" * (64 * MIB // 4096)
        time.sleep(0.3)  # held for ~300 samples of 1 ms
        return len(block)

    base = peakmem.memory_usage(-1, backend="psutil_uss")[0]
    peak = peakmem.memory_usage((grow,), interval=0.001, max_usage=True,
                                backend="psutil_uss")
    assert base + 60 < peak < base + 80


def test_memory_usage_tracemalloc_reports_traced_peak():
    def alloc():
        b = bytearray(32 * MIB)
        del b
        return 7

    assert not tracemalloc.is_tracing()
    peak, ret = peakmem.memory_usage((alloc,), max_usage=True, retval=True,
                                     backend="tracemalloc")
    assert ret == 7
    assert 32 <= peak < 32.5
    samples = peakmem.memory_usage((alloc,), backend="tracemalloc")
    assert len(samples) == 3 and samples[1] >= 32 and samples[2] < 1
    # started for the call, stopped after: no tracing left behind
    assert not tracemalloc.is_tracing()


def test_memory_usage_tracemalloc_refuses_another_pid():
    with pytest.raises(ValueError, match="this process only"):
        peakmem.memory_usage(1, backend="tracemalloc")


def test_unknown_backend_is_one_line_value_error():
    with pytest.raises(ValueError) as e:
        peakmem.memory_usage(-1, backend="rss")
    assert str(e.value) == (
        "memory_usage(): unknown backend 'rss' (one of psutil, psutil_pss, "
        "psutil_uss, posix, tracemalloc)")
    with pytest.raises(ValueError, match=r"^profile\(\): unknown backend"):
        peakmem.profile(backend="nope")


SCRIPT = '''\
import sys
from peakmem import profile

@profile(backend=sys.argv[1], stream=sys.stdout)
def f():
    a = bytearray(8 * 2 ** 20)
    return a

f()
'''


def run_py(args, tmp_path, script=SCRIPT):
    path = tmp_path / "s.py"
    path.write_text(script)
    return subprocess.run([PY] + [a if a != "S" else str(path)
                                  for a in args],
                          capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path))


def increment_of(out, needle):
    line = next(ln for ln in out.splitlines() if needle in ln)
    return float(line[20:32].split()[0])


@pytest.mark.parametrize("backend", ["tracemalloc", "psutil_uss",
                                     "psutil_pss", "posix"])
def test_profile_backend_measures_the_line(backend, tmp_path):
    r = run_py(["S", backend], tmp_path)
    assert r.returncode == 0, r.stderr
    assert 7.9 <= increment_of(r.stdout, "bytearray(8") <= 8.3
    if backend == "tracemalloc":  # traced memory, not the process's
        first = next(ln for ln in r.stdout.splitlines() if "@profile" in ln)
        assert float(first[6:19].split()[0]) < 1


MAIN_SCRIPT = '''\
@profile
def f():
    a = bytearray(8 * 2 ** 20)
    return a

f()
'''


@pytest.mark.parametrize("backend", ["tracemalloc", "psutil_uss"])
def test_main_backend_is_measured(backend, tmp_path):
    r = run_py(["-m", "peakmem", "--backend", backend, "S"], tmp_path,
               MAIN_SCRIPT)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no "falls back to RSS"
    assert 7.9 <= increment_of(r.stdout, "bytearray(8") <= 8.3
    if backend == "tracemalloc":
        first = next(ln for ln in r.stdout.splitlines() if "@profile" in ln)
        assert float(first[6:19].split()[0]) < 5  # RSS: > 10


def test_main_unknown_backend_is_a_usage_error(tmp_path):
    r = run_py(["-m", "peakmem", "--backend", "rss", "S"], tmp_path,
               MAIN_SCRIPT)
    assert r.returncode == 2
    assert "argument --backend: invalid choice: 'rss'" in r.stderr


# ---- issue 12.7 -----------------------------------------------------------

def test_memory_usage_popen_sets_returncode():
    p = subprocess.Popen([PY, "-c", "import time, sys; time.sleep(0.3); "
                          "sys.exit(3)"])
    mem = peakmem.memory_usage(p, interval=0.01)
    assert mem
    assert p.returncode == 3


def test_memory_usage_popen_with_timeout_running_keeps_none():
    p = subprocess.Popen([PY, "-c", "import time; time.sleep(30)"])
    try:
        peakmem.memory_usage(p, interval=0.01, timeout=0.05)
        assert p.returncode is None
    finally:
        p.kill()
        p.wait()


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_memory_usage_missing_pid_raises_no_such_process():
    pid = dead_pid()
    with pytest.raises(ProcessLookupError) as e:
        peakmem.memory_usage(pid)
    assert isinstance(e.value, peakmem.NoSuchProcess)
    assert str(e.value) == "memory_usage(): no process with pid %d" % pid
    assert e.value.pid == pid


def test_memory_usage_missing_pid_is_psutils_no_such_process():
    psutil = pytest.importorskip("psutil")
    pid = dead_pid()
    with pytest.raises(psutil.NoSuchProcess) as e:
        peakmem.memory_usage(pid, timeout=0.05, interval=0.01)
    assert e.value.pid == pid and e.value.msg.endswith(str(pid))
    with pytest.raises(psutil.NoSuchProcess):
        peakmem.memory_usage(pid, multiprocess=True, timeout=0.05)
