"""Specification files: TOML in, :class:`~models.spec.LIFSpec` out, and back.

Format (every quantity a string with units; the ``[neuron]`` key names are a public contract)::

    name = "textbook"      # optional: defaults to the file's name without .toml
    description = "where the numbers come from"
    [neuron]
    tau_m = "20 ms"        # or C and g_L, or g_L and tau_m (R = 1/g_L)
    E_L = "-70 mV"
    V_th = "-50 mV"
    V_reset = "-65 mV"
    R = "100 Mohm"
    t_ref = "2 ms"         # required: write "0 ms" for none
    V_init = "-70 mV"      # optional, defaults to E_L (V_reset when E_L >= V_th)
    # the integrate-and-fire without leak, C dV/dt = I: leak = false with C, and no tau_m, R, g_L, E_L
    # leak = false
    # C = "100 pF"         # V_init then defaults to V_reset
    # optional model variants (absent: the plain LIF)
    reset = "subtract"     # "value" (default) or "subtract"
    tau_syn = "5 ms"       # exponential synaptic current (needed by [spike_input])
    sigma = "8 pA*s**0.5"  # white-noise current density (A s^0.5); free-membrane sd R sigma/sqrt(2 tau_m)
    noise_seed = 1         # non-negative integer

    [spike_input]          # optional: presynaptic spikes onto the synaptic current
    weight = "50 pA"       # jump of the synaptic current per spike
    times = ["10 ms", "50 ms"]    # explicit arrival times, or:
    # rate = "50 Hz"       # a Poisson train ...
    # seed = 3             # ... drawn from this seed

The ``[neuron]`` table may instead be written in NEST's or PyNN's names and units, declared by
``dialect = "nest"`` or ``"pynn"`` (:mod:`models.dialects`; ``"native"`` is the default).

A comparison file adds the sections in :data:`FILE_SECTIONS` handled by :mod:`comparisons.config`.
"""

from __future__ import annotations

import math
from pathlib import Path

import tomli_w

from . import dialects
from .errors import SpecificationError, UserInputError
from .files import check_keys, read_toml, require_table, resolve
from .spec import NEURON_FIELDS, LIFSpec, SpikeInput, membrane
from .units import (CAPACITANCE, CURRENT, NOISE_DENSITY, RATE, RESISTANCE, TIME, VOLTAGE, format_quantity,
                    parse_quantity)

#: Every top-level key a specification or comparison file may hold.
FILE_SECTIONS = ("name", "description", "neuron", "simulation", "stimulus", "fi_curve", "convergence",
                 "tolerances", "spike_input")
NEURON_REQUIRED = ("E_L", "V_th", "V_reset", "t_ref")
#: [neuron] keys that are not quantities: a word and an integer.
NEURON_OPTIONS = ("reset", "noise_seed", "leak")
#: Keys a non-leaky membrane (``leak = false``) must not have: they describe a leak.
LEAK_KEYS = ("tau_m", "R", "g_L", "E_L")
SPIKE_INPUT_KEYS = ("weight", "times", "rate", "seed")


def load_spec(path_or_preset: str | Path) -> LIFSpec:
    """Load the specification from a file or a preset name (errors name the file)."""
    path = resolve(path_or_preset)
    doc = with_default_name(read_toml(path), path)
    try:
        check_keys(doc, FILE_SECTIONS, "")
        return spec_from_document(doc)
    except UserInputError as exc:
        raise exc.with_source(str(path)) from None


def plain_preset_names() -> list[str]:
    """The shipped presets that are plain LIF cells (no synapse, noise or reset by subtraction), sorted:
    the cells every simulator's plain mapping is tested on (the variant presets, e.g. ``rockpool_synaptic``,
    and the cells without leak have their own tests)."""
    from .files import preset_names
    return [name for name in preset_names() if load_spec(name).is_plain and load_spec(name).leak]


def nonleaky_preset_names() -> list[str]:
    """The shipped presets without leak (``leak = false``: ``C dV/dt = I``), sorted; they have their own
    tests (``tests/test_nonleaky.py``), the LIF mappings are tested on :func:`plain_preset_names`."""
    from .files import preset_names
    return [name for name in preset_names() if not load_spec(name).leak]


