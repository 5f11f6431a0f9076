# @profile on a coroutine function, run to completion by asyncio: the
# table comes once the coroutine is done, with its awaited lines.
import asyncio

from memory_profiler import profile


@profile
async def build_then_wait():
    small = [7] * (10 ** 6)
    large = [8] * (3 * 10 ** 7)
    print("before await", flush=True)
    await asyncio.sleep(0.01)
    del large
    return len(small)


if __name__ == "__main__":
    assert asyncio.run(build_then_wait()) == 10 ** 6
