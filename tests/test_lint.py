"""lint: a table of KPIs, built from the model, and the level each SMART letter must get."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from kpictl.judge.lint import LetterScore, LintReport, passed, score, to_dict
from kpictl.model import Baseline, Bound, Format, Kpi, Target

D = dt.date
GOOD_TARGET = Target(
    Bound(min=0.95),
    by=D(2026, 12, 31),
    baseline=Baseline(0.88, D(2025, 12, 31)),
    rationale="The best carrier already delivers 96% on time.",
)
GOOD = Kpi(
    "on_time_delivery_rate",
    "count(*) filter (where on_time) / count(*)",
    "metrics/logistics.yml",
    description="Share of shipments delivered by the promised date.",
    owner="logistics",
    format=Format("percent"),
    target=GOOD_TARGET,
)
HISTORY = [0.80, 0.84, 0.88]  # range 0.08: a bound more than 0.04 beyond 0.88 is a stretch
MONTHS = [D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1)]


def _monthly(*values):
    return list(zip(MONTHS, values, strict=True))


def target(**changes):
    return replace(GOOD_TARGET, **changes)


def kpi(**changes):
    return replace(GOOD, **changes)


# An exact line for the trend: 10, 20, 30 every ten days (one a day from 10 on Jan 1).
LINE = [(D(2025, 1, 1), 10.0), (D(2025, 1, 11), 20.0), (D(2025, 1, 21), 30.0)]

CASES = [
    # id, KPI, observed, levels of S M A R T
    ("complete, bound reached", GOOD, [0.90, 0.96], "pass pass pass pass pass"),
    ("complete, within reach", kpi(target=target(bound=Bound(min=0.90))), HISTORY, "pass pass pass pass pass"),
    ("bare KPI", Kpi("revenue", "sum(amount)", "m.yml"), None, "fail fail fail fail fail"),
    ("no owner", kpi(owner=None), [0.96], "warn pass pass pass pass"),
    ("default format: no unit", kpi(format=Format()), [0.96], "warn pass pass pass pass"),
    ("decimals count as a unit", kpi(format=Format(decimals=1)), [0.96], "pass pass pass pass pass"),
    ("blank description", kpi(description="  "), [0.96], "fail pass pass pass pass"),
    (
        "bounds only per breakdown",
        kpi(target=target(bound=Bound(), per={"region": {"EU": Bound(min=0.9)}})),
        [0.96],
        "pass warn fail pass pass",
    ),
    ("a target without a bound", kpi(target=target(bound=Bound())), [0.96], "pass fail fail pass pass"),
    ("no data: A not checked", GOOD, None, "pass pass warn pass pass"),
    ("only NULLs: A not checked", GOOD, [None, float("nan")], "pass pass warn pass pass"),
    ("stretch: 0.07 beyond the best, range 0.08", GOOD, HISTORY, "pass pass warn pass pass"),
    (
        "max stretch: 5 below the best of 10, range 4",
        kpi(target=target(bound=Bound(max=5), baseline=None)),
        [10, 12, 14],
        "pass pass warn warn pass",
    ),
    (
        "max within reach: 1 below the best",
        kpi(target=target(bound=Bound(max=9))),
        [10, 12, 14],
        "pass pass pass pass pass",
    ),
    (
        "between stretch: 6 above the best",
        kpi(target=target(bound=Bound(min=20, max=30))),
        [10, 12, 14],
        "pass pass warn pass pass",
    ),
    ("between reached", kpi(target=target(bound=Bound(min=11, max=13))), [10, 12, 14], "pass pass pass pass pass"),
    ("one value, not met: A not checked", GOOD, [0.9, 0.9], "pass pass warn pass pass"),
    (
        "the pace misses the deadline",
        kpi(target=target(bound=Bound(min=35), by=D(2025, 1, 25), baseline=None)),
        LINE,
        "pass pass warn warn pass",
    ),  # 10 + 25 days = 35 on Jan 26
    (
        "the pace makes the deadline",
        kpi(target=target(bound=Bound(min=35), by=D(2025, 3, 1))),
        LINE,
        "pass pass pass pass pass",
    ),
    (
        "the pace never gets there",
        kpi(target=target(bound=Bound(max=5), by=D(2025, 3, 1))),
        LINE,
        "pass pass warn pass pass",
    ),  # 5 below the best of 10, less than half the range of 20, but rising
    ("no rationale", kpi(target=target(rationale=None)), [0.96], "pass pass pass warn pass"),
    ("no baseline", kpi(target=target(baseline=None)), [0.96], "pass pass pass warn pass"),
    (
        "neither baseline nor rationale",
        kpi(target=target(baseline=None, rationale="")),
        [0.96],
        "pass pass pass fail pass",
    ),
    ("a period instead of a deadline", kpi(target=target(by=None, period="month")), [0.96], "pass pass pass pass pass"),
    ("neither deadline nor period", kpi(target=target(by=None)), [0.96], "pass pass pass pass fail"),
    (
        "the deadline has passed",
        kpi(target=target(by=D(2025, 1, 31))),
        _monthly(0.9, 0.96, 0.97),
        "pass pass pass pass warn",
    ),
]


@pytest.mark.parametrize(("kpi", "observed", "levels"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_score(kpi, observed, levels):
    report = score(kpi, observed)
    assert report.kpi == kpi.name
    assert list(report.letters) == ["S", "M", "A", "R", "T"]
    assert " ".join(s.level for s in report.letters.values()) == levels
    assert all(s.reason for s in report.letters.values())


@pytest.mark.parametrize(
    ("kpi", "observed", "letter", "words"),
    [
        (GOOD, HISTORY, "A", ["stretch", "0.07", "0.88", "0.08"]),
        (GOOD, None, "A", ["not checked"]),
        (kpi(target=target(bound=Bound(min=35), by=D(2025, 1, 25))), LINE, "A", ["on 2025-01-26", "not by 2025-01-25"]),
        (kpi(target=target(bound=Bound(max=5), by=D(2025, 3, 1))), LINE, "A", ["never"]),
        (Kpi("revenue", "sum(amount)", "m.yml"), None, "M", ["no target"]),
        (kpi(owner=None, format=Format()), None, "S", ["no owner", "no unit"]),
        (kpi(target=target(by=D(2025, 1, 31))), _monthly(1, 2, 3), "T", ["has passed", "2025-03-01"]),
    ],
)
def test_reasons_say_what_is_wrong(kpi, observed, letter, words):
    reason = score(kpi, observed).letters[letter].reason
    assert all(word in reason for word in words), reason


def test_required_pace_from_the_baseline():
    # The baseline 0 on Jan 1 must climb to 35 by Feb 5 (35 days): +1 a day, faster than nothing.
    flat = [(D(2025, 1, 1), 0.0), (D(2025, 1, 11), 0.0), (D(2025, 1, 21), 1.0)]
    reason = (
        score(kpi(target=Target(Bound(min=35), by=D(2025, 2, 5), baseline=Baseline(0, D(2025, 1, 1)))), flat)
        .letters["A"]
        .reason
    )
    assert "needs +1/day" in reason


def _report(*levels):
    return LintReport("k", {letter: LetterScore(level, "why") for letter, level in zip("SMART", levels, strict=True)})


@pytest.mark.parametrize(
    ("levels", "lenient", "strict"),
    [
        (("pass",) * 5, True, True),
        (("pass", "warn", "pass", "pass", "pass"), True, False),
        (("pass", "pass", "fail", "warn", "pass"), False, False),
    ],
)
def test_passed(levels, lenient, strict):
    report = _report(*levels)
    assert passed(report) is lenient
    assert passed(report, strict=True) is strict


def test_to_dict():
    assert to_dict(_report("pass", "pass", "warn", "pass", "fail")) == {
        "kpi": "k",
        "passed": False,
        "letters": {
            "S": {"level": "pass", "reason": "why"},
            "M": {"level": "pass", "reason": "why"},
            "A": {"level": "warn", "reason": "why"},
            "R": {"level": "pass", "reason": "why"},
            "T": {"level": "fail", "reason": "why"},
        },
    }
