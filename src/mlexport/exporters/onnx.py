"""ONNX export: skl2onnx for the graph, mlexport's own float64 converters where
skl2onnx is not faithful (trees, imputers), one documented input layout.

Graph contract (what a JVM or Go engineer feeds and reads):

* inputs: when every input column is numeric, one tensor ``X`` of shape
  ``[N, F]`` float64 with the columns in signature order; otherwise one tensor
  per column, named as the column, shape ``[N, 1]``, float64 for numbers and
  string for text (a missing string is fed as ``""``; a missing number as NaN);
* outputs: classifiers ``label`` ``[N]`` (int64 or string, values of
  ``classes_``) and ``probabilities`` ``[N, K]`` float64 in class order when the
  model has ``predict_proba``, otherwise ``scores``: scikit-learn's
  ``decision_function``, float64, ``[N]`` for two classes, ``[N, K]`` in class
  order otherwise;
  regressors ``value`` ``[N, 1]`` float64;
* ``metadata_props``: ``mlexport.signature``, ``mlexport.task``,
  ``mlexport.classes``, ``mlexport.layout`` (``matrix`` or ``columns``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ExportError, UnsupportedStepError
from ..model import LoadedModel
from ..plan import Verdict
from ..steps import Step, flatten_steps, leaf_steps

TARGET_OPSET = {"": 21, "ai.onnx.ml": 5}
LABEL, PROBA, SCORES, VALUE = "label", "probabilities", "scores", "value"


def layout_for(model: LoadedModel) -> str:
    return "matrix" if model.signature.all_numeric else "columns"


def _initial_types(model: LoadedModel) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    sig = model.signature
    if layout_for(model) == "matrix":
        return [("X", DoubleTensorType([None, len(sig.columns)]))]
    return [
        (c.name, DoubleTensorType([None, 1]) if c.kind == "number" else StringTensorType([None, 1]))
        for c in sig.columns
    ]


def _without_passthrough(est: Any) -> Any:
    """An equivalent estimator with no-op pipeline steps removed.

    Containers are shallow copies; fitted leaf estimators are shared, never
    copied, mutated or refitted."""
    import copy

    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(est, Pipeline):
        return Pipeline([(n, _without_passthrough(s)) for n, s in est.steps if s is not None and s != "passthrough"])
    if isinstance(est, ColumnTransformer):
        ct = copy.copy(est)
        ct.transformers_ = [(n, t if isinstance(t, str) else _without_passthrough(t), c) for n, t, c in est.transformers_]
        return ct
    if isinstance(est, FeatureUnion):
        fu = copy.copy(est)
        fu.transformer_list = [(n, t if isinstance(t, str) else _without_passthrough(t)) for n, t in est.transformer_list]
        return fu
    return est


def _custom_converters() -> tuple[dict[type, Any], dict[type, Any]]:
    from . import onnx_expr, onnx_ops, onnx_trees

    convs: dict[type, Any] = {}
    shapes: dict[type, Any] = {}
    for module in (onnx_ops, onnx_trees, onnx_expr):
        c, s = module.custom_converters()
        convs.update(c)
        shapes.update(s)
    from ..plugins import for_format

    for cls, plugin in for_format("onnx").items():
        convs[cls] = plugin.converter
        shapes[cls] = plugin.shape_calculator
    return convs, shapes


def _classifier_options(est: Any, customs: dict[type, Any]) -> dict[int, dict[str, Any]]:
    """Plain arrays rather than ZipMap for skl2onnx's own classifier converters."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import get_converter
    from sklearn.base import is_classifier

    opts: dict[int, dict[str, Any]] = {}
    for step in flatten_steps(est):
        e = step.estimator
        if isinstance(e, str) or step.is_composite or not is_classifier(e):
            continue
        alias = sklearn_operator_name_map.get(type(e))
        allowed = get_converter(alias).get_allowed_options() if alias else None
        if allowed and "zipmap" in allowed:
            opts[id(e)] = {"zipmap": False}
    return opts


