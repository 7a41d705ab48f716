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
    with pytest.raises(BadInputError, match="only onnx plug-ins take a shape_calculator"):
        plugins.register("pmml", Winsorizer, converter=_convert, shape_calculator=_shape)
    with pytest.raises(BadInputError, match="converter must be callable"):
        plugins.register("json", Winsorizer, converter="not a function")
    assert plugins.get("pmml", Winsorizer) is None and plugins.get("json", Winsorizer) is None


# --------------------------------------------------------------------------- pmml and json plug-ins


class ClippedRobustScaler(TransformerMixin, BaseEstimator):
    """(x - median) / (90th - 10th percentile), clipped to [-0.5, 0.5]: a user's own scaler."""

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.center_ = np.median(X, axis=0)
        self.scale_ = np.percentile(X, 90, axis=0) - np.percentile(X, 10, axis=0)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return np.clip((np.asarray(X, dtype=np.float64) - self.center_) / self.scale_, -0.5, 0.5)


def _pmml_replacement(est: ClippedRobustScaler):
    """What JPMML-SkLearn converts: a RobustScaler with the same statistics, then np.clip."""
    from sklearn.preprocessing import FunctionTransformer, RobustScaler

    scaler = RobustScaler()
    scaler.center_, scaler.scale_, scaler.n_features_in_ = est.center_, est.scale_, est.n_features_in_
    clip = FunctionTransformer(np.clip, kw_args={"a_min": -0.5, "a_max": 0.5}).fit(np.zeros((1, est.n_features_in_)))
    return make_pipeline(scaler, clip)


def _json_node(est: ClippedRobustScaler, *, path: str, n_in: int):
    """SPEC.md 6.4: y = (x - center) / scale, then clip."""
    return {"type": "center_scale", "n_in": n_in, "n_out": n_in, "center": est.center_, "scale": est.scale_,
            "clip": [-0.5, 0.5]}


def _json_two_nodes(est: ClippedRobustScaler, *, path: str, n_in: int):
    """The same as two steps: scale, then clip with an identity multiply_add."""
    ones = np.ones(n_in)
    return [{"type": "center_scale", "n_in": n_in, "n_out": n_in, "center": est.center_, "scale": est.scale_},
            {"type": "multiply_add", "n_in": n_in, "n_out": n_in, "multiply": ones, "add": ones * 0.0, "clip": [-0.5, 0.5]}]


@pytest.fixture
def scaled():
    X, y = load_diabetes(return_X_y=True)
    return make_pipeline(ClippedRobustScaler(), Ridge()).fit(X[:350], y[:350]), X[350:]


def _blocked_at(est, fmt: str) -> list[str]:
    (plan,) = mlexport.check(est, [fmt])
    return [v.path for v in plan.blockers]


def _runtime_errors(res) -> str:
    return "; ".join(f"{r.runtime}/{o.name}: {o.mismatches} rows, max_abs_err={o.max_abs_err}"
                     for r in res.parity.runtimes for o in r.outputs if not o.passed)


@pytest.mark.jpmml
@pytest.mark.pmml4s
def test_pmml_plugin_replaces_the_class_and_scores_like_it(java, scaled, tmp_path: Path) -> None:
    est, X = scaled
    assert _blocked_at(est, "pmml") == ["clippedrobustscaler"]
    plugins.register("pmml", ClippedRobustScaler, converter=_pmml_replacement)
    try:
        assert _blocked_at(est, "pmml") == []
        res = mlexport.export(est, "pmml", tmp_path / "m.pmml", data=X, probe=True)
        assert res.parity is not None and res.parity.passed, _runtime_errors(res)
        assert {r.runtime for r in res.parity.runtimes} == {"jpmml", "pmml4s"}
        assert (np.abs(est[0].transform(X)) == 0.5).any()  # the clip is exercised by held-out rows
    finally:
        plugins.unregister("pmml", ClippedRobustScaler)
    assert _blocked_at(est, "pmml") == ["clippedrobustscaler"]


