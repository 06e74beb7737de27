"""Purchase orders and supplier invoices: the purchasing department.

Five buyers place purchase orders on working days for thirty items (pallets, cartons, spare
parts, services…), each item sourced from one to three referenced suppliers, fewer of them
single-sourced from 2025. A buyer receives a first offer, negotiates a final price and compares
it with the budget; some orders are urgent, and urgent ones more often skip the purchase-order
or tender process. Suppliers differ in how often their deliveries conform.

Supplier invoices are issued with 30, 45 or 60 days' terms; the table holds the invoices that
fell due in 2024-2025 (so some were issued in late 2023). Most are paid on time, more of them
from 2025 when payment runs become weekly; an invoice not paid by 2025-12-31 has a NULL
``paid_date``.
"""

from __future__ import annotations

import random

from sample.shape import LAST_DAY, MONTHS, Y2025, demand, money, poisson, weekday
from sample.tables import RowWriter, Table

#: name, share of conforming deliveries, payment terms (days).
SUPPLIERS = (
    ("Acier Dupont SA", 0.97, 60),
    ("Nordic Packaging AB", 0.95, 45),
    ("Rhein Paletten GmbH", 0.93, 30),
    ("Iberia Cartones SL", 0.90, 60),
    ("Atlas Industrial Supply", 0.96, 30),
    ("Kanto Components KK", 0.98, 45),
    ("Lusitania Plasticos", 0.88, 60),
    ("Polska Folie Sp zoo", 0.92, 30),
    ("Midwest Forklift Service", 0.97, 45),
    ("Pacific Labels Pte Ltd", 0.94, 30),
    ("Andes Logistica SA", 0.86, 60),
    ("Benelux Office BV", 0.99, 30),
    ("Alpine Tools AG", 0.97, 45),
    ("Danube Chemicals Kft", 0.91, 60),
    ("Loire Energie SAS", 0.98, 30),
    ("Harbor IT Hardware Inc", 0.95, 45),
    ("Cedar Cleaning Services", 0.93, 30),
    ("Meridian Security Ltd", 0.96, 60),
)
#: item, typical order value (EUR), supplier indexes referenced in 2024, extra supplier from 2025.
ITEMS = (
    ("pallets", 4200.0, (2, 0), None),
    ("cartons", 3100.0, (1, 3), 7),
    ("stretch film", 1800.0, (7,), 1),
    ("labels", 900.0, (9,), None),
    ("forklift service", 5200.0, (8,), 4),
    ("spare parts", 2600.0, (4, 12), None),
    ("it hardware", 7800.0, (15,), None),
    ("office supplies", 450.0, (11,), None),
    ("cleaning", 1500.0, (16,), None),
    ("security", 3900.0, (17,), None),
    ("electricity", 12500.0, (14,), None),
    ("chemicals", 2200.0, (13,), 0),
    ("steel racks", 9800.0, (0, 12), 2),
    ("plastic crates", 2400.0, (6,), 3),
    ("conveyor parts", 6100.0, (5, 4), None),
    ("freight forwarding", 8600.0, (10,), None),
    ("packaging tape", 600.0, (7, 1), None),
    ("safety shoes", 1300.0, (12,), 4),
)
#: buyer, mean negotiated discount off the first offer, processing cost per order (EUR).
BUYERS = (
    ("a.martin", 0.085, 88.0),
    ("c.dubois", 0.06, 72.0),
    ("j.smith", 0.07, 105.0),
    ("l.chen", 0.095, 96.0),
    ("m.garcia", 0.05, 64.0),
)

PURCHASE_ORDERS = Table(
    "purchase_orders",
    raw=(
        ("seq", "BIGINT"),
        ("supplier", "VARCHAR"),
        ("item", "VARCHAR"),
        ("buyer", "VARCHAR"),
        ("day", "INTEGER"),
        ("first_offer", "DECIMAL(12,2)"),
        ("final_price", "DECIMAL(12,2)"),
        ("budget", "DECIMAL(12,2)"),
        ("urgent", "BOOLEAN"),
        ("has_po_or_tender", "BOOLEAN"),
        ("conforming", "BOOLEAN"),
        ("purchasing_cost", "DECIMAL(12,2)"),
    ),
    select="""
        SELECT CAST(seq AS INTEGER) AS po_id, supplier, item, buyer, as_date(day) AS order_date, first_offer,
               final_price, budget, urgent, has_po_or_tender, conforming, purchasing_cost, seq AS _seq
        FROM raw_purchase_orders""",
    order_by="po_id",
)

