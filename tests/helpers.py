"""What the tests of one small project at a time share: write its files, run the CLI on it.

Plain functions, no fixture: a test writes into its own ``tmp_path``. The CLI runs with no colour,
100 columns (xdist workers have 80) and without KPICTL_DEBUG, so its output is what a user sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner, Result

from kpictl.cli import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "KPICTL_DEBUG": ""}


def write(root: Path, files: Mapping[str, str]) -> Path:
    """``files`` (path relative to ``root`` → text) written under ``root``; returns ``root``."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def invoke(root: Path, *args: str, columns: int = 100) -> Result:
    """``kpictl --project root *args`` as a user at a terminal ``columns`` wide would run it."""
    return CliRunner().invoke(cli, ["--project", str(root), *args], env={**ENV, "COLUMNS": str(columns)})
