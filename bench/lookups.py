"""Lookups benchmark: 7 KPIs over 10M flights through 6 joins, kpictl vs the same joins by hand.

    python bench/lookups.py [--rows 10000000] [--rounds 5]

The joins of issue 14 in one project: airports looked up twice (roles origin_airport and
dest_airport, keys mapped to faa), a chain of three (planes → manufacturers → countries) and a
history (alliances, valid_from/valid_to). Generates the Parquet files once with DuckDB's range()
and hash() (cached in the temp folder), loads the project once, then times, alternating in the
same process, (a) ``Project.run`` of the 7 KPIs by month (plan, compile, the lookup key checks,
the sandboxed query and the freshness query) and (b) one hand-written DuckDB query with the
same joins and aggregates. Checks every value equal first; prints the medians and their ratio
(target: kpictl ≤ 1.3 × hand-written at 10M rows). Exit 1 if a value differs.
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

PROJECT = """\
name: lookups-bench
sources:
  flights:
    path: flights.parquet
    time: flight_date
    lookups:
      - {source: airports, as: origin_airport, on: {origin: faa}}
      - {source: airports, as: dest_airport, on: {dest: faa}}
      - {source: planes, on: tailnum}
      - {source: alliances, on: carrier, valid_from: valid_from, valid_to: valid_to}
  airports: {path: airports.parquet, key: faa}
  planes: {path: planes.parquet, key: tailnum, lookups: [{source: manufacturers, on: {manufacturer_id: id}}]}
  manufacturers: {path: manufacturers.parquet, lookups: [{source: countries, on: {country_code: code}}]}
  countries: {path: countries.parquet}
  alliances: {path: alliances.parquet}
"""

# name → formula; the hand-written query uses the same aggregates over its own aliases.
KPIS = {
    "flights": ("count(*)", "count(*)"),
    "from_city_1": (
        "count(*) filter (where origin_airport.city = 'city_1')",
        "count(*) filter (where o.city = 'city_1')",
    ),
    "to_city_1": ("count(*) filter (where dest_airport.city = 'city_1')", "count(*) filter (where d.city = 'city_1')"),
    "same_city_share": (
        "count(*) filter (where origin_airport.city = dest_airport.city) / count(*)",
        "count(*) filter (where o.city = d.city) / count(*)",
    ),
    "country_0_built": (
        "count(*) filter (where country = 'country_0')",
        "count(*) filter (where c.country = 'country_0')",
    ),
    "alliance_0_delay": (
        "avg(arr_delay) filter (where alliance = 'alliance_0')",
        "avg(f.arr_delay) filter (where a.alliance = 'alliance_0')",
    ),
    "delayed_share": (
        "count(*) filter (where arr_delay > 15) / count(arr_delay)",
        "count(*) filter (where f.arr_delay > 15) / count(f.arr_delay)",
    ),
}

HAND = """\
SELECT date_trunc('month', f.flight_date)::DATE AS month,
{aggregates}
FROM read_parquet('{root}/flights.parquet') AS f
LEFT JOIN read_parquet('{root}/airports.parquet') AS o ON o.faa = f.origin
LEFT JOIN read_parquet('{root}/airports.parquet') AS d ON d.faa = f.dest
LEFT JOIN read_parquet('{root}/planes.parquet') AS p ON p.tailnum = f.tailnum
LEFT JOIN read_parquet('{root}/manufacturers.parquet') AS m ON m.id = p.manufacturer_id
LEFT JOIN read_parquet('{root}/countries.parquet') AS c ON c.code = m.country_code
LEFT JOIN read_parquet('{root}/alliances.parquet') AS a ON a.carrier = f.carrier
  AND (a.valid_from IS NULL OR a.valid_from <= f.flight_date) AND (a.valid_to IS NULL OR f.flight_date < a.valid_to)
GROUP BY 1
"""


def generate(rows: int) -> Path:
    """The project with its Parquet files (cached by content: ``common.generated``): keys missing
    from each lookup (airport 7, planes ≥ 4900, manufacturers ≥ 55), NULL delays, three alliance
    versions per carrier starting mid-year and mid-month."""
    tables = {
        "flights": f"""
            SELECT DATE '2024-01-01' + CAST(hash(i) % 730 AS INTEGER) AS flight_date,
                   'A' || (hash(i * 7) % 300) AS origin, 'A' || (hash(i * 11) % 300) AS dest,
                   'N' || (hash(i * 13) % 5000) AS tailnum, 'C' || (hash(i * 17) % 20) AS carrier,
                   CASE WHEN hash(i * 19) % 50 = 0 THEN NULL ELSE CAST(hash(i * 23) % 120 AS INTEGER) - 30 END
                     AS arr_delay
            FROM range({rows}) AS t(i)""",
        "airports": "SELECT 'A' || k AS faa, 'city_' || (k % 40) AS city FROM range(300) AS t(k) WHERE k <> 7",
        "planes": "SELECT 'N' || k AS tailnum, 'M' || (k % 60) AS manufacturer_id FROM range(4900) AS t(k)",
        "manufacturers": "SELECT 'M' || k AS id, 'K' || (k % 12) AS country_code FROM range(55) AS t(k)",
        "countries": "SELECT 'K' || k AS code, 'country_' || k AS country FROM range(12) AS t(k)",
        "alliances": """
            SELECT 'C' || c AS carrier, 'alliance_' || ((c + v) % 3) AS alliance,
                   [NULL, DATE '2024-06-01', DATE '2025-03-15'][v + 1] AS valid_from,
                   [DATE '2024-06-01', DATE '2025-03-15', NULL][v + 1] AS valid_to
            FROM range(20) AS t(c), range(3) AS u(v)""",
    }
    kpis = "".join(f'  - {{name: {name}, source: flights, formula: "{ours}"}}\n' for name, (ours, _) in KPIS.items())
    files = {"metrics/bench.yml": "kpis:\n" + kpis, "kpictl.yml": PROJECT}
    return generated("lookups", [rows], {f"{name}.parquet": query for name, query in tables.items()}, files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    root = generate(args.rows)
    project = Project.load(root)
    names = list(KPIS)
    aggregates = ",\n".join(f"  {theirs} AS {name}" for name, (_, theirs) in KPIS.items())
    sql = HAND.format(aggregates=aggregates, root=root)

    def kpictl_run() -> list[Any]:
        return project.run(names)

    def hand_run() -> list[Any]:
        with duckdb.connect() as con:
            return con.execute(sql).fetchall()

    expected = {(name, row[0]): row[1 + i] for row in hand_run() for i, name in enumerate(KPIS)}
    actual = {(r.kpi, r.period): r.value for r in kpictl_run()}
    same = same_values(expected, actual)
    timings = alternate({"kpictl": kpictl_run, "hand": hand_run}, args.rounds)
    ours, theirs = statistics.median(timings["kpictl"]), statistics.median(timings["hand"])
    ratio = ours / theirs
    print(f"rows: {args.rows:,}  KPIs: {len(KPIS)}  joins: 6 (2 roles, a chain of 3, a history)  rounds: {args.rounds}")
    print(f"values equal: {same} ({len(actual)} values)")
    print_timings(
        timings, {"kpictl": "kpictl Project.run (checks, query, freshness)", "hand": "hand-written, same joins"}
    )
    print(f"ratio: {ratio:.2f} (target <= 1.3 at 10M rows: {'met' if ratio <= 1.3 else 'missed'})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
