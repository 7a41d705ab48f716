"""JSON plug-ins: a registered transformer class becomes format-v1 transform nodes.

The contract (see :mod:`mlexport.plugins`): ``converter(est, *, path, n_in)``
receives a copy of the fitted object, its step path and the number of columns
it receives, and returns one transform node (a ``dict``) or a list of them
(applied in order, written as a ``pipeline`` node). Nodes use only the node
types of ``SPEC.md`` §6, so every scorer already reads them; ``path`` and
``class`` default to the step's.

Each node is checked here the way the exporter's own are: against
``schema.json`` (``$defs/transform``), by the reference scorer's load-time
checks (fields agree with ``n_in`` / ``n_out``, numbers are numbers), and for
width: the first node takes ``n_in`` columns and each next one what the
previous gives. Parity then verifies the numbers in every scorer.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from ..errors import BadInputError, MissingDependencyError, MlexportError

HINT = "fix the converter registered with mlexport.plugins.register('json', ...) (see jsonfmt/SPEC.md §6)"


class PluginStepError(Exception):
    def __init__(self, reason: str, hint: str = HINT) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@lru_cache(maxsize=1)
def _transform_validator() -> Any:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a test dependency
        raise MissingDependencyError("jsonschema is not installed: pip install jsonschema") from None
    from . import schema

    return jsonschema.Draft202012Validator({"$ref": "#/$defs/transform", "$defs": schema()["$defs"]})


def _plain(obj: Any) -> Any:
    """numpy arrays and scalars as JSON values; non-finite numbers spelled as the format wants."""
    import math

    import numpy as np

    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if obj != obj else ("Infinity" if obj > 0 else "-Infinity")
    return obj


def _check_schema(node: dict[str, Any], where: str) -> None:
    try:
        validator = _transform_validator()
    except MissingDependencyError:
        return  # the whole document is validated (or noted as not validated) at export
    from . import schema

    kind = node.get("type")
    if isinstance(kind, str) and {"$ref": f"#/$defs/{kind}"} in schema()["$defs"]["transform"]["oneOf"]:
        # against the node type's own definition: a precise message instead of "not valid under any"
        validator = validator.evolve(schema={"$ref": f"#/$defs/{kind}", "$defs": schema()["$defs"]})
    elif kind is not None:
        raise PluginStepError(f"{where} has type {kind!r}, not a transform node type of the JSON format")
    errors = sorted(validator.iter_errors(node), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        at = "/".join(str(p) for p in err.absolute_path) or "<node>"
        raise PluginStepError(f"{where} does not match the JSON format's schema at '{at}': {err.message}")


def plugin_node(plugin: Any, est: Any, path: str, n_in: int | None) -> dict[str, Any]:
    """The checked transform node for ``est`` from its ``json`` plug-in (``PluginStepError`` if not usable)."""
    from .score import _compile_transform

    cls = type(est).__name__
    if n_in is None:
        n = getattr(est, "n_features_in_", None)
        n_in = int(n) if n is not None else None
    if n_in is None:
        raise PluginStepError("cannot tell how many columns it takes", "fit it, or give it n_features_in_")
    try:
        result = plugin.converter(copy.deepcopy(est), path=path, n_in=int(n_in))
    except MlexportError:
        raise
    except Exception as e:  # noqa: BLE001 - a user's converter failing is reported on its step
        raise PluginStepError(f"the json plug-in converter failed ({type(e).__name__}: {e})") from None
    nodes = [result] if isinstance(result, dict) else list(result) if isinstance(result, (list, tuple)) else None
    if not nodes or not all(isinstance(n, dict) for n in nodes):
        raise PluginStepError(
            f"the json plug-in converter must return a transform node (dict) or a non-empty list of them. "
            f"Got {type(result).__name__} instead")
    checked: list[dict[str, Any]] = []
    width = int(n_in)
    for k, raw in enumerate(nodes):
        node = _plain(raw)
        node.setdefault("path", path)
        node.setdefault("class", cls)
        where = "the plug-in's node" if len(nodes) == 1 else f"the plug-in's node {k}"
        _check_schema(node, where)
        if node["n_in"] != width:
            raise PluginStepError(f"{where} takes {node['n_in']} columns but receives {width}")
        try:
            _compile_transform(copy.deepcopy(node), path)
        except BadInputError as e:
            raise PluginStepError(f"{where} is not a valid transform node: {e}") from None
        width = int(node["n_out"])
        checked.append(node)
    if len(checked) == 1:
        return checked[0]
    return {"type": "pipeline", "path": path, "class": cls, "n_in": int(n_in), "n_out": width, "steps": checked}
