"""A wide result: two KPIs by customer (a million output rows), kpictl against its own SQL alone.

    python bench/wide.py [--rows 5000000] [--customers 40000] [--rounds 3]
    python bench/wide.py --rows 20000 --customers 200 --rounds 1 --formats csv   # the smoke test

A breakdown by customer turns a few thousand values into a million rows, and every row is
judged (status, trajectory, pace towards the bound). The project, generated once in the temp
folder with DuckDB's range() and hash(): one Parquet source of ``--rows`` orders over
``--customers`` customers and the 24 months of 2024-2025, one level KPI (``avg_order``, the
average amount, target ``min`` by a deadline with a declared baseline, so rows are on their
trajectory and get a forecast) and one size KPI (``revenue``, a sum, its target ``max`` for the
total: the customers' rows have none). Then, as whole processes, alternating round by round:

- ``kpictl run --by customer --format F -o out.F`` (csv, parquet, json): everything a user pays
  (imports, checks, the query, completeness, judgement, writing the file);
- the hand side: a Python process running the SQL of ``kpictl compile --by customer`` in a plain
  DuckDB connection (a view ``orders`` on the Parquet file) with ``COPY (…) TO 'out.F'`` in the
  same format (for json, an array):
  the values without any judgement, the floor of what kpictl does;
- the same-columns side: the same process, but writing kpictl's fourteen columns, the judgement
  columns joined from kpictl's own Parquet output of the warm-up (read from a file, as if judging
  were free): what DuckDB alone pays to write the same content. kpictl writes five doubles per
  row where the compiled SQL writes one, and the double's text is most of a file's cost; this
  side says how much of the gap to the hand side is the output itself.

First both sides run once in CSV (the warm-up) and every value is compared (relative 1e-9, NULL
only against NULL); then ``--rounds`` rounds, the sides taking turns. Printed: median seconds,
every run, peak RSS of each process (``ru_maxrss`` of the child alone, from run_vs_sql's small
launcher) and the ratio of medians. No time is asserted; exit 1 if a value differs.

Last, the content floor of each format: in this process, kpictl's rows in a DuckDB table in
memory, the best of ``--rounds`` ``COPY`` of its fourteen columns against the best of the SQL's
four (kpi, period, customer, value). That difference is what the output alone costs DuckDB,
without a query, a join or a judgement; added to the hand side's median it gives the lowest
ratio any run writing these columns could reach.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench.common import generated, same_values  # noqa: E402
from bench.run_vs_sql import timed_process  # noqa: E402

KPIS = """\
kpis:
  - name: avg_order
    source: orders
    formula: avg(amount)
    dimensions: [customer]
    target:
      min: 60
      by: 2026-06-30
      baseline: {value: 45, at: 2023-12-31}
      tolerance: 5%
  - name: revenue
    source: orders
    formula: sum(amount)
    dimensions: [customer]
    target:
      max: 100000000
"""

PROJECT = """\
name: wide-bench
metrics: [metrics]
defaults: {grain: month}
sources:
  orders: {path: orders.parquet, time: order_date}
