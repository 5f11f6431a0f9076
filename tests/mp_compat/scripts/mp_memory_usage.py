# memory_usage's return shapes: (f, args, kw) with retval; a list for a
# pid watched for a while or for a callable; a float with max_usage.
from memory_profiler import memory_usage


def echo(*args, **kwargs):
    return args, kwargs


def test_star_args():
    mem, ret = memory_usage((echo, (4, 5), {"k": 6}), retval=True)
    assert ret == ((4, 5), {"k": 6})
    assert isinstance(mem, list) and mem


def test_return_types():
    assert type(memory_usage(timeout=0.3)) == list
    assert type(memory_usage(timeout=0.3, max_usage=True)) == float
    assert type(memory_usage((echo, (1,), {"k": 1}))) == list
    assert type(memory_usage((echo, (1,), {"k": 1}), max_usage=True)) == float


if __name__ == "__main__":
    test_star_args()
    test_return_types()
    print("shapes ok")
