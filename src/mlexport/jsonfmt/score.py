"""Reference scorer for the mlexport JSON format: the executable specification.

This module is ``SPEC.md`` written in numpy. It needs numpy and pandas only
(no scikit-learn, no scipy), validates the whole document when loading it
(version, node types, every field, array shapes, tree structure) and then
scores a DataFrame in one vectorised pass. Go and Java scorers must produce
the same numbers; where SPEC.md names an operation order, this code follows
it.

Every problem with a document or an input frame raises
:class:`mlexport.errors.BadInputError` with a message naming where it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..outputs import Outputs
from . import FORMAT_NAME, SUPPORTED_VERSIONS

NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

Column = np.ndarray  # float64 (number column) or object (cells: str or float; NaN = missing)
Apply = Callable[[list[Column]], list[Column]]


# --------------------------------------------------------------------------- reading helpers


def _fail(where: str, msg: str) -> BadInputError:
    return BadInputError(f"JSON document: {where}: {msg}")


def _obj(d: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise _fail(where, f"must be an object. Got {type(d).__name__} instead.")
    missing = [k for k in required if k not in d]
    if missing:
        raise _fail(where, f"missing field(s) {', '.join(missing)}")
    unknown = sorted(set(d) - set(required) - set(optional))
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(unknown)}: written by a newer format version?")
    return d


def _number(x: Any, where: str) -> float:
    if isinstance(x, bool):
        raise _fail(where, f"must be a number. Got {x!r} instead.")
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str) and x in NONFINITE:
        return NONFINITE[x]
    raise _fail(where, f"must be a number (or \"NaN\", \"Infinity\", \"-Infinity\"). Got {x!r} instead.")


def _numbers(x: Any, where: str, length: int | None = None) -> np.ndarray:
    if not isinstance(x, list):
        raise _fail(where, f"must be an array of numbers. Got {type(x).__name__} instead.")
    if length is not None and len(x) != length:
        raise _fail(where, f"must have {length} numbers. Got {len(x)} instead.")
    try:
        # fast path: plain JSON numbers
        if all(type(v) in (int, float) for v in x):
            return np.asarray(x, dtype=np.float64).reshape(len(x))
    except (TypeError, ValueError):
        pass
    return np.asarray([_number(v, f"{where}[{i}]") for i, v in enumerate(x)], dtype=np.float64).reshape(len(x))


def _matrix(x: Any, where: str, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    if not isinstance(x, list):
        raise _fail(where, "must be an array of arrays")
    if rows is not None and len(x) != rows:
        raise _fail(where, f"must have {rows} rows. Got {len(x)} instead.")
    if not x:
        return np.zeros((0, cols or 0))
    out = [_numbers(r, f"{where}[{i}]", cols if cols is not None else len(x[0]) if isinstance(x[0], list) else None)
           for i, r in enumerate(x)]
    return np.vstack(out) if out else np.zeros((0, cols or 0))


def _int(x: Any, where: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise _fail(where, f"must be an integer. Got {x!r} instead.")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise _fail(where, f"must be in [{lo}, {hi}]. Got {x} instead.")
    return x


def _ints(x: Any, where: str, length: int | None = None) -> np.ndarray:
    if not isinstance(x, list):
        raise _fail(where, "must be an array of integers")
    if length is not None and len(x) != length:
        raise _fail(where, f"must have {length} integers. Got {len(x)} instead.")
    for i, v in enumerate(x):
        if isinstance(v, bool) or not isinstance(v, int):
            raise _fail(f"{where}[{i}]", f"must be an integer. Got {v!r} instead.")
    return np.asarray(x, dtype=np.int64).reshape(len(x))


def _enum(x: Any, where: str, allowed: tuple[str, ...]) -> str:
    if x not in allowed:
        raise _fail(where, f"must be one of {', '.join(allowed)}. Got {x!r} instead (unknown to this scorer).")
    return str(x)


def _typed(x: Any, where: str) -> tuple[str, Any]:
    """A typed value: {"number": n} or {"string": s}."""
    if not isinstance(x, dict) or len(x) != 1 or next(iter(x)) not in ("number", "string"):
        raise _fail(where, 'must be {"number": n} or {"string": s}')
    if "number" in x:
        return "number", _number(x["number"], f"{where}.number")
    s = x["string"]
    if not isinstance(s, str):
        raise _fail(where, "string value must be a JSON string")
    return "string", s


def _strings(x: Any, where: str) -> list[str]:
    if not isinstance(x, list) or not all(isinstance(v, str) for v in x):
        raise _fail(where, "must be an array of strings")
    return list(x)


# --------------------------------------------------------------------------- cells


def _is_nan_cell(v: Any) -> bool:
    return isinstance(v, float) and v != v


def _as_number(col: Column, where: str) -> np.ndarray:
    """A column as float64; a string cell reaching a numeric step is an input error."""
    if col.dtype == np.float64:
        return col
    out = np.empty(len(col), dtype=np.float64)
    for i, v in enumerate(col):
        if isinstance(v, str):
            raise BadInputError(f"{where}: string value {v!r} reached a numeric step (row {i}).")
        out[i] = float(v)
    return out


def _nan_mask(col: Column) -> np.ndarray:
    if col.dtype == np.float64:
        return np.isnan(col)
    return np.fromiter((_is_nan_cell(v) for v in col), dtype=bool, count=len(col))


def _clip(y: np.ndarray, clip: tuple[float, float] | None) -> np.ndarray:
    if clip is None:
        return y
    lo, hi = clip
    # NaN stays NaN: x < lo and x > hi are both false for NaN.
    y = np.where(y < lo, lo, y)
    return np.where(y > hi, hi, y)


# --------------------------------------------------------------------------- transform nodes

COMMON = ("type", "n_in", "n_out")
INFO = ("path", "class")
TRANSFORM_TYPES = ("pipeline", "column_transformer", "identity", "impute", "center_scale", "multiply_add",
                   "one_hot", "ordinal", "polynomial", "project", "expression")


@dataclass
class Step:
    n_in: int
    n_out: int
    apply: Apply
    where: str


def _compile_transform(d: Any, where: str) -> Step:
    if not isinstance(d, dict) or "type" not in d:
        raise _fail(where, "a step must be an object with a 'type'")
    t = d["type"]
    if t not in TRANSFORM_TYPES:
        raise _fail(where, f"unknown node type {t!r} (this scorer knows {', '.join(TRANSFORM_TYPES)})")
    where = f"{where}({t})" if "path" not in d else f"{where}({t} '{d['path']}')"
    return _COMPILERS[t](d, where)


def _widths(d: dict[str, Any], where: str) -> tuple[int, int]:
    return _int(d["n_in"], f"{where}.n_in", 0), _int(d["n_out"], f"{where}.n_out", 0)


def _c_pipeline(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("steps",), INFO)
    n_in, n_out = _widths(d, where)
    if not isinstance(d["steps"], list):
        raise _fail(where, "steps must be an array")
    steps = [_compile_transform(s, f"{where}.steps[{i}]") for i, s in enumerate(d["steps"])]
    cur = n_in
    for s in steps:
        if s.n_in != cur:
            raise _fail(s.where, f"takes {s.n_in} columns but receives {cur}")
        cur = s.n_out
    if cur != n_out:
        raise _fail(where, f"n_out is {n_out} but its steps give {cur}")

    def apply(cols: list[Column]) -> list[Column]:
        for s in steps:
            cols = s.apply(cols)
        return cols

    return Step(n_in, n_out, apply, where)


def _c_column_transformer(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("parts",), INFO)
    n_in, n_out = _widths(d, where)
    if not isinstance(d["parts"], list):
        raise _fail(where, "parts must be an array")
    parts = []
    total = 0
    for i, p in enumerate(d["parts"]):
        pw = f"{where}.parts[{i}]"
        _obj(p, pw, ("name", "columns", "node"), ("weight",))
        cols = _ints(p["columns"], f"{pw}.columns")
        if len(cols) and (cols.min() < 0 or cols.max() >= n_in):
            raise _fail(pw, f"column index out of range [0, {n_in})")
        node = _compile_transform(p["node"], f"{pw}.node")
        if node.n_in != len(cols):
            raise _fail(pw, f"selects {len(cols)} columns but its node takes {node.n_in}")
        weight = _number(p["weight"], f"{pw}.weight") if "weight" in p else None
        parts.append((cols.tolist(), node, weight, pw))
        total += node.n_out
    if total != n_out:
        raise _fail(where, f"n_out is {n_out} but its parts give {total}")

    def apply(cols: list[Column]) -> list[Column]:
        out: list[Column] = []
        for sel, node, weight, pw in parts:
            res = node.apply([cols[j] for j in sel])
            if weight is not None:
                res = [_as_number(c, pw) * weight for c in res]
            out.extend(res)
        return out

    return Step(n_in, n_out, apply, where)


def _c_identity(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON, INFO)
    n_in, n_out = _widths(d, where)
    if n_in != n_out:
        raise _fail(where, "identity must have n_in == n_out")
    return Step(n_in, n_out, lambda cols: list(cols), where)


def _matches(col: Column, kind: str, value: Any) -> np.ndarray:
    """Cells equal to a typed value (the number NaN matches NaN cells)."""
    if kind == "number":
        if value != value:
            return _nan_mask(col)
        if col.dtype == np.float64:
            return col == value
        return np.fromiter((not isinstance(v, str) and v == value for v in col), dtype=bool, count=len(col))
    if col.dtype == np.float64:
        return np.zeros(len(col), dtype=bool)
    return np.fromiter((isinstance(v, str) and v == value for v in col), dtype=bool, count=len(col))


def _c_impute(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("missing_value", "columns", "indicators"), INFO)
    n_in, n_out = _widths(d, where)
    mkind, mval = _typed(d["missing_value"], f"{where}.missing_value")
    if not isinstance(d["columns"], list):
        raise _fail(where, "columns must be an array")
    columns = []
    for i, c in enumerate(d["columns"]):
        cw = f"{where}.columns[{i}]"
        _obj(c, cw, ("input", "fill"))
        columns.append((_int(c["input"], f"{cw}.input", 0, n_in - 1), *_typed(c["fill"], f"{cw}.fill")))
    indicators = _ints(d["indicators"], f"{where}.indicators").tolist()
    for j in indicators:
        if not 0 <= j < n_in:
            raise _fail(where, f"indicator column {j} out of range [0, {n_in})")
    if len(columns) + len(indicators) != n_out:
        raise _fail(where, f"n_out is {n_out} but it gives {len(columns) + len(indicators)} columns")

    def apply(cols: list[Column]) -> list[Column]:
        masks: dict[int, np.ndarray] = {}

        def mask(j: int) -> np.ndarray:
            if j not in masks:
                masks[j] = _matches(cols[j], mkind, mval)
            return masks[j]

        out: list[Column] = []
        for j, fkind, fill in columns:
            col, m = cols[j], mask(j)
            if fkind == "number" and col.dtype == np.float64:
                out.append(np.where(m, fill, col))
            else:
                new = col.astype(object, copy=True)
                new[m] = fill
                out.append(new)
        for j in indicators:
            out.append(mask(j).astype(np.float64))
        return out

    return Step(n_in, n_out, apply, where)


def _clip_field(d: dict[str, Any], where: str) -> tuple[float, float] | None:
    if "clip" not in d:
        return None
    c = _numbers(d["clip"], f"{where}.clip", 2)
    return float(c[0]), float(c[1])


def _c_center_scale(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("center", "scale"), INFO + ("clip",))
    n_in, n_out = _widths(d, where)
    if n_in != n_out:
        raise _fail(where, "n_in must equal n_out")
    center = _numbers(d["center"], f"{where}.center", n_in)
    scale = _numbers(d["scale"], f"{where}.scale", n_in)
    clip = _clip_field(d, where)

    def apply(cols: list[Column]) -> list[Column]:
        return [_clip((_as_number(c, where) - center[j]) / scale[j], clip) for j, c in enumerate(cols)]

    return Step(n_in, n_out, apply, where)


def _c_multiply_add(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("multiply", "add"), INFO + ("clip",))
    n_in, n_out = _widths(d, where)
    if n_in != n_out:
        raise _fail(where, "n_in must equal n_out")
    mul = _numbers(d["multiply"], f"{where}.multiply", n_in)
    add = _numbers(d["add"], f"{where}.add", n_in)
    clip = _clip_field(d, where)

    def apply(cols: list[Column]) -> list[Column]:
        return [_clip(_as_number(c, where) * mul[j] + add[j], clip) for j, c in enumerate(cols)]

    return Step(n_in, n_out, apply, where)


@dataclass
class _Categories:
    kind: str
    values: list[Any]
    lookup_num: tuple[np.ndarray, np.ndarray] | None
    lookup_str: dict[str, int] | None


def _categories(f: dict[str, Any], where: str) -> _Categories:
    kind = _enum(f["kind"], f"{where}.kind", ("number", "string"))
    if kind == "string":
        vals: list[Any] = _strings(f["categories"], f"{where}.categories")
        table: dict[str, int] = {}
        for i, v in enumerate(vals):
            table.setdefault(v, i)
        return _Categories(kind, vals, None, table)
    arr = _numbers(f["categories"], f"{where}.categories")
    if np.isnan(arr).any():
        raise _fail(where, "categories must not contain NaN (missing has its own field)")
    order = np.argsort(arr, kind="stable")
    return _Categories(kind, arr.tolist(), (arr[order], order), None)


def _positions(col: Column, cats: _Categories) -> np.ndarray:
    """Index of each cell's category, -1 when unknown (missing cells give -1 too)."""
    n = len(col)
    if cats.kind == "string":
        table = cats.lookup_str or {}
        if col.dtype == np.float64:
            return np.full(n, -1, dtype=np.int64)
        return np.fromiter((table.get(v, -1) if isinstance(v, str) else -1 for v in col), dtype=np.int64, count=n)
    sorted_vals, order = cats.lookup_num  # type: ignore[misc]
    if col.dtype == np.float64:
        x = col
        ok = ~np.isnan(x)
    else:
        ok = np.fromiter((not isinstance(v, str) and not _is_nan_cell(v) for v in col), dtype=bool, count=n)
        x = np.array([float(v) if o else 0.0 for v, o in zip(col, ok)], dtype=np.float64)
    if len(sorted_vals) == 0:
        return np.full(n, -1, dtype=np.int64)
    pos = np.searchsorted(sorted_vals, x)
    pos = np.minimum(pos, len(sorted_vals) - 1)
    hit = ok & (sorted_vals[pos] == x)
    return np.where(hit, order[pos], -1).astype(np.int64)


