"""Deciding, before any export, what each step will become in each format.

A :class:`Plan` holds one :class:`Verdict` per step for one format:

* ``supported``: the converter handles it and parity is expected;
* ``unsupported``: the converter refuses it (``reason`` says why, ``hint`` what to do);
* ``misscores``: the converter accepts it but is known to produce wrong numbers,
  so mlexport refuses it too.

Each exporter supplies ``assess(model)``; this module only assembles and
summarises, so ``check`` needs no JVM and no converter run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .model import LoadedModel

Status = Literal["supported", "unsupported", "misscores"]


@dataclass(frozen=True)
class Verdict:
    path: str
    cls: str
    status: Status
    reason: str = ""
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "supported"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "class": self.cls, "status": self.status, "reason": self.reason, "hint": self.hint}


@dataclass(frozen=True)
class Plan:
    format: str
    verdicts: tuple[Verdict, ...]

    @property
    def blocked(self) -> bool:
        return any(not v.ok for v in self.verdicts)

    @property
    def blockers(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "ok": not self.blocked, "steps": [v.to_dict() for v in self.verdicts]}


def plan(model: LoadedModel, fmt: str) -> Plan:
    from .exporters import get_exporter

    return Plan(fmt, tuple(get_exporter(fmt).assess(model)))
