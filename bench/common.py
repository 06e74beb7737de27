"""What the benchmarks against hand-written SQL share: their generated inputs, cached by content;
the values compared first, then both sides timed alternating in one process (so that drift on a
noisy machine hits both alike)."""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


def generated(
    name: str, sizes: Sequence[int], tables: Mapping[str, str], files: Mapping[str, str], base: Path | None = None
) -> Path:
    """A generated benchmark project, made once and reused while it is the same.

    ``tables`` maps each Parquet file to the DuckDB query that makes it, ``files`` each text file
    (``kpictl.yml``, ``metrics/…``) to its text. The folder, ``<name>_<sizes>_<hash>`` in ``base``
    (default: ``kpictl-bench`` in the temp folder), is keyed on a hash of the sizes, the queries
    and the texts: a bench whose KPIs, project or data changed gets a new folder instead of
    reusing a stale one. ``COMPLETE`` is written last: a folder without it (an interrupted run)
    is made again.
    """
    import duckdb

    key = json.dumps({"sizes": list(sizes), "tables": dict(tables), "files": dict(files)}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    base = base or Path(tempfile.gettempdir()) / "kpictl-bench"
    root = base / f"{name}_{'_'.join(map(str, sizes))}_{digest}"
    if (root / "COMPLETE").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for file, query in tables.items():
            con.execute(f"COPY ({query}) TO '{root / file}' (FORMAT parquet)")
    for file, text in files.items():
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_text(text, encoding="utf-8")
    (root / "COMPLETE").write_text(key, encoding="utf-8")
    return root


def same_values(expected: Mapping[Any, float | None], actual: Mapping[Any, float | None]) -> bool:
    """The same keys, and every value equal within 1e-9 relative (NULL only where NULL)."""
    return expected.keys() == actual.keys() and all(
        (a is None and e is None) or (a is not None and e is not None and math.isclose(a, e, rel_tol=1e-9))
        for key, a in actual.items()
        for e in [expected[key]]
    )


def alternate(jobs: Mapping[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each job per round, the jobs taking turns within each round."""
    timings: dict[str, list[float]] = {label: [] for label in jobs}
    for _ in range(rounds):
        for label, job in jobs.items():
            started = time.perf_counter()
            job()
            timings[label].append(time.perf_counter() - started)
    return timings


def print_timings(timings: Mapping[str, list[float]], names: Mapping[str, str]) -> None:
    """One line per job: its name, the median and every run."""
    for label, runs in timings.items():
        print(f"{names[label]:<46} median {statistics.median(runs):.3f} s  {[round(t, 3) for t in runs]}")
