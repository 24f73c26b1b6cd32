"""The variant studies (PSP, noise statistics, reset) are jobs for the harness's executor: every run goes
through ``comparisons.execution.Executor`` in batches, a refusal at run time moves on to the next candidate
cell, and an isolated run gives the rows of a run in this process."""

from __future__ import annotations

import numpy as np

from comparisons import execution, variants
from models.errors import NotRepresentable
from models.spec import LIFSpec

DT = 1e-4


def synaptic(t_ref=2e-3):
    return LIFSpec(name="syn", tau_m=0.02, E_L=-0.07, V_th=-0.05, V_reset=-0.065, R=1e8, t_ref=t_ref,
                   tau_syn=5e-3)


class Spy(execution.Executor):
    """A real executor that keeps the jobs of each batch it runs."""

    def __init__(self, timeout=None):
        super().__init__(timeout)
        self.batches = []

    def run(self, batch, together=False):
        self.batches.append([(job.backend, job.label, job.spec) for job in batch])
        return super().run(batch, together)


def test_the_psp_study_runs_its_backends_as_one_batch_of_jobs():
    spy = Spy()
    out = variants.psp_comparison(synaptic(), ["reference", "brian2"], DT, executor=spy)
    assert [[(b, label) for b, label, _ in batch] for batch in spy.batches] == [[("reference", "psp"),
                                                                                ("brian2", "psp")]]
    assert {r.backend for r in out.rows if r.metric == "psp_max_abs_error"} == {"reference", "brian2"}
    assert all(r.passed for r in out.rows if r.is_verdict)


def test_the_reset_study_runs_the_subtractive_cells_then_their_reset_to_value():
    spy = Spy()
    cell = LIFSpec(name="sub", tau_m=0.02, E_L=-0.07, V_th=-0.05, V_reset=-0.065, R=1e8, t_ref=0.0,
                   reset="subtract")
    variants.reset_comparison(cell, ["reference"], [4e-4, 2e-4], duration=0.2, executor=spy)
    assert [[spec.reset for _, _, spec in batch] for batch in spy.batches] == [["subtract"] * 2, ["value"] * 2]


def test_a_refusal_at_run_time_moves_on_to_the_next_candidate(monkeypatch):
    """A backend whose run raises NotRepresentable for the cell as given runs its t_ref = 0 substitute in
    the next batch, labelled as such, and the refusal's reason is kept if every candidate is refused."""
    from reference import backend as reference_

    real = reference_.run

    def picky(spec, drive, settings):
        if spec.t_ref > 0:
            raise NotRepresentable("reference", "no refractory period today")
        return real(spec, drive, settings)

    monkeypatch.setattr(reference_, "run", picky)
    spy = Spy()
    cell = synaptic()
    trial = variants.Trial("reference", cell, *_workload(), alternatives=tuple(variants.without_refractory(cell)))
    got, = variants.attempts([trial], spy)
    assert got.label == "t_ref=0" and got.spec.t_ref == 0.0 and got.result is not None
    assert [len(batch) for batch in spy.batches] == [1, 1]
    refused, = variants.attempts([variants.Trial("reference", cell, *_workload())], Spy())
    assert refused.result is None and refused.refused == "no refractory period today"


def test_isolated_variant_jobs_give_the_rows_of_jobs_run_here():
    here = variants.psp_comparison(synaptic(), ["reference", "nengo"], DT, executor=Spy())
    isolated = variants.psp_comparison(synaptic(), ["reference", "nengo"], DT, executor=Spy(timeout=120))
    assert [r.cells() for r in here.rows] == [r.cells() for r in isolated.rows]


def _workload():
    from models.drive import Drive
    from models.result import RunSettings
    return Drive.constant(np.zeros(1), DT, 200), RunSettings(DT, 200)
