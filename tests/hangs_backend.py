"""Adapter module for broken_backends.Hangs."""
from broken_backends import Hangs as _B

NAME, LIBRARY, version, representable, run = _B.NAME, _B.LIBRARY, _B.version, _B.representable, _B.run
