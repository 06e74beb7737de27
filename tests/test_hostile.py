"""A hostile pull request gets nothing (issue 19): each attack of the issue, with its exact outcome.

The threat model (README, Security): KPI files and kpictl.yml come from pull requests whose authors
must not read or write outside the project's data, run code, or slip SQL into the query. Each test
builds a real project (and real symlinks, files, git repositories) in a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kpictl.cli import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "80", "KPICTL_DEBUG": "", "KPICTL_ALLOW_PATH": ""}
ORDERS = "order_id,order_date,amount\n1,2025-01-03,100\n2,2025-01-20,50\n3,2025-02-02,25\n"
SECRET = "token,order_date\nS3CR3T-TOKEN-42,2025-01-01\n"
KPI = "kpis:\n  - name: revenue\n    source: orders\n    formula: sum(amount)\n"


def project(root: Path, *, source: str = "data/orders.csv", metrics: str = "[metrics]", kpis: str = KPI) -> Path:
    """A one-KPI project at ``root`` over ``source``, with a secret file next to it (outside)."""
    (root / "data").mkdir(parents=True)
    (root / "data" / "orders.csv").write_text(ORDERS)
    (root / "metrics").mkdir()
    (root / "metrics" / "sales.yml").write_text(kpis)
    secret = root.parent / "secret"
    secret.mkdir(exist_ok=True)
    (secret / "creds.csv").write_text(SECRET)
    (secret / "kpis.yml").write_text(KPI.replace("revenue", "stolen"))
    (root / "kpictl.yml").write_text(
        f"name: t\nmetrics: {metrics}\nsources:\n  orders: {{path: {json.dumps(source)}, time: order_date}}\n"
    )
    return root


def invoke(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--project", str(root), *args], env={**ENV, **(env or {})})


def revenue(result: Result) -> dict[str, float]:
    assert result.exit_code == 0, result.stderr
    return {row["period"]: row["value"] for row in json.loads(result.stdout)["rows"] if row["kpi"] == "revenue"}


# -- 1. SQL through a file name or a KPI name ------------------------------------------------------


def test_sql_through_a_file_name(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    evil = "a\norders AS (SELECT 1e9 AS amount, DATE '2025-01-01' AS order_date), --.yml"
    (root / "metrics" / "sales.yml").rename(root / "metrics" / evil)
    compiled = invoke(root, "compile")
    assert compiled.exit_code == 0, compiled.stderr
    assert not any(line.startswith("orders AS") for line in compiled.stdout.splitlines())
    assert "a\\norders AS" in compiled.stdout  # the name is still shown, escaped inside its comment
    assert revenue(invoke(root, "run", "--format", "json")) == {"2025-01-01": 150.0, "2025-02-01": 25.0}


@pytest.mark.parametrize("name", ["x\n", "x\r", "x\u2028", "revenue\n-- y"])
def test_a_kpi_name_must_be_an_identifier(tmp_path: Path, name: str) -> None:
    root = project(tmp_path / "p", kpis=KPI.replace("name: revenue", f"name: {json.dumps(name)}"))
    result = invoke(root, "validate")
    assert result.exit_code == 2
    assert "is not a valid name" in result.stderr or "is not" in result.stderr, result.stderr
    assert invoke(root, "compile").exit_code == 2


# -- 2. Paths that leave the project -------------------------------------------------------------


def test_an_absolute_source_path_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret" / "creds.csv"
    root = project(tmp_path / "p", source=str(secret))
    for command in ("validate", "run"):
        result = invoke(root, command)
        assert result.exit_code == 2, result.stderr
        assert f"source 'orders': path leaves the project: {secret}" in result.stderr
        assert "S3CR3T" not in result.stderr + result.stdout


@pytest.mark.parametrize("path", ["../secret/creds.csv", "data/../../secret/creds.csv", "../../**", "../*/creds.csv"])
def test_a_relative_path_out_of_the_project_is_refused(tmp_path: Path, path: str) -> None:
    root = project(tmp_path / "p", source=path)
    result = invoke(root, "run")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"kpictl.yml:4:3: source 'orders': path leaves the project: {path}")
    assert "--allow-path" in result.stderr
    assert "S3CR3T" not in result.stderr + result.stdout


def test_a_symlink_in_data_pointing_outside_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path / "p", source="data/*.csv")
    (root / "data" / "z.csv").symlink_to(tmp_path / "secret" / "creds.csv")
    result = invoke(root, "run")
    assert result.exit_code == 2, result.stderr
    assert "source 'orders': a file of 'data/*.csv' is a link to a file outside the project" in result.stderr
    root2 = project(tmp_path / "q", source="data/link.csv")
    (root2 / "data" / "link.csv").symlink_to(tmp_path / "secret" / "creds.csv")
    assert "path leaves the project: data/link.csv" in invoke(root2, "run").stderr


def test_allow_path_opens_one_folder_and_only_from_outside_the_yaml(tmp_path: Path) -> None:
    outside = tmp_path / "warehouse"
    outside.mkdir()
    (outside / "orders.csv").write_text(ORDERS)
    root = project(tmp_path / "p", source=str(outside / "orders.csv"))
    assert invoke(root, "run").exit_code == 2
    expected = {"2025-01-01": 150.0, "2025-02-01": 25.0}
    assert revenue(invoke(root, "--allow-path", str(outside), "run", "--format", "json")) == expected
    assert revenue(invoke(root, "run", "--format", "json", env={"KPICTL_ALLOW_PATH": str(outside)})) == expected
    # allowing one folder does not allow its neighbour
    other = project(tmp_path / "r", source=str(tmp_path / "secret" / "creds.csv"))
    assert invoke(other, "--allow-path", str(outside), "run").exit_code == 2


@pytest.mark.parametrize("folder", ["../secret", "ABSOLUTE"])
def test_a_metrics_folder_outside_is_refused(tmp_path: Path, folder: str) -> None:
    folder = str(tmp_path / "secret") if folder == "ABSOLUTE" else folder
    root = project(tmp_path / "p", metrics=json.dumps([folder, "metrics"]))
    result = invoke(root, "validate")
    assert result.exit_code == 2
    assert f"kpictl.yml:2:12: metrics folder leaves the project: {folder}" in result.stderr
    assert "stolen" not in invoke(root, "list").stdout


def test_a_symlinked_kpi_file_pointing_outside_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "metrics" / "more.yml").symlink_to(tmp_path / "secret" / "kpis.yml")
    result = invoke(root, "validate")
    assert result.exit_code == 2
    assert "KPI file metrics/more.yml is a link to a file outside the project" in result.stderr
    assert "stolen" not in invoke(root, "list").stdout


# -- 9. symlink loops: each file read once, no hang --------------------------------------------------


def test_a_symlink_loop_in_a_folder_source_reads_each_file_once(tmp_path: Path) -> None:
    root = project(tmp_path / "p", source="data")
    (root / "kpictl.yml").write_text((root / "kpictl.yml").read_text().replace("time:", "format: csv, time:"))
    (root / "data" / "loop").symlink_to(root / "data")
    (root / "data" / "again").symlink_to(root / "data")
    (root / "data" / "same.csv").symlink_to(root / "data" / "orders.csv")
    assert revenue(invoke(root, "run", "--format", "json")) == {"2025-01-01": 150.0, "2025-02-01": 25.0}


def test_an_empty_folder_source_names_the_pattern_tried(tmp_path: Path) -> None:
    root = project(tmp_path / "p", source="data/none")
    (root / "data" / "none").mkdir()
    result = invoke(root, "run")
    assert result.exit_code == 3
    assert "source 'orders': no file matches 'data/none/**/*.parquet'" in result.stderr


def test_globs_stay_within_a_folder_level(tmp_path: Path) -> None:
    root = project(tmp_path / "p", source="data/*.csv")
    (root / "data" / "sub").mkdir()
    (root / "data" / "sub" / "more.csv").write_text(ORDERS)
    assert revenue(invoke(root, "run", "--format", "json")) == {"2025-01-01": 150.0, "2025-02-01": 25.0}
    (root / "kpictl.yml").write_text((root / "kpictl.yml").read_text().replace("data/*.csv", "data/**/*.csv"))
    assert revenue(invoke(root, "run", "--format", "json")) == {"2025-01-01": 300.0, "2025-02-01": 50.0}


def test_paths_module_translates_globs() -> None:
    from kpictl.language import paths

    cases = [
        ("*.csv", "a.csv", True),
        ("*.csv", "x/a.csv", False),
        ("**/*.csv", "x/y/a.csv", True),
        ("**/*.csv", "a.csv", True),
        ("[a-c]?.csv", "b1.csv", True),
        ("[!a]*.csv", "a1.csv", False),
        ("a.csv", "a.csv", True),
        ("a.csv", "aXcsv", False),
    ]
    for pattern, path, expected in cases:
        assert bool(paths._translate(pattern).fullmatch(path)) is expected, (pattern, path)
    assert paths.static_part("data/x/*.csv") == "data/x"
    assert paths.static_part("../../**") == "../.."
    assert paths.inside("/a/b/c", ["/a/b"]) and not paths.inside("/a/bc", ["/a/b"])


def test_unix_only_guard() -> None:
    assert os.sep == "/"  # the symlink tests above need a POSIX file system


# -- 3. Markdown and CI-log injection ------------------------------------------------------------------


def by_region_project(root: Path, region: str, label: str = "Revenue") -> Path:
    project(root)
    rows = f'order_id,order_date,amount,region\n1,2025-01-03,100,EU\n2,2025-01-20,50,"{region}"\n'
    (root / "data" / "orders.csv").write_text(rows)
    (root / "metrics" / "sales.yml").write_text(
        f"kpis:\n  - name: revenue\n    label: {json.dumps(label)}\n    source: orders\n"
        "    formula: sum(amount)\n    dimensions: [region]\n"
    )
    return root


def test_markdown_escapes_html_and_newlines_from_data(tmp_path: Path) -> None:
    root = by_region_project(tmp_path / "p", "<img src=x onerror=alert(1)>\n<!--")
    result = invoke(root, "run", "--by", "region", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    assert "<img" not in result.stdout and "<!--" not in result.stdout
    assert "&lt;img src=x onerror=alert(1)&gt;\\\\n&lt;!--" in result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("|") for line in lines)  # header, rule, two rows


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_no_output_line_starts_a_ci_command(tmp_path: Path, fmt: str) -> None:
    root = by_region_project(tmp_path / "p", "x\n::stop-commands::pwned", label="::error::forged")
    result = invoke(root, "run", "--by", "region", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert not any(line.lstrip("| ").startswith("::") for line in result.stdout.splitlines()), result.stdout


def test_a_test_name_cannot_write_ci_commands(tmp_path: Path) -> None:
    name = "t\n::error file=x::forged\n::stop-commands::abc"
    kpis = KPI + (
        f"    tests:\n      - name: {json.dumps(name)}\n        given:\n          orders:\n"
        "            - {order_id: 1, order_date: 2025-01-03, amount: 5}\n"
        "        expect: [{period: 2025-01-01, value: 6}]\n"
    )
    root = project(tmp_path / "p", kpis=kpis)
    result = invoke(root, "test")
    assert result.exit_code == 1, result.stderr
    assert not any(line.lstrip().startswith("::") for line in result.output.splitlines()), result.output
    assert "::error" in result.output  # still there, on the failure's line, escaped


def test_an_error_message_cannot_start_a_line_with_user_text(tmp_path: Path) -> None:
    root = project(tmp_path / "p", kpis=KPI.replace("sum(amount)", 'sum("a\n::error::x")'))
    result = invoke(root, "validate")
    assert result.exit_code == 2
    assert not any(line.startswith("::") for line in result.stderr.splitlines()), result.stderr


# -- 4. output permissions, and signals during a write -------------------------------------------------


def test_output_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    out = tmp_path / "out.json"
    out.write_text("old")
    out.chmod(0o600)
    assert invoke(root, "run", "--format", "json", "-o", str(out)).exit_code == 0
    assert (out.stat().st_mode & 0o777) == 0o600
    assert json.loads(out.read_text())["rows"]
    fresh = tmp_path / "new.json"
    umask = os.umask(0o027)
    try:
        assert invoke(root, "run", "--format", "json", "-o", str(fresh)).exit_code == 0
    finally:
        os.umask(umask)
    assert (fresh.stat().st_mode & 0o777) == 0o640


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os, signal, threading
        from kpictl.report import files
        real = os.fsync
        def slow(fd):
            os.kill(os.getpid(), signal.SIGTERM)
            real(fd)
        os.fsync = slow
        files.emit("x" * 1000, {str(tmp_path / "out.csv")!r})
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- 5. diff reads git names as they are -------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize("file_name", ["é/ventes.yml", "ventes é.yml", "a\nb.yml", "tab\there.yml"])
def test_diff_sees_kpi_files_whose_names_are_not_ascii(tmp_path: Path, file_name: str) -> None:
    root = project(tmp_path / "p")
    target = root / "metrics" / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    (root / "metrics" / "sales.yml").rename(target)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    target.write_text(KPI.replace("sum(amount)", "sum(amount) * 2"))
    result = invoke(root, "diff", "main", "--data", "--fail-on-change", "0.01")
    assert result.exit_code == 1, result.output
    assert "1 changed" in result.stdout
    assert "removed" not in result.stdout and "added" not in result.stdout


# -- 6. types read from a sample -----------------------------------------------------------------------


def total(root: Path) -> float:
    rows = json.loads(invoke(root, "run", "--format", "json").stdout)["rows"]
    return sum(row["value"] for row in rows if row["kpi"] == "revenue")


def test_parquet_files_typed_integer_then_double_are_summed_exactly(tmp_path: Path) -> None:
    import duckdb

    root = project(tmp_path / "p", source="data/*.parquet")
    con = duckdb.connect()
    for name, value, kind in (("a", 10, "INTEGER"), ("b", 7.5, "DOUBLE"), ("c", 7.5, "DOUBLE")):
        target = root / "data" / f"{name}.parquet"
        con.execute(f"COPY (SELECT {value}::{kind} AS amount, DATE '2025-01-05' AS order_date) TO '{target}'")
    assert total(root) == 25.0  # 10 + 7.5 + 7.5, not 10 + 8 + 8 nor 10 + 7 + 7


def test_a_csv_is_typed_on_all_its_rows(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    rows = "".join(f"{i},2025-01-05,1\n" for i in range(30_000)) + "30000,2025-01-05,2.5\n"
    (root / "data" / "orders.csv").write_text("order_id,order_date,amount\n" + rows)
    assert total(root) == 30_002.5


def test_declared_column_types_win(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    text = (root / "kpictl.yml").read_text().replace("time:", "columns: {amount: double}, time:")
    (root / "kpictl.yml").write_text(text)
    (root / "data" / "orders.csv").write_text("order_id,order_date,amount\n1,2025-01-05,1\n2,2025-01-06,2.25\n")
    assert total(root) == 3.25
    (root / "kpictl.yml").write_text(text.replace("double", "dubble"))
    result = invoke(root, "validate")
    assert result.exit_code == 2
    assert "sources.orders.columns.amount: 'dubble' is not allowed (did you mean 'double'?)" in result.stderr


# -- 7. ambiguous dates ------------------------------------------------------------------------------


def test_dates_are_iso_unless_the_source_declares_a_format(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "data" / "orders.csv").write_text("order_id,order_date,amount\n1,03/04/2025,100\n2,04/05/2025,50\n")
    result = invoke(root, "run")
    assert result.exit_code in (2, 3), result.output
    assert "order_date" in result.stderr
    text = (root / "kpictl.yml").read_text().replace("time:", "date_format: '%m/%d/%Y', time:")
    (root / "kpictl.yml").write_text(text)
    assert revenue(invoke(root, "run", "--format", "json")) == {"2025-03-01": 100.0, "2025-04-01": 50.0}


# -- 8. NaN and infinity -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_non_finite_data_is_an_error_by_default(tmp_path: Path, bad: str) -> None:
    root = project(tmp_path / "p")
    (root / "data" / "orders.csv").write_text(f"order_id,order_date,amount\n1,2025-01-05,1.5\n2,2025-01-06,{bad}\n")
    result = invoke(root, "run", "--fail-on", "off_track")
    assert result.exit_code == 3, result.output
    assert "revenue is" in result.stderr and "NaN or infinite" in result.stderr
    assert "non_finite: null" in result.stderr
    text = (root / "kpictl.yml").read_text().replace("time:", "non_finite: 'null', time:")
    (root / "kpictl.yml").write_text(text)
    assert revenue(invoke(root, "run", "--format", "json")) == {"2025-01-01": 1.5}


# -- 10. unreadable definitions ----------------------------------------------------------------------


def test_a_project_without_kpi_files_fails_validate(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "metrics" / "sales.yml").unlink()
    result = invoke(root, "validate")
    assert result.exit_code == 2
    assert "kpictl.yml:2:10: no KPI file in metrics" in result.stderr


def test_an_unreadable_metrics_folder_or_file_is_exit_3(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    root = project(tmp_path / "p")
    command = [sys.executable, "-m", "kpictl", "--project", str(root), "validate"]
    if os.geteuid() == 0:  # root reads every file: drop the capabilities that let it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv (util-linux) to test unreadable files as root")
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    (root / "metrics").chmod(0o000)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 3, done.stderr
        assert "cannot read a metrics folder: Permission denied" in done.stderr
        (root / "metrics").chmod(0o755)
        (root / "metrics" / "sales.yml").chmod(0o000)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 3, done.stderr
        assert "metrics/sales.yml: cannot read metrics/sales.yml: Permission denied" in done.stderr
    finally:
        (root / "metrics").chmod(0o755)
        (root / "metrics" / "sales.yml").chmod(0o644)


# -- 11. time zones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("timezone", "expected"), [(None, "2025-03-01"), ("Europe/Paris", "2025-04-01")])
def test_timestamps_with_an_offset_are_bucketed_in_the_project_time_zone(
    tmp_path: Path, timezone: str | None, expected: str
) -> None:
    root = project(tmp_path / "p")
    (root / "data" / "orders.csv").write_text("order_id,order_date,amount\n1,2025-04-01T00:30:00+02:00,10\n")
    if timezone:
        (root / "kpictl.yml").write_text((root / "kpictl.yml").read_text() + f"timezone: {timezone}\n")
    assert revenue(invoke(root, "run", "--format", "json")) == {expected: 10.0}


def test_an_unknown_time_zone_is_a_located_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "kpictl.yml").write_text((root / "kpictl.yml").read_text() + "timezone: Europe/Pariss\n")
    result = invoke(root, "validate")
    assert result.exit_code == 2
    assert "kpictl.yml:5:11: unknown time zone 'Europe/Pariss' (did you mean 'Europe/Paris'?)" in result.stderr


# -- hangs and tracebacks ------------------------------------------------------------------------------


def test_ctrl_c_during_a_query_is_one_line_and_exit_130(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    import duckdb

    root = project(tmp_path / "p", source="data/big.parquet", kpis=KPI.replace("sum(amount)", "count(distinct id)"))
    duckdb.execute(
        "COPY (SELECT range AS id, range % 1000 AS amount, DATE '2025-01-01' + (range % 365)::INTEGER AS order_date "
        f"FROM range(30000000)) TO '{root / 'data' / 'big.parquet'}'"
    )
    command = [sys.executable, "-m", "kpictl", "--project", str(root), "run", "--grain", "day", "--by", "id"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        process.send_signal(signal.SIGINT)
        # a quiet machine answers in seconds; with three test suites on 2 cores DuckDB's hash
        # table of 30M ids swapped and it took over a minute to reach its next interrupt check
        _, stderr = process.communicate(timeout=240)
    finally:
        process.kill()  # never left running into the next test (its ResourceWarning failed that one)
        process.wait()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in stderr


def test_a_query_stopped_by_its_time_limit_is_a_data_error() -> None:
    import duckdb

    from kpictl.engine.duckdb import run_select
    from kpictl.errors import DataError

    with pytest.raises(DataError, match=r"the query was stopped after 0.5 s"):
        run_select(duckdb.connect(), "SELECT count(*) FROM range(100000000000) a WHERE a % 7 = 3", timeout=0.5)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("{% for i in 'ab' %}{% for j in 'ab' %}{% endfor %}{% endfor %}1=1", "unsafe Jinja: 'for' cannot be used"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "unsafe Jinja: 'macro' cannot be used"),
        ("{{ 'a'|center(10**11) }}", "No filter named 'center'"),
        ("{{ '%99999999999s' % 'a' }}", "'%' formatting of text cannot be used"),
        ("{{ '{:>99999999999}'.format('a') }}", "only var() can be called"),
        ("amount > {{ 2**100000000 }}", "would build a value too large"),
    ],
)
def test_jinja_is_bounded(tmp_path: Path, where: str, message: str) -> None:
    root = project(tmp_path / "p")
    result = invoke(root, "run", "--where", where)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("--where: ") and message in result.stderr


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("(" * 60 + "sum(amount)" + ")" * 60, "nested too deeply: more than 24 parentheses"),
        (" + ".join(["sum(amount)"] * 50_000), "too long: 249,999 tokens, at most 2,000"),
    ],
)
def test_huge_formulas_are_refused_by_validate_with_their_place(tmp_path: Path, formula: str, message: str) -> None:
    root = project(tmp_path / "p", kpis=KPI.replace("sum(amount)", formula))
    for command in ("validate", "run"):
        result = invoke(root, command)
        assert result.exit_code == 2
        assert result.stderr.startswith("metrics/sales.yml:4:") and message in result.stderr


def test_far_dates_are_bounded(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    result = invoke(root, "run", "--from", "0001-01-01", "--to", "9999-12-31", "--grain", "day")
    assert result.exit_code == 2
    assert "--from: the range has 3,652,059 days: more than 20,000 periods" in result.stderr
    # was ValueError: year 10000; a range only filters the periods of the data (issue 13): no stretch
    result = invoke(root, "run", "--to", "9999-12-31", "--format", "json")
    assert result.exit_code == 0, result.output
    ok = invoke(root, "run", "--from", "9999-11-01", "--to", "9999-12-31", "--format", "json")
    assert ok.exit_code == 0, ok.output
    (root / "data" / "orders.csv").write_text("order_id,order_date,amount\n1,0001-01-01,5\n2,2025-01-01,3\n")
    result = invoke(root, "run", "--grain", "week")
    assert result.exit_code == 3
    weeks = (dt.date(2024, 12, 30) - dt.date(1, 1, 1)).days // 7 + 1  # 0001-01-01 is a Monday
    assert f"the run spans {weeks:,} periods, from 0001-01-01 to 2024-12-30: more than 20,000" in result.stderr


def test_init_and_schema_into_something_that_is_not_a_folder() -> None:
    result = CliRunner().invoke(cli, ["init", "/dev/null"], env=ENV)
    assert (result.exit_code, result.stderr) == (
        2,
        "/dev/null: cannot create a project in /dev/null: it is not a folder\n",
    )
    result = CliRunner().invoke(cli, ["schema", "--write", "/dev/full"], env=ENV)
    assert result.exit_code == 2
    assert result.stderr == "--write: cannot write the schemas into /dev/full: it is not a folder\n"


def test_a_string_in_a_test_expected_value_is_a_located_error(tmp_path: Path) -> None:
    kpis = KPI + (
        "    tests:\n      - given: {orders: [{order_id: 1, order_date: 2025-01-03, amount: 5}]}\n"
        "        expect: [{period: 2025-01-01, value: abc}]\n"
    )
    root = project(tmp_path / "p", kpis=kpis)
    result = invoke(root, "test")
    assert result.exit_code == 2
    assert "metrics/sales.yml:7:46: revenue.tests[0].expect[0].value: expected a number or nothing" in result.stderr


def test_an_empty_csv_is_exit_3_in_validate_and_run(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "data" / "orders.csv").write_text("")
    for command in ("validate", "run"):
        result = invoke(root, command)
        assert result.exit_code == 3
        assert "source 'orders': orders.csv is an empty file (0 bytes)" in result.stderr


def test_a_null_var_is_sql_null(tmp_path: Path) -> None:
    root = project(tmp_path / "p", kpis=KPI.replace("sum(amount)", "sum(coalesce({{ var('n') }}, amount))"))
    (root / "kpictl.yml").write_text((root / "kpictl.yml").read_text() + "vars: {n: null}\n")
    assert revenue(invoke(root, "run", "--format", "json")) == {"2025-01-01": 150.0, "2025-02-01": 25.0}


def test_a_breakdown_asked_twice_is_one_column(tmp_path: Path) -> None:
    root = by_region_project(tmp_path / "p", "US")
    result = invoke(root, "run", "--by", "region", "--by", "region", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split(",").count("region") == 1


def test_a_yaml_merge_key_is_not_a_duplicate(tmp_path: Path) -> None:
    kpis = (
        "kpis:\n  - &base {name: revenue, source: orders, formula: sum(amount)}\n"
        "  - <<: *base\n    name: big_orders\n    filter: amount > 60\n"
        "  - {name: twice, name: again, source: orders, formula: count(*)}\n"
    )
    root = project(tmp_path / "p", kpis=kpis)
    result = invoke(root, "validate")
    assert result.exit_code == 2  # a key written twice in one mapping is still a duplicate
    assert result.stderr.splitlines()[0].startswith("metrics/sales.yml:6:19: duplicate key 'name'")
    root = project(tmp_path / "q", kpis=kpis.rsplit("  - {name: twice", 1)[0])
    rows = json.loads(invoke(root, "run", "--format", "json").stdout)["rows"]
    assert {(r["kpi"], r["period"]): r["value"] for r in rows if r["kpi"] == "big_orders"} == {
        ("big_orders", "2025-01-01"): 100.0,
        ("big_orders", "2025-02-01"): 0.0,
    }


def test_a_value_from_the_data_is_masked_in_errors(tmp_path: Path) -> None:
    root = project(tmp_path / "p", source="data/creds.csv", kpis=KPI.replace("sum(amount)", "sum(token::INTEGER)"))
    (root / "data" / "creds.csv").write_text(SECRET)
    for fmt in ("text", "github", "json"):
        result = invoke(root, "run") if fmt == "text" else invoke(root, "validate", "--format", fmt)
        assert "S3CR3T" not in result.output, result.output
    result = invoke(root, "run")
    assert result.exit_code == 3 and "Could not convert string '…' to INT32" in result.stderr


def test_a_non_iso_date_says_how_to_declare_its_format(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "data" / "orders.csv").write_text("order_id,order_date,amount\n1,03/04/2025,100\n")
    result = invoke(root, "run")
    assert result.exit_code == 3
    assert 'invalid date field format: "…"' in result.stderr and "03/04" not in result.stderr
    assert "declare the source's date_format, e.g. '%m/%d/%Y'" in result.stderr


def test_the_forecast_of_a_long_series_only_reads_its_last_values() -> None:
    """annotate keeps the last values of each series instead of re-sorting its whole history:
    the same forecasts as forecast() over everything so far, in linear time."""
    from kpictl.judge.forecast import annotate, forecast
    from kpictl.judge.targets import period_end
    from kpictl.model import Bound, Judgement, Kpi, Row, Target

    target = Target(Bound(min=100.0), by=dt.date(2030, 1, 1))
    kpi = Kpi(name="k", formula="sum(x)", file="m.yml", source="s", target=target)
    months = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(60)]
    values = [None if i % 7 == 3 else float(i % 11 + i) for i in range(60)]
    rows = [Row("k", m, {}, v, Judgement("off_track", 100.0)) for m, v in zip(months, values, strict=True)]
    annotated = annotate(rows, {"k": kpi}, {"k": "month"})
    for i, row in enumerate(annotated):
        points = [(period_end(m, "month"), v) for m, v in zip(months[: i + 1], values[: i + 1], strict=True)]
        expected = forecast(points, Target(Bound(100.0, None), by=target.by))
        assert row.judgement is not None and row.judgement.reaches_on == expected.reaches_on, i


# -- data values stay out of error messages; SQL text gets no line break from a definition -------------


@pytest.mark.parametrize("text", ["x\n::error::f", "a\rb", "\x1b[31m", "tab\there", "\u2028", "plain"])
def test_a_string_literal_with_control_characters_keeps_its_value(tmp_path: Path, text: str) -> None:
    import duckdb

    from kpictl.language import formula

    sql_text = "'" + text.replace("'", "''") + "'"
    tree = formula.parse(f"max({sql_text})", "aggregate")
    printed = tree.sql("duckdb")
    assert printed.isprintable(), printed
    assert duckdb.connect().execute(f"SELECT {printed}").fetchone() == (text,)
