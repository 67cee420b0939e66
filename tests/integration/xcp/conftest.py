"""Fixtures for the XCP tests: a real OpenSSH sshd on loopback, and a simulated XCP host behind it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from netapp_dataops_airflow.simulators.xcp.host import SimulatedXcpHost
from tests.helpers.xcp import CONN_ID, SSHD, SSHD_MISSING, Sshd, XcpHost, make_host, start_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """OpenSSH's sshd on 127.0.0.1 for the session: own config, host key, user key; xcp on PATH."""
    if SSHD is None:
        pytest.skip(SSHD_MISSING)
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def xcp_host(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> XcpHost:
    """A simulated XCP host reached over the session's sshd, with connection ``xcp_sim`` to it."""
    host = make_host(sshd, tmp_path)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", host.connection_env())
    return host


@pytest.fixture
def embedded_xcp_host(xcp_simulator: SimulatedXcpHost, monkeypatch: pytest.MonkeyPatch) -> SimulatedXcpHost:
    """The plugin's simulated XCP host (embedded SSH server, no sshd), as connection ``xcp_sim``."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(xcp_simulator.connection()))
    return xcp_simulator
