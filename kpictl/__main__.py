"""`python -m kpictl` runs the command line."""

from kpictl.cli import main

main()
