"""Command-line tools for people setting up DAGs (``python -m netapp_dataops_airflow ...``)."""

from __future__ import annotations

import os
import sys


def console_main() -> int:
    """Run the command line with stdout kept for its output alone.

    Airflow may write log lines to stdout as it is imported and configured (in unit-test mode, for
    one); they go to stderr instead, so ``--json`` output can be piped into another program.
    """
    sys.stdout.flush()
    listing = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    with listing:
        from netapp_dataops_airflow.cli.relationships import main

        return main(out=listing)
