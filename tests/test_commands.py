"""One test per command and format of the CLI: exit code, stdout and stderr.

All run on one small project (three orders, three KPIs), whose values are counted by hand:
revenue is 10 + 5 = 15 in January and 7 in February, order_count 2 and 1, average_order
15 / 2 = 7.5 and 7 / 1 = 7. revenue's target (min 20 by 2025-12-31, no baseline) starts from
its first value: the line goes from 15 on Jan 31 to 20 on Dec 31, so it expects 15 in January
(on track) and 15 + 5 * 28 / 334 = 15.419 on Feb 28, where 7 is off track. Invalid projects
are the invalid corpus's job (tests/test_invalid_corpus.py), diff's tests/test_diff.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from kpictl.cli import cli
from kpictl.language.schema import SCHEMAS, schema

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "KPICTL_DEBUG": ""}
# The file ends on Feb 2 but holds every order of February: said, else February is incomplete
PROJECT = "name: shop\nsources:\n  orders: {path: orders.csv, key: order_id, time: d, complete_through: 2025-02-28}\n"
ORDERS = "order_id,d,amount,region\n1,2025-01-03,10,EU\n2,2025-01-20,5,NA\n3,2025-02-02,7,EU\n"
KPIS = """\
kpis:
  - name: revenue
    label: {en: Revenue, fr: Chiffre d'affaires}
    description: Sales in EUR.
    owner: sales
    source: orders
    formula: sum(amount)
    format: integer
    dimensions: [region]
    target: {min: 20, by: 2025-12-31}
    tests:
      - given:
          orders:
            - {order_id: 1, d: 2025-01-03, amount: 4, region: EU}
        expect: [{period: 2025-01-01, value: 4}]
  - name: order_count
    source: orders
    formula: count(*)
  - name: average_order
    formula: revenue / order_count
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    (folder / "metrics").mkdir()
    (folder / "kpictl.yml").write_text(PROJECT, encoding="utf-8")
    (folder / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (folder / "metrics" / "sales.yml").write_text(KPIS, encoding="utf-8")
    return folder


def kpictl(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(root), *args], env=ENV)


def ok(result: Result) -> str:
    """stdout of a command that succeeded and said nothing on stderr."""
    assert (result.exit_code, result.stderr) == (0, ""), (result.exit_code, result.stderr, result.exception)
    return result.stdout


def test_validate_text_says_what_is_valid(root: Path) -> None:
    assert ok(kpictl(root, "validate")) == "3 KPIs in 1 files: valid\n"
    body = json.loads(ok(kpictl(root, "validate", "--format", "json")))
    assert body == {"ok": True, "errors": [], "summary": "3 KPIs in 1 files: valid"}


def test_list_table(root: Path) -> None:
    assert ok(kpictl(root, "list")) == (
        "NAME           LABEL          SOURCE   TARGET                        OWNER  DIMENSIONS\n"
        "revenue        Revenue        orders   ≥ 20 per month by 2025-12-31  sales  region\n"
        "order_count    order_count    orders   —                             —      —\n"
        "average_order  average_order  derived  —                             —      —\n"
    )


def test_list_json(root: Path) -> None:
    body = json.loads(ok(kpictl(root, "list", "--format", "json")))
    assert [(k["name"], k["source"], k["derived"], k["dimensions"], k["line"]) for k in body] == [
        ("revenue", "orders", False, ["region"], 2),
        ("order_count", "orders", False, [], 16),
        ("average_order", None, True, [], 19),
    ]
    # a sum's bound is meant for its grain (month, the project's): said with the bound
    assert body[0]["target"] == "≥ 20 per month by 2025-12-31" and body[0]["target_period"] == "month"
    assert body[0]["owner"] == "sales" and body[2]["target_period"] is None


def test_list_json_gives_every_language_and_lang_picks_one(root: Path) -> None:
    # issue 20, point 7: revenue is labelled in English and French
    body = json.loads(ok(kpictl(root, "list", "--format", "json")))
    assert body[0]["labels"] == {"en": "Revenue", "fr": "Chiffre d'affaires"} and body[0]["label"] == "Revenue"
    assert json.loads(ok(kpictl(root, "list", "--format", "json", "--lang", "fr")))[0]["label"] == "Chiffre d'affaires"
    table = ok(kpictl(root, "list", "--lang", "fr"))
    assert table.splitlines()[0].startswith("NOM") and "≥\u202f20 par mois d'ici le 2025-12-31" in table
    # run's table and show follow --lang too: French words and number formats
    run = ok(kpictl(root, "run", "--lang", "fr"))
    assert "Chiffre d'affaires" in run and "STATUT" in run
    shown = ok(kpictl(root, "show", "revenue", "--lang", "fr"))
    assert "target       ≥\u202f20 par mois d'ici le 2025-12-31" in shown  # French spacing (narrow no-break space)


def test_help_examples_run(root: Path) -> None:
    # every example of list --help gives a result on the shipped catalog (it printed [] before)
    from kpictl.cli import cli as main

    repo = Path(__file__).parent.parent
    example = main.commands["list"].help.split("Example:")[1].split()  # type: ignore[union-attr]
    assert example[:2] == ["kpictl", "list"]
    result = CliRunner().invoke(main, ["--project", str(repo), *example[1:]], env=ENV)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) > 1, result.stdout


