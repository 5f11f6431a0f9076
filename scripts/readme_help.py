"""Write README's usage blocks and option tables from their one source,
or with --check only say which are stale (exit 1): the magics' from the
option tables of magics/help.c (read through the built module), python -m
peakmem's and peakmem run/attach's from the option lists their argparse
parsers are made from (magics/_main_args.py OPTIONS, magics/_cli.py
RECORD_OPTIONS). After changing an option:

    bash scripts/build.sh && .venv/bin/python scripts/readme_help.py

tests/test_help.py fails while README differs."""
import pathlib
import sys

from peakmem import _cli, _main_args, _optable, _peakmem

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = {
    ("memit", "usage"): lambda: _peakmem._help("memit", "usage"),
    ("memit", "options"): lambda: _peakmem._help("memit", "options"),
    ("mprun", "usage"): lambda: _peakmem._help("mprun", "usage"),
    ("mprun", "options"): lambda: _peakmem._help("mprun", "options"),
    ("python-m", "options"): lambda: _optable.markdown(_main_args.OPTIONS),
    ("run", "options"): lambda: _optable.markdown(_cli.RECORD_OPTIONS),
}
SOURCE = {"python-m": "magics/_main_args.py", "run": "magics/_cli.py"}
BEGIN = ("<!-- begin help {name} {form}: made from {source} by "
         "scripts/readme_help.py -->\n")
END = "<!-- end help {name} {form} -->\n"


def markers(name, form):
    source = SOURCE.get(name, "magics/help.c")
    return (BEGIN.format(name=name, form=form, source=source),
            END.format(name=name, form=form))


def regenerate(text):
    """text with every marked section made anew (indented as its begin
    marker is, e.g. inside a list item), and the list of sections that
    changed ((name, form) pairs). A missing or doubled marker raises
    ValueError."""
    changed = []
    for (name, form), make in SECTIONS.items():
        begin, end = markers(name, form)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError("README.md needs one pair of markers %r ... %r"
                             % (begin.strip(), end.strip()))
        head, rest = text.split(begin)
        old, tail = rest.split(end)
        indent = head[head.rfind("\n") + 1:]
        if indent.strip():
            raise ValueError("README.md: %r must start its line"
                             % begin.strip())
        new = "".join(indent + line if line.strip() else line
                      for line in make().splitlines(True))
        new += indent
        if old != new:
            changed.append((name, form))
        text = head + begin + new + end + tail
    return text, changed


def main(argv):
    check = argv == ["--check"]
    if argv and not check:
        print("usage: readme_help.py [--check]", file=sys.stderr)
        return 2
    text = README.read_text(encoding="utf-8")
    try:
        new, changed = regenerate(text)
    except ValueError as e:
        print("readme_help.py: %s" % e, file=sys.stderr)
        return 1
    if check:
        for name, form in changed:
            print("README.md: the %s %s section is stale: run "
                  "scripts/readme_help.py" % (name, form), file=sys.stderr)
        return 1 if changed else 0
    if changed:
        README.write_text(new, encoding="utf-8")
    for name, form in changed:
        print("README.md: %s %s written" % (name, form))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
