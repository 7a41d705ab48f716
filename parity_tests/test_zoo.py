"""Every zoo pipeline x every format: export, run in each runtime, assert parity.

``check`` must agree with what the export does: a passing case has a clean
plan. Verification rows are the case's held-out rows plus mlexport's probe rows
(thresholds and their float32/float64 neighbours, NaN, unseen categories,
extremes) at the default tolerance rtol=atol=1e-6. Known gaps are strict xfails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from zoo import CASES, FORMATS, built, holdout_frame

import mlexport
from mlexport.model import from_estimator


def _params() -> list[object]:
    out = []
    for case in CASES:
        for fmt in FORMATS:
            marks = [pytest.mark.xfail(strict=True, reason=case.gaps[fmt])] if fmt in case.gaps else []
            out.append(pytest.param(case.name, fmt, id=f"{fmt}-{case.name}", marks=marks))
    return out


@pytest.mark.parametrize(("name", "fmt"), _params())
def test_parity(name: str, fmt: str, tmp_path: Path) -> None:
    model, X_test = built(name)
    lm = from_estimator(model, source=name)
    (plan,) = mlexport.check(lm, [fmt])
    assert not plan.blocked, f"check says {fmt} blocks: {[v.to_dict() for v in plan.blockers]}"
    res = mlexport.export(lm, fmt, tmp_path / f"{name}.{fmt}", data=holdout_frame(model, X_test), probe=True)
    assert res.parity is not None
    failures = [
        f"{r.runtime}/{o.name}: {o.mismatches} rows, max_abs_err={o.max_abs_err}, worst rows {list(o.worst_rows)} {o.note}"
        for r in res.parity.runtimes for o in r.outputs if not o.passed
    ] + [f"{r.runtime}: {r.error}" for r in res.parity.runtimes if r.error]
    assert res.parity.passed, f"{name} -> {fmt}: " + "; ".join(failures)
    assert res.parity.rows > len(X_test), "probe rows were not added"
