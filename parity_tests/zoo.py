"""The zoo: realistic fitted pipelines over scikit-learn's bundled data sets and
generated mixed-type tables, each with held-out rows to verify on.

A case is a name, a builder returning ``(fitted_model, X_test)`` and, per
format, the reason it is a known gap (a strict xfail in the parity suite).
Builders are cached: each pipeline is fitted once per test session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.compose import ColumnTransformer
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
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
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
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

FORMATS = ("onnx", "pmml", "json")


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], tuple[Any, pd.DataFrame | np.ndarray]]
    gaps: dict[str, str] = field(default_factory=dict)


def _split(X: Any, y: Any, test: int = 60, seed: int = 0) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    te, tr = idx[:test], idx[test:]
    if isinstance(X, pd.DataFrame):
        return X.iloc[tr].reset_index(drop=True), np.asarray(y)[tr], X.iloc[te].reset_index(drop=True)
    return X[tr], np.asarray(y)[tr], X[te]


@functools.cache
def _bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    loader = {"iris": datasets.load_iris, "breast_cancer": datasets.load_breast_cancer,
              "diabetes": datasets.load_diabetes, "wine": datasets.load_wine, "digits": datasets.load_digits}[name]
    X, y = loader(return_X_y=True)
    return X, y


def _frame(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = _bundled(name)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y


@functools.cache
def mixed_table(n: int = 600, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Numeric columns with gaps, string categoricals, a binary and a numeric target."""
    rng = np.random.default_rng(seed)
    age = rng.normal(42, 12, n).round(0)
    income = rng.lognormal(10.5, 0.6, n)
    hours = rng.uniform(10, 60, n)
    city = rng.choice(["Lyon", "Paris", "Nice", "Lille", "Brest"], n, p=[0.3, 0.3, 0.2, 0.15, 0.05]).astype(object)
    plan = rng.choice(["free", "pro", "team"], n).astype(object)
    logit = 0.04 * (age - 42) + 0.8 * (np.log(income) - 10.5) + 0.5 * (plan == "pro") - 0.6 * (city == "Nice")
    y_cls = (logit + rng.normal(0, 0.5, n) > 0).astype(int)
    y_reg = 3.0 * np.log(income) + 0.1 * hours + 2.0 * (plan == "team") + rng.normal(0, 0.3, n)
    df = pd.DataFrame({"age": age, "income": income, "hours": hours, "city": city, "plan": plan})
    df.loc[rng.random(n) < 0.08, "age"] = np.nan
    df.loc[rng.random(n) < 0.05, "income"] = np.nan
    df.loc[rng.random(n) < 0.06, "city"] = np.nan
    return df, y_cls, y_reg


def _mixed_test(df: pd.DataFrame) -> pd.DataFrame:
    """Held-out rows plus unseen categories and gaps in every column."""
    test = df.copy()
    test.loc[test.index[:4], "city"] = "Marseille"  # unseen at fit
    test.loc[test.index[4:8], "plan"] = "enterprise"  # unseen at fit
    test.loc[test.index[8:12], "hours"] = np.nan
    return test


NUM = ["age", "income", "hours"]
CAT = ["city", "plan"]


def _mixed_pre(encoder: str = "onehot", scale: bool = True) -> ColumnTransformer:
    num = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    if encoder == "onehot":
        cat = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    else:
        cat = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        )
    return ColumnTransformer([("num", make_pipeline(*num), NUM), ("cat", cat, CAT)])


def _mixed_cls(final: Any, encoder: str = "onehot", scale: bool = True) -> tuple[Any, pd.DataFrame]:
    df, y, _ = mixed_table()
    Xtr, ytr, Xte = _split(df, y, test=120)
    model = Pipeline([("pre", _mixed_pre(encoder, scale)), ("model", final)]).fit(Xtr, ytr)
    return model, _mixed_test(Xte)


def _mixed_reg(final: Any, encoder: str = "onehot", scale: bool = True) -> tuple[Any, pd.DataFrame]:
    df, _, y = mixed_table()
    Xtr, ytr, Xte = _split(df, y, test=120)
    model = Pipeline([("pre", _mixed_pre(encoder, scale)), ("model", final)]).fit(Xtr, ytr)
    return model, _mixed_test(Xte)


