"""One JVM per process, shared by the PMML converter and the JPMML evaluator.

The JVM is started lazily (first :func:`start` or :func:`jclass` call) through
JPype, in-process, with one classpath made of

* the jars shipped in the installed ``sklearn2pmml`` package (JPMML-SkLearn and
  its dependencies), minus ``telemetry-client`` and sklearn2pmml's own command
  line jar (``com.sklearn2pmml.Main``: the program that phones home and expires
  360 days after its build). mlexport calls the conversion classes directly,
  so nothing ever leaves the machine;
* the jars shipped in the installed ``jpmml_evaluator`` package (JPMML-Evaluator);
* mlexport's own helper classes (``runtimes/scorers/PmmlBatchScorer.java``,
  ``PmmlFileWriter.java``, ``PmmlLoader.java``, ``PmmlTreeWriter.java``), compiled once with ``javac`` into a cache directory
  keyed by a hash of the sources (see :func:`helper_classes`).

PMML4S (the ``pmml4s`` runtime) runs in the same JVM but not on that classpath:
:func:`pmml4s_class` loads the jars of the installed ``pypmml`` package and
``Pmml4sBatchScorer.java`` (compiled once against them) in a class loader of
their own, so Scala and PMML4S never meet the converter's jars.

Both packages ship some of the same libraries. :func:`resolve_jars` keeps one
jar per Maven artifact (``groupId:artifactId`` from the jar's
``pom.properties``, else its file name), the newest version, and reports each
conflict it settled (for 0.133.1 / 0.16.0: ``pmml-converter`` 1.6.10 over
1.6.9, ``pmml-python`` 1.3.21 over 1.3.19, ``serpent`` 1.43 over 1.40).

Java classes are only ever reached through ``jpype.JClass`` (never ``import java.io``),
so a folder named ``java`` in the working directory, which shadows JPype's import
hook, does not break mlexport.

Environment: ``JAVA_HOME`` (else ``java`` on ``PATH``) picks the JVM;
``MLEXPORT_JAVA_OPTS`` adds JVM options (e.g. ``-Xmx4g``);
``MLEXPORT_CACHE`` (or ``MLEXPORT_CACHE_DIR``) overrides the helper cache (default
``$XDG_CACHE_HOME/mlexport`` or ``~/.cache/mlexport``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .cache import cache_root, work_dir
from .errors import MissingDependencyError, RuntimeFailure

JAVA_INSTALL_HINT = "Java 11+ (apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
JDK_INSTALL_HINT = "a Java 11+ JDK with javac (apt-get install openjdk-17-jdk-headless, or set JAVA_HOME to a JDK)"
MIN_JAVA = 11

# Jars never put on the classpath: the telemetry client, and the sklearn2pmml
# command-line application that uses it (we call the converter classes instead).
EXCLUDED_ARTIFACTS = frozenset({"org.jpmml:telemetry-client", "com.sklearn2pmml:sklearn2pmml"})

# Helper sources (package data) compiled into the JVM's classpath.
HELPER_SOURCES = ("PmmlBatchScorer.java", "PmmlFileWriter.java", "PmmlLoader.java", "PmmlTreeWriter.java")
HELPER_PACKAGE = "mlexport.pmml"

_lock = threading.RLock()
_state: dict[str, Any] = {"started": False, "helpers": None, "helpers_error": None, "classpath": None,
                          "pmml4s_helpers": None, "pmml4s_loader": None}


# --------------------------------------------------------------------------- jars


@dataclass(frozen=True)
class Jar:
    path: str
    artifact: str  # "groupId:artifactId", or the file name's stem without version
    version: str
    package: str  # the Python package that ships it


@dataclass(frozen=True)
class Conflict:
    artifact: str
    kept: Jar
    dropped: Jar

    def __str__(self) -> str:
        return (
            f"{self.artifact}: kept {self.kept.version} ({self.kept.package}), "
            f"dropped {self.dropped.version} ({self.dropped.package})"
        )


def _package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it: importing sklearn2pmml
    imports scikit-learn and SciPy (1.5 to 1.8 s), which ``mlexport score`` on PMML never needs."""
    from importlib.util import find_spec

    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise MissingDependencyError(
            f"PMML support needs the Python package '{name}': pip install 'mlexport[pmml]'."
        ) from None
    if spec.origin is None or spec.origin in ("built-in", "frozen"):
        raise MissingDependencyError(f"PMML support needs the Python package '{name}' installed from a wheel.")
    return Path(spec.origin).parent


JAR_FACTS = "jar-facts.json"
CONVERTER_MAPPING = "META-INF/sklearn2pmml.properties"
_facts: dict[str, Any] = {"loaded": False, "entries": {}, "dirty": False}


