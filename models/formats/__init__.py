"""Cells the user already has, in an exchange format: read into specification documents, written back.

A format module (``models/formats/<name>_.py``) exposes::

    SUFFIXES: tuple[str, ...]                      # file name endings it reads (".nir", ".nml")
    CHOICES: dict[str, tuple[object, str]]         # choice key -> (default, meaning); may be empty
    read(path: Path, choices: dict) -> list[ImportedCell]
    write(spec: LIFSpec, path: Path, choices: dict) -> list[str]   # returns one-line warnings

``read`` returns one :class:`ImportedCell` per distinct LIF-family cell the file holds, each as a
*document*: the same dictionary a TOML specification or comparison file parses to (``name``,
``description``, a ``[neuron]`` table of quantities written with their units, optionally ``stimulus``
tables), so an imported cell goes through exactly the validation a typed one does and nothing from the
file is evaluated. ``choices`` holds the user's explicit mapping choices (for NIR, the units of its
unitless numbers), each documented by the module with its default; the keys are checked against
``CHOICES`` before ``read`` is called, and ``cell`` (which of the returned cells to run) is handled by
:mod:`comparisons.exchange`, never passed on.

Every failure is an :class:`~models.errors.InputFileError` naming the file and the node or field.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path

#: file name ending -> the module that reads and writes it
READERS = {".nir": "models.formats.nir_", ".nml": "models.formats.neuroml_"}


@dataclass(frozen=True)
class Provenance:
    """Where an imported cell came from, recorded in the manifest and the report."""

    #: "nir", "neuroml", or the dialect of a TOML [neuron] table ("nest", "pynn")
    format: str
    #: the file as the user named it
    file: str
    #: sha256 of the file's bytes (hex)
    sha256: str
    #: the node (NIR) or component id (NeuroML) the cell was built from, or "" for the whole file
    node: str = ""
    #: (quantity, how it was mapped to SI), e.g. ("time", "1 NIR unit = 1 s (default; nir_time_unit)")
    mapping: tuple[tuple[str, str], ...] = ()
    #: what the format could not say and what was assumed instead, one sentence each
    notes: tuple[str, ...] = ()
    #: the cell's parameters as the file gave them: (name, value as written)
    original: tuple[tuple[str, str], ...] = ()
    #: the neurons of a population node this cell stands for, as index ranges ("0, 2-4"); "" when the
    #: node is not a population of several neurons
    neurons: str = ""

    def to_dict(self) -> dict:
        return {"format": self.format, "file": self.file, "sha256": self.sha256, "node": self.node,
                "neurons": self.neurons, "mapping": dict(self.mapping), "notes": list(self.notes),
                "original": dict(self.original)}


@dataclass(frozen=True)
class ImportedCell:
    """One cell read from an exchange file: a specification document and its provenance."""

    document: dict
    provenance: Provenance
    #: further notes for the user (one line each), e.g. a dropped parameter
    warnings: tuple[str, ...] = field(default=())


def index_ranges(indices) -> str:
    """Increasing indices as ranges: ``[0, 2, 3, 4, 7]`` -> ``"0, 2-4, 7"``."""
    parts, start, last = [], None, None
    for i in indices:
        if start is not None and i == last + 1:
            last = i
            continue
        if start is not None:
            parts.append(f"{start}" if start == last else f"{start}-{last}")
        start = last = int(i)
    if start is not None:
        parts.append(f"{start}" if start == last else f"{start}-{last}")
    return ", ".join(parts)


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def format_module(path: Path):
    """The format module reading ``path`` (by its name's ending), or None for TOML and unknown endings."""
    name = READERS.get(Path(path).suffix.lower())
    return importlib.import_module(name) if name else None
