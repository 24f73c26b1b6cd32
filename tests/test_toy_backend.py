"""Adding a simulator is one module and one registry line (tests/toy_backend.py wraps real Brian2): the
harness runs it, its own declared conventions are its contract, its timing class follows from them, and
a one-step refractory error in it fails its contract verdicts."""

from __future__ import annotations

import tomllib

import pytest

from comparisons import backends, contract
from comparisons.config import comparison_from_document
from comparisons.harness import run_comparison
from models.files import resolve
from models.result import RunSettings

import toy_backend

from conftest import small_sections


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "toy", ("toy_backend", "brian2"))   # the one registry line
    return toy_backend


def comparison():
    text = resolve("textbook").read_text() + small_sections(backends=["reference", "toy"])
    return comparison_from_document(tomllib.loads(text))


def test_the_adapter_declares_its_contract(toy):
    twin = contract.twin_of("toy", RunSettings(1e-4, 10))
    assert twin.name == "toy" and twin.conventions.spike_stamp == "start"
    assert twin.conventions.refractory == "timestep"


def test_a_new_simulator_runs_and_meets_its_declared_contract(toy):
    outcome = run_comparison(comparison())
    rows = [r for r in outcome.metric_rows if r.backend == "toy"]
    contracts = [r for r in rows if r.metric == "contract_spike_steps"]
    assert {r.stimulus for r in contracts} == {"step_supra", "step_sub", "fi_curve", "convergence"}
    assert all(r.reference == "twin:toy" and r.passed for r in contracts)
    assert outcome.exit_status() == 0 and "toy" in outcome.metadata


def test_its_contract_catches_a_refractory_period_one_step_long(toy, monkeypatch):
    monkeypatch.setattr(toy, "LONGER_REFRACTORY", 1)
    outcome = run_comparison(comparison())
    failed = {(r.stimulus, r.metric) for r in outcome.metric_rows if r.backend == "toy" and r.passed is False}
    assert ("step_supra", "contract_spike_steps") in failed
