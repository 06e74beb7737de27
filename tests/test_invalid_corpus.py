"""The invalid corpus: every broken project under tests/cases/invalid/ gives its exact message.

One folder per case: ``kpictl.yml`` and ``metrics/*.yml`` as an analyst would write them,
maybe a few rows of data under ``data/`` (for the problems only the sources' columns reveal),
``expected.txt`` with the exact stderr of ``kpictl validate`` (exit code 2), and for binary or
huge inputs a ``generate.txt`` recipe that the test writes into its copy of the case, so that
no such file is committed. ``compile`` and ``run`` must stop at the same problems with the same
messages (one rule, one place), and so must ``validate --no-data`` where the case has no data.
Error messages are UI: a change to one shows up as a diff of an expected.txt.
``KPICTL_UPDATE_CORPUS=1 pytest tests/test_invalid_corpus.py`` rewrites them; read the diff
before committing it.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kpictl.cli import cli
from kpictl.errors import KpiError

CASES = Path(__file__).parent / "cases" / "invalid"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())
ENV = {"NO_COLOR": "1", "COLUMNS": "80", "KPICTL_DEBUG": ""}
RECIPE_FILES = ("expected.txt", "generate.txt")


def materialize(case: Path, dest: Path) -> Path:
    """Copy a case folder to ``dest`` and apply its generate.txt recipe."""
    shutil.copytree(case, dest, ignore=shutil.ignore_patterns(*RECIPE_FILES))
    recipe = case / "generate.txt"
    if recipe.exists():
        for line in recipe.read_text("utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            path, times, literal = line.split(maxsplit=2)
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("ab") as out:
                out.write(ast.literal_eval(literal) * int(times))
    return dest


def invoke(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(project), *args], env=ENV)


def validate(project: Path, *args: str) -> Result:
    return invoke(project, "validate", *args)


def test_corpus_is_large_enough() -> None:
    assert len(NAMES) >= 35


@pytest.mark.parametrize("name", NAMES)
def test_invalid_case(name: str, tmp_path: Path) -> None:
    project = materialize(CASES / name, tmp_path / name)
    result = validate(project)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    expected_file = CASES / name / "expected.txt"
    if os.environ.get("KPICTL_UPDATE_CORPUS"):
        expected_file.write_text(result.stderr, encoding="utf-8")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == expected_file.read_text("utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_validate_equals_run_on_invalid_corpus(name: str, tmp_path: Path) -> None:
    """Every problem compile or run finds before executing SQL, validate finds first, with the
    same message at the same place (issue 13.5): all three print the same lines, exit 2."""
    project = materialize(CASES / name, tmp_path / name)
    expected = (CASES / name / "expected.txt").read_text("utf-8")
    commands = [["compile"], ["run"], ["run", "--format", "json"]]
    if not (project / "data").exists():  # the column checks need data; everything else does not
        commands.append(["validate", "--no-data"])
    for command in commands:
        result = invoke(project, *command)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", expected), command


def test_every_line_is_gcc_style() -> None:
    """file:line:col: message, then the count: what editors and CI annotators link."""
    for name in NAMES:
        *problems, summary = (CASES / name / "expected.txt").read_text("utf-8").splitlines()
        assert summary.endswith(("problem found", "problems found")), name
        assert int(summary.split()[0]) == len(problems), name
        for line in problems:
            file, row, col, message = line.split(":", 3)
            assert file.endswith((".yml", ".yaml")) and row.isdigit() and col.isdigit(), line
            assert message.startswith(" "), line


def test_json_format(tmp_path: Path) -> None:
    project = materialize(CASES / "many_errors_across_files", tmp_path / "p")
    result = validate(project, "--format", "json")
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["ok"] is False
    assert len(body["errors"]) == 6
    first = body["errors"][0]
    assert first["file"] == "metrics/a_sales.yml"
    assert (first["line"], first["column"]) == (5, 5)
    assert first["pointer"] == "/kpis/0/dimensoins"
    assert first["hint"] == "did you mean 'dimensions'?"
    for error in body["errors"]:
        assert {"kind", "message", "file", "line", "column", "pointer", "hint"} <= set(error)


def test_github_format(tmp_path: Path) -> None:
    project = materialize(CASES / "unknown_kpi_in_derived", tmp_path / "p")
    result = validate(project, "--format", "github")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "::error file=metrics/sales.yml,line=9,col=14,title=kpictl::"
        "unknown KPI 'revenu' in formula of average_order_value (did you mean 'revenue'?)"
    ]


def test_sarif_format(tmp_path: Path) -> None:
    project = materialize(CASES / "many_semantic_errors", tmp_path / "p")
    result = validate(project, "--format", "sarif")
    assert result.exit_code == 2
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "kpictl"
    assert run["results"]
    for item in run["results"]:
        assert item["level"] == "error" and item["message"]["text"]
        location = item["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("metrics/")
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1


def test_annotations_of_a_project_in_a_subfolder() -> None:
    """CI resolves annotation paths from the repository root: `base` says where the project is."""
    from kpictl.errors import Location, SpecError
    from kpictl.report import problems

    errors: list[KpiError] = [
        SpecError("bad: a, b", at=Location("metrics/x.yml", 3, 5), hint="fix it"),
        SpecError("no place"),
    ]
    assert problems.render(errors, "github", base="./analytics/").splitlines() == [
        "::error file=analytics/metrics/x.yml,line=3,col=5,title=kpictl::bad: a, b (fix it)",
        "::error file=analytics/kpictl.yml,title=kpictl::no place",
    ]
    log = json.loads(problems.render(errors, "sarif", base="analytics"))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert uris == ["analytics/metrics/x.yml", "analytics/kpictl.yml"]
    assert problems.render(errors, "text", base="analytics").splitlines()[0] == "metrics/x.yml:3:5: bad: a, b (fix it)"