def _c_one_hot(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("features",), INFO)
    n_in, n_out = _widths(d, where)
    if not isinstance(d["features"], list) or len(d["features"]) != n_in:
        raise _fail(where, f"features must be an array of {n_in} objects")
    feats = []
    total = 0
    for i, f in enumerate(d["features"]):
        fw = f"{where}.features[{i}]"
        _obj(f, fw, ("kind", "categories", "index", "width", "on_unknown"), ("missing", "unknown"))
        cats = _categories(f, fw)
        width = _int(f["width"], f"{fw}.width", 0)
        index = _ints(f["index"], f"{fw}.index", len(cats.values))
        if len(index) and (index.min() < -1 or index.max() >= width):
            raise _fail(fw, f"index values must be in [-1, {width})")
        missing = _int(f["missing"], f"{fw}.missing", -1, width - 1) if "missing" in f else None
        on_unknown = _enum(f["on_unknown"], f"{fw}.on_unknown", ("error", "encode"))
        if on_unknown == "encode":
            if "unknown" not in f:
                raise _fail(fw, "on_unknown 'encode' needs 'unknown'")
            unknown = _int(f["unknown"], f"{fw}.unknown", -1, width - 1)
        else:
            if "unknown" in f:
                raise _fail(fw, "'unknown' is only allowed with on_unknown 'encode'")
            unknown = None
        feats.append((cats, index, width, missing, unknown, fw))
        total += width
    if total != n_out:
        raise _fail(where, f"n_out is {n_out} but the feature widths add up to {total}")

    def apply(cols: list[Column]) -> list[Column]:
        out: list[Column] = []
        for col, (cats, index, width, missing, unknown, fw) in zip(cols, feats):
            code = _codes(col, cats, index, missing, unknown, fw, np.int64)
            block = np.zeros((len(col), width), dtype=np.float64)
            rows = np.flatnonzero(code >= 0)
            block[rows, code[rows].astype(np.int64)] = 1.0
            out.extend(block[:, j].copy() for j in range(width))
        return out

    return Step(n_in, n_out, apply, where)


