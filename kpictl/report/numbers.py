"""KPI values written for people, in English or French, by the KPI's ``Format``; pure functions.

Used by every human view (terminal table, Markdown, catalog, HTML dashboard); machine outputs
(json, csv, parquet) never come through here, they keep full precision. No I/O, no locale
module (its result depends on the machine), no Babel: the two conventions are spelled out here.

Conventions, by ``Format.type`` (``decimals`` overrides the default count when set):

==========  =====================  ======================  ==============================
type        en                     fr                      default decimals
==========  =====================  ======================  ==============================
percent     ``95.3%``              ``95,3 %``              1 (of the percentage)
currency    ``€1,234,567``         ``1 234 567 €``         0 (whole units)
hours       ``12.5 h``             ``12,5 h``              1
days        ``3.2 d``              ``3,2 j``               1
minutes     ``45 min``             ``45 min``              0
integer     ``1,234``              ``1 234``               0 (``decimals`` ignored)
number      ``1,234.57``           ``1 234,57``            2, more below 1 (see below)
==========  =====================  ======================  ==============================

- **French spaces**: every space inside a French value (thousands, before ``%``, ``€``, a unit)
  is U+202F NARROW NO-BREAK SPACE, the CLDR group separator for ``fr`` and the typographic
  *espace fine insécable*: a value never wraps across lines in the dashboard. English uses
  commas for thousands and a plain space before a unit.
- **Currency**: ``Format.currency`` EUR, USD and GBP become ``€ $ £``; any other code is
  written as is (``CHF 1,234`` / ``1 234 CHF``).
- **number** without ``decimals`` keeps two decimals, or two significant digits for values
  under 1 (``0.0012``), then drops trailing zeros (``12``, ``3.5``).
- **Rounding** is half-up on the shortest decimal form of the float (what ``repr`` shows), so
  ``0.125`` → ``0.13`` and ``2.675`` → ``2.68``, as a person rounding by hand expects; Python's
  own ``format`` would give ``0.12`` and ``2.67``.
- A missing value (None or NaN) is :data:`MISSING`, an em dash.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from numbers import Real

from kpictl.model import Format, lang_of

#: What a missing value (None, NaN) looks like.
MISSING = "—"
#: The French space (see the module docstring).
NNBSP = "\u202f"
#: Currency codes written as a symbol; other codes are written as the code.
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
_DEFAULT_DECIMALS = {"percent": 1, "currency": 0, "hours": 1, "days": 1, "minutes": 0, "integer": 0}
_UNITS = {"hours": {"en": "h", "fr": "h"}, "days": {"en": "d", "fr": "j"}, "minutes": {"en": "min", "fr": "min"}}
_POINTS = {"en": "pp", "fr": "pt"}


def space(lang: str) -> str:
    """The space between a number and its unit or sign in ``lang``."""
    return NNBSP if lang_of(lang) == "fr" else " "


def _decimal(value: object) -> Decimal | None:
    """The exact decimal the user sees in ``repr(value)``; None for missing, infinite and non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Real):
        number = float(value)
        return Decimal(repr(number)) if math.isfinite(number) else None
    return None


def _digits(number: Decimal, decimals: int | None, lang: str) -> tuple[str, int]:
    """``|number|`` rounded and grouped in ``lang``, and the sign (-1, 0, 1) of the rounded value.

    ``decimals`` None: two decimals, or two significant digits under 1, trailing zeros dropped.
    """
    auto = decimals is None
    if decimals is None:
        decimals = 2 if number == 0 or abs(number) >= 1 else min(max(2, -number.adjusted() + 1), 15)
    with localcontext() as ctx:
        ctx.prec = 1000  # enough digits for any float quantized to any shown precision
        rounded = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = 0 if rounded == 0 else (1 if rounded > 0 else -1)
    text = f"{abs(rounded):,.{decimals}f}"
    if auto and "." in text:
        text = text.rstrip("0").rstrip(".")
    if lang_of(lang) == "fr":
        text = text.translate({ord(","): NNBSP, ord("."): ","})
    return text, sign


def _compose(digits: str, sign: str, fmt: Format, lang: str) -> str:
    """Put the sign, the digits and the unit or currency symbol in ``lang``'s order."""
    fr = lang_of(lang) == "fr"
    if fmt.type == "percent":
        return f"{sign}{digits}{NNBSP}%" if fr else f"{sign}{digits}%"
    if fmt.type == "currency":
        symbol = SYMBOLS.get(fmt.currency.upper(), fmt.currency)
        if fr:
            return f"{sign}{digits}{NNBSP}{symbol}"
        return f"{sign}{symbol}{digits}" if symbol != fmt.currency else f"{sign}{symbol} {digits}"
    unit = _UNITS.get(fmt.type)
    if unit is not None:
        return f"{sign}{digits}{space(lang)}{unit[lang_of(lang)]}"
    return f"{sign}{digits}"


def _scaled(value: object, fmt: Format) -> Decimal | None:
    number = _decimal(value)
    if number is not None and fmt.type == "percent":
        number = number.scaleb(2)
    return number


def _decimals(fmt: Format) -> int | None:
    if fmt.type == "integer":
        return 0
    return fmt.decimals if fmt.decimals is not None else _DEFAULT_DECIMALS.get(fmt.type)