def jar_facts(path: Path) -> dict[str, Any]:
    """What mlexport reads from a jar: its Maven identity (``artifact``, ``version``) and
    JPMML-SkLearn's class mapping (``mapping``: the text of :data:`CONVERTER_MAPPING`, or
    None). Cached in the cache root by path, size and modification time: reading the
    central directories of the 70 jars took 0.3 to 0.4 s in every new process."""
    with _lock:
        if not _facts["loaded"]:
            _facts["loaded"] = True
            try:
                import json

                _facts["entries"] = json.loads((cache_root() / JAR_FACTS).read_text())
            except (OSError, ValueError):
                _facts["entries"] = {}
        try:
            st = path.stat()
            key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
        except OSError:
            key = None
        entry = _facts["entries"].get(key) if key else None
        if not isinstance(entry, dict):
            artifact, version, mapping = _read_jar(path)
            entry = {"artifact": artifact, "version": version, "mapping": mapping}
            if key:
                _facts["entries"][key] = entry
                _facts["dirty"] = True
        return entry


def _save_jar_facts() -> None:
    """Write the jar facts learned in this process (atomically; a read-only cache is fine)."""
    import json

    with _lock:
        if not _facts["dirty"]:
            return
        _facts["dirty"] = False
        try:
            root, work = work_dir(".jar-facts-")
            tmp = work / JAR_FACTS
            tmp.write_text(json.dumps(_facts["entries"]))
            os.replace(tmp, root / JAR_FACTS)
            shutil.rmtree(work, ignore_errors=True)
        except OSError:
            pass


def _read_jar(path: Path) -> tuple[str, str, str | None]:
    artifact = version = None
    mapping = None
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            for n in names:
                if n.startswith("META-INF/maven/") and n.endswith("/pom.properties"):
                    kv = dict(
                        line.split("=", 1)
                        for line in z.read(n).decode("utf-8", "replace").splitlines()
                        if "=" in line and not line.startswith("#")
                    )
                    if "groupId" in kv and "artifactId" in kv and "version" in kv:
                        artifact = f"{kv['groupId'].strip()}:{kv['artifactId'].strip()}"
                        version = kv["version"].strip()
                        break
            if CONVERTER_MAPPING in names:
                mapping = z.read(CONVERTER_MAPPING).decode("utf-8")
    except (OSError, zipfile.BadZipFile):
        pass
    if artifact is None or version is None:
        artifact, version = _name_identity(path)
    return artifact, version, mapping


def _name_identity(path: Path) -> tuple[str, str]:
    m = re.match(r"^(?P<name>.+?)-(?P<version>\d.*)\.jar$", path.name)
    if m:
        return m.group("name"), m.group("version")
    return path.stem, ""


def _jar_identity(path: Path) -> tuple[str, str]:
    facts = jar_facts(path)
    return facts["artifact"], facts["version"]


def _version_key(v: str) -> tuple[tuple[int, int | str], ...]:
    # numbers compare as numbers; a qualifier ("SNAPSHOT", "jre") sorts before any number
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"[.\-_+]", v) if p)


def _package_jars(package: str, subdirs: tuple[str, ...]) -> list[Jar]:
    base = _package_dir(package)
    out = []
    for sub in subdirs:
        for p in sorted((base / sub).glob("*.jar")):
            artifact, version = _jar_identity(p)
            out.append(Jar(str(p.resolve()), artifact, version, package))
    _save_jar_facts()
    return out


def resolve_jars(packages: tuple[str, ...] = ("sklearn2pmml", "jpmml_evaluator")) -> tuple[list[Jar], list[Conflict]]:
    """One jar per artifact across ``packages`` (newest version wins), and the conflicts settled."""
    jars, found = _resolve_jars(tuple(packages))
    return list(jars), list(found)


@lru_cache(maxsize=8)
def _resolve_jars(packages: tuple[str, ...]) -> tuple[tuple[Jar, ...], tuple[Conflict, ...]]:
    layout = {"sklearn2pmml": ("resources",), "jpmml_evaluator": ("resources", "dependencies")}
    kept: dict[str, Jar] = {}
    conflicts: list[Conflict] = []
    for pkg in packages:
        for jar in _package_jars(pkg, layout[pkg]):
            if jar.artifact in EXCLUDED_ARTIFACTS or jar.artifact.endswith(":telemetry-client"):
                continue
            old = kept.get(jar.artifact)
            if old is None:
                kept[jar.artifact] = jar
            elif old.version != jar.version:
                new_wins = _version_key(jar.version) > _version_key(old.version)
                winner, loser = (jar, old) if new_wins else (old, jar)
                kept[jar.artifact] = winner
                conflicts.append(Conflict(jar.artifact, winner, loser))
    return tuple(kept.values()), tuple(conflicts)


