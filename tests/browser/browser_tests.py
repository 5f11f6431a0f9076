"""peakmem in real browsers: JupyterLab 4, Notebook 7 (and Debian's classic
Notebook 6 when it is there) served on 127.0.0.1, driven by Playwright with
Debian's Chromium. peakmem_browser.ipynb is run from the Run menu; the
assertions are on the DOM (texts, element sizes, the live line replaced by
the result, the -o result shown as the HTML table and not as a JSON tree,
no console errors), on the saved .ipynb, and on the page after a reload.
The same notebook run by nbclient (never signed, so untrusted: its HTML is
sanitized) is opened in each frontend: the chart, the alignment of the
table cells and the %mprun source must survive (issue 11.7).
Screenshots go to out/screenshots/<frontend>-<step>.png and
<frontend>-untrusted.png.

Run by scripts/browser.sh, which names this file: it is not called test_*
and the folder has no conftest.py, so the matrix legs' `pytest tests`
(venvs without Playwright) leave it alone and their `from conftest import`
still finds tests/conftest.py."""
import json
import os
import re
import time
import urllib.error

import pytest

from browser_servers import CHROMIUM, NOTEBOOK, SHOTS, Server, classic_python

TIMEOUT = 180_000  # ms: generous, the machine may be shared and slow
RESULT_RE = re.compile(
    r"peak\s+(\d+\.\d\d) MiB[\s\u00b7]+increment\s+(-?\d+\.\d\d) MiB")
LIVE_RE = re.compile(
    r"^running \d+\.\d s \u00b7 now \d+\.\d MiB \u00b7 peak \d+\.\d MiB$")
TEXT_RE = re.compile(
    r"^peak memory: (\d+\.\d\d) MiB, increment: (-?\d+\.\d\d) MiB$")
NCELLS = 8
# texts of the chart that show as a run-on line where a sanitizer drops
# an inline <svg> and keeps its <text>s
CHART_TEXTS = ("RSS during the statement", "memory (MiB)", "time (s)")

# Where the text of a table cell sits: px between the cell's content
# edges and the box of its text (the glyphs, not their elements), and the
# text-align and white-space of the element holding the text.
TEXT_IN_CELL = """(cell) => {
  const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  let left = Infinity, right = -Infinity, holder = cell, text = '';
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.data.trim()) continue;
    const r = document.createRange();  // from the first visible glyph
    r.setStart(n, n.data.search(/\\S/));
    r.setEnd(n, n.data.length);
    for (const b of r.getClientRects()) {
      left = Math.min(left, b.left);
      right = Math.max(right, b.right);
    }
    holder = n.parentElement;
    text += n.data;
  }
  const c = cell.getBoundingClientRect();
  const cs = getComputedStyle(cell), hs = getComputedStyle(holder);
  const px = (v) => parseFloat(v) || 0;
  return {left: left - c.left - px(cs.paddingLeft) - px(cs.borderLeftWidth),
          right: c.right - px(cs.paddingRight) - px(cs.borderRightWidth)
                 - right,
          align: hs.textAlign, whiteSpace: hs.whiteSpace, text: text};
}"""

