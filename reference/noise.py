"""White-noise current for the reference: one seeded stream per neuron and the two discretisations.

Model (SI; ``sigma`` in A s^0.5, ``W`` a standard Wiener process)::

    tau_m dV = (-(V - E_L) + R I) dt + R sigma dW

so that the charge delivered in a time ``T`` has standard deviation ``sigma sqrt(T)`` and the free
membrane has the variance ``R^2 sigma^2 / (2 tau_m)`` (the parametrisation of the Neuromatch tutorial's
``sig``, and of :class:`comparisons.stimuli.WhiteNoise`).

Streams. Neuron ``n`` of a run with ``noise_seed = s`` draws its standard normals ``xi[n, k]``
(``k`` = step index) from ``numpy.random.Generator(PCG64(SeedSequence(s, spawn_key=(n,))))``, in step
order, one per step whether or not the neuron is refractory. Its noise therefore depends only on
``(s, n, k)``: not on the number of neurons, the block size or what any other neuron does.

Discretisations over a step ``h`` (``a = exp(-h/tau_m)``); :func:`increment_scale` gives the factor of
``xi[n, k]`` added to ``V``:

``"exact"`` -- sampled white noise with zero-order hold
    The current sample ``sigma xi_k / sqrt(h)`` is held over ``(t_k, t_k+1]`` and integrated exactly, like
    every drive sample: ``V`` gains ``(1 - a) R sigma xi_k / sqrt(h)``. (What an exact integrator does with
    a noise current it is handed sample by sample: NEST's ``noise_generator``, Nengo's ``WhiteNoise``.)
``"euler"`` -- Euler--Maruyama
    ``V`` gains ``(R sigma / tau_m) sqrt(h) xi_k`` (Brian2's ``xi``, the Neuromatch tutorial's loop).

Their stationary free variances are in :mod:`reference.closed_forms` (:func:`free_variance_zoh`,
:func:`free_variance_euler`).
"""

from __future__ import annotations

import math

import numpy as np

from models.spec import LIFSpec

#: Values drawn per block across all neurons (32 MiB of float64): the block length in steps is this
#: divided by the number of neurons, at least :data:`MIN_BLOCK_STEPS`.
BLOCK_VALUES = 1 << 22
MIN_BLOCK_STEPS = 64


def neuron_stream(seed: int, n: int) -> np.random.Generator:
    """The generator of neuron ``n``'s standard normals for ``noise_seed = seed`` (see module docstring)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(int(n),))))


def increment_scale(spec: LIFSpec, dt: float, integrator: str) -> float:
    """Factor (V) of the standard normal ``xi_k`` added to ``V`` over one step of ``dt`` (s).

    ``"exact"``: ``-expm1(-dt/tau_m) R sigma / sqrt(dt)``; ``"euler"``: ``R sigma sqrt(dt) / tau_m``.
    """
    if integrator == "exact":
        return -math.expm1(-dt / spec.tau_m) * spec.R * spec.sigma / math.sqrt(dt)
    return spec.R * spec.sigma * math.sqrt(dt) / spec.tau_m


class NoiseStreams:
    """The standard normals ``xi[n, k]`` of ``n_neurons`` neurons, served step by step.

    Each neuron's stream (:func:`neuron_stream`) is drawn in blocks of ``block`` steps; :meth:`at`
    must be called with ``k = 0, 1, 2, ...`` in order.

    Parameters
    ----------
    seed : int
        The specification's ``noise_seed``.
    n_neurons : int
    block : int or None
        Steps per block (default: :data:`BLOCK_VALUES` / n_neurons, at least :data:`MIN_BLOCK_STEPS`).
    """

    def __init__(self, seed: int, n_neurons: int, block: int | None = None):
        self.streams = [neuron_stream(seed, n) for n in range(n_neurons)]
        self.block = block or max(MIN_BLOCK_STEPS, BLOCK_VALUES // max(n_neurons, 1))
        self.start = 0
        self.values = np.empty((0, n_neurons))

    def at(self, k: int) -> np.ndarray:
        """``xi[:, k]``, shape (n_neurons,)."""
        if k - self.start >= self.values.shape[0]:
            self.start = k
            self.values = np.stack([g.standard_normal(self.block) for g in self.streams], axis=1)
        return self.values[k - self.start]


def normals(seed: int, n_neurons: int, n_steps: int) -> np.ndarray:
    """All ``xi[n, k]`` at once, shape (n_steps, n_neurons) (for tests and small runs)."""
    return np.stack([neuron_stream(seed, n).standard_normal(n_steps) for n in range(n_neurons)], axis=1)
