"""The LIF specification and its realisations in simulators (one ``*_`` module per backend)."""

__version__ = "0.1.0"