# Every DOM change: the texts the live line took, with its size each time.
LIVE_OBSERVER = """() => {
  window.__pmLive = [];
  const seen = () => {
    for (const e of document.querySelectorAll('.peakmem-live')) {
      const t = e.textContent.trim();
      const last = window.__pmLive[window.__pmLive.length - 1];
      if (!last || last.text !== t) {
        const r = e.getBoundingClientRect();
        window.__pmLive.push({text: t, width: r.width, height: r.height});
      }
    }
  };
  new MutationObserver(seen).observe(document.body,
      {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


class JupyterLabUI:
    """JupyterLab 4 and Notebook 7: the same notebook widgets."""
    cell = ".jp-Notebook .jp-Cell.jp-CodeCell"
    prompt = ".jp-InputPrompt"
    output = ".jp-OutputArea-child"
    result = ".jp-OutputArea-executeResult"
    stderr = '[data-mime-type="application/vnd.jupyter.stderr"]'
    json_tree = ".jp-RenderedJSON"

    def __init__(self, frontend):
        self.path = ("/lab/tree/" if frontend == "lab"
                     else "/notebooks/") + NOTEBOOK

    def wait_loaded(self, page):
        page.locator(self.cell).nth(NCELLS - 1).wait_for(timeout=TIMEOUT)
        page.locator(
            '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
        ).first.wait_for(state="attached", timeout=TIMEOUT)

    def run_all(self, page):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(
            r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(
            r"^Run All Cells$")).click()

    def save(self, page):
        page.locator(self.cell).first.locator(self.prompt).click()
        # the notebook's toolbar button (Notebook 7's File menu throws
        # "reading 'schema'" in the page when opened)
        page.locator('.jp-NotebookPanel-toolbar '
                     '[data-command="docmanager:save"]').first.click()


class ClassicUI:
    """Classic Notebook 6 (Debian's python3-notebook)."""
    cell = "#notebook-container .cell.code_cell"
    prompt = ".input_prompt"
    output = ".output_area"
    result = ".output_area:has(.output_prompt bdi)"
    stderr = ".output_stderr"
    json_tree = ".jp-RenderedJSON"  # classic never renders JSON as a tree
    path = "/notebooks/" + NOTEBOOK

    def __init__(self, frontend):
        pass

    def wait_loaded(self, page):
        page.locator(self.cell).nth(NCELLS - 1).wait_for(timeout=TIMEOUT)
        page.locator("#kernel_indicator_icon.kernel_idle_icon").wait_for(
            state="attached", timeout=TIMEOUT)

    def run_all(self, page):
        page.locator("#celllink").click()
        page.locator("#run_all_cells > a").click()

    def save(self, page):
        page.locator("#filelink").click()
        page.locator("#save_checkpoint > a").click()


def frontends():
    params = [pytest.param("lab"), pytest.param("notebook7")]
    if classic_python() is not None:
        params.append(pytest.param("notebook6"))
    return params


def wait_idle(server, timeout=TIMEOUT / 1000):
    """Every kernel of the server reports execution_state idle."""
    deadline = time.monotonic() + timeout
    while True:
        kernels = json.loads(server.api("/api/kernels"))
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            return kernels
        assert time.monotonic() < deadline, kernels
        time.sleep(0.2)


def saved_outputs(server):
    """The outputs of each cell in the saved file; None while the file is
    being written: the server answers 400 (not a notebook yet), or 500
    when its reader, finding the file half written, tries to put back the
    save's temporary file that the save itself has just renamed
    (jupyter_server's fileio)."""
    try:
        doc = json.loads(server.api("/api/contents/" + NOTEBOOK))
    except urllib.error.HTTPError as e:
        if e.code in (400, 500):
            return None
        raise
    return [c.get("outputs", []) for c in doc["content"]["cells"]]


def save(ui, page, server, attempts=3, timeout=30):
    """Save from the UI and wait until the file holds the outputs. A click
    that a busy page dropped is repeated (at most `attempts` in all)."""
    for attempt in range(attempts):
        ui.save(page)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            outs = saved_outputs(server)
            if outs is not None and all(outs[1:]):  # all but %load_ext
                return outs
            time.sleep(0.2)
    raise AssertionError("not saved after %d clicks: %r" % (attempts, outs))


def check_outputs(ui, page, when):
    """The outputs a user sees, after the run and after the reload."""
    cells = page.locator(ui.cell)
    assert cells.count() == NCELLS
    # no live line left anywhere, no output shown as a JSON tree
    assert page.locator(".peakmem-live").count() == 0, when
    assert page.locator(ui.json_tree).count() == 0, when

    # 2: %memit of 256 MiB, one output: a compact block when it ran under
    # the live line's delay, else the table (a slow machine); and the
    # chart of its rise
    c = cells.nth(1)
    assert c.locator(ui.output).count() == 1, when
    compact = c.locator(".peakmem-memit .peakmem-compact").count() == 1
    block = c.locator(".peakmem-memit " +
                      (".peakmem-compact" if compact else "table"))
    m = RESULT_RE.search(block.inner_text())
    assert m, block.inner_text()
    assert 255.0 <= float(m.group(2)) <= 300.0, m.group(0)
    assert float(m.group(1)) >= float(m.group(2))
    box = block.bounding_box()
    assert box["width"] > 120 and 10 < box["height"] < 400, box
    check_charts(c)

    # 3: the %%memit with the live line: only the result is left
    c = cells.nth(2)
    assert c.locator(ui.output).count() == 1, when
    m = RESULT_RE.search(c.locator(".peakmem-memit table").inner_text())
    assert m and float(m.group(2)) > 10.0, m

    # 4: %mprun on a cell-defined function: its table with its lines
    c = cells.nth(3)
    mp = c.locator(".peakmem-mprun")
    text = mp.inner_text()
    assert "def grow():" in text and "x = np.ones(64 * 2**20 // 8)" in text
    assert "MiB" in text
    assert mp.locator("tr.peakmem-heavy").count() >= 1, text
    assert mp.bounding_box()["height"] > 80

    # 5: %memit -o as the cell's value: the HTML block, not a JSON tree
    c = cells.nth(4)
    res = c.locator(ui.result)
    assert res.count() == 1, when
    assert res.locator(".peakmem-memit").count() == 1, res.inner_text()
    # a 32 MiB statement, far under the live line's delay: one compact
    # block at most two text lines tall, no table (issue 11.1)
    block = res.locator(".peakmem-memit .peakmem-compact")
    assert block.count() == 1, res.inner_text()
    box = block.bounding_box()
    assert box["width"] > 120 and 10 < box["height"] < 50, box
    assert res.locator(".peakmem-memit table").count() == 0, when
    assert RESULT_RE.search(res.inner_text()), res.inner_text()

    # 6: a %%memit that prints: its result after the prints (issue 11.6)
    c = cells.nth(5)
    texts = [o.inner_text() for o in c.locator(ui.output).all()]
    shown = "\n".join(t for t in texts if t.strip())
    assert "step 3" in shown and "peak" in shown, texts
    assert shown.rindex("step") < shown.index("peak"), texts

    # 8: the error cell: one line, UsageError
    c = cells.nth(7)
    err = c.locator(ui.stderr).inner_text().strip()
    assert err.startswith("UsageError: ") and "\n" not in err, err


def check_charts(cell):
    """Each chart of a cell's %memit results is one loaded image of a
    useful size; no inline <svg> (a sanitizer drops it), none of its
    texts loose in the output."""
    for img in cell.locator(".peakmem-memit img.peakmem-chart").all():
        natural = img.evaluate("i => i.decode().then(() => i.naturalWidth)")
        box = img.bounding_box()
        assert natural > 0 and box["width"] > 200 and box["height"] > 80, \
            (natural, box)
    assert cell.locator(".peakmem-memit svg").count() == 0
    for result in cell.locator(".peakmem-memit").all():
        text = result.inner_text()
        assert not any(t in text for t in CHART_TEXTS), text


def check_layout(ui, page, when):
    """What a sanitizer could break (issue 11.7): the 3 s %%memit's table
    (labels left, numbers right) and its one chart, %mprun's source cells
    (left, indentation kept by white-space: pre), its numbers right."""
    cells = page.locator(ui.cell)
    c = cells.nth(2)
    assert c.locator(".peakmem-memit img.peakmem-chart").count() == 1, when
    check_charts(c)
    table = c.locator(".peakmem-memit table")
    label = table.locator("tr", has=page.locator(
        "th", has_text=re.compile(r"^\s*peak\s*$"))).locator("th")
    at = label.evaluate(TEXT_IN_CELL)
    assert at["left"] < 2 and at["right"] > 10, (when, at)
    value = table.locator("tr", has=page.locator(
        "th", has_text=re.compile(r"^\s*repeats\s*$"))).locator("td")
    at = value.evaluate(TEXT_IN_CELL)
    assert at["text"].strip() == "1" and at["right"] < 2 and \
        at["left"] > 10, (when, at)

    mp = cells.nth(3).locator(".peakmem-mprun")
    rows = mp.locator("tbody tr")
    lines = {}
    for i in range(rows.count()):
        at = rows.nth(i).locator("td").last.evaluate(TEXT_IN_CELL)
        lines[at["text"].strip()] = at
    defn, body = lines["def grow():"], lines["x = np.ones(64 * 2**20 // 8)"]
    for at in (defn, body):  # spaces kept (pre-wrap: and long lines wrap)
        assert at["whiteSpace"] in ("pre", "pre-wrap"), (when, at)
    assert defn["left"] < 2 and defn["right"] > 20, (when, defn)
    assert body["text"].startswith("    x = "), (when, body)
    # the indentation is there on the page: four characters further in
    assert body["left"] > defn["left"] + 10, (when, defn, body)
    number = rows.nth(0).locator("td").first
    at = number.evaluate(TEXT_IN_CELL)
    assert at["right"] < 2 and at["left"] > 5, (when, at)

    # 7: --sites (issue 13): the sites table, its bars loaded images, the
    # held bytes right, the site (cell and line, its source) left
    sites = cells.nth(6).locator("table.peakmem-sites")
    assert sites.count() == 1, when
    assert "Allocated at peak" in sites.inner_text(), when
    bar = sites.locator("img.peakmem-bar").first
    natural = bar.evaluate("i => i.decode().then(() => i.naturalWidth)")
    assert natural > 0 and bar.bounding_box()["width"] >= 50, when
    first = sites.locator("tbody tr").first.locator("td")
    held = first.first.evaluate(TEXT_IN_CELL)
    assert held["text"].strip().endswith("MiB") and held["right"] < 2 \
        and held["left"] > 5, (when, held)
    site = first.last.evaluate(TEXT_IN_CELL)
    assert re.search(r"In \[\d+\] line 1", site["text"]) and \
        "np.ones(2**20)" in site["text"], (when, site)
    assert site["left"] < 2, (when, site)


@pytest.fixture(scope="session")
def untrusted(tmp_path_factory):
    """peakmem_browser.ipynb run by nbclient and saved without a signature
    (no server ever trusted it), with a canary output in its first cell:
    an inline <svg> that only a trusted notebook shows."""
    import nbclient
    import nbformat
    from browser_servers import HERE, NOTEBOOK
    path = tmp_path_factory.mktemp("untrusted") / NOTEBOOK
    nb = nbformat.read(str(HERE / NOTEBOOK), as_version=4)
    env = dict(os.environ, PEAKMEM_LIVE="1")
    old = os.environ.copy()
    os.environ.update(env)
    try:
        nbclient.NotebookClient(nb, timeout=TIMEOUT // 1000,
                                kernel_name="python3",
                                allow_errors=True).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    nb.cells[0].outputs.append(nbformat.v4.new_output(
        "display_data", data={
            "text/plain": "canary",
            "text/html": '<div class="pm-canary"><svg width="8" height="8">'
                         '<rect width="8" height="8"/></svg></div>'}))
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("frontend", frontends())
def test_untrusted_notebook_in_browser(frontend, browser, shots, untrusted,
                                       tmp_path):
    """A notebook received from someone else: its outputs sanitized by the
    frontend, peakmem's results still read right (issue 11.7)."""
    server = Server(frontend, tmp_path, source=untrusted)
    ui = ClassicUI(frontend) if frontend == "notebook6" \
        else JupyterLabUI(frontend)
    context = browser.new_context(viewport={"width": 1280, "height": 2400})
    try:
        page = context.new_page()
        page.goto(server.url(ui.path))
        ui.wait_loaded(page)
        page.locator(ui.cell).nth(NCELLS - 1).locator(ui.stderr).wait_for(
            timeout=TIMEOUT)
        page.locator(ui.cell).nth(2).locator(".peakmem-memit").wait_for(
            timeout=TIMEOUT)
        for img in page.locator("img.peakmem-chart").all():
            img.evaluate("i => i.decode().catch(() => null)")
        page.locator(".pm-canary").wait_for(state="attached",
                                            timeout=TIMEOUT)
        page.screenshot(path=str(shots / ("%s-untrusted.png" % frontend)))
        # untrusted indeed: the canary's <svg> was sanitized away
        assert page.locator(".pm-canary svg").count() == 0
        check_layout(ui, page, "untrusted")
    finally:
        context.close()
        code = server.stop()
        print("server log (end):", *server.log_path.read_text(
            errors="replace").splitlines()[-40:], sep="\n  ")
    assert code == 0, "server exit status %s" % code


@pytest.mark.parametrize("frontend", frontends())
def test_notebook_in_browser(frontend, browser, shots, tmp_path):
    server = Server(frontend, tmp_path)
    ui = ClassicUI(frontend) if frontend == "notebook6" \
        else JupyterLabUI(frontend)
    errors = []
    context = browser.new_context(viewport={"width": 1280, "height": 2400})
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(
            "%s at %s" % (m.text, m.location)) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(e.stack or str(e)))

        def ours(err):
            # Notebook 7.6.5 throws this on every page load from its
            # settings registry (without peakmem, before any cell runs)
            if frontend == "notebook7":
                return not ("reading 'schema'" in err and ".load " in err)
            # classic Notebook 6 always asks for ipywidgets' extension
            # (its "HARDCODED WIDGETS HACK"); Debian's has no ipywidgets
            if frontend == "notebook6":
                return "/nbextensions/widgets/notebook/js/extension.js" \
                    not in err
            return True

        def shot(step):
            page.screenshot(path=str(shots / ("%s-%s.png"
                                              % (frontend, step))))

        page.goto(server.url(ui.path))
        # the page's own idle indicator: the server's execution_state may
        # stay "starting" when its watcher missed the kernel's first status
        ui.wait_loaded(page)
        page.evaluate(LIVE_OBSERVER)
        shot("1-opened")
        ui.run_all(page)

        # during the 3 s %%memit: its live line, as the observer saw it
        # (on a slow machine the page may draw it only after it was
        # replaced: the observer still records every text it took)
        page.wait_for_function(
            "window.__pmLive && window.__pmLive.length > 0",
            timeout=TIMEOUT)
        shot("2-live")

        # the end: every cell has its number, the kernel is idle
        last = page.locator(ui.cell).nth(NCELLS - 1)
        last.locator(ui.stderr).wait_for(timeout=TIMEOUT)
        for i in range(NCELLS):
            page.locator(ui.cell).nth(i).locator(ui.prompt).filter(
                has_text=re.compile(r"\[\d+\]")).wait_for(timeout=TIMEOUT)
        wait_idle(server)
        shot("3-done")

        lives = page.evaluate("window.__pmLive")
        texts = [x["text"] for x in lives]
        print("live lines seen:", *lives, sep="\n  ")
        assert len(set(texts)) >= 2, texts  # it was updated while running
        for x in lives:
            assert LIVE_RE.match(x["text"]), x
            # one line: the text and a 24 px sparkline
            assert x["width"] > 150 and 10 < x["height"] < 60, x
        check_outputs(ui, page, "after the run")
        check_layout(ui, page, "trusted")

        # saved: the .ipynb holds the outputs (no live line in it)
        outs = save(ui, page, server)
        plain = [o["data"]["text/plain"] for cell in outs for o in cell
                 if "data" in o and "application/vnd.peakmem.memit+json"
                 in o["data"]]
        assert len(plain) == 5, outs
        assert TEXT_RE.match("".join(plain[0])), plain
        assert not any("application/vnd.peakmem.live+json" in o.get("data", {})
                       for cell in outs for o in cell), outs

        # reloaded: the outputs are still there
        page.reload()
        ui.wait_loaded(page)
        page.locator(ui.cell).nth(NCELLS - 1).locator(ui.stderr).wait_for(
            timeout=TIMEOUT)
        shot("4-reloaded")
        check_outputs(ui, page, "after the reload")
        errors = [e for e in errors if ours(e)]
        assert errors == [], "\n".join(errors)
    finally:
        context.close()
        code = server.stop()
        # shown by pytest when the test failed
        print("server log (end):", *server.log_path.read_text(
            errors="replace").splitlines()[-40:], sep="\n  ")
    # shut down by its API (kernels too), not killed
    assert code == 0, "server exit status %s" % code
