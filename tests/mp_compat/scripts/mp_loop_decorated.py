# Loops with pauses, recorded by `mprof run`: one FUNC record per call.
import time


@profile
def churn():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    time.sleep(0.2)
    del b
    for _ in range(2):
        b = [2] * (2 * 10 ** 7)
        del b
    return a


@profile
def count():
    d = {}
    time.sleep(0.1)
    for i in range(5000):
        d[i] = i + 1
    time.sleep(0.1)


if __name__ == "__main__":
    churn()
    count()
