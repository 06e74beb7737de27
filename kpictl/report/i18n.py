"""Every fixed text of the HTML report, in English and French, and the dates written for people.

Nothing here formats a KPI value (that is ``kpictl.report.numbers``) and nothing reads a
project: the page asks for ``texts(lang)`` and for period and date labels, and gets strings.
Adding a language is adding one column to ``_TEXTS`` and one entry to ``_MONTHS``; a test
checks that every key exists in every language, so a page never shows a missing text.
"""

from __future__ import annotations

import datetime as dt

from kpictl.model import LANGS, is_custom_grain, lang_of

# key: (English, French). Strings with {placeholders} are filled by the page builder.
_TEXTS: dict[str, tuple[str, str]] = {
    "title": ("KPI report", "Tableau de bord des KPI"),
    "generated": ("Generated", "Généré le"),
    "period": ("Period", "Période"),
    "judged_at": ("Targets judged at", "Objectifs évalués au"),
    "freshness": ("Data up to", "Données jusqu'à"),
    "freshness_none": ("no data", "aucune donnée"),
    "summary": ("Status summary", "Synthèse des statuts"),
    "attention": ("Needs attention", "À surveiller"),
    "attention_none": ("No KPI is off track or at risk.", "Aucun KPI hors trajectoire ni à risque."),
    "kpis": ("KPIs", "KPI"),
    "latest": ("Latest complete period", "Dernière période complète"),
    "change": ("vs previous period", "vs période précédente"),
    "change_none": ("no previous value", "pas de valeur précédente"),
    "target": ("Target", "Objectif"),
    "building_blocks": ("Building blocks", "Briques de calcul"),
    "target_used": ("{bound} for {period}", "{bound} pour {period}"),
    "target_none": ("No target", "Sans objectif"),
    "target_min": ("at least {value}", "au moins {value}"),
    "target_max": ("at most {value}", "au plus {value}"),
    "target_between": ("between {low} and {high}", "entre {low} et {high}"),
    "deadline": ("by {date}", "d'ici le {date}"),
    "expected": ("expected now: {value}", "attendu à date : {value}"),
    "legend": ("Legend", "Légende"),
    "legend_value": ("value", "valeur"),
    "legend_target": ("target", "objectif"),
    "legend_band": ("target band", "plage cible"),
    "legend_trajectory": ("trajectory to the deadline", "trajectoire jusqu'à l'échéance"),
    "details": ("Details", "Détails"),
    "breakdown": ("Breakdown by {dim}, {period}", "Répartition par {dim}, {period}"),
    "breakdown_none": ("No breakdown: this KPI has no dimension.", "Pas de répartition : ce KPI n'a pas de dimension."),
    "breakdown_missing": ("Not available by {dim}.", "Non disponible par {dim}."),
    "partial_window": (
        "Hollow points: the rolling window is not full yet (fewer periods of data than it spans).",
        "Points creux : la fenêtre glissante n'est pas encore pleine (moins de périodes de données "
        "qu'elle n'en couvre).",
    ),
    "breakdown_ends": (
        "{shown} of {total} shown: the {worst} furthest from the target, then the {best} best",
        "{shown} sur {total} affichés : les {worst} plus loin de l'objectif, puis les {best} meilleurs",
    ),
    "breakdown_ends_size": (
        "{shown} of {total} shown: the {worst} largest, then the {best} smallest",
        "{shown} sur {total} affichés : les {worst} plus grands, puis les {best} plus petits",
    ),
    "value": ("Value", "Valeur"),
    "status": ("Status", "Statut"),
    "smart": ("SMART score", "Score SMART"),
    "owner": ("Owner", "Responsable"),
    "owner_none": ("not named", "non désigné"),
    "description": ("Description", "Description"),
    "description_none": ("none", "aucune"),
    "formula": ("Formula", "Formule"),
    "source": ("Source", "Source"),
    "derived": ("derived from other KPIs", "calculé à partir d'autres KPI"),
    "sql": ("Compiled SQL", "SQL compilé"),
    "empty": (
        "No data in this range: no source has rows between {start} and {end}.",
        "Aucune donnée sur cette période : aucune source n'a de lignes entre le {start} et le {end}.",
    ),
    "empty_from": (
        "No data in this range: no source has rows from {start} on.",
        "Aucune donnée sur cette période : aucune source n'a de lignes à partir du {start}.",
    ),
    "empty_to": (
        "No data in this range: no source has rows up to {end}.",
        "Aucune donnée sur cette période : aucune source n'a de lignes jusqu'au {end}.",
    ),
    "empty_all": ("No data: no source has any row.", "Aucune donnée : aucune source n'a de lignes."),
    "empty_hint": (
        "Widen the range with --from and --to, or check the data files.",
        "Élargissez la période avec --from et --to, ou vérifiez les fichiers de données.",
    ),
    "footer": (
        "Made by kpictl from the definitions in {project}.",
        "Produit par kpictl à partir des définitions de {project}.",
    ),
    "status_achieved": ("Achieved", "Atteint"),
    "status_on_track": ("On track", "En bonne voie"),
    "status_at_risk": ("At risk", "À risque"),
    "status_off_track": ("Off track", "Hors trajectoire"),
    "status_no_target": ("No target", "Sans objectif"),
    "status_no_data": ("No data", "Pas de données"),
    "letter_S": ("Specific", "Spécifique"),
    "letter_M": ("Measurable", "Mesurable"),
    "letter_A": ("Achievable", "Atteignable"),
    "letter_R": ("Realistic", "Réaliste"),
    "letter_T": ("Time-bound", "Temporellement défini"),
    "level_pass": ("pass", "validé"),
    "level_warn": ("warn", "à revoir"),
    "level_fail": ("fail", "manquant"),
}

