"""A small, format-neutral expression IR for ``FunctionTransformer`` functions.

``FunctionTransformer(np.log1p)``, ``FunctionTransformer(lambda x: x > 18)`` or a
``def`` of numpy operations cannot be pickled into ONNX, PMML or JSON as code.
:func:`translate` proves such a function pure and rewrites it into the IR below;
each format emits the IR (``exporters/onnx_expr.py`` for ONNX), and
:func:`evaluate` is the numpy reference the emitters are tested against.

Value model
-----------
The function's argument is the 2-D float64 input ``X`` of shape ``[N, F]``
(``F = n_features_in``, the fitted ``n_features_in_``). Every node denotes an
array with

* a **rank**: 2 (``[N, w]``, ``w`` its *width*), 1 (``[N]``, one value per row,
  i.e. one column) or 0 (a scalar constant), and
* a **dtype**: ``float64`` or ``bool``.

Broadcasting is numpy's, restricted so that it never depends on ``N``: a scalar
combines with anything; rank 1 with rank 1; rank 2 with rank 2 of the same
width, or of width 1 (that column is repeated across the other operand's
columns). A rank-1 node never meets a rank-2 node except as a ``concat`` part.

Nodes (Python class / JSON form)
--------------------------------
``Input()``          ``{"op": "input"}``                  X itself: rank 2, width F, float64
``Col(i)``           ``{"op": "col", "index": i}``        ``X[:, i]``: rank 1, float64
``Cols((i, j))``     ``{"op": "cols", "indices": [i, j]}`` ``X[:, [i, j]]``: rank 2, float64
``Const(v)``         ``{"op": "const", "value": v}``      scalar; ``v`` a JSON number (float64),
                     ``true``/``false`` (bool), or the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
``Unary(op, x)``     ``{"op": op, "args": [x]}``
``Binary(op, a, b)`` ``{"op": op, "args": [a, b]}``
``Where(c, a, b)``   ``{"op": "where", "args": [c, a, b]}``  ``c`` bool; ``a``, ``b`` of one dtype
``Clip(x, lo, hi)``  ``{"op": "clip", "args": [x], "lo": lo, "hi": hi}``  float64; ``lo``/``hi``
                     numbers or ``null`` (no bound), never NaN
``Concat(parts)``    ``{"op": "concat", "args": [...]}``  columns side by side (``np.column_stack``):
                     a rank-1 part is one column, a rank-2 part its ``w`` columns; all parts of one
                     dtype; rank 2, width = total

Operators (element-wise; each is exactly the numpy function named)
------------------------------------------------------------------
float64 -> float64: ``neg`` (np.negative), ``abs``, ``exp``, ``log``, ``log2``, ``log10``, ``log1p``,
``expm1``, ``sqrt``, ``square``, ``reciprocal`` (1/x), ``sin``, ``cos``, ``tan``, ``tanh``, ``floor``,
``ceil``, ``trunc``, ``round`` (np.rint: half to even, ``round(-0.5) = -0.0``), ``sign`` (NaN -> NaN).

float64 -> bool: ``isnan``, ``isinf``, ``isfinite``.  bool -> bool: ``not``.
bool -> float64: ``to_float`` (True -> 1.0, False -> 0.0).

float64 x float64 -> float64: ``add``, ``sub``, ``mul``, ``div`` (IEEE: x/0 = +-inf, 0/0 = NaN),
``pow`` (C ``pow``: negative base with non-integer exponent is NaN, ``pow(x, 0) = 1`` even for NaN),
``mod`` (np.remainder: result has the divisor's sign, ``mod(x, 0)`` and ``mod(+-inf, y)`` are NaN,
``mod(3, -inf) = -inf``), ``fmod`` (C ``fmod``), ``min`` / ``max`` (np.minimum / np.maximum:
**NaN if either side is NaN**), ``fmin`` / ``fmax`` (NaN only if both are NaN).

float64 x float64 -> bool: ``lt``, ``le``, ``gt``, ``ge`` (False when a side is NaN).
same dtype x same dtype -> bool: ``eq`` (False for NaN), ``ne`` (True for NaN).
bool x bool -> bool: ``and``, ``or``, ``xor``.

``where(c, a, b)`` picks ``a`` where ``c`` is True, element by element (both
branches are pure, so evaluating both is fine). ``clip(x, lo, hi)`` is
``x < lo ? lo : x`` then ``r > hi ? hi : r``: NaN stays NaN, and ``lo > hi``
gives ``hi`` (np.clip). Comparisons never raise; every operator is total.

The translator inserts ``to_float`` wherever numpy would silently turn a bool
into a number, so every operand already has the dtype its operator requires.
``x ** 0.5`` is written ``sqrt(x)``, as numpy computes it (``(-inf) ** 0.5`` is
NaN in numpy, ``+inf`` in C ``pow``). Numpy computes some results in int64
(``(x > 18) * 1``); the IR computes them in float64, with the same values.

Output
------
``ExprProgram.output`` is a rank-2 node of width ``n_features_out``; its dtype is
``ExprProgram.dtype``. A ``bool`` output is what sklearn's ``transform`` returns
(e.g. for ``x > 18``); downstream estimators convert it to float64, so every
emitter must produce float64 with True = 1.0 and False = 0.0 (the ONNX output is
always a double tensor).

:func:`per_column` rewrites a program into one rank-1 expression per output
column that uses ``Col``, never ``Input``/``Cols``/``Concat``: a row-at-a-time
scorer (PMML ``DerivedField``, the JSON scorers) evaluates those scalars.

Use :func:`infer` for a node's dtype, rank and width, and :func:`check` to
validate a whole program (``from_dict`` does both).

JSON document (:meth:`ExprProgram.to_dict`)::

    {"format": "mlexport.expr", "version": 1, "function": "is_adult", "origin": "source",
     "n_features_in": 2, "n_features_out": 2, "dtype": "bool", "frozen": {"AGE": 18},
     "output": {"op": "gt", "args": [{"op": "input"}, {"op": "const", "value": 18.0}]}}

``frozen`` lists the globals and closure variables whose values were read at
translation time (a later change to them is not seen by the artifact). Bump
``VERSION`` when a node or operator is added or changes meaning; readers refuse
versions and operators they do not know.

What translates
---------------
``func=None`` (identity); numpy ufuncs and functions by identity (``np.log1p``,
``np.clip`` with numeric ``kw_args``, ...); ``functools.partial`` of those; and
Python functions and lambdas made of: numpy calls on the allow-list
(:data:`ALLOWED_NUMPY`), arithmetic, comparison and ``& | ^ ~`` operators,
``x[:, i]``, ``x[:, [i, j]]``, ``x[:, a:b]``, ``v[:, None]``, ``.astype(float|bool)``,
``.clip``, ``.round()``, local variables, numeric defaults and ``kw_args``
(substituted), int/float globals and closure variables (frozen), and calls to
other functions that translate themselves (inlined). The source is read with
``inspect`` + ``ast`` and checked against the function's bytecode; without
source (or when it is stale) the bytecode itself is interpreted.
Everything else is refused with a reason: other calls (``print``, ``open``,
any non-numpy function), loops, comprehensions, ``if``/``and``/``or``/
conditional expressions, in-place updates, imports, mutable globals or
closures, attributes other than ``np.<name>``, name-based column access, and
``kw_args`` that are not numbers.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import math
import operator
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from .errors import BadInputError, UnsupportedStepError

FORMAT = "mlexport.expr"
VERSION = 1

# --------------------------------------------------------------------------- IR


@dataclass(frozen=True, eq=False)
class Input:
    """The whole input matrix ``X`` (rank 2, width ``n_features_in``)."""


@dataclass(frozen=True, eq=False)
class Col:
    """Column ``index`` of the input, ``X[:, index]`` (rank 1)."""

    index: int


@dataclass(frozen=True, eq=False)
class Cols:
    """Columns ``indices`` of the input, ``X[:, list(indices)]`` (rank 2)."""

    indices: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Const:
    """A scalar: float64 or bool (``dtype`` is derived from ``value``)."""

    value: float | bool
    dtype: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.value, (bool, np.bool_)):
            object.__setattr__(self, "value", bool(self.value))
            object.__setattr__(self, "dtype", "bool")
        else:
            object.__setattr__(self, "value", float(self.value))
            object.__setattr__(self, "dtype", "float64")


@dataclass(frozen=True, eq=False)
class Unary:
    op: str
    x: Expr


@dataclass(frozen=True, eq=False)
class Binary:
    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Where:
    cond: Expr
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Clip:
    x: Expr
    lo: float | None
    hi: float | None


@dataclass(frozen=True, eq=False)
class Concat:
    parts: tuple[Expr, ...]


Expr = Union[Input, Col, Cols, Const, Unary, Binary, Where, Clip, Concat]

UNARY_FLOAT: dict[str, Callable[..., Any]] = {
    "neg": np.negative, "abs": np.absolute, "exp": np.exp, "log": np.log, "log2": np.log2,
    "log10": np.log10, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "square": np.square,
    "reciprocal": np.reciprocal, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "round": np.rint, "sign": np.sign,
}
UNARY_PRED: dict[str, Callable[..., Any]] = {"isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite}
UNARY_BOOL: dict[str, Callable[..., Any]] = {"not": np.logical_not}
UNARY_OPS = {*UNARY_FLOAT, *UNARY_PRED, *UNARY_BOOL, "to_float"}
BINARY_FLOAT: dict[str, Callable[..., Any]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": np.power,
    "mod": np.remainder, "fmod": np.fmod, "min": np.minimum, "max": np.maximum, "fmin": np.fmin, "fmax": np.fmax,
}
BINARY_CMP: dict[str, Callable[..., Any]] = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
BINARY_EQ: dict[str, Callable[..., Any]] = {"eq": np.equal, "ne": np.not_equal}
BINARY_BOOL: dict[str, Callable[..., Any]] = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}
BINARY_OPS = {*BINARY_FLOAT, *BINARY_CMP, *BINARY_EQ, *BINARY_BOOL}


@dataclass(frozen=True)
class Info:
    """Static type of a node: dtype, rank (0, 1, 2) and width (rank 2; None if unknown)."""

    dtype: str
    rank: int
    width: int | None


class _Malformed(Exception):
    pass


def _broadcast(infos: list[Info]) -> tuple[int, int | None]:
    ranks = {i.rank for i in infos if i.rank}
    if not ranks:
        return 0, None
    if ranks == {1, 2}:
        raise _Malformed("a rank-1 column meets a rank-2 matrix (numpy would broadcast it across rows)")
    if ranks == {1}:
        return 1, None
    widths = {i.width for i in infos if i.rank == 2}
    if len(widths) == 1:
        return 2, widths.pop()
    if None in widths:
        raise _Malformed("cannot check the number of columns: the FunctionTransformer has no n_features_in_")
    widths.discard(1)
    if len(widths) > 1:
        raise _Malformed(f"matrices of {sorted(w for w in widths if w is not None)} columns do not broadcast")
    return 2, widths.pop()


def infer(e: Expr, n_features_in: int | None = None, _memo: dict[int, tuple[Expr, Info]] | None = None) -> Info:
    """The static :class:`Info` of ``e``; raises ``BadInputError`` for an ill-typed tree."""
    try:
        return _infer(e, n_features_in, {} if _memo is None else _memo)
    except _Malformed as err:
        raise BadInputError(f"malformed expression: {err}") from None


def _infer(e: Expr, F: int | None, memo: dict[int, tuple[Expr, Info]]) -> Info:
    got = memo.get(id(e))
    if got is not None and got[0] is e:  # the node is kept alive in the memo, so ids are not reused
        return got[1]

    def sub(x: Expr) -> Info:
        return _infer(x, F, memo)

    def need(dtype: str, what: str, *infos: Info) -> None:
        for i in infos:
            if i.dtype != dtype:
                raise _Malformed(f"{what} needs {dtype} operands, got {i.dtype}")

    if isinstance(e, Input):
        info = Info("float64", 2, F)
    elif isinstance(e, Col):
        if F is not None and not 0 <= e.index < F:
            raise _Malformed(f"column {e.index} is out of range for {F} features")
        info = Info("float64", 1, None)
    elif isinstance(e, Cols):
        if F is not None and any(not 0 <= i < F for i in e.indices):
            raise _Malformed(f"columns {list(e.indices)} are out of range for {F} features")
        info = Info("float64", 2, len(e.indices))
    elif isinstance(e, Const):
        info = Info(e.dtype, 0, None)
    elif isinstance(e, Unary):
        x = sub(e.x)
        if e.op in UNARY_FLOAT:
            need("float64", e.op, x)
            dtype = "float64"
        elif e.op in UNARY_PRED:
            need("float64", e.op, x)
            dtype = "bool"
        elif e.op in UNARY_BOOL:
            need("bool", e.op, x)
            dtype = "bool"
        elif e.op == "to_float":
            need("bool", e.op, x)
            dtype = "float64"
        else:
            raise _Malformed(f"unknown unary operator {e.op!r}")
        info = Info(dtype, x.rank, x.width)
    elif isinstance(e, Binary):
        a, b = sub(e.a), sub(e.b)
        if e.op in BINARY_FLOAT:
            need("float64", e.op, a, b)
            dtype = "float64"
        elif e.op in BINARY_CMP:
            need("float64", e.op, a, b)
            dtype = "bool"
        elif e.op in BINARY_EQ:
            if a.dtype != b.dtype:
                raise _Malformed(f"{e.op} compares {a.dtype} with {b.dtype}")
            dtype = "bool"
        elif e.op in BINARY_BOOL:
            need("bool", e.op, a, b)
            dtype = "bool"
        else:
            raise _Malformed(f"unknown binary operator {e.op!r}")
        info = Info(dtype, *_broadcast([a, b]))
    elif isinstance(e, Where):
        c, a, b = sub(e.cond), sub(e.a), sub(e.b)
        need("bool", "where condition", c)
        if a.dtype != b.dtype:
            raise _Malformed(f"where mixes {a.dtype} and {b.dtype}")
        info = Info(a.dtype, *_broadcast([c, a, b]))
    elif isinstance(e, Clip):
        x = sub(e.x)
        need("float64", "clip", x)
        for bound in (e.lo, e.hi):
            if bound is not None and (not isinstance(bound, (int, float)) or isinstance(bound, bool) or math.isnan(bound)):
                raise _Malformed(f"clip bound {bound!r} is not a number")
        info = Info("float64", x.rank, x.width)
    elif isinstance(e, Concat):
        if not e.parts:
            raise _Malformed("concat of nothing")
        parts = [sub(p) for p in e.parts]
        if len({p.dtype for p in parts}) != 1:
            raise _Malformed("concat parts have different dtypes")
        if any(p.rank == 0 for p in parts):
            raise _Malformed("concat of a scalar")
        widths = [1 if p.rank == 1 else p.width for p in parts]
        info = Info(parts[0].dtype, 2, None if None in widths else sum(w for w in widths if w is not None))
    else:
        raise _Malformed(f"not an expression node: {type(e).__name__}")
    memo[id(e)] = (e, info)
    return info


@dataclass(frozen=True)
class ExprProgram:
    """A translated function: ``output`` computed from the input matrix.

    ``frozen`` holds ``(name, value)`` of the globals and closure variables read
    at translation time; ``origin`` says how the function was read
    (``identity``, ``numpy``, ``source`` or ``bytecode``)."""

    output: Expr
    n_features_in: int | None
    frozen: tuple[tuple[str, Any], ...] = ()
    function: str = ""
    origin: str = ""

    @property
    def info(self) -> Info:
        return infer(self.output, self.n_features_in)

    @property
    def dtype(self) -> str:
        return self.info.dtype

    @property
    def n_features_out(self) -> int | None:
        return self.info.width

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExprProgram:
        return from_dict(d)


def check(program: ExprProgram) -> Info:
    """Validate a program (types, ranks, widths); return the output's :class:`Info`."""
    info = program.info
    if info.rank != 2:
        raise BadInputError(f"malformed expression program: output must be rank 2. Got rank {info.rank} instead.")
    return info


