"""The white-noise current: documented per-neuron streams, reproducibility of every stochastic run, and
statistics (free-membrane variance, rate, ISI distribution) within their confidence intervals -- never
traces compared sample by sample across simulators."""

import math

import numpy as np
import pytest
from scipy import stats

from comparisons import variants
from models import brian2_, nengo_, nest_, rockpool_, snntorch_
from reference import backend as reference_
from models.drive import Drive
from models.result import RunSettings
from models.spec import LIFSpec
from reference import closed_forms as cf
from reference.noise import NoiseStreams, normals

DT = 1e-4
SIGMA = 8e-12  # A s^0.5: free-membrane sd R sigma / sqrt(2 tau_m) = 4 mV for the textbook cell


def noisy(t_ref=0.002, sigma=SIGMA, seed=7, **changes):
    values = dict(name="noisy", tau_m=0.02, E_L=-0.07, V_th=-0.05, V_reset=-0.065, R=1e8, t_ref=t_ref,
                  sigma=sigma, noise_seed=seed)
    return LIFSpec(**{**values, **changes})


# ---- streams and reproducibility ---------------------------------------------------------------

def test_each_neuron_draws_from_its_documented_stream():
    """xi[n, k] is the k-th standard normal of PCG64(SeedSequence(seed, spawn_key=(n,))), block size and
    population size notwithstanding."""
    expected = np.stack([np.random.Generator(np.random.PCG64(np.random.SeedSequence(11, spawn_key=(n,))))
                         .standard_normal(300) for n in range(4)], axis=1)
    np.testing.assert_array_equal(normals(11, 4, 300), expected)
    streams = NoiseStreams(11, 6, block=64)
    np.testing.assert_array_equal(np.stack([streams.at(k) for k in range(300)])[:, :4], expected)


@pytest.mark.parametrize("method, noise", [("exact", "zoh"), ("euler", "euler-maruyama")])
def test_reference_adds_exactly_the_documented_increment(method, noise):
    """Far from threshold, V_k+1 minus the noiseless update of V_k is c xi[n, k], with c = (1 - a) R sigma/sqrt(dt)
    (held sample, exact) or R sigma sqrt(dt)/tau_m (Euler-Maruyama)."""
    spec = noisy(V_th=1.0)
    n, steps, current = 3, 400, 150e-12
    result = reference_.run(spec, Drive.constant([current] * n, DT, steps), RunSettings(DT, steps, method))
    v, v_inf = result.v, spec.E_L + spec.R * current
    if method == "exact":
        a = math.exp(-DT / spec.tau_m)
        drift, scale = v_inf + (v[:-1] - v_inf) * a, (1 - a) * spec.R * SIGMA / math.sqrt(DT)
    else:
        drift, scale = v[:-1] + DT / spec.tau_m * (v_inf - v[:-1]), spec.R * SIGMA * math.sqrt(DT) / spec.tau_m
    np.testing.assert_allclose((v[1:] - drift) / scale, normals(7, n, steps), rtol=0, atol=1e-9)
    assert result.extra["variant"]["noise"] == noise


def test_reference_noise_is_reproducible_per_neuron():
    spec, steps = noisy(), 2000
    settings = RunSettings(DT, steps)
    small = reference_.run(spec, Drive.constant([180e-12] * 3, DT, steps), settings)
    again = reference_.run(spec, Drive.constant([180e-12] * 3, DT, steps), settings)
    large = reference_.run(spec, Drive.constant([180e-12] * 5, DT, steps), settings)
    other = reference_.run(noisy(seed=8), Drive.constant([180e-12] * 3, DT, steps), settings)
    np.testing.assert_array_equal(small.v, again.v)
    np.testing.assert_array_equal(small.spike_time, again.spike_time)
    np.testing.assert_array_equal(small.v, large.v[:, :3])  # neuron n's noise does not depend on N
    assert not np.array_equal(small.v, other.v)


@pytest.mark.parametrize("module", [brian2_, nest_, nengo_, rockpool_], ids=lambda m: m.NAME)
def test_every_stochastic_backend_is_reproducible_from_its_seed(module):
    """Same seed: identical arrays; another seed: different ones; numpy's global generator untouched."""
    spec = noisy(t_ref=0.0 if module is rockpool_ else 0.002)
    drive, settings = Drive.constant([180e-12] * 20, DT, 500), RunSettings(DT, 500)
    np.random.seed(123)
    before = np.random.rand(3)
    np.random.seed(123)
    first, second = module.run(spec, drive, settings), module.run(spec, drive, settings)
    other = module.run(spec.replace(noise_seed=8), drive, settings)
    np.testing.assert_array_equal(np.random.rand(3), before)
    np.testing.assert_array_equal(first.v, second.v)
    np.testing.assert_array_equal(first.spike_time, second.spike_time)
    assert not np.array_equal(first.v, other.v)
    assert np.std(first.v[-1]) > 0  # the neurons receive different noise


def test_snntorch_refuses_noise():
    assert snntorch_.representable(noisy(t_ref=0.0), RunSettings(DT, 10)) == snntorch_.REASON_NOISE


def test_brian2_records_that_noise_forces_euler_maruyama():
    result = brian2_.run(noisy(), Drive.constant([0.0], DT, 10), RunSettings(DT, 10, "exact"))
    assert "refuses method='exact'" in result.meta.method and "Euler-Maruyama" in result.meta.method
    assert result.extra["variant"]["noise"] == "euler-maruyama"


