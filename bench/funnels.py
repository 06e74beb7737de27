"""Funnels benchmark: a 7-day conversion KPI over 10M events, kpictl vs hand-written SQL.

    python bench/funnels.py [--rows 10000000] [--rounds 5]

Issue 15 asks a 7-day funnel to run within 1.5x hand-written SQL at 10M rows. The rows: 80% visits
and 20% sign-ups of 1,000,000 users at random seconds of 2025, a channel on each visit. Generated
once with DuckDB's range() and hash() (cached in the temp folder); the project is loaded once;
then, alternating in one process, (a) ``Project.run`` of the sign-up rate and count by month and
channel and (b) the query an analyst would write in DuckDB: an ASOF JOIN of each sign-up to the
user's latest visit before it, then the distinct users. Every value is compared first. Exit 1 if
a value differs.
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
  - {name: visits, source: visits, formula: count(*)}
  - {name: signups, source: signups, formula: count(*)}
  - {name: signup_rate, formula: "conversion(visits, signups, entity: user_id, within: 7 days)"}
  - {name: signed_up, formula: "converted(visits, signups, entity: user_id, within: 7 days)"}
"""

PROJECT = """\
name: funnels-bench
sources:
  visits: {path: visits.parquet, time: visited_at}
  signups: {path: signups.parquet, time: signed_up_at}
"""

HAND = """\
WITH credited AS (
  SELECT DISTINCT s.user_id, v.visited_at
  FROM read_parquet('{root}/signups.parquet') AS s
  ASOF JOIN read_parquet('{root}/visits.parquet') AS v
    ON s.user_id = v.user_id AND s.signed_up_at >= v.visited_at
  WHERE s.signed_up_at <= v.visited_at + INTERVAL 7 DAY
)
SELECT date_trunc('month', v.visited_at)::DATE AS month, v.channel,
       count(DISTINCT v.user_id) AS entered,
       count(DISTINCT v.user_id) FILTER (WHERE c.user_id IS NOT NULL) AS converted
FROM read_parquet('{root}/visits.parquet') AS v
LEFT JOIN credited AS c ON c.user_id = v.user_id AND c.visited_at = v.visited_at
GROUP BY ALL
"""


def generate(rows: int) -> Path:
    """The project and its events: visits (80%) and sign-ups (20%) of 1M users over 2025 (cached
    by content: ``common.generated``)."""
    users = max(rows // 10, 1)
    tables = {
        f"{name}.parquet": f"""
            SELECT 'u' || (hash(i * 11 + {len(name)}) % {users}) AS user_id,
                   TIMESTAMP '2025-01-01' + to_seconds(CAST(hash(i * 5 + {len(name)}) % 31536000 AS BIGINT))
                     AS {column}{extra}
            FROM range({int(rows * share)}) AS t(i)"""
        for name, share, column, extra in (
            ("visits", 0.8, "visited_at", ", ['web', 'ads', 'mail'][1 + CAST(hash(i * 3) % 3 AS INTEGER)] AS channel"),
            ("signups", 0.2, "signed_up_at", ""),
        )
    }
    return generated("funnels", [rows], tables, {"metrics/bench.yml": KPIS, "kpictl.yml": PROJECT})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    root = generate(args.rows)
    project = Project.load(root)
    sql = HAND.format(root=root)

    def kpictl_run() -> list[Any]:
        return project.run(["signup_rate", "signed_up"], by=["channel"])

    def hand_run() -> list[Any]:
        with duckdb.connect() as con:
            return con.execute(sql).fetchall()

    expected: dict[Any, float | None] = {}
    for month, channel, entered, converted in hand_run():
        expected[("signup_rate", month, channel)] = converted / entered if entered else None
        expected[("signed_up", month, channel)] = converted
    actual = {(r.kpi, r.period, r.dims["channel"]): r.value for r in kpictl_run()}
    same = same_values(expected, actual)
    timings = alternate({"kpictl": kpictl_run, "hand": hand_run}, args.rounds)
    ratio = statistics.median(timings["kpictl"]) / statistics.median(timings["hand"])
    print(f"events: {args.rows:,} (80% visits, 20% sign-ups)  KPIs: 2 by month and channel  rounds: {args.rounds}")
    print(f"values equal: {same} ({len(actual)} values)")
    names = {"kpictl": "kpictl Project.run (checks, query, freshness)", "hand": "hand-written, ASOF JOIN"}
    print_timings(timings, names)
    print(f"ratio: {ratio:.2f} (target <= 1.5 at 10M rows: {'met' if ratio <= 1.5 else 'missed'})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
