# -*- coding: utf-8 -*-
# profile(stream=...) on a function whose source holds non-ASCII text.
from memory_profiler import profile

sink = open("/dev/null", "w")


@profile(stream=sink)
def normalise(text):
    # replace the Persian yeh by the Arabic one: "ی" -> "ي"
    text = text.replace("ی", "ي")
    return text


if __name__ == "__main__":
    assert normalise("کی") == "کي"
    print("streamed")