# ------------------------------------------------------------------ evaluation


def evaluate(program: ExprProgram, X: Any) -> np.ndarray:
    """Numpy reference evaluation: equals ``FunctionTransformer.transform(X)``.

    Returns a bool array when ``program.dtype`` is bool, else float64 (numpy may
    return int64 for integer-valued results; the values are the same)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise BadInputError(f"X must be a 2-D array. Got {X.ndim} dimensions instead.")
    if program.n_features_in is not None and X.shape[1] != program.n_features_in:
        raise BadInputError(f"X must have {program.n_features_in} columns. Got {X.shape[1]} instead.")
    memo: dict[int, Any] = {}
    with np.errstate(all="ignore"):
        out = _eval(program.output, X, memo)
    return np.asarray(out)


def _eval(e: Expr, X: np.ndarray, memo: dict[int, Any]) -> Any:
    got = memo.get(id(e), memo)
    if got is not memo:
        return got
    r: Any
    if isinstance(e, Input):
        r = X
    elif isinstance(e, Col):
        r = X[:, e.index]
    elif isinstance(e, Cols):
        r = X[:, list(e.indices)]
    elif isinstance(e, Const):
        r = e.value  # a Python scalar, as in the user's code (numpy's scalar fast paths apply)
    elif isinstance(e, Unary):
        x = _eval(e.x, X, memo)
        if e.op == "to_float":
            r = np.asarray(x).astype(np.float64)
        else:
            r = {**UNARY_FLOAT, **UNARY_PRED, **UNARY_BOOL}[e.op](x)
    elif isinstance(e, Binary):
        fn = {**BINARY_FLOAT, **BINARY_CMP, **BINARY_EQ, **BINARY_BOOL}[e.op]
        r = fn(_eval(e.a, X, memo), _eval(e.b, X, memo))
    elif isinstance(e, Where):
        r = np.where(_eval(e.cond, X, memo), _eval(e.a, X, memo), _eval(e.b, X, memo))
    elif isinstance(e, Clip):
        r = np.clip(_eval(e.x, X, memo), e.lo, e.hi) if (e.lo is not None or e.hi is not None) else _eval(e.x, X, memo)
    elif isinstance(e, Concat):
        r = np.column_stack([_eval(p, X, memo) for p in e.parts])
    else:  # pragma: no cover - guarded by infer
        raise BadInputError(f"not an expression node: {type(e).__name__}")
    memo[id(e)] = r
    return r


# --------------------------------------------------------------- per column


_ColCache = dict[tuple[int, int], tuple[Expr, Expr]]


def per_column(program: ExprProgram) -> list[Expr]:
    """One rank-1 expression per output column, using only ``Col`` references.

    Needs ``n_features_in``. Shared sub-expressions stay shared (same object)."""
    F = program.n_features_in
    if F is None:
        raise BadInputError("per_column needs n_features_in (fit the FunctionTransformer first)")
    info = check(program)
    memo: dict[int, tuple[Expr, Info]] = {}
    infer(program.output, F, memo)
    cache: _ColCache = {}
    return [_column(program.output, j, F, memo, cache) for j in range(int(info.width or 0))]


def _column(e: Expr, j: int, F: int, infos: dict[int, tuple[Expr, Info]], cache: _ColCache) -> Expr:
    info = _infer(e, F, infos)
    if info.rank != 2:
        return e
    if info.width == 1:
        j = 0
    key = (id(e), j)
    if key in cache:
        return cache[key][1]
    r: Expr
    if isinstance(e, Input):
        r = Col(j)
    elif isinstance(e, Cols):
        r = Col(e.indices[j])
    elif isinstance(e, Unary):
        r = Unary(e.op, _column(e.x, j, F, infos, cache))
    elif isinstance(e, Binary):
        r = Binary(e.op, _column(e.a, j, F, infos, cache), _column(e.b, j, F, infos, cache))
    elif isinstance(e, Where):
        r = Where(*(_column(x, j, F, infos, cache) for x in (e.cond, e.a, e.b)))
    elif isinstance(e, Clip):
        r = Clip(_column(e.x, j, F, infos, cache), e.lo, e.hi)
    elif isinstance(e, Concat):
        offset = 0
        for p in e.parts:
            pi = _infer(p, F, infos)
            w = 1 if pi.rank == 1 else int(pi.width or 0)
            if j < offset + w:
                r = _column(p, j - offset, F, infos, cache)
                break
            offset += w
        else:  # pragma: no cover - guarded by infer
            raise BadInputError("column out of range")
    else:  # pragma: no cover
        raise BadInputError(f"not an expression node: {type(e).__name__}")
    infos[id(r)] = (r, Info(info.dtype, 1, None))
    cache[key] = (e, r)  # keeps e alive so its id is not reused
    return r


def _select(e: Expr, js: list[int], F: int | None, infos: dict[int, tuple[Expr, Info]]) -> Expr:
    """``e[:, js]`` for a rank-2 node, pushed down to the inputs (rank 2 result)."""
    if isinstance(e, Input):
        return Cols(tuple(js))
    if isinstance(e, Cols):
        return Cols(tuple(e.indices[j] for j in js))
    if F is None:
        raise _Refusal("selects columns of a computed matrix without a fitted n_features_in_")
    cache: _ColCache = {}
    return Concat(tuple(_column(e, j, F, infos, cache) for j in js))


# --------------------------------------------------------------------- JSON


def _num_to_json(v: float) -> Any:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _num_from_json(v: Any) -> float:
    if isinstance(v, str):
        try:
            return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
        except KeyError:
            raise BadInputError(f"a number must be a JSON number, 'NaN', 'Infinity' or '-Infinity'. Got {v!r} instead.") from None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise BadInputError(f"a number must be a JSON number. Got {v!r} instead.")
    return float(v)


def _frozen_to_json(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_frozen_to_json(x) for x in v]
    if isinstance(v, float):
        return _num_to_json(v)
    return v


def node_to_dict(e: Expr) -> dict[str, Any]:
    if isinstance(e, Input):
        return {"op": "input"}
    if isinstance(e, Col):
        return {"op": "col", "index": e.index}
    if isinstance(e, Cols):
        return {"op": "cols", "indices": list(e.indices)}
    if isinstance(e, Const):
        return {"op": "const", "value": e.value if isinstance(e.value, bool) else _num_to_json(e.value)}
    if isinstance(e, Unary):
        return {"op": e.op, "args": [node_to_dict(e.x)]}
    if isinstance(e, Binary):
        return {"op": e.op, "args": [node_to_dict(e.a), node_to_dict(e.b)]}
    if isinstance(e, Where):
        return {"op": "where", "args": [node_to_dict(e.cond), node_to_dict(e.a), node_to_dict(e.b)]}
    if isinstance(e, Clip):
        return {"op": "clip", "args": [node_to_dict(e.x)],
                "lo": None if e.lo is None else _num_to_json(e.lo), "hi": None if e.hi is None else _num_to_json(e.hi)}
    if isinstance(e, Concat):
        return {"op": "concat", "args": [node_to_dict(p) for p in e.parts]}
    raise BadInputError(f"not an expression node: {type(e).__name__}")


def node_from_dict(d: Any) -> Expr:
    if not isinstance(d, dict) or not isinstance(d.get("op"), str):
        raise BadInputError(f"an expression node must be an object with an 'op'. Got {d!r} instead.")
    op = d["op"]
    args = d.get("args", [])
    if not isinstance(args, list):
        raise BadInputError(f"'args' of {op!r} must be a list. Got {args!r} instead.")

    def arity(n: int) -> list[Expr]:
        if len(args) != n:
            raise BadInputError(f"operator {op!r} takes {n} argument(s). Got {len(args)} instead.")
        return [node_from_dict(a) for a in args]

    def index(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise BadInputError(f"a column index must be a non-negative integer. Got {v!r} instead.")
        return v

    if op == "input":
        return Input()
    if op == "col":
        return Col(index(d.get("index")))
    if op == "cols":
        idx = d.get("indices")
        if not isinstance(idx, list) or not idx:
            raise BadInputError(f"'indices' must be a non-empty list. Got {idx!r} instead.")
        return Cols(tuple(index(i) for i in idx))
    if op == "const":
        v = d.get("value")
        return Const(v if isinstance(v, bool) else _num_from_json(v))
    if op in UNARY_OPS:
        return Unary(op, *arity(1))
    if op in BINARY_OPS:
        a, b = arity(2)
        return Binary(op, a, b)
    if op == "where":
        c, a, b = arity(3)
        return Where(c, a, b)
    if op == "clip":
        (x,) = arity(1)
        lo, hi = d.get("lo"), d.get("hi")
        return Clip(x, None if lo is None else _num_from_json(lo), None if hi is None else _num_from_json(hi))
    if op == "concat":
        if not args:
            raise BadInputError("concat needs at least one argument")
        return Concat(tuple(node_from_dict(a) for a in args))
    raise BadInputError(f"unknown expression operator {op!r} (this reader knows {FORMAT} version {VERSION})")


def to_dict(program: ExprProgram) -> dict[str, Any]:
    """The JSON-serialisable form of a program (non-finite numbers as strings)."""
    info = check(program)
    return {
        "format": FORMAT,
        "version": VERSION,
        "function": program.function,
        "origin": program.origin,
        "n_features_in": program.n_features_in,
        "n_features_out": info.width,
        "dtype": info.dtype,
        "frozen": {k: _frozen_to_json(v) for k, v in program.frozen},
        "output": node_to_dict(program.output),
    }


def from_dict(d: dict[str, Any]) -> ExprProgram:
    """Read :func:`to_dict`'s form back, validating it."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise BadInputError(f"not an {FORMAT} document")
    if d.get("version") != VERSION:
        raise BadInputError(f"{FORMAT} version must be {VERSION}. Got {d.get('version')!r} instead.")
    n_in = d.get("n_features_in")
    if n_in is not None and (isinstance(n_in, bool) or not isinstance(n_in, int) or n_in < 1):
        raise BadInputError(f"n_features_in must be a positive integer or null. Got {n_in!r} instead.")

    def thaw(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(thaw(x) for x in v)
        if isinstance(v, str):
            return _num_from_json(v)
        return v

    frozen = tuple((str(k), thaw(v)) for k, v in (d.get("frozen") or {}).items())
    prog = ExprProgram(node_from_dict(d.get("output")), n_in, frozen, str(d.get("function", "")), str(d.get("origin", "")))
    info = check(prog)
    if d.get("n_features_out") is not None and d["n_features_out"] != info.width:
        raise BadInputError(f"n_features_out must be {info.width}. Got {d['n_features_out']!r} instead.")
    return prog


# --------------------------------------------------------------- translation


class _Refusal(Exception):
    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


DEFAULT_HINT = ("write it with numpy ufuncs, arithmetic and comparison operators, np.where/np.clip and numeric "
                "constants, or replace it by a built-in transformer")


@dataclass(eq=False)
class _Arr:
    """An abstract array: an IR node plus numpy's kind for it ('f' float, 'i' int-valued, 'b' bool)."""

    expr: Expr
    kind: str
    info: Info


@dataclass(eq=False)
class _Method:
    obj: _Arr
    name: str


class _NullType:
    def __repr__(self) -> str:
        return "NULL"


_NULL = _NullType()
_MAX_EXACT_INT = 2**53


def _callable_name(f: Any) -> str:
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or type(f).__name__
    mod = getattr(f, "__module__", None)
    if isinstance(f, np.ufunc):
        uname = str(getattr(f, "__name__", "ufunc"))
        return f"np.{uname}" if getattr(np, uname, None) is f else uname
    if mod in (None, "builtins"):
        return str(name)
    if mod == "numpy" or str(mod).startswith("numpy."):
        return f"np.{name}"
    return f"{mod}.{name}"


def _py_scalar(v: Any) -> Any:
    """A Python bool/int/float for numeric constants, else the sentinel ``_NULL``."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return _NULL


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float)) and not isinstance(v, _Arr)


def _skind(v: Any) -> str:
    """numpy category of a value: f/i/b for arrays, F/I/B for Python scalars."""
    if isinstance(v, _Arr):
        return v.kind
    if isinstance(v, bool):
        return "B"
    if isinstance(v, int):
        return "I"
    if isinstance(v, float):
        return "F"
    raise _Refusal(f"uses a {type(v).__name__} value where a number or an array is needed")


_CAT = {"b": 0, "B": 0, "i": 1, "I": 1, "f": 2, "F": 2}


class _Translator:
    """Abstract interpretation of the function over :class:`_Arr` values."""

    def __init__(self, n_features: int | None, use_source: bool) -> None:
        self.F = n_features
        self.use_source = use_source
        self.frozen: dict[str, Any] = {}
        self.infos: dict[int, tuple[Expr, Info]] = {}
        self.depth = 0
        self.origin = ""

    # ---- building values
    def arr(self, e: Expr, kind: str) -> _Arr:
        try:
            info = _infer(e, self.F, self.infos)
        except _Malformed as err:
            raise _Refusal(str(err)) from None
        return _Arr(e, kind, info)

    def const(self, v: Any) -> Const:
        if isinstance(v, bool):
            return Const(v)
        return Const(float(v))

    def as_float(self, v: Any, int_context: bool = False) -> Expr:
        if isinstance(v, _Arr):
            return Unary("to_float", v.expr) if v.kind == "b" else v.expr
        if int_context and isinstance(v, int) and not isinstance(v, bool) and abs(v) > _MAX_EXACT_INT:
            raise _Refusal(f"uses the integer {v} in integer arithmetic, beyond float64's exact range")
        return self.const(float(v))

    def as_bool(self, v: Any) -> Expr:
        if isinstance(v, _Arr):
            if v.kind == "b":
                return v.expr
            return Binary("ne", v.expr, Const(0.0))  # truthiness: NaN is True
        return Const(bool(v))

    # ---- numpy semantics
    def arith(self, op: str, a: Any, b: Any) -> Any:
        ka, kb = _skind(a), _skind(b)
        if not isinstance(a, _Arr) and not isinstance(b, _Arr):
            return self.fold_ufunc(BINARY_FLOAT[op], a, b)
        cat = max(_CAT[ka], _CAT[kb])
        if op == "div":
            cat = 2
        if cat == 0:
            bool_op = {"add": "or", "mul": "and", "max": "or", "min": "and", "fmax": "or", "fmin": "and"}.get(op)
            if bool_op is None:
                raise _Refusal(f"applies {op} to two booleans (numpy refuses or changes dtype); cast with .astype(float)")
            return self.arr(Binary(bool_op, self.as_bool(a), self.as_bool(b)), "b")
        if cat == 1:
            if op in ("mod", "fmod"):
                raise _Refusal("takes an integer remainder of a boolean/integer array (numpy differs from float)")
            if op == "pow" and not (isinstance(b, int) and b >= 0):
                raise _Refusal("raises an integer array to a power that is not a non-negative integer constant")
        kind = "f" if cat == 2 else "i"
        ea, eb = self.as_float(a, cat == 1), self.as_float(b, cat == 1)
        if op == "pow" and isinstance(eb, Const) and eb.value == 0.5 and isinstance(a, _Arr):
            return self.arr(Unary("sqrt", ea), kind)  # numpy's power(x, 0.5) is sqrt(x)
        return self.arr(Binary(op, ea, eb), kind)

    def compare(self, op: str, a: Any, b: Any) -> Any:
        if not isinstance(a, _Arr) and not isinstance(b, _Arr):
            return self.fold_ufunc(BINARY_CMP.get(op) or BINARY_EQ[op], a, b)
        ka, kb = _skind(a), _skind(b)
        if op in BINARY_EQ and ka in "bB" and kb in "bB":
            return self.arr(Binary(op, self.as_bool(a), self.as_bool(b)), "b")
        return self.arr(Binary(op, self.as_float(a), self.as_float(b)), "b")

    def logic(self, op: str, a: Any, b: Any, strict: bool) -> Any:
        if not isinstance(a, _Arr) and not isinstance(b, _Arr):
            return self.fold_ufunc(BINARY_BOOL[op], a, b)
        if strict and (_skind(a) not in "bB" or _skind(b) not in "bB"):
            sym = {"and": "&", "or": "|", "xor": "^"}[op]
            raise _Refusal(f"uses '{sym}' on non-boolean values (a bitwise operation); compare first, e.g. (x > 1) {sym} (x < 5)")
        return self.arr(Binary(op, self.as_bool(a), self.as_bool(b)), "b")

    def unary(self, op: str, a: Any) -> Any:
        if not isinstance(a, _Arr):
            fn = {**UNARY_FLOAT, **UNARY_PRED, **UNARY_BOOL}[op]
            return self.fold_ufunc(fn, a)
        if op == "not":
            return self.arr(Unary("not", self.as_bool(a)), "b")
        if a.kind == "b":
            raise _Refusal(f"applies np.{op} to a boolean array (numpy computes it in another dtype); cast with .astype(float) first")
        if op in UNARY_PRED:
            return self.arr(Unary(op, a.expr), "b")
        if a.kind == "i" and op == "reciprocal":
            raise _Refusal("takes np.reciprocal of an integer array (integer division in numpy)")
        keeps_int = op in ("neg", "abs", "square", "sign", "floor", "ceil", "trunc", "round")
        return self.arr(Unary(op, a.expr), "i" if a.kind == "i" and keeps_int else "f")

    def fold_ufunc(self, fn: Callable[..., Any], *args: Any) -> Any:
        for v in args:
            if _py_scalar(v) is _NULL:
                raise _Refusal(f"applies {_callable_name(fn)} to a {type(v).__name__}")
        with np.errstate(all="ignore"):
            r = fn(*args)
        out = _py_scalar(r)
        if out is _NULL:
            raise _Refusal(f"{_callable_name(fn)} of constants did not give a number")
        return out

    def where(self, c: Any, a: Any, b: Any) -> Any:
        if not isinstance(c, _Arr):
            if _py_scalar(c) is _NULL:
                raise _Refusal("np.where condition is not an array or a number")
            chosen = a if c else b
            if isinstance(chosen, _Arr) or _py_scalar(chosen) is not _NULL:
                return chosen
            raise _Refusal("np.where chooses a value that is not a number")
        ka, kb = _skind(a), _skind(b)
        cond = self.as_bool(c)
        if ka in "bB" and kb in "bB":
            return self.arr(Where(cond, self.as_bool(a), self.as_bool(b)), "b")
        cat = max(_CAT[ka], _CAT[kb])
        kind = "f" if cat == 2 else "i"
        return self.arr(Where(cond, self.as_float(a, cat == 1), self.as_float(b, cat == 1)), kind)

    def clip(self, x: Any, lo: Any, hi: Any) -> Any:
        if not isinstance(x, _Arr):
            raise _Refusal("clips a constant")
        if x.kind == "b":
            raise _Refusal("clips a boolean array")
        bounds: list[Any] = []
        for v in (lo, hi):
            if v is None:
                bounds.append(None)
                continue
            s = _py_scalar(v)
            if s is _NULL or isinstance(s, bool):
                raise _Refusal("clips with bounds that are not numeric constants (array bounds are not supported)")
            if math.isnan(float(s)):
                raise _Refusal("clips with a NaN bound")
            bounds.append(s)
        if bounds == [None, None]:
            return x
        kind = "i" if x.kind == "i" and all(isinstance(b, int) or b is None for b in bounds) else "f"
        return self.arr(Clip(x.expr, *(None if b is None else float(b) for b in bounds)), kind)

    def stack(self, parts: Any, how: str) -> _Arr:
        if not isinstance(parts, (list, tuple)) or not parts:
            raise _Refusal(f"{how} needs a list of arrays")
        exprs = []
        for p in parts:
            if not isinstance(p, _Arr):
                raise _Refusal(f"{how} of a constant is not supported")
            if how in ("np.hstack", "np.concatenate") and p.info.rank != 2:
                raise _Refusal(f"{how} of 1-D columns gives one long row, not columns; use np.column_stack")
            if how == "np.stack" and p.info.rank != 1:
                raise _Refusal("np.stack of 2-D arrays gives a 3-D array")
            exprs.append(p)
        kinds = {p.kind for p in exprs}
        if kinds == {"b"}:
            return self.arr(Concat(tuple(p.expr for p in exprs)), "b")
        kind = "f" if "f" in kinds else "i"
        return self.arr(Concat(tuple(self.as_float(p) for p in exprs)), kind)

    def astype(self, x: _Arr, dtype: Any) -> _Arr:
        name = dtype if isinstance(dtype, str) else getattr(dtype, "__name__", repr(dtype))
        if dtype in (float, np.float64, np.double) or name in ("float", "float64", "double", "f8"):
            return self.arr(self.as_float(x), "f") if x.kind == "b" else _Arr(x.expr, "f", x.info)
        if dtype in (bool, np.bool_) or name in ("bool", "bool_", "?"):
            return self.arr(self.as_bool(x), "b")
        if dtype in (int, np.int64, np.int_) or name in ("int", "int64", "i8"):
            if x.kind == "f":
                raise _Refusal("casts floats to int (truncation, undefined for NaN and inf)")
            return self.arr(self.as_float(x), "i")
        raise _Refusal(f"casts to {name}, which is not supported (float and bool are)")

    def subscript(self, obj: Any, idx: Any) -> Any:
        if obj is np.c_:
            parts = list(idx) if isinstance(idx, tuple) else [idx]
            for p in parts:
                if not isinstance(p, _Arr):
                    raise _Refusal("np.c_ with slices, strings or constants is not supported")
            return self.stack(parts, "np.c_")
        if isinstance(obj, (tuple, list)) and not isinstance(obj, _Arr):
            try:
                return obj[idx]
            except Exception as err:
                raise _Refusal(f"indexes a constant sequence: {err}") from None
        if not isinstance(obj, _Arr):
            raise _Refusal(f"indexes a {type(obj).__name__}")
        if isinstance(idx, str) or (isinstance(idx, tuple) and any(isinstance(i, str) for i in idx)) or (
            isinstance(idx, list) and any(isinstance(i, str) for i in idx)
        ):
            raise _Refusal("selects columns by name; use positions, e.g. x[:, 0]")
        if not isinstance(idx, tuple) or len(idx) != 2:
            raise _Refusal("indexes rows (x[i]); select columns with x[:, i]")
        rows, cols = idx
        if not (rows is Ellipsis or (isinstance(rows, slice) and rows == slice(None))):
            raise _Refusal("selects rows; only column selection (x[:, ...]) is supported")
        if obj.info.rank == 1:
            if cols is None:
                return self.arr(Concat((obj.expr,)), obj.kind)
            raise _Refusal("indexes a 1-D column with two indices")
        width = obj.info.width
        if cols is None:
            raise _Refusal("adds an axis to a 2-D array (3-D result)")
        if isinstance(cols, (bool, np.bool_)):
            raise _Refusal("indexes with a boolean")
        if isinstance(cols, int):
            j = self._norm_index(cols, width)
            if isinstance(obj.expr, Input):
                return self.arr(Col(j), obj.kind)
            if isinstance(obj.expr, Cols):
                return self.arr(Col(obj.expr.indices[j]), obj.kind)
            if self.F is None:
                raise _Refusal("selects a column of a computed matrix without a fitted n_features_in_")
            return self.arr(_column(obj.expr, j, self.F, self.infos, {}), obj.kind)
        if isinstance(cols, slice):
            if width is None:
                raise _Refusal("slices columns without a fitted n_features_in_")
            for v in (cols.start, cols.stop, cols.step):
                if v is not None and not isinstance(v, int):
                    raise _Refusal("slices columns with non-integer bounds")
            js = list(range(width))[cols]
        elif isinstance(cols, (list, tuple)) and cols and all(isinstance(c, int) and not isinstance(c, bool) for c in cols):
            js = [self._norm_index(c, width) for c in cols]
        else:
            raise _Refusal("indexes columns with something other than an int, a list of ints or a slice")
        if not js:
            raise _Refusal("selects no columns")
        return self.arr(_select(obj.expr, js, self.F, self.infos), obj.kind)

    def _norm_index(self, j: int, width: int | None) -> int:
        if j < 0:
            if width is None:
                raise _Refusal("uses a negative column index without a fitted n_features_in_")
            j += width
        if width is not None and not 0 <= j < width:
            raise _Refusal(f"selects column {j} of a {width}-column array")
        return j

    def getattr(self, obj: Any, name: str) -> Any:
        if obj is np:
            if name in _NP_CONSTANTS:
                return _NP_CONSTANTS[name]
            value = getattr(np, name, None)
            if value is not None and (id(value) in _NUMPY_BY_ID or value is np.c_ or _is_dtype(value)):
                return value
            raise _Refusal(f"uses np.{name}, which is not on the allow-list of pure numpy operations")
        if obj is math:
            if name in ("pi", "e", "tau", "inf", "nan"):
                return float(getattr(math, name))
            fn = getattr(math, name, None)
            if isinstance(fn, types.BuiltinFunctionType):
                return fn
            raise _Refusal(f"uses math.{name}")
        if isinstance(obj, _Arr):
            if name in ("astype", "clip", "round", "reshape", "copy"):
                return _Method(obj, name)
            raise _Refusal(f"reads the attribute .{name} of an array; only np.<name> attributes are allowed")
        raise _Refusal(f"reads the attribute .{name} of a {type(obj).__name__}; only np.<name> attributes are allowed")

    # ---- calls
    def call(self, f: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(f, _Method):
            return self.call_method(f, args, kwargs)
        entry = _NUMPY_BY_ID.get(id(f))
        if entry is not None and entry[0] is f:
            return entry[1](self, args, kwargs)
        if f is builtins.abs:
            self._no_kwargs("abs", kwargs)
            (x,) = self._nargs("abs", args, 1)
            return self.unary("abs", x) if isinstance(x, _Arr) else self.fold_ufunc(np.absolute, x)
        if f is builtins.round:
            x = self._nargs("round", args, 1, 2)
            if isinstance(x[0], _Arr):
                raise _Refusal("calls the builtin round() on an array (numpy arrays do not support it)", "use np.round(x)")
            try:
                return round(*x, **kwargs)
            except Exception as err:
                raise _Refusal(f"round() of a constant failed: {err}") from None
        if f in (builtins.float, builtins.int, builtins.bool):
            (x,) = self._nargs(f.__name__, args, 1)
            if isinstance(x, _Arr):
                raise _Refusal(f"calls {f.__name__}() on an array (use .astype)")
            try:
                return f(x)
            except Exception as err:
                raise _Refusal(f"{f.__name__}({x!r}) failed: {err}") from None
        if f in (builtins.min, builtins.max):
            raise _Refusal(f"calls the builtin {f.__name__}(), which compares whole arrays; use np.{f.__name__}imum")
        if isinstance(f, functools.partial):
            pargs = [self.import_value(v, f"a partial() argument of {_callable_name(f.func)}") for v in f.args]
            pkw = {k: self.import_value(v, f"partial() keyword {k!r}") for k, v in f.keywords.items()}
            return self.call(f.func, pargs + list(args), {**pkw, **kwargs})
        if isinstance(f, types.FunctionType):
            return self.call_function(f, args, kwargs)
        if isinstance(f, types.BuiltinFunctionType) and getattr(f, "__module__", None) == "math":
            if all(_is_scalar(a) for a in args) and not kwargs:
                try:
                    return _py_scalar(f(*args))
                except Exception as err:
                    raise _Refusal(f"math.{f.__name__} of constants failed: {err}") from None
            raise _Refusal(f"calls math.{f.__name__}() on an array; use the numpy function")
        raise _Refusal(f"calls {_callable_name(f)}(), which is not on the allow-list of pure numpy operations")

    def _nargs(self, name: str, args: list[Any], lo: int, hi: int | None = None) -> list[Any]:
        if not lo <= len(args) <= (hi or lo):
            raise _Refusal(f"calls {name} with {len(args)} positional arguments")
        return args

    def _no_kwargs(self, name: str, kwargs: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
        extra = [k for k in kwargs if k not in allowed]
        if extra:
            raise _Refusal(f"calls {name} with unsupported keyword(s) {', '.join(map(repr, extra))}")

    def call_method(self, m: _Method, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = m.obj
        if m.name == "astype":
            self._no_kwargs(".astype", kwargs, ("copy", "dtype"))
            dtype = args[0] if args else kwargs.get("dtype")
            return self.astype(x, dtype)
        if m.name == "copy":
            return x
        if m.name == "clip":
            self._no_kwargs(".clip", kwargs, ("min", "max"))
            lo = args[0] if args else kwargs.get("min")
            hi = args[1] if len(args) > 1 else kwargs.get("max")
            return self.clip(x, lo, hi)
        if m.name == "round":
            self._no_kwargs(".round", kwargs, ("decimals",))
            dec = args[0] if args else kwargs.get("decimals", 0)
            if dec != 0:
                raise _Refusal("rounds to decimals (only decimals=0 is exact)")
            return self.unary("round", x)
        if m.name == "reshape":
            shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)
            if x.info.rank == 1 and shape in ((-1, 1),):
                return self.arr(Concat((x.expr,)), x.kind)
            raise _Refusal(f"reshapes to {shape} (only a column's .reshape(-1, 1) is supported)")
        raise _Refusal(f"calls .{m.name}()")  # pragma: no cover

    def import_value(self, v: Any, what: str) -> Any:
        """A raw Python value (default, kw_args, partial argument) as an abstract value."""
        if isinstance(v, (_Arr, _Method)):
            return v
        s = _py_scalar(v)
        if s is not _NULL:
            return s
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, tuple) and all(_py_scalar(x) is not _NULL for x in v):
            return tuple(_py_scalar(x) for x in v)
        raise _Refusal(f"{what} is a {type(v).__name__}; only numbers (and tuples of numbers) can be substituted")

    def freeze(self, name: str, value: Any, where: str) -> Any:
        """A global or closure variable read at translation time."""
        if value is np or value is math:
            return value
        s = _py_scalar(value)
        if s is not _NULL:
            self.frozen[name] = s
            return s
        if isinstance(value, tuple) and all(_py_scalar(x) is not _NULL for x in value):
            t = tuple(_py_scalar(x) for x in value)
            self.frozen[name] = t
            return t
        if value is None:
            return None
        if id(value) in _NUMPY_BY_ID or value is np.c_ or _is_dtype(value):
            return value
        if isinstance(value, (types.FunctionType, functools.partial, types.BuiltinFunctionType, type, np.ufunc)):
            return value  # checked when called
        if isinstance(value, types.ModuleType):
            raise _Refusal(f"uses the module {value.__name__!r} ({where} {name!r}); only numpy and math are allowed")
        mutable = isinstance(value, (list, dict, set, bytearray, np.ndarray))
        kind = "mutable state" if mutable else "not a number"
        raise _Refusal(
            f"reads {where} {name!r}, a {type(value).__name__} ({kind}); only int/float constants "
            "(and tuples of them) can be frozen into the artifact",
            "pass the value through kw_args as numbers, or make it a module-level number",
        )

    def call_function(self, func: types.FunctionType, args: list[Any], kwargs: dict[str, Any]) -> Any:
        code = func.__code__
        if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
            raise _Refusal(f"{func.__name__} is a generator or coroutine")
        if self.depth >= 8:
            raise _Refusal("nests function calls too deeply (recursion?)")
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError) as err:  # pragma: no cover
            raise _Refusal(f"has no usable signature: {err}") from None
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise _Refusal(f"{func.__name__} takes *{p.name}; only named parameters are supported")
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as err:
            raise _Refusal(f"cannot call {func.__name__}: {err}") from None
        env: dict[str, Any] = dict(bound.arguments)
        for name, p in sig.parameters.items():
            if name not in env:
                env[name] = self.import_value(p.default, f"the default of parameter {name!r}")
        closure: dict[str, Any] = {}
        for name, cell in zip(code.co_freevars, func.__closure__ or ()):
            try:
                closure[name] = cell.cell_contents
            except ValueError:
                raise _Refusal(f"reads the closure variable {name!r} before it is assigned") from None
        self.depth += 1
        try:
            node = _source_node(func) if self.use_source else None
            origin = "source" if node is not None else "bytecode"
            if not self.origin:
                self.origin = origin
            scope = _Scope(self, func, env, closure)
            if node is not None:
                return _AstInterpreter(scope).run(node)
            return _BytecodeInterpreter(scope).run(code)
        finally:
            self.depth -= 1


class _Scope:
    """Name resolution for one function call: locals, closure, globals, builtins."""

    def __init__(self, tr: _Translator, func: types.FunctionType, env: dict[str, Any], closure: dict[str, Any]) -> None:
        self.tr = tr
        self.func = func
        self.env = env
        self.closure = closure

    def load_local(self, name: str) -> Any:
        if name in self.env:
            return self.env[name]
        raise _Refusal(f"reads the local variable {name!r} before it is assigned")

    def load(self, name: str) -> Any:
        if name in self.env:
            return self.env[name]
        if name in self.closure:
            return self.load_closure(name)
        return self.load_global(name)

    def load_closure(self, name: str) -> Any:
        if name not in self.closure:
            raise _Refusal(f"reads the closure variable {name!r}, which has no value")
        return self.tr.freeze(name, self.closure[name], "the closure variable")

    def load_global(self, name: str) -> Any:
        g = self.func.__globals__
        if name in g:
            return self.tr.freeze(name, g[name], "the global")
        b = g.get("__builtins__", builtins)
        bdict = b.__dict__ if isinstance(b, types.ModuleType) else b
        if name in bdict:
            return bdict[name]
        raise _Refusal(f"uses the undefined name {name!r}")


# ------------------------------------------------------------- numpy table


def _unary_handler(op: str, name: str) -> Callable[..., Any]:
    def h(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
        tr._no_kwargs(name, kwargs)
        (x,) = tr._nargs(name, args, 1)
        return tr.unary(op, x)

    return h


def _binary_handler(kind: str, op: str, name: str) -> Callable[..., Any]:
    def h(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
        tr._no_kwargs(name, kwargs)
        a, b = tr._nargs(name, args, 2)
        for v in (a, b):
            if not isinstance(v, _Arr) and _py_scalar(v) is _NULL:
                raise _Refusal(f"calls {name} with a {type(v).__name__}")
        if kind == "arith":
            return tr.arith(op, a, b)
        if kind == "cmp":
            return tr.compare(op, a, b)
        return tr.logic(op, a, b, strict=kind == "bitwise")

    return h


def _h_positive(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.positive", kwargs)
    (x,) = tr._nargs("np.positive", args, 1)
    if isinstance(x, _Arr) and x.kind == "b":
        raise _Refusal("applies np.positive to a boolean array")
    return x


def _h_logical_not(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.logical_not", kwargs)
    (x,) = tr._nargs("np.logical_not", args, 1)
    return tr.unary("not", x) if isinstance(x, _Arr) else (not x)


def _h_invert(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.invert", kwargs)
    (x,) = tr._nargs("np.invert", args, 1)
    return _Ops.invert(tr, x)


def _h_round(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.round", kwargs, ("decimals",))
    tr._nargs("np.round", args, 1, 2)
    dec = args[1] if len(args) > 1 else kwargs.get("decimals", 0)
    if dec != 0:
        raise _Refusal("rounds to decimals (only decimals=0 is exact)")
    return tr.unary("round", args[0])


def _h_clip(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.clip", kwargs, ("a_min", "a_max", "min", "max", "a"))
    args = list(args)
    x = args.pop(0) if args else kwargs.get("a")
    lo = args.pop(0) if args else kwargs.get("a_min", kwargs.get("min"))
    hi = args.pop(0) if args else kwargs.get("a_max", kwargs.get("max"))
    if args:
        raise _Refusal("calls np.clip with an out= argument")
    return tr.clip(x, lo, hi)


def _h_where(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.where", kwargs)
    if len(args) != 3:
        raise _Refusal("calls np.where with one argument (indices); use np.where(cond, a, b)")
    for v in args:
        if not isinstance(v, _Arr) and _py_scalar(v) is _NULL:
            raise _Refusal(f"calls np.where with a {type(v).__name__}")
    return tr.where(*args)


def _h_nan_to_num(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.nan_to_num", kwargs, ("copy", "nan", "posinf", "neginf", "x"))
    tr._nargs("np.nan_to_num", args, 1, 2)
    x = args[0]
    big = float(np.finfo(np.float64).max)
    vals = {}
    for k, default in (("nan", 0.0), ("posinf", big), ("neginf", -big)):
        v = kwargs.get(k, default)
        v = default if v is None else _py_scalar(v)
        if v is _NULL or isinstance(v, bool):
            raise _Refusal(f"calls np.nan_to_num with a non-numeric {k}=")
        vals[k] = float(v)
    if not isinstance(x, _Arr):
        return float(np.nan_to_num(float(x), nan=vals["nan"], posinf=vals["posinf"], neginf=vals["neginf"]))
    if x.kind != "f":
        return x
    e = x.expr
    r: Expr = Where(Unary("isnan", e), Const(vals["nan"]), e)
    r = Where(Binary("eq", e, Const(math.inf)), Const(vals["posinf"]), r)
    r = Where(Binary("eq", e, Const(-math.inf)), Const(vals["neginf"]), r)
    return tr.arr(r, "f")


def _seq_arg(name: str, args: list[Any], kwargs: dict[str, Any], key: str) -> Any:
    if args:
        return args[0]
    if key in kwargs:
        return kwargs[key]
    raise _Refusal(f"calls {name} without arrays")


def _h_column_stack(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.column_stack", kwargs, ("tup",))
    return tr.stack(_seq_arg("np.column_stack", args, kwargs, "tup"), "np.column_stack")


def _h_hstack(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.hstack", kwargs, ("tup",))
    return tr.stack(_seq_arg("np.hstack", args, kwargs, "tup"), "np.hstack")


def _h_concatenate(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.concatenate", kwargs, ("axis",))
    axis = args[1] if len(args) > 1 else kwargs.get("axis", 0)
    if axis not in (1, -1):
        raise _Refusal(f"calls np.concatenate with axis={axis!r}; only axis=1 (columns) is supported")
    return tr.stack(args[0] if args else None, "np.concatenate")


def _h_stack(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.stack", kwargs, ("axis",))
    axis = args[1] if len(args) > 1 else kwargs.get("axis", 0)
    if axis not in (1, -1):
        raise _Refusal(f"calls np.stack with axis={axis!r}; only axis=1 (columns) is supported")
    return tr.stack(args[0] if args else None, "np.stack")


def _h_asarray(tr: _Translator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tr._no_kwargs("np.asarray", kwargs, ("dtype", "copy"))
    tr._nargs("np.asarray", args, 1, 2)
    x = args[0]
    dtype = args[1] if len(args) > 1 else kwargs.get("dtype")
    if not isinstance(x, _Arr):
        raise _Refusal("builds an array from a constant")
    return x if dtype is None else tr.astype(x, dtype)


_UNARY_UFUNCS: dict[Any, str] = {
    np.negative: "neg", np.absolute: "abs", np.fabs: "abs", np.exp: "exp", np.log: "log", np.log2: "log2",
    np.log10: "log10", np.log1p: "log1p", np.expm1: "expm1", np.sqrt: "sqrt", np.square: "square",
    np.reciprocal: "reciprocal", np.sin: "sin", np.cos: "cos", np.tan: "tan", np.tanh: "tanh",
    np.floor: "floor", np.ceil: "ceil", np.trunc: "trunc", np.rint: "round", np.sign: "sign",
    np.isnan: "isnan", np.isinf: "isinf", np.isfinite: "isfinite",
}
_BINARY_UFUNCS: dict[Any, tuple[str, str]] = {
    np.add: ("arith", "add"), np.subtract: ("arith", "sub"), np.multiply: ("arith", "mul"),
    np.true_divide: ("arith", "div"), np.power: ("arith", "pow"), np.remainder: ("arith", "mod"),
    np.fmod: ("arith", "fmod"), np.minimum: ("arith", "min"), np.maximum: ("arith", "max"),
    np.fmin: ("arith", "fmin"), np.fmax: ("arith", "fmax"),
    np.less: ("cmp", "lt"), np.less_equal: ("cmp", "le"), np.greater: ("cmp", "gt"),
    np.greater_equal: ("cmp", "ge"), np.equal: ("cmp", "eq"), np.not_equal: ("cmp", "ne"),
    np.logical_and: ("logical", "and"), np.logical_or: ("logical", "or"), np.logical_xor: ("logical", "xor"),
    np.bitwise_and: ("bitwise", "and"), np.bitwise_or: ("bitwise", "or"), np.bitwise_xor: ("bitwise", "xor"),
}


def _build_numpy_table() -> dict[int, tuple[Any, Callable[..., Any]]]:
    table: dict[int, tuple[Any, Callable[..., Any]]] = {}
    for uf, op in _UNARY_UFUNCS.items():
        table[id(uf)] = (uf, _unary_handler(op, _callable_name(uf)))
    for uf, (kind, op) in _BINARY_UFUNCS.items():
        table[id(uf)] = (uf, _binary_handler(kind, op, _callable_name(uf)))
    others: list[tuple[Any, Callable[..., Any]]] = [
        (np.positive, _h_positive), (np.logical_not, _h_logical_not), (np.invert, _h_invert),
        (np.round, _h_round), (np.around, _h_round), (np.fix, _unary_handler("trunc", "np.fix")),
        (np.clip, _h_clip), (np.where, _h_where), (np.nan_to_num, _h_nan_to_num),
        (np.column_stack, _h_column_stack), (np.hstack, _h_hstack), (np.concatenate, _h_concatenate),
        (np.stack, _h_stack), (np.asarray, _h_asarray), (np.array, _h_asarray), (np.asanyarray, _h_asarray),
    ]
    for f, h in others:
        table[id(f)] = (f, h)
    return table


_NUMPY_BY_ID = _build_numpy_table()
ALLOWED_NUMPY: tuple[str, ...] = tuple(sorted({_callable_name(f) for f, _ in _NUMPY_BY_ID.values()}))
_NP_CONSTANTS: dict[str, Any] = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan,
                                  "euler_gamma": float(np.euler_gamma), "newaxis": None}
_DTYPES: tuple[Any, ...] = (np.float64, np.bool_, np.int64, np.double, np.int_)


def _is_dtype(v: Any) -> bool:
    return any(v is d for d in _DTYPES)


class _Ops:
    """Python operators on abstract values (shared by the AST and bytecode readers)."""

    BIN = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "%": "mod"}
    PY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
          "%": operator.mod, "//": operator.floordiv, "&": operator.and_, "|": operator.or_, "^": operator.xor,
          "<<": operator.lshift, ">>": operator.rshift}
    CMP = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
    PYCMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}

    @staticmethod
    def binop(tr: _Translator, sym: str, a: Any, b: Any) -> Any:
        if not isinstance(a, _Arr) and not isinstance(b, _Arr):
            if isinstance(a, _Method) or isinstance(b, _Method):
                raise _Refusal("uses a method as a value")
            fn = _Ops.PY.get(sym)
            if fn is None:
                raise _Refusal(f"uses the operator {sym!r}")
            try:
                r = fn(a, b)
            except Exception as err:
                raise _Refusal(f"computes {a!r} {sym} {b!r} on constants, which fails: {err}") from None
            if isinstance(r, (list, dict, set)):
                raise _Refusal("builds a mutable value from constants")
            return r
        for v in (a, b):
            if not isinstance(v, _Arr) and _py_scalar(v) is _NULL:
                raise _Refusal(f"combines an array with a {type(v).__name__} using {sym!r}")
            if isinstance(v, _Arr):
                continue
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**63:
                raise _Refusal(f"uses the integer {v}, too large for numpy")
        if sym in _Ops.BIN:
            return tr.arith(_Ops.BIN[sym], a, b)
        if sym in ("&", "|", "^"):
            return tr.logic({"&": "and", "|": "or", "^": "xor"}[sym], a, b, strict=True)
        if sym == "//":
            raise _Refusal("uses floor division '//' on arrays, which is not supported; use np.floor(a / b)")
        if sym == "@":
            raise _Refusal("uses matrix multiplication '@'")
        raise _Refusal(f"uses the operator {sym!r} on arrays")

    @staticmethod
    def compare(tr: _Translator, sym: str, a: Any, b: Any) -> Any:
        if sym not in _Ops.CMP:
            raise _Refusal(f"uses '{sym}' (identity or membership test)")
        if not isinstance(a, _Arr) and not isinstance(b, _Arr):
            try:
                return _Ops.PYCMP[sym](a, b)
            except Exception as err:
                raise _Refusal(f"compares constants, which fails: {err}") from None
        for v in (a, b):
            if not isinstance(v, _Arr) and _py_scalar(v) is _NULL:
                raise _Refusal(f"compares an array with a {type(v).__name__}")
        return tr.compare(_Ops.CMP[sym], a, b)

    @staticmethod
    def neg(tr: _Translator, a: Any) -> Any:
        if isinstance(a, _Arr):
            if a.kind == "b":
                raise _Refusal("negates a boolean array (numpy raises); use ~ or np.logical_not")
            return tr.unary("neg", a)
        if _py_scalar(a) is _NULL:
            raise _Refusal(f"negates a {type(a).__name__}")
        return -a

    @staticmethod
    def pos(tr: _Translator, a: Any) -> Any:
        if isinstance(a, _Arr) and a.kind == "b":
            raise _Refusal("applies unary + to a boolean array")
        if not isinstance(a, _Arr) and _py_scalar(a) is _NULL:
            raise _Refusal(f"applies unary + to a {type(a).__name__}")
        return a if isinstance(a, _Arr) else +a

    @staticmethod
    def invert(tr: _Translator, a: Any) -> Any:
        if isinstance(a, _Arr):
            if a.kind != "b":
                raise _Refusal("uses '~' on a non-boolean array (a bitwise operation)")
            return tr.arr(Unary("not", a.expr), "b")
        if isinstance(a, (bool, int)):
            return ~a
        raise _Refusal(f"uses '~' on a {type(a).__name__}")


# ------------------------------------------------------------------ source


def _norm_consts(code: types.CodeType) -> tuple[Any, ...]:
    return tuple(("<code>", c.co_code, _norm_consts(c)) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
                 for c in code.co_consts)


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    return (a.co_code == b.co_code and a.co_names == b.co_names and a.co_varnames == b.co_varnames
            and a.co_freevars == b.co_freevars and _norm_consts(a) == _norm_consts(b))


def _find_code(code: types.CodeType, name: str) -> list[types.CodeType]:
    out = []
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            if c.co_name == name:
                out.append(c)
            out.extend(_find_code(c, name))
    return out


def _module_imports(tree: ast.Module) -> list[ast.stmt]:
    """The module-level import statements (CPython 3.11 compiles ``mod.f()`` differently
    when ``mod`` is an imported name, so the comparison needs them)."""
    out: list[ast.stmt] = []
    todo: list[ast.AST] = [tree]
    while todo:
        n = todo.pop()
        for child in ast.iter_child_nodes(n):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append(child)
            elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.expr)):
                todo.append(child)
    return out


def _compiles_to(node: ast.AST, code: types.CodeType, imports: list[ast.stmt]) -> bool:
    """Does ``node`` (a Lambda or FunctionDef) compile to ``code``? Compiled inside a
    wrapper that declares the closure's free variables, so the loads match."""
    import copy

    inner: list[ast.stmt]
    if isinstance(node, ast.Lambda):
        inner = [ast.Return(value=copy.deepcopy(node))]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        fn = copy.deepcopy(node)
        fn.decorator_list = []
        inner = [fn, ast.Return(value=ast.Name(id=fn.name, ctx=ast.Load()))]
    else:
        return False
    cells: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())], value=ast.Constant(None))
                             for v in code.co_freevars]
    wrapper = ast.FunctionDef(
        name="__mlexport_wrapper__",
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=cells + inner, decorator_list=[], returns=None,
    )
    if sys.version_info >= (3, 12):
        wrapper.type_params = []  # type: ignore[attr-defined]
    module = ast.Module(body=[*imports, wrapper], type_ignores=[])
    ast.fix_missing_locations(module)
    try:
        compiled = compile(module, code.co_filename, "exec")
    except (SyntaxError, ValueError, TypeError):
        return False
    return any(_same_code(c, code) for c in _find_code(compiled, code.co_name))


