"""``json-java``: the JSON format scored by ``MlexportJsonScorer`` (one Java class + Gson).

The scorer (``scorers/jvm/MlexportJsonScorer.java``) is what a JVM service
vendors; this runtime runs exactly that class, as a separate ``java`` process
(no JPype, no shared JVM): ``predict`` writes the frame to a temporary CSV,
runs one JVM over the whole batch and reads the CSV it writes back.
``mlexport score`` uses one JVM per call instead (:mod:`.cli_stream`):
``score_file`` hands a CSV file already in the scorer's input layout straight
to it, ``predict_stream`` pipes chunks through it.

* Needs ``java`` and ``javac`` (Java 11+; ``JAVA_HOME`` first, else ``PATH``)
  and a Gson jar: ``$MLEXPORT_GSON_JAR``, else ``/usr/share/java/gson.jar``
  (``apt-get install libgoogle-gson-java``).
* The class is compiled once into ``<cache>/jvm-json-<hash>`` where ``<cache>``
  is ``$MLEXPORT_CACHE`` (else ``$MLEXPORT_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/mlexport`` or ``~/.cache/mlexport``) and the hash covers
  the source, the Gson jar and the javac version. Compilation happens in a
  temporary sibling directory renamed into place, so concurrent processes
  never see half a cache.
* ``MLEXPORT_JAVA_OPTS`` adds JVM options (e.g. ``-Xmx4g``).

``load`` validates the document in Java (``--check``), so a document the Java
scorer refuses fails at load time, as with every other runtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
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

from ..cache import cache_root, work_dir
from ..errors import BadInputError, MissingDependencyError, RuntimeFailure
from ..fastcsv import scorer_input_csv
from ..jsonfmt import input_frame
from ..model import Column, Signature
from ..outputs import Outputs
from . import cli_stream

NAME = "json-java"
MAIN_CLASS = "dev.mlexport.MlexportJsonScorer"
SOURCE = "MlexportJsonScorer.java"
DEFAULT_GSON = "/usr/share/java/gson.jar"
GSON_HINT = "apt-get install libgoogle-gson-java, or set MLEXPORT_GSON_JAR to a Gson 2.8+ jar"
JDK_HINT = "Java 17 with javac (apt-get install openjdk-17-jdk-headless, or set JAVA_HOME to a JDK)"
RELEASE = "11"

_lock = threading.Lock()
_compiled: dict[str, Path] = {}


# --------------------------------------------------------------------------- tools


def _tool(name: str) -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        p = Path(home) / "bin" / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return shutil.which(name)


def gson_jar() -> Path | None:
    """The Gson jar to use: ``$MLEXPORT_GSON_JAR``, else the Debian one."""
    env = os.environ.get("MLEXPORT_GSON_JAR")
    for cand in ([env] if env else []) + [DEFAULT_GSON]:
        p = Path(cand)
        if p.is_file():
            return p
    return None


def source_text() -> bytes:
    return (resources.files("mlexport.runtimes") / "scorers" / "jvm" / SOURCE).read_bytes()


def _javac_version(javac: str) -> str:
    try:
        r = subprocess.run([javac, "-version"], capture_output=True, text=True, timeout=60)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def compiled_classes() -> Path:
    """Directory with the compiled scorer (compiled on first use, then cached on disk)."""
    javac = _tool("javac")
    if javac is None:
        raise MissingDependencyError(f"{NAME}: javac not found; install {JDK_HINT}.")
    gson = gson_jar()
    if gson is None:
        raise MissingDependencyError(f"{NAME}: Gson not found; {GSON_HINT}.")
    src = source_text()
    h = hashlib.sha256(src)
    h.update(b"\0" + str(gson.resolve()).encode() + b"\0" + str(gson.stat().st_size).encode())
    h.update(b"\0" + _javac_version(javac).encode())
    key = h.hexdigest()[:16]
    with _lock:
        root = cache_root()
        final = root / f"jvm-json-{key}"
        memo = str(final)  # keyed by place too: a changed MLEXPORT_CACHE means a new cache
        if memo in _compiled and (_compiled[memo] / ".complete").exists():
            return _compiled[memo]
        if not (final / ".complete").exists():
            root, work = work_dir(".jvm-json-")
            final = root / f"jvm-json-{key}"
            try:
                if not (final / ".complete").exists():
                    _compile(javac, gson, src, work, key, final)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        _compiled[memo] = final
        return final


def _compile(javac: str, gson: Path, src: bytes, work: Path, key: str, final: Path) -> None:
    src_dir = work / "src"
    out = work / "classes"
    src_dir.mkdir()
    out.mkdir()
    (src_dir / SOURCE).write_bytes(src)
    cmd = [javac, "--release", RELEASE, "-nowarn", "-encoding", "UTF-8", "-cp", str(gson), "-d", str(out),
           str(src_dir / SOURCE)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        raise MissingDependencyError(f"{NAME}: cannot run javac: {e}") from None
    if r.returncode != 0:
        raise RuntimeFailure(f"{NAME}: javac could not compile {SOURCE}: {(r.stderr or r.stdout).strip()[:2000]}")
    (out / ".complete").write_text(key)
    try:
        os.rename(out, final)
    except OSError:
        if not (final / ".complete").exists():  # a broken leftover: replace it
            shutil.rmtree(final, ignore_errors=True)
            os.rename(out, final)


def java_command(quick: bool = False) -> list[str]:
    """``java -cp <gson>:<classes> dev.mlexport.MlexportJsonScorer`` (compiles on first use).

    ``quick``: options for a short run (``--check``): C1 only and the serial GC start faster.
    """
    java = _tool("java")
    if java is None:
        raise MissingDependencyError(f"{NAME}: java not found; install {JDK_HINT}.")
    gson = gson_jar()
    if gson is None:
        raise MissingDependencyError(f"{NAME}: Gson not found; {GSON_HINT}.")
    classes = compiled_classes()
    opts = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"] if quick else []
    opts += shlex.split(os.environ.get("MLEXPORT_JAVA_OPTS", ""))
    return [java, *opts, "-cp", os.pathsep.join([str(gson), str(classes)]), MAIN_CLASS]


def _run(args: list[str], what: str, quick: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = java_command(quick) + args
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace")
    except OSError as e:
        raise RuntimeFailure(f"{NAME}: cannot run java: {e}") from None
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip()]
        msg = lines[-1] if lines else f"exit code {r.returncode}"
        msg = re.sub(r"^mlexport-json: ", "", msg)
        raise RuntimeFailure(f"{NAME}: {what}: {msg}")
    return r


# --------------------------------------------------------------------------- CSV in / out


def input_csv(X: pd.DataFrame, inputs: list[tuple[str, str, bool]], header: bool = True) -> bytes:
    """``X`` as the scorer's input CSV: every input column (unused ones empty), numbers as the
    shortest text that reads back to the same double, strings always quoted (a quoted "" is the
    empty string), a missing value as an unquoted empty field."""
    return scorer_input_csv(X, inputs, used_only=False, header=header)


def write_csv(X: pd.DataFrame, inputs: list[tuple[str, str, bool]], path: Path) -> None:
    Path(path).write_bytes(input_csv(X, inputs))


def _clean(msg: str) -> str:
    return "scoring failed: " + re.sub(r"^mlexport-json: ", "", msg)


def _floats(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=str).astype(np.float64) if len(values) else np.zeros(0)


# --------------------------------------------------------------------------- scorer


def _label_text(c: Any) -> str:
    if isinstance(c, bool):
        return str(c)
    if isinstance(c, float):
        return repr(c)
    return str(c)


class JsonJavaScorer:
    def __init__(self, artifact: Path) -> None:
        self.artifact = Path(artifact)
        if not self.artifact.is_file():
            raise BadInputError(f"{self.artifact}: no such file.")
        _run(["--check", str(self.artifact.absolute())], f"cannot load {self.artifact}", quick=True)
        try:
            doc = json.loads(self.artifact.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:  # pragma: no cover - Java accepted it
            raise RuntimeFailure(f"{NAME}: cannot read {self.artifact}: {e}") from None
        self.inputs: list[tuple[str, str, bool]] = [(c["name"], c["kind"], bool(c["used"])) for c in doc["inputs"]]
        names = [n for n, _k, _u in self.inputs]
        self.signature = Signature(tuple(Column(n, k) for n, k, _u in self.inputs),  # type: ignore[arg-type]
                                   named=names != [f"x{i}" for i in range(len(names))])
        self.task: str = doc["task"]
        out = doc["output"]
        self.classes: tuple[Any, ...] | None = tuple(out["classes"]) if out["kind"] == "classifier" else None
        self.has_proba = "proba" in out
        m = int(doc["model"]["n_outputs"])
        self.value_width = m
        self.squeeze = bool(out.get("squeeze", False)) and m == 1
        self._tmp: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory(prefix="mlexport-json-java-")

    def _columns(self, X: Any) -> pd.DataFrame:
        return input_frame(X, self.inputs)

    def _empty(self) -> Outputs:
        if self.classes is not None:
            from ..jsonfmt.score import label_array

            k = len(self.classes)
            width = self.value_width
            decision = None if self.has_proba else (np.zeros(0) if width == 1 else np.zeros((0, width)))
            return Outputs(label=label_array(list(self.classes))[:0], proba=np.zeros((0, k)) if self.has_proba else None,
                           classes=self.classes, decision=decision)
        return Outputs(value=np.zeros(0) if self.squeeze else np.zeros((0, self.value_width)))

    def predict(self, X: Any) -> Outputs:
        X = self._columns(X)
        if len(X) == 0:
            return self._empty()
        if self._tmp is None:
            raise RuntimeFailure(f"{NAME}: scorer is closed")
        work = Path(tempfile.mkdtemp(dir=self._tmp.name))
        try:
            inp, outp = work / "input.csv", work / "output.csv"
            write_csv(X, self.inputs, inp)
            _run([str(self.artifact.absolute()), str(inp), str(outp)], "scoring failed")
            frame = pd.read_csv(outp, dtype=str, keep_default_na=False, na_filter=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if len(frame) != len(X):
            raise RuntimeFailure(f"{NAME}: the Java scorer returned {len(frame)} rows for {len(X)}")
        return self._outputs(frame)

    def _outputs(self, frame: pd.DataFrame) -> Outputs:
        cols = [frame.iloc[:, j].to_numpy() for j in range(frame.shape[1])]
        if self.classes is None:
            vals = np.column_stack([_floats(c) for c in cols]) if cols else np.zeros((len(frame), 0))
            return Outputs(value=vals[:, 0] if self.squeeze else vals)
        from ..jsonfmt.score import label_array

        labels_all = label_array(list(self.classes))
        lut: dict[str, int] = {}
        for i, c in enumerate(self.classes):
            lut.setdefault(_label_text(c), i)
            lut.setdefault(_label_text(labels_all[i].item() if hasattr(labels_all[i], "item") else labels_all[i]), i)
        try:
            idx = np.fromiter((lut[t] for t in cols[0]), dtype=np.int64, count=len(cols[0]))
        except KeyError as e:
            raise RuntimeFailure(f"{NAME}: the Java scorer returned an unknown label {e.args[0]!r}") from None
        rest = np.column_stack([_floats(c) for c in cols[1:]]) if len(cols) > 1 else np.zeros((len(frame), 0))
        want = len(self.classes) if self.has_proba else self.value_width
        if rest.shape[1] != want:
            raise RuntimeFailure(f"{NAME}: the Java scorer returned {rest.shape[1]} probability/decision columns, not {want}")
        if self.has_proba:
            return Outputs(label=labels_all[idx], proba=rest, classes=self.classes)
        # no probabilities: the raw scores are the decision values (SPEC 8.1)
        return Outputs(label=labels_all[idx], classes=self.classes, decision=rest[:, 0] if want == 1 else rest)

    def _command(self) -> list[str]:
        if self._tmp is None:
            raise RuntimeFailure(f"{NAME}: scorer is closed")
        return [*java_command(), str(self.artifact.absolute())]

    def score_file(self, data: Path) -> Iterator[Outputs] | None:
        """Outputs for a whole CSV file read by the Java scorer itself (one JVM, chunked
        output), or None when the file is not in its input layout: a model fitted on an
        array (columns by position) or with a string column (missing-value spellings
        are mlexport's). May raise :class:`.cli_stream.InputRejected`: read it then."""
        cmd = self._command()
        if Path(data).suffix.lower() != ".csv" or not self.signature.named or \
                any(kind != "number" for _n, kind, used in self.inputs if used):
            return None
        return cli_stream.stream_file(cmd, Path(data), lambda frame, _n: self._outputs(frame), NAME, _clean)

    def predict_stream(self, chunks: Iterable[Any]) -> Iterator[Outputs]:
        """``predict`` of each chunk, in order, from one JVM fed through a pipe."""
        return cli_stream.stream_frames(self._command(), (self._columns(X) for X in chunks),
                                        lambda X, header: input_csv(X, self.inputs, header),
                                        lambda frame, _n: self._outputs(frame), self.predict, NAME, _clean)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class JsonJavaRuntime:
    name = NAME
    format = "json"

    def available(self) -> str | None:
        if _tool("java") is None or _tool("javac") is None:
            return f"needs {JDK_HINT}"
        if gson_jar() is None:
            return f"needs Gson: {GSON_HINT}"
        return None

    def load(self, artifact: Path | str) -> JsonJavaScorer:
        return JsonJavaScorer(Path(artifact))

    def describe(self, artifact: Path | str) -> dict[str, Any]:
        doc = json.loads(Path(artifact).read_text(encoding="utf-8"))
        ins = [{"name": c["name"], "type": c["kind"], "shape": [None]} for c in doc["inputs"]]
        out = doc["output"]
        outs: list[dict[str, Any]] = []
        if out["kind"] == "classifier":
            outs.append({"name": "label", "type": "class", "shape": [None]})
            if "proba" in out:
                outs.append({"name": "proba", "type": "double", "shape": [None, len(out["classes"])]})
        else:
            m = int(doc["model"]["n_outputs"])
            outs.append({"name": "value", "type": "double", "shape": [None] if m == 1 and out["squeeze"] else [None, m]})
        return {"inputs": ins, "outputs": outs}


RUNTIME = JsonJavaRuntime()
