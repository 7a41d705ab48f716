"""Converters for your own estimator classes.

A custom estimator class is unsupported by every format until you register a
converter for it, per format. ``check`` then reports the step as supported,
``export`` converts it, and parity verifies the result in every runtime of the
format like everything else::

    import mlexport.plugins as plugins

    plugins.register("onnx", MyScaler, converter=onnx_converter, shape_calculator=onnx_shape)
    plugins.register("pmml", MyScaler, converter=pmml_replacement)
    plugins.register("json", MyScaler, converter=json_steps)

What a converter is depends on the format:

``onnx``
    A skl2onnx converter ``converter(scope, operator, container)`` and shape
    calculator ``shape_calculator(operator)`` (float64 tensors in and out; see
    ``mlexport/exporters/onnx_ops.py`` for examples), passed to skl2onnx's
    ``convert_sklearn`` for the registered class.

``pmml``
    ``converter(obj) -> replacement``: receives a copy of the fitted object and
    returns a *fitted* object with the same behaviour that JPMML-SkLearn
    converts: a scikit-learn estimator or transformer (e.g. a ``RobustScaler``
    whose ``center_`` / ``scale_`` you set), a ``Pipeline`` of them, or an
    sklearn2pmml construct (``ExpressionTransformer``, ...). The replacement is
    substituted into a copy of the model before conversion; a
    ``FunctionTransformer`` inside it is translated like any other (exact
    DerivedFields). ``check`` calls the converter and checks statically that
    JPMML-SkLearn has a converter for every part of the replacement.

``json``
    ``converter(obj, *, path, n_in) -> node | [node, ...]``: receives a copy of
    the fitted object, its step path and the number of columns it receives,
    and returns one transform node of the JSON format v1 (``jsonfmt/SPEC.md``
    §6: ``center_scale``, ``multiply_add``, ``impute``, ``expression``, ...) or
    a list of them applied in order. numpy arrays are accepted for number
    lists; ``path`` and ``class`` default to the step's. Each node is checked
    against ``schema.json`` and the reference scorer's load-time rules, and its
    widths must chain from ``n_in``. Only transformers: a registered final
    estimator is refused for ``json``.

Registration is per process and by exact class (a subclass must register on
its own); registering a class twice for one format is refused unless
``replace=True``. A registered class takes precedence over mlexport's own
handling of that class in that format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadInputError


@dataclass(frozen=True)
class Plugin:
    cls: type
    fmt: str
    converter: Callable[..., Any]
    shape_calculator: Callable[..., Any] | None = None


_REGISTRY: dict[tuple[str, type], Plugin] = {}
PLUGIN_FORMATS = ("onnx", "pmml", "json")


def register(fmt: str, cls: type, *, converter: Callable[..., Any], shape_calculator: Callable[..., Any] | None = None,
             replace: bool = False) -> Plugin:
    from .exporters import EXPORTERS

    if fmt not in EXPORTERS:
        raise BadInputError(f"format must be one of {', '.join(EXPORTERS)}. Got '{fmt}' instead.")
    if fmt not in PLUGIN_FORMATS:
        raise BadInputError(f"plug-ins are consulted for {', '.join(PLUGIN_FORMATS)} so far, not {fmt}.")
    if not isinstance(cls, type):
        raise BadInputError(f"cls must be a class. Got {cls!r} instead.")
    if not callable(converter):
        raise BadInputError(f"converter must be callable. Got {converter!r} instead.")
    if fmt == "onnx" and shape_calculator is None:
        raise BadInputError("an onnx plug-in needs a shape_calculator as well as a converter.")
    if fmt != "onnx" and shape_calculator is not None:
        raise BadInputError(f"only onnx plug-ins take a shape_calculator, not {fmt}.")
    key = (fmt, cls)
    if key in _REGISTRY and not replace:
        raise BadInputError(f"{cls.__name__} already has a {fmt} converter; pass replace=True to replace it.")
    plugin = Plugin(cls, fmt, converter, shape_calculator)
    _REGISTRY[key] = plugin
    return plugin


def unregister(fmt: str, cls: type) -> None:
    _REGISTRY.pop((fmt, cls), None)


def for_format(fmt: str) -> dict[type, Plugin]:
    return {cls: p for (f, cls), p in _REGISTRY.items() if f == fmt}


def get(fmt: str, cls: type) -> Plugin | None:
    return _REGISTRY.get((fmt, cls))
