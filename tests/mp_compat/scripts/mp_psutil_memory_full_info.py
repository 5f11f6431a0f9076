# memory_usage's max with the psutil, psutil_uss and psutil_pss backends,
# alone and with child processes that share the parent's pages.
import multiprocessing as mp
import time

from memory_profiler import memory_usage

MIB = 2 ** 20


def make():
    block = bytearray(64 * MIB)
    block[::4096] = b"x" * (64 * MIB // 4096)
    time.sleep(0.3)
    return len(block)


def with_children():
    block = bytearray(64 * MIB)
    block[::4096] = b"x" * (64 * MIB // 4096)
    # held alone first: PSS and USS are sampled (every 10 ms), and after
    # the fork the block is shared with the children (no longer unique)
    time.sleep(0.3)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=time.sleep, args=(0.5,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


def peaks(func, **kw):
    return [memory_usage(proc=func, max_usage=True, backend=b,
                         interval=0.01, **kw)
            for b in ("psutil", "psutil_uss", "psutil_pss")]


if __name__ == "__main__":
    rss, uss, pss = peaks(make)
    print("alone", rss, uss, pss)
    assert rss > 64 and uss > 60 and pss > 60
    assert uss <= pss + 1 and pss <= rss + 1
    rss, uss, pss = peaks(with_children, include_children=True,
                          multiprocess=True)
    print("children", rss, uss, pss)
    assert rss > 64 and uss > 60 and pss > 60
    # the children share the parent's 64 MiB: counted again in RSS, once
    # in PSS (divided), not at all in USS
    assert uss <= pss <= rss
    assert rss - uss > 2 * 50
