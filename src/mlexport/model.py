"""Loading a fitted model and describing what it takes and gives.

:func:`load_model` turns a ``.joblib`` / ``.pkl`` / ``.skops`` file into a
:class:`LoadedModel`: the estimator, its task, its classes and its input
:class:`Signature` (one :class:`Column` per input column, numeric or string).
Everything downstream (plan, export, runtimes, parity) works from this.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import BadInputError

Kind = Literal["number", "string"]
Task = Literal["classification", "regression"]

MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle", ".skops")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


@dataclass(frozen=True)
class Signature:
    """The model's inputs. ``named`` is False when the model was fitted on a
    plain array: then data columns are taken in order and named ``x0..xN``."""

    columns: tuple[Column, ...]
    named: bool = True

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def all_numeric(self) -> bool:
        return all(c.kind == "number" for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {"named": self.named, "columns": [{"name": c.name, "kind": c.kind} for c in self.columns]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Signature:
        return cls(tuple(Column(c["name"], c["kind"]) for c in d["columns"]), bool(d.get("named", True)))


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    task: Task
    classes: tuple[Any, ...] | None
    signature: Signature
    source: str = "<memory>"
    sha256: str = ""
    pickled_sklearn_version: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_outputs(self) -> int:
        return 1


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_file(path: Path, trust: tuple[str, ...]) -> tuple[Any, str | None]:
    """Unpickle / unskops ``path``; return (object, sklearn version it was saved with)."""
    from sklearn.exceptions import InconsistentVersionWarning

    from .safety import load_pickle_checked, load_skops_checked

    seen_version: str | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InconsistentVersionWarning)
        if path.suffix == ".skops":
            obj = load_skops_checked(path, trust)
        else:
            obj = load_pickle_checked(path, trust)
    for w in caught:
        if isinstance(w.message, InconsistentVersionWarning):
            seen_version = w.message.original_sklearn_version
    return obj, seen_version


def load_model(path: str | Path, *, trust: tuple[str, ...] = ()) -> LoadedModel:
    """Load a fitted sklearn estimator or pipeline from ``path``.

    ``trust`` names extra modules whose callables the file may use.
    """
    p = Path(path)
    if not p.exists():
        raise BadInputError(f"{p}: no such file.")
    if p.is_dir():
        raise BadInputError(f"{p}: is a directory, expected a model file ({', '.join(MODEL_SUFFIXES)}).")
    if p.suffix.lower() not in MODEL_SUFFIXES:
        raise BadInputError(f"{p}: model file must be one of {', '.join(MODEL_SUFFIXES)}. Got '{p.suffix}' instead.")
    if p.stat().st_size == 0:
        raise BadInputError(f"{p}: file is empty.")
    obj, version = _read_file(p, tuple(trust))
    notes: list[str] = []
    if version is not None:
        import sklearn

        if _major_minor(version) < (1, 0):
            raise BadInputError(
                f"{p}: was saved with scikit-learn {version}; mlexport reads models saved with scikit-learn >= 1.0. "
                f"Re-fit or re-save it with scikit-learn {sklearn.__version__}."
            )
        notes.append(
            f"{p.name} was saved with scikit-learn {version}; scikit-learn {sklearn.__version__} is installed: "
            "predictions may differ from the ones the model was validated with."
        )
    return from_estimator(obj, source=str(p), sha256=sha256_file(p), pickled_sklearn_version=version, notes=notes)


def _major_minor(version: str) -> tuple[int, int]:
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in version.split(".")[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def from_estimator(
    est: Any,
    *,
    source: str = "<memory>",
    sha256: str = "",
    pickled_sklearn_version: str | None = None,
    notes: list[str] | None = None,
) -> LoadedModel:
    """Describe an in-memory fitted estimator (the Python API's entry point)."""
    from sklearn.base import is_classifier, is_regressor
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    where = source
    if not hasattr(est, "fit") or not hasattr(est, "get_params"):
        raise BadInputError(f"{where}: must contain a scikit-learn estimator. Got {type(est).__name__} instead.")
    if not hasattr(est, "predict"):
        raise BadInputError(f"{where}: {type(est).__name__} has no predict(); mlexport exports predictors.")
    try:
        check_is_fitted(est)
    except NotFittedError:
        raise BadInputError(f"{where}: {type(est).__name__} is not fitted; fit it before exporting.") from None
    except TypeError as e:
        raise BadInputError(f"{where}: {e}") from None
    if is_classifier(est):
        task: Task = "classification"
        classes = tuple(np.asarray(est.classes_).tolist())
    elif is_regressor(est) or hasattr(est, "predict"):
        task = "regression"
        classes = None
    signature = infer_signature(est)
    return LoadedModel(
        estimator=est,
        task=task,
        classes=classes,
        signature=signature,
        source=source,
        sha256=sha256,
        pickled_sklearn_version=pickled_sklearn_version,
        warnings=tuple(notes or ()),
    )


def infer_signature(est: Any) -> Signature:
    """Input columns and their kinds, from what the fitted steps recorded."""
    names = getattr(est, "feature_names_in_", None)
    n = getattr(est, "n_features_in_", None)
    if names is None and n is None:
        first = _first_step(est)
        names = getattr(first, "feature_names_in_", None)
        n = getattr(first, "n_features_in_", None)
    if names is not None:
        col_names = [str(c) for c in names]
        named = True
    elif n is not None:
        col_names = [f"x{i}" for i in range(int(n))]
        named = False
    else:
        raise BadInputError(f"{type(est).__name__}: cannot tell how many input columns it takes.")
    kinds = _string_columns(est, col_names)
    cols = tuple(Column(c, "string" if c in kinds else "number") for c in col_names)
    return Signature(cols, named)


def _first_step(est: Any) -> Any:
    from sklearn.pipeline import Pipeline

    while isinstance(est, Pipeline):
        est = next((s for _n, s in est.steps if s is not None and s != "passthrough"), None)
    return est


def _is_stringy(values: Any) -> bool:
    arr = np.asarray(values, dtype=object).ravel()
    return any(isinstance(v, str) for v in arr)


def column_consumers(est: Any, names: list[str]) -> dict[str, tuple[Any, int]]:
    """Input column -> (first step that reads it, its index in that step's input)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    out: dict[str, tuple[Any, int]] = {}

    def visit(step: Any, cols: list[str]) -> None:
        while isinstance(step, Pipeline):
            step = next((s for _n, s in step.steps if s is not None and s != "passthrough"), None)
        if step is None or isinstance(step, str):
            return
        if isinstance(step, ColumnTransformer):
            for name, trans, sel in step.transformers_:
                if not isinstance(trans, str):
                    visit(trans, [cols[i] for i in _select(step, name, sel, cols)])
            return
        if isinstance(step, FeatureUnion):
            for _n, t in step.transformer_list:
                visit(t, cols)
            return
        inner = getattr(step, "_preprocessor", None)  # HistGradientBoosting's categorical encoder
        if inner is not None:
            visit(inner, cols)
        for j, c in enumerate(cols):
            out.setdefault(c, (step, j))

    visit(est, names)
    return out


def _string_columns(est: Any, names: list[str]) -> set[str]:
    """Columns whose first consuming step holds string categories / fill values."""
    out: set[str] = set()
    for col, (step, j) in column_consumers(est, names).items():
        cats = getattr(step, "categories_", None)
        if cats is not None and j < len(cats):
            if _is_stringy(cats[j]):
                out.add(col)
            continue
        stats = getattr(step, "statistics_", None)
        if stats is not None and j < len(stats) and isinstance(np.asarray(stats, dtype=object)[j], str):
            out.add(col)
    return out


def _select(ct: Any, name: str, sel: Any, cols: list[str]) -> list[int]:
    """Indices into ``cols`` that a fitted ColumnTransformer routed to ``name``."""
    resolved = getattr(ct, "_transformer_to_input_indices", {}).get(name)
    if resolved is not None:
        return [int(i) for i in resolved]
    if isinstance(sel, slice):
        return list(range(len(cols)))[sel]
    arr = np.atleast_1d(np.asarray(sel, dtype=object))
    if arr.size == 0:
        return []
    if isinstance(arr[0], (bool, np.bool_)):
        return [i for i, b in enumerate(arr) if b]
    if isinstance(arr[0], str):
        return [cols.index(s) for s in arr]
    return [int(i) for i in arr]


__all__ = ["Column", "Signature", "LoadedModel", "load_model", "from_estimator", "infer_signature", "column_consumers"]
