"""Loading: YAML with positions, schema problems with exact file:line:col and pointer, the model."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kpictl.errors import KpiError
from kpictl.language import document, spec
from kpictl.model import Bound

BENCH = Path(__file__).parent.parent / "bench" / "validate_1000.py"


def load(text: str | bytes, file: str = "metrics/x.yml") -> document.Document:
    doc, errors = document.load_text(textwrap.dedent(text) if isinstance(text, str) else text, file)
    assert errors == []
    return doc


def shape(text: str, kind: str = "kpis") -> list[str]:
    doc, errors = document.load_text(textwrap.dedent(text), "m.yml")
    assert errors == []
    return [str(e).removeprefix("m.yml:") for e in sorted(spec.check_shape(doc, kind), key=KpiError.sort_key)]


# -- document: YAML with positions ---------------------------------------------------------------


def test_positions_of_keys_values_and_scalar_styles() -> None:
    doc = load("""\
        kpis:
          - name: "revenue"
            formula: |
              sum(amount)
                - sum(discount)
            filter: 'x > 1'
        """)
    assert doc.positions["/kpis/0"] == (2, 5)
    assert doc.key_positions["/kpis/0/name"] == (2, 5)
    assert doc.positions["/kpis/0/name"] == (2, 12)  # inside the quotes
    assert doc.positions["/kpis/0/formula"] == (4, 7)  # first content line of the block
    assert doc.positions["/kpis/0/filter"] == (6, 14)
    assert doc.at("/kpis/0/target/min").line == 2  # nearest ancestor: the KPI
    assert doc.at("/kpis/0/formula", key=True).column == 5


def test_yaml_1_2_scalars() -> None:
    """`on`, `yes`, `no` and dates stay strings; only true/false are booleans."""
    doc = load("on: customer_id\nyes: no\nby: 2026-12-31\nok: true\nnum: 1.5\n")
    assert doc.data == {"on": "customer_id", "yes": "no", "by": "2026-12-31", "ok": True, "num": 1.5}


def test_merge_keys_and_anchors_work() -> None:
    doc = load("base: &b {min: 1, by: 2026-12-31}\nt: {<<: *b, max: 2}\n")
    assert doc.data["t"] == {"min": 1, "by": "2026-12-31", "max": 2}


def test_libyaml_and_python_parsers_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    text = """\
kpis:
  - name: revenue
    label: {en: Revenue, fr: "Chiffre d'affaires"}
    formula: |
      sum(amount)
    filter: ['a = 1', "b = 'x'"]
    target: {min: 1_000, by: 2026-12-31, tolerance: 2%}
