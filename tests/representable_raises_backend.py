"""A backend whose capability check raises instead of answering."""
from broken_backends import Raises as _B

NAME, LIBRARY, version, run = "representable_raises", None, _B.version, _B.run


def representable(spec, settings):
    raise ValueError("simulated: representable() cannot decide")
