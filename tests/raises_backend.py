"""Adapter module for broken_backends.Raises (the registry maps names to modules)."""
from broken_backends import Raises as _B

NAME, LIBRARY, version, representable, run = _B.NAME, _B.LIBRARY, _B.version, _B.representable, _B.run
