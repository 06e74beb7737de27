"""The catalog for people and tools: ``kpictl list`` (one line per KPI) and ``kpictl show`` (one KPI).

Reads only the model: no data, no SQL execution (``show`` is handed the compiled SQL). Targets
are summarised as ``≥ 0.95 by 2026-12-31``: with raw numbers in JSON and in ``show`` (what the
analyst wrote in the YAML), formatted by the KPI's format in the ``list`` table.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from kpictl.errors import SpecError
from kpictl.model import Bound, Kpi, lang_of
from kpictl.report import escape, formats
from kpictl.report.i18n import period_words
from kpictl.report.numbers import MISSING, format_bound
from kpictl.report.table import WIDTH, Column, align

FORMATS = formats.CATALOG
_WORDS = {
    "en": {
        "name": "Name",
        "label": "Label",
        "source": "Source",
        "dimensions": "Dimensions",
        "target": "Target",
        "owner": "Owner",
        "derived": "derived",
        "by": "by",
        "per": "per",
    },
    "fr": {
        "name": "Nom",
        "label": "Libellé",
        "source": "Source",
        "dimensions": "Dimensions",
        "target": "Objectif",
        "owner": "Responsable",
        "derived": "dérivé",
        "by": "d'ici le",
        "per": "par",
    },
}


def _raw(number: float) -> str:
    return f"{number:.15g}"  # 0.95 stays 0.95, 1200000.0 is 1200000


def _bound_text(bound: Bound, kpi: Kpi, lang: str | None) -> str:
    if lang is not None:
        return format_bound(bound.min, bound.max, kpi.format, lang)
    if bound.min is not None and bound.max is not None:
        return f"{_raw(bound.min)}–{_raw(bound.max)}"
    if bound.min is not None:
        return f"≥ {_raw(bound.min)}"
    return f"≤ {_raw(bound.max)}" if bound.max is not None else ""


def target_summary(kpi: Kpi, lang: str | None = None, period: str | None = None) -> str | None:
    """``≤ 2600000 per year by 2025-12-31``, ``≥ 0.95 by 2026-12-31, per region``; None without a target.

    ``lang`` None writes the numbers as declared; a language formats them by ``kpi.format``
    (``≥ 95.0% by 2026-12-31``) and translates the words. ``period`` is the period the bound
    is meant for (``Project.bound_periods``), said after the bound.
    """
    target = kpi.target
    if target is None:
        return None
    words = _WORDS[lang_of(lang or "en")]
    text = _bound_text(target.bound, kpi, lang)
    if period and text:
        text += f" {period_words(period, lang or 'en')}"
    if target.by is not None:
        text += f" {words['by']} {target.by.isoformat()}"
    if target.per:
        text += f", {words['per']} {', '.join(target.per)}"
    return text


def _entry(kpi: Kpi, lang: str, period: str | None = None) -> dict[str, Any]:
    return {
        "name": kpi.name,
        "label": kpi.title(lang),
        "labels": dict(kpi.label),  # every language's, as written
        "source": kpi.source,
        "derived": kpi.derived,
        "role": kpi.role,
        "dimensions": [d.name for d in kpi.dimensions],
        "target": target_summary(kpi, period=period),
        "target_period": period,
        "owner": kpi.owner,
        "description": kpi.description,
        "tags": list(kpi.tags),
        "formula": kpi.formula,
        "file": kpi.file,
        "line": kpi.at.line,
    }


def render(kpis: Sequence[Kpi], fmt: str = "table", lang: str = "en", periods: Mapping[str, str] | None = None) -> str:
    """Every KPI of ``kpis`` in the order given: an aligned table, or a JSON list for tools.

    The table fits ``table.WIDTH`` columns: name, label, source, target, owner, dimensions,
    the last two left out when they cannot fit.

    ``periods`` are the periods the bounds are meant for (``Project.bound_periods``), said
    after each bound ("≤ 2600000 per year").

    JSON entries: name, label (in ``lang``), labels (every language's), source (null when
    derived), derived, dimensions, target (raw summary or null), target_period, owner,
    description, tags, formula, file, line.
    """
    periods = periods or {}
    if fmt == "json":
        return json.dumps([_entry(k, lang, periods.get(k.name)) for k in kpis], indent=2, ensure_ascii=False)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    words = _WORDS[lang_of(lang)]
    # Whole columns beat columns cut to illegibility: labels and sources are cut only so far,
    # the target never (its deadline is the point); then owner and dimensions (a ragged list,
    # hence last) are left out, rightmost first. `--format json` always has every field.
    columns = [
        Column("name", words["name"]),
        Column("label", words["label"], shrink_to=16),
        Column("source", words["source"], shrink_to=12),
        Column("target", words["target"]),
        Column("owner", words["owner"], shrink_to=10, optional=True),
        Column("dimensions", words["dimensions"], shrink_to=10, optional=True),
    ]
    lines = [
        tuple(
            escape.line(text)  # labels and owners come from pull requests: one line, no `::` command
            for text in (
                k.name,
                k.title(lang),
                k.source or words["derived"],
                target_summary(k, lang, periods.get(k.name)) or MISSING,
                k.owner or MISSING,
                ", ".join(d.name for d in k.dimensions) or MISSING,
            )
        )
        for k in kpis
    ]
    return align(columns, lines).rstrip("\n")


def references(kpi: Kpi, kpis: Mapping[str, Kpi]) -> list[str]:
    """The KPIs a derived formula uses, in the order they first appear in it; [] for a source KPI."""
    if not kpi.derived:
        return []
    from kpictl.language import formula

    try:
        refs = formula.kpi_refs(formula.parse(kpi.formula, "derived"))
    except SpecError:  # `show` validates first; a broken formula simply has no lineage to draw
        return []

    def first_use(name: str) -> tuple[int, str]:
        found = re.search(rf"\b{re.escape(name)}\b", kpi.formula)
        return (found.start() if found else len(kpi.formula), name)

    return sorted((r for r in refs if r in kpis and r != kpi.name), key=first_use)


def _node(kpi: Kpi) -> str:
    if kpi.derived:
        return f"{kpi.name} = {' '.join(kpi.formula.split())}"
    return f"{kpi.name}  (source: {kpi.source})"


def lineage(kpi: Kpi, kpis: Mapping[str, Kpi], joins: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """What ``kpi`` is computed from, recursively, as an indented tree (one string per line);
    under a source KPI, the lookups it joins (``joins``: KPI → paths, ``Project.joins``).

    ::

        margin_rate = margin / revenue
        ├── margin = revenue - cost
        │   ├── revenue  (source: orders)
        │   └── cost  (source: purchases)
        └── revenue  (source: orders)
    """
    lines = [_node(kpi)]
    joins = joins or {}
    lines += [f"    via {path}" for path in joins.get(kpi.name, ())]

    def walk(parent: Kpi, prefix: str, path: frozenset[str]) -> None:
        refs = references(parent, kpis)
        for i, name in enumerate(refs):
            last = i == len(refs) - 1
            branch = "└── " if last else "├── "
            if name in path:  # checks refuse cycles; never loop if handed one anyway
                lines.append(f"{prefix}{branch}{name}  (cycle)")
                continue
            lines.append(prefix + branch + _node(kpis[name]))
            lines.extend(f"{prefix}{'    ' if last else '│   '}    via {p}" for p in joins.get(name, ()))
            walk(kpis[name], prefix + ("    " if last else "│   "), path | {name})

    walk(kpi, "", frozenset({kpi.name}))
    return lines


def _prose(text: str | None) -> str:
    """Free text wrapped to fit the field column of ``show`` (the names take 13 characters)."""
    return "\n".join(textwrap.wrap(" ".join(text.split()), WIDTH - 13)) if text else MISSING


def _fields(
    kpi: Kpi, kpis: Mapping[str, Kpi], lang: str | None = None, period: str | None = None
) -> list[tuple[str, str]]:
    """Every field of the definition as (name, text); unset ones shown as an em dash."""
    fmt = kpi.format.type + (f", {kpi.format.decimals} decimals" if kpi.format.decimals is not None else "")
    if kpi.format.type == "currency":
        fmt += f", {kpi.format.currency}"
    fields = [
        ("name", kpi.name),
        ("label", " | ".join(f"{lang}: {escape.line(text)}" for lang, text in kpi.label.items()) or MISSING),
        ("description", _prose(kpi.description)),
        ("owner", escape.line(kpi.owner) if kpi.owner else MISSING),
        ("tags", ", ".join(escape.line(t) for t in kpi.tags) or MISSING),
        ("defined in", f"{kpi.file}:{kpi.at.line}" if kpi.at.line else kpi.file),
        ("source", kpi.source or "— (derived from other KPIs)"),
        ("time", kpi.time or "— (the source's)"),
        ("grain", kpi.grain or "— (the run's)"),
        ("formula", kpi.formula),
        ("filters", "\n".join(kpi.filters) or MISSING),
        (
            "dimensions",
            ", ".join(f"{d.name} = {d.expr}" if d.expr else d.name for d in kpi.dimensions) or _inherited(kpi, kpis),
        ),
        ("format", fmt),
        ("target", target_summary(kpi, lang, period) or MISSING),
    ]
    target = kpi.target
    if target is not None:
        tolerance = _raw(target.tolerance)
        if target.tolerance_relative:
            tolerance = f"{_raw(target.tolerance * 100)}% of the bound"
        per = [
            f"{dim}={value}: {_bound_text(bound, kpi, None)}"
            for dim, overrides in target.per.items()
            for value, bound in overrides.items()
        ]
        fields += [
            (
                "  baseline",
                f"{_raw(target.baseline.value)} at {target.baseline.at.isoformat()}"
                if target.baseline
                else "— (the first value in the data)",
            ),
            ("  tolerance", tolerance),
            ("  per", "\n".join(per) or MISSING),
            ("  period", target.period or "— (each period of the run)"),
            ("  rationale", _prose(target.rationale)),
        ]
    fields.append(("tests", "\n".join(escape.line(t.name) for t in kpi.tests) or MISSING))
    return fields


def render_one(
    kpi: Kpi,
    kpis: Mapping[str, Kpi],
    sql: str,
    lang: str | None = None,
    period: str | None = None,
    joins: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """One KPI in full for ``kpictl show``: every field, its lineage tree, then the SQL that computes it.

    ``lang`` None shows the target's numbers as declared; a language formats them (``--lang``).
    ``period`` is the period the bound is meant for; ``joins`` the lookups of each source KPI."""
    fields = _fields(kpi, kpis, lang, period)
    width = max(len(name) for name, _ in fields) + 2
    lines = []
    for name, text in fields:
        # Multi-line values (a block-scalar formula) keep their column; each of their lines is
        # escaped: a label or tag cannot put a control character or a `::` command into a CI log.
        first, *rest = (escape.line(piece) for piece in text.split("\n"))
        lines.append(f"{name:<{width}}{first}".rstrip())
        lines += [" " * width + more for more in rest]
    tree = [escape.line(node) for node in lineage(kpi, kpis, joins)]
    return "\n".join([*lines, "", "lineage", *tree, "", "sql", sql.rstrip("\n")])


def _inherited(kpi: Kpi, kpis: Mapping[str, Kpi]) -> str:
    """A derived KPI's dimensions: those every KPI it is computed from shares."""
    if not kpi.derived:
        return MISSING
    from kpictl.language.checks import dimensions_of

    shared = sorted(dimensions_of(kpi.name, dict(kpis)))
    return f"{', '.join(shared)} (shared by its inputs)" if shared else f"{MISSING} (its inputs share none)"
