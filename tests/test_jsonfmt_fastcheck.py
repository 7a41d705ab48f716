"""Schema validation through the compact form (``jsonfmt.fastcheck``).

``jsonfmt.validate`` lets jsonschema check a compact equivalent of the
document. These tests hold it to "valid exactly when the document is": the
two verdicts are compared on exported documents and on thousands of damaged
copies (a number, string, list or key changed anywhere in the tree).
"""

from __future__ import annotations

import copy
import math
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from mlexport import jsonfmt
from mlexport.errors import BadInputError
from mlexport.jsonfmt import fastcheck
from mlexport.jsonfmt.export import to_document

pytestmark = pytest.mark.filterwarnings("ignore")


def _models() -> dict[str, Any]:
    X, y = load_iris(return_X_y=True)
    Xc, yc = make_classification(n_samples=300, n_features=6, random_state=0)
    frame = pd.DataFrame({"city": ["a", "b", "c", None, "a,b", '"q"'] * 50, "x": np.r_[np.nan, np.arange(299.0)],
                          "grade": [1.0, 2.0, 3.0] * 100})
    yf = np.arange(300) % 2
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), ["city"]),
        ("num", make_pipeline(SimpleImputer(), MinMaxScaler(clip=True)), ["x"]),
        ("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), ["grade"]),
    ])
    return {
        "forest": RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(Xc, yc),
        "hgb": HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y),
        "gb": GradientBoostingClassifier(n_estimators=3, random_state=0).fit(Xc, yc),
        "mlp": make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(3,), max_iter=50,
                                                             random_state=0)).fit(X, y),
        "encoders": make_pipeline(pre, LogisticRegression()).fit(frame, yf),
    }


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return {name: to_document(m) for name, m in _models().items()}


def _full(doc: Any) -> bool:
    return bool(jsonfmt._validator().is_valid(doc))


def _fast(doc: Any) -> bool:
    return bool(jsonfmt._validator().is_valid(fastcheck.compact(doc, jsonfmt._profile())))


def test_the_shipped_schema_has_a_compact_form() -> None:
    p = jsonfmt._profile()
    assert p.max_length_bound == 8 and 0 in p.numbers and "NaN" in p.strings


def test_exported_documents_are_valid_both_ways(docs: dict[str, dict[str, Any]]) -> None:
    for name, doc in docs.items():
        assert _full(doc), name
        assert _fast(doc), name
        jsonfmt.validate(doc)


def test_compact_form_is_small() -> None:
    X, y = make_classification(n_samples=500, n_features=8, random_state=1)
    doc = to_document(RandomForestClassifier(n_estimators=40, max_depth=6, random_state=0).fit(X, y))
    small = fastcheck.compact(doc, jsonfmt._profile())
    assert len(small["model"]["trees"]) < 40
    assert all(len(t["left"]) <= 9 for t in small["model"]["trees"])


_VALUES: list[Any] = [-2, -1, 0, 1, 2, 7, 8, 9, 0.5, -0.5, 1.5, 2.0, -1.0, 1e300, -1e300, 2**32 - 1, 2**32, 2**53 + 1,
                      2**64, -(2**63), math.nan, math.inf, -math.inf, "NaN", "Infinity", "-Infinity", "nan", "",
                      "x", "string", "number", "encode", "argmax", True, False, None, [], {}, [1], {"a": 1}]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, here + (k,)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, here + (i,)))
    return out


def _mutate(doc: Any, rng: random.Random) -> Any:
    d = copy.deepcopy(doc)
    path = rng.choice(_paths(d)[1:])
    parent = d
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    what = rng.random()
    if what < 0.7:
        parent[last] = copy.deepcopy(rng.choice(_VALUES))
    elif what < 0.8 and isinstance(parent, dict):
        del parent[last]
    elif what < 0.9 and isinstance(parent, dict):
        parent[rng.choice(["extra", "missing", "unknown", "center_v2"])] = parent[last]
    elif isinstance(parent, list):
        if rng.random() < 0.5:
            del parent[last]
        else:
            parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = copy.deepcopy(rng.choice(_VALUES))
    return d


@pytest.mark.parametrize("name", ["forest", "hgb", "gb", "mlp", "encoders"])
def test_compact_verdict_equals_full_verdict_on_damaged_documents(docs: dict[str, dict[str, Any]], name: str) -> None:
    rng = random.Random(name)
    bad = 0
    for _ in range(150):
        d = _mutate(docs[name], rng)
        if rng.random() < 0.3:
            d = _mutate(d, rng)
        full = _full(d)
        try:
            fast = _fast(d)
        except fastcheck.Unsupported:
            continue
        assert fast == full, f"compact form says {fast}, jsonschema says {full}"
        bad += not full
    assert bad > 20  # the damage was seen, not just tolerated


def test_a_bad_number_deep_in_a_forest_is_named(docs: dict[str, dict[str, Any]]) -> None:
    d = copy.deepcopy(docs["forest"])
    d["model"]["trees"][3]["left"][-1] = -2
    with pytest.raises(BadInputError, match="schema at 'model'"):  # the model is one of several node types
        jsonfmt.validate(d)
    d = copy.deepcopy(docs["forest"])
    d["model"]["trees"][4]["threshold"][2] = "nan"
    with pytest.raises(BadInputError, match="schema at 'model'"):
        jsonfmt.validate(d)
    d = copy.deepcopy(docs["forest"])
    d["output"]["classes"] = "01"
    with pytest.raises(BadInputError, match="schema at 'output"):
        jsonfmt.validate(d)


def test_classes_of_numbers_between_non_integer_thresholds() -> None:
    schema = {"type": "array", "items": {"anyOf": [{"type": "number", "minimum": 0.25, "maximum": 0.75},
                                                   {"type": "integer", "minimum": 3}, {"const": -0.125}]}}
    p = fastcheck.profile(schema)
    import jsonschema

    v = jsonschema.Draft202012Validator(schema)
    rng = random.Random(0)
    pool = [0.0, 0.2, 0.25, 0.3, 0.5, 0.75, 0.8, 1, 2, 2.5, 3, 3.0, 3.5, 4, 10**20, -0.125, -0.1, math.nan, math.inf,
            -math.inf, 2**60 + 1]
    for _ in range(400):
        items = [rng.choice(pool) for _ in range(rng.randint(1, 30))]
        assert v.is_valid(fastcheck.compact(items, p)) == v.is_valid(items), items


def test_length_bounds_are_kept() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array", "minItems": 3, "maxItems": 5},
                                               "b": {"type": "array", "minItems": 7}}}
    import jsonschema

    v = jsonschema.Draft202012Validator(schema)
    p = fastcheck.profile(schema)
    for n in range(12):
        for doc in ({"a": [1] * n}, {"b": [0.5] * n}, {"a": [[1]] * n}, {"b": ["x", "y"] * n}):
            assert v.is_valid(fastcheck.compact(doc, p)) == v.is_valid(doc), doc


def test_keywords_outside_the_compact_form_fall_back() -> None:
    with pytest.raises(fastcheck.Unsupported):
        fastcheck.profile({"type": "array", "uniqueItems": True})
    with pytest.raises(fastcheck.Unsupported):
        fastcheck.profile({"type": "string", "pattern": "^a"})
    with pytest.raises(fastcheck.Unsupported):
        fastcheck.compact({"a": (1, 2)}, fastcheck.profile({"type": "object"}))
    with pytest.raises(fastcheck.Unsupported):
        fastcheck.compact({1: [1]}, fastcheck.profile({"type": "object"}))
