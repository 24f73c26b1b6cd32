"""The HTML report and the dashboard, opened in a real headless browser (Debian's Chromium through
/usr/bin/chromedriver): it renders, every figure loads, the console stays clean, user strings show as text
and never run, nothing is fetched, and the page states the numbers of the files it was built from.

Expected values come from outside the code under test: the textbook cell's derived quantities by hand
(C = tau_m / R = 20 ms / 100 MOhm = 200 pF, g_L = 1/R = 10 nS, rheobase (V_th - E_L)/R = 20 mV /
100 MOhm = 200 pA), verdict counts read back from metrics.csv with the csv module, digests and hashes
from manifest.json and hashlib.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from comparisons.cli import run_one
from conftest import TEXTBOOK_NEURON, small_sections
from comparisons.config import load_comparison
from comparisons.harness import run_comparison
from comparisons import backends
from comparisons.batch import run_dashboard
from reports.dashboard import worst
from reports.html import FAMILIES, human, render_html, render_report, tidy
from reports import plots
from reports.writers import atomic_directory, write_all

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_DESCRIPTION = "A textbook cell <img src=x onerror=alert(2)> with a hostile description"

NEURON = "\n" + TEXTBOOK_NEURON


#: Two steps of 300 pA and 150 pA (1.5 and 0.75 x rheobase) from 40 to 160 ms; the first name is hostile.
STIMULI = """
[[stimulus]]
name = "<b>supra</b>"
kind = "step"
amplitude = "300 pA"
start = "40 ms"
stop = "160 ms"

[[stimulus]]
name = "sub"
kind = "step"
amplitude = "150 pA"
start = "40 ms"
stop = "160 ms"
"""

#: A zero latency tolerance: a grid-stamped first spike at 300 pA lies strictly after the exact crossing
#: (latency 20 ms ln 3 = 21.97 ms, not a multiple of 0.1 ms), so every backend but the closed form fails it.
ZERO_LATENCY = """
[tolerances]
first_spike_latency_diff = "0 ms"
"""


def write_comparison(path: Path, name: str, description: str, backends: list[str], extra: str = "") -> Path:
    head = f"name = {json.dumps(name)}\ndescription = {json.dumps(description)}\n"
    path.write_text(head + NEURON + small_sections(backends=backends) + STIMULI + extra, encoding="utf-8")
    return path


def metrics_verdicts(directory: Path) -> list[dict]:
    with open(directory / "metrics.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ----------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A hostile-named comparison on reference, Brian2 and Nengo, written as the command line does."""
    tmp = tmp_path_factory.mktemp("report")
    source = write_comparison(tmp / "hostile.toml", SCRIPT_NAME, IMG_DESCRIPTION, ["reference", "brian2", "nengo"],
                              ZERO_LATENCY)
    comparison = load_comparison(source)
    outcome = run_comparison(comparison, timeout=comparison.timeout)
    out = tmp / "out"
    with atomic_directory(out, False) as directory:
        manifest = render_report(outcome, directory, write_all)
    return {"dir": out, "outcome": outcome, "manifest": manifest}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                "--window-size=1280,1000"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(report, browser):
    """The report loaded in the browser, every folded section opened as a reader would; the console log
    of the load is kept (reading it empties it)."""
    browser.set_window_size(1280, 1000)
    browser.get((report["dir"] / "report.html").as_uri())
    log = browser.get_log("browser")
    browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    return {"driver": browser, "log": log, "text": browser.find_element(By.TAG_NAME, "body").text}


# ----------------------------------------------------------------------------------------- the report

def test_page_renders_with_title_and_verdict_summary(report, page):
    driver = page["driver"]
    assert driver.title.startswith(SCRIPT_NAME)
    assert driver.find_element(By.ID, "verdict").find_element(By.TAG_NAME, "h2").text == "Verdict summary"
    rows = metrics_verdicts(report["dir"])
    passed = sum(r["passed"] == "True" for r in rows)
    failed = sum(r["passed"] == "False" for r in rows)
    assert failed > 0  # the zero latency tolerance fails
    banner = driver.find_element(By.CSS_SELECTOR, ".banner").text
    assert banner.startswith("FAIL")
    assert f"{passed} of {passed + failed} verdicts pass, {failed} fail" in banner


