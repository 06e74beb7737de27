"""The command line: a thin Click window onto ``kpictl.Project``; no KPI logic lives here.

Each command parses options, makes one call on the library and hands the result to
``kpictl.report``. Errors are translated in one place, ``_Group.invoke``: a KpiError becomes
``file:line:col: message (hint)`` lines on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import click

from kpictl import __version__
from kpictl.errors import EXIT_BREACH, InvalidProject, KpiError
from kpictl.project import Project
from kpictl.report.progress import progress

GRAINS = click.Choice(["day", "week", "month", "quarter", "year"])


class _Failure(click.ClickException):
    """A KpiError on its way out: printed by Click with the error's own exit code."""

    def __init__(self, error: KpiError):
        super().__init__(str(error))
        self.error = error
        # click >= 8.5 declares exit_code a ClassVar; each error brings its own code
        setattr(self, "exit_code", error.exit_code)  # noqa: B010

    def show(self, file: Any = None) -> None:
        click.echo(str(self.error), err=True)
        if isinstance(self.error, InvalidProject):
            n = len(self.error.errors)
            click.echo(f"{n} problem{'s' if n != 1 else ''} found", err=True)
        if os.environ.get("KPICTL_DEBUG") and self.error.sql:
            click.echo(self.error.sql, err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KpiError as exc:
            if os.environ.get("KPICTL_DEBUG"):
                raise
            raise _Failure(exc) from None


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
@click.pass_context
def cli(ctx: click.Context, project_dir: str) -> None:
    """KPIs as code: declare them in YAML, compile them to DuckDB SQL, judge them against SMART targets.

    \b
    Example:
      kpictl validate && kpictl run --by region
    """
    if os.environ.get("NO_COLOR"):
        ctx.color = False
    ctx.obj = project_dir


def _project(ctx: click.Context, engine: str | None = None) -> Project:
    return Project.load(ctx.find_root().obj).with_engine(engine)


_engine_option = click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    help="Run the SQL on this engine (default: engine: of kpictl.yml, else duckdb). spark needs kpictl[spark].",
)


def _repository_prefix(root: Path) -> str:
    """The project folder relative to its git repository's root ("" outside git).

    CI annotations (github, sarif) name files from the repository root, so that a project in a
    subfolder still annotates the right lines of the pull request.
    """
    import subprocess

    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-prefix"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _date(_ctx: Any, _param: Any, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from None


def _dates(command: Any) -> Any:
    """--from and --to, the range of periods every computing command takes."""
    command = click.option("--to", "end", callback=_date, help="Last day of the range (YYYY-MM-DD).")(command)
    return click.option("--from", "start", callback=_date, help="First day of the range (YYYY-MM-DD).")(command)


def _range_options(command: Any) -> Any:
    """--grain, --by, --from and --to, as compile and run take them."""
    command = _dates(command)
    command = click.option("--by", multiple=True, help="Break down by this dimension (repeatable).")(command)
    return click.option("--grain", type=GRAINS, help="Period length (default: the project's).")(command)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    help="text for people; json for tools; sarif or github to annotate a pull request.",
)
@click.option("--no-data", is_flag=True, help="Skip the column checks against the source files.")
@click.pass_context
def validate(ctx: click.Context, fmt: str, no_data: bool) -> None:
    """Check every definition: shape, names, formulas, cycles, dimensions, columns.

    Reports every problem of the project in one run as file:line:col: message (hint);
    exits 2 when there is any.

    \b
    Example:
      kpictl validate --format github   # annotations in a GitHub Actions job
    """
    from kpictl.report import problems

    try:
        project = _project(ctx)
        errors = project.validate(data=not no_data)
        summary = f"{len(project.kpis)} KPIs in {len({k.file for k in project.kpis.values()})} files: valid"
    except InvalidProject as exc:
        errors, summary = exc.errors, ""
    from kpictl.language import spec

    root = spec.find_root(ctx.find_root().obj)
    base = _repository_prefix(root) if root is not None and fmt in ("github", "sarif") else ""
    out = problems.render(errors, fmt, summary=summary, base=base)
    if errors and fmt == "text":
        click.echo(out, err=True)
    elif out:
        click.echo(out)
    if errors:
        ctx.exit(max(e.exit_code for e in errors))


@cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--tag", help="Only KPIs with this tag.")
@click.pass_context
def list_(ctx: click.Context, fmt: str, tag: str | None) -> None:
    """The catalog: name, label, source, dimensions, target, owner of every KPI.

    \b
    Example:
      kpictl list --tag logistics --format json
    """
    from kpictl.report import catalog

    project = _project(ctx)
    names = project.select(tag=tag)
    click.echo(catalog.render([project.kpis[n] for n in names], fmt, lang=project.config.locale))


@cli.command()
@click.argument("kpi")
@click.option("--grain", type=GRAINS)
@click.pass_context
def show(ctx: click.Context, kpi: str, grain: str | None) -> None:
    """One KPI: its definition, lineage (what it is computed from) and SQL.

    \b
    Example:
      kpictl show transport_cost_to_sales
    """
    from kpictl.report import catalog

    project = _project(ctx)
    name = project.select([kpi])[0]
    compiled = project.compile([name], grain=grain)
    click.echo(catalog.render_one(project.kpis[name], project.kpis, compiled.sql))


@cli.command()
@click.argument("kpis", nargs=-1)
@_range_options
@click.option("--dialect", help="SQL for another engine: spark (tested) or any sqlglot dialect (untested: a warning).")
@click.pass_context
def compile(
    ctx: click.Context,
    kpis: tuple[str, ...],
    grain: str | None,
    by: tuple[str, ...],
    start: dt.date | None,
    end: dt.date | None,
    dialect: str | None,
) -> None:
    """Print the SQL that `run` would execute, without running it.

    \b
    Example:
      kpictl compile on_time_delivery_rate --by carrier
    """
    compiled = _project(ctx).compile(list(kpis), grain=grain, by=by, start=start, end=end)
    sql = compiled.sql
    if dialect:
        from kpictl.sql import dialects

        if warning := dialects.untested_warning(dialect):
            click.echo(warning, err=True)
        sql = dialects.to_dialect(sql, compiled.params, dialect)
    click.echo(sql, nl=not sql.endswith("\n"))


@cli.command()
@click.argument("kpis", nargs=-1)
@_range_options
@click.option("--where", help="Extra row filter for every KPI, checked like a KPI filter.")
@click.option(
    "--as-of", "as_of", help="Judge targets at this date, or 'today' (default: end of the latest complete period)."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown", "parquet"]), default="table")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write to this file (atomically) instead of stdout."
)
@click.option(
    "--fail-on",
    type=click.Choice(["off_track", "at_risk"]),
    help="Exit 1 when a KPI's latest period has this status or worse (default: fail_on of kpictl.yml).",
)
@_engine_option
@click.pass_context
def run(
    ctx: click.Context,
    kpis: tuple[str, ...],
    grain: str | None,
    by: tuple[str, ...],
    start: dt.date | None,
    end: dt.date | None,
    where: str | None,
    as_of: str | None,
    fmt: str,
    output: str | None,
    fail_on: str | None,
    engine: str | None,
) -> None:
    """Compute KPIs on the sources and judge them against their targets.

    The table shows the latest complete period per KPI and breakdown; json, csv and parquet
    give every period as a tidy table (kpi, period, dimensions…, value, status…).

    \b
    Example:
      kpictl run --by region --from 2025-01-01 --fail-on off_track
    """
    from kpictl import report
    from kpictl.judge import targets

    project = _project(ctx, engine)
    judged_at = dt.date.today() if as_of == "today" else _date(None, None, as_of)
    with progress(f"computing {len(kpis) or len(project.kpis)} KPIs…"):
        rows = project.run(list(kpis), grain=grain, by=by, start=start, end=end, where=where, as_of=judged_at)
    data = report.render_rows(
        rows, project.kpis, fmt, by=by, lang=project.config.locale, color=False if output else ctx.color
    )
    report.emit(data, output)
    if not rows:  # a message, not an error: CI over a quiet period still gets its (empty) table
        click.echo("no data in this range: no source has rows there", err=True)
    fail_on = fail_on or project.config.fail_on
    if fail_on:
        breaches = targets.worst(targets.current(rows), fail_on)
        for row in breaches:
            click.echo(report.breach_line(row), err=True)
        if breaches:
            ctx.exit(EXIT_BREACH)


