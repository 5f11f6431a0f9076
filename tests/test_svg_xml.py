"""The SVG timeline as a real XML parser sees it: tests/data/protocol/
timeline.svg, which tests/check_svg.c regenerates with pm_svg_timeline and
compares byte for byte (so it cannot go stale), must parse with
xml.etree, be an SVG 1.1 document, and keep what it draws inside its
viewBox and plot area."""
import os
import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                    "protocol", "timeline.svg")
# render_svg.c's margins around the plot area
LEFT, RIGHT, TOP, BOTTOM = 64.0, 16.0, 32.0, 44.0


def root():
    return ET.parse(PATH).getroot()


def texts(r):
    return ["".join(t.itertext()) for t in r.iter(SVG + "text")]


def test_is_svg_11_with_view_box():
    r = root()
    assert r.tag == SVG + "svg"
    assert r.get("version") == "1.1"
    assert r.get("viewBox") == "0 0 720 360"
    assert (r.get("width"), r.get("height")) == ("720", "360")
    assert not list(r.iter(SVG + "script"))


def test_title_escaped_once_reads_back_verbatim():
    # the caller's title was 'train.py <b>&amp; co'
    assert "train.py <b>&amp; co" in texts(root())


def test_polylines_stay_in_plot_area():
    r = root()
    lines = list(r.iter(SVG + "polyline"))
    assert len(lines) == 2
    assert len({p.get("stroke") for p in lines}) == 2
    for p in lines:
        pairs = p.get("points").split(" ")
        assert len(pairs) >= 2
        for pair in pairs:
            x, y = (float(v) for v in pair.split(","))
            assert LEFT <= x <= 720 - RIGHT
            assert TOP <= y <= 360 - BOTTOM


def test_every_coordinate_in_view_box():
    r = root()
    for el in r.iter():
        for a in ("x", "x1", "x2", "cx"):
            if el.get(a) is not None:
                assert 0 <= float(el.get(a)) <= 720, (el.tag, a, el.get(a))
        for a in ("y", "y1", "y2", "cy"):
            if el.get(a) is not None:
                assert 0 <= float(el.get(a)) <= 360, (el.tag, a, el.get(a))
        if el.tag == SVG + "rect":
            assert float(el.get("x")) + float(el.get("width")) <= 720
            assert float(el.get("y")) + float(el.get("height")) <= 360


def test_shows_peak_limit_spans_legend_and_axes():
    r = root()
    t = texts(r)
    assert "peak 180.8 MiB at 1.5 s" in t
    assert "limit 200.0 MiB" in t
    assert "__main__.load" in t and "pkg.mod.step" in t
    assert "main" in t and "child 4242" in t
    assert "time (s)" in t and "memory (MiB)" in t
    # nice ticks: 0..3 s by 0.5, 0..200 MiB by 50 (top: 220 = 1.1 x limit)
    assert [x for x in t if re.fullmatch(r"\d+\.\d", x)] == [
        "0.0", "0.5", "1.0", "1.5", "2.0", "2.5", "3.0"]
    assert [x for x in t if re.fullmatch(r"\d+", x)] == [
        "0", "50", "100", "150", "200"]
    dashed = [ln for ln in r.iter(SVG + "line")
              if ln.get("stroke-dasharray")]
    assert len(dashed) == 1
    # 200 of 220 MiB: 1/11 of the 284 px plot below its top
    assert abs(float(dashed[0].get("y1")) - (TOP + 284 / 11)) < 0.01
    spans = [g for g in r.iter(SVG + "g") if g.get("class") == "span"]
    assert len(spans) == 2
