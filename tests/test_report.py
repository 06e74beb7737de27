"""kpictl.report: numbers for people, the terminal table, machine files, Markdown, the catalog, emit.

Every expected string below is written by hand (widths counted, projections computed on
paper in the comments), never produced by the code under test.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kpictl import report
from kpictl.errors import DataError, Location, SpecError
from kpictl.model import Baseline, Bound, Dimension, Format, Judgement, Kpi, Row, Target
from kpictl.report import catalog, markdown, table
from kpictl.report.numbers import format_bound, format_change, format_delta, format_value

NB = "\u202f"  # the French space (numbers.NNBSP), spelled out so the expectations stay visible
D = dt.date


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "lang", "expected"),
    [
        (0.953, Format("percent"), "en", "95.3%"),
        (0.953, Format("percent"), "fr", f"95,3{NB}%"),
        (0.953, Format("percent", decimals=0), "en", "95%"),
        (-0.5, Format("percent"), "fr-CA", f"-50,0{NB}%"),
        (1234567, Format("currency"), "en", "€1,234,567"),
        (1234567, Format("currency"), "fr", f"1{NB}234{NB}567{NB}€"),
        (-1234.5, Format("currency", currency="USD"), "en", "-$1,235"),
        (99.5, Format("currency", decimals=2, currency="GBP"), "en", "£99.50"),
        (1234, Format("currency", currency="CHF"), "en", "CHF 1,234"),
        (1234, Format("currency", currency="CHF"), "fr", f"1{NB}234{NB}CHF"),
        (12.5, Format("hours"), "en", "12.5 h"),
        (12.5, Format("hours"), "fr", f"12,5{NB}h"),
        (3.24, Format("days"), "en", "3.2 d"),
        (3.24, Format("days"), "fr", f"3,2{NB}j"),
        (45.4, Format("minutes"), "en", "45 min"),
        (1234, Format("integer"), "en", "1,234"),
        (1234.6, Format("integer", decimals=2), "fr", f"1{NB}235"),
        (1234.5678, Format("number"), "en", "1,234.57"),
        (1234.5678, Format("number"), "fr", f"1{NB}234,57"),
        (0.001234, Format("number"), "en", "0.0012"),
        (12.0, Format("number"), "en", "12"),
        (0.5, Format("number"), "en", "0.5"),
        (0.125, Format("number", decimals=2), "en", "0.13"),  # half-up, where format() gives 0.12
        (2.675, Format("number"), "en", "2.68"),  # the float is 2.67499…; people see 2.675
        (-0.0001, Format("number", decimals=1), "en", "0.0"),  # no "-0.0"
        (None, Format("percent"), "en", "—"),
        (float("nan"), Format("number"), "fr", "—"),
        (float("inf"), Format("number"), "en", "∞"),
        (1234.5, Format("number"), "de", "1,234.5"),  # any other language: the English way
    ],
)
def test_format_value(value: float | None, fmt: Format, lang: str, expected: str) -> None:
    assert format_value(value, fmt, lang) == expected


@pytest.mark.parametrize(
    ("current", "previous", "fmt", "lang", "expected"),
    [
        (0.953, 0.941, Format("percent"), "en", "+1.2 pp"),  # points, exactly 0.012 (no float noise)
        (0.953, 0.941, Format("percent"), "fr", f"+1,2{NB}pt"),
        (0.072, 0.075, Format("percent"), "en", "-0.3 pp"),
        (1234567, 1200000, Format("currency"), "en", "+€34,567 (+2.9%)"),
        (900, 1000, Format("integer"), "fr", f"-100{NB}(-10,0{NB}%)"),
        (5, 5, Format("integer"), "en", "0 (0.0%)"),
        (5, 0, Format("integer"), "en", "+5"),  # no relative change from 0
        (None, 5, Format("integer"), "en", "—"),
        (3.5, 2.0, Format("hours"), "en", "+1.5 h (+75.0%)"),
        # issue 20, point 3: a relative change only from a positive, non-negligible base
        (14, 0.029, Format("minutes"), "en", "+14 min"),  # 0.029 is 0.2% of 14: not "+48,134.5%"
        (-9, 2, Format("minutes"), "en", "-11 min"),  # across zero: not "-550.0%"
        (-9, -4, Format("minutes"), "en", "-5 min"),  # a negative base
    ],
)
def test_format_change(current: float | None, previous: float, fmt: Format, lang: str, expected: str) -> None:
    assert format_change(current, previous, fmt, lang) == expected


def test_a_base_negligible_against_the_series_has_no_relative_change() -> None:
    # 2 against a series reaching 100: 2 < 5% of 100, the change is shown in minutes only
    assert format_change(12, 2, Format("minutes"), scale=100) == "+10 min"
    assert format_change(12, 6, Format("minutes"), scale=100) == "+6 min (+100.0%)"  # 6 ≥ 5
    rows = [Row("delay", D(2025, m, 1), {}, v, Judgement("no_target")) for m, v in ((1, 100.0), (2, 2.0), (3, 12.0))]
    kpis = {"delay": Kpi("delay", "avg(d)", "m.yml", source="s", format=Format("minutes"))}
    table = str(report.render_rows(rows, kpis, "table", color=False))
    assert "+10 min" in table and "%" not in table


def test_format_delta_and_bound() -> None:
    assert format_delta(-1234, Format("currency")) == "-€1,234"
    assert format_bound(0.95, None, Format("percent")) == "≥ 95.0%"
    assert format_bound(None, 0.06, Format("percent")) == "≤ 6.0%"
    assert format_bound(0.8, 0.9, Format("percent")) == "80.0%–90.0%"
    assert format_bound(0.95, None, Format("percent"), "fr") == f"≥{NB}95,0{NB}%"
    assert format_bound(None, None, Format()) == ""


# -- a small run: three KPIs, three months ------------------------------------------------

OTD = Kpi(
    "on_time_delivery_rate",
    "count(*) filter (where on_time) / count(*)",
    "metrics/logistics.yml",
    label={"en": "On-time delivery", "fr": "Livraison à temps"},
    owner="logistics",
    source="shipments",
    dimensions=(Dimension("region"),),
    format=Format("percent"),
    target=Target(Bound(min=0.95), by=D(2026, 12, 31), baseline=Baseline(0.88, D(2025, 12, 31)), tolerance=0.02),
)
COST = Kpi(
    "transport_cost_to_sales",
    "transport_cost / revenue",
    "metrics/logistics.yml",
    label={"en": "Transport cost to sales"},
    format=Format("percent"),
    target=Target(Bound(max=0.06), by=D(2026, 6, 30)),
)
REVENUE = Kpi(
    "revenue", "sum(amount)", "metrics/sales.yml", label={"en": "Revenue"}, source="orders", format=Format("currency")
)
KPIS = {k.name: k for k in (OTD, COST, REVENUE)}

RUN = [
    Row(OTD.name, D(2026, 1, 1), {}, 0.90, Judgement("on_track", 0.95, None, 0.8859, 0.0141, 0.0159)),
    Row(OTD.name, D(2026, 2, 1), {}, 0.941, Judgement("on_track", 0.95, None, 0.8913, 0.0497, 0.0558)),
    Row(OTD.name, D(2026, 3, 1), {}, 0.953, Judgement("achieved", 0.95, None, 0.8972602739726028, 0.0557, 0.0621)),
    # April is after the as-of date: no value, no_data; March stays the latest complete period.
    Row(OTD.name, D(2026, 4, 1), {}, None, Judgement("no_data", 0.95)),
    Row(COST.name, D(2026, 1, 1), {}, 0.08, Judgement("on_track", None, 0.06, 0.08, 0.0, 0.0, "data")),
    Row(COST.name, D(2026, 2, 1), {}, 0.075, Judgement("on_track", None, 0.06, 0.0763, 0.0013, 0.017, "data")),
    Row(COST.name, D(2026, 3, 1), {}, 0.072, Judgement("on_track", None, 0.06, 0.0721333, 0.0001, 0.002, "data")),
    Row(REVENUE.name, D(2026, 1, 1), {}, 1100000.0),
    Row(REVENUE.name, D(2026, 2, 1), {}, 1200000.0),
    Row(REVENUE.name, D(2026, 3, 1), {}, 1234567.0),
]

# Widths, counted by hand: labels 23 wide, values 10, change 16 ("+€34,567 (+2.9%)"), target 7,
# expected 8, status 11, reaches 7; 92 + 7 gaps of 2 = 106 > 100, so the label column is cut
# to 17. Every line is at 2026-03, so the periods title the value columns.
# Reaches, on paper: end-of-month points (Jan 31: 0.08, Feb 28: 0.075, Mar 31: 0.072) give the
# least-squares line 0.079579 - 0.00013490 x (x = days after Jan 31); it reaches the bound 0.06
# at x = 145.1, i.e. 2026-06-26, before the deadline (2026-06-30): "2026-06", not late.
TABLE = """\
KPI                   2026-03     2026-02            CHANGE   TARGET  EXPECTED  STATUS       REACHES
On-time delivery        95.3%       94.1%           +1.2 pp  ≥ 95.0%     89.7%  ✓ achieved
Transport cost t…        7.2%        7.5%           -0.3 pp   ≤ 6.0%      7.2%  ↗ on track   2026-06
Revenue            €1,234,567  €1,200,000  +€34,567 (+2.9%)                     · no target
"""


def test_table_latest_complete_period_per_kpi() -> None:
    text = report.render_rows(RUN, KPIS, "table", color=False)
    assert text == TABLE
    assert all(len(line) <= 100 for line in TABLE.splitlines())


def test_table_in_french() -> None:
    rows = [r for r in RUN if r.kpi == OTD.name]
    text = report.render_rows(rows, KPIS, "table", lang="fr", color=False)
    assert text == (
        "KPI                2026-03  2026-02  VARIATION  OBJECTIF  ATTENDU  STATUT\n"
        f"Livraison à temps   95,3{NB}%   94,1{NB}%    +1,2{NB}pt  ≥{NB}95,0{NB}%   89,7{NB}%  ✓ atteint\n"
    )


ORDERS = Kpi(
    "orders",
    "count(*)",
    "metrics/sales.yml",
    label={"en": "Orders"},
    source="orders",
    dimensions=(Dimension("region"),),
    format=Format("integer"),
)


def test_table_breakdown_null_group_and_differing_periods() -> None:
    rows = [
        Row("orders", D(2026, 2, 1), {"region": "EU"}, 100.0),
        Row("orders", D(2026, 3, 1), {"region": "EU"}, 120.0),
        Row("orders", D(2026, 2, 1), {"region": "US"}, 80.0),
        Row("orders", D(2026, 3, 1), {"region": "US"}, None),  # US stops at February
        Row("orders", D(2026, 2, 1), {"region": None}, 5.0),
        Row("orders", D(2026, 3, 1), {"region": None}, 7.0),
    ]
    text = report.render_rows(rows, {"orders": ORDERS}, "table", by=("region",), color=False)
    # Lines end at different periods, so a PERIOD column; no target anywhere, so no target,
    # expected or reaches column.
    assert text == (
        "KPI     REGION  PERIOD   VALUE  PREVIOUS        CHANGE  STATUS\n"
        "Orders  EU      2026-03    120       100  +20 (+20.0%)  · no target\n"
        "Orders  US      2026-02     80                          · no target\n"
        "Orders  NULL    2026-03      7         5   +2 (+40.0%)  · no target\n"
    )


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("achieved", "✓ achieved"),
        ("on_track", "↗ on track"),
        ("at_risk", "! at risk"),
        ("off_track", "✗ off track"),
        ("no_data", "? no data"),
    ],
)
def test_table_status_symbols(status: str, shown: str) -> None:
    value = None if status == "no_data" else 0.9
    rows = [Row(OTD.name, D(2026, 3, 1), {}, value, Judgement(status, 0.95, None, 0.93))]
    lines = str(report.render_rows(rows, KPIS, "table", color=False)).splitlines()
    assert lines[1].rstrip().endswith(shown)


def test_table_long_labels_are_cut_to_fit() -> None:
    long = Kpi(
        "k",
        "sum(x)",
        "m.yml",
        label={"en": "A very long label that nobody would want to read in full " * 2},
        source="s",
        format=Format("integer"),
    )
    rows = [Row("k", D(2026, m, 1), {"region": "Europe, the Middle East and Africa"}, 1000.0 * m) for m in (1, 2)]
    text = str(report.render_rows(rows, {"k": long}, "table", by=("region",), color=False))
    # Fixed columns: 7 + 7 + 16 ("+1,000 (+100.0%)") + 11 + 5 gaps of 2 = 51, leaving 49 for the
    # label (114) and the region (34): cut widest first, leftmost on a tie, they end at 24 and
    # 25; a cut drops the space before the "…".
    assert text == (
        "KPI                       REGION                     2026-02  2026-01            CHANGE  STATUS\n"
        "A very long label that…   Europe, the Middle East…     2,000    1,000  +1,000 (+100.0%)  · no target\n"
    )
    assert all(len(line) <= 100 for line in text.splitlines())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal
    assert "\x1b[" not in str(report.render_rows(RUN, KPIS, "table"))

    monkeypatch.setattr(sys, "stdout", _Terminal())
    coloured = str(report.render_rows(RUN, KPIS, "table"))
    assert "\x1b[32m✓ achieved\x1b[0m" in coloured
    assert "\x1b[34m↗ on track\x1b[0m" in coloured
    assert "· no target\x1b" not in coloured  # no colour for "no target"
    assert "\x1b[1mKPI\x1b[0m" in coloured
    # Colour does not move anything: without the escape codes it is the plain table.
    plain = coloured
    for code in ("\x1b[1m", "\x1b[32m", "\x1b[34m", "\x1b[0m"):
        plain = plain.replace(code, "")
    assert plain == TABLE

    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in str(report.render_rows(RUN, KPIS, "table"))
    assert "\x1b[31m✗ off track" in str(
        report.render_rows(
            [Row(OTD.name, D(2026, 3, 1), {}, 0.8, Judgement("off_track", 0.95, None, 0.9))], KPIS, "table", color=True
        )
    )


# -- machine formats ----------------------------------------------------------------------

TINY = [
    Row(
        "otd",
        D(2026, 2, 1),
        {"region": "EU"},
        0.941,
        Judgement("on_track", 0.95, None, 0.9, 0.041, 0.045, reaches_on=D(2026, 5, 31), reaches_by_deadline=True),
    ),
    Row("otd", D(2026, 3, 1), {"region": None}, None, Judgement("no_data", 0.95), complete=False),
    Row("revenue", D(2026, 2, 1), {"region": "Île-de-France"}, 1234567.5),
]


def test_json_exact() -> None:
    assert report.render_rows(TINY, {}, "json", by=("region",)) == (
        '{"rows": [\n'
        '  {"kpi": "otd", "period": "2026-02-01", "region": "EU", "value": 0.941, "status": "on_track", '
        '"min": 0.95, "max": null, "expected": 0.9, "gap": 0.041, "gap_relative": 0.045, '
        '"reaches_on": "2026-05-31", "reaches_by_deadline": true, "complete": true, "partial_window": false},\n'
        '  {"kpi": "otd", "period": "2026-03-01", "region": null, "value": null, "status": "no_data", '
        '"min": 0.95, "max": null, "expected": null, "gap": null, "gap_relative": null, '
        '"reaches_on": null, "reaches_by_deadline": null, "complete": false, "partial_window": false},\n'
        '  {"kpi": "revenue", "period": "2026-02-01", "region": "Île-de-France", "value": 1234567.5, '
        '"status": "no_target", "min": null, "max": null, "expected": null, "gap": null, "gap_relative": null, '
        '"reaches_on": null, "reaches_by_deadline": null, "complete": true, "partial_window": false}\n'
        "]}\n"
    )
    assert report.render_rows([], {}, "json") == '{"rows": []}\n'


def test_csv_exact() -> None:
    assert report.render_rows(TINY, {}, "csv", by=("region",)) == (
        "kpi,period,region,value,status,min,max,expected,gap,gap_relative,reaches_on,reaches_by_deadline,complete,partial_window\n"
        "otd,2026-02-01,EU,0.941,on_track,0.95,,0.9,0.041,0.045,2026-05-31,true,true,false\n"
        "otd,2026-03-01,,,no_data,0.95,,,,,,,false,false\n"
        "revenue,2026-02-01,Île-de-France,1234567.5,no_target,,,,,,,,true,false\n"
    )


def test_machine_formats_keep_full_precision_and_drop_nan() -> None:
    rows = [Row("k", D(2026, 1, 1), {}, 0.1 + 0.2), Row("k", D(2026, 2, 1), {}, float("nan"))]
    assert "0.30000000000000004" in str(report.render_rows(rows, {}, "csv"))
    data = json.loads(report.render_rows(rows, {}, "json"))
    assert [r["value"] for r in data["rows"]] == [0.30000000000000004, None]


def test_a_dimension_named_like_a_column_does_not_overwrite_it() -> None:
    rows = [Row("k", D(2026, 1, 1), {"status": "open"}, 3.0)]
    assert str(report.render_rows(rows, {}, "csv")).splitlines() == [
        "kpi,period,dim_status,value,status,min,max,expected,gap,gap_relative,reaches_on,reaches_by_deadline,complete,partial_window",
        "k,2026-01-01,open,3.0,no_target,,,,,,,,true,false",
    ]


def test_parquet_reads_back_typed(tmp_path: Path) -> None:
    rows = [*TINY, Row("orders", D(2026, 2, 1), {"region": "EU", "year": 2026}, 12.0)]
    data = report.render_rows(rows, {}, "parquet", by=("region", "year"))
    assert isinstance(data, bytes) and data[:4] == b"PAR1"
    assert report.render_rows(rows, {}, "parquet", by=("region", "year")) == data  # same bytes
    path = os.path.join(tmp_path, "rows.parquet")
    with open(path, "wb") as file:
        file.write(data)
    con = duckdb.connect()
    types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()}
    assert types == {
        "kpi": "VARCHAR",
        "period": "DATE",
        "region": "VARCHAR",
        "year": "BIGINT",
        "value": "DOUBLE",
        "status": "VARCHAR",
        "min": "DOUBLE",
        "max": "DOUBLE",
        "expected": "DOUBLE",
        "gap": "DOUBLE",
        "gap_relative": "DOUBLE",
        "reaches_on": "DATE",
        "reaches_by_deadline": "BOOLEAN",
        "complete": "BOOLEAN",
        "partial_window": "BOOLEAN",
    }
    # a column without any value keeps its type (a run where no row has a projection)
    bare = report.render_rows([Row("k", D(2026, 1, 1), {"region": None}, None)], {}, "parquet")
    with open(path, "wb") as file:
        file.write(bare)
    bare_types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()}
    assert bare_types == {name: kind for name, kind in types.items() if name != "year"}
    with open(path, "wb") as file:
        file.write(data)
    query = f"SELECT kpi, period, region, year, value, status, min, complete FROM '{path}'"
    assert con.execute(query).fetchall() == [
        ("otd", D(2026, 2, 1), "EU", None, 0.941, "on_track", 0.95, True),
        ("otd", D(2026, 3, 1), None, None, None, "no_data", 0.95, False),
        ("revenue", D(2026, 2, 1), "Île-de-France", None, 1234567.5, "no_target", None, True),
        ("orders", D(2026, 2, 1), "EU", 2026, 12.0, "no_target", None, True),
    ]


def test_every_format_is_deterministic_and_unknown_ones_are_refused() -> None:
    for fmt in report.FORMATS:
        assert report.render_rows(RUN, KPIS, fmt, color=False) == report.render_rows(RUN, KPIS, fmt, color=False)
    with pytest.raises(ValueError, match="unknown format 'xlsx'"):
        report.render_rows(RUN, KPIS, "xlsx")


# -- markdown -----------------------------------------------------------------------------


def test_markdown_is_the_table_view_uncut() -> None:
    assert report.render_rows(RUN, KPIS, "markdown") == (
        "| KPI | 2026-03 | 2026-02 | Change | Target | Expected | Status | Reaches |\n"
        "|:---|---:|---:|---:|---:|---:|:---|:---|\n"
        "| On-time delivery | 95.3% | 94.1% | +1.2 pp | ≥ 95.0% | 89.7% | ✓ achieved |  |\n"
        "| Transport cost to sales | 7.2% | 7.5% | -0.3 pp | ≤ 6.0% | 7.2% | ↗ on track | 2026-06 |\n"
        "| Revenue | €1,234,567 | €1,200,000 | +€34,567 (+2.9%) |  |  | · no target |  |\n"
    )


def test_markdown_escapes_pipes() -> None:
    piped = Kpi("k", "sum(x)", "m.yml", label={"en": "Cost | sales"}, source="s", format=Format("integer"))
    text = markdown.render([Row("k", D(2026, 1, 1), {}, 1.0)], {"k": piped})
    assert "| Cost \\| sales | 1 |" in text


# -- emit: stdout, or a file written atomically -------------------------------------------


def test_emit_writes_text_and_bytes_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    report.emit("a,b\n", None)
    report.emit(b"PAR1\x00", None)
    assert capsysbinary.readouterr().out == b"a,b\nPAR1\x00"


def test_emit_to_a_file(tmp_path: Path) -> None:
    target = os.path.join(tmp_path, "out.csv")
    report.emit("kpi,value\nrévenue,1\n", target)
    with open(target, encoding="utf-8") as file:
        assert file.read() == "kpi,value\nrévenue,1\n"
    report.emit(b"PAR1", target)  # replaces the previous file
    with open(target, "rb") as file:
        assert file.read() == b"PAR1"
    assert os.listdir(tmp_path) == ["out.csv"]  # no temporary file left behind


def test_a_failed_write_leaves_the_old_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = os.path.join(tmp_path, "out.json")
    with open(target, "w", encoding="utf-8") as file:
        file.write("previous run\n")

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kpictl.report.files.os.replace", full_disk)
    with pytest.raises(DataError, match=r"cannot write '.*out\.json': No space left on device") as caught:
        report.emit('{"rows": []}\n', target)
    assert caught.value.exit_code == 3
    with open(target, encoding="utf-8") as file:
        assert file.read() == "previous run\n"
    assert os.listdir(tmp_path) == ["out.json"]


def test_an_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("kpictl.report.files.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.emit("data\n", os.path.join(tmp_path, "out.csv"))
    assert os.listdir(tmp_path) == []


def test_emit_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    target = os.path.join(tmp_path, "missing", "out.csv")
    with pytest.raises(SpecError, match=r"folder '.*missing' does not exist") as caught:
        report.emit("x\n", target)
    assert caught.value.at == Location("--output")
    assert caught.value.hint == "create the folder first"
    assert os.listdir(tmp_path) == []


def test_parquet_is_not_dumped_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _Terminal())
    with pytest.raises(SpecError, match="Parquet is binary"):
        report.emit(b"PAR1", None)


# -- breach_line --------------------------------------------------------------------------


def test_breach_line() -> None:
    row = Row(
        "on_time_delivery_rate",
        D(2026, 3, 1),
        {"region": "EU", "carrier": None},
        0.912,
        Judgement("off_track", 0.95, None, 0.9354, -0.0234, -0.025),
    )
    assert report.breach_line(row) == (
        "on_time_delivery_rate 2026-03-01 (region=EU, carrier=NULL): value 0.912, expected 0.9354, off_track"
    )
    plain = Row("revenue", D(2026, 1, 1), {}, 1234567.0, Judgement("at_risk", 1300000.0, None, 1250000.0))
    assert report.breach_line(plain) == "revenue 2026-01-01: value 1234567, expected 1250000, at_risk"


def test_table_helpers() -> None:
    assert [table.period_label(D(2025, 12, 29), g) for g in ("day", "week", "month", "quarter", "year", None)] == [
        "2025-12-29",
        "2026-W01",
        "2025-12",
        "2025-Q4",
        "2025",
        "2025-12-29",
    ]
    assert table.infer_grain([D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1)]) == "month"
    assert table.infer_grain([D(2025, 1, 1), D(2025, 4, 1)]) == "quarter"
    assert table.infer_grain([D(2025, 1, 1)]) is None


# -- catalog ------------------------------------------------------------------------------

CAT_REVENUE = Kpi(
    "revenue",
    "sum(amount)",
    "metrics/sales.yml",
    label={"en": "Revenue"},
    owner="sales",
    source="orders",
    dimensions=(Dimension("region"),),
    format=Format("currency"),
    target=Target(Bound(min=8_500_000), by=D(2026, 12, 31)),
    at=Location("metrics/sales.yml", 3, 5),
)
CAT_TRANSPORT = Kpi(
    "transport_cost", "sum(cost)", "metrics/logistics.yml", source="shipments", format=Format("currency")
)
CAT_RATIO = Kpi(
    "cost_to_sales",
    "transport_cost / revenue",
    "metrics/logistics.yml",
    label={"en": "Transport cost to sales"},
    owner="logistics",
    format=Format("percent"),
    tags=("logistics",),
    target=Target(
        Bound(max=0.06),
        by=D(2026, 6, 30),
        tolerance=0.02,
        tolerance_relative=True,
        per={"region": {"EU": Bound(max=0.05)}},
        rationale="Carrier contracts renegotiated in Q1.",
    ),
    at=Location("metrics/logistics.yml", 12, 5),
)
CAT_MOM = Kpi("cost_to_sales_mom", "cost_to_sales / prior(cost_to_sales) - 1", "metrics/logistics.yml")
CATALOG = {k.name: k for k in (CAT_REVENUE, CAT_TRANSPORT, CAT_RATIO, CAT_MOM)}


def test_catalog_table() -> None:
    # Natural widths 14+23+9+32+9+10 + 5 gaps of 2 = 107: the label column (the only one above
    # its minimum) loses 7 characters; the target is never cut.
    assert catalog.render([CAT_REVENUE, CAT_TRANSPORT, CAT_RATIO], "table") == (
        "NAME            LABEL             SOURCE     TARGET                            OWNER      DIMENSIONS\n"
        "revenue         Revenue           orders     ≥ €8,500,000 by 2026-12-31        sales      region\n"
        "transport_cost  transport_cost    shipments  —                                 —          —\n"
        "cost_to_sales   Transport cost…   derived    ≤ 6.0% by 2026-06-30, per region  logistics  —"
    )


def test_catalog_table_leaves_out_owner_and_dimensions_rather_than_overflow() -> None:
    name = "k" * 60
    wide = Kpi(
        name,
        "sum(x)",
        "m.yml",
        label={"en": "Label"},
        owner="someone_long_team",
        source="orders",
        dimensions=(Dimension("region"), Dimension("segment"), Dimension("channel")),
        target=Target(Bound(min=1), by=D(2026, 1, 1)),
    )
    # 60+5+6+17+17+24 + 10 = 139; owner and dimensions cut to 10 each: 118; without dimensions
    # 60+5+6+17+10 + 8 = 106; without the owner too: 94.
    assert catalog.render([wide], "table") == (
        "NAME" + " " * 58 + "LABEL  SOURCE  TARGET\n" + name + "  Label  orders  ≥ 1 by 2026-01-01"
    )


def test_catalog_json() -> None:
    entries = json.loads(catalog.render([CAT_REVENUE, CAT_RATIO], "json"))
    assert entries[0] == {
        "name": "revenue",
        "label": "Revenue",
        "labels": {"en": "Revenue"},
        "source": "orders",
        "derived": False,
        "role": "kpi",
        "dimensions": ["region"],
        "target": "≥ 8500000 by 2026-12-31",
        "target_period": None,
        "owner": "sales",
        "description": None,
        "tags": [],
        "formula": "sum(amount)",
        "file": "metrics/sales.yml",
        "line": 3,
    }
    assert entries[1]["source"] is None and entries[1]["derived"] is True
    assert entries[1]["target"] == "≤ 0.06 by 2026-06-30, per region"
    assert list(entries[1]) == [
        "name",
        "label",
        "labels",
        "source",
        "derived",
        "role",
        "dimensions",
        "target",
        "target_period",
        "owner",
        "description",
        "tags",
        "formula",
        "file",
        "line",
    ]


def test_catalog_show_fields_lineage_and_sql() -> None:
    text = catalog.render_one(CAT_RATIO, CATALOG, "SELECT 1\n")
    lines = text.splitlines()
    assert lines[:3] == ["name         cost_to_sales", "label        en: Transport cost to sales", "description  —"]
    assert "defined in   metrics/logistics.yml:12" in lines
    assert "source       — (derived from other KPIs)" in lines
    assert "target       ≤ 0.06 by 2026-06-30, per region" in lines
    assert "  tolerance  2% of the bound" in lines
    assert "  per        region=EU: ≤ 0.05" in lines
    assert "  rationale  Carrier contracts renegotiated in Q1." in lines
    assert text.endswith(
        "\n\nlineage\n"
        "cost_to_sales = transport_cost / revenue\n"
        "├── transport_cost  (source: shipments)\n"
        "└── revenue  (source: orders)\n"
        "\nsql\nSELECT 1"
    )


def test_catalog_lineage_is_recursive() -> None:
    assert catalog.lineage(CAT_MOM, CATALOG) == [
        "cost_to_sales_mom = cost_to_sales / prior(cost_to_sales) - 1",
        "└── cost_to_sales = transport_cost / revenue",
        "    ├── transport_cost  (source: shipments)",
        "    └── revenue  (source: orders)",
    ]
    assert catalog.lineage(CAT_REVENUE, CATALOG) == ["revenue  (source: orders)"]


def test_emit_writes_into_a_fifo_instead_of_replacing_it(tmp_path: Path) -> None:
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    report.emit("a,b\n", str(fifo))
    reader.join(timeout=5)
    assert received == [b"a,b\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe, not a regular file


def test_show_gives_a_derived_kpis_shared_dimensions() -> None:
    from kpictl.model import Dimension

    a = Kpi(name="a", formula="sum(x)", file="k.yml", source="s", dimensions=(Dimension("region"), Dimension("x")))
    b = Kpi(name="b", formula="count(*)", file="k.yml", source="t", dimensions=(Dimension("region"),))
    ratio = Kpi(name="r", formula="a / b", file="k.yml")
    text = catalog.render_one(ratio, {"a": a, "b": b, "r": ratio}, "SELECT 1")
    assert "dimensions   region (shared by its inputs)" in text.splitlines()


@pytest.mark.parametrize(
    ("period", "grain", "label"),
    [
        (dt.date(2012, 12, 31), None, "2013-W01"),  # a Monday that starts no month: an ISO week
        (dt.date(2013, 12, 30), None, "2014-W01"),
        (dt.date(2025, 12, 1), "week", "2025-W49"),  # a Monday the 1st, for a weekly KPI
        (dt.date(2025, 12, 1), None, "2025-12"),
        (dt.date(2025, 10, 1), "quarter", "2025-Q4"),
        (dt.date(2025, 1, 1), None, "2025-01"),  # the default grain, not the year 2025
    ],
)
def test_a_single_period_table_names_its_period_at_its_grain(period: dt.date, grain: str | None, label: str) -> None:
    """Issue 13, point 2: `run --from X --to X --grain week` titled 2013-W01 as 2012-12-31."""
    kpis = {"n": Kpi(name="n", formula="count(*)", file="m.yml", source="orders", grain=grain)}
    text = table.render([Row("n", period, {}, 3.0)], kpis, color=False)
    assert label in text and period.isoformat() not in text


# -- issue 20, point 1: the terminal's width, and labels that never read alike ---------------


def _delays() -> tuple[list[Row], dict[str, Kpi]]:
    kpis = {
        "arr_delay": Kpi(
            "arr_delay", "avg(d)", "m.yml", source="s", label={"en": "Average arrival delay, all flights"}
        ),
        "arr_delay_late": Kpi(
            "arr_delay_late", "avg(d)", "m.yml", source="s", label={"en": "Average arrival delay, late flights"}
        ),
    }
    rows = [Row(k, D(2025, m, 1), {}, 10.0 * m) for k in kpis for m in (1, 2)]
    return rows, kpis


def test_the_table_follows_the_width_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    rows, kpis = _delays()
    monkeypatch.setenv("COLUMNS", "200")
    wide = str(report.render_rows(rows, kpis, "table", color=False))
    assert "Average arrival delay, all flights" in wide and "Average arrival delay, late flights" in wide
    monkeypatch.setenv("COLUMNS", "60")
    narrow = str(report.render_rows(rows, kpis, "table", color=False)).splitlines()
    assert max(len(line) for line in narrow) <= 60
    # cut to the same "Average arri…", the two KPIs show their names instead
    assert [line.split()[0] for line in narrow[1:]] == ["arr_delay", "arr_delay_late"]


def test_the_catalog_reads_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from kpictl import Project

    monkeypatch.setenv("COLUMNS", "80")
    project = Project.load(Path(__file__).parent.parent)
    text = str(report.render_rows(project.run(), project.kpis, "table", color=False))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    width = len(lines[0]) - len(lines[0][3:].lstrip()) + 3  # the KPI column, up to the next title
    shown = [line[:width].rstrip() for line in lines[1:]]
    # at 80 columns the previous value and the expected one make room: labels keep 16 characters
    # or more, and no two read alike
    assert all(len(label) >= 16 or not label.endswith("…") for label in shown), shown
    assert len(set(shown)) == len(shown)


def test_names_of_one_family_shown_for_clashing_labels_are_cut_in_their_middle() -> None:
    """Two labels cut alike show their KPIs' names; names that share their start (transport_cost,
    transport_cost_to_sales) keep their ends, so the two lines still read apart."""
    from kpictl.report.table import Column, align

    columns = (Column("kpi", "KPI", shrink_to=4), Column("value", "VALUE", right=True))
    lines = [("Transport cost", "1"), ("Transport cost to sales", "2"), ("Revenue", "3")]
    names = ["transport_cost", "transport_cost_to_sales", "revenue"]
    text = align(columns, lines, width=18, names=names)
    shown = [line.split("  ")[0] for line in text.splitlines()[1:]]
    assert shown == ["trans…_cost", "trans…sales", "Revenue"]  # 11 wide: 18 - a gap of 2 - VALUE


def _hostile_rows(alphabet: str, dims: tuple[str, str]) -> Any:
    """A hypothesis strategy of result rows for the writers' tests: breakdown values of every type
    (text from ``alphabet``), numbers of every kind (NaN, infinities, ints, bools) and judgements."""
    from hypothesis import strategies as st

    from kpictl.model import Judgement

    text = st.text(alphabet=st.sampled_from(list(alphabet)), max_size=6)
    dim = st.one_of(st.none(), text, st.integers(-5, 5), st.booleans(), st.floats(allow_nan=True), st.dates())
    number = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10), st.booleans())
    statuses = st.sampled_from(["achieved", "on_track", "at_risk", "off_track", "no_data"])
    dates, flags = st.one_of(st.none(), st.dates()), st.one_of(st.none(), st.booleans())
    judgement = st.one_of(
        st.none(), st.builds(Judgement, statuses, number, number, number, number, number, st.none(), dates, flags)
    )
    breakdown = st.fixed_dictionaries({dims[0]: dim, dims[1]: dim})
    kpis = st.sampled_from(["revenue", "rate"])
    row = st.builds(Row, kpis, st.dates(), breakdown, number, judgement, st.booleans(), st.booleans())
    return st.lists(row, max_size=8)


def _csv_by_the_csv_module(rows: list[Row], by: list[str]) -> str:
    """The CSV as ``csv.writer`` writes :func:`files.records` cell by cell (the writer of before)."""
    import csv as csvmodule

    from kpictl.report import files

    names, table = files.records(rows, by)
    out = io.StringIO()
    writer = csvmodule.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([files._csv_value(v) for v in values] for values in table)
    return out.getvalue()


@pytest.fixture(params=["made here", "made by DuckDB"])
def lines_made(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """CSV and JSON lines made in Python (a few rows) or by DuckDB (engine.parquet.FEW_LINES): the
    writer tests below run both ways, whatever their number of rows."""
    from kpictl.engine import parquet

    monkeypatch.setattr(parquet, "FEW_LINES", 10**9 if request.param == "made here" else 0)
    return str(request.param)


def test_csv_written_by_column_is_what_the_csv_module_writes(lines_made: str) -> None:
    """The column-wise writer against csv.writer on hostile breakdown values (commas, quotes, line
    breaks, carriage returns, empty text, unicode), numbers of every kind and judgements."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kpictl.report import files

    cases = _hostile_rows(",\"\n\r\t ab€é;'\\", ("region", "who"))

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(cases, st.sampled_from([[], ["region"], ["region", "who"]]))
    def check(rows: list[Row], by: list[str]) -> None:
        assert files.to_csv(rows, by=by) == _csv_by_the_csv_module(rows, by)

    check()


