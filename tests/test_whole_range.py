"""``--grain all``: one value per KPI and breakdown over the whole range (issue 15, point 1).

Counted by hand on twelve visits: six in July (two converted), three in August (all converted),
one in September, one in June and one in October outside the range; visitor v1 comes in July
and August. A ratio over the range is recomputed on its rows (not the mean of monthly ratios),
a distinct count counts v1 once, and a target is judged only over a range that is its period.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpictl import Project
from kpictl.cli import cli

VISITS = """\
d,channel,visitor,converted,amount
2025-06-30,web,v9,true,1000
2025-07-01,web,v1,true,10
2025-07-02,web,v2,false,0
2025-07-03,web,v3,false,0
2025-07-04,shop,v4,true,20
2025-07-05,shop,v5,false,0
2025-07-31,shop,v6,false,0
2025-08-01,web,v1,true,40
2025-08-15,web,v7,true,80
2025-08-31,shop,v8,true,160
2025-09-30,web,v10,false,0
2025-10-01,web,v11,true,2000
"""

KPIS = """\
kpis:
  - name: conversion
    source: visits
    formula: count(*) filter (where converted) / count(*)
    target: {min: 0.5}
  - {name: visitors, source: visits, formula: count(distinct visitor)}
  - name: revenue
    source: visits
    formula: sum(amount)
    dimensions: [channel]
    target: {min: 300, period: quarter, per: {channel: {web: {min: 100}}}}
  - {name: growth, formula: "revenue / prior(revenue) - 1"}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "kpictl.yml").write_text("name: t\nsources:\n  visits: {path: visits.csv, time: d}\n")
    (tmp_path / "visits.csv").write_text(VISITS)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "a.yml").write_text(KPIS)
    return tmp_path


Q3 = {"start": dt.date(2025, 7, 1), "end": dt.date(2025, 9, 30)}


def test_one_value_per_kpi_and_breakdown_over_the_range(root: Path) -> None:
    rows = Project.load(root).run(["conversion", "visitors", "revenue"], grain="all", **Q3)
    got = {r.kpi: r.value for r in rows}
    # 5 of 10 visits converted (July 2/6, August 3/3, September 0/1): not the mean of 1/3, 1, 0
    assert got == {"conversion": 5 / 10, "visitors": 9, "revenue": 10 + 20 + 40 + 80 + 160}  # v1 once
    assert {(r.period, r.through) for r in rows} == {(dt.date(2025, 7, 1), dt.date(2025, 9, 30))}
    by = Project.load(root).run(["conversion", "visitors"], grain="all", by=["channel"], **Q3)
    assert {(r.kpi, r.dims["channel"]): r.value for r in by} == {
        ("conversion", "web"): 3 / 6,
        ("conversion", "shop"): 2 / 4,
        ("visitors", "web"): 5,  # v1, v2, v3, v7, v10
        ("visitors", "shop"): 4,
    }


def test_a_target_is_judged_over_a_range_that_is_its_period(root: Path) -> None:
    project = Project.load(root)
    q3 = {r.kpi: r for r in project.run(["conversion", "revenue"], grain="all", **Q3)}
    assert q3["revenue"].status == "achieved"  # 310 >= 300 for the quarter
    assert q3["conversion"].status == "achieved"  # a level holds over any range: 0.5 >= 0.5
    summer = {
        r.kpi: r
        for r in project.run(["conversion", "revenue"], grain="all", start=Q3["start"], end=dt.date(2025, 8, 31))
    }
    assert summer["revenue"].status == "no_target"
    assert (
        summer["revenue"].judgement.note == "its target is meant for one quarter; 2025-07-01 to 2025-08-31 is not one"
    )
    assert summer["conversion"].status == "achieved"  # 5 of 9
    by = {r.dims["channel"]: r for r in project.run(["revenue"], grain="all", by=["channel"], **Q3)}
    assert (by["web"].value, by["web"].status) == (130, "achieved")  # its per override: >= 100
    assert by["shop"].status == "no_target"  # a part of a size has no bound of its own


def test_without_a_range_it_is_the_whole_data(root: Path) -> None:
    (row,) = Project.load(root).run(["revenue"], grain="all")
    assert (row.period, row.through, row.value) == (dt.date(2025, 6, 30), dt.date(2025, 10, 1), 3310)


def test_a_window_is_refused(root: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(root), "run", "growth", "--grain", "all"], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    column = KPIS.splitlines()[11].index("revenue /") + 1  # at the formula
    assert result.stderr.startswith(
        f"metrics/a.yml:12:{column}: prior(revenue): --grain all is one period, the whole range:"
        " it has no earlier period and no window"
    ), result.stderr


def test_the_table_names_the_range_and_why_a_target_was_not_judged(root: Path) -> None:
    args = ["run", "conversion", "revenue", "--grain", "all", "--from", "2025-07-01", "--to", "2025-08-31"]
    result = CliRunner().invoke(cli, ["--project", str(root), *args], env={"NO_COLOR": "1", "COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "2025-07-01..2025-08-31" in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[-1] == (
        "· revenue: not judged, its target is meant for one quarter; 2025-07-01 to 2025-08-31 is not one"
    )
    csv = CliRunner().invoke(cli, ["--project", str(root), *args, "--format", "csv"], env={"NO_COLOR": "1"})
    assert csv.stdout.splitlines()[1].startswith("conversion,2025-07-01,0.5555555555555556,achieved")
