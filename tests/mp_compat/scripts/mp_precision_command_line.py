# @profile(precision=N) under `python -m memory_profiler --precision P`:
# the command line's precision is the one the report uses.
@profile(precision=4)
def first():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b
    return a


@profile(precision=1)
def second():
    d = {}
    for i in range(1000):
        d[i] = i
    return d


if __name__ == "__main__":
    first()
    second()
