"""NeuroML2 point cells in and out (libNeuroML): ``iafCell``, ``iafRefCell``, ``iafTauCell``, ``iafTauRefCell``.

The semantics are those of NeuroML's own component definitions (NeuroML2CoreTypes ``Cells.xml``,
``Inputs.xml``), checked there:

- ``iafCell``: ``C dv/dt = leakConductance (leakReversal - v) + iSyn``; ``OnStart v = reset``;
  ``v > thresh``: spike and ``v = reset``; no refractory period.
- ``iafRefCell``: the same, and after a spike the regime ``refractory`` holds ``v = reset`` (no time
  derivative) until ``t > lastSpikeTime + refract``: the suite's ``t_ref``.
- ``iafTauCell`` / ``iafTauRefCell``: ``dv/dt = (leakReversal - v)/tau``, same start, threshold, reset
  and refractory rule, but **no input**: ``baseIaf`` has no ``synapses`` attachment, so no current (and no
  ``explicitInput``) reaches it. The suite drives every cell with a current, so it adds one through a
  resistance ``R`` (choice ``R``, default ``"1 ohm"``: a stimulus of 1 A raises ``V_inf`` by 1 V):
  ``tau dv/dt = (leakReversal - v) + R I``. Without input this is the file's cell exactly; an input
  aimed at such a cell in the file is refused (NeuroML itself cannot deliver it).
- ``pulseGenerator``: ``i = amplitude`` for ``delay <= t < delay + duration``, 0 otherwise: a ``step``
  stimulus from ``delay`` to ``delay + duration``.
- ``sineGenerator``: ``i = amplitude sin(phase + 2 x 3.14159265 (t - delay)/period)`` for
  ``delay <= t < delay + duration``, 0 otherwise: a ``sine`` stimulus on that window with its phase at
  ``delay``, no offset and ``frequency = 3.14159265 / (pi period)`` (the number the definition writes for
  pi is kept: 1.1e-9 of the frequency).
- ``rampGenerator``: ``i = startAmplitude + (finishAmplitude - startAmplitude) (t - delay)/duration`` for
  ``delay <= t < delay + duration``, ``baselineAmplitude`` otherwise (also before the first step): a
  ``ramp`` stimulus on that window with that ``baseline``.

So every cell starts at ``reset`` (``V_init = V_reset``, whatever ``leakReversal`` is), the threshold
test is ``v > thresh`` (the suite's), reset is to a value, and ``leakConductance = 0`` is the
integrate-and-fire without leak (``leak = false`` with ``C``).

- ``compoundInput``: ``i`` is the sum of its children's (``currents[*]/i``, reduce add): a ``sum``
  stimulus of the children read as above.

**Which input drives which cell.** When the document has a ``network`` with inputs, a cell is driven
by the inputs (``pulseGenerator``, ``sineGenerator``, ``rampGenerator``, ``compoundInput``) that an
``explicitInput`` or an ``inputList`` aims at an instance of a population of that cell: each distinct
input is one ``[[stimulus]]`` (the instances are separate runs); several inputs on one instance, whose
currents NeuroML adds, are one ``sum`` stimulus named by their ids joined with ``+``. A document without
network inputs that holds exactly one cell and one such input drives the cell with it. Otherwise the
cell gets the suite's default stimuli. Other input types aimed at a cell (the dimensionless ``...DL``
forms, clamps, spike sources) are refused.

**Choices** (:data:`CHOICES`, each with its default): ``component``, the id of the one cell to read
(default: every supported cell; a document holding a cell type the suite cannot simulate is refused
unless ``component`` picks another); ``R``, the resistance through which an ``iafTauCell`` is driven
(``"1 ohm"``); ``drop`` (export), ``("V_init",)`` writes a cell whose ``V_init`` is not ``V_reset``
(NeuroML's cells start at ``reset``) with a one-line warning instead of refusing it.

Writing is :mod:`models.formats.neuroml_out` (its ``write`` is this format's).

The file's quantities keep their units (``"0.2nF"``), parsed by pint like any specification; nothing in
the file is evaluated, entities are not expanded, a DOCTYPE is refused and included files are not read.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from lxml import etree

from ..errors import InputFileError, SpecificationError, UserInputError
from ..loading import spec_from_document
from ..units import CONDUCTANCE, CURRENT, RATE, RESISTANCE, TIME, format_quantity, parse_quantity
from . import ImportedCell, Provenance, sha256_of
from .neuroml_out import write  # noqa: F401 - the format's writer (the protocol of models.formats)

SUFFIXES = (".nml",)
#: choice -> (default, meaning); every choice is optional
CHOICES = {
    "component": (None, "read this cell only (its NeuroML id)"),
    "R": ("1 ohm", "the resistance through which an iafTauCell (which takes no current) is driven"),
    "drop": ((), "export only: fields an iaf cell cannot hold that may be left out (V_init)"),
}

#: Largest file read: a point-cell document is a few kB; a morphology of millions of points is not one.
MAX_BYTES = 16 << 20

#: libNeuroML's NeuroMLDocument list -> the component type it holds, for the cells the suite reads.
CELL_LISTS = {"iaf_cells": "iafCell", "iaf_ref_cells": "iafRefCell", "iaf_tau_cells": "iafTauCell",
              "iaf_tau_ref_cells": "iafTauRefCell"}
#: ... and for every other cell type of NeuroML2 (refused, by name).
OTHER_CELL_LISTS = {
    "izhikevich_cells": "izhikevichCell", "izhikevich2007_cells": "izhikevich2007Cell",
    "ad_ex_ia_f_cells": "adExIaFCell", "fitz_hugh_nagumo_cells": "fitzHughNagumoCell",
    "fitz_hugh_nagumo1969_cells": "fitzHughNagumo1969Cell", "pinsky_rinzel_ca3_cells": "pinskyRinzelCA3Cell",
    "hindmarshRose1984Cell": "hindmarshRose1984Cell", "cells": "cell", "cell2_ca_poolses": "cell2CaPools",
    "base_cells": "baseCell", "IF_curr_alpha": "IF_curr_alpha", "IF_curr_exp": "IF_curr_exp",
    "IF_cond_alpha": "IF_cond_alpha", "IF_cond_exp": "IF_cond_exp", "HH_cond_exp": "HH_cond_exp",
    "EIF_cond_exp_isfa_ista": "EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista": "EIF_cond_alpha_isfa_ista"}
#: The inputs read: libNeuroML's list -> the component type it holds (Inputs.xml of NeuroML2CoreTypes).
INPUT_LISTS = {"pulse_generators": "pulseGenerator", "sine_generators": "sineGenerator",
               "ramp_generators": "rampGenerator", "compound_inputs": "compoundInput"}
#: input lists of every other kind (refused when aimed at the cell).
OTHER_INPUT_LISTS = ("pulse_generator_dls", "sine_generator_dls", "ramp_generator_dls", "compound_input_dls",
                     "voltage_clamps",
                     "voltage_clamp_triples", "spike_arrays", "timed_synaptic_inputs", "spike_generators",
                     "spike_generator_randoms", "spike_generator_poissons", "spike_generator_ref_poissons",
                     "poisson_firing_synapses", "transient_poisson_firing_synapses")

#: NeuroML attribute (XML name, libNeuroML name) -> the suite's [neuron] key, per cell type.
ATTRIBUTES = {
    "iafCell": (("C", "C", "C"), ("leakConductance", "leak_conductance", "g_L"),
                ("leakReversal", "leak_reversal", "E_L"), ("thresh", "thresh", "V_th"),
                ("reset", "reset", "V_reset")),
    "iafTauCell": (("tau", "tau", "tau_m"), ("leakReversal", "leak_reversal", "E_L"),
                   ("thresh", "thresh", "V_th"), ("reset", "reset", "V_reset")),
}
ATTRIBUTES["iafRefCell"] = ATTRIBUTES["iafCell"] + (("refract", "refract", "t_ref"),)
ATTRIBUTES["iafTauRefCell"] = ATTRIBUTES["iafTauCell"] + (("refract", "refract", "t_ref"),)

#: The suite's default run (s) and the share of it a default step covers (20 % .. 80 %), used to lengthen
#: the run when a pulse ends later.
DEFAULT_DURATION = 0.5
RUN_SHARE = 0.8

SEMANTICS = (
    "NeuroML2CoreTypes (Cells.xml): v starts at reset (OnStart v = reset), so V_init = V_reset.",
    "Threshold v > thresh emits a spike and sets v = reset: the suite's V > V_th and reset to a value.",
)
REFRACTORY = "Refractory regime: v held at reset until t > lastSpikeTime + refract, the suite's t_ref."
NO_REFRACTORY = "No refractory period in this component type: t_ref = 0."
TAU_INPUT = ("iafTauCell takes no input current in NeuroML2CoreTypes (no synapses attachment): the suite "
             "drives it through R = {R} (choice R), tau dv/dt = (leakReversal - v) + R I; with zero "
             "input it is the file's cell exactly.")


def read(path: Path, choices: dict) -> list[ImportedCell]:
    """One :class:`ImportedCell` per supported cell of the NeuroML2 document ``path`` (see the module)."""
    path = Path(path)
    try:
        document = _load(path)
        cells = _cells(document, choices.get("component"))
        inputs = _inputs(document)
        return [_imported(path, document, ctype, cell, inputs, choices) for ctype, cell in cells]
    except UserInputError as exc:
        raise exc.with_source(str(path)) from None


# --- reading ---------------------------------------------------------------------------------------------

def _load(path: Path):
    """The file parsed by lxml (no entities, no network, no DTD) and built by libNeuroML."""
    from neuroml.nml import nml

    if not path.is_file():
        raise InputFileError("", "no such file" if not path.exists() else "expected a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise InputFileError("", f"expected a NeuroML2 file of at most {MAX_BYTES} bytes",
                             f"{path.stat().st_size} bytes")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        tree = etree.parse(str(path), parser)
    except (etree.XMLSyntaxError, OSError) as exc:
        raise InputFileError("", f"expected a NeuroML2 (XML) document ({str(exc).splitlines()[0]})") from None
    if tree.docinfo.doctype:
        raise InputFileError("", "expected a NeuroML2 document without a DOCTYPE", tree.docinfo.doctype)
    root = tree.getroot()
    if etree.QName(root).localname != "neuroml":
        raise InputFileError("", "expected a NeuroML2 document (root element <neuroml>)",
                             f"<{etree.QName(root).localname}>")
    document = nml.NeuroMLDocument.factory()
    try:
        document.build(root, gds_collector_=nml.GdsCollector_())
    except Exception as exc:  # noqa: BLE001 - libNeuroML raises plain exceptions for malformed values
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputFileError("", f"expected a NeuroML2 document libNeuroML can read ({first})") from None
    return document


def _cells(document, chosen) -> list[tuple[str, object]]:
    """(component type, cell) of the supported cells, or the chosen one; refusals name the component."""
    supported = [(ctype, cell) for name, ctype in CELL_LISTS.items() for cell in getattr(document, name)]
    others = [(ctype, cell) for name, ctype in OTHER_CELL_LISTS.items() for cell in getattr(document, name, [])]
    if chosen is not None:
        picked = [(ctype, cell) for ctype, cell in supported + others if cell.id == chosen]
        ids = ", ".join(cell.id for _, cell in supported + others) or "none"
        if not picked:
            raise SpecificationError("component", f"names no cell of the document (its cells: {ids})", chosen)
        supported = [p for p in picked if p[0] in CELL_LISTS.values()]
        others = [p for p in picked if p[0] not in CELL_LISTS.values()]
    if others:
        ctype, cell = others[0]
        hint = (' (a PyNN cell: write its parameters as a [neuron] table with dialect = "pynn")'
                if ctype.startswith(("IF_", "EIF_", "HH_")) else "")
        raise SpecificationError(f"{ctype} {cell.id}", "is not a cell the suite simulates (expected an "
                                 f"iafCell, iafRefCell, iafTauCell or iafTauRefCell){hint}")
    if not supported:
        includes = ", ".join(i.href for i in document.includes)
        raise SpecificationError("", "holds no cell (expected an iafCell, iafRefCell, iafTauCell or "
                                 "iafTauRefCell" + (f"; included files are not read: {includes}" if includes
                                                    else "") + ")")
    return supported


def _inputs(document) -> dict:
    """Cell id -> {instance (population, index): [input ids]} from every network's inputs."""
    population_cell = {p.id: p.component for net in document.networks for p in net.populations}
    out: dict = {}
    for net in document.networks:
        aims = [(e.input, *_target(e.target)) for e in net.explicit_inputs]
        for input_list in net.input_lists:
            for item in input_list.input + input_list.input_ws:
                aims.append((input_list.component, input_list.populations, _target(item.target)[1]))
        for input_id, population, index in aims:
            cell = population_cell.get(population)
            if cell is None:
                raise SpecificationError(f"network {net.id}", "aims an input at no population of the "
                                         "document", f"{input_id} -> {population}")
            out.setdefault(cell, {}).setdefault((population, index), []).append(input_id)
    return out


