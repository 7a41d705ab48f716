"""ONNX converter for ``FunctionTransformer``: emits the :mod:`mlexport.expr` IR in float64.

Input: one double tensor ``[N, F]`` (several inputs are concatenated first).
Output: one double tensor ``[N, n_features_out]``; a boolean result is cast to
1.0 / 0.0, as sklearn's downstream steps do with a bool array.

Every IR operator keeps numpy's NaN/inf behaviour, not ONNX's defaults:

* ``min``/``max`` propagate NaN (np.minimum/np.maximum), ``fmin``/``fmax`` ignore
  it: both are written with ``IsNaN`` + ``Where`` around ``Min``/``Max``;
* ``sign(NaN)`` is NaN; ``clip`` keeps NaN and gives ``hi`` when ``lo > hi``;
* ``mod`` is numpy's floored remainder, built from ``Mod(fmod=1)`` (C ``fmod``)
  plus the sign correction numpy applies; ``fmod`` is ``Mod(fmod=1)``;
* ``log1p`` and ``expm1`` have no ONNX operator: they use the classic
  accurate forms ``log(u) * (x / (u - 1))`` with ``u = 1 + x`` (Goldberg) and
  ``(u - 1) * (x / log(u))`` with ``u = exp(x)`` (Kahan), exact at 0, ``-1``,
  +-inf and NaN and within a few ulps elsewhere; ``log2``/``log10`` divide by
  the float64 ``log(2)``/``log(10)`` (a few ulps);
* ``tan`` is refused (:data:`UNSUPPORTED_OPS`): onnxruntime has no float64
  ``Tan`` and ``Sin/Cos`` loses all relative precision near odd multiples of pi/2;
* ``Log``, ``Sqrt`` and ``Pow`` already give NaN for negative arguments as numpy
  does; ``pow(x, 0.5)`` never occurs (the IR writes ``sqrt``, as numpy computes it).

Passed per call to ``convert_sklearn`` through :func:`custom_converters`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import expr as E
from ..errors import UnsupportedStepError
from .onnx_ops import _const, _node

_ONNX_UNARY = {"neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sin": "Sin", "cos": "Cos",
               "tanh": "Tanh", "floor": "Floor", "ceil": "Ceil", "round": "Round", "isnan": "IsNaN",
               "isinf": "IsInf", "not": "Not"}
_ONNX_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "lt": "Less",
                "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual", "eq": "Equal", "and": "And",
                "or": "Or", "xor": "Xor"}


# IR operators this emitter cannot reproduce faithfully in float64.
UNSUPPORTED_OPS = {
    "tan": "np.tan has no float64 Tan kernel in onnxruntime, and sin/cos is off by orders of magnitude near pi/2",
}


def _ops_in(e: E.Expr, seen: set[int] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if id(e) in seen:
        return set()
    seen.add(id(e))
    ops = {getattr(e, "op", "")}
    for child in (getattr(e, n, None) for n in ("x", "a", "b", "cond")):
        if child is not None:
            ops |= _ops_in(child, seen)
    for p in getattr(e, "parts", ()):
        ops |= _ops_in(p, seen)
    return ops


def _unsupported(prog: E.ExprProgram) -> str | None:
    for op in sorted(_ops_in(prog.output) & set(UNSUPPORTED_OPS)):
        return f"function {prog.function!r}: {UNSUPPORTED_OPS[op]}"
    return None


def supports(ft: Any) -> str | None:
    """None when ``ft`` (a FunctionTransformer) converts, else the reason it does not."""
    try:
        prog = E.translate(ft)
    except UnsupportedStepError as err:
        return err.reason
    return _unsupported(prog)


def _program(operator: Any) -> E.ExprProgram:
    prog = E.translate(operator.raw_operator)
    reason = _unsupported(prog)
    if reason:
        raise UnsupportedStepError("", "FunctionTransformer", reason, "use another format for this step")
    return prog


def _width_in(operator: Any) -> int | None:
    total = 0
    for v in operator.inputs:
        shape = getattr(v.type, "shape", None)
        if not shape or len(shape) != 2 or not isinstance(shape[1], int):
            return None
        total += shape[1]
    return total


def _shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    prog = _program(operator)
    width = prog.n_features_out
    if width is None:  # whole-input expression of an unfitted transformer: as wide as the input
        width = _width_in(operator)
    operator.outputs[0].type = DoubleTensorType([operator.inputs[0].get_first_dimension(), width])


class _Emitter:
    def __init__(self, scope: Any, container: Any, x: str, n_features: int | None) -> None:
        self.scope, self.container, self.x, self.F = scope, container, x, n_features
        self.memo: dict[int, tuple[Any, str]] = {}
        self.infos: dict[int, tuple[Any, E.Info]] = {}
        self.consts: dict[tuple[str, str], str] = {}

    # ---- small helpers
    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        return _node(self.scope, self.container, op, inputs, output, **attrs)

    def num(self, v: float) -> str:
        from onnx import TensorProto

        key = ("d", repr(float(v)))
        if key not in self.consts:
            self.consts[key] = _const(self.scope, self.container, "c", np.array(float(v), dtype=np.float64), TensorProto.DOUBLE)
        return self.consts[key]

    def flag(self, v: bool) -> str:
        from onnx import TensorProto

        key = ("b", repr(bool(v)))
        if key not in self.consts:
            self.consts[key] = _const(self.scope, self.container, "cb", np.array(bool(v)), TensorProto.BOOL)
        return self.consts[key]

    def ints(self, name: str, v: list[int] | int) -> str:
        from onnx import TensorProto

        key = ("i", repr(v))
        if key not in self.consts:
            self.consts[key] = _const(self.scope, self.container, name, np.array(v, dtype=np.int64), TensorProto.INT64)
        return self.consts[key]

    def info(self, e: E.Expr) -> E.Info:
        return E.infer(e, self.F, self.infos)

    def where(self, c: str, a: str, b: str) -> str:
        return self.node("Where", [c, a, b])

    def isnan(self, a: str) -> str:
        return self.node("IsNaN", [a])

    def may_be_nan(self, e: E.Expr) -> bool:
        return not (isinstance(e, E.Const) and not (isinstance(e.value, float) and math.isnan(e.value)))

    # ---- emission
    def emit(self, e: E.Expr) -> str:
        got = self.memo.get(id(e))
        if got is not None and got[0] is e:
            return got[1]
        name = self._emit(e)
        self.memo[id(e)] = (e, name)
        return name

    def _emit(self, e: E.Expr) -> str:
        if isinstance(e, E.Input):
            return self.x
        if isinstance(e, E.Col):
            return self.node("Gather", [self.x, self.ints("col", e.index)], axis=1)
        if isinstance(e, E.Cols):
            return self.node("Gather", [self.x, self.ints("cols", list(e.indices))], axis=1)
        if isinstance(e, E.Const):
            return self.flag(bool(e.value)) if e.dtype == "bool" else self.num(float(e.value))
        if isinstance(e, E.Unary):
            return self.unary(e.op, self.emit(e.x))
        if isinstance(e, E.Binary):
            return self.binary(e, self.emit(e.a), self.emit(e.b))
        if isinstance(e, E.Where):
            c, a, b = self.emit(e.cond), self.emit(e.a), self.emit(e.b)
            if self.info(e).dtype == "bool":  # onnxruntime has no bool Where kernel
                return self.node("Or", [self.node("And", [c, a]), self.node("And", [self.node("Not", [c]), b])])
            return self.where(c, a, b)
        if isinstance(e, E.Clip):
            x = self.emit(e.x)
            if e.lo is not None:  # NaN < lo is False: NaN stays NaN
                lo = self.num(e.lo)
                x = self.where(self.node("Less", [x, lo]), lo, x)
            if e.hi is not None:  # applied last, so lo > hi gives hi, as np.clip
                hi = self.num(e.hi)
                x = self.where(self.node("Greater", [x, hi]), hi, x)
            return x
        if isinstance(e, E.Concat):
            parts = []
            for p in e.parts:
                name = self.emit(p)
                if self.info(p).rank == 1:
                    name = self.node("Unsqueeze", [name, self.ints("axis1", [1])])
                parts.append(name)
            return parts[0] if len(parts) == 1 and self.info(e.parts[0]).rank == 2 else self.node("Concat", parts, axis=1)
        raise UnsupportedStepError("", "FunctionTransformer", f"unknown expression node {type(e).__name__}")

    def unary(self, op: str, x: str) -> str:
        from onnx import TensorProto

        if op in _ONNX_UNARY:
            return self.node(_ONNX_UNARY[op], [x])
        if op == "to_float":
            return self.node("Cast", [x], to=TensorProto.DOUBLE)
        if op == "square":
            return self.node("Mul", [x, x])
        if op == "reciprocal":
            return self.node("Div", [self.num(1.0), x])
        if op == "trunc":
            neg = self.node("Less", [x, self.num(0.0)])
            return self.where(neg, self.node("Ceil", [x]), self.node("Floor", [x]))
        if op == "sign":
            return self.where(self.isnan(x), x, self.node("Sign", [x]))
        if op == "isfinite":
            return self.node("Not", [self.node("Or", [self.isnan(x), self.node("IsInf", [x])])])
        if op in ("log2", "log10"):
            return self.node("Div", [self.node("Log", [x]), self.num(math.log(2.0) if op == "log2" else math.log(10.0))])
        if op == "log1p":
            u = self.node("Add", [self.num(1.0), x])
            d = self.node("Sub", [u, self.num(1.0)])
            general = self.node("Mul", [self.node("Log", [u]), self.node("Div", [x, d])])
            r = self.where(self.node("Equal", [d, self.num(0.0)]), x, general)
            return self.where(self.node("Equal", [x, self.num(math.inf)]), x, r)
        if op == "expm1":
            u = self.node("Exp", [x])
            d = self.node("Sub", [u, self.num(1.0)])
            general = self.node("Mul", [d, self.node("Div", [x, self.node("Log", [u])])])
            r = self.where(self.node("Equal", [d, self.num(-1.0)]), self.num(-1.0), general)
            r = self.where(self.node("Equal", [u, self.num(1.0)]), x, r)
            return self.where(self.node("Equal", [u, self.num(math.inf)]), u, r)
        raise UnsupportedStepError("", "FunctionTransformer", f"unary operator {op!r} has no ONNX emitter")

    def binary(self, e: E.Binary, a: str, b: str) -> str:
        op = e.op
        if op in _ONNX_BINARY:
            return self.node(_ONNX_BINARY[op], [a, b])
        if op == "ne":
            return self.node("Not", [self.node("Equal", [a, b])])
        if op in ("min", "max", "fmin", "fmax"):
            r = self.node("Min" if op in ("min", "fmin") else "Max", [a, b])
            # np.minimum/maximum: NaN wins; np.fmin/fmax: the other operand wins
            if self.may_be_nan(e.b):
                r = self.where(self.isnan(b), a if op in ("fmin", "fmax") else b, r)
            if self.may_be_nan(e.a):
                r = self.where(self.isnan(a), b if op in ("fmin", "fmax") else a, r)
            return r
        if op == "fmod":
            return self.node("Mod", [a, b], fmod=1)
        if op == "mod":
            # numpy: m = fmod(a, b); if m != 0 and (b < 0) != (m < 0): m += b; if m == 0: copysign(0, b)
            m = self.node("Mod", [a, b], fmod=1)
            zero = self.num(0.0)
            fix = self.node("Xor", [self.node("Less", [b, zero]), self.node("Less", [m, zero])])
            nonzero = self.node("Not", [self.node("Equal", [m, zero])])
            adjusted = self.where(fix, self.node("Add", [m, b]), m)
            signed_zero = self.where(self.node("Less", [b, zero]), self.num(-0.0), zero)
            return self.where(nonzero, adjusted, signed_zero)
        raise UnsupportedStepError("", "FunctionTransformer", f"binary operator {op!r} has no ONNX emitter")


def _convert(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType
    from skl2onnx.operator_converters.common import concatenate_variables

    prog = _program(operator)
    x = concatenate_variables(scope, operator.inputs, container, main_type=DoubleTensorType)
    em = _Emitter(scope, container, x, prog.n_features_in)
    result = em.emit(prog.output)
    out = operator.outputs[0].full_name
    if prog.dtype == "bool":
        _node(scope, container, "Cast", [result], out, to=TensorProto.DOUBLE)
    else:
        _node(scope, container, "Identity", [result], out)


def custom_converters() -> tuple[dict[type, Any], dict[type, Any]]:
    """``({FunctionTransformer: converter}, {FunctionTransformer: shape calculator})``."""
    from sklearn.preprocessing import FunctionTransformer

    return {FunctionTransformer: _convert}, {FunctionTransformer: _shape}


__all__ = ["custom_converters", "supports"]
