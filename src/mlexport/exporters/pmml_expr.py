"""PMML emitter for the :mod:`mlexport.expr` IR: exact ``DerivedField``s for ``FunctionTransformer``.

How a function reaches the PMML file
------------------------------------
JPMML-SkLearn cannot read a Python function. Before conversion, the PMML
exporter replaces each translatable ``FunctionTransformer`` by a *placeholder*
that the converter does understand: per output column ``j`` an
``Alias(ExpressionTransformer("X[a] + X[b] + ..."), name)`` (``"X[a] * 1.0"``
for one column) over the input columns that output reads, joined by a
``FeatureUnion`` when there are several. The converter wires it like any
transformer: a ``DerivedField`` named ``name`` whose operands are the
expressions for ``X[a]``, ``X[b]``, ... (a ``FieldRef`` to an input or to an
earlier step's field), and every later step refers to it by that name. After
serialization :func:`splice` replaces each placeholder field by the exact
translation below (helper fields first, then the field itself, same name, same
place), reusing the operands the converter wrote for each input column.

Why not the converter's own Python-expression translation: measured on
JPMML-Evaluator (jpmml_evaluator 0.16) and PMML4S (pypmml 1.5.8), a plain translation is not
exact. JPMML refuses a missing argument in every built-in function
("Function "greaterThan" cannot accept missing value") where numpy computes
with NaN, and fails a row whose intermediate result is NaN ("Function "ln"
returned invalid value"); JPMML's ``round``/``floor``/``ceil`` return 32-bit
integers ("Integer overflow" above 2**31); PMML's ``round`` rounds half away
from zero where numpy's ``rint`` rounds half to even. Expressing the guards
below as Python text would repeat every operand, exponentially in the depth.

Value model in the file
-----------------------
A numpy NaN is a PMML *missing* value and the reverse (both evaluators read a
NaN input as missing). Every IR node becomes one ``DerivedField`` of
``dataType="double"``:

* float nodes: missing exactly where numpy gives NaN, otherwise numpy's value.
  An operand that may be missing is guarded with ``if(isNotMissing(a), f(a))``
  (a two-argument ``if`` is missing when its condition is false); an operator
  that can make NaN out of numbers (``ln`` of a negative, ``inf - inf``,
  ``0 * inf``, ``0 / 0``) carries ``invalidValueTreatment="asMissing"``;
* bool nodes: ``1.0`` / ``0.0``, never missing, so comparisons, ``not``,
  ``and``/``or``/``xor`` and ``where`` conditions are plain arithmetic and ``if``
  on known values: ``gt(nan, 1)`` is 0, ``ne(nan, nan)`` is 1, as in numpy. A
  bool output is consumed as 0/1 downstream, as scikit-learn does.

Operators (numpy -> PMML): ``exp log1p expm1 sqrt sin cos tan tanh abs log10``
are PMML 4.4 built-ins; ``log`` is ``ln``; ``log2`` is ``ln(x) / ln(2)`` (a
few ulps); ``round`` is ``rint``; ``floor``/``ceil``/``trunc`` are built from
``rint`` (exact for every double); ``neg`` is ``-1 * x``; ``square`` is
``x * x``; ``reciprocal`` is ``1 / x``; ``sign``, ``clip``, ``where``,
``isnan``, ``isinf``, ``isfinite``, ``fmin``/``fmax`` are ``if`` chains;
``min``/``max`` the PMML functions (NaN if either side is NaN, as
np.minimum); ``pow`` is PMML ``pow`` (Java's ``Math.pow``) plus C's special
cases that Java lacks (``pow(nan, 0) = 1``, ``pow(1, nan) = 1``,
``pow(-1, +-inf) = 1``); ``x / 0`` is ``+-inf`` in both evaluators. An
infinite constant is written as ``1.7976931348623157E308 * 10`` (PMML4S reads
a literal ``INF`` as NaN).

Refused (:data:`UNSUPPORTED_OPS`): ``mod`` and ``fmod``. PMML's ``modulo`` is
``x - y * floor(x / y)``; numpy's remainder is exact (C ``fmod`` plus a sign
correction). On 2,000 random pairs with large quotients both evaluators were
off on 49, by up to 1.5e-5 and once with the wrong sign; C ``fmod`` has no
PMML form at all.

Limits of the evaluators (not of the file): a ``-0.0`` input reaches both
evaluators as ``+0.0`` (so ``1 / x`` gives ``+inf`` where numpy gives
``-inf``); PMML4S reports an infinite *final* prediction as missing; mlexport's
PMML4S runtime cannot send ``+-inf`` inputs (JSON has no infinity). Infinite
intermediate values (``exp(1000)``, ``log(0)``, ``x / 0``) are carried
exactly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from .. import expr as E
from ..errors import ExportError, UnsupportedStepError

MAX_DOUBLE = "1.7976931348623157E308"
INF_XML = f'<Apply function="*"><Constant dataType="double">{MAX_DOUBLE}</Constant><Constant dataType="double">10.0</Constant></Apply>'
NEG_INF_XML = f'<Apply function="*"><Constant dataType="double">-{MAX_DOUBLE}</Constant><Constant dataType="double">10.0</Constant></Apply>'
BIG_XML = f'<Constant dataType="double">{MAX_DOUBLE}</Constant>'  # |x| above it: infinite
MISSING_XML = '<Apply function="if"><Constant dataType="boolean">false</Constant><Constant dataType="double">0.0</Constant></Apply>'

# IR operators with no exact PMML form on JPMML-Evaluator and PMML4S (measured).
UNSUPPORTED_OPS: dict[str, str] = {
    "mod": "np.remainder has no exact PMML form: PMML's modulo (x - y * floor(x / y)) differs from numpy's "
           "exact remainder when x / y is large (measured up to 1.5e-5, sometimes with the wrong sign)",
    "fmod": "np.fmod (C fmod) has no exact PMML form",
}

HINT = ("rewrite it with arithmetic, comparisons, np.where/np.clip and the ufuncs PMML has (exp, log, log1p, sqrt, "
        "abs, ...), or export to ONNX / JSON")


def ops_in(e: E.Expr, seen: set[int] | None = None) -> set[str]:
    """The operator names (``Unary``/``Binary`` ``op``) used anywhere in ``e``."""
    seen = set() if seen is None else seen
    if id(e) in seen:
        return set()
    seen.add(id(e))
    ops = {e.op} if isinstance(e, (E.Unary, E.Binary)) else set()
    for child in (getattr(e, n, None) for n in ("x", "a", "b", "cond")):
        if child is not None:
            ops |= ops_in(child, seen)
    for p in getattr(e, "parts", ()):
        ops |= ops_in(p, seen)
    return ops


def refusal(prog: E.ExprProgram) -> str | None:
    """None when PMML carries ``prog`` exactly, else the reason it does not."""
    if prog.n_features_in is None:
        return (f"function {prog.function!r}: the FunctionTransformer has no n_features_in_ "
                "(fit it on the data it transforms)")
    for op in sorted(ops_in(prog.output) & set(UNSUPPORTED_OPS)):
        return f"function {prog.function!r} in PMML: {UNSUPPORTED_OPS[op]}"
    return None


def program_for(ft: Any) -> E.ExprProgram:
    """The IR of a ``FunctionTransformer`` if PMML can carry it exactly, else ``UnsupportedStepError``
    (the IR's own reason for impure or untranslatable code)."""
    prog = E.translate(ft)
    reason = refusal(prog)
    if reason is not None:
        raise UnsupportedStepError("", "FunctionTransformer", reason, HINT)
    return prog


def supports(ft: Any) -> str | None:
    """None when the PMML exporter carries ``ft`` (a FunctionTransformer), else the reason it does not."""
    try:
        program_for(ft)
    except UnsupportedStepError as err:
        return err.reason
    return None


def input_columns(e: E.Expr, seen: set[int] | None = None) -> set[int]:
    """The input column indices a per-column (``Col``-only) expression reads."""
    seen = set() if seen is None else seen
    if id(e) in seen:
        return set()
    seen.add(id(e))
    if isinstance(e, E.Col):
        return {e.index}
    cols: set[int] = set()
    for child in (getattr(e, n, None) for n in ("x", "a", "b", "cond")):
        if child is not None:
            cols |= input_columns(child, seen)
    return cols


# ------------------------------------------------------------------ placeholders


_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/\[\]()+-]")


