"""NeuroML2 in and out (models/formats/neuroml_.py): files written by the real libNeuroML read into the
specification against SI values converted by hand, pulses as step stimuli, the refusals, round trips in
both directions (written files validated against the NeuroML2 schema by lxml, independently of the
writer), and the shipped example through the whole comparison on the core backends."""

from pathlib import Path

import neuroml
import numpy as np
import pytest
from lxml import etree
from neuroml.loaders import read_neuroml2_file
from neuroml.writers import NeuroMLWriter

from comparisons.api import compare
from comparisons.config import comparison_from_document
from models.errors import UserInputError
from models.files import PRESET_DIR
from models.formats import format_module, sha256_of
from models.formats import neuroml_ as nml
from models.loading import load_spec, spec_from_document

#: tau_m = R C and R = 1/g_L from decimal strings: a unit scaling each and one or two operations, a few
#: roundings of 1.1e-16 each.
RTOL = 1e-15
EXAMPLE = PRESET_DIR / "neuroml_iaf_ref.nml"

# NeuroML2's LEMS example Ex0 (LEMSexamples/LEMS_NML2_Ex0_IaF.xml)
REF = dict(id="iafRef", leak_conductance="0.2nS", leak_reversal="-53mV", thresh="-55mV", reset="-70mV",
           C="3.2pF", refract="5ms")
TAU = dict(id="iafTau", leak_reversal="-50mV", thresh="-55mV", reset="-70mV", tau="30ms")


def write_doc(path: Path, networks=(), pulses=(), **cells) -> Path:
    """A NeuroML2 document written by libNeuroML's own writer."""
    doc = neuroml.NeuroMLDocument(id="test_doc", networks=list(networks), pulse_generators=list(pulses),
                                  **{name: list(items) for name, items in cells.items()})
    NeuroMLWriter.write(doc, str(path))
    return path


def network(cell_id, inputs=(), size=1, input_lists=()):
    pop = neuroml.Population(id="pop", component=cell_id, size=size)
    return neuroml.Network(id="net", populations=[pop], input_lists=list(input_lists),
                           explicit_inputs=[neuroml.ExplicitInput(target=t, input=i) for t, i in inputs])


def pulse(id="pg", delay="50ms", duration="200ms", amplitude="2pA"):
    return neuroml.PulseGenerator(id=id, delay=delay, duration=duration, amplitude=amplitude)


def specs(path, **choices):
    return {cell.document["name"]: spec_from_document(cell.document) for cell in nml.read(path, choices)}


def refused(path, *fragments, **choices):
    with pytest.raises(UserInputError) as info:
        nml.read(path, choices)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert all(f in message for f in fragments), message
    return message


def test_format_module_is_found_by_the_file_ending():
    assert format_module(Path("cell.nml")) is nml and ".nml" in nml.SUFFIXES
    assert set(nml.CHOICES) == {"component", "R", "drop"}


def test_drop_names_only_what_can_be_dropped(tmp_path):
    spec = load_spec("textbook")
    assert nml.write(spec, tmp_path / "a.nml", {"drop": "V_init"}) == [
        "V_init = -0.07 V not written: NeuroML's iaf cells start at reset (-0.065 V)"]
    with pytest.raises(UserInputError, match="drop: expected fields among: V_init"):
        nml.write(spec, tmp_path / "b.nml", {"drop": ("t_ref",)})
    assert not (tmp_path / "b.nml").exists()


