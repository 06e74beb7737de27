"""Benchmark data: the sample data set at a given scale, cached, as a ready-to-run kpictl project.

    python bench/data.py                       # scales 1, 10 and 100 (once: about 40 s, 15 s, 3.5 min)
    python bench/data.py --scale 0.01          # a tiny one, for the smoke test
    python bench/data.py --cache /tmp/kb --force

**Scale N is about N million order rows** (the issue's 1M, 10M and 100M), with every other
table in the proportions of the sample data (about 6.7 rows in all per order):

- up to scale 1, ``sample.generate`` writes the tables directly, at its own scale
  ``N x GENERATOR_UNITS`` (its scale 1 is 32,560 orders). Generating is plain Python, about
  1.3 s per unit of its scale: 40 s for our scale 1;
- above scale 1, the scale-1 tables are *tiled* by DuckDB (``tile``): N copies of every table,
  each copy's ids renumbered ``id * N + copy`` (keys and the foreign keys that point at them, so
  lookups still match exactly one row, and ids stay in time order), sorted by key as the
  generator sorts. Same dates, same categories, N times the rows. 100M orders in Python would
  take two hours; tiled, scale 100 takes minutes. The warehouse ledger (4 warehouses x 24
  months, no key) is not a fact table and is copied once.

Each scale lives in ``<cache>/scale-<N>/`` (default cache ``~/.cache/kpictl-bench``, or
``$KPICTL_BENCH_CACHE``)::

    scale-10/
      kpictl.yml      copied from the repository on every call: the catalog under test is
      metrics/        always the checked-out one, only the data is cached
      data/*.parquet  the source paths of kpictl.yml are relative to it, so the shipped
                      file works unchanged
      data/COMPLETE   written last; names the scale, seed, row counts and a hash of the
                      generator's source (and of the tiling), so a changed generator or a
                      half-written folder (interrupted run) is regenerated, not silently reused

Other benchmark scripts import ``prepare(scale)``; nothing here times anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a clean clone without installing kpictl

SEED = 42
SCALES = (1.0, 10.0, 100.0)
#: sample's scale that makes about one million orders (its scale 1 makes 32,560).
GENERATOR_UNITS = 1_000_000 / 32_560
#: Scales above this one are tiled copies of it.
TILE_BASE = 1.0
#: Per tiled table, the integer columns that are ids: the table's own key and the foreign keys
#: into another tiled table. Each is renumbered ``id * copies + copy``, consistently everywhere.
#: A table not listed here is copied once (``warehouse_months``). Bump TILING when this changes.
TILED_IDS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "referred_by"),
    "contracts": ("contract_id", "customer_id"),
    "orders": ("order_id", "customer_id"),
    "shipments": ("shipment_id", "order_id"),
    "tickets": ("ticket_id", "customer_id"),
    "interactions": ("interaction_id", "customer_id"),
    "leads": ("lead_id",),
    "web_sessions": ("session_id", "visitor_id"),
    "purchase_orders": ("po_id",),
    "supplier_invoices": ("invoice_id",),
}
TILING = 1
DEFAULT_CACHE = Path(os.environ.get("KPICTL_BENCH_CACHE", "~/.cache/kpictl-bench")).expanduser()


def project_dir(scale: float, cache: Path | None = None) -> Path:
    """Where the project of ``scale`` lives (``scale-10``, ``scale-0.01``)."""
    return (cache or DEFAULT_CACHE) / f"scale-{scale:g}"


def generator_hash() -> str:
    """A hash of kpictl/sample's source and of the tiling: data made otherwise is stale."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "kpictl" / "sample").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(repr((GENERATOR_UNITS, TILE_BASE, TILING, sorted(TILED_IDS.items()))).encode())
    return digest.hexdigest()[:16]


def is_complete(folder: Path, scale: float) -> bool:
    """True when ``folder/data`` holds every table of ``scale`` made by the current generator."""
    from sample import TABLES

    marker = folder / "data" / "COMPLETE"
    try:
        stamp = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    expected = {"scale": scale, "seed": SEED, "generator": generator_hash()}
    if any(stamp.get(key) != value for key, value in expected.items()):
        return False
    return all((folder / "data" / f"{t.name}.parquet").is_file() for t in TABLES)


