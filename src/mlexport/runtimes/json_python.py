"""``json-python``: the reference scorer of the JSON format, in-process.

It is the executable specification (``mlexport.jsonfmt.score``): numpy and
pandas only, always available. The Go and Java scorers are checked against
the same documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class JsonPythonRuntime:
    name = "json-python"
    format = "json"

    def available(self) -> str | None:
        return None

    def load(self, artifact: Path | str) -> Any:
        from ..jsonfmt.score import load

        return load(Path(artifact))

    def describe(self, artifact: Path | str) -> dict[str, Any]:
        """Inputs and outputs of a document, for ``mlexport inspect``."""
        s = self.load(artifact)
        inputs = [
            {"name": n, "type": k if used else f"{k} (unused)", "shape": ["N"]}
            for (n, k), used in zip(s.inputs, s.used)
        ]
        if s.task == "regression":
            m = s.model.n_outputs
            outputs = [{"name": "value", "type": "float64", "shape": ["N"] if m == 1 else ["N", m]}]
        else:
            kinds = {type(c).__name__ for c in s.classes}
            outputs = [{"name": "label", "type": "/".join(sorted(kinds)), "shape": ["N"]}]
            if s.output.proba is not None:
                outputs.append({"name": "proba", "type": "float64", "shape": ["N", len(s.classes)]})
        s.close()
        return {"inputs": inputs, "outputs": outputs, "format_version": s.format_version}


RUNTIME = JsonPythonRuntime()
