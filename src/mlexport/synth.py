"""Verification rows synthesized from a fitted model, for when no data is given.

Base rows are drawn from what the fitted steps recorded about each input column
(scaler and imputer statistics, encoder categories, tree thresholds). Probe
blocks then target where formats disagree: every tree threshold and its
float64 / float32 neighbours, NaN per numeric column, missing and unseen
categories per string column, and extreme values. A probe block is kept only if
scikit-learn itself predicts on it (e.g. NaN only where the model accepts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .model import LoadedModel, column_consumers

UNSEEN = "__mlexport_unseen__"
MAX_THRESHOLD_PROBES = 400


@dataclass(frozen=True)
class Synthesized:
    frame: pd.DataFrame
    summary: str


def _numeric_stats(step: Any, j: int) -> tuple[float, float] | None:
    """(centre, spread) of input column j of ``step`` from its fitted attributes."""
    for centre_attr, spread_attr in (("mean_", "scale_"), ("center_", "scale_")):
        c, s = getattr(step, centre_attr, None), getattr(step, spread_attr, None)
        if c is not None and s is not None and np.ndim(c) == 1 and j < len(c):
            return float(c[j]), float(abs(s[j])) or 1.0
    lo, hi = getattr(step, "data_min_", None), getattr(step, "data_max_", None)
    if lo is not None and hi is not None and j < len(lo):
        return (float(lo[j]) + float(hi[j])) / 2, (float(hi[j]) - float(lo[j])) / 4 or 1.0
    stats = getattr(step, "statistics_", None)
    if stats is not None and j < len(stats):
        try:
            v = float(stats[j])
        except (TypeError, ValueError):
            return None
        if np.isfinite(v):
            return v, abs(v) / 2 or 1.0
    mean = getattr(step, "mean_", None)  # PCA
    if mean is not None and j < len(mean):
        return float(mean[j]), 1.0
    return None


def _tree_thresholds(est: Any) -> dict[int, np.ndarray]:
    """Feature index -> split thresholds, for tree models that see raw inputs."""
    from .steps import final_estimator

    final = final_estimator(est)
    trees: list[Any] = []
    if hasattr(final, "tree_"):
        trees = [final]
    elif hasattr(final, "estimators_"):
        trees = [t for t in np.ravel(np.asarray(final.estimators_, dtype=object)) if hasattr(t, "tree_")]
    out: dict[int, list[float]] = {}
    for t in trees:
        tr = t.tree_
        for f, th in zip(tr.feature, tr.threshold):
            if f >= 0:
                out.setdefault(int(f), []).append(float(th))
    predictors = getattr(final, "_predictors", None)
    if predictors:
        for per_iter in predictors:
            for p in per_iter:
                nodes = p.nodes
                for node in nodes[nodes["is_leaf"] == 0]:
                    if not node["is_categorical"]:
                        out.setdefault(int(node["feature_idx"]), []).append(float(node["num_threshold"]))
    return {f: np.unique(np.asarray(v)) for f, v in out.items()}


def synthesize(model: LoadedModel, n_base: int = 200, seed: int = 0) -> Synthesized:
    rng = np.random.default_rng(seed)
    sig = model.signature
    consumers = column_consumers(model.estimator, sig.names)
    thresholds = _tree_thresholds(model.estimator) if _tree_sees_inputs(model) else {}
    base: dict[str, np.ndarray] = {}
    categories: dict[str, list[str]] = {}
    for i, col in enumerate(sig.columns):
        step_j = consumers.get(col.name)
        if col.kind == "number":
            stats = _numeric_stats(*step_j) if step_j else None
            if i in thresholds and thresholds[i].size:
                lo, hi = thresholds[i].min(), thresholds[i].max()
                span = (hi - lo) or 1.0
                base[col.name] = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, n_base)
            elif stats:
                base[col.name] = rng.normal(stats[0], stats[1], n_base)
            else:
                base[col.name] = rng.normal(0.0, 1.0, n_base)
        else:
            cats: list[str] = []
            if step_j:
                step, j = step_j
                cat_list = getattr(step, "categories_", None)
                if cat_list is not None and j < len(cat_list):
                    cats = [c for c in cat_list[j] if isinstance(c, str)]
                stats = getattr(step, "statistics_", None)
                if not cats and stats is not None and j < len(stats) and isinstance(stats[j], str):
                    cats = [stats[j]]
            cats = cats or ["a", "b"]
            categories[col.name] = cats
            base[col.name] = rng.choice(np.asarray(cats, dtype=object), n_base)
    frame = _rows_sklearn_accepts(model, pd.DataFrame(base))
    blocks: list[tuple[str, pd.DataFrame]] = []

    def variant(col: str, values: np.ndarray) -> pd.DataFrame:
        rows = frame.iloc[np.arange(len(values)) % len(frame)].reset_index(drop=True).copy()
        rows[col] = values
        return rows

    probes = 0
    for f, ths in thresholds.items():
        if f >= len(sig.columns) or probes >= MAX_THRESHOLD_PROBES:
            continue
        vals = []
        for th in ths[: max(1, (MAX_THRESHOLD_PROBES - probes) // 6)]:
            f32 = np.float32(th)
            vals += [th, np.nextafter(th, -np.inf), np.nextafter(th, np.inf), float(f32),
                     float(np.nextafter(f32, np.float32(-np.inf))), float(np.nextafter(f32, np.float32(np.inf)))]
        probes += len(vals)
        blocks.append((f"thresholds of {sig.columns[f].name}", variant(sig.columns[f].name, np.asarray(vals))))
    for col in sig.columns:
        if col.kind == "number":
            blocks.append((f"NaN in {col.name}", variant(col.name, np.full(10, np.nan))))
            centre = float(np.nanmean(frame[col.name])) if len(frame) else 0.0
            spread = float(np.nanstd(frame[col.name])) or 1.0
            blocks.append((f"extremes of {col.name}", variant(col.name, np.array([centre + 1e3 * spread, centre - 1e3 * spread, 0.0, -0.0]))))
        else:
            blocks.append((f"missing {col.name}", variant(col.name, np.full(10, np.nan, dtype=object))))
            blocks.append((f"unseen category in {col.name}", variant(col.name, np.full(5, UNSEEN, dtype=object))))
    accepted = _accepted_blocks(model, blocks)
    kept = [("base", frame)] + [(label, b) for (label, b), ok in zip(blocks, accepted) if ok]
    dropped = [label for (label, _), ok in zip(blocks, accepted) if not ok]
    out = _typed(pd.concat([b for _, b in kept], ignore_index=True), model)
    summary = f"{len(out)} rows synthesized from the fitted model: {len(frame)} base rows"
    if len(kept) > 1:
        summary += "; probes: " + ", ".join(label for label, _ in kept[1:])
    if dropped:
        summary += "; scikit-learn refuses: " + ", ".join(dropped)
    return Synthesized(out, summary)


def _accepted_blocks(model: LoadedModel, blocks: list[tuple[str, pd.DataFrame]]) -> list[bool]:
    """Which probe blocks scikit-learn predicts on: all at once when it can,
    halving the group on failure, so a model that accepts everything costs
    one predict call."""
    from .parity import native_outputs

    def ok(group: list[int]) -> bool:
        try:
            native_outputs(model, _typed(pd.concat([blocks[i][1] for i in group], ignore_index=True), model))
            return True
        except Exception:
            return False

    verdict = [False] * len(blocks)

    def solve(group: list[int]) -> None:
        if not group:
            return
        if ok(group):
            for i in group:
                verdict[i] = True
        elif len(group) > 1:
            mid = len(group) // 2
            solve(group[:mid])
            solve(group[mid:])

    solve(list(range(len(blocks))))
    return verdict


def _rows_sklearn_accepts(model: LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The base rows scikit-learn predicts on (e.g. log1p steps refuse x < -1)."""
    from .errors import BadInputError

    groups = [(str(i), frame.iloc[i : i + 10]) for i in range(0, len(frame), 10)]
    ok = _accepted_blocks(model, groups)
    kept = [g for (_, g), good in zip(groups, ok) if good]
    if not kept:
        abs_frame = frame.apply(lambda c: c.abs() if c.dtype.kind == "f" else c)
        if abs_frame is not frame and all(_accepted_blocks(model, [("abs", abs_frame)])):
            return abs_frame
        raise BadInputError(f"{model.source}: could not synthesize rows scikit-learn accepts; pass --data with real rows.")
    return pd.concat(kept, ignore_index=True)


def _typed(frame: pd.DataFrame, model: LoadedModel) -> pd.DataFrame:
    from .data import conform

    return conform(frame, model.signature, source="synthesized rows")


def _tree_sees_inputs(model: LoadedModel) -> bool:
    """True when the final tree model's feature i is input column i."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    est = model.estimator
    if not model.signature.all_numeric:
        return False
    if isinstance(est, Pipeline):
        for _n, s in est.steps[:-1]:
            if s is None or s == "passthrough":
                continue
            if isinstance(s, SimpleImputer) and not s.add_indicator and not np.isnan(np.asarray(s.statistics_, float)).any():
                continue
            return False
    return True
