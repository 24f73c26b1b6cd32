"""One NIR cell through the whole comparison on the core backends (reference, Brian2, Nengo), with its
provenance in the manifest and the report; and NIR's IF node as the cell without leak (issue #22):
the reference and Brian2 run it, Nengo refuses it with its reason."""

from __future__ import annotations

import hashlib
import json

import nir
import numpy as np

from comparisons import compare
from comparisons.cli import main
from conftest import small_sections
from models.formats import nir_
from models.loading import load_spec

CORE = ["reference", "brian2", "nengo"]


def test_textbook_through_nir_on_the_core_backends(tmp_path, capsys):
    """textbook -> NIR (t_ref dropped) -> a comparison file naming it and giving t_ref back: every
    verdict passes on the three core backends, and the report says where the cell came from."""
    nir_.write(load_spec("textbook"), tmp_path / "textbook.nir", {"drop": ["t_ref"]})
    toml = tmp_path / "cmp.toml"
    toml.write_text('[neuron]\nfrom = "textbook.nir"\nt_ref = "2 ms"\n' + small_sections(backends=CORE))
    out = tmp_path / "report"
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    p = manifest["provenance"]
    assert p["format"] == "nir" and p["node"] == "lif" and p["file"].endswith("textbook.nir")
    assert p["sha256"] == hashlib.sha256((tmp_path / "textbook.nir").read_bytes()).hexdigest()
    assert p["notes"][-1] == "neuron.t_ref = 2 ms given in cmp.toml, not taken from the file"
    assert set(manifest["backends"]) >= set(CORE) and not manifest["failures"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Read from NIR" in page and "NIR has no refractory period" in page


def test_if_node_runs_without_leak_on_reference_and_brian2(tmp_path):
    path = tmp_path / "if.nir"
    node = nir.IF(r=np.array([1e10]), v_threshold=np.array([0.02]), v_reset=np.array([0.0]))   # C = 100 pF
    nir.write(path, nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}), "if": node,
                                        "output": nir.Output(output_type={"output": np.array([1])})},
                                 edges=[("input", "if"), ("if", "output")]))
    toml = tmp_path / "if.toml"
    toml.write_text('[neuron]\nfrom = "if.nir"\n' + small_sections(backends=CORE))
    result = compare(toml)
    outcome = result.outcome
    assert not outcome.comparison.spec.leak and outcome.comparison.spec.C == 1e-10
    assert "nengo" in outcome.not_representable and "leak" in outcome.not_representable["nengo"]
    assert result.exit_status == 0 and result.verdict == "pass", result.failed
