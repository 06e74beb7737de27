"""Docs cannot drift: schemas published == packaged, public API exact, every command documented."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import kpictl
from kpictl.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_published_schemas_are_the_packaged_ones() -> None:
    for name in ("kpictl.schema.json", "kpi-file.schema.json"):
        published = (ROOT / "schemas" / name).read_bytes()
        packaged = (ROOT / "kpictl" / "schemas" / name).read_bytes()
        assert published == packaged, f"schemas/{name} differs: run `make schemas`"


def test_public_api_is_exactly_this() -> None:
    assert sorted(kpictl.__all__) == [
        "DataError",
        "InvalidProject",
        "KpiError",
        "Location",
        "Project",
        "SpecError",
        "__version__",
    ]
    for name in kpictl.__all__:
        assert hasattr(kpictl, name)


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    assert isinstance(cli, click.Group)
    for name in cli.commands:
        result = runner.invoke(cli, [name, "--help"], env={"NO_COLOR": "1", "COLUMNS": "100"})
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"`kpictl {name} --help` needs an example"


def test_help_and_version_do_not_import_duckdb() -> None:
    """Nor any library that only reading, checking, compiling or running definitions needs."""
    for args in (["--version"], ["--help"], ["run", "--help"], ["validate", "--help"]):
        code = (
            "import sys; from kpictl.cli import cli\n"
            f"try:\n    cli({args!r})\nexcept SystemExit:\n    pass\n"
            "for name in ('duckdb', 'sqlglot', 'jsonschema', 'jinja2', 'yaml'):\n"
            "    assert name not in sys.modules, f'{name} imported'\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_the_lookups_example_counts_by_hand() -> None:
    """README, "The language": docs/examples/flights, each lookup counted by hand on its five
    flights (four in January; the one of February has no plane, no destination, no weather)."""
    from kpictl import Project

    project = Project.load(ROOT / "docs" / "examples" / "flights")

    def january(by: str) -> dict[object, float | None]:
        rows = project.run(["flights"], by=[by], end=dt.date(2025, 1, 31))
        return {r.dims[by]: r.value for r in rows if r.value}

    assert january("origin_airport.city") == {"New York": 3, "Boston": 1}  # a role, origin → faa
    assert january("dest_airport.city") == {"New York": 3, "Boston": 1}  # the same airports, as destination
    assert january("country") == {"United States": 2, "France": 1, None: 1}  # three lookups away; N3's maker unknown
    assert january("alliance") == {"oneworld": 1, "skyteam": 2, "none": 1}  # AA changed alliance on Jan 15
    assert january("conditions") == {"snow": 1, "clear": 2, None: 1}  # no snapshot of LGA
    share = {r.period.isoformat(): r.value for r in project.run(["delayed_share"])}
    assert share == {"2025-01-01": 2 / 3, "2025-02-01": 0.0}  # delayed: a computed column; one delay unknown


def test_the_whole_range_example_equals_hand_written_sql() -> None:
    """README, "Whole-range totals": conversion rate over Q3 2025 by channel on the sample data,
    against the converted leads over the distinct visitors of Q3 counted by hand-written SQL."""
    import duckdb

    from kpictl import Project

    q3 = {"start": dt.date(2025, 7, 1), "end": dt.date(2025, 9, 30)}
    rows = Project.load(ROOT).run(["conversion_rate"], grain="all", by=["channel"], **q3)
    between = "BETWEEN DATE '2025-07-01' AND DATE '2025-09-30'"
    hand = (
        duckdb.connect()
        .execute(
            f"""
        SELECT coalesce(l.channel, v.channel), l.n / v.n FROM
          (SELECT channel, count(*) FILTER (WHERE converted) AS n FROM '{ROOT}/data/leads.parquet'
           WHERE CAST(created_date AS DATE) {between} GROUP BY 1) AS l
        FULL JOIN
          (SELECT channel, count(DISTINCT visitor_id) AS n FROM '{ROOT}/data/web_sessions.parquet'
           WHERE CAST(date AS DATE) {between} GROUP BY 1) AS v ON l.channel IS NOT DISTINCT FROM v.channel
        """
        )
        .fetchall()
    )
    assert {r.dims["channel"]: r.value for r in rows} == pytest.approx(dict(hand), rel=1e-12)
    assert {(r.period, r.through) for r in rows} == {(q3["start"], q3["end"])}
