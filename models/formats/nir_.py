"""NIR (the Neuromorphic Intermediate Representation) in and out, with the real ``nir`` library.

NIR's LIF-family nodes and what each becomes (equations from ``nir/ir/neuron.py``, NIR 1.0)::

    LIF      tau dv/dt = (v_leak - v) + r I      -> the LIF: tau_m = tau, R = r, E_L = v_leak
    IF           dv/dt = r I                      -> leak = false: C dV/dt = I with C = 1/r
    CubaLIF  tau_syn dI/dt = -I + w_in S,          -> the synaptic variant: tau_m = tau_mem, tau_syn,
             tau_mem dv/dt = (v_leak - v) + r I      R = r, E_L = v_leak (w_in: see below)

each with ``z = v > v_threshold`` and ``v <- v_reset`` on a spike: the suite's threshold test and reset to
a value. ``LI``, ``CubaLI`` and ``I`` have no threshold (they never spike) and are refused by name.

**Units.** NIR numbers carry no units. One NIR time unit is ``time_unit`` (default ``"1 s"``), one
voltage unit ``voltage_unit`` (default ``"1 V"``), one resistance unit ``resistance_unit`` (default
``"1 ohm"``), so one current unit is ``voltage_unit / resistance_unit`` (default 1 A) and an IF's
capacitance is ``time_unit / (r resistance_unit)``. The defaults are what the exporters mean: snnTorch
(``snntorch.export_nir``: ``tau = dt/(1 - beta)`` with ``dt = 1e-4``), Rockpool (``tau`` from its modules'
seconds) and Norse write time constants in seconds and leave voltages and currents dimensionless, which
this suite reads, as for its other dimensionless presets, as volts and amperes through 1 ohm. A file
written in mV, ms or MOhm is read with ``voltage_unit = "1 mV"`` and so on. snnTorch's exporter writes
``r = tau/dt``, so its ``Leaky`` input per step is the NIR current: a cell from it reads with ``R = tau/1e-4
s`` ohms; ``resistance_unit`` rescales it.

**What NIR cannot say**, stated in every cell's provenance notes and the report: no refractory period
(read as ``t_ref = 0``); no initial state (the suite's default: ``V_init = E_L = v_leak``, the cell at
rest, or ``V_reset`` when ``v_leak >= v_threshold`` and for an IF node); the graph's other nodes (weights,
inputs) are not part of the cell -- the suite drives the node's current ``I`` directly; a CubaLIF's
``w_in`` (its synaptic current jumps by ``w_in/tau_syn`` current units per input spike) is recorded, not
used: the file holds no input spike train.

**Populations.** A node's parameters may be arrays: every neuron is one parameter set, and each distinct
set is one cell (identical neurons collapse into one), in the order of their first neuron; choice
``node`` reads one node only.

**Writing** (:func:`write`) gives the graph ``input -> lif | if | cubalif -> output`` with every
parameter an array of one float64, through the same units. What NIR cannot hold is refused with the
reason unless named in the choice ``drop`` (then one warning line each): ``t_ref > 0``, a ``V_init`` other
than the one the reader assumes, ``[spike_input]`` (its weight becomes ``w_in``); noise and reset by
subtraction are always refused.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from models.errors import InputFileError, UserInputError
from models.loading import spec_from_document
from models.spec import LIFSpec
from models.units import CAPACITANCE, NOISE_DENSITY, RESISTANCE, TIME, VOLTAGE, format_quantity, parse_quantity
from ..files import replacing

from . import ImportedCell, Provenance, index_ranges, sha256_of

SUFFIXES = (".nir",)
#: choice -> (default, meaning); every choice is optional
CHOICES = {
    "time_unit": ("1 s", "one NIR time unit"),
    "voltage_unit": ("1 V", "one NIR voltage unit"),
    "resistance_unit": ("1 ohm", "one NIR resistance unit (a current unit is voltage_unit/resistance_unit)"),
    "node": (None, "read this node only (its name in the graph; a subgraph's node as outer.inner)"),
    "drop": ((), "export only: fields NIR cannot hold that may be left out (t_ref, V_init, spike_input)"),
}
UNIT_KINDS = {"time_unit": TIME, "voltage_unit": VOLTAGE, "resistance_unit": RESISTANCE}
#: node type -> its parameters, in the order shown
PARAMETERS = {"LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
              "IF": ("r", "v_threshold", "v_reset"),
              "CubaLIF": ("tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in")}
REFUSED = {"LI": "a leaky integrator has no threshold: it never spikes",
           "CubaLI": "a current-based leaky integrator has no threshold: it never spikes",
           "I": "an integrator has no threshold: it never spikes"}
#: specification key -> the NIR parameter it comes from, per node type (for error messages)
SOURCE_PARAMETER = {"tau_m": "tau", "R": "r", "E_L": "v_leak", "V_th": "v_threshold", "V_reset": "v_reset",
                    "C": "r", "tau_syn": "tau_syn", "V_init": "v_leak", "t_ref": "(none)"}
#: Largest file read (a graph of a network's weights is data we never need beyond its neuron nodes).
MAX_FILE_BYTES = 256 << 20
DROPPABLE = ("t_ref", "V_init", "spike_input")


def units(choices: dict) -> dict[str, float]:
    """The SI value of one NIR time, voltage and resistance unit (and current), from the choices."""
    out = {}
    for key, kind in UNIT_KINDS.items():
        text = choices.get(key, CHOICES[key][0])
        value = parse_quantity(text, kind, key)
        if not (math.isfinite(value) and value > 0):
            raise UserInputError(key, f"must be a positive {kind.noun}", text)
        out[key] = value
    out["current_unit"] = out["voltage_unit"] / out["resistance_unit"]
    return out


def read(path: Path, choices: dict) -> list[ImportedCell]:
    """Every distinct LIF-family cell of the NIR file at ``path`` (see the module docstring)."""
    path = Path(path)
    source = str(path)
    try:
        scale = units(choices)
        graph = _read_graph(path)
        nodes = dict(_walk(graph))
        wanted = choices.get("node")
        if wanted is not None:
            if wanted not in nodes:
                raise UserInputError("node", f"expected a node of the graph (one of: {', '.join(nodes)})", wanted)
            nodes = {wanted: nodes[wanted]}
        kinds = {name: type(node).__name__ for name, node in nodes.items()}
        for name, kind in kinds.items():
            if kind in REFUSED and (wanted is not None or not any(k in PARAMETERS for k in kinds.values())):
                raise UserInputError(f"node {name!r}", f"expected a LIF-family node (LIF, IF, CubaLIF): "
                                     f"{kind} refused, {REFUSED[kind]}")
        cells = [c for name, node in nodes.items() if kinds[name] in PARAMETERS
                 for c in _cells(path, name, node, kinds, scale, choices)]
        if len(cells) > 1:  # one name per cell: <file>_<node> or <file>_<node>_<k>
            for cell in cells:
                label = cell.provenance.node.replace("[", "_").replace("]", "").replace(".", "_")
                cell.document["name"] = f"{path.stem}_{label}"
        if not cells:
            listing = ", ".join(f"{kind} {name!r}" for name, kind in kinds.items()) or "no nodes"
            raise UserInputError("graph", "expected a LIF-family node (LIF, IF, CubaLIF)", listing)
        return cells
    except UserInputError as exc:
        raise exc.with_source(source) from None


def _read_graph(path: Path):
    import nir

    if not path.is_file():
        raise InputFileError("", "no such file" if not path.exists() else "expected a regular file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputFileError("", f"expected a NIR file of at most {MAX_FILE_BYTES} bytes", f"{size} bytes")
    try:
        graph = nir.read(path, type_check=False)
    except Exception as exc:  # h5py and nir raise OSError, KeyError, ValueError, AssertionError, ...
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputFileError("", f"cannot be read as a NIR graph (HDF5, nir {nir.version}): {why}") from None
    if not isinstance(graph, nir.NIRGraph):
        return {"node": graph}.items()
    return graph


def _walk(graph, prefix: str = ""):
    """(dotted name, node) of every node, subgraphs entered."""
    import nir

    items = graph if not hasattr(graph, "nodes") else graph.nodes.items()
    for name, node in items:
        if isinstance(node, nir.NIRGraph):
            yield from _walk(node, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", node


def _parameter_sets(name: str, node, kind: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The node's parameters as flat float64 arrays of one length, and the index of each neuron's
    distinct set (first-appearance order)."""
    raw = [np.asarray(getattr(node, p), dtype=np.float64) for p in PARAMETERS[kind]]
    try:
        flat = [a.ravel() for a in np.broadcast_arrays(*raw)]
    except ValueError:
        shapes = ", ".join(f"{p} {np.shape(getattr(node, p))}" for p in PARAMETERS[kind])
        raise UserInputError(f"node {name!r}", "expected parameters of one shape", shapes) from None
    if flat[0].size == 0:
        raise UserInputError(f"node {name!r}", "expected at least one neuron", "empty parameter arrays")
    return flat, np.stack(flat, axis=1)


