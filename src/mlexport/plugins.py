"""Converters for your own estimator classes.

A custom estimator class is unsupported by every format until you register a
converter for it, per format. ``check`` and ``export`` then treat it like a
built-in step, and parity verifies it like everything else::

    import mlexport.plugins as plugins

    def my_shape(operator): ...                  # skl2onnx shape calculator
    def my_converter(scope, operator, container): ...   # skl2onnx converter

    plugins.register("onnx", MyScaler, converter=my_converter, shape_calculator=my_shape)

What a converter is depends on the format. So far the ONNX exporter consults
plug-ins: a skl2onnx converter and shape calculator (float64 tensors in and
out; see ``mlexport/exporters/onnx_ops.py`` for examples). Registering for
``pmml`` or ``json`` is refused until those exporters consult plug-ins too.

Registration is per process and by exact class (a subclass must register on
its own); registering a class twice for one format is refused unless
``replace=True``.
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
PLUGIN_FORMATS = ("onnx",)


def register(fmt: str, cls: type, *, converter: Callable[..., Any], shape_calculator: Callable[..., Any] | None = None,
             replace: bool = False) -> Plugin:
    from .exporters import EXPORTERS

    if fmt not in EXPORTERS:
        raise BadInputError(f"format must be one of {', '.join(EXPORTERS)}. Got '{fmt}' instead.")
    if fmt not in PLUGIN_FORMATS:
        raise BadInputError(f"plug-ins are consulted for {', '.join(PLUGIN_FORMATS)} so far, not {fmt}.")
    if not isinstance(cls, type):
        raise BadInputError(f"cls must be a class. Got {cls!r} instead.")
    if fmt == "onnx" and shape_calculator is None:
        raise BadInputError("an onnx plug-in needs a shape_calculator as well as a converter.")
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
