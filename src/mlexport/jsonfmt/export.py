"""Fitted scikit-learn estimator -> mlexport JSON document (see ``SPEC.md``).

Every number a scorer needs is read from the fitted estimator here and
written into the document: statistics, categories and their codes (obtained
by running the fitted encoder on its own categories, so drop / infrequent /
unknown handling is exactly sklearn's), tree arrays, baselines, learning
rates, the input cast of the trees and the output transforms. Nothing is
left for a scorer to know about scikit-learn.

Steps are dispatched on their *exact* class: a subclass may change behaviour,
so it is refused rather than guessed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from ..errors import BadInputError, UnsupportedStepError
from . import FORMAT_NAME, FORMAT_VERSION

DEFAULT_HINT = "replace the step with one listed in jsonfmt/SPEC.md, or export to onnx or pmml"
NONFINITE = {"NaN", "Infinity", "-Infinity"}


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    path: str
    cls: str
    reason: str
    hint: str


class _Refused(Exception):
    """Internal: a step was refused while collecting problems (assess mode)."""


class _Ctx:
    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.problems: list[Problem] = []
        self.notes: list[str] = []

    def refuse(self, path: str, est: Any, reason: str, hint: str = "") -> NoReturn:
        cls = est if isinstance(est, str) else type(est).__name__
        hint = hint or DEFAULT_HINT
        if self.collect:
            self.problems.append(Problem(path, cls, reason, hint))
            raise _Refused(path)
        raise UnsupportedStepError(path, cls, reason, hint, fmt="json")


def _child(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except _Refused:
        return None


# --------------------------------------------------------------------------- numbers


def _num(x: Any) -> float | str:
    v = float(x)
    if math.isfinite(v):
        return v
    if v != v:
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def _fix(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_fix(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return _num(obj)
    return obj


def _nums(a: Any) -> list[Any]:
    arr = np.asarray(a, dtype=np.float64)
    out = arr.tolist()
    if not np.isfinite(arr).all():
        out = _fix(out)
    return out


def _ints(a: Any) -> list[int]:
    arr = np.asarray(a).ravel()
    if arr.dtype.kind in "iu":  # tolist() already gives exact Python ints
        return arr.tolist()  # type: ignore[no-any-return]
    return [int(v) for v in arr.tolist()]


def _is_nan(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and v != v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating, bool, np.bool_))


def _typed(v: Any) -> dict[str, Any] | None:
    """A typed value: {"number": x} or {"string": s}; None if neither."""
    if isinstance(v, str):
        return {"string": v}
    if _is_number(v):
        return {"number": _num(v)}
    try:
        import pandas as pd

        if v is pd.NA:
            return {"number": "NaN"}
    except ImportError:  # pragma: no cover
        pass
    return None


def _json_label(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float) and math.isfinite(v):
        return v
    return None


# --------------------------------------------------------------------------- node helpers


def _node(kind: str, path: str, est: Any, n_in: int, n_out: int, **fields: Any) -> dict[str, Any]:
    cls = est if isinstance(est, str) else type(est).__name__
    node: dict[str, Any] = {"type": kind, "path": path, "class": cls, "n_in": int(n_in), "n_out": int(n_out)}
    node.update(fields)
    return node


def _model_node(kind: str, path: str, est: Any, n_features: int, n_outputs: int, **fields: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": kind, "path": path, "class": type(est).__name__,
                            "n_features": int(n_features), "n_outputs": int(n_outputs)}
    node.update(fields)
    return node


def _identity(n: int, path: str, cls: str = "passthrough") -> dict[str, Any]:
    return {"type": "identity", "path": path, "class": cls, "n_in": int(n), "n_out": int(n)}


def _n_in(est: Any, given: int | None) -> int | None:
    n = getattr(est, "n_features_in_", None)
    return int(n) if n is not None else given


# --------------------------------------------------------------------------- transformers


def _simple_imputer(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    mv = est.missing_values
    if mv is None:
        ctx.refuse(path, est, "missing_values=None cannot be told apart from NaN in the JSON format",
                   "refit with missing_values=np.nan")
    missing = _typed(mv)
    if missing is None:
        ctx.refuse(path, est, f"missing_values={mv!r} is neither a number nor a string")
    stats = np.asarray(est.statistics_, dtype=object)
    n = len(stats)
    if est.keep_empty_features:
        kept = list(range(n))
    else:
        kept = [j for j, s in enumerate(stats) if not _is_nan(s)]
    fill_dtype = getattr(est, "_fill_dtype", np.dtype(np.float64))
    columns = []
    for j in kept:
        s = stats[j]
        if fill_dtype.kind in "iu":
            s = int(s)
        elif fill_dtype.kind == "f":
            s = float(s)
        fill = _typed(s)
        if fill is None:
            ctx.refuse(path, est, f"the fill value of column {j} is {s!r}, neither a number nor a string")
        columns.append({"input": j, "fill": fill})
    indicators: list[int] = []
    if est.add_indicator:
        ind = est.indicator_
        indicators = _ints(ind.features_)
    return _node("impute", path, est, n, len(columns) + len(indicators), missing_value=missing,
                 columns=columns, indicators=indicators)


def _standard_scaler(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    n = int(est.n_features_in_)
    center = est.mean_ if est.with_mean else np.zeros(n)
    scale = est.scale_ if (est.with_std and est.scale_ is not None) else np.ones(n)
    return _node("center_scale", path, est, n, n, center=_nums(center), scale=_nums(scale))


def _robust_scaler(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    n = int(est.n_features_in_)
    center = est.center_ if est.with_centering else np.zeros(n)
    scale = est.scale_ if est.with_scaling else np.ones(n)
    return _node("center_scale", path, est, n, n, center=_nums(center), scale=_nums(scale))


def _maxabs_scaler(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    n = int(est.n_features_in_)
    node = _node("center_scale", path, est, n, n, center=_nums(np.zeros(n)), scale=_nums(est.scale_))
    if getattr(est, "clip", False):
        node["clip"] = [-1.0, 1.0]
    return node


def _minmax_scaler(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    n = int(est.n_features_in_)
    node = _node("multiply_add", path, est, n, n, multiply=_nums(est.scale_), add=_nums(est.min_))
    if est.clip:
        node["clip"] = [_num(est.feature_range[0]), _num(est.feature_range[1])]
    return node


def _polynomial(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    powers = np.asarray(est.powers_)
    terms = []
    for row in powers:
        idx: list[int] = []
        for j, p in enumerate(row.tolist()):
            idx.extend([j] * int(p))
        # sklearn builds x_i0 * x_i1 * ... * x_id (i0 <= ... <= id) as
        # ((x_id * x_i(d-1)) * ...) * x_i0: listing indices in descending order
        # and multiplying left to right reproduces it bit for bit.
        terms.append(sorted(idx, reverse=True))
    return _node("polynomial", path, est, powers.shape[1], powers.shape[0], terms=terms)


def _pca(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    comps = np.asarray(est.components_, dtype=np.float64)
    offset = (np.reshape(np.asarray(est.mean_, dtype=np.float64), (1, -1)) @ comps.T).ravel()
    node = _node("project", path, est, comps.shape[1], comps.shape[0], components=_nums(comps), offset=_nums(offset))
    if est.whiten:
        scale = np.sqrt(np.asarray(est.explained_variance_, dtype=np.float64))
        eps = np.finfo(scale.dtype).eps
        scale[scale < eps] = eps
        node["divide"] = _nums(scale)
    return node


def _function_transformer(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    """``func=None`` is an identity; a function is carried as an ``expression``
    step when mlexport.expr can translate it (and refused with its reason otherwise)."""
    import dataclasses

    from .. import expr
    from ..errors import UnsupportedStepError

    n = _n_in(est, n_in)
    if n is None:
        ctx.refuse(path, est, "cannot tell how many columns it takes")
    if est.func is None:
        return _identity(int(n), path, "FunctionTransformer")
    try:
        program = dataclasses.replace(expr.translate(est), n_features_in=int(n))
        width = expr.check(program).width
    except UnsupportedStepError as e:
        ctx.refuse(path, est, e.reason, e.hint)
    if width is None:
        ctx.refuse(path, est, "cannot tell how many columns the function returns")
    return _node("expression", path, est, int(n), int(width), program=program.to_dict())


def _category_kind(values: list[Any]) -> str | None:
    if all(isinstance(v, str) for v in values):
        return "string"
    if all(_is_number(v) and not isinstance(v, str) for v in values):
        return "number"
    return None


def _unknown_value(kind: str, values: list[Any]) -> Any:
    if kind == "string":
        u = "\u0000mlexport-unknown-category"
        while u in values:
            u += "\u0000"
        return u
    finite = [float(v) for v in values if math.isfinite(float(v))]
    cand = (max(finite) + 1.0) if finite else 0.0
    taken = {float(v) for v in values}
    while cand in taken or not math.isfinite(cand):
        cand = float(np.nextafter(cand, -np.inf))
    return cand


def _probe_input(enc: Any, columns: list[list[Any]], kinds: list[str]) -> Any:
    import pandas as pd

    arrays = []
    for vals, kind in zip(columns, kinds):
        if kind == "string":
            arr = np.empty(len(vals), dtype=object)
            arr[:] = vals
        else:
            arr = np.asarray([float(v) for v in vals], dtype=np.float64)
        arrays.append(arr)
    names = getattr(enc, "feature_names_in_", None)
    if names is not None:
        return pd.DataFrame({name: arr for name, arr in zip(names, arrays)})
    if all(k == "number" for k in kinds):
        return np.column_stack(arrays).astype(np.float64)
    out = np.empty((len(arrays[0]), len(arrays)), dtype=object)
    for j, arr in enumerate(arrays):
        out[:, j] = arr
    return out


def _encoder_probe(enc: Any, path: str, ctx: _Ctx) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray | None, list[int]]:
    """Run the fitted encoder on its own categories (and an unknown value).

    Returns per-feature descriptions (kind, categories, position of the
    missing category), the known-probe output, the unknown-probe output (or
    None when handle_unknown='error'), and the number of probe rows per
    feature.
    """
    import pandas as pd

    cats = enc.categories_
    feats: list[dict[str, Any]] = []
    probe_cols: list[list[Any]] = []
    kinds: list[str] = []
    for i, c in enumerate(cats):
        vals = list(np.asarray(c, dtype=object).tolist())
        if any(v is None or v is pd.NA for v in vals):
            ctx.refuse(path, enc, f"feature {i} has None / pd.NA as a category, which sklearn does not match "
                       "to NaN; the JSON format has a single missing value", "refit with NaN for missing values")
        nonmissing = [v for v in vals if not _is_nan(v)]
        missing_pos = [j for j, v in enumerate(vals) if _is_nan(v)]
        kind = _category_kind(nonmissing)
        if kind is None:
            ctx.refuse(path, enc, f"feature {i} mixes string and number categories")
        feats.append({"kind": kind, "values": nonmissing, "all": vals, "missing_pos": missing_pos[0] if missing_pos else None})
        kinds.append(kind)
    n_rows = max(len(f["all"]) for f in feats)
    for f in feats:
        allv = f["all"]
        probe_cols.append([allv[min(r, len(allv) - 1)] for r in range(n_rows)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            known = enc.transform(_probe_input(enc, probe_cols, kinds))
        except Exception as e:  # noqa: BLE001 - any failure means we cannot read it
            ctx.refuse(path, enc, f"could not read the fitted categories ({type(e).__name__}: {e})")
        unknown = None
        if enc.handle_unknown != "error":
            ucols = [[_unknown_value(f["kind"], f["values"])] for f in feats]
            try:
                unknown = enc.transform(_probe_input(enc, ucols, kinds))
            except Exception as e:  # noqa: BLE001
                ctx.refuse(path, enc, f"could not read unknown-category handling ({type(e).__name__}: {e})")
    known = known.toarray() if hasattr(known, "toarray") else np.asarray(known)
    if unknown is not None:
        unknown = unknown.toarray() if hasattr(unknown, "toarray") else np.asarray(unknown)
    return feats, np.asarray(known, dtype=np.float64), None if unknown is None else np.asarray(unknown, dtype=np.float64), [len(f["all"]) for f in feats]


def _cat_values(kind: str, values: list[Any]) -> list[Any]:
    return [str(v) for v in values] if kind == "string" else [_num(v) for v in values]


def _one_position(row: np.ndarray, feature: int, path: str, est: Any, ctx: _Ctx) -> int:
    """Where the single 1.0 of a one-hot block is, -1 if all zeros."""
    ones = np.flatnonzero(row != 0.0)
    if len(ones) > 1 or (len(ones) == 1 and row[ones[0]] != 1.0):
        ctx.refuse(path, est, f"feature {feature}: a category does not map to a single one-hot column")
    return int(ones[0]) if len(ones) else -1


def _one_hot(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    if np.dtype(est.dtype) != np.float64:
        ctx.refuse(path, est, f"dtype={np.dtype(est.dtype).name}: only float64 output is exported",
                   "refit with dtype=np.float64 (the default)")
    feats, known, unknown, counts = _encoder_probe(est, path, ctx)
    widths = [int(w) for w in getattr(est, "_n_features_outs", [])]
    if len(widths) != len(feats) or sum(widths) != known.shape[1]:
        ctx.refuse(path, est, "could not tell the output width of each feature")
    out_feats = []
    off = 0
    for i, (f, w) in enumerate(zip(feats, widths)):
        block = known[:, off : off + w]

        codes = [_one_position(block[r], i, path, est, ctx) for r in range(counts[i])]
        mp = f["missing_pos"]
        spec: dict[str, Any] = {
            "kind": f["kind"],
            "categories": _cat_values(f["kind"], f["values"]),
            "index": [c for r, c in enumerate(codes) if r != mp],
            "width": w,
        }
        if mp is not None:
            spec["missing"] = codes[mp]
        if unknown is None:
            spec["on_unknown"] = "error"
        else:
            spec["on_unknown"] = "encode"
            spec["unknown"] = _one_position(unknown[0, off : off + w], i, path, est, ctx)
        out_feats.append(spec)
        off += w
    return _node("one_hot", path, est, len(feats), off, features=out_feats)


def _ordinal(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any]:
    if np.dtype(est.dtype) != np.float64:
        ctx.refuse(path, est, f"dtype={np.dtype(est.dtype).name}: only float64 output is exported",
                   "refit with dtype=np.float64 (the default)")
    feats, known, unknown, counts = _encoder_probe(est, path, ctx)
    if known.shape[1] != len(feats):
        ctx.refuse(path, est, "output width differs from the number of features")
    out_feats = []
    for i, f in enumerate(feats):
        codes = known[: counts[i], i]
        mp = f["missing_pos"]
        spec: dict[str, Any] = {
            "kind": f["kind"],
            "categories": _cat_values(f["kind"], f["values"]),
            "code": [_num(c) for r, c in enumerate(codes) if r != mp],
        }
        if mp is not None:
            spec["missing"] = _num(codes[mp])
        if unknown is None:
            spec["on_unknown"] = "error"
        else:
            spec["on_unknown"] = "encode"
            spec["unknown"] = _num(unknown[0, i])
        out_feats.append(spec)
    return _node("ordinal", path, est, len(feats), len(feats), features=out_feats)


def _transform_handlers() -> dict[type, Callable[..., dict[str, Any]]]:
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import (
        FunctionTransformer,
        MaxAbsScaler,
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        PolynomialFeatures,
        RobustScaler,
        StandardScaler,
    )

    return {
        SimpleImputer: _simple_imputer,
        StandardScaler: _standard_scaler,
        RobustScaler: _robust_scaler,
        MaxAbsScaler: _maxabs_scaler,
        MinMaxScaler: _minmax_scaler,
        OneHotEncoder: _one_hot,
        OrdinalEncoder: _ordinal,
        PolynomialFeatures: _polynomial,
        PCA: _pca,
        FunctionTransformer: _function_transformer,
    }


def _pipeline(p: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any] | None:
    steps: list[dict[str, Any] | None] = []
    first = n_in
    cur = n_in
    for name, step in p.steps:
        sub = f"{path}/{name}" if path else name
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        node = _child(_transform, step, sub, ctx, cur)
        if node is None:
            cur = None
            steps.append(None)
            continue
        if first is None:
            first = node["n_in"]
        cur = node["n_out"]
        steps.append(node)
    if any(s is None for s in steps):
        return None
    if first is None:
        ctx.refuse(path, p, "cannot tell how many columns it takes")
    return _node("pipeline", path, p, int(first), int(cur if cur is not None else first), steps=steps)


def _column_transformer(ct: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any] | None:
    n = int(ct.n_features_in_)
    to_idx = ct._transformer_to_input_indices
    out_idx = ct.output_indices_
    weights = ct.transformer_weights or {}
    parts = []
    ok = True
    for name, trans, _sel in ct.transformers_:
        sl = out_idx.get(name)
        if isinstance(trans, str) and trans == "drop":
            continue
        if sl is None or sl.stop <= sl.start:
            continue
        cols = [int(i) for i in to_idx[name]]
        sub = f"{path}/{name}"
        if isinstance(trans, str) and trans == "passthrough":
            node: dict[str, Any] | None = _identity(len(cols), sub)
        else:
            node = _child(_transform, trans, sub, ctx, len(cols))
        if node is None:
            ok = False
            continue
        if node["n_in"] != len(cols) or node["n_out"] != sl.stop - sl.start:
            ctx.refuse(sub, trans, f"width mismatch: takes {len(cols)} -> gives {sl.stop - sl.start} columns in "
                       f"sklearn, {node['n_in']} -> {node['n_out']} in the export")
        part: dict[str, Any] = {"name": str(name), "columns": cols, "node": node}
        if name in weights and weights[name] is not None:
            part["weight"] = _num(weights[name])
        parts.append((sl.start, part))
    if not ok:
        return None
    parts.sort(key=lambda t: t[0])
    n_out = sum(p["node"]["n_out"] for _s, p in parts)
    return _node("column_transformer", path, ct, n, n_out, parts=[p for _s, p in parts])


def _feature_union(fu: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any] | None:
    n = _n_in(fu, n_in)
    if n is None:
        ctx.refuse(path, fu, "cannot tell how many columns it takes")
    weights = fu.transformer_weights or {}
    parts = []
    ok = True
    for name, trans in fu.transformer_list:
        sub = f"{path}/{name}"
        if isinstance(trans, str) and trans == "drop":
            continue
        if isinstance(trans, str) and trans == "passthrough":
            node: dict[str, Any] | None = _identity(int(n), sub)
        else:
            node = _child(_transform, trans, sub, ctx, int(n))
        if node is None:
            ok = False
            continue
        part: dict[str, Any] = {"name": str(name), "columns": list(range(int(n))), "node": node}
        if name in weights and weights[name] is not None:
            part["weight"] = _num(weights[name])
        parts.append(part)
    if not ok:
        return None
    n_out = sum(p["node"]["n_out"] for p in parts)
    return _node("column_transformer", path, fu, int(n), n_out, parts=parts)


def _transform(est: Any, path: str, ctx: _Ctx, n_in: int | None) -> dict[str, Any] | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if est is None or (isinstance(est, str) and est == "passthrough"):
        if n_in is None:
            ctx.refuse(path, "passthrough", "cannot tell how many columns it takes")
        return _identity(int(n_in), path)
    if isinstance(est, str):
        ctx.refuse(path, est, f"'{est}' is not a transformer")
    t = type(est)
    if t is Pipeline:
        return _pipeline(est, path, ctx, n_in)
    if t is ColumnTransformer:
        return _column_transformer(est, path, ctx, n_in)
    if t is FeatureUnion:
        return _feature_union(est, path, ctx, n_in)
    from ..plugins import get as plugin_for

    plugin = plugin_for("json", t)
    if plugin is not None:  # a user's converter (mlexport.plugins): checked like any node
        from .plugin import PluginStepError, plugin_node

        try:
            return plugin_node(plugin, est, path, n_in)
        except PluginStepError as e:
            ctx.refuse(path, est, e.reason, e.hint)
    handler = _transform_handlers().get(t)
    if handler is None:
        what = "estimator" if hasattr(est, "predict") and not hasattr(est, "transform") else "transformer"
        ctx.refuse(path, est, f"{t.__name__} is not a {what} the JSON format covers")
    node = handler(est, path, ctx, n_in)
    if n_in is not None and node["n_in"] != n_in:
        ctx.refuse(path, est, f"takes {node['n_in']} columns but receives {n_in}")
    return node


# --------------------------------------------------------------------------- final estimators


LINEAR_REGRESSORS = (
    "LinearRegression Ridge RidgeCV Lasso LassoCV ElasticNet ElasticNetCV Lars LarsCV LassoLars LassoLarsCV "
    "LassoLarsIC OrthogonalMatchingPursuit OrthogonalMatchingPursuitCV BayesianRidge ARDRegression "
    "HuberRegressor QuantileRegressor TheilSenRegressor SGDRegressor PassiveAggressiveRegressor "
    "MultiTaskLasso MultiTaskLassoCV MultiTaskElasticNet MultiTaskElasticNetCV"
).split()
GLM_REGRESSORS = ("PoissonRegressor", "GammaRegressor", "TweedieRegressor")
LINEAR_CLASSIFIERS = (
    "LogisticRegression LogisticRegressionCV SGDClassifier LinearSVC RidgeClassifier RidgeClassifierCV "
    "Perceptron PassiveAggressiveClassifier"
).split()
TREE_SINGLE = ("DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor")
FORESTS = ("RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor")
GBS = ("GradientBoostingClassifier", "GradientBoostingRegressor")
HGBS = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")
MLPS = ("MLPClassifier", "MLPRegressor")


def _final_classes() -> dict[str, type]:
    import sklearn.ensemble as ens
    import sklearn.linear_model as lm
    import sklearn.naive_bayes as nb
    import sklearn.neural_network as nn
    import sklearn.svm as svm
    import sklearn.tree as tree

    out: dict[str, type] = {}
    for mod, names in (
        (lm, LINEAR_REGRESSORS + list(GLM_REGRESSORS) + LINEAR_CLASSIFIERS),
        (svm, ("LinearSVC", "LinearSVR")),
        (nb, ("GaussianNB",)),
        (nn, MLPS),
        (tree, TREE_SINGLE),
        (ens, FORESTS + GBS + HGBS),
    ):
        for n in names:
            cls = getattr(mod, n, None)
            if cls is not None:
                out[n] = cls
    return out


def _classes(est: Any, path: str, ctx: _Ctx) -> list[Any]:
    classes = np.asarray(est.classes_)
    if classes.ndim != 1:
        ctx.refuse(path, est, "multi-output / multi-label classification is not covered")
    out = []
    for c in classes.tolist():
        v = _json_label(c)
        if v is None:
            ctx.refuse(path, est, f"class label {c!r} cannot be written as a JSON value")
        out.append(v)
    return out


def _squeezes(est: Any, n_features: int) -> bool:
    """Does ``est.predict`` return a 1-D array? (asked of the estimator itself)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = est.predict(np.zeros((1, n_features), dtype=np.float64))
    return np.asarray(y).ndim == 1


