"""Exact float64 ONNX converters for every scikit-learn tree family.

skl2onnx's own tree converters compute in float32 (thresholds, leaf values and
sums) and emit the float-only ``ai.onnx.ml`` v1-v3 ``TreeEnsembleRegressor`` /
``TreeEnsembleClassifier``: onnxruntime refuses those graphs for double input
and the float32 arithmetic is visibly off (HistGradientBoosting off by ~20 on
targets ~150, forest probabilities off by 5e-3). The converters here emit one
``ai.onnx.ml`` opset-5 ``TreeEnsemble`` node in float64 (double thresholds,
double leaf weights, ``SUM`` aggregation, no post-transform) followed by plain
float64 ONNX ops for every post-transform, reproducing scikit-learn 1.9's
prediction code:

* DecisionTree*/ExtraTree* (single): tree values (class fractions since
  sklearn 1.4); RandomForest*/ExtraTrees*: ``sum(tree values) / n_estimators``;
  labels ``classes_[argmax(proba)]``; multi-output regression supported.
* GradientBoosting*: ``init + sum(learning_rate * leaf)``; regressor returns the
  raw value; classifier ``expit(raw)`` (log_loss, binary), ``expit(2 raw)``
  (exponential), softmax (multiclass); labels ``raw >= 0`` / ``argmax(raw)``.
* HistGradientBoosting*: ``_baseline_prediction + sum(leaf)``; regressor
  inverse link (identity, or ``exp`` for poisson/gamma); classifier expit /
  softmax; labels ``raw > 0`` / ``argmax(raw)``.

Exactness details
-----------------
* sklearn's own trees (everything but HistGradientBoosting) cast ``X`` to
  float32 and then compare ``float32(x) <= threshold`` in double. Instead of a
  ``Cast(float)->Cast(double)`` pair (which a graph optimizer may legally fold
  away), each threshold ``t`` is replaced at export time by the largest double
  ``t'`` with ``float32(t') <= t``. Since float32 rounding is monotone,
  ``float32(x) <= t  <=>  x <= t'`` for every double ``x`` (also +-1e300,
  which round to +-inf); every ``t'`` is verified with numpy at export time.
  The rewritten thresholds also stay correct if ``x`` is already float32.
* NaN is routed with ``nodes_missing_value_tracks_true`` from
  ``tree_.missing_go_to_left`` / HGB ``missing_go_to_left``.
* HistGradientBoosting categorical features: in sklearn 1.9 every model with
  categorical features (``categorical_features=[...]`` or ``'from_dtype'``)
  owns an internal ``_preprocessor`` (OrdinalEncoder with unknown/missing ->
  NaN, categorical columns moved first). The graph reproduces it: each raw
  categorical value is matched by equality against the encoder's categories
  (codes ``0..k-1``); NaN, unseen values and categories the bin mapper never
  saw map to a sentinel code ``k`` that routes like a missing value. Each
  categorical split becomes a ``BRANCH_MEMBER`` node over these small integer
  codes (onnxruntime only implements integer membership sets), with exactly
  sklearn's routing: left bitset -> left, known -> right, else missing side.
  Categories must be numbers (the graph input is one double tensor); string
  categories raise :class:`UnsupportedStepError`.

Multi-target trees (classifier class fractions, multi-output regression) are
emitted once per target: a TreeEnsemble v5 leaf carries one target.

Opsets
------
Use ``target_opset={'': 21, 'ai.onnx.ml': 5}`` (checked with skl2onnx 1.20,
onnx 1.23, onnxruntime 1.32; skl2onnx 1.20 is tested up to main opset 22,
onnxruntime 1.32 runs ai.onnx.ml 5 TreeEnsemble in double). ``target_opset``
must be a dict naming ``ai.onnx.ml >= 5`` and main opset ``>= 13``; otherwise
the converters raise :class:`UnsupportedStepError`. skl2onnx 1.20 refuses to
write ``ai.onnx.ml`` > 3 for versions it recorded itself, so the converter
stops it recording ``ai.onnx.ml`` for this one conversion (see
:class:`_MlOpsetFromTarget`); the model then imports ``ai.onnx.ml`` at the
requested version. The main opset written is the highest one the graph's
operators need (often 14..21), as skl2onnx always does.
Classifiers must be converted with ``options={id(clf): {'zipmap': False}}``
(ZipMap only accepts float32 probabilities).

Usage::

    convs, shapes = custom_converters()
    onx = skl2onnx.convert_sklearn(pipe, initial_types=[('X', DoubleTensorType([None, n]))],
                                   target_opset={'': 21, 'ai.onnx.ml': 5},
                                   options={id(clf): {'zipmap': False}},
                                   custom_conversion_functions=convs,
                                   custom_shape_calculators=shapes)

Nothing is registered globally; importing this module has no side effects.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

from mlexport.errors import ExportError, UnsupportedStepError

__all__ = ["TREE_CLASSES", "custom_converters"]

_SINGLE_TREES = (DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor)
_FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)
_GB = (GradientBoostingClassifier, GradientBoostingRegressor)
_HGB = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)

TREE_CLASSES: tuple[type, ...] = _SINGLE_TREES + _FORESTS + _GB + _HGB

_MIN_ML_OPSET = 5
_MIN_MAIN_OPSET = 13

# TreeEnsemble v5 node modes
_LEQ, _MEMBER = 0, 6

_FLOAT32 = np.float32
# Smallest double that float32 rounds to +inf: FLT_MAX + ulp/2 (a tie, and
# FLT_MAX has an odd significand, so the tie rounds up to inf).
_F32_OVERFLOW = float(2.0**128 - 2.0**103)


def _fail(est: Any, reason: str, hint: str = "") -> UnsupportedStepError:
    return UnsupportedStepError(path="", cls=type(est).__name__, reason=reason, hint=hint)


# --------------------------------------------------------------------------
# float32-cast-equivalent thresholds
# --------------------------------------------------------------------------


def _f32(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def f32_equivalent_thresholds(thresholds: np.ndarray) -> np.ndarray:
    """For each double ``t`` return the largest double ``t'`` such that
    ``float32(x) <= t  <=>  x <= t'`` for every non-NaN double ``x``."""
    t = np.asarray(thresholds, dtype=np.float64)
    if np.isnan(t).any():
        raise ExportError("a tree threshold is NaN")
    with np.errstate(over="ignore", invalid="ignore"):
        f = t.astype(_FLOAT32)
        # lo: the largest float32 <= t (may be -inf); hi: the next float32 above it
        lo = np.where(f.astype(np.float64) > t, np.nextafter(f, _FLOAT32(-np.inf)), f)
        hi = np.nextafter(lo, _FLOAT32(np.inf))
        lo64, hi64 = lo.astype(np.float64), hi.astype(np.float64)
        mid = np.where(
            np.isneginf(lo64),
            -_F32_OVERFLOW,
            np.where(np.isposinf(hi64), _F32_OVERFLOW, lo64 / 2 + hi64 / 2),
        )
    # a double exactly at ``mid`` rounds to even: keep it only if it rounds down
    out = np.where(_f32(mid) <= t, mid, np.nextafter(mid, -np.inf))
    out = np.where(np.isposinf(lo64), np.inf, out)  # t == +inf: every x goes left
    # prove it: x = out goes left, the next double up goes right
    ok_at = _f32(out) <= t
    nxt = np.nextafter(out, np.inf)
    ok_above = np.isposinf(out) | (_f32(nxt) > t)
    if not (ok_at.all() and ok_above.all()):  # pragma: no cover - arithmetic guard
        raise ExportError("internal error: float32-equivalent threshold check failed")
    return out


