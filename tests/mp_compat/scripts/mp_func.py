# One profiled function called twice under `python -m memory_profiler`:
# one table, occurrences counted over both calls.
@profile
def fill():
    x = 1.5
    table = {}
    for k in range(500):
        table[k] = k
    table[0] = x


if __name__ == "__main__":
    fill()
    fill()
