"""Specification files: TOML in, :class:`~models.spec.LIFSpec` out, and back.

Format (every quantity a string with units; the ``[neuron]`` key names are a public contract)::

    name = "textbook"
    description = "where the numbers come from"
    [neuron]
    tau_m = "20 ms"        # or C and g_L, or g_L and tau_m (R = 1/g_L)
    E_L = "-70 mV"
    V_th = "-50 mV"
    V_reset = "-65 mV"
    R = "100 Mohm"
    t_ref = "2 ms"         # required: write "0 ms" for none
    V_init = "-70 mV"      # optional, defaults to E_L

A comparison file adds the sections in :data:`FILE_SECTIONS` handled by :mod:`comparisons.config`.
"""

from __future__ import annotations

from pathlib import Path

import tomli_w

from .errors import SpecificationError, UserInputError
from .files import check_keys, read_toml, require_table, resolve
from .spec import NEURON_FIELDS, LIFSpec, membrane
from .units import RESISTANCE, TIME, VOLTAGE, format_quantity, parse_quantity

#: Every top-level key a specification or comparison file may hold.
FILE_SECTIONS = ("name", "description", "neuron", "simulation", "stimulus", "fi_curve", "convergence",
                 "tolerances")
NEURON_REQUIRED = ("E_L", "V_th", "V_reset", "t_ref")


def load_spec(path_or_preset: str | Path) -> LIFSpec:
    """Load the specification from a file or a preset name (errors name the file)."""
    path = resolve(path_or_preset)
    doc = read_toml(path)
    try:
        check_keys(doc, FILE_SECTIONS, "")
        return spec_from_document(doc)
    except UserInputError as exc:
        raise exc.with_source(str(path)) from None


def spec_from_document(doc: dict) -> LIFSpec:
    """Build the specification from a parsed TOML document (its ``name``, ``description``, ``[neuron]``)."""
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecificationError("name", "expected a non-empty string", None if name is None else repr(name))
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise SpecificationError("description", "expected a string", repr(description))
    if "neuron" not in doc:
        raise SpecificationError("neuron", "is required but missing (a [neuron] table)")
    table = require_table(doc["neuron"], "neuron")
    check_keys(table, tuple(NEURON_FIELDS), "neuron", required=NEURON_REQUIRED)
    si = {key: parse_quantity(text, NEURON_FIELDS[key], f"neuron.{key}") for key, text in table.items()}
    try:
        tau_m, R = membrane(si.get("tau_m"), si.get("R"), si.get("C"), si.get("g_L"))
        return LIFSpec(name=name, description=description, tau_m=tau_m, R=R, E_L=si["E_L"],
                       V_th=si["V_th"], V_reset=si["V_reset"], t_ref=si["t_ref"], V_init=si.get("V_init"))
    except SpecificationError as exc:
        key = exc.field.removeprefix("neuron.")
        if key in table:
            raise exc.with_given(table[key]) from None
        if key in ("R", "tau_m"):  # derived from C / g_L: show what the membrane was given as
            raise exc.with_given(", ".join(f"{k} = {table[k]}" for k in ("tau_m", "R", "C", "g_L")
                                           if k in table)) from None
        raise


def spec_to_document(spec: LIFSpec) -> dict:
    """The specification as a TOML document that :func:`spec_from_document` reads back exactly."""
    neuron = {
        "tau_m": format_quantity(spec.tau_m, TIME),
        "E_L": format_quantity(spec.E_L, VOLTAGE),
        "V_th": format_quantity(spec.V_th, VOLTAGE),
        "V_reset": format_quantity(spec.V_reset, VOLTAGE),
        "V_init": format_quantity(spec.V_init, VOLTAGE),
        "R": format_quantity(spec.R, RESISTANCE),
        "t_ref": format_quantity(spec.t_ref, TIME),
    }
    return {"name": spec.name, "description": spec.description, "neuron": neuron}


def spec_to_toml(spec: LIFSpec) -> str:
    """TOML text of the specification (SI units, every bit of every float kept)."""
    return tomli_w.dumps(spec_to_document(spec))
