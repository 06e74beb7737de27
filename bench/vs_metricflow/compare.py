"""kpictl against dbt MetricFlow on the same KPIs and the same Parquet files: values, time, YAML.

    bash bench/vs_metricflow/setup.sh                 # once: dbt + MetricFlow in their own venv
    python bench/vs_metricflow/compare.py             # scale 1, every KPI, 3 runs of the timings
    python bench/vs_metricflow/compare.py --scale 10 --runs 5
    python bench/vs_metricflow/compare.py --scale 0.01 --kpis 1 --runs 0 --no-by   # the smoke test

The dbt project in ``dbt_project/`` declares the 40 KPIs of metrics/*.yml as MetricFlow
semantic models and metrics over views of the same Parquet files (dbt-duckdb sources with an
``external_location``), so both sides read the very files of bench/data.py with the same
DuckDB version. Each KPI is asked of both, as whole processes, by month and by one of its
dimensions (``mf query --metrics K --group-by metric_time__month[,dim]`` against ``kpictl run K
[--by dim] --format json``), and every value is compared (relative tolerance 1e-9). Then:

- definitions: ``kpictl validate [--no-data]`` against ``mf validate-configs [--skip-dw]``
  (which builds the dbt manifest itself: parse, then semantic checks, then the checks against
  the warehouse), alternating, ``--runs`` times;
- compute: the per-KPI queries above (median per query), and the whole catalog in one query,
  ``kpictl run`` against ``mf query --metrics <all 40> --group-by metric_time__month``;
- YAML: non-blank, non-comment lines each side needs for the same KPIs.

Exit 1 when a value differs for a reason not explained below (see ``explain``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import yaml  # noqa: E402

from bench import data  # noqa: E402
from bench.run_vs_sql import timed_process  # noqa: E402

DBT_PROJECT = HERE / "dbt_project"
VENV = HERE / ".venv"
MF = VENV / "bin" / "mf"
DBT = VENV / "bin" / "dbt"
REL_TOL = 1e-9

# KPI → (kpictl --by, MetricFlow group-by) for the query "by one dimension": the KPI's first
# declared dimension. A lookup column (the customer's region of an order) is a bare `region`
# for kpictl and customer__region for MetricFlow (a join on the `customer` entity). None: no
# dimension both can express (see NOT_BY).
BY: dict[str, tuple[str, str] | None] = {
    "leads": ("channel", "lead__channel"),
    "converted_leads": ("channel", "lead__channel"),
    "visitors": ("channel", "web_session__channel"),
    "conversion_rate": None,
    "paid_lead_share": ("channel", "lead__channel"),
    "leads_per_landing_page": ("landing_page", "lead__landing_page"),
    "cta_click_rate": ("channel", "web_session__channel"),
    "traffic_by_keyword": ("keyword", "web_session__keyword"),
    "negotiation_gap": ("buyer", "purchase_order__buyer"),
    "budget_gap": ("buyer", "purchase_order__buyer"),
    "supplier_nonconformity_rate": ("supplier", "purchase_order__supplier"),
    "off_process_rate": ("buyer", "purchase_order__buyer"),
    "suppliers_per_item": ("item", "purchase_order__item"),
    "urgent_order_share": ("buyer", "purchase_order__buyer"),
    "avg_order_cost": ("buyer", "purchase_order__buyer"),
    "supplier_payment_compliance": ("supplier", "supplier_invoice__supplier"),
    "strategic_calls": ("region", "customer__region"),
    "strategic_emails": ("region", "customer__region"),
    "referrals": ("region", "customer__region"),
    "engagement_rate": ("purpose", "interaction__purpose"),
    "retention_rate": ("region", "customer__region"),
    "churn_rate": ("region", "customer__region"),
    "csat": ("channel", "ticket__channel"),
    "support_requests": ("channel", "ticket__channel"),
    "support_calls": ("region", "customer__region"),
    "support_emails": ("region", "customer__region"),
    "resolution_time": ("channel", "ticket__channel"),
    "resolution_time_p90": ("channel", "ticket__channel"),
    "revenue": ("region", "customer__region"),
    "revenue_direct": ("region", "customer__region"),
    "revenue_cross_sell": ("region", "customer__region"),
    "revenue_renewal": ("region", "customer__region"),
    "revenue_upsell": ("region", "customer__region"),
    "storage_unit_cost": ("warehouse", "warehouse_month__warehouse"),
    "order_processing_time": ("channel", "order__channel"),
    "otif_rate": ("region", "shipment__region"),
    "transport_cost": ("region", "shipment__region"),
    "transport_cost_to_sales": None,
    "on_time_delivery_rate": ("region", "shipment__region"),
    "transport_utilization": ("region", "shipment__region"),
}
# KPIs of the catalog the MetricFlow project does not declare (yet): a stock level and a funnel
# (MetricFlow has non-additive dimensions and conversion metrics; they are not written there).
NOT_IN_METRICFLOW = ("new_customers", "activation_rate", "warehouse_occupancy")
NOT_BY = (
    "conversion_rate and transport_cost_to_sales divide KPIs of two sources. kpictl breaks them down "
    "by a dimension both sources have (channel; region), aggregating each side first. In MetricFlow "
    "the two sides' dimensions are different names (lead__channel and web_session__channel; "
    "shipment__region and customer__region), and a ratio can only be grouped by one that both "
    "reach: it would need a shared channel/region semantic model and entity, which the data has not."
)

Values = dict[tuple[Any, ...], float | None]  # (period, dimension value…) → value


def environment(folder: Path) -> dict[str, str]:
    """Variables for both sides: the dbt project reads the data and database paths from them."""
    return {
        **os.environ,
        "KPICTL_BENCH_DATA": str(folder / "data"),
        "KPICTL_BENCH_MF_DB": str(folder / "metricflow.duckdb"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
        "DBT_PROJECT_DIR": str(DBT_PROJECT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",  # no tracking calls in the timings
        "PYTHONPATH": str(HERE.parent.parent),
        "NO_COLOR": "1",
    }


def kpictl(folder: Path, *args: str) -> list[str]:
    """A kpictl command line on the project of ``folder`` (the checkout's kpictl)."""
    return [sys.executable, "-m", "kpictl", "--project", str(folder), *args]


def mf_query(metrics: Sequence[str], group_by: Sequence[str], out: Path) -> list[str]:
    return [
        str(MF),
        "query",
        "--metrics",
        ",".join(metrics),
        "--group-by",
        ",".join(group_by),
        "--csv",
        str(out),
        "--quiet",
    ]


def kpictl_values(stdout: bytes, by: str | None) -> dict[str, Values]:
    """``kpictl run --format json`` rows → KPI → values."""
    found: dict[str, Values] = {}
    for row in json.loads(stdout)["rows"]:
        key = (dt.date.fromisoformat(row["period"]), *([row[by]] if by else []))
        found.setdefault(row["kpi"], {})[key] = row["value"]
    return found


def mf_values(path: Path, metrics: Sequence[str], by: str | None) -> dict[str, Values]:
    """``mf query --csv`` → KPI → values (MetricFlow writes NULL as an empty field)."""
    found: dict[str, Values] = {m: {} for m in metrics}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            period = dt.datetime.fromisoformat(row["metric_time__month"]).date()
            key = (period, *([row[by] or None] if by else []))
            for metric in metrics:
                found[metric][key] = float(row[metric]) if row[metric] != "" else None
    return found


def explain(ours: Values, theirs: Values, notes: list[str] | None = None) -> tuple[list[str], dict[str, int]]:
    """Disagreements in words, and counts of the explained ones by reason (listed in ``notes``).

    Explained ("spine"): a period (or period and dimension value) that kpictl reports and
    MetricFlow does not, where kpictl's value is 0 or NULL: kpictl fills each source's range
    with a time spine (the README's rules: counts and sums 0, ratios NULL), MetricFlow returns only
    groups that have rows. Explained ("join"): a NULL that MetricFlow reports for a period
    kpictl does not: in a query of several metrics MetricFlow FULL OUTER JOINs them on
    metric_time, so a month where only another metric has rows reads NULL for this one, while
    kpictl keeps each KPI on its own source's range.
    """
    problems, explained = [], {"spine": 0, "join": 0}
    for key in sorted(ours.keys() - theirs.keys(), key=str):
        if ours[key] in (0, None):
            explained["spine"] += 1
            if notes is not None:
                notes.append(f"{key}: kpictl {ours[key]!r}, MetricFlow has no row (time spine)")
        else:
            problems.append(f"{key}: kpictl {ours[key]!r}, MetricFlow has no row")
    for key in sorted(theirs.keys() - ours.keys(), key=str):
        if theirs[key] is None:
            explained["join"] += 1
            if notes is not None:
                notes.append(f"{key}: MetricFlow NULL, kpictl has no row (metrics joined on metric_time)")
        else:
            problems.append(f"{key}: MetricFlow {theirs[key]!r}, kpictl has no row")
    for key in sorted(ours.keys() & theirs.keys(), key=str):
        a, b = ours[key], theirs[key]
        if (a is None) != (b is None) or (a is not None and b is not None and not math.isclose(a, b, rel_tol=REL_TOL)):
            problems.append(f"{key}: kpictl {a!r}, MetricFlow {b!r}")
    return problems, explained


def yaml_lines(paths: Sequence[Path]) -> int:
    """Non-blank lines that are not comments."""
    return sum(
        1
        for path in paths
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith(("#", "--"))
    )


def minimal_catalog(root: Path, names: Sequence[str]) -> str:
    """The KPIs as kpictl needs them to compute (no label, description, target, tests), plus the
    sources of kpictl.yml: the fair counterpart of the MetricFlow YAML, which computes only."""
    config = yaml.safe_load((root / "kpictl.yml").read_text())
    sources = {
        name: {k: v for k, v in source.items() if k in ("path", "key", "time", "lookups")}
        for name, source in config["sources"].items()
    }
    kpis = []
    for file in sorted((root / "metrics").glob("*.yml")):
        for kpi in yaml.safe_load(file.read_text())["kpis"]:
            if kpi["name"] in names:
                kpis.append(
                    {k: v for k, v in kpi.items() if k in ("name", "source", "filter", "formula", "dimensions", "time")}
                )
    text = io.StringIO()
    yaml.safe_dump({"name": config["name"], "metrics": ["metrics"], "sources": sources}, text, sort_keys=False)
    yaml.safe_dump({"kpis": kpis}, text, sort_keys=False, default_flow_style=None, width=120)
    return text.getvalue()


def set_up(folder: Path) -> bool:
    """True when the manifest and this scale's database are newer than every dbt project file."""
    made = [DBT_PROJECT / "target" / "semantic_manifest.json", folder / "metricflow.duckdb"]
    if not all(path.exists() for path in made):
        return False
    sources = [p for p in DBT_PROJECT.rglob("*") if p.suffix in (".yml", ".sql") and "target" not in p.parts]
    return min(p.stat().st_mtime for p in made) > max(p.stat().st_mtime for p in sources)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    wall, _, stdout = timed_process(argv, env, cwd=DBT_PROJECT)
    return wall, stdout


def summary(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument("--scale", type=data.scale_option, default=1.0, help="data scale (default: 1)")
    parser.add_argument("--kpis", type=int, default=None, help="only the first N KPIs (default: all)")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of the definition and whole-catalog timings (0: skip them)"
    )
    parser.add_argument("--verbose", action="store_true", help="also list every explained difference")
    parser.add_argument("--no-by", action="store_true", help="only by month (no query by a dimension)")
    parser.add_argument("--force-setup", action="store_true", help="run dbt parse and dbt run even when up to date")
    parser.add_argument("--cache", type=Path, default=None, help="data cache folder (see bench/data.py)")
    args = parser.parse_args(argv)
    if not MF.exists():
        print(f"MetricFlow is not installed: run bash {HERE / 'setup.sh'}", file=sys.stderr)
        return 0

    with tempfile.TemporaryDirectory(prefix="kpictl-vs-mf-") as scratch:
        return run_comparison(args, Path(scratch))


def run_comparison(args: argparse.Namespace, tmp: Path) -> int:
    """Everything after the argument parsing; ``tmp`` holds MetricFlow's CSV files."""
    folder = data.prepare(args.scale, args.cache)
    env = environment(folder)
    names = list(BY)[: args.kpis]

    # dbt: the manifest (semantic_manifest.json) and the views over the Parquet files, made
    # again only when a file of the dbt project changed (they are not part of any timing).
    if args.force_setup or not set_up(folder):
        setup = {step: timed([str(DBT), step], env)[0] for step in ("parse", "run")}
        print(f"dbt setup: parse {setup['parse']:.2f} s, run (views + time spine) {setup['run']:.2f} s")

    # Agreement, and the time of each query as a process.
    problems: list[str] = []
    explained = {"spine": 0, "join": 0}
    explained_rows: list[str] = []
    compared = 0
    per_query: dict[str, list[float]] = {"kpictl": [], "MetricFlow": []}
    for i, name in enumerate(names):
        for by in [None, *([BY[name]] if BY[name] and not args.no_by else [])]:
            ours_by, mf_by = by if by else (None, None)
            out = tmp / f"{name}.csv"
            jobs = {
                "kpictl": kpictl(folder, "run", name, "--format", "json", *(["--by", ours_by] if ours_by else [])),
                "MetricFlow": mf_query([name], ["metric_time__month", *([mf_by] if mf_by else [])], out),
            }
            outputs = {}
            for side in list(jobs)[i % 2 :] + list(jobs)[: i % 2]:  # alternate who goes first
                wall, outputs[side] = timed(jobs[side], env)
                per_query[side].append(wall)
            ours = kpictl_values(outputs["kpictl"], ours_by).get(name, {})
            theirs = mf_values(out, [name], mf_by)[name]
            notes: list[str] = []
            found, why = explain(ours, theirs, notes)
            compared += len(ours.keys() & theirs.keys())
            explained = {reason: count + why[reason] for reason, count in explained.items()}
            what = f"{name} by {ours_by}" if ours_by else name
            problems += [f"{what}: {p}" for p in found]
            explained_rows += [f"{what}: {note}" for note in notes]

    # Definitions and the whole catalog, alternating.
    everything = tmp / "all.csv"
    timings: dict[str, dict[str, list[float]]] = {
        "validate (definitions only)": {"kpictl": [], "MetricFlow": []},
        "validate (definitions + data)": {"kpictl": [], "MetricFlow": []},
        "whole catalog, one query": {"kpictl": [], "MetricFlow": []},
    }
    commands = {
        "validate (definitions only)": {
            "kpictl": kpictl(folder, "validate", "--no-data"),
            "MetricFlow": [str(MF), "validate-configs", "--skip-dw"],
        },
        "validate (definitions + data)": {
            "kpictl": kpictl(folder, "validate"),
            "MetricFlow": [str(MF), "validate-configs"],
        },
        "whole catalog, one query": {
            "kpictl": kpictl(folder, "run", *names, "--format", "json"),
            "MetricFlow": mf_query(names, ["metric_time__month"], everything),
        },
    }
    whole_ours: dict[str, Values] = {}
    for run in range(args.runs):
        for task, sides in commands.items():
            for side in list(sides)[run % 2 :] + list(sides)[: run % 2]:
                wall, stdout = timed(sides[side], env)
                timings[task][side].append(wall)
                if task.startswith("whole") and side == "kpictl":
                    whole_ours = kpictl_values(stdout, None)
    compared_whole, explained_whole = 0, {"spine": 0, "join": 0}
    if args.runs:
        whole_theirs = mf_values(everything, names, None)
        for name in names:
            found, why = explain(whole_ours.get(name, {}), whole_theirs[name])
            compared_whole += len(whole_ours.get(name, {}).keys() & whole_theirs[name].keys())
            explained_whole = {reason: count + why[reason] for reason, count in explained_whole.items()}
            problems += [f"{name} (whole catalog): {p}" for p in found]

    # YAML each side needs for the same KPIs.
    minimal = tmp / "kpictl-minimal.yml"
    minimal.write_text(minimal_catalog(folder, names))
    mf_files = [  # the project as committed: not dbt's target/, logs/ or per-machine .user.yml
        path
        for path in sorted(DBT_PROJECT.rglob("*"))
        if path.suffix in (".yml", ".sql")
        and not any(part.startswith(".") or part in ("target", "logs") for part in path.relative_to(DBT_PROJECT).parts)
    ]
    shipped = [folder / "kpictl.yml", *sorted((folder / "metrics").glob("*.yml"))]

    print(
        f"\nscale {args.scale:g}, {len(names)} KPIs, one query per KPI: {compared} values compared "
        f"(rel. tol. {REL_TOL:g}); {explained['spine']} kpictl rows without a MetricFlow row, all 0 or NULL "
        f"(kpictl's time spine fills empty periods, MetricFlow returns only periods with rows)"
    )
    if args.runs:
        print(
            f"whole catalog in one query: {compared_whole} values compared; {explained_whole['spine']} kpictl "
            f"rows of empty periods as above; {explained_whole['join']} NULL MetricFlow rows for months outside "
            f"the KPI's source range (MetricFlow joins all metrics of a query on metric_time)"
        )
    print(f"by one dimension: every KPI except {', '.join(n for n in names if BY[n] is None) or 'none'}. {NOT_BY}")
    print("\n| task | kpictl | MetricFlow | MetricFlow / kpictl |\n|---|---:|---:|---:|")
    each = "query of one KPI (by month)" if args.no_by else "query of one KPI (by month, then by a dimension)"
    rows = {f"{each}, per query": per_query, **{task: sides for task, sides in timings.items() if args.runs}}
    for task, sides in rows.items():
        ratio = statistics.median(sides["MetricFlow"]) / statistics.median(sides["kpictl"])
        print(f"| {task} | {summary(sides['kpictl'])} | {summary(sides['MetricFlow'])} | **{ratio:.1f}** |")
    print(
        f"| all per-KPI queries, total | {sum(per_query['kpictl']):.1f} s | {sum(per_query['MetricFlow']):.1f} s "
        f"| **{sum(per_query['MetricFlow']) / sum(per_query['kpictl']):.1f}** |"
    )
    print(f"\nlines of definitions (non-blank, non-comment) for these {len(names)} KPIs:")
    print(
        f"  kpictl, computing fields only (name, source, filter, formula, dimensions, time; kpictl.yml sources): "
        f"{yaml_lines([minimal])}"
    )
    print(f"  kpictl, the shipped catalog with labels, descriptions, SMART targets and tests: {yaml_lines(shipped)}")
    print(f"  MetricFlow (dbt project: YAML + staging SQL, all 40 KPIs): {yaml_lines(mf_files)}")
    if args.verbose:
        print("\nexplained differences of the per-KPI queries:")
        for note in explained_rows:
            print(f"  {note}")
    if problems:
        print(f"\n{len(problems)} disagreements:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("\nevery value both sides return agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
