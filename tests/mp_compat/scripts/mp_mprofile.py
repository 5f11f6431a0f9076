"""Two profiled functions between pauses, for `mprof run` and plot."""
import time


@profile
def make():
    values = [1] * 200000
    time.sleep(0.2)
    return values


@profile
def double(values):
    twice = [2 * v for v in values]
    time.sleep(0.2)
    del twice


if __name__ == "__main__":
    time.sleep(0.1)
    double(make())
    time.sleep(0.1)