def _codes(col: Column, cats: _Categories, table: np.ndarray, missing: Any, unknown: Any, fw: str,
           dtype: Any) -> np.ndarray:
    """Per cell: table[category], else ``missing`` for a missing cell (when the
    feature has a missing category), else ``unknown`` (an error when None)."""
    pos = _positions(col, cats)
    out = np.zeros(len(col), dtype=dtype)
    hit = pos >= 0
    out[hit] = table[pos[hit]]
    bad = ~hit
    if missing is not None:
        is_missing = _nan_mask(col)
        out[is_missing] = missing
        bad &= ~is_missing
    if bad.any():
        if unknown is None:
            i = int(np.flatnonzero(bad)[0])
            v = col[i]
            what = "a missing value" if _is_nan_cell(v) else f"unknown category {v!r}"
            raise BadInputError(f"{fw}: {what} in row {i}, and the encoder was fitted with handle_unknown='error'.")
        out[bad] = unknown
    return out


def _c_ordinal(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("features",), INFO)
    n_in, n_out = _widths(d, where)
    if n_in != n_out:
        raise _fail(where, "n_in must equal n_out")
    if not isinstance(d["features"], list) or len(d["features"]) != n_in:
        raise _fail(where, f"features must be an array of {n_in} objects")
    feats = []
    for i, f in enumerate(d["features"]):
        fw = f"{where}.features[{i}]"
        _obj(f, fw, ("kind", "categories", "code", "on_unknown"), ("missing", "unknown"))
        cats = _categories(f, fw)
        code = _numbers(f["code"], f"{fw}.code", len(cats.values))
        missing = _number(f["missing"], f"{fw}.missing") if "missing" in f else None
        on_unknown = _enum(f["on_unknown"], f"{fw}.on_unknown", ("error", "encode"))
        if on_unknown == "encode":
            if "unknown" not in f:
                raise _fail(fw, "on_unknown 'encode' needs 'unknown'")
            unknown = _number(f["unknown"], f"{fw}.unknown")
        else:
            if "unknown" in f:
                raise _fail(fw, "'unknown' is only allowed with on_unknown 'encode'")
            unknown = None
        feats.append((cats, code, missing, unknown, fw))

    def apply(cols: list[Column]) -> list[Column]:
        return [_codes(col, cats, code, missing, unknown, fw, np.float64)
                for col, (cats, code, missing, unknown, fw) in zip(cols, feats)]

    return Step(n_in, n_out, apply, where)


