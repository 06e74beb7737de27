"""Periods whose rolling window is not full are flagged (issue 20, point 5): a rolling 3-month
total in the data's first two months adds up one and two months, a ramp, not a rise.

The data's first month is January 2025 (its first row on the 15th); a window of n periods is
full from the (n-1)-th period after it, whatever --from shows, counted here by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kpictl import Project
from kpictl.cli import cli

FILES = {
    "kpictl.yml": "name: t\nsources:\n  orders: {path: orders.csv, time: d}\n",
    # one order a month, Jan 15 to May 31 (the file ends on a month's last day: May is complete)
    "orders.csv": "d,amount\n2025-01-15,10\n2025-02-10,20\n2025-03-10,30\n2025-04-10,40\n2025-05-31,50\n",
    "metrics/a.yml": (
        "kpis:\n"
        "  - {name: revenue, source: orders, formula: sum(amount)}\n"
        "  - {name: revenue_3m, formula: 'rolling(revenue, 3)'}\n"
        "  - {name: share_of_3m, formula: revenue / revenue_3m}\n"
        "  - {name: revenue_2m, formula: 'rolling(revenue, 2)'}\n"
        "  - {name: growth, formula: revenue / prior(revenue) - 1}\n"
    ),
}


def project(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_rows_before_a_full_window_are_flagged(tmp_path: Path) -> None:
    rows = Project.load(project(tmp_path)).run()
    flagged = {(r.kpi, r.period.month): r.partial_window for r in rows}
    # revenue and growth read no window (prior's first value is NULL, not partial); revenue_3m
    # (and share_of_3m, through it) is full from March, revenue_2m from February
    assert [m for (k, m), p in flagged.items() if k == "revenue" and p] == []
    assert [m for (k, m), p in flagged.items() if k == "growth" and p] == []
    assert [m for (k, m), p in flagged.items() if k == "revenue_3m" and p] == [1, 2]
    assert [m for (k, m), p in flagged.items() if k == "share_of_3m" and p] == [1, 2]
    assert [m for (k, m), p in flagged.items() if k == "revenue_2m" and p] == [1]
    values = {(r.kpi, r.period.month): r.value for r in rows}
    assert [values[("revenue_3m", m)] for m in range(1, 6)] == [10, 30, 60, 90, 120]


def test_the_flag_does_not_depend_on_the_range_and_is_a_column(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = CliRunner().invoke(
        cli, ["--project", str(root), "run", "revenue_3m", "--from", "2025-02-01", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    got = [(r["period"], r["value"], r["partial_window"]) for r in json.loads(result.stdout)["rows"]]
    assert got == [
        ("2025-02-01", 30, True),
        ("2025-03-01", 60, False),
        ("2025-04-01", 90, False),
        ("2025-05-01", 120, False),
    ]


def test_the_dashboard_draws_them_hollow_and_says_why(tmp_path: Path) -> None:
    root = project(tmp_path)
    out = root / "report.html"
    result = CliRunner().invoke(cli, ["--project", str(root), "report", "revenue_3m", "revenue", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count('class="p h"') == 2  # January and February of revenue_3m only
    assert page.count("Hollow points: the rolling window is not full yet") == 1