@cli.command()
@click.argument("kpis", nargs=-1)
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), help="Also write JUnit XML here (for CI).")
@_engine_option
@click.pass_context
def test(ctx: click.Context, kpis: tuple[str, ...], junit_file: str | None, engine: str | None) -> None:
    """Run the `tests:` of KPIs on their given rows (never on the real sources).

    Prints a dot per passing test and F per failing one, then each failure with a table of
    expected and actual rows, then `N passed, M failed`; exits 1 on any failure.

    \b
    Example:
      kpictl test on_time_delivery_rate --junit kpi-tests.xml
    """
    from kpictl import report
    from kpictl.workflows import testing

    results = testing.run_tests(_project(ctx, engine), list(kpis))
    click.echo("".join("." if r.passed else "F" for r in results))
    for r in results:
        if not r.passed:
            click.echo("\n" + testing.describe(r))
    if junit_file:
        report.emit(testing.junit(results), junit_file)
    click.echo(testing.summary(results))
    if any(not r.passed for r in results):
        ctx.exit(EXIT_BREACH)


@cli.command("lint")
@click.argument("kpis", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option("--strict", is_flag=True, help="Exit 1 when any letter of any KPI fails.")
@click.option("--no-data", is_flag=True, help="Score the definitions only (A and T without history).")
@_engine_option
@click.pass_context
def lint_(ctx: click.Context, kpis: tuple[str, ...], fmt: str, strict: bool, no_data: bool, engine: str | None) -> None:
    """Score every KPI on the five SMART letters and say what is missing.

    S: description, owner, unit; M: a target bound; A: the bound against the best value ever
    observed; R: a baseline and a rationale; T: a deadline or a period.

    \b
    Example:
      kpictl lint --strict --format markdown
    """
    from kpictl.judge import lint
    from kpictl.report import lintview

    reports = _project(ctx, engine).lint(list(kpis), data=not no_data)
    click.echo(lintview.render(reports, fmt))
    if strict and not all(lint.passed(r) for r in reports):
        ctx.exit(EXIT_BREACH)


@cli.command()
@click.option("--write", type=click.Path(file_okay=False), help="Write the schemas into this folder instead.")
@click.argument("which", type=click.Choice(["project", "kpis", "all"]), default="all", metavar="[project|kpis|all]")
def schema(write: str | None, which: str) -> None:
    """Print the JSON Schemas of kpictl.yml and of KPI files (draft 2020-12).

    \b
    Example:
      kpictl schema kpis > kpi-file.schema.json
    """
    import json

    from kpictl.language import spec

    kinds = ["project", "kpis"] if which == "all" else [which]
    if write:
        Path(write).mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            text = json.dumps(spec.schema(kind), indent=2, ensure_ascii=False) + "\n"
            (Path(write) / spec.SCHEMAS[kind]).write_text(text, encoding="utf-8")
        return
    body = spec.schema(kinds[0]) if len(kinds) == 1 else {spec.SCHEMAS[k]: spec.schema(k) for k in kinds}
    click.echo(json.dumps(body, indent=2, ensure_ascii=False))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False), default=".")
def init(directory: str) -> None:
    """Create a project with one example KPI and sample data.

    \b
    Example:
      kpictl init my-kpis && cd my-kpis && kpictl run
    """
    from kpictl.workflows import scaffold

    written = scaffold.create(Path(directory))
    for path in written:
        click.echo(f"created {path}", err=True)
    click.echo(f"next: cd {directory} && kpictl run", err=True)


