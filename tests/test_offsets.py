"""Offsets and moving windows (issue 15, point 5): prior(k, n, unit), rolling(k, n, unit),
rolling_avg(k, n) and full: true, against the same numbers computed here in plain Python.

The fixture (the README's example, docs/examples/offsets): one sale a day from 2019-01-01 to
2021-03-31 (amount 1 to 7), a second one of 10 every third day, and no sale at all every
eleventh day. It spans 2019 (52 ISO weeks), 2020 (a
leap year with 53 ISO weeks) and the start of 2021.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpictl import Project
from kpictl.cli import cli

FIRST, LAST = dt.date(2019, 1, 1), dt.date(2021, 3, 31)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


def sales_rows() -> list[tuple[dt.date, int]]:
    rows = []
    for day in DAYS:
        n = day.toordinal()
        if n % 11 == 0:
            continue
        rows.append((day, n % 7 + 1))
        if n % 3 == 0:
            rows.append((day, 10))
    return rows


EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "offsets"
KPIS = (EXAMPLE / "metrics" / "sales.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def project() -> Project:
    """The README's example project (docs/examples/offsets), whose rows are those written here."""
    lines = "".join(f"{day},{amount}\n" for day, amount in sales_rows())
    assert (EXAMPLE / "data" / "sales.csv").read_text(encoding="utf-8") == "d,amount\n" + lines
    return Project.load(EXAMPLE)


def period_of(day: dt.date, grain: str) -> dt.date:
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def totals(grain: str) -> tuple[dict[dt.date, float], dict[dt.date, int]]:
    """Sum and count of the sales of every period of the spine (0 where a period has none)."""
    amount: dict[dt.date, float] = defaultdict(float)
    count: dict[dt.date, int] = defaultdict(int)
    sold = [day for day, _ in sales_rows()]
    for day in DAYS:  # the spine: from the first period with sales to the last one
        if period_of(min(sold), grain) <= period_of(day, grain) <= period_of(max(sold), grain):
            amount[period_of(day, grain)] += 0
            count[period_of(day, grain)] += 0
    for day, value in sales_rows():
        amount[period_of(day, grain)] += value
        count[period_of(day, grain)] += 1
    return dict(amount), dict(count)


def values(project: Project, kpi: str, grain: str) -> dict[dt.date, float | None]:
    return {r.period: r.value for r in project.run([kpi], grain=grain)}


def close(got: dict[dt.date, float | None], want: dict[dt.date, float | None]) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert (got[key] is None) == (value is None), key
        if value is not None:
            assert got[key] == pytest.approx(value, rel=1e-12), key


def a_year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # February 29th: the 28th
        return day.replace(year=day.year - 1, day=28)


def test_prior_a_year_at_day_grain_is_the_same_calendar_day(project: Project) -> None:
    amount, _ = totals("day")
    want = {d: amount.get(a_year_earlier(d)) for d in amount}
    close(values(project, "sales_last_year", "day"), want)
    assert want[dt.date(2020, 2, 29)] == amount[dt.date(2019, 2, 28)]


def test_prior_a_year_at_month_and_quarter_grain(project: Project) -> None:
    amount, _ = totals("month")
    close(values(project, "sales_last_year", "month"), {m: amount.get(m.replace(year=m.year - 1)) for m in amount})
    got = values(project, "growth", "month")
    assert got[dt.date(2019, 5, 1)] is None  # no May 2018
    assert got[dt.date(2020, 5, 1)] == pytest.approx(amount[dt.date(2020, 5, 1)] / amount[dt.date(2019, 5, 1)] - 1)


def test_prior_a_year_at_week_grain_is_the_same_iso_week(project: Project) -> None:
    amount, _ = totals("week")
    by_week = {(m.isocalendar()[0], m.isocalendar()[1]): v for m, v in amount.items()}
    want = {m: by_week.get((m.isocalendar()[0] - 1, m.isocalendar()[1])) for m in amount}
    close(values(project, "sales_last_year", "week"), want)
    assert want[dt.date(2020, 12, 28)] is None  # 2020-W53: 2019 has 52 weeks
    assert want[dt.date(2021, 1, 4)] == amount[dt.date(2019, 12, 30)]  # 2021-W01 → 2020-W01, which starts in 2019


def rolling(series: dict[dt.date, float], n: int, full: bool = False) -> dict[dt.date, float | None]:
    keys = sorted(series)
    return {
        k: None if full and i < n - 1 else sum(series[j] for j in keys[max(0, i - n + 1) : i + 1])
        for i, k in enumerate(keys)
    }


