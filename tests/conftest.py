"""Shared fixtures: small fitted models saved the way users save them, and the JVM."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@pytest.fixture(scope="session")
def java() -> None:
    """mlexport's in-process JVM (skips without Java)."""
    from mlexport import jvm

    missing = jvm.java_available()
    if missing:
        pytest.skip(missing)
    jvm.start()


@pytest.fixture(scope="session")
def java_helpers(java: None) -> None:
    """The JVM with mlexport's compiled Java helpers (skips without javac)."""
    from mlexport import jvm

    try:
        jvm.helper_classes()
    except Exception as e:  # no javac: the helpers (and what needs them) do not exist
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def iris_model_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A pipeline fitted on a named frame, saved with joblib, plus a CSV of rows."""
    d = tmp_path_factory.mktemp("iris")
    data = load_iris(as_frame=True)
    X, y = data.data, data.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    path = d / "iris.joblib"
    joblib.dump(model, path)
    csv = d / "iris.csv"
    X.iloc[::3].to_csv(csv, index=False)
    return path, csv


def mixed_frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "city": rng.choice(["Lyon", "Paris", "Nice"], n).astype(object),
        }
    )
    df.loc[::9, "age"] = np.nan
    df.loc[::13, "city"] = np.nan
    y_cls = (df["income"] > df["income"].median()).astype(int).to_numpy()
    y_reg = np.log(df["income"].to_numpy()) * 2 + rng.normal(0, 0.1, n)
    return df, y_cls, y_reg


def mixed_pipeline(final: object) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["age", "income"]),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), ["city"]),
        ]
    )
    return Pipeline([("pre", pre), ("model", final)])


@pytest.fixture(scope="session")
def mixed_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(classifier .joblib, regressor .joblib, held-out CSV with gaps and an unseen city)."""
    d = tmp_path_factory.mktemp("mixed")
    df, y_cls, y_reg = mixed_frame()
    clf = mixed_pipeline(LogisticRegression(max_iter=1000)).fit(df.iloc[:200], y_cls[:200])
    reg = mixed_pipeline(Ridge()).fit(df.iloc[:200], y_reg[:200])
    joblib.dump(clf, d / "clf.joblib")
    joblib.dump(reg, d / "reg.joblib")
    test = df.iloc[200:].copy()
    test.iloc[0, test.columns.get_loc("city")] = "Marseille"
    test.to_csv(d / "test.csv", index=False)
    return d / "clf.joblib", d / "reg.joblib", d / "test.csv"
