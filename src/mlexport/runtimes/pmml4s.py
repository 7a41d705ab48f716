"""PMML4S runtime (pypmml): a second, independent PMML evaluator.

pypmml starts its own JVM in a child process and talks to it through Py4J
over a local socket (nothing leaves the machine); mlexport's in-process JVM
is not involved. A batch crosses as one JSON document in ``split`` layout,
written with Python's shortest round-trip float repr and read back with
Python's exact float parser (pypmml's own DataFrame path rounds numbers to
10 decimals on the way in).

Two PMML4S deviations from the PMML spec are bridged so that it scores
sklearn's trees like JPMML does (both measured on this stack):

* it treats ``dataType="float"`` fields as doubles, so a value equal to a
  float32 split threshold could fall on the wrong side (45 of 442 diabetes
  rows for a 20-tree forest): see :func:`_float_field_values`;
* it misreads the ``value="INF"`` of "missing vs present" splits: the
  exporter writes the largest finite double there instead
  (:func:`mlexport.exporters.pmml.portable_infinity`).

Why two evaluators: JPMML-Evaluator returned 0.0 probabilities for a
CalibratedClassifierCV where PMML4S was right; an export must score the same
in both. PMML4S and pypmml are Apache-2.0.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RuntimeFailure
from ..outputs import Outputs


class Pmml4sScorer:
    def __init__(self, artifact: Path) -> None:
        from ..exporters.pmml import scorable_interface

        self.artifact = Path(artifact)
        self.interface = scorable_interface(self.artifact, "pmml4s")
        self.signature = self.interface.signature
        self.task = self.interface.task
        self.classes = self.interface.classes
        from pypmml import Model

        try:
            self._model: Any = Model.fromFile(str(self.artifact.absolute()))
            self._model.setSupplementOutput(True)
            # final probability outputs (a model chain declares them on its last segment)
            self._proba_fields: dict[Any, str] = {}
            if self.interface.classes is not None:
                for field in self._model.outputFields:
                    if str(field.feature) == "probability" and field.value is not None:
                        key = _class_value(field.value, self.interface.target_type)
                        self._proba_fields.setdefault(key, str(field.name))
        except Exception as e:  # PMMLError / Py4J errors carry the Java message
            raise RuntimeFailure(f"pmml4s: cannot load {self.artifact}: {_message(e)}") from None
        # PMML4S reads dataType="float" fields and their split thresholds as doubles, where
        # JPMML and sklearn's trees compare float32 values. See _float_field_values.
        self._float_fields = {f.name for f in self.interface.inputs if f.data_type == "float"}

    def predict(self, X: pd.DataFrame) -> Outputs:
        from ..exporters.pmml import label_array, prepare_inputs

        iface = self.interface
        n = len(X)
        num_names, num, str_names, strs = prepare_inputs(iface, X)
        columns = num_names + str_names
        if self._float_fields:
            num = num.copy()
            for j, name in enumerate(num_names):
                if name in self._float_fields:
                    num[:, j] = _float_field_values(num[:, j])
        num_obj = num.astype(object)
        num_obj[np.isnan(num)] = None
        cols: list[list[Any]] = [num_obj[:, j].tolist() for j in range(num.shape[1])] + strs
        rows = [list(r) for r in zip(*cols)] if cols else [[] for _ in range(n)]
        payload = json.dumps({"columns": columns, "data": rows}, allow_nan=False)
        try:
            result = json.loads(self._model.call("predict", payload))
        except Exception as e:
            raise RuntimeFailure(f"pmml4s: scoring failed: {_message(e)}") from None
        out_cols: list[str] = result["columns"]
        data = result["data"]
        if len(data) != n:
            raise RuntimeFailure(f"pmml4s: returned {len(data)} rows for {n} input rows.")
        where = {c: i for i, c in enumerate(out_cols)}

        def column(name: str) -> list[Any]:
            j = where[name]
            return [row[j] for row in data]

        predicted = f"predicted_{iface.target}"
        if iface.function == "classification":
            assert iface.classes is not None and iface.class_values is not None
            proba = None
            found = [self._proba_fields.get(c) for c in iface.classes]
            prob_fields = [f for f in found if f is not None and f in where]
            if prob_fields and len(prob_fields) == len(found):
                proba = np.array(
                    [[np.nan if v is None else float(v) for v in column(f)] for f in prob_fields], dtype=np.float64
                ).T.reshape(n, len(prob_fields))
            by_value = {c: i for i, c in enumerate(iface.classes)}
            index = np.full(n, -1, dtype=np.int64)
            if predicted in where:
                raw = column(predicted)
                for i, v in enumerate(raw):
                    if v is None:
                        continue
                    index[i] = by_value.get(_class_value(v, iface.target_type), -1)
            elif proba is not None:
                ok = ~np.isnan(proba).any(axis=1)
                index[ok] = np.argmax(proba[ok], axis=1)
            if proba is not None:
                # PMML4S fills an unscored row's label with Long.MIN_VALUE: trust only scored rows
                index[np.isnan(proba).any(axis=1)] = -1
            return Outputs(label=label_array(iface.classes, index), proba=proba, classes=iface.classes)
        if predicted not in where:
            raise RuntimeFailure(f"pmml4s: no '{predicted}' in its output columns {out_cols}.")
        value = np.array([np.nan if v is None else float(v) for v in column(predicted)], dtype=np.float64)
        return Outputs(value=value)

    def close(self) -> None:
        self._model = None


def _float_field_values(x: np.ndarray) -> np.ndarray:
    """Values for a dataType="float" field, as PMML4S must see them to compare like float32.

    PMML says a float field's value is rounded to float32 first; PMML4S keeps the double,
    and parses each split threshold (the float32 ``t`` written as decimal text) as a
    double somewhere inside ``t``'s float32 rounding interval. Sending, for each value,
    the *lowest double that rounds to the same float32* ``v`` keeps every comparison
    ``v <= t`` / ``v > t`` as in float32: values below ``t`` stay below its whole
    interval, values above stay above it, and ``v == t`` lands at or under the parsed
    threshold. Arithmetic on the field moves by less than half a float32 ulp.
    """
    v = x.astype(np.float32)
    prev = np.nextafter(v, np.float32(-np.inf)).astype(np.float64)
    mid = (prev + v.astype(np.float64)) / 2.0  # exact: float32 values have 24-bit mantissas
    low = np.nextafter(mid, np.inf)
    out = np.where(np.isfinite(v) & np.isfinite(prev), low, v.astype(np.float64))
    return out


def _class_value(v: Any, data_type: str) -> Any:
    """A label as PMML4S returns it (JSON), typed like the DataDictionary's classes."""
    try:
        if data_type == "integer":
            return int(v)
        if data_type in ("double", "float"):
            return float(v)
        if data_type == "boolean":
            return v if isinstance(v, bool) else str(v).strip().lower() == "true"
    except (TypeError, ValueError):
        return None
    return str(v)


