"""Lookups keyed by columns of other names, and by several columns (issue 14, point 1).

Counted by hand on a few rows: flights.origin → airports.faa (a key missing from the lookup and
a NULL key keep their rows, with a NULL dimension), and orders (customer_id, region) →
customers (id, region), the same customer id in two regions being two customers.
"""

from __future__ import annotations

from pathlib import Path

from helpers import invoke, write

from kpictl import Project

FLIGHTS = {
    "kpictl.yml": (
        "name: t\nsources:\n"
        "  flights: {path: flights.csv, time: d, lookups: [{source: airports, on: {origin: faa}}]}\n"
        "  airports: {path: airports.csv, key: faa}\n"
    ),
    "flights.csv": "d,origin\n2025-01-03,JFK\n2025-01-04,JFK\n2025-01-05,EWR\n2025-01-06,XXX\n2025-01-07,\n",
    "airports.csv": "faa,city\nJFK,New York\nEWR,New York\nLAX,Los Angeles\n",
    "metrics/a.yml": "kpis:\n  - {name: flights_n, source: flights, formula: count(*)}\n",
}


def test_a_fact_column_maps_to_a_key_of_another_name(tmp_path: Path) -> None:
    rows = Project.load(write(tmp_path, FLIGHTS)).run(by=["city"])
    assert {r.dims["city"]: r.value for r in rows} == {"New York": 3, None: 2}  # XXX and the NULL origin


def test_a_composite_key(tmp_path: Path) -> None:
    files = {
        "kpictl.yml": (
            "name: t\nsources:\n"
            "  orders:\n    path: orders.csv\n    time: d\n"
            "    lookups: [{source: customers, on: {customer_id: id, region: region}}]\n"
            "  customers: {path: customers.csv}\n"
        ),
        # customer 1 is two customers: a large one in EU, a small one in NA
        "orders.csv": "d,customer_id,region,amount\n2025-01-03,1,EU,10\n2025-01-04,1,NA,20\n2025-01-05,2,EU,40\n",
        "customers.csv": "id,region,segment\n1,EU,large\n1,NA,small\n2,EU,small\n",
        "metrics/a.yml": "kpis:\n  - {name: revenue, source: orders, formula: sum(amount)}\n",
    }
    rows = Project.load(write(tmp_path, files)).run(by=["segment"])
    assert {r.dims["segment"]: r.value for r in rows} == {"large": 10, "small": 60}
    # the pair must be unique: a second (1, EU) row would count the EU order twice
    write(tmp_path, {"customers.csv": files["customers.csv"] + "1,EU,medium\n"})
    result = invoke(tmp_path, "run", "--by", "segment")
    assert result.exit_code == 3
    assert "lookup key 'id, region' is not unique in 'customers': 1 value(s) appear more than once ('1, EU')" in (
        result.stderr
    )


def test_a_mapped_column_that_does_not_exist_is_located(tmp_path: Path) -> None:
    yml = FLIGHTS["kpictl.yml"].replace("on: {origin: faa}", "on: {origni: fa}")
    result = invoke(write(tmp_path, {**FLIGHTS, "kpictl.yml": yml}), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [  # both sides, at the lookup
        "kpictl.yml:3:51: lookup column 'fa' is not a column of source 'airports' (did you mean 'faa'?)",
        "kpictl.yml:3:51: lookup column 'origni' is not a column of source 'flights' (did you mean 'origin'?)",
        "2 problems found",
    ]


def test_a_mapping_must_name_columns(tmp_path: Path) -> None:
    yml = FLIGHTS["kpictl.yml"].replace("on: {origin: faa}", "on: {}")
    result = invoke(write(tmp_path, {**FLIGHTS, "kpictl.yml": yml}), "validate")
    assert result.stderr == "kpictl.yml:3:74: sources.flights.lookups[0].on: must not be empty\n1 problem found\n"


# -- roles: one source looked up twice (issue 14, point 2) -----------------------------------------

ROLES = {
    "kpictl.yml": (
        "name: t\nsources:\n"
        "  flights:\n    path: flights.csv\n    time: d\n    lookups:\n"
        "      - {source: airports, as: origin_airport, on: {origin: faa}}\n"
        "      - {source: airports, as: dest_airport, on: {dest: faa}}\n"
        "  airports: {path: airports.csv, key: faa}\n"
    ),
    # JFK→LAX, JFK→JFK (the same airport on both sides), EWR→LAX, LAX→XXX (unknown destination)
    "flights.csv": "d,origin,dest\n2025-01-03,JFK,LAX\n2025-01-04,JFK,JFK\n2025-01-05,EWR,LAX\n2025-01-06,LAX,XXX\n",
    "airports.csv": "faa,city\nJFK,New York\nEWR,New York\nLAX,Los Angeles\n",
    "metrics/a.yml": "kpis:\n  - {name: flights_n, source: flights, formula: count(*)}\n",
}


def test_one_source_in_two_roles(tmp_path: Path) -> None:
    project = Project.load(write(tmp_path, ROLES))
    by_origin = {r.dims["origin_airport.city"]: r.value for r in project.run(by=["origin_airport.city"])}
    assert by_origin == {"New York": 3, "Los Angeles": 1}
    by_dest = {r.dims["dest_airport.city"]: r.value for r in project.run(by=["dest_airport.city"])}
    assert by_dest == {"Los Angeles": 2, "New York": 1, None: 1}
    both = project.run(by=["origin_airport.city", "dest_airport.city"])
    pairs = {(r.dims["origin_airport.city"], r.dims["dest_airport.city"]): r.value for r in both}
    assert pairs == {("New York", "Los Angeles"): 2, ("New York", "New York"): 1, ("Los Angeles", None): 1}


def test_a_role_in_a_filter_and_a_bare_name_of_two_roles(tmp_path: Path) -> None:
    kpis = (
        "kpis:\n  - name: from_new_york\n    source: flights\n    formula: count(*)\n"
        "    filter: origin_airport.city = 'New York'\n"
        "  - {name: ambiguous, source: flights, formula: count(distinct city)}\n"
    )
    result = invoke(write(tmp_path, {**ROLES, "metrics/a.yml": kpis}), "validate")
    assert result.exit_code == 2
    assert "'city' in formula of ambiguous is a column of several lookups of 'flights'" in result.stderr
    assert "(write origin_airport.city)" in result.stderr
    write(tmp_path, {"metrics/a.yml": kpis.split("  - {name: ambiguous")[0]})
    assert [r.value for r in Project.load(tmp_path).run()] == [3]


def test_two_lookups_of_one_source_need_roles_and_a_role_cannot_shadow_a_source(tmp_path: Path) -> None:
    yml = ROLES["kpictl.yml"].replace("as: origin_airport, ", "").replace("as: dest_airport, ", "")
    result = invoke(write(tmp_path, {**ROLES, "kpictl.yml": yml}), "validate", "--no-data")
    assert result.exit_code == 2 and "source 'flights' looks up 'airports' twice" in result.stderr
    assert "give each a role with as:" in result.stderr
    shadow = ROLES["kpictl.yml"].replace("as: dest_airport", "as: flights")
    result = invoke(write(tmp_path, {"kpictl.yml": shadow}), "validate", "--no-data")
    assert result.exit_code == 2
    assert "role 'flights' of a lookup of 'flights' shadows the source 'flights'" in result.stderr
