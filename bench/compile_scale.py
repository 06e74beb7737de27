"""Validate and compile 100, 1,000 and 10,000 generated KPIs: the time per KPI must stay flat.

    python bench/compile_scale.py                    # 100, 1,000, 10,000 KPIs; median of 3 runs
    python bench/compile_scale.py --kpis 100 1000 --runs 5
    python bench/compile_scale.py --kpis 20 --runs 1 # the smoke test

The projects come from the generator of bench/validate_1000.py (10 KPIs per file: source KPIs
with filters, Jinja variables, lookups, expression dimensions and targets, and derived KPIs
with prior/rolling/to_date across files). For each size, in this process and after a warm-up
that pays the imports: ``Project.load`` (YAML, JSON Schema), ``validate(data=False)`` (names,
formulas, cycles, dimensions), and ``compile()`` of every KPI into one SQL statement; then
``kpictl validate --no-data`` as a whole process. MetricFlow users report minutes for ~80
metrics; the claim here is milliseconds per KPI, constant from 100 to 10,000.

"Grows linearly" is shown by the exponent k of time ~ n^k between consecutive sizes
(log(t2/t1) / log(n2/n1)): 1.0 is linear, 2.0 quadratic. Exit 1 when an exponent of
load+validate+compile is above ``--max-exponent`` (default 1.25, noise included).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.run_vs_sql import timed_process  # noqa: E402
from bench.validate_1000 import generate  # noqa: E402
from kpictl import Project  # noqa: E402

STEPS = ("load", "validate", "compile")


def once(root: Path) -> dict[str, float]:
    """Seconds of each step for the project at ``root`` (fails loudly if it is not valid)."""
    started = time.perf_counter()
    project = Project.load(root)
    loaded = time.perf_counter()
    problems = project.validate(data=False)
    validated = time.perf_counter()
    if problems:
        raise SystemExit(f"the generated project has {len(problems)} problems, e.g. {problems[0]}")
    compiled = project.compile(grain="month")
    done = time.perf_counter()
    if not compiled.sql:
        raise SystemExit("empty SQL")
    return {"load": loaded - started, "validate": validated - loaded, "compile": done - validated}


def exponent(n1: int, t1: float, n2: int, t2: float) -> float:
    """k in t ~ n^k between two sizes."""
    return math.log(t2 / t1) / math.log(n2 / n1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument("--kpis", type=int, nargs="+", default=[100, 1000, 10000], help="project sizes")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per size (default: 3)")
    parser.add_argument("--max-exponent", type=float, default=1.25)
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(BENCH.parent), "NO_COLOR": "1"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="kpictl-compile-scale-") as tmp:
        for i, size in enumerate(sorted(args.kpis)):
            root = generate(Path(tmp) / str(size), size, max(1, size // 10))
            if i == 0:
                once(root)  # warm-up: imports, template and schema caches
            runs = [once(root) for _ in range(args.runs)]
            median = {step: statistics.median(r[step] for r in runs) for step in STEPS}
            totals = [sum(r.values()) for r in runs]
            process = timed_process(
                [sys.executable, "-m", "kpictl", "--project", str(root), "validate", "--no-data"], env
            )[0]
            rows.append((size, median, statistics.median(totals), min(totals), max(totals), process))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median of {args.runs} runs per size")
    print(
        "| KPIs | load s | validate s | compile s | total s (min-max) | ms per KPI | exponent k "
        "| `kpictl validate --no-data` process s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for j, (size, median, total, low, high, process) in enumerate(rows):
        k = ""
        if j:
            previous = rows[j - 1]
            value = exponent(previous[0], previous[2], size, total)
            worst = max(worst, value)
            k = f"{value:.2f}"
        print(
            f"| {size:,} | {median['load']:.3f} | {median['validate']:.3f} | {median['compile']:.3f} | "
            f"{total:.3f} ({low:.3f}-{high:.3f}) | {total / size * 1000:.2f} | {k} | {process:.2f} |"
        )
    print(f"largest exponent: {worst:.2f} (1.0 = linear; limit {args.max_exponent})")
    return 1 if worst > args.max_exponent else 0


if __name__ == "__main__":
    sys.exit(main())
