#!/usr/bin/python3
"""Write tests/data/protocol/mprun_golden.json: line profiles and the text
memory_profiler 0.61's own show_results prints for them, right-stripped as
its %mprun does, for check_mprun to compare pm_mprun_render_text against.

Sources are written to files in a temporary directory and read back by
show_results through linecache, as for a real profile. Every MiB figure
fed to it is bytes / 2**20 of the byte counts stored for the C side (exact
in binary floating point), so both format the same doubles.

Run with Debian's interpreter: /usr/bin/python3 tests/gen_mprun_golden.py
"""
import io
import json
import linecache
import os
import pathlib
import tempfile

import memory_profiler

OUT = pathlib.Path(__file__).parent / "data" / "protocol" / "mprun_golden.json"
MIB = 2 ** 20

ANALYSIS = [
    "import numpy as np",
    "",
    "def analyse(n):",
    "    a = [1] * (10 ** 6)",
    "    b = [2] * (2 * 10 ** 7)",
    "    del b",
    "    if n < 0:",
    "        raise ValueError(n)",
    "    c = np.ones((n, n))",
    "    return a, c",
]

LOOP = [
    "def grow(n):",
    "    out = []",
    "    for i in range(n):",
    "        out.append(bytearray(1 << 16))",
    "",
    "    # shrink again",
    "    out.clear()",
    "    return len(out)",
]

UNICODE = [
    "def greet(name):",
    "    s = f'héllo {name} ✓ 😀 λ'",
    "\tt = s * 1000  # tab-indented, « quoted »",
    "    return s, t  \u00a0\u3000",
]


def line(lineno, occurrences=0, mem=0, inc=0):
    """One line: occurrences == 0 means it never ran (no numbers)."""
    return {"lineno": lineno, "occurrences": occurrences,
            "mem_bytes": mem, "increment_bytes": inc}


