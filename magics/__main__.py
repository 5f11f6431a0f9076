"""python -m peakmem: run a script with @profile reports (see README)."""
import sys

from ._main_args import main

sys.exit(main())