def field_name(path: str, function: str) -> str:
    """A readable, XML-safe base name for the fields of one FunctionTransformer."""
    return _UNSAFE.sub("_", f"{path}:{function or 'function'}")


@dataclass(frozen=True)
class FunctionSplice:
    """One translated FunctionTransformer: its per-column IR and the placeholder field names."""

    base: str
    columns: tuple[E.Expr, ...]
    inputs: tuple[tuple[int, ...], ...]  # per output column: the input columns its placeholder reads, in order

    def name(self, j: int) -> str:
        return f"{self.base}[{j}]"


def placeholder(prog: E.ExprProgram, path: str) -> tuple[Any, FunctionSplice]:
    """A fitted sklearn2pmml stand-in for the FunctionTransformer at ``path`` (translated
    into ``prog``) and what :func:`splice` needs to replace it."""
    import numpy as np
    from sklearn.pipeline import FeatureUnion
    from sklearn2pmml.decoration import Alias
    from sklearn2pmml.preprocessing import ExpressionTransformer

    F = int(prog.n_features_in or 0)
    columns = E.per_column(prog)
    base = field_name(path, prog.function)
    splice_inputs: list[tuple[int, ...]] = []
    parts: list[tuple[str, Any]] = []
    for j, col in enumerate(columns):
        used = tuple(sorted(input_columns(col))) or (0,)
        splice_inputs.append(used)
        text = " + ".join(f"X[{i}]" for i in used) if len(used) > 1 else f"X[{used[0]}] * 1.0"
        et = ExpressionTransformer(text)
        et.fit(np.zeros((1, F)))
        parts.append((f"column{j}", Alias(et, f"{base}[{j}]", prefit=True)))
    if len(parts) == 1:
        stand_in: Any = parts[0][1]
    else:
        stand_in = FeatureUnion(parts)
    return stand_in, FunctionSplice(base, tuple(columns), tuple(splice_inputs))