def test_every_figure_loads(page):
    driver = page["driver"]
    images = driver.find_elements(By.TAG_NAME, "img")
    # 2 stimuli x 1 variant (all three backends represent t_ref = 2 ms) + the f-I and convergence figures
    assert len(images) == 4
    for image in images:
        ok = driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image)
        assert ok, image.get_attribute("alt")
    for svg in driver.find_elements(By.TAG_NAME, "svg"):
        box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height]", svg)
        assert box[0] > 0 and box[1] > 0


def test_console_has_no_errors(page):
    assert [e for e in page["log"] if e["level"] == "SEVERE"] == []


def test_user_strings_are_text_and_nothing_runs(page):
    driver = page["driver"]
    assert SCRIPT_NAME in page["text"]
    assert IMG_DESCRIPTION in page["text"]
    assert "<b>supra</b>" in page["text"]
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text
    assert driver.find_elements(By.TAG_NAME, "script") == []
    assert driver.find_elements(By.TAG_NAME, "b") == []
    for image in driver.find_elements(By.TAG_NAME, "img"):
        assert image.get_attribute("src").startswith("data:image/svg+xml;base64,")


def test_nothing_is_fetched(report, page):
    """Every src/href is an inline data URI or an in-page anchor, and no figure links anything external."""
    driver = page["driver"]
    refs = driver.execute_script(
        "return Array.from(document.querySelectorAll('[src],[href]'))"
        ".map(e => e.getAttribute('src') || e.getAttribute('href'))")
    assert refs and all(r.startswith(("data:", "#")) for r in refs), [r[:40] for r in refs]
    assert driver.find_elements(By.TAG_NAME, "link") == []
    for ref in refs:
        if ref.startswith("data:image/svg+xml;base64,"):
            svg = base64.b64decode(ref.split(",", 1)[1]).decode("utf-8")
            assert 'href="http' not in svg and "<image" not in svg and "<script" not in svg


def test_specification_in_human_units(page):
    cells = [tuple(td.text for td in row.find_elements(By.TAG_NAME, "td"))[:3]
             for row in page["driver"].find_elements(By.CSS_SELECTOR, "#specification table.spec tbody tr")]
    values = {field: value for field, _, value in cells}
    assert values == {"tau_m": "20 ms", "R": "100 MOhm", "C": "200 pF", "g_L": "10 nS", "E_L": "-70 mV",
                      "V_th": "-50 mV", "V_reset": "-65 mV", "V_init": "-70 mV", "t_ref": "2 ms",
                      "rheobase": "200 pA"}


def test_digest_citation_and_hashes(report, page):
    manifest = json.loads((report["dir"] / "manifest.json").read_text())
    assert manifest["report_digest"] in page["text"]
    html = (report["dir"] / "report.html").read_bytes()
    assert hashlib.sha256(html).hexdigest() == manifest["files"]["report.html"]
    cite = page["driver"].find_element(By.ID, "cite").text
    cff = (ROOT / "CITATION.cff").read_text()
    assert "version 0.1.0" in cite and "version: 0.1.0" in cff
    assert "lif-crosscheck: cross-simulator validation of leaky integrate-and-fire neurons" in cite
    assert "manifest.json" in cite


