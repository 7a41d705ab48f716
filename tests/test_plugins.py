"""A user's own estimator class becomes exportable by registering a converter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

import mlexport
from mlexport import plugins
from mlexport.errors import BadInputError, UnsupportedStepError


class Winsorizer(TransformerMixin, BaseEstimator):
    """Clip each column to its fitted 5th..95th percentiles."""

    def fit(self, X, y=None):
        self.lo_, self.hi_ = np.percentile(X, 5, axis=0), np.percentile(X, 95, axis=0)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=np.float64), self.lo_, self.hi_)


def _shape(operator):
    from skl2onnx.common.data_types import DoubleTensorType

    operator.outputs[0].type = DoubleTensorType([operator.inputs[0].get_first_dimension(), operator.raw_operator.n_features_in_])


def _convert(scope, operator, container):
    from onnx import TensorProto

    op = operator.raw_operator
    lo, hi = scope.get_unique_variable_name("lo"), scope.get_unique_variable_name("hi")
    container.add_initializer(lo, TensorProto.DOUBLE, [1, len(op.lo_)], op.lo_.tolist())
    container.add_initializer(hi, TensorProto.DOUBLE, [1, len(op.hi_)], op.hi_.tolist())
    mid = scope.get_unique_variable_name("mid")
    container.add_node("Max", [operator.inputs[0].full_name, lo], [mid], name=scope.get_unique_operator_name("Max"))
    container.add_node("Min", [mid, hi], [operator.outputs[0].full_name], name=scope.get_unique_operator_name("Min"))


@pytest.fixture
def model():
    X, y = load_diabetes(return_X_y=True)
    return make_pipeline(Winsorizer(), Ridge()).fit(X, y), X


def test_custom_class_is_blocked_until_registered_then_exports_with_parity(model, tmp_path: Path) -> None:
    est, X = model
    (onnx_plan,) = mlexport.check(est, ["onnx"])
    assert [v.path for v in onnx_plan.blockers] == ["winsorizer"]
    with pytest.raises(UnsupportedStepError, match="winsorizer"):
        mlexport.export(est, "onnx", tmp_path / "m.onnx", data=X)
    plugins.register("onnx", Winsorizer, converter=_convert, shape_calculator=_shape)
    try:
        (onnx_plan,) = mlexport.check(est, ["onnx"])
        assert not onnx_plan.blocked
        res = mlexport.export(est, "onnx", tmp_path / "m.onnx", data=X, probe=True)
        assert res.parity is not None and res.parity.passed
        with pytest.raises(BadInputError, match="already has"):
            plugins.register("onnx", Winsorizer, converter=_convert, shape_calculator=_shape)
    finally:
        plugins.unregister("onnx", Winsorizer)


def test_register_validates_its_arguments() -> None:
    with pytest.raises(BadInputError, match="format must be one of"):
        plugins.register("tflite", Winsorizer, converter=_convert)
    with pytest.raises(BadInputError, match="shape_calculator"):
        plugins.register("onnx", Winsorizer, converter=_convert)
    with pytest.raises(BadInputError, match="not pmml"):
        plugins.register("pmml", Winsorizer, converter=_convert)
