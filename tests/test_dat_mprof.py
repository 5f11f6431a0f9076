"""mprof .dat files both ways, judged by memory_profiler 0.61's own mprof
module: its read_mprofile_file must read the file peakmem's formatters
wrote (tests/data/protocol/peakmem_written.dat, kept byte-identical to the
formatters' output by tests/check_dat.c), refuse the files peakmem's
parser refuses, and agree with tests/data/protocol/mprof_read.json, the
golden reading that check_dat compares pm_dat_parse and pm_dat_peak with.

Regenerate the golden file after changing a fixture:
    /usr/bin/python3 tests/test_dat_mprof.py --regen
"""
import json
import math
import os
import subprocess
import sys

import pytest

try:
    import mprof
except ImportError as e:  # Debian's python3-memory-profiler (install-deps)
    from conftest import core_skip
    core_skip("memory_profiler's mprof is not importable: %s" % e,
              module=True)

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                    "protocol")
GOLDEN = os.path.join(DATA, "mprof_read.json")
READABLE = ["mprof_func.dat", "mprof_children.dat", "peakmem_written.dat"]
REFUSED = ["mprof_truncated.dat", "mprof_garbled.dat"]


def rounds(path):
    """The sampling rounds in file order: each MEM value with the CHLD
    values written after it (mprof writes a round's children right after
    its MEM). Independent of the time windows pm_dat_peak uses."""
    out = []
    with open(path) as f:
        for line in f:
            field, value = line.split(" ", 1)
            values = value.split(" ")
            if field == "MEM":
                out.append([float(values[0]), float(values[1]), {}])
            elif field == "CHLD" and out:
                out[-1][2][values[0]] = float(values[1])
    return out


def peaks(path):
    rs = rounds(path)
    best = max(rs, key=lambda r: r[0])  # max() keeps the first of equals
    best_c = max(rs, key=lambda r: r[0] + sum(r[2].values()))
    return {"peak": [best[0], best[1]],
            "peak_with_children": [best_c[0] + sum(best_c[2].values()),
                                   best_c[1]]}


def reading(path):
    """What mprof's read_mprofile_file makes of a file, as JSON."""
    prof = mprof.read_mprofile_file(path)
    out = {
        "cmd_line": prof["cmd_line"],
        "mem": [[m, t] for m, t in zip(prof["mem_usage"], prof["timestamp"])],
        "func_timestamp": {k: [list(v) for v in vs]
                           for k, vs in prof["func_timestamp"].items()},
        "children": {k: [list(v) for v in vs]
                     for k, vs in prof["children"].items()},
    }
    out.update(peaks(path))
    return out


def golden():
    return {name: reading(os.path.join(DATA, name)) for name in READABLE}


def test_golden_reading_is_mprofs_own():
    with open(GOLDEN) as f:
        assert json.load(f) == golden()


def test_mprof_reads_what_peakmem_wrote():
    prof = mprof.read_mprofile_file(os.path.join(DATA,
                                                 "peakmem_written.dat"))
    # newline in the command line became a space; mprof keeps the "\n"
    assert prof["cmd_line"] == "python3 -m peakmem run train.py --epochs 3\n"
    assert prof["mem_usage"] == [50.0, 75.5, 120.25, 90.125, 60.0]
    assert prof["timestamp"] == [1700000000.0, 1700000000.1,
                                 1700000000.2, 1700000000.3, 1700000000.4]
    assert dict(prof["children"]) == {
        "4242": [(10.5, 1700000000.1001), (30.75, 1700000000.2001)],
        "4243": [(5.0, 1700000000.2002), (8.0, 1700000000.3001)],
    }
    # [start, end, mem_start, mem_end, level]; a space in a name became _
    assert prof["func_timestamp"] == {
        "__main__.load": [[1700000000.05, 1700000000.25, 50.0, 120.25, 0]],
        "pkg.mod.step": [[1700000000.12, 1700000000.28, 75.5, 90.125, 1]],
        "my_func": [[1700000000.3, 1700000000.35, 60.0, 61.5, 2]],
    }


def test_mprof_peak_command_reads_peakmem_file():
    path = os.path.join(DATA, "peakmem_written.dat")
    out = subprocess.run([sys.executable, "-m", "mprof", "peak", path],
                         capture_output=True, text=True, check=True).stdout
    assert "%s\t120.250 MiB" % path in out
    assert "Child 4242\t\t\t30.750 MiB" in out
    assert "Child 4243\t\t\t8.000 MiB" in out


@pytest.mark.parametrize("name", REFUSED)
def test_mprof_refuses_what_peakmem_refuses(name):
    # pm_dat_parse: "line 21: CHLD needs 3 fields" and
    # "line 12: MEM MiB \"32.O99219\" is not a number" (check_dat.c)
    with pytest.raises((ValueError, IndexError)):
        mprof.read_mprofile_file(os.path.join(DATA, name))


def test_fixtures_are_real_mprof_output():
    prof = mprof.read_mprofile_file(os.path.join(DATA, "mprof_func.dat"))
    assert prof["cmd_line"] == "/usr/bin/python3 alloc.py\n"
    assert set(prof["func_timestamp"]) == {"__main__.grow", "__main__.outer"}
    prof = mprof.read_mprofile_file(os.path.join(DATA, "mprof_children.dat"))
    assert len(prof["children"]) == 2
    assert all(not math.isnan(m) for m in prof["mem_usage"])


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        with open(GOLDEN, "w") as f:
            json.dump(golden(), f, indent=1)
            f.write("\n")
    else:
        sys.exit(pytest.main([__file__, "-q"]))