# --------------------------------------------------------------------------
# TreeEnsemble v5 builder
# --------------------------------------------------------------------------


class _Tree:
    """One binary tree in a runtime-neutral form (arrays indexed by node)."""

    __slots__ = ("is_leaf", "true_child", "false_child", "feature", "mode", "split", "members", "mvt")

    def __init__(self, is_leaf, true_child, false_child, feature, mode, split, members, mvt):
        self.is_leaf = np.asarray(is_leaf, dtype=bool)
        self.true_child = np.asarray(true_child, dtype=np.int64)
        self.false_child = np.asarray(false_child, dtype=np.int64)
        self.feature = np.asarray(feature, dtype=np.int64)
        self.mode = np.asarray(mode, dtype=np.int64)
        self.split = np.asarray(split, dtype=np.float64)
        self.members = members  # dict node -> sorted float array (BRANCH_MEMBER nodes)
        self.mvt = np.asarray(mvt, dtype=np.int64)


class _Ensemble:
    """Accumulates trees into the attribute lists of one TreeEnsemble node.

    Interior nodes are numbered in depth-first pre-order (node, true subtree,
    false subtree), tree after tree, so that ``membership_values`` are listed
    in index order *and* in the order the ONNX reference evaluator consumes them.
    """

    def __init__(self, n_targets: int) -> None:
        self.n_targets = n_targets
        self.feat: list[int] = []
        self.mode: list[int] = []
        self.split: list[float] = []
        self.true_id: list[int] = []
        self.false_id: list[int] = []
        self.true_leaf: list[int] = []
        self.false_leaf: list[int] = []
        self.mvt: list[int] = []
        self.members: list[float] = []
        self.leaf_target: list[int] = []
        self.leaf_weight: list[float] = []
        self.roots: list[int] = []

    def _leaf(self, target: int, weight: float) -> int:
        self.leaf_target.append(int(target))
        self.leaf_weight.append(float(weight))
        return len(self.leaf_weight) - 1

    def _node(self, feature: int, mode: int, split: float, mvt: int, members: np.ndarray | None) -> int:
        self.feat.append(int(feature))
        self.mode.append(int(mode))
        self.split.append(float(split))
        self.mvt.append(int(mvt))
        self.true_id.append(-1)
        self.false_id.append(-1)
        self.true_leaf.append(0)
        self.false_leaf.append(0)
        if mode == _MEMBER:
            assert members is not None and len(members) > 0
            self.members.extend(float(m) for m in members)
            self.members.append(float("nan"))
        return len(self.feat) - 1

    def add_constant(self, target: int, weight: float) -> None:
        """A tree that is a single leaf."""
        leaf = self._leaf(target, weight)
        idx = self._node(0, _LEQ, 0.0, 0, None)
        self.true_id[idx] = self.false_id[idx] = leaf
        self.true_leaf[idx] = self.false_leaf[idx] = 1
        self.roots.append(idx)

    def add_tree(self, tree: _Tree, leaf_values: np.ndarray, target: int) -> None:
        """Add ``tree`` whose leaf ``n`` contributes ``leaf_values[n]`` to ``target``."""
        if tree.is_leaf[0]:
            self.add_constant(target, leaf_values[0])
            return
        # stack of (sklearn node, parent index, branch) ; branch 1 = true, 0 = false
        stack: list[tuple[int, int, int]] = [(0, -1, 0)]
        first = True
        while stack:
            n, parent, branch = stack.pop()
            if tree.is_leaf[n]:
                ref, is_leaf = self._leaf(target, leaf_values[n]), 1
            else:
                ref = self._node(tree.feature[n], tree.mode[n], tree.split[n], tree.mvt[n], tree.members.get(int(n)))
                is_leaf = 0
                if first:
                    self.roots.append(ref)
                    first = False
                stack.append((int(tree.false_child[n]), ref, 0))
                stack.append((int(tree.true_child[n]), ref, 1))
            if parent >= 0:
                if branch:
                    self.true_id[parent], self.true_leaf[parent] = ref, is_leaf
                else:
                    self.false_id[parent], self.false_leaf[parent] = ref, is_leaf

    def emit(self, scope: Any, container: Any, x: str, name: str) -> str:
        from onnx import numpy_helper

        if not self.roots:  # no tree at all: sums are zero
            self.add_constant(0, 0.0)
        out = scope.get_unique_variable_name(name)
        attrs: dict[str, Any] = dict(
            n_targets=self.n_targets,
            aggregate_function=1,  # SUM
            post_transform=0,  # NONE
            tree_roots=self.roots,
            nodes_featureids=self.feat,
            nodes_modes=numpy_helper.from_array(np.asarray(self.mode, dtype=np.uint8)),
            nodes_splits=numpy_helper.from_array(np.asarray(self.split, dtype=np.float64)),
            nodes_truenodeids=self.true_id,
            nodes_falsenodeids=self.false_id,
            nodes_trueleafs=self.true_leaf,
            nodes_falseleafs=self.false_leaf,
            nodes_missing_value_tracks_true=self.mvt,
            leaf_targetids=self.leaf_target,
            leaf_weights=numpy_helper.from_array(np.asarray(self.leaf_weight, dtype=np.float64)),
        )
        if self.members:
            attrs["membership_values"] = numpy_helper.from_array(np.asarray(self.members, dtype=np.float64))
        container.add_node(
            "TreeEnsemble",
            [x],
            [out],
            op_domain="ai.onnx.ml",
            op_version=5,
            name=scope.get_unique_operator_name("TreeEnsemble"),
            **attrs,
        )
        if not isinstance(container.node_domain_version_pair_sets, _MlOpsetFromTarget):
            container.node_domain_version_pair_sets = _MlOpsetFromTarget(container.node_domain_version_pair_sets)
        return out