def with_default_name(doc: dict, path: Path) -> dict:
    """The document with ``name`` defaulting to the file's name without its suffix (``cell.toml`` ->
    ``cell``): a file needs no ``name`` line. A ``name`` that is written is kept (and checked) as is."""
    if isinstance(doc, dict) and "name" not in doc:
        return {"name": Path(path).stem, **doc}
    return doc


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
    dialect = dialects.dialect_of(table)
    if dialect is not None:  # NEST's or PyNN's names and units (models.dialects)
        native, renames = dialects.to_native(table, dialect)
        try:
            return spec_from_document({**doc, "neuron": native})
        except UserInputError as exc:
            raise dialects.renamed(exc, renames) from None
    table = {key: value for key, value in table.items() if key != dialects.DIALECT_KEY}
    leak = table.get("leak", True)
    if not isinstance(leak, bool):
        raise SpecificationError("neuron.leak", "expected true or false (a TOML boolean)", repr(leak))
    required = NEURON_REQUIRED if leak else tuple(k for k in NEURON_REQUIRED if k != "E_L") + ("C",)
    for key in table:
        if key not in NEURON_FIELDS and key not in NEURON_OPTIONS and dialects.native_key_hint(key):
            raise UserInputError(f"neuron.{key}", f"unknown key{dialects.native_key_hint(key)} (expected one "
                                 f"of: {', '.join((*NEURON_FIELDS, *NEURON_OPTIONS))})")
    check_keys(table, tuple(NEURON_FIELDS) + NEURON_OPTIONS, "neuron", required=required)
    if not leak:
        for key in LEAK_KEYS:
            if key in table:
                raise SpecificationError(f"neuron.{key}", "must not be given with leak = false (a membrane "
                                         "without leak is C dV/dt = I: only C)", table[key])
    si = {key: parse_quantity(text, NEURON_FIELDS[key], f"neuron.{key}") for key, text in table.items()
          if key in NEURON_FIELDS}
    options = {key: table[key] for key in NEURON_OPTIONS if key in table and key != "leak"}
    spike_input = spike_input_from_table(doc["spike_input"]) if "spike_input" in doc else None
    try:
        if leak:
            tau_m, R, capacitance = *membrane(si.get("tau_m"), si.get("R"), si.get("C"), si.get("g_L")), None
        else:
            tau_m, R, capacitance = math.inf, math.inf, si["C"]
        return LIFSpec(name=name, description=description, tau_m=tau_m, R=R, E_L=si.get("E_L"),
                       capacitance=capacitance,
                       V_th=si["V_th"], V_reset=si["V_reset"], t_ref=si["t_ref"], V_init=si.get("V_init"),
                       tau_syn=si.get("tau_syn"), sigma=si.get("sigma", 0.0), spike_input=spike_input,
                       **options)
    except SpecificationError as exc:
        key = exc.field.removeprefix("neuron.")
        if exc.field.startswith("neuron.") and key in table:
            raise exc.with_given(table[key]) from None
        if exc.field == "spike_input.weight":
            raise exc.with_given(doc["spike_input"]["weight"]) from None
        if key in ("R", "tau_m"):  # derived from C / g_L: show what the membrane was given as
            raise exc.with_given(", ".join(f"{k} = {table[k]}" for k in ("tau_m", "R", "C", "g_L")
                                           if k in table)) from None
        raise


def spike_input_from_table(value: object) -> SpikeInput:
    """The ``[spike_input]`` table as a :class:`~models.spec.SpikeInput` (errors show the user's text)."""
    table = require_table(value, "spike_input")
    check_keys(table, SPIKE_INPUT_KEYS, "spike_input", required=("weight",))
    weight = parse_quantity(table["weight"], CURRENT, "spike_input.weight")
    times = table.get("times", [])
    if not isinstance(times, list):
        raise SpecificationError("spike_input.times", "expected a list of times", repr(times))
    si_times = [parse_quantity(t, TIME, f"spike_input.times[{i}]") for i, t in enumerate(times)]
    rate = parse_quantity(table["rate"], RATE, "spike_input.rate") if "rate" in table else None
    try:
        return SpikeInput(weight=weight, times=tuple(si_times), rate=rate, seed=table.get("seed", 0))
    except SpecificationError as exc:
        raise exc.with_given(_raw(table, exc.field)) from None


def _raw(table: dict, field: str) -> object:
    """The user's text of ``spike_input.<key>`` or ``spike_input.times[i]`` (the SI value if absent)."""
    key = field.removeprefix("spike_input.")
    if key.startswith("times["):
        return table["times"][int(key[6:-1])]
    return table.get(key, None) if key in SPIKE_INPUT_KEYS else None


def spec_to_document(spec: LIFSpec) -> dict:
    """The specification as a TOML document that :func:`spec_from_document` reads back exactly.

    The optional additions are written only when they differ from their defaults, so a plain cell gives
    exactly the document it always did.
    """
    if not spec.leak:
        neuron = {"leak": False, "C": format_quantity(spec.C, CAPACITANCE),
                  "V_th": format_quantity(spec.V_th, VOLTAGE), "V_reset": format_quantity(spec.V_reset, VOLTAGE),
                  "V_init": format_quantity(spec.V_init, VOLTAGE), "t_ref": format_quantity(spec.t_ref, TIME)}
        return {"name": spec.name, "description": spec.description, "neuron": neuron}
    neuron = {
        "tau_m": format_quantity(spec.tau_m, TIME),
        "E_L": format_quantity(spec.E_L, VOLTAGE),
        "V_th": format_quantity(spec.V_th, VOLTAGE),
        "V_reset": format_quantity(spec.V_reset, VOLTAGE),
        "V_init": format_quantity(spec.V_init, VOLTAGE),
        "R": format_quantity(spec.R, RESISTANCE),
        "t_ref": format_quantity(spec.t_ref, TIME),
    }
    if spec.reset != "value":
        neuron["reset"] = spec.reset
    if spec.tau_syn is not None:
        neuron["tau_syn"] = format_quantity(spec.tau_syn, TIME)
    if spec.sigma != 0.0:
        neuron["sigma"] = format_quantity(spec.sigma, NOISE_DENSITY)
    if spec.noise_seed != 0:
        neuron["noise_seed"] = int(spec.noise_seed)
    doc = {"name": spec.name, "description": spec.description, "neuron": neuron}
    if spec.spike_input is not None:
        doc["spike_input"] = _spike_input_document(spec.spike_input)
    return doc


def _spike_input_document(inp: SpikeInput) -> dict:
    table = {"weight": format_quantity(inp.weight, CURRENT)}
    if inp.rate is None:
        table["times"] = [format_quantity(t, TIME) for t in inp.times]
    else:
        table["rate"] = format_quantity(inp.rate, RATE)
        table["seed"] = int(inp.seed)
    return table


def spec_to_toml(spec: LIFSpec) -> str:
    """TOML text of the specification (SI units, every bit of every float kept)."""
    return tomli_w.dumps(spec_to_document(spec))
