"""Commands built on the stages: KPI unit tests, diff between revisions, project scaffolding."""