def test_every_iaf_type_against_hand_converted_si(tmp_path):
    path = write_doc(tmp_path / "cells.nml", iaf_ref_cells=[neuroml.IafRefCell(**REF)],
                     iaf_cells=[neuroml.IafCell(**{**REF, "id": "iaf", "refract": None})],
                     iaf_tau_cells=[neuroml.IafTauCell(**TAU)],
                     iaf_tau_ref_cells=[neuroml.IafTauRefCell(**{**TAU, "id": "iafTauRef"}, refract="5ms")])
    cells = specs(path)
    assert set(cells) == {"iafRef", "iaf", "iafTau", "iafTauRef"}
    ref = cells["iafRef"]  # C 3.2 pF, 1/0.2 nS = 5 GOhm, tau 16 ms, -53/-55/-70 mV, 5 ms
    assert ref.C == pytest.approx(3.2e-12, rel=RTOL) and ref.R == pytest.approx(5e9, rel=RTOL)
    assert ref.tau_m == pytest.approx(0.016, rel=RTOL) and ref.t_ref == pytest.approx(0.005, rel=RTOL)
    assert (ref.E_L, ref.V_th, ref.V_reset) == pytest.approx((-0.053, -0.055, -0.07), rel=RTOL)
    assert ref.V_init == ref.V_reset  # Cells.xml: OnStart v = reset
    assert cells["iaf"].t_ref == 0 and cells["iaf"].replace(t_ref=0.005, name="iafRef", description=ref.description) == ref
    tau = cells["iafTau"]  # tau 30 ms, driven through R = 1 ohm (the default choice)
    assert tau.tau_m == pytest.approx(0.03, rel=RTOL) and tau.R == 1.0 and tau.V_init == tau.V_reset
    assert cells["iafTauRef"].t_ref == pytest.approx(0.005, rel=RTOL)
    assert specs(path, R="100 Mohm")["iafTau"].R == pytest.approx(1e8, rel=RTOL)


def test_zero_leak_conductance_is_the_integrate_and_fire_without_leak(tmp_path):
    path = write_doc(tmp_path / "if.nml", iaf_cells=[neuroml.IafCell(
        id="lapicque", C="100pF", leak_conductance="0nS", leak_reversal="0mV", thresh="20mV", reset="0mV")])
    cell = specs(path)["lapicque"]
    assert not cell.leak and cell.C == pytest.approx(1e-10, rel=RTOL) and cell.V_th == pytest.approx(0.02)


