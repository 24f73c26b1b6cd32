"""Which stimuli get a trace figure in the report: the first ``FIGURES_FIRST`` of a specification, then up
to ``FIGURES_FAILING`` more that fail a verdict; every other stimulus is listed with its result.

The failing stimuli are known from outside the code under test: with a zero first-spike latency tolerance a
grid-stamped first spike at 300 pA (1.5 x the textbook rheobase of 200 pA) lies strictly after the exact
crossing (latency 20 ms ln 3 = 21.97 ms, not a multiple of 0.1 ms), so the reference fails it; at 150 pA
(below the rheobase) neither the reference nor the closed form spikes and nothing fails.
"""

from __future__ import annotations

import re

import pytest

from comparisons.config import load_comparison
from comparisons.harness import run_comparison
from conftest import TEXTBOOK_NEURON, small_sections
from reports import html

NEURON = "\n" + TEXTBOOK_NEURON

#: stimulus name -> amplitude (pA); in this order in the file
STIMULI = {"sub0": 150, "sub1": 150, "sub2": 150, "supra3": 300, "supra4": 300, "supra5": 300, "sub6": 150}


def step(name: str, amplitude: float) -> str:
    return (f'\n[[stimulus]]\nname = "{name}"\nkind = "step"\namplitude = "{amplitude} pA"\n'
            f'start = "20 ms"\nstop = "80 ms"\n')


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    path = tmp_path_factory.mktemp("figures") / "many.toml"
    text = NEURON + small_sections(duration="100 ms", fi_num=3, backends=["reference"])
    text += "".join(step(name, amplitude) for name, amplitude in STIMULI.items())
    path.write_text(text + '\n[tolerances]\nfirst_spike_latency_diff = "0 ms"\n', encoding="utf-8")
    comparison = load_comparison(path)
    return run_comparison(comparison, timeout=comparison.timeout, workers=1)


def test_the_supra_threshold_stimuli_fail_and_the_others_pass(outcome):
    failing = {r.stimulus for r in outcome.metric_rows if r.cells()[-1] == "False"}
    assert failing == {name for name, amplitude in STIMULI.items() if amplitude == 300}


def test_first_stimuli_and_some_failing_ones_are_drawn_the_rest_listed(outcome, monkeypatch):
    monkeypatch.setattr(html, "FIGURES_FIRST", 2)
    monkeypatch.setattr(html, "FIGURES_FAILING", 2)
    entries = html.stimulus_figures(outcome)
    drawn = [e["stimulus"] for e in entries if e["uri"] is not None]
    listed = [e["stimulus"] for e in entries if e["uri"] is None]
    assert drawn == ["sub0", "sub1", "supra3", "supra4"]
    assert listed == ["sub2", "supra5", "sub6"]
    assert all(e["uri"].startswith("data:image/svg+xml;base64,") for e in entries if e["uri"])
    # every entry keeps its caption; the listed failing one states its failure
    supra5 = next(e for e in entries if e["stimulus"] == "supra5")
    assert "reference fail" in supra5["result"] and "first_spike_latency_diff" in supra5["result"]


def test_the_page_shows_the_drawn_figures_and_lists_the_others(outcome, monkeypatch):
    monkeypatch.setattr(html, "FIGURES_FIRST", 2)
    monkeypatch.setattr(html, "FIGURES_FAILING", 2)
    page = html.render_html(outcome, "0" * 64).decode("utf-8")
    figures = re.findall(r'<figure id="(stim-\d+)">', page)
    items = re.findall(r'<li id="(stim-\d+)">', page)
    assert figures == ["stim-0", "stim-1", "stim-3", "stim-4"]
    assert items == ["stim-2", "stim-5", "stim-6"]
    assert "3 more stimuli without a figure" in page
    assert "first 2 stimuli and for up to 2 more" in page


def test_a_comparison_within_the_limits_draws_every_stimulus(outcome):
    assert html.FIGURES_FIRST >= len(STIMULI)
    assert all(e["uri"] is not None for e in html.stimulus_figures(outcome))
