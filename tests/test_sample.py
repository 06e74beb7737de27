"""The sample-data generator: reproducible, scalable, and telling a consistent story.

The checks on the rows read the CSV output with the csv module and recount in plain Python;
nothing here is computed by the SQL that kpictl generates.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from sample import TABLES, generate

ROOT = Path(__file__).resolve().parent.parent
FIRST, LAST = "2024-01-01", "2025-12-31"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A tenth of the shipped data, as CSV and Parquet from one run."""
    folder = tmp_path_factory.mktemp("sample")
    return folder, generate(folder, scale=0.1, formats=("csv", "parquet"))


def rows(folder: Path, table: str) -> list[dict[str, str]]:
    with open(folder / f"{table}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", scale=0.05, formats=("parquet", "csv"))
    generate(tmp_path / "b", scale=0.05, formats=("parquet", "csv"))
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 2 * len(TABLES)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", scale=0.05, formats=("csv",), seed=1)
    generate(tmp_path / "b", scale=0.05, formats=("csv",), seed=2)
    assert (tmp_path / "a" / "orders.csv").read_bytes() != (tmp_path / "b" / "orders.csv").read_bytes()


def test_scale_multiplies_rows(tmp_path: Path, small: tuple[Path, dict[str, int]]) -> None:
    tenth = small[1]
    half = generate(tmp_path, scale=0.5, formats=("parquet",))
    for table in ("customers", "orders", "shipments", "tickets", "leads", "web_sessions", "purchase_orders"):
        assert 4.0 < half[table] / tenth[table] < 6.0, table
    assert half["warehouse_months"] == tenth["warehouse_months"] == 4 * 24


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="formats"):
        generate(tmp_path, formats=("xlsx",))
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0)


def test_csv_rows_are_counted_as_reported(small: tuple[Path, dict[str, int]]) -> None:
    folder, counts = small
    assert {table: len(rows(folder, table)) for table in counts} == counts


def test_keys_are_unique_and_numbered_in_time_order(small: tuple[Path, dict[str, int]]) -> None:
    folder = small[0]
    for table, key, time in (
        ("orders", "order_id", "order_date"),
        ("shipments", "shipment_id", "ship_date"),
        ("tickets", "ticket_id", "opened_at"),
        ("contracts", "contract_id", "start_date"),
    ):
        data = rows(folder, table)
        assert [int(r[key]) for r in data] == list(range(1, len(data) + 1)), table
        assert [r[time] for r in data] == sorted(r[time] for r in data), table


def test_facts_stay_in_the_two_years(small: tuple[Path, dict[str, int]]) -> None:
    folder = small[0]
    for table, column in (
        ("orders", "order_date"),
        ("orders", "ship_date"),
        ("shipments", "delivered_date"),
        ("tickets", "opened_at"),
        ("interactions", "date"),
        ("leads", "created_date"),
        ("web_sessions", "date"),
        ("purchase_orders", "order_date"),
        ("supplier_invoices", "due_date"),
    ):
        values = [r[column][:10] for r in rows(folder, table) if r[column]]
        assert min(values) >= FIRST and max(values) <= LAST, (table, column)


def test_shipments_follow_their_orders(small: tuple[Path, dict[str, int]]) -> None:
    folder = small[0]
    orders = {o["order_id"]: o for o in rows(folder, "orders")}
    shipments = rows(folder, "shipments")
    shipped = {s["order_id"] for s in shipments}
    assert len(shipped) == len(shipments)  # one delivery per order
    for order in orders.values():
        assert (order["order_id"] in shipped) == bool(order["ship_date"])
        if order["sale_type"] == "renewal":
            assert not order["ship_date"]  # renewals are not physical
    for s in shipments:
        order = orders[s["order_id"]]
        assert s["ship_date"] == order["ship_date"] >= order["order_date"]
        assert dt.date.fromisoformat(s["ship_date"]).weekday() < 5
        assert Decimal(s["weight_kg"]) <= Decimal(s["capacity_kg"])
        if s["delivered_date"]:
            assert s["on_time"] == ("true" if s["delivered_date"] <= s["promised_date"] else "false")
        else:
            assert s["on_time"] == s["complete"] == ""  # still on its way: not known yet


