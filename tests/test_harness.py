"""The harness: self-consistency, a deliberately wrong backend, and the textbook cell on the real
backends with the default tolerances."""

import numpy as np
import pandas as pd
import pytest

from comparisons.config import comparison_from_document, load_comparison
from conftest import small_sections
from comparisons.harness import run_comparison
from comparisons import backends
from reference import closed_forms as cf

SMALL = small_sections(duration="300 ms", fi_num=13, fi_duration="600 ms")


def small(backend_names, spec_name="textbook"):
    import tomllib
    from models.files import resolve
    doc = tomllib.loads(resolve(spec_name).read_text() + SMALL)
    return comparison_from_document(doc, backend_names)


def verdicts(outcome):
    df = outcome.metrics
    return df[df.passed.notna()]


def test_reference_against_itself_is_zero_and_passes(monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "reference_copy", ("reference.backend", None))
    outcome = run_comparison(small(["reference", "reference_copy"]))
    df = outcome.metrics
    pair = df[(df.backend == "reference_copy") & (df.reference == "reference")]
    assert len(pair) > 10
    for metric in ("trace_rmse", "trace_max_abs", "trace_max_abs_prespike", "first_spike_latency_diff",
                   "spike_count_diff", "rate_abs_error", "spikes_missed", "spikes_extra"):
        values = pair[pair.metric == metric].value
        assert len(values) and np.all(values == 0.0), metric
    # Elephant's dynamic programme sums costs in floats: a few ulps per spike for identical trains
    count = float(pair[pair.metric == "spike_count"].value.max())
    assert np.all(pair[pair.metric == "victor_purpura"].value <= 4 * np.finfo(float).eps * max(count, 1))
    assert outcome.exit_status() == 0 and (verdicts(outcome).passed.eq(True)).all()


@pytest.fixture
def shifted(monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "shifted", ("shifted_backend", None))


def test_wrong_threshold_fails_the_right_verdicts_with_the_right_sizes(shifted):
    c = small(["reference", "shifted"])
    outcome = run_comparison(c)
    df = verdicts(outcome)
    mine = df[df.backend == "shifted"]
    failed = set(mine[mine.passed.eq(False)].metric)
    assert {"first_spike_latency_diff", "fi_worst_bound_ratio", "convergence_isi_bound_ratio"} <= failed
    # below threshold nothing differs: the subthreshold stimulus and the pre-spike traces all pass
    assert (mine[mine.stimulus == "step_sub"].passed.eq(True)).all()
    assert (mine[mine.metric == "trace_max_abs_prespike"].passed.eq(True)).all()
    # the latency error is the closed-form latency shift of a 1 mV higher threshold, within one step
    spec = c.spec
    stim = c.stimuli[0]
    shift = (float(cf.first_spike_latency(spec.replace(V_th=spec.V_th + 1e-3), stim.amplitude, spec.E_L))
             - float(cf.first_spike_latency(spec, stim.amplitude, spec.E_L)))
    row = mine[(mine.stimulus == stim.name) & (mine.reference == "closed_form")
               & (mine.metric == "first_spike_latency_diff")]
    assert abs(float(row.value.iloc[0]) - shift) <= c.dt
    assert outcome.exit_status() == 1
    # the reference itself still passes everything
    assert (df[df.backend == "reference"].passed.eq(True)).all()


def test_textbook_on_the_three_core_backends_passes_every_default_verdict():
    c = load_comparison("textbook", ["reference", "brian2", "nengo"])
    outcome = run_comparison(c)
    df = verdicts(outcome)
    assert set(df.backend) == {"reference", "brian2", "nengo", "closed_form"}
    assert {"trace_max_abs_prespike", "first_spike_latency_diff", "spike_count_diff", "fi_worst_bound_ratio",
            "rheobase_error", "fi_saturation_excess", "convergence_isi_bound_ratio",
            "convergence_trace_bound_ratio"} <= set(df.metric)
    failing = df[df.passed.ne(True)]
    assert failing.empty, failing.to_string()
    assert outcome.exit_status() == 0


def test_fi_sweep_is_one_population_per_backend(monkeypatch):
    calls = []
    from reference import backend as reference_
    original = reference_.run

    def spy(spec, drive, settings):
        calls.append((drive.n_neurons, settings.record_v))
        return original(spec, drive, settings)
    monkeypatch.setattr(reference_, "run", spy)
    c = small(["reference"])
    run_comparison(c)
    # one population for the f-I curve, one for all stimuli, one neuron per convergence dt
    assert sorted(calls) == sorted([(c.fi.num, False), (len(c.stimuli), True)]
                                   + [(1, True)] * len(c.convergence.dts))


def test_euler_method_convergence_is_first_order():
    import tomllib
    from models.files import resolve
    euler = small_sections(duration="300 ms", fi_num=13, fi_duration="600 ms", method="euler")
    doc = tomllib.loads(resolve("textbook").read_text() + euler)
    outcome = run_comparison(comparison_from_document(doc, ["reference", "brian2"]))
    df = outcome.metrics
    orders = df[df.metric == "convergence_trace_order"]
    assert set(orders.backend) == {"reference", "brian2"}
    assert np.all(np.abs(orders.value - 1.0) < 0.1)
    assert (verdicts(outcome).passed.eq(True)).all(), verdicts(outcome)[verdicts(outcome).passed.ne(True)]


