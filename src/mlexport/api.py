"""The Python API: the same operations as the command line, returning objects.

load -> plan -> export -> runtime.predict -> compare -> report, each a function
over frozen dataclasses (see design.md). The CLI only parses, calls these and
renders.
"""

from __future__ import annotations

import collections
import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .data import iter_data, read_data
from .errors import BadInputError, MissingDependencyError, RuntimeFailure, UnsupportedStepError
from .exporters import EXPORTERS, get_exporter
from .fastcsv import score_csv
from .model import LoadedModel, from_estimator, load_model, sha256_file
from .outputs import Outputs, concat
from .parity import OutputParity, ParityResult, RuntimeParity, Tolerance, compare, native_outputs
from .plan import Plan, plan
from .report import atomic_write
from .runtimes import get_runtime

ModelLike = "str | Path | LoadedModel | Any"
CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class ExportResult:
    artifact: Path
    manifest: Path
    parity: ParityResult | None
    data_summary: str

    @property
    def passed(self) -> bool:
        return self.parity is None or self.parity.passed


def as_model(model: Any, trust: tuple[str, ...] = ()) -> LoadedModel:
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, (str, Path)):
        return load_model(model, trust=trust)
    return from_estimator(model)


def format_of(artifact: str | Path) -> str:
    suffix = Path(artifact).suffix.lower()
    for fmt in EXPORTERS:
        if get_exporter(fmt).suffix == suffix:
            return fmt
    known = ", ".join(get_exporter(f).suffix for f in EXPORTERS)
    raise BadInputError(f"{artifact}: artifact must end in one of {known}. Got '{suffix}' instead.")


def check(model: Any, formats: list[str] | None = None, *, trust: tuple[str, ...] = ()) -> list[Plan]:
    lm = as_model(model, trust)
    return [plan(lm, f) for f in (formats or list(EXPORTERS))]


def _sample(lm: LoadedModel, data: Any, probe: bool = False) -> tuple[pd.DataFrame, str]:
    from .data import conform
    from .synth import synthesize

    if data is None:
        s = synthesize(lm)
        return s.frame, s.summary
    if isinstance(data, np.ndarray):
        if data.ndim != 2 or data.shape[1] != len(lm.signature.columns):
            raise BadInputError(f"data must be a 2-D array with {len(lm.signature.columns)} columns. Got shape {data.shape} instead.")
        data = pd.DataFrame(data, columns=lm.signature.names)
    if isinstance(data, pd.DataFrame):
        frame, label = conform(data, lm.signature, source="data"), f"{len(data)} rows given"
    else:
        frame, label = read_data(data, lm.signature), f"{Path(data).name}"
    if probe:
        s = synthesize(lm)
        frame = pd.concat([frame, s.frame], ignore_index=True)
        label += f" + {s.summary}"
    return frame, label


def default_output(lm: LoadedModel, fmt: str) -> Path:
    suffix = get_exporter(fmt).suffix
    if lm.source and lm.source != "<memory>":
        return Path(lm.source).with_suffix(suffix)
    return Path("model" + suffix)


def manifest_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".manifest.json")


def export(
    model: Any,
    fmt: str,
    out: str | Path | None = None,
    *,
    data: Any = None,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    verify: bool = True,
    runtimes: list[str] | None = None,
    probe: bool = False,
    trust: tuple[str, ...] = (),
) -> ExportResult:
    """Export ``model`` to ``fmt`` at ``out`` and, unless ``verify=False``, prove parity.

    The artifact and its manifest appear atomically: a failure leaves no new
    file behind and any previous artifact untouched. A parity failure still
    writes both (the manifest records it) so it can be inspected; the result's
    ``passed`` is False.
    """
    from .versions import check_for

    tol = Tolerance(rtol, atol)
    lm = as_model(model, trust)
    exporter = get_exporter(fmt)
    check_for(fmt)
    target = Path(out) if out is not None else default_output(lm, fmt)
    if target.exists() and target.is_dir():
        raise BadInputError(f"{target}: is a directory; -o must name the artifact file.")
    blockers = plan(lm, fmt).blockers
    if blockers:
        v = blockers[0]
        raise UnsupportedStepError(v.path, v.cls, v.reason, v.hint, fmt=fmt)
    if verify or data is not None:
        frame, summary = _sample(lm, data, probe)
    else:
        frame, summary = None, "not verified"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=exporter.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        info = exporter.export(lm, tmp, frame)
        result = None
        if verify:
            result = _verify_frames(lm, tmp, fmt, [frame], tol, runtimes or list(exporter.runtimes), summary, str(target))
        manifest = _manifest(lm, fmt, target, tmp, info, result, summary)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    mpath = manifest_path(target)
    atomic_write(mpath, json.dumps(manifest, indent=2, default=str))
    return ExportResult(target, mpath, result, summary)


