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
