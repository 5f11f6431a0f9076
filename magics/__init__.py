"""peakmem: exact, fast memory measurement for IPython and Jupyter."""
from ._peakmem import (MemitResult, __version__, load_ipython_extension,
                       unload_ipython_extension)

__all__ = ["MemitResult", "load_ipython_extension", "unload_ipython_extension"]
