"""A ``kpictl.workflows.diff.Diff`` for people and tools: text for a terminal, Markdown for a pull-request
comment, JSON for programs. Pure functions from a Diff to a string; nothing is computed here but
the summaries a reader needs, and nothing is printed.

What every human view shows, KPI by KPI, in the order of ``diff.KINDS`` (changed, renamed,
added, removed, impacted): each changed field as ``old → new``, what an impacted KPI depends
on, the SQL diff when asked, and with ``--data`` a summary line (how many periods moved, the
largest move) and a table of the rows whose value or status moved, chronologically, at most
:data:`MAX_ROWS` of them (JSON has every row, moved or not). The text view uses no colour and
no box drawing, so it reads the same in a terminal, a CI log or a pasted issue. In Markdown,
everything that comes from a KPI file (formulas, labels, paths) is in code spans, so that a
pull request cannot inject HTML or mentions into the comment it triggers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kpictl.report import escape, formats
from kpictl.report.numbers import MISSING, format_delta, format_value, has_relative_change, scale_of
from kpictl.report.table import Column, align, dim_text, period_label, word

if TYPE_CHECKING:  # the diff itself: only `kpictl diff` needs it
    from kpictl.workflows.diff import Diff, FieldChange, KpiChange, ValueChange

FORMATS = formats.DIFF
#: Moved rows shown per KPI in text and Markdown; JSON has them all.
MAX_ROWS = 24
#: Markdown budget: GitHub refuses comments over 65,536 characters; stop adding KPIs before.
MAX_MARKDOWN = 60_000


def render(diff: Diff, fmt: str = "text") -> str:
    """``diff`` in ``fmt`` (one of :data:`FORMATS`), ending with a newline."""
    return {"text": _text, "markdown": _markdown, "json": _json}[fmt](diff)


def summary(diff: Diff) -> str:
    """One line: ``2 changed, 1 renamed, 1 impacted``; kinds with no KPI are left out."""
    from kpictl.workflows.diff import KINDS

    counts = {kind: sum(1 for k in diff.kpis if k.change == kind) for kind in KINDS}
    parts = [f"{n} {kind}" for kind, n in counts.items() if n]
    return ", ".join(parts) if parts else "no KPI definition changed"


def moved(change: KpiChange) -> list[ValueChange]:
    """The rows of a KPI whose value or status changed."""
    return [v for v in change.values or () if v.moved or v.base_status != v.head_status]


def largest(change: KpiChange) -> ValueChange | None:
    """The row that moved most, relatively; a move from 0 or NULL (no relative change) comes first."""
    moves = [v for v in change.values or () if v.moved]
    return max(moves, key=lambda v: float("inf") if v.relative is None else abs(v.relative), default=None)


def breach_lines(diff: Diff, threshold: float) -> list[str]:
    """One stderr line per row that moved more than ``threshold``: what ``--fail-on-change`` fails on."""
    scales: dict[str, float | None] = {}
    return [
        f"{k.name} {_where(v, diff.grain, diff.year_start)}: {_value(v.base, k)} → {_value(v.head, k)} "
        f"({_relative(v, scales[k.name] if k.name in scales else scales.setdefault(k.name, _scale(k)))}) "
        f"moved more than {threshold * 100:g}%"
        for k, v in diff.moved_more_than(threshold)
    ]


# -- cells shared by text and Markdown ------------------------------------------------------------


def _value(value: float | None, change: KpiChange) -> str:
    return format_value(value, change.format)


def _scale(change: KpiChange) -> float | None:
    """The scale of a KPI's values on both sides (``numbers.scale_of``): worked out once per KPI
    by the callers, a breakdown by customer has a million values."""
    return scale_of(x for c in change.values or () for x in (c.base, c.head))


def _relative(v: ValueChange, scale: float | None) -> str:
    """``-76.9%``; a move that has no relative size says what it is: ``new``, ``gone``, ``from 0``,
    ``across 0``, else ``—`` where a relative size would be noise (``numbers.has_relative_change``: a base
    that is negative or negligible against the KPI's values (``scale``), a move across zero)."""
    if v.relative is not None and has_relative_change(v.head, v.base, scale):
        return f"{v.relative:+.1%}" if v.relative else "0.0%"
    if v.base is None or v.head is None:
        return MISSING if v.base is v.head else ("new" if v.base is None else "gone")
    if v.moved and v.base == 0:
        return "from 0"
    return "across 0" if v.moved and (v.base < 0) != (v.head < 0) else MISSING


def _status(v: ValueChange) -> str:
    if v.base_status == v.head_status:
        return "" if v.head_status == "no_target" else word(v.head_status)
    return f"{word(v.base_status)} → {word(v.head_status)}"


def _where(v: ValueChange, grain: str | None, year_start: int = 1) -> str:
    label = period_label(v.period, grain, year_start=year_start)
    return " ".join([label, *(f"{d}={dim_text(x)}" for d, x in v.dims.items())])


def _headline(change: KpiChange) -> str:
    return f"{change.old_name} → {change.name}" if change.old_name else change.name


def _via(change: KpiChange, quote: Any = str) -> str:
    """``revenue, source orders``: what changed under an impacted KPI (``quote`` marks up each name)."""
    return ", ".join(f"source {quote(v[7:])}" if v.startswith("source:") else quote(v) for v in change.via)


def _values_line(change: KpiChange, diff: Diff) -> str | None:
    """``3 of 12 periods moved, 2 statuses changed; largest: 2025-02 130 → 30 (-76.9%)``."""
    if change.values is None:
        return None
    if not change.values:
        return "no data in the range"
    unit = "rows" if change.by else "periods"
    count = sum(1 for v in change.values if v.moved)
    statuses = sum(1 for v in change.values if v.base_status != v.head_status)
    text = f"{count} of {len(change.values)} {unit} moved" if count else f"no value moved ({len(change.values)} {unit})"
    if statuses:
        text += f", {statuses} status{'es' if statuses > 1 else ''} changed"
    if (top := largest(change)) is not None:
        where = _where(top, diff.grain, diff.year_start)
        text += f"; largest: {where} {_value(top.base, change)} → {_value(top.head, change)}"
        text += f" ({_relative(top, _scale(change))})"
    dropped = [d for d in diff.by if d not in change.by]
    if dropped:
        text += f" (not by {', '.join(dropped)}: not a dimension of it on both sides)"
    return text


def _rows(change: KpiChange, grain: str | None, year_start: int = 1) -> tuple[list[Column], list[list[str]], int]:
    """The moved rows as table cells: columns, at most MAX_ROWS lines, and how many were left out."""
    columns = [Column("period", "period"), *(Column(d, d) for d in change.by)]
    columns += [Column(c, c, right=True) for c in ("base", "head", "change", "relative")] + [Column("status", "status")]
    scale = _scale(change)
    lines = [
        [
            period_label(v.period, grain, year_start=year_start),
            *(dim_text(v.dims.get(d)) for d in change.by),
            _value(v.base, change),
            _value(v.head, change),
            format_delta(v.delta, change.format),
            _relative(v, scale),
            _status(v),
        ]
        for v in moved(change)[:MAX_ROWS]  # the lines shown only
    ]
    return columns, lines, max(len(moved(change)) - MAX_ROWS, 0)


# -- text -----------------------------------------------------------------------------------------


def _field_lines(fields: Sequence[FieldChange], indent: str = "  ") -> list[str]:
    """``field: old → new`` on one line, or a ``-``/``+`` pair of lines when that is too long."""
    width = max((len(f.field) for f in fields), default=0)
    out = []
    for f in fields:
        old, new = f.old or "(none)", f.new or "(none)"
        if len(old) + len(new) + width > 90:
            out += [f"{indent}{f.field}:", f"{indent}  - {old}", f"{indent}  + {new}"]
        else:
            out.append(f"{indent}{f.field + ':':<{width + 1}} {old} → {new}")
    return out


def _text_kpi(change: KpiChange, diff: Diff) -> list[str]:
    lines = [f"{change.change}  {_headline(change)}  ({change.file})", *_field_lines(change.fields)]
    if change.via:
        lines.append(f"  depends on changed: {_via(change)}")
    if (values := _values_line(change, diff)) is not None:
        lines.append(f"  values: {values}")
        columns, cells, more = _rows(change, diff.grain, diff.year_start)
        if cells:
            lines += ["    " + line for line in align(columns, cells, width=200).splitlines()]
        if more:
            lines.append(f"    … and {more} more (--format json has every row)")
    if change.sql_diff:
        lines += ["  sql:", *("    " + line for line in change.sql_diff.splitlines())]
    return lines


def _text(diff: Diff) -> str:
    lines = [f"kpictl diff {diff.base} → {diff.head}", summary(diff)]
    if diff.project:
        lines += ["", "kpictl.yml", *_field_lines(diff.project)]
    for change in diff.kpis:
        lines += ["", *_text_kpi(change, diff)]
    return "\n".join(lines) + "\n"


# -- Markdown -------------------------------------------------------------------------------------


def _code(text: str | None) -> str:
    """Text from a KPI file as a code span that a table cell can hold (see ``report.escape``)."""
    return MISSING if text is None else escape.code(text)


def _md_fields(fields: Sequence[FieldChange]) -> list[str]:
    return [
        "| field | base | head |",
        "|:--|:--|:--|",
        *(f"| {f.field} | {_code(f.old)} | {_code(f.new)} |" for f in fields),
        "",
    ]


def _md_kpi(change: KpiChange, diff: Diff) -> list[str]:
    name = f"`{change.old_name}` → `{change.name}`" if change.old_name else f"`{change.name}`"
    lines = [f"#### {name} · {_code(change.file)}", ""]
    if change.fields:
        lines += _md_fields(change.fields)
    if change.via:
        lines += [f"Depends on changed: {_via(change, _code)}", ""]
    if (values := _values_line(change, diff)) is not None:
        lines += [f"**Values:** {values}", ""]
        columns, cells, more = _rows(change, diff.grain, diff.year_start)
        if cells:
            lines.append("| " + " | ".join(c.title for c in columns) + " |")
            lines.append("|" + "|".join("--:" if c.right else ":--" for c in columns) + "|")
            lines += ["| " + " | ".join(escape.cell(cell) for cell in row) + " |" for row in cells]
            lines.append("")
        if more:
            lines += [f"… and {more} more rows (`kpictl diff --data --format json` has them all)", ""]
    if change.sql_diff:
        fence = "````" if "```" in change.sql_diff else "```"
        lines += [
            "<details><summary>SQL diff</summary>",
            "",
            f"{fence}diff",
            change.sql_diff.rstrip("\n"),
            fence,
            "",
            "</details>",
            "",
        ]
    return lines


def _markdown(diff: Diff) -> str:
    from kpictl.workflows.diff import KINDS

    lines = [f"## kpictl diff: {_code(str(diff.base))} → {_code(str(diff.head))}", "", f"**{summary(diff)}**", ""]
    if diff.project:
        lines += ["### kpictl.yml", "", *_md_fields(diff.project)]
    shown = 0
    for kind in KINDS:
        group = [k for k in diff.kpis if k.change == kind]
        if not group:
            continue
        lines += [f"### {kind.capitalize()} ({len(group)})", ""]
        for change in group:
            block = (
                [f"- {_code(change.name)} · {_code(change.file)}"]
                if kind in ("added", "removed")
                else _md_kpi(change, diff)
            )
            if sum(len(line) + 1 for line in lines + block) > MAX_MARKDOWN:
                lines += [
                    f"… {len(diff.kpis) - shown} more KPIs left out to fit a comment: "
                    "run `kpictl diff --format json` for everything",
                    "",
                ]
                return "\n".join(lines).rstrip("\n") + "\n"
            lines += block
            shown += 1
        if kind in ("added", "removed"):
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# -- JSON -----------------------------------------------------------------------------------------


def _json_value(v: ValueChange) -> dict[str, Any]:
    return {
        "period": v.period.isoformat(),
        "dims": v.dims,
        "base": v.base,
        "head": v.head,
        "delta": v.delta,
        "relative": v.relative,
        "moved": v.moved,
        "base_status": v.base_status,
        "head_status": v.head_status,
    }


def _json_kpi(change: KpiChange) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": change.name,
        "change": change.change,
        "old_name": change.old_name,
        "file": change.file,
        "fields": [vars(f) for f in change.fields],
        "via": list(change.via),
        "sql_diff": change.sql_diff,
        "by": list(change.by),
        "values": None,
        "summary": None,
    }
    if change.values is not None:
        top = largest(change)
        out["values"] = [_json_value(v) for v in change.values]
        out["summary"] = {
            "rows": len(change.values),
            "moved": sum(1 for v in change.values if v.moved),
            "status_changed": sum(1 for v in change.values if v.base_status != v.head_status),
            "largest": _json_value(top) if top else None,
        }
    return out


def _json(diff: Diff) -> str:
    from kpictl.workflows.diff import KINDS

    body = {
        "base": {"label": diff.base.label, "commit": diff.base.commit},
        "head": {"label": diff.head.label, "commit": diff.head.commit},
        "grain": diff.grain,
        "by": list(diff.by),
        "counts": {kind: sum(1 for k in diff.kpis if k.change == kind) for kind in KINDS},
        "project": [vars(f) for f in diff.project],
        "kpis": [_json_kpi(k) for k in diff.kpis],
        "ran": list(diff.ran),
    }
    return json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n"