def _json_by_json_dumps(rows: list[Row], by: list[str]) -> str:
    """The JSON as ``json.dumps`` writes each row of :func:`files.records` (the writer of before)."""
    from kpictl.report import files

    names, table = files.records(rows, by)
    if not table:
        return '{"rows": []}\n'
    lines = [
        json.dumps(dict(zip(names, map(files._json_value, values), strict=True)), ensure_ascii=False, allow_nan=False)
        for values in table
    ]
    return '{"rows": [\n  ' + ",\n  ".join(lines) + "\n]}\n"


def test_json_written_by_column_is_what_json_dumps_writes(lines_made: str) -> None:
    """The column-wise JSON against json.dumps: control characters, quotes, a line separator, a
    breakdown named like a fixed column (value), numbers of every kind and judgements."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kpictl.report import files

    cases = _hostile_rows(',"\n\r\t\x00\x1f ab€é\u2028\\/', ("region", "value"))

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(cases, st.sampled_from([[], ["region"], ["region", "value"]]))
    def check(rows: list[Row], by: list[str]) -> None:
        assert files.to_json(rows, by=by) == _json_by_json_dumps(rows, by)

    check()


def test_many_rows_with_repeated_numbers_are_written_as_by_the_modules(lines_made: str) -> None:
    """Over 4,096 rows a column of few distinct doubles is formatted once per value (files._repeated):
    the bytes stay those of csv.writer and json.dumps, 0.0 and -0.0 apart, NaN and infinities empty."""
    import random

    from kpictl.model import Judgement
    from kpictl.report import files

    rng = random.Random(5)
    repeated = [0.0, -0.0, 1e16, 1e-7, 0.1 + 0.2, float("nan"), float("inf"), None, 60, 5e-324]
    rows = []
    for i in range(6000):
        j = Judgement(
            rng.choice(["achieved", "off_track", "no_target"]),
            rng.choice(repeated),  # min: few distinct values
            rng.choice([None, 100.0]),
            rng.choice(repeated),
            rng.random() * 1000 - 500,  # gap: all distinct
            rng.choice([None, -0.0, rng.random()]),
        )
        value = rng.choice([*repeated, rng.random()])
        rows.append(Row("k", D(2025, 1 + i % 12, 1), {"c": f"c{i % 300}"}, value, j, rng.random() < 0.9))
    assert files.to_csv(rows, by=["c"]) == _csv_by_the_csv_module(rows, ["c"])
    assert files.to_json(rows, by=["c"]) == _json_by_json_dumps(rows, ["c"])


def test_many_distinct_hostile_breakdown_values_are_written_as_by_the_modules(lines_made: str) -> None:
    """A breakdown of more distinct values than engine.parquet looks up (customers: scanned as the
    values themselves) keeps the bytes of csv.writer and json.dumps: commas, quotes, line breaks,
    control characters, unicode, empty text, NULLs and numbers among them, in every position."""
    import random

    from kpictl.engine import parquet
    from kpictl.model import Judgement
    from kpictl.report import files

    rng = random.Random(11)
    alphabet = ',"\n\r\t\x00\x1f ab€é\u2028\\/;'
    count = parquet._SPELLED * 4
    rows = []
    for i in range(count * 2):
        who: Any = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) + str(i % count)
        who = rng.choice([who, who, who, None, "", i % 7, 1.5])
        j = Judgement(rng.choice(["achieved", "no_target"]), rng.choice([None, 10.0]), None, rng.random())
        rows.append(Row("k", D(2025, 1 + i % 12, 1), {"who": who}, rng.choice([None, rng.random() * 1e6]), j))
    assert len({r.dims["who"] for r in rows}) > parquet._SPELLED
    for lines_per_file in (parquet.LINES_PER_FILE, 7):  # and written in many files, one after another
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(parquet, "LINES_PER_FILE", lines_per_file)
            assert files.to_csv(rows, by=["who"]) == _csv_by_the_csv_module(rows, ["who"])
            assert files.to_json(rows, by=["who"]) == _json_by_json_dumps(rows, ["who"])


def test_a_streamed_document_writes_the_text_and_leaves_no_file_behind(
    tmp_path: Path, capfdbinary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run`` hands emit a Document (csv, json) whose lines DuckDB wrote to a private file: the
    output file and stdout get the same bytes as the text, and the private file is gone after, also
    when the output cannot be written."""
    from kpictl.engine import parquet
    from kpictl.report import files

    monkeypatch.setattr(parquet, "LINES_PER_FILE", 128)  # three files, copied one after another
    monkeypatch.setattr(parquet, "FEW_LINES", 0)  # by DuckDB
    rows = [
        Row("k", D(2025, 1, 1), {"c": f"é,{i}\n"}, i / 3, Judgement("achieved", 1.0), i % 2 == 0) for i in range(300)
    ]
    for document, text in ((files.csv_document, files.to_csv(rows)), (files.json_document, files.to_json(rows))):
        made = document(rows)
        assert made.body is not None
        spooled = Path(made.body.paths[-1])
        assert len(made.body.paths) == 3
        report.emit(made, str(tmp_path / "out"))
        assert (tmp_path / "out").read_bytes() == text.encode("utf-8")
        assert not spooled.exists() and not spooled.parent.exists()

        made = document(rows)
        report.emit(made)
        assert capfdbinary.readouterr().out == text.encode("utf-8")

        made = document(rows)
        assert made.body is not None
        spooled = Path(made.body.paths[0])
        with pytest.raises(SpecError, match="does not exist"):
            report.emit(made, str(tmp_path / "missing" / "out"))
        assert not spooled.parent.exists()


