"""peakmem as a drop-in for memory_profiler 0.61 (issue 12): the builtin
profile of python -m peakmem (a LineProfiler whose wrappers bind as
methods), --timestamp's errors, the LineProfiler / show_results / LogFile /
choose_backend API and %mprun -r's code_map, compared with Debian's
memory_profiler where its text applies, and recursion's increments."""
import re
import subprocess
import sys

import pytest
from conftest import table_rows

PY = sys.executable
DEBIAN_PY = "/usr/bin/python3"


def run(args, cwd, timeout_s=120, **kw):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout_s, **kw)


def has_memory_profiler():
    return run([DEBIAN_PY, "-c", "import memory_profiler"], "/").returncode \
        == 0


needs_mp = pytest.mark.skipif(not has_memory_profiler(),
                              reason="Debian's python3-memory-profiler is "
                                     "not installed")

# ---- 12.1: methods, wraps attributes, profile() under python -m peakmem --

METHODS = '''\
class K:
    @profile
    def m(self, n):
        """doc of m"""
        a = [0] * n
        return len(a)

    @profile()
    def bare(self):
        return 5


@profile(precision=2)
def g(n):
    return n + 1


print("m", K().m(10), K().bare(), g(1))
print("names", K.m.__name__, K.m.__qualname__, K.m.__doc__,
      K.m.__wrapped__.__name__)
def h(n):
    return n
h.before = "the function's"
hw = profile(h)
hw.tag = "set on the wrapper"  # as decorators above @profile do
h.after = "later"
print("attrs", hw.tag, "|", hw.before, "|", hw.after, "|", sorted(vars(hw)))
'''


@pytest.mark.parametrize("flags", [[], ["--timestamp", "-o", "t.dat"]],
                         ids=["table", "timestamp"])
