"""Balances benchmark: snapshot KPIs over 10M account snapshots, kpictl vs hand-written SQL.

    python bench/balances.py [--rows 10000000] [--rounds 5]

Issue 15 asks a snapshot KPI (``snapshot: {per: account}``: per account its last row of each
period, then the sum across accounts) to run within 1.5x hand-written SQL at 10M rows. The rows:
100,000 accounts with a snapshot on random days of 2024-2025 (a few accounts skip months), a
region each. Generated once with DuckDB's range() and hash() (cached in the temp folder); the
project is loaded once; then, alternating in one process, (a) ``Project.run`` of the balance and
the account count by month and region and (b) the natural hand-written query (``QUALIFY
row_number()`` per account and month, then the sums). Side by side in the same rounds, the
peak balance (``take: max``: the highest day of each month) against its own hand-written query
(each account's last row of each day, the sums by day, then the highest day). Every value is
compared first. Exit 1 if a value differs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import alternate, generated, print_timings, same_values
from kpictl import Project

KPIS = """\
kpis:
  - {name: balance, source: balances, formula: sum(balance), snapshot: {per: account}}
  - {name: accounts, source: balances, formula: count(*), snapshot: {per: account}}
  - {name: peak, source: balances, formula: sum(balance), snapshot: {per: account, take: max}}
"""

PROJECT = """\
name: balances-bench
sources:
  balances: {path: balances.parquet, time: d}
"""

HAND = """\
SELECT month, region, sum(balance) AS balance, count(*) AS accounts
FROM (
  SELECT date_trunc('month', d)::DATE AS month, region, balance
  FROM read_parquet('{root}/balances.parquet')
  QUALIFY row_number() OVER (PARTITION BY account, date_trunc('month', d) ORDER BY d DESC) = 1
)
GROUP BY ALL
"""

PEAK = """\
SELECT month, region, max(balance) AS peak
FROM (
  SELECT d, date_trunc('month', d)::DATE AS month, region, sum(balance) AS balance
  FROM (
    SELECT d, region, balance
    FROM read_parquet('{root}/balances.parquet')
    QUALIFY row_number() OVER (PARTITION BY account, d ORDER BY d DESC) = 1
  )
  GROUP BY ALL
)
GROUP BY ALL
"""


def generate(rows: int) -> Path:
    """The project and its snapshots, one per account and day at most: a balance has no ties
    (cached by content: ``common.generated``)."""
    snapshots = f"""
        SELECT DISTINCT ON (account, d) account, d, region, balance FROM (
          SELECT 'a' || (i % 100000) AS account,
                 DATE '2024-01-01' + CAST(hash(i) % 731 AS INTEGER) AS d,
                 ['EU', 'US', 'APAC'][1 + CAST((i % 100000) % 3 AS INTEGER)] AS region,
                 CAST(hash(i * 7) % 1000000 AS DOUBLE) / 100 AS balance
          FROM range({rows}) AS t(i)
        )"""
    files = {"metrics/bench.yml": KPIS, "kpictl.yml": PROJECT}
    return generated("balances", [rows], {"balances.parquet": snapshots}, files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    root = generate(args.rows)
    project = Project.load(root)

    def kpictl_run() -> list[Any]:
        return project.run(["balance", "accounts"], by=["region"])

    def kpictl_peak() -> list[Any]:
        return project.run(["peak"], by=["region"])

    def hand(sql: str) -> Any:
        def run() -> list[Any]:
            with duckdb.connect() as con:
                return con.execute(sql.format(root=root)).fetchall()

        return run

    expected = {}
    for month, region, balance, accounts in hand(HAND)():
        expected[("balance", month, region)] = balance
        expected[("accounts", month, region)] = accounts
    for month, region, peak in hand(PEAK)():
        expected[("peak", month, region)] = peak
    actual = {(r.kpi, r.period, r.dims["region"]): r.value for r in [*kpictl_run(), *kpictl_peak()]}
    same = same_values(expected, actual)
    jobs = {"kpictl": kpictl_run, "hand": hand(HAND), "kpictl_peak": kpictl_peak, "hand_peak": hand(PEAK)}
    timings = alternate(jobs, args.rounds)
    rows = duckdb.connect().execute(f"SELECT count(*) FROM '{root}/balances.parquet'").fetchone()
    print(f"snapshot rows: {rows[0] if rows else 0:,}  KPIs: 2 + 1 by month and region  rounds: {args.rounds}")
    print(f"values equal: {same} ({len(actual)} values)")
    print_timings(
        timings,
        {
            "kpictl": "kpictl Project.run of balance, accounts (take: last)",
            "hand": "hand-written, QUALIFY per account and month",
            "kpictl_peak": "kpictl Project.run of peak (take: max)",
            "hand_peak": "hand-written, QUALIFY per account and day, max of the day sums",
        },
    )
    for name, what in (("", "last"), ("_peak", "max")):
        ratio = statistics.median(timings[f"kpictl{name}"]) / statistics.median(timings[f"hand{name}"])
        print(f"ratio ({what}): {ratio:.2f} (target <= 1.5 at 10M rows: {'met' if ratio <= 1.5 else 'missed'})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