def _on(data: str, model: Any, frame: bool = False, test: int = 60) -> tuple[Any, Any]:
    X, y = _frame(data) if frame else _bundled(data)
    Xtr, ytr, Xte = _split(X, y, test=test)
    return model.fit(Xtr, ytr), Xte


def _with_gaps(data: str, model: Any, rate: float = 0.1) -> tuple[Any, Any]:
    X, y = _bundled(data)
    X = X.copy()
    rng = np.random.default_rng(3)
    X[rng.random(X.shape) < rate] = np.nan
    Xtr, ytr, Xte = _split(X, y)
    return model.fit(Xtr, ytr), Xte


def _hgb_categorical(regress: bool) -> tuple[Any, Any]:
    rng = np.random.default_rng(11)
    n = 800
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 6, n).astype(float), rng.uniform(-2, 2, n)])
    X[rng.random(n) < 0.05, 1] = np.nan
    signal = X[:, 0] + np.where(np.isin(X[:, 1], [1, 4]), 1.5, -0.5) + 0.5 * X[:, 2]
    if regress:
        y = signal + rng.normal(0, 0.1, n)
        est: Any = HistGradientBoostingRegressor(max_iter=30, categorical_features=[1], random_state=0)
    else:
        y = (signal > 0).astype(int)
        est = HistGradientBoostingClassifier(max_iter=30, categorical_features=[1], random_state=0)
    Xtr, ytr, Xte = _split(X, y, test=150)
    Xte = Xte.copy()
    Xte[:5, 1] = 7.0  # category unseen at fit
    return est.fit(Xtr, ytr), Xte


def _string_labels(data: str, model: Any) -> tuple[Any, Any]:
    X, y = _bundled(data)
    names = np.array(["setosa", "versicolor", "virginica", "d", "e", "f", "g", "h", "i", "j"], dtype=object)
    Xtr, ytr, Xte = _split(X, names[y])
    return model.fit(Xtr, ytr), Xte


def is_adult(x: Any) -> Any:
    return x > 18


def signed_log(x: Any) -> Any:
    return np.where(x > 0, np.log1p(x), -np.log1p(-x))


def _mixed_with_function() -> tuple[Any, pd.DataFrame]:
    df, y, _ = mixed_table()
    Xtr, ytr, Xte = _split(df, y, test=120)
    pre = ColumnTransformer([
        ("adult", FunctionTransformer(is_adult), ["age"]),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["income", "hours"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), CAT),
    ])
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))]).fit(Xtr, ytr), _mixed_test(Xte)


