"""Benchmark: load and validate 1,000 KPIs across 100 files (the target is under 1 second).

Generates a project in a temporary folder — source KPIs with filters, dimensions, lookups,
targets and Jinja variables, and derived KPIs with prior/rolling/to_date over KPIs of other
files — then times ``Project.load(dir)`` + ``project.validate(data=False)`` in this process.
The first run pays the imports (jsonschema, sqlglot) and is reported on its own; the verdict
uses the median of the next runs. Not a timed test: run it by hand.

    python bench/validate_1000.py            # 1,000 KPIs in 100 files, median of 5 runs
    python bench/validate_1000.py --kpis 20 --files 2 --runs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = """\
name: bench
metrics: [metrics]
defaults: {grain: month}
sources:
  customers: {path: data/customers.parquet, key: customer_id}
  orders:
    path: data/orders.parquet
    key: order_id
    time: order_date
    lookups: [{source: customers, on: customer_id}]
  shipments: {path: "data/shipments/*.csv", time: ship_date}
vars: {fiscal_year_start: 2025-04-01, min_amount: 10, channel: web}
"""

SOURCE_KPIS = [
    """\
  - name: revenue_{i}
    label: {{en: Revenue {i}, fr: Chiffre d'affaires {i}}}
    description: Sum of paid order amounts, segment {i}.
    owner: finance
    tags: [finance, bench]
    source: orders
    formula: sum(amount)
    filter:
      - status = 'paid'
      - "amount >= {{{{ var('min_amount') }}}}"
    dimensions: [region, channel, {{name: big_order, expr: "amount > 1000"}}]
    format: {{type: currency, decimals: 0}}
    target: {{min: {n}000, by: 2026-12-31, baseline: {{value: 800, at: 2025-12-31}}, tolerance: 2%}}
""",
    """\
  - name: orders_{i}
    source: orders
    formula: count(distinct order_id)
    filter: "order_date >= '{{{{ var('fiscal_year_start') }}}}' and channel = '{{{{ var('channel') }}}}'"
    dimensions: [region, channel]
    target: {{max: 5000, by: 2026-06-30}}
""",
    """\
  - name: on_time_rate_{i}
    source: shipments
    formula: count(*) filter (where on_time) / nullif(count(*), 0)
    dimensions: [carrier]
    format: percent
    target: {{between: [0.9, 1.0], by: 2026-12-31, tolerance: 0.02}}
    tests:
      - given:
          shipments:
            - {{ship_date: 2025-01-03, on_time: true, carrier: DHL}}
            - {{ship_date: 2025-01-09, on_time: false, carrier: DHL}}
        expect: [{{period: 2025-01-01, value: 0.5}}]
""",
    """\
  - name: avg_delay_{i}
    source: shipments
    formula: avg(date_diff('day', promised_date, ship_date))
    filter: carrier in ('DHL', 'UPS')
    dimensions: [carrier, {{name: week_day, expr: "dayofweek(ship_date)"}}]
    format: days
""",
    """\
  - name: margin_amount_{i}
    source: orders
    formula: |
      sum(amount - cost)
        - coalesce(sum(refund), 0)
    dimensions: [region]
    target: {{min: 0.1, per: {{region: {{EU: {{min: 0.12}}}}}}}}
""",
    """\
  - name: active_customers_{i}
    source: orders
    formula: count(distinct customer_id) filter (where amount > 0)
    dimensions: [customers.segment]
""",
]

DERIVED_KPIS = [
    "  - name: aov_{i}\n    formula: revenue_{i} / nullif(orders_{i}, 0)\n    format: currency\n"
    "    target: {{min: 50, by: 2026-12-31}}\n",
    "  - name: revenue_growth_{i}\n    formula: revenue_{i} / prior(revenue_{j}) - 1\n    format: percent\n",
    "  - name: revenue_rolling_{i}\n    formula: rolling(revenue_{i}, 3) + to_date(revenue_{j}, year)\n",
    "  - name: margin_rate_{i}\n    formula: margin_amount_{i} / nullif(revenue_{i}, 0)\n    format: percent\n",
]


def generate(root: Path, kpis: int = 1000, files: int = 100) -> Path:
    """Write a project of ``kpis`` KPIs over ``files`` files: groups of 6 source and 4 derived KPIs.

    Derived KPIs of group g also use revenue of group g - 1, which sits in another file when
    files hold 10 KPIs each.
    """
    (root / "metrics").mkdir(parents=True, exist_ok=True)
    (root / "kpictl.yml").write_text(PROJECT, encoding="utf-8")
    blocks = []
    for n in range(kpis):
        group, slot = divmod(n, 10)
        names = {"i": group, "j": max(0, group - 1), "n": group + 1}
        template = SOURCE_KPIS[slot] if slot < 6 else DERIVED_KPIS[slot - 6]
        blocks.append(template.format(**names))
    per_file = -(-kpis // files)
    for f in range(files):
        chunk = blocks[f * per_file : (f + 1) * per_file]
        text = "# yaml-language-server: $schema=../schemas/kpi-file.schema.json\nkpis:\n" + "".join(chunk)
        (root / "metrics" / f"area_{f:03d}.yml").write_text(text, encoding="utf-8")
    return root


def validate_once(root: Path) -> tuple[float, float, int, int]:
    """Wall and CPU seconds to load and validate the project; the KPI and problem counts."""
    from kpictl.project import Project

    wall, cpu = time.perf_counter(), time.process_time()
    project = Project.load(root)
    problems = project.validate(data=False)
    return time.perf_counter() - wall, time.process_time() - cpu, len(project.kpis), len(problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5, help="timed runs after the first (default 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp), args.kpis, min(args.files, args.kpis))
        first, _, count, problems = validate_once(root)
        if problems:
            print(f"the generated project has {problems} problem(s): fix the generator", file=sys.stderr)
            return 1
        runs = [validate_once(root) for _ in range(args.runs)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    print(f"{count} KPIs in {min(args.files, args.kpis)} files: load + validate(data=False)")
    print(f"  first run (imports included): {first:.3f} s")
    print(f"  median of {len(runs)} runs: {wall:.3f} s wall, {cpu:.3f} s CPU ({cpu / count * 1000:.2f} ms per KPI)")
    # CPU time is what "on one core" means, and it does not move when other processes share the machine.
    print(f"  under 1 s: {'yes' if cpu < 1.0 else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
