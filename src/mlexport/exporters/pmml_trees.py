"""The trees of a large forest, written by mlexport as JPMML-SkLearn writes them.

JPMML-SkLearn converts a forest node by node into PMML objects, runs a dozen
visitors over them and marshals them: 1.9 s of conversion and 0.6 s of writing
for a 500-tree forest of 200,000 nodes, most of a warm export. For the forests
listed in :data:`FORESTS`, mlexport instead

1. picks a *template* of a few trees that together split on every feature any
   tree splits on, twice where the forest does (see :func:`_template`), plus one
   tree of each kind the writer treats specially (a single leaf, an infinite
   "missing" split, a split the converter prunes);
2. has JPMML-SkLearn convert the pipeline with only those trees (the deep copy
   takes only them, so the user's estimator is untouched and the copy is cheap);
3. has ``PmmlTreeWriter`` (Java) learn from the converted template trees the
   name of every feature's field and the class labels, render those trees
   itself and compare them with the converter's text byte for byte, then write
   the document with all the trees in place of the template.

Any difference in step 3 and nothing is written: the export converts the whole
forest with JPMML-SkLearn instead, and its manifest says why (``tree_writer``).
Verification rows are computed by the full model either way, and the file is
loaded and replayed by JPMML-Evaluator and PMML4S like any other export.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Ensembles whose trees mlexport writes: the converter averages their trees' outputs.
FORESTS = frozenset({
    ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.ensemble._forest", "RandomForestRegressor"),
    ("sklearn.ensemble._forest", "ExtraTreesClassifier"),
    ("sklearn.ensemble._forest", "ExtraTreesRegressor"),
})

#: Below this many trees JPMML-SkLearn's own conversion takes a few tens of milliseconds.
MIN_TREES = 10

#: A template needing more trees than this (or than half the forest) is not worth it.
MAX_TEMPLATE = 24


@dataclass(frozen=True)
class ForestPlan:
    """Where the forest sits (``path``: attribute steps from the pipeline) and its template trees."""

    forest: Any
    path: tuple[int, ...]  # indexes into Pipeline.steps, outermost first; () when the estimator is the forest
    template: tuple[int, ...]

    @property
    def trees(self) -> int:
        return len(self.forest.estimators_)


def _find(estimator: Any) -> tuple[Any, tuple[int, ...]] | None:
    from sklearn.pipeline import Pipeline

    path: list[int] = []
    while isinstance(estimator, Pipeline) and estimator.steps:
        path.append(len(estimator.steps) - 1)
        estimator = estimator.steps[-1][1]
    if (type(estimator).__module__, type(estimator).__name__) in FORESTS:
        return estimator, tuple(path)
    return None


def _at(estimator: Any, path: tuple[int, ...]) -> Any:
    for index in path:
        estimator = estimator.steps[index][1]
    return estimator


def plan(estimator: Any) -> ForestPlan | None:
    """A plan for writing ``estimator``'s trees, or None when the converter should write them."""
    found = _find(estimator)
    if found is None:
        return None
    forest, path = found
    trees = list(getattr(forest, "estimators_", None) or [])
    if len(trees) < MIN_TREES or getattr(forest, "n_outputs_", 1) != 1:
        return None
    template = _template([t.tree_ for t in trees], classification=hasattr(forest, "classes_"))
    if template is None or len(template) > min(MAX_TEMPLATE, len(trees) // 2):
        return None
    return ForestPlan(forest, path, template)


def _template(trees: list[Any], classification: bool) -> tuple[int, ...] | None:
    """Trees that together split on every feature any tree splits on, each feature in two of
    them if two trees use it (greedily); plus the first tree of each special kind (single leaf,
    infinite split, a split the converter prunes).

    Two, because the converter moves a derived field that only one tree reads into that tree
    (DerivedFieldRelocator): with each feature in two template trees, the template document
    keeps at the top exactly the fields the whole forest's document keeps there, and a field
    only one tree of the forest reads is relocated into that tree, a template tree, whose
    converted text the writer then copies as it is."""
    uses = [set(np.unique(t.feature[t.feature >= 0]).tolist()) for t in trees]
    need = {f: min(2, c) for f, c in Counter(f for used in uses for f in used).items()}

    def gain(i: int) -> int:
        return sum(1 for f in uses[i] if need[f] > 0)

    chosen: list[int] = []
    candidates = set(range(len(trees)))
    best = 0  # tree 0 first, then the one covering most of what is still needed
    while True:
        chosen.append(best)
        candidates.discard(best)
        for f in uses[best]:
            need[f] = max(0, need[f] - 1)
        if not any(need.values()):
            break
        if len(chosen) >= MAX_TEMPLATE + 1:
            return None
        best = max(sorted(candidates), key=gain)
    for special in (_single_leaf, _infinite_split) + (() if classification else (_pruned_split,)):
        hit = next((i for i, t in enumerate(trees) if special(t)), None)
        if hit is not None and hit not in chosen:
            chosen.append(hit)
    return tuple(chosen)


def _single_leaf(tree: Any) -> bool:
    return int(tree.node_count) == 1


def _infinite_split(tree: Any) -> bool:
    return bool(np.isposinf(tree.threshold[tree.feature >= 0]).any())


def _pruned_split(tree: Any) -> bool:
    """A split whose children both have its own value (JPMML-SkLearn's pruner makes it a leaf)."""
    inner = np.flatnonzero(tree.feature >= 0)
    if not len(inner):
        return False
    value = tree.value[:, 0, 0]
    own = value[inner].view(np.int64)
    return bool(((value[tree.children_left[inner]].view(np.int64) == own)
                 & (value[tree.children_right[inner]].view(np.int64) == own)).any())


def forest_of(estimator: Any, fplan: ForestPlan) -> Any:
    """The forest inside ``estimator`` (a copy made by :func:`template_copy`)."""
    return _at(estimator, fplan.path)


def template_copy(estimator: Any, fplan: ForestPlan) -> Any:
    """A deep copy of ``estimator`` whose forest holds only the template trees (copying the
    others would be wasted: they are written from the user's own, read-only, arrays)."""
    import copy

    trees = fplan.forest.estimators_
    memo: dict[int, Any] = {id(trees): [copy.deepcopy(trees[i]) for i in fplan.template]}
    est = copy.deepcopy(estimator, memo)
    stub = _at(est, fplan.path)
    stub.n_estimators = len(fplan.template)
    return est


def java_forest(fplan: ForestPlan, default_child: bool) -> Any:
    """The forest's arrays, concatenated tree after tree, as ``PmmlTreeWriter.Forest``."""
    import jpype

    from .. import jvm

    trees = [t.tree_ for t in fplan.forest.estimators_]
    counts = np.array([t.node_count for t in trees], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    width = int(trees[0].value.shape[2])
    ints = jpype.JArray(jpype.JInt)
    missing = None
    if all(hasattr(t, "missing_go_to_left") for t in trees):
        missing = jpype.JArray(jpype.JByte)(np.concatenate([t.missing_go_to_left for t in trees]).astype(np.int8))
    Forest = jvm.jclass(f"{jvm.HELPER_PACKAGE}.PmmlTreeWriter$Forest")
    return Forest(
        ints(offsets),
        ints(np.concatenate([t.children_left for t in trees]).astype(np.int32)),
        ints(np.concatenate([t.children_right for t in trees]).astype(np.int32)),
        ints(np.concatenate([t.feature for t in trees]).astype(np.int32)),
        jpype.JArray(jpype.JDouble)(np.concatenate([t.threshold for t in trees]).astype(np.float64)),
        jpype.JArray(jpype.JDouble)(np.concatenate([t.value.reshape(t.node_count, -1) for t in trees]).ravel()),
        width,
        missing,
        hasattr(fplan.forest, "classes_"),
        bool(default_child),
    )


def default_child(forest_copy: Any) -> bool:
    """Whether the converter keeps sklearn's missing-value branches (``allow_missing`` on the
    inner trees, which also need scikit-learn's missing-value support)."""
    trees = getattr(forest_copy, "estimators_", None) or []
    if not trees:
        return False
    tree = trees[0]
    opts = getattr(tree, "pmml_options_", None) or getattr(forest_copy, "pmml_options_", None) or {}
    if not opts.get("allow_missing", False):
        return False
    try:
        return bool(tree.__sklearn_tags__().input_tags.allow_nan)
    except AttributeError:
        return True