def _target(target: str) -> tuple[str, int]:
    """(population, index) of ``pop[3]`` or ``../pop/3/cell``."""
    match = re.fullmatch(r"(?:\.\./)?([A-Za-z_][\w]*)(?:\[(\d+)\]|/(\d+)(?:/[\w]+)?)", target.strip())
    if match is None:
        raise SpecificationError("network", "expected an input target such as pop[0] or ../pop/0/cell",
                                 target)
    return match.group(1), int(match.group(2) or match.group(3))


def _imported(path: Path, document, ctype: str, cell, inputs: dict, choices: dict) -> ImportedCell:
    field = f"{ctype} {cell.id}"
    original, neuron = [], {}
    for xml_name, attr, key in ATTRIBUTES[ctype]:
        value = getattr(cell, attr)
        if value is None:
            raise SpecificationError(f"{field}.{xml_name}", "is required but missing")
        original.append((xml_name, str(value)))
        neuron[key] = str(value)
    neuron["V_init"] = neuron["V_reset"]
    if "t_ref" not in neuron:
        neuron["t_ref"] = "0 s"
    notes = list(SEMANTICS) + [REFRACTORY if ctype.endswith("RefCell") else NO_REFRACTORY]
    mapping = [("units", "as written in the file, converted to SI by pint")]
    mapping += [(xml_name, key) for xml_name, _, key in ATTRIBUTES[ctype]]
    if ctype.startswith("iafTau"):
        R = choices.get("R", CHOICES["R"][0])
        parse_quantity(R, RESISTANCE, "R")
        neuron["R"] = R
        notes.append(TAU_INPUT.format(R=R))
        mapping.append(("R", f"{R} (choice R, default {CHOICES['R'][0]})"))
    elif _zero(neuron["g_L"], f"{field}.leakConductance"):
        neuron = {"leak": False, **{k: v for k, v in neuron.items() if k not in ("g_L", "E_L")}}
        notes.append("leakConductance = 0: C dv/dt = iSyn, the integrate-and-fire without leak (leak = false); "
                     "leakReversal is unused.")
    doc = {"name": cell.id, "description": (cell.notes or "").strip()
           or f"{ctype} {cell.id} read from the NeuroML2 file {path.name}", "neuron": neuron}
    stimuli, stim_notes = _stimuli(document, ctype, cell, inputs, original)
    notes += stim_notes
    if stimuli:
        doc["stimulus"] = stimuli
        last = max(_end(s) for s in stimuli)
        if last > RUN_SHARE * DEFAULT_DURATION:
            doc["simulation"] = {"duration": f"{math.ceil(last / RUN_SHARE / 0.1 - 1e-9) * 100} ms"}
            notes.append(f"The run lasts {doc['simulation']['duration']} so that the last input ends within "
                         f"{RUN_SHARE:.0%} of it.")
    _check(doc, field, ATTRIBUTES[ctype])
    provenance = Provenance(format="neuroml", file=str(path), sha256=sha256_of(path), node=cell.id,
                            mapping=tuple(mapping), notes=tuple(notes), original=tuple(original))
    return ImportedCell(document=doc, provenance=provenance)