# --------------------------------------------------------------------------
# sklearn trees -> _Tree
# --------------------------------------------------------------------------


def _sklearn_tree(tree_: Any) -> _Tree:
    """sklearn ``Tree``: ``float32(x) <= threshold`` -> left, NaN by missing_go_to_left."""
    left = tree_.children_left
    is_leaf = left == -1
    thr = np.where(is_leaf, 0.0, tree_.threshold)
    split = f32_equivalent_thresholds(thr)
    mgl = np.asarray(tree_.missing_go_to_left, dtype=np.int64)
    return _Tree(
        is_leaf=is_leaf,
        true_child=left,
        false_child=tree_.children_right,
        feature=np.where(is_leaf, 0, tree_.feature),
        mode=np.full(len(left), _LEQ),
        split=np.where(is_leaf, 0.0, split),
        members={},
        mvt=np.where(is_leaf, 0, mgl),
    )


def _bitset_members(bitset: np.ndarray) -> np.ndarray:
    words = np.asarray(bitset, dtype=np.uint64)
    vals = np.arange(256)
    return vals[((words[vals >> 5] >> (vals & 31).astype(np.uint64)) & np.uint64(1)).astype(bool)]


def _hgb_tree(pred: Any, cat_info: dict[int, tuple[int, np.ndarray]]) -> _Tree:
    """HGB ``TreePredictor`` over the (possibly encoded) feature matrix.

    ``cat_info[f] = (sentinel, known_codes)`` for categorical feature ``f``:
    column ``f`` then holds codes ``0..sentinel-1`` or ``sentinel`` for
    missing/unknown values.
    """
    nodes = pred.nodes
    n = len(nodes)
    is_leaf = nodes["is_leaf"].astype(bool)
    true_child = nodes["left"].astype(np.int64).copy()
    false_child = nodes["right"].astype(np.int64).copy()
    feature = np.where(is_leaf, 0, nodes["feature_idx"]).astype(np.int64)
    mode = np.full(n, _LEQ)
    split = np.where(is_leaf, 0.0, nodes["num_threshold"]).astype(np.float64)
    mvt = np.where(is_leaf, 0, nodes["missing_go_to_left"]).astype(np.int64)
    members: dict[int, np.ndarray] = {}
    for i in np.flatnonzero(~is_leaf & nodes["is_categorical"].astype(bool)):
        f = int(nodes["feature_idx"][i])
        if f not in cat_info:
            raise ExportError(f"HistGradientBoosting node splits feature {f} as categorical but it is not")
        sentinel, known = cat_info[f]
        left_cats = set(_bitset_members(pred.raw_left_cat_bitsets[nodes["bitset_idx"][i]]).tolist())
        known_set = set(np.asarray(known).tolist())
        mgl = bool(nodes["missing_go_to_left"][i])
        # exactly _predict_one_from_raw_data on the finite universe of codes
        universe = np.arange(sentinel + 1)
        goes_left = np.array(
            [mgl if c == sentinel else (c in left_cats or (mgl and c not in known_set)) for c in universe]
        )
        left_set, right_set = universe[goes_left], universe[~goes_left]
        if len(left_set) and (len(left_set) <= len(right_set) or not len(right_set)):
            members[int(i)] = left_set.astype(np.float64)
        else:  # test membership in the right set, swap branches
            members[int(i)] = right_set.astype(np.float64)
            true_child[i], false_child[i] = false_child[i], true_child[i]
        mode[i] = _MEMBER
        split[i] = 0.0
        mvt[i] = 0  # codes are never NaN
    return _Tree(is_leaf, true_child, false_child, feature, mode, split, members, mvt)


