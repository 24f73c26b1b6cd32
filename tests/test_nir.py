"""NIR in and out (models/formats/nir_.py, comparisons/exchange.py): files written by the real ``nir``
library and by snnTorch's exporter, the unit mapping against hand-converted SI values, round trips,
populations, and every refusal as one line with exit status 2 and nothing written."""

from __future__ import annotations

import hashlib
import json

import nir
import numpy as np
import pytest

from comparisons.cli import main
from comparisons.config import load_comparison
from models.errors import InputFileError, UserInputError
from models.files import PRESET_DIR, example_names
from models.formats import nir_
from models.loading import load_spec, spec_from_document


def graph(node, name="lif", n=1):
    """Input -> node -> Output, as the nir library builds it."""
    return nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([n])}), name: node,
                               "output": nir.Output(output_type={"output": np.array([n])})},
                        edges=[("input", name), (name, "output")])


def arr(*values):
    return np.array(values, dtype=np.float64)


def lif(**changes):
    p = dict(tau=arr(20.0), r=arr(100.0), v_leak=arr(-70.0), v_threshold=arr(-50.0), v_reset=arr(-65.0))
    p.update(changes)
    return nir.LIF(**p)


MS_MV_MOHM = {"time_unit": "1 ms", "voltage_unit": "1 mV", "resistance_unit": "1 Mohm"}


@pytest.fixture
def lif_file(tmp_path):
    path = tmp_path / "cell.nir"
    nir.write(path, graph(lif()))
    return path


def test_lif_node_in_ms_mv_mohm_is_the_textbook_cell(lif_file):
    (cell,) = nir_.read(lif_file, MS_MV_MOHM)
    spec = spec_from_document(cell.document)
    # hand-converted: 20 ms, 100 MOhm, -70 / -50 / -65 mV; NIR has no t_ref and no initial state
    assert spec.tau_m == pytest.approx(0.020, rel=1e-15) and spec.R == pytest.approx(1e8, rel=1e-15)
    assert (spec.E_L, spec.V_th, spec.V_reset) == pytest.approx((-0.070, -0.050, -0.065), rel=1e-15)
    assert spec.t_ref == 0.0 and spec.V_init == spec.E_L and spec.reset == "value" and spec.leak
    p = cell.provenance
    assert p.format == "nir" and p.node == "lif" and p.sha256 == hashlib.sha256(lif_file.read_bytes()).hexdigest()
    assert dict(p.mapping)["time"] == "1 NIR unit = 1 ms (chosen; time_unit)"
    assert dict(p.original)["tau"] == "20.0" and dict(p.original)["node type"] == "LIF"
    assert any("no refractory period" in n for n in p.notes) and any("no initial state" in n for n in p.notes)


def test_default_mapping_is_seconds_volts_ohms(tmp_path):
    path = tmp_path / "si.nir"
    nir.write(path, graph(lif(tau=arr(0.01), r=arr(2.0), v_leak=arr(0.0), v_threshold=arr(1.0), v_reset=arr(0.0))))
    spec = spec_from_document(nir_.read(path, {})[0].document)
    assert (spec.tau_m, spec.R, spec.V_th, spec.V_reset, spec.E_L) == (0.01, 2.0, 1.0, 0.0, 0.0)


def test_if_node_is_the_cell_without_leak(tmp_path):
    """dv/dt = r I in ms, mV and MOhm: C = 1 ms/(r MOhm); r = 0.01 gives 1e-3/1e4 F = 100 nF (issue #22)."""
    path = tmp_path / "if.nir"
    nir.write(path, graph(nir.IF(r=arr(0.01), v_threshold=arr(20.0), v_reset=arr(0.0)), "if"))
    spec = spec_from_document(nir_.read(path, MS_MV_MOHM)[0].document)
    assert not spec.leak and spec.C == pytest.approx(100e-9, rel=1e-15)
    assert (spec.V_th, spec.V_reset, spec.V_init, spec.t_ref) == pytest.approx((0.020, 0.0, 0.0, 0.0))


def test_cubalif_node_is_the_synaptic_variant(tmp_path):
    path = tmp_path / "cuba.nir"
    node = nir.CubaLIF(tau_mem=arr(20.0), tau_syn=arr(5.0), r=arr(100.0), v_leak=arr(-70.0),
                       v_threshold=arr(-50.0), v_reset=arr(-65.0), w_in=arr(2.0))
    nir.write(path, graph(node, "cuba"))
    (cell,) = nir_.read(path, MS_MV_MOHM)
    spec = spec_from_document(cell.document)
    assert spec.tau_syn == pytest.approx(0.005, rel=1e-15) and spec.tau_m == pytest.approx(0.020, rel=1e-15)
    # w_in/tau_syn current units per spike: 2/5 x (1 mV / 1 MOhm = 1 nA) = 0.4 nA, recorded, not used
    assert any("w_in/tau_syn = 4e-10 A per input spike" in n for n in cell.provenance.notes)