# Each case: precision and blocks of (file name, function, first line,
# file lines, profiled lines). The byte counts probe show_results' number
# formatting: exact binary halves (round half to even: 0.25 MiB -> "0.2",
# 0.75 -> "0.8"), one byte either side of a rounding boundary, a one-byte
# decrease ("-0.0"), zero, hundreds of GiB, a 7-digit line number, an
# 11-digit occurrence count and precision 6 (wider than their fields).
CASES = [
    ("function_with_never_run_line", 1, [
        ("analysis.py", "analyse", 3, ANALYSIS, [
            line(3, 1, 50 * MIB + MIB // 4, 0),
            line(4, 1, 57 * MIB + 3 * MIB // 4, 7 * MIB + MIB // 2),
            line(5, 1, 210 * MIB + 52429, 152 * MIB + 52429),
            line(6, 1, 57 * MIB + 52428, -(152 * MIB) - 1),
            line(7, 1, 57 * MIB + 52428, 0),
            line(8),
            line(9, 1, 820 * MIB, 762 * MIB + 3 * MIB // 4),
            line(10, 1, 820 * MIB - 1, -1),
        ]),
    ]),
    ("loop_occurrences_and_empty_lines", 1, [
        ("grow.py", "grow", 1, LOOP, [
            line(1, 1, 40 * MIB, 0),
            line(2, 1, 40 * MIB, 0),
            line(3, 1001, 105 * MIB + MIB // 4, MIB // 4),
            line(4, 1000, 105 * MIB + MIB // 4, 65 * MIB),
            line(5),
            line(6),
            line(7, 1, 41 * MIB + MIB // 2, -(63 * MIB + 3 * MIB // 4)),
            line(8, 1, 41 * MIB + MIB // 2, 0),
        ]),
    ]),
    ("precision_three_two_blocks", 3, [
        ("grow.py", "grow", 1, LOOP, [
            line(1, 1, 40 * MIB + 524, 0),
            line(2, 1, 40 * MIB + 525, 1),
            line(3, 12345678901, 300 * 1024 * MIB + 1572, 2 * MIB - 524),
            line(4, 12345678900, 300 * 1024 * MIB + 1572, -1572),
            line(5),
            line(6),
            line(7, 1, 41 * MIB + MIB // 8, -(3 * MIB // 8)),
            line(8, 1, 41 * MIB + MIB // 8, 0),
        ]),
        ("pkg/unicode_mod.py", "greet", 1, UNICODE, [
            line(1, 2, 12 * MIB + MIB // 16, 0),
            line(2, 2, 12 * MIB + MIB // 16, 1024),
            line(3, 2, 16 * MIB + 3 * MIB // 16, 4 * MIB + MIB // 8),
            line(4, 2, 16 * MIB + 3 * MIB // 16, 0),
        ]),
    ]),
    ("unicode_source_trailing_whitespace_stripped", 1, [
        ("pkg/unicode_mod.py", "greet", 1, UNICODE, [
            line(1, 1, 30 * MIB, 0),
            line(2, 1, 30 * MIB + MIB // 2, MIB // 2),
            line(3, 1, 34 * MIB + 3 * MIB // 4, 4 * MIB + MIB // 4),
            line(4, 1, 34 * MIB + 3 * MIB // 4, 0),
        ]),
    ]),
    ("never_run_empty_last_line_stripped_to_number", 2, [
        ("grow.py", "grow", 1, LOOP, [
            line(1, 1, 40 * MIB + 5243, 0),
            line(2, 1, 40 * MIB + 5242, -1),
            line(3),
            line(4),
            line(5),
        ]),
    ]),
    ("wide_line_number_and_precision_zero", 0, [
        ("long.py", "deep", 1234560, ["x = 0"] * 1234566, [
            line(1234566, 3, 2 * MIB + MIB // 2, MIB + MIB // 2),
        ]),
    ]),
    # precision + 4 exceeds the 12-wide column from precision 5 on
    ("precision_six_wider_than_column", 6, [
        ("grow.py", "grow", 1, LOOP, [
            line(1, 1, 3 * MIB + 1, 0),
            line(2, 1, 3 * MIB + 3, 2),
            line(3, 7, 1234 * MIB + 5, -(MIB // 2) - 1),
            line(4),
        ]),
    ]),
    ("block_without_lines", 1, [
        ("grow.py", "grow", 1, LOOP, []),
    ]),
    ("no_blocks", 1, []),
]


class RecordedProfile:
    """What show_results reads of a LineProfiler: code_map.items()."""

    def __init__(self, blocks):
        self.code_map = self
        self._blocks = blocks

    def items(self):
        for filename, _, _, _, lines in self._blocks:
            yield filename, iter([
                (ln["lineno"],
                 (ln["increment_bytes"] / MIB, ln["mem_bytes"] / MIB,
                  ln["occurrences"]) if ln["occurrences"] else None)
                for ln in lines])


def render(blocks, precision):
    stream = io.StringIO()
    memory_profiler.show_results(RecordedProfile(blocks), stream, precision)
    return stream.getvalue().rstrip()


def main():
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        old_cwd = os.getcwd()
        os.chdir(tmp)
        try:
            for name, precision, blocks in CASES:
                for filename, _, _, source, _ in blocks:
                    path = pathlib.Path(filename)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    # no final newline: linecache adds it, as for a cell
                    path.write_text("\n".join(source), encoding="utf-8")
                linecache.clearcache()
                cases.append({
                    "name": name,
                    "precision": precision,
                    "blocks": [{
                        "filename": filename,
                        "function": function,
                        "first_line": first_line,
                        "lines": [dict(ln, source=source[ln["lineno"] - 1])
                                  for ln in lines],
                    } for filename, function, first_line, source, lines
                        in blocks],
                    "expected": render(blocks, precision),
                })
        finally:
            os.chdir(old_cwd)
    doc = {
        "generator": "tests/gen_mprun_golden.py, memory_profiler "
                     + memory_profiler.__version__,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")


if __name__ == "__main__":
    main()
