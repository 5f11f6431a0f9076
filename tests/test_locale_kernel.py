"""Numbers in the C locale whatever the notebook's locale: a real kernel
started under LC_ALL=de_DE.UTF-8 (a locale the test builds itself with
localedef into a temporary LOCPATH) that switches its process locale with
locale.setlocale(LC_ALL, "") still gets '3.50', never '3,50', in %memit's
text and HTML, in %mprun's table and -T printout, and reads '-i 0.05'."""
import os
import re

import pytest

from conftest import Kernel, displays, memit_numbers

COMMA_NUMBER = re.compile(r"\d,\d+ MiB")


@pytest.fixture(scope="module")
def k(comma_locale, tmp_path_factory):
    kern = Kernel(env=comma_locale)
    where = tmp_path_factory.mktemp("locale_kernel")
    kern.execute("import os, locale; os.chdir(%r)\n"
                 "locale.setlocale(locale.LC_ALL, '')\n"
                 "%%load_ext peakmem\nimport numpy as np" % str(where),
                 allow_error=False)
    kern.where = where
    yield kern
    assert kern.raw.bad == []
    kern.close()


def test_kernel_runs_under_decimal_comma_locale(k):
    # the premise: C formatting in this process writes a decimal comma
    assert k.value("locale.localeconv()['decimal_point']") == ","
    assert k.value("locale.format_string('%.2f', 3.5)") == "3,50"


def test_memit_text_and_html_use_point(k):
    reply, msgs = k.execute("%memit -i 0.05 x = np.ones(2**21)")
    assert reply["status"] == "ok", reply
    (d,) = [d for d in displays(msgs) if "text/plain" in d["data"]]
    text, html = d["data"]["text/plain"], d["data"]["text/html"]
    memit_numbers(text)  # "peak memory: N.NN MiB, increment: N.NN MiB"
    assert not COMMA_NUMBER.search(text), text
    assert re.search(r"\b\d+\.\d\d MiB\b", html), html
    assert not COMMA_NUMBER.search(html), html


def test_memit_result_object_uses_point(k):
    k.execute("r = %memit -q -o x = np.ones(2**20)", allow_error=False)
    assert memit_numbers(k.value("str(r)"))


def test_mprun_table_and_T_file_use_point(k):
    k.execute("def f():\n    a = np.ones(2**21)\n    return a.sum()\n",
              allow_error=False)
    reply, msgs = k.execute("%mprun -T prof.txt -f f f()")
    assert reply["status"] == "ok", reply
    mime = "application/vnd.peakmem.mprun+json"
    (d,) = [d for d in displays(msgs) if mime in d["data"]]
    text, html = d["data"]["text/plain"], d["data"]["text/html"]
    assert re.search(r"\d+\.\d MiB", text), text
    assert not COMMA_NUMBER.search(text), text
    assert re.search(r">\d+\.\d MiB<", html)
    assert not COMMA_NUMBER.search(html), html
    with open(os.path.join(k.where, "prof.txt")) as fh:
        assert fh.read() == text
