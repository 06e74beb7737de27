"""Start-up cost of kpictl commands as whole processes, against ``import duckdb`` as the floor.

    python bench/startup.py              # median of 10 runs of each command
    python bench/startup.py --runs 1     # the smoke test

A person at a terminal and a CI job pay the whole process: interpreter, imports, reading the
project. Measured, alternating the commands round by round (so drift hits all alike):

- ``python -c pass`` and ``python -c 'import duckdb'``: the interpreter, and the floor of any
  command that reads data (``--version`` must not import DuckDB: docs/ARCHITECTURE.md);
- ``kpictl --version``;
- ``kpictl validate`` on the shipped catalog (43 KPIs, the DESCRIBE of 11 sample files) and
  ``kpictl validate --no-data``;
- ``kpictl run`` of one KPI on a tiny project: one 3-row CSV file, one KPI.

Each line shows the median, min-max and the median minus the ``import duckdb`` floor.

Then issue 17's comparison: a small project (11 KPIs on two sources, ``--rows`` orders, 1M by
default, generated with DuckDB in a temp folder) by month, ``kpictl run --format json`` as a
process against a Python process running the same KPIs as one hand-written DuckDB query (the
hand side's values are checked equal to kpictl's first, relative tolerance 1e-9). kpictl runs
twice: with ``KPICTL_NO_CACHE=1`` (every definition checked and compiled, as before the cache)
and with a warm definitions cache (``KPICTL_CACHE_DIR``, a temp folder, filled by the warm-up).
The ratios of medians to the hand process are printed last (goal: 1.5). Every kpictl command
here runs with ``KPICTL_CACHE_DIR`` in a temp folder, never the user's cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench.common import same_values  # noqa: E402
from bench.run_vs_sql import timed_process  # noqa: E402

GOAL = 1.5  # issue 17: a `kpictl run` process within 1.5x the hand-written SQL's process

TINY_PROJECT = """\
name: tiny
metrics: [metrics]
sources:
  orders: {path: orders.csv, time: order_date}
"""
TINY_KPI = """\
kpis:
  - name: revenue
    source: orders
    formula: sum(amount)
"""
TINY_DATA = "order_date,amount\n2025-01-06,10.5\n2025-01-20,4.5\n2025-02-03,7\n"


def tiny_project(folder: Path) -> Path:
    """One CSV file of 3 rows and one KPI on it."""
    (folder / "metrics").mkdir(parents=True, exist_ok=True)
    (folder / "kpictl.yml").write_text(TINY_PROJECT)
    (folder / "metrics" / "tiny.yml").write_text(TINY_KPI)
    (folder / "orders.csv").write_text(TINY_DATA)
    return folder


SMALL_PROJECT = """\
name: small
metrics: [metrics]
sources:
  orders:
    path: data/orders.parquet
    key: order_id
    time: order_date
    lookups: [{source: customers, on: customer_id}]
  customers:
    path: data/customers.parquet
    key: customer_id