# --------------------------------------------------------------------------
# small graph helpers
# --------------------------------------------------------------------------


class _G:
    """Thin helper around skl2onnx's scope/container."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope = scope
        self.container = container

    def const(self, name: str, value: Any, dtype: int | None = None) -> str:
        from onnx import TensorProto

        arr = np.asarray(value)
        if dtype is None:
            if arr.dtype.kind in "OUS":
                dtype = TensorProto.STRING
            elif arr.dtype.kind in "iub":
                dtype = TensorProto.INT64
            else:
                dtype = TensorProto.DOUBLE
        content: list[Any]
        if dtype == TensorProto.STRING:
            content = [str(v) for v in arr.ravel().tolist()]
        elif dtype == TensorProto.INT64:
            content = arr.astype(np.int64).ravel().tolist()
        else:
            content = arr.astype(np.float64).ravel().tolist()
        v = self.scope.get_unique_variable_name(name)
        self.container.add_initializer(v, dtype, list(arr.shape), content)
        return v

    def op(self, op_type: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        out = out or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(op_type, inputs, [out], name=self.scope.get_unique_operator_name(op_type), **attrs)
        return out


class _MlOpsetFromTarget(set):
    """Per-conversion replacement of the container's (domain, version) set that
    never records ``ai.onnx.ml``.

    skl2onnx 1.20 refuses to write ``ai.onnx.ml`` > 3 into a model it built
    from recorded node versions (``_update_domain_version``), but it copies
    every domain of a ``target_opset`` dict that no node recorded. Dropping the
    ``ai.onnx.ml`` records makes the model import ``ai.onnx.ml`` exactly at the
    requested version (>= 5, checked by :func:`_opset_check`). The ml operators
    older converters emit (Scaler, LabelEncoder, ...) keep their meaning under
    ml opset 5; only the float TreeEnsembleRegressor/Classifier are deprecated
    there, and this module replaces those. Nothing global is touched.
    """

    def __init__(self, pairs: Any = ()) -> None:
        super().__init__(p for p in pairs if p[0] != "ai.onnx.ml")

    def add(self, item: Any) -> None:
        if item[0] != "ai.onnx.ml":
            super().add(item)


def _opset_check(est: Any, container: Any) -> None:
    targets = container.target_opset_all
    ml = targets.get("ai.onnx.ml") if isinstance(targets, dict) else None
    main = container.target_opset_any_domain("")
    if ml is None or ml < _MIN_ML_OPSET or main is None or main < _MIN_MAIN_OPSET:
        raise _fail(
            est,
            f"needs ai.onnx.ml opset >= {_MIN_ML_OPSET} and main opset >= {_MIN_MAIN_OPSET} "
            f"(got ai.onnx.ml={ml}, main={main})",
            "convert with target_opset={'': 21, 'ai.onnx.ml': 5}",
        )


def _input_double(g: _G, operator: Any) -> str:
    """The operator's inputs as one double [N, F] tensor name."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int32TensorType,
        Int64TensorType,
    )

    names = []
    for v in operator.inputs:
        if isinstance(v.type, DoubleTensorType):
            names.append(v.full_name)
        elif isinstance(v.type, (FloatTensorType, Int64TensorType, Int32TensorType, BooleanTensorType)):
            names.append(g.op("Cast", [v.full_name], to=TensorProto.DOUBLE))
        else:
            raise _fail(operator.raw_operator, f"input {v.onnx_name!r} has unsupported type {v.type}", "feed numbers")
    if len(names) == 1:
        return names[0]
    return g.op("Concat", names, axis=1)


