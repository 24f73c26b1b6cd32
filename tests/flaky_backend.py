"""A backend that raises on its first run and then runs the reference: a sweep must retry the task once.

The first run creates the file named by ``LIFX_FLAKY_MARKER`` and raises; every later run (in any process)
finds the file and returns the reference's result."""

import os
from pathlib import Path

from reference import backend as reference_

NAME, LIBRARY = "flaky", None


def version():
    return "test"


def representable(spec, settings):
    return None


def run(spec, drive, settings):
    marker = Path(os.environ["LIFX_FLAKY_MARKER"])
    if not marker.exists():
        marker.write_text("raised once\n")
        raise RuntimeError("simulated crash on the first attempt")
    return reference_.run(spec, drive, settings)