def _label_threshold(t: float, inclusive: bool, source: str = "raw") -> dict[str, Any]:
    return {"from": source, "rule": "threshold", "threshold": _num(t), "inclusive": inclusive}


ARGMAX_RAW = {"from": "raw", "rule": "argmax"}


def _linear(est: Any, path: str, ctx: _Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    name = type(est).__name__
    coef = est.coef_
    if hasattr(coef, "toarray"):
        coef = coef.toarray()
    coef = np.asarray(coef, dtype=np.float64)
    coef2 = np.atleast_2d(coef)
    m, n = coef2.shape
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=np.float64), (m,))
    model = _model_node("linear", path, est, n, m, coef=_nums(coef2), intercept=_nums(intercept))
    if name in LINEAR_CLASSIFIERS:
        classes = _classes(est, path, ctx)
        k = len(classes)
        out: dict[str, Any] = {"kind": "classifier", "classes": classes}
        binary = m == 1
        if binary and k != 2:
            ctx.refuse(path, est, f"{k} classes with a single decision column")
        if not binary and m != k:
            ctx.refuse(path, est, f"{k} classes with {m} decision columns")
        out["label"] = _label_threshold(0.0, False) if binary else dict(ARGMAX_RAW)
        loss = getattr(est, "loss", None)
        if name in ("LogisticRegression", "LogisticRegressionCV"):
            out["proba"] = {"transform": "sigmoid_binary", "scale": 1.0} if binary else {"transform": "softmax"}
        elif name == "SGDClassifier" and loss == "log_loss":
            out["proba"] = {"transform": "sigmoid_binary", "scale": 1.0} if binary else {"transform": "sigmoid_ovr"}
        elif name == "SGDClassifier" and loss == "modified_huber":
            out["proba"] = {"transform": "modified_huber"}
        return model, out
    transform = "identity"
    if name in GLM_REGRESSORS:
        link = type(est._base_loss.link).__name__
        if link == "LogLink":
            transform = "exp"
        elif link != "IdentityLink":
            ctx.refuse(path, est, f"link {link} is not covered")
    return model, {"kind": "regressor", "transform": transform, "squeeze": _squeezes(est, n)}