@functools.lru_cache(maxsize=16)
def _parse(text: str) -> ast.Module | None:
    """Parsed module source (cached: a file is read once per export, not once per step)."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _source_node(func: types.FunctionType) -> ast.AST | None:
    """The Lambda/FunctionDef node of ``func``'s source if it matches its bytecode, else None."""
    code = func.__code__
    try:
        lines, _ = inspect.findsource(code)
    except (OSError, TypeError, IndexError):
        return None
    tree = _parse("".join(lines))
    if tree is None:
        return None
    first = code.co_firstlineno
    cands: list[ast.AST] = []
    for node in ast.walk(tree):
        if code.co_name == "<lambda>":
            if isinstance(node, ast.Lambda) and node.lineno == first:
                cands.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            if start == first or node.lineno == first:
                cands.append(node)
    imports = _module_imports(tree) if cands else []
    for node in cands:
        if _compiles_to(node, code, imports):
            return node
    return None


def _assigned_names(node: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
    return names


_AST_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.Mod: "%",
               ast.FloorDiv: "//", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.MatMult: "@",
               ast.LShift: "<<", ast.RShift: ">>"}
_AST_CMPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
             ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


class _AstInterpreter:
    def __init__(self, scope: _Scope) -> None:
        self.s = scope
        self.tr = scope.tr
        self.locals: set[str] = set()

    def run(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Lambda):
            return self.ev(node.body)
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        self.locals = _assigned_names(node) | set(self.s.env)
        body = node.body
        for i, stmt in enumerate(body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                continue  # docstring
            if isinstance(stmt, ast.Return):
                if stmt.value is None:
                    raise _Refusal("returns None")
                return self.ev(stmt.value)
            self.stmt(stmt)
        raise _Refusal("returns None (no return statement)")

    def stmt(self, st: ast.stmt) -> None:
        if isinstance(st, ast.Assign):
            value = self.ev(st.value)
            for t in st.targets:
                self.assign(t, value)
        elif isinstance(st, ast.AnnAssign):
            if st.value is not None:
                self.assign(st.target, self.ev(st.value))
        elif isinstance(st, ast.Expr):
            self.ev(st.value)
        elif isinstance(st, ast.Pass):
            pass
        elif isinstance(st, (ast.For, ast.While, ast.AsyncFor)):
            raise _Refusal("uses a loop (for/while); only straight-line code can be translated", "use vectorised numpy operations")
        elif isinstance(st, ast.If):
            raise _Refusal("uses an if statement (data-dependent control flow)", "use np.where(cond, a, b)")
        elif isinstance(st, ast.AugAssign):
            raise _Refusal("uses an in-place update (augmented assignment may modify the input array)", "write y = y + 1 instead of y += 1")
        elif isinstance(st, (ast.With, ast.AsyncWith)):
            for item in st.items:
                self.ev(item.context_expr)
            raise _Refusal("uses a with block (I/O or context state)")
        elif isinstance(st, (ast.Import, ast.ImportFrom)):
            raise _Refusal("imports a module inside the function")
        elif isinstance(st, (ast.Global, ast.Nonlocal)):
            raise _Refusal("declares global/nonlocal variables (mutable state)")
        elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            raise _Refusal("defines a nested function or class")
        elif isinstance(st, ast.Try):
            raise _Refusal("uses try/except (data-dependent control flow)")
        elif isinstance(st, (ast.Raise, ast.Assert)):
            raise _Refusal("raises or asserts (data-dependent control flow)")
        elif isinstance(st, ast.Delete):
            raise _Refusal("deletes names or items")
        else:
            raise _Refusal(f"uses a {type(st).__name__} statement")

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.s.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if not isinstance(value, (tuple, list)) or len(value) != len(target.elts):
                raise _Refusal("unpacks a value that is not a sequence of matching length")
            for t, v in zip(target.elts, value):
                self.assign(t, v)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            raise _Refusal("assigns into an array or attribute (in-place mutation)")
        else:
            raise _Refusal(f"assigns to a {type(target).__name__}")

    def name(self, n: str) -> Any:
        if n in self.s.env:
            return self.s.env[n]
        if n in self.locals:
            raise _Refusal(f"reads the local variable {n!r} before it is assigned")
        return self.s.load(n)

    def ev(self, n: ast.expr) -> Any:  # noqa: C901 - one dispatch over node types
        tr = self.tr
        if isinstance(n, ast.Constant):
            v = n.value
            if v is None or v is Ellipsis or isinstance(v, (bool, int, float, str)):
                return v
            raise _Refusal(f"uses the constant {v!r}")
        if isinstance(n, ast.Name):
            return self.name(n.id)
        if isinstance(n, ast.Attribute):
            return tr.getattr(self.ev(n.value), n.attr)
        if isinstance(n, ast.Subscript):
            return tr.subscript(self.ev(n.value), self.ev_index(n.slice))
        if isinstance(n, ast.Call):
            f = self.ev(n.func)
            args = []
            for a in n.args:
                if isinstance(a, ast.Starred):
                    raise _Refusal("calls with *args")
                args.append(self.ev(a))
            kwargs = {}
            for k in n.keywords:
                if k.arg is None:
                    raise _Refusal("calls with **kwargs")
                kwargs[k.arg] = self.ev(k.value)
            return tr.call(f, args, kwargs)
        if isinstance(n, ast.BinOp):
            return _Ops.binop(tr, _AST_BINOPS[type(n.op)], self.ev(n.left), self.ev(n.right))
        if isinstance(n, ast.UnaryOp):
            v = self.ev(n.operand)
            if isinstance(n.op, ast.USub):
                return _Ops.neg(tr, v)
            if isinstance(n.op, ast.UAdd):
                return _Ops.pos(tr, v)
            if isinstance(n.op, ast.Invert):
                return _Ops.invert(tr, v)
            if isinstance(v, _Arr):
                raise _Refusal("uses 'not' on an array (numpy raises); use ~ or np.logical_not")
            return not v
        if isinstance(n, ast.Compare):
            if len(n.ops) != 1:
                raise _Refusal("uses a chained comparison like 0 < x < 5 (numpy raises); use (0 < x) & (x < 5)")
            return _Ops.compare(tr, _AST_CMPS[type(n.ops[0])], self.ev(n.left), self.ev(n.comparators[0]))
        if isinstance(n, ast.BoolOp):
            raise _Refusal("uses 'and'/'or', which need one truth value (numpy raises for arrays)", "use & and | between comparisons")
        if isinstance(n, ast.IfExp):
            raise _Refusal("uses a conditional expression (a if c else b)", "use np.where(c, a, b)")
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            raise _Refusal("uses a comprehension (a loop); only straight-line code can be translated")
        if isinstance(n, ast.Lambda):
            raise _Refusal("defines a nested lambda")
        if isinstance(n, ast.Tuple):
            return tuple(self.ev_elts(n.elts))
        if isinstance(n, ast.List):
            return list(self.ev_elts(n.elts))
        if isinstance(n, ast.NamedExpr):
            v = self.ev(n.value)
            self.s.env[n.target.id] = v
            return v
        if isinstance(n, ast.Slice):
            return self.ev_index(n)
        raise _Refusal(f"uses a {type(n).__name__} expression")

    def ev_elts(self, elts: list[ast.expr]) -> list[Any]:
        out = []
        for e in elts:
            if isinstance(e, ast.Starred):
                raise _Refusal("unpacks with * in a sequence")
            out.append(self.ev(e))
        return out

    def ev_index(self, n: ast.expr) -> Any:
        if isinstance(n, ast.Slice):
            parts = [None if p is None else self.ev(p) for p in (n.lower, n.upper, n.step)]
            for p in parts:
                if p is not None and not isinstance(p, int):
                    raise _Refusal("slices with a bound that is not an integer constant")
            return slice(*parts)
        if isinstance(n, ast.Tuple):
            return tuple(self.ev_index(e) for e in n.elts)
        return self.ev(n)


# ---------------------------------------------------------------- bytecode


class _BytecodeInterpreter:
    """Symbolic execution of straight-line CPython bytecode (3.10 to 3.13)."""

    LOOP_OPS = {"FOR_ITER", "GET_ITER", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_ABSOLUTE", "GET_AITER",
                "END_FOR", "SETUP_LOOP"}
    NOOPS = {"RESUME", "NOP", "CACHE", "EXTENDED_ARG", "PRECALL", "COPY_FREE_VARS", "MAKE_CELL", "NOT_TAKEN",
             "RESUME_CHECK"}

    def __init__(self, scope: _Scope) -> None:
        self.s = scope
        self.tr = scope.tr

    def run(self, code: types.CodeType) -> Any:
        import dis

        instrs = [i for i in dis.get_instructions(code) if i.opname not in self.NOOPS]
        names = {i.opname for i in instrs}
        if names & self.LOOP_OPS:
            raise _Refusal("uses a loop (for/while) or a comprehension; only straight-line code can be translated",
                           "use vectorised numpy operations")
        branch = sorted(n for n in names if "JUMP" in n or n in ("SEND", "TO_BOOL"))
        if branch:
            raise _Refusal("uses control flow (if/else, and/or, a conditional expression or a chained comparison)",
                           "use np.where(cond, a, b) and & |")
        stack: list[Any] = []
        kwnames: tuple[str, ...] = ()
        for ins in instrs:
            op, arg, val = ins.opname, ins.arg, ins.argval
            if op in ("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW"):
                stack.append(self.s.load_local(val))
            elif op in ("LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW_LOAD_FAST_BORROW"):
                for n in val:
                    stack.append(self.s.load_local(n))
            elif op == "STORE_FAST":
                self.s.env[val] = stack.pop()
            elif op == "STORE_FAST_STORE_FAST":
                for n in val:
                    self.s.env[n] = stack.pop()
            elif op == "STORE_FAST_LOAD_FAST":
                self.s.env[val[0]] = stack.pop()
                stack.append(self.s.load_local(val[1]))
            elif op in ("LOAD_CONST", "LOAD_SMALL_INT", "RETURN_CONST"):
                if isinstance(val, types.CodeType):
                    what = "a comprehension" if "comp" in val.co_name or val.co_name == "<genexpr>" else "a nested function"
                    raise _Refusal(f"defines {what}")
                if op == "RETURN_CONST":
                    raise _Refusal("returns a constant" if val is not None else "returns None")
                stack.append(self._const(val))
            elif op == "LOAD_GLOBAL":
                v = self.s.load_global(val)
                if sys.version_info >= (3, 11) and arg is not None and arg & 1:
                    self._push_null_and(stack, v)
                else:
                    stack.append(v)
            elif op in ("LOAD_DEREF", "LOAD_CLOSURE"):
                stack.append(self.s.load(val))
            elif op == "LOAD_METHOD":
                obj = stack.pop()
                stack.append(_NULL)
                stack.append(self.tr.getattr(obj, val))
            elif op == "LOAD_ATTR":
                obj = stack.pop()
                v = self.tr.getattr(obj, val)
                if sys.version_info >= (3, 12) and arg is not None and arg & 1:
                    self._push_null_and(stack, v)
                else:
                    stack.append(v)
            elif op == "PUSH_NULL":
                stack.append(_NULL)
            elif op == "KW_NAMES":
                kwnames = tuple(val) if isinstance(val, tuple) else tuple(code.co_consts[int(arg or 0)])
            elif op in ("CALL", "CALL_FUNCTION", "CALL_METHOD", "CALL_KW", "CALL_FUNCTION_KW"):
                if op in ("CALL_KW", "CALL_FUNCTION_KW"):
                    kwnames = tuple(stack.pop())
                n = int(arg or 0)
                args = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
                if op == "CALL_FUNCTION" or op == "CALL_FUNCTION_KW":
                    f = stack.pop()
                else:
                    b, a = stack.pop(), stack.pop()
                    if a is _NULL:
                        f = b
                    elif b is _NULL:
                        f = a
                    else:  # pragma: no cover - symbolic methods are never pushed as (meth, self)
                        f, args = a, [b, *args]
                nk = len(kwnames)
                kwargs = dict(zip(kwnames, args[len(args) - nk:])) if nk else {}
                pos = args[: len(args) - nk] if nk else args
                kwnames = ()
                stack.append(self.tr.call(f, list(pos), kwargs))
            elif op == "CALL_FUNCTION_EX":
                raise _Refusal("calls with *args or **kwargs")
            elif op == "BINARY_OP":
                b, a = stack.pop(), stack.pop()
                sym = ins.argrepr
                if sym.endswith("=") and sym not in ("==", "!=", "<=", ">="):
                    raise _Refusal("uses an in-place update (augmented assignment may modify the input array)",
                                   "write y = y + 1 instead of y += 1")
                if sym == "[]":
                    stack.append(self.tr.subscript(a, b))
                else:
                    stack.append(_Ops.binop(self.tr, sym, a, b))
            elif op.startswith("BINARY_") and op in _PY310_BINOPS:
                b, a = stack.pop(), stack.pop()
                stack.append(_Ops.binop(self.tr, _PY310_BINOPS[op], a, b))
            elif op.startswith("INPLACE_"):
                raise _Refusal("uses an in-place update (augmented assignment may modify the input array)")
            elif op == "COMPARE_OP":
                b, a = stack.pop(), stack.pop()
                sym = str(val if isinstance(val, str) else ins.argrepr).replace("bool(", "").rstrip(")")
                stack.append(_Ops.compare(self.tr, sym, a, b))
            elif op in ("IS_OP", "CONTAINS_OP"):
                raise _Refusal("uses 'is' or 'in' (identity or membership test)")
            elif op == "UNARY_NEGATIVE":
                stack.append(_Ops.neg(self.tr, stack.pop()))
            elif op == "UNARY_POSITIVE":
                stack.append(_Ops.pos(self.tr, stack.pop()))
            elif op == "UNARY_INVERT":
                stack.append(_Ops.invert(self.tr, stack.pop()))
            elif op == "UNARY_NOT":
                raise _Refusal("uses 'not' on an array (numpy raises); use ~ or np.logical_not")
            elif op == "CALL_INTRINSIC_1":
                if ins.argrepr == "INTRINSIC_UNARY_POSITIVE":
                    stack.append(_Ops.pos(self.tr, stack.pop()))
                elif ins.argrepr == "INTRINSIC_LIST_TO_TUPLE":
                    stack.append(tuple(stack.pop()))
                else:
                    raise _Refusal(f"uses the bytecode intrinsic {ins.argrepr}")
            elif op == "BINARY_SUBSCR":
                idx, obj = stack.pop(), stack.pop()
                stack.append(self.tr.subscript(obj, idx))
            elif op == "BINARY_SLICE":
                end, start, obj = stack.pop(), stack.pop(), stack.pop()
                stack.append(self.tr.subscript(obj, slice(start, end)))
            elif op == "BUILD_SLICE":
                parts = [stack.pop() for _ in range(int(arg or 0))][::-1]
                for p in parts:
                    if p is not None and not isinstance(p, int):
                        raise _Refusal("slices with a bound that is not an integer constant")
                stack.append(slice(*parts))
            elif op in ("BUILD_TUPLE", "BUILD_LIST"):
                n = int(arg or 0)
                items = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
                stack.append(tuple(items) if op == "BUILD_TUPLE" else list(items))
            elif op == "LIST_EXTEND":
                seq = stack.pop()
                target = stack[-int(arg or 1)]
                if not isinstance(target, list) or not isinstance(seq, (tuple, list)):
                    raise _Refusal("extends a sequence with a non-sequence")
                target.extend(seq)
            elif op == "UNPACK_SEQUENCE":
                seq = stack.pop()
                if not isinstance(seq, (tuple, list)) or len(seq) != int(arg or 0):
                    raise _Refusal("unpacks a value that is not a sequence of matching length")
                stack.extend(reversed(seq))
            elif op == "POP_TOP":
                stack.pop()
            elif op == "COPY":
                stack.append(stack[-int(arg or 1)])
            elif op == "SWAP":
                i = int(arg or 2)
                stack[-1], stack[-i] = stack[-i], stack[-1]
            elif op == "ROT_TWO":
                stack[-1], stack[-2] = stack[-2], stack[-1]
            elif op == "DUP_TOP":
                stack.append(stack[-1])
            elif op == "RETURN_VALUE":
                return stack.pop()
            elif op in ("IMPORT_NAME", "IMPORT_FROM"):
                raise _Refusal("imports a module inside the function")
            elif op in ("STORE_GLOBAL", "STORE_ATTR", "STORE_SUBSCR", "STORE_SLICE", "STORE_DEREF", "DELETE_FAST",
                        "DELETE_GLOBAL", "DELETE_SUBSCR", "DELETE_ATTR", "DELETE_DEREF"):
                raise _Refusal("assigns into an array, attribute or global (mutation)")
            elif op in ("BEFORE_WITH", "SETUP_WITH", "SETUP_FINALLY", "PUSH_EXC_INFO", "LOAD_ASSERTION_ERROR",
                        "RAISE_VARARGS", "RERAISE"):
                raise _Refusal("uses with/try/raise/assert")
            elif op in ("MAKE_FUNCTION", "BUILD_MAP", "BUILD_CONST_KEY_MAP", "BUILD_SET", "FORMAT_VALUE",
                        "BUILD_STRING", "FORMAT_SIMPLE", "YIELD_VALUE", "GET_AWAITABLE"):
                raise _Refusal(f"uses a construct the translator does not support ({op})")
            else:
                raise _Refusal(f"uses the bytecode operation {op}, which the translator does not support")
        raise _Refusal("returns None")  # pragma: no cover

    def _const(self, v: Any) -> Any:
        if v is None or v is Ellipsis or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, tuple):
            return tuple(self._const(x) for x in v)
        if isinstance(v, slice):
            return v
        if isinstance(v, frozenset):
            raise _Refusal("uses a set constant")
        raise _Refusal(f"uses the constant {v!r}")

    @staticmethod
    def _push_null_and(stack: list[Any], v: Any) -> None:
        if sys.version_info >= (3, 13):
            stack.extend([v, _NULL])
        else:
            stack.extend([_NULL, v])