def test_list_by_tag_is_empty_when_no_kpi_has_it(root: Path) -> None:
    assert ok(kpictl(root, "list", "--tag", "finance")).startswith("NAME")


def test_show_gives_definition_lineage_and_the_sql_of_compile(root: Path) -> None:
    out = ok(kpictl(root, "show", "average_order"))
    assert "formula      revenue / order_count\n" in out
    assert (
        "average_order = revenue / order_count\n├── revenue  (source: orders)\n└── order_count  (source: orders)\n"
        in out
    )
    assert out.endswith("sql\n" + ok(kpictl(root, "compile", "average_order")))


def test_compile_prints_one_duckdb_select(root: Path) -> None:
    out = ok(kpictl(root, "compile", "revenue", "--by", "region"))
    assert out.startswith("-- kpictl: revenue by region\nWITH\n")
    assert "INTERVAL 1 MONTH" in out and out.endswith("ORDER BY 1, 2, 3\n")


def test_compile_dialect_transpiles_with_sqlglot(root: Path) -> None:
    result = kpictl(root, "compile", "revenue", "--dialect", "postgres")
    assert result.exit_code == 0 and result.stderr.count("\n") == 1 and "postgres SQL is untested" in result.stderr
    out = result.stdout
    assert out.startswith("-- kpictl: revenue\nWITH scan_1")
    assert "INTERVAL '1 MONTH'" in out and "DOUBLE PRECISION" in out  # PostgreSQL's spelling
    assert "INTERVAL 1 MONTH" not in out


def test_compile_unknown_dialect_is_a_usage_error(root: Path) -> None:
    result = kpictl(root, "compile", "revenue", "--dialect", "nosuchsql")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("<project>: cannot transpile to 'nosuchsql': ")


TABLE = (
    "KPI            2025-02  2025-01        CHANGE  TARGET  EXPECTED  STATUS       REACHES\n"
    "Revenue              7       15   -8 (-53.3%)    ≥ 20        15  ✗ off track  never\n"
    "order_count          1        2   -1 (-50.0%)                    · no target\n"
    "average_order        7      7.5  -0.5 (-6.7%)                    · no target\n"
)


def test_run_table(root: Path) -> None:
    assert ok(kpictl(root, "run")) == TABLE


def test_run_markdown(root: Path) -> None:
    assert ok(kpictl(root, "run", "--format", "markdown")) == (
        "| KPI | 2025-02 | 2025-01 | Change | Target | Expected | Status | Reaches |\n"
        "|:---|---:|---:|---:|---:|---:|:---|:---|\n"
        "| Revenue | 7 | 15 | -8 (-53.3%) | ≥ 20 | 15 | ✗ off track | never |\n"
        "| order_count | 1 | 2 | -1 (-50.0%) |  |  | · no target |  |\n"
        "| average_order | 7 | 7.5 | -0.5 (-6.7%) |  |  | · no target |  |\n"
    )


VALUES = [
    ("revenue", "2025-01-01", 15.0, "on_track"),
    ("revenue", "2025-02-01", 7.0, "off_track"),
    ("order_count", "2025-01-01", 2.0, "no_target"),
    ("order_count", "2025-02-01", 1.0, "no_target"),
    ("average_order", "2025-01-01", 7.5, "no_target"),
    ("average_order", "2025-02-01", 7.0, "no_target"),
]


def test_run_json(root: Path) -> None:
    rows = json.loads(ok(kpictl(root, "run", "--format", "json")))["rows"]
    assert [(r["kpi"], r["period"], r["value"], r["status"]) for r in rows] == VALUES
    assert rows[1]["expected"] == pytest.approx(15 + 5 * 28 / 334)


def test_run_csv(root: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(kpictl(root, "run", "--format", "csv")))))
    assert [(r["kpi"], r["period"], float(r["value"]), r["status"]) for r in rows] == VALUES
    assert rows[1]["reaches_by_deadline"] == "false"


