"""The command line: exit codes, stdout holds only data, stderr only messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpictl.cli import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "80"}


def invoke(*args: str, cwd: Path | None = None) -> object:
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, list(args), env=ENV)
    return runner.invoke(cli, ["--project", str(cwd), *args], env=ENV)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


GOOD = {
    "kpictl.yml": "name: t\nsources:\n  orders: {path: orders.csv, time: d}\n",
    # the last order is on Feb 28: February is complete (a file ending earlier leaves it running)
    "orders.csv": "d,amount,region\n2025-01-03,10,EU\n2025-01-20,5,NA\n2025-02-28,7,EU\n",
    "metrics/a.yml": (
        "kpis:\n  - name: revenue\n    source: orders\n    formula: sum(amount)\n    dimensions: [region]\n"
    ),
}


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("kpictl, version ")


def test_validate_ok_prints_a_summary_on_stdout(tmp_path: Path) -> None:
    result = invoke("validate", "--no-data", cwd=write(tmp_path, GOOD))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1 KPIs in 1 files: valid\n"
    assert result.stderr == ""


def test_validate_errors_go_to_stderr_with_exit_2(tmp_path: Path) -> None:
    files = {**GOOD, "metrics/a.yml": GOOD["metrics/a.yml"].replace("source: orders", "source: order")}
    result = invoke("validate", "--no-data", cwd=write(tmp_path, files))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "metrics/a.yml:3:13: unknown source 'order' in KPI 'revenue' (did you mean 'orders'?)\n1 problem found\n"
    )


def test_validate_json_is_data_on_stdout(tmp_path: Path) -> None:
    files = {**GOOD, "metrics/a.yml": GOOD["metrics/a.yml"].replace("formula", "fromula")}
    result = invoke("validate", "--no-data", "--format", "json", cwd=write(tmp_path, files))
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["ok"] is False
    # the unknown field and the missing one are one mistake: reported once, at the typo
    assert [(e["file"], e["line"], e["column"]) for e in body["errors"]] == [("metrics/a.yml", 4, 5)]
    assert "did you mean 'formula'?" in body["errors"][0]["hint"]


def test_no_project_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert "no kpictl.yml found" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_creates_a_project_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "new"
    result = invoke("init", str(target))
    assert result.exit_code == 0, result.stderr
    assert (target / "kpictl.yml").is_file()
    assert invoke("validate", "--no-data", cwd=target).exit_code == 0
    again = invoke("init", str(target))
    assert again.exit_code == 2
    assert "already exists" in again.stderr


def test_schema_prints_both_schemas() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert set(body) == {"kpictl.schema.json", "kpi-file.schema.json"}


def test_unknown_kpi_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("compile", "revenu", cwd=write(tmp_path, GOOD))
    assert result.exit_code == 2
    assert "unknown KPI 'revenu' (did you mean 'revenue'?)" in result.stderr


@pytest.mark.parametrize("args", [["run", "--from", "2025-13-01"], ["run", "--grain", "decade"]])
def test_bad_options_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = invoke(*args, cwd=write(tmp_path, GOOD))
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("bound", "code"), [("min: 100", 1), ("min: 5", 0), ("max: 10", 0)])
def test_fail_on_judges_where_each_kpi_stands(tmp_path: Path, bound: str, code: int) -> None:
    # February's revenue is 7 (January's 15): min 100 is breached now; min 5 and max 10 hold
    kpis = GOOD["metrics/a.yml"] + f"    target: {{{bound}}}\n"
    project = write(tmp_path, {**GOOD, "metrics/a.yml": kpis})
    result = invoke("run", "--fail-on", "off_track", "--format", "csv", cwd=project)
    assert result.exit_code == code, result.stderr
    assert result.stdout.startswith("kpi,period,value,status")  # the results are printed either way
    if code:
        assert result.stderr == "revenue 2025-02-01: value 7, expected 100, off_track\n"
    else:
        assert result.stderr == ""


def test_fail_on_at_risk_includes_off_track(tmp_path: Path) -> None:
    kpis = GOOD["metrics/a.yml"] + "    target: {min: 100}\n"
    result = invoke("run", "--fail-on", "at_risk", cwd=write(tmp_path, {**GOOD, "metrics/a.yml": kpis}))
    assert result.exit_code == 1


def test_missing_source_file_is_a_data_error(tmp_path: Path) -> None:
    files = {k: v for k, v in GOOD.items() if k != "orders.csv"}
    result = invoke("run", cwd=write(tmp_path, files))
    assert result.exit_code == 3
    assert "orders.csv" in result.stderr
    assert result.stdout == ""


def test_shape_and_meaning_problems_of_several_files_in_one_run(tmp_path: Path) -> None:
    files = {
        **GOOD,
        "metrics/a.yml": "kpis:\n  - name: revenue\n    source: orders\n    fromula: sum(amount)\n",
        "metrics/b.yml": (
            "kpis:\n  - name: orders_n\n    source: ordrs\n    formula: count(*)\n"
            "  - name: aov\n    formula: revenue / orders_n\n"  # revenue is in the broken file: not reported
            "  - name: bad\n    formula: nothing_here / 2\n"
        ),
    }
    result = invoke("validate", "--no-data", cwd=write(tmp_path, files))
    assert result.exit_code == 2
    assert result.stderr == (
        "metrics/a.yml:4:5: revenue: unknown field 'fromula' (did you mean 'formula'?)\n"
        "metrics/b.yml:3:13: unknown source 'ordrs' in KPI 'orders_n' (did you mean 'orders'?)\n"
        "metrics/b.yml:8:14: unknown KPI 'nothing_here' in formula of bad (no KPI has this name in the project)\n"
        "3 problems found\n"
    )


def test_a_level_with_a_yearly_target_is_judged_on_its_value_to_date(tmp_path: Path) -> None:
    from kpictl import Project

    files = {
        "kpictl.yml": "name: t\nsources:\n  shipments: {path: s.csv, time: d}\n",
        # January: 1 of 2 on time (0.5); February: 2 of 2 (1.0); year to date in February: 3 of 4
        "s.csv": "d,on_time\n2025-01-03,true\n2025-01-09,false\n2025-02-02,true\n2025-02-28,true\n",
        "metrics/a.yml": (
            "kpis:\n  - name: otd\n    source: shipments\n    formula: count(*) filter (where on_time) / count(*)\n"
            "    target: {min: 0.7, period: year_to_date}\n"
        ),
    }
    rows = Project.load(write(tmp_path, files)).run()
    assert [(r.kpi, r.period.month, r.value) for r in rows] == [("otd", 1, 0.5), ("otd", 2, 1.0)]
    jan, feb = (r.judgement for r in rows)
    assert jan is not None and (jan.status, jan.judged_value) == ("off_track", 0.5)
    assert feb is not None and (feb.status, feb.judged_value) == ("achieved", 0.75)
    # the value to date is a need of judging, not a KPI: compile shows the SQL of otd's values
    compiled = invoke("compile", cwd=tmp_path)
    assert compiled.exit_code == 0, compiled.stderr
    assert compiled.stdout.splitlines()[0] == "-- kpictl: otd"
    assert "to_date" not in compiled.stdout


def test_validate_reports_a_source_file_it_cannot_read(tmp_path: Path) -> None:
    files = {
        **GOOD,
        "kpictl.yml": GOOD["kpictl.yml"] + "  stock: {path: stock.parquet, time: d}\n",
        "stock.parquet": "not parquet at all\n",
    }
    root = write(tmp_path, files)
    result = invoke("validate", cwd=root)
    assert result.exit_code == 3
    assert result.stderr.startswith("kpictl.yml:4:3: cannot read source 'stock': ")
    assert invoke("validate", "--no-data", cwd=root).exit_code == 0


def test_a_where_column_no_source_has_is_reported_at_the_option(tmp_path: Path) -> None:
    result = invoke("run", "--where", "regoin = 'EU'", cwd=write(tmp_path, GOOD))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "--where: unknown column 'regoin' in --where: not in source 'orders' (did you mean 'region'?)"
    )


def test_an_empty_range(tmp_path: Path) -> None:
    root = write(tmp_path, GOOD)
    backwards = invoke("run", "--from", "2025-02-01", "--to", "2025-01-31", cwd=root)
    assert backwards.exit_code == 2
    assert backwards.stderr.startswith("--from: the range is empty: 2025-02-01 is after 2025-01-31")
    later = invoke("run", "--from", "2030-01-01", "--format", "csv", cwd=root)
    assert later.exit_code == 0
    assert later.stdout == (
        "kpi,period,value,status,min,max,expected,gap,gap_relative,reaches_on,reaches_by_deadline,complete,partial_window\n"
    )
    assert later.stderr == "no data in this range: no source has rows there\n"


def test_fail_on_none_overrides_kpictl_yml(tmp_path: Path) -> None:
    # kpictl.yml gates on off_track and revenue breaches min 100: exit 1 unless --fail-on none
    files = {**GOOD, "kpictl.yml": GOOD["kpictl.yml"] + "fail_on: off_track\n"}
    project = write(tmp_path, {**files, "metrics/a.yml": GOOD["metrics/a.yml"] + "    target: {min: 100}\n"})
    assert invoke("run", cwd=project).exit_code == 1
    result = invoke("run", "--fail-on", "none", cwd=project)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_many_breaches_print_the_first_20_and_a_count(tmp_path: Path) -> None:
    # 25 KPIs all sum(amount) (February: 7) against min 100: all 25 breach in February
    kpis = "kpis:\n" + "".join(
        f"  - name: k{i:02d}\n    source: orders\n    formula: sum(amount)\n    target: {{min: 100}}\n"
        for i in range(25)
    )
    project = write(tmp_path, {**GOOD, "metrics/a.yml": kpis})
    result = invoke("run", "--fail-on", "off_track", "--format", "csv", cwd=project)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:20] == [f"k{i:02d} 2025-02-01: value 7, expected 100, off_track" for i in range(20)]
    assert lines[20:] == ["… and 5 more breaches (25 in all)"]


def test_an_error_raised_after_ctrl_c_is_the_interruption() -> None:
    """DuckDB turns the KeyboardInterrupt of a Ctrl-C during a query into its own error (a
    RuntimeError 'Query interrupted'): one line 'interrupted' and 130, never a traceback; the same
    error without a Ctrl-C stays what it is."""
    import os
    import signal

    import click
    from click.testing import CliRunner

    from kpictl.cli import _Group

    group = _Group()

    @group.command()
    @click.option("--ctrl-c", is_flag=True)
    def query(ctrl_c: bool) -> None:
        try:
            if ctrl_c:
                os.kill(os.getpid(), signal.SIGINT)
                signal.sigtimedwait([], 0.01)  # let the handler run
        except KeyboardInterrupt:
            pass  # as DuckDB does: the interrupt consumed...
        raise RuntimeError("Query interrupted")  # ...and its own error raised

    before = signal.getsignal(signal.SIGINT)
    result = CliRunner().invoke(group, ["query", "--ctrl-c"])
    assert (result.exit_code, result.output.strip()) == (130, "interrupted")
    assert signal.getsignal(signal.SIGINT) is before  # the handler of before, back
    result = CliRunner().invoke(group, ["query"])
    assert isinstance(result.exception, RuntimeError) and result.exit_code == 1


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_reader_that_leaves_early_stops_the_run_quietly_with_the_sigpipe_code(tmp_path: Path, fmt: str) -> None:
    """`kpictl run --format csv | head`: the reader closes the pipe after a line; the run stops with
    128 + SIGPIPE, as a tool killed by it, and says nothing (click's own exit was 1, a breach's
    code to CI, after a silent BrokenPipeError)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "NO_COLOR": "1", "KPICTL_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "kpictl", "--project", str(root), "run", "--grain", "day", "--format", fmt]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=root) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # megabytes still to write: the next write meets a closed pipe
        stderr = process.stderr.read()
        code = process.wait(timeout=120)
    assert first.startswith(b"kpi,period" if fmt == "csv" else b'{"rows": [')
    assert (code, stderr) == (141, b"")


