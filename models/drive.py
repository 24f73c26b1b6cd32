"""The sampled input current that every backend receives, identical bit for bit.

Sampling convention (zero-order hold): sample ``k`` is the current on the interval ``(t_k, t_k+1]``,
``t_k = k dt``. Neuron ``n`` receives ``I[k, n] = waveform[k, n or 0] * scale[n]``: one shared waveform
scaled per neuron (an f-I sweep is a population of N neurons with ``waveform = 1`` and ``scale`` the
currents), or one waveform per neuron. Nothing of size steps x neurons is ever allocated for a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Drive:
    """Input currents for N neurons on a grid of ``n_steps`` intervals of ``dt``.

    Attributes
    ----------
    dt : float
        Step (s).
    waveform : ndarray, shape (n_steps, 1) or (n_steps, N)
        Current samples (A) before scaling.
    scale : ndarray, shape (N,)
        Dimensionless per-neuron factor.
    """

    dt: float
    waveform: np.ndarray
    scale: np.ndarray

    def __post_init__(self):
        waveform = np.asarray(self.waveform, dtype=float)
        if waveform.ndim == 1:
            waveform = waveform[:, None]
        scale = np.atleast_1d(np.asarray(self.scale, dtype=float))
        if waveform.ndim != 2 or waveform.shape[1] not in (1, scale.size):
            raise ValueError(f"Drive: waveform shape {waveform.shape} does not fit {scale.size} neurons")
        waveform.setflags(write=False)
        scale.setflags(write=False)
        object.__setattr__(self, "waveform", waveform)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def constant(cls, currents, dt: float, n_steps: int) -> "Drive":
        """One constant current per neuron (an f-I sweep): a population, not one run per point."""
        return cls(dt, np.ones((n_steps, 1)), np.asarray(currents, dtype=float))

    @classmethod
    def shared(cls, samples, dt: float, n_neurons: int = 1) -> "Drive":
        """The same current samples (A) for every one of ``n_neurons`` neurons."""
        return cls(dt, np.asarray(samples, dtype=float), np.ones(n_neurons))

    @property
    def n_steps(self) -> int:
        return self.waveform.shape[0]

    @property
    def n_neurons(self) -> int:
        return self.scale.size

    @property
    def duration(self) -> float:
        return self.n_steps * self.dt

    @property
    def is_constant(self) -> bool:
        """True when every neuron's current is the same on every interval (one shared waveform, one value):
        an f-I sweep or a convergence run, which a simulator can take as a per-neuron parameter."""
        return self.waveform.shape[1] == 1 and bool(np.all(self.waveform == self.waveform[0, 0]))

    def at(self, k: int) -> np.ndarray:
        """Currents (A) of every neuron on interval k, shape (N,)."""
        return self.waveform[k] * self.scale

    def matrix(self) -> np.ndarray:
        """All currents, shape (n_steps, N). Only for small drives (plots, tests)."""
        return self.waveform * self.scale

    def column(self, n: int) -> np.ndarray:
        """Currents (A) of neuron n on every interval, shape (n_steps,)."""
        return self.waveform[:, n if self.waveform.shape[1] > 1 else 0] * self.scale[n]
