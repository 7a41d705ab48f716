"""The ``mlexport`` command: parse, call the API, render. Nothing else lives here.

Exit codes: 0 success; 1 a parity mismatch or a step that cannot be converted;
2 bad input or usage. Errors are one line on stderr; ``-v`` adds the traceback.
"""


import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .errors import MlexportError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Export a fitted scikit-learn pipeline to ONNX, PMML or JSON, with proof of parity.",
)

_state = {"verbose": False}

Model = Annotated[Path, typer.Argument(help="Fitted model: .joblib, .pkl or .skops.", show_default=False)]
DataOpt = Annotated[Optional[Path], typer.Option("--data", help="Rows to verify on (.csv or .parquet), columns as fitted.")]
Rtol = Annotated[float, typer.Option("--rtol", help="Relative tolerance.")]
Atol = Annotated[float, typer.Option("--atol", help="Absolute tolerance.")]
ReportOpt = Annotated[Optional[Path], typer.Option("--report", help="Write the parity report as JSON here.")]
JunitOpt = Annotated[Optional[Path], typer.Option("--junit", help="Write the parity report as JUnit XML here.")]
TrustOpt = Annotated[list[str], typer.Option("--trust", help="Module whose callables the model file may use (repeatable).")]
ProbeOpt = Annotated[bool, typer.Option("--probe", help="Add synthesized probe rows to --data.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


def _err(msg: str) -> None:
    typer.echo(f"mlexport: error: {msg}", err=True)


def _run(fn: Callable[[], int]) -> None:
    """Call ``fn`` and turn its result or error into the process exit code."""
    try:
        code = fn()
    except MlexportError as e:
        if _state["verbose"]:
            import traceback

            traceback.print_exc()
        _err(str(e).splitlines()[0] if str(e) else type(e).__name__)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        _err("interrupted; nothing was written.")
        raise typer.Exit(130) from None
    raise typer.Exit(code)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=160 if not sys.stdout.isatty() else None)


class _Rows:
    """A rows-done progress display on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "_Rows":
        if self.live:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
                                TimeElapsedColumn(), console=_console(stderr=True), transient=True)
            self.bar.__enter__()
        return self

    def __call__(self, what: str, rows: int) -> None:
        if self.bar is None:
            return
        if what not in self.tasks:
            self.tasks[what] = self.bar.add_task(what, total=None)
        self.bar.update(self.tasks[what], completed=rows)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _load(model: Path, trust: list[str]) -> Any:
    """Load MODEL once and print its load-time warnings (e.g. saved with another scikit-learn)."""
    from .model import load_model

    lm = load_model(model, trust=tuple(trust))
    for note in lm.warnings:
        typer.echo(f"mlexport: warning: {note}", err=True)
    return lm


def _write_reports(result: Any, report: Path | None, junit: Path | None) -> None:
    from .report import atomic_write, to_json, to_junit

    if report is not None:
        atomic_write(report, to_json(result))
    if junit is not None:
        atomic_write(junit, to_junit([result]))


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    _state["verbose"] = verbose
    if version:
        from . import __version__

        typer.echo(f"mlexport {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    import warnings

    if not verbose:
        warnings.filterwarnings("ignore")


def _make_export_command(fmt: str) -> None:
    def command(
        model: Model,
        data: DataOpt = None,
        out: Annotated[Optional[Path], typer.Option("-o", "--out", help=f"Artifact path (default: next to MODEL, model.{fmt}).")] = None,
        rtol: Rtol = 1e-6,
        atol: Atol = 1e-6,
        report: ReportOpt = None,
        junit: JunitOpt = None,
        no_verify: Annotated[bool, typer.Option("--no-verify", help="Export only; skip the parity run.")] = False,
        runtime: Annotated[list[str], typer.Option("--runtime", help="Runtime(s) to verify with (default: all for the format).")] = [],  # noqa: B006
        probe: ProbeOpt = False,
        trust: TrustOpt = [],  # noqa: B006
    ) -> None:
        def go() -> int:
            from . import api
            from .report import parity_table

            res = api.export(_load(model, trust), fmt, out, data=data, rtol=rtol, atol=atol, verify=not no_verify,
                             runtimes=list(runtime) or None, probe=probe)
            con = _console()
            con.print(f"wrote {res.artifact} and {res.manifest.name}")
            if res.parity is None:
                con.print("parity not verified (--no-verify)")
                return 0
            if data is None:
                con.print(f"verified on {res.data_summary}")
            con.print(parity_table(res.parity))
            _write_reports(res.parity, report, junit)
            if not res.parity.passed:
                _err(f"parity failed for {res.artifact}: see the table above.")
                return 1
            return 0

        _run(go)

    command.__doc__ = f"Export MODEL to {fmt.upper()}, then verify parity in every {fmt} runtime."
    app.command(fmt)(command)


@app.command()
def check(
    model: Model,
    format: Annotated[list[str], typer.Option("--format", help="Format(s) to check (default: all).")] = [],  # noqa: B006
    data: DataOpt = None,
    as_json: JsonOpt = False,
    trust: TrustOpt = [],  # noqa: B006
) -> None:
    """Show, per step and format, what converts, what does not and why, before exporting."""

    def go() -> int:
        from . import api
        from .report import plan_table

        lm = _load(model, trust)
        plans = api.check(lm, list(format) or None)
        trials: dict[str, Any] = {}
        if data is not None:
            trials = _trial_exports(lm, plans, data)
        if as_json:
            typer.echo(json.dumps({"model": str(model), "ok": not any(p.blocked for p in plans),
                                   "formats": [p.to_dict() | ({"trial": trials[p.format]} if p.format in trials else {})
                                               for p in plans]}, indent=2))
        else:
            con = _console()
            con.print(plan_table(plans))
            for fmt, t in trials.items():
                con.print(f"trial export {fmt}: {t}")
        failed_trial = any(isinstance(t, dict) and not t.get("passed") for t in trials.values())
        return 1 if any(p.blocked for p in plans) or failed_trial else 0

    _run(go)


def _trial_exports(model: Any, plans: list[Any], data: Path) -> dict[str, Any]:
    import tempfile

    from . import api

    out: dict[str, Any] = {}
    for p in plans:
        if p.blocked:
            continue
        with tempfile.TemporaryDirectory() as d:
            try:
                res = api.export(model, p.format, Path(d) / f"trial.{p.format}", data=data)
                out[p.format] = {"passed": res.passed}
            except MlexportError as e:
                out[p.format] = {"passed": False, "error": str(e)}
    return out


@app.command()
def parity(
    model: Model,
    artifact: Annotated[Path, typer.Argument(help="Exported artifact (.onnx, .pmml, .json).", show_default=False)],
    data: DataOpt = None,
    runtime: Annotated[list[str], typer.Option("--runtime", help="Runtime(s) to run (default: all for the format).")] = [],  # noqa: B006
    rtol: Rtol = 1e-6,
    atol: Atol = 1e-6,
    report: ReportOpt = None,
    junit: JunitOpt = None,
    probe: ProbeOpt = False,
    trust: TrustOpt = [],  # noqa: B006
) -> None:
    """Score ARTIFACT in each runtime and compare with MODEL's own predictions."""

    def go() -> int:
        from . import api
        from .report import parity_table

        with _Rows() as rows:
            res = api.verify(_load(model, trust), artifact, data=data, runtimes=list(runtime) or None, rtol=rtol, atol=atol,
                             probe=probe, progress=rows)
        _console().print(parity_table(res))
        _write_reports(res, report, junit)
        if not res.passed:
            _err(f"parity failed for {artifact}.")
            return 1
        return 0

    _run(go)


@app.command()
def score(
    artifact: Annotated[Path, typer.Argument(help="Exported artifact.", show_default=False)],
    data: Annotated[Path, typer.Argument(help="Rows to score (.csv or .parquet).", show_default=False)],
    out: Annotated[Path, typer.Option("-o", "--out", help="Predictions CSV to write.")] = Path("predictions.csv"),
    runtime: Annotated[Optional[str], typer.Option("--runtime", help="Runtime to score with.")] = None,
) -> None:
    """Score DATA with ARTIFACT; write label, proba_<class>..., value columns."""

    def go() -> int:
        from . import api

        with _Rows() as rows:
            n = api.score(artifact, data, runtime=runtime, out=out, progress=rows)
        typer.echo(f"wrote {n} predictions to {out}")
        return 0

    _run(go)


@app.command()
def inspect(
    artifact: Annotated[Path, typer.Argument(help="Exported artifact.", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """Describe an artifact's inputs, outputs, classes and provenance."""

    def go() -> int:
        from . import api

        info = api.inspect(artifact)
        if as_json:
            typer.echo(json.dumps(info, indent=2, default=str))
            return 0
        con = _console()
        con.print(f"[bold]{info['artifact']}[/bold]: {info['format']}, {info['size_bytes']} bytes, task {info.get('task')}")
        if info.get("classes") is not None:
            con.print(f"classes (probability column order): {info['classes']}")
        con.print("inputs:")
        for i in info.get("inputs", []):
            con.print(f"  {i['name']}: {i.get('type')} {i.get('shape')}")
        con.print("outputs:")
        for o in info.get("outputs", []):
            con.print(f"  {o['name']}: {o.get('type')} {o.get('shape')}")
        if "manifest" in info and isinstance(info["manifest"], dict):
            m = info["manifest"]
            con.print(f"manifest: created {m.get('created')}, parity passed: {m.get('parity_passed')}, "
                      f"sha256 matches: {info.get('sha256_matches_manifest')}")
        return 0

    _run(go)


@app.command()
def classpath(
    evaluator_only: Annotated[bool, typer.Option("--evaluator", help="Only the JPMML evaluator jars (what a JVM service needs to score PMML).")] = False,
) -> None:
    """Print the Java classpath of the installed PMML jars (for javac / java -cp)."""

    def go() -> int:
        import os

        from . import jvm

        jars = jvm.evaluator_classpath() if evaluator_only else jvm.classpath()
        typer.echo(os.pathsep.join(jars))
        return 0

    _run(go)


def _register_formats() -> None:
    from .exporters import EXPORTERS

    for fmt in EXPORTERS:
        _make_export_command(fmt)


_register_formats()


def run() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    run()