#: A symbol per SMART level, so that a letter still reads without colour (statuses:
#: ``model.STATUS_SYMBOLS``).
LEVEL_SYMBOLS = {"pass": "✓", "warn": "!", "fail": "✗"}

_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
}
# The letter before a quarter or week number: Q1 / T1 (trimestre), W05 / S05 (semaine).
_QUARTER = {"en": "Q", "fr": "T"}
_WEEK = {"en": "W", "fr": "S"}
_FISCAL = {"en": "FY", "fr": "ex. "}  # a fiscal year: FY2026 / ex. 2026 (exercice), the year it ends in


def texts(lang: str) -> dict[str, str]:
    """Every fixed text in ``lang`` (``en`` or ``fr``), by key.

    >>> texts("fr")["status_off_track"]
    'Hors trajectoire'
    """
    column = _column(lang)
    return {key: pair[column] for key, pair in _TEXTS.items()}


def _column(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGS)}")
    return LANGS.index(lang)


def format_date(day: dt.date, lang: str) -> str:
    """A day for people: ``31 Dec 2025`` / ``31 déc. 2025`` (never ambiguous like 03/04)."""
    return f"{day.day} {_MONTHS[LANGS[_column(lang)]][day.month - 1]} {day.year}"


def format_datetime(moment: dt.datetime, lang: str) -> str:
    """A generation time: the day as :func:`format_date`, then ``HH:MM`` and the UTC offset if known."""
    offset = moment.strftime("%z")
    zone = f" UTC{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{format_date(moment.date(), lang)} {moment:%H:%M}{zone}"


def format_period(start: dt.date, grain: str, lang: str, year_start: int = 1) -> str:
    """The name of the ``grain`` period that starts on ``start``, as people say it; the years and
    quarters of a fiscal year (``year_start`` > 1) by the year they end in.

    >>> format_period(dt.date(2025, 4, 1), "quarter", "fr"), format_period(dt.date(2025, 4, 1), "month", "en")
    ('T2 2025', 'Apr 2025')
    >>> format_period(dt.date(2025, 4, 1), "quarter", "en", 4), format_period(dt.date(2025, 4, 1), "year", "fr", 4)
    ('Q1 FY2026', 'ex. 2026')
    >>> hour = dt.datetime(2025, 1, 1, 13)
    >>> format_period(hour, "hour", "en"), format_period(hour, "hour", "fr")
    ('1 Jan 2025 13:00', '1 janv. 2025 13:00')
    """
    from kpictl.sql import calendars, periods

    if is_custom_grain(grain) and grain != "all":  # a calendar table's period: its label
        return calendars.label(grain, start)
    months = _MONTHS[LANGS[_column(lang)]]
    named = f"{_FISCAL[lang]}{periods.fiscal_year(start, year_start)}" if year_start > 1 else str(start.year)
    if grain == "year":
        return named
    if grain == "quarter":
        return f"{_QUARTER[lang]}{periods.quarter(start, year_start)} {named}"
    if grain == "month":
        return f"{months[start.month - 1]} {start.year}"
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{_WEEK[lang]}{week:02d} {year}"
    if isinstance(start, dt.datetime):  # an hour: its day, then the hour as a clock reads it
        return f"{format_date(start, lang)} {start:%H:00}"
    return format_date(start, lang)


_PERIOD_WORDS = {
    "en": {
        "hour": "per hour",
        "day": "per day",
        "week": "per week",
        "month": "per month",
        "quarter": "per quarter",
        "year": "per year",
        "month_to_date": "month to date",
        "quarter_to_date": "quarter to date",
        "year_to_date": "year to date",
    },
    "fr": {
        "hour": "par heure",
        "day": "par jour",
        "week": "par semaine",
        "month": "par mois",
        "quarter": "par trimestre",
        "year": "par an",
        "month_to_date": "depuis le début du mois",
        "quarter_to_date": "depuis le début du trimestre",
        "year_to_date": "depuis le début de l'année",
    },
}


def period_words(period: str | None, lang: str = "en") -> str:
    """``per year``, ``year to date``…: the period a bound is meant for, in words ("" for None)."""
    if not period:
        return ""
    return _PERIOD_WORDS[lang_of(lang)].get(period, period)
