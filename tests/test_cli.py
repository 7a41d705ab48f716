"""The command line contract of design.md, exercised through typer's CliRunner."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlexport.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def test_onnx_export_with_data_writes_artifact_manifest_and_reports(iris_model_file, tmp_path: Path) -> None:
    model, csv = iris_model_file
    out = tmp_path / "m.onnx"
    code, stdout, _ = run("onnx", model, "--data", csv, "-o", out, "--report", tmp_path / "r.json", "--junit", tmp_path / "j.xml")
    assert code == 0, stdout
    assert out.exists() and (tmp_path / "m.onnx.manifest.json").exists()
    assert "max abs err" in stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is True and report["format"] == "onnx" and report["rows"] == 50
    assert report["tolerance"] == {"rtol": 1e-6, "atol": 1e-6}
    rt = report["runtimes"][0]
    assert rt["runtime"] == "onnxruntime" and rt["passed"]
    names = {o["name"] for o in rt["outputs"]}
    assert names == {"label", "proba"}
    for o in rt["outputs"]:
        assert {"name", "max_abs_err", "max_rel_err", "mismatches", "worst_rows"} <= set(o)
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert suite.tag == "testsuites" and len(suite.findall(".//testcase")) == 2
    manifest = json.loads((tmp_path / "m.onnx.manifest.json").read_text())
    assert manifest["parity"]["passed"] and len(manifest["artifact_sha256"]) == 64


def test_export_without_data_says_rows_were_synthesized(iris_model_file, tmp_path: Path) -> None:
    model, _ = iris_model_file
    code, stdout, _ = run("onnx", model, "-o", tmp_path / "m.onnx")
    assert code == 0
    assert "synthesized from the fitted model" in stdout


def test_default_output_is_next_to_the_model(tmp_path: Path, iris_model_file) -> None:
    model, _ = iris_model_file
    copy = tmp_path / "model.joblib"
    copy.write_bytes(model.read_bytes())
    assert run("onnx", copy, "--no-verify")[0] == 0
    assert (tmp_path / "model.onnx").exists()


def test_score_inspect_and_parity(mixed_files, tmp_path: Path) -> None:
    clf, reg, csv = mixed_files
    art = tmp_path / "clf.onnx"
    assert run("onnx", clf, "--data", csv, "-o", art)[0] == 0
    code, stdout, _ = run("score", art, csv, "--runtime", "onnxruntime", "-o", tmp_path / "p.csv")
    assert code == 0, stdout
    preds = pd.read_csv(tmp_path / "p.csv")
    native = joblib.load(clf)
    X = pd.read_csv(csv)
    assert list(preds.columns) == ["label", "proba_0", "proba_1"]
    assert len(preds) == len(X)
    np.testing.assert_array_equal(preds["label"].to_numpy(), native.predict(X))
    np.testing.assert_allclose(preds[["proba_0", "proba_1"]].to_numpy(), native.predict_proba(X), rtol=1e-12, atol=1e-12)

    code, stdout, _ = run("inspect", art, "--json")
    info = json.loads(stdout)
    assert [i["name"] for i in info["inputs"]] == ["age", "income", "city"]
    assert info["classes"] == [0, 1] and info["sha256_matches_manifest"] is True

    code, stdout, _ = run("parity", clf, art, "--data", csv, "--report", tmp_path / "r.json")
    assert code == 0 and json.loads((tmp_path / "r.json").read_text())["passed"]


def test_regressor_score_writes_value_column(mixed_files, tmp_path: Path) -> None:
    _, reg, csv = mixed_files
    art = tmp_path / "reg.onnx"
    assert run("onnx", reg, "--data", csv, "-o", art)[0] == 0
    assert run("score", art, csv, "-o", tmp_path / "p.csv")[0] == 0
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["value"]
    np.testing.assert_allclose(preds["value"], joblib.load(reg).predict(pd.read_csv(csv)), rtol=1e-12)


def test_parity_fails_with_exit_1_when_the_artifact_does_not_match(iris_model_file, tmp_path: Path) -> None:
    model, csv = iris_model_file
    art = tmp_path / "m.onnx"
    assert run("onnx", model, "-o", art, "--no-verify")[0] == 0
    other = joblib.load(model)
    other[-1].coef_ = other[-1].coef_ * (1 + 1e-3)  # a release with nudged coefficients
    nudged = tmp_path / "nudged.joblib"
    joblib.dump(other, nudged)
    code, stdout, stderr = run("parity", nudged, art, "--data", csv, "--junit", tmp_path / "j.xml")
    assert code == 1
    assert "FAIL" in stdout and "parity failed" in stderr
    assert "<failure" in (tmp_path / "j.xml").read_text()


def test_parquet_data_and_numpy_fitted_models(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True)
    joblib.dump(Ridge().fit(X, y), tmp_path / "r.joblib")
    pd.DataFrame(X[:40], columns=[f"c{i}" for i in range(10)]).to_parquet(tmp_path / "d.parquet")
    code, stdout, _ = run("onnx", tmp_path / "r.joblib", "--data", tmp_path / "d.parquet")
    assert code == 0, stdout
    assert "40 rows" in stdout


def test_version_and_help() -> None:
    code, stdout, _ = run("--version")
    assert code == 0 and stdout.startswith("mlexport ")
    code, stdout, _ = run("--help")
    assert code == 0
    for cmd in ("check", "onnx", "parity", "score", "inspect"):
        assert cmd in stdout


@pytest.mark.parametrize("fmt", ["onnx"])
def test_check_reports_supported_and_blocked(fmt: str, tmp_path: Path, iris_model_file) -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    model, _ = iris_model_file
    code, stdout, _ = run("check", model, "--format", fmt, "--json")
    assert code == 0 and json.loads(stdout)["ok"] is True
    blocked = make_pipeline(StandardScaler(), FunctionTransformer(_double), LinearRegression())
    blocked.fit(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    joblib.dump(blocked, tmp_path / "b.joblib")
    code, stdout, _ = run("check", tmp_path / "b.joblib", "--format", fmt, "--json", "--trust", __name__)
    assert code == 1
    steps = json.loads(stdout)["formats"][0]["steps"]
    bad = [s for s in steps if s["status"] != "supported"]
    assert [s["path"] for s in bad] == ["functiontransformer"]
    assert "_double" in bad[0]["reason"] and "print" in bad[0]["reason"]


def _double(x):  # a custom function with a side effect: never translated
    print("scoring")
    return x * 2
