"""The shipped catalog on Spark (local[2]) against DuckDB: same values, and where Spark's time goes.

    python bench/spark.py                          # scale 1, one run
    python bench/spark.py --scale 10 --runs 2
    python bench/spark.py --scale 100 --duckdb-memory 4GB --spark-memory 4g   # larger than memory

For each scale (data from bench/data.py, cached), the 43 KPIs of metrics/*.yml by month are
compiled once and run by both engines in this process: DuckDB through ``engine.duckdb`` (the
sandboxed connection kpictl uses, with ``--duckdb-memory`` as its memory_limit) and Spark
through ``engine.spark`` on classic ``local[2]`` (the views, the lookup-key checks and the one
SELECT kpictl sends). Every value is compared first (counts exactly, the rest within 1e-9
relative; NULL only against NULL): exit 1 if any differs. Then each engine runs ``--runs``
times, alternating. Reported: median and min-max wall time, the ratio Spark / DuckDB, and where
Spark's time goes: starting the session (once), registering the sources and checking lookup
keys, analysing the query (``spark.sql``: parse, resolve, optimise), executing it (``collect``),
and the number of Spark jobs and stages the query ran (from the status tracker).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # the checkout's kpictl, not another installed one

from bench import data  # noqa: E402
from kpictl import Project  # noqa: E402
from kpictl.engine import duckdb as duck  # noqa: E402
from kpictl.model import Engine  # noqa: E402

REL_TOL = 1e-9
Key = tuple[str, Any, tuple[Any, ...]]


def duckdb_run(project: Project, compiled: Any, memory: str | None) -> dict[Key, float | None]:
    with duck.connect(project.config, compiled.sources, memory_limit=memory) as con:
        duck.check_lookup_keys(con, compiled.lookups)
        rows = duck.run_select(con, compiled.sql, compiled.params, timeout=24 * 3600)
    return {(r[0], r[1], tuple(r[2:-1])): r[-1] for r in rows}


def spark_run(project: Project, compiled: Any, timings: dict[str, list[float]]) -> dict[Key, float | None]:
    from kpictl.engine import spark as engine
    from kpictl.sql.dialects import to_dialect

    session = engine.session(project.config.engine)
    session.conf.set("spark.sql.session.timeZone", project.config.timezone)
    tracker, context = None, getattr(session, "sparkContext", None)
    group = f"kpictl-bench-{len(timings['execution'])}-{time.perf_counter_ns()}"  # one group per run
    if context is not None:
        context.setJobGroup(group, "the catalog by month")
        tracker = context.statusTracker()
    started = time.perf_counter()
    engine._register(session, project.config, compiled.sources, None, None)
    engine.check_lookup_keys(session, compiled.lookups)
    registered = time.perf_counter()
    frame = session.sql(to_dialect(compiled.sql, compiled.params, "spark"))
    analysed = time.perf_counter()
    rows = frame.collect()
    done = time.perf_counter()
    timings["sources and key checks"].append(registered - started)
    timings["analysis"].append(analysed - registered)
    timings["execution"].append(done - analysed)
    if tracker is not None:
        jobs = tracker.getJobIdsForGroup(group)
        stages = sum(len(info.stageIds) for j in jobs if (info := tracker.getJobInfo(j)) is not None)
        timings["jobs"].append(len(jobs))
        timings["stages"].append(stages)
    return {(r[0], engine._date(r[1]), tuple(r[2:-1])): r[-1] for r in rows}


def differences(duck_values: dict[Key, float | None], spark_values: dict[Key, float | None]) -> list[str]:
    problems = [f"only on DuckDB: {k}" for k in sorted(duck_values.keys() - spark_values.keys(), key=str)]
    problems += [f"only on Spark: {k}" for k in sorted(spark_values.keys() - duck_values.keys(), key=str)]
    for key in duck_values.keys() & spark_values.keys():
        a, b = duck_values[key], spark_values[key]
        if a is None or b is None:
            same = a is None and b is None
        elif float(a).is_integer() and abs(a) < 2**53:
            same = a == b
        else:
            same = math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)
        if not same:
            problems.append(f"{key}: DuckDB {a!r} vs Spark {b!r}")
    return problems


def measure(scale: float, runs: int, duckdb_memory: str | None, spark_memory: str, cache: Path | None) -> int:
    folder = data.prepare(scale, cache, quiet=False)
    project = Project.load(folder)
    engine = Engine(
        "spark",
        master="local[2]",
        conf={"spark.ui.showConsoleProgress": "false", "spark.driver.memory": spark_memory},
    )
    on_spark = Project(dataclasses.replace(project.config, engine=engine), project._raw_kpis)
    compiled = project.compile(grain="month")

    from kpictl.engine import spark as engine_module

    started = time.perf_counter()
    engine_module.session(engine)
    start_seconds = time.perf_counter() - started

    timings: dict[str, list[float]] = {
        k: [] for k in ("sources and key checks", "analysis", "execution", "jobs", "stages")
    }
    walls: dict[str, list[float]] = {"DuckDB": [], "Spark local[2]": []}
    first_duck = duckdb_run(project, compiled, duckdb_memory)  # also the warm-ups
    first_spark = spark_run(on_spark, compiled, timings)
    problems = differences(first_duck, first_spark)
    print(f"scale {scale:g}: {len(first_duck):,} values; {'all equal' if not problems else 'DIFFERENT'}")
    if problems:
        print("\n".join(problems[:20]))
        return 1
    for values in timings.values():
        values.clear()
    for i in range(runs):
        sides = [("DuckDB", lambda: duckdb_run(project, compiled, duckdb_memory))]
        sides.append(("Spark local[2]", lambda: spark_run(on_spark, compiled, timings)))
        for name, job in sides[i % 2 :] + sides[: i % 2]:
            began = time.perf_counter()
            job()
            walls[name].append(time.perf_counter() - began)
    duck_median, spark_median = statistics.median(walls["DuckDB"]), statistics.median(walls["Spark local[2]"])
    print(
        f"| scale | runs | DuckDB{f' ({duckdb_memory})' if duckdb_memory else ''} | Spark local[2] | Spark / DuckDB |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| {scale:g} | {runs} | {duck_median:.2f} s ({min(walls['DuckDB']):.2f}–{max(walls['DuckDB']):.2f}) "
        f"| {spark_median:.2f} s ({min(walls['Spark local[2]']):.2f}–{max(walls['Spark local[2]']):.2f}) "
        f"| {spark_median / duck_median:.1f}× |"
    )
    parts = ", ".join(
        f"{name} {statistics.median(values):.1f} s"
        for name, values in timings.items()
        if values and name not in ("jobs", "stages")
    )
    jobs = f"; {statistics.median(timings['jobs']):.0f} jobs, {statistics.median(timings['stages']):.0f} stages"
    print(f"Spark: session start {start_seconds:.1f} s (once); per run: {parts}{jobs if timings['jobs'] else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=data.scale_option, nargs="+", default=[1.0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--duckdb-memory", help="DuckDB's memory_limit, e.g. 4GB (default: DuckDB's own)")
    parser.add_argument("--spark-memory", default="4g", help="spark.driver.memory of local[2] (default: 4g)")
    parser.add_argument("--cache", type=Path, help="where bench/data.py keeps generated data")
    args = parser.parse_args(argv)
    status = 0
    for scale in args.scale:
        status |= measure(scale, args.runs, args.duckdb_memory, args.spark_memory, args.cache)
    return status


if __name__ == "__main__":
    sys.exit(main())