def test_failing_verdicts_listed_with_error_and_tolerance(report, page):
    failing = [r for r in metrics_verdicts(report["dir"]) if r["passed"] == "False"]
    rows = page["driver"].find_elements(By.CSS_SELECTOR, "#verdict table.data tbody tr")
    assert len(rows) == len(failing)
    for row, expected in zip(rows, failing):
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert cells[:4] == [expected["stimulus"], expected["backend"], expected["reference"], expected["metric"]]
        assert cells[5] == "0 ms"  # the override
        assert cells[6] == "∞"  # a positive error over a zero tolerance
    # the summary puts the latency among the spike metrics of each backend
    summary = {r.find_element(By.CSS_SELECTOR, "th .name").text: [td.text for td in r.find_elements(By.TAG_NAME, "td")]
               for r in page["driver"].find_elements(By.CSS_SELECTOR, "table.summary tbody tr")}
    assert set(summary) == {"reference", "brian2", "nengo", "closed_form"}
    spikes, trace = FAMILIES.index("spikes"), FAMILIES.index("trace")
    for name, cells in summary.items():
        if name != "closed_form":  # the ground truth has contract verdicts only
            assert "fail" in cells[spikes] and "fail" not in cells[trace]


def test_backend_conventions_shown(report, page):
    table = page["driver"].find_element(By.CSS_SELECTOR, "#backends table")
    header = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")][1:]
    assert header == ["closed_form", "reference", "brian2", "nengo"]
    text = table.text
    for name in ("reference", "brian2", "nengo"):
        meta = report["manifest"]["backends"][name]
        for key in ("method", "threshold", "refractory", "initial_state", "version"):
            assert tidy(meta[key]) in text, (name, key)  # dicts as key = value, float noise rounded


def test_same_outcome_gives_the_same_bytes(report):
    again = render_html(report["outcome"], report["manifest"]["report_digest"], report["dir"])
    assert again == (report["dir"] / "report.html").read_bytes()


@pytest.mark.parametrize("value, unit, shown", [
    (-0.07, "V", "-70 mV"), (1e8, "ohm", "100 MOhm"), (2e-10, "F", "200 pF"), (1e-8, "S", "10 nS"),
    (2e-10, "A", "200 pA"), (0.002, "s", "2 ms"), (3.0, "1", "3"), ("", "V", "—"), (float("nan"), "s", "n/a"),
])
def test_human_units(value, unit, shown):
    assert human(value, unit) == shown


def test_failed_backend_reported_with_its_message(tmp_path, monkeypatch, browser):
    """A backend that raises (tests/raises_backend.py) is listed as failed, with the simulator's message,
    under a "backend failed" banner (exit status 3), and the others are still reported."""
    monkeypatch.setitem(backends.REGISTRY, "raises", ("raises_backend", None))
    source = write_comparison(tmp_path / "raises.toml", "crashing", "", ["reference", "raises"])
    status, _ = run_one(str(source), tmp_path / "out", None, False, True)
    assert status == 3
    browser.get((tmp_path / "out" / "report.html").as_uri())
    assert browser.find_element(By.CSS_SELECTOR, ".banner").text.startswith("BACKEND FAILED")
    rows = {r.find_element(By.TAG_NAME, "td").text: r.text
            for r in browser.find_elements(By.CSS_SELECTOR, "#status tbody tr")}
    assert set(rows) == {"reference", "raises", "closed_form"}
    assert "failed" in rows["raises"] and "simulated crash inside the simulator" in rows["raises"]
    assert "ran" in rows["reference"]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


# ----------------------------------------------------------------------------------------- dashboard

def test_worst_exit_status():
    assert worst([0, 1, 0]) == 1
    assert worst([1, 3, 0]) == 3
    assert worst([]) == 0