def _zero(text: str, field: str) -> bool:
    return parse_quantity(text, CONDUCTANCE, field) == 0.0


def _stimuli(document, ctype, cell, inputs, original) -> tuple[list, list]:
    """The cell's ``[[stimulus]]`` tables and the notes saying where they came from."""
    generators = {g.id: (kind, g) for name, kind in INPUT_LISTS.items() for g in getattr(document, name, [])}
    others = {i.id: name for name in OTHER_INPUT_LISTS for i in getattr(document, name, [])}
    wired = any(net.explicit_inputs or net.input_lists for net in document.networks)
    if wired:
        instances = inputs.get(cell.id, {})
    elif len(generators) == 1 and _n_cells(document) == 1:
        instances = {("", 0): list(generators)}
    else:
        instances = {}
    if not instances:
        return [], ["No pulseGenerator, sineGenerator, rampGenerator or compoundInput drives this cell: the "
                    "suite's default stimuli apply."]
    if ctype.startswith("iafTau"):
        raise SpecificationError(f"{ctype} {cell.id}", "takes no input current in NeuroML (no synapses "
                                 "attachment), so no input can be aimed at it", ", ".join(
                                     sorted({i for ids in instances.values() for i in ids})))
    used = []
    for (population, index), ids in sorted(instances.items()):
        for input_id in ids:
            if input_id not in generators:
                kind = others.get(input_id, "an input the document does not define")
                raise SpecificationError(f"input {input_id}", "is not a pulseGenerator, sineGenerator, "
                                         "rampGenerator or compoundInput (the inputs read)", kind)
        if tuple(ids) not in used:
            used.append(tuple(ids))
    how = "aimed at it by the network's inputs" if wired else "the document's only input"
    tables, notes, once = [], [], {}
    for ids in used:
        for i in ids:                  # each input read (and its attributes recorded) once
            if i not in once:
                once[i] = READ_INPUT[generators[i][0]](generators[i][1], original)
        read = [once[i] for i in ids]
        if len(ids) == 1:
            tables.append(read[0][0])
            notes.append(f"{generators[ids[0]][0]} {ids[0]} ({how}): {read[0][1]}")
        else:                          # NeuroML adds the currents of every input on one instance
            # a compoundInput among them adds its children: its parts join the others (a sum of sums)
            parts = [p for table, _ in read for p in (table["parts"] if table["kind"] == "sum" else [table])]
            tables.append({"name": "+".join(ids), "kind": "sum", "parts": parts})
            notes.append(f"inputs {', '.join(ids)} ({how}) reach one instance, whose current is their sum in "
                         "NeuroML: a sum stimulus of " + "; ".join(
                             f"{generators[i][0]} {i}: {meaning}" for i, (_, meaning) in zip(ids, read)))
    return tables, notes


