"""mlexport: ship a fitted scikit-learn pipeline to ONNX, PMML or JSON, with proof of parity.

Public API::

    import mlexport
    model = mlexport.load_model("model.joblib")
    plans = mlexport.check(model)                       # per step, per format
    res = mlexport.export(model, "onnx", data="sample.csv")
    res.parity.passed
    mlexport.verify(model, "model.onnx", data="holdout.csv")
    mlexport.score("model.onnx", "new.csv", out="preds.csv")
    mlexport.inspect("model.onnx")
"""

__version__ = "0.1.0"

from .api import ExportResult, check, export, inspect, score, verify  # noqa: E402
from .errors import MlexportError  # noqa: E402
from .model import LoadedModel, load_model  # noqa: E402
from .outputs import Outputs  # noqa: E402
from .parity import ParityResult  # noqa: E402

__all__ = [
    "__version__",
    "ExportResult",
    "LoadedModel",
    "MlexportError",
    "Outputs",
    "ParityResult",
    "check",
    "export",
    "inspect",
    "load_model",
    "score",
    "verify",
]
