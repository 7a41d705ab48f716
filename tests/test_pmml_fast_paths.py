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


pytestmark = pytest.mark.usefixtures("java_helpers")  # every path here runs mlexport's Java helpers


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("MLEXPORT_CACHE", str(root))
    monkeypatch.setattr(jpmml, "_known_rows", {})  # row counts belong to the cache directory
    monkeypatch.setattr(jpmml, "_pending_rows", {})
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


# --------------------------------------------------------------------------- loaded scorers, reused


@pytest.fixture(scope="module")
def linear(java, tmp_path_factory):
    X, y = make_classification(n_samples=300, n_features=4, random_state=0)
    X = _frame(X)
    made = []
    for c in (1.0, 0.01):  # two models over the same columns: different bytes, different scores
        est = make_pipeline(StandardScaler(), LogisticRegression(C=c)).fit(X, y)
        out = tmp_path_factory.mktemp("linear") / "linear.pmml"
        get_exporter("pmml").export(from_estimator(est), out, X)
        made.append((est, out))
    return made, X


def _load(artifact: Path, monkeypatch, mode: str, **kw):
    monkeypatch.setenv(jpmml.TRANSPILE_ENV, mode)
    return jpmml.RUNTIME.load(artifact, **kw)


@pytest.mark.parametrize("mode", ["0", "1"])
def test_a_later_load_of_the_same_bytes_reuses_the_loaded_scorer(forest, cache, monkeypatch, mode):
    est, out, X = forest
    jpmml.forget_loaded()
    a = _load(out, monkeypatch, mode)
    b = _load(out, monkeypatch, mode)
    try:
        assert a._entry is b._entry and a._entry.users == 2  # no reparse, no new class loader
        assert a.transpiled == b.transpiled == (mode == "1")
        first, again = a.predict(X), b.predict(X)
    finally:
        a.close()
        b.close()
    jpmml.forget_loaded()
    fresh = _load(out, monkeypatch, mode)
    try:
        alone = fresh.predict(X)
    finally:
        fresh.close()
    for got in (again, alone):
        assert list(got.label) == list(first.label)
        np.testing.assert_array_equal(got.proba, first.proba)
    np.testing.assert_allclose(first.proba, est.predict_proba(X), rtol=RTOL, atol=ATOL)


def test_closing_one_user_leaves_the_other_scoring(forest, cache, monkeypatch):
    _est, out, X = forest
    jpmml.forget_loaded()
    a = _load(out, monkeypatch, "1")
    b = _load(out, monkeypatch, "1")
    shared = a._java
    a.close()
    try:
        assert b.transpiled and bool(shared.isTranspiled())  # its class loader is still open
        want = b.predict(X)
    finally:
        b.close()
    assert bool(shared.isTranspiled())  # still cached: closing the last user does not close it
    c = _load(out, monkeypatch, "1")
    try:
        assert c._java is shared
        np.testing.assert_array_equal(c.predict(X).proba, want.proba)
    finally:
        c.close()
    with pytest.raises(Exception, match="after close"):
        a.predict(X)


def test_options_set_by_one_user_do_not_reach_another(forest, cache, monkeypatch):
    _est, out, X = forest
    jpmml.forget_loaded()
    a = _load(out, monkeypatch, "0")
    b = _load(out, monkeypatch, "0")
    try:
        a._java.setProbabilities(False)
        a._java.setParallel(False)
        got = b.predict(X.iloc[:50])
        assert got.proba is not None and got.proba.shape == (50, 2)
    finally:
        a.close()
        b.close()
        jpmml.forget_loaded()


def test_two_users_of_one_scorer_can_score_at_once(forest, cache, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    _est, out, X = forest
    jpmml.forget_loaded()
    a = _load(out, monkeypatch, "1")
    b = _load(out, monkeypatch, "1")
    try:
        assert a._java is b._java
        want = a.predict(X)
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda s: s.predict(X), [a, b, a, b]))
    finally:
        a.close()
        b.close()
    for g in got:
        assert list(g.label) == list(want.label)
        np.testing.assert_array_equal(g.proba, want.proba)


