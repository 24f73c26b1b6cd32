"""Reading specification and comparison files (TOML) and finding presets.

Files are data: they are parsed by the standard library's ``tomllib`` and nothing in them is evaluated.
Every failure becomes an :class:`~models.errors.InputFileError` naming the file.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
import tomllib
from pathlib import Path

from .errors import InputFileError, UserInputError
from .formats import READERS

#: Presets shipped with the suite, loadable by name (``textbook``) as well as by path.
PRESET_DIR = Path(__file__).resolve().parent / "presets"

#: Deepest nesting of arrays and inline tables accepted (a specification needs 2; Python's parser
#: recurses once per level and would overflow its stack near 1000).
MAX_NESTING = 64

#: Largest file read, so that a wrong path (a data file, a log) is refused before it is parsed.
MAX_FILE_BYTES = 1 << 20


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def example_names() -> list[str]:
    """Names of the shipped exchange-format examples (``presets/<name>.nir``, ...), sorted: run by name
    like a preset, their cell read by the format's module (:mod:`models.formats`)."""
    return sorted(p.stem for p in PRESET_DIR.iterdir() if p.suffix in READERS and p.is_file())


def resolve(path_or_preset: str | Path) -> Path:
    """The file behind a path or a preset name.

    Raises
    ------
    InputFileError
        If it is neither an existing path nor a preset name.
    """
    path = Path(path_or_preset)
    if path.exists() or path.suffix == ".toml" or path.suffix in READERS or len(path.parts) > 1:
        return path
    for suffix in (".toml", *READERS):
        preset = PRESET_DIR / f"{path_or_preset}{suffix}"
        if preset.is_file():
            return preset
    names = preset_names() + example_names()
    hint = _did_you_mean(str(path_or_preset), names)
    raise InputFileError("", f"no such file or preset{hint} (presets: {', '.join(names)})",
                         str(path_or_preset), source=str(path_or_preset))


def read_toml(path: Path) -> dict:
    """Parse a UTF-8 TOML file into a dict, refusing anything that is not one."""
    source = str(path)
    if not path.exists():
        raise InputFileError("", "no such file", source=source)
    if not path.is_file():
        raise InputFileError("", "expected a regular file, not a directory or device", source=source)
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
    except OSError as exc:
        raise InputFileError("", f"cannot be read ({exc.strerror})", source=source) from None
    if raw is None:
        raise InputFileError("", f"expected a TOML file of at most {MAX_FILE_BYTES} bytes",
                             f"{path.stat().st_size} bytes", source=source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError("", f"expected UTF-8 text (bad byte at offset {exc.start})", source=source) from None
    if not text.strip():
        raise InputFileError("", "is empty (expected at least a [neuron] table)", source=source)
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise InputFileError("", f"nests arrays or tables at most {MAX_NESTING} deep", f"{depth} deep",
                             source=source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError("", f"malformed TOML ({exc})", source=source) from None
    except RecursionError:  # a nesting the count above missed (it over-counts, never under-counts much)
        raise InputFileError("", "nests arrays or tables deeper than the parser allows", source=source) from None


def _nesting(text: str) -> int:
    """An upper bound on how deep ``[`` and ``{`` nest outside strings and comments (dotted keys and
    table headers add no recursion to the parser)."""
    depth = deepest = 0
    quote = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def check_keys(table: dict, allowed, prefix: str, required=()) -> None:
    """Refuse unknown keys (with a "did you mean") and missing required ones in one TOML table."""
    for key in table:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else key
            hint = _did_you_mean(key, allowed)
            raise UserInputError(where, f"unknown key{hint} (expected one of: {', '.join(allowed)})")
    for key in required:
        if key not in table:
            where = f"{prefix}.{key}" if prefix else key
            raise UserInputError(where, "is required but missing")


def require_table(value: object, field: str) -> dict:
    """The value as a TOML table, or an error naming the field."""
    if not isinstance(value, dict):
        raise UserInputError(field, "expected a table", _short(value))
    return value


#: Other simulators' names for the suite's keys (NEST, Brian2, Nengo, snnTorch and textbook spellings),
#: suggested when a file uses one: ``C_m`` -> ``C``. Only a suggestion: the key itself stays unknown.
ALIASES = {
    "c_m": "C", "cm": "C", "capacitance": "C",
    "g_l": "g_L", "gl": "g_L", "g_leak": "g_L",
    "r_m": "R", "rm": "R", "resistance": "R",
    "tau": "tau_m", "taum": "tau_m", "tau_rc": "tau_m", "tau_mem": "tau_m",
    "e_l": "E_L", "el": "E_L", "v_rest": "E_L", "e_rest": "E_L", "v_leak": "E_L", "u_rest": "E_L",
    "v_th": "V_th", "vth": "V_th", "v_thresh": "V_th", "v_threshold": "V_th", "threshold": "V_th",
    "theta": "V_th",
    "v_reset": "V_reset", "vreset": "V_reset", "v_r": "V_reset",
    "t_ref": "t_ref", "tref": "t_ref", "tau_ref": "t_ref", "t_refrac": "t_ref", "refractory": "t_ref",
    "tau_refrac": "t_ref", "refractory_period": "t_ref",
    "v_init": "V_init", "v_m": "V_init", "v0": "V_init", "v_0": "V_init",
    "tau_syn_ex": "tau_syn", "tau_s": "tau_syn", "tau_synapse": "tau_syn",
}


def _did_you_mean(word: str, candidates) -> str:
    candidates = list(candidates)
    alias = ALIASES.get(word.lower())
    if alias in candidates and alias != word:
        return f' (did you mean "{alias}"?)'
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@contextlib.contextmanager
def replacing(path: str | Path, suffix: str = ".partial"):
    """A temporary path beside ``path`` (same directory, so same file system) for the block to write;
    renamed onto ``path`` when the block ends normally, removed when it raises: a reader, or a run
    killed mid-write, never sees a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
