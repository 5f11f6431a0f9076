"""python -m peakmem: run a script with @profile reports (see README)."""
import sys

from ._peakmem import _run_main

sys.exit(_run_main(sys.argv))
