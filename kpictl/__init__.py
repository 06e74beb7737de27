"""kpictl: KPIs as code — declared in YAML, compiled to DuckDB SQL, judged against SMART targets.

The public API is small and verb-shaped::

    project = kpictl.Project.load("path/to/project")
    problems = project.validate()
    rows = project.run(["on_time_delivery_rate"], by=["region"])
"""

from kpictl.errors import DataError, InvalidProject, KpiError, Location, SpecError
from kpictl.project import Project

__version__ = "0.1.0"

__all__ = ["DataError", "InvalidProject", "KpiError", "Location", "Project", "SpecError", "__version__"]