def test_rolling_in_days_and_weeks_at_day_grain(project: Project) -> None:
    amount, _ = totals("day")
    close(values(project, "sales_30_days", "day"), rolling(amount, 30))
    close(values(project, "sales_2_weeks", "day"), rolling(amount, 14))


def test_a_full_window_is_null_until_it_has_its_periods(project: Project) -> None:
    amount, _ = totals("month")
    close(values(project, "sales_3", "month"), rolling(amount, 3))
    full = rolling(amount, 3, full=True)
    close(values(project, "sales_3_full", "month"), full)
    assert full[dt.date(2019, 2, 1)] is None and full[dt.date(2019, 3, 1)] is not None


def test_rolling_avg_is_the_mean_of_the_period_values(project: Project) -> None:
    amount, count = totals("month")
    ticket = {m: amount[m] / count[m] for m in amount}
    keys = sorted(ticket)
    want = {
        k: sum(ticket[j] for j in keys[max(0, i - 2) : i + 1]) / len(keys[max(0, i - 2) : i + 1])
        for i, k in enumerate(keys)
    }
    close(values(project, "ticket_avg_3", "month"), want)
    close(values(project, "ticket_avg_3_full", "month"), {k: None if i < 2 else want[k] for i, k in enumerate(keys)})
    # not the ratio of three months' sums: that is rolling(ticket, 3), recomputed on the rows
    march = dt.date(2019, 3, 1)
    pooled = sum(amount[m] for m in keys[:3]) / sum(count[m] for m in keys[:3])
    assert want[march] != pytest.approx(pooled)


@pytest.mark.parametrize(
    ("formula", "grain", "message"),
    [
        ("rolling(sales, 30, day)", "month", "rolling(sales, 30, day): a day is shorter than a month"),
        ("prior(sales, 1, day)", "week", "prior(sales, 1, day): a day is shorter than a week"),
        ("prior(sales, 1, month)", "week", "prior(sales, 1, month): weeks do not line up with months"),
        ("rolling(sales, 1, month)", "day", "rolling(sales, 1, month): a month is not a whole number of days"),
        ("rolling(sales, 1, year)", "week", "rolling(sales, 1, year): weeks do not line up with years"),
    ],
)
def test_a_unit_that_does_not_fit_the_grain_is_located(tmp_path: Path, formula: str, grain: str, message: str) -> None:
    yml = f"name: t\ndefaults: {{grain: {grain}}}\nsources:\n  sales: {{path: sales.csv, time: d}}\n"
    (tmp_path / "kpictl.yml").write_text(yml)
    (tmp_path / "sales.csv").write_text("d,amount\n2025-01-03,1\n")
    (tmp_path / "metrics").mkdir()
    kpis = f'kpis:\n  - {{name: sales, source: sales, formula: sum(amount)}}\n  - {{name: k, formula: "{formula}"}}\n'
    (tmp_path / "metrics" / "a.yml").write_text(kpis)
    column = kpis.splitlines()[2].index(formula) + 1  # at the call
    for command in (["validate"], ["run", "k"]):  # validate says it first, as run would
        result = CliRunner().invoke(cli, ["--project", str(tmp_path), *command], env={"NO_COLOR": "1"})
        assert result.exit_code == 2
        assert result.stderr.startswith(f"metrics/a.yml:3:{column}: {message}"), result.stderr


@pytest.mark.parametrize(
    ("formula", "where", "message"),
    [
        (
            "prior(sales, 1, decade)",
            "decade",
            "the third argument of prior() must be a unit: hour, day, week, month, quarter",
        ),
        ("rolling(sales, 3, full: maybe)", "full", "full takes true or false, not maybe"),
        ("prior(sales, 1, full: true)", "full", "prior() takes no option 'full'"),
        ("rolling(sales, 3, fill: true)", "fill", "rolling() takes no option 'fill'"),
        ("rolling_avg(sales)", "rolling_avg", "rolling_avg() takes 2 to 4 arguments, got 1"),
    ],
)
def test_misused_arguments_are_located(tmp_path: Path, formula: str, where: str, message: str) -> None:
    (tmp_path / "kpictl.yml").write_text("name: t\nsources:\n  sales: {path: sales.csv, time: d}\n")
    (tmp_path / "sales.csv").write_text("d,amount\n2025-01-03,1\n")
    (tmp_path / "metrics").mkdir()
    kpis = f'kpis:\n  - {{name: sales, source: sales, formula: sum(amount)}}\n  - {{name: k, formula: "{formula}"}}\n'
    (tmp_path / "metrics" / "a.yml").write_text(kpis)
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "validate"], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    column = kpis.splitlines()[2].index(where) + 1
    assert result.stderr.startswith(f"metrics/a.yml:3:{column}: {message}"), result.stderr
