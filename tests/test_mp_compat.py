"""memory_profiler's own test scenarios (its repository's test/ folder,
0.61) run against peakmem through a `memory_profiler` -> peakmem shim:
tests/mp_compat/shim holds memory_profiler.py (re-exports peakmem;
`python -m memory_profiler` is `python -m peakmem`) and mprof.py (the
peakmem command). The scripts in tests/mp_compat/scripts are this
project's own equivalents of those 22 tests, exercising the same
behaviour; each is run the way memory_profiler runs its test: with
`python -m memory_profiler`, as a plain script importing memory_profiler,
through `mprof run`, or with pytest. Nothing is fetched."""
import os
import re
import subprocess
import sys

import pytest


HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "mp_compat", "shim")
SCRIPTS = os.path.join(HERE, "mp_compat", "scripts")
PY = sys.executable

def script(name):
    return os.path.join(SCRIPTS, "mp_%s.py" % name)


def run(args, tmp_path, timeout=180):
    env = dict(os.environ, PYTHONPATH=SHIM, PYTHONIOENCODING="utf-8")
    r = subprocess.run([PY] + args, cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=timeout,
                       encoding="utf-8")
    return r


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def rows(text):
    """[(lineno, mem, increment, occurrences, source)] of every table row
    with numbers (memory_profiler's fixed columns)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^ *(\d+) +(-?[\d.]+) MiB +(-?[\d.]+) MiB +(\d+)   "
                     r"(.*)$", line)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3),
                        int(m.group(4)), m.group(5)))
    return out


def row(text, needle):
    matches = [r for r in rows(text) if needle in r[4]]
    assert matches, "no row with %r in:\n%s" % (needle, text)
    return matches[0]


def main_run(name, tmp_path, *flags):
    return ok(run(["-m", "memory_profiler"] + list(flags) + [script(name)],
                  tmp_path))


def test_shim_is_peakmem(tmp_path):
    out = ok(run(["-c", "import memory_profiler, peakmem\n"
                  "assert memory_profiler.profile is peakmem.profile\n"
                  "assert memory_profiler.memory_usage is "
                  "peakmem.memory_usage\n"
                  "import mprof; print(mprof.run_action.__name__)"],
                 tmp_path))
    assert out == "run_action\n"


def test_as(tmp_path):
    out = main_run("as", tmp_path)
    assert out.startswith("Filename: %s\n" % script("as"))
    assert row(out, "h = m.hypot(3.0, 4.0)")[3] == 1


def test_async(tmp_path):
    out = ok(run([script("async")], tmp_path))
    assert out.index("before await") < out.index("Line #")
    assert 225 < float(row(out, "large = [8]")[2]) < 235  # 228.9 MiB
    assert float(row(out, "del large")[2]) < -225
    assert row(out, "await asyncio.sleep")[3] >= 1


def test_attributes(tmp_path):
    assert ok(run([script("attributes")], tmp_path)).endswith(
        "attributes kept\n")


def test_exception(tmp_path):
    assert ok(run([script("exception")], tmp_path)) == "raised through\n"


def test_exit_code(tmp_path):
    r = run([script("exit_code")], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Ran 2 tests" in r.stderr and "OK" in r.stderr


def test_func(tmp_path):
    out = main_run("func", tmp_path)
    assert out.count("Filename:") == 1  # one table for both calls
    assert row(out, "table[k] = k")[3] == 1000
    assert row(out, "table[0] = x")[3] == 2


def test_gen(tmp_path):
    out = main_run("gen", tmp_path)
    assert 70 < float(row(out, "second = [2]")[2]) < 80
    assert row(out, "kept = list(g)")[3] == 1
    assert row(out, "both.add(1)")[3] == 1


def test_global(tmp_path):
    out = main_run("global", tmp_path)
    assert row(out, "total = prof * 2")[3] == 1


def test_import(tmp_path):
    out = ok(run([script("import")], tmp_path))
    assert 150 < float(row(out, "large = [2]")[2]) < 156  # 152.6 MiB
    assert float(row(out, "del large")[2]) < -150


def test_increment_display(tmp_path):
    r = run([script("increment_display")], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Ran 4 tests" in r.stderr


def test_loop(tmp_path):
    out = main_run("loop", tmp_path)
    assert row(out, "d[i] = i * 2")[3] == 5000
    inside = [r for r in rows(out) if "b = [2]" in r[4]]
    assert [r[3] for r in inside] == [1, 3]
    # increments add up: three times 152.6 MiB in the loop
    assert 450 < float(inside[1][2]) < 465


def dat_funcs(path):
    return [line.split()[1] for line in open(path)
            if line.startswith("FUNC ")]


def test_loop_decorated(tmp_path):
    ok(run(["-m", "mprof", "run", "-o", "loop.dat", script("loop_decorated")],
           tmp_path))
    assert dat_funcs(tmp_path / "loop.dat") == ["__main__.churn",
                                                 "__main__.count"]
    out = ok(run(["-m", "mprof", "peak", "loop.dat"], tmp_path))
    assert float(out.split("\t")[1].split()[0]) > 150


def test_memory_usage(tmp_path):
    assert ok(run([script("memory_usage")], tmp_path)) == "shapes ok\n"


def test_mprof(tmp_path):
    r = run([script("mprof")], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Ran 1 test" in r.stderr


def test_mprofile(tmp_path):
    ok(run(["-m", "mprof", "run", "-o", "p.dat", script("mprofile")],
           tmp_path))
    assert dat_funcs(tmp_path / "p.dat") == ["__main__.make",
                                              "__main__.double"]
    out = ok(run(["-m", "mprof", "plot", "-o", "p.svg", "p.dat"], tmp_path))
    assert out == "Plot written to p.svg\n"
    svg = (tmp_path / "p.svg").read_text()
    assert ">make<" in svg and ">double<" in svg  # mprof's short labels


def test_nested(tmp_path):
    out = main_run("nested", tmp_path)
    assert 150 < float(row(out, "b = [2]")[2]) < 156
    assert 150 < float(row(out, "d = [2]")[2]) < 156


def decimals(text):
    return {len(m.group(1)) for m in re.finditer(r"\d\.(\d+) MiB", text)}


def test_precision_command_line(tmp_path):
    out = main_run("precision_command_line", tmp_path, "--precision", "2")
    assert out.count("Filename:") == 2
    assert decimals(out) == {2}  # the command line's, not the decorators'


def test_precision_import(tmp_path):
    out = ok(run([script("precision_import")], tmp_path))
    first, second = out.split("Filename:")[1:]
    assert decimals(first) == {4} and decimals(second) == {5}


def test_psutil_memory_full_info(tmp_path):
    out = ok(run([script("psutil_memory_full_info")], tmp_path))
    assert out.startswith("alone ") and "\nchildren " in out


def test_stream_unicode(tmp_path):
    assert ok(run([script("stream_unicode")], tmp_path)) == "streamed\n"


def test_tracemalloc(tmp_path):
    r = run(["-m", "pytest", "-q", "-p", "no:cacheprovider",
             script("tracemalloc")], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "7 passed" in r.stdout


def test_unicode(tmp_path):
    out = main_run("unicode", tmp_path)
    assert row(out, 'text = text.replace("ی", "ي")')[3] == 1
