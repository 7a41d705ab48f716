"""One exception tree for mlexport.

Every error a user can cause or meet derives from :class:`MlexportError` and
carries an ``exit_code``: 2 for bad input or usage, 1 for "the model cannot be
shipped" (a step that does not convert, a parity mismatch). Third-party errors
are wrapped into one of these, never leaked raw to the command line.
"""

from __future__ import annotations


class MlexportError(Exception):
    """Base class. ``str(err)`` is the one line shown to the user."""

    exit_code: int = 2


class BadInputError(MlexportError):
    """A file, column, value or option the user gave is not usable (exit 2)."""

    exit_code = 2


class MissingDependencyError(MlexportError):
    """A tool or package mlexport needs is not installed (exit 2)."""

    exit_code = 2


class VersionError(MlexportError):
    """An installed package is outside the range mlexport supports (exit 2)."""

    exit_code = 2


class UnsupportedStepError(MlexportError):
    """A pipeline step cannot be converted to a format (exit 1).

    ``path`` is the step path (e.g. ``"pre/num/simpleimputer"``), ``cls`` the
    estimator's class name, ``reason`` why, and ``hint`` what the user can do.
    """

    exit_code = 1

    def __init__(self, path: str, cls: str, reason: str, hint: str = "", fmt: str = "") -> None:
        self.path = path
        self.cls = cls
        self.reason = reason
        self.hint = hint
        self.fmt = fmt
        where = f"step '{path}' ({cls})" if path else cls
        prefix = f"{fmt}: " if fmt else ""
        msg = f"{prefix}{where} cannot be converted: {reason}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class ExportError(MlexportError):
    """A converter failed for a reason not tied to one step (exit 1)."""

    exit_code = 1


class RuntimeFailure(MlexportError):
    """A runtime could not load or score an artifact (exit 1)."""

    exit_code = 1


class ParityError(MlexportError):
    """Exported outputs differ from native sklearn outputs (exit 1)."""

    exit_code = 1
