"""PMML4S runtime: a second, independent PMML evaluator.

PMML4S (the Scala library inside the installed ``pypmml`` package) runs in the
JVM mlexport already shares with the converter and JPMML, in a class loader of
its own (:func:`mlexport.jvm.pmml4s_class`: pypmml's jars, never mixed with
JPMML's). ``runtimes/scorers/Pmml4sBatchScorer.java``, compiled once against
those jars, takes whole columns (``double[]`` / ``String[]``), gives each row
to PMML4S's ``Model.predict`` and returns whole output columns: exact doubles
both ways, no JSON, no second JVM. pypmml's own path starts a Java process of
its own, talks to it through Py4J and rounds numbers to 10 decimals in its JSON;
through it, with full-precision JSON, 50,000 rows of the bench's linear pipeline
took 3.6 to 5.4 s, and loading started a second JVM (1 to 2 s).

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

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MissingDependencyError, RuntimeFailure
from ..outputs import Outputs


class Pmml4sScorer:
    def __init__(self, artifact: Path) -> None:
        import jpype

        from .. import jvm
        from ..exporters.pmml import scorable_interface

        self.artifact = Path(artifact)
        self.interface = scorable_interface(self.artifact, "pmml4s")
        self.signature = self.interface.signature
        self.task = self.interface.task
        self.classes = self.interface.classes
        self._jpype = jpype
        Scorer = jvm.pmml4s_class("Pmml4sBatchScorer")
        try:
            self._java: Any = Scorer(str(self.artifact.absolute()))
            self._outputs = [str(o) for o in self._java.outputNames()]
            # final probability outputs (a model chain declares them on its last segment)
            self._proba_fields: dict[Any, str] = {}
            if self.interface.classes is not None:
                for name, value in zip(self._outputs, self._java.probabilityValues()):
                    if value is not None:
                        self._proba_fields.setdefault(_class_value(str(value), self.interface.target_type), name)
        except jpype.JException as e:
            raise RuntimeFailure(f"pmml4s: cannot load {self.artifact}: {jvm.java_message(e)}") from None
        # PMML4S reads dataType="float" fields and their split thresholds as doubles, where
        # JPMML and sklearn's trees compare float32 values. See _float_field_values.
        self._float_fields = {f.name for f in self.interface.inputs if f.data_type == "float"}

    def predict(self, X: pd.DataFrame) -> Outputs:
        from ..exporters.pmml import label_array, prepare_inputs

        jpype = self._jpype
        iface = self.interface
        n = len(X)
        if self._java is None:
            raise RuntimeFailure("pmml4s: scorer used after close()")
        num_names, num, str_names, strs = prepare_inputs(iface, X)
        if self._float_fields:
            num = num.copy()
            for j, name in enumerate(num_names):
                if name in self._float_fields:
                    num[:, j] = _float_field_values(num[:, j])
        JString = jpype.JString
        try:
            batch = self._java.score(
                jpype.JArray(JString)(num_names),
                jpype.JArray(jpype.JDouble)(np.ascontiguousarray(num.T).ravel()),
                jpype.JArray(JString)(str_names),
                jpype.JArray(JString)([v for col in strs for v in col]),
                n,
            )
        except jpype.JException as e:
            from .. import jvm

            raise RuntimeFailure(f"pmml4s: scoring failed: {jvm.java_message(e)}") from None
        if int(batch.errorRow) >= 0:
            raise RuntimeFailure(f"pmml4s: row {int(batch.errorRow)} could not be scored: {batch.error}")
        numbers = np.array(batch.numbers, dtype=np.float64).reshape(len(self._outputs), n)
        texts = batch.texts
        where = {c: i for i, c in enumerate(self._outputs)}

        def labels(name: str) -> list[Any]:
            """One output column as PMML4S gave it: text (integer or string labels) or a float."""
            j = where[name]
            col = [texts[j * n + r] for r in range(n)]
            return [float(numbers[j, r]) if v is None else str(v) for r, v in enumerate(col)]

        predicted = f"predicted_{iface.target}"
        if iface.function == "classification":
            assert iface.classes is not None and iface.class_values is not None
            proba = None
            found = [self._proba_fields.get(c) for c in iface.classes]
            prob_fields = [f for f in found if f is not None and f in where]
            if prob_fields and len(prob_fields) == len(found):
                proba = np.ascontiguousarray(numbers[[where[f] for f in prob_fields]].T)
            by_value = {c: i for i, c in enumerate(iface.classes)}
            index = np.full(n, -1, dtype=np.int64)
            if predicted in where:
                for i, v in enumerate(labels(predicted)):
                    if isinstance(v, float) and np.isnan(v):
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
            raise RuntimeFailure(f"pmml4s: no '{predicted}' in its output columns {self._outputs}.")
        return Outputs(value=numbers[where[predicted]].copy())

    def close(self) -> None:
        self._java = None


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


class Pmml4sRuntime:
    name = "pmml4s"
    format = "pmml"
    # JPMML-SkLearn writes labels (and probabilities where sklearn has them)
    # as PMML's final results; raw decision values stay internal to the model
    omits = {"decision": "PMML output carries labels, not decision values"}

    def available(self) -> str | None:
        from .. import jvm

        missing = jvm.java_available()
        if missing:
            return missing
        try:
            jvm.pmml4s_jars()
        except MissingDependencyError:
            return "pmml4s needs pypmml (its PMML4S jars): pip install 'mlexport[pmml]'."
        try:
            jvm.pmml4s_helpers()
        except MissingDependencyError as e:  # no javac for the one-time compilation
            return str(e)
        return None

    def load(self, artifact: Path) -> Pmml4sScorer:
        return Pmml4sScorer(Path(artifact))

    def describe(self, artifact: Path) -> dict[str, Any]:
        from ..exporters.pmml import describe

        return describe(artifact)


RUNTIME = Pmml4sRuntime()
