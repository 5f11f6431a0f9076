# profile(precision=N) imported: each table with its own decimals.
from memory_profiler import profile


@profile(precision=4)
def four():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b
    return a


@profile(precision=5)
def five():
    d = {}
    for i in range(1000):
        d[i] = i
    return d


if __name__ == "__main__":
    four()
    five()