def _c_polynomial(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("terms",), INFO)
    n_in, n_out = _widths(d, where)
    if not isinstance(d["terms"], list) or len(d["terms"]) != n_out:
        raise _fail(where, f"terms must be an array of {n_out} arrays")
    terms = []
    for i, t in enumerate(d["terms"]):
        idx = _ints(t, f"{where}.terms[{i}]")
        if len(idx) and (idx.min() < 0 or idx.max() >= n_in):
            raise _fail(f"{where}.terms[{i}]", f"column index out of range [0, {n_in})")
        terms.append(idx.tolist())

    def apply(cols: list[Column]) -> list[Column]:
        x = [_as_number(c, where) for c in cols]
        n = len(cols[0]) if cols else 0
        out = []
        for t in terms:
            if not t:
                out.append(np.ones(n, dtype=np.float64))
                continue
            acc = x[t[0]].copy()
            for j in t[1:]:
                acc = acc * x[j]
            out.append(acc)
        return out

    return Step(n_in, n_out, apply, where)


def _c_project(d: dict[str, Any], where: str) -> Step:
    _obj(d, where, COMMON + ("components", "offset"), INFO + ("divide",))
    n_in, n_out = _widths(d, where)
    comps = _matrix(d["components"], f"{where}.components", n_out, n_in)
    offset = _numbers(d["offset"], f"{where}.offset", n_out)
    divide = _numbers(d["divide"], f"{where}.divide", n_out) if "divide" in d else None

    def apply(cols: list[Column]) -> list[Column]:
        x = np.column_stack([_as_number(c, where) for c in cols]) if cols else np.zeros((0, 0))
        y = x @ comps.T
        y = y - offset
        if divide is not None:
            y = y / divide
        return [y[:, j].copy() for j in range(n_out)]

    return Step(n_in, n_out, apply, where)


def _c_expression(d: dict[str, Any], where: str) -> Step:
    """A translated FunctionTransformer: mlexport.expr's program, evaluated on the
    step's input matrix; booleans become 1.0 / 0.0."""
    from .. import expr

    _obj(d, where, COMMON + ("program",), INFO)
    n_in, n_out = _widths(d, where)
    try:
        program = expr.from_dict(d["program"])
    except BadInputError as e:
        raise _fail(f"{where}.program", str(e)) from None
    if program.n_features_in != n_in or program.n_features_out != n_out:
        raise _fail(where, f"program maps {program.n_features_in} -> {program.n_features_out} columns, "
                           f"the step says {n_in} -> {n_out}")

    def apply(cols: list[Column]) -> list[Column]:
        x = np.column_stack([_as_number(c, where) for c in cols])
        y = np.asarray(expr.evaluate(program, x), dtype=np.float64)
        return [y[:, j].copy() for j in range(n_out)]

    return Step(n_in, n_out, apply, where)


_COMPILERS: dict[str, Callable[[dict[str, Any], str], Step]] = {
    "pipeline": _c_pipeline,
    "column_transformer": _c_column_transformer,
    "identity": _c_identity,
    "impute": _c_impute,
    "center_scale": _c_center_scale,
    "multiply_add": _c_multiply_add,
    "one_hot": _c_one_hot,
    "ordinal": _c_ordinal,
    "polynomial": _c_polynomial,
    "project": _c_project,
    "expression": _c_expression,
}


# --------------------------------------------------------------------------- model nodes

