"""mlexport's forest tree writer produces, byte for byte, what JPMML-SkLearn writes.

Each case exports the same model twice: with the tree writer (the converter sees only
the template trees) and with ``MLEXPORT_PMML_TREE_WRITER=0`` (the converter writes every
tree). The two files must be identical but for the timestamp; forests whose features the
writer does not handle must be declined and converted whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlexport.exporters import get_exporter, pmml_trees
from mlexport.exporters import pmml as pmml_mod
from mlexport.model import from_estimator

pytestmark = pytest.mark.usefixtures("java_helpers")  # no javac: no tree writer either


def _frame(X: np.ndarray, prefix: str = "c") -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])


def _gaps(X: np.ndarray, rate: float = 0.08, seed: int = 0) -> np.ndarray:
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < rate] = np.nan
    return X


def _text(path: Path) -> str:
    return re.sub(r"<Timestamp>.*?</Timestamp>", "", path.read_text())


def _both(est, X: pd.DataFrame, tmp_path: Path, monkeypatch) -> tuple[dict, dict, str, str]:
    model = from_estimator(est)
    sample = X.iloc[:60]
    ours = get_exporter("pmml").export(model, tmp_path / "ours.pmml", sample)
    monkeypatch.setenv(pmml_mod.TREE_WRITER_ENV, "0")
    theirs = get_exporter("pmml").export(model, tmp_path / "theirs.pmml", sample)
    monkeypatch.delenv(pmml_mod.TREE_WRITER_ENV)
    return ours, theirs, _text(tmp_path / "ours.pmml"), _text(tmp_path / "theirs.pmml")


def _classification(n_classes: int = 2, gaps: bool = False, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(n_samples=600, n_features=7, n_informative=5, n_classes=n_classes, random_state=seed)
    return _frame(_gaps(X, seed=seed) if gaps else X), y


def _regression(gaps: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_regression(n_samples=600, n_features=6, noise=3.0, random_state=1)
    return _frame(_gaps(X) if gaps else X), y


CASES = {
    "rf binary": lambda: (RandomForestClassifier(n_estimators=25, max_depth=6, random_state=0), *_classification()),
    "rf binary, trained with gaps": lambda: (
        RandomForestClassifier(n_estimators=20, max_depth=7, random_state=1), *_classification(gaps=True)),
    "extra trees, 3 string classes": lambda: (
        ExtraTreesClassifier(n_estimators=15, max_depth=5, random_state=2),
        _classification(3)[0], np.array(["low", "mid & <high>", "high"])[_classification(3)[1]]),
    "rf regression, trained with gaps": lambda: (
        RandomForestRegressor(n_estimators=15, max_depth=6, random_state=0), *_regression(gaps=True)),
    "extra trees regression, whole-number targets": lambda: (
        ExtraTreesRegressor(n_estimators=12, max_depth=5, random_state=0), _regression()[0], np.round(_regression()[1])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_written_trees_are_the_converters_byte_for_byte(case, tmp_path, monkeypatch):
    est, X, y = CASES[case]()
    est.fit(X, y)
    ours, theirs, a, b = _both(est, X, tmp_path, monkeypatch)
    assert ours["tree_writer"].startswith("mlexport ("), ours["tree_writer"]
    assert theirs["tree_writer"] == "JPMML-SkLearn"
    assert ours["portable_infinite_splits"] == theirs["portable_infinite_splits"]
    assert a == b


def test_whole_number_features_and_single_leaf_trees(tmp_path, monkeypatch):
    """Integral thresholds (x <= 2.0) and trees that are a single leaf (bootstraps of three rows)."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.integers(0, 6, 300).astype(float), "b": rng.integers(-3, 3, 300).astype(float) * 0.5,
                      "c": rng.normal(size=300)})
    y = (X["a"] > 2).astype(float) * 10 + (X["b"] > 0).astype(float)
    reg = RandomForestRegressor(n_estimators=40, max_depth=4, max_samples=3, random_state=0).fit(X, y)
    assert any(t.tree_.node_count == 1 for t in reg.estimators_)
    assert any(np.isin(t.tree_.threshold, [0.0, 1.0, 2.0, 3.0, 4.0]).any() for t in reg.estimators_)
    ours, theirs, a, b = _both(reg, X, tmp_path, monkeypatch)
    assert ours["tree_writer"].startswith("mlexport (")
    assert a == b


def test_splits_the_converter_prunes(tmp_path, monkeypatch):
    """A balanced XOR: the first split leaves both halves at the parent's mean, so JPMML-SkLearn's
    pruner turns it into a leaf (dropping the informative splits below); the writer must too."""
    grid = np.array([[a, b] for a in (-1.0, 1.0) for b in (-1.0, 1.0)] * 25)
    X = pd.DataFrame(grid, columns=["a", "b"])
    y = ((X["a"] > 0) ^ (X["b"] > 0)).astype(float)
    reg = RandomForestRegressor(n_estimators=12, bootstrap=False, max_features=None, random_state=0).fit(X, y)
    assert all(pmml_trees._pruned_split(t.tree_) for t in reg.estimators_)
    ours, _, a, b = _both(reg, X, tmp_path, monkeypatch)
    assert ours["tree_writer"].startswith("mlexport (")
    assert a == b


