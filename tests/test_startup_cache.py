"""The definitions cache (kpictl/cache.py): a hit gives what a miss gives, and nothing in the cache
folder (a stale, edited, corrupt or planted entry) ever changes a result.

Real projects and cache folders in ``tmp_path``, no mocks. Every expected value is worked out by
hand from the three orders below, never by running kpictl once and comparing it with itself:

    2025-01-06  10.5    January: revenue 10.5 + 4.5 = 15, one order of 10 or more
    2025-01-20   4.5
    2025-02-03   7      February: revenue 7, no order of 10 or more
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import test_invalid_corpus as corpus
from helpers import invoke, write

from kpictl import Project, cache
from kpictl.errors import Location, SpecError

ROOT = Path(__file__).resolve().parent.parent

PROJECT = "name: shop\nsources:\n  orders: {path: orders.csv, time: order_date}\n"
KPIS = """\
kpis:
  - name: revenue
    source: orders
    formula: sum(amount)
  - name: big_orders
    source: orders
    filter: amount >= 10
    formula: count(*)
"""
ORDERS = "order_date,amount\n2025-01-06,10.5\n2025-01-20,4.5\n2025-02-03,7\n"
INVALID = corpus.NAMES
BY_HAND = {
    ("revenue", "2025-01-01"): 15.0,
    ("revenue", "2025-02-01"): 7.0,
    ("big_orders", "2025-01-01"): 1.0,
    ("big_orders", "2025-02-01"): 0.0,
}


def shop(tmp_path: Path, kpis: str = KPIS, orders: str = ORDERS) -> Path:
    return write(tmp_path / "shop", {"kpictl.yml": PROJECT, "metrics/shop.yml": kpis, "orders.csv": orders})


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own cache folder (not yet created: kpictl creates it)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("KPICTL_CACHE_DIR", str(path))
    return path


def run_json(root: Path, *args: str) -> tuple[str, dict[tuple[str, str], float | None]]:
    result = invoke(root, "run", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    return result.stdout, {(r["kpi"], r["period"]): r["value"] for r in rows}


def entries(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry of the cache folder: name → (inode, mtime in ns, bytes)."""
    if not path.exists():
        return {}
    found = {}
    for entry in sorted(path.iterdir()):
        info = entry.stat()
        found[entry.name] = (info.st_ino, info.st_mtime_ns, entry.read_bytes())
    return found


def entry_of(path: Path, part: str) -> Path:
    """The one entry of a kind (``project-file``, ``kpi-file``, ``check``, ``sizes``, ``verdicts``,
    ``compile``) asked for."""
    (found,) = [p for p in path.iterdir() if p.name.startswith(f"{part}-")]
    return found


def forge(path: Path, payload: Any) -> None:
    """Rewrite the entry at ``path`` with ``payload`` and a digest that matches it: what only a
    deliberate edit of the cache folder could make."""
    entry = json.loads(path.read_bytes())
    text = json.dumps(payload, separators=(",", ":"))
    entry["payload"], entry["sha256"] = text, hashlib.sha256(text.encode()).hexdigest()
    path.write_text(json.dumps(entry))


# -- a hit gives what a miss gives ----------------------------------------------------------


def test_a_second_run_reads_every_answer_from_the_cache(tmp_path: Path, folder: Path) -> None:
    root = shop(tmp_path)
    first, values = run_json(root)
    assert values == BY_HAND
    written = entries(folder)
    kinds = sorted(name.rsplit("-", 1)[0] for name in written)
    assert kinds == ["check", "check", "compile", "kpi-file", "project-file", "sizes", "verdicts"]
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in folder.iterdir())  # the user's alone

    second, values = run_json(root)
    assert second == first  # the same bytes
    assert entries(folder) == written  # every answer read, none written again (same inode, time, bytes)


