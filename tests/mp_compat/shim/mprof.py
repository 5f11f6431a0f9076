"""An `mprof` that is the peakmem command: `python -m mprof ...` and
mprof's *_action functions (which read sys.argv, as mprof's do) run
peakmem's subcommands. For tests/test_mp_compat.py."""
import sys

from peakmem import _cli


def _action(cmd):
    def action():
        _cli.main([cmd] + sys.argv[1:])
    action.__name__ = cmd + "_action"
    return action


run_action = _action("run")
attach_action = _action("attach")
peak_action = _action("peak")
plot_action = _action("plot")
list_action = _action("list")
clean_action = _action("clean")
rm_action = _action("rm")


def function_labels(dotted_function_names):
    return _cli.function_labels(dotted_function_names)


if __name__ == "__main__":
    _cli.main(sys.argv[1:])
