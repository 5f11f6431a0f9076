# Generators, comprehensions and `with profile:` under
# `python -m memory_profiler`.
@profile
def produce():
    first = [1] * (10 ** 6)
    second = [2] * (10 ** 7)
    del second
    yield first


@profile
def comprehensions():
    squares = {str(k * k): [v] * (1 << 15) for v, k in enumerate(range(20))}
    rows = [[i] * (i << 8) for i in range(50)]
    del rows

    def inner(x=1):
        return {("q",) * (k << 10) for k in range(x, 5 + x)}

    both = inner() | inner(3)
    both.add(1)
    return len(squares) + len(both)


@profile
def generator_expressions():
    g = ([5] * (1 << 18) for _ in "ab")
    kept = list(g)
    unused = ([6] * (1 << 18) for _ in "ab")
    del unused
    return len(kept)


if __name__ == "__main__":
    with profile:
        next(produce())
    assert generator_expressions() == 2
    assert comprehensions() > 0