# Known silent mis-scores and refusals (measured; see design.md). Each entry:
# predicate(estimator) -> reason, or None when fine.
def _known_problems(est: Any) -> tuple[str, str, str] | None:
    """(status, reason, hint) for a leaf step skl2onnx mis-scores or refuses, else None."""
    from sklearn.preprocessing import FunctionTransformer

    name = type(est).__name__
    if isinstance(est, FunctionTransformer):
        from .onnx_expr import supports

        reason = supports(est)
        if reason is None:
            return None
        return ("unsupported", reason,
                "rewrite it with numpy arithmetic, comparisons and np.where/np.clip, or register a converter")
    if name == "SGDClassifier" and getattr(est, "loss", "") == "modified_huber":
        return ("unsupported", "modified_huber probabilities are not converted exactly", "use loss='log_loss' or another format")
    if name == "LinearDiscriminantAnalysis" and len(getattr(est, "classes_", [])) == 2:
        return ("misscores", "skl2onnx scores binary LinearDiscriminantAnalysis wrongly", "use LogisticRegression or the PMML format")
    if name == "TfidfVectorizer" and getattr(est, "sublinear_tf", False):
        return ("misscores", "skl2onnx ignores sublinear_tf", "set sublinear_tf=False or use another format")
    if name == "OneHotEncoder" and getattr(est, "_infrequent_enabled", False):
        return ("unsupported", "infrequent categories fail at run time in onnxruntime", "set min_frequency=None and max_categories=None")
    return None