def _end(table: dict) -> float:
    """When a stimulus table's input ends (a sum's: its last part's)."""
    if table["kind"] == "sum":
        return max(_end(part) for part in table["parts"])
    return parse_quantity(table["stop"], TIME, "stop")


def _n_cells(document) -> int:
    return sum(len(getattr(document, name, [])) for name in (*CELL_LISTS, *OTHER_CELL_LISTS))


#: libNeuroML's attribute -> NeuroML's, where they differ (rampGenerator's amplitudes).
XML_NAMES = {"start_amplitude": "startAmplitude", "finish_amplitude": "finishAmplitude",
             "baseline_amplitude": "baselineAmplitude"}


def _window(generator, kind: str, names: tuple, original: list, positive: bool = False) -> float:
    """``delay + duration`` in seconds, the end of an input with the required attributes ``names`` (each
    recorded in ``original``); a negative delay or duration (with ``positive``, a zero duration) is
    refused."""
    field = f"{kind} {generator.id}"
    for name in names:
        xml_name = XML_NAMES.get(name, name)
        if getattr(generator, name) is None:
            raise SpecificationError(f"{field}.{xml_name}", "is required but missing")
        original.append((f"{generator.id}.{xml_name}", str(getattr(generator, name))))
    delay = parse_quantity(generator.delay, TIME, f"{field}.delay")
    duration = parse_quantity(generator.duration, TIME, f"{field}.duration")
    if not (math.isfinite(delay) and delay >= 0 and math.isfinite(duration) and duration >= 0
            and (duration > 0 or not positive)):
        which = "positive" if positive else "non-negative"
        raise SpecificationError(f"{field}", f"expected a non-negative delay and a {which} duration",
                                 f"delay {generator.delay}, duration {generator.duration}")
    return delay + duration


