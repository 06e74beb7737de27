"""A progress line on stderr for runs that take more than a moment (terminals only).

The query is one DuckDB statement, so there is no honest percentage per KPI: the line shows
what runs and for how long, appears only after half a second, only when stderr is a
terminal, and is erased when the work ends, so stdout and logs keep nothing but the data.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
DELAY = 0.5  # seconds before the line appears: quick runs stay silent


@contextmanager
def progress(message: str, *, stream: TextIO | None = None, delay: float = DELAY) -> Iterator[None]:
    """Show ``message`` with a spinner and the elapsed time on ``stream`` while the block runs."""
    out = stream or sys.stderr
    if not out.isatty():
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def spin() -> None:
        if done.wait(delay):
            return
        frame = 0
        while not done.wait(0.1):
            out.write(f"\r{FRAMES[frame % len(FRAMES)]} {message} {time.monotonic() - started:.1f} s")
            out.flush()
            frame += 1
        out.write("\r\033[K")  # erase the line: nothing of it stays on the terminal
        out.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
