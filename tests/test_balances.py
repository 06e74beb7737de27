"""Balances (issue 15, point 3): ``snapshot: {per: account, take: last|first}``.

Counted by hand on eight snapshots of three accounts: per account only its last (first) row of
each period counts, then the accounts add up; at a coarser grain that is the balance at the end of
the period, never a sum of months. An account without a row in a period is not in its balance.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpictl import Project
from kpictl.cli import cli

SNAPSHOTS = """\
d,account,region,balance
2025-01-05,a1,EU,100
2025-01-20,a1,EU,150
2025-01-10,a2,US,50
2025-02-03,a1,EU,120
2025-02-25,a2,US,70
2025-02-26,a3,EU,10
2025-03-15,a2,US,90
2025-03-31,a3,EU,
"""

KPIS = """\
kpis:
  - {name: balance, source: balances, formula: sum(balance), snapshot: {per: account}, dimensions: [region]}
  - {name: opening, source: balances, formula: sum(balance), snapshot: {per: account, take: first}}
  - {name: accounts, source: balances, formula: count(*), snapshot: {per: [account]}}
  - {name: balance_change, formula: "balance - prior(balance)"}
  - {name: average_balance, formula: "rolling_avg(balance, 3)"}
  - {name: per_account, formula: "balance / accounts"}
"""


EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "balances"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the README's example (docs/examples/balances), whose files are the ones above."""
    assert (EXAMPLE / "data" / "balances.csv").read_text() == SNAPSHOTS
    assert (EXAMPLE / "metrics" / "balances.yml").read_text() == KPIS
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    (tmp_path / "metrics" / "a.yml").write_text(KPIS)
    (tmp_path / "metrics" / "balances.yml").unlink()
    return tmp_path


def values(project: Project, kpi: str, **options: object) -> dict[tuple[object, ...], float | None]:
    return {(r.period.isoformat(), *r.dims.values()): r.value for r in project.run([kpi], **options)}  # type: ignore[arg-type]


def test_the_last_row_of_each_account_then_the_sum(root: Path) -> None:
    project = Project.load(root)
    assert values(project, "balance") == {
        ("2025-01-01",): 150 + 50,  # a1's Jan 20 row, not 100 + 150
        ("2025-02-01",): 120 + 70 + 10,
        ("2025-03-01",): 90,  # a3's last March row has no balance: NULL is not added
    }
    assert values(project, "opening") == {("2025-01-01",): 100 + 50, ("2025-02-01",): 200, ("2025-03-01",): 90}
    assert values(project, "accounts") == {("2025-01-01",): 2, ("2025-02-01",): 3, ("2025-03-01",): 2}


def test_a_coarser_grain_is_the_end_of_the_period_not_a_sum(root: Path) -> None:
    # Q1: a1's last row is Feb 3 (120), a2's Mar 15 (90), a3's Mar 31 (NULL)
    assert values(Project.load(root), "balance", grain="quarter") == {("2025-01-01",): 120 + 90}


def test_breakdowns_prior_and_average_keep_the_meaning(root: Path) -> None:
    project = Project.load(root)
    assert values(project, "balance", by=["region"]) == {
        ("2025-01-01", "EU"): 150,
        ("2025-01-01", "US"): 50,
        ("2025-02-01", "EU"): 130,
        ("2025-02-01", "US"): 70,
        ("2025-03-01", "EU"): None,  # rows reach the sum, their balance is unknown
        ("2025-03-01", "US"): 90,
    }
    assert values(project, "balance_change") == {("2025-01-01",): None, ("2025-02-01",): 0, ("2025-03-01",): -110}
    got = values(project, "average_balance")
    assert got[("2025-03-01",)] == pytest.approx((200 + 200 + 90) / 3)


def test_a_range_only_chooses_the_periods_shown(root: Path) -> None:
    """--from/--to with a balance (the tie check before the query has no range parameter: it
    failed with a binder error), at a calendar grain and over the whole range."""
    project = Project.load(root)
    assert values(project, "balance", start=dt.date(2025, 2, 1)) == {("2025-02-01",): 200, ("2025-03-01",): 90}
    whole = values(project, "balance", grain="all", start=dt.date(2025, 2, 1), end=dt.date(2025, 3, 31))
    assert whole == {("2025-02-01",): 120 + 90}  # each account's last row of the range: a1 Feb 3, a2 Mar 15, a3 NULL


def test_two_rows_of_one_account_at_one_time_are_a_data_error(root: Path) -> None:
    (root / "data" / "balances.csv").write_text(SNAPSHOTS + "2025-02-26,a3,EU,11\n")
    result = CliRunner().invoke(cli, ["--project", str(root), "run", "balance"], env={"NO_COLOR": "1"})
    assert result.exit_code == 3
    assert "balance balance: 1 entity and time pair(s) have several rows ('a3, 2025-02-26')" in result.stderr


