"""Fast CSV text for the two places mlexport writes many numbers.

* :func:`score_csv`: a chunk of ``mlexport score`` output, byte for byte what
  ``frame.to_csv(index=False, float_format="%.17g")`` writes (numbers with 17
  significant digits, NaN as an empty field, csv-module quoting), without
  pandas' per-cell formatter objects.
* :func:`scorer_input_csv`: a frame in the input layout of the Go and Java
  scorers (header of quoted names, numbers as the shortest text that reads back
  to the same double, a missing value as an unquoted empty field, strings
  always quoted), written by pyarrow's CSV writer instead of one ``repr`` per
  cell.
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Any

import numpy as np
import pandas as pd

from .errors import BadInputError

# --------------------------------------------------------------------------- score output


def _pandas_field(v: Any) -> str:
    """How ``DataFrame.to_csv`` renders one object-column value inside a row of several fields."""
    buf = io.StringIO()
    pd.DataFrame({"v": pd.Series([v], dtype=object), "w": [0]}).to_csv(buf, index=False, header=False)
    text = buf.getvalue()
    assert text.endswith(",0\n")
    return text[: -len(",0\n")]


def _floats(arr: np.ndarray) -> list[str]:
    vals = arr.astype(np.float64, copy=False)
    out = ["%.17g" % v for v in vals.tolist()]  # noqa: UP031 - the very formatting pandas applies
    for i in np.flatnonzero(np.isnan(vals)).tolist():
        out[i] = ""
    return out


def _column(s: pd.Series) -> list[str] | None:
    """Rendered cells of one column, or None for a dtype left to pandas."""
    kind = s.dtype.kind if isinstance(s.dtype, np.dtype) else None
    if kind == "f":
        return _floats(s.to_numpy())
    if kind in ("i", "u"):
        return s.to_numpy().astype(str).tolist()  # type: ignore[no-any-return]
    if kind == "b":
        return ["True" if v else "False" for v in s.to_numpy().tolist()]
    if kind == "O" or isinstance(s.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
        if len(uniques) > 10_000:
            return None
        if any(isinstance(u, float) for u in uniques):  # pandas formats object floats itself
            return None
        rendered = np.array([_pandas_field(u) for u in uniques] + [""], dtype=object)
        return rendered[codes].tolist()  # type: ignore[no-any-return]  # code -1 -> the last: missing
    return None


def score_csv(frame: pd.DataFrame, header: bool) -> str:
    """``frame.to_csv(index=False, header=header, float_format="%.17g")``, faster."""
    cols = []
    for j in range(frame.shape[1]):
        c = _column(frame.iloc[:, j])
        if c is None:
            return frame.to_csv(index=False, header=header, float_format="%.17g")
        cols.append(c)
    end = os.linesep  # pandas' default line terminator
    out = io.StringIO()
    if header:
        csv.writer(out, lineterminator=end).writerow([str(c) for c in frame.columns])
    if len(cols) == 1:  # csv writes a lone empty field as "" so that the row is not blank
        out.writelines((v or '""') + end for v in cols[0])
    elif cols:
        out.writelines(",".join(row) + end for row in zip(*cols))
    return out.getvalue()


# --------------------------------------------------------------------------- scorer input


def _string_value(v: Any) -> str | None:
    """A string cell as the scorers read it: None is missing."""
    if isinstance(v, str):
        return v
    if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and math.isnan(v)):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def scorer_input_csv(X: pd.DataFrame, inputs: list[tuple[str, str, bool]], *, used_only: bool,
                     header: bool = True) -> bytes:
    """CSV bytes of ``X`` for the Go / Java scorers.

    ``inputs`` is the document's ``(name, kind, used)`` list. ``used_only``
    writes only the columns the model reads (a lone ``_`` column of missing
    values when it reads none, so the rows still count); otherwise every input
    column, unused ones empty."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    n = len(X)
    names: list[str] = []
    arrays: list[Any] = []
    for name, kind, used in inputs:
        if used_only and not used:
            continue
        names.append(name)
        if not used or name not in X.columns:
            arrays.append(pa.nulls(n, pa.string()))
        elif kind == "number":
            s = X[name]
            try:
                arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise BadInputError(f"column '{name}' must be numeric. Got dtype {s.dtype} instead.") from None
            arrays.append(pa.array(arr, type=pa.float64(), from_pandas=True))  # NaN -> null -> empty field
        else:
            vals = [_string_value(v) for v in X[name].to_numpy(dtype=object).tolist()]
            arrays.append(pa.array(vals, type=pa.string()))
    if not names:
        names, arrays = ["_"], [pa.nulls(n, pa.string())]
    table = pa.Table.from_arrays(arrays, names=names)
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=header, quoting_style="needed"))
    return bytes(sink.getvalue().to_pybytes())
