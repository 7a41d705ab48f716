"""Exporters: one module per format, one line each in :data:`EXPORTERS`.

An exporter is an object with

* ``name`` (the format: registry key = CLI command = report ``format``),
* ``suffix`` (artifact file ending, e.g. ``".onnx"``),
* ``runtimes`` (names in :data:`mlexport.runtimes.RUNTIMES` that verify it),
* ``assess(model) -> list[Verdict]``: a static, JVM-free verdict per step,
* ``export(model, out, sample) -> dict``: write the artifact to ``out`` (a
  temporary path that the caller renames into place) and return facts for the
  manifest (converter versions, input/output description).

Modules are imported lazily so that ``import mlexport`` stays fast and pulls
in no converter until a format is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import BadInputError

# format name -> "module:attribute"
EXPORTERS: dict[str, str] = {
    "onnx": "mlexport.exporters.onnx:EXPORTER",
    "pmml": "mlexport.exporters.pmml:EXPORTER",
    "json": "mlexport.exporters.json:EXPORTER",
}


def resolve(table: dict[str, str], key: str, what: str) -> Any:
    """Import the ``module:attribute`` that ``table[key]`` names (registries are lazy)."""
    try:
        target = table[key]
    except KeyError:
        raise BadInputError(f"{what} must be one of {', '.join(table)}. Got '{key}' instead.") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def get_exporter(fmt: str) -> Any:
    return resolve(EXPORTERS, fmt, "format")