def _reduce(g: _G, op_type: str, x: str) -> str:
    """Reduce over axis 1 keeping dims (axes as attribute or input per opset)."""
    main = g.container.target_opset_any_domain("")
    if op_type == "ReduceSum" or main >= 18:
        axes = g.const("axes", np.array([1], dtype=np.int64))
        return g.op(op_type, [x, axes], keepdims=1)
    return g.op(op_type, [x], axes=[1], keepdims=1)


def _expit(g: _G, raw: str) -> str:
    """scipy.special.expit: 1 / (1 + exp(-x)) in double."""
    one = g.const("one", np.array([1.0]))
    e = g.op("Exp", [g.op("Neg", [raw])])
    return g.op("Div", [one, g.op("Add", [one, e])])


def _softmax(g: _G, raw: str, out: str) -> str:
    """sklearn.utils.extmath.softmax: exp(x - max) / sum(exp(x - max))."""
    m = _reduce(g, "ReduceMax", raw)
    e = g.op("Exp", [g.op("Sub", [raw, m])])
    s = _reduce(g, "ReduceSum", e)
    return g.op("Div", [e, s], out=out)


def _labels(g: _G, est: Any, index: str, out: str) -> None:
    """``classes_[index]`` with ``index`` int64 [N]."""
    from onnx import TensorProto

    classes = np.asarray(est.classes_)
    if classes.dtype.kind in "iub":
        cl = g.const("classes", classes.astype(np.int64), TensorProto.INT64)
    elif classes.dtype.kind == "f":
        cl = g.const("classes", classes.astype(np.int64), TensorProto.INT64)
    else:
        cl = g.const("classes", np.array([str(c) for c in classes], dtype=object), TensorProto.STRING)
    g.op("Gather", [cl, index], out=out, axis=0)


def _label_from_threshold(g: _G, est: Any, raw: str, out: str, strict: bool) -> None:
    """Binary: classes_[raw > 0] (HGB) or classes_[raw >= 0] (GB)."""
    from onnx import TensorProto

    zero = g.const("zero", np.array([0.0]))
    cmp = g.op("Greater" if strict else "GreaterOrEqual", [raw, zero])
    idx = g.op("Cast", [cmp], to=TensorProto.INT64)
    shape = g.const("shape", np.array([-1], dtype=np.int64))
    _labels(g, est, g.op("Reshape", [idx, shape]), out)


def _label_from_argmax(g: _G, est: Any, scores: str, out: str) -> None:
    idx = g.op("ArgMax", [scores], axis=1, keepdims=0)
    _labels(g, est, idx, out)


def _binary_proba(g: _G, p1: str, out: str) -> None:
    one = g.const("one", np.array([1.0]))
    p0 = g.op("Sub", [one, p1])
    g.op("Concat", [p0, p1], out=out, axis=1)


# --------------------------------------------------------------------------
# validation (shared by shape calculator and converter)
# --------------------------------------------------------------------------


