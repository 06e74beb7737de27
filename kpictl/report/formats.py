"""The output formats of every command, default first: the choices of ``--format``.

Apart from the views that write them so that the command line can offer the choices without
importing every view (``kpictl run --format json`` needs neither the terminal table nor the
catalog); each view's ``FORMATS`` is its tuple here.
"""

ROWS = ("table", "json", "csv", "markdown", "parquet")  # kpictl run (report/__init__.py)
PROBLEMS = ("text", "json", "sarif", "github")  # kpictl validate (report/problems.py)
CATALOG = ("table", "json")  # kpictl list (report/catalog.py)
LINT = ("text", "json", "markdown")  # kpictl lint (report/lintview.py)
DIFF = ("text", "markdown", "json")  # kpictl diff (report/diffview.py)