MODEL_TYPES = ("linear", "gaussian_nb", "mlp", "tree_ensemble")
MODEL_COMMON = ("type", "n_features", "n_outputs")
ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "softmax")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), the formula SPEC.md prescribes."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise exp(x - max) / sum(exp(x - max))."""
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _activate(a: np.ndarray, name: str) -> np.ndarray:
    if name == "identity":
        return a
    if name == "logistic":
        return sigmoid(a)
    if name == "tanh":
        return np.tanh(a)
    if name == "relu":
        return np.where(a > 0, a, np.where(np.isnan(a), a, 0.0))
    return softmax(a)


@dataclass
class Model:
    n_features: int
    n_outputs: int
    raw: Callable[[np.ndarray], np.ndarray]


def _compile_model(d: Any, where: str) -> Model:
    if not isinstance(d, dict) or "type" not in d:
        raise _fail(where, "must be an object with a 'type'")
    t = d["type"]
    if t not in MODEL_TYPES:
        raise _fail(where, f"unknown model type {t!r} (this scorer knows {', '.join(MODEL_TYPES)})")
    where = f"{where}({t})"
    n = _int(d.get("n_features"), f"{where}.n_features", 0)
    m = _int(d.get("n_outputs"), f"{where}.n_outputs", 1)
    if t == "linear":
        _obj(d, where, MODEL_COMMON + ("coef", "intercept"), INFO)
        coef = _matrix(d["coef"], f"{where}.coef", m, n)
        intercept = _numbers(d["intercept"], f"{where}.intercept", m)
        return Model(n, m, lambda X: X @ coef.T + intercept)
    if t == "gaussian_nb":
        _obj(d, where, MODEL_COMMON + ("theta", "var", "log_prior", "log_norm"), INFO)
        theta = _matrix(d["theta"], f"{where}.theta", m, n)
        var = _matrix(d["var"], f"{where}.var", m, n)
        log_prior = _numbers(d["log_prior"], f"{where}.log_prior", m)
        log_norm = _numbers(d["log_norm"], f"{where}.log_norm", m)

        def nb(X: np.ndarray) -> np.ndarray:
            cols = []
            for i in range(m):
                s = log_norm[i] - 0.5 * np.sum(((X - theta[i, :]) ** 2) / var[i, :], axis=1)
                cols.append(log_prior[i] + s)
            return np.stack(cols, axis=1) if cols else np.zeros((X.shape[0], 0))

        return Model(n, m, nb)
    if t == "mlp":
        _obj(d, where, MODEL_COMMON + ("hidden_activation", "output_activation", "layers"), INFO)
        hidden = _enum(d["hidden_activation"], f"{where}.hidden_activation", ACTIVATIONS[:4])
        out_act = _enum(d["output_activation"], f"{where}.output_activation", ACTIVATIONS)
        if not isinstance(d["layers"], list) or not d["layers"]:
            raise _fail(where, "layers must be a non-empty array")
        layers = []
        cur = n
        for i, layer in enumerate(d["layers"]):
            lw = f"{where}.layers[{i}]"
            _obj(layer, lw, ("weights", "bias"))
            w = _matrix(layer["weights"], f"{lw}.weights", cur)
            if w.ndim != 2 or w.shape[0] != cur:
                raise _fail(lw, f"weights must have {cur} rows")
            b = _numbers(layer["bias"], f"{lw}.bias", w.shape[1])
            layers.append((w, b))
            cur = w.shape[1]
        if cur != m:
            raise _fail(where, f"the last layer gives {cur} outputs, n_outputs is {m}")

        def mlp(X: np.ndarray) -> np.ndarray:
            a = X
            for i, (w, b) in enumerate(layers):
                a = a @ w + b
                a = _activate(a, hidden if i < len(layers) - 1 else out_act)
            return a

        return Model(n, m, mlp)
    return _compile_ensemble(d, where, n, m)


@dataclass
class Tree:
    target: int
    width: int
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    missing_left: np.ndarray
    category_set: np.ndarray | None
    bitsets: np.ndarray | None
    value: np.ndarray  # (n_nodes, width)


def _bitset(x: Any, where: str) -> np.ndarray:
    b = _ints(x, where, 8)
    if b.min() < 0 or b.max() > 0xFFFFFFFF:
        raise _fail(where, "bitset words must be unsigned 32-bit integers")
    return b


def _compile_tree(d: Any, where: str, n_features: int, n_outputs: int, known: dict[int, np.ndarray]) -> Tree:
    _obj(d, where, ("target", "width", "feature", "threshold", "left", "right", "missing_left", "value"),
         ("category_set", "bitsets"))
    width = _int(d["width"], f"{where}.width", 1)
    target = _int(d["target"], f"{where}.target", 0)
    if target + width > n_outputs:
        raise _fail(where, f"target {target} + width {width} exceeds n_outputs {n_outputs}")
    left = _ints(d["left"], f"{where}.left")
    N = len(left)
    if N == 0:
        raise _fail(where, "a tree needs at least one node")
    right = _ints(d["right"], f"{where}.right", N)
    feature = _ints(d["feature"], f"{where}.feature", N)
    threshold = _numbers(d["threshold"], f"{where}.threshold", N)
    missing_left = _ints(d["missing_left"], f"{where}.missing_left", N)
    value = _numbers(d["value"], f"{where}.value", N * width).reshape(N, width)
    # Structure: leaves have left == right == -1; an internal node's children
    # come after it (index > parent, so no cycles) and every node but the root
    # has exactly one parent, so the arrays form one tree rooted at node 0.
    idx = np.arange(N)
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        raise _fail(where, "a node has exactly one child")
    internal = ~leaf
    for name, ch in (("left", left), ("right", right)):
        c = ch[internal]
        if np.any(c <= idx[internal]) or np.any(c >= N):
            raise _fail(where, f"{name} child index must be greater than its parent's and below {N}")
    parents = np.bincount(np.concatenate([left[internal], right[internal]]), minlength=N)
    if parents[0] != 0 or np.any(parents[1:] != 1):
        raise _fail(where, "every node but the root must have exactly one parent")
    if np.any(feature[leaf] != -1) or np.any((feature[internal] < 0) | (feature[internal] >= n_features)):
        raise _fail(where, f"feature must be -1 for leaves and in [0, {n_features}) for splits")
    if np.any((missing_left != 0) & (missing_left != 1)):
        raise _fail(where, "missing_left must be 0 or 1")
    cat = bits = None
    if ("category_set" in d) != ("bitsets" in d):
        raise _fail(where, "category_set and bitsets go together")
    if "category_set" in d:
        cat = _ints(d["category_set"], f"{where}.category_set", N)
        if not isinstance(d["bitsets"], list):
            raise _fail(where, "bitsets must be an array")
        bits = np.asarray([_bitset(b, f"{where}.bitsets[{i}]") for i, b in enumerate(d["bitsets"])],
                          dtype=np.int64).reshape(-1, 8)
        if np.any(cat[leaf] != -1) or np.any((cat < -1) | (cat >= len(bits))):
            raise _fail(where, f"category_set must be -1 or a bitset index in [0, {len(bits)})")
        for f in np.unique(feature[cat >= 0]):
            if int(f) not in known:
                raise _fail(where, f"feature {int(f)} has categorical splits but no known_categories entry")
    return Tree(target, width, feature, threshold, left, right, missing_left.astype(bool), cat, bits, value)


