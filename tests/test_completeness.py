"""Complete periods: a period whose sources have no data through its last day has a value but no
verdict, and is never the "latest" period (README, "Complete periods").

Every expectation is counted by hand on a few rows: which day each source is complete through,
which periods end by then, what each KPI's value is.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import helpers
import pytest
from click.testing import Result
from helpers import write

from kpictl import Project
from kpictl.engine import Latest, latest_of
from kpictl.judge.completeness import horizons, through

D = dt.date
T = dt.datetime
TODAY = D(2026, 6, 15)


def invoke(root: Path, *args: str) -> Result:
    return helpers.invoke(root, *args, columns=120)  # the wider table of these tests


# -- how far a source is complete --------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "latest", "expected"),
    [
        (None, Latest(T(2014, 1, 1, 0, 0)), D(2014, 1, 1)),  # a date: its day is there
        (None, Latest(T(2014, 1, 1, 5, 0)), D(2013, 12, 31)),  # 05:00: the day is still running
        (None, Latest(T(2014, 1, 1, 23, 30)), D(2014, 1, 1)),  # 23:30: the day is over
        (None, Latest(T(2025, 3, 1), ("month",)), D(2025, 3, 31)),  # a monthly ledger
        (None, Latest(T(2025, 4, 1), ("quarter", "month")), D(2025, 6, 30)),  # the coarsest stamp
        (None, Latest(T(2025, 3, 3), ("week",)), D(2025, 3, 9)),  # Monday-stamped: through Sunday
        (None, Latest(None), None),  # no rows: no limit
        ("2025-02-28", Latest(T(2025, 2, 2)), D(2025, 2, 28)),
        ("latest", Latest(T(2014, 1, 1, 5, 0)), D(2014, 1, 1)),
        ("latest - 1 day", Latest(T(2014, 1, 1, 5, 0)), D(2013, 12, 31)),
        ("latest - 10 days", Latest(T(2014, 1, 1)), D(2013, 12, 22)),
        ("today - 2 days", Latest(T(2014, 1, 1)), D(2026, 6, 13)),
        ("latest", Latest(None), None),
    ],
)
def test_through(declared: str | None, latest: Latest, expected: D | None) -> None:
    assert through(declared, latest, TODAY) == expected


def test_stamps_need_two_distinct_values() -> None:
    # feed 0: Jan 1 and Feb 1 (month stamps, not year); feed 1: one value starts every period
    rows = [
        (1, "2025-05-01 00:00:00", "2025-05-01 00:00:00", 1, 1, 1, 1, 0),
        (0, "2025-02-01 00:00:00", "2025-01-01 00:00:00", 2, 0, 0, 1, 0),
    ]
    assert latest_of(rows) == (
        Latest(T(2025, 2, 1), ("month",), T(2025, 1, 1)),
        Latest(T(2025, 5, 1), (), T(2025, 5, 1)),
    )
    assert latest_of([(0, None, None, 0, None, None, None, None)]) == (Latest(None, ()),)


def test_a_kpi_is_complete_through_the_earliest_of_its_feeds() -> None:
    from kpictl.model import Source

    feeds = (("orders", '"orders"."d"'), ("visits", '"visits"."d"'), ("empty", '"empty"."d"'))
    latest = (Latest(T(2025, 3, 31)), Latest(T(2025, 3, 15)), Latest(None))
    sources = {name: Source(name, f"{name}.csv", "csv") for name in ("orders", "visits", "empty")}
    fed_by = {"orders_n": (0,), "visits_n": (1,), "conversion": (0, 1), "nothing": (2,)}
    assert horizons(feeds, fed_by, latest, sources, TODAY) == {
        "orders_n": D(2025, 3, 31),
        "visits_n": D(2025, 3, 15),
        "conversion": D(2025, 3, 15),
    }


# -- end to end: what run, the table and the gate make of it -----------------------------------

# One flight a day from Mon 2013-12-30 (ISO 2014-W01) to Tue 2014-01-14: W01 and W02 have 7,
# W03 only its Monday and Tuesday (2), against a target of at least 5 flights a week.
DAYS = [D(2013, 12, 30) + dt.timedelta(days=i) for i in range(16)]
WEEKLY = {
    "kpictl.yml": "name: t\ndefaults: {grain: week}\nsources:\n  flights: {path: flights.csv, time: d}\n",
    "flights.csv": "d\n" + "".join(f"{day}\n" for day in DAYS),
    "metrics/a.yml": "kpis:\n  - name: flights\n    source: flights\n    formula: count(*)\n    target: {min: 5}\n",
}


def test_a_week_with_two_days_of_data_is_flagged_and_not_judged(tmp_path: Path) -> None:
    root = write(tmp_path, WEEKLY)
    rows = Project.load(root).run()
    assert [(r.period, r.value, r.complete, r.status) for r in rows] == [
        (D(2013, 12, 30), 7, True, "achieved"),
        (D(2014, 1, 6), 7, True, "achieved"),
        (D(2014, 1, 13), 2, False, "no_data"),
    ]
    body = json.loads(invoke(root, "run", "--format", "json").stdout)
    assert [(r["period"], r["value"], r["complete"]) for r in body["rows"]][-1] == ("2014-01-13", 2, False)
    # the gate looks at W02 (7 ≥ 5): W03's 2 is not a breach
    gate = invoke(root, "run", "--fail-on", "off_track", "--format", "csv")
    assert (gate.exit_code, gate.stderr) == (0, "")
    table = invoke(root, "run").stdout
    assert "2014-W02" in table.splitlines()[0] and "2014-W03" not in table


def test_an_explicit_as_of_does_not_judge_an_incomplete_period(tmp_path: Path) -> None:
    rows = Project.load(write(tmp_path, WEEKLY)).run(as_of=D(2014, 1, 19))
    assert [(r.complete, r.status) for r in rows][-1] == (False, "no_data")


def test_declared_freshness_completes_the_week(tmp_path: Path) -> None:
    # the desk says the file holds everything through Sunday Jan 19: W03 is judged (2 < 5)
    yml = WEEKLY["kpictl.yml"].replace("time: d}", "time: d, complete_through: 2014-01-19}")
    rows = Project.load(write(tmp_path, {**WEEKLY, "kpictl.yml": yml})).run()
    assert [(r.complete, r.status) for r in rows][-1] == (True, "off_track")
    gate = invoke(tmp_path, "run", "--fail-on", "off_track", "--format", "csv")
    assert (gate.exit_code, gate.stderr) == (1, "flights 2014-01-13: value 2, expected 5, off_track\n")


def test_an_hourly_source_ending_at_five_leaves_its_last_day_running(tmp_path: Path) -> None:
    files = {
        "kpictl.yml": "name: t\nsources:\n  flights: {path: flights.csv, time: t}\n",
        "flights.csv": "t\n2013-12-31 10:00:00\n2013-12-31 22:00:00\n2014-01-01 03:00:00\n2014-01-01 05:00:00\n",
        "metrics/a.yml": "kpis:\n  - name: flights\n    source: flights\n    formula: count(*)\n",
    }
    root = write(tmp_path, files)
    by_day = Project.load(root).run(grain="day")
    assert [(r.period, r.value, r.complete) for r in by_day] == [(D(2013, 12, 31), 2, True), (D(2014, 1, 1), 2, False)]
    by_month = Project.load(root).run()
    assert [(r.period, r.value, r.complete) for r in by_month] == [(D(2013, 12, 1), 2, True), (D(2014, 1, 1), 2, False)]
    # `latest`: the feed's last day is whole (January is still incomplete: it ends on the 31st)
    write(root, {"kpictl.yml": files["kpictl.yml"].replace("time: t}", "time: t, complete_through: latest}")})
    assert [r.complete for r in Project.load(root).run(grain="day")] == [True, True]
    assert [r.complete for r in Project.load(root).run()] == [True, False]


def test_a_monthly_ledger_stamped_on_the_first_covers_whole_months(tmp_path: Path) -> None:
    files = {
        "kpictl.yml": "name: t\nsources:\n  ledger: {path: ledger.csv, time: d}\n",
        "ledger.csv": "d,amount\n2025-01-01,10\n2025-02-01,20\n2025-03-01,30\n",
        "metrics/a.yml": "kpis:\n  - name: spend\n    source: ledger\n    formula: sum(amount)\n",
    }
    root = write(tmp_path, files)
    assert [(r.value, r.complete) for r in Project.load(root).run()] == [(10, True), (20, True), (30, True)]
    assert [(r.value, r.complete) for r in Project.load(root).run(grain="quarter")] == [(60, True)]
    # declared freshness wins over the stamps: one day short of March's end
    write(root, {"kpictl.yml": files["kpictl.yml"].replace("time: d}", "time: d, complete_through: latest - 1 day}")})
    assert [r.complete for r in Project.load(root).run()] == [True, True, False]


def test_a_derived_kpi_waits_for_its_latest_source(tmp_path: Path) -> None:
    files = {
        "kpictl.yml": (
            "name: t\nsources:\n  orders: {path: orders.csv, time: d}\n  visits: {path: visits.csv, time: d}\n"
        ),
        "orders.csv": "d\n2025-02-10\n2025-03-05\n2025-03-31\n",  # through March 31
        "visits.csv": "d\n2025-02-01\n2025-02-02\n2025-02-28\n2025-03-01\n2025-03-15\n",  # through March 15
        "metrics/a.yml": (
            "kpis:\n"
            "  - {name: orders_n, source: orders, formula: count(*)}\n"
            "  - {name: visits_n, source: visits, formula: count(*)}\n"
            "  - {name: conversion, formula: orders_n / visits_n}\n"
        ),
    }
    rows = Project.load(write(tmp_path, files)).run()
    got = {(r.kpi, r.period.month): (r.value, r.complete) for r in rows}
    assert got == {
        ("orders_n", 2): (1, True),
        ("orders_n", 3): (2, True),
        ("visits_n", 2): (3, True),
        ("visits_n", 3): (2, False),
        ("conversion", 2): (1 / 3, True),
        ("conversion", 3): (1.0, False),
    }


def test_kpi_tests_treat_their_rows_as_complete(tmp_path: Path) -> None:
    # a KPI test's rows are all there is: a month with one row on the 3rd is judged as given
    kpis = (
        "kpis:\n  - name: revenue\n    source: orders\n    formula: sum(amount)\n    tests:\n"
        "      - given: {orders: [{d: 2025-01-03, amount: 4}]}\n        expect: [{period: 2025-01-01, value: 4}]\n"
    )
    files = {
        "kpictl.yml": "name: t\nsources:\n  orders: {path: orders.csv, time: d}\n",
        "orders.csv": "d,amount\n2025-01-03,1\n",
        "metrics/a.yml": kpis,
    }
    result = invoke(write(tmp_path, files), "test")
    assert result.exit_code == 0, result.stdout + result.stderr
    rows = Project.load(tmp_path).run(tables={"orders": [{"d": "2025-01-03", "amount": 4}]})
    assert [(r.value, r.complete) for r in rows] == [(4, True)]


def test_the_table_shows_the_latest_complete_period_of_a_kpi_without_target(tmp_path: Path) -> None:
    # no target, so the incomplete W03 is not no_data: the table must still skip it (W02: 7)
    kpis = "kpis:\n  - name: flights\n    source: flights\n    formula: count(*)\n"
    root = write(tmp_path, {**WEEKLY, "metrics/a.yml": kpis})
    header, line = invoke(root, "run").stdout.splitlines()[:2]
    assert "2014-W02" in header and "2014-W03" not in header
    assert line.split()[1] == "7"
