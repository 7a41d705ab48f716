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


def test_ci_gate_script_passes_on_a_good_model_and_blocks_a_bad_one(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    import joblib
    import numpy as np

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    gate = ROOT / "examples" / "ci" / "gate.sh"
    ok = subprocess.run(["bash", str(gate), str(CHURN / "model.joblib"), str(CHURN / "sample.csv"), str(tmp_path / "dist")],
                        env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (tmp_path / "dist" / "onnx-parity.xml").exists()
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer

    blocked = make_pipeline(SplineTransformer(), LinearRegression())  # no ONNX converter exists for splines
    blocked.fit(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    joblib.dump(blocked, tmp_path / "bad.joblib")
    shutil.copy(CHURN / "sample.csv", tmp_path / "h.csv")
    bad = subprocess.run(["bash", str(gate), str(tmp_path / "bad.joblib"), str(tmp_path / "h.csv"), str(tmp_path / "d2")],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "splinetransformer" in (tmp_path / "d2" / "check.json").read_text()