SUPPLIER_INVOICES = Table(
    "supplier_invoices",
    raw=(
        ("seq", "BIGINT"),
        ("supplier", "VARCHAR"),
        ("invoice_day", "INTEGER"),
        ("due_day", "INTEGER"),
        ("paid_day", "INTEGER"),
        ("amount", "DECIMAL(12,2)"),
    ),
    select="""
        SELECT CAST(row_number() OVER (ORDER BY invoice_day, seq) AS INTEGER) AS invoice_id, supplier,
               as_date(invoice_day) AS invoice_date, as_date(due_day) AS due_date,
               as_date(paid_day) AS paid_date, amount, seq AS _seq
        FROM raw_supplier_invoices""",
    order_by="invoice_id",
)

TABLES = (PURCHASE_ORDERS, SUPPLIER_INVOICES)


def _working_days(first: int, last: int) -> list[int]:
    return [d for d in range(first, last + 1) if weekday(d) < 5]


def _orders(rng: random.Random, scale: float, writer: RowWriter) -> None:
    seq = 0
    for day in _working_days(0, LAST_DAY):
        year2 = day >= Y2025
        for _ in range(poisson(rng, 6.0 * scale * demand(day))):
            item, value, referenced, extra = rng.choice(ITEMS)
            suppliers = referenced + ((extra,) if year2 and extra is not None else ())
            urgent = rng.random() < (0.15 if year2 else 0.19)
            # Urgent purchases skip the process more often; the 2025 procurement policy cuts both.
            off_process = rng.random() < (0.05 + (0.12 if urgent else 0.0)) * (0.7 if year2 else 1.0)
            supplier_index = rng.randrange(len(SUPPLIERS)) if off_process else rng.choice(suppliers)
            supplier, quality, _ = SUPPLIERS[supplier_index]
            buyer, discount, cost = rng.choice(BUYERS)
            budget = value * rng.lognormvariate(0.0, 0.5)
            first_offer = budget * rng.uniform(0.97, 1.22) * (1.06 if urgent else 1.0)
            final_price = first_offer * (1.0 - discount * rng.uniform(0.2, 1.8) * (0.5 if urgent else 1.0))
            processing = cost * rng.uniform(0.8, 1.2) + (45.0 if urgent else 0.0) - (6.0 if year2 else 0.0)
            seq += 1
            writer.writerow(
                (
                    seq,
                    supplier,
                    item,
                    buyer,
                    day,
                    money(first_offer),
                    money(final_price),
                    money(budget),
                    int(urgent),
                    int(not off_process),
                    int(rng.random() < quality),
                    money(processing),
                )
            )


def _invoices(rng: random.Random, scale: float, writer: RowWriter) -> None:
    seq = 0
    first_issue = MONTHS[10][0]  # 2023-11-01: early enough for 60-day invoices due in January 2024
    for day in _working_days(first_issue, LAST_DAY):
        for _ in range(poisson(rng, 5.0 * scale * demand(max(day, 0)))):
            supplier, _, terms = rng.choice(SUPPLIERS)
            due, amount = day + terms, money(rng.lognormvariate(7.8, 0.9))
            if not 0 <= due <= LAST_DAY:
                continue
            # Weekly payment runs from 2025 pay more invoices by their due date.
            on_time = rng.random() < (0.88 if due >= Y2025 else 0.81)
            paid_day = due - rng.randrange(8) if on_time else due + 1 + rng.randrange(25)
            # NULL: not paid yet on 2025-12-31, or disputed.
            paid = None if paid_day > LAST_DAY or rng.random() < 0.005 else paid_day
            seq += 1
            writer.writerow((seq, supplier, day, due, paid, amount))


def write(seed: int, scale: float, writers: dict[str, RowWriter]) -> None:
    """Write purchase orders and supplier invoices, day by day."""
    _orders(random.Random(f"{seed}/purchase_orders"), scale, writers["purchase_orders"])
    _invoices(random.Random(f"{seed}/invoices"), scale, writers["supplier_invoices"])
