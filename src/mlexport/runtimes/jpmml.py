"""JPMML-Evaluator runtime, in the JVM that mlexport shares with the converter.

Scoring goes through ``PmmlBatchScorer`` (``scorers/PmmlBatchScorer.java``,
compiled once by :mod:`mlexport.jvm`): Python hands whole columns to Java
(``double[]`` / ``String[]``) and gets ``int[]`` labels and ``double[]``
probabilities or values back, one call per batch. Rows are scored in parallel
chunks on the JVM's common pool. Loading replays the PMML's embedded
``ModelVerification`` rows, so a file that no longer scores like the model that
wrote it fails at load time.

Loaded scorers are reused. A process keeps the :data:`LOADED_KEEP` most
recently used Java scorers, keyed by the file's content (:func:`_cache_key`, so
a file rewritten on disk is a new key) and form: compiled (from a jar, see
below), interpreted with the verification rows replayed, or interpreted without
them. A later load of the same bytes takes the same Java object: no reparse, no
new class loader, and code the JIT has already compiled. An interpreted scorer
loaded without verification never serves a load that asks for it (the file is
loaded again, replaying them); a compiled one is reused only while its jar is
the file it came from. Per-batch options travel with each ``score`` call
(nothing is set on the shared object), so users cannot see each other's; a
:meth:`JpmmlScorer.close` releases its use only, and the Java object is closed
once it has left the cache and its last user is done with it.

Tree models are transpiled once they have scored enough rows.
JPMML-Evaluator interprets a forest by walking its PMML objects for every row
(~1.5 us of CPU per tree and row); JPMML-Transpiler (in the same jars)
translates the file into Java, compiled in memory, and loads from its jar in
0.06 s instead of parsing XML. Measured on a 2-core machine with the bench's
100-tree forest (30 features) and 50,000 rows: predict takes 1.2 to 1.3 s on a
reused compiled scorer, 3.4 to 3.6 s on one freshly loaded from its jar (new
classes: the JIT starts over, which is why reuse matters) and ~5 s interpreted;
whole ``mlexport score`` jobs (CSV in and out) took 8.9 s for the first job in
a process, then 1.2 to 1.6 s once compiled and reused, where
``jpmml_evaluator``'s ``evaluateAll`` took 4.9 to 10.8 s (busy machine).
Compiling that forest takes 4 to 9 s of javac (up to 20 s on a loaded machine),
more than one 50,000-row chunk saves, so rows are counted per file content
across jobs (in this process, and in a ``<key>.rows`` file next to the jars, so
separate ``mlexport score`` processes add up) and a tree model is transpiled
before the batch that brings its count to :data:`TRANSPILE_MIN_ROWS` (the
second 50,000-row job on a file). The jar is cached by the file's content (next
to the compiled helpers, :data:`TRANSPILED_KEEP` most recently used): every
later load of the same file, whatever its batch size, starts from it. Other
models are not transpiled: on the bench's linear pipeline (StandardScaler +
LogisticRegression, 30 features) a reused scorer predicts 50,000 rows in 0.27 s
interpreted and 0.27 s compiled, so javac's seconds buy nothing there. A jar is
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
import threading
from collections import OrderedDict
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
ROWS_KEEP = 256  # row counts (``<key>.rows``) kept for files not transpiled yet
LOADED_KEEP = 4  # loaded Java scorers kept for reuse in this process


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
    """Keep the ``keep`` most recently used jars (and failure notes) of ``directory``, and the
    :data:`ROWS_KEEP` most recently updated row counts."""
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in [p for p in entries if p.suffix in (".jar", ".failed")][keep:]:
        old.unlink(missing_ok=True)
    for old in [p for p in entries if p.suffix == ".rows"][ROWS_KEEP:]:
        old.unlink(missing_ok=True)


# --------------------------------------------------------------------------- rows scored per file


_lock = threading.RLock()
_pending_rows: dict[str, int] = {}  # rows this process has not written to a ``.rows`` file yet
_known_rows: dict[str, int] = {}  # the count last read from or written to it
ROWS_FLUSH = 10_000  # unwritten rows that make a job write the count (a row-by-row service does no I/O per row)


def _add_rows(key: str, n: int) -> int:
    """Rows scored on the file with content ``key`` so far, ``n`` included, by every job that
    counted them: the ``<key>.rows`` file next to the cached jars (so that separate processes
    add up) plus what this process has not written there yet (written once
    :data:`ROWS_FLUSH` rows are pending, and at :meth:`JpmmlScorer.close`)."""
    with _lock:
        pending = _pending_rows.get(key, 0) + n
        _pending_rows[key] = pending
        if key not in _known_rows:
            _known_rows[key] = _read_rows(key)
        if pending >= ROWS_FLUSH or _known_rows[key] + pending >= TRANSPILE_MIN_ROWS:
            _flush_rows(key)
        return _known_rows[key] + _pending_rows.get(key, 0)


def _read_rows(key: str) -> int:
    for directory in _transpiled_dirs():
        path = directory / f"{key}.rows"
        try:
            if path.is_file():
                return int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            continue
    return 0


def _flush_rows(key: str) -> None:
    """Add this process's pending rows for ``key`` to its ``.rows`` file (kept pending when no
    cache directory is writable)."""
    with _lock:
        pending = _pending_rows.get(key, 0)
        if not pending:
            return
        for directory in _transpiled_dirs():
            path = directory / f"{key}.rows"
            try:
                done = int(path.read_text().strip() or 0) if path.is_file() else 0
            except (OSError, ValueError):
                done = 0
            try:
                directory.mkdir(parents=True, exist_ok=True)
                tmp = directory / f".{key}.rows.{os.getpid()}.tmp"
                tmp.write_text(str(done + pending))
                os.replace(tmp, path)
            except OSError:
                continue
            _pending_rows.pop(key, None)
            _known_rows[key] = done + pending
            return


def _forget_rows(key: str) -> None:
    with _lock:
        _pending_rows.pop(key, None)
        _known_rows.pop(key, None)
        for directory in _transpiled_dirs():
            try:
                (directory / f"{key}.rows").unlink(missing_ok=True)
            except OSError:
                pass


# --------------------------------------------------------------------------- loaded scorers, reused


class _Loaded:
    """A loaded Java ``PmmlBatchScorer`` and how many :class:`JpmmlScorer` use it. It is
    closed once it has left the cache and its last user is done with it."""

    __slots__ = ("java", "stamp", "users", "cached")

    def __init__(self, java: Any, stamp: Any = None) -> None:
        self.java = java
        self.stamp = stamp  # transpiled: the jar it came from, as _jar_stamp saw it
        self.users = 1
        self.cached = False


# (content key, form) -> loaded scorer, least recently used first. Forms: "transpiled" (its
# jar's code passed the file's verification rows when it was built), "verified" (the file,
# its verification rows replayed at load), "unverified" (the file, loaded without them).
_loaded: OrderedDict[tuple[str, str], _Loaded] = OrderedDict()


def _jar_stamp(jar: Path) -> Any:
    try:
        st = jar.stat()
    except OSError:
        return None
    return (str(jar), st.st_dev, st.st_ino, st.st_size)


def _take(key: str, form: str, jar: Path | None = None) -> _Loaded | None:
    """The cached scorer of that form, one more user counted; a transpiled one only while
    ``jar`` is still the file it was loaded from (a replaced or damaged jar is not reused)."""
    with _lock:
        entry = _loaded.get((key, form))
        if entry is None:
            return None
        if jar is not None and (entry.stamp is None or entry.stamp != _jar_stamp(jar)):
            _evict((key, form))
            return None
        _loaded.move_to_end((key, form))
        entry.users += 1
        return entry


def _put(key: str, form: str, java: Any, stamp: Any = None) -> _Loaded:
    """Cache a newly loaded scorer (one user: the caller); forms it supersedes leave the cache."""
    with _lock:
        entry = _Loaded(java, stamp)
        entry.cached = True
        superseded = {"transpiled": ("transpiled", "verified", "unverified"), "verified": ("verified", "unverified")}
        for old in superseded.get(form, (form,)):
            _evict((key, old))
        _loaded[(key, form)] = entry
        while len(_loaded) > LOADED_KEEP:
            _evict(next(iter(_loaded)))
        return entry


def _evict(slot: tuple[str, str]) -> None:
    with _lock:
        entry = _loaded.pop(slot, None)
        if entry is not None:
            entry.cached = False
            if entry.users == 0:
                _close(entry)


def _release(entry: _Loaded) -> None:
    with _lock:
        entry.users -= 1
        if entry.users == 0 and not entry.cached:
            _close(entry)


def _close(entry: _Loaded) -> None:
    java, entry.java = entry.java, None
    if java is not None:
        try:
            java.close()
        except Exception:  # closing releases a jar; nothing to report
            pass


def forget_loaded() -> None:
    """Drop every loaded scorer kept for reuse (each closes once its last user is done)."""
    with _lock:
        for slot in list(_loaded):
            _evict(slot)


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
        self._key: str = _cache_key(self.artifact)
        self._transpile_tried = self._mode == "never"
        self._trees: bool | None = None  # a tree model? (asked once it matters)
        self._entry: _Loaded | None = self._acquire()
        self._java: Any = self._entry.java
        if self._mode == "always":
            self._transpile()
        self._has_proba = bool(self._java.hasProbabilities())

    def _acquire(self) -> _Loaded:
        """A loaded Java scorer for this file: the compiled form when one is cached (in this
        process, or as a jar) and transpiling is not off; else the file loaded as asked,
        reused when this process loaded the same bytes before (with verification, if asked)."""
        from .. import jvm

        if self._mode != "never":
            entry = self._load_cached()
            if entry is not None:
                return entry
        forms = ("verified",) if self._verify else ("verified", "unverified")
        for form in forms:
            entry = _take(self._key, form)
            if entry is not None:
                return entry
        try:
            java = self._Scorer(str(self.artifact.absolute()), self._verify)
        except self._jpype.JException as e:
            raise RuntimeFailure(f"jpmml: cannot load {self.artifact}: {jvm.java_message(e)}") from None
        now = _cache_key(self.artifact)
        if now != self._key:  # rewritten while it loaded: what was read is not known, not cached
            self._key = now
            return _Loaded(java)
        return _put(self._key, "verified" if self._verify else "unverified", java)

    @property
    def transpiled(self) -> bool:
        """True when the compiled (transpiled) form of the file scores."""
        return self._java is not None and bool(self._java.isTranspiled())

    def _cached_jar(self) -> Path | None:
        directories = [d for d in _transpiled_dirs() if d.is_dir()]
        for directory in directories:
            if (directory / f"{self._key}.failed").exists():
                self._transpile_tried = True  # tried before: the transpiler cannot take this file
                return None
            jar = directory / f"{self._key}.jar"
            if jar.is_file():
                return jar
        return None

    def _load_cached(self) -> _Loaded | None:
        """The scorer over this file's cached transpiled jar (the one this process loaded from
        it before, while that jar is unchanged), or None (no jar, or it fails)."""
        jar = self._cached_jar()
        if jar is None:
            return None
        entry = _take(self._key, "transpiled", jar)
        if entry is None:
            java = self._load_jar(jar)
            if java is None:
                return None
            entry = _put(self._key, "transpiled", java, _jar_stamp(jar))
        try:
            os.utime(jar)  # recently used: kept by _prune
        except OSError:
            pass
        return entry

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
        if self._mode != "always" and not self._has_trees():
            self._transpile_tried = True
            return  # what the transpiler leaves interpreted (expressions) dominates other models
        found = self._load_cached()  # another scorer may have built it meanwhile
        if self._transpile_tried:
            return  # noted as failed before
        self._transpile_tried = True
        if found is not None:
            self._swap(found)
            return
        root, work = work_dir(".pmml-transpile-")
        directory = root / TRANSPILED_DIR
        try:
            directory.mkdir(parents=True, exist_ok=True)
            built = work / "model.jar"
            # checks the compiled code against the file's verification rows (whatever
            # ``verify`` asks of this scorer): a cached jar passed them, cached loads skip them
            self._Scorer.transpile(
                str(self.artifact.absolute()), str(built), f"{self._Scorer.TRANSPILED_PACKAGE}.P{self._key[:16]}"
            )
            jar = directory / f"{self._key}.jar"
            os.replace(built, jar)
            _forget_rows(self._key)
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
            self._swap(_put(self._key, "transpiled", java, _jar_stamp(jar)))

    def _swap(self, entry: _Loaded) -> None:
        old, self._entry, self._java = self._entry, entry, entry.java
        if old is not None:
            _release(old)
        self._has_proba = bool(self._java.hasProbabilities())

    def _has_trees(self) -> bool:
        if self._trees is None:
            self._trees = bool(self._java.hasTrees())
        return self._trees

    def predict(self, X: pd.DataFrame) -> Outputs:
        from ..exporters.pmml import label_array, prepare_inputs

        jpype = self._jpype
        iface = self.interface
        n = len(X)
        if self._java is None:
            raise RuntimeFailure("jpmml: scorer used after close()")
        if not self._transpile_tried and self._mode == "auto" and self._has_trees() and not self.transpiled:
            # rows scored on these bytes by every job so far, this batch included
            if _add_rows(self._key, n) >= TRANSPILE_MIN_ROWS:
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
                True,  # probabilities (when the file has them)
                True,  # parallel chunks
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
        """Done with the Java scorer: closed here only when the reuse cache no longer holds it
        and no other :class:`JpmmlScorer` uses it (else when it is evicted, or by its last user)."""
        entry, self._entry, self._java = self._entry, None, None
        if entry is not None:
            _flush_rows(self._key)
            _release(entry)


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
