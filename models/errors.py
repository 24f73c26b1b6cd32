"""The suite's one exception hierarchy.

Every error a user can cause carries where it came from (``source``: a file or ``command line``), the
field (dotted TOML path such as ``neuron.tau_m``), what was expected and what was given, and prints as
one line::

    textbook.toml: neuron.tau_m: must be a positive time, got "-3 ms"

The command line turns :class:`UserInputError` into that line on stderr and exit status 2. A
:class:`ContractError` -- a function of the suite called outside its contract -- is a bug of the suite, never
the user's input: the command line reports it as an internal error, exit status 4.
"""

from __future__ import annotations


class LIFSuiteError(Exception):
    """Base class of every error this suite raises on purpose."""


class UserInputError(LIFSuiteError, ValueError):
    """Bad input: a specification, comparison file or command-line value the suite refuses.

    Parameters
    ----------
    field
        Dotted path of the offending value (``neuron.V_th``, ``simulation.dt``, ``--backends``).
    expected
        What was expected, phrased to follow the field: ``"must be a positive time"`` or
        ``"expected a voltage"``.
    given
        The value as the user wrote it (shown in double quotes), or ``None`` when nothing was given.
    source
        The file (or ``"command line"``) the value came from; may be filled in later with
        :meth:`with_source`.
    """

    def __init__(self, field: str, expected: str, given: object = None, source: str | None = None):
        self.field = field
        self.expected = expected
        self.given = given
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        what = f"{where}{self.field}: {self.expected}" if self.field else f"{where}{self.expected}"
        if self.given is None:
            return what
        given = str(self.given).replace("\n", " ")
        return f'{what}, got "{given}"'

    def with_source(self, source: str) -> "UserInputError":
        """Return the same error attributed to ``source`` (kept if one is already set)."""
        if self.source is None:
            self.source = source
            self.args = (self._message(),)
        return self

    def with_given(self, given: object) -> "UserInputError":
        """Return the same error showing ``given`` (the user's text) instead of the SI value."""
        self.given = given
        self.args = (self._message(),)
        return self


class SpecificationError(UserInputError):
    """A neuron specification that is not a valid LIF cell."""


class UnitError(UserInputError):
    """A quantity with a missing, unknown or wrong unit."""


class ComparisonError(UserInputError):
    """A comparison file (simulation settings, stimuli, sweeps, tolerances) the suite refuses."""


class InputFileError(UserInputError):
    """A file that cannot be read as UTF-8 TOML: missing, unreadable, empty, malformed."""


class BackendUnavailable(UserInputError):
    """A backend name that is unknown, or whose simulator is not installed."""


class ContractError(LIFSuiteError, ValueError):
    """A function of the suite called with arguments outside its contract (a metric given traces of
    different shapes, a drive on another grid than its settings): a bug in the caller, never bad input.

    Parameters are those of :class:`UserInputError`: ``field`` names the argument."""

    def __init__(self, field: str, expected: str, given: object = None):
        self.field, self.expected, self.given = field, expected, given
        given = "" if given is None else f', got "{str(given).replace(chr(10), " ")}"'
        super().__init__(f"{field}: {expected}{given}")


class NotRepresentable(LIFSuiteError):
    """A specification asks for something a backend cannot represent (reported, never simulated wrongly)."""

    def __init__(self, backend: str, reason: str):
        self.backend = backend
        self.reason = reason
        super().__init__(f"{backend}: cannot represent this specification: {reason}")


class BackendFailure(LIFSuiteError):
    """A backend raised, timed out or returned non-finite values during a run."""

    def __init__(self, backend: str, reason: str):
        self.backend = backend
        self.reason = reason
        super().__init__(f"{backend}: {reason}")
