"""mlexport benchmarks: each figure side by side with the tool a user would
otherwise use, in the same run, as a ratio. Prints one table, writes JSON.

    python bench/run.py [--quick] [--json bench-results.json]

Sections (goals, not asserts; see bench/README.md):

- export time per format vs the converter called directly (skl2onnx.to_onnx;
  the sklearn2pmml wrapper, which starts a JVM per call), plus warm PMML export;
- ``mlexport score`` throughput per runtime vs a hand-written loop over the same
  runtime, and the Go / Java JSON scorers vs onnxruntime on the same forest;
- single-row latency per runtime next to scikit-learn's predict;
- artifact size per format;
- peak RSS of ``mlexport score`` / ``mlexport parity`` on a large CSV.

Every row has a ratio = mlexport / baseline (times, sizes, RSS: lower is better;
rows/s: higher is better) and, where there is one, a goal and whether it is met.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

warnings.filterwarnings("ignore")

SRC = Path(__file__).resolve().parent.parent / "src"
FORMATS = ("onnx", "pmml", "json")
SCORE_RUNTIMES = ("onnxruntime", "jpmml", "pmml4s", "json-python", "json-go", "json-java")
Models = dict[str, tuple[Any, pd.DataFrame]]


@dataclass(frozen=True)
class Config:
    quick: bool
    rows: int  # rows for the throughput sections
    mem_rows: int  # rows of the large CSV for the memory section
    tmp: Path

    @property
    def cold_repeat(self) -> int:  # new-process PMML exports (a JVM start each)
        return 1 if self.quick else 2


# --------------------------------------------------------------------------- goals and rows


@dataclass(frozen=True)
class Goal:
    """``on`` is "ratio" or "value"; ``op`` is "<=", ">=" or "<"."""

    on: str
    op: str
    bound: float
    unit: str = "x"

    @property
    def text(self) -> str:
        return f"{'' if self.on == 'ratio' else 'value '}{self.op} {self.bound:g}{self.unit}"

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        x = ratio if self.on == "ratio" else value
        if x is None or not np.isfinite(x):
            return None
        return {"<=": x <= self.bound, ">=": x >= self.bound, "<": x < self.bound}[self.op]


def row(section: str, model: str, fmt: str, value: float | None, baseline: str | None = None,
        base: float | None = None, goal: Goal | None = None, note: str = "") -> dict[str, Any]:
    ratio = value / base if value is not None and base else None
    return {"section": section, "model": model, "format": fmt, "mlexport": value, "baseline": baseline,
            "baseline_value": base, "ratio": ratio, "goal": goal.text if goal else None,
            "met": goal.met(value, ratio) if goal else None, "note": note}


# --------------------------------------------------------------------------- measuring


def timeit(fn: Callable[[], Any], repeat: int = 3, budget: float = 8.0) -> float:
    """Best wall time of up to ``repeat`` runs (fewer once ``budget`` seconds are spent), in seconds."""
    best, spent = float("inf"), 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
        if spent > budget:
            break
    return best


def latency(fn: Callable[[], Any], n: int = 200, budget: float = 1.0, least: int = 3) -> float:
    """Median single-call latency in microseconds: ``n`` calls, fewer once ``budget`` seconds
    are spent but at least ``least`` (a JVM started per call takes ~0.5 s)."""
    fn()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < n and (len(samples) < least or time.perf_counter() - start < budget):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def child_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
    env["SKLEARN2PMML_BANNER"] = date.today().isoformat()  # the wrapper's once-a-day banner
    return env


def child(code: str, *args: str, offline: bool = False) -> dict[str, Any]:
    """Run ``code`` in a fresh Python; return the JSON it prints last, plus its peak RSS (MiB).

    ``offline`` runs it in a new network namespace (``unshare -rn``): nothing it starts can reach
    the network. Peak RSS comes from the grandchild's ``RUSAGE_CHILDREN`` so each call is isolated."""
    runner = ("import resource, subprocess, sys, json\n"
              "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
              "sys.stderr.write(r.stderr[-2000:])\n"
              "out = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {'error': r.stderr[-500:]}\n"
              "out['rss_mib'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
              "print(json.dumps(out))\n")
    cmd = [sys.executable, "-c", runner, sys.executable, "-c", code, *args]
    if offline:
        cmd = ["unshare", "-rn", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
    if r.returncode != 0:
        return {"error": r.stderr[-500:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def command_rss(cmd: list[str]) -> dict[str, Any]:
    """Wall time and peak RSS (MiB) of a command line."""
    return child("import subprocess, sys, time, json\nt = time.perf_counter()\n"
                 "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
                 "print(json.dumps({'s': time.perf_counter() - t}))", *cmd)


def offline_ok() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-rn", "true"]).returncode == 0


# --------------------------------------------------------------------------- models and data


# One OpenMP / BLAS thread while fitting: the models are the same, and on a busy machine OpenMP's
# spin-waiting turned the HistGradientBoosting fit from 0.5 s into 40 s.
@threadpool_limits.wrap(limits=1)
def models(quick: bool) -> Models:
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=5000, n_features=30, n_informative=12, random_state=0)
    cols = [f"f{i}" for i in range(30)]
    frame = pd.DataFrame(X, columns=cols)
    Xr, yr = make_regression(n_samples=5000, n_features=30, noise=5, random_state=0)
    rframe = pd.DataFrame(Xr, columns=cols)

    def forest(n: int) -> Any:
        # fitted on every core (the trees do not depend on n_jobs), then predicting on one as before
        m = RandomForestClassifier(n_estimators=n, max_depth=10, random_state=0, n_jobs=os.cpu_count()).fit(frame, y)
        return m.set_params(n_jobs=1)

    out = {"linear": (make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(frame, y), frame),
           "forest100": (forest(100), frame)}
    if not quick:
        out["forest500"] = (forest(500), frame)
    out["hgb"] = (HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(rframe, yr), rframe)
    return out


EXPORT_MODELS = ("linear", "forest500", "hgb")  # forest100 stands in for forest500 with --quick
SCORE_MODELS = ("linear", "forest100")


def pick(ms: Models, names: tuple[str, ...]) -> list[str]:
    return [n if n in ms else "forest100" for n in names if n in ms or n.startswith("forest")]


def big_frame(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    reps = -(-rows // len(frame))
    return pd.concat([frame] * reps, ignore_index=True).iloc[:rows].reset_index(drop=True)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    pcsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), str(path))
    return path


def artifact(cfg: Config, name: str, fmt: str) -> Path:
    return cfg.tmp / f"{name}.{fmt}"


def export_all(ms: Models, cfg: Config) -> None:
    import joblib

    import mlexport

    for name, (model, _) in ms.items():
        joblib.dump(model, cfg.tmp / f"{name}.joblib")
        for fmt in FORMATS:
            try:
                mlexport.export(model, fmt, artifact(cfg, name, fmt), verify=False)
            except Exception as e:  # noqa: BLE001 - a format that cannot take the model shows as missing
                print(f"note: {name} -> {fmt}: {e}", file=sys.stderr)


def build_scorers() -> None:
    """Build the Go scorer and compile the Java one now (a fresh clone has neither): a first
    build inside a timed run would be measured as scoring."""
    from mlexport.runtimes import get_runtime, json_go, json_java

    for runtime, build in (("json-go", json_go.binary), ("json-java", json_java.compiled_classes)):
        if not get_runtime(runtime).available():
            t = time.perf_counter()
            build()
            print(f"{runtime} scorer ready: {time.perf_counter() - t:.0f} s", file=sys.stderr)


# --------------------------------------------------------------------------- 1. export time

COLD_EXPORT = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import joblib
model = joblib.load(sys.argv[1])
if sys.argv[3] == "mlexport":
    import mlexport
    t = time.perf_counter()
    mlexport.export(model, "pmml", sys.argv[2], verify=False)
else:
    import contextlib, io
    from sklearn2pmml import make_pmml_pipeline, sklearn2pmml
    pipe = make_pmml_pipeline(model)
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        sklearn2pmml(pipe, sys.argv[2])
print(json.dumps({"s": time.perf_counter() - t}))
"""


def export_section(ms: Models, cfg: Config) -> list[dict[str, Any]]:
    from skl2onnx import to_onnx

    import mlexport

    sec = "export time (s)"
    offline = offline_ok()
    out = []
    onnx_time: dict[str, float] = {}
    for name in pick(ms, EXPORT_MODELS):
        model, frame = ms[name]
        for fmt in FORMATS:
            art = cfg.tmp / f"x-{name}.{fmt}"
            if not artifact(cfg, name, fmt).exists():
                out.append(row(sec, name, fmt, None, note="export failed"))
                continue
            if fmt == "onnx":
                mine = timeit(lambda: mlexport.export(model, fmt, art, verify=False), repeat=3)
                onnx_time[name] = mine
                base = timeit(lambda: to_onnx(model, frame.to_numpy(np.float32)[:1]), repeat=3)
                out.append(row(sec, name, fmt, mine, "skl2onnx.to_onnx (float32)", base, Goal("ratio", "<=", 1.5)))
            elif fmt == "pmml":
                job = str(cfg.tmp / f"{name}.joblib")
                cold = [child(COLD_EXPORT, job, str(art), "mlexport").get("s", np.nan) for _ in range(cfg.cold_repeat)]
                if offline:
                    base_runs = [child(COLD_EXPORT, job, str(art), "wrapper", offline=True)
                                 for _ in range(cfg.cold_repeat)]
                    base = min(r.get("s", np.nan) for r in base_runs)
                    note = "wrapper run with no network (unshare -rn)"
                else:
                    base, note = None, "baseline skipped: cannot run the wrapper without network"
                out.append(row(sec, name, "pmml (cold, new process)", min(cold),
                               "sklearn2pmml(make_pmml_pipeline(m)) (JVM per call)", base, Goal("ratio", "<=", 1.0),
                               note))
                warm = timeit(lambda: mlexport.export(model, fmt, art, verify=False), repeat=3)
                out.append(row(sec, name, "pmml (warm JVM)", warm, "sklearn2pmml wrapper", base,
                               Goal("value", "<", 1.0, " s")))
            else:
                mine = timeit(lambda: mlexport.export(model, fmt, art, verify=False), repeat=3)
                # no other converter writes this format: the ONNX export of the same model is the yardstick
                out.append(row(sec, name, fmt, mine, "mlexport ONNX export, same model", onnx_time.get(name),
                               Goal("ratio", "<=", 2.0), "no other converter writes this format"))
    return out


# --------------------------------------------------------------------------- 2. score throughput


def _read_score_write(csv: Path, out: Path, predict: Callable[[pd.DataFrame], Any]) -> None:
    res = predict(pd.read_csv(csv))
    pd.DataFrame(res).to_csv(out, index=False)


def hand_loop(runtime: str, art: Path, cfg: Config) -> tuple[str, Callable[[Path, Path], None]] | None:
    """The loop a user would write over ``runtime`` without mlexport: load, read CSV, score, write CSV."""
    if runtime == "onnxruntime":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(art), providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0].name
        return "onnxruntime session.run loop", lambda c, o: _read_score_write(
            c, o, lambda d: sess.run(None, {inp: d.to_numpy(np.float64)})[-1])
    if runtime == "jpmml":
        from jpmml_evaluator import make_evaluator

        from mlexport import jvm

        jvm.start()  # jpmml_evaluator's JPype backend reuses the running JVM
        ev = make_evaluator(str(art))
        return "jpmml_evaluator evaluateAll", lambda c, o: _read_score_write(c, o, ev.evaluateAll)
    if runtime == "pmml4s":
        from pypmml import Model

        pm = Model.fromFile(str(art))
        return "pypmml Model.predict(df)", lambda c, o: _read_score_write(c, o, pm.predict)
    if runtime in ("json-go", "json-java"):
        cmd = json_cli(runtime)
        return f"{runtime} CLI directly", lambda c, o: subprocess.run([*cmd, str(art), str(c), str(o)], check=True,
                                                                     capture_output=True)
    return None


def json_cli(runtime: str, timing: bool = False) -> list[str]:
    if runtime == "json-go":
        from mlexport.runtimes import json_go

        return [str(json_go.binary()), *(["-timing"] if timing else [])]
    from mlexport.runtimes import json_java

    return [*json_java.java_command(), *(["--timing"] if timing else [])]


def scorer_timing(runtime: str, art: Path, csv: Path, out: Path) -> tuple[float, float]:
    """(score-only seconds from the scorer's own timing flag, whole-process wall seconds)."""
    best_score, best_wall = float("inf"), float("inf")
    for _ in range(2):
        t = time.perf_counter()
        r = subprocess.run([*json_cli(runtime, timing=True), str(art), str(csv), str(out)], check=True,
                           capture_output=True, text=True)
        best_wall = min(best_wall, time.perf_counter() - t)
        m = re.search(r"score[ _=]*(?:ms=)?([\d.]+)", r.stderr)
        best_score = min(best_score, float(m.group(1)) / 1e3 if m else np.nan)
    return best_score, best_wall


def jpmml_warmups(n: int) -> int:
    """Untimed runs before the timed ones, for mlexport's jobs and for the ``evaluateAll`` loop
    alike: at least 3 (on the linear pipeline both reach their steady JIT-compiled speed by the
    third or fourth run; ``evaluateAll`` went from 1.6 s to 0.8 s per 50,000 rows), and enough for a
    tree model's row count to reach ``TRANSPILE_MIN_ROWS``."""
    import math

    from mlexport.runtimes import jpmml

    return min(4, max(3, math.ceil(jpmml.TRANSPILE_MIN_ROWS / n) - 1))


def jpmml_jobs(art: Path, csv: Path, n: int, cfg: Config) -> tuple[float, float, str, str]:
    """``mlexport score`` on the jpmml runtime, cold and at steady state: (seconds of the first
    job on this file with a fresh cache, best of 2 timed later jobs, note on the first, note on
    the later ones). Untimed warm-up jobs (:func:`jpmml_warmups`) come in between, so that what
    later jobs reuse (the loaded scorer, warm JIT; for a tree model the compiled form, transpiled
    once ``TRANSPILE_MIN_ROWS`` rows have been scored on the file) is in place."""
    import mlexport
    from mlexport.runtimes import jpmml

    def run() -> None:
        mlexport.score(art, csv, runtime="jpmml", out=cfg.tmp / "p.csv")

    old = os.environ.get("MLEXPORT_CACHE")
    os.environ["MLEXPORT_CACHE"] = str(cfg.tmp / f"jpmml-cache-{art.stem}")  # no jar, no row count yet
    jpmml.forget_loaded()  # nothing loaded in this process either
    try:
        t = time.perf_counter()
        run()
        first = time.perf_counter() - t
        warm = []
        for _ in range(jpmml_warmups(n)):
            t = time.perf_counter()
            run()
            warm.append(time.perf_counter() - t)
        s = jpmml.RUNTIME.load(art)
        compiled = s.transpiled
        s.close()
        best = timeit(run, repeat=2)
    finally:
        jpmml.forget_loaded()
        if old is None:
            os.environ.pop("MLEXPORT_CACHE", None)
        else:
            os.environ["MLEXPORT_CACHE"] = old
    jobs = 1 + len(warm)
    done = ("compiled form cached and loaded" if compiled else
            f"loaded scorer reused, interpreted (no trees, or < {jpmml.TRANSPILE_MIN_ROWS:,} rows scored)")
    warm_note = ", ".join(f"{w:.1f} s" for w in warm)
    cold_note = (f"first job on this file, fresh cache, JVM already up (parse, verification rows, cold JIT); then "
                 f"{len(warm)} warm-up job{'s' if len(warm) > 1 else ''}, not timed above: {warm_note}; no goal")
    return first, best, cold_note, f"after {jobs} earlier {n:,}-row jobs on this file: {done}"


def score_section(ms: Models, cfg: Config) -> list[dict[str, Any]]:
    import onnxruntime as ort

    import mlexport

    sec = "score throughput (rows/s)"
    n = cfg.rows
    out = []
    for name in pick(ms, SCORE_MODELS):
        model, frame = ms[name]
        csv = write_csv(big_frame(frame, n), cfg.tmp / f"score-{name}.csv")
        cli: dict[str, tuple[float, float]] = {}  # JSON scorer CLI runs: (scoring only, whole process) seconds
        for runtime in SCORE_RUNTIMES:
            from mlexport.runtimes import get_runtime

            rt = get_runtime(runtime)
            art = artifact(cfg, name, rt.format)
            if not art.exists() or rt.available():
                out.append(row(sec, name, runtime, None, note=rt.available() or "no artifact"))
                continue
            steady = ""
            if runtime == "jpmml":
                first, best, cold_note, steady = jpmml_jobs(art, csv, n, cfg)
                out.append(row(sec, name, "jpmml, first job", n / first, note=cold_note))
                mine = n / best
            else:
                mine = n / timeit(lambda: mlexport.score(art, csv, runtime=runtime, out=cfg.tmp / "p.csv"), repeat=2)
            hand = hand_loop(runtime, art, cfg)
            if hand is None:
                out.append(row(sec, name, runtime, mine, note="mlexport's own engine; no outside scorer"))
                continue
            label, fn = hand
            if runtime in ("json-go", "json-java"):  # the same CLI runs also give the scorer's own timing below
                cli[runtime] = scorer_timing(runtime, art, csv, cfg.tmp / "h.csv")
                base = n / cli[runtime][1]
            else:
                if runtime == "jpmml":  # the same untimed warm-up runs as mlexport's jobs had: warm JIT for both
                    for _ in range(1 + jpmml_warmups(n)):
                        fn(csv, cfg.tmp / "h.csv")
                base = n / timeit(lambda: fn(csv, cfg.tmp / "h.csv"), repeat=2)
            goal = Goal("ratio", ">=", 3.0) if runtime == "jpmml" else Goal("ratio", ">=", round(1 / 1.5, 2))
            out.append(row(sec, name, runtime, mine, label, base, goal,
                           f"goal: >= 3x evaluateAll; {steady}" if runtime == "jpmml" else "goal: overhead <= 1.5x"))
        # the JSON scorers themselves vs onnxruntime on the same model and rows
        onnx_art = artifact(cfg, name, "onnx")
        json_art = artifact(cfg, name, "json")
        if not (onnx_art.exists() and json_art.exists()):
            continue
        sess = ort.InferenceSession(str(onnx_art), providers=["CPUExecutionProvider"])
        X = pd.read_csv(csv).to_numpy(np.float64)
        inp = sess.get_inputs()[0].name
        ort_score = timeit(lambda: sess.run(None, {inp: X}), repeat=3)
        ort_wall = timeit(lambda: hand_loop("onnxruntime", onnx_art, cfg)[1](csv, cfg.tmp / "h.csv"), repeat=2)  # type: ignore[index]
        for runtime in ("json-go", "json-java"):
            if get_runtime(runtime).available():
                continue
            s, wall = cli[runtime] if runtime in cli else scorer_timing(runtime, json_art, csv, cfg.tmp / "j.csv")
            within2 = Goal("ratio", ">=", 0.5)
            out.append(row(sec, name, f"{runtime} scorer, scoring only", n / s, "onnxruntime session.run only",
                           n / ort_score, within2, "from the scorer's timing flag"))
            out.append(row(sec, name, f"{runtime} scorer, whole process", n / wall,
                           "onnxruntime loop incl. CSV I/O", n / ort_wall, within2,
                           "incl. CSV read/write" + (" and JVM start" if runtime == "json-java" else "")))
    return out


# --------------------------------------------------------------------------- 3. single-row latency


def latency_section(ms: Models, cfg: Config) -> list[dict[str, Any]]:
    from mlexport.runtimes import get_runtime

    sec = "single-row latency (us)"
    out = []
    for name in pick(ms, SCORE_MODELS):
        model, frame = ms[name]
        one = frame.iloc[:1]
        sk = latency(lambda: model.predict(one))
        for runtime in SCORE_RUNTIMES:
            rt = get_runtime(runtime)
            art = artifact(cfg, name, rt.format)
            if not art.exists() or rt.available():
                continue
            scorer = rt.load(art)
            try:
                mine = latency(lambda: scorer.predict(one))
            finally:
                scorer.close()
            note = "a new process per call" if runtime in ("json-go", "json-java") else ""
            out.append(row(sec, name, runtime, mine, "scikit-learn predict", sk, note=note))
    return out


# --------------------------------------------------------------------------- 4. artifact size


def size_section(ms: Models, cfg: Config) -> list[dict[str, Any]]:
    import pickle

    out = []
    for name in pick(ms, EXPORT_MODELS):
        pickled = len(pickle.dumps(ms[name][0]))
        for fmt in FORMATS:
            art = artifact(cfg, name, fmt)
            if art.exists():
                out.append(row("artifact size (bytes)", name, fmt, art.stat().st_size, "pickled sklearn model", pickled))
    return out


# --------------------------------------------------------------------------- 5. memory

NAIVE = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import joblib, numpy as np, onnxruntime as ort, pandas as pd
d = pd.read_csv(sys.argv[2])
sess = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
got = sess.run(None, {sess.get_inputs()[0].name: d.to_numpy(np.float64)})[-1]
if sys.argv[4] == "parity":
    want = joblib.load(sys.argv[3]).predict_proba(d)
    print(np.allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6), file=sys.stderr)
else:
    pd.DataFrame(got).to_csv(sys.argv[3], index=False)
print(json.dumps({}))
"""


def memory_section(ms: Models, cfg: Config) -> list[dict[str, Any]]:
    _, frame = ms["linear"]
    art, job = artifact(cfg, "linear", "onnx"), cfg.tmp / "linear.joblib"
    rng = np.random.default_rng(0)
    full = pd.DataFrame(rng.standard_normal((cfg.mem_rows, frame.shape[1])), columns=frame.columns)
    files = {cfg.mem_rows // 4: write_csv(full.iloc[: cfg.mem_rows // 4], cfg.tmp / "mem-quarter.csv"),
             cfg.mem_rows: write_csv(full, cfg.tmp / "mem-full.csv")}
    del full
    cli = [str(Path(sys.executable).with_name("mlexport"))]
    if not Path(cli[0]).exists():
        cli = [sys.executable, "-m", "mlexport"]
    out = []
    for what in ("score", "parity"):
        rss: dict[int, float] = {}
        for n, csv in files.items():
            cmd = ([*cli, "score", str(art), str(csv), "-o", str(cfg.tmp / "m.csv")] if what == "score"
                   else [*cli, "parity", str(job), str(art), "--data", str(csv), "--runtime", "onnxruntime"])
            rss[n] = command_rss(cmd).get("rss_mib", np.nan)
            naive = child(NAIVE, str(art), str(csv), str(job) if what == "parity" else str(cfg.tmp / "n.csv"), what)
            out.append(row("peak RSS (MiB)", f"linear, {n:,} rows", f"mlexport {what}", rss[n],
                           "read_csv + ort.run" + (" + sklearn" if what == "parity" else " + to_csv"),
                           naive.get("rss_mib"), Goal("value", "<", 1024, " MiB")))
        quarter, whole = sorted(rss)
        out.append(row("peak RSS growth", f"linear, {whole:,} vs {quarter:,} rows", f"mlexport {what}", rss[whole],
                       f"same at {quarter:,} rows", rss[quarter], Goal("ratio", "<=", 1.25), "flat as rows grow"))
    return out


SECTIONS: list[Callable[[Models, Config], list[dict[str, Any]]]] = [
    export_section, score_section, latency_section, size_section, memory_section]


# --------------------------------------------------------------------------- output


def fmt_num(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:,.4g}"


def render(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="mlexport benchmarks (ratio = mlexport / baseline)")
    for c in ("section", "model", "format / runtime", "mlexport", "baseline", "baseline value", "ratio", "goal", "met?"):
        t.add_column(c, justify="right" if c in ("mlexport", "baseline value", "ratio") else "left")
    prev = None
    for r in rows:
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[r["met"]]
        t.add_row(r["section"] if r["section"] != prev else "", r["model"], r["format"], fmt_num(r["mlexport"]),
                  r["baseline"] or ("-  " + r["note"] if r["note"] else "-"), fmt_num(r["baseline_value"]),
                  f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-", r["goal"] or "-", met)
        prev = r["section"]
    Console(width=220).print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller models and data (~2.5 minutes)")
    ap.add_argument("--json", default="bench-results.json")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    spent: dict[str, float] = {}  # seconds per step, printed as it goes and kept in the JSON

    def step(name: str, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        res = fn()
        spent[name] = time.perf_counter() - t
        print(f"{name}: {spent[name]:.0f} s", file=sys.stderr)
        return res

    ms = step("models", lambda: models(args.quick))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mlexport-bench-") as d:
        cfg = Config(args.quick, 10_000 if args.quick else 50_000, 100_000 if args.quick else 1_000_000, Path(d))
        step("export_all", lambda: export_all(ms, cfg))
        step("build_scorers", build_scorers)
        for section in SECTIONS:
            results.extend(step(section.__name__, lambda: section(ms, cfg)))
    render(results)
    Path(args.json).write_text(json.dumps({"quick": args.quick, "seconds": time.perf_counter() - t0,
                                           "step_seconds": spent, "rows": results}, indent=2, default=float))
    print(f"wrote {args.json} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