def _classes_ok(est: Any) -> None:
    classes = getattr(est, "classes_", None)
    if isinstance(classes, list):
        raise _fail(est, "multi-output classification is not supported", "fit one classifier per target")
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise _fail(est, "multi-output classification is not supported", "fit one classifier per target")
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes) & (classes == np.round(classes))):
        raise _fail(est, "non-integer float class labels", "use integer or string class labels")
    if classes.dtype.kind not in "iubfOUS":
        raise _fail(est, f"class labels of dtype {classes.dtype}", "use integer or string class labels")
    if classes.dtype.kind == "O" and not all(isinstance(c, str) for c in classes):
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
            raise _fail(est, "class labels mix types", "use integer or string class labels")


def _gb_init_ok(est: Any) -> None:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = est.init
    if init is None or (isinstance(init, str) and init == "zero"):
        return
    if isinstance(init, (DummyClassifier, DummyRegressor)) and getattr(init, "strategy", None) != "stratified":
        return  # a constant prediction, computed exactly below
    raise _fail(
        est,
        f"init={type(init).__name__} (only the default init, 'zero' or a constant Dummy estimator converts exactly)",
        "refit with init=None",
    )


def _link_name(est: Any) -> str:
    return type(est._loss.link).__name__


def _validate(est: Any) -> None:
    if type(est) not in TREE_CLASSES:
        raise _fail(est, "not a supported tree model")
    if not hasattr(est, "n_features_in_"):
        raise _fail(est, "the estimator is not fitted", "fit it first")
    if isinstance(est, (DecisionTreeClassifier, ExtraTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)):
        if est.n_outputs_ != 1:
            raise _fail(est, "multi-output classification is not supported", "fit one classifier per target")
    if hasattr(est, "classes_"):
        _classes_ok(est)
    if isinstance(est, _GB):
        _gb_init_ok(est)
        if isinstance(est, GradientBoostingClassifier) and est.loss not in ("log_loss", "exponential"):
            raise _fail(est, f"loss={est.loss!r}", "use loss='log_loss' or 'exponential'")
        if isinstance(est, GradientBoostingRegressor) and est.loss not in (
            "squared_error",
            "absolute_error",
            "huber",
            "quantile",
        ):
            raise _fail(est, f"loss={est.loss!r}")
    if isinstance(est, _HGB):
        link = _link_name(est)
        allowed = (
            ("IdentityLink", "LogLink")
            if isinstance(est, HistGradientBoostingRegressor)
            else (
                "LogitLink",
                "MultinomialLogit",
            )
        )
        if link not in allowed:
            raise _fail(est, f"loss with link {link} is not supported", "use a built-in loss")
        _hgb_columns(est)  # raises for string categories / unexpected layout


# --------------------------------------------------------------------------
# HistGradientBoosting categorical preprocessing
# --------------------------------------------------------------------------


def _hgb_columns(est: Any) -> tuple[list[tuple[int, np.ndarray]], list[int], dict[int, tuple[int, np.ndarray]]] | None:
    """None if HGB has no categorical features; otherwise

    (cats, numeric_cols, cat_info): ``cats[j] = (original column, encoder
    categories kept as codes)`` for transformed column ``j``; numeric columns
    follow; ``cat_info`` as in :func:`_hgb_tree`.
    """
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        has_cat = any(
            bool(np.any(p.nodes["is_categorical"] & ~p.nodes["is_leaf"].astype(bool)))
            for it in est._predictors
            for p in it
        )
        if has_cat:
            raise _fail(est, "categorical splits without the internal preprocessor (unknown sklearn layout)")
        return None
    is_cat = np.asarray(est.is_categorical_, dtype=bool)
    cat_cols = np.flatnonzero(is_cat)
    num_cols = np.flatnonzero(~is_cat)
    oi = pre.output_indices_
    if (
        oi["encoder"] != slice(0, len(cat_cols))
        or oi["numerical"] != slice(len(cat_cols), len(cat_cols) + len(num_cols))
        or oi.get("remainder", slice(0, 0)).stop - oi.get("remainder", slice(0, 0)).start != 0
    ):
        raise _fail(est, "unexpected layout of the internal categorical preprocessor")
    enc = pre.named_transformers_["encoder"]
    known_bitsets, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    cats: list[tuple[int, np.ndarray]] = []
    cat_info: dict[int, tuple[int, np.ndarray]] = {}
    for j, (col, categories) in enumerate(zip(cat_cols, enc.categories_, strict=True)):
        try:
            values = np.asarray(categories, dtype=np.float64)
        except (TypeError, ValueError):
            raise _fail(
                est,
                f"categorical column {int(col)} has non-numeric categories",
                "encode categories as numbers before the model (the ONNX input is one float64 matrix)",
            ) from None
        if len(values) and np.isnan(values[-1]):
            values = values[:-1]  # missing: already routed as missing
        if np.isnan(values).any():
            raise _fail(est, f"categorical column {int(col)} has NaN among its categories")
        sentinel = len(values)
        if sentinel > 255:
            raise _fail(est, f"categorical column {int(col)} has more than 255 categories")
        known = _bitset_members(known_bitsets[f_idx_map[j]])
        cats.append((int(col), values))
        cat_info[j] = (sentinel, known[known < sentinel])
    return cats, [int(c) for c in num_cols], cat_info


