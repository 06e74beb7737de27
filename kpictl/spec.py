"""YAML text → (data, positions) → JSON Schema → model; collects every problem, raises none.

Only shape is checked here (the schemas are the single source of truth for it, plus the few
rules a schema cannot say: real calendar dates, a target with a bound, lo <= hi). Meaning —
names, cycles, columns — is ``checks``' job. Nothing here touches data files.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from kpictl.document import Document, escape, load_text
from kpictl.errors import KpiError, Location, SpecError, suggest
from kpictl.model import (
    Baseline,
    Bound,
    Config,
    Dimension,
    Format,
    Kpi,
    KpiTest,
    Lookup,
    Source,
    Target,
)

PROJECT_FILE = "kpictl.yml"
SCHEMAS = {"project": "kpictl.schema.json", "kpis": "kpi-file.schema.json"}

@cache
def schema(kind: str) -> dict[str, Any]:
    """The packaged JSON Schema, ``kind`` being "project" or "kpis"."""
    text = resources.files("kpictl").joinpath("schemas").joinpath(SCHEMAS[kind]).read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


@cache
def _validator(kind: str) -> Any:
    from jsonschema import (
        Draft202012Validator,  # lazy: jsonschema costs ~60 ms to import
    )

    return Draft202012Validator(schema(kind))


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _pointer(path: Any) -> str:
    return "".join(f"/{escape(p)}" for p in path)


def _field(pointer: str, doc: Document) -> str:
    """A JSON pointer as a person reads it: /kpis/3/target/min → revenue.target.min."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if len(parts) >= 2 and parts[0] == "kpis" and parts[1].isdigit():
        kpis = doc.data.get("kpis") if isinstance(doc.data, dict) else None
        i = int(parts[1])
        name = kpis[i].get("name") if isinstance(kpis, list) and isinstance(kpis[i], dict) else None
        parts = [name if isinstance(name, str) and name else f"kpis[{i}]", *parts[2:]]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "file"


