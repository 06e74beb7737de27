"""A project's files → typed model: read, shape-check (``shape``), build; collects every problem.

Beyond the schemas, only the few shape rules a schema cannot say live here (a target with
a bound, lo <= hi, a baseline before its deadline). Meaning — names, cycles, columns — is
``checks``' job. Nothing here touches data files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kpictl.errors import KpiError, Location, SpecError
from kpictl.language.document import Document, escape, load_text
from kpictl.language.schema import SCHEMAS as SCHEMAS  # re-exported: `kpictl schema` prints them from here
from kpictl.language.schema import check_shape, error, field
from kpictl.language.schema import schema as schema
from kpictl.model import (
    Baseline,
    Bound,
    Config,
    Dimension,
    Engine,
    Format,
    Kpi,
    KpiTest,
    Lookup,
    Source,
    Target,
)

PROJECT_FILE = "kpictl.yml"


# -- building the model ------------------------------------------------------------------------


def _date(value: str, doc: Document, pointer: str, errors: list[KpiError]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:  # the schema already said so; keep building the rest
        return None


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
    by = _date(raw["by"], doc, p + "/by", errors) if "by" in raw else None
    baseline = None
    if "baseline" in raw:
        at = _date(raw["baseline"]["at"], doc, p + "/baseline/at", errors)
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


def build_kpis(doc: Document) -> tuple[list[Kpi], list[KpiError]]:
    """Model KPIs from a schema-valid KPI file document."""
    errors: list[KpiError] = []
    kpis = []
    for i, raw in enumerate(doc.data["kpis"]):
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
                tags=tuple(raw.get("tags", ())),
                source=raw.get("source"),
                filters=tuple(filters),
                dimensions=tuple(dims),
                time=raw.get("time"),
                grain=raw.get("grain"),
                format=_format(raw.get("format")),
                target=target,
                tests=tuple(_test(t, k, doc, f"{p}/tests/{k}") for k, t in enumerate(raw.get("tests", []))),
                at=doc.at(p + "/name"),
                formula_at=doc.at(p + "/formula"),
                source_at=doc.at(p + "/source") if "source" in raw else doc.at(p + "/name"),
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
        lookups = tuple(
            Lookup(lk["source"], lk["on"], doc.at(f"{p}/lookups/{i}")) for i, lk in enumerate(raw.get("lookups", []))
        )
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


def kpi_files(root: Path, folders: tuple[str, ...]) -> list[Path]:
    """Every *.yml / *.yaml under the metric folders, in a stable order."""
    found: set[Path] = set()
    for folder in folders:
        base = root / folder
        for pattern in ("*.yml", "*.yaml"):
            found.update(p for p in base.rglob(pattern) if p.is_file())
    return sorted(found)


def _names(data: Any) -> set[str]:
    """KPI names readable in a file that failed its checks (``"*"`` when unreadable)."""
    kpis = data.get("kpis") if isinstance(data, dict) else None
    if not isinstance(kpis, list):
        return {"*"}
    return {k["name"] for k in kpis if isinstance(k, dict) and isinstance(k.get("name"), str)}


def load(
    root: Path, read: Any = None, listing: Any = None, elsewhere: set[str] | None = None
) -> tuple[Config | None, list[Kpi], list[KpiError]]:
    """Load a whole project: the config and every KPI, with every shape problem found.

    ``read(relative_path) -> bytes | None`` reads a file and ``listing(folders) -> [relative
    paths]`` lists KPI files; the defaults use the disk. ``diff`` passes ones that read git
    objects, so that a past revision loads without touching the working tree. ``elsewhere``,
    when given, receives the KPI names of the files left out for their problems ("*" for a
    file too broken to read), so that a caller can tell a missing KPI from a broken one.
    """

    def read_disk(rel: str) -> bytes | None:
        try:
            return (root / rel).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def list_disk(folders: tuple[str, ...]) -> list[str]:
        return [p.relative_to(root).as_posix() for p in kpi_files(root, folders)]

    read = read or read_disk
    listing = listing or list_disk
    errors: list[KpiError] = []
    text = read(PROJECT_FILE)
    if text is None:
        return None, [], [SpecError(f"no {PROJECT_FILE} found", at=Location(PROJECT_FILE), hint="run 'kpictl init'")]
    doc, problems = load_text(text, PROJECT_FILE)
    problems = problems or check_shape(doc, "project")
    if problems:
        return None, [], problems
    config = build_config(doc, str(root))
    kpis: list[Kpi] = []
    for rel in listing(config.metrics):
        text = read(rel)
        if text is None:
            continue
        doc, problems = load_text(text, rel)
        problems = problems or check_shape(doc, "kpis")
        if problems:
            errors.extend(problems)
            if elsewhere is not None:
                elsewhere.update(_names(doc.data))
            continue
        built, problems = build_kpis(doc)
        kpis.extend(built)
        errors.extend(problems)
    return config, kpis, errors
