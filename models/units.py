"""Quantities with units, parsed by pint and converted once to SI floats.

A quantity in a specification or comparison file is a string such as ``"20 ms"``, ``"-70 mV"``,
``"100 Mohm"`` (or ``"100 MΩ"``), ``"250 pA"``. The magnitude must be a plain decimal number; the unit
expression is parsed by pint's unit parser (``ureg.parse_units``), which never evaluates Python code.
Unit strings are limited in length and may not chain power operators, so that no input can ask pint for
an astronomically large exponent.

Everything downstream of this module works in SI floats (s, V, A, Ohm, F, S, Hz).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pint

from .errors import UnitError

#: Where pint's parsed unit definitions are kept (``.cache/`` is git-ignored).
PINT_CACHE = Path(__file__).resolve().parent.parent / ".cache"
_REGISTRY_OPTIONS = {"autoconvert_offset_to_baseunit": False}


def _registry() -> pint.UnitRegistry:
    """pint's registry of its own definition files, read from the cache of their parsed form when there is
    one: parsing the files takes 0.3-0.6 s in every process that imports this module (each command, each
    worker), loading the cache about 0.05 s. The cache's folder is named by pint's version and its files'
    modification times and is made whole or not at all (written in a temporary folder, renamed into
    place): pint rewrites a stale cache file in place, so a folder is never reused for other files. Any
    failure to make or read it means the files are parsed, as without a cache."""
    try:
        folder = _cache_folder()
        if folder is not None:
            return pint.UnitRegistry(cache_folder=folder, **_REGISTRY_OPTIONS)
    except Exception:  # noqa: BLE001 - a cache that cannot be made or read is no cache
        pass
    return pint.UnitRegistry(cache_folder=None, **_REGISTRY_OPTIONS)


def _cache_folder() -> Path | None:
    sources = sorted(Path(pint.__file__).parent.glob("*.txt"))
    stamp = hashlib.sha256(repr([pint.__version__] + [(p.name, p.stat().st_mtime_ns) for p in sources])
                           .encode()).hexdigest()[:16]
    folder = PINT_CACHE / f"pint-{stamp}"
    if folder.is_dir():
        return folder
    PINT_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".pint-", dir=PINT_CACHE))
    try:
        pint.UnitRegistry(cache_folder=tmp, **_REGISTRY_OPTIONS)
        os.rename(tmp, folder)
    except OSError:
        if not folder.is_dir():
            return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


ureg = _registry()


@dataclass(frozen=True)
class Kind:
    """A physical kind of quantity: its name in messages, its pint dimensionality and its SI unit."""

    noun: str
    si_unit: str

    @property
    def dimensionality(self):
        return ureg.Quantity(1, self.si_unit).dimensionality


TIME = Kind("time", "s")
VOLTAGE = Kind("voltage", "V")
CURRENT = Kind("current", "A")
RESISTANCE = Kind("resistance", "ohm")
CAPACITANCE = Kind("capacitance", "F")
CONDUCTANCE = Kind("conductance", "S")
RATE = Kind("rate", "Hz")
NOISE_DENSITY = Kind("current noise density", "A * s ** 0.5")
CHARGE = Kind("charge", "C")

_ARTICLE = {k.noun: ("an " if k.noun[0] in "aeiou" else "a ") for k in (
    TIME, VOLTAGE, CURRENT, RESISTANCE, CAPACITANCE, CONDUCTANCE, RATE, NOISE_DENSITY, CHARGE)}

_NUMBER = r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|infinity)"
_QUANTITY = re.compile(rf"^\s*(?P<mag>{_NUMBER})\s*(?P<unit>.*?)\s*$", re.IGNORECASE)
_CHAINED_POWER = re.compile(r"(\*\*|\^)[^A-Za-z]*(\*\*|\^)")
MAX_UNIT_LENGTH = 40


def article(kind: Kind) -> str:
    """``"a time"``, ``"an ..."``: the kind with its indefinite article."""
    return _ARTICLE[kind.noun] + kind.noun


def parse_quantity(value: object, kind: Kind, field: str) -> float:
    """Parse a string with units into an SI float of the given kind.

    Parameters
    ----------
    value
        The value from the file, e.g. ``"20 ms"``. Numbers without units are refused.
    kind
        The expected physical kind (:data:`TIME`, :data:`VOLTAGE`, ...).
    field
        Dotted name of the field, used in the error message.

    Returns
    -------
    float
        The magnitude in the kind's SI unit (may be non-finite; callers validate ranges).

    Raises
    ------
    UnitError
        If the value is not a string, has no or an unknown unit, or has the wrong dimension.
    """
    expected = f"expected {article(kind)} with a unit (e.g. \"{_example(kind)}\")"
    if isinstance(value, bool) or not isinstance(value, str):
        raise UnitError(field, expected, _show(value))
    match = _QUANTITY.match(value)
    if match is None:
        raise UnitError(field, expected, value)
    unit_text = match.group("unit")
    if not unit_text:
        raise UnitError(field, expected, value)
    if len(unit_text) > MAX_UNIT_LENGTH or _CHAINED_POWER.search(unit_text):
        raise UnitError(field, f"expected {article(kind)} with a simple unit", value)
    try:
        unit = ureg.parse_units(unit_text.replace("·", "*"))
    except Exception:  # pint raises several unrelated types for unparsable units
        raise UnitError(field, f"expected {article(kind)} with a known unit", value) from None
    quantity = ureg.Quantity(float(match.group("mag")), unit)
    if quantity.dimensionality != kind.dimensionality:
        raise UnitError(field, f"expected {article(kind)}", value)
    return float(quantity.to(kind.si_unit).magnitude)


def format_quantity(si_value: float, kind: Kind) -> str:
    """Format an SI float back into a unit string that :func:`parse_quantity` reads exactly.

    ``repr`` of the float keeps every bit, so ``parse_quantity(format_quantity(x)) == x``.
    """
    return f"{si_value!r} {kind.si_unit.replace(' ', '')}"


def _example(kind: Kind) -> str:
    return {"time": "20 ms", "voltage": "-70 mV", "current": "250 pA", "resistance": "100 Mohm",
            "capacitance": "200 pF", "conductance": "10 nS", "rate": "10 Hz",
            "current noise density": "10 pA*s**0.5", "charge": "1 pC"}[kind.noun]


def _show(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return repr(value) if isinstance(value, str) else str(value)
