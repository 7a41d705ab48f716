"""Flattening a (nested) pipeline into steps with stable paths.

A path joins the names sklearn gives each step: ``pre/num/simpleimputer`` is
the SimpleImputer inside the ``num`` transformer of the ``pre``
ColumnTransformer. A bare estimator's path is its lower-cased class name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BadInputError


@dataclass(frozen=True)
class Step:
    path: str
    estimator: Any  # an estimator, or the strings 'passthrough' / 'drop'
    container: str  # "", "pipeline", "columntransformer", "featureunion"

    @property
    def cls(self) -> str:
        if isinstance(self.estimator, str):
            return self.estimator
        if self.estimator is None:
            return "passthrough"
        return type(self.estimator).__name__

    @property
    def is_composite(self) -> bool:
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import FeatureUnion, Pipeline

        return isinstance(self.estimator, (Pipeline, ColumnTransformer, FeatureUnion))


def flatten_steps(est: Any, prefix: str = "") -> list[Step]:
    """Every step, composites first then their children, in pipeline order."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    def join(name: str) -> str:
        return f"{prefix}/{name}" if prefix else name

    out: list[Step] = []
    if isinstance(est, Pipeline):
        if prefix:
            out.append(Step(prefix, est, "pipeline"))
        for name, sub in est.steps:
            if sub is None or isinstance(sub, str):
                out.append(Step(join(name), sub if sub is not None else "passthrough", "pipeline"))
            else:
                out.extend(flatten_steps(sub, join(name)) or [Step(join(name), sub, "pipeline")])
        return out
    if isinstance(est, ColumnTransformer):
        path = prefix or "columntransformer"
        out.append(Step(path, est, "columntransformer"))
        transformers = getattr(est, "transformers_", est.transformers)
        for name, sub, _cols in transformers:
            sub_path = f"{path}/{name}"
            if isinstance(sub, str):
                out.append(Step(sub_path, sub, "columntransformer"))
            else:
                out.extend(flatten_steps(sub, sub_path))
        return out
    if isinstance(est, FeatureUnion):
        path = prefix or "featureunion"
        out.append(Step(path, est, "featureunion"))
        for name, sub in est.transformer_list:
            sub_path = f"{path}/{name}"
            if isinstance(sub, str):
                out.append(Step(sub_path, sub, "featureunion"))
            else:
                out.extend(flatten_steps(sub, sub_path))
        return out
    if not hasattr(est, "get_params"):
        raise BadInputError(f"step '{prefix}': must be a scikit-learn estimator. Got {type(est).__name__} instead.")
    return [Step(prefix or type(est).__name__.lower(), est, "")]


def leaf_steps(est: Any) -> list[Step]:
    """Only the steps that compute something (no composites)."""
    return [s for s in flatten_steps(est) if not s.is_composite]


def final_estimator(est: Any) -> Any:
    from sklearn.pipeline import Pipeline

    while isinstance(est, Pipeline):
        est = est.steps[-1][1]
    return est