@pytest.mark.parametrize("seed_cell, family", [("neuromatch_noise", "noise"), ("rockpool_synaptic", "psp")])
def test_model_variants_are_compared_in_their_own_rows_next_to_the_plain_part(seed_cell, family):
    """A cell with noise or a synapse: f-I and convergence run on its plain part (labelled), the traces of
    the synaptic cell as written (unlabelled), those of the noise cell on its plain part; the variant
    comparisons add their own verdict rows and tables."""
    import tomllib
    from models.files import resolve
    doc = tomllib.loads(resolve(seed_cell).read_text() + SMALL)
    c = comparison_from_document(doc, ["reference"])
    assert not c.spec.is_plain
    outcome = run_comparison(c)
    assert outcome.variants[0].label == "plain" and outcome.variants[0].spec.is_plain
    assert outcome.variants[0].sweeps and "without" in outcome.variants[0].note
    traced = [v for v in outcome.variants if v.stimuli]
    if family == "psp":
        assert traced[0].label == "" and traced[0].spec == c.spec and not outcome.variants[0].stimuli
    else:
        assert traced == [outcome.variants[0]]
    df = outcome.metrics
    own = df[df.stimulus.str.startswith(family)]
    assert len(own) and own.passed.notna().any(), "the variant comparison has verdict rows"
    assert outcome.variant_tables and all(len(t) for t in outcome.variant_tables.values())
    assert (verdicts(outcome).passed.eq(True)).all(), verdicts(outcome)[verdicts(outcome).passed.ne(True)]


def test_a_population_backend_gets_its_sweeps_in_one_call_with_the_same_rows(monkeypatch):
    """snnTorch has run_population: the stimuli, the f-I curve and every convergence run reach it as one
    call, and every f-I, convergence and metric row is what one call per job gives."""
    from comparisons.harness import Runner
    from models import snntorch_
    c = small(["reference", "snntorch"], "euler_tutorial")
    calls = []
    original = snntorch_.run_population

    def spy(spec, workloads):
        calls.append([(drive.dt, drive.n_steps, drive.n_neurons) for drive, _ in workloads])
        return original(spec, workloads)
    monkeypatch.setattr(snntorch_, "run_population", spy)
    pooled = run_comparison(c)
    assert calls == [[(c.dt, c.n_steps, len(c.stimuli)), (c.fi.dt, c.fi.n_steps, c.fi.num)]
                     + [(dt, int(round(c.convergence.duration / dt)), 1) for dt in c.convergence.dts]]
    monkeypatch.setattr(Runner, "_groups", staticmethod(lambda jobs: [[i] for i in range(len(jobs))]))
    alone = run_comparison(c)
    assert len(calls) == 1
    assert pooled.fi_rows == alone.fi_rows
    assert pooled.convergence_rows == alone.convergence_rows
    pd.testing.assert_frame_equal(pooled.metrics, alone.metrics)  # NaN rows too
    assert pooled.exit_status() == 0


def test_a_failing_population_call_fails_its_backend_once_and_nothing_else(monkeypatch):
    from models import snntorch_

    def broken(spec, workloads):
        raise RuntimeError("population broke")
    monkeypatch.setattr(snntorch_, "run_population", broken)
    outcome = run_comparison(small(["reference", "snntorch"], "euler_tutorial"), timeout=60)
    assert outcome.failures == {"snntorch": "stimuli: RuntimeError: population broke"}
    assert outcome.exit_status() == 3
    assert {row[0] for row in outcome.fi_rows} == {"reference"}
    assert {row[0] for row in outcome.convergence_rows} == {"reference"}


def test_a_backend_is_preloaded_once_per_process(monkeypatch):
    """The harness asks for the simulators before every batch; an adapter's warm-up runs once."""
    from comparisons.execution import preload, preloading
    from reference import backend as reference_
    calls = []
    monkeypatch.setattr(preloading, "_PRELOADED", set())
    monkeypatch.setattr(reference_, "preload", lambda: calls.append(1))
    run_comparison(small(["reference"]), timeout=60)
    preload("reference")
    assert calls == [1]


# ------------------------------------------------------------------------------ the convergence verdict

def _isi_convergence_row(outcome, backend):
    df = outcome.metrics
    row = df[(df.backend == backend) & (df.metric == "convergence_isi_bound_ratio")]
    assert len(row) == 1
    return row.iloc[0]


def test_a_backend_without_an_interval_at_one_dt_fails_the_convergence_verdict(monkeypatch):
    """The closed form fires about ten times in the study; a backend with one spike at 0.1 ms has no
    interval there: an infinite error, not a point left out of the worst ratio (the coarser dts pass)."""
    monkeypatch.setitem(backends.REGISTRY, "one_spike", ("one_spike_backend", None))
    c = small(["reference", "one_spike"])
    assert cf.spike_times(c.spec, c.convergence.current, c.convergence.duration).size >= 3
    outcome = run_comparison(c)
    row = _isi_convergence_row(outcome, "one_spike")
    assert row.passed == False and row.value == np.inf  # noqa: E712 - a nullable column
    points = [p for p in outcome.convergence_rows if p[0] == "one_spike"]
    assert [np.isnan(p[2]) for p in points] == [False, False, True], points
    assert _isi_convergence_row(outcome, "reference").passed == True  # noqa: E712


def test_a_convergence_study_too_short_for_an_interval_has_no_isi_verdict():
    """20 ms at 1.5 x rheobase holds fewer than three closed-form spikes: the row is informational, no
    warning, and the comparison passes."""
    import tomllib
    import warnings
    from models.files import resolve
    text = resolve("textbook").read_text() + small_sections(duration="20 ms", fi_num=3, fi_duration="100 ms")
    c = comparison_from_document(tomllib.loads(text), ["reference"])
    assert cf.spike_times(c.spec, c.convergence.current, c.convergence.duration).size < 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = run_comparison(c)
    row = _isi_convergence_row(outcome, "reference")
    assert np.isnan(row.value) and pd.isna(row.passed) and pd.isna(row.tolerance)
    assert outcome.exit_status() == 0, verdicts(outcome)[verdicts(outcome).passed.ne(True)]
