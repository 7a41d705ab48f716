"""The examples are runnable and stay true: the README's main command works."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from mlexport.cli import app

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "examples" / "churn"


def test_readme_main_command_on_the_bundled_churn_model(tmp_path: Path) -> None:
    out = tmp_path / "model.onnx"
    r = CliRunner().invoke(app, ["onnx", str(CHURN / "model.joblib"), "--data", str(CHURN / "sample.csv"),
                                 "-o", str(out), "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.stdout + r.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] and report["rows"] == len(pd.read_csv(CHURN / "sample.csv"))


def test_churn_sample_holds_an_unseen_category() -> None:
    sample = pd.read_csv(CHURN / "sample.csv")
    assert "crypto" in set(sample["payment"].dropna())
    assert sample["monthly_charges"].isna().any()
