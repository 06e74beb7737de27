"""Customers and their yearly contracts: who buys, from when, and until they leave.

The customer base is the spine of the sample: orders, tickets and interactions are generated
per customer while the customer is active, and stop when a contract is cancelled or not
renewed. About 30 accounts (x scale) sign each month from January 2022, seasonally, and more
from 2024 as the business grows; each signs a one-year contract renewed year after year until
it is cancelled or not renewed. Renewal odds depend on the segment and the region (LATAM
churns most) and improve a little in 2025, when the key-account programme starts; referrals
(``referred_by``) become more frequent in 2025 as well.

The ``contracts`` table holds the terms running on or after 2024-01-01 (the data window): the
2022-2023 history of a customer only decides whether it is still a customer in 2024.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sample.shape import LAST_DAY, MONTHS, SEASON, START, Y2025, money, pick, poisson
from sample.tables import RowWriter, Table

REGIONS = (("EU", 0.42), ("NA", 0.28), ("APAC", 0.19), ("LATAM", 0.11))
SEGMENTS = (("enterprise", 0.15), ("mid_market", 0.35), ("smb", 0.50))
#: Mean yearly contract value (EUR) by segment.
CONTRACT_VALUE = {"enterprise": 60_000.0, "mid_market": 16_000.0, "smb": 4_500.0}
#: Probability that a contract is renewed at its end, before region and year adjustments.
RENEWAL = {"enterprise": 0.93, "mid_market": 0.87, "smb": 0.80}
RENEWAL_REGION = {"EU": 0.0, "NA": 0.01, "APAC": -0.02, "LATAM": -0.06}

_STEMS = (
    "Nord",
    "Alpen",
    "Rhone",
    "Baltic",
    "Iberia",
    "Loire",
    "Danube",
    "Atlas",
    "Summit",
    "Harbor",
    "Pacific",
    "Andes",
    "Sakura",
    "Lotus",
    "Condor",
    "Aurora",
    "Cedar",
    "Granite",
    "Meridian",
    "Vega",
)
_TRADES = (
    "Logistics",
    "Industries",
    "Foods",
    "Pharma",
    "Retail",
    "Energy",
    "Systems",
    "Textiles",
    "Chemicals",
    "Components",
    "Distribution",
    "Packaging",
)
_LEGAL = {
    "EU": ("SA", "GmbH", "BV", "SpA", "SAS"),
    "NA": ("Inc", "LLC", "Corp"),
    "APAC": ("Pte Ltd", "Pty Ltd", "KK"),
    "LATAM": ("SA de CV", "Ltda", "SRL"),
}


@dataclass
class Contract:
    """One yearly term; ``status`` is decided at ``end`` (``active`` if that is after the data)."""

    start: int
    end: int
    status: str
    value: float
    renewal_amount: float | None = None


@dataclass
class Account:
    """A customer as the other generators see it: when it is active and what it looks like."""

    customer_id: int
    signup: int
    region: str
    segment: str
    #: Last day the customer is active: the end of its last contract, or the end of the data.
    until: int = LAST_DAY
    contracts: list[Contract] = field(default_factory=list)


CUSTOMERS = Table(
    "customers",
    raw=(
        ("seq", "BIGINT"),
        ("name", "VARCHAR"),
        ("region", "VARCHAR"),
        ("segment", "VARCHAR"),
        ("acquisition_channel", "VARCHAR"),
        ("referred_by", "INTEGER"),
        ("signup_day", "INTEGER"),
    ),
    select="""
        SELECT CAST(seq AS INTEGER) AS customer_id, name, region, segment, acquisition_channel,
               referred_by, as_date(signup_day) AS signup_date, seq AS _seq
        FROM raw_customers""",
    order_by="customer_id",
)

CONTRACTS = Table(
    "contracts",
    raw=(
        ("seq", "BIGINT"),
        ("customer_id", "INTEGER"),
        ("start_day", "INTEGER"),
        ("end_day", "INTEGER"),
        ("status", "VARCHAR"),
        ("annual_value", "DECIMAL(12,2)"),
        ("renewal_amount", "DECIMAL(12,2)"),
    ),
    select="""
        SELECT CAST(row_number() OVER (ORDER BY start_day, seq) AS INTEGER) AS contract_id, customer_id,
               as_date(start_day) AS start_date, as_date(end_day) AS end_date, status,
               annual_value, renewal_amount, seq AS _seq
        FROM raw_contracts""",
    order_by="contract_id",
)

TABLES = (CUSTOMERS, CONTRACTS)


def _one_year_later(day: int) -> int:
    """The last day of a one-year term starting on ``day`` (2024-03-01 → 2025-02-28)."""
    start = START + dt.timedelta(days=day)
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = start.replace(year=start.year + 1, day=28)
    return (anniversary - START).days - 1


def _signup_days(rng: random.Random, scale: float) -> list[int]:
    """Signup days in time order: seasonal monthly cohorts, growing from 2024."""
    days: list[int] = []
    for first, ndays, month in MONTHS:
        growth = 1.0 + 0.12 * max(0, first) / 365.0
        count = poisson(rng, 30 * scale * SEASON[month - 1] * growth)
        days.extend(first + rng.randrange(ndays) for _ in range(count))
    return sorted(days)


def _contracts(rng: random.Random, account: Account) -> None:
    """Chain yearly contracts from the signup until one is not renewed or the data ends.

    Terms that ended before 2024 are decided (a churned customer stops there) but not kept.
    """
    mean = CONTRACT_VALUE[account.segment]
    value = money(rng.lognormvariate(0, 0.45) * mean * 0.9)
    start = account.signup
    while True:
        end = _one_year_later(start)
        if end > LAST_DAY:
            account.contracts.append(Contract(start, end, "active", value))
            return
        odds = RENEWAL[account.segment] + RENEWAL_REGION[account.region] + (0.02 if end >= Y2025 else 0.0)
        renewed = rng.random() < odds
        renewal = money(value * (1.0 + rng.uniform(0.0, 0.08))) if renewed else None
        status = "renewed" if renewed else "cancelled" if rng.random() < 0.45 else "not_renewed"
        if end >= 0:
            account.contracts.append(Contract(start, end, status, value, renewal))
        if renewal is None:
            account.until = end
            return
        start, value = end + 1, renewal


def write(seed: int, scale: float, writers: dict[str, RowWriter]) -> list[Account]:
    """Write customers and contracts; return the accounts for the per-customer generators."""
    rng = random.Random(f"{seed}/customers")
    accounts: list[Account] = []
    customers, contracts = writers["customers"], writers["contracts"]
    contract_seq = 0
    for customer_id, signup in enumerate(_signup_days(rng, scale), start=1):
        region, segment = pick(rng, REGIONS), pick(rng, SEGMENTS)
        # The referral programme of 2025 lifts referrals from about 10 % to 17 % of new accounts.
        referral_share = 0.17 if signup >= Y2025 else 0.10
        referred_by = None
        if accounts and rng.random() < referral_share:
            channel, referred_by = "referral", rng.choice(accounts).customer_id
        else:
            channel = pick(rng, (("outbound", 0.34), ("inbound", 0.36), ("partner", 0.18), ("event", 0.12)))
        name = f"{rng.choice(_STEMS)} {rng.choice(_TRADES)} {rng.choice(_LEGAL[region])}"
        customers.writerow((customer_id, name, region, segment, channel, referred_by, signup))
        account = Account(customer_id, signup, region, segment)
        _contracts(rng, account)
        for c in account.contracts:
            contract_seq += 1
            contracts.writerow((contract_seq, customer_id, c.start, c.end, c.status, c.value, c.renewal_amount))
        accounts.append(account)
    return accounts
