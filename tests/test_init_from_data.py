"""`kpictl init --from-data`: a new project from the user's own files (issue 20, point 8).

The files are made here with a few rows each; what init should guess is worked out by hand
from their columns, and the project it writes must validate and run with counts counted here.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from kpictl.cli import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "KPICTL_DEBUG": ""}


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Path]:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV)


def data(root: Path) -> None:
    (root / "data").mkdir()
    # 40 flights, one a day from 2024-01-01: 31 in January, 9 in February (through Feb 9)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    con = duckdb.connect()
    con.execute("CREATE TABLE f (flight_id INTEGER, carrier VARCHAR, dep_date DATE, arr_time TIMESTAMP)")
    con.executemany(
        "INSERT INTO f VALUES (?, ?, ?, ?)",
        [(i, "AA", d, dt.datetime.combine(d, dt.time(10))) for i, d in enumerate(days)],
    )
    con.execute(f"COPY f TO '{root / 'data' / 'flights.parquet'}'")
    # no DATE column; plane_id is repeated: neither key nor time can be guessed
    (root / "data" / 'My "planes"\n(2024).csv').write_text("plane_id,seats\n1,100\n2,150\n2,150\n", encoding="utf-8")
    # orders: a unique id named like the source, a date named like a date next to one that is not
    (root / "data" / "orders.csv").write_text(
        "order_id,signed,order_date,amount\n1,2023-12-01,2024-01-05,10\n2,2023-12-02,2024-03-31,5\n", encoding="utf-8"
    )


def test_one_source_per_file_with_guesses_marked(here: Path) -> None:
    data(here)
    files = sorted(str(p.relative_to(here)) for p in (here / "data").iterdir())
    result = invoke("init", "--from-data", *files)
    assert result.exit_code == 0, result.stderr
    yml = (here / "kpictl.yml").read_text(encoding="utf-8")
    assert '  flights:\n    path: "data/flights.parquet"\n    key: flight_id  # guessed' in yml
    assert "    time: dep_date  # guessed: DATE; other date columns: arr_time; check it\n" in yml
    assert '  orders:\n    path: "data/orders.csv"\n    key: order_id  # guessed' in yml
    assert "    time: order_date  # guessed: DATE; other date columns: signed; check it\n" in yml
    # the odd file name is a quoted YAML string and a valid source name; nothing is guessed for it
    assert '  my_planes_2024:\n    path: "data/My \\"planes\\"\\n(2024).csv"\n    # key: no unique' in yml
    assert "    # time: no DATE or TIMESTAMP column" in yml
    assert 'source my_planes_2024: "data/My \\"planes\\"\\n(2024).csv", key ?, time ?' in result.stderr
    # it validates and runs: one count KPI per source with a time column
    assert invoke("validate").exit_code == 0
    run = invoke("run", "--format", "csv")
    assert run.exit_code == 0, run.stderr
    counts = [line.split(",")[:3] for line in run.stdout.splitlines()[1:]]
    assert counts == [
        ["flights_count", "2024-01-01", "31.0"],
        ["flights_count", "2024-02-01", "9.0"],
        ["orders_count", "2024-01-01", "1.0"],
        ["orders_count", "2024-02-01", "0.0"],
        ["orders_count", "2024-03-01", "1.0"],
    ]


def test_globs_are_expanded_and_files_outside_the_folder_refused(
    here: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data(here)
    assert invoke("init", "--from-data", "data/*.parquet").exit_code == 0
    assert "flights:" in (here / "kpictl.yml").read_text(encoding="utf-8")
    again = invoke("init", "--from-data", "data/*.parquet")
    assert again.exit_code == 2 and "kpictl.yml already exists" in again.stderr
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "x.csv").write_text("d\n2024-01-01\n", encoding="utf-8")
    (here / "kpictl.yml").unlink()
    outside = invoke("init", "--from-data", str(elsewhere / "x.csv"))
    assert outside.exit_code == 2
    assert "is outside the project folder" in outside.stderr and "copy them into" in outside.stderr
    assert not (here / "kpictl.yml").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-data"], "--from-data needs the data files"),
        (["--from-data", "data/nothing*.parquet"], "no file matches data/nothing*.parquet"),
        (["--from-data", "notes.txt"], "kpictl reads Parquet (.parquet) and CSV"),
        (["a", "b"], "init takes one DIRECTORY, got 2"),
    ],
)
def test_bad_arguments_are_one_line_errors(here: Path, args: list[str], message: str) -> None:
    (here / "notes.txt").write_text("hello\n", encoding="utf-8")
    result = invoke("init", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (here / "kpictl.yml").exists()
