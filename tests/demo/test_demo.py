"""The demo end to end: five example DAGs on a real local Airflow, then Ctrl-C leaves nothing behind.

Several minutes on a 2-core machine, so it is marked ``demo`` and runs in ``nox -s demo_test``,
not in ``nox -s tests``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from netapp_dataops_airflow.demo.processes import MARKER, marked_processes
from netapp_dataops_airflow.demo.run import EXAMPLE_DAG_IDS

pytestmark = [pytest.mark.demo, pytest.mark.timeout(900)]
KEEPING = "Airflow and the simulators keep running (--keep). Ctrl-C stops everything."


def test_demo_runs_every_example_dag_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    marker = f"demo-test-{os.getpid()}"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    demo = subprocess.Popen(
        [sys.executable, "-m", "netapp_dataops_airflow.demo", "--keep", "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**environment, MARKER: marker},
        start_new_session=True,  # Ctrl-C below goes to the demo's group, as a terminal's would
    )
    assert demo.stdout is not None
    lines = []
    for line in demo.stdout:  # up to the --keep line, or to the end if the demo gave up
        lines.append(line.rstrip("\n"))
        if line.strip() == KEEPING:
            break
    output = "\n".join(lines)
    try:
        assert KEEPING in output, output
        # Every component is up while the user explores: the API server among them.
        assert len(marked_processes(marker)) >= 6, output
        rows = [line for line in lines if line.split(".", 1)[0] in EXAMPLE_DAG_IDS and " s " in line]
        assert {row.split(".", 1)[0] for row in rows} == set(EXAMPLE_DAG_IDS), output
        assert all(" success" in row for row in rows), output
        assert "All done" in output
        assert "UI:    http://" in output
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=120)
    assert demo.returncode == 130, rest
    assert "Stopped; nothing left running." in rest
    assert marked_processes(marker) == []
