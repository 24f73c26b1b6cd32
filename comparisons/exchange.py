"""Cells from exchange files (NIR, NeuroML): which cell of a file is run, and a comparison file naming one.

A file whose ending is in :data:`models.formats.READERS` is a comparison of its own: ``run cell.nir``
reads it with its format module and runs the cell with every default of a comparison file. A comparison
file may instead name the file for its cell, so that stimuli and settings can be added::

    [neuron]
    from = "cell.nir"             # relative to this file
    time_unit = "1 ms"            # the format's mapping choices (models/formats/<format>_.py: CHOICES)
    cell = 0                      # which distinct cell, when the file holds several
    t_ref = "2 ms"                # any [neuron] key given here replaces the file's (NIR has no t_ref)

**Several cells.** A file may hold several distinct cells (a NIR node with vectors of parameters, several
nodes). ``run FILE --out DIR`` without a ``cell`` choice validates each of them (:func:`several_cells`; one
report per cell and a dashboard, :mod:`comparisons.cells`), FILE being the exchange file or a comparison
file naming it in ``[neuron] from``, up to :data:`MAX_CELLS`; beyond that the file
is refused with one line (one report per cell is not how to read 10^4 distinct neurons: the ``sweep``
command is). Everywhere else one run is one report of one cell -- :func:`import_cell`, the API's ``load``
and ``compare``, a comparison file's ``[neuron] from`` -- and a file with several cells is refused there
with one line listing them, since silently running the first would validate a cell the user did not pick;
each is run by its index (``--map cell=K``, ``cell = K``, ``load(..., choices={"cell": K})``).

The choices reach the format module from the comparison file, the command line (``--map KEY=VALUE``,
repeatable; these win) and the API (``choices={...}``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from models.errors import UserInputError
from models.files import check_keys, read_toml
from models.formats import READERS, ImportedCell, Provenance, format_module
from models.loading import NEURON_OPTIONS
from models.spec import NEURON_FIELDS

#: Choices of every format, besides its module's ``CHOICES``: the index of the cell to run.
COMMON_CHOICES = ("cell",)

#: Most distinct cells ``run FILE`` validates one report each; a file with more is refused (a report
#: per cell stops being readable long before; the ``sweep`` command maps a parameter space instead).
MAX_CELLS = 64


def allowed_choices(module) -> tuple[str, ...]:
    return tuple(getattr(module, "CHOICES", {})) + COMMON_CHOICES


def import_cell(path: Path, choices: dict) -> ImportedCell:
    """The cell of the exchange file ``path`` that ``choices`` picks (see the module docstring)."""
    cells, index = _read(path, choices)
    if index is None and len(cells) > 1:
        listing = "; ".join(f"{k}: {c.provenance.node}" for k, c in enumerate(cells[:6]))
        more = f"; ... ({len(cells)} in all)" if len(cells) > 6 else ""
        raise UserInputError("cell", f"the file holds {len(cells)} distinct cells ({listing}{more}): choose one "
                             "with cell = K (--map cell=K; the API: choices={\"cell\": K}), or validate each "
                             "with run FILE --out DIR", None, source=str(path))
    return cells[index or 0]


def import_cells(path: Path, choices: dict) -> list[ImportedCell]:
    """Every cell of the exchange file ``path`` that ``choices`` picks: the chosen one (``cell = K``) or,
    without a choice, all of them, at most :data:`MAX_CELLS` (more is refused with one line)."""
    cells, index = _read(path, choices)
    if index is not None:
        return [cells[index]]
    if len(cells) > MAX_CELLS:
        raise UserInputError("cell", f"expected at most {MAX_CELLS} distinct cells to validate one report each; "
                             "choose one with --map cell=K, or map many distinct neurons with the sweep command "
                             "(python -m comparisons sweep)", f"{len(cells)} distinct cells", source=str(path))
    return cells


def several_cells(path: Path, choices: dict) -> list[ImportedCell]:
    """The cells ``run`` validates one report each (:mod:`comparisons.cells`): those of an exchange file
    holding several distinct cells, none chosen -- the file given itself, or the one a comparison file's
    ``[neuron] from`` names (its mapping choices read from that table); [] for anything else."""
    path = Path(path)
    if "cell" in choices:
        return []
    if format_module(path) is None:
        neuron = read_toml(path).get("neuron") if path.suffix.lower() == ".toml" else None
        if not isinstance(neuron, dict) or not isinstance(neuron.get("from"), str) or "cell" in neuron:
            return []
        target = path.parent / neuron["from"]
        module = format_module(target)
        if module is None:
            return []
        file_choices = {k: v for k, v in neuron.items() if k in allowed_choices(module)}
        path, choices = target, {**file_choices, **choices}
    cells = import_cells(path, choices)
    return cells if len(cells) > 1 else []


def _read(path: Path, choices: dict) -> tuple[list[ImportedCell], int | None]:
    """Every cell of the file and the index chosen (None: no choice; checked against the cells)."""
    module = format_module(path)
    choices = dict(choices)
    try:
        check_keys(choices, allowed_choices(module), "")
        index = _index(choices.pop("cell", None))
    except UserInputError as exc:
        raise exc.with_source("command line") from None
    cells = module.read(Path(path), choices)
    if index is not None and not index < len(cells):
        raise UserInputError("cell", f"expected a cell index from 0 to {len(cells) - 1}", index, source=str(path))
    return cells, index


def _index(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserInputError("cell", "expected a cell index (an integer from 0)", value)
    return value


def document_of(doc: dict, path: Path, choices: dict | None) -> tuple[dict, Provenance | None]:
    """A parsed comparison file's document with a ``[neuron] from = ...`` table replaced by the cell it
    names (and its provenance); the document unchanged (and None) otherwise."""
    neuron = doc.get("neuron")
    if not isinstance(neuron, dict) or "from" not in neuron:
        if choices:
            raise UserInputError("--map", "applies to an exchange file (" + ", ".join(READERS) + ") or a [neuron] "
                                 "table with from = \"<file>\"", ", ".join(choices), source="command line")
        return doc, None
    given = neuron["from"]
    target = Path(path).parent / given if isinstance(given, str) else None
    module = format_module(target) if target is not None else None
    if module is None:
        raise UserInputError("neuron.from", "expected the name of an exchange file ending in "
                             + " or ".join(READERS), repr(given))
    overrides = {k: v for k, v in neuron.items() if k in NEURON_FIELDS or k in NEURON_OPTIONS}
    file_choices = {k: v for k, v in neuron.items() if k != "from" and k not in overrides}
    check_keys(file_choices, allowed_choices(module) + tuple(NEURON_FIELDS) + NEURON_OPTIONS, "neuron")
    cell = import_cell(target, {**file_choices, **(choices or {})})
    table = {**cell.document["neuron"], **overrides}
    if table.get("leak") is False:  # a non-leaky cell keeps no leak key given beside it
        table = {k: v for k, v in table.items() if k not in ("tau_m", "R", "g_L", "E_L")}
    notes = tuple(f"neuron.{k} = {v} given in {Path(path).name}, not taken from the file" for k, v in overrides.items())
    provenance = dataclasses.replace(cell.provenance, notes=cell.provenance.notes + notes)
    out = {**doc, "neuron": table}
    out.setdefault("description", cell.document.get("description", ""))
    return out, provenance
