"""Parity as a pytest assertion.

    from mlexport.testing import assert_parity

    def test_model_ships(tmp_path):
        assert_parity(model, "onnx", X_holdout)             # export to tmp, run, compare
        assert_parity(model, "build/model.onnx", X_holdout)  # or check an existing artifact

On failure the message names each failing runtime and output, how many rows
differ, by how much and which rows are worst, with the native and exported
values side by side for those rows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .exporters import EXPORTERS


def assert_parity(
    model: Any,
    artifact_or_format: str | Path,
    X: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    runtimes: list[str] | None = None,
    probe: bool = False,
) -> Any:
    """Raise ``AssertionError`` with a readable diff unless parity holds.

    ``artifact_or_format`` is a path to an artifact or a format name
    (``"onnx"``, ``"pmml"``, ``"json"``) to export into a temporary directory.
    ``X`` is a DataFrame, a numpy array (for models fitted on arrays) or a data
    file path. Returns the :class:`mlexport.ParityResult`.
    """
    from . import api
    from .data import conform

    lm = api.as_model(model)
    frame = _as_frame(X, lm)
    if isinstance(artifact_or_format, str) and artifact_or_format in EXPORTERS:
        with tempfile.TemporaryDirectory() as d:
            art = Path(d) / f"model{api.get_exporter(artifact_or_format).suffix}"
            res = api.export(lm, artifact_or_format, art, data=frame, rtol=rtol, atol=atol, runtimes=runtimes, probe=probe)
            result = res.parity
            if result is not None and not result.passed:
                details = _details(lm, art, result, conform(frame, lm.signature), runtimes)
                raise AssertionError(_message(result) + details)
    else:
        art = Path(artifact_or_format)
        result = api.verify(lm, art, data=frame, runtimes=runtimes, rtol=rtol, atol=atol, probe=probe)
        if not result.passed:
            raise AssertionError(_message(result) + _details(lm, art, result, conform(frame, lm.signature), runtimes))
    return result


def _as_frame(X: Any, lm: Any) -> Any:
    import pandas as pd

    if isinstance(X, (str, Path)):
        from .data import read_data

        return read_data(X, lm.signature)
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    return pd.DataFrame(arr, columns=lm.signature.names)


def _message(result: Any) -> str:
    lines = [f"parity failed: {result.format} artifact {Path(result.artifact).name} on {result.rows} rows "
             f"(rtol={result.tolerance.rtol:g}, atol={result.tolerance.atol:g})"]
    for r in result.runtimes:
        if r.error:
            lines.append(f"  {r.runtime}: ERROR {r.error}")
        for o in r.outputs:
            if not o.passed:
                err = f", max abs err {o.max_abs_err:.3g}, max rel err {o.max_rel_err:.3g}" if o.max_abs_err is not None else ""
                lines.append(f"  {r.runtime}/{o.name}: {o.mismatches} rows differ{err}; worst rows {list(o.worst_rows)}"
                             + (f" ({o.note})" if o.note else ""))
    return "\n".join(lines)


def _details(lm: Any, art: Path, result: Any, frame: Any, runtimes: list[str] | None) -> str:
    """Native vs exported values on the worst rows of each failing output."""
    from . import api
    from .parity import native_outputs

    lines = []
    for r in result.runtimes:
        rows = sorted({i for o in r.outputs if not o.passed for i in o.worst_rows})
        if not rows or r.error:
            continue
        try:
            sub = frame.iloc[rows].reset_index(drop=True)
            native = native_outputs(lm, sub)
            got = api._load_scorer(r.runtime, art).predict(sub)
        except Exception:  # the message above already says what failed
            continue
        for o in r.outputs:
            if o.passed or not o.worst_rows:
                continue
            mine, ref = getattr(got, o.name, None), getattr(native, o.name, None)
            if mine is None or ref is None:
                continue
            for k, row in enumerate(rows[:5]):
                lines.append(f"    row {row}: {o.name} native={np.asarray(ref)[k]!r} {r.runtime}={np.asarray(mine)[k]!r}")
    return ("\n" + "\n".join(lines)) if lines else ""
