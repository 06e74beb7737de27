"""Benchmark data: the sample data set at a given scale, cached, as a ready-to-run kpictl project.

    python bench/data.py                       # scales 1, 10 and 100 (100 takes about 2 min once)
    python bench/data.py --scale 0.05          # a tiny one, for the smoke test
    python bench/data.py --cache /tmp/kb --force

Each scale lives in ``<cache>/scale-<N>/`` (default cache ``~/.cache/kpictl-bench``, or
``$KPICTL_BENCH_CACHE``)::

    scale-10/
      kpictl.yml      copied from the repository on every call: the catalog under test is
      metrics/        always the checked-out one, only the data is cached
      data/*.parquet  ``kpictl.sample.generate(scale=N)``: the source paths of kpictl.yml are
                      relative to it, so the shipped file works unchanged
      data/COMPLETE   written last; names the scale, seed, row counts and a hash of the
                      generator's source, so a changed generator or a half-written folder
                      (interrupted run) is regenerated instead of silently reused

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
DEFAULT_CACHE = Path(os.environ.get("KPICTL_BENCH_CACHE", "~/.cache/kpictl-bench")).expanduser()


def project_dir(scale: float, cache: Path | None = None) -> Path:
    """Where the project of ``scale`` lives (``scale-10``, ``scale-0.05``)."""
    return (cache or DEFAULT_CACHE) / f"scale-{scale:g}"


def generator_hash() -> str:
    """A hash of kpictl/sample's source: cached data made by another generator is stale."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "kpictl" / "sample").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def is_complete(folder: Path, scale: float) -> bool:
    """True when ``folder/data`` holds every table of ``scale`` made by the current generator."""
    from kpictl.sample import TABLES

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
    from kpictl.sample import generate

    # Write next to the final folder, then swap: an interrupted run never leaves a folder
    # that looks complete, and a reader of the old data is not disturbed half-way.
    partial = folder / "data.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    if not quiet:
        print(f"generating scale {scale:g} into {folder} …", file=sys.stderr, flush=True)
    counts = generate(partial, scale=scale, formats=("parquet",), seed=SEED)
    stamp = {"scale": scale, "seed": SEED, "generator": generator_hash(), "rows": counts}
    (partial / "COMPLETE").write_text(json.dumps(stamp, indent=2) + "\n")
    shutil.rmtree(folder / "data", ignore_errors=True)
    partial.rename(folder / "data")
    if not quiet:
        total = sum(counts.values())
        print(f"  {total:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--scale", type=float, nargs="+", default=list(SCALES),
                        help="scales to prepare (default: 1 10 100)")
    parser.add_argument("--cache", type=Path, default=None, help=f"cache folder (default: {DEFAULT_CACHE})")
    parser.add_argument("--force", action="store_true", help="regenerate even when cached")
    args = parser.parse_args(argv)
    for scale in args.scale:
        folder = prepare(scale, args.cache, force=args.force)
        counts = rows(folder)
        size = sum(p.stat().st_size for p in (folder / "data").glob("*.parquet"))
        print(f"scale {scale:>6g}: {sum(counts.values()):>12,} rows ({counts['orders']:>10,} orders), "
              f"{size / 1e6:8.1f} MB  {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
