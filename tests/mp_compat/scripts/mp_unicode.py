# -*- coding: utf-8 -*-
# Non-ASCII source in the report of `python -m memory_profiler`.
@profile
def normalise(text):
    # "ی" -> "ي"
    text = text.replace("ی", "ي")
    return text


if __name__ == "__main__":
    normalise("کی")
