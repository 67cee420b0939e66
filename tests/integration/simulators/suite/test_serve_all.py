"""``serve all``: every simulator in one process, connections that work, and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.clients.kubernetes import PERSISTENT_VOLUME_CLAIMS, shared_client
from netapp_dataops_airflow.clients.xcp import shared_host
from netapp_dataops_airflow.demo.processes import MARKER, marked_processes
from netapp_dataops_airflow.hooks.cloud_sync import CloudSyncHook
from netapp_dataops_airflow.hooks.kubernetes import K8sHook
from netapp_dataops_airflow.hooks.ontap import OntapHook
from netapp_dataops_airflow.hooks.xcp import XcpHook
from netapp_dataops_airflow.simulators.suite import seed

READY = "Ctrl-C stops the simulators."


@pytest.fixture
def serve_all(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str], str]]:
    """Run ``serve all`` as a user would; yield it, its output up to the ready line, and its marker."""
    marker = f"serve-all-test-{os.getpid()}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netapp_dataops_airflow.simulators",
            "serve",
            "all",
            "--directory",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, MARKER: marker},
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.strip() == READY:
            break
    try:
        yield process, lines, marker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()  # reaps it and closes the pipe


def exported(lines: list[str]) -> dict[str, str]:
    """The ``export NAME=value`` lines, read as a POSIX shell would."""
    variables = {}
    for line in lines:
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            (variables[name],) = shlex.split(value)
    return variables


def test_serve_all_prints_connections_that_reach_every_simulator(
    serve_all: tuple[subprocess.Popen[str], list[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    process, lines, _ = serve_all
    variables = exported(lines)
    assert set(variables) == {
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        "AIRFLOW_CONN_ONTAP_DEFAULT",
        "AIRFLOW_CONN_CLOUD_SYNC_DEFAULT",
        "AIRFLOW_CONN_SSH_DEFAULT",
    }, lines
    for name, value in variables.items():
        json.loads(value)  # Airflow's JSON connection format
        monkeypatch.setenv(name, value)

    ok, message = OntapHook().test_connection()
    assert ok, message
    ok, message = CloudSyncHook().test_connection()
    assert ok, message

    async def reach_cluster_and_host() -> tuple[dict[str, Any], str]:
        async with shared_client(await K8sHook().get_connection_settings().acluster_config()) as client:
            claim = await client.get(PERSISTENT_VOLUME_CLAIMS, seed.DATASET_PVC, seed.NAMESPACE)
        async with shared_host(XcpHook().get_connection_settings()) as host:
            answer = await host.run(f"ls nfs/{seed.XCP_SERVER}{seed.XCP_SOURCE_EXPORT}")
        return claim, str(answer.stdout)

    claim, listing = asyncio.run(reach_cluster_and_host())
    assert claim["status"]["phase"] == "Bound"
    assert "shard-0" in listing.split()
    assert process.poll() is None


def test_serve_all_stops_on_ctrl_c_leaving_no_process(
    serve_all: tuple[subprocess.Popen[str], list[str], str],
) -> None:
    process, _, marker = serve_all
    assert marked_processes(marker) == [process.pid]
    os.killpg(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert "stopped" in out
    assert marked_processes(marker) == []