def _hgb_features(g: _G, est: Any, x: str, layout: Any) -> str:
    """The feature matrix the HGB predictors see (encoded categoricals first)."""
    from onnx import TensorProto

    if layout is None:
        return x
    cats, num_cols, cat_info = layout
    pieces = []
    for j, (col, values) in enumerate(cats):
        sentinel, known = cat_info[j]
        # codes sklearn's predictor treats as known; others route like missing
        keep = np.isin(np.arange(len(values)), known)
        col_idx = g.const("col", np.array([col], dtype=np.int64))
        xc = g.op("Gather", [x, col_idx], axis=1)  # [N, 1]
        if not keep.any():  # every value routes like a missing one
            s = g.const("sentinel", np.array([float(sentinel)]))
            pieces.append(g.op("Where", [g.op("IsNaN", [xc]), s, s]))
            continue
        kept_vals = values[keep]
        kept_codes = np.arange(len(values))[keep].astype(np.float64)
        eq = g.op("Equal", [xc, g.const("cats", kept_vals.reshape(1, -1))])  # [N, k]
        eqd = g.op("Cast", [eq], to=TensorProto.DOUBLE)
        code = g.op("MatMul", [eqd, g.const("codes", kept_codes.reshape(-1, 1))])  # [N, 1]
        found = _reduce(g, "ReduceMax", eqd)
        half = g.const("half", np.array([0.5]))
        pieces.append(
            g.op("Where", [g.op("Greater", [found, half]), code, g.const("sentinel", np.array([float(sentinel)]))])
        )
    if num_cols:
        idx = g.const("numcols", np.array(num_cols, dtype=np.int64))
        pieces.append(g.op("Gather", [x, idx], axis=1))
    if len(pieces) == 1:
        return pieces[0]
    return g.op("Concat", pieces, axis=1)


# --------------------------------------------------------------------------
# converters
# --------------------------------------------------------------------------


def _is_classifier(est: Any) -> bool:
    return hasattr(est, "classes_")


def _n_targets(est: Any) -> int:
    if _is_classifier(est):
        return len(est.classes_)
    return int(getattr(est, "n_outputs_", 1))


def _add_sklearn_tree_targets(ens: _Ensemble, tree_: Any, values: np.ndarray) -> None:
    """values: [n_nodes, K] leaf contributions; one replicate per non-zero target."""
    t = _sklearn_tree(tree_)
    for k in range(values.shape[1]):
        col = values[:, k]
        if not np.any(col[t.is_leaf] != 0.0):
            continue
        ens.add_tree(t, col, k)


def _convert_single_or_forest(g: _G, operator: Any, x: str) -> None:
    est = operator.raw_operator
    K = _n_targets(est)
    trees = [est] if isinstance(est, _SINGLE_TREES) else list(est.estimators_)
    ens = _Ensemble(K)
    for tr in trees:
        v = tr.tree_.value  # [n_nodes, n_outputs, max_n_classes]
        vals = v[:, 0, :K] if _is_classifier(est) else v[:, :, 0]
        _add_sklearn_tree_targets(ens, tr.tree_, np.asarray(vals, dtype=np.float64))
    s = ens.emit(g.scope, g.container, x, "tree_sum")
    if _is_classifier(est):
        proba_out = operator.outputs[1].full_name
        if isinstance(est, _FORESTS):
            proba = g.op("Div", [s, g.const("n_trees", np.array([float(len(trees))]))], out=proba_out)
        else:
            proba = g.op("Identity", [s], out=proba_out)
        _label_from_argmax(g, est, proba, operator.outputs[0].full_name)
    else:
        out = operator.outputs[0].full_name
        if isinstance(est, _FORESTS):
            g.op("Div", [s, g.const("n_trees", np.array([float(len(trees))]))], out=out)
        else:
            g.op("Identity", [s], out=out)


