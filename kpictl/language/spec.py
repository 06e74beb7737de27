"""A project's files → typed model: read, shape-check (``shape``), build; collects every problem.

Beyond the schemas, only the few shape rules a schema cannot say live here (a target with
a bound, lo <= hi, a baseline before its deadline). Meaning — names, cycles, columns — is
``checks``' job. Nothing here touches data files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kpictl.errors import DataError, KpiError, Location, SpecError
from kpictl.language import paths
from kpictl.language.pointers import Document, escape
from kpictl.language.schema import SCHEMAS as SCHEMAS  # re-exported: `kpictl schema` prints them from here
from kpictl.language.schema import check_shape, error, field
from kpictl.language.schema import schema as schema
from kpictl.model import (
    Baseline,
    Bound,
    Calendar,
    Computed,
    Config,
    Dimension,
    Engine,
    Format,
    Kpi,
    KpiTest,
    Lookup,
    Snapshot,
    Source,
    Target,
)

if TYPE_CHECKING:
    from kpictl.cache import Store

PROJECT_FILE = "kpictl.yml"


# -- building the model ------------------------------------------------------------------------


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:  # the schema already said so; keep building the rest
        return None


def _lookup(raw: dict[str, Any], at: Location) -> Lookup:
    """``{source, on, as, valid_from, valid_to, date, time}``: ``on`` a column both sources have,
    or a mapping fact column → key column; ``as`` a role name for the lookup; the others make it
    a history or a dated snapshot (``model.Lookup``)."""
    on, keys = raw.get("on", ""), tuple[tuple[str, str], ...]()
    if isinstance(on, dict):
        keys = tuple((str(fact), str(key)) for fact, key in on.items())
        on = ", ".join(key for _, key in keys)
    return Lookup(
        raw["source"],
        str(on),
        at,
        keys,
        raw.get("as"),
        valid_from=raw.get("valid_from"),
        valid_to=raw.get("valid_to"),
        date=raw.get("date"),
        time=raw.get("time"),
    )


def is_type(text: Any) -> bool:
    """Whether a ``columns:`` value declares a type: a single word (the schema allows only the type
    names there, ``double``…) or ``decimal(12, 2)``; any other text computes a column."""
    return isinstance(text, str) and re.fullmatch(r"[A-Za-z0-9_]+|decimal\([0-9]{1,2}, ?[0-9]{1,2}\)", text) is not None


def _snapshot(raw: dict[str, Any] | None, at: Location) -> Snapshot | None:
    """``snapshot: {per: account_id, take: last}``; ``per`` one column or several."""
    if raw is None:
        return None
    per = raw["per"]
    return Snapshot(tuple(per) if isinstance(per, list) else (str(per),), raw.get("take", "last"), at)


def _complete_through(value: Any) -> str | None:
    """``complete_through:`` as text: YAML 1.2 keeps a date as text, the schema checked its form."""
    return None if value is None else " ".join(str(value).split())


def _bound(raw: dict[str, Any], doc: Document, pointer: str, errors: list[KpiError]) -> Bound | None:
    where = field(pointer, doc)
    lo, hi = raw.get("min"), raw.get("max")
    if "between" in raw:
        if lo is not None or hi is not None:
            errors.append(
                error(where, "give either between: or min:/max:, not both", doc.at(pointer + "/between", key=True))
            )
        lo, hi = raw["between"]
        if lo > hi:
            errors.append(
                error(
                    f"{where}.between",
                    f"lower bound {lo} is above upper bound {hi}",
                    doc.at(pointer + "/between"),
                    f"write between: [{hi}, {lo}]",
                )
            )
    elif lo is not None and hi is not None and lo > hi:
        errors.append(error(where, f"min {lo} is above max {hi}", doc.at(pointer + "/min")))
    if lo is None and hi is None:
        errors.append(
            error(where, "a target needs a bound", doc.at(pointer, key=True), "add min:, max: or between: [low, high]")
        )
        return None
    return Bound(None if lo is None else float(lo), None if hi is None else float(hi))


def _target(raw: dict[str, Any], doc: Document, p: str, errors: list[KpiError]) -> Target | None:
    bound = _bound(raw, doc, p, errors)
    by = _date(raw["by"]) if "by" in raw else None
    baseline = None
    if "baseline" in raw:
        at = _date(raw["baseline"]["at"])
        if at is not None:
            baseline = Baseline(float(raw["baseline"]["value"]), at)
            if by is not None and at > by:
                errors.append(
                    error(
                        field(p + "/baseline/at", doc),
                        f"baseline date {at} is after the deadline {by}",
                        doc.at(p + "/baseline/at"),
                        "the baseline is where the trajectory starts",
                    )
                )
    tol = raw.get("tolerance", 0)
    relative = isinstance(tol, str)
    tolerance = float(tol[:-1]) / 100 if relative else float(tol)
    per: dict[str, dict[str, Bound]] = {}
    for dim, overrides in raw.get("per", {}).items():
        for value, braw in overrides.items():
            b = _bound(braw, doc, f"{p}/per/{escape(dim)}/{escape(value)}", errors)
            if b is not None:
                per.setdefault(dim, {})[value] = b
    if bound is None:
        return None
    return Target(
        bound=bound,
        by=by,
        baseline=baseline,
        tolerance=tolerance,
        tolerance_relative=relative,
        per=per,
        period=raw.get("period"),
        rationale=raw.get("rationale"),
        at=doc.at(p),
    )


def _format(raw: Any) -> Format:
    if raw is None:
        return Format()
    if isinstance(raw, str):
        return Format(type=raw)
    return Format(type=raw["type"], decimals=raw.get("decimals"), currency=raw.get("currency", "EUR"))


def _test(raw: dict[str, Any], i: int, doc: Document, p: str) -> KpiTest:
    return KpiTest(
        name=raw.get("name") or f"test_{i + 1}",
        given=raw["given"],
        expect=raw["expect"],
        grain=raw.get("grain"),
        by=tuple(raw.get("by", ())),
        vars=raw.get("vars", {}),
        tolerance=float(raw.get("tolerance", 1e-9)),
        expect_status=raw.get("expect_status"),
        at=doc.at(p),
    )


def build_kpis(doc: Document, skip: Collection[int] = ()) -> tuple[list[Kpi], list[KpiError]]:
    """Model KPIs from a KPI file document whose KPIs, except those at indexes ``skip``, are schema-valid."""
    errors: list[KpiError] = []
    kpis = []
    for i, raw in enumerate(doc.data["kpis"]):
        if i in skip:
            continue
        p = f"/kpis/{i}"
        label = raw.get("label", {})
        filters = raw.get("filter", [])
        filters = [filters] if isinstance(filters, str) else filters
        dims = []
        for j, d in enumerate(raw.get("dimensions", [])):
            if isinstance(d, str):
                dims.append(Dimension(d, None, doc.at(f"{p}/dimensions/{j}")))
            else:  # errors about an expression dimension are about its expression: point at it
                dims.append(Dimension(d["name"], d["expr"], doc.at(f"{p}/dimensions/{j}/expr")))
        target = _target(raw["target"], doc, p + "/target", errors) if "target" in raw else None
        kpis.append(
            Kpi(
                name=raw["name"],
                formula=raw["formula"],
                file=doc.file,
                label={"en": label} if isinstance(label, str) else dict(label),
                description=raw.get("description"),
                owner=raw.get("owner"),
                role=raw.get("role", "kpi"),
                tags=tuple(raw.get("tags", ())),
                source=raw.get("source"),
                filters=tuple(filters),
                dimensions=tuple(dims),
                time=raw.get("time"),
                grain=raw.get("grain"),
                format=_format(raw.get("format")),
                target=target,
                tests=tuple(_test(t, k, doc, f"{p}/tests/{k}") for k, t in enumerate(raw.get("tests", []))),
                snapshot=_snapshot(raw.get("snapshot"), doc.at(p + "/snapshot")),
                at=doc.at(p + "/name"),
                formula_at=doc.at(p + "/formula"),
                source_at=doc.at(p + "/source") if "source" in raw else doc.at(p + "/name"),
                grain_at=doc.at(p + "/grain") if "grain" in raw else doc.at(p),
                filter_at=tuple(
                    doc.at(f"{p}/filter" + ("" if isinstance(raw.get("filter"), str) else f"/{k}"))
                    for k in range(len(filters))
                ),
            )
        )
    return kpis, errors


def build_config(doc: Document, root: str) -> Config:
    """The model of a schema-valid ``kpictl.yml``."""
    data = doc.data
    sources = {}
    for name, raw in data["sources"].items():
        p = f"/sources/{escape(name)}"
        path = raw.get("path", "")
        is_csv = path.lower().rstrip("*").endswith((".csv", ".csv.gz", ".tsv"))
        fmt = raw.get("format") or ("csv" if is_csv else "parquet")
        lookups = tuple(_lookup(lk, doc.at(f"{p}/lookups/{i}")) for i, lk in enumerate(raw.get("lookups", [])))
        sources[name] = Source(
            name=name,
            path=path,
            format=fmt,
            key=raw.get("key"),
            time=raw.get("time"),
            lookups=lookups,
            hive_partitioning=bool(raw.get("hive_partitioning", False)),
            description=raw.get("description"),
            at=doc.at(p, key=True),
            table=raw.get("table"),
            columns={c: kind.upper() for c, kind in raw.get("columns", {}).items() if is_type(kind)},
            computed=tuple(
                Computed(c, str(text), doc.at(f"{p}/columns/{escape(c)}"))
                for c, text in raw.get("columns", {}).items()
                if not is_type(text)
            ),
            date_format=raw.get("date_format"),
            non_finite=raw.get("non_finite", "error"),
            complete_through=_complete_through(raw.get("complete_through")),
        )
    defaults = data.get("defaults", {})
    return Config(
        name=data["name"],
        root=root,
        metrics=tuple(data.get("metrics", ["metrics"])),
        grain=defaults.get("grain", "month"),
        locale=defaults.get("locale", "en"),
        sources=sources,
        vars=dict(data.get("vars", {})),
        fail_on=data.get("fail_on"),
        at=doc.at(""),
        engine=_engine(data.get("engine")),
        timezone=data.get("timezone", "UTC"),
        calendar=_calendar(data.get("calendar"), doc),
    )


def _calendar(raw: dict[str, Any] | None, doc: Document) -> Calendar:
    """``calendar:`` of kpictl.yml (schema-valid: ``fiscal_year_start`` is the 1st of a month)."""
    raw = raw or {}
    start = raw.get("fiscal_year_start", "01-01")
    return Calendar(
        int(start[:2]),
        doc.at("/calendar/fiscal_year_start" if "fiscal_year_start" in raw else ""),
        raw.get("table"),
        raw.get("date"),
        dict(raw.get("grains", {})),
        doc.at("/calendar/table" if "table" in raw else ""),
    )


def _engine(raw: dict[str, Any] | None) -> Engine:
    """``engine:`` of kpictl.yml (schema-valid): conf values as Spark wants them, text."""
    if not raw:
        return Engine()
    conf = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw.get("conf", {}).items()}
    return Engine(raw["name"], raw.get("master"), raw.get("remote"), conf)


def find_root(start: str | Path = ".") -> Path | None:
    """The nearest folder at or above ``start`` holding kpictl.yml, like git finds .git."""
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def kpi_files(root: Path, folders: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[Path]:
    """Every *.yml / *.yaml under the metric folders, in a stable order, each once, inside the
    project or an allowed folder: what leads elsewhere is left out (``confinement`` says so)."""
    tops = paths.roots(str(root), allowed)
    found = {f for f in _definition_files(root, folders, tops) if paths.inside(f, tops)}
    return sorted(Path(os.path.relpath(f, root)) for f in found)


def _timezone(config: Config, places: Places) -> list[KpiError]:
    """A ``timezone:`` that is not an IANA time zone name."""
    name = config.timezone
    if name == "UTC":
        return []
    import zoneinfo

    try:
        if name.strip("/") == name and ".." not in name and zoneinfo.ZoneInfo(name):
            return []
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "an IANA name such as Europe/Paris or America/New_York"
    return [SpecError(f"unknown time zone '{name}'", at=places.timezone, hint=hint)]


def _definition_files(root: Path, folders: tuple[str, ...], tops: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for folder in folders:
        if paths.inside(str(root / folder), tops):
            for pattern in ("**/*.yml", "**/*.yaml"):
                found.extend(paths.matches(str(root / folder), pattern))
    return found


def confinement(config: Config, places: Places) -> list[KpiError]:
    """The metric folders and KPI files that lead outside the project or the allowed folders: an
    error each, at the folder's entry in kpictl.yml (a pull request must not make kpictl read a
    file elsewhere, through a path or through a symlink)."""
    root = Path(config.root)
    tops = paths.roots(config.root, config.allowed)
    errors: list[KpiError] = []
    for i, folder in enumerate(config.metrics):
        at = places.folders[i] if places.has_metrics else config.at
        if not paths.inside(str(root / folder), tops):
            errors.append(SpecError(f"metrics folder leaves the project: {folder}", at=at, hint=paths.HINT))
            continue
        try:
            found_files = _definition_files(root, (folder,), tops)
        except OSError:  # an unreadable folder: the listing of the KPI files reports it
            continue
        for found in found_files:
            if not paths.inside(found, tops):
                message = f"KPI file {os.path.relpath(found, root)} is a link to a file outside the project"
                errors.append(SpecError(message, at=at, hint=paths.HINT))
    return errors


def _names(data: Any, only: Collection[int] | None = None) -> set[str]:
    """KPI names readable in a file that failed its checks (``"*"`` when unreadable); ``only``
    the KPIs at these indexes."""
    kpis = data.get("kpis") if isinstance(data, dict) else None
    if not isinstance(kpis, list):
        return {"*"}
    return {
        k["name"]
        for i, k in enumerate(kpis)
        if (only is None or i in only) and isinstance(k, dict) and isinstance(k.get("name"), str)
    }


def _broken_kpis(problems: list[KpiError]) -> set[int] | None:
    """Indexes of the KPIs that shape problems are about; None when one is about the whole file."""
    broken = set()
    for problem in problems:
        found = re.match(r"/kpis/(\d+)(/|$)", problem.at.pointer or "")
        if found is None:
            return None
        broken.add(int(found.group(1)))
    return broken


class Loaded(NamedTuple):
    """A project as read: its config (None when kpictl.yml itself is broken), the KPIs built,
    every shape problem, and the names of the KPIs left out for theirs ("*": a file too
    broken to tell), so that a caller can tell a missing KPI from a broken one."""

    config: Config | None
    kpis: list[Kpi]
    errors: list[KpiError]
    left_out: set[str]


@dataclasses.dataclass(frozen=True)
class Places:
    """Where kpictl.yml wrote what the problems found after its model is built point at: the
    document's start, ``timezone:``, ``metrics:`` (``has_metrics``: written, not the default)
    and each of its folders. Kept with the model in the definitions cache, instead of the document."""

    start: Location
    timezone: Location
    metrics: Location
    has_metrics: bool
    folders: tuple[Location, ...] = ()


def _sha256(text: str | bytes) -> str:
    return hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest()


def _cached(store: Store | None, part: str, key: dict[str, str], compute: Any) -> Any:
    return compute() if store is None else store.cached(part, key, compute)


def _project_file(text: str | bytes, root: str) -> tuple[Config | None, list[KpiError], Places | None]:
    """kpictl.yml read, shape-checked and built: its model and places, or None and its problems."""
    from kpictl.language.document import load_text  # the YAML reader: only for files not in the cache

    doc, problems = load_text(text, PROJECT_FILE)
    problems = problems or check_shape(doc, "project")
    if problems:
        return None, problems, None
    config = build_config(doc, root)
    has_metrics = "metrics" in doc.data
    folders = tuple(doc.at(f"/metrics/{i}") for i in range(len(config.metrics))) if has_metrics else ()
    return config, [], Places(doc.at(""), doc.at("/timezone"), doc.at("/metrics"), has_metrics, folders)


def _kpi_file(text: str | bytes, rel: str) -> tuple[list[Kpi], list[KpiError], set[str]]:
    """A KPI file read, shape-checked and built: its KPIs (those without shape problems), every
    problem, and the names of the KPIs left out (``_names``)."""
    from kpictl.language.document import load_text

    doc, problems = load_text(text, rel)
    broken = None if problems else _broken_kpis(problems := check_shape(doc, "kpis"))
    left_out = _names(doc.data, broken) if problems else set()
    if broken is None:  # the file as a whole is broken; else each KPI stands on its own
        return [], problems, left_out
    built, more = build_kpis(doc, skip=broken)
    return built, [*problems, *more], left_out


def load(
    root: Path,
    read: Any = None,
    listing: Any = None,
    allowed: tuple[str, ...] = (),
    store: Store | None = None,
    digests: dict[str, str] | None = None,
) -> Loaded:
    """Load a whole project: the config and every KPI, with every shape problem found.

    ``read(relative_path) -> bytes | None`` reads a file and ``listing(folders) -> [relative
    paths]`` lists KPI files; the defaults use the disk. ``diff`` passes ones that read git
    objects, so that a past revision loads without touching the working tree. A KPI with a
    shape problem is left out and the other KPIs of its file are built: one broken KPI hides
    no other's problems. ``allowed``: folders outside ``root`` that may be read (``--allow-path``).
    ``store``: the definitions cache, which keeps what each file's bytes were read and built into;
    ``digests`` is filled with the SHA-256 of every definition file read, by path.
    """

    unreadable: list[KpiError] = []

    def read_disk(rel: str) -> bytes | None:
        try:
            return (root / rel).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None
        except OSError as exc:  # a file kpictl cannot read is a problem, not a file with no KPI
            unreadable.append(DataError(f"cannot read {rel}: {exc.strerror or exc}", at=Location(rel)))
            return None

    def list_disk(folders: tuple[str, ...]) -> list[str]:
        return [p.as_posix() for p in kpi_files(root, folders, allowed)]

    on_disk = read is None
    read = read or read_disk
    listing = listing or list_disk
    errors: list[KpiError] = []
    left_out: set[str] = set()
    digests = {} if digests is None else digests
    text = read(PROJECT_FILE)
    if text is None:
        missing = SpecError(f"no {PROJECT_FILE} found", at=Location(PROJECT_FILE), hint="run 'kpictl init'")
        return Loaded(None, [], [missing], left_out)
    digests[PROJECT_FILE] = _sha256(text)
    key = {"sha256": digests[PROJECT_FILE], "root": str(root)}
    built_config, problems, places = _cached(store, "project-file", key, lambda: _project_file(text, str(root)))
    if built_config is None or places is None:
        return Loaded(None, [], problems, left_out)
    config = dataclasses.replace(built_config, allowed=allowed)
    if wrong_zone := _timezone(config, places):  # reported; the rest is checked in UTC
        errors.extend(wrong_zone)
        config = dataclasses.replace(config, timezone="UTC")
    if on_disk:
        errors.extend(confinement(config, places))
    kpis: list[Kpi] = []
    try:
        files = listing(config.metrics)
    except OSError as exc:  # an unreadable metrics folder: not "0 KPIs: valid"
        files = []
        unreadable.append(DataError(f"cannot read a metrics folder: {exc.strerror or exc}", at=places.metrics))
    if on_disk and not files and not unreadable:
        folders = ", ".join(config.metrics)
        hint = "add a *.yml file with a kpis: list (kpictl init writes an example)"
        at = places.metrics if places.has_metrics else places.start
        errors.append(SpecError(f"no KPI file in {folders}", at=at, hint=hint))
    for rel in files:
        text = read(rel)
        if text is None:
            continue
        digests[rel] = _sha256(text)
        key = {"sha256": digests[rel], "file": rel}
        built, problems, names = _cached(store, "kpi-file", key, lambda: _kpi_file(text, rel))  # noqa: B023
        kpis.extend(built)
        errors.extend(problems)
        left_out.update(names)
    return Loaded(config, kpis, [*errors, *unreadable], left_out)