def test_a_scaled_pipeline_learns_the_derived_field_names(tmp_path, monkeypatch):
    X, y = _classification()
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=12, max_depth=5, random_state=0)).fit(X, y)
    ours, _, a, b = _both(pipe, X, tmp_path, monkeypatch)
    assert ours["tree_writer"].startswith("mlexport (")
    assert a == b


def test_a_tree_that_alone_reads_a_derived_field_is_copied_from_the_converter(tmp_path, monkeypatch):
    """Stumps on one random feature each: many scaled features are read by a single tree, and
    the converter moves their DerivedFields into that tree's LocalTransformations."""
    X, y = make_classification(n_samples=300, n_features=8, n_informative=4, random_state=4)
    X = _frame(X)
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=40, max_depth=1, max_features=1,
                                                                  random_state=1)).fit(X, y)
    used = [set(t.tree_.feature[t.tree_.feature >= 0].tolist()) for t in pipe[-1].estimators_]
    assert any(sum(f in u for u in used) == 1 for f in set().union(*used))  # some feature in one tree only
    ours, _, a, b = _both(pipe, X, tmp_path, monkeypatch)
    assert "<LocalTransformations>" in a.split("<Segmentation")[1]
    assert ours["tree_writer"].startswith("mlexport ("), ours["tree_writer"]
    assert a == b


def test_one_hot_features_split_as_category_tests(tmp_path, monkeypatch):
    """One-hot columns reach the converter as binary features: field == category first."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"city": rng.choice(["a", "b & c", "d"], 400), "x": rng.normal(size=400),
                      "n": rng.choice([1.0, 2.0, 3.0], 400)})
    y = ((X["city"] == "b & c") ^ (X["x"] > 0)).astype(int) + (X["n"] == 2).astype(int)
    for est in (RandomForestClassifier(n_estimators=12, max_depth=4, random_state=0),
                RandomForestRegressor(n_estimators=12, max_depth=4, random_state=0)):
        pipe = Pipeline([
            ("pre", ColumnTransformer([("oh", OneHotEncoder(), ["city", "n"])], remainder="passthrough")),
            ("rf", est),
        ]).fit(X, y)
        ours, _, a, b = _both(pipe, X, tmp_path, monkeypatch)
        assert ours["tree_writer"].startswith("mlexport ("), ours["tree_writer"]
        assert a == b


def test_missing_indicator_columns_are_derived_fields_the_writer_handles(tmp_path, monkeypatch):
    X, _ = _classification()
    X = pd.DataFrame(_gaps(X.to_numpy(), rate=0.3), columns=X.columns)
    y = X["c0"].isna().astype(int).to_numpy()
    pipe = make_pipeline(SimpleImputer(add_indicator=True), RandomForestClassifier(n_estimators=12, max_depth=3, random_state=0))
    pipe.fit(X, y)
    ours, _, a, b = _both(pipe, X, tmp_path, monkeypatch)
    assert 'function="isMissing"' in a
    assert ours["tree_writer"].startswith("mlexport ("), ours["tree_writer"]
    assert a == b


def test_trees_the_writer_cannot_reproduce_are_declined_and_converted_whole(tmp_path, monkeypatch):
    """With the converter's compact option off, its trees have another shape: the template
    check fails and the converter writes the forest."""
    X, y = _classification()
    rf = RandomForestClassifier(n_estimators=12, max_depth=3, random_state=0).fit(X, y)
    rf.pmml_options_ = {"compact": False}
    ours, _, a, b = _both(rf, X, tmp_path, monkeypatch)
    assert ours["tree_writer"].startswith("JPMML-SkLearn (mlexport's tree writer declined: template tree"), ours["tree_writer"]
    assert a == b


def test_the_users_forest_is_untouched_and_small_forests_are_left_to_the_converter(tmp_path):
    X, y = _classification()
    big = RandomForestClassifier(n_estimators=12, max_depth=3, random_state=0).fit(X, y)
    before = [t.tree_.node_count for t in big.estimators_]
    facts = get_exporter("pmml").export(from_estimator(big), tmp_path / "big.pmml", X.iloc[:20])
    assert facts["tree_writer"].startswith("mlexport (12 trees")
    assert len(big.estimators_) == 12 and big.n_estimators == 12
    assert [t.tree_.node_count for t in big.estimators_] == before
    small = RandomForestClassifier(n_estimators=pmml_trees.MIN_TREES - 1, max_depth=3, random_state=0).fit(X, y)
    assert pmml_trees.plan(small) is None
    assert get_exporter("pmml").export(from_estimator(small), tmp_path / "small.pmml")["tree_writer"] == "JPMML-SkLearn"


def test_template_covers_every_feature_any_tree_splits_on():
    X, y = _classification()
    est = RandomForestClassifier(n_estimators=40, max_depth=2, max_features=1, random_state=0).fit(X, y)
    fplan = pmml_trees.plan(est)
    assert fplan is not None and 0 in fplan.template
    used = set()
    for t in est.estimators_:
        used |= set(t.tree_.feature[t.tree_.feature >= 0].tolist())
    covered = set()
    for i in fplan.template:
        tree = est.estimators_[i].tree_
        covered |= set(tree.feature[tree.feature >= 0].tolist())
    assert covered == used and len(fplan.template) < 40
