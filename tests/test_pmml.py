"""PMML end to end: real conversions in a real JVM, scored by JPMML-Evaluator and PMML4S.

One JVM for the whole session (mlexport.jvm), one PMML4S gateway (pypmml's own
JVM process). Every exported model is compared with native scikit-learn on
held-out rows: labels equal (same type), numbers |a - b| <= 1e-6 + 1e-6 |b|.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from mlexport import jvm
from mlexport.errors import ExportError, MissingDependencyError, RuntimeFailure, UnsupportedStepError, VersionError
from mlexport.exporters import get_exporter
from mlexport.exporters import pmml as pmml_mod
from mlexport.model import LoadedModel, from_estimator
from mlexport.outputs import Outputs
from mlexport.runtimes import get_runtime, runtimes_for

RTOL = ATOL = 1e-6
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "jvm" / "ScorePmml.java"


def noisy_age(X):  # a custom function with a side effect: never translated, so not convertible
    print("scoring")
    return np.clip(X, 0, 90)


# --------------------------------------------------------------------------- data


def mixed_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(3, 1, n),
            "city": rng.choice(["paris", "lyon", "nice", "lille"], n).astype(object),
            "color": rng.choice(["red", "green", "blue"], n).astype(object),
        }
    )
    y = (((X.age > 40) ^ (X.city == "paris")) | (X.income > 30)).astype(int).to_numpy()
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    X.loc[rng.random(n) < 0.1, "city"] = np.nan
    return X, y


def mixed_data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    X, y = mixed_frame(600, 0)
    X_test, _ = mixed_frame(300, 1)
    X_test.loc[:15, "city"] = "marseille"  # unseen at fit time
    X_test.loc[20:30, "color"] = "purple"
    return X, y, X_test


def preprocessor() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
            (
                "cat",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                ["city", "color"],
            ),
        ]
    )


def split(X, y, seed=0):
    rng = np.random.default_rng(seed)
    test = rng.random(len(X)) < 0.3
    return X[~test], y[~test], X[test]


def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return split(X, y.to_numpy())


def iris_named_classes():
    data = load_iris(as_frame=True)
    y = np.asarray(data.target_names)[data.target.to_numpy()].astype(object)
    return split(data.data, y)


def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return split(X, y.to_numpy())


def cancer_with_nan():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.copy()
    X.iloc[::7, 3] = np.nan
    X.iloc[::5, 7] = np.nan
    return split(X, y.to_numpy())


def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return split(X, y.to_numpy())


def synthetic_array():
    X, y = make_classification(600, 8, n_informative=5, random_state=0)
    return split(X, y)


CASES = {
    "iris-linear": (iris, lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    "iris-passthrough-step": (
        iris,
        lambda: Pipeline(
            [("scale", StandardScaler()), ("noop", "passthrough"), ("clf", LogisticRegression(max_iter=1000))]
        ),
    ),
    "iris-string-classes-forest": (iris_named_classes, lambda: RandomForestClassifier(10, random_state=0)),
    "cancer-forest": (cancer, lambda: RandomForestClassifier(10, max_depth=6, random_state=0)),
    "cancer-gb": (cancer, lambda: GradientBoostingClassifier(n_estimators=10, random_state=0)),
    "cancer-nan-tree": (cancer_with_nan, lambda: DecisionTreeClassifier(random_state=0)),
    "cancer-nan-forest": (cancer_with_nan, lambda: RandomForestClassifier(5, max_depth=8, random_state=0)),
    "cancer-nan-hgb": (cancer_with_nan, lambda: HistGradientBoostingClassifier(max_iter=15, random_state=0)),
    "diabetes-ridge": (diabetes, lambda: make_pipeline(StandardScaler(), Ridge())),
    "diabetes-forest": (diabetes, lambda: RandomForestRegressor(10, random_state=0)),
    "diabetes-hgb": (diabetes, lambda: HistGradientBoostingRegressor(max_iter=15, random_state=0)),
    "array-linear": (synthetic_array, lambda: LogisticRegression(max_iter=1000)),
    "mixed-linear": (
        mixed_data,
        lambda: Pipeline([("pre", preprocessor()), ("clf", LogisticRegression(max_iter=1000))]),
    ),
    "mixed-forest": (
        mixed_data,
        lambda: Pipeline([("pre", preprocessor()), ("clf", RandomForestClassifier(15, random_state=0))]),
    ),
    "mixed-hgb": (
        mixed_data,
        lambda: Pipeline(
            [("pre", preprocessor()), ("clf", HistGradientBoostingClassifier(max_iter=15, random_state=0))]
        ),
    ),
}


# --------------------------------------------------------------------------- helpers


def frame(model: LoadedModel, X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    return pd.DataFrame(np.asarray(X), columns=model.signature.names)


def native(est, X) -> Outputs:
    if hasattr(est, "predict_proba"):
        return Outputs(label=np.asarray(est.predict(X)), proba=est.predict_proba(X), classes=tuple(est.classes_))
    return Outputs(value=np.asarray(est.predict(X), dtype=np.float64))


def assert_parity(expected: Outputs, got: Outputs, where: str) -> None:
    if expected.label is not None:
        assert got.label is not None, f"{where}: no labels"
        assert got.label.tolist() == expected.label.tolist(), f"{where}: labels differ"
        assert type(got.label[0]) is type(expected.label[0]), f"{where}: label type {type(got.label[0])}"
        assert got.classes == expected.classes
    for name in ("proba", "value"):
        want = getattr(expected, name)
        if want is None:
            continue
        have = getattr(got, name)
        assert have is not None, f"{where}: no {name}"
        assert have.shape == want.shape, f"{where}: {name} shape {have.shape} != {want.shape}"
        err = np.abs(have - want)
        bad = ~(err <= ATOL + RTOL * np.abs(want))
        assert not bad.any(), f"{where}: {name} differs in {bad.sum()} cells (max abs err {np.nanmax(err):.3g})"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def exported(java, tmp_path_factory):
    """Fit, export and remember each case once per session."""
    cache: dict[str, tuple] = {}
    out_dir = tmp_path_factory.mktemp("pmml")

    def get(name: str):
        if name not in cache:
            data, make = CASES[name]
            X, y, X_test = data()
            with threadpool_limits(1):  # OpenMP spinning on a busy 2-core box costs more than it gains
                est = make().fit(X, y)
            model = from_estimator(est)
            out = out_dir / f"{name}.pmml"
            facts = get_exporter("pmml").export(model, out, frame(model, X))
            cache[name] = (est, model, out, facts, X_test)
        return cache[name]

    return get


# --------------------------------------------------------------------------- no JVM needed


def test_registry_entries():
    exporter = get_exporter("pmml")
    assert (exporter.name, exporter.suffix, exporter.runtimes) == ("pmml", ".pmml", ("jpmml", "pmml4s"))
    assert set(runtimes_for("pmml")) == {"jpmml", "pmml4s"}
    for name in ("jpmml", "pmml4s"):
        rt = get_runtime(name)
        assert (rt.name, rt.format) == (name, "pmml")


def test_classpath_keeps_one_jar_per_artifact_and_no_telemetry():
    jars, conflicts = jvm.resolve_jars()
    artifacts = [j.artifact for j in jars]
    assert len(artifacts) == len(set(artifacts))
    joined = " ".join(Path(j.path).name for j in jars)
    assert "telemetry" not in joined
    assert "sklearn2pmml-" not in joined  # the command-line app that phones home
    by_name = {a.split(":")[-1]: j.version for a, j in zip(artifacts, jars)}
    assert {"pmml-sklearn", "pmml-evaluator", "pmml-converter", "pmml-model"} <= set(by_name)
    for c in conflicts:  # the newer version always wins
        assert jvm._version_key(c.kept.version) > jvm._version_key(c.dropped.version)
    assert all("telemetry" not in p for p in jvm.classpath(helpers=False))
    assert all(Path(p).parent.name in ("resources", "dependencies") for p in jvm.evaluator_classpath())


def test_jar_facts_are_cached_and_follow_a_changed_jar(monkeypatch, tmp_path):
    """What mlexport reads from a jar is kept in the cache root, keyed by path, size and mtime:
    a rebuilt jar is read again, and a cached entry gives what reading the jar gives."""
    import zipfile

    monkeypatch.setenv("MLEXPORT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(jvm._facts, "loaded", False)
    monkeypatch.setitem(jvm._facts, "entries", {})
    jar = tmp_path / "demo-1.0.jar"
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("META-INF/maven/org.demo/demo/pom.properties", "groupId=org.demo\nartifactId=demo\nversion=1.0\n")
        z.writestr(jvm.CONVERTER_MAPPING, "demo.Thing = org.demo.ThingConverter\n")
    first = jvm.jar_facts(jar)
    assert first == {"artifact": "org.demo:demo", "version": "1.0", "mapping": "demo.Thing = org.demo.ThingConverter\n"}
    jvm._save_jar_facts()
    assert (tmp_path / "cache" / jvm.JAR_FACTS).is_file()
    monkeypatch.setitem(jvm._facts, "loaded", False)  # a new process: read back from the cache file
    monkeypatch.setitem(jvm._facts, "entries", {})
    assert jvm.jar_facts(jar) == first
    with zipfile.ZipFile(jar, "w") as z:  # rebuilt: another version, no mapping
        z.writestr("META-INF/maven/org.demo/demo/pom.properties", "groupId=org.demo\nartifactId=demo\nversion=2.0.1\n")
    os.utime(jar, ns=(1, 1))
    assert jvm.jar_facts(jar) == {"artifact": "org.demo:demo", "version": "2.0.1", "mapping": None}
    real = jvm.resolve_jars(("sklearn2pmml",))[0]
    assert any(jvm.jar_facts(Path(j.path))["mapping"] for j in real)  # JPMML-SkLearn's class mapping


def test_missing_java_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="openjdk-17-jre-headless"):
        jvm.find_java()


def test_version_guard(monkeypatch):
    import sklearn

    assert pmml_mod.check_versions()["sklearn2pmml"] == "0.133.1"
    monkeypatch.setattr(sklearn, "__version__", "1.10.0")
    with pytest.raises(VersionError, match=r"scikit-learn 1\.9\.0 or older\. Got scikit-learn 1\.10\.0"):
        pmml_mod.check_versions()
    monkeypatch.setattr(sklearn, "__version__", "1.9.0")
    monkeypatch.setattr(pmml_mod, "SKLEARN_MAX", {"0.200.0": "2.0.0"})
    with pytest.raises(VersionError, match="sklearn2pmml must be 0.200.0"):
        pmml_mod.check_versions()


def test_assess_is_static_and_names_the_custom_step(monkeypatch):
    X, y, _ = mixed_data()
    pre = ColumnTransformer(
        [("adult", FunctionTransformer(noisy_age), ["age"]), ("log", FunctionTransformer(np.log1p), ["income"])]
    )
    est = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X[["age", "income"]].fillna(0), y)

    def no_jvm():
        raise AssertionError("assess must not start a JVM")

    monkeypatch.setattr(jvm, "start", no_jvm)
    verdicts = {v.path: v for v in get_exporter("pmml").assess(from_estimator(est))}
    assert verdicts["pre/adult"].status == "unsupported"
    assert "noisy_age" in verdicts["pre/adult"].reason and verdicts["pre/adult"].hint
    assert verdicts["pre/log"].ok and verdicts["clf"].ok


def test_assess_flags_known_misscoring_configurations():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    poisson = HistGradientBoostingRegressor(loss="poisson", max_iter=5).fit(X, y)
    (verdict,) = get_exporter("pmml").assess(from_estimator(poisson))
    assert verdict.status == "misscores" and "log scale" in verdict.reason


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize(
    "runtime", [pytest.param("jpmml", marks=pytest.mark.jpmml), pytest.param("pmml4s", marks=pytest.mark.pmml4s)]
)
@pytest.mark.parametrize("case", list(CASES))
def test_parity(exported, case, runtime):
    est, model, out, facts, X_test = exported(case)
    scorer = get_runtime(runtime).load(out)
    try:
        got = scorer.predict(frame(model, X_test))
    finally:
        scorer.close()
    assert_parity(native(est, X_test), got, f"{case}/{runtime}")


@pytest.mark.pmml4s
def test_pmml4s_runs_in_the_shared_jvm_apart_from_jpmml(exported, monkeypatch):
    """PMML4S scores in this process's JVM (no Java child process, as pypmml would start),
    from its own class loader: Scala and PMML4S stay off the converter's classpath."""
    est, model, out, _facts, X_test = exported("iris-linear")
    jvm.pmml4s_class("Pmml4sBatchScorer")  # compiled before the guard below

    def no_child(*args, **kwargs):
        raise AssertionError(f"pmml4s started a process: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "Popen", no_child)
    scorer = get_runtime("pmml4s").load(out)
    try:
        got = scorer.predict(frame(model, X_test))
    finally:
        scorer.close()
    assert_parity(native(est, X_test), got, "iris-linear/pmml4s")
    with pytest.raises(TypeError, match="not found"):
        jvm.jclass("org.pmml4s.model.Model")  # not on the shared classpath


@pytest.mark.pmml4s
def test_pmml4s_scores_infinite_and_missing_inputs_like_jpmml(exported):
    """Exact doubles reach PMML4S: an infinite input (JSON has no infinity: the old path
    crashed) and a missing one score as in JPMML, row for row."""
    _est, model, out, _facts, X_test = exported("cancer-nan-tree")
    X = frame(model, X_test).iloc[:40].copy()
    col = pmml_mod.read_interface(out).inputs[0].name  # a column the tree reads
    X.loc[X.index[1], col] = np.inf
    X.loc[X.index[2], col] = -np.inf
    X.loc[X.index[3], col] = np.nan
    got = {}
    for name in ("jpmml", "pmml4s"):
        scorer = get_runtime(name).load(out)
        try:
            got[name] = scorer.predict(X)
        finally:
            scorer.close()
    np.testing.assert_array_equal(got["pmml4s"].label, got["jpmml"].label)
    np.testing.assert_allclose(got["pmml4s"].proba, got["jpmml"].proba, rtol=1e-12, atol=0)


def test_pmml4s_without_javac_says_to_install_a_jdk(java, monkeypatch, tmp_path):
    """Its scorer is compiled once against pypmml's jars: with no javac (and nothing compiled
    yet) the runtime is unavailable with a line naming what to install, not a traceback."""
    import dataclasses

    monkeypatch.setenv("MLEXPORT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(jvm._state, "pmml4s_helpers", None)  # as in a new process
    jre_only = dataclasses.replace(jvm.find_java(), javac=None)
    monkeypatch.setattr(jvm, "find_java", lambda: jre_only)
    missing = get_runtime("pmml4s").available()
    assert missing is not None and "javac" in missing and "apt-get install" in missing
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("pmml4s-helpers-*"))


def test_scoring_pmml_does_not_import_scikit_learn(exported, tmp_path):
    """`mlexport score` on a PMML file needs no scikit-learn: finding the converter's and
    evaluators' jars must not import sklearn2pmml (which imports scikit-learn and SciPy,
    1.5 to 1.8 s of a 5 s command)."""
    import sys

    _est, model, out, _facts, X_test = exported("iris-linear")
    data = tmp_path / "rows.csv"
    frame(model, X_test).to_csv(data, index=False)
    code = (
        "import sys, mlexport\n"
        "for rt in ('jpmml', 'pmml4s'):\n"
        f"    mlexport.score({str(out)!r}, {str(data)!r}, runtime=rt, out={str(tmp_path / 'p.csv')!r})\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'sklearn2pmml') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout


def test_export_facts(exported):
    est, _model, out, facts, _X = exported("mixed-forest")
    forest = est.named_steps["clf"]
    assert not hasattr(forest, "pmml_options_") and not hasattr(forest, "_mlexport_path"), "exported a copy"
    assert facts["versions"]["sklearn2pmml"] == "0.133.1"
    assert facts["versions"]["pmml-sklearn"] and facts["versions"]["java"]
    assert facts["verification_rows"] == 600  # the whole sample: under the cap
    assert facts["allow_missing"] == ["clf"]
    assert facts["outputs"] == ["label", "proba"]
    text = out.read_text()
    assert "<ModelVerification" in text and 'value="INF"' not in text
    iface = pmml_mod.read_interface(out)
    assert {(f.name, f.kind) for f in iface.inputs} == {
        ("age", "number"),
        ("income", "number"),
        ("city", "string"),
        ("color", "string"),
    }
    assert iface.classes == (0, 1)


@pytest.mark.parametrize("case", ["array-linear", "cancer-nan-tree", "mixed-linear"])
def test_scorers_describe_the_artifact_alone(exported, case):
    """`mlexport score` / `inspect` work from the file: signature, task, classes."""
    _est, model, out, _facts, _X = exported(case)
    for name in ("jpmml", "pmml4s"):
        scorer = get_runtime(name).load(out)
        assert scorer.signature == model.signature  # all columns, even those the PMML does not read
        assert (scorer.task, scorer.classes) == (model.task, model.classes)
        scorer.close()
    info = get_runtime("jpmml").describe(out)
    assert {i["name"] for i in info["inputs"]} <= set(model.signature.names)
    assert [o["name"] for o in info["outputs"]][0] == "y"
    if case == "cancer-nan-tree":  # the tree reads a subset of the columns
        assert len(info["inputs"]) < len(model.signature.columns)
        assert [o["name"] for o in info["outputs"]][1:] == ["probability(0)", "probability(1)"]


def test_verification_rows_are_capped(java, tmp_path):
    X, y = mixed_frame(1500, 3)
    est = Pipeline([("pre", preprocessor()), ("clf", LogisticRegression(max_iter=1000))]).fit(X, y)
    facts = get_exporter("pmml").export(from_estimator(est), tmp_path / "m.pmml", X)
    assert facts["verification_rows"] == pmml_mod.VERIFICATION_ROWS


def test_warm_conversion_is_fast(java, tmp_path):
    X, y, _ = iris()
    model = from_estimator(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y))
    exporter = get_exporter("pmml")
    exporter.export(model, tmp_path / "warm.pmml", X)
    best = min(_timed(lambda: exporter.export(model, tmp_path / "m.pmml", X)) for _ in range(3))
    assert best < 1.0, f"warm conversion took {best:.2f}s"


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_tampered_file_fails_embedded_verification(exported, tmp_path):
    _est, _model, out, _facts, _X = exported("iris-linear")
    text = out.read_text()
    start = text.index("<NumericPredictor")
    coef_at = text.index('coefficient="', start) + len('coefficient="')
    tampered = text[:coef_at] + "9" + text[coef_at:]
    bad = tmp_path / "tampered.pmml"
    bad.write_text(tampered)
    with pytest.raises(RuntimeFailure, match="jpmml: cannot load"):
        get_runtime("jpmml").load(bad)


# --------------------------------------------------------------------------- failures


def test_custom_function_is_refused_with_its_step_path(java, tmp_path):
    X, y, _ = mixed_data()
    pre = ColumnTransformer(
        [
            ("adult", FunctionTransformer(noisy_age), ["age"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"]),
        ]
    )
    est = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X.fillna({"age": 0}), y)
    with pytest.raises(UnsupportedStepError) as info:
        get_exporter("pmml").export(from_estimator(est), tmp_path / "f.pmml", X.fillna({"age": 0}))
    err = info.value
    assert (err.path, err.cls, err.fmt) == ("pre/adult", "FunctionTransformer", "pmml")
    assert "noisy_age" in err.reason and "print" in err.reason
    assert err.hint
    message = str(err)
    assert "\n" not in message and ".java" not in message and "Exception" not in message


def test_unpicklable_step_is_refused_with_its_step_path(java, tmp_path):
    class Doubler(StandardScaler):  # a local class: it cannot be pickled for the converter
        pass

    X, y, _ = iris()
    est = Pipeline([("double", Doubler()), ("clf", LogisticRegression(max_iter=1000))])
    est.fit(X, y)
    with pytest.raises(UnsupportedStepError) as info:
        get_exporter("pmml").export(from_estimator(est), tmp_path / "l.pmml", X)
    assert info.value.path == "double"


def test_unknown_estimator_is_an_error_not_a_stack_trace(java, tmp_path):
    from sklearn.semi_supervised import LabelPropagation

    X, y, _ = iris()
    model = from_estimator(LabelPropagation().fit(X, y))
    assert not get_exporter("pmml").assess(model)[0].ok
    with pytest.raises((UnsupportedStepError, ExportError)) as info:
        get_exporter("pmml").export(model, tmp_path / "n.pmml", X)
    assert ".java" not in str(info.value)


# --------------------------------------------------------------------------- examples/jvm


@pytest.mark.jpmml
def test_example_java_program_scores_like_mlexport(exported, tmp_path):
    if jvm.find_java().javac is None:
        pytest.skip("javac is not installed")
    est, model, out, _facts, X_test = exported("mixed-forest")
    build = tmp_path / "build"
    build.mkdir()
    cp = os.pathsep.join(jvm.evaluator_classpath())
    subprocess.run(
        ["javac", "--release", "11", "-nowarn", "-cp", cp, "-d", str(build), str(EXAMPLE)],
        check=True,
        capture_output=True,
    )
    data = tmp_path / "data.csv"
    X = frame(model, X_test)
    X.to_csv(data, index=False)
    predictions = tmp_path / "predictions.csv"
    run = subprocess.run(
        ["java", "-cp", cp + os.pathsep + str(build), "ScorePmml", str(out), str(data), str(predictions)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    java_frame = pd.read_csv(predictions)
    expected = get_runtime("jpmml").load(out).predict(X).to_frame()
    assert list(java_frame.columns) == list(expected.columns) == ["label", "proba_0", "proba_1"]
    assert java_frame["label"].tolist() == expected["label"].tolist() == est.predict(X_test).tolist()
    np.testing.assert_allclose(java_frame[["proba_0", "proba_1"]], est.predict_proba(X_test), rtol=RTOL, atol=ATOL)
