"""Web sessions and leads: the online marketing funnel.

Every day brings web sessions and new leads, fewer at weekends, with the business seasons and
growth. Both carry the same marketing ``channel`` (organic_search, paid_search, social, email,
referral, direct) and ``landing_page``, so that a conversion rate can divide converted leads by
visitors channel by channel. Search sessions carry the ``keyword`` that brought them, except
organic searches whose keyword the search engine withholds (NULL, "not provided"). The site
redesign of April 2025 makes calls-to-action more clickable; from 2025 marketing moves budget
from paid search to content, so paid leads become a smaller share.
"""

from __future__ import annotations

import random

from sample.shape import DATA_MONTHS, Y2025, demand, pick, poisson, weekday
from sample.tables import RowWriter, Table

CHANNELS = ("organic_search", "paid_search", "social", "email", "referral", "direct")
SESSION_MIX = (0.38, 0.18, 0.14, 0.06, 0.06, 0.18)
LEAD_MIX_2024 = (0.30, 0.22, 0.15, 0.10, 0.08, 0.15)
LEAD_MIX_2025 = (0.33, 0.18, 0.15, 0.11, 0.09, 0.14)
#: Chance that a lead becomes a customer, by channel.
CONVERSION = {
    "organic_search": 0.22,
    "paid_search": 0.14,
    "social": 0.10,
    "email": 0.26,
    "referral": 0.42,
    "direct": 0.28,
}
#: Chance that one CTA view is clicked, by channel.
CLICK = {"organic_search": 0.09, "paid_search": 0.14, "social": 0.07, "email": 0.16, "referral": 0.12, "direct": 0.11}
LANDING = {
    "organic_search": (("/blog/otif-explained", 0.35), ("/whitepaper", 0.30), ("/", 0.20), ("/pricing", 0.15)),
    "paid_search": (("/demo", 0.45), ("/pricing", 0.35), ("/", 0.20)),
    "social": (("/webinar", 0.40), ("/whitepaper", 0.40), ("/", 0.20)),
    "email": (("/webinar", 0.50), ("/demo", 0.30), ("/pricing", 0.20)),
    "referral": (("/", 0.50), ("/demo", 0.50)),
    "direct": (("/", 0.50), ("/pricing", 0.30), ("/demo", 0.20)),
}
#: CTA views per session, by landing page.
CTA_VIEWS = {"/": 1.2, "/pricing": 2.0, "/demo": 1.5, "/blog/otif-explained": 0.8, "/whitepaper": 1.0, "/webinar": 1.0}
ORGANIC_KEYWORDS = (
    ("kpi dashboard", 30.0),
    ("otif definition", 18.0),
    ("on time delivery rate", 14.0),
    ("smart objectives", 11.0),
    ("churn rate formula", 9.0),
    ("key account manager kpi", 7.0),
    ("supply chain kpi", 6.0),
    ("metrics as code", 5.0),
)
PAID_KEYWORDS = (
    ("kpi software", 40.0),
    ("kpi dashboard tool", 25.0),
    ("logistics kpi tool", 15.0),
    ("sales kpi tracking", 12.0),
    ("purchasing kpi", 8.0),
)
#: Day the redesigned site (clearer calls-to-action) goes live: 2025-04-01.
REDESIGN = Y2025 + 90

LEADS = Table(
    "leads",
    raw=(
        ("seq", "BIGINT"),
        ("day", "INTEGER"),
        ("channel", "VARCHAR"),
        ("paid", "BOOLEAN"),
        ("landing_page", "VARCHAR"),
        ("converted", "BOOLEAN"),
    ),
    select="""
        SELECT CAST(seq AS INTEGER) AS lead_id, as_date(day) AS created_date, channel, paid, landing_page,
               converted, seq AS _seq
        FROM raw_leads""",
    order_by="lead_id",
)

WEB_SESSIONS = Table(
    "web_sessions",
    raw=(
        ("seq", "BIGINT"),
        ("day", "INTEGER"),
        ("visitor_id", "INTEGER"),
        ("channel", "VARCHAR"),
        ("keyword", "VARCHAR"),
        ("landing_page", "VARCHAR"),
        ("cta_views", "SMALLINT"),
        ("cta_clicks", "SMALLINT"),
    ),
    select="""
        SELECT CAST(seq AS INTEGER) AS session_id, as_date(day) AS date, visitor_id, channel, keyword,
               landing_page, cta_views, cta_clicks, seq AS _seq
        FROM raw_web_sessions""",
    order_by="session_id",
)

TABLES = (LEADS, WEB_SESSIONS)


def _days() -> list[int]:
    return [day for start, ndays, _ in DATA_MONTHS for day in range(start, start + ndays)]


def _traffic(day: int) -> float:
    """Demand of a day, halved at weekends (people research B2B tools at work)."""
    return demand(day) * (0.5 if weekday(day) >= 5 else 1.0)


def _leads(rng: random.Random, scale: float, writer: RowWriter) -> None:
    seq = 0
    for day in _days():
        mix = tuple(zip(CHANNELS, LEAD_MIX_2025 if day >= Y2025 else LEAD_MIX_2024, strict=True))
        for _ in range(poisson(rng, 9.5 * scale * _traffic(day))):
            channel = pick(rng, mix)
            paid = channel == "paid_search" or (channel == "social" and rng.random() < 0.5)
            odds = CONVERSION[channel] * (1.08 if day >= Y2025 else 1.0)
            seq += 1
            writer.writerow((seq, day, channel, int(paid), pick(rng, LANDING[channel]), int(rng.random() < odds)))


def _sessions(rng: random.Random, scale: float, writer: RowWriter) -> None:
    # Returning visitors are drawn from a ring of recent visitor ids.
    ring_size = max(50, int(4000 * scale))
    ring, next_visitor, seq = list(range(1, ring_size + 1)), ring_size, 0  # visitors from 2023 come back
    mix = tuple(zip(CHANNELS, SESSION_MIX, strict=True))
    for day in _days():
        lift = 1.2 if day >= REDESIGN else 1.0
        for _ in range(poisson(rng, 95 * scale * _traffic(day))):
            if rng.random() < 0.35:
                visitor = rng.choice(ring)
            else:
                next_visitor += 1
                visitor = next_visitor
                ring[visitor % ring_size] = visitor
            channel = pick(rng, mix)
            keyword = None
            if channel == "paid_search":
                keyword = pick(rng, PAID_KEYWORDS)
            elif channel == "organic_search" and rng.random() >= 0.35:
                keyword = pick(rng, ORGANIC_KEYWORDS)
            page = pick(rng, LANDING[channel])
            views = poisson(rng, CTA_VIEWS[page])
            clicks = sum(rng.random() < CLICK[channel] * lift for _ in range(views))
            seq += 1
            writer.writerow((seq, day, visitor, channel, keyword, page, views, clicks))


def write(seed: int, scale: float, writers: dict[str, RowWriter]) -> None:
    """Write leads and web sessions, day by day."""
    _leads(random.Random(f"{seed}/leads"), scale, writers["leads"])
    _sessions(random.Random(f"{seed}/sessions"), scale, writers["web_sessions"])
