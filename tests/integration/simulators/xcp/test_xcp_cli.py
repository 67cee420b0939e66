"""``python -m netapp_dataops_airflow.simulators serve xcp`` as a real process, reached over SSH."""

from __future__ import annotations

import json
from pathlib import Path

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients.xcp import shared_host
from netapp_dataops_airflow.hooks.base import ConnectionFields
from netapp_dataops_airflow.hooks.xcp import target_from_connection
from tests.helpers.processes import ServedSimulator


def test_serve_prints_the_connection_and_runs_xcp_over_ssh(tmp_path: Path) -> None:
    with ServedSimulator("xcp", "--directory", str(tmp_path)) as served:
        lines = served.lines(4)
        assert lines[0].startswith("XCP host simulator: SSH on 127.0.0.1:")
        connection = json.loads(lines[3].strip().split("=", 1)[1].strip("'"))
        target = target_from_connection(
            ConnectionFields(
                "xcp_sim",
                "ssh",
                connection["host"],
                connection["port"],
                connection["login"],
                None,
                None,
                connection["extra"],
            )
        )

        async def ask() -> str:
            async with shared_host(target) as host:
                return str((await host.run("xcp help")).stdout)

        assert "usage: xcp <command>" in run_blocking(ask)
    assert served.returncode == 0, served.stderr
