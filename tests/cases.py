"""Fitted models that several test modules check the same way."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier


def hgb_categorical_data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Pandas categoricals (string and int) with NaN in both kinds of column, a
    target, and test rows holding a category unseen at fit."""
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({
        "x": rng.normal(size=n),
        "color": pd.Categorical(rng.choice(["red", "green", "blue", "black"], n)),
        "z": rng.normal(size=n),
        "size": pd.Categorical(rng.choice([1, 2, 3, 5, 8], n)),
    })
    df.loc[rng.random(n) < 0.1, "x"] = np.nan
    df.loc[rng.random(n) < 0.1, "color"] = np.nan
    y = ((df["color"] == "red") | (df["color"] == "blue")).astype(int) + (df["x"].fillna(0) > 0) + (df["size"] == 3)
    test = df.copy()
    test["color"] = test["color"].cat.add_categories(["purple"])
    test.loc[::7, "color"] = "purple"  # unseen category
    return df, y, test


def hgb_categorical_from_dtype() -> tuple[Any, pd.DataFrame]:
    """A HistGradientBoostingClassifier on :func:`hgb_categorical_data`, and its test rows."""
    df, y, test = hgb_categorical_data()
    return HistGradientBoostingClassifier(max_iter=20, categorical_features="from_dtype", random_state=0).fit(df, y), test
