"""The progress line: silent off a terminal, erased on one."""

from __future__ import annotations

import io
import time

from kpictl.report.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    with progress("computing", stream=out, delay=0):
        time.sleep(0.25)
    assert out.getvalue() == ""


def test_quick_work_shows_nothing_on_a_terminal() -> None:
    out = _Terminal()
    with progress("computing", stream=out, delay=5):
        pass
    assert out.getvalue() == ""


def test_long_work_shows_the_line_then_erases_it() -> None:
    out = _Terminal()
    with progress("computing 3 KPIs…", stream=out, delay=0):
        time.sleep(0.35)
    text = out.getvalue()
    assert "computing 3 KPIs…" in text
    assert text.endswith("\r\033[K")
