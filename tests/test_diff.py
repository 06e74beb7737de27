"""kpictl diff: definitions read from real git commits, compared field by field, run on one CSV.

Each test builds its own repository with ``git init`` in a temporary folder; git's global and
system configuration are ignored, so the user's hooks, signing or default branch never leak in.
Expected reports are written by hand: commit hashes are the only thing substituted.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpictl.cli import cli
from kpictl.report import diffview
from kpictl.workflows import diff as diffing

ENV = {"NO_COLOR": "1", "COLUMNS": "80"}
GIT = ["git", "-c", "user.name=kpictl tests", "-c", "user.email=tests@kpictl.invalid", "-c", "commit.gpgsign=false"]

PROJECT = """\
name: shop
metrics: [metrics]
sources:
  orders: {path: data/orders.csv, time: order_date}
"""

# Three months of orders. Hand computations below use: Jan 40 + 60 (both paid), Feb 100
# (refunded) + 30 (paid), Mar 50 (paid).
ORDERS = """\
order_id,order_date,region,amount,status
1,2025-01-05,EU,40,paid
2,2025-01-20,NA,60,paid
3,2025-02-03,EU,100,refunded
4,2025-02-14,EU,30,paid
5,2025-03-02,NA,50,paid
"""

BASE_KPIS = """\
kpis:
  - name: revenue
    label: Revenue
    source: orders
    formula: sum(amount)
    dimensions: [region]
    target: {min: 100}
  - name: orders
    source: orders
    formula: count(*)
    dimensions: [region]
  - name: big_orders
    source: orders
    formula: count(*) filter (where amount > 50)
  - name: paid_share
    source: orders
    formula: count(*) filter (where status = 'paid') / count(*)
  - name: aov
    formula: revenue / orders
  - name: revenue_per_big
    formula: revenue / big_orders
  - name: revenue_per_big_growth
    formula: revenue_per_big / prior(revenue_per_big) - 1
  - name: max_order
    source: orders
    formula: max(amount)
"""

# Commit 2 edits: a filter and a target (revenue), a formula and a dimension (big_orders).
EDITED_KPIS = BASE_KPIS.replace(
    "    dimensions: [region]\n    target: {min: 100}",
    "    filter: status = 'paid'\n    dimensions: [region]\n    target: {min: 120}",
).replace("amount > 50)\n", "amount >= 50)\n    dimensions: [region]\n")

# Commit 3 renames orders → order_count (aov follows), removes max_order and adds min_order.
RENAMED_KPIS = (
    EDITED_KPIS.replace("  - name: orders\n", "  - name: order_count\n")
    .replace("formula: revenue / orders", "formula: revenue / order_count")
    .replace(
        "  - name: max_order\n    source: orders\n    formula: max(amount)\n",
        "  - name: min_order\n    source: orders\n    formula: min(amount)\n",
    )
)


ROOT = Path(__file__).resolve().parent.parent


def git(root: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def write(root: Path, files: dict[str, str | None]) -> None:
    """Write (or, for None, delete) project files."""
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit(root: Path, files: dict[str, str | None], message: str) -> str:
    """Write ``files``, commit everything, return the short hash."""
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "--short=7", "HEAD")


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository whose branch main has the three commits above; returns it and their hashes."""
    git(tmp_path, "init", "-q", "-b", "main")
    files = {"kpictl.yml": PROJECT, "data/orders.csv": ORDERS, "metrics/sales.yml": BASE_KPIS}
    shas = [
        commit(tmp_path, files, "base"),
        commit(tmp_path, {"metrics/sales.yml": EDITED_KPIS}, "edit"),
        commit(tmp_path, {"metrics/sales.yml": RENAMED_KPIS}, "rename"),
    ]
    return tmp_path, shas


