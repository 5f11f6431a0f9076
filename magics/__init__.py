"""peakmem: exact, fast memory measurement for IPython and Jupyter."""
from ._peakmem import (Error, LineProfiler, MemitResult, MemoryLimitError,
                       MprunResult, Result, __version__,
                       load_ipython_extension, memory_usage, profile,
                       unload_ipython_extension)
from ._compat import LogFile, choose_backend, show_results
from ._diagnose import diagnose

__all__ = ["Error", "LineProfiler", "LogFile", "MemitResult",
           "MemoryLimitError", "MprunResult", "Result", "choose_backend",
           "diagnose", "load_ipython_extension", "memory_usage", "profile",
           "show_results", "unload_ipython_extension"]
