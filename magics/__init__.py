"""peakmem: exact, fast memory measurement for IPython and Jupyter."""
from ._peakmem import (Error, LineProfiler, MemitResult, MemoryLimitError,
                       MprunResult, NoSuchProcess, Result, __version__,
                       load_ipython_extension, memory_usage, profile,
                       unload_ipython_extension)
from ._compat import LogFile, choose_backend, show_results
from ._diagnose import diagnose
from ._dask import dask_usage

__all__ = ["Error", "LineProfiler", "LogFile", "MemitResult",
           "MemoryLimitError", "MprunResult", "NoSuchProcess", "Result",
           "choose_backend", "dask_usage", "diagnose",
           "load_ipython_extension", "memory_usage", "profile",
           "show_results", "unload_ipython_extension"]
