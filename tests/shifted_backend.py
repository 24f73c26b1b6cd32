"""A deliberately wrong backend for the harness tests: the reference with the threshold 1 mV higher."""

from reference import backend as reference_

NAME = "shifted"
LIBRARY = None
SHIFT = 1e-3  # V


def version():
    return "test"


def representable(spec, settings):
    return None


def run(spec, drive, settings):
    return reference_.run(spec.replace(V_th=spec.V_th + SHIFT), drive, settings)
