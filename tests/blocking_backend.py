"""A backend whose result (64 MB) cannot fit in a pipe: it says it is ready (``blocks.ready`` in
$LIFX_BLOCK_DIR), waits for ``blocks.go`` and returns, so that its child blocks writing the result while
the test holds the parent stopped (tests/test_hostile.py)."""
import os
import time
from pathlib import Path

import numpy as np

NAME, LIBRARY = "blocks", None


def version():
    return "test"


def representable(spec, settings):
    return None


def run(spec, drive, settings):
    directory = Path(os.environ["LIFX_BLOCK_DIR"])
    (directory / "blocks.ready").touch()
    while not (directory / "blocks.go").exists():
        time.sleep(0.01)
    return np.zeros(8_000_000)