def test_on_time_shipments_of_one_month_recounted(small: tuple[Path, dict[str, int]]) -> None:
    """The CSV and the Parquet of one run hold the same on-time count for June 2025."""
    import duckdb

    folder = small[0]
    june = [s for s in rows(folder, "shipments") if s["ship_date"].startswith("2025-06")]
    on_time = sum(s["delivered_date"] <= s["promised_date"] for s in june if s["delivered_date"])
    con = duckdb.connect()
    parquet = con.execute(
        "SELECT count(*) FILTER (WHERE on_time), count(*) FROM read_parquet(?) "
        "WHERE ship_date BETWEEN '2025-06-01' AND '2025-06-30'",
        [str(folder / "shipments.parquet")],
    ).fetchall()
    con.close()
    assert parquet == [(on_time, len(june))]
    assert 0 < on_time < len(june)


def test_renewal_revenue_matches_renewed_contracts(small: tuple[Path, dict[str, int]]) -> None:
    folder = small[0]
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for order in rows(folder, "orders"):
        if order["sale_type"] == "renewal":
            booked[order["order_date"][:7]] += Decimal(order["amount"])
    renewed: dict[str, Decimal] = defaultdict(Decimal)
    for contract in rows(folder, "contracts"):
        assert (contract["status"] == "active") == (contract["end_date"] > LAST)
        assert bool(contract["renewal_amount"]) == (contract["status"] == "renewed")
        if contract["status"] == "renewed":
            renewed[contract["end_date"][:7]] += Decimal(contract["renewal_amount"])
    assert booked == renewed


def test_referrals_and_surveys_are_consistent(small: tuple[Path, dict[str, int]]) -> None:
    folder = small[0]
    signups = {c["customer_id"]: c["signup_date"] for c in rows(folder, "customers")}
    for customer in rows(folder, "customers"):
        if customer["referred_by"]:
            assert customer["acquisition_channel"] == "referral"
            assert signups[customer["referred_by"]] <= customer["signup_date"]
    for ticket in rows(folder, "tickets"):
        if ticket["resolved_at"]:
            assert ticket["resolved_at"] > ticket["opened_at"]
        else:
            assert not ticket["satisfaction"]  # the survey is sent on resolution
        assert ticket["satisfaction"] in ("", "1", "2", "3", "4", "5")
    for session in rows(folder, "web_sessions"):
        assert int(session["cta_clicks"]) <= int(session["cta_views"])
        assert not session["keyword"] or session["channel"] in ("organic_search", "paid_search")


def test_the_story_moves_the_kpis(small: tuple[Path, dict[str, int]]) -> None:
    """2025's programmes show: more deliveries on time, faster ticket resolution."""
    folder = small[0]
    by_year: dict[str, list[bool]] = defaultdict(list)
    for s in rows(folder, "shipments"):
        if s["on_time"]:
            by_year[s["ship_date"][:4]].append(s["on_time"] == "true")
    rate = {year: sum(hits) / len(hits) for year, hits in by_year.items()}
    assert rate["2024"] + 0.03 < rate["2025"] < 1.0
    hours: dict[str, list[float]] = defaultdict(list)
    for t in rows(folder, "tickets"):
        if t["resolved_at"]:
            opened, resolved = (dt.datetime.fromisoformat(t[c]) for c in ("opened_at", "resolved_at"))
            hours[t["opened_at"][:4]].append((resolved - opened).total_seconds() / 3600)
    assert sum(hours["2025"]) / len(hours["2025"]) < sum(hours["2024"]) / len(hours["2024"])


def test_shipped_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    """data/ is up to date: regenerate scale 1 and compare every row (not bytes, which depend
    on the DuckDB version that wrote them)."""
    import duckdb

    generate(tmp_path)
    con = duckdb.connect()
    for table in TABLES:
        shipped, fresh = (
            con.execute(f"SELECT * FROM read_parquet('{folder / table.name}.parquet')").fetchall()
            for folder in (ROOT / "data", tmp_path)
        )
        assert shipped == fresh, f"data/{table.name}.parquet is stale: run python -m sample --out data"
    con.close()
