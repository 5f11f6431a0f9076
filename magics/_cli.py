import sys
from ._peakmem import _recorder_main
def main(): sys.exit(_recorder_main(sys.argv))
