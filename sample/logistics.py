"""Orders, their shipments and the monthly warehouse ledger: the revenue and logistics side.

Each active customer orders a few times a month (enterprise most, small businesses least),
seasonally; renewed contracts also book a ``renewal`` order shortly before they expire. Orders
are picked and shipped on business days; the warehouse is slow in the November-December peak
and faster from March 2025, when a new warehouse management system goes live. A shipment is
promised a delivery date from the order date and a regional lead time; carriers add delays,
so late and incomplete deliveries happen, most in LATAM and in the peak. What happens after
2025-12-31 is unknown, so an order not shipped by then has a NULL ``ship_date`` and no
shipment, and a shipment still on its way has NULL ``delivered_date``, ``on_time`` and
``complete``. Renewal orders are not physical: they never ship.
"""

from __future__ import annotations

import math
import random

from sample.customers import Account
from sample.shape import (
    DATA_MONTHS,
    LAST_DAY,
    SEASON,
    Y2025,
    money,
    month_of,
    next_business_day,
    pick,
    poisson,
)
from sample.tables import RowWriter, Table

#: Orders per active customer per month, by segment.
ORDER_RATE = {"enterprise": 3.2, "mid_market": 1.4, "smb": 0.55}
#: Mean order amount (EUR) by segment, and multiplier by sale type.
ORDER_VALUE = {"enterprise": 5200.0, "mid_market": 2300.0, "smb": 850.0}
SALE_VALUE = {"direct": 1.0, "cross_sell": 0.8, "upsell": 1.35}
SALES_CHANNELS = {
    "enterprise": (("key_account", 0.70), ("partner", 0.20), ("web", 0.10)),
    "mid_market": (("inside_sales", 0.50), ("web", 0.30), ("partner", 0.20)),
    "smb": (("web", 0.60), ("inside_sales", 0.25), ("partner", 0.15)),
}
CARRIERS = {
    "EU": (("DHL", 0.40), ("DB Schenker", 0.35), ("GLS", 0.25)),
    "NA": (("UPS", 0.50), ("FedEx", 0.40), ("DHL", 0.10)),
    "APAC": (("DHL", 0.55), ("FedEx", 0.45)),
    "LATAM": (("DHL", 0.60), ("FedEx", 0.40)),
}
#: Mean extra transit days over the regional base, by carrier and by region (customs, distances).
CARRIER_DELAY = {"DHL": 0.55, "DB Schenker": 0.75, "GLS": 1.0, "UPS": 0.5, "FedEx": 0.65}
REGION_DELAY = {"EU": 0.0, "NA": 0.2, "APAC": 0.5, "LATAM": 1.2}
#: Days promised from order to delivery, base transit days, fixed fee and price per booked kg.
PROMISE = {"EU": 7, "NA": 8, "APAC": 10, "LATAM": 12}
TRANSIT = {"EU": 2, "NA": 3, "APAC": 4, "LATAM": 6}
FEE = {"EU": 14.0, "NA": 20.0, "APAC": 36.0, "LATAM": 42.0}
PER_KG = {"EU": 0.30, "NA": 0.36, "APAC": 0.70, "LATAM": 0.80}
#: Month in which the new warehouse management system makes picking faster (2025-03).
WMS_LIVE = Y2025 + 59
WAREHOUSES = (  # name, nominal capacity (pallet positions), fixed monthly cost, cost per occupied position
    ("Lyon", 4000, 30_000.0, 7.5),
    ("Rotterdam", 6000, 40_000.0, 7.0),
    ("Atlanta", 5000, 36_000.0, 8.0),
    ("Singapore", 3000, 27_000.0, 9.5),
)