@cli.command()
@click.argument("kpis", nargs=-1)
@click.option("--by", help="Break every KPI that has it down by this dimension (default: each KPI's first).")
@click.option("--grain", type=GRAINS, help="Period length (default: the project's).")
@_dates
@click.option(
    "--lang", type=click.Choice(["en", "fr"]), help="Language of texts and numbers (default: the project's locale)."
)
@click.option(
    "--as-of", "as_of", help="Judge targets at this date, or 'today' (default: end of the latest period with data)."
)
@click.option(
    "--out",
    "-o",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The HTML file to write (atomically).",
)
@_engine_option
@click.pass_context
def report(
    ctx: click.Context,
    kpis: tuple[str, ...],
    by: str | None,
    grain: str | None,
    start: dt.date | None,
    end: dt.date | None,
    lang: str | None,
    as_of: str | None,
    out: str,
    engine: str | None,
) -> None:
    """Write the dashboard: one self-contained HTML file of KPI cards, trends, targets and breakdowns.

    No script and nothing from the network: it opens from a file or a CI artifact and prints on A4.
    A range with no data still writes the page, which says so.

    \b
    Example:
      kpictl report --lang fr --from 2025-01-01 --out tableau-de-bord.html
    """
    from kpictl.report import dashboard, emit, html

    judged_at = dt.date.today() if as_of == "today" else _date(None, None, as_of)
    with progress("building the dashboard…"):
        page = dashboard.report(
            _project(ctx, engine), list(kpis), lang=lang, grain=grain, by=by, start=start, end=end, as_of=judged_at
        )
    emit(html.render(page), out)
    click.echo(f"wrote {out}: {page.empty or f'{page.cards} KPIs'}", err=True)


@cli.command()
@click.argument("base", required=False)
@click.argument("head", required=False)
@click.option("--sql", is_flag=True, help="Add a unified diff of each changed KPI's compiled SQL.")
@click.option("--data", is_flag=True, help="Run changed and impacted KPIs with both definitions on today's data.")
@click.option("--grain", type=GRAINS, help="Period length for --data (default: HEAD's project default).")
@click.option("--by", multiple=True, help="Break --data down by this dimension (repeatable).")
@_dates
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    help="text for people; markdown for a pull-request comment; json for tools.",
)
@click.option(
    "--fail-on-change",
    "threshold",
    type=click.FloatRange(min=0),
    metavar="THRESHOLD",
    help="Exit 1 when a value moved by more than THRESHOLD, relative (0.01 = 1%; implies --data).",
)
@_engine_option
@click.pass_context
def diff(
    ctx: click.Context,
    base: str | None,
    head: str | None,
    sql: bool,
    data: bool,
    grain: str | None,
    by: tuple[str, ...],
    start: dt.date | None,
    end: dt.date | None,
    fmt: str,
    threshold: float | None,
    engine: str | None,
) -> None:
    """Show what a change to the definitions does: fields, impact, SQL and values.

    BASE and HEAD are git revisions. HEAD defaults to the working tree, BASE to the merge base
    of HEAD with the default branch (origin/HEAD, main or master). Definitions are read from git
    objects: nothing is checked out. With --data both versions run on today's data files, only
    for the KPIs that changed and the derived KPIs that use them. With --fail-on-change, a move
    from 0 or from no value counts as larger than any threshold.

    \b
    Example:
      kpictl diff origin/main --data --format markdown > comment.md
      kpictl diff HEAD~1 HEAD --sql --data --by region --fail-on-change 0.01
    """
    from kpictl.report import diffview
    from kpictl.workflows import diff as diffing

    with progress("comparing definitions and values…"):
        result = diffing.compare(
            ctx.find_root().obj,
            base,
            head,
            sql=sql,
            data=data or threshold is not None,
            grain=grain,
            by=by,
            start=start,
            end=end,
            engine=engine,
        )
    click.echo(diffview.render(result, fmt), nl=False)
    if threshold is not None:
        for line in diffview.breach_lines(result, threshold):
            click.echo(line, err=True)
        if result.moved_more_than(threshold):
            ctx.exit(EXIT_BREACH)


if __name__ == "__main__":  # pragma: no cover - the console script is `cli`
    cli(prog_name="kpictl")
