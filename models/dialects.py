"""Simulator parameter sets: a ``[neuron]`` table written in NEST's or PyNN's names and units.

A user who holds a cell as a NEST status dictionary or a PyNN parameter set pastes it as it is and
declares whose names these are with one key::

    [neuron]
    dialect = "nest"          # iaf_psc_delta (iaf_psc_exp with tau_syn_ex)
    C_m = 250.0               # pF       (plain numbers are in the simulator's own unit ...)
    tau_m = "10 ms"           # ... or quantities with units, as anywhere else
    t_ref = 2.0               # ms
    E_L = -70.0               # mV
    V_th = -55.0              # mV
    V_reset = -70.0           # mV
    V_m = -70.0               # mV, the initial membrane potential (optional: E_L)
    I_e = 0.0                 # pA, constant bias current (optional: 0)

    [neuron]
    dialect = "pynn"          # IF_curr_delta (IF_curr_exp with tau_syn_E)
    cm = 1.0                  # nF
    tau_m = 20.0              # ms
    tau_refrac = 0.1          # ms
    v_rest = -65.0            # mV
    v_thresh = -50.0          # mV
    v_reset = -65.0           # mV
    v = -65.0                 # mV, the initial value (PyNN's initialize(v=...); optional: v_rest)
    i_offset = 0.0            # nA, constant bias current (optional: 0)

``dialect = "native"`` (or no ``dialect`` key) is the suite's own table (:mod:`models.loading`). A dialect
table holds only that dialect's keys: no simulator default is assumed for a missing one (the membrane needs
both the capacitance and ``tau_m``: ``R = tau_m / C``).

**The bias current** (``I_e``, ``i_offset``) is part of the cell in both simulators: it flows in every run,
whatever the stimulus. It is honoured exactly by folding it into the leak reversal,
``tau_m dV/dt = -(V - E_L) + R (I + I_bias) = -(V - (E_L + R I_bias)) + R I``: the specification's
``E_L`` is ``E_L + R I_bias`` and the stimuli, f-I currents and rheobase are the external current, as the
simulator's own recordings of the same cell would be. The initial potential defaults to the ``E_L`` as
written (the cell at rest before the bias is switched on), not to the shifted one.

**Synaptic time constants** (``tau_syn_ex``/``tau_syn_E``) give the suite's exponential synaptic current
``tau_syn``; the inhibitory one (``tau_syn_in``/``tau_syn_I``) may be written only equal to it (the suite
has one synaptic current) and is otherwise a contradiction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import SpecificationError, UserInputError
from .files import _did_you_mean
from .formats import Provenance, sha256_of
from .units import CAPACITANCE, CURRENT, TIME, VOLTAGE, Kind, article, format_quantity, parse_quantity

#: The key that declares a table's dialect, and the dialect of a table without it.
DIALECT_KEY = "dialect"
NATIVE = "native"


@dataclass(frozen=True)
class Key:
    """One parameter of a dialect: its kind, the unit of a plain number, and the suite's key it becomes
    (``""`` for one folded into another: the bias current, the inhibitory synapse)."""

    kind: Kind
    unit: str
    native: str


@dataclass(frozen=True)
class Dialect:
    """A simulator's names and units for the suite's ``[neuron]`` keys."""

    name: str
    #: the simulator and its models these names come from, for messages and provenance
    title: str
    keys: dict
    required: tuple
    #: the bias current's key, the inhibitory synaptic time constant's, the initial potential's
    bias: str
    tau_syn_inh: str
    initial: str

    def key_for(self, native: str) -> str | None:
        """This dialect's name of the suite's key ``native``, or None."""
        return next((k for k, spec in self.keys.items() if spec.native == native), None)


NEST = Dialect("nest", "NEST (iaf_psc_delta, iaf_psc_exp)", {
    "C_m": Key(CAPACITANCE, "pF", "C"), "tau_m": Key(TIME, "ms", "tau_m"), "t_ref": Key(TIME, "ms", "t_ref"),
    "E_L": Key(VOLTAGE, "mV", "E_L"), "V_th": Key(VOLTAGE, "mV", "V_th"),
    "V_reset": Key(VOLTAGE, "mV", "V_reset"), "V_m": Key(VOLTAGE, "mV", "V_init"),
    "I_e": Key(CURRENT, "pA", ""), "tau_syn_ex": Key(TIME, "ms", "tau_syn"), "tau_syn_in": Key(TIME, "ms", ""),
}, ("C_m", "tau_m", "t_ref", "E_L", "V_th", "V_reset"), "I_e", "tau_syn_in", "V_m")

PYNN = Dialect("pynn", "PyNN (IF_curr_delta, IF_curr_exp)", {
    "cm": Key(CAPACITANCE, "nF", "C"), "tau_m": Key(TIME, "ms", "tau_m"),
    "tau_refrac": Key(TIME, "ms", "t_ref"), "v_rest": Key(VOLTAGE, "mV", "E_L"),
    "v_thresh": Key(VOLTAGE, "mV", "V_th"), "v_reset": Key(VOLTAGE, "mV", "V_reset"),
    "v": Key(VOLTAGE, "mV", "V_init"), "i_offset": Key(CURRENT, "nA", ""),
    "tau_syn_E": Key(TIME, "ms", "tau_syn"), "tau_syn_I": Key(TIME, "ms", ""),
}, ("cm", "tau_m", "tau_refrac", "v_rest", "v_thresh", "v_reset"), "i_offset", "tau_syn_I", "v")

DIALECTS = {d.name: d for d in (NEST, PYNN)}
NAMES = (NATIVE, *DIALECTS)


def dialect_of(table: dict) -> Dialect | None:
    """The dialect a ``[neuron]`` table declares (None for the suite's own names).

    Raises
    ------
    SpecificationError
        If ``dialect`` is not one of :data:`NAMES`.
    """
    name = table.get(DIALECT_KEY, NATIVE)
    if name == NATIVE:
        return None
    if not isinstance(name, str) or name not in DIALECTS:
        hint = _did_you_mean(name, NAMES) if isinstance(name, str) else ""
        raise SpecificationError(f"neuron.{DIALECT_KEY}", f"expected one of: {', '.join(NAMES)}{hint}",
                                 name if isinstance(name, str) else repr(name))
    return DIALECTS[name]


def native_key_hint(key: str) -> str:
    """For a key written in the suite's own table: the hint when it is a simulator's name (``C_m`` ->
    ``' (did you mean "C"?) (or dialect = "nest": the whole table in NEST's names and units)'``), else ``""``."""
    for dialect in DIALECTS.values():
        spec = dialect.keys.get(key)
        if spec is not None and spec.native != key:
            suite = f' (did you mean "{spec.native}"?)' if spec.native else ""
            return (f'{suite} (or dialect = "{dialect.name}": the whole table in the names and units of '
                    f'{dialect.title})')
    return ""


def to_native(table: dict, dialect: Dialect) -> tuple[dict, dict]:
    """The suite's ``[neuron]`` table for a table in ``dialect``, and the renaming for errors.

    Returns
    -------
    native : dict
        Quantities as strings with their units (plain numbers get the dialect's unit), under the suite's
        keys; the bias current folded into ``E_L`` (as an SI string).
    renames : dict
        The suite's key -> (the dialect's key, the value as the user wrote it).
    """
    _check_keys(table, dialect)
    texts = {key: _quantity_text(table[key], dialect.keys[key], key) for key in table if key != DIALECT_KEY}
    si = {key: parse_quantity(text, dialect.keys[key].kind, f"neuron.{key}") for key, text in texts.items()}
    syn, inh = dialect.key_for("tau_syn"), dialect.tau_syn_inh
    if inh in si and si[inh] != si.get(syn, math.nan):
        raise SpecificationError(f"neuron.{inh}", f"contradicts neuron.{syn} (the suite has one synaptic "
                                 f"current: write {inh} equal to {syn}, or leave it out)", table[inh])
    native = {dialect.keys[key].native: text for key, text in texts.items() if dialect.keys[key].native}
    renames = {dialect.keys[key].native: (key, table[key]) for key in texts if dialect.keys[key].native}
    bias, C = si.get(dialect.bias, 0.0), si[dialect.key_for("C")]
    if bias != 0.0 and C > 0 and si["tau_m"] > 0:  # (other membranes are refused by the specification)
        R = si["tau_m"] / C
        native["E_L"] = format_quantity(si[dialect.key_for("E_L")] + R * bias, VOLTAGE)
        el, b = dialect.key_for("E_L"), dialect.bias
        renames["E_L"] = (f"{el} (with {b})", f"{el} = {_shown(table[el])}, {b} = {_shown(table[b])}: "
                                              f"E_L + R {b} = {native['E_L']}")
        if "V_init" not in native and si[dialect.key_for("E_L")] < si[dialect.key_for("V_th")]:
            native["V_init"] = texts[dialect.key_for("E_L")]
    return native, renames


def renamed(exc: UserInputError, renames: dict) -> UserInputError:
    """The error of the suite's table, naming the dialect's key and the user's value instead."""
    key = exc.field.removeprefix("neuron.")
    if exc.field.startswith("neuron.") and key in renames:
        name, given = renames[key]
        exc.field = f"neuron.{name}"
        return exc.with_given(given)
    if key in ("R", "g_L"):  # derived from the capacitance and tau_m: show those as written
        shown = ", ".join(f"{renames[k][0]} = {renames[k][1]}" for k in ("C", "tau_m") if k in renames)
        return exc.with_given(shown)
    return exc


def dialect_provenance(doc: dict, path) -> Provenance | None:
    """Where the cell of a specification document written in a dialect came from: the dialect (as the
    ``format``), the file and its sha256, each key's mapping, and the table as written (``original``);
    None for the suite's own names. Call it beside :func:`models.loading.spec_from_document` (which has
    already refused a bad table) with the file the document was read from."""
    table = doc.get("neuron") if isinstance(doc, dict) else None
    dialect = dialect_of(table) if isinstance(table, dict) else None
    if dialect is None:
        return None
    mapping, notes, original = summary(table, dialect)
    return Provenance(format=dialect.name, file=str(path), sha256=sha256_of(path), node="neuron",
                      mapping=mapping, notes=notes, original=original)


def summary(table: dict, dialect: Dialect) -> tuple[tuple, tuple, tuple]:
    """The provenance parts of a dialect table: (mapping, notes, original), each a tuple."""
    original = tuple((key, _shown(value)) for key, value in table.items() if key != DIALECT_KEY)
    mapping = tuple((key, f"{spec.native or _folded(key, dialect)} (plain numbers in {spec.unit})")
                    for key, spec in dialect.keys.items() if key in table)
    notes = [f"[neuron] written in the names and units of {dialect.title} (dialect = \"{dialect.name}\")."]
    if dialect.bias in table:
        notes.append(f"{dialect.bias} is a constant bias current: folded exactly into E_L "
                     "(E_L + R I_bias), so the stimuli and f-I currents are the external current.")
    if dialect.initial not in table:
        notes.append(f"No {dialect.initial}: the cell starts at the resting potential as written.")
    return mapping, tuple(notes), original


def _folded(key: str, dialect: Dialect) -> str:
    if key == dialect.bias:
        return "folded into E_L (E_L + R I_bias)"
    return f"must equal {dialect.key_for('tau_syn')} (one synaptic current)"


def _check_keys(table: dict, dialect: Dialect) -> None:
    allowed = (DIALECT_KEY, *dialect.keys)
    for key in table:
        if key not in allowed:
            own = dialect.key_for(key)
            hint = (f' (did you mean "{own}"? {dialect.name}\'s name for {key})' if own
                    else _did_you_mean(key, dialect.keys) or _other_dialect(key, dialect))
            raise UserInputError(f"neuron.{key}", f"unknown key in dialect = \"{dialect.name}\"{hint} "
                                 f"(expected one of: {', '.join(dialect.keys)})")
    for key in dialect.required:
        if key not in table:
            raise UserInputError(f"neuron.{key}", f"is required but missing (dialect = \"{dialect.name}\"; "
                                 "no simulator default is assumed)")


def _other_dialect(key: str, dialect: Dialect) -> str:
    for other in DIALECTS.values():
        if other is not dialect and key in other.keys:
            return f' (a name of {other.title}: dialect = "{other.name}")'
    return ""


def _quantity_text(value: object, spec: Key, key: str) -> str:
    """A plain number in the dialect's unit as a quantity string; a string is a quantity with its unit."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value)!r} {spec.unit}"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    raise SpecificationError(f"neuron.{key}", f"expected a number (in {spec.unit}) or {article(spec.kind)} "
                             f"with a unit (e.g. \"1 {spec.unit}\")", _shown(value))


def _shown(value: object) -> str:
    return value if isinstance(value, str) else repr(value)
