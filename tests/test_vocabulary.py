"""One vocabulary: the words the JSON Schemas, the CLI and the views use are the model's own lists."""

from __future__ import annotations

from click.testing import CliRunner

from kpictl.cli import cli
from kpictl.language.schema import schema
from kpictl.model import FAIL_ON, GRAINS, RUN_GRAINS, STATUS_SYMBOLS, STATUSES, TAKES, TO_DATE_UNITS
from kpictl.report import i18n


def test_the_schemas_name_the_models_grains_and_to_date_periods() -> None:
    kpis, project = schema("kpis"), schema("project")
    # a grain is a built-in one, or any name a calendar table gives (calendar.grains, checked by kpictl)
    assert kpis["$defs"]["grain"]["anyOf"][0]["enum"] == list(GRAINS)
    assert project["$defs"]["grain"]["anyOf"][0]["enum"] == list(GRAINS)
    periods = kpis["$defs"]["target"]["properties"]["period"]["enum"]
    assert periods == [*GRAINS, *(f"{unit}_to_date" for unit in TO_DATE_UNITS if unit != "week")]
    assert kpis["$defs"]["kpi"]["properties"]["snapshot"]["properties"]["take"]["enum"] == list(TAKES)


def test_every_status_has_one_symbol_and_one_word_per_language() -> None:
    assert set(STATUS_SYMBOLS) == set(STATUSES)
    assert len(set(STATUS_SYMBOLS.values())) == len(STATUSES)  # no two statuses look alike
    for lang in i18n.LANGS:
        words = [i18n.texts(lang)[f"status_{status}"] for status in STATUSES]
        assert len(set(words)) == len(STATUSES)


def test_the_cli_offers_the_libraries_choices() -> None:
    run_help = CliRunner().invoke(cli, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert f"[{'|'.join(RUN_GRAINS)}]" in run_help  # run also has the whole range: all
    assert f"[{'|'.join((*FAIL_ON, 'none'))}]" in run_help  # none: no gate, whatever kpictl.yml says
    assert "[table|json|csv|markdown|parquet]" in run_help


def test_the_project_facade_has_every_operation_with_typed_keywords() -> None:
    """Every command is one Project call with explicit keyword arguments: no **options, no -> Any."""
    import inspect

    from kpictl.project import Project

    for name in ("load", "validate", "compile", "run", "test", "lint", "diff", "report", "breaches"):
        signature = inspect.signature(getattr(Project, name))
        assert all(p.kind is not p.VAR_KEYWORD for p in signature.parameters.values()), name
        assert signature.return_annotation not in ("Any", inspect.Signature.empty), name


def test_a_regional_locale_reads_as_its_language() -> None:
    """fr_FR (POSIX) and fr-CA (BCP 47) are French everywhere, lint reasons and period words too."""
    from kpictl.judge.lint import Reason

    for lang in ("fr", "fr-CA", "fr_FR", "FR"):
        assert i18n.period_words("month", lang) == "par mois"
        assert Reason("each_period", (("period", "mois"),)).text(lang) == "jugé à chaque mois"
    assert Reason("each_period", (("period", "month"),)).text("de_DE") == "judged each month"
