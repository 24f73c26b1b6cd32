"""Several cells, each with its constant drive, run as one population: the sweep's tasks hand them to an
adapter's ``run_cells`` (:func:`comparisons.execution.runs.run_cells`). What qualifies, the population's
drive and per-neuron values, and its result cut back into one result per run; each adapter builds the
population its simulator takes (per-neuron parameters, one ensemble per shared constant, ...)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .drive import Drive
from .errors import NotRepresentable
from .result import Result
from .spec import one_population


@dataclass(frozen=True)
class Population:
    """The runs ``(specs[j], drives[j])`` as one drive of ``sum(sizes)`` neurons, run ``j``'s neurons next."""

    specs: list
    drives: list
    sizes: list
    drive: Drive

    def per_neuron(self, values) -> np.ndarray:
        """One value per run, repeated for each of its neurons."""
        return np.repeat(np.asarray(values), self.sizes)

    @property
    def bounds(self) -> np.ndarray:
        """Run ``j``'s neurons are ``bounds[j]`` to ``bounds[j + 1] - 1``."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    def split(self, whole: Result, metas: list, extras: list | None = None) -> list[Result]:
        """The population's result as one result per run, run ``j`` with ``metas[j]`` (and ``extras[j]``)."""
        b = self.bounds
        extras = extras or [None] * len(metas)
        return [whole.neurons(int(b[j]), int(b[j + 1]), metas[j], extras[j]) for j in range(len(metas))]


def population_of(runs: list, settings, representable, backend: str) -> Population | None:
    """The runs as one :class:`Population`, or ``None`` when they are not one (cells that differ in more
    than :data:`models.spec.PER_NEURON_FIELDS`, a variant cell, a drive that is not constant or on
    another grid): the caller then runs them one after the other.

    Raises
    ------
    NotRepresentable
        When ``representable(spec, settings)`` gives a reason for one of the cells.
    """
    specs = [spec for spec, _ in runs]
    drives = [drive for _, drive in runs]
    first = drives[0]
    if not (one_population(specs) and all(d.is_constant and d.dt == first.dt and d.n_steps == first.n_steps
                                          for d in drives)):
        return None
    for spec, drive in runs:
        settings.require_grid_of(drive)
        reason = representable(spec, settings)
        if reason is not None:
            raise NotRepresentable(backend, reason)
    drive = Drive.constant(np.concatenate([d.at(0) for d in drives]), first.dt, first.n_steps)
    return Population(specs, drives, [d.n_neurons for d in drives], drive)
