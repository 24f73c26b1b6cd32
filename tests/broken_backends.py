"""Backends that misbehave on purpose, for the isolation tests: one raises, one returns NaN, one hangs."""

import time

import numpy as np

from reference import backend as reference_
from models.result import Result

LIBRARY = None


def version():
    return "test"


def representable(spec, settings):
    return None


class Raises:
    NAME, LIBRARY = "raises", None
    version, representable = staticmethod(version), staticmethod(representable)

    @staticmethod
    def run(spec, drive, settings):
        raise RuntimeError("simulated crash inside the simulator")


class ReturnsNaN:
    NAME, LIBRARY = "nan", None
    version, representable = staticmethod(version), staticmethod(representable)

    @staticmethod
    def run(spec, drive, settings):
        good = reference_.run(spec, drive, settings)
        v = None if good.v is None else np.full_like(good.v, np.nan)
        return Result(good.t, v, good.spike_neuron, good.spike_time, good.n_neurons, good.meta)


class Hangs:
    NAME, LIBRARY = "hangs", None
    version, representable = staticmethod(version), staticmethod(representable)

    @staticmethod
    def run(spec, drive, settings):
        time.sleep(3600)
