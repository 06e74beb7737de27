"""The formula sandbox: which expressions are accepted, which are refused and why, and where."""

from __future__ import annotations

import pytest

from kpictl.errors import Location, SpecError
from kpictl.language import formula, jinja

AT = Location("metrics/x.yml", 7, 14, "/kpis/0/formula")

ACCEPTED = [
    # (kind, expression)
    ("aggregate", "sum(amount)"),
    ("aggregate", "count(*)"),
    ("aggregate", "count(distinct customer_id)"),
    ("aggregate", "count(*) filter (where on_time) / count(*)"),
    ("aggregate", "sum(amount) filter (where channel in ('web', 'phone'))"),
    ("aggregate", "(sum(amount) - sum(cost)) / nullif(sum(amount), 0)"),
    ("aggregate", "avg(date_diff('day', order_date, ship_date))"),
    ("aggregate", "sum(case when status = 'paid' then amount else 0 end)"),
    ("aggregate", "avg(amount::double)"),
    ("aggregate", "approx_count_distinct(customer_id)"),
    ("aggregate", "quantile_cont(resolution_hours, 0.9)"),
    ("aggregate", "max(year(order_date))"),
    ("aggregate", "sum(orders.amount) + max(customers.credit)"),
    ("aggregate", 'sum("Amount with spaces")'),
    ("aggregate", "sum(amount) -- a trailing comment"),
    ("aggregate", "sum(amount)\n  - sum(discount)\n"),
    ("derived", "revenue / orders"),
    ("derived", "revenue / prior(revenue) - 1"),
    ("derived", "prior(revenue, 12)"),
    ("derived", "rolling(revenue, 3) / 3"),
    ("derived", "cumulative(revenue)"),
    ("derived", "to_date(revenue, year) + to_date(revenue, 'quarter')"),
    ("derived", "coalesce(a, 0) + greatest(b, c)"),
    ("filter", "status = 'paid' and amount > 0"),
    ("filter", "order_date >= '2025-01-01'"),
    ("filter", "region is not null"),
    ("filter", "carrier like 'DH%'"),
    ("dimension", "case when amount > 100 then 'big' else 'small' end"),
    ("dimension", "date_trunc('week', order_date)"),
]

REJECTED = [
    # (kind, expression, words of the message, 1-based column of the error inside the expression)
    ("aggregate", "select sum(amount) from orders", "SELECT statements are not allowed", 1),
    ("aggregate", "with t as (select 1) select * from t", "WITH statements are not allowed", 1),
    ("aggregate", "sum(amount); drop table orders", "';' is not allowed", 12),
    ("aggregate", "sum(amount);", "';' is not allowed", 12),
    ("aggregate", "@: end", "'$end' is not allowed", 1),  # sqlglot reads an alias without a name (found by hypothesis)
    ("aggregate", "sum(amount) / (select sum(amount) from orders)", "subqueries are not allowed", 16),
    ("filter", "customer_id in (select customer_id from vip)", "subqueries are not allowed", 17),
    ("aggregate", "count(*) filter (where exists (select 1))", "subqueries are not allowed", 32),
    ("aggregate", "count(*) + len(read_csv('/etc/passwd'))", "function 'read_csv' is not allowed", 16),
    ("aggregate", "sum(x) * read_parquet('other.parquet')", "function 'read_parquet' is not allowed", 10),
    ("aggregate", "COPY orders TO '/tmp/x.csv'", "COPY statements are not allowed", 1),
    ("aggregate", "ATTACH 'x.duckdb' AS x", "ATTACH statements are not allowed", 1),
    ("aggregate", "INSTALL httpfs", "INSTALL statements are not allowed", 1),
    ("aggregate", "PRAGMA version", "PRAGMA statements are not allowed", 1),
    ("aggregate", "SET memory_limit = '1GB'", "SET statements are not allowed", 1),
    ("aggregate", "sum(amount) over (partition by region)", "window functions (OVER)", 13),
    ("aggregate", "amount * 2", "must aggregate its rows", 1),
    ("aggregate", "sum(amount) / quantity", "column 'quantity' is outside an aggregate", 15),
    ("aggregate", "avg(max(amount))", "aggregates cannot be nested", 5),
    ("aggregate", "sum(amount) filter (where d > current_date)", "'current_date' is not allowed", 31),
    ("aggregate", "sum(amount) + now()", "function 'now' is not allowed", 15),
    ("aggregate", "sum(amount) * random()", "function 'random' is not allowed", 15),
    ("aggregate", "sum(amount) * getenv('X')", "function 'getenv' is not allowed", 15),
    ("aggregate", "summ(amount)", "function 'summ' is not allowed", 1),
    ("aggregate", "sum(a.b.c.d.e)", "has too many parts", 5),
    ("aggregate", "sum(*)", "'*' is allowed only in count(*)", 5),
    ("column", "*", "'*' is allowed only in count(*)", 1),
    ("aggregate", "sum(amount * (1 - discount)", "missing ')' at the end", 28),
    ("aggregate", "sum(refund amount)", "expected ')' before 'amount'", 12),
    ("aggregate", "sum(amount) foo", "unexpected 'foo' after the expression", 13),
    ("aggregate", "sum('abc)", "a quote is never closed", 5),
    ("aggregate", "+", "incomplete expression", 1),
    ("aggregate", "   ", "the expression is empty", 1),
    ("aggregate", "prior(revenue)", "prior() is for derived KPIs only", 1),
    ("derived", "sum(revenue)", "aggregate 'sum(revenue)' is not allowed here", 1),
    ("derived", "prior(revenue, 0)", "whole number of periods >= 1", 16),
    ("derived", "prior(revenue, 1, 2, 3)", "prior() takes 1 to 3 arguments, got 4", 1),
    ("derived", "prior(revenue, 1, 2)", "the third argument of prior() must be a unit: hour, day, week, month", 19),
    ("derived", "rolling(revenue)", "rolling() takes 2 to 4 arguments, got 1", 1),
    ("derived", "prior(1 + 2)", "first argument of prior() must be a KPI name", 7),
    ("derived", "to_date(revenue, decade)", "to_date() takes one of year, quarter, month, week", 18),
    ("derived", "orders.amount / revenue", "a derived formula uses KPI names only", 1),
    ("derived", "priro(revenue)", "function 'priro' is not allowed", 1),
    ("filter", "sum(amount) > 100", "aggregate 'sum(amount)' is not allowed here: a filter", 1),
    ("dimension", "count(*)", "a dimension is computed on each row", 1),
]


