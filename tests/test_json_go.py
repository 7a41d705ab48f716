"""The Go scorer (``json-go``) against the reference scorer and scikit-learn.

The command is built once per session (``mlexport.runtimes.json_go.binary``).
For every model family the JSON format covers, Go's outputs must equal the
Python reference scorer's and native scikit-learn's: identical labels and
numbers within ``1e-9 + 1e-9 * |expected|``. The Go unit tests and the Go
example must pass / build, and malformed documents must fail with exit
status 2 and a one-line message.

Without Go the module is skipped, except in CI (``CI`` set), where Go must be
installed and a missing toolchain is a failure.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

if shutil.which("go") is None and not os.environ.get("CI"):
    pytest.skip("Go is not installed (apt-get install golang-go)", allow_module_level=True)

from cases import hgb_categorical_from_dtype
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PolynomialFeatures, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

import mlexport
from mlexport.cache import cache_root
from mlexport.errors import BadInputError, RuntimeFailure
from mlexport.jsonfmt.export import dumps, to_document
from mlexport.jsonfmt.score import load as load_reference
from mlexport.outputs import Outputs
from mlexport.runtimes import get_runtime, json_go

pytestmark = pytest.mark.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parents[1]
RTOL = ATOL = 1e-9


@pytest.fixture(scope="session")
def go_exe() -> Path:
    """Build (or find in the cache) the mlexport-score command, once per session."""
    assert shutil.which("go"), "Go must be installed in CI (apt-get install golang-go)"
    t = time.perf_counter()
    exe = json_go.binary()
    assert exe.exists(), exe
    print(f"mlexport-score ready in {time.perf_counter() - t:.1f}s: {exe}")
    return exe


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


# --------------------------------------------------------------------------- data


def mixed_frame(n: int, seed: int, unseen: bool = False) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(40, 12, n).round(1),
        "income": rng.lognormal(10, 1, n),
        "score": rng.normal(0, 1, n),
        "city": rng.choice(["paris", "lyon", "nice", "lille, nord", 'quote"d'], n, p=[0.4, 0.3, 0.2, 0.07, 0.03]),
        "plan": rng.choice(["free", "pro", "team"], n),
        "rooms": rng.choice([1.0, 2.0, 3.0, 4.0], n),
    })
    df["city"] = df["city"].astype(object)
    df.loc[rng.random(n) < 0.15, "age"] = np.nan
    df.loc[rng.random(n) < 0.1, "income"] = np.nan
    df.loc[rng.random(n) < 0.12, "city"] = np.nan
    if unseen:
        df.loc[rng.random(n) < 0.1, "city"] = "tokyo"
        df.loc[rng.random(n) < 0.05, "city"] = ""  # the empty string is a (unknown) category, not missing
        df.loc[rng.random(n) < 0.1, "plan"] = "enterprise"
        df.loc[rng.random(n) < 0.1, "rooms"] = 7.0
    signal = (df["age"].fillna(40) - 40) / 12 + df["score"] + (df["city"] == "paris") - (df["plan"] == "free")
    y_cls = np.where(signal > 0.5, "high", np.where(signal > -0.5, "mid", "low"))
    y_reg = signal.to_numpy() * 10 + rng.normal(0, 1, n)
    return df, y_cls, y_reg


TRAIN, Y_CLS, Y_REG = mixed_frame(400, 0)
TEST = pd.concat([TRAIN.iloc[:60], mixed_frame(150, 1, unseen=True)[0]], ignore_index=True)
NUM = ["age", "income", "score"]


def preprocessor() -> ColumnTransformer:
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), NUM),
        ("city", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                               OneHotEncoder(handle_unknown="ignore")), ["city"]),
        ("plan", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5), ["plan"]),
        ("rooms", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["rooms"]),
    ])


def contract(X: pd.DataFrame) -> pd.DataFrame:
    """The runtime input contract: numbers float64, strings object with NaN for missing."""
    out = {}
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(np.float64)
        else:
            arr = s.to_numpy(dtype=object, copy=True)
            arr[pd.isna(arr)] = np.nan
            out[c] = arr
    return pd.DataFrame(out, index=X.index)


def at_thresholds(est: Any, X: np.ndarray) -> np.ndarray:
    """X plus rows sitting on every split threshold and its float32 / float64 neighbours."""
    trees = [est] if hasattr(est, "tree_") else list(np.ravel(est.estimators_))
    rows = []
    for t in trees:
        for i, (f, thr) in enumerate(zip(t.tree_.feature, t.tree_.threshold)):
            if f < 0 or not np.isfinite(thr):  # +inf: a split of NaN from the rest
                continue
            t32 = np.float32(thr)
            for c in (thr, np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf), float(t32),
                      float(np.nextafter(t32, np.float32(np.inf))), float(np.nextafter(t32, np.float32(-np.inf)))):
                r = X[i % len(X)].copy()
                r[f] = c
                rows.append(r)
    return np.vstack([X, np.asarray(rows[:600])])


def with_nan(X: np.ndarray, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(X.shape) < rate, np.nan, X)


def frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


# --------------------------------------------------------------------------- cases: (fitted model, native X, contract X)


def case_linear_regression_mixed() -> tuple[Any, Any, Any]:
    m = Pipeline([("pre", preprocessor()), ("reg", Ridge(alpha=0.5))]).fit(TRAIN, Y_REG)
    return m, TEST, contract(TEST)


def case_logistic_multinomial_mixed() -> tuple[Any, Any, Any]:
    m = Pipeline([("pre", preprocessor()), ("clf", LogisticRegression(max_iter=3000))]).fit(TRAIN, Y_CLS)
    return m, TEST, contract(TEST)


def case_sgd_log_loss_ovr() -> tuple[Any, Any, Any]:
    X, y = load_iris(return_X_y=True)
    m = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0)).fit(X, y)
    X2 = np.vstack([X, X[:20] * 40, -X[:20] * 1e4, np.zeros((2, 4))])  # saturated and all-zero rows
    return m, X2, frame(X2)


def case_sgd_modified_huber_bool_labels() -> tuple[Any, Any, Any]:
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    m = make_pipeline(StandardScaler(), SGDClassifier(loss="modified_huber", random_state=0)).fit(X, y.astype(bool))
    return m, X * 1.5, frame(X * 1.5)


def case_linear_svc_no_proba() -> tuple[Any, Any, Any]:
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, n_classes=4, random_state=0)
    m = make_pipeline(StandardScaler(), LinearSVC()).fit(X, y * 10 + 5)  # int labels 5, 15, 25, 35
    return m, X, frame(X)


def case_mlp_classifier() -> tuple[Any, Any, Any]:
    X, y = load_iris(return_X_y=True)
    m = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(7, 5), activation="tanh", max_iter=400,
                                                      random_state=0)).fit(X, y)
    return m, X * 1.3, frame(X * 1.3)


def case_mlp_regressor_multi_output() -> tuple[Any, Any, Any]:
    X, y = load_diabetes(return_X_y=True)
    m = MLPRegressor(hidden_layer_sizes=(10,), activation="relu", max_iter=200, random_state=0).fit(
        X, np.column_stack([y, -y / 3]))
    return m, X, frame(X)


def case_gaussian_nb() -> tuple[Any, Any, Any]:
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=1)
    m = GaussianNB().fit(X, np.array(["a", "b", "c"])[y])
    return m, X, frame(X)


def case_decision_tree_at_thresholds() -> tuple[Any, Any, Any]:
    X, y = load_breast_cancer(return_X_y=True)
    m = DecisionTreeClassifier(random_state=0).fit(X, y)
    X2 = at_thresholds(m, X)
    return m, X2, frame(X2)


def case_random_forest_nan() -> tuple[Any, Any, Any]:
    X, y = load_breast_cancer(return_X_y=True)
    m = RandomForestClassifier(n_estimators=20, random_state=0).fit(with_nan(X, 0.1, 0), y)
    X2 = np.vstack([at_thresholds(m, X), with_nan(X, 0.2, 1)])
    return m, X2, frame(X2)


def case_extra_trees_multi_output() -> tuple[Any, Any, Any]:
    X, y = load_diabetes(return_X_y=True)
    m = ExtraTreesRegressor(n_estimators=10, max_depth=8, random_state=0).fit(X, np.column_stack([y, np.sqrt(y)]))
    return m, X, frame(X)


def case_gradient_boosting_binary() -> tuple[Any, Any, Any]:
    X, y = load_breast_cancer(return_X_y=True)
    m = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y)
    X2 = at_thresholds(m, X)
    return m, X2, frame(X2)


def case_hist_gb_categorical_nan() -> tuple[Any, Any, Any]:
    m, test = hgb_categorical_from_dtype()
    return m, test, contract(test)


def case_hist_gb_poisson_nan() -> tuple[Any, Any, Any]:
    X, y = load_diabetes(return_X_y=True)
    Xn = with_nan(X, 0.1, 3)
    m = HistGradientBoostingRegressor(max_iter=30, loss="poisson", random_state=0).fit(Xn, y)
    X2 = np.vstack([Xn, np.full((1, X.shape[1]), np.nan)])
    return m, X2, frame(X2)


def case_pca_polynomial() -> tuple[Any, Any, Any]:
    X, y = load_iris(return_X_y=True)
    m = make_pipeline(StandardScaler(), PCA(n_components=3, whiten=True), PolynomialFeatures(degree=2),
                      LogisticRegression(max_iter=3000)).fit(X, y)
    X2 = np.vstack([X, [[100.0, -50.0, 0.0, 1e6], [-1e3, 2.0, 3.0, 4.0]]])
    return m, X2, frame(X2)


CASES: dict[str, Callable[[], tuple[Any, Any, Any]]] = {
    name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")
}


# --------------------------------------------------------------------------- comparison


def assert_close(got: Any, want: Any, what: str) -> None:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    assert np.array_equal(nan_g, nan_w), f"{what}: NaN where the other is not"
    with np.errstate(invalid="ignore"):
        ok = nan_w | (got == want) | (np.abs(got - want) <= ATOL + RTOL * np.abs(want))
    if not ok.all():
        i = tuple(np.argwhere(~ok)[0])
        raise AssertionError(f"{what}: at {i} got {got[i]!r}, want {want[i]!r}")


def export(est: Any, path: Path) -> Path:
    path.write_text(dumps(to_document(est)), encoding="ascii")
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_go_matches_reference_and_sklearn(name: str, go_exe: Path, tmp_path: Path) -> None:
    est, X_native, X = CASES[name]()
    art = export(est, tmp_path / "model.json")
    ref = load_reference(art).predict(X)
    scorer = get_runtime("json-go").load(art)
    try:
        got = scorer.predict(X)
        assert [c.name for c in scorer.signature.columns] == list(X.columns)
    finally:
        scorer.close()
    assert isinstance(got, Outputs)
    assert list(got.to_frame().columns) == list(ref.to_frame().columns)
    if ref.label is not None:
        assert scorer.task == "classification"
        assert scorer.classes == tuple(np.asarray(est.classes_).tolist()) == ref.classes
        native = est.predict(X_native)
        assert got.label.dtype == ref.label.dtype
        assert list(got.label) == list(ref.label), "labels differ from the reference scorer"
        assert list(got.label) == list(native), "labels differ from scikit-learn"
        if ref.proba is None:
            assert got.proba is None
        else:
            assert_close(got.proba, ref.proba, "proba vs reference")
            assert_close(got.proba, est.predict_proba(X_native), "proba vs sklearn")
    else:
        assert scorer.task == "regression" and got.label is None and got.proba is None
        assert_close(got.value, ref.value, "value vs reference")
        assert_close(got.value, est.predict(X_native), "value vs sklearn")


def test_trees_are_bit_exact(go_exe: Path, tmp_path: Path) -> None:
    est, X_native, X = case_random_forest_nan()
    art = export(est, tmp_path / "rf.json")
    got = get_runtime("json-go").load(art).predict(X)
    assert np.array_equal(got.proba, load_reference(art).predict(X).proba)


# --------------------------------------------------------------------------- the command itself


def run(exe: Path, *args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_command_scores_a_csv_like_mlexport_score(go_exe: Path, tmp_path: Path) -> None:
    m = Pipeline([("pre", preprocessor()), ("clf", HistGradientBoostingClassifier(max_iter=10, random_state=0))])
    m.fit(TRAIN, Y_CLS)
    art = export(m, tmp_path / "m.json")
    csv = tmp_path / "in.csv"
    TEST.assign(extra="ignored").to_csv(csv, index=False)  # pandas CSV: empty field = missing
    r = run(go_exe, art, csv, tmp_path / "out.csv")
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, float_precision="round_trip")
    X = contract(TEST.replace({"city": {"": np.nan}}))  # in a pandas CSV "" cannot be told from missing
    want = load_reference(art).predict(X).to_frame()
    assert list(out.columns) == list(want.columns) == ["label", "proba_high", "proba_low", "proba_mid"]
    assert list(out["label"]) == list(want["label"]) == list(m.predict(TEST.replace({"city": {"": np.nan}})))
    assert_close(out.iloc[:, 1:].to_numpy(), want.iloc[:, 1:].to_numpy(), "proba")
    # -describe
    d = json.loads(run(go_exe, "-describe", art).stdout)
    assert d["task"] == "classification" and d["classes"] == ["high", "low", "mid"]
    assert [i["name"] for i in d["inputs"]] == list(TRAIN.columns)


def test_zero_rows_and_input_errors(go_exe: Path, tmp_path: Path) -> None:
    m = make_pipeline(ColumnTransformer([("plan", OneHotEncoder(), ["plan"]), ("num", SimpleImputer(), NUM)]),
                      LogisticRegression(max_iter=2000)).fit(TRAIN, Y_CLS)
    art = export(m, tmp_path / "m.json")
    s = get_runtime("json-go").load(art)
    try:
        empty = s.predict(contract(TEST.iloc[:0]))
        assert empty.label.shape == (0,) and empty.proba.shape == (0, 3)
        with pytest.raises(BadInputError, match="missing column"):
            s.predict(contract(TEST.drop(columns=["plan"])))
        with pytest.raises(RuntimeFailure, match="unknown category 'enterprise'"):
            s.predict(contract(TEST))
    finally:
        s.close()


def malformed_documents(good: str) -> dict[str, tuple[str, str]]:
    doc = json.loads(good)
    tree = doc["model"]["trees"][0]

    def with_tree(**changes: Any) -> str:
        d = json.loads(good)
        d["model"]["trees"][0].update(changes)
        return json.dumps(d)

    n = len(tree["left"])
    return {
        "truncated": (good[: len(good) // 2], "truncated"),
        "bare NaN": (good.replace('"init":[', '"init":[NaN,', 1), "bare NaN is not JSON"),
        "future version": (good.replace('"format_version":1', '"format_version":2', 1), "version 2 is not supported"),
        "unknown node type": (good.replace('"type":"tree_ensemble"', '"type":"forest"', 1), "unknown model type 'forest'"),
        "unknown field": (with_tree(impurity=[0.0] * n), "unknown field(s) 'impurity'"),
        "wrong type": (with_tree(width="1"), "must be an integer"),
        "child cycle": (with_tree(right=[0] + list(tree["right"][1:])), "child index must be greater than its parent's"),
        "child out of range": (with_tree(left=[n + 5] + list(tree["left"][1:])), f"below {n}"),
        "two parents": (with_tree(right=[tree["left"][0]] + list(tree["right"][1:])), "exactly one parent"),
        "huge width": (good.replace('"n_features":4', '"n_features":100000000000', 1), "must be in [0, 1048576]"),
        "not an object": ("[1, 2, 3]", "must be an object"),
    }


def test_malformed_documents_exit_2_with_one_line(go_exe: Path, tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    good = dumps(to_document(GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, y)))
    csv = tmp_path / "in.csv"
    frame(X[:5]).to_csv(csv, index=False)
    assert run(go_exe, tmp_path / "missing.json", csv, tmp_path / "o.csv").returncode == 2
    rt = get_runtime("json-go")
    for name, (text, message) in malformed_documents(good).items():
        art = tmp_path / f"{name.replace(' ', '_')}.json"
        art.write_text(text)
        r = run(go_exe, art, csv, tmp_path / "out.csv")
        assert r.returncode == 2, f"{name}: exit {r.returncode}: {r.stderr}"
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "panic" not in r.stderr, f"{name}: {r.stderr}"
        assert not (tmp_path / "out.csv").exists()
        with pytest.raises(RuntimeFailure, match="json-go: .*" + re.escape(message)):
            rt.load(art)


# --------------------------------------------------------------------------- Go tests and the Go example


def _copy_module(tmp: Path) -> Path:
    dst = tmp / "scorer"
    for rel, data in json_go.go_sources():
        p = dst / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return dst


def test_go_unit_tests_pass(go_exe: Path, tmp_path: Path) -> None:
    src = _copy_module(tmp_path)
    env = json_go.go_env(cache_root())
    r = subprocess.run(["go", "vet", "./..."], cwd=src, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["go", "test", "-count=1", "./..."], cwd=src, env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout


def test_go_example_builds_and_scores_like_the_reference(go_exe: Path, tmp_path: Path) -> None:
    example = ROOT / "examples" / "go"
    if not example.exists():
        pytest.skip("examples/ is not part of this installation")
    env = json_go.go_env(cache_root())
    exe = tmp_path / "churn-service"
    r = subprocess.run(["go", "build", "-o", str(exe), "."], cwd=example, env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    art = tmp_path / "churn.json"
    mlexport.export(mlexport.load_model(ROOT / "examples" / "churn" / "model.joblib"), "json", art, verify=False)
    sample = pd.read_csv(ROOT / "examples" / "churn" / "sample.csv").iloc[:25]
    rows = [{k: (None if pd.isna(v) else v) for k, v in rec.items()} for rec in sample.to_dict("records")]
    r = subprocess.run([str(exe), "-model", str(art), "-request", json.dumps({"rows": rows})], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    resp = json.loads(r.stdout)
    want = load_reference(art).predict(contract(sample))
    assert resp["columns"] == ["label", "proba_0", "proba_1"]
    assert [p["label"] for p in resp["predictions"]] == [str(v) for v in want.label]
    assert_close([[p["proba"]["0"], p["proba"]["1"]] for p in resp["predictions"]], want.proba, "example proba")


# --------------------------------------------------------------------------- expression programs (FunctionTransformer)


def random_program(rng: np.random.Generator, F: int = 3) -> Any:
    """A random well-typed mlexport.expr program over F input columns, output width F."""
    from mlexport import expr as X

    consts = [0.0, -0.0, 1.0, -1.0, 2.5, 0.5, 18.0, 1e300, -3.0, math.nan, math.inf, -math.inf]
    float_unary = sorted(X.UNARY_FLOAT)
    float_binary = sorted(X.BINARY_FLOAT)

    def leaf(dtype: str, rank: int) -> Any:
        if dtype == "bool":
            if rank == 0:
                return X.Const(bool(rng.integers(2)))
            return X.Unary(str(rng.choice(sorted(X.UNARY_PRED))), leaf("float64", rank))
        if rank == 0:
            return X.Const(float(consts[rng.integers(len(consts))]))
        if rank == 1:
            return X.Col(int(rng.integers(F)))
        return X.Input() if rng.random() < 0.5 else X.Cols(tuple(int(i) for i in rng.permutation(F)))

    def gen(dtype: str, rank: int, depth: int) -> Any:
        if depth == 0 or rng.random() < 0.25:
            return leaf(dtype, rank)
        sub_rank = lambda: rank if rank == 0 else int(rng.choice([0, rank, rank]))  # noqa: E731 - scalars broadcast
        if dtype == "float64":
            kind = rng.choice(["unary", "binary", "binary", "where", "clip", "to_float"])
            if kind == "unary":
                return X.Unary(str(rng.choice(float_unary)), gen("float64", rank, depth - 1))
            if kind == "binary":
                return X.Binary(str(rng.choice(float_binary)), gen("float64", rank, depth - 1),
                                gen("float64", sub_rank(), depth - 1))
            if kind == "where":
                return X.Where(gen("bool", sub_rank(), depth - 1), gen("float64", rank, depth - 1),
                               gen("float64", sub_rank(), depth - 1))
            if kind == "clip":
                lo = None if rng.random() < 0.3 else float(rng.normal())
                hi = None if rng.random() < 0.3 else float(rng.normal())
                return X.Clip(gen("float64", rank, depth - 1), lo, hi)
            return X.Unary("to_float", gen("bool", rank, depth - 1))
        kind = rng.choice(["cmp", "eq", "bool", "not", "pred"])
        if kind == "cmp":
            return X.Binary(str(rng.choice(sorted(X.BINARY_CMP))), gen("float64", rank, depth - 1),
                            gen("float64", sub_rank(), depth - 1))
        if kind == "eq":
            dt = str(rng.choice(["float64", "bool"]))
            return X.Binary(str(rng.choice(["eq", "ne"])), gen(dt, rank, depth - 1), gen(dt, sub_rank(), depth - 1))
        if kind == "bool":
            return X.Binary(str(rng.choice(sorted(X.BINARY_BOOL))), gen("bool", rank, depth - 1),
                            gen("bool", sub_rank(), depth - 1))
        if kind == "not":
            return X.Unary("not", gen("bool", rank, depth - 1))
        return X.Unary(str(rng.choice(sorted(X.UNARY_PRED))), gen("float64", rank, depth - 1))

    dtype = str(rng.choice(["float64", "float64", "bool"]))
    if rng.random() < 0.5:
        out = gen(dtype, 2, 4)
    else:
        out = X.Concat(tuple(gen(dtype, 1, 4) for _ in range(F)))
    return X.ExprProgram(out, F, function="fuzz", origin="source")


def expression_document(program: Any, F: int = 3) -> dict[str, Any]:
    from mlexport import expr as X

    info = X.check(program)
    W = int(info.width)
    return {
        "format": "mlexport-json", "format_version": 1, "task": "regression",
        "inputs": [{"name": f"x{i}", "kind": "number", "used": True} for i in range(F)],
        "steps": [{"type": "expression", "path": "f", "class": "FunctionTransformer", "n_in": F, "n_out": W,
                   "program": X.to_dict(program)}],
        "model": {"type": "linear", "n_features": W, "n_outputs": 1, "coef": [[0.0] * W], "intercept": [0.0]},
        "output": {"kind": "regressor", "transform": "identity", "squeeze": True},
    }


def test_expression_programs_match_reference(go_exe: Path, tmp_path: Path) -> None:
    from mlexport.jsonfmt.score import Scorer

    rng = np.random.default_rng(7)
    special = np.array([0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, 18.0, 1e-300, 1e300, -1e300, math.nan,
                        math.inf, -math.inf, 3.0, -7.25, 0.1])
    Xv = np.vstack([rng.choice(special, size=(60, 3)), rng.normal(0, 10, size=(40, 3))])
    frame(Xv).to_csv(tmp_path / "x.csv", index=False)  # pandas writes NaN as an empty field, inf as 'inf'
    checked = 0
    for k in range(60):
        prog = random_program(rng)
        doc = expression_document(prog)
        art = tmp_path / f"e{k}.json"
        art.write_text(dumps(doc))
        want = Scorer(json.loads(art.read_text())).features(frame(Xv))
        r = run(go_exe, "-features", art, tmp_path / "x.csv", tmp_path / "f.csv")
        assert r.returncode == 0, r.stderr
        got = pd.read_csv(tmp_path / "f.csv", dtype=str, keep_default_na=False).to_numpy(dtype=object).astype(np.float64)
        assert got.shape == want.shape
        try:
            assert_close(got, want, f"program {k}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{json.dumps(doc['steps'][0]['program']['output'])}") from None
        checked += 1
    assert checked == 60


def test_function_transformer_pipeline(go_exe: Path, tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    X, y = load_diabetes(return_X_y=True)
    X = np.abs(X) * 100
    ft = FunctionTransformer(lambda x: np.where(x > 5, np.log1p(x), -x) + (x[:, [0]] > 3))
    m = make_pipeline(ft, StandardScaler(), Ridge()).fit(X, y)
    try:
        art = export(m, tmp_path / "ft.json")
    except Exception as e:  # noqa: BLE001 - the translator may not cover this lambda in a future version
        pytest.skip(f"not exportable: {e}")
    assert any(s["type"] == "expression" for s in json.loads(art.read_text())["steps"])
    got = get_runtime("json-go").load(art).predict(frame(X))
    assert_close(got.value, load_reference(art).predict(frame(X)).value, "value vs reference")
    assert_close(got.value, m.predict(X), "value vs sklearn")
