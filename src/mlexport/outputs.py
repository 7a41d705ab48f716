"""Normalized predictions: what every runtime returns and parity compares.

Whatever the format or runtime, predictions are reduced to the same three
arrays so that one comparison and one CSV layout serve them all:

* ``label``: shape ``(n,)``, classifier labels, same values as ``classes``;
* ``proba``: shape ``(n, k)``, float64, columns in ``classes`` order;
* ``value``: shape ``(n,)`` (or ``(n, t)`` for multi-output), float64, regressors;
* ``decision``: classifiers without ``predict_proba`` only (LinearSVC, SGD with
  hinge loss, RidgeClassifier, SVC without probabilities): scikit-learn's
  ``decision_function``, shape ``(n,)`` for two classes, else ``(n, k)`` in
  ``classes`` order.

An output a runtime cannot produce is ``None``; parity reports it as missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTPUT_NAMES = ("label", "proba", "value", "decision")


@dataclass(frozen=True)
class Outputs:
    label: np.ndarray | None = None
    proba: np.ndarray | None = None
    value: np.ndarray | None = None
    classes: tuple[object, ...] | None = None
    decision: np.ndarray | None = None

    def present(self) -> dict[str, np.ndarray]:
        return {n: getattr(self, n) for n in OUTPUT_NAMES if getattr(self, n) is not None}

    def to_frame(self) -> pd.DataFrame:
        """The ``score`` CSV layout: label, proba_<class>... (or decision /
        decision_<class>...), value."""
        cols: dict[str, object] = {}
        if self.label is not None:
            cols["label"] = self.label
        if self.proba is not None:
            classes = self.classes if self.classes is not None else range(self.proba.shape[1])
            for j, c in enumerate(classes):
                cols[f"proba_{c}"] = self.proba[:, j]
        if self.decision is not None:
            d = np.asarray(self.decision)
            if d.ndim == 1:
                cols["decision"] = d
            else:
                # one column per class; SVC(decision_function_shape='ovo') has one per pair
                names = self.classes if self.classes is not None and len(self.classes) == d.shape[1] else range(d.shape[1])
                for j, c in enumerate(names):
                    cols[f"decision_{c}"] = d[:, j]
        if self.value is not None:
            v = np.asarray(self.value)
            if v.ndim == 1:
                cols["value"] = v
            else:
                for j in range(v.shape[1]):
                    cols[f"value_{j}"] = v[:, j]
        return pd.DataFrame(cols)

    def take(self, rows: slice | np.ndarray) -> Outputs:
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return Outputs(cut(self.label), cut(self.proba), cut(self.value), self.classes, cut(self.decision))


def concat(parts: list[Outputs]) -> Outputs:
    """Join chunked outputs back into one (all parts share the same fields)."""
    if not parts:
        return Outputs()
    first = parts[0]

    def cat(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        if arrays[0] is None:
            return None
        return np.concatenate(arrays, axis=0)

    return Outputs(cat("label"), cat("proba"), cat("value"), first.classes, cat("decision"))
