"""``python -m netapp_dataops_airflow.demo [--keep]``: the example DAGs on a local Airflow and simulators."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from netapp_dataops_airflow.demo.run import EXAMPLE_DAG_IDS, EXAMPLE_DAGS, DemoOptions, main


def parse(argv: Sequence[str] | None = None) -> DemoOptions:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m netapp_dataops_airflow.demo", description=__doc__)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave Airflow and the simulators running to explore; Ctrl-C stops",
    )
    parser.add_argument("--dags", type=Path, default=EXAMPLE_DAGS, help="DAG folder (default: the examples)")
    parser.add_argument(
        "--dag-id",
        action="append",
        dest="dag_ids",
        help="a DAG to trigger (repeat; default: the five examples)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where Airflow's home and logs go")
    args = parser.parse_args(argv)
    return DemoOptions(
        dags_folder=args.dags,
        dag_ids=tuple(args.dag_ids or EXAMPLE_DAG_IDS),
        keep=args.keep,
        workdir=args.workdir,
    )


if __name__ == "__main__":
    sys.exit(main(parse()))