def test_eviction_closes_a_scorer_once_nobody_uses_it(forest, linear, cache, monkeypatch):
    _est, out, X = forest
    ((_, other), _), Xl = linear
    jpmml.forget_loaded()
    monkeypatch.setattr(jpmml, "LOADED_KEEP", 1)
    idle = _load(out, monkeypatch, "1")
    java = idle._java
    idle.close()
    _load(other, monkeypatch, "0").close()  # takes the only place
    assert not bool(java.isTranspiled())  # evicted and unused: closed (its class loader released)
    busy = _load(out, monkeypatch, "1")
    java = busy._java
    try:
        _load(other, monkeypatch, "0").close()  # evicts it while in use: not closed yet
        assert bool(java.isTranspiled())
        assert busy.predict(X.iloc[:50]).proba.shape == (50, 2)
    finally:
        busy.close()
    assert not bool(java.isTranspiled())  # its last user closed it
    jpmml.forget_loaded()


def test_a_rewritten_file_is_not_served_from_the_loaded_scorer(linear, tmp_path, cache, monkeypatch):
    ((first, a), (second, b)), X = linear
    path = tmp_path / "model.pmml"
    path.write_bytes(a.read_bytes())
    s = _load(path, monkeypatch, "0")
    try:
        np.testing.assert_allclose(s.predict(X).proba, first.predict_proba(X), rtol=RTOL, atol=ATOL)
    finally:
        s.close()
    path.write_bytes(b.read_bytes())
    s = _load(path, monkeypatch, "0")
    try:
        np.testing.assert_allclose(s.predict(X).proba, second.predict_proba(X), rtol=RTOL, atol=ATOL)
    finally:
        s.close()
    assert np.abs(first.predict_proba(X) - second.predict_proba(X)).max() > 1e-3


def test_a_scorer_loaded_without_verification_does_not_serve_a_load_with_it(java, forest, tmp_path, monkeypatch):
    _, artifact, X = forest
    text = artifact.read_text()
    at = text.index("<data:probability_1>") + len("<data:probability_1>")
    bad = tmp_path / "bad.pmml"
    bad.write_text(text[:at] + "0.4242" + text[text.index("<", at):])
    unverified = _load(bad, monkeypatch, "0", verify=False)
    try:
        with pytest.raises(Exception, match="verification rows do not score"):
            _load(bad, monkeypatch, "0")  # replayed, not served the unverified scorer
    finally:
        unverified.close()
    verified = _load(artifact, monkeypatch, "0")
    lax = _load(artifact, monkeypatch, "0", verify=False)
    try:
        assert lax._entry is verified._entry  # a verified scorer serves a load without verification
    finally:
        verified.close()
        lax.close()


def test_rows_add_up_across_loads_and_processes_before_transpiling(forest, cache, monkeypatch):
    _est, out, X = forest
    monkeypatch.setattr(jpmml, "TRANSPILE_MIN_ROWS", 100)
    jpmml.forget_loaded()
    first = _load(out, monkeypatch, "auto")
    try:
        first.predict(X.iloc[:60])
        assert not first.transpiled
    finally:
        first.close()
    (rows,) = cache.glob("*.rows")
    assert rows.read_text() == "60"  # what a later process reads
    jpmml.forget_loaded()  # as a new process would find it: nothing loaded, the count on disk
    monkeypatch.setattr(jpmml, "_known_rows", {})
    monkeypatch.setattr(jpmml, "_pending_rows", {})
    second = _load(out, monkeypatch, "auto")
    try:
        assert not second.transpiled
        got = second.predict(X.iloc[:60])  # 120 rows in all: transpiled before this batch
        assert second.transpiled
        assert got.proba.shape == (60, 2)
        compiled = second._entry
    finally:
        second.close()
    assert list(cache.glob("*.jar")) and not rows.exists()
    third = _load(out, monkeypatch, "auto")
    try:
        assert third.transpiled and third._entry is compiled  # the compiled form, already warm
    finally:
        third.close()


def test_row_by_row_scoring_writes_the_count_once_not_per_row(forest, cache, monkeypatch):
    _est, out, X = forest
    jpmml.forget_loaded()
    scorer = _load(out, monkeypatch, "auto")
    try:
        for i in range(30):
            scorer.predict(X.iloc[i : i + 1])
        assert not list(cache.glob("*.rows"))  # pending in memory: no file I/O per row
    finally:
        scorer.close()
    (rows,) = cache.glob("*.rows")
    assert int(rows.read_text()) >= 30
    jpmml.forget_loaded()
