"""NeuroML2 out: a specification as an ``iafRefCell`` (``iafCell`` when ``t_ref = 0``) with libNeuroML.

The cell is written in a network of one population, validated by libNeuroML and against the NeuroML2 XML
schema it ships, atomically. Every value is written in SI with every digit (``repr``), and
``leakConductance`` and ``C`` are chosen among the floats next to ``1/R`` and ``tau_m/R`` so that reading
(``R = 1/g_L``, ``tau_m = R C``, :func:`models.spec.membrane`) gives back ``R`` and ``tau_m`` bit for bit:
the file reads back to the same specification (:mod:`models.formats.neuroml_`). Without leak,
``leakConductance = 0`` (``C dv/dt = iSyn``) with ``leakReversal = reset`` (unused).

Refused, one line naming the field: a synaptic current, noise, reset by subtraction (an iaf cell holds
none of them), and ``V_init != V_reset`` (NeuroML's iaf cells start at ``reset``) unless the choice
``drop`` names ``V_init`` (then a one-line warning).
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

from lxml import etree

from ..errors import ContractError, InputFileError, UserInputError
from ..spec import LIFSpec
from ..units import NOISE_DENSITY, TIME, VOLTAGE, format_quantity
from ..files import replacing

#: fields the choice ``drop`` may leave out
DROPPABLE = ("V_init",)


def write(spec: LIFSpec, path: Path, choices: dict) -> list[str]:
    """Write ``spec`` as a NeuroML2 document (``iafRefCell``, or ``iafCell`` when ``t_ref = 0``) in a
    network of one population, validated against the NeuroML2 schema, atomically; returns warnings."""
    path = Path(path)
    if path.is_dir() or not path.parent.is_dir():
        raise InputFileError("", "expected a file path in an existing directory", source=str(path))
    warnings = _writable(spec, choices)
    cell_id = _nml_id(spec.name)
    if cell_id != spec.name:
        warnings.append(f"name {spec.name!r} written as the NeuroML id {cell_id!r} (letters, digits and _)")
    document = _document(spec, cell_id)
    from neuroml.writers import NeuroMLWriter
    with replacing(path, ".nml") as tmp:
        NeuroMLWriter.write(document, tmp)
        _validate(tmp)
    return warnings


def _writable(spec: LIFSpec, choices: dict) -> list[str]:
    """Refuse what an iafCell/iafRefCell cannot hold; the warnings of what ``drop`` leaves out."""
    drop = choices.get("drop", ())
    drop = tuple(d.strip() for d in drop.split(",")) if isinstance(drop, str) else tuple(drop)
    for key in drop:
        if key not in DROPPABLE:
            raise UserInputError("drop", f"expected fields among: {', '.join(DROPPABLE)}", key)
    refused = {"tau_syn": (spec.tau_syn, TIME, "NeuroML attaches synapses in a network, not to an iaf cell"),
               "sigma": (spec.sigma or None, NOISE_DENSITY, "NeuroML's iaf cells have no noise current")}
    for key, (value, kind, why) in refused.items():
        if value is not None:
            raise UserInputError(f"neuron.{key}", f"cannot be written as NeuroML2: {why}",
                                 format_quantity(value, kind))
    if spec.reset != "value":
        raise UserInputError("neuron.reset", "cannot be written as NeuroML2: its iaf cells reset to a value, "
                             "never by subtraction", spec.reset)
    if spec.V_init == spec.V_reset:
        return []
    value = format_quantity(spec.V_init, VOLTAGE)
    why = f"NeuroML's iaf cells start at reset ({format_quantity(spec.V_reset, VOLTAGE)})"
    if "V_init" not in drop:
        raise UserInputError("neuron.V_init", f"cannot be written as NeuroML2: {why}; --drop V_init writes the "
                             "cell without it", value)
    return [f"V_init = {value} not written: {why}"]


def _document(spec: LIFSpec, cell_id: str):
    import neuroml

    g_L, C = (0.0, spec.C) if not spec.leak else _membrane(spec.tau_m, spec.R)
    E_L = spec.E_L if spec.leak else spec.V_reset
    values = dict(id=cell_id, C=_q(C, "F"), leak_conductance=_q(g_L, "S"), leak_reversal=_q(E_L, "V"),
                  thresh=_q(spec.V_th, "V"), reset=_q(spec.V_reset, "V"), notes=spec.description or None)
    if spec.t_ref > 0:
        cell, listed = neuroml.IafRefCell(refract=_q(spec.t_ref, "s"), **values), "iaf_ref_cells"
    else:
        cell, listed = neuroml.IafCell(**values), "iaf_cells"
    population = neuroml.Population(id=f"pop_{cell_id}", component=cell_id, size=1)
    network = neuroml.Network(id=f"net_{cell_id}", populations=[population])
    return neuroml.NeuroMLDocument(id=cell_id, networks=[network], **{listed: [cell]})


def _membrane(tau_m: float, R: float) -> tuple[float, float]:
    """(g_L, C) whose reading (``R = 1/g_L``, ``tau_m = R C``, :func:`models.spec.membrane`) gives back
    ``R`` and ``tau_m`` bit for bit where a float within 8 ulps does so (else the nearest: a few ulps)."""
    g_L = _preimage(1.0 / R, lambda g: 1.0 / g, R)
    R_read = 1.0 / g_L
    return g_L, _preimage(tau_m / R_read, lambda c: R_read * c, tau_m)


def _preimage(x: float, f, target: float, ulps: int = 8) -> float:
    candidates = [x]
    up = down = x
    for _ in range(ulps):
        up, down = math.nextafter(up, math.inf), math.nextafter(down, -math.inf)
        candidates += [up, down]
    return next((c for c in candidates if f(c) == target), x)


def _q(value: float, unit: str) -> str:
    """An SI float as a NeuroML quantity that reads back to the same float (``repr`` keeps every bit)."""
    return f"{float(value)!r}{unit}"


def _nml_id(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_]", "_", name.strip()) or "cell"
    return text if re.match(r"[A-Za-z_]", text) else f"_{text}"


def _validate(path: str) -> None:
    """libNeuroML's validation (the NeuroML2 patterns and required attributes) and the NeuroML2 XML
    schema shipped with it; a failure is a bug of the writer (ContractError)."""
    import neuroml
    from neuroml.utils import validate_neuroml2

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            validate_neuroml2(path)
        schema = Path(neuroml.__file__).parent / "nml" / f"NeuroML_{neuroml.current_neuroml_version}.xsd"
        etree.XMLSchema(etree.parse(str(schema))).assertValid(etree.parse(path))
    except (ValueError, etree.DocumentInvalid) as exc:
        raise ContractError("neuroml", "the written document is not valid NeuroML2", str(exc)[:200]) from None