ORDERS = Table(
    "orders",
    raw=(
        ("seq", "BIGINT"),
        ("customer_id", "INTEGER"),
        ("order_day", "INTEGER"),
        ("ship_day", "INTEGER"),
        ("channel", "VARCHAR"),
        ("sale_type", "VARCHAR"),
        ("amount", "DECIMAL(12,2)"),
    ),
    select="""
        SELECT CAST(row_number() OVER (ORDER BY order_day, seq) AS INTEGER) AS order_id, customer_id,
               as_date(order_day) AS order_date, as_date(ship_day) AS ship_date, channel, sale_type,
               amount, seq AS _seq
        FROM raw_orders""",
    order_by="order_id",
)

SHIPMENTS = Table(
    "shipments",
    raw=(
        ("seq", "BIGINT"),
        ("order_seq", "BIGINT"),
        ("ship_day", "INTEGER"),
        ("promised_day", "INTEGER"),
        ("delivered_day", "INTEGER"),
        ("region", "VARCHAR"),
        ("carrier", "VARCHAR"),
        ("complete", "BOOLEAN"),
        ("weight_kg", "DECIMAL(10,1)"),
        ("capacity_kg", "DECIMAL(10,1)"),
        ("transport_cost", "DECIMAL(12,2)"),
    ),
    select="""
        SELECT CAST(row_number() OVER (ORDER BY s.ship_day, o.order_id) AS INTEGER) AS shipment_id,
               o.order_id, as_date(s.ship_day) AS ship_date, as_date(s.promised_day) AS promised_date,
               as_date(s.delivered_day) AS delivered_date, s.region, s.carrier,
               s.delivered_day <= s.promised_day AS on_time, s.complete, s.weight_kg, s.capacity_kg,
               s.transport_cost, s.seq AS _seq
        FROM raw_shipments AS s JOIN orders AS o ON o._seq = s.order_seq""",
    order_by="shipment_id",
)

WAREHOUSE_MONTHS = Table(
    "warehouse_months",
    raw=(
        ("seq", "BIGINT"),
        ("month_day", "INTEGER"),
        ("warehouse", "VARCHAR"),
        ("storage_cost", "DECIMAL(12,2)"),
        ("nominal_capacity", "INTEGER"),
        ("occupancy_index", "DOUBLE"),
    ),
    select="""
        SELECT as_date(month_day) AS month, warehouse, storage_cost, nominal_capacity, occupancy_index,
               seq AS _seq
        FROM raw_warehouse_months""",
    order_by="month, warehouse",
)

TABLES = (ORDERS, SHIPMENTS, WAREHOUSE_MONTHS)


class _Writer:
    """Numbers and writes orders and their shipments (``seq`` links a shipment to its order)."""

    def __init__(self, rng: random.Random, writers: dict[str, RowWriter]) -> None:
        self.rng = rng
        self.orders, self.shipments = writers["orders"], writers["shipments"]
        self.order_seq = self.shipment_seq = 0

    def order(self, account: Account, day: int, sale_type: str, amount: float, channel: str) -> None:
        """Write one order and, if it is physical and ships before the data ends, its shipment."""
        self.order_seq += 1
        ship_day = None if sale_type == "renewal" else self._ship_day(day, channel)
        if ship_day is not None and ship_day > LAST_DAY:
            ship_day = None
        self.orders.writerow((self.order_seq, account.customer_id, day, ship_day, channel, sale_type, amount))
        if ship_day is not None:
            self._shipment(account.region, day, ship_day, amount)

    def _ship_day(self, day: int, channel: str) -> int:
        rng = self.rng
        days = (1 if channel == "web" else 2) + poisson(rng, 0.7 if day >= WMS_LIVE else 1.3)
        if month_of(day) in (11, 12):  # the peak: backlog in picking and packing
            days += poisson(rng, 1.1 if day < Y2025 else 0.6)
        return next_business_day(day + days)

    def _shipment(self, region: str, order_day: int, ship_day: int, amount: float) -> None:
        rng = self.rng
        carrier = pick(rng, CARRIERS[region])
        peak = month_of(ship_day) == 12
        delay = rng.expovariate(1.0 / (CARRIER_DELAY[carrier] + REGION_DELAY[region] + (0.5 if peak else 0.0)))
        arrival = ship_day + TRANSIT[region] + int(delay)
        incomplete = 0.035 * (2.2 if peak or month_of(ship_day) == 11 else 1.0) * (0.8 if ship_day >= Y2025 else 1.0)
        complete: int | None = 0 if rng.random() < incomplete else 1
        delivered: int | None = arrival
        if arrival > LAST_DAY:
            delivered = complete = None  # still on its way on 2025-12-31
        weight = max(1.0, amount / rng.uniform(14.0, 34.0))
        # Consolidated loads from 2025 fill the booked capacity better.
        fill = rng.uniform(0.58, 0.96) if ship_day >= Y2025 else rng.uniform(0.52, 0.92)
        capacity = math.ceil(weight / fill / 10.0) * 10.0
        fuel = 1.0 + 0.05 * ship_day / 365.0
        cost = (FEE[region] + PER_KG[region] * capacity) * fuel * rng.uniform(0.9, 1.1)
        self.shipment_seq += 1
        self.shipments.writerow(
            (
                self.shipment_seq,
                self.order_seq,
                ship_day,
                order_day + PROMISE[region],
                delivered,
                region,
                carrier,
                complete,
                round(weight, 1),
                capacity,
                money(cost),
            )
        )