def _cells(path, name, node, kinds, scale, choices) -> list[ImportedCell]:
    kind = kinds[name]
    flat, table = _parameter_sets(name, node, kind)
    keys = {}
    for i, row in enumerate(map(tuple, table)):
        keys.setdefault(tuple(x if x == x else "nan" for x in row), []).append(i)
    groups = list(keys.values())
    cells = []
    for k, members in enumerate(groups):
        values = {p: float(flat[j][members[0]]) for j, p in enumerate(PARAMETERS[kind])}
        label = name if len(groups) == 1 else f"{name}[{k}]"
        document = _document(path, label, kind, values, scale)
        _validate(document, label, kind, values)
        cells.append(ImportedCell(document, _provenance(path, label, kind, node, values, scale, choices,
                                                        members, flat[0].size, kinds)))
    return cells


def _document(path: Path, label: str, kind: str, v: dict, s: dict) -> dict:
    T, U, Rs = s["time_unit"], s["voltage_unit"], s["resistance_unit"]
    volt = {"V_th": v["v_threshold"] * U, "V_reset": v["v_reset"] * U}
    if kind == "IF":
        neuron = {"leak": False, "C": format_quantity(T / (v["r"] * Rs), CAPACITANCE)}
    else:
        tau = v["tau"] if kind == "LIF" else v["tau_mem"]
        neuron = {"tau_m": format_quantity(tau * T, TIME), "R": format_quantity(v["r"] * Rs, RESISTANCE),
                  "E_L": format_quantity(v["v_leak"] * U, VOLTAGE)}
        if kind == "CubaLIF":
            neuron["tau_syn"] = format_quantity(v["tau_syn"] * T, TIME)
    neuron.update({key: format_quantity(value, VOLTAGE) for key, value in volt.items()})
    neuron["t_ref"] = "0 s"
    return {"name": path.stem, "neuron": neuron,
            "description": f"The NIR {kind} node {label!r} of {path.name}, read with one NIR unit of time, "
                           f"voltage and resistance = {s['time_unit']!r} s, {s['voltage_unit']!r} V, "
                           f"{s['resistance_unit']!r} ohm. NIR has no refractory period (t_ref = 0) and no "
                           "initial state (V_init: the suite's default)."}


