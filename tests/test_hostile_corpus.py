"""The hostile corpus: each attack and fault of issue 19 as a project, with its exact outcome.

One folder per case under tests/cases/hostile/: a project as a pull request would write it
(``kpictl.yml``, ``metrics/``, ``data/``) and ``case.yml``:

    args: [run, --format, csv]     # the command, run with --project <the copy>
    exit: 0                        # its exact exit code
    links: {data/loop: .}          # symlinks to make (path: target, as ``ln -s target path``)
    rename: {metrics/a.yml: "…"}   # files to rename to names git cannot hold well (a newline)
    absent: [S3CR3T]               # text that must appear nowhere in stdout or stderr
    stdout_lines: 4                # compare only the first lines of stdout (SQL below them is
                                   # the golden files' business; every line is still checked for ::)

``stderr.txt`` is the exact stderr, ``stdout.txt`` (when present) the exact stdout; ``generate.txt``
appends bytes as in the invalid corpus (a 30,000-row CSV, a 50,000-term formula). Next to the
copy, outside the project, lies ``secret/creds.csv`` holding ``S3CR3T-TOKEN-42`` and
``secret/kpis.yml`` defining ``stolen``: no case may ever show either. The attacks that need a
git history, file modes or signals are unit tests in test_hostile.py.
``KPICTL_UPDATE_CORPUS=1 pytest tests/test_hostile_corpus.py`` rewrites the expected files: read
the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_invalid_corpus import materialize

from kpictl.cli import cli

CASES = Path(__file__).parent / "cases" / "hostile"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "KPICTL_DEBUG": "", "KPICTL_ALLOW_PATH": "", "TZ": "UTC"}
SECRET = "token,order_date\nS3CR3T-TOKEN-42,2025-01-01\n"
STOLEN = "kpis:\n  - name: stolen\n    source: orders\n    formula: count(*)\n"
ALWAYS_ABSENT = ("S3CR3T", "stolen", "Traceback")


def test_corpus_covers_the_issue() -> None:
    assert len(NAMES) >= 30


@pytest.mark.parametrize("name", NAMES)
def test_hostile_case(name: str, tmp_path: Path) -> None:
    case = CASES / name
    spec = yaml.safe_load((case / "case.yml").read_text("utf-8"))
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "creds.csv").write_text(SECRET)
    (tmp_path / "secret" / "kpis.yml").write_text(STOLEN)
    root = materialize(case, tmp_path / "project")
    (root / "case.yml").unlink()
    for stale in ("stderr.txt", "stdout.txt"):
        (root / stale).unlink(missing_ok=True)
    for link, target in (spec.get("links") or {}).items():
        (root / link).symlink_to(target)
    for old, new in (spec.get("rename") or {}).items():
        (root / old).rename(root / new)
    result = CliRunner().invoke(cli, ["--project", str(root), *spec["args"]], env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    stdout = result.stdout
    if "stdout_lines" in spec:
        stdout = "".join(stdout.splitlines(keepends=True)[: spec["stdout_lines"]])
    if os.environ.get("KPICTL_UPDATE_CORPUS"):
        (case / "stderr.txt").write_text(result.stderr, encoding="utf-8")
        if (case / "stdout.txt").exists() or spec.get("stdout"):
            (case / "stdout.txt").write_text(stdout, encoding="utf-8")
    assert result.exit_code == spec["exit"], result.output
    assert result.stderr == (case / "stderr.txt").read_text("utf-8")
    if (case / "stdout.txt").exists():
        assert stdout == (case / "stdout.txt").read_text("utf-8")
    for text in (*ALWAYS_ABSENT, *(spec.get("absent") or [])):
        assert text not in result.stdout + result.stderr, text
    for line in (result.stdout + result.stderr).splitlines():  # no CI command from user text
        assert not line.lstrip().startswith("::"), line
