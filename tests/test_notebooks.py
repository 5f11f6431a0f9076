"""The example notebooks, executed with nbclient in a real kernel as a user
would run them; the saved notebook keeps peakmem's JSON mime output."""
import os
import subprocess
import sys

import nbclient
import nbformat

from conftest import memit_numbers

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.join(HERE, "..", "notebooks")
MIME = "application/vnd.peakmem.memit+json"


def execute(name, tmp_path):
    nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    out = tmp_path / name
    nbformat.write(nb, str(out))
    return nbformat.read(str(out), as_version=4)


def memit_outputs(cell):
    return [o for o in cell.get("outputs", [])
            if o.get("output_type") == "display_data" and MIME in o["data"]]


def test_quickstart_executes_and_keeps_json_mime(tmp_path):
    nb = execute("quickstart.ipynb", tmp_path)
    cells = {c.source.splitlines()[0]: c for c in nb.cells
             if c.cell_type == "code" and c.source}
    alloc = memit_outputs(cells["%memit a = np.ones(256 * 2**20 // 8)"])
    assert len(alloc) == 1
    doc = alloc[0]["data"][MIME]
    assert doc["schema"] == "peakmem.memit" and doc["version"] == 2
    assert abs(doc["increment_bytes"] - 256 * 2**20) <= 0.05 * 256 * 2**20
    _, inc = memit_numbers(alloc[0]["data"]["text/plain"])
    assert abs(inc - 256) <= 0.05 * 256
    spike = memit_outputs(
        cells["%memit total = np.ones(256 * 2**20 // 8).sum()"])
    assert spike[0]["data"][MIME]["increment_bytes"] >= 0.95 * 256 * 2**20
    cell = memit_outputs(cells["%%memit n = 2_000_000"])
    assert cell[0]["data"][MIME]["setup"] == "n = 2_000_000"
    # a quick cell is one compact block (issue 11 item 1), a slow one a table
    html = cell[0]["data"]["text/html"]
    assert 'class="peakmem-compact"' in html or "<table" in html, html
    quiet = cells["r = %memit -o -q -r 3 np.ones(64 * 2**20 // 8).sum()"]
    assert memit_outputs(quiet) == []
    assert all(c.get("outputs") is not None for c in nb.cells
               if c.cell_type == "code")
    errors = [o for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_terminal_ipython_prints_text():
    code = ("%load_ext peakmem\n"
            "%memit x = bytearray(64 * 2**20)\n"
            "%memit -q pass\n")
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--quick", "--no-banner",
         "--colors=NoColor", "--TerminalInteractiveShell.term_title=False",
         "-c", code],
        capture_output=True, text=True, timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    lines = [l for l in out.stdout.splitlines() if l.startswith("peak")]
    assert len(lines) == 1, out.stdout
    _, inc = memit_numbers(lines[0])
    assert abs(inc - 64) <= 0.05 * 64


def test_plain_python_has_no_shell():
    code = ("import peakmem, peakmem._peakmem as m\n"
            "try:\n    m._memit_magic('pass')\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60, cwd="/")
    assert out.stdout.strip() == ("UsageError peakmem is not loaded in an "
                                  "IPython shell: run %load_ext peakmem")


def test_teaching_executes_with_tables_and_printout(tmp_path):
    nb = execute("teaching.ipynb", tmp_path)
    mime = "application/vnd.peakmem.mprun+json"
    code = [c for c in nb.cells if c.cell_type == "code"]
    tables = [o for c in code for o in c.outputs
              if o.get("output_type") == "display_data" and mime in o["data"]]
    assert len(tables) == 3
    assert tables[0]["data"][mime]["blocks"][0]["filename"].endswith(
        "grades.py")
    assert tables[1]["data"][mime]["blocks"][0]["function"] == "normalise"
    assert "Peak" in tables[2]["data"]["text/plain"]
    # --peak: the `spread` line's temporary (centred ** 2, 61 MiB) shows
    # in its Peak and nowhere else; no Peak is below its line's start.
    ran = [l for l in tables[2]["data"][mime]["blocks"][0]["lines"]
           if l["occurrences"]]
    mib = 2 ** 20
    for before, l in zip(ran, ran[1:]):
        start = before["mem_bytes"]
        assert l["peak_bytes"] >= max(start, l["mem_bytes"]), l
        above = l["peak_bytes"] - max(start, l["mem_bytes"])
        if "centred ** 2" in l["source"]:
            assert above >= 55 * mib, l
            assert abs(l["increment_bytes"]) <= 2 * mib, l
        else:
            assert above <= 4 * mib, l
    assert any("centred ** 2" in l["source"] for l in ran)
    printout = (tmp_path / "grades_profile.txt").read_text()
    assert printout == tables[0]["data"]["text/plain"]
    read_back = [c for c in code if c.source.startswith("print(open(")][0]
    assert read_back.outputs[0]["text"].rstrip("\n") == printout
    errors = [o for c in code for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
