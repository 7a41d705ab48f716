"""Runtimes: one module per runtime, one line each in :data:`RUNTIMES`.

A runtime is an object with

* ``name`` (registry key = ``--runtime`` value = pytest marker = report column),
* ``format`` (the artifact format it reads),
* ``available() -> str | None``: ``None`` when usable here, otherwise one line
  saying what is missing and how to install it,
* ``load(artifact: Path) -> Scorer``: load once; ``Scorer.predict(X)`` takes a
  DataFrame with the model's input columns (numbers as float64, strings as
  object with NaN for missing) and returns :class:`mlexport.outputs.Outputs`,
  scoring the whole batch in one call. ``Scorer.close()`` frees it. A scorer
  also exposes ``signature`` (:class:`mlexport.model.Signature`, read from the
  artifact: what ``score`` feeds it), ``task`` ("classification" or
  "regression") and ``classes`` (tuple or None), so ``mlexport score`` and
  ``inspect`` work from the artifact alone.
* optionally ``describe(artifact) -> dict`` with ``inputs`` / ``outputs`` lists
  of ``{"name", "type", "shape"}`` for ``mlexport inspect``.

Modules are imported lazily: a missing JVM or Go toolchain only matters when
that runtime is asked for.
"""

from __future__ import annotations

from typing import Any

# runtime name -> "module:attribute"
RUNTIMES: dict[str, str] = {
    "onnxruntime": "mlexport.runtimes.onnxruntime:RUNTIME",
    "jpmml": "mlexport.runtimes.jpmml:RUNTIME",
    "pmml4s": "mlexport.runtimes.pmml4s:RUNTIME",
    "json-python": "mlexport.runtimes.json_python:RUNTIME",
    "json-go": "mlexport.runtimes.json_go:RUNTIME",
    "json-java": "mlexport.runtimes.json_java:RUNTIME",
}


def get_runtime(name: str) -> Any:
    from ..exporters import resolve

    return resolve(RUNTIMES, name, "runtime")


def runtimes_for(fmt: str) -> list[str]:
    """Names of the registered runtimes that read ``fmt`` artifacts, in registry order."""
    return [n for n in RUNTIMES if get_runtime(n).format == fmt]
