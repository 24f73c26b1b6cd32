"""Comparison metrics on hand-made inputs whose answers are worked out by hand in each test.

Tolerances: results built from a handful of float operations on numbers of size ``x`` are exact to a
few ulps, so ``rel=1e-12`` (or ``abs=1e-9`` steps for offsets ``(k + 2) dt - k dt`` over ``dt``, whose
rounding is ``~ eps t / dt = 1e-13`` steps at t <= 0.1 s, dt = 0.1 ms) is a bound with a wide margin.
"""

import itertools
import math
import warnings

import numpy as np
import pytest

from comparisons import metrics as m
from models.errors import ContractError

DT = 1e-4
EPS = np.finfo(float).eps


def value(table, name):
    row = table[table.metric == name]
    assert len(row) == 1
    return float(row.value.iloc[0])


def check_columns(table, names):
    assert list(table.columns) == ["metric", "value", "unit"]
    assert list(table.metric) == names
    assert list(table.unit) == [m.METRIC_UNITS[n] for n in names]


# ------------------------------------------------------------------------------------------ traces


def test_constant_offset_gives_that_offset_for_one_and_several_neurons():
    ref = np.linspace(-0.07, -0.05, 11)
    assert m.trace_rmse(ref + 2e-3, ref) == pytest.approx(2e-3, rel=1e-12)
    assert m.trace_max_abs(ref - 2e-3, ref) == pytest.approx(2e-3, rel=1e-12)
    pop = np.column_stack([ref, ref, ref])
    test = pop + np.array([1e-3, -2e-3, 2e-3])
    # pooled: sqrt((1 + 4 + 4)/3) mV = sqrt(3) mV; per neuron: the offsets themselves
    assert m.trace_rmse(test, pop) == pytest.approx(math.sqrt(3) * 1e-3, rel=1e-12)
    assert m.trace_max_abs(test, pop) == pytest.approx(2e-3, rel=1e-12)
    np.testing.assert_allclose(m.trace_rmse(test, pop, axis=0), [1e-3, 2e-3, 2e-3], rtol=1e-12)
    np.testing.assert_allclose(m.trace_max_abs(test, pop, axis=0), [1e-3, 2e-3, 2e-3], rtol=1e-12)


def test_single_sample_spike_rmse_is_height_over_root_n():
    n, height = 400, 0.015  # one sample 15 mV off out of 400: RMSE = 15 mV / 20
    ref = np.full(n, -0.065)
    test = ref.copy()
    test[123] += height
    assert m.trace_rmse(test, ref) == pytest.approx(height / 20, rel=1e-12)
    assert m.trace_max_abs(test, ref) == pytest.approx(height, rel=1e-12)


def test_subthreshold_mask_excludes_exactly_the_windows_of_either_train():
    t = np.arange(21) * DT
    test_spike, ref_spike = 12.3 * DT, 5 * DT  # one precise (off-grid) spike, one grid spike
    mask = m.subthreshold_mask(t, np.array([test_spike]), np.array([ref_spike]), 2 * DT)
    # |t_k - 5 dt| <= 2 dt: k = 3..7 (both edges included); |t_k - 12.3 dt| <= 2 dt: k = 11..14
    excluded = [3, 4, 5, 6, 7, 11, 12, 13, 14]
    assert mask.shape == (21, 1)
    assert np.flatnonzero(~mask[:, 0]).tolist() == excluded


def test_subthreshold_mask_is_per_neuron():
    t = np.arange(10) * DT
    mask = m.subthreshold_mask(t, [np.array([]), np.array([8 * DT])], [np.array([2 * DT]), np.array([])], DT)
    assert np.flatnonzero(~mask[:, 0]).tolist() == [1, 2, 3]
    assert np.flatnonzero(~mask[:, 1]).tolist() == [7, 8, 9]