"""

# The 11 KPIs of the small project: (name, kpictl fields, the hand-written aggregate). Targets on
# some, so that judging runs as in a real project.
SMALL_KPIS: list[tuple[str, str, str]] = [
    ("revenue", "formula: sum(amount)\n    target: {min: 900000, tolerance: 5%}", "sum(amount)"),
    ("orders", "formula: count(*)", "count(*)"),
    ("average_order_value", "formula: avg(amount)\n    target: {min: 480, max: 520}", "avg(amount)"),
    ("active_customers", "formula: count(distinct customer_id)", "count(DISTINCT o.customer_id)"),
    ("units", "formula: sum(quantity)", "sum(quantity)"),
    ("web_revenue", "filter: channel = 'web'\n    formula: sum(amount)", "sum(amount) FILTER (WHERE channel = 'web')"),
    ("web_share", "formula: web_revenue / revenue\n    target: {min: 0.3}", "web_revenue / revenue"),
    (
        "return_rate",
        "formula: count(*) filter (where status = 'returned') / count(*)\n    target: {max: 0.06}",
        "count(*) FILTER (WHERE status = 'returned') / count(*)",
    ),
    ("large_orders", "filter: amount >= 900\n    formula: count(*)", "count(*) FILTER (WHERE amount >= 900)"),
    ("discount_rate", "formula: sum(discount) / sum(amount)", "sum(discount) / sum(amount)"),
    (
        "enterprise_revenue",
        "filter: segment = 'enterprise'\n    formula: sum(amount)",
        "sum(amount) FILTER (WHERE c.segment = 'enterprise')",
    ),
]
DERIVED = "web_share"  # the one KPI computed from two others, without a source

# Two years of orders from DuckDB's range() and hash(): dates, customers, channels, statuses.
SMALL_DATA = """\
COPY (
  SELECT i AS customer_id,
         ['enterprise', 'mid_market', 'small'][1 + (hash(i, 'segment') % 3)::INTEGER] AS segment,
         ['north', 'south', 'east', 'west'][1 + (hash(i, 'region') % 4)::INTEGER] AS region
  FROM range({customers}) AS t(i)
) TO '{folder}/data/customers.parquet' (FORMAT parquet);
COPY (
  SELECT i AS order_id,
         DATE '2024-01-01' + (hash(i, 'day') % 731)::INTEGER AS order_date,
         (hash(i, 'customer') % {customers})::BIGINT AS customer_id,
         ['web', 'store', 'phone'][1 + (hash(i, 'channel') % 3)::INTEGER] AS channel,
         CASE WHEN hash(i, 'status') % 20 = 0 THEN 'returned' ELSE 'delivered' END AS status,
         1 + (hash(i, 'quantity') % 5)::INTEGER AS quantity,
         round((hash(i, 'amount') % 100000) / 100.0, 2) AS amount,
         round((hash(i, 'amount') % 100000) / 100.0 * (hash(i, 'discount') % 4) / 20.0, 2) AS discount
  FROM range({rows}) AS t(i) ORDER BY order_date, order_id
) TO '{folder}/data/orders.parquet' (FORMAT parquet);
"""


def small_project(folder: Path, rows: int) -> Path:
    """The 11-KPI project of issue 17 over ``rows`` orders and a twentieth as many customers."""
    import duckdb

    (folder / "metrics").mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "kpictl.yml").write_text(SMALL_PROJECT)
    kpis = "".join(
        f"  - name: {name}\n" + ("" if name == DERIVED else "    source: orders\n") + f"    {fields}\n"
        for name, fields, _ in SMALL_KPIS
    )
    (folder / "metrics" / "shop.yml").write_text("kpis:\n" + kpis)
    con = duckdb.connect()
    con.execute(SMALL_DATA.format(folder=folder, rows=rows, customers=max(rows // 20, 10)))
    con.close()
    return folder


def small_hand_sql() -> str:
    """The 11 KPIs by month as one hand-written query: one scan, one join, FILTER aggregates."""
    aggregates = ",\n       ".join(f"{sql} AS {name}" for name, _, sql in SMALL_KPIS if name != DERIVED)
    return (
        "WITH m AS (\n"
        f"SELECT date_trunc('month', order_date)::DATE AS month,\n       {aggregates}\n"
        "FROM read_parquet('data/orders.parquet') AS o\n"
        "LEFT JOIN read_parquet('data/customers.parquet') AS c ON c.customer_id = o.customer_id\n"
        "GROUP BY 1)\n"
        f"SELECT *, {dict((n, sql) for n, _, sql in SMALL_KPIS)[DERIVED]} AS {DERIVED} FROM m ORDER BY month\n"
    )


# The hand side as a process: a Python with DuckDB running the script (as bench/run_vs_sql.py).
HAND_PROCESS = "import sys, duckdb\nduckdb.connect().execute(open(sys.argv[1]).read()).fetchall()\n"


def small_values_agree(folder: Path, kpictl_json: bytes) -> int:
    """How many (KPI, month) values kpictl's JSON and the hand SQL share, all equal (ValueError else)."""
    import duckdb

    here = os.getcwd()
    os.chdir(folder)  # the script's paths are relative to the project folder
    try:
        con = duckdb.connect()
        cursor = con.execute(small_hand_sql())
        names = [d[0] for d in cursor.description]
        hand: dict[Any, float | None] = {
            (kpi, row[0]): None if value is None else float(value)
            for row in cursor.fetchall()
            for kpi, value in zip(names[1:], row[1:], strict=True)
        }
        con.close()
    finally:
        os.chdir(here)
    ours = {(r["kpi"], dt.date.fromisoformat(r["period"])): r["value"] for r in json.loads(kpictl_json)["rows"]}
    if not same_values(hand, ours):
        differ = sorted(k for k in hand.keys() | ours.keys() if hand.get(k) != ours.get(k))[:10]
        raise ValueError(f"kpictl and the hand SQL differ, e.g. at {differ}")
    return len(hand)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default: 10)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders of the small project (default: 1M)")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="also time `kpictl run` of the small project with the kpictl of this folder (another checkout, "
        "e.g. `git archive COMMIT | tar -x -C DIR`): before and after in one session",
    )
    args = parser.parse_args(argv)
    python = sys.executable
    kpictl = [python, "-m", "kpictl"]  # run from ROOT: `python -m` finds the checkout under test there first
    with tempfile.TemporaryDirectory(prefix="kpictl-startup-") as tmp:
        # never the user's cache: a folder of this run, warmed by the first round
        base = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "KPICTL_CACHE_DIR": f"{tmp}/cache"}
        base.pop("KPICTL_NO_CACHE", None)
        # compiled bytecode, as an installed kpictl has it (pip writes it): without it every process
        # compiles kpictl's own modules again (0.1-0.2 s), which no user pays
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        cached, uncached = base, {**base, "KPICTL_NO_CACHE": "1"}
        tiny = tiny_project(Path(tmp) / "tiny")
        small = small_project(Path(tmp) / "small", args.rows)
        (Path(tmp) / "small.sql").write_text(small_hand_sql())
        small_run = ["--project", str(small), "run", "--format", "json"]
        values = small_values_agree(small, timed_process([*kpictl, *small_run], uncached, ROOT)[2])
        assert small_values_agree(small, timed_process([*kpictl, *small_run], cached, ROOT)[2]) == values  # writes
        assert small_values_agree(small, timed_process([*kpictl, *small_run], cached, ROOT)[2]) == values  # reads
        commands: dict[str, tuple[list[str], dict[str, str], Path | None]] = {
            "python -c pass": ([python, "-c", "pass"], base, None),
            "python -c 'import duckdb' (floor)": ([python, "-c", "import duckdb"], base, None),
            "kpictl --version": ([*kpictl, "--version"], base, ROOT),
        }
        for label, argv_ in (
            ("kpictl validate --no-data (shipped catalog)", ["--project", str(ROOT), "validate", "--no-data"]),
            ("kpictl validate (shipped catalog)", ["--project", str(ROOT), "validate"]),
            ("kpictl run revenue (3-row CSV)", ["--project", str(tiny), "run", "revenue", "--format", "json"]),
        ):
            commands[f"{label}, no cache"] = ([*kpictl, *argv_], uncached, ROOT)
            commands[f"{label}, cache warm"] = ([*kpictl, *argv_], cached, ROOT)
        small_hand = [python, "-c", HAND_PROCESS, str(Path(tmp) / "small.sql")]
        commands["small project: hand SQL process"] = (small_hand, base, small)
        if args.baseline:  # run from its folder: `python -m` looks in the working folder first
            before = {**base, "PYTHONPATH": str(args.baseline.resolve())}
            commands["small project: kpictl run, baseline"] = ([*kpictl, *small_run], before, args.baseline.resolve())
            baseline_json = timed_process([*kpictl, *small_run], before, args.baseline.resolve())[2]
            assert small_values_agree(small, baseline_json) == values
        commands["small project: kpictl run, no cache"] = ([*kpictl, *small_run], uncached, ROOT)
        commands["small project: kpictl run, cache warm"] = ([*kpictl, *small_run], cached, ROOT)
        for argv_, env, cwd in commands.values() if args.runs > 1 else ():  # warm-up: OS caches, __pycache__
            timed_process(argv_, env, cwd)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for i in range(args.runs):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                argv_, env, cwd = commands[name]
                wall, peak, _ = timed_process(argv_, env, cwd)
                walls[name].append(wall)
                peaks[name].append(peak)
    floor = statistics.median(walls["python -c 'import duckdb' (floor)"])
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.runs} runs of each command, alternating")
    print("| command | median s | min-max s | minus `import duckdb` s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for name, walls_ in walls.items():
        median = statistics.median(walls_)
        print(
            f"| {name} | {median:.3f} | {min(walls_):.3f}-{max(walls_):.3f} | {median - floor:+.3f} | "
            f"{max(peaks[name]):.0f} |"
        )
    hand = statistics.median(walls["small project: hand SQL process"])
    print(f"\nsmall project: {len(SMALL_KPIS)} KPIs, {args.rows:,} orders, {values} values equal to the hand SQL")
    for name in (n for n in walls if n.startswith("small project: kpictl")):
        ratio = statistics.median(walls[name]) / hand
        print(f"{name.removeprefix('small project: ')} / hand SQL process: {ratio:.2f} (goal {GOAL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
