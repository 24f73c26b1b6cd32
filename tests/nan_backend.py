"""Adapter module for broken_backends.ReturnsNaN."""
from broken_backends import ReturnsNaN as _B

NAME, LIBRARY, version, representable, run = _B.NAME, _B.LIBRARY, _B.version, _B.representable, _B.run
