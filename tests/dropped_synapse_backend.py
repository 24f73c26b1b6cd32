"""A deliberately wrong backend for the variant tests: the reference that drops the synaptic current (it
runs the cell without ``tau_syn`` and its input spikes)."""

from reference import backend as reference_

NAME = "dropped_synapse"
LIBRARY = None


def version():
    return "test"


def representable(spec, settings):
    return None


def run(spec, drive, settings):
    return reference_.run(spec.replace(tau_syn=None, spike_input=None), drive, settings)
