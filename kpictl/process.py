"""The kpictl process: what only a process of its own does around the command line (``cli.cli``).

It keeps the memory it frees for its next allocations, and it ends without the interpreter's
teardown once the command is done. The Python API does neither: a library leaves its host's
allocator and exit alone, and ``click.testing.CliRunner`` calls ``cli.cli`` in the test process.
"""

from __future__ import annotations

import atexit
import os
import sys

from kpictl.cli import cli


def main() -> None:
    """The ``kpictl`` process (the console script, ``python -m kpictl``): ``cli.cli``, the memory
    it frees kept for its next columns, then out without the interpreter's teardown.

    Freeing NumPy's, DuckDB's and kpictl's modules and objects one by one took 40 ms of a small
    project's 0.45 s run (issue 17: the start-up within 1.5x of a hand-written query's process),
    and none of it matters once the command is done: its outputs are written and closed by then.
    What must still happen does: the threads are joined and the atexit functions run (temporary
    folders removed) as usual, then :func:`_end` flushes stdout and stderr and ends the process
    with the command's code. A failure that is not a command's exit (a traceback) ends the usual
    way."""
    atexit.register(_end)  # registered first, so run last of the atexit functions
    keep_freed_memory()
    try:
        cli.main(prog_name="kpictl")
    except SystemExit as done:
        _ending.append(done.code if isinstance(done.code, int) else 0 if done.code is None else 1)
        raise


def keep_freed_memory() -> None:
    """Let the C library keep the memory the process frees, for its next allocations.

    A wide run allocates and frees columns of megabytes again and again (the judgement's
    temporaries, DuckDB's buffers while it writes lines). glibc maps every block over 128 KB
    afresh and gives it back when freed, so each reuse paid its page faults again (about 1.2 ms a
    MB on these machines): at 1.9 million rows by customer, 0.1 s of the judgement and up to 1 s of
    the JSON lines. Blocks up to 32 MB (glibc's largest setting: a million doubles is 8 MB) now
    come from the heap, and the heap is not trimmed. Elsewhere than glibc, nothing changes."""
    try:
        if "glibc" not in (os.confstr("CS_GNU_LIBC_VERSION") or ""):
            return
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name on this system
        return
    import ctypes  # DuckDB imports it anyway

    libc = ctypes.CDLL(None)
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


#: The exit code of the command once it is done (a str code: Python has printed it, the code is 1).
_ending: list[int] = []


def _end() -> None:
    if not _ending:
        return
    code = _ending[-1]
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # gone or closed: Python's own teardown would exit 120
            code = code or 120
    os._exit(code)