# ------------------------------------------------------------------ emitter


@dataclass(frozen=True)
class _Val:
    xml: str  # an operand: FieldRef, Constant or Apply
    miss: bool  # may be missing (NaN)


def _apply(function: str, *args: str, invalid: bool = False) -> str:
    attr = ' invalidValueTreatment="asMissing"' if invalid else ""
    return f'<Apply function="{function}"{attr}>' + "".join(args) + "</Apply>"


def _num(v: float) -> str:
    return f'<Constant dataType="double">{float(v)!r}</Constant>'


ONE, ZERO = _num(1.0), _num(0.0)


def _const(v: float) -> _Val:
    if math.isnan(v):
        return _Val(MISSING_XML, True)
    if math.isinf(v):
        return _Val(INF_XML if v > 0 else NEG_INF_XML, False)
    return _Val(_num(v), False)


def _bool01(cond: str) -> str:
    return _apply("if", cond, ONE, ZERO)


def _not_missing(vals: list[_Val]) -> str | None:
    conds = [_apply("isNotMissing", v.xml) for v in vals if v.miss]
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else _apply("and", *conds)


# op -> (PMML function or builder, may turn numbers into NaN)
_UNARY_SIMPLE: dict[str, tuple[str, bool]] = {
    "abs": ("abs", False), "exp": ("exp", False), "log": ("ln", True), "log10": ("log10", True),
    "log1p": ("ln1p", True), "expm1": ("expm1", False), "sqrt": ("sqrt", True), "sin": ("sin", True),
    "cos": ("cos", True), "tan": ("tan", True), "tanh": ("tanh", False), "round": ("rint", False),
}
_ARITH: dict[str, str] = {"add": "+", "sub": "-", "mul": "*"}
_CMP: dict[str, str] = {"lt": "lessThan", "le": "lessOrEqual", "gt": "greaterThan", "ge": "greaterOrEqual"}


