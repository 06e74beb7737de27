"""Lookups of lookups: orders → customers → companies → industries (issue 14, point 3).

Counted by hand on seven orders, each one a hard case: a key missing at the first hop, a NULL
key, a key missing at the second hop, a NULL key at the third; the rows are kept and their
dimension is NULL. One value is also checked against hand-written SQL run by DuckDB itself.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from helpers import invoke, write

from kpictl import Project

CHAIN = {
    "kpictl.yml": (
        "name: t\nsources:\n"
        "  orders: {path: orders.csv, time: d, key: order_id, lookups: [{source: customers, on: customer_id}]}\n"
        "  customers: {path: customers.csv, key: customer_id, lookups: [{source: companies, on: company_id}]}\n"
        "  companies:\n    path: companies.csv\n    key: company_id\n"
        "    lookups: [{source: industries, on: {industry_id: id}}]\n"
        "  industries: {path: industries.csv, key: id}\n"
    ),
    "orders.csv": (
        "d,order_id,customer_id,amount\n"
        "2025-01-03,1,c1,10\n"  # c1 → co1 → Retail
        "2025-01-04,2,c2,20\n"  # c2 → co2 → Energy
        "2025-01-05,3,c3,40\n"  # c3 → co1 → Retail
        "2025-01-06,4,c9,80\n"  # no such customer
        "2025-01-07,5,,160\n"  # no customer
        "2025-01-08,6,c4,320\n"  # c4 → co9: no such company
        "2025-01-09,7,c5,640\n"  # c5 → co3, which has no industry
    ),
    "customers.csv": "customer_id,company_id,name\nc1,co1,Ann\nc2,co2,Bob\nc3,co1,Cy\nc4,co9,Di\nc5,co3,Ed\n",
    "companies.csv": "company_id,industry_id,name,size\nco1,1,Acme,large\nco2,2,Bolt,small\nco3,,Core,small\n",
    "industries.csv": "id,industry,sector\n1,Retail,Services\n2,Energy,Utilities\n",
    "metrics/a.yml": (
        "kpis:\n"
        "  - {name: revenue, source: orders, formula: sum(amount)}\n"
        "  - name: retail_revenue\n    source: orders\n    formula: sum(amount)\n"
        "    filter: \"customers.companies.industries.industry = 'Retail'\"\n"
        "  - name: large_share\n    source: orders\n"
        "    formula: \"sum(amount) filter (where size = 'large') / sum(amount)\"\n"
    ),
}


def by(project: Project, kpi: str, dim: str) -> dict[object, float | None]:
    return {r.dims[dim]: r.value for r in project.run([kpi], by=[dim])}


def test_three_hops_keep_every_fact_row(tmp_path: Path) -> None:
    project = Project.load(write(tmp_path, CHAIN))
    expected = {"Retail": 10 + 40, "Energy": 20, None: 80 + 160 + 320 + 640}
    assert by(project, "revenue", "industry") == expected  # a bare name, three lookups away
    assert by(project, "revenue", "industries.industry") == expected  # the nearest relation so named
    assert by(project, "revenue", "customers.companies.industries.industry") == expected  # the whole path
    assert by(project, "revenue", "sector") == {"Services": 50, "Utilities": 20, None: 1200}
    assert [r.value for r in project.run(["retail_revenue"])] == [50]
    # size is two lookups away, in a formula: 10 + 40 of 1,270 is large
    assert [r.value for r in project.run(["large_share"])] == [pytest.approx(50 / 1270)]


def test_the_nearest_relation_owns_a_bare_name(tmp_path: Path) -> None:
    project = Project.load(write(tmp_path, CHAIN))
    # customers and companies both have a name: the customer's is one lookup away, so it wins
    assert by(project, "revenue", "name") == {"Ann": 10, "Bob": 20, "Cy": 40, "Di": 320, "Ed": 640, None: 240}
    assert by(project, "revenue", "companies.name") == {"Acme": 50, "Bolt": 20, "Core": 640, None: 560}


def test_values_equal_hand_written_joins(tmp_path: Path) -> None:
    root = write(tmp_path, CHAIN)
    project = Project.load(root)
    got = {r.dims["sector"]: r.value for r in project.run(["revenue"], by=["sector"])}
    con = duckdb.connect()
    hand = con.execute(
        f"""
        SELECT i.sector, sum(o.amount)
        FROM read_csv('{root}/orders.csv') o
        LEFT JOIN read_csv('{root}/customers.csv') c ON c.customer_id = o.customer_id
        LEFT JOIN read_csv('{root}/companies.csv') co ON co.company_id = c.company_id
        LEFT JOIN read_csv('{root}/industries.csv') i ON i.id = co.industry_id
        GROUP BY 1
        """
    ).fetchall()
    assert got == dict(hand)


def test_a_duplicated_key_two_hops_away_is_refused(tmp_path: Path) -> None:
    root = write(tmp_path, {**CHAIN, "companies.csv": CHAIN["companies.csv"] + "co1,2,Acme bis,small\n"})
    result = invoke(root, "run", "--by", "industry")
    assert result.exit_code == 3
    assert "lookup key 'company_id' is not unique in 'companies': 1 value(s) appear more than once ('co1')" in (
        result.stderr
    )


def test_show_names_the_path(tmp_path: Path) -> None:
    result = invoke(write(tmp_path, CHAIN), "show", "retail_revenue")
    assert result.exit_code == 0, result.output
    assert "retail_revenue  (source: orders)" in result.stdout
    assert "    via orders → customers → companies → industries  (customers.companies.industries)" in result.stdout


TWO_PATHS = {
    **CHAIN,
    "kpictl.yml": CHAIN["kpictl.yml"].replace(
        "lookups: [{source: customers, on: customer_id}]",
        "lookups: [{source: customers, on: customer_id}, {source: suppliers, on: supplier_id}]",
    )
    + "  suppliers: {path: suppliers.csv, key: supplier_id, lookups: [{source: companies, on: company_id}]}\n",
    "suppliers.csv": "supplier_id,company_id\ns1,co2\n",
    "orders.csv": CHAIN["orders.csv"]
    .replace("order_id,customer_id", "order_id,customer_id")
    .replace("d,order_id,customer_id,amount", "d,order_id,customer_id,amount,supplier_id"),
}


def test_a_name_reached_by_two_paths_is_ambiguous(tmp_path: Path) -> None:
    files = dict(TWO_PATHS)
    files["orders.csv"] = "\n".join(
        line + (",supplier_id" if i == 0 else ",s1") for i, line in enumerate(CHAIN["orders.csv"].splitlines())
    )
    files["metrics/a.yml"] = (
        "kpis:\n  - {name: large, source: orders, formula: \"count(*) filter (where size = 'large')\"}\n"
    )
    result = invoke(write(tmp_path, files), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "metrics/a.yml:2:68: 'size' in formula of large is a column of several lookups of 'orders':"
        " customers.companies.size, suppliers.companies.size (write customers.companies.size)",
        "1 problem found",
    ]
    fixed = files["metrics/a.yml"].replace("where size", "where suppliers.companies.size")
    write(tmp_path, {"metrics/a.yml": fixed})
    assert [r.value for r in Project.load(tmp_path).run(["large"])] == [0]  # every order's supplier is Bolt


def test_a_cycle_of_lookups_is_located(tmp_path: Path) -> None:
    yml = CHAIN["kpictl.yml"].replace(
        "lookups: [{source: companies, on: company_id}]",
        "lookups: [{source: companies, on: company_id}, {source: orders, on: {last_order: order_id}}]",
    )
    customers = "customer_id,company_id,name,last_order\nc1,co1,Ann,3\n"
    result = invoke(write(tmp_path, {**CHAIN, "kpictl.yml": yml, "customers.csv": customers}), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [  # at the first lookup on the cycle
        "kpictl.yml:3:64: lookups form a cycle: orders → customers → orders"
        " (a lookup joins many rows to one: keep the direction from facts to what describes them)",
        "1 problem found",
    ]


def test_a_chain_deeper_than_three_is_located(tmp_path: Path) -> None:
    yml = CHAIN["kpictl.yml"].replace(
        "industries: {path: industries.csv, key: id}",
        "industries: {path: industries.csv, key: id, lookups: [{source: sectors, on: sector}]}\n"
        "  sectors: {path: sectors.csv, key: sector}",
    )
    files = {**CHAIN, "kpictl.yml": yml, "sectors.csv": "sector,board\nServices,A\n"}
    result = invoke(write(tmp_path, files), "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "kpictl.yml:9:57: lookups chain more than 3 deep: orders → customers → companies → industries → sectors"
        " (a KPI reads at most 3 lookups away: look up 'sectors' from a nearer source)",
        "1 problem found",
    ]
