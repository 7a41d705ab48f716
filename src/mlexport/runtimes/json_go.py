"""``json-go``: the JSON format scored by mlexport's Go scorer.

The Go sources ship as package data in ``runtimes/scorers/go`` (a standard
library only module, ``mlexport.dev/scorer``, and its command
``cmd/mlexport-score``). The command is built once with ``go build`` into a
cache directory named after a hash of the sources and of the Go version
(``$MLEXPORT_CACHE``, else ``$MLEXPORT_CACHE_DIR``, else
``$XDG_CACHE_HOME/mlexport`` or ``~/.cache/mlexport``; ``go-<hash>/``), built
offline (``GOPROXY=off``, ``GOFLAGS=-mod=mod``, ``CGO_ENABLED=0``, ``GOCACHE``
inside the cache directory) and renamed into place so that concurrent
processes never see half a build.

``load`` runs ``mlexport-score -describe`` once (which validates the whole
document); each ``predict`` writes the frame to a temporary CSV, scores the
whole file in one ``mlexport-score`` process and reads its CSV back.
``mlexport score`` uses one process per call instead (:mod:`.cli_stream`):
``score_file`` hands a CSV file already in the command's input layout straight
to it, ``predict_stream`` pipes chunks through it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cache import work_dir
from ..errors import BadInputError, MissingDependencyError, RuntimeFailure
from ..fastcsv import scorer_input_csv
from ..jsonfmt import input_frame
from ..jsonfmt.score import label_array
from ..model import Column, Signature
from ..outputs import Outputs
from . import cli_stream

GO_HINT = "Go is not installed (apt-get install golang-go)"
COMMAND = "mlexport-score"
SOURCE_PACKAGE = ("scorers", "go")

_lock = threading.RLock()
_built: dict[str, Path] = {}  # cache directory key -> command
_key: list[str] = []  # this process's key (sources and Go version do not change while it runs)


# --------------------------------------------------------------------------- build


def go_sources() -> list[tuple[str, bytes]]:
    """(relative path, bytes) of every file of the Go module shipped with mlexport."""
    root: Any = resources.files("mlexport.runtimes")
    for part in SOURCE_PACKAGE:
        root = root / part
    out: list[tuple[str, bytes]] = []

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            elif child.name == "go.mod" or child.name.endswith(".go"):
                out.append((rel, child.read_bytes()))

    walk(root, "")
    if not any(p == "go.mod" for p, _ in out):
        raise RuntimeFailure("json-go: the Go scorer sources are missing from the mlexport installation.")
    return out


def go_source_dir() -> Path:
    """The directory of the shipped Go module (for tests and examples)."""
    root: Any = resources.files("mlexport.runtimes")
    for part in SOURCE_PACKAGE:
        root = root / part
    return Path(str(root))


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise MissingDependencyError(GO_HINT)
    return go


def go_env(cache: Path) -> dict[str, str]:
    """Environment for an offline, reproducible ``go`` run."""
    env = dict(os.environ)
    env.update({
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
        "GOWORK": "off",
        "GOTELEMETRY": "off",
        "CGO_ENABLED": "0",
        "GOCACHE": str(cache / "go-build-cache"),
    })
    if "GOPATH" not in os.environ:
        env["GOPATH"] = str(cache / "gopath")
    return env


def _go_version(go: str) -> str:
    try:
        r = subprocess.run([go, "version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise MissingDependencyError(f"{GO_HINT}: '{go} version' failed ({e})") from None
    return r.stdout.strip()


def binary() -> Path:
    """Path of the ``mlexport-score`` command, built on first use."""
    with _lock:
        go = _go()
        if _key and _key[0] in _built and _built[_key[0]].exists():
            return _built[_key[0]]
        sources = go_sources()
        h = hashlib.sha256(_go_version(go).encode() + b"\0")
        for name, data in sources:
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        key = h.hexdigest()[:16]
        _key[:] = [key]
        if key in _built and _built[key].exists():
            return _built[key]
        root, work = work_dir(".go-build-")
        final = root / f"go-{key}"
        exe = final / COMMAND
        try:
            if (final / ".complete").exists() and exe.exists():
                _built[key] = exe
                return exe
            src = work / "src"
            out = work / "out"
            for name, data in sources:
                p = src / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            out.mkdir()
            cmd = [go, "build", "-trimpath", "-o", str(out / COMMAND), f"./cmd/{COMMAND}"]
            try:
                r = subprocess.run(cmd, cwd=src, env=go_env(root), capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                raise RuntimeFailure("json-go: 'go build' of the Go scorer timed out.") from None
            if r.returncode != 0:
                msg = " | ".join((r.stderr or r.stdout).strip().splitlines()[:5])
                raise RuntimeFailure(f"json-go: 'go build' of the Go scorer failed: {msg}")
            (out / ".complete").write_text(key)
            try:
                os.rename(out, final)
            except OSError:
                if not ((final / ".complete").exists() and exe.exists()):  # a broken leftover: replace it
                    shutil.rmtree(final, ignore_errors=True)
                    os.rename(out, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _built[key] = exe
        return exe


def _failure(r: subprocess.CompletedProcess[bytes], what: str) -> RuntimeFailure:
    lines = [ln.strip() for ln in r.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    line = lines[-1] if lines else f"{what} exited with status {r.returncode}"
    return RuntimeFailure(f"json-go: {line}")


# --------------------------------------------------------------------------- scorer


class GoScorer:
    def __init__(self, exe: Path, path: Path) -> None:
        self.exe = exe
        self.path = path
        try:
            r = subprocess.run([str(exe), "-describe", str(path)], capture_output=True, stdin=subprocess.DEVNULL)
        except OSError as e:
            raise RuntimeFailure(f"json-go: cannot run {exe}: {e}") from None
        if r.returncode != 0:
            raise _failure(r, COMMAND)
        info = json.loads(r.stdout)
        self.format_version = int(info["format_version"])
        self.task = info["task"]
        self.inputs = [(c["name"], c["kind"], bool(c["used"])) for c in info["inputs"]]
        names = [n for n, _, _ in self.inputs]
        named = names != [f"x{i}" for i in range(len(names))]
        self.signature = Signature(tuple(Column(n, k) for n, k, _ in self.inputs), named)
        classes = info["classes"]
        self.classes = tuple(classes) if classes is not None else None
        self.columns: list[str] = list(info["columns"])
        self.has_proba = bool(info["has_proba"])
        self._labels: dict[str, Any] = {}
        if classes is not None:
            for v in label_array(classes):
                text = str(v.item() if isinstance(v, np.generic) else v)
                if text in self._labels:
                    raise RuntimeFailure(f"json-go: classes {self._labels[text]!r} and {v!r} print the same; "
                                         "score this document with json-python")
                self._labels[text] = v
            self._label_values = label_array(classes)
        self._tmp: str | None = tempfile.mkdtemp(prefix="mlexport-go-")

    # -- input -------------------------------------------------------------------

    def _csv(self, X: Any, header: bool = True) -> tuple[bytes, int]:
        """The used input columns as CSV (shortest round-trip numbers, missing = empty field)."""
        X = input_frame(X, self.inputs)
        return scorer_input_csv(X, self.inputs, used_only=True, header=header), len(X)

    # -- output ------------------------------------------------------------------

    def _read(self, path: str, n: int) -> Outputs:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False)
        return self._outputs(frame, n)

    def _outputs(self, frame: pd.DataFrame, n: int) -> Outputs:
        """Outputs from the command's CSV output read as text (``frame``), ``n`` rows expected."""
        if list(frame.columns) != self.columns or len(frame) != n:
            raise RuntimeFailure(f"json-go: {COMMAND} wrote columns {list(frame.columns)} and {len(frame)} rows; "
                                 f"expected {self.columns} and {n} rows")

        def floats(cols: list[str]) -> np.ndarray:
            if not cols:
                return np.zeros((n, 0))
            return np.column_stack([frame[c].to_numpy(dtype=object).astype(np.float64) for c in cols]).reshape(n, len(cols))

        if self.task == "classification":
            texts = frame["label"].to_numpy(dtype=object)
            try:
                index = {t: i for i, t in enumerate(self._labels)}
                idx = np.fromiter((index[t] for t in texts), dtype=np.int64, count=n)
            except KeyError as e:
                raise RuntimeFailure(f"json-go: {COMMAND} wrote label {e.args[0]!r}, not one of the classes") from None
            label = self._label_values[idx]
            proba = floats(self.columns[1:]) if self.has_proba else None
            decision = None if self.has_proba else floats(self.columns[1:])
            if decision is not None and self.columns[1:] == ["decision"]:
                decision = decision[:, 0]
            return Outputs(label=label, proba=proba, classes=self.classes, decision=decision)
        value = floats(self.columns)
        if self.columns == ["value"]:
            value = value[:, 0]
        return Outputs(value=value)

    # -- contract ----------------------------------------------------------------

    def predict(self, X: Any) -> Outputs:
        if self._tmp is None:
            raise RuntimeFailure("json-go: scorer is closed")
        text, n = self._csv(X)
        fd, in_path = tempfile.mkstemp(suffix=".csv", dir=self._tmp)
        out_path = in_path[:-4] + ".out.csv"
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(text)
            try:
                r = subprocess.run([str(self.exe), str(self.path), in_path, out_path], capture_output=True,
                                   stdin=subprocess.DEVNULL)
            except OSError as e:
                raise RuntimeFailure(f"json-go: cannot run {self.exe}: {e}") from None
            if r.returncode != 0:
                raise _failure(r, COMMAND)
            return self._read(out_path, n)
        finally:
            for p in (in_path, out_path):
                try:
                    os.unlink(p)
                except OSError:
                    pass

    def score_file(self, data: Path) -> Iterator[Outputs] | None:
        """Outputs for a whole CSV file read by the command itself (one process, chunked
        output), or None when the file is not in its input layout: a model fitted on an
        array (columns by position) or with a string column (missing-value spellings
        are mlexport's). May raise :class:`.cli_stream.InputRejected`: read it then."""
        if self._tmp is None:
            raise RuntimeFailure("json-go: scorer is closed")
        if Path(data).suffix.lower() != ".csv" or not self.signature.named or \
                any(kind != "number" for _n, kind, used in self.inputs if used):
            return None
        return cli_stream.stream_file([str(self.exe), str(self.path)], Path(data), self._outputs, "json-go")

    def predict_stream(self, chunks: Iterable[Any]) -> Iterator[Outputs]:
        """``predict`` of each chunk, in order, from one process fed through a pipe."""
        if self._tmp is None:
            raise RuntimeFailure("json-go: scorer is closed")
        return cli_stream.stream_frames([str(self.exe), str(self.path)], chunks,
                                        lambda X, header: self._csv(X, header)[0], self._outputs, self.predict,
                                        "json-go")

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


class JsonGoRuntime:
    name = "json-go"
    format = "json"

    def available(self) -> str | None:
        return None if shutil.which("go") else GO_HINT

    def load(self, artifact: Path | str) -> GoScorer:
        reason = self.available()
        if reason:
            raise MissingDependencyError(reason)
        path = Path(artifact)
        if not path.exists():
            raise BadInputError(f"{path}: no such file.")
        return GoScorer(binary(), path.resolve())

    def describe(self, artifact: Path) -> dict[str, Any]:
        s = self.load(artifact)
        try:
            inputs = [{"name": n, "type": k, "shape": [None]} for n, k, _ in s.inputs]
            outputs = [{"name": c, "type": "string" if c == "label" else "number", "shape": [None]} for c in s.columns]
            return {"inputs": inputs, "outputs": outputs}
        finally:
            s.close()


RUNTIME = JsonGoRuntime()
