"""[neuron] tables in NEST's and PyNN's names and units (models/dialects.py): every key against SI values
converted by hand, the bias current's folding against the closed form of the unfolded cell, the
refusals (one line, exit 2, nothing written) and the provenance."""

import hashlib
import math
import tomllib

import pytest

from comparisons.cli import main
from models.dialects import dialect_provenance
from models.errors import UserInputError
from models.loading import load_spec, spec_from_document
from reference import closed_forms as cf

#: Each hand-converted value goes through one unit scaling (a decimal times a power of ten) and at most
#: one division (R = tau_m / C): at most two roundings, so within 2 ulps, i.e. 4.5e-16 relative.
ULPS = 4.5e-16

NEST = {"dialect": "nest", "C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -70.0, "V_th": -55.0,
        "V_reset": -70.0}
PYNN = {"dialect": "pynn", "cm": 1.0, "tau_m": 20.0, "tau_refrac": 0.1, "v_rest": -65.0, "v_thresh": -50.0,
        "v_reset": -65.0}


def spec(table, **extra):
    return spec_from_document({"name": "cell", "neuron": {**table, **extra}})


def close(value, expected):
    return value == pytest.approx(expected, rel=ULPS, abs=0)


def test_nest_plain_numbers_are_nest_units():
    s = spec(NEST, V_m=-68.0)
    # C_m 250 pF, tau_m 10 ms, t_ref 2 ms, E_L -70 mV, V_th -55 mV, V_reset -70 mV, V_m -68 mV
    assert close(s.C, 2.5e-10) and close(s.tau_m, 0.01) and close(s.t_ref, 0.002)
    assert close(s.R, 4e7)  # 10 ms / 250 pF
    assert close(s.E_L, -0.07) and close(s.V_th, -0.055) and close(s.V_reset, -0.07) and close(s.V_init, -0.068)
    assert s.tau_syn is None and s.is_plain


def test_pynn_plain_numbers_are_pynn_units():
    s = spec(PYNN, v=-60.0, tau_syn_E=5.0)
    # cm 1 nF, tau_m 20 ms, tau_refrac 0.1 ms, v_rest -65, v_thresh -50, v_reset -65, v -60 mV, 5 ms
    assert close(s.C, 1e-9) and close(s.tau_m, 0.02) and close(s.t_ref, 1e-4) and close(s.R, 2e7)
    assert close(s.E_L, -0.065) and close(s.V_th, -0.05) and close(s.V_reset, -0.065) and close(s.V_init, -0.06)
    assert close(s.tau_syn, 0.005)  # IF_curr_exp: the synaptic variant


@pytest.mark.parametrize("table, units", [
    (NEST, {"C_m": "pF", "tau_m": "ms", "t_ref": "ms", "E_L": "mV", "V_th": "mV", "V_reset": "mV"}),
    (PYNN, {"cm": "nF", "tau_m": "ms", "tau_refrac": "ms", "v_rest": "mV", "v_thresh": "mV", "v_reset": "mV"})])
def test_quantities_with_units_equal_plain_numbers(table, units):
    written = {key: f"{value} {units[key]}" if key in units else value for key, value in table.items()}
    converted = {key: f"{value * 1e-3} V" if units.get(key) == "mV" else written[key] for key, value in table.items()}
    assert spec(written) == spec(table)
    assert spec(converted).V_th == pytest.approx(spec(table).V_th, rel=ULPS)


def test_dialect_equals_the_native_table_exactly():
    native = {"C": "250 pF", "tau_m": "10 ms", "t_ref": "2 ms", "E_L": "-70 mV", "V_th": "-55 mV",
              "V_reset": "-70 mV"}
    assert spec(NEST) == spec(native)
    assert spec(native, dialect="native") == spec(native)


def test_nest_bias_current_is_folded_into_the_leak_reversal():
    s = spec(NEST, I_e=100.0)
    # E_L + R I_e = -70 mV + 40 MOhm x 100 pA = -66 mV; the cell starts at E_L as written
    assert s.E_L == pytest.approx(-0.066, rel=4 * ULPS) and close(s.V_init, -0.07)
    assert s.rheobase == pytest.approx(2.75e-10, rel=1e-12)  # 375 pA - 100 pA
    plain = spec(NEST)
    for current in (3e-10, 5e-10, 1e-9):  # the folded cell under I is the written cell under I + I_e
        assert cf.rate(s, current) == pytest.approx(cf.rate(plain, current + 1e-10), rel=1e-12)
        assert cf.first_spike_latency(s, current, -0.07) == pytest.approx(
            cf.first_spike_latency(plain, current + 1e-10, -0.07), rel=1e-12)


def test_pynn_offset_current_is_in_nanoamperes():
    s = spec(PYNN, i_offset=0.1)  # 20 MOhm x 0.1 nA = 2 mV
    assert s.E_L == pytest.approx(-0.063, rel=4 * ULPS) and close(s.V_init, -0.065)


def test_equal_inhibitory_time_constant_is_accepted():
    assert spec(PYNN, tau_syn_E=5.0, tau_syn_I=5.0) == spec(PYNN, tau_syn_E=5.0)
    assert spec(NEST, tau_syn_ex=2.0, tau_syn_in="2 ms").tau_syn == pytest.approx(0.002, rel=ULPS)


