# profile imported from memory_profiler, the script run with plain python.
from memory_profiler import profile


@profile
def allocate():
    small = [1] * (10 ** 6)
    large = [2] * (2 * 10 ** 7)
    del large
    return small


if __name__ == "__main__":
    assert len(allocate()) == 10 ** 6
