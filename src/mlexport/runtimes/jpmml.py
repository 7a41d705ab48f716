"""JPMML-Evaluator runtime, in the JVM that mlexport shares with the converter.

Scoring goes through ``PmmlBatchScorer`` (``scorers/PmmlBatchScorer.java``,
compiled once by :mod:`mlexport.jvm`): Python hands whole columns to Java
(``double[]`` / ``String[]``) and gets ``int[]`` labels and ``double[]``
probabilities or values back, one call per batch. Rows are scored in parallel
chunks on the JVM's common pool. Loading replays the PMML's embedded
``ModelVerification`` rows, so a file that no longer scores like the model that
wrote it fails at load time.

JPMML-Evaluator is AGPL-3.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MissingDependencyError, RuntimeFailure
from ..outputs import Outputs


class JpmmlScorer:
    """``verify=False`` skips replaying the embedded verification rows at load time
    (to score a file anyway and let a parity report show where it differs)."""

    def __init__(self, artifact: Path, verify: bool = True) -> None:
        import jpype

        from .. import jvm
        from ..exporters.pmml import scorable_interface

        self.artifact = Path(artifact)
        self.interface = scorable_interface(self.artifact, "jpmml")
        self.signature = self.interface.signature
        self.task = self.interface.task
        self.classes = self.interface.classes
        Scorer = jvm.helper_class("PmmlBatchScorer")
        try:
            self._java: Any = Scorer(str(self.artifact.absolute()), bool(verify))
        except jpype.JException as e:
            raise RuntimeFailure(f"jpmml: cannot load {self.artifact}: {jvm.java_message(e)}") from None
        self._has_proba = bool(self._java.hasProbabilities())
        self._jpype = jpype

    def predict(self, X: pd.DataFrame) -> Outputs:
        from ..exporters.pmml import label_array, prepare_inputs

        jpype = self._jpype
        iface = self.interface
        n = len(X)
        num_names, num, str_names, strs = prepare_inputs(iface, X)
        JString = jpype.JString
        flat_num = np.ascontiguousarray(num.T).ravel()
        flat_str: list[str | None] = [v for col in strs for v in col]
        try:
            batch = self._java.score(
                jpype.JArray(JString)(num_names),
                jpype.JArray(jpype.JDouble)(flat_num),
                jpype.JArray(JString)(str_names),
                jpype.JArray(JString)(flat_str),
                n,
            )
        except jpype.JException as e:
            from .. import jvm

            raise RuntimeFailure(f"jpmml: scoring failed: {jvm.java_message(e)}") from None
        if int(batch.errorRow) >= 0:
            raise RuntimeFailure(f"jpmml: row {int(batch.errorRow)} could not be scored: {batch.error}")
        width = int(batch.width)
        values = np.array(batch.values, dtype=np.float64).reshape(n, width) if width else None
        if iface.function == "classification":
            assert iface.classes is not None
            labels = label_array(iface.classes, np.array(batch.labels, dtype=np.int64))
            return Outputs(label=labels, proba=values if self._has_proba else None, classes=iface.classes)
        return Outputs(value=values[:, 0] if values is not None else np.full(n, np.nan))

    def close(self) -> None:
        self._java = None


class JpmmlRuntime:
    name = "jpmml"
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
            jvm.helper_classes()
        except MissingDependencyError as e:
            return str(e)
        return None

    def load(self, artifact: Path, *, verify: bool = True) -> JpmmlScorer:
        return JpmmlScorer(Path(artifact), verify=verify)

    def describe(self, artifact: Path) -> dict[str, Any]:
        from ..exporters.pmml import describe

        return describe(artifact)


RUNTIME = JpmmlRuntime()
