"""A `memory_profiler` that is peakmem: put this directory first on
sys.path (PYTHONPATH) and code written for memory_profiler 0.61 imports
peakmem's names; `python -m memory_profiler` is `python -m peakmem`. Used
by tests/test_mp_compat.py to run memory_profiler's own test scenarios."""
import sys

import peakmem
from peakmem import *  # noqa: F401,F403
from peakmem import memory_usage, profile  # noqa: F401

__version__ = peakmem.__version__


def __getattr__(name):
    """Names peakmem has beyond its __all__ (LineProfiler, show_results,
    LogFile, choose_backend...), or AttributeError like any module."""
    return getattr(peakmem, name)


if __name__ == "__main__":
    from peakmem._main_args import main
    sys.exit(main())