def write(seed: int, accounts: list[Account], writers: dict[str, RowWriter]) -> None:
    """Write orders and shipments for every account, then the warehouse ledger."""
    rng = random.Random(f"{seed}/orders")
    out = _Writer(rng, writers)
    for account in accounts:
        rate, mean = ORDER_RATE[account.segment], ORDER_VALUE[account.segment]
        channels = SALES_CHANNELS[account.segment]
        first_order = account.signup >= 0
        for start, ndays, month in DATA_MONTHS:
            lo, hi = max(start, account.signup), min(start + ndays - 1, account.until)
            if lo > hi:
                continue
            share = (hi - lo + 1) / ndays
            growth = 1.0 + 0.08 * (start >= Y2025)  # accounts buy a little more in the second year
            count = poisson(rng, rate * share * SEASON[month - 1] * growth)
            for day in sorted(lo + rng.randrange(hi - lo + 1) for _ in range(count)):
                if first_order:
                    sale_type, first_order = "direct", False
                else:
                    upsell = 0.24 if day >= Y2025 else 0.17  # the key-account programme sells upgrades
                    sale_type = pick(rng, (("direct", 0.83 - upsell - 0.25), ("cross_sell", 0.25), ("upsell", upsell)))
                amount = money(rng.lognormvariate(-0.18, 0.6) * mean * SALE_VALUE[sale_type])
                out.order(account, day, sale_type, amount, pick(rng, channels))
        for contract in account.contracts:
            if contract.status == "renewed" and contract.renewal_amount is not None:
                # A renewal is booked on the last day of the expiring term, so renewal revenue and
                # the retention rate (by contract end date) fall in the same month.
                channel = "key_account" if account.segment == "enterprise" else "inside_sales"
                out.order(account, contract.end, "renewal", contract.renewal_amount, channel)
    _warehouses(rng, writers["warehouse_months"])


def _warehouses(rng: random.Random, writer: RowWriter) -> None:
    """One row per warehouse and month: cost, capacity and how full it was on average."""
    seq = 0
    for start, _, month in DATA_MONTHS:
        for name, capacity, fixed, variable in WAREHOUSES:
            if name == "Rotterdam" and start >= Y2025 + 181:
                capacity = 7000  # the July 2025 extension: more capacity, not yet filled
            occupancy = min(0.97, 0.62 + 0.22 * (SEASON[month - 1] - 0.74) / 0.42 + rng.uniform(-0.05, 0.05))
            if name == "Rotterdam" and capacity == 7000:
                occupancy *= 0.86
            cost = (fixed + variable * capacity * occupancy) * (1.0 + 0.03 * (start >= Y2025))
            seq += 1
            writer.writerow((seq, start, name, money(cost), capacity, round(occupancy, 3)))