def test_run_parquet_to_a_file(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "rows.parquet"
    assert ok(kpictl(root, "run", "--format", "parquet", "--output", str(target))) == ""
    read = duckdb.sql(f"SELECT kpi, strftime(period, '%Y-%m-%d'), value, status FROM '{target}'").fetchall()
    assert read == VALUES


def test_run_fail_on_names_the_breach_and_exits_1(root: Path) -> None:
    result = kpictl(root, "run", "--fail-on", "off_track")
    assert (result.exit_code, result.stdout) == (1, TABLE)
    assert result.stderr == "revenue 2025-02-01: value 7, expected 15.41916168, off_track\n"


def test_test_dots_and_summary_and_junit(root: Path, tmp_path: Path) -> None:
    junit = tmp_path / "kpi-tests.xml"
    assert ok(kpictl(root, "test", "--junit", str(junit))) == ".\n1 passed, 0 failed\n"
    assert '<testsuite name="kpictl" tests="1" failures="0"' in junit.read_text("utf-8")


def test_lint_text(root: Path) -> None:
    out = ok(kpictl(root, "lint"))
    assert out.splitlines()[:2] == ["KPI            S M A R T", "revenue        ✓ ✓ ! ✗ ✓"]
    assert out.endswith("0 of 3 KPIs pass (✓ pass, ! warn, ✗ fail)\n")


def test_lint_json(root: Path) -> None:
    body = json.loads(ok(kpictl(root, "lint", "--format", "json")))
    letters = {k["kpi"]: "".join(v["level"][0] for v in k["letters"].values()) for k in body["kpis"]}
    assert letters == {"revenue": "ppwfp", "order_count": "fffff", "average_order": "fffff"}


def test_lint_markdown(root: Path) -> None:
    out = ok(kpictl(root, "lint", "--format", "markdown"))
    assert out.splitlines()[:3] == [
        "| KPI | S | M | A | R | T | notes |",
        "|---|---|---|---|---|---|---|",
        out.splitlines()[2],
    ]
    assert out.splitlines()[2].startswith("| `revenue` | ✓ | ✓ | ! | ✗ | ✓ | A: stretch: min 20 is 5 beyond")


def test_lint_strict_without_data_exits_1(root: Path) -> None:
    result = kpictl(root, "lint", "--strict", "--no-data")
    assert (result.exit_code, result.stderr) == (1, "")
    assert result.stdout.splitlines()[1] == "revenue        ✓ ✓ ! ✗ ✓"  # A: not checked without data


@pytest.mark.parametrize("which", ["project", "kpis"])
def test_schema_prints_one(which: str, tmp_path: Path) -> None:
    assert json.loads(ok(kpictl(tmp_path, "schema", which))) == schema(which)


def test_schema_prints_both_by_file_name(tmp_path: Path) -> None:
    assert json.loads(ok(kpictl(tmp_path, "schema"))) == {SCHEMAS[k]: schema(k) for k in SCHEMAS}


def test_schema_write_publishes_the_packaged_files(tmp_path: Path) -> None:
    assert ok(kpictl(tmp_path, "schema", "--write", str(tmp_path / "out"))) == ""
    published = Path(__file__).parent.parent / "schemas"
    for name in SCHEMAS.values():
        assert (tmp_path / "out" / name).read_text("utf-8") == (published / name).read_text("utf-8")


def test_init_writes_a_project_that_validates_and_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "new")], env=ENV)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.splitlines()[-1] == f"next: cd {tmp_path / 'new'} && kpictl run"
    assert ok(kpictl(tmp_path / "new", "validate")).endswith(": valid\n")
    assert ok(kpictl(tmp_path / "new", "run", "--format", "json")).startswith('{"rows": [')


def test_report_writes_the_page_and_says_so(root: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = kpictl(root, "report", "--out", str(page), "--lang", "fr")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", f"wrote {page}: 3 KPIs\n")
    text = page.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="fr">' in text and "Chiffre d&#39;affaires" in text


def test_a_data_error_points_at_the_kpi_reading_the_column_it_names(tmp_path: Path) -> None:
    """DuckDB says "source column code": the KPI reading code is blamed, not the query's first."""
    (tmp_path / "metrics").mkdir()
    (tmp_path / "kpictl.yml").write_text("name: b\nsources:\n  orders: {path: o.csv, time: d}\n", encoding="utf-8")
    (tmp_path / "o.csv").write_text("d,amount,code\n2025-01-03,10,abc\n2025-01-20,5,12\n", encoding="utf-8")
    kpis = "kpis:\n  - name: total\n    source: orders\n    formula: sum(amount)\n"
    kpis += "  - name: coded\n    source: orders\n    formula: sum(cast(code as integer))\n"
    (tmp_path / "metrics" / "a.yml").write_text(kpis, encoding="utf-8")
    result = kpictl(tmp_path, "run")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        "metrics/a.yml:5:11: Conversion Error: Could not convert string '…' to INT32 when casting from source"
        " column code (while computing total, coded)\n"
    )
