# The decorated function keeps its name and docstring (functools.wraps).
from memory_profiler import profile


@profile
def documented(x, y=2):
    """Adds two numbers."""
    return x + y


if __name__ == "__main__":
    assert documented.__name__ == "documented", documented.__name__
    assert documented.__doc__ == "Adds two numbers.", documented.__doc__
    assert documented(1) == 3
    print("attributes kept")
