"""Building blocks (issue 15, point 6): a KPI other KPIs are computed from, marked
``role: building_block``, needs no target for lint, is listed apart in the table and the
dashboard, and a change to it still shows its impact in diff.

Orders (hand-counted): January 2 orders for 10 + 20, February 1 order for 30.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kpictl import Project
from kpictl.cli import cli
from kpictl.workflows.diff import definitions

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "KPICTL_DEBUG": ""}
KPIS = """\
kpis:
  - name: revenue
    role: building_block
    description: Paid amounts, for the average order value.
    owner: sales
    format: currency
    source: orders
    formula: sum(amount)
  - name: order_count
    description: Orders taken.
    owner: sales
    format: integer
    source: orders
    formula: count(*)
    target: {min: 1, by: 2025-12-31, baseline: {value: 1, at: 2024-12-31}, rationale: One a month.}
  - name: average_order
    description: Revenue per order.
    owner: sales
    format: currency
    formula: revenue / order_count
    target: {min: 10, by: 2025-12-31, baseline: {value: 10, at: 2024-12-31}, rationale: Flat.}
"""


def project(root: Path, kpis: str = KPIS) -> Path:
    (root / "metrics").mkdir(exist_ok=True)
    (root / "kpictl.yml").write_text(
        "name: t\nsources:\n  orders: {path: orders.csv, time: d, complete_through: 2025-02-28}\n", encoding="utf-8"
    )
    (root / "orders.csv").write_text("d,amount\n2025-01-05,10\n2025-01-20,20\n2025-02-10,30\n", encoding="utf-8")
    (root / "metrics" / "sales.yml").write_text(kpis, encoding="utf-8")
    return root


def invoke(root: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--project", str(root), *args], env=ENV)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def test_lint_strict_needs_no_target_of_a_building_block(tmp_path: Path) -> None:
    root = project(tmp_path)
    out = invoke(root, "lint", "revenue", "--strict", "--no-data")
    assert out.splitlines()[1].startswith("revenue") and "✓ ✓ ✓ ✓ ✓" in out
    # the same KPI without the role fails M, A, R and T: it has no target
    plain = KPIS.replace("    role: building_block\n", "")
    result = CliRunner().invoke(
        cli, ["--project", str(project(tmp_path, plain)), "lint", "revenue", "--strict"], env=ENV
    )
    assert result.exit_code == 1


def test_the_table_lists_building_blocks_apart(tmp_path: Path) -> None:
    lines = invoke(project(tmp_path), "run").splitlines()
    assert [line.split()[0] for line in lines if line] == [
        "KPI",
        "order_count",
        "average_order",
        "BUILDING",
        "revenue",
    ]
    assert lines[3] == "" and lines[-1].split()[1:3] == ["€30", "€30"]  # February 30, January 10 + 20


def test_the_dashboard_lists_them_apart_and_does_not_count_them(tmp_path: Path) -> None:
    page = Project.load(project(tmp_path)).report()
    assert [name for name, _ in page.domains][-1] == "Building blocks"
    assert [c.name for c in dict(page.domains)["Building blocks"]] == ["revenue"]
    assert sum(n for _, n in page.counts) == 2  # order_count and average_order only


def test_a_change_to_a_building_block_shows_its_impact(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "head").mkdir()
    base = Project.load(project(tmp_path / "base"))
    changed = KPIS.replace("formula: sum(amount)", "formula: sum(amount) filter (where amount > 15)")
    head = Project.load(project(tmp_path / "head", changed))
    _, changes = definitions(base, head)
    kinds = {c.name: c.change for c in changes}
    assert kinds == {"revenue": "changed", "average_order": "impacted"}
