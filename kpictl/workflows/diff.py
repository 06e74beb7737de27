"""BASE vs HEAD of a project's definitions → a Diff: what changed, what it impacts, how values move.

Both sides are read from git objects (``git show REV:path``, ``git ls-tree``: nothing is checked
out or written) and loaded with today's project root, so that ``--data`` runs both definitions on
the same data files. Only changed KPIs and the derived KPIs that use them are compiled and run.
This module renders nothing (``report.diffview`` does).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import math
import posixpath
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpictl.errors import InvalidProject, KpiError, Location, SpecError, suggest
from kpictl.language import checks, formula, spec
from kpictl.model import Config, Format, Judgement, Kpi, Lookup, Row
from kpictl.project import Project

if TYPE_CHECKING:
    from kpictl.table import Table

#: Fields whose change moves a KPI's values; ``target.*`` moves its statuses; the rest is wording.
VALUE_FIELDS = ("source", "formula", "filter", "dimensions", "time", "grain", "snapshot")
#: Kinds of change, in the order the reports list them.
KINDS = ("changed", "renamed", "added", "removed", "impacted")


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a git commit, or the working tree (``commit`` None)."""

    label: str  # what was asked for: "main~1", "merge base with main", "working tree"
    commit: str | None = None

    def __str__(self) -> str:
        return f"{self.label} ({self.commit[:7]})" if self.commit else self.label


@dataclass(frozen=True)
class FieldChange:
    """One field of a definition as text on each side (None: not set), e.g. ``target.min``."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ValueChange:
    """One period and breakdown of a KPI, computed with BASE's and with HEAD's definitions.

    ``relative`` is (head - base) / |base|, None when there is nothing to divide by (base 0 or
    NULL); ``moved`` ignores float noise and counts a NULL becoming a number (or back).
    """

    period: dt.date
    dims: dict[str, Any]
    base: float | None
    head: float | None
    base_status: str = "no_target"
    head_status: str = "no_target"

    @property
    def delta(self) -> float | None:
        return None if self.base is None or self.head is None else self.head - self.base

    @property
    def relative(self) -> float | None:
        return None if self.delta is None or not self.base else self.delta / abs(self.base)

    @property
    def moved(self) -> bool:
        if self.base is None or self.head is None:
            return (self.base is None) != (self.head is None)
        return not math.isclose(self.base, self.head, rel_tol=1e-9, abs_tol=1e-12)


@dataclass(frozen=True)
class KpiChange:
    """What happened to one KPI. ``values`` is None when it was not run (no ``--data``, or it
    cannot move: added, removed, wording only); ``by`` is the breakdown they were computed with."""

    name: str  # HEAD's name (BASE's for a removed KPI)
    change: str  # one of KINDS
    file: str
    old_name: str | None = None  # BASE's name of a renamed KPI
    fields: tuple[FieldChange, ...] = ()
    via: tuple[str, ...] = ()  # the changed KPIs (or "source:x") its value depends on
    format: Format = Format()  # noqa: RUF009 - frozen, so one shared default is safe
    sql_diff: str | None = None
    by: tuple[str, ...] = ()
    values: tuple[ValueChange, ...] | None = None

    @property
    def base_name(self) -> str:
        return self.old_name or self.name

    @property
    def moves_values(self) -> bool:
        """Whether BASE and HEAD may compute different values or statuses (what ``--data`` runs)."""
        own = any(
            f.field in VALUE_FIELDS or (f.field.startswith("target.") and f.field != "target.rationale")
            for f in self.fields
        )
        return self.change in ("changed", "renamed", "impacted") and (own or bool(self.via))


@dataclass(frozen=True)
class Diff:
    """The whole comparison. ``project`` holds the kpictl.yml changes; ``ran`` names the KPIs
    handed to the engine (HEAD's names, then BASE's, per breakdown) so callers can see the cost."""

    base: Side
    head: Side
    kpis: tuple[KpiChange, ...]
    project: tuple[FieldChange, ...] = ()
    grain: str | None = None
    by: tuple[str, ...] = ()
    ran: tuple[str, ...] = ()
    year_start: int = 1  # HEAD's fiscal year: the month its quarters and years start in (labels)

    def moved_more_than(self, threshold: float) -> list[tuple[KpiChange, ValueChange]]:
        """Every row that moved by more than ``threshold``, relative (0.01 = 1 %): what
        ``--fail-on-change`` fails on. A move from 0 or from NULL has no relative size and always counts."""
        return [
            (k, v)
            for k in self.kpis
            for v in k.values or ()
            if v.moved and (v.relative is None or abs(v.relative) > threshold)
        ]


def _git(root: Path, *args: str) -> bytes | None:
    """Stdout of a git command run in ``root``; None when git says no (unknown ref, no repository…)."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except FileNotFoundError:  # no git, or no folder to run it in
        what = "git is not installed: kpictl diff compares git revisions" if root.is_dir() else "no such folder"
        raise SpecError(what, at=Location(str(root))) from None
    return done.stdout if done.returncode == 0 else None


