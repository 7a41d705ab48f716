"""Decision values of classifiers without predict_proba (LinearSVC, SGD hinge,
RidgeClassifier, SVC): an output of their own, scored by every runtime of ONNX
and JSON and compared with scikit-learn's ``decision_function``."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from typer.testing import CliRunner

import mlexport
from mlexport.cli import app
from mlexport.model import from_estimator
from mlexport.outputs import Outputs
from mlexport.parity import Tolerance, compare

runner = CliRunner()


@pytest.fixture(scope="module")
def decision_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    d = tmp_path_factory.mktemp("decision")
    out = {}
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    binary = make_pipeline(StandardScaler(), LinearSVC(random_state=0)).fit(X, y)
    joblib.dump(binary, d / "binary.joblib")
    X.iloc[::7].to_csv(d / "binary.csv", index=False)
    out["binary"] = (d / "binary.joblib", d / "binary.csv")
    X, y = load_wine(return_X_y=True, as_frame=True)
    y = np.array(["barolo", "grignolino", "barbera"])[y]  # string classes name the decision columns
    multi = make_pipeline(StandardScaler(), SGDClassifier(loss="hinge", random_state=0)).fit(X, y)
    joblib.dump(multi, d / "multi.joblib")
    X.iloc[::5].to_csv(d / "multi.csv", index=False)
    out["multi"] = (d / "multi.joblib", d / "multi.csv")
    return out


def _expected_columns(est) -> list[str]:
    classes = list(est.classes_)
    return ["label", "decision"] if len(classes) == 2 else ["label"] + [f"decision_{c}" for c in classes]


@pytest.mark.parametrize("kind", ["binary", "multi"])
@pytest.mark.parametrize(("fmt", "runtime"), [("onnx", "onnxruntime"), ("json", "json-python"), ("json", "json-go"),
                                              ("json", "json-java")])
def test_score_writes_decision_values_equal_to_sklearn(decision_models, tmp_path: Path, kind: str, fmt: str,
                                                       runtime: str) -> None:
    model, csv = decision_models[kind]
    art = tmp_path / f"m.{fmt}"
    r = runner.invoke(app, [fmt, str(model), "--data", str(csv), "-o", str(art)])
    assert r.exit_code == 0, r.stdout
    assert "decision" in r.stdout  # the parity table has a decision row
    r = runner.invoke(app, ["score", str(art), str(csv), "--runtime", runtime, "-o", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.stdout + r.stderr
    est = joblib.load(model)
    X = pd.read_csv(csv)
    got = pd.read_csv(tmp_path / "p.csv", dtype={"label": str})
    assert list(got.columns) == _expected_columns(est)
    assert got["label"].tolist() == [str(v) for v in est.predict(X)]
    want = est.decision_function(X)
    np.testing.assert_allclose(got.iloc[:, 1:].to_numpy().reshape(want.shape), want, rtol=1e-12, atol=1e-12)


def test_pmml_reports_decision_values_as_not_compared(decision_models, tmp_path: Path) -> None:
    model, csv = decision_models["binary"]
    res = mlexport.export(model, "pmml", tmp_path / "m.pmml", data=csv)
    assert res.parity is not None and res.parity.passed
    for rt in res.parity.runtimes:
        outs = {o.name: o for o in rt.outputs}
        assert outs["label"].mismatches == 0
        assert outs["decision"].note.startswith("not compared")


def test_a_wrong_decision_value_fails_parity() -> None:
    native = Outputs(label=np.array([0, 1]), classes=(0, 1), decision=np.array([-1.0, 2.0]))
    (label, dec) = compare(native, Outputs(label=np.array([0, 1]), classes=(0, 1), decision=np.array([-1.0, 2.1])), Tolerance())
    assert label.passed and not dec.passed and dec.worst_rows == (1,)
    (_, missing) = compare(native, Outputs(label=np.array([0, 1]), classes=(0, 1)), Tolerance())
    assert not missing.passed and "missing" in missing.note


def test_models_with_probabilities_have_no_decision_output(tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    res = mlexport.export(from_estimator(est), "onnx", tmp_path / "m.onnx", data=X.head(40))
    assert res.parity is not None
    assert {o.name for o in res.parity.runtimes[0].outputs} == {"label", "proba"}


def _svc_cases():
    from sklearn.linear_model import PassiveAggressiveClassifier
    from sklearn.svm import SVC, NuSVC

    return {
        "svc_rbf_binary": ("breast_cancer", SVC()),
        "svc_rbf_ovr": ("wine", SVC()),
        "svc_ovo": ("iris", SVC(decision_function_shape="ovo")),
        "svc_poly": ("iris", SVC(kernel="poly", degree=3)),
        "svc_sigmoid": ("iris", SVC(kernel="sigmoid")),
        "svc_break_ties": ("iris", SVC(break_ties=True)),
        "nusvc_linear": ("iris", NuSVC(kernel="linear")),
        "nusvc_binary": ("breast_cancer", NuSVC()),
        "passive_aggressive_binary": ("breast_cancer", PassiveAggressiveClassifier(random_state=0)),
    }


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("name", list(_svc_cases()))
def test_onnx_svc_labels_and_decision_values_in_float64(name: str, tmp_path: Path) -> None:
    from sklearn import datasets

    data, est = _svc_cases()[name]
    X, y = getattr(datasets, f"load_{data}")(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), est).fit(X, y)
    res = mlexport.export(from_estimator(model), "onnx", tmp_path / "m.onnx", data=X, probe=True)
    assert res.parity is not None and res.parity.passed
    outs = {o.name: o for o in res.parity.runtimes[0].outputs}
    assert set(outs) == {"label", "decision"}
    assert outs["decision"].max_abs_err is not None and outs["decision"].max_abs_err < 1e-9  # float64, not float32