def test_parquet_of_many_distinct_texts_reads_back_as_written(tmp_path: Path) -> None:
    """A text breakdown of more distinct values than engine.parquet looks up (scanned as the values
    themselves) reads back as the same text, NULL as NULL, typed VARCHAR; the dates of another
    breakdown keep their type; the same rows give the same bytes."""
    from kpictl.engine import parquet
    from kpictl.report import files

    count = parquet._SPELLED * 3
    whos = [None if i % 50 == 0 else f'c{i},"é\n{i % 7}' for i in range(count)]
    rows = [
        Row("k", D(2025, 1 + i % 12, 1), {"who": w, "on": D(2024, 1, 1 + i % 28)}, float(i)) for i, w in enumerate(whos)
    ]
    data = files.to_parquet(rows, by=["who", "on"])
    assert files.to_parquet(rows, by=["who", "on"]) == data
    path = tmp_path / "rows.parquet"
    path.write_bytes(data)
    con = duckdb.connect()
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{path}')").fetchall())
    assert (types["who"], types["on"]) == ("VARCHAR", "DATE")
    read = con.execute(f"SELECT who, \"on\", value FROM '{path}'").fetchall()
    assert sorted(read, key=lambda r: r[2]) == [(w, D(2024, 1, 1 + i % 28), float(i)) for i, w in enumerate(whos)]


def test_parquet_of_several_row_groups_keeps_the_rows_order_and_its_bytes(tmp_path: Path) -> None:
    """engine.parquet writes on every core: a table of several row groups (DuckDB's are 122,880
    rows) reads back in the order given, and writing it again gives the same bytes."""
    import numpy as np

    from kpictl.engine import parquet
    from kpictl.table import Cells, Numbers

    count = 400_000
    texts = [f"t{i}" for i in range(1000)]
    codes = (np.arange(count) * 7919) % 1000  # not sorted: the order is the rows'
    columns = [Numbers(np.arange(count, dtype=float)), Cells(codes, texts)]
    data = parquet.to_parquet(["n", "t"], columns)
    assert parquet.to_parquet(["n", "t"], columns) == data
    path = tmp_path / "rows.parquet"
    path.write_bytes(data)
    con = duckdb.connect()
    groups = con.execute(f"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{path}')").fetchone()
    assert groups is not None and groups[0] >= 3
    read = con.execute(f"SELECT n, t FROM '{path}'").fetchall()
    assert read == [(float(i), f"t{(i * 7919) % 1000}") for i in range(count)]
