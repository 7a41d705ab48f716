"""mlexport.testing.assert_parity: passes on a faithful artifact, fails readably."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlexport
from mlexport.testing import assert_parity


@pytest.fixture(scope="module")
def iris():
    data = load_iris(as_frame=True)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data.data, data.target), data.data


def test_assert_parity_by_format_and_by_artifact(iris, tmp_path: Path) -> None:
    model, X = iris
    res = assert_parity(model, "onnx", X)
    assert res.passed and res.rows == len(X)
    art = tmp_path / "m.onnx"
    mlexport.export(model, "onnx", art, data=X)
    assert assert_parity(model, art, X.to_numpy()).passed


def test_assert_parity_failure_names_output_rows_and_values(iris, tmp_path: Path) -> None:
    model, X = iris
    art = tmp_path / "m.onnx"
    mlexport.export(model, "onnx", art, data=X)
    import copy

    drifted = copy.deepcopy(model)
    drifted[-1].intercept_[0] += 1e-3  # one class only: softmax ignores a common shift
    with pytest.raises(AssertionError) as info:
        assert_parity(drifted, art, X)
    msg = str(info.value)
    assert "onnxruntime/proba" in msg and "rows differ" in msg and "max abs err" in msg
    assert "native=" in msg and "onnxruntime=" in msg