def test_the_shipped_snntorch_export(tmp_path):
    """The seed cell as snnTorch's own exporter wrote it: Leaky(beta = 1 - 1e-4/25.5 ms) -> tau = dt/(1 - beta),
    r = tau/dt with dt = 1e-4, in float32, behind a Linear layer of weight 1."""
    assert "snntorch_nir" in example_names()
    c = load_comparison("snntorch_nir")
    assert c.spec.tau_m == pytest.approx(0.0255, rel=1e-6) and c.spec.R == pytest.approx(255.0, rel=1e-6)
    assert (c.spec.V_th, c.spec.V_reset, c.spec.E_L, c.spec.t_ref) == (1.0, 0.0, 0.0, 0.0)
    exported = nir.read(PRESET_DIR / "snntorch_nir.nir")
    assert float(exported.nodes["1"].tau[0]) == c.spec.tau_m            # float32 widened exactly
    assert dict(c.provenance.original)["dtype"] == "float32"
    assert any("Linear '0'" in n for n in c.provenance.notes)


def test_snntorchs_exporter_writes_the_shipped_cell_again(tmp_path):
    """snnTorch's exporter run now (examples/nir/export_snntorch_seed.py) gives the cell the shipped file
    holds: its bytes may differ between runs, its cell may not."""
    import importlib.util
    path = PRESET_DIR.parent.parent / "examples" / "nir" / "export_snntorch_seed.py"
    spec = importlib.util.spec_from_file_location("export_snntorch_seed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(str(tmp_path / "snntorch_nir.nir"))        # the same name: name and description follow it
    [again] = nir_.read(tmp_path / "snntorch_nir.nir", {})
    [shipped] = nir_.read(PRESET_DIR / "snntorch_nir.nir", {})
    assert spec_from_document(again.document) == spec_from_document(shipped.document)
    assert again.provenance.node == shipped.provenance.node == "1"


@pytest.mark.parametrize("preset, drop", [("textbook", ["t_ref"]), ("integrate_and_fire", ["t_ref"]),
                                          ("snntorch_lapicque", [])])
def test_round_trip_through_a_file(tmp_path, preset, drop):
    spec = load_spec(preset)
    path = tmp_path / "out.nir"
    warnings = nir_.write(spec, path, {"drop": drop})
    assert len(warnings) == len(drop)
    again = spec_from_document(nir_.read(path, {})[0].document)
    expected = spec.replace(t_ref=0.0, name=again.name, description=again.description)
    if spec.leak:
        assert again == expected
    else:   # C -> r = 1/C -> C: one rounding each way
        assert again.replace(capacitance=expected.C) == expected and again.C == pytest.approx(spec.C, rel=4e-16)


def test_round_trip_in_other_units_and_of_a_synaptic_cell(tmp_path):
    spec = load_spec("textbook").replace(t_ref=0.0, tau_syn=0.005)
    path = tmp_path / "cuba.nir"
    nir_.write(spec, path, MS_MV_MOHM)
    assert float(nir.read(path).nodes["cubalif"].tau_syn[0]) == pytest.approx(5.0, rel=1e-15)
    again = spec_from_document(nir_.read(path, MS_MV_MOHM)[0].document)
    for key in ("tau_m", "tau_syn", "R", "E_L", "V_th", "V_reset", "V_init"):
        assert getattr(again, key) == pytest.approx(getattr(spec, key), rel=1e-15), key


def test_writing_is_byte_identical(tmp_path):
    spec = load_spec("snntorch_lapicque")
    nir_.write(spec, tmp_path / "a.nir", {})
    nir_.write(spec, tmp_path / "b.nir", {})
    assert (tmp_path / "a.nir").read_bytes() == (tmp_path / "b.nir").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nir", "b.nir"]   # no partial file left


def test_a_population_is_one_cell_per_distinct_parameter_set(tmp_path):
    path = tmp_path / "pop.nir"
    thresholds = arr(-50.0, -50.0, -48.0, -50.0, -48.0)
    node = lif(tau=np.full(5, 20.0), r=np.full(5, 100.0), v_leak=np.full(5, -70.0), v_threshold=thresholds,
               v_reset=np.full(5, -65.0))
    nir.write(path, graph(node, n=5))
    cells = nir_.read(path, MS_MV_MOHM)
    assert [c.provenance.node for c in cells] == ["lif[0]", "lif[1]"]
    assert [c.document["neuron"]["V_th"] for c in cells] == ["-0.05 V", "-0.048 V"]
    assert "neurons 2, 4" in cells[1].provenance.notes[-1]
    with pytest.raises(UserInputError, match=r"holds 2 distinct cells \(0: lif\[0\]; 1: lif\[1\]\)"):
        load_comparison(path, choices=MS_MV_MOHM)
    chosen = load_comparison(path, choices={**MS_MV_MOHM, "cell": "1"})
    assert chosen.spec.V_th == pytest.approx(-0.048) and chosen.provenance.node == "lif[1]"
    with pytest.raises(UserInputError, match="from 0 to 1"):
        load_comparison(path, choices={**MS_MV_MOHM, "cell": 2})


@pytest.mark.parametrize("nodes, message", [
    ({"li": nir.LI(tau=arr(20.0), r=arr(1.0), v_leak=arr(0.0))}, "LI refused, a leaky integrator has no threshold"),
    ({"affine": nir.Affine(weight=np.eye(1), bias=arr(0.0))}, "graph: expected a LIF-family node"),
])
def test_graph_without_a_lif_family_node_is_refused(tmp_path, nodes, message):
    path = tmp_path / "x.nir"
    (name, node), = nodes.items()
    nir.write(path, graph(node, name))
    with pytest.raises(UserInputError, match=message) as info:
        nir_.read(path, {})
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_unreadable_and_truncated_files_are_refused(tmp_path, lif_file):
    text = tmp_path / "text.nir"
    text.write_text("tau = 20\n")
    truncated = tmp_path / "truncated.nir"
    truncated.write_bytes(lif_file.read_bytes()[: lif_file.stat().st_size // 2])
    for path in (text, truncated):
        with pytest.raises(InputFileError, match="cannot be read as a NIR graph"):
            nir_.read(path, {})


def test_a_value_the_specification_refuses_names_the_node_and_the_mapping(lif_file):
    with pytest.raises(UserInputError) as info:    # -70 read as volts: a unit slip
        nir_.read(lif_file, {})
    message = str(info.value)
    assert "node 'lif' (LIF)." in message and "voltage_unit" in message and "\n" not in message


@pytest.mark.parametrize("changes, field", [({"t_ref": 0.002}, "neuron.t_ref: cannot be written to NIR"),
                                            ({"sigma": 2e-12}, "neuron.sigma"),
                                            ({"reset": "subtract"}, "neuron.reset"),
                                            ({"V_init": -0.06}, "neuron.V_init")])
def test_export_refuses_what_nir_cannot_hold(tmp_path, changes, field):
    spec = load_spec("textbook").replace(t_ref=0.0).replace(**changes)
    with pytest.raises(UserInputError, match=field):
        nir_.write(spec, tmp_path / "x.nir", {})
    assert not list(tmp_path.iterdir())


def test_command_line_export_and_refusals(tmp_path, capsys):
    out = tmp_path / "tb.nir"
    assert main(["export", "textbook", "--to", "nir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neuron.t_ref" in err and "--drop t_ref" in err and not out.exists()
    assert main(["export", "textbook", "--to", "nir", str(out), "--drop", "t_ref"]) == 0
    assert capsys.readouterr().err.strip() == "warning: t_ref = 0.002 s not written: NIR has no refractory period"
    assert main(["export", "textbook", "--to", "nir", str(out), "--drop", "t_ref"]) == 2   # exists
    assert "FILE: exists (--force replaces it)" in capsys.readouterr().err
    assert main(["export", "textbook", "--to", "nir", str(tmp_path / "x.toml"), "--drop", "t_ref"]) == 2
    assert "--to: expected a format (nir" in capsys.readouterr().err and not (tmp_path / "x.toml").exists()
    li = tmp_path / "li.nir"
    nir.write(li, graph(nir.LI(tau=arr(20.0), r=arr(1.0), v_leak=arr(0.0)), "li"))
    assert main(["run", str(li), "--out", str(tmp_path / "never"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "LI refused" in err and not (tmp_path / "never").exists()
    assert main(["run", "textbook", "--map", "time_unit=1 ms", "--out", str(tmp_path / "never")]) == 2
    assert "--map: applies to an exchange file" in capsys.readouterr().err


def test_a_comparison_file_names_its_cell_and_adds_what_nir_lacks(tmp_path, lif_file):
    toml = tmp_path / "cmp.toml"
    toml.write_text('[neuron]\nfrom = "cell.nir"\ntime_unit = "1 ms"\nvoltage_unit = "1 mV"\n'
                    'resistance_unit = "1 Mohm"\nt_ref = "2 ms"\n')
    c = load_comparison(toml)
    textbook = load_spec("textbook")
    for key in ("tau_m", "R", "E_L", "V_th", "V_reset", "V_init"):
        assert getattr(c.spec, key) == pytest.approx(getattr(textbook, key), rel=1e-15), key
    assert c.spec.name == "cmp" and c.spec.t_ref == 0.002 and c.provenance.node == "lif"
    assert c.provenance.notes[-1] == "neuron.t_ref = 2 ms given in cmp.toml, not taken from the file"
    toml.write_text('[neuron]\nfrom = "cell.nir"\ntime_units = "1 ms"\n')
    with pytest.raises(UserInputError, match=r'neuron.time_units: unknown key \(did you mean "time_unit"\?\)'):
        load_comparison(toml)


def test_provenance_reaches_the_manifest_only_for_imported_cells(tmp_path):
    from reports.writers import provenance
    assert provenance(load_comparison("textbook")) == {}
    shown = provenance(load_comparison("snntorch_nir"))["provenance"]
    assert shown["file"] == "models/presets/snntorch_nir.nir" and shown["node"] == "1"
    assert json.loads(json.dumps(shown)) == shown


def test_the_example_is_listed_and_choices_need_an_exchange_file(capsys):
    from comparisons.api import load
    from reports.html import reproduce_command
    assert main(["presets"]) == 0
    assert "snntorch_nir         The NIR LIF node '1' of snntorch_nir.nir" in capsys.readouterr().out
    assert reproduce_command(str(PRESET_DIR / "snntorch_nir.nir")) == "python -m comparisons run snntorch_nir"
    with pytest.raises(UserInputError, match="choices: apply to an exchange file"):
        load(load_spec("textbook"), choices={"time_unit": "1 ms"})


def test_a_subgraph_node_is_found_and_chosen_by_its_dotted_name(tmp_path):
    """A recurrent export (snnTorch's RLeaky) nests its LIF in a subgraph: its cell is ``outer.lif``."""
    inner = graph(lif(), "lif")
    outer = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}), "rleaky": inner,
                                "readout": nir.LI(tau=arr(20.0), r=arr(1.0), v_leak=arr(0.0)),
                                "output": nir.Output(output_type={"output": np.array([1])})},
                         edges=[("input", "rleaky"), ("rleaky", "readout"), ("readout", "output")],
                         type_check=False)
    path = tmp_path / "nested.nir"
    nir.write(path, outer)
    (cell,) = nir_.read(path, MS_MV_MOHM)
    assert cell.provenance.node == "rleaky.lif" and any("LI 'readout'" in n for n in cell.provenance.notes)
    assert nir_.read(path, {**MS_MV_MOHM, "node": "rleaky.lif"})[0].provenance.node == "rleaky.lif"
    with pytest.raises(UserInputError, match="node 'readout': expected a LIF-family node .* LI refused"):
        nir_.read(path, {**MS_MV_MOHM, "node": "readout"})
    with pytest.raises(UserInputError, match="node: expected a node of the graph"):
        nir_.read(path, {**MS_MV_MOHM, "node": "nope"})


def test_the_reproduce_command_repeats_the_mapping_choices():
    """A report of an exchange file read with --map says how to make it again with the same choices: the
    command it prints, parsed as the shell would, loads the same cell (and not the default mapping's)."""
    import shlex
    from comparisons.cli import _choices, build_parser
    from comparisons.config import load_comparison
    from reports.html import reproduce_command
    chosen = load_comparison("snntorch_nir", None, {"voltage_unit": "1 mV", "resistance_unit": "1 kohm"})
    command = reproduce_command(chosen.source, None, chosen.choices)
    assert command == ("python -m comparisons run snntorch_nir --map 'resistance_unit=1 kohm' "
                       "--map 'voltage_unit=1 mV'")
    args = build_parser().parse_args(shlex.split(command)[3:])
    again = load_comparison(args.source, None, _choices(args.map))
    assert again.spec == chosen.spec
    assert again.spec.V_th != load_comparison("snntorch_nir").spec.V_th
