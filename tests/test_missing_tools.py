"""Missing Java or Go, and models that need code that is not importable:
one clear line naming what to install or do, exit 2, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "examples" / "churn"


def _bare_env(tmp: Path) -> dict[str, str]:
    """An environment whose PATH holds no java, javac or go, and no JAVA_HOME."""
    empty = tmp / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "PATH")}
    env["PATH"] = str(empty)
    env["MLEXPORT_CACHE"] = str(tmp / "cache")  # no scorer already built by other tests
    return env


def _mlexport(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlexport.cli", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("fmt", "needle"),
    [("pmml", "Java"), ("json", "Go is not installed")],
)
def test_missing_toolchain_is_a_clear_exit_2(fmt: str, needle: str, tmp_path: Path) -> None:
    out = tmp_path / f"m.{fmt}"
    r = _mlexport([fmt, str(CHURN / "model.joblib"), "--data", str(CHURN / "sample.csv"), "-o", str(out)], _bare_env(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "apt-get install" in lines[0], r.stderr
    assert not out.exists()


def test_missing_java_for_the_json_java_scorer(tmp_path: Path) -> None:
    import mlexport

    art = tmp_path / "m.json"
    mlexport.export(str(CHURN / "model.joblib"), "json", art, verify=False)
    r = _mlexport(["score", str(art), str(CHURN / "sample.csv"), "--runtime", "json-java", "-o", str(tmp_path / "p.csv")],
                  _bare_env(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "java" in r.stderr.lower() and "Traceback" not in r.stderr
    assert not (tmp_path / "p.csv").exists()


def test_model_needing_a_function_from_a_script_says_how_to_fix_it(tmp_path: Path) -> None:
    """The classic "Can't get attribute 'is_adult' on <module '__main__'>"."""
    script = tmp_path / "train.py"
    script.write_text(
        "import pickle, numpy as np\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import FunctionTransformer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "def is_adult(x):\n    return x > 18\n"
        "X = np.arange(40.0).reshape(20, 2)\n"
        "m = make_pipeline(FunctionTransformer(is_adult), LogisticRegression()).fit(X, X[:, 0] > 20)\n"
        f"open({str(tmp_path / 'm.pkl')!r}, 'wb').write(pickle.dumps(m))\n"
    )
    subprocess.run([sys.executable, str(script)], check=True, timeout=120)
    r = _mlexport(["check", str(tmp_path / "m.pkl"), "--trust", "__main__"], dict(os.environ))
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "is_adult" in line and "__main__" in line and "importable module" in line