def _process(args: list[str]) -> list[str]:
    """``python -m kpictl ARGS``, as a user's shell runs it (the process ends through process.main)."""
    import sys

    return [sys.executable, "-m", "kpictl", *args]


def test_the_process_writes_every_byte_and_cleans_up_before_its_quick_end(tmp_path: Path) -> None:
    """The process ends without the interpreter's teardown (process.main): stdout redirected to a file
    is block-buffered, and its last block is still written; DuckDB's temporary folders are gone."""
    import datetime as dt
    import os
    import subprocess

    first = dt.date(2023, 1, 1)
    days = [first + dt.timedelta(days=i) for i in range(1096)]  # 2023-01-01 .. 2025-12-31
    amounts = {day: i % 7 + 1 for i, day in enumerate(days)}
    lines = "".join(f"{day},{amount}\n" for day, amount in amounts.items())
    root = write(tmp_path / "p", {**GOOD, "orders.csv": "d,amount,region\n" + lines.replace("\n", ",EU\n")})
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, **ENV, "TMPDIR": str(temp), "KPICTL_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out.csv"
    with out.open("wb") as file:
        done = subprocess.run(
            _process(["--project", str(root), "run", "--grain", "day", "--format", "csv"]),
            stdout=file,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
        )
    assert (done.returncode, done.stderr) == (0, b"")
    written = out.read_text().splitlines()
    assert len(written) == 1 + len(days) and out.stat().st_size > 6 * 8192  # many buffers' worth
    assert written[-1].split(",")[:3] == ["revenue", "2025-12-31", repr(float(amounts[days[-1]]))]
    assert list(temp.iterdir()) == []  # the spill folders of the connections, removed


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["run", "--fail-on", "off_track"], 1),  # a breach
        (["run", "--grain", "decade"], 2),  # click's usage error
        (["list", "nope"], 2),  # a KpiError
        (["validate"], 0),
    ],
)
def test_the_process_ends_with_the_command_exit_code(tmp_path: Path, args: list[str], code: int) -> None:
    import os
    import subprocess

    files = {**GOOD, "metrics/a.yml": GOOD["metrics/a.yml"] + "    target: {min: 100}\n"}
    root = write(tmp_path / "p", files)
    env = {**os.environ, **ENV, "KPICTL_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(_process(["--project", str(root), *args]), capture_output=True, env=env)
    assert done.returncode == code, done.stderr


@pytest.mark.parametrize(("stdout", "code"), [("open", 0), ("closed", 120)])
def test_the_quick_end_still_runs_finalizers_and_flushes(stdout: str, code: int) -> None:
    """A resource a command holds to the end is finalized, and what that leaves in stdout's buffer
    is written; a stdout that cannot be flushed then exits 120, as Python's own teardown does."""
    import os
    import subprocess
    import sys

    script = f"""\
import os, sys, weakref
import kpictl.cli, kpictl.process

class Resource:
    pass

kept, command = [], kpictl.cli.cli.main

def finalize():
    sys.stdout.write("finalized")  # into the buffer, never flushed here
    if {stdout!r} == "closed":
        os.dup2(os.open(os.devnull, os.O_RDONLY), 1)  # stdout's file now refuses to be written

def main(*args, **kwargs):  # a command holding a resource until the process ends
    kept.append(Resource())
    weakref.finalize(kept[-1], finalize)
    return command(*args, **kwargs)

kpictl.cli.cli.main = main
sys.argv = ["kpictl", "--version"]
kpictl.process.main()
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered, as usual
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert (done.returncode, done.stderr) == (code, "")
    if stdout == "open":
        assert done.stdout.startswith("kpictl, version ") and done.stdout.endswith("\nfinalized")


def _glibc() -> bool:
    import os

    try:
        return "glibc" in (os.confstr("CS_GNU_LIBC_VERSION") or "")
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="the C library's settings are glibc's")
def test_the_process_keeps_freed_memory_for_its_next_columns() -> None:
    """A column of 16 MB freed, then one made again: once the process keeps freed memory the second
    one takes the first one's pages (no page fault); by default it is given new ones (how many
    faults depends on the page size: 4 KB, or 2 MB where NumPy asks for huge pages)."""
    import subprocess
    import sys

    def faults(kept: bool) -> int:
        script = f"""\
import resource
import numpy as np
import kpictl.process

if {kept!r}:
    kpictl.process.keep_freed_memory()
np.ones(2_000_000)  # 16 MB made, written and freed
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
column = np.ones(2_000_000)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        return int(done.stdout)

    kept, default = faults(True), faults(False)
    assert kept < 50 and kept * 4 < default, (kept, default)