def test_runner_profile_binds_methods_and_keeps_names(tmp_path, flags):
    """Issue 12.1: under python -m peakmem (and --timestamp, what `peakmem
    run` uses) a @profile'd method gets self, the wrapper carries the
    function's __name__/__qualname__/__doc__/__wrapped__ and attributes
    (functools.wraps), takes attributes of its own (a function's __dict__),
    and profile() / profile(precision=N) decorate too."""
    (tmp_path / "s.py").write_text(METHODS)
    out = run([PY, "-m", "peakmem"] + flags + ["s.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "m 10 5 2\n" in out.stdout
    assert "names m K.m doc of m m\n" in out.stdout
    assert ("attrs set on the wrapper | the function's | later | "
            "['before', 'tag']\n" in out.stdout)
    if flags:
        funcs = [l.split()[1] for l in
                 (tmp_path / "t.dat").read_text().splitlines()]
        assert funcs == ["__main__.K.m", "__main__.K.bare", "__main__.g"]
    else:
        assert out.stdout.count("Filename: ") == 3
        rows = table_rows(out.stdout)
        assert rows[5][2] == "1" and rows[5][3] == "        a = [0] * n"


# ---- 12.2: --timestamp keeps the profiled function's exception ------------

def test_timestamp_keeps_the_exception_and_its_traceback(tmp_path):
    """Issue 12.2: an exception inside a profiled function under
    --timestamp comes out as itself with its traceback (not SystemError),
    the exit code is 1 and the calls are still recorded."""
    (tmp_path / "e.py").write_text(
        "@profile\ndef f(n):\n    return 1 / n\n\nprint(f(2))\nf(0)\n")
    out = run([PY, "-m", "peakmem", "--timestamp", "-o", "t.dat", "e.py"],
              tmp_path)
    assert out.returncode == 1
    assert "SystemError" not in out.stderr
    err = out.stderr.rstrip().splitlines()
    assert err[-1] == "ZeroDivisionError: division by zero"
    assert '  File "e.py", line 3, in f' in err
    assert '  File "e.py", line 6, in <module>' in err
    funcs = [l for l in (tmp_path / "t.dat").read_text().splitlines()]
    assert [l.split()[1] for l in funcs] == ["__main__.f", "__main__.f"]


# ---- 12.3: the builtin profile is a LineProfiler ---------------------------

BUILTIN = '''\
import peakmem


def h():
    x = bytearray(8 * 2**20)
    return len(x)


def k():
    return 3


profile.add_function(h)
with profile:
    h()
profile.enable_by_count()
profile.enable_by_count()
h()
profile.disable_by_count()
h()
profile.disable_by_count()
h()  # not profiled: the count is back to 0
wrapped = profile(k)
print("k", wrapped(), profile.enable_count,
      isinstance(profile, peakmem.LineProfiler))
'''


def test_runner_builtin_profile_is_a_line_profiler(tmp_path):
    """Issue 12.3: python -m peakmem's builtin profile is memory_profiler's
    LineProfiler: with profile:, enable_by_count/disable_by_count (counted),
    add_function, profile(func); the report at exit has every function
    that ran under it."""
    (tmp_path / "b.py").write_text(BUILTIN)
    out = run([PY, "-m", "peakmem", "b.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "k 3 0 True\n" in out.stdout
    assert out.stdout.count("Filename: ") == 2
    h_table, k_table = out.stdout.split("Filename: ")[1:]
    rows = table_rows(h_table)
    assert rows[5][2] == "3" and rows[5][3] == "    x = bytearray(8 * 2**20)"
    assert float(rows[5][1]) >= 7  # (glibc may reuse the freed 8 MiB)
    assert table_rows(k_table)[10][2] == "1"


# ---- 12.4: LineProfiler, show_results, LogFile, choose_backend -------------

MODULE = '''\
def f(n):
    a = bytearray(16 * 2**20)
    b = [1] * n
    del a
    return len(b)


def never():
    return 0
'''

COMPARE = '''\
import io, logging, sys
sys.path.insert(0, ".")
import memory_profiler as mp
import peakmem
import work

prof = peakmem.LineProfiler()
wf = prof(work.f)
prof.add_function(work.never)
print("call", wf(1000), wf.__name__, prof.enable_count)
cm = prof.code_map
print("keys", sorted(c.co_name for c in cm))
print("never", cm[work.never.__code__])
entry = cm[work.f.__code__][2]
print("entry", type(entry[0]).__name__, type(entry[1]).__name__,
      entry[2], round(entry[0]))
for precision in (1, 3):
    ours, theirs = io.StringIO(), io.StringIO()
    peakmem.show_results(prof, stream=ours, precision=precision)
    mp.show_results(prof, stream=theirs, precision=precision)
    print("same", precision, ours.getvalue() == theirs.getvalue())
sys.stdout.write(ours.getvalue())

class Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.got = []
    def emit(self, record):
        self.got.append(record.getMessage())

for flag in (False, True):
    got = []
    for name, cls in (("ours", peakmem.LogFile), ("theirs", mp.LogFile)):
        h = Keep()
        log = logging.getLogger(name + str(flag))
        log.addHandler(h)
        log.setLevel(logging.INFO)
        peakmem.show_results(prof, stream=cls(name + str(flag),
                             reportIncrementFlag=flag))
        got.append(h.got)
    print("log", flag, len(got[0]), got[0] == got[1])
    if flag:
        print("logged", got[0])
'''


@needs_mp
def test_line_profiler_and_show_results_as_memory_profiler(tmp_path):
    """Issue 12.4: peakmem.LineProfiler used as memory_profiler's (call as
    decorator, add_function, code_map of code object -> {line: (increment,
    mem, occurrences)} in MiB floats), and peakmem.show_results prints
    exactly what memory_profiler's show_results prints for it (precision 1
    and 3); LogFile logs the same records as memory_profiler's, with and
    without reportIncrementFlag."""
    (tmp_path / "work.py").write_text(MODULE)
    (tmp_path / "c.py").write_text(COMPARE)
    out = run([PY, "c.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "call 1000 f 0\n" in out.stdout
    assert "keys ['f', 'never']\n" in out.stdout
    assert "never {}\n" in out.stdout
    assert "entry float float 1 16\n" in out.stdout
    assert "same 1 True\nsame 3 True\n" in out.stdout
    lines = out.stdout.split("same 3 True\n")[1].splitlines()
    assert lines[0].startswith("Filename: ") and lines[0].endswith("work.py")
    assert lines[2] == ("Line #    Mem usage    Increment  Occurrences   "
                        "Line Contents")
    assert re.match(r"^     2 +\d+\.\d{3} MiB +16\.\d{3} MiB +1       a = "
                    r"bytearray\(16 \* 2\*\*20\)$", lines[5])
    # 3 header writes + 5 rows + the closing blank lines, one record each
    assert "log False 9 True\n" in out.stdout
    logged = out.stdout.split("logged ")[1]
    assert "log True 3 True\n" in out.stdout
    assert "Filename: " in logged and "Line Contents" in logged
    assert "bytearray(16" in logged and "del a" not in logged


def test_choose_backend_and_exports():
    """Issue 12.4: the names real code imports from memory_profiler."""
    out = run([PY, "-c",
               "import peakmem, warnings\n"
               "warnings.simplefilter('error')\n"
               "print(peakmem.choose_backend(), "
               "peakmem.choose_backend('posix'))\n"
               "for name in ('psutil_pss', 'psutil_uss', 'tracemalloc'):\n"
               "    assert peakmem.choose_backend(name) == name\n"
               "    assert peakmem.LineProfiler(backend=name).backend == "
               "name\n"
               "try:\n    peakmem.choose_backend('nope')\n"
               "except ValueError as e:\n    print('error', e)\n"
               "print(sorted(n for n in ('LineProfiler', 'show_results', "
               "'LogFile', 'choose_backend') if n in peakmem.__all__))\n"
               "print(peakmem.LineProfiler(backend='psutil').backend)\n"],
              "/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "psutil posix",
        "error choose_backend: unknown backend 'nope'; one of psutil, "
        "psutil_pss, psutil_uss, posix, tracemalloc",
        "['LineProfiler', 'LogFile', 'choose_backend', 'show_results']",
        "psutil"]


MPRUN = '''\
import io, sys
sys.path.insert(0, ".")
from IPython.core.interactiveshell import InteractiveShell
import peakmem, work
sh = InteractiveShell.instance()
sh.run_line_magic("load_ext", "peakmem")
sh.user_ns["work"] = work
r = sh.run_line_magic("mprun", "-r -f work.f work.f(10)")
buf = io.StringIO()
peakmem.show_results(r, stream=buf)
print("same", buf.getvalue() == str(r.text) + "\\n\\n\\n")
print("keys", [c.co_name for c in r.code_map])
print("occ", r.code_map[work.f.__code__][3][2])
'''


def test_mprun_result_is_usable_as_a_line_profiler(tmp_path):
    """Issue 12.4: %mprun -r's result has memory_profiler's code_map, and
    show_results prints it as %mprun printed it."""
    (tmp_path / "work.py").write_text(MODULE)
    (tmp_path / "m.py").write_text(MPRUN)
    out = run([PY, "m.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    tail = out.stdout.splitlines()[-3:]
    assert tail == ["same True", "keys ['f']", "occ 1"]


# ---- 12.9: recursion ----------------------------------------------------

RECURSION = '''\
{imp}keep = []
@profile
def rec(n):
    if n == 0:
        keep.append(bytearray(64 * 2**20))
        return 0
    return rec(n - 1)
rec(8)
'''


@pytest.mark.parametrize("how", ["decorator", "runner"])
def test_recursion_increments_add_up_to_the_call(tmp_path, how):
    """Issue 12.9: in a recursive profiled function the growth of the inner
    frames is counted once, in the outermost frame's line (as cProfile's
    cumulative time): the table's increments add up to the 64 MiB the
    call grew, not 8 x 64 more."""
    imp = ("from peakmem import profile\n" if how == "decorator"
           else "import sys\n")  # the same line numbers
    (tmp_path / "r.py").write_text(RECURSION.format(imp=imp))
    args = ([PY, "r.py"] if how == "decorator"
            else [PY, "-m", "peakmem", "--precision", "1", "r.py"])
    out = run(args, tmp_path)
    assert out.returncode == 0, out.stderr
    rows = table_rows(out.stdout)
    assert rows[8][2] == "8" and rows[6][2] == "1" and rows[3][2] == "9"
    assert abs(float(rows[8][1]) - 64) <= 3, rows[8]
    assert abs(float(rows[6][1])) <= 1, rows[6]
    total = sum(float(r[1]) for r in rows.values() if r[1] is not None)
    assert abs(total - 64) <= 3, (total, out.stdout)
    assert float(rows[6][0]) >= 64  # its Mem usage still shows the 64 MiB


THREADS = '''\
import gc, sys, threading
import peakmem


def f():
    return [0] * 10


p = peakmem.LineProfiler()
p.add_function(f)
p.enable()
box = [p]
del p
t = threading.Thread(target=box.clear)  # the last reference goes there
t.start()
t.join()
gc.collect()
print("calls", f() == [0] * 10, f() == [0] * 10)
q = peakmem.LineProfiler()
q.add_function(f)
t = threading.Thread(target=lambda: (q.enable(), f(), q.disable()))
t.start()
t.join()
print("other thread", q.enable_count, len(q.code_map[f.__code__]))
q.disable_by_count()  # not enabled here: nothing to undo
print("ok")
'''


def test_line_profiler_threads(tmp_path):
    """A LineProfiler traces the thread that enables it (memory_profiler's
    sys.settrace); it stays alive while a thread has it enabled, so
    dropping its last reference in another thread cannot leave that
    thread's tracer pointing at freed memory."""
    (tmp_path / "t.py").write_text(THREADS)
    out = run([PY, "t.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["calls True True",
                                       "other thread 0 2", "ok"]


def test_peakmem_run_records_methods_and_keeps_errors(tmp_path):
    """Issue 12.1/12.2 through the peakmem command: `peakmem run` on a
    script with a @profile'd method records it (FUNC line) and a failing
    call ends the script with its own traceback."""
    import os
    (tmp_path / "p.py").write_text(
        "class K:\n    @profile\n    def m(self, n):\n"
        "        return 10 // n\n\n\nprint('got', K().m(2))\nK().m(0)\n")
    cmd = os.path.join(os.path.dirname(PY), "peakmem")
    out = run([cmd, "run", "-T", "0.05", "-o", "p.dat", "p.py"], tmp_path)
    assert "got 5\n" in out.stdout
    assert "SystemError" not in out.stderr
    assert "ZeroDivisionError: integer division or modulo by zero" \
        in out.stderr
    funcs = [l.split()[1] for l in (tmp_path / "p.dat").read_text()
             .splitlines() if l.startswith("FUNC ")]
    assert funcs == ["__main__.K.m", "__main__.K.m"]


WRITES = '''\
import json, logging, os, re, sys
from {module} import profile, LogFile

HERE = os.path.abspath(__file__)


def mask(text):
    return re.sub(r" *-?\\d+\\.\\d+ MiB", " N MiB",
                  text.replace(HERE, "F"))


class Writes:
    def __init__(self):
        self.got = []

    def write(self, text):
        self.got.append(mask(text))


w = Writes()


@profile(stream=w)
def f():
    a = bytearray(32 * 2**20)
    del a
    return 1


class Keep(logging.Handler):
    def emit(self, record):
        kept.append(mask(record.getMessage()))


kept = []
logging.getLogger("mem").addHandler(Keep())
logging.getLogger("mem").setLevel(logging.INFO)
g = profile(stream=LogFile("mem", reportIncrementFlag=True))(f.__wrapped__)
f()
g()
print(json.dumps([w.got, kept]))
'''


@needs_mp
def test_profile_stream_gets_memory_profilers_writes(tmp_path):
    """Issue 12.4: @profile(stream=s) writes its table in the same pieces
    as memory_profiler's (one write per line; the numbers aside), so
    @profile(stream=LogFile(name, reportIncrementFlag=True)) logs the
    header and only the rows that grew, as there."""
    import json
    (tmp_path / "ours.py").write_text(WRITES.format(module="peakmem"))
    (tmp_path / "theirs.py").write_text(
        WRITES.format(module="memory_profiler"))
    ours = run([PY, "ours.py"], tmp_path)
    theirs = run([DEBIAN_PY, "theirs.py"], tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert theirs.returncode == 0, theirs.stderr
    ours, theirs = json.loads(ours.stdout), json.loads(theirs.stdout)
    assert ours[0] == theirs[0]
    assert len(ours[0]) == 3 + 5 + 1
    # memory_profiler's def line "grows" by the whole RSS (its first
    # reading is taken against 0): it logs that row too; peakmem's is 0.
    import re
    assert ours[1] == [r for r in theirs[1]
                       if not re.match(r"^ +\d+ .*@profile\(", r)]
    assert len(ours[1]) == 3 and "bytearray" in ours[1][2]


SHARED = '''\
import threading, time
import peakmem

meet = threading.Barrier(2)


def f(n):
    meet.wait()
    s = 0
    for i in range(n):
        s += i
        time.sleep(0.001)
    return s


prof = peakmem.LineProfiler()
wf = prof(f)
ts = [threading.Thread(target=wf, args=(50,)) for _ in range(2)]
for t in ts:
    t.start()
for t in ts:
    t.join()
first = f.__code__.co_firstlineno
print(sorted((line - first, occ) for line, (inc, mem, occ)
             in prof.code_map[f.__code__].items()))
'''


def test_line_profiler_shared_by_two_threads_counts_both(tmp_path):
    """One LineProfiler (python -m peakmem's builtin profile is one)
    enabled in two threads that run its function at the same time: each
    thread follows its own frames, so every line of both calls is counted
    (one frame stack per profiler lost the lines of the frame that was
    not on top, and turned their line events off)."""
    (tmp_path / "s.py").write_text(SHARED)
    out = run([PY, "s.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[(0, 2), (1, 2), (2, 2), (3, 102), (4, 100), (5, 100), (6, 2)]"]


OTHERS = '''\
import io, sys
import peakmem


def other():
    return 0


def f():
    a = 1
    with q:
        b = other()
    c = 3
    return a


def gen():
    for i in range(3):
        yield i


def main():
    a = 1
    with p:
        b = other()
    c = 2
    return a


def save_restore():
    old = sys.gettrace()
    sys.settrace(None)
    other()
    sys.settrace(old)
    other()
    return 1


def rows(prof, func):
    first = func.__code__.co_firstlineno
    return sorted((line - first, occ) for line, (inc, mem, occ)
                  in prof.code_map[func.__code__].items())


# an inner profiler leaves the outer one the lines after it
p, q = peakmem.LineProfiler(), peakmem.LineProfiler()
q.add_function(other)
p.add_function(f)
with p:
    f()
    f()
print("outer", rows(p, f))
# a generator first stepped under an unrelated profiler
p2, q2 = peakmem.LineProfiler(), peakmem.LineProfiler()
p2.add_function(gen)
q2.add_function(other)
it = gen()
with q2:
    next(it)
with p2:
    print("rest", list(it))
print("generator", rows(p2, gen))
# a Python trace function (coverage's kind) keeps the lines of its frame
seen = []


def cov(frame, event, arg):
    if event == "line" and frame.f_code is main.__code__:
        seen.append(frame.f_lineno - main.__code__.co_firstlineno)
    return cov


p = peakmem.LineProfiler()
p.add_function(other)
sys.settrace(cov)
main()
sys.settrace(None)
print("tracer", seen)
# sys.settrace(sys.gettrace()) inside profiled code
r = peakmem.LineProfiler()
print("restore", r(save_restore)(), sys.gettrace())
print("counted", rows(r, save_restore)[-2:])
# a stream that fails: its error, once the call is over
s = io.StringIO()
s.close()
try:
    peakmem.profile(other, stream=s)()
except ValueError as e:
    print("stream", e)
# a profiler is made once: wrappers hold it
w = peakmem.LineProfiler()
g = w(gen)
try:
    w.__init__()
except RuntimeError as e:
    print("init", e)
print("still", list(g()), sys.gettrace())
'''


MONITORING = sys.version_info >= (3, 12)  # the line profiler's backend


def test_line_profiler_leaves_other_tracers_their_lines(tmp_path):
    """Line events are left on in frames that outlive a profiler (the
    frame that enabled it, generators), so an outer profiler, a Python
    trace function or a debugger still gets their lines once it is off;
    sys.settrace(sys.gettrace()) inside profiled code puts the profiler
    back; a failing stream raises its own error after the call (not
    SystemError); LineProfiler.__init__ twice is one error, never a
    profiler freed under its wrappers (a use-after-free)."""
    (tmp_path / "o.py").write_text(OTHERS)
    out = run([PY, "o.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        # line 3 ran under q (the innermost profiler takes the thread)
        "outer [(0, 2), (1, 2), (2, 2), (4, 2), (5, 2)]",
        "rest [1, 2]",
        # resumed 3 times under p2: the for line 3 times, yield twice
        "generator [(0, 3), (1, 3), (2, 2)]",
        # legacy hook: line 3 ran under p, which replaced the tracer for
        # the with; sys.monitoring (3.12+) leaves sys.settrace alone
        "tracer [1, 2, 3, 2, 4, 5]" if MONITORING else "tracer [1, 2, 4, 5]",
        "restore 1 None",
        # legacy hook: from the call after settrace(old) on (line 5
        # precedes it); sys.monitoring: sys.gettrace() was None
        "counted [(5, 1), (6, 1)]" if MONITORING else
        "counted [(2, 1), (6, 1)]",
        "stream I/O operation on closed file",
        "init LineProfiler.__init__: already initialized (make a new "
        "LineProfiler)",
        "still [0, 1, 2] None",
    ], out.stderr


ENDED = '''\
import threading
import peakmem


def f():
    return 1


p = peakmem.LineProfiler()
p.add_function(f)
t = threading.Thread(target=p.enable)  # enabled; the thread ends
t.start()
t.join()
for _ in range(5):  # new threads, maybe at the ended one's address
    t = threading.Thread(target=f)
    t.start()
    t.join()
print("counted", dict(p.code_map[f.__code__]))
'''


def test_line_profiler_of_an_ended_thread_counts_no_other(tmp_path):
    """A thread that ends with a profiler enabled: threads made after it
    (whose thread state may take its address) are not traced for it (on
    sys.monitoring the callbacks told threads apart by that address
    only and counted them)."""
    (tmp_path / "e.py").write_text(ENDED)
    out = run([PY, "e.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "counted {}\n"
