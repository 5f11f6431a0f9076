"""Write README's usage blocks and option tables of the magics from their
one source, the option tables of magics/help.c (read through the built
module), or with --check only say which are stale (exit 1). After
changing an option:

    bash scripts/build.sh && .venv/bin/python scripts/readme_help.py

tests/test_help.py fails while README differs."""
import pathlib
import sys

from peakmem import _peakmem

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = [(magic, form) for magic in ("memit", "mprun")
            for form in ("usage", "options")]
BEGIN = ("<!-- begin help {magic} {form}: made from magics/help.c by "
         "scripts/readme_help.py -->\n")
END = "<!-- end help {magic} {form} -->\n"


def regenerate(text):
    """text with every marked section made anew, and the list of sections
    that changed ((magic, form) pairs). A missing or broken marker pair
    raises ValueError."""
    changed = []
    for magic, form in SECTIONS:
        begin = BEGIN.format(magic=magic, form=form)
        end = END.format(magic=magic, form=form)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError("README.md needs one pair of markers %r ... %r"
                             % (begin.strip(), end.strip()))
        head, rest = text.split(begin)
        old, tail = rest.split(end)
        new = _peakmem._help(magic, form)
        if old != new:
            changed.append((magic, form))
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
        for magic, form in changed:
            print("README.md: the %s %s section is stale: run "
                  "scripts/readme_help.py" % (magic, form), file=sys.stderr)
        return 1 if changed else 0
    if changed:
        README.write_text(new, encoding="utf-8")
    for magic, form in changed:
        print("README.md: %s %s written" % (magic, form))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