def _infinite(value: object) -> str | None:
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return None


def format_value(value: float | int | Decimal | None, fmt: Format, lang: str = "en") -> str:
    """``value`` as a person reads it: ``format_value(0.953, Format("percent"))`` → ``"95.3%"``.

    The conventions are in the module docstring; ``lang`` is a language tag (``en``, ``fr``,
    ``fr-CA``…), anything but French is written the English way.

    >>> format_value(1234567, Format("currency"), "fr") == "1\\u202f234\\u202f567\\u202f€"
    True
    >>> format_value(None, Format("percent"))
    '—'
    """
    number = _scaled(value, fmt)
    if number is None:
        return _infinite(value) or MISSING
    digits, sign = _digits(number, _decimals(fmt), lang)
    return _compose(digits, "-" if sign < 0 else "", fmt, lang)


def format_delta(delta: float | int | Decimal | None, fmt: Format, lang: str = "en") -> str:
    """A difference between two values, always signed (``+€1,234``, ``-3.5 h``, ``0``).

    Percent KPIs change by percentage points, not percent: ``format_delta(0.012,
    Format("percent"))`` → ``"+1.2 pp"`` (``"+1,2 pt"`` in French).
    """
    number = _scaled(delta, fmt)
    if number is None:
        return _infinite(delta) or MISSING
    digits, sign = _digits(number, _decimals(fmt), lang)
    mark = "+" if sign > 0 else ("-" if sign < 0 else "")
    if fmt.type == "percent":
        return f"{mark}{digits}{space(lang)}{_POINTS[lang_of(lang)]}"
    return _compose(digits, mark, fmt, lang)


NEGLIGIBLE = 0.05  # a base under 5% of the values' scale makes a relative change noise


def scale_of(values: Iterable[float | int | Decimal | None]) -> float | None:
    """The largest absolute finite value of a series: what a change's base is negligible against."""
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    return max(finite, default=None)


def has_relative_change(
    current: float | int | Decimal | None, previous: float | int | Decimal | None, scale: float | None = None
) -> bool:
    """Whether a change from ``previous`` to ``current`` has a relative size worth showing.

    Only from a positive base to a value that is not negative (across zero, "-503%" of 2 min
    means nothing), and only when the base is not negligible: at least ``NEGLIGIBLE`` of the
    values' ``scale`` (the largest absolute value of the series shown; default: of the two), so
    that +14 min from 0.03 min is "+14 min", not "+48,134.5%". The one rule of the table, the
    dashboard, ``diff`` and the Markdown outputs.

    >>> has_relative_change(1100, 1000), has_relative_change(-9, 2), has_relative_change(14, 0.03)
    (True, False, False)
    >>> has_relative_change(12, 2, scale=100)   # 2 against values up to 100: negligible
    False
    """
    if current is None or previous is None:
        return False
    now, before = float(current), float(previous)
    if not (math.isfinite(now) and math.isfinite(before)) or before <= 0 or now < 0:
        return False
    largest = max(abs(now), before, abs(scale) if scale is not None and math.isfinite(scale) else 0.0)
    return before >= NEGLIGIBLE * largest


def format_change(
    current: float | int | Decimal | None,
    previous: float | int | Decimal | None,
    fmt: Format,
    lang: str = "en",
    *,
    scale: float | None = None,
) -> str:
    """How far ``current`` moved from ``previous``: absolute, plus relative unless a percent KPI.

    Percent KPIs: points only (``+1.2 pp``), since a relative change of a rate ("+1.3%" of
    95.3%) is the classic misreading. Others: ``+€1,234 (+5.2%)``; the relative part is left
    out when it is noise (:func:`has_relative_change`, with the values' ``scale``). Computed on
    the decimal forms, so 0.953 - 0.941 is exactly 0.012.

    >>> format_change(1100, 1000, Format("integer"))
    '+100 (+10.0%)'
    >>> format_change(14, 0.03, Format("number", decimals=0))
    '+14'
    """
    now, before = _decimal(current), _decimal(previous)
    if now is None or before is None:
        return MISSING
    delta = now - before
    text = format_delta(delta, fmt, lang)
    if fmt.type == "percent" or not has_relative_change(now, before, scale):
        return text
    with localcontext() as ctx:
        ctx.prec = 28
        ratio = delta / abs(before)
    digits, sign = _digits(ratio.scaleb(2), 1, lang)
    relative = _compose(digits, "+" if sign > 0 else ("-" if sign < 0 else ""), Format("percent"), lang)
    return f"{text}{space(lang)}({relative})"


def format_bound(low: float | None, high: float | None, fmt: Format, lang: str = "en") -> str:
    """A target's bound: ``≥ 95.0%``, ``≤ 6.0%``, ``80.0%–90.0%``; empty when there is none."""
    if low is not None and high is not None:
        return f"{format_value(low, fmt, lang)}–{format_value(high, fmt, lang)}"
    if low is not None:
        return f"≥{space(lang)}{format_value(low, fmt, lang)}"
    if high is not None:
        return f"≤{space(lang)}{format_value(high, fmt, lang)}"
    return ""
