"""An exchange file holding several distinct cells (comparisons/cells.py, comparisons/exchange.py): a NIR LIF
node with vector parameters, written with the real ``nir`` library, run through the command line on the
reference and Nengo: one report per distinct cell with its provenance, the dashboard over them, the worst
exit status; the cap and the output place refused with one line and nothing written; one cell chosen by
index still one report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nir
import numpy as np
import pytest

from comparisons import compare, load
from comparisons.cells import cell_directories, run_cells
from comparisons.cli import main, safe_name
from comparisons.exchange import MAX_CELLS, several_cells
from conftest import small_sections
from models.errors import UserInputError
from models.formats import index_ranges

BACKENDS = ["reference", "nengo"]
#: thresholds of the node's five neurons (mV): two distinct cells, neurons 0, 1, 3 and 2, 4
THRESHOLDS = [-50.0, -50.0, -48.0, -50.0, -48.0]
MAPPING = 'time_unit = "1 ms"\nvoltage_unit = "1 mV"\nresistance_unit = "1 Mohm"\n'


def write_population(path: Path, thresholds) -> Path:
    """Input -> LIF (one neuron per threshold, every other parameter the textbook cell's) -> Output."""
    n = len(thresholds)
    node = nir.LIF(tau=np.full(n, 20.0), r=np.full(n, 100.0), v_leak=np.full(n, -70.0),
                   v_threshold=np.array(thresholds, dtype=np.float64), v_reset=np.full(n, -65.0))
    nir.write(path, nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([n])}), "lif": node,
                                        "output": nir.Output(output_type={"output": np.array([n])})},
                                 edges=[("input", "lif"), ("lif", "output")]))
    return path


def comparison_file(directory: Path, nir_name: str = "pop.nir") -> Path:
    toml = directory / "cmp.toml"
    toml.write_text(f'[neuron]\nfrom = "{nir_name}"\n{MAPPING}' + small_sections(backends=BACKENDS))
    return toml


@pytest.fixture(scope="module")
def population_run(tmp_path_factory):
    """``run cmp.toml --out out`` once for the module: (directory, exit status)."""
    directory = tmp_path_factory.mktemp("cells")
    write_population(directory / "pop.nir", THRESHOLDS)
    toml = comparison_file(directory)
    out = directory / "out"
    status = main(["run", str(toml), "--out", str(out), "--quiet"])
    return directory, status


def manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def test_each_distinct_cell_is_one_report_with_its_node_and_neurons(population_run):
    directory, status = population_run
    out = directory / "out"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "pop_lif_0", "pop_lif_1"]  # no lock left
    first, second = manifest(out / "pop_lif_0"), manifest(out / "pop_lif_1")
    # the cells' specifications: only the threshold differs (hand-converted from mV)
    assert first["specification"]["V_th"] == pytest.approx(-0.050, rel=1e-15)
    assert second["specification"]["V_th"] == pytest.approx(-0.048, rel=1e-15)
    for m in (first, second):
        assert m["specification"]["tau_m"] == pytest.approx(0.020, rel=1e-15)
        assert m["specification"]["R"] == pytest.approx(1e8, rel=1e-15) and m["specification"]["t_ref"] == 0.0
        assert m["simulation"]["backends"] == BACKENDS and not m["failures"]
    assert (first["provenance"]["node"], first["provenance"]["neurons"]) == ("lif[0]", "0-1, 3")
    assert (second["provenance"]["node"], second["provenance"]["neurons"]) == ("lif[1]", "2, 4")
    assert first["provenance"]["sha256"] == second["provenance"]["sha256"]
    page = (out / "pop_lif_1" / "report.html").read_text(encoding="utf-8")
    assert "node <code>lif[1]</code> (its neurons <code>2, 4</code>)" in page
    # the exit status is the worst of the cells' (each report's own)
    statuses = [m["verdict"]["exit_status"] for m in (first, second)]
    assert status == max(statuses, key=(0, 1, 3).index)


def test_the_dashboard_lists_every_cell(population_run):
    directory, _ = population_run
    index = (directory / "out" / "index.html").read_text(encoding="utf-8")
    assert 'href="pop_lif_0/report.html"' in index and 'href="pop_lif_1/report.html"' in index
    assert "2 specifications" in index and "Each distinct cell of cmp.toml" in index