def _gaussian_nb(est: Any, path: str, ctx: _Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    classes = _classes(est, path, ctx)
    theta = np.asarray(est.theta_, dtype=np.float64)
    var = np.asarray(est.var_, dtype=np.float64)
    k, n = theta.shape
    log_prior = [np.log(est.class_prior_[i]) for i in range(k)]
    log_norm = [-0.5 * np.sum(np.log(2.0 * np.pi * var[i, :])) for i in range(k)]
    model = _model_node("gaussian_nb", path, est, n, k, theta=_nums(theta), var=_nums(var),
                        log_prior=_nums(log_prior), log_norm=_nums(log_norm))
    out = {"kind": "classifier", "classes": classes, "label": dict(ARGMAX_RAW), "proba": {"transform": "softmax"}}
    return model, out


def _mlp(est: Any, path: str, ctx: _Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    layers = [{"weights": _nums(w), "bias": _nums(b)} for w, b in zip(est.coefs_, est.intercepts_)]
    n = int(np.asarray(est.coefs_[0]).shape[0])
    m = int(np.asarray(est.coefs_[-1]).shape[1])
    out_act = est.out_activation_
    if est.activation not in ("identity", "logistic", "tanh", "relu"):
        ctx.refuse(path, est, f"activation {est.activation!r} is not covered")
    model = _model_node("mlp", path, est, n, m, hidden_activation=est.activation, output_activation=out_act,
                        layers=layers)
    if type(est).__name__ == "MLPClassifier":
        classes = _classes(est, path, ctx)
        if est._label_binarizer.y_type_ not in ("binary", "multiclass"):
            ctx.refuse(path, est, f"target type {est._label_binarizer.y_type_!r} is not covered")
        if m == 1:
            if out_act != "logistic" or len(classes) != 2:
                ctx.refuse(path, est, "unexpected binary output layer")
            out = {"kind": "classifier", "classes": classes, "label": _label_threshold(0.5, False),
                   "proba": {"transform": "complement_binary"}}
        else:
            if out_act != "softmax" or len(classes) != m:
                ctx.refuse(path, est, "unexpected multi-class output layer")
            out = {"kind": "classifier", "classes": classes, "label": dict(ARGMAX_RAW), "proba": {"transform": "identity"}}
        return model, out
    if out_act != "identity":
        ctx.refuse(path, est, f"output activation {out_act!r} is not covered for regression")
    return model, {"kind": "regressor", "transform": "identity", "squeeze": m == 1}


def _preorder_ok(left: np.ndarray, right: np.ndarray) -> bool:
    idx = np.arange(len(left))
    internal = left >= 0
    return bool(np.all(left[internal] > idx[internal]) and np.all(right[internal] > idx[internal]))


def _relabel(arrays: dict[str, np.ndarray], width: int) -> dict[str, np.ndarray]:
    """Renumber nodes in depth-first pre-order so that children follow parents."""
    left, right = arrays["left"], arrays["right"]
    order: list[int] = []
    stack = [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if left[i] >= 0:
            stack.append(int(right[i]))
            stack.append(int(left[i]))
    new_id = np.full(len(left), -1, dtype=np.int64)
    new_id[np.asarray(order)] = np.arange(len(order))
    out = {}
    for k, a in arrays.items():
        if k == "value":
            out[k] = a.reshape(len(left), width)[order].ravel()
        else:
            out[k] = a[order]
    for k in ("left", "right"):
        a = out[k]
        out[k] = np.where(a >= 0, new_id[np.maximum(a, 0)], -1)
    return out


def _tree_json(feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
               missing_left: np.ndarray, value: np.ndarray, width: int, target: int,
               category_set: np.ndarray | None = None, bitsets: np.ndarray | None = None) -> dict[str, Any]:
    left = np.asarray(left, dtype=np.int64).copy()
    right = np.asarray(right, dtype=np.int64).copy()
    leaf = left < 0
    left[leaf] = -1
    right[leaf] = -1
    feature = np.where(leaf, -1, np.asarray(feature, dtype=np.int64))
    threshold = np.where(leaf, 0.0, np.asarray(threshold, dtype=np.float64))
    missing_left = np.where(leaf, 0, np.asarray(missing_left, dtype=np.int64))
    value = np.asarray(value, dtype=np.float64).reshape(len(left), width).copy()
    value[~leaf] = 0.0
    arrays = {"feature": feature, "threshold": threshold, "left": left, "right": right,
              "missing_left": missing_left, "value": value.ravel()}
    if category_set is not None:
        arrays["category_set"] = np.where(leaf, -1, np.asarray(category_set, dtype=np.int64))
    if not _preorder_ok(left, right):
        arrays = _relabel(arrays, width)
    tree: dict[str, Any] = {"target": int(target), "width": int(width)}
    for k in ("feature", "threshold", "left", "right", "missing_left"):
        tree[k] = _nums(arrays[k]) if k == "threshold" else _ints(arrays[k])
    if category_set is not None and bitsets is not None and len(bitsets):
        tree["category_set"] = _ints(arrays["category_set"])
        tree["bitsets"] = [_ints(b) for b in np.asarray(bitsets, dtype=np.uint64)]
    tree["value"] = _nums(arrays["value"])
    return tree


def _sk_tree(t: Any, width: int, target: int, value_of: Callable[[np.ndarray], np.ndarray],
             use_missing: bool = True) -> dict[str, Any]:
    tr = t.tree_
    mgl = np.asarray(tr.missing_go_to_left) if use_missing else np.zeros(tr.node_count, dtype=np.int64)
    return _tree_json(tr.feature, tr.threshold, tr.children_left, tr.children_right, mgl,
                      value_of(np.asarray(tr.value)), width, target)


def _ensemble(path: str, est: Any, n_features: int, n_outputs: int, init: Any, tree_scale: float,
              divide: float, cast: str, trees: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    model = _model_node("tree_ensemble", path, est, n_features, n_outputs, input_cast=cast, init=_nums(init),
                        tree_scale=_num(tree_scale), divide=_num(divide), **extra)
    model["trees"] = trees
    return model


def _sklearn_trees(est: Any, path: str, ctx: _Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    name = type(est).__name__
    is_clf = name.endswith("Classifier")
    members = [est] if name in TREE_SINGLE else list(est.estimators_)
    n_outputs_y = int(est.n_outputs_)
    n = int(est.n_features_in_)
    if is_clf:
        if n_outputs_y != 1:
            ctx.refuse(path, est, "multi-output classification is not covered")
        classes = _classes(est, path, ctx)
        k = len(classes)
        for t in members:
            if int(np.atleast_1d(t.n_classes_)[0]) != k:
                ctx.refuse(path, est, "a tree has a different number of classes than the forest")
        def leaf_proba(v: np.ndarray) -> np.ndarray:
            return v[:, 0, :k]

        trees = [_sk_tree(t, k, 0, leaf_proba) for t in members]
        width = k
        out: dict[str, Any] = {"kind": "classifier", "classes": classes, "label": {"from": "proba", "rule": "argmax"},
                               "proba": {"transform": "identity"}}
    else:
        width = n_outputs_y
        trees = [_sk_tree(t, width, 0, lambda v: v[:, :, 0]) for t in members]
        out = {"kind": "regressor", "transform": "identity", "squeeze": n_outputs_y == 1}
    divide = 1.0 if name in TREE_SINGLE else float(len(members))
    model = _ensemble(path, est, n, width, np.zeros(width), 1.0, divide, "float32", trees)
    return model, out


def _gradient_boosting(est: Any, path: str, ctx: _Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    name = type(est).__name__
    n = int(est.n_features_in_)
    K = int(est.n_trees_per_iteration_)
    init = est.init_
    if not (isinstance(init, str) and init == "zero") and type(init) not in (DummyClassifier, DummyRegressor):
        ctx.refuse(path, est, f"init={type(init).__name__} is not constant", "use init=None or 'zero'")
    if type(init) is DummyClassifier and init.strategy not in ("prior", "most_frequent", "constant"):
        ctx.refuse(path, est, f"init DummyClassifier(strategy={init.strategy!r}) is random")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = np.asarray(est._raw_predict_init(np.zeros((1, n), dtype=np.float32)), dtype=np.float64)
    trees = []
    for i in range(est.estimators_.shape[0]):
        for k in range(K):
            # sklearn's fast GB predictor never looks at missing_go_to_left (NaN goes right)
            trees.append(_sk_tree(est.estimators_[i, k], 1, k, lambda v: v[:, 0, 0], use_missing=False))
    model = _ensemble(path, est, n, K, base.reshape(-1), float(est.learning_rate), 1.0, "float32", trees)
    if name == "GradientBoostingRegressor":
        return model, {"kind": "regressor", "transform": "identity", "squeeze": True}
    classes = _classes(est, path, ctx)
    loss = type(est._loss).__name__
    if K == 1:
        scale = {"HalfBinomialLoss": 1.0, "ExponentialLoss": 2.0}.get(loss)
        if scale is None:
            ctx.refuse(path, est, f"loss {loss} is not covered")
        proba = {"transform": "sigmoid_binary", "scale": scale}
        label = _label_threshold(0.0, True)
    else:
        if loss != "HalfMultinomialLoss":
            ctx.refuse(path, est, f"loss {loss} is not covered")
        proba = {"transform": "softmax"}
        label = dict(ARGMAX_RAW)
    return model, {"kind": "classifier", "classes": classes, "label": label, "proba": proba}


def _hgb_preprocessor(est: Any, path: str, ctx: _Ctx) -> dict[str, Any]:
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    ct = est._preprocessor
    to_idx = ct._transformer_to_input_indices
    out_idx = ct.output_indices_
    parts: list[tuple[int, dict[str, Any]]] = []
    for name, trans, _sel in ct.transformers_:
        sl = out_idx.get(name)
        if sl is None or sl.stop <= sl.start or (isinstance(trans, str) and trans == "drop"):
            continue
        cols = [int(i) for i in to_idx[name]]
        sub = f"{path}/{name}"
        if type(trans) is OrdinalEncoder:
            node = _ordinal(trans, sub, ctx, len(cols))
        elif type(trans) is FunctionTransformer or (isinstance(trans, str) and trans == "passthrough"):
            node = _identity(len(cols), sub, "FunctionTransformer")
        else:
            ctx.refuse(sub, trans, "unexpected step in HistGradientBoosting's categorical preprocessor")
        parts.append((sl.start, {"name": str(name), "columns": cols, "node": node}))
    parts.sort(key=lambda t: t[0])
    n_out = sum(int(p["node"]["n_out"]) for _s, p in parts)
    return _node("column_transformer", path, ct, int(ct.n_features_in_), n_out, parts=[p for _s, p in parts])


def _hist_gradient_boosting(est: Any, path: str, ctx: _Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    name = type(est).__name__
    n = int(est.n_features_in_)
    K = int(est.n_trees_per_iteration_)
    trees = []
    for it in est._predictors:
        for k, pred in enumerate(it):
            nodes = pred.nodes
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"].astype(np.int64))
            right = np.where(leaf, -1, nodes["right"].astype(np.int64))
            is_cat = nodes["is_categorical"].astype(bool) & ~leaf
            cat_set = np.where(is_cat, nodes["bitset_idx"].astype(np.int64), -1)
            bitsets = np.asarray(pred.raw_left_cat_bitsets)
            has_cat = bool(is_cat.any())
            trees.append(_tree_json(nodes["feature_idx"], nodes["num_threshold"], left, right,
                                    nodes["missing_go_to_left"], nodes["value"], 1, k,
                                    cat_set if has_cat else None, bitsets if has_cat else None))
    extra: dict[str, Any] = {}
    remapped = getattr(est, "_is_categorical_remapped", None)
    if remapped is not None and np.any(remapped):
        known, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
        extra["known_categories"] = [
            {"feature": int(f), "bitset": _ints(np.asarray(known[f_idx_map[f]], dtype=np.uint64))}
            for f in np.flatnonzero(remapped)
        ]
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    model = _ensemble(path, est, n, K, base, 1.0, 1.0, "none", trees, **extra)
    link = type(est._loss.link).__name__
    if name == "HistGradientBoostingRegressor":
        transform = {"IdentityLink": "identity", "LogLink": "exp"}.get(link)
        if transform is None:
            ctx.refuse(path, est, f"link {link} is not covered")
        return model, {"kind": "regressor", "transform": transform, "squeeze": True}
    classes = _classes(est, path, ctx)
    if K == 1:
        if link != "LogitLink":
            ctx.refuse(path, est, f"link {link} is not covered")
        return model, {"kind": "classifier", "classes": classes, "label": _label_threshold(0.0, False),
                       "proba": {"transform": "sigmoid_binary", "scale": 1.0}}
    if link != "MultinomialLogit":
        ctx.refuse(path, est, f"link {link} is not covered")
    return model, {"kind": "classifier", "classes": classes, "label": dict(ARGMAX_RAW),
                   "proba": {"transform": "softmax"}}


def _final(est: Any, path: str, ctx: _Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..plugins import get as plugin_for

    known = _final_classes()
    name = type(est).__name__
    if plugin_for("json", type(est)) is not None:
        ctx.refuse(path, est, "json plug-ins convert transformers into steps; a custom final estimator is not covered",
                   "export the model to ONNX (plug-ins convert estimators there) or PMML")
    if known.get(name) is not type(est):
        if hasattr(est, "transform") and not hasattr(est, "predict"):
            ctx.refuse(path, est, "the last step must be a predictor")
        ctx.refuse(path, est, f"{name} is not an estimator the JSON format covers")
    if name in LINEAR_REGRESSORS or name in GLM_REGRESSORS or name in LINEAR_CLASSIFIERS or name in ("LinearSVC", "LinearSVR"):
        return _linear(est, path, ctx)
    if name == "GaussianNB":
        return _gaussian_nb(est, path, ctx)
    if name in MLPS:
        return _mlp(est, path, ctx)
    if name in TREE_SINGLE or name in FORESTS:
        return _sklearn_trees(est, path, ctx)
    if name in GBS:
        return _gradient_boosting(est, path, ctx)
    return _hist_gradient_boosting(est, path, ctx)


# --------------------------------------------------------------------------- input kinds


def _passmap(node: dict[str, Any]) -> list[int | None]:
    """For each output column, the input column it copies unchanged (kind preserved), else None."""
    t = node["type"]
    if t == "identity":
        return list(range(node["n_in"]))
    if t == "impute":
        return [c["input"] for c in node["columns"]] + [None] * len(node["indicators"])
    if t == "pipeline":
        cur: list[int | None] = list(range(node["n_in"]))
        for s in node["steps"]:
            cur = [cur[j] if j is not None else None for j in _passmap(s)]
        return cur
    if t == "column_transformer":
        out: list[int | None] = []
        for p in node["parts"]:
            out.extend(p["columns"][j] if j is not None else None for j in _passmap(p["node"]))
        return out
    return [None] * node["n_out"]


def _used_inputs(node: dict[str, Any]) -> set[int]:
    """Input columns of ``node`` that it reads (a column transformer drops the others)."""
    t = node["type"]
    if t == "column_transformer":
        return {p["columns"][j] for p in node["parts"] for j in _used_inputs(p["node"])}
    if t == "pipeline" and node["steps"]:
        return _used_inputs(node["steps"][0])
    return set(range(node["n_in"]))


def _string_inputs(node: dict[str, Any]) -> set[int]:
    """Input columns of ``node`` that must hold strings."""
    t = node["type"]
    if t in ("one_hot", "ordinal"):
        return {i for i, f in enumerate(node["features"]) if f["kind"] == "string"}
    need: set[int] = set()
    if t == "impute":
        need = {c["input"] for c in node["columns"] if "string" in c["fill"]}
        if "string" in node["missing_value"]:
            need |= {c["input"] for c in node["columns"]}
        return need
    if t == "pipeline":
        cur: list[int | None] = list(range(node["n_in"]))
        for s in node["steps"]:
            need |= {cur[j] for j in _string_inputs(s) if cur[j] is not None}  # type: ignore[misc]
            cur = [cur[j] if j is not None else None for j in _passmap(s)]
        return need
    if t == "column_transformer":
        return {p["columns"][j] for p in node["parts"] for j in _string_inputs(p["node"])}
    return set()


# --------------------------------------------------------------------------- document


def _as_model(obj: Any) -> Any:
    from ..model import LoadedModel, from_estimator

    if isinstance(obj, LoadedModel):
        return obj
    return from_estimator(obj)


def _split(est: Any) -> tuple[list[tuple[Any, str]], Any, str]:
    """(transform steps with paths, final estimator, its path), flattening nested pipelines."""
    from sklearn.pipeline import Pipeline

    steps: list[tuple[Any, str]] = []
    prefix = ""
    while type(est) is Pipeline:
        for name, step in est.steps[:-1]:
            steps.append((step, f"{prefix}/{name}" if prefix else name))
        name, last = est.steps[-1]
        prefix = f"{prefix}/{name}" if prefix else name
        est = last
        if type(est) is not Pipeline:
            return steps, est, prefix
    return steps, est, type(est).__name__.lower()


def build(obj: Any, *, collect: bool = False) -> tuple[dict[str, Any] | None, list[Problem], list[str]]:
    """Build a document. With ``collect``, gather every refusal instead of raising."""
    import sklearn

    model = _as_model(obj)
    ctx = _Ctx(collect)
    est = model.estimator
    sig_cols = list(model.signature.columns)
    n_inputs = len(sig_cols)
    pre, final, final_path = _split(est)
    nodes: list[dict[str, Any] | None] = []
    cur: int | None = n_inputs
    for step, path in pre:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        node = _child(_transform, step, path, ctx, cur)
        nodes.append(node)
        cur = node["n_out"] if node is not None else None
    if type(final).__name__ in HGBS and getattr(final, "_preprocessor", None) is not None:
        node = _child(_hgb_preprocessor, final, f"{final_path}/_preprocessor", ctx)
        nodes.append(node)
        cur = node["n_out"] if node is not None else None
    try:
        model_node, output = _final(final, final_path, ctx)
    except _Refused:
        model_node, output = None, None
    if model_node is not None and cur is not None and model_node["n_features"] != cur:
        try:
            ctx.refuse(final_path, final, f"takes {model_node['n_features']} features but the steps before it "
                       f"give {cur}")
        except _Refused:
            model_node = None
    if ctx.problems or model_node is None or output is None or any(n is None for n in nodes):
        return None, ctx.problems, ctx.notes
    if output["kind"] == "classifier" and model.task != "classification":
        raise BadInputError(f"{type(final).__name__}: a classifier, but the model's task is {model.task}")
    steps = [n for n in nodes if n is not None]
    # Input kinds: the signature's, but a column an encoder / imputer needs as
    # strings is a string column whatever the signature inferred.
    kinds = [c.kind for c in sig_cols]
    need: set[int] = set()
    cur_map: list[int | None] = list(range(n_inputs))
    for s in steps:
        need |= {cur_map[j] for j in _string_inputs(s) if j < len(cur_map) and cur_map[j] is not None}  # type: ignore[misc]
        cur_map = [cur_map[j] if j is not None and j < len(cur_map) else None for j in _passmap(s)]
    for i in sorted(need):
        if kinds[i] != "string":
            ctx.notes.append(f"input column '{sig_cols[i].name}' holds categories given as strings: "
                             "declared as a string column")
            kinds[i] = "string"
    used = _used_inputs(steps[0]) if steps else set(range(n_inputs))
    doc = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "producer": {
            "name": "mlexport",
            "sklearn_version": sklearn.__version__,
            "estimator": type(est).__name__,
            "source": model.source,
            "sha256": model.sha256,
        },
        "task": "classification" if output["kind"] == "classifier" else "regression",
        "inputs": [{"name": c.name, "kind": k, "used": i in used} for i, (c, k) in enumerate(zip(sig_cols, kinds))],
        "steps": steps,
        "model": model_node,
        "output": output,
    }
    return doc, [], ctx.notes


def to_document(obj: Any) -> dict[str, Any]:
    """The document for a fitted estimator or LoadedModel; raises UnsupportedStepError."""
    doc, _problems, _notes = build(obj)
    assert doc is not None
    return doc


def problems(obj: Any) -> list[Problem]:
    """Every step the JSON format refuses, without raising."""
    _doc, probs, _notes = build(obj, collect=True)
    return probs


def dumps(doc: dict[str, Any]) -> str:
    """Serialise: compact, ASCII only, non-finite numbers already spelled as strings."""
    import json

    return json.dumps(doc, allow_nan=False, separators=(",", ":"), ensure_ascii=True)


__all__ = ["Problem", "build", "to_document", "problems", "dumps", "DEFAULT_HINT"]
