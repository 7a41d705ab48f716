"""PMML exporter: JPMML-SkLearn (the converter inside sklearn2pmml), called in-process.

How a model becomes PMML here, and why not through ``sklearn2pmml.sklearn2pmml()``:
that wrapper starts a JVM per call (1.4 to 6 s), reports failures to the
vendor over the network and refuses to run 360 days after its build. Instead:

1. the fitted estimator is deep-copied (the user's object is never touched);
   in the copy, an instance of a class with a ``pmml`` plug-in is replaced by
   what its converter returns (:mod:`mlexport.plugins`) and a translated
   ``FunctionTransformer`` by a placeholder (:mod:`.pmml_expr`); each step is
   tagged with its mlexport step path, and the copy is escaped the way
   sklearn2pmml does it (``_escape``: records sklearn tags, wraps selectors);
2. the copy is wrapped, without refitting, in sklearn2pmml's ``PMMLPipeline``
   with ``active_fields`` (the input columns) and ``target_fields`` set, as
   ``make_pmml_pipeline`` does; tree models get the ``allow_missing`` option so
   that a NaN follows sklearn's learned missing-value branch instead of giving
   no prediction;
3. up to :data:`VERIFICATION_ROWS` rows of the sample (evenly spread over it)
   are scored by sklearn and embedded as PMML ``ModelVerification``, which
   JPMML-Evaluator replays when it loads the file (tolerance
   :data:`VERIFICATION_RTOL` / :data:`VERIFICATION_ATOL`, mlexport's parity
   defaults); the cap keeps the file small, full-sample parity is checked
   separately by ``verify``;
4. the pipeline is pickled in memory (:func:`_pickle_for_converter`: plain
   pickle protocol 4, arrays in C order; ten times faster to write and to read
   back than a joblib pickle) and JPMML-SkLearn's own classes
   (``SkLearnUnpickler`` -> ``EncodableUtil`` -> ``MetroJAXBSerializer``, what
   ``com.sklearn2pmml.Main`` runs) convert it in the process's JVM
   (:mod:`mlexport.jvm`);
5. the document is serialized, each function placeholder is replaced by its
   exact DerivedFields (:func:`.pmml_expr.splice`), and its ``value="INF"``
   split thresholds are written as the largest finite double
   (:func:`portable_infinity`: same meaning, and PMML4S can read it). Without
   placeholders, Java marshals it straight into the file and rewrites those
   thresholds on the way (``PmmlFileWriter``): a 30 MB document never crosses
   into Python.

A converter failure becomes :class:`UnsupportedStepError` naming the step path
(found through the tag on the failing object), class, converter reason and
solution; no Java stack trace reaches the user.

Licences: JPMML-SkLearn, JPMML-Evaluator and sklearn2pmml are AGPL-3.0; the
PMML files they produce are not covered by it.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import re
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ExportError, MissingDependencyError, UnsupportedStepError, VersionError
from ..model import Column, LoadedModel, Signature
from ..plan import Verdict
from ..steps import Step, flatten_steps

FORMAT = "pmml"
VERIFICATION_ROWS = 1000
VERIFICATION_RTOL = 1e-6
VERIFICATION_ATOL = 1e-6
PATH_ATTR = "_mlexport_path"
SIGNATURE_EXTENSION = "mlexport.signature"  # Header Extension: the model's input signature, as JSON

# sklearn2pmml version -> newest scikit-learn its converter accepts (sklearn.Step.checkSkLearnVersion)
SKLEARN_MAX = {"0.133.1": "1.9.0"}

# Converted without complaint, but known not to score like scikit-learn.
MISSCORES: dict[str, tuple[str, str]] = {
    "QuantileTransformer": (
        "JPMML-SkLearn's quantile interpolation differs from scikit-learn's (outputs off by ~1e-5; "
        "JPMML-Evaluator's embedded verification rejects the file)",
        "use another scaler, or export to ONNX / JSON",
    ),
    "GaussianNB": (
        "PMML multiplies per-feature densities that underflow for rows far from the training data: "
        "probabilities become NaN where scikit-learn (log space) is exact",
        "export to ONNX / JSON",
    ),
    "MultinomialNB": (
        "PMML4S returns no probabilities for the converted NaiveBayesModel (JPMML-Evaluator is exact)",
        "export to ONNX / JSON",
    ),
    "KNeighborsClassifier": (
        "the PMML carries no class probabilities, and PMML4S fails on its NearestNeighborModel",
        "export to ONNX / JSON",
    ),
    "CalibratedClassifierCV": (
        "JPMML-Evaluator returns 0.0 probabilities for the calibrated model where PMML4S and scikit-learn "
        "do not (verification rejects the file); with a Pipeline or LinearSVC inside, conversion fails",
        "export the base estimator, or use ONNX / JSON",
    ),
}

_FUNCTION_HINT = (
    "use a numpy function (e.g. numpy.log1p) as func, or express it with "
    "sklearn2pmml.preprocessing.ExpressionTransformer"
)


# --------------------------------------------------------------------------- versions


def _release(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("."):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
    return tuple(out)


def check_versions() -> dict[str, str]:
    """Installed sklearn2pmml and scikit-learn, or :class:`VersionError` if they do not go together."""
    import sklearn

    try:
        s2p = version("sklearn2pmml")
    except PackageNotFoundError:
        raise MissingDependencyError("PMML export needs sklearn2pmml: pip install 'mlexport[pmml]'.") from None
    skl = sklearn.__version__
    supported = ", ".join(SKLEARN_MAX)
    max_skl = SKLEARN_MAX.get(s2p)
    if max_skl is None:
        raise VersionError(
            f"sklearn2pmml must be {supported} for PMML export. Got sklearn2pmml {s2p} instead; "
            f"pip install 'sklearn2pmml=={next(iter(SKLEARN_MAX))}'."
        )
    if _release(skl) > _release(max_skl):
        raise VersionError(
            f"sklearn2pmml {s2p} converts models from scikit-learn {max_skl} or older. Got scikit-learn {skl} "
            f"instead; install scikit-learn<={max_skl}, or a newer sklearn2pmml once mlexport supports it."
        )
    return {"sklearn2pmml": s2p, "scikit-learn": skl}


# --------------------------------------------------------------------------- static assessment


@lru_cache(maxsize=1)
def supported_classes() -> frozenset[str]:
    """Fully-qualified Python classes JPMML-SkLearn has a converter for (read from the jars, no JVM)."""
    from .. import jvm

    names: set[str] = set()
    for jar in jvm.resolve_jars(("sklearn2pmml",))[0]:
        text = jvm.jar_facts(Path(jar.path))["mapping"]
        if not text:
            continue
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            names.update(_expand_key(line.split("=", 1)[0].strip()))
    return frozenset(names)


def _expand_key(key: str) -> list[str]:
    """``sklearn.ensemble.(_forest|forest).X`` -> both spellings (as sklearn2pmml's load_class_mapping)."""
    begin = key.find("(")
    end = key.find(")", begin + 1)
    if begin < 0 or end < 0:
        return [key]
    out: list[str] = []
    for part in key[begin + 1 : end].split("|"):
        out += _expand_key(key[:begin] + part + key[end + 1 :])
    return out


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__name__}"