def test_the_library_counts_its_hits(tmp_path: Path, folder: Path) -> None:
    """Seven answers: the 2 files read and built, the checks without and with the data's columns,
    which KPIs are sizes, what judging needs, and the compiled query."""
    root = shop(tmp_path)
    cold = Project.load(root)
    rows = cold.run()
    assert {(r.kpi, r.period.isoformat()): r.value for r in rows} == BY_HAND
    assert cold._store is not None and (cold._store.hits, cold._store.misses, cold._store.writes) == (0, 7, 7)
    warm = Project.load(root)
    assert warm.run() == rows
    assert warm._store is not None and (warm._store.hits, warm._store.misses, warm._store.writes) == (7, 0, 0)


def test_a_warm_run_imports_no_yaml_schema_sql_or_template_library(tmp_path: Path, folder: Path) -> None:
    """The timing-free proof that a hit skips the work: the libraries that do it are never imported."""
    root = shop(tmp_path)
    code = (
        "import sys\nfrom kpictl.cli import cli\n"
        f"try:\n    cli(['--project', {str(root)!r}, 'run', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sqlglot', 'jsonschema', 'jinja2', 'yaml') if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}

    def imported(**extra: str) -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **extra})
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr.strip().splitlines()[-1]

    cold_out, cold = imported()
    assert cold == "['jinja2', 'jsonschema', 'sqlglot', 'yaml']"  # a miss reads, checks and compiles
    warm_out, warm = imported()
    assert warm == "[]"
    assert warm_out == cold_out
    assert imported(KPICTL_NO_CACHE="1") == (cold_out, cold)


def test_validate_reports_the_same_problems_from_the_cache(tmp_path: Path, folder: Path) -> None:
    bad = KPIS.replace("sum(amount)", "sum(amont)").replace("    filter:", "    filtr:")
    root = shop(tmp_path, bad)
    expected = (
        "metrics/shop.yml:4:18: unknown column 'amont' in formula of revenue: not in source 'orders' "
        "(did you mean 'amount'?)\n"
        "metrics/shop.yml:7:5: big_orders: unknown field 'filtr' (did you mean 'filter'?)\n"
        "2 problems found\n"
    )
    for _ in range(2):  # a miss, then a hit
        result = invoke(root, "validate")
        assert (result.exit_code, result.output) == (2, expected)
    assert entries(folder)
    result = invoke(root, "run")
    assert result.exit_code == 2 and result.output == expected  # run refuses with the same problems


@pytest.mark.parametrize("name", INVALID)
def test_the_invalid_corpus_says_the_same_from_the_cache(name: str, tmp_path: Path, folder: Path) -> None:
    """Every broken project of tests/cases/invalid/, validated by a miss then by a hit, with and
    without its data: exactly its expected.txt each time (the corpus's own test runs it too)."""
    project = corpus.materialize(corpus.CASES / name, tmp_path / name)
    expected = (corpus.CASES / name / "expected.txt").read_text("utf-8")
    for args in (["validate"], ["validate"], ["run"], *([["validate", "--no-data"]] * 2)):
        if args[-1] == "--no-data" and (project / "data").exists():
            continue  # the column checks need the data
        result = corpus.invoke(project, *args)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", expected), args
    assert list(folder.iterdir())  # the second runs were hits


# -- an edited definition is checked again --------------------------------------------------


def test_an_edited_kpi_file_is_checked_and_compiled_again(tmp_path: Path, folder: Path) -> None:
    root = shop(tmp_path)
    assert run_json(root)[1] == BY_HAND
    write(root, {"metrics/shop.yml": KPIS.replace("sum(amount)", "sum(amount) * 2").replace(">= 10", ">= 5")})
    assert run_json(root)[1] == {
        ("revenue", "2025-01-01"): 30.0,
        ("revenue", "2025-02-01"): 14.0,
        ("big_orders", "2025-01-01"): 1.0,  # 10.5 only
        ("big_orders", "2025-02-01"): 1.0,  # 7
    }
    write(root, {"metrics/shop.yml": KPIS.replace("sum(amount)", "sum(amont)")})
    result = invoke(root, "run")
    assert result.exit_code == 2 and "unknown column 'amont' in formula of revenue" in result.output
    write(root, {"metrics/shop.yml": KPIS})  # back as it was: the first entries serve again
    before = entries(folder)
    assert run_json(root)[1] == BY_HAND
    assert entries(folder) == before