@pytest.mark.parametrize("table, extra, fragments", [
    (NEST, {"tau_syn_ex": 2.0, "tau_syn_in": 3.0}, ["neuron.tau_syn_in", "contradicts neuron.tau_syn_ex", '"3.0"']),
    (PYNN, {"tau_syn_E": 5.0, "tau_syn_I": 2.0}, ["neuron.tau_syn_I", "contradicts neuron.tau_syn_E"]),
    (PYNN, {"tau_syn_I": 2.0}, ["neuron.tau_syn_I", "contradicts"]),
    (NEST, {"C_m": -250.0}, ["neuron.C_m", "positive capacitance", '"-250.0"']),
    (NEST, {"tau_m": "10 mV"}, ["neuron.tau_m", "expected a time", '"10 mV"']),
    (NEST, {"C_m": "250"}, ["neuron.C_m", "a number (in pF)", '"250"']),
    (NEST, {"V_m": -50.0}, ["neuron.V_m", "below neuron.V_th", '"-50.0"']),
    (PYNN, {"v_thresh": -70.0}, ["neuron.v_thresh", "above neuron.V_reset", '"-70.0"']),
    (NEST, {"I_e": 1e6}, ["neuron.E_L (with I_e)", '"E_L = -70.0, I_e = 1000000.0: E_L + R I_e = ']),
    (NEST, {"C_m": 1e-9}, ["neuron.R", "between", '"C_m = 1e-09, tau_m = 10.0"']),
    (NEST, {"cm": 1.0}, ["neuron.cm", 'dialect = "pynn"']),
    (NEST, {"C": 1.0}, ["neuron.C", 'did you mean "C_m"']),
    (NEST, {"dialect": "nets"}, ["neuron.dialect", 'did you mean "nest"', '"nets"']),
    ({k: v for k, v in NEST.items() if k != "C_m"}, {}, ["neuron.C_m", "required", "no simulator default"]),
    ({k: v for k, v in PYNN.items() if k != "tau_refrac"}, {}, ["neuron.tau_refrac", "required"]),
])
def test_refusals_name_the_key_as_written(table, extra, fragments):
    with pytest.raises(UserInputError) as info:
        spec(table, **extra)
    message = str(info.value)
    assert all(fragment in message for fragment in fragments), message


def test_native_table_suggests_the_native_key_and_the_dialect():
    native = {"E_L": "-70 mV", "V_th": "-55 mV", "V_reset": "-70 mV", "t_ref": "2 ms", "tau_m": "10 ms",
              "C_m": "250 pF"}
    with pytest.raises(UserInputError) as info:
        spec(native)
    assert 'neuron.C_m: unknown key (did you mean "C"?)' in str(info.value)
    assert 'dialect = "nest"' in str(info.value)


def test_bad_dialect_file_is_one_line_exit_2_nothing_written(tmp_path, capsys):
    path = tmp_path / "cell.toml"
    path.write_text('[neuron]\ndialect = "pynn"\ncm = 1.0\ntau_m = 20.0\ntau_refrac = 0.1\nv_rest = -65.0\n'
                    'v_thresh = -50.0\nv_reset = -65.0\ntau_syn_E = 5.0\ntau_syn_I = 2.0\n')
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: neuron.tau_syn_I: contradicts")
    assert not out.exists()


def test_provenance_keeps_the_table_as_written(tmp_path):
    path = tmp_path / "nest_cell.toml"
    path.write_text('[neuron]\ndialect = "nest"\nC_m = 250.0\ntau_m = "10 ms"\nt_ref = 2.0\nE_L = -70.0\n'
                    'V_th = -55.0\nV_reset = -70.0\nI_e = 100.0\n')
    doc = tomllib.loads(path.read_text())
    prov = dialect_provenance(doc, path)
    assert prov.format == "nest" and prov.file == str(path)
    assert prov.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert dict(prov.original) == {"C_m": "250.0", "tau_m": "10 ms", "t_ref": "2.0", "E_L": "-70.0",
                                   "V_th": "-55.0", "V_reset": "-70.0", "I_e": "100.0"}
    assert "pF" in dict(prov.mapping)["C_m"] and "E_L" in dict(prov.mapping)["I_e"]
    assert any("I_e" in note and "folded" in note for note in prov.notes)
    assert dialect_provenance({"neuron": {"tau_m": "10 ms"}}, path) is None


@pytest.mark.parametrize("preset, R, rheobase", [("nest_iaf_psc_delta", 4e7, 3.75e-10),
                                                 ("pynn_if_curr_delta", 2e7, 7.5e-10)])
def test_dialect_presets_hold_the_simulators_defaults(preset, R, rheobase):
    s = load_spec(preset)
    assert close(s.R, R) and s.rheobase == pytest.approx(rheobase, rel=1e-12)
    assert math.isclose(s.V_init, s.E_L)


def test_a_dialect_file_keeps_its_provenance_for_the_manifest(tmp_path):
    from comparisons.config import load_comparison
    from reports.writers import provenance

    comparison = load_comparison("pynn_if_curr_delta")
    shown = provenance(comparison)["provenance"]
    assert shown["format"] == "pynn" and shown["original"]["cm"] == "1.0" and shown["original"]["v"] == "-65.0"
    assert "pF" not in shown["mapping"]["cm"] and "nF" in shown["mapping"]["cm"]
    assert load_comparison("textbook").provenance is None
