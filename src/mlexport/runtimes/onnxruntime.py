"""The ``onnxruntime`` runtime: scores ``.onnx`` artifacts written by mlexport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadInputError, MissingDependencyError, RuntimeFailure
from ..model import Signature
from ..outputs import Outputs


class OnnxScorer:
    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        try:
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RuntimeFailure(f"{path}: onnxruntime cannot load it ({first}).") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "mlexport.signature" not in meta:
            raise BadInputError(f"{path}: not an mlexport ONNX artifact (no mlexport.signature metadata).")
        self.path = path
        self.signature = Signature.from_dict(json.loads(meta["mlexport.signature"]))
        self.task = meta.get("mlexport.task", "regression")
        classes = json.loads(meta.get("mlexport.classes", "null"))
        self.classes = tuple(classes) if classes is not None else None
        self.layout = meta.get("mlexport.layout", "matrix")
        self.output_names = [o.name for o in self.session.get_outputs()]

    def feeds(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.layout == "matrix":
            return {"X": X[self.signature.names].to_numpy(dtype=np.float64)}
        feeds: dict[str, np.ndarray] = {}
        for c in self.signature.columns:
            col = X[c.name]
            if c.kind == "number":
                feeds[c.name] = col.to_numpy(dtype=np.float64).reshape(-1, 1)
            else:
                arr = col.to_numpy(dtype=object)
                missing = pd.isna(arr)
                arr = np.where(missing, "", arr.astype(str))
                feeds[c.name] = arr.astype(object).reshape(-1, 1)
        return feeds

    def predict(self, X: pd.DataFrame) -> Outputs:
        try:
            results = self.session.run(None, self.feeds(X))
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RuntimeFailure(f"{self.path}: onnxruntime failed to score ({first}).") from None
        got = dict(zip(self.output_names, results))
        if self.task == "classification":
            label = got.get("label")
            proba = got.get("probabilities")
            if label is not None:
                label = np.asarray(label).ravel()
                if self.classes is not None and label.dtype.kind in "iu" and all(isinstance(c, bool) for c in self.classes):
                    label = label.astype(bool)
            if proba is not None:
                proba = np.asarray(proba, dtype=np.float64)
            decision = got.get("scores")
            if decision is not None:
                decision = np.asarray(decision, dtype=np.float64)
            return Outputs(label=label, proba=proba, classes=self.classes, decision=decision)
        value = got.get("value")
        if value is not None:
            value = np.asarray(value, dtype=np.float64)
            if value.ndim == 2 and value.shape[1] == 1:
                value = value[:, 0]
        return Outputs(value=value)

    def close(self) -> None:
        self.session = None


class OnnxRuntime:
    name = "onnxruntime"
    format = "onnx"

    def available(self) -> str | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed (pip install 'mlexport[onnx]')"
        return None

    def load(self, artifact: Path) -> OnnxScorer:
        reason = self.available()
        if reason:
            raise MissingDependencyError(reason)
        return OnnxScorer(Path(artifact))

    def describe(self, artifact: Path) -> dict[str, Any]:
        s = self.load(artifact)
        return {
            "inputs": [{"name": i.name, "type": i.type, "shape": i.shape} for i in s.session.get_inputs()],
            "outputs": [{"name": o.name, "type": o.type, "shape": o.shape} for o in s.session.get_outputs()],
        }


RUNTIME = OnnxRuntime()