def test_a_comment_in_kpictl_yml_or_a_var_is_part_of_the_key(tmp_path: Path, folder: Path) -> None:
    kpis = KPIS.replace(">= 10", ">= {{ var('big') }}")
    root = write(shop(tmp_path, kpis), {"kpictl.yml": PROJECT + "vars: {big: 10}\n"})
    assert run_json(root)[1] == BY_HAND
    write(root, {"kpictl.yml": PROJECT + "vars: {big: 4}\n"})
    assert run_json(root)[1] == {**BY_HAND, ("big_orders", "2025-01-01"): 2.0, ("big_orders", "2025-02-01"): 1.0}


def test_the_columns_of_the_data_are_read_on_every_run(tmp_path: Path, folder: Path) -> None:
    """Not trusted from a file's size and time: a file rewritten with another column name, then
    given back its size and modification time, still gets its unknown column reported."""
    root = shop(tmp_path)
    assert run_json(root)[1] == BY_HAND
    data = root / "orders.csv"
    info = data.stat()
    data.write_text(ORDERS.replace("amount", "amounx"))
    os.utime(data, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert (data.stat().st_size, data.stat().st_mtime_ns) == (info.st_size, info.st_mtime_ns)
    result = invoke(root, "run")
    assert result.exit_code == 2
    assert "metrics/shop.yml:4:18: unknown column 'amount' in formula of revenue" in result.output


def parquet_shop(tmp_path: Path, orders: str = ORDERS) -> Path:
    """The shop with its orders in a Parquet file (whose footer says its columns)."""
    import duckdb

    root = write(tmp_path / "shop", {"kpictl.yml": PROJECT.replace("orders.csv", "orders.parquet")})
    write(root, {"metrics/shop.yml": KPIS, "orders.csv": orders})
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{root}/orders.csv')) TO '{root}/orders.parquet' (FORMAT parquet)")
    (root / "orders.csv").unlink()
    return root


def test_the_columns_of_parquet_files_are_kept_for_the_same_footer(tmp_path: Path, folder: Path) -> None:
    """A Parquet file writes its columns in its footer: kept for the same footer (no DuckDB
    connection to read them), read again for another, whatever its size and dates say."""
    root = parquet_shop(tmp_path)
    cold = Project.load(root)
    assert {(r.kpi, r.period.isoformat()): r.value for r in cold.run()} == BY_HAND
    assert cold._store is not None and (cold._store.misses, cold._store.writes) == (8, 8)
    warm = Project.load(root)
    assert {(r.kpi, r.period.isoformat()): r.value for r in warm.run()} == BY_HAND
    assert warm._store is not None and (warm._store.hits, warm._store.misses) == (8, 0)
    assert len(list(folder.glob("schemas-*"))) == 1

    data = root / "orders.parquet"
    info = data.stat()
    parquet_shop(tmp_path / "other", ORDERS.replace("amount", "amounx")).joinpath("orders.parquet").replace(data)
    os.utime(data, ns=(info.st_atime_ns, info.st_mtime_ns))  # the old date back
    result = invoke(root, "run")
    assert result.exit_code == 2
    assert "metrics/shop.yml:4:18: unknown column 'amount' in formula of revenue" in result.output
    assert len(list(folder.glob("schemas-*"))) == 2


def test_what_says_the_columns_of_a_source(tmp_path: Path) -> None:
    from kpictl.engine import files as engine

    root = parquet_shop(tmp_path)
    config = Project.load(root).config
    (marks,) = [engine.fingerprint(config)]
    assert marks is not None and list(marks) == ["orders"]
    ((path, size, footer),) = marks["orders"]
    assert (path, size) == (str(root / "orders.parquet"), (root / "orders.parquet").stat().st_size)
    assert len(footer) == 64
    data = (root / "orders.parquet").read_bytes()
    (root / "orders.parquet").write_bytes(data[:-1])  # cut short: no footer to read
    assert engine.fingerprint(config) is None
    (root / "orders.parquet").write_bytes(b"order_date,amount\n")  # not Parquet at all
    assert engine.fingerprint(config) is None
    (root / "orders.parquet").unlink()
    assert engine.fingerprint(config) == {"orders": None}  # no file: schemas() leaves it out too
    assert engine.fingerprint(Project.load(shop(tmp_path / "csv")).config) is None  # CSV: sniffed, never kept


# -- nothing in the cache folder changes a result ---------------------------------------------


def test_an_edited_entry_is_ignored_and_rewritten(tmp_path: Path, folder: Path) -> None:
    root = shop(tmp_path)
    first = run_json(root)[0]
    compiled = entry_of(folder, "compile")
    original = compiled.read_bytes()
    entry = json.loads(original)
    assert "SUM(" in entry["payload"]
    entry["payload"] = entry["payload"].replace("SUM(", "MAX(")  # the digest left as it was
    compiled.write_text(json.dumps(entry))
    assert run_json(root)[0] == first  # sums, not maxima: the edit was seen, the SQL compiled again
    assert compiled.read_bytes() == original  # and the entry rewritten


def test_an_edited_entry_never_hides_a_problem(tmp_path: Path, folder: Path) -> None:
    root = shop(tmp_path, KPIS + "  - name: share\n    formula: big_orders / revenu\n")
    assert invoke(root, "validate", "--no-data").exit_code == 2
    checked = entry_of(folder, "check")
    entry = json.loads(checked.read_bytes())
    payload = json.loads(entry["payload"])
    assert payload["tuple"][1] != []  # (KPIs, problems)
    payload["tuple"][1] = []
    entry["payload"] = json.dumps(payload, separators=(",", ":"))  # no problem left, digest unchanged
    checked.write_text(json.dumps(entry))
    result = invoke(root, "validate", "--no-data")
    assert result.exit_code == 2
    assert "metrics/shop.yml:10:27: unknown KPI 'revenu' in formula of share (did you mean 'revenue'?)" in result.output


def test_a_stale_entry_is_ignored_and_rewritten(tmp_path: Path, folder: Path) -> None:
    """An entry whose own key is not the key asked for (another's copied over it) is never used."""
    root = shop(tmp_path, KPIS.replace("sum(amount)", "sum(amount) * 2"))
    assert run_json(root)[1][("revenue", "2025-01-01")] == 30.0
    doubled = entry_of(folder, "compile")
    write(root, {"metrics/shop.yml": KPIS})
    assert run_json(root)[1] == BY_HAND
    (plain,) = [p for p in folder.glob("compile-*") if p != doubled]
    plain_text = plain.read_bytes()
    plain.write_bytes(doubled.read_bytes())  # a whole entry, digest and all, of other definitions
    assert run_json(root)[1] == BY_HAND
    assert plain.read_bytes() == plain_text


@pytest.mark.parametrize(
    "damage",
    ["empty", "truncated", "not json", "a list", "another format", "no payload", "payload not text"],
)
def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path, folder: Path, damage: str) -> None:
    root = shop(tmp_path)
    first = run_json(root)[0]
    for path in folder.iterdir():
        text = path.read_bytes()
        entry = json.loads(text)
        broken = {
            "empty": b"",
            "truncated": text[: len(text) // 2],
            "not json": b"\x00\xff garbage",
            "a list": b"[1, 2, 3]",
            "another format": json.dumps({**entry, "format": 0}).encode(),
            "no payload": json.dumps({k: v for k, v in entry.items() if k != "payload"}).encode(),
            "payload not text": json.dumps({**entry, "payload": json.loads(entry["payload"])}).encode(),
        }[damage]
        path.write_bytes(broken)
    assert run_json(root)[0] == first
    assert all(json.loads(p.read_bytes())["format"] == cache.FORMAT for p in folder.iterdir())  # all rewritten


@pytest.mark.parametrize(
    "payload",
    [
        {"class": "Popen", "fields": [["args", "true"]]},  # a class that is not one of kpictl's own
        {"class": "Kpi", "fields": [["name", "revenue"]]},  # kpictl's, without its fields
        {"error": "SystemExit", "fields": ["x", None, None, None]},
        {"pickle": "gASVAAAAAAAAAAA="},
        {"tuple": [{"dict": []}, {"date": "not a date"}]},
    ],
)
def test_a_planted_entry_with_a_valid_digest_builds_nothing_else(
    tmp_path: Path, folder: Path, payload: dict[str, Any]
) -> None:
    """Decoding builds only kpictl's own data classes, from exactly their fields: anything else
    in an entry, even with a digest that matches, is not used."""
    root = shop(tmp_path)
    first = run_json(root)[0]
    for path in folder.iterdir():
        forge(path, payload)
    assert run_json(root)[0] == first


def test_a_read_only_or_unusable_cache_folder_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = shop(tmp_path)
    (tmp_path / "a file").write_text("")
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # others could plant entries here: never read, never written
    read_only.chmod(0o500)
    try:
        for place in (tmp_path / "a file" / "cache", read_only, shared, root / ".cache"):
            monkeypatch.setenv("KPICTL_CACHE_DIR", str(place))
            for _ in range(2):
                assert run_json(root)[1] == BY_HAND
            if place != read_only or os.geteuid() != 0:  # root writes through the permission bits
                assert not place.exists() or list(place.iterdir()) == [], place
    finally:
        read_only.chmod(0o700)


def test_a_home_that_cannot_hold_a_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = shop(tmp_path)
    monkeypatch.delenv("KPICTL_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("HOME", str(home))
    assert run_json(root)[1] == BY_HAND


def test_the_cache_folder_is_in_the_users_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KPICTL_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache.folder_for(tmp_path / "project") == tmp_path / "home" / ".cache" / "kpictl"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.folder_for(tmp_path / "project") == tmp_path / "xdg" / "kpictl"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/xdg")  # the XDG spec: ignored
    assert cache.folder_for(tmp_path / "project") == tmp_path / "home" / ".cache" / "kpictl"
    monkeypatch.setenv("KPICTL_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.folder_for(tmp_path / "project") == tmp_path / "mine"
    assert cache.folder_for(tmp_path) is None  # inside the project: a pull request could write it
    monkeypatch.setenv("KPICTL_NO_CACHE", "1")
    assert cache.folder_for(tmp_path / "project") is None


def test_no_cache(tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPICTL_NO_CACHE", "1")
    root = shop(tmp_path)
    for _ in range(2):
        assert run_json(root)[1] == BY_HAND
    assert not folder.exists()
    project = Project.load(root)
    project.run()
    assert project._store is not None and project._store.folder is None


# -- the encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where", ["", *(f"docs/examples/{p.name}" for p in sorted((ROOT / "docs/examples").iterdir()))]
)
def test_the_catalog_and_the_examples_are_kept_whole(where: str, folder: Path) -> None:
    """The shipped catalog (targets, tests, lookups, dimensions) and every example (histories,
    snapshots, roles, computed columns…): every answer encodes and reads back equal, locations
    included (which == ignores); a new model class left out of ``cache._types`` fails here."""
    project = Project.load(ROOT / where)
    values = (project.config, project._raw_kpis, project.kpis, project.validate(), project.compile())
    for value in values:
        data = cache.encode(value)
        again = cache.decode(json.loads(json.dumps(data)))
        assert again == value or isinstance(value, list)  # errors compare by identity
        assert cache.encode(again) == data
    project.run()
    assert project._store is not None and project._store.writes >= 6


def test_the_encoding_keeps_every_field_and_type(folder: Path) -> None:
    project = Project.load(ROOT)
    kpi = project.kpis["revenue"]
    assert kpi.formula_at == Location("metrics/revenue.yml", 14, 14, "/kpis/0/formula")
    assert cache.decode(cache.encode(kpi)).formula_at == kpi.formula_at
    assert list(cache.decode(cache.encode({"b": 1, "a": (1.0, [2])}))) == ["b", "a"]  # order kept
    assert cache.decode(cache.encode({"a": (1.0, [2])})) == {"a": (1.0, [2])}
    assert type(cache.decode(cache.encode((1, 2)))) is tuple and type(cache.decode(cache.encode(1.0))) is float
    error = SpecError("unknown column 'x'", at=Location("a.yml", 1, 2), hint="did you mean 'y'?")
    back = cache.decode(cache.encode([error]))[0]
    assert (type(back), str(back), back.at, back.sql) == (SpecError, str(error), error.at, None)


@pytest.mark.parametrize("value", [b"bytes", type("Text", (str,), {})("a str subclass"), object(), {1, 2}])
def test_what_the_encoding_does_not_know_is_never_cached(value: Any) -> None:
    with pytest.raises(cache.Unencodable):
        cache.encode(value)


def test_an_answer_or_a_key_the_encoding_refuses_is_computed_every_time(tmp_path: Path) -> None:
    store = cache.Store(tmp_path / "cache")
    for _ in range(2):
        assert store.cached("part", {"key": b"bytes"}, lambda: 42) == 42
        assert store.cached("part", {"key": 1}, lambda: b"bytes") == b"bytes"
    assert (store.hits, store.misses, store.writes) == (0, 2, 0)  # unencodable keys are not even looked up
    assert not (tmp_path / "cache").exists()
    assert store.cached("part", {"key": 1}, lambda: 42) == 42
    assert store.cached("part", {"key": 1}, lambda: 43) == 42  # a plain answer is kept
    assert (store.hits, store.misses, store.writes) == (1, 3, 1)


def test_old_entries_are_removed_past_the_limit(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    for i in range(cache.MAX_ENTRIES):  # entries of definitions long changed, oldest first
        old = folder / f"check-{i:064x}.json"
        old.write_text("{}")
        os.utime(old, ns=(i * 10**9, i * 10**9))
    (folder / "notes.json").write_text("{}")  # not kpictl's: never removed
    os.utime(folder / "notes.json", ns=(0, 0))
    store = cache.Store(folder)
    assert store.cached("part", {"key": 1}, lambda: 42) == 42
    left = sorted(p.name for p in folder.iterdir() if p.name != "notes.json")
    assert (folder / "notes.json").exists()
    assert len(left) == cache.MAX_ENTRIES * 4 // 5
    assert left[0] == f"check-{cache.MAX_ENTRIES // 5 + 1:064x}.json"  # the oldest went first
    assert store.cached("part", {"key": 1}, lambda: 43) == 42  # the new entry stays


def test_the_code_of_an_installed_wheel_is_its_record(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "kpictl").mkdir(parents=True)
    record = site / "kpictl-0.1.0.dist-info" / "RECORD"
    record.parent.mkdir()
    record.write_text("kpictl/__init__.py,sha256=abc,10\nkpictl/cache.py,sha256=def,20\n")
    assert cache._record(site / "kpictl") == record.read_bytes()
    record.write_text("__editable__.kpictl-0.1.0.pth,sha256=abc,10\n")  # an editable install lists no source
    assert cache._record(site / "kpictl") is None