def _step(pulse, original: list) -> tuple[dict, str]:
    stop = _window(pulse, "pulseGenerator", ("delay", "duration", "amplitude"), original)
    parse_quantity(pulse.amplitude, CURRENT, f"pulseGenerator {pulse.id}.amplitude")
    return ({"name": pulse.id, "kind": "step", "amplitude": str(pulse.amplitude), "start": str(pulse.delay),
             "stop": format_quantity(stop, TIME)},
            "i = amplitude for delay <= t < delay + duration (Inputs.xml), a step stimulus from delay to "
            "delay + duration.")


#: The number NeuroML2CoreTypes writes for pi in sineGenerator's expression (Inputs.xml).
NEUROML_PI = 3.14159265


def _sine(sine, original: list) -> tuple[dict, str]:
    field = f"sineGenerator {sine.id}"
    stop = _window(sine, "sineGenerator", ("delay", "duration", "amplitude", "period", "phase"), original,
                      positive=True)
    parse_quantity(sine.amplitude, CURRENT, f"{field}.amplitude")
    period = parse_quantity(sine.period, TIME, f"{field}.period")
    if not (math.isfinite(period) and period > 0):
        raise SpecificationError(f"{field}.period", "expected a positive time", str(sine.period))
    try:
        phase = float(sine.phase)
    except (TypeError, ValueError):
        phase = math.nan
    if not math.isfinite(phase):
        raise SpecificationError(f"{field}.phase", "expected a finite number (radians)", str(sine.phase))
    # 2 x 3.14159265 (t - delay) / period is 2 pi f (t - delay) with f = 3.14159265 / (pi period)
    frequency = NEUROML_PI / (math.pi * period)
    return ({"name": sine.id, "kind": "sine", "amplitude": str(sine.amplitude),
             "frequency": format_quantity(frequency, RATE), "phase": phase, "start": str(sine.delay),
             "stop": format_quantity(stop, TIME)},
            "i = amplitude sin(phase + 2 x 3.14159265 (t - delay) / period) for delay <= t < delay + duration, "
            "0 elsewhere (Inputs.xml), a sine stimulus from delay to delay + duration with its phase at delay "
            "and no offset; frequency = 3.14159265 / (pi period), 1.1e-9 of itself below 1/period, the "
            "number NeuroML writes for pi kept.")


