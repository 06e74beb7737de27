"""Calendar tables (README, "Calendar tables"): docs/examples/retail counted by hand and in plain
Python, never by kpictl's own SQL.

A 4-4-5 retail calendar of 26 weeks from Monday 2024-12-30: periods 2025-P01 (28 days), P02 (28),
P03 (35), P04 (28), P05 (28), P06 (35), quarters of 13 weeks. Seven orders: one with a NULL
amount, one with a NULL region, one on the last day of P01 (2025-01-26) and one on the first
of P02 (2025-01-27), none in P03 or P05 (empty periods), the latest on 2025-05-26 (P06 is
still running: incomplete).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kpictl import Project
from kpictl.cli import cli
from kpictl.errors import DataError, KpiError
from kpictl.judge import targets
from kpictl.model import Row
from kpictl.report.table import period_label
from kpictl.sql import calendars

D = dt.date
EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "retail"
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "KPICTL_DEBUG": ""}
#: The retail months by hand: (first day, last day, label).
MONTHS = [
    (D(2024, 12, 30), D(2025, 1, 26), "2025-P01"),
    (D(2025, 1, 27), D(2025, 2, 23), "2025-P02"),
    (D(2025, 2, 24), D(2025, 3, 30), "2025-P03"),
    (D(2025, 3, 31), D(2025, 4, 27), "2025-P04"),
    (D(2025, 4, 28), D(2025, 5, 25), "2025-P05"),
    (D(2025, 5, 26), D(2025, 6, 29), "2025-P06"),
]
STARTS = [first for first, _, _ in MONTHS]


def orders() -> list[tuple[dt.date, float | None, str | None]]:
    with (EXAMPLE / "data" / "orders.csv").open() as f:
        return [
            (D.fromisoformat(r["order_date"]), float(r["amount"]) if r["amount"] else None, r["region"] or None)
            for r in csv.DictReader(f)
        ]


def month_of(day: dt.date) -> dt.date:
    return next(first for first, last, _ in MONTHS if first <= day <= last)


def total(amounts: list[float | None]) -> float | None:
    """SQL's sum: 0 over no rows, NULL over rows that are all NULL."""
    known = [a for a in amounts if a is not None]
    return (sum(known) if known else None) if amounts else 0.0


def values(rows: list[Row], kpi: str, dim: str | None = None) -> dict[Any, float | None]:
    return {((r.period, r.dims[dim]) if dim else r.period): r.value for r in rows if r.kpi == kpi}


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(EXAMPLE)


def copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "retail"))