def _bit(words: np.ndarray, c: np.ndarray) -> np.ndarray:
    return ((words[np.arange(len(c)), c >> 5] >> (c & 31)) & 1).astype(bool)


def _eval_tree(t: Tree, X: np.ndarray, known_table: np.ndarray | None) -> np.ndarray:
    n = X.shape[0]
    node = np.zeros(n, dtype=np.int64)
    active = np.flatnonzero(t.left[node] >= 0)
    while active.size:
        nd = node[active]
        x = X[active, t.feature[nd]]
        with np.errstate(invalid="ignore"):
            go_left = x <= t.threshold[nd]
        isnan = np.isnan(x)
        if t.category_set is not None:
            cs = t.category_set[nd]
            cat = cs >= 0
            if cat.any():
                xc = x[cat]
                with np.errstate(invalid="ignore"):
                    valid = (xc >= 0) & (xc < 256)
                c = np.where(valid, np.trunc(np.where(valid, xc, 0.0)), 0).astype(np.int64)
                in_left = _bit(t.bitsets[cs[cat]], c)  # type: ignore[index]
                in_known = _bit(known_table[t.feature[nd][cat]], c)  # type: ignore[index]
                miss = t.missing_left[nd][cat]
                go_left[cat] = np.where(valid & in_left, True, np.where(valid & in_known, False, miss))
        go_left = np.where(isnan, t.missing_left[nd], go_left)
        node[active] = np.where(go_left, t.left[nd], t.right[nd])
        active = active[t.left[node[active]] >= 0]
    return t.value[node]


def _compile_ensemble(d: dict[str, Any], where: str, n: int, m: int) -> Model:
    _obj(d, where, MODEL_COMMON + ("input_cast", "init", "tree_scale", "divide", "trees"), INFO + ("known_categories",))
    cast = _enum(d["input_cast"], f"{where}.input_cast", ("none", "float32"))
    init = _numbers(d["init"], f"{where}.init", m)
    tree_scale = _number(d["tree_scale"], f"{where}.tree_scale")
    divide = _number(d["divide"], f"{where}.divide")
    known: dict[int, np.ndarray] = {}
    if "known_categories" in d:
        if not isinstance(d["known_categories"], list):
            raise _fail(where, "known_categories must be an array")
        for i, k in enumerate(d["known_categories"]):
            kw = f"{where}.known_categories[{i}]"
            _obj(k, kw, ("feature", "bitset"))
            f = _int(k["feature"], f"{kw}.feature", 0, n - 1)
            if f in known:
                raise _fail(kw, f"feature {f} listed twice")
            known[f] = _bitset(k["bitset"], f"{kw}.bitset")
    known_table = None
    if known:
        known_table = np.zeros((n, 8), dtype=np.int64)
        for f, b in known.items():
            known_table[f] = b
    if not isinstance(d["trees"], list):
        raise _fail(where, "trees must be an array")
    trees = [_compile_tree(t, f"{where}.trees[{i}]", n, m, known) for i, t in enumerate(d["trees"])]

    def raw(X: np.ndarray) -> np.ndarray:
        if cast == "float32":
            with np.errstate(over="ignore"):
                X = X.astype(np.float32).astype(np.float64)
        out = np.tile(init, (X.shape[0], 1))
        for t in trees:
            out[:, t.target : t.target + t.width] += tree_scale * _eval_tree(t, X, known_table)
        return out / divide

    return Model(n, m, raw)


# --------------------------------------------------------------------------- output

PROBA = ("identity", "sigmoid_binary", "softmax", "sigmoid_ovr", "modified_huber", "complement_binary")


def _normalise_rows(p: np.ndarray) -> np.ndarray:
    s = np.sum(p, axis=1)
    zero = s == 0
    if np.any(zero):
        p = p.copy()
        p[zero, :] = 1.0
        s = np.where(zero, p.shape[1], s)
    return p / s[:, None]


