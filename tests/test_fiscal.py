"""Fiscal years (README, "Fiscal years"): docs/examples/fiscal counted by hand, in plain Python and
by hand-written SQL of another shape, never by kpictl's own SQL.

The orders straddle two fiscal year ends (March 31, 2024 and 2025), leave a quarter empty
(July–September 2024), have NULL amounts (June 2024 has only one: its sum is NULL), a NULL
region, and stop on April 15, 2025 (the last quarter and year are incomplete). The same data
with a year from February 1 cuts quarters that are not the calendar's (February–April…).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from kpictl import Project
from kpictl.judge import completeness, targets
from kpictl.model import Row
from kpictl.report import i18n
from kpictl.report.table import period_label

D = dt.date
EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "fiscal"


def orders() -> list[tuple[dt.date, str | None, float | None]]:
    with (EXAMPLE / "data" / "orders.csv").open() as f:
        return [
            (D.fromisoformat(r["order_date"]), r["region"] or None, float(r["amount"]) if r["amount"] else None)
            for r in csv.DictReader(f)
        ]


def first_day(day: dt.date, grain: str, year_start: int) -> dt.date:
    """The fiscal period of ``day``, walked back a month at a time to a month that starts one."""
    if grain == "month":
        return day.replace(day=1)
    step = {"quarter": 3, "year": 12}[grain]
    year, month = day.year, day.month
    while (month - year_start) % step:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return D(year, month, 1)


def spine(first: dt.date, last: dt.date, grain: str, year_start: int) -> list[dt.date]:
    days, day = [], first
    while day <= last:
        days.append(day)
        day = first_day(
            day + dt.timedelta(days=370 if grain == "year" else 95 if grain == "quarter" else 32), grain, year_start
        )
    return days


def total(amounts: Iterable[float | None]) -> float | None:
    """SQL's sum: 0 over no rows (the spine), NULL over rows that are all NULL."""
    found = list(amounts)
    known = [a for a in found if a is not None]
    return (sum(known) if known else None) if found else 0.0


def by_hand(grain: str, year_start: int = 4, region: bool = False) -> dict[Any, float | None]:
    rows = orders()
    periods = spine(
        first_day(rows[0][0], grain, year_start), first_day(rows[-1][0], grain, year_start), grain, year_start
    )
    groups = sorted({r for _, r, _ in rows}, key=str) if region else [None]
    return {
        ((p, g) if region else p): total(
            a for d, r, a in rows if first_day(d, grain, year_start) == p and (not region or r == g)
        )
        for p in periods
        for g in groups
    }


def values(rows: list[Row], kpi: str, dim: str | None = None) -> dict[Any, float | None]:
    return {((r.period, r.dims[dim]) if dim else r.period): r.value for r in rows if r.kpi == kpi}


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(EXAMPLE)