class Emitter:
    """Turns per-column IR expressions into ``DerivedField`` XML (no namespace, one line each).

    ``inputs[i]`` is the operand XML for input column ``i`` (what the converter wrote for
    ``X[i]``). Shared sub-expressions become one field, referenced by name."""

    def __init__(self, base: str, inputs: dict[int, str]) -> None:
        self.base = base
        self.inputs = inputs
        self.fields: list[str] = []
        self._memo: dict[int, tuple[E.Expr, _Val]] = {}

    def define(self, xml: str, miss: bool) -> _Val:
        name = f"{self.base}/t{len(self.fields)}"
        self.fields.append(f'<DerivedField name="{name}" optype="continuous" dataType="double">{xml}</DerivedField>')
        return _Val(f'<FieldRef field="{name}"/>', miss)

    def guarded(self, vals: list[_Val], xml: str, miss: bool, default: str | None = None) -> _Val:
        """``xml`` where every operand is present; else missing (``default`` None) or ``default``."""
        cond = _not_missing(vals)
        if cond is None:
            return self.define(xml, miss)
        if default is None:
            return self.define(_apply("if", cond, xml), True)
        return self.define(_apply("if", cond, xml, default), miss)

    def value(self, e: E.Expr) -> _Val:
        got = self._memo.get(id(e))
        if got is not None and got[0] is e:
            return got[1]
        v = self._value(e)
        self._memo[id(e)] = (e, v)
        return v

    def _value(self, e: E.Expr) -> _Val:
        if isinstance(e, E.Col):
            return _Val(self.inputs[e.index], True)
        if isinstance(e, E.Const):
            return _const(1.0 if e.value is True else 0.0 if e.value is False else float(e.value))
        if isinstance(e, E.Unary):
            return self.unary(e.op, self.value(e.x))
        if isinstance(e, E.Binary):
            return self.binary(e.op, self.value(e.a), self.value(e.b), E.infer(e.a).dtype)
        if isinstance(e, E.Where):
            c, a, b = self.value(e.cond), self.value(e.a), self.value(e.b)
            return self.define(_apply("if", _apply("equal", c.xml, ONE), a.xml, b.xml), a.miss or b.miss)
        if isinstance(e, E.Clip):
            r = self.value(e.x)
            if e.lo is not None and not (math.isinf(e.lo) and e.lo < 0):
                lo = _const(e.lo).xml
                r = self.guarded([r], _apply("if", _apply("lessThan", r.xml, lo), lo, r.xml), False)
            if e.hi is not None and not (math.isinf(e.hi) and e.hi > 0):
                hi = _const(e.hi).xml
                r = self.guarded([r], _apply("if", _apply("greaterThan", r.xml, hi), hi, r.xml), False)
            return r
        raise ExportError(f"pmml: cannot emit a {type(e).__name__} node per column (mlexport bug)")

    def unary(self, op: str, a: _Val) -> _Val:
        if op == "to_float":
            return a
        if op == "not":
            return self.define(_apply("-", ONE, a.xml), False)
        if op == "isnan":
            return self.define(_bool01(_apply("isMissing", a.xml)), False) if a.miss else _const(0.0)
        if op in ("isinf", "isfinite"):
            big = _apply("greaterThan", _apply("abs", a.xml), BIG_XML)
            inf = (ONE, ZERO) if op == "isinf" else (ZERO, ONE)
            xml = _apply("if", big, *inf)
            return self.guarded([a], xml, False, default=ZERO)
        if op in _UNARY_SIMPLE:
            fn, invalid = _UNARY_SIMPLE[op]
            return self.guarded([a], _apply(fn, a.xml, invalid=invalid), a.miss or invalid)
        if op == "neg":
            return self.guarded([a], _apply("*", _num(-1.0), a.xml), a.miss)
        if op == "square":
            return self.guarded([a], _apply("*", a.xml, a.xml), a.miss)
        if op == "reciprocal":
            return self.binary("div", _const(1.0), a, "float64")
        if op == "log2":
            return self.guarded([a], _apply("/", _apply("ln", a.xml, invalid=True), _num(math.log(2.0))), True)
        if op in ("floor", "ceil", "trunc"):
            r = self.guarded([a], _apply("rint", a.xml), a.miss)
            floor = _apply("if", _apply("greaterThan", r.xml, a.xml), _apply("-", r.xml, ONE), r.xml)
            ceil = _apply("if", _apply("lessThan", r.xml, a.xml), _apply("+", r.xml, ONE), r.xml)
            if op == "floor":
                xml = floor
            elif op == "ceil":
                xml = ceil
            else:
                xml = _apply("if", _apply("lessThan", a.xml, ZERO), ceil, floor)
            return self.guarded([a], xml, a.miss)
        if op == "sign":
            xml = _apply("if", _apply("greaterThan", a.xml, ZERO), ONE,
                         _apply("if", _apply("lessThan", a.xml, ZERO), _num(-1.0), a.xml))
            return self.guarded([a], xml, a.miss)
        raise UnsupportedStepError("", "FunctionTransformer", f"operator {op!r} has no PMML form", HINT)

    def binary(self, op: str, a: _Val, b: _Val, dtype: str) -> _Val:
        if op in _ARITH:
            return self.guarded([a, b], _apply(_ARITH[op], a.xml, b.xml, invalid=True), True)
        if op == "div":  # x / 0 is +-inf in both evaluators, 0 / 0 invalid (missing)
            return self.guarded([a, b], _apply("/", a.xml, b.xml, invalid=True), True)
        if op == "pow":
            return self.power(a, b)
        if op in ("min", "max"):
            return self.guarded([a, b], _apply(op, a.xml, b.xml), a.miss or b.miss)
        if op in ("fmin", "fmax"):
            both = _apply(op[1:], a.xml, b.xml)
            if not (a.miss or b.miss):
                return self.define(both, False)
            xml = both
            if b.miss:
                xml = _apply("if", _apply("isMissing", b.xml), a.xml, xml)
            if a.miss:
                xml = _apply("if", _apply("isMissing", a.xml), b.xml, xml)
            return self.define(xml, a.miss and b.miss)
        if op in _CMP:
            return self.guarded([a, b], _bool01(_apply(_CMP[op], a.xml, b.xml)), False, default=ZERO)
        if op in ("eq", "ne"):
            fn = "equal" if op == "eq" else "notEqual"
            if dtype == "bool":
                return self.define(_bool01(_apply(fn, a.xml, b.xml)), False)
            return self.guarded([a, b], _bool01(_apply(fn, a.xml, b.xml)), False,
                                default=ZERO if op == "eq" else ONE)
        if op == "and":
            return self.define(_apply("*", a.xml, b.xml), False)
        if op == "or":
            return self.define(_apply("max", a.xml, b.xml), False)
        if op == "xor":
            return self.define(_bool01(_apply("notEqual", a.xml, b.xml)), False)
        raise UnsupportedStepError("", "FunctionTransformer", f"operator {op!r} in PMML: {UNSUPPORTED_OPS.get(op, 'no PMML form')}",
                                   HINT)

    def power(self, a: _Val, b: _Val) -> _Val:
        """C ``pow`` (numpy): Java's Math.pow plus pow(x, 0) = 1 and pow(1, y) = 1 for NaN operands
        and pow(-1, +-inf) = 1."""
        one_inf = _apply("and", _apply("equal", _apply("abs", a.xml), ONE),
                         _apply("greaterThan", _apply("abs", b.xml), BIG_XML))
        core = _apply("if", one_inf, ONE, _apply("pow", a.xml, b.xml, invalid=True))
        if not (a.miss or b.miss):
            return self.define(core, True)
        cond = _not_missing([a, b])
        assert cond is not None
        # JPMML evaluates every argument of and/equal: test presence with nested ifs
        a_missing = _apply("if", _apply("isMissing", b.xml), MISSING_XML,
                           _apply("if", _apply("equal", b.xml, ZERO), ONE, MISSING_XML)) if b.miss else \
            _apply("if", _apply("equal", b.xml, ZERO), ONE, MISSING_XML)  # pow(nan, 0) = 1
        b_missing = _apply("if", _apply("equal", a.xml, ONE), ONE, MISSING_XML)  # pow(1, nan) = 1
        if a.miss and b.miss:
            rest = _apply("if", _apply("isMissing", a.xml), a_missing, b_missing)
        elif a.miss:
            rest = a_missing
        else:
            rest = b_missing
        return self.define(_apply("if", cond, core, rest), True)


