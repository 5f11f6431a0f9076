# memory_usage must not hang when the measured function raises: the
# exception reaches the caller.
from memory_profiler import memory_usage


class Boom(Exception):
    pass


def explode(n, scale=1):
    raise Boom("boom %d" % (n * scale))


try:
    memory_usage((explode, (3,), {"scale": 2}), timeout=1)
except Boom as e:
    assert str(e) == "boom 6"
    print("raised through")
else:
    raise SystemExit("no exception")
