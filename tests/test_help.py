"""The magics' help (issue 11.10): %memit?, %%memit?, %mprun? and %%mprun?
name every option with its meaning and an example, as README's tables do,
and both come from one source, the option tables of magics/help.c that
the parser also reads; so do `python -m peakmem -h` and `peakmem run -h`
with README's tables of theirs (the option lists their argparse parsers
are made from). README's usage blocks and tables sit between markers and
must be exactly what scripts/readme_help.py makes."""
import os
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def readme_help():
    spec = importlib.util.spec_from_file_location(
        "readme_help", ROOT / "scripts" / "readme_help.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def readme_section(title):
    """README's text from the heading `title` to the next '## '."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## " + title + "\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def readme_options(title, marker=None):
    """(label, meaning, example) of each row of the option table in the
    README section `title` (the one after `marker` when given), as a
    reader sees them (no backticks)."""
    rows = []
    text = readme_section(title)
    if marker is not None:
        text = text[text.index(marker):]
        text = text[:text.index("<!-- end help")]
    for line in text.splitlines():
        m = re.match(r"^ *\| (`[^|]+`) \| (.*) \| `(.*)` \|$", line)
        if m:
            meaning = m.group(2).replace("\\|", "|").replace("`", "")
            rows.append((m.group(1).replace("`", ""), meaning,
                         m.group(3).replace("\\|", "|")))
    return rows


def readme_usage(title):
    block = re.search(r"```\n(%.*?)```\n", readme_section(title), re.S)
    return block.group(1).splitlines()


def pinfo(query):
    """What terminal IPython prints for `query` (e.g. "%memit?")."""
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--quick", "--no-banner",
         "--colors=NoColor", "--TerminalInteractiveShell.term_title=False",
         "-c", "%load_ext peakmem\n" + query],
        capture_output=True, text=True, timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    return out.stdout


def flat(text):
    return " ".join(text.split())


def test_readme_usage_and_option_tables_are_made_from_the_magics_help():
    text = README.read_text(encoding="utf-8")
    new, changed = readme_help().regenerate(text)
    assert changed == [], ("README.md is stale: run .venv/bin/python "
                           "scripts/readme_help.py")
    assert new == text


MAGICS = {
    "%memit?": "`%memit` and `%%memit`",
    "%%memit?": "`%memit` and `%%memit`",
    "%mprun?": "`%mprun` and `%%mprun`: line by line",
    "%%mprun?": "`%mprun` and `%%mprun`: line by line",
}


@pytest.mark.parametrize("query", sorted(MAGICS))
def test_magic_help_shows_every_option_with_its_meaning_and_example(query):
    shown = pinfo(query)
    title = MAGICS[query]
    options = readme_options(title)
    labels = [label for label, _, _ in options]
    if "memit" in query:
        assert labels == ["-r R", "-t T", "-i I", "-c", "-o", "-q",
                          "--limit SIZE", "--strict", "--no-live",
                          "--dask[=ADDRESS]", "--sites [N]"]
    else:
        assert labels == ["-f FUNC", "-T FILE", "-r", "-c", "--peak"]
    for label, meaning, example in options:
        assert "\n%s: " % label in shown, (label, shown)
        assert flat(meaning) in flat(shown), (label, meaning, shown)
        assert "Example: %s\n" % example in shown, (label, example, shown)
    for line in readme_usage(title):
        assert line in shown, (line, shown)


def test_readme_help_check_fails_on_a_stale_table(tmp_path, monkeypatch):
    mod = readme_help()
    text = README.read_text(encoding="utf-8")
    stale = text.replace("| `--peak` | add a Peak column",
                         "| `--peak` | adds the Peak column")
    assert stale != text
    stale_readme = tmp_path / "README.md"
    stale_readme.write_text(stale, encoding="utf-8")
    monkeypatch.setattr(mod, "README", stale_readme)
    assert mod.main(["--check"]) == 1
    assert stale_readme.read_text(encoding="utf-8") == stale
    assert mod.main([]) == 0
    assert stale_readme.read_text(encoding="utf-8") == text
    assert mod.main(["--check"]) == 0
    no_markers = text.replace("<!-- end help mprun options -->\n", "")
    stale_readme.write_text(no_markers, encoding="utf-8")
    assert mod.main([]) == 1
    assert stale_readme.read_text(encoding="utf-8") == no_markers


def test_script_help_shows_every_readme_option_with_its_meaning():
    title = "Scripts: `@profile`, `memory_usage()`, `python -m peakmem`"
    options = readme_options(title, "begin help python-m options")
    assert [l for l, _, _ in options] == [
        "--version", "--precision N", "-o FILE, --outfile FILE",
        "--include-children", "--pdb-mmem MAXMEM", "--timestamp, -t",
        "--backend NAME", "-m"]
    out = subprocess.run([sys.executable, "-m", "peakmem", "-h"],
                         capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    for label, meaning, example in options:
        assert flat(meaning) in flat(out.stdout), (label, out.stdout)
        assert "\n  %s\n" % example in out.stdout, (label, out.stdout)
    options = readme_options("The peakmem command", "begin help run options")
    assert [l for l, _, _ in options] == [
        "--python", "--nopython", "-T S, --interval S",
        "-C, --include-children", "-M, --multiprocess", "-E, --exit-code",
        "-t S, --timeout S", "-o FILE, --output FILE", "--backend NAME",
        "-a, --attach"]
    peakmem = os.path.join(os.path.dirname(sys.executable), "peakmem")
    for cmd in ("run", "attach"):
        out = subprocess.run([peakmem, cmd, "-h"], capture_output=True,
                             text=True, timeout=60, cwd="/")
        assert out.returncode == 0, out.stderr
        for label, meaning, _ in options:
            # each flag (Python 3.13's argparse writes "-T, --interval S",
            # older ones "-T S, --interval S")
            for flag in label.split(", "):
                assert flag.split()[0] in out.stdout, (label, out.stdout)
            assert flat(meaning) in flat(out.stdout), (label, out.stdout)


def test_script_examples_parse():
    """Each example in the scripts' tables is a command line their parsers
    accept (the option given, a program left to run)."""
    import shlex

    from peakmem import _cli, _main_args
    for *_, example in _main_args.OPTIONS:
        argv = shlex.split(example)
        assert argv[:3] == ["python", "-m", "peakmem"], example
        if argv[3:] == ["--version"]:
            continue
        args = _main_args.parse(argv[3:])
        assert args.target, example
    for *_, example in _cli.RECORD_OPTIONS:
        argv = shlex.split(example)
        assert argv[0] == "peakmem" and argv[1] in ("run", "attach")
        args = _cli.record_parser(argv[1]).parse(argv[2:])
        assert args.program, example