def _message(e: BaseException) -> str:
    java = getattr(e, "java_exception", None)
    if java is not None:
        try:
            return str(java.getMessage())
        except Exception:
            pass
    text = " ".join(str(a) for a in e.args) if e.args else str(e)
    return " ".join(text.split())[:500]


class Pmml4sRuntime:
    name = "pmml4s"
    format = "pmml"
    # JPMML-SkLearn writes labels (and probabilities where sklearn has them)
    # as PMML's final results; raw decision values stay internal to the model
    omits = {"decision": "PMML output carries labels, not decision values"}

    def available(self) -> str | None:
        try:
            import py4j  # noqa: F401
            import pypmml  # noqa: F401
        except ImportError:
            return "pmml4s needs pypmml: pip install 'mlexport[pmml]'."
        from .. import jvm

        try:
            jvm.find_java()
        except Exception as e:
            return str(e)
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            return f"pmml4s starts 'java' from PATH or JAVA_HOME: install {jvm.JAVA_INSTALL_HINT}."
        return None

    def load(self, artifact: Path) -> Pmml4sScorer:
        return Pmml4sScorer(Path(artifact))

    def describe(self, artifact: Path) -> dict[str, Any]:
        from ..exporters.pmml import describe

        return describe(artifact)


RUNTIME = Pmml4sRuntime()
