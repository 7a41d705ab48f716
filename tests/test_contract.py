"""One contract test over every registry entry: adding a format or runtime is
one module, one registry line, and this test holds it to the contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlexport.exporters import EXPORTERS, get_exporter
from mlexport.model import from_estimator
from mlexport.outputs import Outputs
from mlexport.parity import Tolerance, compare, native_outputs
from mlexport.plan import Verdict
from mlexport.runtimes import RUNTIMES, get_runtime


@pytest.fixture(scope="module")
def iris_frame_model():
    data = load_iris(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data.data, data.target)
    return from_estimator(model, source="iris"), data.data.iloc[::5].reset_index(drop=True)


@pytest.mark.parametrize("fmt", list(EXPORTERS))
def test_exporter_contract(fmt: str, iris_frame_model, tmp_path: Path) -> None:
    exp = get_exporter(fmt)
    assert exp.name == fmt
    assert exp.suffix.startswith(".")
    assert exp.runtimes and all(r in RUNTIMES and get_runtime(r).format == fmt for r in exp.runtimes)
    lm, X = iris_frame_model
    verdicts = exp.assess(lm)
    assert verdicts and all(isinstance(v, Verdict) and v.ok for v in verdicts)
    out = tmp_path / f"m{exp.suffix}"
    info = exp.export(lm, out, X)
    assert out.exists() and out.stat().st_size > 0
    assert isinstance(info, dict)


@pytest.mark.parametrize("name", list(RUNTIMES))
def test_runtime_contract(name: str, iris_frame_model, tmp_path: Path) -> None:
    rt = get_runtime(name)
    assert rt.name == name and rt.format in EXPORTERS
    reason = rt.available()
    assert reason is None, f"{name} unavailable on this machine: {reason}"
    lm, X = iris_frame_model
    exp = get_exporter(rt.format)
    art = tmp_path / f"m{exp.suffix}"
    exp.export(lm, art, X)
    scorer = rt.load(art)
    try:
        assert [c.name for c in scorer.signature.columns] == list(X.columns)
        got = scorer.predict(X)
    finally:
        scorer.close()
    assert isinstance(got, Outputs)
    assert got.label is not None and got.proba is not None and got.proba.shape == (len(X), 3)
    assert list(got.classes) == [0, 1, 2]
    results = compare(native_outputs(lm, X), got, Tolerance())
    assert all(r.passed for r in results), results
    frame = got.to_frame()
    assert list(frame.columns) == ["label", "proba_0", "proba_1", "proba_2"]


def test_compare_catches_what_it_must() -> None:
    native = Outputs(label=np.array([0, 1, 1]), proba=np.array([[0.9, 0.1], [0.2, 0.8], [np.nan, 1.0]]), classes=(0, 1))
    same = compare(native, native, Tolerance())
    assert all(r.passed for r in same)
    wrong_label = Outputs(label=np.array([0, 0, 1]), proba=native.proba, classes=(0, 1))
    r = {o.name: o for o in compare(native, wrong_label, Tolerance())}
    assert not r["label"].passed and r["label"].mismatches == 1 and r["label"].worst_rows == (1,)
    nudged = Outputs(label=native.label, proba=native.proba + np.array([[0, 0], [0, 2e-6], [0, 0]]), classes=(0, 1))
    r = {o.name: o for o in compare(native, nudged, Tolerance())}
    assert not r["proba"].passed and r["proba"].worst_rows == (1,)
    assert r["proba"].max_abs_err == pytest.approx(2e-6)
    assert all(o.passed for o in compare(native, nudged, Tolerance(rtol=0, atol=1e-5)))
    nan_where_native_is_not = Outputs(label=native.label, proba=np.array([[0.9, np.nan], [0.2, 0.8], [np.nan, 1.0]]), classes=(0, 1))
    assert not {o.name: o for o in compare(native, nan_where_native_is_not, Tolerance())}["proba"].passed
    missing = Outputs(label=native.label, classes=(0, 1))
    r = {o.name: o for o in compare(native, missing, Tolerance())}
    assert not r["proba"].passed and "missing" in r["proba"].note
    swapped = Outputs(label=native.label, proba=native.proba, classes=(1, 0))
    assert not all(o.passed for o in compare(native, swapped, Tolerance()))
    short = Outputs(label=native.label[:2], proba=native.proba, classes=(0, 1))
    assert not {o.name: o for o in compare(native, short, Tolerance())}["label"].passed


def test_string_labels_compare_by_value() -> None:
    a = Outputs(label=np.array(["a", "b"], dtype=object))
    b = Outputs(label=np.array(["a", "b"]))
    assert all(o.passed for o in compare(a, b, Tolerance()))
    c = Outputs(label=np.array(["a", "c"]))
    assert not all(o.passed for o in compare(a, c, Tolerance()))


def test_synthesized_rows_probe_thresholds_nan_and_unseen() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from mlexport.synth import UNSEEN, synthesize

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[::10, 0] = np.nan
    model = HistGradientBoostingClassifier(max_iter=5).fit(X, X[:, 1] > 0)
    s = synthesize(from_estimator(model))
    assert "thresholds of x1" in s.summary and "NaN in x0" in s.summary
    thresholds = {float(n["num_threshold"]) for p in model._predictors for t in p for n in t.nodes if not n["is_leaf"] and n["feature_idx"] == 1}
    values = set(s.frame["x1"].tolist())
    some = next(iter(thresholds))
    assert some in values and np.nextafter(some, np.inf) in values and float(np.float32(some)) in values
    assert UNSEEN  # used for string columns (see test_cli mixed tests)


def test_conform_types_columns() -> None:
    from mlexport.data import conform
    from mlexport.model import Column, Signature

    sig = Signature((Column("a", "number"), Column("b", "string")))
    df = pd.DataFrame({"b": ["x", None, 3], "a": ["1", "2.5", None], "extra": [1, 2, 3]})
    out = conform(df, sig)
    assert list(out.columns) == ["a", "b"]
    assert out["a"].dtype == np.float64 and np.isnan(out["a"].iloc[2])
    assert out["b"].tolist()[0] == "x" and out["b"].tolist()[2] == "3" and pd.isna(out["b"].iloc[1])