def test_trace_metrics_separates_spike_windows_from_subthreshold_samples():
    t = np.arange(50) * DT
    ref = np.full((50, 2), -0.07)
    test = ref.copy()
    test[20, 0] += 0.02      # a 20 mV difference at a spike of neuron 0 (sample 20)
    test[40, 1] += 1e-3      # a 1 mV difference far from any spike of neuron 1
    spikes_ref = [np.array([20 * DT]), np.array([])]
    spikes_test = [np.array([21 * DT]), np.array([])]
    table = m.trace_metrics(t, test, ref, spikes_test, spikes_ref, 3 * DT)
    check_columns(table, ["trace_rmse", "trace_max_abs", "trace_rmse_subthreshold",
                          "trace_max_abs_subthreshold"])
    assert value(table, "trace_rmse") == pytest.approx(math.sqrt((0.02**2 + 1e-6) / 100), rel=1e-12)
    assert value(table, "trace_max_abs") == pytest.approx(0.02, rel=1e-12)
    # neuron 0 loses samples 17..24 (8 samples): 92 samples remain, one of them 1 mV off
    assert value(table, "trace_rmse_subthreshold") == pytest.approx(1e-3 / math.sqrt(92), rel=1e-12)
    assert value(table, "trace_max_abs_subthreshold") == pytest.approx(1e-3, rel=1e-12)


def test_empty_subthreshold_set_gives_nan():
    t = np.arange(5) * DT
    ref = np.zeros(5)
    table = m.trace_metrics(t, ref + 1e-3, ref, np.array([]), np.array([2 * DT]), 2 * DT)
    assert value(table, "trace_rmse") == pytest.approx(1e-3, rel=1e-12)
    assert math.isnan(value(table, "trace_rmse_subthreshold"))
    assert math.isnan(value(table, "trace_max_abs_subthreshold"))


def test_default_exclusion_is_refractory_period_plus_two_steps():
    assert m.default_exclusion_half_width(2e-3, 1e-4) == pytest.approx(2.2e-3, rel=1e-12)
    assert m.default_exclusion_half_width(0.0, 1e-4) == pytest.approx(2e-4, rel=1e-12)


def test_trace_shape_mismatch_is_refused():
    with pytest.raises(ContractError, match="same shape"):
        m.trace_rmse(np.zeros(5), np.zeros(6))


# ---------------------------------------------------------------------------------- spike matching


def test_shift_of_exactly_two_steps_gives_offsets_of_two():
    ref = np.array([100, 400, 700]) * DT
    match = m.match_spikes(ref + 2 * DT, ref, window=2 * DT, dt=DT)  # the window's edge is included
    assert (match.n_matched, match.n_missed, match.n_extra) == (3, 0, 0)
    np.testing.assert_allclose(match.offsets_dt, [2, 2, 2], atol=1e-9)


def test_spike_just_outside_the_window_is_missed_and_extra():
    ref = np.array([100, 400]) * DT
    test = np.array([100, 403]) * DT
    match = m.match_spikes(test, ref, window=2 * DT, dt=DT)
    assert match.reference_index.tolist() == [0] and match.test_index.tolist() == [0]
    assert match.missed.tolist() == [1] and match.extra.tolist() == [1]
    assert (match.n_matched, match.n_missed, match.n_extra) == (1, 1, 1)


def test_unequal_counts_leave_the_unmatched_spike_out():
    ref = np.array([10, 50, 90]) * DT
    test = np.array([11, 89]) * DT
    match = m.match_spikes(test, ref, window=3 * DT, dt=DT)
    assert match.reference_index.tolist() == [0, 2] and match.test_index.tolist() == [0, 1]
    assert match.missed.tolist() == [1] and match.n_extra == 0
    np.testing.assert_allclose(match.offsets_dt, [1, -1], atol=1e-9)


@pytest.mark.parametrize("ref, test, missed, extra", [
    (np.array([]), np.array([1e-3, 2e-3]), 0, 2),
    (np.array([1e-3, 2e-3, 3e-3]), np.array([]), 3, 0),
    (np.array([]), np.array([]), 0, 0),
])
def test_empty_trains_on_either_or_both_sides(ref, test, missed, extra):
    match = m.match_spikes(test, ref, window=DT, dt=DT)
    assert (match.n_matched, match.n_missed, match.n_extra) == (0, missed, extra)
    assert match.offsets_dt.size == 0
    assert math.isnan(m.first_spike_latency_diff(test, ref))