def prepare(scale: float, cache: Path | None = None, *, force: bool = False, quiet: bool = False) -> Path:
    """The project folder of ``scale``, generating its data only if missing, stale or ``force``.

    The catalog (kpictl.yml, metrics/) is refreshed from the repository every time, so a
    benchmark always measures the definitions of the current checkout.
    """
    folder = project_dir(scale, cache)
    if force or not is_complete(folder, scale):
        _generate(folder, scale, quiet)
    shutil.copy2(ROOT / "kpictl.yml", folder / "kpictl.yml")
    shutil.rmtree(folder / "metrics", ignore_errors=True)
    shutil.copytree(ROOT / "metrics", folder / "metrics")
    return folder


def rows(folder: Path) -> dict[str, int]:
    """Row counts of each table of a prepared project (from its COMPLETE marker)."""
    counts: dict[str, int] = json.loads((folder / "data" / "COMPLETE").read_text())["rows"]
    return counts


def _generate(folder: Path, scale: float, quiet: bool) -> None:
    from sample import generate

    # Write next to the final folder, then swap: an interrupted run never leaves a folder
    # that looks complete, and a reader of the old data is not disturbed half-way.
    partial = folder / "data.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    if scale > TILE_BASE:
        copies = round(scale / TILE_BASE)
        if copies * TILE_BASE != scale:
            raise ValueError(f"a scale above {TILE_BASE:g} must be a whole multiple of it, got {scale:g}")
        base = prepare(TILE_BASE, folder.parent, quiet=quiet) / "data"
        if not quiet:
            print(
                f"tiling scale {scale:g} ({copies} x scale {TILE_BASE:g}) into {folder} …", file=sys.stderr, flush=True
            )
        counts = tile(base, partial, copies)
    else:
        if not quiet:
            print(f"generating scale {scale:g} into {folder} …", file=sys.stderr, flush=True)
        counts = generate(partial, scale=scale * GENERATOR_UNITS, formats=("parquet",), seed=SEED)
    stamp = {"scale": scale, "seed": SEED, "generator": generator_hash(), "rows": counts}
    (partial / "COMPLETE").write_text(json.dumps(stamp, indent=2) + "\n")
    shutil.rmtree(folder / "data", ignore_errors=True)
    partial.rename(folder / "data")
    if not quiet:
        total = sum(counts.values())
        print(f"  {total:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def tile(base: Path, out: Path, copies: int) -> dict[str, int]:
    """Write ``copies`` copies of every table of ``base`` (a folder of the sample's Parquet
    files) into ``out``, ids renumbered per TILED_IDS; return the row counts."""
    import duckdb

    from kpictl.sql.quoting import literal
    from sample import TABLES

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    counts = {}
    try:
        for table in TABLES:
            source = literal(base / f"{table.name}.parquet")
            target = literal(out / f"{table.name}.parquet")
            ids = TILED_IDS.get(table.name)
            if ids is None:
                query = f"SELECT * FROM read_parquet({source})"
            else:
                renumbered = ", ".join(f"{c} * {copies} + copy AS {c}" for c in ids)
                query = (
                    f"SELECT * REPLACE ({renumbered}) FROM read_parquet({source}), "
                    f"(SELECT CAST(range AS INTEGER) AS copy FROM range({copies})) "
                    f"ORDER BY {ids[0]}"
                )
                query = f"SELECT * EXCLUDE (copy) FROM ({query})"
            con.execute(f"COPY ({query}) TO {target} (FORMAT parquet, COMPRESSION zstd)")
            counts[table.name] = con.execute(f"SELECT count(*) FROM read_parquet({target})").fetchone()[0]
    finally:
        con.close()
    return counts


def scale_option(text: str) -> float:
    """``--scale`` of every benchmark script: what ``prepare`` can make, or a usage error."""
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not 0 < scale < float("inf") or (scale > TILE_BASE and scale % TILE_BASE):
        raise argparse.ArgumentTypeError(
            f"{text}: a positive number, and a whole multiple of "
            f"{TILE_BASE:g} above it (1, 10, 100; 0.01 for the smoke test)"
        )
    return scale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument(
        "--scale",
        type=scale_option,
        nargs="+",
        default=list(SCALES),
        help="scales to prepare, in millions of orders (default: 1 10 100)",
    )
    parser.add_argument("--cache", type=Path, default=None, help=f"cache folder (default: {DEFAULT_CACHE})")
    parser.add_argument("--force", action="store_true", help="regenerate even when cached")
    args = parser.parse_args(argv)
    for scale in args.scale:
        folder = prepare(scale, args.cache, force=args.force)
        counts = rows(folder)
        size = sum(p.stat().st_size for p in (folder / "data").glob("*.parquet"))
        print(
            f"scale {scale:>6g}: {sum(counts.values()):>12,} rows ({counts['orders']:>10,} orders), "
            f"{size / 1e6:8.1f} MB  {folder}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
