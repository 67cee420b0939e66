"""Command line: ``python -m netapp_dataops_airflow relationships --conn-id ID [--json]``."""

from __future__ import annotations

import sys

from netapp_dataops_airflow.cli import console_main

if __name__ == "__main__":
    sys.exit(console_main())
