"""The fast paths of the PMML exporter and of the jpmml runtime keep their results exact.

* the converter's pickle (plain protocol 4, arrays in C order) reads back as the
  joblib pickle did, object arrays included;
* ``PmmlFileWriter`` streams the document to the file and rewrites infinite split
  thresholds exactly as :func:`mlexport.exporters.pmml.portable_infinity` does, however
  the bytes are cut into writes;
* a transpiled tree model scores exactly like the interpreted one, is cached by the
  file's content, and a damaged cache entry or a model without trees falls back to
  interpreting the file.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlexport import jvm
from mlexport.exporters import get_exporter
from mlexport.exporters import pmml as pmml_mod
from mlexport.model import from_estimator
from mlexport.runtimes import jpmml

RTOL = ATOL = 1e-6


@pytest.fixture(scope="module")
def java() -> None:
    missing = jvm.java_available()
    if missing:
        pytest.skip(missing)
    jvm.start()
    try:
        jvm.helper_classes()
    except Exception as e:  # no javac: the helpers (and these paths) do not exist
        pytest.skip(str(e))


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("MLEXPORT_CACHE", str(root))
    return root / jpmml.TRANSPILED_DIR


def _frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])


def _with_gaps(X: np.ndarray, rate: float, seed: int) -> np.ndarray:
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < rate] = np.nan
    return X


@pytest.fixture(scope="module")
def forest(java, tmp_path_factory):
    """A classifier forest fitted with gaps (infinite "missing" splits), exported with verification rows."""
    X, y = make_classification(n_samples=1200, n_features=6, n_informative=4, random_state=3)
    X = _frame(_with_gaps(X, 0.1, 0))
    est = RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0).fit(X, y)
    out = tmp_path_factory.mktemp("fast") / "forest.pmml"
    get_exporter("pmml").export(from_estimator(est), out, X.iloc[:400])
    return est, out, X


def _outputs(artifact: Path, X: pd.DataFrame, monkeypatch, mode: str):
    monkeypatch.setenv(jpmml.TRANSPILE_ENV, mode)
    scorer = jpmml.RUNTIME.load(artifact)
    try:
        return scorer.predict(X), scorer.transpiled
    finally:
        scorer.close()


# --------------------------------------------------------------------------- JVM


def test_python_collections_no_longer_force_full_java_collections(java):
    import gc

    import _jpype

    assert _jpype._collect not in gc.callbacks
    Beans = jvm.jclass("java.lang.management.ManagementFactory")

    def collections() -> int:
        return sum(int(b.getCollectionCount()) for b in Beans.getGarbageCollectorMXBeans())

    before = collections()
    grown = [bytes(100) + bytes([i % 256]) for i in range(300_000)]  # Python's heap grows (small blocks)...
    for _ in range(5):
        gc.collect()  # ...and Python collects: JPype's hook would now ask Java for System.gc()
    del grown
    assert collections() == before


# --------------------------------------------------------------------------- converter pickle


def test_converter_pickle_writes_arrays_in_c_order():
    rows = pd.DataFrame({"a": [1.5, 2.5, np.nan], "b": ["x", "y", None]}).to_numpy(dtype=object)
    assert not rows.flags.c_contiguous  # a frame's object array is Fortran-ordered
    back = pickle.loads(pmml_mod._pickle_for_converter({"rows": rows, "num": np.asfortranarray(np.eye(3))}))
    assert back["rows"].flags.c_contiguous and back["num"].flags.c_contiguous
    assert back["rows"].shape == rows.shape and [list(r) for r in back["rows"]][:2] == [list(r) for r in rows][:2]
    np.testing.assert_array_equal(back["num"], np.eye(3))


def test_mixed_verification_rows_reach_the_converter_in_order(java, tmp_path, cache, monkeypatch):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=200), "city": rng.choice(["a", "b", "c"], 200).astype(object)})
    y = (X["x"] > 0).astype(int)
    pre = ColumnTransformer([("num", StandardScaler(), ["x"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])])
    est = make_pipeline(pre, LogisticRegression()).fit(X, y)
    out = tmp_path / "mixed.pmml"
    get_exporter("pmml").export(from_estimator(est), out, X)
    text = out.read_text()
    first = text.index("<row>")
    assert f"<data:city>{X['city'].iloc[0]}</data:city>" in text[first : text.index("</row>", first)]
    _outputs(out, X, monkeypatch, "0")  # loading replays the embedded rows: transposed rows would fail


# --------------------------------------------------------------------------- loading


def _verification_table(builder) -> dict:
    content = jvm.jclass("org.jpmml.evaluator.InlineTableUtil").getContent(
        builder.getModel().getModelVerification().getInlineTable()
    )
    return {(int(c.getRowKey()), str(c.getColumnKey())): str(c.getValue()) for c in content.cellSet()}


def test_loader_reads_verification_cells_as_the_stock_builder_does(java, forest):
    """PmmlLoader takes the cells out of JAXB's hands (no DOM per cell) and puts them back:
    JPMML-Evaluator sees the same table, row by row and column by column."""
    _, artifact, _ = forest
    File = jvm.jclass("java.io.File")
    ours = _verification_table(jvm.helper_class("PmmlLoader").load(File(str(artifact))))
    stock = _verification_table(jvm.jclass("org.jpmml.evaluator.LoadingModelEvaluatorBuilder")().load(File(str(artifact))))
    assert len(ours) > 400 * 6  # 6 inputs (absent where missing) and 2 probabilities per row
    assert ours == stock


def test_a_changed_verification_cell_is_refused_at_load(java, forest, tmp_path):
    _, artifact, _ = forest
    text = artifact.read_text()
    at = text.index("<data:probability_1>") + len("<data:probability_1>")
    bad = tmp_path / "bad.pmml"
    bad.write_text(text[:at] + "0.4242" + text[text.index("<", at):])
    with pytest.raises(Exception, match="verification rows do not score"):
        jpmml.RUNTIME.load(bad)
    jpmml.RUNTIME.load(bad, verify=False).close()  # the file itself is fine


# --------------------------------------------------------------------------- streamed writing


def _java_bytes(data: bytes) -> object:
    import jpype

    return jpype.JArray(jpype.JByte)(data)


@pytest.mark.parametrize("cut", [1, 7, 36, 4096])
def test_portable_infinity_stream_matches_the_python_rewrite(java, forest, cut):
    Stream = jvm.helper_class("PmmlFileWriter$PortableInfinityStream")
    Bytes = jvm.jclass("java.io.ByteArrayOutputStream")
    _est, out, _X = forest
    text = out.read_bytes().replace(b"1.7976931348623157E308", b"INF")  # as the converter wrote it
    assert text.count(b'value="INF"') > 10
    sink = Bytes()
    stream = Stream(sink)
    for at in range(0, len(text), cut):
        stream.write(_java_bytes(text[at : at + cut]))
    stream.close()
    want, fixed = pmml_mod.portable_infinity(text)
    assert bytes(sink.toByteArray()) == want
    assert int(stream.replaced()) == fixed


def test_exported_file_has_no_infinite_literal_and_counts_it(java, forest):
    _est, out, _X = forest
    data = out.read_bytes()
    assert b'value="INF"' not in data
    assert data.count(b"1.7976931348623157E308") > 10


# --------------------------------------------------------------------------- transpiled scoring


def test_transpiled_forest_scores_exactly_like_the_interpreted_one(forest, cache, monkeypatch):
    est, out, X = forest
    interpreted, was = _outputs(out, X, monkeypatch, "0")
    transpiled, now = _outputs(out, X, monkeypatch, "1")
    assert (was, now) == (False, True)
    assert list(transpiled.label) == list(interpreted.label)
    np.testing.assert_array_equal(transpiled.proba, interpreted.proba)
    np.testing.assert_allclose(transpiled.proba, est.predict_proba(X), rtol=RTOL, atol=ATOL)
    assert list(cache.glob("*.jar"))


def test_transpiled_regression_forest_is_exact(java, tmp_path, cache, monkeypatch):
    X, y = make_regression(n_samples=600, n_features=5, noise=3, random_state=1)
    X = _frame(_with_gaps(X, 0.05, 1))
    est = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(X, y)
    out = tmp_path / "reg.pmml"
    get_exporter("pmml").export(from_estimator(est), out, X.iloc[:200])
    interpreted, _ = _outputs(out, X, monkeypatch, "0")
    transpiled, now = _outputs(out, X, monkeypatch, "1")
    assert now
    np.testing.assert_array_equal(transpiled.value, interpreted.value)


def test_a_file_with_a_thousand_verification_rows_transpiles(java, tmp_path, cache, monkeypatch):
    # as Java, the rows would be one constructor over the JVM's 64 KB method limit: they are
    # kept out of the translation and replayed against the compiled code before it is cached
    X, y = make_classification(n_samples=1500, n_features=30, random_state=4)
    X = _frame(X)
    est = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
    out = tmp_path / "rows.pmml"
    facts = get_exporter("pmml").export(from_estimator(est), out, X)
    assert facts["verification_rows"] == pmml_mod.VERIFICATION_ROWS
    got, transpiled = _outputs(out, X, monkeypatch, "1")
    assert transpiled
    np.testing.assert_allclose(got.proba, est.predict_proba(X), rtol=RTOL, atol=ATOL)
    assert not list(cache.glob("*.failed"))


def test_a_large_batch_transpiles_once_and_later_loads_start_from_the_cache(forest, cache, monkeypatch):
    _est, out, X = forest
    monkeypatch.setenv(jpmml.TRANSPILE_ENV, "auto")
    monkeypatch.setattr(jpmml, "TRANSPILE_MIN_ROWS", 100)
    scorer = jpmml.RUNTIME.load(out)
    try:
        small = scorer.predict(X.iloc[:20])
        assert not scorer.transpiled and not list(cache.glob("*.jar"))
        big = scorer.predict(X.iloc[:150])
        assert scorer.transpiled
        assert list(big.label[:20]) == list(small.label)
        np.testing.assert_array_equal(big.proba[:20], small.proba)
    finally:
        scorer.close()
    (jar,) = cache.glob("*.jar")
    again = jpmml.RUNTIME.load(out)
    try:
        assert again.transpiled  # from the jar, before any batch
    finally:
        again.close()


def test_models_without_trees_are_not_transpiled(java, tmp_path, cache, monkeypatch):
    X, y = make_classification(n_samples=300, n_features=4, random_state=0)
    X = _frame(X)
    est = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    out = tmp_path / "linear.pmml"
    get_exporter("pmml").export(from_estimator(est), out, X)
    monkeypatch.setattr(jpmml, "TRANSPILE_MIN_ROWS", 10)
    got, transpiled = _outputs(out, X, monkeypatch, "auto")
    assert not transpiled and not cache.exists()
    np.testing.assert_allclose(got.proba, est.predict_proba(X), rtol=RTOL, atol=ATOL)


def test_a_damaged_cached_jar_falls_back_to_the_file(forest, cache, monkeypatch):
    est, out, X = forest
    _outputs(out, X.iloc[:5], monkeypatch, "1")
    (jar,) = cache.glob("*.jar")
    jar.write_bytes(b"not a jar")
    got, transpiled = _outputs(out, X, monkeypatch, "auto")
    assert not transpiled
    assert not jar.exists() and jar.with_suffix(".failed").exists()
    np.testing.assert_allclose(got.proba, est.predict_proba(X), rtol=RTOL, atol=ATOL)
    _, transpiled = _outputs(out, X, monkeypatch, "1")
    assert not transpiled  # remembered: not retried


def test_transpiling_can_be_turned_off(forest, cache, monkeypatch):
    _est, out, X = forest
    monkeypatch.setattr(jpmml, "TRANSPILE_MIN_ROWS", 10)
    _, transpiled = _outputs(out, X, monkeypatch, "0")
    assert not transpiled and not cache.exists()


def test_decision_tree_with_missing_values_transpiles_exactly(java, tmp_path, cache, monkeypatch):
    X, y = make_classification(n_samples=800, n_features=5, random_state=2)
    X = _frame(_with_gaps(X, 0.2, 2))
    est = DecisionTreeClassifier(random_state=0, max_depth=8).fit(X, y)
    out = tmp_path / "tree.pmml"
    get_exporter("pmml").export(from_estimator(est), out, X.iloc[:300])
    interpreted, _ = _outputs(out, X, monkeypatch, "0")
    transpiled, now = _outputs(out, X, monkeypatch, "1")
    assert now
    assert list(transpiled.label) == list(interpreted.label) == list(est.predict(X))
    np.testing.assert_array_equal(transpiled.proba, interpreted.proba)
