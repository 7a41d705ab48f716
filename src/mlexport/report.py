"""Rendering results: a rich table for people, JSON and JUnit XML for machines.

Every file is written atomically (temporary file in the same directory, then
rename), so a reader never sees half a report.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .parity import ParityResult
from .plan import Plan


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that it appears whole or not at all."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    return f"{v:.2e}"


def parity_table(result: ParityResult) -> Any:
    from rich.table import Table

    title = (
        f"parity: {result.format} artifact {Path(result.artifact).name}, {result.rows} rows, "
        f"rtol={result.tolerance.rtol:g} atol={result.tolerance.atol:g}"
    )
    t = Table(title=title, title_justify="left")
    for col in ("runtime", "output", "max abs err", "max rel err", "mismatches", "worst rows", "result"):
        t.add_column(col, justify="right" if col.startswith(("max", "mism")) else "left")
    for r in result.runtimes:
        if r.error:
            t.add_row(r.runtime, "-", "-", "-", "-", "-", f"[red]ERROR[/red] {r.error}")
            continue
        for o in r.outputs:
            if o.passed:
                verdict = f"[dim]{o.note}[/dim]" if o.note.startswith("not compared") else "[green]ok[/green]"
            else:
                verdict = f"[red]FAIL[/red]{' ' + o.note if o.note else ''}"
            t.add_row(r.runtime, o.name, _num(o.max_abs_err), _num(o.max_rel_err), str(o.mismatches),
                      ",".join(map(str, o.worst_rows)) or "-", verdict)
    return t


def plan_table(plans: list[Plan]) -> Any:
    from rich.table import Table

    t = Table(title="check: what each step becomes in each format", title_justify="left")
    t.add_column("step")
    t.add_column("class")
    for p in plans:
        t.add_column(p.format)
    paths: list[tuple[str, str]] = []
    for p in plans:
        for v in p.verdicts:
            if (v.path, v.cls) not in paths:
                paths.append((v.path, v.cls))
    for path, cls in paths:
        cells = []
        for p in plans:
            found = next((v for v in p.verdicts if v.path == path), None)
            if found is None:
                cells.append("-")
            elif found.ok:
                cells.append("[green]ok[/green]")
            else:
                word = "[red]unsupported[/red]" if found.status == "unsupported" else "[yellow]mis-scores[/yellow]"
                cells.append(f"{word}: {found.reason}" + (f" -> {found.hint}" if found.hint else ""))
        t.add_row(path, cls, *cells)
    return t


def to_json(result: ParityResult) -> str:
    return json.dumps(result.to_dict(), indent=2, default=str)


def to_junit(results: list[ParityResult]) -> str:
    """One testsuite per artifact, one testcase per runtime x output."""
    suites = []
    for res in results:
        cases = []
        failures = 0
        for r in res.runtimes:
            if r.error:
                failures += 1
                cases.append(
                    f'    <testcase classname={quoteattr("mlexport." + res.format + "." + r.runtime)} name="load">'
                    f"<failure message={quoteattr(r.error)}/></testcase>"
                )
                continue
            for o in r.outputs:
                name = quoteattr(o.name)
                cls = quoteattr("mlexport." + res.format + "." + r.runtime)
                if o.passed:
                    cases.append(f"    <testcase classname={cls} name={name}/>")
                else:
                    failures += 1
                    msg = (f"{o.mismatches} of {res.rows} rows outside rtol={res.tolerance.rtol:g} atol={res.tolerance.atol:g}; "
                           f"max_abs_err={o.max_abs_err}; worst rows {list(o.worst_rows)} {o.note}").strip()
                    cases.append(f"    <testcase classname={cls} name={name}><failure message={quoteattr(msg)}>"
                                 f"{escape(msg)}</failure></testcase>")
        suites.append(
            f'  <testsuite name={quoteattr("parity " + Path(res.artifact).name)} tests="{len(cases)}" failures="{failures}">\n'
            + "\n".join(cases) + "\n  </testsuite>"
        )
    return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n' + "\n".join(suites) + "\n</testsuites>\n"
