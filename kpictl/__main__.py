"""`python -m kpictl` runs the command line."""

from kpictl.cli import cli

cli()