def _manifest(lm: LoadedModel, fmt: str, target: Path, built: Path, info: dict[str, Any], result: ParityResult | None,
              summary: str) -> dict[str, Any]:
    from .versions import report as versions

    return {
        "mlexport_manifest": 1,
        "mlexport_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "format": fmt,
        "artifact": target.name,
        "artifact_sha256": sha256_file(built),
        "model": {"source": lm.source, "sha256": lm.sha256, "task": lm.task,
                  "classes": list(lm.classes) if lm.classes is not None else None,
                  "pickled_with_sklearn": lm.pickled_sklearn_version},
        "signature": lm.signature.to_dict(),
        "export": info,
        "versions": {"python": platform.python_version(), **versions()},
        "parity": result.to_dict() if result else None,
        "verification_data": summary,
    }


def _load_scorer(name: str, artifact: Path, fmt: str | None = None) -> Any:
    """A loaded scorer for ``artifact``, after checking the runtime can run here."""
    from .versions import check_for

    rt = get_runtime(name)
    if fmt is not None and rt.format != fmt:
        raise BadInputError(f"runtime {name} reads {rt.format} artifacts, not {fmt}.")
    reason = rt.available()
    if reason:
        raise MissingDependencyError(f"runtime {name}: {reason}")
    check_for(name)
    return rt.load(artifact)


Progress = Callable[[str, int], None]  # (what, rows done so far)


def _runtime_parity(name: str, lm: LoadedModel, artifact: Path, fmt: str, chunks: list[pd.DataFrame] | Any,
                    tol: Tolerance, progress: Progress | None = None) -> tuple[RuntimeParity, int]:
    merged: dict[str, list[tuple[int, OutputParity]]] = {}
    rows = 0
    try:
        scorer = _load_scorer(name, artifact, fmt)
    except RuntimeFailure as e:  # a damaged artifact is a parity failure of this runtime, not bad input
        return RuntimeParity(name, (), error=str(e)), rows
    theirs = getattr(scorer, "signature", None)
    if theirs is not None and theirs.names != lm.signature.names:
        scorer.close()
        missing = [c for c in lm.signature.names if c not in theirs.names]
        extra = [c for c in theirs.names if c not in lm.signature.names]
        detail = f"missing {missing}, unexpected {extra}" if missing or extra else "in another order"
        return RuntimeParity(name, (), error=f"the artifact's inputs differ from the model's: {detail}"), rows
    omits = getattr(get_runtime(name), "omits", None)
    try:
        for chunk, got in _scored(scorer, chunks):
            if isinstance(got, RuntimeFailure):
                return RuntimeParity(name, tuple(_merge(n, p) for n, p in merged.items()), error=str(got)), rows + len(chunk)
            for op in compare(native_outputs(lm, chunk), got, tol, omits):
                merged.setdefault(op.name, []).append((rows, op))
            rows += len(chunk)
            if progress:
                progress(f"parity {name}", rows)
    finally:
        scorer.close()
    return RuntimeParity(name, tuple(_merge(n, parts) for n, parts in merged.items())), rows


def _scored(scorer: Any, chunks: Any) -> Any:
    """(chunk, its outputs) in order; the outputs are the RuntimeFailure instead when the
    runtime fails on that chunk. A scorer with ``predict_stream`` (json-go, json-java) scores
    every chunk in one process, as ``score`` does, instead of starting one per chunk."""
    stream = getattr(scorer, "predict_stream", None)
    if stream is None:
        for chunk in chunks:
            try:
                yield chunk, scorer.predict(chunk)
            except RuntimeFailure as e:
                yield chunk, e
                return
        return
    fed: collections.deque[pd.DataFrame] = collections.deque()  # handed to the process, not yet answered

    def feed() -> Any:
        for chunk in chunks:
            fed.append(chunk)
            yield chunk

    outputs = stream(feed())
    try:
        for got in outputs:
            yield fed.popleft(), got
    except RuntimeFailure as e:
        yield (fed.popleft() if fed else pd.DataFrame()), e
    finally:
        outputs.close()  # ends the scorer process if the caller stopped early


def _merge(name: str, parts: list[tuple[int, OutputParity]]) -> OutputParity:
    if len(parts) == 1 and parts[0][0] == 0:
        return parts[0][1]
    ops = [p for _, p in parts]
    abs_errs = [p.max_abs_err for p in ops if p.max_abs_err is not None]
    rel_errs = [p.max_rel_err for p in ops if p.max_rel_err is not None]
    ranked = sorted(parts, key=lambda t: -(t[1].max_abs_err or 0.0))
    worst = [off + r for off, p in ranked for r in p.worst_rows][:5]
    return OutputParity(
        name,
        all(p.passed for p in ops),
        max(abs_errs) if abs_errs else None,
        max(rel_errs) if rel_errs else None,
        sum(p.mismatches for p in ops),
        tuple(worst),
        "; ".join(sorted({p.note for p in ops if p.note})),
    )


def _verify_frames(lm: LoadedModel, artifact: Path, fmt: str, chunks: Any, tol: Tolerance, runtimes: list[str],
                   summary: str, shown_as: str, progress: Progress | None = None) -> ParityResult:
    results = []
    rows = 0
    for name in runtimes:
        rp, rows = _runtime_parity(name, lm, artifact, fmt, chunks if isinstance(chunks, list) else chunks(), tol, progress)
        results.append(rp)
    return ParityResult(fmt, shown_as, rows, tol, tuple(results), summary)


