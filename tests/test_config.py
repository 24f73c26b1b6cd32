"""Defaults of a comparison file that are computed rather than fixed: the convergence study's length."""

import math
import tomllib

import pytest

from comparisons.config import (CONVERGENCE_ISIS, FALLBACK_CONVERGENCE_DURATION, comparison_from_document,
                                load_comparison)
from models.files import resolve
from reference import closed_forms as cf


def with_sections(preset: str, text: str):
    return comparison_from_document(tomllib.loads(resolve(preset).read_text() + text))


def textbook_times(current):
    """First-spike latency and ISI of the textbook cell from its parameters (tau 20 ms, E_L -70 mV,
    V_th -50 mV, V_reset -65 mV, R 100 MOhm, t_ref 2 ms), written out here: T = tau ln((V_inf - V0) /
    (V_inf - V_th)) from V0 = E_L for the first spike and from V_reset for every later one."""
    v_inf = -70e-3 + 100e6 * current
    latency = 20e-3 * math.log((v_inf + 70e-3) / (v_inf + 50e-3))
    return latency, 2e-3 + 20e-3 * math.log((v_inf + 65e-3) / (v_inf + 50e-3))


def test_default_convergence_covers_the_first_spike_and_ten_intervals_on_every_grid():
    c = load_comparison("textbook")
    conv = c.convergence
    assert conv.current == pytest.approx(1.5 * 200e-12)
    latency, isi = textbook_times(conv.current)
    coarse = 0.4e-3
    assert conv.duration == pytest.approx(math.ceil((latency + CONVERGENCE_ISIS * isi) / coarse) * coarse, abs=1e-12)
    for dt in conv.dts:
        assert abs(conv.duration / dt - round(conv.duration / dt)) < 1e-9
    # the closed form fires the first spike and ten more within it, and the eleventh interval is cut off
    assert cf.spike_times(c.spec, conv.current, conv.duration).size == CONVERGENCE_ISIS + 1


def test_default_convergence_duration_lies_on_every_grid_when_the_coarsest_is_not_a_multiple():
    """0.25 ms is not a multiple of 0.2 ms: the duration is a multiple of 1 ms."""
    c = with_sections("textbook", '\n[convergence]\ndt = ["0.25 ms", "0.2 ms", "0.1 ms"]\n')
    latency, isi = textbook_times(c.convergence.current)
    assert c.convergence.duration == pytest.approx(
        math.ceil((latency + CONVERGENCE_ISIS * isi) / 1e-3) * 1e-3, abs=1e-12)


def test_a_current_that_does_not_fire_keeps_the_fixed_default():
    c = with_sections("textbook", '\n[convergence]\ncurrent = "150 pA"\n')
    assert c.convergence.duration == FALLBACK_CONVERGENCE_DURATION


def test_a_given_convergence_duration_is_used_as_given():
    c = with_sections("textbook", '\n[convergence]\nduration = "320 ms"\n')
    assert c.convergence.duration == pytest.approx(0.32)