@pytest.fixture(scope="module")
def february(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The example with a year from February 1: quarters February–April, May–July…"""
    folder = tmp_path_factory.mktemp("february")
    shutil.copytree(EXAMPLE, folder, dirs_exist_ok=True)
    text = (folder / "kpictl.yml").read_text().replace("04-01", "02-01")
    (folder / "kpictl.yml").write_text(text)
    return Project.load(folder)


def test_quarters_and_years_start_in_april(project: Project) -> None:
    quarters = values(project.run(["revenue"], grain="quarter"), "revenue")
    assert (
        quarters
        == {
            D(2024, 1, 1): 150.0,  # FY2024-Q4: March 2024
            D(2024, 4, 1): 230.0,  # FY2025-Q1: April 1 and May 20; June 30 has no amount
            D(2024, 7, 1): 0.0,  # FY2025-Q2: no order, a sum of nothing is 0
            D(2024, 10, 1): 90.0,
            D(2025, 1, 1): 15.0,  # January 1 and March 31, 2025
            D(2025, 4, 1): 300.0,  # FY2026-Q1: April 15 has no amount
        }
        == by_hand("quarter")
    )
    years = values(project.run(["revenue", "orders"], grain="year"), "revenue")
    assert years == {D(2023, 4, 1): 150.0, D(2024, 4, 1): 335.0, D(2025, 4, 1): 300.0} == by_hand("year")
    assert values(project.run(["orders"], grain="year"), "orders") == {
        D(2023, 4, 1): 2,
        D(2024, 4, 1): 7,
        D(2025, 4, 1): 2,
    }


def test_months_are_the_calendars_and_a_month_of_null_amounts_is_null(project: Project) -> None:
    months = values(project.run(["revenue"], grain="month"), "revenue")
    assert months[D(2024, 6, 1)] is None and months[D(2024, 7, 1)] == 0.0
    assert months == by_hand("month")


def test_a_breakdown_with_a_null_region_on_a_fiscal_spine(project: Project) -> None:
    rows = project.run(["revenue"], grain="year", by=["region"])
    assert values(rows, "revenue", "region") == by_hand("year", region=True)
    assert values(rows, "revenue", "region")[(D(2025, 4, 1), "EU")] is None  # April 15: no amount
    assert values(rows, "revenue", "region")[(D(2023, 4, 1), None)] == 0.0  # the NULL group, no row in FY2024


def test_the_fiscal_year_equals_hand_written_sql() -> None:
    """Another shape: the fiscal year's first day from the month, a CASE, per region."""
    import duckdb

    hand = (
        duckdb.connect()
        .execute(
            f"""
        SELECT CASE WHEN month(order_date) >= 4 THEN make_date(year(order_date), 4, 1)
                    ELSE make_date(year(order_date) - 1, 4, 1) END AS fy, region, sum(amount)
        FROM read_csv('{EXAMPLE / "data" / "orders.csv"}', types={{'amount': 'DOUBLE', 'region': 'VARCHAR'}})
        GROUP BY ALL
        """
        )
        .fetchall()
    )
    rows = Project.load(EXAMPLE).run(["revenue"], grain="year", by=["region"])
    got = {k: v for k, v in values(rows, "revenue", "region").items() if v != 0.0}  # the spine's zeros: no group
    assert got == {(fy, region): total for fy, region, total in hand}


def test_to_date_runs_from_april_and_is_recomputed_for_distinct_counts(project: Project) -> None:
    rows = project.run(["revenue_ytd", "regions_ytd"], grain="month")
    ytd = values(rows, "revenue_ytd")
    assert ytd[D(2024, 3, 1)] == 150.0  # FY2024: the data starts in March
    assert ytd[D(2024, 4, 1)] == 200.0  # a new year on April 1
    assert ytd[D(2024, 6, 1)] == 230.0  # June's NULL adds nothing
    assert ytd[D(2025, 3, 1)] == 335.0 and ytd[D(2025, 4, 1)] == 300.0
    regions = values(rows, "regions_ytd")
    assert regions[D(2024, 4, 1)] == 1 and regions[D(2024, 5, 1)] == 1 and regions[D(2024, 6, 1)] == 2  # US in June
    assert regions[D(2025, 4, 1)] == 2  # US and EU, both in April 2025


def test_weekly_to_date_follows_the_fiscal_year_of_each_thursday(project: Project) -> None:
    """The week of Monday 2025-03-31 has its Thursday in April: it opens FY2026."""
    ytd = values(project.run(["revenue_ytd"], grain="week"), "revenue_ytd")
    assert ytd[D(2025, 3, 24)] == 330.0  # FY2025 up to March 30: 335 less March 31's 5
    assert ytd[D(2025, 3, 31)] == 305.0  # March 31 (5) and April 1 (300)
    assert ytd[D(2024, 4, 1)] == 200.0  # FY2025's first week starts on its first day, a Monday


def test_prior_year_at_quarter_grain(project: Project) -> None:
    change = values(project.run(["revenue_vs_last_year"], grain="quarter"), "revenue_vs_last_year")
    assert change[D(2025, 1, 1)] == 15.0 - 150.0 and change[D(2025, 4, 1)] == 300.0 - 230.0
    assert change[D(2024, 10, 1)] is None  # a year earlier is before the data: unknown


def test_a_range_start_widens_to_its_fiscal_period_and_windows_read_before_it(project: Project) -> None:
    rows = project.run(["revenue", "revenue_ytd"], grain="year", start=D(2024, 5, 1))
    assert values(rows, "revenue") == {D(2024, 4, 1): 335.0, D(2025, 4, 1): 300.0}
    months = project.run(["revenue_ytd"], grain="month", start=D(2024, 6, 1), end=D(2024, 6, 30))
    assert values(months, "revenue_ytd") == {D(2024, 6, 1): 230.0}  # April and May still count


def test_quarters_from_february(february: Project) -> None:
    quarters = values(february.run(["revenue"], grain="quarter"), "revenue")
    assert quarters == by_hand("quarter", year_start=2)
    assert quarters[D(2024, 2, 1)] == 350.0  # March 15, March 31 and April 1, 2024
    assert quarters[D(2025, 2, 1)] == 305.0  # March 31 and April 1, 2025
    years = values(february.run(["revenue_ytd"], grain="quarter"), "revenue_ytd")
    assert years[D(2024, 11, 1)] == 350.0 + 30.0 + 70.0 + 20.0 + 10.0  # FY2025 = February 2024–January 2025
    assert years[D(2025, 2, 1)] == 305.0


def test_a_fiscal_quarter_is_complete_when_the_data_reaches_its_end(february: Project) -> None:
    rows = february.run(["orders"], grain="quarter")
    assert {r.period: r.complete for r in rows}[D(2025, 2, 1)] is False  # data ends April 15, the quarter April 30
    horizons = {"orders": D(2025, 3, 31)}  # a calendar quarter would be complete here
    one = [Row("orders", D(2025, 2, 1), {}, 1.0)]
    assert completeness.mark(one, horizons, {"orders": "quarter"}, D(2026, 1, 1), year_start=2)[0].complete is False
    assert completeness.mark(one, {"orders": D(2025, 4, 30)}, {"orders": "quarter"}, D(2026, 1, 1), year_start=2)[
        0
    ].complete


def test_a_size_per_fiscal_year_is_scaled_by_the_fiscal_years_days(project: Project) -> None:
    judged = {r.period: r.judgement for r in project.run(["revenue"], grain="quarter")}
    assert judged[D(2024, 4, 1)].min == pytest.approx(400 * 91 / 365)  # April–June 2024 of April 2024–March 2025
    assert judged[D(2024, 1, 1)].min == pytest.approx(400 * 91 / 366)  # Jan–March 2024 of FY2024, with February 29
    assert judged[D(2024, 4, 1)].status == "achieved" and judged[D(2024, 7, 1)].status == "off_track"
    assert judged[D(2025, 4, 1)].status == "no_data"  # incomplete: data through April 15
    whole = project.run(["revenue"], grain="all", start=D(2024, 4, 1), end=D(2025, 3, 31))
    assert (
        whole[0].value == 335.0 and whole[0].judgement.min == 400 and whole[0].status == "off_track"
    )  # one fiscal year
    calendar = project.run(["revenue"], grain="all", start=D(2024, 1, 1), end=D(2024, 12, 31))
    assert calendar[0].status == "no_target"  # a calendar year is not a fiscal year


@pytest.mark.parametrize(
    ("day", "grain", "year_start", "label", "en", "fr"),
    [
        (D(2025, 4, 1), "quarter", 4, "FY2026-Q1", "Q1 FY2026", "T1 ex. 2026"),
        (D(2026, 1, 1), "quarter", 4, "FY2026-Q4", "Q4 FY2026", "T4 ex. 2026"),
        (D(2025, 4, 1), "year", 4, "FY2026", "FY2026", "ex. 2026"),
        (D(2025, 2, 1), "quarter", 2, "FY2026-Q1", "Q1 FY2026", "T1 ex. 2026"),
        (D(2025, 1, 1), "quarter", 2, "FY2025-Q4", "Q4 FY2025", "T4 ex. 2025"),
        (D(2025, 4, 1), "quarter", 1, "2025-Q2", "Q2 2025", "T2 2025"),  # calendar years: no FY
        (D(2025, 4, 1), "month", 4, "2025-04", "Apr 2025", "avr. 2025"),
    ],
)
def test_labels(day: dt.date, grain: str, year_start: int, label: str, en: str, fr: str) -> None:
    assert period_label(day, grain, year_start=year_start) == label
    assert (i18n.format_period(day, grain, "en", year_start), i18n.format_period(day, grain, "fr", year_start)) == (
        en,
        fr,
    )


def test_the_table_names_fiscal_quarters(project: Project) -> None:
    from kpictl.report import render_rows

    text = render_rows(project.run(["revenue"], grain="quarter"), project.kpis, "table", year_start=4)
    assert "FY2025-Q4" in str(text) and "FY2025-Q3" in str(text)
    csv_text = render_rows(project.run(["revenue"], grain="quarter"), project.kpis, "csv", year_start=4)
    assert "revenue,2025-01-01," in str(csv_text)  # machine outputs keep the ISO first day


def test_period_end_of_fiscal_periods() -> None:
    assert targets.period_end(D(2025, 4, 1), "year", 4) == D(2026, 3, 31)
    assert targets.period_end(D(2025, 2, 1), "quarter", 2) == D(2025, 4, 30)
    assert targets.period_end(D(2025, 1, 1), "quarter", 2) == D(2025, 1, 31)  # November–January
    assert targets.period_end(D(9999, 5, 1), "year", 4) == D.max  # would end in 10000


def test_the_dashboard_names_fiscal_periods(project: Project) -> None:
    page = project.report(["revenue"], grain="quarter", lang="fr", generated_at=dt.datetime(2026, 1, 1, 12, 0))
    assert page.period == "T4 ex. 2024 – T4 ex. 2025"  # January–March 2024 to January–March 2025 (April 2025 runs)
    card = next(c for _, cards in page.domains for c in cards if c.name == "revenue")
    assert card.period == "T4 ex. 2025"


def test_a_day_of_year_one_has_no_fiscal_year_before_it() -> None:
    from kpictl.sql import periods

    assert periods.start("year", D(1, 2, 1), 4) == D.min  # FY0001 would start on 0000-04-01
    assert periods.start("year", D(1, 5, 1), 4) == D(1, 4, 1)