def test_optimal_matching_beats_greedy_nearest():
    """Reference 0 and 1 ms, test 0.6 and 1.7 ms, window 0.75 ms. The nearest pair (1, 0.6) is 0.4 ms
    apart; greedy takes it and strands both other spikes (1 match). The order-preserving optimum pairs
    (0, 0.6) and (1, 1.7): 2 matches, offsets +6 and +7 steps."""
    match = m.match_spikes(np.array([0.6e-3, 1.7e-3]), np.array([0.0, 1e-3]), window=0.75e-3, dt=DT)
    assert match.n_matched == 2 and match.n_missed == 0 and match.n_extra == 0
    np.testing.assert_allclose(match.offsets_dt, [6, 7], atol=1e-9)


def test_among_maximal_matchings_the_smallest_total_offset_wins():
    """Reference 1.0 ms; test 0.8 and 1.1 ms, window 0.3 ms: one pair either way; 1.1 is closer."""
    match = m.match_spikes(np.array([0.8e-3, 1.1e-3]), np.array([1e-3]), window=0.3e-3, dt=DT)
    assert match.test_index.tolist() == [1] and match.extra.tolist() == [0]


def brute_force(ref, test, window):
    """(most pairs, smallest sum |offset|) over every order-preserving matching, by enumeration."""
    best = (0, 0.0)
    for k in range(1, min(len(ref), len(test)) + 1):
        for i in itertools.combinations(range(len(ref)), k):
            for j in itertools.combinations(range(len(test)), k):
                d = np.abs(test[list(j)] - ref[list(i)])
                if np.all(d <= window):
                    best = max(best, (k, -float(d.sum())))
    return best[0], -best[1]


def test_matching_equals_exhaustive_search_on_crowded_trains():
    rng = np.random.default_rng(7)
    for _ in range(40):
        ref = np.sort(rng.choice(40, rng.integers(0, 6), replace=False)) * DT
        test = np.sort(rng.choice(40, rng.integers(0, 6), replace=False)) * DT + 0.25 * DT
        match = m.match_spikes(test, ref, window=4 * DT, dt=DT)
        n, total = brute_force(ref, test, 4 * DT)
        assert match.n_matched == n
        assert np.sum(np.abs(match.offsets_dt)) * DT == pytest.approx(total, abs=1e-12)
        assert np.all(np.diff(match.reference_index) > 0) and np.all(np.diff(match.test_index) > 0)


def test_first_spike_latency_difference():
    assert m.first_spike_latency_diff(np.array([0.0321]), np.array([0.0322, 0.06])) == pytest.approx(
        -1e-4, rel=1e-9)


# ------------------------------------------------------------------------ Elephant's spike distances


def test_victor_purpura_known_values():
    a = np.array([0.01, 0.05, 0.09])
    assert m.victor_purpura(a, a.copy(), cost=100.0) == 0.0
    assert m.victor_purpura(np.array([0.01]), np.array([]), cost=100.0) == 1.0
    # single spikes d = 3 ms apart: min(2, q d) = 0.3 at q = 100 Hz, 2 at q = 1 kHz (q d = 3 > 2)
    one, other = np.array([0.010]), np.array([0.013])
    assert m.victor_purpura(one, other, cost=100.0) == pytest.approx(0.3, rel=1e-12)
    assert m.victor_purpura(one, other, cost=1000.0) == pytest.approx(2.0, rel=1e-12)
    assert m.victor_purpura(a, np.array([0.2]), cost=0.0) == 2.0  # |3 - 1|
    with pytest.raises(ContractError, match="finite"):
        m.victor_purpura(a, a, cost=math.inf)


def test_van_rossum_known_values():
    """With f = sum exp(-(t - t_i)/tau) H(t - t_i) and Elephant's D^2 = (2/tau) int (f_a - f_b)^2:
    one spike vs none: (2/tau) int_0^inf exp(-2s/tau) ds = 1. Spikes d apart: on [0, d] the difference
    is exp(-s/tau), after it exp(-s/tau)(1 - exp(d/tau)); the integral is tau (1 - exp(-d/tau)), so
    D = sqrt(2 (1 - exp(-d/tau)))."""
    tau = 5e-3
    assert m.van_rossum(np.array([0.01]), np.array([]), tau) == pytest.approx(1.0, rel=1e-12)
    d = 3e-3
    expected = math.sqrt(2 * (1 - math.exp(-d / tau)))
    assert m.van_rossum(np.array([0.010]), np.array([0.010 + d]), tau) == pytest.approx(
        expected, rel=1e-12)