def _assess_step(step: Step, known: frozenset[str]) -> Verdict:
    est = step.estimator
    if est is None or isinstance(est, str):
        return Verdict(step.path, step.cls, "supported")
    qual = _qualname(est)
    if qual not in known:
        return Verdict(
            step.path,
            step.cls,
            "unsupported",
            f"JPMML-SkLearn has no converter for {qual}",
            "replace it with a supported step (see the sklearn2pmml documentation) or export to another format",
        )
    if step.cls in MISSCORES:
        reason, hint = MISSCORES[step.cls]
        return Verdict(step.path, step.cls, "misscores", reason, hint)
    if step.cls.startswith("HistGradientBoosting"):
        categorical = getattr(est, "is_categorical_", None)
        if categorical is not None and np.any(categorical):
            return Verdict(
                step.path,
                step.cls,
                "misscores",
                "with categorical features, a category unseen at fit time gets no prediction in JPMML-Evaluator "
                "(scikit-learn and PMML4S score it)",
                "one-hot or ordinal-encode the column before the model instead of categorical_features",
            )
        if getattr(est, "loss", None) in ("poisson", "gamma"):
            return Verdict(
                step.path,
                step.cls,
                "misscores",
                f"loss='{est.loss}': the converter leaves out the exp link, predictions come out on the log scale",
                "use loss='squared_error', or export to ONNX / JSON",
            )
    if step.cls == "BernoulliNB":
        return Verdict(
            step.path,
            step.cls,
            "unsupported",
            "the converter only takes categorical (already binary) input features, not continuous ones",
            "export to ONNX / JSON",
        )
    if step.cls == "FunctionTransformer":
        return _assess_function(step)
    return Verdict(step.path, step.cls, "supported")


def _function_plan(est: Any) -> tuple[Any, str | None, str]:
    """(IR program or None, refusal reason or None, hint) for a FunctionTransformer.

    A translatable function (:mod:`mlexport.expr`) that PMML carries exactly is
    replaced by exact DerivedFields (:mod:`.pmml_expr`). A plain numpy function
    the IR does not know is left to the converter's own FunctionTransformer
    support (program and reason both None)."""
    from .. import expr as E
    from . import pmml_expr

    try:
        prog = E.translate(est)
    except UnsupportedStepError as err:
        fn = getattr(est, "func", None)  # inverse_func is never used to predict
        module = (getattr(fn, "__module__", None) or type(fn).__module__ or "") if fn is not None else ""
        if module.split(".")[0] == "numpy" and not getattr(est, "kw_args", None):
            return None, None, ""
        return None, err.reason, err.hint or _FUNCTION_HINT
    reason = pmml_expr.refusal(prog)
    if reason is not None:
        return None, reason, pmml_expr.HINT
    return prog, None, ""


def _assess_function(step: Step) -> Verdict:
    _prog, reason, hint = _function_plan(step.estimator)
    if reason is not None:
        return Verdict(step.path, step.cls, "unsupported", reason, hint)
    return Verdict(step.path, step.cls, "supported")


# --------------------------------------------------------------------------- conversion helpers