def _git_text(root: Path, *args: str) -> str | None:
    """Stdout of a one-line git answer (a sha, a prefix), without its final newline only: a
    path may end with spaces, and is not quoted by these commands."""
    out = _git(root, *args)
    return None if out is None else out.decode("utf-8", "surrogateescape").removesuffix("\n")


def repository_prefix(root: Path) -> str:
    """The project folder relative to its git repository's root ("" outside git).

    CI annotations (github, sarif) name files from the repository root, so that a project in a
    subfolder still annotates the right lines of the pull request.
    """
    return _git_text(root, "rev-parse", "--show-prefix") or ""


def _side(root: Path, rev: str | None, role: str, head: str = "HEAD") -> Side:
    """The commit ``rev`` names or, for None, the merge base of ``head`` with the default branch
    (origin/HEAD, else main, else master): the commit a pull request branched from."""
    if rev is not None:
        sha = _git_text(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
        if not sha:
            raise SpecError(
                f"unknown revision '{rev}'",
                at=Location(role),
                hint="give a branch, tag or commit that exists here; git log --oneline lists them",
            )
        return Side(rev, sha)
    origin = _git_text(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    for branch in (origin, "main", "master"):
        if branch and _git_text(root, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}"):
            base = _git_text(root, "merge-base", branch, head)
            if base:
                return Side(f"merge base with {branch}", base)
    raise SpecError(
        "no default branch to compare with: origin/HEAD, main and master do not exist or share no history",
        hint="name the base revision: kpictl diff BASE (in CI, fetch it first)",
    )


def _open(root: Path, prefix: str, side: Side, role: str) -> Project:
    """The validated project of ``side``: the working tree, or a commit read from git objects
    with today's ``root`` (so that source paths name today's data files)."""
    commit = side.commit or ""

    def read(rel: str) -> bytes | None:
        return _git(root, "show", f"{commit}:{prefix}{rel}")

    def listing(folders: Sequence[str]) -> list[str]:
        specs = [posixpath.normpath(prefix + f) for f in folders]
        # -z: names as they are, NUL-separated; without it git quotes a name that is not ASCII
        # ("metrics/\303\251.yml") or has a newline, and such files went missing from the diff.
        out = _git(root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", *specs) or b""
        names = out.decode("utf-8", "surrogateescape").split("\0")
        return sorted(n[len(prefix) :] for n in names if n.endswith((".yml", ".yaml")))

    def load() -> Project:
        if commit and read(spec.PROJECT_FILE) is None:
            raise SpecError(
                f"no project at '{side.label}': {spec.PROJECT_FILE} does not exist there",
                at=Location(spec.PROJECT_FILE),
                hint="compare from a later revision",
            )
        project = Project.load(root, read=read if commit else None, listing=listing if commit else None)
        if errors := project.validate(data=False):
            raise InvalidProject(errors)
        return project

    return _at(side, role, load)  # type: ignore[no-any-return]


def _at(side: Side, role: str, call: Callable[[], Any]) -> Any:
    """``call()``; problems of a past revision are located as ``BASE 1a2b3c4:file:line:col``, so that
    nobody looks for them in the working tree (``git show 1a2b3c4:file`` shows the file as it was)."""
    try:
        return call()
    except KpiError as exc:
        if side.commit is None:
            raise
        errors = [copy.copy(e) for e in (exc.errors if isinstance(exc, InvalidProject) else [exc])]
        for error in errors:
            error.at = dataclasses.replace(error.at, file=f"{role} {side.commit[:7]}:{error.at.file or ''}".rstrip(":"))
        raise InvalidProject(errors) from None


def _text(value: Any) -> str | None:
    """A field value as one line of text; None for "not set"."""
    if value is None or value == () or value == [] or value == "":
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (tuple, list)):
        return ", ".join(str(_text(v)) for v in value)
    return " ".join(str(value).split())  # re-wrapping a YAML block scalar is not a change


def _kpi_fields(kpi: Kpi, period: str | None = None) -> dict[str, str | None]:
    """A KPI flattened to field → text, in the order a reviewer reads a definition; a bound says
    the period it is meant for (``period``: ``Project.bound_periods``), "120 per month"."""
    out = {
        "source": kpi.source,
        "formula": _text(kpi.formula),
        "filter": _text(kpi.filters),
        "dimensions": _text([d.name if d.expr is None else f"{d.name} = {d.expr}" for d in kpi.dimensions]),
        "time": kpi.time,
        "grain": kpi.grain,
        "snapshot": f"per {', '.join(s.per)}, take {s.take}" if (s := kpi.snapshot) else None,
    }
    if (t := kpi.target) is not None:
        tolerance = f"{t.tolerance * 100:g}%" if t.tolerance_relative else _text(t.tolerance)
        per = [f"{d}={v}: {_text(b.min) or ''}..{_text(b.max) or ''}" for d, m in t.per.items() for v, b in m.items()]
        out |= {
            "target.min": _per(_text(t.bound.min), period),
            "target.max": _per(_text(t.bound.max), period),
            "target.by": _text(t.by),
            "target.baseline": f"{_text(t.baseline.value)} at {t.baseline.at}" if t.baseline else None,
            "target.tolerance": tolerance if t.tolerance else None,
            "target.per": _text(per),
            "target.period": t.period,
            "target.rationale": _text(t.rationale),
        }
    out |= {f"label.{lang}": text for lang, text in sorted(kpi.label.items())}
    f = kpi.format
    shown = [f.type, "" if f.decimals is None else f"{f.decimals} decimals", f.currency if f.type == "currency" else ""]
    return out | {
        "format": " ".join(filter(None, shown)),
        "description": _text(kpi.description),
        "owner": kpi.owner,
        "tags": _text(kpi.tags),
        "tests": _text([t.name for t in kpi.tests]),
        "file": kpi.file,
    }


def _config_fields(config: Config) -> dict[str, str | None]:
    """kpictl.yml flattened to field → text; a ``sources.<name>.*`` change impacts that source's KPIs."""
    out = {
        "name": config.name,
        "metrics": _text(config.metrics),
        "defaults.grain": config.grain,
        "defaults.locale": config.locale,
        "calendar.fiscal_year_start": f"{config.calendar.year_start:02d}-01",
        "fail_on": config.fail_on,
    }
    for s in config.sources.values():
        p = f"sources.{s.name}."
        out |= {
            p + "path": s.path,
            p + "format": s.format,
            p + "key": s.key,
            p + "time": s.time,
            p + "lookups": _text([_lookup_text(lk) for lk in s.lookups]),
            p + "columns": _text(
                [f"{c}: {t.lower()}" for c, t in s.columns.items()] + [f"{c.name}: {c.expr}" for c in s.computed]
            ),
            p + "hive_partitioning": "true" if s.hive_partitioning else None,
        }
    return out | {f"vars.{k}": _text(v) for k, v in config.vars.items()}


def _lookup_text(lk: Lookup) -> str:
    """``airports as origin_airport on origin → faa``, with a history's or a snapshot's dates."""
    text = lk.source + (f" as {lk.alias}" if lk.alias else "")
    text += " on " + ", ".join(f if f == k else f"{f} → {k}" for f, k in lk.pairs)
    if lk.valid_from:
        text += f", valid from {lk.valid_from} to {lk.valid_to}"
    if lk.date:
        text += f", of the day {lk.date}"
    return text + (f" at {lk.time}" if lk.time else "")


def _field_changes(old: dict[str, str | None], new: dict[str, str | None]) -> tuple[FieldChange, ...]:
    keys = dict.fromkeys([*new, *old])
    return tuple(FieldChange(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _renames(base: dict[str, Kpi], head: dict[str, Kpi]) -> dict[str, str]:
    """New name → old name, for each removed KPI whose source and formula reappear under an added name."""
    removed = {(k.source, _text(k.formula)): n for n, k in reversed(base.items()) if n not in head}
    found = {n: removed.pop((k.source, _text(k.formula)), None) for n, k in head.items() if n not in base}
    return {new: old for new, old in found.items() if old is not None}


def _uses(kpis: dict[str, Kpi], config: Config) -> dict[str, set[str]]:
    """KPI → what its value is computed from: KPI names (derived) or ``source:x`` (source KPIs)."""
    from kpictl.language.resolve import Resolver

    resolver = Resolver(config)
    uses: dict[str, set[str]] = {}
    for k in kpis.values():
        if k.derived:
            uses[k.name] = formula.kpi_refs(formula.parse(k.formula, "derived")) & set(kpis)
        else:  # its source and every source it may reach through lookups
            source = config.sources.get(k.source or "")
            reached = resolver.relations(source) if source else ()
            uses[k.name] = {f"source:{k.source}"} | {f"source:{r.lookup.source}" for r in reached}
    return uses


def _roots(name: str, uses: dict[str, set[str]], moved: set[str], seen: set[str]) -> set[str]:
    """The moved KPIs (or sources) that ``name`` depends on, directly or through other KPIs."""
    found: set[str] = set()
    for dep in sorted(uses.get(name, set()) - seen):
        seen.add(dep)
        found |= {dep} if dep in moved else _roots(dep, uses, moved, seen)
    return found


def _per(bound: str | None, period: str | None) -> str | None:
    from kpictl.report.i18n import period_words

    return f"{bound} {period_words(period)}" if bound is not None and period else bound


def definitions(base: Project, head: Project) -> tuple[tuple[FieldChange, ...], list[KpiChange]]:
    """Compare two validated projects' definitions: the kpictl.yml changes, and one KpiChange per KPI
    added, removed, renamed, changed, or impacted (a derived KPI using a changed one, transitively)."""
    old, new = base.kpis, head.kpis
    project = _field_changes(_config_fields(base.config), _config_fields(head.config))
    renames = _renames(old, new)
    base_periods, head_periods = base.bound_periods(), head.bound_periods()
    changes: dict[str, KpiChange] = {}
    for name, kpi in new.items():
        before = old.get(renames.get(name, name))
        if before is None:
            changes[name] = KpiChange(name, "added", kpi.file, format=kpi.format)
        elif (
            fields := _field_changes(
                _kpi_fields(before, base_periods.get(before.name)), _kpi_fields(kpi, head_periods.get(name))
            )
        ) or name in renames:
            changes[name] = KpiChange(
                name,
                "renamed" if name in renames else "changed",
                kpi.file,
                renames.get(name),
                fields,
                format=kpi.format,
            )
    sources = {"source:" + c.field.split(".")[1] for c in project if c.field.startswith("sources.")}
    moved = sources | {n for n, c in changes.items() if c.moves_values}
    uses = _uses(new, head.config)
    for name, kpi in new.items():
        via = tuple(sorted(_roots(name, uses, moved - {name}, set())))
        if via and name not in changes:
            changes[name] = KpiChange(name, "impacted", kpi.file, via=via, format=kpi.format)
        elif via and changes[name].change != "added":
            changes[name] = dataclasses.replace(changes[name], via=via)
    gone = [
        KpiChange(n, "removed", k.file, format=k.format)
        for n, k in old.items()
        if n not in new and n not in renames.values()
    ]
    return project, sorted([*changes.values(), *gone], key=lambda c: (KINDS.index(c.change), c.name))


def _breakdown(change: KpiChange, base: Project, head: Project, by: Sequence[str]) -> tuple[str, ...]:
    """The dimensions of ``by`` that the KPI has on both sides: a dimension one side lacks cannot be compared."""
    both = checks.dimensions_of(change.base_name, base.kpis) & checks.dimensions_of(change.name, head.kpis)
    return tuple(d for d in by if d in both)


def _sql_diff(
    change: KpiChange, base: Project, head: Project, sides: tuple[Side, Side], grain: str, by: Sequence[str]
) -> str | None:
    """Unified diff of the SQL each side compiles for this KPI; None when it is the same SQL."""
    by = _breakdown(change, base, head, by)
    old = _at(sides[0], "BASE", lambda: base.compile([change.base_name], grain=grain, by=by).sql)
    new = _at(sides[1], "HEAD", lambda: head.compile([change.name], grain=grain, by=by).sql)
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        f"{sides[0].label}:{change.base_name}",
        f"{sides[1].label}:{change.name}",
        lineterm="",
    )
    return "\n".join(lines) + "\n" if old != new else None


def _values(old: Table, new: Table, change: KpiChange, by: Sequence[str]) -> tuple[ValueChange, ...]:
    """Pair one KPI's rows by period and breakdown; a row that only one side has is NULL on the other.

    Column-wise (a breakdown by customer pairs a million rows): the key of a row is its period and
    its breakdown values, coded alike on both sides; keys ordered by period, then each breakdown
    value's text, NULL last (what :func:`_values_by_rows` sorted by, row by row)."""
    import numpy as np

    from kpictl import table

    sides = []
    for found, name in ((old, change.base_name), (new, change.name)):
        if name not in found.names:
            sides.append(found.take(np.zeros(len(found), dtype=bool)))
        else:
            sides.append(found.take(found.kpi == found.names.index(name)))
    old, new = sides
    both = table.Table(
        names=("",),
        kpi=np.zeros(len(old) + len(new), dtype=np.int64),
        day=np.concatenate([old.day, new.day]),
        hour=None if old.hour is None and new.hour is None else np.concatenate([_hours(old), _hours(new)]),
        dims={d: np.concatenate([old.dims[d], new.dims[d]]) for d in by},
        value=np.concatenate([old.value, new.value]),
        complete=np.ones(len(old) + len(new), dtype=bool),
        partial_window=np.zeros(len(old) + len(new), dtype=bool),
    )
    codes = [both.codes(d) for d in by]  # equal values pair up (1 and 1.0 when a column's type changed)
    moments = both.moments()  # the period: a day, or an hour of it (two hours of a day are two keys)
    low = int(moments.min()) if len(both) else 0
    span = int(moments.max()) - low + 1 if len(both) else 1
    key = table.combine([(moments - low, span), *((code, len(values)) for code, values in codes)])
    number, firsts = table.first_rows(key)  # one per distinct key, the first row of each
    where_old = np.full(len(firsts), -1, dtype=np.int64)
    where_new = np.full(len(firsts), -1, dtype=np.int64)
    where_old[number[: len(old)]] = np.arange(len(old))  # the last of two rows with one key wins, as a dict's
    where_new[number[len(old) :]] = np.arange(len(new))
    ranks = []
    for code, values in reversed(codes):  # the text of each breakdown value, NULL last
        texts = [(v is None, str(v)) for v in values]
        order = {t: i for i, t in enumerate(sorted(set(texts)))}
        ranks.append(np.array([order[t] for t in texts] or [0], dtype=np.int64)[code[firsts]])
    keys = np.lexsort((*ranks, moments[firsts])) if len(firsts) else firsts
    statuses = np.array(table.STATUSES, dtype=object)

    def column(side: Table, at: Any, values: bool) -> list[Any]:
        present = at >= 0
        if values:
            out = np.full(len(at), np.nan)
            out[present] = side.value[at[present]]
            return [None if v != v else v for v in out.tolist()]
        found = np.full(len(at), table.STATUSES.index("no_data"), dtype=np.int64)
        if side.verdicts is not None:
            found[present] = side.verdicts.status[at[present]]
        return list(statuses[found].tolist())

    at_old, at_new = where_old[keys], where_new[keys]
    rows = firsts[keys]
    periods = both.take(rows).periods()
    dims = [both.dims[d][rows].tolist() for d in by]
    return tuple(
        map(
            ValueChange,
            periods,
            [dict(zip(by, cells, strict=True)) for cells in zip(*dims, strict=True)] if by else [{} for _ in rows],
            column(old, at_old, True),
            column(new, at_new, True),
            column(old, at_old, False),
            column(new, at_new, False),
        )
    )


def _hours(side: Table) -> Any:
    """A side's hours (``Table.hour``), -1 (a day or longer) for a side without any."""
    import numpy as np

    return side.hour if side.hour is not None else np.full(len(side), -1, dtype=np.int64)


def _values_by_rows(
    old_rows: list[Row], new_rows: list[Row], change: KpiChange, by: Sequence[str]
) -> tuple[ValueChange, ...]:
    """:func:`_values` row by row: the readable reference ``tests/test_diff.py`` compares it with."""
    old, new = (
        {(r.period, *(r.dims.get(d) for d in by)): r for r in rows if r.kpi == kpi}
        for rows, kpi in ((old_rows, change.base_name), (new_rows, change.name))
    )
    none = Row(change.name, dt.date.min, {}, None, Judgement("no_data"))
    keys: list[tuple[Any, ...]] = sorted(old.keys() | new.keys(), key=lambda k: tuple((v is None, str(v)) for v in k))
    return tuple(
        ValueChange(
            k[0],
            dict(zip(by, k[1:], strict=True)),
            old.get(k, none).value,
            new.get(k, none).value,
            old.get(k, none).status,
            new.get(k, none).status,
        )
        for k in keys
    )


def _table(found: Table | list[Row], by: Sequence[str]) -> Table:
    """A run's table (``--grain all`` gives rows: they become one)."""
    from kpictl import table

    return found if isinstance(found, table.Table) else table.from_rows(found, by, judged=True)


def _run(
    changes: list[KpiChange],
    base: Project,
    head: Project,
    sides: tuple[Side, Side],
    by: Sequence[str],
    *,
    grain: str,
    start: dt.date | None,
    end: dt.date | None,
) -> tuple[list[KpiChange], tuple[str, ...]]:
    """Run the KPIs whose values may move on both sides, one run per side and breakdown. HEAD runs
    first and fixes the date targets are judged at: a status moves only because a definition did."""
    from kpictl.judge import targets

    groups: dict[tuple[str, ...], list[KpiChange]] = {}
    for change in (c for c in changes if c.moves_values):
        groups.setdefault(_breakdown(change, base, head, by), []).append(change)
    ran: list[str] = []
    done: dict[str, KpiChange] = {}
    for dims, group in groups.items():
        names, old_names = [c.name for c in group], [c.base_name for c in group]
        ran_head = _at(sides[1], "HEAD", lambda: head.run_table(names, by=dims, grain=grain, start=start, end=end))  # noqa: B023
        head_rows = _table(ran_head, dims)
        year_start = head.config.calendar.year_start
        ended = sorted(dt.date.fromordinal(d) for d in set(head_rows.day[head_rows.complete].tolist()))
        as_of = targets.default_as_of(ended, grain, year_start=year_start)
        base_rows = _table(
            _at(
                sides[0],
                "BASE",
                lambda: base.run_table(old_names, by=dims, grain=grain, start=start, end=end, as_of=as_of),  # noqa: B023
            ),
            dims,
        )
        ran += [*names, *old_names]
        done |= {c.name: dataclasses.replace(c, by=dims, values=_values(base_rows, head_rows, c, dims)) for c in group}
    return [done.get(c.name, c) for c in changes], tuple(ran)


def compare(
    path: str | Path = ".",
    base: str | None = None,
    head: str | None = None,
    *,
    sql: bool = False,
    data: bool = False,
    grain: str | None = None,
    by: Sequence[str] = (),
    start: dt.date | None = None,
    end: dt.date | None = None,
    engine: str | None = None,
) -> Diff:
    """Compare the definitions of the project at ``path`` between git revisions ``base`` and ``head``.

    ``head`` None is the working tree; ``base`` None is the merge base of HEAD with the default branch
    (origin/HEAD, else main, else master). ``sql`` adds a unified diff of each changed KPI's SQL;
    ``data`` runs the changed and impacted KPIs (and what they need) with both definitions on the
    current data files, at ``grain`` (default: HEAD's), by the dimensions of ``by`` each has on both
    sides, on ``engine`` (default: kpictl.yml's). Raises SpecError outside a git repository or for
    an unknown revision, InvalidProject
    (located as ``BASE 1a2b3c4:file:line:col``) when a side does not exist, validate or run.

    >>> diff = compare(".", "main", data=True)                      # doctest: +SKIP
    >>> [(k.name, k.change, sum(v.moved for v in k.values or ())) for k in diff.kpis]  # doctest: +SKIP
    [('revenue', 'changed', 12), ('average_order_value', 'impacted', 12)]
    """
    root = spec.find_root(path) or Path(path).resolve()
    prefix = _git_text(root, "rev-parse", "--show-prefix")
    if prefix is None:  # git says why: no repository here, or one it refuses to read (safe.directory)
        why = " ".join(subprocess.run(["git", "rev-parse"], cwd=root, capture_output=True, text=True).stderr.split())
        raise SpecError(
            f"git cannot read a repository here: {why}",
            at=Location(str(root)),
            hint="kpictl diff compares git revisions: run it in a clone of the project's repository",
        )
    head_side = _side(root, head, "HEAD") if head else Side("working tree")
    head_project = _open(root, prefix, head_side, "HEAD").with_engine(engine)
    known = {d.name for k in head_project.kpis.values() for d in k.dimensions}
    if unknown := [d for d in by if d not in known]:
        raise SpecError(
            f"unknown dimension '{unknown[0]}': no KPI has it",
            at=Location("--by"),
            hint=suggest(unknown[0], known) or f"dimensions: {', '.join(sorted(known))}",
        )
    base_side = _side(root, base, "BASE", head_side.commit or "HEAD")
    base_project = _open(root, prefix, base_side, "BASE").with_engine(engine)
    project, changes = definitions(base_project, head_project)
    grain = grain or head_project.config.grain
    sides = (base_side, head_side)
    if sql:
        changes = [
            dataclasses.replace(c, sql_diff=_sql_diff(c, base_project, head_project, sides, grain, by))
            if c.change in ("changed", "renamed")
            else c
            for c in changes
        ]
    ran: tuple[str, ...] = ()
    if data:
        changes, ran = _run(changes, base_project, head_project, sides, by, grain=grain, start=start, end=end)
    year_start = head_project.config.calendar.year_start
    return Diff(base_side, head_side, tuple(changes), project, grain, tuple(by), ran, year_start)
