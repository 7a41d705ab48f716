"""The pickle allow-list: ordinary sklearn pickles load, hostile ones never run."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity_tests"))

from zoo import CASES, built  # noqa: E402

from mlexport.errors import BadInputError  # noqa: E402
from mlexport.safety import load_pickle_checked  # noqa: E402


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_every_zoo_model_loads_through_the_allow_list(name: str, tmp_path: Path) -> None:
    """Custom functions live in the zoo module, which the user trusts by name."""
    model, _ = built(name)
    for dump in (lambda p: joblib.dump(model, p), lambda p: joblib.dump(model, p, compress=3),
                 lambda p: p.write_bytes(pickle.dumps(model))):
        path = tmp_path / "m.pkl"
        dump(path)
        assert type(load_pickle_checked(path, trusted=("zoo",))) is type(model)


def test_spline_and_other_scipy_backed_models_load(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import QuantileTransformer, SplineTransformer

    m = make_pipeline(SplineTransformer(), QuantileTransformer(n_quantiles=5), LinearRegression())
    m.fit(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    joblib.dump(m, tmp_path / "s.joblib")
    load_pickle_checked(tmp_path / "s.joblib")


class _Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (os.system, ("touch pwned",)),
        (subprocess.call, (["touch", "pwned"],)),
        (eval, ("__import__('os').system('touch pwned')",)),
        (__import__, ("os",)),
        (np.load, ("pwned.npy",)),
        (joblib.load, ("pwned.pkl",)),
    ],
)
def test_hostile_callables_are_refused_before_running(fn, args, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Reduce(fn, *args)))
    with pytest.raises(BadInputError, match="refuses to load"):
        load_pickle_checked(path)
    assert not (tmp_path / "pwned").exists()


def test_trust_widens_the_list_for_a_named_module(tmp_path: Path) -> None:
    path = tmp_path / "t.pkl"
    path.write_bytes(pickle.dumps(_Reduce(os.path.join, "a", "b")))
    with pytest.raises(BadInputError, match="--trust posixpath"):
        load_pickle_checked(path)
    assert load_pickle_checked(path, trusted=("posixpath",)) == os.path.join("a", "b")


def test_skops_files_load_through_the_same_allow_list(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    import mlexport

    X = np.random.default_rng(0).normal(size=(30, 2))
    good = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, X[:, 0] > 0)
    sio.dump(good, tmp_path / "good.skops")
    assert type(mlexport.load_model(tmp_path / "good.skops").estimator) is type(good)
    custom = make_pipeline(FunctionTransformer(_half), LogisticRegression()).fit(X, X[:, 0] > 0)
    sio.dump(custom, tmp_path / "custom.skops")
    with pytest.raises(BadInputError, match="allow-list"):
        mlexport.load_model(tmp_path / "custom.skops")
    assert mlexport.load_model(tmp_path / "custom.skops", trust=(__name__,)).estimator is not None


def _half(x):
    return x / 2