def invoke(root: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--project", str(root), "diff", *args], env=ENV)


# -- definitions ----------------------------------------------------------------------------------


EXPECTED_TEXT = """\
kpictl diff HEAD~2 ({0}) → HEAD ({2})
3 changed, 1 renamed, 1 added, 1 removed, 2 impacted

changed  aov  (metrics/sales.yml)
  formula: revenue / orders → revenue / order_count
  depends on changed: revenue

changed  big_orders  (metrics/sales.yml)
  formula:    count(*) filter (where amount > 50) → count(*) filter (where amount >= 50)
  dimensions: (none) → region

changed  revenue  (metrics/sales.yml)
  filter:     (none) → status = 'paid'
  target.min: 100 per month → 120 per month

renamed  orders → order_count  (metrics/sales.yml)

added  min_order  (metrics/sales.yml)

removed  max_order  (metrics/sales.yml)

impacted  revenue_per_big  (metrics/sales.yml)
  depends on changed: big_orders, revenue

impacted  revenue_per_big_growth  (metrics/sales.yml)
  depends on changed: big_orders, revenue
"""


def test_text_report_of_added_removed_renamed_edited_and_impacted_kpis(repo: tuple[Path, list[str]]) -> None:
    root, shas = repo
    result = invoke(root, "HEAD~2", "HEAD")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == EXPECTED_TEXT.format(*shas)
    assert result.stderr == ""


def test_one_commit_at_a_time(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    diff = diffing.compare(root, "HEAD~1", "HEAD")
    assert [(k.change, k.name, k.old_name) for k in diff.kpis] == [
        ("changed", "aov", None),
        ("renamed", "order_count", "orders"),
        ("added", "min_order", None),
        ("removed", "max_order", None),
    ]
    # A renamed KPI moves nothing by itself; aov's formula text changed, so it is listed (and would run).
    assert [k.name for k in diff.kpis if k.moves_values] == ["aov"]


def test_default_base_is_the_merge_base_and_default_head_the_working_tree(repo: tuple[Path, list[str]]) -> None:
    root, shas = repo
    git(root, "checkout", "-q", "-b", "feature", "HEAD~1")
    labels = "label: {en: Revenue, fr: Chiffre d'affaires}"
    write(root, {"metrics/sales.yml": EDITED_KPIS.replace("label: Revenue", labels)})
    result = invoke(root)
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout
        == f"""\
kpictl diff merge base with main ({shas[1]}) → working tree
1 changed

changed  revenue  (metrics/sales.yml)
  label.fr: (none) → Chiffre d'affaires
"""
    )


def test_project_in_a_subfolder_and_kpictl_yml_changes(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    sub = tmp_path / "analytics"
    commit(
        tmp_path,
        {
            "analytics/kpictl.yml": PROJECT,
            "analytics/data/orders.csv": ORDERS,
            "analytics/metrics/sales.yml": BASE_KPIS,
        },
        "base",
    )
    write(tmp_path, {"analytics/kpictl.yml": PROJECT.replace("time: order_date", "time: order_date, key: order_id")})
    diff = diffing.compare(sub / "metrics")
    assert [(f.field, f.old, f.new) for f in diff.project] == [("sources.orders.key", None, "order_id")]
    # Every source KPI reads that source; every derived KPI reads them: all are impacted.
    assert {k.name for k in diff.kpis} == {
        "revenue",
        "orders",
        "big_orders",
        "paid_share",
        "aov",
        "revenue_per_big",
        "revenue_per_big_growth",
        "max_order",
    }
    assert diff.kpis[0].via == ("source:orders",)


def test_markdown_is_a_pull_request_comment(repo: tuple[Path, list[str]]) -> None:
    root, shas = repo
    result = invoke(root, "HEAD~1", "HEAD", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout
        == f"""\
## kpictl diff: `HEAD~1 ({shas[1]})` → `HEAD ({shas[2]})`

**1 changed, 1 renamed, 1 added, 1 removed**

### Changed (1)

#### `aov` · `metrics/sales.yml`

| field | base | head |
|:--|:--|:--|
| formula | `revenue / orders` | `revenue / order_count` |

### Renamed (1)

#### `orders` → `order_count` · `metrics/sales.yml`

### Added (1)

- `min_order` · `metrics/sales.yml`

### Removed (1)

- `max_order` · `metrics/sales.yml`
"""
    )


def test_json_has_the_same_facts(repo: tuple[Path, list[str]]) -> None:
    root, shas = repo
    result = invoke(root, "HEAD~1", "HEAD", "--format", "json")
    body = json.loads(result.stdout)
    assert body["base"]["label"] == "HEAD~1" and body["base"]["commit"].startswith(shas[1])
    assert body["counts"] == {"changed": 1, "renamed": 1, "added": 1, "removed": 1, "impacted": 0}
    formula = {"field": "formula", "old": "revenue / orders", "new": "revenue / order_count"}
    assert body["kpis"][0]["fields"] == [formula]
    assert body["kpis"][1]["old_name"] == "orders"


def test_nothing_changed(repo: tuple[Path, list[str]]) -> None:
    root, shas = repo
    result = invoke(root, "HEAD")
    assert result.stdout == f"kpictl diff HEAD ({shas[2]}) → working tree\nno KPI definition changed\n"


def test_the_working_tree_is_never_touched(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    write(root, {"metrics/extra.yml": "kpis:\n  - name: untracked\n    source: orders\n    formula: count(*)\n"})
    before = git(root, "status", "--porcelain", "--untracked-files=all")
    diffing.compare(root, "HEAD~2")
    assert git(root, "status", "--porcelain", "--untracked-files=all") == before
    assert git(root, "stash", "list") == ""


# -- problems: exit 2, a message that names the revision, never a traceback -------------------------


def test_a_base_that_does_not_validate(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    bad = commit(root, {"metrics/bad.yml": "kpis:\n  - name: margin\n    formula: revenu / 2\n"}, "typo")
    commit(root, {"metrics/bad.yml": None}, "fix")
    result = invoke(root, "HEAD~1", "HEAD")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"BASE {bad}:metrics/bad.yml:3:14: unknown KPI 'revenu' in formula of margin "
        "(did you mean 'revenue'?)\n1 problem found\n"
    )


def test_a_base_without_the_project(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    git(root, "checkout", "-q", "--orphan", "elsewhere")
    git(root, "rm", "-rq", "--cached", ".")
    git(root, "commit", "-q", "--allow-empty", "-m", "unrelated history")
    first = git(root, "rev-parse", "--short=7", "HEAD")
    result = invoke(root, "elsewhere")
    assert result.exit_code == 2
    assert result.stderr == (
        f"BASE {first}:kpictl.yml: no project at 'elsewhere': kpictl.yml does not exist there "
        "(compare from a later revision)\n1 problem found\n"
    )


def test_a_revision_that_does_not_exist(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    result = invoke(root, "no-such-branch")
    assert result.exit_code == 2
    assert result.stderr == (
        "BASE: unknown revision 'no-such-branch' (give a branch, tag or commit that exists here; "
        "git log --oneline lists them)\n"
    )
    assert invoke(root, "HEAD", "--not-an-option").exit_code == 2


def test_outside_a_git_repository(tmp_path: Path) -> None:
    write(tmp_path, {"kpictl.yml": PROJECT, "metrics/sales.yml": BASE_KPIS})
    result = invoke(tmp_path)
    assert result.exit_code == 2
    # The middle is git's own words (they depend on its version and language).
    assert result.stderr.startswith(f"{tmp_path}: git cannot read a repository here: fatal: ")
    assert result.stderr.endswith(
        "(kpictl diff compares git revisions: run it in a clone of the project's repository)\n"
    )


def test_an_unknown_breakdown(repo: tuple[Path, list[str]]) -> None:
    result = invoke(repo[0], "HEAD~2", "--data", "--by", "regoin")
    assert result.exit_code == 2
    assert result.stderr == "--by: unknown dimension 'regoin': no KPI has it (did you mean 'region'?)\n"


def test_no_default_branch(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    commit(tmp_path, {"kpictl.yml": PROJECT, "metrics/sales.yml": BASE_KPIS}, "base")
    result = invoke(tmp_path)
    assert result.exit_code == 2
    assert "no default branch to compare with" in result.stderr
    assert "Traceback" not in result.stderr


def test_renders_without_values(repo: tuple[Path, list[str]]) -> None:
    diff = diffing.compare(repo[0], "HEAD~2", "HEAD")
    assert all(k.values is None for k in diff.kpis)
    assert diff.ran == ()
    assert diffview.summary(diff) == "3 changed, 1 renamed, 1 added, 1 removed, 2 impacted"


# -- values: both definitions on the same CSV -----------------------------------------------------


def _moves(change: diffing.KpiChange) -> list[tuple[str, float | None, float | None, str, str]]:
    return [(v.period.isoformat(), v.base, v.head, v.base_status, v.head_status) for v in change.values or ()]


def test_data_runs_both_definitions_on_the_current_csv(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    diff = diffing.compare(root, "HEAD~2", "HEAD", data=True)
    kpis = {k.name: k for k in diff.kpis}
    # revenue: sum(amount) → sum of paid orders; target min 100 → 120 (no deadline: achieved or off_track).
    assert _moves(kpis["revenue"]) == [
        ("2025-01-01", 100, 100, "achieved", "off_track"),
        ("2025-02-01", 130, 30, "achieved", "off_track"),
        ("2025-03-01", 50, 50, "no_data", "no_data"),  # the data ends on Mar 2: March is not judged
    ]
    # big_orders: amount > 50 → amount >= 50 counts March's order of exactly 50.
    assert [(v.base, v.head) for v in kpis["big_orders"].values or ()] == [(1, 1), (1, 1), (0, 1)]
    # aov = revenue / orders: (100/2, 130/2, 50/1) → (100/2, 30/2, 50/1).
    assert [(v.base, v.head) for v in kpis["aov"].values or ()] == [(50, 50), (65, 15), (50, 50)]
    # revenue_per_big = revenue / big_orders: March divides by 0 at BASE, which is NULL, not an error.
    assert [(v.base, v.head) for v in kpis["revenue_per_big"].values or ()] == [(100, 100), (130, 30), (None, 50)]
    growth = kpis["revenue_per_big_growth"].values or ()
    assert [v.base for v in growth] == [None, pytest.approx(130 / 100 - 1), None]
    assert [v.head for v in growth] == [None, pytest.approx(30 / 100 - 1), pytest.approx(50 / 30 - 1)]
    feb = kpis["revenue"].values[1]  # type: ignore[index]
    assert (feb.delta, feb.relative) == (-100, pytest.approx(-100 / 130))
    # Renamed without another change, added, removed and wording-only KPIs are not run.
    assert kpis["order_count"].values is None and kpis["min_order"].values is None
    assert kpis["max_order"].values is None
    assert "paid_share" not in kpis


def test_data_text_report(repo: tuple[Path, list[str]]) -> None:
    root, shas = repo
    result = invoke(root, "HEAD~1", "HEAD", "--data")
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout
        == f"""\
kpictl diff HEAD~1 ({shas[1]}) → HEAD ({shas[2]})
1 changed, 1 renamed, 1 added, 1 removed

changed  aov  (metrics/sales.yml)
  formula: revenue / orders → revenue / order_count
  values: no value moved (3 periods)

renamed  orders → order_count  (metrics/sales.yml)

added  min_order  (metrics/sales.yml)

removed  max_order  (metrics/sales.yml)
"""
    )


def test_data_by_region_with_statuses(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    result = invoke(root, "HEAD~2", "HEAD~1", "--data", "--by", "region")
    assert result.exit_code == 0, result.stderr
    revenue = result.stdout.split("changed  revenue  (metrics/sales.yml)\n")[1].split("\n\n")[0]
    # EU: Jan 40 → 40, Feb 130 → 30; NA: Jan 60 → 60, Feb 0 → 0, Mar 50 → 50. Only Feb EU moves.
    # Revenue is a size: its bound (min 100 → 120) is the total's, so a region's row has no
    # target (no per: override) and no status changes.
    assert (
        revenue
        == """\
  filter:     (none) → status = 'paid'
  target.min: 100 per month → 120 per month
  values: 1 of 6 rows moved; largest: 2025-02 region=EU 130 → 30 (-76.9%)
    PERIOD   REGION  BASE  HEAD  CHANGE  RELATIVE  STATUS
    2025-02  EU       130    30    -100    -76.9%"""
    )
    assert (
        "values: 1 of 3 periods moved; largest: 2025-03 0 → 1 (from 0) (not by region: not a dimension "
        "of it on both sides)" in result.stdout
    )


def test_data_markdown_table_and_collapsed_sql(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    result = invoke(root, "HEAD~2", "HEAD~1", "--data", "--sql", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    big = result.stdout.split("#### `big_orders` · `metrics/sales.yml`\n\n")[1].split("#### ")[0]
    assert big.startswith("""\
| field | base | head |
|:--|:--|:--|
| formula | `count(*) filter (where amount > 50)` | `count(*) filter (where amount >= 50)` |
| dimensions | — | `region` |

**Values:** 1 of 3 periods moved; largest: 2025-03 0 → 1 (from 0)

| period | base | head | change | relative | status |
|:--|--:|--:|--:|--:|:--|
| 2025-03 | 0 | 1 | +1 | from 0 |  |

<details><summary>SQL diff</summary>

```diff
--- HEAD~2:big_orders
+++ HEAD~1:big_orders
""")
    assert '-    COUNT(*) FILTER(WHERE "orders"."amount" > 50) AS "big_orders__1"\n' in big
    assert '+    COUNT(*) FILTER(WHERE "orders"."amount" >= 50) AS "big_orders__1"\n' in big
    assert big.rstrip().endswith("```\n\n</details>")


def test_fail_on_change(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    # HEAD~1 → HEAD only renames: aov runs (its formula text changed) and moves nothing.
    calm = invoke(root, "HEAD~1", "HEAD", "--fail-on-change", "0")
    assert calm.exit_code == 0, calm.stderr
    assert calm.stderr == ""
    moved = invoke(root, "HEAD~2", "HEAD~1", "--fail-on-change", "0.8")
    assert moved.exit_code == 1
    # Only moves beyond 80% (and moves from 0 or from nothing, which have no relative size) fail.
    assert (
        moved.stderr
        == """\
big_orders 2025-03: 0 → 1 (from 0) moved more than 80%
revenue_per_big 2025-03: — → 50 (new) moved more than 80%
revenue_per_big_growth 2025-02: 0.3 → -0.7 (across 0) moved more than 80%
revenue_per_big_growth 2025-03: — → 0.67 (new) moved more than 80%
"""
    )
    assert invoke(root, "HEAD~2", "--fail-on-change", "-1").exit_code == 2


def test_json_values(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    body = json.loads(invoke(root, "HEAD~2", "HEAD~1", "--data", "--format", "json").stdout)
    revenue = next(k for k in body["kpis"] if k["name"] == "revenue")
    assert revenue["values"][1] == {
        "period": "2025-02-01",
        "dims": {},
        "base": 130,
        "head": 30,
        "delta": -100,
        "relative": pytest.approx(-100 / 130),
        "moved": True,
        "base_status": "achieved",
        "head_status": "off_track",
    }
    assert revenue["summary"]["rows"] == 3 and revenue["summary"]["moved"] == 1
    assert revenue["summary"]["status_changed"] == 2
    assert body["ran"][:1] == ["big_orders"]


def test_base_definitions_that_fail_on_todays_data(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    with_discount = ORDERS.replace("status\n", "status,discount\n").replace("paid\n", "paid,0\n")
    with_discount = with_discount.replace("refunded\n", "refunded,5\n")
    old = commit(
        root,
        {"metrics/sales.yml": RENAMED_KPIS.replace("min(amount)", "min(discount)"), "data/orders.csv": with_discount},
        "discount",
    )
    write(root, {"metrics/sales.yml": RENAMED_KPIS, "data/orders.csv": ORDERS})  # the column is gone today
    result = invoke(root, "HEAD", "--data")
    # a column the definitions name and the data lack is caught while planning, against the
    # sources' real columns: a definition problem (exit 2), as `validate` reports it
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"BASE {old}:metrics/sales.yml:28:18: ")  # the column in the formula
    assert "discount" in result.stderr and "1 problem found" in result.stderr


# -- speed: only what changed runs ----------------------------------------------------------------


def test_only_changed_and_impacted_kpis_are_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kpis = ["kpis:"]
    for i in range(200):
        kpis += [f"  - name: k{i:03d}", "    source: orders", f"    formula: count(*) filter (where amount > {i})"]
    kpis += ["  - name: share_k007", "    formula: k007 / k000", "  - name: share_k150", "    formula: k150 / k000"]
    git(tmp_path, "init", "-q", "-b", "main")
    commit(tmp_path, {"kpictl.yml": PROJECT, "data/orders.csv": ORDERS, "metrics/many.yml": "\n".join(kpis)}, "200")
    write(tmp_path, {"metrics/many.yml": "\n".join(kpis).replace("amount > 7)", "amount >= 7)") + "\n"})

    from kpictl.sql import compiler

    compiled: list[tuple[str, ...]] = []
    real = compiler.compile

    def counting(plan: object) -> compiler.CompiledQuery:
        query = real(plan)  # type: ignore[arg-type]
        compiled.append(tuple(sorted(query.at)))
        return query

    monkeypatch.setattr(compiler, "compile", counting)
    diff = diffing.compare(tmp_path, "main", data=True, sql=True)
    assert [(k.change, k.name, k.via) for k in diff.kpis] == [
        ("changed", "k007", ()),
        ("impacted", "share_k007", ("k007",)),
    ]
    assert diff.ran == ("k007", "share_k007", "k007", "share_k007")
    # One query per side for the SQL diff of k007, one per side for the values: each computes k007,
    # and the run also k000 (share_k007 needs it). The 199 other KPIs are never compiled.
    assert compiled == [("k007",), ("k007",), ("k000", "k007", "share_k007"), ("k000", "k007", "share_k007")]


def test_markdown_keeps_kpi_text_in_code_spans(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    commit(tmp_path, {"kpictl.yml": PROJECT, "metrics/sales.yml": BASE_KPIS}, "base")
    write(tmp_path, {"metrics/sales.yml": BASE_KPIS.replace("label: Revenue", "label: '<img src=x> @team `a|b`'")})
    text = diffview.render(diffing.compare(tmp_path), "markdown")
    assert "| label.en | `Revenue` | `` <img src=x> @team `a\\|b` `` |" in text


def test_a_change_two_lookups_away_impacts_the_kpis_that_reach_it(tmp_path: Path) -> None:
    """docs/examples/flights: flights → planes → manufacturers; a manufacturer's country mapping
    and the alliances' validity columns change what the flights KPIs count."""
    import shutil

    git(tmp_path, "init", "-q", "-b", "main")
    shutil.copytree(ROOT / "docs" / "examples" / "flights", tmp_path / "flights")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    yml = (tmp_path / "flights" / "kpictl.yml").read_text()
    yml = yml.replace("on: {country_code: code}", "on: {country_code: code, region: region}")
    yml = yml.replace("valid_from: valid_from, valid_to: valid_to", "valid_from: valid_to, valid_to: valid_from")
    yml = yml.replace('delayed: "arr_delay > 15"', 'delayed: "arr_delay > 30"')
    (tmp_path / "flights" / "kpictl.yml").write_text(yml)
    diff = diffing.compare(tmp_path / "flights" / "metrics")
    assert [(f.field, f.old, f.new) for f in diff.project] == [
        (
            "sources.flights.lookups",
            "airports as origin_airport on origin → faa, airports as dest_airport on dest → faa, planes on tailnum,"
            " alliances on carrier, valid from valid_from to valid_to, weather on origin → airport, of the day day",
            "airports as origin_airport on origin → faa, airports as dest_airport on dest → faa, planes on tailnum,"
            " alliances on carrier, valid from valid_to to valid_from, weather on origin → airport, of the day day",
        ),
        (
            "sources.flights.columns",
            "flight_date: make_date(year, month, day), delayed: arr_delay > 15",
            "flight_date: make_date(year, month, day), delayed: arr_delay > 30",
        ),
        (
            "sources.manufacturers.lookups",
            "countries on country_code → code",
            "countries on country_code → code, region",
        ),
    ]
    assert {k.name: k.via for k in diff.kpis} == {
        "flights": ("source:flights", "source:manufacturers"),
        "delayed_share": ("source:flights", "source:manufacturers"),
    }


def test_values_paired_column_wise_as_row_by_row() -> None:
    """``diff._values`` (columns) against ``diff._values_by_rows`` (the row-by-row reference): rows
    only one side has, NULL breakdowns, texts that sort apart from numbers ("10" < "9"), a column
    whose type changed between the sides (1 and 1.0 pair up), statuses, another KPI left out."""
    import datetime as dt

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kpictl import table
    from kpictl.model import Judgement, Row
    from kpictl.workflows import diff as diffs

    kinds = {  # a run's column has one type: each side's breakdown values are of one kind
        "text": lambda n: ["a", "B", "10", "9", "None", ""][n],
        "int": lambda n: n * 3,
        "float": lambda n: n * 3.0,
        "bool": lambda n: n % 2 == 0,
    }
    value = st.one_of(st.none(), st.floats(-5, 5), st.sampled_from([0.0, 1.0]))
    status = st.sampled_from(["achieved", "off_track", "no_data", "no_target"])
    code = st.one_of(st.none(), st.integers(0, 5))
    cell = st.tuples(st.sampled_from(["k", "other"]), st.integers(0, 3), code, code, value, status)
    side = st.tuples(st.lists(cell, max_size=25), st.sampled_from(sorted(kinds)), st.sampled_from(sorted(kinds)))

    def rows_of(cells: list[tuple], kind_c: str, kind_d: str, by: tuple[str, ...]) -> list[Row]:
        out: dict[tuple, Row] = {}
        for kpi, month, c, d, v, s in cells:
            dims = {"c": None if c is None else kinds[kind_c](c), "d": None if d is None else kinds[kind_d](d)}
            dims = {name: dims[name] for name in by}
            out.setdefault((kpi, month, *dims.values()), Row(kpi, dt.date(2025, 1 + month, 1), dims, v, Judgement(s)))
        return list(out.values())  # a run has one row per KPI, period and breakdown

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(side, side, st.sampled_from([("c",), ("c", "d"), ()]))
    def check(old_side: tuple, new_side: tuple, by: tuple[str, ...]) -> None:
        old, new = rows_of(*old_side, by), rows_of(*new_side, by)
        change = diffs.KpiChange("k", "modified", "m.yml")
        expected = diffs._values_by_rows(old, new, change, by)
        actual = diffs._values(table.from_rows(old, by, judged=True), table.from_rows(new, by, judged=True), change, by)
        assert [(v.period, v.dims, v.base, v.head, v.base_status, v.head_status) for v in actual] == [
            (v.period, v.dims, v.base, v.head, v.base_status, v.head_status) for v in expected
        ]

    check()
