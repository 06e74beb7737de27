"""Computed columns: ``columns: {flight_date: "make_date(year, month, day)"}`` (issue 14, point 6).

A source computes a column on each row from its own columns (one checked expression, maybe
reading another computed column); it is a column like the others: a time column, in formulas,
filters, ``--by``, a lookup's dimension. Values counted by hand on four flights.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import invoke, write

from kpictl import Project

FLIGHTS = {
    "kpictl.yml": (
        "name: t\nsources:\n"
        "  flights:\n    path: flights.csv\n    time: flight_date\n"
        "    lookups: [{source: carriers, on: carrier}]\n"
        "    columns:\n"
        '      flight_date: "make_date(year, month, day)"\n'
        '      delayed: "arr_delay > 15"\n'
        '      delay_weight: "case when delayed then 2 else 1 end"\n'  # reads another computed column
        "      distance: double\n"  # a type, as before
        "  carriers:\n    path: carriers.csv\n    key: carrier\n"
        '    columns: {since_year: "extract(year from since)"}\n'
    ),
    "flights.csv": (
        "year,month,day,arr_delay,distance,carrier\n"
        "2013,1,1,20,100,AA\n"  # delayed
        "2013,1,2,5,200,AA\n"
        "2013,2,1,,300,UA\n"  # delay unknown: delayed is NULL
        "2013,2,3,16,400,UA\n"  # delayed
    ),
    "carriers.csv": "carrier,since\nAA,1990-05-01\nUA,2001-07-01\n",
    "metrics/a.yml": (
        "kpis:\n"
        '  - {name: delayed_share, source: flights, formula: "count(*) filter (where delayed) / count(delayed)"}\n'
        "  - {name: weight, source: flights, formula: sum(delay_weight), dimensions: [delayed, since_year]}\n"
        '  - {name: long_delayed, source: flights, formula: count(*), filter: "delayed and distance > 150"}\n'
    ),
}


def values(rows: list) -> dict:
    return {(r.kpi, r.period.isoformat(), *r.dims.values()): r.value for r in rows}


def test_computed_columns_are_columns_like_the_others(tmp_path: Path) -> None:
    project = Project.load(write(tmp_path, FLIGHTS))
    assert values(project.run(["delayed_share", "long_delayed"])) == {
        ("delayed_share", "2013-01-01"): 1 / 2,  # periods by the computed flight_date
        ("delayed_share", "2013-02-01"): 1 / 1,  # the NULL delay is not counted
        ("long_delayed", "2013-01-01"): 0,  # the delayed flight of January is 100 long
        ("long_delayed", "2013-02-01"): 1,
    }
    assert values(project.run(["weight"], by=["delayed"])) == {
        ("weight", "2013-01-01", False): 1,
        ("weight", "2013-01-01", True): 2,
        ("weight", "2013-01-01", None): 0,
        ("weight", "2013-02-01", False): 0,
        ("weight", "2013-02-01", True): 2,
        ("weight", "2013-02-01", None): 1,  # not delayed as far as known: weight 1
    }


def test_a_lookup_computed_column_is_a_dimension(tmp_path: Path) -> None:
    """Grouped by a lookup's own date, computed on the lookup (the carrier's first year)."""
    rows = Project.load(write(tmp_path, FLIGHTS)).run(["weight"], by=["since_year"])
    assert values(rows) == {
        ("weight", "2013-01-01", 1990): 2 + 1,
        ("weight", "2013-01-01", 2001): 0,
        ("weight", "2013-02-01", 1990): 0,
        ("weight", "2013-02-01", 2001): 1 + 2,
    }


def test_kpi_tests_compute_them_on_the_given_rows(tmp_path: Path) -> None:
    tests = (
        "    tests:\n      - name: one delayed of two\n        given:\n          flights:\n"
        "            - {year: 2025, month: 3, day: 4, arr_delay: 30}\n"
        "            - {year: 2025, month: 3, day: 9, arr_delay: 0}\n"
        "        expect:\n          - {period: 2025-03-01, value: 0.5}\n"
    )
    kpis = (
        "kpis:\n  - name: delayed_share\n    source: flights\n    formula: count(*) filter (where delayed) / count(*)\n"
    )
    root = write(tmp_path, {**FLIGHTS, "metrics/a.yml": kpis + tests})
    result = invoke(root, "test")
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output


@pytest.mark.parametrize(
    ("column", "line"),
    [
        # not a single expression, an aggregate, a lookup's column, an unknown function
        ('"arr_delay > 15; select 1"', "kpictl.yml:9:31: ';' is not allowed: a formula is one SQL expression"),
        ('"sum(arr_delay)"', "kpictl.yml:9:17: aggregate 'sum(arr_delay)' is not allowed here"),
        ('"carriers.since > year"', "kpictl.yml:9:17: 'carriers.since': a computed column reads its own source's"),
        ("\"getenv('HOME')\"", "kpictl.yml:9:17: function 'getenv' is not allowed"),
    ],
)
def test_a_computed_column_is_one_checked_row_expression(tmp_path: Path, column: str, line: str) -> None:
    yml = FLIGHTS["kpictl.yml"].replace('"arr_delay > 15"', column)
    result = invoke(write(tmp_path, {**FLIGHTS, "kpictl.yml": yml}), "validate")
    assert result.exit_code == 2
    assert result.stderr.startswith(line), result.stderr


def test_computed_columns_in_a_cycle_are_located(tmp_path: Path) -> None:
    yml = FLIGHTS["kpictl.yml"].replace('"arr_delay > 15"', '"delay_weight > 1"')
    result = invoke(write(tmp_path, {**FLIGHTS, "kpictl.yml": yml}), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "kpictl.yml:9:17: computed columns of source 'flights' read each other in a cycle:"
        " delayed → delay_weight → delayed (compute one of them from the source's own columns)"
    )


def test_a_computed_column_checked_against_the_data(tmp_path: Path) -> None:
    yml = (
        FLIGHTS["kpictl.yml"]
        .replace('"arr_delay > 15"', '"arr_dealy > 15"')
        .replace('"case when delayed then 2 else 1 end"', '"distance / 2"')
    )
    yml = yml.replace("delay_weight:", "distance:", 1).replace("      distance: double\n", "")
    kpis = "kpis:\n  - {name: n, source: flights, formula: count(*)}\n"
    result = invoke(write(tmp_path, {**FLIGHTS, "kpictl.yml": yml, "metrics/a.yml": kpis}), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "kpictl.yml:9:17: unknown column 'arr_dealy' in computed column 'delayed' of source 'flights'"
        " (did you mean 'arr_delay'?)",
        "kpictl.yml:10:18: computed column 'distance' of source 'flights' is already a column of its data"
        " (name it otherwise)",
        "2 problems found",
    ]
    assert invoke(tmp_path, "run").stderr == result.stderr  # run says the same


def test_an_expression_as_time_says_to_compute_a_column(tmp_path: Path) -> None:
    yml = FLIGHTS["kpictl.yml"].replace("time: flight_date", "time: make_date(year, month, day)")
    result = invoke(write(tmp_path, {**FLIGHTS, "kpictl.yml": yml}), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "kpictl.yml:5:11: sources.flights.time: 'make_date(year, month, day)' is not a column name"
        ' (compute it as a column of the source: columns: {day: "make_date(year, month, day)"}, then time: day)'
    )


def test_a_number_as_time_is_refused_by_validate(tmp_path: Path) -> None:
    for yml in (
        FLIGHTS["kpictl.yml"].replace("time: flight_date", "time: distance"),  # the source's
        FLIGHTS["kpictl.yml"].replace("time: flight_date", "time: delay_weight"),  # a computed one
    ):
        result = invoke(write(tmp_path, {**FLIGHTS, "kpictl.yml": yml}), "validate")
        assert result.exit_code == 2
        assert "not a date" in result.stderr.splitlines()[0], result.stderr
    kpis = FLIGHTS["metrics/a.yml"].replace("formula: count(*), filter:", "formula: count(*), time: distance, filter:")
    result = invoke(write(tmp_path, {**FLIGHTS, "metrics/a.yml": kpis}), "validate")  # a KPI's own time
    assert result.exit_code == 2
    assert "time column 'distance' of long_delayed is DOUBLE, not a date" in result.stderr, result.stderr
