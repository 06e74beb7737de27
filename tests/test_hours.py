"""Hours (README, "Hours"): docs/examples/hourly counted by hand and in plain Python, never by
kpictl's own SQL.

Nine orders in UTC (no daylight saving time): one on December 31 at 23:20 (a day and a year
before the rest), three in the 22:00 hour of January 1 (one with a NULL amount, one at 22:59:59),
then the night across midnight: 00:00:00 sharp, 00:30, an empty 01:00 hour, 02:15, 02:45 with a
NULL channel, and 03:10 with a NULL amount (the latest value: its hour is still running).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kpictl import Project
from kpictl.cli import cli
from kpictl.engine import Latest
from kpictl.judge import completeness, targets
from kpictl.model import Row
from kpictl.report import i18n
from kpictl.report.table import period_label
from kpictl.sql import periods

H = dt.datetime
EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "hourly"
FIRST, LAST = H(2024, 12, 31, 23), H(2025, 1, 2, 3)


def orders() -> list[tuple[dt.datetime, str | None, float | None]]:
    with (EXAMPLE / "data" / "orders.csv").open() as f:
        return [
            (H.fromisoformat(r["ordered_at"]), r["channel"] or None, float(r["amount"]) if r["amount"] else None)
            for r in csv.DictReader(f)
        ]


def hours(first: dt.datetime = FIRST, last: dt.datetime = LAST) -> list[dt.datetime]:
    return [first + dt.timedelta(hours=i) for i in range(int((last - first).total_seconds()) // 3600 + 1)]


def total(amounts: list[float | None]) -> float | None:
    """SQL's sum: 0 over no rows, NULL over rows that are all NULL."""
    known = [a for a in amounts if a is not None]
    return (sum(known) if known else None) if amounts else 0.0


def by_hand(channel: Any = "any") -> dict[dt.datetime, float | None]:
    """Revenue of each hour (of one channel), each order in the hour its time is in."""
    rows = orders()
    return {
        h: total([a for t, c, a in rows if t.replace(minute=0, second=0) == h and channel in ("any", c)])
        for h in hours()
    }


def values(rows: list[Row], kpi: str, dim: str | None = None) -> dict[Any, float | None]:
    return {((r.period, r.dims[dim]) if dim else r.period): r.value for r in rows if r.kpi == kpi}


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(EXAMPLE)


def test_each_hour_of_the_range_in_plain_python_and_by_hand(project: Project) -> None:
    rows = project.run(["revenue", "orders", "channels"])
    assert values(rows, "revenue") == by_hand()
    assert len(by_hand()) == 29  # 23:00 on December 31 to 03:00 on January 2
    night = {h: v for h, v in values(rows, "revenue").items() if h >= H(2025, 1, 1, 22)}
    assert night == {
        H(2025, 1, 1, 22): 15.0,  # 10 + 5, the NULL at 22:59:59 left out
        H(2025, 1, 1, 23): 0.0,  # no order: 0
        H(2025, 1, 2, 0): 27.0,  # 20 at 00:00:00 sharp is in the first hour of the 2nd, + 7
        H(2025, 1, 2, 1): 0.0,
        H(2025, 1, 2, 2): 7.0,
        H(2025, 1, 2, 3): None,  # one order, its amount NULL
    }
    assert [values(rows, "orders")[h] for h in hours(H(2025, 1, 1, 22))] == [3, 0, 2, 0, 2, 1]
    assert [values(rows, "channels")[h] for h in hours(H(2025, 1, 1, 22))] == [2, 0, 2, 0, 1, 1]
    assert all(isinstance(r.period, dt.datetime) for r in rows)


def test_a_breakdown_by_hour_with_a_null_channel(project: Project) -> None:
    rows = project.run(["revenue"], by=["channel"])
    found = values(rows, "revenue", "channel")
    for channel in ("web", "app", None):
        assert {h: found[(h, channel)] for h in hours()} == by_hand(channel), channel
    assert found[(H(2025, 1, 2, 2), None)] == 4.0
    assert found[(H(2025, 1, 2, 3), "app")] is None and found[(H(2025, 1, 2, 3), "web")] == 0.0


