"""The Java scorer of the JSON format (``json-java``) against scikit-learn and the Python reference.

One model per node family is exported, scored in one JVM by ``MlexportJsonScorer``
(through the ``json-java`` runtime) and compared with both native scikit-learn and
``mlexport.jsonfmt.score``: labels identical, numbers within ``1e-9 + 1e-9 * |b|``.
Hostile documents must give exit code 2 and a one-line message. The class is
compiled once per session into a temporary cache. In CI (``$CI`` set) Java and
Gson must be present: the module fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, PolynomialFeatures, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from mlexport.errors import RuntimeFailure
from mlexport.jsonfmt.export import dumps, to_document
from mlexport.jsonfmt.score import load as load_reference
from mlexport.runtimes import get_runtime, json_java

pytestmark = [pytest.mark.filterwarnings("ignore"), getattr(pytest.mark, "json-java")]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "jvm" / "json"
RTOL = ATOL = 1e-9


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    rt = get_runtime("json-java")
    reason = rt.available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"json-java must run in CI: {reason}")
        pytest.skip(reason)
    cache = tmp_path_factory.mktemp("jvm-cache")
    old = os.environ.get("MLEXPORT_CACHE")
    os.environ["MLEXPORT_CACHE"] = str(cache)
    try:
        classes = json_java.compiled_classes()  # compiled once for the session
        assert (classes / ".complete").exists() and classes.parent == cache
        assert json_java.compiled_classes() == classes
        yield rt
    finally:
        if old is None:
            os.environ.pop("MLEXPORT_CACHE", None)
        else:
            os.environ["MLEXPORT_CACHE"] = old


# --------------------------------------------------------------------------- data

WEIRD = ["paris", "lyon", "nice, france", 'say "hi"', "línea\nnueva", ""]


def frame(n: int, seed: int, unseen: bool = False) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(1),
            "income": rng.lognormal(10, 1, n),
            "score": rng.normal(0, 1, n),
            "city": rng.choice(WEIRD, n, p=[0.35, 0.25, 0.15, 0.1, 0.1, 0.05]).astype(object),
            "plan": rng.choice([0.0, 1.0, 2.0, 3.0], n),
        }
    )
    df.loc[rng.random(n) < 0.15, "age"] = np.nan
    df.loc[rng.random(n) < 0.1, "income"] = np.nan
    df.loc[rng.random(n) < 0.1, "city"] = np.nan
    df.loc[rng.random(n) < 0.08, "plan"] = np.nan
    if unseen:
        df.loc[rng.random(n) < 0.1, "city"] = "tōkyō"
        df.loc[rng.random(n) < 0.05, "plan"] = 7.0
        df.loc[:2, "score"] = [1e6, -1e-300, -0.0]
    signal = (df["age"].fillna(40) - 40) / 12 + df["score"].clip(-5, 5) + (df["city"] == "paris") - (df["plan"] == 1.0)
    y_cls = np.where(signal > 0.5, "high", np.where(signal > -0.5, "mid", "low"))
    y_reg = signal.to_numpy() * 10 + rng.normal(0, 1, n)
    return df, y_cls, y_reg


TRAIN, Y_CLS, Y_REG = frame(500, 0)
TEST, _, _ = frame(250, 1, unseen=True)
NUM = ["age", "income", "score"]


def contract(X: pd.DataFrame) -> pd.DataFrame:
    """The runtime input contract: numbers float64, strings object with NaN for missing."""
    out = {}
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype(np.float64)
        else:
            arr = s.to_numpy(dtype=object)
            arr[pd.isna(arr)] = np.nan
            out[c] = arr
    return pd.DataFrame(out, index=X.index)


def pre() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), NUM),
            ("city", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                   OneHotEncoder(handle_unknown="ignore")), ["city"]),
            ("plan", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2),
             ["plan"]),
        ]
    )


def threshold_rows() -> pd.DataFrame:
    """Rows sitting exactly on a tree's thresholds and on their float32 / float64 neighbours."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    X.loc[::17, "b"] = np.nan
    return X


def tree_edge_cases(tree: Any) -> pd.DataFrame:
    t = tree.tree_
    base = threshold_rows().iloc[:1]
    rows = []
    for f, thr in zip(t.feature, t.threshold):
        if f < 0:
            continue
        for v in (thr, np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf),
                  float(np.nextafter(np.float32(thr), np.float32(np.inf))),
                  float(np.nextafter(np.float32(thr), np.float32(-np.inf)))):
            r = base.copy()
            r.iloc[0, f] = v
            rows.append(r)
    return pd.concat(rows, ignore_index=True)


