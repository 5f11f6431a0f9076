"""peakmem: exact, fast memory measurement for IPython and Jupyter."""
from ._peakmem import (Error, MemitResult, MemoryLimitError, MprunResult,
                       Result, __version__,
                       load_ipython_extension, memory_usage, profile,
                       unload_ipython_extension)
from ._diagnose import diagnose

__all__ = ["Error", "MemitResult", "MemoryLimitError", "MprunResult",
           "Result", "diagnose", "load_ipython_extension",
           "memory_usage", "profile", "unload_ipython_extension"]