def _replace_leaves(est: Any, swap: Any) -> tuple[Any, bool]:
    """Replace, in the copy's containers, each leaf step for which ``swap(step)`` returns an
    object; return the (possibly new) root and whether anything was replaced."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    changed: set[str] = set()

    def sub(name: str, s: Any) -> Any:
        if s is None or isinstance(s, str):
            return s
        new, hit = _replace_leaves(s, swap)
        if hit:
            changed.add(name)
        return new

    if isinstance(est, Pipeline):
        est.steps = [(n, sub(n, s)) for n, s in est.steps]
    elif isinstance(est, ColumnTransformer):
        fitted = hasattr(est, "transformers_")
        attr = "transformers_" if fitted else "transformers"
        setattr(est, attr, [(n, sub(n, s), c) for n, s, c in getattr(est, attr)])
        if fitted and changed:
            # the unfitted specs are pickled too (a lambda there would not pickle): point
            # each changed one at its fitted stand-in, which is what the converter reads
            done = {n: s for n, s, _c in est.transformers_}
            est.transformers = [(n, done[n] if n in changed else s, c) for n, s, c in est.transformers]
            if "remainder" in changed:
                est.remainder = done["remainder"]
    elif isinstance(est, FeatureUnion):
        est.transformer_list = [(n, sub(n, s)) for n, s in est.transformer_list]
    else:
        new = swap(est)
        return (est, False) if new is None else (new, True)
    return est, bool(changed)


def _substitute(est: Any) -> tuple[Any, list[Any], list[tuple[Any, str]]]:
    """Replace, in the copy, steps the converter cannot read by equivalents it can:

    * an instance of a class with a ``pmml`` plug-in by what the plug-in's converter
      returns (see :mod:`mlexport.plugins`);
    * a translated FunctionTransformer by a placeholder that :func:`pmml_expr.splice`
      replaces with exact DerivedFields after conversion.

    Returns the new root, the function splices and (stand-in, original step path) pairs."""
    from sklearn.preprocessing import FunctionTransformer

    from ..plugins import for_format
    from . import pmml_expr

    stand_ins: list[tuple[Any, str]] = []
    plugins = for_format(FORMAT)
    if plugins:
        paths = {id(s.estimator): s.path for s in flatten_steps(est)}

        def swap_plugin(obj: Any) -> Any:
            plugin = plugins.get(type(obj))
            if plugin is None:
                return None
            path = paths.get(id(obj), type(obj).__name__.lower())
            new = _run_plugin(plugin, obj, path)
            stand_ins.append((new, path))
            return new

        est, _ = _replace_leaves(est, swap_plugin)

    splices: list[Any] = []
    paths = {id(s.estimator): s.path for s in flatten_steps(est)}

    def swap_function(obj: Any) -> Any:
        if type(obj) is not FunctionTransformer:
            return None
        path = paths.get(id(obj), "functiontransformer")
        prog, reason, hint = _function_plan(obj)
        if reason is not None:
            raise UnsupportedStepError(path, "FunctionTransformer", reason, hint, fmt=FORMAT)
        if prog is None:  # a numpy function the converter handles itself
            return None
        new, splice = pmml_expr.placeholder(prog, path)
        splices.append(splice)
        stand_ins.append((new, path))
        return new

    est, _ = _replace_leaves(est, swap_function)
    return est, splices, stand_ins


def _run_plugin(plugin: Any, obj: Any, path: str) -> Any:
    """The replacement a ``pmml`` plug-in returns for ``obj``, checked to be an estimator."""
    from ..errors import MlexportError

    cls = type(obj).__name__
    try:
        new = plugin.converter(copy.deepcopy(obj))
    except MlexportError:
        raise
    except Exception as e:  # noqa: BLE001 - a user's converter failing is reported on its step
        raise UnsupportedStepError(path, cls, f"the pmml plug-in converter failed ({type(e).__name__}: {e})",
                                   "fix the converter registered with mlexport.plugins.register('pmml', ...)",
                                   fmt=FORMAT) from None
    if new is None or not hasattr(new, "get_params") or not (hasattr(new, "transform") or hasattr(new, "predict")):
        raise UnsupportedStepError(
            path, cls,
            f"the pmml plug-in converter must return a fitted scikit-learn or sklearn2pmml estimator. "
            f"Got {type(new).__name__} instead",
            "return a transformer or estimator JPMML-SkLearn converts (see mlexport.plugins)", fmt=FORMAT)
    if type(new) is type(obj):
        raise UnsupportedStepError(path, cls, "the pmml plug-in converter returned an object of the same class",
                                   "return a class JPMML-SkLearn converts", fmt=FORMAT)
    return new


def _assess_plugin(step: Step, plugin: Any, known: frozenset[str]) -> Verdict:
    """A class with a ``pmml`` plug-in: its replacement must be something JPMML-SkLearn converts."""
    try:
        new = _run_plugin(plugin, step.estimator, step.path)
    except UnsupportedStepError as e:
        return Verdict(step.path, step.cls, "unsupported", e.reason, e.hint)
    for v in (_assess_step(s, known) for s in flatten_steps(new, step.path)):
        if not v.ok:
            return Verdict(step.path, step.cls, v.status,
                           f"the pmml plug-in's replacement {v.cls} ({v.path}): {v.reason}", v.hint)
    return Verdict(step.path, step.cls, "supported")


def _tag_stand_ins(stand_ins: list[tuple[Any, str]]) -> None:
    """Conversion errors inside a replacement name the user's step, not the stand-in's parts."""
    for obj, path in stand_ins:
        for step in flatten_steps(obj):
            target = step.estimator
            if target is None or isinstance(target, str):
                continue
            try:
                setattr(target, PATH_ATTR, path)
            except (AttributeError, TypeError):
                pass


def _tag_paths(est: Any) -> None:
    for step in flatten_steps(est):
        obj = step.estimator
        if obj is None or isinstance(obj, str):
            continue
        try:
            setattr(obj, PATH_ATTR, step.path)
        except (AttributeError, TypeError):
            pass


def _drop_passthrough(est: Any) -> None:
    """Remove 'passthrough' / None steps from the copy's pipelines (identity steps the
    converter cannot read: "The head object (null) is not a supported Transformer")."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(est, Pipeline):
        kept = [(n, s) for i, (n, s) in enumerate(est.steps) if not (_is_identity(s) and i < len(est.steps) - 1)]
        if kept and len(kept) != len(est.steps):
            est.steps = kept
        for _n, sub in est.steps:
            _drop_passthrough(sub)
    elif isinstance(est, ColumnTransformer):
        for _n, sub, _c in getattr(est, "transformers_", est.transformers):
            _drop_passthrough(sub)
    elif isinstance(est, FeatureUnion):
        for _n, sub in est.transformer_list:
            _drop_passthrough(sub)


