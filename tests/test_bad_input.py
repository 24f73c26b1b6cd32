"""A battery of bad inputs: each gives one line on stderr naming file, field, expectation and value,
exit status 2, no traceback, and no output directory."""

import pytest

from comparisons.cli import main
from comparisons import backends

NEURON = {"tau_m": '"20 ms"', "E_L": '"-70 mV"', "V_th": '"-50 mV"', "V_reset": '"-65 mV"',
          "R": '"100 Mohm"', "t_ref": '"2 ms"'}


def toml(neuron=None, extra="", drop=(), name='"cell"'):
    table = dict(NEURON)
    table.update(neuron or {})
    lines = [f"name = {name}", "[neuron]"] + [f"{k} = {v}" for k, v in table.items() if k not in drop]
    return "\n".join(lines) + "\n" + extra


# (case id, file text or bytes, extra CLI args, substrings the message must contain)
CASES = [
    ("tau_negative", toml({"tau_m": '"-3 ms"'}), [], ["neuron.tau_m", "positive time", '"-3 ms"']),
    ("tau_zero", toml({"tau_m": '"0 s"'}), [], ["neuron.tau_m", "positive time", '"0 s"']),
    ("voltage_for_time", toml({"tau_m": '"5 mV"'}), [], ["neuron.tau_m", "expected a time", '"5 mV"']),
    ("time_for_voltage", toml({"V_th": '"5 ms"'}), [], ["neuron.V_th", "expected a voltage", '"5 ms"']),
    ("current_for_resistance", toml({"R": '"1 nA"'}), [], ["neuron.R", "expected a resistance"]),
    ("conductance_for_time", toml({"t_ref": '"2 nS"'}), [], ["neuron.t_ref", "expected a time"]),
    ("unitless_string", toml({"E_L": '"-70"'}), [], ["neuron.E_L", "with a unit", '"-70"']),
    ("bare_number", toml({"E_L": "-70"}), [], ["neuron.E_L", "with a unit", '"-70"']),
    ("nan", toml({"V_th": '"nan mV"'}), [], ["neuron.V_th", "finite", '"nan mV"']),
    ("inf", toml({"tau_m": '"inf ms"'}), [], ["neuron.tau_m", '"inf ms"']),
    ("absurd_voltage", toml({"E_L": '"-70 kV"'}), [], ["neuron.E_L", "between", '"-70 kV"']),
    ("absurd_time", toml({"tau_m": '"20 ks"'}), [], ["neuron.tau_m", "between", '"20 ks"']),
    ("threshold_below_reset", toml({"V_th": '"-70 mV"'}), [], ["neuron.V_th", "above neuron.V_reset"]),
    ("v_init_above_threshold", toml({"V_init": '"-40 mV"'}), [], ["neuron.V_init", "below neuron.V_th"]),
    ("contradictory_membrane", toml({"C": '"300 pF"'}), [], ["neuron.tau_m", "contradicts"]),
    ("contradictory_g_L", toml({"g_L": '"20 nS"'}), [], ["neuron.g_L", "contradicts", '"20 nS"']),
    ("missing_membrane", toml(drop=("R",)), [], ["neuron", "expected the membrane"]),
    ("missing_key", toml(drop=("V_reset",)), [], ["neuron.V_reset", "required"]),
    ("unknown_key", toml({"tau": '"20 ms"'}), [], ["neuron.tau", 'did you mean "tau_m"']),
    ("misspelt_section", toml(extra='[simulaton]\ndt = "0.1 ms"\n'), [], ["simulaton", 'did you mean "simulation"']),
    ("missing_neuron_table", 'name = "x"\n', [], ["neuron", "required"]),
    ("euler_dt_too_large", toml(extra='[simulation]\nmethod = "euler"\ndt = "5 ms"\nduration = "500 ms"\n'), [],
     ["simulation.dt", "tau_m/10", '"5 ms"']),
    ("dt_not_dividing", toml(extra='[simulation]\ndt = "0.3 ms"\nduration = "500 ms"\n'), [],
     ["simulation.duration", "whole number of steps", '"500 ms"']),
    # a refractory period shorter than one step is accepted (backends refuse it one by one, see
    # tests/test_self_oscillating.py); one of more than a step must be a whole number of steps
    ("t_ref_not_whole_steps", toml({"t_ref": '"0.15 ms"'}, extra='[simulation]\ndt = "0.1 ms"\n'), [],
     ["simulation.dt", "t_ref", "whole number of steps", '"0.1 ms"']),
    ("unknown_method", toml(extra='[simulation]\nmethod = "rk4"\n'), [], ["simulation.method", '"rk4"']),
    ("fi_reversed", toml(extra='[fi_curve]\nI_min = "500 pA"\nI_max = "100 pA"\n'), [],
     ["fi_curve.I_max", "above fi_curve.I_min", '"100 pA"']),
    ("fi_num_too_small", toml(extra="[fi_curve]\nnum = 1\n"), [], ["fi_curve.num", "at least 2", '"1"']),
    ("unknown_stimulus_kind", toml(extra='[[stimulus]]\nname = "s"\nkind = "square"\n'), [],
     ["stimulus[0].kind", "expected one of", '"square"']),
    ("stimulus_missing_key", toml(extra='[[stimulus]]\nname = "s"\nkind = "dc"\n'), [],
     ["stimulus[0].amplitude", "required"]),
    ("stimulus_wrong_unit", toml(extra='[[stimulus]]\nname = "s"\nkind = "dc"\namplitude = "3 mV"\n'), [],
     ["stimulus[0].amplitude", "expected a current", '"3 mV"']),
    ("duplicate_stimulus", toml(extra='[[stimulus]]\nname = "s"\nkind = "dc"\namplitude = "1 pA"\n'
                                      '[[stimulus]]\nname = "s"\nkind = "dc"\namplitude = "2 pA"\n'), [],
     ["stimulus[1].name", "unique"]),
    ("reserved_stimulus_name", toml(extra='[[stimulus]]\nname = "fi_curve"\nkind = "dc"\namplitude = "1 pA"\n'),
     [], ["stimulus[0].name", "reserved", '"fi_curve"']),
    ("unknown_backend", toml(extra='[simulation]\nbackends = ["reference", "neuron"]\n'), [],
     ["simulation.backends", "unknown backend", '"neuron"', "brian2"]),
    ("backends_not_list", toml(extra='[simulation]\nbackends = "reference"\n'), [],
     ["simulation.backends", "list"]),
    ("unknown_tolerance", toml(extra="[tolerances]\nspike_count = 3\n"), [], ["tolerances.spike_count", "unknown"]),
    ("negative_tolerance", toml(extra='[tolerances]\nfirst_spike_latency_diff = "-1 ms"\n'), [],
     ["tolerances.first_spike_latency_diff", "non-negative"]),
    ("convergence_too_few", toml(extra='[convergence]\ndt = ["0.2 ms", "0.1 ms"]\n'), [],
     ["convergence.dt", "at least 3"]),
    ("huge_request", toml(extra='[fi_curve]\nnum = 100000\nduration = "100 s"\n'), [],
     ["fi_curve.num", "neuron-steps", "fewer currents"]),
    ("negative_timeout", toml(extra='[simulation]\ntimeout = "-1 s"\n'), [], ["simulation.timeout", "positive"]),
    ("empty_file", "", [], ["is empty"]),
    ("whitespace_file", "  \n\n", [], ["is empty"]),
    ("non_utf8", b"name = \"\xff\xfe\"\n", [], ["UTF-8"]),
    ("malformed_toml", 'name = "x"\n[neuron\n', [], ["malformed TOML"]),
    ("binary_large_file", b"x" * (2 << 20), [], ["at most"]),
    ("empty_backend_list_cli", toml(), ["--backends", "reference,,brian2"], ["--backends", "comma-separated"]),
    ("unknown_backend_cli", toml(), ["--backends", "reference,nest2"], ["--backends", "unknown backend"]),
]