_PY310_BINOPS = {"BINARY_ADD": "+", "BINARY_SUBTRACT": "-", "BINARY_MULTIPLY": "*", "BINARY_TRUE_DIVIDE": "/",
                 "BINARY_POWER": "**", "BINARY_MODULO": "%", "BINARY_FLOOR_DIVIDE": "//", "BINARY_AND": "&",
                 "BINARY_OR": "|", "BINARY_XOR": "^", "BINARY_MATRIX_MULTIPLY": "@", "BINARY_LSHIFT": "<<",
                 "BINARY_RSHIFT": ">>"}


# -------------------------------------------------------------- public API


def _func_name(func: Any) -> str:
    if func is None:
        return "identity"
    if isinstance(func, types.FunctionType):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"partial({_func_name(func.func)})"
    return _callable_name(func)


def translate(ft: Any, *, use_source: bool = True) -> ExprProgram:
    """Translate a ``FunctionTransformer``'s ``func`` (with its ``kw_args``) into an :class:`ExprProgram`.

    Raises ``UnsupportedStepError`` (cls ``FunctionTransformer``) with the reason
    when the function cannot be proven pure and expressible. ``use_source=False``
    skips the source and reads the bytecode (what happens when no source exists).
    ``inverse_func``, ``validate`` and ``feature_names_out`` play no part."""
    from sklearn.preprocessing import FunctionTransformer

    if not isinstance(ft, FunctionTransformer):
        raise BadInputError(f"translate expects a FunctionTransformer. Got {type(ft).__name__} instead.")
    n_in = getattr(ft, "n_features_in_", None)
    n_in = int(n_in) if n_in is not None else None
    func = ft.func
    name = _func_name(func)
    tr = _Translator(n_in, use_source)
    try:
        if func is None:
            result: Any = tr.arr(Input(), "f")
            tr.origin = "identity"
        else:
            kw = ft.kw_args or {}
            if not isinstance(kw, dict):
                raise _Refusal(f"kw_args is a {type(kw).__name__}, not a dict")
            kwargs = {str(k): tr.import_value(v, f"kw_args[{k!r}]") for k, v in kw.items()}
            result = tr.call(func, [tr.arr(Input(), "f")], kwargs)
            if not tr.origin:
                tr.origin = "numpy"
        if not isinstance(result, _Arr):
            raise _Refusal(f"returns a {type(result).__name__} that does not depend on the input")
        if result.info.rank != 2:
            raise _Refusal("returns a 1-D array (downstream steps need 2-D)", "select columns with x[:, [i]] or use np.column_stack")
        program = ExprProgram(result.expr, n_in, tuple(sorted(tr.frozen.items())), name, tr.origin)
        check(program)
        return program
    except _Refusal as r:
        raise UnsupportedStepError("", "FunctionTransformer", f"function {name!r} {r.reason}", r.hint or DEFAULT_HINT) from None
    except (RecursionError, BadInputError) as err:
        raise UnsupportedStepError("", "FunctionTransformer", f"function {name!r} could not be analysed: {err}", DEFAULT_HINT) from None
    except Exception as err:  # never leak a raw error from analysing user code
        raise UnsupportedStepError("", "FunctionTransformer",
                                   f"function {name!r} could not be analysed ({type(err).__name__}: {err})", DEFAULT_HINT) from None


def supports(ft: Any) -> str | None:
    """None when :func:`translate` accepts ``ft``, else the reason it refuses."""
    try:
        translate(ft)
    except UnsupportedStepError as err:
        return err.reason
    return None


__all__ = [
    "ALLOWED_NUMPY", "FORMAT", "VERSION", "Binary", "Clip", "Col", "Cols", "Concat", "Const", "ExprProgram", "Info",
    "Input", "Unary", "Where", "check", "evaluate", "from_dict", "infer", "node_from_dict", "node_to_dict",
    "per_column", "supports", "to_dict", "translate",
]
