"""Option tables of the command-line front ends (python -m peakmem, peakmem
run/attach): each option's flags, argparse keywords, meaning and example
in one list, from which the argparse parser (its -h) and README's tables
(scripts/readme_help.py) are made, as magics/help.c does for the magics.
Meanings mark code in `backticks`: code in README, plain in -h."""

_FLAG_ACTIONS = ("store_true", "store_false", "version", "help", "count")


def plain(text):
    """text for argparse: no backticks; '%' doubled (argparse formats
    help strings with %)."""
    return text.replace("`", "").replace("%", "%%")


def add_options(parser, options):
    """add_argument for each (flags, keywords, meaning, example)."""
    for flags, kw, meaning, _ in options:
        parser.add_argument(*flags, help=plain(meaning), **kw)


def examples(options):
    """An argparse epilog: one example line per option."""
    return "examples:\n" + "".join("  %s\n" % ex for *_, ex in options)


def label(flags, kw):
    """`-T S`, `--interval S`: the flags as README shows them."""
    value = kw.get("action") not in _FLAG_ACTIONS
    metavar = kw.get("metavar") or (flags[-1].lstrip("-").upper()
                                    if value else None)
    return ", ".join("`%s%s`" % (f, " " + metavar if value else "")
                     for f in flags)


def markdown(options):
    """README's table: | option | meaning | example |."""
    rows = ["| option | meaning | example |", "| --- | --- | --- |"]
    for flags, kw, meaning, example in options:
        rows.append("| %s | %s | `%s` |" % (
            label(flags, kw), meaning.replace("|", "\\|"),
            example.replace("|", "\\|")))
    return "\n".join(rows) + "\n"
