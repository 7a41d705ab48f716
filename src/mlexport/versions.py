"""The versions mlexport is tested with, and a clear refusal outside them.

Ranges are half-open ``[low, high)`` on release numbers. Bump them only after
the parity suite passes on the new version (see README, "Supported versions").
"""

from __future__ import annotations

from importlib import metadata

from .errors import MissingDependencyError, VersionError

# package -> (lowest supported, first unsupported, extra that installs it, why the bound)
SUPPORTED: dict[str, tuple[str, str, str, str]] = {
    "scikit-learn": ("1.9.0", "1.9.1", "", "sklearn2pmml 0.133.1 refuses newer scikit-learn"),
    "numpy": ("1.26", "3", "", ""),
    "skl2onnx": ("1.20.0", "1.21", "onnx", "custom float64 converters target skl2onnx 1.20's converter API"),
    "onnx": ("1.17", "2", "onnx", ""),
    "onnxruntime": ("1.20", "2", "onnx", "needs ai.onnx.ml opset 5 TreeEnsemble"),
    "protobuf": ("3.20", "7", "onnx", "skl2onnx 1.20.0 breaks with protobuf 7 on HistGradientBoosting"),
    "sklearn2pmml": ("0.133.1", "0.133.2", "pmml", "its converter jars are driven directly"),
    "jpmml_evaluator": ("0.16.0", "0.17", "pmml", ""),
    "pypmml": ("1.5", "1.6", "pmml", "mlexport's PMML4S scorer is compiled against the PMML4S 1.5 API in its jars"),
    "JPype1": ("1.5", "2", "pmml", ""),
}

FORMAT_PACKAGES: dict[str, tuple[str, ...]] = {
    "": ("scikit-learn", "numpy"),
    "onnx": ("skl2onnx", "onnx", "onnxruntime", "protobuf"),
    "onnxruntime": ("onnxruntime", "onnx", "protobuf"),
    "pmml": ("sklearn2pmml", "JPype1"),
    "jpmml": ("jpmml_evaluator", "JPype1"),
    "pmml4s": ("pypmml", "JPype1"),
    "json": (),
    "json-python": (),
    "json-go": (),
    "json-java": (),
}


def _release(v: str) -> tuple[int, ...]:
    parts = []
    for p in v.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if not p.isdigit():
            break
    return tuple(parts)


def installed(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def check_package(package: str) -> None:
    low, high, extra, why = SUPPORTED[package]
    v = installed(package)
    hint = f"pip install 'mlexport[{extra}]'" if extra else f"pip install '{package}>={low},<{high}'"
    if v is None:
        raise MissingDependencyError(f"{package} is not installed ({hint}).")
    if not (_release(low) <= _release(v) < _release(high)):
        because = f": {why}" if why else ""
        raise VersionError(
            f"{package} must be >={low},<{high} for mlexport. Got {v} instead{because} "
            f"(pip install '{package}>={low},<{high}')."
        )


def check_for(key: str) -> None:
    """Refuse clearly when a package needed for a format or runtime is out of range."""
    for pkg in FORMAT_PACKAGES.get("", ()) + FORMAT_PACKAGES.get(key, ()):
        check_package(pkg)


def report() -> dict[str, str | None]:
    return {pkg: installed(pkg) for pkg in SUPPORTED}
