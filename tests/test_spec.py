"""The specification: units, derivation of the membrane, validation messages, presets."""

import math
import tomllib

import pytest

from models.errors import SpecificationError, UnitError, UserInputError
from models.files import preset_names
from models.loading import load_spec, spec_from_document, spec_to_toml
from models.spec import LIFSpec, membrane

TEXTBOOK = {"tau_m": "20 ms", "E_L": "-70 mV", "V_th": "-50 mV", "V_reset": "-65 mV", "R": "100 Mohm",
            "t_ref": "2 ms"}


def doc(**neuron):
    table = dict(TEXTBOOK)
    for key, value in neuron.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return {"name": "cell", "neuron": table}


def test_textbook_in_si():
    spec = spec_from_document(doc())
    assert (spec.tau_m, spec.E_L, spec.V_th, spec.V_reset, spec.R, spec.t_ref) == (
        0.02, -0.07, -0.05, -0.065, 1e8, 0.002)
    assert spec.V_init == spec.E_L
    assert spec.C == pytest.approx(2e-10, rel=1e-15)
    assert spec.rheobase == pytest.approx(200e-12, rel=1e-15)


@pytest.mark.parametrize("membrane_keys", [
    {"R": "100 Mohm"},
    {"R": None, "C": "200 pF", "g_L": "10 nS", "tau_m": None},
    {"R": None, "g_L": "10 nS"},
    {"R": None, "C": "200 pF"},
    {"C": "200 pF"},                        # redundant but consistent
    {"g_L": "10 nS"},                       # R and g_L both, consistent
])
def test_membrane_given_any_consistent_way(membrane_keys):
    spec = spec_from_document(doc(**membrane_keys))
    assert spec.tau_m == pytest.approx(0.02, rel=1e-12)
    assert spec.R == pytest.approx(1e8, rel=1e-12)


@pytest.mark.parametrize("neuron, field, fragment", [
    ({"tau_m": "-3 ms"}, "neuron.tau_m", 'must be a positive time, got "-3 ms"'),
    ({"tau_m": "0 ms"}, "neuron.tau_m", 'must be a positive time, got "0 ms"'),
    ({"V_th": "5 ms"}, "neuron.V_th", 'expected a voltage, got "5 ms"'),
    ({"R": "100"}, "neuron.R", "expected a resistance with a unit"),
    ({"R": 100}, "neuron.R", "expected a resistance with a unit"),
    ({"tau_m": "nan ms"}, "neuron.tau_m", "must be a positive time"),
    ({"E_L": "inf mV"}, "neuron.E_L", 'must be finite, got "inf mV"'),
    ({"E_L": "-70 V"}, "neuron.E_L", "must lie between"),
    ({"V_th": "-70 mV"}, "neuron.V_th", 'must be above neuron.V_reset (-0.065 V), got "-70 mV"'),
    ({"V_th": "-65 mV"}, "neuron.V_th", "must be above neuron.V_reset"),
    ({"V_init": "-50 mV"}, "neuron.V_init", "must be below neuron.V_th"),
    ({"V_init": "-40 mV"}, "neuron.V_init", "must be below neuron.V_th"),
    ({"t_ref": "-1 ms"}, "neuron.t_ref", 'must be a non-negative time, got "-1 ms"'),
    ({"C": "300 pF"}, "neuron.tau_m", "contradicts the other membrane values"),
    ({"g_L": "20 nS"}, "neuron.g_L", "contradicts the other membrane values"),
    ({"R": None}, "neuron", "expected the membrane as"),
    ({"tau_m": None}, "neuron", "expected the membrane as"),
    ({"V_reset": None}, "neuron.V_reset", "is required but missing"),
    ({"t_ref": None}, "neuron.t_ref", "is required but missing"),
    ({"tau": "20 ms"}, "neuron.tau", 'unknown key (did you mean "tau_m"?)'),
    ({"V_thresh": "1 mV"}, "neuron.V_thresh", 'did you mean "V_th"?'),
    ({"tau_m": "20 foo"}, "neuron.tau_m", "expected a time with a known unit"),
])
def test_validation_names_field_expectation_and_value(neuron, field, fragment):
    with pytest.raises(UserInputError) as info:
        spec_from_document(doc(**neuron))
    assert info.value.field == field
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_errors_are_project_errors_not_bare_exceptions():
    with pytest.raises(UnitError):
        spec_from_document(doc(V_th="5 ms"))
    with pytest.raises(SpecificationError):
        LIFSpec(name="x", tau_m=0.02, E_L=-0.07, V_th=-0.08, V_reset=-0.065, R=1e8)
    with pytest.raises(ValueError):  # the hierarchy also derives from ValueError
        membrane(tau_m=0.02)


def test_missing_name_and_neuron_table():
    with pytest.raises(SpecificationError, match="name: expected a non-empty string"):
        spec_from_document({"neuron": TEXTBOOK})
    with pytest.raises(SpecificationError, match=r"neuron: is required but missing"):
        spec_from_document({"name": "x"})


def test_error_names_the_file(tmp_path):
    path = tmp_path / "cell.toml"
    path.write_text('name = "x"\n[neuron]\ntau_m = "-3 ms"\nE_L = "-70 mV"\nV_th = "-50 mV"\n'
                    'V_reset = "-65 mV"\nR = "100 Mohm"\nt_ref = "2 ms"\n')
    with pytest.raises(SpecificationError) as info:
        load_spec(path)
    assert str(info.value) == f'{path}: neuron.tau_m: must be a positive time, got "-3 ms"'


@pytest.mark.parametrize("name", preset_names())
def test_preset_round_trips_through_toml(name):
    spec = load_spec(name)
    again = spec_from_document(tomllib.loads(spec_to_toml(spec)))
    assert again == spec
    assert spec.description.strip(), "every preset says where its numbers come from"


def test_presets_hold_the_seed_numbers():
    assert set(preset_names()) >= {"textbook", "euler_tutorial", "neuromatch", "nengo_default",
                                   "snntorch_lapicque"}
    nm = load_spec("neuromatch")
    assert (nm.V_th, nm.V_reset, nm.tau_m, nm.E_L, nm.V_init, nm.t_ref) == (
        -0.055, -0.075, 0.01, -0.075, -0.075, 0.002)
    assert nm.g_L == pytest.approx(10e-9, rel=1e-15)
    kt = load_spec("euler_tutorial")
    assert (kt.E_L, kt.V_th, kt.V_reset, kt.tau_m, kt.t_ref) == (-0.065, -0.055, -0.07, 0.01, 0.0)
    assert kt.R * 500e-12 == pytest.approx(0.05, rel=1e-12)  # the tutorial's 500 pA gives 50 mV
    ng = load_spec("nengo_default")
    assert (ng.tau_m, ng.t_ref, ng.V_th - ng.V_reset) == (0.02, 0.002, 1.0)
    st = load_spec("snntorch_lapicque")
    assert st.tau_m == pytest.approx(5.1 * 5e-3, rel=1e-15)


def test_spec_is_frozen_and_validated_on_replace(textbook):
    with pytest.raises(AttributeError):
        textbook.tau_m = 1.0
    with pytest.raises(SpecificationError, match="neuron.tau_m"):
        textbook.replace(tau_m=-1.0)
    assert math.isclose(textbook.replace(V_th=-0.049).V_th, -0.049)