def classpath(helpers: bool = True) -> list[str]:
    """The JVM classpath: converter + evaluator jars (resolved), plus mlexport's compiled helpers.

    ``helpers=True`` compiles the helper classes if needed (needs ``javac``); when
    they cannot be compiled they are left out. This is what ``mlexport classpath``
    prints: enough to convert and to score PMML from any JVM program.
    """
    jars = [j.path for j in resolve_jars()[0]]
    if helpers:
        try:
            jars.append(str(helper_classes()))
        except MissingDependencyError:
            pass
    return jars


def evaluator_classpath() -> list[str]:
    """Only the jars of the installed ``jpmml_evaluator`` package: what a plain Java
    program needs to load and score a PMML file (see ``examples/jvm``)."""
    return [j.path for j in resolve_jars(("jpmml_evaluator",))[0]]


def conflicts() -> list[str]:
    """Human-readable list of the version conflicts :func:`resolve_jars` settled."""
    return [str(c) for c in resolve_jars()[1]]


# --------------------------------------------------------------------------- java


@dataclass(frozen=True)
class JavaInstall:
    home: Path
    jvm_library: Path
    version: str  # e.g. "17.0.15", "" if unknown
    javac: Path | None

    @property
    def major(self) -> int | None:
        m = re.match(r"^(1\.)?(\d+)", self.version)
        return int(m.group(2)) if m else None


def _java_version(home: Path) -> str:
    release = home / "release"
    if release.is_file():
        m = re.search(r'^JAVA_VERSION="?([^"\n]+)"?', release.read_text(errors="replace"), re.M)
        if m:
            return m.group(1)
    java = home / "bin" / "java"
    if java.exists():
        try:
            r = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
            m = re.search(r'version "([^"]+)"', r.stderr + r.stdout)
            if m:
                return m.group(1)
        except (OSError, subprocess.SubprocessError):
            pass
    return ""


def _find_libjvm(home: Path) -> Path | None:
    for rel in (
        "lib/server/libjvm.so",
        "jre/lib/amd64/server/libjvm.so",
        "lib/server/libjvm.dylib",
        "lib/libjli.dylib",
        "bin/server/jvm.dll",
        "jre/bin/server/jvm.dll",
    ):
        p = home / rel
        if p.exists():
            return p
    found = sorted(home.glob("**/server/libjvm.so"))
    return found[0] if found else None


def find_java() -> JavaInstall:
    """The Java installation JPype will load, or :class:`MissingDependencyError`."""
    homes: list[Path] = []
    env_home = os.environ.get("JAVA_HOME")
    if env_home:
        homes.append(Path(env_home))
    exe = shutil.which("java")
    if exe:
        homes.append(Path(os.path.realpath(exe)).parent.parent)
    for home in homes:
        lib = _find_libjvm(home)
        if lib is None and home.name == "jre":
            lib = _find_libjvm(home.parent)
        if lib is not None:
            version = _java_version(home)
            javac = home / "bin" / "javac"
            if not javac.exists():
                which = shutil.which("javac")
                javac = Path(which) if which else None  # type: ignore[assignment]
            inst = JavaInstall(home, lib, version, javac)
            if inst.major is not None and inst.major < MIN_JAVA:
                raise MissingDependencyError(
                    f"Java {MIN_JAVA}+ is required for PMML. Got Java {version} at {home} instead; "
                    f"install {JAVA_INSTALL_HINT}."
                )
            return inst
    where = f"JAVA_HOME={env_home} has no JVM library; " if env_home else ""
    raise MissingDependencyError(
        f"PMML needs a Java runtime: {where}no 'java' found on PATH. Install {JAVA_INSTALL_HINT}."
    )


def java_available() -> str | None:
    """``None`` when a usable JVM is installed, else one line saying what to install."""
    try:
        find_java()
        for pkg in ("jpype", "sklearn2pmml", "jpmml_evaluator"):
            _package_dir(pkg)
    except MissingDependencyError as e:
        return str(e)
    return None


# --------------------------------------------------------------------------- helpers


def _helper_sources(names: tuple[str, ...] = HELPER_SOURCES) -> list[tuple[str, bytes]]:
    pkg = resources.files("mlexport.runtimes") / "scorers"
    return [(name, (pkg / name).read_bytes()) for name in names]


