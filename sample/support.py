"""Support tickets and the calls, e-mails and replies exchanged with customers.

Customers open tickets by phone or e-mail, more of them in the delivery peak (November to
January). The support team answers with calls and e-mails (``purpose = 'support'``); key
account managers also call and write to customers with advice (``purpose = 'strategic'``),
far more often from 2025 when the key-account programme starts. Customers reply to some of
those messages (``kind = 'reply'``), which is what engagement measures.

Resolution takes hours for calls and longer for e-mails, with a long tail; it is slower in the
peak and faster in 2025. A ticket still open on 2025-12-31 has a NULL ``resolved_at``, and a
satisfaction survey (1-5, worse when resolution was slow) is answered for about half of the
resolved tickets: the other half are NULL.
"""

from __future__ import annotations

import math
import random

from sample.customers import Account
from sample.shape import DATA_MONTHS, LAST_DAY, MINUTES_PER_DAY, Y2025, month_of, next_business_day, poisson
from sample.tables import RowWriter, Table

#: Tickets, strategic calls and strategic e-mails per active customer per month, by segment.
TICKET_RATE = {"enterprise": 1.1, "mid_market": 0.45, "smb": 0.22}
STRATEGIC_CALLS = {"enterprise": 0.9, "mid_market": 0.35, "smb": 0.08}
STRATEGIC_EMAILS = {"enterprise": 1.2, "mid_market": 0.6, "smb": 0.2}
#: Median hours to resolve a ticket, by the channel it came in through.
MEDIAN_HOURS = {"call": 3.0, "email": 9.0}
#: Chance that a customer replies to one of our calls or e-mails, by purpose.
REPLY = {"support": 0.30, "strategic": 0.45}
_END_MINUTE = (LAST_DAY + 1) * MINUTES_PER_DAY

TICKETS = Table(
    "tickets",
    raw=(
        ("seq", "BIGINT"),
        ("customer_id", "INTEGER"),
        ("opened_minute", "BIGINT"),
        ("resolved_minute", "BIGINT"),
        ("channel", "VARCHAR"),
        ("satisfaction", "TINYINT"),
    ),
    select="""
        SELECT CAST(row_number() OVER (ORDER BY opened_minute, seq) AS INTEGER) AS ticket_id, customer_id,
               as_timestamp(opened_minute) AS opened_at, as_timestamp(resolved_minute) AS resolved_at,
               channel, satisfaction, seq AS _seq
        FROM raw_tickets""",
    order_by="ticket_id",
)

INTERACTIONS = Table(
    "interactions",
    raw=(
        ("seq", "BIGINT"),
        ("customer_id", "INTEGER"),
        ("day", "INTEGER"),
        ("kind", "VARCHAR"),
        ("purpose", "VARCHAR"),
    ),
    select="""
        SELECT CAST(row_number() OVER (ORDER BY day, seq) AS INTEGER) AS interaction_id, customer_id,
               as_date(day) AS date, kind, purpose, seq AS _seq
        FROM raw_interactions""",
    order_by="interaction_id",
)

TABLES = (TICKETS, INTERACTIONS)


class _Writer:
    """Numbers and writes tickets and interactions."""

    def __init__(self, rng: random.Random, writers: dict[str, RowWriter]) -> None:
        self.rng = rng
        self.tickets, self.interactions = writers["tickets"], writers["interactions"]
        self.ticket_seq = self.interaction_seq = 0

    def ticket(self, customer_id: int, day: int) -> None:
        """One ticket, its survey answer, and the support calls and e-mails that answer it."""
        rng = self.rng
        if rng.random() < 0.8:  # most tickets are opened on working days
            day = next_business_day(day)
        if day > LAST_DAY:
            return
        opened = day * MINUTES_PER_DAY + 7 * 60 + int(rng.random() * 11 * 60)
        channel = "call" if rng.random() < 0.4 else "email"
        hours = MEDIAN_HOURS[channel] * rng.lognormvariate(0.0, 1.0)
        hours *= (1.3 if month_of(day) in (11, 12, 1) else 1.0) * (0.8 if day >= Y2025 else 1.0)
        resolved: int | None = opened + max(5, int(hours * 60))
        if opened + hours * 60 >= _END_MINUTE or rng.random() < 0.004:
            resolved = None  # still open on 2025-12-31, or forgotten
        satisfaction = None
        if resolved is not None and rng.random() < 0.55:
            score = 4.75 - 0.35 * math.log2(1.0 + hours / 4.0) + rng.gauss(0.0, 0.7)
            satisfaction = min(5, max(1, round(score)))
        self.ticket_seq += 1
        self.tickets.writerow((self.ticket_seq, customer_id, opened, resolved, channel, satisfaction))
        first, follow_up = ("call", "email") if channel == "call" else ("email", "call")
        answers = [first] * (1 + (poisson(rng, 0.6) if first == "email" else 0))
        if rng.random() < (0.35 if first == "call" else 0.15):
            answers.append(follow_up)
        for kind in answers:
            self.interaction(customer_id, day + rng.randrange(2), kind, "support")

    def interaction(self, customer_id: int, day: int, kind: str, purpose: str) -> None:
        """One call or e-mail we made, and the customer's reply if any (within the data window)."""
        if day > LAST_DAY:
            return
        self.interaction_seq += 1
        self.interactions.writerow((self.interaction_seq, customer_id, day, kind, purpose))
        # Advice that is worth answering: the 2025 key-account programme gets more replies.
        odds = REPLY[purpose] + (0.07 if purpose == "strategic" and day >= Y2025 else 0.0)
        if self.rng.random() < odds:
            reply_day = day + self.rng.randrange(5)
            if reply_day <= LAST_DAY:
                self.interaction_seq += 1
                self.interactions.writerow((self.interaction_seq, customer_id, reply_day, "reply", purpose))


def write(seed: int, accounts: list[Account], writers: dict[str, RowWriter]) -> None:
    """Write tickets and interactions for every account, month by month while it is active."""
    rng = random.Random(f"{seed}/support")
    out = _Writer(rng, writers)
    for account in accounts:
        segment = account.segment
        for start, ndays, month in DATA_MONTHS:
            lo, hi = max(start, account.signup), min(start + ndays - 1, account.until)
            if lo > hi:
                continue
            share = (hi - lo + 1) / ndays
            busy = 1.3 if month in (11, 12, 1) else 1.0  # late and incomplete deliveries make people call
            kam = 1.35 if start >= Y2025 else 1.0
            for _ in range(poisson(rng, TICKET_RATE[segment] * share * busy)):
                out.ticket(account.customer_id, lo + rng.randrange(hi - lo + 1))
            for kind, rates in (("call", STRATEGIC_CALLS), ("email", STRATEGIC_EMAILS)):
                for _ in range(poisson(rng, rates[segment] * share * kam)):
                    out.interaction(
                        account.customer_id, next_business_day(lo + rng.randrange(hi - lo + 1)), kind, "strategic"
                    )
