"""KPI unit tests: the rows a test gives become in-memory tables, the KPI's real SQL runs on them.

Each test runs the very SQL `run` executes (same planner, compiler and sandboxed engine), on
a fresh DuckDB holding only the given rows; the real sources are never read. Results are
compared with the expected rows by (period, breakdown): missing, extra and wrong rows are
reported, with the tolerance of the test.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from kpictl.errors import KpiError
from kpictl.model import Kpi, KpiTest, Row
from kpictl.report import escape

if TYPE_CHECKING:
    from kpictl.project import Project


@dataclass(frozen=True)
class Mismatch:
    """One difference between expected and actual rows: kind is missing, extra or wrong."""

    kind: str
    key: tuple[Any, ...]  # (period, *dims)
    expected: Any = None
    actual: Any = None
    what: str = "value"  # value | status


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test of one KPI; ``error`` is set when the test could not run."""

    kpi: Kpi
    test: KpiTest
    mismatches: tuple[Mismatch, ...] = ()
    error: KpiError | None = None
    actual: tuple[Row, ...] = field(default=(), compare=False)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _same(expected: Any, actual: float | None, tolerance: float) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    exp = float(expected)
    return math.isclose(exp, actual, rel_tol=tolerance, abs_tol=tolerance)


def mismatches(test: KpiTest, kpi: str, rows: list[Row]) -> list[Mismatch]:
    """Expected rows of ``test`` against the actual rows of ``kpi``."""
    actual = {(r.period, *(r.dims.get(d) for d in test.by)): r for r in rows if r.kpi == kpi}
    periods = sorted({r.period for r in rows if r.kpi == kpi})
    mismatches: list[Mismatch] = []
    seen: set[tuple[Any, ...]] = set()
    for exp in test.expect:
        period = _date(exp.get("period"))
        if period is None and len(periods) == 1:
            period = periods[0]  # a test over one period may leave it implicit
        key = (period, *(exp.get(d) for d in test.by))
        seen.add(key)
        row = actual.get(key)
        if row is None:
            mismatches.append(Mismatch("missing", key, expected=exp.get("value")))
            continue
        if not _same(exp.get("value"), row.value, test.tolerance):
            mismatches.append(Mismatch("wrong", key, expected=exp.get("value"), actual=row.value))
        status = exp.get("status")
        if status is None and test.expect_status and period == periods[-1]:
            status = test.expect_status
        if status is not None and status != row.status:
            mismatches.append(Mismatch("wrong", key, expected=status, actual=row.status, what="status"))
    for key, row in sorted(actual.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        if key not in seen:
            mismatches.append(Mismatch("extra", key, actual=row.value))
    return mismatches


def run_test(project: Project, kpi: Kpi, test: KpiTest) -> TestResult:
    """Run one test: the KPI's compiled SQL on the given rows, compared with the expectation."""
    import time

    started = time.perf_counter()
    try:
        target = project.with_vars(test.vars) if test.vars else project
        rows = target.run([kpi.name], grain=test.grain, by=test.by, tables=test.given)
    except KpiError as exc:
        return TestResult(kpi, test, error=exc, seconds=time.perf_counter() - started)
    return TestResult(
        kpi, test, tuple(mismatches(test, kpi.name, rows)), actual=tuple(rows), seconds=time.perf_counter() - started
    )


def run_tests(project: Project, names: list[str] | None = None) -> list[TestResult]:
    """Every test of the selected KPIs (default: all), in catalog order."""
    results: list[TestResult] = []
    for name in project.select(names):
        kpi = project.kpis[name]
        results.extend(run_test(project, kpi, test) for test in kpi.tests)
    return results


def _fmt(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def describe(result: TestResult) -> str:
    """The failure of one test as text: where it is, then a table of expected vs actual rows."""
    head = escape.line(f"{result.test.at}: {result.kpi.name} › {result.test.name}")
    if result.error is not None:
        return f"{head}\n  could not run: {result.error}"
    by = result.test.by
    header = ["", "period", *by, "expected", "actual"]
    table = [header]
    for m in result.mismatches:
        label = {"missing": "missing", "extra": "extra", "wrong": "wrong" if m.what == "value" else "status"}[m.kind]
        table.append(
            [
                label,
                *(escape.line(_fmt(k)) for k in m.key),
                _fmt(m.expected) if m.kind != "extra" else "—",
                _fmt(m.actual) if m.kind != "missing" else "—",
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join([head, *lines])


def render(results: list[TestResult]) -> str:
    """What ``kpictl test`` prints: a dot per passing test and F per failing one, each failure
    (:func:`describe`), then the :func:`summary` line."""
    failures = "".join(f"\n{describe(r)}\n" for r in results if not r.passed)
    return "".join("." if r.passed else "F" for r in results) + "\n" + failures + summary(results) + "\n"


def summary(results: list[TestResult]) -> str:
    """The closing line: ``N passed, M failed`` (pytest's shape, read by CI)."""
    passed = sum(r.passed for r in results)
    return f"{passed} passed, {len(results) - passed} failed"


def junit(results: list[TestResult]) -> bytes:
    """JUnit XML (one testsuite, a testcase per KPI test) for CI test reporters."""
    failures = [r for r in results if not r.passed]
    suite = ElementTree.Element(
        "testsuite",
        name="kpictl",
        tests=str(len(results)),
        failures=str(len(failures)),
        errors="0",
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for r in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=r.kpi.name,
            name=r.test.name,
            file=r.test.at.file or "",
            line=str(r.test.at.line or 0),
            time=f"{r.seconds:.3f}",
        )
        if not r.passed:
            failure = ElementTree.SubElement(case, "failure", message="could not run" if r.error else "rows differ")
            failure.text = describe(r)
    ElementTree.indent(suite)
    text: bytes = ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True)
    return text + b"\n"