# ---- statistics of the reference -----------------------------------------------------------------

@pytest.mark.parametrize("method, noise", [("exact", "zoh"), ("euler", "euler-maruyama")])
def test_free_membrane_variance_of_each_discretisation(method, noise):
    """dt = 1 ms, tau_m = 10 ms, 4000 neurons, 20 samples 2 tau_m apart after 5 tau_m: the variance equals
    the discretisation's within the 99 % Student-t interval of the 20 sample variances (~1.5 %). For
    Euler-Maruyama the continuous R^2 sigma^2/(2 tau_m) lies outside it: the inflation 1/(1 - dt/(2 tau_m))
    = 1.053 is resolved."""
    dt = 1e-3
    spec = noisy(tau_m=0.01, V_th=1.0)
    result = variants.noise_comparison(spec, ["reference"], dt, method, current=150e-12, n_neurons=10,
                                       duration=0.01, n_free=4000)
    table = result.tables["noise_free_variance"].iloc[0]
    assert table.noise == noise
    assert abs(table.variance_V2 - table.predicted_V2) <= table.ci99_V2 < 0.02 * table.predicted_V2
    expected = cf.free_variance_euler(spec, dt) if method == "euler" else cf.free_variance_zoh(spec, dt)
    # the transient factor 1 - c^(2k) at the first sample (5 tau_m) differs from 1 by < e^-10 = 4.5e-5
    assert table.predicted_V2 == pytest.approx(expected, rel=1e-4)
    if method == "euler":
        assert abs(table.variance_V2 - cf.free_variance(spec)) > table.ci99_V2


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_rate_is_the_grid_corrected_siegert_rate(method):
    """2000 neurons for 2 s at dt = 0.2 ms around 10 Hz: the mean rate is Siegert's rate of the sampled
    chain with the threshold raised by 0.5826 q, within the 99 % interval of the per-neuron rates plus one
    step per ISI; the uncorrected (continuous) Siegert rate lies outside: grid-checked thresholds miss
    excursions, an O(sqrt(dt)) bias."""
    dt = 2e-4
    result = variants.noise_comparison(noisy(), ["reference"], dt, method, n_neurons=2000, duration=2.0,
                                       n_free=50)
    table = result.tables["noise_rate"].iloc[0]
    df = result.metrics
    judged = df[df.passed.notna()]
    assert (judged.passed.eq(True)).all(), judged.to_string()
    assert abs(table.rate_hz - table.predicted_hz) <= table.ci99_hz + table.predicted_hz ** 2 * dt / (
        1 - table.predicted_hz * dt)
    assert abs(table.rate_hz - table.siegert_hz) > 2 * table.ci99_hz
    assert table.n_neurons == 2000 and table.noise_seed == 7
    assert 8 < table.rate_hz < 12


def test_isi_test_detects_a_wrong_noise_amplitude():
    """The KS verdict has power: 20 % more noise moves the ISI distribution beyond the 1 % critical D."""
    dt, n, steps = 2e-4, 400, 10000
    drive, settings = Drive.constant([152e-12] * n, dt, steps), RunSettings(dt, steps, record_v=False)
    a = variants.pooled_isis(reference_.run(noisy(), drive, settings), 0.2)
    b = variants.pooled_isis(reference_.run(noisy(sigma=1.2 * SIGMA, seed=9), drive, settings), 0.2)
    c = variants.pooled_isis(reference_.run(noisy(seed=9), drive, settings), 0.2)
    critical = variants.KS_C * math.sqrt((a.size + b.size) / (a.size * b.size))
    assert stats.ks_2samp(a, b).statistic > critical
    assert stats.ks_2samp(a, c).statistic <= variants.KS_C * math.sqrt((a.size + c.size) / (a.size * c.size))


# ---- every backend, statistically ------------------------------------------------------------------

def test_backends_agree_statistically():
    """Rate vs the grid-corrected Siegert rate of each backend's discretisation, free-membrane variance, and
    the pooled ISIs against the reference with the same discretisation (KS at 1 %): every verdict passes;
    snnTorch refuses noise, Rockpool runs the cell without refractory period."""
    names = ["reference", "brian2", "nest", "nengo", "rockpool", "snntorch"]
    result = variants.noise_comparison(noisy(), names, 2e-4, "exact", n_neurons=400, duration=2.0, n_free=300)
    df = result.metrics
    judged = df[df.passed.notna()]
    assert (judged.passed.eq(True)).all(), judged[judged.passed.ne(True)].to_string()
    rates = result.tables["noise_rate"].set_index("backend")
    assert set(rates.index) == {"reference", "brian2", "nest", "nengo", "rockpool"}
    assert rates.loc["brian2", "noise"] == "euler-maruyama"
    assert (rates.drop("brian2").noise == "zoh").all() and rates.loc["rockpool", "label"] == "t_ref=0"
    ks = df[df.metric == "isi_ks_statistic"]
    assert set(ks.backend) == {"brian2", "nest", "nengo", "rockpool"}
    assert set(ks[ks.backend == "brian2"].reference) == {"reference (euler)"}
    assert snntorch_.REASON_NOISE in result.refused["noise: snntorch"]
    assert set(df[df.metric == "free_variance_error"].backend) == set(rates.index)
