"""Runs rendered as GitHub-flavoured Markdown, for pull-request comments and job summaries.

The table is the terminal view (``table.latest``: same lines, same cells, same words) without
colour and without cutting labels, since a browser wraps them. Pipes in labels are escaped,
so a label cannot break the table; labels and values are HTML-escaped (``report.escape``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kpictl.model import Kpi, Row
from kpictl.report import escape
from kpictl.report.table import latest


def render(
    rows: Sequence[Row], kpis: Mapping[str, Kpi], *, by: Sequence[str] = (), lang: str = "en", year_start: int = 1
) -> str:
    """A GitHub table of the latest complete period of each KPI and breakdown value.

    Numbers are right-aligned. With no rows the table has its header only (still valid Markdown).
    """
    view = latest(rows, kpis, by=by, lang=lang, year_start=year_start)
    lines = [
        "| " + " | ".join(escape.cell(c.title) for c in view.columns) + " |",
        "|" + "|".join("---:" if c.right else ":---" for c in view.columns) + "|",
    ]
    lines += ["| " + " | ".join(escape.cell(text) for text in cells) + " |" for cells, _ in view.lines]
    return "\n".join(lines) + "\n"