def _is_identity(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


def _is_tree_model(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("sklearn.tree") or mod.startswith("sklearn.ensemble")


def _configure_missing(est: Any) -> list[str]:
    """Set ``allow_missing`` on every tree model of the copy (inner trees of ensembles
    too); return the step paths of the pipeline steps that got it."""
    from sklearn.base import BaseEstimator

    seen: set[int] = set()
    paths: list[str] = []

    def visit(obj: Any) -> None:
        if id(obj) in seen or not isinstance(obj, BaseEstimator):
            return
        seen.add(id(obj))
        if _is_tree_model(obj) and hasattr(obj, "predict"):
            opts = dict(getattr(obj, "pmml_options_", {}) or {})
            opts.setdefault("allow_missing", True)
            obj.pmml_options_ = opts
            if hasattr(obj, PATH_ATTR):  # a pipeline step (not a forest's inner tree)
                paths.append(getattr(obj, PATH_ATTR))
        for value in vars(obj).values():
            if isinstance(value, BaseEstimator):
                visit(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, BaseEstimator):
                        visit(item)
                    elif isinstance(item, tuple):
                        for sub in item:
                            if isinstance(sub, BaseEstimator):
                                visit(sub)

    visit(est)
    return paths


def _target_name(inputs: list[str]) -> str:
    name = "y"
    while name in inputs:
        name = "_" + name
    return name


def _float32_midpoints(x: np.ndarray) -> np.ndarray:
    """True where a double lies exactly halfway between two adjacent float32 values."""
    with np.errstate(over="ignore", invalid="ignore"):
        f = x.astype(np.float32)
        toward = np.nextafter(f, np.where(x > f, np.float32(np.inf), np.float32(-np.inf)).astype(np.float32))
        mid = (f.astype(np.float64) + toward.astype(np.float64)) / 2.0
    return np.isfinite(x) & (f.astype(np.float64) != x) & (mid == x)


def _verification_rows(sample: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """At most VERIFICATION_ROWS rows, evenly spread; and how many rows were left out as unreplayable.

    A value exactly halfway between two float32 values cannot be embedded faithfully:
    the file stores it as shortest decimal text, which a float field parses to the
    lower neighbour while scikit-learn rounds the double to even. Such rows (mlexport's
    probe rows put values there on purpose) are still checked by parity, just not
    embedded.
    """
    numeric = sample.select_dtypes(include="number")
    skip = np.zeros(len(sample), dtype=bool)
    for col in numeric.columns:
        skip |= _float32_midpoints(numeric[col].to_numpy(dtype=np.float64))
    kept = sample[~skip]
    n = len(kept)
    if n > VERIFICATION_ROWS:
        idx = np.unique(np.linspace(0, n - 1, VERIFICATION_ROWS).round().astype(int))
        kept = kept.iloc[idx]
    return kept.reset_index(drop=True), int(skip.sum())


def _add_verification(pipeline: Any, model: LoadedModel, rows: pd.DataFrame) -> str | None:
    """Embed sklearn's predictions on ``rows``; return a note if they could not be computed."""
    from sklearn2pmml.pipeline import _Verification

    est = model.estimator
    X = rows if model.signature.named else rows.to_numpy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = np.asarray(est.predict(X))
            proba = None
            if model.task == "classification" and hasattr(est, "predict_proba"):
                try:
                    proba = np.asarray(est.predict_proba(X), dtype=np.float64)
                except (AttributeError, NotImplementedError):
                    proba = None
    except Exception as e:  # the sample itself is not scorable by sklearn: parity will say so
        return f"no verification rows embedded: scikit-learn could not score the sample ({type(e).__name__}: {e})"
    active = rows.to_numpy(dtype=object) if not model.signature.all_numeric else rows.to_numpy(dtype=np.float64)
    ver = _Verification(active, y, VERIFICATION_RTOL, VERIFICATION_ATOL)
    if proba is not None:
        ver.probability_values = proba
    pipeline.verification = ver
    return None


_PICKLE_PROTOCOL = 4


class _ConverterPickler(pickle.Pickler):
    """Pickles numpy arrays of two or more dimensions in C order: JPMML-Python reads an
    object array's Fortran-order flag wrongly (a DataFrame's ``to_numpy(dtype=object)``
    is Fortran-ordered: its verification rows came out transposed)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is np.ndarray and obj.ndim > 1 and not obj.flags.c_contiguous:
            return np.ascontiguousarray(obj).__reduce_ex__(_PICKLE_PROTOCOL)
        return NotImplemented


def _pickle_for_converter(obj: Any) -> bytes:
    """``obj`` as JPMML-SkLearn's unpickler reads it. Plain pickle protocol 4 rather than
    joblib's format: a 500-tree forest pickles in 0.03 s instead of 0.15 s, and unpickles in
    Java in 0.02 s instead of 0.15-0.3 s (JPMML reads joblib's inline arrays byte by byte);
    the PMML is byte for byte the same on the whole parity zoo."""
    buffer = io.BytesIO()
    _ConverterPickler(buffer, protocol=_PICKLE_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _java_chain(exc: Any) -> list[Any]:
    chain: list[Any] = []
    cur = exc
    while cur is not None and len(chain) < 20:
        chain.append(cur)
        nxt = cur.getCause()
        if nxt is None or nxt.equals(cur):
            break
        cur = nxt
    return chain


def _context_path(ctx: Any) -> str | None:
    if ctx is None:
        return None
    try:
        if ctx.containsKey(PATH_ATTR):
            return str(ctx.get(PATH_ATTR))
    except Exception:
        return None
    return None


def _conversion_error(exc: Any, model: LoadedModel, steps: list[Step]) -> Exception:
    """Turn a Java exception from the converter into an mlexport error (no stack trace)."""
    from .. import jvm

    chain = _java_chain(exc)
    messages: list[str] = []
    solution = ""
    path: str | None = None
    root = str(chain[-1].getClass().getSimpleName()) if chain else ""
    for e in chain:
        name = str(e.getClass().getName())
        msg = e.getMessage()
        if msg is not None and not name.startswith("java.lang.") and str(msg) not in messages:
            messages.append(str(msg))
        if hasattr(e, "getSolution") and not solution:
            sol = e.getSolution()
            if sol is not None:
                solution = str(sol).strip()
        if hasattr(e, "getContext"):
            p = _context_path(e.getContext())
            if p is not None:
                path = p  # innermost tagged context wins
    if not messages:
        messages.append(jvm.java_message(exc))
    # "Failed to convert the ... object (Python class X) to PMML" wraps the real reason
    specific = [m for m in messages if not m.startswith("Failed to ")]
    reason = ": ".join(specific[:2]) if specific else f"{messages[0]} ({root})" if root else messages[0]
    reason = " ".join(reason.split())
    if "version" in reason.lower() and "scikit-learn" in reason.lower():
        return VersionError(f"pmml: {reason}" + (f" ({solution})" if solution else ""))
    by_path = {s.path: s for s in steps}
    if path is None:
        # fall back to the Python class named in the message: a step, or the step holding it
        for m in re.finditer(r"Python class ([\w.]+)", " ".join(messages)):
            cls = m.group(1).rsplit(".", 1)[-1]
            matches = [s for s in steps if s.cls == cls]
            if len(matches) == 1:
                path = matches[0].path
                break
            owner = _owner_step(cls, steps)
            if owner is not None:
                path = owner.path
                break
    if path is not None and path in by_path:
        step = by_path[path]
        hint = _one_line(solution) or (_FUNCTION_HINT if step.cls == "FunctionTransformer" else "")
        return UnsupportedStepError(path, step.cls, reason, hint, fmt=FORMAT)
    return ExportError(f"pmml: conversion failed: {reason}" + (f" ({_one_line(solution)})" if solution else ""))


def _owner_step(cls: str, steps: list[Step]) -> Step | None:
    """The leaf step whose fitted attributes hold an object of class ``cls`` (e.g. the
    ``_CalibratedClassifier`` inside a ``CalibratedClassifierCV``)."""

    def holds(obj: Any, depth: int) -> bool:
        if type(obj).__name__ == cls:
            return True
        if depth == 0 or isinstance(obj, (str, bytes, np.ndarray)):
            return False
        if isinstance(obj, (list, tuple)):
            values = list(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            values = list(vars(obj).values())
        else:
            return False
        return any(holds(v, depth - 1) for v in values)

    for step in steps:
        if step.is_composite or isinstance(step.estimator, str) or step.estimator is None:
            continue
        if holds(step.estimator, 3):
            return step
    return None


def _one_line(text: str) -> str:
    """Converter solutions may carry multi-line code examples: keep the first sentence-ish line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _pickle_error(exc: Exception, est: Any, steps: list[Step]) -> Exception:
    import pickle

    for step in steps:
        obj = step.estimator
        if obj is None or isinstance(obj, str) or step.is_composite:
            continue
        try:
            pickle.dumps(obj)
        except Exception as e:
            return UnsupportedStepError(
                step.path,
                step.cls,
                f"cannot be pickled for the converter ({type(e).__name__}: {e})",
                _FUNCTION_HINT if step.cls == "FunctionTransformer" else "make the step picklable",
                fmt=FORMAT,
            )
    return ExportError(f"pmml: the model cannot be pickled for the converter ({type(exc).__name__}: {exc}).")


# --------------------------------------------------------------------------- reading PMML back


@dataclass(frozen=True)
class PmmlField:
    name: str
    kind: str  # "number" | "string"
    data_type: str  # PMML dataType


@dataclass(frozen=True)
class PmmlInterface:
    """What a PMML file takes and gives, from its DataDictionary, MiningSchema and Output."""

    function: str  # "classification" | "regression" | ...
    inputs: tuple[PmmlField, ...]
    target: str | None
    target_type: str
    classes: tuple[Any, ...] | None  # typed (int / float / bool / str), DataDictionary order
    class_values: tuple[str, ...] | None  # the same classes as written in the file
    has_probability: bool
    outputs: tuple[tuple[str, str, str], ...]  # final OutputFields: (name, feature, value)
    pmml_version: str
    signature: Signature  # the exported model's inputs (mlexport extension), else the PMML's inputs

    @property
    def task(self) -> str:
        return "classification" if self.function == "classification" else "regression"


_NUMERIC_TYPES = {"double", "float", "integer"}
_MODEL_TAGS = frozenset(
    {
        "AnomalyDetectionModel",
        "AssociationModel",
        "BayesianNetworkModel",
        "BaselineModel",
        "ClusteringModel",
        "GaussianProcessModel",
        "GeneralRegressionModel",
        "MiningModel",
        "NaiveBayesModel",
        "NearestNeighborModel",
        "NeuralNetwork",
        "RegressionModel",
        "RuleSetModel",
        "Scorecard",
        "SequenceModel",
        "SupportVectorMachineModel",
        "TextModel",
        "TimeSeriesModel",
        "TreeModel",
    }
)


def _typed(value: str, data_type: str) -> Any:
    if data_type == "integer":
        return int(value)
    if data_type in ("double", "float"):
        return float(value)
    if data_type == "boolean":
        return value.strip().lower() == "true"
    return value


def read_interface(path: str | Path) -> PmmlInterface:
    """Parse the head of a PMML file (it stops before the model body, so large forests parse fast)."""
    import xml.etree.ElementTree as ET

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    fields: dict[str, tuple[str, str, list[str]]] = {}
    signature_json: str | None = None
    mining: list[tuple[str, str]] = []
    outputs: list[tuple[str, str, str]] = []
    function = ""
    pmml_version = ""
    model_depth: int | None = None
    depth = 0
    section: str | None = None
    current_field: str | None = None
    try:
        for event, elem in ET.iterparse(str(path), events=("start", "end")):
            tag = local(elem.tag)
            if event == "start":
                depth += 1
                if depth == 1 and tag == "PMML":
                    pmml_version = elem.get("version", "")
                elif depth == 2 and tag == "DataDictionary":
                    section = "dd"
                elif section == "dd" and tag == "DataField":
                    current_field = elem.get("name", "")
                    fields[current_field] = (elem.get("optype", ""), elem.get("dataType", ""), [])
                elif section == "dd" and tag == "Value" and current_field is not None:
                    if elem.get("property", "valid") == "valid":
                        fields[current_field][2].append(elem.get("value", ""))
                elif depth == 3 and tag == "Extension" and elem.get("name") == SIGNATURE_EXTENSION:
                    signature_json = elem.get("value")
                elif depth == 2 and tag in _MODEL_TAGS and model_depth is None:
                    model_depth = depth
                    function = elem.get("functionName", "")
                elif model_depth is not None and depth == model_depth + 1:
                    section = tag if tag in ("MiningSchema", "Output") else "other"
                    if section == "other":
                        if tag not in (
                            "Extension",
                            "LocalTransformations",
                            "Targets",
                            "ModelStats",
                            "ModelExplanation",
                        ):
                            break  # the model body: nothing more to read
                elif (
                    model_depth is not None
                    and depth == model_depth + 2
                    and section == "MiningSchema"
                    and tag == "MiningField"
                ):
                    mining.append((elem.get("name", ""), elem.get("usageType", "active")))
                elif (
                    model_depth is not None
                    and depth == model_depth + 2
                    and section == "Output"
                    and tag == "OutputField"
                ):
                    outputs.append((elem.get("name", ""), elem.get("feature", "predictedValue"), elem.get("value", "")))
            else:
                depth -= 1
                if tag == "DataDictionary":
                    section = None
                elif tag == "DataField":
                    current_field = None
                elif model_depth is not None and depth == model_depth - 1:
                    break
                if depth > 2:
                    continue
                elem.clear()
    except ET.ParseError as e:
        from ..errors import BadInputError

        raise BadInputError(f"{path}: is not a readable PMML file ({e}).") from None

    inputs = []
    target = None
    for name, usage in mining:
        optype, data_type, _values = fields.get(name, ("", "double", []))
        if usage in ("target", "predicted"):
            target = name if target is None else target
        elif usage == "active":
            kind = "number" if data_type in _NUMERIC_TYPES else "string"
            inputs.append(PmmlField(name, kind, data_type))
    target_type = fields[target][1] if target in fields else ""
    classes: tuple[Any, ...] | None = None
    class_values: tuple[str, ...] | None = None
    if function == "classification" and target in fields:
        class_values = tuple(fields[target][2])
        classes = tuple(_typed(v, target_type) for v in class_values)
    has_probability = any(feature == "probability" for _n, feature, _v in outputs)
    if function == "classification" and not has_probability:
        # model chains (gradient boosting) declare probabilities on their last segment
        for m in _PROBABILITY_FIELD.finditer(Path(path).read_bytes()):
            if b'isFinalResult="false"' not in m.group(0):
                outputs.append((m.group(1).decode(), "probability", m.group(2).decode()))
        has_probability = any(feature == "probability" for _n, feature, _v in outputs)
    signature = None
    if signature_json:
        try:
            signature = Signature.from_dict(json.loads(signature_json))
        except (ValueError, KeyError, TypeError):
            signature = None
    if signature is None:
        signature = Signature(tuple(Column(f.name, f.kind) for f in inputs), True)  # type: ignore[arg-type]
    return PmmlInterface(
        function,
        tuple(inputs),
        target,
        target_type,
        classes,
        class_values,
        has_probability,
        tuple(outputs),
        pmml_version,
        signature,
    )


_PROBABILITY_FIELD = re.compile(rb'<OutputField name="([^"]*)"[^>]*? feature="probability"[^>]*? value="([^"]*)"[^>]*>')


def describe(path: str | Path) -> dict[str, Any]:
    """Inputs and outputs of a PMML file, for ``mlexport inspect`` (one value per row: shape [None])."""
    iface = read_interface(path)
    inputs = [{"name": f.name, "type": f.data_type, "shape": [None]} for f in iface.inputs]
    outputs: list[dict[str, Any]] = []
    if iface.target is not None:
        outputs.append({"name": iface.target, "type": iface.target_type, "shape": [None]})
    outputs += [
        {"name": n, "type": "double", "shape": [None]} for n, feature, _v in iface.outputs if feature == "probability"
    ]
    return {"inputs": inputs, "outputs": outputs}


def prepare_inputs(
    iface: PmmlInterface, X: pd.DataFrame
) -> tuple[list[str], np.ndarray, list[str], list[list[str | None]]]:
    """Split ``X`` into the PMML's numeric inputs (float64 matrix, n x k, NaN = missing)
    and string inputs (one list per column, None = missing), by field name."""
    from ..errors import BadInputError

    missing = [f.name for f in iface.inputs if f.name not in X.columns]
    if missing:
        raise BadInputError(
            f"data must have the column(s) the PMML reads: {', '.join(missing)}. Got {', '.join(map(str, X.columns))} instead."
        )
    num_names = [f.name for f in iface.inputs if f.kind == "number"]
    str_names = [f.name for f in iface.inputs if f.kind == "string"]
    try:
        num = X[num_names].to_numpy(dtype=np.float64) if num_names else np.empty((len(X), 0))
    except (TypeError, ValueError) as e:
        raise BadInputError(f"data: numeric PMML inputs must hold numbers ({e}).") from None
    strs = [[_as_text(v) for v in X[name].tolist()] for name in str_names]
    return num_names, num, str_names, strs


def _as_text(v: Any) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return None
        if float(v).is_integer():
            return str(int(v))
    return str(v)


def label_array(classes: tuple[Any, ...], index: np.ndarray) -> np.ndarray:
    """Class labels for class indices (-1 = no prediction -> None), keeping the classes' type."""
    table = np.asarray(classes) if all(not isinstance(c, str) for c in classes) else np.asarray(classes, dtype=object)
    index = np.asarray(index, dtype=np.int64)
    if len(index) and index.min() < 0:
        out = np.empty(len(index), dtype=object)
        ok = index >= 0
        out[ok] = table[index[ok]]
        out[~ok] = None
        return out
    return table[index]


# --------------------------------------------------------------------------- exporter


class PmmlExporter:
    name = FORMAT
    suffix = ".pmml"
    runtimes = ("jpmml", "pmml4s")

    def assess(self, model: LoadedModel) -> list[Verdict]:
        """Per step: does JPMML-SkLearn have a converter for it (static: no JVM, no conversion)."""
        from ..plugins import for_format

        known = supported_classes()
        plugins = for_format(FORMAT)
        return [
            _assess_plugin(step, plugins[type(step.estimator)], known)
            if type(step.estimator) in plugins
            else _assess_step(step, known)
            for step in flatten_steps(model.estimator)
        ]

    def export(self, model: LoadedModel, out: Path, sample: pd.DataFrame | None = None) -> dict[str, Any]:
        """Convert ``model`` to PMML at ``out``; return manifest facts.

        A large forest's trees are written by mlexport (:mod:`.pmml_trees`) when its
        template trees come out exactly as the converter writes them; otherwise, or with
        ``MLEXPORT_PMML_TREE_WRITER=0``, the converter writes every tree."""
        import os

        from . import pmml_trees

        started = time.perf_counter()
        fplan = None
        if os.environ.get(TREE_WRITER_ENV, "").strip().lower() not in ("0", "no", "off", "false"):
            fplan = pmml_trees.plan(model.estimator)
        if fplan is not None:
            try:
                return self._export(model, out, sample, fplan, started)
            except _WriterDeclined as e:
                declined = str(e)
            facts = self._export(model, out, sample, None, started)
            facts["tree_writer"] = f"JPMML-SkLearn (mlexport's tree writer declined: {declined})"
            return facts
        return self._export(model, out, sample, None, started)

    def _export(self, model: LoadedModel, out: Path, sample: pd.DataFrame | None, fplan: Any,
                started: float) -> dict[str, Any]:
        import jpype

        from .. import jvm
        from . import pmml_trees

        vers = check_versions()
        jvm.start()

        from sklearn2pmml import _escape
        from sklearn2pmml.pipeline import PMMLPipeline

        if fplan is not None:
            est = pmml_trees.template_copy(model.estimator, fplan)
            stub_forest = pmml_trees.forest_of(est, fplan)
        else:
            est = copy.deepcopy(model.estimator)
        _drop_passthrough(est)
        est, splices, stand_ins = _substitute(est)  # plug-ins and translated functions
        _tag_paths(est)
        est = _escape(est, escape_func=_escape)
        _tag_paths(est)  # proxies created by _escape (selectors) get their path too
        _tag_stand_ins(stand_ins)
        steps = flatten_steps(model.estimator)
        tree_paths = _configure_missing(est)

        names = model.signature.names
        target = _target_name(names)
        pipeline = PMMLPipeline([("estimator", est)])
        pipeline.active_fields = np.asarray(names, dtype=object).astype(str)
        pipeline.target_fields = np.asarray([target]).astype(str)

        notes: list[str] = []
        n_verify = 0
        if sample is not None and len(sample):
            missing = [c for c in names if c not in sample.columns]
            if missing:
                from ..errors import BadInputError

                raise BadInputError(f"sample must have the model's columns. Got no column(s) {', '.join(missing)}.")
            rows, skipped = _verification_rows(sample[names])
            if skipped:
                notes.append(f"{skipped} sample row(s) exactly halfway between two float32 values not embedded")
            note = _add_verification(pipeline, model, rows) if len(rows) else None
            if note:
                notes.append(note)
            else:
                n_verify = len(rows)

        # kept in memory: JPMML reads it from a byte array (a file read through an
        # unbuffered stream made unpickling a 50-tree forest 5x slower)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pickled = _pickle_for_converter(pipeline)
        except Exception as e:
            raise _pickle_error(e, model.estimator, steps) from None
        pmml = self._convert(pickled, model, steps, jpype)
        del pickled
        # what `mlexport score` feeds the file, even for columns the PMML does not read
        Extension = jvm.jclass("org.dmg.pmml.Extension")
        pmml.getHeader().addExtensions(
            Extension().setName(SIGNATURE_EXTENSION).setValue(json.dumps(model.signature.to_dict()))
        )

        trees = None
        if fplan is not None:
            trees = (fplan, pmml_trees.java_forest(fplan, pmml_trees.default_child(stub_forest)))
        portable_splits, spliced = self._write(pmml, Path(out), jpype, splices, trees)
        seconds = time.perf_counter() - started
        iface = read_interface(out)
        facts: dict[str, Any] = {
            "converter": "JPMML-SkLearn (in-process, via JPype)",
            "versions": {**vers, **jvm.versions()},
            "pmml_version": iface.pmml_version,
            "inputs": [{"name": f.name, "kind": f.kind, "dataType": f.data_type} for f in iface.inputs],
            "target": iface.target,
            "classes": list(iface.classes) if iface.classes is not None else None,
            "outputs": (["label", "proba"] if iface.has_probability else ["label"])
            if model.task == "classification"
            else ["value"],
            "verification_rows": n_verify,
            "verification_tolerance": {"rtol": VERIFICATION_RTOL, "atol": VERIFICATION_ATOL},
            "allow_missing": tree_paths,
            "portable_infinite_splits": portable_splits,
            "translated_functions": [{"field": s.base, "columns": len(s.columns)} for s in splices],
            "translated_fields": spliced,
            "conversion_seconds": round(seconds, 4),
            "tree_writer": f"mlexport ({fplan.trees} trees; JPMML-SkLearn converted {len(fplan.template)} as the template)"
            if fplan is not None
            else "JPMML-SkLearn",
            "licenses": {"JPMML-SkLearn": "AGPL-3.0", "sklearn2pmml": "AGPL-3.0", "JPMML-Evaluator": "AGPL-3.0"},
        }
        if notes:
            facts["notes"] = notes
        return facts

    def _convert(self, pickled: bytes, model: LoadedModel, steps: list[Step], jpype: Any) -> Any:
        from .. import jvm

        Stream = jvm.jclass("java.io.ByteArrayInputStream")
        StorageUtil = jvm.jclass("org.jpmml.python.StorageUtil")
        Unpickler = jvm.jclass("org.jpmml.sklearn.SkLearnUnpickler")
        EncodableUtil = jvm.jclass("org.jpmml.sklearn.EncodableUtil")
        try:
            storage = StorageUtil.createStorage(Stream(jpype.JArray(jpype.JByte)(pickled)))
            try:
                obj = Unpickler().load(storage)
            finally:
                storage.close()
            return EncodableUtil.encodePMML(EncodableUtil.toEncodable(obj))
        except jpype.JException as e:
            raise _conversion_error(e, model, steps) from None

    def _write(self, pmml: Any, out: Path, jpype: Any, splices: list[Any] | None = None,
               trees: tuple[Any, Any] | None = None) -> tuple[int, int]:
        """Serialize to ``out``, splicing in translated functions (:func:`pmml_expr.splice`)
        or writing a forest's trees (``trees``: plan and Java arrays, :mod:`.pmml_trees`);
        return how many infinite thresholds were made portable and how many fields spliced."""
        from . import pmml_expr

        if trees is not None:
            # the template document is small: splice it here, the trees' thresholds are made portable on the way out
            data, spliced = pmml_expr.splice(self._serialize(pmml, jpype), splices or [])
            return self._write_trees(data, out, jpype, *trees), spliced
        if not splices:
            streamed = self._stream(pmml, out, jpype)
            if streamed is not None:
                return streamed, 0
        data, spliced = pmml_expr.splice(self._serialize(pmml, jpype), splices or [])
        data, fixed = portable_infinity(data)
        try:
            Path(out).write_bytes(data)
        except OSError as e:
            raise ExportError(f"pmml: could not write {out}: {e.strerror or e}") from None
        return fixed, spliced

    def _serialize(self, pmml: Any, jpype: Any) -> bytes:
        from .. import jvm

        Serializer = jvm.jclass("org.jpmml.model.metro.MetroJAXBSerializer")
        Bytes = jvm.jclass("java.io.ByteArrayOutputStream")
        try:
            stream = Bytes(1 << 16)
            Serializer().serializePretty(pmml, stream)
            return bytes(stream.toByteArray())
        except jpype.JException as e:
            raise ExportError(f"pmml: could not serialize the PMML document: {jvm.java_message(e)}") from None

    def _write_trees(self, document: bytes, out: Path, jpype: Any, fplan: Any, forest: Any) -> int:
        """``PmmlTreeWriter``: the converted template document with all the forest's trees;
        raises :class:`_WriterDeclined` when a template tree does not come out as converted."""
        from .. import jvm

        try:
            Writer = jvm.helper_class("PmmlTreeWriter")
        except (MissingDependencyError, TypeError):
            raise _WriterDeclined("mlexport's Java helpers are not compiled (no javac)") from None
        try:
            result = Writer.write(jpype.JString(document.decode("utf-8")), str(out), forest,
                                  jpype.JArray(jpype.JInt)(list(fplan.template)), int(fplan.forest.n_features_in_))
        except jvm.jclass("java.io.IOException") as e:
            raise ExportError(f"pmml: could not write {out}: {jvm.java_message(e)}") from None
        except jpype.JException as e:
            raise _WriterDeclined(jvm.java_message(e)) from None
        if not bool(result.written):
            raise _WriterDeclined(str(result.reason))
        return int(result.portableSplits)

    def _stream(self, pmml: Any, out: Path, jpype: Any) -> int | None:
        """Marshal straight into ``out`` from Java, making infinite splits portable on the way
        (``PmmlFileWriter``: the document never crosses into Python); the number of splits
        made portable, or None when mlexport's Java helpers are not compiled (no javac)."""
        from .. import jvm

        try:
            Writer = jvm.helper_class("PmmlFileWriter")
        except (MissingDependencyError, TypeError):  # no javac; or a JVM started without this helper
            return None
        try:
            return int(Writer.write(pmml, str(out)))
        except jvm.jclass("java.io.IOException") as e:
            raise ExportError(f"pmml: could not write {out}: {jvm.java_message(e)}") from None
        except jpype.JException as e:
            raise ExportError(f"pmml: could not serialize the PMML document: {jvm.java_message(e)}") from None


TREE_WRITER_ENV = "MLEXPORT_PMML_TREE_WRITER"


class _WriterDeclined(Exception):
    """mlexport's tree writer cannot reproduce the converter's trees: let the converter write them."""


_INF_SPLIT = re.compile(rb'(operator="(?:lessOrEqual|greaterThan)" value=")INF(")')


def portable_infinity(data: bytes) -> tuple[bytes, int]:
    """Write ``x <= +INF`` tree splits with the largest finite double instead.

    JPMML-SkLearn encodes sklearn's "missing vs not missing" splits (threshold +inf)
    as ``value="INF"``; PMML4S misreads that literal (it mis-scored 14 of 569 rows of a
    DecisionTreeClassifier fed NaN). ``1.7976931348623157E308`` means the same: on a
    float field JPMML parses it as float +inf, on a double field it differs only for
    infinite inputs, which scikit-learn refuses.
    """
    fixed = _INF_SPLIT.subn(rb"\g<1>1.7976931348623157E308\g<2>", data)
    return fixed[0], fixed[1]


EXPORTER = PmmlExporter()

__all__ = [
    "EXPORTER",
    "PmmlExporter",
    "PmmlInterface",
    "PmmlField",
    "read_interface",
    "check_versions",
    "supported_classes",
]


def scorable_interface(artifact: Path, runtime: str) -> Any:
    """The PMML file's interface, refusing model functions mlexport does not score."""
    from ..errors import RuntimeFailure

    interface = read_interface(Path(artifact))
    if interface.function not in ("classification", "regression"):
        raise RuntimeFailure(
            f"{runtime}: {artifact} holds a {interface.function or 'unknown'} model; "
            "mlexport scores classification and regression models."
        )
    return interface
