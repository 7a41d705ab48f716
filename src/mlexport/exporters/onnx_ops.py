"""Float64-faithful ONNX converters for preprocessing steps skl2onnx gets wrong.

skl2onnx's SimpleImputer converter emits the float-only ``ai.onnx.ml.Imputer``
(onnxruntime refuses it for double input, and it rounds statistics to float32)
and ignores ``add_indicator``. These converters replace it for mlexport's
double graphs. They are passed per call to ``convert_sklearn`` through
:func:`custom_converters`; nothing is registered globally.

Missing strings: ONNX string tensors cannot hold NaN, so mlexport feeds a
missing string value as the empty string ``""`` (see README, "ONNX inputs").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UnsupportedStepError

MISSING_STRING = ""


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and np.isnan(v)


def _imputer_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    op = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    stats = np.asarray(op.statistics_)
    if stats.dtype.kind in "fc":
        kept = int((~np.isnan(stats)).sum()) if not op.keep_empty_features else len(stats)
    else:
        kept = len(stats)
    n_ind = len(op.indicator_.features_) if getattr(op, "indicator_", None) is not None else 0
    is_string = isinstance(operator.inputs[0].type, StringTensorType)
    if is_string and n_ind:
        raise UnsupportedStepError("", "SimpleImputer", "add_indicator on string columns mixes strings and numbers in one output")
    out_type = StringTensorType if is_string else DoubleTensorType
    operator.outputs[0].type = out_type([n, kept + n_ind])


def _imputer_convert(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.common._apply_operation import apply_concat
    from skl2onnx.common.data_types import StringTensorType
    from skl2onnx.operator_converters.common import concatenate_variables

    op = operator.raw_operator
    x = concatenate_variables(scope, operator.inputs, container)
    stats = np.asarray(op.statistics_)
    is_string = isinstance(operator.inputs[0].type, StringTensorType)
    mv = op.missing_values

    def const(name: str, value: np.ndarray, dtype: int) -> str:
        return _const(scope, container, name, value, dtype)

    # mask of missing cells, same shape as x
    mask = scope.get_unique_variable_name("missing")
    if is_string:
        if not (_is_nan(mv) or mv is None or isinstance(mv, str)):
            raise UnsupportedStepError("", "SimpleImputer", f"missing_values={mv!r} on string columns")
        token = MISSING_STRING if (_is_nan(mv) or mv is None) else mv
        c = const("mv", np.array([token], dtype=object), TensorProto.STRING)
        container.add_node("Equal", [x, c], [mask], op_version=19, name=scope.get_unique_operator_name("Equal"))
    elif _is_nan(mv):
        container.add_node("IsNaN", [x], [mask], name=scope.get_unique_operator_name("IsNaN"))
    else:
        c = const("mv", np.array([float(mv)]), TensorProto.DOUBLE)
        container.add_node("Equal", [x, c], [mask], name=scope.get_unique_operator_name("Equal"))

    if is_string:
        fill = const("fill", stats.astype(object).reshape(1, -1), TensorProto.STRING)
        valid = np.arange(len(stats))
    else:
        if op.keep_empty_features:
            valid = np.arange(len(stats))
        else:
            valid = np.flatnonzero(~np.isnan(stats.astype(np.float64)))
        fill = const("fill", stats.astype(np.float64).reshape(1, -1), TensorProto.DOUBLE)
    filled = scope.get_unique_variable_name("filled")
    container.add_node("Where", [mask, fill, x], [filled], name=scope.get_unique_operator_name("Where"))

    pieces = []
    if len(valid) == len(stats):
        pieces.append(filled)
    else:
        idx = const("valid", valid.astype(np.int64), TensorProto.INT64)
        kept = scope.get_unique_variable_name("kept")
        container.add_node("Gather", [filled, idx], [kept], axis=1, name=scope.get_unique_operator_name("Gather"))
        pieces.append(kept)
    ind = getattr(op, "indicator_", None)
    if ind is not None and len(ind.features_):
        idx = const("indf", np.asarray(ind.features_, dtype=np.int64), TensorProto.INT64)
        sel = scope.get_unique_variable_name("indmask")
        container.add_node("Gather", [mask, idx], [sel], axis=1, name=scope.get_unique_operator_name("Gather"))
        cast = scope.get_unique_variable_name("indicator")
        container.add_node("Cast", [sel], [cast], to=TensorProto.DOUBLE, name=scope.get_unique_operator_name("Cast"))
        pieces.append(cast)
    if len(pieces) == 1:
        container.add_node("Identity", [pieces[0]], [operator.outputs[0].full_name], name=scope.get_unique_operator_name("Identity"))
    else:
        apply_concat(scope, pieces, operator.outputs[0].full_name, container, axis=1)


def _const(scope: Any, container: Any, name: str, value: np.ndarray, dtype: int) -> str:
    v = scope.get_unique_variable_name(name)
    container.add_initializer(v, dtype, list(value.shape), value.ravel().tolist())
    return v


def _node(scope: Any, container: Any, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
    out = output or scope.get_unique_variable_name(op.lower())
    container.add_node(op, inputs, [out], name=scope.get_unique_operator_name(op), **attrs)
    return out


def emit_labels(scope: Any, container: Any, index: str, classes: np.ndarray, out: str) -> None:
    """``out[i] = classes[index[i]]`` as int64 or string, like ``classes_``."""
    from onnx import TensorProto

    if classes.dtype.kind in "iub":
        table = _const(scope, container, "classes", classes.astype(np.int64), TensorProto.INT64)
    else:
        table = _const(scope, container, "classes", np.array([str(c) for c in classes], dtype=object), TensorProto.STRING)
    _node(scope, container, "Gather", [table, index], out, axis=0)


def sigmoid(scope: Any, container: Any, x: str, out: str | None = None) -> str:
    """1 / (1 + exp(-x)) in float64 (onnxruntime's Sigmoid kernel is approximate)."""
    from onnx import TensorProto

    one = _const(scope, container, "one", np.array([1.0]), TensorProto.DOUBLE)
    e = _node(scope, container, "Exp", [_node(scope, container, "Neg", [x])])
    return _node(scope, container, "Div", [one, _node(scope, container, "Add", [one, e])], out)


def _label_and_scores_shape(operator: Any, width: int) -> None:
    """Labels ``[N]`` typed like ``classes_``; the second output ``[N, width]`` float64."""
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType, StringTensorType

    n = operator.inputs[0].get_first_dimension()
    classes = np.asarray(operator.raw_operator.classes_)
    operator.outputs[0].type = Int64TensorType([n]) if classes.dtype.kind in "iub" else StringTensorType([n])
    if len(operator.outputs) > 1:
        operator.outputs[1].type = DoubleTensorType([n, width])


def _classifier_shape(operator: Any) -> None:
    op = operator.raw_operator
    _label_and_scores_shape(operator, len(op.classes_) if hasattr(op, "predict_proba") else np.atleast_2d(op.coef_).shape[0])


def _linear_classifier_convert(scope: Any, operator: Any, container: Any) -> None:
    """LinearClassifierMixin in float64: predict = classes[decision > 0] (binary)
    or classes[argmax(decision)]; predict_proba as the estimator defines it."""
    from onnx import TensorProto
    from skl2onnx.operator_converters.common import concatenate_variables

    op = operator.raw_operator
    x = concatenate_variables(scope, operator.inputs, container)
    coef = np.atleast_2d(np.asarray(op.coef_, dtype=np.float64))
    w = _const(scope, container, "coef", coef.T.copy(), TensorProto.DOUBLE)
    b = _const(scope, container, "intercept", np.atleast_1d(np.asarray(op.intercept_, dtype=np.float64)), TensorProto.DOUBLE)
    dec = _node(scope, container, "Add", [_node(scope, container, "MatMul", [x, w]), b])
    classes = np.asarray(op.classes_)
    if coef.shape[0] == 1:
        zero = _const(scope, container, "zero", np.array([0.0]), TensorProto.DOUBLE)
        positive = _node(scope, container, "Greater", [dec, zero])
        idx = _node(scope, container, "Cast", [positive], to=TensorProto.INT64)
        flat_shape = _const(scope, container, "flat", np.array([-1], dtype=np.int64), TensorProto.INT64)
        idx = _node(scope, container, "Reshape", [idx, flat_shape])
    else:
        idx = _node(scope, container, "ArgMax", [dec], axis=1, keepdims=0)
    emit_labels(scope, container, idx, classes, operator.outputs[0].full_name)
    if len(operator.outputs) < 2:
        return
    second = operator.outputs[1].full_name
    if not hasattr(op, "predict_proba"):
        _node(scope, container, "Identity", [dec], second)
        return
    p = sigmoid(scope, container, dec)
    if coef.shape[0] == 1:
        one = _const(scope, container, "one", np.array([1.0]), TensorProto.DOUBLE)
        _node(scope, container, "Concat", [_node(scope, container, "Sub", [one, p]), p], second, axis=1)
        return
    total = _node(scope, container, "ReduceSum", [p, _const(scope, container, "ax1", np.array([1], dtype=np.int64), TensorProto.INT64)], keepdims=1)
    zero = _const(scope, container, "zero", np.array([0.0]), TensorProto.DOUBLE)
    is_zero = _node(scope, container, "Equal", [total, zero])
    normed = _node(scope, container, "Div", [p, total])
    uniform = _const(scope, container, "uniform", np.full((1, coef.shape[0]), 1.0 / coef.shape[0]), TensorProto.DOUBLE)
    _node(scope, container, "Where", [is_zero, uniform, normed], second)


def _poly_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    op = operator.raw_operator
    operator.outputs[0].type = DoubleTensorType([operator.inputs[0].get_first_dimension(), int(op.n_output_features_)])


def _poly_convert(scope: Any, operator: Any, container: Any) -> None:
    """Each output column is prod_j x_j ** powers_[i, j], computed in float64."""
    from onnx import TensorProto
    from skl2onnx.operator_converters.common import concatenate_variables

    op = operator.raw_operator
    x = concatenate_variables(scope, operator.inputs, container)
    powers = np.asarray(op.powers_, dtype=np.float64)  # (n_out, n_in)
    axes1 = _const(scope, container, "ax1", np.array([1], dtype=np.int64), TensorProto.INT64)
    xe = _node(scope, container, "Unsqueeze", [x, axes1])  # (N, 1, n_in)
    pw = _const(scope, container, "powers", powers.reshape(1, *powers.shape), TensorProto.DOUBLE)
    # x ** 0 must be 1 even for x = 0 or NaN, as in sklearn's products of selected columns
    raised = _node(scope, container, "Pow", [xe, pw])
    zero_pw = _const(scope, container, "zeropw", (powers == 0).reshape(1, *powers.shape), TensorProto.BOOL)
    one = _const(scope, container, "one", np.array([1.0]), TensorProto.DOUBLE)
    factors = _node(scope, container, "Where", [zero_pw, one, raised])
    axes2 = _const(scope, container, "ax2", np.array([2], dtype=np.int64), TensorProto.INT64)
    _node(scope, container, "ReduceProd", [factors, axes2], operator.outputs[0].full_name, keepdims=0)


def _svr_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    operator.outputs[0].type = DoubleTensorType([operator.inputs[0].get_first_dimension(), 1])


def _kernel(scope: Any, container: Any, op: Any, x: str) -> str:
    """K(x, support_vectors_) in float64 for libsvm's kernels."""
    from onnx import TensorProto

    sv = np.asarray(op.support_vectors_, dtype=np.float64)
    gamma = float(op._gamma)
    svt = _const(scope, container, "svT", sv.T.copy(), TensorProto.DOUBLE)
    dot = _node(scope, container, "MatMul", [x, svt])
    if op.kernel == "linear":
        return dot
    g = _const(scope, container, "gamma", np.array([gamma]), TensorProto.DOUBLE)
    c0 = _const(scope, container, "coef0", np.array([float(op.coef0)]), TensorProto.DOUBLE)
    if op.kernel == "poly":
        base = _node(scope, container, "Add", [_node(scope, container, "Mul", [dot, g]), c0])
        deg = _const(scope, container, "degree", np.array([float(op.degree)]), TensorProto.DOUBLE)
        return _node(scope, container, "Pow", [base, deg])
    if op.kernel == "sigmoid":
        return _node(scope, container, "Tanh", [_node(scope, container, "Add", [_node(scope, container, "Mul", [dot, g]), c0])])
    if op.kernel == "rbf":
        two = _const(scope, container, "two", np.array([2.0]), TensorProto.DOUBLE)
        ax = _const(scope, container, "ax1", np.array([1], dtype=np.int64), TensorProto.INT64)
        xx = _node(scope, container, "ReduceSum", [_node(scope, container, "Mul", [x, x]), ax], keepdims=1)
        ss = _const(scope, container, "svsq", (sv * sv).sum(axis=1).reshape(1, -1), TensorProto.DOUBLE)
        d2 = _node(scope, container, "Sub", [_node(scope, container, "Add", [xx, ss]), _node(scope, container, "Mul", [two, dot])])
        zero = _const(scope, container, "zero", np.array([0.0]), TensorProto.DOUBLE)
        d2 = _node(scope, container, "Max", [d2, zero])
        neg = _const(scope, container, "neggamma", np.array([-gamma]), TensorProto.DOUBLE)
        return _node(scope, container, "Exp", [_node(scope, container, "Mul", [d2, neg])])
    raise UnsupportedStepError("", type(op).__name__, f"kernel={op.kernel!r} is not supported")


def _svr_convert(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.operator_converters.common import concatenate_variables

    op = operator.raw_operator
    x = concatenate_variables(scope, operator.inputs, container)
    k = _kernel(scope, container, op, x)
    dual = _const(scope, container, "dual", np.asarray(op.dual_coef_, dtype=np.float64).T.copy(), TensorProto.DOUBLE)
    b = _const(scope, container, "intercept", np.asarray(op.intercept_, dtype=np.float64), TensorProto.DOUBLE)
    _node(scope, container, "Add", [_node(scope, container, "MatMul", [k, dual]), b], operator.outputs[0].full_name)


def _svc_shape(operator: Any) -> None:
    op = operator.raw_operator
    k = len(op.classes_)
    _label_and_scores_shape(operator, 1 if k == 2 else (k if op.decision_function_shape == "ovr" else k * (k - 1) // 2))


def _svc_pairs(op: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """libsvm's one-vs-one layout as matrices: W (n_SV, P) so that the pairwise
    decision values are K @ W + b, and A, B (P, k) marking each pair's classes i < j."""
    k = len(op.classes_)
    dual = np.asarray(op._dual_coef_, dtype=np.float64)  # libsvm's signs (sklearn flips the public ones for 2 classes)
    start = np.concatenate([[0], np.cumsum(op._n_support)])
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    w = np.zeros((dual.shape[1], len(pairs)))
    a = np.zeros((len(pairs), k))
    b = np.zeros((len(pairs), k))
    for p, (i, j) in enumerate(pairs):
        w[start[i]:start[i + 1], p] = dual[j - 1, start[i]:start[i + 1]]
        w[start[j]:start[j + 1], p] = dual[i, start[j]:start[j + 1]]
        a[p, i] = 1.0
        b[p, j] = 1.0
    return w, np.asarray(op._intercept_, dtype=np.float64), a, b


def _svc_convert(scope: Any, operator: Any, container: Any) -> None:
    """SVC / NuSVC without probabilities, in float64 as libsvm computes them:
    pairwise decision values from the kernel; predict by one-vs-one voting
    (ties to the first class); decision_function as scikit-learn derives it
    (negated for two classes; votes plus scaled confidences for 'ovr')."""
    from onnx import TensorProto
    from skl2onnx.operator_converters.common import concatenate_variables

    op = operator.raw_operator
    x = concatenate_variables(scope, operator.inputs, container)
    w, intercept, a, b = _svc_pairs(op)
    kx = _kernel(scope, container, op, x)
    dec = _node(scope, container, "Add", [_node(scope, container, "MatMul", [kx, _const(scope, container, "w", w, TensorProto.DOUBLE)]),
                                          _const(scope, container, "b", intercept, TensorProto.DOUBLE)])
    zero = _const(scope, container, "zero", np.array([0.0]), TensorProto.DOUBLE)
    classes = np.asarray(op.classes_)
    pos = _node(scope, container, "Greater", [dec, zero])  # libsvm votes for i when dec > 0, else for j
    second = operator.outputs[1].full_name if len(operator.outputs) > 1 else None
    if len(classes) == 2:
        idx = _node(scope, container, "Cast", [_node(scope, container, "Not", [pos])], to=TensorProto.INT64)
        flat = _const(scope, container, "flat", np.array([-1], dtype=np.int64), TensorProto.INT64)
        emit_labels(scope, container, _node(scope, container, "Reshape", [idx, flat]), classes, operator.outputs[0].full_name)
        if second:
            _node(scope, container, "Neg", [dec], second)
        return
    am = _const(scope, container, "a", a, TensorProto.DOUBLE)
    bm = _const(scope, container, "bm", b, TensorProto.DOUBLE)

    def votes(first: str) -> str:
        other = _node(scope, container, "Cast", [_node(scope, container, "Not", [first])], to=TensorProto.DOUBLE)
        mine = _node(scope, container, "Cast", [first], to=TensorProto.DOUBLE)
        return _node(scope, container, "Add", [_node(scope, container, "MatMul", [mine, am]), _node(scope, container, "MatMul", [other, bm])])

    ovr = ""
    if second or op.break_ties:
        # scikit-learn: votes for i where dec >= 0 (NaN included), confidences summed per class
        i_wins = _node(scope, container, "Not", [_node(scope, container, "Less", [dec, zero])])
        conf = _node(scope, container, "MatMul", [dec, _const(scope, container, "amb", a - b, TensorProto.DOUBLE)])
        three = _const(scope, container, "three", np.array([3.0]), TensorProto.DOUBLE)
        one = _const(scope, container, "one", np.array([1.0]), TensorProto.DOUBLE)
        scaled = _node(scope, container, "Div", [conf, _node(scope, container, "Mul", [three, _node(scope, container, "Add", [_node(scope, container, "Abs", [conf]), one])])])
        ovr = _node(scope, container, "Add", [votes(i_wins), scaled])
    idx = _node(scope, container, "ArgMax", [ovr if op.break_ties else votes(pos)], axis=1, keepdims=0)
    emit_labels(scope, container, idx, classes, operator.outputs[0].full_name)
    if second:
        _node(scope, container, "Identity", [ovr if op.decision_function_shape == "ovr" else dec], second)


def custom_converters() -> tuple[dict[type, Any], dict[type, Any]]:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Perceptron, RidgeClassifier, RidgeClassifierCV, SGDClassifier
    from sklearn.preprocessing import PolynomialFeatures
    from sklearn.svm import SVC, SVR, LinearSVC, NuSVC, NuSVR

    convs: dict[type, Any] = {SimpleImputer: _imputer_convert, PolynomialFeatures: _poly_convert, SVR: _svr_convert, NuSVR: _svr_convert}
    shapes: dict[type, Any] = {SimpleImputer: _imputer_shape, PolynomialFeatures: _poly_shape, SVR: _svr_shape, NuSVR: _svr_shape}
    for cls in (SGDClassifier, RidgeClassifier, RidgeClassifierCV, LinearSVC, Perceptron):
        convs[cls] = _linear_classifier_convert
        shapes[cls] = _classifier_shape
    for cls in (SVC, NuSVC):
        convs[cls] = _svc_dispatch
        shapes[cls] = _svc_shape_dispatch
    return convs, shapes


def _svc_dispatch(scope: Any, operator: Any, container: Any) -> None:
    """mlexport's float64 SVC without probabilities; skl2onnx's own converter otherwise."""
    if hasattr(operator.raw_operator, "predict_proba"):
        from skl2onnx.operator_converters.support_vector_machines import convert_sklearn_svm_classifier

        return convert_sklearn_svm_classifier(scope, operator, container)
    return _svc_convert(scope, operator, container)


def _svc_shape_dispatch(operator: Any) -> None:
    if hasattr(operator.raw_operator, "predict_proba"):
        from skl2onnx.shape_calculators.support_vector_machines import calculate_sklearn_svm_output_shapes

        return calculate_sklearn_svm_output_shapes(operator)
    return _svc_shape(operator)
