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
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench.run_vs_sql import timed_process  # noqa: E402

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default: 10)")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    python = sys.executable
    kpictl = [python, "-m", "kpictl"]
    with tempfile.TemporaryDirectory(prefix="kpictl-startup-") as tmp:
        tiny = tiny_project(Path(tmp))
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import duckdb' (floor)": [python, "-c", "import duckdb"],
            "kpictl --version": [*kpictl, "--version"],
            "kpictl validate --no-data (shipped catalog)": [*kpictl, "--project", str(ROOT), "validate", "--no-data"],
            "kpictl validate (shipped catalog)": [*kpictl, "--project", str(ROOT), "validate"],
            "kpictl run revenue (3-row CSV)": [*kpictl, "--project", str(tiny), "run", "revenue", "--format", "json"],
        }
        for argv_ in commands.values() if args.runs > 1 else ():  # warm-up: the OS caches, __pycache__
            timed_process(argv_, env)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for i in range(args.runs):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                wall, peak, _ = timed_process(commands[name], env)
                walls[name].append(wall)
                peaks[name].append(peak)
    floor = statistics.median(walls["python -c 'import duckdb' (floor)"])
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.runs} runs of each command, alternating")
    print("| command | median s | min-max s | minus `import duckdb` s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for name, values in walls.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:.3f} | {min(values):.3f}-{max(values):.3f} | {median - floor:+.3f} | "
            f"{max(peaks[name]):.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
