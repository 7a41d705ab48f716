"""mlexport benchmarks: each figure side by side with the tool a user would
otherwise use, in the same run, as a ratio. Prints one table, writes JSON.

    python bench/run.py [--quick] [--json bench-results.json]

Targets (goals, not asserts; see README "Benchmarks"):
- export overhead vs calling the converter directly;
- ``mlexport score`` throughput within 1.5x of a hand-written loop over the
  same runtime;
- single-row latency per runtime next to scikit-learn's.
Sections for other formats register themselves in ``SECTIONS``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

ROWS = 100_000


def timeit(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def latency(fn: Callable[[], Any], n: int = 300) -> float:
    """Median single-call latency in microseconds."""
    fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def models(quick: bool) -> dict[str, tuple[Any, pd.DataFrame]]:
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
    trees = 100 if quick else 500
    return {
        "linear": (make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(frame, y), frame),
        f"forest{trees}": (RandomForestClassifier(n_estimators=trees, max_depth=10, random_state=0, n_jobs=1).fit(frame, y), frame),
        "hgb": (HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(rframe, yr), rframe),
    }


def big_frame(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    reps = -(-rows // len(frame))
    return pd.concat([frame] * reps, ignore_index=True).iloc[:rows].reset_index(drop=True)


def onnx_section(ms: dict[str, tuple[Any, pd.DataFrame]], tmp: Path, rows: int) -> list[dict[str, Any]]:
    import onnxruntime as ort
    from skl2onnx import to_onnx

    import mlexport
    from mlexport.runtimes import get_runtime

    out = []
    for name, (model, frame) in ms.items():
        art = tmp / f"{name}.onnx"
        t_ml = timeit(lambda: mlexport.export(model, "onnx", art, verify=False), repeat=2)
        t_direct = timeit(lambda: to_onnx(model, frame.to_numpy(np.float32)[:1]), repeat=2)
        out.append({"section": "export time", "model": name, "format": "onnx", "mlexport_s": t_ml,
                    "baseline": "skl2onnx.to_onnx (float32)", "baseline_s": t_direct, "ratio": t_ml / t_direct})
        data = big_frame(frame, rows)
        csv = tmp / f"{name}.parquet"
        data.to_parquet(csv)
        t_score = timeit(lambda: mlexport.score(art, csv, out=tmp / "p.csv"), repeat=1)
        sess = ort.InferenceSession(str(art), providers=["CPUExecutionProvider"])

        def hand() -> None:
            d = pd.read_parquet(csv)
            res = sess.run(None, {"X": d.to_numpy(np.float64)})
            pd.DataFrame(res[-1]).to_csv(tmp / "h.csv", index=False)

        t_hand = timeit(hand, repeat=1)
        out.append({"section": "score throughput (rows/s)", "model": name, "format": "onnx",
                    "mlexport": rows / t_score, "baseline": "hand-written onnxruntime loop", "baseline_value": rows / t_hand,
                    "ratio": t_score / t_hand})
        scorer = get_runtime("onnxruntime").load(art)
        one = frame.iloc[:1]
        lat_rt = latency(lambda: scorer.predict(one))
        lat_sk = latency(lambda: model.predict(one))
        out.append({"section": "single-row latency (us)", "model": name, "format": "onnx", "mlexport": lat_rt,
                    "baseline": "scikit-learn predict", "baseline_value": lat_sk, "ratio": lat_rt / lat_sk})
        out.append({"section": "artifact size (bytes)", "model": name, "format": "onnx", "mlexport": art.stat().st_size})
    return out


SECTIONS: list[Callable[[dict[str, tuple[Any, pd.DataFrame]], Path, int], list[dict[str, Any]]]] = [onnx_section]


def render(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="mlexport benchmarks")
    for c in ("section", "model", "format", "mlexport", "baseline", "baseline value", "ratio"):
        t.add_column(c)
    for r in rows:
        mine = r.get("mlexport", r.get("mlexport_s"))
        base = r.get("baseline_value", r.get("baseline_s"))
        t.add_row(r["section"], r["model"], r["format"], f"{mine:,.4g}" if mine is not None else "-", r.get("baseline", "-"),
                  f"{base:,.4g}" if base is not None else "-", f"{r['ratio']:.2f}x" if "ratio" in r else "-")
    Console(width=200).print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller models and data")
    ap.add_argument("--json", default="bench-results.json")
    args = ap.parse_args(argv)
    rows_n = 20_000 if args.quick else ROWS
    ms = models(args.quick)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        for section in SECTIONS:
            results.extend(section(ms, Path(d), rows_n))
    render(results)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