def test_dashboard_links_every_report(tmp_path, browser):
    sources = {
        "passing": write_comparison(tmp_path / "passing.toml", "passing cell", "Passes. Second sentence.",
                                    ["reference"]),
        "failing": write_comparison(tmp_path / "failing.toml", "failing cell", "Fails on purpose.", ["reference"],
                                    ZERO_LATENCY),
    }

    def run_small(preset, out, backends, force, quiet):
        return run_one(str(sources[preset]), out, backends, force, quiet)

    out = tmp_path / "dash"
    assert run_dashboard(out, ["passing", "failing"], True, run_small) == 1
    assert sorted(p.name for p in out.iterdir()) == ["failing", "index.html", "passing"]

    browser.get((out / "index.html").as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    rows = browser.find_elements(By.CSS_SELECTOR, "table.dashboard tbody tr")
    assert len(rows) == 2
    for row, preset in zip(rows, ["passing", "failing"]):
        link = row.find_element(By.TAG_NAME, "a")
        assert link.get_attribute("href") == (out / preset / "report.html").as_uri()
        verdicts = metrics_verdicts(out / preset)
        passed = sum(r["passed"] == "True" for r in verdicts)
        failed = sum(r["passed"] == "False" for r in verdicts)
        manifest = json.loads((out / preset / "manifest.json").read_text())
        assert f"{passed} pass" in row.text
        assert (f"{failed} fail" in row.text) == (failed > 0)
        assert manifest["report_digest"] in row.text
        assert "reference" in row.text
    assert "1 some verdict failed" in rows[1].text
    assert "0 every verdict passes" in rows[0].text
    assert "Passes." in rows[0].text and "Second sentence" not in rows[0].text  # first sentence only
    assert not list(out.glob(".index.*"))  # the atomic write left no temporary file
    legend = browser.find_element(By.CSS_SELECTOR, ".legend").text
    assert "(substitute)" in legend and "[t_ref=0]" in legend  # the badge is explained on the page
    rows[1].find_element(By.TAG_NAME, "a").click()
    assert browser.title.startswith("failing cell")


@pytest.mark.parametrize("low, high, decades, minor", [
    (1e-6, 1.0, ["10⁻⁶", "10⁻⁵", "10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰"], []),
    (2e-3, 8e-3, [], ["2×10⁻³", "3×10⁻³", "4×10⁻³", "6×10⁻³"]),
])
def test_log_axes_are_labelled_in_plain_text_with_superscripts(low, high, decades, minor):
    """The tick labels matplotlib chooses for a log axis, as text ("10⁻³", "2×10⁻³"), never mathtext."""
    fig = plots.new_figure(4, 3, left=0.2, right=0.95, top=0.95, bottom=0.1)
    ax = fig.subplots()
    ax.plot([1, 2], [low, high])
    ax.set_yscale("log")
    plots._log_axis(ax.yaxis)
    ax.set_ylim(low, high)
    fig.canvas.draw()
    major = [t.get_text() for t in ax.yaxis.get_majorticklabels() if t.get_text()]
    shown = [t.get_text() for t in ax.yaxis.get_minorticklabels() if t.get_text()]
    assert [label for label in major if label in decades] == decades
    assert shown == minor
    assert not any("$" in label for label in major + shown)


# ----------------------------------------------------------------------------------------- the page at a glance

def preset_comparison(tmp: Path) -> Path:
    """The textbook preset on every installed backend (those that cannot represent t_ref = 2 ms run the
    t_ref = 0 substitute), shortened by the small sections."""
    text = (ROOT / "models" / "presets" / "textbook.toml").read_text(encoding="utf-8")
    path = tmp / "textbook.toml"
    path.write_text(text + small_sections(backends=backends.available()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def preset_report(tmp_path_factory):
    """A preset's report written by the command line into a directory beside its source."""
    tmp = tmp_path_factory.mktemp("preset")
    status, _ = run_one(str(preset_comparison(tmp)), tmp / "out", None, False, True)
    assert status == 0
    return tmp / "out"


LAYOUT = """
const vw = document.documentElement.clientWidth;
const wide = () => Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > vw + 0.5 || e.getBoundingClientRect().left < -0.5)
    .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
const img = document.querySelector('main img');
const out = {vw: vw, height: document.documentElement.scrollHeight, wide: wide(),
             first_figure: img.getBoundingClientRect().top + window.scrollY};
document.querySelectorAll('details').forEach(d => d.open = true);
out.wide_open = wide();
out.height_open = document.documentElement.scrollHeight;
return out;
"""


def measure(browser, path: Path, width: int) -> dict:
    browser.set_window_size(width, 1000)
    browser.get(path.as_uri())
    return browser.execute_script(LAYOUT)


@pytest.mark.parametrize("width", [1400, 800])
def test_nothing_is_wider_than_the_window(preset_report, report, browser, width):
    """At 1400 and 800 px no element reaches past the window's right edge, folded or opened (tables fit the
    page instead of scrolling sideways)."""
    for directory in (preset_report, report["dir"]):
        layout = measure(browser, directory / "report.html", width)
        assert layout["vw"] <= width
        assert layout["wide"] == [], layout["wide"][:5]
        assert layout["wide_open"] == [], layout["wide_open"][:5]


def test_first_screen_answers_does_it_pass_where_not_how_far(preset_report, browser):
    """At 1400 px the first figure starts within the first 2000 px, and the page with its folded sections
    closed is under 6000 px; the verdict table comes before it, the figures before conventions and
    attribution."""
    layout = measure(browser, preset_report / "report.html", 1400)
    assert layout["first_figure"] < 2000, layout
    assert layout["height"] < 6000, layout
    assert layout["height_open"] > layout["height"]  # the rest is there, folded
    top = {name: browser.execute_script(f"return document.getElementById('{name}').getBoundingClientRect().top")
           for name in ("verdict", "traces", "fi", "backends", "why", "metrics", "tolerances")}
    assert top["verdict"] < top["traces"] < top["fi"] < top["backends"] < top["why"] < top["metrics"]
    for name in ("specification", "backends", "why", "metrics", "tolerances"):
        assert browser.find_element(By.ID, name).tag_name == "details"


def test_every_figure_has_distinct_alt_text_stating_its_result(preset_report, report, browser):
    for directory in (report["dir"], preset_report):
        browser.get((directory / "report.html").as_uri())
        alts = [img.get_attribute("alt") for img in browser.find_elements(By.TAG_NAME, "img")]
        assert alts and all(a.strip() for a in alts)
        assert len(set(alts)) == len(alts), alts
        traces = [a for a in alts if a.startswith("Stimulus ")]
        assert traces and all("pass every verdict" in a or "fail" in a for a in traces)
        assert all("of the closed form (tolerance" in a for a in traces)
        assert any(a.startswith("f-I curve:") and "Largest rate error" in a for a in alts)
    substitutes = [a for a in alts if "[t_ref=0]" in a]
    if set(backends.available()) & {"snntorch", "rockpool"}:  # they cannot represent t_ref = 2 ms
        assert substitutes


def test_substitutes_and_ground_truth_are_marked_in_the_summary(preset_report, browser):
    browser.get((preset_report / "report.html").as_uri())
    rows = {r.find_element(By.CSS_SELECTOR, "th .name").text: r.find_element(By.TAG_NAME, "th").text
            for r in browser.find_elements(By.CSS_SELECTOR, "table.summary tbody tr")}
    manifest = json.loads((preset_report / "manifest.json").read_text())
    assert "ground truth" in rows["closed_form"]
    assert list(rows)[-1] == "closed_form"
    for name in manifest["not_representable"]:
        assert "substitute [t_ref=0]" in rows[name]
    header = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "table.summary thead th")]
    assert header[1] == "contract"  # the primary verdicts first
    assert "substitute [t_ref=0]" in browser.find_element(By.CSS_SELECTOR, "#verdict .legend").text


def test_no_absolute_path_of_the_machine_in_any_output_file(preset_report, report):
    """The source is shown relative to the report (or to the project), never as an absolute path."""
    for directory in (preset_report, report["dir"]):
        for path in directory.iterdir():
            text = path.read_text(encoding="utf-8")
            for absolute in (str(directory.parent), str(ROOT), str(Path.home())):
                if absolute not in ("/", ""):
                    assert absolute not in text, (path.name, absolute)
    manifest = json.loads((preset_report / "manifest.json").read_text())
    assert manifest["source"] == "../textbook.toml"
    assert "source <code>../textbook.toml</code>" in (preset_report / "report.html").read_text()


def test_numbers_in_human_units_and_attribution_on_one_scale(preset_report, browser):
    browser.get((preset_report / "report.html").as_uri())
    browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    settings = browser.find_element(By.ID, "settings").text
    assert "time limit per backend run 600 s (10 min)" in settings and "600000" not in settings
    conventions = browser.find_element(By.ID, "backends").text
    assert "{'" not in conventions and "0000000" not in conventions
    # every waterfall of one measure spans the same scale: the same end labels under each chart
    ends: dict = {}
    for table in browser.find_elements(By.CSS_SELECTOR, "table.waterfall"):
        title = table.find_element(By.CSS_SELECTOR, "caption strong").text
        scale = table.find_element(By.CSS_SELECTOR, ".wf-scale").text
        ends.setdefault(title, set()).add(scale)
    assert ends and all(len(scales) == 1 for scales in ends.values()), ends


def test_badges_tags_and_cells_have_strong_contrast(preset_report, browser):
    """Every badge, tag and verdict cell: text against its own background at least 7:1 (WCAG AAA)."""
    browser.get((preset_report / "report.html").as_uri())
    ratios = browser.execute_script("""
      const lum = c => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(x => x / 255)
          .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      return Array.from(document.querySelectorAll('.badge, .tag, td.cell.pass, td.cell.fail')).map(e => {
        const s = getComputedStyle(e); const a = lum(s.color), b = lum(s.backgroundColor);
        return [e.className, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; });""")
    assert ratios
    assert min(r for _, r in ratios) >= 7.0, sorted(ratios, key=lambda x: x[1])[:3]


def test_citation_states_what_citation_cff_records(report, browser):
    from reports.html import citation
    recorded = citation()
    browser.get((report["dir"] / "report.html").as_uri())
    cite = browser.find_element(By.ID, "cite").text
    for author in recorded.authors:
        assert author in cite
    if recorded.repository:
        assert recorded.repository in cite
    else:
        assert "Repository: none recorded in CITATION.cff" in cite


def test_convergence_legend_says_why_an_order_is_zero():
    """An interval that rounds to the same value at every dt gives the same error at every dt and a fitted
    order of 0: correct, and the legend says why in place instead of reading as a failure."""
    dts = np.array([4e-4, 2e-4, 1e-4])
    flat = plots.ConvergenceSeries("reference", dts, np.full(3, 2.5e-5), np.full(3, 1e-4), np.full(3, 1e-15),
                                   np.full(3, 1e-9), isi_order=(0.0, 0.0), trace_order=(0.0, 0.0))
    shrinking = plots.ConvergenceSeries("brian2", dts, np.array([4e-5, 2e-5, 1e-5]), np.full(3, 1e-4),
                                        np.array([4e-12, 1e-12, 2.5e-13]), np.full(3, 1e-9),
                                        isi_order=(1.0, 0.0), trace_order=(2.0, 0.0))
    fig = plots.convergence_figure([flat, shrinking])
    texts = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert "reference (order 0.00 ± 0.00) — same error at every dt: the interval rounds alike" in texts
    assert "brian2 (order 1.00 ± 0.00)" in texts
    assert plots.flat_error(flat.isi_error) and not plots.flat_error(shrinking.isi_error)


def test_convergence_legend_tells_no_interval_from_no_error():
    """Runs with fewer than two spikes have no ISI error (NaN), exact runs an error of 0: the legend says
    which; a figure of no series draws no empty legend (and no warning)."""
    import warnings
    dts = np.array([4e-4, 2e-4, 1e-4])
    silent = plots.ConvergenceSeries("reference", dts, np.full(3, np.nan), np.full(3, 1e-4), np.full(3, 1e-15),
                                     np.full(3, 1e-9))
    exact = plots.ConvergenceSeries("nest", dts, np.zeros(3), np.full(3, 1e-4), np.zeros(3), np.full(3, 1e-9))
    fig = plots.convergence_figure([silent, exact])
    left, right = (ax.get_legend() for ax in fig.axes)
    assert [t.get_text() for t in left.get_texts()] == ["reference: no interval at any dt", "nest: 0 at every dt"]
    assert [t.get_text() for t in right.get_texts()] == ["reference", "nest: 0 at every dt"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = plots.convergence_figure([])
    assert all(ax.get_legend() is None for ax in empty.axes)
