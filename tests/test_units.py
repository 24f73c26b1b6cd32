"""Quantities are parsed by pint and never evaluated."""

import pytest

from models.errors import UnitError
from models.units import CURRENT, NOISE_DENSITY, RESISTANCE, TIME, VOLTAGE, format_quantity, parse_quantity


@pytest.mark.parametrize("text, kind, si", [
    ("20 ms", TIME, 0.02), ("3ms", TIME, 0.003), ("2 µs", TIME, 2e-6), ("-70 mV", VOLTAGE, -0.07),
    ("100 Mohm", RESISTANCE, 1e8), ("100 MΩ", RESISTANCE, 1e8), ("250 pA", CURRENT, 2.5e-10),
    ("5 pA*s**0.5", NOISE_DENSITY, 5e-12), ("5 pA·s^0.5", NOISE_DENSITY, 5e-12),
])
def test_parse_to_si(text, kind, si):
    assert parse_quantity(text, kind, "f") == pytest.approx(si, rel=1e-15)


@pytest.mark.parametrize("value", [0.1, -0.0650000001, 1e-300, 123456.789e-12])
def test_format_round_trip_is_exact(value):
    assert parse_quantity(format_quantity(value, VOLTAGE), VOLTAGE, "f") == value


@pytest.mark.parametrize("text, fragment", [
    ("10**10**10 ms", "simple unit"), ("1 ms**10**10", "simple unit"),
    ('__import__("os").system("true") ms', "with a unit"), ("1 " + "m" * 50, "simple unit"),
    ("ms", "with a unit"), ("", "with a unit"), ("20", "with a unit"), ("20 s", "expected a voltage"),
])
def test_refused_strings(text, fragment):
    with pytest.raises(UnitError, match="neuron.V_th") as info:
        parse_quantity(text, VOLTAGE, "neuron.V_th")
    assert fragment in str(info.value)
