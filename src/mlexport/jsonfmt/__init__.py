"""The mlexport JSON coefficients format: a fitted pipeline as plain numbers.

A document carries the whole fitted pipeline (preprocessing included) as a
versioned JSON object that a Go or Java service scores with no ML library.
``SPEC.md`` (next to this file) is the human specification, ``schema.json``
its JSON Schema (draft 2020-12), :mod:`.export` turns a fitted scikit-learn
estimator into a document and :mod:`.score` is the reference scorer: a
vectorised numpy implementation of ``SPEC.md`` that every other scorer must
agree with.

Versioning
----------
:data:`FORMAT_VERSION` is a single integer written as the top-level
``format_version``. A scorer accepts exactly the versions it implements and
refuses any other, so the rule for bumping it is:

* **Bump** (``+1``) for any change that an existing scorer could read wrongly
  or not at all: a new node type, a new ``proba``/``value`` transform, label
  rule, activation or input cast, a new field that changes a number, a changed
  formula, evaluation order or missing-value rule, a renamed or retyped field.
  Update ``SPEC.md`` (a "Changes" entry), ``schema.json`` (its ``const``), the
  reference scorer and the Go / Java scorers in the same change.
* **Do not bump** for changes that no scorer reads: the free-form ``producer``
  object, ``path`` / ``class`` annotations, documentation wording, or an
  exporter that starts supporting a new scikit-learn estimator by writing
  existing node types.

Scorers also refuse unknown node types, unknown enumerated values and unknown
fields inside nodes, so a document never silently means more than its reader
understood.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

FORMAT_NAME = "mlexport-json"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({FORMAT_VERSION})
MEDIA_SUFFIX = ".json"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a document, shipped as package data."""
    text = resources.files(__name__).joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    from ..errors import MissingDependencyError

    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a test dependency
        raise MissingDependencyError("jsonschema is not installed: pip install jsonschema") from None
    return jsonschema.Draft202012Validator(schema())


@lru_cache(maxsize=1)
def _profile() -> Any:
    """What :func:`schema` tests on scalars (:class:`.fastcheck.Unsupported` if it is outside the compact form)."""
    from . import fastcheck

    return fastcheck.profile(schema())


def validate(doc: dict[str, Any]) -> None:
    """Validate ``doc`` against :func:`schema` (needs ``jsonschema``).

    Raises :class:`mlexport.errors.BadInputError` naming the first failing
    location; :class:`mlexport.errors.MissingDependencyError` if ``jsonschema``
    is not installed.

    ``jsonschema`` validates the document's compact equivalent
    (:mod:`.fastcheck`: valid exactly when the document is), so a forest of
    millions of numbers takes milliseconds; the whole document is walked only
    to name the failing location, or when the compact form does not apply.
    """
    from ..errors import BadInputError
    from . import fastcheck

    validator = _validator()
    try:
        if validator.is_valid(fastcheck.compact(doc, _profile())):
            return
    except fastcheck.Unsupported:
        pass
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "<document>"
        raise BadInputError(f"JSON document does not match the schema at '{where}': {err.message}")


def to_document(estimator_or_model: Any) -> dict[str, Any]:
    """Export a fitted estimator (or :class:`mlexport.model.LoadedModel`) to a document."""
    from .export import to_document as _to_document

    return _to_document(estimator_or_model)


def load(source: Any) -> Any:
    """A :class:`.score.Scorer` for a document (a path, JSON text or dict)."""
    from .score import load as _load

    return _load(source)


__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "SUPPORTED_VERSIONS", "schema", "validate", "to_document", "load"]


def input_frame(X: Any, inputs: list[tuple[str, str, bool]]) -> Any:
    """``X`` as a DataFrame holding every used input column (``inputs`` is the
    document's ``(name, kind, used)`` list); an array is named in input order."""
    import numpy as np
    import pandas as pd

    from ..errors import BadInputError

    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == len(inputs):
        X = pd.DataFrame(X, columns=[name for name, _kind, _used in inputs])
    if not isinstance(X, pd.DataFrame):
        raise BadInputError(f"input must be a pandas DataFrame. Got {type(X).__name__} instead.")
    absent = [name for name, _kind, used in inputs if used and name not in X.columns]
    if absent:
        raise BadInputError(f"input is missing column(s) {', '.join(absent)}.")
    return X