def emit(columns: tuple[E.Expr, ...] | list[E.Expr], base: str, inputs: dict[int, str]) -> tuple[list[str], list[str]]:
    """(helper DerivedFields, one top-level operand XML per output column)."""
    em = Emitter(base, inputs)
    tops = [em.value(c).xml for c in columns]
    return em.fields, tops


# ------------------------------------------------------------------ splicing


_DERIVED = re.compile(rb'([ \t]*)<DerivedField name="([^"]*)"[^>]*>.*?</DerivedField>', re.S)


def _operands(xml: bytes, n: int) -> list[str]:
    """The converter's operands of a placeholder ``X[a] + X[b] + ...`` (or ``X[a] * 1.0``)."""
    root = ET.fromstring(xml)
    (top,) = list(root)
    if n == 1:
        if top.tag != "Apply" or top.get("function") != "*" or len(top) != 2:
            raise ExportError("pmml: the converter rewrote a function placeholder unexpectedly (mlexport bug)")
        return [ET.tostring(top[0], encoding="unicode").strip()]
    out: list[str] = []
    cur = top
    for _ in range(n - 1):
        if cur.tag != "Apply" or cur.get("function") != "+" or len(cur) != 2:
            raise ExportError("pmml: the converter rewrote a function placeholder unexpectedly (mlexport bug)")
        out.append(ET.tostring(cur[1], encoding="unicode").strip())
        cur = cur[0]
    out.append(ET.tostring(cur, encoding="unicode").strip())
    return out[::-1]


