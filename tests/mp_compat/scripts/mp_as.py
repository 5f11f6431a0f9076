# A profiled function calling into a module imported under another name,
# run with `python -m memory_profiler` (profile is a builtin there).
import math as m


@profile
def hypot_of_two():
    h = m.hypot(3.0, 4.0)
    return h


if __name__ == "__main__":
    assert hypot_of_two() == 5.0
