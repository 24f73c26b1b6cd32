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


# ------------------------------------------------------------------------------- pint's parsed definitions

def _answers(registry, names):
    """What the registry says of each unit name: its value in base units, or the error it raises."""
    out = {}
    for name in names:
        try:
            q = registry.Quantity(1.0, name).to_base_units()
            out[name] = (q.magnitude, str(q.units))
        except Exception as exc:  # noqa: BLE001 - the same error is the same answer
            out[name] = type(exc).__name__
    return out


def test_the_cached_registry_answers_as_the_parsed_one(tmp_path, monkeypatch):
    import pint
    from models import units
    monkeypatch.setattr(units, "PINT_CACHE", tmp_path / "cache")
    folder = units._cache_folder()
    assert folder is not None and folder.parent == tmp_path / "cache" and any(folder.iterdir())
    parsed = pint.UnitRegistry(cache_folder=None, **units._REGISTRY_OPTIONS)
    cached = pint.UnitRegistry(cache_folder=folder, **units._REGISTRY_OPTIONS)
    # every name either knows (a prefixed name is added to a registry's table when first looked up)
    names = sorted(set(parsed._units) | set(cached._units))
    assert len(names) > 500
    assert _answers(cached, names) == _answers(parsed, names)


def test_the_cache_folder_is_made_whole_once_by_processes_started_together(tmp_path, monkeypatch):
    import multiprocessing
    from models import units
    monkeypatch.setattr(units, "PINT_CACHE", tmp_path / "cache")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        folders = pool.map(_folder_here, range(8))
    assert len(set(folders)) == 1 and folders[0] is not None
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [folders[0].name], "no temporary folder left"
    before = {p.name: p.stat().st_mtime_ns for p in folders[0].iterdir()}
    assert units._cache_folder() == folders[0]
    assert {p.name: p.stat().st_mtime_ns for p in folders[0].iterdir()} == before, "an existing cache is only read"


def _folder_here(_):
    from models import units
    return units._cache_folder()


def test_a_cache_that_cannot_be_made_is_no_cache(tmp_path, monkeypatch):
    from models import units
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setattr(units, "PINT_CACHE", tmp_path / "file" / "cache")
    registry = units._registry()
    assert registry.Quantity(250, "pA").to("A").magnitude == pytest.approx(2.5e-10, rel=1e-15)
    assert (tmp_path / "file").read_text() == "not a directory"
