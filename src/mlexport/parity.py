"""Comparing exported outputs with native sklearn outputs.

Rule (design.md): labels equal exactly; numbers ``|a-b| <= atol + rtol*|b|``
(``b`` native); NaN only where native is NaN; shapes and class order equal.
An output native has but the runtime does not is reported as missing and fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .data import to_native_input
from .errors import BadInputError
from .model import LoadedModel
from .outputs import Outputs

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-6
WORST_ROWS = 5


@dataclass(frozen=True)
class Tolerance:
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise BadInputError(f"--{name} must be a finite number >= 0. Got {v!r} instead.")


@dataclass(frozen=True)
class OutputParity:
    name: str
    passed: bool
    max_abs_err: float | None
    max_rel_err: float | None
    mismatches: int
    worst_rows: tuple[int, ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "mismatches": self.mismatches,
            "worst_rows": list(self.worst_rows),
            "note": self.note,
        }


@dataclass(frozen=True)
class RuntimeParity:
    runtime: str
    outputs: tuple[OutputParity, ...]
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and all(o.passed for o in self.outputs)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"runtime": self.runtime, "passed": self.passed, "outputs": [o.to_dict() for o in self.outputs]}
        if self.error:
            d["error"] = self.error
        return d


@dataclass(frozen=True)
class ParityResult:
    format: str
    artifact: str
    rows: int
    tolerance: Tolerance
    runtimes: tuple[RuntimeParity, ...]
    data_source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.runtimes) and all(r.passed for r in self.runtimes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "format": self.format,
            "artifact": self.artifact,
            "rows": self.rows,
            "data": self.data_source,
            "tolerance": {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol},
            "runtimes": [r.to_dict() for r in self.runtimes],
            **self.extra,
        }


def native_outputs(model: LoadedModel, X: pd.DataFrame) -> Outputs:
    """What sklearn itself predicts for ``X`` (the reference)."""
    est = model.estimator
    Xn = to_native_input(X, model.signature)
    try:
        pred = np.asarray(est.predict(Xn))
        if model.task == "classification":
            proba = decision = None
            if _has_predict_proba(est):
                proba = np.asarray(est.predict_proba(Xn), dtype=np.float64)
            elif hasattr(est, "decision_function"):
                decision = np.asarray(est.decision_function(Xn), dtype=np.float64)
            return Outputs(label=pred, proba=proba, classes=model.classes, decision=decision)
        return Outputs(value=pred.astype(np.float64))
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInputError(f"{model.source}: scikit-learn cannot predict on this data ({type(e).__name__}: {first}).") from None


def _has_predict_proba(est: Any) -> bool:
    try:
        return hasattr(est, "predict_proba")
    except Exception:
        return False


def _labels(name: str, native: np.ndarray, got: np.ndarray) -> OutputParity:
    n = np.asarray(native)
    g = np.asarray(got)
    if g.shape != n.shape:
        return OutputParity(name, False, None, None, int(n.shape[0]), (), f"shape {g.shape} != native {n.shape}")
    # compare as Python values so int64 vs int32 or numpy str vs str do not matter
    eq = np.array([_same_label(a, b) for a, b in zip(n.tolist(), g.tolist())], dtype=bool)
    bad = np.flatnonzero(~eq)
    return OutputParity(name, bad.size == 0, None, None, int(bad.size), tuple(int(i) for i in bad[:WORST_ROWS]))


def _same_label(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    if a == b:
        return True
    return str(a) == str(b) and type(a) is not type(b) and not isinstance(a, (int, float))


def _numbers(name: str, native: np.ndarray, got: np.ndarray, tol: Tolerance) -> OutputParity:
    b = np.asarray(native, dtype=np.float64)
    a = np.asarray(got, dtype=np.float64)
    if a.shape != b.shape:
        return OutputParity(name, False, None, None, int(b.shape[0]) if b.ndim else 1, (), f"shape {a.shape} != native {b.shape}")
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    both_nan = nan_a & nan_b
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(both_nan, 0.0, np.abs(a - b))
        same_inf = np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b))
        diff = np.where(same_inf, 0.0, diff)
        diff = np.where(nan_a ^ nan_b, np.inf, diff)
        allowed = tol.atol + tol.rtol * np.abs(np.where(np.isfinite(b), b, 0.0))
        bad_cell = diff > allowed
        rel = np.where(np.abs(b) > 0, diff / np.abs(b), np.where(diff > 0, np.inf, 0.0))
    row_bad = bad_cell.reshape(len(b), -1).any(axis=1) if b.ndim else np.array([bool(bad_cell)])
    row_err = diff.reshape(len(b), -1).max(axis=1) if b.ndim and b.size else np.array([float(diff)] if not b.ndim else [])
    bad_rows = np.flatnonzero(row_bad)
    worst = bad_rows[np.argsort(-row_err[bad_rows], kind="stable")][:WORST_ROWS] if bad_rows.size else np.array([], int)
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(rel.max()) if rel.size else 0.0
    return OutputParity(name, bad_rows.size == 0, max_abs, max_rel, int(bad_rows.size), tuple(int(i) for i in worst))


def compare(native: Outputs, got: Outputs, tol: Tolerance, omits: dict[str, str] | None = None) -> tuple[OutputParity, ...]:
    """Each output native has, compared; ``omits`` names outputs the runtime's
    format does not carry at all (with the reason): those are reported as not
    compared rather than missing."""
    results: list[OutputParity] = []
    omits = omits or {}
    if native.classes is not None and got.classes is not None and got.proba is not None:
        if [str(c) for c in native.classes] != [str(c) for c in got.classes]:
            results.append(OutputParity("classes", False, None, None, 0, (), f"class order {list(got.classes)} != native {list(native.classes)}"))
    for name, ref in native.present().items():
        mine = getattr(got, name)
        if mine is None and name in omits:
            results.append(OutputParity(name, True, None, None, 0, (), f"not compared: {omits[name]}"))
        elif mine is None:
            results.append(OutputParity(name, False, None, None, len(ref), (), "missing: the runtime does not produce it"))
        elif name == "label":
            results.append(_labels(name, ref, mine))
        else:
            results.append(_numbers(name, ref, mine, tol))
    return tuple(results)