class OnnxExporter:
    name = "onnx"
    suffix = ".onnx"
    runtimes = ("onnxruntime",)

    def assess(self, model: LoadedModel) -> list[Verdict]:
        from skl2onnx._supported_operators import sklearn_operator_name_map

        from ..plugins import for_format

        customs, _ = _custom_converters()
        plugin_classes = set(for_format("onnx"))
        verdicts = []
        for step in flatten_steps(model.estimator):
            est = step.estimator
            if isinstance(est, str):
                verdicts.append(Verdict(step.path, step.cls, "supported"))
                continue
            known = None if type(est) in plugin_classes else _known_problems(est)
            if known:
                verdicts.append(Verdict(step.path, step.cls, known[0], known[1], known[2]))  # type: ignore[arg-type]
            elif type(est) in customs or type(est) in sklearn_operator_name_map:
                verdicts.append(Verdict(step.path, step.cls, "supported"))
            else:
                verdicts.append(
                    Verdict(step.path, step.cls, "unsupported", f"skl2onnx has no converter for {step.cls}",
                            "register a converter for it (see README, plug-ins) or use another format")
                )
        return verdicts

    def export(self, model: LoadedModel, out: Path, sample: Any = None) -> dict[str, Any]:
        import onnx
        import skl2onnx
        from skl2onnx import convert_sklearn

        for v in self.assess(model):
            if not v.ok:
                raise UnsupportedStepError(v.path, v.cls, v.reason, v.hint, fmt="onnx")
        est = _without_passthrough(model.estimator)
        convs, shapes = _custom_converters()
        try:
            onx = convert_sklearn(
                est,
                initial_types=_initial_types(model),
                options=_classifier_options(est, convs) or None,  # {} makes skl2onnx add zipmap=True
                target_opset=TARGET_OPSET,
                custom_conversion_functions=convs,
                custom_shape_calculators=shapes,
            )
        except UnsupportedStepError as e:
            raise UnsupportedStepError(_path_of(model, e.cls) or e.path, e.cls, e.reason, e.hint, fmt="onnx") from None
        except Exception as e:  # skl2onnx raises bare RuntimeError / NotImplementedError / MissingShapeCalculator
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ExportError(f"onnx: skl2onnx failed: {msg}") from None
        _rename_outputs(onx, model)
        _decision_layout(onx, model)
        meta = {
            "mlexport.signature": json.dumps(model.signature.to_dict()),
            "mlexport.task": model.task,
            "mlexport.classes": json.dumps(list(model.classes) if model.classes is not None else None),
            "mlexport.layout": layout_for(model),
        }
        for key, value in meta.items():
            onx.metadata_props.add(key=key, value=value)
        onx.producer_name = "mlexport"
        onnx.checker.check_model(onx)
        out.write_bytes(onx.SerializeToString())
        return {
            "converter": {"skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__},
            "opset": TARGET_OPSET,
            "layout": layout_for(model),
            "inputs": describe_io(onx)["inputs"],
            "outputs": describe_io(onx)["outputs"],
        }


def _path_of(model: LoadedModel, cls: str) -> str:
    for s in leaf_steps(model.estimator):
        if s.cls == cls:
            return s.path
    return ""


def _rename_outputs(onx: Any, model: LoadedModel) -> None:
    """Give graph outputs the stable names of the contract.

    An internal variable that already has one of those names is renamed first,
    so the graph stays in single-assignment form."""
    outs = list(onx.graph.output)
    if model.task == "classification":
        from ..steps import final_estimator

        second = PROBA if hasattr(final_estimator(model.estimator), "predict_proba") else SCORES
        wanted = [LABEL, second][: len(outs)]
    else:
        wanted = [VALUE]
    mapping = {o.name: w for o, w in zip(outs, wanted) if o.name != w}
    if not mapping:
        return
    output_names = {o.name for o in outs}
    taken = {n for node in onx.graph.node for n in node.output} | {i.name for i in onx.graph.initializer}
    for w in list(mapping.values()):
        if w in taken and w not in output_names:
            mapping[w] = f"{w}_internal"
    for node in onx.graph.node:
        node.output[:] = [mapping.get(n, n) for n in node.output]
        node.input[:] = [mapping.get(n, n) for n in node.input]
    for init in onx.graph.initializer:
        init.name = mapping.get(init.name, init.name)
    for o in onx.graph.output:
        o.name = mapping.get(o.name, o.name)


def _decision_layout(onx: Any, model: LoadedModel) -> None:
    """Give ``scores`` the shape of ``decision_function``: ``[N]`` for two classes.

    Converters disagree for binary models: mlexport's linear and SVC converters
    give ``[N, 1]`` (the decision value), skl2onnx's linear classifiers (e.g.
    PassiveAggressive) ``[N, 2]`` as ``[-d, d]`` (measured; the zoo and
    tests/test_decision.py verify both)."""
    from onnx import TensorProto, helper

    outs = [o for o in onx.graph.output if o.name == SCORES]
    if not outs or model.classes is None or len(model.classes) != 2:
        return
    out = outs[0]
    dims = out.type.tensor_type.shape.dim
    width = dims[1].dim_value if len(dims) == 2 and dims[1].HasField("dim_value") else None
    if width not in (1, 2):
        raise ExportError(f"onnx: a binary classifier's decision values have {width} columns; expected 1 or 2")
    inner = "scores_2d"
    for node in onx.graph.node:
        node.output[:] = [inner if n == SCORES else n for n in node.output]
        node.input[:] = [inner if n == SCORES else n for n in node.input]
    col = 0 if width == 1 else 1
    column = helper.make_tensor("scores_column", TensorProto.INT64, [], [col])
    onx.graph.initializer.append(column)
    onx.graph.node.append(helper.make_node("Gather", [inner, "scores_column"], [SCORES], axis=1, name="mlexport_decision"))
    out.type.tensor_type.shape.ClearField("dim")
    out.type.tensor_type.shape.dim.add().dim_param = "N"


def describe_io(onx: Any) -> dict[str, list[dict[str, Any]]]:
    """Names, element types and shapes of a graph's inputs and outputs."""
    from onnx import TensorProto

    def one(v: Any) -> dict[str, Any]:
        t = v.type.tensor_type
        dims = [d.dim_param or (d.dim_value if d.HasField("dim_value") else None) for d in t.shape.dim]
        return {"name": v.name, "dtype": TensorProto.DataType.Name(t.elem_type).lower(), "shape": [d if d else "N" for d in dims]}

    return {"inputs": [one(v) for v in onx.graph.input], "outputs": [one(v) for v in onx.graph.output]}


EXPORTER = OnnxExporter()

__all__ = ["EXPORTER", "Step", "describe_io", "layout_for"]