def _proba(raw: np.ndarray, transform: str, scale: float) -> np.ndarray:
    if transform == "identity":
        return raw
    if transform == "softmax":
        return softmax(raw)
    if transform == "sigmoid_ovr":
        return _normalise_rows(sigmoid(raw))
    if transform == "sigmoid_binary":
        p = sigmoid(scale * raw[:, 0])
        return np.stack([1.0 - p, p], axis=1)
    if transform == "complement_binary":
        p = raw[:, 0]
        return np.stack([1.0 - p, p], axis=1)
    # modified_huber
    p = (np.clip(raw, -1.0, 1.0) + 1.0) / 2.0
    if raw.shape[1] == 1:
        return np.stack([1.0 - p[:, 0], p[:, 0]], axis=1)
    return _normalise_rows(p)


def label_array(classes: list[Any]) -> np.ndarray:
    if classes and all(isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=bool)
    if classes and all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.int64)
    if classes and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.float64)
    arr = np.empty(len(classes), dtype=object)
    arr[:] = classes
    return arr


def argmax_rows(a: np.ndarray) -> np.ndarray:
    """First index of the row maximum; a NaN counts as the maximum (numpy's rule)."""
    return np.argmax(a, axis=1)


@dataclass
class Output:
    kind: str
    classes: list[Any] | None
    label: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None
    proba: Callable[[np.ndarray], np.ndarray] | None
    value: Callable[[np.ndarray], np.ndarray] | None


def _compile_output(d: Any, where: str, m: int, task: str) -> Output:
    if not isinstance(d, dict) or "kind" not in d:
        raise _fail(where, "must be an object with a 'kind'")
    kind = _enum(d["kind"], f"{where}.kind", ("classifier", "regressor"))
    if (kind == "classifier") != (task == "classification"):
        raise _fail(where, f"kind {kind!r} does not match task {task!r}")
    if kind == "regressor":
        _obj(d, where, ("kind", "transform", "squeeze"))
        tr = _enum(d["transform"], f"{where}.transform", ("identity", "exp"))
        if not isinstance(d["squeeze"], bool):
            raise _fail(where, "squeeze must be true or false")
        squeeze = d["squeeze"] and m == 1

        def value(raw: np.ndarray) -> np.ndarray:
            v = np.exp(raw) if tr == "exp" else raw
            return v[:, 0] if squeeze else v

        return Output(kind, None, None, None, value)
    _obj(d, where, ("kind", "classes", "label"), ("proba",))
    classes = d["classes"]
    if not isinstance(classes, list) or not classes:
        raise _fail(where, "classes must be a non-empty array")
    for i, c in enumerate(classes):
        if not isinstance(c, (str, int, float, bool)):
            raise _fail(f"{where}.classes[{i}]", "a class must be a string, number or boolean")
    k = len(classes)
    labels = label_array(classes)
    proba_fn = None
    if "proba" in d:
        pw = f"{where}.proba"
        p = _obj(d["proba"], pw, ("transform",), ("scale",))
        tr = _enum(p["transform"], f"{pw}.transform", PROBA)
        scale = 1.0
        if tr == "sigmoid_binary":
            if "scale" not in p:
                raise _fail(pw, "sigmoid_binary needs 'scale'")
            scale = _number(p["scale"], f"{pw}.scale")
        elif "scale" in p:
            raise _fail(pw, "'scale' is only used by sigmoid_binary")
        k_out = 2 if tr in ("sigmoid_binary", "complement_binary") or (tr == "modified_huber" and m == 1) else m
        if tr in ("sigmoid_binary", "complement_binary") and m != 1:
            raise _fail(pw, f"{tr} needs a single raw column. Got {m} instead.")
        if k_out != k:
            raise _fail(pw, f"gives {k_out} probabilities for {k} classes")
        proba_fn = lambda raw, tr=tr, scale=scale: _proba(raw, tr, scale)  # noqa: E731
    lw = f"{where}.label"
    lab = _obj(d["label"], lw, ("from", "rule"), ("threshold", "inclusive"))
    src = _enum(lab["from"], f"{lw}.from", ("raw", "proba"))
    rule = _enum(lab["rule"], f"{lw}.rule", ("argmax", "threshold"))
    if src == "proba" and proba_fn is None:
        raise _fail(lw, "label from 'proba' needs a proba transform")
    width = k if src == "proba" else m
    if rule == "threshold":
        _obj(lab, lw, ("from", "rule", "threshold", "inclusive"))
        t = _number(lab["threshold"], f"{lw}.threshold")
        inclusive = lab["inclusive"]
        if not isinstance(inclusive, bool):
            raise _fail(lw, "inclusive must be true or false")
        if width != 1 or k != 2:
            raise _fail(lw, "the threshold rule needs one source column and two classes")

        def pick(src_arr: np.ndarray) -> np.ndarray:
            v = src_arr[:, 0]
            with np.errstate(invalid="ignore"):
                return (v >= t if inclusive else v > t).astype(np.int64)
    else:
        _obj(lab, lw, ("from", "rule"))
        if width != k:
            raise _fail(lw, f"argmax over {width} columns for {k} classes")

        def pick(src_arr: np.ndarray) -> np.ndarray:
            return argmax_rows(src_arr)

    def label(raw: np.ndarray, proba: np.ndarray | None) -> np.ndarray:
        return labels[pick(proba if src == "proba" else raw)]  # type: ignore[arg-type]

    return Output(kind, list(classes), label, proba_fn, None)


# --------------------------------------------------------------------------- document