def test_a_second_run_without_force_is_refused_before_any_simulation(population_run, capsys):
    directory, _ = population_run
    out = directory / "out"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["run", str(directory / "cmp.toml"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "--force" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_force_replaces_only_an_earlier_run_of_this_suite(population_run, tmp_path, capsys):
    directory, _ = population_run
    out = tmp_path / "out"
    shutil.copytree(directory / "out", out)
    (out / "notes.txt").write_text("mine")
    toml = comparison_file(tmp_path)
    shutil.copy(directory / "pop.nir", tmp_path / "pop.nir")
    assert main(["run", str(toml), "--out", str(out), "--force", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'notes.txt'" in err
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "notes.txt", "pop_lif_0", "pop_lif_1"]


@pytest.mark.parametrize("through", ["nir", "toml"])
def test_more_cells_than_the_cap_are_refused_with_one_line(tmp_path, capsys, through):
    path = write_population(tmp_path / "many.nir", [-50.0 + 0.01 * k for k in range(MAX_CELLS + 1)])
    source = path if through == "nir" else comparison_file(tmp_path, "many.nir")
    out = tmp_path / "out"
    args = ["run", str(source), "--out", str(out), "--quiet"]
    assert main(args + (["--map", "time_unit=1 ms", "--map", "voltage_unit=1 mV"] if through == "nir" else [])) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"at most {MAX_CELLS} distinct cells" in err and f"{MAX_CELLS + 1} distinct cells" in err
    assert "--map cell=K" in err and "sweep" in err and "many.nir" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["many.nir"] + (["cmp.toml"] if through == "toml" else []))


def test_exactly_the_cap_is_accepted(tmp_path):
    path = write_population(tmp_path / "cap.nir", [-50.0 + 0.01 * k for k in range(MAX_CELLS)] * 2)
    cells = several_cells(path, {"time_unit": "1 ms", "voltage_unit": "1 mV"})
    assert len(cells) == MAX_CELLS
    assert cells[-1].provenance.neurons == f"{MAX_CELLS - 1}, {2 * MAX_CELLS - 1}"


def test_choosing_one_cell_by_index_gives_one_report(population_run, tmp_path):
    directory, _ = population_run
    out = tmp_path / "one"
    assert main(["run", str(directory / "cmp.toml"), "--map", "cell=1", "--backends", "reference",
                 "--out", str(out), "--quiet"]) in (0, 1)
    assert not (out / "index.html").exists() and (out / "report.html").is_file()
    m = manifest(out)
    assert m["provenance"]["node"] == "lif[1]" and m["specification"]["V_th"] == pytest.approx(-0.048, rel=1e-15)


def test_the_api_refuses_several_cells_and_points_to_the_choice(population_run):
    directory, _ = population_run
    with pytest.raises(UserInputError, match=r'choices=\{"cell": K\}') as refused:
        compare(directory / "cmp.toml")
    assert "holds 2 distinct cells" in str(refused.value) and "\n" not in str(refused.value)
    assert load(directory / "cmp.toml", choices={"cell": 0}).provenance.neurons == "0-1, 3"


def test_the_exit_status_is_the_worst_of_the_cells(population_run, tmp_path):
    """The cells' own statuses (1: a verdict failed, 3: a backend failed) against the one run_cells
    returns: the real reports of the module's run stand in for the cells' runs."""
    directory, _ = population_run
    shutil.copy(directory / "pop.nir", tmp_path / "pop.nir")
    toml = comparison_file(tmp_path)
    cells = several_cells(toml, {})
    given = {0: 3, 1: 1}

    def replay(source, out, backends, force, quiet, timeout, choices):
        name = cell_directories(cells, safe_name)[choices["cell"]]
        shutil.copytree(directory / "out" / name, out)
        return given[choices["cell"]], manifest(out)

    class Args:
        out, force, quiet, timeout, junit, baseline = str(tmp_path / "out"), False, True, None, None, None

    assert run_cells(toml, cells, Args, BACKENDS, {}, replay, safe_name) == 3
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "worst exit status 3" in index


def test_index_ranges():
    assert index_ranges([0, 2, 3, 4, 7]) == "0, 2-4, 7"
    assert index_ranges([5]) == "5" and index_ranges([]) == ""


def test_the_nir_file_itself_with_every_default_and_junit(population_run, tmp_path):
    """``run pop.nir`` (no comparison file) on the reference: the same two cells, named by the file, and a
    JUnit file with a test case per verdict row of each, prefixed with the cell's directory."""
    directory, _ = population_run
    out, junit = tmp_path / "out", tmp_path / "cells.xml"
    status = main(["run", str(directory / "pop.nir"), "--backends", "reference", "--out", str(out), "--quiet",
                   "--junit", str(junit), "--map", "time_unit=1 ms", "--map", "voltage_unit=1 mV",
                   "--map", "resistance_unit=1 Mohm"])
    assert status == max((manifest(out / n)["verdict"]["exit_status"] for n in ("pop_lif_0", "pop_lif_1")),
                         key=(0, 1, 3).index)
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "pop_lif_0", "pop_lif_1"]
    assert manifest(out / "pop_lif_0")["specification"]["name"] == "pop_lif_0"
    assert manifest(out / "pop_lif_1")["provenance"]["neurons"] == "2, 4"
    cases = junit.read_text(encoding="utf-8")
    assert 'name="pop_lif_0/' in cases and 'name="pop_lif_1/' in cases


def test_baseline_needs_one_cell(population_run, tmp_path, capsys):
    directory, _ = population_run
    out = tmp_path / "out"
    assert main(["run", str(directory / "cmp.toml"), "--out", str(out), "--quiet",
                 "--baseline", str(directory / "out" / "pop_lif_0")]) == 2
    assert "--map cell=K" in capsys.readouterr().err and not out.exists()
