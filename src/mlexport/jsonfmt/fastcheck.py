"""Schema validation of large documents without walking every number.

A 500-tree forest is a document of millions of numbers; ``jsonschema`` checks
each of them against its item schema, one Python call chain per number (tens
of seconds). This module builds a *compact equivalent* of the document and
lets ``jsonschema`` validate that instead:

* each list of numbers and strings is replaced by one canonical value per
  equivalence class of its items, where two scalars are equivalent when every
  atomic test the schema can make on a scalar agrees on them: their JSON type
  (integer or not), ``<``/``==``/``>`` against every number the schema names
  (``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``,
  ``const`` and ``enum`` values), and ``==`` against every string it names;
* any other list keeps one copy of each distinct (compacted) item;
* a list keeps a length that every ``minItems`` / ``maxItems`` bound of the
  schema judges the same way (its own length when it is short).

Every keyword this allows is decided per instance from those atomic tests, the
item results ("all items valid") and the length, and all three are the same
for a list and its compact form, so the compact document is valid exactly when
the original is. The equivalence only holds for the keywords listed in
:data:`KEYWORDS`: a schema using anything else (``uniqueItems``, ``pattern``,
``prefixItems``, ``multipleOf`` ...) or a document holding anything but JSON
types (dict with string keys, list, str, int, float, bool, None) makes
:func:`compact` raise :class:`Unsupported`, and the caller validates the whole
document the ordinary way.
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

# keywords whose outcome on an instance depends only on the atomic scalar tests,
# the results on its items / properties, its property names and its length
KEYWORDS = frozenset({
    "$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "examples", "default",
    "type", "required", "properties", "additionalProperties", "items", "const", "enum",
    "oneOf", "anyOf", "allOf", "not", "if", "then", "else",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
})
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else")
_SUBSCHEMAS = ("oneOf", "anyOf", "allOf")
_SCHEMA_MAPS = ("properties", "$defs")
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_EXACT_INT = 2.0**53  # ints up to this compare with float64 thresholds exactly
_SCALARS = frozenset({int, float, str})


class Unsupported(Exception):
    """The schema or the document is outside what the compact form preserves."""


@dataclass(frozen=True)
class Profile:
    """What the schema can test on a scalar and on a list's length."""

    numbers: tuple[float, ...]  # sorted distinct numeric thresholds
    originals: tuple[int | float, ...]  # the schema's own value for each threshold
    strings: frozenset[str]
    max_length_bound: int
    other_string: str  # a string equal to none of ``strings``


def profile(schema: dict[str, Any]) -> Profile:
    """Collect the scalar thresholds of ``schema``; :class:`Unsupported` if it uses other keywords."""
    nums: dict[float, int | float] = {}
    strings: set[str] = set()
    lengths: list[int] = [0]

    def scalar(v: Any) -> None:
        if isinstance(v, bool) or v is None:
            return  # only ever equal to itself: never equal to a number or a string
        if isinstance(v, str):
            strings.add(v)
        elif isinstance(v, (int, float)) and math.isfinite(v) and abs(v) < _EXACT_INT:
            nums.setdefault(float(v), v)
        else:
            raise Unsupported(f"schema value {v!r}")

    def walk(node: Any) -> None:
        if isinstance(node, bool):
            return
        if not isinstance(node, dict):
            raise Unsupported("schema is not an object")
        for k, v in node.items():
            if k not in KEYWORDS:
                raise Unsupported(f"keyword {k}")
            if k in _SUBSCHEMA:
                walk(v)
            elif k in _SUBSCHEMAS:
                for s in v:
                    walk(s)
            elif k in _SCHEMA_MAPS:
                for s in v.values():
                    walk(s)
            elif k in _BOUNDS:
                scalar(v)
            elif k == "const":
                scalar(v)
            elif k == "enum":
                for e in v:
                    scalar(e)
            elif k in ("minItems", "maxItems"):
                lengths.append(int(v))
            elif k == "$ref" and not str(v).startswith("#"):
                raise Unsupported("remote $ref")

    walk(schema)
    order = sorted(nums)
    other = "\u0000other"
    while other in strings:
        other += "\u0000"
    return Profile(tuple(order), tuple(nums[x] for x in order), frozenset(strings), max(lengths), other)


# --------------------------------------------------------------------------- numbers


def _between(p: Profile, i: int, integral: bool, example: int | float | None) -> int | float | None:
    """A canonical number strictly between thresholds i-1 and i (open ends at 0 and len),
    integral or not as asked; ``example`` (an item of that class) when nothing simpler fits."""
    t = p.numbers
    lo = t[i - 1] if i > 0 else None
    hi = t[i] if i < len(t) else None
    c: int | float
    if integral:
        if hi is not None:
            c = math.ceil(hi) - 1  # the largest integer below hi
        elif lo is not None:
            c = math.floor(lo) + 1
        else:
            c = 0
    elif lo is None:
        c = (math.ceil(hi) - 1.5) if hi is not None else 0.5
    else:
        c = math.floor(lo) + 0.5
        if not c > lo:
            c += 1.0
    ok = (lo is None or c > lo) and (hi is None or c < hi) and (float(c).is_integer() == integral)
    return c if ok else example


