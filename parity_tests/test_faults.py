"""Fault injection: a harness that cannot be fooled.

Good artifacts are damaged the ways a bad release would damage them (a
coefficient nudged by 1e-3, classes swapped, a category dropped, a threshold
moved, outputs NaN, an input renamed); ``mlexport parity`` must fail every
time with exit 1 and say where.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from typer.testing import CliRunner
from zoo import built, holdout_frame

from mlexport.cli import app

# case name in the zoo -> which damages apply to it
ONNX_CASES = {
    "iris_scaler_logreg": ["nudge_coefficient", "swap_classes", "outputs_nan", "rename_input"],
    "mixed_onehot_logreg": ["nudge_coefficient", "drop_category", "outputs_nan", "rename_input"],
    "breast_cancer_random_forest": ["nudge_leaf", "move_threshold", "swap_classes", "outputs_nan"],
    "diabetes_hgb_with_nan": ["nudge_leaf", "move_threshold", "outputs_nan", "rename_input"],
}


def _largest_double_initializer(m: onnx.ModelProto) -> onnx.TensorProto:
    floats = [t for t in m.graph.initializer if t.data_type == onnx.TensorProto.DOUBLE and numpy_helper.to_array(t).size > 1]
    return max(floats, key=lambda t: numpy_helper.to_array(t).size)


def _replace(m: onnx.ModelProto, old: onnx.TensorProto, arr: np.ndarray) -> None:
    new = numpy_helper.from_array(arr, old.name)
    old.CopyFrom(new)


def nudge_coefficient(m: onnx.ModelProto) -> None:
    t = _largest_double_initializer(m)
    arr = numpy_helper.to_array(t).copy()
    flat = arr.reshape(-1)
    i = int(np.argmax(np.abs(flat)))
    flat[i] *= 1 + 1e-3
    _replace(m, t, arr)


def _tree_node(m: onnx.ModelProto) -> onnx.NodeProto:
    return next(n for n in m.graph.node if n.op_type == "TreeEnsemble")


def _tensor_attr(node: onnx.NodeProto, name: str) -> onnx.AttributeProto:
    return next(a for a in node.attribute if a.name == name)


def nudge_leaf(m: onnx.ModelProto) -> None:
    a = _tensor_attr(_tree_node(m), "leaf_weights")
    arr = numpy_helper.to_array(a.t).copy()
    arr[np.argmax(np.abs(arr))] *= 1 + 1e-3
    a.t.CopyFrom(numpy_helper.from_array(arr, a.t.name))


def move_threshold(m: onnx.ModelProto) -> None:
    node = _tree_node(m)
    a = _tensor_attr(node, "nodes_splits")
    arr = numpy_helper.to_array(a.t).copy()
    modes = numpy_helper.to_array(_tensor_attr(node, "nodes_modes").t)
    i = int(np.flatnonzero(modes == 0)[0])  # the first plain "<=" split: the root of the first tree
    arr[i] += 0.05 * max(abs(arr[i]), 1e-2)
    a.t.CopyFrom(numpy_helper.from_array(arr, a.t.name))


def swap_classes(m: onnx.ModelProto) -> None:
    for p in m.metadata_props:
        if p.key == "mlexport.classes":
            p.value = json.dumps(list(reversed(json.loads(p.value))))


def drop_category(m: onnx.ModelProto) -> None:
    node = next(n for n in m.graph.node if n.op_type == "OneHotEncoder")
    cats = next(a for a in node.attribute if a.name == "cats_strings")
    kept = list(cats.strings)
    kept[0] = b"__dropped__"  # the category no longer matches what the encoder learned
    del cats.strings[:]
    cats.strings.extend(kept)


def outputs_nan(m: onnx.ModelProto) -> None:
    out = next(o for o in m.graph.output if o.name in ("probabilities", "value"))
    inner = f"{out.name}__before_nan"
    for n in m.graph.node:
        n.output[:] = [inner if x == out.name else x for x in n.output]
        n.input[:] = [inner if x == out.name else x for x in n.input]
    m.graph.initializer.append(numpy_helper.from_array(np.array([np.nan]), "nan_const"))
    m.graph.node.append(onnx.helper.make_node("Mul", [inner, "nan_const"], [out.name]))


def rename_input(m: onnx.ModelProto) -> None:
    old = m.graph.input[0].name
    for n in m.graph.node:
        n.input[:] = [old + "_renamed" if x == old else x for x in n.input]
    m.graph.input[0].name = old + "_renamed"


DAMAGES: dict[str, Callable[[onnx.ModelProto], None]] = {
    f.__name__: f for f in (nudge_coefficient, nudge_leaf, move_threshold, swap_classes, drop_category, outputs_nan, rename_input)
}


def _params() -> list[Any]:
    return [pytest.param(case, dmg, id=f"onnx-{case}-{dmg}") for case, dmgs in ONNX_CASES.items() for dmg in dmgs]


@pytest.mark.parametrize(("case", "damage"), _params())
def test_damaged_onnx_artifact_fails_parity(case: str, damage: str, tmp_path: Path) -> None:
    model, X = built(case)
    joblib.dump(model, tmp_path / "m.joblib")
    holdout_frame(model, X).to_csv(tmp_path / "h.csv", index=False)
    runner = CliRunner()
    good = runner.invoke(app, ["onnx", str(tmp_path / "m.joblib"), "--data", str(tmp_path / "h.csv"), "-o", str(tmp_path / "m.onnx")])
    assert good.exit_code == 0, good.stdout + good.stderr
    m = onnx.load(tmp_path / "m.onnx")
    DAMAGES[damage](m)
    onnx.save(m, tmp_path / "bad.onnx")
    r = runner.invoke(app, ["parity", str(tmp_path / "m.joblib"), str(tmp_path / "bad.onnx"), "--data", str(tmp_path / "h.csv"),
                            "--probe", "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 1, f"{damage} went unnoticed:\n{r.stdout}{r.stderr}"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is False
    rt = report["runtimes"][0]
    where = [o["name"] for o in rt["outputs"] if not o["passed"]]
    assert where or rt.get("error"), report  # names the failing output, or the load/score error


# ----------------------------------------------------------------- JSON documents

def _walk(node: Any, found: list[dict[str, Any]], key: str) -> None:
    if isinstance(node, dict):
        if key in node:
            found.append(node)
        for v in node.values():
            _walk(v, found, key)
    elif isinstance(node, list):
        for v in node:
            _walk(v, found, key)


def j_nudge_coefficient(d: dict[str, Any]) -> None:
    coef = d["model"]["coef"]
    row = max(coef, key=lambda r: max(abs(x) for x in r))
    j = max(range(len(row)), key=lambda i: abs(row[i]))
    row[j] *= 1 + 1e-3


def j_nudge_leaf(d: dict[str, Any]) -> None:
    tree = d["model"]["trees"][0]
    v = tree["value"]
    i = max(range(len(v)), key=lambda k: abs(v[k]) if isinstance(v[k], float) else 0)
    v[i] = v[i] * (1 + 1e-3) if v[i] else 1e-3


def j_move_threshold(d: dict[str, Any]) -> None:
    tree = d["model"]["trees"][0]
    tree["threshold"][0] += 0.05 * max(abs(tree["threshold"][0]), 1e-2)


def j_swap_classes(d: dict[str, Any]) -> None:
    d["output"]["classes"] = list(reversed(d["output"]["classes"]))


def j_drop_category(d: dict[str, Any]) -> None:
    found: list[dict[str, Any]] = []
    _walk(d["steps"], found, "categories")
    found[0]["categories"][0] = "__dropped__"


def j_outputs_nan(d: dict[str, Any]) -> None:
    d["model"]["intercept"] = ["NaN" for _ in d["model"]["intercept"]]


def j_rename_input(d: dict[str, Any]) -> None:
    d["inputs"][0]["name"] += "_renamed"


JSON_DAMAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    f.__name__[2:]: f for f in (j_nudge_coefficient, j_nudge_leaf, j_move_threshold, j_swap_classes, j_drop_category,
                                j_outputs_nan, j_rename_input)
}
JSON_CASES = {
    "iris_scaler_logreg": ["nudge_coefficient", "swap_classes", "outputs_nan", "rename_input"],
    "mixed_onehot_logreg": ["nudge_coefficient", "drop_category", "outputs_nan", "rename_input"],
    "breast_cancer_random_forest": ["nudge_leaf", "move_threshold", "swap_classes"],
}


@pytest.mark.parametrize(("case", "damage"),
                         [pytest.param(c, d, id=f"json-{c}-{d}") for c, ds in JSON_CASES.items() for d in ds])
def test_damaged_json_document_fails_parity_in_every_scorer(case: str, damage: str, tmp_path: Path) -> None:
    model, X = built(case)
    joblib.dump(model, tmp_path / "m.joblib")
    holdout_frame(model, X).to_csv(tmp_path / "h.csv", index=False)
    runner = CliRunner()
    good = runner.invoke(app, ["json", str(tmp_path / "m.joblib"), "--data", str(tmp_path / "h.csv"), "-o", str(tmp_path / "m.json")])
    assert good.exit_code == 0, good.stdout + good.stderr
    doc = json.loads((tmp_path / "m.json").read_text())
    JSON_DAMAGES[damage](doc)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    r = runner.invoke(app, ["parity", str(tmp_path / "m.joblib"), str(tmp_path / "bad.json"), "--data", str(tmp_path / "h.csv"),
                            "--probe", "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 1, f"{damage} went unnoticed:\n{r.stdout}{r.stderr}"
    report = json.loads((tmp_path / "r.json").read_text())
    assert [rt["runtime"] for rt in report["runtimes"]] == ["json-python", "json-go", "json-java"]
    for rt in report["runtimes"]:  # every scorer, not just one, must catch it
        assert not rt["passed"], f"{rt['runtime']} passed a document with {damage}"
        assert rt.get("error") or [o["name"] for o in rt["outputs"] if not o["passed"]]


# ----------------------------------------------------------------- PMML files

def _sub_first(pattern: str, text: str, fn: Callable[[re.Match[str]], str]) -> str:
    new, n = re.subn(pattern, fn, text, count=1)
    assert n == 1, f"pattern {pattern!r} not found"
    return new


def p_nudge_coefficient(t: str) -> str:
    return _sub_first(r'coefficient="([^"]+)"', t, lambda m: f'coefficient="{float(m.group(1)) * (1 + 1e-3)!r}"')


def p_move_threshold(t: str) -> str:
    return _sub_first(r'(<SimplePredicate field="[^"]+" operator="(?:lessOrEqual|greaterThan)" value=")([^"]+)"', t,
                      lambda m: f'{m.group(1)}{float(m.group(2)) + 0.05 * max(abs(float(m.group(2))), 1e-2)!r}"')


def p_swap_classes(t: str) -> str:
    """Swap the first and last class where the model's numbers are attached to them."""
    attr = "targetCategory" if 'targetCategory="' in t else "value"
    scope = r"<RegressionTable[^>]*" if attr == "targetCategory" else r"<ScoreDistribution"
    values = re.findall(scope + rf'[^>]*{attr}="([^"]+)"', t)
    first, last = values[0], sorted(set(values))[-1] if values[0] != sorted(set(values))[-1] else sorted(set(values))[0]

    def swap(m: re.Match[str]) -> str:
        v = m.group(2)
        return m.group(1) + (last if v == first else first if v == last else v) + '"'

    return re.sub("(" + scope + rf'[^>]*{attr}=")([^"]+)"', swap, t)


