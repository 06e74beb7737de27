"""`kpictl init`: write a small project that validates and runs.

Without data, an example: two KPIs with targets and tests, on a CSV generated here (fixed seed,
plain Python) so that a new project runs without any other file. With ``--from-data``, the
user's own files: one source per file, its key and time column guessed from the columns' names
and types and marked as guesses to confirm, and one count KPI per source that has a time column.
Neither ever overwrites an existing file.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path

from kpictl.errors import DataError, Location, SpecError

PROJECT = """\
# yaml-language-server: $schema=https://kpictl.dev/schemas/kpictl.schema.json
name: {name}
metrics: [metrics]
defaults: {{grain: month, locale: en}}
sources:
  shipments:
    path: data/shipments.csv
    key: shipment_id
    time: ship_date
"""

KPIS = """\
# yaml-language-server: $schema=https://kpictl.dev/schemas/kpi-file.schema.json
kpis:
  - name: on_time_delivery_rate
    label: {en: On-time delivery, fr: Livraison à temps}
    description: Share of shipments delivered by the promised date; late deliveries cost customers.
    owner: logistics
    tags: [transport]
    source: shipments
    formula: count(*) filter (where delivered_date <= promised_date) / count(*)
    format: percent
    dimensions: [carrier, region]
    target:
      min: 0.95
      by: 2025-12-31
      baseline: {value: 0.88, at: 2024-12-31}
      tolerance: 0.02
      rationale: The best carrier already delivers 96% on time.
    tests:
      - name: half_on_time
        given:
          shipments:
            - {ship_date: 2025-01-03, promised_date: 2025-01-05, delivered_date: 2025-01-04}
            - {ship_date: 2025-01-09, promised_date: 2025-01-10, delivered_date: 2025-01-12}
        expect: [{period: 2025-01-01, value: 0.5}]

  - name: shipments
    label: {en: Shipments, fr: Expéditions}
    description: Number of shipments; the volume behind every logistics ratio.
    owner: logistics
    tags: [transport]
    source: shipments
    formula: count(*)
    format: integer
    dimensions: [carrier, region]
    target:
      min: 110
      by: 2025-12-31
      baseline: {value: 100, at: 2024-12-31}
      tolerance: "5%"
      rationale: Two new accounts start shipping in 2025.
"""


def sample_rows(seed: int = 7) -> list[dict[str, object]]:
    """Two years of shipments, with a slowly improving on-time rate and one weak carrier."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    day = dt.date(2024, 1, 1)
    carriers = {"DHL": 0.04, "UPS": 0.07, "Geodis": 0.16}
    regions = ["EU", "EU", "NA", "APAC"]
    i = 0
    while day <= dt.date(2025, 12, 31):
        for _ in range(rng.randint(2, 6)):
            i += 1
            carrier = rng.choice(list(carriers))
            promised = day + dt.timedelta(days=rng.randint(2, 5))
            progress = (day - dt.date(2024, 1, 1)).days / 730
            late = rng.random() < carriers[carrier] + 0.06 * (1 - progress)
            early = promised - dt.timedelta(days=rng.randint(0, 1))
            delivered = promised + dt.timedelta(days=rng.randint(1, 4)) if late else early
            rows.append(
                {
                    "shipment_id": i,
                    "ship_date": day,
                    "promised_date": promised,
                    "delivered_date": delivered,
                    "carrier": carrier,
                    "region": rng.choice(regions),
                }
            )
        day += dt.timedelta(days=1)
    return rows


def create(directory: Path, name: str | None = None) -> list[Path]:
    """Write the example project into ``directory``; refuses to overwrite a project."""
    project_name = _checked(directory, name)
    files = {
        directory / "kpictl.yml": PROJECT.format(name=project_name),
        directory / "metrics" / "logistics.yml": KPIS,
    }
    rows = sample_rows()
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(str(r[c]) for c in header) for r in rows]
    files[directory / "data" / "shipments.csv"] = "\n".join(lines) + "\n"
    return _write(files)


def _checked(directory: Path, name: str | None) -> str:
    """The project's name; refuses a file in place of the folder, or an existing project."""
    if directory.exists() and not directory.is_dir():
        raise SpecError(f"cannot create a project in {directory}: it is not a folder", at=Location(str(directory)))
    if (directory / "kpictl.yml").exists():
        raise SpecError(
            f"{directory / 'kpictl.yml'} already exists",
            at=Location(str(directory / "kpictl.yml")),
            hint="init creates a new project; choose an empty folder",
        )
    project_name = name or "".join(c if c.isalnum() else "_" for c in directory.resolve().name).strip("_") or "kpis"
    return project_name if project_name[0].isalpha() else "kpis_" + project_name


def _write(files: dict[Path, str]) -> list[Path]:
    written = []
    for path, text in files.items():
        if path.exists():
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot write {path}: {exc.strerror or exc}", at=Location(str(path))) from None
        written.append(path)
    return written


# -- a project from the user's files --------------------------------------------------------------

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")  # what kpictl.yml accepts as a key or time column
_TIMES = ("DATE", "TIMESTAMP")  # TIMESTAMP WITH TIME ZONE, TIMESTAMP_NS… start with it
_DATE_NAME = re.compile(r"(^|_)(date|day|time|timestamp|ts|at|on|month|period)$")
_FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "csv", ".gz": "csv"}

PROJECT_FROM_DATA = """\
# yaml-language-server: $schema=https://kpictl.dev/schemas/kpictl.schema.json
# Written by `kpictl init --from-data`: one source per file. Keys and time columns marked
# "guessed" come from the columns' names and types: check each one, then `kpictl validate`.
name: {name}
metrics: [metrics]
defaults: {{grain: month, locale: en}}
sources:
"""


