"""What the benchmarks against hand-written SQL share: the values compared first, then both
sides timed alternating in one process (so that drift on a noisy machine hits both alike)."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any


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