def _numbers_exact(p: Profile, nums: list[Any]) -> list[int | float]:
    """One canonical value per class of ``nums``, with Python's exact comparisons (ints beyond 2**53)."""
    seen: dict[tuple[int, bool, bool], int | float] = {}
    specials: dict[str, float] = {}
    for x in nums:
        if isinstance(x, float) and not math.isfinite(x):
            specials.setdefault(repr(x), x)
            continue
        i = bisect.bisect_left(p.numbers, x)
        eq = i < len(p.numbers) and p.numbers[i] == x
        integral = isinstance(x, int) or x.is_integer()
        if (i, eq, integral) not in seen:
            c = p.originals[i] if eq else _between(p, i, integral, x)
            assert c is not None
            seen[(i, eq, integral)] = c
    return list(seen.values()) + list(specials.values())


class _Numbers:
    """Lists of numbers gathered from a document, classified in one numpy pass."""

    def __init__(self, p: Profile) -> None:
        self.p = p
        self.lists: list[list[Any]] = []
        self.has_int: list[bool] = []

    def add(self, items: list[Any], types: set[type]) -> int:
        self.lists.append(items)
        self.has_int.append(int in types)
        return len(self.lists) - 1

    def classify(self) -> list[list[int | float]]:
        """For each list added, one canonical value per class of its items."""
        p, lists = self.p, self.lists
        if not lists:
            return []
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        try:
            flat = np.fromiter(chain.from_iterable(lists), dtype=np.float64, count=int(lengths.sum()))
        except OverflowError:  # an int beyond float64
            return [_numbers_exact(p, items) for items in lists]
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        big = np.fmax.reduceat(np.abs(flat), starts) > _EXACT_INT  # ints there may not convert exactly
        t = np.asarray(p.numbers, dtype=np.float64)
        base = 4 * len(t) + 4  # finite classes: ((position * 2 + equal) * 2 + integral) < base
        with np.errstate(invalid="ignore"):
            pos = np.searchsorted(t, flat, side="left")
            eq = (t[np.minimum(pos, len(t) - 1)] == flat) & (pos < len(t)) if len(t) else np.zeros(len(flat), bool)
            key = (pos * 2 + eq) * 2 + (np.floor(flat) == flat)
        key[np.isnan(flat)] = base
        key[flat == np.inf] = base + 1
        key[flat == -np.inf] = base + 2
        width = base + 3
        present = np.zeros(len(lists) * width, dtype=bool)
        present[np.repeat(np.arange(len(lists)) * width, lengths) + key] = True
        rows, cols = np.nonzero(present.reshape(len(lists), width))
        out: list[list[int | float]] = [[] for _ in lists]
        canonical: dict[int, int | float | None] = {}
        for i, k in zip(rows.tolist(), cols.tolist()):
            if big[i] and self.has_int[i]:
                continue
            if k not in canonical:
                canonical[k] = self._canonical(k, base)
            c = canonical[k]
            if c is None:  # no simple value of that class: take the list's first item in it
                j = int(np.flatnonzero(key[starts[i]:starts[i] + lengths[i]] == k)[0])
                c = lists[i][j]
            out[i].append(c)
        for i in np.flatnonzero(big).tolist():
            if self.has_int[i]:
                out[i] = _numbers_exact(p, lists[i])
        return out

    def _canonical(self, k: int, base: int) -> int | float | None:
        if k >= base:
            return (math.nan, math.inf, -math.inf)[k - base]
        integral, pos, eq = bool(k & 1), k >> 2, bool((k >> 1) & 1)
        return self.p.originals[pos] if eq else _between(self.p, pos, integral, None)


# --------------------------------------------------------------------------- documents


@dataclass
class _Scalars:
    """A list of scalars awaiting its numbers' classes."""

    n: int
    strings: list[str]
    numbers: int | None  # index in _Numbers


def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _fit(items: list[Any], n: int, p: Profile) -> list[Any]:
    """``items`` (distinct, non-empty) padded to a length every length bound judges like ``n``."""
    want = n if n <= p.max_length_bound else max(len(items), p.max_length_bound + 1)
    return items + [items[0]] * (want - len(items))


def _gather(doc: Any, p: Profile, nums: _Numbers) -> Any:
    t = type(doc)
    if t is dict:
        out = {}
        for k, v in doc.items():
            if type(k) is not str:
                raise Unsupported("non-string key")
            out[k] = _gather(v, p, nums)
        return out
    if t is list:
        if not doc:
            return doc
        types = set(map(type, doc))
        if types <= _SCALARS:
            strings: list[str] = []
            numbers = doc
            if str in types:
                strs = set(doc) if len(types) == 1 else {x for x in doc if type(x) is str}
                strings = sorted({s if s in p.strings else p.other_string for s in strs})
                numbers = [x for x in doc if type(x) is not str] if len(types) > 1 else []
            return _Scalars(len(doc), strings, nums.add(numbers, types) if numbers else None)
        return [_gather(v, p, nums) for v in doc]
    if t in (str, int, float, bool) or doc is None:
        return doc
    raise Unsupported(f"a {t.__name__} in the document")


def _resolve(node: Any, p: Profile, classes: list[list[int | float]]) -> Any:
    t = type(node)
    if t is dict:
        return {k: _resolve(v, p, classes) for k, v in node.items()}
    if t is _Scalars:
        items: list[Any] = list(node.strings)
        if node.numbers is not None:
            items.extend(classes[node.numbers])
        return _fit(items, node.n, p)
    if t is list and node:
        distinct: dict[str, Any] = {}
        for v in node:
            c = _resolve(v, p, classes)
            distinct.setdefault(_key(c), c)
        return _fit(list(distinct.values()), len(node), p)
    return node


def compact(doc: Any, p: Profile) -> Any:
    """The compact equivalent of ``doc`` under the schema summarised by ``p``."""
    nums = _Numbers(p)
    gathered = _gather(doc, p, nums)
    return _resolve(gathered, p, nums.classify())