"""
    fast = document.load_text(text, "x.yml")
    monkeypatch.setattr(document, "_FastLoader", None)
    assert document.load_text(text, "x.yml") == fast


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "x.yml:2:1: duplicate key 'a' (first defined at line 1; keep one of them)"),
        ("a: [1, 2\n", "x.yml:1:4: invalid YAML: '[' is never closed (add the missing ']')"),
        ("a: [1, 2\nb: 3\n", "x.yml:1:4: invalid YAML: '[' is never closed (add the missing ']' before line 2)"),
        (
            "a:\n\t- 1\n",
            "x.yml:2:1: invalid YAML: tab character: YAML is indented with spaces (replace the tab with spaces)",
        ),
        ("a: 'x\n", "x.yml:1:4: invalid YAML: quoted text is never closed (add the closing quote)"),
        ("a: *nope\n", "x.yml:1:4: invalid YAML: unknown alias '*nope' (define the anchor '&nope' before using it)"),
        (
            "a: 1\n---\nb: 2\n",
            "x.yml:2:1: invalid YAML: a second YAML document ('---') in one file "
            "(one file holds one document: remove the '---')",
        ),
        (
            "a: {{ x }}\n",
            "x.yml:1:4: Jinja '{{ ... }}' must be quoted in YAML: unquoted, it reads as a mapping "
            '(write a: "{{ ... }}")',
        ),
        ("? [a]\n: 1\n", "x.yml:1:3: a mapping key must be a plain name (write 'name: value')"),
        (
            "a: &x [*x]\n",
            "x.yml:1:1: invalid YAML: aliases expand too far (or nest too deep) "
            "(write the values out instead of repeating '*anchors')",
        ),
        (
            "a: b\x07\n",
            "x.yml:1:5: invalid YAML: control character U+0007 is not allowed (remove it; YAML files are plain text)",
        ),
    ],
)
def test_yaml_problems(text: str, expected: str) -> None:
    _, errors = document.load_text(text, "x.yml")
    assert [str(e) for e in errors] == [expected]


def test_encodings() -> None:
    assert load("\ufeffkpis: []\n".encode()).positions["/kpis"] == (1, 7)  # a BOM shifts nothing
    _, errors = document.load_text("a: é\nb: caf".encode() + b"\xe9\n", "x.yml")
    assert [str(e) for e in errors] == [
        "x.yml:2:7: file is not valid UTF-8: byte 0xE9 cannot be read (save the file as UTF-8)"
    ]
    _, errors = document.load_text("a: 1\n".encode("utf-16"), "x.yml")
    assert [e.message for e in errors] == ["file is UTF-16, not UTF-8"]
    _, errors = document.load_text(b"#" * (document.MAX_FILE_BYTES + 1), "x.yml")
    assert [e.message for e in errors] == ["file is too large: 1.0 MB, at most 1 MB"]


def test_an_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    start = time.perf_counter()
    _, errors = document.load_text("\n".join(lines) + "\n", "x.yml")
    assert time.perf_counter() - start < 2
    assert [e.message for e in errors] == ["invalid YAML: aliases expand too far (or nest too deep)"]


# -- shape: the schema, in an analyst's words ----------------------------------------------------


def test_schema_problems_with_line_column_and_pointer() -> None:
    doc, _ = document.load_text("kpis:\n  - name: revenue\n    formula: sum(x)\n    dimension: [region]\n", "m.yml")
    [error] = spec.check_shape(doc, "kpis")
    assert error.to_dict() == {
        "kind": "spec",
        "message": "revenue: unknown field 'dimension'",
        "file": "m.yml",
        "line": 4,
        "column": 5,
        "pointer": "/kpis/0/dimension",
        "hint": "did you mean 'dimensions'?",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kpis:\n", ["1:1: kpis: expected a list, got nothing"]),
        (
            "- a\n",
            [
                "1:1: a KPI file is a mapping with a 'kpis:' list, got a list "
                "(start the file with 'kpis:' and indent the KPIs under it)"
            ],
        ),
        ("kpi: []\n", ["1:1: unknown field 'kpi' (did you mean 'kpis'?)"]),
        ("kpis: [{name: a}]\n", ["1:8: a: missing required field 'formula'"]),
        (
            "kpis: [{name: Revenue, formula: x}]\n",
            ["1:15: Revenue.name: 'Revenue' is not a valid name (did you mean 'revenue'?)"],
        ),
        (
            "kpis: [{name: a, formula: x, dimensions: region}]\n",
            ["1:42: a.dimensions: expected a list, got a string (write a list: [region])"],
        ),
        (
            "kpis: [{name: a, formula: x, format: percentage}]\n",
            ["1:38: a.format: 'percentage' is not allowed (did you mean 'percent'?)"],
        ),
        (
            "kpis: [{name: a, formula: x, target: {min: '95%'}}]\n",
            ["1:45: a.target.min: expected a number, got a string (write 0.95 for 95%)"],
        ),
        (
            "kpis: [{name: a, formula: x, target: {by: 2026-02-30}}]\n",
            [
                "1:30: a.target: a target needs a bound (add min:, max: or between: [low, high])",
                "1:43: a.target.by: 2026-02-30 is not a real date (February 2026 has 28 days)",
            ],
        ),
        (
            "kpis: [{name: a, formula: x, target: {min: 1, by: 26-1-1}}]\n",
            ["1:51: a.target.by: '26-1-1' is not a date (write dates as YYYY-MM-DD)"],
        ),
        (
            "kpis: [{name: a, formula: x, target: {minimum: 1}}]\n",
            ["1:39: a.target: unknown field 'minimum' (did you mean 'min'?)"],
        ),
        (
            "kpis: [{name: a, formula: x, labl: A, ownr: me}]\n",
            [
                "1:30: a: unknown field 'labl' (did you mean 'label'?)",
                "1:39: a: unknown field 'ownr' (did you mean 'owner'?)",
            ],
        ),
        (
            "kpis: [{name: a, formula: '', target: {min: 1, between: [1]}}]\n",
            ["1:28: a.formula: must not be empty", "1:57: a.target.between: needs at least 2 item(s)"],
        ),
    ],
)
def test_shape_problems(text: str, expected: list[str]) -> None:
    assert shape(text) == expected


def test_project_shape_problems() -> None:
    assert shape("name: acme\nsources: {Orders: {path: o.csv}}\ndefaults: {grain: monthly}\n", "project") == [
        "2:11: sources: 'Orders' is not a valid name (did you mean 'orders'?)",
        "3:19: defaults.grain: 'monthly' is not allowed (did you mean 'month'?)",
    ]


def test_an_empty_kpi_list_is_fine_but_an_empty_file_is_not() -> None:
    """`kpis: []` is a placeholder an analyst wrote on purpose; an empty file is a mistake."""
    assert shape("kpis: []\n") == []
    assert shape("# nothing yet\n") == ["1:1: KPI file is empty (start it with 'kpis:', or delete it)"]


# -- the model -----------------------------------------------------------------------------------


def test_build_kpis() -> None:
    doc = load("""\
        kpis:
          - name: rate
            label: On time
            source: shipments
            formula: count(*) filter (where on_time) / count(*)
            filter: carrier <> 'X'
            dimensions: [carrier, {name: big, expr: weight > 10}]
            format: {type: percent, decimals: 1}
            target:
              between: [0.9, 1]
              by: 2026-12-31
              baseline: {value: 0.8, at: 2025-12-31}
              tolerance: 2%
              per: {carrier: {DHL: {min: 0.95}}}
            tests:
              - given: {shipments: [{ship_date: 2025-01-01, on_time: true}]}
                expect: [{period: 2025-01-01, value: 1}]
          - name: derived
            formula: rate * 2
        """)
    [rate, derived], errors = spec.build_kpis(doc)
    assert errors == []
    assert rate.label == {"en": "On time"} and rate.filters == ("carrier <> 'X'",)
    assert [(d.name, d.expr) for d in rate.dimensions] == [("carrier", None), ("big", "weight > 10")]
    assert rate.dimensions[1].at.line == 7 and rate.dimensions[1].at.column == 45  # the expression itself
    assert rate.format.type == "percent" and rate.format.decimals == 1
    assert rate.target is not None and rate.target.bound == Bound(0.9, 1.0)
    assert rate.target.by == dt.date(2026, 12, 31) and rate.target.tolerance == pytest.approx(0.02)
    assert rate.target.tolerance_relative and rate.target.per == {"carrier": {"DHL": Bound(0.95, None)}}
    assert rate.tests[0].name == "test_1"
    assert (rate.at.line, rate.formula_at.line, rate.filter_at[0].line) == (2, 5, 6)
    assert derived.derived and not rate.derived


def test_bounds_that_contradict_themselves() -> None:
    doc = load("""\
        kpis:
          - name: a
            formula: x
            target: {min: 5, max: 1, by: 2026-01-01, baseline: {value: 1, at: 2027-01-01}}
          - name: b
            formula: x
            target: {min: 1, between: [3, 2]}
        """)
    _, errors = spec.build_kpis(doc)
    assert [str(e) for e in errors] == [
        "metrics/x.yml:4:19: a.target: min 5 is above max 1",
        "metrics/x.yml:4:71: a.target.baseline.at: baseline date 2027-01-01 is after the deadline 2026-01-01 "
        "(the baseline is where the trajectory starts)",
        "metrics/x.yml:7:22: b.target: give either between: or min:/max:, not both",
        "metrics/x.yml:7:31: b.target.between: lower bound 3 is above upper bound 2 (write between: [2, 3])",
    ]


def test_build_config_guesses_the_format_from_the_path() -> None:
    doc = load("name: acme\nsources:\n  a: {path: x/*.csv}\n  b: {path: y.parquet, time: d}\n", "kpictl.yml")
    config = spec.build_config(doc, "/root")
    assert (config.sources["a"].format, config.sources["b"].format) == ("csv", "parquet")
    assert (config.grain, config.locale, config.metrics) == ("month", "en", ("metrics",))


def test_load_collects_problems_of_every_file() -> None:
    files = {
        "kpictl.yml": b"name: acme\nsources: {orders: {path: o.csv, time: d}}\n",
        "metrics/a.yml": b"kpis: [{name: a, formula: 'sum(x)', source: orders}]\n",
        "metrics/b.yml": b"kpis: [{name: b}]\n",
        "metrics/c.yml": b"kpis: [\n",
    }
    config, kpis, errors, _ = spec.load(Path("."), read=files.get, listing=lambda _: sorted(files)[1:])
    assert config is not None and [k.name for k in kpis] == ["a"]
    assert [str(e) for e in errors] == [
        "metrics/b.yml:1:8: b: missing required field 'formula'",
        "metrics/c.yml:1:7: invalid YAML: '[' is never closed (add the missing ']')",
    ]


def test_load_without_a_project_file() -> None:
    config, _, errors, _ = spec.load(Path("."), read=lambda _: None, listing=lambda _: [])
    assert config is None and [str(e) for e in errors] == ["kpictl.yml: no kpictl.yml found (run 'kpictl init')"]


# -- the benchmark's generator, at a tiny size ---------------------------------------------------


def test_bench_generates_a_valid_project(tmp_path: Path) -> None:
    module_spec = importlib.util.spec_from_file_location("validate_1000", BENCH)
    assert module_spec and module_spec.loader
    bench = importlib.util.module_from_spec(module_spec)
    sys.modules["validate_1000"] = bench
    module_spec.loader.exec_module(bench)
    root = bench.generate(tmp_path, kpis=20, files=2)
    *_, count, problems = bench.validate_once(root)
    assert (count, problems) == (20, 0)
    assert bench.main(["--kpis", "20", "--files", "2", "--runs", "1"]) == 0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-9", 1e-9),
        (".5", 0.5),
        ("-1E3", -1000.0),
        ("+1.5e+2", 150.0),
        ("1.", 1.0),
        ("017", 17),  # YAML 1.2: decimal, not octal
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", "1_000"),  # YAML 1.1 read these as numbers; YAML 1.2's core schema does not
        ("1:20", "1:20"),
    ],
)
def test_yaml_1_2_numbers(text: str, value: object) -> None:
    """Issue 13, point 8: every YAML 1.2 float form is a number (`tolerance: 1e-9` was a string)."""
    doc, errors = document.load_text(f"a: {text}\n", "f.yml")
    assert errors == [] and doc.data == {"a": value} and type(doc.data["a"]) is type(value)


@pytest.mark.parametrize("text", [".inf", "-.Inf", "+.INF", ".nan", ".NaN"])
def test_yaml_1_2_non_finite_numbers_are_refused(text: str) -> None:
    _, errors = document.load_text(f"target: {{min: {text}}}\n", "f.yml")
    assert [str(e) for e in errors] == [
        f"f.yml:1:15: '{text}' is not a finite number (write a number such as 0.5, 1e-9 or -1E3)"
    ]