def _validate(document: dict, label: str, kind: str, values: dict) -> None:
    """The cell through the specification's own checks; an error names the node and NIR parameter."""
    try:
        spec_from_document(document)
    except UserInputError as exc:
        key = exc.field.removeprefix("neuron.")
        parameter = ("tau" if kind == "LIF" else "tau_mem") if key == "tau_m" else SOURCE_PARAMETER.get(key, key)
        given = values.get(parameter, exc.given)
        raise UserInputError(f"node {label!r} ({kind}).{parameter}", f"{exc.expected} (read as neuron.{key}; "
                             "NIR is unitless: see time_unit, voltage_unit, resistance_unit)",
                             repr(given)) from None


def _provenance(path, label, kind, node, values, s, choices, members, size, kinds) -> Provenance:
    mapping = tuple((quantity, f"1 NIR unit = {choices.get(key, CHOICES[key][0])}"
                     f" ({'chosen' if key in choices else 'default'}; {key})")
                    for quantity, key in (("time", "time_unit"), ("voltage", "voltage_unit"),
                                          ("resistance", "resistance_unit")))
    mapping += (("current", f"1 NIR unit = {s['current_unit']!r} A (voltage_unit / resistance_unit)"),)
    notes = ["NIR has no refractory period: t_ref = 0 s.",
             "NIR has no initial state: V_init is the suite's default, " +
             ("V_reset (a cell without leak)." if kind == "IF" else
              "E_L = v_leak (the cell at rest), or V_reset when v_leak >= v_threshold."),
             "NIR's threshold test v > v_threshold and reset v <- v_reset are the suite's own."]
    if kind == "CubaLIF":
        notes.append(f"w_in = {values['w_in']!r}: the synaptic current jumps by w_in/tau_syn = "
                     f"{values['w_in'] / values['tau_syn'] * s['current_unit']:.6g} A per input spike; the file "
                     "holds no input spike train, and the suite's stimuli drive the membrane current directly.")
    others = [f"{k} {n!r}" for n, k in kinds.items() if n != label.split("[")[0]]
    if others:
        notes.append(f"The graph's other nodes ({', '.join(others)}) are not part of the cell: the suite "
                     "drives the node's input current I directly.")
    if size > 1:
        shown = ", ".join(map(str, members[:8])) + (", ..." if len(members) > 8 else "")
        notes.append(f"Node {label.split('[')[0]!r} holds {size} neurons; this cell is the parameter set of "
                     f"{len(members)} of them (neurons {shown}).")
    dtype = np.asarray(getattr(node, PARAMETERS[kind][0])).dtype
    original = (("node type", kind), ("dtype", dtype.name)) + tuple((p, repr(values[p])) for p in PARAMETERS[kind])
    return Provenance("nir", str(path), sha256_of(path), label, mapping, tuple(notes), original,
                      index_ranges(members) if size > 1 else "")


