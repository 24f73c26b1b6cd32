"""A deliberately wrong backend for the variant tests: the reference with every input spike delivered one
step late (each given time moved by dt, so that it arrives at the next grid point)."""

from reference import backend as reference_
from models.spec import SpikeInput

NAME = "late_input"
LIBRARY = None


def version():
    return "test"


def representable(spec, settings):
    if spec.spike_input is not None and spec.spike_input.rate is not None:
        return "late_input shifts given spike times only"
    return None


def run(spec, drive, settings):
    if spec.spike_input is not None:
        late = tuple(t + settings.dt for t in spec.spike_input.times)
        spec = spec.replace(spike_input=SpikeInput(spec.spike_input.weight, late))
    return reference_.run(spec, drive, settings)