CASES: list[Case] = [
    # linear models and friends
    Case("iris_scaler_logreg", lambda: _on("iris", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))), gaps={"pmml": "PMML4S's softmax overflows to NaN on extreme probe inputs"}),
    Case("breast_cancer_logreg_binary", lambda: _on("breast_cancer", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), frame=True)),
    Case("iris_string_labels_logreg", lambda: _string_labels("iris", make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=1000)))),
    Case("wine_robust_sgd_logloss", lambda: _on("wine", make_pipeline(RobustScaler(), SGDClassifier(loss="log_loss", random_state=0))), gaps={"pmml": "both evaluators take labels from probabilities that saturate to a tie on extreme inputs"}),
    Case("wine_maxabs_ridgeclassifier", lambda: _on("wine", make_pipeline(MaxAbsScaler(), RidgeClassifier())), gaps={"pmml": "labels from saturated scores tie on extreme inputs; JPMML then refuses the file's own verification rows"}),
    Case("iris_linearsvc", lambda: _on("iris", make_pipeline(StandardScaler(), LinearSVC(random_state=0))), gaps={"pmml": "labels from saturated scores tie on extreme inputs; JPMML then refuses the file's own verification rows"}),
    Case("wine_svc_rbf", lambda: _on("wine", make_pipeline(StandardScaler(), SVC(kernel="rbf"))), gaps={"json": "kernel SVMs are outside the JSON format v1"}),
    # decision values (no predict_proba): compared in ONNX and JSON, not carried by PMML
    Case("breast_cancer_linearsvc_binary", lambda: _on("breast_cancer", make_pipeline(StandardScaler(), LinearSVC(random_state=0)), frame=True)),
    Case("breast_cancer_sgd_hinge_binary", lambda: _on("breast_cancer", make_pipeline(StandardScaler(), SGDClassifier(loss="hinge", random_state=0)))),
    Case("wine_sgd_hinge", lambda: _on("wine", make_pipeline(StandardScaler(), SGDClassifier(loss="hinge", random_state=0))), gaps={"pmml": "labels from saturated scores tie on extreme inputs; JPMML then refuses the file's own verification rows"}),
    Case("breast_cancer_svc_rbf_binary", lambda: _on("breast_cancer", make_pipeline(StandardScaler(), SVC(kernel="rbf"))), gaps={"json": "kernel SVMs are outside the JSON format v1"}),
    Case("digits_pca_logreg", lambda: _on("digits", make_pipeline(StandardScaler(), PCA(n_components=20, random_state=0), LogisticRegression(max_iter=2000)), test=200), gaps={"pmml": "PMML4S's softmax overflows to NaN on extreme probe inputs"}),
    Case("breast_cancer_gaussiannb", lambda: _on("breast_cancer", GaussianNB()), gaps={"pmml": "PMML multiplies densities that underflow far from the training data (NaN probabilities)"}),
    Case("digits_multinomialnb", lambda: _on("digits", MultinomialNB(), test=200), gaps={"pmml": "PMML4S returns no probabilities for the NaiveBayesModel", "json": "MultinomialNB is outside the JSON format v1"}),
    Case("breast_cancer_bernoullinb", lambda: _on("breast_cancer", make_pipeline(StandardScaler(), BernoulliNB())), gaps={"pmml": "the converter takes only already-binary features", "json": "BernoulliNB is outside the JSON format v1"}),
    Case("iris_knn", lambda: _on("iris", make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5))), gaps={"pmml": "the PMML carries no probabilities and PMML4S fails on NearestNeighborModel", "json": "nearest neighbours need the training set; outside the JSON format v1"}),
    Case("breast_cancer_mlp", lambda: _on("breast_cancer", make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)))),
    Case("wine_featureunion_logreg", lambda: _on("wine", Pipeline([("scale", StandardScaler()), ("feats", FeatureUnion([("pca", PCA(n_components=3)), ("best", SelectKBest(f_classif, k=4))])), ("clf", LogisticRegression(max_iter=1000))])), gaps={"pmml": "PMML4S's softmax overflows to NaN on extreme probe inputs", "json": "SelectKBest is outside the JSON format v1"}),
    Case("iris_passthrough_step", lambda: _on("iris", Pipeline([("noop", "passthrough"), ("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])), gaps={"pmml": "PMML4S's softmax overflows to NaN on extreme probe inputs"}),
    # regression
    Case("diabetes_linear", lambda: _on("diabetes", LinearRegression())),
    Case("diabetes_scaler_ridge", lambda: _on("diabetes", make_pipeline(StandardScaler(), Ridge(alpha=0.5)), frame=True)),
    Case("diabetes_lasso", lambda: _on("diabetes", Lasso(alpha=0.05))),
    Case("diabetes_elasticnet", lambda: _on("diabetes", ElasticNet(alpha=0.01, l1_ratio=0.3))),
    Case("diabetes_poly_ridge", lambda: _on("diabetes", make_pipeline(PolynomialFeatures(degree=2), StandardScaler(), Ridge()))),
    Case("diabetes_sgd", lambda: _on("diabetes", make_pipeline(StandardScaler(), SGDRegressor(random_state=0)))),
    Case("diabetes_linearsvr", lambda: _on("diabetes", make_pipeline(StandardScaler(), LinearSVR(random_state=0, max_iter=5000)))),
    Case("diabetes_svr", lambda: _on("diabetes", make_pipeline(StandardScaler(), SVR(C=50))), gaps={"json": "kernel SVMs are outside the JSON format v1"}),
    Case("diabetes_knn", lambda: _on("diabetes", make_pipeline(StandardScaler(), KNeighborsRegressor())), gaps={"json": "nearest neighbours need the training set; outside the JSON format v1"}),
    Case("diabetes_mlp", lambda: _on("diabetes", make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(16,), max_iter=500, random_state=0)))),
    # trees
    Case("iris_decision_tree", lambda: _on("iris", DecisionTreeClassifier(random_state=0))),
    Case("breast_cancer_random_forest", lambda: _on("breast_cancer", RandomForestClassifier(n_estimators=30, random_state=0))),
    Case("wine_extra_trees", lambda: _on("wine", ExtraTreesClassifier(n_estimators=30, random_state=0))),
    Case("breast_cancer_gradient_boosting", lambda: _on("breast_cancer", GradientBoostingClassifier(n_estimators=30, random_state=0))),
    Case("iris_gradient_boosting_multiclass", lambda: _on("iris", GradientBoostingClassifier(n_estimators=20, random_state=0))),
    Case("breast_cancer_hgb_with_nan", lambda: _with_gaps("breast_cancer", HistGradientBoostingClassifier(max_iter=30, random_state=0))),
    Case("wine_hgb_multiclass", lambda: _on("wine", HistGradientBoostingClassifier(max_iter=20, random_state=0))),
    Case("hgb_classifier_categorical", lambda: _hgb_categorical(regress=False), gaps={"pmml": "JPMML gives no prediction for a category unseen at fit"}),
    Case("diabetes_decision_tree", lambda: _on("diabetes", DecisionTreeRegressor(max_depth=6, random_state=0))),
    Case("diabetes_random_forest", lambda: _on("diabetes", RandomForestRegressor(n_estimators=30, random_state=0))),
    Case("diabetes_extra_trees", lambda: _on("diabetes", ExtraTreesRegressor(n_estimators=30, random_state=0))),
    Case("diabetes_gradient_boosting", lambda: _on("diabetes", GradientBoostingRegressor(n_estimators=50, random_state=0))),
    Case("diabetes_hgb_with_nan", lambda: _with_gaps("diabetes", HistGradientBoostingRegressor(max_iter=40, random_state=0))),
    Case("diabetes_hgb_poisson", lambda: _on("diabetes", HistGradientBoostingRegressor(loss="poisson", max_iter=30, random_state=0)), gaps={"pmml": "the converter drops the exp link (log-scale predictions)"}),
    Case("hgb_regressor_categorical", lambda: _hgb_categorical(regress=True), gaps={"pmml": "JPMML gives no prediction for a category unseen at fit"}),
    # mixed-type tables: one input per column, gaps, unseen categories
    Case("mixed_onehot_logreg", lambda: _mixed_cls(LogisticRegression(max_iter=1000))),
    Case("mixed_onehot_random_forest", lambda: _mixed_cls(RandomForestClassifier(n_estimators=25, random_state=0), scale=False)),
    Case("mixed_ordinal_hgb", lambda: _mixed_cls(HistGradientBoostingClassifier(max_iter=25, random_state=0), encoder="ordinal", scale=False)),
    Case("mixed_ordinal_gradient_boosting_regressor", lambda: _mixed_reg(GradientBoostingRegressor(n_estimators=40, random_state=0), encoder="ordinal", scale=False)),
    Case("mixed_onehot_ridge", lambda: _mixed_reg(Ridge())),
    Case("imputer_add_indicator_logreg", lambda: _with_gaps("breast_cancer", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler(), LogisticRegression(max_iter=2000)))),
    # custom functions, translated into each format
    Case("mixed_function_is_adult_logreg", _mixed_with_function),
    Case("breast_cancer_log1p_logreg", lambda: _on("breast_cancer", make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=2000)))),
    Case("diabetes_signed_log_ridge", lambda: _on("diabetes", make_pipeline(StandardScaler(), FunctionTransformer(signed_log), Ridge()))),
]


@functools.cache
def built(name: str) -> tuple[Any, Any]:
    case = next(c for c in CASES if c.name == name)
    return case.build()


def holdout_frame(model: Any, X: Any) -> pd.DataFrame:
    """The held-out rows as the frame mlexport reads (columns named as fitted)."""
    if isinstance(X, pd.DataFrame):
        return X
    names = getattr(model, "feature_names_in_", None)
    cols = [str(c) for c in names] if names is not None else [f"x{i}" for i in range(X.shape[1])]
    return pd.DataFrame(X, columns=cols)
