"""The ``json`` format: mlexport's own versioned coefficients document.

The document (``mlexport.jsonfmt``, specified in ``jsonfmt/SPEC.md``) carries
the whole fitted pipeline as numbers so that Go and Java services score it
with no ML library. ``assess`` runs the same conversion as ``export`` in a
collecting mode, so ``check`` and ``export`` can never disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ExportError, MissingDependencyError, MlexportError
from ..model import LoadedModel
from ..plan import Verdict
from ..steps import flatten_steps


class JsonExporter:
    name = "json"
    suffix = ".json"
    runtimes = ("json-python", "json-go", "json-java")

    def assess(self, model: LoadedModel) -> list[Verdict]:
        from ..jsonfmt.export import problems

        steps = flatten_steps(model.estimator)
        try:
            found = problems(model)
        except MlexportError:
            raise
        except Exception as e:  # noqa: BLE001 - a converter bug must not crash `check`
            last = steps[-1] if steps else None
            path = last.path if last else type(model.estimator).__name__.lower()
            cls = last.cls if last else type(model.estimator).__name__
            return [Verdict(s.path, s.cls, "supported") for s in steps[:-1]] + [
                Verdict(path, cls, "unsupported", f"the JSON exporter failed: {type(e).__name__}: {e}",
                        "report this as an mlexport bug")
            ]
        by_path: dict[str, list[Any]] = {}
        for p in found:
            by_path.setdefault(p.path, []).append(p)
        verdicts = []
        for s in steps:
            hits = by_path.pop(s.path, [])
            if hits:
                verdicts.append(Verdict(s.path, s.cls, "unsupported", "; ".join(h.reason for h in hits), hits[0].hint))
            else:
                verdicts.append(Verdict(s.path, s.cls, "supported"))
        for hits in by_path.values():  # problems inside a step (e.g. HistGradientBoosting's own preprocessor)
            for h in hits:
                verdicts.append(Verdict(h.path, h.cls, "unsupported", h.reason, h.hint))
        return verdicts

    def export(self, model: LoadedModel, out: Path, sample: Any = None) -> dict[str, Any]:
        import sklearn

        from .. import jsonfmt
        from ..jsonfmt.export import build, dumps

        try:
            doc, _problems, notes = build(model)
        except MlexportError:
            raise
        except Exception as e:  # noqa: BLE001
            raise ExportError(f"json: export failed: {type(e).__name__}: {e}") from e
        assert doc is not None
        try:
            jsonfmt.validate(doc)
        except MissingDependencyError:
            notes.append("jsonschema is not installed: the document was not validated against schema.json")
        except MlexportError as e:
            raise ExportError(f"json: the exported document is invalid ({e}); this is an mlexport bug") from e
        text = dumps(doc)
        Path(out).write_text(text, encoding="ascii")
        output = doc["output"]
        outputs = ["label", "proba"] if output.get("proba") else ["label"]
        if output["kind"] == "regressor":
            outputs = ["value"]
        return {
            "format": self.name,
            "format_version": doc["format_version"],
            "converter": "mlexport.jsonfmt",
            "versions": {"scikit-learn": sklearn.__version__, "mlexport-json": doc["format_version"]},
            "inputs": doc["inputs"],
            "outputs": outputs,
            "classes": output.get("classes"),
            "size_bytes": len(text),
            "notes": list(notes),
        }


EXPORTER = JsonExporter()
