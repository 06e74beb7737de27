"""The report's charts and fixed texts: SVG parsed back as XML, both languages complete."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from kpictl.report import i18n, svg

EVIL = "<script>alert(1)</script>"


def test_ticks_are_round_and_cover_the_values() -> None:
    assert svg._ticks(0.81, 0.97) == (0.8, 1.0, [0.8, 0.85, 0.9, 0.95, 1.0])
    assert svg._ticks(-3, 1_234_567)[2] == [-500_000, 0, 500_000, 1_000_000, 1_500_000]
    low, high, ticks = svg._ticks(3.0, 3.0)
    assert low < 3.0 < high and len(ticks) >= 2


def test_trend_draws_value_target_band_trajectory_and_lifts_the_pen_on_gaps() -> None:
    day = dt.date(2025, 1, 31)
    chart = svg.Trend(
        ((day, 0.9), (dt.date(2025, 2, 28), None), (dt.date(2025, 3, 31), 0.92)),
        low=0.9,
        high=0.95,
        trajectory=((day, 0.9), (dt.date(2025, 12, 31), 0.95)),
        status="at_risk",
        title=EVIL,
        marks=(dt.date(2025, 12, 31),),
    )
    out = svg.trend(chart, lambda v, step: f"{v:.2f}", lambda d: d.isoformat())
    tree = ET.fromstring(out)  # well-formed XML, so it is also well-formed inline SVG
    path = next(n for n in tree.iter() if n.get("class") == "v").get("d") or ""
    assert path.count("M") == 2 and "L" not in path  # two lone points, no line across the gap
    assert [n.tag for n in tree.iter() if n.get("class") in ("b", "j")] == ["rect", "polyline"]
    assert len([n for n in tree.iter() if n.get("class") == "t"]) == 2
    assert tree.findtext("title") == EVIL and EVIL not in out  # escaped in the file, text once parsed
    # x labels by priority: the first point, the deadline; the last point's would overlap the first's
    assert [t.text for t in tree.iter("text")][-2:] == ["2025-01-31", "2025-12-31"]
    assert "2025-03-31" not in out
    assert not re.search(r"\d\.\d\d", re.sub(r">[^<]*<", "><", out))  # coordinates keep one decimal


def test_trend_without_values_is_an_empty_chart() -> None:
    tree = ET.fromstring(svg.trend(svg.Trend(((dt.date(2025, 1, 31), None),)), lambda v, s: "", str))
    assert [n.tag for n in tree] == ["title"]


def test_bars_escape_labels_and_go_left_for_negative_values() -> None:
    out = svg.bars([svg.Bar("EU", 10.0, "10"), svg.Bar(EVIL, -5.0, "-5", "off_track"), svg.Bar("x", None, "—")])
    tree = ET.fromstring(out)
    rects = list(tree.iter("rect"))
    assert len(rects) == 2 and float(rects[1].get("x") or 0) < float(rects[0].get("x") or 0)
    assert not list(tree.iter("script")) and EVIL in [t.text for t in tree.iter("title")][1]


def test_every_text_exists_in_both_languages() -> None:
    english, french = i18n.texts("en"), i18n.texts("fr")
    assert english.keys() == french.keys()
    assert all(english[k] and french[k] for k in english)
    assert [i18n.format_period(dt.date(2025, 4, 1), g, "fr") for g in ("year", "quarter", "month", "week", "day")] == [
        "2025",
        "T2 2025",
        "avr. 2025",
        "S14 2025",
        "1 avr. 2025",
    ]
    with pytest.raises(ValueError):
        i18n.texts("de")