def _source_name(path: Path, taken: set[str]) -> str:
    stem = path.name.split(".")[0].lower()
    name = re.sub(r"[^a-z0-9_]+", "_", stem).strip("_") or "source"
    name = name if name[0].isalpha() or name[0] == "_" else "s_" + name
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique)
    return unique


def _files(directory: Path, patterns: Sequence[str]) -> list[Path]:
    """The data files named or matched by ``patterns`` (relative to the current folder), each
    inside ``directory``: a project reads nothing outside its folder."""
    root = directory.resolve()
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise SpecError(f"no file matches {pattern}", at=Location(pointer="--from-data"))
        for match in matches:
            path = Path(match).resolve()
            if not path.is_file():
                raise SpecError(f"{match} is not a file", at=Location(pointer="--from-data"))
            if root not in path.parents:
                raise SpecError(
                    f"{match} is outside the project folder {directory}",
                    at=Location(pointer="--from-data"),
                    hint=f"a project reads only files inside its folder: copy them into {directory}/data/ first",
                )
            if _FORMATS.get(path.suffix.lower()) is None or (path.suffix == ".gz" and ".csv" not in path.suffixes):
                raise SpecError(
                    f"{match}: kpictl reads Parquet (.parquet) and CSV (.csv, .tsv, .csv.gz) files",
                    at=Location(pointer="--from-data"),
                )
            if path not in found:
                found.append(path)
    return found


def _guess_time(types: dict[str, str]) -> tuple[str | None, list[str]]:
    """The date-typed column to bucket by (one named like a date first), and the other ones."""
    dated = [c for c, kind in types.items() if kind.upper().startswith(_TIMES) and _IDENT.match(c)]
    named = [c for c in dated if _DATE_NAME.search(c)]
    chosen = next(iter(named or dated), None)
    return chosen, [c for c in dated if c != chosen]


def _key_candidates(source: str, types: dict[str, str]) -> list[str]:
    """Columns named like the row's identifier, most likely first: id, <source>_id, <singular>_id."""
    names = ["id", f"{source}_id", f"{source.removesuffix('s')}_id", f"{source.removesuffix('es')}_id"]
    first = next(iter(types), None)
    names += [first] if first is not None and first.endswith("_id") else []
    return [c for c in dict.fromkeys(names) if c in types and _IDENT.match(c)]


def from_data(directory: Path, patterns: Sequence[str], name: str | None = None) -> tuple[list[Path], list[str]]:
    """A project over the user's files in ``directory``: kpictl.yml with one source per file and
    metrics/counts.yml with one count KPI per source with a time column. Returns the files
    written and one line per source saying what was guessed."""
    project_name = _checked(directory, name)
    paths = _files(directory, patterns)
    from kpictl.engine import duckdb as engine
    from kpictl.model import Config, Source
    from kpictl.sql.quoting import identifier

    root = directory.resolve()
    taken: set[str] = set()
    sources = {}
    for path in paths:
        source = _source_name(path, taken)
        relative = path.relative_to(root).as_posix()
        sources[source] = Source(source, relative, _FORMATS[path.suffix.lower()], at=Location(relative))
    config = Config(project_name, str(root), sources=sources)
    lines, kpis, said = [PROJECT_FROM_DATA.format(name=project_name)], [], []
    with engine.connect(config, sources) as con:
        for source, spec in sources.items():
            types = {str(c): str(kind) for c, kind, *_ in con.execute(f"DESCRIBE {identifier(source)}").fetchall()}
            key = None
            for column in _key_candidates(source, types):
                total, distinct = con.execute(
                    f"SELECT count(*), count(DISTINCT {identifier(column)}) FROM {identifier(source)}"
                ).fetchone() or (0, 0)
                if total and total == distinct:  # unique and never NULL (count DISTINCT skips NULLs)
                    key = column
                    break
            time, others = _guess_time(types)
            lines.append(f"  {source}:\n    path: {json.dumps(spec.path, ensure_ascii=False)}\n")
            if key:
                lines.append(f"    key: {key}  # guessed: named like an id, unique and never NULL; check it\n")
            else:
                lines.append(
                    "    # key: no unique column named like an id; add key: <column> if one identifies a row\n"
                )
            if time:
                also = f"; other date columns: {', '.join(others)}" if others else ""
                lines.append(f"    time: {time}  # guessed: {types[time]}{also}; check it\n")
                kpis.append(_count_kpi(source, spec.path))
            else:
                lines.append("    # time: no DATE or TIMESTAMP column; add time: <column> to compute KPIs by period\n")
            said.append(f"{source}: {json.dumps(spec.path, ensure_ascii=False)}, key {key or '?'}, time {time or '?'}")
    files = {directory / "kpictl.yml": "".join(lines)}
    if kpis:
        header = "# yaml-language-server: $schema=https://kpictl.dev/schemas/kpi-file.schema.json\nkpis:\n"
        files[directory / "metrics" / "counts.yml"] = header + "\n".join(kpis)
    return _write(files), said


def _count_kpi(source: str, path: str) -> str:
    label = source.replace("_", " ").capitalize()
    description = json.dumps(
        f"Rows of {path} per period: a first KPI to rename, filter or replace.", ensure_ascii=False
    )
    return (
        f"  - name: {source}_count\n"
        f"    label: {{en: {json.dumps(label)}}}\n"
        f"    description: {description}\n"
        f"    source: {source}\n"
        "    formula: count(*)\n"
        "    format: integer\n"
    )