def p_rename_input(t: str) -> str:
    return _sub_first(r'<DataField name="(x0|f0)"', t, lambda m: f'<DataField name="{m.group(1)}_renamed"')


PMML_DAMAGES: dict[str, Callable[[str], str]] = {
    f.__name__[2:]: f for f in (p_nudge_coefficient, p_move_threshold, p_swap_classes, p_rename_input)
}
PMML_CASES = {
    "iris_scaler_logreg": ["nudge_coefficient", "swap_classes", "rename_input"],
    "breast_cancer_random_forest": ["move_threshold", "swap_classes"],
}


@pytest.mark.parametrize(("case", "damage"),
                         [pytest.param(c, d, id=f"pmml-{c}-{d}") for c, ds in PMML_CASES.items() for d in ds])
def test_damaged_pmml_file_fails_parity_in_both_evaluators(case: str, damage: str, tmp_path: Path) -> None:
    model, X = built(case)
    joblib.dump(model, tmp_path / "m.joblib")
    frame = holdout_frame(model, X)
    frame.to_csv(tmp_path / "h.csv", index=False)
    runner = CliRunner()
    # --no-verify: a file without our verification rows shows that the evaluators' answers, not the embedded rows, catch it
    good = runner.invoke(app, ["pmml", str(tmp_path / "m.joblib"), "-o", str(tmp_path / "m.pmml"), "--no-verify"])
    assert good.exit_code == 0, good.stdout + good.stderr
    (tmp_path / "bad.pmml").write_text(PMML_DAMAGES[damage]((tmp_path / "m.pmml").read_text()))
    r = runner.invoke(app, ["parity", str(tmp_path / "m.joblib"), str(tmp_path / "bad.pmml"), "--data", str(tmp_path / "h.csv"),
                            "--probe", "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 1, f"{damage} went unnoticed:\n{r.stdout}{r.stderr}"
    report = json.loads((tmp_path / "r.json").read_text())
    for rt in report["runtimes"]:
        assert not rt["passed"], f"{rt['runtime']} passed a file with {damage}"
