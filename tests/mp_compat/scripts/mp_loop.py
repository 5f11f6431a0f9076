# Loops under `python -m memory_profiler`: occurrences per line and the
# increments of lines run several times.
@profile
def count():
    d = {}
    for i in range(5000):
        d[i] = i * 2
    return


@profile
def churn():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b
    for _ in range(3):
        a = [1] * (10 ** 6)
        b = [2] * (2 * 10 ** 7)
        del b
    return a


if __name__ == "__main__":
    count()
    churn()
