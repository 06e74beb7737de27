"""SMART lint reports rendered as a terminal table, JSON or Markdown (for a PR comment)."""

from __future__ import annotations

import json
from typing import Any

from kpictl.judge import lint
from kpictl.report import formats
from kpictl.report.i18n import LEVEL_SYMBOLS as SYMBOL

#: The formats of ``kpictl lint --format``, default first.
FORMATS = formats.LINT


def render(reports: list[Any], fmt: str = "text") -> str:
    """The reports of ``kpictl lint`` in ``fmt`` (text, json or markdown)."""
    if fmt == "json":
        return json.dumps({"kpis": [lint.to_dict(r) for r in reports]}, indent=2, ensure_ascii=False)
    if fmt == "markdown":
        lines = ["| KPI | S | M | A | R | T | notes |", "|---|---|---|---|---|---|---|"]
        for r in reports:
            marks = " | ".join(SYMBOL[s.level] for s in r.letters.values())
            notes = "; ".join(f"{k}: {s.reason}" for k, s in r.letters.items() if s.level != "pass")
            notes = notes.replace("|", r"\|")  # a pipe would end the Markdown cell
            lines.append(f"| `{r.kpi}` | {marks} | {notes} |")
        return "\n".join(lines)
    width = max((len(r.kpi) for r in reports), default=3)
    lines = [f"{'KPI'.ljust(width)}  S M A R T"]
    for r in reports:
        lines.append(f"{r.kpi.ljust(width)}  " + " ".join(SYMBOL[s.level] for s in r.letters.values()))
        for letter, s in r.letters.items():
            if s.level != "pass":
                lines.append(f"{''.ljust(width)}    {letter} {s.level}: {s.reason}")
    failing = sum(not lint.passed(r) for r in reports)
    lines.append(f"{len(reports) - failing} of {len(reports)} KPIs pass (✓ pass, ! warn, ✗ fail)")
    return "\n".join(lines)
