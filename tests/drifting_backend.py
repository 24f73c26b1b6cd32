"""A backend whose release moved one spike, for the diff and baseline tests: the reference, with the
second spike of neuron 0 moved by ``LIFX_DRIFT_STEPS`` steps (read at each run; 0 or unset: the
reference exactly). Registered under the name ``drifting`` by the tests."""

import dataclasses
import os

import numpy as np

from reference import backend as reference_

NAME = "drifting"
LIBRARY = None


def version():
    return os.environ.get("LIFX_DRIFT_VERSION", "1.0")


def representable(spec, settings):
    return None


def run(spec, drive, settings):
    result = reference_.run(spec, drive, settings)
    result = dataclasses.replace(result, meta=dataclasses.replace(result.meta, backend=NAME, version=version()))
    steps = int(os.environ.get("LIFX_DRIFT_STEPS", "0"))
    first = np.flatnonzero(result.spike_neuron == 0)
    if steps and first.size >= 2:
        times = result.spike_time.copy()
        times[first[1]] += steps * settings.dt
        result = dataclasses.replace(result, spike_time=times)
    return result
