"""SQL for other engines (kpictl.sql.dialects): the rules kpictl adds to sqlglot, without Spark.

Running the Spark SQL and comparing its numbers with DuckDB's is tests/test_spark.py; here each
rule is checked on the generated text, and the CLI's warning for untested dialects.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpictl.cli import cli
from kpictl.errors import SpecError
from kpictl.project import Project
from kpictl.sql import dialects

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def catalog_sql() -> tuple[str, dict[str, dt.date]]:
    compiled = Project.load(ROOT).compile(None, start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30))
    return compiled.sql, dict(compiled.params)


def test_spark_sql_has_none_of_the_three_constructs_spark_rejects(catalog_sql: tuple[str, dict[str, dt.date]]) -> None:
    sql, params = catalog_sql
    assert "AS MATERIALIZED" in sql and "QUANTILE_CONT(" in sql.upper() and "unnest(" in sql  # DuckDB's
    spark = dialects.to_dialect(sql, params, "spark")
    assert "MATERIALIZED" not in spark.upper()
    assert "PERCENTILE_CONT" not in spark.upper() and "PERCENTILE(" in spark.upper()
    assert not re.search(r"CAST\(\s*EXPLODE", spark, re.IGNORECASE)
    assert "EXPLODE(" in spark.upper()
    assert "$" not in spark and ":from_" not in spark  # dates inlined
    assert "CAST('2025-01-01' AS DATE)" in spark
    assert '"' not in spark.replace('\\"', "")  # identifiers in backticks: "x" is a string on Spark
    assert spark.startswith("-- kpictl: ")
    assert "/*" not in spark  # comments dropped: a `*/` in a file name must not end one


def test_spark_orders_nulls_last_like_duckdb() -> None:
    spark = dialects.to_dialect("SELECT a, b FROM t ORDER BY 1, 2", {}, "spark")
    assert "1 NULLS LAST" in spark and "2 NULLS LAST" in spark


def test_date_diff_counts_boundaries_on_spark_as_on_duckdb() -> None:
    spark = dialects.to_dialect("SELECT date_diff('minute', a, b) FROM t", {}, "spark")
    # 10:00:59 → 10:01:00 is one minute boundary on DuckDB: Spark must truncate both ends first
    assert re.search(r"DATEDIFF\(\s*MINUTE,\s*DATE_TRUNC\('MINUTE', a\),\s*DATE_TRUNC\('MINUTE', b\)\)", spark), spark


def test_quantile_disc_is_exact_on_spark() -> None:
    spark = dialects.to_dialect("SELECT quantile_disc(x, 0.5) FROM t", {}, "spark")
    assert "APPROX" not in spark.upper()
    assert re.search(r"PERCENTILE_DISC\(0\.5\) WITHIN GROUP \(ORDER BY\s+x", spark, re.IGNORECASE), spark


def test_duckdb_is_returned_as_compiled(catalog_sql: tuple[str, dict[str, dt.date]]) -> None:
    sql, params = catalog_sql
    assert dialects.to_dialect(sql, params, "duckdb") == sql


def test_a_parameter_without_a_value_is_an_error() -> None:
    with pytest.raises(SpecError, match="from_month"):
        dialects.to_dialect("SELECT 1 WHERE d >= $from_month", {}, "spark")


def test_only_tested_dialects_are_offered_without_a_warning() -> None:
    assert dialects.untested_warning("duckdb") is None and dialects.untested_warning("spark") is None
    warning = dialects.untested_warning("bigquery")
    assert warning is not None and "untested" in warning and "\n" not in warning


@pytest.mark.parametrize(("dialect", "warned"), [("spark", False), ("duckdb", False), ("snowflake", True)])
def test_compile_dialect_warns_on_stderr_for_untested_dialects(dialect: str, warned: bool) -> None:
    result = CliRunner().invoke(cli, ["--project", str(ROOT), "compile", "revenue", "--dialect", dialect])
    assert result.exit_code == 0, result.output
    assert ("untested" in result.stderr) is warned
    assert result.stdout.count("SELECT") >= 1 and "untested" not in result.stdout