def test_the_fixture_is_the_calendar_described() -> None:
    with (EXAMPLE / "data" / "retail_calendar.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 26 * 7
    assert [(last - first).days + 1 for first, last, _ in MONTHS] == [28, 28, 35, 28, 28, 35]
    for first, last, label in MONTHS:
        days = [D.fromisoformat(r["day"]) for r in rows if r["retail_month"] == label]
        assert (min(days), max(days), len(days)) == (first, last, (last - first).days + 1)


def test_each_period_in_plain_python_and_by_hand(project: Project) -> None:
    rows = project.run(["revenue", "orders", "regions"])
    by_python = {m: total([a for d, a, _ in orders() if month_of(d) == m]) for m in STARTS}
    assert values(rows, "revenue") == by_python
    assert values(rows, "revenue") == dict(zip(STARTS, [15.0, 10.0, 0.0, 20.0, 0.0, 4.0], strict=True))
    # 10 + NULL + 5 (the 26th, P01's last day) | 7 (the 27th, P02's first) + 3 | empty: 0 | 20 | 0 | 4
    assert values(rows, "orders") == dict(zip(STARTS, [3.0, 2.0, 0.0, 1.0, 0.0, 1.0], strict=True))
    assert values(rows, "regions") == dict(zip(STARTS, [1.0, 2.0, 0.0, 1.0, 0.0, 1.0], strict=True))  # NULL not counted


def test_a_breakdown_keeps_the_null_region_as_its_own_group(project: Project) -> None:
    rows = project.run(["revenue"], by=["region"])
    found = values(rows, "revenue", "region")
    assert {(p, r): v for (p, r), v in found.items() if p == STARTS[0]} == {
        (STARTS[0], "EU"): 10.0,  # 10 + NULL
        (STARTS[0], None): 5.0,
        (STARTS[0], "US"): 0.0,
    }
    assert found[(STARTS[1], "US")] == 7.0 and found[(STARTS[1], "EU")] == 3.0 and found[(STARTS[1], None)] == 0.0
    assert {v for (p, _), v in found.items() if p == STARTS[2]} == {0.0}  # an empty period: every group 0


def test_quarters_of_the_same_table(project: Project) -> None:
    rows = project.run(["revenue", "orders"], grain="retail_quarter")
    assert values(rows, "revenue") == {D(2024, 12, 30): 25.0, D(2025, 3, 31): 24.0}  # 15 + 10 + 0 | 20 + 0 + 4
    assert values(rows, "orders") == {D(2024, 12, 30): 5.0, D(2025, 3, 31): 2.0}


def test_prior_rolling_and_cumulative_count_periods(project: Project) -> None:
    rows = project.run(["revenue_2", "regions_2", "revenue_before", "revenue_total"])
    assert values(rows, "revenue_2") == dict(zip(STARTS, [15.0, 25.0, 10.0, 20.0, 20.0, 4.0], strict=True))
    # distinct regions of each period and the one before: {EU}, {EU, US}, {US, EU}, {EU}, {EU}, {US}
    assert values(rows, "regions_2") == dict(zip(STARTS, [1.0, 2.0, 2.0, 1.0, 1.0, 1.0], strict=True))
    assert values(rows, "revenue_before") == dict(zip(STARTS, [None, 15.0, 10.0, 0.0, 20.0, 0.0], strict=True))
    assert values(rows, "revenue_total") == dict(zip(STARTS, [15.0, 25.0, 25.0, 45.0, 45.0, 49.0], strict=True))
    partial = {r.period for r in rows if r.kpi == "revenue_2" and r.partial_window}
    assert partial == {STARTS[0]}  # the first period's window lacks the period before the data


def test_from_and_to_show_the_periods_starting_in_the_range_with_the_same_values(project: Project) -> None:
    rows = project.run(["revenue", "revenue_2"], start=D(2025, 1, 27), end=D(2025, 3, 31))
    assert values(rows, "revenue") == {D(2025, 1, 27): 10.0, D(2025, 2, 24): 0.0, D(2025, 3, 31): 20.0}
    assert values(rows, "revenue_2")[D(2025, 1, 27)] == 25.0  # reads P01, before the range
    inside = project.run(["revenue"], start=D(2025, 1, 28), end=D(2025, 3, 30))  # P02 starts before: left out
    assert list(values(inside, "revenue")) == [D(2025, 2, 24)]


def test_judged_on_the_calendars_period_ends_with_a_bound_scaled_by_days(project: Project) -> None:
    rows = {r.period: r for r in project.run(["revenue"])}
    for first, last, _ in MONTHS:
        assert targets.period_end(first, "retail_month") == last
    # min 40 per month: a period's share is its days out of the days of the month it starts in
    assert rows[D(2025, 2, 24)].judgement.min == pytest.approx(40 * 35 / 28)  # P03: 35 days of February
    assert rows[D(2025, 1, 27)].judgement.min == pytest.approx(40 * 28 / 31)  # P02: 28 days of January
    assert rows[D(2025, 4, 28)].judgement.min == pytest.approx(40 * 28 / 30)  # P05: 28 days of April
    assert rows[D(2025, 3, 31)].status == "off_track"  # 20 < 36.13


def test_judged_in_pieces_on_threads_by_the_same_calendar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A wide run is judged a few series at a time on threads: each must read the run's calendar
    # (a thread starts without the run's context), whose period ends place each row on its
    # trajectory (baseline 10 on 2024-12-29, min 40 by 2025-06-29).
    from kpictl.judge import bulk

    root = copy(tmp_path)
    (root / "metrics" / "average.yml").write_text(
        "kpis:\n  - name: average\n    source: orders\n    formula: avg(amount)\n    dimensions: [region]\n"
        "    target: {min: 40, by: 2025-06-29, baseline: {value: 10, at: 2024-12-29}}\n"
    )
    whole = Project.load(root).run(["average"], by=["region"], as_of=D(2025, 6, 29))
    monkeypatch.setattr(bulk, "CHUNK", 2)
    pieces = Project.load(root).run(["average"], by=["region"], as_of=D(2025, 6, 29))
    assert pieces == whole
    assert len({str(r.dims["region"]) for r in whole}) > 2  # several series: several pieces
    judged = [r for r in whole if r.status != "no_data"]  # P06 has not ended in the data; a period without orders
    assert len(judged) >= 3
    for row in judged:  # expected: 10 + 30 × (days from the baseline to the period's end) / 182
        last = next(last for first, last, _ in MONTHS if first == row.period)
        assert row.judgement.expected == pytest.approx(10 + 30 * (last - D(2024, 12, 29)).days / 182)


def test_a_period_is_complete_when_the_data_reaches_its_last_day(project: Project) -> None:
    rows = project.run(["revenue"])
    complete = {r.period: r.complete for r in rows}
    # the latest order is on 2025-05-26: P05 (to 05-25) has ended in the data, P06 (to 06-29) has not
    assert complete == {**dict.fromkeys(STARTS[:5], True), STARTS[5]: False}
    assert next(r for r in rows if r.period == STARTS[5]).status == "no_data"


def test_labels_are_the_calendars_in_every_text_output(project: Project) -> None:
    project.run(["revenue"])
    assert [period_label(first, "retail_month") for first in STARTS] == [label for _, _, label in MONTHS]
    result = CliRunner().invoke(cli, ["--project", str(EXAMPLE), "run", "revenue"], env=ENV)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[1:3] == ["2025-P05", "2025-P04"]
    markdown = CliRunner().invoke(cli, ["--project", str(EXAMPLE), "run", "revenue", "--format", "markdown"], env=ENV)
    assert "| 2025-P05 | 2025-P04 |" in markdown.output
    csv_out = CliRunner().invoke(cli, ["--project", str(EXAMPLE), "run", "revenue", "--format", "csv"], env=ENV)
    assert "revenue,2025-02-24,0.0" in csv_out.output  # machine formats: a period is its first day


def test_the_calendars_periods_are_read_as_written(project: Project) -> None:
    project.run(["revenue"])
    found = calendars.loaded("retail_month")
    assert list(zip(found.starts, found.ends, found.labels, strict=True)) == MONTHS


def test_an_unknown_grain_is_refused_with_a_guess(project: Project) -> None:
    result = CliRunner().invoke(cli, ["--project", str(EXAMPLE), "run", "--grain", "retail_mnth"], env=ENV)
    assert result.exit_code == 2
    assert "unknown grain 'retail_mnth' (did you mean 'retail_month'?)" in result.output


def write_orders(root: Path, *lines: str) -> None:
    (root / "data" / "orders.csv").write_text("order_date,amount,region\n" + "".join(f"{line}\n" for line in lines))


def edit_calendar(root: Path, edit: Any) -> None:
    path = root / "data" / "retail_calendar.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def run_error(root: Path) -> KpiError:
    with pytest.raises(DataError) as caught:
        Project.load(root).run(["revenue"])
    return caught.value


def test_a_row_outside_the_calendar_is_a_data_error_naming_its_date(tmp_path: Path) -> None:
    root = copy(tmp_path)
    write_orders(root, "2025-01-02,5,EU", "2025-07-03,1,EU", "2025-07-01,1,EU")
    error = run_error(root)
    assert error.message == "revenue: a row is dated 2025-07-01, outside calendar table 'retail_calendar'"
    assert (error.at.file, error.at.line) == ("metrics/sales.yml", 2)
    write_orders(root, "2024-12-29,5,EU")
    assert "dated 2024-12-29" in run_error(root).message


def test_a_missing_date_in_the_calendar_is_a_data_error(tmp_path: Path) -> None:
    root = copy(tmp_path)
    edit_calendar(root, lambda lines: [line for line in lines if not line.startswith(("2025-02-10", "2025-02-11"))])
    error = run_error(root)
    assert error.message == (
        "calendar table 'retail_calendar': no row for 2025-02-10 (dates missing between 2025-02-09 and 2025-02-12)"
    )
    assert (error.at.file, error.at.line) == ("kpictl.yml", 8)  # calendar: table:


def test_a_period_that_is_not_one_run_of_dates_is_a_data_error(tmp_path: Path) -> None:
    root = copy(tmp_path)
    # 2025-01-10 moved to P02: P01 comes back on the 11th
    edit_calendar(root, lambda lines: [line.replace("2025-01-10,2025-P01", "2025-01-10,2025-P02") for line in lines])
    error = run_error(root)
    assert error.message == (
        "calendar table 'retail_calendar': retail_month period '2025-P01' is not one run of dates: "
        "it starts again on 2025-01-11"
    )


def test_two_rows_for_a_date_and_a_date_without_period_are_data_errors(tmp_path: Path) -> None:
    root = copy(tmp_path)
    edit_calendar(root, lambda lines: [*lines, "2025-03-03,2025-P03,2025-Q1"])
    assert run_error(root).message == "calendar table 'retail_calendar': 2025-03-03 has more than one row"
    shutil.copy(EXAMPLE / "data" / "retail_calendar.csv", root / "data" / "retail_calendar.csv")
    edit_calendar(root, lambda lines: [line.replace("2025-03-03,2025-P03", "2025-03-03,") for line in lines])
    assert run_error(root).message == (
        "calendar table 'retail_calendar': 2025-03-03 has no retail_month period (retail_month is NULL)"
    )


def test_a_calendar_grain_on_spark_is_refused_before_any_data_is_read(tmp_path: Path) -> None:
    root = copy(tmp_path)
    text = (root / "kpictl.yml").read_text()
    (root / "kpictl.yml").write_text(text + 'engine: {name: spark, master: "local[1]"}\n')
    result = CliRunner().invoke(cli, ["--project", str(root), "validate", "--no-data"], env=ENV)
    assert result.exit_code == 2
    assert result.output.startswith(
        "kpictl.yml:8:10: calendar.grains: a calendar table's grains run on DuckDB only, not on Spark"
    )


def test_balances_and_funnels_bucket_by_the_calendar(tmp_path: Path) -> None:
    root = copy(tmp_path)
    data = root / "data"
    (data / "balances.csv").write_text(
        "day,account,balance\n2024-12-30,a,10\n2025-01-20,a,15\n2025-01-27,a,7\n2025-01-27,b,5\n2025-02-20,b,6\n"
    )
    (data / "visits.csv").write_text("t,user\n2025-01-02,u1\n2025-01-25,u2\n2025-02-01,u3\n")
    (data / "signups.csv").write_text("t,user\n2025-01-05,u1\n2025-01-28,u2\n")
    text = (
        (root / "kpictl.yml")
        .read_text()
        .replace(
            "  retail_calendar: {path:",
            "  balances: {path: data/balances.csv, time: day}\n  visits: {path: data/visits.csv, time: t}\n"
            "  signups: {path: data/signups.csv, time: t}\n  retail_calendar: {path:",
        )
    )
    (root / "kpictl.yml").write_text(text)
    (root / "metrics" / "more.yml").write_text(
        "kpis:\n"
        "  - {name: balance, source: balances, formula: sum(balance), snapshot: {per: account}}\n"
        "  - {name: peak, source: balances, formula: sum(balance), snapshot: {per: account, take: max}}\n"
        "  - {name: visits, source: visits, formula: count(*)}\n"
        "  - {name: signups, source: signups, formula: count(*)}\n"
        '  - {name: conv, formula: "conversion(visits, signups, entity: user, within: 7 days)"}\n'
    )
    rows = Project.load(root).run(["balance", "peak", "conv"])
    # each account's last balance of the period: a 15 | a 7 + b 6 (its row of 02-20)
    assert values(rows, "balance") == {STARTS[0]: 15.0, STARTS[1]: 13.0}
    # the highest day total: 12-30 10, 01-20 15 | 01-27 7 + 5 = 12, 02-20 6 (b's only row that day)
    assert values(rows, "peak") == {STARTS[0]: 15.0, STARTS[1]: 12.0}
    # u1 and u2 (01-25, signed up 01-28 in P02) entered in P01 and converted; u3 in P02 did not
    assert values(rows, "conv") == {STARTS[0]: 1.0, STARTS[1]: 0.0}


def test_a_timestamp_falls_in_the_period_of_its_day_in_the_projects_time_zone(tmp_path: Path) -> None:
    root = copy(tmp_path)
    (root / "kpictl.yml").write_text((root / "kpictl.yml").read_text() + "timezone: Europe/Paris\n")
    # 23:30 UTC on P01's last day is 00:30 on 2025-01-27 in Paris: P02's first day
    write_orders(root, "2025-01-26T23:30:00+00:00,5,EU", "2025-01-26T22:30:00+00:00,2,EU")
    rows = Project.load(root).run(["revenue"])
    assert values(rows, "revenue") == {STARTS[0]: 2.0, STARTS[1]: 5.0}


def git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=kpictl tests", "-c", "user.email=tests@kpictl.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


def test_diff_data_pairs_and_labels_the_calendars_periods(tmp_path: Path) -> None:
    root = copy(tmp_path)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    sales = root / "metrics" / "sales.yml"
    sales.write_text(sales.read_text().replace("formula: sum(amount)", "formula: sum(amount) * 2"))
    git(root, "commit", "-qam", "head")
    result = CliRunner().invoke(cli, ["--project", str(root), "diff", "HEAD~1", "HEAD", "--data"], env=ENV)
    assert result.exit_code == 0, result.output
    # revenue doubled in the 4 periods with revenue, each named by the calendar
    assert "values: 4 of 6 periods moved, 1 status changed; largest: 2025-P01 15 → 30 (+100.0%)" in result.output
    assert "2025-P04    20    40     +20   +100.0%  off track → achieved" in result.output


def test_the_dashboard_names_periods_by_the_calendar(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["--project", str(EXAMPLE), "report", "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "2025-P05" in page and "2025-P01" in page  # the latest complete period, the first of the range


def test_grain_all_judges_a_size_over_exactly_one_period_of_its_own_calendar_grain(tmp_path: Path) -> None:
    root = copy(tmp_path)
    sales = root / "metrics" / "sales.yml"
    sales.write_text(sales.read_text().replace("target: {min: 40, period: month}", "target: {min: 40}"))
    project = Project.load(root)
    one = project.run(["revenue"], grain="all", start=D(2025, 1, 27), end=D(2025, 2, 23))  # P02 exactly
    assert [(r.value, r.status, r.judgement.min) for r in one] == [(10.0, "off_track", 40.0)]  # 7 + 3 < 40
    more = project.run(["revenue"], grain="all", start=D(2025, 1, 27), end=D(2025, 2, 24))
    assert more[0].status == "no_target" and "meant for one retail month" in (more[0].judgement.note or "")


def test_a_kpi_of_a_calendar_grain_run_at_a_built_in_one_is_labelled_by_that_grain(tmp_path: Path) -> None:
    root = copy(tmp_path)
    sales = root / "metrics" / "sales.yml"
    sales.write_text(
        sales.read_text().replace("    formula: sum(amount)\n", "    formula: sum(amount)\n    grain: retail_month\n")
    )
    args = ["--project", str(root), "run", "revenue", "--grain", "month", "--from", "2025-04-01", "--to", "2025-04-30"]
    result = CliRunner().invoke(cli, args, env=ENV)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split()[:2] == ["revenue", "20"]  # April: the order of 04-01
    assert result.output.splitlines()[0].split()[1] == "2025-04"


@pytest.mark.parametrize(
    "edit",
    [
        lambda lines: [line for line in lines if not line.startswith("2025-02-10")],  # a gap
        lambda lines: [line.replace("2025-01-10,2025-P01", "2025-01-10,2025-P02") for line in lines],  # split
        lambda lines: [*lines, "2025-03-03,2025-P03,2025-Q1"],  # a date twice
        lambda lines: [line.replace("2025-03-03,2025-P03", "2025-03-03,") for line in lines],  # no label
    ],
)
def test_validate_reports_a_broken_calendar_as_run_does(tmp_path: Path, edit: Any) -> None:
    """What run would refuse in the calendar table, validate says first, in the same words."""
    root = copy(tmp_path)
    assert Project.load(root).validate() == []
    edit_calendar(root, edit)
    raised = run_error(root)
    found = Project.load(root).validate()
    assert [(str(e), e.at.file, e.at.line) for e in found] == [(str(raised), "kpictl.yml", 8)]