def hgb_frame() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 600
    X = pd.DataFrame({"x": rng.normal(size=n), "cat": rng.integers(0, 6, n).astype(float), "z": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.1, "x"] = np.nan
    X.loc[rng.random(n) < 0.1, "cat"] = np.nan
    y = ((X["cat"].isin([1.0, 4.0])) ^ (X["x"].fillna(1) > 0.2)).astype(int).to_numpy()
    T = X.iloc[:200].copy()
    T.loc[T.index[:10], "cat"] = 9.0  # categories unseen at fit time
    return X, T, y


def _models() -> dict[str, tuple[Any, pd.DataFrame]]:
    """name -> (fitted model, rows to score)."""
    Xh, Th, yh = hgb_frame()
    thr = threshold_rows()
    y_thr = thr["a"].to_numpy() * 2 + np.nan_to_num(thr["b"].to_numpy())
    tree = DecisionTreeRegressor(max_depth=5, random_state=0).fit(thr, y_thr)
    y_bool = Y_CLS == "high"
    models: dict[str, tuple[Any, pd.DataFrame]] = {  # keys: MODEL_NAMES
        "linear_regression": (Pipeline([("pre", pre()), ("m", LinearRegression())]).fit(TRAIN, Y_REG), TEST),
        "logistic_multinomial": (Pipeline([("pre", pre()), ("m", LogisticRegression(max_iter=2000))]).fit(TRAIN, Y_CLS), TEST),
        "sgd_log_loss_ovr": (Pipeline([("pre", pre()), ("m", SGDClassifier(loss="log_loss", random_state=0))]).fit(TRAIN, Y_CLS), TEST),
        "mlp": (Pipeline([("pre", pre()), ("m", MLPClassifier(hidden_layer_sizes=(8, 4), max_iter=400, random_state=0))])
                .fit(TRAIN, Y_CLS), TEST),
        "gaussian_nb_bool_labels": (Pipeline([("pre", pre()), ("m", GaussianNB())]).fit(TRAIN, y_bool), TEST),
        "decision_tree_thresholds": (tree, pd.concat([thr, tree_edge_cases(tree)], ignore_index=True)),
        "random_forest": (Pipeline([("pre", pre()), ("m", RandomForestClassifier(n_estimators=20, max_depth=6,
                                                                              random_state=0))]).fit(TRAIN, Y_CLS), TEST),
        "extra_trees_multi_output": (Pipeline([("pre", pre()), ("m", ExtraTreesRegressor(n_estimators=10, max_depth=6,
                                                                                     random_state=0))])
                                     .fit(TRAIN, np.column_stack([Y_REG, -Y_REG ** 2])), TEST),
        "gradient_boosting_binary_int_labels": (Pipeline([("pre", pre()), ("m", GradientBoostingClassifier(
            n_estimators=20, random_state=0))]).fit(TRAIN, y_bool.astype(int) * 3 + 1), TEST),
        "hist_gb_nan_categorical": (HistGradientBoostingClassifier(max_iter=20, categorical_features=["cat"],
                                                                   random_state=0).fit(Xh, yh), Th),
        "hist_gb_poisson": (Pipeline([("pre", pre()), ("m", HistGradientBoostingRegressor(
            loss="poisson", max_iter=20, random_state=0))]).fit(TRAIN, np.exp(Y_REG / 20)), TEST),
        "pca_poly_logistic": (make_pipeline(SimpleImputer(), StandardScaler(), PCA(n_components=2, whiten=True),
                                            PolynomialFeatures(degree=2), LogisticRegression(max_iter=2000))
                              .fit(TRAIN[NUM], Y_CLS), TEST[NUM]),
        "expression_lasso": (make_pipeline(SimpleImputer(), FunctionTransformer(
            lambda x: np.where(x > 0, np.log1p(np.abs(x)), -np.sqrt(np.abs(x)))), Lasso(alpha=0.01))
                             .fit(TRAIN[NUM], Y_REG), TEST[NUM]),
    }
    return models


@pytest.fixture(scope="module")
def models() -> dict[str, tuple[Any, pd.DataFrame]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _models()


# --------------------------------------------------------------------------- comparisons


def assert_close(got: Any, want: Any, what: str) -> None:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{what}: NaN where the other is not"
    ok = np.isnan(want) | (np.abs(got - want) <= ATOL + RTOL * np.abs(want))
    if not ok.all():
        i = tuple(np.argwhere(~ok)[0])
        raise AssertionError(f"{what}: at {i} got {got[i]!r}, want {want[i]!r}")


MODEL_NAMES = [
    "linear_regression", "logistic_multinomial", "sgd_log_loss_ovr", "mlp", "gaussian_nb_bool_labels",
    "decision_tree_thresholds", "random_forest", "extra_trees_multi_output", "gradient_boosting_binary_int_labels",
    "hist_gb_nan_categorical", "hist_gb_poisson", "pca_poly_logistic", "expression_lasso",
]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_java_matches_reference_and_sklearn(name: str, models: dict[str, Any], runtime: Any, tmp_path: Path) -> None:
    est, X = models[name]
    doc = to_document(est)
    path = tmp_path / "model.json"
    path.write_text(dumps(doc))
    Xc = contract(X)
    ref = load_reference(path).predict(Xc)
    scorer = runtime.load(path)
    try:
        got = scorer.predict(Xc)
    finally:
        scorer.close()
    assert scorer.task == doc["task"]
    assert scorer.signature.names == [c["name"] for c in doc["inputs"]]
    assert [c.kind for c in scorer.signature.columns] == [c["kind"] for c in doc["inputs"]]
    if doc["task"] == "classification":
        native = est.predict(X)
        classes = tuple(np.asarray(est.classes_).tolist())
        assert scorer.classes == classes and got.classes == classes
        assert got.label.dtype == ref.label.dtype
        assert list(got.label) == list(ref.label) == list(native), "labels differ"
        if hasattr(est, "predict_proba"):
            assert_close(got.proba, ref.proba, "proba vs reference")
            assert_close(got.proba, est.predict_proba(X), "proba vs sklearn")
        else:
            assert got.proba is None
    else:
        assert scorer.classes is None
        assert_close(got.value, ref.value, "value vs reference")
        assert_close(got.value, est.predict(X), "value vs sklearn")
    # the CSV the runtime read is the one `mlexport score` writes
    assert list(got.to_frame().columns) == list(ref.to_frame().columns)


def test_transforms_are_bit_exact(models: dict[str, Any], runtime: Any, tmp_path: Path) -> None:
    """--features writes the model's input vector: steps reproduce the reference bit for bit."""
    est, X = models["expression_lasso"]
    full = Pipeline([("pre", pre()), ("m", LinearRegression())]).fit(TRAIN, Y_REG)
    for i, model in enumerate((est, full)):
        path = tmp_path / f"m{i}.json"
        doc = to_document(model)
        path.write_text(dumps(doc))
        rows = contract(TEST if model is full else X)
        inputs = [(c["name"], c["kind"], c["used"]) for c in doc["inputs"]]
        json_java.write_csv(rows, inputs, tmp_path / "in.csv")
        r = subprocess.run(json_java.java_command() + ["--features", str(path), str(tmp_path / "in.csv"),
                                                       str(tmp_path / "f.csv")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        got = pd.read_csv(tmp_path / "f.csv", dtype=str, keep_default_na=False).to_numpy().astype(np.float64)
        want = load_reference(path).features(rows)
        assert np.array_equal(got, want, equal_nan=True)


def test_empty_batch_and_input_errors(models: dict[str, Any], runtime: Any, tmp_path: Path) -> None:
    est, X = models["logistic_multinomial"]
    path = tmp_path / "m.json"
    path.write_text(dumps(to_document(est)))
    scorer = runtime.load(path)
    empty = scorer.predict(contract(X).iloc[:0])
    assert empty.label.shape == (0,) and empty.proba.shape == (0, 3)
    strict = Pipeline([("pre", ColumnTransformer([("c", OneHotEncoder(), ["city"]),
                                                  ("n", make_pipeline(SimpleImputer(), StandardScaler()), NUM)])),
                       ("m", LogisticRegression(max_iter=2000))]).fit(TRAIN.fillna({"city": "paris"}), Y_CLS)
    path2 = tmp_path / "strict.json"
    path2.write_text(dumps(to_document(strict)))
    s2 = runtime.load(path2)
    with pytest.raises(RuntimeFailure, match="unknown category 'tōkyō' in data row"):
        s2.predict(contract(TEST))


# --------------------------------------------------------------------------- hostile documents


def _base_docs() -> tuple[dict[str, Any], dict[str, Any]]:
    Xh, _Th, yh = hgb_frame()
    hgb = HistGradientBoostingClassifier(max_iter=3, categorical_features=["cat"], random_state=0).fit(Xh, yh)
    rf = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=2, max_depth=3, random_state=0)).fit(
        TRAIN[NUM].fillna(0), Y_CLS)
    return to_document(rf), to_document(hgb)


def _mut(doc: dict[str, Any], f: Any) -> str:
    d = json.loads(json.dumps(doc))
    f(d)
    return dumps(d)


def _hostile() -> dict[str, str | bytes]:
    R, H = _base_docs()
    text = dumps(R)

    def cat_tree(d: dict[str, Any]) -> dict[str, Any]:
        return next(t for t in d["model"]["trees"] if "bitsets" in t)

    def expr_step(op: str) -> Any:
        def f(d: dict[str, Any]) -> None:
            n = d["steps"][0]["n_in"]
            d["steps"].insert(0, {"type": "expression", "n_in": n, "n_out": n, "program": {
                "format": "mlexport.expr", "version": 1, "n_features_in": n, "n_features_out": n, "dtype": "float64",
                "frozen": {}, "output": {"op": op, "args": [{"op": "input"}]}}})
        return f

    return {
        "truncated": text[: len(text) // 2],
        "bare_nan": text.replace('"tree_scale":1.0', '"tree_scale":NaN'),
        "bare_infinity": text.replace('"divide":2.0', '"divide":Infinity'),
        "not_utf8": text.encode("utf-8").replace(b'"mlexport-json"', b'"mlexport-json\xff"'),
        "empty": "",
        "top_level_array": "[1, 2]",
        "trailing_data": text + "{}",
        "duplicate_key": text.replace('{"format":', '{"task":"regression","format":', 1),
        "deep_nesting": "[" * 100_000 + "]" * 100_000,
        "format_version_2": _mut(R, lambda d: d.update(format_version=2)),
        "format_version_string": _mut(R, lambda d: d.update(format_version="1")),
        "unknown_step_type": _mut(R, lambda d: d["steps"][0].update(type="spline")),
        "unknown_model_field": _mut(R, lambda d: d["model"].update(extra=1)),
        "unknown_enum": _mut(R, lambda d: d["model"].update(input_cast="float16")),
        "unknown_expression_op": _mut(R, expr_step("gamma")),
        "wrong_type_string": _mut(R, lambda d: d["steps"][0].__setitem__("center", ["x"] + d["steps"][0]["center"][1:])),
        "wrong_type_float_index": _mut(R, lambda d: d["model"]["trees"][0]["left"].__setitem__(0, 1.0)),
        "null_array": _mut(R, lambda d: d["model"].__setitem__("init", None)),
        "huge_width": _mut(R, lambda d: d["steps"][0].update(n_in=10**12, n_out=10**12)),
        "huge_integer": text.replace('"n_features":3', '"n_features":' + "9" * 400, 1),
        "tree_cycle": _mut(R, lambda d: d["model"]["trees"][0]["left"].__setitem__(1, 0)),
        "tree_self_loop": _mut(R, lambda d: d["model"]["trees"][0]["right"].__setitem__(0, 0)),
        "tree_child_out_of_range": _mut(R, lambda d: d["model"]["trees"][0]["right"].__setitem__(0, 10**6)),
        "tree_two_parents": _mut(R, lambda d: d["model"]["trees"][0]["right"].__setitem__(
            0, d["model"]["trees"][0]["left"][1])),
        "tree_value_length": _mut(R, lambda d: d["model"]["trees"][0]["value"].pop()),
        "bitset_word_too_big": _mut(H, lambda d: cat_tree(d)["bitsets"][0].__setitem__(0, 2**32)),
        "missing_known_categories": _mut(H, lambda d: d["model"].pop("known_categories")),
    }


HOSTILE_NAMES = [
    "truncated", "bare_nan", "bare_infinity", "not_utf8", "empty", "top_level_array", "trailing_data", "duplicate_key",
    "deep_nesting", "format_version_2", "format_version_string", "unknown_step_type", "unknown_model_field",
    "unknown_enum", "unknown_expression_op", "wrong_type_string", "wrong_type_float_index", "null_array", "huge_width",
    "huge_integer", "tree_cycle", "tree_self_loop", "tree_child_out_of_range", "tree_two_parents", "tree_value_length",
    "bitset_word_too_big", "missing_known_categories",
]

EXPECTED = {
    "bare_nan": "not valid JSON", "format_version_2": "version 2 is not supported", "unknown_step_type": "spline",
    "unknown_model_field": "unknown field(s) extra", "tree_cycle": "child index", "tree_self_loop": "child index",
    "tree_two_parents": "exactly one parent", "unknown_expression_op": "gamma", "duplicate_key": "duplicate key",
    "huge_width": "limit", "bitset_word_too_big": "unsigned 32-bit",
}


def test_hostile_documents_exit_2_with_one_line(runtime: Any, tmp_path: Path) -> None:
    docs = _hostile()
    assert sorted(docs) == sorted(HOSTILE_NAMES)
    cmd = json_java.java_command(quick=True)

    def check(name: str) -> str | None:
        p = tmp_path / f"{name}.json"
        body = docs[name]
        p.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
        r = subprocess.run([*cmd, "--check", str(p)], capture_output=True, text=True, timeout=120)
        err = r.stderr.strip()
        if r.returncode != 2 or "\n" in err or not err.startswith("mlexport-json: ") or "Exception" in err \
                or "\tat " in r.stderr or name in EXPECTED and EXPECTED[name] not in err:
            return f"{name}: exit {r.returncode}: {r.stderr[:300]!r}"
        return None

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:  # one JVM per document, two at a time
        failures = [f for f in pool.map(check, HOSTILE_NAMES) if f]
    assert not failures, "\n".join(failures)
    # the runtime refuses at load time with the Java scorer's message
    with pytest.raises(RuntimeFailure, match="json-java: cannot load .*tree_cycle.json.*child index"):
        runtime.load(tmp_path / "tree_cycle.json")


def test_cli_usage_and_missing_files(runtime: Any, tmp_path: Path) -> None:
    cmd = json_java.java_command(quick=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("mlexport-json: usage:")
    r = subprocess.run([*cmd, str(tmp_path / "nope.json"), "a.csv", "b.csv"], capture_output=True, text=True)
    assert r.returncode == 2 and "no such file" in r.stderr and r.stderr.count("\n") == 1


# --------------------------------------------------------------------------- the example


def test_decimal_parser_matches_java_bit_for_bit(runtime: Any, tmp_path: Path) -> None:
    """The CSV reader's own decimal parser (several times faster than Double.parseDouble on
    17-digit numbers) must round every input exactly as Double.parseDouble does: random
    doubles in shortest and 15- to 17-digit forms, random digit strings over the whole
    exponent range, integers halfway between two doubles, decimals around midpoints."""
    gson = json_java.gson_jar()
    javac = shutil.which("javac")
    assert gson is not None and javac is not None
    build = tmp_path / "build"
    src = Path(json_java.__file__).parent / "scorers" / "jvm" / "MlexportJsonScorer.java"
    check = ROOT / "tests" / "scorer_checks" / "DecimalParserCheck.java"
    r = subprocess.run([javac, "--release", "11", "-nowarn", "-encoding", "UTF-8", "-cp", str(gson), "-d", str(build),
                        str(src), str(check)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    java = shutil.which("java") or "java"
    r = subprocess.run([java, "-cp", os.pathsep.join([str(gson), str(build)]), "dev.mlexport.DecimalParserCheck",
                        "60000", "20261123"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    checked, mismatches = (int(w) for w in r.stdout.split()[-3::2])
    assert mismatches == 0 and checked > 800_000, r.stdout


def test_example_score_service_compiles_and_runs(runtime: Any, tmp_path: Path) -> None:
    gson = json_java.gson_jar()
    assert gson is not None
    javac = shutil.which("javac")
    assert javac is not None
    build = tmp_path / "build"
    src = Path(json_java.__file__).parent / "scorers" / "jvm" / "MlexportJsonScorer.java"
    r = subprocess.run([javac, "--release", "11", "-encoding", "UTF-8", "-cp", str(gson), "-d", str(build), str(src),
                        str(EXAMPLE / "ScoreService.java")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    model = Pipeline([("pre", pre()), ("m", LogisticRegression(max_iter=2000))]).fit(TRAIN, Y_CLS)
    (tmp_path / "model.json").write_text(dumps(to_document(model)))
    java = [shutil.which("java") or "java", "-cp", os.pathsep.join([str(gson), str(build)]), "ScoreService",
            str(tmp_path / "model.json")]
    row = {"age": "51", "income": "30000", "score": "1.5", "city": "paris", "plan": ""}
    r = subprocess.run([*java, *(f"{k}={v}" for k, v in row.items())], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want = model.predict(pd.DataFrame([{"age": 51.0, "income": 30000.0, "score": 1.5, "city": "paris",
                                        "plan": np.nan}]))[0]
    assert r.stdout.startswith(f"label={want} ")
    r = subprocess.run([*java, "age=x"], capture_output=True, text=True)
    assert r.returncode == 2 and "bad request" in r.stderr