def _ramp(ramp, original: list) -> tuple[dict, str]:
    field = f"rampGenerator {ramp.id}"
    stop = _window(ramp, "rampGenerator", ("delay", "duration", "start_amplitude", "finish_amplitude",
                                               "baseline_amplitude"), original, positive=True)
    for attr in ("start_amplitude", "finish_amplitude", "baseline_amplitude"):
        parse_quantity(getattr(ramp, attr), CURRENT, f"{field}.{XML_NAMES[attr]}")
    return ({"name": ramp.id, "kind": "ramp", "amplitude_start": str(ramp.start_amplitude),
             "amplitude_stop": str(ramp.finish_amplitude), "start": str(ramp.delay),
             "stop": format_quantity(stop, TIME), "baseline": str(ramp.baseline_amplitude)},
            "i = startAmplitude + (finishAmplitude - startAmplitude) (t - delay) / duration for delay <= t < "
            "delay + duration, baselineAmplitude elsewhere (Inputs.xml), a ramp stimulus from delay to "
            "delay + duration with that baseline.")


def _compound(compound, original: list) -> tuple[dict, str]:
    """A ``compoundInput``: the sum of its pulse, sine and ramp generators (``currents[*]/i``, reduce add)."""
    children = [(kind, child) for name, kind in INPUT_LISTS.items() if name != "compound_inputs"
                for child in getattr(compound, name, None) or []]
    if not children:
        raise SpecificationError(f"compoundInput {compound.id}", "expected one or more pulseGenerator, "
                                 "sineGenerator or rampGenerator children", "none")
    read = [(kind, child.id, *READ_INPUT[kind](child, original)) for kind, child in children]
    return ({"name": compound.id, "kind": "sum", "parts": [table for _, _, table, _ in read]},
            "i = the sum of its children's currents (Inputs.xml: currents[*]/i, reduce add), a sum stimulus of "
            + "; ".join(f"{kind} {cid}: {meaning}" for kind, cid, _, meaning in read))


#: How each input read becomes a ``[[stimulus]]`` table: (table, what it means).
READ_INPUT = {"pulseGenerator": _step, "sineGenerator": _sine, "rampGenerator": _ramp,
              "compoundInput": _compound}


def _check(doc: dict, field: str, attributes) -> None:
    """Build the specification once, so that an invalid cell is refused naming the NeuroML attribute."""
    names = {key: xml_name for xml_name, _, key in attributes}
    names["V_init"] = names["V_reset"]
    try:
        spec_from_document({k: v for k, v in doc.items() if k in ("name", "description", "neuron")})
    except UserInputError as exc:
        key = exc.field.removeprefix("neuron.")
        if key in names:
            exc.field = f"{field}.{names[key]}"
            raise exc.with_given(doc["neuron"].get(key, exc.given)) from None
        raise