class Scorer:
    """A loaded, validated document. ``predict(X)`` scores a whole DataFrame."""

    def __init__(self, doc: Any) -> None:
        d = _obj(doc, "<document>", ("format", "format_version", "task", "inputs", "steps", "model", "output"),
                 ("producer",))
        if d["format"] != FORMAT_NAME:
            raise _fail("format", f"must be {FORMAT_NAME!r}. Got {d['format']!r} instead.")
        version = d["format_version"]
        if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
            raise _fail("format_version", f"version {version!r} is not supported by this scorer (supported: "
                        f"{', '.join(str(v) for v in sorted(SUPPORTED_VERSIONS))}); upgrade mlexport")
        self.format_version = int(version)
        self.task = _enum(d["task"], "task", ("classification", "regression"))
        if not isinstance(d["inputs"], list) or not d["inputs"]:
            raise _fail("inputs", "must be a non-empty array")
        self.inputs: list[tuple[str, str]] = []
        self.used: list[bool] = []
        for i, c in enumerate(d["inputs"]):
            _obj(c, f"inputs[{i}]", ("name", "kind", "used"))
            if not isinstance(c["name"], str):
                raise _fail(f"inputs[{i}].name", "must be a string")
            if not isinstance(c["used"], bool):
                raise _fail(f"inputs[{i}].used", "must be true or false")
            self.inputs.append((c["name"], _enum(c["kind"], f"inputs[{i}].kind", ("number", "string"))))
            self.used.append(c["used"])
        if len({n for n, _ in self.inputs}) != len(self.inputs):
            raise _fail("inputs", "column names must be unique")
        if not isinstance(d["steps"], list):
            raise _fail("steps", "must be an array")
        self.steps = [_compile_transform(s, f"steps[{i}]") for i, s in enumerate(d["steps"])]
        cur = len(self.inputs)
        for s in self.steps:
            if s.n_in != cur:
                raise _fail(s.where, f"takes {s.n_in} columns but receives {cur}")
            cur = s.n_out
        self.model = _compile_model(d["model"], "model")
        if self.model.n_features != cur:
            raise _fail("model", f"takes {self.model.n_features} features but the steps give {cur}")
        self.output = _compile_output(d["output"], "output", self.model.n_outputs, self.task)
        self.classes = tuple(self.output.classes) if self.output.classes is not None else None

    @property
    def signature(self) -> Any:
        """The input columns as a :class:`mlexport.model.Signature`."""
        from ..model import Column as SigColumn
        from ..model import Signature

        return Signature(tuple(SigColumn(n, k) for n, k in self.inputs))  # type: ignore[arg-type]

    # -- scoring -----------------------------------------------------------------

    def _columns(self, X: Any) -> list[Column]:
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == len(self.inputs):
            X = pd.DataFrame(X, columns=[n for n, _ in self.inputs])
        if not isinstance(X, pd.DataFrame):
            raise BadInputError(f"input must be a pandas DataFrame. Got {type(X).__name__} instead.")
        absent = [n for (n, _), used in zip(self.inputs, self.used) if used and n not in X.columns]
        if absent:
            raise BadInputError(f"input is missing column(s) {', '.join(absent)}.")
        cols: list[Column] = []
        for (name, kind), used in zip(self.inputs, self.used):
            if not used:  # never read: any content, or absent
                cols.append(np.full(len(X), np.nan))
                continue
            s = X[name]
            if kind == "number":
                try:
                    cols.append(np.asarray(s.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64))
                except (TypeError, ValueError):
                    raise BadInputError(f"column '{name}' must be numeric. Got dtype {s.dtype} instead.") from None
            else:
                arr = s.to_numpy(dtype=object, copy=True)
                miss = pd.isna(arr)
                out = np.empty(len(arr), dtype=object)
                for i, (v, m) in enumerate(zip(arr, miss)):
                    if m:
                        out[i] = math.nan
                    elif isinstance(v, str):
                        out[i] = v
                    elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
                        out[i] = float(v)
                    else:
                        raise BadInputError(f"column '{name}' row {i}: {v!r} is neither a string nor a number.")
                cols.append(out)
        return cols

    def features(self, X: Any) -> np.ndarray:
        """The numeric feature matrix the model node receives (after all steps)."""
        cols = self._columns(X)
        for s in self.steps:
            cols = s.apply(cols)
        n = len(cols[0]) if cols else len(X)
        if not cols:
            return np.zeros((n, 0))
        return np.column_stack([_as_number(c, "model input") for c in cols])

    def raw(self, X: Any) -> np.ndarray:
        """The model node's raw output, shape (n, n_outputs)."""
        with np.errstate(all="ignore"):
            return self.model.raw(self.features(X))

    def predict(self, X: Any) -> Outputs:
        raw = self.raw(X)
        o = self.output
        with np.errstate(all="ignore"):
            if o.kind == "regressor":
                return Outputs(value=o.value(raw))  # type: ignore[misc]
            proba = o.proba(raw) if o.proba is not None else None
            label = o.label(raw, proba)  # type: ignore[misc]
        # no probabilities: the raw scores are the decision values (SPEC 8.1)
        decision = None if proba is not None else (raw[:, 0] if raw.shape[1] == 1 else raw.astype(np.float64))
        return Outputs(label=label, proba=proba, classes=self.classes, decision=decision)

    def close(self) -> None:
        """Nothing to free; present for the runtime contract."""


def load(source: Any) -> Scorer:
    """A :class:`Scorer` from a path, JSON text or an already-parsed dict."""
    if isinstance(source, dict):
        return Scorer(source)
    if isinstance(source, (str, Path)) and not (isinstance(source, str) and source.lstrip().startswith("{")):
        p = Path(source)
        if not p.exists():
            raise BadInputError(f"{p}: no such file.")
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise BadInputError(f"{p}: cannot read: {e}") from None
        where = str(p)
    else:
        text, where = str(source), "<text>"
    try:
        doc = json.loads(text, parse_constant=_no_bare_constant)
    except ValueError as e:
        raise BadInputError(f"{where}: not valid JSON: {e}") from None
    return Scorer(doc)


def _no_bare_constant(name: str) -> Any:
    raise ValueError(f"bare {name} is not JSON; write it as the string \"{name}\"")


__all__ = ["Scorer", "load", "sigmoid", "softmax", "argmax_rows"]