@getattr(pytest.mark, "json-python")
@getattr(pytest.mark, "json-go")
@getattr(pytest.mark, "json-java")
@pytest.mark.parametrize("converter", [_json_node, _json_two_nodes])
def test_json_plugin_writes_spec_nodes_every_scorer_reads(scaled, tmp_path: Path, converter) -> None:
    est, X = scaled
    assert _blocked_at(est, "json") == ["clippedrobustscaler"]
    plugins.register("json", ClippedRobustScaler, converter=converter)
    try:
        assert _blocked_at(est, "json") == []
        res = mlexport.export(est, "json", tmp_path / "m.json", data=X, probe=True)
        assert res.parity is not None and res.parity.passed, _runtime_errors(res)
        assert {r.runtime for r in res.parity.runtimes} == {"json-python", "json-go", "json-java"}
        import json

        (step,) = json.loads((tmp_path / "m.json").read_text())["steps"]
        assert step["path"] == "clippedrobustscaler" and step["class"] == "ClippedRobustScaler"
        assert step["type"] == ("center_scale" if converter is _json_node else "pipeline")
    finally:
        plugins.unregister("json", ClippedRobustScaler)


def _too_narrow(est, *, path, n_in):
    return {"type": "center_scale", "n_in": 3, "n_out": 3, "center": [0.0] * 3, "scale": [1.0] * 3}


def _unknown_type(est, *, path, n_in):
    return {"type": "winsorize", "n_in": n_in, "n_out": n_in}


def _bad_field(est, *, path, n_in):
    return {"type": "center_scale", "n_in": n_in, "n_out": n_in, "center": est.center_, "scale": "wide"}


def _wrong_length(est, *, path, n_in):
    return {"type": "center_scale", "n_in": n_in, "n_out": n_in, "center": est.center_[:2], "scale": est.scale_}


def _raises(est, *, path, n_in):
    raise RuntimeError("no statistics")


@pytest.mark.parametrize(("converter", "reason"), [
    (_too_narrow, "takes 3 columns but receives 10"),
    (_unknown_type, "'winsorize', not a transform node type"),
    (_bad_field, "schema at 'scale'"),
    (_wrong_length, "center"),
    (_raises, "converter failed (RuntimeError: no statistics)"),
])
def test_json_plugin_output_is_checked_like_any_step(scaled, tmp_path: Path, converter, reason: str) -> None:
    est, X = scaled
    plugins.register("json", ClippedRobustScaler, converter=converter)
    try:
        (plan,) = mlexport.check(est, ["json"])
        (blocker,) = plan.blockers
        assert blocker.path == "clippedrobustscaler" and reason in blocker.reason, blocker.reason
        with pytest.raises(UnsupportedStepError, match="clippedrobustscaler"):
            mlexport.export(est, "json", tmp_path / "m.json", data=X)
        assert not (tmp_path / "m.json").exists()
    finally:
        plugins.unregister("json", ClippedRobustScaler)


def test_pmml_plugin_replacement_is_checked_statically(scaled) -> None:
    est, _X = scaled
    for converter, reason in [(lambda e: "a string", "must return a fitted scikit-learn"),
                              (lambda e: make_pipeline(Winsorizer().fit(np.zeros((2, 10)))), "JPMML-SkLearn has no converter"),
                              (lambda e: 1 / 0, "converter failed (ZeroDivisionError")]:
        plugins.register("pmml", ClippedRobustScaler, converter=converter, replace=True)
        try:
            (plan,) = mlexport.check(est, ["pmml"])
            (blocker,) = plan.blockers
            assert blocker.path == "clippedrobustscaler" and reason in blocker.reason, blocker.reason
        finally:
            plugins.unregister("pmml", ClippedRobustScaler)


def test_json_plugin_is_for_transformers_only(tmp_path: Path) -> None:
    X, y = load_diabetes(return_X_y=True)

    class MyRidge(Ridge):
        pass

    est = MyRidge().fit(X, y)
    plugins.register("json", MyRidge, converter=_json_node)
    try:
        (plan,) = mlexport.check(est, ["json"])
        assert plan.blocked and "custom final estimator" in plan.blockers[0].reason
    finally:
        plugins.unregister("json", MyRidge)
