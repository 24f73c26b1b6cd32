"""Performance benchmark of the reference and the backends (``python -m benchmarks --out DIR``)."""
