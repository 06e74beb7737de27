"""`python -m kpictl` runs the command line."""

from kpictl.process import main

main()
