"""Reading user data into the frame every runtime takes.

The canonical frame has exactly the model's input columns, in order: numeric
columns as float64 (NaN for missing), string columns as object (NaN for
missing). A model fitted on a plain array takes the file's columns in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import BadInputError
from .model import Signature

DATA_SUFFIXES = (".csv", ".parquet", ".pq")


def _check_path(path: Path) -> None:
    if not path.exists():
        raise BadInputError(f"{path}: no such file.")
    if path.is_dir():
        raise BadInputError(f"{path}: is a directory, expected a .csv or .parquet file.")
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise BadInputError(f"{path}: data file must be .csv or .parquet. Got '{path.suffix}' instead.")


def _csv_dtypes(sig: Signature, header: list[str]) -> dict[str, object]:
    if sig.named:
        return {c.name: object for c in sig.columns if c.kind == "string" and c.name in header}
    return {h: object for h, c in zip(header, sig.columns) if c.kind == "string"}


def read_data(path: str | Path, sig: Signature) -> pd.DataFrame:
    """Read a whole data file and conform it to ``sig``."""
    chunks = list(iter_data(path, sig))
    if not chunks:
        raise BadInputError(f"{path}: has no data rows.")
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def iter_data(path: str | Path, sig: Signature, chunk_rows: int | None = 100_000) -> Iterator[pd.DataFrame]:
    """Yield conformed chunks of at most ``chunk_rows`` rows (all rows if None)."""
    p = Path(path)
    _check_path(p)
    try:
        if p.suffix.lower() == ".csv":
            try:
                header = list(pd.read_csv(p, nrows=0).columns)
            except pd.errors.EmptyDataError:
                raise BadInputError(f"{p}: is empty; expected a header line with column names.") from None
            dtypes = _csv_dtypes(sig, header)
            reader = pd.read_csv(p, dtype=dtypes, chunksize=chunk_rows) if chunk_rows else [pd.read_csv(p, dtype=dtypes)]
            offset = 0
            for raw in reader:
                yield conform(raw, sig, source=str(p), row_offset=offset)
                offset += len(raw)
        else:
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(p)
            offset = 0
            for batch in pf.iter_batches(batch_size=chunk_rows or 1 << 62):
                raw = batch.to_pandas()
                yield conform(raw, sig, source=str(p), row_offset=offset)
                offset += len(raw)
    except BadInputError:
        raise
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise BadInputError(f"{p}: could not be read as {p.suffix.lstrip('.')} ({first}).") from None
    except Exception as e:  # pyarrow's own error types
        if type(e).__module__.startswith("pyarrow"):
            raise BadInputError(f"{p}: could not be read as parquet ({e}).") from None
        raise


def conform(raw: pd.DataFrame, sig: Signature, *, source: str = "data", row_offset: int = 0) -> pd.DataFrame:
    """Select, order and type the model's columns; clear errors otherwise."""
    if sig.named:
        missing = [c for c in sig.names if c not in raw.columns]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise BadInputError(f"{source}: missing column(s) {shown} that the model was fitted on.")
        frame = raw[sig.names]
    else:
        if raw.shape[1] != len(sig.columns):
            raise BadInputError(
                f"{source}: the model was fitted on an array of {len(sig.columns)} columns; "
                f"the data must have {len(sig.columns)} columns in that order. Got {raw.shape[1]} instead."
            )
        frame = raw.set_axis(sig.names, axis=1)
    out: dict[str, object] = {}
    for col in sig.columns:
        s = frame[col.name]
        if col.kind == "number":
            out[col.name] = _to_float(s, col.name, source, row_offset)
        else:
            out[col.name] = _to_object(s)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _to_float(s: pd.Series, name: str, source: str, row_offset: int) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(s, errors="coerce")
    bad = converted.isna() & s.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise BadInputError(
            f"{source}: column '{name}' must be numeric. Got {s.iloc[i]!r} at row {row_offset + i + 1} instead."
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _to_object(s: pd.Series) -> np.ndarray:
    arr = s.to_numpy(dtype=object, na_value=np.nan)
    out = np.empty(len(arr), dtype=object)
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out[i] = np.nan
        elif isinstance(v, str):
            out[i] = v
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out[i] = str(int(v))
        else:
            out[i] = str(v)
    return out


def to_native_input(X: pd.DataFrame, sig: Signature) -> pd.DataFrame | np.ndarray:
    """What the sklearn model itself is fed: a frame, or an array if fitted on one."""
    if sig.named:
        return X
    if sig.all_numeric:
        return X.to_numpy(dtype=np.float64)
    return X.to_numpy(dtype=object)
