"""Fusion benchmark: 20 KPIs of one 10M-row Parquet source by region, kpictl vs hand-written SQL.

    python bench/fusion.py [--rows 10000000] [--rounds 5]

Generates the source once with DuckDB's range() and hash() (cached in the temp folder), then
times, in the same process and alternating, (a) planner → compiler → engine for 20 KPIs with
one breakdown, and (b) the one hand-written DuckDB query computing the same 20 aggregates.
Prints the median of each, their ratio (target: kpictl ≤ 1.3 x hand-written), how many times
the compiled query reads the file, and checks that both give the same values. Exit 1 if not.
Not a timed test: run it by hand or in a benchmark job.
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import generated
from kpictl.engine import duckdb as engine
from kpictl.errors import Location
from kpictl.model import Config, Kpi, Source
from kpictl.sql import compiler, planner

# name → (aggregate formula, KPI filter or None); the hand-written query uses the same SQL.
KPIS = {
    "revenue": ("sum(amount)", "status = 'paid'"),
    "refunds": ("sum(amount)", "status = 'refunded'"),
    "orders": ("count(*)", None),
    "paid_orders": ("count(*) filter (where status = 'paid')", None),
    "cancelled_orders": ("count(*) filter (where status = 'cancelled')", None),
    "web_orders": ("count(*) filter (where channel = 'web')", None),
    "aov": ("avg(amount)", "status = 'paid'"),
    "on_time_rate": ("count(*) filter (where on_time) / count(*)", None),
    "late_orders": ("count(*) filter (where not on_time)", None),
    "web_share": ("count(*) filter (where channel = 'web') / count(*)", None),
    "shipping_cost": ("sum(cost)", None),
    "cost_to_revenue": ("sum(cost) / sum(amount)", None),
    "max_order": ("max(amount)", None),
    "min_order": ("min(amount)", None),
    "items": ("sum(items)", None),
    "items_per_order": ("sum(items) / count(*)", None),
    "avg_cost": ("avg(cost)", None),
    "big_orders": ("count(*) filter (where amount > 900)", None),
    "phone_revenue": ("sum(amount)", "channel = 'phone' and status = 'paid'"),
    "discounted": ("sum(amount * 0.1)", "status = 'paid'"),
}


def generate(rows: int) -> Path:
    """The benchmark source, about 250 MB for 10M rows (cached by content: ``common.generated``)."""
    orders = f"""
        SELECT i AS order_id,
               DATE '2024-01-01' + CAST(hash(i) % 730 AS INTEGER) AS order_date,
               ['EU', 'US', 'APAC', 'LATAM'][1 + CAST(hash(i * 7) % 4 AS INTEGER)] AS region,
               ['web', 'shop', 'phone'][1 + CAST(hash(i * 11) % 3 AS INTEGER)] AS channel,
               ['paid', 'paid', 'paid', 'cancelled', 'refunded'][1 + CAST(hash(i * 13) % 5 AS INTEGER)] AS status,
               CAST(hash(i * 17) % 100000 AS DOUBLE) / 100 AS amount,
               CAST(hash(i * 19) % 5000 AS DOUBLE) / 100 AS cost,
               hash(i * 23) % 10 < 8 AS on_time,
               CAST(hash(i * 29) % 5 AS INTEGER) + 1 AS items
        FROM range({rows}) AS t(i)"""
    return generated("fusion", [rows], {"orders.parquet": orders}, {}) / "orders.parquet"


def hand_written(path: Path) -> str:
    columns = []
    for name, (formula, condition) in KPIS.items():
        if condition:  # a KPI filter is the FILTER of its aggregate
            formula = formula.replace(")", f") filter (where {condition})", 1)
        columns.append(f"  {formula} AS {name}")
    return (
        "SELECT date_trunc('month', order_date)::DATE AS month, region,\n"
        + ",\n".join(columns)
        + f"\nFROM read_parquet('{path}')\nGROUP BY 1, 2"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = generate(args.rows)
    config = Config(
        name="bench",
        root=str(path.parent),
        sources={"orders": Source("orders", path.name, "parquet", time="order_date")},
    )
    kpis = {
        name: Kpi(
            name=name,
            formula=formula,
            file="bench.yml",
            source="orders",
            filters=(condition,) if condition else (),
            at=Location("bench.yml", i + 1),
        )
        for i, (name, (formula, condition)) in enumerate(KPIS.items())
    }
    columns = {"orders": engine.describe(config, "orders")}

    def kpictl_run() -> list[Any]:
        plan = planner.plan(config, kpis, list(kpis), grain="month", by=["region"], columns=columns)
        return engine.execute(compiler.compile(plan), config)

    sql = hand_written(path)

    def hand_run() -> list[Any]:
        with duckdb.connect() as con:
            return con.execute(sql).fetchall()

    kpictl_run(), hand_run()  # warm the OS cache for both
    timings: dict[str, list[float]] = {"kpictl": [], "hand": []}
    for _ in range(args.rounds):
        for label, job in (("kpictl", kpictl_run), ("hand", hand_run)):
            started = time.perf_counter()
            job()
            timings[label].append(time.perf_counter() - started)
    ours, theirs = statistics.median(timings["kpictl"]), statistics.median(timings["hand"])
    ratio = ours / theirs

    compiled = compiler.compile(planner.plan(config, kpis, list(kpis), grain="month", by=["region"], columns=columns))
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{path}')")
        explained = "\n".join(str(row[1]) for row in con.execute("EXPLAIN " + compiled.sql).fetchall())
    scans = explained.count("READ_PARQUET") or explained.count("PARQUET_SCAN")

    expected = {}
    for row in hand_run():
        for i, name in enumerate(KPIS):
            expected[(name, row[0], row[1])] = row[2 + i]
    actual = {(r.kpi, r.period, r.dims["region"]): r.value for r in kpictl_run()}
    same = expected.keys() == actual.keys() and all(
        (a is None and e is None) or (a is not None and e is not None and math.isclose(a, e, rel_tol=1e-9))
        for key, a in actual.items()
        for e in [expected[key]]
    )
    print(f"rows: {args.rows:,}  KPIs: {len(KPIS)}  by: region  grain: month  rounds: {args.rounds}")
    print(f"kpictl (plan + compile + sandboxed run): median {ours:.3f} s  {[round(t, 3) for t in timings['kpictl']]}")
    print(f"hand-written single query:              median {theirs:.3f} s  {[round(t, 3) for t in timings['hand']]}")
    print(f"ratio: {ratio:.2f} (target <= 1.3)  parquet scans in the compiled plan: {scans}")
    print(f"values equal: {same} ({len(actual)} values)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory of this process (both queries): {peak:.0f} MiB")
    return 0 if same and ratio <= 1.3 and scans == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
