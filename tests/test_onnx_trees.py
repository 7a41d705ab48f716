"""Parity of mlexport's float64 tree converters with native scikit-learn.

Every family (DecisionTree, ExtraTree, RandomForest, ExtraTrees,
GradientBoosting, HistGradientBoosting) x {binary, multiclass with string
labels, regression} is converted and run with a real onnxruntime session on
held-out rows, rows exactly at every split threshold and at its float32 and
float64 neighbours, extreme values and NaN. Labels must be identical and
values satisfy ``|onnx - sklearn| <= 1e-9 + 1e-9 * |sklearn|``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

import sklearn  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import DoubleTensorType  # noqa: E402
from sklearn.base import is_classifier  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import (  # noqa: E402
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

from mlexport.errors import UnsupportedStepError  # noqa: E402
from mlexport.exporters.onnx_trees import TREE_CLASSES, custom_converters  # noqa: E402

pytestmark = pytest.mark.onnxruntime

TARGET_OPSET = {"": 21, "ai.onnx.ml": 5}
RTOL = ATOL = 1e-9

FAMILIES = {
    "DecisionTree": (
        lambda: DecisionTreeClassifier(max_depth=6, random_state=0),
        lambda: DecisionTreeRegressor(max_depth=6, random_state=0),
    ),
    "ExtraTree": (
        lambda: ExtraTreeClassifier(max_depth=8, random_state=0),
        lambda: ExtraTreeRegressor(max_depth=8, random_state=0),
    ),
    "RandomForest": (
        lambda: RandomForestClassifier(n_estimators=5, max_depth=6, random_state=0),
        lambda: RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0),
    ),
    "ExtraTrees": (
        lambda: ExtraTreesClassifier(n_estimators=5, max_depth=6, random_state=0),
        lambda: ExtraTreesRegressor(n_estimators=5, max_depth=6, random_state=0),
    ),
    "GradientBoosting": (
        lambda: GradientBoostingClassifier(n_estimators=8, max_depth=3, random_state=0),
        lambda: GradientBoostingRegressor(n_estimators=8, max_depth=3, random_state=0),
    ),
    "HistGradientBoosting": (
        lambda: HistGradientBoostingClassifier(max_iter=8, random_state=0),
        lambda: HistGradientBoostingRegressor(max_iter=8, random_state=0),
    ),
}
# families whose native predict accepts NaN
NAN_FAMILIES = {"DecisionTree", "ExtraTree", "RandomForest", "ExtraTrees", "HistGradientBoosting"}
IRIS_NAMES = np.array(["setosa", "versicolor", "virginica"])


# ---------------------------------------------------------------- helpers


def _convert(model, n_features, clf=None):
    clf = model if clf is None else clf
    convs, shapes = custom_converters()
    options = {id(clf): {"zipmap": False}} if is_classifier(clf) else None
    onx = convert_sklearn(
        model,
        initial_types=[("X", DoubleTensorType([None, n_features]))],
        options=options,
        target_opset=TARGET_OPSET,
        custom_conversion_functions=convs,
        custom_shape_calculators=shapes,
    )
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def _native(model, X):
    # sklearn's own trees cast X to float32 and refuse the resulting inf unless
    # finiteness checks are off; the arithmetic is unchanged.
    with sklearn.config_context(assume_finite=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if is_classifier(model):
            return model.predict(X), model.predict_proba(X)
        return None, np.asarray(model.predict(X), dtype=np.float64)


def assert_parity(model, X, clf=None):
    """Run ONNX and sklearn on X; return the max abs error."""
    sess = _convert(model, X.shape[1], clf)
    out = sess.run(None, {"X": np.ascontiguousarray(X, dtype=np.float64)})
    want_label, want = _native(model, X)
    if want_label is not None:
        got_label, got = out[0], out[1]
        assert got_label.shape == want_label.shape
        mism = np.flatnonzero(np.asarray(got_label) != np.asarray(want_label))
        assert mism.size == 0, f"labels differ on rows {mism[:10]}: {got_label[mism[:5]]} vs {want_label[mism[:5]]}"
    else:
        got = out[0]
        assert got.shape == (X.shape[0], 1 if want.ndim == 1 else want.shape[1])
    got = np.asarray(got, dtype=np.float64).reshape(want.shape)
    assert got.dtype == np.float64
    err = np.abs(got - want)
    bad = ~(err <= ATOL + RTOL * np.abs(want))
    assert not bad.any(), (
        f"max abs err {np.nanmax(err):.3e}; bad rows {np.flatnonzero(bad.reshape(len(X), -1).any(1))[:10]}"
    )
    return float(err.max())


def _splits(model):
    """(feature, threshold) of every numeric split of a fitted model."""
    est = model[-1] if isinstance(model, Pipeline) else model
    out = []
    if hasattr(est, "_predictors"):
        for it in est._predictors:
            for p in it:
                n = p.nodes[~p.nodes["is_leaf"].astype(bool) & ~p.nodes["is_categorical"].astype(bool)]
                out += list(zip(n["feature_idx"].tolist(), n["num_threshold"].tolist(), strict=True))
        return out
    trees = [est] if hasattr(est, "tree_") else list(np.ravel(est.estimators_))
    for t in trees:
        inner = t.tree_.children_left != -1
        out += list(zip(t.tree_.feature[inner].tolist(), t.tree_.threshold[inner].tolist(), strict=True))
    return out


def _neighbours(t):
    f32 = np.float32(t)
    return [
        t,
        np.nextafter(t, np.inf),
        np.nextafter(t, -np.inf),
        float(f32),
        float(np.nextafter(f32, np.float32(np.inf))),
        float(np.nextafter(f32, np.float32(-np.inf))),
    ]


def probe_rows(model, X_test, nan=False):
    """Held-out rows + threshold/neighbour rows + extremes (+ NaN rows)."""
    bases = X_test[:2]
    rows = [X_test]
    for f, t in sorted(set(_splits(model))):
        vals = np.array(_neighbours(t))
        for b in bases:
            r = np.repeat(b[None, :], len(vals), axis=0)
            r[:, f] = vals
            rows.append(r)
    n = X_test.shape[1]
    for v in (1e300, -1e300, np.inf, -np.inf):
        r = np.repeat(bases[:1], n + 1, axis=0)
        r[np.arange(n), np.arange(n)] = v
        r[n, :] = v
        rows.append(r)
    if nan:
        r = np.repeat(bases[:1], n + 1, axis=0)
        r[np.arange(n), np.arange(n)] = np.nan
        r[n, :] = np.nan
        rows.append(r)
        rows.append(np.where(np.random.default_rng(1).random(X_test.shape) < 0.3, np.nan, X_test))
    return np.vstack(rows)


def _data(task, with_nan=False):
    if task == "binary":
        X, y = load_breast_cancer(return_X_y=True)
    elif task == "multiclass":
        X, y = load_iris(return_X_y=True)
        y = IRIS_NAMES[y]
    else:
        X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.3, random_state=0)
    if with_nan:
        X_train = X_train.copy()
        X_train[np.random.default_rng(0).random(X_train.shape) < 0.08] = np.nan
    return X_train, X_test, y_train


# ------------------------------------------------------------------ tests


def test_tree_classes_and_no_import_side_effects():
    import skl2onnx.common._registration as reg

    before = dict(reg._converter_pool)
    convs, shapes = custom_converters()
    assert set(convs) == set(shapes) == set(TREE_CLASSES)
    assert len(TREE_CLASSES) == 12
    assert dict(reg._converter_pool) == before


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_parity(family, task):
    make_clf, make_reg = FAMILIES[family]
    model = make_reg() if task == "regression" else make_clf()
    X_train, X_test, y_train = _data(task, with_nan=family == "HistGradientBoosting")
    model.fit(X_train, y_train)
    X = probe_rows(model, X_test, nan=family in NAN_FAMILIES)
    assert_parity(model, X)


@pytest.mark.parametrize(
    "model",
    [
        HistGradientBoostingRegressor(loss="absolute_error", max_iter=6),
        HistGradientBoostingRegressor(loss="quantile", quantile=0.3, max_iter=6),
        HistGradientBoostingRegressor(loss="poisson", max_iter=6),
        HistGradientBoostingRegressor(loss="gamma", max_iter=6),
        GradientBoostingRegressor(loss="absolute_error", n_estimators=6),
        GradientBoostingRegressor(loss="huber", n_estimators=6),
        GradientBoostingRegressor(loss="quantile", alpha=0.7, n_estimators=6),
        GradientBoostingRegressor(init="zero", n_estimators=6),
    ],
    ids=lambda m: f"{type(m).__name__}-{m.loss}-{m.init if hasattr(m, 'init') else ''}",
)
def test_regression_losses(model):
    X_train, X_test, y_train = _data("regression")
    model.fit(X_train, y_train)
    assert_parity(model, probe_rows(model, X_test))


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_gradient_boosting_exponential_and_zero_init(task):
    X_train, X_test, y_train = _data(task)
    if task == "binary":
        model = GradientBoostingClassifier(loss="exponential", n_estimators=6, random_state=0)
    else:
        model = GradientBoostingClassifier(init="zero", n_estimators=6, random_state=0)
    model.fit(X_train, y_train)
    assert_parity(model, probe_rows(model, X_test))


@pytest.mark.parametrize("cls", [DecisionTreeRegressor, RandomForestRegressor, ExtraTreesRegressor])
def test_multi_output_regression(cls):
    X_train, X_test, y_train = _data("regression")
    Y = np.c_[y_train, np.sqrt(y_train), -y_train]
    model = cls(max_depth=5, random_state=0, **({} if cls is DecisionTreeRegressor else {"n_estimators": 4}))
    model.fit(X_train, Y)
    assert_parity(model, probe_rows(model, X_test, nan=True))


def _categorical_data(n=600, seed=0):
    """Two integer-coded categorical columns (one non-contiguous with negative
    and >= 256 codes), NaN in training, two numeric columns."""
    rng = np.random.default_rng(seed)
    c1 = rng.integers(0, 12, n).astype(float)
    c2 = rng.choice([-3.0, 7.0, 250.0, 1000.0, 5.5], n)
    num = rng.normal(size=(n, 2))
    c1[rng.random(n) < 0.1] = np.nan
    num[rng.random(n) < 0.05, 0] = np.nan
    X = np.c_[num[:, 0], c1, num[:, 1], c2]
    y = (
        np.nan_to_num(num[:, 0])
        + np.where(np.isin(c1, [1, 4, 5, 9]), 2.0, 0.0)
        + np.where(np.isnan(c1), -1.0, 0.0)
        + np.where(c2 == 250.0, 1.5, 0.0)
        + 0.1 * rng.normal(size=n)
    )
    return X, y


def _categorical_probe(X):
    seen1 = [0, 1, 4, 11]
    unseen1 = [12, 13, -1, 255, 256, 0.5, 1e6, -1e300, 1e300, np.inf, -np.inf]
    seen2 = [-3, 7, 250, 1000, 5.5]
    unseen2 = [0, 3, 256, -4, 1e300]
    rows = []
    base = np.array([0.1, 1.0, -0.2, 7.0])
    for v in seen1 + unseen1 + [np.nan]:
        for w in seen2 + unseen2 + [np.nan]:
            rows.append([base[0], v, base[2], w])
    rows = np.array(rows, dtype=np.float64)
    return np.vstack([X, rows, np.c_[np.full(3, np.nan), [np.nan, 1, 2], [np.nan, 1e300, -1e300], [np.nan, -3, 7]]])


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_hist_gradient_boosting_categorical(kind):
    X, y = _categorical_data()
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    if kind == "regressor":
        model = HistGradientBoostingRegressor(max_iter=15, categorical_features=[1, 3], random_state=0)
    else:
        q = np.quantile(y_train, [0.33, 0.66])
        y_train = np.array(["low", "mid", "high"])[np.searchsorted(q, y_train)]
        model = HistGradientBoostingClassifier(max_iter=10, categorical_features=[1, 3], random_state=0)
    model.fit(X_train, y_train)
    assert any(
        p.nodes["is_categorical"][~p.nodes["is_leaf"].astype(bool)].any() for it in model._predictors for p in it
    ), "the model should use categorical splits"
    assert_parity(model, np.vstack([_categorical_probe(X_test), probe_rows(model, X_test, nan=True)]))


def test_hist_gradient_boosting_from_dtype():
    pd = pytest.importorskip("pandas")
    X, y = _categorical_data()
    cols = ["a", "c1", "b", "c2"]

    def frame(A):
        df = pd.DataFrame(A, columns=cols)
        return df.astype({"c1": "category", "c2": "category"})

    model = HistGradientBoostingRegressor(max_iter=10, categorical_features="from_dtype", random_state=0)
    model.fit(frame(X), y)
    Xt = _categorical_probe(X[:50])
    Xt = Xt[~np.isinf(Xt).any(axis=1)]  # sklearn refuses inf inside a pandas categorical
    sess = _convert(model, 4)
    got = sess.run(None, {"X": Xt})[0].ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = model.predict(frame(Xt))
    assert np.all(np.abs(got - want) <= ATOL + RTOL * np.abs(want))

    # string categories cannot come through a float64 input: clear error
    df = pd.DataFrame({"a": X[:, 0], "s": pd.Categorical(np.array(["x", "y", "z"])[np.arange(len(X)) % 3])})
    model = HistGradientBoostingRegressor(max_iter=3, categorical_features="from_dtype").fit(df, y)
    with pytest.raises(UnsupportedStepError, match="non-numeric categories"):
        _convert(model, 2)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_last_step_of_pipeline_with_scaler(family):
    X_train, X_test, y_train = _data("multiclass")
    pipe = Pipeline([("scale", StandardScaler()), ("model", FAMILIES[family][0]())]).fit(X_train, y_train)
    # held-out rows and extremes; thresholds live in the scaled space
    X = np.vstack([X_test, X_test * 1.5, np.full((1, 4), 1e300), np.full((1, 4), -1e300)])
    assert_parity(pipe, X, clf=pipe[-1])


def test_after_column_transformer():
    X_train, X_test, y_train = _data("regression")
    ct = ColumnTransformer([("s", StandardScaler(), [0, 1, 2]), ("p", "passthrough", list(range(3, 10)))])
    pipe = Pipeline([("ct", ct), ("model", GradientBoostingRegressor(n_estimators=5, random_state=0))])
    pipe.fit(X_train, y_train)
    assert_parity(pipe, np.vstack([X_test, np.full((1, 10), 1e300)]))


def test_unsupported_raise_clear_errors():
    from sklearn.linear_model import LinearRegression

    X_train, _, y_train = _data("regression")
    gb = GradientBoostingRegressor(init=LinearRegression(), n_estimators=2).fit(X_train, y_train)
    with pytest.raises(UnsupportedStepError, match="init=LinearRegression") as err:
        _convert(gb, X_train.shape[1])
    assert err.value.cls == "GradientBoostingRegressor" and err.value.hint

    Xc, _, yc = _data("binary")
    dt = DecisionTreeClassifier(max_depth=2).fit(Xc, np.c_[yc, 1 - yc])
    with pytest.raises(UnsupportedStepError, match="multi-output classification"):
        _convert(dt, Xc.shape[1])

    rf = RandomForestClassifier(n_estimators=2, max_depth=2).fit(Xc, yc)
    convs, shapes = custom_converters()
    with pytest.raises(UnsupportedStepError, match="zipmap"):  # default zipmap=True
        convert_sklearn(
            rf,
            initial_types=[("X", DoubleTensorType([None, Xc.shape[1]]))],
            target_opset=TARGET_OPSET,
            custom_conversion_functions=convs,
            custom_shape_calculators=shapes,
        )
    with pytest.raises(UnsupportedStepError, match="ai.onnx.ml"):
        convert_sklearn(
            rf,
            initial_types=[("X", DoubleTensorType([None, Xc.shape[1]]))],
            options={id(rf): {"zipmap": False}},
            target_opset=21,
            custom_conversion_functions=convs,
            custom_shape_calculators=shapes,
        )


def test_f32_equivalent_thresholds():
    from mlexport.exporters.onnx_trees import f32_equivalent_thresholds

    rng = np.random.default_rng(0)
    t = np.r_[
        rng.normal(size=2000) * 10.0 ** rng.integers(-45, 39, 2000),
        [0.0, -0.0, 0.1, 1e-46, -1e-46, 3.4028234663852886e38, 3.5e38, -3.5e38, np.inf, -np.inf, 1e300, -1e300],
    ]
    tp = f32_equivalent_thresholds(t)
    with np.errstate(over="ignore"):
        for x in (tp, np.nextafter(tp, np.inf), np.nextafter(tp, -np.inf)):
            want = x.astype(np.float32).astype(np.float64) <= t
            assert np.array_equal(x <= tp, want)
