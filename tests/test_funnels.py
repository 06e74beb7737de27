"""Funnels (issue 15, point 4): ``conversion(visits, signups, entity: user_id, within: 7 days)``.

The share of the entities with a base event in a period that convert within the window, and
``converted(...)`` their count. Each conversion is credited to the entity's latest base event at
or before it (with the same ``same:`` values); it counts if it comes within the window of that
event. An entity counts once per period and breakdown group; the base event's period buckets it.

Counted by hand on the README's example (docs/examples/funnels), against a hand-written SQL of
another shape (a correlated subquery per sign-up), and against plain Python on random events.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from helpers import invoke, write

from kpictl import Project

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "funnels"


def csv_values(root: Path, *args: str) -> dict[tuple[str, ...], str]:
    """``kpictl run … --format csv`` as {(kpi, period, *dims): value}."""
    result = invoke(root, "run", *args, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    fields = list(rows[0])
    dims = fields[2 : fields.index("value")]
    return {(r["kpi"], r["period"], *(r[d] for d in dims)): r["value"] for r in rows}


def test_the_example_counted_by_hand() -> None:
    """January's visitors with a user: u1 u2 u3 u4 u7 u8 u9 (7; an anonymous visit and one without a
    time are left out). u1 signs up 2 days later; u4 twice, counted once; u7 the next day (through
    another channel); u8 exactly 7 days later (the window's end counts). Not u3 (10 days), not u9
    (signed up before the visit), and not u2: its sign-up on Feb 3 goes to its latest visit, Feb 2,
    so it converts in February, once. u5 signs up without a visit. March has no visit: NULL, 0."""
    got = csv_values(EXAMPLE, "signup_rate", "signed_up", "same_channel_rate")
    assert float(got[("signup_rate", "2025-01-01")]) == pytest.approx(4 / 7)
    assert float(got[("signup_rate", "2025-02-01")]) == 1.0
    assert got[("signup_rate", "2025-03-01")] == ""
    assert float(got[("signup_rate", "2025-04-01")]) == 0.0  # u11 visits, never signs up
    assert [float(got[("signed_up", f"2025-0{m}-01")]) for m in (1, 2, 3, 4)] == [4, 1, 0, 0]
    # same: channel: u7 visited on the web and signed up through ads
    assert float(got[("same_channel_rate", "2025-01-01")]) == pytest.approx(3 / 7)


def test_broken_down_by_the_base_events_channel() -> None:
    """January, ads: u2 (Jan 30), u4, u8 entered; u4 and u8 converted. Web: u1 u3 u7 u9; u1 and u7."""
    got = csv_values(EXAMPLE, "signup_rate", "signed_up", "--by", "channel", "--to", "2025-02-28")
    assert float(got[("signup_rate", "2025-01-01", "ads")]) == pytest.approx(2 / 3)
    assert float(got[("signup_rate", "2025-01-01", "web")]) == pytest.approx(2 / 4)
    assert got[("signup_rate", "2025-02-01", "ads")] == ""  # no visit through ads in February
    assert float(got[("signup_rate", "2025-02-01", "web")]) == 1.0
    assert float(got[("signed_up", "2025-01-01", "ads")]) == 2.0


def test_over_a_whole_range_each_user_counts_once() -> None:
    """January and February as one period: u2 visited in both, counted once, and converted (Feb 2)."""
    got = csv_values(EXAMPLE, "signup_rate", "--grain", "all", "--from", "2025-01-01", "--to", "2025-02-28")
    assert float(got[("signup_rate", "2025-01-01")]) == pytest.approx(5 / 7)


def test_a_conversion_after_the_range_still_counts(tmp_path: Path) -> None:
    """--to bounds the base events; their sign-ups may come after it (within the window)."""
    got = csv_values(EXAMPLE, "signup_rate", "--grain", "all", "--from", "2025-01-01", "--to", "2025-01-31")
    # u2's Jan 30 visit is in the range, its Feb 2 visit is not: Feb 3 is credited to Feb 2 → not here
    assert float(got[("signup_rate", "2025-01-01")]) == pytest.approx(4 / 7)
    root = shutil.copytree(EXAMPLE, tmp_path / "p")
    visits = (root / "data" / "visits.csv").read_text().replace("u2,2025-02-02 09:00:00,web\n", "")
    (root / "data" / "visits.csv").write_text(visits)
    got = csv_values(root, "signup_rate", "--grain", "all", "--from", "2025-01-01", "--to", "2025-01-31")
    assert float(got[("signup_rate", "2025-01-01")]) == pytest.approx(5 / 7)  # now Feb 3 is Jan 30's


HAND_WRITTEN = """
WITH v AS (SELECT * FROM read_csv('{visits}') WHERE user_id IS NOT NULL AND visited_at IS NOT NULL),
s AS (SELECT * FROM read_csv('{signups}') WHERE user_id IS NOT NULL),
credited AS (  -- per sign-up, the user's latest visit at or before it
  SELECT s.user_id, s.signed_up_at,
         (SELECT max(v.visited_at) FROM v WHERE v.user_id = s.user_id AND v.visited_at <= s.signed_up_at) AS visit
  FROM s
)
SELECT date_trunc('month', v.visited_at)::DATE AS month,
       count(DISTINCT v.user_id) AS entered,
       count(DISTINCT v.user_id) FILTER (WHERE EXISTS (
         SELECT 1 FROM credited c WHERE c.user_id = v.user_id AND c.visit = v.visited_at
           AND c.signed_up_at <= c.visit + INTERVAL 7 DAY)) AS converted
FROM v GROUP BY 1 ORDER BY 1
"""


def test_the_same_as_hand_written_sql() -> None:
    sql = HAND_WRITTEN.format(visits=EXAMPLE / "data" / "visits.csv", signups=EXAMPLE / "data" / "signups.csv")
    expected = duckdb.sql(sql).fetchall()
    project = Project.load(EXAMPLE)
    rate = {r.period: r.value for r in project.run(["signup_rate"])}
    count = {r.period: r.value for r in project.run(["signed_up"])}
    assert len(expected) == 3  # January, February, April: March has no visit (NULL and 0 above)
    for month, entered, converted in expected:
        assert count[month] == converted
        assert rate[month] == pytest.approx(converted / entered)


# -- random events against plain Python ------------------------------------------------------

FUNNEL_KPIS = """\
kpis:
  - {name: views, source: events, formula: count(*), filter: "kind = 'view'"}
  - {name: buys, source: events, formula: count(*), filter: "kind = 'buy'"}
  - {name: rate, formula: "conversion(views, buys, entity: who, within: 48 hours)"}
  - {name: bought, formula: "converted(views, buys, entity: who, within: 48 hours)"}
  - {name: rate_same, formula: "conversion(views, buys, entity: who, within: 48 hours, same: shop)"}
"""


def random_events(seed: int) -> list[tuple[str | None, dt.datetime, str, str | None]]:
    """Views and buys of 40 people over three months, on the hour (ties happen), in two shops
    (sometimes none), some anonymous."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 1)
    events = []
    for _ in range(400):
        who = None if rng.random() < 0.05 else f"p{rng.randrange(40)}"
        at = start + dt.timedelta(hours=rng.randrange(24 * 90))
        shop = rng.choice(["north", "south", None])
        events.append((who, at, rng.choice(["view", "view", "buy"]), shop))
    return events


def by_hand(events: list[tuple[str | None, dt.datetime, str, str | None]], same: bool) -> dict[tuple, tuple[int, int]]:
    """{(month, shop): (entered, converted)}, written out from the definition."""
    views = [(w, t, s) for w, t, k, s in events if k == "view" and w is not None]
    buys = [(w, t, s) for w, t, k, s in events if k == "buy" and w is not None]
    credited: set[tuple[str, dt.datetime, str | None]] = set()  # the views a buy goes to
    for who, at, shop in buys:
        before = [t for w, t, s in views if w == who and t <= at and (not same or s == shop)]
        if before and at - max(before) <= dt.timedelta(hours=48):
            for w, t, s in views:  # every view at that moment (a tie) gets it
                if w == who and t == max(before) and (not same or s == shop):
                    credited.add((w, t, s))
    entered: dict[tuple, set[str]] = defaultdict(set)
    converted: dict[tuple, set[str]] = defaultdict(set)
    for who, at, shop in views:
        for key in ((at.date().replace(day=1), shop), (at.date().replace(day=1), "*")):
            entered[key].add(who)
            if (who, at, shop) in credited:
                converted[key].add(who)
    return {key: (len(entered[key]), len(converted[key])) for key in entered}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_events_against_plain_python(tmp_path: Path, seed: int) -> None:
    events = random_events(seed)
    lines = ["who,at,kind,shop"] + [f"{w or ''},{t:%Y-%m-%d %H:%M:%S},{k},{s or ''}" for w, t, k, s in events]
    root = write(
        tmp_path,
        {
            "kpictl.yml": "name: r\nsources:\n  events: {path: events.csv, time: at}\n",
            "events.csv": "\n".join(lines) + "\n",
            "metrics/k.yml": FUNNEL_KPIS,
        },
    )
    project = Project.load(root)
    for same, rate_name in ((False, "rate"), (True, "rate_same")):
        expected = by_hand(events, same)
        whole = {r.period: r.value for r in project.run([rate_name])}
        shops = {(r.period, r.dims["shop"]): r.value for r in project.run([rate_name], by=["shop"])}
        for (month, shop), (entered, converted) in expected.items():
            got = whole[month] if shop == "*" else shops[(month, shop)]
            assert got == pytest.approx(converted / entered), (same, month, shop)
    counts = {r.period: r.value for r in project.run(["bought"])}
    for (month, shop), (_, converted) in by_hand(events, False).items():
        if shop == "*":
            assert counts[month] == converted


# -- completeness, KPI tests, the language around it --------------------------------------------


def test_a_period_waits_for_the_window_after_it(tmp_path: Path) -> None:
    """Sign-ups known until Feb 3: a visit of Jan 31 may still convert until Feb 7, so January is
    not complete (kept, flagged, not judged); with sign-ups through April 30 it is."""
    root = shutil.copytree(EXAMPLE, tmp_path / "p")
    signups = root / "data" / "signups.csv"
    rows = json.loads(invoke(root, "run", "signup_rate", "--format", "json").output)["rows"]
    complete = {r["period"]: r["complete"] for r in rows}
    assert complete["2025-01-01"] is True and complete["2025-03-01"] is True
    signups.write_text("".join(signups.read_text().splitlines(keepends=True)[:-1]))  # drop u12's April 30
    rows = json.loads(invoke(root, "run", "signup_rate", "signed_up", "--format", "json").output)["rows"]
    january = {r["kpi"]: r for r in rows if r["period"] == "2025-01-01"}
    assert january["signup_rate"]["complete"] is False and january["signup_rate"]["status"] == "no_data"
    assert january["signed_up"]["complete"] is False
    assert january["signup_rate"]["value"] == pytest.approx(4 / 7)  # the value is kept


def test_a_kpi_test_gives_events(tmp_path: Path) -> None:
    kpis = """\
kpis:
  - {name: visits, source: visits, formula: count(*)}
  - {name: signups, source: signups, formula: count(*)}
  - name: signup_rate
    formula: "conversion(visits, signups, entity: user_id, within: 1 day)"
    tests:
      - name: one_of_two
        given:
          visits:
            - {user_id: a, visited_at: 2025-01-01}
            - {user_id: b, visited_at: 2025-01-01}
          signups:
            - {user_id: a, signed_up_at: 2025-01-02}
            - {user_id: b, signed_up_at: 2025-01-03}
        expect: [{period: 2025-01-01, value: 0.5}]
"""
    root = shutil.copytree(EXAMPLE, tmp_path / "p")
    (root / "metrics" / "funnels.yml").write_text(kpis)
    result = invoke(root, "test")
    assert result.exit_code == 0, result.output
    (root / "metrics" / "funnels.yml").write_text(kpis.replace("value: 0.5", "value: 1.0"))
    assert invoke(root, "test").exit_code == 1


def test_a_breakdown_the_base_kpi_lacks_is_an_error(tmp_path: Path) -> None:
    root = shutil.copytree(EXAMPLE, tmp_path / "p")
    result = invoke(root, "run", "signup_rate", "--by", "device")
    assert result.exit_code == 2
    assert "cannot break down signup_rate by device" in result.output


def test_a_funnel_is_a_level_and_its_count_a_size() -> None:
    project = Project.load(EXAMPLE)
    sizes = project.sizes()
    assert "signed_up" in sizes and "signup_rate" not in sizes


def test_prior_and_rolling_avg_read_its_values() -> None:
    project = Project.load(EXAMPLE)
    change = {r.period: r.value for r in project.run(["rate_change"])}
    assert change[dt.date(2025, 2, 1)] == pytest.approx(1 - 4 / 7)
    extra = dataclasses.replace(project.kpis["rate_change"], name="avg", formula="rolling_avg(signup_rate, 2)")
    mean = {r.period: r.value for r in Project(project.config, [*project._raw_kpis, extra]).run(["avg"])}
    assert mean[dt.date(2025, 2, 1)] == pytest.approx((4 / 7 + 1) / 2)