@pytest.mark.parametrize(
    ("kpi", "message"),
    [
        (
            "{name: k, source: balances, formula: count(distinct account), snapshot: {per: account}}",
            "count(distinct …)",
        ),
        ("{name: k, source: balances, formula: sum(balance), snapshot: {per: acount}}", "unknown column 'acount'"),
        ("{name: k, formula: balance * 2, snapshot: {per: account}}", "derived KPI 'k' cannot have a snapshot"),
        ('{name: k, formula: "rolling(balance, 3)"}', "rolling(balance, 3): balance is a balance (snapshot:)"),
        ('{name: k, formula: "cumulative(per_account)"}', "cumulative(per_account): accounts is a balance"),
        ("{name: k, source: balances, formula: sum(balance), snapshot: {per: account, take: middle}}", "'middle'"),
    ],
)
def test_misuse_is_located(root: Path, kpi: str, message: str) -> None:
    (root / "metrics" / "a.yml").write_text(KPIS + f"  - {kpi}\n")
    result = CliRunner().invoke(cli, ["--project", str(root), "validate"], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert result.stderr.startswith("metrics/a.yml:8:"), result.stderr
    assert message in result.stderr, result.stderr


# -- judged: a size across entities, a level in time ----------------------------------------------

JUDGED = """\
kpis:
  - name: balance
    source: balances
    formula: sum(balance)
    snapshot: {per: account}
    dimensions: [region]
    target: {min: 100, tolerance: 15, per: {region: {EU: {min: 125}}}}
  - name: quarterly
    source: balances
    formula: sum(balance)
    snapshot: {per: account}
    target: {min: 300, period: quarter, by: 2025-12-31, baseline: {value: 80, at: 2024-12-31}, tolerance: 50}
  - {name: deposits, source: balances, formula: sum(balance), target: {min: 100}}
  - {name: average_balance, formula: "rolling_avg(balance, 3)", target: {min: 150}}
  - {name: balance_change, formula: "balance - prior(balance)", target: {min: 5}}
  - {name: deposits_avg, formula: "rolling_avg(deposits, 3)", target: {min: 150}}
"""


@pytest.fixture
def judged(root: Path) -> Project:
    """The snapshots above with targets: ``deposits`` is the same sum without ``snapshot:``, a flow."""
    (root / "metrics" / "a.yml").write_text(JUDGED)
    return Project.load(root)


def verdicts(project: Project, kpi: str, **options: object) -> dict[tuple[object, ...], tuple[object, ...]]:
    """(period, breakdown…) → (status, min, expected) of ``kpi``'s rows."""
    rows = project.run([kpi], **options)  # type: ignore[arg-type]
    return {
        (r.period.isoformat(), *r.dims.values()): (r.status, r.judgement and r.judgement.min, r.judgement.expected)
        for r in rows
        if r.judgement is not None
    }


def test_a_balance_is_judged_against_its_bound_at_every_grain(judged: Project) -> None:
    """A stock of 100 meant for a month is 100 for a quarter and for a day; a flow's bound is
    scaled by the days of the period (Q1 2025: 90 days, January 31)."""
    assert verdicts(judged, "balance") == {
        ("2025-01-01",): ("achieved", 100, 100),  # 200
        ("2025-02-01",): ("achieved", 100, 100),  # 200
        ("2025-03-01",): ("at_risk", 100, 100),  # 90: 10 short, within the tolerance of 15
    }
    assert verdicts(judged, "balance", grain="quarter") == {("2025-01-01",): ("achieved", 100, 100)}  # 210
    day = verdicts(judged, "balance", grain="day")
    assert day["2025-01-05",] == ("achieved", 100, 100)  # a1's 100
    assert day["2025-01-10",] == ("off_track", 100, 100)  # a2's 50, 50 short: a flow's 100/31 would be met
    flow = verdicts(judged, "deposits", grain="quarter")[("2025-01-01",)]
    assert flow[:2] == ("achieved", pytest.approx(100 * 90 / 31))  # 590
    assert verdicts(judged, "deposits", grain="day")["2025-01-05",][1] == pytest.approx(100 / 31)


def test_a_balance_keeps_its_period_baseline_and_tolerance_as_written(judged: Project) -> None:
    """``period: quarter`` on a balance scales nothing: judged by month, the bound is 300, the
    line runs from 80 (Dec 31, 2024) to 300 (Dec 31, 2025), 220 over 365 days, and the
    tolerance is 50. A flow would have had 300, 80 and 50 times 31/90 in January."""
    by_month = verdicts(judged, "quarterly")
    assert by_month["2025-01-01",] == ("on_track", 300, pytest.approx(80 + 220 * 31 / 365))  # 200
    assert by_month["2025-02-01",] == ("on_track", 300, pytest.approx(80 + 220 * 59 / 365))  # 200
    assert by_month["2025-03-01",] == ("at_risk", 300, pytest.approx(80 + 220 * 90 / 365))  # 90: 44.2 short
    by_quarter = verdicts(judged, "quarterly", grain="quarter")
    assert by_quarter == {("2025-01-01",): ("on_track", 300, pytest.approx(80 + 220 * 90 / 365))}  # 210
    assert judged.bound_periods() == {"quarterly": "quarter", "deposits": "month", "deposits_avg": "month"}


def test_a_region_of_a_balance_is_judged_by_its_override_only(judged: Project) -> None:
    """A balance adds up across accounts, so its bound is the total's: EU by its override (125,
    the tolerance of 15 kept), US has no target, at a month as at a quarter."""
    assert verdicts(judged, "balance", by=["region"]) == {
        ("2025-01-01", "EU"): ("achieved", 125, 125),  # 150
        ("2025-01-01", "US"): ("no_target", None, None),
        ("2025-02-01", "EU"): ("achieved", 125, 125),  # 130
        ("2025-02-01", "US"): ("no_target", None, None),
        ("2025-03-01", "EU"): ("no_data", 125, 125),  # NULL
        ("2025-03-01", "US"): ("no_target", None, None),
    }
    assert verdicts(judged, "balance", grain="quarter", by=["region"]) == {
        ("2025-01-01", "EU"): ("at_risk", 125, 125),  # a1's 120 and a3's NULL: 5 short
        ("2025-01-01", "US"): ("no_target", None, None),
    }


def test_a_derived_kpi_reading_a_balance_is_a_balance(judged: Project) -> None:
    """An average of balances, a change of balance: their values are read at points in time, so
    their bounds are not scaled either; the average of a flow is a flow."""
    assert judged.sizes() == {
        "balance": None,
        "quarterly": None,
        "deposits": "month",
        "average_balance": None,
        "balance_change": None,
        "deposits_avg": "month",
        **dict.fromkeys(["stock", "peak_stock", "low_stock", "peak_change"], None),  # metrics/stock.yml
    }
    assert verdicts(judged, "average_balance", grain="quarter") == {("2025-01-01",): ("achieved", 150, 150)}  # 210
    assert verdicts(judged, "balance_change", grain="quarter") == {("2025-01-01",): ("no_data", 5, 5)}  # no prior
    assert verdicts(judged, "balance_change")["2025-02-01",] == ("off_track", 5, 5)  # 200 - 200
    flow = verdicts(judged, "deposits_avg", grain="quarter")[("2025-01-01",)]
    assert flow[:2] == ("achieved", pytest.approx(150 * 90 / 31))  # 590


def test_a_balance_over_the_whole_range_is_judged_as_a_level(judged: Project) -> None:
    """--grain all: a balance whose target names no period holds over any range (Jan 5 to Mar
    31, the data's); one meant for a quarter is judged over one quarter, unscaled."""
    assert verdicts(judged, "balance", grain="all") == {("2025-01-05",): ("achieved", 100, 100)}  # 210
    assert verdicts(judged, "deposits", grain="all") == {("2025-01-05",): ("no_target", None, None)}  # not a month
    assert verdicts(judged, "quarterly", grain="all") == {("2025-01-05",): ("no_target", None, None)}
    q1 = verdicts(judged, "quarterly", grain="all", start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))
    assert q1 == {("2025-01-01",): ("on_track", 300, pytest.approx(80 + 220 * 90 / 365))}  # 210


def test_an_hour_of_a_balance_is_judged_against_its_bound(root: Path) -> None:
    """A stock of 20 meant for a month is 20 for an hour (a flow's: 20 / 24 of a day's)."""
    (root / "metrics" / "stock.yml").write_text(
        "kpis:\n  - {name: stock, source: stock, formula: sum(qty), snapshot: {per: item}, target: {min: 20}}\n"
    )
    hours = verdicts(Project.load(root), "stock", grain="hour", end=dt.date(2025, 1, 3))
    assert hours["2025-01-02T08:00:00",] == ("achieved", 20, 20)  # a 10 + b 5 + c 9
    assert hours["2025-01-03T08:00:00",] == ("achieved", 20, 20)  # a 4 + b 12 + c 7
    assert hours["2025-01-03T17:00:00",] == ("off_track", 20, 20)  # b 13 alone
