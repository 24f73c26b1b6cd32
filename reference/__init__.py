"""The reference LIF implementation and the closed forms it is tested against."""

from . import closed_forms
from .conventions import TUTORIAL, Conventions, reference_conventions
from .engine import simulate

__all__ = ["closed_forms", "Conventions", "reference_conventions", "TUTORIAL", "simulate"]