def test_van_rossum_of_identical_trains_is_at_the_rounding_floor():
    """D^2 cancels sums of size S = n (1 + 2/(exp(ISI/tau) - 1)); the floor is sqrt(eps (S + S))."""
    isi, tau, n = 3.7e-3, 2e-2, 1000
    train = np.arange(n) * isi
    floor = math.sqrt(EPS * 2 * n * (1 + 2 / math.expm1(isi / tau)))
    assert m.van_rossum(train, train.copy(), tau) <= floor


def test_spike_matching_pools_neurons_and_distances_are_per_train():
    ref = [np.array([100, 400]) * DT, np.array([50]) * DT]
    test = [np.array([102, 400, 700]) * DT, np.array([], dtype=float)]
    table = m.spike_match_metrics(test, ref, window=3 * DT, dt=DT)
    check_columns(table, ["spikes_matched", "spikes_missed", "spikes_extra", "spike_offset_max_abs_dt",
                          "spike_offset_mean_dt"])
    assert table.value.tolist()[:3] == [2, 1, 1]
    assert value(table, "spike_offset_max_abs_dt") == pytest.approx(2, abs=1e-9)
    assert value(table, "spike_offset_mean_dt") == pytest.approx(1, abs=1e-9)  # offsets +2 and 0
    assert m.first_spike_latency_diff(test[0], ref[0]) == pytest.approx(2 * DT, rel=1e-9)
    # VP: neuron 0 shifts one spike by 0.2 ms (q d = 0.02) and inserts one (1); neuron 1 deletes one (1)
    assert m.victor_purpura(test[0], ref[0], 100.0) == pytest.approx(1.02, rel=1e-12)
    assert m.victor_purpura(test[1], ref[1], 100.0) == pytest.approx(1.0, rel=1e-12)
    # van Rossum: expanding the square, (2/tau) int f_a f_b dt = sum_ij exp(-|a_i - b_j|/tau); one spike
    # against none is 1
    assert m.van_rossum(test[0], ref[0], 5e-3) ** 2 == pytest.approx(
        van_rossum_squared(ref[0], test[0], 5e-3), rel=1e-9)
    assert m.van_rossum(test[1], ref[1], 5e-3) == pytest.approx(1.0, rel=1e-9)


def van_rossum_squared(a, b, tau):
    def cross(x, y):
        return np.sum(np.exp(-np.abs(x[:, None] - y[None, :]) / tau))
    return cross(a, a) + cross(b, b) - 2 * cross(a, b)


def test_unit_names_looked_up_give_the_registry_s_own_objects():
    """The shortcut around quantities' unit parser (``metrics._unit_names_looked_up``) answers exactly
    what the parser answers: the very object for every registered plain name, the parser's own result
    (or error) for any other label, and the parser is back in place after the block, also after an
    error inside it and after nested blocks."""
    from quantities import registry

    parse, table, reg = registry.UnitRegistry.__getitem__, m._unit_table(), registry.unit_registry
    plain = [name for name in table if m._plain_unit_name(name)]
    assert len(plain) > 100 and "dimensionless" in plain and "s" in plain
    before = {name: reg[name] for name in plain}
    others = ["m/s", "mV*ms", "s**-1", "in", "", "%", " s "]
    other_before = {label: reg[label].dimensionality.string for label in others}
    odd = ["no_such_unit", "None", "lambda", "__builtins__", "1/0"]      # the parser's odd answers too
    odd_before = {label: outcome(reg, label) for label in odd}
    with m._unit_names_looked_up():
        assert registry.UnitRegistry.__getitem__ is not parse
        with m._unit_names_looked_up():                   # nested: still swapped
            pass
        assert registry.UnitRegistry.__getitem__ is not parse
        assert all(reg[name] is before[name] for name in plain)
        assert {label: reg[label].dimensionality.string for label in others} == other_before
        assert {label: outcome(reg, label) for label in odd} == odd_before
    assert registry.UnitRegistry.__getitem__ is parse
    with pytest.raises(RuntimeError), m._unit_names_looked_up():
        raise RuntimeError
    assert registry.UnitRegistry.__getitem__ is parse


def outcome(registry, label):
    try:
        return repr(registry[label])
    except Exception as exc:
        return type(exc).__name__


