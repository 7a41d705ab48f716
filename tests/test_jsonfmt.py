"""The JSON coefficients format: export -> schema -> reference scorer == sklearn.

Every covered estimator is exported, validated against ``schema.json``,
round-tripped through JSON text and scored by ``mlexport.jsonfmt.score``;
labels must be identical and numbers within ``1e-9 + 1e-9 * |native|``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cases import hgb_categorical_data
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    GammaRegressor,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    MultiTaskElasticNet,
    MultiTaskLasso,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    PassiveAggressiveClassifier,
    PassiveAggressiveRegressor,
    Perceptron,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
    TheilSenRegressor,
    TweedieRegressor,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeRegressor

from mlexport import jsonfmt
from mlexport.errors import BadInputError, UnsupportedStepError
from mlexport.exporters import get_exporter
from mlexport.jsonfmt.export import dumps, to_document
from mlexport.jsonfmt.score import load
from mlexport.model import from_estimator
from mlexport.runtimes import get_runtime

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    # OpenMP / BLAS threads spin badly on a loaded 2-core machine; one thread keeps the module fast.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield

RTOL = ATOL = 1e-9


# --------------------------------------------------------------------------- helpers


def assert_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    assert np.array_equal(nan_g, nan_w), f"{what}: NaN where native is not (or the reverse)"
    ok = nan_w | (np.abs(got - want) <= ATOL + RTOL * np.abs(want))
    if not ok.all():
        i = np.argwhere(~ok)[0]
        raise AssertionError(f"{what}: at {tuple(i)} got {got[tuple(i)]!r}, want {want[tuple(i)]!r}")


def to_contract(X: pd.DataFrame) -> pd.DataFrame:
    """The runtime input contract: numbers float64, strings object with NaN for missing."""
    out = {}
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(np.float64)
        else:
            arr = s.to_numpy(dtype=object)
            arr[pd.isna(arr)] = np.nan
            out[c] = arr
    return pd.DataFrame(out, index=X.index)


def roundtrip(est: Any) -> tuple[dict[str, Any], Any]:
    doc = to_document(est)
    jsonfmt.validate(doc)
    text = dumps(doc)
    assert "NaN," not in text.replace('"NaN"', "")  # no bare NaN tokens
    return doc, load(text)


def check(est: Any, X: Any, X_scorer: Any = None) -> dict[str, Any]:
    """Export ``est``, score ``X`` with the reference scorer, compare with sklearn."""
    doc, scorer = roundtrip(est)
    Xs = X if X_scorer is None else X_scorer
    if isinstance(Xs, np.ndarray):
        Xs = pd.DataFrame(Xs, columns=[c["name"] for c in doc["inputs"]])
    out = scorer.predict(Xs)
    if doc["task"] == "classification":
        want = est.predict(X)
        assert out.label is not None
        assert list(out.label) == list(want), f"labels differ at {np.flatnonzero(out.label != want)[:5]}"
        assert out.label.dtype.kind == np.asarray(est.classes_).dtype.kind or out.label.dtype == object
        if hasattr(est, "predict_proba") and _has_proba(est):
            assert out.proba is not None, "native has predict_proba but the export gives no proba"
            assert_close(out.proba, est.predict_proba(X), "proba")
        else:
            assert out.proba is None
        assert tuple(out.classes) == tuple(np.asarray(est.classes_).tolist())
    else:
        assert_close(out.value, est.predict(X), "value")
    return doc


def _has_proba(est: Any) -> bool:
    return hasattr(est, "predict_proba")  # False when sklearn hides it (e.g. SGD with hinge loss)


def mixed_frame(n: int, seed: int, unseen: bool = False) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(1),
            "income": rng.lognormal(10, 1, n),
            "score": rng.normal(0, 1, n),
            "empty": np.full(n, np.nan),
            "city": rng.choice(["paris", "lyon", "nice", "lille", "brest"], n, p=[0.4, 0.3, 0.2, 0.07, 0.03]),
            "plan": rng.choice(["free", "pro", "team"], n),
            "rooms": rng.choice([1.0, 2.0, 3.0, 4.0], n),
        }
    )
    df.loc[rng.random(n) < 0.15, "age"] = np.nan
    df.loc[rng.random(n) < 0.1, "income"] = np.nan
    df.loc[rng.random(n) < 0.12, "city"] = np.nan
    if unseen:
        df.loc[rng.random(n) < 0.1, "city"] = "tokyo"
        df.loc[rng.random(n) < 0.1, "plan"] = "enterprise"
        df.loc[rng.random(n) < 0.1, "rooms"] = 7.0
        df.loc[rng.random(n) < 0.05, "plan"] = np.nan
    signal = (df["age"].fillna(40) - 40) / 12 + df["score"] + (df["city"] == "paris") - (df["plan"] == "free")
    y_cls = np.where(signal > 0.5, "high", np.where(signal > -0.5, "mid", "low"))
    y_reg = signal.to_numpy() * 10 + rng.normal(0, 1, n)
    return df, y_cls, y_reg


TRAIN, Y_CLS, Y_REG = mixed_frame(400, 0)
TEST, _, _ = mixed_frame(200, 1, unseen=True)
TEST_ALL = pd.concat([TRAIN.iloc[:100], TEST], ignore_index=True)
NUM = ["age", "income", "score"]


def preprocessor(**over: Any) -> ColumnTransformer:
    parts = {
        "num": make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
        "city": make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
        ),
        "plan": OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5),
        "rooms": OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    }
    cols = {"num": NUM, "city": ["city"], "plan": ["plan"], "rooms": ["rooms"]}
    parts.update(over)
    return ColumnTransformer([(k, v, cols[k]) for k, v in parts.items()], remainder="drop")


# --------------------------------------------------------------------------- pipelines on a mixed frame


@pytest.mark.parametrize(
    "final",
    [
        LogisticRegression(max_iter=2000),
        SGDClassifier(loss="log_loss", random_state=0),
        SGDClassifier(loss="modified_huber", random_state=0),
        SGDClassifier(loss="hinge", random_state=0),
        LinearSVC(),
        GaussianNB(),
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0),
        DecisionTreeClassifier(max_depth=6, random_state=0),
        RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0),
        ExtraTreesClassifier(n_estimators=15, max_depth=6, random_state=0),
        GradientBoostingClassifier(n_estimators=15, random_state=0),
        HistGradientBoostingClassifier(max_iter=15, random_state=0),
    ],
    ids=lambda e: type(e).__name__ + ("-" + e.loss if hasattr(e, "loss") and isinstance(e.loss, str) else ""),
)
def test_mixed_pipeline_classifier(final: Any) -> None:
    model = Pipeline([("pre", preprocessor()), ("clf", final)]).fit(TRAIN, Y_CLS)
    check(model, TEST_ALL, to_contract(TEST_ALL))


@pytest.mark.parametrize(
    "final",
    [
        LinearRegression(),
        Ridge(alpha=0.5),
        Lasso(alpha=0.01),
        ElasticNet(alpha=0.01),
        SGDRegressor(random_state=0),
        LinearSVR(max_iter=5000),
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=300, random_state=0),
        DecisionTreeRegressor(max_depth=6),
        RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0),
        ExtraTreesRegressor(n_estimators=10, max_depth=6, random_state=0),
        GradientBoostingRegressor(n_estimators=15, random_state=0),
        HistGradientBoostingRegressor(max_iter=15, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_mixed_pipeline_regressor(final: Any) -> None:
    model = Pipeline([("pre", preprocessor()), ("reg", final)]).fit(TRAIN, Y_REG)
    check(model, TEST_ALL, to_contract(TEST_ALL))


def test_binary_string_labels_and_int_labels() -> None:
    y_bin = np.where(Y_CLS == "high", "yes", "no")
    m = Pipeline([("pre", preprocessor()), ("clf", LogisticRegression(max_iter=2000))]).fit(TRAIN, y_bin)
    check(m, TEST_ALL)
    y_int = (Y_CLS == "high").astype(np.int64) * 3 + 1
    m = Pipeline([("pre", preprocessor()), ("clf", LogisticRegression(max_iter=2000))]).fit(TRAIN, y_int)
    doc = check(m, TEST_ALL)
    assert doc["output"]["classes"] == [1, 4]


@pytest.mark.parametrize(
    "imputer",
    [
        SimpleImputer(strategy="mean"),
        SimpleImputer(strategy="most_frequent", add_indicator=True),
        SimpleImputer(strategy="constant", fill_value=-3.5, add_indicator=True),
        SimpleImputer(strategy="mean", keep_empty_features=True, add_indicator=True),
        SimpleImputer(strategy=lambda col: 1.25),  # callable statistic: only the fitted numbers matter
    ],
    ids=["mean", "most_frequent-ind", "constant-ind", "keep_empty", "callable"],
)
def test_imputers_with_all_missing_column(imputer: SimpleImputer) -> None:
    cols = ["age", "empty", "income", "score"]
    model = Pipeline(
        [("pre", ColumnTransformer([("num", imputer, cols)])), ("std", StandardScaler()),
         ("clf", LogisticRegression(max_iter=2000))]
    ).fit(TRAIN, Y_CLS)
    doc = check(model, TEST_ALL)
    imp = doc["steps"][0]["parts"][0]["node"]
    kept = [c["input"] for c in imp["columns"]]
    assert len(kept) + len(imp["indicators"]) == model[0].transform(TRAIN.iloc[:1]).shape[1]
    if imputer.strategy == "mean":
        assert (1 in kept) == imputer.keep_empty_features  # the all-missing column is dropped unless kept


def test_string_imputer_and_custom_missing_marker() -> None:
    X = TRAIN.copy()
    X["rooms"] = X["rooms"].where(np.arange(len(X)) % 9 != 0, -1.0)
    T = TEST_ALL.copy()
    T["rooms"] = T["rooms"].where(np.arange(len(T)) % 7 != 0, -1.0)
    pre = ColumnTransformer(
        [
            ("city", make_pipeline(SimpleImputer(strategy="most_frequent", add_indicator=True),
                                   OneHotEncoder(handle_unknown="ignore")), ["city", "plan"]),
            ("rooms", SimpleImputer(missing_values=-1.0, strategy="mean", add_indicator=True), ["rooms"]),
        ]
    )
    model = make_pipeline(pre, LogisticRegression(max_iter=2000)).fit(X, Y_CLS)
    check(model, T, to_contract(T))


@pytest.mark.parametrize(
    "scaler",
    [
        StandardScaler(),
        StandardScaler(with_mean=False),
        StandardScaler(with_std=False),
        MinMaxScaler(feature_range=(-2, 3), clip=True),
        MinMaxScaler(),
        RobustScaler(quantile_range=(10, 90), unit_variance=True),
        RobustScaler(with_centering=False),
        MaxAbsScaler(),
        PolynomialFeatures(degree=2),
        PolynomialFeatures(degree=3, include_bias=False),
        PolynomialFeatures(degree=2, interaction_only=True),
        PolynomialFeatures(degree=(2, 3)),
        PCA(n_components=2),
        PCA(n_components=3, whiten=True),
    ],
    ids=lambda e: repr(e).replace(" ", ""),
)
def test_numeric_transformers(scaler: Any) -> None:
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(scaler, LogisticRegression(max_iter=3000)).fit(X[::2], y[::2])
    extreme = np.array([[100.0, -50.0, 0.0, 1e6], [-1e3, 2.0, 3.0, 4.0]])
    check(model, np.vstack([X, extreme]))


def test_polynomial_is_bit_exact() -> None:
    X, _ = load_diabetes(return_X_y=True)
    poly = PolynomialFeatures(degree=3).fit(X)
    doc, scorer = roundtrip(make_pipeline(poly, LinearRegression()).fit(X, X[:, 0]))
    assert np.array_equal(scorer.features(pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])), poly.transform(X))


@pytest.mark.parametrize(
    "enc",
    [
        OneHotEncoder(handle_unknown="ignore", drop="first"),
        OneHotEncoder(handle_unknown="ignore", drop="if_binary"),
        OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=3),
        OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.1, drop="first"),
        OneHotEncoder(handle_unknown="warn", min_frequency=20),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=99, min_frequency=25),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, max_categories=3),
    ],
    ids=lambda e: repr(e).replace(" ", ""),
)
def test_encoders_missing_as_category_and_unknowns(enc: Any) -> None:
    # city has NaN at fit time (a category of its own); plan and rooms get NaN / unseen values only at test time
    pre = ColumnTransformer([("enc", enc, ["city", "plan", "rooms"]), ("num", SimpleImputer(), NUM)])
    model = make_pipeline(pre, HistGradientBoostingClassifier(max_iter=10, random_state=0)).fit(TRAIN, Y_CLS)
    check(model, TEST_ALL, to_contract(TEST_ALL))
    model = make_pipeline(pre, SimpleImputer(strategy="median"), StandardScaler(),
                          LogisticRegression(max_iter=3000)).fit(TRAIN, Y_CLS)
    check(model, TEST_ALL)


def test_encoder_error_on_unknown_is_an_input_error() -> None:
    pre = ColumnTransformer([("enc", OneHotEncoder(), ["plan"]), ("num", SimpleImputer(), NUM)])
    model = make_pipeline(pre, StandardScaler(), LogisticRegression(max_iter=2000)).fit(TRAIN, Y_CLS)
    check(model, TRAIN)  # known categories only: fine
    _doc, scorer = roundtrip(model)
    with pytest.raises(BadInputError, match="unknown category 'enterprise'"):
        scorer.predict(TEST_ALL)


def test_column_transformer_layouts() -> None:
    # passthrough, drop, an estimator remainder, weights, a FeatureUnion and nested pipelines
    ct = ColumnTransformer(
        [
            ("drop_me", "drop", ["score", "plan"]),
            ("pass", "passthrough", ["rooms"]),
            ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
            ("union", FeatureUnion([("std", StandardScaler()), ("mm", MinMaxScaler()), ("p", "passthrough")],
                                   transformer_weights={"mm": 2.0}), ["income"]),
            ("empty", StandardScaler(), []),
        ],
        remainder=make_pipeline(SimpleImputer(), make_pipeline(FunctionTransformer(), RobustScaler())),
        transformer_weights={"city": 0.5, "remainder": 3.0},
    )
    X = TRAIN.assign(income=TRAIN["income"].fillna(1000.0))
    T = TEST_ALL.assign(income=TEST_ALL["income"].fillna(1000.0))
    model = Pipeline([("pre", ct), ("skip", "passthrough"), ("std", StandardScaler()),
                      ("clf", LogisticRegression(max_iter=3000))]).fit(X, Y_CLS)
    doc = check(model, T)
    names = [p["name"] for p in doc["steps"][0]["parts"]]
    assert names == ["pass", "city", "union", "remainder"]

    remainder_pass = ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"])],
                                       remainder="passthrough")
    model = make_pipeline(SimpleImputer().set_output(transform="default") if False else remainder_pass,
                          SimpleImputer(), GaussianNB()).fit(TRAIN.drop(columns=["empty"]), Y_CLS)
    check(model, TEST_ALL.drop(columns=["empty"]))


def test_nested_pipeline_as_last_step() -> None:
    inner = Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=4)), ("mlp",
                      MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, random_state=0))])
    X, y = load_breast_cancer(return_X_y=True)
    model = Pipeline([("impute", SimpleImputer()), ("inner", inner)]).fit(X, y)
    doc = check(model, X)
    assert [s["path"] for s in doc["steps"]] == ["impute", "inner/scale", "inner/pca"]
    assert doc["model"]["path"] == "inner/mlp"


# --------------------------------------------------------------------------- estimators alone


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("binary", [True, False])
def test_mlp_classifier_activations(activation: str, binary: bool) -> None:
    X, y = load_iris(return_X_y=True)
    if binary:
        y = (y == 1).astype(int)
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(7, 5), activation=activation,
                                                          max_iter=300, random_state=0)).fit(X, y)
    check(model, X * 1.3)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_mlp_regressor(activation: str) -> None:
    X, y = load_diabetes(return_X_y=True)
    model = MLPRegressor(hidden_layer_sizes=(10,), activation=activation, max_iter=100, random_state=0).fit(X, y)
    check(model, X)
    y2 = np.column_stack([y, -y / 3])
    model = MLPRegressor(hidden_layer_sizes=(10,), activation=activation, max_iter=50, random_state=0).fit(X, y2)
    check(model, X)


LINEAR_REGRESSORS = [
    LinearRegression(), Ridge(), Lasso(alpha=0.1), ElasticNet(alpha=0.1), Lars(), LassoLars(alpha=0.1),
    OrthogonalMatchingPursuit(), BayesianRidge(), ARDRegression(), HuberRegressor(max_iter=500),
    QuantileRegressor(alpha=0.0), SGDRegressor(random_state=0), LinearSVR(max_iter=10000),
    PoissonRegressor(), GammaRegressor(), TweedieRegressor(power=1.5), TweedieRegressor(power=0),
    RidgeCV(), LassoCV(cv=3), ElasticNetCV(cv=3), LarsCV(cv=3), LassoLarsCV(cv=3), LassoLarsIC(),
    OrthogonalMatchingPursuitCV(cv=3), TheilSenRegressor(max_subpopulation=200, random_state=0),
    PassiveAggressiveRegressor(random_state=0),
]


@pytest.mark.parametrize("est", LINEAR_REGRESSORS, ids=lambda e: repr(e).replace(" ", ""))
def test_linear_regressors(est: Any) -> None:
    X, y = load_diabetes(return_X_y=True)
    if type(est).__name__ in ("PoissonRegressor", "GammaRegressor", "TweedieRegressor"):
        y = y / 100.0
    model = make_pipeline(StandardScaler(), est).fit(X[:300], y[:300])
    check(model, X)


def test_multi_target_linear_regression_keeps_2d() -> None:
    X, y = load_diabetes(return_X_y=True)
    check(Ridge().fit(X, np.column_stack([y, y * 2])), X)
    check(LinearRegression().fit(X, y.reshape(-1, 1)), X)  # (n, 1) stays 2-D like sklearn
    check(MultiTaskLasso(alpha=0.1).fit(X, np.column_stack([y, -y])), X)
    check(MultiTaskElasticNet(alpha=0.1).fit(X, np.column_stack([y, -y])), X)


@pytest.mark.parametrize(
    "est",
    [
        LogisticRegression(max_iter=5000),
        LogisticRegression(max_iter=5000, C=0.01, solver="liblinear"),
        SGDClassifier(loss="log_loss", random_state=0),
        SGDClassifier(loss="modified_huber", random_state=0),
        SGDClassifier(loss="hinge", random_state=0),
        SGDClassifier(loss="perceptron", random_state=0),
        LinearSVC(),
        LinearSVC(multi_class="crammer_singer"),
        RidgeClassifier(),
        RidgeClassifierCV(),
        LogisticRegressionCV(cv=3),
        PassiveAggressiveClassifier(random_state=0),
        Perceptron(random_state=0),
        GaussianNB(),
    ],
    ids=lambda e: repr(e).replace(" ", ""),
)
@pytest.mark.parametrize("binary", [True, False])
def test_linear_classifiers(est: Any, binary: bool) -> None:
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, n_classes=2 if binary else 4,
                               random_state=0)
    if binary and isinstance(est, LogisticRegression) and est.solver == "liblinear":
        y = np.where(y == 1, "pos", "neg")
    if not binary and isinstance(est, LogisticRegression) and est.solver == "liblinear":
        pytest.skip("liblinear is binary only in scikit-learn 1.9")
    model = make_pipeline(StandardScaler(), est).fit(X, y)
    # include rows far out so that sigmoid / softmax saturate, and rows at 0
    check(model, np.vstack([X, X[:20] * 40, np.zeros((2, 8))]))


def test_sgd_ovr_all_zero_rows_are_uniform() -> None:
    X, y = load_iris(return_X_y=True)
    est = SGDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    check(est, np.vstack([X, X * 1e3, -X * 1e3]))
    est = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    check(est, np.vstack([X, X * 1e4, -X * 1e4]))


# --------------------------------------------------------------------------- trees


def threshold_rows(base: np.ndarray, splits: list[tuple[int, float]], f32: bool) -> np.ndarray:
    """Rows sitting exactly at split thresholds and at their float32 / float64 neighbours."""
    rows = []
    for i, (f, t) in enumerate(splits):
        t32 = np.float32(t)
        candidates = [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]
        if f32:
            candidates += [float(t32), float(np.nextafter(t32, np.float32(np.inf))),
                           float(np.nextafter(t32, np.float32(-np.inf)))]
        for c in candidates:
            r = base[i % len(base)].copy()
            r[f] = c
            rows.append(r)
    return np.asarray(rows, dtype=np.float64)


def sk_splits(trees: list[Any]) -> list[tuple[int, float]]:
    out = []
    for t in trees:
        tr = t.tree_
        for f, thr in zip(tr.feature, tr.threshold):
            if f >= 0:
                out.append((int(f), float(thr)))
    return out[:400]


@pytest.mark.parametrize(
    "est",
    [
        DecisionTreeClassifier(random_state=0),
        DecisionTreeClassifier(max_leaf_nodes=20, random_state=0),
        RandomForestClassifier(n_estimators=20, random_state=0),
        ExtraTreesClassifier(n_estimators=20, random_state=0),
        GradientBoostingClassifier(n_estimators=20, random_state=0),
        GradientBoostingClassifier(n_estimators=20, loss="exponential", random_state=0),
    ],
    ids=lambda e: repr(e).replace(" ", ""),
)
@pytest.mark.parametrize("dataset", ["iris", "cancer"])
def test_sklearn_tree_classifiers_at_thresholds(est: Any, dataset: str) -> None:
    X, y = load_iris(return_X_y=True) if dataset == "iris" else load_breast_cancer(return_X_y=True)
    if dataset == "iris" and getattr(est, "loss", "") == "exponential":
        pytest.skip("exponential loss is binary only")
    est.fit(X, y)
    trees = [est] if hasattr(est, "tree_") else list(np.ravel(est.estimators_))
    rows = threshold_rows(X, sk_splits(trees), f32=True)
    check(est, np.vstack([X, rows]))


@pytest.mark.parametrize(
    "est",
    [DecisionTreeRegressor(random_state=0), ExtraTreeRegressor(random_state=0),
     RandomForestRegressor(n_estimators=10, random_state=0), GradientBoostingRegressor(n_estimators=30, random_state=0),
     GradientBoostingRegressor(n_estimators=30, loss="huber", init="zero", random_state=0)],
    ids=lambda e: repr(e).replace(" ", ""),
)
def test_sklearn_tree_regressors_at_thresholds(est: Any) -> None:
    X, y = load_diabetes(return_X_y=True)
    est.fit(X, y)
    trees = [est] if hasattr(est, "tree_") else list(np.ravel(est.estimators_))
    rows = threshold_rows(X, sk_splits(trees), f32=True)
    check(est, np.vstack([X, rows]))


def test_multi_output_tree_regressors() -> None:
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, np.sqrt(y)])
    check(DecisionTreeRegressor(max_depth=5).fit(X, Y), X)
    check(RandomForestRegressor(n_estimators=5, max_depth=5, random_state=0).fit(X, Y), X)


def test_sklearn_trees_route_nan_like_sklearn() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    Xn = X.copy()
    Xn[rng.random(X.shape) < 0.1] = np.nan
    for est in (DecisionTreeClassifier(random_state=0), RandomForestClassifier(n_estimators=10, random_state=0),
                ExtraTreesClassifier(n_estimators=10, random_state=0)):
        est.fit(Xn, y)
        test = X.copy()
        test[rng.random(X.shape) < 0.2] = np.nan
        check(est, np.vstack([Xn, test]))
    # trained without NaN, scored with NaN: sklearn routes by missing_go_to_left too
    est = DecisionTreeRegressor(random_state=0).fit(X, X[:, 0])
    check(est, np.vstack([X, np.where(rng.random(X.shape) < 0.2, np.nan, X)]))


def hgb_splits(est: Any) -> list[tuple[int, float]]:
    out = []
    for it in est._predictors:
        for p in it:
            for nd in p.nodes:
                if not nd["is_leaf"] and not nd["is_categorical"]:
                    out.append((int(nd["feature_idx"]), float(nd["num_threshold"])))
    return out[:400]


@pytest.mark.parametrize("kind", ["binary", "multi", "regression", "poisson", "gamma", "quantile"])
def test_hist_gradient_boosting_nan_and_thresholds(kind: str) -> None:
    X, y = load_breast_cancer(return_X_y=True) if kind == "binary" else (
        make_classification(n_samples=400, n_features=10, n_informative=6, n_classes=3, random_state=0)
        if kind == "multi" else load_diabetes(return_X_y=True))
    rng = np.random.default_rng(1)
    X = np.where(rng.random(X.shape) < 0.1, np.nan, X)
    if kind in ("binary", "multi"):
        est: Any = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    else:
        loss = {"regression": "squared_error"}.get(kind, kind)
        est = HistGradientBoostingRegressor(max_iter=30, loss=loss, random_state=0,
                                            quantile=0.8 if kind == "quantile" else None)
    est.fit(X, y)
    rows = threshold_rows(np.nan_to_num(X), hgb_splits(est), f32=False)
    check(est, np.vstack([X, rows, np.full((1, X.shape[1]), np.nan)]))


def test_hist_gradient_boosting_categorical_from_dtype() -> None:
    df, y, test = hgb_categorical_data()
    model = HistGradientBoostingClassifier(max_iter=20, categorical_features="from_dtype", random_state=0).fit(df, y)
    doc = check(model, test, to_contract(test))
    check(model, test)  # category dtype straight into the scorer works too
    kinds = {c["name"]: c["kind"] for c in doc["inputs"]}
    assert kinds == {"x": "number", "color": "string", "z": "number", "size": "number"}
    assert doc["steps"][0]["parts"][0]["name"] == "encoder"  # categorical features moved first
    trees = doc["model"]["trees"]
    assert any("category_set" in t for t in trees)
    reg = HistGradientBoostingRegressor(max_iter=20, categorical_features="from_dtype", random_state=0).fit(df, y * 1.5)
    check(reg, test, to_contract(test))


def test_hist_gradient_boosting_categorical_by_index() -> None:
    X, y = make_classification(n_samples=500, n_features=6, random_state=0)
    rng = np.random.default_rng(0)
    X[:, 2] = rng.integers(0, 12, len(X))
    y = (y + (X[:, 2] % 3 == 0)) % 2
    est = HistGradientBoostingClassifier(max_iter=20, categorical_features=[2], random_state=0).fit(X, y)
    T = X.copy()
    T[::5, 2] = 40.0  # unseen category -> treated as missing
    T[1::9, 2] = np.nan
    check(est, np.vstack([X, T]))


# --------------------------------------------------------------------------- contract: exporter, runtime, refusals


def test_exporter_and_runtime_registry(tmp_path: Any) -> None:
    model = from_estimator(Pipeline([("pre", preprocessor()), ("clf", RandomForestClassifier(n_estimators=5,
                                                                                              random_state=0))]).fit(TRAIN, Y_CLS))
    exp = get_exporter("json")
    assert (exp.name, exp.suffix) == ("json", ".json")
    assert exp.runtimes[0] == "json-python"
    assert all(v.ok for v in exp.assess(model))
    out = tmp_path / "model.json"
    facts = exp.export(model, out, None)
    assert facts["format_version"] == jsonfmt.FORMAT_VERSION and facts["outputs"] == ["label", "proba"]
    rt = get_runtime("json-python")
    assert rt.format == "json" and rt.available() is None
    scorer = rt.load(out)
    try:
        got = scorer.predict(to_contract(TEST_ALL))
        assert list(got.label) == list(model.estimator.predict(TEST_ALL))
        assert_close(got.proba, model.estimator.predict_proba(TEST_ALL), "proba")
    finally:
        scorer.close()


def _prints(x: Any) -> Any:  # impure: never translated
    print("called")
    return x


def test_unsupported_steps_are_named() -> None:
    from sklearn.preprocessing import QuantileTransformer

    model = from_estimator(Pipeline([
        ("pre", ColumnTransformer([("num", make_pipeline(SimpleImputer(), QuantileTransformer(n_quantiles=50)), NUM),
                                   ("f", FunctionTransformer(_prints), ["rooms"])])),
        ("knn", KNeighborsClassifier()),
    ]).fit(TRAIN, Y_CLS))
    verdicts = {v.path: v for v in get_exporter("json").assess(model)}
    assert verdicts["pre/num/simpleimputer"].ok
    bad = {p: v for p, v in verdicts.items() if not v.ok}
    assert set(bad) == {"pre/num/quantiletransformer", "pre/f", "knn"}
    assert bad["pre/f"].cls == "FunctionTransformer" and "print" in bad["pre/f"].reason
    assert bad["knn"].cls == "KNeighborsClassifier"
    with pytest.raises(UnsupportedStepError) as e:
        to_document(model)
    assert e.value.fmt == "json" and e.value.path == "pre/num/quantiletransformer"
    assert e.value.exit_code == 1


def test_refusals_of_other_settings() -> None:
    cases = [
        make_pipeline(OneHotEncoder(dtype=np.int32), LogisticRegression()),
        make_pipeline(SimpleImputer(missing_values=None, strategy="most_frequent"), OneHotEncoder(), LogisticRegression()),
        MLPClassifier(max_iter=20, random_state=0),  # multilabel target
    ]
    Xs = [TRAIN[["plan"]], TRAIN[["plan"]].astype(object), TRAIN[NUM].fillna(0)]
    ys = [Y_CLS, Y_CLS, np.column_stack([Y_CLS == "high", Y_CLS == "low"]).astype(int)]
    for est, X, y in zip(cases, Xs, ys):
        est.fit(X, y)
        model = from_estimator(est)
        assert any(not v.ok for v in get_exporter("json").assess(model)), est
        with pytest.raises(UnsupportedStepError):
            to_document(model)


# --------------------------------------------------------------------------- the scorer refuses what it does not know


@pytest.fixture(scope="module")
def small_doc() -> dict[str, Any]:
    X, y = load_iris(return_X_y=True)
    m = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=3, random_state=0)).fit(X, y)
    return to_document(m)


def test_schema_is_valid_draft_2020_12() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(jsonfmt.schema())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(format_version=2), "version 2 is not supported"),
        (lambda d: d.update(format_version="1"), "version '1' is not supported"),
        (lambda d: d["steps"][0].update(type="quantile_transform"), "unknown node type 'quantile_transform'"),
        (lambda d: d["model"].update(type="svm_rbf"), "unknown model type 'svm_rbf'"),
        (lambda d: d["output"]["proba"].update(transform="sparsemax"), "unknown to this scorer"),
        (lambda d: d["model"].update(input_cast="float16"), "unknown to this scorer"),
        (lambda d: d["steps"][0].update(center_v2=[0.0]), "unknown field"),
        (lambda d: d.update(format="onnx"), "must be 'mlexport-json'"),
        (lambda d: d["model"]["trees"][0].update(left=[0] + d["model"]["trees"][0]["left"][1:]), "greater than its parent"),
        (lambda d: d["model"]["trees"][0].update(feature=[99] + d["model"]["trees"][0]["feature"][1:]), "feature must be"),
        (lambda d: d["steps"][0].update(n_in=3, n_out=3, center=d["steps"][0]["center"][:3],
                                        scale=d["steps"][0]["scale"][:3]), "takes 3 columns but receives 4"),
        (lambda d: d["steps"][0]["center"].__setitem__(0, "nan"), "must be a number"),
    ],
    ids=["version", "version-str", "node", "model", "proba", "cast", "field", "format", "cycle", "feature", "width",
         "nan-spelling"],
)
def test_scorer_refuses(small_doc: dict[str, Any], mutate: Any, message: str) -> None:
    d = copy.deepcopy(small_doc)
    mutate(d)
    with pytest.raises(BadInputError, match=message):
        load(d)


def test_scorer_refuses_bare_nan_and_bad_inputs(small_doc: dict[str, Any]) -> None:
    with pytest.raises(BadInputError, match="bare NaN"):
        load(dumps(small_doc).replace('"scale":[', '"scale":[NaN,', 1))
    scorer = load(small_doc)
    with pytest.raises(BadInputError, match="missing column"):
        scorer.predict(pd.DataFrame({"x0": [1.0]}))
    with pytest.raises(BadInputError, match="must be numeric"):
        scorer.predict(pd.DataFrame({f"x{i}": ["a"] for i in range(4)}))


def test_nonfinite_numbers_are_strings() -> None:
    X, y = load_iris(return_X_y=True)
    m = make_pipeline(OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
                      HistGradientBoostingClassifier(max_iter=2)).fit(X[:, :1].round(), y)
    text = dumps(to_document(m))
    assert '"unknown":"NaN"' in text
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # no bare constants


def _over_18(x: Any) -> Any:
    return x > 18


def test_translated_function_is_an_expression_step_and_tampering_is_refused() -> None:
    X = pd.DataFrame({"age": [10.0, 18.0, 18.5, np.nan, 40.0] * 10, "inc": np.linspace(1, 2, 50)})
    y = (X["inc"] > 1.5).astype(int)
    model = Pipeline([("pre", ColumnTransformer([("adult", FunctionTransformer(_over_18), ["age"]),
                                                 ("num", "passthrough", ["inc"])])),
                      ("clf", LogisticRegression())]).fit(X, y)
    doc = to_document(model)
    jsonfmt.validate(doc)
    text = dumps(doc)
    assert '"type": "expression"' in text or '"type":"expression"' in text
    got = load(json.loads(text)).predict(X)
    np.testing.assert_array_equal(got.label, model.predict(X))
    np.testing.assert_allclose(got.proba, model.predict_proba(X), rtol=1e-12, atol=1e-12)
    bad = json.loads(text.replace('"op": "gt"', '"op": "system"').replace('"op":"gt"', '"op":"system"'))
    with pytest.raises(BadInputError, match="system|op"):
        load(bad)
