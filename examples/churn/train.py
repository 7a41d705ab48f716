"""Fit the bundled example: a churn classifier on a generated customer table.

Mixed types on purpose (numbers with gaps, string categories) so the example
shows what a real export meets. Re-run to regenerate model.joblib and
sample.csv: ``python examples/churn/train.py``.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = Path(__file__).parent


def customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, n).astype(float),
            "monthly_charges": rng.normal(65, 20, n).round(2),
            "support_calls": rng.poisson(1.5, n).astype(float),
            "contract": rng.choice(["monthly", "yearly", "two-year"], n, p=[0.5, 0.3, 0.2]).astype(object),
            "payment": rng.choice(["card", "transfer", "check"], n).astype(object),
        }
    )
    df.loc[rng.random(n) < 0.05, "monthly_charges"] = np.nan
    df.loc[rng.random(n) < 0.04, "payment"] = np.nan
    return df


def main() -> None:
    X = customers(2000, seed=1)
    risk = 0.8 * (X["contract"] == "monthly") + 0.3 * X["support_calls"].fillna(0) - 0.03 * X["tenure_months"]
    y = (risk + np.random.default_rng(2).normal(0, 0.4, len(X)) > 0.2).astype(int)
    pre = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), ["tenure_months", "monthly_charges", "support_calls"]),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             ["contract", "payment"]),
        ]
    )
    model = Pipeline([("pre", pre), ("forest", RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0))])
    model.fit(X, y)
    joblib.dump(model, HERE / "model.joblib", compress=3)
    sample = customers(300, seed=3)
    sample.loc[sample.index[:3], "payment"] = "crypto"  # a category the model never saw
    sample.to_csv(HERE / "sample.csv", index=False)
    print(f"wrote {HERE / 'model.joblib'} and {HERE / 'sample.csv'}")


if __name__ == "__main__":
    main()