def write(spec: LIFSpec, path: Path, choices: dict) -> list[str]:
    """Write ``spec`` as a NIR graph ``input -> node -> output`` at ``path`` (atomically); the warnings
    name every field left out (see the module docstring)."""
    import nir

    s = units(choices)
    drop = tuple(choices.get("drop", ()))
    for key in drop:
        if key not in DROPPABLE:
            raise UserInputError("drop", f"expected fields among: {', '.join(DROPPABLE)}", key)
    warnings = _check_writable(spec, drop)
    T, U, Rs = s["time_unit"], s["voltage_unit"], s["resistance_unit"]
    one = lambda x: np.array([float(x)], dtype=np.float64)  # noqa: E731
    volt = {"v_threshold": one(spec.V_th / U), "v_reset": one(spec.V_reset / U)}
    if not spec.leak:
        name, node = "if", nir.IF(r=one(T / (spec.C * Rs)), **volt)
    elif spec.tau_syn is None:
        name, node = "lif", nir.LIF(tau=one(spec.tau_m / T), r=one(spec.R / Rs), v_leak=one(spec.E_L / U), **volt)
    else:
        w_in = 1.0 if spec.spike_input is None else spec.spike_input.weight / s["current_unit"] * spec.tau_syn / T
        name, node = "cubalif", nir.CubaLIF(tau_mem=one(spec.tau_m / T), tau_syn=one(spec.tau_syn / T),
                                            r=one(spec.R / Rs), v_leak=one(spec.E_L / U), w_in=one(w_in), **volt)
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}), name: node,
                                "output": nir.Output(output_type={"output": np.array([1])})},
                         edges=[("input", name), (name, "output")])
    path = Path(path)
    with replacing(path) as tmp:
        nir.write(tmp, graph)
    return warnings


def _check_writable(spec: LIFSpec, drop: tuple) -> list[str]:
    if spec.sigma != 0.0:
        raise UserInputError("neuron.sigma", "cannot be written to NIR (no node has a noise input)",
                             format_quantity(spec.sigma, NOISE_DENSITY))
    if spec.reset != "value":
        raise UserInputError("neuron.reset", "cannot be written to NIR (its neurons reset to v_reset, never "
                             "by subtraction)", spec.reset)
    warnings = []
    lost = {"t_ref": (spec.t_ref > 0, format_quantity(spec.t_ref, TIME), "NIR has no refractory period"),
            "V_init": (spec.V_init != _assumed_init(spec), format_quantity(spec.V_init, VOLTAGE),
                       "NIR has no initial state (a reader starts at E_L, or V_reset without leak)"),
            "spike_input": (spec.spike_input is not None, "[spike_input]",
                            "NIR holds no input spike train (its weight is written as w_in)")}
    for key, (lossy, value, why) in lost.items():
        if not lossy:
            continue
        if key not in drop:
            raise UserInputError(f"neuron.{key}" if key != "spike_input" else key,
                                 f"cannot be written to NIR: {why}; --drop {key} writes the cell without it",
                                 value)
        warnings.append(f"{key} = {value} not written: {why}")
    return warnings


def _assumed_init(spec: LIFSpec) -> float:
    """The initial state a reader of the file assumes: the specification's own default."""
    return spec.E_L if spec.E_L < spec.V_th else spec.V_reset   # E_L is V_reset without leak