def helper_classes() -> Path:
    """Directory holding mlexport's compiled helper classes, compiled on first use.

    The directory name is a hash of the helper sources and of the evaluator jars
    they are compiled against, so an edited source or upgraded jar recompiles.
    Compilation goes to a temporary sibling directory that is renamed into place:
    concurrent processes never see a half-written cache.
    """
    with _lock:
        if _state["helpers"] is None:
            _state["helpers"] = _compiled("pmml-helpers", _helper_sources(), evaluator_classpath(), "JPMML scorer")
        return _state["helpers"]  # type: ignore[no-any-return]


def _compiled(prefix: str, sources: list[tuple[str, bytes]], compile_cp: list[str], what: str) -> Path:
    """``sources`` compiled against ``compile_cp`` into ``<cache>/<prefix>-<hash>`` (reused
    while the sources and the jars' names are the same)."""
    h = hashlib.sha256()
    for name, data in sources:
        h.update(name.encode() + b"\0" + data + b"\0")
    for jar in compile_cp:
        h.update(Path(jar).name.encode() + b"\0")
    key = h.hexdigest()[:16]
    final = cache_root() / f"{prefix}-{key}"
    if (final / ".complete").exists():
        return final
    java = find_java()
    if java.javac is None:
        raise MissingDependencyError(f"mlexport's {what} must be compiled once: install {JDK_INSTALL_HINT}.")
    root, work = work_dir(f".{prefix}-")
    final = root / f"{prefix}-{key}"
    if (final / ".complete").exists():  # the fallback root may already hold it
        shutil.rmtree(work, ignore_errors=True)
        return final
    try:
        src_dir = work / "src"
        out_dir = work / "classes"
        src_dir.mkdir()
        out_dir.mkdir()
        for name, data in sources:
            (src_dir / name).write_bytes(data)
        cmd = [str(java.javac), "--release", str(MIN_JAVA), "-nowarn", "-encoding", "UTF-8",
               "-cp", os.pathsep.join(compile_cp), "-d", str(out_dir)]
        cmd += [str(src_dir / n) for n, _ in sources]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeFailure(f"javac could not compile mlexport's {what}: {(r.stderr or r.stdout).strip()[:2000]}")
        (out_dir / ".complete").write_text(key)
        try:
            os.rename(out_dir, final)
        except OSError:
            if not (final / ".complete").exists():  # lost a race to a broken dir: replace it
                shutil.rmtree(final, ignore_errors=True)
                os.rename(out_dir, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


PMML4S_SOURCES = ("Pmml4sBatchScorer.java",)
PMML4S_PACKAGE = "mlexport.pmml4s"


def pmml4s_jars() -> list[str]:
    """The jars shipped in the installed ``pypmml`` package: PMML4S, Scala, spray-json."""
    return sorted(str(j) for j in (_package_dir("pypmml") / "jars").glob("*.jar"))


def pmml4s_helpers() -> Path:
    """mlexport's PMML4S scorer, compiled (once) against pypmml's jars; needs ``javac`` the first time."""
    with _lock:
        if _state["pmml4s_helpers"] is None:
            _state["pmml4s_helpers"] = _compiled("pmml4s-helpers", _helper_sources(PMML4S_SOURCES), pmml4s_jars(),
                                                 "PMML4S scorer")
        return _state["pmml4s_helpers"]  # type: ignore[no-any-return]


def pmml4s_class(simple_name: str) -> Any:
    """A class of mlexport's PMML4S helper, in a class loader of its own over pypmml's jars
    and the helper compiled against them (once): PMML4S runs in the shared JVM, its Scala
    libraries apart from the converter's and JPMML's jars (the JVM's own classes and a jar
    the JVM already holds come from the parent loader, as always)."""
    start()
    import jpype

    with _lock:
        loader = _state.get("pmml4s_loader")
        if loader is None:
            jars, helpers = pmml4s_jars(), pmml4s_helpers()
            URL = jpype.JClass("java.net.URL")
            File = jpype.JClass("java.io.File")
            urls = [File(p).toURI().toURL() for p in [*jars, str(helpers)]]
            loader = jpype.JClass("java.net.URLClassLoader")(
                jpype.JArray(URL)(urls), jpype.JClass("java.lang.ClassLoader").getSystemClassLoader())
            _state["pmml4s_loader"] = loader
    return jpype.JClass(f"{PMML4S_PACKAGE}.{simple_name}", loader=loader)


# --------------------------------------------------------------------------- JVM


def _jvm_options() -> list[str]:
    opts = ["-Djava.awt.headless=true", "-Dfile.encoding=UTF-8"]
    extra = os.environ.get("MLEXPORT_JAVA_OPTS")
    if extra:
        opts += shlex.split(extra)
    return opts


def is_started() -> bool:
    return bool(_state["started"])


def start() -> None:
    """Start the process's JVM with :func:`classpath` (once; later calls return at once).

    Raises :class:`MissingDependencyError` without Java / JPype / the PMML packages,
    and :class:`RuntimeFailure` if another library already started a JVM in this
    process without mlexport's classpath.
    """
    if _state["started"]:
        return
    with _lock:
        if _state["started"]:
            return
        try:
            import jpype
        except ImportError:
            raise MissingDependencyError("PMML support needs JPype: pip install 'mlexport[pmml]'.") from None
        java = find_java()
        jars = [j.path for j in resolve_jars()[0]]
        try:
            jars.append(str(helper_classes()))
        except MissingDependencyError as e:
            _state["helpers_error"] = str(e)
        if jpype.isJVMStarted():
            _check_foreign_jvm(jpype)
        else:
            jpype.startJVM(str(java.jvm_library), *_jvm_options(), classpath=jars, convertStrings=False)
            _detach_gc_trigger()
        # Silence java.util.logging's console handler (JPMML logs there); errors reach us as exceptions.
        jpype.JClass("java.util.logging.LogManager").getLogManager().reset()
        jpype.JClass("org.jpmml.sklearn.SkLearnUtil").initOnce()
        _state["classpath"] = jars
        _state["started"] = True


def _detach_gc_trigger() -> None:
    """Stop JPype from calling Java's ``System.gc()`` after Python's garbage collections.

    JPype hooks ``gc.callbacks`` and asks for a full Java collection whenever a Python
    collection ends with Python's heap grown (it exists for Python objects kept alive by
    Java proxies, which mlexport does not create). Pickling, converting and scoring grow
    the heap all the time: that was two or three full collections (0.1 to 0.9 s each) per
    500-tree PMML export and five per 50,000-row forest ``score``. Java still collects its
    own heap as it needs, and a Java collection still triggers a Python one. Only for a JVM
    mlexport started; the hook is JPype's private ``_jpype._collect`` (left alone if absent).
    """
    import gc

    try:
        import _jpype
    except ImportError:
        return
    hook = getattr(_jpype, "_collect", None)
    while hook is not None and hook in gc.callbacks:
        gc.callbacks.remove(hook)


def _check_foreign_jvm(jpype: Any) -> None:
    needed = ["org.jpmml.sklearn.SkLearnUtil", "org.jpmml.evaluator.LoadingModelEvaluatorBuilder"]
    if _state["helpers_error"] is None:
        needed.append(f"{HELPER_PACKAGE}.PmmlBatchScorer")
    for name in needed:
        try:
            jpype.JClass(name)
        except Exception:
            raise RuntimeFailure(
                "A JVM was already started in this process without mlexport's classpath "
                f"(class {name} is missing); start it with mlexport.jvm.start() before other JPype users."
            ) from None


def jclass(name: str) -> Any:
    """A Java class from the shared JVM (started on first use)."""
    start()
    import jpype

    return jpype.JClass(name)


def helper_class(simple_name: str) -> Any:
    """One of mlexport's compiled helper classes; needs ``javac`` the first time."""
    start()
    if _state["helpers_error"] is not None:
        raise MissingDependencyError(str(_state["helpers_error"]))
    return jclass(f"{HELPER_PACKAGE}.{simple_name}")


def java_message(exc: BaseException) -> str:
    """The message of a Java exception (no stack trace), walking to the root cause if empty."""
    msg = None
    try:
        msg = exc.getMessage()  # type: ignore[attr-defined]
    except Exception:
        msg = None
    if msg is None:
        cause = getattr(exc, "__cause__", None)
        if cause is not None and cause is not exc:
            return java_message(cause)
        try:
            return str(exc.getClass().getSimpleName())  # type: ignore[attr-defined]
        except Exception:
            return str(exc)
    return str(msg)


def versions() -> dict[str, str]:
    """Versions of Java and of the JPMML libraries on the classpath (for manifests)."""
    out: dict[str, str] = {}
    try:
        out["java"] = find_java().version
    except MissingDependencyError:
        pass
    for jar in resolve_jars()[0]:
        art = jar.artifact.split(":")[-1]
        if art in ("pmml-sklearn", "pmml-converter", "pmml-model", "pmml-evaluator"):
            out[art] = jar.version
    return out


__all__ = [
    "Jar",
    "Conflict",
    "JavaInstall",
    "resolve_jars",
    "classpath",
    "evaluator_classpath",
    "conflicts",
    "find_java",
    "java_available",
    "helper_classes",
    "start",
    "is_started",
    "jclass",
    "helper_class",
    "java_message",
    "versions",
]