def test_windows_offsets_and_to_date_in_hours(project: Project) -> None:
    rows = project.run(["revenue_3h", "channels_3h", "revenue_day_before", "revenue_wtd"])
    night = hours(H(2025, 1, 1, 22))
    assert [values(rows, "revenue_3h")[h] for h in night] == [15, 15, 42, 27, 34, 7]
    # distinct channels over the rows of 3 hours: at 02:00 {app, web} of 00:00 and 02:00, not 2 + 0 + 1
    assert [values(rows, "channels_3h")[h] for h in night] == [2, 2, 2, 2, 2, 2]
    day_before = values(rows, "revenue_day_before")
    assert day_before[H(2025, 1, 1, 23)] == 8.0  # 23:20 on December 31
    assert day_before[H(2025, 1, 1, 22)] is None  # before the data: unknown
    assert day_before[H(2025, 1, 2, 0)] == 0.0  # midnight of January 1: no order
    # the ISO week from Monday December 30: 8, then the 22:00 hour of January 1 and the night
    assert [values(rows, "revenue_wtd")[h] for h in night] == [23, 23, 50, 50, 57, 57]
    first = [r for r in rows if r.kpi == "revenue_3h" and r.partial_window]
    assert [r.period for r in first] == [H(2024, 12, 31, 23), H(2025, 1, 1, 0)]


def test_from_to_show_the_hours_of_those_days_and_windows_read_before(project: Project) -> None:
    rows = project.run(["revenue", "revenue_3h"], start=dt.date(2025, 1, 2), end=dt.date(2025, 1, 2))
    assert sorted({r.period for r in rows}) == hours(H(2025, 1, 2, 0))
    assert values(rows, "revenue_3h")[H(2025, 1, 2, 0)] == 42.0  # 15 + 0 of the hours before --from
    one_day = project.run(["revenue"], start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 1))
    assert sorted({r.period for r in one_day}) == hours(H(2025, 1, 1, 0), H(2025, 1, 1, 23))  # to the end of --to


def test_an_hour_is_complete_when_the_data_reaches_its_end_and_judged_per_hour(project: Project) -> None:
    rows = project.run(["revenue"])
    complete = {r.period: r.complete for r in rows}
    assert complete[H(2025, 1, 2, 2)] and not complete[H(2025, 1, 2, 3)]  # 03:10: the 03:00 hour is running
    status = {r.period: (r.status, r.judgement.min if r.judgement else None) for r in rows}
    assert status[H(2025, 1, 1, 22)] == ("achieved", 10.0)  # 240 per day: 10 an hour
    assert status[H(2025, 1, 2, 2)] == ("off_track", 10.0)
    assert status[H(2025, 1, 2, 3)][0] == "no_data"


def test_through_hour() -> None:
    today = dt.date(2026, 1, 1)
    assert completeness.through_hour(None, Latest(H(2025, 1, 2, 3, 10)), today) == H(2025, 1, 2, 3)
    assert completeness.through_hour(None, Latest(H(2025, 1, 2, 3)), today) == H(2025, 1, 2, 4)  # on the hour
    assert completeness.through_hour("2025-01-01", Latest(H(2025, 1, 2, 3)), today) == H(2025, 1, 2)
    assert completeness.through_hour(None, Latest(None), today) is None


def test_period_arithmetic_of_hours() -> None:
    assert periods.start("hour", H(2025, 1, 1, 13, 59, 59)) == H(2025, 1, 1, 13)
    assert periods.start("hour", dt.date(2025, 1, 1)) == H(2025, 1, 1)
    assert periods.shift("hour", H(2024, 12, 31, 23), 1) == H(2025, 1, 1)
    assert periods.count("hour", dt.date(2025, 1, 1), dt.date(2025, 1, 2)) == 48
    assert targets.period_end(H(2025, 1, 1, 13), "hour") == dt.date(2025, 1, 1)
    assert targets.default_as_of([H(2025, 1, 1, 13), H(2025, 1, 2, 1)], "hour", dt.date(2025, 1, 2)) == dt.date(
        2025, 1, 1
    )


