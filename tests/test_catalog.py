"""The shipped catalog (kpictl.yml, metrics/, data/) validates, passes its own tests, and its
December 2025 values equal those recomputed in plain Python (tests/catalog_expectations.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import catalog_expectations as expected
import pytest

from kpictl import Project

ROOT = Path(__file__).resolve().parent.parent

#: The English names of the seed article's KPI catalog (36 KPIs); "conversion_rate by
#: channel" is conversion_rate broken down by channel.
CATALOG = (
    "retention_rate",
    "churn_rate",
    "csat",
    "support_requests",
    "support_calls",
    "support_emails",
    "resolution_time",
    "strategic_calls",
    "strategic_emails",
    "referrals",
    "engagement_rate",
    "revenue_direct",
    "revenue_cross_sell",
    "revenue_renewal",
    "revenue_upsell",
    "leads",
    "visitors",
    "conversion_rate",
    "paid_lead_share",
    "leads_per_landing_page",
    "cta_click_rate",
    "traffic_by_keyword",
    "negotiation_gap",
    "budget_gap",
    "supplier_nonconformity_rate",
    "off_process_rate",
    "suppliers_per_item",
    "urgent_order_share",
    "avg_order_cost",
    "supplier_payment_compliance",
    "transport_cost_to_sales",
    "on_time_delivery_rate",
    "transport_utilization",
    "storage_unit_cost",
    "order_processing_time",
    "otif_rate",
)
DOMAINS = {"retention", "relationship", "revenue", "marketing", "purchasing", "transport", "storage"}


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(ROOT)


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped Parquet files exported verbatim to CSV, for the csv-module side."""
    import duckdb

    folder = tmp_path_factory.mktemp("catalog_csv")
    con = duckdb.connect()
    for parquet in sorted((ROOT / "data").glob("*.parquet")):
        target = folder / f"{parquet.stem}.csv"
        con.execute(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{target}' (FORMAT csv, HEADER true)")
    con.close()
    return folder


def test_every_seed_kpi_is_in_the_catalog_with_a_smart_target(project: Project) -> None:
    assert len(CATALOG) == 36
    missing = [name for name in CATALOG if name not in project.kpis]
    assert missing == []
    for name, kpi in project.kpis.items():
        assert kpi.label.get("en") and kpi.label.get("fr"), name
        assert kpi.description and kpi.owner, name
        assert set(kpi.tags) & DOMAINS, name
        target = kpi.target
        assert target is not None and target.by and target.baseline and target.rationale, name


def test_every_domain_has_unit_tests_including_the_two_source_ratio(project: Project) -> None:
    tested = {kpi.name for kpi in project.kpis.values() if kpi.tests}
    assert {"transport_cost_to_sales", "conversion_rate"} <= tested
    assert all(any(d in project.kpis[n].tags for n in tested) for d in DOMAINS)


def test_catalog_validates_against_the_shipped_data(project: Project) -> None:
    assert [str(e) for e in project.validate()] == []


def test_catalog_unit_tests_pass(project: Project) -> None:
    from kpictl.workflows import testing

    failed = [testing.describe(r) for r in testing.run_tests(project) if not r.passed]
    assert failed == []


@pytest.mark.parametrize("kpi", sorted(expected.TOTALS))
def test_december_2025_matches_plain_python(kpi: str, project: Project, csv_folder: Path) -> None:
    rows = project.run([kpi], grain="month")
    values = {r.period: r.value for r in rows if r.kpi == kpi and not r.dims}
    assert values[expected.PERIOD] == pytest.approx(expected.TOTALS[kpi](csv_folder), rel=1e-9)


@pytest.mark.parametrize(("kpi", "dimension"), sorted(expected.BREAKDOWNS))
def test_december_2025_breakdown_matches_plain_python(
    kpi: str, dimension: str, project: Project, csv_folder: Path
) -> None:
    rows = project.run([kpi], grain="month", by=[dimension])
    values = {r.dims[dimension]: r.value for r in rows if r.kpi == kpi and r.period == expected.PERIOD}
    assert values == pytest.approx(expected.BREAKDOWNS[kpi, dimension](csv_folder), rel=1e-9)


def test_a_stock_level_at_a_quarter_is_its_last_month(project: Project, csv_folder: Path) -> None:
    """warehouse_occupancy is a balance (snapshot: per warehouse): 2025-Q4 is December's level,
    not the occupancy of three months added up."""
    rows = project.run(["warehouse_occupancy"], grain="quarter")
    values = {r.period: r.value for r in rows}
    assert values[dt.date(2025, 10, 1)] == pytest.approx(expected.warehouse_occupancy(csv_folder), rel=1e-9)
