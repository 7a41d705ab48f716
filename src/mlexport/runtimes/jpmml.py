"""JPMML-Evaluator runtime, in the JVM that mlexport shares with the converter.

Scoring goes through ``PmmlBatchScorer`` (``scorers/PmmlBatchScorer.java``,
compiled once by :mod:`mlexport.jvm`): Python hands whole columns to Java
(``double[]`` / ``String[]``) and gets ``int[]`` labels and ``double[]``
probabilities or values back, one call per batch. Rows are scored in parallel
chunks on the JVM's common pool. Loading replays the PMML's embedded
``ModelVerification`` rows, so a file that no longer scores like the model that
wrote it fails at load time.

Tree models are transpiled for large jobs. JPMML-Evaluator interprets a forest
by walking its PMML objects for every row (~1.5 us of CPU per tree and row);
JPMML-Transpiler (in the same jars) translates the file into Java, compiled in
memory. On a 100-tree forest and 50,000 rows its code scores in 1.1 s instead
of 2.4 s once the JIT is warm, and in 3.0 s instead of 6 to 7 s in a fresh
process; it loads from its jar in 0.06 s instead of parsing XML (0.6 s).
Compiling that forest takes 4 to 9 s of javac, more than one 50,000-row chunk
saves, so a scorer transpiles only once it has been handed
:data:`TRANSPILE_MIN_ROWS` rows in all (``mlexport score`` on a file of more
than two 50,000-row chunks), and the jar is cached by the file's content (next
to the compiled helpers, :data:`TRANSPILED_KEEP` most recently used): every
later load of the same file, whatever its batch size, starts from it. A jar is
cached only after its compiled code scored the file's
verification rows exactly as the file says (so a cached load does not replay
them: same bytes, same code); a file the transpiler cannot take, or whose
compiled form fails them, is scored interpreted (and remembered as such).
``MLEXPORT_JPMML_TRANSPILE=0`` turns transpiling off, ``=1`` transpiles any
model at load time.

JPMML-Evaluator and JPMML-Transpiler are AGPL-3.0.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MissingDependencyError, RuntimeFailure
from ..outputs import Outputs

TRANSPILE_MIN_ROWS = 100_000
TRANSPILE_ENV = "MLEXPORT_JPMML_TRANSPILE"
TRANSPILED_DIR = "pmml-transpiled"
TRANSPILED_KEEP = 32


def transpile_mode() -> str:
    """``"auto"`` (tree models, large batches), ``"never"`` or ``"always"``, from :data:`TRANSPILE_ENV`."""
    value = os.environ.get(TRANSPILE_ENV, "").strip().lower()
    if value in ("0", "no", "off", "false", "never"):
        return "never"
    if value in ("1", "yes", "on", "true", "always"):
        return "always"
    return "auto"


def _transpiled_dirs() -> list[Path]:
    """Where transpiled jars live: the cache root, then the per-user fallback that
    :func:`mlexport.cache.work_dir` uses when the cache root is not writable."""
    import tempfile

    from ..cache import cache_root

    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return [cache_root() / TRANSPILED_DIR, Path(tempfile.gettempdir()) / f"mlexport-{uid}" / TRANSPILED_DIR]


def _cache_key(artifact: Path) -> str:
    """The file's content plus what its compiled form depends on: the helper build (hash of
    mlexport's Java sources and of the evaluator jars) and the Java version."""
    from .. import jvm

    h = hashlib.sha256()
    with open(artifact, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    h.update(b"\0" + jvm.helper_classes().name.encode() + b"\0" + jvm.find_java().version.encode())
    return h.hexdigest()[:40]


def _prune(directory: Path, keep: int) -> None:
    """Keep the ``keep`` most recently used jars (and failure notes) of ``directory``."""
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in [p for p in entries if p.suffix in (".jar", ".failed")][keep:]:
        old.unlink(missing_ok=True)


class JpmmlScorer:
    """``verify=False`` skips replaying the embedded verification rows at load time
    (to score a file anyway and let a parity report show where it differs)."""

    def __init__(self, artifact: Path, verify: bool = True) -> None:
        import jpype

        from .. import jvm
        from ..exporters.pmml import scorable_interface

        self.artifact = Path(artifact)
        self.interface = scorable_interface(self.artifact, "jpmml")
        self.signature = self.interface.signature
        self.task = self.interface.task
        self.classes = self.interface.classes
        self._verify = bool(verify)
        self._jpype = jpype
        self._Scorer = jvm.helper_class("PmmlBatchScorer")
        self._mode = transpile_mode()
        self._key: str | None = None
        self._transpile_tried = self._mode == "never"
        self._rows = 0  # scored so far, this batch included
        self._java: Any = self._load_cached() if self._mode != "never" else None
        if self._java is None:
            try:
                self._java = self._Scorer(str(self.artifact.absolute()), self._verify)
            except jpype.JException as e:
                raise RuntimeFailure(f"jpmml: cannot load {self.artifact}: {jvm.java_message(e)}") from None
            if self._mode == "always":
                self._transpile()
        self._has_proba = bool(self._java.hasProbabilities())

    @property
    def transpiled(self) -> bool:
        """True when the compiled (transpiled) form of the file scores."""
        return self._java is not None and bool(self._java.isTranspiled())

    def _cached_jar(self, build: bool = False) -> Path | None:
        directories = [d for d in _transpiled_dirs() if d.is_dir()]
        if not directories and not build:
            return None  # nothing cached yet: no need to hash the file
        if self._key is None:
            self._key = _cache_key(self.artifact)
        for directory in directories:
            if (directory / f"{self._key}.failed").exists():
                self._transpile_tried = True  # tried before: the transpiler cannot take this file
                return None
            jar = directory / f"{self._key}.jar"
            if jar.is_file():
                return jar
        return None

    def _load_cached(self) -> Any:
        """The scorer over this file's cached transpiled jar, or None (no jar, or it fails)."""
        jar = self._cached_jar()
        if jar is None:
            return None
        java = self._load_jar(jar)
        if java is not None:
            try:
                os.utime(jar)  # recently used: kept by _prune
            except OSError:
                pass
        return java

    def _load_jar(self, jar: Path) -> Any:
        """The scorer over a cached jar (it scored the file's verification rows right when it
        was built, see :meth:`_transpile`); None, and the entry dropped, if it cannot load."""
        try:
            return self._Scorer.loadTranspiled(str(jar))
        except self._jpype.JException as e:
            self._remember_failure(jar.parent, e)
            jar.unlink(missing_ok=True)
            return None

    def _remember_failure(self, directory: Path, exc: Any) -> None:
        from .. import jvm

        self._transpile_tried = True
        try:
            (directory / f"{self._key}.failed").write_text(jvm.java_message(exc)[:2000])
        except OSError:
            pass

    def _transpile(self) -> None:
        """Swap in the transpiled form of a tree model (transpiling and caching it first);
        keep scoring interpreted when the transpiler cannot take the file."""
        from ..cache import work_dir

        if self._transpile_tried or self.transpiled:
            return
        if self._mode != "always" and not bool(self._java.hasTrees()):
            self._transpile_tried = True
            return  # what the transpiler leaves interpreted (expressions) dominates other models
        jar = self._cached_jar(build=True)
        if self._transpile_tried:
            return  # noted as failed before
        self._transpile_tried = True
        if jar is None:
            root, work = work_dir(".pmml-transpile-")
            directory = root / TRANSPILED_DIR
            try:
                directory.mkdir(parents=True, exist_ok=True)
                built = work / "model.jar"
                assert self._key is not None
                # checks the compiled code against the file's verification rows (whatever
                # ``verify`` asks of this scorer): a cached jar passed them, cached loads skip them
                self._Scorer.transpile(
                    str(self.artifact.absolute()), str(built), f"{self._Scorer.TRANSPILED_PACKAGE}.P{self._key[:16]}"
                )
                jar = directory / f"{self._key}.jar"
                os.replace(built, jar)
            except self._jpype.JException as e:
                self._remember_failure(directory, e)
                return
            except OSError:
                return
            finally:
                shutil.rmtree(work, ignore_errors=True)
            _prune(directory, TRANSPILED_KEEP)
        java = self._load_jar(jar)
        if java is not None:
            old, self._java = self._java, java
            old.close()
            self._has_proba = bool(java.hasProbabilities())

    def predict(self, X: pd.DataFrame) -> Outputs:
        from ..exporters.pmml import label_array, prepare_inputs

        jpype = self._jpype
        iface = self.interface
        n = len(X)
        self._rows += n
        if self._rows >= TRANSPILE_MIN_ROWS and not self._transpile_tried:
            self._transpile()
        num_names, num, str_names, strs = prepare_inputs(iface, X)
        JString = jpype.JString
        flat_num = np.ascontiguousarray(num.T).ravel()
        flat_str: list[str | None] = [v for col in strs for v in col]
        try:
            batch = self._java.score(
                jpype.JArray(JString)(num_names),
                jpype.JArray(jpype.JDouble)(flat_num),
                jpype.JArray(JString)(str_names),
                jpype.JArray(JString)(flat_str),
                n,
            )
        except jpype.JException as e:
            from .. import jvm

            raise RuntimeFailure(f"jpmml: scoring failed: {jvm.java_message(e)}") from None
        if int(batch.errorRow) >= 0:
            raise RuntimeFailure(f"jpmml: row {int(batch.errorRow)} could not be scored: {batch.error}")
        width = int(batch.width)
        values = np.array(batch.values, dtype=np.float64).reshape(n, width) if width else None
        if iface.function == "classification":
            assert iface.classes is not None
            labels = label_array(iface.classes, np.array(batch.labels, dtype=np.int64))
            return Outputs(label=labels, proba=values if self._has_proba else None, classes=iface.classes)
        return Outputs(value=values[:, 0] if values is not None else np.full(n, np.nan))

    def close(self) -> None:
        java, self._java = self._java, None
        if java is not None:
            java.close()


class JpmmlRuntime:
    name = "jpmml"
    format = "pmml"
    # JPMML-SkLearn writes labels (and probabilities where sklearn has them)
    # as PMML's final results; raw decision values stay internal to the model
    omits = {"decision": "PMML output carries labels, not decision values"}

    def available(self) -> str | None:
        from .. import jvm

        missing = jvm.java_available()
        if missing:
            return missing
        try:
            jvm.helper_classes()
        except MissingDependencyError as e:
            return str(e)
        return None

    def load(self, artifact: Path, *, verify: bool = True) -> JpmmlScorer:
        return JpmmlScorer(Path(artifact), verify=verify)

    def describe(self, artifact: Path) -> dict[str, Any]:
        from ..exporters.pmml import describe

        return describe(artifact)


RUNTIME = JpmmlRuntime()