def test_labels() -> None:
    assert period_label(H(2025, 1, 1, 13), "hour") == "2025-01-01 13:00"
    assert i18n.format_period(H(2025, 1, 1, 13), "hour", "en") == "1 Jan 2025 13:00"
    assert i18n.format_period(H(2025, 1, 1, 13), "hour", "fr") == "1 janv. 2025 13:00"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, ["--project", str(EXAMPLE), *args], env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_csv_and_json_write_an_hour_with_a_t_and_a_day_as_a_date() -> None:
    out = invoke("run", "revenue", "--from", "2025-01-02", "--format", "csv")
    assert out.splitlines()[1].startswith("revenue,2025-01-02T00:00:00,27.0,")
    out = invoke("run", "revenue", "--grain", "day", "--format", "csv")
    assert [line.split(",")[:3] for line in out.splitlines()[1:]] == [
        ["revenue", "2024-12-31", "8.0"],
        ["revenue", "2025-01-01", "15.0"],
        ["revenue", "2025-01-02", "34.0"],
    ]
    assert '"period": "2025-01-02T03:00:00"' in invoke("run", "orders", "--format", "json")


def test_parquet_types_the_period_of_hours_as_timestamp(tmp_path: Path) -> None:
    import duckdb

    invoke("run", "revenue", "--format", "parquet", "-o", str(tmp_path / "h.parquet"))
    invoke("run", "revenue", "--grain", "day", "--format", "parquet", "-o", str(tmp_path / "d.parquet"))
    con = duckdb.connect()
    kinds = {
        name: con.execute(f"SELECT typeof(period), min(period) FROM '{tmp_path / name}' GROUP BY 1").fetchall()
        for name in ("h.parquet", "d.parquet")
    }
    assert kinds == {"h.parquet": [("TIMESTAMP", H(2024, 12, 31, 23))], "d.parquet": [("DATE", dt.date(2024, 12, 31))]}


def test_a_run_mixing_hours_and_days_keeps_each_kpis_period(project: Project, tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text((EXAMPLE / "data" / "orders.csv").read_text())
    (tmp_path / "kpictl.yml").write_text((EXAMPLE / "kpictl.yml").read_text())
    (tmp_path / "metrics" / "m.yml").write_text(
        "kpis:\n  - {name: hourly, source: orders, formula: count(*)}\n"
        "  - {name: daily, source: orders, formula: count(*), grain: day}\n"
    )
    rows = Project.load(tmp_path).run()
    assert values(rows, "daily") == {dt.date(2024, 12, 31): 1, dt.date(2025, 1, 1): 3, dt.date(2025, 1, 2): 5}
    assert values(rows, "hourly")[H(2025, 1, 2, 2)] == 2
    out = CliRunner().invoke(cli, ["--project", str(tmp_path), "run", "--format", "csv"], env={"NO_COLOR": "1"})
    lines = list(csv.reader(io.StringIO(out.stdout)))
    assert lines[-1][:3] == ["daily", "2025-01-02", "5.0"]
    assert ["hourly", "2025-01-02T03:00:00", "1.0"] in [line[:3] for line in lines]


def test_the_table_names_hours() -> None:
    out = invoke("run", "revenue", "orders")
    assert "2025-01-02 02:00" in out  # the latest complete hour, 03:00 is running


def test_too_many_hours_is_refused_with_a_hint(project: Project) -> None:
    from kpictl.errors import KpiError

    with pytest.raises(KpiError) as caught:
        project.compile(["revenue"], start=dt.date(2020, 1, 1), end=dt.date(2025, 1, 1))
    assert "the range has 43,872 hours" in str(caught.value)


def test_diff_and_the_dashboard_tell_two_hours_of_a_day_apart(project: Project) -> None:
    """A breakdown at hour grain in ``diff --data`` (values paired per hour, as row by row) and in the
    dashboard (a card's breakdown: its own hour only, not the day's other hours)."""
    from kpictl import table
    from kpictl.report import html
    from kpictl.workflows import diff as diffs

    found = project.run_table(["revenue"], by=["channel"])
    assert isinstance(found, table.Table) and found.hour is not None
    rows = found.rows()
    change = diffs.KpiChange("revenue", "modified", "metrics/sales.yml")
    paired = diffs._values(found, found, change, ("channel",))
    expected = diffs._values_by_rows(rows, rows, change, ("channel",))
    assert [(v.period, v.dims, v.base, v.head) for v in paired] == [
        (v.period, v.dims, v.base, v.head) for v in expected
    ]
    assert len({v.period for v in paired}) > len({v.period.date() for v in paired})  # several hours of one day
    hour = next(r.period for r in rows if r.value)
    shown = html._of_period(found, "revenue", hour)
    assert shown and {r.period for r in shown} == {hour}
    assert shown == [r for r in rows if r.period == hour]
