"""`kpictl init`: write a small project that validates and runs — one KPI, a target, sample data.

The sample data is a CSV generated here (fixed seed, plain Python) so that a new project runs
without any other file; it never overwrites an existing file.
"""

from __future__ import annotations

import datetime as dt
import random
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
    if directory.exists() and not directory.is_dir():
        raise SpecError(f"cannot create a project in {directory}: it is not a folder", at=Location(str(directory)))
    if (directory / "kpictl.yml").exists():
        raise SpecError(
            f"{directory / 'kpictl.yml'} already exists",
            at=Location(str(directory / "kpictl.yml")),
            hint="init creates a new project; choose an empty folder",
        )
    project_name = name or "".join(c if c.isalnum() else "_" for c in directory.resolve().name).strip("_") or "kpis"
    if not project_name[0].isalpha():
        project_name = "kpis_" + project_name
    files = {
        directory / "kpictl.yml": PROJECT.format(name=project_name),
        directory / "metrics" / "logistics.yml": KPIS,
    }
    rows = sample_rows()
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(str(r[c]) for c in header) for r in rows]
    files[directory / "data" / "shipments.csv"] = "\n".join(lines) + "\n"
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