@pytest.mark.parametrize(("kind", "text"), ACCEPTED)
def test_accepted(kind: str, text: str) -> None:
    formula.parse(text, kind, AT)


@pytest.mark.parametrize(("kind", "text", "words", "column"), REJECTED)
def test_rejected(kind: str, text: str, words: str, column: int) -> None:
    with pytest.raises(SpecError) as caught:
        formula.parse(text, kind, AT)
    assert words in caught.value.message
    assert (caught.value.at.line, caught.value.at.column) == (AT.line, AT.column + column - 1)  # type: ignore[operator]


def test_hints_say_what_to_do() -> None:
    cases = {
        "summ(amount)": "did you mean 'sum'?",
        "select sum(amount) from orders": "write just the expression: sum(amount)",
        "sum(refund amount)": 'a name with a space needs double quotes: "refund amount"',
        "amount * 1.2": "e.g. sum(amount * 1.2)",
        "sum(x) + now()": "results must not depend on the clock",
    }
    for text, hint in cases.items():
        with pytest.raises(SpecError) as caught:
            formula.parse(text, "aggregate", AT)
        assert hint in (caught.value.hint or ""), text


def test_errors_inside_block_scalars_point_at_their_line() -> None:
    # formula: |        (line 7); content lines start at column 7
    at = Location("m.yml", 8, 7)
    with pytest.raises(SpecError) as caught:
        formula.parse("sum(amount)\n  - sum(discount)\n  - quantity\n", "aggregate", at)
    assert (caught.value.at.line, caught.value.at.column) == (10, 11)


def test_inexact_text_points_at_the_scalar() -> None:
    """After Jinja changed the text, offsets no longer match the file: point at the scalar."""
    with pytest.raises(SpecError) as caught:
        formula.parse("sum(amount) / quantity", "aggregate", AT, exact=False)
    assert caught.value.at == AT


def test_columns_and_references() -> None:
    tree = formula.parse("sum(amount) filter (where customers.region = 'EU') + max(amount)", "aggregate")
    assert formula.columns(tree) == {"amount", "customers.region"}
    assert formula.column_offsets(tree) == {"amount": 4, "customers.region": 26}
    derived = formula.parse("to_date(revenue, year) / prior(orders, 2)", "derived")
    assert formula.kpi_refs(derived) == {"revenue", "orders"}


VARS = {"start": "2025-04-01", "factor": 2, "channel": "web"}


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("sum(amount)", "sum(amount)"),
        ("order_date >= '{{ var('start') }}'", "order_date >= '2025-04-01'"),
        ('amount * {{ var("factor") }}', "amount * 2"),
        ("{{ var('factor') * 10 }}", "20"),
        ("{{ var('missing', 'fallback') }}", "fallback"),
        ("{% if var('channel') == 'web' %}online{% else %}offline{% endif %}", "online"),
    ],
)
def test_render(text: str, rendered: str) -> None:
    assert jinja.render(text, VARS) == rendered


@pytest.mark.parametrize(
    ("text", "words", "column"),
    [
        ("sum(amount) + {{ ''.__class__ }}", "unsafe Jinja: '__class__' cannot be used", 21),
        ("{{ cycler.__init__.__globals__ }}", "unsafe Jinja: '__init__' cannot be used", 11),
        ("{{ range(10) }}", "unknown Jinja name 'range'", 4),
        ("x = '{{ var('strat') }}'", "unknown variable 'strat'", 14),
        ("{{ 'a' * 1000000000 }}", "too large", 1),
        ("{{ 2 ** 1000000 }}", "too large", 1),
        ("{{ 1 / 0 }}", "Jinja failed", 1),
        ("{{ var('start') ", "invalid Jinja", 1),
    ],
)
def test_render_refuses(text: str, words: str, column: int) -> None:
    with pytest.raises(SpecError) as caught:
        jinja.render(text, VARS, AT)
    assert words in caught.value.message
    assert caught.value.at.column == AT.column + column - 1  # type: ignore[operator]


def test_unknown_variable_suggests_the_declared_one() -> None:
    with pytest.raises(SpecError) as caught:
        jinja.render("{{ var('strat') }}", VARS, AT)
    assert caught.value.hint == "did you mean 'start'?"


def test_a_value_is_never_rendered_again() -> None:
    """A variable whose value looks like Jinja stays text (the fast path must not re-render it)."""
    assert jinja.render("x = '{{ var('v') }}'", {"v": "{{ 7 * 6 }}"}) == "x = '{{ 7 * 6 }}'"
