# A script whose globals use names the runner itself might use: they are
# the script's own, and the report still comes.
options = None
args = "mine"
prof = 3


@profile
def uses_globals():
    total = prof * 2
    return total


if __name__ == "__main__":
    assert options is None and args == "mine"
    assert uses_globals() == 6
