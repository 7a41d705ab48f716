"""Fault injection: a harness that cannot be fooled.

Good artifacts are damaged the ways a bad release would damage them (a
coefficient nudged by 1e-3, classes swapped, a category dropped, a threshold
moved, outputs NaN, an input renamed); ``mlexport parity`` must fail every
time with exit 1 and say where.
"""

from __future__ import annotations

import json
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