def _schema_error(err: Any, doc: Document) -> SpecError:
    """One readable SpecError from a jsonschema ValidationError."""
    pointer = _pointer(err.absolute_path)
    where = _field(pointer, doc)
    if err.validator in ("oneOf", "anyOf") and err.context:
        if all(e.validator == "required" for e in err.context):
            fields = sorted({str(e.validator_value[0]) for e in err.context})
            if fields == ["between", "max", "min"]:
                return SpecError(f"{where}: a target needs a bound", at=doc.at(pointer),
                                 hint="add min:, max: or between: [low, high]")
            return SpecError(f"{where}: needs {' or '.join(fields)}", at=doc.at(pointer))
        # The branch that got furthest says what the user most likely meant.
        deepest = max(err.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
        if deepest.validator != "type" or len(deepest.absolute_path) > len(err.absolute_path):
            return _schema_error(deepest, doc)
        wanted = sorted({str(e.schema.get("type", "value")) for e in err.context if e.validator == "type"})
        return SpecError(f"{where}: expected {' or '.join(wanted)}, got {_type_name(err.instance)}", at=doc.at(pointer))
    if err.validator == "additionalProperties":
        allowed = list(err.schema.get("properties", {}))
        extras = [k for k in err.instance if k not in allowed]
        name = extras[0] if extras else "?"
        hint = suggest(name, allowed) or (f"allowed: {', '.join(allowed)}" if allowed else None)
        return SpecError(f"{where}: unknown field '{name}'", at=doc.at(f"{pointer}/{escape(name)}", key=True), hint=hint)
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return SpecError(f"{where}: missing required field '{missing}'", at=doc.at(pointer))
    if err.validator == "enum":
        choices = [str(c) for c in err.validator_value]
        hint = suggest(str(err.instance), choices) or f"one of: {', '.join(choices)}"
        return SpecError(f"{where}: '{err.instance}' is not allowed", at=doc.at(pointer), hint=hint)
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        return SpecError(f"{where}: expected {wanted}, got {_type_name(err.instance)}", at=doc.at(pointer))
    if err.validator == "pattern":
        what = _PATTERN_HINTS.get(err.validator_value) or err.schema.get("description") or err.validator_value
        return SpecError(f"{where}: '{err.instance}' is not valid", at=doc.at(pointer), hint=f"expected {what}")
    if err.validator == "propertyNames":
        return SpecError(f"{where}: '{err.instance}' is not a valid name", at=doc.at(pointer), hint=_IDENT_HINT)
    return SpecError(f"{where}: {err.message}", at=doc.at(pointer))


_IDENT_HINT = "lowercase letters, digits and _, starting with a letter"
_PATTERN_HINTS = {
    "^[a-z_][a-z0-9_]*$": _IDENT_HINT,
    "^([a-z_][a-z0-9_]*\\.)?[a-z_][a-z0-9_]*$": "a column name, or source.column",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date as YYYY-MM-DD",
}


def check_shape(doc: Document, kind: str) -> list[KpiError]:
    """Every schema violation of the document, each at its own line and column."""
    if doc.data is None:
        what = "kpictl.yml" if kind == "project" else "a KPI file"
        hint = "start with 'name:' and 'sources:'" if kind == "project" else "start with 'kpis:'"
        return [SpecError(f"empty file: {what} needs content", at=Location(doc.file, 1, 1), hint=hint)]
    errors = [_schema_error(e, doc) for e in _validator(kind).iter_errors(doc.data)]
    # Nested oneOf failures can repeat one cause: keep each (place, message) once.
    unique = {(str(e), e.at.pointer): e for e in errors}
    return list(unique.values())


# -- building the model ------------------------------------------------------------------------


def _date(value: str, doc: Document, pointer: str, errors: list[KpiError]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(SpecError(f"{pointer}: '{value}' is not a real date", at=doc.at(pointer), hint="use YYYY-MM-DD"))
        return None


def _bound(raw: dict[str, Any], doc: Document, pointer: str, errors: list[KpiError]) -> Bound | None:
    lo, hi = raw.get("min"), raw.get("max")
    if "between" in raw:
        if lo is not None or hi is not None:
            errors.append(SpecError(f"{pointer}: give either between or min/max", at=doc.at(pointer + "/between", key=True)))
        lo, hi = raw["between"]
        if lo > hi:
            errors.append(
                SpecError(f"{pointer}/between: lower bound {lo} is above upper bound {hi}", at=doc.at(pointer + "/between"))
            )
    elif lo is not None and hi is not None and lo > hi:
        errors.append(SpecError(f"{pointer}: min {lo} is above max {hi}", at=doc.at(pointer + "/min")))
    if lo is None and hi is None:
        errors.append(
            SpecError(
                f"{pointer}: a target needs a bound",
                at=doc.at(pointer),
                hint="add min:, max: or between: [low, high]",
            )
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
                errors.append(SpecError(f"{p}/baseline/at: baseline date is after the deadline {by}", at=doc.at(p + "/baseline/at")))
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
            at = doc.at(f"{p}/dimensions/{j}")
            dims.append(Dimension(d, None, at) if isinstance(d, str) else Dimension(d["name"], d["expr"], at))
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
        path = raw["path"]
        fmt = raw.get("format") or ("csv" if path.lower().rstrip("*").endswith((".csv", ".csv.gz", ".tsv")) else "parquet")
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
    )


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


def load(root: Path, read: Any = None, listing: Any = None) -> tuple[Config | None, list[Kpi], list[KpiError]]:
    """Load a whole project: the config and every KPI, with every shape problem found.

    ``read(relative_path) -> bytes | None`` reads a file and ``listing(folders) -> [relative
    paths]`` lists KPI files; the defaults use the disk. ``diff`` passes ones that read git
    objects, so that a past revision loads without touching the working tree.
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
            continue
        built, problems = build_kpis(doc)
        kpis.extend(built)
        errors.extend(problems)
    return config, kpis, errors