def _gb_init_raw(est: Any) -> np.ndarray:
    """The constant initial raw prediction, computed by sklearn's own code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x0 = np.zeros((1, est.n_features_in_), dtype=np.float32)
        raw = est._raw_predict_init(x0)
    return np.asarray(raw, dtype=np.float64).reshape(1, -1)


def _convert_gb(g: _G, operator: Any, x: str) -> None:
    est = operator.raw_operator
    K = est.estimators_.shape[1]
    ens = _Ensemble(K)
    lr = float(est.learning_rate)
    for stage in est.estimators_:
        for k, tr in enumerate(stage):
            vals = np.asarray(tr.tree_.value[:, 0, 0], dtype=np.float64)
            # sklearn adds ``scale * value`` per stage: the same double product
            ens.add_tree(_sklearn_tree(tr.tree_), lr * vals, k)
    s = ens.emit(g.scope, g.container, x, "tree_sum")
    raw = g.op("Add", [s, g.const("init_raw", _gb_init_raw(est))])
    _finish_boosting(g, operator, est, raw, strict_binary=False)


def _convert_hgb(g: _G, operator: Any, x: str) -> None:
    est = operator.raw_operator
    layout = _hgb_columns(est)
    cat_info = layout[2] if layout is not None else {}
    xt = _hgb_features(g, est, x, layout)
    K = int(est.n_trees_per_iteration_)
    ens = _Ensemble(K)
    for it in est._predictors:
        for k, pred in enumerate(it):
            vals = np.asarray(pred.nodes["value"], dtype=np.float64)
            ens.add_tree(_hgb_tree(pred, cat_info), vals, k)
    s = ens.emit(g.scope, g.container, xt, "tree_sum")
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(1, -1)
    raw = g.op("Add", [s, g.const("baseline", base)])
    _finish_boosting(g, operator, est, raw, strict_binary=True)


def _finish_boosting(g: _G, operator: Any, est: Any, raw: str, strict_binary: bool) -> None:
    if not _is_classifier(est):
        out = operator.outputs[0].full_name
        if isinstance(est, HistGradientBoostingRegressor) and _link_name(est) == "LogLink":
            g.op("Exp", [raw], out=out)
        else:
            g.op("Identity", [raw], out=out)
        return
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    if len(est.classes_) == 2:
        z = raw
        if isinstance(est, GradientBoostingClassifier) and est.loss == "exponential":
            z = g.op("Mul", [raw, g.const("two", np.array([2.0]))])  # HalfLogitLink: expit(2 raw)
        _binary_proba(g, _expit(g, z), proba)
        _label_from_threshold(g, est, raw, label, strict=strict_binary)
    else:
        _softmax(g, raw, proba)
        _label_from_argmax(g, est, raw, label)


def _check_options(est: Any, container: Any) -> None:
    if not _is_classifier(est):
        return
    opts = container.get_options(est, dict(zipmap=True), fail=False) or {}
    if opts.get("zipmap", True) is not False:
        raise _fail(
            est,
            "ZipMap needs float32 probabilities but this converter emits float64",
            "convert with options={id(model): {'zipmap': False}}",
        )
    for k in ("raw_scores", "decision_path", "decision_leaf", "nocl"):
        if opts.get(k):
            raise _fail(est, f"option {k!r} is not supported by mlexport's tree converter")


def _convert(scope: Any, operator: Any, container: Any) -> None:
    est = operator.raw_operator
    _validate(est)
    _opset_check(est, container)
    _check_options(est, container)
    g = _G(scope, container)
    x = _input_double(g, operator)
    if isinstance(est, _SINGLE_TREES + _FORESTS):
        _convert_single_or_forest(g, operator, x)
    elif isinstance(est, _GB):
        _convert_gb(g, operator, x)
    else:
        _convert_hgb(g, operator, x)


def _shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType, StringTensorType

    est = operator.raw_operator
    _validate(est)
    widths = [v.type.shape[1] if len(getattr(v.type, "shape", []) or []) == 2 else None for v in operator.inputs]
    if all(isinstance(w, int) for w in widths):
        total = sum(int(w) for w in widths if w is not None)
        if total != est.n_features_in_:
            raise _fail(est, f"the input has {total} columns but the model expects {est.n_features_in_}")
    n = operator.inputs[0].get_first_dimension()
    if _is_classifier(est):
        if len(operator.outputs) != 2:
            raise _fail(est, f"expected 2 outputs (label, probabilities), got {len(operator.outputs)}")
        kind = np.asarray(est.classes_).dtype.kind
        is_int = kind in "iubf" or (kind == "O" and not isinstance(est.classes_[0], str))
        operator.outputs[0].type = Int64TensorType([n]) if is_int else StringTensorType([n])
        operator.outputs[1].type = DoubleTensorType([n, len(est.classes_)])
    else:
        operator.outputs[0].type = DoubleTensorType([n, _n_targets(est)])


def custom_converters() -> tuple[dict, dict]:
    """(custom_conversion_functions, custom_shape_calculators) to pass as
    ``skl2onnx.convert_sklearn(..., custom_conversion_functions=...,
    custom_shape_calculators=...)``."""
    return {cls: _convert for cls in TREE_CLASSES}, {cls: _shape for cls in TREE_CLASSES}