def test_distances_are_elephant_s_to_the_bit():
    """Both distances equal Elephant's own calls (no shortcut, the trains as ``neo.SpikeTrain``) bit for
    bit, on random trains of 0-40 spikes."""
    import neo
    import quantities as pq
    from elephant import spike_train_dissimilarity as sd

    rng = np.random.default_rng(20261202)
    for _ in range(30):
        a, b = (np.sort(rng.uniform(0, 0.5, rng.integers(0, 40))) for _ in range(2))
        trains = [neo.SpikeTrain(x, units="s", t_stop=0.5) for x in (a, b)]
        tau, cost = rng.uniform(1e-3, 2e-2), rng.uniform(10, 2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            vr = sd.van_rossum_distance(trains, time_constant=tau * pq.s)[0, 1]
        vp = sd.victor_purpura_distance(trains, cost_factor=cost * pq.Hz)[0, 1]
        assert m.van_rossum(a, b, tau) == vr
        assert m.victor_purpura(a, b, cost) == vp


# ------------------------------------------------------------------------------------------- rates


def test_mean_rate_counts_the_half_open_window():
    train = np.array([0.0, 0.1, 0.2, 0.5, 0.6])
    assert m.mean_rate(train, 0.0, 0.5) == pytest.approx(6.0, rel=1e-12)  # 0.1, 0.2, 0.5 in 0.5 s
    assert m.mean_rate([train, np.array([])], 0.0, 0.5) == pytest.approx(3.0, rel=1e-12)


def test_rate_errors_including_zero_expected_rate():
    assert m.rate_errors(12.0, 10.0) == pytest.approx((2.0, 0.2), rel=1e-12)
    assert m.rate_errors(0.0, 0.0) == (0.0, 0.0)
    assert m.rate_errors(5.0, 0.0) == (5.0, math.inf)
    measured = m.mean_rate(np.array([0.1, 0.2, 0.3]), 0.0, 0.5)  # 6 Hz
    assert m.rate_errors(measured, 5.0) == pytest.approx((1.0, 0.2), rel=1e-12)


def test_stationary_rate_estimators():
    """Latency 7 ms then ISI 25 ms, 10 spikes in 0.25 s: 1/ISI = 40 Hz; the count gives 10/0.25."""
    train = 0.007 + 0.025 * np.arange(10)
    assert m.stationary_rate_isi(train, 0.25) == pytest.approx(40.0, rel=1e-12)
    assert m.stationary_rate_count(train, 0.25) == pytest.approx(40.0, rel=1e-12)
    assert m.stationary_rate_count(train[:9], 0.25) == pytest.approx(36.0, rel=1e-12)
    assert m.stationary_rate_isi(train[:9], 0.25) == pytest.approx(40.0, rel=1e-12)
    assert m.stationary_rate_isi(np.array([0.1]), 0.5) == pytest.approx(2.0, rel=1e-12)  # fallback
    assert m.stationary_rate_isi(np.array([]), 0.5) == 0.0
    np.testing.assert_allclose(m.stationary_rates([train, np.array([])], 0.25), [40.0, 0.0], rtol=1e-12)
    with pytest.raises(ContractError, match="estimator"):
        m.stationary_rates([train], 0.25, "mean")


# --------------------------------------------------------------------------------------------- f-I


CURRENTS = np.array([0, 100, 200, 300, 400]) * 1e-12


def test_fi_errors():
    expected = np.array([0, 0, 10, 20, 30.0])
    rates = np.array([0, 0, 11, 19, 33.0])
    errors = m.fi_errors(CURRENTS, rates, expected)
    assert errors.max_abs == pytest.approx(3.0, rel=1e-12)
    assert errors.mean_abs == pytest.approx(1.0, rel=1e-12)  # (1 + 1 + 3)/5
    assert errors.max_rel == pytest.approx(0.1, rel=1e-12)  # 1/10 and 3/30
    assert math.isnan(m.fi_errors(CURRENTS, np.full(5, 1.0), np.zeros(5)).max_rel)


def test_rheobase_from_a_sweep_in_any_order():
    rates = np.array([0, 0, 11, 19, 33.0])
    order = [3, 0, 4, 2, 1]
    found = m.sweep_rheobase(CURRENTS[order], rates[order])
    assert found.current == pytest.approx(200e-12, rel=1e-12)
    assert found.step == pytest.approx(100e-12, rel=1e-12)
    assert found.error(150e-12) == pytest.approx(50e-12, rel=1e-9)
    assert abs(found.error(150e-12)) <= found.step
    lowest = m.sweep_rheobase(CURRENTS, np.full(5, 3.0))
    assert lowest.current == 0.0 and lowest.step == math.inf
    assert math.isnan(m.sweep_rheobase(CURRENTS, np.zeros(5)).current)
    assert m.rheobase_found(CURRENTS[order], rates[order]) == pytest.approx(200e-12, rel=1e-12)


def test_saturation_excess():
    assert m.saturation_excess([100.0, 510.0], 2e-3) == pytest.approx(10.0, rel=1e-9)
    assert m.saturation_excess([100.0, 490.0], 2e-3) == 0.0
    assert m.saturation_excess([1e4], 0.0) == 0.0


def test_fi_metrics():
    rates = np.array([0, 0, 11, 19, 520.0])
    table = m.fi_metrics(CURRENTS, rates, np.array([0, 0, 10, 20, 30.0]))
    check_columns(table, ["fi_max_abs_error", "fi_mean_abs_error", "fi_max_rel_error"])
    assert value(table, "fi_max_abs_error") == pytest.approx(490.0, rel=1e-12)
    assert m.sweep_rheobase(CURRENTS, rates).error(150e-12) == pytest.approx(50e-12, rel=1e-9)
    assert m.saturation_excess(rates, 2e-3) == pytest.approx(20.0, rel=1e-9)


# ------------------------------------------------------------------------------------- convergence


DTS = np.array([4e-4, 2e-4, 1e-4, 5e-5, 2.5e-5])


@pytest.mark.parametrize("order", [1, 2])
def test_convergence_order_recovers_exact_power_laws(order):
    """log errors are exact to ~eps |log e| <= 50 eps; over log dt spread ~2.8 the slope and its
    standard error stay below 100 eps |log e|max."""
    errors = 3.0 * DTS**order
    fit = m.convergence_order(DTS, errors)
    bound = 100 * EPS * np.max(np.abs(np.log(errors)))
    assert fit.order == pytest.approx(order, abs=bound)
    assert fit.stderr <= bound
    order_, stderr = fit  # the harness unpacks the fit as a pair
    assert (order_, stderr) == (fit.order, fit.stderr)


def test_convergence_order_with_noise_has_a_standard_error():
    """Errors C dt (1 + 0.1 (-1)^k): slope and standard error from the normal equations by hand,
    stderr = sqrt(SSR/(n - 2) / Sxx)."""
    errors = 2.0 * DTS * (1 + 0.1 * np.array([1, -1, 1, -1, 1]))
    x, y = np.log(DTS), np.log(errors)
    sxx = np.sum((x - x.mean()) ** 2)
    slope = np.sum((x - x.mean()) * (y - y.mean())) / sxx
    residual = y - y.mean() - slope * (x - x.mean())
    stderr = math.sqrt(np.sum(residual**2) / (x.size - 2) / sxx)
    fit = m.convergence_order(DTS, errors)
    assert fit.order == pytest.approx(slope, rel=1e-9)
    assert fit.stderr == pytest.approx(stderr, rel=1e-9)
    assert fit.stderr > 0.01


@pytest.mark.parametrize("dts, errors, text", [
    (DTS[:2], [1e-3, 5e-4], "at least 3"),
    (DTS[:3], [1e-3, 0.0, 2e-4], "> 0"),
    (DTS[:3], [1e-3, -1e-4, 2e-4], "> 0"),
    ([1e-4, -1e-4, 2e-4], [1e-3, 1e-4, 2e-4], "> 0"),
    ([1e-4, 1e-4, 1e-4], [1e-3, 1e-4, 2e-4], "two different"),
])
def test_convergence_refuses_unfittable_input(dts, errors, text):
    with pytest.raises(ValueError, match=text) as info:
        m.convergence_order(dts, errors)
    assert isinstance(info.value, ContractError)


def test_tables_use_only_known_metric_names():
    with pytest.raises(ContractError, match="metric names"):
        m.metric_table({"trace_rms": 1.0})
