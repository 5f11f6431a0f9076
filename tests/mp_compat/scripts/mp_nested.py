# profile.enable_by_count / disable_by_count around a profiled function
# that returns a nested function, called later.
import time


@profile
def outer():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b

    def inner():
        c = [1] * (10 ** 6)
        d = [2] * (2 * 10 ** 7)
        del d
        return c

    return inner


if __name__ == "__main__":
    profile.enable_by_count()
    inner = outer()
    time.sleep(0.1)
    inner()
    profile.disable_by_count()