def verify(
    model: Any,
    artifact: str | Path,
    *,
    data: Any = None,
    runtimes: list[str] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    probe: bool = False,
    trust: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> ParityResult:
    """Score ``artifact`` in each runtime and compare with ``model`` on ``data``.

    ``progress(what, rows_done)`` is called after each chunk (for progress bars)."""
    tol = Tolerance(rtol, atol)
    lm = as_model(model, trust)
    art = Path(artifact)
    if not art.exists():
        raise BadInputError(f"{art}: no such file.")
    fmt = format_of(art)
    names = runtimes or list(get_exporter(fmt).runtimes)
    if data is not None and not isinstance(data, (pd.DataFrame, np.ndarray)) and not probe:
        source = Path(data)
        chunks: Any = lambda: iter_data(source, lm.signature, CHUNK_ROWS)  # noqa: E731 - re-iterable per runtime
        summary = source.name
    else:
        frame, summary = _sample(lm, data, probe)
        chunks = [frame]
    return _verify_frames(lm, art, fmt, chunks, tol, names, summary, str(art), progress)


def score(artifact: str | Path, data: Any, *, runtime: str | None = None, out: str | Path | None = None,
          progress: Progress | None = None) -> Outputs | int:
    """Predictions of ``artifact`` on ``data``.

    With ``out``, predictions are streamed chunk by chunk into that CSV (written
    atomically) and the number of rows is returned, so memory stays flat however
    large the file; without ``out`` the :class:`Outputs` are returned.
    """
    art = Path(artifact)
    if not art.exists():
        raise BadInputError(f"{art}: no such file.")
    fmt = format_of(art)
    scorer = _load_scorer(runtime or get_exporter(fmt).runtimes[0], art, fmt)
    try:
        if isinstance(data, (pd.DataFrame, np.ndarray)):
            from .data import conform

            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data, columns=scorer.signature.names)
            chunks: Any = [conform(frame, scorer.signature)]
            parts: Any = (scorer.predict(chunk) for chunk in chunks)
        else:
            done = _score_file(scorer, Path(data), out, progress)
            if done is not None:
                return done
            chunks = iter_data(data, scorer.signature, CHUNK_ROWS)
            stream = getattr(scorer, "predict_stream", None)  # one scorer process for all chunks
            parts = stream(chunks) if stream is not None else (scorer.predict(chunk) for chunk in chunks)
        if out is None:
            return concat(list(parts))
        return _stream_csv(Path(out), parts, progress)
    finally:
        scorer.close()


def _score_file(scorer: Any, data: Path, out: str | Path | None, progress: Progress | None) -> Outputs | int | None:
    """Let a command-line scorer (json-go, json-java) read the data file itself, as it does when
    run by hand; None when it cannot take the file as it is, which is then read the ordinary
    way (so that missing-value spellings and errors naming row and column stay mlexport's)."""
    from .runtimes.cli_stream import InputRejected

    direct = getattr(scorer, "score_file", None)
    parts = direct(data) if direct is not None else None
    if parts is None:
        return None
    try:
        return concat(list(parts)) if out is None else _stream_csv(Path(out), parts, progress)
    except InputRejected:
        return None


def _stream_csv(out: Path, parts: Any, progress: Progress | None = None) -> int:
    """Write each part's score columns to ``out`` as they come; atomic rename at the end."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    rows = 0
    try:
        with os.fdopen(fd, "w", newline="") as f:
            for i, part in enumerate(parts):
                frame = part.to_frame()
                f.write(score_csv(frame, header=(i == 0)))  # = frame.to_csv(float_format="%.17g"), faster
                rows += len(frame)
                if progress:
                    progress("scored", rows)
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return rows


def inspect(artifact: str | Path) -> dict[str, Any]:
    """What an artifact takes and gives, for the engineer who will feed it."""
    art = Path(artifact)
    if not art.exists():
        raise BadInputError(f"{art}: no such file.")
    fmt = format_of(art)
    rt = get_runtime(get_exporter(fmt).runtimes[0])
    info: dict[str, Any] = {"artifact": str(art), "format": fmt, "size_bytes": art.stat().st_size}
    scorer = _load_scorer(rt.name, art)
    try:
        info["signature"] = scorer.signature.to_dict()
        info["task"] = getattr(scorer, "task", None)
        info["classes"] = list(scorer.classes) if getattr(scorer, "classes", None) is not None else None
    finally:
        scorer.close()
    if hasattr(rt, "describe"):
        info.update(rt.describe(art))
    m = manifest_path(art)
    if m.exists():
        try:
            manifest = json.loads(m.read_text())
            info["manifest"] = {k: manifest.get(k) for k in ("created", "mlexport_version", "artifact_sha256", "model", "versions")}
            info["manifest"]["parity_passed"] = (manifest.get("parity") or {}).get("passed")
            info["sha256_matches_manifest"] = manifest.get("artifact_sha256") == sha256_file(art)
        except (OSError, ValueError):
            info["manifest"] = "unreadable"
    return info
