"""The command line: a thin Click window onto ``kpictl.Project``; no KPI logic lives here.

Each command parses options, makes one call on the library and hands the result to
``kpictl.report``. Every option is declared once (``kpictl.options``) and reaches the command
as a field of one typed ``Options`` value. Errors are
translated in one place, ``_Group.invoke``: a KpiError becomes ``file:line:col: message
(hint)`` lines on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import functools
import inspect
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kpictl import __version__
from kpictl import report as views  # `report` is a command below
from kpictl.errors import EXIT_BREACH, InvalidProject, KpiError
from kpictl.options import OPTIONS, Options
from kpictl.project import Project
from kpictl.report.progress import progress


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        interrupted = threading.Event()
        previous = _on_ctrl_c(interrupted)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C: one line and the shell's code for SIGINT, no traceback
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # the reader left (`kpictl run --format csv | head`): stop quietly with the shell's code
            # for SIGPIPE, as a tool killed by it; click's own exit is 1, a breach's code for CI.
            # What Python still flushes to stdout at exit goes nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as exc:
            # DuckDB turns the KeyboardInterrupt of a Ctrl-C during a query into its own error
            # (a RuntimeError "Query interrupted", or a duckdb.Error a caller reports as bad data):
            # whatever is raised after a Ctrl-C is the interruption
            if interrupted.is_set():
                click.echo("interrupted", err=True)
                ctx.exit(130)
            if not isinstance(exc, KpiError):
                raise
            if os.environ.get("KPICTL_DEBUG"):  # the traceback, and the SQL that failed
                raise
            from kpictl.report import escape, problems

            errors = exc.errors if isinstance(exc, InvalidProject) else None
            click.echo(problems.render(errors) if errors else escape.line(exc), err=True)  # as validate does
            ctx.exit(exc.exit_code)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


def _on_ctrl_c(interrupted: threading.Event) -> Any:
    """SIGINT raises KeyboardInterrupt as Python's own handler does, and sets ``interrupted``;
    returns the handler to restore (None off the main thread, where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    return signal.signal(signal.SIGINT, handler)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kpictl")
@click.option(
    "--project",
    "-p",
    "project_dir",
    default=".",
    type=click.Path(file_okay=False),
    help="Project folder (default: found by walking up from the current one).",
)
@click.option(
    "--allow-path",
    "allow_paths",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder outside the project that sources may read (repeatable; also KPICTL_ALLOW_PATH).",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: str, allow_paths: tuple[str, ...]) -> None:
    """KPIs as code: declare them in YAML, compile them to DuckDB SQL, judge them against SMART targets.

    \b
    Example:
      kpictl validate && kpictl run --by region
    """
    if os.environ.get("NO_COLOR"):
        ctx.color = False
    ctx.obj = project_dir
    ctx.meta["kpictl.allowed"] = allow_paths


def _command(
    *names: str, example: str, name: str | None = None
) -> Callable[[Callable[[click.Context, Options], None]], Any]:
    """A command of ``cli`` taking the options ``names`` (keys of ``OPTIONS``, in --help order);
    its --help ends with ``example`` (lines separated by ``;;``)."""

    def decorate(function: Callable[[click.Context, Options], None]) -> Any:
        @functools.wraps(function)
        def command(ctx: click.Context, **parsed: Any) -> None:
            function(ctx, Options(**parsed))

        lines = "".join(f"\n  {line.strip()}" for line in example.split(";;"))
        command.__doc__ = f"{inspect.cleandoc(function.__doc__ or '')}\n\n\b\nExample:{lines}"

        for option in reversed(names):
            command = OPTIONS[option](command)
        return cli.command(name)(click.pass_context(command))

    return decorate


def _project(ctx: click.Context, engine: str | None = None) -> Project:
    return Project.load(ctx.find_root().obj, allowed=ctx.meta["kpictl.allowed"]).with_engine(engine)


def _exit_if(ctx: click.Context, failed: bool, code: int = EXIT_BREACH) -> None:
    if failed:
        ctx.exit(code)


@_command(
    "format_problems", "no_data", example="kpictl validate --format github   # annotations in a GitHub Actions job"
)
def validate(ctx: click.Context, o: Options) -> None:
    """Check every definition: shape, names, formulas, cycles, dimensions, columns.

    Reports every problem of the project in one run as file:line:col: message (hint);
    exits 2 when there is any.
    """
    from kpictl.report import problems

    try:
        # partial: every KPI's problems, not only the first file's
        project = Project.load(ctx.find_root().obj, partial=True, allowed=ctx.meta["kpictl.allowed"])
        errors, summary = project.validate(data=not o.no_data), project.summary()
        base = ""
        if o.fmt in ("github", "sarif"):  # paths from the repository's root (git)
            from kpictl.workflows.diff import repository_prefix

            base = repository_prefix(project.root)
    except InvalidProject as exc:  # kpictl.yml itself is broken
        errors, summary, base = exc.errors, "", ""
    out = problems.render(errors, o.fmt, summary=summary, base=base)
    click.echo(out, err=bool(errors) and o.fmt == "text", nl=bool(out))
    _exit_if(ctx, bool(errors), max((e.exit_code for e in errors), default=0))


@_command("format_catalog", "tag", "lang", name="list", example="kpictl list --tag transport --lang fr")
def list_(ctx: click.Context, o: Options) -> None:
    """The catalog: name, label, source, target, owner and dimensions of every KPI."""
    from kpictl.report import catalog

    project = _project(ctx)
    kpis = [project.kpis[name] for name in project.select(tag=o.tag)]
    click.echo(catalog.render(kpis, o.fmt, lang=o.lang or project.config.locale, periods=project.bound_periods()))


@_command("kpi", "grain_bare", "lang", example="kpictl show transport_cost_to_sales --lang fr")
def show(ctx: click.Context, o: Options) -> None:
    """One KPI: its definition, lineage (what it is computed from) and SQL."""
    from kpictl.report import catalog

    project = _project(ctx)
    name = project.select([o.kpi])[0]
    sql = project.compile([name], grain=o.grain).sql
    period = project.bound_periods().get(name)
    joins = project.joins(name, grain=o.grain)
    click.echo(catalog.render_one(project.kpis[name], project.kpis, sql, lang=o.lang, period=period, joins=joins))


@_command(
    "kpis", "grain_all", "by", "from", "to", "dialect", example="kpictl compile on_time_delivery_rate --by carrier"
)
def compile(ctx: click.Context, o: Options) -> None:
    """Print the SQL that `run` would execute, without running it."""
    compiled = _project(ctx).compile(o.kpis, grain=o.grain, by=o.by, start=o.start, end=o.end)
    sql = compiled.sql
    if o.dialect:
        from kpictl.sql import dialects

        sql = dialects.to_dialect(sql, compiled.params, o.dialect)  # an unknown dialect fails here, unwarned
        if warning := dialects.untested_warning(o.dialect):
            click.echo(warning, err=True)
    click.echo(sql, nl=not sql.endswith("\n"))


@_command(
    *("kpis", "grain_all", "by", "from", "to", "where", "as_of", "format_rows", "output", "fail_on", "lang", "engine"),
    example="kpictl run --by region --from 2025-01-01 --fail-on off_track",
)
def run(ctx: click.Context, o: Options) -> None:
    """Compute KPIs on the sources and judge them against their targets.

    The table shows the latest complete period per KPI and breakdown; json, csv and parquet
    give every period as a tidy table (kpi, period, dimensions…, value, status…, complete).
    """
    project = _project(ctx, o.engine)
    with progress(f"computing {len(o.kpis) or len(project.kpis)} KPIs…"):
        rows = project.run_table(o.kpis, grain=o.grain, by=o.by, start=o.start, end=o.end, where=o.where, as_of=o.as_of)
    color = False if o.output else ctx.color
    lang = o.lang or project.config.locale
    year_start = project.config.calendar.year_start
    views.emit(
        views.render_rows(
            rows, project.kpis, o.fmt, by=o.by, lang=lang, color=color, year_start=year_start, streamed=True
        ),
        o.output,
    )
    if not len(rows):  # a message, not an error: CI over a quiet period still gets its (empty) table
        click.echo("no data in this range: no source has rows there", err=True)
    breaches = project.breaches(rows, o.fail_on)
    for line in views.breach_lines(breaches):
        click.echo(line, err=True)
    _exit_if(ctx, bool(breaches))


@_command("kpis", "junit", "engine", example="kpictl test on_time_delivery_rate --junit kpi-tests.xml")
def test(ctx: click.Context, o: Options) -> None:
    """Run the `tests:` of KPIs on their given rows (never on the real sources).

    Prints a dot per passing test and F per failing one, then each failure with a table of
    expected and actual rows, then `N passed, M failed`; exits 1 on any failure.
    """
    from kpictl.workflows import testing

    results = _project(ctx, o.engine).test(o.kpis)
    click.echo(testing.render(results), nl=False)
    if o.junit:
        views.emit(testing.junit(results), o.junit)
    _exit_if(ctx, any(not r.passed for r in results))


@_command(
    "kpis",
    "format_lint",
    "strict",
    "no_data_lint",
    "engine",
    name="lint",
    example="kpictl lint --strict --format markdown",
)
def lint_(ctx: click.Context, o: Options) -> None:
    """Score every KPI on the five SMART letters and say what is missing.

    S: description, owner, unit; M: a target bound; A: the bound against the best value ever
    observed; R: a baseline and a rationale; T: a deadline or a period.
    """
    from kpictl.judge import lint
    from kpictl.report import lintview

    reports = _project(ctx, o.engine).lint(o.kpis, data=not o.no_data)
    click.echo(lintview.render(reports, o.fmt))
    _exit_if(ctx, o.strict and not all(lint.passed(r) for r in reports))


@_command("write", "which", example="kpictl schema kpis > kpi-file.schema.json")
def schema(ctx: click.Context, o: Options) -> None:
    """Print the JSON Schemas of kpictl.yml and of KPI files (draft 2020-12)."""
    from kpictl.language import schema

    if o.write:
        schema.write(Path(o.write), o.which)
    else:
        click.echo(schema.text(o.which), nl=False)


@_command(
    "paths",
    "from_data",
    example="kpictl init my-kpis && cd my-kpis && kpictl run;;cd my-data && kpictl init --from-data data/*.parquet",
)
def init(ctx: click.Context, o: Options) -> None:
    """Create a project in DIRECTORY (default: here): an example with two KPIs and sample data.

    With --from-data, a project in the current folder over the FILEs given: kpictl.yml names
    each as a source, with the key and time column it guessed marked to check, and
    metrics/counts.yml has one count KPI per source with a time column.
    """
    from kpictl.workflows import scaffold

    if o.from_data:
        if not o.paths:
            raise click.UsageError("--from-data needs the data files: kpictl init --from-data data/*.parquet")
        written, said = scaffold.from_data(Path("."), o.paths)
        for line in said:
            click.echo(f"source {line}", err=True)
    else:
        if len(o.paths) > 1:
            raise click.UsageError(f"init takes one DIRECTORY, got {len(o.paths)} (data files need --from-data)")
        written = scaffold.create(Path(o.paths[0] if o.paths else "."))
    for path in written:
        click.echo(f"created {path}", err=True)
    if o.from_data:
        click.echo("next: check the guessed lines of kpictl.yml, then kpictl validate && kpictl run", err=True)
    else:
        click.echo(f"next: cd {o.paths[0] if o.paths else '.'} && kpictl run", err=True)


@_command(
    *("kpis", "by_report", "grain", "from", "to", "lang", "as_of_report", "out", "engine"),
    example="kpictl report --lang fr --from 2025-01-01 --out tableau-de-bord.html",
)
def report(ctx: click.Context, o: Options) -> None:
    """Write the dashboard: one self-contained HTML file of KPI cards, trends, targets and breakdowns.

    No script and nothing from the network: it opens from a file or a CI artifact and prints on A4.
    A range with no data still writes the page, which says so.
    """
    from kpictl.report import html

    with progress("building the dashboard…"):
        page = _project(ctx, o.engine).report(
            o.kpis, lang=o.lang, grain=o.grain, by=o.dimension, start=o.start, end=o.end, as_of=o.as_of
        )
    views.emit(html.render(page), o.out)
    click.echo(f"wrote {o.out}: {page.empty or f'{page.cards} KPIs'}", err=True)


@_command(
    *("base", "head", "sql", "data", "grain_diff", "by_diff", "from", "to", "format_diff", "threshold", "engine"),
    example="kpictl diff origin/main --data --format markdown > comment.md;;"
    "kpictl diff HEAD~1 HEAD --sql --data --by region --fail-on-change 0.01",
)
def diff(ctx: click.Context, o: Options) -> None:
    """Show what a change to the definitions does: fields, impact, SQL and values.

    BASE and HEAD are git revisions. HEAD defaults to the working tree, BASE to the merge base
    of HEAD with the default branch (origin/HEAD, main or master). Definitions are read from git
    objects: nothing is checked out. With --data both versions run on today's data files, only
    for the KPIs that changed and the derived KPIs that use them. With --fail-on-change, a move
    from 0 or from no value counts as larger than any threshold.
    """
    from kpictl.report import diffview

    data = o.data or o.threshold is not None
    with progress("comparing definitions and values…"):
        result = Project.diff(
            ctx.find_root().obj,
            o.base,
            o.head,
            sql=o.sql,
            data=data,
            grain=o.grain,
            by=o.by,
            start=o.start,
            end=o.end,
            engine=o.engine,
        )
    click.echo(diffview.render(result, o.fmt), nl=False)
    for line in diffview.breach_lines(result, o.threshold) if o.threshold is not None else ():
        click.echo(line, err=True)
    _exit_if(ctx, o.threshold is not None and bool(result.moved_more_than(o.threshold)))
