"""A deliberately wrong backend for the convergence tests: the reference, except that its run of the
convergence study at the finest dt (0.1 ms, the study's default current 1.5 x rheobase, one neuron) keeps
only its first spike: no interval at that dt."""

import dataclasses

import numpy as np

from reference import backend as reference_
from reference import closed_forms as cf

NAME = "one_spike"
LIBRARY = None


def version():
    return "test"


def representable(spec, settings):
    return None


def run(spec, drive, settings):
    result = reference_.run(spec, drive, settings)
    study = drive.n_neurons == 1 and np.all(drive.column(0) == float(cf.relative_current(spec, 1.5)))
    if not (study and drive.dt < 1.5e-4):
        return result
    first = np.arange(result.spike_time.size) < 1
    return dataclasses.replace(result, spike_neuron=result.spike_neuron[first], spike_time=result.spike_time[first])
