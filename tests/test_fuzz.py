"""Fuzzing the JSON scorers and the model loader with malformed input.

Hypothesis mutates good documents and model files (truncation, a value of the
wrong type or size, a deleted key, a tree index pointing back up); every
scorer must either score or refuse with an mlexport error — never crash with
another exception, hang (the runtimes time out child processes) or panic.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlexport
from mlexport.errors import MlexportError
from mlexport.runtimes import get_runtime

FRAME = pd.DataFrame({"a": [1.0, np.nan, 3.0, -2.0] * 5, "b": [0.5, 1.5, -1.0, 2.0] * 5,
                      "c": np.array(["x", "y", None, "z"] * 5, dtype=object)})
Y = np.array([0, 1, 1, 0] * 5)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("docs")
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), ["a", "b"]),
                             ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), ["c"])])
    models = {"linear": Pipeline([("pre", pre), ("m", LogisticRegression())]).fit(FRAME, Y),
              "forest": Pipeline([("pre", pre), ("m", RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0))]).fit(FRAME, Y)}
    out = {}
    for name, m in models.items():
        mlexport.export(m, "json", d / f"{name}.json", verify=False)
        out[name] = (d / f"{name}.json").read_text()
    return out


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:6]):
            found += _paths(v, prefix + (i,))
    return found


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False), st.text(max_size=5),
                 st.just("NaN"), st.just([]), st.just({}), st.lists(st.integers(-3, 3), max_size=4), st.just(-1), st.just(10**9))


@st.composite
def mutated(draw: Any, text: str) -> str:
    kind = draw(st.sampled_from(["truncate", "replace", "delete", "cycle"]))
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))]
    doc = json.loads(text)
    paths = _paths(doc)
    path = draw(st.sampled_from(paths))
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    if kind == "replace":
        parent[key] = draw(JUNK)
    elif kind == "delete":
        if isinstance(parent, dict):
            del parent[key]
        else:
            parent.pop(key)
    else:  # a child index pointing back to the root: a cycle
        trees = doc.get("model", {}).get("trees")
        if trees:
            trees[0]["left"][-1] = 0
            trees[0]["right"][-1] = 0
        else:
            parent[key] = draw(JUNK)
    return json.dumps(doc)


def _score_or_refuse(runtime: str, text: str, tmp: Path) -> None:
    path = tmp / "fuzz.json"
    path.write_text(text)
    try:
        scorer = get_runtime(runtime).load(path)
        try:
            scorer.predict(FRAME)
        finally:
            scorer.close()
    except MlexportError as e:  # a clear, typed refusal is the right answer...
        text = str(e)
        for crash in ("panic:", "goroutine ", "Exception in thread", "\tat ", "Traceback"):
            assert crash not in text, f"{runtime} crashed instead of refusing: {text[:300]}"  # ...a crash is not


@pytest.mark.parametrize(("runtime", "examples"), [("json-python", 150), ("json-go", 25), ("json-java", 12)])
@pytest.mark.parametrize("model", ["linear", "forest"])
def test_json_scorers_refuse_malformed_documents_cleanly(runtime: str, examples: int, model: str, documents, tmp_path: Path) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: Any) -> None:
        _score_or_refuse(runtime, data.draw(mutated(documents[model])), tmp_path)

    run()


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_model_loader_refuses_damaged_files_cleanly(cut: float, flips: list[tuple[float, int]], tmp_path_factory) -> None:
    d = tmp_path_factory.mktemp("load")
    raw = bytearray(pickle.dumps(make_pipeline(StandardScaler(), LogisticRegression()).fit(FRAME[["a", "b"]].fillna(0), Y)))
    for pos, byte in flips:
        raw[int(pos * (len(raw) - 1))] = byte
    raw = raw[: max(1, int(cut * len(raw)))]
    path = d / "m.pkl"
    path.write_bytes(bytes(raw))
    try:
        mlexport.load_model(path)
    except MlexportError:
        pass


def test_joblib_compressed_truncation_is_a_clear_error(tmp_path: Path) -> None:
    m = make_pipeline(StandardScaler(), LogisticRegression()).fit(FRAME[["a", "b"]].fillna(0), Y)
    joblib.dump(m, tmp_path / "m.joblib", compress=3)
    raw = (tmp_path / "m.joblib").read_bytes()
    (tmp_path / "cut.joblib").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(MlexportError, match="cut.joblib"):
        mlexport.load_model(tmp_path / "cut.joblib")