def _pretty(xml: str, indent: bytes) -> bytes:
    """One field, indented like the converter's output around it (tabs)."""
    elem = ET.fromstring(xml)
    ET.indent(elem, space="\t", level=indent.count(b"\t"))
    return indent + ET.tostring(elem, encoding="unicode").encode()


def splice(data: bytes, splices: list[FunctionSplice]) -> tuple[bytes, int]:
    """Replace each placeholder field in the serialized document by its exact translation.

    Returns the new document and how many fields were replaced. A placeholder the
    converter left out (an output no later step reads) is simply absent."""
    if not splices:
        return data, 0
    wanted: dict[bytes, tuple[FunctionSplice, int]] = {}
    for s in splices:
        for j in range(len(s.columns)):
            wanted[s.name(j).encode()] = (s, j)
    emitted: dict[tuple[str, bytes], tuple[list[str], list[str]]] = {}
    done: set[bytes] = set()

    def replace(m: re.Match[bytes]) -> bytes:
        hit = wanted.get(m.group(2))
        if hit is None:
            return m.group(0)
        done.add(m.group(2))
        s, j = hit
        ops = _operands(m.group(0).strip(), len(s.inputs[j]))
        inputs = dict(zip(s.inputs[j], ops))
        key = (s.name(j), b"".join(o.encode() for o in ops))
        if key not in emitted:
            emitted[key] = emit([s.columns[j]], s.name(j), inputs)
        helpers, (top,) = emitted[key]
        indent = m.group(1)
        name = s.name(j)
        lines = [*helpers, f'<DerivedField name="{name}" optype="continuous" dataType="double">{top}</DerivedField>']
        return b"\n".join(_pretty(line, indent) for line in lines)

    out = _DERIVED.sub(replace, data)
    for name in wanted.keys() - done:  # read somewhere, yet not defined by a placeholder field
        if b'"' + name + b'"' in out:
            raise ExportError(f"pmml: the converter used the function output {name.decode()!r} without its "
                              "placeholder field, so it cannot be made exact (mlexport bug); export to ONNX / JSON")
    return out, len(done)
