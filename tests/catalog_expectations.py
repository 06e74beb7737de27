"""Expected values of the seed catalog for December 2025, computed in plain Python.

Each function reads a CSV export of the shipped sample data with the ``csv`` module and
recomputes one KPI the way its catalog definition says, without SQL: these numbers are the
independent side of ``test_catalog.py``, which compares them with ``Project.run``. There is
at least one KPI per domain, the two-source ratios, and breakdowns through a lookup.

``TOTALS`` maps a KPI to a function of the CSV folder returning its 2025-12 value;
``BREAKDOWNS`` maps (KPI, dimension) to a function returning {dimension value: 2025-12 value}.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import cache
from pathlib import Path

MONTH = "2025-12"  # the month checked: dates are compared as ISO text, "2025-12-…" is in it
PERIOD = dt.date(2025, 12, 1)


@cache
def _table(folder: Path, name: str) -> tuple[dict[str, str], ...]:
    with open(folder / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _in_month(rows: Iterable[dict[str, str]], column: str) -> list[dict[str, str]]:
    return [r for r in rows if r[column].startswith(MONTH)]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _minutes(start: str, end: str) -> float:
    fmt = "%Y-%m-%d %H:%M:%S"
    return (dt.datetime.strptime(end, fmt) - dt.datetime.strptime(start, fmt)).total_seconds() / 60


def _true(value: str) -> bool:
    return value == "true"


def _regions(folder: Path) -> dict[str, str]:
    """customer_id → region: the lookup from orders (or contracts, tickets…) to customers."""
    return {c["customer_id"]: c["region"] for c in _table(folder, "customers")}


# -- retention and relationship ---------------------------------------------------------------


def retention_rate(folder: Path) -> float | None:
    ended = [c for c in _in_month(_table(folder, "contracts"), "end_date") if c["status"] != "active"]
    return _ratio(sum(c["status"] == "renewed" for c in ended), len(ended))


def resolution_time(folder: Path) -> float | None:
    tickets = _in_month(_table(folder, "tickets"), "opened_at")
    return _mean([_minutes(t["opened_at"], t["resolved_at"]) / 60 for t in tickets if t["resolved_at"]])


def resolution_time_p90(folder: Path) -> float | None:
    """The 90th percentile with linear interpolation between closest ranks (quantile_cont)."""
    tickets = _in_month(_table(folder, "tickets"), "opened_at")
    minutes = sorted(_minutes(t["opened_at"], t["resolved_at"]) for t in tickets if t["resolved_at"])
    position = 0.9 * (len(minutes) - 1)
    low = int(position)
    high = min(low + 1, len(minutes) - 1)
    return (minutes[low] + (minutes[high] - minutes[low]) * (position - low)) / 60


def csat(folder: Path) -> float | None:
    tickets = _in_month(_table(folder, "tickets"), "opened_at")
    return _mean([int(t["satisfaction"]) for t in tickets if t["satisfaction"]])


def strategic_calls(folder: Path) -> float:
    rows = _in_month(_table(folder, "interactions"), "date")
    return sum(r["kind"] == "call" and r["purpose"] == "strategic" for r in rows)


def engagement_rate(folder: Path) -> float | None:
    rows = _in_month(_table(folder, "interactions"), "date")
    return _ratio(sum(r["kind"] == "reply" for r in rows), sum(r["kind"] in ("call", "email") for r in rows))


def referrals(folder: Path) -> float:
    return sum(bool(c["referred_by"]) for c in _in_month(_table(folder, "customers"), "signup_date"))


# -- revenue --------------------------------------------------------------------------------


def _revenue(folder: Path, sale_type: str | None = None) -> Decimal:
    orders = _in_month(_table(folder, "orders"), "order_date")
    return sum((Decimal(o["amount"]) for o in orders if sale_type in (None, o["sale_type"])), Decimal(0))


def revenue(folder: Path) -> float:
    return float(_revenue(folder))


def revenue_upsell(folder: Path) -> float:
    return float(_revenue(folder, "upsell"))


def revenue_direct_by_region(folder: Path) -> dict[str | None, float | None]:
    regions = _regions(folder)
    totals: dict[str | None, Decimal] = defaultdict(Decimal)
    for order in _in_month(_table(folder, "orders"), "order_date"):
        if order["sale_type"] == "direct":
            totals[regions[order["customer_id"]]] += Decimal(order["amount"])
    return {region: float(total) for region, total in totals.items()}


# -- marketing ------------------------------------------------------------------------------


def _conversions(folder: Path) -> tuple[dict[str, int], dict[str, set[str]]]:
    """Converted leads and distinct visitors of the month, by marketing channel."""
    converted: dict[str, int] = defaultdict(int)
    for lead in _in_month(_table(folder, "leads"), "created_date"):
        converted[lead["channel"]] += _true(lead["converted"])
    visitors: dict[str, set[str]] = defaultdict(set)
    for session in _in_month(_table(folder, "web_sessions"), "date"):
        visitors[session["channel"]].add(session["visitor_id"])
    return converted, visitors


def visitors(folder: Path) -> float:
    return len({s["visitor_id"] for s in _in_month(_table(folder, "web_sessions"), "date")})


def conversion_rate(folder: Path) -> float | None:
    converted, by_channel = _conversions(folder)
    return _ratio(sum(converted.values()), len(set().union(*by_channel.values())))


def conversion_rate_by_channel(folder: Path) -> dict[str | None, float | None]:
    converted, by_channel = _conversions(folder)
    return {channel: _ratio(converted[channel], len(seen)) for channel, seen in by_channel.items()}


def cta_click_rate(folder: Path) -> float | None:
    sessions = _in_month(_table(folder, "web_sessions"), "date")
    return _ratio(sum(int(s["cta_clicks"]) for s in sessions), sum(int(s["cta_views"]) for s in sessions))


def traffic_by_keyword(folder: Path) -> dict[str | None, float | None]:
    """Search visits by keyword; an empty keyword (not provided) is the NULL group."""
    sessions = _in_month(_table(folder, "web_sessions"), "date")
    counts = Counter(s["keyword"] or None for s in sessions if s["channel"] in ("organic_search", "paid_search"))
    return {keyword: float(count) for keyword, count in counts.items()}


# -- purchasing -----------------------------------------------------------------------------


def negotiation_gap(folder: Path) -> float | None:
    orders = _in_month(_table(folder, "purchase_orders"), "order_date")
    first = sum(Decimal(o["first_offer"]) for o in orders)
    final = sum(Decimal(o["final_price"]) for o in orders)
    return _ratio(float(first - final), float(first))


def suppliers_per_item(folder: Path) -> float | None:
    orders = [o for o in _in_month(_table(folder, "purchase_orders"), "order_date") if _true(o["has_po_or_tender"])]
    return _ratio(len({(o["item"], o["supplier"]) for o in orders}), len({o["item"] for o in orders}))


def avg_order_cost(folder: Path) -> float | None:
    orders = _in_month(_table(folder, "purchase_orders"), "order_date")
    return _ratio(float(sum(Decimal(o["purchasing_cost"]) for o in orders)), len(orders))


def supplier_payment_compliance(folder: Path) -> float | None:
    invoices = _in_month(_table(folder, "supplier_invoices"), "due_date")
    # ISO dates compare as text; an unpaid invoice (empty paid_date) is late.
    on_time = sum(bool(i["paid_date"]) and i["paid_date"] <= i["due_date"] for i in invoices)
    return _ratio(on_time, len(invoices))


# -- transport and storage --------------------------------------------------------------------


def _shipped(folder: Path) -> list[dict[str, str]]:
    return _in_month(_table(folder, "shipments"), "ship_date")


def on_time_delivery_rate(folder: Path) -> float | None:
    delivered = [s for s in _shipped(folder) if s["on_time"]]
    return _ratio(sum(_true(s["on_time"]) for s in delivered), len(delivered))


def on_time_delivery_rate_by_region(folder: Path) -> dict[str | None, float | None]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for shipment in _shipped(folder):
        if shipment["on_time"]:
            counts[shipment["region"]][0] += _true(shipment["on_time"])
            counts[shipment["region"]][1] += 1
    return {region: _ratio(hits, total) for region, (hits, total) in counts.items()}


def otif_rate(folder: Path) -> float | None:
    delivered = [s for s in _shipped(folder) if s["on_time"]]
    return _ratio(sum(_true(s["on_time"]) and _true(s["complete"]) for s in delivered), len(delivered))


def transport_utilization(folder: Path) -> float | None:
    shipments = _shipped(folder)
    return _ratio(
        float(sum(Decimal(s["weight_kg"]) for s in shipments)), float(sum(Decimal(s["capacity_kg"]) for s in shipments))
    )


def transport_cost_to_sales(folder: Path) -> float | None:
    """Cost of what shipped in the month over revenue of what was ordered in the month."""
    cost = sum(Decimal(s["transport_cost"]) for s in _shipped(folder))
    return _ratio(float(cost), float(_revenue(folder)))


def storage_unit_cost(folder: Path) -> float | None:
    months = _in_month(_table(folder, "warehouse_months"), "month")
    occupied = sum(int(m["nominal_capacity"]) * float(m["occupancy_index"]) for m in months)
    return _ratio(float(sum(Decimal(m["storage_cost"]) for m in months)), occupied)


def order_processing_time(folder: Path) -> float | None:
    orders = _in_month(_table(folder, "orders"), "order_date")
    return _mean(
        [
            (dt.date.fromisoformat(o["ship_date"]) - dt.date.fromisoformat(o["order_date"])).days
            for o in orders
            if o["ship_date"]
        ]
    )


def new_customers(folder: Path) -> float:
    return len(_in_month(_table(folder, "customers"), "signup_date"))


def activation_rate(folder: Path) -> float | None:
    """December's new customers with an order on or after the day they signed, 30 days at most
    (each customer signs once, so their one signing is the latest before any of their orders)."""
    signed = {
        c["customer_id"]: dt.date.fromisoformat(c["signup_date"])
        for c in _in_month(_table(folder, "customers"), "signup_date")
    }
    active = {
        o["customer_id"]
        for o in _table(folder, "orders")
        if o["customer_id"] in signed
        and 0 <= (dt.date.fromisoformat(o["order_date"]) - signed[o["customer_id"]]).days <= 30
    }
    return _ratio(len(active), len(signed))


def _occupancy(months: list[dict[str, str]]) -> float | None:
    capacity = sum(int(m["nominal_capacity"]) for m in months)
    return _ratio(sum(int(m["nominal_capacity"]) * float(m["occupancy_index"]) for m in months), capacity)


def warehouse_occupancy(folder: Path) -> float | None:
    return _occupancy(_in_month(_table(folder, "warehouse_months"), "month"))


def warehouse_occupancy_by_warehouse(folder: Path) -> dict[str | None, float | None]:
    months = _in_month(_table(folder, "warehouse_months"), "month")
    return {w: _occupancy([m for m in months if m["warehouse"] == w]) for w in {m["warehouse"] for m in months}}


TOTALS: dict[str, Callable[[Path], float | None]] = {
    "retention_rate": retention_rate,
    "csat": csat,
    "resolution_time": resolution_time,
    "resolution_time_p90": resolution_time_p90,
    "strategic_calls": strategic_calls,
    "engagement_rate": engagement_rate,
    "referrals": referrals,
    "revenue": revenue,
    "revenue_upsell": revenue_upsell,
    "visitors": visitors,
    "conversion_rate": conversion_rate,
    "cta_click_rate": cta_click_rate,
    "negotiation_gap": negotiation_gap,
    "suppliers_per_item": suppliers_per_item,
    "avg_order_cost": avg_order_cost,
    "supplier_payment_compliance": supplier_payment_compliance,
    "on_time_delivery_rate": on_time_delivery_rate,
    "otif_rate": otif_rate,
    "transport_utilization": transport_utilization,
    "transport_cost_to_sales": transport_cost_to_sales,
    "storage_unit_cost": storage_unit_cost,
    "order_processing_time": order_processing_time,
    "new_customers": new_customers,
    "activation_rate": activation_rate,
    "warehouse_occupancy": warehouse_occupancy,
}

BREAKDOWNS: dict[tuple[str, str], Callable[[Path], dict[str | None, float | None]]] = {
    ("revenue_direct", "region"): revenue_direct_by_region,
    ("conversion_rate", "channel"): conversion_rate_by_channel,
    ("traffic_by_keyword", "keyword"): traffic_by_keyword,
    ("on_time_delivery_rate", "region"): on_time_delivery_rate_by_region,
    ("warehouse_occupancy", "warehouse"): warehouse_occupancy_by_warehouse,
}