"""

# The compiled SQL, run and written by DuckDB alone: what kpictl adds is the difference.
HAND_PROCESS = """\
import sys, duckdb
sql, out, fmt = open(sys.argv[1]).read().strip().rstrip(";"), sys.argv[2], sys.argv[3]
options = {"csv": "FORMAT csv, HEADER", "parquet": "FORMAT parquet", "json": "FORMAT json, ARRAY true"}[fmt]
con = duckdb.connect()
con.execute("CREATE VIEW orders AS SELECT * FROM read_parquet('" + sys.argv[4] + "')")
con.execute("COPY (" + sql + ") TO '" + out + "' (" + options + ")")
"""

# The same, writing kpictl's columns: the judgement joined from kpictl's Parquet output (argv[5]).
SAME_COLUMNS_PROCESS = """\
import sys, duckdb
sql, out, fmt = open(sys.argv[1]).read().strip().rstrip(";"), sys.argv[2], sys.argv[3]
options = {"csv": "FORMAT csv, HEADER", "parquet": "FORMAT parquet", "json": "FORMAT json, ARRAY true"}[fmt]
con = duckdb.connect()
con.execute("CREATE VIEW orders AS SELECT * FROM read_parquet('" + sys.argv[4] + "')")
con.execute("CREATE VIEW judged AS SELECT * FROM read_parquet('" + sys.argv[5] + "')")
judged = "status, min, max, expected, gap, gap_relative, reaches_on, reaches_by_deadline, complete, partial_window"
select = "SELECT q.kpi, q.period, q.customer, q.value, " + judged + " FROM (" + sql + ") AS q"
select += " JOIN judged AS j ON q.kpi = j.kpi AND q.period = j.period AND q.customer = j.customer"
con.execute("COPY (" + select + ") TO '" + out + "' (" + options + ")")
"""


def generate(rows: int, customers: int) -> Path:
    """The project and its orders (cached by content: ``common.generated``)."""
    orders = f"""
        SELECT DATE '2024-01-01' + CAST(hash(i) % 731 AS INTEGER) AS order_date,
               'c' || lpad(CAST(hash(i * 3) % {customers} AS VARCHAR), 6, '0') AS customer,
               CAST(hash(i * 7) % 10000 AS DOUBLE) / 100 AS amount
        FROM range({rows}) AS t(i)
        ORDER BY order_date"""
    files = {"metrics/wide.yml": KPIS, "kpictl.yml": PROJECT}
    return generated("wide", [rows, customers], {"orders.parquet": orders}, files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument("--rows", type=int, default=5_000_000, help="orders (default: 5,000,000)")
    parser.add_argument("--customers", type=int, default=40_000, help="customers (default: 40,000)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side (default: 3)")
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet", "json"], choices=["csv", "parquet", "json"])
    args = parser.parse_args(argv)
    root = generate(args.rows, args.customers)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    python = sys.executable
    kpictl = [python, "-m", "kpictl", "--project", str(root)]
    with tempfile.TemporaryDirectory(prefix="kpictl-wide-") as tmp:
        out = Path(tmp)
        sql = subprocess.run(
            [*kpictl, "compile", "--by", "customer"], env=env, capture_output=True, text=True, check=True
        ).stdout
        (out / "query.sql").write_text(sql, encoding="utf-8")
        sides = {}
        judged = out / "judged.parquet"
        for fmt in ("csv", *(f for f in args.formats if f != "csv")):  # csv first: its values are compared
            target = out / f"kpictl.{fmt}"
            sides[f"kpictl {fmt}"] = [*kpictl, "run", "--by", "customer", "--format", fmt, "-o", str(target)]
            hand = [python, "-c", HAND_PROCESS, str(out / "query.sql"), str(out / f"hand.{fmt}"), fmt]
            sides[f"hand {fmt}"] = [*hand, str(root / "orders.parquet")]
            same_columns = [python, "-c", SAME_COLUMNS_PROCESS, str(out / "query.sql"), str(out / f"same.{fmt}"), fmt]
            sides[f"same-columns {fmt}"] = [*same_columns, str(root / "orders.parquet"), str(judged)]
        for name in ("kpictl csv", "hand csv"):  # the warm-up (OS cache, __pycache__), and the values
            timed_process(sides[name], env, cwd=out)
        subprocess.run(
            [*kpictl, "run", "--by", "customer", "--format", "parquet", "-o", str(judged)], env=env, check=True
        )
        ours, theirs = csv_values(out / "kpictl.csv"), csv_values(out / "hand.csv")
        same = same_values(theirs, ours)
        if "csv" not in args.formats:
            del sides["kpictl csv"], sides["hand csv"], sides["same-columns csv"]
        walls: dict[str, list[float]] = {name: [] for name in sides}
        peaks: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, command in sides.items():
                wall, peak, _ = timed_process(command, env, cwd=out)
                walls[name].append(wall)
                peaks[name].append(peak)
        if "csv" in args.formats:  # the join kept every row
            same = same and same_values(ours, csv_values(out / "same.csv"))
        floors = content_floors(judged, args.formats, args.rounds, out)
    print(f"orders: {args.rows:,}  customers: {args.customers:,}  months: 24  rounds: {args.rounds}")
    print(f"values equal: {same} ({len(ours):,} rows from kpictl, {len(theirs):,} from the compiled SQL alone)")
    print("| side | median s | runs s | peak RSS MB | ratio to hand | ratio to same-columns |")
    print("|---|---:|---|---:|---:|---:|")
    for name, runs in walls.items():
        fmt = name.split()[1]
        ratio = statistics.median(runs) / statistics.median(walls[f"hand {fmt}"])
        same_ratio = statistics.median(runs) / statistics.median(walls[f"same-columns {fmt}"])
        print(
            f"| {name} | {statistics.median(runs):.3f} | {', '.join(f'{t:.2f}' for t in runs)} | "
            f"{max(peaks[name]):.0f} | {ratio:.2f} | {same_ratio:.2f} |"
        )
    print("\n| format | COPY of the SQL's 4 columns s | of kpictl's 14 s | the output's own cost s | floor ratio |")
    print("|---|---:|---:|---:|---:|")
    for fmt, (four, fourteen) in floors.items():
        floor = (statistics.median(walls[f"hand {fmt}"]) + fourteen - four) / statistics.median(walls[f"hand {fmt}"])
        print(f"| {fmt} | {four:.3f} | {fourteen:.3f} | {fourteen - four:+.3f} | {floor:.2f} |")
    return 0 if same else 1


def content_floors(judged: Path, formats: list[str], rounds: int, out: Path) -> dict[str, tuple[float, float]]:
    """Per format, the best seconds of DuckDB writing the SQL's four columns and kpictl's fourteen
    from the same rows in memory (``judged``: kpictl's Parquet output)."""
    import time

    import duckdb

    options = {"csv": "FORMAT csv, HEADER", "parquet": "FORMAT parquet", "json": "FORMAT json, ARRAY true"}
    con = duckdb.connect()
    con.execute(f"CREATE TABLE judged AS SELECT * FROM read_parquet('{judged}')")
    every = ", ".join(name for name, *_ in con.execute("DESCRIBE judged").fetchall())
    floors = {}
    for fmt in formats:
        best = []
        for columns in ("kpi, period, customer, value", every):
            runs = []
            for _ in range(rounds):
                start = time.perf_counter()
                con.execute(f"COPY (SELECT {columns} FROM judged) TO '{out / f'floor.{fmt}'}' ({options[fmt]})")
                runs.append(time.perf_counter() - start)
            best.append(min(runs))
        floors[fmt] = (best[0], best[1])
    return floors


def csv_values(path: Path) -> dict[tuple[str, str, str], float | None]:
    """(kpi, period, customer) → value of a CSV file with those columns (kpictl's has more)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f)
        return {(r["kpi"], r["period"], r["customer"]): float(r["value"]) if r["value"] else None for r in rows}


if __name__ == "__main__":
    sys.exit(main())
