"""The whole shipped catalog by month: kpictl against the hand-written "physical limit".

    python bench/run_vs_sql.py                       # scales 1, 10, 100; 5 runs each
    python bench/run_vs_sql.py --scale 10 --runs 9
    python bench/run_vs_sql.py --scale 0.01 --runs 1 # the smoke test

For each scale (data from bench/data.py, cached), the 43 KPIs of metrics/*.yml by month with no
breakdown are computed by

- ``kpictl API``: ``Project.load(dir).run(grain="month")``, everything a notebook pays: YAML,
  schema and semantic checks, the sources' schemas, plan, compile, the sandboxed query, target
  judgement;
- ``kpictl API, loaded project``: ``project.run(grain="month")`` again on a loaded project (a
  notebook's or a pipeline's next call: definitions checked and source schemas read once);
- ``kpictl SQL``: only the compiled query through ``engine.execute`` (sandbox, views, query,
  rows): what kpictl's SQL costs against the hand-written SQL, without the Python around it;
- ``hand SQL``: bench/hand_written.sql in a plain DuckDB connection: one scan per source with
  FILTER aggregates, the fastest we can write by hand;
- ``kpictl CLI`` and ``hand SQL process``: the same as whole processes (``python -m kpictl
  run --format json`` with stdout to /dev/null, and ``python -c 'import duckdb; …'`` running
  the script), which is also where peak memory is read (ru_maxrss of that child alone, from a
  small launcher: see LAUNCHER).

First the values are checked equal (relative tolerance 1e-9; NULL only against NULL) for the
API and for the CLI's JSON. Then the sides run ``--runs`` times each, alternating and rotating
which goes first, after one warm-up each (the OS file cache is warm for all). Reported: median,
min-max, peak RSS and the ratio of medians to the hand side of the same kind (in-process to
in-process, process to process). Exit 1 when values differ; exit 2 with ``--check`` when a
ratio at scale >= 10 is over the goal (1.3).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # the checkout's kpictl, not another installed one

import duckdb  # noqa: E402

from bench import data  # noqa: E402
from kpictl import Project  # noqa: E402
from kpictl.engine import duckdb as engine  # noqa: E402

HAND_SQL = BENCH / "hand_written.sql"
GOAL = 1.3
REL_TOL = 1e-9
# The hand side as a process: what a person would run, a Python with DuckDB and the script.
HAND_PROCESS = "import sys, duckdb\nduckdb.connect().execute(open(sys.argv[1]).read()).fetchall()\n"

Values = dict[tuple[str, dt.date], float | None]


def hand_values(folder: Path) -> Values:
    """Run the hand-written script in-process and return (kpi, month) → value."""
    # The script's paths are relative to the project folder. DuckDB looks in the working
    # directory before `file_search_path`, and the repository has a data/ folder of its own.
    here = os.getcwd()
    os.chdir(folder)
    con = duckdb.connect()
    try:
        rows = con.execute(HAND_SQL.read_text()).fetchall()  # (period, source, kpi, value)
    finally:
        con.close()
        os.chdir(here)
    return {(kpi, period): _float(value) for period, _, kpi, value in rows}


def _float(value: Any) -> float | None:
    """DECIMAL sums and integer counts as floats, the type kpictl returns."""
    return None if value is None else float(value)


def api_values(folder: Path) -> Values:
    """The catalog through the library, as a notebook would call it."""
    return {(r.kpi, r.period): r.value for r in Project.load(folder).run(grain="month")}


def cli_values(stdout: bytes) -> Values:
    """Values from ``kpictl run --format json`` output."""
    rows = json.loads(stdout)["rows"]
    return {(r["kpi"], dt.date.fromisoformat(r["period"])): r["value"] for r in rows}


def compare(ours: Values, theirs: Values) -> list[str]:
    """Every difference between two value sets, in words (empty: equal)."""
    problems = [f"only in kpictl: {k[0]} {k[1]}" for k in sorted(ours.keys() - theirs.keys())]
    problems += [f"only in hand SQL: {k[0]} {k[1]}" for k in sorted(theirs.keys() - ours.keys())]
    for key in sorted(ours.keys() & theirs.keys()):
        a, b = ours[key], theirs[key]
        if (a is None) != (b is None) or (a is not None and b is not None and not math.isclose(a, b, rel_tol=REL_TOL)):
            problems.append(f"{key[0]} {key[1]}: kpictl {a!r} vs hand SQL {b!r}")
    return problems


# Spawns one command and writes "wall seconds, peak RSS KiB, exit code" to argv[1]. A child's
# ru_maxrss starts at its parent's RSS at fork time, so a child of this benchmark (which holds
# DuckDB and kpictl) would never read below ~130 MB; this launcher, started without site
# packages, is about 10 MB, and posix_spawn + wait4 give the figure of the one child.
LAUNCHER = """import os, sys, time
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def timed_process(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[float, float, bytes]:
    """Run ``argv`` (argv[0] an absolute path); return (wall s, peak RSS MB of that child, stdout)."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures"
        with open(Path(tmp) / "stdout", "w+b") as out:
            launcher = [sys.executable, "-S", "-c", LAUNCHER, str(figures), *argv]
            finished = subprocess.run(launcher, stdout=out, stderr=subprocess.PIPE, env=env, cwd=cwd, check=False)
            out.seek(0)
            stdout = out.read()
        wall, peak, code = figures.read_text().split()
        if finished.returncode != 0 or int(code) != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {code}: {finished.stderr.decode()[-2000:]}")
        return float(wall), int(peak) / 1024, stdout


def measure(scale: float, runs: int, cache: Path | None) -> dict[str, Any]:
    """Check values, then time every side ``runs`` times; return the results of one scale."""
    folder = data.prepare(scale, cache, quiet=False)
    env = {**os.environ, "PYTHONPATH": str(BENCH.parent), "NO_COLOR": "1"}
    cli = [sys.executable, "-m", "kpictl", "--project", str(folder), "run", "--format", "json"]
    hand_process = [sys.executable, "-c", HAND_PROCESS, str(HAND_SQL)]

    expected = hand_values(folder)  # also the warm-up of the hand side
    problems = compare(api_values(folder), expected)
    problems += [f"CLI: {p}" for p in compare(cli_values(timed_process(cli, env)[2]), expected)]
    if problems:
        return {"scale": scale, "folder": str(folder), "kpis": 0, "problems": problems}

    project = Project.load(folder)
    compiled = project.compile(grain="month")

    def sql_only() -> None:
        engine.execute(compiled, project.config)

    loaded = Project.load(folder)
    loaded.run(grain="month")  # a notebook's second call: definitions and source schemas read

    in_process: dict[str, Callable[[], Any]] = {
        "kpictl API": lambda: api_values(folder),
        "kpictl API, loaded project": lambda: loaded.run(grain="month"),
        "kpictl SQL": sql_only,
        "hand SQL": lambda: hand_values(folder),
    }
    processes = {"kpictl CLI": cli, "hand SQL process": hand_process}
    walls: dict[str, list[float]] = {name: [] for name in [*in_process, *processes]}
    peaks: dict[str, list[float]] = {name: [] for name in processes}
    for job in in_process.values() if runs > 1 else ():  # warm-up: imports, template cache, file cache
        job()
    for i in range(runs):
        names = list(in_process)
        for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate who goes first
            started = time.perf_counter()
            in_process[name]()
            walls[name].append(time.perf_counter() - started)
        names = list(processes)
        for name in names[i % 2 :] + names[: i % 2]:
            wall, peak, _ = timed_process(processes[name], env, cwd=folder)
            walls[name].append(wall)
            peaks[name].append(peak)
    kpis = len({k for k, _ in expected})
    return {
        "scale": scale,
        "folder": str(folder),
        "rows": sum(data.rows(folder).values()),
        "kpis": kpis,
        "values": len(expected),
        "problems": [],
        "walls": walls,
        "peaks": {name: max(values) for name, values in peaks.items()},
    }


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (what bench/README.md shows)."""
    lines = [
        "| scale | rows | side | median s | min-max s | peak RSS MB | ratio to hand |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    against = {
        "kpictl API": "hand SQL",
        "kpictl API, loaded project": "hand SQL",
        "kpictl SQL": "hand SQL",
        "kpictl CLI": "hand SQL process",
    }
    for result in results:
        if result["problems"]:
            continue
        walls = result["walls"]
        for name, values in walls.items():
            median = statistics.median(values)
            ratio = f"**{median / statistics.median(walls[against[name]]):.2f}**" if name in against else ""
            peak = result["peaks"].get(name)
            lines.append(
                f"| {result['scale']:g} | {result['rows']:,} | {name} | {median:.3f} | "
                f"{min(values):.3f}-{max(values):.3f} | {f'{peak:.0f}' if peak else ''} | {ratio} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument(
        "--scale",
        type=data.scale_option,
        nargs="+",
        default=list(data.SCALES),
        help="millions of orders (default: 1 10 100)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side (default: 5)")
    parser.add_argument("--cache", type=Path, default=None, help="data cache folder (see bench/data.py)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--check", action="store_true", help=f"exit 2 when a ratio at scale >= 10 is over {GOAL}")
    args = parser.parse_args(argv)
    results = []
    for scale in args.scale:
        result = measure(scale, args.runs, args.cache)
        results.append(result)
        for problem in result["problems"][:20]:
            print(f"scale {scale:g}: {problem}", file=sys.stderr)
        if len(result["problems"]) > 20:
            print(f"scale {scale:g}: … and {len(result['problems']) - 20} more differences", file=sys.stderr)
        if not result["problems"]:
            print(
                f"scale {scale:g}: {result['kpis']} KPIs, {result['values']} values equal to the hand-written "
                f"SQL (rel. tol. {REL_TOL:g}); {args.runs} runs per side",
                file=sys.stderr,
            )
    print(
        f"DuckDB {duckdb.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"runs per side: {args.runs}"
    )
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    if any(r["problems"] for r in results):
        return 1
    over = [
        r
        for r in results
        if r["scale"] >= 10
        for name, hand in (("kpictl API", "hand SQL"), ("kpictl CLI", "hand SQL process"))
        if statistics.median(r["walls"][name]) / statistics.median(r["walls"][hand]) > GOAL
    ]
    return 2 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