@pytest.mark.parametrize("case, content, args, fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, capsys, case, content, args, fragments):
    path = tmp_path / "cell.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "out"
    status = main(["run", str(path), "--out", str(out), "--quiet", *args])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(path) in err or "--backends" in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path], "nothing else written"


def test_battery_has_at_least_thirty_distinct_cases():
    assert len({c[0] for c in CASES}) >= 30


def write_cell(tmp_path):
    path = tmp_path / "cell.toml"
    path.write_text(toml())
    return path


def test_missing_file(tmp_path, capsys):
    status = main(["run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 2 and "nope.toml: no such file" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_unknown_preset_name(capsys):
    assert main(["run", "texbook", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert 'did you mean "textbook"' in err and err.count("\n") == 1


def test_directory_instead_of_file(tmp_path, capsys):
    (tmp_path / "d.toml").mkdir()
    assert main(["run", str(tmp_path / "d.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "expected a regular file" in capsys.readouterr().err


def test_output_path_is_a_file(tmp_path, capsys):
    target = tmp_path / "report"
    target.write_text("keep me")
    assert main(["run", str(write_cell(tmp_path)), "--out", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--out: expected a directory" in err and target.read_text() == "keep me"


def test_output_parent_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", str(write_cell(tmp_path)), "--out", str(blocker / "sub"), "--quiet"]) == 2
    assert "has a file where a directory is needed" in capsys.readouterr().err


def test_non_empty_output_without_force(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous report")
    assert main(["run", str(write_cell(tmp_path)), "--out", str(out), "--quiet"]) == 2
    assert "use --force" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_uninstalled_backend_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "ghost", ("reference.backend", "no_such_simulator_package"))
    assert main(["run", str(write_cell(tmp_path)), "--backends", "reference,ghost", "--quiet",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not installed" in err and "no_such_simulator_package" in err and '"ghost"' in err


@pytest.mark.parametrize("argv", [["run"], ["frobnicate"], ["run", "textbook", "--bogus"],
                                  ["run", "textbook", "--timeout", "soon"]])
def test_command_line_usage_errors_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: command line:")


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "cell.toml"
    path.write_text(toml({"tau_m": '"-3 ms"'}))
    from models.errors import SpecificationError
    with pytest.raises(SpecificationError):
        main(["--debug", "run", str(path), "--out", str(tmp_path / "o")])
