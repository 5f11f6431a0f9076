"""peakmem.diagnose(): what peakmem found in this process and how it will
measure and show results here (the display route, the peak method, the
Jupyter stack's versions), for bug reports and for the test matrix."""
import platform
import sys

from . import _peakmem

_PACKAGES = ("IPython", "ipykernel", "jupyter_client", "zmq", "numpy")

_ROUTES = {
    "pipe": "C publisher into ipykernel's IOPub pipe (live line; result "
            "fenced before idle)",
    "display_pub": "the shell's display publisher (live line from its "
                   "thread under the GIL; result before idle)",
    "print": "text on stdout (no Jupyter kernel)",
    "none": "undecided (%load_ext peakmem first)",
}


_TRACERS = {
    "sys.monitoring": "PEP 669 local events on the profiled code only",
    "settrace": "the legacy trace hook (PyEval_SetTrace), per thread",
}


class Diagnosis(dict):
    """A dict of findings that prints as a short report."""

    def __str__(self):
        rows = [("peakmem", self["peakmem"]), ("python", self["python"])]
        rows += [(k, v or "not imported") for k, v in
                 self["packages"].items()]
        rows += [("display route", "%s: %s" % (
                     self["display_route"], _ROUTES[self["display_route"]])),
                 ("peak method", self["peak_method"]),
                 ("line tracer", "%s: %s" % (
                     self["line_tracer"], _TRACERS[self["line_tracer"]])),
                 ("clocksource", self["clocksource"] or "unknown")]
        return "\n".join("%-15s %s" % r for r in rows)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def _version(name):
    mod = sys.modules.get(name)
    return getattr(mod, "__version__", None) if mod is not None else None


def _clocksource():
    try:
        with open("/sys/devices/system/clocksource/clocksource0/"
                  "current_clocksource") as f:
            return f.read().strip()
    except OSError:
        return None


def diagnose():
    """Report how peakmem measures and shows results in this process."""
    found = _peakmem._diagnose()
    return Diagnosis(
        peakmem=_peakmem.__version__,
        python=platform.python_version(),
        packages={name: _version(name) for name in _PACKAGES},
        clocksource=_clocksource(),
        **found)
