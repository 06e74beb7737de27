"""Fixtures shared by every test module: golden files, the data fixtures, throwaway projects.

- ``golden(name, text)`` compares ``text`` with ``tests/cases/<name>/expected.sql`` (or another
  file name); ``pytest --update-golden`` rewrites the file instead. Golden files are never
  edited by hand: their diff in a pull request is the review of the change.
- ``data_dir``: a session copy of ``tests/data`` (CSV in git) plus a Parquet file made from
  each CSV with DuckDB's COPY, so no binary is committed.
- ``write_project(files)``: writes ``{relative path: text}`` into a fresh folder and returns it.
- kpictl's definitions cache is a folder of this test session (``KPICTL_CACHE_DIR``, set before
  any test module is imported), never the user's ``~/.cache/kpictl``; shared by the session's
  tests, so that most of them run on cache hits as a second ``kpictl run`` would
  (tests/test_startup_cache.py tests the cache itself, each test in a folder of its own).
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
CASES = TESTS / "cases"
DATA = TESTS / "data"


_SAVED: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    """The definitions cache of this session (of each xdist worker), before anything loads a project."""
    for name in ("KPICTL_CACHE_DIR", "KPICTL_NO_CACHE"):
        _SAVED[name] = os.environ.pop(name, None)
    os.environ["KPICTL_CACHE_DIR"] = tempfile.mkdtemp(prefix="kpictl-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop("KPICTL_CACHE_DIR", ""), ignore_errors=True)
    for name, value in _SAVED.items():
        if value is not None:
            os.environ[name] = value


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", default=False, help="rewrite golden files instead of comparing"
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``golden(name, text, filename="expected.sql")``: assert ``text`` equals the golden file."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str, filename: str = "expected.sql") -> None:
        path = CASES / name / filename
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"{path} is missing: run `pytest --update-golden` and review the new file"
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True), str(path), "actual"
            )
            pytest.fail(f"{path} differs (`pytest --update-golden` to accept):\n{''.join(diff)}", pytrace=False)

    return check


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/data copied to a temporary folder, with ``<name>.parquet`` next to each ``<name>.csv``."""
    import duckdb

    folder = tmp_path_factory.mktemp("data")
    for path in DATA.iterdir():
        if path.is_file():
            shutil.copy(path, folder / path.name)
    with duckdb.connect() as con:
        for csv in sorted(folder.glob("*.csv")):
            if len(csv.read_text(encoding="utf-8").strip().splitlines()) > 1:  # a header alone has no types
                target = str(csv.with_suffix(".parquet")).replace("'", "''")
                con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{target}' (FORMAT parquet)")
    return folder


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """``write_project({"kpictl.yml": "...", "metrics/a.yml": "..."})`` → the project folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return write


@pytest.fixture(autouse=True)
def _terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables follow COLUMNS, and pytest-xdist's workers run with COLUMNS=80: every test sees
    100 columns unless it asks for another width (the CLI tests pass their own COLUMNS)."""
    monkeypatch.setenv("COLUMNS", "100")
