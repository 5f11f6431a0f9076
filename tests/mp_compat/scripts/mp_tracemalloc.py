# The tracemalloc backend: a line's increment is what Python allocated on
# it (a bytearray of n bytes), and a del gives it back exactly.
import tracemalloc
from io import StringIO

import pytest

import memory_profiler
from memory_profiler import profile

tracemalloc.start()
# memory_profiler's test sets this (0.61 reads no such global); the
# backend that counts is the decorator's
memory_profiler._backend = "tracemalloc"
out = StringIO()
EPS = 0.0001  # MiB


@profile(stream=out, precision=6, backend="tracemalloc")
def alloc_free(n):
    buf = bytearray(n)
    del buf
    return n


def traced_size(n):
    before = tracemalloc.get_traced_memory()[0]
    b = bytearray(n)
    size = tracemalloc.get_traced_memory()[0] - before
    del b
    return size / 2 ** 20


@pytest.mark.parametrize("n", [10 ** k for k in range(2, 9)])
def test_exact_increments(n):
    alloc_free(n)
    lines = out.getvalue().split("\n")
    inc = float(lines[-6].split()[3])
    dec = -float(lines[-5].split()[3])
    assert abs(inc - dec) <= EPS, (inc, dec)
    assert abs(inc - traced_size(n)) <= EPS, (inc, traced_size(n))