def test_pulse_of_an_explicit_input_is_a_step(tmp_path):
    path = write_doc(tmp_path / "pulse.nml", [network("iafRef", [("pop[0]", "pg")])], [pulse()],
                     iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    (cell,) = nml.read(path, {})
    (table,) = cell.document["stimulus"]
    assert table["kind"] == "step" and table["name"] == "pg"
    c = comparison_from_document(cell.document)
    (step,) = c.stimuli
    # amplitude 2 pA from delay 50 ms to delay + duration = 250 ms (Inputs.xml: t >= delay, t < delay + duration)
    assert step.amplitude == pytest.approx(2e-12, rel=RTOL)
    assert (step.start, step.stop, step.baseline) == pytest.approx((0.05, 0.25, 0.0), rel=RTOL)
    assert c.duration == pytest.approx(0.5)


def sine_generator(**given):
    return neuroml.SineGenerator(**{**dict(id="sg", phase="0.5", delay="50ms", duration="200ms", amplitude="3pA",
                                           period="40ms"), **given})


def ramp_generator(**given):
    return neuroml.RampGenerator(**{**dict(id="rg", delay="20ms", duration="300ms", start_amplitude="1pA",
                                           finish_amplitude="5pA", baseline_amplitude="0.5pA"), **given})


EPS = np.finfo(float).eps


def test_sine_and_ramp_generators_are_sampled_as_inputs_xml_defines_them(tmp_path):
    """Each instance's input sampled by the suite against NeuroML's own expressions (Inputs.xml, the
    number 3.14159265 for pi included) evaluated here on the grid, with the window's edges at the grid
    points t_k >= delay and t_k < delay + duration (both on the grid here)."""
    path = write_doc(tmp_path / "inputs.nml", [network("iafRef", [("pop[0]", "sg"), ("pop[1]", "rg")], size=2)],
                     iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    doc = neuroml.loaders.read_neuroml2_file(str(path))
    doc.sine_generators.append(sine_generator())
    doc.ramp_generators.append(ramp_generator())
    NeuroMLWriter.write(doc, str(path))
    (cell,) = nml.read(path, {})
    sine, ramp = comparison_from_document(cell.document).stimuli
    dt, n = 1e-4, 5000
    t = np.arange(n) * dt
    k = np.arange(n)
    # sineGenerator: amplitude sin(phase + 2 * 3.14159265 * (t - delay) / period) on [delay, delay + duration)
    on = (k >= 500) & (k < 2500)
    argument = 0.5 + 2 * 3.14159265 * (t - 0.05) / 0.04
    neuroml_sine = np.where(on, 3e-12 * np.sin(argument), 0.0)
    # The suite's argument, 2 pi f (t - start) + phase with f = 3.14159265 / (pi period), is the same
    # number after a different sequence of about six roundings, each at most eps/2 of |argument|:
    # |d sin| <= |d argument| <= 6 eps/2 max|argument| (times the amplitude); 4 eps leaves a margin.
    bound = 3e-12 * 4 * EPS * np.abs(argument[on]).max()
    assert np.abs(sine.sample(dt, n) - neuroml_sine).max() <= bound
    assert np.array_equal(sine.sample(dt, n)[~on], np.zeros((~on).sum()))
    assert sine.frequency * 0.04 == pytest.approx(1 - 1.14e-9, abs=1e-11)   # 3.14159265 / pi
    # rampGenerator: start + (finish - start) (t - delay) / duration on [delay, delay + duration), baseline
    # elsewhere. Both sides use the same t - 0.02; the suite divides by stop - start, where stop = delay +
    # duration was rounded once (eps/2 of 0.32 s) and the difference once more (eps/2 of 0.3 s): a relative
    # eps/2 (0.32/0.3 + 1) on the fraction (at most 1), times |finish - start| = 4 pA. Then each side rounds
    # its division, product and sum, each by at most eps/2 of a value below 5 pA: 3 eps 5 pA for both.
    on = (k >= 200) & (k < 3200)
    neuroml_ramp = np.where(on, 1e-12 + (5e-12 - 1e-12) * (t - 0.02) / 0.3, 0.5e-12)
    bound = 4e-12 * EPS / 2 * (0.32 / 0.3 + 1) + 3 * EPS * 5e-12
    assert np.abs(ramp.sample(dt, n) - neuroml_ramp).max() <= bound
    assert ramp.baseline == 0.5e-12 and ramp.sample(dt, n)[0] == 0.5e-12


def test_inputs_summed_on_one_instance_and_a_compound_input_are_sums_of_their_parts(tmp_path):
    """NeuroML adds the currents of every input on an instance, and a compoundInput's children's
    (Inputs.xml: currents[*]/i, reduce add): one sum stimulus each, sampled as its parts added."""
    compound = neuroml.CompoundInput(id="ci", pulse_generators=[pulse("cp", delay="10ms", duration="100ms")],
                                     sine_generators=[sine_generator(id="cs")])
    path = write_doc(tmp_path / "sum.nml", [network("iafRef", [("pop[0]", "pg"), ("pop[0]", "pg2"),
                                                              ("pop[1]", "ci"), ("pop[2]", "pg"),
                                                              ("pop[3]", "ci"), ("pop[3]", "pg2")], size=4)],
                     [pulse(), pulse("pg2", delay="100ms", duration="300ms", amplitude="-1pA")],
                     iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    doc = neuroml.loaders.read_neuroml2_file(str(path))
    doc.compound_inputs.append(compound)
    NeuroMLWriter.write(doc, str(path))
    (cell,) = nml.read(path, {})
    both, mixed, alone, nested = comparison_from_document(cell.document).stimuli
    assert alone.name == "pg" and [name for name, _ in cell.provenance.original].count("pg.amplitude") == 1
    assert (both.name, both.KIND, [p.name for p in both.parts]) == ("pg+pg2", "sum", ["pg", "pg2"])
    dt, n = 1e-4, 5000
    k = np.arange(n)
    # 2 pA on [50 ms, 250 ms) plus -1 pA on [100 ms, 400 ms): exact sums of two step values
    expected = np.where((k >= 500) & (k < 2500), 2e-12, 0.0) + np.where((k >= 1000) & (k < 4000), -1e-12, 0.0)
    assert np.array_equal(both.sample(dt, n), expected)
    assert (mixed.name, [p.KIND for p in mixed.parts]) == ("ci", ["step", "sine"])
    t = k * dt
    neuroml_sum = (np.where((k >= 100) & (k < 1100), 2e-12, 0.0)
                   + np.where((k >= 500) & (k < 2500), 3e-12 * np.sin(0.5 + 2 * 3.14159265 * (t - 0.05) / 0.04), 0.0))
    # the sine part's bound of the test above (its argument at most 0.5 + 2 pi 0.2/0.04), plus the
    # rounding of the addition (eps/2 of at most 5 pA)
    bound = 3e-12 * 4 * EPS * (0.5 + 2 * np.pi * 5) + 5e-12 * EPS / 2
    assert np.abs(mixed.sample(dt, n) - neuroml_sum).max() <= bound
    assert any("sum" in note and "pg, pg2" in note for note in cell.provenance.notes)
    # a compoundInput and a pulse on one instance: the compound's children and the pulse, one flat sum
    assert (nested.name, [p.name for p in nested.parts]) == ("ci+pg2", ["cp", "cs", "pg2"])
    with_pulse = neuroml_sum + np.where((k >= 1000) & (k < 4000), -1e-12, 0.0)
    assert np.abs(nested.sample(dt, n) - with_pulse).max() <= bound + 5e-12 * EPS / 2


def test_a_cell_driven_by_neuroml_sine_ramp_and_compound_inputs_passes_on_the_core_backends(tmp_path):
    path = write_doc(tmp_path / "inputs.nml", [network("iafRef", [("pop[0]", "sg"), ("pop[1]", "rg"),
                                                                 ("pop[2]", "ci")], size=3)],
                     iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    doc = neuroml.loaders.read_neuroml2_file(str(path))
    doc.sine_generators.append(sine_generator(amplitude="2pA", delay="20ms", duration="250ms"))
    doc.ramp_generators.append(ramp_generator(start_amplitude="0.5pA", finish_amplitude="4pA"))
    doc.compound_inputs.append(neuroml.CompoundInput(id="ci", pulse_generators=[pulse("cp", amplitude="1pA")],
                                                     sine_generators=[sine_generator(id="cs", amplitude="1pA")]))
    NeuroMLWriter.write(doc, str(path))
    (cell,) = nml.read(path, {})
    document = {**cell.document, "simulation": {"duration": "400 ms", "backends": ["reference", "brian2", "nengo"]},
                "fi_curve": {"num": 5, "duration": "300 ms"},
                "convergence": {"dt": ["0.5 ms", "0.25 ms", "0.1 ms"], "duration": "300 ms"}}
    result = compare(comparison_from_document(document))
    assert result.verdict == "pass", result.failed.to_string()
    m = result.metrics
    judged = m[m["metric"] == "spike_count_diff"]        # each backend's spikes against the closed form's
    assert {(s, b) for s, b in zip(judged["stimulus"], judged["backend"])} >= {
        (s, b) for s in ("sg", "rg", "ci") for b in ("reference", "brian2", "nengo")}


def test_input_list_and_several_instances(tmp_path):
    items = [neuroml.Input(id=0, target="../pop/0/iafRef", destination="synapses"),
             neuroml.Input(id=1, target="../pop/1/iafRef", destination="synapses")]
    lists = [neuroml.InputList(id="a", populations="pop", component="pg", input=items[:1]),
             neuroml.InputList(id="b", populations="pop", component="pg2", input=items[1:])]
    path = write_doc(tmp_path / "lists.nml", [network("iafRef", size=2, input_lists=lists)],
                     [pulse(), pulse("pg2", amplitude="-1pA")], iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    (cell,) = nml.read(path, {})
    assert [s["name"] for s in cell.document["stimulus"]] == ["pg", "pg2"]


def test_only_pulse_without_network_drives_the_only_cell(tmp_path):
    path = write_doc(tmp_path / "lone.nml", pulses=[pulse()], iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    assert nml.read(path, {})[0].document["stimulus"][0]["name"] == "pg"
    unwired = write_doc(tmp_path / "unwired.nml", [network("iafRef")], [pulse(), pulse("pg2")],
                        iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    (cell,) = nml.read(unwired, {})
    assert "stimulus" not in cell.document and any("default stimuli" in n for n in cell.provenance.notes)


def test_long_pulse_lengthens_the_run(tmp_path):
    path = write_doc(tmp_path / "long.nml", pulses=[pulse(delay="100ms", duration="800ms")],
                     iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    (cell,) = nml.read(path, {})
    # the pulse ends at 0.9 s, which must lie within 80 % of the run: 0.9/0.8 = 1.125 s, whole 100 ms up
    assert comparison_from_document(cell.document).duration == pytest.approx(1.2)


def test_provenance(tmp_path):
    path = write_doc(tmp_path / "p.nml", pulses=[pulse()], iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    prov = nml.read(path, {})[0].provenance
    assert (prov.format, prov.file, prov.node, prov.sha256) == ("neuroml", str(path), "iafRef", sha256_of(path))
    assert dict(prov.original)["leakConductance"] == "0.2nS" and dict(prov.original)["pg.amplitude"] == "2pA"
    assert dict(prov.mapping)["refract"] == "t_ref"
    assert any("OnStart v = reset" in n for n in prov.notes) and any("refract" in n for n in prov.notes)


@pytest.mark.parametrize("cells, fragments", [
    (dict(izhikevich_cells=[neuroml.IzhikevichCell(id="izh0", v0="-70mV", thresh="30mV", a="0.02", b="0.2",
                                                   c="-50.0", d="2")]), ["izhikevichCell izh0", "not a cell"]),
    (dict(ad_ex_ia_f_cells=[neuroml.AdExIaFCell(
        id="adEx", C="281pF", gL="30nS", EL="-70.6mV", reset="-48.5mV", VT="-50.4mV", thresh="-40.4mV",
        delT="2mV", tauw="40ms", a="4nS", b="0.08nA", refract="0ms")]), ["adExIaFCell adEx"]),
    (dict(IF_curr_exp=[neuroml.IF_curr_exp(
        id="pynn", cm="1.0", i_offset="0", tau_m="20", tau_refrac="0.1", v_reset="-65", v_rest="-65",
        v_thresh="-50", tau_syn_E="5", tau_syn_I="5", v_init="-65")]), ['IF_curr_exp pynn', 'dialect = "pynn"']),
    (dict(iaf_ref_cells=[neuroml.IafRefCell(**{**REF, "leak_reversal": "-53"})]),
     ["iafRefCell iafRef.leakReversal", "with a unit", '"-53"']),
    (dict(iaf_ref_cells=[neuroml.IafRefCell(**{**REF, "thresh": "-75mV"})]),
     ["iafRefCell iafRef.thresh", "above", '"-75mV"']),
    (dict(iaf_ref_cells=[neuroml.IafRefCell(**{**REF, "C": "3.2pA"})]),
     ["iafRefCell iafRef.C", "expected a capacitance", '"3.2pA"']),
    ({}, ["holds no cell"]),
])
def test_refusals(tmp_path, cells, fragments):
    refused(write_doc(tmp_path / "bad.nml", **cells), *fragments)


def test_a_chosen_cell_is_read_beside_an_unsupported_one(tmp_path):
    izh = neuroml.IzhikevichCell(id="izh0", v0="-70mV", thresh="30mV", a="0.02", b="0.2", c="-50.0", d="2")
    path = write_doc(tmp_path / "mixed.nml", izhikevich_cells=[izh], iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    refused(path, "izhikevichCell izh0")
    assert list(specs(path, component="iafRef")) == ["iafRef"]
    refused(path, "component", "names no cell", "iafRef, izh0", component="nope")
    refused(path, "izhikevichCell izh0", component="izh0")


def test_refused_inputs(tmp_path):
    empty = neuroml.NeuroMLDocument(id="d", iaf_ref_cells=[neuroml.IafRefCell(**REF)],
                                    compound_inputs=[neuroml.CompoundInput(id="ci")])
    NeuroMLWriter.write(empty, str(tmp_path / "empty.nml"))
    refused(tmp_path / "empty.nml", "compoundInput ci", "one or more")
    tau = write_doc(tmp_path / "tau.nml", [network("iafTau", [("pop[0]", "pg")])], [pulse()],
                    iaf_tau_cells=[neuroml.IafTauCell(**TAU)])
    refused(tau, "iafTauCell iafTau", "no input current")
    sine = neuroml.SineGeneratorDL(id="sg0", phase="0", delay="50ms", duration="200ms", amplitude="1",
                                   period="50ms")
    doc = neuroml.NeuroMLDocument(id="d", iaf_ref_cells=[neuroml.IafRefCell(**REF)], sine_generator_dls=[sine],
                                  networks=[network("iafRef", [("pop[0]", "sg0")])])
    NeuroMLWriter.write(doc, str(tmp_path / "sine.nml"))
    refused(tmp_path / "sine.nml", "input sg0", "not a pulseGenerator, sineGenerator, rampGenerator or compoundInput",
            "sine_generator_dls")
    for name, generator, fragment in (
            ("period", sine_generator(period="0ms"), "sineGenerator sg.period"),
            ("phase", sine_generator(phase="a quarter"), "sineGenerator sg.phase"),
            ("flat", ramp_generator(duration="0ms"), "rampGenerator rg"),
            ("amp", ramp_generator(baseline_amplitude="1"), "rampGenerator rg.baselineAmplitude")):
        lists = ({"sine_generators": [generator]} if generator.id == "sg" else {"ramp_generators": [generator]})
        doc = neuroml.NeuroMLDocument(id="d", iaf_ref_cells=[neuroml.IafRefCell(**REF)], **lists)
        NeuroMLWriter.write(doc, str(tmp_path / f"{name}.nml"))
        refused(tmp_path / f"{name}.nml", fragment)
    unitless = write_doc(tmp_path / "unitless.nml", pulses=[pulse(amplitude="2")],
                         iaf_ref_cells=[neuroml.IafRefCell(**REF)])
    refused(unitless, "pulseGenerator pg.amplitude", "expected a current with a unit", '"2"')


def test_unreadable_files(tmp_path):
    whole = EXAMPLE.read_bytes()
    (tmp_path / "cut.nml").write_bytes(whole[: len(whole) // 2])
    refused(tmp_path / "cut.nml", "expected a NeuroML2 (XML) document")
    (tmp_path / "other.nml").write_text("<Lems><iafCell id='x'/></Lems>")
    refused(tmp_path / "other.nml", "root element <neuroml>", '"<Lems>"')
    (tmp_path / "entity.nml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE neuroml [<!ENTITY secret SYSTEM "/etc/hostname">]>\n'
        '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="x"><notes>&secret;</notes></neuroml>')
    refused(tmp_path / "entity.nml", "without a DOCTYPE")
    refused(tmp_path / "missing.nml", "no such file")
    (tmp_path / "size.nml").write_text(
        '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="x"><network id="n">'
        '<population id="p" component="a" size="x"/></network></neuroml>')
    refused(tmp_path / "size.nml", "libNeuroML can read", "integer")


def test_file_to_spec_to_file_to_spec(tmp_path):
    """A file written by libNeuroML -> specification -> file written by the suite -> the same specification,
    for each of the four cell types (iafTau cells come back as the iafCell of the same membrane)."""
    first = write_doc(tmp_path / "first.nml", iaf_ref_cells=[neuroml.IafRefCell(**REF)],
                      iaf_cells=[neuroml.IafCell(**{**REF, "id": "iaf", "refract": None})],
                      iaf_tau_cells=[neuroml.IafTauCell(**TAU)],
                      iaf_tau_ref_cells=[neuroml.IafTauRefCell(**{**TAU, "id": "iafTauRef"}, refract="5ms")])
    for name, spec in specs(first).items():
        assert nml.write(spec, tmp_path / f"{name}.nml", {}) == []
        assert specs(tmp_path / f"{name}.nml") == {name: spec}


@pytest.mark.parametrize("preset", ["textbook", "neuromatch", "nengo_default", "euler_tutorial",
                                    "snntorch_lapicque", "integrate_and_fire", "nest_iaf_psc_delta"])
def test_spec_to_file_to_spec(tmp_path, preset):
    spec = load_spec(preset)
    out = tmp_path / "cell.nml"
    if spec.V_init != spec.V_reset:
        with pytest.raises(UserInputError, match="neuron.V_init: cannot be written.*--drop V_init"):
            nml.write(spec, out, {})
        assert not out.exists()
    warnings = nml.write(spec, out, {"drop": ("V_init",)})
    assert len(warnings) == (spec.V_init != spec.V_reset)
    assert specs(out) == {spec.name: spec.replace(V_init=spec.V_reset)}  # bit for bit
    schema = Path(neuroml.__file__).parent / "nml" / f"NeuroML_{neuroml.current_neuroml_version}.xsd"
    etree.XMLSchema(etree.parse(str(schema))).assertValid(etree.parse(str(out)))
    loaded = read_neuroml2_file(str(out))
    cells = loaded.iaf_ref_cells if spec.t_ref > 0 else loaded.iaf_cells
    assert [c.id for c in cells] == [spec.name]


@pytest.mark.parametrize("preset, fragment", [("rockpool_synaptic", "neuron.tau_syn: .*synapses"),
                                              ("neuromatch_noise", "neuron.sigma: .*noise")])
def test_write_refuses_what_an_iaf_cell_cannot_hold(tmp_path, preset, fragment):
    with pytest.raises(UserInputError, match=fragment):
        nml.write(load_spec(preset), tmp_path / "x.nml", {})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserInputError, match="subtraction"):
        nml.write(load_spec("textbook").replace(reset="subtract", V_init=-0.065), tmp_path / "x.nml", {})


def test_write_names_an_id_neuroml_accepts(tmp_path):
    spec = load_spec("neuromatch").replace(name="my cell 2")
    assert nml.write(spec, tmp_path / "c.nml", {}) == ["name 'my cell 2' written as the NeuroML id 'my_cell_2' "
                                                       "(letters, digits and _)"]
    assert list(specs(tmp_path / "c.nml")) == ["my_cell_2"]


def test_shipped_example_through_the_core_backends():
    (cell,) = nml.read(EXAMPLE, {})
    doc = {**cell.document, "simulation": {"duration": "300 ms", "backends": ["reference", "brian2", "nengo"]},
           "fi_curve": {"num": 11, "duration": "500 ms"},
           "convergence": {"dt": ["0.5 ms", "0.25 ms", "0.1 ms"], "duration": "300 ms"}}
    comparison = comparison_from_document(doc)
    assert [s.name for s in comparison.stimuli] == ["pulseGen0"]
    assert comparison.spec.V_init == comparison.spec.V_reset
    result = compare(comparison)
    assert result.verdict == "pass", result.failed.to_string()
    assert set(result.metrics["backend"]) >= {"reference", "brian2", "nengo"}


def test_write_refuses_a_place_it_cannot_write(tmp_path):
    for place in (tmp_path / "no_such_dir" / "c.nml", tmp_path):
        with pytest.raises(UserInputError, match="existing directory"):
            nml.write(load_spec("neuromatch"), place, {})
    assert list(tmp_path.iterdir()) == []


def test_command_line_run_refusal_and_export(tmp_path, capsys):
    from comparisons.cli import main
    from comparisons.config import load_comparison

    bad = write_doc(tmp_path / "izh.nml", izhikevich_cells=[neuroml.IzhikevichCell(
        id="izh0", v0="-70mV", thresh="30mV", a="0.02", b="0.2", c="-50.0", d="2")])
    out = tmp_path / "out"
    assert main(["run", str(bad), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: izhikevichCell izh0: is not a cell" in err and not out.exists()
    target = tmp_path / "tb.nml"
    assert main(["export", "textbook", "--to", "neuroml", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neuron.V_init" in err and "--drop V_init" in err and not target.exists()
    assert main(["export", "textbook", "--to", "neuroml", str(target), "--drop", "V_init"]) == 0
    assert capsys.readouterr().err.strip() == ("warning: V_init = -0.07 V not written: NeuroML's iaf cells start "
                                               "at reset (-0.065 V)")
    assert load_comparison(target).spec == load_spec("textbook").replace(V_init=-0.065)
    chosen = load_comparison(EXAMPLE, choices={"component": "iafRef"})
    assert chosen.provenance.node == "iafRef" and load_comparison("neuroml_iaf_ref").spec == chosen.spec


def test_export_is_byte_identical_on_rerun(tmp_path):
    spec = load_spec("neuromatch")
    nml.write(spec, tmp_path / "a.nml", {})
    nml.write(spec, tmp_path / "b.nml", {})
    assert (tmp_path / "a.nml").read_bytes() == (tmp_path / "b.nml").read_bytes()
