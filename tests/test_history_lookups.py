"""Lookups that depend on the fact row's time (issue 14, points 4 and 5).

A history (SCD type 2: ``valid_from``/``valid_to``) joins the version valid at each fact row's
time; a dated snapshot (``date``) the row of its day. Counted by hand on rows with the hard
cases: a key with two versions over time, a version starting mid-month, a fact before a key's
first version, a key missing from the lookup, a NULL key, the end of a version (not included).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from helpers import invoke, write

from kpictl import Project

HISTORY = {
    "kpictl.yml": (
        "name: t\nsources:\n"
        "  orders:\n    path: orders.csv\n    time: d\n"
        "    lookups: [{source: plans, on: customer_id, valid_from: valid_from, valid_to: valid_to}]\n"
        "  plans: {path: plans.csv}\n"
    ),
    "plans.csv": (
        "customer_id,plan,valid_from,valid_to\n"
        "c1,basic,,2025-01-15\n"  # basic since always, until Jan 15 (not included)
        "c1,pro,2025-01-15,\n"  # pro from mid-January on
        "c2,basic,2025-01-10,2025-02-01\n"
        "c2,pro,2025-02-01,\n"
    ),
    "orders.csv": (
        "d,customer_id,amount,shipped\n"
        "2025-01-05,c1,10,2025-01-06\n"  # basic
        "2025-01-14,c1,20,2025-01-16\n"  # basic (pro when shipped)
        "2025-01-15,c1,40,2025-01-16\n"  # pro: the day its version starts
        "2025-02-03,c1,80,2025-02-04\n"  # pro
        "2025-01-05,c2,160,2025-01-11\n"  # before c2's first version: no plan (basic when shipped)
        "2025-01-20,c2,320,2025-01-21\n"  # basic
        "2025-02-01,c2,640,2025-02-02\n"  # pro: the day basic ends
        "2025-01-07,c3,1280,2025-01-08\n"  # no such customer
        "2025-01-08,,2560,2025-01-09\n"  # no customer
    ),
    "metrics/a.yml": "kpis:\n  - {name: revenue, source: orders, formula: sum(amount)}\n",
}


def values(project: Project, dim: str) -> dict[tuple[str, object], float | None]:
    return {(r.period.isoformat(), r.dims[dim]): r.value for r in project.run(["revenue"], by=[dim])}


def test_each_fact_row_joins_the_version_valid_at_its_time(tmp_path: Path) -> None:
    assert values(Project.load(write(tmp_path, HISTORY)), "plan") == {
        ("2025-01-01", "basic"): 10 + 20 + 320,
        ("2025-01-01", "pro"): 40,
        ("2025-01-01", None): 160 + 1280 + 2560,
        ("2025-02-01", "pro"): 80 + 640,
        ("2025-02-01", "basic"): 0,  # every breakdown of the run has each period: no rows sum to 0
        ("2025-02-01", None): 0,
    }


def test_a_lookup_may_pick_the_version_by_another_time(tmp_path: Path) -> None:
    yml = HISTORY["kpictl.yml"].replace("valid_to: valid_to}", "valid_to: valid_to, time: shipped}")
    assert values(Project.load(write(tmp_path, {**HISTORY, "kpictl.yml": yml})), "plan") == {
        ("2025-01-01", "basic"): 10 + 160 + 320,  # periods still follow the order date
        ("2025-01-01", "pro"): 20 + 40,
        ("2025-01-01", None): 1280 + 2560,
        ("2025-02-01", "pro"): 80 + 640,
        ("2025-02-01", "basic"): 0,
        ("2025-02-01", None): 0,
    }


def test_values_equal_hand_written_sql(tmp_path: Path) -> None:
    root = write(tmp_path, HISTORY)
    hand = (
        duckdb.connect()
        .execute(
            f"""
        SELECT date_trunc('month', o.d)::DATE::VARCHAR, p.plan, sum(o.amount)
        FROM read_csv('{root}/orders.csv') o
        LEFT JOIN read_csv('{root}/plans.csv') p ON p.customer_id = o.customer_id
          AND (p.valid_from IS NULL OR p.valid_from <= o.d) AND (p.valid_to IS NULL OR o.d < p.valid_to)
        GROUP BY ALL
        """
        )
        .fetchall()
    )
    got = values(Project.load(root), "plan")
    assert {k: v for k, v in got.items() if v} == {(month, plan): total for month, plan, total in hand}


def test_overlapping_versions_are_a_data_error_naming_the_key(tmp_path: Path) -> None:
    root = write(tmp_path, {**HISTORY, "plans.csv": HISTORY["plans.csv"] + "c1,premium,2025-01-20,\n"})
    result = invoke(root, "run", "--by", "plan")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == (
        "kpictl.yml:6:15: versions overlap in history 'plans': 1 key(s) of 'customer_id' have two versions valid"
        " at once, or one that ends before it starts ('c1'); joining 'orders' to it would count rows several times"
        " (end each version (valid_to) on or before the start of the next one (valid_from))"
    )
    assert result.stdout == ""


def test_a_version_that_ends_before_it_starts_is_refused(tmp_path: Path) -> None:
    root = write(tmp_path, {**HISTORY, "plans.csv": HISTORY["plans.csv"] + "c7,basic,2025-03-01,2025-02-01\n"})
    result = invoke(root, "run", "--by", "plan")
    assert result.exit_code == 3
    assert "('c7')" in result.stderr.splitlines()[0]


def test_a_history_needs_both_ends(tmp_path: Path) -> None:
    yml = HISTORY["kpictl.yml"].replace(", valid_to: valid_to", "")
    result = invoke(write(tmp_path, {**HISTORY, "kpictl.yml": yml}), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "kpictl.yml:6:15: lookup of 'plans' in 'orders' has valid_from but no valid_to"
        " (add valid_to: the column where each version ends)",
        "1 problem found",
    ]


def test_a_history_column_that_is_not_a_date_is_located(tmp_path: Path) -> None:
    yml = HISTORY["kpictl.yml"].replace("valid_from: valid_from", "valid_from: plan")
    result = invoke(write(tmp_path, {**HISTORY, "kpictl.yml": yml}), "validate")
    assert result.exit_code == 0  # text may hold dates: read as such at run time
    yml = HISTORY["kpictl.yml"].replace("valid_to: valid_to}", "valid_to: valid_to, time: amount}")
    result = invoke(write(tmp_path, {**HISTORY, "kpictl.yml": yml}), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "kpictl.yml:6:15: time column 'amount' of the lookup of 'plans' in 'orders' is BIGINT, not a date"
        " (rows are put in periods by date: use a DATE or TIMESTAMP column, or text like '2025-01-31')"
    )


SNAPSHOT = {
    "kpictl.yml": (
        "name: t\nsources:\n"
        "  sales:\n    path: sales.csv\n    time: at\n"
        "    lookups: [{source: products_daily, on: product_id, date: day}]\n"
        "  products_daily: {path: products_daily.csv}\n"
    ),
    # p1 moved from toys to games on Jan 3; there is no snapshot of Jan 4
    "products_daily.csv": (
        "product_id,day,category\np1,2025-01-02,toys\np1,2025-01-03,games\np2,2025-01-02,toys\np2,2025-01-03,toys\n"
    ),
    "sales.csv": (
        "at,product_id,qty\n"
        "2025-01-02 09:00:00,p1,1\n"  # toys
        "2025-01-03 23:30:00,p1,2\n"  # games: the snapshot of its day
        "2025-01-03 08:00:00,p2,4\n"  # toys
        "2025-01-04 10:00:00,p1,8\n"  # no snapshot that day
        "2025-01-02 11:00:00,p9,16\n"  # no such product
    ),
    "metrics/a.yml": "kpis:\n  - {name: units, source: sales, formula: sum(qty), grain: day}\n",
}


def test_a_snapshot_joins_the_row_of_the_fact_row_day(tmp_path: Path) -> None:
    rows = Project.load(write(tmp_path, SNAPSHOT)).run(["units"], by=["category"])
    assert len(rows) == 3 * 3  # each day by each category (games, toys, none): 0 where no rows
    assert {(r.period.isoformat(), r.dims["category"]): r.value for r in rows if r.value} == {
        ("2025-01-02", "toys"): 1,
        ("2025-01-02", None): 16,
        ("2025-01-03", "games"): 2,
        ("2025-01-03", "toys"): 4,
        ("2025-01-04", None): 8,
    }


def test_a_snapshot_is_unique_per_key_and_day(tmp_path: Path) -> None:
    files = {**SNAPSHOT, "products_daily.csv": SNAPSHOT["products_daily.csv"] + "p1,2025-01-03,toys\n"}
    result = invoke(write(tmp_path, files), "run", "--by", "category")
    assert result.exit_code == 3
    assert "lookup key 'product_id' is not unique in 'products_daily': 1 value(s) appear more than once" in (
        result.stderr
    )
    assert "('p1, 2025-01-03')" in result.stderr
