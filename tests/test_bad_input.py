"""Bad input: one clear line on stderr naming the culprit, exit 2, nothing written."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from mlexport.cli import app

runner = CliRunner()


def run(*args: object) -> tuple[int, str]:
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.stderr


def _one_line_exit_2(code: int, stderr: str, *needles: str) -> None:
    assert code == 2, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    for n in needles:
        assert n in lines[0], lines[0]
    assert "Traceback" not in stderr


def _no_artifacts(d: Path) -> None:
    leftovers = [p.name for p in d.iterdir() if p.suffix in (".onnx", ".tmp") or ".onnx." in p.name]
    assert leftovers == []


class Evil:
    def __reduce__(self):  # would run a shell command when unpickled
        return (os.system, ("touch pwned-by-pickle",))


def test_missing_file(tmp_path: Path) -> None:
    code, err = run("onnx", tmp_path / "nope.joblib")
    _one_line_exit_2(code, err, "nope.joblib", "no such file")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.joblib", b"", "empty"),
        ("random.joblib", os.urandom(256), "random.joblib"),
        ("text.pkl", b"hello, I am not a model\n", "text.pkl"),
    ],
)
def test_unreadable_model_files(tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    (tmp_path / name).write_bytes(content)
    code, err = run("onnx", tmp_path / name)
    _one_line_exit_2(code, err, needle)
    _no_artifacts(tmp_path)


def test_truncated_pickle(tmp_path: Path, iris_model_file) -> None:
    model, _ = iris_model_file
    raw = model.read_bytes()
    (tmp_path / "cut.joblib").write_bytes(raw[: len(raw) // 2])
    code, err = run("onnx", tmp_path / "cut.joblib")
    _one_line_exit_2(code, err, "cut.joblib")
    _no_artifacts(tmp_path)


def test_wrong_object_and_unfitted(tmp_path: Path) -> None:
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    code, err = run("onnx", tmp_path / "dict.joblib")
    _one_line_exit_2(code, err, "dict.joblib", "scikit-learn estimator")
    joblib.dump(LogisticRegression(), tmp_path / "unfitted.joblib")
    code, err = run("onnx", tmp_path / "unfitted.joblib")
    _one_line_exit_2(code, err, "unfitted.joblib", "not fitted")
    _no_artifacts(tmp_path)


def test_hostile_pickle_is_refused_and_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Evil()))
    code, err = run("onnx", tmp_path / "evil.pkl")
    _one_line_exit_2(code, err, "evil.pkl", "system")
    assert not (tmp_path / "pwned-by-pickle").exists()


def test_wrong_suffix_and_directory(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("x")
    code, err = run("onnx", tmp_path / "m.txt")
    _one_line_exit_2(code, err, "m.txt", ".joblib")
    code, err = run("onnx", tmp_path)
    _one_line_exit_2(code, err, "directory")


def test_missing_column_and_text_in_numeric_column(mixed_files, tmp_path: Path) -> None:
    clf, _, csv = mixed_files
    df = pd.read_csv(csv)
    df.drop(columns=["income"]).to_csv(tmp_path / "nocol.csv", index=False)
    code, err = run("onnx", clf, "--data", tmp_path / "nocol.csv", "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "nocol.csv", "'income'")
    bad = df.copy()
    bad["age"] = bad["age"].astype(object)
    bad.loc[bad.index[3], "age"] = "forty"
    bad.to_csv(tmp_path / "text.csv", index=False)
    code, err = run("onnx", clf, "--data", tmp_path / "text.csv", "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "text.csv", "'age'", "'forty'", "row 4")
    _no_artifacts(tmp_path)


def test_missing_data_file_and_bad_data_suffix(iris_model_file, tmp_path: Path) -> None:
    model, _ = iris_model_file
    code, err = run("onnx", model, "--data", tmp_path / "none.csv", "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "none.csv", "no such file")
    (tmp_path / "d.xlsx").write_text("x")
    code, err = run("onnx", model, "--data", tmp_path / "d.xlsx", "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "d.xlsx")
    _no_artifacts(tmp_path)


def test_numpy_model_needs_the_right_column_count(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    joblib.dump(LogisticRegression().fit(X, X[:, 0] > 0), tmp_path / "np.joblib")
    pd.DataFrame(X[:, :2]).to_csv(tmp_path / "two.csv", index=False)
    code, err = run("onnx", tmp_path / "np.joblib", "--data", tmp_path / "two.csv", "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "3 columns", "Got 2")


def test_existing_artifact_survives_a_failed_export(iris_model_file, tmp_path: Path) -> None:
    model, _ = iris_model_file
    art = tmp_path / "m.onnx"
    assert run("onnx", model, "-o", art)[0] == 0
    before = art.read_bytes()
    code, _ = run("onnx", model, "--data", tmp_path / "missing.csv", "-o", art)
    assert code == 2
    assert art.read_bytes() == before


def test_bad_tolerance_and_unknown_runtime(iris_model_file, tmp_path: Path) -> None:
    model, _ = iris_model_file
    code, err = run("onnx", model, "--rtol", "-1", "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "rtol")
    code, err = run("onnx", model, "--runtime", "tensorflow", "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "tensorflow")


def test_unsupported_installed_version_is_refused_clearly(iris_model_file, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlexport import versions

    real = versions.installed
    monkeypatch.setattr(versions, "installed", lambda pkg: "1.21.0" if pkg == "skl2onnx" else real(pkg))
    model, _ = iris_model_file
    code, err = run("onnx", model, "-o", tmp_path / "a.onnx")
    _one_line_exit_2(code, err, "skl2onnx must be >=1.20.0,<1.21", "Got 1.21.0")
    _no_artifacts(tmp_path)


def _resave_as_if_from(path: Path, version: str, out: Path) -> None:
    """Rewrite the _sklearn_version a pickle records, as an older scikit-learn would have written it."""
    import sklearn

    raw = path.read_bytes()
    old, new = sklearn.__version__.encode(), version.encode()
    assert len(old) == len(new)  # same length keeps the pickle's framing valid
    out.write_bytes(raw.replace(old, new))


def test_model_saved_with_another_sklearn_warns_and_a_very_old_one_is_refused(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(40, 2))
    src = tmp_path / "m.pkl"
    src.write_bytes(pickle.dumps(LogisticRegression().fit(X, X[:, 0] > 0)))
    _resave_as_if_from(src, "1.8.0", tmp_path / "other.pkl")
    r = runner.invoke(app, ["onnx", str(tmp_path / "other.pkl"), "-o", str(tmp_path / "a.onnx")])
    assert r.exit_code == 0
    assert "warning" in r.stderr and "1.8.0" in r.stderr
    _resave_as_if_from(src, "0.9.0", tmp_path / "old.pkl")
    code, err = run("onnx", tmp_path / "old.pkl", "-o", tmp_path / "b.onnx")
    _one_line_exit_2(code, err, "0.9.0", ">= 1.0")
